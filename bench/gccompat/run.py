#!/usr/bin/env python3
"""gccompat driver: programs written for Boehm GC, built unchanged against
real libgc and against preempt's compatibility layer (`preempt-cc --gc`:
preempt's gc.h and libpreempt-gc), side by side in one run.

Variants (the same sources, the same -O2):
    libgc     clang-19 -O2 ... -lgc -pthread  (Boehm GC 8.2, libgc-dev;
              shared, as a Debian program links it; --libgc-static for
              libgc.a)
    preempt   BUILD/bin/preempt-cc --gc -O2 ...

Workloads:
    binarytrees  bench/binarytrees/binarytrees.c -DBT_BOEHM (GC_MALLOC,
                 pauses timed by a GC_set_on_collection_event callback),
                 at each of --depths; its checksum must agree
    homfly       libhomfly (Debian source package, fetched by
                 scripts/debian_source.py into --cache-dir) lib/*.c with
                 homfly_bench.c: the links of its test/data.txt, each
                 computed --homfly-repeat times and checked; pauses timed
                 the same way
    stale        stale_stack.c: a dead list kept alive by a stale stack
                 slot (see the file's comment), run in its stale and its
                 control mode; prints, for each collector, the words of the
                 collecting frame that still point into the dead list
                 (stale words) and the nodes and bytes still alive after
                 GC_gcollect.  Not timed.

Each timed run goes through bench/tools/runexec (wall time, CPU time, peak
RSS from wait4); the variants alternate (their order rotating each run)
and the tables show medians over --runs.  Prints the ratios preempt/libgc
of time, peak RSS and pauses.

Usage:
    run.py [--build BUILD] [--build-dir DIR] [--runs 5] [--depths 16,18]
           [--homfly-repeat 100] [--nodes 100000] [--stale-depth 40]
           [--workloads binarytrees,homfly,stale] [--cache-dir DIR]
           [--homfly-src DIR] [--libgc-static] [--cc clang-19]
           [--cflags "..."] [--no-build] [--markdown]

Exit status 1 on a build failure, a failed run, a checksum mismatch
between the variants, or a stale-probe control run that retained nodes.
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
BENCH = os.path.dirname(HERE)
REPO = os.path.dirname(BENCH)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(BENCH, "tools"))
sys.path.insert(0, os.path.join(REPO, "test", "realprog"))
import runexec  # noqa: E402
from report import (exit_status, fmt, join_cflags, machine_line,  # noqa: E402
                    ratio, table)
import libhomfly  # noqa: E402

VARIANTS = ["libgc", "preempt"]
WORKLOADS = ["binarytrees", "homfly", "stale"]
BT_SRC = os.path.join(BENCH, "binarytrees", "binarytrees.c")
HOMFLY_BENCH = os.path.join(HERE, "homfly_bench.c")
STALE_SRC = os.path.join(HERE, "stale_stack.c")
RUN_TIMEOUT = 900
STATS_RE = re.compile(r"^STATS (.*)$", re.M)
RESULT_RE = re.compile(r"^RESULT (.*)$", re.M)


class Error(Exception):
    pass


def log(msg):
    print(msg, flush=True)


def run_build(cmd):
    log("  $ " + shlex.join(cmd))
    proc = subprocess.run(cmd, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        out = proc.stdout.decode(errors="replace")
        crash = proc.returncode < 0 or "PLEASE submit a bug report" in out
        raise Error("%s (exit status %d): %s\n%s" % (
            "COMPILER CRASH" if crash else "build failed", proc.returncode,
            shlex.join(cmd), out[-4000:]))


def compilers(args):
    """variant -> (compiler command, link flags)."""
    libs = (["-Wl,-Bstatic", "-lgc", "-Wl,-Bdynamic"] if args.libgc_static
            else ["-lgc"]) + ["-pthread"]
    return {"libgc": ([args.cc], libs),
            "preempt": ([args.preempt_cc, "--gc"], [])}


def build_all(args, workloads):
    """{(workload, variant): exe}; raises Error."""
    cc = compilers(args)
    flags = ["-O2"] + args.cflags
    exes = {}
    tree = None
    if "homfly" in workloads:
        tree = os.path.abspath(args.homfly_src) if args.homfly_src else \
            libhomfly.fetch(args.cache_dir)
        log("libhomfly source: %s" % tree)
    for v in VARIANTS:
        cmd, libs = cc[v]
        d = os.path.join(args.build_dir, v)
        os.makedirs(d, exist_ok=True)
        if "binarytrees" in workloads:
            exe = os.path.join(d, "binarytrees")
            if not args.no_build:
                run_build(cmd + flags + ["-std=gnu11", "-DBT_BOEHM", BT_SRC,
                                         "-o", exe] + libs)
            exes[("binarytrees", v)] = exe
        if "homfly" in workloads:
            exe = os.path.join(d, "homfly_bench")
            if not args.no_build:
                try:
                    libhomfly.compile_and_link(
                        cmd, flags + ["-w", "-I", libhomfly.include_dir(tree)],
                        libs, libhomfly.lib_sources(tree) + [HOMFLY_BENCH],
                        exe, os.path.join(d, "homfly-obj"), log)
                except libhomfly.Error as e:
                    raise Error(str(e))
            exes[("homfly", v)] = exe
        if "stale" in workloads:
            exe = os.path.join(d, "stale_stack")
            if not args.no_build:
                run_build(cmd + flags + ["-Wall", "-Wextra", STALE_SRC, "-o",
                                         exe] + libs)
            exes[("stale", v)] = exe
    for exe in exes.values():
        if not os.access(exe, os.X_OK):
            raise Error("%s is missing (run without --no-build)" % exe)
    return exes, tree


def kv(line):
    res = {}
    for item in line.split():
        k, _, v = item.partition("=")
        res[k] = v
    return res


def num(d, key):
    try:
        v = int(d.get(key))
    except (TypeError, ValueError):
        return None
    return None if v < 0 else v


def run_timed(args, exe, argv):
    r = runexec.run(args.runexec, [exe] + argv, timeout=RUN_TIMEOUT)
    out = r.stdout.decode(errors="replace")
    err = r.stderr.decode(errors="replace")
    res = {"time": r.wall, "cpu": r.utime + r.stime, "rss_kb": r.maxrss_kb,
           "rc": r.status, "stderr": err, "checksum": None}
    m = re.search(r"^checksum (\d+)$", out, re.M)
    if m:
        res["checksum"] = m.group(1)
    stats = STATS_RE.findall(err)
    if stats:
        res.update(kv(stats[-1]))
    return res


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def timed_cases(args, workloads, tree):
    """[(case name, workload, argv)]."""
    cases = []
    if "binarytrees" in workloads:
        for d in args.depths:
            cases.append(("binarytrees %d" % d, "binarytrees", [str(d)]))
    if "homfly" in workloads:
        data = os.path.join(tree, "test", "data.txt")
        cases.append(("homfly x%d" % args.homfly_repeat, "homfly",
                      [data, str(args.homfly_repeat)]))
    return cases


def stale_probe(args, exes, errors):
    """Rows of the retention table; appends to errors."""
    rows, found = [], {}
    for v in VARIANTS:
        for mode in ("stale", "control"):
            argv = [str(args.nodes), str(args.stale_depth)] + (
                ["-c"] if mode == "control" else [])
            proc = subprocess.run([exes[("stale", v)]] + argv,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE,
                                  timeout=RUN_TIMEOUT)
            out = proc.stdout.decode(errors="replace")
            m = RESULT_RE.search(out)
            if proc.returncode != 0 or not m:
                errors.append("stale_stack (%s, %s): exit status %d\n%s%s" % (
                    v, mode, proc.returncode, out,
                    proc.stderr.decode(errors="replace")[-2000:]))
                rows.append([v, mode, "FAILED", "", "", "", "", ""])
                continue
            r = kv(m.group(1))
            found[(v, mode)] = r
            log("  stale_stack %-8s %-8s retained %s of %s nodes" % (
                v, mode, r.get("retained"), r.get("nodes")))
    for v in VARIANTS:
        s, c = found.get((v, "stale")), found.get((v, "control"))
        for mode, r in (("stale", s), ("control", c)):
            if not r:
                continue
            over = None
            if mode == "stale" and c:
                a, b = num(r, "memory_use_after"), num(c, "memory_use_after")
                over = None if a is None or b is None else a - b
            nodes = num(r, "nodes") or 0
            kept = num(r, "retained")
            rows.append([
                v, mode, str(nodes), fmt(num(r, "stale_words"), "d"),
                fmt(kept, "d"),
                fmt(None if kept is None else 100.0 * kept / nodes, ".1f"),
                fmt(num(r, "retained_bytes"), "d"),
                fmt(over, "d") if mode == "stale" else ""])
    return rows, found


def main():
    ap = argparse.ArgumentParser(
        description="Boehm GC programs: real libgc vs preempt through gc.h",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--build", default=os.path.join(REPO, "build"),
                    help="the project's build directory (its "
                         "bin/preempt-cc; default build/)")
    ap.add_argument("--build-dir", help="where executables go (default "
                                        "BUILD/bench/gccompat)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--depths", default="16,18",
                    help="binarytrees depths (default 16,18)")
    ap.add_argument("--homfly-repeat", type=int, default=100,
                    help="times each link of data.txt is computed "
                         "(default 100)")
    ap.add_argument("--nodes", type=int, default=100000,
                    help="length of the stale probe's list (default 100000)")
    ap.add_argument("--stale-depth", type=int, default=40,
                    help="call depth of the stale probe (default 40)")
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--cache-dir", help="Debian source cache (default "
                                        "$PREEMPT_SRC_CACHE or "
                                        "~/.cache/preempt-src)")
    ap.add_argument("--homfly-src", help="an unpacked libhomfly tree")
    ap.add_argument("--libgc-static", action="store_true",
                    help="link libgc.a instead of libgc.so")
    ap.add_argument("--cc", default="clang-19")
    ap.add_argument("--cflags", default="")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args(join_cflags(sys.argv[1:]))

    workloads = [w for w in args.workloads.split(",") if w]
    for w in workloads:
        if w not in WORKLOADS:
            ap.error("unknown workload %r (known: %s)"
                     % (w, ", ".join(WORKLOADS)))
    try:
        args.depths = [int(d) for d in args.depths.split(",") if d]
    except ValueError:
        ap.error("--depths takes comma-separated integers")
    if args.runs < 1 or args.homfly_repeat < 1 or args.nodes < 1:
        ap.error("--runs, --homfly-repeat and --nodes must be positive")
    args.cflags = shlex.split(args.cflags)
    build = os.path.abspath(args.build)
    args.build_dir = os.path.abspath(args.build_dir or os.path.join(
        build, "bench", "gccompat"))
    args.preempt_cc = os.path.join(build, "bin", "preempt-cc")
    if not os.access(args.preempt_cc, os.X_OK):
        sys.exit("run.py: error: %s not found: build the project first "
                 "(ninja -C %s)" % (args.preempt_cc, build))
    if not shutil.which(args.cc):
        sys.exit("run.py: error: compiler '%s' not found (apt-get install -y "
                 "clang-19, or --cc)" % args.cc)
    if not (os.path.exists("/usr/include/gc.h") or
            os.path.exists("/usr/include/gc/gc.h")):
        sys.exit("run.py: error: gc.h not found: apt-get install -y "
                 "libgc-dev")

    os.makedirs(args.build_dir, exist_ok=True)
    log("building into %s" % args.build_dir)
    args.runexec = runexec.build(args.cc, args.build_dir)
    try:
        exes, tree = build_all(args, workloads)
    except (Error, libhomfly.Error) as e:
        sys.exit("run.py: error: %s" % e)
    gclib = os.path.join(build, "lib", "libpreempt-gc.so")
    stamp = datetime.datetime.fromtimestamp(os.path.getmtime(
        gclib if os.path.exists(gclib) else args.preempt_cc)).astimezone()

    started = datetime.datetime.now().astimezone()
    errors = []
    cases = timed_cases(args, workloads, tree)
    results = {}
    for r in range(args.runs):
        for case, w, argv in cases:
            order = VARIANTS[r % 2:] + VARIANTS[:r % 2]
            for v in order:
                res = run_timed(args, exes[(w, v)], argv)
                results.setdefault((case, v), []).append(res)
                line = "  %-16s %-8s run %d: %7.3f s %8.1f MB" % (
                    case, v, r + 1, res["time"], res["rss_kb"] / 1024)
                if res["rc"] != 0:
                    line += "  FAILED (%s)" % (
                        "exit status %d" % res["rc"] if res["rc"] > 0 else
                        "signal %d" % -res["rc"])
                    errors.append("%s %s run %d: exit %d\n%s" % (
                        case, v, r + 1, res["rc"], res["stderr"][-2000:]))
                log(line)
    for case, w, argv in cases:
        sums = {}
        for v in VARIANTS:
            for i, res in enumerate(results.get((case, v), [])):
                if res["rc"] == 0:
                    sums.setdefault(res["checksum"], []).append(
                        "%s run %d" % (v, i + 1))
        if len(sums) > 1:
            errors.append("%s: CHECKSUM MISMATCH: %s" % (case, "; ".join(
                "%s: %s" % (c, ", ".join(x)) for c, x in sums.items())))

    stale_rows = []
    if "stale" in workloads:
        stale_rows, found = stale_probe(args, exes, errors)
        c = found.get(("libgc", "control"))
        if c and num(c, "retained") != 0:
            errors.append("stale probe: libgc's control run retained %s "
                          "nodes: the counting is broken"
                          % c.get("retained"))
        s = found.get(("libgc", "stale"))
        if s and num(s, "retained") == 0:
            log("note: libgc retained nothing in the stale run: this build "
                "does not reproduce the stale slot (compiler or libgc "
                "changed?)")

    # ---- tables
    summary, rows = {}, []
    for case, w, argv in cases:
        for v in VARIANTS:
            rs = [x for x in results.get((case, v), []) if x["rc"] == 0]
            if not rs:
                rows.append([case, v, "FAILED"] + [""] * 6)
                continue
            gcs = median([num(x, "collections") for x in rs])
            pause = median([num(x, "total_pause_ns") for x in rs])
            mx = median([num(x, "max_pause_ns") for x in rs])
            if gcs and not pause:  # the callback never reported
                pause = mx = None
            s = {"time": median([x["time"] for x in rs]),
                 "tmin": min(x["time"] for x in rs),
                 "tmax": max(x["time"] for x in rs),
                 "cpu": median([x["cpu"] for x in rs]),
                 "rss": median([x["rss_kb"] for x in rs]) / 1024,
                 "gcs": gcs, "pause": pause, "maxpause": mx}
            summary[(case, v)] = s
            rows.append([case, v, "%.3f" % s["time"],
                         "%.3f-%.3f" % (s["tmin"], s["tmax"]),
                         "%.3f" % s["cpu"], "%.1f" % s["rss"],
                         fmt(gcs, ".0f"),
                         fmt(pause and pause / 1e6, ".1f"),
                         fmt(mx and mx / 1e6, ".2f")])
    log("")
    log("gccompat, %d run%s each, medians (%s)" % (
        args.runs, "s" if args.runs > 1 else "",
        started.strftime("%Y-%m-%d %H:%M %Z")))
    log("%s; libgc %s; preempt: %s (modified %s)" % (
        machine_line(), "static" if args.libgc_static else "shared",
        gclib if os.path.exists(gclib) else args.preempt_cc,
        stamp.strftime("%Y-%m-%d %H:%M")))
    if rows:
        log("")
        log(table(rows, ["workload", "variant", "time s", "min-max s",
                         "cpu s", "peak RSS MB", "GCs", "total pause ms",
                         "max pause ms"], args.markdown))
        rrows = []
        for case, w, argv in cases:
            a, b = summary.get((case, "preempt")), summary.get((case, "libgc"))
            g = lambda s, k: s and s[k]  # noqa: E731
            rrows.append([case] + [fmt(ratio(g(a, k), g(b, k)), ".2f")
                                   for k in ("time", "cpu", "rss", "pause",
                                             "maxpause")])
        log("")
        log("ratios preempt / libgc (below 1: preempt faster or smaller)")
        log("")
        log(table(rrows, ["workload", "time", "cpu", "peak RSS",
                          "total pause", "max pause"], args.markdown))
        missing = [case for case, w, argv in cases
                   if (summary.get((case, "preempt")) or {}).get("gcs")
                   and summary[(case, "preempt")]["pause"] is None]
        if missing:
            log("")
            log("note: preempt: collections but no pause reported (the "
                "GC_set_on_collection_event callback never ran) in: %s"
                % ", ".join(missing))
    if stale_rows:
        log("")
        log("stale stack slot: nodes of a dead %d-node list still alive "
            "after GC_gcollect (depth %d)" % (args.nodes, args.stale_depth))
        log("")
        log(table(stale_rows, ["variant", "mode", "nodes", "stale words",
                               "retained", "retained %", "retained bytes",
                               "memory use - control B"], args.markdown))
    return exit_status(errors)


if __name__ == "__main__":
    sys.exit(main())
