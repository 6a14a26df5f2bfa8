#!/usr/bin/env python3
"""plugin_cost: what the preempt plugin costs a program that does not use
the collector at all.

Every program of the corpus is built twice with clang-19 -O2, once plainly
and once with -fplugin=preempt.so (nothing else changes: the runtime is not
linked), and the driver prints, per program and as a geometric mean over
programs, the ratios plugin/plain of

    compile    wall time (and, as "compile cpu", user+system CPU time from
               os.wait4) of the compile steps (clang -c of every source;
               linking excluded), median of --compile-runs (3) builds;
               each source is compiled plainly and with the plugin in turn
    .text      size of the .text section of the executable (plus its
               shared library, if it has one)
    maps       for the plugin build: size of .note.preempt (the runtime's
               compact maps, allocated, loaded) and of .llvm_stackmaps
               (LLVM's format, kept non-allocated for llvm-readobj), each
               divided by the plugin build's .text size
    instr      instructions executed by the workload: the "I refs" total of
               valgrind --tool=cachegrind --cache-sim=no
    time       wall time of the workload, median of --runs (5) samples,
               each run under bench/tools/runexec (fork/exec/wait4).  A
               workload shorter than 0.25 s is repeated within a sample
               (the same number of times for both builds, plain and plugin
               runs interleaved one by one) and the sample is the mean per
               run; one untimed run of each build comes first

and checks that both builds print the same output (and expected.txt, when
there is one).

With --polls, a third build adds -fplugin-arg-preempt-polls (cooperative
polls at loop back-edges and at the entry of functions that may recurse),
and a second table gives what the polls add: instr, .text and time of the
polls build over the plugin build (and instr over the plain build).
--polls-mode loops|cycles builds with -fplugin-arg-preempt-polls=MODE
(default: the plugin's default, loops: only loops without any call).

Corpus:
  * test/corpus/*/build.json (see test/corpus/run_corpus.py for the format);
    the workload is running the program with no argument in its build
    directory, like run_corpus.py does.
  * lua: Lua 5.4 from Debian's source package (apt-get source lua5.4,
    cached in ~/.cache/preempt-bench), src/*.c except luac.c built into the
    lua interpreter; the workload is the scripts in bench/plugin_cost/lua/
    (each a separate run; their instructions and times are summed, and
    listed one by one in a second table), fetched and unpacked by
    scripts/debian_source.py.  If apt-get source fails for lack of deb-src
    entries it adds
        deb-src [signed-by=...] http://deb.debian.org/debian bookworm main
    to /etc/apt/sources.list.d/preempt-src.list and runs apt-get update
    (root only).  --lua-src DIR uses an unpacked Lua source tree instead.

Usage:
    run.py [--cflags FLAGS] [--no-valgrind] [--no-lua] [--no-corpus]
           [--polls] [--polls-mode loops|cycles]
           [--programs a,b,lua] [--runs 5] [--compile-runs 3]
           [--build-dir DIR] [--cache-dir DIR] [--lua-src DIR]
           [--plugin PATH] [--cc clang-19] [--markdown]

Targets (the plugin's budget): instr <= 1.05, .text <= 1.15,
compile <= 1.15, .note.preempt <= 1.0 x .text; with --polls, the polls'
instr (polls build / plugin build) <= 1.02.

Exit status: 0, or 1 if a build failed, a compiler crashed or the two
builds of a program printed different output.
"""

import argparse
import datetime
import glob
import json
import math
import os
import re
import shlex
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
REPO = os.path.dirname(BENCH)
CORPUS = os.path.join(REPO, "test", "corpus")
LUA_SCRIPTS = os.path.join(HERE, "lua")
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(BENCH, "tools"))
import runexec  # noqa: E402
from report import exit_status, join_cflags, ratio, table  # noqa: E402
sys.path.insert(0, os.path.join(REPO, "scripts"))
import debian_source  # noqa: E402

BASE_FLAGS = ["-O2", "-std=gnu11", "-Wall", "-Wextra", "-ffp-contract=off"]
LUA_FLAGS = ["-O2", "-std=gnu99", "-Wall", "-Wextra", "-DLUA_COMPAT_5_3",
             "-DLUA_USE_LINUX"]
RUN_TIMEOUT = 120
MIN_SAMPLE = 0.25  # seconds: short workloads are repeated within a sample
MAX_BATCH = 100
VALGRIND_TIMEOUT = 600
TARGETS = {"compile": 1.15, "text": 1.15, "instr": 1.05, "note": 1.0,
           "polls": 1.02}
POLLS_FLAG = "-fplugin-arg-preempt-polls"


class Error(Exception):
    pass


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---- ELF sections ----------------------------------------------------------

def elf_sections(path):
    """{name: size} of the sections of a 64-bit little-endian ELF file."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise Error("%s: not a 64-bit little-endian ELF file" % path)
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    headers = []
    for i in range(shnum):
        name, _type, _flags, _addr, off, size = struct.unpack_from(
            "<IIQQQQ", data, shoff + i * shentsize)
        headers.append((name, off, size))
    stroff = headers[shstrndx][1]
    out = {}
    for name, _off, size in headers:
        end = data.index(b"\0", stroff + name)
        out[data[stroff + name:end].decode()] = size
    return out


# ---- building ---------------------------------------------------------------

def run_tool(cmd, cwd=None):
    """Runs a compiler command; returns (wall seconds, CPU seconds of the
    command and its children, from os.wait4's rusage)."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT)
        _, status, ru = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode(errors="replace")
    if proc.returncode != 0:
        crash = proc.returncode < 0 or "PLEASE submit a bug report" in text \
            or "Stack dump:" in text
        raise Error("%s (exit status %d)\n  $ %s\n%s" % (
            "COMPILER CRASH" if crash else "build failed", proc.returncode,
            shlex.join(cmd), text[-4000:]))
    return elapsed, ru.ru_utime + ru.ru_stime


class Program:
    """One corpus entry: how to build it, what to run."""

    def __init__(self, name):
        self.name = name
        self.units = []      # (artifact name, [sources], cflags, link cmd fn)
        self.workloads = []  # (label, argv tail, stdin path)
        self.expected = None

    def build(self, args, dirs, order):
        """Builds both variants into dirs["plain"] and dirs["plugin"], each
        source compiled by the two in turn (in the given order) so that a
        busy period of the machine hits both alike.  Returns ({variant:
        compile wall seconds}, {variant: compile CPU seconds},
        {variant: [ELF paths]})."""
        for d in dirs.values():
            os.makedirs(d, exist_ok=True)
        compile_time = {v: 0.0 for v in dirs}
        compile_cpu = {v: 0.0 for v in dirs}
        artifacts = {v: [] for v in dirs}

        def flags_for(unit, v):
            flags = list(unit["cflags"]) + args.extra
            if v in ("plugin", "polls"):
                flags.append("-fplugin=" + args.plugin)
            if v == "polls":
                flags.append(args.polls_flag)
            return flags

        for unit in self.units:
            objs = {v: [] for v in dirs}
            for src in unit["sources"]:
                for v in order:
                    obj = os.path.join(dirs[v], "%s.%s.o" % (
                        unit["name"],
                        os.path.splitext(os.path.basename(src))[0]))
                    wall, cpu = run_tool(
                        [args.cc] + flags_for(unit, v) +
                        ["-c", src, "-o", obj], dirs[v])
                    compile_time[v] += wall
                    compile_cpu[v] += cpu
                    objs[v].append(obj)
            for v in order:
                target = os.path.join(dirs[v], unit["output"])
                run_tool([args.cc] + flags_for(unit, v) + unit["ldflags"] +
                         objs[v] + ["-o", target] + unit["libs"](dirs[v]),
                         dirs[v])
                artifacts[v].append(target)
        return compile_time, compile_cpu, artifacts

    def exe(self, out_dir):
        return os.path.join(out_dir, self.units[-1]["output"])


def corpus_programs():
    progs = []
    if not os.path.isdir(CORPUS):
        return progs
    for name in sorted(os.listdir(CORPUS)):
        d = os.path.join(CORPUS, name)
        cfg_path = os.path.join(d, "build.json")
        if not os.path.isfile(cfg_path):
            continue
        try:
            with open(cfg_path) as f:
                cfg = json.load(f)
            p = Program(name)
            flags = BASE_FLAGS + ["-I", d]
            for inc in cfg.get("includes", []):
                flags += ["-I", os.path.normpath(os.path.join(d, inc))]
            flags += cfg.get("cflags", [])
            exe_libs = list(cfg.get("libs", []))
            if "shared" in cfg:
                sh = cfg["shared"]
                p.units.append({
                    "name": "lib" + sh["name"],
                    "sources": [os.path.join(d, s) for s in sh["sources"]],
                    "cflags": flags + ["-fPIC"], "ldflags": ["-shared"],
                    "output": "lib%s.so" % sh["name"],
                    "libs": lambda out, l=list(sh.get("libs", [])): l})
                shname = sh["name"]
                p.units.append({
                    "name": name,
                    "sources": [os.path.join(d, s) for s in cfg["sources"]],
                    "cflags": flags, "ldflags": [], "output": name,
                    "libs": lambda out, l=exe_libs, s=shname:
                        ["-L", out, "-l" + s, "-Wl,-rpath," + out] + l})
            else:
                p.units.append({
                    "name": name,
                    "sources": [os.path.join(d, s) for s in cfg["sources"]],
                    "cflags": flags, "ldflags": [], "output": name,
                    "libs": lambda out, l=exe_libs: l})
            p.workloads.append((name, [], None))
            exp = os.path.join(d, "expected.txt")
            if os.path.isfile(exp):
                with open(exp, "rb") as f:
                    p.expected = f.read()
            progs.append(p)
        except (OSError, ValueError, KeyError, TypeError) as e:
            log("skipping corpus program %s: bad build.json: %s" % (name, e))
    return progs


# ---- Lua ----------------------------------------------------------------------

def fetch_lua(cache_dir):
    """Returns the src/ directory of Lua 5.4 from Debian's source package
    (scripts/debian_source.py fetches and unpacks it)."""
    hits = sorted(glob.glob(os.path.join(cache_dir, "*", "src", "lapi.c")))
    if hits:  # also a tree unpacked by hand, without its .dsc
        return os.path.dirname(hits[-1])
    try:
        tree = debian_source.fetch("lua5.4", cache_dir, marker="src/lapi.c")
    except debian_source.Error as e:
        raise Error("%s\n(or pass --lua-src DIR, an unpacked Lua 5.4 source "
                    "tree, or --no-lua)" % e)
    return os.path.join(tree, "src")


def lua_program(src, build_dir):
    gen = os.path.join(build_dir, "lua-include")
    with open(os.path.join(src, "luaconf.h")) as f:
        debian = "lua5.4-deb-multiarch.h" in f.read()
    if debian:
        # Debian's luaconf.h includes a header that debian/rules generates
        # (only package search paths depend on it).  Generated here, not in
        # the source tree.
        arch = "x86_64-linux-gnu"
        if shutil.which("dpkg-architecture"):
            proc = subprocess.run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"],
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL)
            if proc.returncode == 0 and proc.stdout.strip():
                arch = proc.stdout.decode().strip()
        os.makedirs(gen, exist_ok=True)
        with open(os.path.join(gen, "lua5.4-deb-multiarch.h"), "w") as f:
            f.write("#ifndef _LUA_DEB_MULTIARCH_\n#define _LUA_DEB_MULTIARCH_\n"
                    "#define DEB_HOST_MULTIARCH \"%s\"\n#endif\n" % arch)
    sources = sorted(s for s in glob.glob(os.path.join(src, "*.c"))
                     if os.path.basename(s) not in ("luac.c", "onelua.c",
                                                    "ltests.c"))
    if not any(os.path.basename(s) == "lua.c" for s in sources):
        raise Error("%s has no lua.c" % src)
    p = Program("lua")
    p.units.append({"name": "lua", "sources": sources,
                    "cflags": LUA_FLAGS + ["-I", src] +
                    (["-I", gen] if debian else []),
                    "ldflags": ["-Wl,-E"], "output": "lua",
                    "libs": lambda out: ["-lm", "-ldl"]})
    scripts = sorted(glob.glob(os.path.join(LUA_SCRIPTS, "*.lua")))
    if not scripts:
        raise Error("no Lua scripts in %s" % LUA_SCRIPTS)
    for s in scripts:
        p.workloads.append(("lua/" + os.path.basename(s)[:-4], [s], None))
    return p


# ---- measuring ----------------------------------------------------------------

I_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def count_instructions(cmd, cwd):
    proc = subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no",
         "--cachegrind-out-file=/dev/null"] + cmd,
        cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, timeout=VALGRIND_TIMEOUT)
    err = proc.stderr.decode(errors="replace")
    m = I_REFS.search(err)
    if proc.returncode != 0 or not m:
        raise Error("valgrind failed on %s (exit %d):\n%s" % (
            shlex.join(cmd), proc.returncode, err[-2000:]))
    return int(m.group(1).replace(",", ""))


def geomean(xs):
    xs = [x for x in xs if x is not None and x > 0]
    if not xs:
        return None
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def fmt(x, spec=".3f"):
    return "-" if x is None else format(x, spec)


def measure(args, prog):
    """Builds and measures one program; returns a dict of results."""
    res = {"name": prog.name, "errors": [], "workloads": {}}
    variants = args.variants
    dirs = {v: os.path.join(args.build_dir, prog.name, v) for v in variants}
    ctimes = {v: [] for v in variants}
    ccpu = {v: [] for v in variants}
    artifacts = {}

    def rotated(i):  # each variant first in turn
        k = i % len(variants)
        return variants[k:] + variants[:k]

    for i in range(args.compile_runs):
        t, c, artifacts = prog.build(args, dirs, rotated(i))
        for v in t:
            ctimes[v].append(t[v])
            ccpu[v].append(c[v])
    res["compile"] = {v: statistics.median(ts) for v, ts in ctimes.items()}
    res["compile_cpu"] = {v: statistics.median(ts) for v, ts in ccpu.items()}
    sizes = {}
    for v, arts in artifacts.items():
        s = {"text": 0, "note": 0, "stackmaps": 0}
        for a in arts:
            secs = elf_sections(a)
            s["text"] += secs.get(".text", 0)
            s["note"] += secs.get(".note.preempt", 0)
            s["stackmaps"] += secs.get(".llvm_stackmaps", 0)
        sizes[v] = s
    res["sizes"] = sizes

    for label, argv, stdin in prog.workloads:
        w = {"instr": {}, "time": {}}
        outputs = {}
        times = {v: [] for v in variants}

        def run1(v):
            r = runexec.run(args.runexec, [prog.exe(dirs[v])] + argv,
                            timeout=RUN_TIMEOUT, cwd=dirs[v],
                            stdin_path=stdin)
            if r.status != 0:
                raise Error("%s (%s): %s\n%s" % (
                    label, v, r.describe_status(),
                    r.stderr.decode(errors="replace")[-2000:]))
            outputs.setdefault(v, r.stdout)
            if outputs[v] != r.stdout:
                raise Error("%s (%s): output changes from run to run"
                            % (label, v))
            return r.wall

        try:
            # warm-up (page cache, CPU frequency) and calibration: a timed
            # sample repeats the workload until it lasts MIN_SAMPLE seconds
            # or so, so that millisecond-long programs are not all noise
            for v in variants[1:]:
                run1(v)
            t = run1("plain")
            batch = max(1, min(MAX_BATCH,
                               math.ceil(MIN_SAMPLE / max(t, 1e-4))))
            w["batch"] = batch
            for i in range(args.runs):
                acc = {v: 0.0 for v in variants}
                # runs of the builds interleaved one by one, so that a
                # busy period of a shared machine hits them alike
                for k in range(batch):
                    for v in rotated(i + k):
                        acc[v] += run1(v)
                for v in acc:
                    times[v].append(acc[v] / batch)
        except Error as e:
            res["errors"].append(str(e))
        for v in variants:
            w["time"][v] = statistics.median(times[v]) if times[v] else None
        for v in variants[1:]:
            if outputs.get("plain") is not None and \
                    outputs.get(v) is not None and \
                    outputs["plain"] != outputs[v]:
                res["errors"].append("%s: WRONG OUTPUT: the %s build prints "
                                     "something else than the plain build"
                                     % (label, v))
        if prog.expected is not None:
            for v in variants:
                if outputs.get(v) is not None and outputs[v] != prog.expected:
                    res["errors"].append("%s (%s): output differs from "
                                         "expected.txt" % (label, v))
        if args.valgrind:
            for v in variants:
                try:
                    w["instr"][v] = count_instructions(
                        [prog.exe(dirs[v])] + argv, dirs[v])
                except (Error, subprocess.TimeoutExpired) as e:
                    res["errors"].append("%s (%s): %s" % (label, v, e))
                    w["instr"][v] = None
        res["workloads"][label] = w
        log("    %-22s time %s / %s s%s" % (
            label, fmt(w["time"]["plain"]), fmt(w["time"]["plugin"]),
            "" if not args.valgrind else ", instr %s" % " / ".join(
                str(w["instr"].get(v)) for v in variants)))
    return res


def total(res, key, variant):
    xs = [w[key].get(variant) for w in res["workloads"].values()]
    if not xs or any(x is None for x in xs):
        return None
    return sum(xs)


def main():
    ap = argparse.ArgumentParser(
        description="Cost of the preempt plugin: compile time, code size, "
                    "map size, instructions, run time (plugin/plain).",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--cflags", default="",
                    help="extra flags for both builds (e.g. \"-O3 "
                         "-march=native\"); an -O flag overrides -O2")
    ap.add_argument("--no-valgrind", dest="valgrind", action="store_false",
                    help="skip instruction counts (cachegrind)")
    ap.add_argument("--no-lua", action="store_true", help="corpus only")
    ap.add_argument("--no-corpus", action="store_true", help="Lua only")
    ap.add_argument("--programs", default="",
                    help="comma-separated names (corpus directories, lua)")
    ap.add_argument("--runs", type=int, default=5,
                    help="timed runs of each workload (default 5)")
    ap.add_argument("--compile-runs", type=int, default=3,
                    help="builds timed per variant (default 3)")
    ap.add_argument("--build-dir",
                    default=os.path.join(REPO, "build", "bench",
                                         "plugin_cost"))
    ap.add_argument("--cache-dir",
                    default=os.path.join(os.path.expanduser("~"), ".cache",
                                         "preempt-bench"),
                    help="where the Lua source package is unpacked")
    ap.add_argument("--lua-src", help="an unpacked Lua 5.4 src/ directory "
                                      "(instead of apt-get source)")
    ap.add_argument("--plugin",
                    default=os.path.join(REPO, "build", "lib", "preempt.so"))
    ap.add_argument("--cc", default="clang-19")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--polls", action="store_true",
                    help="also build with %s and report what the polls "
                         "cost over the plugin build" % POLLS_FLAG)
    ap.add_argument("--polls-mode", choices=["loops", "cycles"],
                    help="with --polls: %s=MODE (default: the plugin's "
                         "default mode)" % POLLS_FLAG)
    args = ap.parse_args(join_cflags(sys.argv[1:]))
    if args.polls_mode and not args.polls:
        ap.error("--polls-mode needs --polls")
    args.polls_flag = POLLS_FLAG + (
        "=" + args.polls_mode if args.polls_mode else "")
    args.variants = ["plain", "plugin"] + (["polls"] if args.polls else [])

    if args.runs < 1 or args.compile_runs < 1:
        ap.error("--runs and --compile-runs must be at least 1")
    args.plugin = os.path.abspath(args.plugin)
    if not os.path.isfile(args.plugin):
        sys.exit("error: plugin not found: %s (build it with 'ninja -C "
                 "%s/build')" % (args.plugin, REPO))
    if not shutil.which(args.cc):
        sys.exit("error: compiler '%s' not found (apt-get install -y "
                 "clang-19, or --cc)" % args.cc)
    if args.valgrind and not shutil.which("valgrind"):
        sys.exit("error: valgrind not found (apt-get install -y valgrind), "
                 "or pass --no-valgrind")
    args.extra = shlex.split(args.cflags)
    args.build_dir = os.path.abspath(args.build_dir)
    os.makedirs(args.build_dir, exist_ok=True)
    args.runexec = runexec.build(args.cc, args.build_dir)
    wanted = [p for p in args.programs.split(",") if p]

    progs = [] if args.no_corpus else corpus_programs()
    errors = []
    if not args.no_lua and (not wanted or "lua" in wanted):
        try:
            src = os.path.abspath(args.lua_src) if args.lua_src else \
                fetch_lua(args.cache_dir)
            progs.append(lua_program(src, args.build_dir))
            log("Lua source: %s" % src)
        except Error as e:
            errors.append("lua: %s" % e)
            log("error: lua: %s" % e)
    if wanted:
        known = {p.name for p in progs}
        for w in wanted:
            if w not in known:
                sys.exit("error: unknown program %r (known: %s)"
                         % (w, ", ".join(sorted(known))))
        progs = [p for p in progs if p.name in wanted]

    started = datetime.datetime.now().astimezone()
    plugin_stamp = datetime.datetime.fromtimestamp(
        os.path.getmtime(args.plugin)).astimezone().strftime(
            "%Y-%m-%d %H:%M:%S")
    results = []
    for p in progs:
        log("%s:" % p.name)
        try:
            r = measure(args, p)
        except Error as e:
            errors.append("%s: %s" % (p.name, e))
            log("  FAILED: %s" % str(e).splitlines()[0])
            continue
        results.append(r)
        errors += ["%s: %s" % (p.name, e) for e in r["errors"]]

    # ---- main table
    rows = []
    cols = {"compile": [], "compile_cpu": [], "text": [], "note": [], "stackmaps": [],
            "instr": [], "time": []}
    for r in results:
        s = r["sizes"]
        vals = {
            "compile": ratio(r["compile"]["plugin"], r["compile"]["plain"]),
            "compile_cpu": ratio(r["compile_cpu"]["plugin"],
                                 r["compile_cpu"]["plain"]),
            "text": ratio(s["plugin"]["text"], s["plain"]["text"]),
            "note": ratio(s["plugin"]["note"], s["plugin"]["text"]),
            "stackmaps": ratio(s["plugin"]["stackmaps"], s["plugin"]["text"]),
            "instr": ratio(total(r, "instr", "plugin"),
                           total(r, "instr", "plain")),
            "time": ratio(total(r, "time", "plugin"),
                          total(r, "time", "plain")),
        }
        for k, v in vals.items():
            cols[k].append(v)
        rows.append([
            r["name"],
            fmt(vals["compile"], ".2f"),
            fmt(vals["compile_cpu"], ".2f"),
            "%d" % s["plain"]["text"], fmt(vals["text"], ".3f"),
            "%d" % s["plugin"]["note"], fmt(vals["note"], ".3f"),
            "%d" % s["plugin"]["stackmaps"], fmt(vals["stackmaps"], ".3f"),
            fmt(total(r, "instr", "plain"), ".3e") if args.valgrind else "-",
            fmt(vals["instr"], ".4f"),
            fmt(vals["time"], ".3f"),
        ])
    gm = {k: geomean(v) for k, v in cols.items()}
    rows.append(["geomean", fmt(gm["compile"], ".2f"),
                 fmt(gm["compile_cpu"], ".2f"), "",
                 fmt(gm["text"], ".3f"), "", fmt(gm["note"], ".3f"), "",
                 fmt(gm["stackmaps"], ".3f"), "", fmt(gm["instr"], ".4f"),
                 fmt(gm["time"], ".3f")])
    header = ["program", "compile", "compile cpu", ".text B", ".text", "note B",
              "note/.text", "stackmaps B", "stackmaps/.text", "instr plain",
              "instr", "time"]
    print()
    print("plugin cost, ratios plugin/plain (%s; %s -O2%s; compile: median "
          "of %d, time: median of %d)" % (
              started.strftime("%Y-%m-%d %H:%M %Z"), args.cc,
              (" " + shlex.join(args.extra)) if args.extra else "",
              args.compile_runs, args.runs))
    print("  plugin %s (modified %s)" % (args.plugin, plugin_stamp))
    print("  .text B, note B, stackmaps B: bytes (plain .text; plugin "
          "build's .note.preempt and .llvm_stackmaps); instr plain: "
          "count of the plain build")
    print()
    print(table(rows, header, args.markdown))

    # ---- Lua per script
    lua = [r for r in results if r["name"] == "lua"]
    if lua:
        lrows = []
        for label, w in lua[0]["workloads"].items():
            lrows.append([
                label,
                fmt(w["instr"].get("plain"), ".3e") if args.valgrind else "-",
                fmt(ratio(w["instr"].get("plugin"), w["instr"].get("plain")),
                    ".4f"),
                fmt(w["time"]["plain"], ".3f"),
                fmt(ratio(w["time"]["plugin"], w["time"]["plain"]), ".3f")])
        print()
        print("Lua workload, per script")
        print()
        print(table(lrows, ["script", "instr plain", "instr ratio",
                            "time plain s", "time ratio"], args.markdown))

    pgm = None
    if args.polls:
        prows, pcols = [], {"instr": [], "instr_plain": [], "text": [],
                            "time": []}
        for r in results:
            s = r["sizes"]
            vals = {"instr": ratio(total(r, "instr", "polls"),
                                   total(r, "instr", "plugin")),
                    "instr_plain": ratio(total(r, "instr", "polls"),
                                         total(r, "instr", "plain")),
                    "text": ratio(s["polls"]["text"], s["plugin"]["text"]),
                    "time": ratio(total(r, "time", "polls"),
                                  total(r, "time", "plugin"))}
            for k, v in vals.items():
                pcols[k].append(v)
            prows.append([r["name"], fmt(vals["instr"], ".4f"),
                          fmt(vals["instr_plain"], ".4f"),
                          fmt(vals["text"], ".3f"), fmt(vals["time"], ".3f")])
        pgm = {k: geomean(v) for k, v in pcols.items()}
        prows.append(["geomean", fmt(pgm["instr"], ".4f"),
                      fmt(pgm["instr_plain"], ".4f"), fmt(pgm["text"], ".3f"),
                      fmt(pgm["time"], ".3f")])
        for label, w in (lua[0]["workloads"].items() if lua else []):
            prows.append([label, fmt(ratio(w["instr"].get("polls"),
                                           w["instr"].get("plugin")), ".4f"),
                          fmt(ratio(w["instr"].get("polls"),
                                    w["instr"].get("plain")), ".4f"), "",
                          fmt(ratio(w["time"]["polls"], w["time"]["plugin"]),
                              ".3f")])
        print()
        print("cooperative polls (%s): ratios polls build / plugin build"
              % args.polls_flag)
        print()
        print(table(prows, ["program", "instr", "instr vs plain", ".text",
                            "time"], args.markdown))

    print()
    checks = [("instructions", gm["instr"], TARGETS["instr"]),
              (".text", gm["text"], TARGETS["text"]),
              ("compile time", gm["compile"], TARGETS["compile"]),
              (".note.preempt/.text", gm["note"], TARGETS["note"])]
    if pgm:
        checks.append(("polls' instructions", pgm["instr"], TARGETS["polls"]))
    for what, got, limit in checks:
        if got is None:
            print("target %-20s <= %.2f: not measured" % (what, limit))
        else:
            print("target %-20s <= %.2f: %.3f %s" % (
                what, limit, got, "met" if got <= limit else "MISSED"))

    return exit_status(errors)


if __name__ == "__main__":
    sys.exit(main())
