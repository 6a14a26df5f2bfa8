/* A shared library built with the plugin, with a large .bss (a collection
 * takes a while to scan it) and a thread-local root: loaded and unloaded
 * by test_loader while other threads collect. */
#include <preempt.h>

void *biglib_table[4u << 20]; /* 32 MiB of globals */
__thread void *biglib_tls;

void biglib_set_tls(void *p) { biglib_tls = p; }
void *biglib_get_tls(void) { return biglib_tls; }
void biglib_set_global(void *p) { biglib_table[12345] = p; }

/* Many call sites: loading and unloading the library resizes the runtime's
 * table of stack maps. */
#define TEN(x) x x x x x x x x x x
void biglib_many_calls(void) { TEN(TEN(TEN(TEN(preempt_safepoint();)))) }
