/* The daemon's own file, and reading settings files: the file is read and
 * parsed here, its values checked by the settings table (settings.h). */
#ifndef CXP_CONFIG_H
#define CXP_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "settings.h"

#define CXP_KAFKA_MAX 64

/* A key/value handed through to librdkafka untouched. */
typedef struct cxp_kv {
  char key[128];
  char value[CXP_STR_MAX];
} cxp_kv;

/* A value of the file written with references (subst.h): its key, dotted
 * ("kafka.sasl.password"), and its text as written, which is what
 * check-config shows and errors quote instead of what it expands to. */
#define CXP_REFS_MAX 32
typedef struct cxp_ref {
  char key[256];
  char raw[CXP_STR_MAX];
} cxp_ref;

/* The daemon's own file (`cxpulse run --config FILE`). */
typedef struct cxp_config {
  char pipeline[CXP_STR_MAX];
  char log_level[CXP_STR_MAX];
  char log_format[CXP_STR_MAX];
  long long commit_interval_ms;
  long long poll_batch;
  long long idle_poll_ms;
  long long backpressure_high;
  long long backpressure_low;
  long long stats_interval_s;
  long long shutdown_timeout_ms;
  long long health_max_paused_s;
  long long health_max_retry_s;
  char snapshot_dir[CXP_STR_MAX];
  char http_host[CXP_STR_MAX];
  long long http_port; /* -1: no admin endpoint */
  char http_token[CXP_STR_MAX];
  long long http_max_conns;
  long long http_max_conns_per_addr;
  long long http_header_timeout_ms;
  int console_enabled; /* the view (view.h) of topics.cases, indicators, alerts */
  long long console_max_cases, console_max_groups, console_trend, console_max_alerts;
  long long console_max_metric_groups;
  cxp_kv kafka[CXP_KAFKA_MAX];
  int n_kafka;
  cxp_ref refs[CXP_REFS_MAX];
  int n_refs;
} cxp_config;

extern const cxp_setting cxp_config_table[];

/* Reads a whole file into a NUL-terminated heap buffer. */
char *cxp_read_file(const char *path, size_t *len, char *err, size_t errlen);
/* Parses FILE as a JSON object, without its "$schema" and "description"
 * members; on error names the file, line and column. */
struct cJSON *cxp_json_load(const char *path, char *err, size_t errlen);

/* Reads the daemon's file: its references expanded (subst.h), then every
 * setting checked. 0, or -1 with the file and the key in err. */
int cxp_config_load(cxp_config *c, const char *path, char *err, size_t errlen);
/* A copy of c fit to show: every value written with references holds its
 * text as written (check-config prints this, never the secrets). */
void cxp_config_shown(const cxp_config *c, cxp_config *out);
/* When err is about `key` ("key 'KEY': ...") and key's value was written
 * with references, replaces `value` (what they expanded to) after that
 * point in err with the text as written: librdkafka's and the settings'
 * sentences quote the value they refuse. */
void cxp_config_hide(const cxp_config *c, const char *key, const char *value, char *err,
                     size_t errlen);

/* Reads and checks a pipeline file (cxp_pipeline_from_json): 0, or -1 with
 * the file, and the key or the line and column, in err. */
struct cxp_pipeline;
int cxp_pipeline_load(struct cxp_pipeline *p, const char *path, char *err, size_t errlen);
void cxp_config_defaults(cxp_config *c);
/* Sets a librdkafka property unless the file already set it. */
void cxp_config_kafka_default(cxp_config *c, const char *key, const char *value);
const char *cxp_config_kafka_get(const cxp_config *c, const char *key);

#endif
