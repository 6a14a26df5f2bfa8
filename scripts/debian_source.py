#!/usr/bin/env python3
"""Fetches and unpacks a Debian source package into a cache directory, for
the benchmarks and tests that build real programs (stdlib only).

    import debian_source
    src = debian_source.fetch("libhomfly")          # the unpacked tree
    src = debian_source.fetch("lua5.4", cache_dir=..., marker="src/lapi.c")

or from a shell:

    scripts/debian_source.py libhomfly [--cache-dir DIR]   # prints the tree

Cache: --cache-dir / cache_dir=, else $PREEMPT_SRC_CACHE, else
~/.cache/preempt-src.  A package already unpacked there is reused without
asking the network.

How: `apt-get source --download-only PKG` in the cache directory, then
`dpkg-source -x` of the .dsc (Debian's patches applied).  Mirrors do not
always have every file of a source package (on some, the .debian.tar.xz
of libhomfly and others answers 404 while the .orig.tar.gz is there): then
apt-get fails, and the upstream tarball that did arrive is unpacked with
tar alone, without Debian's patches or debian/ directory; a note says so.
Unpacking goes to a temporary directory renamed into place at the end, so
an interrupted run leaves no half tree to be reused.

apt-get source needs deb-src entries: if there are none, the module writes
DEB_SRC_LINE to DEB_SRC_FILE and runs apt-get update (as root; otherwise
the error gives the two commands to run).  It needs apt-get and
dpkg-source (package dpkg-dev); a missing one is named in the error.
"""

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

DEB_SRC_LINE = ("deb-src [signed-by=/usr/share/keyrings/debian-archive-"
                "keyring.gpg] http://deb.debian.org/debian bookworm main")
DEB_SRC_FILE = "/etc/apt/sources.list.d/preempt-src.list"
CACHE_ENV = "PREEMPT_SRC_CACHE"
TIMEOUT = 600  # seconds for one apt-get run


class Error(Exception):
    pass


def _log(msg):
    print(msg, file=sys.stderr, flush=True)


def default_cache_dir():
    return os.environ.get(CACHE_ENV) or os.path.join(
        os.path.expanduser("~"), ".cache", "preempt-src")


def _parse_dsc(path):
    """(source name, version, [file names]) from a .dsc."""
    fields, files, in_files = {}, [], False
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("-----BEGIN PGP SIGNATURE"):
                break
            if in_files and line.startswith(" "):
                parts = line.split()
                if len(parts) == 3:
                    files.append(parts[2])
                continue
            in_files = False
            m = re.match(r"^([A-Za-z0-9-]+):\s*(.*)$", line)
            if m:
                fields[m.group(1)] = m.group(2)
                in_files = m.group(1) == "Files"
    if "Source" not in fields or "Version" not in fields:
        raise Error("%s: not a source package description (no Source or "
                    "Version field)" % path)
    binaries = [b.strip() for b in fields.get("Binary", "").split(",")]
    return fields["Source"], fields["Version"], binaries, files


def _upstream_version(version):
    v = version.split(":", 1)[-1]          # no epoch
    return v.rsplit("-", 1)[0] if "-" in v else v  # no Debian revision


def _dscs_for(cache_dir, package):
    """The .dsc files in cache_dir of source package `package` (or of the
    source package that builds binary package `package`), newest first."""
    hits = []
    for dsc in glob.glob(os.path.join(cache_dir, "*.dsc")):
        try:
            source, version, binaries, files = _parse_dsc(dsc)
        except (OSError, Error):
            continue
        if package == source or package in binaries:
            hits.append((os.path.getmtime(dsc), dsc, source, version, files))
    hits.sort(reverse=True)
    return hits


def _tree_ok(tree, marker):
    return os.path.isdir(tree) and (
        marker is None or os.path.exists(os.path.join(tree, marker)))


def _cached(cache_dir, package, marker):
    for _, dsc, source, version, _ in _dscs_for(cache_dir, package):
        tree = os.path.join(cache_dir, "%s-%s" % (source,
                                                  _upstream_version(version)))
        if _tree_ok(tree, marker):
            return tree
    return None


def _need_tools():
    if not shutil.which("apt-get"):
        raise Error("apt-get not found (package apt): cannot fetch Debian "
                    "source packages on this system")
    if not shutil.which("dpkg-source"):
        raise Error("dpkg-source not found: apt-get install -y dpkg-dev "
                    "(apt-get source needs it)")


def _apt_source(cache_dir, package):
    cmd = ["apt-get", "source", "--download-only", package]
    _log("  $ (cd %s && %s)" % (cache_dir, " ".join(cmd)))
    try:
        proc = subprocess.run(cmd, cwd=cache_dir, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        raise Error("%s: no answer after %d s (network?)"
                    % (" ".join(cmd), TIMEOUT))
    return proc.returncode, proc.stdout.decode(errors="replace")


def _add_deb_src(package):
    if os.geteuid() != 0:
        raise Error(
            "apt-get source %s failed: no deb-src entries, and adding them "
            "needs root.  As root, run\n"
            "    echo '%s' > %s\n    apt-get update\n"
            "then run this again." % (package, DEB_SRC_LINE, DEB_SRC_FILE))
    _log("  no deb-src entries: writing %s and running apt-get update"
         % DEB_SRC_FILE)
    with open(DEB_SRC_FILE, "w") as f:
        f.write(DEB_SRC_LINE + "\n")
    upd = subprocess.run(["apt-get", "update"], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, timeout=TIMEOUT)
    if upd.returncode != 0:
        raise Error("apt-get update failed:\n" +
                    upd.stdout.decode(errors="replace")[-3000:])


def _failed_downloads(out):
    """'name (404  Not Found)' for each file apt-get could not fetch."""
    res = []
    for m in re.finditer(r"^E: Failed to fetch (\S+://\S+)\s+(.*)$", out,
                         re.M):
        res.append("%s (%s)" % (m.group(1).rsplit("/", 1)[-1],
                                " ".join(m.group(2).split()[:3])))
    return res


def _run_quiet(cmd, cwd=None):
    _log("  $ " + " ".join(cmd))
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT)
    return proc.returncode, proc.stdout.decode(errors="replace")


def _unpack(cache_dir, dsc, source, version, files, apt_out):
    """Unpacks into cache_dir/SOURCE-UPSTREAM; returns that path."""
    name = "%s-%s" % (source, _upstream_version(version))
    tree = os.path.join(cache_dir, name)
    if os.path.exists(tree):  # a tree without the marker: start again
        shutil.rmtree(tree)
    missing = [f for f in files
               if not os.path.isfile(os.path.join(cache_dir, f))]
    tmp = tempfile.mkdtemp(prefix=".unpack-", dir=cache_dir)
    try:
        if not missing:
            rc, out = _run_quiet(["dpkg-source", "-x",
                                  os.path.basename(dsc),
                                  os.path.join(tmp, name)], cwd=cache_dir)
            if rc == 0:
                os.rename(os.path.join(tmp, name), tree)
                _log("  unpacked %s with dpkg-source (Debian's patches "
                     "applied)" % os.path.basename(dsc))
                return tree
            why = "dpkg-source -x failed:\n" + out[-1500:]
            shutil.rmtree(tmp)
            tmp = tempfile.mkdtemp(prefix=".unpack-", dir=cache_dir)
        else:
            failed = _failed_downloads(apt_out)
            why = "not downloaded: %s" % ", ".join(failed or missing)
        tars = [f for f in files if re.search(r"\.orig\.tar\.[a-z0-9]+$", f)]
        if not tars:  # a native package: its one tarball
            tars = [f for f in files if re.search(r"\.tar\.[a-z0-9]+$", f)
                    and ".debian.tar." not in f]
        tars = [t for t in tars if os.path.isfile(os.path.join(cache_dir, t))]
        if not tars:
            raise Error("cannot unpack %s: %s; and no upstream tarball "
                        "arrived either" % (os.path.basename(dsc), why))
        tarball = tars[0]
        rc, out = _run_quiet(["tar", "-xf", os.path.join(cache_dir, tarball),
                              "-C", tmp])
        if rc != 0:
            raise Error("tar -xf %s failed:\n%s" % (tarball, out[-1500:]))
        top = os.listdir(tmp)
        src_root = os.path.join(tmp, top[0]) \
            if len(top) == 1 and os.path.isdir(os.path.join(tmp, top[0])) \
            else tmp
        os.rename(src_root, tree)
        _log("  NOTE: %s: %s\n  unpacked the upstream tarball %s alone with "
             "tar, into %s: no Debian patches, no debian/ directory"
             % (source, why.splitlines()[0], tarball, tree))
        return tree
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def fetch(package, cache_dir=None, marker=None):
    """Returns the unpacked source tree of Debian source package `package`
    (a binary package name works too), fetching it into cache_dir first if
    needed.  marker: a path relative to the tree that must exist (checks
    that the tree is the expected one and complete).  Raises Error with a
    message saying what failed and what to install or run."""
    cache_dir = os.path.abspath(cache_dir or default_cache_dir())
    os.makedirs(cache_dir, exist_ok=True)
    tree = _cached(cache_dir, package, marker)
    if tree:
        return tree
    # One fetch at a time per cache (tests run in parallel): apt-get update
    # after adding deb-src takes apt's lock, and two fetches of one package
    # would unpack into the same place.
    import fcntl
    with open(os.path.join(cache_dir, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _cached(cache_dir, package, marker) or \
            _fetch_locked(package, cache_dir, marker)


def _fetch_locked(package, cache_dir, marker):
    _need_tools()
    rc, out = _apt_source(cache_dir, package)
    if rc != 0 and "deb-src" in out:
        _add_deb_src(package)
        rc, out = _apt_source(cache_dir, package)
    dscs = _dscs_for(cache_dir, package)
    if not dscs:
        if rc == 0:
            raise Error("apt-get source --download-only %s ran, but no .dsc "
                        "of it is in %s" % (package, cache_dir))
        raise Error("apt-get source --download-only %s failed and nothing "
                    "was downloaded (no network, or no such source "
                    "package?):\n%s" % (package, out[-3000:]))
    _, dsc, source, version, files = dscs[0]
    if rc != 0:
        _log("  apt-get source --download-only %s failed (exit status %d); "
             "unpacking what arrived" % (package, rc))
    tree = _unpack(cache_dir, dsc, source, version, files, out)
    if not _tree_ok(tree, marker):
        raise Error("%s unpacked into %s, but %s is not there"
                    % (os.path.basename(dsc), tree, marker))
    return tree


def fetch_as(package, cache_dir, marker, error):
    """fetch(), raising error (a recipe's own exception class) on failure."""
    try:
        return fetch(package, cache_dir, marker=marker)
    except Error as e:
        raise error("cannot fetch Debian source package %s: %s"
                    % (package, e))


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(
        description="Fetch and unpack a Debian source package into a cache; "
                    "print the unpacked tree.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("package")
    ap.add_argument("--cache-dir", help="default $%s or ~/.cache/preempt-src"
                    % CACHE_ENV)
    ap.add_argument("--marker", help="a file the tree must contain")
    args = ap.parse_args(argv)
    try:
        print(fetch(args.package, args.cache_dir, args.marker))
    except Error as e:
        _log("debian_source: error: %s" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
