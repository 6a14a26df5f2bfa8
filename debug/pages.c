/* The endpoints' bodies: a fresh snapshot per request (capture.c), parsed
 * with the format's one reader and analysed and reported by preempt-heap's
 * report library (tools/heap/report.h), so the figures match the command
 * line's.  Bodies are built with open_memstream: the snapshot was written
 * after the world restarted, so nothing here runs with the world stopped. */
#define _GNU_SOURCE
#include "debug_impl.h"

#include "heap.h"
#include "report.h"
#include "snapshot.h"
#include "snapshot_format.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <preempt.h>

#define OFF_HEAP_BEGIN() preempt_enter_blocking()
#define OFF_HEAP_END() preempt_exit_blocking()

#define DEFAULT_ROWS 25
#define MAX_ROWS 100000

static const char *const content_types[] = {
    [PREEMPT_HEAP_TEXT] = "text/plain; charset=utf-8",
    [PREEMPT_HEAP_JSON] = "application/json",
    [PREEMPT_HEAP_PPROF] = "application/octet-stream",
    [PREEMPT_HEAP_HTML] = "text/html; charset=utf-8",
};

/* A plain-text answer (errors, "no previous snapshot"). */
static void reply(struct preempt_debug__response *r, unsigned status,
                  const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void reply(struct preempt_debug__response *r, unsigned status,
                  const char *fmt, ...) {
  free(r->body);
  r->body = NULL;
  r->len = 0;
  r->status = status;
  r->content_type = content_types[PREEMPT_HEAP_TEXT];
  r->disposition = NULL;
  va_list ap;
  va_start(ap, fmt);
  int n = vasprintf(&r->body, fmt, ap);
  va_end(ap);
  if (n < 0) {
    r->body = NULL;
    r->status = 500;
  } else {
    r->len = (size_t)n;
  }
}

/* ?n=: rows of a report. */
static int arg_rows(const struct preempt_debug__request *q,
                    struct preempt_debug__response *r, size_t *rows) {
  const char *v = q->arg(q->ctx, "n");
  *rows = DEFAULT_ROWS;
  if (!v)
    return 0;
  char *end;
  errno = 0;
  unsigned long n = strtoul(v, &end, 10);
  if (!*v || *end || errno || n < 1 || n > MAX_ROWS || *v == '-' || *v == '+') {
    reply(r, 400, "%s: n=%s: expected a count from 1 to %d\n", q->path, v,
          MAX_ROWS);
    return -1;
  }
  *rows = n;
  return 0;
}

/* ?format=, among the formats the endpoint offers (a bit set). */
static int arg_format(const struct preempt_debug__request *q,
                      struct preempt_debug__response *r, unsigned offered,
                      enum preempt_heap_format *fmt) {
  const char *v = q->arg(q->ctx, "format");
  *fmt = PREEMPT_HEAP_TEXT;
  if (!v)
    return 0;
  int f = preempt_heap_format_parse(v);
  if (f < 0 || !(offered & (1u << f))) {
    reply(r, 400, "%s: format=%s: this endpoint offers %s\n", q->path, v,
          offered & (1u << PREEMPT_HEAP_PPROF) ? "text, json, pprof and html"
                                               : "text and json");
    return -1;
  }
  *fmt = (enum preempt_heap_format)f;
  return 0;
}

static struct preempt_debug__snap *
capture(const struct preempt_debug__request *q,
        struct preempt_debug__response *r, struct preempt_debug__snap **prev) {
  char reason[64], err[256];
  snprintf(reason, sizeof reason, "preempt-debug %s", q->path);
  struct preempt_debug__snap *s =
      preempt_debug__capture(reason, prev, err, sizeof err);
  if (!s)
    reply(r, 503, "%s: taking a heap snapshot failed: %s\n", q->path, err);
  return s;
}

/* Parses and analyses an in-memory snapshot. */
static struct preempt_heap_analysis *
analyse(const struct preempt_debug__snap *s,
        struct preempt_debug__response *r) {
  char name[64], err[512];
  snprintf(name, sizeof name, "snapshot %lu (pid %ld)", s->serial,
           (long)getpid());
  struct preempt_snap snap;
  if (preempt_snap_parse(s->data, s->len, name, &snap, err, sizeof err)) {
    reply(r, 500, "reading the snapshot back failed: %s\n", err);
    return NULL;
  }
  struct preempt_heap_analysis *a =
      preempt_heap_analyze(&snap, name, err, sizeof err);
  if (!a)
    reply(r, 500, "analysing the snapshot failed: %s\n", err);
  return a;
}

/* Runs a report into the body; on failure the partial output is dropped
 * and the report's message is the answer, with fail_status. */
struct job {
  struct preempt_heap_analysis *a, *old;
  size_t rows;
  const char *what;
  enum preempt_heap_format fmt;
};
typedef int (*report_fn)(FILE *f, const struct job *j, char *err,
                         size_t errlen);

static void run_report(const struct preempt_debug__request *q,
                       struct preempt_debug__response *r, report_fn fn,
                       const struct job *j, unsigned fail_status) {
  char *buf = NULL, err[512] = "";
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) {
    reply(r, 500, "%s: open_memstream: %s\n", q->path, strerror(errno));
    return;
  }
  int rc = fn(f, j, err, sizeof err);
  if (fclose(f) && !rc) {
    rc = -1;
    snprintf(err, sizeof err, "out of memory");
  }
  if (rc) {
    free(buf);
    reply(r, fail_status, "%s: %s\n", q->path, err);
    return;
  }
  r->status = 200;
  r->body = buf;
  r->len = len;
  r->content_type = content_types[j->fmt];
  if (j->fmt == PREEMPT_HEAP_PPROF)
    r->disposition = "attachment; filename=\"heap.pb\"";
}

static int top_fn(FILE *f, const struct job *j, char *err, size_t errlen) {
  return preempt_heap_report_top(f, j->a, j->rows, j->fmt, err, errlen);
}
static int why_fn(FILE *f, const struct job *j, char *err, size_t errlen) {
  return preempt_heap_report_why(f, j->a, j->what, j->fmt, err, errlen);
}
static int diff_fn(FILE *f, const struct job *j, char *err, size_t errlen) {
  return preempt_heap_report_diff(f, j->old, j->a, j->rows, 5, j->fmt, err,
                                  errlen);
}

#define TEXT_JSON (1u << PREEMPT_HEAP_TEXT | 1u << PREEMPT_HEAP_JSON)
#define ALL_FORMATS                                                            \
  (TEXT_JSON | 1u << PREEMPT_HEAP_PPROF | 1u << PREEMPT_HEAP_HTML)

/* A fresh snapshot, analysed and reported by fn; fail_status if the
 * report fails. */
static void report_fresh(const struct preempt_debug__request *q,
                         struct preempt_debug__response *r,
                         report_fn fn, struct job *j, unsigned fail_status) {
  struct preempt_debug__snap *s = capture(q, r, NULL);
  if (!s)
    return;
  OFF_HEAP_BEGIN();
  j->a = analyse(s, r);
  if (j->a)
    run_report(q, r, fn, j, fail_status);
  preempt_heap_analysis_free(j->a);
  OFF_HEAP_END();
  preempt_debug__snap_unref(s);
}

static void page_top(const struct preempt_debug__request *q,
                     struct preempt_debug__response *r) {
  struct job j = {0};
  if (arg_rows(q, r, &j.rows) || arg_format(q, r, ALL_FORMATS, &j.fmt))
    return;
  report_fresh(q, r, top_fn, &j, 500);
}

static void page_why(const struct preempt_debug__request *q,
                     struct preempt_debug__response *r) {
  struct job j = {0};
  j.what = q->arg(q->ctx, "what");
  if (!j.what || !*j.what) {
    reply(r, 400,
          "/why: what= is missing: an object's address (0x...) or a type "
          "name\n");
    return;
  }
  if (arg_format(q, r, TEXT_JSON, &j.fmt))
    return;
  /* The report fails only for a what it cannot find (or out of memory). */
  report_fresh(q, r, why_fn, &j, 404);
}

static void page_diff(const struct preempt_debug__request *q,
                      struct preempt_debug__response *r) {
  struct job j = {0};
  if (arg_rows(q, r, &j.rows) || arg_format(q, r, TEXT_JSON, &j.fmt))
    return;
  struct preempt_debug__snap *prev = NULL;
  struct preempt_debug__snap *s = capture(q, r, &prev);
  if (!s)
    return;
  if (!prev) {
    preempt_debug__snap_unref(s);
    if (j.fmt == PREEMPT_HEAP_JSON) {
      reply(r, 200,
            "{\"previous\": null, \"message\": \"no previous "
            "snapshot yet: this one is the baseline of the next "
            "/diff\"}\n");
      r->content_type = content_types[PREEMPT_HEAP_JSON];
    } else {
      reply(r, 200,
            "No previous snapshot yet: this one (snapshot 1) is the "
            "baseline of the next /diff.\n");
    }
    return;
  }
  OFF_HEAP_BEGIN();
  j.old = analyse(prev, r);
  if (j.old)
    j.a = analyse(s, r);
  if (j.a)
    run_report(q, r, diff_fn, &j, 500);
  preempt_heap_analysis_free(j.old);
  preempt_heap_analysis_free(j.a);
  OFF_HEAP_END();
  preempt_debug__snap_unref(prev);
  preempt_debug__snap_unref(s);
}

static void page_snapshot(const struct preempt_debug__request *q,
                          struct preempt_debug__response *r) {
  struct preempt_debug__snap *s = capture(q, r, NULL);
  if (!s)
    return;
  r->status = 200;
  r->snap = s; /* the response sends it and drops the reference */
  r->content_type = content_types[PREEMPT_HEAP_PPROF];
  r->disposition = "attachment; filename=\"preempt-heap.snapshot\"";
}

/* One line per root (the first rows), then counts per kind. */
static void write_roots(FILE *f, struct preempt_heap_analysis *a, size_t rows,
                        bool json) {
  const struct preempt_snap *s = &a->snap;
  if (!a->have_syms) {
    a->syms = preempt_syms_open(s);
    a->have_syms = 1;
  }
  size_t per_kind[PREEMPT_ROOT_KINDS] = {0};
  for (size_t i = 0; i < s->nroots; i++)
    per_kind[s->roots[i].kind < PREEMPT_ROOT_KINDS ? s->roots[i].kind : 0]++;
  if (json)
    fprintf(f, "{\"roots\": %zu, \"by_kind\": {", s->nroots);
  else
    fprintf(f, "%zu roots:", s->nroots);
  bool first = true;
  for (unsigned k = 0; k < PREEMPT_ROOT_KINDS; k++) {
    if (!per_kind[k])
      continue;
    if (json)
      fprintf(f, "%s\"%s\": %zu", first ? "" : ", ",
              preempt_snap_root_kind_name(k), per_kind[k]);
    else
      fprintf(f, "%s %zu %s", first ? "" : ",", per_kind[k],
              preempt_snap_root_kind_name(k));
    first = false;
  }
  fputs(json ? "}, \"list\": [" : "\n\n", f);
  if (!json)
    fprintf(f, "%-12s %-10s %-18s %10s  %-28s %s\n", "KIND", "THREAD", "OBJECT",
            "SIZE", "TYPE", "WHERE");
  for (size_t i = 0; i < s->nroots && i < rows; i++) {
    const struct preempt_snap_root *rt = &s->roots[i];
    const struct preempt_snap_object *o = &s->objects[rt->obj];
    char tbuf[64], sym[512], where[1024];
    const char *type = preempt_heap_type_name(s, o->type, tbuf, sizeof tbuf);
    size_t n = 0;
    where[0] = 0;
    if (rt->name[0])
      n += (size_t)snprintf(where + n, sizeof where - n, "\"%s\" ", rt->name);
    if (rt->ip && n < sizeof where)
      n += (size_t)snprintf(
          where + n, sizeof where - n, "frame %s ",
          preempt_syms_describe(a->syms, rt->ip, true, sym, sizeof sym));
    if (rt->slot && n < sizeof where)
      n += (size_t)snprintf(
          where + n, sizeof where - n, "slot %s",
          rt->kind == PREEMPT_ROOT_GLOBAL
              ? preempt_syms_describe(a->syms, rt->slot, false, sym, sizeof sym)
              : (snprintf(sym, sizeof sym, "0x%" PRIx64, rt->slot), sym));
    const struct preempt_snap_thread *t =
        rt->tid ? preempt_snap_thread(s, rt->tid) : NULL;
    if (json) {
      fprintf(f, "%s\n {\"kind\": \"%s\", \"tid\": %" PRIu64 ", \"thread\": ",
              i ? "," : "", preempt_snap_root_kind_name(rt->kind), rt->tid);
      preempt_json_string(f, t ? t->name : "");
      fprintf(f,
              ", \"address\": \"0x%" PRIx64 "\", \"size\": %" PRIu64
              ", \"type\": ",
              o->addr, o->size);
      preempt_json_string(f, type);
      fputs(", \"where\": ", f);
      preempt_json_string(f, where);
      fputs("}", f);
    } else {
      char tid[32] = "-";
      if (rt->tid)
        snprintf(tid, sizeof tid, "%" PRIu64, rt->tid);
      fprintf(f, "%-12s %-10s 0x%-16" PRIx64 " %10" PRIu64 "  %-28s %s\n",
              preempt_snap_root_kind_name(rt->kind), tid, o->addr, o->size,
              type, where);
    }
  }
  if (json)
    fputs("\n]}\n", f);
  else if (s->nroots > rows)
    fprintf(f, "... %zu more (n=%zu shows more)\n", s->nroots - rows,
            s->nroots);
}

static int roots_fn(FILE *f, const struct job *j, char *err, size_t errlen) {
  (void)err, (void)errlen;
  write_roots(f, j->a, j->rows, j->fmt == PREEMPT_HEAP_JSON);
  return 0;
}

static void page_roots(const struct preempt_debug__request *q,
                       struct preempt_debug__response *r) {
  struct job j = {0};
  if (arg_rows(q, r, &j.rows) || arg_format(q, r, TEXT_JSON, &j.fmt))
    return;
  if (!q->arg(q->ctx, "n"))
    j.rows = 200;
  struct preempt_debug__snap *s = capture(q, r, NULL);
  if (!s)
    return;
  OFF_HEAP_BEGIN();
  j.a = analyse(s, r);
  if (j.a)
    run_report(q, r, roots_fn, &j, 500);
  preempt_heap_analysis_free(j.a);
  OFF_HEAP_END();
  preempt_debug__snap_unref(s);
}

static void page_index(const struct preempt_debug__request *q,
                       struct preempt_debug__response *r) {
  (void)q;
  reply(r, 200,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
        "<title>preempt heap (pid %ld)</title></head><body>\n"
        "<h1>preempt heap, pid %ld</h1>\n"
        "<p>Each link takes a fresh heap snapshot (the world is stopped for "
        "the walk only).</p>\n<ul>\n"
        "<li><a href=\"/top?format=html\">/top</a> per type: objects, bytes, "
        "retained bytes (<a href=\"/top\">text</a>, "
        "<a href=\"/top?format=json\">json</a>, "
        "<a href=\"/top?format=pprof\">pprof</a>; <code>n=</code> rows)</li>\n"
        "<li><a href=\"/roots\">/roots</a> the roots: kind, thread, where, "
        "the object's type and size</li>\n"
        "<li><code>/why?what=ADDRESS_OR_TYPE</code> the shortest path from a "
        "root (<code>format=text|json</code>)</li>\n"
        "<li><a href=\"/diff\">/diff</a> growth since the previous snapshot "
        "this server took</li>\n"
        "<li><a href=\"/snapshot\">/snapshot</a> the raw snapshot, for "
        "<code>preempt-heap top FILE</code></li>\n"
        "</ul></body></html>\n",
        (long)getpid(), (long)getpid());
  r->content_type = content_types[PREEMPT_HEAP_HTML];
}

void preempt_debug__serve(const struct preempt_debug__request *q,
                          struct preempt_debug__response *r) {
  static const struct {
    const char *path;
    void (*fn)(const struct preempt_debug__request *,
               struct preempt_debug__response *);
  } pages[] = {
      {"/", page_index},  {"/roots", page_roots}, {"/snapshot", page_snapshot},
      {"/top", page_top}, {"/why", page_why},     {"/diff", page_diff}};
  memset(r, 0, sizeof *r);
  for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++)
    if (!strcmp(q->path, pages[i].path)) {
      pages[i].fn(q, r);
      return;
    }
  reply(r, 404, "%s: no such page (/, /roots, /snapshot, /top, /why, /diff)\n",
        q->path);
}
