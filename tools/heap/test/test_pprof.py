#!/usr/bin/env python3
"""preempt-heap pprof: the profile read back by `go tool pprof`, exact
figures per sample type, stacks leaf first with the root at the bottom,
long paths elided.  Skips (exit 77) if go is not installed.

usage: test_pprof.py PREEMPT_HEAP WORKDIR"""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from snapgen import *  # noqa: E402,F401,F403

TOOL, WORK = sys.argv[1], sys.argv[2]
os.makedirs(WORK, exist_ok=True)
GO = shutil.which("go")
if not GO:
    print("SKIP: go not found (golang-go): cannot read the profile back "
          "with go tool pprof")
    sys.exit(77)
failures = []


def check(what, got, want):
    if got != want:
        failures.append("%s: got %r, wanted %r" % (what, got, want))


# global root -> cache C +8 -> E1 +8 -> S1; C +16 -> E2 +8 -> S2
# stack root (frame 0x401234) -> E3 +8 -> S3
# registered root "list" -> 40 entries linked at +0 (a path longer than
# the profile keeps whole)
def graph(grown=False):
    s = Snapshot()
    s.info()
    s.type(1, "struct entry")
    s.type(2, "struct cache")
    s.type(3, "char[]")
    s.thread(7, "main")
    s.obj(0x1000, 64, 2, [(8, 0x2000), (16, 0x2100)])  # C
    s.obj(0x2000, 32, 1, [(8, 0x3000)])  # E1
    s.obj(0x2100, 32, 1, [(8, 0x3100)])  # E2
    s.obj(0x2200, 32, 1,  # E3
          [(8, 0x3200)] + ([(16, 0x3300)] if grown else []))
    if grown:
        s.obj(0x3300, 200, 3)  # S4, only in the second snapshot
    s.obj(0x3000, 100, 3)  # S1
    s.obj(0x3100, 50, 3)  # S2
    s.obj(0x3200, 10, 3)  # S3
    N = 40
    for i in range(N):
        s.obj(0x10000 + 16 * i, 16, 1,
              [(0, 0x10000 + 16 * (i + 1))] if i + 1 < N else [])
    s.root(GLOBAL, 0x1000, slot=0x601000)
    s.root(STACK, 0x2200, slot=0x7FF0, tid=7, ip=0x401234)
    s.root(RANGE, 0x10000, slot=0x5000, name="list")
    return s


snap = os.path.join(WORK, "pprof.snap")
graph().write(snap)
prof = os.path.join(WORK, "pprof.pb")
p = subprocess.run([TOOL, "pprof", snap, "-o", prof], capture_output=True,
                   text=True, timeout=120)
if p.returncode:
    print("preempt-heap pprof failed: %s" % p.stderr)
    sys.exit(1)
with open(prof, "rb") as f:
    check("raw protobuf, not gzip", f.read(2) != b"\x1f\x8b", True)

env = dict(os.environ, HOME=os.path.join(WORK, "gohome"),
           GOCACHE=os.path.join(WORK, "gocache"), GOFLAGS="", GOTOOLCHAIN="local")


def pprof(*args):
    p = subprocess.run([GO, "tool", "pprof", *args, prof],
                       capture_output=True, text=True, timeout=300, env=env)
    if p.returncode:
        failures.append("go tool pprof %s: exit %d: %s" % (
            " ".join(args), p.returncode, p.stderr))
    return p.stdout


ROW = re.compile(r"^\s*(\S+)\s+\S+%\s+\S+%\s+(\S+)\s+\S+%\s+(.*)$")


def top(index):
    out = pprof("-top", "-nodecount=100", "-sample_index=" + index)
    flat, cum = {}, {}
    for line in out.splitlines():
        m = ROW.match(line)
        if m and m.group(1) != "flat":
            flat[m.group(3)] = m.group(1)
            cum[m.group(3)] = m.group(2)
    total = re.search(r"of (\S+) total", out)
    return flat, cum, total.group(1) if total else None, out


flat, cum, total, out = top("objects")
check("objects per type", {k: v for k, v in flat.items() if v != "0"},
      {"struct entry": "43", "struct cache": "1", "char[]": "3"})
check("objects total", total, "47")
check("objects under the list's root", cum.get('registered "list"'), "40")
check("objects under the list's links", cum.get("struct entry +0"), "39")
check("objects under the stack root", cum.get("stack 0x401234"), "2")

flat, cum, total, out = top("space")
check("space per type", {k: v for k, v in flat.items() if v != "0"},
      {"struct entry": "736B", "struct cache": "64B", "char[]": "160B"})
check("space total", total, "960B")
check("space under cache +8", cum.get("struct cache +8"), "132B")
check("space under entry +8", cum.get("struct entry +8"), "160B")
check("space under the global", cum.get("global 0x601000"), "278B")

flat, cum, total, out = top("retained")
check("retained per type", {k: v for k, v in flat.items() if v != "0"},
      {"struct entry": "896B", "struct cache": "278B", "char[]": "160B"})
check("retained under the list's root", cum.get('registered "list"'), "640B")

out = pprof("-top")
check("default sample type", "Type: retained" in out, True)
check("comment names the snapshot", "pprof.snap" in out, True)

# Stacks: leaf (type) first, root last; the 40-long list is cut in the
# middle with one "..." frame and kept whole up to 24 hops.
out = pprof("-traces", "-sample_index=objects")
traces, cur = [], None
for line in out.splitlines():
    if line.startswith("-----------+"):
        cur = None
    elif cur is None and line.startswith(" ") and line.strip():
        # the first line of a trace: value, then the leaf frame
        cur = [line.split(None, 1)[1].strip()]
        traces.append(cur)
    elif cur is not None and line.strip():
        cur.append(line.strip())
check("a stack root's trace", ["char[]", "struct entry +8",
                               "stack 0x401234"] in traces, True)
check("the cache's trace", ["char[]", "struct entry +8", "struct cache +8",
                            "global 0x601000"] in traces, True)
check("every trace ends at a root", sorted(set(t[-1] for t in traces)),
      ['global 0x601000', 'registered "list"', 'stack 0x401234'])
longest = max(traces, key=len)
check("long paths elided", (len(longest), "... (hops elided)" in longest,
                            longest[0], longest[-1]),
      (27, True, "struct entry", 'registered "list"'))
check("whole up to 24 hops",
      max(len(t) for t in traces if "... (hops elided)" not in t), 26)

# Frames are named, not numbered: pprof -base subtracts two snapshots'
# profiles, as preempt-heap diff does.
grown = os.path.join(WORK, "grown.snap")
graph(grown=True).write(grown)
base, prof = prof, os.path.join(WORK, "grown.pb")
subprocess.run([TOOL, "pprof", grown, "-o", prof], check=True, timeout=120)
out = pprof("-top", "-sample_index=space", "-base", base)
rows = {m.group(3): (m.group(1), m.group(2)) for m in map(ROW.match,
        out.splitlines()) if m and m.group(1) != "flat"}
check("-base: growth", {k: v for k, v in rows.items() if v != ("0", "0")},
      {"char[]": ("200B", "200B"), "struct entry +16": ("0", "200B"),
       "stack 0x401234": ("0", "200B")})

if failures:
    print("\n\n".join(failures))
    print("\n%d failures" % len(failures))
    sys.exit(1)
print("preempt-heap pprof tests passed")
