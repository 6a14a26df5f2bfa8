/* libhomfly workload for bench/gccompat/run.py: the links of libhomfly's
 * own test data (test/data.txt: name, link, expected polynomial, three
 * lines per link), each computed REPEAT times in turn, every result
 * checked against the expected one.  Linked with libhomfly's lib/*.c,
 * built either with `clang-19 ... -lgc` or `preempt-cc --gc`.
 *
 * Usage: homfly_bench DATA [REPEAT]            (default 100)
 *
 * Prints `checksum N` (the results' lengths summed) on stdout and, last on
 * stderr,
 *   STATS collections=N total_pause_ns=T max_pause_ns=M links=L
 * with pauses timed from GC_EVENT_START to GC_EVENT_END by a
 * GC_set_on_collection_event callback (-1 when the callback never ran).
 * Exit status 1 on a wrong result. */
#include <gc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "homfly.h"

#define LINE 4096
#define MAX_LINKS 64

#include "../tools/gc_pauses.h"

static void chomp(char *s) {
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
    s[--n] = '\0';
}

int main(int argc, char **argv) {
  GC_INIT();
  GC_set_on_collection_event(on_gc_event);
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: homfly_bench DATA [REPEAT]\n");
    return 2;
  }
  long repeat = argc > 2 ? atol(argv[2]) : 100;
  FILE *f = fopen(argv[1], "r");
  if (!f) {
    perror(argv[1]);
    return 2;
  }
  /* The inputs are kept in malloc'd memory: homfly_str may keep nothing
   * alive from them. */
  static char *names[MAX_LINKS], *inputs[MAX_LINKS], *expected[MAX_LINKS];
  static char a[LINE], b[LINE], c[LINE];
  int n = 0;
  while (n < MAX_LINKS && fgets(a, sizeof a, f)) {
    if (!fgets(b, sizeof b, f) || !fgets(c, sizeof c, f)) {
      fprintf(stderr, "%s: a link needs three lines\n", argv[1]);
      return 2;
    }
    chomp(a);
    chomp(b);
    chomp(c);
    names[n] = strdup(a);
    inputs[n] = strdup(b);
    expected[n] = strdup(c);
    n++;
  }
  fclose(f);
  if (n == 0) {
    fprintf(stderr, "%s: no links\n", argv[1]);
    return 2;
  }
  unsigned long long checksum = 0;
  for (long r = 0; r < repeat; r++)
    for (int i = 0; i < n; i++) {
      char *out = homfly_str(inputs[i]);
      if (!out || strcmp(out, expected[i]) != 0) {
        fprintf(stderr, "homfly_bench: %s (repeat %ld): got %s\n",
                names[i], r, out ? out : "(null)");
        return 1;
      }
      checksum += strlen(out);
    }
  printf("checksum %llu\n", checksum);
  fflush(stdout);
  fprintf(stderr,
          "STATS collections=%llu total_pause_ns=%lld max_pause_ns=%lld "
          "links=%d\n",
          (unsigned long long)GC_get_gc_no(), gc_events ? gc_total_ns : -1,
          gc_events ? gc_max_ns : -1, n);
  return 0;
}
