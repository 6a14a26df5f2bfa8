/* The compact stack-map format, shared by the compiler plugin (writer),
 * the runtime (reader) and tools/preempt-maps.
 *
 * Each translation unit built with the plugin contributes one ELF note to
 * the allocated section ".note.preempt".  The linker gathers note sections
 * into PT_NOTE segments, so the runtime finds every object's maps with
 * dl_iterate_phdr alone.  All addresses are self-relative 32-bit offsets:
 * no dynamic relocation, so the section stays read-only in PIE
 * executables and shared libraries (no DT_TEXTREL).
 *
 *   note header: namesz = 8, descsz, type = PREEMPT_NOTE_MAPS, "preempt\0"
 *   desc:  struct preempt_map_header
 *          struct preempt_map_func[nfuncs]
 *          record blob (blob_size bytes)
 *
 * Records of a function are consecutive in the blob, in address order:
 *   [uleb delta from previous return address]   (absent for the first)
 *   uleb nvalues, uleb nregions
 *   nvalues x location                  a value that may point into the heap
 *   nregions x (location base, location size)   frame memory to scan
 *       a base CONST 0 (size CONST 0) means the whole frame, scanned
 *       conservatively: code whose locals a sanitizer has rearranged
 * A location is one byte, kind << 5 | DWARF register, then operands:
 *   REG      the value is in the register
 *   IND      the value is in memory at reg + offset
 *   IND_N    same, followed by uleb byte size (vectors of pointers)
 *   DIRECT   the value is the address reg + offset (region bases)
 *   CONST    uleb value (region sizes); register bits unused
 * Offsets are sleb: (off / 8) << 1 when off is a multiple of 8, else
 * off << 1 | 1.
 *
 * A note is sound (runtime/mapfile.c, preempt_map_walk, is the one
 * reader and checker; runtime and preempt-maps both use it) when: flags
 * are 0; the table and blob fill the description exactly; every function
 * has records and the counts add up; deltas are non-zero; every return
 * address ends a call in the object's code; no two functions' return
 * addresses overlap (one address, two records); every location decodes,
 * is allowed in its role, and names a register a frame keeps across a call
 * (callee-saved or the stack pointer), never the stack pointer itself as a
 * value or memory below it; a whole-frame base has size 0.  The runtime
 * ignores a note that is not, with a message, and scans its frames
 * conservatively.
 */
#ifndef PREEMPT_MAP_FORMAT_H
#define PREEMPT_MAP_FORMAT_H

#include <stdint.h>

#define PREEMPT_NOTE_NAME "preempt"
#define PREEMPT_NOTE_NAMESZ 8u
#define PREEMPT_NOTE_MAPS 0x50524d31u /* "PRM1" */
#define PREEMPT_MAP_VERSION 1u
#define PREEMPT_ARCH_X86_64 1u

enum preempt_loc_kind {
  PREEMPT_LOC_REG = 0,
  PREEMPT_LOC_IND = 1,
  PREEMPT_LOC_IND_N = 2,
  PREEMPT_LOC_DIRECT = 3,
  PREEMPT_LOC_CONST = 4,
};
#define PREEMPT_LOC_KIND_SHIFT 5
#define PREEMPT_LOC_REG_MASK 0x1fu

struct preempt_map_header {
  uint8_t version;
  uint8_t arch;
  uint16_t flags;
  uint32_t nfuncs;
  uint32_t nrecords;
  uint32_t blob_size;
};

struct preempt_map_func {
  int32_t first_ret; /* first return address - &first_ret */
  uint32_t nrecords;
};

/* ---- unsafe points --------------------------------------------------------
 * Code where the runtime must not stop a thread asynchronously (the signal
 * it sends at any instruction to stop the world): ranges the program marked
 * (preempt_unsafe_begin/end), functions marked PREEMPT_UNSAFE, and code the
 * plugin found holding a heap pointer only as a changed integer (ptrtoint,
 * xor/shift/tag, inttoptr).  The plugin computes the ranges on the final
 * machine code (passes/UnsafeTable.cpp), one note per code section, linked
 * to it and in its COMDAT group like the maps, in the same ".note.preempt"
 * section name:
 *
 *   note header: namesz = 8, descsz, type = PREEMPT_NOTE_UNSAFE, "preempt\0"
 *   desc:  struct preempt_unsafe_header
 *          struct preempt_unsafe_range[nranges]
 *
 * Addresses are self-relative like the maps' (no relocation at run time).
 * A range is [start, end): a thread whose next instruction is in it is not
 * stopped there; it stops at the poll that follows the range.  Ranges may
 * overlap (a marked range inside a marked function).
 *
 * A note is sound (runtime/mapfile.c, preempt_unsafe_walk) when: version
 * and architecture match; flags and every reserved field are 0; the ranges
 * fill the description exactly; each kind is known; start < end; and each
 * range lies inside one segment of the object's code.  The runtime ignores a
 * note that is not, with a message naming the object; its ranges are then
 * not known (the code counts as safe everywhere).
 */
#define PREEMPT_NOTE_UNSAFE 0x50525531u /* "PRU1" */
#define PREEMPT_UNSAFE_VERSION 1u

enum preempt_unsafe_kind {
  PREEMPT_UNSAFE_RANGE = 1,    /* preempt_unsafe_begin .. preempt_unsafe_end */
  PREEMPT_UNSAFE_FUNCTION = 2, /* a function marked PREEMPT_UNSAFE */
  PREEMPT_UNSAFE_AUTO = 3,     /* a pointer held as a changed integer */
};

struct preempt_unsafe_header {
  uint8_t version;
  uint8_t arch;
  uint16_t flags;
  uint32_t nranges;
};

struct preempt_unsafe_range {
  int32_t start; /* first byte of the range - &start */
  int32_t end;   /* one past its last byte - &end */
  uint32_t line; /* source line of the range or function, 0 if unknown */
  uint16_t kind; /* enum preempt_unsafe_kind */
  uint16_t reserved;
};

#endif
