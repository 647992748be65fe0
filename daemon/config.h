/* Settings tables: one table per file kind describes every setting (name,
 * type, default, bounds, description) and drives validation, defaults,
 * `check-config` output and the generated documentation. */
#ifndef CXP_CONFIG_H
#define CXP_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#define CXP_STR_MAX 256
#define CXP_LIST_MAX 1024 /* a list is kept as rendered JSON array text */
#define CXP_KAFKA_MAX 64

typedef enum {
  CXP_T_BOOL,   /* int 0/1 */
  CXP_T_INT,    /* long long */
  CXP_T_DOUBLE, /* double */
  CXP_T_STRING, /* char[CXP_STR_MAX] */
  CXP_T_LIST    /* char[CXP_LIST_MAX]: a JSON array of strings, as text */
} cxp_setting_type;

typedef struct cxp_setting {
  const char *name; /* dotted path: "alerts.cooldown_h" is {"alerts":{"cooldown_h":..}} */
  cxp_setting_type type;
  const char *def; /* default, written as it would be in the file */
  double min, max; /* bounds for numbers; length bounds for strings */
  size_t offset;   /* where the value lives in the settings struct */
  const char *desc;
} cxp_setting;

/* A key/value handed through to librdkafka untouched. */
typedef struct cxp_kv {
  char key[128];
  char value[CXP_STR_MAX];
} cxp_kv;

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
  cxp_kv kafka[CXP_KAFKA_MAX];
  int n_kafka;
} cxp_config;

extern const cxp_setting cxp_config_table[];

/* Fills `obj` with the defaults of `tbl`. */
void cxp_settings_defaults(const cxp_setting *tbl, void *obj);

/* Applies a parsed JSON document to `obj` under `tbl`. A leaf under a key in
 * `passthrough` (e.g. "kafka") is handed to `kv` instead of the table. On
 * error, writes "FILE: key 'K': what is wrong" into err and returns -1. */
struct cJSON;
typedef int (*cxp_kv_fn)(void *obj, const char *key, const char *value);
int cxp_settings_apply(const cxp_setting *tbl, void *obj, const struct cJSON *root,
                       const char *file, const char *passthrough, cxp_kv_fn kv,
                       char *err, size_t errlen);

/* Prints the effective settings as one JSON object (nested by dots). */
void cxp_settings_print(const cxp_setting *tbl, const void *obj, FILE *out,
                        int indent);
/* Prints a Markdown table of the settings: the reference documentation. */
void cxp_settings_doc(const cxp_setting *tbl, FILE *out);

/* Reads a whole file into a NUL-terminated heap buffer. */
char *cxp_read_file(const char *path, size_t *len, char *err, size_t errlen);
/* Parses FILE as a JSON object, without its "$schema" and "description"
 * members; on error names the file, line and column. */
struct cJSON *cxp_json_load(const char *path, char *err, size_t errlen);

int cxp_config_load(cxp_config *c, const char *path, char *err, size_t errlen);
void cxp_config_defaults(cxp_config *c);
/* Sets a librdkafka property unless the file already set it. */
void cxp_config_kafka_default(cxp_config *c, const char *key, const char *value);
const char *cxp_config_kafka_get(const cxp_config *c, const char *key);

#endif
