/* Prepared signatures (ffi_sig.c): a compact signature string, or libffi
 * types, turned once into an ffi_cif and what a call needs besides it
 * (where the pointer words of the arguments are, how a narrow integer
 * return is widened).  Shared by foreign calls (ffi_call.c) and callbacks
 * (callback.c).  The letters are documented in preempt.h. */
#ifndef PREEMPT_FFI_SIG_H
#define PREEMPT_FFI_SIG_H

#include "common.h"

#include <ffi.h>

/* Scalar signatures whose arguments all go in registers are called
 * directly, as C would, on x86-64 (System V): up to 6 integer or pointer
 * arguments and 8 float or double ones, returning nothing, an integer, a
 * pointer, a float or a double.  libffi's ffi_call classifies every
 * argument at every call; for these the classification is done once. */
#if defined(__x86_64__)
#define PREEMPT_FAST_GPRS 6
#define PREEMPT_FAST_FPRS 8
#else
#define PREEMPT_FAST_GPRS 0
#define PREEMPT_FAST_FPRS 0
#endif
enum preempt_fast_kind { FAST_S8, FAST_U8, FAST_S16, FAST_U16, FAST_S32,
                         FAST_U32, FAST_64, FAST_F32, FAST_F64 };
enum preempt_fast_ret { FAST_NONE, FAST_VOID, FAST_INT, FAST_FLOAT,
                        FAST_DOUBLE };

/* A pointer word inside the arguments: at byte off of argument arg. */
struct preempt_sig_ptr {
  uint32_t arg, off;
};

struct preempt_sig {
  ffi_cif cif;
  char *text;          /* the signature as written, for messages */
  ffi_type *rtype;
  ffi_type **atypes;   /* nargs entries */
  unsigned nargs;      /* fixed + variadic arguments */
  unsigned nfixed;     /* arguments before "..." */
  bool open;           /* ends in "...": variadic types come per call */
  bool narrow_ret;     /* integer return narrower than ffi_arg */
  unsigned nptrs;
  struct preempt_sig_ptr *ptrs;
  /* Direct calls without libffi (see ffi_call.c): fast_ret is 0 when the
   * signature needs libffi. */
  uint8_t fast_ret;
  struct {
    uint8_t kind, slot; /* enum preempt_fast_kind; register index */
  } fast_args[PREEMPT_FAST_GPRS + PREEMPT_FAST_FPRS + 1];
  void **owned;        /* struct types and element arrays freed with it */
  size_t nowned, owned_cap;
};

/* Message of a signature that cannot be used (a variadic one called
 * without its variadic types...), fatal, naming the signature. */
__attribute__((noreturn)) void preempt_sig_misuse(const struct preempt_sig *s,
                                                  const char *api,
                                                  const char *why)
    PREEMPT_HIDDEN;

/* Stores an integer return value of libffi's width (ffi_arg) into ret
 * with the return type's own width. */
void preempt_sig_store_narrow(const struct preempt_sig *s, void *ret,
                              const void *wide) PREEMPT_HIDDEN;
/* The reverse, for a callback: the handler wrote the return type's width
 * into narrow; libffi wants an ffi_arg, sign- or zero-extended. */
void preempt_sig_widen(const struct preempt_sig *s, void *wide,
                       const void *narrow) PREEMPT_HIDDEN;

#endif
