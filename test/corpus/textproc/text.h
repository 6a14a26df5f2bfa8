/* Text processing on deterministic generated input.
 *
 * gen.c     pseudo-random text generator and a growable string buffer
 * words.c   tokenizer and an open-addressing hash table of word counts
 * report.c  sorting (qsort), lookups (bsearch), statistics, transforms
 * main.c    the driver
 */
#ifndef TEXT_H
#define TEXT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* ---- string buffer ----------------------------------------------------- */

typedef struct {
  char *data;
  size_t len, cap;
} StrBuf;

void sb_init(StrBuf *sb);
void sb_free(StrBuf *sb);
void sb_putc(StrBuf *sb, char c);
void sb_append(StrBuf *sb, const char *s, size_t n);
void sb_printf(StrBuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sb_vprintf(StrBuf *sb, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Frees *sb at the end of the scope: StrBuf s SB_AUTO; */
void sb_cleanup(StrBuf *sb);
#define SB_AUTO __attribute__((cleanup(sb_cleanup)))

/* ---- random numbers ---------------------------------------------------- */

typedef struct {
  uint64_t s;
} Rng;

void rng_seed(Rng *r, uint64_t seed);
uint64_t rng_next(Rng *r);
unsigned rng_below(Rng *r, unsigned n);

/* Appends about nwords words of sentence-shaped text. */
void gen_text(StrBuf *out, Rng *r, int nwords);
const char *gen_vocab_word(int index); /* NULL past the end */

/* ---- words ------------------------------------------------------------- */

typedef struct {
  char *word;
  unsigned count;
  unsigned first, last; /* token index of the first and last occurrence */
} Entry;

typedef struct {
  Entry *slots;
  size_t cap, used;
  size_t probes; /* total probe steps, a measure of clustering */
} Table;

void table_init(Table *t, size_t cap);
void table_free(Table *t);
Entry *table_add(Table *t, const char *word, size_t len, unsigned pos);
Entry *table_find(const Table *t, const char *word, size_t len);
uint32_t hash_bytes(const char *s, size_t n);

/* Calls fn for every token (lowercased word) in text; returns the count. */
typedef void (*TokenFn)(const char *word, size_t len, unsigned index,
                        void *ctx);
unsigned tokenize(const char *text, TokenFn fn, void *ctx);

/* ---- reports ----------------------------------------------------------- */

/* Entries of t copied into a fresh array (caller frees). */
Entry *table_entries(const Table *t, size_t *n);
void sort_by_count(Entry *e, size_t n);
void sort_by_word(Entry *e, size_t n);
const Entry *lookup_sorted(const Entry *sorted, size_t n, const char *word);

void report_top(const Entry *byCount, size_t n, size_t top);
void report_lengths(const Entry *e, size_t n);
void report_letters(const char *text);
void report_anagrams(const Entry *e, size_t n);
void report_wrap(const char *text, int width, int show_lines);
void report_rle(const char *text);
uint32_t order_checksum(const Entry *e, size_t n);

/* Logs with a prefix and a running line number (variadic, uses va_copy). */
void logf_line(const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
