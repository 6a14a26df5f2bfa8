/* A call the plugin makes a blocking transition, and whether the runtime's
 * wrapper was there to make it one. */
#include <stdio.h>
#include <unistd.h>

extern int preempt_blocking_usleep(useconds_t usec) __attribute__((weak));

int main(void) {
  int r = usleep(1);
  printf("usleep %d, wrapper %s\n", r,
         preempt_blocking_usleep ? "linked" : "absent");
  return r;
}
