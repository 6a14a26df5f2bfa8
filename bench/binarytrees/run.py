#!/usr/bin/env python3
"""binarytrees driver: builds binarytrees.c three ways (preempt, Boehm GC,
glibc malloc) plus binarytrees.go, runs each at several depths, and prints
wall time, peak RSS and collector statistics with preempt's ratios to the
others.

Usage:
    run.py [--depths 16,18] [--runs 5] [--variants preempt,boehm,malloc,go]
           [--build-dir DIR] [--link static|shared] [--cc clang-19]
           [--plugin PATH] [--cflags "..."] [--markdown] [--no-build]

Variants:
    preempt          clang -O2 -fplugin=preempt.so, nodes from preempt_new
    preempt-untyped  the same with preempt_alloc (no type name); not default
    preempt-conservative
                     the same with -fplugin-arg-preempt-no-layouts: nodes
                     scanned whole, not by their type's layout; not default
    boehm            clang -O2, GC_MALLOC from libgc (libgc-dev)
    malloc           clang -O2, malloc/free, every tree freed explicitly
    go               go build (golang-go), for reference

--link static (the default) links libpreempt.a and libgc.a into the
executables, so that a runtime rebuilt while the benchmark runs cannot
change the library under it, and both collectors are called the same way;
--link shared uses libpreempt.so / libgc.so.

Each run is timed from fork to exit (wall clock); its peak RSS is
ru_maxrss from wait4, taken by the small runner bench/tools/runexec.c
(a child forked by Python itself would report at least Python's own RSS,
about 14 MB: see runexec.c).  The variants run round-robin (all variants of
run 1, then of run 2, ...) so that a slow period of a shared machine does
not fall on one variant only; the table shows medians over the runs.  The
checksum printed by every run must be the same for all variants at one
depth: a mismatch (a collector freeing a live node) is reported as an
error and makes the exit status 1.

The environment is passed on unchanged, so PREEMPT=gc=200 run.py ... or
GOGC=... applies to the runs.
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
import runexec  # noqa: E402
from report import exit_status, fmt, join_cflags, ratio, table  # noqa: E402
SRC_C = os.path.join(HERE, "binarytrees.c")
SRC_GO = os.path.join(HERE, "binarytrees.go")
ALL_VARIANTS = ["preempt", "preempt-untyped", "preempt-conservative", "boehm",
                "malloc", "go"]
DEFAULT_VARIANTS = ["preempt", "boehm", "malloc", "go"]
RUN_TIMEOUT = 900
STATS_RE = re.compile(r"^STATS (.*)$", re.M)


def die(msg):
    print("run.py: error: " + msg, file=sys.stderr)
    sys.exit(2)


def need_tool(name, hint):
    path = shutil.which(name)
    if not path:
        die("'%s' not found: %s" % (name, hint))
    return path


def run_build(cmd, env=None):
    print("  $ " + shlex.join(cmd), flush=True)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          env=env)
    if proc.returncode != 0:
        out = proc.stdout.decode(errors="replace")
        crash = proc.returncode < 0 or "PLEASE submit a bug report" in out
        die("%s (exit status %d):\n%s" % (
            "COMPILER CRASH" if crash else "build failed",
            proc.returncode, out))


def build(args, variant):
    """Builds one variant; returns the command that runs it (minus depth)."""
    os.makedirs(args.build_dir, exist_ok=True)
    exe = os.path.join(args.build_dir, "bt-" + variant)
    if variant == "go":
        go = shutil.which("go")
        if not go:
            die("'go' not found: apt-get install -y golang-go "
                "(or leave go out of --variants)")
        env = dict(os.environ)
        env.setdefault("GOCACHE", os.path.join(args.build_dir, "gocache"))
        env["GO111MODULE"] = "off"
        if not args.no_build:
            run_build([go, "build", "-o", exe, SRC_GO], env)
        return exe
    cflags = ["-O2", "-std=gnu11", "-Wall", "-Wextra"] + args.cflags
    if variant.startswith("preempt"):
        for f, what in ((args.plugin, "plugin"), (args.lib_static, "runtime"),
                        (os.path.join(args.include, "preempt.h"), "header")):
            if not os.path.exists(f):
                die("preempt %s %s is missing: build it with "
                    "'ninja -C %s/build'" % (what, f, REPO))
        defs = ["-DBT_PREEMPT"] + (["-DBT_UNTYPED"]
                                   if variant == "preempt-untyped" else [])
        cflags += defs + ["-fplugin=" + args.plugin, "-I", args.include]
        if variant == "preempt-conservative":
            cflags += ["-fplugin-arg-preempt-no-layouts"]
        if args.link == "static":
            libs = [args.lib_static, "-pthread"]
        else:
            libs = ["-L", args.lib_dir, "-Wl,-rpath," + args.lib_dir,
                    "-lpreempt", "-pthread"]
    elif variant == "boehm":
        if not os.path.exists("/usr/include/gc.h") and \
                not os.path.exists("/usr/include/gc/gc.h"):
            die("gc.h not found: apt-get install -y libgc-dev "
                "(or leave boehm out of --variants)")
        cflags += ["-DBT_BOEHM"]
        if args.link == "static":
            libs = ["-Wl,-Bstatic", "-lgc", "-Wl,-Bdynamic", "-pthread"]
        else:
            libs = ["-lgc", "-pthread"]
    elif variant == "malloc":
        cflags += ["-DBT_MALLOC"]
        libs = []
    else:
        die("unknown variant %r" % variant)
    if not args.no_build:
        run_build([args.cc] + cflags + [SRC_C, "-o", exe] + libs)
    return exe


def run_once(args, exe, depth):
    """Runs exe once; returns a dict of the measurements."""
    r = runexec.run(args.runexec, [exe, str(depth)], timeout=RUN_TIMEOUT)
    stdout = r.stdout.decode(errors="replace")
    stderr = r.stderr.decode(errors="replace")
    res = {"time": r.wall, "cpu": r.utime + r.stime,
           "rss_kb": r.maxrss_kb, "rc": r.status,
           "stdout": stdout, "stderr": stderr, "checksum": None}
    m = re.search(r"^checksum (\d+)$", stdout, re.M)
    if m:
        res["checksum"] = m.group(1)
    stats = STATS_RE.findall(stderr)
    if stats:
        for kv in stats[-1].split():
            k, _, v = kv.partition("=")
            res[k] = v
    return res


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def main():
    ap = argparse.ArgumentParser(
        description="GCBench-style binary trees: preempt vs Boehm GC vs "
                    "malloc vs Go",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--depths", default="16,18",
                    help="comma-separated tree depths (default 16,18)")
    ap.add_argument("--runs", type=int, default=5,
                    help="runs per variant and depth (default 5); the "
                         "median is reported")
    ap.add_argument("--variants", default=",".join(DEFAULT_VARIANTS),
                    help="comma-separated, from %s (default %s)"
                         % (",".join(ALL_VARIANTS), ",".join(DEFAULT_VARIANTS)))
    ap.add_argument("--build-dir",
                    default=os.path.join(REPO, "build", "bench", "binarytrees"),
                    help="where executables go (default build/bench/"
                         "binarytrees in the repository)")
    ap.add_argument("--link", choices=["static", "shared"], default="static",
                    help="link libpreempt and libgc statically (default) or "
                         "as shared libraries")
    ap.add_argument("--cc", default="clang-19", help="C compiler (clang-19)")
    ap.add_argument("--plugin",
                    default=os.path.join(REPO, "build", "lib", "preempt.so"))
    ap.add_argument("--cflags", default="",
                    help="extra C flags for the C variants")
    ap.add_argument("--markdown", action="store_true",
                    help="print the tables in Markdown")
    ap.add_argument("--no-build", action="store_true",
                    help="reuse the executables in --build-dir")
    args = ap.parse_args(join_cflags(sys.argv[1:]))

    try:
        depths = [int(d) for d in args.depths.split(",") if d]
    except ValueError:
        die("--depths takes comma-separated integers")
    if not depths or any(d < 4 or d > 26 for d in depths):
        die("depths must be between 4 and 26")
    if args.runs < 1:
        die("--runs must be at least 1")
    variants = [v for v in args.variants.split(",") if v]
    for v in variants:
        if v not in ALL_VARIANTS:
            die("unknown variant %r (known: %s)" % (v, ", ".join(ALL_VARIANTS)))
    args.cflags = shlex.split(args.cflags)
    args.build_dir = os.path.abspath(args.build_dir)
    args.plugin = os.path.abspath(args.plugin)
    args.include = os.path.join(REPO, "include")
    args.lib_dir = os.path.dirname(args.plugin)
    args.lib_static = os.path.join(args.lib_dir, "libpreempt.a")
    if any(v != "go" for v in variants):
        need_tool(args.cc, "install clang-19 or pass --cc")

    print("building into %s (%s linking)" % (args.build_dir, args.link))
    args.runexec = runexec.build(args.cc, args.build_dir)
    exes = {v: build(args, v) for v in variants}
    if any(v.startswith("preempt") for v in variants):
        stamp = lambda f: datetime.datetime.fromtimestamp(
            os.path.getmtime(f)).astimezone().strftime("%Y-%m-%d %H:%M:%S")
        rt = args.lib_static if args.link == "static" else \
            os.path.join(args.lib_dir, "libpreempt.so")
        args.built_from = "built with runtime %s (modified %s), plugin %s " \
            "(modified %s)" % (rt, stamp(rt), args.plugin, stamp(args.plugin))
    for v, exe in exes.items():
        if not os.access(exe, os.X_OK):
            die("%s is missing (run without --no-build)" % exe)

    started = datetime.datetime.now().astimezone()
    results = {}  # (variant, depth) -> [run dicts]
    errors = []
    for depth in depths:
        for r in range(args.runs):
            for v in variants:
                res = run_once(args, exes[v], depth)
                results.setdefault((v, depth), []).append(res)
                line = "  %-16s depth %2d run %d: %7.3f s %8.1f MB" % (
                    v, depth, r + 1, res["time"], res["rss_kb"] / 1024)
                if res["rc"] != 0:
                    line += "  FAILED (%s)" % (
                        "exit status %d" % res["rc"] if res["rc"] > 0 else
                        "signal %d" % -res["rc"])
                    errors.append("%s depth %d run %d: exit %d\n%s" % (
                        v, depth, r + 1, res["rc"], res["stderr"][-2000:]))
                print(line, flush=True)
        sums = {}
        for v in variants:
            for i, res in enumerate(results[(v, depth)]):
                sums.setdefault(res["checksum"], []).append(
                    "%s run %d" % (v, i + 1))
        if len(sums) > 1:
            detail = "; ".join("%s: %s" % (c, ", ".join(w))
                               for c, w in sums.items())
            errors.append("depth %d: CHECKSUM MISMATCH: %s" % (depth, detail))

    # ---- tables
    def num(res, key):
        try:
            v = int(res.get(key))
        except (TypeError, ValueError):
            return None
        return None if v < 0 else v

    summary = {}
    rows = []
    for depth in depths:
        for v in variants:
            rs = [x for x in results[(v, depth)] if x["rc"] == 0]
            if not rs:
                rows.append([v, str(depth)] + ["FAILED"] + [""] * 6)
                continue
            s = {
                "time": median([x["time"] for x in rs]),
                "tmin": min(x["time"] for x in rs),
                "tmax": max(x["time"] for x in rs),
                "cpu": median([x["cpu"] for x in rs]),
                "rss": median([x["rss_kb"] for x in rs]) / 1024,
                "gcs": median([num(x, "collections") for x in rs]),
                "pause": median([num(x, "total_pause_ns") for x in rs]),
                "maxpause": median([num(x, "max_pause_ns") for x in rs]),
            }
            summary[(v, depth)] = s
            rows.append([
                v, str(depth),
                "%.3f" % s["time"],
                "%.3f-%.3f" % (s["tmin"], s["tmax"]),
                "%.3f" % s["cpu"],
                "%.1f" % s["rss"],
                fmt(s["gcs"], ".0f"),
                fmt(s["pause"] and s["pause"] / 1e6, ".1f"),
                fmt(s["maxpause"] and s["maxpause"] / 1e6, ".2f"),
            ])
    print()
    print("binarytrees, %d run%s each, medians (%s, %s linking)" % (
        args.runs, "s" if args.runs > 1 else "", started.strftime(
            "%Y-%m-%d %H:%M %Z"), args.link))
    if getattr(args, "built_from", None):
        print(args.built_from)
    print()
    print(table(rows, ["variant", "depth", "time s", "min-max s", "cpu s",
                       "peak RSS MB", "GCs", "total pause ms",
                       "max pause ms"], args.markdown))

    pre = [v for v in ("preempt", "preempt-untyped", "preempt-conservative")
           if v in variants]
    others = [o for o in ("boehm", "malloc", "go") if o in variants]
    if pre and others:
        rrows = []
        for p in pre:
            for depth in depths:
                a = summary.get((p, depth))
                row = [p, str(depth)]
                for o in others:
                    b = summary.get((o, depth))
                    row.append(fmt(ratio(a and a["time"], b and b["time"]),
                                   ".2f"))
                    row.append(fmt(ratio(a and a["rss"], b and b["rss"]),
                                   ".2f"))
                rrows.append(row)
        header = ["", "depth"]
        for o in others:
            header += ["time/%s" % o, "RSS/%s" % o]
        print()
        print("ratios (preempt / other; below 1 means preempt is faster or "
              "smaller)")
        print()
        print(table(rrows, header, args.markdown))

    if "preempt" in variants and "boehm" in variants:
        d = max(depths)
        a, b = summary.get(("preempt", d)), summary.get(("boehm", d))
        if a and b:
            t, m = a["time"] / b["time"], a["rss"] / b["rss"]
            print()
            print("targets at depth %d: time preempt/Boehm %.2f (target "
                  "<= 0.80: %s), peak RSS preempt/Boehm %.2f (target <= "
                  "1.00: %s)" % (d, t, "met" if t <= 0.80 else "MISSED",
                                 m, "met" if m <= 1.00 else "MISSED"))

    return exit_status(errors)


if __name__ == "__main__":
    sys.exit(main())
