/* The bdwgc release whose interface libpreempt-gc implements. */
#ifndef GC_VERSION_H
#define GC_VERSION_H
#define GC_VERSION_MAJOR 8
#define GC_VERSION_MINOR 2
#define GC_VERSION_MICRO 2
#define GC_ALPHA_VERSION 0 /* old programs compare against it */
/* Present only in preempt's gc.h: tells a program which collector it got. */
#define GC_PREEMPT 1
#endif
