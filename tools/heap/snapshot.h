/* The one reader of heap snapshot files (runtime/snapshot_format.h): loads
 * a whole file into flat arrays.  Objects are sorted by address; an
 * object's edges are the CSR range [edge_start[i], edge_start[i + 1]) of
 * edge_target (object indices) and edge_offset (byte offsets of the words
 * within object i).  Free of anything tool-specific: preempt-heap and the
 * runtime's tests link it.
 *
 * Damaged or truncated input never crashes the reader and is never read
 * out of bounds; it yields an error naming the file, the byte offset and
 * what was wrong.  Unknown tags, and unknown trailing fields of known
 * records, are skipped. */
#ifndef PREEMPT_SNAPSHOT_H
#define PREEMPT_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#define PREEMPT_SNAP_NONE UINT32_MAX /* "no object" */

struct preempt_snap_object {
  uint64_t addr, size;
  uint32_t type; /* index into preempt_snap.types */
  uint32_t flags;
};

struct preempt_snap_field {
  uint64_t offset; /* of a word that may hold a pointer */
  char *name;      /* "next", "a.b[2]" */
};

struct preempt_snap_type {
  uint64_t id;
  char *name; /* NULL: objects use an id no TYPE record names */
  /* From the plugin's layout, if the type has one (else nfields 0 and
   * layout_size 0): the pointer fields, by increasing offset. */
  uint64_t layout_size;
  int layout_array; /* objects are arrays of it: offsets repeat */
  struct preempt_snap_field *fields;
  size_t nfields;
};

struct preempt_snap_root {
  uint32_t kind; /* enum preempt_snap_root_kind (may be unknown) */
  uint32_t obj;  /* object index */
  uint64_t slot, tid, ip;
  char *name; /* "" unless a registered root */
};

struct preempt_snap_module {
  uint64_t bias, lo, hi;
  char *path;
};

struct preempt_snap_thread {
  uint64_t tid;
  char *name;
};

struct preempt_snap_info {
  int present;
  uint64_t version, pid, time_ns, pause_ns, heap_mapped, objects, roots;
  char *reason;
};

struct preempt_snap {
  struct preempt_snap_info info;
  struct preempt_snap_object *objects; /* sorted by address */
  size_t nobjects;
  size_t *edge_start;     /* nobjects + 1 entries */
  uint32_t *edge_target;  /* object indices */
  uint64_t *edge_offset;  /* byte offset of the word in the source object */
  size_t nedges;
  struct preempt_snap_root *roots; /* file order */
  size_t nroots;
  struct preempt_snap_type *types; /* sorted by id */
  size_t ntypes;
  struct preempt_snap_module *modules;
  size_t nmodules;
  struct preempt_snap_thread *threads;
  size_t nthreads;
};

/* Loads path into *s (zeroed first).  0 on success; otherwise -1 with a
 * message in err ("FILE: offset N: what") and *s empty. */
int preempt_snap_load(const char *path, struct preempt_snap *s, char *err,
                      size_t errlen);
/* The same from memory; name is used in messages. */
int preempt_snap_parse(const uint8_t *buf, size_t len, const char *name,
                       struct preempt_snap *s, char *err, size_t errlen);
void preempt_snap_free(struct preempt_snap *s);

/* The object containing addr (its start or an interior address), or
 * PREEMPT_SNAP_NONE. */
uint32_t preempt_snap_find(const struct preempt_snap *s, uint64_t addr);
/* The object starting exactly at addr, or PREEMPT_SNAP_NONE. */
uint32_t preempt_snap_find_exact(const struct preempt_snap *s, uint64_t addr);
/* The name of the pointer field at byte offset off of an object of type
 * index type (an array's element's, for arrays), or NULL. */
const char *preempt_snap_field_name(const struct preempt_snap *s,
                                    uint32_t type, uint64_t off);
/* The thread record of tid, or NULL. */
const struct preempt_snap_thread *
preempt_snap_thread(const struct preempt_snap *s, uint64_t tid);

#endif
