/* The one options table: the PREEMPT environment variable (options.c). */
#ifndef PREEMPT_OPTIONS_H
#define PREEMPT_OPTIONS_H

#include "common.h"

struct preempt_options {
  int gc_percent;       /* GOGC: grow the heap by this % of live data; <0 off */
  size_t min_heap;      /* no pacing below this many bytes */
  size_t heap_limit;    /* the heap's committed bytes never exceed this */
  bool poison;          /* fill freed objects with PREEMPT_POISON_BYTE */
  bool verify;          /* check poison on reuse, re-validate maps */
  bool oom_null;        /* out of memory: return NULL instead of aborting */
  int verbose;          /* 1: one line per collection on stderr */
  double retain_s;      /* half-life of the retained heap size, seconds */
  bool async_preempt;   /* stop threads by signal (else cooperatively) */
  int membarrier;       /* PREEMPT_MEMBARRIER_*: who fences (stw.c) */
  int stop_signal;      /* the signal that stops them */
  bool stw_check;       /* catch misuse of a stopped world */
  int stw_timeout_s;    /* stw_check: report a stop longer than this */
  bool trace_stw;       /* print stop-the-world statistics at exit */
  size_t snapshot_fork_objects; /* snapshots of more objects fork a walker */
  /* cgocheck=1 sets preempt_cgocheck_on (pin.h), read on every foreign
   * call. */
};
/* Blocking transitions fence on the thread's side (OFF), or are fence-free
 * with a membarrier per stop (ON), or switch to that once a thread makes
 * them often (AUTO, the default). */
enum { PREEMPT_MEMBARRIER_OFF, PREEMPT_MEMBARRIER_ON, PREEMPT_MEMBARRIER_AUTO };
extern struct preempt_options preempt_opts PREEMPT_HIDDEN;
#define PREEMPT_POISON_BYTE 0xdb
void preempt_options_init(void) PREEMPT_HIDDEN;

#endif
