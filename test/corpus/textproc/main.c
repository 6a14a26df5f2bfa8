/* Driver: generates a document, counts words and bigrams, and prints
 * reports.  Everything depends only on the fixed seeds. */
#include "text.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  Table *words;
  Table *bigrams;
  char prev[64];
  size_t prev_len;
  unsigned long chars;
} CountCtx;

/* Tokenizer callback: counts the word and the pair (previous, word). */
static void count_token(const char *w, size_t len, unsigned index, void *vctx) {
  CountCtx *ctx = vctx;
  table_add(ctx->words, w, len, index);
  ctx->chars += len;
  if (ctx->prev_len > 0) {
    char pair[130];
    int n = snprintf(pair, sizeof pair, "%s %s", ctx->prev, w);
    table_add(ctx->bigrams, pair, (size_t)n, index);
  }
  memcpy(ctx->prev, w, len + 1);
  ctx->prev_len = len;
}

/* Counting-only callback, used to check that tokenize is repeatable. */
static void count_only(const char *w, size_t len, unsigned index, void *vctx) {
  (void)index;
  uint32_t *h = vctx;
  *h = *h * 33u ^ hash_bytes(w, len);
}

static void show_lookups(const Entry *sorted, size_t n) {
  static const char *const queries[] = {"the",  "and", "zzz", "ka",
                                        "kalo", "o",   "",    "was"};
  for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
    const Entry *e = lookup_sorted(sorted, n, queries[i]);
    if (e)
      logf_line("find", "'%s' -> rank %zu, count %u", queries[i],
                (size_t)(e - sorted), e->count);
    else
      logf_line("find", "'%s' -> absent", queries[i]);
  }
  /* every vocabulary word must be found exactly where bsearch says */
  unsigned found = 0, missing = 0;
  for (int i = 0; gen_vocab_word(i); i++) {
    char low[32];
    size_t k = 0;
    for (const char *p = gen_vocab_word(i); *p && k < sizeof low - 1; p++)
      low[k++] = (char)tolower((unsigned char)*p);
    low[k] = '\0';
    /* vocabulary entries with an apostrophe tokenize to the same string */
    if (lookup_sorted(sorted, n, low))
      found++;
    else
      missing++;
  }
  logf_line("vocab", "%u vocabulary words present, %u never drawn", found,
            missing);
}

static void show_bigrams(Table *bigrams) {
  size_t n;
  Entry *e = table_entries(bigrams, &n);
  sort_by_count(e, n);
  printf("bigrams: %zu distinct, load %.3f, probes %zu\n", n,
         (double)bigrams->used / (double)bigrams->cap, bigrams->probes);
  for (size_t i = 0; i < 8 && i < n; i++)
    printf("  %-22s %4u\n", e[i].word, e[i].count);
  printf("  order checksum %08x\n", order_checksum(e, n));
  free(e);
}

/* ROT13 twice is the identity; once changes every letter. */
static void check_rot13(const char *text) {
  size_t n = strlen(text);
  char *a = malloc(n + 1);
  if (!a)
    abort();
  for (int pass = 0; pass < 2; pass++) {
    const char *src = pass == 0 ? text : a;
    for (size_t i = 0; i <= n; i++) {
      char c = src[i];
      if (islower((unsigned char)c))
        c = (char)('a' + (c - 'a' + 13) % 26);
      else if (isupper((unsigned char)c))
        c = (char)('A' + (c - 'A' + 13) % 26);
      a[i] = c;
    }
    if (pass == 0)
      printf("rot13 hash %08x\n", hash_bytes(a, n));
  }
  printf("rot13 round trip %s\n", memcmp(a, text, n + 1) == 0 ? "ok" : "BROKEN");
  free(a);
}

static void process(uint64_t seed, int nwords, int verbose) {
  StrBuf text SB_AUTO;
  sb_init(&text);
  Rng r;
  rng_seed(&r, seed);
  gen_text(&text, &r, nwords);

  Table words, bigrams;
  table_init(&words, 64);
  table_init(&bigrams, 64);
  CountCtx ctx = {&words, &bigrams, "", 0, 0};
  unsigned ntok = tokenize(text.data, count_token, &ctx);
  uint32_t h1 = 0, h2 = 0;
  tokenize(text.data, count_only, &h1);
  tokenize(text.data, count_only, &h2);

  printf("=== seed %llu: %zu bytes, %u tokens, %zu distinct, %lu letters in "
         "words, token hash %08x%s\n",
         (unsigned long long)seed, text.len, ntok, words.used, ctx.chars, h1,
         h1 == h2 ? "" : " (NOT REPEATABLE)");

  size_t n;
  Entry *e = table_entries(&words, &n);
  sort_by_count(e, n);
  report_top(e, n, verbose ? 15 : 5);
  uint32_t by_count = order_checksum(e, n);
  sort_by_word(e, n);
  printf("order checksums: by count %08x, by word %08x\n", by_count,
         order_checksum(e, n));
  if (verbose) {
    show_lookups(e, n);
    report_lengths(e, n);
    report_letters(text.data);
    report_anagrams(e, n);
    show_bigrams(&bigrams);
    report_wrap(text.data, 64, 6);
    report_rle(text.data);
    check_rot13(text.data);
    printf("first 160 bytes: %.160s\n", text.data);
  } else {
    report_wrap(text.data, 50, 0);
  }
  free(e);
  table_free(&words);
  table_free(&bigrams);
}

int main(void) {
  process(12345, 30000, 1);
  static const uint64_t seeds[] = {1, 2, 3, 0xdeadbeef, 987654321};
  for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++)
    process(seeds[i], 2000 + 1000 * (int)i, 0);
  logf_line("done", "%d runs", 1 + (int)(sizeof seeds / sizeof seeds[0]));
  return 0;
}
