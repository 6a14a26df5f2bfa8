/* Messages.  Formatted into a stack buffer and written with write(2), so
 * they work inside a signal handler and while the heap lock is held. */
#include "common.h"
#include "events.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* To the program's hook for the kind (which gets the text without the
 * "preempt: " prefix and newline), or to stderr. */
static void vsay(const char *kind, bool (*hook)(const char *),
                 const char *fmt, va_list ap) {
  char buf[1024];
  int n = snprintf(buf, sizeof buf, "preempt: %s", kind);
  if (n < 0)
    return;
  int m = vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
  if (m < 0)
    return;
  n += m;
  if ((size_t)n > sizeof buf - 2)
    n = (int)sizeof buf - 2;
  buf[n] = 0;
  if (hook(buf + 9))
    return;
  buf[n++] = '\n';
  ssize_t w = write(2, buf, (size_t)n);
  (void)w;
}

void preempt_fatal(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsay("fatal: ", preempt_hook_fatal, fmt, ap);
  va_end(ap);
  abort();
}

void preempt_warn(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsay("", preempt_hook_warning, fmt, ap);
  va_end(ap);
}
