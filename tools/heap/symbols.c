/* Symbols for frame return addresses and global slots, through elfutils'
 * libdwfl: each MODULE record is reported as an ELF file at its load bias.
 * A module whose file is gone (or unreadable) is skipped, and addresses in
 * it are printed raw. */
#define _GNU_SOURCE
#include "heap.h"

#include <elfutils/libdwfl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct preempt_syms {
  Dwfl *dwfl;
};

static char *debuginfo_path;
static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &debuginfo_path,
};

struct preempt_syms *preempt_syms_open(const struct preempt_snap *s) {
  struct preempt_syms *y = calloc(1, sizeof *y);
  if (!y)
    return NULL;
  y->dwfl = dwfl_begin(&callbacks);
  if (!y->dwfl)
    return y;
  dwfl_report_begin(y->dwfl);
  for (size_t i = 0; i < s->nmodules; i++) {
    const struct preempt_snap_module *m = &s->modules[i];
    if (!m->path[0])
      continue;
    /* The bias is where the file's address 0 landed. */
    dwfl_report_elf(y->dwfl, m->path, m->path, -1, m->bias, false);
  }
  dwfl_report_end(y->dwfl, NULL, NULL);
  return y;
}

const char *preempt_syms_describe(struct preempt_syms *y, uint64_t addr,
                                  bool code, char *buf, size_t len) {
  snprintf(buf, len, "0x%" PRIx64, addr);
  if (!y || !y->dwfl || !addr)
    return buf;
  /* A return address may be just past its function: look up the call. */
  Dwarf_Addr look = code ? addr - 1 : addr;
  Dwfl_Module *mod = dwfl_addrmodule(y->dwfl, look);
  if (!mod)
    return buf;
  GElf_Off off;
  GElf_Sym sym;
  const char *name =
      dwfl_module_addrinfo(mod, look, &off, &sym, NULL, NULL, NULL);
  if (!name)
    return buf;
  if (code)
    off += 1;
  size_t n = (size_t)snprintf(buf, len, "%s+0x%" PRIx64, name, (uint64_t)off);
  if (code && n < len) {
    Dwfl_Line *line = dwfl_module_getsrc(mod, look);
    int lineno;
    const char *file = line ? dwfl_lineinfo(line, NULL, &lineno, NULL, NULL,
                                            NULL)
                            : NULL;
    if (file) {
      const char *base = strrchr(file, '/');
      snprintf(buf + n, len - n, " (%s:%d)", base ? base + 1 : file, lineno);
    }
  }
  return buf;
}

void preempt_syms_close(struct preempt_syms *y) {
  if (!y)
    return;
  if (y->dwfl)
    dwfl_end(y->dwfl);
  free(y);
}
