#!/usr/bin/env python3
"""collide_notes.py IN OUT: a copy of a linked library whose second map
note's first function claims the return address of the first note's first
function (one note per translation unit: each passes validation alone, the
collision shows only when the runtime indexes them together)."""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..",
                                "tools", "test"))
from corrupt import sections  # noqa: E402

src, dst = sys.argv[1:3]
d = bytearray(open(src, "rb").read())
_, secs = sections(d)
sec = dict(secs)[".note.preempt"]
off, size, align = sec[4], sec[5], max(sec[8], 4)
fields = []
p = off
while p < off + size:
    namesz, descsz, _ = struct.unpack_from("<III", d, p)
    desc = p + 12 + ((namesz + align - 1) // align) * align
    fields.append(desc + 16)                   # first function's first_ret
    p = desc + ((descsz + align - 1) // align) * align
assert len(fields) >= 2, "one note only"
first, = struct.unpack_from("<i", d, fields[0])
struct.pack_into("<i", d, fields[1], fields[0] + first - fields[1])
open(dst, "wb").write(d)
