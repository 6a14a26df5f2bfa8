#ifndef PREEMPT_H
#define PREEMPT_H
#define preempt_keep_alive(p) \
  __asm__ __volatile__("# preempt_keep_alive %0" : : "r"((const void *)(p)))
#endif
