/* preempt-heap reports as a library: what keeps heap memory alive, from
 * heap snapshots (runtime/snapshot_format.h), written to a FILE *.  The
 * preempt-heap command line and the debug HTTP endpoint both call this, so
 * the two print the same figures.
 *
 * Build: link the CMake target preempt-heap-report (tools/CMakeLists.txt),
 * which holds this file's report.c and the modules it needs (the snapshot
 * reader, dominators, paths, symbols through libdwfl, pprof and HTML
 * output); include "report.h".
 *
 * Use:
 *   struct preempt_snap s;                  // snapshot.h
 *   char err[512];
 *   if (preempt_snap_load(path, &s, err, sizeof err)) ...  // or _parse
 *   struct preempt_heap_analysis *a =
 *       preempt_heap_analyze(&s, "label", err, sizeof err);  // takes s
 *   preempt_heap_report_top(stdout, a, 25, PREEMPT_HEAP_JSON, err, sizeof err);
 *   preempt_heap_analysis_free(a);
 *
 * Every report function returns 0, or -1 with a message in err (no such
 * object or type, a format the report does not offer, out of memory).  A
 * failed report may have written part of its output.  Nothing here prints
 * to stderr or exits.
 *
 * Reports: top (per type: objects, bytes, retained bytes), why (the
 * shortest path from a root to an object), diff (per-type growth between
 * two snapshots and why new objects are alive).  Formats: TEXT (aligned
 * columns), JSON (one object), PPROF (profile.proto, uncompressed, for
 * `go tool pprof`; top only: two profiles diff with pprof -base), HTML
 * (one self-contained page; top and diff).
 * The JSON fields are those the preempt-heap tests pin down.
 *
 * Threads: an analysis is immutable after preempt_heap_analyze except for
 * caches the reports fill on first use (retention paths, symbols): use one
 * analysis from one thread at a time (or lock around report calls);
 * different analyses are independent. */
#ifndef PREEMPT_HEAP_REPORT_H
#define PREEMPT_HEAP_REPORT_H

#include "heap.h"
#include "snapshot.h"

#include <stddef.h>
#include <stdio.h>

enum preempt_heap_format {
  PREEMPT_HEAP_TEXT,
  PREEMPT_HEAP_JSON,
  PREEMPT_HEAP_PPROF,
  PREEMPT_HEAP_HTML,
};

/* A loaded snapshot with its dominator tree and retained sizes. */
struct preempt_heap_analysis {
  char *name;               /* label in reports (the file name for the CLI) */
  struct preempt_snap snap; /* owned */
  struct preempt_dom dom;   /* dom.nunreached objects no root reaches are
                               left out of every report */
  /* Caches filled by the reports on first use. */
  struct preempt_bfs bfs;
  int have_bfs;
  struct preempt_syms *syms;
  int have_syms;
};

/* Analyses *snap, taking it over (*snap is left empty, also on failure,
 * when it is freed).  name labels the snapshot in reports (copied).
 * NULL with a message in err when out of memory. */
struct preempt_heap_analysis *
preempt_heap_analyze(struct preempt_snap *snap, const char *name, char *err,
                     size_t errlen);
/* preempt_snap_load + preempt_heap_analyze, labelled by path. */
struct preempt_heap_analysis *
preempt_heap_analyze_file(const char *path, char *err, size_t errlen);
void preempt_heap_analysis_free(struct preempt_heap_analysis *a);

/* Per type: objects, bytes and retained bytes, largest retained first, the
 * first limit types (the rest summed in TEXT; all types in PPROF and in
 * HTML's table, limit bars and paths). */
int preempt_heap_report_top(FILE *out, struct preempt_heap_analysis *a,
                            size_t limit, enum preempt_heap_format fmt,
                            char *err, size_t errlen);

/* The shortest path from a root to what: an address (decimal or 0x hex,
 * an object's start or inside it) or a type name ("type#ID" for unnamed
 * types), meaning that type's largest-retaining reachable object.  TEXT
 * and JSON. */
int preempt_heap_report_why(FILE *out, struct preempt_heap_analysis *a,
                            const char *what, enum preempt_heap_format fmt,
                            char *err, size_t errlen);

/* Per-type growth from old to new (types matched by name), the first
 * limit changed types (HTML: every changed type, limit bars), and the
 * retention paths of a new object (address absent in old) of each of the
 * npaths fastest-growing types.  TEXT, JSON and HTML. */
int preempt_heap_report_diff(FILE *out, struct preempt_heap_analysis *old,
                             struct preempt_heap_analysis *new_,
                             size_t limit, size_t npaths,
                             enum preempt_heap_format fmt, char *err,
                             size_t errlen);

/* The format named "text", "json", "pprof" or "html"; -1 if none. */
int preempt_heap_format_parse(const char *name);

#endif
