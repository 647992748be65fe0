#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pipeline.h"
#include "subst.h"

#define OFF(f) offsetof(cxp_config, f)

const cxp_setting cxp_config_table[] = {
    {"pipeline", CXP_T_STRING, "\"/etc/cxpulse/pipelines/default.json\"", 1, 255,
     OFF(pipeline), "Path of the pipeline file (topics, indicator and alert settings).", NULL},
    {"log.level", CXP_T_STRING, "\"info\"", 4, 5, OFF(log_level),
     "Least severe level logged: error, warn, info or debug.", NULL},
    {"log.format", CXP_T_STRING, "\"text\"", 4, 6, OFF(log_format),
     "Log line format: text (for people), logfmt or json (for collectors); under journald "
     "each line starts with its syslog priority (<N>).", NULL},
    {"commit.interval_ms", CXP_T_INT, "1000", 100, 60000, OFF(commit_interval_ms),
     "How often stored offsets are committed, asynchronously.", NULL},
    {"poll.batch", CXP_T_INT, "2000", 1, 100000, OFF(poll_batch),
     "Most messages handled per loop wake-up before other handles get a turn.", NULL},
    {"poll.idle_ms", CXP_T_INT, "100", 10, 10000, OFF(idle_poll_ms),
     "Interval of the timer that serves the consumer while no traffic arrives.", NULL},
    {"backpressure.high", CXP_T_INT, "400000", 1000, 10000000, OFF(backpressure_high),
     "Producer queue depth (messages) at which consumption pauses.", NULL},
    {"backpressure.low", CXP_T_INT, "100000", 0, 10000000, OFF(backpressure_low),
     "Producer queue depth at which paused consumption resumes.", NULL},
    {"stats.interval_s", CXP_T_INT, "30", 0, 3600, OFF(stats_interval_s),
     "Interval of the counters line in the log; 0 turns it off.", NULL},
    {"shutdown.timeout_ms", CXP_T_INT, "10000", 100, 600000, OFF(shutdown_timeout_ms),
     "Longest wait for outputs to be acknowledged at shutdown; the final commits and leaving "
     "the group get 2 s more, so a shutdown ends within this plus 2 s, brokers or not.", NULL},
    {"health.max_paused_s", CXP_T_INT, "60", 1, 86400, OFF(health_max_paused_s),
     "Consumption paused longer than this (the producer cannot take the outputs) makes "
     "/readyz answer 503 with the reason, and cxpulse_stalled 1.", NULL},
    {"health.max_retry_s", CXP_T_INT, "60", 1, 86400, OFF(health_max_retry_s),
     "Outputs failing delivery (and produced again) for longer than this make /readyz "
     "answer 503 with the topic and the error, and cxpulse_stalled 1.", NULL},
    {"state.snapshot_dir", CXP_T_STRING, "\"\"", 0, 255, OFF(snapshot_dir),
     "Directory of the local snapshot files of durable state, one per input partition, "
     "written at shutdown and read (then only the changelog's tail) when the partition "
     "comes back; empty: systemd's $STATE_DIRECTORY when set, else no snapshots.", NULL},
    {"http.host", CXP_T_STRING, "\"127.0.0.1\"", 2, 64, OFF(http_host),
     "Address the admin endpoint (/metrics, /healthz, /readyz, /v1/...) listens on: an "
     "IPv4 or IPv6 literal.", NULL},
    {"http.port", CXP_T_INT, "-1", -1, 65535, OFF(http_port),
     "Port of the admin endpoint; -1 turns it off, 0 picks a free one (logged).", NULL},
    {"http.token", CXP_T_STRING, "\"\"", 0, 255, OFF(http_token),
     "Bearer token the /v1 routes require; empty: none.", NULL},
    {"http.max_conns", CXP_T_INT, "64", 1, 4096, OFF(http_max_conns),
     "Admin connections served at once; past it a newcomer takes the place of the connection "
     "that has sent the least of its request (never one being answered).", NULL},
    {"http.max_conns_per_addr", CXP_T_INT, "16", 0, 4096, OFF(http_max_conns_per_addr),
     "Admin connections per remote address (IPv6: per /64), loopback exempt; 0: no limit.", NULL},
    {"http.header_timeout_ms", CXP_T_INT, "2000", 100, 60000, OFF(http_header_timeout_ms),
     "A request's line and headers must arrive within this of the accept (or of its first "
     "byte on a kept-alive connection), or the connection is closed.", NULL},
    {"console.enabled", CXP_T_BOOL, "true", 0, 1, OFF(console_enabled),
     "With the admin endpoint on (http.port): follow topics.cases, the indicators and the "
     "alerts topics into a bounded in-memory view served by /v1/cases, /v1/segments and "
     "/v1/alerts, with the cxpulse_segment_* gauges (docs/console.md).", NULL},
    {"console.max_cases", CXP_T_INT, "100000", 1, 10000000, OFF(console_max_cases),
     "Recovery cases the view holds; past it the least recently updated closed case goes "
     "(an open one when none is closed), counted in cxpulse_console_dropped_total.", NULL},
    {"console.max_groups", CXP_T_INT, "2000", 1, 1000000, OFF(console_max_groups),
     "Segment groups (window length and group) the view holds; records of further groups "
     "are counted and dropped.", NULL},
    {"console.trend", CXP_T_INT, "12", 1, 288, OFF(console_trend),
     "Closed windows the view keeps per group (the trend of /v1/segments).", NULL},
    {"console.max_alerts", CXP_T_INT, "1000", 1, 100000, OFF(console_max_alerts),
     "Latest alerts the view keeps (a ring: the oldest goes).", NULL},
    {"console.max_metric_groups", CXP_T_INT, "200", 0, 100000, OFF(console_max_metric_groups),
     "Groups exported as cxpulse_segment_* gauges (the first seen); the others are "
     "counted in cxpulse_segment_groups_dropped.", NULL},
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL}};

char *cxp_read_file(const char *path, size_t *len, char *err, size_t errlen) {
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (f == NULL) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return NULL;
  }
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (buf == NULL) break;
    size_t r = fread(buf + n, 1, cap - n - 1, f);
    n += r;
    if (n < cap - 1) break;
    cap *= 2;
    char *nb = realloc(buf, cap);
    if (nb == NULL) {
      free(buf);
      buf = NULL;
    } else {
      buf = nb;
    }
  }
  int bad = ferror(f);
  if (f != stdin) fclose(f);
  if (buf == NULL || bad) {
    snprintf(err, errlen, "%s: %s", path, buf == NULL ? "out of memory" : "read error");
    free(buf);
    return NULL;
  }
  buf[n] = '\0';
  if (len) *len = n;
  return buf;
}

cJSON *cxp_json_load(const char *path, char *err, size_t errlen) {
  size_t len;
  char *text = cxp_read_file(path, &len, err, errlen);
  if (text == NULL) return NULL;
  const char *end = NULL;
  /* The length includes the NUL: cJSON insists on seeing it. */
  cJSON *root = cJSON_ParseWithLengthOpts(text, len + 1, &end, 1);
  if (root == NULL) {
    size_t at = end ? (size_t)(end - text) : 0, line = 1, col = 1;
    for (size_t i = 0; i < at && i < len; i++) {
      if (text[i] == '\n') {
        line++;
        col = 1;
      } else {
        col++;
      }
    }
    snprintf(err, errlen, "%s:%zu:%zu: not valid JSON", path, line, col);
  } else if (!cJSON_IsObject(root)) {
    snprintf(err, errlen, "%s: the top level must be a JSON object", path);
    cJSON_Delete(root);
    root = NULL;
  } else {
    /* "$schema" and "description" document a settings file; they are not
     * settings. */
    cJSON_DeleteItemFromObjectCaseSensitive(root, "$schema");
    cJSON_DeleteItemFromObjectCaseSensitive(root, "description");
  }
  free(text);
  return root;
}

const char *cxp_config_kafka_get(const cxp_config *c, const char *key) {
  for (int i = 0; i < c->n_kafka; i++)
    if (strcmp(c->kafka[i].key, key) == 0) return c->kafka[i].value;
  return NULL;
}

static int kafka_kv(void *obj, const char *key, const char *value) {
  cxp_config *c = obj;
  for (int i = 0; i < c->n_kafka; i++) {
    if (strcmp(c->kafka[i].key, key) == 0) {
      snprintf(c->kafka[i].value, sizeof c->kafka[i].value, "%s", value);
      return 0;
    }
  }
  if (c->n_kafka >= CXP_KAFKA_MAX || strlen(key) >= sizeof c->kafka[0].key ||
      strlen(value) >= sizeof c->kafka[0].value)
    return -1;
  snprintf(c->kafka[c->n_kafka].key, sizeof c->kafka[0].key, "%s", key);
  snprintf(c->kafka[c->n_kafka].value, sizeof c->kafka[0].value, "%s", value);
  c->n_kafka++;
  return 0;
}

void cxp_config_kafka_default(cxp_config *c, const char *key, const char *value) {
  if (cxp_config_kafka_get(c, key) == NULL) kafka_kv(c, key, value);
}

void cxp_config_defaults(cxp_config *c) {
  memset(c, 0, sizeof *c);
  cxp_settings_defaults(cxp_config_table, c);
}

/* What the references of one file expanded to, by the index of their
 * cxp_ref: pointers into the parsed file, which outlives every error
 * sentence that may have to be cleaned of them. */
typedef struct {
  cxp_config *c;
  const char *file;
  const char *values[CXP_REFS_MAX];
} ref_ctx;

static int record_ref(void *arg, const char *key, const char *raw, const char *value,
                      char *err, size_t errlen) {
  ref_ctx *r = arg;
  cxp_config *c = r->c;
  if (c->n_refs >= CXP_REFS_MAX) {
    snprintf(err, errlen, "%s: key '%s': more than %d values with references", r->file, key,
             CXP_REFS_MAX);
    return -1;
  }
  snprintf(c->refs[c->n_refs].key, sizeof c->refs[0].key, "%s", key);
  snprintf(c->refs[c->n_refs].raw, sizeof c->refs[0].raw, "%s", raw);
  r->values[c->n_refs++] = value;
  return 0;
}

static const cxp_ref *find_ref(const cxp_config *c, const char *key) {
  for (int i = 0; i < c->n_refs; i++)
    if (strcmp(c->refs[i].key, key) == 0) return &c->refs[i];
  return NULL;
}

void cxp_config_hide(const cxp_config *c, const char *key, const char *value, char *err,
                     size_t errlen) {
  const cxp_ref *ref = find_ref(c, key);
  size_t vlen = strlen(value);
  if (ref == NULL || vlen == 0 || errlen == 0) return;
  char pat[300];
  snprintf(pat, sizeof pat, "key '%s': ", key);
  char *at = strstr(err, pat);
  if (at == NULL) return;
  at += strlen(pat);
  char *out = malloc(errlen);
  if (out == NULL) {
    /* No room to rewrite it: the sentence goes rather than the secret. */
    *at = '\0';
    return;
  }
  size_t n = (size_t)(at - err), rawlen = strlen(ref->raw);
  memcpy(out, err, n);
  for (const char *s = at; *s && n + 1 < errlen;) {
    if (strncmp(s, value, vlen) == 0) {
      size_t k = rawlen < errlen - 1 - n ? rawlen : errlen - 1 - n;
      memcpy(out + n, ref->raw, k);
      n += k;
      s += vlen;
    } else {
      out[n++] = *s++;
    }
  }
  out[n] = '\0';
  /* A sentence cut at its buffer's end may end in the first bytes of the
   * value, which no search for the whole value finds. */
  size_t tail = n - (size_t)(at - err);
  if (strlen(err) + 1 >= errlen)
    for (size_t k = vlen - 1 < tail ? vlen - 1 : tail; k > 0; k--)
      if (memcmp(out + n - k, value, k) == 0) {
        out[n - k] = '\0';
        break;
      }
  memcpy(err, out, strlen(out) + 1);
  free(out);
}

void cxp_config_shown(const cxp_config *c, cxp_config *out) {
  *out = *c;
  for (int i = 0; i < c->n_refs; i++) {
    const cxp_ref *r = &c->refs[i];
    if (strncmp(r->key, "kafka.", 6) == 0) {
      for (int j = 0; j < out->n_kafka; j++)
        if (strcmp(out->kafka[j].key, r->key + 6) == 0)
          snprintf(out->kafka[j].value, sizeof out->kafka[j].value, "%s", r->raw);
      continue;
    }
    for (const cxp_setting *s = cxp_config_table; s->name; s++)
      if (s->type == CXP_T_STRING && strcmp(s->name, r->key) == 0)
        snprintf((char *)out + s->offset, CXP_STR_MAX, "%s", r->raw);
  }
}

/* The checks of the daemon's file the table cannot make. */
static int check_config(const cxp_config *c, const char *path, char *err, size_t errlen) {
  if (cxp_log_parse_level(c->log_level) < 0) {
    snprintf(err, errlen, "%s: key 'log.level': '%s' is not error, warn, info or debug",
             path, c->log_level);
    return -1;
  }
  if (cxp_log_parse_format(c->log_format) < 0) {
    snprintf(err, errlen, "%s: key 'log.format': '%s' is not text, logfmt or json", path,
             c->log_format);
    return -1;
  }
  if (c->backpressure_low >= c->backpressure_high) {
    snprintf(err, errlen, "%s: key 'backpressure.low': must be below backpressure.high",
             path);
    return -1;
  }
  return 0;
}

int cxp_config_load(cxp_config *c, const char *path, char *err, size_t errlen) {
  cxp_config_defaults(c);
  cJSON *root = cxp_json_load(path, err, errlen);
  if (root == NULL) return -1;
  /* References are expanded in every string value of this file, not only
   * under "kafka": http.token is a secret too, and a path (the pipeline,
   * the snapshot directory) may come from the environment. Not in pipeline
   * files: they hold no secrets, are shared between instances and their
   * strings are data. */
  ref_ctx r = {c, path, {NULL}};
  int rc = cxp_subst_json(root, path, record_ref, &r, err, errlen);
  if (rc == 0)
    rc = cxp_settings_apply(cxp_config_table, c, root, path, "kafka", kafka_kv, err, errlen);
  if (rc == 0) rc = check_config(c, path, err, errlen);
  /* Whatever refused the file, the sentence quotes no secret. */
  for (int i = 0; i < c->n_refs; i++) {
    if (rc) cxp_config_hide(c, c->refs[i].key, r.values[i], err, errlen);
    /* The copies the settings took are what the daemon uses; the parsed
     * file's are not left in freed memory. */
    memset((char *)r.values[i], 0, strlen(r.values[i]));
  }
  cJSON_Delete(root);
  return rc ? -1 : 0;
}

int cxp_pipeline_load(cxp_pipeline *p, const char *path, char *err, size_t errlen) {
  cJSON *root = cxp_json_load(path, err, errlen);
  if (root == NULL) {
    cxp_pipeline_defaults(p);
    return -1;
  }
  return cxp_pipeline_from_json(p, root, path, err, errlen);
}
