/* preempt-heap: what is keeping this memory alive, from heap snapshots
 * (runtime/snapshot_format.h, written by preempt_heap_snapshot).  Only the
 * command line: the reports are report.h's.
 *
 *   preempt-heap top FILE [-n N] [--json]
 *   preempt-heap why FILE (ADDRESS | TYPE) [--json]
 *   preempt-heap diff OLD NEW [-n N] [--paths K] [--json | --html]
 *   preempt-heap pprof FILE [-o OUT]
 *   preempt-heap html FILE [-n N] [-o OUT]
 *
 * Exit status: 0 done, 1 a file could not be read (or no such object),
 * 2 bad usage. */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: preempt-heap top FILE [-n N] [--json]\n"
    "       preempt-heap why FILE (ADDRESS | TYPE) [--json]\n"
    "       preempt-heap diff OLD NEW [-n N] [--paths K] [--json | --html]\n"
    "       preempt-heap pprof FILE [-o OUT]\n"
    "       preempt-heap html FILE [-n N] [-o OUT]\n"
    "  top   per type: objects, bytes and retained bytes, largest first\n"
    "  why   the shortest path from a root keeping ADDRESS (an object's\n"
    "        start or inside it) alive, or the TYPE's largest-retaining object\n"
    "  diff  per-type growth from OLD to NEW, and why new objects of the\n"
    "        K (default 3) fastest-growing types are alive (--html: as a\n"
    "        page like html's)\n"
    "  pprof top as a profile for `go tool pprof` (objects, space and\n"
    "        retained bytes per type and retention path)\n"
    "  html  top as one self-contained page: chart, searchable table and\n"
    "        the retention paths of the N largest types\n"
    "  -o OUT writes to OUT instead of standard output\n";

static int usage(const char *fmt, const char *arg) {
  fprintf(stderr, "preempt-heap: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n%s", usage_text);
  return 2;
}

/* Loads and analyses path; NULL after saying why. */
static struct preempt_heap_analysis *open_snapshot(const char *path) {
  char err[512];
  struct preempt_heap_analysis *a =
      preempt_heap_analyze_file(path, err, sizeof err);
  if (!a) {
    fprintf(stderr, "preempt-heap: %s\n", err);
    return NULL;
  }
  if (a->dom.nunreached)
    fprintf(stderr, "preempt-heap: %s: %zu objects (%" PRIu64 " bytes) are "
            "unreachable from any root; they are left out\n", path,
            a->dom.nunreached, a->dom.unreached_bytes);
  return a;
}

/* out_path (stdout if NULL), or NULL after saying why. */
static FILE *open_output(const char *out_path) {
  if (!out_path)
    return stdout;
  FILE *f = fopen(out_path, "wb");
  if (!f)
    fprintf(stderr, "preempt-heap: %s: %s\n", out_path, strerror(errno));
  return f;
}

static int close_output(FILE *f, const char *out_path) {
  int bad = ferror(f) | fflush(f);
  if (f != stdout)
    bad |= fclose(f);
  if (bad) {
    fprintf(stderr, "preempt-heap: %s: write failed: %s\n",
            out_path ? out_path : "standard output", strerror(errno));
    return 1;
  }
  return 0;
}

static int report_done(int rc, const char *err) {
  if (rc) {
    fprintf(stderr, "preempt-heap: %s\n", err);
    return 1;
  }
  return 0;
}

static int parse_count(const char *opt, const char *v, size_t *out) {
  char *end;
  errno = 0;
  if (!v || !*v || *v == '-')
    return usage("%s needs a number", opt);
  unsigned long long n = strtoull(v, &end, 10);
  if (*end || errno)
    return usage("bad number for %s", opt);
  *out = (size_t)n;
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2)
    return usage("%s", "missing command");
  const char *cmd = argv[1];
  if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
    fputs(usage_text, stdout);
    return 0;
  }
  if (!strcmp(cmd, "selftest")) /* hidden: dominators vs a naive solver */
    return preempt_heap_selftest(argc > 2 ? atoi(argv[2]) : 300) ? 1 : 0;
  const char *pos[3];
  size_t npos = 0, limit = SIZE_MAX, npaths = 3; /* SIZE_MAX: default */
  const char *out_path = NULL;
  enum preempt_heap_format fmt = PREEMPT_HEAP_TEXT;
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--json"))
      fmt = PREEMPT_HEAP_JSON;
    else if (!strcmp(a, "--html") && !strcmp(cmd, "diff"))
      fmt = PREEMPT_HEAP_HTML;
    else if (!strcmp(a, "-n")) {
      if (parse_count("-n", i + 1 < argc ? argv[++i] : NULL, &limit))
        return 2;
    } else if (!strcmp(a, "--paths")) {
      if (parse_count("--paths", i + 1 < argc ? argv[++i] : NULL, &npaths))
        return 2;
    } else if (!strcmp(a, "-o")) {
      if (i + 1 >= argc || !argv[i + 1][0])
        return usage("%s", "-o needs a file name");
      out_path = argv[++i];
    } else if (a[0] == '-' && a[1])
      return usage("unknown option %s", a);
    else if (npos < 3)
      pos[npos++] = a;
    else
      return usage("too many arguments (%s)", a);
  }
  char err[512] = "";
  int rc;
  FILE *out;
  if (!strcmp(cmd, "pprof") || !strcmp(cmd, "html")) {
    if (fmt != PREEMPT_HEAP_TEXT)
      return usage("%s", "--json is for top, why and diff");
    fmt = cmd[0] == 'p' ? PREEMPT_HEAP_PPROF : PREEMPT_HEAP_HTML;
    if (fmt == PREEMPT_HEAP_HTML && limit == SIZE_MAX)
      limit = 10; /* bars and paths shown */
  }
  if (limit == SIZE_MAX)
    limit = 25;
  if (!strcmp(cmd, "top") || !strcmp(cmd, "pprof") || !strcmp(cmd, "html")) {
    if (npos != 1)
      return usage("%s takes one FILE", cmd);
    struct preempt_heap_analysis *a = open_snapshot(pos[0]);
    if (!a || !(out = open_output(out_path))) {
      preempt_heap_analysis_free(a);
      return 1;
    }
    rc = preempt_heap_report_top(out, a, limit, fmt, err, sizeof err);
    preempt_heap_analysis_free(a);
    return report_done(rc, err) | close_output(out, out_path);
  }
  if (!strcmp(cmd, "why")) {
    if (npos != 2)
      return usage("%s", "why takes FILE and an ADDRESS or TYPE");
    struct preempt_heap_analysis *a = open_snapshot(pos[0]);
    if (!a || !(out = open_output(out_path))) {
      preempt_heap_analysis_free(a);
      return 1;
    }
    rc = preempt_heap_report_why(out, a, pos[1], fmt, err, sizeof err);
    preempt_heap_analysis_free(a);
    return report_done(rc, err) | close_output(out, out_path);
  }
  if (!strcmp(cmd, "diff")) {
    if (npos != 2)
      return usage("%s", "diff takes OLD and NEW files");
    struct preempt_heap_analysis *o = open_snapshot(pos[0]);
    struct preempt_heap_analysis *n = o ? open_snapshot(pos[1]) : NULL;
    if (!o || !n || !(out = open_output(out_path))) {
      preempt_heap_analysis_free(o);
      preempt_heap_analysis_free(n);
      return 1;
    }
    rc = preempt_heap_report_diff(out, o, n, limit, npaths, fmt, err,
                                  sizeof err);
    preempt_heap_analysis_free(o);
    preempt_heap_analysis_free(n);
    return report_done(rc, err) | close_output(out, out_path);
  }
  return usage("unknown command %s", cmd);
}
