/* The stack-map reader shared by the runtime and preempt-maps (mapfile.h).
 * Every read is bounds-checked: maps come from files we did not
 * necessarily build. */
#include "mapfile.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const int callee_saved[] = PREEMPT_CALLEE_SAVED;
static const char *const reg_names[] = PREEMPT_DWARF_REG_NAMES;

int preempt_note_next(const uint8_t **p, const uint8_t *end, size_t align,
                      struct preempt_note *n, const char **why) {
  const uint8_t *q = *p;
  struct {
    uint32_t namesz, descsz, type;
  } nh;
  align = align == 8 ? 8 : 4;
  if ((size_t)(end - q) < sizeof nh) {
    /* Trailing zero padding is harmless. */
    for (; q < end; q++)
      if (*q) {
        *why = "truncated note header";
        return -1;
      }
    return 0;
  }
  memcpy(&nh, q, sizeof nh);
  size_t left = (size_t)(end - q);
  /* Padding is relative to the (aligned) note start: with 8-byte
   * alignment (.note.gnu.property) the description of a 4-byte name
   * starts 16 bytes in, not 12 + 8. */
  uint64_t descoff = (sizeof nh + (uint64_t)nh.namesz + align - 1) & ~(uint64_t)(align - 1);
  if (descoff > left || nh.descsz > left - descoff) {
    *why = "name or description extends past the end of its section";
    return -1;
  }
  uint64_t bytes = (descoff + nh.descsz + align - 1) & ~(uint64_t)(align - 1);
  if (bytes > left)
    bytes = left; /* the last note's padding may be cut */
  n->hdr = q;
  n->desc = q + descoff;
  n->descsz = nh.descsz;
  n->bytes = (size_t)bytes;
  bool ours = nh.namesz == PREEMPT_NOTE_NAMESZ &&
              !memcmp(q + sizeof nh, PREEMPT_NOTE_NAME, PREEMPT_NOTE_NAMESZ);
  n->maps = ours && nh.type == PREEMPT_NOTE_MAPS;
  n->unsafe = ours && nh.type == PREEMPT_NOTE_UNSAFE;
  *p = q + bytes;
  return 1;
}

bool preempt_read_uleb(const uint8_t **p, const uint8_t *end, uint64_t *out) {
  uint64_t v = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (*p >= end)
      return false;
    uint8_t b = *(*p)++;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return true;
    }
  }
  return false;
}

static bool read_sleb(const uint8_t **p, const uint8_t *end, int64_t *out) {
  int64_t v = 0;
  unsigned shift = 0;
  uint8_t b;
  do {
    if (*p >= end || shift >= 64)
      return false;
    b = *(*p)++;
    v |= (int64_t)((uint64_t)(b & 0x7f) << shift);
    shift += 7;
  } while (b & 0x80);
  if (shift < 64 && (b & 0x40))
    v |= -((int64_t)1 << shift);
  *out = v;
  return true;
}

bool preempt_read_loc(const uint8_t **p, const uint8_t *end,
                      struct preempt_loc *loc) {
  if (*p >= end)
    return false;
  uint8_t head = *(*p)++;
  loc->kind = head >> PREEMPT_LOC_KIND_SHIFT;
  loc->reg = head & PREEMPT_LOC_REG_MASK;
  loc->offset = 0;
  loc->size = 8;
  if (loc->kind != PREEMPT_LOC_CONST && loc->reg >= PREEMPT_DWARF_NUM_GPRS)
    return false;
  uint64_t u;
  int64_t s;
  switch (loc->kind) {
  case PREEMPT_LOC_REG:
    return true;
  case PREEMPT_LOC_IND:
  case PREEMPT_LOC_IND_N:
  case PREEMPT_LOC_DIRECT:
    if (!read_sleb(p, end, &s))
      return false;
    s = (s & 1) ? (s >> 1) : (s >> 1) * 8;
    if (s < INT32_MIN || s > INT32_MAX)
      return false;
    loc->offset = (int32_t)s;
    if (loc->kind != PREEMPT_LOC_IND_N)
      return true;
    if (!preempt_read_uleb(p, end, &u) || u == 0 || u > 4096 || u % 8)
      return false;
    loc->size = (uint32_t)u;
    return true;
  case PREEMPT_LOC_CONST:
    if (!preempt_read_uleb(p, end, &u) || u > UINT32_MAX)
      return false;
    loc->size = (uint32_t)u;
    return true;
  default:
    return false;
  }
}

bool preempt_read_record(const uint8_t **p, const uint8_t *end,
                         uint32_t *nvalues, uint32_t *nregions) {
  uint64_t nv, nr;
  if (!preempt_read_uleb(p, end, &nv) || !preempt_read_uleb(p, end, &nr))
    return false;
  /* Each location takes at least one byte. */
  if (nv > (uint64_t)(end - *p) || nr > (uint64_t)(end - *p))
    return false;
  *nvalues = (uint32_t)nv;
  *nregions = (uint32_t)nr;
  return true;
}

/* Registers a frame keeps across its calls: callee-saved ones and the
 * stack pointer.  A root anywhere else would be gone by the time anyone
 * looks. */
static bool frame_register(unsigned reg) {
  if (reg == PREEMPT_DWARF_SP)
    return true;
  for (int i = 0; i < PREEMPT_NUM_CALLEE_SAVED; i++)
    if ((unsigned)callee_saved[i] == reg)
      return true;
  return false;
}

const char *preempt_loc_misplaced(const struct preempt_loc *l,
                                  enum preempt_loc_role role) {
  bool ok = false;
  switch (l->kind) {
  case PREEMPT_LOC_REG:
  case PREEMPT_LOC_IND:
    ok = true;
    break;
  case PREEMPT_LOC_IND_N:
    ok = role == PREEMPT_ROLE_VALUE;
    break;
  case PREEMPT_LOC_DIRECT:
    ok = role == PREEMPT_ROLE_BASE;
    break;
  case PREEMPT_LOC_CONST: /* a base of 0: the whole frame */
    ok = role == PREEMPT_ROLE_SIZE || (role == PREEMPT_ROLE_BASE && l->size == 0);
    break;
  }
  if (!ok)
    return "location kind not allowed here";
  if (l->kind == PREEMPT_LOC_CONST)
    return NULL;
  if (!frame_register(l->reg))
    return "root in a register that calls clobber";
  /* The stack pointer holds a stack address, never a heap pointer or a
   * size (a frame's own memory is DIRECT sp+offset). */
  if (l->kind == PREEMPT_LOC_REG && l->reg == PREEMPT_DWARF_SP)
    return "the stack pointer as a register value";
  /* Below the stack pointer at a call is the callee's frame. */
  if (l->reg == PREEMPT_DWARF_SP && l->offset < 0)
    return "memory below the stack pointer";
  return NULL;
}

/* ---- the validator ------------------------------------------------------ */

struct span { /* the return addresses of one function entry */
  uint64_t lo, hi;
  uint32_t space, func;
};

static bool span_less(const void *pa, const void *pb) {
  const struct span *a = pa, *b = pb;
  return a->space != b->space ? a->space < b->space : a->lo < b->lo;
}

/* Heap sort: no allocation, no libc callbacks (qsort may malloc, and the
 * registry sorts from the stop signal's handler). */
static void swap_elems(unsigned char *a, unsigned char *b, size_t size) {
  for (size_t k = 0; k < size; k++) {
    unsigned char t = a[k];
    a[k] = b[k];
    b[k] = t;
  }
}

static void sift(unsigned char *v, size_t size, size_t i, size_t n,
                 bool (*less)(const void *, const void *)) {
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n)
      return;
    if (c + 1 < n && less(v + c * size, v + (c + 1) * size))
      c++;
    if (!less(v + i * size, v + c * size))
      return;
    swap_elems(v + i * size, v + c * size, size);
    i = c;
  }
}

void preempt_heapsort(void *base, size_t n, size_t size,
                      bool (*less)(const void *, const void *)) {
  unsigned char *v = base;
  for (size_t i = n / 2; i-- > 0;)
    sift(v, size, i, n, less);
  for (size_t i = n; i-- > 1;) {
    swap_elems(v, v + i * size, size);
    sift(v, size, 0, i, less);
  }
}

static bool fail_at(struct preempt_map_error *err, const uint8_t *desc,
                    const uint8_t *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool fail_at(struct preempt_map_error *err, const uint8_t *desc,
                    const uint8_t *at, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->reason, sizeof err->reason, fmt, ap);
  va_end(ap);
  err->offset = (size_t)(at - desc);
  return false;
}

static const char *role_name(enum preempt_loc_role r) {
  return r == PREEMPT_ROLE_VALUE ? "root value"
         : r == PREEMPT_ROLE_BASE ? "region base"
                                  : "region size";
}

/* The functions' address ranges, sorted, must not meet: two records for
 * one return address would let one overwrite the other's roots. */
static bool check_overlap(struct span *v, size_t n, const uint8_t *desc,
                          struct preempt_map_error *err) {
  preempt_heapsort(v, n, sizeof *v, span_less);
  for (size_t i = 1; i < n; i++)
    if (v[i].space == v[i - 1].space && v[i].lo <= v[i - 1].hi) {
      uint32_t f = v[i].func > v[i - 1].func ? v[i].func : v[i - 1].func;
      uint32_t g = v[i].func > v[i - 1].func ? v[i - 1].func : v[i].func;
      return fail_at(err, desc,
                     desc + sizeof(struct preempt_map_header) +
                         (size_t)f * sizeof(struct preempt_map_func),
                     "function %u: its return addresses (0x%llx-0x%llx) "
                     "overlap those of function %u (duplicate records)",
                     f, (unsigned long long)(f == v[i].func ? v[i].lo : v[i - 1].lo),
                     (unsigned long long)(f == v[i].func ? v[i].hi : v[i - 1].hi), g);
    }
  return true;
}

/* Both notes begin with version, arch, flags (bytes 0, 1, 2-3). */
static bool check_header(const uint8_t *desc, unsigned version, unsigned want,
                         const char *what, unsigned arch, unsigned flags,
                         struct preempt_map_error *err) {
  if (version != want)
    return fail_at(err, desc, desc,
                   "unsupported %sversion %u (this preempt reads version %u; "
                   "rebuild with it)",
                   what, version, want);
  if (arch != PREEMPT_ARCH_MAP_ID)
    return fail_at(err, desc, desc + 1,
                   "built for another architecture (arch %u, this is %u)",
                   arch, PREEMPT_ARCH_MAP_ID);
  if (flags != 0)
    return fail_at(err, desc, desc + 2, "unknown flags 0x%x", flags);
  return true;
}

bool preempt_map_walk(const uint8_t *desc, size_t descsz,
                      const struct preempt_map_env *env,
                      struct preempt_map_error *err) {
  struct preempt_map_header h;
  if (descsz < sizeof h)
    return fail_at(err, desc, desc, "truncated header (%zu bytes)", descsz);
  memcpy(&h, desc, sizeof h);
  if (!check_header(desc, h.version, PREEMPT_MAP_VERSION, "", h.arch, h.flags,
                    err))
    return false;
  if (h.nfuncs > descsz / sizeof(struct preempt_map_func) ||
      sizeof h + (uint64_t)h.nfuncs * sizeof(struct preempt_map_func) +
              h.blob_size != descsz)
    return fail_at(err, desc, desc + 4,
                   "function table and record blob do not fill the note "
                   "(%u functions, %u blob bytes, %zu bytes of description)",
                   h.nfuncs, h.blob_size, descsz);
  const uint8_t *ftab = desc + sizeof h;
  const uint8_t *blob = ftab + (size_t)h.nfuncs * sizeof(struct preempt_map_func);
  const uint8_t *end = blob + h.blob_size, *p = blob;

  /* Most notes (one per translation unit) have few functions: their
   * spans fit on the stack, and loading a library with hundreds of notes
   * costs no system call per note. */
  struct span local[64], *spans = NULL;
  size_t spans_size = (size_t)h.nfuncs * sizeof *spans;
  bool strict = !env->lenient;
  if (strict && h.nfuncs > 1) {
    spans = h.nfuncs <= 64 ? local : env->alloc(spans_size);
    if (!spans)
      return fail_at(err, desc, desc, "out of memory to check the note");
  }
  bool ok = true;
  uint64_t total = 0;
  for (uint32_t f = 0; f < h.nfuncs && ok; f++) {
    const uint8_t *fp = ftab + (size_t)f * sizeof(struct preempt_map_func);
    struct preempt_map_func fn;
    memcpy(&fn, fp, sizeof fn);
    if (fn.nrecords == 0 || fn.nrecords > h.nrecords - total) {
      ok = fail_at(err, desc, fp + 4,
                   "function %u: %u records; the counts do not add up to "
                   "the header's %u",
                   f, fn.nrecords, h.nrecords);
      break;
    }
    struct preempt_map_site s = {.func = f, .end = end};
    const char *why = env->first_ret(env->arg, f, fp, &s.space, &s.ret);
    if (why) {
      ok = fail_at(err, desc, fp, "function %u: %s", f, why);
      break;
    }
    uint64_t first = s.ret;
    for (uint32_t r = 0; r < fn.nrecords && ok; r++) {
      s.index = r;
      const uint8_t *q = p;
      if (r > 0) {
        uint64_t delta;
        if (!preempt_read_uleb(&p, end, &delta)) {
          ok = fail_at(err, desc, q,
                       "function %u record %u: truncated return-address delta",
                       f, r);
          break;
        }
        /* Zero would give two records one return address. */
        if (delta == 0 || s.ret + delta < s.ret) {
          ok = fail_at(err, desc, q,
                       "function %u record %u: bad return-address delta %llu",
                       f, r, (unsigned long long)delta);
          break;
        }
        s.ret += delta;
      }
      if (strict && (why = env->check_ret(env->arg, s.space, s.ret))) {
        ok = fail_at(err, desc, q, "function %u record %u: %s (0x%llx)", f, r,
                     why, (unsigned long long)s.ret);
        break;
      }
      s.rec = q = p;
      if (!preempt_read_record(&p, end, &s.nvalues, &s.nregions)) {
        ok = fail_at(err, desc, q, "function %u record %u: truncated record",
                     f, r);
        break;
      }
      struct preempt_loc loc, base = {0};
      for (uint64_t l = 0; l < s.nvalues + 2ull * s.nregions; l++) {
        q = p;
        if (!preempt_read_loc(&p, end, &loc)) {
          ok = fail_at(err, desc, q,
                       "function %u record %u: bad location (byte 0x%02x)", f,
                       r, q < end ? *q : 0);
          break;
        }
        enum preempt_loc_role role =
            l < s.nvalues ? PREEMPT_ROLE_VALUE
            : (l - s.nvalues) % 2 ? PREEMPT_ROLE_SIZE
                                  : PREEMPT_ROLE_BASE;
        if (!strict)
          continue;
        why = preempt_loc_misplaced(&loc, role);
        /* The whole frame is a base 0 with a size 0. */
        if (!why && role == PREEMPT_ROLE_SIZE && base.kind == PREEMPT_LOC_CONST &&
            (loc.kind != PREEMPT_LOC_CONST || loc.size != 0))
          why = "the whole frame needs a size of 0";
        if (why) {
          ok = fail_at(err, desc, q,
                       "function %u record %u: %s (kind %u, %s) for a %s", f,
                       r, why, loc.kind,
                       loc.kind == PREEMPT_LOC_CONST ? "constant" : reg_names[loc.reg],
                       role_name(role));
          break;
        }
        base = loc;
      }
      if (ok && env->visit)
        env->visit(env->arg, &s);
    }
    if (spans)
      spans[f] = (struct span){first, s.ret, s.space, f};
    total += fn.nrecords;
  }
  if (ok && total != h.nrecords)
    ok = fail_at(err, desc, desc + 8,
                 "the functions hold %llu records, the header says %u",
                 (unsigned long long)total, h.nrecords);
  if (ok && p != end)
    ok = fail_at(err, desc, p, "%zu bytes left over after the last record",
                 (size_t)(end - p));
  if (ok && spans)
    ok = check_overlap(spans, h.nfuncs, desc, err);
  if (spans && spans != local)
    env->release(spans, spans_size);
  return ok;
}

/* ---- unsafe points -------------------------------------------------------- */

const char *preempt_unsafe_kind_name(unsigned kind) {
  switch (kind) {
  case PREEMPT_UNSAFE_RANGE:
    return "range";
  case PREEMPT_UNSAFE_FUNCTION:
    return "function";
  case PREEMPT_UNSAFE_AUTO:
    return "automatic";
  default:
    return NULL;
  }
}

bool preempt_unsafe_walk(const uint8_t *desc, size_t descsz,
                         const struct preempt_unsafe_env *env,
                         struct preempt_map_error *err) {
  struct preempt_unsafe_header h;
  if (descsz < sizeof h)
    return fail_at(err, desc, desc, "truncated header (%zu bytes)", descsz);
  memcpy(&h, desc, sizeof h);
  if (!check_header(desc, h.version, PREEMPT_UNSAFE_VERSION,
                    "unsafe-point table ", h.arch, h.flags, err))
    return false;
  if (h.nranges > descsz / sizeof(struct preempt_unsafe_range) ||
      sizeof h + (uint64_t)h.nranges * sizeof(struct preempt_unsafe_range) !=
          descsz)
    return fail_at(err, desc, desc + 4,
                   "%u ranges do not fill the note (%zu bytes of description)",
                   h.nranges, descsz);
  bool strict = !env->lenient;
  for (uint32_t i = 0; i < h.nranges; i++) {
    const uint8_t *rp = desc + sizeof h + (size_t)i * sizeof(struct preempt_unsafe_range);
    struct preempt_unsafe_range r;
    memcpy(&r, rp, sizeof r);
    struct preempt_unsafe_site s = {.index = i, .line = r.line, .kind = r.kind};
    uint32_t end_space;
    const char *why =
        env->addr(env->arg, rp + offsetof(struct preempt_unsafe_range, start),
                  &s.space, &s.start);
    if (!why)
      why = env->addr(env->arg, rp + offsetof(struct preempt_unsafe_range, end),
                      &end_space, &s.end);
    if (why)
      return fail_at(err, desc, rp, "range %u: %s", i, why);
    if (strict) {
      if (!preempt_unsafe_kind_name(r.kind))
        return fail_at(err, desc, rp + offsetof(struct preempt_unsafe_range, kind),
                       "range %u: unknown kind %u", i, r.kind);
      if (r.reserved != 0)
        return fail_at(err, desc,
                       rp + offsetof(struct preempt_unsafe_range, reserved),
                       "range %u: reserved field is 0x%x, not 0", i, r.reserved);
      if (end_space != s.space)
        return fail_at(err, desc, rp,
                       "range %u: starts and ends in different sections", i);
      if (s.start >= s.end)
        return fail_at(err, desc, rp,
                       "range %u: start 0x%llx is not below end 0x%llx", i,
                       (unsigned long long)s.start, (unsigned long long)s.end);
      if ((why = env->check_range(env->arg, s.space, s.start, s.end)))
        return fail_at(err, desc, rp, "range %u: %s (0x%llx-0x%llx)", i, why,
                       (unsigned long long)s.start, (unsigned long long)s.end);
    }
    if (env->visit)
      env->visit(env->arg, &s);
  }
  return true;
}
