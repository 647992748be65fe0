/* The repartition topic's messages: what an input partition tells a
 * merger (merge.h) about segment windows, in one record per input
 * partition, merger and occasion.
 *
 * A record carries the input partition, its watermark, and the partials it
 * closed (or revised, or closed early) whose window that merger owns. The
 * merger of a window is one repartition partition for every group of it
 * (cxp_wire_dest: a hash of length and start), so an input partition sends
 * one record when its watermark passes a window's end, where before it sent
 * a partial per group and a marker to every repartition partition. The
 * watermark in a record holds for every window the merger owns: the input
 * partition's partials for those windows went before it or with it (one
 * producer, one topic partition, in order).
 *
 * Layout, binary: 0xCB, version 1, the input partition and the watermark
 * as zigzag varints, then items to the end: flags (bit 0 early, bit 1 late),
 * length, start, first and last input offset (zigzag), the number of group
 * fields and each field's id, value length and bytes, then the aggregate
 * (cxp_window_agg_put). A record of the earlier JSON forms (a partial, a
 * marker) starts with '{' and is read by cxp_window_partial_parse and the
 * core. */
#ifndef CXP_WINWIRE_H
#define CXP_WINWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "jsonw.h"
#include "window.h"

#define CXP_WIRE_MAGIC 0xCB

/* The repartition partition that merges window (length, start), of n. */
int32_t cxp_wire_dest(int64_t length_ms, int64_t start_ms, int32_t n);

/* Starts a record in b (reset first). */
void cxp_wire_begin(cxp_buf *b, int32_t input, int64_t watermark);
/* Appends one partial (its partition is the record's). */
void cxp_wire_put(cxp_buf *b, const cxp_window_partial *p);

/* Reading: a record's header, then its items one by one. */
typedef struct cxp_wire_rd {
  const uint8_t *p, *end;
  int32_t input;
  int64_t watermark;
} cxp_wire_rd;
/* 1 when s[0..n) is a record of this form (its first byte). */
int cxp_wire_is(const char *s, size_t n);
/* 0, or -1 with a sentence when the header is malformed or the input
 * partition is below 0. */
int cxp_wire_open(cxp_wire_rd *r, const char *s, size_t n, char *err, size_t errlen);
/* The next item into p (its partition the record's): 1, 0 at the end, -1
 * with a sentence when it is malformed (a count or a time out of range, a
 * value too long, an unknown field, the aggregate inconsistent). */
int cxp_wire_next(cxp_wire_rd *r, cxp_window_partial *p, char *err, size_t errlen);

#endif
