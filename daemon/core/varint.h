/* The byte-level codec of cxpulse's binary records (staterec.h's customer
 * records and the cases section cases.h appends to them): LEB128 varints,
 * zigzag varints for signed values, little-endian fixed widths. A reader
 * never runs past its end: a short or malformed input sets `bad` and every
 * later read returns 0, so a decoder checks once, at the end. */
#ifndef CXP_VARINT_H
#define CXP_VARINT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "jsonw.h"

static inline void cxp_put_u8(cxp_buf *b, unsigned v) { cxp_buf_putc(b, (char)(v & 0xff)); }

/* The encoders at a cursor o, with room known to be there (10 bytes for a
 * varint, `bytes` for a fixed width): each returns the cursor past what it
 * wrote. A record of many fields reserves its bound once and writes through
 * these (staterec.c); the cxp_put_* forms below reserve for one field. */
static inline uint8_t *cxp_enc_v(uint8_t *o, uint64_t v) {
  for (; v >= 0x80; v >>= 7) *o++ = (uint8_t)(v | 0x80);
  *o++ = (uint8_t)v;
  return o;
}

/* A zero, the commonest value in the records' counters and aggregates, is
 * its one byte without the zigzag and the loop (a window's aggregate on a
 * slow stream: 486e6 instructions with them, 413e6 without). */
static inline uint8_t *cxp_enc_z(uint8_t *o, int64_t v) {
  if (v != 0) return cxp_enc_v(o, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
  *o = 0;
  return o + 1;
}

static inline uint8_t *cxp_enc_le(uint8_t *o, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++) o[i] = (uint8_t)(v >> (8 * i));
  return o + bytes;
}

/* The cursor of b's end, and b's end moved to a cursor (the NUL after it
 * kept, as cxp_buf_put keeps it). */
static inline uint8_t *cxp_enc_at(cxp_buf *b) { return (uint8_t *)b->p + b->len; }
static inline void cxp_enc_done(cxp_buf *b, uint8_t *o) {
  b->len = (size_t)((char *)o - b->p);
  b->p[b->len] = '\0';
}

static inline void cxp_put_v(cxp_buf *b, uint64_t v) {
  cxp_buf_reserve(b, 10);
  cxp_enc_done(b, cxp_enc_v(cxp_enc_at(b), v));
}

static inline void cxp_put_z(cxp_buf *b, int64_t v) {
  cxp_buf_reserve(b, 10);
  cxp_enc_done(b, cxp_enc_z(cxp_enc_at(b), v));
}

static inline void cxp_put_le(cxp_buf *b, uint64_t v, int bytes) {
  cxp_buf_reserve(b, 8);
  cxp_enc_done(b, cxp_enc_le(cxp_enc_at(b), v, bytes));
}

/* A double as its 8 IEEE 754 bytes, little-endian. */
static inline void cxp_put_f64(cxp_buf *b, double v) {
  uint64_t u;
  memcpy(&u, &v, 8);
  cxp_put_le(b, u, 8);
}

/* bad: 1 short or malformed; 2 a count past what this build holds (a newer
 * writer). */
typedef struct cxp_rd {
  const uint8_t *p, *end;
  int bad;
} cxp_rd;

static inline unsigned cxp_get_u8(cxp_rd *r) {
  if (r->p >= r->end) {
    r->bad = r->bad ? r->bad : 1;
    return 0;
  }
  return *r->p++;
}

/* The decoders at a cursor p with ten bytes known to be there (the longest
 * varint), the mirror of cxp_enc_*: the value in *v, the cursor past it;
 * NULL past ten bytes (not a varint we wrote). A reader of many fields
 * keeps its cursor in a local through these: through cxp_rd, each byte's
 * store to r->p made the compiler load the reader again for the next one. */
static inline const uint8_t *cxp_dec_v(const uint8_t *p, uint64_t *v) {
  uint64_t x = *p++;
  if (x & 0x80) { /* most values are one byte: no loop for them */
    x &= 0x7f;
    for (int shift = 7;; shift += 7) {
      unsigned byte = *p++;
      x |= (uint64_t)(byte & 0x7f) << shift;
      if (!(byte & 0x80)) break;
      if (shift == 63) return NULL;
    }
  }
  *v = x;
  return p;
}

static inline int64_t cxp_unzigzag(uint64_t v) {
  return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static inline uint64_t cxp_get_v(cxp_rd *r) {
  uint64_t v = 0;
  /* Ten bytes left (the longest varint): no check of the end per byte. */
  if (!r->bad && r->end - r->p >= 10) {
    const uint8_t *p = cxp_dec_v(r->p, &v);
    if (p == NULL) {
      r->p += 10;
      r->bad = 1;
      return 0;
    }
    r->p = p;
    return v;
  }
  for (int shift = 0; shift < 64; shift += 7) {
    unsigned byte = cxp_get_u8(r);
    if (r->bad) return 0;
    v |= (uint64_t)(byte & 0x7f) << shift;
    if (!(byte & 0x80)) return v;
  }
  r->bad = 1; /* more than 10 bytes: not a varint we wrote */
  return 0;
}

static inline int64_t cxp_get_z(cxp_rd *r) {
  return cxp_unzigzag(cxp_get_v(r));
}

static inline uint64_t cxp_get_le(cxp_rd *r, int bytes) {
  if (r->end - r->p < bytes) {
    r->bad = r->bad ? r->bad : 1;
    return 0;
  }
  uint64_t v = 0;
  for (int i = 0; i < bytes; i++) v |= (uint64_t)r->p[i] << (8 * i);
  r->p += bytes;
  return v;
}

static inline const uint8_t *cxp_get_bytes(cxp_rd *r, size_t n) {
  if ((size_t)(r->end - r->p) < n) {
    r->bad = r->bad ? r->bad : 1;
    return NULL;
  }
  const uint8_t *q = r->p;
  r->p += n;
  return q;
}

static inline double cxp_get_f64(cxp_rd *r) {
  uint64_t u = cxp_get_le(r, 8);
  double v;
  memcpy(&v, &u, 8);
  return v;
}

/* A count no larger than today's array, else the record is refused. */
static inline unsigned cxp_get_count(cxp_rd *r, unsigned max) {
  unsigned n = cxp_get_u8(r);
  if (n > max) r->bad = 2;
  return n;
}

#endif
