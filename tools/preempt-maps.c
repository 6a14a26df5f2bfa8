/* preempt-maps: prints the preempt stack maps (runtime/map_format.h) of an
 * ELF file in human terms, as JSON, or as a size summary.
 *
 *   preempt-maps [--summary] [--json] [--function NAME] [--no-lines] FILE...
 *
 * Works on relocatable objects (return addresses come from the relocations
 * of .note.preempt), executables (PIE or not) and shared libraries.  The
 * ELF file is read with <elf.h> alone; every read is bounds-checked, since
 * the file may be truncated or corrupt.  Source lines come from one batch
 * run of llvm-symbolizer over all call sites. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "internal.h"
#include "map_format.h"

#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TOOL "preempt-maps"
#define DEFAULT_SYMBOLIZER "llvm-symbolizer-19"
#define FALLBACK_SYMBOLIZER "llvm-symbolizer"
#define NONE SIZE_MAX /* no string in the pool */

/* ------------------------------------------------------------------ */
/* Options */

static struct {
  bool summary_only, json, no_lines;
  const char *function;   /* --function */
  const char *symbolizer; /* --symbolizer, or NULL: the default */
} opt;

/* ------------------------------------------------------------------ */
/* Per-file state.  Everything allocated hangs off the context so that an
 * error (a longjmp out of any depth) can free it all. */

struct fsym { /* a function symbol, for address -> name */
  uint64_t value, size;
  uint32_t shndx;
  uint8_t bind;
  const char *name;
};

struct rel { /* one relocation */
  uint64_t off;
  int64_t addend;
  uint32_t type, sym;
  uint32_t symtab; /* section index of its symbol table */
};

struct reltab {
  struct rel *v;
  size_t n;
  bool built;
};

struct note {
  uint32_t sec;     /* section holding it, or UINT32_MAX (a segment) */
  uint64_t fileoff; /* of the note header */
  uint64_t bytes;   /* header + name + padded desc */
  uint32_t nfuncs, nrecords;
};

struct rec {
  uint32_t note, func;  /* indices: ctx notes, function in that note */
  uint32_t sec;         /* .o: section of the return address */
  uint64_t addr;        /* .o: offset in sec; linked: virtual address */
  uint32_t nvalues, nregions;
  size_t loc0;          /* first location in ctx locs */
  size_t fn;            /* containing function (pool), or NONE */
  uint64_t fnoff;       /* addr - function start */
  size_t callee;        /* pool string, or NONE */
  const char *call;     /* direct, plt, got, indirect, unknown */
  size_t srcfile;       /* pool string, or NONE */
  unsigned line, col;
  size_t inlined;       /* innermost inlined function (pool), or NONE */
  bool shown;           /* passes --function */
};

/* What add_lines() allocates, and the symbolizer's pipe. */
struct lines {
  size_t *idx;       /* record of each address given to the symbolizer */
  char *text;        /* the addresses, one a line */
  uint64_t *base;    /* .o copy: address given to each section */
  uint8_t *copydata; /* .o copy: its bytes */
  char *input, *copy; /* temporary files */
  FILE *pipe;
};

struct ctx {
  const char *path;
  uint8_t *data;
  size_t size;
  jmp_buf fail;

  Elf64_Ehdr eh;
  bool rel; /* ET_REL */
  bool pie; /* ET_DYN with an interpreter */
  Elf64_Shdr *sh;
  size_t nsh;
  size_t shstrndx;
  Elf64_Phdr *ph;
  size_t nph;

  struct fsym *fsyms;
  size_t nfsyms;
  struct reltab *reltabs; /* .o: by target section */
  struct reltab dynrels;  /* linked: .rela.dyn + .rela.plt, by offset */

  struct note *notes;
  size_t nnotes, capnotes;
  struct rec *recs;
  size_t nrecs, caprecs;
  struct preempt_loc *locs;
  size_t nlocs, caplocs;
  char *pool;
  size_t poollen, poolcap;

  uint64_t note_bytes, code_bytes, llvm_stackmaps_bytes;
  bool has_llvm_stackmaps;
  uint64_t nvalues, nregions, nfuncs;
  unsigned warnings;
  struct lines lines;
};

static void fail(struct ctx *c, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 2, 3)));
static void fail(struct ctx *c, const char *fmt, ...) {
  va_list ap;
  fflush(stdout);
  fprintf(stderr, TOOL ": %s: ", c->path);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  longjmp(c->fail, 1);
}

static void warn(struct ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void warn(struct ctx *c, const char *fmt, ...) {
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
static void grow(struct ctx *c, void **v, size_t *cap, size_t n, size_t elem) {
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

static void *xcalloc(struct ctx *c, size_t n, size_t elem) {
  void *p = calloc(n ? n : 1, elem);
  if (!p)
    fail(c, "out of memory");
  return p;
}

/* Strings live in one pool and are referred to by offset (the pool moves). */
static size_t pool_add(struct ctx *c, const char *s) {
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

static size_t pool_printf(struct ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static size_t pool_printf(struct ctx *c, const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return pool_add(c, buf);
}

static const char *str(const struct ctx *c, size_t at) {
  return at == NONE ? NULL : c->pool + at;
}

/* ------------------------------------------------------------------ */
/* Bounds-checked access to the file */

static bool in_file(const struct ctx *c, uint64_t off, uint64_t len) {
  return off <= c->size && len <= c->size - off;
}

static uint32_t rd32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

static const char *sec_name(const struct ctx *c, size_t i) {
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
static const uint8_t *sec_data(struct ctx *c, size_t i) {
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
static bool get_sym(struct ctx *c, size_t symtab, uint32_t idx, Elf64_Sym *out) {
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

static const char *sym_name(struct ctx *c, size_t symtab, const Elf64_Sym *s) {
  if (ELF64_ST_TYPE(s->st_info) == STT_SECTION)
    return s->st_shndx < c->nsh ? sec_name(c, s->st_shndx) : "?";
  const char *n = strtab_get(c, c->sh[symtab].sh_link, s->st_name);
  return n ? n : "?";
}

/* Bytes at virtual address addr of a linked file: *avail is how many are
 * readable from there up to the end of the section (or segment). */
static const uint8_t *vaddr_bytes(struct ctx *c, uint64_t addr, uint64_t *avail,
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
static bool vaddr_is_code(const struct ctx *c, uint64_t addr) {
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

/* Is addr in an executable PT_LOAD segment (the runtime's test)? */
static bool in_exec_segment(const struct ctx *c, uint64_t addr) {
  for (size_t i = 0; i < c->nph; i++) {
    const Elf64_Phdr *p = &c->ph[i];
    if (p->p_type == PT_LOAD && (p->p_flags & PF_X) && addr >= p->p_vaddr &&
        addr - p->p_vaddr < p->p_memsz)
      return true;
  }
  return false;
}

/* ------------------------------------------------------------------ */
/* ELF headers */

static void read_headers(struct ctx *c) {
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

/* ------------------------------------------------------------------ */
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

static void read_symbols(struct ctx *c) {
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
static const struct fsym *find_func(const struct ctx *c, uint32_t shndx,
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
static const struct fsym *func_at(const struct ctx *c, uint32_t shndx,
                                  uint64_t addr) {
  const struct fsym *f = find_func(c, shndx, addr);
  return f && f->value == addr ? f : NULL;
}

/* ------------------------------------------------------------------ */
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
static struct reltab *relocs_for(struct ctx *c, size_t target) {
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
static struct reltab *dyn_relocs(struct ctx *c) {
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

static const struct rel *reloc_at(const struct reltab *t, uint64_t off) {
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

/* ------------------------------------------------------------------ */
static const char *reg_name(unsigned r) {
  static const char *const names[] = {
      "rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8",
      "r9",  "r10", "r11", "r12", "r13", "r14", "r15", "rip"};
  return r < sizeof names / sizeof names[0] ? names[r] : "?";
}

/* Where a note came from, to turn desc positions into file offsets and
 * addresses. */
struct note_src {
  uint32_t sec;      /* section index or UINT32_MAX */
  uint64_t fileoff;  /* file offset of the section/segment start */
  uint64_t vaddr;    /* its address (linked files) */
  const uint8_t *base;
};

struct note_err {
  struct ctx *c;
  uint64_t note_off; /* file offset of the note header */
};

static void bad_note(struct note_err *e, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 2, 3)));
static void bad_note(struct note_err *e, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  fail(e->c, "malformed preempt note at offset 0x%" PRIx64 ": %s", e->note_off,
       buf);
}

/* The first return address of a function entry at desc position fp:
 * linked files hold it self-relative, objects through a relocation. */
static void first_ret(struct ctx *c, struct note_err *e, const struct note_src *src,
                      const uint8_t *fp, uint32_t f, uint32_t *sec,
                      uint64_t *addr) {
  int32_t rel = (int32_t)rd32(fp);
  uint64_t pos = (uint64_t)(fp - src->base); /* in the section/segment */
  if (!c->rel) {
    *sec = 0;
    *addr = src->vaddr + pos + (uint64_t)(int64_t)rel;
    return;
  }
  const struct rel *r = reloc_at(relocs_for(c, src->sec), pos);
  if (!r)
    bad_note(e, "function %" PRIu32 ": no relocation for its return address "
                "(at %s+0x%" PRIx64 ")",
             f, sec_name(c, src->sec), pos);
  if (r->type != R_X86_64_PC32 && r->type != R_X86_64_PLT32)
    bad_note(e, "function %" PRIu32 ": unexpected relocation type %" PRIu32
                " for its return address",
             f, r->type);
  Elf64_Sym s;
  if (!get_sym(c, r->symtab, r->sym, &s))
    bad_note(e, "function %" PRIu32 ": relocation against bad symbol %" PRIu32,
             f, r->sym);
  if (s.st_shndx == SHN_UNDEF || s.st_shndx >= c->nsh)
    bad_note(e, "function %" PRIu32 ": return address relative to undefined "
                "symbol %s",
             f, sym_name(c, r->symtab, &s));
  *sec = s.st_shndx;
  /* PC32: S + A - P, so P + field = S + A (the field itself is 0 in RELA
   * objects). */
  *addr = s.st_value + (uint64_t)r->addend;
}

static void add_note(struct ctx *c, const struct note_src *src,
                     const uint8_t *desc, uint64_t descsz, uint64_t note_off,
                     uint64_t note_bytes) {
  struct note_err e = {c, note_off};
  struct preempt_map_header h;
  if (descsz < sizeof h)
    bad_note(&e, "truncated header (%" PRIu64 " bytes)", descsz);
  memcpy(&h, desc, sizeof h);
  if (h.version != PREEMPT_MAP_VERSION)
    bad_note(&e, "unsupported version %u (this tool reads version %u)",
             h.version, PREEMPT_MAP_VERSION);
  if (h.arch != PREEMPT_ARCH_X86_64)
    bad_note(&e, "built for another architecture (arch %u)", h.arch);
  if (h.nfuncs > descsz / sizeof(struct preempt_map_func) ||
      sizeof h + (uint64_t)h.nfuncs * sizeof(struct preempt_map_func) +
              h.blob_size != descsz)
    bad_note(&e, "function table and record blob do not fill the note "
                 "(%" PRIu32 " functions, %" PRIu32 " blob bytes, %" PRIu64
                 " bytes of description)",
             h.nfuncs, h.blob_size, descsz);

  grow(c, (void **)&c->notes, &c->capnotes, c->nnotes, sizeof *c->notes);
  uint32_t noteidx = (uint32_t)c->nnotes;
  c->notes[c->nnotes++] = (struct note){
      .sec = src->sec,
      .fileoff = note_off,
      .bytes = note_bytes,
      .nfuncs = h.nfuncs,
      .nrecords = h.nrecords,
  };
  c->note_bytes += note_bytes;
  c->nfuncs += h.nfuncs;

  const uint8_t *ftab = desc + sizeof h;
  const uint8_t *blob = ftab + (size_t)h.nfuncs * sizeof(struct preempt_map_func);
  const uint8_t *end = blob + h.blob_size, *p = blob;
#define BLOB_OFF(q) (src->fileoff + (uint64_t)((q) - src->base))
  uint64_t total = 0;
  for (uint32_t f = 0; f < h.nfuncs; f++) {
    const uint8_t *fp = ftab + (size_t)f * sizeof(struct preempt_map_func);
    uint32_t nrec = rd32(fp + 4);
    if (nrec == 0 || nrec > h.nrecords - total)
      bad_note(&e, "function %" PRIu32 ": %" PRIu32 " records; the counts do "
                   "not add up to the header's %" PRIu32,
               f, nrec, h.nrecords);
    uint32_t sec;
    uint64_t ret;
    first_ret(c, &e, src, fp, f, &sec, &ret);
    for (uint32_t r = 0; r < nrec; r++) {
      if (r > 0) {
        uint64_t delta;
        const uint8_t *q = p;
        if (!preempt_read_uleb(&p, end, &delta))
          bad_note(&e, "function %" PRIu32 " record %" PRIu32
                       ": truncated return-address delta at offset 0x%" PRIx64,
                   f, r, BLOB_OFF(q));
        if (delta == 0 || ret + delta < ret)
          bad_note(&e, "function %" PRIu32 " record %" PRIu32
                       ": bad return-address delta %" PRIu64 " at offset 0x%" PRIx64,
                   f, r, delta, BLOB_OFF(q));
        ret += delta;
      }
      const uint8_t *q = p;
      uint32_t nv, nr;
      if (!preempt_read_record(&p, end, &nv, &nr))
        bad_note(&e, "function %" PRIu32 " record %" PRIu32
                     ": truncated record at offset 0x%" PRIx64,
                 f, r, BLOB_OFF(q));
      grow(c, (void **)&c->recs, &c->caprecs, c->nrecs, sizeof *c->recs);
      struct rec *rec = &c->recs[c->nrecs++];
      *rec = (struct rec){
          .note = noteidx,
          .func = f,
          .sec = sec,
          .addr = ret,
          .nvalues = nv,
          .nregions = nr,
          .loc0 = c->nlocs,
          .fn = NONE,
          .callee = NONE,
          .call = "unknown",
          .srcfile = NONE,
          .inlined = NONE,
          .shown = true,
      };
      c->nvalues += nv;
      c->nregions += nr;
      for (uint64_t l = 0; l < nv + 2ull * nr; l++) {
        grow(c, (void **)&c->locs, &c->caplocs, c->nlocs, sizeof *c->locs);
        struct preempt_loc *loc = &c->locs[c->nlocs++];
        q = p;
        if (!preempt_read_loc(&p, end, loc))
          bad_note(&e, "function %" PRIu32 " record %" PRIu32
                       ": bad location at offset 0x%" PRIx64 " (byte 0x%02x)",
                   f, r, BLOB_OFF(q), q < end ? *q : 0);
        enum preempt_loc_role role =
            l < nv ? PREEMPT_ROLE_VALUE
                   : (l - nv) % 2 ? PREEMPT_ROLE_SIZE : PREEMPT_ROLE_BASE;
        const char *why = preempt_loc_misplaced(loc, role);
        if (why)
          warn(c, "note at offset 0x%" PRIx64 ", function %" PRIu32
                  " record %" PRIu32 ": %s (kind %u, %s) for a %s (the "
                  "runtime rejects this note)",
               note_off, f, r, why, loc->kind, reg_name(loc->reg),
               role == PREEMPT_ROLE_VALUE  ? "root value"
               : role == PREEMPT_ROLE_BASE ? "region base"
                                           : "region size");
      }
    }
    total += nrec;
  }
  if (total != h.nrecords)
    bad_note(&e, "the functions hold %" PRIu64 " records, the header says %" PRIu32,
             total, h.nrecords);
  if (p != end)
    bad_note(&e, "%zu bytes left over after the last record (offset 0x%" PRIx64 ")",
             (size_t)(end - p), BLOB_OFF(p));
#undef BLOB_OFF
}

/* Walks the notes of one note section or segment. */
static void scan_notes(struct ctx *c, const struct note_src *src, uint64_t size,
                       uint64_t align, bool must_parse) {
  const uint8_t *p = src->base, *end = src->base + size;
  align = align == 8 ? 8 : 4;
  while (p < end) {
    uint64_t off = src->fileoff + (uint64_t)(p - src->base);
    Elf64_Nhdr nh;
    if ((size_t)(end - p) < sizeof nh) {
      /* Trailing zero padding is harmless. */
      bool zero = true;
      for (const uint8_t *q = p; q < end; q++)
        zero &= *q == 0;
      if (zero)
        return;
      if (must_parse)
        fail(c, "malformed note at offset 0x%" PRIx64 ": truncated note header", off);
      warn(c, "malformed note at offset 0x%" PRIx64 ": truncated note header", off);
      return;
    }
    memcpy(&nh, p, sizeof nh);
    /* Padding is relative to the (aligned) note start: with 8-byte
     * alignment (.note.gnu.property) the description of a 4-byte name
     * starts 16 bytes in, not 12 + 8. */
    const uint8_t *name = p + sizeof nh;
    uint64_t left = (uint64_t)(end - p);
    uint64_t descoff = (sizeof nh + (uint64_t)nh.n_namesz + align - 1) & ~(align - 1);
    if (descoff > left || nh.n_descsz > left - descoff) {
      if (must_parse)
        fail(c, "malformed note at offset 0x%" PRIx64 ": name or description "
                "(%" PRIu32 " + %" PRIu32 " bytes) extends past the end of "
                "its section",
             off, nh.n_namesz, nh.n_descsz);
      warn(c, "malformed note at offset 0x%" PRIx64 ": extends past its section",
           off);
      return;
    }
    const uint8_t *desc = p + descoff;
    uint64_t bytes = (descoff + (uint64_t)nh.n_descsz + align - 1) & ~(align - 1);
    bool last = bytes >= left;
    if (last)
      bytes = left;
    if (nh.n_namesz == PREEMPT_NOTE_NAMESZ &&
        !memcmp(name, PREEMPT_NOTE_NAME, PREEMPT_NOTE_NAMESZ) &&
        nh.n_type == PREEMPT_NOTE_MAPS)
      add_note(c, src, desc, nh.n_descsz, off, bytes);
    if (last)
      return;
    p += bytes;
  }
}

static void read_notes(struct ctx *c) {
  if (c->nsh) {
    for (size_t i = 1; i < c->nsh; i++) {
      const Elf64_Shdr *s = &c->sh[i];
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
    const Elf64_Phdr *ph = &c->ph[i];
    if (ph->p_type != PT_NOTE)
      continue;
    if (!in_file(c, ph->p_offset, ph->p_filesz))
      fail(c, "truncated: note segment %zu (offset 0x%" PRIx64 ", 0x%" PRIx64
              " bytes) extends past the end of the file (0x%zx bytes)",
           i, (uint64_t)ph->p_offset, (uint64_t)ph->p_filesz, c->size);
    struct note_src src = {
        .sec = UINT32_MAX,
        .fileoff = ph->p_offset,
        .vaddr = ph->p_vaddr,
        .base = c->data + ph->p_offset,
    };
    scan_notes(c, &src, ph->p_filesz, ph->p_align, false);
  }
}

/* ------------------------------------------------------------------ */
/* Call sites: containing function and callee */

/* Is p[0, len) exactly one indirect near call (ff /2, with prefixes and
 * REX allowed)? */
static bool is_indirect_call(const uint8_t *p, size_t len) {
  size_t i = 0;
  while (i < len && (p[i] == 0x3e || p[i] == 0x2e || p[i] == 0x26 ||
                     p[i] == 0x36 || p[i] == 0x64 || p[i] == 0x65 ||
                     p[i] == 0x67 || p[i] == 0xf2))
    i++;
  if (i < len && (p[i] & 0xf0) == 0x40)
    i++;
  if (len - i < 2 || p[i] != 0xff || ((p[i + 1] >> 3) & 7) != 2)
    return false;
  unsigned mod = p[i + 1] >> 6, rm = p[i + 1] & 7;
  i += 2;
  if (mod != 3 && rm == 4) { /* SIB */
    if (i >= len)
      return false;
    if (mod == 0 && (p[i] & 7) == 5)
      i += 4; /* no base: disp32 */
    i++;
  }
  if (mod == 0 && rm == 5)
    i += 4; /* rip-relative disp32 */
  else if (mod == 1)
    i += 1;
  else if (mod == 2)
    i += 4;
  return i == len;
}

/* Name of what a call to target reaches in a linked file. */
static void name_target(struct ctx *c, struct rec *r, uint64_t target) {
  const struct fsym *f = func_at(c, 0, target);
  if (f) {
    r->callee = pool_add(c, f->name);
    r->call = "direct";
    return;
  }
  /* A PLT stub: [endbr64] [bnd] jmp *slot(%rip).  Its GOT slot carries a
   * JUMP_SLOT or GLOB_DAT relocation naming the function. */
  uint64_t avail, start;
  const uint8_t *b = vaddr_bytes(c, target, &avail, &start);
  if (b) {
    uint64_t i = 0;
    if (avail >= 4 && b[0] == 0xf3 && b[1] == 0x0f && b[2] == 0x1e && b[3] == 0xfa)
      i = 4;
    if (i < avail && b[i] == 0xf2)
      i++;
    if (avail >= i + 6 && b[i] == 0xff && b[i + 1] == 0x25) {
      uint64_t slot = target + i + 6 + (uint64_t)(int64_t)(int32_t)rd32(b + i + 2);
      const struct rel *rl = reloc_at(dyn_relocs(c), slot);
      Elf64_Sym s;
      if (rl && rl->sym && get_sym(c, rl->symtab, rl->sym, &s)) {
        r->callee = pool_printf(c, "%s@plt", sym_name(c, rl->symtab, &s));
      } else if (rl && rl->type == R_X86_64_IRELATIVE) {
        r->callee = pool_printf(c, "*ifunc 0x%" PRIx64 "@plt", (uint64_t)rl->addend);
      } else {
        r->callee = pool_printf(c, "plt stub at 0x%" PRIx64, target);
      }
      r->call = "plt";
      return;
    }
  }
  f = find_func(c, 0, target);
  if (f && f->size)
    r->callee = pool_printf(c, "%s+0x%" PRIx64, f->name, target - f->value);
  else
    r->callee = pool_printf(c, "0x%" PRIx64, target);
  r->call = "direct";
}

static void resolve_callee_linked(struct ctx *c, struct rec *r) {
  uint64_t avail, start;
  if (r->addr == 0)
    return;
  const uint8_t *b = vaddr_bytes(c, r->addr - 1, &avail, &start);
  if (!b)
    return;
  const uint8_t *end = b + 1;
  uint64_t before = r->addr - start; /* readable bytes before addr */
  if (before >= 5 && end[-5] == 0xe8) {
    uint64_t target = r->addr + (uint64_t)(int64_t)(int32_t)rd32(end - 4);
    if (vaddr_is_code(c, target)) {
      name_target(c, r, target);
      return;
    }
  }
  /* call *slot(%rip): through the GOT (-fno-plt). */
  if (before >= 6 && end[-6] == 0xff && end[-5] == 0x15) {
    uint64_t slot = r->addr + (uint64_t)(int64_t)(int32_t)rd32(end - 4);
    const struct rel *rl = reloc_at(dyn_relocs(c), slot);
    Elf64_Sym s;
    if (rl && rl->sym && get_sym(c, rl->symtab, rl->sym, &s)) {
      r->callee = pool_printf(c, "%s@got", sym_name(c, rl->symtab, &s));
      r->call = "got";
      return;
    }
  }
  for (uint64_t len = 2; len <= 15 && len <= before; len++)
    if (is_indirect_call(end - len, (size_t)len)) {
      r->callee = pool_add(c, "(indirect)");
      r->call = "indirect";
      return;
    }
}

static void resolve_callee_rel(struct ctx *c, struct rec *r) {
  if (r->sec >= c->nsh || c->sh[r->sec].sh_type == SHT_NOBITS)
    return;
  const Elf64_Shdr *s = &c->sh[r->sec];
  if (r->addr > s->sh_size || r->addr == 0)
    return;
  const uint8_t *text = sec_data(c, r->sec);
  const uint8_t *end = text + r->addr;
  uint64_t before = r->addr;
  const struct rel *rl = before >= 4 ? reloc_at(relocs_for(c, r->sec), r->addr - 4) : NULL;
  if (rl) {
    Elf64_Sym sym;
    if (!get_sym(c, rl->symtab, rl->sym, &sym))
      return;
    bool via_got = rl->type == R_X86_64_GOTPCREL ||
                   rl->type == R_X86_64_GOTPCRELX ||
                   rl->type == R_X86_64_REX_GOTPCRELX;
    if (via_got) {
      r->callee = pool_printf(c, "%s@got", sym_name(c, rl->symtab, &sym));
      r->call = "got";
      return;
    }
    if (before >= 5 && end[-5] == 0xe8) {
      r->call = "direct";
      if (ELF64_ST_TYPE(sym.st_info) == STT_SECTION) {
        /* call .text+X: find the function there. */
        uint64_t t = sym.st_value + (uint64_t)rl->addend + 4;
        const struct fsym *f = func_at(c, sym.st_shndx, t);
        r->callee = f ? pool_add(c, f->name)
                      : pool_printf(c, "%s+0x%" PRIx64,
                                    sym_name(c, rl->symtab, &sym), t);
      } else {
        r->callee = pool_add(c, sym_name(c, rl->symtab, &sym));
      }
      return;
    }
  }
  if (before >= 5 && end[-5] == 0xe8) {
    /* Resolved by the assembler: a call within the section. */
    uint64_t t = r->addr + (uint64_t)(int64_t)(int32_t)rd32(end - 4);
    const struct fsym *f = func_at(c, r->sec, t);
    r->callee = f ? pool_add(c, f->name)
                  : pool_printf(c, "%s+0x%" PRIx64, sec_name(c, r->sec), t);
    r->call = "direct";
    return;
  }
  for (uint64_t len = 2; len <= 15 && len <= before; len++)
    if (is_indirect_call(end - len, (size_t)len)) {
      r->callee = pool_add(c, "(indirect)");
      r->call = "indirect";
      return;
    }
}

static void resolve_sites(struct ctx *c) {
  for (size_t i = 0; i < c->nrecs; i++) {
    struct rec *r = &c->recs[i];
    /* The call instruction ends at the return address, which is past
     * the function's end after a call to a noreturn function. */
    const struct fsym *f = r->addr ? find_func(c, r->sec, r->addr - 1) : NULL;
    if (f) {
      r->fn = pool_add(c, f->name);
      r->fnoff = r->addr - f->value;
    }
    if (opt.function)
      r->shown = f && !strcmp(f->name, opt.function);
    bool code = c->rel ? r->sec < c->nsh &&
                             (c->sh[r->sec].sh_flags & SHF_EXECINSTR) &&
                             r->addr <= c->sh[r->sec].sh_size
                       : vaddr_is_code(c, r->addr - 1);
    if (!code) {
      warn(c, "return address %s%s0x%" PRIx64 " is outside the code (the "
              "runtime rejects this note)",
           c->rel ? sec_name(c, r->sec) : "", c->rel ? "+" : "", r->addr);
      continue;
    }
    if (!c->rel && c->nph && !in_exec_segment(c, r->addr))
      warn(c, "return address 0x%" PRIx64 " is the end of the executable "
              "segment (a call to a noreturn function?); the runtime, which "
              "looks for the return address itself in the segment, rejects "
              "this note",
           r->addr);
    if (opt.summary_only || !r->shown)
      continue;
    if (c->rel)
      resolve_callee_rel(c, r);
    else
      resolve_callee_linked(c, r);
  }
}

/* ------------------------------------------------------------------ */
/* Source lines from llvm-symbolizer */

static bool has_debug_info(const struct ctx *c) {
  for (size_t i = 1; i < c->nsh; i++) {
    const char *n = sec_name(c, i);
    if (!strcmp(n, ".debug_line") || !strcmp(n, ".zdebug_line"))
      return true;
  }
  return false;
}

/* Appends s to buf in single quotes for sh. */
static bool shell_quote(char *buf, size_t cap, size_t *len, const char *s) {
  if (*len + 1 >= cap)
    return false;
  buf[(*len)++] = '\'';
  for (; *s; s++) {
    if (*s == '\'') {
      if (*len + 4 >= cap)
        return false;
      memcpy(buf + *len, "'\\''", 4);
      *len += 4;
    } else {
      if (*len + 1 >= cap)
        return false;
      buf[(*len)++] = *s;
    }
  }
  if (*len + 2 >= cap)
    return false;
  buf[(*len)++] = '\'';
  buf[*len] = 0;
  return true;
}

static char *make_temp(struct ctx *c, const char *what) {
  const char *dir = getenv("TMPDIR");
  if (!dir || !*dir)
    dir = "/tmp";
  size_t n = strlen(dir) + 64;
  char *path = xcalloc(c, n, 1);
  snprintf(path, n, "%s/preempt-maps-%s-XXXXXX", dir, what);
  return path;
}

/* Writes buf to a new temporary file; its path goes to *out (freed and
 * unlinked by the caller).  false on failure. */
static bool write_temp(struct ctx *c, const char *what, const void *buf,
                       size_t len, char **out) {
  char *path = make_temp(c, what);
  int fd = mkstemp(path);
  if (fd < 0) {
    free(path);
    return false;
  }
  const uint8_t *p = buf;
  while (len) {
    ssize_t w = write(fd, p, len);
    if (w <= 0) {
      if (w < 0 && errno == EINTR)
        continue;
      close(fd);
      unlink(path);
      free(path);
      return false;
    }
    p += w;
    len -= (size_t)w;
  }
  close(fd);
  *out = path;
  return true;
}

/* Parses "file:line:col" from the right. */
static bool parse_location(char *s, unsigned *line, unsigned *col) {
  char *c2 = strrchr(s, ':');
  if (!c2)
    return false;
  *c2 = 0;
  char *c1 = strrchr(s, ':');
  if (!c1)
    return false;
  *c1 = 0;
  *line = (unsigned)strtoul(c1 + 1, NULL, 10);
  *col = (unsigned)strtoul(c2 + 1, NULL, 10);
  return *line != 0 && strcmp(s, "??") != 0;
}

/* Runs the symbolizer over the shown records (addresses in the queried
 * file's terms: addr[i]).  Returns false if it could not be run. */
static bool run_symbolizer(struct ctx *c, const char *tool, const char *obj,
                           const char *input, const size_t *idx, size_t n) {
  char cmd[8192];
  size_t len = 0;
  if (!shell_quote(cmd, sizeof cmd, &len, tool))
    return false;
  const char *mid = " --inlines --functions=linkage --obj=";
  if (len + strlen(mid) + 1 >= sizeof cmd)
    return false;
  memcpy(cmd + len, mid, strlen(mid) + 1);
  len += strlen(mid);
  if (!shell_quote(cmd, sizeof cmd, &len, obj))
    return false;
  if (len + 4 >= sizeof cmd)
    return false;
  memcpy(cmd + len, " < ", 4);
  len += 3;
  if (!shell_quote(cmd, sizeof cmd, &len, input))
    return false;
  const char *tail = " 2>/dev/null";
  if (len + strlen(tail) + 1 >= sizeof cmd)
    return false;
  memcpy(cmd + len, tail, strlen(tail) + 1);

  fflush(stdout);
  FILE *f = popen(cmd, "r");
  if (!f)
    return false;
  c->lines.pipe = f;
  char fn[4096], loc[4096];
  size_t i = 0;
  bool first = true, got_any = false;
  /* Per address: (function line, location line)+, then an empty line. */
  while (i < n && fgets(fn, sizeof fn, f)) {
    fn[strcspn(fn, "\r\n")] = 0;
    if (!fn[0]) { /* end of this address */
      i++;
      first = true;
      continue;
    }
    if (!fgets(loc, sizeof loc, f))
      break;
    loc[strcspn(loc, "\r\n")] = 0;
    got_any = true;
    if (!first)
      continue; /* outer frames of an inlined call */
    first = false;
    struct rec *r = &c->recs[idx[i]];
    unsigned line, col;
    if (parse_location(loc, &line, &col)) {
      r->srcfile = pool_add(c, loc);
      r->line = line;
      r->col = col;
      if (strcmp(fn, "??") && (r->fn == NONE || strcmp(fn, str(c, r->fn))))
        r->inlined = pool_add(c, fn);
    }
  }
  /* Drain what is left so that the symbolizer is not killed by SIGPIPE. */
  while (fgets(fn, sizeof fn, f))
    ;
  c->lines.pipe = NULL;
  int st = pclose(f);
  if (!got_any && (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) == 127 ||
                   WEXITSTATUS(st) == 126))
    return false;
  return true;
}

static void add_lines(struct ctx *c) {
  if (opt.no_lines || opt.summary_only || !has_debug_info(c))
    return;
  /* Everything here hangs off c->lines so that cleanup() frees it (and
   * removes the temporaries) even after a failure. */
  struct lines *L = &c->lines;
  size_t n = 0;
  L->idx = xcalloc(c, c->nrecs, sizeof *L->idx);

  /* In an object every section starts at address 0 and llvm-symbolizer
   * cannot tell sections apart; with more than one code section we give
   * it a copy in which each allocated section has its own address. */
  const char *obj = c->path;
  if (c->rel) {
    size_t ncode = 0;
    for (size_t i = 1; i < c->nsh; i++)
      ncode += (c->sh[i].sh_flags & SHF_EXECINSTR) && c->sh[i].sh_size;
    if (ncode > 1) {
      L->base = xcalloc(c, c->nsh, sizeof *L->base);
      L->copydata = xcalloc(c, c->size, 1);
      memcpy(L->copydata, c->data, c->size);
      uint64_t at = 0x10000;
      for (size_t i = 1; i < c->nsh; i++) {
        if (!(c->sh[i].sh_flags & SHF_ALLOC))
          continue;
        L->base[i] = at;
        Elf64_Shdr sh = c->sh[i];
        sh.sh_addr = at;
        memcpy(L->copydata + c->eh.e_shoff + i * sizeof sh, &sh, sizeof sh);
        at += ((sh.sh_size + 0xfff) & ~(uint64_t)0xfff) + 0x1000;
      }
      if (write_temp(c, "obj", L->copydata, c->size, &L->copy))
        obj = L->copy;
      else
        return;
    }
  }

  size_t textlen = 0, textcap = 0;
  for (size_t i = 0; i < c->nrecs; i++) {
    const struct rec *r = &c->recs[i];
    if (!r->shown || r->addr == 0)
      continue;
    uint64_t a = r->addr - 1; /* inside the call instruction */
    if (c->rel) {
      if (r->sec >= c->nsh || !(c->sh[r->sec].sh_flags & SHF_EXECINSTR))
        continue;
      if (L->base)
        a += L->base[r->sec];
    }
    char line[32];
    int l = snprintf(line, sizeof line, "0x%" PRIx64 "\n", a);
    while (textlen + (size_t)l > textcap)
      grow(c, (void **)&L->text, &textcap, textcap, 1);
    memcpy(L->text + textlen, line, (size_t)l);
    textlen += (size_t)l;
    L->idx[n++] = i;
  }
  if (n == 0 || !write_temp(c, "addr", L->text, textlen, &L->input))
    return;
  if (opt.symbolizer) {
    if (!run_symbolizer(c, opt.symbolizer, obj, L->input, L->idx, n))
      warn(c, "could not run %s; no source lines", opt.symbolizer);
  } else if (!run_symbolizer(c, DEFAULT_SYMBOLIZER, obj, L->input, L->idx, n) &&
             !run_symbolizer(c, FALLBACK_SYMBOLIZER, obj, L->input, L->idx, n)) {
    warn(c, "could not run " DEFAULT_SYMBOLIZER "; no source lines");
  }
}

static void lines_cleanup(struct lines *L) {
  if (L->pipe)
    pclose(L->pipe);
  if (L->input) {
    unlink(L->input);
    free(L->input);
  }
  if (L->copy) {
    unlink(L->copy);
    free(L->copy);
  }
  free(L->copydata);
  free(L->text);
  free(L->base);
  free(L->idx);
  memset(L, 0, sizeof *L);
}

/* ------------------------------------------------------------------ */
/* Output */

static void print_mem(FILE *out, unsigned reg, int32_t off) {
  if (off == 0)
    fprintf(out, "[%s]", reg_name(reg));
  else
    fprintf(out, "[%s%c%" PRId64 "]", reg_name(reg), off < 0 ? '-' : '+',
            off < 0 ? -(int64_t)off : (int64_t)off);
}

static void print_addr(FILE *out, unsigned reg, int32_t off) {
  if (off == 0)
    fprintf(out, "%s", reg_name(reg));
  else
    fprintf(out, "%s%c%" PRId64, reg_name(reg), off < 0 ? '-' : '+',
            off < 0 ? -(int64_t)off : (int64_t)off);
}

static void print_value(FILE *out, const struct preempt_loc *l) {
  switch (l->kind) {
  case PREEMPT_LOC_REG:
    fprintf(out, "value in %s", reg_name(l->reg));
    break;
  case PREEMPT_LOC_IND:
    fprintf(out, "value at ");
    print_mem(out, l->reg, l->offset);
    break;
  case PREEMPT_LOC_IND_N:
    fprintf(out, "value (%" PRIu32 " bytes) at ", l->size);
    print_mem(out, l->reg, l->offset);
    break;
  case PREEMPT_LOC_DIRECT:
    fprintf(out, "value = address ");
    print_addr(out, l->reg, l->offset);
    fprintf(out, " (invalid for a value)");
    break;
  default:
    fprintf(out, "value = constant %" PRIu32 " (invalid for a value)", l->size);
  }
}

static void print_region(FILE *out, const struct preempt_loc *b,
                         const struct preempt_loc *s) {
  if (b->kind == PREEMPT_LOC_CONST && b->size == 0) {
    fprintf(out, "the whole frame, conservatively");
    return;
  }
  if (b->kind == PREEMPT_LOC_DIRECT && s->kind == PREEMPT_LOC_CONST) {
    fprintf(out, "region [");
    print_addr(out, b->reg, b->offset);
    fprintf(out, ", %" PRIu32 " bytes)", s->size);
    return;
  }
  fprintf(out, "region at ");
  switch (b->kind) {
  case PREEMPT_LOC_DIRECT:
    print_addr(out, b->reg, b->offset);
    break;
  case PREEMPT_LOC_REG:
    fprintf(out, "%s-held address", reg_name(b->reg));
    break;
  case PREEMPT_LOC_IND:
    fprintf(out, "address held in ");
    print_mem(out, b->reg, b->offset);
    break;
  default:
    fprintf(out, "? (invalid base kind %u)", b->kind);
  }
  fprintf(out, ", ");
  switch (s->kind) {
  case PREEMPT_LOC_CONST:
    fprintf(out, "%" PRIu32 " bytes", s->size);
    break;
  case PREEMPT_LOC_REG:
    fprintf(out, "size in %s", reg_name(s->reg));
    break;
  case PREEMPT_LOC_IND:
    fprintf(out, "size in ");
    print_mem(out, s->reg, s->offset);
    break;
  default:
    fprintf(out, "size ? (invalid size kind %u)", s->kind);
  }
}

static void print_where(const struct ctx *c, FILE *out, const struct rec *r) {
  if (c->rel)
    fprintf(out, "%s+0x%" PRIx64, sec_name(c, r->sec), r->addr);
  else
    fprintf(out, "0x%" PRIx64, r->addr);
}

static const char *file_kind(const struct ctx *c) {
  if (c->rel)
    return "relocatable object";
  if (c->eh.e_type == ET_EXEC)
    return "executable";
  return c->pie ? "PIE executable" : "shared library";
}

static void print_summary_text(const struct ctx *c, FILE *out) {
  uint64_t n = c->nrecs;
  fprintf(out, "summary of %s (%s):\n", c->path, file_kind(c));
  fprintf(out, "  functions with maps  %" PRIu64 "\n", c->nfuncs);
  fprintf(out, "  records              %zu\n", c->nrecs);
  fprintf(out, "  root values          %" PRIu64 " (%.2f per record)\n",
          c->nvalues, n ? (double)c->nvalues / (double)n : 0.0);
  fprintf(out, "  root regions         %" PRIu64 " (%.2f per record)\n",
          c->nregions, n ? (double)c->nregions / (double)n : 0.0);
  fprintf(out, "  .note.preempt        %" PRIu64 " bytes in %zu note%s "
               "(%.1f per record)\n",
          c->note_bytes, c->nnotes, c->nnotes == 1 ? "" : "s",
          n ? (double)c->note_bytes / (double)n : 0.0);
  fprintf(out, "  code                 %" PRIu64 " bytes\n", c->code_bytes);
  fprintf(out, "  map bytes per code byte %.3f\n",
          c->code_bytes ? (double)c->note_bytes / (double)c->code_bytes : 0.0);
  if (c->has_llvm_stackmaps)
    fprintf(out, "  .llvm_stackmaps      %" PRIu64 " bytes (%.1fx the note)\n",
            c->llvm_stackmaps_bytes,
            c->note_bytes ? (double)c->llvm_stackmaps_bytes / (double)c->note_bytes
                          : 0.0);
}

static void print_text(const struct ctx *c, FILE *out) {
  if (!opt.summary_only) {
    fprintf(out, "%s: %s, %zu record%s in %" PRIu64 " function%s\n", c->path,
            file_kind(c), c->nrecs, c->nrecs == 1 ? "" : "s", c->nfuncs,
            c->nfuncs == 1 ? "" : "s");
    uint32_t cur_note = UINT32_MAX, cur_func = UINT32_MAX;
    for (size_t i = 0; i < c->nrecs; i++) {
      const struct rec *r = &c->recs[i];
      if (!r->shown)
        continue;
      if (r->note != cur_note) {
        const struct note *nt = &c->notes[r->note];
        fprintf(out, "\nnote at offset 0x%" PRIx64 " (%s): %" PRIu32
                     " function%s, %" PRIu32 " record%s, %" PRIu64 " bytes\n",
                nt->fileoff,
                nt->sec != UINT32_MAX ? sec_name(c, nt->sec) : "PT_NOTE",
                nt->nfuncs, nt->nfuncs == 1 ? "" : "s", nt->nrecords,
                nt->nrecords == 1 ? "" : "s", nt->bytes);
        cur_note = r->note;
        cur_func = UINT32_MAX;
      }
      if (r->func != cur_func) {
        fprintf(out, "function %s\n", r->fn != NONE ? str(c, r->fn) : "?");
        cur_func = r->func;
      }
      fprintf(out, "  ");
      print_where(c, out, r);
      if (r->fn != NONE)
        fprintf(out, " %s+0x%" PRIx64, str(c, r->fn), r->fnoff);
      fprintf(out, ": call %s", r->callee != NONE ? str(c, r->callee) : "?");
      if (r->srcfile != NONE) {
        fprintf(out, " at %s:%u", str(c, r->srcfile), r->line);
        if (r->inlined != NONE)
          fprintf(out, " (inlined from %s)", str(c, r->inlined));
      }
      fputc('\n', out);
      const struct preempt_loc *l = &c->locs[r->loc0];
      if (r->nvalues == 0 && r->nregions == 0)
        fprintf(out, "    no roots\n");
      for (uint32_t v = 0; v < r->nvalues; v++) {
        fprintf(out, "    ");
        print_value(out, &l[v]);
        fputc('\n', out);
      }
      for (uint32_t g = 0; g < r->nregions; g++) {
        fprintf(out, "    ");
        print_region(out, &l[r->nvalues + 2 * g], &l[r->nvalues + 2 * g + 1]);
        fputc('\n', out);
      }
    }
    fputc('\n', out);
  }
  print_summary_text(c, out);
}

/* Length of the valid UTF-8 sequence at s, or 0. */
static size_t utf8_len(const unsigned char *s) {
  unsigned char b = s[0];
  size_t n;
  uint32_t cp;
  if (b < 0x80)
    return 1;
  if (b >= 0xc2 && b <= 0xdf)
    n = 2, cp = b & 0x1f;
  else if (b >= 0xe0 && b <= 0xef)
    n = 3, cp = b & 0x0f;
  else if (b >= 0xf0 && b <= 0xf4)
    n = 4, cp = b & 0x07;
  else
    return 0;
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0; /* also stops at the terminating NUL */
    cp = cp << 6 | (s[i] & 0x3f);
  }
  if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
      (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
    return 0;
  return n;
}

/* A JSON string; bytes that are not UTF-8 (corrupt names) become U+FFFD. */
static void json_str(FILE *out, const char *str) {
  const unsigned char *s = (const unsigned char *)str;
  fputc('"', out);
  while (*s) {
    unsigned char ch = *s;
    size_t n = utf8_len(s);
    if (n == 0) {
      fputs("\\ufffd", out);
      s++;
      continue;
    }
    if (n > 1) {
      fwrite(s, 1, n, out);
      s += n;
      continue;
    }
    if (ch == '"' || ch == '\\')
      fprintf(out, "\\%c", ch);
    else if (ch == '\n')
      fputs("\\n", out);
    else if (ch == '\t')
      fputs("\\t", out);
    else if (ch < 0x20 || ch == 0x7f)
      fprintf(out, "\\u%04x", ch);
    else
      fputc(ch, out);
    s++;
  }
  fputc('"', out);
}

static void json_loc(FILE *out, const struct preempt_loc *l) {
  static const char *const kinds[] = {"reg", "ind", "ind_n", "direct", "const"};
  fprintf(out, "{\"kind\":\"%s\"", l->kind < 5 ? kinds[l->kind] : "?");
  if (l->kind != PREEMPT_LOC_CONST)
    fprintf(out, ",\"reg\":\"%s\"", reg_name(l->reg));
  if (l->kind == PREEMPT_LOC_IND || l->kind == PREEMPT_LOC_IND_N ||
      l->kind == PREEMPT_LOC_DIRECT)
    fprintf(out, ",\"offset\":%" PRId32, l->offset);
  if (l->kind == PREEMPT_LOC_IND_N)
    fprintf(out, ",\"size\":%" PRIu32, l->size);
  if (l->kind == PREEMPT_LOC_CONST)
    fprintf(out, ",\"value\":%" PRIu32, l->size);
  fputc('}', out);
}

/* The human text of a root, for JSON. */
static void json_text(FILE *out, void (*fn)(FILE *, const struct preempt_loc *,
                                            const struct preempt_loc *),
                      const struct preempt_loc *a, const struct preempt_loc *b) {
  char *buf = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&buf, &len);
  if (!m) {
    fputs("\"\"", out);
    return;
  }
  fn(m, a, b);
  fclose(m);
  json_str(out, buf ? buf : "");
  free(buf);
}

static void value_text(FILE *out, const struct preempt_loc *a,
                       const struct preempt_loc *b) {
  (void)b;
  print_value(out, a);
}

static void print_json(const struct ctx *c, FILE *out) {
  fputs("{\"file\":", out);
  json_str(out, c->path);
  fprintf(out, ",\"type\":\"%s\"",
          c->rel ? "relocatable" : c->eh.e_type == ET_EXEC ? "executable"
                                   : c->pie                ? "pie"
                                                           : "shared");
  if (!opt.summary_only) {
    fputs(",\"notes\":[", out);
    for (size_t i = 0; i < c->nnotes; i++) {
      const struct note *nt = &c->notes[i];
      fprintf(out, "%s{\"offset\":%" PRIu64 ",\"section\":", i ? "," : "",
              nt->fileoff);
      json_str(out, nt->sec != UINT32_MAX ? sec_name(c, nt->sec) : "PT_NOTE");
      fprintf(out, ",\"functions\":%" PRIu32 ",\"records\":%" PRIu32
                   ",\"bytes\":%" PRIu64 "}",
              nt->nfuncs, nt->nrecords, nt->bytes);
    }
    fputs("],\"records\":[", out);
    bool first = true;
    for (size_t i = 0; i < c->nrecs; i++) {
      const struct rec *r = &c->recs[i];
      if (!r->shown)
        continue;
      fputs(first ? "\n" : ",\n", out);
      first = false;
      fputs("{\"function\":", out);
      if (r->fn != NONE) {
        json_str(out, str(c, r->fn));
        fprintf(out, ",\"function_offset\":%" PRIu64, r->fnoff);
      } else {
        fputs("null", out);
      }
      fprintf(out, ",\"note\":%" PRIu32 ",\"note_function\":%" PRIu32, r->note,
              r->func);
      if (c->rel) {
        fputs(",\"section\":", out);
        json_str(out, sec_name(c, r->sec));
      }
      fprintf(out, ",\"address\":%" PRIu64 ",\"where\":", r->addr);
      char where[512];
      if (c->rel)
        snprintf(where, sizeof where, "%s+0x%" PRIx64, sec_name(c, r->sec),
                 r->addr);
      else
        snprintf(where, sizeof where, "0x%" PRIx64, r->addr);
      json_str(out, where);
      fputs(",\"callee\":", out);
      if (r->callee != NONE)
        json_str(out, str(c, r->callee));
      else
        fputs("null", out);
      fprintf(out, ",\"call\":\"%s\"", r->call);
      if (r->srcfile != NONE) {
        fputs(",\"source\":{\"file\":", out);
        json_str(out, str(c, r->srcfile));
        fprintf(out, ",\"line\":%u,\"column\":%u", r->line, r->col);
        if (r->inlined != NONE) {
          fputs(",\"inlined\":", out);
          json_str(out, str(c, r->inlined));
        }
        fputc('}', out);
      }
      const struct preempt_loc *l = &c->locs[r->loc0];
      fputs(",\"values\":[", out);
      for (uint32_t v = 0; v < r->nvalues; v++) {
        fputs(v ? "," : "", out);
        fputs("{\"loc\":", out);
        json_loc(out, &l[v]);
        fputs(",\"text\":", out);
        json_text(out, value_text, &l[v], NULL);
        fputc('}', out);
      }
      fputs("],\"regions\":[", out);
      for (uint32_t g = 0; g < r->nregions; g++) {
        const struct preempt_loc *b = &l[r->nvalues + 2 * g], *s = b + 1;
        fputs(g ? "," : "", out);
        fputs("{\"base\":", out);
        json_loc(out, b);
        fputs(",\"size\":", out);
        json_loc(out, s);
        fputs(",\"text\":", out);
        json_text(out, print_region, b, s);
        fputc('}', out);
      }
      fputs("]}", out);
    }
    fputs("]", out);
  }
  uint64_t n = c->nrecs;
  fprintf(out, ",\n\"summary\":{\"notes\":%zu,\"functions\":%" PRIu64
               ",\"records\":%zu,\"values\":%" PRIu64 ",\"regions\":%" PRIu64
               ",\"values_per_record\":%.4f,\"regions_per_record\":%.4f"
               ",\"note_bytes\":%" PRIu64 ",\"code_bytes\":%" PRIu64
               ",\"map_bytes_per_code_byte\":%.4f,\"llvm_stackmaps_bytes\":",
          c->nnotes, c->nfuncs, c->nrecs, c->nvalues, c->nregions,
          n ? (double)c->nvalues / (double)n : 0.0,
          n ? (double)c->nregions / (double)n : 0.0, c->note_bytes,
          c->code_bytes,
          c->code_bytes ? (double)c->note_bytes / (double)c->code_bytes : 0.0);
  if (c->has_llvm_stackmaps)
    fprintf(out, "%" PRIu64, c->llvm_stackmaps_bytes);
  else
    fputs("null", out);
  fprintf(out, ",\"warnings\":%u}}", c->warnings);
}

/* ------------------------------------------------------------------ */
/* Driver */

static void load(struct ctx *c) {
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

static void cleanup(struct ctx *c) {
  lines_cleanup(&c->lines);
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

/* 0: maps printed (or none), 1: error; *shown: records printed. */
static int process(struct ctx *c, size_t *shown, bool *json_done) {
  if (setjmp(c->fail))
    return 1;
  load(c);
  read_headers(c);
  read_symbols(c);
  read_notes(c);
  if (c->nrecs == 0 && !opt.json) {
    printf("no preempt stack maps in %s\n", c->path);
    return 0;
  }
  resolve_sites(c);
  add_lines(c);
  for (size_t i = 0; i < c->nrecs; i++)
    *shown += c->recs[i].shown;
  if (opt.json) {
    print_json(c, stdout);
    *json_done = true;
  } else {
    print_text(c, stdout);
  }
  return 0;
}

static void usage(FILE *out) {
  fprintf(out,
          "usage: " TOOL " [options] FILE...\n"
          "Prints the preempt stack maps (.note.preempt) of ELF objects,\n"
          "executables and shared libraries.\n"
          "\n"
          "  --summary          only the size summary\n"
          "  --json             machine-readable output\n"
          "  --function NAME    only the records of function NAME\n"
          "  --no-lines         do not look up source lines\n"
          "  --symbolizer PATH  llvm-symbolizer to run (default " DEFAULT_SYMBOLIZER
          ")\n"
          "  --help             this text\n");
}

int main(int argc, char **argv) {
  const char **files = calloc((size_t)argc, sizeof *files);
  size_t nfiles = 0;
  if (!files)
    return 1;
  bool dashdash = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (dashdash || a[0] != '-' || !a[1]) {
      files[nfiles++] = a;
    } else if (!strcmp(a, "--")) {
      dashdash = true;
    } else if (!strcmp(a, "--summary")) {
      opt.summary_only = true;
    } else if (!strcmp(a, "--json")) {
      opt.json = true;
    } else if (!strcmp(a, "--no-lines")) {
      opt.no_lines = true;
    } else if (!strcmp(a, "--function") || !strcmp(a, "--symbolizer")) {
      if (i + 1 >= argc) {
        fprintf(stderr, TOOL ": %s needs an argument\n", a);
        free(files);
        return 2;
      }
      if (!strcmp(a, "--function"))
        opt.function = argv[++i];
      else
        opt.symbolizer = argv[++i];
    } else if (!strncmp(a, "--function=", 11)) {
      opt.function = a + 11;
    } else if (!strncmp(a, "--symbolizer=", 13)) {
      opt.symbolizer = a + 13;
    } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      free(files);
      return 0;
    } else {
      fprintf(stderr, TOOL ": unknown option %s\n", a);
      usage(stderr);
      free(files);
      return 2;
    }
  }
  if (nfiles == 0) {
    usage(stderr);
    free(files);
    return 2;
  }
  int status = 0;
  size_t shown = 0, total = 0;
  bool json_array = opt.json && nfiles > 1;
  if (json_array)
    fputs("[", stdout);
  for (size_t i = 0; i < nfiles; i++) {
    struct ctx *c = calloc(1, sizeof *c);
    if (!c) {
      fprintf(stderr, TOOL ": out of memory\n");
      status = 1;
      break;
    }
    c->path = files[i];
    if (!opt.json && nfiles > 1 && i > 0)
      fputc('\n', stdout);
    bool json_done = false;
    if (json_array && i > 0)
      fputs(",\n", stdout);
    if (process(c, &shown, &json_done) != 0) {
      status = 1;
      if (opt.json) {
        /* Keep the output valid JSON: an entry with the error. */
        fputs("{\"file\":", stdout);
        json_str(stdout, c->path);
        fputs(",\"error\":true}", stdout);
      }
    } else if (opt.json && !json_done) {
      print_json(c, stdout);
    }
    if (opt.json && !json_array)
      fputc('\n', stdout);
    total += c->nrecs;
    cleanup(c);
    free(c);
  }
  if (json_array)
    fputs("]\n", stdout);
  if (opt.function && status == 0 && total > 0 && shown == 0) {
    fprintf(stderr, TOOL ": no stack map records in function '%s'\n",
            opt.function);
    status = 1;
  }
  free(files);
  if (fflush(stdout) != 0 || ferror(stdout))
    status = 1;
  return status;
}
