/* Reading changelog partitions back into memory (durable state).
 *
 * The restorer is a consumer of its own, outside the consumer group: it is
 * assigned a changelog partition from its first offset when the daemon is
 * given the input partition of the same number, reads it to its end (the
 * end-of-partition event), hands every record to the daemon and says when
 * the partition is done. Only that input partition waits meanwhile (the
 * daemon keeps it paused); the others are processed as usual. Its queue
 * wakes the daemon's loop through the same eventfd as the others, and is
 * polled without waiting, so the loop never blocks on a restore. */
#ifndef CXP_RESTORE_H
#define CXP_RESTORE_H

#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "config.h"

typedef struct cxp_restore cxp_restore;

typedef struct cxp_restore_cb {
  /* One record of a partition being restored (m->payload NULL: a tombstone). */
  void (*record)(void *opaque, int32_t partition, const rd_kafka_message_t *m);
  /* The partition was read to its end: records and bytes read, seconds taken. */
  void (*done)(void *opaque, int32_t partition, uint64_t records, uint64_t bytes,
               double seconds);
  void *opaque;
} cxp_restore_cb;

/* A restorer of `topic`, configured from the daemon's kafka section (its
 * consumer keys), with end-of-partition events on. NULL with err. */
cxp_restore *cxp_restore_create(const cxp_config *c, const char *topic, const char *file,
                                const cxp_restore_cb *cb, char *err, size_t errlen);
void cxp_restore_destroy(cxp_restore *r);

/* Follows the partitions it reads instead: the end of a partition calls
 * `done` once and the reading goes on, records as they come (a topic every
 * instance tails, such as topics.model). */
void cxp_restore_follow(cxp_restore *r);

/* Writes `one` to efd whenever the restorer's queue gets something. */
void cxp_restore_wake_on(cxp_restore *r, int efd);

/* Starts reading a partition from offset `from` (RD_KAFKA_OFFSET_BEGINNING:
 * its first). 0, or -1 (logged). */
int cxp_restore_begin(cxp_restore *r, int32_t partition, int64_t from);
/* Stops reading it (the input partition was revoked before the end). */
void cxp_restore_cancel(cxp_restore *r, int32_t partition);
int cxp_restore_active(const cxp_restore *r, int32_t partition);
/* Partitions being read. */
int cxp_restore_count(const cxp_restore *r);

/* The partition count of the restorer's topic from the cluster's metadata
 * (waits up to timeout_ms: for tools, not the daemon's loop); -1 unknown. */
int32_t cxp_restore_topic_partitions(cxp_restore *r, int timeout_ms);

/* Hands up to `budget` queued records to the callbacks, without waiting.
 * Returns 1 when more are queued. */
int cxp_restore_poll(cxp_restore *r, int budget);

#endif
