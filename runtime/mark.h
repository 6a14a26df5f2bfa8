/* Marking (mark.c): the mark stack and the marker visitor. */
#ifndef PREEMPT_MARK_H
#define PREEMPT_MARK_H

#include "common.h"
#include "visit.h"

/* The visitor that marks (what gc.c hands to every root source). */
extern struct preempt_visitor preempt_marker PREEMPT_HIDDEN;
void preempt_mark_drain(void) PREEMPT_HIDDEN;

/* What a heap snapshot records while the marker marks (snapshot.c), as
 * raw words in chunks of OS memory, each object once, in marking order:
 *   obj | flags   (objects are 8-aligned; PREEMPT_RAW_LEAF: pointer-free,
 *                  nothing follows;
 *                  PREEMPT_RAW_TYPED: scanned by a layout)
 *   size << 16 | type id
 *   the layout's address, if TYPED
 *   unless LEAF, the words the marker read: every word of the object, or
 *   the layout's pointer words, element by element for an array.
 * Copying the words as they are read costs the pause a sequential write;
 * resolving them to objects waits until the world runs again. */
enum { PREEMPT_RAW_LEAF = 1, PREEMPT_RAW_TYPED = 2 };
struct preempt_raw_chunk {
  struct preempt_raw_chunk *next;
  size_t len, cap; /* words of w */
  size_t bytes;    /* mapped, header included */
  uintptr_t w[];
};
struct preempt_mark_raw {
  struct preempt_raw_chunk *first, *last;
  bool failed; /* out of memory: the record is incomplete */
};
/* A chunk of at least words words (NULL if out of memory), its pages
 * touched when prefault. */
struct preempt_raw_chunk *preempt_raw_chunk_new(size_t words,
                                                bool prefault) PREEMPT_HIDDEN;
/* Sets the record (NULL: none), with the world stopped. */
void preempt_mark_record(struct preempt_mark_raw *r) PREEMPT_HIDDEN;

/* Start of the allocated object containing v, or 0. */
uintptr_t preempt_object_base(uintptr_t v) PREEMPT_HIDDEN;

#endif
