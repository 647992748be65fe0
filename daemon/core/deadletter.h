/* Dead letters: every event the daemon could not use, with the reason and
 * the original bytes (docs/domain.md section 2); also every output the broker
 * refused for good (output_rejected) and every stretch of input lost to
 * retention before it was read (offsets_skipped). */
#ifndef CXP_DEADLETTER_H
#define CXP_DEADLETTER_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "jsonw.h"

#define CXP_DEAD_LETTER_SCHEMA "cxpulse.dead_letter/1"

typedef struct cxp_dead_letter {
  const char *topic; /* NULL in replay: no Kafka coordinates */
  int32_t partition;
  int64_t offset; /* in replay: the line number, from 1 */
  cxp_reason reason;
  const char *detail;
  const char *payload;
  size_t payload_len;
  int64_t received_at_ms;
  /* The most the record may take (the producer's message.max.bytes less
   * its key and framing); 0: no bound. A record that would be larger keeps
   * only the payload's first bytes that fit, and says so: payload_truncated,
   * payload_length (the original's), payload_sha256 (of the original). */
  size_t max_bytes;
  /* output_rejected: the topic that refused the output and the error. */
  const char *rejected_topic, *rejected_error;
  /* offsets_skipped: the first and last offset lost (the source's offset is
   * the first). */
  int64_t skipped_first, skipped_last;
} cxp_dead_letter;

/* Appends the record to b; 1 when its payload had to be cut, else 0. */
int cxp_dead_letter_write(cxp_buf *b, const cxp_dead_letter *d, const char *pipeline);

#endif
