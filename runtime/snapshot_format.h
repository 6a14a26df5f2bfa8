/* The heap snapshot file: written by the runtime (snapshot.c,
 * preempt_heap_snapshot), read by snapshot_read.c alone (preempt-heap and
 * the tests link it).  Compact and streamable:
 *
 *   file    = magic "PRHEAPS1" (8 bytes), record*, END record
 *   record  = tag (1 byte), length (uleb), payload (length bytes)
 *
 * Integers are unsigned LEB128 ("uleb"); a string is a uleb byte count
 * and the bytes (no NUL).  A reader skips records of tags it does not
 * know, and fields past those it knows at the end of a payload: new
 * fields are only ever appended.
 *
 *   INFO    version, pid, unix time (ns), pause (ns: the world was
 *           stopped this long for the walk), heap bytes mapped, objects,
 *           roots, string reason
 *   TYPE    id, string name                    (id 0: "(untyped)"), and
 *           for a type with a layout from the plugin: its size, array
 *           (1: the object is an array of it), field count, then per
 *           pointer field: byte offset, string name ("next", "a.b[2]")
 *   MODULE  load bias, lo, hi, string path     (a loaded ELF object:
 *           addresses in [lo, hi) minus the bias are its file's addresses,
 *           for symbols of frames and globals)
 *   THREAD  tid, string name
 *   OBJECT  address, size, type, flags, edge count, then per edge: the
 *           byte offset of the word in this object and the word, an
 *           address in the heap: the edge is to the object containing it
 *           (version 1: the word is that object's start).  Since version
 *           2 a word may point into no object (a freed slot): no edge.
 *   ROOT    kind, object address, slot (the address of the word holding
 *           the pointer; 0 for a register or a published value), tid
 *           (0 unless a thread's), ip (the return address into the frame
 *           holding it; 0 if unknown), string name (registered roots)
 *   END     empty
 *
 * OBJECT records come in no particular order; every root's object has an
 * OBJECT record. */
#ifndef PREEMPT_SNAPSHOT_FORMAT_H
#define PREEMPT_SNAPSHOT_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define PREEMPT_SNAP_MAGIC "PRHEAPS1"
#define PREEMPT_SNAP_VERSION 2

enum preempt_snap_tag {
  PREEMPT_SNAP_END = 0,
  PREEMPT_SNAP_INFO = 1,
  PREEMPT_SNAP_TYPE = 2,
  PREEMPT_SNAP_MODULE = 3,
  PREEMPT_SNAP_THREAD = 4,
  PREEMPT_SNAP_OBJECT = 5,
  PREEMPT_SNAP_ROOT = 6,
};

/* Fields listed per type, at most (a type's pointer words beyond are
 * still edges, only unnamed). */
#define PREEMPT_SNAP_MAX_FIELDS 4096

/* Object flags. */
#define PREEMPT_SNAP_NOSCAN 1u /* holds no pointers (never scanned) */

enum preempt_snap_root_kind {
  PREEMPT_ROOT_STACK = 1,     /* a word of a thread's stack */
  PREEMPT_ROOT_REGISTER = 2,  /* a thread's register, or a value it published */
  PREEMPT_ROOT_GLOBAL = 3,    /* data or bss of a loaded object */
  PREEMPT_ROOT_TLS = 4,       /* a thread-local variable */
  PREEMPT_ROOT_RANGE = 5,     /* memory given to preempt_add_roots */
  PREEMPT_ROOT_PINNED = 6,    /* preempt_pin */
  PREEMPT_ROOT_FINALIZER = 7, /* waiting for its finalizer, or kept for one */
  PREEMPT_ROOT_RUNTIME = 8,   /* held by a runtime call or foreign call */
  PREEMPT_ROOT_KINDS
};

static inline const char *preempt_snap_root_kind_name(unsigned kind) {
  static const char *const names[PREEMPT_ROOT_KINDS] = {
      "?", "stack", "register", "global", "thread-local",
      "registered", "pinned", "finalizer", "runtime"};
  return kind < PREEMPT_ROOT_KINDS ? names[kind] : "?";
}

/* Appends v to p (at most 10 bytes); returns the end. */
static inline uint8_t *preempt_snap_put_uleb(uint8_t *p, uint64_t v) {
  do {
    uint8_t b = v & 0x7f;
    v >>= 7;
    *p++ = b | (v ? 0x80 : 0);
  } while (v);
  return p;
}

/* Reads a uleb from [*p, end); 0 if truncated or longer than 64 bits. */
static inline int preempt_snap_get_uleb(const uint8_t **p, const uint8_t *end,
                                        uint64_t *out) {
  uint64_t v = 0;
  for (unsigned shift = 0; *p < end && shift < 64; shift += 7) {
    uint8_t b = *(*p)++;
    if (shift == 63 && b > 1)
      return 0;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return 1;
    }
  }
  return 0;
}

#endif
