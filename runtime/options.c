/* The one environment variable: PREEMPT=key=value,key=value
 *   gc=N|off    collect when the heap grows N% over live data (default 100)
 *   minheap=S   never collect automatically below S bytes (default 4m)
 *   limit=S     heap address space to reserve (default 64g)
 *   poison=1    fill freed objects with 0xdb (tests, debugging)
 *   verify=1    check that freed objects stay untouched until reused
 *   oom=null    return NULL when out of memory instead of aborting
 *   retain=S    keep room for the heap's recent peak, halving every S
 *               seconds (default 10; 0: size the heap from live data only)
 *   verbose=1   one line per collection on stderr
 * S takes a k, m or g suffix. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

struct preempt_options preempt_opts = {
    .gc_percent = 100,
    .min_heap = (size_t)4 << 20,
    .heap_limit = (size_t)64 << 30,
    .retain_s = 10,
};

static bool parse_size(const char *s, size_t len, size_t *out) {
  char buf[32];
  if (len == 0 || len >= sizeof buf)
    return false;
  memcpy(buf, s, len);
  buf[len] = 0;
  char *end;
  unsigned long long v = strtoull(buf, &end, 10);
  switch (*end) {
  case 'k': case 'K': v <<= 10; end++; break;
  case 'm': case 'M': v <<= 20; end++; break;
  case 'g': case 'G': v <<= 30; end++; break;
  }
  if (*end || end == buf)
    return false;
  *out = (size_t)v;
  return true;
}

static bool parse_int(const char *s, size_t len, int *out) {
  size_t v;
  if (len == 3 && !memcmp(s, "off", 3)) {
    *out = -1;
    return true;
  }
  if (!parse_size(s, len, &v) || v > 1000000)
    return false;
  *out = (int)v;
  return true;
}

void preempt_options_init(void) {
  const char *env = getenv("PREEMPT");
  if (!env)
    return;
  for (const char *p = env; *p;) {
    const char *end = strchr(p, ',');
    if (!end)
      end = p + strlen(p);
    const char *eq = memchr(p, '=', (size_t)(end - p));
    size_t klen = eq ? (size_t)(eq - p) : (size_t)(end - p);
    const char *val = eq ? eq + 1 : end;
    size_t vlen = (size_t)(end - val);
    int b = 0;
    bool ok = true;
#define KEY(k) (klen == sizeof(k) - 1 && !memcmp(p, k, klen))
    if (KEY("gc"))
      ok = parse_int(val, vlen, &preempt_opts.gc_percent);
    else if (KEY("minheap"))
      ok = parse_size(val, vlen, &preempt_opts.min_heap);
    else if (KEY("limit"))
      ok = parse_size(val, vlen, &preempt_opts.heap_limit);
    else if (KEY("poison"))
      ok = parse_int(val, vlen, &b), preempt_opts.poison = b > 0;
    else if (KEY("verify"))
      ok = parse_int(val, vlen, &b), preempt_opts.verify = b > 0;
    else if (KEY("retain")) {
      int r = 0;
      ok = parse_int(val, vlen, &r);
      preempt_opts.retain_s = r < 0 ? 0 : r;
    } else if (KEY("verbose"))
      ok = parse_int(val, vlen, &preempt_opts.verbose);
    else if (KEY("oom")) {
      if (vlen == 4 && !memcmp(val, "null", 4))
        preempt_opts.oom_null = true;
      else if (vlen == 5 && !memcmp(val, "abort", 5))
        preempt_opts.oom_null = false;
      else
        ok = false;
    }
    else
      preempt_warn("PREEMPT: unknown setting '%.*s' ignored (known: gc, "
                   "minheap, limit, retain, poison, verify, oom, verbose)",
                   (int)klen, p);
#undef KEY
    if (!ok)
      preempt_warn("PREEMPT: bad value '%.*s' for '%.*s' ignored", (int)vlen,
                   val, (int)klen, p);
    if (preempt_opts.verify)
      preempt_opts.poison = true;
    p = *end ? end + 1 : end;
  }
}
