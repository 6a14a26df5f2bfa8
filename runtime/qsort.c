/* qsort and qsort_r, for every caller.
 *
 * glibc sorts arrays of 1 KiB or more through a temporary array it
 * mallocs, and copies it back after each merge: while it copies, some
 * elements are only in that array, which no collector scans.  A thread
 * stopped there by the signal would lose them.  The sort is therefore a
 * runtime critical section, except while the program's comparator runs:
 * then every element is in the program's own array (glibc calls the
 * comparator only while merging, before the copy back), and the thread
 * may be stopped there as anywhere else.  A stop that arrives during
 * glibc's own code waits for the next comparison or the end. */
#define _GNU_SOURCE
#include "threads.h"

#include <stdlib.h>

typedef void qsort_r_fn(void *, size_t, size_t,
                        int (*)(const void *, const void *, void *), void *);

struct cmp {
  int (*plain)(const void *, const void *);
  int (*with_arg)(const void *, const void *, void *);
  void *arg;
};

static int compare(const void *a, const void *b, void *p) {
  const struct cmp *c = p;
  preempt_nopreempt_end();
  int r = c->plain ? c->plain(a, b) : c->with_arg(a, b, c->arg);
  preempt_nopreempt_begin();
  return r;
}

static void sort(void *base, size_t n, size_t size, struct cmp *c) {
  static qsort_r_fn *_Atomic real;
  if (!real)
    real = (qsort_r_fn *)preempt_libc_symbol("qsort_r");
  preempt_nopreempt_begin();
  real(base, n, size, compare, c);
  preempt_nopreempt_end();
}

__attribute__((visibility("default"))) void
qsort(void *base, size_t n, size_t size,
      int (*cmp)(const void *, const void *)) {
  struct cmp c = {cmp, NULL, NULL};
  sort(base, n, size, &c);
}

__attribute__((visibility("default"))) void
qsort_r(void *base, size_t n, size_t size,
        int (*cmp)(const void *, const void *, void *), void *arg) {
  struct cmp c = {NULL, cmp, arg};
  sort(base, n, size, &c);
}
