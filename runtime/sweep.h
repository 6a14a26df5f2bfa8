/* Sweeping (sweep.c), with the world stopped. */
#ifndef PREEMPT_SWEEP_H
#define PREEMPT_SWEEP_H

#include "common.h"

struct sweep_result {
  size_t live_bytes, live_objects, freed_bytes, freed_objects;
};
void preempt_sweep(struct sweep_result *r) PREEMPT_HIDDEN;

#endif
