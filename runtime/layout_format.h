/* Type layouts: which words of a preempt_new(T) object may hold a pointer,
 * and their field names.  The clang plugin computes them from the AST
 * (plugin/Layouts.cpp) and passes one to the runtime with each allocation
 * (preempt__alloc_layout); the runtime checks and copies it (layout.c).
 *
 * A layout is an array of 32-bit words in the target's byte order:
 *
 *   magic, size (sizeof T), flags, nptrs, names_len,
 *   nptrs x (byte offset of a pointer word, offset of its name),
 *   names_len bytes: the names, each NUL-terminated
 *
 * Offsets are multiples of the pointer size and below size; name offsets
 * are below names_len.  With PREEMPT_LAYOUT_ARRAY the object is an array
 * of T (preempt_new_array) and the layout repeats over all of it. */
#ifndef PREEMPT_LAYOUT_FORMAT_H
#define PREEMPT_LAYOUT_FORMAT_H

#define PREEMPT_LAYOUT_MAGIC 0x594c5250u /* "PRLY" */
#define PREEMPT_LAYOUT_HEADER_WORDS 5
#define PREEMPT_LAYOUT_ARRAY 1u

#endif
