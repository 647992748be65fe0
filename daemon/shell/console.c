/* The operations console's followers: with the admin endpoint and
 * console.enabled on, the daemon reads topics.cases (from each partition's
 * first offset: the compacted topic holds every case's latest state), the
 * indicators topic and the alerts topic (their recent records only) into
 * its view (view.h), as any subscriber would: each through a follower
 * restorer (restore.h) of its own, outside the group, that wakes the loop
 * through the daemon's eventfd and is polled without waiting in each slice.
 * Nothing is committed: a restart reads the same records again. */
#include "daemon_int.h"
#include "view.h"

/* Records taken from each follower per slice: the view's work per record
 * is a parse and a copy, so this bounds a slice's console share to about a
 * millisecond. */
#define CONSOLE_BUDGET 256

enum { F_CASES, F_INDICATORS, F_ALERTS };

static void on_record(cxp_daemon *d, int which, const rd_kafka_message_t *m) {
  if (d->view == NULL) return;
  if (which == F_CASES)
    cxp_view_case(d->view, m->key, m->key_len, m->payload, m->len);
  else if (m->payload == NULL)
    return; /* a tombstone means nothing on these topics */
  else if (which == F_INDICATORS)
    cxp_view_indicator(d->view, m->payload, m->len);
  else
    cxp_view_alert(d->view, m->payload, m->len);
}

static void on_cases(void *opaque, int32_t part, const rd_kafka_message_t *m) {
  (void)part;
  on_record(opaque, F_CASES, m);
}
static void on_indicators(void *opaque, int32_t part, const rd_kafka_message_t *m) {
  (void)part;
  on_record(opaque, F_INDICATORS, m);
}
static void on_alerts(void *opaque, int32_t part, const rd_kafka_message_t *m) {
  (void)part;
  on_record(opaque, F_ALERTS, m);
}

static void on_caught_up(void *opaque, int32_t part, uint64_t records, uint64_t bytes,
                         double seconds) {
  (void)opaque, (void)bytes;
  cxp_debug("console", "partition %d read to its end: %llu record(s) in %.3f s; following it",
            (int)part, (unsigned long long)records, seconds);
}

/* A follower of `topic` over all its partitions, each from `from`; NULL
 * after a warning when the topic cannot be read. */
static cxp_restore *follow(cxp_daemon *d, const char *topic, int64_t from,
                           void (*rec)(void *, int32_t, const rd_kafka_message_t *)) {
  char err[512] = "";
  cxp_restore_cb cb = {rec, on_caught_up, d};
  cxp_restore *r = cxp_restore_create(&d->cfg, topic, d->config_path, &cb, err, sizeof err);
  int32_t parts = r ? cxp_restore_topic_partitions(r, 5000) : -1;
  if (r && parts < 1) snprintf(err, sizeof err, "no topic %s", topic);
  for (int32_t p = 0; r && parts >= 1 && p < parts && err[0] == '\0'; p++)
    if (cxp_restore_begin(r, p, from) != 0) snprintf(err, sizeof err, "cannot read %s", topic);
  if (err[0]) {
    cxp_warn("console", "%s: the console's view goes without it", err);
    cxp_restore_destroy(r);
    return NULL;
  }
  cxp_restore_follow(r);
  return r;
}

void daemon_console_open(cxp_daemon *d) {
  const cxp_config *c = &d->cfg;
  if (c->http_port < 0 || !c->console_enabled) return;
  cxp_view_conf vc = {(uint32_t)c->console_max_cases, (uint32_t)c->console_max_groups,
                      (uint32_t)c->console_trend, (uint32_t)c->console_max_alerts,
                      (uint32_t)c->console_max_metric_groups};
  d->view = cxp_view_create(&vc);
  if (d->view == NULL) {
    cxp_warn("console", "no memory for the console's view: /v1/cases, /v1/segments and "
             "/v1/alerts answer 503");
    return;
  }
  /* Of the indicators, each partition's last records enough to fill every
   * group's trend; of the alerts, the ring's worth. */
  long long ind_tail = c->console_max_groups * c->console_trend;
  if (ind_tail > 100000) ind_tail = 100000;
  if (d->pl.topic_cases[0])
    d->console[F_CASES] = follow(d, d->pl.topic_cases, RD_KAFKA_OFFSET_BEGINNING, on_cases);
  d->console[F_INDICATORS] =
      follow(d, d->pl.topic_indicators, RD_KAFKA_OFFSET_TAIL(ind_tail), on_indicators);
  d->console[F_ALERTS] =
      follow(d, d->pl.topic_alerts, RD_KAFKA_OFFSET_TAIL(c->console_max_alerts), on_alerts);
  cxp_info("console", "following %s, %s and %s for /v1/cases, /v1/segments, /v1/alerts",
           d->pl.topic_cases[0] ? d->pl.topic_cases : "(no cases topic)",
           d->pl.topic_indicators, d->pl.topic_alerts);
}

void daemon_console_wake_on(cxp_daemon *d) {
  for (int i = 0; i < 3; i++)
    if (d->console[i]) cxp_restore_wake_on(d->console[i], d->efd);
}

int daemon_console_poll(cxp_daemon *d) {
  int more = 0;
  for (int i = 0; i < 3; i++)
    if (d->console[i] && cxp_restore_poll(d->console[i], CONSOLE_BUDGET)) more = 1;
  return more;
}

void daemon_console_close(cxp_daemon *d) {
  for (int i = 0; i < 3; i++) {
    cxp_restore_destroy(d->console[i]);
    d->console[i] = NULL;
  }
}

const cxp_view *cxp_daemon_view(const cxp_daemon *d) { return d->view; }
