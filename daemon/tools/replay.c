/* The offline shell: the same core as the daemon, over a JSON-lines file,
 * with every output written to stdout as one JSON line. Time is the events'
 * time; the wall clock is never read, so a file always gives the same
 * outputs. */
#include "replay.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "core.h"
#include "jsonw.h"
#include "log.h"
#include "timeutil.h"

typedef struct replay {
  FILE *out;
  cxp_buf line;
} replay;

static void emit(void *opaque, const cxp_msg *from, cxp_stream s, const char *key, size_t klen,
                 const char *val, size_t vlen) {
  (void)from;
  replay *r = opaque;
  cxp_jw w;
  cxp_buf_reset(&r->line);
  cxp_jw_init(&w, &r->line);
  cxp_jw_obj(&w, NULL);
  cxp_jw_cstr(&w, "stream", cxp_stream_name(s));
  if (key)
    cxp_jw_str(&w, "key", key, klen);
  else
    cxp_jw_null(&w, "key");
  cxp_jw_key(&w, "value");
  cxp_buf_put(&r->line, val, vlen);
  cxp_jw_end(&w);
  cxp_buf_putc(&r->line, '\n');
  fwrite(r->line.p, 1, r->line.len, r->out);
}

static void usage(FILE *f) {
  fputs("usage: cxpulse replay --pipeline FILE [--now TIMESTAMP] EVENTS.jsonl|-\n"
        "  Runs the pipeline over one JSON event per line and prints every output\n"
        "  as {\"stream\":..., \"key\":..., \"value\":{...}} on stdout.\n"
        "  --now  reject events whose ts lies past TIMESTAMP + limits.max_future_s\n"
        "         (without it, replay never judges time against a clock)\n",
        f);
}

int cxp_replay_main(int argc, char **argv) {
  static const struct option opts[] = {{"pipeline", required_argument, NULL, 'p'},
                                       {"now", required_argument, NULL, 'n'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  const char *pipeline_path = NULL;
  int64_t now_ms = 0;
  int ch;
  optind = 1;
  while ((ch = getopt_long(argc, argv, "p:n:h", opts, NULL)) != -1) {
    switch (ch) {
    case 'p': pipeline_path = optarg; break;
    case 'n':
      if (cxp_time_parse_rfc3339(optarg, strlen(optarg), &now_ms)) {
        fprintf(stderr, "cxpulse replay: --now: '%s' is not an RFC 3339 time\n", optarg);
        return 2;
      }
      break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
  }
  if (pipeline_path == NULL || optind != argc - 1) {
    usage(stderr);
    return 2;
  }
  const char *path = argv[optind];
  char err[512];
  cxp_pipeline pl;
  if (cxp_pipeline_load(&pl, pipeline_path, err, sizeof err)) {
    fprintf(stderr, "cxpulse replay: %s\n", err);
    return 1;
  }
  FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (in == NULL) {
    perror(path);
    return 1;
  }
  replay r = {stdout, {0}};
  cxp_buf_init(&r.line);
  cxp_core core;
  cxp_core_init(&core, &pl, emit, &r);
  /* One shard, one input partition: windows merge in place, and whatever is
   * still open at the end of the file is closed and written out. */
  cxp_core_merge_local(&core, 1);

  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  int64_t lineno = 0;
  cxp_core_batch_begin(&core);
  while ((n = getline(&line, &cap, in)) != -1) {
    lineno++;
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
    size_t i = 0;
    while (i < (size_t)n && (line[i] == ' ' || line[i] == '\t')) i++;
    if (i == (size_t)n) continue; /* a blank line is no event */
    /* Without --now, received_at and emitted_at are left to the core,
     * which stamps the event clock: the latest event time seen so far. */
    cxp_msg m = {NULL, -1, lineno, line, (size_t)n, NULL, 0, now_ms, now_ms, now_ms != 0};
    cxp_core_process(&core, &m);
    /* The trees of this line are no longer needed: keep the arena small. */
    cxp_core_batch_end(&core);
    cxp_core_batch_begin(&core);
  }
  cxp_core_finish(&core);
  cxp_core_batch_end(&core);
  free(line);
  if (in != stdin) fclose(in);
  fflush(stdout);
  cxp_info("replay", "%lld lines: %llu events applied, %llu duplicates, %llu dead letters, "
           "%llu alerts, %llu indicator records",
           (long long)lineno, (unsigned long long)core.n.processed,
           (unsigned long long)core.n.duplicates,
           (unsigned long long)core.n.outputs[CXP_STREAM_DEAD_LETTERS],
           (unsigned long long)core.n.outputs[CXP_STREAM_ALERTS],
           (unsigned long long)core.n.outputs[CXP_STREAM_INDICATORS]);
  cxp_core_close(&core);
  cxp_buf_free(&r.line);
  return ferror(stdout) ? 1 : 0;
}
