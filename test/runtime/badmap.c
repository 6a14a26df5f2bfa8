/* A library with one valid map (its own code, built with the plugin) and
 * one forged note whose return address points outside the library. */
#include <preempt.h>

void badmap_run(void) {
  void *p = preempt_alloc(100);
  preempt_gc();
  preempt_keep_alive(p);
}

__asm__(".pushsection .note.preempt,\"a\",@note\n"
        ".balign 4\n"
        ".long 8\n"          /* namesz */
        ".long 24\n"         /* descsz: header 16 + one function 8 */
        ".long 0x50524d31\n" /* PREEMPT_NOTE_MAPS */
        ".asciz \"preempt\"\n"
        ".byte 1, 1\n.short 0\n" /* version 1, x86-64 */
        ".long 1\n"              /* nfuncs */
        ".long 1\n"              /* nrecords */
        ".long 0\n"              /* blob size: record missing too */
        ".long 0x40000000\n"     /* first return address: far away */
        ".long 1\n"
        ".popsection\n");
