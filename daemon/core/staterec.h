/* A customer's state as a compact, versioned binary record: what the
 * changelog topic and the snapshot files of durable state carry.
 * Pure: encoding and decoding only, no I/O.
 *
 * Layout (integers little-endian; "v" a LEB128 varint, "z" a zigzag varint):
 *   u8 version (1)
 *   u8 id length, id bytes; u8 segment length, segment bytes
 *   z last_offset, z last_ts, z last_active, z nps_last_ts, z resolved
 *   u8 n, then n x z landmark        (the decay landmarks, by half-life)
 *   u8 n, then n x z sum             (the fixed-point decayed sums)
 *   8 bytes clv (IEEE 754 double)
 *   u8 n, then n x u32 recent event-id hashes; u8 ring position
 *   u8 n, then n x v alert stamps    (by alert type)
 *   v responses; u8 n, then n x u8 per-dimension responses
 *   u8 nps_last_score + 1; u8 consent; u8 cohort; u8 post-recovery pending;
 *   u8 churn band; u8 open cases
 *   (version 2) v length, then that many bytes: the customer's cases section
 *   (cases.h: his open recovery cases and what the cases remember of him),
 *   length 0 when he has none
 * Counts travel with the arrays: a record written when there were fewer
 * sums or alert types reads into today's struct with the rest zero; more
 * than today's is refused (a newer writer); version 1 records (no cases
 * section) are still read. The record carries the input
 * offset it reflects (last_offset), which is what restoring needs to skip
 * events already applied. */
#ifndef CXP_STATEREC_H
#define CXP_STATEREC_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "jsonw.h"
#include "state.h"

#define CXP_STATEREC_VERSION 2

/* What a restored record may hold. A record comes from a topic or a file
 * that anyone with access can write, and what it sets (a customer's decay
 * landmarks, a partition's case clock and timing wheel, its window clock)
 * drives arithmetic and loops later on: every time, count and size read
 * from one is range-checked, and a record out of range is refused.
 *
 * Times are event times in epoch ms, which the decoder accepts within
 * 2000-01-01..2099-12-31 (event.h: CXP_TS_MIN_MS, CXP_TS_MAX_MS): nothing
 * the core derives from events lies outside that range but the dues worked
 * out from them, which are not restored but computed again. */
static inline int cxp_staterec_time_ok(int64_t ms) {
  return ms >= CXP_TS_MIN_MS && ms < CXP_TS_MAX_MS;
}
/* A time or 0 (none). */
static inline int cxp_staterec_time_or_0(int64_t ms) { return ms == 0 || cxp_staterec_time_ok(ms); }

/* Appends the record of cu (whose segment name is seg) to b, with ext_len
 * bytes of cases section (none: NULL, 0). */
void cxp_staterec_write(cxp_buf *b, const cxp_customer *cu, const char *seg, const void *ext,
                        size_t ext_len);

/* Who appends a customer's cases section (the core, from the partition's
 * cases) when records are written outside it (snapshots). */
typedef void (*cxp_staterec_ext_fn)(void *opaque, int32_t partition, const cxp_customer *cu,
                                    cxp_buf *ext);

/* Decodes one record of n bytes into the shard: the customer is created, or
 * overwritten when held; *out (when out is not NULL) gets him, and *ext,
 * *ext_len his cases section within p (NULL, 0: none), which the caller
 * hands to the partition's cases. 0, or -1 with a sentence in err
 * (truncated, unknown version, counts past today's, trailing bytes, a field
 * out of range: see cxp_staterec_time_ok and cxp_staterec_read's checks). */
int cxp_staterec_read(const uint8_t *p, size_t n, cxp_state *s, cxp_shard *sh,
                      cxp_customer **out, const uint8_t **ext, size_t *ext_len, char *err,
                      size_t errlen);

/* ---- Changelog records ---------------------------------------------------
 * The changelog topic (topics.changelog) is keyed by what a record is about:
 * "c:" and the customer id for a customer's state (the value his staterec,
 * or none: a tombstone). A batch waiting to be produced is a run of frames
 * in one buffer: u32 key length, key, u32 value length, value (length
 * 0xffffffff and no bytes: a tombstone). */
#define CXP_CL_CUSTOMER "c:"
#define CXP_CL_WINDOW "w:"        /* an open segment window (window.h) */
#define CXP_CL_WINDOW_CLOCK "wc:" /* a partition's window clock (window.h) */
#define CXP_CL_SYSTEMIC "sg:"     /* a systemic-failure group (cases.h) */
#define CXP_CL_LEARNER "lm:"      /* the partition's churn learner (learn.h), "lm:<partition>" */

/* Applies one changelog record of a partition to s: a customer's state
 * (replacing what is held under his id) or his tombstone (val NULL). 0, or
 * -1 with a sentence in err (a key of no kind this build knows, a record it
 * cannot read, one whose customer id is not its key's): nothing changed. *out, *ext and *ext_len as
 * cxp_staterec_read gives them (NULL, NULL, 0 for a tombstone). */
int cxp_staterec_apply(cxp_state *s, int32_t partition, const char *key, size_t klen,
                       const void *val, size_t vlen, cxp_customer **out, const uint8_t **ext,
                       size_t *ext_len, char *err, size_t errlen);

/* Appends the frame of cu's changelog record (ext as cxp_staterec_write). */
void cxp_staterec_frame(cxp_buf *b, const cxp_customer *cu, const char *seg, const void *ext,
                        size_t ext_len);

/* Appends a frame: key prefix and key, then the value (NULL: a tombstone). */
void cxp_staterec_frame_put(cxp_buf *b, const char *prefix, const char *key, size_t klen,
                            const void *val, size_t vlen);

/* Appends the frame of a tombstone for customer id. */
void cxp_staterec_frame_tombstone(cxp_buf *b, const char *id, size_t len);

/* Reads the decimal integer at *k of a record key, up to the next ':' (at
 * most 20 characters), and moves *k past the ':'. 0, or -1 when there is
 * none (keys of the windows and systemic groups: "<n>:<n>:<rest>"). */
int cxp_staterec_key_num(const char **k, const char *end, long long *out);

/* The frame at *pos of b[0..len): 1 and *pos moved past it, or 0 at the end
 * (or at a frame cut short, which only a bug can make). A tombstone's *val
 * is NULL. */
int cxp_staterec_frame_next(const char *b, size_t len, size_t *pos, const char **key,
                            size_t *klen, const uint8_t **val, size_t *vlen);

#endif
