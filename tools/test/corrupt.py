#!/usr/bin/env python3
"""Writes a damaged copy of an ELF file with preempt maps, for the tests.

    corrupt.py MODE IN OUT

Prints the file offset of the .note.preempt note so that tests can check
the offset in the error message.  Modes:
  truncate     cut the file in half
  note-size    .note.preempt claims more bytes than the file has
  descsz       the note's description size runs past its section
  version      map format version 9
  arch         architecture 2
  nrecords     the header counts one record more than the functions hold
  blob-size    the blob size does not match the note size
  func-zero    the first function has no records
  bad-loc      the first location of the first record has kind 7
  bad-reg      the first location uses DWARF register 31
  rax          the first location uses rax, which calls clobber
  zero-delta   the second record of the first function has delta 0
  collide      the second function's first return address is the first's
               (what one flipped bit does when they are a power of 2 apart)
  rsp          the first root value is "in register rsp"
  no-reloc     (objects) the first function's relocation is gone
  machine      e_machine 183 (AArch64)
  class32      EI_CLASS 32-bit
  big-endian   EI_DATA big-endian
  ident-version  EI_VERSION 0
  short        cut the file to 40 bytes, inside the ELF header
  shnum        e_shnum 100 more: the section header table runs past the end
  shnum-ext    e_shnum 0 and section 0's sh_size 100000 (extended numbering)
  shentsize    e_shentsize 40
  phnum        e_phnum 1000: the program headers run past the end
  symtab-size  .symtab runs past the end of the file
  strtab-size  .strtab runs past the end of the file
  rela-size    .rela.note.preempt runs past the end of the file
  other-note   (linked) .note.gnu.build-id runs past the end of the file
  other-descsz (linked) .note.gnu.build-id's descsz runs past its section
  segment-size (no section headers) the PT_NOTE segment holding the maps
               runs past the end of the file
The unsafe-point table (the first PREEMPT_NOTE_UNSAFE note; the offset
printed is that note's):
  unsafe-kind     the first range has kind 9
  unsafe-count    the header counts one range more than the note holds
  unsafe-reversed (linked) the first range ends where it starts
  unsafe-outside  (linked) the first range moved 16 MiB past the code
"""
import struct
import sys


def uleb(d, p):
    v = shift = 0
    while True:
        b = d[p]
        p += 1
        v |= (b & 0x7f) << shift
        shift += 7
        if not b & 0x80:
            return v, p


def sleb_skip(d, p):
    while d[p] & 0x80:
        p += 1
    return p + 1


def sections(d):
    shoff, = struct.unpack_from("<Q", d, 0x28)
    shnum, shstrndx = struct.unpack_from("<HH", d, 0x3c)
    secs = []
    for i in range(shnum):
        secs.append(struct.unpack_from("<IIQQQQIIQQ", d, shoff + 64 * i))
    stroff = secs[shstrndx][4]

    def name(s):
        end = d.index(b"\0", stroff + s[0])
        return d[stroff + s[0]:end].decode()
    return shoff, [(name(s), s) for s in secs]


def skip_loc(d, p):
    head = d[p]
    p += 1
    kind = head >> 5
    if kind in (1, 2, 3):
        p = sleb_skip(d, p)
        if kind == 2:
            _, p = uleb(d, p)
    elif kind == 4:
        _, p = uleb(d, p)
    return p


def header_mode(mode, d):
    """Modes on the ELF header and program headers alone (the file may have
    no section headers).  Returns the damaged file, or None."""
    if mode == "big-endian":
        d[5] = 2
    elif mode == "ident-version":
        d[6] = 0
    elif mode == "short":
        d = d[:40]
    elif mode == "shnum":
        struct.pack_into("<H", d, 0x3c, struct.unpack_from("<H", d, 0x3c)[0] + 100)
    elif mode == "shnum-ext":
        shoff, = struct.unpack_from("<Q", d, 0x28)
        struct.pack_into("<H", d, 0x3c, 0)
        struct.pack_into("<Q", d, shoff + 32, 100000)
    elif mode == "shentsize":
        struct.pack_into("<H", d, 0x3a, 40)
    elif mode == "phnum":
        struct.pack_into("<H", d, 0x38, 1000)
    elif mode == "segment-size":
        phoff, = struct.unpack_from("<Q", d, 0x20)
        phnum, = struct.unpack_from("<H", d, 0x38)
        for i in range(phnum):
            ph = phoff + 56 * i
            p_type, = struct.unpack_from("<I", d, ph)
            off, = struct.unpack_from("<Q", d, ph + 8)
            if p_type == 4 and b"preempt\0" in d[off:off + 0x200]:
                struct.pack_into("<Q", d, ph + 32, len(d))   # p_filesz
    else:
        return None
    return d


def unsafe_mode(mode, d, secs):
    """Damages the first unsafe-point note; returns its file offset."""
    sec = [s for n, s in secs if n == ".note.preempt"][0]
    p, end = sec[4], sec[4] + sec[5]
    while p + 12 <= end:
        namesz, descsz, ntype = struct.unpack_from("<III", d, p)
        desc = p + 12 + ((namesz + 3) & ~3)
        if ntype == 0x50525531:
            break
        p = desc + ((descsz + 3) & ~3)
    else:
        sys.exit("no unsafe-point note")
    r = desc + 8                                # the first range
    if mode == "unsafe-kind":
        struct.pack_into("<H", d, r + 12, 9)
    elif mode == "unsafe-count":
        n, = struct.unpack_from("<I", d, desc + 4)
        struct.pack_into("<I", d, desc + 4, n + 1)
    elif mode == "unsafe-reversed":
        start, = struct.unpack_from("<i", d, r)
        struct.pack_into("<i", d, r + 4, start - 4)   # end field is 4 further
    elif mode == "unsafe-outside":
        for f in (r, r + 4):
            v, = struct.unpack_from("<i", d, f)
            struct.pack_into("<i", d, f, v + (16 << 20))
    else:
        sys.exit("unknown mode " + mode)
    return p


def main():
    mode, src, dst = sys.argv[1:4]
    d = bytearray(open(src, "rb").read())
    bad = header_mode(mode, d)
    if bad is not None:
        open(dst, "wb").write(bad)
        return
    shoff, secs = sections(d)
    if mode.startswith("unsafe-"):
        note = unsafe_mode(mode, d, secs)
        open(dst, "wb").write(d)
        print("0x%x" % note)
        return
    idx = [n for n, _ in secs].index(".note.preempt")
    note = secs[idx][1][4]                     # file offset of the note
    desc = note + 12 + 8                       # after header and "preempt\0"
    nfuncs, nrecords, blob_size = struct.unpack_from("<III", d, desc + 4)
    blob = desc + 16 + 8 * nfuncs
    first_loc = None
    first_value = None
    second_delta = None
    p = blob
    nv, p = uleb(d, p)
    nr, p = uleb(d, p)
    if nv + nr:
        first_loc = p
    if nv:
        first_value = p
    for _ in range(nv + 2 * nr):
        p = skip_loc(d, p)
    if struct.unpack_from("<I", d, desc + 16 + 4)[0] > 1:
        second_delta = p

    if mode == "truncate":
        d = d[:len(d) // 2]
    elif mode == "note-size":
        off = shoff + 64 * idx + 32            # sh_size
        struct.pack_into("<Q", d, off, len(d))
    elif mode == "descsz":
        struct.pack_into("<I", d, note + 4, 0x7ffffff0)
    elif mode == "version":
        d[desc] = 9
    elif mode == "arch":
        d[desc + 1] = 2
    elif mode == "nrecords":
        struct.pack_into("<I", d, desc + 8, nrecords + 1)
    elif mode == "blob-size":
        struct.pack_into("<I", d, desc + 12, blob_size + 1)
    elif mode == "func-zero":
        struct.pack_into("<I", d, desc + 16 + 4, 0)
    elif mode == "bad-loc":
        assert first_loc is not None, "first record has no roots"
        d[first_loc] = 7 << 5 | (d[first_loc] & 31)
    elif mode == "bad-reg":
        assert first_loc is not None, "first record has no roots"
        d[first_loc] = (d[first_loc] & 0xe0) | 31
    elif mode == "rax":
        assert first_loc is not None, "first record has no roots"
        d[first_loc] = d[first_loc] & 0xe0
    elif mode == "zero-delta":
        assert second_delta is not None, "first function has one record"
        d[second_delta] = 0
    elif mode == "collide":
        assert nfuncs > 1, "one function only"
        if d[16] == 1:                         # ET_REL: copy the relocation
            rela = [n for n, _ in secs].index(".rela.note.preempt")
            off, size = secs[rela][1][4], secs[rela][1][5]
            ents = {struct.unpack_from("<Q", d, e)[0]: e
                    for e in range(off, off + size, 24)}
            f0, f1 = ents[12 + 8 + 16], ents[12 + 8 + 16 + 8]
            d[f1 + 8:f1 + 24] = d[f0 + 8:f0 + 24]
        else:                                  # self-relative, 8 bytes on
            first, = struct.unpack_from("<i", d, desc + 16)
            struct.pack_into("<i", d, desc + 24, first - 8)
    elif mode == "rsp":
        assert first_value is not None, "first record has no root value"
        d[first_value] = 7                     # REG, DWARF 7
    elif mode == "no-reloc":
        rela = [n for n, _ in secs].index(".rela.note.preempt")
        off = secs[rela][1][4]
        size = secs[rela][1][5]
        for e in range(off, off + size, 24):
            r_offset, = struct.unpack_from("<Q", d, e)
            if r_offset == 12 + 8 + 16:        # the first function's field
                struct.pack_into("<Q", d, e, 0x7777)
    elif mode in ("symtab-size", "strtab-size", "rela-size", "other-note"):
        name = {"symtab-size": ".symtab", "strtab-size": ".strtab",
                "rela-size": ".rela.note.preempt",
                "other-note": ".note.gnu.build-id"}[mode]
        i = [n for n, _ in secs].index(name)
        struct.pack_into("<Q", d, shoff + 64 * i + 32, len(d))
    elif mode == "other-descsz":
        i = [n for n, _ in secs].index(".note.gnu.build-id")
        struct.pack_into("<I", d, secs[i][1][4] + 4, 0x1000)
        print("0x%x" % secs[i][1][4])
        open(dst, "wb").write(d)
        return
    elif mode == "machine":
        struct.pack_into("<H", d, 18, 183)
    elif mode == "class32":
        d[4] = 1
    else:
        sys.exit("unknown mode " + mode)
    open(dst, "wb").write(d)
    print("0x%x" % note)


if __name__ == "__main__":
    main()
