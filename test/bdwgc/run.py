#!/usr/bin/env python3
"""bdwgc's own test programs (Debian source package libgc, tests/), built
against libpreempt-gc with `preempt-cc --gc`, must pass.

The driver

  1. fetches libgc's source package into the source cache
     (scripts/debian_source.py; --cache-dir, default $PREEMPT_SRC_CACHE or
     ~/.cache/preempt-src): without the network this FAILS, saying so;
  2. compiles each program of tests/ with `BUILD/bin/preempt-cc --gc -O2`,
     bdwgc's configure macros for a threaded Linux build (CONFIG below)
     and `-I gc/include/gc`, so that "gc.h", "gc_typed.h", "gc_mark.h",
     "gc_disclaim.h", "javaxfc.h", "gc_backptr.h" and "leak_detector.h"
     are libpreempt-gc's, never /usr/include/gc's; the programs that
     include bdwgc's private headers also get `-I test/bdwgc`, whose
     private/*.h are small stand-ins of ours giving only the macros the
     tests use (output, timing, atomics, word types), so the tests reach
     the collector only through its public interface;
  3. runs each program twice, with PREEMPT unset and with
     PREEMPT=verify=1,poison=1 (freed objects poisoned and checked), and
     requires exit status 0, plus what the tests only print:
       smash_test  stderr reports a smashed object allocated at
                   smash_test.c:<line of its GC_MALLOC>;
       leak_test   stderr reports the leaked 4-byte object allocated at
                   leak_test.c:<line of its first malloc>.

A test listed in XFAIL fails for a known defect of libpreempt-gc or the
runtime (the reason is printed); it counts as passing while it fails, and
its unexpected success fails the run, so that the list stays true.

Not built: test_atomic_ops.c (tests only the atomic-operations header,
here our stand-in), test_cpp.cc (needs gc_cpp.h, which libpreempt-gc does
not provide).

Usage:
    run.py [--build BUILD] [--out DIR] [--cache-dir DIR] [--src DIR]
           [--only NAME[,NAME...]] [-v]

Exit status 0 when every test passed (or failed as expected), 1 otherwise.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(REPO, "scripts"))
import debian_source  # noqa: E402

PACKAGE = "libgc"
TEST_TIMEOUT = 300
# configure.ac's definitions for Debian's threaded build (doc/README.macros),
# minus GC_ENABLE_SUSPEND_THREAD (preempt stops every thread or none: one
# thread cannot be suspended alone).
CONFIG = ["-DGC_THREADS", "-DPARALLEL_MARK", "-DTHREAD_LOCAL_ALLOC",
          "-DHANDLE_FORK", "-DJAVA_FINALIZATION", "-DGC_GCJ_SUPPORT", "-DGC_ATOMIC_UNCOLLECTABLE",
          "-DENABLE_DISCLAIM", "-DKEEP_BACK_PTRS", "-DNO_EXECUTE_PERMISSION"]
# -w: the tests' own warnings are bdwgc's business, not ours.
CFLAGS = ["-O2", "-g", "-w"]
RUNS = [("default", None), ("verify+poison", "verify=1,poison=1")]


def log(msg):
    print(msg, flush=True)


def line_of(path, pattern):
    """1-based line number of the first line matching pattern."""
    with open(path, errors="replace") as f:
        for n, line in enumerate(f, 1):
            if re.search(pattern, line):
                return n
    raise RuntimeError("%s: no line matches %r (has the test changed?)"
                       % (path, pattern))


def check_smash(src, out, err):
    line = line_of(os.path.join(src, "smash_test.c"), r"GC_MALLOC\(")
    want = re.compile(r"smashed.*smash_test\.c:%d\b" % line)
    if not want.search(err):
        return ("stderr does not report a smashed object allocated at "
                "smash_test.c:%d" % line)
    return None


def check_leak(src, out, err):
    line = line_of(os.path.join(src, "leak_test.c"), r"\bmalloc\(")
    want = re.compile(r"leak.*\(4 bytes\).*leak_test\.c:%d\b" % line)
    if not want.search(err):
        return ("stderr does not report the leaked 4-byte object allocated "
                "at leak_test.c:%d" % line)
    return None


# name -> sources, extra flags, private headers needed, output check.
# Sources are in tests/; "lib:" entries are built as shared libraries.
TESTS = {
    "gctest": (["test.c"], [], True, None),
    "middle": (["middle.c"], [], False, None),
    "huge_test": (["huge_test.c"], [], False, None),
    "realloc_test": (["realloc_test.c"], [], False, None),
    "smash_test": (["smash_test.c"], [], False, check_smash),
    "leak_test": (["leak_test.c"], [], False, check_leak),
    "staticrootstest": (["staticrootstest.c",
                         "lib:staticrootslib_test=staticrootslib.c",
                         "lib:staticrootslib2_test=staticrootslib.c"
                         ":-DSTATICROOTSLIB2"],
                        ["-DSTATICROOTSLIB2"], False, None),
    "trace_test": (["trace_test.c"], [], False, None),
    "thread_leak_test": (["thread_leak_test.c"], [], False, None),
    "threadkey_test": (["threadkey_test.c"], [], False, None),
    "subthread_create": (["subthread_create.c"], [], True, None),
    "initsecondarythread": (["initsecondarythread.c"], [], True, None),
    "disclaim_test": (["disclaim_test.c"], [], True, None),
    "disclaim_bench": (["disclaim_bench.c"], [], True, None),
    "disclaim_weakmap_test": (["disclaim_weakmap_test.c"], [], True, None),
}

# Flags a test needs because preempt differs where the test lets the
# configuration choose.
TEST_FLAGS = {}

# Known defects (see the findings of the bdwgc test run); name -> reason.
XFAIL = {}


def compile_test(cc, name, src, work, verbose):
    """Builds the test; returns (executable, None) or (None, error)."""
    sources, flags, private, _ = TESTS[name]
    inc = ["-I", os.path.join(REPO, "gc", "include", "gc")]
    if private:
        inc += ["-I", HERE]
    common = CFLAGS + CONFIG + TEST_FLAGS.get(name, []) + inc
    exe = os.path.join(work, name)
    objs, libs = [], []
    for s in sources:
        if s.startswith("lib:"):
            spec = s[4:].split(":")
            lib, file_ = spec[0].split("=")
            so = os.path.join(work, "lib%s.so" % lib)
            cmd = cc + common + spec[1:] + ["-fPIC", "-shared",
                                            os.path.join(src, file_),
                                            "-o", so]
            libs.append(so)
        else:
            objs.append(os.path.join(src, s))
            continue
        err = run_cc(cmd, verbose)
        if err:
            return None, err
    cmd = (cc + common + flags + objs + libs + ["-Wl,-rpath," + work,
                                                "-o", exe])
    err = run_cc(cmd, verbose)
    return (None, err) if err else (exe, None)


def run_cc(cmd, verbose):
    if verbose:
        log("  $ " + " ".join(cmd))
    proc = subprocess.run(cmd, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT)
    out = proc.stdout.decode(errors="replace")
    if proc.returncode != 0:
        return "compile failed:\n$ %s\n%s" % (" ".join(cmd), out[-4000:])
    return None


def run_test(name, exe, src, work, env_value, verbose):
    """Runs one test; returns None on success, else what went wrong."""
    env = dict(os.environ)
    env.pop("PREEMPT", None)
    if env_value is not None:
        env["PREEMPT"] = env_value
    try:
        proc = subprocess.run([exe], cwd=work, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=TEST_TIMEOUT)
    except subprocess.TimeoutExpired:
        return "timed out after %d s" % TEST_TIMEOUT
    out = proc.stdout.decode(errors="replace")
    err = proc.stderr.decode(errors="replace")
    if verbose:
        log(out.rstrip())
        log(err.rstrip())
    tail = "\n--- stdout (end):\n%s\n--- stderr (end):\n%s" % (
        out[-2000:], err[-3000:])
    if proc.returncode != 0:
        status = ("signal %d" % -proc.returncode if proc.returncode < 0
                  else "exit status %d" % proc.returncode)
        return status + tail
    check = TESTS[name][3]
    if check:
        problem = check(src, out, err)
        if problem:
            return problem + tail
    return None


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--build", default=os.path.join(REPO, "build"),
                    help="the project's build directory (its bin/preempt-cc)")
    ap.add_argument("--out", help="scratch directory (default "
                                  "BUILD/test/bdwgc)")
    ap.add_argument("--cache-dir", help="Debian source cache (default "
                                        "$PREEMPT_SRC_CACHE or "
                                        "~/.cache/preempt-src)")
    ap.add_argument("--src", help="an unpacked libgc tree instead of "
                                  "fetching one")
    ap.add_argument("--only", help="comma-separated test names")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="show compiler commands and test output")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    preempt_cc = os.path.join(build, "bin", "preempt-cc")
    if not os.access(preempt_cc, os.X_OK):
        log("FAIL: %s not found; build the project first" % preempt_cc)
        return 1
    cc = [preempt_cc, "--gc"]
    work = os.path.abspath(args.out or os.path.join(build, "test", "bdwgc"))
    if args.src:
        tree = os.path.abspath(args.src)
    else:
        try:
            tree = debian_source.fetch(PACKAGE, cache_dir=args.cache_dir,
                                       marker="tests/test.c")
        except debian_source.Error as e:
            log("FAIL: cannot fetch the %s source package: %s" % (PACKAGE, e))
            return 1
    src = os.path.join(tree, "tests")
    names = list(TESTS)
    if args.only:
        names = args.only.split(",")
        unknown = [n for n in names if n not in TESTS]
        if unknown:
            log("FAIL: unknown test(s) %s; known: %s"
                % (", ".join(unknown), ", ".join(TESTS)))
            return 1
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)

    failures, results = [], []
    for name in names:
        tdir = os.path.join(work, name)
        os.makedirs(tdir)
        exe, problem = compile_test(cc, name, src, tdir, args.verbose)
        if exe:
            for label, env_value in RUNS:
                problem = run_test(name, exe, src, tdir, env_value,
                                   args.verbose)
                if problem:
                    problem = "%s run: %s" % (label, problem)
                    break
        if name in XFAIL:
            if problem:
                verdict = "XFAIL"
                log("%s: expected failure (%s)" % (name, XFAIL[name]))
                if args.verbose:
                    log(problem)
            else:
                verdict = "XPASS"
                failures.append("%s: passes but is listed in XFAIL (%s); "
                                "remove it from XFAIL" % (name, XFAIL[name]))
        elif problem:
            verdict = "FAIL"
            failures.append("%s: %s" % (name, problem))
        else:
            verdict = "PASS"
        results.append((name, verdict))
        log("%-24s %s" % (name, verdict))

    log("")
    for f in failures:
        log("FAIL: " + f)
        log("")
    passed = sum(1 for _, v in results if v in ("PASS", "XFAIL"))
    log("%d of %d bdwgc tests passed%s" % (
        passed, len(results),
        " (%d expected failures)" % sum(1 for _, v in results
                                        if v == "XFAIL")
        if any(v == "XFAIL" for _, v in results) else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
