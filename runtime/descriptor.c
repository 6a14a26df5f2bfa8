/* Layouts made at run time (Boehm GC's GC_make_descriptor and
 * GC_malloc_explicitly_typed): a bitmap of the words that may hold
 * pointers becomes a layout in the plugin's format (layout_format.h), and
 * objects allocated with it are scanned by it like preempt_new(T) objects.
 * Descriptors live as long as the program (as Boehm's do): each is a type
 * of its own, named by the program or "(descriptor N)". */
#include "layout_format.h"
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct preempt_descriptor {
  int slot;    /* its type id, once an object is allocated */
  size_t size; /* the bytes it describes */
  char *name;
  uint32_t blob[]; /* layout_format.h */
};

preempt_descriptor *preempt_make_descriptor(const uint64_t *bitmap,
                                            size_t nwords,
                                            const char *type_name) {
  static _Atomic unsigned serial;
  if (!nwords || nwords > (UINT32_MAX / sizeof(uintptr_t)) || !bitmap)
    return NULL;
  uint32_t nptrs = 0;
  for (size_t i = 0; i < nwords; i++)
    nptrs += (bitmap[i / 64] >> (i % 64)) & 1;
  char generated[32];
  if (!type_name) {
    snprintf(generated, sizeof generated, "(descriptor %u)", ++serial);
    type_name = generated;
  }
  /* Fields are named by their word: "w3". */
  size_t names_len = 0;
  for (size_t i = 0; i < nwords; i++)
    if ((bitmap[i / 64] >> (i % 64)) & 1)
      names_len += (size_t)snprintf(NULL, 0, "w%zu", i) + 1;
  size_t words = PREEMPT_LAYOUT_HEADER_WORDS + 2 * (size_t)nptrs;
  struct preempt_descriptor *d =
      malloc(sizeof *d + words * 4 + names_len + 4);
  char *name = strdup(type_name);
  if (!d || !name) {
    free(d);
    free(name);
    return NULL;
  }
  uint32_t *w = d->blob;
  w[0] = PREEMPT_LAYOUT_MAGIC;
  w[1] = (uint32_t)(nwords * sizeof(uintptr_t));
  w[2] = 0;
  w[3] = nptrs;
  w[4] = (uint32_t)names_len;
  char *names = (char *)(w + words);
  uint32_t k = 0, at = 0;
  for (size_t i = 0; i < nwords; i++)
    if ((bitmap[i / 64] >> (i % 64)) & 1) {
      w[PREEMPT_LAYOUT_HEADER_WORDS + 2 * k] = (uint32_t)(i * sizeof(uintptr_t));
      w[PREEMPT_LAYOUT_HEADER_WORDS + 2 * k + 1] = at;
      at += (uint32_t)sprintf(names + at, "w%zu", i) + 1;
      k++;
    }
  d->slot = 0;
  d->size = nwords * sizeof(uintptr_t);
  d->name = name;
  return d;
}

void *preempt_alloc_described(size_t size, preempt_descriptor *d) {
  if (size < d->size)
    preempt_fatal("preempt_alloc_described: %zu bytes is smaller than "
                  "descriptor '%s' (%zu bytes)",
                  size, d->name, d->size);
  return preempt__alloc_layout(size, d->name, &d->slot, d->blob);
}
