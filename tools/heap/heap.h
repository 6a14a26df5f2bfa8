/* preempt-heap internals: dominators, retention paths, symbols, output. */
#ifndef PREEMPT_HEAP_H
#define PREEMPT_HEAP_H

#include "snapshot.h"

#include <stdbool.h>
#include <stdio.h>

/* idom values besides object indices. */
#define PREEMPT_DOM_ROOT (UINT32_MAX - 1) /* the super-root "(roots)" */
#define PREEMPT_DOM_UNREACHED PREEMPT_SNAP_NONE

/* Immediate dominators of a graph of n nodes (CSR start/succ) from a
 * virtual super-root whose successors are rootsucc[0..nroot).  Fills
 * idom[n] (node, PREEMPT_DOM_ROOT or PREEMPT_DOM_UNREACHED) and, if order
 * is given, the reached nodes in DFS preorder (parents in the dominator
 * tree come first); returns the number reached, or (size_t)-1 when out of
 * memory.  Semi-NCA (Lengauer-Tarjan's semi-dominators with path
 * compression), no recursion. */
size_t preempt_dominators(size_t n, const size_t *start, const uint32_t *succ,
                          const uint32_t *rootsucc, size_t nroot,
                          uint32_t *idom, uint32_t *order);

struct preempt_dom {
  uint32_t *idom;      /* per object */
  uint64_t *retained;  /* per object: bytes of its dominator subtree */
  uint8_t *type_top;   /* per object: no proper dominator of its type */
  uint64_t reached_bytes;
  size_t nreached, nunreached;
  uint64_t unreached_bytes;
};

int preempt_dom_compute(const struct preempt_snap *s, struct preempt_dom *d);
void preempt_dom_free(struct preempt_dom *d);

/* Shortest retention paths: BFS from the super-root. */
struct preempt_bfs {
  uint32_t *from;     /* per object: predecessor object, PREEMPT_DOM_ROOT or
                         PREEMPT_DOM_UNREACHED */
  uint64_t *via;      /* per object: edge index from `from`, or root index */
  uint32_t *order;    /* the norder reached objects, parents first */
  size_t norder;
};
int preempt_bfs_compute(const struct preempt_snap *s, struct preempt_bfs *b);
void preempt_bfs_free(struct preempt_bfs *b);

/* Symbols of code and data addresses, from the MODULE records. */
struct preempt_syms;
struct preempt_syms *preempt_syms_open(const struct preempt_snap *s);
/* "name+0xoff (file:line)" into buf, or the raw address if unknown. */
const char *preempt_syms_describe(struct preempt_syms *y, uint64_t addr,
                                  bool code, char *buf, size_t len);
void preempt_syms_close(struct preempt_syms *y);

/* Field-name hook: the name of the word at byte offset off of an object of
 * the given type, or NULL (layouts from the compiler will fill this in). */
const char *preempt_heap_field_name(const struct preempt_snap *s,
                                    uint32_t type, uint64_t off);

/* A type's display name: its TYPE name or "type#ID". */
const char *preempt_heap_type_name(const struct preempt_snap *s, uint32_t type,
                                   char *buf, size_t len);

void preempt_json_string(FILE *f, const char *str);

int preempt_heap_selftest(int rounds);

#endif
