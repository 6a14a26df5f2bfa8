/* top as one self-contained HTML page. */
#include "report_impl.h"

int preempt_heap_html_top(FILE *out, struct preempt_heap_analysis *a,
                          size_t limit, char *err, size_t errlen) {
  (void)out, (void)limit;
  return preempt_heap_fail(err, errlen, "%s: HTML output: not yet", a->name);
}
