/* The top, why and diff reports (report.h) in text and JSON, the analysis
 * they share, and the helpers the other output modules use
 * (report_impl.h).  Never prints to stderr or exits: errors go to the
 * caller's buffer, for the command line and the debug endpoint alike. */
#define _GNU_SOURCE
#include "report_impl.h"
#include "snapshot_format.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int preempt_heap_fail(char *err, size_t errlen, const char *fmt, ...) {
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return -1;
}

/* ---- helpers shared with the other files ---- */

const char *preempt_heap_field_name(const struct preempt_snap *s,
                                    uint32_t type, uint64_t off) {
  return preempt_snap_field_name(s, type, off); /* from the plugin's layouts */
}

const char *preempt_heap_type_name(const struct preempt_snap *s, uint32_t type,
                                   char *buf, size_t len) {
  if (type < s->ntypes && s->types[type].name)
    return s->types[type].name;
  snprintf(buf, len, "type#%" PRIu64,
           type < s->ntypes ? s->types[type].id : (uint64_t)type);
  return buf;
}

void preempt_json_string(FILE *f, const char *str) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
    if (*p == '"' || *p == '\\')
      fprintf(f, "\\%c", *p);
    else if (*p < 0x20 || *p >= 0x7f)
      fprintf(f, "\\u%04x", *p); /* bytes, not UTF-8: keep it ASCII */
    else
      fputc(*p, f);
  }
  fputc('"', f);
}

int preempt_heap_format_parse(const char *name) {
  static const char *const names[] = {"text", "json", "pprof", "html"};
  for (int i = 0; i < 4; i++)
    if (!strcmp(name, names[i]))
      return i;
  return -1;
}

/* ---- analysis ---- */

struct preempt_heap_analysis *
preempt_heap_analyze(struct preempt_snap *snap, const char *name, char *err,
                     size_t errlen) {
  struct preempt_heap_analysis *a = calloc(1, sizeof *a);
  char *nm = strdup(name ? name : "");
  if (!a || !nm) {
    free(a), free(nm);
    preempt_snap_free(snap);
    preempt_heap_fail(err, errlen, "%s: out of memory", name);
    return NULL;
  }
  a->name = nm;
  a->snap = *snap;
  memset(snap, 0, sizeof *snap);
  if (preempt_dom_compute(&a->snap, &a->dom)) {
    preempt_heap_fail(err, errlen, "%s: out of memory computing dominators",
                      name);
    preempt_snap_free(&a->snap);
    free(a->name);
    free(a);
    return NULL;
  }
  return a;
}

struct preempt_heap_analysis *
preempt_heap_analyze_file(const char *path, char *err, size_t errlen) {
  struct preempt_snap s;
  if (preempt_snap_load(path, &s, err, errlen))
    return NULL;
  return preempt_heap_analyze(&s, path, err, errlen);
}

void preempt_heap_analysis_free(struct preempt_heap_analysis *a) {
  if (!a)
    return;
  if (a->have_bfs)
    preempt_bfs_free(&a->bfs);
  if (a->have_syms)
    preempt_syms_close(a->syms);
  preempt_dom_free(&a->dom);
  preempt_snap_free(&a->snap);
  free(a->name);
  free(a);
}

const struct preempt_bfs *preempt_heap_bfs(struct preempt_heap_analysis *a) {
  if (!a->have_bfs) {
    if (preempt_bfs_compute(&a->snap, &a->bfs))
      return NULL;
    a->have_bfs = 1;
  }
  return &a->bfs;
}

struct preempt_syms *preempt_heap_syms(struct preempt_heap_analysis *a) {
  if (!a->have_syms) {
    a->syms = preempt_syms_open(&a->snap); /* NULL: addresses stay raw */
    a->have_syms = 1;
  }
  return a->syms;
}

/* ---- table printing ---- */

#define MAXCOL 8
struct table {
  size_t ncol, nrow, cap;
  char **cells; /* nrow * ncol */
  int right[MAXCOL];
  int oom;
};

static void cell(struct table *t, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void cell(struct table *t, size_t col, const char *fmt, ...) {
  if (t->oom)
    return;
  if (col == 0) {
    if (t->nrow == t->cap) {
      size_t cap = t->cap ? 2 * t->cap : 32;
      char **c = realloc(t->cells, cap * t->ncol * sizeof *c);
      if (!c) {
        t->oom = 1;
        return;
      }
      t->cells = c;
      t->cap = cap;
    }
    memset(t->cells + t->nrow * t->ncol, 0, t->ncol * sizeof *t->cells);
    t->nrow++;
  }
  va_list ap;
  va_start(ap, fmt);
  char *s = NULL;
  if (vasprintf(&s, fmt, ap) < 0) {
    s = NULL;
    t->oom = 1;
  }
  va_end(ap);
  t->cells[(t->nrow - 1) * t->ncol + col] = s;
}

/* Prints (unless out of memory) and frees the table; -1 if out of memory. */
static int print_table(struct table *t, FILE *f) {
  int oom = t->oom;
  size_t w[MAXCOL] = {0};
  for (size_t r = 0; r < t->nrow && !oom; r++)
    for (size_t c = 0; c < t->ncol; c++) {
      size_t l = strlen(t->cells[r * t->ncol + c]);
      if (l > w[c])
        w[c] = l;
    }
  for (size_t r = 0; r < t->nrow; r++) {
    for (size_t c = 0; c < t->ncol; c++) {
      const char *s = t->cells[r * t->ncol + c];
      int last = c + 1 == t->ncol;
      if (oom)
        ;
      else if (t->right[c])
        fprintf(f, "%s%*s", c ? "  " : "", (int)w[c], s);
      else
        fprintf(f, "%s%-*s", c ? "  " : "", last ? 0 : (int)w[c], s);
      free(t->cells[r * t->ncol + c]);
    }
    if (!oom)
      fputc('\n', f);
  }
  free(t->cells);
  t->cells = NULL;
  t->nrow = t->cap = 0;
  t->oom = 0;
  return oom ? -1 : 0;
}

static void header(const struct preempt_heap_analysis *a, FILE *f) {
  const struct preempt_snap *s = &a->snap;
  uint64_t bytes = 0;
  for (size_t i = 0; i < s->nobjects; i++)
    bytes += s->objects[i].size;
  fprintf(f, "%s: %zu objects, %" PRIu64 " bytes, %zu edges, %zu roots",
          a->name, s->nobjects, bytes, s->nedges, s->nroots);
  if (s->info.present)
    fprintf(f, "; pid %" PRIu64 ", pause %.3f ms%s%s", s->info.pid,
            s->info.pause_ns / 1e6, s->info.reason[0] ? ", reason: " : "",
            s->info.reason);
  fputc('\n', f);
}

/* ---- top ---- */

static int cmp_retained(const void *a, const void *b) {
  const struct preempt_heap_typerow *x = a, *y = b;
  if (x->retained != y->retained)
    return x->retained > y->retained ? -1 : 1;
  if (x->bytes != y->bytes)
    return x->bytes > y->bytes ? -1 : 1;
  return x->type < y->type ? -1 : x->type > y->type;
}

struct preempt_heap_typerow *
preempt_heap_type_rows(const struct preempt_heap_analysis *a, size_t *n) {
  const struct preempt_snap *s = &a->snap;
  struct preempt_heap_typerow *rows =
      calloc(s->ntypes ? s->ntypes : 1, sizeof *rows);
  if (!rows)
    return NULL;
  for (size_t t = 0; t < s->ntypes; t++)
    rows[t].type = (uint32_t)t;
  for (size_t i = 0; i < s->nobjects; i++) {
    if (a->dom.idom[i] == PREEMPT_DOM_UNREACHED)
      continue;
    struct preempt_heap_typerow *r = &rows[s->objects[i].type];
    r->objects++;
    r->bytes += s->objects[i].size;
    if (a->dom.type_top[i])
      r->retained += a->dom.retained[i];
  }
  qsort(rows, s->ntypes, sizeof *rows, cmp_retained);
  size_t k = 0;
  for (size_t t = 0; t < s->ntypes; t++)
    if (rows[t].objects)
      rows[k++] = rows[t];
  *n = k;
  return rows;
}

static const char shared_note[] =
    "retained: bytes only reachable through the type's objects (their "
    "dominator subtrees), each object counted once per type; an object "
    "reachable from several roots or owners is retained by their common "
    "dominator, possibly the super-root (roots), and then by no type";

int preempt_heap_report_top(FILE *out, struct preempt_heap_analysis *a,
                            size_t limit, enum preempt_heap_format fmt,
                            char *err, size_t errlen) {
  if (fmt == PREEMPT_HEAP_PPROF)
    return preempt_heap_pprof_top(out, a, err, errlen);
  if (fmt == PREEMPT_HEAP_HTML)
    return preempt_heap_html_top(out, a, limit, err, errlen);
  if (fmt != PREEMPT_HEAP_TEXT && fmt != PREEMPT_HEAP_JSON)
    return preempt_heap_fail(err, errlen, "top: unknown format %d", fmt);
  const struct preempt_snap *s = &a->snap;
  const struct preempt_dom *d = &a->dom;
  size_t nrows;
  struct preempt_heap_typerow *rows = preempt_heap_type_rows(a, &nrows);
  if (!rows)
    return preempt_heap_fail(err, errlen, "%s: out of memory", a->name);
  uint64_t tobj = 0, tbytes = 0;
  for (size_t k = 0; k < nrows; k++)
    tobj += rows[k].objects, tbytes += rows[k].bytes;
  size_t shown = nrows < limit ? nrows : limit;
  char nb[64];
  int rc = 0;
  if (fmt == PREEMPT_HEAP_JSON) {
    fprintf(out, "{\"file\": ");
    preempt_json_string(out, a->name);
    fprintf(out, ", \"objects\": %zu, \"bytes\": %" PRIu64 ", \"edges\": %zu, "
            "\"roots\": %zu, \"unreachable_objects\": %zu, "
            "\"unreachable_bytes\": %" PRIu64 ", \"types\": [",
            s->nobjects, tbytes + d->unreached_bytes, s->nedges, s->nroots,
            d->nunreached, d->unreached_bytes);
    for (size_t k = 0; k < shown; k++) {
      const struct preempt_heap_typerow *r = &rows[k];
      fprintf(out, "%s\n  {\"type\": ", k ? "," : "");
      preempt_json_string(out,
                          preempt_heap_type_name(s, r->type, nb, sizeof nb));
      fprintf(out, ", \"id\": %" PRIu64 ", \"objects\": %" PRIu64
              ", \"bytes\": %" PRIu64 ", \"retained\": %" PRIu64 "}",
              s->types[r->type].id, r->objects, r->bytes, r->retained);
    }
    fprintf(out, "],\n \"types_total\": %zu, \"total\": {\"objects\": %" PRIu64
            ", \"bytes\": %" PRIu64 ", \"retained\": %" PRIu64 "},\n"
            " \"note\": ",
            nrows, tobj, tbytes, d->reached_bytes);
    preempt_json_string(out, shared_note);
    fprintf(out, "}\n");
  } else {
    header(a, out);
    struct table t = {.ncol = 4, .right = {0, 1, 1, 1}};
    cell(&t, 0, "TYPE");
    cell(&t, 1, "OBJECTS");
    cell(&t, 2, "BYTES");
    cell(&t, 3, "RETAINED");
    for (size_t k = 0; k < shown; k++) {
      const struct preempt_heap_typerow *r = &rows[k];
      cell(&t, 0, "%s", preempt_heap_type_name(s, r->type, nb, sizeof nb));
      cell(&t, 1, "%" PRIu64, r->objects);
      cell(&t, 2, "%" PRIu64, r->bytes);
      cell(&t, 3, "%" PRIu64, r->retained);
    }
    if (shown < nrows) {
      uint64_t o = 0, b = 0;
      for (size_t k = shown; k < nrows; k++)
        o += rows[k].objects, b += rows[k].bytes;
      cell(&t, 0, "(%zu more types)", nrows - shown);
      cell(&t, 1, "%" PRIu64, o);
      cell(&t, 2, "%" PRIu64, b);
      cell(&t, 3, "-");
    }
    cell(&t, 0, "total");
    cell(&t, 1, "%" PRIu64, tobj);
    cell(&t, 2, "%" PRIu64, tbytes);
    cell(&t, 3, "%" PRIu64, d->reached_bytes);
    if (print_table(&t, out))
      rc = preempt_heap_fail(err, errlen, "%s: out of memory", a->name);
    else {
      fprintf(out, "%s.\n", shared_note);
      if (d->nunreached)
        fprintf(out, "unreachable from any root (left out): %zu objects, "
                "%" PRIu64 " bytes\n", d->nunreached, d->unreached_bytes);
    }
  }
  free(rows);
  return rc;
}

/* ---- why ---- */

void preempt_heap_root_where(const struct preempt_snap *s,
                             struct preempt_syms *y,
                             const struct preempt_snap_root *r, char *buf,
                             size_t len) {
  size_t n = 0;
  char sym[512];
  buf[0] = 0;
#define ADD(...)                                                               \
  do {                                                                         \
    if (n < len)                                                               \
      n += (size_t)snprintf(buf + n, len - n, __VA_ARGS__);                    \
  } while (0)
  if (r->name[0])
    ADD("\"%s\"", r->name);
  if (r->tid) {
    const struct preempt_snap_thread *t = preempt_snap_thread(s, r->tid);
    ADD("%sthread %" PRIu64, n ? ", " : "", r->tid);
    if (t && t->name[0])
      ADD(" (%s)", t->name);
  }
  if (r->ip)
    ADD("%sframe %s", n ? ", " : "",
        preempt_syms_describe(y, r->ip, true, sym, sizeof sym));
  if (r->slot)
    ADD("%sslot %s", n ? ", " : "",
        r->kind == PREEMPT_ROOT_GLOBAL
            ? preempt_syms_describe(y, r->slot, false, sym, sizeof sym)
            : (snprintf(sym, sizeof sym, "0x%" PRIx64, r->slot), sym));
  else if (r->kind == PREEMPT_ROOT_REGISTER)
    ADD("%sregister or published value", n ? ", " : "");
#undef ADD
}

uint32_t *preempt_heap_chain(const struct preempt_heap_analysis *a,
                             const struct preempt_bfs *b, uint32_t o,
                             size_t *n) {
  (void)a;
  size_t hops = 0;
  for (uint32_t x = o; b->from[x] != PREEMPT_DOM_ROOT; x = b->from[x])
    hops++;
  uint32_t *chain = malloc((hops + 1) * sizeof *chain);
  if (!chain)
    return NULL;
  size_t k = hops + 1;
  for (uint32_t x = o;; x = b->from[x]) {
    chain[--k] = x;
    if (b->from[x] == PREEMPT_DOM_ROOT)
      break;
  }
  *n = hops + 1;
  return chain;
}

/* Prints the path to reachable object o (text or one JSON object). */
static int print_path(FILE *out, struct preempt_heap_analysis *a, uint32_t o,
                      bool json, const char *indent, char *err,
                      size_t errlen) {
  const struct preempt_snap *s = &a->snap;
  const struct preempt_bfs *b = preempt_heap_bfs(a);
  struct preempt_syms *y = preempt_heap_syms(a);
  size_t n;
  uint32_t *chain = b ? preempt_heap_chain(a, b, o, &n) : NULL;
  if (!chain)
    return preempt_heap_fail(err, errlen, "%s: out of memory", a->name);
  char nb[64], where[1024];
  size_t hops = n - 1;
  const struct preempt_snap_root *r = &s->roots[b->via[chain[0]]];
  preempt_heap_root_where(s, y, r, where, sizeof where);
  const struct preempt_snap_object *t = &s->objects[o];
  int rc = 0;
  if (json) {
    fprintf(out, "{\"target\": {\"address\": \"0x%" PRIx64 "\", \"type\": ",
            t->addr);
    preempt_json_string(out,
                        preempt_heap_type_name(s, t->type, nb, sizeof nb));
    fprintf(out, ", \"size\": %" PRIu64 ", \"retained\": %" PRIu64 "},\n%s "
            "\"root\": {\"kind\": ", t->size, a->dom.retained[o], indent);
    preempt_json_string(out, preempt_snap_root_kind_name(r->kind));
    fprintf(out, ", \"name\": ");
    preempt_json_string(out, r->name);
    fprintf(out, ", \"tid\": %" PRIu64 ", \"ip\": \"0x%" PRIx64 "\", "
            "\"slot\": \"0x%" PRIx64 "\", \"where\": ", r->tid, r->ip,
            r->slot);
    preempt_json_string(out, where);
    fprintf(out, "},\n%s \"path\": [", indent);
    for (size_t i = 0; i <= hops; i++) {
      const struct preempt_snap_object *x = &s->objects[chain[i]];
      fprintf(out, "%s\n%s  {\"address\": \"0x%" PRIx64 "\", \"type\": ",
              i ? "," : "", indent, x->addr);
      preempt_json_string(out,
                          preempt_heap_type_name(s, x->type, nb, sizeof nb));
      fprintf(out, ", \"size\": %" PRIu64, x->size);
      if (i) {
        uint64_t e = b->via[chain[i]];
        const char *f = preempt_heap_field_name(
            s, s->objects[chain[i - 1]].type, s->edge_offset[e]);
        fprintf(out, ", \"offset\": %" PRIu64 ", \"field\": ",
                s->edge_offset[e]);
        if (f)
          preempt_json_string(out, f);
        else
          fprintf(out, "null");
      } else {
        fprintf(out, ", \"offset\": null, \"field\": null");
      }
      fprintf(out, "}");
    }
    fprintf(out, "]}");
  } else {
    fprintf(out, "%s%s@0x%" PRIx64 " (%" PRIu64 " bytes, retains %" PRIu64
            ") is kept alive by a path of %zu hop%s:\n",
            indent, preempt_heap_type_name(s, t->type, nb, sizeof nb),
            t->addr, t->size, a->dom.retained[o], hops + 1, hops ? "s" : "");
    struct table tb = {.ncol = 3, .right = {0, 1, 0}};
    cell(&tb, 0, "%s  %s root", indent, preempt_snap_root_kind_name(r->kind));
    cell(&tb, 1, "%s", "");
    cell(&tb, 2, "%s", where);
    for (size_t i = 0; i <= hops; i++) {
      const struct preempt_snap_object *x = &s->objects[chain[i]];
      cell(&tb, 0, "%s  %s@0x%" PRIx64, indent,
           preempt_heap_type_name(s, x->type, nb, sizeof nb), x->addr);
      if (i) {
        uint64_t e = b->via[chain[i]];
        const char *f = preempt_heap_field_name(
            s, s->objects[chain[i - 1]].type, s->edge_offset[e]);
        if (f)
          cell(&tb, 1, "via +%" PRIu64 " (%s)", s->edge_offset[e], f);
        else
          cell(&tb, 1, "via +%" PRIu64, s->edge_offset[e]);
      } else {
        cell(&tb, 1, "%s", "");
      }
      cell(&tb, 2, "%" PRIu64 " bytes", x->size);
    }
    if (print_table(&tb, out))
      rc = preempt_heap_fail(err, errlen, "%s: out of memory", a->name);
  }
  free(chain);
  return rc;
}

uint32_t preempt_heap_largest_of_type(const struct preempt_heap_analysis *a,
                                      const char *name, int *known) {
  const struct preempt_snap *s = &a->snap;
  char nb[64];
  *known = 0;
  for (size_t t = 0; t < s->ntypes && !*known; t++)
    if (!strcmp(preempt_heap_type_name(s, (uint32_t)t, nb, sizeof nb), name))
      *known = 1;
  uint32_t best = PREEMPT_SNAP_NONE;
  if (!*known)
    return best;
  for (size_t i = 0; i < s->nobjects; i++) {
    if (a->dom.idom[i] == PREEMPT_DOM_UNREACHED ||
        strcmp(preempt_heap_type_name(s, s->objects[i].type, nb, sizeof nb),
               name))
      continue;
    if (best == PREEMPT_SNAP_NONE ||
        a->dom.retained[i] > a->dom.retained[best])
      best = (uint32_t)i;
  }
  return best;
}

int preempt_heap_report_why(FILE *out, struct preempt_heap_analysis *a,
                            const char *what, enum preempt_heap_format fmt,
                            char *err, size_t errlen) {
  if (fmt != PREEMPT_HEAP_TEXT && fmt != PREEMPT_HEAP_JSON)
    return preempt_heap_fail(err, errlen,
                             "why: only text and JSON output are offered");
  const struct preempt_snap *s = &a->snap;
  uint32_t o;
  char *end;
  errno = 0;
  unsigned long long addr = strtoull(what, &end, 0);
  if (what[0] >= '0' && what[0] <= '9' && !*end && !errno) {
    o = preempt_snap_find(s, addr);
    if (o == PREEMPT_SNAP_NONE)
      return preempt_heap_fail(err, errlen, "%s: no object contains 0x%llx",
                               a->name, addr);
  } else {
    int known;
    o = preempt_heap_largest_of_type(a, what, &known);
    if (o == PREEMPT_SNAP_NONE)
      return preempt_heap_fail(err, errlen, "%s: %s", a->name,
                               known ? "no reachable object of that type"
                                     : "no such type (and not an address)");
  }
  if (a->dom.idom[o] == PREEMPT_DOM_UNREACHED)
    return preempt_heap_fail(err, errlen, "%s: 0x%" PRIx64 " is not reachable "
                             "from any root", a->name, s->objects[o].addr);
  if (print_path(out, a, o, fmt == PREEMPT_HEAP_JSON, "", err, errlen))
    return -1;
  if (fmt == PREEMPT_HEAP_JSON)
    fprintf(out, "\n");
  return 0;
}

/* ---- diff ---- */

static int cmp_growth(const void *a, const void *b) {
  const struct preempt_heap_diffrow *x = a, *y = b;
  int64_t gx = x->bytes[1] - x->bytes[0], gy = y->bytes[1] - y->bytes[0];
  if (gx != gy)
    return gx > gy ? -1 : 1;
  gx = x->objects[1] - x->objects[0], gy = y->objects[1] - y->objects[0];
  if (gx != gy)
    return gx > gy ? -1 : 1;
  return strcmp(x->name, y->name);
}

static int cmp_name(const void *a, const void *b) {
  return strcmp(((const struct preempt_heap_diffrow *)a)->name,
                ((const struct preempt_heap_diffrow *)b)->name);
}

void preempt_heap_diff_free(struct preempt_heap_diff *df) {
  if (df->names)
    for (size_t i = 0; i < df->nnames; i++)
      free(df->names[i]);
  free(df->names);
  free(df->rows);
  free(df->pathobj);
  free(df->pathtype);
  memset(df, 0, sizeof *df);
}

int preempt_heap_diff_compute(const struct preempt_heap_analysis *old,
                              const struct preempt_heap_analysis *new_,
                              size_t npaths, struct preempt_heap_diff *df) {
  const struct preempt_heap_analysis *h[2] = {old, new_};
  memset(df, 0, sizeof *df);
  /* Rows by type name: ids need not agree between two processes. */
  size_t cap = h[0]->snap.ntypes + h[1]->snap.ntypes;
  struct preempt_heap_diffrow *rows = calloc(cap ? cap : 1, sizeof *rows);
  df->rows = rows;
  df->names = calloc(cap ? cap : 1, sizeof *df->names);
  df->nnames = cap;
  df->pathobj = calloc(npaths ? npaths : 1, sizeof *df->pathobj);
  df->pathtype = calloc(npaths ? npaths : 1, sizeof *df->pathtype);
  size_t *map = NULL;
  if (!rows || !df->names || !df->pathobj || !df->pathtype)
    goto oom;
  size_t nrows = 0;
  for (int k = 0; k < 2; k++)
    for (size_t t = 0; t < h[k]->snap.ntypes; t++) {
      char nb[64];
      df->names[nrows] = strdup(
          preempt_heap_type_name(&h[k]->snap, (uint32_t)t, nb, sizeof nb));
      if (!df->names[nrows])
        goto oom;
      rows[nrows] = (struct preempt_heap_diffrow){
          df->names[nrows], {0, 0}, {0, 0}, PREEMPT_SNAP_NONE};
      nrows++;
    }
  qsort(rows, nrows, sizeof *rows, cmp_name);
  size_t u = 0;
  for (size_t i = 0; i < nrows; i++)
    if (!u || strcmp(rows[u - 1].name, rows[i].name))
      rows[u++] = rows[i];
  nrows = u;
  for (int k = 0; k < 2; k++) {
    const struct preempt_snap *s = &h[k]->snap;
    map = malloc((s->ntypes ? s->ntypes : 1) * sizeof *map);
    if (!map)
      goto oom;
    for (size_t t = 0; t < s->ntypes; t++) {
      char nb[64];
      struct preempt_heap_diffrow key = {
          .name = preempt_heap_type_name(s, (uint32_t)t, nb, sizeof nb)};
      struct preempt_heap_diffrow *r =
          bsearch(&key, rows, nrows, sizeof *rows, cmp_name);
      map[t] = (size_t)(r - rows);
      if (k == 1)
        r->newtype = (uint32_t)t;
    }
    for (size_t i = 0; i < s->nobjects; i++) {
      struct preempt_heap_diffrow *r = &rows[map[s->objects[i].type]];
      r->objects[k]++;
      r->bytes[k] += (int64_t)s->objects[i].size;
    }
    free(map);
    map = NULL;
  }
  qsort(rows, nrows, sizeof *rows, cmp_growth);
  for (size_t i = 0; i < nrows; i++)
    for (int k = 0; k < 2; k++)
      df->total[k][0] += rows[i].objects[k],
          df->total[k][1] += rows[i].bytes[k];
  /* Only types that changed are listed. */
  size_t nchanged = 0;
  for (size_t i = 0; i < nrows; i++)
    if (rows[i].objects[0] != rows[i].objects[1] ||
        rows[i].bytes[0] != rows[i].bytes[1])
      rows[nchanged++] = rows[i];
  df->nrows = nrows = nchanged;
  /* A new object (address only in NEW) of each top growing type: the one
   * retaining most, lowest address among equals. */
  const struct preempt_snap *s1 = &h[1]->snap;
  for (size_t i = 0; i < nrows && df->npath < npaths; i++) {
    if (rows[i].bytes[1] <= rows[i].bytes[0] &&
        rows[i].objects[1] <= rows[i].objects[0])
      break;
    if (rows[i].newtype == PREEMPT_SNAP_NONE)
      continue;
    uint32_t best = PREEMPT_SNAP_NONE;
    for (size_t o = 0; o < s1->nobjects; o++)
      if (s1->objects[o].type == rows[i].newtype &&
          h[1]->dom.idom[o] != PREEMPT_DOM_UNREACHED &&
          preempt_snap_find_exact(&h[0]->snap, s1->objects[o].addr) ==
              PREEMPT_SNAP_NONE &&
          (best == PREEMPT_SNAP_NONE ||
           h[1]->dom.retained[o] > h[1]->dom.retained[best]))
        best = (uint32_t)o;
    if (best == PREEMPT_SNAP_NONE)
      continue;
    df->pathtype[df->npath] = rows[i].name;
    df->pathobj[df->npath++] = best;
  }
  return 0;
oom:
  free(map);
  preempt_heap_diff_free(df);
  return -1;
}

int preempt_heap_report_diff(FILE *out, struct preempt_heap_analysis *old,
                             struct preempt_heap_analysis *new_,
                             size_t limit, size_t npaths,
                             enum preempt_heap_format fmt, char *err,
                             size_t errlen) {
  if (fmt == PREEMPT_HEAP_PPROF)
    return preempt_heap_fail(err, errlen, "diff: no pprof output (give "
                             "go tool pprof -base OLD.pb NEW.pb instead)");
  if (fmt != PREEMPT_HEAP_TEXT && fmt != PREEMPT_HEAP_JSON &&
      fmt != PREEMPT_HEAP_HTML)
    return preempt_heap_fail(err, errlen, "diff: unknown format %d", fmt);
  struct preempt_heap_analysis *h[2] = {old, new_};
  struct preempt_heap_diff df;
  if (preempt_heap_diff_compute(old, new_, npaths, &df))
    return preempt_heap_fail(err, errlen, "%s: out of memory", new_->name);
  int rc = -1;
  const struct preempt_heap_diffrow *rows = df.rows;
  int64_t (*tot)[2] = df.total;
  size_t shown = df.nrows < limit ? df.nrows : limit, npath = df.npath;
  const uint32_t *pathobj = df.pathobj;
  const char **pathtype = df.pathtype;
  if (fmt == PREEMPT_HEAP_HTML) {
    rc = preempt_heap_html_diff(out, old, new_, &df, limit, err, errlen);
    preempt_heap_diff_free(&df);
    return rc;
  }
  if (fmt == PREEMPT_HEAP_JSON) {
    fprintf(out, "{\"old\": ");
    preempt_json_string(out, h[0]->name);
    fprintf(out, ", \"new\": ");
    preempt_json_string(out, h[1]->name);
    fprintf(out, ", \"types\": [");
    for (size_t i = 0; i < shown; i++) {
      const struct preempt_heap_diffrow *r = &rows[i];
      fprintf(out, "%s\n  {\"type\": ", i ? "," : "");
      preempt_json_string(out, r->name);
      fprintf(out, ", \"objects_old\": %" PRId64 ", \"objects_new\": %" PRId64
              ", \"objects_delta\": %" PRId64 ", \"bytes_old\": %" PRId64
              ", \"bytes_new\": %" PRId64 ", \"bytes_delta\": %" PRId64 "}",
              r->objects[0], r->objects[1], r->objects[1] - r->objects[0],
              r->bytes[0], r->bytes[1], r->bytes[1] - r->bytes[0]);
    }
    fprintf(out, "],\n \"total\": {\"objects_old\": %" PRId64
            ", \"objects_new\": %" PRId64 ", \"objects_delta\": %" PRId64
            ", \"bytes_old\": %" PRId64 ", \"bytes_new\": %" PRId64
            ", \"bytes_delta\": %" PRId64 "},\n \"paths\": [",
            tot[0][0], tot[1][0], tot[1][0] - tot[0][0], tot[0][1], tot[1][1],
            tot[1][1] - tot[0][1]);
    for (size_t i = 0; i < npath; i++) {
      fprintf(out, "%s\n  ", i ? "," : "");
      if (print_path(out, h[1], pathobj[i], true, "  ", err, errlen))
        goto done;
    }
    fprintf(out, "]}\n");
  } else {
    fprintf(out, "%s -> %s: %+" PRId64 " objects, %+" PRId64 " bytes\n",
            h[0]->name, h[1]->name, tot[1][0] - tot[0][0],
            tot[1][1] - tot[0][1]);
    struct table t = {.ncol = 7, .right = {0, 1, 1, 1, 1, 1, 1}};
    const char *hd[] = {"TYPE", "OBJECTS", "OLD", "NEW", "BYTES", "OLD",
                        "NEW"};
    for (size_t c = 0; c < 7; c++)
      cell(&t, c, "%s", hd[c]);
    for (size_t i = 0; i < shown; i++) {
      const struct preempt_heap_diffrow *r = &rows[i];
      cell(&t, 0, "%s", r->name);
      cell(&t, 1, "%+" PRId64, r->objects[1] - r->objects[0]);
      cell(&t, 2, "%" PRId64, r->objects[0]);
      cell(&t, 3, "%" PRId64, r->objects[1]);
      cell(&t, 4, "%+" PRId64, r->bytes[1] - r->bytes[0]);
      cell(&t, 5, "%" PRId64, r->bytes[0]);
      cell(&t, 6, "%" PRId64, r->bytes[1]);
    }
    cell(&t, 0, "total");
    cell(&t, 1, "%+" PRId64, tot[1][0] - tot[0][0]);
    cell(&t, 2, "%" PRId64, tot[0][0]);
    cell(&t, 3, "%" PRId64, tot[1][0]);
    cell(&t, 4, "%+" PRId64, tot[1][1] - tot[0][1]);
    cell(&t, 5, "%" PRId64, tot[0][1]);
    cell(&t, 6, "%" PRId64, tot[1][1]);
    if (print_table(&t, out))
      goto oom;
    for (size_t i = 0; i < npath; i++) {
      fprintf(out, "\nnew %s:\n", pathtype[i]);
      if (print_path(out, h[1], pathobj[i], false, "", err, errlen))
        goto done;
    }
  }
  rc = 0;
  goto done;
oom:
  preempt_heap_fail(err, errlen, "%s: out of memory", h[1]->name);
done:
  preempt_heap_diff_free(&df);
  return rc;
}
