#!/usr/bin/env python3
"""A real Debian program that uses Boehm GC, switched to preempt by
building it with `preempt-cc --gc`, must pass its own test suite.

Package: --package libhomfly (the default; see libhomfly.py next to this
file) or --package w3m (w3m.py; the differences follow the list).  The
driver

  1. fetches the Debian source package into the source cache
     (scripts/debian_source.py; --cache-dir, default $PREEMPT_SRC_CACHE or
     ~/.cache/preempt-src): without the network this FAILS, saying so;
  2. builds lib/*.c and test/test_example.c (the lists of lib/Makefile.am
     and test/Makefile.am) with `BUILD/bin/preempt-cc --gc -O2`, checks that
     the executable has the plugin's maps (.note.preempt) and does not load
     libgc, and runs the package's tests (TESTS of test/Makefile.am:
     run_tests, i.e. ./test_example data.txt) three times:
       default         PREEMPT unset
       verify+poison   PREEMPT=verify=1,poison=1 (freed objects filled with
                       0xdb and checked untouched until reused)
       stress          PREEMPT=verify=1,poison=1,minheap=0,gc=10,retain=0,
                       verbose=1: a collection whenever the heap grows 10%,
                       which the test suite's small heap (under the default
                       4 MB minimum) otherwise never triggers; the run must
                       show at least MIN_STRESS_GCS collections
  3. builds the same sources with `clang-19 -O2 ... -lgc` (real Boehm GC)
     and runs the tests once, as a control of the sources and the test
     (--no-libgc skips it; so does a missing libgc-dev, with a note).

w3m instead: step 2 copies the tree into the scratch directory and runs
w3m's own ./configure and make there, CC="preempt-cc --gc", with an empty
libgc.a first on the library path for configure's -lgc probe and
GC_LIBS= for make (w3m.py says why); the executable must load
libpreempt-gc and no libgc (readelf NEEDED and ldd); the test is
tests/run_tests (12 HTML pages rendered and diffed against the expected
text), whose PASS count must equal its TOTAL; the stress run must show
at least w3m.MIN_STRESS_GCS collections; the control build is the same
configure and make with CC=clang-19 and the system's -lgc, and must load
libgc.

Usage:
    run.py [--package libhomfly|w3m] [--build BUILD] [--out DIR]
           [--cache-dir DIR] [--src DIR] [--cc clang-19] [--cflags=-O2]
           [--no-libgc] [-v]

Exit status 0 when everything passed, 1 otherwise (every failure listed).
"""

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
import libhomfly  # noqa: E402
import w3m  # noqa: E402

TEST_TIMEOUT = 600
MIN_STRESS_GCS = 10
STRESS = "verify=1,poison=1,minheap=0,gc=10,retain=0,verbose=1"
RUNS = [("default", None), ("verify+poison", "verify=1,poison=1"),
        ("stress", STRESS)]
GC_LINE = re.compile(r"\bgc \d+: \d+ KiB live")


def log(msg):
    print(msg, flush=True)


def elf_info(exe):
    """(section names, NEEDED libraries) from readelf."""
    out = subprocess.run(["readelf", "-W", "-S", "-d", exe],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT
                         ).stdout.decode(errors="replace")
    sections = set(re.findall(r"^\s*\[\s*\d+\]\s+(\S+)", out, re.M))
    needed = re.findall(r"\(NEEDED\).*\[(.*)\]", out)
    return sections, needed


def loads_libgc(exe, needed):
    """The libgc.so names exe loads: its NEEDED entries and, when ldd is
    there, everything the loader would map (a library pulling libgc in)."""
    found = {n for n in needed if re.match(r"libgc\.so", n)}
    if shutil.which("ldd"):
        out = subprocess.run(["ldd", exe], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT
                             ).stdout.decode(errors="replace")
        found |= set(re.findall(r"^\s*(libgc\.so\S*)", out, re.M))
    return sorted(found)


def run_tests(scripts, test_dir, env_value, verbose, env_extra=None):
    """Runs each test script of the package in test_dir; returns
    (failures, combined output)."""
    env = dict(os.environ)
    env.pop("PREEMPT", None)
    env.update(env_extra or {})
    if env_value is not None:
        env["PREEMPT"] = env_value
    failures, output = [], ""
    for script in scripts:
        name = os.path.basename(script)
        try:
            proc = subprocess.run(["sh", script], cwd=test_dir, env=env,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT,
                                  timeout=TEST_TIMEOUT)
        except subprocess.TimeoutExpired:
            failures.append("%s: timed out after %d s" % (name, TEST_TIMEOUT))
            continue
        out = proc.stdout.decode(errors="replace")
        output += out
        if verbose:
            log(out.rstrip())
        if proc.returncode != 0:
            status = ("signal %d" % -proc.returncode if proc.returncode < 0
                      else "exit status %d" % proc.returncode)
            failures.append("%s: %s\n%s" % (name, status, out[-3000:]))
    return failures, output


def preempt_runs(scripts, test_dir, min_gcs, verbose, env_extra=None,
                 summary=None):
    """The RUNS of the preempt build, logged one line each; the stress run
    must show min_gcs collections.  summary(output) -> (failures, note)
    checks a run's output further.  Returns the failures."""
    errors = []
    for name, env in RUNS:
        fails, output = run_tests(scripts, test_dir, env, verbose, env_extra)
        notes = []
        if summary:
            more, note = summary(output)
            fails += more
            if note:
                notes.append(note)
        if name == "stress" and not fails:
            gcs = len(GC_LINE.findall(output))
            notes.append("%d collections" % gcs)
            if gcs < min_gcs:
                fails.append("only %d collections under PREEMPT=%s "
                             "(expected at least %d): the test exercised "
                             "too little of the collector"
                             % (gcs, STRESS, min_gcs))
        extra = " (%s)" % ", ".join(notes) if notes else ""
        log("preempt %-14s %s%s" % (name, "FAILED" if fails else "passed",
                                    extra))
        errors += ["preempt %s: %s" % (name, f) for f in fails]
    return errors


def have_libgc_dev():
    return (os.path.exists("/usr/include/gc.h") or
            os.path.exists("/usr/include/gc/gc.h"))


def main_w3m(args, cflags, out, preempt_cc):
    """--package w3m: w3m.py's configure-and-make build, then the runs."""
    errors = []
    try:
        tree = os.path.abspath(args.src) if args.src else \
            w3m.fetch(args.cache_dir)
    except w3m.Error as e:
        log("realprog: error: %s" % e)
        log("FAILED: w3m was not built or tested")
        return 1
    log("w3m source: %s" % tree)

    # ---- preempt, through gc.h
    try:
        built = w3m.build(tree, [preempt_cc, "--gc"], cflags,
                          os.path.join(out, "preempt"), log, preempt_gc=True)
        exe = w3m.exe(built)
        sections, needed = elf_info(exe)
        log("  NEEDED: %s" % ", ".join(needed))
        if ".note.preempt" not in sections:
            errors.append("preempt build: %s has no .note.preempt section "
                          "(built without the plugin?)" % exe)
        if not any(n.startswith("libpreempt-gc.so") for n in needed):
            errors.append("preempt build: %s does not load libpreempt-gc "
                          "(NEEDED: %s)" % (exe, ", ".join(needed)))
        libgc = loads_libgc(exe, needed)
        if libgc:
            errors.append("preempt build: %s still loads %s"
                          % (exe, ", ".join(libgc)))
        errors += preempt_runs(w3m.tests(built), w3m.test_dir(built),
                               w3m.MIN_STRESS_GCS, args.verbose,
                               w3m.test_env(built), w3m.check_summary)
    except w3m.Error as e:
        errors.append("preempt build: %s" % e)

    # ---- real Boehm GC, the control
    if args.no_libgc:
        pass
    elif not have_libgc_dev():
        log("note: libgc-dev is not installed: no control build with real "
            "Boehm GC")
    elif not shutil.which(args.cc):
        errors.append("libgc build: compiler %s not found" % args.cc)
    else:
        try:
            built = w3m.build(tree, [args.cc], cflags,
                              os.path.join(out, "libgc"), log,
                              preempt_gc=False)
            exe = w3m.exe(built)
            _, needed = elf_info(exe)
            fails = []
            if not loads_libgc(exe, needed):
                fails.append("%s does not load libgc (NEEDED: %s): not a "
                             "control" % (exe, ", ".join(needed)))
            more, output = run_tests(w3m.tests(built), w3m.test_dir(built),
                                     None, args.verbose, w3m.test_env(built))
            fails += more
            more, note = w3m.check_summary(output)
            fails += more
            log("libgc   %-14s %s (%s)" % ("default", "FAILED" if fails
                                           else "passed", note or "-"))
            errors += ["libgc: %s" % f for f in fails]
        except w3m.Error as e:
            errors.append("libgc build: %s" % e)

    if errors:
        for e in errors:
            log("ERROR: " + e)
        return 1
    log("realprog: w3m passed its test suite")
    return 0


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--package", choices=["libhomfly", "w3m"],
                    default="libhomfly",
                    help="the program to build and test (default libhomfly)")
    ap.add_argument("--build", default=os.path.join(REPO, "build"),
                    help="the project's build directory (its bin/preempt-cc)")
    ap.add_argument("--out", help="scratch directory (default "
                                  "BUILD/test/realprog, for w3m "
                                  "BUILD/test/w3m)")
    ap.add_argument("--cache-dir", help="Debian source cache (default "
                                        "$PREEMPT_SRC_CACHE or "
                                        "~/.cache/preempt-src)")
    ap.add_argument("--src", help="an unpacked source tree of the package "
                                  "instead of fetching one")
    ap.add_argument("--cc", default="clang-19",
                    help="compiler of the libgc control build")
    ap.add_argument("--no-libgc", action="store_true",
                    help="skip the control build with real Boehm GC")
    ap.add_argument("--cflags", default="-O2",
                    help="compiler flags of both builds (default -O2)")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="show compiler and test output")
    args = ap.parse_args()
    cflags = shlex.split(args.cflags)
    build = os.path.abspath(args.build)
    out = os.path.abspath(args.out or os.path.join(
        build, "test", "w3m" if args.package == "w3m" else "realprog"))
    preempt_cc = os.path.join(build, "bin", "preempt-cc")
    if not os.access(preempt_cc, os.X_OK):
        log("realprog: error: %s not found: build the project first "
            "(ninja -C %s)" % (preempt_cc, build))
        return 1
    if not shutil.which("readelf"):
        log("realprog: error: readelf not found (apt-get install -y "
            "binutils)")
        return 1
    if args.package == "w3m":
        return main_w3m(args, cflags, out, preempt_cc)

    errors = []
    try:
        tree = os.path.abspath(args.src) if args.src else \
            libhomfly.fetch(args.cache_dir)
        log("libhomfly source: %s" % tree)
        sources = libhomfly.lib_sources(tree) + libhomfly.test_sources(tree)
    except libhomfly.Error as e:
        log("realprog: error: %s" % e)
        log("FAILED: libhomfly was not built or tested")
        return 1

    # ---- preempt, through gc.h
    exe = os.path.join(out, "preempt", "test_example")
    try:
        warnings = libhomfly.compile_and_link(
            [preempt_cc, "--gc"], cflags + ["-I", libhomfly.include_dir(tree)],
            [], sources, exe, os.path.join(out, "preempt", "obj"), log)
        if args.verbose and warnings:
            log(warnings.rstrip())
        sections, needed = elf_info(exe)
        if ".note.preempt" not in sections:
            errors.append("preempt build: %s has no .note.preempt section "
                          "(built without the plugin?)" % exe)
        if any(re.match(r"libgc\.so", n) for n in needed):
            errors.append("preempt build: %s still loads %s" % (
                exe, ", ".join(n for n in needed if n.startswith("libgc"))))
        log("  NEEDED: %s" % ", ".join(needed))
        test_dir = libhomfly.prepare_test_dir(
            tree, exe, os.path.join(out, "preempt", "test"))
        errors += preempt_runs(libhomfly.tests(tree), test_dir,
                               MIN_STRESS_GCS, args.verbose)
    except libhomfly.Error as e:
        errors.append("preempt build: %s" % e)

    # ---- real Boehm GC, the control
    if args.no_libgc:
        pass
    elif not (os.path.exists("/usr/include/gc.h") or
              os.path.exists("/usr/include/gc/gc.h")):
        log("note: libgc-dev is not installed: no control build with real "
            "Boehm GC")
    elif not shutil.which(args.cc):
        errors.append("libgc build: compiler %s not found" % args.cc)
    else:
        exe = os.path.join(out, "libgc", "test_example")
        try:
            libhomfly.compile_and_link(
                [args.cc], cflags + ["-I", libhomfly.include_dir(tree)],
                ["-lgc"], sources, exe, os.path.join(out, "libgc", "obj"),
                log)
            test_dir = libhomfly.prepare_test_dir(
                tree, exe, os.path.join(out, "libgc", "test"))
            fails, _ = run_tests(libhomfly.tests(tree), test_dir, None,
                                 args.verbose)
            log("libgc   %-14s %s" % ("default", "FAILED" if fails
                                      else "passed"))
            errors += ["libgc: %s" % f for f in fails]
        except libhomfly.Error as e:
            errors.append("libgc build: %s" % e)

    if errors:
        for e in errors:
            log("ERROR: " + e)
        return 1
    log("realprog: libhomfly passed its test suite")
    return 0


if __name__ == "__main__":
    sys.exit(main())
