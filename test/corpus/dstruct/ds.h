/* Data-structure torture: a red-black tree, a skip list, tagged unions with
 * bit-fields passed around by value, and a grab bag of calling-convention
 * corner cases (small integer extension, noreturn + longjmp, musttail,
 * inline asm, asm goto, atomics, function pointer tables, varargs).
 *
 * rbtree.c    red-black tree with parent pointers, insert/delete/validate
 * skiplist.c  skip list; VLA and alloca scratch buffers
 * values.c    Value unions, struct passing, logging, ABI corner cases
 * main.c      driver
 */
#ifndef DS_H
#define DS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdnoreturn.h>

/* ---- values ------------------------------------------------------------ */

typedef enum { V_INT, V_DBL, V_STR, V_PAIR, V_NKINDS } Kind;

/* Bit-fields of both signednesses, one straddling a word boundary. */
typedef struct {
  unsigned kind : 3;
  unsigned flags : 5;
  signed small : 8; /* signed: must sign-extend when read */
  unsigned long long stamp : 40;
  unsigned char weight : 4;
} Header;

typedef struct {
  Header h;
  union {
    int64_t i;
    double d;
    char s[16];
    struct {
      int32_t a, b;
    } pair;
  } u;
} Value; /* 24 bytes: passed and returned in memory */

Value value_int(int64_t i, int small);
Value value_dbl(double d, int small);
Value value_str(const char *s, int small);
Value value_pair(int32_t a, int32_t b, int small);
/* Consumes and returns values by value, through several call levels. */
Value value_combine(Value a, Value b);
Value value_chain(Value v, int depth);
uint64_t value_hash(Value v);
int value_cmp(const Value *a, const Value *b);
void value_format(Value v, char *buf, size_t n);

/* Small aggregates classified into registers of different classes. */
typedef struct {
  int16_t x, y;
} Pt16; /* one INTEGER eightbyte */
typedef struct {
  float x, y;
  double z;
} Vec3f; /* two SSE eightbytes */
typedef struct {
  char tag;
  double d;
} TagDbl; /* INTEGER + SSE */
typedef struct {
  long a;
  long b;
  long c;
} Triple; /* memory */

Pt16 pt_add(Pt16 a, Pt16 b);
Vec3f vec_scale(Vec3f v, float s);
TagDbl tag_next(TagDbl t);
Triple triple_rot(Triple t, int n);

/* ---- logging (values.c) ------------------------------------------------ */

void dlog(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vdlog(int level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
void dlog_dump(void); /* prints and clears the buffered log */

/* ---- errors ------------------------------------------------------------ */

extern jmp_buf *ds_error_target;
noreturn void ds_raise(int code, const char *what);
extern const char *ds_error_what;
extern int ds_error_code; /* the code of the last ds_raise */

/* ---- red-black tree (rbtree.c) ----------------------------------------- */

typedef struct RbNode {
  struct RbNode *left, *right, *parent;
  int key;
  unsigned red : 1;
  unsigned visits : 31;
  Value val;
} RbNode;

typedef struct {
  RbNode *root;
  size_t size;
  unsigned rotations;
} RbTree;

void rb_init(RbTree *t);
void rb_free(RbTree *t);
/* Returns 1 if inserted, 0 if key existed (value replaced). */
int rb_insert(RbTree *t, int key, Value v);
/* Raises (ds_raise) if key is absent. */
Value rb_delete(RbTree *t, int key);
RbNode *rb_find(const RbTree *t, int key);
RbNode *rb_floor(const RbTree *t, int key);
/* Black height, or raises on a violated invariant. */
int rb_validate(const RbTree *t);
typedef void (*RbVisit)(RbNode *n, void *ctx);
void rb_inorder(RbTree *t, RbVisit fn, void *ctx);
int rb_height(const RbTree *t);

/* ---- skip list (skiplist.c) -------------------------------------------- */

#define SKIP_MAX_LEVEL 16

typedef struct SkipNode {
  int64_t key;
  Value val;
  int level;
  struct SkipNode *next[]; /* flexible array: level entries */
} SkipNode;

typedef struct {
  SkipNode *head;
  int level;
  size_t size;
  uint64_t rng;
} SkipList;

void skip_init(SkipList *s, uint64_t seed);
void skip_free(SkipList *s);
int skip_insert(SkipList *s, int64_t key, Value v);
int skip_remove(SkipList *s, int64_t key);
const Value *skip_find(const SkipList *s, int64_t key);
/* Sums hashes of values with lo <= key < hi, via an alloca scratch list. */
uint64_t skip_range(const SkipList *s, int64_t lo, int64_t hi, size_t *count);
void skip_level_histogram(const SkipList *s, unsigned hist[SKIP_MAX_LEVEL + 1]);

/* ---- ABI corner cases (values.c) --------------------------------------- */

void run_abi_tests(void);

#endif
