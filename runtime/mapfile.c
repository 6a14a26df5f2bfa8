/* Decoding of the compact records (map_format.h).  Every read is bounds-
 * checked: maps come from files we did not necessarily build. */
#include "internal.h"
#include "map_format.h"

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
    if ((unsigned)preempt_callee_saved[i] == reg)
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
  if (l->kind != PREEMPT_LOC_CONST && !frame_register(l->reg))
    return "root in a register that calls clobber";
  return NULL;
}
