/* The one environment variable: PREEMPT=key=value,key=value
 *   gc=N|off    collect when the heap grows N% over live data (default 100)
 *   minheap=S   never collect automatically below S bytes (default 4m)
 *   limit=S     the heap's committed memory never exceeds S (default and
 *               address space reserved: 64g; at least 1m)
 *   poison=1    fill freed objects with 0xdb (tests, debugging)
 *   verify=1    check that freed objects stay untouched until reused
 *   oom=null    return NULL when out of memory instead of aborting
 *   retain=S    keep room for the heap's recent peak, halving every S
 *               seconds (default 10; 0: size the heap from live data only)
 *   verbose=1   one line per collection on stderr (2: every stack frame)
 *   asyncpreempt=0  stop threads only at safepoints, never by signal
 *   signal=SIG  the stop signal: SIGURG (default), SIGUSR1, SIGUSR2,
 *               SIGPWR, SIGVTALRM, SIGPROF, SIGRTMIN+N, or its number
 *   stwcheck=1  report misuse of a stopped world (a stop held longer than
 *               stwtimeout=N seconds, default 5, names its holder)
 *   trace=stw   stop-the-world statistics on stderr at exit
 *   cgocheck=1  a foreign call given a heap object that points to an
 *               unpinned heap object is fatal, naming the call site
 *   membarrier=auto|1|0  blocking transitions (foreign calls, blocking
 *               regions) without fences, ~4 ns instead of ~13, each stop
 *               then paying a membarrier (an interrupt of every CPU
 *               running one of the program's threads: ~10 us on a VM):
 *               auto (default) switches once a thread makes more than
 *               one transition per microsecond; 1 from the start; 0 never
 *   snapfork=N|off  heap snapshots of N objects or more (default 65536;
 *               0: all) are walked by a forked copy of the process, so
 *               that the pause is the stop and the fork only
 * S takes a k, m or g suffix.  Anything malformed (unknown key, missing,
 * negative or non-numeric value, bad suffix, overflow) is fatal at
 * start-up, with a message naming the key and what it accepts. */
#include "options.h"
#include "pin.h"
#include "signals.h"

#include <signal.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct preempt_options preempt_opts = {
    .gc_percent = 100,
    .min_heap = (size_t)4 << 20,
    .heap_limit = (size_t)64 << 30,
    .retain_s = 10,
    .async_preempt = true,
    .membarrier = PREEMPT_MEMBARRIER_AUTO,
    .stop_signal = SIGURG,
    .stw_timeout_s = 5,
    .snapshot_fork_objects = 65536,
};

static bool parse_int_exact(const char *s, size_t len, uint64_t max, int *out);

/* SIGURG, URG, SIGRTMIN+2, 23: the signals preempt_signal_allowed takes. */
static bool parse_signal(const char *s, size_t len, int *out) {
  static const struct {
    const char *name;
    int sig;
  } names[] = {{"URG", SIGURG},       {"USR1", SIGUSR1}, {"USR2", SIGUSR2},
               {"PWR", SIGPWR},       {"VTALRM", SIGVTALRM},
               {"PROF", SIGPROF}};
  if (len > 3 && !memcmp(s, "SIG", 3)) {
    s += 3;
    len -= 3;
  }
  int sig = -1;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (len == strlen(names[i].name) && !memcmp(s, names[i].name, len))
      sig = names[i].sig;
  if (sig < 0 && len >= 5 && !memcmp(s, "RTMIN", 5)) {
    int n = 0;
    if (len == 5)
      sig = SIGRTMIN;
    else if (s[5] == '+' && parse_int_exact(s + 6, len - 6, 64, &n))
      sig = SIGRTMIN + n;
  }
  int n;
  if (sig < 0 && parse_int_exact(s, len, 64, &n))
    sig = n;
  if (sig < 0 || !preempt_signal_allowed(sig))
    return false;
  *out = sig;
  return true;
}

/* Decimal digits, no sign, no space: strtoull would take "-5" as a huge
 * number.  false on overflow beyond max. */
static bool parse_digits(const char **s, const char *end, uint64_t max,
                         uint64_t *out) {
  const char *p = *s;
  uint64_t v = 0;
  for (; p < end && *p >= '0' && *p <= '9'; p++) {
    uint64_t d = (uint64_t)(*p - '0');
    if (d > max || v > (max - d) / 10)
      return false;
    v = v * 10 + d;
  }
  if (p == *s)
    return false;
  *s = p;
  *out = v;
  return true;
}

#define MAX_SIZE ((uint64_t)1 << 46) /* 64 TiB: more than any arena */

/* S: digits with an optional k, m or g suffix, at most 64 TiB. */
static bool parse_size(const char *s, size_t len, size_t *out) {
  const char *end = s + len;
  uint64_t v;
  if (!parse_digits(&s, end, MAX_SIZE, &v))
    return false;
  unsigned shift = 0;
  if (s < end) {
    switch (*s++) {
    case 'k': case 'K': shift = 10; break;
    case 'm': case 'M': shift = 20; break;
    case 'g': case 'G': shift = 30; break;
    default: return false;
    }
  }
  if (s != end || v > MAX_SIZE >> shift)
    return false;
  *out = (size_t)(v << shift);
  return true;
}

static bool parse_int_exact(const char *s, size_t len, uint64_t max, int *out) {
  const char *p = s;
  uint64_t v;
  if (!parse_digits(&p, s + len, max, &v) || p != s + len)
    return false;
  *out = (int)v;
  return true;
}

static bool is(const char *s, size_t len, const char *word) {
  return len == strlen(word) && !memcmp(s, word, len);
}

/* A malformed setting stops the program at start-up: running with a
 * collector configured other than asked (a limit ignored, collection
 * turned off by a typo) is worse than not running. */
__attribute__((noreturn)) static void bad(const char *key, size_t klen,
                                          const char *val, size_t vlen,
                                          const char *accepted) {
  preempt_fatal("PREEMPT: bad value '%.*s' for '%.*s': expected %s",
                (int)vlen, val, (int)klen, key, accepted);
}

void preempt_options_init(void) {
  const char *env = getenv("PREEMPT");
  if (!env)
    return;
  for (const char *p = env; *p;) {
    const char *end = strchr(p, ',');
    if (!end)
      end = p + strlen(p);
    if (end == p) { /* empty item: a stray comma */
      p++;
      continue;
    }
    const char *eq = memchr(p, '=', (size_t)(end - p));
    size_t klen = eq ? (size_t)(eq - p) : (size_t)(end - p);
    if (!eq)
      preempt_fatal("PREEMPT: '%.*s' has no value: settings are key=value "
                    "separated by commas",
                    (int)klen, p);
    const char *val = eq + 1;
    size_t vlen = (size_t)(end - val);
    int b = 0;
    size_t sz = 0;
#define KEY(k) (klen == sizeof(k) - 1 && !memcmp(p, k, klen))
#define BAD(what) bad(p, klen, val, vlen, what)
    if (KEY("gc")) {
      if (is(val, vlen, "off"))
        preempt_opts.gc_percent = -1;
      else if (parse_int_exact(val, vlen, 1000000, &b))
        preempt_opts.gc_percent = b;
      else
        BAD("a percentage from 0 to 1000000, or off");
    } else if (KEY("minheap")) {
      if (!parse_size(val, vlen, &sz))
        BAD("a size in bytes with an optional k, m or g suffix (64 TiB at "
            "most)");
      preempt_opts.min_heap = sz;
    } else if (KEY("limit")) {
      if (!parse_size(val, vlen, &sz) || sz < ((size_t)1 << 20))
        BAD("a size from 1m to 64 TiB, in bytes with an optional k, m or g "
            "suffix");
      preempt_opts.heap_limit = sz;
    } else if (KEY("poison") || KEY("verify") || KEY("verbose")) {
      if (!parse_int_exact(val, vlen, KEY("verbose") ? 2 : 1, &b))
        BAD(KEY("verbose") ? "0, 1 or 2" : "0 or 1");
      if (KEY("poison"))
        preempt_opts.poison = b;
      else if (KEY("verify"))
        preempt_opts.verify = b;
      else
        preempt_opts.verbose = b;
    } else if (KEY("retain")) {
      if (!parse_int_exact(val, vlen, 1000000, &b))
        BAD("a half-life in whole seconds from 0 to 1000000 (0: no "
            "retention)");
      preempt_opts.retain_s = b;
    } else if (KEY("oom")) {
      if (is(val, vlen, "null"))
        preempt_opts.oom_null = true;
      else if (is(val, vlen, "abort"))
        preempt_opts.oom_null = false;
      else
        BAD("null or abort");
    } else if (KEY("membarrier")) {
      if (is(val, vlen, "auto"))
        preempt_opts.membarrier = PREEMPT_MEMBARRIER_AUTO;
      else if (parse_int_exact(val, vlen, 1, &b))
        preempt_opts.membarrier = b ? PREEMPT_MEMBARRIER_ON : PREEMPT_MEMBARRIER_OFF;
      else
        BAD("0, 1 or auto");
    } else if (KEY("asyncpreempt") || KEY("stwcheck") || KEY("cgocheck")) {
      if (!parse_int_exact(val, vlen, 1, &b))
        BAD("0 or 1");
      if (KEY("asyncpreempt"))
        preempt_opts.async_preempt = b;
      else if (KEY("stwcheck"))
        preempt_opts.stw_check = b;
      else
        preempt_cgocheck_on = b;
    } else if (KEY("stwtimeout")) {
      if (!parse_int_exact(val, vlen, 86400, &b) || b == 0)
        BAD("whole seconds from 1 to 86400");
      preempt_opts.stw_timeout_s = b;
    } else if (KEY("signal")) {
      if (!parse_signal(val, vlen, &preempt_opts.stop_signal))
        BAD("SIGURG, SIGUSR1, SIGUSR2, SIGPWR, SIGVTALRM, SIGPROF, "
            "SIGRTMIN+N or the number of one of them");
    } else if (KEY("snapfork")) {
      if (is(val, vlen, "off"))
        preempt_opts.snapshot_fork_objects = SIZE_MAX;
      else if (!parse_int_exact(val, vlen, 1000000000, &b))
        BAD("a number of objects (0: every snapshot) or off");
      else
        preempt_opts.snapshot_fork_objects = (size_t)b;
    } else if (KEY("trace")) {
      if (!is(val, vlen, "stw"))
        BAD("stw");
      preempt_opts.trace_stw = true;
    } else {
      preempt_fatal("PREEMPT: unknown setting '%.*s' (known: gc, minheap, "
                    "limit, retain, poison, verify, oom, verbose, "
                    "asyncpreempt, signal, stwcheck, stwtimeout, trace, cgocheck, "
                    "membarrier, snapfork)",
                    (int)klen, p);
    }
#undef BAD
#undef KEY
    p = *end ? end + 1 : end;
  }
  if (preempt_opts.verify)
    preempt_opts.poison = true;
}
