/* bench/ffi: the foreign library's functions (foreign.c, no plugin). */
#ifndef FFIB_FOREIGN_H
#define FFIB_FOREIGN_H

typedef int (*ffib_cb)(int, int);

int ffib_add(int a, int b);          /* a + b */
/* a + ... + h: two arguments on the stack, so preempt's API calls it
 * through ffi_call (its direct path takes register arguments only) */
int ffib_add8(int a, int b, int c, int d, int e, int f, int g, int h);
int ffib_peek(const int *p, int b);  /* *p + b: reads a heap object */
int ffib_call1(ffib_cb cb, int a, int b); /* cb(a, b) */
int ffib_calln(ffib_cb cb, int n);   /* acc = cb(acc, i) for i < n */

#endif
