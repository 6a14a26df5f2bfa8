/* top as a pprof profile (profile.proto of github.com/google/pprof), for
 * `go tool pprof -top` and `-http`.  Three sample types: objects/count,
 * space/bytes and retained/bytes (the default).  One sample per type and
 * distinct retention path: each reachable object is counted under the
 * stack of its shortest path from a root (paths.c), leaf first:
 *
 *   Leaf                  the object's type
 *   Node +0               the field (byte offset) of its owner pointing to it
 *   Node +16              ... up to the root's object
 *   stack 0x401000        the root: kind and where (frame, slot symbol, name)
 *
 * so pprof's flat figures are per type (top's figures: retained counts an
 * object only where top does) and its cumulative ones per owner field and
 * root.  Paths longer than LEAF_HOPS + ROOT_HOPS keep their leaf-most and
 * root-most hops around one "..." frame, so a million-long list is one
 * sample, not a million.
 *
 * The encoder is written here: the profile needs only varints and
 * length-delimited fields, which is less code than a protobuf library's
 * generated bindings and adds no build dependency.  The output is not
 * gzipped: pprof reads raw protobuf as well. */
#include "report_impl.h"
#include "snapshot_format.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define LEAF_HOPS 16
#define ROOT_HOPS 8
#define NVAL 3

/* ---- protobuf wire format ---- */

struct pb {
  uint8_t *p;
  size_t n, cap;
  int oom;
};

static void pb_raw(struct pb *b, const void *d, size_t n) {
  if (b->oom)
    return;
  if (b->n + n > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + n)
      cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
      b->oom = 1;
      return;
    }
    b->p = p, b->cap = cap;
  }
  memcpy(b->p + b->n, d, n);
  b->n += n;
}

static void pb_varint(struct pb *b, uint64_t v) {
  uint8_t t[10];
  size_t n = 0;
  do {
    t[n] = v & 0x7f;
    v >>= 7;
    t[n++] |= v ? 0x80 : 0;
  } while (v);
  pb_raw(b, t, n);
}

/* Field of wire type 0 (varint); zero is the default and left out. */
static void pb_uint(struct pb *b, unsigned field, uint64_t v) {
  if (!v)
    return;
  pb_varint(b, (uint64_t)field << 3);
  pb_varint(b, v);
}

/* Field of wire type 2 (length-delimited). */
static void pb_bytes(struct pb *b, unsigned field, const void *d, size_t n) {
  pb_varint(b, (uint64_t)field << 3 | 2);
  pb_varint(b, n);
  pb_raw(b, d, n);
}

/* Appends sub-message m as field and empties m for reuse. */
static void pb_msg(struct pb *b, unsigned field, struct pb *m) {
  b->oom |= m->oom;
  pb_bytes(b, field, m->p, m->n);
  m->n = 0;
}

/* profile.proto field numbers. */
enum {
  PROFILE_SAMPLE_TYPE = 1, PROFILE_SAMPLE = 2, PROFILE_MAPPING = 3,
  PROFILE_LOCATION = 4, PROFILE_FUNCTION = 5, PROFILE_STRING_TABLE = 6,
  PROFILE_TIME_NANOS = 9, PROFILE_COMMENT = 13,
  PROFILE_DEFAULT_SAMPLE_TYPE = 14,
  VALUETYPE_TYPE = 1, VALUETYPE_UNIT = 2,
  SAMPLE_LOCATION_ID = 1, SAMPLE_VALUE = 2,
  MAPPING_ID = 1, MAPPING_FILENAME = 5, MAPPING_HAS_FUNCTIONS = 7,
  LOCATION_ID = 1, LOCATION_MAPPING_ID = 2, LOCATION_LINE = 4,
  LINE_FUNCTION_ID = 1,
  FUNCTION_ID = 1, FUNCTION_NAME = 2, FUNCTION_SYSTEM_NAME = 3,
};

/* ---- the profile being built ---- */

struct prof {
  /* string_table; fun[i]: function (= location) id of string i, or 0 */
  char **str;
  uint32_t *fun;
  size_t nstr, capstr;
  uint32_t *strhash; /* open addressing: string index + 1 */
  size_t caphash;
  uint32_t *funstr; /* per function id - 1: its name's string index */
  size_t nfun, capfun;
  /* samples: stacks in one arena */
  uint32_t *arena;
  size_t narena, caparena;
  size_t *soff;
  uint32_t *slen;
  int64_t *sval; /* NVAL per sample */
  size_t nsamp, capsamp;
  uint32_t *samphash; /* sample index + 1 */
  size_t capshash;
  int oom;
};

static uint64_t hash_bytes(const void *d, size_t n) {
  const uint8_t *p = d;
  uint64_t h = 0xcbf29ce484222325u;
  for (size_t i = 0; i < n; i++)
    h = (h ^ p[i]) * 0x100000001b3u;
  return h;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap)
    return 0;
  size_t c = *cap ? *cap : 64;
  while (c < need)
    c *= 2;
  void *q = realloc(*p, c * elem);
  if (!q)
    return -1;
  *p = q;
  *cap = c;
  return 0;
}

/* Index of s in the string table, added if new; 0 ("") when out of memory. */
static uint32_t intern(struct prof *f, const char *s) {
  if (f->oom)
    return 0;
  if (2 * (f->nstr + 1) > f->caphash) {
    size_t cap = f->caphash ? 2 * f->caphash : 1024;
    uint32_t *h = calloc(cap, sizeof *h);
    if (!h) {
      f->oom = 1;
      return 0;
    }
    for (size_t i = 0; i < f->nstr; i++) {
      size_t k = hash_bytes(f->str[i], strlen(f->str[i])) & (cap - 1);
      while (h[k])
        k = (k + 1) & (cap - 1);
      h[k] = (uint32_t)i + 1;
    }
    free(f->strhash);
    f->strhash = h;
    f->caphash = cap;
  }
  size_t k = hash_bytes(s, strlen(s)) & (f->caphash - 1);
  for (; f->strhash[k]; k = (k + 1) & (f->caphash - 1))
    if (!strcmp(f->str[f->strhash[k] - 1], s))
      return f->strhash[k] - 1;
  if (f->nstr == f->capstr) {
    size_t cap = f->capstr ? 2 * f->capstr : 256;
    char **str = realloc(f->str, cap * sizeof *str);
    if (str)
      f->str = str;
    uint32_t *fun = realloc(f->fun, cap * sizeof *fun);
    if (fun)
      f->fun = fun;
    if (!str || !fun) {
      f->oom = 1;
      return 0;
    }
    f->capstr = cap;
  }
  char *copy = strdup(s);
  if (!copy) {
    f->oom = 1;
    return 0;
  }
  f->str[f->nstr] = copy;
  f->fun[f->nstr] = 0;
  f->strhash[k] = (uint32_t)f->nstr + 1;
  return (uint32_t)f->nstr++;
}

/* The location id of a frame named name: one function and one location
 * per distinct name, with the same id. */
static uint32_t location(struct prof *f, const char *name) {
  uint32_t s = intern(f, name);
  if (f->oom)
    return 0;
  if (!f->fun[s]) {
    if (grow((void **)&f->funstr, &f->capfun, f->nfun + 1,
             sizeof *f->funstr)) {
      f->oom = 1;
      return 0;
    }
    f->funstr[f->nfun++] = s;
    f->fun[s] = (uint32_t)f->nfun;
  }
  return f->fun[s];
}

/* Adds values to the sample of stack st[0..n) (leaf first). */
static void add_sample(struct prof *f, const uint32_t *st, uint32_t n,
                       const int64_t *val) {
  if (f->oom)
    return;
  if (2 * (f->nsamp + 1) > f->capshash) {
    size_t cap = f->capshash ? 2 * f->capshash : 1024;
    uint32_t *h = calloc(cap, sizeof *h);
    if (!h) {
      f->oom = 1;
      return;
    }
    for (size_t i = 0; i < f->nsamp; i++) {
      size_t k = hash_bytes(f->arena + f->soff[i], f->slen[i] * 4) & (cap - 1);
      while (h[k])
        k = (k + 1) & (cap - 1);
      h[k] = (uint32_t)i + 1;
    }
    free(f->samphash);
    f->samphash = h;
    f->capshash = cap;
  }
  size_t k = hash_bytes(st, n * 4) & (f->capshash - 1);
  for (; f->samphash[k]; k = (k + 1) & (f->capshash - 1)) {
    size_t i = f->samphash[k] - 1;
    if (f->slen[i] == n && !memcmp(f->arena + f->soff[i], st, n * 4)) {
      for (int v = 0; v < NVAL; v++)
        f->sval[i * NVAL + v] += val[v];
      return;
    }
  }
  if (f->nsamp == f->capsamp) {
    size_t cap = f->capsamp ? 2 * f->capsamp : 256;
    size_t *soff = realloc(f->soff, cap * sizeof *soff);
    if (soff)
      f->soff = soff;
    uint32_t *slen = realloc(f->slen, cap * sizeof *slen);
    if (slen)
      f->slen = slen;
    int64_t *sval = realloc(f->sval, cap * NVAL * sizeof *sval);
    if (sval)
      f->sval = sval;
    if (!soff || !slen || !sval) {
      f->oom = 1;
      return;
    }
    f->capsamp = cap;
  }
  if (grow((void **)&f->arena, &f->caparena, f->narena + n, sizeof *f->arena)) {
    f->oom = 1;
    return;
  }
  memcpy(f->arena + f->narena, st, n * 4);
  f->soff[f->nsamp] = f->narena;
  f->slen[f->nsamp] = n;
  for (int v = 0; v < NVAL; v++)
    f->sval[f->nsamp * NVAL + v] = val[v];
  f->narena += n;
  f->samphash[k] = (uint32_t)f->nsamp + 1;
  f->nsamp++;
}

static void prof_free(struct prof *f) {
  for (size_t i = 0; i < f->nstr; i++)
    free(f->str[i]);
  free(f->str), free(f->fun), free(f->strhash), free(f->funstr);
  free(f->arena), free(f->soff), free(f->slen), free(f->sval);
  free(f->samphash);
}

/* The frame of a root: its kind and where it is, without the parts that
 * would split one place into many (thread ids of a stack frame). */
static void root_frame(const struct preempt_snap *s, struct preempt_syms *y,
                       const struct preempt_snap_root *r, char *buf,
                       size_t len) {
  const char *kind = preempt_snap_root_kind_name(r->kind);
  char sym[512];
  if (r->name[0])
    snprintf(buf, len, "%s \"%s\"", kind, r->name);
  else if (r->ip)
    snprintf(buf, len, "%s %s", kind,
             preempt_syms_describe(y, r->ip, true, sym, sizeof sym));
  else if (r->kind == PREEMPT_ROOT_GLOBAL && r->slot)
    snprintf(buf, len, "%s %s", kind,
             preempt_syms_describe(y, r->slot, false, sym, sizeof sym));
  else if (r->tid) {
    const struct preempt_snap_thread *t = preempt_snap_thread(s, r->tid);
    snprintf(buf, len, "%s thread %" PRIu64 "%s%s%s", kind, r->tid,
             t && t->name[0] ? " (" : "", t && t->name[0] ? t->name : "",
             t && t->name[0] ? ")" : "");
  } else
    snprintf(buf, len, "%s", kind);
}

static int encode(FILE *out, struct prof *f,
                  const struct preempt_heap_analysis *a) {
  static const char *const types[NVAL][2] = {
      {"objects", "count"}, {"space", "bytes"}, {"retained", "bytes"}};
  struct pb p = {0}, m = {0}, sub = {0};
  uint32_t tstr[NVAL][2];
  for (int v = 0; v < NVAL; v++)
    for (int k = 0; k < 2; k++)
      tstr[v][k] = intern(f, types[v][k]);
  uint32_t mapname = intern(f, "preempt-heap");
  uint32_t comment[3] = {
      intern(f, a->name), 0,
      intern(f, "retained: per type as in preempt-heap top (read the flat "
                "column); types nest, so its total counts nested bytes more "
                "than once")};
  char note[128];
  snprintf(note, sizeof note, "%zu unreachable objects (%" PRIu64
           " bytes) left out", a->dom.nunreached, a->dom.unreached_bytes);
  comment[1] = intern(f, note);
  for (int v = 0; v < NVAL; v++) {
    pb_uint(&m, VALUETYPE_TYPE, tstr[v][0]);
    pb_uint(&m, VALUETYPE_UNIT, tstr[v][1]);
    pb_msg(&p, PROFILE_SAMPLE_TYPE, &m);
  }
  for (size_t i = 0; i < f->nsamp && !f->oom; i++) {
    for (uint32_t k = 0; k < f->slen[i]; k++)
      pb_varint(&sub, f->arena[f->soff[i] + k]);
    pb_bytes(&m, SAMPLE_LOCATION_ID, sub.p, sub.n); /* packed */
    m.oom |= sub.oom;
    sub.n = 0;
    for (int v = 0; v < NVAL; v++)
      pb_varint(&sub, (uint64_t)f->sval[i * NVAL + v]);
    pb_bytes(&m, SAMPLE_VALUE, sub.p, sub.n);
    m.oom |= sub.oom;
    sub.n = 0;
    pb_msg(&p, PROFILE_SAMPLE, &m);
  }
  /* One mapping that says its functions are known: nothing to symbolize. */
  pb_uint(&m, MAPPING_ID, 1);
  pb_uint(&m, MAPPING_FILENAME, mapname);
  pb_uint(&m, MAPPING_HAS_FUNCTIONS, 1);
  pb_msg(&p, PROFILE_MAPPING, &m);
  for (size_t i = 0; i < f->nfun; i++) {
    pb_uint(&m, LOCATION_ID, i + 1);
    pb_uint(&m, LOCATION_MAPPING_ID, 1);
    pb_uint(&sub, LINE_FUNCTION_ID, i + 1);
    pb_msg(&m, LOCATION_LINE, &sub);
    pb_msg(&p, PROFILE_LOCATION, &m);
    pb_uint(&m, FUNCTION_ID, i + 1);
    pb_uint(&m, FUNCTION_NAME, f->funstr[i]);
    pb_uint(&m, FUNCTION_SYSTEM_NAME, f->funstr[i]);
    pb_msg(&p, PROFILE_FUNCTION, &m);
  }
  for (size_t i = 0; i < f->nstr; i++)
    pb_bytes(&p, PROFILE_STRING_TABLE, f->str[i], strlen(f->str[i]));
  if (a->snap.info.present)
    pb_uint(&p, PROFILE_TIME_NANOS, a->snap.info.time_ns);
  for (int k = 0; k < 3; k++)
    pb_uint(&p, PROFILE_COMMENT, comment[k]);
  pb_uint(&p, PROFILE_DEFAULT_SAMPLE_TYPE, tstr[2][0]);
  int oom = p.oom | m.oom | sub.oom | f->oom;
  if (!oom)
    fwrite(p.p, 1, p.n, out);
  free(p.p), free(m.p), free(sub.p);
  return oom ? -1 : 0;
}

int preempt_heap_pprof_top(FILE *out, struct preempt_heap_analysis *a,
                           char *err, size_t errlen) {
  const struct preempt_snap *s = &a->snap;
  const struct preempt_bfs *b = preempt_heap_bfs(a);
  struct preempt_syms *y = preempt_heap_syms(a);
  struct prof f = {0};
  size_t n = s->nobjects;
  uint32_t *depth = malloc((n ? n : 1) * sizeof *depth);
  uint32_t *anc = malloc((n ? n : 1) * sizeof *anc);
  uint32_t *edgeloc = malloc((n ? n : 1) * sizeof *edgeloc);
  uint32_t *typeloc = calloc(s->ntypes ? s->ntypes : 1, sizeof *typeloc);
  uint32_t *rootloc = calloc(s->nroots ? s->nroots : 1, sizeof *rootloc);
  int rc = -1;
  if (!b || !depth || !anc || !edgeloc || !typeloc || !rootloc)
    goto done;
  intern(&f, ""); /* string 0 must be empty */
  uint32_t elided = location(&f, "... (hops elided)");
  char name[1200], nb[64];
  uint32_t st[1 + LEAF_HOPS + 1 + ROOT_HOPS + 1];
  for (size_t i = 0; i < b->norder && !f.oom; i++) {
    uint32_t o = b->order[i], from = b->from[o];
    const struct preempt_snap_object *ob = &s->objects[o];
    /* This object's own frames: the field of its owner, its type. */
    if (from == PREEMPT_DOM_ROOT) {
      depth[o] = 0;
      size_t r = b->via[o];
      if (!rootloc[r]) {
        root_frame(s, y, &s->roots[r], name, sizeof name);
        rootloc[r] = location(&f, name);
      }
      edgeloc[o] = rootloc[r];
    } else {
      depth[o] = depth[from] + 1;
      uint64_t off = s->edge_offset[b->via[o]];
      uint32_t ft = s->objects[from].type;
      const char *fld = preempt_heap_field_name(s, ft, off);
      snprintf(name, sizeof name, "%s +%" PRIu64 "%s%s%s",
               preempt_heap_type_name(s, ft, nb, sizeof nb), off,
               fld ? " (" : "", fld ? fld : "", fld ? ")" : "");
      edgeloc[o] = location(&f, name);
    }
    anc[o] = depth[o] <= ROOT_HOPS ? o : anc[from];
    if (!typeloc[ob->type])
      typeloc[ob->type] =
          location(&f, preempt_heap_type_name(s, ob->type, nb, sizeof nb));
    /* The stack, leaf first: type, fields up the path, root last. */
    uint32_t k = 0, x = o;
    st[k++] = typeloc[ob->type];
    if (depth[o] > LEAF_HOPS + ROOT_HOPS) {
      for (int h = 0; h < LEAF_HOPS; h++, x = b->from[x])
        st[k++] = edgeloc[x];
      st[k++] = elided;
      x = anc[o];
    }
    for (;; x = b->from[x]) {
      st[k++] = edgeloc[x]; /* the root's frame for the path's first */
      if (b->from[x] == PREEMPT_DOM_ROOT)
        break;
    }
    int64_t val[NVAL] = {1, (int64_t)ob->size,
                         a->dom.type_top[o] ? (int64_t)a->dom.retained[o] : 0};
    add_sample(&f, st, k, val);
  }
  if (!f.oom && !encode(out, &f, a))
    rc = 0;
done:
  free(depth), free(anc), free(edgeloc), free(typeloc), free(rootloc);
  prof_free(&f);
  if (rc)
    preempt_heap_fail(err, errlen, "%s: out of memory writing the pprof "
                      "profile", a->name);
  return rc;
}
