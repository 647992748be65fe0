/* Offset tracking for at-least-once delivery.
 *
 * Every consumed message gets an entry in its partition's tracker, in offset
 * order, with a count of the outputs it caused that the broker has not yet
 * acknowledged. An input offset may be committed only when its own outputs
 * and those of every message before it on the partition are acknowledged: the
 * tracker's `committable` is one past the last offset of the longest done
 * prefix. Outputs carry a token (partition, sequence number) as their
 * librdkafka opaque; a token whose entry is gone (the partition was revoked
 * and its tracker dropped) is recognised and ignored: a tracker created for a
 * partition numbers its entries past every number an earlier tracker of any
 * partition used. */
#ifndef CXP_OFFSETS_H
#define CXP_OFFSETS_H

#include <stddef.h>
#include <stdint.h>

typedef struct cxp_track_entry {
  uint64_t seq;     /* global sequence number; 0: free slot */
  int64_t offset;
  int64_t begun_us; /* the clock (cxp_offsets.now_us) when it was consumed */
  uint32_t pending; /* outputs not yet acknowledged */
  uint8_t open;     /* still being processed: more outputs may be added */
} cxp_track_entry;

typedef struct cxp_tracker {
  int32_t partition;
  cxp_track_entry *ring; /* entries of seq head..tail-1 at seq % cap */
  size_t cap;
  uint64_t head, tail;   /* sequence numbers */
  int64_t committable;   /* offset to commit (next to read); -1: nothing yet */
  int64_t stored;        /* committable value last handed to the consumer */
  int64_t next;          /* the offset the next message should have (one past
                            the last consumed, or the committed offset the
                            partition was assigned at); -1: not known */
  int asked;             /* its committed offset asked again at a resume */
} cxp_tracker;

typedef struct cxp_offsets {
  cxp_tracker **by_partition;
  int32_t n;
  uint64_t next_seq; /* first sequence number of the next tracker created */
  uint64_t in_flight; /* outputs awaiting acknowledgement, all partitions */
  /* Processing latency: an entry's time from consumed to committable (its
   * outputs and those of every message before it acknowledged), observed
   * when it leaves the tracker. The shell sets now_us (monotonic) as time
   * passes; latency NULL: not measured. */
  int64_t now_us;
  void (*latency)(void *opaque, double seconds);
  void *latency_opaque;
} cxp_offsets;

void cxp_offsets_init(cxp_offsets *o);
void cxp_offsets_close(cxp_offsets *o);

/* Starts tracking a partition (on assignment). */
cxp_tracker *cxp_offsets_add(cxp_offsets *o, int32_t partition);
/* Stops tracking it (on revoke); later tokens for it are ignored. */
void cxp_offsets_remove(cxp_offsets *o, int32_t partition);
cxp_tracker *cxp_offsets_get(const cxp_offsets *o, int32_t partition);

/* The last offset seen on the partition (consumed, or committed before
 * the tracker's entries), or -1 when it has seen nothing. */
int64_t cxp_offsets_last(const cxp_tracker *t);
/* A message was consumed: opens its entry and returns its sequence number. */
uint64_t cxp_offsets_begin(cxp_offsets *o, cxp_tracker *t, int64_t offset);
/* Opens an entry for outputs no new message caused (a timer's, a revoke's)
 * at the last offset seen on the partition, so that committing it waits for
 * them too. Returns 0 when the partition has seen nothing yet: there is
 * nothing such outputs could belong to. */
uint64_t cxp_offsets_begin_tail(cxp_offsets *o, cxp_tracker *t);
/* One more output of the open entry `seq` is on its way; returns its token. */
uint64_t cxp_offsets_output(cxp_offsets *o, cxp_tracker *t, uint64_t seq);
/* Processing of `seq` ended: no more outputs will be added. */
void cxp_offsets_end(cxp_offsets *o, cxp_tracker *t, uint64_t seq);
/* An output was acknowledged. Returns its tracker, or NULL when the token is
 * stale. */
cxp_tracker *cxp_offsets_ack(cxp_offsets *o, uint64_t token);

/* The input offset of the entry a token names, its partition through
 * *part; -1 when the token is stale. */
int64_t cxp_offsets_token_offset(const cxp_offsets *o, uint64_t token, int32_t *part);

/* Tokens: the top 4 bits are the shell's flags (which tracker, a retry),
 * the partition takes the next 16, the sequence number's low 44 bits the
 * rest. The sequence is read back relative to the tracker's oldest entry,
 * so it may wrap: fewer than 2^43 entries are ever open at once. */
#define CXP_TOKEN_SEQ_BITS 44
#define CXP_TOKEN_SEQ_MASK ((1ULL << CXP_TOKEN_SEQ_BITS) - 1)
#define CXP_TOKEN_FLAGS (0xfULL << 60)
#define CXP_TOKEN(part, seq)                                                   \
  (((uint64_t)(uint16_t)(part) << CXP_TOKEN_SEQ_BITS) | ((seq) & CXP_TOKEN_SEQ_MASK))

#endif
