#!/usr/bin/env python3
"""layouts driver: what typed layouts buy in retention.  Builds
retention.c twice with the plugin (precise: records scanned by their
type's layout; conservative: -fplugin-arg-preempt-no-layouts) and runs each
on a heap of random doubles and bytes, with and without a fraction of the
doubles holding the bits of dropped buffers' addresses.  Prints the live
heap after two collections and the buffers still alive.

Usage:
    run.py [--records 200000] [--fractions 0,0.001,0.01]
           [--build DIR] [--cc clang-19] [--markdown]

For the time side (binary-trees, precise vs conservative):
    bench/binarytrees/run.py --variants preempt,preempt-conservative,boehm
"""

import argparse
import os
import re
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))
from report import fmt, machine_line, table  # noqa: E402
RESULT_RE = re.compile(r"^RESULT (.*)$", re.M)
VARIANTS = {"precise": [], "conservative": ["-fplugin-arg-preempt-no-layouts"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=200000)
    ap.add_argument("--fractions", default="0,0.001,0.01")
    ap.add_argument("--build", default=os.path.join(REPO, "build"),
                    help="the project's build directory (default build/)")
    ap.add_argument("--cc", default="clang-19")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    plugin = os.path.join(args.build, "lib", "preempt.so")
    lib = os.path.join(args.build, "lib", "libpreempt.a")
    for f in (plugin, lib):
        if not os.path.exists(f):
            sys.exit("run.py: error: %s is missing: build the project first" % f)
    out = os.path.join(args.build, "bench", "layouts")
    os.makedirs(out, exist_ok=True)
    exes = {}
    for name, flags in VARIANTS.items():
        exe = os.path.join(out, "retention-" + name)
        cmd = [args.cc, "-O2", "-Wall", "-Wextra", "-fplugin=" + plugin] + flags + [
            "-I", os.path.join(REPO, "include"), os.path.join(HERE, "retention.c"),
            lib, "-lffi", "-pthread", "-ldl", "-o", exe]
        print("  $ " + shlex.join(cmd), flush=True)
        subprocess.run(cmd, check=True)
        exes[name] = exe
    rows, errors = [], 0
    for fraction in args.fractions.split(","):
        live = {}
        for name, exe in exes.items():
            p = subprocess.run([exe, str(args.records), fraction],
                               capture_output=True, text=True, timeout=600)
            m = RESULT_RE.search(p.stdout)
            if p.returncode or not m:
                print("%s %s failed (status %d): %s" % (name, fraction, p.returncode,
                                                        p.stderr.strip()))
                errors += 1
                continue
            r = dict(kv.split("=") for kv in m.group(1).split())
            live[name] = int(r["live_bytes"])
            rows.append([name, fraction, r["records"], r["blobs"],
                         r["blobs_retained"], fmt(int(r["live_bytes"]) / 1e6, ".1f")])
        if len(live) == 2:
            rows.append(["conservative/precise", fraction, "", "", "",
                         fmt(live["conservative"] / live["precise"], ".2f")])
    print()
    print(machine_line())
    print(table(rows, ["scan", "fraction", "records", "dropped buffers",
                       "buffers retained", "live MB"], args.markdown))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
