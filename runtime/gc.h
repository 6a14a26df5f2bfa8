/* The collector (gc.c): start-up, pacing, one cycle, statistics. */
#ifndef PREEMPT_GC_H
#define PREEMPT_GC_H

#include "common.h"

void preempt_init(void) PREEMPT_HIDDEN;
/* Collect with the heap lock held; start_ip: caller's return address. */
void preempt_collect_locked(uintptr_t start_ip) PREEMPT_HIDDEN;
extern size_t preempt_next_gc PREEMPT_HIDDEN;
extern _Atomic size_t preempt_heap_live PREEMPT_HIDDEN;
extern size_t preempt_heap_live_objects PREEMPT_HIDDEN; /* at the last collection */
extern struct preempt_stats preempt_stats_data PREEMPT_HIDDEN;
extern _Atomic uint64_t preempt_stats_finalizers_run PREEMPT_HIDDEN;

#endif
