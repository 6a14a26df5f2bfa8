/* Snapshots into memory.  preempt_heap_snapshot writes to a memfd (it
 * writes only after the world restarts, so the kernel buffers it as
 * ordinary memory), which is then mapped read-only and shared by
 * reference: a response sending /snapshot keeps its mapping alive while
 * a newer snapshot replaces the kept one.  One snapshot at a time (the
 * mutex): the walk stops the world, and two at once would only queue
 * there anyway. */
#define _GNU_SOURCE
#include "debug_impl.h"

#include <preempt.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static pthread_mutex_t capture_lock = PTHREAD_MUTEX_INITIALIZER;
static struct preempt_debug__snap *last; /* under capture_lock */
static unsigned long serial;             /* under capture_lock */

void preempt_debug__snap_ref(struct preempt_debug__snap *s) {
  __atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
}

void preempt_debug__snap_unref(struct preempt_debug__snap *s) {
  if (!s || __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL))
    return;
  if (s->len)
    munmap((void *)s->data, s->len);
  free(s);
}

/* A snapshot taken into a new memfd, mapped. */
static struct preempt_debug__snap *take(const char *reason, char *err,
                                        size_t errlen) {
  int fd = memfd_create("preempt-debug-snapshot", MFD_CLOEXEC);
  if (fd < 0) {
    snprintf(err, errlen, "memfd_create: %s", strerror(errno));
    return NULL;
  }
  struct preempt_debug__snap *s = NULL;
  struct stat st;
  if (preempt_heap_snapshot(fd, reason)) {
    snprintf(err, errlen, "preempt_heap_snapshot: %s", strerror(errno));
  } else if (fstat(fd, &st)) {
    snprintf(err, errlen, "fstat of the snapshot's memfd: %s", strerror(errno));
  } else if (st.st_size <= 0) {
    snprintf(err, errlen, "preempt_heap_snapshot wrote nothing");
  } else if (!(s = calloc(1, sizeof *s))) {
    snprintf(err, errlen, "out of memory");
  } else {
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
      snprintf(err, errlen, "mmap of the snapshot (%lld bytes): %s",
               (long long)st.st_size, strerror(errno));
      free(s);
      s = NULL;
    } else {
      s->data = p;
      s->len = (size_t)st.st_size;
      s->refs = 1;
    }
  }
  close(fd); /* the mapping keeps the memory */
  return s;
}

struct preempt_debug__snap *
preempt_debug__capture(const char *reason, struct preempt_debug__snap **prev,
                       char *err, size_t errlen) {
  pthread_mutex_lock(&capture_lock);
  struct preempt_debug__snap *s = take(reason, err, errlen);
  if (s) {
    s->serial = ++serial;
    if (prev)
      *prev = last; /* the kept reference moves to the caller */
    else
      preempt_debug__snap_unref(last);
    last = s;
    preempt_debug__snap_ref(s); /* one kept, one for the caller */
  }
  pthread_mutex_unlock(&capture_lock);
  return s;
}

void preempt_debug__capture_lock(void) { pthread_mutex_lock(&capture_lock); }
void preempt_debug__capture_unlock(void) {
  pthread_mutex_unlock(&capture_lock);
}
void preempt_debug__capture_forked(void) {
  last = NULL; /* the parent's; its mapping stays mapped here, unused */
  serial = 0;
  pthread_mutex_unlock(&capture_lock);
}

void preempt_debug__capture_reset(void) {
  pthread_mutex_lock(&capture_lock);
  preempt_debug__snap_unref(last);
  last = NULL;
  serial = 0;
  pthread_mutex_unlock(&capture_lock);
}
