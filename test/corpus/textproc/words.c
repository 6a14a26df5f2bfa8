/* Tokenizer and an open-addressing (linear probing) hash table. */
#include "text.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* FNV-1a, 32 bit. */
uint32_t hash_bytes(const char *s, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 16777619u;
  }
  return h;
}

void table_init(Table *t, size_t cap) {
  /* capacity is a power of two so that masking replaces modulo */
  size_t c = 16;
  while (c < cap)
    c <<= 1;
  t->slots = calloc(c, sizeof *t->slots);
  if (!t->slots)
    abort();
  t->cap = c;
  t->used = 0;
  t->probes = 0;
}

void table_free(Table *t) {
  for (size_t i = 0; i < t->cap; i++)
    free(t->slots[i].word);
  free(t->slots);
  t->slots = NULL;
  t->cap = t->used = 0;
}

static int slot_matches(const Entry *e, const char *word, size_t len) {
  return strncmp(e->word, word, len) == 0 && e->word[len] == '\0';
}

/* Index of word's slot, or of the empty slot where it would go. */
static size_t probe(const Table *t, const char *word, size_t len,
                    size_t *steps) {
  size_t mask = t->cap - 1;
  size_t i = hash_bytes(word, len) & mask;
  while (t->slots[i].word && !slot_matches(&t->slots[i], word, len)) {
    i = (i + 1) & mask;
    ++*steps;
  }
  return i;
}

static void grow(Table *t) {
  Table bigger;
  table_init(&bigger, t->cap * 2);
  for (size_t i = 0; i < t->cap; i++) {
    Entry *e = &t->slots[i];
    if (!e->word)
      continue;
    size_t steps = 0;
    size_t j = probe(&bigger, e->word, strlen(e->word), &steps);
    bigger.slots[j] = *e; /* struct copy: the word pointer moves over */
    bigger.used++;
  }
  bigger.probes = t->probes;
  free(t->slots);
  *t = bigger;
}

Entry *table_add(Table *t, const char *word, size_t len, unsigned pos) {
  if ((t->used + 1) * 4 > t->cap * 3) /* keep the load below 3/4 */
    grow(t);
  size_t i = probe(t, word, len, &t->probes);
  Entry *e = &t->slots[i];
  if (!e->word) {
    e->word = malloc(len + 1);
    if (!e->word)
      abort();
    memcpy(e->word, word, len);
    e->word[len] = '\0';
    e->count = 0;
    e->first = pos;
    t->used++;
  }
  e->count++;
  e->last = pos;
  return e;
}

Entry *table_find(const Table *t, const char *word, size_t len) {
  size_t steps = 0;
  size_t i = probe(t, word, len, &steps);
  return t->slots[i].word ? &t->slots[i] : NULL;
}

/* A word is a run of letters, with apostrophes allowed between letters.
 * Everything is lowercased into a small buffer; over-long words are cut. */
unsigned tokenize(const char *text, TokenFn fn, void *ctx) {
  char buf[64];
  unsigned index = 0;
  const char *p = text;
  while (*p) {
    while (*p && !isalpha((unsigned char)*p))
      p++;
    size_t n = 0;
    while (isalpha((unsigned char)*p) ||
           (*p == '\'' && n > 0 && isalpha((unsigned char)p[1]))) {
      if (n < sizeof buf - 1)
        buf[n++] = (char)tolower((unsigned char)*p);
      p++;
    }
    if (n > 0) {
      buf[n] = '\0';
      fn(buf, n, index++, ctx);
    }
  }
  return index;
}
