/* preempt: precise garbage collection for C.
 *
 * Compile with `clang-19 -fplugin=preempt.so` to get precise stack maps,
 * link with -lpreempt for the collector.  See README.md.
 *
 * Every public name starts with preempt_ or PREEMPT_.
 */
#ifndef PREEMPT_H
#define PREEMPT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PREEMPT_API __attribute__((visibility("default")))

/* ---- keep_alive -------------------------------------------------------
 * With precise maps an object may be collected right after the last use of
 * its pointer, even if a resource it owns (a file descriptor closed by its
 * finalizer) is still in use.  preempt_keep_alive(p) marks p as used at
 * this point: every call before it keeps p in its stack map.  With the
 * plugin it compiles to no instruction; without it (other compilers) the
 * empty asm still forces p to be kept until here.  Like Go's
 * runtime.KeepAlive. */
#define preempt_keep_alive(p)                                                  \
  __asm__ __volatile__("# preempt_keep_alive %0" : : "r"((const void *)(p)))

/* PREEMPT_KEEP_ALIVE on a local pointer variable: its value stays alive to
 * the end of the variable's scope, as if preempt_keep_alive were called
 * there.   void *p PREEMPT_KEEP_ALIVE = preempt_alloc(16);  */
static inline void preempt__keep_alive_cleanup(void *slot) {
  preempt_keep_alive(*(void *const *)slot);
}
#if defined(__has_attribute)
#if __has_attribute(preempt_keep_alive) /* the plugin is loaded */
#define PREEMPT_KEEP_ALIVE __attribute__((preempt_keep_alive))
#endif
#endif
#ifndef PREEMPT_KEEP_ALIVE
#define PREEMPT_KEEP_ALIVE __attribute__((cleanup(preempt__keep_alive_cleanup)))
#endif

/* ---- unsafe points --------------------------------------------------------
 * To stop the world the runtime may interrupt a thread at any instruction of
 * code built with the plugin.  Code that holds a heap pointer only in a form
 * the collector cannot recognise (an integer with tag bits in it, xor'ed,
 * shifted) must not be interrupted there: mark it.  A thread signalled
 * inside such a range runs on and stops at the poll the plugin puts at the
 * end of the range (and before each return of a PREEMPT_UNSAFE function).
 * The plugin finds ptrtoint -> xor/shift/tag -> inttoptr sequences itself;
 * these are for what it cannot see.  `preempt-maps --pc ADDR` says whether
 * an instruction is an asynchronous safe point and, if not, why.
 *
 * PREEMPT_UNSAFE on a function: its whole body (prologue and epilogue
 * included) is one unsafe range.  It is never inlined.
 *     PREEMPT_UNSAFE uintptr_t hash_ptr(void *p) { ... }
 *
 * preempt_unsafe_begin(v) / preempt_unsafe_end(v): a range inside a function.
 * v is the pointer (or integer) the range protects, an lvalue: begin keeps it
 * alive up to the range, and code that computes from v after begin, or that
 * end's v depends on, cannot be moved out of the range by the compiler.
 *     preempt_unsafe_begin(p);
 *     uintptr_t h = (uintptr_t)p ^ key;      ... no use of p below ...
 *     q = (struct node *)(h ^ key);
 *     preempt_unsafe_end(q);
 * Every path from a begin must reach an end in the same function, and ranges
 * do not nest (the plugin says so at compile time).  Calls inside a range
 * still stop the thread cooperatively, and the collector then cannot see a
 * pointer held only as a hidden integer either: keep the pointer itself
 * alive across such calls.
 *
 * Without the plugin (another compiler, or clang without -fplugin) these
 * compile to nothing but an empty asm that keeps v in a register: there are
 * no tables and no polls, and the runtime treats such code as having none of
 * the plugin's information, like any code built without it. */
#if defined(__has_attribute)
#if __has_attribute(preempt_unsafe) /* the plugin is loaded */
#define PREEMPT_UNSAFE __attribute__((preempt_unsafe))
#elif __has_attribute(annotate) /* clang: -fpass-plugin alone sees it too */
#define PREEMPT_UNSAFE __attribute__((noinline, annotate("preempt_unsafe")))
#endif
#endif
#ifndef PREEMPT_UNSAFE
#define PREEMPT_UNSAFE __attribute__((noinline))
#endif
#define preempt_unsafe_begin(v)                                                \
  __asm__ __volatile__("# preempt_unsafe_begin %0" : "+r"(v) : : "memory")
#define preempt_unsafe_end(v)                                                  \
  __asm__ __volatile__("# preempt_unsafe_end %0" : "+r"(v) : : "memory")

/* ---- allocation ---------------------------------------------------------
 * Objects are zeroed, never move, and stay alive while a root (a live
 * local, also a union, double or vector holding a pointer's bits; a
 * global, a registered root range, a reachable object) points into them:
 * interior pointers count, and so does a pointer one past the end of
 * memory from preempt_alloc, preempt_alloc_noscan, preempt_alloc_typed
 * and preempt_new_array (such objects get a byte of
 * padding).  A single preempt_new(T) object is not padded: one past its
 * end may be the next object, so keep a pointer into it.  Ordinary objects
 * are scanned for pointers conservatively (every aligned word).  Memory
 * from malloc, including C++ exception objects (__cxa_allocate_exception),
 * is not scanned: register it with preempt_add_roots while it holds the
 * only reference to a heap object. */
PREEMPT_API void *preempt_alloc(size_t size);
/* Memory that holds no pointer (strings, numbers): never scanned. */
PREEMPT_API void *preempt_alloc_noscan(size_t size);
/* Records type_name for heap reports (preempt_heap_report). */
PREEMPT_API void *preempt_alloc_typed(size_t size, const char *type_name);
/* preempt_new(T): a zeroed T, recorded as type "T".  Each use site looks
 * the type up once (in *slot) rather than at every allocation. */
PREEMPT_API void *preempt__alloc_slot(size_t size, const char *type_name,
                                      int *slot);
/* What the plugin turns preempt__alloc_slot into when it knows the type's
 * layout (which words may hold pointers). */
PREEMPT_API void *preempt__alloc_layout(size_t size, const char *type_name,
                                        int *slot, const void *layout);
#define preempt__alloc_named(size, name)                                       \
  (__extension__({                                                             \
    static int preempt__type_slot;                                             \
    preempt__alloc_slot((size), (name), &preempt__type_slot);                 \
  }))
#define preempt_new(T) ((T *)preempt__alloc_named(sizeof(T), #T))
#define preempt_new_array(T, n)                                                \
  ((T *)preempt__alloc_named(preempt__array_size(sizeof(T), (n)), #T "[]"))
/* SIZE_MAX on overflow, which allocation refuses (out of memory). */
static inline size_t preempt__array_size(size_t elem, size_t n) {
  size_t r;
  return __builtin_mul_overflow(elem, n, &r) ? (size_t)-1 : r;
}

/* A layout made at run time (Boehm GC's GC_make_descriptor): word i of an
 * object may hold a pointer if bit i % 64 of bitmap[i / 64] is set, for
 * the first nwords words; words after them are never scanned.  Objects
 * from preempt_alloc_described(size, d) (size at least nwords words) are
 * scanned at those words only, like preempt_new(T) objects, and reported
 * as type type_name (NULL: "(descriptor N)").  A descriptor lasts as long
 * as the program.  NULL if nwords is 0 or memory is short. */
typedef struct preempt_descriptor preempt_descriptor;
PREEMPT_API preempt_descriptor *preempt_make_descriptor(const uint64_t *bitmap,
                                                        size_t nwords,
                                                        const char *type_name);
PREEMPT_API void *preempt_alloc_described(size_t size, preempt_descriptor *d);

/* What allocation does when the heap cannot grow: the default aborts with
 * a message; PREEMPT_OOM_NULL makes allocation return NULL. */
enum preempt_oom_policy { PREEMPT_OOM_ABORT = 0, PREEMPT_OOM_NULL = 1 };
PREEMPT_API enum preempt_oom_policy preempt_set_oom_policy(enum preempt_oom_policy p);

/* ---- explicit free and object queries ------------------------------------
 * preempt_free(p): p's object is dead, say so.  Its memory is cleared at
 * once (filled with 0xdb under PREEMPT=poison) and its slot reused after
 * the next collection, even if a stale pointer still reaches it; its
 * finalizer, if any, never runs.  NULL is ignored.  Fatal, naming the
 * caller: a pointer into the middle of an object, outside the heap, to a
 * pinned object, or freed twice before a collection (after one, the slot
 * may hold a new object: a double free then frees that one). */
PREEMPT_API void preempt_free(void *p);
/* The start of the object p points into (its start or inside it), or NULL
 * if p is not in a live object (freed ones included).  This query and the
 * two below may also be made with the world stopped by the caller. */
PREEMPT_API void *preempt_object_start(const void *p);
/* The bytes usable at preempt_object_start(p) (at least the size asked
 * for), or 0. */
PREEMPT_API size_t preempt_object_size(const void *p);
/* 1 if p's object is scanned for pointers, 0 if it is pointer-free
 * (preempt_alloc_noscan), -1 if p is not in an allocated object. */
PREEMPT_API int preempt_object_scanned(const void *p);

/* ---- weak references and ephemerons ---------------------------------------
 * A weak slot is set to NULL by the collection that finds its object
 * unreachable.  preempt_weak_set stores the object hidden, so the slot
 * keeps nothing alive wherever it is (stack, global, heap object); read it
 * with preempt_weak_get only.  A long link (preempt_weak_set_long) is
 * cleared only once the object is reclaimed: it survives the collection
 * that queues the object's finalizer.  preempt_weak_link registers a slot
 * whose contents the program manages (hide the pointer, ~(uintptr_t)obj,
 * or keep it in memory no scan reads), as Boehm GC's disappearing links.
 * Setting or linking a slot again replaces its object (returns 1, else
 * 0); a slot inside a heap object is forgotten when that object dies.
 * preempt_weak_unlink forgets a slot (returns whether it was linked);
 * unlink a slot on the stack or in malloc'd memory before that memory
 * goes, or a later collection may write NULL into whatever reuses it. */
PREEMPT_API int preempt_weak_set(void **slot, const void *obj);
PREEMPT_API int preempt_weak_set_long(void **slot, const void *obj);
PREEMPT_API void *preempt_weak_get(void *const *slot);
PREEMPT_API int preempt_weak_link(void **slot, const void *obj, int long_link);
PREEMPT_API int preempt_weak_unlink(void **slot);
/* Moves the link of slot from to slot to, with its object and kind (long
 * or not): 0; 1 if to is linked already (nothing moves; 0 if to == from);
 * -1 if from is not linked, or not long_link's kind. */
PREEMPT_API int preempt_weak_move(void **from, void **to, int long_link);
/* An ephemeron holds key and value; the value is kept alive only while
 * the key is reachable other than through ephemerons' values (chains
 * across ephemerons resolve).  When the key dies both read NULL.  The
 * ephemeron is a heap object, collected when unreachable; keep it where
 * the table's entries go. */
typedef struct preempt_ephemeron preempt_ephemeron;
PREEMPT_API preempt_ephemeron *preempt_ephemeron_new(const void *key,
                                                     const void *value);
PREEMPT_API void *preempt_ephemeron_key(const preempt_ephemeron *e);
PREEMPT_API void *preempt_ephemeron_value(const preempt_ephemeron *e);

/* ---- hooks -----------------------------------------------------------------
 * Set at any time (NULL: none), from any thread.  The event hook runs on
 * the collecting thread with the heap locked, the world stopped from
 * PREEMPT_EVENT_WORLD_STOPPED to PREEMPT_EVENT_WORLD_STARTING: it must not
 * allocate from the collected heap, call the runtime, or wait for another
 * thread.  value: the heap's mapped bytes for HEAP_RESIZE, the collection's
 * number for the others.  The warning hook gets each warning instead of
 * stderr.  The fatal hook gets the message of a fatal error before the
 * program aborts (it may exit or longjmp instead; it may run in a signal
 * handler or with the heap locked, so it should only report).  The out-of-memory hook
 * is asked when an allocation of size bytes fails: what it returns (memory
 * it freed up, or some of its own) is the allocation's result; NULL falls
 * back to preempt_set_oom_policy. */
enum preempt_event {
  PREEMPT_EVENT_GC_START,       /* a collection begins, world running */
  PREEMPT_EVENT_WORLD_STOPPED,  /* every other thread is stopped */
  PREEMPT_EVENT_MARK_END,       /* the live objects are known */
  PREEMPT_EVENT_WORLD_STARTING, /* swept; the threads restart next */
  PREEMPT_EVENT_GC_END,         /* the world runs again */
  PREEMPT_EVENT_HEAP_RESIZE,    /* the heap grew, or a collection shrank it */
};
typedef void (*preempt_event_fn)(enum preempt_event ev, size_t value,
                                 void *arg);
typedef void (*preempt_message_fn)(const char *msg, void *arg);
typedef void *(*preempt_oom_fn)(size_t size, void *arg);
PREEMPT_API void preempt_set_event_hook(preempt_event_fn fn, void *arg);
PREEMPT_API void preempt_set_warning_hook(preempt_message_fn fn, void *arg);
PREEMPT_API void preempt_set_fatal_hook(preempt_message_fn fn, void *arg);
PREEMPT_API void preempt_set_oom_hook(preempt_oom_fn fn, void *arg);

/* ---- collection -------------------------------------------------------- */
/* Full stop-the-world collection now. */
PREEMPT_API void preempt_gc(void);
/* Like GOGC: collect when the heap has grown by percent % over the live
 * data of the last collection; negative turns automatic collection off.
 * Returns the previous setting.  Also PREEMPT=gc=N in the environment. */
PREEMPT_API int preempt_set_gc_percent(int percent);
/* The most memory the heap may commit (objects and free pages, not the
 * runtime's own tables); beyond it a collection is tried, then allocation
 * fails (see preempt_set_oom_policy).  May be called at any time, e.g. at
 * the top of main; below the heap's present size it stops further growth
 * without shrinking the heap.  Address space for 64 GiB (or
 * PREEMPT=limit=N[k|m|g], if larger) is reserved at start-up: the limit
 * cannot go beyond that.  PREEMPT=limit sets it from the environment (1m at
 * least).  A malformed PREEMPT setting stops the program at start-up with a
 * message naming the key. */
PREEMPT_API void preempt_set_heap_limit(size_t bytes);

/* ---- roots ---------------------------------------------------------------
 * Globals and .bss of every loaded object are roots already.  Memory from
 * malloc or mmap that holds heap pointers must be registered. */
PREEMPT_API void preempt_add_roots(const void *start, size_t size);
/* The same, named (the name is copied): heap snapshots say which
 * registered range holds each object, and can start from named ranges
 * only (preempt_heap_snapshot_from). */
PREEMPT_API void preempt_add_named_roots(const void *start, size_t size,
                                         const char *name);
/* start must be the start given to preempt_add_roots; any other start gets
 * a warning and removes nothing.  Remove a range before unmapping it: a
 * collection that finds a registered range unmapped stops the program
 * with a message naming the range. */
PREEMPT_API void preempt_remove_roots(const void *start);

/* ---- pinning (Go's runtime.Pinner) -----------------------------------------
 * Foreign code (a C library storing a user-data pointer, a hidden or
 * malloc'ed copy) may keep a heap pointer the collector cannot see.
 * preempt_pin(p) keeps p's object (p may point inside it) alive, and what
 * it points to, until a matching preempt_unpin(p): pins are counted.  An
 * object whose pins are all gone is an ordinary object again, collected
 * once unreachable.  Pin an object while it is reachable (before a call
 * hands it over).  Thread-safe, from any thread, attached or not; no
 * allocation on the collected heap.  Pinning NULL, a pointer outside the
 * heap or into a freed object, and unpinning an object that is not pinned,
 * are fatal errors saying which.  PREEMPT=cgocheck=1 checks heap objects
 * given to foreign calls for pointers to unpinned objects. */
PREEMPT_API void preempt_pin(const void *obj);
PREEMPT_API void preempt_unpin(const void *obj);

/* ---- finalizers -----------------------------------------------------------
 * fn(obj, arg) runs once obj is found unreachable, never while it is
 * reachable, on the runtime's finalizer thread, one at a time.  The object
 * is freed by a later collection.  If A refers to B and both have
 * finalizers, A's runs first.  fn == NULL removes the finalizer.
 * Pointers from obj into itself do not keep it reachable, but an object
 * that can reach itself through other objects (a cycle) is never
 * finalized nor freed, as in Go: put the finalizer on an object outside
 * the cycle.  A heap object arg is kept alive until fn has run (like
 * Boehm GC's client data), unless it points into obj.  A forked child
 * runs the finalizers queued in the parent (the one running at the fork,
 * again). */
typedef void (*preempt_finalizer_fn)(void *obj, void *arg);
PREEMPT_API void preempt_set_finalizer(void *obj, preempt_finalizer_fn fn, void *arg);
/* Blocks until every finalizer queued so far has run (at once, when called
 * from a finalizer). */
PREEMPT_API void preempt_run_finalizers(void);
/* Boehm GC's orders.  ORDERED is preempt_set_finalizer's (Boehm's
 * _ignore_self).  NO_ORDER: finalized once no root reaches the object,
 * even if another finalizable object does (what it refers to may be
 * finalized in the same round).  UNREACHABLE: ordered, and not finalized
 * while a NO_ORDER object being finalized can reach it.  STRICT: ordered,
 * and never finalized while it holds a pointer into itself (Boehm's
 * GC_register_finalizer). */
enum preempt_finalizer_order {
  PREEMPT_FIN_ORDERED = 0,
  PREEMPT_FIN_NO_ORDER = 1,
  PREEMPT_FIN_UNREACHABLE = 2,
  PREEMPT_FIN_STRICT = 3,
};
PREEMPT_API void preempt_set_finalizer_order(void *obj, preempt_finalizer_fn fn,
                                             void *arg,
                                             enum preempt_finalizer_order order);
/* The same, giving back the finalizer and argument it replaces (NULL, NULL
 * if none). */
PREEMPT_API void preempt_replace_finalizer(void *obj, preempt_finalizer_fn fn,
                                           void *arg,
                                           enum preempt_finalizer_order order,
                                           preempt_finalizer_fn *old_fn,
                                           void **old_arg);
/* Queues every registered finalizer, reachable object or not (Java's
 * runFinalizersOnExit), to run as any queued finalizer does. */
PREEMPT_API void preempt_finalize_all(void);
/* Finalization on demand (single-threaded interpreters): with on, the
 * finalizer thread runs nothing; preempt_invoke_finalizers runs what is
 * queued on the calling thread and returns how many ran (0 at once when
 * called from a finalizer).  The notifier,
 * if set, is called after each collection that left finalizers queued
 * (on the collecting thread, heap locked: it should only set a flag). */
PREEMPT_API void preempt_set_finalize_on_demand(int on);
PREEMPT_API size_t preempt_invoke_finalizers(void);
/* How many finalizers are queued and not yet run. */
PREEMPT_API size_t preempt_finalizers_queued(void);
PREEMPT_API void preempt_set_finalizer_notifier(void (*fn)(void *arg),
                                                void *arg);

/* ---- threads ---------------------------------------------------------------
 * A thread that uses the heap must be attached: allocating attaches it, and
 * it is detached when it exits.  A thread started by pthread_create with a
 * heap object as its argument is attached before its start routine runs
 * (the object is a root until then).  A collection stops every attached
 * thread at its next allocation or preempt_safepoint(); threads inside
 * preempt_enter_blocking/exit_blocking (a long system call, a foreign
 * library) do not delay it, and must not touch the heap meanwhile.
 * Do not call into the runtime from a dl_iterate_phdr callback: a
 * collection scans globals under the loader's lock that it holds. */
PREEMPT_API void preempt_thread_attach(void);
PREEMPT_API void preempt_thread_detach(void);
PREEMPT_API int preempt_thread_attached(void);
/* Holds off every collection and stop (Boehm GC's allocation lock), for
 * reading a hidden pointer and revealing it, say: between the two the
 * calling thread must not allocate, collect, stop the world, or wait for a
 * thread that does.  Other threads that allocate wait.  Not recursive. */
PREEMPT_API void preempt_lock(void);
PREEMPT_API void preempt_unlock(void);
PREEMPT_API void preempt_safepoint(void);
PREEMPT_API void preempt_enter_blocking(void);
PREEMPT_API void preempt_exit_blocking(void);

/* Stacks other than the threads' own.  Signal handlers on a sigaltstack
 * need nothing.  A coroutine library (makecontext/swapcontext, or its own
 * switch) registers each stack it runs code on, from its lowest address,
 * before switching to it, and removes it before freeing it.  A thread on a
 * registered stack is walked there precisely; a registered stack no thread
 * is on, and a thread's own stack while it runs on another, are scanned
 * whole, conservatively (so keep a suspended coroutine's ucontext_t on its
 * stack or in the heap, not in malloc'd memory).  Running on an unknown
 * stack is a fatal error at the next collection, naming the thread. */
PREEMPT_API void preempt_add_stack(void *lo, size_t size);
PREEMPT_API void preempt_remove_stack(void *lo);

/* ---- stopping the world --------------------------------------------------
 * For tools that walk the heap, or anything that needs every other thread
 * still.  preempt_stop_the_world returns once every other attached thread
 * is stopped (threads started with pthread_create are attached from their
 * first instruction); preempt_start_the_world, from the same thread,
 * lets them go on.  Callable from any thread, attached or not.  Stops (and
 * collections) from several threads are serialised: a second caller waits
 * until the world runs again.  Stops do not nest: stopping twice, or
 * starting a world this thread did not stop, is a fatal error naming the
 * reason.  reason names the stop in statistics and messages.
 *
 * Threads are stopped by a signal (SIGURG by default) at whatever
 * instruction they are running, even in a loop with no call, or at their
 * next safepoint.  Threads blocked in a system call restart it after the
 * stop (SA_RESTART); calls SA_RESTART does not restart (sleeps, poll,
 * select, semaphores, socket calls with a timeout...) made from code built
 * with the plugin never see EINTR from a stop: the plugin turns them into
 * blocking regions, which are never signalled.
 *
 * While the world is stopped the stopping thread must not:
 *   - allocate on the collected heap or call preempt_gc (fatal error);
 *   - take a lock a stopped thread may hold: malloc/free, stdio (printf,
 *     fprintf), the dynamic linker (dlopen, dlsym, dl_iterate_phdr), or any
 *     lock of the program's own.  These deadlock only sometimes: when a
 *     stopped thread happened to be inside.  write(2) and snprintf into a
 *     buffer are safe.
 * PREEMPT=stwcheck=1 reports a stop that lasts longer than
 * PREEMPT=stwtimeout=N seconds (default 5), naming the stopping thread,
 * the reason and where that thread is (inside malloc, say). */
PREEMPT_API void preempt_stop_the_world(const char *reason);
PREEMPT_API void preempt_start_the_world(void);
/* preempt_stop_the_world(reason); fn(arg); preempt_start_the_world(). */
PREEMPT_API void preempt_with_world_stopped(const char *reason,
                                            void (*fn)(void *), void *arg);
/* The stop signal, instead of PREEMPT=signal=...: SIGURG (default),
 * SIGUSR1, SIGUSR2, SIGPWR, SIGVTALRM, SIGPROF or a real-time signal.
 * Only before the first thread is stopped (-1 and EBUSY after; -1 and
 * EINVAL for another signal).  A handler the program installs for the
 * same signal, before or after, still gets every signal that is not a
 * stop request.  PREEMPT=asyncpreempt=0 turns signals off: threads then
 * stop only at allocations, preempt_safepoint() and blocking regions. */
PREEMPT_API int preempt_set_stop_signal(int sig);

/* Time to stop (from the request until every thread had stopped), signals
 * sent, threads that needed more than one signal, and time spent stopped,
 * per reason ("gc" for collections).  A stop is counted as it ends (the
 * world restarts).  Fills up to max entries; returns the number of
 * reasons seen.  PREEMPT=trace=stw prints them at exit. */
struct preempt_stw_stats {
  char reason[48];
  uint64_t stops;
  uint64_t ttsp_p50_ns, ttsp_p99_ns, ttsp_max_ns; /* within 12.5% */
  uint64_t signals;
  uint64_t threads_resignalled;
  uint64_t stopped_ns;
};
PREEMPT_API size_t preempt_read_stw_stats(struct preempt_stw_stats *out,
                                          size_t max);

/* ---- foreign calls and callbacks (libffi) ---------------------------------
 * Calls into code built without the plugin (a C library, a plugin, a JIT)
 * with a signature chosen at run time, and callbacks from such code into
 * yours, as cgo does.  libpreempt.so brings libffi; with libpreempt.a
 * link -lffi too.
 *
 * A signature is a string, parsed once into a preempt_sig:
 *     ret(args)        "i(pzd)": int f(void *, size_t, double)
 *     v void (return only)       B _Bool
 *     c C  signed/unsigned char (8 bits)   s S  short (16)
 *     i I  int (32)    l L  long (64)      q Q  long long (64)
 *     z Z  size_t / ssize_t (ptrdiff_t)
 *     f float   d double   D long double
 *     p any pointer (data or function): heap objects among them are kept
 *       alive for the call, and checked by PREEMPT=cgocheck=1
 *     {...} a struct by value, its fields in order, nested at will; a count
 *       before a field repeats it (an array member): "{ip{cc}4d}" is
 *       struct { int; void *; struct { char, char }; double[4]; }
 *     ... last: a variadic function; the variadic arguments' types are
 *       given per call (promoted as C does: d, not f; i, not c s B)
 * Spaces are allowed between letters.  A bad signature is an error naming
 * it and the position at fault: with err, preempt_sig_new returns NULL
 * and writes the message there; with err NULL it is fatal.  A signature is
 * immutable and may be used by any number of threads at once; free it
 * after its last call and after every callback made from it is freed. */
typedef struct preempt_sig preempt_sig;
struct _ffi_type; /* libffi's ffi_type */
PREEMPT_API preempt_sig *preempt_sig_new(const char *text, char *err,
                                         size_t errsize);
/* A variadic signature ("i(p...)") completed with the types of one call's
 * variadic arguments ("ld"): prepare it once for calls made many times. */
PREEMPT_API preempt_sig *preempt_sig_variadic(const preempt_sig *base,
                                              const char *types, char *err,
                                              size_t errsize);
/* From ready libffi types (not copied: they must outlive the signature);
 * nfixed < 0 for a function that is not variadic. */
PREEMPT_API preempt_sig *preempt_sig_from_ffi(struct _ffi_type *ret,
                                              unsigned nargs,
                                              struct _ffi_type **args,
                                              int nfixed, char *err,
                                              size_t errsize);
PREEMPT_API void preempt_sig_free(preempt_sig *sig);
PREEMPT_API unsigned preempt_sig_nargs(const preempt_sig *sig);
PREEMPT_API const char *preempt_sig_text(const preempt_sig *sig);
/* Its ffi_cif (NULL for a variadic one whose types are not given yet). */
PREEMPT_API void *preempt_sig_cif(preempt_sig *sig);

/* Calls fn with the signature's arguments: args[i] points to the i-th
 * argument's value (libffi's convention), ret to storage for the return
 * value of the return type's own size (an int for 'i': no ffi_arg
 * widening to worry about; NULL to ignore it).  The thread is in the
 * blocking state for the call, like preempt_enter_blocking(): fn may
 * block for as long as it likes, never delays a collection or a stop of
 * the world, and is never interrupted by the runtime's stop signal (no
 * EINTR from it).  fn must not use the collected heap except through
 * callbacks (below).  Heap objects passed as pointer arguments ('p', also
 * inside structs) stay alive until fn returns, even if the caller holds
 * them nowhere else; after it returns foreign code must not keep them
 * (pin them: preempt_pin).  Calls nest: fn may call back, the callback
 * may call foreign code again, and so on.  Cost: signatures whose
 * arguments all fit in registers (x86-64: up to 6 integers or pointers and
 * 8 floats or doubles, no struct, no long double, not variadic) are
 * called directly, the others through libffi's ffi_call; the blocking
 * state adds two memory fences, or none once the program makes more than
 * one transition per microsecond (PREEMPT=membarrier, see bench/ffi). */
PREEMPT_API void preempt_ffi_call(const preempt_sig *sig, void (*fn)(void),
                                  void *ret, void **args);
/* The same without the blocking state, for short leaf functions (like
 * cgo's noescape/nocallback): fn runs as if it were part of the caller,
 * so it must not block or wait (with PREEMPT=asyncpreempt=0 it holds
 * every stop of the world up until it returns, and the stop signal may
 * interrupt its system calls with EINTR), must return quickly, and must
 * not keep a heap pointer after it returns.  It may call callbacks. */
PREEMPT_API void preempt_ffi_call_leaf(const preempt_sig *sig,
                                       void (*fn)(void), void *ret,
                                       void **args);
/* A variadic signature, with this call's variadic types ("ld"): parses
 * them at each call (use preempt_sig_variadic for a hot call). */
PREEMPT_API void preempt_ffi_call_variadic(const preempt_sig *sig,
                                           const char *types,
                                           void (*fn)(void), void *ret,
                                           void **args);
#define PREEMPT_FN(f) ((void (*)(void))(f))

/* Callbacks: a plain C function pointer of a signature, for foreign code
 * to call, that runs handler(ret, args, ctx): args[i] points to the i-th
 * argument, ret to storage for the return value of the return type's own
 * size (write an int for 'i').  Called from foreign code made through
 * preempt_ffi_call, the thread leaves the blocking state for the handler
 * (waiting while the world is stopped) and enters it again after it; from
 * code called directly (qsort, a library function called as usual) it
 * just runs; on a thread the runtime has never seen (a library's own
 * worker, PREEMPT=asyncpreempt=0) it attaches the thread, which then
 * stays attached, in the blocking state between callbacks, until it
 * exits (such a thread must enter instrumented code only through
 * callbacks).  Handlers may allocate, collect, stop the world, and call
 * foreign code again.  A handler must not return a heap pointer to
 * foreign code, nor store one in foreign memory, unless it is pinned.
 * Variadic signatures cannot be callbacks.
 *
 * The preempt_callback is a heap object: the function pointer is valid
 * until preempt_callback_free, or until the callback is collected (keep it
 * reachable, e.g. in the object that registered it, for as long as
 * foreign code may call it; then it is freed with that object).  It keeps
 * ctx alive.  sig must outlive it. */
typedef struct preempt_callback preempt_callback;
typedef void (*preempt_callback_fn)(void *ret, void **args, void *ctx);
PREEMPT_API preempt_callback *preempt_callback_new(const preempt_sig *sig,
                                                   preempt_callback_fn handler,
                                                   void *ctx);
/* A callback that calls fn, a function of the same signature, with the
 * same arguments: a C function of yours given the transitions. */
PREEMPT_API preempt_callback *preempt_callback_wrap(const preempt_sig *sig,
                                                    void (*fn)(void));
/* The C function pointer (cast it to the signature's type). */
PREEMPT_API void *preempt_callback_code(const preempt_callback *cb);
PREEMPT_API void preempt_callback_free(preempt_callback *cb);

/* ---- statistics ------------------------------------------------------- */
struct preempt_stats {
  uint64_t collections;
  uint64_t total_pause_ns, max_pause_ns, last_pause_ns;
  uint64_t heap_live_bytes;  /* after the last collection */
  uint64_t heap_alloc_bytes; /* allocated now (live + not yet collected) */
  uint64_t heap_mapped_bytes;
  uint64_t total_freed_bytes, total_freed_objects;
  uint64_t next_gc_bytes;
  uint64_t finalizers_run;
  uint64_t stack_records; /* call sites with maps in loaded objects */
};
PREEMPT_API void preempt_read_stats(struct preempt_stats *out);
/* Collects, then prints live objects by type to fd. */
PREEMPT_API void preempt_heap_report(int fd);
/* Writes a snapshot of the live heap to fd, for preempt-heap: every
 * object reachable from the roots (its size, type and the pointers it
 * holds) and every root (its kind, and the thread, frame, global or
 * registered range holding it).  The world is stopped only for the walk,
 * which allocates nothing on the heap and calls no malloc; the file is
 * written after the world restarts, so fd may be a pipe read by another
 * thread.  reason (NULL: "preempt_heap_snapshot") is recorded.  Returns 0,
 * or -1 with errno set (ENOMEM, or write's error). */
PREEMPT_API int preempt_heap_snapshot(int fd, const char *reason);
/* A snapshot of what the n root ranges registered with these names reach
 * (preempt_add_named_roots), and nothing else: "what does this cache
 * hold".  -1 with errno ENOENT if a name is not registered. */
PREEMPT_API int preempt_heap_snapshot_from(int fd, const char *reason,
                                           const char *const *names, size_t n);
/* fn(obj, size, arg) for every allocated object (live, or dead and not yet
 * collected).  No collection runs meanwhile, but other threads may still
 * allocate from their caches: call it with the world stopped for a still
 * heap (it may be called between preempt_stop_the_world and
 * preempt_start_the_world, or under preempt_lock).  fn must not allocate
 * on the collected heap. */
PREEMPT_API void preempt_heap_each_object(void (*fn)(void *obj, size_t size,
                                                     void *arg),
                                          void *arg);
/* A code address for messages: "f+0x12 (libfoo.so)", "prog+0x1234" or
 * "0x7f...".  Not with the world stopped (dladdr takes the loader's lock). */
PREEMPT_API void preempt_symbolise(uintptr_t addr, char *buf, size_t size);
/* Is p (possibly interior) inside an allocated object?  For tests. */
PREEMPT_API int preempt_is_heap_object(const void *p);

#ifdef __cplusplus
}
#endif
#endif
