/* The one reader of the stack-map format (map_format.h), shared by the
 * runtime and tools/preempt-maps: note iteration over a memory buffer,
 * header checks, record and location decoding, and the validator.
 *
 * Plain C11 with no runtime dependencies (not internal.h), so the tool
 * compiles it too.  Every read is bounds-checked: maps come from files we
 * did not necessarily build, and a damaged map must give one clear error,
 * never a crash. */
#ifndef PREEMPT_MAPFILE_H
#define PREEMPT_MAPFILE_H

#include "arch.h"
#include "map_format.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PREEMPT_MAPFILE_API __attribute__((visibility("hidden")))

/* ---- notes ------------------------------------------------------------- */
struct preempt_note {
  const uint8_t *hdr;  /* the note header */
  const uint8_t *desc; /* its description */
  size_t descsz;
  size_t bytes;        /* header, name, description and padding */
  bool maps;           /* one of ours (PREEMPT_NOTE_MAPS) */
  bool unsafe;         /* our unsafe-point table (PREEMPT_NOTE_UNSAFE) */
};
/* The next note in [*p, end), a note section or segment aligned to align
 * (4 or 8).  1: a note in *n and *p moved past it; 0: the end (trailing
 * zero padding included); -1: a note that runs past end (*why says how). */
int preempt_note_next(const uint8_t **p, const uint8_t *end, size_t align,
                      struct preempt_note *n, const char **why)
    PREEMPT_MAPFILE_API;

/* ---- records and locations -------------------------------------------- */
struct preempt_loc {
  uint8_t kind; /* enum preempt_loc_kind */
  uint8_t reg;  /* DWARF register */
  int32_t offset;
  uint32_t size; /* IND_N: bytes; CONST: the value */
};
enum preempt_loc_role {
  PREEMPT_ROLE_VALUE,
  PREEMPT_ROLE_BASE,
  PREEMPT_ROLE_SIZE,
};
/* Decoders return false on truncated or out-of-range input. */
bool preempt_read_uleb(const uint8_t **p, const uint8_t *end, uint64_t *out)
    PREEMPT_MAPFILE_API;
bool preempt_read_loc(const uint8_t **p, const uint8_t *end,
                      struct preempt_loc *loc) PREEMPT_MAPFILE_API;
/* One record header; *p is left at its first location. */
bool preempt_read_record(const uint8_t **p, const uint8_t *end,
                         uint32_t *nvalues, uint32_t *nregions)
    PREEMPT_MAPFILE_API;
/* NULL if l may stand in that role at a call site, else what is wrong. */
const char *preempt_loc_misplaced(const struct preempt_loc *l,
                                  enum preempt_loc_role role)
    PREEMPT_MAPFILE_API;

/* ---- the validator ------------------------------------------------------ */
/* A return address is (space, address): linked files have one space;
 * relocatable objects one per section, where every section starts at 0. */
struct preempt_map_site {
  uint32_t func, index; /* function entry in the note, record in it */
  uint32_t space;
  uint64_t ret;
  const uint8_t *rec, *end; /* the record (counts, locations); blob end */
  uint32_t nvalues, nregions;
};
struct preempt_map_env {
  /* The first return address of function f, whose table entry is at
   * field; NULL, or what is wrong. */
  const char *(*first_ret)(void *arg, uint32_t f, const uint8_t *field,
                           uint32_t *space, uint64_t *ret);
  /* NULL if a call of the object's code ends at ret, else what is wrong. */
  const char *(*check_ret)(void *arg, uint32_t space, uint64_t ret);
  /* Scratch memory for the overlap check (NULL: out of memory). */
  void *(*alloc)(size_t size);
  void (*release)(void *p, size_t size);
  /* Called for each record as it is decoded, or NULL. */
  void (*visit)(void *arg, const struct preempt_map_site *site);
  void *arg;
  /* Decode only: skip the checks of meaning (locations a frame cannot
   * hold, return addresses outside the code, overlapping functions), for
   * a tool that shows what a damaged note says. */
  bool lenient;
};
struct preempt_map_error {
  size_t offset; /* in the note's description */
  char reason[192];
};
/* Checks one note's description and walks its records.  true if it is
 * sound; else *err says where and why, and visit may have seen part. */
bool preempt_map_walk(const uint8_t *desc, size_t descsz,
                      const struct preempt_map_env *env,
                      struct preempt_map_error *err) PREEMPT_MAPFILE_API;

/* ---- unsafe points (PREEMPT_NOTE_UNSAFE) ------------------------------- */
struct preempt_unsafe_site {
  uint32_t index;        /* range in the note */
  uint32_t space;        /* as for return addresses */
  uint64_t start, end;   /* [start, end) */
  uint32_t line;
  uint16_t kind;         /* enum preempt_unsafe_kind */
};
struct preempt_unsafe_env {
  /* The address a self-relative field at field stands for; NULL, or what
   * is wrong. */
  const char *(*addr)(void *arg, const uint8_t *field, uint32_t *space,
                      uint64_t *addr);
  /* NULL if [start, end) lies inside one segment of the object's code,
   * else what is wrong. */
  const char *(*check_range)(void *arg, uint32_t space, uint64_t start,
                             uint64_t end);
  /* Called for each range as it is decoded, or NULL. */
  void (*visit)(void *arg, const struct preempt_unsafe_site *site);
  void *arg;
  bool lenient; /* decode only: no check of kinds, order or addresses */
};
/* Checks one unsafe-point note's description and walks its ranges.  true
 * if it is sound; else *err says where and why, and visit may have seen
 * part.  No allocation: safe to call anywhere the runtime reads maps. */
bool preempt_unsafe_walk(const uint8_t *desc, size_t descsz,
                         const struct preempt_unsafe_env *env,
                         struct preempt_map_error *err) PREEMPT_MAPFILE_API;
/* "range", "function", "automatic", or NULL for an unknown kind. */
const char *preempt_unsafe_kind_name(unsigned kind) PREEMPT_MAPFILE_API;

/* Sorts n elements of size bytes by less: no allocation, no libc, so that
 * a signal handler may sort (libc's qsort may malloc). */
void preempt_heapsort(void *base, size_t n, size_t size,
                      bool (*less)(const void *, const void *));

#endif
