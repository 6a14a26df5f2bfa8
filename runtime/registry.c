/* The map registry: every loaded object (executable, shared libraries),
 * its stack-map notes and its writable data segments.
 *
 * Objects are found with dl_iterate_phdr.  glibc counts loads and unloads
 * (dlpi_adds, dlpi_subs), so a collection re-reads the list only after a
 * dlopen or dlclose.  Notes are validated once per loaded object; the hash
 * table from return address to record is rebuilt from the validated
 * records.  Readers (stack scans of stopped threads) never take a lock: the
 * table only changes under the heap lock before the world is stopped. */
#define _GNU_SOURCE
#include "internal.h"

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
  struct range text[MAX_SEGS], data[MAX_SEGS];
  int ntext, ndata;
  size_t nrecords;
  bool live; /* seen in the latest dl_iterate_phdr pass */
};

struct entry {
  uintptr_t ret;
  const uint8_t *data, *end;
};

static struct {
  struct object *objs;
  size_t nobjs, cap;
  struct entry *table; /* open addressing, power-of-two size */
  size_t table_size, nentries;
  unsigned long long adds, subs;
  bool synced;
  uint64_t generation;
} reg;

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

static void table_insert(uintptr_t ret, const uint8_t *data,
                         const uint8_t *end) {
  size_t i = hash(ret, reg.table_size);
  while (reg.table[i].ret && reg.table[i].ret != ret)
    i = (i + 1) & (reg.table_size - 1);
  if (!reg.table[i].ret)
    reg.nentries++;
  reg.table[i] = (struct entry){ret, data, end};
}

const uint8_t *preempt_registry_lookup(uintptr_t ret, const uint8_t **end) {
  if (!reg.table || !ret)
    return NULL;
  for (size_t i = hash(ret, reg.table_size);; i = (i + 1) & (reg.table_size - 1)) {
    if (reg.table[i].ret == ret) {
      *end = reg.table[i].end;
      return reg.table[i].data;
    }
    if (!reg.table[i].ret)
      return NULL;
  }
}

size_t preempt_registry_record_count(void) { return reg.nentries; }

/* The shared validator (mapfile.h) in the runtime's terms: return
 * addresses are self-relative and must end a call in the object's code. */
struct note_walk {
  const struct object *o;
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
    table_insert((uintptr_t)s->ret, s->rec, s->end);
}

/* Validates (insert false, with messages) or indexes (insert true) each of
 * our notes in o; notes that fail validation are never indexed. */
static void each_note(const struct object *o, const ElfW(Phdr) * ph, int n,
                      bool insert, size_t *nrecords) {
  for (int i = 0; i < n; i++) {
    if (ph[i].p_type != PT_NOTE)
      continue;
    const uint8_t *p = (const uint8_t *)(o->base + ph[i].p_vaddr);
    const uint8_t *end = p + ph[i].p_memsz;
    struct preempt_note note;
    const char *why;
    while (preempt_note_next(&p, end, ph[i].p_align, &note, &why) > 0) {
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
    if ((ph->p_flags & PF_W) && o->ndata < MAX_SEGS)
      o->data[o->ndata++] = r;
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
        reg.objs[i].phdr == info->dlpi_phdr && reg.objs[i].nrecords) {
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

void preempt_registry_sync(void) {
  unsigned long long adds = reg.adds, subs = reg.subs;
  dl_iterate_phdr(counters_cb, NULL);
  if (reg.synced && adds == reg.adds && subs == reg.subs)
    return;
  reg.synced = true;
  reg.generation++;
  for (size_t i = 0; i < reg.nobjs; i++)
    reg.objs[i].live = false;
  dl_iterate_phdr(sync_cb, NULL);
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
  if (size != reg.table_size) {
    preempt_sys_free(reg.table, reg.table_size * sizeof *reg.table);
    reg.table = preempt_sys_alloc(size * sizeof *reg.table);
    if (!reg.table)
      preempt_fatal("out of memory for the stack map table");
    reg.table_size = size;
  } else {
    memset(reg.table, 0, size * sizeof *reg.table);
  }
  reg.nentries = 0;
  dl_iterate_phdr(insert_cb, NULL);
}

void preempt_registry_data_segments(void (*fn)(void *lo, void *hi, void *arg),
                                    void *arg) {
  uintptr_t xlo = (uintptr_t)__start_preempt_rt, xhi = (uintptr_t)__stop_preempt_rt;
  for (size_t i = 0; i < reg.nobjs; i++)
    for (int s = 0; s < reg.objs[i].ndata; s++) {
      struct range r = reg.objs[i].data[s];
      if (xlo && xlo >= r.lo && xhi <= r.hi) {
        fn((void *)r.lo, (void *)xlo, arg);
        fn((void *)xhi, (void *)r.hi, arg);
      } else {
        fn((void *)r.lo, (void *)r.hi, arg);
      }
    }
}

uint64_t preempt_registry_generation(void) { return reg.generation; }

static int tls_cb(struct dl_phdr_info *info, size_t size, void *arg) {
  struct preempt_vec *v = arg;
  if (size < offsetof(struct dl_phdr_info, dlpi_tls_data) + sizeof(void *) ||
      !info->dlpi_tls_data)
    return 0; /* no thread-local data, or not allocated for this thread */
  for (int i = 0; i < info->dlpi_phnum; i++)
    if (info->dlpi_phdr[i].p_type == PT_TLS) {
      uintptr_t lo = (uintptr_t)info->dlpi_tls_data;
      preempt_vec_push(v, lo);
      preempt_vec_push(v, lo + info->dlpi_phdr[i].p_memsz);
    }
  return 0;
}

void preempt_thread_tls_refresh(struct preempt_thread *t) {
  if (t->tls_generation == reg.generation && t->tls.data)
    return;
  t->tls.len = 0;
  dl_iterate_phdr(tls_cb, &t->tls);
  t->tls_generation = reg.generation;
}
