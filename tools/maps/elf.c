/* preempt-maps: reading the ELF file.  Every read is bounds-checked, since
 * the file may be truncated or corrupt; errors name the file and what is
 * wrong. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "maps.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void fail(struct ctx *c, const char *fmt, ...) {
  va_list ap;
  fflush(stdout);
  fprintf(stderr, TOOL ": %s: ", c->path);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  longjmp(c->fail, 1);
}

void warn(struct ctx *c, const char *fmt, ...) {
  va_list ap;
  c->warnings++;
  if (c->warnings > 20)
    return;
  fflush(stdout);
  fprintf(stderr, TOOL ": %s: warning: ", c->path);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  if (c->warnings == 20)
    fprintf(stderr, TOOL ": %s: further warnings suppressed\n", c->path);
}

/* Grows *v (n used, *cap allocated) to hold one more element. */
void grow(struct ctx *c, void **v, size_t *cap, size_t n, size_t elem) {
  if (n < *cap)
    return;
  size_t ncap = *cap ? *cap * 2 : 16;
  if (ncap > SIZE_MAX / elem)
    fail(c, "out of memory");
  void *p = realloc(*v, ncap * elem);
  if (!p)
    fail(c, "out of memory");
  *v = p;
  *cap = ncap;
}

void *xcalloc(struct ctx *c, size_t n, size_t elem) {
  void *p = calloc(n ? n : 1, elem);
  if (!p)
    fail(c, "out of memory");
  return p;
}

/* Strings live in one pool and are referred to by offset (the pool moves). */
size_t pool_add(struct ctx *c, const char *s) {
  size_t len = strlen(s) + 1;
  while (c->poollen + len > c->poolcap) {
    size_t ncap = c->poolcap ? c->poolcap * 2 : 4096;
    char *p = realloc(c->pool, ncap);
    if (!p)
      fail(c, "out of memory");
    c->pool = p;
    c->poolcap = ncap;
  }
  memcpy(c->pool + c->poollen, s, len);
  size_t at = c->poollen;
  c->poollen += len;
  return at;
}

size_t pool_printf(struct ctx *c, const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return pool_add(c, buf);
}

const char *str(const struct ctx *c, size_t at) {
  return at == NONE ? NULL : c->pool + at;
}

/* Bounds-checked access to the file */

bool in_file(const struct ctx *c, uint64_t off, uint64_t len) {
  return off <= c->size && len <= c->size - off;
}

uint32_t rd32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

const char *sec_name(const struct ctx *c, size_t i) {
  if (i >= c->nsh || c->shstrndx == 0 || c->shstrndx >= c->nsh)
    return "?";
  const Elf64_Shdr *s = &c->sh[c->shstrndx];
  uint64_t name = c->sh[i].sh_name;
  if (s->sh_type == SHT_NOBITS || !in_file(c, s->sh_offset, s->sh_size) ||
      name >= s->sh_size)
    return "?";
  const char *p = (const char *)c->data + s->sh_offset + name;
  if (!memchr(p, 0, s->sh_size - name))
    return "?";
  return p;
}

/* The contents of section i; a section past the end of the file means the
 * file was truncated. */
const uint8_t *sec_data(struct ctx *c, size_t i) {
  const Elf64_Shdr *s = &c->sh[i];
  if (s->sh_type == SHT_NOBITS)
    fail(c, "section [%zu] %s has no contents", i, sec_name(c, i));
  if (!in_file(c, s->sh_offset, s->sh_size))
    fail(c,
         "truncated: section [%zu] %s (offset 0x%" PRIx64 ", 0x%" PRIx64
         " bytes) extends past the end of the file (0x%zx bytes)",
         i, sec_name(c, i), (uint64_t)s->sh_offset, (uint64_t)s->sh_size,
         c->size);
  return c->data + s->sh_offset;
}

/* A NUL-terminated string at offset off of string table section strndx. */
static const char *strtab_get(struct ctx *c, size_t strndx, uint64_t off) {
  if (strndx == 0 || strndx >= c->nsh || c->sh[strndx].sh_type != SHT_STRTAB)
    return NULL;
  const uint8_t *d = sec_data(c, strndx);
  uint64_t size = c->sh[strndx].sh_size;
  if (off >= size || !memchr(d + off, 0, size - off))
    return NULL;
  return (const char *)d + off;
}

/* Symbol number idx of symbol table section symtab. */
bool get_sym(struct ctx *c, size_t symtab, uint32_t idx, Elf64_Sym *out) {
  if (symtab == 0 || symtab >= c->nsh)
    return false;
  const Elf64_Shdr *s = &c->sh[symtab];
  if (s->sh_type != SHT_SYMTAB && s->sh_type != SHT_DYNSYM)
    return false;
  const uint8_t *d = sec_data(c, symtab);
  if (idx >= s->sh_size / sizeof(Elf64_Sym))
    return false;
  memcpy(out, d + (uint64_t)idx * sizeof(Elf64_Sym), sizeof *out);
  return true;
}

const char *sym_name(struct ctx *c, size_t symtab, const Elf64_Sym *s) {
  if (ELF64_ST_TYPE(s->st_info) == STT_SECTION)
    return s->st_shndx < c->nsh ? sec_name(c, s->st_shndx) : "?";
  const char *n = strtab_get(c, c->sh[symtab].sh_link, s->st_name);
  return n ? n : "?";
}

/* Bytes at virtual address addr of a linked file: *avail is how many are
 * readable from there up to the end of the section (or segment). */
const uint8_t *vaddr_bytes(struct ctx *c, uint64_t addr, uint64_t *avail,
                                  uint64_t *start) {
  for (size_t i = 1; i < c->nsh; i++) {
    const Elf64_Shdr *s = &c->sh[i];
    if (!(s->sh_flags & SHF_ALLOC) || s->sh_type == SHT_NOBITS)
      continue;
    if (addr >= s->sh_addr && addr - s->sh_addr < s->sh_size) {
      if (!in_file(c, s->sh_offset, s->sh_size))
        return NULL;
      *avail = s->sh_size - (addr - s->sh_addr);
      *start = s->sh_addr;
      return c->data + s->sh_offset + (addr - s->sh_addr);
    }
  }
  for (size_t i = 0; i < c->nph; i++) {
    const Elf64_Phdr *p = &c->ph[i];
    if (p->p_type != PT_LOAD)
      continue;
    if (addr >= p->p_vaddr && addr - p->p_vaddr < p->p_filesz) {
      uint64_t n = p->p_filesz - (addr - p->p_vaddr);
      uint64_t off = p->p_offset + (addr - p->p_vaddr);
      if (!in_file(c, off, n))
        return NULL;
      *avail = n;
      *start = p->p_vaddr;
      return c->data + off;
    }
  }
  return NULL;
}

/* Is addr (linked file) in executable code? */
bool vaddr_is_code(const struct ctx *c, uint64_t addr) {
  bool have_sections = false;
  for (size_t i = 1; i < c->nsh; i++) {
    const Elf64_Shdr *s = &c->sh[i];
    if (!(s->sh_flags & SHF_ALLOC))
      continue;
    have_sections = true;
    if ((s->sh_flags & SHF_EXECINSTR) && addr >= s->sh_addr &&
        addr - s->sh_addr < s->sh_size)
      return true;
  }
  if (have_sections)
    return false;
  for (size_t i = 0; i < c->nph; i++) {
    const Elf64_Phdr *p = &c->ph[i];
    if (p->p_type == PT_LOAD && (p->p_flags & PF_X) && addr >= p->p_vaddr &&
        addr - p->p_vaddr < p->p_memsz)
      return true;
  }
  return false;
}

/* ELF headers */

void read_headers(struct ctx *c) {
  if (c->size < EI_NIDENT || memcmp(c->data, ELFMAG, SELFMAG) != 0)
    fail(c, "not an ELF file");
  if (c->data[EI_CLASS] != ELFCLASS64)
    fail(c, "not x86-64: a %s ELF file",
         c->data[EI_CLASS] == ELFCLASS32 ? "32-bit" : "non-64-bit");
  if (c->data[EI_DATA] != ELFDATA2LSB)
    fail(c, "not x86-64: a big-endian ELF file");
  if (c->size < sizeof(Elf64_Ehdr))
    fail(c, "truncated: the ELF header needs %zu bytes, the file has %zu",
         sizeof(Elf64_Ehdr), c->size);
  memcpy(&c->eh, c->data, sizeof c->eh);
  if (c->eh.e_machine != EM_X86_64)
    fail(c, "not x86-64 (ELF machine %u)", c->eh.e_machine);
  switch (c->eh.e_type) {
  case ET_REL:
    c->rel = true;
    break;
  case ET_EXEC:
  case ET_DYN:
    break;
  default:
    fail(c, "unsupported ELF file type %u (want an object, executable or "
            "shared library)",
         c->eh.e_type);
  }

  /* Section headers, with the extended numbering of huge objects. */
  if (c->eh.e_shoff) {
    if (c->eh.e_shentsize != sizeof(Elf64_Shdr))
      fail(c, "malformed: section header size %u, expected %zu",
           c->eh.e_shentsize, sizeof(Elf64_Shdr));
    if (!in_file(c, c->eh.e_shoff, sizeof(Elf64_Shdr)))
      fail(c, "truncated: the section header table (offset 0x%" PRIx64
              ") is past the end of the file (0x%zx bytes)",
           (uint64_t)c->eh.e_shoff, c->size);
    Elf64_Shdr s0;
    memcpy(&s0, c->data + c->eh.e_shoff, sizeof s0);
    uint64_t n = c->eh.e_shnum ? c->eh.e_shnum : s0.sh_size;
    if (n > (c->size - c->eh.e_shoff) / sizeof(Elf64_Shdr))
      fail(c, "truncated: the section header table (%" PRIu64
              " entries at offset 0x%" PRIx64
              ") extends past the end of the file (0x%zx bytes)",
           n, (uint64_t)c->eh.e_shoff, c->size);
    c->nsh = n;
    c->sh = xcalloc(c, n, sizeof(Elf64_Shdr));
    memcpy(c->sh, c->data + c->eh.e_shoff, n * sizeof(Elf64_Shdr));
    c->shstrndx =
        c->eh.e_shstrndx == SHN_XINDEX ? s0.sh_link : c->eh.e_shstrndx;
    if (c->shstrndx >= c->nsh)
      c->shstrndx = 0;
  }
  if (c->rel && c->nsh == 0)
    fail(c, "malformed: a relocatable object without section headers");

  if (c->eh.e_phoff && c->eh.e_phnum) {
    if (c->eh.e_phentsize != sizeof(Elf64_Phdr))
      fail(c, "malformed: program header size %u, expected %zu",
           c->eh.e_phentsize, sizeof(Elf64_Phdr));
    uint64_t n = c->eh.e_phnum;
    if (!in_file(c, c->eh.e_phoff, n * sizeof(Elf64_Phdr)))
      fail(c, "truncated: the program headers (%" PRIu64
              " at offset 0x%" PRIx64 ") extend past the end of the file",
           n, (uint64_t)c->eh.e_phoff);
    c->nph = n;
    c->ph = xcalloc(c, n, sizeof(Elf64_Phdr));
    memcpy(c->ph, c->data + c->eh.e_phoff, n * sizeof(Elf64_Phdr));
    for (size_t i = 0; i < c->nph; i++)
      if (c->ph[i].p_type == PT_INTERP && c->eh.e_type == ET_DYN)
        c->pie = true;
  }
  if (c->nsh == 0 && c->nph == 0)
    fail(c, "malformed: neither section nor program headers");

  for (size_t i = 1; i < c->nsh; i++) {
    const Elf64_Shdr *s = &c->sh[i];
    if ((s->sh_flags & SHF_EXECINSTR) && s->sh_type != SHT_NOBITS)
      c->code_bytes += s->sh_size;
    if (!strcmp(sec_name(c, i), ".llvm_stackmaps")) {
      c->has_llvm_stackmaps = true;
      c->llvm_stackmaps_bytes += s->sh_size;
    }
  }
  if (c->nsh == 0)
    for (size_t i = 0; i < c->nph; i++)
      if (c->ph[i].p_type == PT_LOAD && (c->ph[i].p_flags & PF_X))
        c->code_bytes += c->ph[i].p_filesz;

  /* A static PIE has no interpreter; DF_1_PIE says what it is. */
  for (size_t i = 1; i < c->nsh && c->eh.e_type == ET_DYN && !c->pie; i++) {
    const Elf64_Shdr *s = &c->sh[i];
    if (s->sh_type != SHT_DYNAMIC || !in_file(c, s->sh_offset, s->sh_size))
      continue;
    for (uint64_t o = 0; o + sizeof(Elf64_Dyn) <= s->sh_size; o += sizeof(Elf64_Dyn)) {
      Elf64_Dyn d;
      memcpy(&d, c->data + s->sh_offset + o, sizeof d);
      if (d.d_tag == DT_NULL)
        break;
      if (d.d_tag == DT_FLAGS_1 && (d.d_un.d_val & DF_1_PIE))
        c->pie = true;
    }
  }
}

/* Symbols: function symbols sorted by (section in .o, address) */

static int fsym_cmp(const void *a, const void *b) {
  const struct fsym *x = a, *y = b;
  if (x->shndx != y->shndx)
    return x->shndx < y->shndx ? -1 : 1;
  if (x->value != y->value)
    return x->value < y->value ? -1 : 1;
  /* Among aliases: non-local ones, then the sized one, then the public
   * spelling (malloc over __libc_malloc), then global over weak. */
  if ((x->bind == STB_LOCAL) != (y->bind == STB_LOCAL))
    return x->bind == STB_LOCAL ? 1 : -1;
  if ((x->size == 0) != (y->size == 0))
    return x->size == 0 ? 1 : -1;
  size_t ux = strspn(x->name, "_"), uy = strspn(y->name, "_");
  if (ux != uy)
    return ux < uy ? -1 : 1;
  if (x->bind != y->bind && (x->bind == STB_GLOBAL || y->bind == STB_GLOBAL))
    return x->bind == STB_GLOBAL ? -1 : 1;
  return strcmp(x->name, y->name);
}

void read_symbols(struct ctx *c) {
  size_t symtab = 0;
  for (size_t i = 1; i < c->nsh && !symtab; i++)
    if (c->sh[i].sh_type == SHT_SYMTAB)
      symtab = i;
  for (size_t i = 1; i < c->nsh && !symtab; i++)
    if (c->sh[i].sh_type == SHT_DYNSYM)
      symtab = i;
  if (!symtab)
    return;
  sec_data(c, symtab);
  size_t n = c->sh[symtab].sh_size / sizeof(Elf64_Sym);
  c->fsyms = xcalloc(c, n, sizeof *c->fsyms);
  for (uint32_t i = 1; i < n; i++) {
    Elf64_Sym s;
    get_sym(c, symtab, i, &s);
    unsigned type = ELF64_ST_TYPE(s.st_info);
    if (type != STT_FUNC && type != STT_GNU_IFUNC)
      continue;
    if (s.st_shndx == SHN_UNDEF || s.st_shndx >= SHN_LORESERVE)
      continue;
    const char *name = strtab_get(c, c->sh[symtab].sh_link, s.st_name);
    if (!name || !*name)
      continue;
    c->fsyms[c->nfsyms++] = (struct fsym){
        .value = s.st_value,
        .size = s.st_size,
        .shndx = c->rel ? s.st_shndx : 0,
        .bind = ELF64_ST_BIND(s.st_info),
        .name = name,
    };
  }
  if (c->nfsyms > 1)
    qsort(c->fsyms, c->nfsyms, sizeof *c->fsyms, fsym_cmp);
}

/* The function containing addr (in section shndx for .o), or NULL. */
const struct fsym *find_func(const struct ctx *c, uint32_t shndx,
                                    uint64_t addr) {
  if (!c->rel)
    shndx = 0;
  size_t lo = 0, hi = c->nfsyms; /* first symbol after (shndx, addr) */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const struct fsym *f = &c->fsyms[mid];
    if (f->shndx < shndx || (f->shndx == shndx && f->value <= addr))
      lo = mid + 1;
    else
      hi = mid;
  }
  /* The nearest symbol at or before addr, if it contains addr or has no
   * size; else an earlier sized one containing it (nested aliases). */
  const struct fsym *found = NULL;
  for (size_t i = lo; i-- > 0 && lo - i <= 8;) {
    const struct fsym *f = &c->fsyms[i];
    if (f->shndx != shndx)
      break;
    if (addr - f->value < f->size || (f->size == 0 && i + 1 == lo)) {
      found = f;
      break;
    }
  }
  if (!found)
    return NULL;
  /* The sort put the preferred alias first. */
  while (found > c->fsyms && found[-1].shndx == found->shndx &&
         found[-1].value == found->value)
    found--;
  return found;
}

/* A function starting exactly at addr. */
const struct fsym *func_at(const struct ctx *c, uint32_t shndx,
                                  uint64_t addr) {
  const struct fsym *f = find_func(c, shndx, addr);
  return f && f->value == addr ? f : NULL;
}

/* Relocations */

static int rel_cmp(const void *a, const void *b) {
  const struct rel *x = a, *y = b;
  return x->off < y->off ? -1 : x->off > y->off;
}

static void reltab_add_section(struct ctx *c, struct reltab *t, size_t rs) {
  const Elf64_Shdr *s = &c->sh[rs];
  size_t entsize = s->sh_type == SHT_RELA ? sizeof(Elf64_Rela) : sizeof(Elf64_Rel);
  const uint8_t *d = sec_data(c, rs);
  size_t n = s->sh_size / entsize;
  if (n == 0)
    return;
  struct rel *v = realloc(t->v, (t->n + n) * sizeof *v);
  if (!v)
    fail(c, "out of memory");
  t->v = v;
  for (size_t i = 0; i < n; i++) {
    struct rel r = {.symtab = s->sh_link};
    if (s->sh_type == SHT_RELA) {
      Elf64_Rela e;
      memcpy(&e, d + i * entsize, sizeof e);
      r.off = e.r_offset;
      r.addend = e.r_addend;
      r.type = ELF64_R_TYPE(e.r_info);
      r.sym = ELF64_R_SYM(e.r_info);
    } else {
      Elf64_Rel e;
      memcpy(&e, d + i * entsize, sizeof e);
      r.off = e.r_offset;
      r.type = ELF64_R_TYPE(e.r_info);
      r.sym = ELF64_R_SYM(e.r_info);
      /* Implicit addend: the 32-bit field being relocated. */
      size_t target = s->sh_info;
      if (c->rel && target < c->nsh && c->sh[target].sh_type != SHT_NOBITS &&
          r.off <= c->sh[target].sh_size && c->sh[target].sh_size - r.off >= 4)
        r.addend = (int32_t)rd32(sec_data(c, target) + r.off);
    }
    t->v[t->n++] = r;
  }
}

/* .o: relocations applying to section target, sorted by offset. */
struct reltab *relocs_for(struct ctx *c, size_t target) {
  if (!c->reltabs)
    c->reltabs = xcalloc(c, c->nsh, sizeof *c->reltabs);
  struct reltab *t = &c->reltabs[target];
  if (t->built)
    return t;
  t->built = true;
  for (size_t i = 1; i < c->nsh; i++)
    if ((c->sh[i].sh_type == SHT_RELA || c->sh[i].sh_type == SHT_REL) &&
        c->sh[i].sh_info == target)
      reltab_add_section(c, t, i);
  if (t->n > 1)
    qsort(t->v, t->n, sizeof *t->v, rel_cmp);
  return t;
}

/* Linked: the dynamic relocations (.rela.dyn, .rela.plt), by offset. */
struct reltab *dyn_relocs(struct ctx *c) {
  struct reltab *t = &c->dynrels;
  if (t->built)
    return t;
  t->built = true;
  for (size_t i = 1; i < c->nsh; i++)
    if ((c->sh[i].sh_type == SHT_RELA || c->sh[i].sh_type == SHT_REL) &&
        (c->sh[i].sh_flags & SHF_ALLOC))
      reltab_add_section(c, t, i);
  if (t->n > 1)
    qsort(t->v, t->n, sizeof *t->v, rel_cmp);
  return t;
}

const struct rel *reloc_at(const struct reltab *t, uint64_t off) {
  size_t lo = 0, hi = t->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (t->v[mid].off < off)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < t->n && t->v[lo].off == off ? &t->v[lo] : NULL;
}

void load_file(struct ctx *c) {
  FILE *f = fopen(c->path, "rb");
  if (!f)
    fail(c, "cannot open: %s", strerror(errno));
  struct stat st;
  if (fstat(fileno(f), &st) != 0) {
    int err = errno;
    fclose(f);
    fail(c, "cannot stat: %s", strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    fclose(f);
    fail(c, "not a regular file");
  }
  c->size = (size_t)st.st_size;
  c->data = malloc(c->size ? c->size : 1);
  if (!c->data) {
    fclose(f);
    fail(c, "out of memory");
  }
  if (c->size && fread(c->data, 1, c->size, f) != c->size) {
    fclose(f);
    fail(c, "read error");
  }
  fclose(f);
}

void free_file(struct ctx *c) {
  lines_cleanup(c);
  free(c->data);
  free(c->sh);
  free(c->ph);
  free(c->fsyms);
  if (c->reltabs)
    for (size_t i = 0; i < c->nsh; i++)
      free(c->reltabs[i].v);
  free(c->reltabs);
  free(c->dynrels.v);
  free(c->notes);
  free(c->recs);
  free(c->locs);
  free(c->pool);
}
