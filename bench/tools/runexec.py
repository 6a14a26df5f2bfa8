"""Running a benchmark program and measuring it (stdlib only).

Programs run under runexec (runexec.c, next to this file), which forks them
from a 1 MB process and reports wait4's rusage: see runexec.c for why
ru_maxrss cannot be taken from a child forked by Python.  Python waits for
runexec itself with os.wait4.
"""

import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "runexec.c")


class RunResult:
    def __init__(self, status, wall, maxrss_kb, utime, stime, stdout, stderr):
        self.status = status        # exit status, or -SIG
        self.wall = wall            # seconds
        self.maxrss_kb = maxrss_kb  # peak RSS, KiB
        self.utime = utime          # seconds
        self.stime = stime
        self.stdout = stdout        # bytes
        self.stderr = stderr

    def describe_status(self):
        if self.status < 0:
            return "killed by signal %d" % -self.status
        return "exit status %d" % self.status


def build(cc, build_dir):
    """Compiles runexec into build_dir (if out of date); returns its path."""
    exe = os.path.join(build_dir, "runexec")
    if os.path.exists(exe) and \
            os.path.getmtime(exe) >= os.path.getmtime(SOURCE):
        return exe
    if not shutil.which(cc):
        sys.exit("error: C compiler '%s' not found (needed for runexec)" % cc)
    os.makedirs(build_dir, exist_ok=True)
    proc = subprocess.run([cc, "-O2", SOURCE, "-o", exe],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        sys.exit("error: building runexec failed:\n" +
                 proc.stdout.decode(errors="replace"))
    return exe


def run(runexec, cmd, timeout=0, cwd=None, stdin_path=None, env=None):
    """Runs cmd under runexec; returns a RunResult."""
    with tempfile.TemporaryDirectory(prefix="runexec.") as tmp:
        report = os.path.join(tmp, "report")
        out_path = os.path.join(tmp, "out")
        err_path = os.path.join(tmp, "err")
        with open(out_path, "wb") as out, open(err_path, "wb") as err, \
                open(stdin_path or os.devnull, "rb") as inp:
            proc = subprocess.Popen(
                [runexec, report, str(int(timeout))] + list(cmd),
                stdin=inp, stdout=out, stderr=err, cwd=cwd, env=env)
            _, wstatus, _ = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(wstatus)
        with open(out_path, "rb") as f:
            stdout = f.read()
        with open(err_path, "rb") as f:
            stderr = f.read()
        fields = {}
        try:
            with open(report) as f:
                for kv in f.read().split():
                    k, _, v = kv.partition("=")
                    fields[k] = int(v)
        except (OSError, ValueError):
            pass
    if "status" not in fields:
        raise RuntimeError("runexec failed for %s: %s" % (
            cmd[0], stderr.decode(errors="replace")[-500:]))
    return RunResult(fields["status"], fields["wall_ns"] / 1e9,
                     fields["maxrss_kb"], fields["utime_us"] / 1e6,
                     fields["stime_us"] / 1e6, stdout, stderr)
