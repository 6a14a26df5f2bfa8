/* The executable's side: callbacks handed to corelib. */
#ifndef APP_H
#define APP_H

#include "corelib.h"

#include <setjmp.h>

typedef struct {
  long sum;
  long weighted;
  int min, max;
  size_t visits;
} VisitStats;

void app_visit(int value, size_t index, void *ctx);

typedef struct {
  char name[12];
  int score;
  int seq; /* original position: shows that the sort is stable */
} Record;

int app_cmp_score(const void *a, const void *b, void *ctx);
int app_cmp_name_desc(const void *a, const void *b, void *ctx);

double app_add(double acc, double x);
double app_max(double acc, double x);
double app_rms_step(double acc, double x);

long app_collatz_step(long x);
long app_reenter(long x); /* calls back into corelib */
long app_triple(long x);
long app_negate_sq(long x);

void app_hook(const char *event, long value);
void app_print_hook_log(void);

int app_body_ok(void *ctx);
int app_body_throw(void *ctx);
int app_body_nested(void *ctx);

long app_sink(void *ctx, const char *fmt, va_list ap);

/* Escapes from a callback with the executable's own longjmp. */
extern jmp_buf app_escape;
void app_visit_escape(int value, size_t index, void *ctx);

#endif
