#!/usr/bin/env python3
"""Compile-and-run corpus: proves that the preempt plugin does not change
what a program does.

Every subdirectory of test/corpus/ that holds a build.json is one program.
For each program the runner builds these variants

    O0          clang -O0
    O0+plugin   clang -O0 -fplugin=PATH
    O2          clang -O2
    O2+plugin   clang -O2 -fplugin=PATH

all with -std=gnu11 -Wall -Wextra -Werror -ffp-contract=off, runs each one,
and checks that its stdout is byte-identical to the program's expected.txt
(so all four variants agree with each other too).  A variant fails on a
compile error, a compiler crash, a non-zero exit status, a signal, a timeout
or any output difference (a diff is shown).

Usage:
    run_corpus.py --plugin build/lib/preempt.so [--clang clang-19]
                  [--out DIR] [--cflags "-O3 ..."] [-j N] [program ...]

    --plugin PATH   the plugin (default: build/lib/preempt.so next to the
                    source tree, if present)
    --clang CC      compiler driver (default: clang-19)
    --out DIR       where binaries go (default: a fresh temporary directory,
                    removed afterwards unless --keep)
    --cflags FLAGS  extra flags, appended after the variant's own flags.
                    If they contain an -O option (-O1, -O3, -Os, -Oz, ...)
                    that level replaces the default pair -O0/-O2, giving two
                    variants: LEVEL and LEVEL+plugin.  Example:
                        run_corpus.py --plugin preempt.so --cflags=-O3
    -j N            parallel compile/run jobs (default: number of CPUs)
    --regenerate    write expected.txt from the plain -O0 (or first level)
                    build instead of checking it; then check it by hand
    program ...     run only these programs (directory names)

build.json (per program):
    {"sources": ["a.c", "b.c"],          files of the executable
     "libs": ["-lm", "-lpthread"],       link flags of the executable
     "cflags": ["-fexceptions"],         optional extra compile flags
     "includes": ["../../include"],      optional, relative to the program
     "shared": {"name": "foo",           optional: lib<name>.so, built with
                "sources": ["foo.c"],    -fPIC -shared from these files;
                "libs": []}}             the executable links to it with
                                         an rpath to its directory

Exit status: 0 if every variant of every selected program passed, 1 if any
failed, 2 on a usage error.
"""

import argparse
import concurrent.futures
import difflib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile

CORPUS_DIR = os.path.dirname(os.path.abspath(__file__))
# -ffp-contract=off: with -march flags that enable FMA, contraction would
# change floating point results and break the comparison with expected.txt
# for reasons that have nothing to do with the plugin.
BASE_FLAGS = ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off"]
DEFAULT_LEVELS = ["-O0", "-O2"]
COMPILE_TIMEOUT = 300
RUN_TIMEOUT = 20
MAX_DIFF_LINES = 60


def discover_programs():
    names = []
    for entry in sorted(os.listdir(CORPUS_DIR)):
        if os.path.isfile(os.path.join(CORPUS_DIR, entry, "build.json")):
            names.append(entry)
    return names


def load_config(name):
    with open(os.path.join(CORPUS_DIR, name, "build.json")) as f:
        cfg = json.load(f)
    cfg.setdefault("libs", [])
    cfg.setdefault("cflags", [])
    cfg.setdefault("includes", [])
    if "shared" in cfg:
        cfg["shared"].setdefault("libs", [])
    return cfg


def signal_name(rc):
    try:
        return signal.Signals(-rc).name
    except ValueError:
        return "signal %d" % -rc


def describe_status(rc):
    if rc < 0:
        return "killed by %s" % signal_name(rc)
    return "exit status %d" % rc


class Failure(Exception):
    """A variant failed; the message says how."""


def run_tool(cmd, what, cwd):
    try:
        proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT,
                              timeout=COMPILE_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise Failure("%s timed out after %ds\n  $ %s"
                      % (what, COMPILE_TIMEOUT, shlex.join(cmd)))
    except OSError as e:
        raise Failure("%s: cannot run %s: %s" % (what, cmd[0], e))
    if proc.returncode != 0:
        out = proc.stdout.decode(errors="replace")
        crashed = proc.returncode < 0 or "PLEASE submit a bug report" in out \
            or "Stack dump:" in out
        kind = "COMPILER CRASH" if crashed else "compile error"
        raise Failure("%s (%s, %s)\n  $ %s\n%s"
                      % (kind, what, describe_status(proc.returncode),
                         shlex.join(cmd), indent(squeeze(out))))


def squeeze(text):
    """Collapses runs of identical lines (one diagnostic repeated for every
    call site) into one line with a count."""
    out, prev, count = [], None, 0
    for line in text.rstrip("\n").split("\n") + [None]:
        if line == prev:
            count += 1
            continue
        if prev is not None:
            out.append(prev + ("  [x%d]" % count if count > 1 else ""))
        prev, count = line, 1
    return "\n".join(out)


def indent(text, prefix="    "):
    return "".join(prefix + line + "\n" for line in text.rstrip("\n").split("\n"))


class Variant:
    def __init__(self, level, plugin):
        self.level = level
        self.plugin = plugin

    @property
    def name(self):
        return self.level.lstrip("-") + ("+plugin" if self.plugin else "")


def build(args, name, cfg, variant):
    """Builds one variant; returns the executable's path."""
    src_dir = os.path.join(CORPUS_DIR, name)
    out_dir = os.path.join(args.out, name, variant.name)
    os.makedirs(out_dir, exist_ok=True)
    flags = [variant.level] + BASE_FLAGS + ["-I", src_dir]
    for inc in cfg["includes"]:
        flags += ["-I", os.path.normpath(os.path.join(src_dir, inc))]
    flags += cfg["cflags"]
    if variant.plugin:
        flags.append("-fplugin=" + args.plugin)
    flags += args.extra
    link = []
    if "shared" in cfg:
        sh = cfg["shared"]
        lib = os.path.join(out_dir, "lib%s.so" % sh["name"])
        cmd = [args.clang] + flags + ["-fPIC", "-shared"] + \
            [os.path.join(src_dir, s) for s in sh["sources"]] + \
            ["-o", lib] + sh["libs"]
        run_tool(cmd, "building lib%s.so" % sh["name"], out_dir)
        link = ["-L", out_dir, "-l" + sh["name"], "-Wl,-rpath," + out_dir]
    exe = os.path.join(out_dir, name)
    cmd = [args.clang] + flags + \
        [os.path.join(src_dir, s) for s in cfg["sources"]] + \
        ["-o", exe] + link + cfg["libs"]
    run_tool(cmd, "building %s" % name, out_dir)
    return exe


def run_exe(exe, name):
    try:
        proc = subprocess.run([exe], cwd=os.path.dirname(exe),
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise Failure("%s timed out after %ds" % (name, RUN_TIMEOUT))
    err = proc.stderr.decode(errors="replace")
    if proc.returncode != 0:
        msg = "%s: %s" % (name, describe_status(proc.returncode))
        if proc.returncode < 0:
            msg = "CRASH: " + msg
        if err:
            msg += "\n  stderr:\n" + indent(err)
        tail = proc.stdout.decode(errors="replace").splitlines()[-10:]
        if tail:
            msg += "\n  last lines of stdout:\n" + indent("\n".join(tail))
        raise Failure(msg)
    return proc.stdout


def diff_text(expected, actual, from_name, to_name):
    lines = list(difflib.unified_diff(
        expected.decode(errors="replace").splitlines(keepends=True),
        actual.decode(errors="replace").splitlines(keepends=True),
        from_name, to_name))
    if len(lines) > MAX_DIFF_LINES:
        lines = lines[:MAX_DIFF_LINES] + ["... (%d more diff lines)\n"
                                          % (len(lines) - MAX_DIFF_LINES)]
    return "".join(l if l.endswith("\n") else l + "\n\\ no newline\n"
                   for l in lines)


def do_variant(args, name, cfg, variant):
    """Returns (variant, stdout bytes or None, failure message or None)."""
    try:
        exe = build(args, name, cfg, variant)
        return variant, run_exe(exe, name), None
    except Failure as f:
        return variant, None, str(f)


def check_program(args, name, results):
    """Prints one line per variant; returns the labels of failed ones."""
    expected_path = os.path.join(CORPUS_DIR, name, "expected.txt")
    outputs = {v.name: out for v, out, _ in results}
    if args.regenerate:
        first = results[0]
        if first[1] is not None:
            with open(expected_path, "wb") as f:
                f.write(first[1])
            print("wrote %s from %s" % (expected_path, first[0].name))
    expected = None
    if os.path.exists(expected_path):
        with open(expected_path, "rb") as f:
            expected = f.read()
    failures = []
    for variant, out, err in results:
        label = "%s %s" % (name, variant.name)
        if err is None and expected is None:
            err = "no expected.txt (create it with --regenerate)"
        if err is None and out != expected:
            err = "output differs from expected.txt\n" + indent(
                diff_text(expected, out, "expected.txt", variant.name), "  ")
            twin = variant.level.lstrip("-")
            if variant.plugin and outputs.get(twin) is not None \
                    and outputs[twin] != out:
                err += "  (and from the %s build without the plugin)\n" % twin
        if err is None:
            print("PASS %s" % label)
        else:
            failures.append(label)
            print("FAIL %s: %s" % (label, err.rstrip("\n")))
    sys.stdout.flush()
    return failures


def parse_args():
    p = argparse.ArgumentParser(
        description="Build and run the preempt corpus with and without the "
                    "plugin; outputs must match expected.txt.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clang", default="clang-19")
    default_plugin = os.path.join(CORPUS_DIR, "..", "..", "build", "lib",
                                  "preempt.so")
    p.add_argument("--plugin", default=None,
                   help="preempt.so (default: %s)" % os.path.normpath(
                       default_plugin))
    p.add_argument("--out", default=None,
                   help="build directory (default: temporary)")
    p.add_argument("--keep", action="store_true",
                   help="keep the temporary build directory")
    p.add_argument("--cflags", default="",
                   help="extra compiler flags; an -O flag here replaces "
                        "the -O0/-O2 pair")
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 2)
    p.add_argument("--regenerate", action="store_true",
                   help="rewrite expected.txt from the first plain variant")
    p.add_argument("programs", nargs="*")
    args = p.parse_args()

    if args.plugin is None:
        args.plugin = os.path.normpath(default_plugin)
    args.plugin = os.path.abspath(args.plugin)
    if not os.path.isfile(args.plugin):
        p.error("plugin not found: %s" % args.plugin)
    if shutil.which(args.clang) is None and not os.path.isfile(args.clang):
        p.error("compiler not found: %s" % args.clang)

    args.extra = shlex.split(args.cflags)
    levels = [f for f in args.extra if f.startswith("-O")]
    if levels:
        # the last -O wins in clang; build just that level
        args.levels = [levels[-1]]
        args.extra = [f for f in args.extra if not f.startswith("-O")]
    else:
        args.levels = list(DEFAULT_LEVELS)

    known = discover_programs()
    for name in args.programs:
        if name not in known:
            p.error("unknown program '%s' (known: %s)"
                    % (name, ", ".join(known)))
    args.programs = args.programs or known
    return args


def main():
    args = parse_args()
    tmp = None
    if args.out is None:
        tmp = tempfile.mkdtemp(prefix="preempt-corpus-")
        args.out = tmp
    args.out = os.path.abspath(args.out)
    os.makedirs(args.out, exist_ok=True)

    variants = [Variant(level, plugin)
                for level in args.levels for plugin in (False, True)]
    print("corpus: %d programs, variants %s, clang %s, plugin %s%s"
          % (len(args.programs), " ".join(v.name for v in variants),
             args.clang, args.plugin,
             ", extra flags " + shlex.join(args.extra) if args.extra else ""))
    sys.stdout.flush()

    failures = []
    try:
        configs = {}
        for name in args.programs:
            try:
                configs[name] = load_config(name)
            except (OSError, ValueError, KeyError) as e:
                print("FAIL %s: bad build.json: %s" % (name, e))
                failures += ["%s %s" % (name, v.name) for v in variants]
        with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
            futures = {name: [pool.submit(do_variant, args, name, cfg, v)
                              for v in variants]
                       for name, cfg in configs.items()}
            # report in a fixed order, whatever finishes first
            for name in configs:
                results = [f.result() for f in futures[name]]
                failures += check_program(args, name, results)
    finally:
        if tmp and not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    total = len(args.programs) * len(variants)
    print("%s: %d of %d variants passed"
          % ("FAILED" if failures else "ALL PASSED", total - len(failures),
             total))
    if failures:
        print("failed: " + ", ".join(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
