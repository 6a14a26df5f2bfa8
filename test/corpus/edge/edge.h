/* Edge cases aimed at what the plugin rewrites: calls (every call gets a
 * stack map), frames (allocas promoted, optnone removed at -O0) and the
 * places where control does not follow calls and returns.
 *
 * calls.c  non-default calling conventions, __int128 and structs through
 *          varargs, many pointers live across calls, tagged pointers,
 *          pointer-holding aggregates, preempt_keep_alive
 * flow.c   ucontext coroutines, __builtin_setjmp, sigsetjmp from a signal
 *          handler, alloca/VLAs in loops, computed goto with calls, deep
 *          recursion, forced unwinding through cleanup handlers
 *          (built with -fexceptions)
 */
#ifndef EDGE_H
#define EDGE_H

void run_call_tests(void);
void run_flow_tests(void);

#endif
