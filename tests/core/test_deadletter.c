/* Unit tests of the dead-letter record (daemon/core/deadletter.c), cut to
 * its size bound with the original's length and SHA-256.
 *
 * Every expected value was worked out by hand (the arithmetic is in the
 * comment beside it), never taken from the code's own output. */
#include "helpers.h"

#include <string.h>

#include "deadletter.h"
#include "jsonw.h"

static void test_dead_letter_truncated(void) {
  /* 300 bytes of payload: written whole, the record is 512 bytes (the 222
   * of a 10-byte payload, written out below, plus 290). */
  char text[301], ctl[301], bin[301];
  for (int i = 0; i < 300; i++) {
    text[i] = "abcdefghij"[i % 10];
    ctl[i] = "\x01" "bc"[i % 3];
    bin[i] = "\xff\xfe\xfd\xfc"[i % 4];
  }
  cxp_dead_letter d = {.topic = "t", .partition = 0, .offset = 5, .reason = CXP_BAD_TOO_LARGE,
                       .detail = "d", .payload = "abcdefghij", .payload_len = 10,
                       .received_at_ms = T0};
  const char *small =
      "{\"source\":{\"topic\":\"t\",\"partition\":0,\"offset\":5},\"reason\":\"too_large\","
      "\"detail\":\"d\",\"payload\":\"abcdefghij\",\"payload_encoding\":\"utf-8\","
      "\"received_at\":\"2026-11-23T07:00:00.000Z\",\"pipeline\":\"p\","
      "\"schema\":\"cxpulse.dead_letter/1\"}";
  cxp_buf b;
  cxp_buf_init(&b);
  d.max_bytes = strlen(small);
  CHECK_INT(strlen(small), 222);
  CHECK_INT(cxp_dead_letter_write(&b, &d, "p"), 0);
  CHECK_STR(b.p, small);
  /* The 300-byte payload with 346 bytes of room: the record with the
   * truncation fields (written out below) is 342 bytes without a payload,
   * which leaves 4 bytes, "abcd". */
  d.payload = text;
  d.payload_len = 300;
  const char *cut =
      "{\"source\":{\"topic\":\"t\",\"partition\":0,\"offset\":5},\"reason\":\"too_large\","
      "\"detail\":\"d\",\"payload\":\"abcd\",\"payload_encoding\":\"utf-8\",\"payload_truncated\":true,"
      "\"payload_length\":300,\"payload_sha256\":"
      "\"49d53cf12804d93e5d16b1e58ecdd49ada262f8752ca0a1a6185eea70ea486c4\","
      "\"received_at\":\"2026-11-23T07:00:00.000Z\",\"pipeline\":\"p\","
      "\"schema\":\"cxpulse.dead_letter/1\"}";
  CHECK_INT(strlen(cut), 346);
  d.max_bytes = 346;
  cxp_buf_reset(&b);
  CHECK_INT(cxp_dead_letter_write(&b, &d, "p"), 1);
  CHECK_STR(b.p, cut);
  /* 511 bytes of room: one short of the whole, cut too, to 165 bytes. */
  d.max_bytes = 511;
  cxp_buf_reset(&b);
  CHECK_INT(cxp_dead_letter_write(&b, &d, "p"), 1);
  CHECK_INT(b.len, 511);
  d.max_bytes = 512;
  cxp_buf_reset(&b);
  CHECK_INT(cxp_dead_letter_write(&b, &d, "p"), 0);
  CHECK_INT(b.len, 512);
  /* Appended after what the buffer holds: the bound is the record's own. */
  d.max_bytes = 346;
  cxp_buf_reset(&b);
  cxp_buf_puts(&b, "XYZ");
  CHECK_INT(cxp_dead_letter_write(&b, &d, "p"), 1);
  CHECK_STR(b.p + 3, cut);
  /* Control bytes escape to 6: "\x01bc..." with 9 bytes of room keeps
   * "\u0001bc" (8), not the next \u0001. */
  d.payload = ctl;
  d.max_bytes = 342 + 9;
  cxp_buf_reset(&b);
  CHECK_INT(cxp_dead_letter_write(&b, &d, "p"), 1);
  CHECK_CONTAINS(b.p, "\"payload\":\"\\u0001bc\",\"payload_encoding\":\"utf-8\"");
  CHECK_CONTAINS(b.p, "\"c1409270de4d6200e0a1ab70463c142be3c93c00d4f191f7ef0e1cc5d6bec75e\"");
  CHECK_INT(b.len, 342 + 8);
  /* Not UTF-8: base64 ("payload_encoding":"base64" is one byte longer:
   * 343 without a payload), of whole 3-byte groups that fit: 9 bytes of
   * room hold 8 characters, 6 bytes: ff fe fd fc ff fe -> "//79/P/+". */
  d.payload = bin;
  d.max_bytes = 343 + 9;
  cxp_buf_reset(&b);
  CHECK_INT(cxp_dead_letter_write(&b, &d, "p"), 1);
  CHECK_CONTAINS(b.p, "\"payload\":\"//79/P/+\",\"payload_encoding\":\"base64\"");
  CHECK_CONTAINS(b.p, "\"1ad6fc0b3a3ce51bb12cd1baf1a8789bc94d987140341c5cde5d210ced5b17d7\"");
  CHECK_INT(b.len, 343 + 8);
  cxp_buf_free(&b);
}

int main(void) {
  test_dead_letter_truncated();
  return TEST_REPORT();
}
