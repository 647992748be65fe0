#include "staterec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "varint.h"
#include "fail.h"

void cxp_staterec_write(cxp_buf *b, const cxp_customer *cu, const char *seg, const void *ext,
                        size_t ext_len) {
  size_t sl = seg ? strlen(seg) : 0;
  /* The record's bound, reserved once: a varint's 10 bytes for each varint
   * (five times, the landmarks, the sums, the alert stamps, responses, the
   * extension's length), the fixed bytes in the order written below
   * (version, id length, segment length; the three counts of landmarks,
   * sums and ring; clv; the ring and its position; the counts of stamps and
   * dimensions; the dimensions; six one-byte fields), the id, segment and
   * extension. */
  enum {
    VARINTS = 5 + CXP_HL__COUNT + CXP_S__COUNT + CXP_AL_CUSTOMER + 1 + 1,
    FIXED = 3 + 3 + 8 + 4 * CXP_DEDUP_RING + 1 + 2 + CXP_SQ__COUNT + 6
  };
  cxp_buf_reserve(b, FIXED + 10 * VARINTS + cu->id_len + sl + ext_len);
  uint8_t *o = cxp_enc_at(b);
  *o++ = CXP_STATEREC_VERSION;
  *o++ = cu->id_len;
  memcpy(o, cu->id, cu->id_len);
  o += cu->id_len;
  *o++ = (uint8_t)sl;
  if (sl) memcpy(o, seg, sl);
  o += sl;
  o = cxp_enc_z(o, cu->last_offset);
  o = cxp_enc_z(o, cu->last_ts_ms);
  o = cxp_enc_z(o, cu->last_active_ms);
  o = cxp_enc_z(o, cu->nps_last_ts_ms);
  o = cxp_enc_z(o, cu->resolved_ms);
  *o++ = CXP_HL__COUNT;
  for (int i = 0; i < CXP_HL__COUNT; i++) o = cxp_enc_z(o, cu->landmark_ms[i]);
  *o++ = CXP_S__COUNT;
  for (int i = 0; i < CXP_S__COUNT; i++) o = cxp_enc_z(o, cu->sum[i]);
  uint64_t clv;
  memcpy(&clv, &cu->clv, 8);
  o = cxp_enc_le(o, clv, 8);
  *o++ = CXP_DEDUP_RING;
  for (int i = 0; i < CXP_DEDUP_RING; i++) o = cxp_enc_le(o, cu->recent[i], 4);
  *o++ = cu->recent_pos;
  *o++ = CXP_AL_CUSTOMER;
  for (int i = 0; i < CXP_AL_CUSTOMER; i++) o = cxp_enc_v(o, cu->alerted_s[i]);
  o = cxp_enc_v(o, cu->responses);
  *o++ = CXP_SQ__COUNT;
  for (int i = 0; i < CXP_SQ__COUNT; i++) *o++ = cu->sq_responses[i];
  *o++ = (uint8_t)(cu->nps_last_score + 1);
  *o++ = cu->consent;
  *o++ = cu->cohort;
  *o++ = cu->post_pending;
  *o++ = cu->churn_band;
  *o++ = cu->open_cases;
  o = cxp_enc_v(o, ext_len);
  if (ext_len) memcpy(o, ext, ext_len);
  cxp_enc_done(b, o + ext_len);
}

/* The times and sums of a decoded record (staterec.h: what a restored
 * record may hold). Each of these feeds arithmetic later: the case clock
 * starts at last_ts (cxp_cases_clock_hint), a decay landmark is subtracted
 * from event times and moved along its grid (decay.c), a sum is added to
 * with saturation that assumes it is not negative. The alert stamps need no
 * check: 32 bits of seconds since 2000 is their range, and the cooldown
 * arithmetic on them (customer.c) cannot overflow. */
static int range_check(const cxp_customer *t, char *err, size_t errlen, int il, const char *id) {
  static const char *const time_name[] = {"last_ts", "last_active", "nps_last_ts", "resolved"};
  const int64_t times[] = {t->last_ts_ms, t->last_active_ms, t->nps_last_ts_ms, t->resolved_ms};
  if (t->last_offset < -1)
    CXP_FAIL("state record of customer '%.*s': last_offset %lld, expected -1 or more", il, id,
         (long long)t->last_offset);
  for (int i = 0; i < 4; i++)
    if (!cxp_staterec_time_or_0(times[i]))
      CXP_FAIL("state record of customer '%.*s': %s %lld ms lies outside 2000..2099", il, id,
           time_name[i], (long long)times[i]);
  /* A landmark is the largest event time folded into its family rounded
   * down to its grid (which may lie before 2000), and every event folded
   * moved last_ts first: 0 (nothing folded) up to last_ts. */
  for (int f = 0; f < CXP_HL__COUNT; f++)
    if (t->landmark_ms[f] < 0 || t->landmark_ms[f] > t->last_ts_ms)
      CXP_FAIL("state record of customer '%.*s': decay landmark %d at %lld ms, expected 0..%lld "
           "(his latest event)", il, id, f, (long long)t->landmark_ms[f],
           (long long)t->last_ts_ms);
  for (int i = 0; i < CXP_S__COUNT; i++)
    if (t->sum[i] < 0)
      CXP_FAIL("state record of customer '%.*s': decayed sum %d is negative (%lld)", il, id, i,
           (long long)t->sum[i]);
  /* The decoder's bound on a profile's clv; -1 is unknown. */
  if (!(t->clv == -1 || (t->clv >= 0 && t->clv <= 1e12)))
    CXP_FAIL("state record of customer '%.*s': clv %g, expected -1 or 0..1e12", il, id, t->clv);
  return 0;
}

int cxp_staterec_read(const uint8_t *p, size_t n, cxp_state *s, cxp_shard *sh,
                      cxp_customer **out, const uint8_t **ext, size_t *ext_len, char *err,
                      size_t errlen) {
  *ext = NULL;
  *ext_len = 0;
  cxp_rd r = {p, p + n, 0};
  unsigned version = cxp_get_u8(&r);
  if (r.bad) CXP_FAIL("empty state record");
  if (version < 1 || version > CXP_STATEREC_VERSION)
    CXP_FAIL("state record version %u; this build reads versions 1 to %d", version,
         CXP_STATEREC_VERSION);
  unsigned il = cxp_get_u8(&r);
  const uint8_t *id = cxp_get_bytes(&r, il);
  unsigned sl = cxp_get_u8(&r);
  const uint8_t *seg = cxp_get_bytes(&r, sl);
  /* Ids and segments are what the decoder let in: 1..128 and 1..64 bytes,
   * no NUL (a NUL would cut the name the state interns). */
  if (r.bad || il == 0 || il > CXP_ID_MAX || memchr(id, '\0', il))
    CXP_FAIL("state record: bad customer id");
  if (sl > CXP_SEG_MAX || (sl && memchr(seg, '\0', sl)))
    CXP_FAIL("state record of customer '%.*s': bad segment name", (int)il, id);
  /* Decoded into a scratch copy first: a bad record changes nothing. Only
   * the fields before id_len are decoded and copied, so the copy needs no
   * room for an id (a struct around it for one is a GNU extension). */
  cxp_customer tmp;
  memset(&tmp, 0, sizeof tmp);
  cxp_customer *t = &tmp;
  t->last_offset = cxp_get_z(&r);
  t->last_ts_ms = cxp_get_z(&r);
  t->last_active_ms = cxp_get_z(&r);
  t->nps_last_ts_ms = cxp_get_z(&r);
  t->resolved_ms = cxp_get_z(&r);
  unsigned k = cxp_get_count(&r, CXP_HL__COUNT);
  for (unsigned i = 0; i < k && !r.bad; i++) t->landmark_ms[i] = cxp_get_z(&r);
  k = cxp_get_count(&r, CXP_S__COUNT);
  for (unsigned i = 0; i < k && !r.bad; i++) t->sum[i] = cxp_get_z(&r);
  t->clv = cxp_get_f64(&r);
  k = cxp_get_count(&r, CXP_DEDUP_RING);
  for (unsigned i = 0; i < k && !r.bad; i++) t->recent[i] = (uint32_t)cxp_get_le(&r, 4);
  t->recent_pos = (uint8_t)cxp_get_u8(&r);
  k = cxp_get_count(&r, CXP_AL_CUSTOMER);
  for (unsigned i = 0; i < k && !r.bad; i++) t->alerted_s[i] = (uint32_t)cxp_get_v(&r);
  t->responses = (uint16_t)cxp_get_v(&r);
  k = cxp_get_count(&r, CXP_SQ__COUNT);
  for (unsigned i = 0; i < k && !r.bad; i++) t->sq_responses[i] = (uint8_t)cxp_get_u8(&r);
  t->nps_last_score = (int8_t)((int)cxp_get_u8(&r) - 1);
  t->consent = (uint8_t)cxp_get_u8(&r);
  t->cohort = (uint8_t)cxp_get_u8(&r);
  t->post_pending = (uint8_t)cxp_get_u8(&r);
  t->churn_band = (uint8_t)cxp_get_u8(&r);
  t->open_cases = (uint8_t)cxp_get_u8(&r);
  /* Version 2 adds the customer's cases section (its own format: cases.h). */
  size_t el = version >= 2 ? (size_t)cxp_get_v(&r) : 0;
  const uint8_t *e = el ? cxp_get_bytes(&r, el) : NULL;
  if (r.bad == 2) CXP_FAIL("state record of customer '%.*s': written by a newer build", (int)il, id);
  if (r.bad) CXP_FAIL("state record of customer '%.*s': truncated", (int)il, id);
  if (r.p != r.end) CXP_FAIL("state record of customer '%.*s': trailing bytes", (int)il, id);
  if (t->recent_pos >= CXP_DEDUP_RING || t->consent > 1 || t->cohort > 3 || t->post_pending > 1 ||
      t->churn_band > 2 || t->nps_last_score < -1 || t->nps_last_score > 10)
    CXP_FAIL("state record of customer '%.*s': a field out of range", (int)il, id);
  if (range_check(t, err, errlen, (int)il, (const char *)id) != 0) return -1;
  cxp_customer *cu = cxp_shard_get(s, sh, (const char *)id, il);
  if (cu == NULL) CXP_FAIL("state record: cannot hold customer '%.*s'", (int)il, id);
  /* Everything after the identity (hash) up to id_len comes from the
   * record; id and his place on the dirty list stay. */
  uint64_t hash = cu->hash;
  size_t head = offsetof(cxp_customer, last_offset), tail = offsetof(cxp_customer, id_len);
  memcpy((char *)cu + head, (const char *)t + head, tail - head);
  cu->hash = hash;
  cu->segment = sl ? cxp_state_segment_id(s, (const char *)seg, sl) : 0;
  if (out) *out = cu;
  *ext = e;
  *ext_len = el;
  return 0;
}

int cxp_staterec_apply(cxp_state *s, int32_t partition, const char *key, size_t klen,
                       const void *val, size_t vlen, cxp_customer **out, const uint8_t **ext,
                       size_t *ext_len, char *err, size_t errlen) {
  *out = NULL;
  *ext = NULL;
  *ext_len = 0;
  size_t pl = sizeof CXP_CL_CUSTOMER - 1;
  if (klen <= pl || memcmp(key, CXP_CL_CUSTOMER, pl) != 0) {
    snprintf(err, errlen, "changelog key '%.*s' is of no kind this build knows",
             (int)(klen > 64 ? 64 : klen), key);
    return -1;
  }
  cxp_shard *sh = cxp_state_shard(s, partition);
  if (sh == NULL) {
    snprintf(err, errlen, "changelog record of partition %d", (int)partition);
    return -1;
  }
  if (val == NULL) {
    cxp_shard_remove(s, sh, key + pl, klen - pl);
    return 0;
  }
  /* The record's own id must be its key's: a record filed under one
   * customer would otherwise replace another, and his tombstone (by key)
   * would miss him. The id follows the version byte and its length byte (a
   * record too short for it is refused below, as truncated). */
  const uint8_t *v = val;
  size_t il = vlen >= 2 ? v[1] : 0;
  if (vlen >= 2 && il <= vlen - 2 && (il != klen - pl || memcmp(v + 2, key + pl, il) != 0)) {
    snprintf(err, errlen, "changelog record '%.*s': the state record is of another customer",
             (int)(klen > 64 ? 64 : klen), key);
    return -1;
  }
  return cxp_staterec_read(val, vlen, s, sh, out, ext, ext_len, err, errlen);
}

void cxp_staterec_frame(cxp_buf *b, const cxp_customer *cu, const char *seg, const void *ext,
                        size_t ext_len) {
  size_t pl = sizeof CXP_CL_CUSTOMER - 1;
  cxp_put_le(b, pl + cu->id_len, 4);
  cxp_buf_put(b, CXP_CL_CUSTOMER, pl);
  cxp_buf_put(b, cu->id, cu->id_len);
  size_t at = b->len;
  cxp_put_le(b, 0, 4);
  cxp_staterec_write(b, cu, seg, ext, ext_len);
  uint32_t vl = (uint32_t)(b->len - at - 4);
  for (int i = 0; i < 4; i++) b->p[at + (size_t)i] = (char)(vl >> (8 * i));
}

void cxp_staterec_frame_put(cxp_buf *b, const char *prefix, const char *key, size_t klen,
                            const void *val, size_t vlen) {
  size_t pl = strlen(prefix);
  cxp_put_le(b, pl + klen, 4);
  cxp_buf_put(b, prefix, pl);
  cxp_buf_put(b, key, klen);
  cxp_put_le(b, val ? vlen : 0xffffffffu, 4);
  if (val && vlen) cxp_buf_put(b, val, vlen);
}

void cxp_staterec_frame_tombstone(cxp_buf *b, const char *id, size_t len) {
  cxp_staterec_frame_put(b, CXP_CL_CUSTOMER, id, len, NULL, 0);
}

static uint32_t le32(const char *p) {
  const uint8_t *u = (const uint8_t *)p;
  return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
}

int cxp_staterec_frame_next(const char *b, size_t len, size_t *pos, const char **key,
                            size_t *klen, const uint8_t **val, size_t *vlen) {
  size_t p = *pos;
  if (len - p < 4) return 0;
  size_t kl = le32(b + p);
  if (len - p - 4 < kl + 4) return 0;
  size_t vl = le32(b + p + 4 + kl);
  *key = b + p + 4;
  *klen = kl;
  if (vl == 0xffffffffu) {
    *val = NULL;
    *vlen = 0;
    *pos = p + 8 + kl;
    return 1;
  }
  if (len - p - 8 - kl < vl) return 0;
  *val = (const uint8_t *)b + p + 8 + kl;
  *vlen = vl;
  *pos = p + 8 + kl + vl;
  return 1;
}

int cxp_staterec_key_num(const char **k, const char *end, long long *out) {
  const char *colon = memchr(*k, ':', (size_t)(end - *k));
  if (colon == NULL || colon == *k || colon - *k > 20) return -1;
  char num[24], *e;
  memcpy(num, *k, (size_t)(colon - *k));
  num[colon - *k] = '\0';
  *out = strtoll(num, &e, 10);
  if (*e) return -1;
  *k = colon + 1;
  return 0;
}
