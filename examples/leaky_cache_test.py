#!/usr/bin/env python3
"""Test of examples/leaky_cache.c with preempt-heap: the leak is found.

usage: leaky_cache_test.py LEAKY_CACHE PREEMPT_HEAP WORKDIR

Runs the example (two snapshots, N and 2N requests), then checks with
preempt-heap's --json output that
  * `diff` names struct blob as the type that grew most (in bytes), with
    as many new blobs and entries as new cache keys, while the per-request
    types (struct request, struct header) did not grow;
  * the retention path of a new blob (diff's paths, and `why`) starts at
    the global `cache` and ends with an entry's `value` field after
    zero or more `next` fields."""
import json
import os
import subprocess
import sys

EXAMPLE, TOOL, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(WORK, exist_ok=True)
N = 5000
failures = []


def run(*cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if p.returncode:
        sys.exit("FAIL: %s: exit %d\n%s%s" % (" ".join(cmd), p.returncode,
                                              p.stdout, p.stderr))
    return p.stdout


def check(what, ok, detail):
    if not ok:
        failures.append("%s: %s" % (what, detail))


def check_path(what, p):
    root = p["root"]
    check(what + " root kind", root["kind"] == "global", root)
    check(what + " root is the cache", "cache" in root["where"], root)
    steps = p["path"]
    types = [s["type"] for s in steps]
    check(what + " target", p["target"]["type"] == "struct blob", p["target"])
    check(what + " path types", types[-1] == "struct blob" and
          all(t == "struct entry" for t in types[:-1]) and len(types) >= 2, types)
    # a step's field is the one of the step before that holds it (the
    # first is held by the root)
    fields = [s.get("field") for s in steps]
    check(what + " fields", fields[0] is None and fields[-1] == "value" and
          all(f == "next" for f in fields[1:-1]), fields)


before, after = os.path.join(WORK, "before.snap"), os.path.join(WORK, "after.snap")
out = run(EXAMPLE, before, after, str(N))
entries = int(out.split(" cache entries")[0].split()[-1])
d = json.loads(run(TOOL, "diff", before, after, "--json"))
by_type = {t["type"]: t for t in d["types"]}
check("top growing type", d["types"] and d["types"][0]["type"] == "struct blob",
      [t["type"] for t in d["types"][:3]])
blob = by_type.get("struct blob", {})
entry = by_type.get("struct entry", {})
check("blobs", blob.get("objects_new") == entries, (blob, entries))
check("entries", entry.get("objects_new") == entries, (entry, entries))
check("blob growth", blob.get("objects_delta", 0) > N // 2, blob)
for t in ("struct request", "struct header"):
    check(t + " does not grow", by_type.get(t, {}).get("objects_delta", 0) <= 4,
          by_type.get(t))
check("diff has paths", len(d["paths"]) >= 1, d["paths"])
blob_paths = [p for p in d["paths"] if p["target"]["type"] == "struct blob"]
check("diff path of a new blob", bool(blob_paths), d["paths"])
for p in blob_paths[:1]:
    check_path("diff", p)
if failures:
    print("FAIL:\n" + "\n".join(failures))
    sys.exit(1)
w = json.loads(run(TOOL, "why", after, "struct blob", "--json"))
check_path("why", w)

if failures:
    print("FAIL:\n" + "\n".join(failures))
    sys.exit(1)
print("ok: %d entries; diff top type struct blob %+d objects; path %s" % (
    entries, blob["objects_delta"],
    " -> ".join([w["root"]["where"]] + ["%s (%s)" % (s["type"], s["field"])
                                        for s in w["path"]])))
