#!/usr/bin/env python3
"""stop-the-world driver: how long does stopping threads that spin in
call-free loops take, in preempt, Boehm GC and Go, against the machine's
floor (one signal to a spinning thread and its reply)?

Usage:
    run.py [--build DIR] [--threads 1,2,4] [--rounds 2000] [--passes 10]
           [--systems floor,preempt,boehm,go] [--nice N] [--go-procs P]
           [--markdown] [--no-build]

Systems (sources in bench/stw/, measuring loop in harness.c):
    floor    floor.c: tgkill(SIGURG) to one spinner, spin until the
             handler's reply (1 spinner only)
    floor-park  the least a stop costs, at every spinner count: a tgkill
             to each spinner, each handler replies and then sleeps in a
             futex until the restart, as a stopped thread does; the
             measurer yields its CPU while it waits if some spinners
             cannot be on a CPU.  Not a target (the targets are the
             floor's): what this machine allows any runtime
    preempt  preempt_stw.c, clang -O2 -fplugin=BUILD/lib/preempt.so,
             libpreempt.a: preempt_stop_the_world / preempt_start_the_world
    preempt-polls  the same built with -fplugin-arg-preempt-polls and run
             with PREEMPT=asyncpreempt=0: no signal, the spinners stop at
             the poll on their loop's back-edge
    boehm    boehm_stw.c, libgc (libgc-dev): GC_stop_world_external /
             GC_start_world_external, spinners from GC_pthread_create
    go       go/main.go (golang-go): runtime.ReadMemStats with spinning
             goroutines; GOMAXPROCS = spinners + 1 (--go-procs)
    go-default  the same with Go's default GOMAXPROCS (the number of CPUs,
             or $GOMAXPROCS)

A system whose tools are missing is skipped with a note.  Each (system,
spinners) cell runs --passes times with --rounds/--passes rounds each; the
passes are interleaved and their order rotates, so that a busy moment of a
shared machine does not fall on one system only, and the samples of all
passes are pooled.  On a shared machine other processes take CPUs from the
spinners (a spinner not on a CPU then waits for their time slices, which
are milliseconds): before each run the driver waits (--quiet-wait) until
other processes leave the machine nearly idle, measures the CPU time they
take during the run (/proc/stat less its own children's; /proc/stat counts
in scheduler ticks, so this is rough for short runs), discards a run
in which they took more than --max-others % of the machine and runs it
again in a later pass (up to --pass-limit x --passes passes), and reports
the share they took during the counted runs ("others' CPU %").  A run that
fails is never discarded.  Before each stop every spinner's progress counter must
have moved (so only running threads are stopped), and after each stop
(preempt, Boehm) the counters must stand still for --hold-us: a spinner
that advanced is an error (exit status 1), as is a run that crashed or a
stop that did not finish within --timeout seconds (reported as "did not
stop").  Timing never fails the run: the targets are printed, not
asserted.

Targets (p99): with 1 spinner preempt <= 1.2 x floor; with n spinners
preempt <= n x 1.2 x floor; preempt below the best of Go (either
GOMAXPROCS) and Boehm at every spinner count.  preempt-polls: p50 <= 5 us
with 1 spinner.
"""

import argparse
import datetime
import os
import re
import resource
import shlex
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))
from report import exit_status, fmt, machine_line, join_cflags, ratio, table  # noqa: E402

ALL_SYSTEMS = ["floor", "floor-park", "preempt", "preempt-polls", "boehm",
               "go", "go-default"]
FLOORS = ("floor", "floor-park")  # built from floor.c
ONE_SPINNER = ("floor",)
POLLS_P50_TARGET_US = 5.0
GO_SYSTEMS = ("go", "go-default")
HARNESS = [os.path.join(HERE, "harness.c")]
RUN_TIMEOUT = 900  # a backstop: each round has its own alarm
SAMPLES_RE = re.compile(r"^SAMPLES_NS((?: \d+)*)$", re.M)
STW_RE = re.compile(r"^STW (.*)$", re.M)


def die(msg):
    print("run.py: error: " + msg, file=sys.stderr)
    sys.exit(2)


def run_build(cmd, env=None, cwd=None):
    print("  $ " + shlex.join(cmd), flush=True)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          env=env, cwd=cwd)
    if proc.returncode != 0:
        out = proc.stdout.decode(errors="replace")
        crash = proc.returncode < 0 or "PLEASE submit a bug report" in out
        die("%s (exit status %d):\n%s" % (
            "COMPILER CRASH" if crash else "build failed",
            proc.returncode, out))


def find_gc_h():
    """gc/gc.h, which declares the API (Debian's gc.h only includes it)."""
    for p in ("/usr/include/gc/gc.h", "/usr/include/gc.h"):
        if os.path.exists(p):
            return p
    return None


def build(args, system):
    """Builds one system; returns (command prefix, None) or (None, why it
    is skipped)."""
    exe = os.path.join(args.build_dir, "stw-" + system)
    cflags = ["-O2", "-std=gnu11", "-Wall", "-Wextra", "-I", HERE] + \
        args.cflags
    if system in GO_SYSTEMS:
        go = shutil.which("go")
        if not go:
            return None, "'go' not found (apt-get install -y golang-go)"
        env = dict(os.environ)
        env.setdefault("GOCACHE", os.path.join(args.build_dir, "gocache"))
        env.setdefault("GOPATH", os.path.join(args.build_dir, "gopath"))
        env["GO111MODULE"] = "on"
        env["GOFLAGS"] = "-buildvcs=false"
        exe = os.path.join(args.build_dir, "stw-go")
        if not args.no_build and not args.go_built:
            run_build([go, "build", "-o", exe, "."], env,
                      cwd=os.path.join(HERE, "go"))
            args.go_built = True
        return [exe], None
    if not shutil.which(args.cc):
        return None, "C compiler '%s' not found (install clang-19 or " \
            "pass --cc)" % args.cc
    if system in FLOORS:
        park = ["-DFLOOR_PARK"] if system == "floor-park" else []
        cmd = [args.cc] + cflags + park + [os.path.join(HERE, "floor.c")] + \
            HARNESS + ["-pthread", "-o", exe]
    elif system in ("preempt", "preempt-polls"):
        header = os.path.join(args.include, "preempt.h")
        for f, what in ((args.plugin, "plugin"), (args.lib_static, "runtime")):
            if not os.path.exists(f):
                return None, "%s %s is missing (build it: ninja -C %s)" % (
                    what, f, args.build)
        with open(header) as f:
            if "preempt_stop_the_world" not in f.read():
                return None, "%s declares no preempt_stop_the_world " \
                    "(the runtime has no public stop-the-world yet)" % header
        polls = ["-fplugin-arg-preempt-polls"] \
            if system == "preempt-polls" else []
        cmd = [args.cc] + cflags + ["-fplugin=" + args.plugin] + polls + [
                                    "-I", args.include,
                                    os.path.join(HERE, "preempt_stw.c")] + \
            HARNESS + [args.lib_static,
                       # as consumers of preempt_static link: the blocking
                       # wrappers, which plugin-built code references weakly
                       "-Wl,--undefined=preempt_blocking_anchor",
                       "-pthread", "-o", exe]
    elif system == "boehm":
        gc_h = find_gc_h()
        if not gc_h:
            return None, "gc.h not found (apt-get install -y libgc-dev)"
        with open(gc_h) as f:
            if "GC_stop_world_external" not in f.read():
                return None, "%s has no GC_stop_world_external (libgc " \
                    "8.0 or later has it)" % gc_h
        cmd = [args.cc] + cflags + [os.path.join(HERE, "boehm_stw.c")] + \
            HARNESS + ["-Wl,-Bstatic", "-lgc", "-Wl,-Bdynamic", "-pthread",
                       "-o", exe]
    else:
        die("unknown system %r" % system)
    if not args.no_build:
        run_build(cmd)
    if system == "preempt-polls":  # signals off: only the polls stop it
        return ["env", "PREEMPT=asyncpreempt=0", exe], None
    return [exe], None


def cpu_times():
    """(busy, total) CPU seconds of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7]  # not idle, iowait
    hz = os.sysconf("SC_CLK_TCK")
    return busy / hz, (busy + v[3] + v[4]) / hz


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def wait_quiet(args):
    """Waits (at most --quiet-wait s) until other processes use less than
    10% of the machine over 0.2 s; returns whether they did."""
    deadline = time.monotonic() + args.quiet_wait
    while True:
        b0, t0 = cpu_times()
        time.sleep(0.2)
        b1, t1 = cpu_times()
        if t1 <= t0 or (b1 - b0) / (t1 - t0) < 0.10:
            return True
        if time.monotonic() >= deadline:
            return False


def run_cell(args, prefix, system, n, rounds):
    """Runs one (system, spinners) program; returns a dict with status
    'ok' (and samples), 'did not stop', 'ADVANCED WHILE STOPPED' or
    'FAILED', the program's message, and the CPU time other processes
    took meanwhile (others_s, of capacity_s: every CPU's wall time)."""
    cmd = prefix + ["-n", str(n), "-r", str(rounds), "-w", str(args.warmup),
                    "-t", str(args.timeout)]
    if system not in GO_SYSTEMS:
        cmd += ["-H", str(args.hold_us)]
    elif system == "go-default":
        pass
    elif args.go_procs == "spinners+1":
        cmd += ["-procs", str(n + 1)]
    elif args.go_procs != "default":
        cmd += ["-procs", args.go_procs]

    def lower_priority():
        if args.nice:
            os.setpriority(os.PRIO_PROCESS, 0, args.nice)

    busy0, total0 = cpu_times()
    own0 = children_cpu()
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=RUN_TIMEOUT,
                              preexec_fn=lower_priority)
    except subprocess.TimeoutExpired:
        return {"status": "did not stop",
                "msg": "%s: no answer in %d s, killed" % (shlex.join(cmd),
                                                         RUN_TIMEOUT)}
    busy1, total1 = cpu_times()
    load = {"others_s": max(0.0, (busy1 - busy0) - (children_cpu() - own0)),
            "capacity_s": total1 - total0}
    out = proc.stdout.decode(errors="replace")
    err = proc.stderr.decode(errors="replace").strip()
    if proc.returncode == 3:
        return {"status": "did not stop", "msg": err}
    res = dict(load)
    if proc.returncode != 0:
        status = "ADVANCED WHILE STOPPED" if "ADVANCED" in err else "FAILED"
        how = "exit status %d" % proc.returncode if proc.returncode > 0 \
            else "signal %d" % -proc.returncode
        return {"status": status, "msg": "%s: %s\n%s" % (
            shlex.join(cmd), how, err[-3000:])}
    m = SAMPLES_RE.search(out)
    if not m:
        return {"status": "FAILED", "msg": "%s: no SAMPLES_NS line in its "
                "output" % shlex.join(cmd)}
    res.update({"status": "ok", "msg": err,
                "samples": [int(x) for x in m.group(1).split()]})
    s = STW_RE.search(out)
    if s:
        res.update(kv.split("=", 1) for kv in s.group(1).split()
                   if "=" in kv)
    return res


def percentile(sorted_xs, p):
    """Nearest rank, as harness.c."""
    k = min(max(int(p / 100.0 * len(sorted_xs) + 0.999999), 1),
            len(sorted_xs))
    return sorted_xs[k - 1]


def summarize(samples):
    xs = sorted(samples)
    return {"p50": percentile(xs, 50) / 1000.0,
            "p99": percentile(xs, 99) / 1000.0,
            "max": xs[-1] / 1000.0, "rounds": len(xs)}


def tool_versions(systems):
    parts = []
    if any(s in systems for s in GO_SYSTEMS) and shutil.which("go"):
        v = subprocess.run(["go", "version"], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL).stdout.decode().split()
        if len(v) >= 3:
            parts.append(v[2])
    if "boehm" in systems and shutil.which("dpkg-query"):
        v = subprocess.run(["dpkg-query", "-W", "-f", "${Version}",
                            "libgc-dev"], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL).stdout.decode()
        if v:
            parts.append("libgc " + v)
    return ", ".join(parts)


def main():
    ap = argparse.ArgumentParser(
        description="time to stop threads spinning in call-free loops: "
                    "preempt vs Boehm GC vs Go vs the machine's floor",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--build", default=os.path.join(REPO, "build"),
                    help="the project's build directory (default build/ in "
                         "the repository): its lib/preempt.so and "
                         "lib/libpreempt.a are used")
    ap.add_argument("--build-dir",
                    help="where executables go (default BUILD/bench/stw)")
    ap.add_argument("--threads", default="1,2,4",
                    help="comma-separated spinner counts (default 1,2,4)")
    ap.add_argument("--rounds", type=int, default=2000,
                    help="timed stops per system and spinner count, over "
                         "all passes (default 2000)")
    ap.add_argument("--passes", type=int, default=10,
                    help="interleaved runs per cell (default 10)")
    ap.add_argument("--max-others", type=float, default=10,
                    help="discard a run in which other processes took more "
                         "than this %% of the machine, and run it again "
                         "later (default 10; 100 keeps every run)")
    ap.add_argument("--pass-limit", type=int, default=5,
                    help="run at most this many times --passes passes to "
                         "replace discarded runs (default 5)")
    ap.add_argument("--quiet-wait", type=float, default=1,
                    help="before each run, wait up to this many seconds "
                         "until other processes use less than 10%% of the "
                         "machine (default 1; 0: do not wait)")
    ap.add_argument("--warmup", type=int, default=10,
                    help="dropped rounds at the start of each run "
                         "(default 10)")
    ap.add_argument("--hold-us", type=int, default=50,
                    help="how long the counters must stand still after a "
                         "stop (default 50)")
    ap.add_argument("--timeout", type=int, default=10,
                    help="seconds a round may take before 'did not stop' "
                         "(default 10)")
    ap.add_argument("--systems", default=",".join(ALL_SYSTEMS),
                    help="comma-separated, from %s" % ",".join(ALL_SYSTEMS))
    ap.add_argument("--nice", type=int, default=0,
                    help="run the programs at this nice value (negative "
                         "needs root; -20 keeps other load on a shared "
                         "machine from descheduling the spinners)")
    ap.add_argument("--go-procs", default="spinners+1",
                    help="GOMAXPROCS for Go: spinners+1 (the default: every "
                         "goroutine has a P and a thread, as in the C "
                         "programs), 'default' (Go's own: the number of "
                         "CPUs, or $GOMAXPROCS) or a number")
    ap.add_argument("--cc", default="clang-19", help="C compiler (clang-19)")
    ap.add_argument("--cflags", default="",
                    help="extra C flags for the C programs")
    ap.add_argument("--markdown", action="store_true",
                    help="print the tables in Markdown")
    ap.add_argument("--no-build", action="store_true",
                    help="reuse the executables in --build-dir")
    args = ap.parse_args(join_cflags(sys.argv[1:]))

    try:
        counts = [int(t) for t in args.threads.split(",") if t]
    except ValueError:
        die("--threads takes comma-separated integers")
    if not counts or any(t < 0 or t > 64 for t in counts):
        die("spinner counts must be between 0 and 64")
    if args.passes < 1 or args.rounds < args.passes:
        die("--passes must be at least 1 and at most --rounds")
    if args.pass_limit < 1:
        die("--pass-limit must be at least 1")
    if args.timeout < 1 or args.warmup < 0 or args.hold_us < 0:
        die("--timeout must be positive, --warmup and --hold-us not negative")
    if args.go_procs not in ("spinners+1", "default") and \
            not args.go_procs.isdigit():
        die("--go-procs takes spinners+1, default or a number")
    systems = [s for s in args.systems.split(",") if s]
    for s in systems:
        if s not in ALL_SYSTEMS:
            die("unknown system %r (known: %s)" % (s, ", ".join(ALL_SYSTEMS)))
    args.cflags = shlex.split(args.cflags)
    args.go_built = False
    args.build = os.path.abspath(args.build)
    args.build_dir = os.path.abspath(args.build_dir or os.path.join(
        args.build, "bench", "stw"))
    args.plugin = os.path.join(args.build, "lib", "preempt.so")
    args.lib_static = os.path.join(args.build, "lib", "libpreempt.a")
    args.include = os.path.join(REPO, "include")
    os.makedirs(args.build_dir, exist_ok=True)

    print("building into %s" % args.build_dir)
    prefixes, notes = {}, []
    for s in systems:
        prefix, why = build(args, s)
        if prefix is None:
            notes.append("%s: skipped: %s" % (s, why))
            print("  " + notes[-1], flush=True)
        elif not os.access(prefix[-1], os.X_OK):
            die("%s is missing (run without --no-build)" % prefix[-1])
        else:
            prefixes[s] = prefix
    built_from = None
    if "preempt" in prefixes:
        stamp = lambda f: datetime.datetime.fromtimestamp(
            os.path.getmtime(f)).astimezone().strftime("%Y-%m-%d %H:%M:%S")
        built_from = "preempt: runtime %s (modified %s), plugin %s " \
            "(modified %s)" % (args.lib_static, stamp(args.lib_static),
                               args.plugin, stamp(args.plugin))

    # Cells: the floor once (1 spinner), every other system per count.
    cells = [(s, 1) for s in prefixes if s in ONE_SPINNER] + \
        [(s, n) for n in counts for s in prefixes if s not in ONE_SPINNER]
    per_run = -(-args.rounds // args.passes)
    started = datetime.datetime.now().astimezone()
    load_before = os.getloadavg()
    results = {c: {"samples": [], "status": "ok", "passes": [],
                   "others_s": 0.0, "capacity_s": 0.0, "discarded": 0}
               for c in cells}
    errors = []
    busy_starts = runs = 0
    max_passes = args.passes * args.pass_limit
    for p in range(max_passes):
        todo = [c for c in cells if results[c]["status"] == "ok" and
                len(results[c]["samples"]) < args.rounds]
        if not todo:
            break
        k = p % len(todo)
        for cell in todo[k:] + todo[:k]:
            r = results[cell]
            if args.quiet_wait > 0 and not wait_quiet(args):
                busy_starts += 1
            runs += 1
            res = run_cell(args, prefixes[cell[0]], cell[0], cell[1],
                           min(per_run, args.rounds - len(r["samples"])))
            line = "  pass %d %-10s %d spinner(s): " % (p + 1, cell[0],
                                                        cell[1])
            others = None
            if res.get("capacity_s"):
                others = 100 * res["others_s"] / res["capacity_s"]
                line += "others %3.0f%%  " % others
            if res["status"] == "ok" and others is not None and \
                    others > args.max_others:
                r["discarded"] += 1
                line += "discarded (other processes above %g%%)" % (
                    args.max_others)
            elif res["status"] == "ok":
                r["others_s"] += res["others_s"]
                r["capacity_s"] += res["capacity_s"]
                r["samples"] += res["samples"]
                one = summarize(res["samples"])
                r["passes"].append(one)
                if "gomaxprocs" in res:
                    r["gomaxprocs"] = res["gomaxprocs"]
                line += "p50 %7.1f us  p99 %8.1f us  max %8.1f us" % (
                    one["p50"], one["p99"], one["max"])
            else:
                r["status"] = res["status"]
                line += res["status"]
                errors.append("%s, %d spinner(s): %s: %s" % (
                    cell[0], cell[1], res["status"], res["msg"]))
            print(line, flush=True)

    # ---- tables
    summary = {c: summarize(r["samples"]) for c, r in results.items()
               if r["status"] == "ok" and r["samples"]}
    floor = summary.get(("floor", 1))

    def better_other(n):
        """(name, summary) of Go and Boehm with the lower p99."""
        cands = [(s, summary[(s, n)]) for s in GO_SYSTEMS + ("boehm",)
                 if (s, n) in summary]
        return min(cands, key=lambda c: c[1]["p99"]) if cands else (None,
                                                                    None)

    rows = []
    for cell in cells:
        s, n = cell
        r = results[cell]
        label = s
        if s in GO_SYSTEMS and "gomaxprocs" in r:
            label = "%s (GOMAXPROCS %s)" % (s, r["gomaxprocs"])
        if cell not in summary:
            rows.append([label, str(n), r["status"] if r["status"] != "ok"
                         else "no samples", "", str(r["discarded"])] +
                        [""] * 6)
            continue
        a = summary[cell]
        _, b = better_other(n)
        rows.append([
            label, str(n), str(a["rounds"]),
            fmt(ratio(100 * r["others_s"], r["capacity_s"]), ".0f"),
            str(r["discarded"]),
            "%.1f" % a["p50"], "%.1f" % a["p99"], "%.1f" % a["max"],
            fmt(ratio(a["p50"], floor and floor["p50"]), ".2f"),
            fmt(ratio(a["p99"], floor and floor["p99"]), ".2f"),
            fmt(ratio(a["p99"], b and b["p99"]), ".2f")
            if s == "preempt" else "",
        ])
    print()
    print("stop-the-world with spinners in call-free loops, %s, %d "
          "pass%s, nice %d" % (started.strftime("%Y-%m-%d %H:%M %Z"),
                               args.passes, "es" if args.passes > 1 else "",
                               args.nice))
    print(machine_line())
    versions = tool_versions(prefixes)
    if versions:
        print(versions)
    if built_from:
        print(built_from)
    print("load average before the runs %.2f (1 min)" % load_before[0])
    for note in notes:
        print(note)
    print()
    print(table(rows, ["system", "spinners", "rounds", "others' CPU %",
                       "runs discarded",
                       "p50 us", "p99 us",
                       "max us", "p50/floor", "p99/floor",
                       "p99/best(go,boehm)"], args.markdown))

    print()
    print("others' CPU %%: CPU time that other processes took while the "
          "row's counted runs ran, as a share of the machine (all CPUs); "
          "runs in which they took more than %g%% are discarded and run "
          "again (at most %d passes)" % (args.max_others, max_passes))
    short = [c for c in cells if results[c]["status"] == "ok" and
             len(results[c]["samples"]) < args.rounds]
    if short:
        print("fewer rounds than --rounds (the machine stayed busy): " +
              ", ".join("%s/%d" % c for c in short))
    if args.quiet_wait > 0:
        print("%d of %d runs began with other processes above 10%% of the "
              "machine after waiting up to %g s for them" % (
                  busy_starts, runs, args.quiet_wait))
    fp = results.get(("floor", 1), {}).get("passes", [])
    if len(fp) > 1:
        p99s = sorted(x["p99"] for x in fp)
        print("floor p99 per pass: min %.1f, median %.1f, max %.1f us" % (
            p99s[0], p99s[len(p99s) // 2], p99s[-1]))

    if "preempt" in prefixes:
        trows = []
        for n in counts:
            a = summary.get(("preempt", n))
            name, b = better_other(n)
            least = summary.get(("floor-park", n))
            limit = max(n, 1) * 1.2 * floor["p99"] if floor else None
            trows.append([
                str(n),
                fmt(a and a["p99"], ".1f",
                    results[("preempt", n)]["status"]
                    if results[("preempt", n)]["status"] != "ok"
                    else "no samples"),
                fmt(limit, ".1f"),
                "-" if not (a and limit) else
                "met" if a["p99"] <= limit else "MISSED",
                fmt(least and least["p99"], ".1f"),
                "-" if not (least and limit) else
                "yes" if least["p99"] <= limit else "NO",
                fmt(ratio(a and a["p99"], least and least["p99"]), ".2f"),
                "%s %.1f" % (name, b["p99"]) if b else "-",
                fmt(ratio(a and a["p99"], b and b["p99"]), ".2f"),
                "-" if not (a and b) else
                "met" if a["p99"] < b["p99"] else "MISSED",
            ])
        print()
        print("targets (p99): preempt <= n x 1.2 x floor, and below the "
              "best of Go and Boehm.  floor-park, the least stop (a signal "
              "and a sleep, nothing else), shows whether the floor target "
              "is within this machine's reach at all")
        print()
        print(table(trows, ["spinners", "preempt p99 us",
                            "n x 1.2 x floor us", "floor target",
                            "floor-park p99 us", "floor-park within it",
                            "preempt/floor-park",
                            "best of go/boehm us", "preempt/best",
                            "go/boehm target"], args.markdown))

    if "preempt-polls" in prefixes:
        a = summary.get(("preempt-polls", 1))
        print()
        print("target preempt-polls, 1 spinner: p50 <= %.1f us: %s" % (
            POLLS_P50_TARGET_US, "not measured" if not a else
            "%.1f us %s" % (a["p50"], "met" if a["p50"] <= POLLS_P50_TARGET_US
                            else "MISSED")))

    return exit_status(errors)


if __name__ == "__main__":
    sys.exit(main())
