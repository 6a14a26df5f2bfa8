/* Type layouts from the plugin (layout.c): the pointer words of the types
 * preempt_new(T) allocates, checked and copied from the blob of
 * layout_format.h.  The marker and heap snapshots scan an object with a
 * layout only at those words; others stay conservative. */
#ifndef PREEMPT_LAYOUT_H
#define PREEMPT_LAYOUT_H

#include "common.h"
#include "types.h"

struct preempt_layout {
  uint32_t size;  /* bytes of one T */
  uint32_t flags; /* PREEMPT_LAYOUT_ARRAY: repeats over the object */
  uint32_t nptrs;
  const char *const *names; /* of each pointer word */
  uint32_t offsets[];       /* byte offsets of the pointer words */
};

/* Indexed by type id; NULL: conservative.  Set once per type. */
extern const struct preempt_layout *preempt_type_layouts[PREEMPT_MAX_TYPES] PREEMPT_HIDDEN;
/* A type whose layout holds no pointer: its objects are allocated noscan. */
extern bool preempt_type_noscan[PREEMPT_MAX_TYPES] PREEMPT_HIDDEN;

/* Records blob (layout_format.h) for type id, the first time the id gets
 * one.  A damaged blob, or one that differs from the type's layout
 * already recorded (two types of one name in different files), leaves the
 * type conservative, with a warning naming it. */
void preempt_type_set_layout(int id, const void *blob) PREEMPT_HIDDEN;

/* Around fork (threads.c): another thread of the parent may hold the
 * lock, which the child would then never see released. */
void preempt_layout_fork_prepare(void) PREEMPT_HIDDEN;
void preempt_layout_fork_done(void) PREEMPT_HIDDEN;

#endif
