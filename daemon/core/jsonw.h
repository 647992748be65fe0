/* A growable byte buffer and a small JSON writer over it. Outputs are
 * written straight into a buffer the core reuses for every event, so the hot
 * path builds no cJSON trees and allocates nothing once warm. */
#ifndef CXP_JSONW_H
#define CXP_JSONW_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct cxp_buf {
  char *p;
  size_t len, cap;
} cxp_buf;

void cxp_buf_init(cxp_buf *b);
void cxp_buf_free(cxp_buf *b);
static inline void cxp_buf_reset(cxp_buf *b) { b->len = 0; }
/* Grows b to hold `extra` more bytes and a NUL: the rare, out-of-line half
 * of cxp_buf_reserve. */
void cxp_buf_grow(cxp_buf *b, size_t extra);

/* Room for `extra` more bytes and the NUL after them. The appenders below
 * are inline: the binary codecs (varint.h) and the JSON writer call them a
 * hundred times a record, and a call each was a third of a customer
 * record's encoding. */
static inline void cxp_buf_reserve(cxp_buf *b, size_t extra) {
  if (b->cap - b->len <= extra) cxp_buf_grow(b, extra);
}

static inline void cxp_buf_put(cxp_buf *b, const void *s, size_t n) {
  cxp_buf_reserve(b, n);
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static inline void cxp_buf_putc(cxp_buf *b, char c) {
  cxp_buf_reserve(b, 1);
  b->p[b->len++] = c;
  b->p[b->len] = '\0';
}

void cxp_buf_puts(cxp_buf *b, const char *s);
void cxp_buf_printf(cxp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* 1 when s[0..n) is well-formed UTF-8. */
int cxp_utf8_valid(const char *s, size_t n);
/* Appends the standard base64 encoding of s[0..n). */
void cxp_base64(cxp_buf *b, const void *s, size_t n);

/* How many of the bytes s[0..n) fit, escaped as a JSON string's contents
 * (quotes not counted), in `budget` bytes; never splits a UTF-8 sequence,
 * so the prefix is written as cxp_jw_str would write it. */
size_t cxp_json_fit(const char *s, size_t n, size_t budget);

#define CXP_JW_DEPTH 16
typedef struct cxp_jw {
  cxp_buf *b;
  int depth;
  unsigned char has_item[CXP_JW_DEPTH];
  char closer[CXP_JW_DEPTH]; /* '}' or ']' for each open level */
} cxp_jw;

/* "%.6g" of v into out[16+] where a fast exact path can write it (see
 * jsonw.c); 0 where it leaves it to printf. */
size_t cxp_fmt_g6(char *out, double v);

/* Every writer takes the member name (NULL inside arrays) first. */
void cxp_jw_init(cxp_jw *w, cxp_buf *b);
void cxp_jw_obj(cxp_jw *w, const char *key);
void cxp_jw_arr(cxp_jw *w, const char *key);
void cxp_jw_end(cxp_jw *w); /* closes the innermost object or array */
/* A string, escaped; invalid UTF-8 bytes become U+FFFD. */
void cxp_jw_str(cxp_jw *w, const char *key, const char *s, size_t n);
void cxp_jw_cstr(cxp_jw *w, const char *key, const char *s); /* NULL writes null */
void cxp_jw_int(cxp_jw *w, const char *key, long long v);
void cxp_jw_num(cxp_jw *w, const char *key, double v); /* NaN/inf write null */
/* v rounded to `decimals` places (0..9), trailing zeros dropped: 71.43, 2.5,
 * 3 (not 3.00), 0 (not -0); NaN/inf write null. Rounding is printf's, of
 * the binary value: 2.675 is a little under, so 2.67. */
void cxp_jw_fixed(cxp_jw *w, const char *key, double v, int decimals);
void cxp_jw_bool(cxp_jw *w, const char *key, int v);
void cxp_jw_null(cxp_jw *w, const char *key);
void cxp_jw_raw(cxp_jw *w, const char *key, const char *json); /* pre-rendered */
void cxp_jw_time(cxp_jw *w, const char *key, int64_t ms);      /* RFC 3339 */
/* Writes the separator and the member name only; the caller appends the
 * value to w->b itself. */
void cxp_jw_key(cxp_jw *w, const char *key);

#endif
