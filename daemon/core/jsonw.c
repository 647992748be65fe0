#include "jsonw.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swar.h"
#include "timeutil.h"
#include "xalloc.h"

void cxp_buf_init(cxp_buf *b) {
  b->p = NULL;
  b->len = b->cap = 0;
}

void cxp_buf_free(cxp_buf *b) {
  free(b->p);
  cxp_buf_init(b);
}

void cxp_buf_grow(cxp_buf *b, size_t extra) {
  size_t cap = b->cap ? b->cap : 1024;
  while (cap - b->len <= extra) cap *= 2;
  char *p = cxp_xrealloc(b->p, cap);
  b->p = p;
  b->cap = cap;
}

void cxp_buf_puts(cxp_buf *b, const char *s) { cxp_buf_put(b, s, strlen(s)); }

void cxp_buf_printf(cxp_buf *b, const char *fmt, ...) {
  va_list ap;
  cxp_buf_reserve(b, 64);
  va_start(ap, fmt);
  int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n >= b->cap - b->len) {
    cxp_buf_reserve(b, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
  }
  b->len += (size_t)n;
}

/* Length of the well-formed UTF-8 sequence at s (1..4), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  if (c < 0x80) return 1;
  size_t len;
  unsigned min;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
    min = 0x80;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    min = 0x800;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (n < len) return 0;
  unsigned cp = c & (0x3f >> (len - 1));
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}

int cxp_utf8_valid(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < n) {
    /* Most input is ASCII: skip it eight bytes at a time. */
    if (i + 8 <= n) {
      uint64_t w;
      memcpy(&w, p + i, 8);
      if ((w & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    if (p[i] < 0x80) {
      i++;
      continue;
    }
    size_t l = utf8_seq(p + i, n - i);
    if (l == 0) return 0;
    i += l;
  }
  return 1;
}

void cxp_base64(cxp_buf *b, const void *src, size_t n) {
  static const char tbl[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const unsigned char *s = src;
  cxp_buf_reserve(b, (n + 2) / 3 * 4 + 1);
  char *o = b->p + b->len;
  size_t i = 0;
  for (; i + 2 < n; i += 3) {
    unsigned v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8 | s[i + 2];
    *o++ = tbl[v >> 18];
    *o++ = tbl[(v >> 12) & 63];
    *o++ = tbl[(v >> 6) & 63];
    *o++ = tbl[v & 63];
  }
  if (i < n) {
    unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0);
    *o++ = tbl[v >> 18];
    *o++ = tbl[(v >> 12) & 63];
    *o++ = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
    *o++ = '=';
  }
  b->len = (size_t)(o - b->p);
  b->p[b->len] = '\0';
}

void cxp_jw_init(cxp_jw *w, cxp_buf *b) {
  w->b = b;
  w->depth = 0;
  w->has_item[0] = 0;
}

/* The bytes a JSON string can carry as they are (printable ASCII but the
 * quote and the backslash: 0x20-0x7F less 0x22 and 0x5C), as a table: a
 * load a byte instead of four compares. */
/* clang-format off */
static const unsigned char plain_tab[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};
/* clang-format on */

/* How many bytes from p on are plain: eight a step where swar.h can (a
 * byte past 0x7F stops the run too), the rest one by one. */
static inline size_t plain_run(const unsigned char *p, size_t n) {
  size_t i = 0;
#if CXP_SWAR
  for (; i + 8 <= n; i += 8) {
    uint64_t w = cxp_swar_load(p + i), m = cxp_swar_special(w) | (w & CXP_SWAR_HIGHS);
    if (m) return i + (size_t)cxp_swar_first(m);
  }
#endif
  while (i < n && plain_tab[p[i]]) i++;
  return i;
}

/* The letter of a control byte's or quote's two-byte escape (\n, \"), or
 * 0 for a byte that takes \u00XX. */
static char short_escape(unsigned c) {
  switch (c) {
  case '"': return '"';
  case '\\': return '\\';
  case '\n': return 'n';
  case '\r': return 'r';
  case '\t': return 't';
  case '\b': return 'b';
  case '\f': return 'f';
  default: return 0;
  }
}

static void escape(cxp_buf *b, const char *s, size_t n) {
  static const char hx[] = "0123456789abcdef";
  const unsigned char *p = (const unsigned char *)s;
  /* Member names and most values are plain ASCII: one scan, one copy. */
  size_t run = plain_run(p, n);
  if (run == n) {
    cxp_buf_reserve(b, n + 2);
    char *o = b->p + b->len;
    o[0] = '"';
    memcpy(o + 1, s, n);
    o[n + 1] = '"';
    b->len += n + 2;
    b->p[b->len] = '\0';
    return;
  }
  cxp_buf_reserve(b, n + 2);
  b->p[b->len++] = '"';
  size_t i = 0;
  while (i < n) {
    /* Copy the run of bytes that need no escaping in one go. */
    size_t j = i + plain_run(p + i, n - i);
    if (j > i) {
      cxp_buf_put(b, s + i, j - i);
      i = j;
      if (i == n) break;
    }
    unsigned c = p[i];
    if (c >= 0x80) {
      size_t l = utf8_seq(p + i, n - i);
      if (l) {
        cxp_buf_put(b, s + i, l);
        i += l;
      } else {
        cxp_buf_put(b, "\\ufffd", 6);
        i++;
      }
      continue;
    }
    char e[7] = {'\\', short_escape(c), 0, 0, 0, 0, 0};
    size_t el = 2;
    if (e[1] == 0) {
      e[1] = 'u';
      e[2] = '0';
      e[3] = '0';
      e[4] = hx[c >> 4];
      e[5] = hx[c & 15];
      el = 6;
    }
    cxp_buf_put(b, e, el);
    i++;
  }
  cxp_buf_putc(b, '"');
}

size_t cxp_json_fit(const char *s, size_t n, size_t budget) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0, used = 0;
  while (i < n) {
    unsigned c = p[i];
    size_t in = 1, out = 1;
    if (c >= 0x80) {
      size_t l = utf8_seq(p + i, n - i);
      if (l)
        in = out = l;
      else
        out = 6; /* \ufffd */
    } else if (!plain_tab[c]) {
      out = short_escape(c) ? 2 : 6; /* \n or \u00XX */
    }
    if (used + out > budget) break;
    used += out;
    i += in;
  }
  return i;
}

static void member(cxp_jw *w, const char *key) {
  cxp_buf *b = w->b;
  int comma = w->has_item[w->depth];
  w->has_item[w->depth] = 1;
  size_t n = 0;
  /* The names are the program's own and plain: one pass finds the length
   * and that nothing needs escaping, and one copy writes the separator,
   * the quoted name and the colon (the name's own escape and strlen were
   * half the cost of an alert's members). */
  if (key)
    while (plain_tab[(unsigned char)key[n]]) n++;
  if (key == NULL || key[n] != '\0') {
    if (comma) cxp_buf_putc(b, ',');
    if (key) {
      escape(b, key, strlen(key));
      cxp_buf_putc(b, ':');
    }
    return;
  }
  cxp_buf_reserve(b, n + 4);
  char *o = b->p + b->len;
  *o = ',';
  o += comma;
  *o++ = '"';
  memcpy(o, key, n);
  o += n;
  *o++ = '"';
  *o++ = ':';
  b->len = (size_t)(o - b->p);
  b->p[b->len] = '\0';
}

/* Writes v in decimal, as "%lld" does, into out[20+]; returns the length.
 * vsnprintf for a handful of digits was a quarter of the cost of an alert. */
static size_t fmt_ll(char *out, long long v) {
  char t[20];
  size_t n = 0, k = 0;
  /* Negated as unsigned, so that LLONG_MIN does not overflow. */
  unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
  do {
    t[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u != 0);
  if (v < 0) out[k++] = '-';
  while (n > 0) out[k++] = t[--n];
  return k;
}

static void put_ll(cxp_buf *b, long long v) {
  char t[24];
  cxp_buf_put(b, t, fmt_ll(t, v));
}

static void open_(cxp_jw *w, const char *key, char c) {
  member(w, key);
  cxp_buf_putc(w->b, c);
  /* Outputs nest three levels at most; deeper would be a bug, not data. */
  if (w->depth < CXP_JW_DEPTH - 1) w->depth++;
  w->has_item[w->depth] = 0;
  w->closer[w->depth] = c == '{' ? '}' : ']';
}

void cxp_jw_key(cxp_jw *w, const char *key) { member(w, key); }

void cxp_jw_obj(cxp_jw *w, const char *key) { open_(w, key, '{'); }
void cxp_jw_arr(cxp_jw *w, const char *key) { open_(w, key, '['); }

void cxp_jw_end(cxp_jw *w) {
  if (w->depth == 0) return;
  cxp_buf_putc(w->b, w->closer[w->depth]);
  w->depth--;
}

void cxp_jw_str(cxp_jw *w, const char *key, const char *s, size_t n) {
  member(w, key);
  escape(w->b, s, n);
}

void cxp_jw_cstr(cxp_jw *w, const char *key, const char *s) {
  if (s == NULL)
    cxp_jw_null(w, key);
  else
    cxp_jw_str(w, key, s, strlen(s));
}

void cxp_jw_int(cxp_jw *w, const char *key, long long v) {
  member(w, key);
  put_ll(w->b, v);
}

/* "%.6g" of v for 1e-4 <= |v| < 999999.5, where it is fixed-point: the six
 * significant digits are the exact value times 10^(5 - e) (e its decimal
 * exponent) rounded to an integer. That product is computed in one rounding
 * (10^k is exact for k <= 9), off the exact one by under 1e-10, so its
 * rounding is the exact one's unless the fraction lies within 1e-6 of a
 * half: there (and outside the range, or when e is off near a power of
 * ten) this returns 0 and printf decides. Otherwise the length written
 * into out[16+]. test_jsonw compares the two on millions of values. */
size_t cxp_fmt_g6(char *out, double v) {
  static const double p10[10] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
  double a = fabs(v);
  if (!(a >= 1e-4 && a < 999999.5)) return 0;
  int e = 5; /* a near a power of ten may get the wrong e: scaled tells */
  static const double lo[10] = {1e5, 1e4, 1e3, 1e2, 1e1, 1e0, 1e-1, 1e-2, 1e-3, 0};
  for (int i = 0; a < lo[i]; i++) e--;
  double scaled = a * p10[5 - e];
  if (!(scaled >= 100000 && scaled < 999999.5)) return 0;
  double fl = floor(scaled), fr = scaled - fl;
  if (fabs(fr - 0.5) < 1e-6) return 0;
  /* At most 999,999: scaled under 999,999.5 never rounds up past it. */
  unsigned n = (unsigned)fl + (fr > 0.5);
  char d[6];
  for (int i = 5; i >= 0; i--) {
    d[i] = (char)('0' + n % 10);
    n /= 10;
  }
  int last = 5; /* the last digit kept: trailing zeros go */
  while (last > 0 && d[last] == '0') last--;
  size_t k = 0;
  if (v < 0) out[k++] = '-';
  if (e >= 0) {
    for (int i = 0; i <= e; i++) out[k++] = d[i];
    if (last > e) {
      out[k++] = '.';
      for (int i = e + 1; i <= last; i++) out[k++] = d[i];
    }
  } else {
    out[k++] = '0';
    out[k++] = '.';
    for (int i = -1; i > e; i--) out[k++] = '0';
    for (int i = 0; i <= last; i++) out[k++] = d[i];
  }
  return k;
}

void cxp_jw_num(cxp_jw *w, const char *key, double v) {
  member(w, key);
  if (!isfinite(v)) {
    cxp_buf_put(w->b, "null", 4);
  } else if (v == floor(v) && fabs(v) < 1e15) {
    put_ll(w->b, (long long)v);
  } else {
    /* Six significant decimals: indicators are read by people and
     * dashboards; more digits would only expose floating-point noise. */
    char t[16];
    size_t n = cxp_fmt_g6(t, v);
    if (n)
      cxp_buf_put(w->b, t, n);
    else
      cxp_buf_printf(w->b, "%.6g", v);
  }
}

void cxp_jw_fixed(cxp_jw *w, const char *key, double v, int decimals) {
  member(w, key);
  if (!isfinite(v)) {
    cxp_buf_put(w->b, "null", 4);
    return;
  }
  /* Room for the largest double's 309 digits, a sign, a point and nine
   * decimals. */
  char s[330];
  int d = decimals < 0 ? 0 : decimals > 9 ? 9 : decimals;
  int n = snprintf(s, sizeof s, "%.*f", d, v);
  if (d > 0) {
    while (s[n - 1] == '0') n--;
    if (s[n - 1] == '.') n--;
  }
  if (n == 2 && s[0] == '-' && s[1] == '0') {
    s[0] = '0'; /* a small negative rounded to nothing */
    n = 1;
  }
  cxp_buf_put(w->b, s, (size_t)n);
}

void cxp_jw_bool(cxp_jw *w, const char *key, int v) {
  member(w, key);
  cxp_buf_puts(w->b, v ? "true" : "false");
}

void cxp_jw_null(cxp_jw *w, const char *key) {
  member(w, key);
  cxp_buf_put(w->b, "null", 4);
}

void cxp_jw_raw(cxp_jw *w, const char *key, const char *json) {
  member(w, key);
  cxp_buf_puts(w->b, json);
}

void cxp_jw_time(cxp_jw *w, const char *key, int64_t ms) {
  char t[25];
  cxp_time_format(ms, t);
  t[24] = '"'; /* the closing quote goes where the NUL was: one copy */
  member(w, key);
  cxp_buf_putc(w->b, '"');
  cxp_buf_put(w->b, t, 25);
}
