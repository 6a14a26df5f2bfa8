/* preempt-maps: reading the ELF file through elfutils' libelf, which
 * checks that headers, tables and section contents lie within the file.
 * What is left here is to say which part is missing or damaged, in an
 * error naming the file, and the lookups the other parts need. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pread, O_CLOEXEC */
#endif
#include "maps.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void vmessage(struct ctx *c, const char *kind, const char *fmt,
                     va_list ap) {
  fflush(stdout);
  fprintf(stderr, TOOL ": %s: %s", c->path, kind);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
}

void fail(struct ctx *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vmessage(c, "", fmt, ap);
  va_end(ap);
  longjmp(c->fail, 1);
}

void warn(struct ctx *c, const char *fmt, ...) {
  va_list ap;
  c->warnings++;
  if (c->warnings > 20)
    return;
  va_start(ap, fmt);
  vmessage(c, "warning: ", fmt, ap);
  va_end(ap);
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

/* Contents of the file */

bool in_file(const struct ctx *c, uint64_t off, uint64_t len) {
  return off <= c->size && len <= c->size - off;
}

uint32_t rd32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

const char *sec_name(const struct ctx *c, size_t i) {
  const char *n = i < c->nsh ? elf_strptr(c->elf, c->shstrndx, c->sh[i].sh_name) : NULL;
  return n ? n : "?";
}

/* Section i's data, raw bytes or libelf's typed view (tables), or NULL. */
static Elf_Data *sec_get(struct ctx *c, size_t i, bool raw) {
  Elf_Scn *scn = i < c->nsh ? elf_getscn(c->elf, i) : NULL;
  return !scn ? NULL : raw ? elf_rawdata(scn, NULL) : elf_getdata(scn, NULL);
}

/* Section i's data, or an error saying why there is none: a section past
 * the end of the file means the file was truncated. */
static Elf_Data *sec_must(struct ctx *c, size_t i, bool raw) {
  const GElf_Shdr *s = &c->sh[i];
  if (s->sh_type == SHT_NOBITS)
    fail(c, "section [%zu] %s has no contents", i, sec_name(c, i));
  Elf_Data *d = sec_get(c, i, raw);
  if (d)
    return d;
  const char *why = elf_errmsg(-1);
  if (!in_file(c, s->sh_offset, s->sh_size))
    fail(c,
         "truncated: section [%zu] %s (offset 0x%" PRIx64 ", 0x%" PRIx64
         " bytes) extends past the end of the file (0x%zx bytes)",
         i, sec_name(c, i), (uint64_t)s->sh_offset, (uint64_t)s->sh_size,
         c->size);
  fail(c, "section [%zu] %s: %s", i, sec_name(c, i), why);
}

static const uint8_t empty[1];

/* Section i's bytes (sh_size of them). */
const uint8_t *sec_data(struct ctx *c, size_t i) {
  Elf_Data *d = sec_must(c, i, true);
  return d->d_buf ? d->d_buf : empty;
}

/* len bytes at file offset off, or NULL when they are not all in the file. */
const uint8_t *file_bytes(struct ctx *c, uint64_t off, uint64_t len) {
  if (!in_file(c, off, len))
    return NULL;
  if (len == 0)
    return empty;
  Elf_Data *d = elf_getdata_rawchunk(c->elf, (int64_t)off, len, ELF_T_BYTE);
  return d ? d->d_buf : NULL;
}

/* The string at offset off of string table section strndx, or NULL.  A
 * table cut off by the end of the file is an error, not a missing name. */
static const char *strtab_get(struct ctx *c, size_t strndx, uint64_t off) {
  const char *s = elf_strptr(c->elf, strndx, off);
  if (!s && strndx > 0 && strndx < c->nsh && c->sh[strndx].sh_type == SHT_STRTAB)
    sec_must(c, strndx, true);
  return s;
}

static bool is_symtab(const struct ctx *c, size_t i) {
  return i > 0 && i < c->nsh &&
         (c->sh[i].sh_type == SHT_SYMTAB || c->sh[i].sh_type == SHT_DYNSYM);
}

/* Symbol number idx of symbol table section symtab. */
bool get_sym(struct ctx *c, size_t symtab, uint32_t idx, GElf_Sym *out) {
  return is_symtab(c, symtab) && gelf_getsym(sec_must(c, symtab, false), (int)idx, out);
}

const char *sym_name(struct ctx *c, size_t symtab, const GElf_Sym *s) {
  if (GELF_ST_TYPE(s->st_info) == STT_SECTION)
    return sec_name(c, s->st_shndx);
  const char *n = strtab_get(c, c->sh[symtab].sh_link, s->st_name);
  return n ? n : "?";
}

/* Bytes at virtual address addr of a linked file: *avail is how many are
 * readable from there up to the end of the section (or segment). */
const uint8_t *vaddr_bytes(struct ctx *c, uint64_t addr, uint64_t *avail,
                           uint64_t *start) {
  for (size_t i = 1; i < c->nsh; i++) {
    const GElf_Shdr *s = &c->sh[i];
    if (!(s->sh_flags & SHF_ALLOC) || s->sh_type == SHT_NOBITS)
      continue;
    if (addr >= s->sh_addr && addr - s->sh_addr < s->sh_size) {
      Elf_Data *d = sec_get(c, i, true);
      if (!d || !d->d_buf)
        return NULL;
      *avail = s->sh_size - (addr - s->sh_addr);
      *start = s->sh_addr;
      return (const uint8_t *)d->d_buf + (addr - s->sh_addr);
    }
  }
  for (size_t i = 0; i < c->nph; i++) {
    const GElf_Phdr *p = &c->ph[i];
    if (p->p_type == PT_LOAD && addr >= p->p_vaddr &&
        addr - p->p_vaddr < p->p_filesz) {
      *avail = p->p_filesz - (addr - p->p_vaddr);
      *start = p->p_vaddr;
      return file_bytes(c, p->p_offset + (addr - p->p_vaddr), *avail);
    }
  }
  return NULL;
}

/* Is addr (linked file) in executable code? */
bool vaddr_is_code(const struct ctx *c, uint64_t addr) {
  bool have_sections = false;
  for (size_t i = 1; i < c->nsh; i++) {
    const GElf_Shdr *s = &c->sh[i];
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
    const GElf_Phdr *p = &c->ph[i];
    if (p->p_type == PT_LOAD && (p->p_flags & PF_X) && addr >= p->p_vaddr &&
        addr - p->p_vaddr < p->p_memsz)
      return true;
  }
  return false;
}

/* The file and its headers */

void open_file(struct ctx *c) {
  c->fd = open(c->path, O_RDONLY | O_CLOEXEC);
  if (c->fd < 0)
    fail(c, "cannot open: %s", strerror(errno));
  struct stat st;
  if (fstat(c->fd, &st) != 0)
    fail(c, "cannot stat: %s", strerror(errno));
  if (!S_ISREG(st.st_mode))
    fail(c, "not a regular file");
  c->size = (size_t)st.st_size;
  elf_version(EV_CURRENT);
  c->elf = elf_begin(c->fd, ELF_C_READ_MMAP, NULL);
  if (!c->elf || elf_kind(c->elf) != ELF_K_ELF) {
    /* libelf takes an ELF header that is cut short or has a bad class,
     * byte order or version for no ELF at all: say which. */
    unsigned char id[EI_NIDENT];
    if (pread(c->fd, id, EI_NIDENT, 0) != EI_NIDENT || memcmp(id, ELFMAG, SELFMAG))
      fail(c, "not an ELF file");
    if (c->size < sizeof(Elf64_Ehdr))
      fail(c, "truncated: the ELF header needs %zu bytes, the file has %zu",
           sizeof(Elf64_Ehdr), c->size);
    fail(c, "malformed: bad ELF identification (class %u, byte order %u, version %u)",
         id[EI_CLASS], id[EI_DATA], id[EI_VERSION]);
  }
}

/* The section header table.  libelf reports no sections when the table
 * does not fit in the file: then say how far it was meant to reach. */
static void read_sections(struct ctx *c) {
  const GElf_Ehdr *eh = &c->eh;
  size_t n;
  if (eh->e_shoff == 0)
    return;
  if (eh->e_shentsize != sizeof(Elf64_Shdr))
    fail(c, "malformed: section header size %u, expected %zu",
         eh->e_shentsize, sizeof(Elf64_Shdr));
  if (elf_getshdrnum(c->elf, &n) != 0)
    fail(c, "section headers: %s", elf_errmsg(-1));
  if (n == 0) {
    /* With very many sections, the count is in section 0's sh_size. */
    Elf_Data *d0 = elf_getdata_rawchunk(c->elf, (int64_t)eh->e_shoff,
                                        sizeof(Elf64_Shdr), ELF_T_SHDR);
    if (!d0)
      fail(c, "truncated: the section header table (offset 0x%" PRIx64
              ") is past the end of the file (0x%zx bytes)",
           (uint64_t)eh->e_shoff, c->size);
    uint64_t want = eh->e_shnum ? eh->e_shnum : ((Elf64_Shdr *)d0->d_buf)->sh_size;
    if (want)
      fail(c, "truncated: the section header table (%" PRIu64
              " entries at offset 0x%" PRIx64
              ") extends past the end of the file (0x%zx bytes)",
           want, (uint64_t)eh->e_shoff, c->size);
    return;
  }
  c->sh = xcalloc(c, n, sizeof *c->sh);
  for (size_t i = 0; i < n; i++)
    if (!gelf_getshdr(elf_getscn(c->elf, i), &c->sh[i]))
      fail(c, "section header %zu: %s", i, elf_errmsg(-1));
  c->nsh = n;
  if (elf_getshdrstrndx(c->elf, &c->shstrndx) != 0 || c->shstrndx >= n)
    c->shstrndx = 0;
}

static void read_segments(struct ctx *c) {
  const GElf_Ehdr *eh = &c->eh;
  size_t n;
  if (eh->e_phoff == 0 || eh->e_phnum == 0)
    return;
  if (eh->e_phentsize != sizeof(Elf64_Phdr))
    fail(c, "malformed: program header size %u, expected %zu",
         eh->e_phentsize, sizeof(Elf64_Phdr));
  /* libelf counts only the program headers within the file. */
  if (elf_getphdrnum(c->elf, &n) != 0 || (eh->e_phnum != PN_XNUM && n != eh->e_phnum))
    fail(c, "truncated: the program headers (%u at offset 0x%" PRIx64
            ") extend past the end of the file",
         eh->e_phnum, (uint64_t)eh->e_phoff);
  c->ph = xcalloc(c, n, sizeof *c->ph);
  for (size_t i = 0; i < n; i++)
    if (!gelf_getphdr(c->elf, (int)i, &c->ph[i]))
      fail(c, "program header %zu: %s", i, elf_errmsg(-1));
  c->nph = n;
}

void read_headers(struct ctx *c) {
  const char *ident = elf_getident(c->elf, NULL);
  if (ident[EI_CLASS] != ELFCLASS64)
    fail(c, "not " PREEMPT_ARCH_NAME ": a 32-bit ELF file");
  /* The notes are read as they are in memory, in the machine's order. */
  if (ident[EI_DATA] != ELFDATA2LSB)
    fail(c, "not " PREEMPT_ARCH_NAME ": a big-endian ELF file");
  if (!gelf_getehdr(c->elf, &c->eh))
    fail(c, "ELF header: %s", elf_errmsg(-1));
  if (c->eh.e_machine != PREEMPT_ARCH_ELF_MACHINE)
    fail(c, "not " PREEMPT_ARCH_NAME " (ELF machine %u)", c->eh.e_machine);
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
  read_sections(c);
  if (c->rel && c->nsh == 0)
    fail(c, "malformed: a relocatable object without section headers");
  read_segments(c);
  if (c->nsh == 0 && c->nph == 0)
    fail(c, "malformed: neither section nor program headers");
  for (size_t i = 0; i < c->nph; i++)
    if (c->ph[i].p_type == PT_INTERP && c->eh.e_type == ET_DYN)
      c->pie = true;

  for (size_t i = 1; i < c->nsh; i++) {
    const GElf_Shdr *s = &c->sh[i];
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
    Elf_Data *d = c->sh[i].sh_type == SHT_DYNAMIC ? sec_get(c, i, false) : NULL;
    GElf_Dyn dyn;
    for (int j = 0; d && gelf_getdyn(d, j, &dyn) && dyn.d_tag != DT_NULL; j++)
      if (dyn.d_tag == DT_FLAGS_1 && (dyn.d_un.d_val & DF_1_PIE))
        c->pie = true;
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
  Elf_Data *d = sec_must(c, symtab, false);
  size_t cap = 0;
  GElf_Sym s;
  for (int i = 1; gelf_getsym(d, i, &s); i++) {
    unsigned type = GELF_ST_TYPE(s.st_info);
    if (type != STT_FUNC && type != STT_GNU_IFUNC)
      continue;
    if (s.st_shndx == SHN_UNDEF || s.st_shndx >= SHN_LORESERVE)
      continue;
    const char *name = strtab_get(c, c->sh[symtab].sh_link, s.st_name);
    if (!name || !*name)
      continue;
    grow(c, (void **)&c->fsyms, &cap, c->nfsyms, sizeof *c->fsyms);
    c->fsyms[c->nfsyms++] = (struct fsym){
        .value = s.st_value,
        .size = s.st_size,
        .shndx = c->rel ? s.st_shndx : 0,
        .bind = GELF_ST_BIND(s.st_info),
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
  const GElf_Shdr *s = &c->sh[rs];
  Elf_Data *d = sec_must(c, rs, false);
  for (int i = 0;; i++) {
    GElf_Rela e;
    GElf_Rel e0;
    if (s->sh_type == SHT_RELA ? !gelf_getrela(d, i, &e) : !gelf_getrel(d, i, &e0))
      break;
    if (s->sh_type == SHT_REL)
      e = (GElf_Rela){.r_offset = e0.r_offset, .r_info = e0.r_info};
    struct rel r = {
        .off = e.r_offset,
        .addend = e.r_addend,
        .type = GELF_R_TYPE(e.r_info),
        .sym = GELF_R_SYM(e.r_info),
        .symtab = s->sh_link,
    };
    /* REL: the addend is the 32-bit field being relocated. */
    size_t target = s->sh_info;
    if (s->sh_type == SHT_REL && c->rel && target < c->nsh &&
        c->sh[target].sh_type != SHT_NOBITS && r.off <= c->sh[target].sh_size &&
        c->sh[target].sh_size - r.off >= 4)
      r.addend = (int32_t)rd32(sec_data(c, target) + r.off);
    grow(c, (void **)&t->v, &t->cap, t->n, sizeof *t->v);
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

void free_file(struct ctx *c) {
  lines_cleanup(c);
  if (c->elf)
    elf_end(c->elf);
  if (c->fd >= 0)
    close(c->fd);
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
  free(c->uranges);
  free(c->locs);
  free(c->pool);
}
