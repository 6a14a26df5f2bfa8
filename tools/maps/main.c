/* preempt-maps: prints the preempt stack maps (runtime/map_format.h) of an
 * ELF file in human terms, as JSON, or as a size summary.
 *
 *   preempt-maps [--summary] [--json] [--function NAME] [--no-lines] FILE...
 *   preempt-maps --pc ADDR [--pc ADDR...] FILE
 *
 * Works on relocatable objects (return addresses come from the relocations
 * of .note.preempt), executables (PIE or not) and shared libraries.  The
 * notes are checked by the runtime's own validator (runtime/mapfile.c);
 * source lines and inlining come from the DWARF, through libdw. */
#include "maps.h"

#include <stdlib.h>
#include <string.h>

struct options opt;

/* 0: maps printed (or none), 1: error; *shown: records printed. */
static int process(struct ctx *c, size_t *shown, bool *json_done) {
  if (setjmp(c->fail))
    return 1;
  open_file(c);
  read_headers(c);
  read_symbols(c);
  read_notes(c);
  if (opt.npcs) {
    resolve_unsafe(c);
    return answer_pcs(c, stdout);
  }
  if (c->nrecs == 0 && c->nuranges == 0 && !opt.json) {
    printf("no preempt stack maps in %s\n", c->path);
    return 0;
  }
  resolve_sites(c);
  resolve_unsafe(c);
  add_lines(c);
  for (size_t i = 0; i < c->nrecs; i++)
    *shown += c->recs[i].shown;
  if (opt.json) {
    print_json(c, stdout);
    *json_done = true;
  } else {
    print_text(c, stdout);
    print_unsafe_text(c, stdout);
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
          "  --pc ADDR          is the instruction at ADDR an asynchronous\n"
          "                     safe point, and if not why (repeatable)\n"
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
    } else if (!strcmp(a, "--function")) {
      if (i + 1 >= argc) {
        fprintf(stderr, TOOL ": %s needs an argument\n", a);
        free(files);
        return 2;
      }
      opt.function = argv[++i];
    } else if (!strcmp(a, "--pc") || !strncmp(a, "--pc=", 5)) {
      if (a[4] == '\0' && i + 1 >= argc) {
        fprintf(stderr, TOOL ": %s needs an argument\n", a);
        free(files);
        free(opt.pcs);
        return 2;
      }
      const char **grown = realloc(opt.pcs, (opt.npcs + 1) * sizeof *grown);
      if (!grown) {
        free(files);
        free(opt.pcs);
        return 1;
      }
      opt.pcs = grown;
      opt.pcs[opt.npcs++] = a[4] == '=' ? a + 5 : argv[++i];
    } else if (!strncmp(a, "--function=", 11)) {
      opt.function = a + 11;
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
  if (opt.npcs && (nfiles != 1 || opt.json)) {
    fprintf(stderr, TOOL ": --pc takes one file and no --json\n");
    free(files);
    free(opt.pcs);
    return 2;
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
    c->fd = -1;
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
    free_file(c);
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
  free(opt.pcs);
  if (fflush(stdout) != 0 || ferror(stdout))
    status = 1;
  return status;
}
