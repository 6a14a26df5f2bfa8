/* String buffer, random numbers and the text generator. */
#include "text.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- string buffer ----------------------------------------------------- */

void sb_init(StrBuf *sb) {
  sb->data = NULL;
  sb->len = sb->cap = 0;
}

void sb_free(StrBuf *sb) {
  free(sb->data);
  sb_init(sb);
}

void sb_cleanup(StrBuf *sb) { sb_free(sb); }

static void sb_reserve(StrBuf *sb, size_t extra) {
  size_t need = sb->len + extra + 1; /* always room for the terminator */
  if (need <= sb->cap)
    return;
  size_t cap = sb->cap ? sb->cap : 64;
  while (cap < need)
    cap *= 2;
  char *p = realloc(sb->data, cap);
  if (!p)
    abort();
  sb->data = p;
  sb->cap = cap;
}

void sb_putc(StrBuf *sb, char c) {
  sb_reserve(sb, 1);
  sb->data[sb->len++] = c;
  sb->data[sb->len] = '\0';
}

void sb_append(StrBuf *sb, const char *s, size_t n) {
  sb_reserve(sb, n);
  memcpy(sb->data + sb->len, s, n);
  sb->len += n;
  sb->data[sb->len] = '\0';
}

void sb_vprintf(StrBuf *sb, const char *fmt, va_list ap) {
  /* measure with a copy: ap itself is needed again for the real write */
  va_list measure;
  va_copy(measure, ap);
  int n = vsnprintf(NULL, 0, fmt, measure);
  va_end(measure);
  if (n < 0)
    abort();
  sb_reserve(sb, (size_t)n);
  vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
  sb->len += (size_t)n;
}

void sb_printf(StrBuf *sb, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  sb_vprintf(sb, fmt, ap);
  va_end(ap);
}

/* ---- random numbers: xorshift64* --------------------------------------- */

void rng_seed(Rng *r, uint64_t seed) {
  r->s = seed ? seed : 0x853c49e6748fea9bu;
}

uint64_t rng_next(Rng *r) {
  uint64_t x = r->s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  r->s = x;
  return x * 0x2545f4914f6cdd1du;
}

unsigned rng_below(Rng *r, unsigned n) {
  return n ? (unsigned)((rng_next(r) >> 33) % n) : 0;
}

/* ---- vocabulary -------------------------------------------------------- */

#define VOCAB 600
#define WORD_MAX 24

static const char *const syllables[] = {
    "ka", "lo", "mi",  "ren", "tas", "vel", "dor", "un", "es",  "qui",
    "bra", "th", "ol", "ix",  "pe",  "sun", "gar", "o",  "ae",  "zen",
    "mor", "li", "cha", "ny", "ter", "an",  "wu",  "fi", "ste", "rho",
};
#define NSYL (sizeof syllables / sizeof syllables[0])

static char vocab[VOCAB][WORD_MAX];
static int vocab_ready;

/* The most frequent English words come first, so the skewed picker makes
 * them common, as in real text. */
static const char *const common[] = {"the", "of", "and", "a",  "to",
                                     "in",  "is", "it",  "that", "was"};
#define NCOMMON (sizeof common / sizeof common[0])

static void build_vocab(void) {
  Rng r;
  rng_seed(&r, 0xC0FFEE);
  for (int i = 0; i < VOCAB; i++) {
    char *w = vocab[i];
    if ((size_t)i < NCOMMON) {
      strcpy(w, common[i]);
      continue;
    }
    int nsyl = 1 + (int)rng_below(&r, 4);
    w[0] = '\0';
    for (int s = 0; s < nsyl; s++)
      strcat(w, syllables[rng_below(&r, NSYL)]);
    /* a few contractions: the tokenizer keeps inner apostrophes */
    if (rng_below(&r, 40) == 0)
      strcat(w, "'s");
  }
  vocab_ready = 1;
}

const char *gen_vocab_word(int index) {
  if (!vocab_ready)
    build_vocab();
  return index >= 0 && index < VOCAB ? vocab[index] : NULL;
}

/* Skewed toward small indices: roughly Zipf-like frequencies. */
static unsigned pick_word(Rng *r) {
  unsigned a = rng_below(r, VOCAB);
  unsigned b = rng_below(r, a + 1);
  return rng_below(r, b + 1);
}

static void put_word(StrBuf *out, const char *w, int capital) {
  size_t start = out->len;
  sb_append(out, w, strlen(w));
  if (capital)
    out->data[start] = (char)toupper((unsigned char)out->data[start]);
}

static void gen_sentence(StrBuf *out, Rng *r, int *budget) {
  int n = 4 + (int)rng_below(r, 12);
  for (int i = 0; i < n && *budget > 0; i++, --*budget) {
    if (i > 0)
      sb_putc(out, ' ');
    unsigned kind = rng_below(r, 50);
    if (kind == 0) {
      sb_printf(out, "%u", rng_below(r, 10000)); /* numbers are not words */
    } else if (kind == 1) {
      put_word(out, gen_vocab_word((int)pick_word(r)), i == 0);
      sb_putc(out, '-');
      put_word(out, gen_vocab_word((int)pick_word(r)), 0);
    } else {
      put_word(out, gen_vocab_word((int)pick_word(r)), i == 0);
    }
    if (i + 1 < n && rng_below(r, 9) == 0)
      sb_putc(out, ',');
  }
  static const char ends[] = ".....?!";
  sb_putc(out, ends[rng_below(r, sizeof ends - 1)]);
}

void gen_text(StrBuf *out, Rng *r, int nwords) {
  int budget = nwords;
  int in_para = 0;
  while (budget > 0) {
    gen_sentence(out, r, &budget);
    if (++in_para >= 4 + (int)rng_below(r, 4)) {
      sb_append(out, "\n\n", 2);
      in_para = 0;
    } else {
      sb_putc(out, ' ');
    }
  }
  sb_putc(out, '\n');
}
