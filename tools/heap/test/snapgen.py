"""Writes heap snapshot files (runtime/snapshot_format.h) of constructed
graphs for the preempt-heap tests."""

import os
import re

MAGIC = b"PRHEAPS1"


def _format_version():
    """The version the runtime writes, from the one header of the format."""
    h = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                     "..", "runtime", "snapshot_format.h")
    with open(h) as f:
        return int(re.search(r"#define PREEMPT_SNAP_VERSION (\d+)",
                             f.read()).group(1))


PREEMPT_SNAP_VERSION = _format_version()
END, INFO, TYPE, MODULE, THREAD, OBJECT, ROOT = range(7)
STACK, REGISTER, GLOBAL, TLS, RANGE, PINNED, FINALIZER, RUNTIME = range(1, 9)


def uleb(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def string(s):
    b = s.encode()
    return uleb(len(b)) + b


class Snapshot:
    def __init__(self):
        self.recs = []

    def record(self, tag, payload):
        self.recs.append(bytes([tag]) + uleb(len(payload)) + payload)

    def info(self, pid=1234, reason="test", extra=b"", version=1):
        self.record(INFO, b"".join(uleb(v) for v in
                                   (version, pid, 1700000000000000000, 250000,
                                    1 << 20, 0, 0)) + string(reason) + extra)

    def type(self, tid, name):
        self.record(TYPE, uleb(tid) + string(name))

    def thread(self, tid, name):
        self.record(THREAD, uleb(tid) + string(name))

    def module(self, bias, lo, hi, path):
        self.record(MODULE, uleb(bias) + uleb(lo) + uleb(hi) + string(path))

    def obj(self, addr, size, type, edges=(), flags=0, extra=b""):
        p = uleb(addr) + uleb(size) + uleb(type) + uleb(flags) + uleb(len(edges))
        for off, to in edges:
            p += uleb(off) + uleb(to)
        self.record(OBJECT, p + extra)

    def root(self, kind, addr, slot=0, tid=0, ip=0, name=""):
        self.record(ROOT, uleb(kind) + uleb(addr) + uleb(slot) + uleb(tid) +
                    uleb(ip) + string(name))

    def raw(self, tag, payload):
        self.record(tag, payload)

    def data(self, end=True):
        return MAGIC + b"".join(self.recs) + (bytes([END, 0]) if end else b"")

    def write(self, path, end=True):
        with open(path, "wb") as f:
            f.write(self.data(end))
