/* False retention, precise vs conservative (bench/layouts/run.py).
 *
 * Usage: retention RECORDS FRACTION
 *
 * Builds a list of RECORDS records (preempt_new(struct rec): a next
 * pointer, 14 doubles, 16 bytes of text), reachable from a global.  The
 * doubles and bytes are random; in a FRACTION of the records the first
 * double instead holds the exact bits of the address of a 64 KiB buffer
 * the program allocated and dropped at once (a pointer hashed or
 * serialised into a number, a stale handle).  Then it collects twice and
 * prints what is still alive:
 *
 *   RESULT records=R blobs=B blobs_retained=K live_bytes=L
 *
 * Built with the plugin, records are scanned by their type's layout, so a
 * double keeps nothing; built with -fplugin-arg-preempt-no-layouts, every
 * word is a possible pointer.  The list itself must survive either way:
 * it is checked, and a broken list exits with status 1. */
#include <preempt.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rec {
  struct rec *next;
  double samples[14];
  char text[16];
  uint64_t id;
};

static struct rec *head;

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s RECORDS FRACTION\n", argv[0]);
    return 2;
  }
  long n = atol(argv[1]);
  double fraction = atof(argv[2]);
  /* Blob addresses, hidden from the collector (malloc memory is not
   * scanned), to count the ones still alive at the end. */
  uintptr_t *blobs = malloc(sizeof *blobs * (size_t)(n + 1));
  long nblobs = 0;
  srand48(12345);
  for (long i = 0; i < n; i++) {
    struct rec *r = preempt_new(struct rec);
    for (int k = 0; k < 14; k++)
      r->samples[k] = drand48() * 1e6;
    for (int k = 0; k < 16; k++)
      r->text[k] = (char)(lrand48() & 0xff);
    r->id = (uint64_t)i;
    r->next = head;
    head = r;
  }
  /* The buffers last, so that no record reuses a freed buffer's memory
   * and preempt_is_heap_object tells which ones are still allocated. */
  for (struct rec *r = head; r; r = r->next)
    if (drand48() < fraction) {
      void *blob = preempt_alloc_noscan(64 << 10);
      uintptr_t bits = (uintptr_t)blob;
      memcpy(&r->samples[0], &bits, sizeof bits);
      blobs[nblobs++] = bits ^ 1; /* not a pointer any more */
    }
  preempt_gc();
  preempt_gc();
  long retained = 0;
  for (long i = 0; i < nblobs; i++)
    retained += preempt_is_heap_object((void *)(blobs[i] ^ 1)) != 0;
  long count = 0;
  for (struct rec *r = head; r; r = r->next, count++)
    if (r->id != (uint64_t)(n - 1 - count))
      return fprintf(stderr, "record %ld lost\n", count), 1;
  if (count != n)
    return fprintf(stderr, "%ld records of %ld\n", count, n), 1;
  struct preempt_stats st;
  preempt_read_stats(&st);
  printf("RESULT records=%ld blobs=%ld blobs_retained=%ld live_bytes=%llu\n",
         count, nblobs, retained, (unsigned long long)st.heap_live_bytes);
  free(blobs);
  return 0;
}
