/* preempt-maps: the notes of a file, read and checked by the runtime's own
 * reader (runtime/mapfile.c), so that the tool rejects exactly what the
 * runtime rejects.  A note the runtime would reject but that still decodes
 * is shown anyway, after a warning with the runtime's reason. */
#include "maps.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Where a note came from, to turn desc positions into file offsets and
 * addresses. */
struct note_src {
  uint32_t sec;     /* section index or UINT32_MAX */
  uint64_t fileoff; /* file offset of the section/segment start */
  uint64_t vaddr;   /* its address (linked files) */
  const uint8_t *base;
};

struct walk {
  struct ctx *c;
  const struct note_src *src;
  uint32_t note;
  char why[256]; /* a formatted reason for the validator */
};

/* The address a self-relative field stands for: linked files hold it
 * in the field, objects in a relocation of the field.  what names it in
 * messages. */
static const char *self_rel(struct walk *w, const uint8_t *field,
                            const char *what, uint32_t *space, uint64_t *ret) {
  struct ctx *c = w->c;
  int32_t rel = (int32_t)rd32(field);
  uint64_t pos = (uint64_t)(field - w->src->base); /* in the section/segment */
  if (!c->rel) {
    *space = 0;
    *ret = w->src->vaddr + pos + (uint64_t)(int64_t)rel;
    return NULL;
  }
  const struct rel *r = reloc_at(relocs_for(c, w->src->sec), pos);
  if (!r) {
    snprintf(w->why, sizeof w->why, "no relocation for its %s (at %s+0x%" PRIx64 ")",
             what, sec_name(c, w->src->sec), pos);
    return w->why;
  }
  if (r->type != R_X86_64_PC32 && r->type != R_X86_64_PLT32) {
    snprintf(w->why, sizeof w->why,
             "unexpected relocation type %" PRIu32 " for its %s", r->type, what);
    return w->why;
  }
  GElf_Sym s;
  if (!get_sym(c, r->symtab, r->sym, &s)) {
    snprintf(w->why, sizeof w->why, "relocation against bad symbol %" PRIu32,
             r->sym);
    return w->why;
  }
  if (s.st_shndx == SHN_UNDEF || s.st_shndx >= c->nsh) {
    snprintf(w->why, sizeof w->why, "%s relative to undefined symbol %s",
             what, sym_name(c, r->symtab, &s));
    return w->why;
  }
  *space = s.st_shndx;
  /* PC32: S + A - P, so P + field = S + A (the field itself is 0 in RELA
   * objects). */
  *ret = s.st_value + (uint64_t)r->addend;
  return NULL;
}

/* The first return address of a function entry. */
static const char *first_ret(void *arg, uint32_t f, const uint8_t *field,
                             uint32_t *space, uint64_t *ret) {
  (void)f;
  return self_rel(arg, field, "return address", space, ret);
}

/* The runtime's test, in file terms: the call ending at ret is code. */
static const char *check_ret(void *arg, uint32_t space, uint64_t ret) {
  struct walk *w = arg;
  struct ctx *c = w->c;
  bool code = ret > 0 && (c->rel ? space < c->nsh &&
                                       (c->sh[space].sh_flags & SHF_EXECINSTR) &&
                                       ret <= c->sh[space].sh_size
                                 : vaddr_is_code(c, ret - 1));
  return code ? NULL : "return address outside the object's code";
}

static void *scratch_alloc(size_t n) { return malloc(n ? n : 1); }
static void scratch_free(void *p, size_t n) {
  (void)n;
  free(p);
}

/* Records and their locations, as the validator decodes them. */
static void collect(void *arg, const struct preempt_map_site *s) {
  struct walk *w = arg;
  struct ctx *c = w->c;
  grow(c, (void **)&c->recs, &c->caprecs, c->nrecs, sizeof *c->recs);
  struct rec *rec = &c->recs[c->nrecs++];
  *rec = (struct rec){
      .note = w->note,
      .func = s->func,
      .sec = s->space,
      .addr = s->ret,
      .nvalues = s->nvalues,
      .nregions = s->nregions,
      .loc0 = c->nlocs,
      .fn = NONE,
      .callee = NONE,
      .call = "unknown",
      .srcfile = NONE,
      .inlined = NONE,
      .shown = true,
  };
  c->nvalues += s->nvalues;
  c->nregions += s->nregions;
  const uint8_t *p = s->rec;
  uint32_t nv, nr;
  preempt_read_record(&p, s->end, &nv, &nr); /* decoded just now */
  for (uint64_t l = 0; l < nv + 2ull * nr; l++) {
    grow(c, (void **)&c->locs, &c->caplocs, c->nlocs, sizeof *c->locs);
    preempt_read_loc(&p, s->end, &c->locs[c->nlocs++]);
  }
}

static void add_note(struct ctx *c, const struct note_src *src,
                     const struct preempt_note *n) {
  uint64_t note_off = src->fileoff + (uint64_t)(n->hdr - src->base);
  uint64_t desc_off = src->fileoff + (uint64_t)(n->desc - src->base);
  struct walk w = {.c = c, .src = src, .note = (uint32_t)c->nnotes};
  struct preempt_map_env env = {
      .first_ret = first_ret,
      .check_ret = check_ret,
      .alloc = scratch_alloc,
      .release = scratch_free,
      .arg = &w,
  };
  struct preempt_map_error strict, err;
  bool sound = preempt_map_walk(n->desc, n->descsz, &env, &strict);

  struct preempt_map_header h = {0};
  memcpy(&h, n->desc, sizeof h < n->descsz ? sizeof h : n->descsz);
  grow(c, (void **)&c->notes, &c->capnotes, c->nnotes, sizeof *c->notes);
  c->notes[c->nnotes++] = (struct note){
      .sec = src->sec,
      .fileoff = note_off,
      .bytes = n->bytes,
      .nfuncs = h.nfuncs,
      .nrecords = h.nrecords,
  };
  env.visit = collect;
  env.lenient = true;
  if (!preempt_map_walk(n->desc, n->descsz, &env, &err))
    fail(c, "malformed preempt note at offset 0x%" PRIx64 ": %s (at offset 0x%" PRIx64 ")",
         note_off, err.reason, desc_off + err.offset);
  if (!sound)
    warn(c, "note at offset 0x%" PRIx64 ": %s (at offset 0x%" PRIx64 "); the "
            "runtime rejects this note and scans its frames conservatively",
         note_off, strict.reason, desc_off + strict.offset);
  c->note_bytes += n->bytes;
  c->nfuncs += h.nfuncs;
}

/* ---- unsafe-point notes ---------------------------------------------------- */

static const char *unsafe_addr(void *arg, const uint8_t *field,
                               uint32_t *space, uint64_t *addr) {
  return self_rel(arg, field, "range", space, addr);
}

/* The runtime's test, in file terms: [start, end) lies in one piece of
 * code (a section of an object, a code section or segment of a linked
 * file). */
static const char *unsafe_check(void *arg, uint32_t space, uint64_t start,
                                uint64_t end) {
  struct walk *w = arg;
  struct ctx *c = w->c;
  if (c->rel)
    return space < c->nsh && (c->sh[space].sh_flags & SHF_EXECINSTR) &&
                   end <= c->sh[space].sh_size
               ? NULL
               : "range outside the object's code";
  return vaddr_is_code(c, start) && vaddr_is_code(c, end - 1)
             ? NULL
             : "range outside the object's code";
}

static void unsafe_collect(void *arg, const struct preempt_unsafe_site *s) {
  struct walk *w = arg;
  struct ctx *c = w->c;
  grow(c, (void **)&c->uranges, &c->capuranges, c->nuranges, sizeof *c->uranges);
  c->uranges[c->nuranges++] = (struct urange){
      .note = w->note,
      .sec = s->space,
      .start = s->start,
      .end = s->end,
      .line = s->line,
      .kind = s->kind,
      .fn = NONE,
  };
}

static void add_unsafe_note(struct ctx *c, const struct note_src *src,
                            const struct preempt_note *n) {
  uint64_t note_off = src->fileoff + (uint64_t)(n->hdr - src->base);
  uint64_t desc_off = src->fileoff + (uint64_t)(n->desc - src->base);
  struct walk w = {.c = c, .src = src, .note = c->nunsafe_notes++};
  struct preempt_unsafe_env env = {
      .addr = unsafe_addr,
      .check_range = unsafe_check,
      .arg = &w,
  };
  struct preempt_map_error strict, err;
  bool sound = preempt_unsafe_walk(n->desc, n->descsz, &env, &strict);
  env.visit = unsafe_collect;
  env.lenient = true;
  if (!preempt_unsafe_walk(n->desc, n->descsz, &env, &err))
    fail(c, "malformed unsafe-point note at offset 0x%" PRIx64 ": %s (at offset 0x%" PRIx64 ")",
         note_off, err.reason, desc_off + err.offset);
  if (!sound)
    warn(c, "unsafe-point note at offset 0x%" PRIx64 ": %s (at offset 0x%" PRIx64
            "); the runtime rejects this table and may stop threads inside "
            "its ranges",
         note_off, strict.reason, desc_off + strict.offset);
  c->unsafe_note_bytes += n->bytes;
}

/* Walks the notes of one note section or segment. */
static void scan_notes(struct ctx *c, const struct note_src *src, uint64_t size,
                       uint64_t align, bool must_parse) {
  const uint8_t *p = src->base, *end = src->base + size;
  struct preempt_note n;
  const char *why;
  int got;
  while ((got = preempt_note_next(&p, end, (size_t)align, &n, &why)) > 0)
    if (n.maps)
      add_note(c, src, &n);
    else if (n.unsafe)
      add_unsafe_note(c, src, &n);
  if (got < 0) {
    uint64_t off = src->fileoff + (uint64_t)(p - src->base);
    if (must_parse)
      fail(c, "malformed note at offset 0x%" PRIx64 ": %s", off, why);
    warn(c, "malformed note at offset 0x%" PRIx64 ": %s", off, why);
  }
}

void read_notes(struct ctx *c) {
  if (c->nsh) {
    for (size_t i = 1; i < c->nsh; i++) {
      const GElf_Shdr *s = &c->sh[i];
      if (s->sh_type != SHT_NOTE)
        continue;
      bool ours = !strcmp(sec_name(c, i), ".note.preempt");
      if (!ours && !in_file(c, s->sh_offset, s->sh_size)) {
        warn(c, "section [%zu] %s extends past the end of the file", i,
             sec_name(c, i));
        continue;
      }
      struct note_src src = {
          .sec = (uint32_t)i,
          .fileoff = s->sh_offset,
          .vaddr = s->sh_addr,
          .base = sec_data(c, i),
      };
      scan_notes(c, &src, s->sh_size, s->sh_addralign, ours);
    }
    return;
  }
  /* No section headers (stripped hard): the PT_NOTE segments. */
  for (size_t i = 0; i < c->nph; i++) {
    const GElf_Phdr *ph = &c->ph[i];
    if (ph->p_type != PT_NOTE)
      continue;
    const uint8_t *base = file_bytes(c, ph->p_offset, ph->p_filesz);
    if (!base)
      fail(c, "truncated: note segment %zu (offset 0x%" PRIx64 ", 0x%" PRIx64
              " bytes) extends past the end of the file (0x%zx bytes)",
           i, (uint64_t)ph->p_offset, (uint64_t)ph->p_filesz, c->size);
    struct note_src src = {
        .sec = UINT32_MAX,
        .fileoff = ph->p_offset,
        .vaddr = ph->p_vaddr,
        .base = base,
    };
    scan_notes(c, &src, ph->p_filesz, ph->p_align, false);
  }
}
