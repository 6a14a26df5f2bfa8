/* Reports over the word table: qsort/bsearch with our comparators (libc
 * calls back into this file), histograms, anagram classes, wrapping. */
#include "text.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- logging ----------------------------------------------------------- */

void logf_line(const char *tag, const char *fmt, ...) {
  static int line_no;
  va_list ap, again;
  va_start(ap, fmt);
  va_copy(again, ap);
  /* first pass only measures; the message is indented by its length */
  int n = vsnprintf(NULL, 0, fmt, ap);
  printf("[%03d %-6s %3d] ", ++line_no, tag, n);
  vprintf(fmt, again);
  putchar('\n');
  va_end(again);
  va_end(ap);
}

/* ---- sorting and searching --------------------------------------------- */

Entry *table_entries(const Table *t, size_t *n) {
  Entry *e = malloc((t->used ? t->used : 1) * sizeof *e);
  if (!e)
    abort();
  size_t k = 0;
  for (size_t i = 0; i < t->cap; i++)
    if (t->slots[i].word)
      e[k++] = t->slots[i];
  *n = k;
  return e;
}

static int cmp_count_desc(const void *a, const void *b) {
  const Entry *x = a, *y = b;
  if (x->count != y->count)
    return x->count > y->count ? -1 : 1;
  return strcmp(x->word, y->word); /* ties: alphabetical, so order is total */
}

static int cmp_word(const void *a, const void *b) {
  const Entry *x = a, *y = b;
  return strcmp(x->word, y->word);
}

static int cmp_key_entry(const void *key, const void *elem) {
  return strcmp((const char *)key, ((const Entry *)elem)->word);
}

void sort_by_count(Entry *e, size_t n) { qsort(e, n, sizeof *e, cmp_count_desc); }

void sort_by_word(Entry *e, size_t n) { qsort(e, n, sizeof *e, cmp_word); }

const Entry *lookup_sorted(const Entry *sorted, size_t n, const char *word) {
  return bsearch(word, sorted, n, sizeof *sorted, cmp_key_entry);
}

uint32_t order_checksum(const Entry *e, size_t n) {
  uint32_t h = 0;
  for (size_t i = 0; i < n; i++)
    h = h * 131u + hash_bytes(e[i].word, strlen(e[i].word)) + e[i].count;
  return h;
}

/* ---- reports ----------------------------------------------------------- */

void report_top(const Entry *e, size_t n, size_t top) {
  unsigned total = 0;
  for (size_t i = 0; i < n; i++)
    total += e[i].count;
  printf("top %zu of %zu distinct words (%u tokens):\n", top, n, total);
  for (size_t i = 0; i < top && i < n; i++)
    printf("  %2zu. %-14s %5u  %6.3f%%  first %5u last %5u\n", i + 1,
           e[i].word, e[i].count, 100.0 * e[i].count / total, e[i].first,
           e[i].last);
}

static void free_ptr(void *p) { free(*(void **)p); }
#define AUTO_FREE __attribute__((cleanup(free_ptr)))

void report_lengths(const Entry *e, size_t n) {
  size_t maxlen = 0;
  for (size_t i = 0; i < n; i++) {
    size_t l = strlen(e[i].word);
    maxlen = l > maxlen ? l : maxlen;
  }
  unsigned *hist AUTO_FREE = calloc(maxlen + 1, sizeof *hist);
  unsigned long weighted = 0, tokens = 0;
  for (size_t i = 0; i < n; i++) {
    size_t l = strlen(e[i].word);
    hist[l]++;
    weighted += l * e[i].count;
    tokens += e[i].count;
  }
  unsigned peak = 0;
  for (size_t l = 0; l <= maxlen; l++)
    peak = hist[l] > peak ? hist[l] : peak;
  printf("word lengths (distinct words), mean token length %.4f:\n",
         (double)weighted / (double)tokens);
  for (size_t l = 1; l <= maxlen; l++) {
    if (!hist[l])
      continue;
    int bar = (int)((hist[l] * 40u + peak - 1) / peak);
    printf("  %2zu %4u %.*s\n", l, hist[l], bar,
           "########################################");
  }
}

void report_letters(const char *text) {
  unsigned long freq[26] = {0}, total = 0;
  for (const char *p = text; *p; p++)
    if (isalpha((unsigned char)*p)) {
      freq[tolower((unsigned char)*p) - 'a']++;
      total++;
    }
  double pct[26];
  double entropy = 0;
  for (int i = 0; i < 26; i++) {
    pct[i] = total ? 100.0 * (double)freq[i] / (double)total : 0.0;
    if (freq[i]) {
      double p = (double)freq[i] / (double)total;
      entropy -= p * log2(p);
    }
  }
  printf("letters: %lu, entropy %.6f bits\n", total, entropy);
  /* many double arguments in one call: the varargs ABI passes the first
   * eight in xmm registers and the rest on the stack */
  printf("  a-m %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f "
         "%.2f\n",
         pct[0], pct[1], pct[2], pct[3], pct[4], pct[5], pct[6], pct[7],
         pct[8], pct[9], pct[10], pct[11], pct[12]);
  printf("  n-z %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f "
         "%.2f\n",
         pct[13], pct[14], pct[15], pct[16], pct[17], pct[18], pct[19],
         pct[20], pct[21], pct[22], pct[23], pct[24], pct[25]);
}

/* Letters of w in sorted order: the anagram class key. */
static void signature(const char *w, char *out) {
  size_t n = 0;
  for (; *w; w++)
    if (isalpha((unsigned char)*w))
      out[n++] = *w;
  out[n] = '\0';
  for (size_t i = 1; i < n; i++) { /* insertion sort: words are short */
    char c = out[i];
    size_t j = i;
    while (j > 0 && out[j - 1] > c) {
      out[j] = out[j - 1];
      j--;
    }
    out[j] = c;
  }
}

typedef struct {
  const char *sig;
  unsigned members;
} Klass;

static int cmp_klass(const void *a, const void *b) {
  const Klass *x = a, *y = b;
  if (x->members != y->members)
    return x->members > y->members ? -1 : 1;
  return strcmp(x->sig, y->sig);
}

void report_anagrams(const Entry *e, size_t n) {
  Table sigs;
  table_init(&sigs, n);
  for (size_t i = 0; i < n; i++) {
    char sig[strlen(e[i].word) + 1]; /* VLA: exactly the word's size */
    signature(e[i].word, sig);
    table_add(&sigs, sig, strlen(sig), (unsigned)i);
  }
  size_t nk = 0;
  Entry *all AUTO_FREE = table_entries(&sigs, &nk);
  Klass *k AUTO_FREE = malloc((nk ? nk : 1) * sizeof *k);
  size_t multi = 0;
  for (size_t i = 0; i < nk; i++) {
    k[i] = (Klass){all[i].word, all[i].count};
    multi += all[i].count > 1;
  }
  qsort(k, nk, sizeof *k, cmp_klass);
  printf("anagram classes: %zu, with several words: %zu\n", nk, multi);
  for (size_t c = 0; c < nk && c < 4 && k[c].members > 1; c++) {
    printf("  [%s] x%u:", k[c].sig, k[c].members);
    /* members are listed in the order of e, which the caller sorted */
    for (size_t i = 0; i < n; i++) {
      char sig[64];
      if (strlen(e[i].word) >= sizeof sig)
        continue;
      signature(e[i].word, sig);
      if (strcmp(sig, k[c].sig) == 0)
        printf(" %s", e[i].word);
    }
    putchar('\n');
  }
  table_free(&sigs);
}

/* Greedy wrapping; raggedness is the sum of squared trailing gaps, in long
 * double so that large sums stay exact. */
void report_wrap(const char *text, int width, int show_lines) {
  StrBuf line SB_AUTO;
  sb_init(&line);
  int lines = 0;
  long double ragged = 0;
  uint32_t h = 0;
  const char *p = text;
  for (;;) {
    while (*p && isspace((unsigned char)*p))
      p++;
    const char *w = p;
    while (*p && !isspace((unsigned char)*p))
      p++;
    size_t wl = (size_t)(p - w);
    int flush = wl == 0 || (line.len > 0 && line.len + 1 + wl > (size_t)width);
    if (flush && line.len > 0) {
      long gap = width - (long)line.len;
      if (gap > 0)
        ragged += (long double)gap * gap;
      if (lines < show_lines)
        printf("  |%-*s|\n", width, line.data);
      h = hash_bytes(line.data, line.len) ^ (h * 31u);
      lines++;
      line.len = 0;
    }
    if (wl == 0)
      break;
    if (line.len > 0)
      sb_putc(&line, ' ');
    sb_append(&line, w, wl);
  }
  printf("wrapped at %d: %d lines, raggedness %.1Lf, hash %08x\n", width, lines,
         ragged, h);
}

/* Run-length encoding: runs of 3+ become "~<count>:<char>"; '~' itself is
 * always escaped this way.  Decoding must give back the input. */
static void rle_encode(const char *s, StrBuf *out) {
  while (*s) {
    size_t run = 1;
    while (s[run] == s[0])
      run++;
    if (run >= 3 || s[0] == '~')
      sb_printf(out, "~%zu:%c", run, s[0]);
    else
      sb_append(out, s, run);
    s += run;
  }
}

static void rle_decode(const char *s, StrBuf *out) {
  while (*s) {
    if (*s == '~') {
      char *end;
      unsigned long n = strtoul(s + 1, &end, 10);
      if (*end++ != ':' || *end == '\0')
        return; /* corrupt input: the round-trip check will say so */
      for (unsigned long i = 0; i < n; i++)
        sb_putc(out, *end);
      s = end + 1;
    } else {
      sb_putc(out, *s++);
    }
  }
}

void report_rle(const char *text) {
  StrBuf enc SB_AUTO, dec SB_AUTO;
  sb_init(&enc);
  sb_init(&dec);
  rle_encode(text, &enc);
  rle_decode(enc.data ? enc.data : "", &dec);
  int same = dec.len == strlen(text) && memcmp(dec.data, text, dec.len) == 0;
  printf("rle: %zu -> %zu bytes, round trip %s, hash %08x\n", strlen(text),
         enc.len, same ? "ok" : "BROKEN", hash_bytes(enc.data, enc.len));
}
