#include "deadletter.h"

#include "sha256.h"

/* The record with the payload's first `keep` bytes; the truncation fields
 * when keep is short of the whole. `text`: the payload is UTF-8 and goes as
 * a string (keep then ends on a sequence boundary), else base64. */
static void write_record(cxp_buf *b, const cxp_dead_letter *d, const char *pipeline, size_t keep,
                         int text, const char *sha) {
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
  if (d->reason == CXP_BAD_OUTPUT_REJECTED) {
    cxp_jw_obj(&w, "rejected");
    cxp_jw_cstr(&w, "topic", d->rejected_topic ? d->rejected_topic : "");
    cxp_jw_cstr(&w, "error", d->rejected_error ? d->rejected_error : "");
    cxp_jw_end(&w);
  } else if (d->reason == CXP_BAD_OFFSETS_SKIPPED) {
    cxp_jw_obj(&w, "skipped");
    cxp_jw_int(&w, "first_offset", d->skipped_first);
    cxp_jw_int(&w, "last_offset", d->skipped_last);
    cxp_jw_int(&w, "count", d->skipped_last - d->skipped_first + 1);
    cxp_jw_end(&w);
  }
  /* The original bytes travel as a string when they are text, so that a
   * person can read them, and as base64 otherwise, so that none is lost. */
  if (text) {
    cxp_jw_str(&w, "payload", d->payload, keep);
    cxp_jw_cstr(&w, "payload_encoding", "utf-8");
  } else {
    cxp_jw_key(&w, "payload");
    cxp_buf_putc(b, '"');
    cxp_base64(b, d->payload, keep);
    cxp_buf_putc(b, '"');
    cxp_jw_cstr(&w, "payload_encoding", "base64");
  }
  if (sha) {
    cxp_jw_bool(&w, "payload_truncated", 1);
    cxp_jw_int(&w, "payload_length", (long long)d->payload_len);
    cxp_jw_cstr(&w, "payload_sha256", sha);
  }
  cxp_jw_time(&w, "received_at", d->received_at_ms);
  cxp_jw_cstr(&w, "pipeline", pipeline);
  cxp_jw_cstr(&w, "schema", CXP_DEAD_LETTER_SCHEMA);
  cxp_jw_end(&w);
}

int cxp_dead_letter_write(cxp_buf *b, const cxp_dead_letter *d, const char *pipeline) {
  size_t start = b->len;
  int text = cxp_utf8_valid(d->payload, d->payload_len);
  write_record(b, d, pipeline, d->payload_len, text, NULL);
  if (d->max_bytes == 0 || b->len - start <= d->max_bytes) return 0;
  /* Too large for the topic (escaping can make a record six times its
   * payload): the record without a payload says what room is left, and the
   * payload's first bytes that fit in it go. */
  char sha[65];
  cxp_sha256_hex(d->payload, d->payload_len, sha);
  b->len = start;
  write_record(b, d, pipeline, 0, text, sha);
  size_t fixed = b->len - start, room = d->max_bytes > fixed ? d->max_bytes - fixed : 0;
  size_t keep = text ? cxp_json_fit(d->payload, d->payload_len, room) : room / 4 * 3;
  if (keep > d->payload_len) keep = d->payload_len;
  b->len = start;
  write_record(b, d, pipeline, keep, text, sha);
  return 1;
}
