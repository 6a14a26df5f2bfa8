#!/usr/bin/env python3
"""A real Debian program that uses Boehm GC, switched to preempt by
building it with `preempt-cc --gc`, must pass its own test suite.

Package: libhomfly (see libhomfly.py next to this file).  The driver

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

Usage:
    run.py [--build BUILD] [--out DIR] [--cache-dir DIR] [--src DIR]
           [--cc clang-19] [--cflags=-O2] [--no-libgc] [-v]

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


def run_tests(tree, exe, test_dir, env_value, verbose):
    """Runs each test script of the package in test_dir; returns
    (failures, combined output)."""
    libhomfly.prepare_test_dir(tree, exe, test_dir)
    env = dict(os.environ)
    env.pop("PREEMPT", None)
    if env_value is not None:
        env["PREEMPT"] = env_value
    failures, output = [], ""
    for script in libhomfly.tests(tree):
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


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--build", default=os.path.join(REPO, "build"),
                    help="the project's build directory (its bin/preempt-cc)")
    ap.add_argument("--out", help="scratch directory (default "
                                  "BUILD/test/realprog)")
    ap.add_argument("--cache-dir", help="Debian source cache (default "
                                        "$PREEMPT_SRC_CACHE or "
                                        "~/.cache/preempt-src)")
    ap.add_argument("--src", help="an unpacked libhomfly tree instead of "
                                  "fetching one")
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
    out = os.path.abspath(args.out or os.path.join(build, "test",
                                                   "realprog"))
    preempt_cc = os.path.join(build, "bin", "preempt-cc")
    if not os.access(preempt_cc, os.X_OK):
        log("realprog: error: %s not found: build the project first "
            "(ninja -C %s)" % (preempt_cc, build))
        return 1
    if not shutil.which("readelf"):
        log("realprog: error: readelf not found (apt-get install -y "
            "binutils)")
        return 1

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
        for name, env in RUNS:
            fails, output = run_tests(tree, exe, os.path.join(out, "preempt",
                                                              "test"),
                                      env, args.verbose)
            extra = ""
            if name == "stress" and not fails:
                gcs = len(GC_LINE.findall(output))
                extra = " (%d collections)" % gcs
                if gcs < MIN_STRESS_GCS:
                    fails.append("only %d collections under PREEMPT=%s "
                                 "(expected at least %d): the test exercised "
                                 "too little of the collector"
                                 % (gcs, STRESS, MIN_STRESS_GCS))
            log("preempt %-14s %s%s" % (name, "FAILED" if fails else "passed",
                                        extra))
            errors += ["preempt %s: %s" % (name, f) for f in fails]
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
            fails, _ = run_tests(tree, exe, os.path.join(out, "libgc", "test"),
                                 None, args.verbose)
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
