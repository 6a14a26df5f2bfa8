/* corelib: a small printf-like formatter and numeric varargs. */
#include "corelib.h"

#include <stdio.h>
#include <string.h>

__attribute__((visibility("hidden"))) void cl_count_call(void);

/* Output that behaves like snprintf: writes at most n-1 characters, always
 * terminates when n > 0, and counts everything it would have written. */
typedef struct {
  char *buf;
  size_t n, len;
} Out;

static void out_char(Out *o, char c) {
  if (o->len + 1 < o->n)
    o->buf[o->len] = c;
  o->len++;
}

static void out_pad(Out *o, char c, int count) {
  for (int i = 0; i < count; i++)
    out_char(o, c);
}

typedef struct {
  int left;  /* '-' */
  int zero;  /* '0' */
  int width;
  int prec;  /* -1 if absent */
  int lng;   /* number of 'l' */
} Spec;

/* Emits text (already converted) with sign/prefix handling for padding. */
static void out_field(Out *o, const Spec *sp, const char *sign,
                      const char *body, size_t blen) {
  int used = (int)(strlen(sign) + blen);
  int pad = sp->width > used ? sp->width - used : 0;
  if (!sp->left && !sp->zero)
    out_pad(o, ' ', pad);
  for (const char *s = sign; *s; s++)
    out_char(o, *s);
  if (!sp->left && sp->zero)
    out_pad(o, '0', pad);
  for (size_t i = 0; i < blen; i++)
    out_char(o, body[i]);
  if (sp->left)
    out_pad(o, ' ', pad);
}

static size_t utoa_base(unsigned long long v, unsigned base, char *end) {
  static const char digits[] = "0123456789abcdef";
  char *p = end;
  do {
    *--p = digits[v % base];
    v /= base;
  } while (v);
  return (size_t)(end - p);
}

static void fmt_integer(Out *o, const Spec *sp, char conv, va_list *ap) {
  unsigned long long mag;
  const char *sign = "";
  if (conv == 'd' || conv == 'i') {
    long long v = sp->lng >= 2 ? va_arg(*ap, long long)
                  : sp->lng == 1 ? va_arg(*ap, long)
                                 : va_arg(*ap, int);
    mag = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    sign = v < 0 ? "-" : "";
  } else {
    mag = sp->lng >= 2 ? va_arg(*ap, unsigned long long)
          : sp->lng == 1 ? va_arg(*ap, unsigned long)
                         : va_arg(*ap, unsigned);
  }
  char tmp[32];
  size_t len = utoa_base(mag, conv == 'x' ? 16 : 10, tmp + sizeof tmp);
  out_field(o, sp, sign, tmp + sizeof tmp - len, len);
}

/* Floating point goes through the C library, one conversion at a time. */
static void fmt_float(Out *o, const Spec *sp, char conv, va_list *ap) {
  double v = va_arg(*ap, double);
  char tmp[64];
  int len = conv == 'f' ? snprintf(tmp, sizeof tmp, "%.*f", sp->prec, v)
                        : snprintf(tmp, sizeof tmp, "%.*e", sp->prec, v);
  if (len < 0 || (size_t)len >= sizeof tmp)
    len = snprintf(tmp, sizeof tmp, "%s", "<float>");
  const char *body = tmp;
  const char *sign = "";
  if (tmp[0] == '-') {
    sign = "-";
    body++;
    len--;
  }
  out_field(o, sp, sign, body, (size_t)len);
}

int cl_vformat(char *buf, size_t n, const char *fmt, va_list ap) {
  Out o = {buf, n, 0};
  va_list args;
  va_copy(args, ap); /* walked through a pointer by the helpers */
  for (const char *p = fmt; *p; p++) {
    if (*p != '%') {
      out_char(&o, *p);
      continue;
    }
    Spec sp = {0, 0, 0, -1, 0};
    for (p++; *p == '-' || *p == '0'; p++) {
      if (*p == '-')
        sp.left = 1;
      else
        sp.zero = 1;
    }
    while (*p >= '0' && *p <= '9')
      sp.width = sp.width * 10 + (*p++ - '0');
    if (*p == '.') {
      sp.prec = 0;
      while (*++p >= '0' && *p <= '9')
        sp.prec = sp.prec * 10 + (*p - '0');
    }
    while (*p == 'l') {
      sp.lng++;
      p++;
    }
    switch (*p) {
    case 'd': case 'i': case 'u': case 'x':
      fmt_integer(&o, &sp, *p, &args);
      break;
    case 'f': case 'e':
      if (sp.prec < 0)
        sp.prec = 6;
      fmt_float(&o, &sp, *p, &args);
      break;
    case 's': {
      const char *s = va_arg(args, const char *);
      if (!s)
        s = "(null)";
      size_t len = strlen(s);
      if (sp.prec >= 0 && (size_t)sp.prec < len)
        len = (size_t)sp.prec;
      sp.zero = 0;
      out_field(&o, &sp, "", s, len);
      break;
    }
    case 'c': {
      char c = (char)va_arg(args, int);
      sp.zero = 0;
      out_field(&o, &sp, "", &c, 1);
      break;
    }
    case '%':
      out_char(&o, '%');
      break;
    case '\0':
      p--; /* a lone '%' at the end: stop */
      break;
    default: /* unknown: copied literally */
      out_char(&o, '%');
      out_char(&o, *p);
      break;
    }
  }
  va_end(args);
  if (n > 0)
    buf[o.len < n ? o.len : n - 1] = '\0';
  return (int)o.len;
}

int cl_format(char *buf, size_t n, const char *fmt, ...) {
  cl_count_call();
  va_list ap;
  va_start(ap, fmt);
  int r = cl_vformat(buf, n, fmt, ap);
  va_end(ap);
  return r;
}

double cl_sum_doubles(int n, ...) {
  cl_count_call();
  va_list ap;
  va_start(ap, n);
  double s = 0;
  for (int i = 0; i < n; i++)
    s += va_arg(ap, double) * (i + 1);
  va_end(ap);
  return s;
}

long double cl_sum_mixed(const char *kinds, ...) {
  cl_count_call();
  va_list ap;
  va_start(ap, kinds);
  long double s = 0;
  for (const char *k = kinds; *k; k++) {
    switch (*k) {
    case 'i': s += va_arg(ap, int); break;
    case 'l': s += va_arg(ap, long); break;
    case 'd': s += va_arg(ap, double); break;
    case 'L': s += va_arg(ap, long double); break;
    case 's': s += (long double)strlen(va_arg(ap, const char *)); break;
    default: break;
    }
    s *= 1.5L;
  }
  va_end(ap);
  return s;
}

long cl_forward(cl_vsink_fn sink, void *ctx, const char *fmt, ...) {
  cl_count_call();
  va_list ap, first, second;
  va_start(ap, fmt);
  va_copy(first, ap);
  va_copy(second, ap);
  long a = sink(ctx, fmt, first); /* each sink call consumes its own copy */
  long b = sink(ctx, fmt, second);
  va_end(second);
  va_end(first);
  va_end(ap);
  return a * 1000 + b;
}
