/* The executable: drives corelib (a separate -fPIC shared object). */
#include "app.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static void test_foreach(void) {
  int a[100];
  for (int i = 0; i < 100; i++)
    a[i] = (i * 37) % 101 - 50;
  VisitStats s = {0, 0, 0, 0, 0};
  cl_foreach(a, 100, app_visit, &s);
  printf("foreach: visits %zu sum %ld weighted %ld min %d max %d\n", s.visits,
         s.sum, s.weighted, s.min, s.max);

  volatile long seen = 0; /* changed by the callback before the longjmp */
  int escaped = 0;
  if (setjmp(app_escape) == 0)
    cl_foreach(a, 100, app_visit_escape, (void *)&seen);
  else
    escaped = 1;
  printf("escaped from callback: %s, seen %ld\n", escaped ? "yes" : "no", seen);
}

static void test_sort(void) {
  enum { N = 57 };
  Record r[N];
  for (int i = 0; i < N; i++) {
    snprintf(r[i].name, sizeof r[i].name, "rec%02d", (i * 23) % N);
    r[i].score = (i * 17) % 9; /* many ties */
    r[i].seq = i;
  }
  long cmps = 0;
  cl_sort(r, N, sizeof r[0], app_cmp_score, &cmps);
  int stable = 1;
  for (int i = 1; i < N; i++)
    if (r[i - 1].score == r[i].score && r[i - 1].seq > r[i].seq)
      stable = 0;
  printf("sort by score: %ld comparisons, %s; first %s/%d last %s/%d\n", cmps,
         stable ? "stable" : "UNSTABLE", r[0].name, r[0].score, r[N - 1].name,
         r[N - 1].score);
  cmps = 0;
  cl_sort(r, N, sizeof r[0], app_cmp_name_desc, &cmps);
  printf("sort by name desc: %ld comparisons; %s %s %s ... %s\n", cmps,
         r[0].name, r[1].name, r[2].name, r[N - 1].name);
}

static void test_reduce_iterate(void) {
  double v[50];
  for (int i = 0; i < 50; i++)
    v[i] = (i % 7) * 1.25 - (i % 3) * 0.5;
  printf("reduce: sum %.4f max %.4f rms-norm %.9f\n", cl_reduce(v, 50, app_add, 0),
         cl_reduce(v, 50, app_max, -1e300), cl_reduce(v, 50, app_rms_step, 0));
  printf("iterate: collatz(27) after 50 steps %ld, reenter(243) %ld, "
         "reenter(1000) %ld\n",
         cl_iterate(app_collatz_step, 27, 50), app_reenter(243),
         app_reenter(1000));
}

static void test_registry(void) {
  cl_register("collatz", app_collatz_step);
  cl_register("triple", app_triple);
  cl_register("negsq", app_negate_sq);
  cl_register("reenter", app_reenter);
  cl_hook = app_hook; /* the library calls through our function pointer */
  for (long x = 5; x <= 30; x += 25) {
    ClStats s = cl_invoke_all(x);
    printf("invoke_all(%ld): calls %ld mean %.4f min %d max %d\n", x, s.calls,
           s.mean, s.min, s.max);
  }
  cl_hook = NULL;
  ClStats quiet = cl_invoke_all(-3);
  printf("invoke_all(-3) without hook: mean %.4f; names:", quiet.mean);
  for (int i = 0; cl_name_at(i); i++)
    printf(" %s", cl_name_at(i));
  printf("\n");
  app_print_hook_log();
}

static void test_structs(void) {
  ClPoint p = {1, 2};
  for (int i = 0; i < 10; i++)
    p = cl_point_add(p, (ClPoint){i, -i * 2});
  ClVec a = {{1, 2, 3, 4, 5}, "alpha"}, b = {{0.5, -1, 1.5, -2, 2.5}, "beta"};
  ClVec c = cl_vec_scale(cl_vec_scale(a, 2.0), -0.25);
  printf("structs: point %d,%d; scaled %s %.3f %.3f %.3f %.3f %.3f; dot %.4f; "
         "original %s %.1f\n",
         p.x, p.y, c.label, c.v[0], c.v[1], c.v[2], c.v[3], c.v[4],
         cl_vec_dot(c, b), a.label, a.v[4]);
}

static void test_errors(void) {
  int results = 0, throws = 0;
  for (int v = 0; v < 6; v++) {
    int thrown;
    int r = cl_try(app_body_throw, &v, &thrown);
    results += r;
    throws += thrown;
  }
  int v = 3, thrown;
  int nested = cl_try(app_body_nested, &v, &thrown);
  int ok = cl_try(app_body_ok, &v, &thrown);
  printf("errors: results %d thrown codes %d nested %d ok %d depth now %d\n",
         results, throws, nested, ok, cl_tls_depth);
}

static void *thread_main(void *arg) {
  int v = (int)(long)arg, thrown;
  /* cl_tls_depth is this thread's copy: nesting starts from 0 here */
  int nested = cl_try(app_body_nested, &v, &thrown);
  return (void *)(long)(nested + cl_tls_depth);
}

static void test_threads(void) {
  pthread_t t[4];
  for (long i = 0; i < 4; i++)
    pthread_create(&t[i], NULL, thread_main, (void *)(2 * i + 1));
  printf("threads:");
  for (int i = 0; i < 4; i++) {
    void *r;
    pthread_join(t[i], &r);
    printf(" %ld", (long)r);
  }
  printf("\n");
}

static void test_format(void) {
  char buf[128];
  int n = cl_format(buf, sizeof buf, "[%5d|%-5d|%05d|%x|%lu|%lld|%s|%-6s|%c|%%]",
                    42, -7, -31, 0xbeefu, 1234567890123ul, -9000000000000ll,
                    "str", "ab", 'Z');
  printf("format: %d %s\n", n, buf);
  n = cl_format(buf, sizeof buf, "%.3f %10.2f %-9.1f| %e %.2e %f", 3.14159,
                -2.5, 1e3, 123456.789, -0.000123, 1.0 / 3);
  printf("format: %d %s\n", n, buf);
  char small[10];
  n = cl_format(small, sizeof small, "%s-%d", "truncated", 12345);
  printf("format: would write %d, got '%s'\n", n, small);
  printf("sum_doubles: %.6f\n",
         cl_sum_doubles(12, 1.0, 2.0, 3.5, -4.0, 5.25, 6.0, 7.0, 8.0, 9.5, 10.0,
                        11.0, 12.125));
  printf("sum_mixed: %.6Lf\n",
         cl_sum_mixed("idLlsdLi", 3, 2.5, 1.25L, 100L, "hello", -0.75, 8.5L, -2));
  char out[128];
  long fw = cl_forward(app_sink, out, "%d+%s=%x %.2f|%-4d|", 12, "ab", 255u,
                       2.71828, -3);
  printf("forward: %ld '%s'\n", fw, out);
}

int main(void) {
  printf("%s\n", cl_version);
  test_foreach();
  test_sort();
  test_reduce_iterate();
  test_registry();
  test_structs();
  test_errors();
  test_threads();
  test_format();
  printf("library calls: %ld\n", cl_global_calls);
  return 0;
}
