// A little of everything, for the object-level tests.
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct node { struct node *left, *right; long key; };

static struct node *insert(struct node *t, long key) {
  if (!t) {
    t = calloc(1, sizeof *t);
    t->key = key;
    return t;
  }
  if (key < t->key) t->left = insert(t->left, key);
  else t->right = insert(t->right, key);
  return t;
}

static long walk(struct node *t, long (*f)(struct node *)) {
  return t ? walk(t->left, f) + f(t) + walk(t->right, f) : 0;
}

static long key(struct node *n) { return n->key; }

static int cmp(const void *a, const void *b) {
  long x = *(const long *)a, y = *(const long *)b;
  return (x > y) - (x < y);
}

double avg(int n, ...) {
  va_list ap;
  va_start(ap, n);
  double s = 0;
  for (int i = 0; i < n; i++) s += va_arg(ap, double);
  va_end(ap);
  return s / n;
}

static jmp_buf env;
static void fail(const char *why) { fprintf(stderr, "%s\n", why); longjmp(env, 1); }

long run(int n, char **names) {
  struct node *root = NULL;
  long vla[n > 0 ? n : 1];
  for (int i = 0; i < n; i++) {
    vla[i] = (long)strlen(names[i]) * 7919 % 1000;
    root = insert(root, vla[i]);
  }
  qsort(vla, (size_t)n, sizeof vla[0], cmp);
  if (setjmp(env)) return -1;
  if (n > 1000) fail("too many");
  printf("%g %g\n", avg(2, 0.25, 0.5), avg(3, 1.0, 2.0, 4.5));
  return walk(root, key) + vla[0];
}
void *unused_but_mapped(int n) { extern void *calloc(unsigned long, unsigned long); void *p = calloc(1, 8); void *q = calloc(n, 8); return n ? p : q; }
