/* Pinning (pin.c): objects kept alive for foreign code by preempt_pin, and
 * PREEMPT=cgocheck=1, which checks what a foreign call is given. */
#ifndef PREEMPT_PIN_H
#define PREEMPT_PIN_H

#include "common.h"
#include "visit.h"

/* Each pinned object is a root, scanned as usual.  Heap lock held. */
void preempt_pins_visit(struct preempt_visitor *v) PREEMPT_HIDDEN;
/* Whether obj (an object's start) is pinned.  Heap lock held. */
bool preempt_pinned(uintptr_t obj) PREEMPT_HIDDEN;

/* PREEMPT=cgocheck=1 (options.c sets it at start-up; off by default). */
extern bool preempt_cgocheck_on PREEMPT_HIDDEN;

/* cgocheck=1: abort with a clear message naming `site` (a return address) if heap object
   `arg` (or the heap object it points into) holds a pointer to an unpinned heap object. */
void preempt_cgocheck_arg(const void *arg, const void *site) PREEMPT_HIDDEN;
/* The same, naming the argument by its position, from 1 (0: unnamed). */
void preempt_cgocheck_argn(const void *arg, int index, const void *site)
    PREEMPT_HIDDEN;

#endif
