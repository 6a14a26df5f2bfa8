#!/usr/bin/env python3
"""expect_exit.py N CMD...: runs CMD; fails unless it exits with status N."""
import subprocess
import sys

want = int(sys.argv[1])
st = subprocess.run(sys.argv[2:]).returncode
if st != want:
    sys.stderr.write("expected exit status %d, got %d: %s\n"
                     % (want, st, " ".join(sys.argv[2:])))
    sys.exit(1)
