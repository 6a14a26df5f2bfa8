/* Open addressing with linear probing and backward-shift deletion: no
 * tombstones, so probe sequences stay short after any number of additions
 * and removals.  The table shrinks when mostly empty: a burst of entries
 * must not leave a large table for every collection to walk. */
#include "addrmap.h"
#include "stw.h"
#include "sysmem.h"

#define MIN_CAP 64

static size_t home(const struct preempt_addrmap *m, uintptr_t key) {
  return (size_t)((key * 0x9e3779b97f4a7c15ull) >> m->shift);
}

struct preempt_addrmap_entry *preempt_addrmap_find(struct preempt_addrmap *m,
                                                   uintptr_t key) {
  if (!m->cap)
    return NULL;
  for (size_t i = home(m, key);; i = (i + 1) & (m->cap - 1)) {
    if (m->e[i].key == key)
      return &m->e[i];
    if (!m->e[i].key)
      return NULL;
  }
}

static struct preempt_addrmap_entry *put(struct preempt_addrmap *m,
                                         struct preempt_addrmap_entry x) {
  size_t i = home(m, x.key);
  while (m->e[i].key)
    i = (i + 1) & (m->cap - 1);
  m->e[i] = x;
  return &m->e[i];
}

static void resize(struct preempt_addrmap *m, size_t cap) {
  struct preempt_addrmap_entry *old = m->e;
  size_t old_cap = m->cap;
  struct preempt_addrmap_entry *fresh = preempt_sys_alloc(cap * sizeof *fresh);
  if (!fresh) {
    if (cap < old_cap)
      return; /* shrinking is optional */
    preempt_unlock_heap();
    preempt_fatal("out of memory for the table of %s (%zu entries)", m->what,
                  cap);
  }
  m->e = fresh;
  m->cap = cap;
  m->shift = 64 - (unsigned)__builtin_ctzll(cap);
  for (size_t i = 0; i < old_cap; i++)
    if (old[i].key)
      put(m, old[i]);
  if (old)
    preempt_sys_free(old, old_cap * sizeof *old);
}

struct preempt_addrmap_entry *preempt_addrmap_add(struct preempt_addrmap *m,
                                                  uintptr_t key, bool *added) {
  struct preempt_addrmap_entry *x = preempt_addrmap_find(m, key);
  *added = !x;
  if (x)
    return x;
  if ((m->used + 1) * 2 > m->cap)
    resize(m, m->cap ? m->cap * 2 : MIN_CAP);
  m->used++;
  return put(m, (struct preempt_addrmap_entry){key, 0});
}

bool preempt_addrmap_remove(struct preempt_addrmap *m, uintptr_t key) {
  struct preempt_addrmap_entry *x = preempt_addrmap_find(m, key);
  if (!x)
    return false;
  /* Backward shift: move later entries of the run into the hole unless
   * their home lies cyclically in (hole, j]. */
  size_t mask = m->cap - 1, i = (size_t)(x - m->e);
  for (size_t j = (i + 1) & mask; m->e[j].key; j = (j + 1) & mask) {
    size_t k = home(m, m->e[j].key);
    bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
    if (!stays) {
      m->e[i] = m->e[j];
      i = j;
    }
  }
  m->e[i] = (struct preempt_addrmap_entry){0, 0};
  m->used--;
  if (m->cap > MIN_CAP && m->used * 8 < m->cap)
    resize(m, m->cap / 2);
  return true;
}
