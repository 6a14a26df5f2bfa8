#!/usr/bin/env python3
"""heap driver: what a heap snapshot costs the program, and what reading
one costs preempt-heap.

(a) heap.c, built with the plugin, builds a random graph of N objects of
    32 bytes (two pointers, ~2 edges per object, all reachable from a
    global array) or about 1 GB of 64 KiB..1 MiB pointer-free buffers, then
    alternates full collections (preempt_gc) and snapshots
    (preempt_heap_snapshot) of the same heap: pause of each (medians),
    ratio snapshot/collection (target <= 1), pause per million objects and
    per GB, snapshot file size, and the extra peak RSS of each call.
(b) `preempt-heap top` on snapshots of 1, 10 and 50 million objects,
    written by heap.c with the real runtime (or by
    tools/heap/test/gen_random.c with --generator gen_random): wall time,
    CPU and peak RSS through bench/tools/runexec (target: 10M objects in
    under 10 s).  Two shapes (--top-shapes): the random graph, where every
    step of the analysis is a cache miss (the worst case), and trees built
    depth first with one leaf in 8 pointing at a random earlier node, where
    allocation order follows the structure as in most programs.

Usage:
    run.py [--objects 1,4,16] [--big-mb 1024] [--reps 3]
           [--top-objects 1,10,50] [--top-shapes graph,tree] [--top-runs 1]
           [--generator runtime]
           [--build DIR] [--build-dir DIR] [--snap-dir DIR] [--keep]
           [--no-build] [--skip-pause] [--skip-top] [--markdown]
"""

import argparse
import datetime
import os
import shlex
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))
from report import exit_status, fmt, machine_line, ratio, table  # noqa: E402
import runexec  # noqa: E402

RUN_TIMEOUT = 1800
TOP_TARGET_OBJECTS = 10_000_000
TOP_TARGET_S = 10.0


def parse_result(text):
    for line in text.splitlines():
        if line.startswith("RESULT "):
            return dict(kv.split("=", 1) for kv in line[7:].split())
    return None


def nums(s):
    return [int(x) for x in s.split(",") if x]


def build(args):
    plugin = os.path.join(args.build, "lib", "preempt.so")
    lib = os.path.join(args.build, "lib", "libpreempt.a")
    tool = os.path.join(args.build, "bin", "preempt-heap")
    for f in (plugin, lib, tool):
        if not os.path.exists(f):
            sys.exit("run.py: error: %s is missing: build the project first "
                     "(ninja -C %s preempt_plugin preempt_static preempt-heap)"
                     % (f, args.build))
    os.makedirs(args.build_dir, exist_ok=True)
    exe = os.path.join(args.build_dir, "heap")
    gen = os.path.join(args.build_dir, "gen_random")
    if not args.no_build:
        cmds = [[args.cc, "-O2", "-Wall", "-Wextra", "-fplugin=" + plugin,
                 "-I", os.path.join(REPO, "include"),
                 "-I", os.path.join(REPO, "runtime"),
                 os.path.join(HERE, "heap.c"), lib, "-lffi", "-pthread",
                 "-ldl", "-o", exe]]
        if args.generator == "gen_random":
            cmds.append([args.cc, "-O2", "-I", os.path.join(REPO, "runtime"),
                         os.path.join(REPO, "tools", "heap", "test",
                                      "gen_random.c"), "-o", gen])
        for cmd in cmds:
            print("  $ " + shlex.join(cmd), flush=True)
            subprocess.run(cmd, check=True)
    return exe, gen, tool


def run_heap(exe, cmd, errors):
    """Runs heap.c; its RESULT fields, or None after noting the error."""
    print("  $ " + shlex.join([exe] + cmd), flush=True)
    p = subprocess.run([exe] + cmd, capture_output=True, text=True,
                       timeout=RUN_TIMEOUT)
    r = parse_result(p.stdout)
    if p.returncode or r is None:
        errors.append("heap %s: status %d: %s" % (" ".join(cmd), p.returncode,
                                                  p.stderr.strip()[-500:]))
        return None
    return r


def pause_part(args, exe, errors):
    """(a): rows of the pause table, and the target lines."""
    cases = [("graph", int(float(m) * 1e6)) for m in args.objects.split(",") if m]
    if args.big_mb:
        cases.append(("big", args.big_mb))
    rows, rows2, targets = [], [], []
    for kind, n in cases:
        snap = os.path.join(args.snap_dir, "pause-%s-%d.snap" % (kind, n))
        r = run_heap(exe, [kind, str(n), snap, str(args.reps)], errors)
        if r is None:
            continue
        size = os.path.getsize(snap)
        if not args.keep:
            os.unlink(snap)
        objects = int(r["objects"])
        heap_b = int(r["heap_bytes"])
        med = lambda k: statistics.median(nums(r[k])) / 1e6
        gc, sp, wall = med("gc_pause_ns"), med("snap_pause_ns"), med("snap_wall_ns")
        gc_cpu, sp_cpu = med("gc_cpu_ns"), med("snap_cpu_ns")
        gc_x, sn_x = int(r["gc_extra_kb"]), int(r["snap_extra_kb"])
        walker = int(r.get("walker_kb", "0"))
        what = ("graph %gM" % (n / 1e6)) if kind == "graph" else \
            ("buffers %d MB" % n)
        rows.append([
            what, str(objects), fmt(heap_b / 2**20, ".0f"),
            fmt(gc, ".2f"), fmt(sp, ".2f"), fmt(ratio(sp, gc), ".2f"),
            fmt(gc / (objects / 1e6), ".1f"), fmt(sp / (objects / 1e6), ".1f"),
            fmt(gc / (heap_b / 2**30), ".1f"), fmt(sp / (heap_b / 2**30), ".1f")])
        rows2.append([
            what, fmt(gc_cpu, ".1f"), fmt(sp_cpu, ".1f"),
            fmt(ratio(sp_cpu, gc_cpu), ".2f"), fmt(wall, ".1f"),
            fmt(size / 2**20, ".1f"), fmt(size / objects, ".1f"),
            fmt(gc_x / 1024, ".1f") if gc_x >= 0 else "-",
            fmt(sn_x / 1024, ".1f") if sn_x >= 0 else "-",
            fmt(sn_x * 1024 / objects, ".1f") if sn_x >= 0 else "-",
            fmt(walker / 1024, ".0f") if walker > 0 else "-"])
        targets.append([what, "snapshot pause <= collection pause",
                        "%.2f / %.2f ms = %s" % (sp, gc, fmt(ratio(sp, gc), ".2f")),
                        "met" if sp <= gc else "MISSED"])
    header = ["heap", "objects", "heap MiB", "gc pause ms", "snapshot pause ms",
              "snapshot/gc", "gc ms/M obj", "snap ms/M obj", "gc ms/GiB",
              "snap ms/GiB"]
    header2 = ["heap", "gc cpu ms", "snapshot call cpu ms", "cpu snapshot/gc",
               "snapshot call wall ms", "file MiB", "file B/obj",
               "gc extra RSS MiB", "snap extra RSS MiB", "snap extra B/obj",
               "forked walker peak RSS MiB"]
    return [(rows, header), (rows2, header2)], targets


def top_part(args, exe, gen, tool, errors):
    """(b): rows of the preempt-heap table, and the target lines."""
    rx = runexec.build(args.cc, args.build_dir)
    rows, targets = [], []
    cases = [(shape, m) for shape in args.top_shapes.split(",") if shape
             for m in args.top_objects.split(",") if m]
    if args.generator != "runtime":
        cases = [("graph", m) for shape, m in cases if shape == "graph"]
    for shape, m in cases:
        n = int(float(m) * 1e6)
        snap = os.path.join(args.snap_dir, "top-%s-%s-%d.snap" % (
            args.generator, shape, n))
        if args.generator == "runtime":
            r = runexec.run(rx, [exe, shape, str(n), snap, "0"],
                            timeout=RUN_TIMEOUT)
            if r.status != 0:
                errors.append("heap %s %d: %s: %s" % (
                    shape, n, r.describe_status(),
                    r.stderr.decode(errors="replace")[-500:]))
                continue
            res = parse_result(r.stdout.decode()) or {}
            gen_note = "runtime, pause %s ms, program peak RSS %.0f MiB" % (
                fmt(int(res.get("snap_pause_ns", 0)) / 1e6, ".0f"),
                r.maxrss_kb / 1024)
        else:
            r = runexec.run(rx, [gen, str(n), snap], timeout=RUN_TIMEOUT)
            if r.status != 0:
                errors.append("gen_random %d: %s" % (n, r.describe_status()))
                continue
            gen_note = "gen_random"
        size = os.path.getsize(snap)
        print("  %s: %d objects, %.0f MiB (%s)" % (snap, n, size / 2**20, gen_note),
              flush=True)
        runs = []
        for _ in range(args.top_runs):
            r = runexec.run(rx, [tool, "top", snap, "-n", "10"], timeout=RUN_TIMEOUT)
            if r.status != 0:
                errors.append("preempt-heap top %s: %s: %s" % (
                    snap, r.describe_status(),
                    r.stderr.decode(errors="replace")[-500:]))
                break
            runs.append(r)
            print("    preempt-heap top: %.2f s, %.0f MiB" % (
                r.wall, r.maxrss_kb / 1024), flush=True)
        if not args.keep:
            os.unlink(snap)
        if not runs:
            continue
        wall = statistics.median(x.wall for x in runs)
        cpu = statistics.median(x.utime + x.stime for x in runs)
        rss = statistics.median(x.maxrss_kb for x in runs) * 1024
        rows.append(["%gM %s" % (n / 1e6, shape), str(n), args.generator,
                     fmt(size / 2**20, ".0f"), fmt(wall, ".2f"), fmt(cpu, ".2f"),
                     fmt(rss / 2**20, ".0f"), fmt(wall / (n / 1e6), ".3f"),
                     fmt(rss / n, ".0f"), fmt(ratio(rss, size), ".2f")])
        if n == TOP_TARGET_OBJECTS:
            targets.append(["top, %d objects, %s" % (n, shape),
                            "< %.0f s" % TOP_TARGET_S,
                            "%.2f s" % wall,
                            "met" if wall < TOP_TARGET_S else "MISSED"])
    header = ["snapshot", "objects", "written by", "file MiB", "top wall s",
              "top cpu s", "top peak RSS MiB", "s per M obj", "RSS B/obj",
              "RSS/file"]
    return rows, header, targets


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__)
    ap.add_argument("--objects", default="1,4,16",
                    help="graph sizes for (a), millions of objects")
    ap.add_argument("--big-mb", type=int, default=1024,
                    help="MB of large buffers for (a) (0: none)")
    ap.add_argument("--reps", type=int, default=3,
                    help="collections and snapshots per heap (medians)")
    ap.add_argument("--top-objects", default="1,10,50",
                    help="snapshot sizes for (b), millions of objects")
    ap.add_argument("--top-shapes", default="graph,tree",
                    help="heap shapes for (b): graph (random), tree")
    ap.add_argument("--top-runs", type=int, default=1)
    ap.add_argument("--generator", choices=["runtime", "gen_random"],
                    default="runtime")
    ap.add_argument("--build", default=os.path.join(REPO, "build"),
                    help="the project's build directory (default build/)")
    ap.add_argument("--build-dir", help="executables (default BUILD/bench/heap)")
    ap.add_argument("--snap-dir", help="snapshots (default the --build-dir)")
    ap.add_argument("--keep", action="store_true", help="keep the snapshots")
    ap.add_argument("--cc", default="clang-19")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--skip-pause", action="store_true")
    ap.add_argument("--skip-top", action="store_true")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    args.build_dir = os.path.abspath(args.build_dir or
                                     os.path.join(args.build, "bench", "heap"))
    args.snap_dir = os.path.abspath(args.snap_dir or args.build_dir)
    os.makedirs(args.snap_dir, exist_ok=True)
    exe, gen, tool = build(args)
    errors = []
    started = datetime.datetime.now().astimezone()
    load_at_start = " ".join("%.2f" % x for x in os.getloadavg())
    out = []
    targets = []
    if not args.skip_pause:
        tables, t = pause_part(args, exe, errors)
        out += [table(rows, header, args.markdown) for rows, header in tables]
        targets += t
    if not args.skip_top:
        rows, header, t = top_part(args, exe, gen, tool, errors)
        out.append(table(rows, header, args.markdown))
        targets += t
    print()
    print(machine_line())
    print("started %s, load average %s; ended %s, load average %s" % (
        started.strftime("%Y-%m-%d %H:%M %Z"), load_at_start,
        datetime.datetime.now().astimezone().strftime("%H:%M"),
        " ".join("%.2f" % x for x in os.getloadavg())))
    for o in out:
        print()
        print(o)
    if targets:
        print()
        print(table(targets, ["case", "target", "measured", "status"],
                    args.markdown))
    return exit_status(errors)


if __name__ == "__main__":
    sys.exit(main())
