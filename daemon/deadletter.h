/* Dead letters: every event the daemon could not use, with the reason and
 * the original bytes (domain.md section 2). */
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
} cxp_dead_letter;

void cxp_dead_letter_write(cxp_buf *b, const cxp_dead_letter *d, const char *pipeline);

#endif
