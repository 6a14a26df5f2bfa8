/* Reader of heap snapshot files (format: runtime/snapshot_format.h).
 *
 * Two passes over the mapped file: the first checks the framing and every
 * field of every record, keeps the small records and notes each object's
 * address, size, type, flags and where its edge list starts; objects are
 * then sorted by address (skipped when the file already has them in
 * order, as the runtime writes them), and the second pass resolves edge
 * targets to object indices.  All reads are bounded by the record's
 * payload, so damaged input can only produce an error. */
#define _GNU_SOURCE
#include "snapshot.h"
#include "snapshot_format.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct rd {
  const uint8_t *base;
  const char *name;
  char *err;
  size_t errlen;
};

/* A payload being parsed: [p, end), for messages what record it is. */
struct cur {
  const uint8_t *p, *end, *start;
  const char *rec;
};

static int fail(struct rd *r, const uint8_t *at, const char *fmt, ...) {
  if (r->err && r->errlen) {
    int n = snprintf(r->err, r->errlen, "%s: offset %zu: ", r->name,
                     (size_t)(at - r->base));
    if (n >= 0 && (size_t)n < r->errlen) {
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(r->err + n, r->errlen - n, fmt, ap);
      va_end(ap);
    }
  }
  return -1;
}

static int get(struct rd *r, struct cur *c, const char *field, uint64_t *v) {
  const uint8_t *at = c->p;
  if (at >= c->end)
    return fail(r, c->start, "%s record too short: ends before its %s field",
                c->rec, field);
  if (!preempt_snap_get_uleb(&c->p, c->end, v))
    return fail(r, at, "%s record: bad integer in its %s field "
                "(runs past the record or over 64 bits)", c->rec, field);
  return 0;
}

static int get_str(struct rd *r, struct cur *c, const char *field, char **out) {
  uint64_t len;
  if (get(r, c, field, &len))
    return -1;
  if (len > (uint64_t)(c->end - c->p))
    return fail(r, c->p, "%s record: %s string of %llu bytes runs past the "
                "record", c->rec, field, (unsigned long long)len);
  char *s = malloc(len + 1);
  if (!s)
    return fail(r, c->p, "out of memory");
  for (size_t i = 0; i < len; i++)
    s[i] = c->p[i] ? (char)c->p[i] : '?'; /* no NUL inside a C string */
  s[len] = 0;
  c->p += len;
  *out = s;
  return 0;
}

static void free_type(struct preempt_snap_type *t) {
  free(t->name);
  for (size_t i = 0; i < t->nfields; i++)
    free(t->fields[i].name);
  free(t->fields);
}

/* A TYPE record's layout: size, array, count, (offset, name) each. */
static int get_layout(struct rd *r, struct cur *c, struct preempt_snap_type *t) {
  uint64_t array, n;
  if (get(r, c, "layout size", &t->layout_size) ||
      get(r, c, "layout array flag", &array) || get(r, c, "field count", &n))
    return -1;
  t->layout_array = array != 0;
  if (!t->layout_size || n > (uint64_t)(c->end - c->p) / 2)
    return fail(r, c->start, "TYPE record: a layout of %llu bytes with %llu "
                "fields does not fit the record", (unsigned long long)t->layout_size,
                (unsigned long long)n);
  t->fields = calloc(n ? n : 1, sizeof *t->fields);
  if (!t->fields)
    return fail(r, c->p, "out of memory");
  for (; t->nfields < n; t->nfields++) {
    struct preempt_snap_field *f = &t->fields[t->nfields];
    if (get(r, c, "field offset", &f->offset) || get_str(r, c, "field name", &f->name))
      return -1;
    if (f->offset >= t->layout_size ||
        (t->nfields && f->offset <= t->fields[t->nfields - 1].offset)) {
      free(f->name);
      return fail(r, c->start, "TYPE record: a field at offset %llu is "
                  "outside the type or out of order",
                  (unsigned long long)f->offset);
    }
  }
  return 0;
}

const char *preempt_snap_field_name(const struct preempt_snap *s,
                                    uint32_t type, uint64_t off) {
  if (type >= s->ntypes || !s->types[type].nfields)
    return NULL;
  const struct preempt_snap_type *t = &s->types[type];
  if (t->layout_array)
    off %= t->layout_size;
  size_t lo = 0, hi = t->nfields;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (t->fields[mid].offset < off)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < t->nfields && t->fields[lo].offset == off ? t->fields[lo].name : NULL;
}

/* Growable array helper: ensures room for one more element. */
static int grow(void **arr, size_t *cap, size_t n, size_t elem) {
  if (n < *cap)
    return 0;
  size_t nc = *cap ? *cap * 2 : 16;
  void *a = realloc(*arr, nc * elem);
  if (!a)
    return -1;
  *arr = a;
  *cap = nc;
  return 0;
}

uint32_t preempt_snap_find_exact(const struct preempt_snap *s, uint64_t addr) {
  size_t lo = 0, hi = s->nobjects;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (s->objects[mid].addr < addr)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < s->nobjects && s->objects[lo].addr == addr ? (uint32_t)lo
                                                        : PREEMPT_SNAP_NONE;
}

uint32_t preempt_snap_find(const struct preempt_snap *s, uint64_t addr) {
  size_t lo = 0, hi = s->nobjects; /* first object starting above addr */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (s->objects[mid].addr <= addr)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == 0)
    return PREEMPT_SNAP_NONE;
  const struct preempt_snap_object *o = &s->objects[lo - 1];
  if (addr == o->addr || addr - o->addr < o->size)
    return (uint32_t)(lo - 1);
  return PREEMPT_SNAP_NONE;
}

const struct preempt_snap_thread *
preempt_snap_thread(const struct preempt_snap *s, uint64_t tid) {
  for (size_t i = 0; i < s->nthreads; i++)
    if (s->threads[i].tid == tid)
      return &s->threads[i];
  return NULL;
}

void preempt_snap_free(struct preempt_snap *s) {
  free(s->info.reason);
  free(s->objects);
  free(s->edge_start);
  free(s->edge_target);
  free(s->edge_offset);
  for (size_t i = 0; i < s->nroots; i++)
    free(s->roots[i].name);
  free(s->roots);
  for (size_t i = 0; i < s->ntypes; i++)
    free_type(&s->types[i]);
  free(s->types);
  for (size_t i = 0; i < s->nmodules; i++)
    free(s->modules[i].path);
  free(s->modules);
  for (size_t i = 0; i < s->nthreads; i++)
    free(s->threads[i].name);
  free(s->threads);
  memset(s, 0, sizeof *s);
}

static int cmp_type(const void *a, const void *b) {
  const struct preempt_snap_type *x = a, *y = b;
  return x->id < y->id ? -1 : x->id > y->id;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static size_t type_index(const struct preempt_snap *s, uint64_t id) {
  size_t lo = 0, hi = s->ntypes;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (s->types[mid].id < id)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < s->ntypes && s->types[lo].id == id ? lo : (size_t)-1;
}

struct keyed {
  uint64_t key;
  uint64_t idx;
};

/* Sorts objects by address; *rank gets each object's place in the sorted
 * order by its place in the file (left NULL if the file had them in order). */
static int sort_objects(struct preempt_snap *s, uint32_t **rank) {
  size_t n = s->nobjects;
  int sorted = 1;
  for (size_t i = 1; i < n && sorted; i++)
    sorted = s->objects[i - 1].addr <= s->objects[i].addr;
  if (sorted)
    return 0;
  /* LSD radix sort of (address, index), 16 bits a pass, skipping passes
   * where all addresses agree: several times faster than qsort here. */
  struct keyed *k = malloc(n * sizeof *k);
  if (!k)
    return -1;
  for (size_t i = 0; i < n; i++)
    k[i] = (struct keyed){s->objects[i].addr, i};
  struct keyed *b = malloc(n * sizeof *b);
  size_t *count = malloc(65536 * sizeof *count);
  if (!b || !count) {
    free(k);
    free(b);
    free(count);
    return -1;
  }
  for (unsigned shift = 0; shift < 64; shift += 16) {
    memset(count, 0, 65536 * sizeof *count);
    for (size_t i = 0; i < n; i++)
      count[(k[i].key >> shift) & 0xffff]++;
    if (count[(k[0].key >> shift) & 0xffff] == n)
      continue;
    size_t sum = 0;
    for (size_t d = 0; d < 65536; d++) {
      size_t c = count[d];
      count[d] = sum;
      sum += c;
    }
    for (size_t i = 0; i < n; i++)
      b[count[(k[i].key >> shift) & 0xffff]++] = k[i];
    struct keyed *t = k;
    k = b;
    b = t;
  }
  free(count);
  struct preempt_snap_object *no = malloc(n * sizeof *no);
  uint32_t *rk = malloc(n * sizeof *rk);
  if (!no || !rk) {
    free(no);
    free(rk);
    free(k);
    free(b);
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    no[i] = s->objects[k[i].idx];
    rk[k[i].idx] = (uint32_t)i;
  }
  free(k);
  free(b);
  free(s->objects);
  s->objects = no;
  *rank = rk;
  return 0;
}

struct addr_index {
  uint64_t min;
  unsigned shift;
  size_t nb;
  uint32_t *first; /* nb + 1: first object of each bucket */
};

static int index_build(const struct preempt_snap *s, struct addr_index *ix) {
  size_t n = s->nobjects;
  memset(ix, 0, sizeof *ix);
  if (!n)
    return 0;
  ix->min = s->objects[0].addr;
  uint64_t span = s->objects[n - 1].addr - ix->min;
  while ((span >> ix->shift) >= n)
    ix->shift++;
  ix->nb = (size_t)(span >> ix->shift) + 1;
  ix->first = malloc((ix->nb + 1) * sizeof *ix->first);
  if (!ix->first)
    return -1;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    size_t b = (size_t)((s->objects[i].addr - ix->min) >> ix->shift);
    while (k <= b)
      ix->first[k++] = (uint32_t)i;
  }
  while (k <= ix->nb)
    ix->first[k++] = (uint32_t)n;
  return 0;
}

/* The object containing addr (its start or an interior address), or
 * PREEMPT_SNAP_NONE: the last object starting at or below addr, found
 * within addr's bucket or, failing that, the last of the buckets below. */
static uint32_t index_find(const struct preempt_snap *s,
                           const struct addr_index *ix, uint64_t addr) {
  if (!s->nobjects || addr < ix->min)
    return PREEMPT_SNAP_NONE;
  uint64_t b = (addr - ix->min) >> ix->shift;
  size_t lo, hi;
  if (b >= ix->nb) {
    lo = hi = s->nobjects;
  } else {
    lo = ix->first[b];
    hi = ix->first[b + 1];
  }
  while (lo < hi) { /* first object of the bucket starting above addr */
    size_t mid = lo + (hi - lo) / 2;
    if (s->objects[mid].addr <= addr)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == 0)
    return PREEMPT_SNAP_NONE;
  const struct preempt_snap_object *o = &s->objects[lo - 1];
  return addr - o->addr < o->size || addr == o->addr ? (uint32_t)(lo - 1)
                                                     : PREEMPT_SNAP_NONE;
}

/* The file index of the object sorted at i (for messages only). */
static size_t file_index(const uint32_t *rank, size_t n, size_t i) {
  for (size_t j = 0; rank && j < n; j++)
    if (rank[j] == i)
      return j;
  return i;
}

/* Edges waiting for their targets: resolved a batch at a time, each step
 * for all of the batch before the next, so that the cache misses of one
 * edge's lookup overlap the others'. */
enum { BATCH = 256 };
struct pending {
  uint64_t to;
  size_t at;         /* index in edge_target */
  const uint8_t *ep; /* the edge in the file, for messages */
  uint32_t from;     /* sorted index of the source */
};

static int resolve_batch(struct rd *r, struct preempt_snap *s,
                         const struct addr_index *ix, struct pending *p,
                         size_t n) {
  size_t b[BATCH];
  for (size_t k = 0; k < n; k++) {
    b[k] = p[k].to < ix->min ? SIZE_MAX : (size_t)((p[k].to - ix->min) >> ix->shift);
    if (b[k] < ix->nb)
      __builtin_prefetch(&ix->first[b[k]]);
  }
  for (size_t k = 0; k < n; k++)
    if (b[k] < ix->nb)
      __builtin_prefetch(&s->objects[ix->first[b[k]] ? ix->first[b[k]] - 1 : 0]);
  for (size_t k = 0; k < n; k++) {
    uint32_t t = index_find(s, ix, p[k].to);
    if (t == PREEMPT_SNAP_NONE && s->info.version >= 2) {
      s->edge_target[p[k].at] = PREEMPT_SNAP_NONE; /* into no object */
      continue;
    }
    if (t == PREEMPT_SNAP_NONE ||
        (s->info.version < 2 && s->objects[t].addr != p[k].to)) {
      fail(r, p[k].ep, "edge +%llu of the object at 0x%llx points to 0x%llx, "
           "which has no OBJECT record",
           (unsigned long long)s->edge_offset[p[k].at],
           (unsigned long long)s->objects[p[k].from].addr,
           (unsigned long long)p[k].to);
      return -1;
    }
    s->edge_target[p[k].at] = t;
  }
  return 0;
}

/* Fills edge_start, edge_target and edge_offset, reading the OBJECT
 * records in file order (pos: where each one's edge count is; checked in
 * pass one), then drops the edges into no object (version 2). */
static int resolve_edges(struct rd *r, struct preempt_snap *s,
                         const uint8_t *buf, const uint8_t *end,
                         const uint64_t *pos, const uint32_t *rank) {
  size_t n = s->nobjects;
  for (size_t j = 0; j < n; j++) {
    const uint8_t *q = buf + pos[j];
    uint64_t cnt;
    preempt_snap_get_uleb(&q, end, &cnt);
    s->edge_start[(rank ? rank[j] : j) + 1] = cnt;
  }
  for (size_t i = 0; i < n; i++)
    s->edge_start[i + 1] += s->edge_start[i];
  struct addr_index ix;
  if (index_build(s, &ix)) {
    fail(r, buf, "out of memory for the address index");
    return -1;
  }
  struct pending p[BATCH];
  size_t np = 0;
  for (size_t j = 0; j < n; j++) {
    uint32_t i = rank ? rank[j] : (uint32_t)j;
    const uint8_t *q = buf + pos[j];
    uint64_t cnt, off;
    preempt_snap_get_uleb(&q, end, &cnt);
    for (size_t e = s->edge_start[i]; e < s->edge_start[i] + cnt; e++) {
      p[np].ep = q;
      preempt_snap_get_uleb(&q, end, &off);
      preempt_snap_get_uleb(&q, end, &p[np].to);
      s->edge_offset[e] = off;
      p[np].at = e;
      p[np].from = i;
      if (++np == BATCH) {
        if (resolve_batch(r, s, &ix, p, np)) {
          free(ix.first);
          return -1;
        }
        np = 0;
      }
    }
  }
  int rc = resolve_batch(r, s, &ix, p, np);
  free(ix.first);
  if (rc)
    return -1;
  size_t e = 0; /* compact away the edges into no object */
  for (size_t i = 0; i < n; i++) {
    size_t from = s->edge_start[i], to = s->edge_start[i + 1];
    s->edge_start[i] = e;
    for (size_t k = from; k < to; k++)
      if (s->edge_target[k] != PREEMPT_SNAP_NONE) {
        s->edge_target[e] = s->edge_target[k];
        s->edge_offset[e++] = s->edge_offset[k];
      }
  }
  s->edge_start[n] = e;
  s->nedges = e;
  return 0;
}

int preempt_snap_parse(const uint8_t *buf, size_t len, const char *name,
                       struct preempt_snap *s, char *err, size_t errlen) {
  struct rd r = {buf, name, err, errlen};
  const uint8_t *end = buf + len;
  uint64_t *pos = NULL;        /* per object: offset of its edge count */
  uint32_t *rank = NULL;       /* per object in the file: its sorted index */
  uint64_t *root_addr = NULL;  /* per root: its object's address */
  uint64_t *root_at = NULL;    /* per root: offset of its record */
  size_t cap_obj = 0, cap_pos = 0, cap_root = 0, cap_ra = 0, cap_rat = 0,
         cap_type = 0, cap_mod = 0, cap_thr = 0;
  size_t nedges = 0;
  int rc = -1, ended = 0;
  const uint8_t *p;

  memset(s, 0, sizeof *s);
  if (len < 8 || memcmp(buf, PREEMPT_SNAP_MAGIC, 8) != 0) {
    fail(&r, buf, len < 8 ? "too short for a heap snapshot (no magic)"
                          : "not a heap snapshot (magic is not "
                            PREEMPT_SNAP_MAGIC ")");
    goto out;
  }
  for (p = buf + 8; p < end;) {
    const uint8_t *rec = p;
    unsigned tag = *p++;
    uint64_t plen;
    if (!preempt_snap_get_uleb(&p, end, &plen)) {
      fail(&r, rec, "truncated record header (tag %u)", tag);
      goto out;
    }
    if (plen > (uint64_t)(end - p)) {
      fail(&r, rec, "record (tag %u) of %llu bytes runs past the end of the "
           "file (%zu bytes left): truncated?", tag,
           (unsigned long long)plen, (size_t)(end - p));
      goto out;
    }
    struct cur c = {p, p + plen, rec, "?"};
    p += plen;
    switch (tag) {
    case PREEMPT_SNAP_END:
      ended = 1;
      break;
    case PREEMPT_SNAP_INFO: {
      struct preempt_snap_info *in = &s->info;
      c.rec = "INFO";
      if (in->present) {
        fail(&r, rec, "second INFO record");
        goto out;
      }
      if (get(&r, &c, "version", &in->version) ||
          get(&r, &c, "pid", &in->pid) || get(&r, &c, "time", &in->time_ns) ||
          get(&r, &c, "pause", &in->pause_ns) ||
          get(&r, &c, "heap bytes", &in->heap_mapped) ||
          get(&r, &c, "objects", &in->objects) ||
          get(&r, &c, "roots", &in->roots) ||
          get_str(&r, &c, "reason", &in->reason))
        goto out;
      if (in->version > PREEMPT_SNAP_VERSION) {
        fail(&r, rec, "snapshot version %llu: this preempt-heap reads "
             "versions up to %d (a newer preempt wrote it)",
             (unsigned long long)in->version, PREEMPT_SNAP_VERSION);
        goto out;
      }
      in->present = 1;
      break;
    }
    case PREEMPT_SNAP_TYPE: {
      struct preempt_snap_type t = {0};
      c.rec = "TYPE";
      if (get(&r, &c, "id", &t.id))
        goto out;
      if (t.id >= UINT32_MAX) {
        fail(&r, rec, "TYPE record: id %llu too large",
             (unsigned long long)t.id);
        goto out;
      }
      if (get_str(&r, &c, "name", &t.name))
        goto out;
      if (c.p < c.end && get_layout(&r, &c, &t)) { /* appended: a layout */
        free_type(&t);
        goto out;
      }
      if (grow((void **)&s->types, &cap_type, s->ntypes, sizeof t)) {
        free_type(&t);
        fail(&r, rec, "out of memory");
        goto out;
      }
      s->types[s->ntypes++] = t;
      break;
    }
    case PREEMPT_SNAP_MODULE: {
      struct preempt_snap_module m = {0};
      c.rec = "MODULE";
      if (get(&r, &c, "load bias", &m.bias) || get(&r, &c, "lo", &m.lo) ||
          get(&r, &c, "hi", &m.hi) || get_str(&r, &c, "path", &m.path))
        goto out;
      if (grow((void **)&s->modules, &cap_mod, s->nmodules, sizeof m)) {
        free(m.path);
        fail(&r, rec, "out of memory");
        goto out;
      }
      s->modules[s->nmodules++] = m;
      break;
    }
    case PREEMPT_SNAP_THREAD: {
      struct preempt_snap_thread t = {0};
      c.rec = "THREAD";
      if (get(&r, &c, "tid", &t.tid) || get_str(&r, &c, "name", &t.name))
        goto out;
      if (grow((void **)&s->threads, &cap_thr, s->nthreads, sizeof t)) {
        free(t.name);
        fail(&r, rec, "out of memory");
        goto out;
      }
      s->threads[s->nthreads++] = t;
      break;
    }
    case PREEMPT_SNAP_OBJECT: {
      uint64_t addr, size, type, flags, n;
      c.rec = "OBJECT";
      if (get(&r, &c, "address", &addr) || get(&r, &c, "size", &size) ||
          get(&r, &c, "type", &type) || get(&r, &c, "flags", &flags))
        goto out;
      if (type >= UINT32_MAX || flags > UINT32_MAX) {
        fail(&r, rec, "OBJECT record at 0x%llx: type %llu or flags 0x%llx "
             "too large", (unsigned long long)addr, (unsigned long long)type,
             (unsigned long long)flags);
        goto out;
      }
      if (size > UINT64_MAX - addr) {
        fail(&r, rec, "OBJECT record at 0x%llx: size %llu wraps the address "
             "space", (unsigned long long)addr, (unsigned long long)size);
        goto out;
      }
      uint64_t at = (uint64_t)(c.p - buf);
      if (get(&r, &c, "edge count", &n))
        goto out;
      if (n > (uint64_t)(c.end - c.p) / 2) {
        fail(&r, rec, "OBJECT record at 0x%llx: %llu edges cannot fit in the "
             "record's %zu bytes left", (unsigned long long)addr,
             (unsigned long long)n, (size_t)(c.end - c.p));
        goto out;
      }
      for (uint64_t e = 0; e < n; e++) {
        uint64_t off, to;
        const uint8_t *eat = c.p;
        if (get(&r, &c, "edge offset", &off) ||
            get(&r, &c, "edge target", &to))
          goto out;
        if (off >= size) {
          fail(&r, eat, "OBJECT record at 0x%llx (size %llu): edge %llu at "
               "offset %llu is outside the object", (unsigned long long)addr,
               (unsigned long long)size, (unsigned long long)e,
               (unsigned long long)off);
          goto out;
        }
      }
      if (s->nobjects >= PREEMPT_SNAP_NONE) {
        fail(&r, rec, "more than %u objects", PREEMPT_SNAP_NONE - 1);
        goto out;
      }
      if (grow((void **)&s->objects, &cap_obj, s->nobjects,
               sizeof *s->objects) ||
          grow((void **)&pos, &cap_pos, s->nobjects, sizeof *pos)) {
        fail(&r, rec, "out of memory");
        goto out;
      }
      s->objects[s->nobjects] =
          (struct preempt_snap_object){addr, size, (uint32_t)type,
                                       (uint32_t)flags};
      pos[s->nobjects++] = at;
      nedges += n;
      break;
    }
    case PREEMPT_SNAP_ROOT: {
      struct preempt_snap_root rt = {0};
      uint64_t kind, addr;
      c.rec = "ROOT";
      if (get(&r, &c, "kind", &kind) || get(&r, &c, "object", &addr) ||
          get(&r, &c, "slot", &rt.slot) || get(&r, &c, "tid", &rt.tid) ||
          get(&r, &c, "ip", &rt.ip))
        goto out;
      rt.kind = kind > UINT32_MAX ? UINT32_MAX : (uint32_t)kind;
      if (get_str(&r, &c, "name", &rt.name))
        goto out;
      if (grow((void **)&s->roots, &cap_root, s->nroots, sizeof rt) ||
          grow((void **)&root_addr, &cap_ra, s->nroots, sizeof *root_addr) ||
          grow((void **)&root_at, &cap_rat, s->nroots, sizeof *root_at)) {
        free(rt.name);
        fail(&r, rec, "out of memory");
        goto out;
      }
      root_addr[s->nroots] = addr;
      root_at[s->nroots] = (uint64_t)(rec - buf);
      s->roots[s->nroots++] = rt;
      break;
    }
    default:
      break; /* a newer writer's record: skipped */
    }
    if (ended)
      break;
  }
  if (!ended) {
    fail(&r, end, "no END record: the file is truncated");
    goto out;
  }
  if (p != end) {
    fail(&r, p, "%zu bytes after the END record", (size_t)(end - p));
    goto out;
  }

  /* Types: sorted by id; ids objects use without a TYPE record get an
   * unnamed entry so every object has a type index.  (types is NULL when
   * there are none, and qsort's argument is nonnull.) */
  if (s->ntypes)
    qsort(s->types, s->ntypes, sizeof *s->types, cmp_type);
  for (size_t i = 1; i < s->ntypes; i++)
    if (s->types[i].id == s->types[i - 1].id) {
      fail(&r, buf, "two TYPE records for id %llu",
           (unsigned long long)s->types[i].id);
      goto out;
    }
  {
    uint64_t *missing = NULL;
    size_t nmiss = 0, cap_miss = 0;
    uint32_t last = UINT32_MAX;
    for (size_t i = 0; i < s->nobjects; i++) {
      uint32_t t = s->objects[i].type;
      if (t == last || type_index(s, t) != (size_t)-1)
        continue;
      last = t;
      if (grow((void **)&missing, &cap_miss, nmiss, sizeof *missing)) {
        free(missing);
        fail(&r, buf, "out of memory");
        goto out;
      }
      missing[nmiss++] = t;
    }
    if (nmiss)
      qsort(missing, nmiss, sizeof *missing, cmp_u64);
    for (size_t i = 0; i < nmiss; i++) {
      if (i && missing[i] == missing[i - 1])
        continue;
      if (grow((void **)&s->types, &cap_type, s->ntypes, sizeof *s->types)) {
        free(missing);
        fail(&r, buf, "out of memory");
        goto out;
      }
      s->types[s->ntypes++] = (struct preempt_snap_type){.id = missing[i]};
    }
    free(missing);
    if (s->ntypes)
      qsort(s->types, s->ntypes, sizeof *s->types, cmp_type);
    size_t lastidx = 0;
    last = UINT32_MAX;
    for (size_t i = 0; i < s->nobjects; i++) {
      uint32_t t = s->objects[i].type;
      if (t != last) {
        lastidx = type_index(s, t);
        last = t;
      }
      s->objects[i].type = (uint32_t)lastidx;
    }
  }

  if (s->nobjects && sort_objects(s, &rank)) {
    fail(&r, buf, "out of memory sorting %zu objects", s->nobjects);
    goto out;
  }
  for (size_t i = 1; i < s->nobjects; i++) {
    const struct preempt_snap_object *a = &s->objects[i - 1],
                                     *b = &s->objects[i];
    if (a->addr == b->addr) {
      fail(&r, buf + pos[file_index(rank, s->nobjects, i)],
           "second OBJECT record for address 0x%llx",
           (unsigned long long)b->addr);
      goto out;
    }
    if (b->addr - a->addr < a->size) {
      fail(&r, buf + pos[file_index(rank, s->nobjects, i)],
           "OBJECT at 0x%llx overlaps the one at 0x%llx (size %llu)",
           (unsigned long long)b->addr, (unsigned long long)a->addr,
           (unsigned long long)a->size);
      goto out;
    }
  }

  /* Pass two: edges, targets to indices. */
  s->edge_start = calloc(s->nobjects + 1, sizeof *s->edge_start);
  s->edge_target = malloc((nedges ? nedges : 1) * sizeof *s->edge_target);
  s->edge_offset = malloc((nedges ? nedges : 1) * sizeof *s->edge_offset);
  if (!s->edge_start || !s->edge_target || !s->edge_offset) {
    fail(&r, buf, "out of memory for %zu edges", nedges);
    goto out;
  }
  if (resolve_edges(&r, s, buf, end, pos, rank))
    goto out;
  for (size_t i = 0; i < s->nroots; i++) {
    uint32_t t = preempt_snap_find_exact(s, root_addr[i]);
    if (t == PREEMPT_SNAP_NONE) {
      fail(&r, buf + root_at[i], "ROOT (%s) points to 0x%llx, which has no "
           "OBJECT record", preempt_snap_root_kind_name(s->roots[i].kind),
           (unsigned long long)root_addr[i]);
      goto out;
    }
    s->roots[i].obj = t;
  }
  rc = 0;
out:
  free(pos);
  free(rank);
  free(root_addr);
  free(root_at);
  if (rc)
    preempt_snap_free(s);
  return rc;
}

int preempt_snap_load(const char *path, struct preempt_snap *s, char *err,
                      size_t errlen) {
  memset(s, 0, sizeof *s);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    if (fd >= 0)
      close(fd);
    return -1;
  }
  if (!S_ISREG(st.st_mode)) {
    snprintf(err, errlen, "%s: not a regular file", path);
    close(fd);
    return -1;
  }
  size_t len = (size_t)st.st_size;
  const uint8_t *buf = (const uint8_t *)"";
  void *map = NULL;
  if (len) {
    map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
      snprintf(err, errlen, "%s: cannot map: %s", path, strerror(errno));
      close(fd);
      return -1;
    }
    madvise(map, len, MADV_SEQUENTIAL);
    buf = map;
  }
  close(fd);
  int rc = preempt_snap_parse(buf, len, path, s, err, errlen);
  if (map)
    munmap(map, len);
  return rc;
}
