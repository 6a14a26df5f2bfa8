#!/usr/bin/env python3
"""eintr driver: how many blocking calls a collector's stops cut short with
EINTR.  Builds eintr.c three ways, runs each (round-robin, --runs times)
and prints, per call (nanosleep, poll, sem_timedwait; 20 ms timeouts), the
EINTR count out of the calls made, and what the stops cost.

Usage:
    run.py [--runs 3] [--variants preempt,preempt-indirect,boehm]
           [--stops 400] [--collections 10] [--timeout-ms 20] [--gap-us 1000]
           [--build-dir DIR] [--link static|shared] [--cc clang-19]
           [--plugin PATH] [--markdown] [--no-build]

Variants:
    preempt           clang -O2 -fplugin=preempt.so: the plugin makes each
                      call a blocking transition, never signalled
    preempt-indirect  the same program calling through function pointers,
                      which the plugin leaves alone: what the stop signal
                      does to calls that are not transitions
    boehm             clang -O2, Boehm GC (libgc-dev): GC_stop_world_external,
                      GC_gcollect; threads registered through GC_THREADS

--link static (the default) links libpreempt.a and libgc.a; libpreempt.a
is linked with -Wl,--undefined=preempt_blocking_anchor, which pulls the
wrappers in (instrumented code references them weakly).  Each run checks
that the preempt build found its wrappers ("wrapped=1").

A call cut short returns early, so a variant that sees EINTR makes more
calls (one per stop) than one that does not (one per 20 ms).  The
environment is passed on (PREEMPT=... applies to the runs).
"""

import argparse
import datetime
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))
from report import exit_status, table  # noqa: E402
SRC = os.path.join(HERE, "eintr.c")
ALL_VARIANTS = ["preempt", "preempt-indirect", "boehm"]
CALLS = ["nanosleep", "poll", "sem_timedwait"]
STATS_RE = re.compile(r"^STATS (.*)$", re.M)
RUN_TIMEOUT = 300


def die(msg):
    print("run.py: error: " + msg, file=sys.stderr)
    sys.exit(2)


def run_build(cmd):
    print("  $ " + shlex.join(cmd), flush=True)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        die("build failed (exit status %d):\n%s" % (
            proc.returncode, proc.stdout.decode(errors="replace")))


def build(args, variant):
    os.makedirs(args.build_dir, exist_ok=True)
    exe = os.path.join(args.build_dir, "eintr-" + variant)
    cflags = ["-O2", "-std=gnu11", "-Wall", "-Wextra"]
    if variant.startswith("preempt"):
        for f, what in ((args.plugin, "plugin"), (args.lib_static, "runtime"),
                        (os.path.join(args.include, "preempt.h"), "header")):
            if not os.path.exists(f):
                die("preempt %s %s is missing: build it with "
                    "'ninja -C %s/build'" % (what, f, REPO))
        cflags += ["-DEI_PREEMPT", "-fplugin=" + args.plugin, "-I", args.include]
        if variant == "preempt-indirect":
            cflags.append("-DEI_INDIRECT")
        if args.link == "static":
            libs = [args.lib_static, "-Wl,--undefined=preempt_blocking_anchor",
                    "-pthread"]
        else:
            libs = ["-L", args.lib_dir, "-Wl,-rpath," + args.lib_dir,
                    "-lpreempt", "-pthread"]
    elif variant == "boehm":
        if not os.path.exists("/usr/include/gc/gc.h"):
            die("gc/gc.h not found: apt-get install -y libgc-dev "
                "(or leave boehm out of --variants)")
        cflags.append("-DEI_BOEHM")
        libs = (["-Wl,-Bstatic", "-lgc", "-Wl,-Bdynamic"]
                if args.link == "static" else ["-lgc"]) + ["-pthread"]
    else:
        die("unknown variant %r" % variant)
    if not args.no_build:
        run_build([args.cc] + cflags + [SRC, "-o", exe] + libs)
    if not os.access(exe, os.X_OK):
        die("%s is missing (run without --no-build)" % exe)
    return exe


def run_once(args, exe):
    cmd = [exe, str(args.stops), str(args.collections), str(args.timeout_ms),
           str(args.gap_us)]
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        return {"rc": "timeout", "stderr": ""}
    res = {"rc": p.returncode, "stderr": p.stderr.decode(errors="replace")}
    stats = STATS_RE.findall(res["stderr"])
    if stats:
        for kv in stats[-1].split():
            k, _, v = kv.partition("=")
            res[k] = v
    return res


def num(res, key):
    try:
        return int(res[key])
    except (KeyError, ValueError):
        return None


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def main():
    ap = argparse.ArgumentParser(
        description="EINTR from a collector's stops: preempt vs Boehm GC",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--runs", type=int, default=3,
                    help="runs per variant (default 3); medians reported")
    ap.add_argument("--variants", default=",".join(ALL_VARIANTS),
                    help="comma-separated, from %s" % ",".join(ALL_VARIANTS))
    ap.add_argument("--stops", type=int, default=400)
    ap.add_argument("--collections", type=int, default=10)
    ap.add_argument("--timeout-ms", type=int, default=20,
                    help="the blocking calls' timeout (default 20)")
    ap.add_argument("--gap-us", type=int, default=1000,
                    help="time between two stops (default 1000)")
    ap.add_argument("--build-dir",
                    default=os.path.join(REPO, "build", "bench", "eintr"))
    ap.add_argument("--link", choices=["static", "shared"], default="static")
    ap.add_argument("--cc", default="clang-19")
    ap.add_argument("--plugin",
                    default=os.path.join(REPO, "build", "lib", "preempt.so"))
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    if args.runs < 1:
        die("--runs must be at least 1")
    variants = [v for v in args.variants.split(",") if v]
    for v in variants:
        if v not in ALL_VARIANTS:
            die("unknown variant %r (known: %s)" % (v, ", ".join(ALL_VARIANTS)))
    if not shutil.which(args.cc):
        die("'%s' not found: install clang-19 or pass --cc" % args.cc)
    args.build_dir = os.path.abspath(args.build_dir)
    args.plugin = os.path.abspath(args.plugin)
    args.include = os.path.join(REPO, "include")
    args.lib_dir = os.path.dirname(args.plugin)
    args.lib_static = os.path.join(args.lib_dir, "libpreempt.a")

    print("building into %s (%s linking)" % (args.build_dir, args.link))
    exes = {v: build(args, v) for v in variants}
    started = datetime.datetime.now().astimezone()
    results = {v: [] for v in variants}
    errors = []
    for r in range(args.runs):
        for v in variants:
            res = run_once(args, exes[v])
            results[v].append(res)
            line = "  %-16s run %d:" % (v, r + 1)
            for c in CALLS:
                line += " %s %s/%s" % (c, res.get(c + "_eintr", "?"),
                                       res.get(c + "_calls", "?"))
            if res["rc"] != 0:
                line += "  FAILED (%s)" % res["rc"]
                errors.append("%s run %d: %s\n%s" % (v, r + 1, res["rc"],
                                                     res["stderr"][-2000:]))
            elif v == "preempt" and res.get("wrapped") != "1":
                errors.append("%s run %d: the runtime's blocking wrappers are "
                              "not linked in (wrapped=%s)" % (
                                  v, r + 1, res.get("wrapped")))
            print(line, flush=True)

    names = {"preempt": "preempt", "boehm": "Boehm GC",
             "preempt-indirect": "preempt, calls through pointers"}
    header = ["call"] + ["%s: EINTR / calls" % names[v] for v in variants]
    rows = []
    for c in CALLS:
        row = [c]
        for v in variants:
            ok = [x for x in results[v] if x["rc"] == 0]
            e = median([num(x, c + "_eintr") for x in ok])
            n = median([num(x, c + "_calls") for x in ok])
            row.append("-" if e is None else "%g / %g" % (e, n))
        rows.append(row)
    row = ["stop+start: total / max ms"]
    for v in variants:
        ok = [x for x in results[v] if x["rc"] == 0]
        t = median([num(x, "stop_total_us") for x in ok])
        m = median([num(x, "stop_max_us") for x in ok])
        row.append("-" if t is None else "%.1f / %.3f" % (t / 1000, m / 1000))
    rows.append(row)
    print()
    print("eintr: %d stops, %d collections, %d ms timeouts, %d us apart; "
          "%d run%s, medians (%s, %s linking)" % (
              args.stops, args.collections, args.timeout_ms, args.gap_us,
              args.runs, "s" if args.runs > 1 else "",
              started.strftime("%Y-%m-%d %H:%M %Z"), args.link))
    print()
    print(table(rows, header, args.markdown))
    return exit_status(errors)


if __name__ == "__main__":
    sys.exit(main())
