/* The map registry: every loaded object (executable, shared libraries),
 * its stack-map notes and its writable data segments.
 *
 * Objects are found with dl_iterate_phdr.  glibc counts loads and unloads
 * (dlpi_adds, dlpi_subs), so a collection re-reads the list only after a
 * dlopen or dlclose.  Notes are validated once per loaded object; the hash
 * table from return address to record is rebuilt from the validated
 * records.
 *
 * Any thread may sync (each checks before it scans its own stack, so a
 * library unloaded and another loaded at its address are never read
 * through stale records); syncs take reg_lock.  Readers (stack walks)
 * take no lock: a rebuilt table is published with one atomic store, and
 * the old one is only freed once the world is stopped, when no thread is
 * walking.  Data segments are scanned from inside dl_iterate_phdr, which
 * holds the loader's lock: a dlclose in another thread cannot unmap them
 * meanwhile. */
#define _GNU_SOURCE
#include "mapfile.h"
#include "registry.h"
#include "sysmem.h"
#include "threads.h"

#include <elf.h>
#include <link.h>
#include <string.h>

#define MAX_SEGS 16

struct range {
  uintptr_t lo, hi;
};

struct object {
  uintptr_t base;
  char name[256];
  const void *phdr; /* identity together with base */
  struct range text[MAX_SEGS];
  int ntext;
  size_t nrecords;
  size_t nunsafe; /* ranges in its sound unsafe-point notes */
  bool live; /* seen in the latest dl_iterate_phdr pass */
  bool told_duplicate; /* two of its notes claim one return address */
};

struct entry {
  uintptr_t ret;
  const uint8_t *data, *end;
};

/* Open addressing, power-of-two size.  An entry whose data is NULL is a
 * return address claimed by two records (a damaged map): no map. */
struct table {
  size_t size, nentries;
  struct table *retired; /* next older table waiting to be freed */
  struct entry e[];
};

/* Where threads must not be stopped asynchronously, for the signal
 * handler that stops them (preempt_registry_unsafe_at): every loaded
 * object's unsafe ranges, then every object's code segments, each part
 * sorted and merged into disjoint ranges.  Published and retired like the
 * map table. */
struct unsafe_table {
  size_t nranges, ntext;
  struct unsafe_table *retired;
  struct range r[];
};

static struct {
  struct range *v; /* being built, under reg.lock */
  size_t n, cap;
  _Atomic(struct unsafe_table *) table;
  struct unsafe_table *retired; /* under reg.lock */
} unsafe;

static struct {
  struct object *objs; /* under lock */
  size_t nobjs, cap;
  _Atomic(struct table *) table;
  struct table *building, *retired; /* under lock */
  unsigned long long adds, subs;
  bool synced;
  _Atomic uint64_t generation;
  pthread_mutex_t lock;
} reg = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The runtime's own globals that point at the heap (the arena bounds) live
 * in this section so that scanning globals can leave them out. */
extern char __start_preempt_rt[] __attribute__((weak, visibility("hidden")));
extern char __stop_preempt_rt[] __attribute__((weak, visibility("hidden")));

static bool in_text(const struct object *o, uintptr_t a) {
  for (int i = 0; i < o->ntext; i++)
    if (a >= o->text[i].lo && a < o->text[i].hi)
      return true;
  return false;
}

static size_t hash(uintptr_t ret, size_t size) {
  return (size_t)((ret * 0x9e3779b97f4a7c15ull) >> 17) & (size - 1);
}

static void table_insert(struct object *o, uintptr_t ret,
                         const uint8_t *data, const uint8_t *end) {
  struct table *t = reg.building;
  size_t i = hash(ret, t->size);
  while (t->e[i].ret && t->e[i].ret != ret)
    i = (i + 1) & (t->size - 1);
  if (!t->e[i].ret) {
    t->nentries++;
    t->e[i] = (struct entry){ret, data, end};
  } else if (t->e[i].data) {
    if (!o->told_duplicate)
      preempt_warn("%s: two stack map records for the call returning to %p "
                   "(a damaged map?); that call's frames will be scanned "
                   "conservatively",
                   o->name[0] ? o->name : "(main program)", (void *)ret);
    o->told_duplicate = true;
    t->e[i].data = t->e[i].end = NULL;
  }
}

const uint8_t *preempt_registry_lookup(uintptr_t ret, const uint8_t **end) {
  struct table *t = atomic_load_explicit(&reg.table, memory_order_acquire);
  if (!t || !ret)
    return NULL;
  for (size_t i = hash(ret, t->size);; i = (i + 1) & (t->size - 1)) {
    if (t->e[i].ret == ret) {
      *end = t->e[i].end;
      return t->e[i].data;
    }
    if (!t->e[i].ret)
      return NULL;
  }
}

size_t preempt_registry_record_count(void) {
  struct table *t = atomic_load(&reg.table);
  return t ? t->nentries : 0;
}

/* The shared validator (mapfile.h) in the runtime's terms: return
 * addresses are self-relative and must end a call in the object's code. */
struct note_walk {
  struct object *o;
  bool insert;
  size_t count;
};

static const char *note_first_ret(void *arg, uint32_t f, const uint8_t *field,
                                  uint32_t *space, uint64_t *ret) {
  (void)arg;
  (void)f;
  int32_t rel;
  memcpy(&rel, field, sizeof rel);
  *space = 0;
  *ret = (uintptr_t)field + (uintptr_t)(intptr_t)rel;
  return NULL;
}

static const char *note_check_ret(void *arg, uint32_t space, uint64_t ret) {
  const struct note_walk *w = arg;
  (void)space;
  /* The call ends at ret, which may end the segment (a noreturn call). */
  return in_text(w->o, (uintptr_t)ret - 1)
             ? NULL
             : "return address outside the object's code";
}

static void note_visit(void *arg, const struct preempt_map_site *s) {
  struct note_walk *w = arg;
  w->count++;
  if (w->insert)
    table_insert(w->o, (uintptr_t)s->ret, s->rec, s->end);
}

/* Unsafe-point notes: self-relative ranges inside one code segment. */
static const char *unsafe_addr(void *arg, const uint8_t *field,
                               uint32_t *space, uint64_t *addr) {
  (void)arg;
  int32_t rel;
  memcpy(&rel, field, sizeof rel);
  *space = 0;
  *addr = (uintptr_t)field + (uintptr_t)(intptr_t)rel;
  return NULL;
}

static const char *unsafe_check(void *arg, uint32_t space, uint64_t start,
                                uint64_t end) {
  const struct object *o = arg;
  (void)space;
  for (int i = 0; i < o->ntext; i++)
    if (start >= o->text[i].lo && end <= o->text[i].hi)
      return NULL;
  return "range outside the object's code";
}

static void unsafe_count(void *arg, const struct preempt_unsafe_site *s) {
  (void)s;
  ((struct object *)arg)->nunsafe++;
}

static void unsafe_insert(void *arg, const struct preempt_unsafe_site *s) {
  (void)arg;
  if (unsafe.n < unsafe.cap) /* sized by the validating pass */
    unsafe.v[unsafe.n++] = (struct range){(uintptr_t)s->start, (uintptr_t)s->end};
}

/* Validates and counts (insert false, with messages) or collects (insert
 * true) the ranges of one unsafe-point note of o. */
static void each_unsafe_range(struct object *o, const struct preempt_note *note,
                              bool insert) {
  struct preempt_unsafe_env env = {
      .addr = unsafe_addr,
      .check_range = unsafe_check,
      .arg = o,
  };
  struct preempt_map_error err;
  if (!preempt_unsafe_walk(note->desc, note->descsz, &env, &err)) {
    if (!insert)
      preempt_warn("%s: malformed unsafe-point table at offset 0x%lx: %s; "
                   "its ranges are ignored (threads may be stopped there)",
                   o->name[0] ? o->name : "(main program)",
                   (unsigned long)((uintptr_t)note->desc + err.offset - o->base),
                   err.reason);
    return;
  }
  env.visit = insert ? unsafe_insert : unsafe_count;
  env.lenient = true;
  preempt_unsafe_walk(note->desc, note->descsz, &env, &err);
}

/* Validates (insert false, with messages) or indexes (insert true) each of
 * our notes in o; notes that fail validation are never indexed. */
static void each_note(struct object *o, const ElfW(Phdr) * ph, int n,
                      bool insert, size_t *nrecords) {
  for (int i = 0; i < n; i++) {
    if (ph[i].p_type != PT_NOTE)
      continue;
    const uint8_t *p = (const uint8_t *)(o->base + ph[i].p_vaddr);
    const uint8_t *end = p + ph[i].p_memsz;
    struct preempt_note note;
    const char *why;
    while (preempt_note_next(&p, end, ph[i].p_align, &note, &why) > 0) {
      if (note.unsafe) {
        each_unsafe_range(o, &note, insert);
        continue;
      }
      if (!note.maps)
        continue;
      struct note_walk w = {.o = o};
      struct preempt_map_env env = {
          .first_ret = note_first_ret,
          .check_ret = note_check_ret,
          .alloc = preempt_sys_alloc,
          .release = preempt_sys_free,
          .arg = &w,
      };
      struct preempt_map_error err;
      if (!preempt_map_walk(note.desc, note.descsz, &env, &err)) {
        if (!insert)
          preempt_warn("%s: malformed stack map note at offset 0x%lx: %s; "
                       "its frames will be scanned conservatively",
                       o->name[0] ? o->name : "(main program)",
                       (unsigned long)((uintptr_t)note.desc + err.offset - o->base),
                       err.reason);
        continue;
      }
      /* Checked: walk again to count or index its records. */
      w.insert = insert;
      env.visit = note_visit;
      env.lenient = true;
      preempt_map_walk(note.desc, note.descsz, &env, &err);
      *nrecords += w.count;
    }
  }
}

static struct object *find_or_add(struct dl_phdr_info *info) {
  for (size_t i = 0; i < reg.nobjs; i++)
    if (reg.objs[i].base == info->dlpi_addr &&
        reg.objs[i].phdr == info->dlpi_phdr &&
        !strncmp(reg.objs[i].name, info->dlpi_name ? info->dlpi_name : "",
                 sizeof reg.objs[i].name - 1))
      return &reg.objs[i];
  if (reg.nobjs == reg.cap)
    preempt_array_grow((void **)&reg.objs, &reg.cap, reg.nobjs, sizeof *reg.objs,
                       64, "the object registry");
  struct object *o = &reg.objs[reg.nobjs++];
  memset(o, 0, sizeof *o);
  o->base = info->dlpi_addr;
  o->phdr = info->dlpi_phdr;
  strncpy(o->name, info->dlpi_name ? info->dlpi_name : "", sizeof o->name - 1);
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD)
      continue;
    struct range r = {o->base + ph->p_vaddr, o->base + ph->p_vaddr + ph->p_memsz};
    if ((ph->p_flags & PF_X) && o->ntext < MAX_SEGS)
      o->text[o->ntext++] = r;
  }
  /* Validate once, with messages. */
  each_note(o, info->dlpi_phdr, info->dlpi_phnum, false, &o->nrecords);
  return o;
}

static int sync_cb(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  (void)arg;
  /* The vDSO has no notes of ours and no data to scan. */
  if (info->dlpi_name && !strncmp(info->dlpi_name, "linux-vdso", 10))
    return 0;
  struct object *o = find_or_add(info);
  o->live = true;
  return 0;
}

static int insert_cb(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  (void)arg;
  for (size_t i = 0; i < reg.nobjs; i++)
    if (reg.objs[i].base == info->dlpi_addr &&
        reg.objs[i].phdr == info->dlpi_phdr &&
        (reg.objs[i].nrecords || reg.objs[i].nunsafe)) {
      size_t n = 0;
      each_note(&reg.objs[i], info->dlpi_phdr, info->dlpi_phnum, true, &n);
    }
  return 0;
}

static int counters_cb(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)arg;
  if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
    reg.adds = info->dlpi_adds;
    reg.subs = info->dlpi_subs;
  }
  return 1; /* the counters are the same in every entry */
}

static void unsafe_publish(size_t ntext);

void preempt_registry_sync(void) {
  pthread_mutex_lock(&reg.lock);
  unsigned long long adds = reg.adds, subs = reg.subs;
  preempt_loader_iterate(counters_cb, NULL);
  if (reg.synced && adds == reg.adds && subs == reg.subs) {
    pthread_mutex_unlock(&reg.lock);
    return;
  }
  reg.synced = true;
  for (size_t i = 0; i < reg.nobjs; i++)
    reg.objs[i].live = false;
  preempt_loader_iterate(sync_cb, NULL);
  /* Forget unloaded objects. */
  size_t n = 0, records = 0;
  for (size_t i = 0; i < reg.nobjs; i++)
    if (reg.objs[i].live) {
      records += reg.objs[i].nrecords;
      reg.objs[n++] = reg.objs[i];
    }
  reg.nobjs = n;
  size_t size = 64;
  while (size < records * 2)
    size *= 2;
  reg.building = preempt_sys_alloc(sizeof(struct table) + size * sizeof(struct entry));
  if (!reg.building)
    preempt_fatal("out of memory for the stack map table");
  reg.building->size = size;
  size_t nunsafe = 0, ntext = 0;
  for (size_t i = 0; i < reg.nobjs; i++) {
    nunsafe += reg.objs[i].nunsafe;
    ntext += (size_t)reg.objs[i].ntext;
  }
  unsafe.cap = nunsafe;
  unsafe.n = 0;
  unsafe.v = nunsafe ? preempt_sys_alloc(nunsafe * sizeof *unsafe.v) : NULL;
  if (nunsafe && !unsafe.v)
    preempt_fatal("out of memory for the unsafe-point table");
  preempt_loader_iterate(insert_cb, NULL);
  unsafe_publish(ntext);
  struct table *old = atomic_exchange(&reg.table, reg.building);
  if (old) {
    old->retired = reg.retired;
    reg.retired = old;
  }
  reg.building = NULL;
  atomic_fetch_add(&reg.generation, 1);
  pthread_mutex_unlock(&reg.lock);
}

static bool range_less(const void *a, const void *b) {
  return ((const struct range *)a)->lo < ((const struct range *)b)->lo;
}

/* Sorts v and merges overlapping or touching ranges; the new count. */
static size_t ranges_normalise(struct range *v, size_t n) {
  preempt_heapsort(v, n, sizeof *v, range_less);
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    if (m && v[i].lo <= v[m - 1].hi) {
      if (v[i].hi > v[m - 1].hi)
        v[m - 1].hi = v[i].hi;
    } else {
      v[m++] = v[i];
    }
  }
  return m;
}

static size_t unsafe_table_bytes(const struct unsafe_table *t) {
  return sizeof *t + (t->nranges + t->ntext) * sizeof(struct range);
}

/* Under reg.lock, after insert_cb filled unsafe.v: the table of the ranges
 * collected and of the code of every object (the vDSO's included: it is
 * code the runtime knows, though it holds no maps). */
static int vdso_text_cb(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  struct unsafe_table *t = arg;
  if (!info->dlpi_name || strncmp(info->dlpi_name, "linux-vdso", 10))
    return 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
      uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
      t->r[t->nranges + t->ntext++] = (struct range){lo, lo + ph->p_memsz};
      break; /* room was made for one */
    }
  }
  return 1;
}

static void unsafe_publish(size_t ntext) {
  size_t n = ranges_normalise(unsafe.v, unsafe.n);
  struct unsafe_table *t = preempt_sys_alloc(
      sizeof *t + (n + ntext + 1) * sizeof(struct range));
  if (!t)
    preempt_fatal("out of memory for the unsafe-point table");
  t->nranges = n;
  if (n)
    memcpy(t->r, unsafe.v, n * sizeof *t->r);
  for (size_t i = 0; i < reg.nobjs; i++)
    for (int j = 0; j < reg.objs[i].ntext; j++)
      t->r[n + t->ntext++] = reg.objs[i].text[j];
  preempt_loader_iterate(vdso_text_cb, t);
  t->ntext = ranges_normalise(t->r + n, t->ntext);
  if (unsafe.v)
    preempt_sys_free(unsafe.v, unsafe.cap * sizeof *unsafe.v);
  unsafe.v = NULL;
  unsafe.n = unsafe.cap = 0;
  struct unsafe_table *old = atomic_exchange(&unsafe.table, t);
  if (old) {
    old->retired = unsafe.retired;
    unsafe.retired = old;
  }
}

/* Binary search in sorted, disjoint ranges. */
static bool ranges_contain(const struct range *v, size_t n, uintptr_t a) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (a < v[mid].lo)
      hi = mid;
    else if (a >= v[mid].hi)
      lo = mid + 1;
    else
      return true;
  }
  return false;
}

/* Code outside every loaded object (JIT code, trampolines) has no unsafe
 * ranges: a thread there is stopped and scanned conservatively.  The
 * stopper syncs as it signals, and a thread in code no sync has seen is
 * signalled again after it (stw.c), so an object loaded just before is
 * known. */
bool preempt_registry_unsafe_at(uintptr_t pc) {
  struct unsafe_table *t =
      atomic_load_explicit(&unsafe.table, memory_order_acquire);
  return t && ranges_contain(t->r, t->nranges, pc);
}

/* Code of an object the last sync saw (the vDSO's included). */
bool preempt_registry_known_code(uintptr_t pc) {
  struct unsafe_table *t =
      atomic_load_explicit(&unsafe.table, memory_order_acquire);
  return t && ranges_contain(t->r + t->nranges, t->ntext, pc);
}

void preempt_registry_fork_prepare(void) { pthread_mutex_lock(&reg.lock); }
void preempt_registry_fork_done(void) { pthread_mutex_unlock(&reg.lock); }

void preempt_registry_quiesce(void) {
  pthread_mutex_lock(&reg.lock);
  for (struct table *t = reg.retired, *next; t; t = next) {
    next = t->retired;
    preempt_sys_free(t, sizeof *t + t->size * sizeof(struct entry));
  }
  reg.retired = NULL;
  for (struct unsafe_table *t = unsafe.retired, *next; t; t = next) {
    next = t->retired;
    preempt_sys_free(t, unsafe_table_bytes(t));
  }
  unsafe.retired = NULL;
  pthread_mutex_unlock(&reg.lock);
}

/* Inside dl_iterate_phdr: the loader's lock keeps every object listed
 * mapped until the callback returns. */
static int globals_cb(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  struct preempt_visitor *v = arg;
  uintptr_t xlo = (uintptr_t)__start_preempt_rt, xhi = (uintptr_t)__stop_preempt_rt;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W))
      continue;
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
    if (xlo && xlo >= lo && xhi <= hi) {
      v->range(v, (void *)lo, (void *)xlo);
      v->range(v, (void *)xhi, (void *)hi);
    } else {
      v->range(v, (void *)lo, (void *)hi);
    }
  }
  return 0;
}

void preempt_registry_visit_globals(struct preempt_visitor *v) {
  preempt_loader_iterate(globals_cb, v);
}

struct tls_walk {
  struct preempt_vec *v;
  bool missing;
};

static int tls_cb(struct dl_phdr_info *info, size_t size, void *arg) {
  struct tls_walk *w = arg;
  if (size < offsetof(struct dl_phdr_info, dlpi_tls_data) + sizeof(void *))
    return 0;
  for (int i = 0; i < info->dlpi_phnum; i++)
    if (info->dlpi_phdr[i].p_type == PT_TLS) {
      /* Blocks of dlopen'ed objects are allocated at a thread's first use. */
      if (!info->dlpi_tls_data) {
        w->missing = true;
        continue;
      }
      uintptr_t lo = (uintptr_t)info->dlpi_tls_data;
      preempt_vec_push(w->v, lo);
      preempt_vec_push(w->v, lo + info->dlpi_phdr[i].p_memsz);
    }
  return 0;
}

void preempt_thread_tls_refresh(struct preempt_thread *t) {
  uint64_t gen = atomic_load(&reg.generation);
  if (t->tls_generation == gen && !t->tls_missing)
    return;
  struct tls_walk w = {&t->tls, false};
  t->tls.len = 0;
  preempt_loader_iterate(tls_cb, &w);
  t->tls_missing = w.missing;
  t->tls_generation = gen;
}
