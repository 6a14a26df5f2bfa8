/* Type layouts (layout.h): checked, copied into runtime memory (the blob
 * belongs to an object that may be unloaded), and kept for ever like the
 * type names. */
#include "layout.h"
#include "layout_format.h"
#include "sysmem.h"
#include "threads.h"

#include <pthread.h>
#include <string.h>

const struct preempt_layout *preempt_type_layouts[PREEMPT_MAX_TYPES];
bool preempt_type_noscan[PREEMPT_MAX_TYPES];
/* A copy of the first blob each type got: later ones are compared with it
 * (the first may belong to an object unloaded since). */
static uint32_t *first_blob[PREEMPT_MAX_TYPES];
static bool conflicted[PREEMPT_MAX_TYPES];
static pthread_mutex_t layout_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t blob_size(const uint32_t *w) {
  return (PREEMPT_LAYOUT_HEADER_WORDS + 2 * (size_t)w[3]) * 4 + w[4];
}

/* NULL if blob is a valid layout, else what is wrong with it. */
static const char *check(const uint32_t *w) {
  if (w[0] != PREEMPT_LAYOUT_MAGIC)
    return "bad magic number";
  uint32_t size = w[1], nptrs = w[3], names_len = w[4];
  if (w[2] & ~PREEMPT_LAYOUT_ARRAY)
    return "unknown flags";
  if (!size)
    return "an empty type";
  if (nptrs > size / sizeof(uintptr_t))
    return "more pointer words than the type has";
  const char *names = (const char *)(w + PREEMPT_LAYOUT_HEADER_WORDS + 2 * nptrs);
  if (names_len && names[names_len - 1])
    return "names not terminated";
  for (uint32_t i = 0; i < nptrs; i++) {
    uint32_t off = w[PREEMPT_LAYOUT_HEADER_WORDS + 2 * i];
    uint32_t name = w[PREEMPT_LAYOUT_HEADER_WORDS + 2 * i + 1];
    if (off % sizeof(uintptr_t) || off + sizeof(uintptr_t) > size)
      return "a pointer word outside the type";
    if (i && off <= w[PREEMPT_LAYOUT_HEADER_WORDS + 2 * (i - 1)])
      return "pointer words out of order";
    if (name >= names_len)
      return "a name outside the names";
  }
  return NULL;
}

static const struct preempt_layout *copy(const uint32_t *w) {
  uint32_t nptrs = w[3], names_len = w[4];
  /* The names' pointers after the offsets, aligned for pointers. */
  size_t at = ALIGN_UP(sizeof(struct preempt_layout) + nptrs * sizeof(uint32_t),
                       _Alignof(const char *));
  size_t bytes = at + nptrs * sizeof(char *) + names_len;
  struct preempt_layout *l = preempt_sys_alloc(bytes);
  if (!l)
    return NULL;
  l->size = w[1];
  l->flags = w[2];
  l->nptrs = nptrs;
  const char **names = (const char **)((char *)l + at);
  char *text = (char *)(names + nptrs);
  memcpy(text, w + PREEMPT_LAYOUT_HEADER_WORDS + 2 * nptrs, names_len);
  for (uint32_t i = 0; i < nptrs; i++) {
    l->offsets[i] = w[PREEMPT_LAYOUT_HEADER_WORDS + 2 * i];
    names[i] = text + w[PREEMPT_LAYOUT_HEADER_WORDS + 2 * i + 1];
  }
  l->names = names;
  return l;
}

void preempt_layout_fork_prepare(void) { pthread_mutex_lock(&layout_lock); }
void preempt_layout_fork_done(void) { pthread_mutex_unlock(&layout_lock); }

void preempt_type_set_layout(int id, const void *blob) {
  if (!id || !blob)
    return;
  const uint32_t *w = blob;
  preempt_nopreempt_begin();
  pthread_mutex_lock(&layout_lock);
  const char *why = check(w);
  if (conflicted[id]) {
    /* conservative for good */
  } else if (first_blob[id]) {
    if (why || blob_size(w) != blob_size(first_blob[id]) ||
        memcmp(w, first_blob[id], blob_size(w))) {
      conflicted[id] = true;
      preempt_type_layouts[id] = NULL;
      preempt_type_noscan[id] = false;
      preempt_warn("type '%s' has two different layouts (two types of that "
                   "name in different files?): its objects are scanned "
                   "conservatively",
                   preempt_type_name(id));
    }
  } else if (why) {
    conflicted[id] = true;
    preempt_warn("the layout of type '%s' from the plugin is damaged (%s): "
                 "its objects are scanned conservatively",
                 preempt_type_name(id), why);
  } else if ((first_blob[id] = preempt_sys_alloc(blob_size(w)))) {
    memcpy(first_blob[id], w, blob_size(w));
    preempt_type_layouts[id] = copy(w);
    preempt_type_noscan[id] = preempt_type_layouts[id] && !w[3];
  }
  pthread_mutex_unlock(&layout_lock);
  preempt_nopreempt_end();
}
