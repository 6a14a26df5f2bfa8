"""w3m (Debian source package w3m): a text-mode web browser whose every
string, buffer and document tree lives in Boehm GC memory (GC_MALLOC,
GC_MALLOC_ATOMIC, GC_REALLOC, GC_free, GC_set_warn_proc, GC_oom_fn; its Str
library is GC strings throughout).  Its test suite, tests/run_tests,
renders each tests/*.html with `../w3m -dump`-like options and diffs the
text against the .expected file next to it (12 pages: entities, lists,
quotes...), printing TOTAL / PASS / FAIL counts.

What test/realprog/run.py needs to build it: a copy of the source tree in
a scratch directory (w3m builds in its tree), its own ./configure and make:

    CC="<cc>" CFLAGS="-O2 -w" ./configure --disable-image --without-migemo
        --disable-nls --without-ssl
    make -j2 [GC_LIBS=]

The options leave out what needs more than libncurses-dev (the terminal
library, which configure requires): images (X11/imlib), migemo, gettext,
OpenSSL; zlib only adds the optional `inflate` helper.

For the preempt build (cc = `preempt-cc --gc`) configure still insists on
linking GC_init with -lgc (acinclude.m4 AC_W3M_GC).  A scratch directory
holding an empty libgc.a comes first in LDFLAGS, so that check resolves
GC_init from libpreempt-gc and never reaches the system's libgc (libgc-dev
need not be installed), and `make GC_LIBS=` drops the -lgc from the links;
run.py then checks with readelf and ldd that libgc is not loaded.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "scripts"))
import debian_source  # noqa: E402

PACKAGE = "w3m"
MARKER = "tests/run_tests"
CONFIGURE_OPTIONS = ["--disable-image", "--without-migemo", "--disable-nls",
                     "--without-ssl"]
# Collections the stress run must show: ~8500 were measured (every 10%
# growth from a zero minimum, over 12 page renderings); far fewer means
# the collector was not exercised as intended.
MIN_STRESS_GCS = 100
BUILD_TIMEOUT = 1200  # seconds for configure, and again for make
EMPTY_AR = b"!<arch>\n"  # an ar archive with no members
SUMMARY = re.compile(r"^TOTAL: (\d+) test\(s\)\s*^PASS : (\d+)\s*"
                     r"^FAIL : (\d+)", re.M)


class Error(Exception):
    pass


def fetch(cache_dir=None):
    """The unpacked source tree (scripts/debian_source.py)."""
    return debian_source.fetch_as(PACKAGE, cache_dir, MARKER, Error)


def build(tree, cc, cflags, work_dir, log, preempt_gc, jobs=2):
    """Copies tree to work_dir/src (fresh), configures and makes it with
    compiler cc (a list, e.g. [preempt-cc, --gc]).  preempt_gc: the
    libgc shim and GC_LIBS= of the preempt build (see the module's
    docstring).  Returns the built tree; raises Error with the output of
    the failing step."""
    src = os.path.join(work_dir, "src")
    if os.path.exists(src):
        shutil.rmtree(src)
    os.makedirs(work_dir, exist_ok=True)
    try:
        shutil.copytree(tree, src, symlinks=True)
    except (OSError, shutil.Error) as e:
        raise Error("cannot copy %s to %s: %s" % (tree, src, e))
    env = dict(os.environ)
    env["CC"] = shlex.join(cc)
    env["CFLAGS"] = shlex.join(cflags + ["-w"])  # 1990s code: warnings galore
    make_args = []
    if preempt_gc:
        shim = os.path.join(work_dir, "gcshim")
        os.makedirs(shim, exist_ok=True)
        with open(os.path.join(shim, "libgc.a"), "wb") as f:
            f.write(EMPTY_AR)
        env["LDFLAGS"] = "-L" + shim
        make_args.append("GC_LIBS=")
    _run(["./configure"] + CONFIGURE_OPTIONS, src, env, log)
    _run(["make", "-j%d" % jobs] + make_args, src, env, log)
    exe = os.path.join(src, "w3m")
    if not os.access(exe, os.X_OK):
        raise Error("make succeeded but built no %s" % exe)
    return src


def _run(cmd, cwd, env, log):
    log("  $ (cd %s && %s)" % (shlex.quote(cwd), shlex.join(cmd)))
    try:
        proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=BUILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise Error("%s timed out after %d s in %s"
                    % (shlex.join(cmd), BUILD_TIMEOUT, cwd))
    out = proc.stdout.decode(errors="replace")
    if proc.returncode != 0:
        crash = "PLEASE submit a bug report" in out
        hint = ""
        if cmd[0] == "./configure":
            hint = "\n(see %s)" % os.path.join(cwd, "config.log")
        raise Error("%s (exit status %d): %s in %s\n%s%s" % (
            "COMPILER CRASH" if crash else "build failed", proc.returncode,
            shlex.join(cmd), cwd, out[-4000:], hint))
    return out


def exe(built):
    return os.path.join(built, "w3m")


def tests(built):
    """The test script (it runs ../w3m on every tests/*.html)."""
    return [os.path.join(built, "tests", "run_tests")]


def test_dir(built):
    return os.path.join(built, "tests")


def test_env(built):
    """Environment additions for the tests: w3m keeps ~/.w3m (cookies,
    history); a HOME inside the scratch tree keeps the user's out of it."""
    home = os.path.join(built, "tests-home")
    os.makedirs(home, exist_ok=True)
    return {"HOME": home}


def check_summary(output):
    """Failures from run_tests' TOTAL/PASS/FAIL lines: none at all, or no
    page rendered, counts as a failure (the script would pass vacuously
    with no .html)."""
    m = SUMMARY.search(output)
    if not m:
        return ["run_tests printed no TOTAL/PASS/FAIL summary"], ""
    total, passed, failed = (int(g) for g in m.groups())
    note = "%d/%d pages" % (passed, total)
    if total == 0:
        return ["run_tests rendered no page"], note
    if failed or passed != total:
        return ["%d of %d pages rendered differently from .expected"
                % (failed or total - passed, total)], note
    return [], note
