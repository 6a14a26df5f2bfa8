#!/usr/bin/env python3
"""foreign-call driver: what does one call into foreign code, and one
callback from it, cost through preempt's libffi API, next to a plain C
call, a bare libffi ffi_call and Go's cgo, on the same machine in one run?

Usage:
    run.py [--build DIR] [--passes 5] [--samples 10] [--sample-ms 10]
           [--no-go] [--no-valgrind] [--markdown] [--no-build]

Programs (sources in bench/ffi/):
    ffibench   ffibench.c, clang -O2 -fplugin=BUILD/lib/preempt.so, linked
               with foreign.c (clang -O2, no plugin: the "C library") and
               BUILD/lib/libpreempt.a -lffi.  Variants: a plain call, a bare
               ffi_call, preempt_ffi_call(_leaf), the blocking transition,
               callbacks (see ffibench.c)
    go         go/: `go test -c`, then the test binary's -test.bench: Go's
               cgo call, a cgo callback round trip (Go -> C -> Go) and cgo
               callbacks in a C loop (GOFLAGS=-mod=mod, GOTOOLCHAIN=local,
               GOPROXY=off: no network)

Each pass runs ffibench (--samples samples of every variant, interleaved)
and the Go benchmarks (-test.count --samples), alternating which goes
first.  A sample lasts about --sample-ms; each reports the share of its
wall time its thread was on a CPU, and a sample below --min-share (the
thread was descheduled: the machine is shared) is discarded.  The table
gives the median of the kept samples, their 10th-90th percentile spread,
and, with valgrind, instructions per call (cachegrind, two runs of
different lengths, the difference divided: no start-up, no noise).
Timing never fails the run: the targets are printed, not asserted; a
wrong checksum or a failed program is an error (exit status 1).

Targets: the blocking transition <= 10 ns; preempt_ffi_call within 1.5x
of a bare ffi_call; a callback round trip faster than Go's.
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
from report import exit_status, fmt, machine_line, join_cflags, ratio, table  # noqa: E402

# (variant, what it measures), in table order.
C_VARIANTS = [
    ("c", "plain C call (foreign.c, not inlined)"),
    ("ffi", "bare libffi ffi_call"),
    ("leaf", "preempt_ffi_call_leaf (no transition)"),
    ("call", "preempt_ffi_call (blocking transition)"),
    ("call_ptr", "preempt_ffi_call, a heap object argument"),
    ("ffi8", "bare ffi_call, 8 int arguments (2 on the stack)"),
    ("leaf8", "preempt_ffi_call_leaf, the same (libffi path)"),
    ("call8", "preempt_ffi_call, the same (libffi path)"),
    ("transition", "preempt_enter/exit_blocking around a plain call"),
    ("fences", "two xchg + plain call (not the runtime: a floor)"),
    ("cb_direct", "callback, foreign code called directly"),
    ("cb_roundtrip", "round trip: preempt_ffi_call -> C -> callback"),
    ("cb_wrap", "the same, preempt_callback_wrap"),
    ("cb_loop", "callback in a C loop (per callback)"),
]
GO_VARIANTS = [
    ("GoCall", "go: plain Go call (noinline)"),
    ("CgoCall", "go: cgo call"),
    ("CgoCallback", "go: round trip: cgo call -> C -> Go"),
    ("CgoCallbackLoop", "go: callback in a C loop (per callback)"),
]
GO_RE = re.compile(r"^Benchmark(\w+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op"
                   r"(?:\s+([\d.]+) cpu-share)?", re.M)


def die(msg):
    print("run.py: error: " + msg, file=sys.stderr)
    sys.exit(2)


def run_build(cmd, env=None, cwd=None):
    print("  $ " + shlex.join(cmd), flush=True)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, env=env, cwd=cwd)
    if proc.returncode != 0:
        out = proc.stdout.decode(errors="replace")
        crash = proc.returncode < 0 or "PLEASE submit a bug report" in out
        die("%s (exit status %d):\n%s" % (
            "COMPILER CRASH" if crash else "build failed",
            proc.returncode, out))


def go_env(args):
    env = dict(os.environ)
    env.setdefault("GOCACHE", os.path.join(args.build_dir, "gocache"))
    env.setdefault("GOPATH", os.path.join(args.build_dir, "gopath"))
    env["GO111MODULE"] = "on"
    env["GOFLAGS"] = "-mod=mod -buildvcs=false"
    env["GOTOOLCHAIN"] = "local"
    env["GOPROXY"] = "off"
    env.setdefault("CC", args.cc)
    return env


def build(args):
    """Builds ffibench and the Go test binary; returns (ffibench, go test
    binary or None, notes)."""
    notes = []
    exe = os.path.join(args.build_dir, "ffibench")
    gobin = os.path.join(args.build_dir, "cgobench.test")
    for f, what in ((args.plugin, "plugin"), (args.lib_static, "runtime")):
        if not os.path.exists(f):
            die("%s %s is missing (build it: ninja -C %s preempt_plugin "
                "preempt_static)" % (what, f, args.build))
    with open(os.path.join(REPO, "include", "preempt.h")) as f:
        if "preempt_ffi_call_leaf" not in f.read():
            die("include/preempt.h declares no preempt_ffi_call_leaf (the "
                "runtime has no foreign-call API yet)")
    if not args.no_build:
        if not shutil.which(args.cc):
            die("C compiler '%s' not found (install clang-19 or pass --cc)"
                % args.cc)
        # DWARF 4: valgrind 3.19 cannot read clang 19's DWARF 5
        cflags = ["-O2", "-gdwarf-4", "-std=gnu11", "-Wall", "-Wextra",
                  "-Werror"] + args.cflags
        foreign_o = os.path.join(args.build_dir, "foreign.o")
        bench_o = os.path.join(args.build_dir, "ffibench.o")
        run_build([args.cc] + cflags + ["-c", os.path.join(HERE, "foreign.c"),
                                        "-o", foreign_o])
        run_build([args.cc] + cflags + ["-fplugin=" + args.plugin, "-I",
                                        os.path.join(REPO, "include"), "-c",
                                        os.path.join(HERE, "ffibench.c"),
                                        "-o", bench_o])
        # as consumers of preempt_static link: the blocking wrappers,
        # which plugin-built code references weakly
        run_build([args.cc, bench_o, foreign_o, args.lib_static, "-lffi",
                   "-Wl,--undefined=preempt_blocking_anchor", "-pthread",
                   "-o", exe])
    if not os.access(exe, os.X_OK):
        die("%s is missing (run without --no-build)" % exe)
    if args.no_go:
        return exe, None, notes
    if not shutil.which("go"):
        notes.append("go: skipped: 'go' not found (apt-get install -y "
                     "golang-go)")
        return exe, None, notes
    if not args.no_build:
        run_build(["go", "test", "-c", "-o", gobin, "."], go_env(args),
                  cwd=os.path.join(HERE, "go"))
    if not os.access(gobin, os.X_OK):
        die("%s is missing (run without --no-build)" % gobin)
    return exe, gobin, notes


def run_c(args, exe, errors):
    """One pass of ffibench: {variant: [(ns, share)]}."""
    cmd = [exe, "-s", str(args.samples), "-m", str(args.sample_ms)]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = {}
    if proc.returncode != 0:
        errors.append("%s: exit status %d: %s" % (
            shlex.join(cmd), proc.returncode,
            proc.stderr.decode(errors="replace").strip()[-500:]))
        return out
    for line in proc.stdout.decode().splitlines():
        f = line.split()
        if len(f) == 4 and f[0] == "S":
            out.setdefault(f[1], []).append((float(f[2]), float(f[3])))
    return out


def run_go(args, gobin, errors):
    """One pass of the Go benchmarks: {variant: [(ns, share)]}."""
    cmd = [gobin, "-test.run", "^$", "-test.bench", ".",
           "-test.benchtime", "%gms" % args.sample_ms,
           "-test.count", str(args.samples)]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          env=go_env(args))
    text = proc.stdout.decode(errors="replace")
    out = {}
    if proc.returncode != 0:
        errors.append("%s: exit status %d: %s" % (
            shlex.join(cmd), proc.returncode, text.strip()[-500:]))
        return out
    for m in GO_RE.finditer(text):
        share = float(m.group(3)) if m.group(3) else 1.0
        out.setdefault(m.group(1), []).append((float(m.group(2)), share))
    return out


def instructions(args, exe, variant, errors):
    """Instructions per call of one variant (cachegrind), or None."""
    counts = []
    for n in (args.instr_calls, 3 * args.instr_calls):
        cmd = ["valgrind", "--tool=cachegrind", "--cache-sim=no",
               "--cachegrind-out-file=/dev/null", exe, "-n", str(n),
               "-v", variant]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
        err = proc.stderr.decode(errors="replace")
        m = re.search(r"I\s+refs:\s+([\d,]+)", err)
        if proc.returncode != 0 or not m:
            errors.append("%s: exit status %d: %s" % (
                shlex.join(cmd), proc.returncode, err.strip()[-500:]))
            return None
        counts.append(int(m.group(1).replace(",", "")))
    return (counts[1] - counts[0]) / (2 * args.instr_calls)


def percentile(sorted_xs, q):
    if not sorted_xs:
        return None
    i = min(len(sorted_xs) - 1, max(0, int(round(q * (len(sorted_xs) - 1)))))
    return sorted_xs[i]


def versions(args, with_go):
    parts = []
    v = subprocess.run([args.cc, "--version"], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL).stdout.decode().split("\n")
    if v and v[0]:
        parts.append(v[0].strip())
    if shutil.which("dpkg-query"):
        v = subprocess.run(["dpkg-query", "-W", "-f", "${Version}",
                            "libffi-dev"], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL).stdout.decode()
        if v:
            parts.append("libffi " + v)
    if with_go:
        v = subprocess.run(["go", "version"], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL).stdout.decode().split()
        if len(v) >= 3:
            parts.append(v[2])
    return ", ".join(parts)


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(REPO, "build"),
                    help="the project's build tree (lib/preempt.so, "
                         "lib/libpreempt.a)")
    ap.add_argument("--build-dir",
                    help="where the benchmark is built (BUILD/bench/ffi)")
    ap.add_argument("--passes", type=int, default=5,
                    help="runs of each program, alternating (default 5)")
    ap.add_argument("--samples", type=int, default=10,
                    help="samples of each variant per pass (default 10)")
    ap.add_argument("--sample-ms", type=float, default=10,
                    help="length of one sample in ms (default 10)")
    ap.add_argument("--min-share", type=float, default=0.97,
                    help="discard a sample whose thread was on a CPU for "
                         "less than this share of its wall time (0.97)")
    ap.add_argument("--no-go", action="store_true", help="leave Go out")
    ap.add_argument("--no-valgrind", action="store_true",
                    help="no instruction counts")
    ap.add_argument("--instr-calls", type=int, default=20000,
                    help="calls per cachegrind run (and 3x that)")
    ap.add_argument("--cc", default="clang-19", help="C compiler (clang-19)")
    ap.add_argument("--cflags", default="",
                    help="extra C flags for ffibench.c and foreign.c")
    ap.add_argument("--markdown", action="store_true",
                    help="print the tables in Markdown")
    ap.add_argument("--no-build", action="store_true",
                    help="reuse the executables in --build-dir")
    args = ap.parse_args(join_cflags(sys.argv[1:]))
    if args.passes < 1 or args.samples < 1 or args.sample_ms <= 0:
        die("--passes and --samples must be at least 1, --sample-ms "
            "positive")
    args.cflags = shlex.split(args.cflags)
    args.build = os.path.abspath(args.build)
    args.build_dir = os.path.abspath(args.build_dir or os.path.join(
        args.build, "bench", "ffi"))
    args.plugin = os.path.join(args.build, "lib", "preempt.so")
    args.lib_static = os.path.join(args.build, "lib", "libpreempt.a")
    os.makedirs(args.build_dir, exist_ok=True)

    print("building into %s" % args.build_dir)
    exe, gobin, notes = build(args)
    for n in notes:
        print("  " + n)
    errors = []
    started = datetime.datetime.now().astimezone()
    load_before = os.getloadavg()
    samples = {}
    for p in range(args.passes):
        order = [("c", exe), ("go", gobin)]
        if p % 2:
            order.reverse()
        for kind, prog in order:
            if prog is None:
                continue
            res = run_c(args, prog, errors) if kind == "c" else \
                run_go(args, prog, errors)
            for k, v in res.items():
                samples.setdefault(k, []).extend(v)
        kept = sum(1 for v in samples.values() for _, s in v
                   if s >= args.min_share)
        total = sum(len(v) for v in samples.values())
        print("  pass %d: %d of %d samples kept so far" % (p + 1, kept, total),
              flush=True)
        if errors:
            break

    instr = {}
    if not args.no_valgrind and not errors:
        if not shutil.which("valgrind"):
            notes.append("instructions: skipped: 'valgrind' not found "
                         "(apt-get install -y valgrind)")
        else:
            print("  counting instructions (cachegrind)", flush=True)
            for v, _ in C_VARIANTS:
                instr[v] = instructions(args, exe, v, errors)

    # ---- summary
    summary = {}
    for v, xs in samples.items():
        kept = sorted(ns for ns, s in xs if s >= args.min_share)
        summary[v] = {
            "median": statistics.median(kept) if kept else None,
            "p10": percentile(kept, 0.10), "p90": percentile(kept, 0.90),
            "kept": len(kept), "all": len(xs)}

    def med(v):
        return summary.get(v, {}).get("median")

    def diff(a, b):
        return None if med(a) is None or med(b) is None else med(a) - med(b)

    def idiff(a, b):
        return None if instr.get(a) is None or instr.get(b) is None else \
            instr[a] - instr[b]

    def base(v):  # the bare ffi_call of the same signature
        return med("ffi8") if v.endswith("8") else med("ffi")

    rows = []
    for v, what in C_VARIANTS + (GO_VARIANTS if gobin else []):
        s = summary.get(v)
        if not s:
            rows.append([v, what, "no samples", "", "", "", ""])
            continue
        rows.append([v, what, fmt(s["median"], ".1f"),
                     "%s-%s" % (fmt(s["p10"], ".1f"), fmt(s["p90"], ".1f")),
                     "%d/%d" % (s["kept"], s["all"]),
                     fmt(ratio(s["median"], base(v)), ".2f"),
                     fmt(instr.get(v), ".0f")])
    derived = [
        ("call - leaf", "the foreign call's transition (enter + exit)",
         diff("call", "leaf"), idiff("call", "leaf")),
        ("call8 - leaf8", "the same, libffi path",
         diff("call8", "leaf8"), idiff("call8", "leaf8")),
        ("transition - c", "the public enter/exit_blocking pair",
         diff("transition", "c"), idiff("transition", "c")),
        ("fences - c", "floor: two xchg", diff("fences", "c"),
         idiff("fences", "c")),
        ("leaf - c", "the API's direct path, no transition",
         diff("leaf", "c"), idiff("leaf", "c")),
        ("leaf8 - ffi8", "the API over ffi_call, no transition",
         diff("leaf8", "ffi8"), idiff("leaf8", "ffi8")),
        ("cb_roundtrip - call", "one callback (unblock, handler, block)",
         diff("cb_roundtrip", "call"), idiff("cb_roundtrip", "call")),
    ]
    if gobin:
        derived += [
            ("CgoCall - GoCall", "go: what a cgo call adds",
             diff("CgoCall", "GoCall"), None),
            ("CgoCallback - CgoCall", "go: one callback",
             diff("CgoCallback", "CgoCall"), None),
        ]
    for name, what, d, i in derived:
        rows.append([name, what, fmt(d, ".1f"), "", "", "", fmt(i, ".0f")])

    print()
    print("foreign calls and callbacks, %s, %d pass%s x %d samples of "
          "~%g ms" % (started.strftime("%Y-%m-%d %H:%M %Z"), args.passes,
                      "es" if args.passes > 1 else "", args.samples,
                      args.sample_ms))
    print(machine_line())
    print(versions(args, gobin is not None))
    stamp = datetime.datetime.fromtimestamp(
        os.path.getmtime(args.lib_static)).astimezone().strftime(
            "%Y-%m-%d %H:%M:%S")
    print("runtime %s (modified %s)" % (args.lib_static, stamp))
    print("load average before the runs %.2f (1 min)" % load_before[0])
    for n in notes:
        print(n)
    print()
    print(table(rows, ["variant", "what", "ns/call", "p10-p90",
                       "samples kept", "/ffi_call", "instr/call"],
                args.markdown))
    print()
    print("ns/call: median of the kept samples (a sample is discarded when "
          "its thread was on a CPU for less than %g of its wall time); "
          "/ffi_call: over the bare ffi_call of the same signature (ffi, "
          "ffi8); instr/call: cachegrind; rows 'a - b': differences of "
          "medians" % args.min_share)

    # ---- targets
    trows = []
    for label, d in (("blocking transition of a foreign call (call - leaf)",
                      diff("call", "leaf")),
                     ("the same, libffi path (call8 - leaf8)",
                      diff("call8", "leaf8")),
                     ("public enter/exit_blocking pair (transition - c)",
                      diff("transition", "c"))):
        trows.append([label, fmt(d, ".1f") + " ns", "<= 10 ns",
                      "-" if d is None else "met" if d <= 10 else "MISSED"])
    for label, a, b in (("preempt_ffi_call / bare ffi_call", "call", "ffi"),
                        ("the same, 8 arguments (libffi path)", "call8",
                         "ffi8")):
        r = ratio(med(a), med(b))
        trows.append([label, fmt(r, ".2f"), "<= 1.5", "-" if r is None else
                      "met" if r <= 1.5 else "MISSED"])
    if gobin:
        a, b = med("cb_roundtrip"), med("CgoCallback")
        trows.append(["callback round trip / Go's",
                      "%s / %s ns" % (fmt(a, ".1f"), fmt(b, ".1f")),
                      "< 1", "-" if a is None or b is None else
                      "met (%.2f)" % (a / b) if a < b else
                      "MISSED (%.2f)" % (a / b)])
    print()
    print(table(trows, ["target", "measured", "target", "status"],
                args.markdown))
    return exit_status(errors)


if __name__ == "__main__":
    sys.exit(main())
