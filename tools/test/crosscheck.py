#!/usr/bin/env python3
"""Cross-checks preempt-maps against LLVM's own StackMap v3 copy.

    crosscheck.py PREEMPT_MAPS FILE [LLVM_READOBJ]

The plugin writes every call site twice: in our compact note and in a
non-allocated .llvm_stackmaps section that llvm-readobj --stackmap decodes.
For a file holding one translation unit's maps (an object, or a program or
library linked from one such object) both must agree record by record:
same count, same return addresses (function address + instruction offset),
and each root value and region in the same place.  Prints a line per
mismatch and exits 1 if there is any.
"""
import json
import re
import subprocess
import sys


def readobj_records(readobj, path):
    out = subprocess.run([readobj, "--stackmap", path], check=True,
                         capture_output=True, text=True).stdout
    funcs, records = [], []
    rec = None
    for line in out.splitlines():
        m = re.match(r"\s*Function address: (\d+), stack size: \d+, "
                     r"callsite record count: (\d+)", line)
        if m:
            funcs.append((int(m.group(1)), int(m.group(2))))
            continue
        m = re.match(r"\s*Record ID: \d+, instruction offset: (\d+)", line)
        if m:
            rec = {"offset": int(m.group(1)), "locs": []}
            records.append(rec)
            continue
        m = re.match(r"\s*#\d+: (\w+) (.*)", line)
        if m and rec is not None:
            kind, rest = m.group(1), m.group(2)
            size = int(re.search(r"size: (\d+)", rest).group(1))
            if kind == "Register":
                reg = int(re.match(r"R#(\d+)", rest).group(1))
                rec["locs"].append(("reg", reg, 0, size))
            elif kind == "Direct":
                g = re.match(r"R#(\d+) \+ (-?\d+)", rest)
                rec["locs"].append(("direct", int(g.group(1)),
                                    int(g.group(2)), size))
            elif kind == "Indirect":
                g = re.match(r"\[R#(\d+) \+ (-?\d+)\]", rest)
                rec["locs"].append(("ind", int(g.group(1)),
                                    int(g.group(2)), size))
            elif kind in ("Constant", "ConstantIndex"):
                val = int(re.match(r"(-?\d+)", rest).group(1))
                rec["locs"].append(("const", 0, val, size))
            else:
                rec["locs"].append((kind, 0, 0, size))
    # Give each record its function address (records are in function order).
    i = 0
    for addr, count in funcs:
        for _ in range(count):
            if i < len(records):
                records[i]["func"] = addr
            i += 1
    return funcs, records


REGS = ["rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8", "r9",
        "r10", "r11", "r12", "r13", "r14", "r15", "rip"]


def expect(loc, role):
    """What our note should say for an LLVM location (None: dropped)."""
    kind, reg, off, size = loc
    if kind == "reg":
        return {"kind": "reg", "reg": REGS[reg]}
    if kind == "const":
        if role == "value":
            return None
        return {"kind": "const", "value": off & 0xffffffff}
    if kind == "direct" and role == "base":
        return {"kind": "direct", "reg": REGS[reg], "offset": off}
    if kind in ("direct", "ind"):
        if size == 8 or role != "value":
            return {"kind": "ind", "reg": REGS[reg], "offset": off}
        return {"kind": "ind_n", "reg": REGS[reg], "offset": off, "size": size}
    return {"kind": "?" + kind}


def main():
    tool, path = sys.argv[1], sys.argv[2]
    readobj = sys.argv[3] if len(sys.argv) > 3 else "llvm-readobj-19"
    ours = json.loads(subprocess.run([tool, "--json", "--no-lines", path],
                                     check=True, capture_output=True,
                                     text=True).stdout)
    funcs, theirs = readobj_records(readobj, path)
    errors = []
    recs = ours["records"]
    if len(recs) != len(theirs):
        errors.append("record count: preempt-maps %d, llvm-readobj %d"
                      % (len(recs), len(theirs)))
    if ours["summary"]["records"] != len(theirs):
        errors.append("summary record count %d, llvm-readobj %d"
                      % (ours["summary"]["records"], len(theirs)))
    linked = ours["type"] != "relocatable"
    for i, (a, b) in enumerate(zip(recs, theirs)):
        where = "record %d (%s)" % (i, a["where"])
        if linked:
            if a["address"] != b["func"] + b["offset"]:
                errors.append("%s: address 0x%x, llvm-readobj 0x%x + %d"
                              % (where, a["address"], b["func"], b["offset"]))
        elif a.get("function_offset") != b["offset"]:
            errors.append("%s: offset in function %s, llvm-readobj %d"
                          % (where, a.get("function_offset"), b["offset"]))
        locs = b["locs"]
        if len(locs) < 4:
            errors.append("%s: llvm-readobj record has %d locations"
                          % (where, len(locs)))
            continue
        nvalues = locs[3][2]
        values = [expect(l, "value") for l in locs[4:4 + nvalues]]
        values = [v for v in values if v is not None]
        rest = locs[4 + nvalues:]
        regions = [(expect(rest[j], "base"), expect(rest[j + 1], "size"))
                   for j in range(0, len(rest) - 1, 2)]
        got_values = [v["loc"] for v in a["values"]]
        got_regions = [(g["base"], g["size"]) for g in a["regions"]]
        if got_values != values:
            errors.append("%s: values %s, expected %s"
                          % (where, got_values, values))
        if got_regions != regions:
            errors.append("%s: regions %s, expected %s"
                          % (where, got_regions, regions))
    for e in errors:
        print("%s: %s" % (path, e))
    if not errors:
        print("%s: %d records agree with llvm-readobj --stackmap"
              % (path, len(recs)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
