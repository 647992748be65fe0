/* Fuzz target: the daemon's own config loader (daemon/shell/config.c,
 * cxp_config_load: the settings table, the "kafka" pass-through, the log
 * settings).
 *
 * The input is the file's text (written to a memory file: the loader reads
 * a path). A refusal must say why; a config that loads prints its settings
 * and answers for its librdkafka properties. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static cxp_config c;
  const char *path = fuzz_path(data, size);
  char err[1024];
  err[0] = '\0';
  if (cxp_config_load(&c, path, err, sizeof err) != 0) {
    if (err[0] == '\0') abort(); /* a refusal says why */
    return 0;
  }
  if (c.n_kafka < 0 || c.n_kafka > CXP_KAFKA_MAX) abort();
  FILE *out = fopen("/dev/null", "w");
  if (out == NULL) abort();
  cxp_settings_print(cxp_config_table, &c, out, 0);
  fclose(out);
  for (int i = 0; i < c.n_kafka; i++)
    if (cxp_config_kafka_get(&c, c.kafka[i].key) == NULL) abort();
  cxp_config_kafka_default(&c, "client.id", "cxpulse-fuzz");
  return 0;
}
