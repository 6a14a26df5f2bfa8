/* preempt-maps: the unsafe-point tables (PREEMPT_NOTE_UNSAFE, decoded in
 * decode.c), printed per function, and --pc ADDR: whether the instruction
 * at ADDR is an asynchronous safe point (a place where the runtime's stop
 * signal may stop a thread) and, if not, why.
 *
 * The reasons, all that apply:
 *   - "unsafe range from source line L": preempt_unsafe_begin/end;
 *   - "pointer held as an integer (unsafe range from source line L)": a
 *     range the plugin found itself;
 *   - "function marked preempt_unsafe";
 *   - "runtime critical section": the runtime's own code, where a thread is
 *     stopped only outside its critical sections (the runtime knows which
 *     at run time, not the file).  The runtime is recognised by its
 *     symbols: a function named preempt_* in a file that defines
 *     preempt_safepoint (a program linked with libpreempt.a, or
 *     libpreempt.so itself, where all code counts);
 *   - "no unwind information (no FDE in .eh_frame)": the stack could not be
 *     walked from there.
 * Relocatable objects have no addresses yet: --pc needs a linked file. */
#include "maps.h"

#include <elfutils/libdw.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void resolve_unsafe(struct ctx *c) {
  for (size_t i = 0; i < c->nuranges; i++) {
    struct urange *u = &c->uranges[i];
    const struct fsym *f = find_func(c, u->sec, u->start);
    if (f) {
      u->fn = pool_add(c, f->name);
      u->fnoff = u->start - f->value;
    }
  }
}

static const char *kind_text(uint16_t kind) {
  switch (kind) {
  case PREEMPT_UNSAFE_RANGE:
    return "marked range";
  case PREEMPT_UNSAFE_FUNCTION:
    return "function marked preempt_unsafe";
  case PREEMPT_UNSAFE_AUTO:
    return "pointer held as an integer";
  default:
    return "unknown kind";
  }
}

static bool shown(const struct ctx *c, const struct urange *u) {
  return !opt.function || (u->fn != NONE && !strcmp(str(c, u->fn), opt.function));
}

static void print_span(const struct ctx *c, FILE *out, const struct urange *u) {
  if (c->rel)
    fprintf(out, "%s+0x%" PRIx64 "-0x%" PRIx64, sec_name(c, u->sec), u->start,
            u->end);
  else
    fprintf(out, "0x%" PRIx64 "-0x%" PRIx64, u->start, u->end);
}

void print_unsafe_text(const struct ctx *c, FILE *out) {
  if (opt.summary_only) {
    if (c->nuranges)
      fprintf(out, "unsafe ranges %zu in %" PRIu32 " note%s, %" PRIu64
                   " bytes\n",
              c->nuranges, c->nunsafe_notes, c->nunsafe_notes == 1 ? "" : "s",
              c->unsafe_note_bytes);
    return;
  }
  if (!c->nuranges)
    return;
  fprintf(out, "unsafe ranges (no asynchronous stop): %zu in %" PRIu32
               " note%s, %" PRIu64 " bytes\n",
          c->nuranges, c->nunsafe_notes, c->nunsafe_notes == 1 ? "" : "s",
          c->unsafe_note_bytes);
  size_t cur_fn = NONE - 1;
  for (size_t i = 0; i < c->nuranges; i++) {
    const struct urange *u = &c->uranges[i];
    if (!shown(c, u))
      continue;
    if (u->fn != cur_fn) {
      fprintf(out, "function %s\n", u->fn != NONE ? str(c, u->fn) : "?");
      cur_fn = u->fn;
    }
    fprintf(out, "  ");
    print_span(c, out, u);
    if (u->fn != NONE)
      fprintf(out, " %s+0x%" PRIx64, str(c, u->fn), u->fnoff);
    fprintf(out, " (%" PRIu64 " bytes): %s", u->end - u->start, kind_text(u->kind));
    if (u->line)
      fprintf(out, ", line %" PRIu32, u->line);
    fputc('\n', out);
  }
  fputc('\n', out);
}

void print_unsafe_json(const struct ctx *c, FILE *out) {
  fputs(",\"unsafe\":[", out);
  bool first = true;
  for (size_t i = 0; i < c->nuranges; i++) {
    const struct urange *u = &c->uranges[i];
    if (!shown(c, u))
      continue;
    fputs(first ? "\n" : ",\n", out);
    first = false;
    fputs("{\"function\":", out);
    if (u->fn != NONE) {
      json_str(out, str(c, u->fn));
      fprintf(out, ",\"function_offset\":%" PRIu64, u->fnoff);
    } else {
      fputs("null", out);
    }
    if (c->rel) {
      fputs(",\"section\":", out);
      json_str(out, sec_name(c, u->sec));
    }
    const char *k = preempt_unsafe_kind_name(u->kind);
    fprintf(out, ",\"start\":%" PRIu64 ",\"end\":%" PRIu64 ",\"kind\":\"%s\""
                 ",\"line\":%" PRIu32 "}",
            u->start, u->end, k ? k : "unknown", u->line);
  }
  fputs("]", out);
}

/* ---- --pc ---------------------------------------------------------------- */

static bool defines(const struct ctx *c, const char *name) {
  for (size_t i = 0; i < c->nfsyms; i++)
    if (c->fsyms[i].name && !strcmp(c->fsyms[i].name, name))
      return true;
  return false;
}

static bool parse_addr(const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 0);
  if (errno || end == s || *end)
    return false;
  *out = v;
  return true;
}

int answer_pcs(struct ctx *c, FILE *out) {
  if (c->rel)
    fail(c, "--pc needs a linked executable or shared library (a relocatable "
            "object has no addresses yet)");
  const char *base = strrchr(c->path, '/');
  base = base ? base + 1 : c->path;
  bool has_runtime = defines(c, "preempt_safepoint");
  bool is_runtime = has_runtime && !strncmp(base, "libpreempt", 10);
  Dwarf_CFI *cfi = dwarf_getcfi_elf(c->elf);
  int status = 0;
  for (size_t p = 0; p < opt.npcs; p++) {
    uint64_t pc;
    if (!parse_addr(opt.pcs[p], &pc)) {
      fprintf(stderr, TOOL ": --pc %s: not an address\n", opt.pcs[p]);
      status = 1;
      continue;
    }
    fprintf(out, "0x%" PRIx64, pc);
    if (!vaddr_is_code(c, pc)) {
      fprintf(out, ": not in the code of %s\n", c->path);
      status = 1;
      continue;
    }
    const struct fsym *f = find_func(c, 0, pc);
    if (f)
      fprintf(out, " (%s+0x%" PRIx64 ")", f->name, pc - f->value);
    char why[1024] = "";
    size_t len = 0;
#define REASON(...)                                                            \
  do {                                                                         \
    if (len < sizeof why)                                                      \
      len += (size_t)snprintf(why + len, sizeof why - len, "%s",               \
                              len ? "; " : "");                                \
    if (len < sizeof why)                                                      \
      len += (size_t)snprintf(why + len, sizeof why - len, __VA_ARGS__);       \
  } while (0)
    for (size_t i = 0; i < c->nuranges; i++) {
      const struct urange *u = &c->uranges[i];
      if (pc < u->start || pc >= u->end)
        continue;
      if (u->kind == PREEMPT_UNSAFE_FUNCTION)
        REASON("function marked preempt_unsafe");
      else if (u->kind == PREEMPT_UNSAFE_AUTO)
        REASON("pointer held as an integer (unsafe range from source line "
               "%" PRIu32 ")", u->line);
      else
        REASON("unsafe range from source line %" PRIu32, u->line);
    }
    if (is_runtime || (has_runtime && f && !strncmp(f->name, "preempt", 7)))
      REASON("runtime critical section (the runtime's own code: stopped "
             "there only outside its critical sections)");
    Dwarf_Frame *frame = NULL;
    if (!cfi || dwarf_cfi_addrframe(cfi, pc, &frame) != 0)
      REASON("no unwind information (no FDE in .eh_frame)");
    free(frame);
#undef REASON
    if (len)
      fprintf(out, ": not an async safe point: %s\n", why);
    else
      fprintf(out, ": async safe point\n");
  }
  if (cfi)
    dwarf_cfi_end(cfi);
  return status;
}
