/* preempt-maps: text and JSON output.  bench/ and tests read both: keep
 * them compatible. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* open_memstream */
#endif
#include "maps.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* DWARF register names from the architecture header. */
const char *reg_name(unsigned r) {
  static const char *const names[] = PREEMPT_DWARF_REG_NAMES;
  return r < sizeof names / sizeof names[0] ? names[r] : "?";
}

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

void print_text(const struct ctx *c, FILE *out) {
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
      /* No locations in the file at all: locs is NULL. */
      const struct preempt_loc *l = c->locs ? &c->locs[r->loc0] : NULL;
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
void json_str(FILE *out, const char *str) {
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

void print_json(const struct ctx *c, FILE *out) {
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
      const struct preempt_loc *l = c->locs ? &c->locs[r->loc0] : NULL;
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
    print_unsafe_json(c, out);
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
