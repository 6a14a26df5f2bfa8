/* What the collector's parts hand their roots to.  Roots, finalizers and
 * threads describe what they hold through a visitor instead of calling
 * the marker: the marker is one visitor, heap introspection another. */
#ifndef PREEMPT_VISIT_H
#define PREEMPT_VISIT_H

#include "common.h"

struct preempt_visitor {
  /* A word that may point into the heap. */
  void (*value)(struct preempt_visitor *v, uintptr_t word);
  /* Memory whose every word may point into the heap. */
  void (*range)(struct preempt_visitor *v, const void *lo, const void *hi);
  /* What the object at obj points to, not the object itself (pointers
   * into the object are skipped). */
  void (*contents)(struct preempt_visitor *v, uintptr_t obj);
  /* Whether obj has been reached so far (marking order matters only to
   * finalizers). */
  bool (*reached)(struct preempt_visitor *v, uintptr_t obj);
  /* Optional (NULL for the marker): what the roots visited next are, for
   * heap snapshots.  kind: enum preempt_snap_root_kind; tid: the thread
   * holding them, or 0; ip: the return address into their frame, or 0;
   * name: a registered range's name, or NULL. */
  void (*label)(struct preempt_visitor *v, int kind, long tid, uintptr_t ip,
                const char *name);
};

static inline void preempt_visit_label(struct preempt_visitor *v, int kind,
                                       long tid, uintptr_t ip) {
  if (v->label)
    v->label(v, kind, tid, ip, NULL);
}

#endif
