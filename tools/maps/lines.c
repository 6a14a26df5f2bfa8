/* preempt-maps: source lines and inlining of each call site, read from the
 * file's DWARF with libdw (elfutils).  libdwfl lays out the sections of a
 * relocatable object at distinct addresses and applies the relocations of
 * its DWARF, so objects, executables and libraries are read alike. */
#include "maps.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static bool has_debug_info(const struct ctx *c) {
  for (size_t i = 1; i < c->nsh; i++) {
    const char *n = sec_name(c, i);
    if (!strcmp(n, ".debug_line") || !strcmp(n, ".zdebug_line"))
      return true;
  }
  return false;
}

static char *debuginfo_path = NULL;
static const Dwfl_Callbacks callbacks = {
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &debuginfo_path,
};

/* A DIE's name, through its abstract origin for an inlined copy. */
static const char *die_name(Dwarf_Die *die) {
  Dwarf_Attribute at;
  const char *n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &at));
  if (!n)
    n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &at));
  return n;
}

/* The function inlined at addr, innermost first, or NULL when the code
 * there belongs to the function itself. */
static const char *inlined_at(Dwarf_Die *cu, Dwarf_Addr addr) {
  Dwarf_Die *scopes = NULL;
  int n = dwarf_getscopes(cu, addr, &scopes);
  const char *name = NULL;
  for (int i = 0; i < n; i++) {
    int tag = dwarf_tag(&scopes[i]);
    if (tag == DW_TAG_inlined_subroutine) {
      name = die_name(&scopes[i]);
      break;
    }
    if (tag == DW_TAG_subprogram)
      break;
  }
  free(scopes);
  return name;
}

/* The compilation unit covering addr.  elfutils 0.188 finds units through
 * .debug_aranges, which clang does not write: ask each unit instead. */
static bool find_cu(Dwarf *dw, Dwarf_Addr addr, Dwarf_Die *out) {
  Dwarf_Off off = 0, next;
  size_t hsize;
  while (dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
    if (dwarf_offdie(dw, off + hsize, out) && dwarf_haspc(out, addr) == 1)
      return true;
    off = next;
  }
  return false;
}

void add_lines(struct ctx *c) {
  if (opt.no_lines || opt.summary_only || !has_debug_info(c))
    return;
  c->dwfl = dwfl_begin(&callbacks);
  if (!c->dwfl) {
    warn(c, "no source lines: %s", dwfl_errmsg(-1));
    return;
  }
  dwfl_report_begin(c->dwfl);
  Dwfl_Module *mod = dwfl_report_offline(c->dwfl, c->path, c->path, -1);
  dwfl_report_end(c->dwfl, NULL, NULL);
  GElf_Addr bias = 0;
  Dwarf_Addr dwbias = 0;
  Elf *elf = mod ? dwfl_module_getelf(mod, &bias) : NULL;
  Dwarf *dw = elf ? dwfl_module_getdwarf(mod, &dwbias) : NULL;
  if (!dw) {
    warn(c, "no source lines: %s", dwfl_errmsg(-1));
    return;
  }
  Dwarf_Die cu;
  bool have_cu = false;
  for (size_t i = 0; i < c->nrecs; i++) {
    struct rec *r = &c->recs[i];
    if (!r->shown || r->addr == 0)
      continue;
    Dwarf_Addr a = r->addr - 1; /* inside the call instruction */
    if (c->rel) {
      /* libdwfl gave each section of the object its own address. */
      GElf_Shdr sh;
      Elf_Scn *scn = elf_getscn(elf, r->sec);
      if (!scn || !gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_EXECINSTR))
        continue;
      a += sh.sh_addr + bias - dwbias;
    }
    if (!(have_cu && dwarf_haspc(&cu, a) == 1) && !(have_cu = find_cu(dw, a, &cu)))
      continue;
    Dwarf_Line *line = dwarf_getsrc_die(&cu, a);
    int lineno = 0, col = 0;
    const char *file = line ? dwarf_linesrc(line, NULL, NULL) : NULL;
    if (!file || dwarf_lineno(line, &lineno) != 0 || lineno <= 0)
      continue;
    dwarf_linecol(line, &col);
    r->srcfile = pool_add(c, file);
    r->line = (unsigned)lineno;
    r->col = col > 0 ? (unsigned)col : 0;
    const char *in = inlined_at(&cu, a);
    if (in && (r->fn == NONE || strcmp(in, str(c, r->fn))))
      r->inlined = pool_add(c, in);
  }
}

void lines_cleanup(struct ctx *c) {
  if (c->dwfl)
    dwfl_end(c->dwfl);
  c->dwfl = NULL;
}
