/* Prepared signatures (ffi_sig.c): a compact signature string, or libffi
 * types, turned once into an ffi_cif and what a call needs besides it
 * (where the pointer words of the arguments are, how a narrow integer
 * return is widened).  Shared by foreign calls (ffi_call.c) and callbacks
 * (callback.c).  The letters are documented in preempt.h. */
#ifndef PREEMPT_FFI_SIG_H
#define PREEMPT_FFI_SIG_H

#include "common.h"

#include <ffi.h>

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
