"""libhomfly (Debian source package libhomfly): a C library computing the
HOMFLY polynomial of a link, all its memory from Boehm GC (GC_MALLOC,
GC_REALLOC, GC_INIT in homfly()), with a test suite: test/test_example.c
reads test/data.txt (name, link, expected polynomial; four links) and
test/run_tests runs `./test_example data.txt`.

What test/realprog/run.py and bench/gccompat/run.py need to build it
without its autotools: the source lists come from its own Makefile.am
files (libhomfly_la_SOURCES, test_example_SOURCES), compiled into one
executable (no shared library: the point is the collector, not libtool).
"""

import os
import re
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "scripts"))
import debian_source  # noqa: E402

PACKAGE = "libhomfly"
MARKER = "lib/homfly.c"


class Error(Exception):
    pass


def fetch(cache_dir=None):
    """The unpacked source tree (scripts/debian_source.py)."""
    return debian_source.fetch_as(PACKAGE, cache_dir, MARKER, Error)


def am_sources(makefile_am, var):
    """The .c files of automake variable `var` (continuation lines
    joined), as paths next to the Makefile.am."""
    try:
        with open(makefile_am) as f:
            text = f.read().replace("\\\n", " ")
    except OSError as e:
        raise Error("cannot read %s: %s" % (makefile_am, e))
    m = re.search(r"^%s\s*=(.*)$" % re.escape(var), text, re.M)
    if not m:
        raise Error("%s: no %s" % (makefile_am, var))
    d = os.path.dirname(makefile_am)
    srcs = sorted({os.path.join(d, s) for s in m.group(1).split()
                   if s.endswith(".c")})
    if not srcs:
        raise Error("%s: %s lists no .c file" % (makefile_am, var))
    return srcs


def lib_sources(tree):
    return am_sources(os.path.join(tree, "lib", "Makefile.am"),
                      "libhomfly_la_SOURCES")


def test_sources(tree):
    return am_sources(os.path.join(tree, "test", "Makefile.am"),
                      "test_example_SOURCES")


def include_dir(tree):
    return os.path.join(tree, "lib")


def compile_and_link(cc, cflags, ldflags, sources, exe, obj_dir, log):
    """cc -c each source into obj_dir, then links exe.  cc is a list (e.g.
    [preempt-cc, --gc]).  Returns the compilers' output (warnings); raises
    Error with the output on a failure."""
    os.makedirs(obj_dir, exist_ok=True)
    objs, output = [], []
    for src in sources:
        obj = os.path.join(obj_dir, os.path.splitext(
            os.path.basename(src))[0] + ".o")
        objs.append(obj)
        output.append(_run(cc + cflags + ["-c", src, "-o", obj], log))
    output.append(_run(cc + cflags + objs + ["-o", exe] + ldflags, log))
    return "".join(output)


def _run(cmd, log):
    log("  $ " + shlex.join(cmd))
    proc = subprocess.run(cmd, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT)
    out = proc.stdout.decode(errors="replace")
    if proc.returncode != 0:
        crash = proc.returncode < 0 or "PLEASE submit a bug report" in out
        raise Error("%s (exit status %d): %s\n%s" % (
            "COMPILER CRASH" if crash else "build failed", proc.returncode,
            shlex.join(cmd), out[-4000:]))
    return out


def tests(tree):
    """The test scripts named by TESTS in test/Makefile.am."""
    mk = os.path.join(tree, "test", "Makefile.am")
    with open(mk) as f:
        m = re.search(r"^TESTS\s*=(.*)$", f.read(), re.M)
    if not m or not m.group(1).split():
        raise Error("%s: no TESTS" % mk)
    return [os.path.join(tree, "test", t) for t in m.group(1).split()]


def prepare_test_dir(tree, exe, test_dir):
    """A directory laid out as the test scripts expect: ./test_example and
    data.txt side by side."""
    os.makedirs(test_dir, exist_ok=True)
    for name, target in (("test_example", exe),
                         ("data.txt", os.path.join(tree, "test",
                                                   "data.txt"))):
        link = os.path.join(test_dir, name)
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(os.path.abspath(target), link)
    return test_dir
