/* preempt-maps: what its parts share.  The parts, by job:
 *   elf.c     the ELF file, through libelf: headers, symbols, relocations
 *   decode.c  its notes, through the runtime's own reader (runtime/mapfile.c)
 *   sites.c   call sites: containing function and callee
 *   lines.c   source lines and inlining, from DWARF through libdw
 *   output.c  text and JSON
 *   main.c    options and the driver */
#ifndef PREEMPT_MAPS_H
#define PREEMPT_MAPS_H

#include "mapfile.h"

#include <gelf.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define TOOL "preempt-maps"
#define NONE SIZE_MAX /* no string in the pool */

struct options {
  bool summary_only, json, no_lines;
  const char *function; /* --function */
  const char **pcs;     /* --pc ADDR..., or NULL */
  size_t npcs;
};
extern struct options opt;

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
  size_t n, cap;
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

struct urange { /* an unsafe range (PREEMPT_NOTE_UNSAFE) */
  uint32_t note;  /* index among the file's unsafe notes */
  uint32_t sec;   /* .o: section of the range */
  uint64_t start, end; /* .o: offsets in sec; linked: virtual addresses */
  uint32_t line;
  uint16_t kind;  /* enum preempt_unsafe_kind */
  size_t fn;      /* function containing start (pool), or NONE */
  uint64_t fnoff;
};

struct ctx {
  const char *path;
  int fd;      /* -1 until opened */
  Elf *elf;
  size_t size; /* of the file */
  jmp_buf fail;

  GElf_Ehdr eh;
  bool rel; /* ET_REL */
  bool pie; /* ET_DYN with an interpreter */
  GElf_Shdr *sh; /* all nsh section headers, as libelf read them */
  size_t nsh;
  size_t shstrndx;
  GElf_Phdr *ph;
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

  struct urange *uranges;
  size_t nuranges, capuranges;
  uint32_t nunsafe_notes;
  uint64_t unsafe_note_bytes;

  uint64_t note_bytes, code_bytes, llvm_stackmaps_bytes;
  bool has_llvm_stackmaps;
  uint64_t nvalues, nregions, nfuncs;
  unsigned warnings;
  struct Dwfl *dwfl; /* source lines (lines.c), or NULL */
};

/* elf.c.  Errors longjmp to c->fail after a message naming the file. */
void fail(struct ctx *c, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 2, 3)));
void warn(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void grow(struct ctx *c, void **v, size_t *cap, size_t n, size_t elem);
void *xcalloc(struct ctx *c, size_t n, size_t elem);
size_t pool_add(struct ctx *c, const char *s);
size_t pool_printf(struct ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
const char *str(const struct ctx *c, size_t at);
bool in_file(const struct ctx *c, uint64_t off, uint64_t len);
uint32_t rd32(const uint8_t *p);
const char *sec_name(const struct ctx *c, size_t i);
const uint8_t *sec_data(struct ctx *c, size_t i);
const uint8_t *file_bytes(struct ctx *c, uint64_t off, uint64_t len);
bool get_sym(struct ctx *c, size_t symtab, uint32_t idx, GElf_Sym *out);
const char *sym_name(struct ctx *c, size_t symtab, const GElf_Sym *s);
const uint8_t *vaddr_bytes(struct ctx *c, uint64_t addr, uint64_t *avail,
                           uint64_t *start);
bool vaddr_is_code(const struct ctx *c, uint64_t addr);
void open_file(struct ctx *c);
void read_headers(struct ctx *c);
void read_symbols(struct ctx *c);
const struct fsym *find_func(const struct ctx *c, uint32_t shndx, uint64_t addr);
const struct fsym *func_at(const struct ctx *c, uint32_t shndx, uint64_t addr);
struct reltab *relocs_for(struct ctx *c, size_t target);
struct reltab *dyn_relocs(struct ctx *c);
const struct rel *reloc_at(const struct reltab *t, uint64_t off);
void free_file(struct ctx *c);

/* decode.c */
void read_notes(struct ctx *c);
/* unsafe.c: the unsafe-point tables, and --pc */
void resolve_unsafe(struct ctx *c);
void print_unsafe_text(const struct ctx *c, FILE *out);
void print_unsafe_json(const struct ctx *c, FILE *out);
int answer_pcs(struct ctx *c, FILE *out);
/* sites.c */
void resolve_sites(struct ctx *c);
/* lines.c */
void add_lines(struct ctx *c);
void lines_cleanup(struct ctx *c);
/* output.c */
const char *reg_name(unsigned r);
void print_text(const struct ctx *c, FILE *out);
void print_json(const struct ctx *c, FILE *out);
void json_str(FILE *out, const char *str);

#endif
