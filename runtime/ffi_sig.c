/* Prepared signatures for foreign calls and callbacks.
 *
 * A signature string ("i(pzd)", "{ipd}({ip}d)", "i(p...)") is parsed once
 * into libffi types and an ffi_cif; calls then only read it, from any
 * thread.  What libffi does not know is worked out here too: where the
 * pointer words of the arguments lie (a foreign call publishes them as
 * roots for its duration, and cgocheck looks at them), including pointer
 * fields of structs passed by value, whose offsets libffi computes for us.
 *
 * Memory comes from malloc: a signature is not a heap object (it is
 * usually made once, at start-up, and is freed explicitly). */
#define _GNU_SOURCE
#include "ffi_sig.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LETTERS                                                                \
  "v B c C s S i I l L q Q z Z f d D p {...} and ... (see preempt.h)"

enum ctx { IN_RET, IN_ARGS, IN_FIELD, IN_VARARGS };

struct builder {
  struct preempt_sig *s;
  const char *text; /* what is being parsed */
  const char *what; /* "signature" or "variadic types" */
  const char *p;
  char *err;
  size_t errsize;
  bool failed;
  unsigned cap; /* of s->atypes */
};

static void fail(struct builder *b, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct builder *b, const char *at, const char *fmt, ...) {
  if (b->failed)
    return;
  b->failed = true;
  char why[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  char msg[512];
  size_t pos = (size_t)(at - b->text) + 1;
  if (*at)
    snprintf(msg, sizeof msg, "%s \"%s\", position %zu ('%c'): %s", b->what,
             b->text, pos, *at, why);
  else
    snprintf(msg, sizeof msg, "%s \"%s\", position %zu (the end): %s",
             b->what, b->text, pos, why);
  if (b->err && b->errsize) {
    snprintf(b->err, b->errsize, "%s", msg);
    return;
  }
  preempt_fatal("%s", msg);
}

static void *own(struct builder *b, size_t size) {
  struct preempt_sig *s = b->s;
  void *p = calloc(1, size ? size : 1);
  if (!p || (s->nowned == s->owned_cap &&
             !(s->owned = realloc(s->owned, (s->owned_cap = s->owned_cap * 2 + 8) *
                                                sizeof *s->owned))))
    preempt_fatal("out of memory preparing %s \"%s\"", b->what, b->text);
  s->owned[s->nowned++] = p;
  return p;
}

static void skip_space(struct builder *b) {
  while (*b->p == ' ' || *b->p == '\t' || *b->p == '\n')
    b->p++;
}

static ffi_type *primitive(char c) {
  switch (c) {
  case 'v': return &ffi_type_void;
  case 'B': return &ffi_type_uint8; /* _Bool: one byte, 0 or 1 */
  case 'c': return &ffi_type_sint8;
  case 'C': return &ffi_type_uint8;
  case 's': return &ffi_type_sint16;
  case 'S': return &ffi_type_uint16;
  case 'i': return &ffi_type_sint32;
  case 'I': return &ffi_type_uint32;
  case 'l': case 'q': case 'Z': return &ffi_type_sint64;
  case 'L': case 'Q': case 'z': return &ffi_type_uint64;
  case 'f': return &ffi_type_float;
  case 'd': return &ffi_type_double;
  case 'D': return &ffi_type_longdouble;
  case 'p': return &ffi_type_pointer;
  }
  return NULL;
}
_Static_assert(sizeof(long) == 8 && sizeof(size_t) == 8 && sizeof(void *) == 8,
               "ffi_sig.c: the letters l, L, z, Z assume LP64");

static ffi_type *parse_type(struct builder *b, enum ctx ctx);

static ffi_type *parse_struct(struct builder *b) {
  const char *open = b->p++;
  ffi_type *fields[256];
  unsigned n = 0;
  for (;;) {
    skip_space(b);
    if (*b->p == '}') {
      b->p++;
      break;
    }
    if (!*b->p) {
      fail(b, b->p, "the struct opened at position %zu has no '}'",
           (size_t)(open - b->text) + 1);
      return NULL;
    }
    unsigned long count = 1;
    const char *num = b->p;
    if (*b->p >= '0' && *b->p <= '9') {
      count = strtoul(b->p, (char **)&b->p, 10);
      if (count == 0 || count > 255) {
        fail(b, num, "a field count is 1 to 255");
        return NULL;
      }
    }
    ffi_type *t = parse_type(b, IN_FIELD);
    if (!t)
      return NULL;
    if (n + count > 255) {
      fail(b, num, "a struct has at most 255 fields (arrays counted per element)");
      return NULL;
    }
    for (unsigned long i = 0; i < count; i++)
      fields[n++] = t;
  }
  if (n == 0) {
    fail(b, open, "an empty struct (C has none; libffi cannot pass one)");
    return NULL;
  }
  ffi_type *st = own(b, sizeof *st);
  ffi_type **elems = own(b, (n + 1) * sizeof *elems);
  memcpy(elems, fields, n * sizeof *elems);
  st->type = FFI_TYPE_STRUCT;
  st->elements = elems;
  return st;
}

static ffi_type *parse_type(struct builder *b, enum ctx ctx) {
  skip_space(b);
  const char *at = b->p;
  char c = *at;
  if (c == '{') {
    ffi_type *t = parse_struct(b);
    return t;
  }
  if (!c) {
    fail(b, at, "a type is missing");
    return NULL;
  }
  ffi_type *t = primitive(c);
  if (!t) {
    if (c == '(' || c == ')' || c == '}' || c == '.')
      fail(b, at, "a type letter was expected here (known: %s)", LETTERS);
    else
      fail(b, at, "unknown type letter (known: %s)", LETTERS);
    return NULL;
  }
  if (c == 'v' && ctx != IN_RET) {
    fail(b, at, "void is only a return type (a function without arguments "
                "is written \"i()\")");
    return NULL;
  }
  if (ctx == IN_VARARGS && strchr("BcCsSf", c)) {
    fail(b, at, "C promotes a variadic %s to %s: write '%c'",
         c == 'f' ? "float" : "integer narrower than int",
         c == 'f' ? "double" : "int", c == 'f' ? 'd' : 'i');
    return NULL;
  }
  b->p++;
  return t;
}

static void add_arg(struct builder *b, ffi_type *t) {
  struct preempt_sig *s = b->s;
  if (s->nargs == b->cap) {
    b->cap = b->cap * 2 + 8;
    s->atypes = realloc(s->atypes, b->cap * sizeof *s->atypes);
    if (!s->atypes)
      preempt_fatal("out of memory preparing %s \"%s\"", b->what, b->text);
  }
  s->atypes[s->nargs++] = t;
}

/* ret(args), args possibly ending in "...". */
static void parse_signature(struct builder *b) {
  struct preempt_sig *s = b->s;
  s->rtype = parse_type(b, IN_RET);
  if (!s->rtype)
    return;
  skip_space(b);
  if (*b->p != '(') {
    fail(b, b->p, "'(' was expected after the return type");
    return;
  }
  b->p++;
  for (;;) {
    skip_space(b);
    if (*b->p == ')')
      break;
    if (!strncmp(b->p, "...", 3)) {
      s->open = true;
      s->nfixed = s->nargs;
      b->p += 3;
      skip_space(b);
      if (*b->p != ')') {
        fail(b, b->p, "\"...\" ends the argument list; ')' was expected");
        return;
      }
      break;
    }
    if (!*b->p) {
      fail(b, b->p, "the argument list has no ')'");
      return;
    }
    ffi_type *t = parse_type(b, IN_ARGS);
    if (!t)
      return;
    add_arg(b, t);
  }
  b->p++;
  if (!s->open)
    s->nfixed = s->nargs;
  skip_space(b);
  if (*b->p)
    fail(b, b->p, "nothing may follow the argument list");
}

/* The pointer words of a value of type t at byte off of argument arg. */
static void find_ptrs(struct builder *b, ffi_type *t, uint32_t arg, size_t off) {
  struct preempt_sig *s = b->s;
  if (t->type == FFI_TYPE_POINTER) {
    struct preempt_sig_ptr *p = realloc(s->ptrs, (s->nptrs + 1) * sizeof *p);
    if (!p)
      preempt_fatal("out of memory preparing %s \"%s\"", b->what, b->text);
    s->ptrs = p;
    s->ptrs[s->nptrs++] = (struct preempt_sig_ptr){arg, (uint32_t)off};
    return;
  }
  if (t->type != FFI_TYPE_STRUCT)
    return;
  size_t n = 0;
  while (t->elements[n])
    n++;
  size_t offs[256];
  size_t *o = n <= 256 ? offs : malloc(n * sizeof *o);
  if (!o || ffi_get_struct_offsets(FFI_DEFAULT_ABI, t, o) != FFI_OK)
    preempt_fatal("%s \"%s\": libffi cannot lay out a struct of it", b->what,
                  b->text);
  for (size_t i = 0; i < n; i++)
    find_ptrs(b, t->elements[i], arg, off + o[i]);
  if (o != offs)
    free(o);
}

static const char *status_name(ffi_status st) {
  switch (st) {
  case FFI_BAD_TYPEDEF: return "a bad type definition (FFI_BAD_TYPEDEF)";
  case FFI_BAD_ABI: return "a bad ABI (FFI_BAD_ABI)";
  case FFI_BAD_ARGTYPE: return "a bad argument type (FFI_BAD_ARGTYPE)";
  default: return "an error";
  }
}

static void classify_fast(struct preempt_sig *s);

/* Prepares the cif unless the signature is open (its variadic types are
 * still to come), then finds the pointer words. */
static bool finish(struct builder *b, bool variadic) {
  struct preempt_sig *s = b->s;
  if (b->failed)
    return false;
  if (!s->open) {
    ffi_status st =
        variadic ? ffi_prep_cif_var(&s->cif, FFI_DEFAULT_ABI, s->nfixed,
                                    s->nargs, s->rtype, s->atypes)
                 : ffi_prep_cif(&s->cif, FFI_DEFAULT_ABI, s->nargs, s->rtype,
                                s->atypes);
    if (st != FFI_OK) {
      fail(b, b->text, "libffi refused it: %s", status_name(st));
      return false;
    }
  } else if (s->rtype->type == FFI_TYPE_STRUCT) {
    ffi_get_struct_offsets(FFI_DEFAULT_ABI, s->rtype, NULL); /* sizes */
  }
  for (unsigned i = 0; i < s->nargs; i++)
    find_ptrs(b, s->atypes[i], i, 0);
  switch (s->rtype->type) {
  case FFI_TYPE_UINT8: case FFI_TYPE_SINT8: case FFI_TYPE_UINT16:
  case FFI_TYPE_SINT16: case FFI_TYPE_UINT32: case FFI_TYPE_SINT32:
  case FFI_TYPE_INT:
    s->narrow_ret = true;
  }
  classify_fast(s);
  return true;
}

/* Can s be called directly (ffi_call.c)?  Sets fast_ret and fast_args. */
static void classify_fast(struct preempt_sig *s) {
  unsigned gprs = 0, fprs = 0;
  if (!PREEMPT_FAST_GPRS || s->open || s->nfixed != s->nargs)
    return; /* variadic: libffi sets %al */
  for (unsigned i = 0; i < s->nargs; i++) {
    uint8_t kind;
    switch (s->atypes[i]->type) {
    case FFI_TYPE_SINT8: kind = FAST_S8; break;
    case FFI_TYPE_UINT8: kind = FAST_U8; break;
    case FFI_TYPE_SINT16: kind = FAST_S16; break;
    case FFI_TYPE_UINT16: kind = FAST_U16; break;
    case FFI_TYPE_SINT32: case FFI_TYPE_INT: kind = FAST_S32; break;
    case FFI_TYPE_UINT32: kind = FAST_U32; break;
    case FFI_TYPE_SINT64: case FFI_TYPE_UINT64: case FFI_TYPE_POINTER:
      kind = FAST_64;
      break;
    case FFI_TYPE_FLOAT: kind = FAST_F32; break;
    case FFI_TYPE_DOUBLE: kind = FAST_F64; break;
    default: return; /* long double, structs, complex */
    }
    bool fp = kind == FAST_F32 || kind == FAST_F64;
    if (fp ? fprs == PREEMPT_FAST_FPRS : gprs == PREEMPT_FAST_GPRS)
      return; /* some would go on the stack */
    s->fast_args[i].kind = kind;
    s->fast_args[i].slot = (uint8_t)(fp ? fprs++ : gprs++);
  }
  switch (s->rtype->type) {
  case FFI_TYPE_VOID: s->fast_ret = FAST_VOID; break;
  case FFI_TYPE_FLOAT: s->fast_ret = FAST_FLOAT; break;
  case FFI_TYPE_DOUBLE: s->fast_ret = FAST_DOUBLE; break;
  case FFI_TYPE_UINT8: case FFI_TYPE_SINT8: case FFI_TYPE_UINT16:
  case FFI_TYPE_SINT16: case FFI_TYPE_UINT32: case FFI_TYPE_SINT32:
  case FFI_TYPE_INT: case FFI_TYPE_UINT64: case FFI_TYPE_SINT64:
  case FFI_TYPE_POINTER:
    s->fast_ret = FAST_INT;
    break;
  }
}

static struct preempt_sig *sig_alloc(const char *text) {
  struct preempt_sig *s = calloc(1, sizeof *s);
  if (!s || !(s->text = strdup(text)))
    preempt_fatal("out of memory preparing signature \"%s\"", text);
  return s;
}

void preempt_sig_free(preempt_sig *s) {
  if (!s)
    return;
  for (size_t i = 0; i < s->nowned; i++)
    free(s->owned[i]);
  free(s->owned);
  free(s->atypes);
  free(s->ptrs);
  free(s->text);
  free(s);
}

preempt_sig *preempt_sig_new(const char *text, char *err, size_t errsize) {
  if (!text)
    text = "";
  struct preempt_sig *s = sig_alloc(text);
  struct builder b = {.s = s, .text = s->text, .what = "signature",
                      .p = s->text, .err = err, .errsize = errsize};
  parse_signature(&b);
  if (!finish(&b, false)) {
    preempt_sig_free(s);
    return NULL;
  }
  return s;
}

preempt_sig *preempt_sig_variadic(const preempt_sig *base, const char *types,
                                  char *err, size_t errsize) {
  if (!types)
    types = "";
  if (!base || !base->open) {
    char msg[512];
    snprintf(msg, sizeof msg,
             "preempt_sig_variadic: signature \"%s\" does not end in \"...\"",
             base ? base->text : "(null)");
    if (err && errsize) {
      snprintf(err, errsize, "%s", msg);
      return NULL;
    }
    preempt_fatal("%s", msg);
  }
  struct preempt_sig *s = sig_alloc(base->text);
  /* The base again, then the variadic part: each signature owns its
   * types.  The base parsed before, so only the types can be wrong. */
  struct builder b = {.s = s, .text = s->text, .what = "signature",
                      .p = s->text, .err = err, .errsize = errsize};
  parse_signature(&b);
  s->open = false;
  b.what = "variadic types";
  b.text = b.p = types;
  for (;;) {
    skip_space(&b);
    if (!*b.p || b.failed)
      break;
    ffi_type *t = parse_type(&b, IN_VARARGS);
    if (!t)
      break;
    add_arg(&b, t);
  }
  if (!finish(&b, true)) {
    preempt_sig_free(s);
    return NULL;
  }
  return s;
}

preempt_sig *preempt_sig_from_ffi(ffi_type *ret, unsigned nargs,
                                  ffi_type **args, int nfixed, char *err,
                                  size_t errsize) {
  struct preempt_sig *s = sig_alloc("(libffi types)");
  struct builder b = {.s = s, .text = s->text, .what = "signature",
                      .p = s->text, .err = err, .errsize = errsize};
  bool variadic = nfixed >= 0;
  if (!ret)
    fail(&b, b.text, "the return type is NULL (&ffi_type_void for none)");
  else if (variadic && (unsigned)nfixed > nargs)
    fail(&b, b.text, "%d fixed arguments of %u", nfixed, nargs);
  for (unsigned i = 0; i < nargs && !b.failed; i++)
    if (!args[i] || args[i]->type == FFI_TYPE_VOID)
      fail(&b, b.text, "argument %u is %s", i + 1,
           args[i] ? "void" : "NULL");
    else
      add_arg(&b, args[i]);
  s->rtype = ret;
  s->nfixed = variadic ? (unsigned)nfixed : nargs;
  if (!finish(&b, variadic)) {
    preempt_sig_free(s);
    return NULL;
  }
  return s;
}

unsigned preempt_sig_nargs(const preempt_sig *s) { return s->nargs; }

void *preempt_sig_cif(preempt_sig *s) { return s->open ? NULL : &s->cif; }

const char *preempt_sig_text(const preempt_sig *s) { return s->text; }

void preempt_sig_misuse(const struct preempt_sig *s, const char *api,
                        const char *why) {
  preempt_fatal("%s: signature \"%s\": %s", api, s ? s->text : "(null)", why);
}

void preempt_sig_store_narrow(const struct preempt_sig *s, void *ret,
                              const void *wide) {
  memcpy(ret, wide, s->rtype->size); /* little-endian: the low bytes */
}

void preempt_sig_widen(const struct preempt_sig *s, void *wide,
                       const void *narrow) {
  ffi_sarg v = 0;
  switch (s->rtype->type) {
  case FFI_TYPE_SINT8: v = *(const int8_t *)narrow; break;
  case FFI_TYPE_UINT8: v = *(const uint8_t *)narrow; break;
  case FFI_TYPE_SINT16: v = *(const int16_t *)narrow; break;
  case FFI_TYPE_UINT16: v = *(const uint16_t *)narrow; break;
  case FFI_TYPE_SINT32: case FFI_TYPE_INT: v = *(const int32_t *)narrow; break;
  case FFI_TYPE_UINT32: v = *(const uint32_t *)narrow; break;
  }
  memcpy(wide, &v, sizeof v);
}
