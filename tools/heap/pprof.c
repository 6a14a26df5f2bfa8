/* top as a pprof profile (profile.proto). */
#include "report_impl.h"

int preempt_heap_pprof_top(FILE *out, struct preempt_heap_analysis *a,
                           char *err, size_t errlen) {
  (void)out;
  return preempt_heap_fail(err, errlen, "%s: pprof output: not yet", a->name);
}
