/* Walking and scanning a thread's own stack (stack.c). */
#ifndef PREEMPT_STACK_H
#define PREEMPT_STACK_H

#include "common.h"
#include "sysmem.h"

struct preempt_thread;

/* Pushes every root value found on the calling thread's stack, from the
 * frame whose return address is start_ip outwards, to sink.  Precise for
 * frames with a map, conservative for the others. */
void preempt_scan_own_stack(struct preempt_thread *t, uintptr_t start_ip,
                            struct preempt_vec *sink) PREEMPT_HIDDEN;
/* The same from a signal handler on the calling thread, for the context
 * uc it interrupted: every register of uc and the interrupted frame
 * (with the red zone below it) conservatively, the frames above it as
 * preempt_scan_own_stack does. */
void preempt_scan_interrupted(struct preempt_thread *t, const void *uc,
                              struct preempt_vec *sink) PREEMPT_HIDDEN;
/* From a signal handler: was the context uc interrupted in C library code
 * that the dynamic linker called (its lock functions, with the loader's
 * lock held or half taken)? */
/* While above 0, scans record where each frame's roots begin
 * (thread->frames): heap snapshots name the frame holding each root. */
extern _Atomic int preempt_stack_frames_wanted PREEMPT_HIDDEN;
bool preempt_stack_libc_called_by_loader(const void *uc) PREEMPT_HIDDEN;
/* Where the own stack is mapped from (the main thread's grows on demand). */
uintptr_t preempt_stack_mapped_lo(const struct preempt_thread *t) PREEMPT_HIDDEN;
/* After saved_sp is set: which stack it is on (saved_hi, off_stack). */
void preempt_stack_note_blocking(struct preempt_thread *t) PREEMPT_HIDDEN;

#endif
