/* cxpulse: command-line entry. Each subcommand lives in its own file. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <librdkafka/rdkafka.h>
#include <uv.h>

#include "config.h"
#include "cli.h"
#include "daemon.h"
#include "demo.h"
#include "evalchurn.h"
#include "kafka.h"
#include "log.h"
#include "mock.h"
#include "pipeline.h"
#include "replay.h"
#include "subst.h"

static void usage(FILE *f) {
  fputs("usage: cxpulse COMMAND [OPTIONS]\n"
        "\n"
        "Turns a Kafka stream of customer-interaction events into live satisfaction\n"
        "and churn-risk indicators and service-recovery alerts.\n"
        "\n"
        "commands:\n"
        "  run --config FILE            run the daemon\n"
        "  replay --pipeline FILE EVENTS.jsonl|-\n"
        "                               run the pipeline over a file, print outputs\n"
        "  eval-churn --pipeline FILE --at TIMESTAMP [--horizon DAYS] EVENTS.jsonl\n"
        "                               churn-score AUC against later cancellations\n"
        "  check-config FILE            validate a daemon config and its pipeline,\n"
        "                               print the effective settings\n"
        "  check-pipeline FILE          validate a pipeline file, print its settings\n"
        "  config-doc                   print the settings reference (Markdown)\n"
        "  mock-cluster [--brokers N] [--topic NAME:PARTITIONS]...\n"
        "                               run librdkafka's mock cluster in this process\n"
        "  demo [--duration S] [--rate N] [--seed N] [--port N]\n"
        "                               embedded cluster + generator + daemon\n"
        "  tail alerts|indicators|dead-letters|cases --config FILE [--from-beginning] [--exit]\n"
        "                               follow an output topic in readable form\n"
        "  top [--port N] [--token T] [--once]\n"
        "                               follow a running daemon's admin endpoint\n"
        "  state --config FILE [--customer ID]\n"
        "                               the per-customer state in the changelog topic\n"
        "  --help, --version\n",
        f);
}

static int check_config(const char *path) {
  char err[512];
  cxp_config c;
  cxp_pipeline p;
  if (cxp_config_load(&c, path, err, sizeof err)) {
    fprintf(stderr, "cxpulse: %s\n", err);
    return 1;
  }
  if (cxp_pipeline_load(&p, c.pipeline, err, sizeof err)) {
    fprintf(stderr, "cxpulse: %s (the pipeline named by %s)\n", err, path);
    return 1;
  }
  cxp_daemon_kafka_defaults(&c, &p);
  rd_kafka_conf_t *cc, *pc;
  if (cxp_kafka_confs(&c, path, &cc, &pc, err, sizeof err) != 0) {
    fprintf(stderr, "cxpulse: %s\n", err);
    return 1;
  }
  rd_kafka_conf_destroy(cc);
  rd_kafka_conf_destroy(pc);
  /* The output is for people and CI logs: a value written with references
   * shows as written, never what it expanded to. */
  static cxp_config shown;
  cxp_config_shown(&c, &shown);
  printf("{\n\"config\": ");
  cxp_settings_print(cxp_config_table, &shown, stdout, 2);
  printf(",\n\"kafka\": {");
  for (int i = 0; i < shown.n_kafka; i++) {
    cJSON *k = cJSON_CreateString(shown.kafka[i].key);
    cJSON *v = cJSON_CreateString(shown.kafka[i].value);
    char *ks = cJSON_PrintUnformatted(k), *vs = cJSON_PrintUnformatted(v);
    printf("%s\n  %s: %s", i ? "," : "", ks, vs);
    cJSON_free(ks);
    cJSON_free(vs);
    cJSON_Delete(k);
    cJSON_Delete(v);
  }
  printf("\n},\n\"pipeline\": ");
  cxp_settings_print(cxp_pipeline_table, &p, stdout, 2);
  printf("\n}\n");
  return 0;
}

static int check_pipeline(const char *path) {
  char err[512];
  cxp_pipeline p;
  if (cxp_pipeline_load(&p, path, err, sizeof err)) {
    fprintf(stderr, "cxpulse: %s\n", err);
    return 1;
  }
  cxp_settings_print(cxp_pipeline_table, &p, stdout, 2);
  printf("\n");
  return 0;
}

int main(int argc, char **argv) {
  /* A peer that has gone must cost a write an EPIPE, never the process:
   * libuv writes its streams with write(2)/writev, which raise SIGPIPE on a
   * closed socket, and so does any library writing a socket without
   * MSG_NOSIGNAL. The admin server sends with MSG_NOSIGNAL itself; this
   * covers every other socket. A reader of stdout that goes away (`cxpulse
   * tail ... | head`) is then an EPIPE from the write, which the command
   * must check to stop. */
  signal(SIGPIPE, SIG_IGN);
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
    usage(stdout);
    return 0;
  }
  if (strcmp(cmd, "--version") == 0) {
    printf("cxpulse %s (librdkafka %s, libuv %s, cJSON %s)\n", CXP_VERSION,
           rd_kafka_version_str(), uv_version_string(), cJSON_Version());
    return 0;
  }
  if (strcmp(cmd, "run") == 0) return cxp_daemon_main(argc - 1, argv + 1);
  if (strcmp(cmd, "replay") == 0) return cxp_replay_main(argc - 1, argv + 1);
  if (strcmp(cmd, "eval-churn") == 0) return cxp_evalchurn_main(argc - 1, argv + 1);
  if (strcmp(cmd, "mock-cluster") == 0) return cxp_mock_main(argc - 1, argv + 1);
  if (strcmp(cmd, "demo") == 0) return cxp_demo_main(argc - 1, argv + 1);
  if (strcmp(cmd, "tail") == 0) return cxp_tail_main(argc - 1, argv + 1);
  if (strcmp(cmd, "top") == 0) return cxp_top_main(argc - 1, argv + 1);
  if (strcmp(cmd, "state") == 0) return cxp_state_main(argc - 1, argv + 1);
  if (strcmp(cmd, "check-config") == 0 && argc == 3) return check_config(argv[2]);
  if (strcmp(cmd, "check-pipeline") == 0 && argc == 3) return check_pipeline(argv[2]);
  if (strcmp(cmd, "config-doc") == 0) {
    printf("## Daemon configuration (`cxpulse run --config FILE`)\n\n");
    cxp_settings_doc(cxp_config_table, stdout);
    printf("\nEvery key under `kafka` is passed to librdkafka as it is.\n\n"
           "### References: secrets outside the file\n\n"
           "In every string value of this file (not the pipeline file), `${NAME}` is the "
           "environment variable NAME (unset: an error), `${NAME:-default}` NAME or, when it "
           "is unset or empty, `default` (to the first `}`), `${file:/abs/path}` the file's "
           "content and `${credential:NAME}` the file `$CREDENTIALS_DIRECTORY/NAME` "
           "(systemd's `LoadCredential=`). A file must be a regular file of at most %d "
           "bytes without NUL bytes; its trailing newlines are dropped. NAME is letters, "
           "digits and `_`, not starting with a digit; `$${` writes a literal `${`. What a "
           "reference brings in is not expanded again, and a value must still fit its "
           "setting (a `kafka` value: 255 bytes). `check-config` and error messages show "
           "such a value as written, never what it expands to.\n\n"
           "## Pipeline file\n\n", CXP_SUBST_FILE_MAX);
    cxp_settings_doc(cxp_pipeline_table, stdout);
    printf(
        "\n### `recovery.solutions`: the solution library\n\n"
        "An array of entries, each `{\"category\": C, \"severity\": S, \"segment\": G, "
        "\"actions\": [...], \"compensation\": B, \"role\": R}`. `category` (design, "
        "operational, communication, reputational, promise, other), `severity` (1..4) and "
        "`segment` are optional and mean \"any\" when absent; a segment needs a severity "
        "and a severity a category. `actions` (recommended, in order) and `role` (who is "
        "authorised to act) are required; `compensation` (a band name) defaults to "
        "`none`. Exactly one entry has neither category, severity nor segment: the "
        "default. A case looks up (category, severity, segment) exactly, then (category, "
        "severity, any segment), then (category, any severity), then the default. "
        "Without the key, the built-in default entry: actions acknowledge, apologize, "
        "fix_and_resolve, follow_up; compensation none; role frontline_agent.\n"
        "\n### `recovery.sla_matrix`: deadlines by segment and severity\n\n"
        "An array of at most 32 entries, each `{\"segment\": G, \"severity\": S, "
        "\"factor\": F, \"acknowledge_min\": .., \"apologize_h\": .., \"compensate_h\": "
        "..., \"resolve_h\": .., \"follow_up_h\": ..}`. `segment` is required; `severity` "
        "(1..4) is optional and means \"any\" when absent; at least one of the others is "
        "given; one entry per (segment, severity). A case of segment G and severity S takes "
        "the entry (G, S), else (G, any): each step's time it gives (0 for apologize or "
        "compensate: no deadline), and for the others the `recovery.sla.sevS.*` times x "
        "`factor` (0.01..10), or x `recovery.sla.premium_factor` when the entry has no factor "
        "and G is premium, else x 1. A segment without an entry: the `recovery.sla.sevS.*` "
        "times, x `recovery.sla.premium_factor` when premium. Without the key, no entries: "
        "premium_factor is the whole matrix.\n");
    return 0;
  }
  fprintf(stderr, "cxpulse: unknown command '%s'\n", cmd);
  usage(stderr);
  return 2;
}
