/* preempt-heap: what is keeping this memory alive, from heap snapshots
 * (runtime/snapshot_format.h, written by preempt_heap_snapshot).
 *
 *   preempt-heap top FILE [-n N] [--json]
 *   preempt-heap why FILE (ADDRESS | TYPE) [--json]
 *   preempt-heap diff OLD NEW [-n N] [--paths K] [--json]
 *
 * Exit status: 0 done, 1 a file could not be read (or no such object),
 * 2 bad usage. */
#define _GNU_SOURCE
#include "heap.h"
#include "snapshot_format.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: preempt-heap top FILE [-n N] [--json]\n"
    "       preempt-heap why FILE (ADDRESS | TYPE) [--json]\n"
    "       preempt-heap diff OLD NEW [-n N] [--paths K] [--json]\n"
    "  top   per type: objects, bytes and retained bytes, largest first\n"
    "  why   the shortest path from a root keeping ADDRESS (an object's\n"
    "        start or inside it) alive, or the TYPE's largest-retaining object\n"
    "  diff  per-type growth from OLD to NEW, and why new objects of the\n"
    "        K (default 3) fastest-growing types are alive\n";

static int usage(const char *fmt, const char *arg) {
  fprintf(stderr, "preempt-heap: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n%s", usage_text);
  return 2;
}

/* ---- helpers shared with the other files ---- */

const char *preempt_heap_field_name(const struct preempt_snap *s,
                                    uint32_t type, uint64_t off) {
  (void)s, (void)type, (void)off;
  return NULL; /* hook: compiler-emitted layouts will name fields */
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

/* ---- a loaded and analysed snapshot ---- */

struct heap {
  const char *path;
  struct preempt_snap s;
  struct preempt_dom d;
  int have_dom;
};

static int load(struct heap *h, const char *path) {
  char err[512];
  memset(h, 0, sizeof *h);
  h->path = path;
  if (preempt_snap_load(path, &h->s, err, sizeof err)) {
    fprintf(stderr, "preempt-heap: %s\n", err);
    return -1;
  }
  return 0;
}

static int analyse(struct heap *h) {
  if (preempt_dom_compute(&h->s, &h->d)) {
    fprintf(stderr, "preempt-heap: %s: out of memory computing dominators\n",
            h->path);
    return -1;
  }
  h->have_dom = 1;
  if (h->d.nunreached)
    fprintf(stderr, "preempt-heap: %s: %zu objects (%" PRIu64 " bytes) are "
            "unreachable from any root; they are left out\n", h->path,
            h->d.nunreached, h->d.unreached_bytes);
  return 0;
}

static void unload(struct heap *h) {
  if (h->have_dom)
    preempt_dom_free(&h->d);
  preempt_snap_free(&h->s);
}

/* ---- table printing ---- */

#define MAXCOL 8
struct table {
  size_t ncol, nrow, cap;
  char **cells; /* nrow * ncol */
  int right[MAXCOL];
};

static void cell(struct table *t, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void cell(struct table *t, size_t col, const char *fmt, ...) {
  if (col == 0) {
    if (t->nrow == t->cap) {
      t->cap = t->cap ? 2 * t->cap : 32;
      t->cells = realloc(t->cells, t->cap * t->ncol * sizeof *t->cells);
      if (!t->cells) {
        perror("preempt-heap");
        exit(1);
      }
    }
    t->nrow++;
  }
  va_list ap;
  va_start(ap, fmt);
  char *s = NULL;
  if (vasprintf(&s, fmt, ap) < 0) {
    perror("preempt-heap");
    exit(1);
  }
  va_end(ap);
  t->cells[(t->nrow - 1) * t->ncol + col] = s;
}

static void print_table(struct table *t, FILE *f) {
  size_t w[MAXCOL] = {0};
  for (size_t r = 0; r < t->nrow; r++)
    for (size_t c = 0; c < t->ncol; c++) {
      size_t l = strlen(t->cells[r * t->ncol + c]);
      if (l > w[c])
        w[c] = l;
    }
  for (size_t r = 0; r < t->nrow; r++) {
    for (size_t c = 0; c < t->ncol; c++) {
      const char *s = t->cells[r * t->ncol + c];
      int last = c + 1 == t->ncol;
      if (t->right[c])
        fprintf(f, "%s%*s", c ? "  " : "", (int)w[c], s);
      else
        fprintf(f, "%s%-*s", c ? "  " : "", last ? 0 : (int)w[c], s);
      free(t->cells[r * t->ncol + c]);
    }
    fputc('\n', f);
  }
  free(t->cells);
  t->cells = NULL;
  t->nrow = t->cap = 0;
}

static void header(const struct heap *h, FILE *f) {
  const struct preempt_snap *s = &h->s;
  uint64_t bytes = 0;
  for (size_t i = 0; i < s->nobjects; i++)
    bytes += s->objects[i].size;
  fprintf(f, "%s: %zu objects, %" PRIu64 " bytes, %zu edges, %zu roots",
          h->path, s->nobjects, bytes, s->nedges, s->nroots);
  if (s->info.present)
    fprintf(f, "; pid %" PRIu64 ", pause %.3f ms%s%s", s->info.pid,
            s->info.pause_ns / 1e6, s->info.reason[0] ? ", reason: " : "",
            s->info.reason);
  fputc('\n', f);
}

/* ---- top ---- */

struct typerow {
  uint32_t type;
  uint64_t objects, bytes, retained;
};

static int cmp_retained(const void *a, const void *b) {
  const struct typerow *x = a, *y = b;
  if (x->retained != y->retained)
    return x->retained > y->retained ? -1 : 1;
  if (x->bytes != y->bytes)
    return x->bytes > y->bytes ? -1 : 1;
  return x->type < y->type ? -1 : x->type > y->type;
}

static const char shared_note[] =
    "retained: bytes only reachable through the type's objects (their "
    "dominator subtrees), each object counted once per type; an object "
    "reachable from several roots or owners is retained by their common "
    "dominator, possibly the super-root (roots), and then by no type";

static int cmd_top(const char *path, size_t limit, bool json) {
  struct heap h;
  if (load(&h, path) || analyse(&h)) {
    unload(&h);
    return 1;
  }
  const struct preempt_snap *s = &h.s;
  struct typerow *rows = calloc(s->ntypes ? s->ntypes : 1, sizeof *rows);
  if (!rows) {
    perror("preempt-heap");
    unload(&h);
    return 1;
  }
  for (size_t t = 0; t < s->ntypes; t++)
    rows[t].type = (uint32_t)t;
  uint64_t tobj = 0, tbytes = 0;
  for (size_t i = 0; i < s->nobjects; i++) {
    if (h.d.idom[i] == PREEMPT_DOM_UNREACHED)
      continue;
    struct typerow *r = &rows[s->objects[i].type];
    r->objects++;
    r->bytes += s->objects[i].size;
    tobj++;
    tbytes += s->objects[i].size;
    if (h.d.type_top[i])
      r->retained += h.d.retained[i];
  }
  qsort(rows, s->ntypes, sizeof *rows, cmp_retained);
  size_t nrows = 0;
  for (size_t t = 0; t < s->ntypes; t++)
    if (rows[t].objects)
      nrows++;
  size_t shown = nrows < limit ? nrows : limit;
  char nb[64];
  if (json) {
    printf("{\"file\": ");
    preempt_json_string(stdout, path);
    printf(", \"objects\": %zu, \"bytes\": %" PRIu64 ", \"edges\": %zu, "
           "\"roots\": %zu, \"unreachable_objects\": %zu, "
           "\"unreachable_bytes\": %" PRIu64 ", \"types\": [",
           s->nobjects, tbytes + h.d.unreached_bytes, s->nedges, s->nroots,
           h.d.nunreached, h.d.unreached_bytes);
    for (size_t k = 0; k < shown; k++) {
      const struct typerow *r = &rows[k];
      printf("%s\n  {\"type\": ", k ? "," : "");
      preempt_json_string(stdout,
                          preempt_heap_type_name(s, r->type, nb, sizeof nb));
      printf(", \"id\": %" PRIu64 ", \"objects\": %" PRIu64
             ", \"bytes\": %" PRIu64 ", \"retained\": %" PRIu64 "}",
             s->types[r->type].id, r->objects, r->bytes, r->retained);
    }
    printf("],\n \"types_total\": %zu, \"total\": {\"objects\": %" PRIu64
           ", \"bytes\": %" PRIu64 ", \"retained\": %" PRIu64 "},\n"
           " \"note\": ",
           nrows, tobj, tbytes, h.d.reached_bytes);
    preempt_json_string(stdout, shared_note);
    printf("}\n");
  } else {
    header(&h, stdout);
    struct table t = {.ncol = 4, .right = {0, 1, 1, 1}};
    cell(&t, 0, "TYPE");
    cell(&t, 1, "OBJECTS");
    cell(&t, 2, "BYTES");
    cell(&t, 3, "RETAINED");
    for (size_t k = 0; k < shown; k++) {
      const struct typerow *r = &rows[k];
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
    cell(&t, 3, "%" PRIu64, h.d.reached_bytes);
    print_table(&t, stdout);
    printf("%s.\n", shared_note);
    if (h.d.nunreached)
      printf("unreachable from any root (left out): %zu objects, %" PRIu64
             " bytes\n", h.d.nunreached, h.d.unreached_bytes);
  }
  free(rows);
  unload(&h);
  return 0;
}

/* ---- why ---- */

static void root_where(const struct preempt_snap *s, struct preempt_syms *y,
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

/* Prints the path to object o (text or one JSON object). */
static void print_path(const struct heap *h, const struct preempt_bfs *b,
                       struct preempt_syms *y, uint32_t o, bool json,
                       const char *indent) {
  const struct preempt_snap *s = &h->s;
  char nb[64], where[1024];
  size_t hops = 0;
  for (uint32_t x = o; b->from[x] != PREEMPT_DOM_ROOT; x = b->from[x])
    hops++;
  uint32_t *chain = malloc((hops + 1) * sizeof *chain);
  if (!chain) {
    perror("preempt-heap");
    exit(1);
  }
  size_t k = hops + 1;
  for (uint32_t x = o;; x = b->from[x]) {
    chain[--k] = x;
    if (b->from[x] == PREEMPT_DOM_ROOT)
      break;
  }
  const struct preempt_snap_root *r = &s->roots[b->via[chain[0]]];
  root_where(s, y, r, where, sizeof where);
  const struct preempt_snap_object *t = &s->objects[o];
  if (json) {
    printf("{\"target\": {\"address\": \"0x%" PRIx64 "\", \"type\": ", t->addr);
    preempt_json_string(stdout,
                        preempt_heap_type_name(s, t->type, nb, sizeof nb));
    printf(", \"size\": %" PRIu64 ", \"retained\": %" PRIu64 "},\n%s "
           "\"root\": {\"kind\": ", t->size, h->d.retained[o], indent);
    preempt_json_string(stdout, preempt_snap_root_kind_name(r->kind));
    printf(", \"name\": ");
    preempt_json_string(stdout, r->name);
    printf(", \"tid\": %" PRIu64 ", \"ip\": \"0x%" PRIx64 "\", \"slot\": "
           "\"0x%" PRIx64 "\", \"where\": ", r->tid, r->ip, r->slot);
    preempt_json_string(stdout, where);
    printf("},\n%s \"path\": [", indent);
    for (size_t i = 0; i <= hops; i++) {
      const struct preempt_snap_object *x = &s->objects[chain[i]];
      printf("%s\n%s  {\"address\": \"0x%" PRIx64 "\", \"type\": ",
             i ? "," : "", indent, x->addr);
      preempt_json_string(stdout,
                          preempt_heap_type_name(s, x->type, nb, sizeof nb));
      printf(", \"size\": %" PRIu64, x->size);
      if (i) {
        uint64_t e = b->via[chain[i]];
        const char *f = preempt_heap_field_name(
            s, s->objects[chain[i - 1]].type, s->edge_offset[e]);
        printf(", \"offset\": %" PRIu64 ", \"field\": ", s->edge_offset[e]);
        if (f)
          preempt_json_string(stdout, f);
        else
          printf("null");
      } else {
        printf(", \"offset\": null, \"field\": null");
      }
      printf("}");
    }
    printf("]}");
  } else {
    printf("%s%s@0x%" PRIx64 " (%" PRIu64 " bytes, retains %" PRIu64
           ") is kept alive by a path of %zu hop%s:\n",
           indent, preempt_heap_type_name(s, t->type, nb, sizeof nb), t->addr,
           t->size, h->d.retained[o], hops + 1, hops ? "s" : "");
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
    print_table(&tb, stdout);
  }
  free(chain);
}

/* Object index for an ADDRESS or TYPE argument; PREEMPT_SNAP_NONE after
 * printing why not. */
static uint32_t pick(const struct heap *h, const char *arg) {
  const struct preempt_snap *s = &h->s;
  char *end;
  errno = 0;
  unsigned long long a = strtoull(arg, &end, 0);
  if (arg[0] >= '0' && arg[0] <= '9' && !*end && !errno) {
    uint32_t o = preempt_snap_find(s, a);
    if (o == PREEMPT_SNAP_NONE)
      fprintf(stderr, "preempt-heap: %s: no object contains 0x%llx\n",
              h->path, a);
    return o;
  }
  char nb[64];
  uint32_t best = PREEMPT_SNAP_NONE;
  int known = 0;
  for (size_t t = 0; t < s->ntypes; t++)
    if (!strcmp(preempt_heap_type_name(s, (uint32_t)t, nb, sizeof nb), arg))
      known = 1;
  for (size_t i = 0; i < s->nobjects; i++) {
    if (h->d.idom[i] == PREEMPT_DOM_UNREACHED ||
        strcmp(preempt_heap_type_name(s, s->objects[i].type, nb, sizeof nb),
               arg))
      continue;
    if (best == PREEMPT_SNAP_NONE || h->d.retained[i] > h->d.retained[best])
      best = (uint32_t)i;
  }
  if (best == PREEMPT_SNAP_NONE)
    fprintf(stderr, "preempt-heap: %s: %s\n", h->path,
            known ? "no reachable object of that type"
                  : "no such type (and not an address)");
  return best;
}

static int cmd_why(const char *path, const char *what, bool json) {
  struct heap h;
  if (load(&h, path) || analyse(&h)) {
    unload(&h);
    return 1;
  }
  uint32_t o = pick(&h, what);
  if (o == PREEMPT_SNAP_NONE) {
    unload(&h);
    return 1;
  }
  if (h.d.idom[o] == PREEMPT_DOM_UNREACHED) {
    fprintf(stderr, "preempt-heap: %s: 0x%" PRIx64 " is not reachable from "
            "any root\n", path, h.s.objects[o].addr);
    unload(&h);
    return 1;
  }
  struct preempt_bfs b;
  if (preempt_bfs_compute(&h.s, &b)) {
    perror("preempt-heap");
    unload(&h);
    return 1;
  }
  struct preempt_syms *y = preempt_syms_open(&h.s);
  print_path(&h, &b, y, o, json, "");
  if (json)
    printf("\n");
  preempt_syms_close(y);
  preempt_bfs_free(&b);
  unload(&h);
  return 0;
}

/* ---- diff ---- */

struct diffrow {
  const char *name;
  int64_t objects[2];
  int64_t bytes[2];
  uint32_t newtype; /* type index in NEW, or NONE */
};

static int cmp_growth(const void *a, const void *b) {
  const struct diffrow *x = a, *y = b;
  int64_t gx = x->bytes[1] - x->bytes[0], gy = y->bytes[1] - y->bytes[0];
  if (gx != gy)
    return gx > gy ? -1 : 1;
  gx = x->objects[1] - x->objects[0], gy = y->objects[1] - y->objects[0];
  if (gx != gy)
    return gx > gy ? -1 : 1;
  return strcmp(x->name, y->name);
}

static int cmp_name(const void *a, const void *b) {
  return strcmp(((const struct diffrow *)a)->name,
                ((const struct diffrow *)b)->name);
}

static int cmd_diff(const char *p0, const char *p1, size_t limit,
                    size_t npaths, bool json) {
  struct heap h[2];
  if (load(&h[0], p0)) {
    unload(&h[0]);
    return 1;
  }
  if (load(&h[1], p1) || analyse(&h[1])) {
    unload(&h[0]);
    unload(&h[1]);
    return 1;
  }
  /* Rows by type name: ids need not agree between two processes. */
  size_t cap = h[0].s.ntypes + h[1].s.ntypes;
  struct diffrow *rows = calloc(cap ? cap : 1, sizeof *rows);
  char **names = calloc(cap ? cap : 1, sizeof *names);
  size_t nrows = 0;
  for (int k = 0; k < 2; k++)
    for (size_t t = 0; t < h[k].s.ntypes; t++) {
      char nb[64];
      names[nrows] = strdup(
          preempt_heap_type_name(&h[k].s, (uint32_t)t, nb, sizeof nb));
      rows[nrows] = (struct diffrow){names[nrows], {0, 0}, {0, 0},
                                     PREEMPT_SNAP_NONE};
      nrows++;
    }
  qsort(rows, nrows, sizeof *rows, cmp_name);
  size_t u = 0;
  for (size_t i = 0; i < nrows; i++)
    if (!u || strcmp(rows[u - 1].name, rows[i].name))
      rows[u++] = rows[i];
  nrows = u;
  for (int k = 0; k < 2; k++) {
    const struct preempt_snap *s = &h[k].s;
    size_t *map = malloc((s->ntypes ? s->ntypes : 1) * sizeof *map);
    for (size_t t = 0; t < s->ntypes; t++) {
      char nb[64];
      struct diffrow key = {
          .name = preempt_heap_type_name(s, (uint32_t)t, nb, sizeof nb)};
      struct diffrow *r = bsearch(&key, rows, nrows, sizeof *rows, cmp_name);
      map[t] = (size_t)(r - rows);
      if (k == 1)
        r->newtype = (uint32_t)t;
    }
    for (size_t i = 0; i < s->nobjects; i++) {
      struct diffrow *r = &rows[map[s->objects[i].type]];
      r->objects[k]++;
      r->bytes[k] += (int64_t)s->objects[i].size;
    }
    free(map);
  }
  qsort(rows, nrows, sizeof *rows, cmp_growth);
  int64_t tot[2][2] = {{0, 0}, {0, 0}};
  for (size_t i = 0; i < nrows; i++)
    for (int k = 0; k < 2; k++)
      tot[k][0] += rows[i].objects[k], tot[k][1] += rows[i].bytes[k];
  /* Only types that changed are listed. */
  size_t nchanged = 0;
  for (size_t i = 0; i < nrows; i++)
    if (rows[i].objects[0] != rows[i].objects[1] ||
        rows[i].bytes[0] != rows[i].bytes[1])
      rows[nchanged++] = rows[i];
  nrows = nchanged;
  size_t shown = nrows < limit ? nrows : limit;
  /* A new object (address only in NEW) of each top growing type: the one
   * retaining most, lowest address among equals. */
  struct preempt_bfs b = {0};
  struct preempt_syms *y = NULL;
  size_t npath = 0;
  uint32_t *pathobj = calloc(npaths ? npaths : 1, sizeof *pathobj);
  const char **pathtype = calloc(npaths ? npaths : 1, sizeof *pathtype);
  for (size_t i = 0; i < nrows && npath < npaths; i++) {
    if (rows[i].bytes[1] <= rows[i].bytes[0] &&
        rows[i].objects[1] <= rows[i].objects[0])
      break;
    if (rows[i].newtype == PREEMPT_SNAP_NONE)
      continue;
    uint32_t best = PREEMPT_SNAP_NONE;
    const struct preempt_snap *s = &h[1].s;
    for (size_t o = 0; o < s->nobjects; o++)
      if (s->objects[o].type == rows[i].newtype &&
          h[1].d.idom[o] != PREEMPT_DOM_UNREACHED &&
          preempt_snap_find_exact(&h[0].s, s->objects[o].addr) ==
              PREEMPT_SNAP_NONE &&
          (best == PREEMPT_SNAP_NONE ||
           h[1].d.retained[o] > h[1].d.retained[best]))
        best = (uint32_t)o;
    if (best == PREEMPT_SNAP_NONE)
      continue;
    pathtype[npath] = rows[i].name;
    pathobj[npath++] = best;
  }
  if (npath) {
    if (preempt_bfs_compute(&h[1].s, &b)) {
      perror("preempt-heap");
      exit(1);
    }
    y = preempt_syms_open(&h[1].s);
  }
  if (json) {
    printf("{\"old\": ");
    preempt_json_string(stdout, p0);
    printf(", \"new\": ");
    preempt_json_string(stdout, p1);
    printf(", \"types\": [");
    for (size_t i = 0; i < shown; i++) {
      const struct diffrow *r = &rows[i];
      printf("%s\n  {\"type\": ", i ? "," : "");
      preempt_json_string(stdout, r->name);
      printf(", \"objects_old\": %" PRId64 ", \"objects_new\": %" PRId64
             ", \"objects_delta\": %" PRId64 ", \"bytes_old\": %" PRId64
             ", \"bytes_new\": %" PRId64 ", \"bytes_delta\": %" PRId64 "}",
             r->objects[0], r->objects[1], r->objects[1] - r->objects[0],
             r->bytes[0], r->bytes[1], r->bytes[1] - r->bytes[0]);
    }
    printf("],\n \"total\": {\"objects_old\": %" PRId64 ", \"objects_new\": %"
           PRId64 ", \"objects_delta\": %" PRId64 ", \"bytes_old\": %" PRId64
           ", \"bytes_new\": %" PRId64 ", \"bytes_delta\": %" PRId64 "},\n"
           " \"paths\": [",
           tot[0][0], tot[1][0], tot[1][0] - tot[0][0], tot[0][1], tot[1][1],
           tot[1][1] - tot[0][1]);
    for (size_t i = 0; i < npath; i++) {
      printf("%s\n  ", i ? "," : "");
      print_path(&h[1], &b, y, pathobj[i], true, "  ");
    }
    printf("]}\n");
  } else {
    printf("%s -> %s: %+" PRId64 " objects, %+" PRId64 " bytes\n", p0, p1,
           tot[1][0] - tot[0][0], tot[1][1] - tot[0][1]);
    struct table t = {.ncol = 7, .right = {0, 1, 1, 1, 1, 1, 1}};
    const char *hd[] = {"TYPE", "OBJECTS", "OLD", "NEW", "BYTES", "OLD",
                        "NEW"};
    for (size_t c = 0; c < 7; c++)
      cell(&t, c, "%s", hd[c]);
    for (size_t i = 0; i < shown; i++) {
      const struct diffrow *r = &rows[i];
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
    print_table(&t, stdout);
    for (size_t i = 0; i < npath; i++) {
      printf("\nnew %s:\n", pathtype[i]);
      print_path(&h[1], &b, y, pathobj[i], false, "");
    }
  }
  preempt_syms_close(y);
  if (npath)
    preempt_bfs_free(&b);
  free(pathobj);
  free(pathtype);
  for (size_t i = 0; i < cap; i++)
    free(names[i]);
  free(names);
  free(rows);
  unload(&h[0]);
  unload(&h[1]);
  return 0;
}

/* ---- command line ---- */

static int parse_count(const char *opt, const char *v, size_t *out) {
  char *end;
  errno = 0;
  if (!v || !*v || *v == '-')
    return usage("%s needs a number", opt);
  unsigned long long n = strtoull(v, &end, 10);
  if (*end || errno)
    return usage("bad number for %s", opt);
  *out = (size_t)n;
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2)
    return usage("%s", "missing command");
  const char *cmd = argv[1];
  if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
    fputs(usage_text, stdout);
    return 0;
  }
  if (!strcmp(cmd, "selftest")) /* hidden: dominators vs a naive solver */
    return preempt_heap_selftest(argc > 2 ? atoi(argv[2]) : 300) ? 1 : 0;
  const char *pos[3];
  size_t npos = 0, limit = 25, npaths = 3;
  bool json = false;
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--json"))
      json = true;
    else if (!strcmp(a, "-n")) {
      if (parse_count("-n", i + 1 < argc ? argv[++i] : NULL, &limit))
        return 2;
    } else if (!strcmp(a, "--paths")) {
      if (parse_count("--paths", i + 1 < argc ? argv[++i] : NULL, &npaths))
        return 2;
    } else if (a[0] == '-' && a[1])
      return usage("unknown option %s", a);
    else if (npos < 3)
      pos[npos++] = a;
    else
      return usage("too many arguments (%s)", a);
  }
  if (!strcmp(cmd, "top")) {
    if (npos != 1)
      return usage("%s", "top takes one FILE");
    return cmd_top(pos[0], limit, json);
  }
  if (!strcmp(cmd, "why")) {
    if (npos != 2)
      return usage("%s", "why takes FILE and an ADDRESS or TYPE");
    return cmd_why(pos[0], pos[1], json);
  }
  if (!strcmp(cmd, "diff")) {
    if (npos != 2)
      return usage("%s", "diff takes OLD and NEW files");
    return cmd_diff(pos[0], pos[1], limit, npaths, json);
  }
  return usage("unknown command %s", cmd);
}
