/* Walking and scanning the calling thread's own stack.
 *
 * Frames are unwound with libgcc's unwinder (DWARF CFI from .eh_frame),
 * which also recovers each frame's callee-saved registers, where the plugin
 * may have left roots.  libgcc finds CFI with _dl_find_object: no lock, so
 * this also works in a thread stopped by a signal.
 *
 * A frame whose return address has a map is scanned precisely: only the
 * values the map lists.  Any other frame (code built without the plugin, a
 * C library calling back into instrumented code) is scanned
 * conservatively: every word of it, and its callee-saved registers.  What
 * lies beyond the last frame the unwinder reached is scanned
 * conservatively too, so a frame without CFI loses precision, never roots.
 */
#include "options.h"
#include "registry.h"
#include "signals.h"
#include "stack.h"
#include "heap.h"
#include "threads.h"
#include "mapfile.h"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>
#include <unwind.h>

static const int callee_saved[] = PREEMPT_CALLEE_SAVED;

/* The stack sp is on, for the calling thread: its own, the signal stack
 * it is handling a signal on, or a registered (coroutine) stack. */
static bool segment_of(const struct preempt_thread *t, uintptr_t sp,
                       uintptr_t *lo, uintptr_t *hi) {
  if (sp >= t->stack_lo && sp <= t->stack_hi) {
    *lo = t->stack_lo;
    *hi = t->stack_hi;
    return true;
  }
  return preempt_signal_stack(sp, lo, hi) ||
         preempt_registered_stack(sp, lo, hi);
}

/* The lowest address from which the thread's own stack is mapped up to its
 * top.  The main thread's stack grows on demand: below its mapping lies
 * a gap up to stack_lo, so mapped pages are all above unmapped ones. */
uintptr_t preempt_stack_mapped_lo(const struct preempt_thread *t) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  uintptr_t lo = ALIGN_UP(t->stack_lo, page), hi = t->stack_hi & ~(page - 1);
  unsigned char v;
  while (lo < hi) { /* first mapped page in [lo, hi] */
    uintptr_t mid = lo + (hi - lo) / page / 2 * page;
    if (mincore((void *)mid, page, &v) == 0)
      hi = mid;
    else
      lo = mid + page;
  }
  return hi;
}

static void unknown_stack(const struct preempt_thread *t, uintptr_t sp) {
  preempt_fatal("thread %ld is running on a stack the runtime does not know "
                "(sp %p): register coroutine stacks with preempt_add_stack()",
                t->tid, (void *)sp);
}

void preempt_stack_note_blocking(struct preempt_thread *t) {
  uintptr_t lo;
  if (!segment_of(t, t->saved_sp, &lo, &t->saved_hi))
    unknown_stack(t, t->saved_sp);
  t->off_stack = t->saved_sp < t->stack_lo || t->saved_sp > t->stack_hi;
}

/* In an _Unwind_Backtrace callback, _Unwind_GetCFA(ctx) is the CFA of the
 * frame's callee, that is this frame's stack pointer at its call: the base
 * of its rsp-relative map locations.  Where the frame ends is only known at
 * the next callback (the caller's stack pointer), so a frame scanned as
 * memory is left pending until then. */
struct walk {
  uintptr_t start_ip;   /* first frame to scan: the one returning here */
  bool interrupted;     /* ...or the frame a signal interrupted at start_ip */
  uintptr_t int_sp;     /* its stack pointer */
  bool started;
  uintptr_t sp;         /* the current frame's stack pointer */
  uintptr_t pending_lo; /* frame memory to scan up to the next sp, or 0 */
  uintptr_t seg_lo, seg_hi; /* the stack the current frame is on */
  struct preempt_thread *t;
  struct preempt_vec *sink;
  struct preempt_vec *frames; /* (sink index, ip) per frame, or NULL */
};

_Atomic int preempt_stack_frames_wanted;

/* Where each frame's roots begin, for heap snapshots. */
static void frame_begins(struct walk *w, uintptr_t ip) {
  if (w->frames) {
    preempt_vec_push(w->frames, w->sink->len);
    preempt_vec_push(w->frames, ip);
  }
}

static struct preempt_vec *frames_of(struct preempt_thread *t) {
  t->frames.len = 0;
  return atomic_load_explicit(&preempt_stack_frames_wanted, memory_order_relaxed)
             ? &t->frames
             : NULL;
}

static inline void push(struct walk *w, uintptr_t v) {
  if (preempt_in_heap(v))
    preempt_vec_push(w->sink, v);
}

PREEMPT_NO_ASAN static void push_range(struct walk *w, uintptr_t lo, uintptr_t hi) {
  for (uintptr_t p = ALIGN_UP(lo, sizeof(uintptr_t));
       p + sizeof(uintptr_t) <= hi; p += sizeof(uintptr_t))
    push(w, *(const uintptr_t *)p);
}

static uintptr_t reg_value(struct _Unwind_Context *ctx, struct walk *w,
                           int reg) {
  return reg == PREEMPT_DWARF_SP ? w->sp : (uintptr_t)_Unwind_GetGR(ctx, reg);
}

/* Memory a map may point at: this frame and the frames above it (byval
 * arguments live in the caller's frame). */
static bool on_stack(const struct walk *w, uintptr_t a, size_t n) {
  return a >= w->sp && a <= w->seg_hi && n <= w->seg_hi - a;
}

PREEMPT_NO_ASAN static bool load(struct _Unwind_Context *ctx, struct walk *w,
                 const struct preempt_loc *l, uintptr_t *out) {
  uintptr_t a;
  switch (l->kind) {
  case PREEMPT_LOC_REG:
    *out = reg_value(ctx, w, l->reg);
    return true;
  case PREEMPT_LOC_DIRECT:
    *out = reg_value(ctx, w, l->reg) + (uintptr_t)(intptr_t)l->offset;
    return true;
  case PREEMPT_LOC_IND:
    a = reg_value(ctx, w, l->reg) + (uintptr_t)(intptr_t)l->offset;
    if (!on_stack(w, a, sizeof(uintptr_t)))
      return false;
    *out = *(const uintptr_t *)a;
    return true;
  case PREEMPT_LOC_CONST:
    *out = l->size;
    return true;
  }
  return false;
}

PREEMPT_NO_ASAN static void scan_precise(struct _Unwind_Context *ctx, struct walk *w,
                         const uint8_t *p, const uint8_t *end) {
  uint32_t nv, nr;
  struct preempt_loc l, size;
  uintptr_t v, n;
  if (!preempt_read_record(&p, end, &nv, &nr))
    return; /* validated when registered */
  for (uint32_t i = 0; i < nv && preempt_read_loc(&p, end, &l); i++) {
    if (l.kind == PREEMPT_LOC_IND_N) {
      uintptr_t a = reg_value(ctx, w, l.reg) + (uintptr_t)(intptr_t)l.offset;
      if (on_stack(w, a, l.size))
        push_range(w, a, a + l.size);
    } else if (load(ctx, w, &l, &v)) {
      push(w, v);
    }
  }
  for (uint32_t i = 0; i < nr; i++) {
    if (!preempt_read_loc(&p, end, &l) || !preempt_read_loc(&p, end, &size))
      return;
    if (l.kind == PREEMPT_LOC_CONST) { /* the whole frame */
      w->pending_lo = w->sp;
    } else if (load(ctx, w, &l, &v) && load(ctx, w, &size, &n) && on_stack(w, v, n))
      push_range(w, v, v + n);
  }
}

/* The bottom of the red zone below a frame that stopped at sp. */
static uintptr_t red_zone_lo(const struct walk *w, uintptr_t sp) {
  uintptr_t lo = sp - PREEMPT_ARCH_RED_ZONE;
  return lo > w->seg_lo && lo < sp ? lo : w->seg_lo;
}

static _Unwind_Reason_Code frame_cb(struct _Unwind_Context *ctx, void *arg) {
  struct walk *w = arg;
  int before_insn = 0;
  uintptr_t ip = (uintptr_t)_Unwind_GetIPInfo(ctx, &before_insn);
  uintptr_t sp = (uintptr_t)_Unwind_GetCFA(ctx);
  if (sp < w->seg_lo || sp > w->seg_hi) {
    /* Onto another stack: out of a signal handler on the signal stack, or
     * a coroutine's.  Finish this one. */
    uintptr_t lo, hi;
    if (!segment_of(w->t, sp, &lo, &hi))
      return _URC_END_OF_STACK; /* unknown memory: stop, scan the rest */
    if (w->pending_lo)
      push_range(w, w->pending_lo, w->seg_hi);
    w->pending_lo = 0;
    w->seg_lo = lo;
    w->seg_hi = hi;
    w->sp = sp;
  }
  if (sp < w->sp)
    return _URC_END_OF_STACK; /* going back down: the unwinder is lost */
  if (w->started) /* what is pushed from here on is this frame's */
    frame_begins(w, ip);
  if (w->pending_lo) {
    push_range(w, w->pending_lo, sp);
    w->pending_lo = 0;
  }
  w->sp = sp;
  if (!w->started) {
    /* Runtime frames below the user's call into the runtime, or the signal
     * handler's frames below the interrupted one. */
    if (ip != w->start_ip || before_insn != w->interrupted ||
        (w->interrupted && sp != w->int_sp))
      return _URC_NO_REASON;
    w->started = true;
    frame_begins(w, ip);
    if (w->interrupted) {
      /* Stopped at any instruction: no map holds here.  Its registers
       * were pushed from the signal context; its frame, and the red zone
       * below it a leaf may use, are scanned whole. */
      w->pending_lo = red_zone_lo(w, sp);
      return _URC_NO_REASON;
    }
  }
  const uint8_t *end = NULL;
  const uint8_t *rec = before_insn ? NULL : preempt_registry_lookup(ip, &end);
  size_t pushed = w->sink->len;
  if (preempt_opts.verbose >= 2)
    preempt_warn("frame ip=%p sp=%p %s", (void *)ip, (void *)sp,
                 rec ? "precise" : "conservative");
  if (rec) {
    scan_precise(ctx, w, rec, end);
  } else {
    /* A frame a signal interrupted (under a handler of the program's, on
     * a signal stack perhaps) may have data in its red zone too. */
    w->pending_lo = before_insn ? red_zone_lo(w, sp) : sp;
    for (int i = 0; i < PREEMPT_NUM_CALLEE_SAVED; i++)
      push(w, (uintptr_t)_Unwind_GetGR(ctx, callee_saved[i]));
  }
  if (preempt_opts.verbose >= 2)
    for (size_t i = pushed; i < w->sink->len; i++)
      preempt_warn("  root %p", (void *)w->sink->data[i]);
  return _URC_NO_REASON;
}

static void walk_stack(struct walk *w);

struct loader_walk {
  uintptr_t pc;
  bool started, found;
  int frames; /* C library frames left to look through */
};

static _Unwind_Reason_Code loader_cb(struct _Unwind_Context *ctx, void *arg) {
  struct loader_walk *w = arg;
  int before_insn = 0;
  uintptr_t ip = (uintptr_t)_Unwind_GetIPInfo(ctx, &before_insn);
  if (!w->started) { /* the handler's frames, then the interrupted one */
    w->started = before_insn && ip == w->pc;
    return _URC_NO_REASON;
  }
  if (preempt_signal_in_loader_text(ip - 1)) {
    w->found = true;
    return _URC_END_OF_STACK;
  }
  return preempt_signal_in_libc_text(ip - 1) && --w->frames > 0
             ? _URC_NO_REASON
             : _URC_END_OF_STACK;
}

bool preempt_stack_libc_called_by_loader(const void *uc) {
  struct loader_walk w = {.pc = preempt_arch_context_pc(uc), .frames = 8};
  _Unwind_Backtrace(loader_cb, &w);
  return w.found;
}


void preempt_scan_own_stack(struct preempt_thread *t, uintptr_t start_ip,
                            struct preempt_vec *sink) {
  struct walk w = {
      .start_ip = start_ip,
      .t = t,
      .sink = sink,
      .frames = frames_of(t),
  };
  walk_stack(&w);
}

static void push_value(void *arg, uintptr_t v) { push(arg, v); }

void preempt_scan_interrupted(struct preempt_thread *t, const void *uc,
                              struct preempt_vec *sink) {
  struct walk w = {
      .start_ip = preempt_arch_context_pc(uc),
      .interrupted = true,
      .int_sp = preempt_arch_context_sp(uc),
      .t = t,
      .sink = sink,
      .frames = frames_of(t),
  };
  preempt_arch_context_values(uc, push_value, &w);
  walk_stack(&w);
}

/* From here outwards: frames below are the runtime's own. */
__attribute__((noinline)) static void walk_stack(struct walk *w_) {
  struct walk w = *w_;
  struct preempt_thread *t = w.t;
  w.sp = preempt_arch_stack_pointer();
  if (!segment_of(t, w.sp, &w.seg_lo, &w.seg_hi))
    unknown_stack(t, w.sp);
  t->scan_sp = w.sp;
  uintptr_t lowest = w.sp;
  _Unwind_Backtrace(frame_cb, &w);
  if (!w.started) {
    static _Atomic bool warned;
    if (!w.interrupted && !atomic_exchange(&warned, true))
      preempt_warn("stack walk did not find the caller's frame; scanning "
                   "the whole stack conservatively");
    /* An interrupted frame the unwinder could not reach (code without
     * unwind information under a signal frame): all of it, conservatively. */
    w.pending_lo = lowest;
  }
  /* The outermost frame, and whatever the unwinder could not reach. */
  if (!w.pending_lo)
    w.pending_lo = w.sp;
  if (w.pending_lo < w.seg_hi)
    push_range(&w, w.pending_lo, w.seg_hi);
  /* Ended elsewhere than on the thread's own stack (a coroutine's, or a
   * signal stack the unwinder could not leave): what the thread left on
   * its own stack is scanned whole. */
  if (w.seg_hi != t->stack_hi)
    push_range(&w, preempt_stack_mapped_lo(t), t->stack_hi);
}
