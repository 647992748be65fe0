#include "deadletter.h"

void cxp_dead_letter_write(cxp_buf *b, const cxp_dead_letter *d, const char *pipeline) {
  cxp_jw w;
  cxp_jw_init(&w, b);
  cxp_jw_obj(&w, NULL);
  cxp_jw_obj(&w, "source");
  cxp_jw_cstr(&w, "topic", d->topic);
  if (d->topic)
    cxp_jw_int(&w, "partition", d->partition);
  else
    cxp_jw_null(&w, "partition");
  cxp_jw_int(&w, "offset", d->offset);
  cxp_jw_end(&w);
  cxp_jw_cstr(&w, "reason", cxp_reason_name(d->reason));
  cxp_jw_cstr(&w, "detail", d->detail);
  /* The original bytes travel as a string when they are text, so that a
   * person can read them, and as base64 otherwise, so that none is lost. */
  if (cxp_utf8_valid(d->payload, d->payload_len)) {
    cxp_jw_str(&w, "payload", d->payload, d->payload_len);
    cxp_jw_cstr(&w, "payload_encoding", "utf-8");
  } else {
    cxp_jw_key(&w, "payload");
    cxp_buf_putc(b, '"');
    cxp_base64(b, d->payload, d->payload_len);
    cxp_buf_putc(b, '"');
    cxp_jw_cstr(&w, "payload_encoding", "base64");
  }
  cxp_jw_time(&w, "received_at", d->received_at_ms);
  cxp_jw_cstr(&w, "pipeline", pipeline);
  cxp_jw_cstr(&w, "schema", CXP_DEAD_LETTER_SCHEMA);
  cxp_jw_end(&w);
}
