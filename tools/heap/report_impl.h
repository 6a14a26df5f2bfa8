/* Shared by the report modules (report.c, pprof.c, html.c): the pieces of
 * the top and why reports each output format builds on.  Not part of the
 * report.h API. */
#ifndef PREEMPT_HEAP_REPORT_IMPL_H
#define PREEMPT_HEAP_REPORT_IMPL_H

#include "report.h"

#include <stdarg.h>

/* One row of top: a type's reachable objects. */
struct preempt_heap_typerow {
  uint32_t type;
  uint64_t objects, bytes, retained;
};

/* The types with reachable objects, largest retained first (then bytes,
 * then type index); *n rows, malloc'd.  NULL when out of memory. */
struct preempt_heap_typerow *
preempt_heap_type_rows(const struct preempt_heap_analysis *a, size_t *n);

/* The shortest-path predecessor tree and symbols, computed once. */
const struct preempt_bfs *preempt_heap_bfs(struct preempt_heap_analysis *a);
struct preempt_syms *preempt_heap_syms(struct preempt_heap_analysis *a);

/* The objects from a root to o (reachable), root's object first; *n of
 * them, malloc'd.  The root is &snap.roots[bfs->via[chain[0]]].  The
 * offset of the word in chain[i - 1] pointing to chain[i] is
 * snap.edge_offset[bfs->via[chain[i]]].  NULL when out of memory. */
uint32_t *preempt_heap_chain(const struct preempt_heap_analysis *a,
                             const struct preempt_bfs *b, uint32_t o,
                             size_t *n);

/* Where a root is: "\"name\", thread 100 (main), frame f+0x1b (a.c:3),
 * slot 0x7ff8" (the parts that apply). */
void preempt_heap_root_where(const struct preempt_snap *s,
                             struct preempt_syms *y,
                             const struct preempt_snap_root *r, char *buf,
                             size_t len);

/* The reachable object of the type named name retaining most (lowest
 * index among equals), PREEMPT_SNAP_NONE if none; *known tells whether
 * the type exists at all. */
uint32_t preempt_heap_largest_of_type(const struct preempt_heap_analysis *a,
                                      const char *name, int *known);

/* snprintf into err, always NUL-terminated; returns -1. */
int preempt_heap_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Per-type growth between two snapshots, types matched by name. */
struct preempt_heap_diffrow {
  const char *name;
  int64_t objects[2], bytes[2]; /* [0] old, [1] new */
  uint32_t newtype;             /* type index in new, or PREEMPT_SNAP_NONE */
};
struct preempt_heap_diff {
  struct preempt_heap_diffrow *rows; /* the nrows changed types, fastest
                                        growing (bytes, objects) first */
  size_t nrows;
  int64_t total[2][2]; /* [old/new][objects/bytes] */
  uint32_t *pathobj;   /* npath new objects (indices in new) worth a path */
  const char **pathtype;
  size_t npath;
  char **names; /* storage of the rows' names */
  size_t nnames;
};
int preempt_heap_diff_compute(const struct preempt_heap_analysis *old,
                              const struct preempt_heap_analysis *new_,
                              size_t npaths, struct preempt_heap_diff *df);
void preempt_heap_diff_free(struct preempt_heap_diff *df);

int preempt_heap_html_diff(FILE *out, struct preempt_heap_analysis *old,
                           struct preempt_heap_analysis *new_,
                           const struct preempt_heap_diff *df, size_t limit,
                           char *err, size_t errlen);
int preempt_heap_pprof_top(FILE *out, struct preempt_heap_analysis *a,
                           char *err, size_t errlen);
int preempt_heap_html_top(FILE *out, struct preempt_heap_analysis *a,
                          size_t limit, char *err, size_t errlen);

#endif
