/* Fuzz target: the pipeline loader (daemon/core/pipeline.c, cxp_pipeline_load,
 * with config.c's settings table and JSON loading, the recovery solution
 * library and the churn actions it validates).
 *
 * The input is the file's text (written to a memory file: the loader reads
 * a path). A refusal must say why; a pipeline that loads must be one the
 * daemon can run: its settings print, a reload of it into the defaults
 * (SIGHUP's path) works, and a core built from it takes a few events,
 * ticks and flushes (harness.h) without a crash, a sanitizer report or a
 * hang. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases.h"
#include "config.h"
#include "core.h"
#include "harness.h"
#include "jsonw.h"
#include "pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* Large (the solution library's text alone is 16 KB): not on the stack. */
  static cxp_pipeline p, live;
  const char *path = fuzz_path(data, size);
  char err[1024];
  err[0] = '\0';
  if (cxp_pipeline_load(&p, path, err, sizeof err) != 0) {
    if (err[0] == '\0') abort(); /* a refusal says why */
    return 0;
  }
  FILE *out = fopen("/dev/null", "w");
  if (out == NULL) abort();
  cxp_settings_print(cxp_pipeline_table, &p, out, 0);
  fclose(out);

  cxp_pipeline_defaults(&live);
  cxp_buf changed, kept;
  cxp_buf_init(&changed);
  cxp_buf_init(&kept);
  cxp_pipeline_reload(&live, &p, &changed, &kept);
  cxp_buf_free(&changed);
  cxp_buf_free(&kept);

  /* A loaded pipeline has a solution library (the core builds its own). */
  cxp_solutions *lib = cxp_pipeline_solutions(&p, err, sizeof err);
  if (lib == NULL) abort();
  cxp_solutions_destroy(lib);
  cxp_core c;
  cxp_core_init(&c, &p, fuzz_check_output, NULL);
  c.changelog = 1;
  fuzz_run_events(&c);
  cxp_core_close(&c);
  return 0;
}
