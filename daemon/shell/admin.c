#include "admin.h"

#include <stdio.h>
#include <string.h>

#include "alert.h"
#include "consolepage.h"
#include "core.h"
#include "jsonw.h"
#include "log.h"
#include "metrics.h"
#include "procstat.h"
#include "view.h"

static void text(cxp_http_response *res, int status, const char *body) {
  res->status = status;
  cxp_buf_put(res->body, body, strlen(body));
}

static void counter(cxp_metrics *m, const char *name, const char *help, uint64_t v) {
  cxp_metrics_family(m, name, CXP_METRIC_COUNTER, help);
  cxp_metrics_u64(m, NULL, v);
}

static void gauge(cxp_metrics *m, const char *name, const char *help, double v) {
  cxp_metrics_family(m, name, CXP_METRIC_GAUGE, help);
  cxp_metrics_f64(m, NULL, v);
}

/* The counts of events, dead letters, duplicates and alerts. */
static void metrics_events(cxp_metrics *m, const cxp_counters *n) {
  cxp_metrics_family(m, "cxpulse_build_info", CXP_METRIC_GAUGE,
                     "The running build: its version as a label, value 1.");
  cxp_metrics_u64(m, (const char *[]){"version", CXP_VERSION, NULL}, 1);
  counter(m, "cxpulse_events_consumed_total", "Input messages consumed.", n->consumed);
  cxp_metrics_family(m, "cxpulse_events_processed_total", CXP_METRIC_COUNTER,
                     "Good events applied, by type.");
  for (int t = 0; t < CXP_EV__COUNT; t++)
    cxp_metrics_u64(m, (const char *[]){"type", cxp_event_type_name((cxp_event_type)t), NULL},
                    n->by_type[t]);
  cxp_metrics_family(m, "cxpulse_dead_letters_total", CXP_METRIC_COUNTER,
                     "Events dead-lettered, by reason.");
  for (int r = 1; r < CXP_BAD__COUNT; r++)
    cxp_metrics_u64(m, (const char *[]){"reason", cxp_reason_name((cxp_reason)r), NULL},
                    n->dead[r]);
  counter(m, "cxpulse_duplicates_total", "Events seen before (offset or event_id), not applied.",
          n->duplicates);
  cxp_metrics_family(m, "cxpulse_alerts_total", CXP_METRIC_COUNTER,
                     "Alerts raised, by type and priority.");
  for (int a = 0; a < CXP_AL__COUNT; a++)
    for (int p = 0; p < 4; p++) {
      static const char *const prio[4] = {"P1", "P2", "P3", "P4"};
      cxp_metrics_u64(m,
                      (const char *[]){"type", cxp_alert_type_name((cxp_alert_type)a),
                                       "priority", prio[p], NULL},
                      n->alerts_by_priority[a][p]);
    }
  cxp_metrics_family(m, "cxpulse_alerts_suppressed_total", CXP_METRIC_COUNTER,
                     "Alerts held back, by why.");
  cxp_metrics_u64(m, (const char *[]){"why", "cooldown", NULL}, n->suppressed_cooldown);
  cxp_metrics_u64(m, (const char *[]){"why", "consent", NULL}, n->suppressed_consent);
}

/* Outputs and their delivery, commits, rebalances, back-pressure. */
static void metrics_outputs(cxp_metrics *m, cxp_daemon *d, const cxp_daemon_stats *s) {
  const cxp_counters *n = s->core;
  cxp_metrics_family(m, "cxpulse_outputs_delivered_total", CXP_METRIC_COUNTER,
                     "Outputs the broker acknowledged, by stream.");
  for (int st = 0; st < CXP_STREAM__COUNT; st++)
    cxp_metrics_u64(m, (const char *[]){"stream", cxp_stream_name((cxp_stream)st), NULL},
                    s->delivered[st]);
  counter(m, "cxpulse_delivery_retries_total", "Outputs produced again after a failed delivery.",
          s->delivery_retries);
  counter(m, "cxpulse_commits_total", "Offset commits that succeeded.", s->commits);
  counter(m, "cxpulse_commit_failures_total", "Offset commits that failed.", s->commit_failures);
  counter(m, "cxpulse_rebalances_total", "Consumer group rebalances seen.", s->rebalances);
  counter(m, "cxpulse_backpressure_pauses_total", "Times consumption paused for the producer.",
          s->pauses);
  gauge(m, "cxpulse_producer_queue_messages", "Messages in the producer's queue.",
        (double)s->outq);
  gauge(m, "cxpulse_outputs_in_flight", "Outputs awaiting acknowledgement.",
        (double)s->in_flight);
  gauge(m, "cxpulse_partitions_assigned", "Partitions held (input and repartition topics).",
        (double)s->assigned);
  gauge(m, "cxpulse_paused", "1 while consumption is paused.", s->paused);
  gauge(m, "cxpulse_paused_seconds", "How long consumption has been paused; 0 while consuming.",
        s->paused_seconds);
  gauge(m, "cxpulse_outputs_retrying", "Outputs produced again after a failed delivery and "
        "not delivered yet.", (double)s->retrying);
  gauge(m, "cxpulse_output_retry_seconds", "How long some output has been failing delivery; "
        "0 when none is.", s->retry_seconds);
  gauge(m, "cxpulse_stalled", "1 while paused longer than health.max_paused_s or failing "
        "delivery longer than health.max_retry_s (/readyz then answers 503 with the reason).",
        cxp_daemon_stalled(d) != NULL);
  cxp_metrics_family(m, "cxpulse_outputs_rejected_total", CXP_METRIC_COUNTER,
                     "Outputs a topic refused for good (too large, not allowed, no such "
                     "topic), by stream: each went to the dead letters as output_rejected.");
  for (int st = 0; st < CXP_STREAM__COUNT; st++)
    cxp_metrics_u64(m, (const char *[]){"stream", cxp_stream_name((cxp_stream)st), NULL},
                    s->rejected[st]);
  counter(m, "cxpulse_dead_letters_truncated_total",
          "Dead letters whose payload was cut to fit the topic (payload_truncated, with the "
          "original's length and SHA-256).", n->dead_truncated);
  counter(m, "cxpulse_input_offsets_skipped_total",
          "Input offsets deleted by the topic's retention before they were read (each "
          "stretch also has a dead letter offsets_skipped).", s->offsets_skipped);
}

/* What the admin server's limits did, and the log lines held back. */
static void metrics_admin(cxp_metrics *m, cxp_daemon *d) {
  cxp_http_stats hs;
  if (cxp_daemon_http_stats(d, &hs) == 0) {
    counter(m, "cxpulse_http_connections_total", "Admin connections accepted.", hs.accepted);
    cxp_metrics_family(m, "cxpulse_http_connections_closed_total", CXP_METRIC_COUNTER,
                       "Admin connections the server closed, by why: evicted (a newcomer took "
                       "the place of one that had sent the least of its request), refused "
                       "(503: every connection was being answered), timed_out.");
    cxp_metrics_u64(m, (const char *[]){"why", "evicted", NULL}, hs.evicted);
    cxp_metrics_u64(m, (const char *[]){"why", "refused", NULL}, hs.refused);
    cxp_metrics_u64(m, (const char *[]){"why", "timed_out", NULL}, hs.timed_out);
  }
  counter(m, "cxpulse_log_lines_suppressed_total",
          "Warning and error lines not written: past 10 per 10 s from one place in the code.",
          cxp_log_suppressed_total());
}

/* Readiness, the customers' state, changelog, restores, snapshots, evictions,
 * memory (`resident`, NAN where unknown) and the recovery cases. */
static void metrics_state(cxp_metrics *m, cxp_daemon *d, const cxp_daemon_stats *s,
                          double resident) {
  const cxp_counters *n = s->core;
  gauge(m, "cxpulse_ready", "1 when ready (partitions assigned, consuming), as /readyz.",
        cxp_daemon_ready(d));
  const cxp_core *c = cxp_daemon_core(d);
  gauge(m, "cxpulse_customers", "Customers held in memory.", (double)c->state.customers);
  gauge(m, "cxpulse_state_bytes", "Bytes the customers' state takes.", (double)c->state.bytes);
  counter(m, "cxpulse_changelog_records_total",
          "Customer state records produced to the changelog (coalesced per interval).",
          s->changelog_records);
  counter(m, "cxpulse_changelog_bytes_total", "Key and value bytes of those records.",
          s->changelog_bytes);
  counter(m, "cxpulse_input_bytes_total", "Input payload bytes consumed.", s->input_bytes);
  counter(m, "cxpulse_restore_records_total", "Changelog records read back on restores.",
          s->restore_records);
  counter(m, "cxpulse_restore_partitions_total", "Partitions whose state was restored.",
          s->restore_partitions);
  counter(m, "cxpulse_snapshot_records_total",
          "Customers restored from local snapshot files.", s->snapshot_records);
  counter(m, "cxpulse_snapshot_errors_total",
          "Snapshot files refused (missing parts, corrupt, another partition's): the "
          "changelog was read instead.", s->snapshot_errors);
  counter(m, "cxpulse_snapshots_written_total", "Snapshot files written at shutdown.",
          s->snapshots_written);
  counter(m, "cxpulse_restore_errors_total",
          "Changelog records a restore could not apply (skipped, logged).", s->restore_errors);
  gauge(m, "cxpulse_restore_seconds", "Time spent restoring, summed over the restores.",
        s->restore_seconds);
  gauge(m, "cxpulse_restore_rate_records", "Records per second of the latest restore.",
        s->restore_last_rate);
  cxp_metrics_family(m, "cxpulse_customers_evicted_total", CXP_METRIC_COUNTER,
                     "Customers removed from memory, by why: ttl (idle past state.idle_ttl_days, "
                     "tombstoned) or cap (state.max_customers, kept in the changelog).");
  cxp_metrics_u64(m, (const char *[]){"why", "ttl", NULL}, n->evicted_ttl);
  cxp_metrics_u64(m, (const char *[]){"why", "cap", NULL}, n->evicted_cap);
  gauge(m, "cxpulse_resident_memory_bytes", "The process's resident memory (/proc/self/stat), "
        "as process_resident_memory_bytes.", resident);
  gauge(m, "cxpulse_restoring_partitions", "Input partitions waiting for their restore.",
        (double)s->restoring);
  gauge(m, "cxpulse_open_cases", "Recovery cases open.", (double)s->cases.open);
  gauge(m, "cxpulse_open_deadlines", "Case steps that can still breach.",
        (double)s->cases.open_deadlines);
  gauge(m, "cxpulse_systemic_groups",
        "Systemic-failure groups (category, touchpoint, window) held, restored ones included.",
        (double)s->cases.groups);
  counter(m, "cxpulse_cases_restored_total",
          "Open recovery cases restored with their customers' state records.",
          s->cases.restored);
  counter(m, "cxpulse_churn_silence_total",
          "Customers whose silence alone lifted them into a higher churn band.",
          n->churn_silence);
}

/* Segment windows: late events and revisions, duplicate partials. */
static void metrics_windows(cxp_metrics *m, const cxp_core *c, const cxp_counters *n) {
  if (c->pl->win_enabled) {
    cxp_core_late_stats ls;
    cxp_core_late_stats_get(c, &ls);
    cxp_metrics_family(m, "cxpulse_window_late_events_total", CXP_METRIC_COUNTER,
                       "Events that came after their window of a length had closed, by "
                       "length and outcome: revised (within the horizon: the record went out "
                       "again) or missed (past it).");
    for (int li = 0; li < c->pl->windows.n_lengths; li++) {
      char len[24];
      snprintf(len, sizeof len, "%llds", (long long)(c->pl->windows.length_ms[li] / 1000));
      cxp_metrics_u64(m, (const char *[]){"length", len, "outcome", "revised", NULL},
                      ls.revised[li]);
      cxp_metrics_u64(m, (const char *[]){"length", len, "outcome", "missed", NULL},
                      ls.missed[li]);
    }
    gauge(m, "cxpulse_window_records_kept", "Segment records the mergers keep for revisions "
          "(windows.max_revisable each).", (double)ls.kept);
    counter(m, "cxpulse_window_revisions_total",
            "Segment records emitted again, corrected by late events (revision >= 1).",
            ls.revisions);
  }
  counter(m, "cxpulse_window_partials_duplicate_total",
          "Window partials ignored by a merger: their input partition's events "
          "were in a partial it had taken, or their window was emitted before the "
          "merger restarted (a window closed again, or read again, after a restart).",
          n->partial_duplicates);
}

/* The churn model: whether the learnt one scores, the labels it learnt
 * from, its prequential scores and its terms. */
static void metrics_churn_model(cxp_metrics *m, const cxp_core *c, const cxp_daemon_stats *s) {
  if (!c->pl->churn_enabled) return;
  cxp_metrics_family(m, "cxpulse_churn_model_shared_records_total", CXP_METRIC_COUNTER,
                     "Churn learner records of topics.model, by what became of them: "
                     "published by this instance, read (any instance's), refused (not a "
                     "learner this build reads).");
  cxp_metrics_u64(m, (const char *[]){"what", "published", NULL}, s->model_published);
  cxp_metrics_u64(m, (const char *[]){"what", "read", NULL}, s->model_read);
  cxp_metrics_u64(m, (const char *[]){"what", "refused", NULL}, s->model_refused);
  cxp_learn_stats st;
  cxp_core_learn_stats(c, &st);
  gauge(m, "cxpulse_churn_model_learnt", "1 when the churn model that scores is the one "
        "learnt from the stream's outcomes, 0 while the configured one does.",
        (double)st.active);
  cxp_metrics_family(m, "cxpulse_churn_model_labels_total", CXP_METRIC_COUNTER,
                     "Churn samples labelled and learnt from, over the partitions held, by "
                     "label.");
  cxp_metrics_u64(m, (const char *[]){"label", "positive", NULL}, st.positives);
  cxp_metrics_u64(m, (const char *[]){"label", "negative", NULL}, st.labels - st.positives);
  if (st.recent) {
    gauge(m, "cxpulse_churn_model_auc", "ROC AUC of the churn scores the recent labels had "
          "before they were learnt (prequential).", st.auc);
    gauge(m, "cxpulse_churn_model_brier", "Brier score of the same (lower is better).",
          st.brier);
  }
  cxp_metrics_family(m, "cxpulse_churn_model_coefficient", CXP_METRIC_GAUGE,
                     "The terms of the churn model that scores, by factor (and the "
                     "intercept).");
  for (int f = 0; f < CXP_CF__COUNT; f++)
    cxp_metrics_f64(m, (const char *[]){"factor", cxp_churn_factor_name(f), NULL},
                    c->churn.coef[f]);
  cxp_metrics_f64(m, (const char *[]){"factor", "intercept", NULL}, c->churn.intercept);
}

/* Processing latency and the consumer's lags by partition. */
static void metrics_latency(cxp_metrics *m, cxp_daemon *d) {
  cxp_metrics_family(m, "cxpulse_processing_seconds", CXP_METRIC_HISTOGRAM,
                     "Time from an event consumed to its outputs, and those of every event "
                     "before it on its partition, acknowledged (its offset committable).");
  cxp_metrics_histogram(m, NULL, cxp_daemon_latency(d));
  int32_t parts[1024];
  int64_t lags[1024];
  int nl = cxp_daemon_lag(d, parts, lags, 1024);
  cxp_metrics_family(m, "cxpulse_consumer_lag_messages", CXP_METRIC_GAUGE,
                     "Input messages not consumed yet, by partition (from the client's "
                     "cached high watermarks).");
  for (int i = 0; i < nl; i++) {
    if (lags[i] < 0) continue;
    char p[16];
    snprintf(p, sizeof p, "%d", (int)parts[i]);
    cxp_metrics_i64(m, (const char *[]){"partition", p, NULL}, lags[i]);
  }
  nl = cxp_daemon_committed_lag(d, parts, lags, 1024);
  cxp_metrics_family(m, "cxpulse_consumer_committed_lag_messages", CXP_METRIC_GAUGE,
                     "Input messages past the committed offset, by partition (librdkafka's "
                     "statistics, every 5 s): what a restart would read again.");
  for (int i = 0; i < nl; i++) {
    char p[16];
    snprintf(p, sizeof p, "%d", (int)parts[i]);
    cxp_metrics_i64(m, (const char *[]){"partition", p, NULL}, lags[i]);
  }
}

static void metrics(cxp_daemon *d, cxp_http_response *res) {
  cxp_daemon_stats s;
  cxp_daemon_stats_get(d, &s);
  cxp_metrics m;
  cxp_metrics_init(&m, res->body);
  metrics_events(&m, s.core);
  metrics_outputs(&m, d, &s);
  metrics_admin(&m, d);
  cxp_procstat ps;
  cxp_procstat_read(&ps);
  metrics_state(&m, d, &s, ps.resident_bytes);
  metrics_windows(&m, cxp_daemon_core(d), s.core);
  metrics_churn_model(&m, cxp_daemon_core(d), &s);
  cxp_metrics_family(&m, "cxpulse_sla_breaches_total", CXP_METRIC_COUNTER,
                     "Step deadlines breached, by escalation level (one "
                     "recovery.sla_breached per case and level carries them).");
  for (int k = 0; k < CXP_CASES_LEVELS; k++) {
    char lv[4];
    snprintf(lv, sizeof lv, "%d", k + 1);
    cxp_metrics_u64(&m, (const char *[]){"level", lv, NULL}, s.cases.breaches[k]);
  }
  metrics_latency(&m, d);
  if (cxp_daemon_view(d)) cxp_view_metrics(cxp_daemon_view(d), &m);
  cxp_procstat_metrics(&m, &ps);
  res->content_type = CXP_METRICS_CONTENT_TYPE;
}

static void status(cxp_daemon *d, cxp_http_response *res) {
  cxp_daemon_stats s;
  cxp_daemon_stats_get(d, &s);
  const cxp_core *c = cxp_daemon_core(d);
  cxp_jw j;
  cxp_jw_init(&j, res->body);
  cxp_jw_obj(&j, NULL);
  cxp_jw_cstr(&j, "pipeline", c->pl->name);
  cxp_jw_bool(&j, "ready", cxp_daemon_ready(d));
  cxp_jw_int(&j, "partitions_assigned", s.assigned);
  cxp_jw_bool(&j, "paused", s.paused);
  cxp_jw_int(&j, "consumed", (int64_t)s.core->consumed);
  cxp_jw_int(&j, "applied", (int64_t)s.core->processed);
  cxp_jw_int(&j, "duplicates", (int64_t)s.core->duplicates);
  uint64_t dead = 0, alerts = 0;
  for (int r = 0; r < CXP_BAD__COUNT; r++) dead += s.core->dead[r];
  for (int a = 0; a < CXP_AL__COUNT; a++) alerts += s.core->alerts[a];
  cxp_jw_int(&j, "dead_letters", (int64_t)dead);
  cxp_jw_int(&j, "alerts", (int64_t)alerts);
  cxp_jw_int(&j, "producer_queue", (int64_t)s.outq);
  cxp_jw_int(&j, "in_flight", (int64_t)s.in_flight);
  cxp_jw_int(&j, "customers", (int64_t)c->state.customers);
  cxp_jw_int(&j, "state_bytes", (int64_t)c->state.bytes);
  cxp_jw_int(&j, "open_cases", s.cases.open);
  cxp_jw_int(&j, "commits", (int64_t)s.commits);
  cxp_jw_int(&j, "commit_failures", (int64_t)s.commit_failures);
  cxp_jw_end(&j);
  res->content_type = "application/json";
}

/* The customer of this id and the partition whose state holds him, or NULL
 * when this instance holds him in none. */
static const cxp_customer *find_customer(const cxp_core *c, const char *id, int32_t *part) {
  size_t len = strlen(id);
  const cxp_customer *cu = NULL;
  *part = -1;
  for (int32_t i = 0; i < c->state.n_shards && cu == NULL; i++)
    if (c->state.shards[i] && (cu = cxp_shard_find(c->state.shards[i], id, len)) != NULL)
      *part = i;
  return cu;
}

/* His open and overdue cases into cc: 1, or 0 when his partition has no
 * cases to ask. */
static int cases_of(const cxp_core *c, int32_t part, const cxp_customer *cu,
                    cxp_case_customer *cc) {
  if (!(part < c->n_cases && c->cases[part])) return 0;
  cxp_cases_customer(c->cases[part], cu->id, cu->id_len, cc);
  return 1;
}

/* Decimals of /v1/customers' figures: scores, counts, days and amounts to
 * 2, probabilities, shares of 0..1 and the churn model's terms to 3. The
 * figures are estimates read by people; digits past these are noise. */
enum { DP_SCORE = 2, DP_PROB = 3 };

/* His indicators at the partition's clock, null where there is nothing to
 * measure yet; nps_class names the class of his latest response. */
static void write_indicators(cxp_jw *j, const cxp_core *c, const cxp_customer *cu) {
  cxp_indicators in;
  cxp_customer_indicators(cu, &c->customer, c->clock_ms, &in);
  cxp_jw_obj(j, "indicators");
  cxp_jw_fixed(j, "csat", in.csat, DP_SCORE);
  cxp_jw_fixed(j, "nps_mean", in.nps_mean, DP_SCORE);
  cxp_jw_cstr(j, "nps_class", cxp_nps_class_name(in.nps_class));
  cxp_jw_fixed(j, "ces", in.ces, DP_SCORE);
  cxp_jw_obj(j, "servqual_gap");
  for (int k = 0; k < CXP_SQ__COUNT; k++)
    cxp_jw_fixed(j, cxp_sq_dimension_name(k), in.sq_gap[k], DP_SCORE);
  cxp_jw_end(j);
  cxp_jw_fixed(j, "satisfaction_index", in.si, DP_SCORE);
  cxp_jw_fixed(j, "si_baseline", in.si_baseline, DP_SCORE);
  cxp_jw_fixed(j, "value", in.value, DP_PROB);
  cxp_jw_fixed(j, "cost", in.cost, DP_PROB);
  cxp_jw_fixed(j, "value_ratio", in.value_ratio, DP_SCORE);
  cxp_jw_fixed(j, "recency_days", in.recency_days, DP_SCORE);
  cxp_jw_fixed(j, "frequency_short", in.freq_short, DP_SCORE);
  cxp_jw_fixed(j, "frequency_long", in.freq_long, DP_SCORE);
  cxp_jw_fixed(j, "monetary_short", in.mon_short, DP_SCORE);
  cxp_jw_fixed(j, "monetary_long", in.mon_long, DP_SCORE);
  cxp_jw_fixed(j, "complaints", in.complaints, DP_SCORE);
  cxp_jw_fixed(j, "activity", in.activity, DP_SCORE);
  cxp_jw_fixed(j, "repeat_purchase_rate", in.repeat_purchase_rate, DP_SCORE);
  cxp_jw_fixed(j, "referral_rate", in.referral_rate, DP_SCORE);
  cxp_jw_fixed(j, "complaint_rate", in.complaint_rate, DP_SCORE);
  cxp_jw_fixed(j, "clv", in.clv, DP_SCORE);
  cxp_jw_end(j);
}

/* His cohort, and his open and overdue cases where his partition has cases. */
static void write_cases(cxp_jw *j, const cxp_core *c, int32_t part, const cxp_customer *cu,
                        const cxp_view *v) {
  static const char *const cohorts[4] = {"never_failed", "recovered_well", "recovered_poorly",
                                         "case_open"};
  cxp_jw_obj(j, "cases");
  cxp_jw_cstr(j, "cohort", cohorts[cu->cohort & 3]);
  cxp_case_customer cc;
  if (cases_of(c, part, cu, &cc)) {
    cxp_jw_int(j, "open", cc.open);
    cxp_jw_int(j, "overdue", cc.overdue);
  }
  if (v) { /* his records in the console's view (any instance's) */
    char id[CXP_STR_MAX];
    snprintf(id, sizeof id, "%.*s", (int)cu->id_len, cu->id);
    cxp_view_customer_cases(v, id, j, "records");
  }
  cxp_jw_end(j);
}

/* His churn risk, its band and its reasons; null with churn off. Scored now,
 * at the partition's clock: a silent customer's risk has grown since his
 * last event. */
static void write_churn(cxp_jw *j, const cxp_core *c, int32_t part, const cxp_customer *cu) {
  if (!c->pl->churn_enabled) {
    cxp_jw_null(j, "churn");
    return;
  }
  int open = 0, overdue = 0;
  cxp_case_customer cc;
  if (cases_of(c, part, cu, &cc)) {
    open = cc.open;
    overdue = cc.overdue;
  }
  cxp_churn_score sc;
  cxp_churn_eval(&c->churn, cu, &c->customer, open, overdue, c->clock_ms, &sc);
  cxp_alert_reason rs[CXP_ALERT_MAX_REASONS];
  int nr = cxp_churn_reasons(&sc, c->churn.top_k, rs);
  cxp_jw_obj(j, "churn");
  cxp_jw_fixed(j, "p", sc.p, DP_PROB);
  cxp_jw_cstr(j, "band", cxp_churn_band_name(cxp_churn_band_next(cu->churn_band, sc.p,
                                                                 &c->churn)));
  cxp_jw_fixed(j, "value", sc.value, DP_SCORE);
  cxp_jw_fixed(j, "value_at_risk", sc.value_at_risk, DP_SCORE);
  cxp_jw_arr(j, "reasons");
  for (int i = 0; i < nr; i++) {
    cxp_jw_obj(j, NULL);
    cxp_jw_cstr(j, "factor", rs[i].factor);
    cxp_jw_fixed(j, "value", rs[i].value, DP_PROB);
    cxp_jw_fixed(j, "contribution", rs[i].contribution, DP_PROB);
    cxp_jw_end(j);
  }
  cxp_jw_end(j);
  cxp_jw_end(j);
}

/* His JSON into j: his figures when held here, else (404) an error and his
 * cases as the console's view has them (another instance holds him). */
static void write_customer(cxp_jw *j, cxp_daemon *d, const char *id, cxp_http_response *res) {
  const cxp_core *c = cxp_daemon_core(d);
  const cxp_view *v = cxp_daemon_view(d);
  int32_t part;
  const cxp_customer *cu = find_customer(c, id, &part);
  cxp_jw_obj(j, NULL);
  if (cu == NULL) {
    res->status = 404;
    cxp_jw_cstr(j, "error", "customer not held by this instance");
    if (v) {
      cxp_jw_obj(j, "cases");
      cxp_view_customer_cases(v, id, j, "records");
      cxp_jw_end(j);
    }
  } else {
    cxp_jw_str(j, "customer_id", cu->id, cu->id_len);
    cxp_jw_int(j, "partition", part);
    cxp_jw_cstr(j, "segment", cxp_state_segment_name(&c->state, cu->segment));
    cxp_jw_time(j, "as_of", c->clock_ms);
    write_indicators(j, c, cu);
    write_cases(j, c, part, cu, v);
    write_churn(j, c, part, cu);
  }
  cxp_jw_end(j);
}

/* GET /v1/customers/{id}, {id} percent-decoded. Ids are anyone's text: the
 * answer has '<', '>' and '&' as JSON escapes (cxp_view_put_json), so that
 * nothing in it can be taken for markup. */
static void customer(cxp_daemon *d, const char *raw, cxp_http_response *res) {
  char id[CXP_STR_MAX];
  res->content_type = "application/json";
  if (cxp_percent_decode(raw, strlen(raw), 0, id, sizeof id) != 0) {
    res->status = 400;
    cxp_buf_printf(res->body, "{\"error\":\"the customer id is not well percent-encoded, or "
                   "is over %d bytes\"}", CXP_STR_MAX - 1);
    return;
  }
  cxp_buf tmp;
  cxp_buf_init(&tmp);
  cxp_jw j;
  cxp_jw_init(&j, &tmp);
  write_customer(&j, d, id, res);
  cxp_view_put_json(res->body, tmp.p, tmp.len);
  cxp_buf_free(&tmp);
}

/* GET /v1/churn/model: the model that scores (learnt or configured), its
 * calibration, and what it learnt from, in all and by partition held. */
static void churn_model(cxp_daemon *d, cxp_http_response *res) {
  const cxp_core *c = cxp_daemon_core(d);
  cxp_learn_stats st;
  cxp_core_learn_stats(c, &st);
  cxp_jw j;
  cxp_jw_init(&j, res->body);
  cxp_jw_obj(&j, NULL);
  cxp_jw_bool(&j, "enabled", c->pl->churn_enabled);
  cxp_jw_bool(&j, "learning", c->learn.on);
  cxp_jw_cstr(&j, "scoring", st.active ? "learnt" : "configured");
  cxp_jw_obj(&j, "coefficients");
  for (int f = 0; f < CXP_CF__COUNT; f++)
    cxp_jw_fixed(&j, cxp_churn_factor_name(f), c->churn.coef[f], 4);
  cxp_jw_end(&j);
  cxp_jw_fixed(&j, "intercept", c->churn.intercept, 4);
  cxp_jw_arr(&j, "calibration");
  cxp_jw_fixed(&j, NULL, c->churn.cal_a, 4);
  cxp_jw_fixed(&j, NULL, c->churn.cal_b, 4);
  cxp_jw_end(&j);
  cxp_jw_int(&j, "labels", (long long)st.labels);
  cxp_jw_int(&j, "positives", (long long)st.positives);
  cxp_jw_int(&j, "min_labels", c->learn.min_labels);
  cxp_jw_fixed(&j, "horizon_days", c->learn.horizon_days, 2);
  cxp_jw_obj(&j, "prequential");
  cxp_jw_int(&j, "recent", st.recent);
  cxp_jw_fixed(&j, "auc", st.auc, 4);
  cxp_jw_fixed(&j, "brier", st.brier, 4);
  cxp_jw_fixed(&j, "mean_p", st.mean_p, 4);
  cxp_jw_fixed(&j, "rate", st.rate, 4);
  cxp_jw_end(&j);
  cxp_jw_arr(&j, "partitions");
  for (int32_t p = 0; p < c->n_learners; p++) {
    const cxp_learner *l = cxp_core_learner(c, p);
    if (l == NULL) continue;
    cxp_jw_obj(&j, NULL);
    cxp_jw_int(&j, "partition", p);
    cxp_jw_int(&j, "labels", (long long)l->labels);
    cxp_jw_int(&j, "positives", (long long)l->positives);
    cxp_jw_end(&j);
  }
  cxp_jw_end(&j);
  cxp_jw_end(&j);
  res->content_type = "application/json";
}

void cxp_admin_handle(void *opaque, const cxp_http_request *req, cxp_http_response *res) {
  cxp_daemon *d = opaque;
  const char *p = req->path;
  if (strcmp(p, "/healthz") == 0) {
    text(res, 200, "ok\n");
  } else if (strcmp(p, "/readyz") == 0) {
    const char *why = cxp_daemon_not_ready(d);
    if (why)
      text(res, 503, why);
    else
      text(res, 200, "ready\n");
  } else if (strcmp(p, "/metrics") == 0) {
    metrics(d, res);
  } else if (strncmp(p, "/v1/", 4) == 0) {
    const char *token = cxp_daemon_config(d)->http_token;
    if (token[0] && !cxp_http_bearer_ok(req, token)) {
      cxp_http_unauthorized(res);
    } else if (strcmp(p, "/v1/status") == 0) {
      status(d, res);
    } else if (strcmp(p, "/v1/churn/model") == 0) {
      churn_model(d, res);
    } else if (cxp_console_route(d, req, res)) {
      /* answered */
    } else if (strncmp(p, "/v1/customers/", 14) == 0 && p[14] && !strchr(p + 14, '/')) {
      customer(d, p + 14, res);
    } else {
      text(res, 404, "not found\n");
    }
  } else if (!cxp_consolepage_serve(req, res)) {
    text(res, 404, "not found\n");
  }
}
