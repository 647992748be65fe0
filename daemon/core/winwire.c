#include "winwire.h"

#include <stdio.h>
#include <string.h>

#include "hash.h"
#include "varint.h"
#include "fail.h"

#define WIRE_VERSION 1

int32_t cxp_wire_dest(int64_t length_ms, int64_t start_ms, int32_t n) {
  if (n <= 1) return 0;
  uint64_t h = cxp_hash_mix((uint64_t)start_ms * 0x9e3779b97f4a7c15ULL ^ (uint64_t)length_ms);
  return (int32_t)(h % (uint64_t)n);
}

void cxp_wire_begin(cxp_buf *b, int32_t input, int64_t watermark) {
  cxp_buf_reset(b);
  cxp_put_u8(b, CXP_WIRE_MAGIC);
  cxp_put_u8(b, WIRE_VERSION);
  cxp_put_z(b, input);
  cxp_put_z(b, watermark);
}

void cxp_wire_put(cxp_buf *b, const cxp_window_partial *p) {
  cxp_put_u8(b, (unsigned)(p->early != 0) | (unsigned)(p->late != 0) << 1);
  cxp_put_z(b, p->length_ms);
  cxp_put_z(b, p->start_ms);
  cxp_put_z(b, p->first_offset);
  cxp_put_z(b, p->last_offset);
  cxp_put_u8(b, (unsigned)p->n_fields);
  for (int f = 0; f < p->n_fields; f++) {
    cxp_put_u8(b, (unsigned)p->fields[f]);
    cxp_put_v(b, p->value_len[f]);
    cxp_buf_put(b, p->value[f], p->value_len[f]);
  }
  cxp_window_agg_put(b, &p->agg);
}

int cxp_wire_is(const char *s, size_t n) {
  return n >= 2 && (unsigned char)s[0] == CXP_WIRE_MAGIC;
}

int cxp_wire_open(cxp_wire_rd *r, const char *s, size_t n, char *err, size_t errlen) {
  cxp_rd rd = {(const uint8_t *)s, (const uint8_t *)s + n, 0};
  unsigned magic = cxp_get_u8(&rd), ver = cxp_get_u8(&rd);
  int64_t input = cxp_get_z(&rd), wm = cxp_get_z(&rd);
  if (rd.bad || magic != CXP_WIRE_MAGIC) CXP_FAIL("not a window record");
  if (ver != WIRE_VERSION) CXP_FAIL("window record of version %u, this build reads %d", ver,
                                WIRE_VERSION);
  if (input < 0 || input > 0xffff) CXP_FAIL("window record of input partition %lld",
                                        (long long)input);
  r->p = rd.p;
  r->end = rd.end;
  r->input = (int32_t)input;
  r->watermark = wm;
  return 0;
}

int cxp_wire_next(cxp_wire_rd *r, cxp_window_partial *p, char *err, size_t errlen) {
  if (r->p == r->end) return 0;
  cxp_rd rd = {r->p, r->end, 0};
  memset(p, 0, sizeof *p);
  unsigned flags = cxp_get_u8(&rd);
  p->length_ms = cxp_get_z(&rd);
  p->start_ms = cxp_get_z(&rd);
  p->first_offset = cxp_get_z(&rd);
  p->last_offset = cxp_get_z(&rd);
  unsigned nf = cxp_get_u8(&rd);
  if (rd.bad || flags > 3) CXP_FAIL("window record: a malformed item");
  if (!cxp_window_span_ok(p->length_ms, p->start_ms))
    CXP_FAIL("window record: an item's window (length %lld, start %lld) is out of range",
         (long long)p->length_ms, (long long)p->start_ms);
  if (!((p->first_offset == -1 && p->last_offset == -1) ||
        (p->first_offset >= 0 && p->last_offset >= p->first_offset)))
    CXP_FAIL("window record: an item's input offsets %lld..%lld", (long long)p->first_offset,
         (long long)p->last_offset);
  if (nf > CXP_WIN_MAX_FIELDS) CXP_FAIL("window record: an item with %u group fields", nf);
  p->n_fields = (int)nf;
  for (unsigned f = 0; f < nf; f++) {
    unsigned id = cxp_get_u8(&rd);
    uint64_t len = cxp_get_v(&rd);
    if (rd.bad || id >= CXP_WF__COUNT || len > CXP_WIN_VALUE_MAX)
      CXP_FAIL("window record: an item's group field %u is malformed", f);
    const uint8_t *v = cxp_get_bytes(&rd, (size_t)len);
    if (v == NULL) CXP_FAIL("window record: an item's group value is cut short");
    p->fields[f] = (cxp_window_field)id;
    p->value_len[f] = (uint8_t)len;
    memcpy(p->value[f], v, (size_t)len);
    p->value[f][len] = '\0';
  }
  if (cxp_window_agg_get(&rd, &p->agg) != 0)
    CXP_FAIL("window record: an item's aggregate is out of range or inconsistent");
  p->end_ms = p->start_ms + p->length_ms;
  p->early = (int)(flags & 1);
  p->late = (int)(flags >> 1 & 1);
  p->partition = r->input;
  r->p = rd.p;
  return 1;
}
