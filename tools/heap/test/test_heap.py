#!/usr/bin/env python3
"""Tests of preempt-heap: constructed snapshots, exact figures.

usage: test_heap.py PREEMPT_HEAP WORKDIR"""
import json
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from snapgen import *  # noqa: E402,F401,F403

TOOL, WORK = sys.argv[1], sys.argv[2]
os.makedirs(WORK, exist_ok=True)
failures = []


def run(*args, code=0):
    p = subprocess.run([TOOL, *args], capture_output=True, text=True,
                       timeout=300)
    if p.returncode != code:
        failures.append("%s: exit %d, wanted %d\nstdout:\n%s\nstderr:\n%s" % (
            " ".join(args), p.returncode, code, p.stdout, p.stderr))
    return p


def check(what, got, want):
    if got != want:
        failures.append("%s: got %r, wanted %r" % (what, got, want))


def path_of(name):
    return os.path.join(WORK, name)


# The main graph (see the figures below):
#   stack root (thread 100) -> A Node -> B Node -> C Node -> L Leaf (a chain)
#   global root -> D Node -> E Buf, F Buf -> G Leaf     (a diamond)
#   registered root "cache" -> H Node <-> I Node          (a cycle)
#   A +24 and D +16 -> S Shared -> T Leaf  (shared by two roots' subgraphs)
#   thread-local root (thread 101) -> U Buf; pinned root -> V (type 9, unnamed)
def main_graph(new=False):
    s = Snapshot()
    s.info(extra=b"\x05\x06")  # trailing fields of a newer writer
    for tid, name in ((1, "Node"), (2, "Leaf"), (3, "Buf"), (4, "Shared")):
        s.type(tid, name)
    s.raw(42, b"future record")  # unknown tag: skipped
    s.thread(100, "main")
    s.thread(101, "worker")
    # Objects in no particular order.
    s.obj(0x2000, 16, 2)  # L
    s.obj(0x1040, 32, 1, [(0, 0x2000)])  # C
    s.obj(0x1020, 32, 1, [(16, 0x1040)])  # B
    s.obj(0x1000, 32, 1, [(8, 0x1020), (24, 0x4000)], extra=b"\x07")  # A
    d_edges = [(0, 0x3000), (8, 0x3040), (16, 0x4000)]
    if new:
        d_edges.append((24, 0x7000))
    s.obj(0x1100, 32, 1, d_edges)  # D
    s.obj(0x3000, 64, 3, [(0, 0x2100)])  # E
    s.obj(0x3040, 64, 3, [(0, 0x2100)])  # F
    s.obj(0x2100, 16, 2)  # G
    s.obj(0x1200, 32, 1, [(8, 0x1220)])  # H
    s.obj(0x1220, 32, 1, [(8, 0x1200)])  # I
    s.obj(0x4000, 100, 4, [(0, 0x2200)])  # S
    s.obj(0x2200, 16, 2)  # T
    s.obj(0x3100, 128, 3, flags=1)  # U
    if not new:
        s.obj(0x6000, 48, 9)  # V
    else:
        s.obj(0x7000, 1000, 3, [(0, 0x2300)])  # new Buf
        s.obj(0x2300, 16, 2, [(8, 0x2320)])  # new Leafs
        s.obj(0x2320, 16, 2)
    s.root(STACK, 0x1000, slot=0x7FF0, tid=100, ip=0x401000)
    s.root(GLOBAL, 0x1100, slot=0x601000)
    s.root(RANGE, 0x1200, slot=0x5000, name="cache")
    s.root(TLS, 0x3100, slot=0x7E00, tid=101)
    if not new:
        s.root(PINNED, 0x6000)
    s.root(STACK, 0x1020, slot=0x7FF8, tid=100, ip=0x401000)  # B twice held
    return s


main = path_of("main.snap")
main_graph().write(main)
new = path_of("new.snap")
main_graph(new=True).write(new)

# ---- top ----
# B is also held by a stack root: its idom is the super-root, so A retains
# only itself and S? no: S is shared with D, so A retains 32 bytes.
p = run("top", main, "--json")
j = json.loads(p.stdout) if p.returncode == 0 else {}
rows = {r["type"]: (r["objects"], r["bytes"], r["retained"])
        for r in j.get("types", [])}
check("top rows", rows, {
    "Node": (6, 192, 32 + 80 + 176 + 64),   # A; B+C+L; D+E+F+G; H+I
    "Buf": (3, 256, 256),
    "Shared": (1, 100, 116),
    "Leaf": (3, 48, 48),
    "type#9": (1, 48, 48),
})
check("top order", [r["type"] for r in j.get("types", [])],
      ["Node", "Buf", "Shared", "Leaf", "type#9"])
check("top total", j.get("total"),
      {"objects": 14, "bytes": 644, "retained": 644})
check("top counts", (j.get("objects"), j.get("edges"), j.get("roots"),
                     j.get("unreachable_objects")), (14, 12, 6, 0))
p = run("top", main)
check("top text has the shared note", "super-root (roots)" in p.stdout, True)
lines = p.stdout.splitlines()
check("top text header", lines[1].split(), ["TYPE", "OBJECTS", "BYTES",
                                             "RETAINED"])
check("top text Node row", lines[2].split(), ["Node", "6", "192", "352"])
check("top text total", [l.split() for l in lines if l.startswith("total")],
      [["total", "14", "644", "644"]])
check("top columns aligned", len(set(len(l) for l in lines[1:8])), 1)
p = run("top", main, "-n", "2")
check("top -n 2", [l.split()[0] for l in p.stdout.splitlines()[2:5]],
      ["Node", "Buf", "(3"])

# ---- why ----
p = run("why", main, "0x2004", "--json")  # interior pointer into L
j = json.loads(p.stdout) if p.returncode == 0 else {}
check("why L target", j.get("target"),
      {"address": "0x2000", "type": "Leaf", "size": 16, "retained": 16})
check("why L root", j.get("root", {}).get("kind"), "stack")
check("why L root where", j.get("root", {}).get("where"),
      "thread 100 (main), frame 0x401000, slot 0x7ff8")
check("why L path", [(h["address"], h["type"], h["offset"])
                     for h in j.get("path", [])],
      [("0x1020", "Node", None), ("0x1040", "Node", 16),
       ("0x2000", "Leaf", 0)])
p = run("why", main, "0x2004")
check("why text", [l.split() for l in p.stdout.splitlines()], [
    "Leaf@0x2000 (16 bytes, retains 16) is kept alive by a path of 3 hops:"
    .split(),
    "stack root thread 100 (main), frame 0x401000, slot 0x7ff8".split(),
    "Node@0x1020 32 bytes".split(),
    "Node@0x1040 via +16 32 bytes".split(),
    "Leaf@0x2000 via +0 16 bytes".split()])
p = run("why", main, "Shared", "--json")
j = json.loads(p.stdout) if p.returncode == 0 else {}
check("why Shared path", [(h["address"], h["offset"])
                          for h in j.get("path", [])],
      [("0x1000", None), ("0x4000", 24)])
check("why Shared retained", j.get("target", {}).get("retained"), 116)
p = run("why", main, "Buf", "--json")  # the largest-retaining Buf: U
j = json.loads(p.stdout) if p.returncode == 0 else {}
check("why Buf root", (j.get("root", {}).get("kind"),
                       j.get("root", {}).get("where")),
      ("thread-local", "thread 101 (worker), slot 0x7e00"))
check("why Buf path", [h["address"] for h in j.get("path", [])], ["0x3100"])
p = run("why", main, "type#9", "--json")
j = json.loads(p.stdout) if p.returncode == 0 else {}
check("why pinned", j.get("root", {}).get("kind"), "pinned")
p = run("why", main, "0x1224", "--json")
j = json.loads(p.stdout) if p.returncode == 0 else {}
check("why cycle", (j.get("root", {}).get("where"),
                    [h["address"] for h in j.get("path", [])]),
      ('"cache", slot 0x5000', ["0x1200", "0x1220"]))
p = run("why", main, "0x3048", "--json")
j = json.loads(p.stdout) if p.returncode == 0 else {}
check("why diamond", (j.get("root", {}).get("kind"),
                      [h["address"] for h in j.get("path", [])]),
      ("global", ["0x1100", "0x3040"]))
run("why", main, "0x9999999", code=1)
run("why", main, "NoSuchType", code=1)

# ---- diff ----
p = run("diff", main, new, "--json")
j = json.loads(p.stdout) if p.returncode == 0 else {}
check("diff rows", [(r["type"], r["objects_delta"], r["bytes_delta"],
                     r["bytes_old"], r["bytes_new"])
                    for r in j.get("types", [])],
      [("Buf", 1, 1000, 256, 1256), ("Leaf", 2, 32, 48, 80),
       ("type#9", -1, -48, 48, 0)])
check("diff total", j.get("total"),
      {"objects_old": 14, "objects_new": 16, "objects_delta": 2,
       "bytes_old": 644, "bytes_new": 1628, "bytes_delta": 984})
check("diff paths", [[(h["address"], h["offset"]) for h in q["path"]]
                     for q in j.get("paths", [])],
      [[("0x1100", None), ("0x7000", 24)],
       [("0x1100", None), ("0x7000", 24), ("0x2300", 0)]])
check("diff path retained", [q["target"]["retained"]
                             for q in j.get("paths", [])], [1032, 32])
p = run("diff", main, new)
check("diff text", [l.split() for l in p.stdout.splitlines()[1:6]],
      [["TYPE", "OBJECTS", "OLD", "NEW", "BYTES", "OLD", "NEW"],
       ["Buf", "+1", "3", "4", "+1000", "256", "1256"],
       ["Leaf", "+2", "3", "5", "+32", "48", "80"],
       ["type#9", "-1", "1", "0", "-48", "48", "0"],
       ["total", "+2", "14", "16", "+984", "644", "1628"]])
check("diff text paths", p.stdout.count("is kept alive by"), 2)

# ---- a deep chain (no recursion anywhere) and an unreachable object ----
s = Snapshot()
s.type(1, "Cell")
N = 200000
for i in range(N):
    s.obj(0x100000 + 16 * i, 16, 1,
          [(8, 0x100000 + 16 * (i + 1))] if i + 1 < N else [])
s.obj(0x10, 8, 0)  # unreachable, untyped
s.root(STACK, 0x100000, tid=1)
deep = path_of("deep.snap")
s.write(deep)
p = run("top", deep, "--json")
j = json.loads(p.stdout) if p.returncode == 0 else {}
check("deep chain", [(r["type"], r["objects"], r["retained"])
                     for r in j.get("types", [])], [("Cell", N, 16 * N)])
check("deep unreachable", (j.get("unreachable_objects"),
                           j.get("unreachable_bytes")), (1, 8))
check("deep unreachable warned", "unreachable" in p.stderr, True)
p = run("why", deep, hex(0x100000 + 16 * (N - 1)), "--json")
j = json.loads(p.stdout) if p.returncode == 0 else {}
check("deep why hops", len(j.get("path", [])), N)

# ---- no objects; no TYPE records ----
s = Snapshot()
s.write(path_of("nothing.snap"))
p = run("top", path_of("nothing.snap"), "--json")
j = json.loads(p.stdout) if p.returncode == 0 else {}
check("empty snapshot", (j.get("types"), j.get("total")),
      ([], {"objects": 0, "bytes": 0, "retained": 0}))
s = Snapshot()
s.obj(0x10, 16, 0)
s.root(STACK, 0x10)
s.write(path_of("notype.snap"))
p = run("top", path_of("notype.snap"), "--json")
j = json.loads(p.stdout) if p.returncode == 0 else {}
check("no TYPE records", [(r["type"], r["objects"]) for r in j.get("types", [])],
      [("type#0", 1)])
for cmd in ("pprof", "html"):
    for f in ("nothing.snap", "notype.snap"):
        run(cmd, path_of(f), "-o", path_of("out." + cmd))

# ---- damaged files: exit 1, file and offset named, never a crash ----
data = main_graph().data()


def bad(name, blob, words):
    f = path_of(name)
    with open(f, "wb") as fh:
        fh.write(blob)
    p = run("top", f, code=1)
    for w in [f, "offset"] + words:
        if w not in p.stderr:
            failures.append("%s: %r not in error %r" % (name, w, p.stderr))


bad("empty.snap", b"", ["too short"])
bad("magic.snap", b"PRHEAPS2" + data[8:], ["not a heap snapshot"])
bad("noend.snap", main_graph().data(end=False), ["no END record"])
bad("cut.snap", data[:len(data) // 2], ["truncated"])
bad("trailing.snap", data + b"\x00", ["after the END"])
s = Snapshot()
s.obj(0x10, 16, 0, [(0, 0x999)])
s.root(STACK, 0x10)
bad("dangling.snap", s.data(), ["0x999", "no OBJECT record"])
s = Snapshot()
s.info(version=PREEMPT_SNAP_VERSION + 1)
s.obj(0x10, 16, 0)
bad("future.snap", s.data(), ["version %d" % (PREEMPT_SNAP_VERSION + 1),
                              "newer preempt"])
s = Snapshot()
s.obj(0x10, 16, 0, [(0, 0x14)])
s.obj(0x20, 16, 0)
s.root(STACK, 0x10)
bad("interior1.snap", s.data(), ["0x14", "no OBJECT record"])
s = Snapshot()
s.obj(0x10, 16, 0)
s.root(GLOBAL, 0x20)
bad("rootless.snap", s.data(), ["ROOT", "0x20", "no OBJECT record"])

# ---- version 2: an edge is the word itself, resolved to the object that
# contains it; a word inside no object (a freed slot) is no edge ----
s = Snapshot()
s.info(version=2)
s.type(1, "Holder")
s.type(2, "Leaf")
s.obj(0x100, 32, 1, [(0, 0x208), (8, 0x999), (16, 0x300)])
s.obj(0x200, 16, 2)
s.obj(0x300, 16, 2)
s.root(GLOBAL, 0x100)
s.write(path_of("v2.snap"))
p = run("top", path_of("v2.snap"), "--json")
j = json.loads(p.stdout) if p.returncode == 0 else {}
check("v2 words resolved to objects, a stale one dropped",
      [(r["type"], r["objects"], r["retained"]) for r in j.get("types", [])],
      [("Holder", 1, 64), ("Leaf", 2, 32)])
check("v2 nothing unreachable", j.get("unreachable_objects"), 0)
s = Snapshot()
s.obj(0x10, 16, 0, [(16, 0x10)])
bad("edgeoff.snap", s.data(), ["outside the object"])
s = Snapshot()
s.obj(0x10, 16, 0)
s.obj(0x18, 16, 0)
bad("overlap.snap", s.data(), ["overlaps"])
s = Snapshot()
s.raw(OBJECT, uleb(0x10) + uleb(16))
bad("short.snap", s.data(), ["OBJECT record too short", "type"])
s = Snapshot()
s.raw(OBJECT, uleb(0x10) + uleb(16) + uleb(0) + uleb(0) + uleb(1 << 40))
bad("count.snap", s.data(), ["cannot fit"])
bad("huge.snap", MAGIC + bytes([OBJECT]) + uleb(1 << 62), ["runs past"])
bad("uleb.snap", MAGIC + bytes([TYPE, 11]) + b"\xff" * 11, ["bad integer"])
# Random damage: any outcome but a crash (or a hang).
rng = random.Random(7)
for i in range(300):
    blob = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        blob[rng.randrange(8, len(blob))] = rng.randrange(256)
    if rng.random() < 0.3:
        blob = blob[:rng.randrange(len(blob))]
    f = path_of("fuzz.snap")
    with open(f, "wb") as fh:
        fh.write(blob)
    p = subprocess.run([TOOL, "top", f, "--json"], capture_output=True,
                       text=True, timeout=60)
    if p.returncode not in (0, 1) or (p.returncode == 1 and
                                      "offset" not in p.stderr and
                                      "unreachable" not in p.stderr):
        failures.append("fuzz %d: exit %d: %s" % (i, p.returncode, p.stderr))
        break

# ---- usage ----
run(code=2)
run("frob", main, code=2)
run("top", code=2)
run("top", main, "-n", code=2)
run("top", main, "--bogus", code=2)
run("why", main, code=2)
run("diff", main, code=2)
run("top", path_of("missing.snap"), code=1)
run("pprof", main, "--json", code=2)
run("html", code=2)
run("html", main, new, code=2)
run("why", main, "Node", "--html", code=2)
run("pprof", main, "-o", code=2)
run("top", main, "-o", path_of("no/such/dir/out"), code=1)
p = run("top", main, "--json", "-o", path_of("top.json"))
with open(path_of("top.json")) as f:
    check("top -o: the file", json.load(f)["types_total"], 5)
check("top -o: nothing on stdout", p.stdout, "")

# ---- dominators against the naive solver ----
run("selftest", "300")

if failures:
    print("\n\n".join(failures))
    print("\n%d failures" % len(failures))
    sys.exit(1)
print("preempt-heap tests passed")
