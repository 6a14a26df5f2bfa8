/* Writes a random heap snapshot for measuring preempt-heap:
 *   gen_random N OUT   N objects, ~2 edges each, 16 types, 1000 roots.
 * Objects are written in address order as the runtime's heap walk does;
 * edges mostly point nearby (lists, trees) with some long-range ones.
 * Build: cc -O2 -I runtime tools/heap/test/gen_random.c -o gen_random */
#include "snapshot_format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 88172645463325252u;
static uint64_t next(void) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return rng;
}

static void record(FILE *f, int tag, const uint8_t *p, size_t n) {
  uint8_t h[11], *e = h;
  *e++ = (uint8_t)tag;
  e = preempt_snap_put_uleb(e, n);
  fwrite(h, 1, (size_t)(e - h), f);
  fwrite(p, 1, n, f);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: gen_random N OUT\n");
    return 2;
  }
  uint64_t n = strtoull(argv[1], NULL, 0);
  FILE *f = fopen(argv[2], "wb");
  if (!f || !n)
    return 1;
  setvbuf(f, NULL, _IOFBF, 1 << 20);
  fwrite(PREEMPT_SNAP_MAGIC, 1, 8, f);
  uint8_t buf[256], *p;
  for (int t = 0; t < 16; t++) {
    char name[32];
    int l = snprintf(name, sizeof name, "Type%d", t);
    p = preempt_snap_put_uleb(buf, (uint64_t)t);
    p = preempt_snap_put_uleb(p, (uint64_t)l);
    memcpy(p, name, (size_t)l);
    record(f, PREEMPT_SNAP_TYPE, buf, (size_t)(p + l - buf));
  }
  const uint64_t base = 0x7f0000000000u;
  for (uint64_t i = 0; i < n; i++) {
    uint64_t ne = next() % 5; /* 0..4: 2 on average */
    p = preempt_snap_put_uleb(buf, base + 64 * i);
    p = preempt_snap_put_uleb(p, 8 * (ne + 1) + 8 * (next() % 4));
    p = preempt_snap_put_uleb(p, next() % 16);
    p = preempt_snap_put_uleb(p, 0);
    p = preempt_snap_put_uleb(p, ne);
    for (uint64_t e = 0; e < ne; e++) {
      uint64_t r = next(), t;
      if (r % 4) /* near: a list or tree neighbour */
        t = (i + 1 + (r >> 8) % 64) % n;
      else
        t = (r >> 8) % n;
      p = preempt_snap_put_uleb(p, 8 * e);
      p = preempt_snap_put_uleb(p, base + 64 * t);
    }
    record(f, PREEMPT_SNAP_OBJECT, buf, (size_t)(p - buf));
  }
  for (uint64_t r = 0; r < 1000; r++) {
    p = preempt_snap_put_uleb(buf, PREEMPT_ROOT_STACK);
    p = preempt_snap_put_uleb(p, base + 64 * (next() % n));
    p = preempt_snap_put_uleb(p, 0x7ffd0000 + 8 * r);
    p = preempt_snap_put_uleb(p, 1);
    p = preempt_snap_put_uleb(p, 0);
    p = preempt_snap_put_uleb(p, 0);
    record(f, PREEMPT_SNAP_ROOT, buf, (size_t)(p - buf));
  }
  buf[0] = 0;
  record(f, PREEMPT_SNAP_END, buf, 0);
  return fclose(f) != 0;
}
