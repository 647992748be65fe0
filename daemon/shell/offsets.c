#include "offsets.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

void cxp_offsets_init(cxp_offsets *o) {
  memset(o, 0, sizeof *o);
  o->next_seq = 1;
}

static void tracker_destroy(cxp_tracker *t) {
  if (t == NULL) return;
  free(t->ring);
  free(t);
}

void cxp_offsets_close(cxp_offsets *o) {
  for (int32_t i = 0; i < o->n; i++) tracker_destroy(o->by_partition[i]);
  free(o->by_partition);
  memset(o, 0, sizeof *o);
}

cxp_tracker *cxp_offsets_get(const cxp_offsets *o, int32_t partition) {
  return partition >= 0 && partition < o->n ? o->by_partition[partition] : NULL;
}

cxp_tracker *cxp_offsets_add(cxp_offsets *o, int32_t partition) {
  if (partition < 0 || partition > 0xffff) return NULL;
  if (partition >= o->n) {
    int32_t n = o->n ? o->n : 16;
    while (n <= partition) n *= 2;
    cxp_tracker **nb = cxp_xrealloc(o->by_partition, sizeof *nb * (size_t)n);
    memset(nb + o->n, 0, sizeof *nb * (size_t)(n - o->n));
    o->by_partition = nb;
    o->n = n;
  }
  cxp_tracker *t = o->by_partition[partition];
  if (t) return t;
  t = cxp_xcalloc(1, sizeof *t);
  t->partition = partition;
  t->cap = 1024;
  t->ring = cxp_xcalloc(t->cap, sizeof *t->ring);
  t->head = t->tail = o->next_seq;
  t->committable = t->stored = t->next = -1;
  o->by_partition[partition] = t;
  return t;
}

void cxp_offsets_remove(cxp_offsets *o, int32_t partition) {
  cxp_tracker *t = cxp_offsets_get(o, partition);
  if (t == NULL) return;
  for (uint64_t s = t->head; s < t->tail; s++) o->in_flight -= t->ring[s % t->cap].pending;
  /* A later tracker of this partition numbers its entries past every token
   * this one handed out, so a late acknowledgement cannot land in it. */
  if (t->tail >= o->next_seq) o->next_seq = t->tail + 1;
  tracker_destroy(t);
  o->by_partition[partition] = NULL;
}

static void grow(cxp_tracker *t) {
  size_t ncap = t->cap * 2;
  cxp_track_entry *nr = cxp_xcalloc(ncap, sizeof *nr);
  for (uint64_t s = t->head; s < t->tail; s++) nr[s % ncap] = t->ring[s % t->cap];
  free(t->ring);
  t->ring = nr;
  t->cap = ncap;
}

/* Pops the done prefix and moves `committable` past it. */
static void advance(const cxp_offsets *o, cxp_tracker *t) {
  while (t->head < t->tail) {
    cxp_track_entry *e = &t->ring[t->head % t->cap];
    if (e->open || e->pending) break;
    t->committable = e->offset + 1;
    if (o->latency && e->begun_us)
      o->latency(o->latency_opaque, (double)(o->now_us - e->begun_us) / 1e6);
    e->seq = 0;
    t->head++;
  }
}

uint64_t cxp_offsets_begin(cxp_offsets *o, cxp_tracker *t, int64_t offset) {
  if (t->tail - t->head + 1 >= t->cap) grow(t);
  uint64_t seq = t->tail++;
  cxp_track_entry *e = &t->ring[seq % t->cap];
  e->seq = seq;
  e->offset = offset;
  e->begun_us = o->now_us;
  e->pending = 0;
  e->open = 1;
  return seq;
}

int64_t cxp_offsets_last(const cxp_tracker *t) {
  if (t->tail > t->head) return t->ring[(t->tail - 1) % t->cap].offset;
  return t->committable > 0 ? t->committable - 1 : -1;
}

uint64_t cxp_offsets_begin_tail(cxp_offsets *o, cxp_tracker *t) {
  int64_t last = cxp_offsets_last(t);
  return last < 0 ? 0 : cxp_offsets_begin(o, t, last);
}

uint64_t cxp_offsets_output(cxp_offsets *o, cxp_tracker *t, uint64_t seq) {
  t->ring[seq % t->cap].pending++;
  o->in_flight++;
  return CXP_TOKEN(t->partition, seq);
}

void cxp_offsets_end(cxp_offsets *o, cxp_tracker *t, uint64_t seq) {
  t->ring[seq % t->cap].open = 0;
  if (seq == t->head) advance(o, t);
}

/* The entry a token names, or NULL when it is stale (its tracker gone, or
 * the entry already left it). */
static cxp_track_entry *entry_of(const cxp_offsets *o, uint64_t token, cxp_tracker **tp) {
  token &= ~CXP_TOKEN_FLAGS;
  cxp_tracker *t = cxp_offsets_get(o, (int32_t)(token >> CXP_TOKEN_SEQ_BITS));
  if (t == NULL) return NULL;
  uint64_t seq = t->head + ((token - t->head) & CXP_TOKEN_SEQ_MASK);
  if (seq >= t->tail) return NULL;
  cxp_track_entry *e = &t->ring[seq % t->cap];
  if (e->seq != seq) return NULL;
  *tp = t;
  return e;
}

int64_t cxp_offsets_token_offset(const cxp_offsets *o, uint64_t token, int32_t *part) {
  cxp_tracker *t;
  cxp_track_entry *e = entry_of(o, token, &t);
  if (e == NULL) return -1;
  *part = t->partition;
  return e->offset;
}

cxp_tracker *cxp_offsets_ack(cxp_offsets *o, uint64_t token) {
  cxp_tracker *t;
  cxp_track_entry *e = entry_of(o, token, &t);
  if (e == NULL || e->pending == 0) return NULL;
  e->pending--;
  o->in_flight--;
  if (e->seq == t->head) advance(o, t);
  return t;
}
