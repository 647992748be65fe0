/* Unit tests of the segment indicator windows (daemon/core/window.c).
 *
 * Every expected value was worked out by hand; the arithmetic is in the
 * comment beside it. The reference instant is helpers.h's T0 =
 * 2026-11-23T07:00:00Z = 1795417200000 ms, a whole number of minutes and
 * of hours since the epoch (1795417200000 / 3600000 = 498727), so T0 starts
 * both a 1-minute and a 1-hour window.
 *
 * usage: test_window [--records FILE]
 * With --records, every indicator record the tests build is also written to
 * FILE as JSON lines, for tests/validate.py (the window_schema test). */
#include "helpers.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core.h"
#include "event.h"
#include "jsonw.h"
#include "merge.h"
#include "pipeline.h"
#include "state.h"
#include "staterec.h"
#include "swar.h"
#include "varint.h"
#include "window.h"
#include "winrec.h"
#include "winwire.h"

/* The recovery part of a record with no case outcomes and no cohorts. */
#define NO_RECOVERY                                                                     \
  "\"cases_recovered_poorly\":0,"                                                       \
  "\"preemption\":{\"failure_cases\":0,\"preempted\":0,\"ratio\":null},"                \
  "\"time_to_acknowledge_min\":{\"n\":0,\"median\":null},"                             \
  "\"time_to_resolve_min\":{\"n\":0,\"median\":null},"                                 \
  "\"paradox\":{\"never_failed\":{\"customers\":0,\"si_n\":0,\"si_mean\":null,\"cancellations\":0,\"cancellation_rate\":null},"                                 \
  "\"recovered_well\":{\"customers\":0,\"si_n\":0,\"si_mean\":null,\"cancellations\":0,\"cancellation_rate\":null},"                                            \
  "\"recovered_poorly\":{\"customers\":0,\"si_n\":0,\"si_mean\":null,\"cancellations\":0,\"cancellation_rate\":null},"                                          \
  "\"si_ratio_well_vs_never\":null},"                                                     \
  "\"post_recovery\":{\"csat_n\":0,\"csat\":null,\"nps_n\":0,\"nps\":null},"

static FILE *records;

/* ---- helpers ------------------------------------------------------------- */

static cxp_event ev_at(cxp_event_type t, int64_t ts, const char *segment,
                       const char *channel, int score) {
  cxp_event e;
  memset(&e, 0, sizeof e);
  e.type = t;
  e.ts_ms = ts;
  e.segment = str_of(segment);
  e.channel = str_of(channel);
  e.score = score;
  e.consent = -1;
  return e;
}

static void sq_dim(cxp_event *e, int d, double expected, double perceived) {
  e->sq_mask |= 1u << d;
  e->sq_expected[d] = expected;
  e->sq_perceived[d] = perceived;
}

#define SINK_MAX 1024
typedef struct sink {
  cxp_window_partial p[SINK_MAX];
  int n;
} sink;

static void on_close(void *opaque, const cxp_window_partial *p) {
  sink *s = opaque;
  if (s->n < SINK_MAX) s->p[s->n++] = *p;
}

/* The partial of (length, start) whose first group value is `value`. */
static const cxp_window_partial *find(const sink *s, int64_t length, int64_t start,
                                      const char *value) {
  for (int i = 0; i < s->n; i++) {
    const cxp_window_partial *p = &s->p[i];
    if (p->length_ms == length && p->start_ms == start && p->n_fields > 0 &&
        strcmp(p->value[0], value) == 0)
      return p;
  }
  return NULL;
}

static const char *record(cxp_buf *b, const cxp_window_partial *p, int min_n,
                          const int32_t *missing, int n_missing) {
  cxp_buf_reset(b);
  cxp_window_record_write(b, p, "test", min_n, missing, n_missing);
  cxp_buf_putc(b, '\0');
  b->len--;
  if (records) fprintf(records, "%s\n", b->p);
  return b->p;
}

static cxp_window_conf conf_one(int64_t len, cxp_window_field f) {
  cxp_window_conf c;
  cxp_window_conf_defaults(&c);
  c.n_lengths = 1;
  c.length_ms[0] = len;
  c.n_groupings = 1;
  c.grouping[0].n_fields = 1;
  c.grouping[0].fields[0] = f;
  return c;
}

/* ---- configuration --------------------------------------------------------- */

static void test_conf(void) {
  cxp_window_conf c;
  char err[160];
  cxp_window_conf_defaults(&c);
  CHECK_INT(c.n_lengths, 2);
  CHECK_INT(c.length_ms[0], 60000);
  CHECK_INT(c.length_ms[1], 3600000);
  CHECK_INT(c.n_groupings, 2);
  CHECK_INT(c.grouping[0].fields[0], CXP_WF_SEGMENT);
  CHECK_INT(c.grouping[1].fields[0], CXP_WF_CHANNEL);
  CHECK_INT(c.lateness_ms, 300000);
  CHECK_INT(c.min_n, 30);
  CHECK_INT(cxp_window_conf_check(&c, err, sizeof err), 0);

  c.length_ms[1] = 60000;
  CHECK_INT(cxp_window_conf_check(&c, err, sizeof err), -1);
  CHECK_CONTAINS(err, "windows.lengths[1]");
  cxp_window_conf_defaults(&c);
  /* [segment, channel] and [channel, segment] are the same groups. */
  c.grouping[0].n_fields = 2;
  c.grouping[0].fields[1] = CXP_WF_CHANNEL;
  c.grouping[1].n_fields = 2;
  c.grouping[1].fields[1] = CXP_WF_SEGMENT;
  CHECK_INT(cxp_window_conf_check(&c, err, sizeof err), -1);
  CHECK_CONTAINS(err, "windows.group_by[1]");
  cxp_window_conf_defaults(&c);
  c.grouping[0].n_fields = 2;
  c.grouping[0].fields[1] = CXP_WF_SEGMENT;
  CHECK_INT(cxp_window_conf_check(&c, err, sizeof err), -1);
  CHECK_CONTAINS(err, "listed twice");
  cxp_window_conf_defaults(&c);
  c.max_open = 0;
  CHECK_INT(cxp_window_conf_check(&c, err, sizeof err), -1);
  CHECK_CONTAINS(err, "windows.max_open");
  CHECK(cxp_windows_create(&c, 0, NULL, NULL) == NULL);

  CHECK_INT(cxp_window_field_parse("agent_id", 8), CXP_WF_AGENT_ID);
  CHECK_INT(cxp_window_field_parse("agent", 5), -1);
  CHECK_STR(cxp_window_field_name(CXP_WF_TOUCHPOINT), "touchpoint");
}

/* ---- the measures ------------------------------------------------------- */

static sink sk;

static void test_measures(void) {
  cxp_window_conf c;
  cxp_window_conf_defaults(&c);
  memset(&sk, 0, sizeof sk);
  cxp_windows *w = cxp_windows_create(&c, 0, on_close, &sk);
  int64_t ts = T0 + S_MS;
  cxp_event e;

  /* NPS: 5 promoters (10,9,10,9,9), 3 passives (7,8,7), 2 detractors (6,0):
   * 100 * (5 - 2) / 10 = +30. The two detractors carry churn band high, the
   * first promoter band low; their values at risk, 12.34 + 0.66 + 1.50 =
   * 14.50, are summed with the bands (the second promoter's 9.99 has no band:
   * not counted). */
  static const int nps[] = {10, 9, 10, 9, 9, 7, 8, 7, 6, 0};
  static const double var[] = {1.5, 9.99, 0, 0, 0, 0, 0, 0, 12.34, 0.66};
  for (int i = 0; i < 10; i++) {
    e = ev_at(CXP_EV_NPS, ts++, "gold", "app", nps[i]);
    int band = nps[i] <= 6 ? 2 : i == 0 ? 0 : -1;
    cxp_window_ctx ctx = {band, -1, -1, ~0u, NAN, 0, var[i], -1, 0, NAN, 0};
    CHECK_INT(cxp_windows_add_ctx(w, &e, 0, &ctx), CXP_OK);
  }
  /* CSAT 5,4,3,2,4,1: satisfied (4-5) are 5, 4, 4 = 3 of 6 = 50. */
  static const int csat[] = {5, 4, 3, 2, 4, 1};
  for (int i = 0; i < 6; i++) {
    e = ev_at(CXP_EV_CSAT, ts++, "gold", "app", csat[i]);
    CHECK_INT(cxp_windows_add(w, &e, 0, -1), CXP_OK);
  }
  /* CES 2,5,7: 14 / 3 = 4.666..., written with six digits as 4.66667. */
  static const int ces[] = {2, 5, 7};
  for (int i = 0; i < 3; i++) {
    e = ev_at(CXP_EV_CES, ts++, "gold", "app", ces[i]);
    CHECK_INT(cxp_windows_add(w, &e, 0, -1), CXP_OK);
  }
  /* SERVQUAL, two responses on a subset of dimensions:
   *   reliability 7 -> 5 (gap -2), empathy 4 -> 6 (gap +2);
   *   reliability 6 -> 5.5 (gap -0.5).
   * reliability: (-2 - 0.5) / 2 = -1.25; empathy: 2 / 1 = 2; others null. */
  e = ev_at(CXP_EV_SERVQUAL, ts++, "gold", "app", 0);
  sq_dim(&e, CXP_SQ_RELIABILITY, 7, 5);
  sq_dim(&e, CXP_SQ_EMPATHY, 4, 6);
  CHECK_INT(cxp_windows_add(w, &e, 0, -1), CXP_OK);
  e = ev_at(CXP_EV_SERVQUAL, ts++, "gold", "app", 0);
  sq_dim(&e, CXP_SQ_RELIABILITY, 6, 5.5);
  CHECK_INT(cxp_windows_add(w, &e, 0, -1), CXP_OK);
  /* One complaint and one failure: cases opened = 1 + 1 + 2 detractors = 4. */
  e = ev_at(CXP_EV_COMPLAINT, ts++, "gold", "app", 0);
  CHECK_INT(cxp_windows_add(w, &e, 0, -1), CXP_OK);
  e = ev_at(CXP_EV_FAILURE, ts++, "gold", "app", 0);
  CHECK_INT(cxp_windows_add(w, &e, 0, -1), CXP_OK);
  /* A follow-up that completes a case recovered well: one more event, and
   * one case recovered well. Events: 10 + 6 + 3 + 2 + 1 + 1 + 1 = 24. */
  e = ev_at(CXP_EV_REC_FOLLOWED_UP, ts++, "gold", "app", 0);
  CHECK_INT(cxp_windows_add(w, &e, 0, -1), CXP_OK);
  CHECK_INT(cxp_windows_add_recovered(w, &e), CXP_OK);
  CHECK_INT(sk.n, 0);

  /* An event at T0 + 6 min moves the watermark to 6 min - 5 min = T0 + 1 min,
   * the end of the first minute: both of its windows (gold, app) close, in
   * the order they opened; the hour windows stay open. */
  e = ev_at(CXP_EV_CONTACT, T0 + 6 * M_MS, "gold", "app", 0);
  CHECK_INT(cxp_windows_add(w, &e, 0, -1), CXP_OK);
  CHECK_INT(cxp_windows_watermark(w), T0 + M_MS);
  CHECK_INT(sk.n, 2);
  const cxp_window_partial *p = &sk.p[0];
  CHECK_INT(p->start_ms, T0);
  CHECK_INT(p->end_ms, T0 + M_MS);
  CHECK_INT(p->length_ms, M_MS);
  CHECK_INT(p->partition, 0);
  CHECK_INT(p->early, 0);
  CHECK_INT(p->n_fields, 1);
  CHECK_STR(p->value[0], "gold");
  CHECK_STR(sk.p[1].value[0], "app");
  CHECK_INT(sk.p[1].fields[0], CXP_WF_CHANNEL);
  const cxp_window_agg *a = &p->agg;
  CHECK_INT(a->events, 24);
  CHECK_INT(a->csat_n, 6);
  CHECK_INT(a->csat_sat, 3);
  CHECK_INT(a->nps_n, 10);
  CHECK_INT(a->nps_promoters, 5);
  CHECK_INT(a->nps_passives, 3);
  CHECK_INT(a->nps_detractors, 2);
  CHECK_INT(a->ces_n, 3);
  CHECK_INT(a->ces_sum, 14);
  CHECK_INT(a->servqual_n, 2);
  CHECK_INT(a->sq_n[CXP_SQ_RELIABILITY], 2);
  CHECK_INT(a->sq_n[CXP_SQ_EMPATHY], 1);
  CHECK_INT(a->sq_n[CXP_SQ_TANGIBLES], 0);
  CHECK_INT(a->sq_gap_sum[CXP_SQ_RELIABILITY], -2500000); /* -2.5 in millionths */
  CHECK_INT(a->sq_gap_sum[CXP_SQ_EMPATHY], 2000000);
  CHECK_INT(a->complaints, 1);
  CHECK_INT(a->cases_opened, 4);
  CHECK_INT(a->cases_recovered_well, 1);
  CHECK_INT(a->churn[0], 1);
  CHECK_INT(a->churn[1], 0);
  CHECK_INT(a->churn[2], 2);
  CHECK_INT(a->var_cents, 1450);

  cxp_buf b;
  cxp_buf_init(&b);
  /* min_n 5: csat (6) and nps (10) reach it; ces (3) and servqual (2) do not. */
  CHECK_STR(record(&b, p, 5, NULL, 0),
            "{\"window_start\":\"2026-11-23T07:00:00.000Z\","
            "\"window_end\":\"2026-11-23T07:01:00.000Z\",\"group\":{\"segment\":\"gold\"},"
            "\"n\":{\"csat\":6,\"nps\":10,\"ces\":3,\"servqual\":2,\"events\":24},"
            "\"csat\":50,\"nps\":30,\"ces\":4.66667,"
            "\"servqual_gap\":{\"tangibles\":null,\"reliability\":-1.25,"
            "\"responsiveness\":null,\"assurance\":null,\"empathy\":2},"
            "\"complaints\":1,\"cases_opened\":4,\"cases_recovered_well\":1," NO_RECOVERY
            "\"churn_risk\":{\"low\":1,\"medium\":0,\"high\":2,\"value_at_risk\":14.50},"
            /* No delivered value given; 24 events, each (without a context)
             * its customer's first: 1 complaint is 100 x 1 / 24 = 4.16667. */
            "\"delivered_value\":{\"n\":0,\"mean_ratio\":null,\"share_under_1\":null},"
            "\"loyalty\":{\"customers\":24,\"repeat_purchases\":0,\"referrals\":0,"
            "\"repeat_purchase_rate\":0,\"referral_rate\":0,\"complaint_rate\":4.16667},"
            "\"consistency\":{\"channels\":{\"csat\":{\"n\":0,\"sd\":null},"
            "\"nps\":{\"n\":0,\"sd\":null}},\"agents\":{\"csat\":{\"n\":0,\"sd\":null},"
            "\"nps\":{\"n\":0,\"sd\":null}}},"
            "\"activity\":{\"participations\":0,\"index\":0},"
            "\"low_n\":[\"ces\",\"servqual\"],\"incomplete\":false,\"missing_partitions\":[],"
            "\"revision\":0,\"pipeline\":\"test\",\"schema\":\"cxpulse.indicator/1\"}");
  /* min_n 30 (the default): all four are low; partitions 1 and 3 missing. */
  const int32_t missing[] = {1, 3};
  const char *r = record(&b, p, 30, missing, 2);
  CHECK_CONTAINS(r, "\"low_n\":[\"csat\",\"nps\",\"ces\",\"servqual\"]");
  CHECK_CONTAINS(r, "\"incomplete\":true,\"missing_partitions\":[1,3]");

  /* Keys on the indicators topic: the group, of each grouping (the
   * repartition topic is keyed by merger, winwire.h). */
  cxp_buf_reset(&b);
  cxp_window_group_key(&b, p);
  CHECK_LIT(b.p, b.len, "{\"segment\":\"gold\"}");
  cxp_buf_reset(&b);
  cxp_window_group_key(&b, &sk.p[1]);
  CHECK_LIT(b.p, b.len, "{\"channel\":\"app\"}");

  /* 25 events; windows opened: 4 for the first minute and hour, 2 for the
   * minute of the last event; 2 closed, 4 open. */
  cxp_window_stats st = cxp_windows_stats(w);
  CHECK_INT(st.events, 25);
  CHECK_INT(st.opened, 6);
  CHECK_INT(st.closed, 2);
  CHECK_INT(st.open, 4);
  CHECK_INT(st.late, 0);
  CHECK_INT(st.late_within_grace, 0);

  /* Flush: the hour windows hold all 25 events, the last minute 1. */
  CHECK_INT(cxp_windows_flush(w), 4);
  const cxp_window_partial *h = find(&sk, H_MS, T0, "gold");
  CHECK(h != NULL);
  if (h) {
    CHECK_INT(h->agg.events, 25);
    CHECK_INT(h->early, 1);
  }
  CHECK_INT(cxp_windows_stats(w).flushed, 4);
  cxp_buf_free(&b);
  cxp_windows_destroy(w);
}

/* A window with events but no responses: every measure null, none low. */
static void test_nulls(void) {
  cxp_window_conf c = conf_one(M_MS, CXP_WF_CHANNEL);
  memset(&sk, 0, sizeof sk);
  cxp_windows *w = cxp_windows_create(&c, 2, on_close, &sk);
  cxp_event e = ev_at(CXP_EV_CONTACT, T0 + 5 * S_MS, NULL, "phone", 0);
  CHECK_INT(cxp_windows_add(w, &e, 0, 1), CXP_OK);
  e = ev_at(CXP_EV_PURCHASE, T0 + 6 * S_MS, NULL, "phone", 0);
  CHECK_INT(cxp_windows_add(w, &e, 0, -1), CXP_OK);
  CHECK_INT(cxp_windows_flush(w), 1);
  cxp_buf b;
  cxp_buf_init(&b);
  CHECK_STR(record(&b, &sk.p[0], 30, NULL, 0),
            "{\"window_start\":\"2026-11-23T07:00:00.000Z\","
            "\"window_end\":\"2026-11-23T07:01:00.000Z\",\"group\":{\"channel\":\"phone\"},"
            "\"n\":{\"csat\":0,\"nps\":0,\"ces\":0,\"servqual\":0,\"events\":2},"
            "\"csat\":null,\"nps\":null,\"ces\":null,"
            "\"servqual_gap\":{\"tangibles\":null,\"reliability\":null,"
            "\"responsiveness\":null,\"assurance\":null,\"empathy\":null},"
            "\"complaints\":0,\"cases_opened\":0,\"cases_recovered_well\":0," NO_RECOVERY
            "\"churn_risk\":{\"low\":0,\"medium\":1,\"high\":0,\"value_at_risk\":0.00},"
            "\"delivered_value\":{\"n\":0,\"mean_ratio\":null,\"share_under_1\":null},"
            "\"loyalty\":{\"customers\":2,\"repeat_purchases\":0,\"referrals\":0,"
            "\"repeat_purchase_rate\":0,\"referral_rate\":0,\"complaint_rate\":0},"
            "\"consistency\":{\"channels\":{\"csat\":{\"n\":0,\"sd\":null},"
            "\"nps\":{\"n\":0,\"sd\":null}},\"agents\":{\"csat\":{\"n\":0,\"sd\":null},"
            "\"nps\":{\"n\":0,\"sd\":null}}},"
            "\"activity\":{\"participations\":0,\"index\":0},"
            "\"low_n\":[],\"incomplete\":false,\"missing_partitions\":[],"
            "\"revision\":0,\"pipeline\":\"test\",\"schema\":\"cxpulse.indicator/1\"}");
  cxp_buf_free(&b);
  cxp_windows_destroy(w);
}

/* ---- window boundaries --------------------------------------------------- */

static void test_boundaries(void) {
  cxp_window_conf c;
  cxp_window_conf_defaults(&c);
  c.n_groupings = 1; /* [segment] */
  memset(&sk, 0, sizeof sk);
  cxp_windows *w = cxp_windows_create(&c, 0, on_close, &sk);
  /* Window starts: floor(ts / len) * len; the end is exclusive. */
  static const int64_t ts[] = {
      T0 - 1,              /* minute [T0-1m, T0), hour [T0-1h, T0) */
      T0,                  /* minute [T0, T0+1m), hour [T0, T0+1h) */
      T0 + M_MS - 1,       /* minute [T0, T0+1m) */
      T0 + M_MS,           /* minute [T0+1m, T0+2m) */
      T0 + H_MS - 1,       /* minute [T0+59m, T0+1h), hour [T0, T0+1h) */
      T0 + H_MS,           /* minute [T0+1h, T0+1h1m), hour [T0+1h, T0+2h) */
  };
  for (int i = 0; i < 6; i++) {
    cxp_event e = ev_at(CXP_EV_USAGE, ts[i], "gold", NULL, 0);
    CHECK_INT(cxp_windows_add(w, &e, 0, -1), CXP_OK);
  }
  /* The last event sets the watermark to T0 + 1h - 5m = T0 + 55m: the four
   * windows ending by then have closed, by end and then opening order. */
  CHECK_INT(cxp_windows_watermark(w), T0 + 55 * M_MS);
  CHECK_INT(sk.n, 4);
  CHECK_INT(sk.p[0].start_ms, T0 - M_MS);
  CHECK_INT(sk.p[1].start_ms, T0 - H_MS);
  CHECK_INT(sk.p[2].start_ms, T0);
  CHECK_INT(sk.p[2].length_ms, M_MS);
  CHECK_INT(sk.p[3].start_ms, T0 + M_MS);
  CHECK_INT(cxp_windows_flush(w), 4);
  CHECK_INT(sk.n, 8);
  struct { int64_t len, start, events; int early; } want[] = {
      {M_MS, T0 - M_MS, 1, 0},    {H_MS, T0 - H_MS, 1, 0},
      {M_MS, T0, 2, 0},           /* T0 and T0 + 1m - 1 ms */
      {M_MS, T0 + M_MS, 1, 0},    {M_MS, T0 + 59 * M_MS, 1, 1},
      {H_MS, T0, 4, 1},           /* T0, +1m-1ms, +1m, +1h-1ms */
      {M_MS, T0 + H_MS, 1, 1},    {H_MS, T0 + H_MS, 1, 1},
  };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    const cxp_window_partial *p = find(&sk, want[i].len, want[i].start, "gold");
    CHECK(p != NULL);
    if (!p) continue;
    CHECK_INT(p->agg.events, want[i].events);
    CHECK_INT(p->early, want[i].early);
    CHECK_INT(p->end_ms, want[i].start + want[i].len);
  }
  cxp_buf b;
  cxp_buf_init(&b);
  const char *r = record(&b, &sk.p[0], 30, NULL, 0);
  CHECK_CONTAINS(r, "\"window_start\":\"2026-11-23T06:59:00.000Z\","
                    "\"window_end\":\"2026-11-23T07:00:00.000Z\"");
  cxp_buf_free(&b);
  cxp_windows_destroy(w);
}

/* ---- lateness ------------------------------------------------------------ */

static void test_late(void) {
  cxp_window_conf c;
  cxp_window_conf_defaults(&c);
  c.n_groupings = 1; /* [segment]; lengths 1 m and 1 h; lateness 5 m; horizons 1 h */
  CHECK_INT(c.revision_ms[0], H_MS); /* the longer of 1 m and 1 h */
  CHECK_INT(c.revision_ms[1], H_MS);
  memset(&sk, 0, sizeof sk);
  cxp_windows *w = cxp_windows_create(&c, 0, on_close, &sk);
  cxp_event e;
#define ADD(t) (e = ev_at(CXP_EV_USAGE, (t), "gold", NULL, 0), cxp_windows_add(w, &e, 0, -1))
  CHECK_INT(ADD(T0 + 10 * S_MS), CXP_OK);  /* A */
  /* B: watermark 400 s - 300 s = T0 + 100 s closes minute [T0, T0+60 s). */
  CHECK_INT(ADD(T0 + 400 * S_MS), CXP_OK);
  CHECK_INT(cxp_windows_watermark(w), T0 + 100 * S_MS);
  CHECK_INT(sk.n, 1);
  /* C: older than B, but its minute [60 s, 120 s) ends after 100 s: folded,
   * within the grace. */
  CHECK_INT(ADD(T0 + 110 * S_MS), CXP_OK);
  CHECK_INT(cxp_windows_stats(w).late_within_grace, 1);
  /* D: its minute [0, 60 s) closed at 100 s, within its hour of revisions
   * (until the watermark passes 60 s + 3600 s): a revision partial of D
   * alone goes out at once; its hour [0, 3600 s) is open and folds it. */
  CHECK_INT(ADD(T0 + 50 * S_MS), CXP_OK);
  CHECK_INT(sk.n, 2);
  CHECK_INT(sk.p[1].late, 1);
  CHECK_INT(sk.p[1].start_ms, T0);
  CHECK_INT(sk.p[1].length_ms, M_MS);
  CHECK_INT(sk.p[1].agg.events, 1);
  CHECK_STR(sk.p[1].value[0], "gold");
  /* E: watermark 420 s - 300 s = 120 s = the end of [60 s, 120 s): W >= end
   * closes it, with C. */
  CHECK_INT(ADD(T0 + 420 * S_MS), CXP_OK);
  CHECK_INT(sk.n, 3);
  CHECK_INT(sk.p[2].start_ms, T0 + M_MS);
  CHECK_INT(sk.p[2].late, 0);
  CHECK_INT(sk.p[2].agg.events, 1); /* C */
  /* F, 1 ms before 120 s: its minute just closed: a revision. G, at 120 s:
   * the next minute, open. */
  CHECK_INT(ADD(T0 + 120 * S_MS - 1), CXP_OK);
  CHECK_INT(sk.n, 4);
  CHECK_INT(sk.p[3].start_ms, T0 + M_MS);
  CHECK_INT(sk.p[3].late, 1);
  CHECK_INT(ADD(T0 + 120 * S_MS), CXP_OK);
  CHECK_INT(sk.n, 4);
#undef ADD
  /* A recovery credit for a closed minute revises it, and counts in the
   * open hour. */
  e = ev_at(CXP_EV_REC_FOLLOWED_UP, T0 + 30 * S_MS, "gold", NULL, 0);
  CHECK_INT(cxp_windows_add_recovered(w, &e), CXP_OK);
  CHECK_INT(sk.n, 5);
  CHECK_INT(sk.p[4].late, 1);
  CHECK_INT(sk.p[4].agg.cases_recovered_well, 1);
  CHECK_INT(sk.p[4].agg.events, 0);
  cxp_window_stats st = cxp_windows_stats(w);
  CHECK_INT(st.late, 0);
  CHECK_INT(st.late_revised[0], 2);     /* D, F: late for the minute */
  CHECK_INT(st.late_revised[1], 0);
  CHECK_INT(st.late_missed[0] + st.late_missed[1], 0);
  CHECK_INT(st.late_within_grace, 2);   /* C, G */
  CHECK_INT(st.events, 7);              /* A to G */
  CHECK_INT(st.recovered_late, 0);
  /* The late events moved no clock: the watermark is still 120 s. */
  CHECK_INT(cxp_windows_watermark(w), T0 + 120 * S_MS);
  cxp_windows_flush(w);
  const cxp_window_partial *h = find(&sk, H_MS, T0, "gold");
  CHECK(h != NULL);
  if (h) {
    CHECK_INT(h->agg.events, 7); /* D and F are in the hour */
    CHECK_INT(h->agg.cases_recovered_well, 1);
  }
  cxp_windows_destroy(w);

  /* Past the horizons. 1 m and 1 h windows, the minute's horizon 1 h, the
   * hour's 0 (no revisions). */
  c.revision_ms[1] = 0;
  memset(&sk, 0, sizeof sk);
  w = cxp_windows_create(&c, 0, on_close, &sk);
  e = ev_at(CXP_EV_CSAT, T0 + 10 * S_MS, "gold", NULL, 5);
  CHECK_INT(cxp_windows_add(w, &e, 0, -1), CXP_OK);
  /* 3901 s: watermark 3601 s closes the hour [0, 3600 s) and every minute
   * before 3600 s. The minute [0, 60 s) takes revisions until 3660 s. */
  e = ev_at(CXP_EV_CSAT, T0 + 3901 * S_MS, "gold", NULL, 5);
  CHECK_INT(cxp_windows_add(w, &e, 0, -1), CXP_OK);
  int closed = sk.n; /* minute 0, hour 0 */
  CHECK_INT(closed, 2);
  /* A CSAT for 30 s: the minute revises (3601 < 3660), the hour misses it:
   * not late. */
  e = ev_at(CXP_EV_CSAT, T0 + 30 * S_MS, "gold", NULL, 2);
  CHECK_INT(cxp_windows_add(w, &e, 0, -1), CXP_OK);
  CHECK_INT(sk.n, closed + 1);
  CHECK_INT(sk.p[closed].length_ms, M_MS);
  CHECK_INT(sk.p[closed].agg.csat_n, 1);
  CHECK_INT(sk.p[closed].agg.csat_sat, 0);
  /* 3961 s: watermark 3661 s, past the minute's horizon too. A CSAT for
   * 30 s now misses both windows and feeds a measure: late, with both
   * windows named. */
  e = ev_at(CXP_EV_CSAT, T0 + 3961 * S_MS, "gold", NULL, 5);
  CHECK_INT(cxp_windows_add(w, &e, 0, -1), CXP_OK);
  closed = sk.n;
  e = ev_at(CXP_EV_CSAT, T0 + 30 * S_MS, "gold", NULL, 2);
  CHECK_INT(cxp_windows_add(w, &e, 0, -1), CXP_BAD_LATE);
  CHECK_INT(sk.n, closed);
  char missed[400];
  cxp_windows_missed(w, missed, sizeof missed);
  CHECK_STR(missed, "60s window 2026-11-23T07:00:00.000Z..2026-11-23T07:01:00.000Z (revisions "
                    "until the watermark passed 2026-11-23T08:01:00.000Z), 3600s window "
                    "2026-11-23T07:00:00.000Z..2026-11-23T08:00:00.000Z (revisions until the "
                    "watermark passed 2026-11-23T08:00:00.000Z)");
  /* A profile for 30 s misses them too, but feeds no measure: not late. */
  e = ev_at(CXP_EV_PROFILE, T0 + 30 * S_MS, "gold", NULL, 0);
  CHECK_INT(cxp_windows_add(w, &e, 0, -1), CXP_OK);
  CHECK_INT(sk.n, closed);
  st = cxp_windows_stats(w);
  CHECK_INT(st.late, 1);
  CHECK_INT(st.late_ignored, 1);
  CHECK_INT(st.late_revised[0], 1);
  CHECK_INT(st.late_missed[0], 2); /* the late CSAT and the profile */
  CHECK_INT(st.late_missed[1], 3); /* the three events for 30 s */
  /* A recovery credit past both horizons is refused. */
  e = ev_at(CXP_EV_REC_FOLLOWED_UP, T0 + 30 * S_MS, "gold", NULL, 0);
  CHECK_INT(cxp_windows_add_recovered(w, &e), CXP_BAD_LATE);
  CHECK_INT(cxp_windows_stats(w).recovered_late, 1);
  cxp_windows_destroy(w);
}

/* ---- wall-clock ticks ------------------------------------------------------ */

static void test_tick(void) {
  cxp_window_conf c;
  cxp_window_conf_defaults(&c);
  memset(&sk, 0, sizeof sk);
  cxp_windows *w = cxp_windows_create(&c, 0, on_close, &sk);
  /* A live, quiet partition: one event at T0 + 30 s, received 0.5 s later. */
  const int64_t A = T0 + 30500;
  cxp_event e = ev_at(CXP_EV_CSAT, T0 + 30 * S_MS, "gold", "app", 5);
  CHECK_INT(cxp_windows_add(w, &e, A, -1), CXP_OK);
  CHECK_INT(cxp_windows_tick(w, A - 1000), 0); /* a wall clock stepping back */
  /* clock = 30 s + 200 s elapsed = 230 s; watermark -70 s. */
  CHECK_INT(cxp_windows_tick(w, A + 200 * S_MS), 0);
  /* clock 359.999 s; watermark 59.999 s < the minute's end. */
  CHECK_INT(cxp_windows_tick(w, A + 330 * S_MS - 1), 0);
  /* clock 360 s; watermark 60 s: the minute windows (gold, app) close. */
  CHECK_INT(cxp_windows_tick(w, A + 330 * S_MS), 2);
  CHECK_INT(cxp_windows_watermark(w), T0 + M_MS);
  CHECK_INT(sk.p[0].early, 0);
  /* Now an event of that minute is late for it, closed by the wall clock: a
   * revision of each grouping's minute; its hour is open and folds it. The
   * quiet clock still runs from the event at 30 s. */
  e = ev_at(CXP_EV_CSAT, T0 + 59 * S_MS, "gold", "app", 5);
  CHECK_INT(cxp_windows_add(w, &e, A + 331 * S_MS, -1), CXP_OK);
  CHECK_INT(sk.n, 4);
  CHECK_INT(sk.p[2].late + sk.p[3].late, 2);
  /* The hour closes at clock 3600 s + 300 s = 3900 s: 3870 s after A. */
  CHECK_INT(cxp_windows_tick(w, A + 3870 * S_MS - 1), 0);
  CHECK_INT(cxp_windows_tick(w, A + 3870 * S_MS), 2);
  CHECK_INT(cxp_windows_stats(w).open, 0);
  cxp_windows_destroy(w);

  /* A backlog: two hours of events, one every 10 s (ts T0 .. T0 + 7190 s),
   * consumed in 0.72 s a month later, 1 ms apart. Through the adds the
   * watermark is 7190 - 300 = 6890 s: the minutes ending by 6840 s (114 per
   * grouping) and the first hour (per grouping) closed: 2 x 115 = 230. */
  const int64_t NOW = T0 + 30 * 24 * H_MS;
  memset(&sk, 0, sizeof sk);
  w = cxp_windows_create(&c, 0, on_close, &sk);
  for (int i = 0; i < 720; i++) {
    e = ev_at(CXP_EV_USAGE, T0 + i * 10 * S_MS, "gold", "app", 0);
    CHECK_INT(cxp_windows_add(w, &e, NOW + i, -1), CXP_OK);
  }
  CHECK_INT(sk.n, 230);
  /* Open: minutes from 6840 s to 7200 s (6 per grouping), second hour. */
  CHECK_INT(cxp_windows_stats(w).open, 14);
  /* One second after the backlog began (281 ms after its last message): the
   * clock is 7190.281 s, not "now", so nothing more closes. Jumping to now
   * would have closed all 14. */
  CHECK_INT(cxp_windows_tick(w, NOW + 1000), 0);
  /* 10 s after the last message: clock 7200 s, watermark 6900 s closes the
   * minute [6840 s, 6900 s) of both groupings. */
  CHECK_INT(cxp_windows_tick(w, NOW + 719 + 10 * S_MS), 2);
  CHECK_INT(sk.p[231].start_ms, T0 + 6840 * S_MS);
  cxp_windows_destroy(w);

  /* Replay: no wall time, so ticks never move the clock. */
  memset(&sk, 0, sizeof sk);
  w = cxp_windows_create(&c, 0, on_close, &sk);
  e = ev_at(CXP_EV_USAGE, T0, "gold", "app", 0);
  CHECK_INT(cxp_windows_add(w, &e, 0, -1), CXP_OK);
  CHECK_INT(cxp_windows_tick(w, T0 + 365 * 24 * H_MS), 0);
  CHECK_INT(cxp_windows_stats(w).open, 4);
  cxp_windows_destroy(w);

  /* An out-of-order last event: the clock runs from it, but never below the
   * newest event time. Events at 400 s then 100 s, the latter received at
   * wall B; 10 s later: max(400, 100 + 10) = 400 s, watermark 100 s, which
   * closed the first minute already at the first add. */
  memset(&sk, 0, sizeof sk);
  w = cxp_windows_create(&c, 0, on_close, &sk);
  const int64_t B = NOW;
  e = ev_at(CXP_EV_USAGE, T0 + 10 * S_MS, "gold", "app", 0);
  cxp_windows_add(w, &e, B - 2, -1);
  e = ev_at(CXP_EV_USAGE, T0 + 400 * S_MS, "gold", "app", 0);
  cxp_windows_add(w, &e, B - 1, -1);
  e = ev_at(CXP_EV_USAGE, T0 + 100 * S_MS, "gold", "app", 0);
  cxp_windows_add(w, &e, B, -1);
  CHECK_INT(cxp_windows_tick(w, B + 10 * S_MS), 0);
  CHECK_INT(cxp_windows_watermark(w), T0 + 100 * S_MS);
  /* 320 s later: 100 + 320 = 420 s > 400 s, watermark 120 s closes the
   * minute [60 s, 120 s) in both groupings. */
  CHECK_INT(cxp_windows_tick(w, B + 320 * S_MS), 2);
  cxp_windows_destroy(w);
}

/* ---- merging partials ---------------------------------------------------- */

static sink sk0, sk1, ska;

static void feed(cxp_windows *w, const int *scores, int n, cxp_event_type t) {
  for (int i = 0; i < n; i++) {
    cxp_event e = ev_at(t, T0 + (int64_t)i * S_MS, "gold", i % 2 ? "web" : "app", scores[i]);
    cxp_windows_add(w, &e, 0, i % 3 == 0 ? 1 : -1);
  }
}

static int same_agg(const cxp_window_agg *a, const cxp_window_agg *b) {
  /* All int64: no padding, memcmp is exact. */
  return memcmp(a, b, sizeof *a) == 0;
}

static void test_merge(void) {
  cxp_window_conf c;
  cxp_window_conf_defaults(&c);
  memset(&sk0, 0, sizeof sk0);
  memset(&sk1, 0, sizeof sk1);
  memset(&ska, 0, sizeof ska);
  cxp_windows *w0 = cxp_windows_create(&c, 0, on_close, &sk0);
  cxp_windows *w1 = cxp_windows_create(&c, 1, on_close, &sk1);
  cxp_windows *wa = cxp_windows_create(&c, 9, on_close, &ska);
  /* Partition 0: 5 promoters and 1 passive (NPS 100 * 5 / 6 = 83.3);
   * partition 1: 2 passives and 2 detractors (NPS 100 * -2 / 4 = -50).
   * The mean of those two would be 16.7; the union is 5 - 2 of 10 = +30. */
  static const int n0[] = {10, 9, 10, 9, 9, 7}, n1[] = {8, 7, 6, 0};
  static const int c0[] = {5, 4}, c1[] = {3, 2, 4, 1};
  static const int e0[] = {2}, e1[] = {5, 7};
  feed(w0, n0, 6, CXP_EV_NPS);
  feed(w0, c0, 2, CXP_EV_CSAT);
  feed(w0, e0, 1, CXP_EV_CES);
  feed(w1, n1, 4, CXP_EV_NPS);
  feed(w1, c1, 4, CXP_EV_CSAT);
  feed(w1, e1, 2, CXP_EV_CES);
  feed(wa, n0, 6, CXP_EV_NPS);
  feed(wa, c0, 2, CXP_EV_CSAT);
  feed(wa, e0, 1, CXP_EV_CES);
  feed(wa, n1, 4, CXP_EV_NPS);
  feed(wa, c1, 4, CXP_EV_CSAT);
  feed(wa, e1, 2, CXP_EV_CES);
  cxp_event e = ev_at(CXP_EV_SERVQUAL, T0 + 3 * S_MS, "gold", "web", 0);
  sq_dim(&e, CXP_SQ_ASSURANCE, 5, 3.25);
  cxp_windows_add(w1, &e, 0, -1);
  cxp_windows_add(wa, &e, 0, -1);
  cxp_windows_flush(w0);
  cxp_windows_flush(w1);
  cxp_windows_flush(wa);
  /* 2 lengths x (1 segment + 2 channels) = 6 windows in the union. */
  CHECK_INT(ska.n, 6);
  for (int i = 0; i < ska.n; i++) {
    const cxp_window_partial *u = &ska.p[i];
    cxp_window_partial m;
    int have = 0;
    const sink *parts[2] = {&sk0, &sk1};
    for (int s = 0; s < 2; s++)
      for (int j = 0; j < parts[s]->n; j++) {
        const cxp_window_partial *q = &parts[s]->p[j];
        if (q->fields[0] != u->fields[0]) continue;
        if (!have) {
          if (q->length_ms == u->length_ms && q->start_ms == u->start_ms &&
              strcmp(q->value[0], u->value[0]) == 0) {
            m = *q;
            have = 1;
          }
        } else {
          (void)cxp_window_partial_merge(&m, q); /* -1 for other windows: skipped */
        }
      }
    CHECK(have);
    if (!have) continue;
    CHECK(same_agg(&m.agg, &u->agg));
  }
  /* The gold minute, merged, by hand. */
  const cxp_window_partial *g0 = find(&sk0, M_MS, T0, "gold");
  const cxp_window_partial *g1 = find(&sk1, M_MS, T0, "gold");
  CHECK(g0 && g1);
  if (g0 && g1) {
    cxp_window_partial m = *g0;
    CHECK_INT(cxp_window_partial_merge(&m, g1), 0);
    CHECK_INT(m.partition, -1); /* from several partitions */
    CHECK_INT(m.agg.nps_promoters, 5);
    CHECK_INT(m.agg.nps_passives, 3);
    CHECK_INT(m.agg.nps_detractors, 2);
    CHECK_INT(m.agg.csat_sat, 3); /* 5, 4 | 4 */
    CHECK_INT(m.agg.csat_n, 6);
    CHECK_INT(m.agg.ces_sum, 14);
    CHECK_INT(m.agg.events, 20); /* 6 + 2 + 1 + 4 + 4 + 2 + 1 servqual */
    CHECK_INT(m.agg.sq_gap_sum[CXP_SQ_ASSURANCE], -1750000); /* 3.25 - 5 */
    /* feed: band medium on the 1st, 4th, ... of each run: n0 3-of-6 (i = 0,
     * 3), c0 1, e0 1 | n1 2 (0, 3), c1 2, e1 1 = 2+1+1+2+2+1 = 9. */
    CHECK_INT(m.agg.churn[1], 9);
    cxp_buf b;
    cxp_buf_init(&b);
    const char *r = record(&b, &m, 5, NULL, 0);
    CHECK_CONTAINS(r, "\"csat\":50,\"nps\":30,\"ces\":4.66667");
    CHECK_CONTAINS(r, "\"assurance\":-1.75");
    cxp_buf_free(&b);
    /* A different window or group does not merge, and leaves dst alone. */
    cxp_window_partial before = m;
    const cxp_window_partial *other = find(&sk0, H_MS, T0, "gold");
    CHECK(other != NULL);
    if (other) CHECK_INT(cxp_window_partial_merge(&m, other), -1);
    const cxp_window_partial *app = find(&sk0, M_MS, T0, "app");
    CHECK(app != NULL);
    if (app) CHECK_INT(cxp_window_partial_merge(&m, app), -1);
    CHECK(same_agg(&m.agg, &before.agg));
  }
  cxp_windows_destroy(w0);
  cxp_windows_destroy(w1);
  cxp_windows_destroy(wa);
}

/* ---- partial serialisation ------------------------------------------------- */

static void subst(const char *s, const char *from, const char *to, char *out, size_t cap) {
  const char *at = strstr(s, from);
  if (at == NULL) {
    snprintf(out, cap, "%s", s);
    return;
  }
  snprintf(out, cap, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
}

/* An aggregate in binary (cxp_window_agg_get): read the same whether the
 * bytes after it leave room for its longest words (the unchecked path) or
 * not (the checked one), and refused the same when damaged. */
static int agg_read(const cxp_buf *rec, size_t pad, cxp_window_agg *out) {
  cxp_buf b;
  cxp_buf_init(&b);
  cxp_buf_put(&b, rec->p, rec->len);
  for (size_t i = 0; i < pad; i++) cxp_buf_putc(&b, 0);
  cxp_rd r = {(const uint8_t *)b.p, (const uint8_t *)b.p + rec->len, 0};
  if (pad) r.end = (const uint8_t *)b.p + b.len; /* the padding is readable */
  memset(out, 0x5a, sizeof *out);
  int rc = cxp_window_agg_get(&r, out);
  if (rc == 0 && r.p != (const uint8_t *)b.p + rec->len) rc = -2; /* read past the record */
  cxp_buf_free(&b);
  return rc;
}

static void test_agg_binary(void) {
  cxp_window_agg a;
  memset(&a, 0, sizeof a);
  a.events = 1000; /* two bytes as a zigzag varint (2000) */
  a.csat_n = 300;
  a.csat_sat = 200;
  a.nps_n = 3;
  a.nps_promoters = 1;
  a.nps_detractors = 2;
  a.servqual_n = 2;
  a.sq_n[0] = 2;
  a.sq_gap_sum[0] = -10000000;  /* negative: zigzag 19999999, four bytes */
  a.var_cents = 123456789012LL; /* six bytes */
  a.customers = 1;
  cxp_buf rec;
  cxp_buf_init(&rec);
  cxp_window_agg_put(&rec, &a);
  cxp_window_agg got;
  for (size_t pad = 0; pad <= 1024; pad += 1024) {
    CHECK_INT(agg_read(&rec, pad, &got), 0);
    CHECK(memcmp(&got, &a, sizeof a) == 0);
    CHECK_INT(got.sq_gap_sum[0], -10000000);
    CHECK_INT(got.var_cents, 123456789012LL);
  }
  /* The first word (events) made eleven bytes long: 2000 as 0xd0 0x0f,
   * padded with continuation bytes. Not a varint the writer makes. */
  cxp_buf bad;
  cxp_buf_init(&bad);
  size_t head = 1; /* the word count, one byte */
  CHECK_INT((unsigned char)rec.p[1], 0xd0);
  CHECK_INT((unsigned char)rec.p[2], 0x0f);
  cxp_buf_put(&bad, rec.p, head);
  cxp_buf_put(&bad, "\xd0\x8f\x80\x80\x80\x80\x80\x80\x80\x80\x00", 11);
  cxp_buf_put(&bad, rec.p + 3, rec.len - 3);
  for (size_t pad = 0; pad <= 1024; pad += 1024) CHECK_INT(agg_read(&bad, pad, &got), -1);
  /* Ten bytes, the last without continuation: the longest a varint gets,
   * read as 2000 again (the high bits beyond 64 dropped: here none). */
  bad.len = 0;
  cxp_buf_put(&bad, rec.p, head);
  cxp_buf_put(&bad, "\xd0\x8f\x80\x80\x80\x80\x80\x80\x80\x00", 10);
  cxp_buf_put(&bad, rec.p + 3, rec.len - 3);
  for (size_t pad = 0; pad <= 1024; pad += 1024) {
    CHECK_INT(agg_read(&bad, pad, &got), 0);
    CHECK_INT(got.events, 1000);
  }
  /* Cut short, and a count made negative (events = -1: zigzag 1). */
  bad.len = 0;
  cxp_buf_put(&bad, rec.p, rec.len - 1);
  CHECK_INT(agg_read(&bad, 0, &got), -1);
  bad.len = 0;
  cxp_buf_put(&bad, rec.p, head);
  cxp_buf_putc(&bad, 1);
  cxp_buf_put(&bad, rec.p + 3, rec.len - 3);
  for (size_t pad = 0; pad <= 1024; pad += 1024) CHECK_INT(agg_read(&bad, pad, &got), -1);
  cxp_buf_free(&bad);
  cxp_buf_free(&rec);
}

static void test_partial_roundtrip(void) {
  cxp_window_partial p;
  memset(&p, 0, sizeof p);
  p.start_ms = T0;
  p.length_ms = M_MS;
  p.end_ms = T0 + M_MS;
  p.partition = 7;
  p.early = 1;
  p.n_fields = 4;
  const char *vals[4] = {"gold \"vip\"", "app\\web", "agent-\xc3\xa9-42", "checkout/\xc3\xbc"};
  cxp_window_field fields[4] = {CXP_WF_SEGMENT, CXP_WF_CHANNEL, CXP_WF_AGENT_ID,
                                CXP_WF_TOUCHPOINT};
  for (int f = 0; f < 4; f++) {
    p.fields[f] = fields[f];
    p.value_len[f] = (uint8_t)strlen(vals[f]);
    memcpy(p.value[f], vals[f], p.value_len[f] + 1);
  }
  cxp_window_agg a = {.events = 100, .csat_n = 10, .csat_sat = 7, .nps_n = 12,
                      .nps_promoters = 5, .nps_passives = 4, .nps_detractors = 3,
                      .ces_n = 4, .ces_sum = 17, .servqual_n = 3,
                      .sq_n = {1, 2, 3, 0, 3},
                      .sq_gap_sum = {-500000, 1250000, -17999999, 0, 3},
                      .complaints = 2, .cases_opened = 9, .cases_recovered_well = 1,
                      .churn = {4, 5, 6}};
  p.agg = a;
  cxp_buf b, b2;
  cxp_buf_init(&b);
  cxp_buf_init(&b2);
  cxp_window_partial_write(&b, &p);
  cxp_window_partial q;
  CHECK_INT(cxp_window_partial_parse(b.p, b.len, &q), 0);
  CHECK_INT(q.start_ms, p.start_ms);
  CHECK_INT(q.end_ms, p.end_ms);
  CHECK_INT(q.length_ms, p.length_ms);
  CHECK_INT(q.partition, 7);
  CHECK_INT(q.early, 1);
  CHECK_INT(q.n_fields, 4);
  for (int f = 0; f < 4; f++) {
    CHECK_INT(q.fields[f], p.fields[f]);
    CHECK_MEM(q.value[f], q.value_len[f], p.value[f], p.value_len[f]);
  }
  CHECK(same_agg(&q.agg, &p.agg));
  cxp_window_partial_write(&b2, &q);
  CHECK_MEM(b2.p, b2.len, b.p, b.len);

  /* The all-customers group (no fields) and a merged partial (-1). */
  cxp_window_partial z = p;
  z.n_fields = 0;
  z.partition = -1;
  cxp_buf_reset(&b2);
  cxp_window_partial_write(&b2, &z);
  CHECK_INT(cxp_window_partial_parse(b2.p, b2.len, &q), 0);
  CHECK_INT(q.n_fields, 0);
  CHECK_INT(q.partition, -1);

  /* Invalid partials. */
  char s[4096], t[4096];
  cxp_buf_putc(&b, '\0');
  CHECK_INT(cxp_window_partial_parse("{\"v\":1", 6, &q), -1);
  subst(b.p, "\"csat_sat\":7", "\"csat_sat\":11", t, sizeof t); /* 11 of 10 */
  CHECK_INT(cxp_window_partial_parse(t, strlen(t), &q), -1);
  snprintf(s, sizeof s, "\"start\":%lld", T0);
  char to[64];
  snprintf(to, sizeof to, "\"start\":%lld", T0 + 1); /* not on the minute */
  subst(b.p, s, to, t, sizeof t);
  CHECK_INT(cxp_window_partial_parse(t, strlen(t), &q), -1);
  subst(b.p, "\"touchpoint\"", "\"region\"", t, sizeof t);
  CHECK_INT(cxp_window_partial_parse(t, strlen(t), &q), -1);
  subst(b.p, "\"touchpoint\"", "\"segment\"", t, sizeof t); /* twice */
  CHECK_INT(cxp_window_partial_parse(t, strlen(t), &q), -1);
  subst(b.p, "\"events\":100", "\"events\":100.5", t, sizeof t);
  CHECK_INT(cxp_window_partial_parse(t, strlen(t), &q), -1);
  subst(b.p, "\"events\":100", "\"events\":-1", t, sizeof t);
  CHECK_INT(cxp_window_partial_parse(t, strlen(t), &q), -1);
  subst(b.p, "\"nps_passives\":4", "\"nps_passives\":5", t, sizeof t); /* 5+5+3 != 12 */
  CHECK_INT(cxp_window_partial_parse(t, strlen(t), &q), -1);
  subst(b.p, "-17999999", "-18000001", t, sizeof t); /* gap sum under -6 x 3 */
  CHECK_INT(cxp_window_partial_parse(t, strlen(t), &q), -1);
  subst(b.p, ",\"churn\":[4,5,6]", "", t, sizeof t);
  CHECK_INT(cxp_window_partial_parse(t, strlen(t), &q), -1);
  cxp_buf_free(&b);
  cxp_buf_free(&b2);
}

/* ---- group values -------------------------------------------------------- */

static void test_group_values(void) {
  cxp_window_conf c = conf_one(M_MS, CXP_WF_SEGMENT);
  c.grouping[0].n_fields = 2;
  c.grouping[0].fields[1] = CXP_WF_AGENT_ID;
  memset(&sk, 0, sizeof sk);
  cxp_windows *w = cxp_windows_create(&c, 0, on_close, &sk);
  cxp_event e = ev_at(CXP_EV_USAGE, T0, "gold", NULL, 0);
  cxp_windows_add(w, &e, 0, -1);
  /* An empty segment is no segment. */
  e = ev_at(CXP_EV_USAGE, T0 + 1, "", NULL, 0);
  e.agent_id = str_of("a7");
  cxp_windows_add(w, &e, 0, -1);
  /* 70 bytes: cut to the segment bound, 64. 63 bytes and a 2-byte "é"
   * (65 bytes): cut at 63, not inside the character. */
  char longv[71], utf[66];
  memset(longv, 'x', 70);
  longv[70] = '\0';
  memset(utf, 'y', 63);
  memcpy(utf + 63, "\xc3\xa9", 3);
  e = ev_at(CXP_EV_USAGE, T0 + 2, longv, NULL, 0);
  cxp_windows_add(w, &e, 0, -1);
  e = ev_at(CXP_EV_USAGE, T0 + 3, utf, NULL, 0);
  cxp_windows_add(w, &e, 0, -1);
  /* The same 64 bytes again, from a longer value: the same window. */
  longv[66] = '\0';
  e = ev_at(CXP_EV_USAGE, T0 + 4, longv, NULL, 0);
  cxp_windows_add(w, &e, 0, -1);
  CHECK_INT(cxp_windows_stats(w).open, 4);
  cxp_windows_flush(w);
  CHECK_INT(sk.n, 4);
  cxp_buf b;
  cxp_buf_init(&b);
  cxp_window_group_key(&b, &sk.p[0]);
  CHECK_LIT(b.p, b.len, "{\"segment\":\"gold\",\"agent_id\":\"unknown\"}");
  cxp_buf_reset(&b);
  cxp_window_group_key(&b, &sk.p[1]);
  CHECK_LIT(b.p, b.len, "{\"segment\":\"unknown\",\"agent_id\":\"a7\"}");
  CHECK_INT(sk.p[2].value_len[0], 64);
  CHECK_INT(sk.p[2].agg.events, 2);
  CHECK_INT(sk.p[3].value_len[0], 63);
  record(&b, &sk.p[2], 30, NULL, 0);
  cxp_buf_free(&b);
  cxp_windows_destroy(w);

  /* The all-customers group: an empty group object. */
  c.grouping[0].n_fields = 0;
  memset(&sk, 0, sizeof sk);
  w = cxp_windows_create(&c, 0, on_close, &sk);
  e = ev_at(CXP_EV_CSAT, T0, "gold", "app", 4);
  cxp_windows_add(w, &e, 0, -1);
  e = ev_at(CXP_EV_CSAT, T0 + 1, "silver", "web", 3);
  cxp_windows_add(w, &e, 0, -1);
  cxp_windows_flush(w);
  CHECK_INT(sk.n, 1);
  CHECK_INT(sk.p[0].agg.csat_n, 2);
  cxp_buf_init(&b);
  CHECK_CONTAINS(record(&b, &sk.p[0], 30, NULL, 0), "\"group\":{},");
  cxp_buf_free(&b);
  cxp_windows_destroy(w);
}

/* ---- the memory bound ---------------------------------------------------- */

static void test_memory_bound(void) {
  cxp_window_conf c = conf_one(M_MS, CXP_WF_AGENT_ID);
  c.max_open = 4;
  memset(&sk, 0, sizeof sk);
  cxp_windows *w = cxp_windows_create(&c, 0, on_close, &sk);
  static const char *agents[] = {"a1", "a2", "a3", "a4", "a5", "a6", "a1"};
  for (int i = 0; i < 7; i++) {
    cxp_event e = ev_at(CXP_EV_USAGE, T0 + i * S_MS, NULL, NULL, 0);
    e.agent_id = str_of(agents[i]);
    CHECK_INT(cxp_windows_add(w, &e, 0, -1), CXP_OK);
  }
  /* All in one minute, so the same end: the oldest opened goes first.
   * a5 evicts a1, a6 evicts a2, a1 (again) evicts a3. */
  cxp_window_stats st = cxp_windows_stats(w);
  CHECK_INT(st.closed_early, 3);
  CHECK_INT(st.open, 4);
  CHECK_INT(st.open_max, 4);
  CHECK_INT(sk.n, 3);
  CHECK_STR(sk.p[0].value[0], "a1");
  CHECK_STR(sk.p[1].value[0], "a2");
  CHECK_STR(sk.p[2].value[0], "a3");
  CHECK_INT(sk.p[0].early, 1);
  cxp_windows_flush(w);
  /* Nothing lost: 7 events over 7 partials; a1's two partials merge to 2. */
  int64_t total = 0;
  for (int i = 0; i < sk.n; i++) total += sk.p[i].agg.events;
  CHECK_INT(sk.n, 7);
  CHECK_INT(total, 7);
  CHECK_STR(sk.p[6].value[0], "a1");
  cxp_window_partial m = sk.p[0];
  CHECK_INT(cxp_window_partial_merge(&m, &sk.p[6]), 0);
  CHECK_INT(m.agg.events, 2);
  cxp_windows_destroy(w);

  /* Memory stays flat once warm: 1000 agents through 64 windows, 200000
   * events. The slot for [agent_id] holds 128 value bytes. */
  c.max_open = 64;
  w = cxp_windows_create(&c, 0, NULL, NULL);
  char id[16];
  size_t warm = 0;
  for (int i = 0; i < 200000; i++) {
    snprintf(id, sizeof id, "agent%d", (i * 7919) % 1000);
    cxp_event e = ev_at(CXP_EV_USAGE, T0 + i * 10, NULL, NULL, 0);
    e.agent_id = str_of(id);
    cxp_windows_add(w, &e, 0, -1);
    if (i == 9999) warm = cxp_windows_bytes(w);
  }
  st = cxp_windows_stats(w);
  CHECK_LE(st.open, 64);
  CHECK_INT(st.open_max, 64);
  CHECK_GT(st.closed_early, 0);
  CHECK_INT(cxp_windows_bytes(w), warm);
  printf("window: %zu bytes per open window ([agent_id]); %zu bytes held at 64 open\n",
         cxp_windows_bytes_per_window(w), cxp_windows_bytes(w));
  cxp_windows_destroy(w);
  cxp_window_conf_defaults(&c);
  w = cxp_windows_create(&c, 0, NULL, NULL);
  printf("window: %zu bytes per open window (defaults: [segment], [channel])\n",
         cxp_windows_bytes_per_window(w));
  cxp_windows_destroy(w);
  cxp_windows_destroy(NULL);
}

/* ---- one window's link to the group's window of the next length ------------ */

/* The events of value v over the partials of one length. */
static int64_t events_of(const sink *s, int64_t length, const char *v) {
  int64_t n = 0;
  for (int i = 0; i < s->n; i++)
    if (s->p[i].length_ms == length && strcmp(s->p[i].value[0], v) == 0)
      n += s->p[i].agg.events;
  return n;
}

/* fold_all reaches a group's window of the next length through a link kept
 * in the one before, checked before use: a link to a window of another
 * start, or to a slot closed and opened again for another group, must not
 * be followed. */
static void test_length_links(void) {
  /* 60 s and 90 s windows do not nest: T0 starts both (T0 / 90 s =
   * 19949080), and the 60 s window [T0+60, T0+120) lies across the 90 s
   * windows [T0, T0+90) and [T0+90, T0+180). */
  cxp_window_conf c = conf_one(M_MS, CXP_WF_SEGMENT);
  c.n_lengths = 2;
  c.length_ms[1] = 90 * S_MS;
  c.revision_ms[1] = H_MS;
  c.lateness_ms = H_MS; /* nothing closes before the flush */
  memset(&sk, 0, sizeof sk);
  cxp_windows *w = cxp_windows_create(&c, 0, on_close, &sk);
  static const int at_s[] = {10, 70, 100};
  for (int i = 0; i < 3; i++) {
    cxp_event e = ev_at(CXP_EV_CSAT, T0 + at_s[i] * S_MS, "gold", "app", 5);
    CHECK_INT(cxp_windows_add(w, &e, 0, -1), CXP_OK);
  }
  cxp_windows_flush(w);
  /* 60 s: [T0] holds 10 s; [T0+60] 70 s and 100 s. 90 s: [T0] holds 10 s
   * and 70 s; [T0+90] 100 s (the link from [T0+60] led to [T0]). */
  CHECK_INT(sk.n, 4);
  const cxp_window_partial *p = find(&sk, M_MS, T0, "gold");
  CHECK_INT(p ? p->agg.csat_n : -1, 1);
  p = find(&sk, M_MS, T0 + M_MS, "gold");
  CHECK_INT(p ? p->agg.csat_n : -1, 2);
  p = find(&sk, 90 * S_MS, T0, "gold");
  CHECK_INT(p ? p->agg.csat_n : -1, 2);
  p = find(&sk, 90 * S_MS, T0 + 90 * S_MS, "gold");
  CHECK_INT(p ? p->agg.csat_n : -1, 1);
  cxp_windows_destroy(w);

  /* The 1 h window first, then the 1 min one, three windows at most. gold
   * opens A (1 h) and B (1 min), A linked to B; silver opens C (1 h), and
   * its 1 min window closes B (the earliest end) and takes B's slot. The
   * next gold event finds A, whose link names slot B, now silver's window
   * of the same length and start: only B's new seq tells them apart. */
  c = conf_one(H_MS, CXP_WF_SEGMENT);
  c.n_lengths = 2;
  c.length_ms[1] = M_MS;
  c.revision_ms[1] = H_MS;
  c.max_open = 3;
  memset(&sk, 0, sizeof sk);
  w = cxp_windows_create(&c, 0, on_close, &sk);
  static const char *segs[] = {"gold", "silver", "gold"};
  for (int i = 0; i < 3; i++) {
    cxp_event e = ev_at(CXP_EV_CSAT, T0 + i * S_MS, segs[i], "app", 5);
    CHECK_INT(cxp_windows_add(w, &e, 0, -1), CXP_OK);
  }
  cxp_windows_flush(w);
  /* Per length, every event once, in its own group's windows: gold 2,
   * silver 1, however the slots were reused. */
  CHECK_INT(events_of(&sk, M_MS, "gold"), 2);
  CHECK_INT(events_of(&sk, M_MS, "silver"), 1);
  CHECK_INT(events_of(&sk, H_MS, "gold"), 2);
  CHECK_INT(events_of(&sk, H_MS, "silver"), 1);
  cxp_window_stats st = cxp_windows_stats(w);
  CHECK_INT(st.closed_early, 2); /* gold's first 1 min window, then silver's */
  cxp_windows_destroy(w);
}

/* What the core hands a window about a customer comes from his state, which
 * a damaged changelog record can make anything (a fuzzer of the restore
 * found a CSAT sum above its count: an index of 150). A window takes only
 * what keeps its partial one the merger reads: an index outside 0..100 is
 * not counted, and the value at risk, in cents, sums to at most
 * CXP_WIN_JSON_INT_MAX. */
static void test_ctx_bounds(void) {
  cxp_window_conf c = conf_one(M_MS, CXP_WF_SEGMENT);
  memset(&sk, 0, sizeof sk);
  cxp_windows *w = cxp_windows_create(&c, 0, on_close, &sk);
  /* cohort 1: indices 80 (counted), 150 and 100.4 (not), 100 (counted);
   * bands high with values at risk 9e14 and 5e14: 9e16 and 5e16 cents,
   * each past the most a record carries. */
  static const double si[] = {80, 150, 100.4, 100};
  static const double var[] = {9e14, 5e14, 0, 0};
  for (int i = 0; i < 4; i++) {
    cxp_event e = ev_at(CXP_EV_CSAT, T0 + i * S_MS, "gold", "app", 5);
    cxp_window_ctx ctx = {var[i] > 0 ? 2 : -1, -1, 1, ~0u, si[i], 0, var[i], -1, 0, NAN, 0};
    CHECK_INT(cxp_windows_add_ctx(w, &e, 0, &ctx), CXP_OK);
  }
  cxp_windows_flush(w);
  CHECK_INT(sk.n, 1);
  const cxp_window_agg *a = &sk.p[0].agg;
  CHECK_INT(a->events, 4);
  CHECK_INT(a->cohort_si_n[1], 2);
  CHECK_INT(a->cohort_si_sum[1], 180 * CXP_WIN_SI_SCALE);
  CHECK_INT(a->churn[2], 2);
  CHECK_INT(a->var_cents, CXP_WIN_JSON_INT_MAX);
  CHECK_INT(cxp_window_agg_consistent(a), 1);
  /* As the merger reads it. */
  cxp_buf b;
  cxp_buf_init(&b);
  cxp_window_agg_put(&b, a);
  cxp_rd r = {(const uint8_t *)b.p, (const uint8_t *)b.p + b.len, 0};
  cxp_window_agg back;
  CHECK_INT(cxp_window_agg_get(&r, &back), 0);
  CHECK_INT(back.var_cents, CXP_WIN_JSON_INT_MAX);
  /* Two partials at the most: still the most. */
  cxp_window_partial x = sk.p[0], y = sk.p[0];
  CHECK_INT(cxp_window_partial_merge(&x, &y), 0);
  CHECK_INT(x.agg.var_cents, CXP_WIN_JSON_INT_MAX);
  CHECK_INT(x.agg.cohort_si_n[1], 4);
  cxp_buf_free(&b);
  cxp_windows_destroy(w);
}

/* ---- consistency ----------------------------------------------------------- */

static void test_consistency(void) {
  /* Ten agents with n = 30: nine at 27/30 = 90, one at 12/30 = 40; an 11th
   * with 0/10 is under min_n and neither counts nor gets flagged.
   * mean = (9 x 90 + 40) / 10 = 85; deviations 5 (x9) and -45;
   * variance = (9 x 25 + 2025) / 10 = 225; sd = 15; 85 - 2 x 15 = 55 > 40. */
  static cxp_window_partial g[11];
  const cxp_window_partial *gp[11];
  memset(g, 0, sizeof g);
  for (int i = 0; i < 11; i++) {
    g[i].n_fields = 1;
    g[i].fields[0] = CXP_WF_AGENT_ID;
    g[i].agg.csat_n = i < 10 ? 30 : 10;
    g[i].agg.csat_sat = i < 9 ? 27 : i == 9 ? 12 : 0;
    gp[i] = &g[i];
  }
  cxp_window_consistency out;
  int flagged[11];
  CHECK_INT(cxp_window_consistency_compute(gp, 11, 30, &out, flagged), 1);
  CHECK_INT(out.qualified, 10);
  CHECK_NEAR(out.mean, 85, 1e-9);
  CHECK_NEAR(out.spread, 15, 1e-9);
  CHECK_INT(flagged[9], 1);
  CHECK_INT(flagged[10], 0);
  CHECK_INT(flagged[0], 0);
  /* Five agents, four at 100 and one at 0: mean 80, variance
   * (4 x 400 + 6400) / 5 = 1600, sd 40, 80 - 80 = 0, and 0 is not under 0:
   * with 5 agents no one can sit more than sqrt(4) = 2 sd under the mean. */
  for (int i = 0; i < 5; i++) g[i].agg.csat_sat = i < 4 ? 30 : 0;
  CHECK_INT(cxp_window_consistency_compute(gp, 5, 30, &out, NULL), 0);
  CHECK_NEAR(out.spread, 40, 1e-9);
  CHECK_INT(cxp_window_consistency_compute(gp, 0, 30, &out, NULL), 0);
  CHECK_INT(out.qualified, 0);
}

/* ---- the merger ------------------------------------------------------------ */

typedef struct msink {
  cxp_window_partial p[64];
  int32_t missing[64][8];
  int n_missing[64];
  int n;
} msink;

static void on_final(void *opaque, const void *origin, const cxp_window_partial *p,
                     const int32_t *missing, int n_missing) {
  (void)origin;
  msink *s = opaque;
  if (s->n >= 64) return;
  s->p[s->n] = *p;
  s->n_missing[s->n] = n_missing;
  for (int i = 0; i < n_missing && i < 8; i++) s->missing[s->n][i] = missing[i];
  s->n++;
}

/* A partial of one segment group with CSAT counts, as input `part` sends. */
static cxp_window_partial seg_partial(int32_t part, int64_t length, int64_t start,
                                      const char *seg, int64_t csat_n, int64_t csat_sat) {
  cxp_window_partial p;
  memset(&p, 0, sizeof p);
  p.start_ms = start;
  p.end_ms = start + length;
  p.length_ms = length;
  p.partition = part;
  p.n_fields = 1;
  p.fields[0] = CXP_WF_SEGMENT;
  p.value_len[0] = (uint8_t)strlen(seg);
  memcpy(p.value[0], seg, strlen(seg) + 1);
  p.agg.events = csat_n;
  p.agg.csat_n = csat_n;
  p.agg.csat_sat = csat_sat;
  return p;
}

static void test_merger(void) {
  static msink ms;
  memset(&ms, 0, sizeof ms);
  CHECK(cxp_merger_create(0, 1000, on_final, &ms) == NULL);
  cxp_merger *m = cxp_merger_create(2, 60000, on_final, &ms);
  CHECK(m != NULL);
  if (m == NULL) return;

  /* Window [T0, T0+1m), gold: input 0 has 1 of 2 satisfied, input 1 has 3
   * of 3; silver only on input 1 (0 of 1). Offsets 7, 5, 6. */
  cxp_window_partial a = seg_partial(0, M_MS, T0, "gold", 2, 1);
  cxp_window_partial b = seg_partial(1, M_MS, T0, "gold", 3, 3);
  cxp_window_partial c = seg_partial(1, M_MS, T0, "silver", 1, 0);
  CHECK_INT(cxp_merger_partial(m, &a, 1000, 7, NULL), 0);
  CHECK_INT(cxp_merger_partial(m, &b, 1000, 5, NULL), 0);
  CHECK_INT(cxp_merger_partial(m, &c, 1000, 6, NULL), 0);
  CHECK_INT(cxp_merger_hold(m), 5);
  CHECK_INT(cxp_merger_stats(m).pending, 2);
  /* Input 0 passes the end; input 1 has said nothing: nothing yet. */
  CHECK_INT(cxp_merger_marker(m, 0, T0 + M_MS, NULL), 0);
  CHECK_INT(cxp_merger_watermark(m), INT64_MIN);
  /* Input 1 one millisecond short of the end: still nothing. */
  CHECK_INT(cxp_merger_marker(m, 1, T0 + M_MS - 1, NULL), 0);
  CHECK_INT(cxp_merger_watermark(m), T0 + M_MS - 1);
  CHECK_INT(ms.n, 0);
  /* Input 1 at the end: both groups final, gold before silver. gold: 2 + 3
   * = 5 responses, 1 + 3 = 4 satisfied; silver 1, 0. */
  CHECK_INT(cxp_merger_marker(m, 1, T0 + M_MS, NULL), 2);
  CHECK_INT(ms.n, 2);
  CHECK_STR(ms.p[0].value[0], "gold");
  CHECK_INT(ms.p[0].agg.csat_n, 5);
  CHECK_INT(ms.p[0].agg.csat_sat, 4);
  CHECK_INT(ms.p[0].partition, -1);
  CHECK_INT(ms.n_missing[0], 0);
  CHECK_STR(ms.p[1].value[0], "silver");
  CHECK_INT(ms.p[1].agg.csat_n, 1);
  CHECK_INT(ms.p[1].partition, 1);
  CHECK_INT(cxp_merger_hold(m), -1);
  /* A straggler for the emitted window is refused, and counted. */
  cxp_window_partial late = seg_partial(0, M_MS, T0, "bronze", 1, 1);
  CHECK_INT(cxp_merger_partial(m, &late, 2000, 8, NULL), -1);
  CHECK_INT(cxp_merger_stats(m).late, 1);
  /* A marker read again, or an older one, changes nothing. */
  CHECK_INT(cxp_merger_marker(m, 1, T0 + M_MS, NULL), 0);
  CHECK_INT(cxp_merger_marker(m, 1, T0, NULL), 0);
  CHECK_INT(cxp_merger_watermark(m), T0 + M_MS);
  CHECK_INT(cxp_merger_marker(m, 2, T0, NULL), -1);
  cxp_window_partial bad = seg_partial(2, M_MS, T0 + M_MS, "gold", 1, 1);
  CHECK_INT(cxp_merger_partial(m, &bad, 2000, 9, NULL), -1);

  /* Timeout 60 s: the second minute's gold from input 0 arrives at wall
   * 10000; input 1 never closes it. At 69999 nothing; at 70000 it goes out
   * incomplete, input 1 missing (input 0's watermark T0+2m passed it). */
  ms.n = 0;
  cxp_window_partial d = seg_partial(0, M_MS, T0 + M_MS, "gold", 4, 2);
  CHECK_INT(cxp_merger_partial(m, &d, 10000, 10, NULL), 0);
  CHECK_INT(cxp_merger_marker(m, 0, T0 + 2 * M_MS, NULL), 0);
  CHECK_INT(cxp_merger_tick(m, 69999, NULL), 0);
  CHECK_INT(cxp_merger_tick(m, 70000, NULL), 1);
  CHECK_INT(ms.n, 1);
  CHECK_INT(ms.p[0].agg.csat_n, 4);
  CHECK_INT(ms.n_missing[0], 1);
  CHECK_INT(ms.missing[0][0], 1);
  /* Input 1's part arriving after the timeout is late, not a second record. */
  cxp_window_partial e = seg_partial(1, M_MS, T0 + M_MS, "gold", 1, 1);
  CHECK_INT(cxp_merger_partial(m, &e, 71000, 11, NULL), -1);
  CHECK_INT(cxp_merger_stats(m).late, 2);
  cxp_merge_stats st = cxp_merger_stats(m);
  CHECK_INT(st.complete, 2);
  CHECK_INT(st.incomplete, 1);
  CHECK_INT(st.partials, 4);

  /* Flush: the hour window waits for both; it goes out naming both. */
  ms.n = 0;
  cxp_window_partial h = seg_partial(0, H_MS, T0, "gold", 1, 1);
  CHECK_INT(cxp_merger_partial(m, &h, 0, -1, NULL), 0);
  CHECK_INT(cxp_merger_hold(m), -1);
  CHECK_INT(cxp_merger_flush(m, NULL), 1);
  CHECK_INT(ms.n_missing[0], 2);
  CHECK_INT(ms.missing[0][0], 0);
  CHECK_INT(ms.missing[0][1], 1);
  CHECK_INT(cxp_merger_stats(m).pending, 0);
  CHECK_GT(cxp_merger_bytes(m), 0);
  cxp_merger_destroy(m);
}

/* The same events split over 3 partitions in two different ways give the
 * same final records as on one partition: the merge is exact. */
static void test_merger_exact(void) {
  static sink parts;
  static msink one, three;
  const int N = 600;
  static const char *segs[] = {"gold", "silver", "bronze"};
  for (int split = 0; split < 2; split++) {
    msink *out = split ? &three : &one;
    memset(out, 0, sizeof *out);
    int np = split ? 3 : 1;
    cxp_merger *m = cxp_merger_create(np, 0, on_final, out);
    cxp_window_conf c = conf_one(M_MS, CXP_WF_SEGMENT);
    c.lateness_ms = 0;
    cxp_windows *w[3];
    for (int i = 0; i < np; i++) w[i] = cxp_windows_create(&c, i, on_close, &parts);
    for (int i = 0; i < N; i++) {
      /* One event a second over 10 minutes; scores cycle 1..5. */
      cxp_event ev = ev_at(CXP_EV_CSAT, T0 + i * S_MS, segs[i % 3], "app", 1 + i % 5);
      int pi = np == 1 ? 0 : (i / 2) % 3; /* mixes segments over partitions */
      memset(&parts, 0, sizeof parts);
      CHECK_INT(cxp_windows_add(w[pi], &ev, 0, -1), CXP_OK);
      for (int k = 0; k < parts.n; k++) cxp_merger_partial(m, &parts.p[k], 0, -1, NULL);
      cxp_merger_marker(m, pi, cxp_windows_watermark(w[pi]), NULL);
    }
    for (int i = 0; i < np; i++) {
      memset(&parts, 0, sizeof parts);
      cxp_windows_flush(w[i]);
      for (int k = 0; k < parts.n; k++) cxp_merger_partial(m, &parts.p[k], 0, -1, NULL);
      cxp_merger_marker(m, i, INT64_MAX, NULL);
      cxp_windows_destroy(w[i]);
    }
    cxp_merger_destroy(m);
  }
  /* 10 minutes x 3 segments = 30 records each way; each minute has 60
   * events, 20 per segment, and scores 4-5 are 2 in 5 of them: the
   * segments see the scores in a 5-cycle stepping by 3, so each segment's 20
   * events hold each score 4 times: 8 satisfied of 20. */
  CHECK_INT(one.n, 30);
  CHECK_INT(three.n, 30);
  char ctx[32];
  for (int i = 0; i < one.n && i < three.n; i++) {
    snprintf(ctx, sizeof ctx, "record %d", i);
    test_ctx = ctx;
    CHECK_INT(one.p[i].start_ms, three.p[i].start_ms);
    CHECK_STR(one.p[i].value[0], three.p[i].value[0]);
    CHECK_MEM(&one.p[i].agg, sizeof one.p[i].agg, &three.p[i].agg, sizeof three.p[i].agg);
    CHECK_INT(one.p[i].agg.csat_n, 20);
    CHECK_INT(one.p[i].agg.csat_sat, 8);
    CHECK_INT(one.n_missing[i], 0);
    CHECK_INT(three.n_missing[i], 0);
  }
  test_ctx = NULL;
}

/* ---- the windows in the core's event path ---------------------------------- */

/* A pipeline of windows of `lengths` (NULL: the default ones) by `group_by`,
 * without the per-customer alerts (drops, service-quality gaps, the closed
 * loop). The caller sets what else it needs, then cxp_pipeline_windows. */
static void windows_pipeline(cxp_pipeline *pl, const char *lengths, const char *group_by) {
  cxp_pipeline_defaults(pl);
  pl->drop_enabled = pl->closed_loop_enabled = pl->sq_enabled = 0;
  if (lengths) snprintf(pl->win_lengths, sizeof pl->win_lengths, "%s", lengths);
  snprintf(pl->win_group_by, sizeof pl->win_group_by, "%s", group_by);
}

/* The record of the group `key` (the record's Kafka key), or NULL. */
static const char *record_of(const outs *o, const char *key, const char *start) {
  for (int i = 0; i < o->n; i++)
    if (o->stream[i] == CXP_STREAM_INDICATORS && strcmp(o->key[i], key) == 0 &&
        strstr(o->val[i], start))
      return o->val[i];
  return NULL;
}

#define CSAT_AT(id, cust, ts, score, extra)                                   \
  "{\"event_id\":\"" id "\",\"type\":\"survey.csat\",\"customer_id\":\"" cust \
  "\",\"ts\":\"" ts "\",\"score\":" #score extra "}"

static void test_core_windows(void) {
  static outs o;
  memset(&o, 0, sizeof o);
  cxp_pipeline pl;
  windows_pipeline(&pl, "[\"1m\"]", "[\"segment\"]");
  pl.win_lateness_s = 60;
  char err[256];
  CHECK_INT(cxp_pipeline_windows(&pl, err, sizeof err), 0);
  cxp_core core;
  cxp_core_init(&core, &pl, collect, &o);
  cxp_core_merge_local(&core, 1);

  /* Minute 07:00: gold c1 scores 5 and c2 scores 2; c2's response comes
   * twice (counted once); c3's profile says silver, and his CSAT 4 without a
   * segment counts under silver. */
  CHECK_INT(
      feed_core(&core, 1,
                CSAT_AT("e1", "c1", "2026-11-23T07:00:10Z", 5, ",\"segment\":\"gold\"")),
      CXP_OK);
  CHECK_INT(
      feed_core(&core, 2,
                CSAT_AT("e2", "c2", "2026-11-23T07:00:20Z", 2, ",\"segment\":\"gold\"")),
      CXP_OK);
  CHECK_INT(
      feed_core(&core, 3,
                CSAT_AT("e2", "c2", "2026-11-23T07:00:20Z", 2, ",\"segment\":\"gold\"")),
      CXP_OK);
  CHECK_INT(feed_core(&core, 4,
                      "{\"event_id\":\"p3\",\"type\":\"profile\",\"customer_id\":\"c3\","
                      "\"ts\":\"2026-11-23T07:00:05Z\",\"segment\":\"silver\"}"),
            CXP_OK);
  CHECK_INT(feed_core(&core, 5, CSAT_AT("e3", "c3", "2026-11-23T07:00:30Z", 4, "")),
            CXP_OK);
  CHECK_INT(count_stream(&o, CXP_STREAM_INDICATORS), 0);
  /* 07:03:00 moves the watermark to 07:02:00: minute 07:00 closes. */
  CHECK_INT(feed_core(&core, 6, CSAT_AT("e4", "c1", "2026-11-23T07:03:00Z", 1, "")), CXP_OK);
  CHECK_INT(count_stream(&o, CXP_STREAM_INDICATORS), 2);
  /* gold: 2 responses, 1 satisfied = 50; 2 events. silver: c3's profile and
   * response, 1 of 1 = 100. */
  const char *g = record_of(&o, "{\"segment\":\"gold\"}", "07:00:00.000Z");
  const char *sv = record_of(&o, "{\"segment\":\"silver\"}", "07:00:00.000Z");
  CHECK(g != NULL && sv != NULL);
  if (g) {
    CHECK_CONTAINS(g, "\"n\":{\"csat\":2,\"nps\":0,\"ces\":0,\"servqual\":0,\"events\":2}");
    CHECK_CONTAINS(g, "\"csat\":50,\"nps\":null");
    CHECK_CONTAINS(g, "\"incomplete\":false");
  }
  if (sv) CHECK_CONTAINS(sv, "\"csat\":100,");
  CHECK_INT(count_stream(&o, CXP_STREAM_PARTIALS), 0); /* merged in place */
  CHECK_INT(count_stream(&o, CXP_STREAM_MARKERS), 0);

  /* c2 answers for 07:00:40, now past the watermark (07:02:00) but within
   * the minute's hour of revisions: gold's record of 07:00 goes out again,
   * revision 1: 3 responses, 2 satisfied = 66.6667; 3 events. His own
   * figures take it too: e2 (once) and e5, 2 responses. */
  o.n = 0;
  CHECK_INT(feed_core(&core, 7, CSAT_AT("e5", "c2", "2026-11-23T07:00:40Z", 5, "")), CXP_OK);
  CHECK_INT(o.n, 1);
  CHECK_INT(o.stream[0], CXP_STREAM_INDICATORS);
  CHECK_CONTAINS(o.val[0], "\"window_start\":\"2026-11-23T07:00:00.000Z\"");
  CHECK_CONTAINS(o.val[0], "\"n\":{\"csat\":3,\"nps\":0,\"ces\":0,\"servqual\":0,\"events\":3}");
  CHECK_CONTAINS(o.val[0], "\"csat\":66.6667,");
  CHECK_CONTAINS(o.val[0], "\"revision\":1,");
  CHECK_INT(core.n.dead[CXP_BAD_LATE], 0);
  cxp_shard *sh = cxp_state_shard(&core.state, 0);
  const cxp_customer *c2 = cxp_shard_find(sh, "c2", 2);
  CHECK(c2 != NULL);
  if (c2) CHECK_INT(c2->responses, 2);
  /* Another, CSAT 1 for 07:00:50: revision 2, 4 responses, 2 satisfied =
   * 50. */
  o.n = 0;
  CHECK_INT(feed_core(&core, 8, CSAT_AT("e6", "c2", "2026-11-23T07:00:50Z", 1, "")), CXP_OK);
  CHECK_INT(o.n, 1);
  CHECK_CONTAINS(o.val[0], "\"n\":{\"csat\":4,\"nps\":0,\"ces\":0,\"servqual\":0,\"events\":4}");
  CHECK_CONTAINS(o.val[0], "\"csat\":50,");
  CHECK_CONTAINS(o.val[0], "\"revision\":2,");

  /* c3 answers at 08:05: the watermark, 08:04, passes 07:01 + 1 h: the
   * minute 07:00 is past its horizon. His answer for 07:00:45 there is late
   * for every window it belongs to: dead-lettered, naming it, and still in
   * his own figures. */
  o.n = 0;
  CHECK_INT(feed_core(&core, 9, CSAT_AT("e7", "c3", "2026-11-23T08:05:00Z", 4, "")), CXP_OK);
  /* That closes c1's 07:03 minute (gold, his sticky segment): complete. */
  const char *last = record_of(&o, "{\"segment\":\"gold\"}", "07:03:00.000Z");
  CHECK(last != NULL);
  if (last) {
    CHECK_CONTAINS(last, "\"csat\":0,");
    CHECK_CONTAINS(last, "\"incomplete\":false");
    CHECK_CONTAINS(last, "\"revision\":0,");
  }
  o.n = 0;
  CHECK_INT(feed_core(&core, 10, CSAT_AT("e8", "c3", "2026-11-23T07:00:45Z", 4, "")),
            CXP_BAD_LATE);
  CHECK_INT(o.n, 1);
  CHECK_INT(o.stream[0], CXP_STREAM_DEAD_LETTERS);
  CHECK_CONTAINS(o.val[0], "\"reason\":\"late\"");
  CHECK_CONTAINS(o.val[0], "60s window 2026-11-23T07:00:00.000Z..2026-11-23T07:01:00.000Z "
                           "(revisions until the watermark passed 2026-11-23T08:01:00.000Z)");
  CHECK_INT(core.n.dead[CXP_BAD_LATE], 1);
  CHECK_INT(core.n.late_applied, 1);
  const cxp_customer *c3 = cxp_shard_find(sh, "c3", 2);
  CHECK(c3 != NULL);
  if (c3) CHECK_INT(c3->responses, 3);

  /* The end of the input: c3's 08:05 minute (silver) goes out, complete. */
  o.n = 0;
  cxp_core_finish(&core);
  CHECK_INT(count_stream(&o, CXP_STREAM_INDICATORS), 1);
  const char *end = record_of(&o, "{\"segment\":\"silver\"}", "08:05:00.000Z");
  CHECK(end != NULL);
  if (end) CHECK_CONTAINS(end, "\"incomplete\":false");
  cxp_core_close(&core);
}

/* agent.flag and segment.anomaly, from the final records of a replay-like
 * core (one input partition, merged in place). */
static void core_group_pipeline(cxp_pipeline *pl, const char *group_by) {
  windows_pipeline(pl, "[\"1m\"]", group_by);
  pl->rec_enabled = 0;
  pl->win_lateness_s = 0;
  pl->win_min_n = 5;
  char err[256];
  CHECK_INT(cxp_pipeline_windows(pl, err, sizeof err), 0);
}

static int find_alert(const outs *o, const char *type, int from) {
  for (int i = from; i < o->n; i++)
    if (o->stream[i] == CXP_STREAM_ALERTS && strstr(o->val[i], type)) return i;
  return -1;
}

static void test_core_group_alerts(void) {
  static outs o;
  char buf[512];
  cxp_pipeline pl;
  cxp_core core;

  /* Seven agents, five CSAT responses each in minute 07:00: a1..a6 all 5
   * (100), a7 all 1 (0). Team mean 600/7 = 85.714; deviations 100/7 (x6)
   * and -600/7; variance (6 x 10000/49 + 360000/49) / 7 = 420000/343, sd
   * 34.993; a7 sits 85.7 under the mean, more than 2 sd (69.99): flagged,
   * the others not. */
  memset(&o, 0, sizeof o);
  core_group_pipeline(&pl, "[\"agent_id\"]");
  pl.anomaly_enabled = 0;
  cxp_core_init(&core, &pl, collect, &o);
  cxp_core_merge_local(&core, 1);
  int off = 1;
  for (int a = 1; a <= 7; a++)
    for (int k = 0; k < 5; k++) {
      snprintf(buf, sizeof buf,
               "{\"event_id\":\"e%d-%d\",\"type\":\"survey.csat\",\"customer_id\":\"c%d-%d\","
               "\"ts\":\"2026-11-23T07:00:%02dZ\",\"score\":%d,\"agent_id\":\"a%d\"}",
               a, k, a, k, a * 5 + k, a == 7 ? 1 : 5, a);
      CHECK_INT(feed_core(&core, off++, buf), CXP_OK);
    }
  /* Five responses without an agent, all 1: their group ("unknown") is no
   * agent of the team. Counted in, it would make the mean 600/8 = 75 and the
   * sd 43.3, and flag nobody. */
  for (int k = 0; k < 5; k++) {
    snprintf(buf, sizeof buf,
             "{\"event_id\":\"u%d\",\"type\":\"survey.csat\",\"customer_id\":\"u%d\","
             "\"ts\":\"2026-11-23T07:00:%02dZ\",\"score\":1}",
             k, k, 50 + k);
    CHECK_INT(feed_core(&core, off++, buf), CXP_OK);
  }
  cxp_core_finish(&core);
  CHECK_INT(count_stream(&o, CXP_STREAM_INDICATORS), 8);
  int i = find_alert(&o, "agent.flag", 0);
  CHECK(i >= 0);
  CHECK_INT(find_alert(&o, "agent.flag", i + 1), -1);
  if (i >= 0) {
    CHECK_STR(o.key[i], "a7");
    CHECK_CONTAINS(o.val[i], "\"customer_id\":null");
    CHECK_CONTAINS(o.val[i], "\"agent\":{\"agent_id\":\"a7\",\"window_start\":"
                             "\"2026-11-23T07:00:00.000Z\",\"window_end\":"
                             "\"2026-11-23T07:01:00.000Z\",\"csat\":0,\"n\":5,"
                             "\"team_mean\":85.7143,\"team_sd\":34.9927,\"team_agents\":7}");
    CHECK_CONTAINS(o.val[i], "\"role\":\"team_lead\"");
  }
  cxp_core_close(&core);

  /* gold, five responses a minute: 07:00, 07:01, 07:02 all satisfied (100);
   * 07:03 two of five (40). Trailing mean of the three before: 100; 100 - 40
   * = 60 >= 10 points, and >= 2 x 10: P2. Minutes 07:01 and 07:02 meet a
   * mean of 100 with 100: nothing. */
  memset(&o, 0, sizeof o);
  core_group_pipeline(&pl, "[\"segment\"]");
  cxp_core_init(&core, &pl, collect, &o);
  cxp_core_merge_local(&core, 1);
  off = 1;
  for (int m = 0; m < 4; m++)
    for (int k = 0; k < 5; k++) {
      int score = m < 3 || k < 2 ? 5 : 2;
      snprintf(buf, sizeof buf,
               "{\"event_id\":\"g%d-%d\",\"type\":\"survey.csat\",\"customer_id\":\"g%d-%d\","
               "\"ts\":\"2026-11-23T07:%02d:%02dZ\",\"score\":%d,\"segment\":\"gold\"}",
               m, k, m, k, m, 10 + k, score);
      CHECK_INT(feed_core(&core, off++, buf), CXP_OK);
    }
  cxp_core_finish(&core);
  CHECK_INT(count_stream(&o, CXP_STREAM_INDICATORS), 4);
  i = find_alert(&o, "segment.anomaly", 0);
  CHECK(i >= 0);
  CHECK_INT(find_alert(&o, "segment.anomaly", i + 1), -1);
  if (i >= 0) {
    CHECK_STR(o.key[i], "{\"segment\":\"gold\"}");
    CHECK_CONTAINS(o.val[i], "\"priority\":\"P2\"");
    CHECK_CONTAINS(o.val[i], "\"customer_id\":null");
    CHECK_CONTAINS(o.val[i], "\"segment\":\"gold\"");
    CHECK_CONTAINS(o.val[i], "\"anomaly\":{\"kind\":\"score_drop\",\"measure\":\"csat\","
                             "\"group\":{\"segment\":\"gold\"},\"window_start\":"
                             "\"2026-11-23T07:03:00.000Z\",\"window_end\":"
                             "\"2026-11-23T07:04:00.000Z\",\"value\":40,\"trailing_mean\":100,"
                             "\"trailing_windows\":3,\"n\":5}");
    CHECK_CONTAINS(o.val[i], "\"event_ts\":\"2026-11-23T07:04:00.000Z\"");
  }
  cxp_core_close(&core);
}

/* Recovery outcomes and the paradox cohorts in one window, by hand. */
static void test_outcomes(void) {
  cxp_window_conf c = conf_one(M_MS, CXP_WF_SEGMENT);
  memset(&sk, 0, sizeof sk);
  cxp_windows *w = cxp_windows_create(&c, 0, on_close, &sk);
  cxp_event e = ev_at(CXP_EV_REC_FOLLOWED_UP, T0 + 10 * S_MS, "gold", NULL, 0);
  /* Four outcomes: well (ack 30 s, resolved in 10 min, a failure the
   * provider caught first); poorly (ack 2 min, never resolved, a failure);
   * well (ack 5 min, resolved in 50 min, a complaint); poorly (nothing done,
   * a failure). Pre-emption: 1 of 3 failure cases. */
  const cxp_window_outcome os[4] = {{1, 30 * S_MS, 10 * M_MS, 1, 1, -1},
                                    {0, 2 * M_MS, -1, 1, 0, -1},
                                    {1, 5 * M_MS, 50 * M_MS, 0, 0, -1},
                                    {0, -1, -1, 1, 0, -1}};
  for (int i = 0; i < 4; i++) CHECK_INT(cxp_windows_add_outcome(w, &e, &os[i]), CXP_OK);
  /* Cohorts: never failed: two customers (one answers twice, SI 80 and 60:
   * mean 70; the other only uses the service); recovered well: one, SI 91;
   * recovered poorly: one, who cancels (rate 1/1). 91 / 70 = 1.3. */
  struct {
    cxp_event_type t;
    int cohort;
    unsigned first;
    double si;
    int post;
  } in[5] = {{CXP_EV_CSAT, 0, 1, 80, 0},
             {CXP_EV_CSAT, 0, 0, 60, 0},
             {CXP_EV_CSAT, 1, 1, 91, 1},
             {CXP_EV_CANCELLED, 2, 1, NAN, 0},
             {CXP_EV_USAGE, 0, 1, NAN, 0}};
  for (int i = 0; i < 5; i++) {
    cxp_event ev = ev_at(in[i].t, T0 + (20 + i) * S_MS, "gold", "app", 4);
    cxp_window_ctx ctx = {-1, 0, in[i].cohort, in[i].first, in[i].si, in[i].post, 0, -1,
                          0, NAN, 0};
    CHECK_INT(cxp_windows_add_ctx(w, &ev, 0, &ctx), CXP_OK);
  }
  CHECK_INT(cxp_windows_flush(w), 1);
  CHECK_INT(sk.n, 1);
  const cxp_window_agg *a = &sk.p[0].agg;
  CHECK_INT(a->cases_recovered_well, 2);
  CHECK_INT(a->cases_recovered_poorly, 2);
  CHECK_INT(a->failure_cases, 3);
  CHECK_INT(a->preempted, 1);
  /* Buckets: 30 s in [0, 1 min) (0); 2 min in [1.5, 2.25) (2); 5 min in
   * [3.375, 5.0625) (4); 10 min in [7.59, 11.39) (6); 50 min in [38.44,
   * 57.67) (10). */
  CHECK_INT(a->tta_n, 3);
  CHECK_INT(a->tta_hist[0], 1);
  CHECK_INT(a->tta_hist[2], 1);
  CHECK_INT(a->tta_hist[4], 1);
  CHECK_INT(a->ttr_n, 2);
  CHECK_INT(a->ttr_hist[6], 1);
  CHECK_INT(a->ttr_hist[10], 1);
  CHECK_INT(a->cases_opened, 0); /* ctx said no case opened */
  cxp_buf b;
  cxp_buf_init(&b);
  const char *r = record(&b, &sk.p[0], 5, NULL, 0);
  CHECK_CONTAINS(r, "\"cases_recovered_well\":2,\"cases_recovered_poorly\":2,"
                    "\"preemption\":{\"failure_cases\":3,\"preempted\":1,\"ratio\":0.333333}");
  /* A bucket's c values are read as spread evenly over it, the i-th at
   * lo + (hi - lo) x (i - 0.5) / c. tta median: the 2nd of 3, the only one
   * of [1.5, 2.25): 1.5 + 0.75 x 0.5 = 1.875 min (it was 2). ttr: the mean
   * of the 1st and 2nd, the middles of [7.59375, 11.390625) and
   * [38.443359375, 57.6650390625): (9.4921875 + 48.0541992) / 2 = 28.7732
   * min (they were 10 and 50). */
  CHECK_CONTAINS(r, "\"time_to_acknowledge_min\":{\"n\":3,\"median\":1.875},"
                    "\"time_to_resolve_min\":{\"n\":2,\"median\":28.7732}");
  /* The median on its own. A lone 60 min, in [1.5^10, 1.5^11) = [57.6650390625,
   * 86.49755859375): its middle, 72.0813 (the upper bound, 86.4976, before).
   * Three in that bucket: the 2nd, at the middle too. One in the open-ended
   * last bucket (past 1.5^27 = 56815.13 min): its lower bound. None: NaN. */
  int64_t h[CXP_WIN_TBUCKETS] = {0};
  h[11] = 1;
  CHECK_NEAR(cxp_window_median_min(h, 1), 72.08129882812, 1e-9);
  h[11] = 3;
  CHECK_NEAR(cxp_window_median_min(h, 3), 72.08129882812, 1e-9);
  memset(h, 0, sizeof h);
  h[CXP_WIN_TBUCKETS - 1] = 1;
  CHECK_NEAR(cxp_window_median_min(h, 1), pow(1.5, 27), 1e-6);
  CHECK(isnan(cxp_window_median_min(h, 0)));
  CHECK_CONTAINS(r, "\"paradox\":{\"never_failed\":{\"customers\":2,\"si_n\":2,\"si_mean\":70,"
                    "\"cancellations\":0,\"cancellation_rate\":0},"
                    "\"recovered_well\":{\"customers\":1,\"si_n\":1,\"si_mean\":91,"
                    "\"cancellations\":0,\"cancellation_rate\":0},"
                    "\"recovered_poorly\":{\"customers\":1,\"si_n\":0,\"si_mean\":null,"
                    "\"cancellations\":1,\"cancellation_rate\":1},"
                    "\"si_ratio_well_vs_never\":1.3},"
                    /* The recovered customer's CSAT (scored 4 by ev_at) is the one
                     * post-recovery response: 1 of 1 satisfied. */
                    "\"post_recovery\":{\"csat_n\":1,\"csat\":100,\"nps_n\":0,\"nps\":null}");
  /* The partial travels exactly; two of them merge by addition. */
  cxp_buf_reset(&b);
  cxp_window_partial_write(&b, &sk.p[0]);
  cxp_window_partial back, twice;
  CHECK_INT(cxp_window_partial_parse(b.p, b.len, &back), 0);
  CHECK_MEM(&back.agg, sizeof back.agg, a, sizeof *a);
  twice = back;
  CHECK_INT(cxp_window_partial_merge(&twice, &back), 0);
  CHECK_INT(twice.agg.tta_hist[2], 2);
  CHECK_INT(twice.agg.cohort_si_sum[0], 280000);
  /* A partial whose histogram disagrees with its count is refused. */
  cxp_window_partial bad = back;
  bad.agg.tta_n = 4;
  cxp_buf_reset(&b);
  cxp_window_partial_write(&b, &bad);
  CHECK_INT(cxp_window_partial_parse(b.p, b.len, &back), -1);
  cxp_buf_free(&b);
  cxp_windows_destroy(w);
}

/* Post-recovery satisfaction through the core: the first CSAT after his
 * case was resolved counts, the next one does not. */
static void test_core_post_recovery(void) {
  static outs o;
  memset(&o, 0, sizeof o);
  cxp_pipeline pl;
  windows_pipeline(&pl, "[\"1h\"]", "[\"all\"]");
  char err[256];
  CHECK_INT(cxp_pipeline_windows(&pl, err, sizeof err), 0);
  cxp_core core;
  cxp_core_init(&core, &pl, collect, &o);
  cxp_core_merge_local(&core, 1);
  /* 07:00 CSAT 1 (before any case), 07:10 failure, 07:20 resolved, 07:30
   * CSAT 5 (post-recovery), 07:40 CSAT 2 (not: the first after was 07:30). */
  CHECK_INT(feed_core(&core, 1, CSAT_AT("p1", "c1", "2026-11-23T07:00:00Z", 1, "")), CXP_OK);
  CHECK_INT(feed_core(&core, 2, "{\"event_id\":\"f1\",\"type\":\"service.failure\","
                                "\"customer_id\":\"c1\",\"ts\":\"2026-11-23T07:10:00Z\","
                                "\"case_id\":\"k1\",\"category\":\"operational\",\"severity\":3,"
                                "\"detected_by\":\"customer\"}"),
            CXP_OK);
  CHECK_INT(feed_core(&core, 3, "{\"event_id\":\"r1\",\"type\":\"recovery.resolved\","
                                "\"customer_id\":\"c1\",\"ts\":\"2026-11-23T07:20:00Z\","
                                "\"case_id\":\"k1\"}"),
            CXP_OK);
  CHECK_INT(feed_core(&core, 4, CSAT_AT("p2", "c1", "2026-11-23T07:30:00Z", 5, "")), CXP_OK);
  CHECK_INT(feed_core(&core, 5, CSAT_AT("p3", "c1", "2026-11-23T07:40:00Z", 2, "")), CXP_OK);
  cxp_core_finish(&core);
  CHECK_INT(count_stream(&o, CXP_STREAM_INDICATORS), 1);
  const char *r = record_of(&o, "{}", "07:00:00.000Z");
  CHECK(r != NULL);
  if (r) {
    /* Three CSAT responses, 1 satisfied: 33.3333; post-recovery 1 of 1. */
    CHECK_CONTAINS(r, "\"csat\":33.3333,");
    CHECK_CONTAINS(r, "\"post_recovery\":{\"csat_n\":1,\"csat\":100,\"nps_n\":0,\"nps\":null}");
    CHECK_CONTAINS(r, "\"cases_opened\":1,");
  }
  cxp_core_close(&core);
}

/* ---- volume ------------------------------------------------------------ */

/* Many events a little out of order across many windows: none is refused,
 * and the windows open stay within what two lengths and the lateness allow
 * (the speed of this path is bench_core's business, not a test's). */
static void test_volume(void) {
  enum { N = 200000, K = 1024 };
  static const char *segs[] = {"gold", "silver", "bronze", "platinum",
                               "basic", "premium", "trial", "staff"};
  static const char *chans[] = {"app", "web", "phone", "store", "chat", "email"};
  static const cxp_event_type types[] = {CXP_EV_CSAT, CXP_EV_NPS, CXP_EV_USAGE,
                                         CXP_EV_CONTACT, CXP_EV_CES, CXP_EV_PURCHASE};
  static cxp_event evs[K];
  for (int i = 0; i < K; i++)
    evs[i] = ev_at(types[i % 6], 0, segs[(i * 7) % 8], chans[(i * 5) % 6], 3 + i % 3);
  cxp_window_conf c;
  cxp_window_conf_defaults(&c);
  cxp_windows *w = cxp_windows_create(&c, 0, NULL, NULL);
  for (int i = 0; i < N; i++) {
    cxp_event *e = &evs[i % K];
    /* 1000 events per second of event time, up to 200 ms out of order. */
    e->ts_ms = T0 + 1000 + i - (i % 5) * 50;
    cxp_windows_add(w, e, 0, -1);
  }
  cxp_window_stats st = cxp_windows_stats(w);
  CHECK_INT(st.events, N);
  CHECK_INT(st.late, 0);
  /* 200 s of event time, lateness 300 s: nothing has closed; open are the
   * 4 minutes touched (T0 .. T0+201 s) x 14 groups (8 segments, 6
   * channels), plus the 14 groups' hour windows. */
  CHECK_INT(st.closed, 0);
  CHECK_INT(st.open, 4 * 14 + 14);
  cxp_windows_destroy(w);
}

/* The first minute's gold from input `part`, covering input offsets
 * first..last. */
static cxp_window_partial ranged_partial(int32_t part, int64_t csat_n, int64_t csat_sat,
                                         int64_t first, int64_t last) {
  cxp_window_partial p = seg_partial(part, M_MS, T0, "gold", csat_n, csat_sat);
  p.first_offset = first;
  p.last_offset = last;
  return p;
}

/* A window remembers the input offsets of the first and last event folded
 * into it; a merger takes one partial per stretch of a partition's input,
 * so a window closed again after a restart is not counted twice. */
static void test_merger_duplicates(void) {
  /* Offsets 12, 10, 15 into one minute of gold; a fold without an offset
   * (-1) leaves them; the partial says 10..15. */
  static sink dsk;
  memset(&dsk, 0, sizeof dsk);
  cxp_window_conf c = conf_one(M_MS, CXP_WF_SEGMENT);
  cxp_windows *w = cxp_windows_create(&c, 3, on_close, &dsk);
  static const int64_t offs[] = {12, 10, 15, -1};
  for (int i = 0; i < 4; i++) {
    cxp_event e = ev_at(CXP_EV_CSAT, T0 + i * S_MS, "gold", "app", 5);
    cxp_window_ctx ctx = {-1, -1, -1, ~0u, NAN, 0, 0, offs[i], 0, NAN, 0};
    CHECK_INT(cxp_windows_add_ctx(w, &e, 0, &ctx), CXP_OK);
  }
  cxp_windows_flush(w);
  CHECK_INT(dsk.n, 1);
  CHECK_INT(dsk.p[0].partition, 3);
  CHECK_INT(dsk.p[0].first_offset, 10);
  CHECK_INT(dsk.p[0].last_offset, 15);
  CHECK_INT(dsk.p[0].agg.csat_n, 4);
  cxp_windows_destroy(w);

  /* The wire form keeps them; without them (an older build) they are -1;
   * an inverted pair is refused. */
  cxp_buf b;
  cxp_buf_init(&b);
  cxp_window_partial q;
  cxp_window_partial_write(&b, &dsk.p[0]);
  CHECK_CONTAINS(b.p, "\"offsets\":[10,15]");
  CHECK_INT(cxp_window_partial_parse(b.p, b.len, &q), 0);
  CHECK_INT(q.first_offset, 10);
  CHECK_INT(q.last_offset, 15);
  cxp_window_partial none = dsk.p[0];
  none.first_offset = none.last_offset = -1;
  cxp_buf_reset(&b);
  cxp_window_partial_write(&b, &none);
  CHECK_NOT_CONTAINS(b.p, "offsets");
  CHECK_INT(cxp_window_partial_parse(b.p, b.len, &q), 0);
  CHECK_INT(q.first_offset, -1);
  CHECK_INT(q.last_offset, -1);
  cxp_buf_reset(&b);
  cxp_window_partial_write(&b, &dsk.p[0]);
  char *at = strstr(b.p, "[10,15]");
  CHECK(at != NULL);
  if (at) memcpy(at, "[15,10]", 7);
  CHECK_INT(cxp_window_partial_parse(b.p, b.len, &q), -1);
  cxp_buf_free(&b);

  /* The merger, two inputs. Input 0 sends offsets 10..20 (2 responses, 1
   * satisfied); after a restart the same window again as 15..25 (3, 3):
   * ignored; then 21..30 (1, 1): the next stretch, taken. Input 1's 10..20
   * (4, 4) is its own. A partial without offsets is taken as ever (1, 0).
   * Final gold: 2 + 1 + 4 + 1 = 8 responses, 1 + 1 + 4 + 0 = 6 satisfied. */
  static msink ms;
  memset(&ms, 0, sizeof ms);
  cxp_merger *m = cxp_merger_create(2, 0, on_final, &ms);
  cxp_window_partial a = ranged_partial(0, 2, 1, 10, 20);
  cxp_window_partial again = ranged_partial(0, 3, 3, 15, 25);
  cxp_window_partial next = ranged_partial(0, 1, 1, 21, 30);
  cxp_window_partial other = ranged_partial(1, 4, 4, 10, 20);
  cxp_window_partial legacy = ranged_partial(0, 1, 0, -1, -1);
  CHECK_INT(cxp_merger_partial(m, &a, 0, 1, NULL), 0);
  CHECK_INT(cxp_merger_partial(m, &again, 0, 2, NULL), 1);
  /* The same partial read twice from the repartition topic: a duplicate. */
  CHECK_INT(cxp_merger_partial(m, &a, 0, 1, NULL), 1);
  CHECK_INT(cxp_merger_partial(m, &next, 0, 3, NULL), 0);
  CHECK_INT(cxp_merger_partial(m, &other, 0, 4, NULL), 0);
  CHECK_INT(cxp_merger_partial(m, &legacy, 0, 5, NULL), 0);
  cxp_merge_stats st = cxp_merger_stats(m);
  CHECK_INT(st.duplicates, 2);
  CHECK_INT(st.partials, 4);
  CHECK_INT(cxp_merger_marker(m, 0, T0 + M_MS, NULL), 0);
  CHECK_INT(cxp_merger_marker(m, 1, T0 + M_MS, NULL), 1);
  CHECK_INT(ms.n, 1);
  CHECK_INT(ms.p[0].agg.csat_n, 8);
  CHECK_INT(ms.p[0].agg.csat_sat, 6);
  CHECK_INT(ms.n_missing[0], 0);
  cxp_merger_destroy(m);
}

/* Durable windows: the partition's core is killed between two
 * flushes, or in the middle of one, and a fresh core restores what reached
 * the changelog and reads the input again from offset 0. The window's
 * partial is the uninterrupted run's: ten CSAT answers 5,4,3,5,2,4,5,1,4,3
 * (6 satisfied), input offsets 0..9, whatever the crash point. */
static const int dur_scores[10] = {5, 4, 3, 5, 2, 4, 5, 1, 4, 3};

static void dur_feed(cxp_core *c, int64_t from, int64_t to) {
  for (int64_t i = from; i <= to; i++) {
    char buf[256];
    if (i < 10)
      snprintf(buf, sizeof buf,
               "{\"event_id\":\"e%lld\",\"type\":\"survey.csat\",\"customer_id\":\"c%lld\","
               "\"ts\":\"2026-11-23T07:00:%02lldZ\",\"score\":%d,\"segment\":\"gold\"}",
               (long long)i, (long long)(i % 3), (long long)(i * 5), dur_scores[i]);
    else /* 07:02: the watermark (lateness 0) passes minute 07:00 */
      snprintf(buf, sizeof buf,
               "{\"event_id\":\"e10\",\"type\":\"usage\",\"customer_id\":\"c9\","
               "\"ts\":\"2026-11-23T07:02:00Z\",\"segment\":\"gold\"}");
    cxp_msg m = {"in", 0, i, buf, strlen(buf), NULL, 0, 0, 0, 0};
    CHECK_INT(cxp_core_process(c, &m), CXP_OK);
  }
}

/* The partial of minute 07:00, gold, among the outputs; 0 when found. */
static int dur_partial(const outs *o, cxp_window_partial *p) {
  for (int i = 0; i < o->n; i++) {
    cxp_wire_rd rd;
    if (o->stream[i] != CXP_STREAM_PARTIALS ||
        cxp_wire_open(&rd, o->val[i], o->len[i], NULL, 0) != 0)
      continue;
    while (cxp_wire_next(&rd, p, NULL, 0) == 1)
      if (p->start_ms == T0 && p->n_fields == 1 && strcmp(p->value[0], "gold") == 0) return 0;
  }
  return -1;
}

/* Applies the frames of b, all or only the window records (not the clock,
 * not the customers: a flush cut short after its windows). */
/* ---- the changelog record of an open window ------------------------------ */

/* Two CSAT answers, 5 at input offset 10 and 2 at offset 300, into the
 * one-minute window by segment of input partition 3. Its record's value by
 * hand (window.c, wrec_write): version 02, partition 3 -> zigzag 06, early
 * 00, first offset 10 -> 14, last offset 300 -> 600 -> d8 04, the count of
 * the aggregate's words (114 -> 72), then the words in the struct's order:
 * events 2 -> 04, csat_n 2 -> 04, csat_sat 1 -> 02, and 111 words of 0. */
static void test_window_record(void) {
  cxp_window_conf c = conf_one(M_MS, CXP_WF_SEGMENT);
  memset(&sk, 0, sizeof sk);
  cxp_windows *w = cxp_windows_create(&c, 3, on_close, &sk);
  cxp_windows_track(w, 1);
  cxp_window_ctx ctx = {-1, 0, -1, 0, NAN, 0, 0, 10, 0, NAN, 0};
  cxp_event e = ev_at(CXP_EV_CSAT, T0 + S_MS, "gold", "app", 5);
  CHECK_INT(cxp_windows_add_ctx(w, &e, 0, &ctx), CXP_OK);
  ctx.offset = 300;
  e = ev_at(CXP_EV_CSAT, T0 + 2 * S_MS, "gold", "app", 2);
  CHECK_INT(cxp_windows_add_ctx(w, &e, 0, &ctx), CXP_OK);
  cxp_buf out;
  cxp_buf_init(&out);
  CHECK_INT(cxp_windows_flush_state(w, 300, &out), 2); /* the window, the clock */
  CHECK_INT(sizeof(cxp_window_agg) / sizeof(int64_t), 114);
  uint8_t want[121] = {0x02, 0x06, 0x00, 0x14, 0xd8, 0x04, 0x72, 0x04, 0x04, 0x02};
  size_t pos = 0, kl = 0, vl = 0;
  const char *k = NULL;
  const uint8_t *v = NULL;
  CHECK(cxp_staterec_frame_next(out.p, out.len, &pos, &k, &kl, &v, &vl));
  CHECK_LIT(k, kl, "w:60000:1795417200000:{\"segment\":\"gold\"}");
  CHECK_MEM(v, vl, want, sizeof want);
  cxp_windows_destroy(w);

  /* Read back: the window as it was, closed by a flush. */
  cxp_windows *r = cxp_windows_create(&c, 3, on_close, &sk);
  CHECK_INT(cxp_windows_restore(r, k, kl, want, sizeof want, NULL, 0), 0);
  CHECK_INT(cxp_windows_flush(r), 1);
  CHECK_INT(sk.n, 1);
  const cxp_window_partial *p = &sk.p[0];
  CHECK_INT(p->partition, 3);
  CHECK_INT(p->start_ms, T0);
  CHECK_INT(p->length_ms, M_MS);
  CHECK_STR(p->value[0], "gold");
  CHECK_INT(p->first_offset, 10);
  CHECK_INT(p->last_offset, 300);
  CHECK_INT(p->agg.events, 2);
  CHECK_INT(p->agg.csat_n, 2);
  CHECK_INT(p->agg.csat_sat, 1);
  CHECK_INT(p->agg.nps_n, 0);
  cxp_windows_destroy(r);

  /* Refused, each with nothing opened: every cut short, a trailing byte, a
   * newer version, more words than this build has, a negative count, more
   * satisfied than answers, a partition under -1, offsets out of order. */
  r = cxp_windows_create(&c, 3, on_close, &sk);
  for (size_t n = 0; n < sizeof want; n++)
    CHECK_INT(cxp_windows_restore(r, k, kl, want, n, NULL, 0), -1);
  uint8_t bad[sizeof want + 1];
  memcpy(bad, want, sizeof want);
  bad[sizeof want] = 0;
  CHECK_INT(cxp_windows_restore(r, k, kl, bad, sizeof bad, NULL, 0), -1);
  static const struct {
    size_t at;
    uint8_t byte;
  } mut[] = {{0, 0x03}, {6, 0x6c}, {8, 0x03}, {9, 0x06}, {1, 0x03}, {3, 0x7f}};
  for (size_t i = 0; i < sizeof mut / sizeof mut[0]; i++) {
    memcpy(bad, want, sizeof want);
    bad[mut[i].at] = mut[i].byte;
    CHECK_INT(cxp_windows_restore(r, k, kl, bad, sizeof want, NULL, 0), -1);
  }
  CHECK_INT(cxp_windows_stats(r).open, 0);
  /* A record of fewer words (an older writer) reads with the rest 0: here
   * the events word alone, 5. */
  const uint8_t few[] = {0x02, 0x06, 0x00, 0x01, 0x01, 0x01, 0x0a};
  CHECK_INT(cxp_windows_restore(r, k, kl, few, sizeof few, NULL, 0), 0);
  /* And the JSON partial of the builds before this record. */
  cxp_window_partial j = sk.p[0];
  j.agg.events = 9;
  cxp_buf jv;
  cxp_buf_init(&jv);
  const char *k2 = "w:60000:1795417260000:{\"segment\":\"gold\"}";
  j.start_ms = T0 + M_MS;
  cxp_buf_reset(&jv);
  cxp_window_partial_write(&jv, &j);
  CHECK_INT(cxp_windows_restore(r, k2, strlen(k2), jv.p, jv.len, NULL, 0), 0);
  memset(&sk, 0, sizeof sk);
  CHECK_INT(cxp_windows_flush(r), 2);
  CHECK_INT(sk.n, 2);
  const cxp_window_partial *a = find(&sk, M_MS, T0, "gold");
  const cxp_window_partial *b = find(&sk, M_MS, T0 + M_MS, "gold");
  CHECK(a != NULL);
  if (a) {
    CHECK_INT(a->agg.events, 5);
    CHECK_INT(a->agg.csat_n, 0);
    CHECK_INT(a->first_offset, -1);
  }
  CHECK(b != NULL);
  if (b) {
    CHECK_INT(b->agg.events, 9);
    CHECK_INT(b->agg.csat_n, 2);
    CHECK_INT(b->last_offset, 300);
  }
  cxp_windows_destroy(r);
  cxp_buf_free(&jv);
  cxp_buf_free(&out);
}

/* ---- restored window records are range-checked ---------------------------- */

/* A partition's window clock record (window.c, restore_clock): version 1,
 * the offset x, has, the newest and the last event time. */
static void clock_rec(cxp_buf *b, int64_t x, int64_t max_ts, int64_t last_ts) {
  cxp_buf_reset(b);
  cxp_put_u8(b, 1);
  cxp_put_z(b, x);
  cxp_put_u8(b, 1);
  cxp_put_z(b, max_ts);
  cxp_put_z(b, last_ts);
}

/* The old code took a clock record with the newest event at 9e18 ms: the
 * next event's fold moved the watermark to 9e18 - lateness, closed its own
 * window at once, and every event after it was dead-lettered as late, for
 * good. Such records, and others with times or offsets out of range, are
 * refused now, the field named; the partition's windows carry on. */
static void test_window_restore_bounds(void) {
  test_ctx = "window restore bounds";
  cxp_window_conf c = conf_one(M_MS, CXP_WF_SEGMENT);
  memset(&sk, 0, sizeof sk);
  cxp_windows *w = cxp_windows_create(&c, 0, on_close, &sk);
  cxp_buf b;
  cxp_buf_init(&b);
  char err[256];
  static const struct {
    int64_t x, max_ts, last_ts;
    const char *says;
  } bad[] = {
      {5, 9000000000000000000LL, T0, "newest event at 9000000000000000000 ms"},
      {5, INT64_MIN + 5, INT64_MIN + 5, "expected both within 2000..2099"},
      {5, T0, T0 + 1, "the last no later than the newest"},
      {5, T0, 0, "last at 0 ms"},
      {-3, T0, T0, "offset -3, expected -1 or more"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    clock_rec(&b, bad[i].x, bad[i].max_ts, bad[i].last_ts);
    err[0] = '\0';
    CHECK_INT(cxp_windows_restore(w, "wc:", 3, b.p, b.len, err, sizeof err), -1);
    CHECK_CONTAINS(err, bad[i].says);
  }
  clock_rec(&b, 5, T0, T0);
  cxp_buf_putc(&b, 0);
  CHECK_INT(cxp_windows_restore(w, "wc:", 3, b.p, b.len, err, sizeof err), -1);
  CHECK_CONTAINS(err, "1 trailing bytes");
  /* Two answers a second apart fold into one open window; nothing closes. */
  cxp_event e = ev_at(CXP_EV_CSAT, T0 + S_MS, "gold", "app", 5);
  CHECK_INT(cxp_windows_add(w, &e, 0, -1), CXP_OK);
  e.ts_ms += S_MS;
  CHECK_INT(cxp_windows_add(w, &e, 0, -1), CXP_OK);
  CHECK_INT(sk.n, 0);
  CHECK_INT(cxp_windows_stats(w).open, 1);
  /* In range: taken. */
  clock_rec(&b, 5, T0 + 2 * S_MS, T0 + S_MS);
  CHECK_INT(cxp_windows_restore(w, "wc:", 3, b.p, b.len, err, sizeof err), 0);

  /* A window record whose window lies outside the event years (1970, 2100,
   * and the last minute of 1999, which ends where they begin) is refused;
   * the first minute of 2000 is taken. */
  const uint8_t few[] = {0x02, 0x00, 0x00, 0x01, 0x01, 0x01, 0x0a};
  static const char *const keys[] = {"w:60000:0:{\"segment\":\"gold\"}",
                                     "w:60000:4102444800000:{\"segment\":\"gold\"}",
                                     "w:60000:946684740000:{\"segment\":\"gold\"}"};
  for (int i = 0; i < 2; i++) {
    CHECK_INT(cxp_windows_restore(w, keys[i], strlen(keys[i]), few, sizeof few, err, sizeof err),
              -1);
    CHECK_CONTAINS(err, "outside 2000..2099");
  }
  CHECK_INT(cxp_windows_restore(w, keys[2], strlen(keys[2]), few, sizeof few, err, sizeof err),
            -1);
  CHECK_CONTAINS(err, "outside 2000..2099");
  const char *k2000 = "w:60000:946684800000:{\"segment\":\"gold\"}";
  CHECK_INT(cxp_windows_restore(w, k2000, strlen(k2000), few, sizeof few, err, sizeof err), 0);
  CHECK_INT(cxp_windows_stats(w).open, 2);
  /* The same through the core: the error names the record's key. */
  cxp_pipeline pl;
  cxp_pipeline_defaults(&pl);
  cxp_core core;
  cxp_core_init(&core, &pl, NULL, NULL);
  clock_rec(&b, 5, 9000000000000000000LL, T0);
  CHECK_INT(cxp_core_state_restore(&core, 0, "wc:", 3, b.p, b.len, err, sizeof err), -1);
  CHECK_CONTAINS(err, "window record 'wc:': newest event at 9000000000000000000 ms");
  cxp_core_close(&core);
  cxp_windows_destroy(w);
  cxp_buf_free(&b);
  test_ctx = NULL;
}

static void dur_restore(cxp_core *c, const cxp_buf *b, int windows_only) {
  size_t pos = 0, kl, vl;
  const char *k;
  const uint8_t *v;
  char err[256];
  while (cxp_staterec_frame_next(b->p, b->len, &pos, &k, &kl, &v, &vl)) {
    if (windows_only && !(kl > 2 && memcmp(k, "w:", 2) == 0)) continue;
    CHECK_INT(cxp_core_state_restore(c, 0, k, kl, v, vl, err, sizeof err), 0);
  }
}

static void test_core_windows_durable(void) {
  static outs o;
  cxp_pipeline pl;
  core_group_pipeline(&pl, "[\"segment\"]");
  pl.churn_enabled = 0;
  /* crash 0: flushed at 5, then killed before the next flush; 1: killed after
   * the next flush's window records, before its clock and customers; 2:
   * killed after the whole next flush; 3: no crash. */
  for (int crash = 0; crash < 4; crash++) {
    char ctx[32];
    snprintf(ctx, sizeof ctx, "crash point %d", crash);
    test_ctx = ctx;
    memset(&o, 0, sizeof o);
    cxp_core a;
    cxp_core_init(&a, &pl, collect, &o);
    a.changelog = 1;
    cxp_buf f1, f2w, f2c;
    cxp_buf_init(&f1);
    cxp_buf_init(&f2w);
    cxp_buf_init(&f2c);
    dur_feed(&a, 0, 5);
    cxp_core_partition_flush(&a, 0, 5, &f1);
    cxp_core_state_flush(&a, 0, &f1);
    dur_feed(&a, 6, 7);
    CHECK_GT(cxp_core_partition_changed(&a, 0), 0);
    cxp_core_partition_flush(&a, 0, 7, &f2w);
    cxp_core_state_flush(&a, 0, &f2c);
    CHECK_INT(cxp_core_partition_changed(&a, 0), 0);
    cxp_core *run = &a;
    cxp_core r;
    if (crash < 3) {
      cxp_core_close(&a);
      memset(&o, 0, sizeof o);
      cxp_core_init(&r, &pl, collect, &o);
      r.changelog = 1;
      dur_restore(&r, &f1, 0);
      if (crash >= 1) dur_restore(&r, &f2w, crash == 1);
      if (crash == 2) dur_restore(&r, &f2c, 0);
      run = &r;
      dur_feed(run, 0, 10);
    } else {
      dur_feed(run, 8, 10);
    }
    cxp_window_partial p;
    CHECK_INT(dur_partial(&o, &p), 0);
    CHECK_INT(p.agg.csat_n, 10);
    CHECK_INT(p.agg.csat_sat, 6);
    CHECK_INT(p.agg.events, 10);
    CHECK_INT(p.first_offset, 0);
    CHECK_INT(p.last_offset, 9);
    CHECK_INT(count_stream(&o, CXP_STREAM_DEAD_LETTERS), 0);
    /* What was flushed carries the window once it closes: its tombstone
     * (the record existed) waits for the next flush. */
    cxp_buf f3;
    cxp_buf_init(&f3);
    CHECK_GE(cxp_core_partition_changed(run, 0), 1);
    cxp_core_partition_flush(run, 0, 10, &f3);
    size_t pos = 0, kl, vl;
    const char *k;
    const uint8_t *v;
    int tomb = 0;
    while (cxp_staterec_frame_next(f3.p, f3.len, &pos, &k, &kl, &v, &vl))
      if (v == NULL && kl > 2 && memcmp(k, "w:", 2) == 0) tomb++;
    CHECK_INT(tomb, 1);
    cxp_core_close(run);
    cxp_buf_free(&f1);
    cxp_buf_free(&f2w);
    cxp_buf_free(&f2c);
    cxp_buf_free(&f3);
  }
  test_ctx = NULL;
}

/* A merger restarted reads its repartition partition again from the
 * committed offset; the commit carries the merged watermark after the
 * messages before it, and windows ending at or before it are not emitted
 * again from the partials read again. */
static void test_merger_floor(void) {
  static msink ms;
  memset(&ms, 0, sizeof ms);
  cxp_merger *m = cxp_merger_create(2, 0, on_final, &ms);
  /* Offsets 1, 2: minute 07:00 gold from each input; 3: input 0's marker
   * (07:01); 4: input 1's: the merged watermark rises to 07:01 there and
   * the window goes out (2 + 4 responses). */
  cxp_window_partial a = seg_partial(0, M_MS, T0, "gold", 2, 1);
  cxp_window_partial b = seg_partial(1, M_MS, T0, "gold", 4, 4);
  CHECK_INT(cxp_merger_partial(m, &a, 0, 1, NULL), 0);
  CHECK_INT(cxp_merger_partial(m, &b, 0, 2, NULL), 0);
  CHECK_INT(cxp_merger_marker(m, 0, T0 + M_MS, NULL), 0);
  cxp_merger_mark_offset(m, 3);
  CHECK_INT(cxp_merger_marker(m, 1, T0 + M_MS, NULL), 1);
  cxp_merger_mark_offset(m, 4);
  CHECK_INT(ms.n, 1);
  CHECK_INT(ms.p[0].agg.csat_n, 6);
  /* A commit at 4 knows no floor (the window went out at 4 itself); at 5
   * it is 07:01. Asked again at 5 (commits only move forward): the same. */
  CHECK_INT(cxp_merger_floor_at(m, 4), INT64_MIN);
  CHECK_INT(cxp_merger_floor_at(m, 5), T0 + M_MS);
  CHECK_INT(cxp_merger_floor_at(m, 5), T0 + M_MS);
  cxp_merger_destroy(m);

  /* The next merger of the partition, with that floor: input 1's partial
   * of 07:00 read again is ignored (no short record), 07:01's is taken. */
  memset(&ms, 0, sizeof ms);
  m = cxp_merger_create(2, 0, on_final, &ms);
  cxp_merger_set_floor(m, T0 + M_MS);
  CHECK_INT(cxp_merger_partial(m, &b, 0, 2, NULL), 2);
  cxp_window_partial c = seg_partial(0, M_MS, T0 + M_MS, "gold", 1, 1);
  CHECK_INT(cxp_merger_partial(m, &c, 0, 6, NULL), 0);
  CHECK_INT(cxp_merger_marker(m, 1, T0 + M_MS, NULL), 0);
  CHECK_INT(ms.n, 0);
  CHECK_INT(cxp_merger_stats(m).replayed, 1);
  CHECK_INT(cxp_merger_stats(m).late, 0);
  cxp_merger_destroy(m);

  /* The commit point. 07:00 gold: input 0's partial at offset 2, input 1's
   * at 5; 07:01 silver from input 0 at 4, waiting; the markers at 6 and 7
   * emit 07:00 at 7. Outputs are acknowledged up to 8; the oldest waiting
   * partial is at 4, but a commit at 4 would leave 07:00's partial at 2
   * behind it with no floor over 07:00 (emitted at 7): a restart would emit
   * it short. So 2: 07:00 is read again whole. */
  memset(&ms, 0, sizeof ms);
  m = cxp_merger_create(2, 0, on_final, &ms);
  cxp_window_partial g0 = seg_partial(0, M_MS, T0, "gold", 1, 1);
  cxp_window_partial g1 = seg_partial(1, M_MS, T0, "gold", 1, 0);
  cxp_window_partial s0 = seg_partial(0, M_MS, T0 + M_MS, "silver", 1, 1);
  cxp_merger_at(m, 2);
  CHECK_INT(cxp_merger_partial(m, &g0, 0, 2, NULL), 0);
  cxp_merger_at(m, 4);
  CHECK_INT(cxp_merger_partial(m, &s0, 0, 4, NULL), 0);
  cxp_merger_at(m, 5);
  CHECK_INT(cxp_merger_partial(m, &g1, 0, 5, NULL), 0);
  cxp_merger_at(m, 6);
  CHECK_INT(cxp_merger_marker(m, 0, T0 + M_MS, NULL), 0);
  cxp_merger_mark_offset(m, 6);
  cxp_merger_at(m, 7);
  CHECK_INT(cxp_merger_marker(m, 1, T0 + M_MS, NULL), 1);
  cxp_merger_mark_offset(m, 7);
  CHECK_INT(cxp_merger_hold(m), 4);
  CHECK_INT(cxp_merger_commit_point(m, 8), 2);
  CHECK_INT(cxp_merger_floor_at(m, 2), INT64_MIN);
  /* Once 07:01 is emitted too (at 9), everything up to 10 can go, and its
   * floor covers both windows. */
  cxp_merger_at(m, 8);
  CHECK_INT(cxp_merger_marker(m, 0, T0 + 2 * M_MS, NULL), 0);
  cxp_merger_at(m, 9);
  CHECK_INT(cxp_merger_marker(m, 1, T0 + 2 * M_MS, NULL), 1);
  cxp_merger_mark_offset(m, 9);
  CHECK_INT(cxp_merger_commit_point(m, 10), 10);
  CHECK_INT(cxp_merger_floor_at(m, 10), T0 + 2 * M_MS);
  /* Nothing waits: outputs acknowledged up to 12, 12. Then a partial at
   * 10 waits, and the commit stops at it. */
  CHECK_INT(cxp_merger_commit_point(m, 12), 12);
  cxp_window_partial s2 = seg_partial(0, M_MS, T0 + 2 * M_MS, "silver", 1, 1);
  CHECK_INT(cxp_merger_partial(m, &s2, 0, 10, NULL), 0);
  CHECK_INT(cxp_merger_commit_point(m, 12), 10);
  CHECK_INT(cxp_merger_commit_point(m, 9), 9);
  cxp_merger_destroy(m);
}

/* Revisions at the merger: a record kept after it went out takes late
 * partials while the merged watermark is within its window's horizon. */
static void test_merger_revisions(void) {
  static msink ms;
  memset(&ms, 0, sizeof ms);
  cxp_window_conf c = conf_one(M_MS, CXP_WF_SEGMENT);
  c.revision_ms[0] = 10 * M_MS;
  cxp_merger *m = cxp_merger_create(2, 0, on_final, &ms);
  cxp_merger_revisions(m, &c, 0);
  /* 07:00 gold: input 0 has 2 responses (1 satisfied, offsets 1..2), input
   * 1 has 4 (4 satisfied, offsets 7..10); both markers pass 07:01: out,
   * revision 0, 6 responses, 5 satisfied. */
  cxp_window_partial a = seg_partial(0, M_MS, T0, "gold", 2, 1);
  cxp_window_partial b = seg_partial(1, M_MS, T0, "gold", 4, 4);
  a.first_offset = 1, a.last_offset = 2;
  b.first_offset = 7, b.last_offset = 10;
  CHECK_INT(cxp_merger_partial(m, &a, 0, 100, NULL), 0);
  CHECK_INT(cxp_merger_partial(m, &b, 0, 101, NULL), 0);
  CHECK_INT(cxp_merger_marker(m, 0, T0 + M_MS, NULL), 0);
  CHECK_INT(cxp_merger_marker(m, 1, T0 + M_MS, NULL), 1);
  CHECK_INT(ms.n, 1);
  CHECK_INT(ms.p[0].revision, 0);
  CHECK_INT(ms.p[0].agg.csat_n, 6);
  CHECK_INT(cxp_merger_stats(m).kept, 1);
  /* A late response from input 0 (offset 5, satisfied): revision 1, the
   * whole record again: 7 responses, 6 satisfied. */
  cxp_window_partial d = seg_partial(0, M_MS, T0, "gold", 1, 1);
  d.late = 1;
  d.first_offset = d.last_offset = 5;
  CHECK_INT(cxp_merger_partial(m, &d, 0, 102, NULL), 0);
  CHECK_INT(ms.n, 2);
  CHECK_INT(ms.p[1].revision, 1);
  CHECK_INT(ms.p[1].agg.csat_n, 7);
  CHECK_INT(ms.p[1].agg.csat_sat, 6);
  CHECK_INT(ms.n_missing[1], 0);
  /* The same late partial read again (a restart of input 0 behind it):
   * a duplicate, no record. */
  CHECK_INT(cxp_merger_partial(m, &d, 0, 103, NULL), 1);
  CHECK_INT(ms.n, 2);
  /* Input 1, offset 12, unsatisfied: revision 2: 8 responses, 6. */
  cxp_window_partial d2 = seg_partial(1, M_MS, T0, "gold", 1, 0);
  d2.first_offset = d2.last_offset = 12;
  CHECK_INT(cxp_merger_partial(m, &d2, 0, 104, NULL), 0);
  CHECK_INT(ms.n, 3);
  CHECK_INT(ms.p[2].revision, 2);
  CHECK_INT(ms.p[2].agg.csat_n, 8);
  CHECK_INT(ms.p[2].agg.csat_sat, 6);
  /* A late response in a group the window had no record of (silver):
   * that group's first record goes out now, revision 0. */
  cxp_window_partial sv = seg_partial(1, M_MS, T0, "silver", 1, 1);
  sv.first_offset = sv.last_offset = 13;
  CHECK_INT(cxp_merger_partial(m, &sv, 0, 105, NULL), 0);
  CHECK_INT(ms.n, 4);
  CHECK_STR(ms.p[3].value[0], "silver");
  CHECK_INT(ms.p[3].revision, 0);
  CHECK_INT(cxp_merger_stats(m).kept, 2);
  CHECK_INT(cxp_merger_stats(m).revisions, 2);
  /* The kept records hold the commit back to their first partial. */
  CHECK_INT(cxp_merger_hold(m), 100);
  /* The merged watermark reaches 07:10:59.999: still within 07:01 + 10 m. */
  CHECK_INT(cxp_merger_marker(m, 0, T0 + 11 * M_MS - 1, NULL), 0);
  CHECK_INT(cxp_merger_marker(m, 1, T0 + 11 * M_MS - 1, NULL), 0);
  CHECK_INT(cxp_merger_stats(m).kept, 2);
  /* 07:11: past the horizon, the records go; a late partial is now late. */
  CHECK_INT(cxp_merger_marker(m, 0, T0 + 11 * M_MS, NULL), 0);
  CHECK_INT(cxp_merger_marker(m, 1, T0 + 11 * M_MS, NULL), 0);
  CHECK_INT(cxp_merger_stats(m).kept, 0);
  CHECK_INT(cxp_merger_hold(m), -1);
  cxp_window_partial d3 = seg_partial(0, M_MS, T0, "gold", 1, 1);
  d3.first_offset = d3.last_offset = 20;
  CHECK_INT(cxp_merger_partial(m, &d3, 0, 106, NULL), -1);
  CHECK_INT(cxp_merger_stats(m).late, 1);
  CHECK_INT(ms.n, 4);
  cxp_merger_destroy(m);

  /* At most 2 records kept: three windows emitted together keep the two
   * latest; a revision of the earliest is late. */
  memset(&ms, 0, sizeof ms);
  m = cxp_merger_create(1, 0, on_final, &ms);
  cxp_merger_revisions(m, &c, 2);
  for (int i = 0; i < 3; i++) {
    cxp_window_partial p = seg_partial(0, M_MS, T0 + i * M_MS, "gold", 1, 1);
    p.first_offset = p.last_offset = i;
    CHECK_INT(cxp_merger_partial(m, &p, 0, i, NULL), 0);
  }
  CHECK_INT(cxp_merger_marker(m, 0, T0 + 3 * M_MS, NULL), 3);
  cxp_merge_stats st = cxp_merger_stats(m);
  CHECK_INT(st.kept, 2);
  CHECK_INT(st.forgotten_early, 1);
  cxp_window_partial e0 = seg_partial(0, M_MS, T0, "gold", 1, 1);
  e0.first_offset = e0.last_offset = 50;
  CHECK_INT(cxp_merger_partial(m, &e0, 0, 10, NULL), -1);
  cxp_window_partial e2 = seg_partial(0, M_MS, T0 + 2 * M_MS, "gold", 1, 1);
  e2.first_offset = e2.last_offset = 51;
  CHECK_INT(cxp_merger_partial(m, &e2, 0, 11, NULL), 0);
  CHECK_INT(ms.n, 4);
  CHECK_INT(ms.p[3].revision, 1);
  CHECK_INT(ms.p[3].agg.csat_n, 2);
  cxp_merger_destroy(m);

  /* Without revisions (horizon 0), as before: late. */
  memset(&ms, 0, sizeof ms);
  c.revision_ms[0] = 0;
  m = cxp_merger_create(1, 0, on_final, &ms);
  cxp_merger_revisions(m, &c, 0);
  cxp_window_partial f = seg_partial(0, M_MS, T0, "gold", 1, 1);
  CHECK_INT(cxp_merger_partial(m, &f, 0, 1, NULL), 0);
  CHECK_INT(cxp_merger_marker(m, 0, T0 + M_MS, NULL), 1);
  CHECK_INT(cxp_merger_stats(m).kept, 0);
  CHECK_INT(cxp_merger_partial(m, &f, 0, 2, NULL), -1);
  cxp_merger_destroy(m);
}

/* Out-of-order input, as survey tools deliver it: each event counts in
 * every window of its own still open, whatever its shorter windows did. */
static void test_core_out_of_order(void) {
  static outs o;
  memset(&o, 0, sizeof o);
  cxp_pipeline pl;
  windows_pipeline(&pl, NULL, "[\"segment\"]");
  pl.rec_enabled = pl.churn_enabled = 0;
  pl.win_min_n = 3;
  char err[256];
  CHECK_INT(cxp_pipeline_windows(&pl, err, sizeof err), 0); /* 1 m and 1 h, lateness 5 m */
  cxp_core core;
  cxp_core_init(&core, &pl, collect, &o);
  cxp_core_merge_local(&core, 1);
  /* The issue's check: CSAT 5 at 10:30, CSAT 5 at 10:10 (its minute closed
   * when 10:30 moved the watermark to 10:25), CSAT 1 at 10:31. */
  CHECK_INT(feed_core(&core, 1, CSAT_AT("a1", "g1", "2026-11-23T10:30:00Z", 5,
                                        ",\"segment\":\"gold\"")), CXP_OK);
  CHECK_INT(feed_core(&core, 2, CSAT_AT("a2", "g2", "2026-11-23T10:10:00Z", 5,
                                        ",\"segment\":\"gold\"")), CXP_OK);
  CHECK_INT(feed_core(&core, 3, CSAT_AT("a3", "g3", "2026-11-23T10:31:00Z", 1,
                                        ",\"segment\":\"gold\"")), CXP_OK);
  /* NPS answers stamped 10:01..10:40 arriving after all that, a batch:
   * 10:01 9, 10:15 10, 10:20 3, 10:40 8 (bronze, a small segment); and a
   * SERVQUAL answer at 10:05 for gold (reliability 5 expected, 3 perceived:
   * gap -2; empathy 4 and 5: +1). */
  const char *nps[][3] = {{"n1", "10:01:00", "9"}, {"n2", "10:15:00", "10"},
                          {"n3", "10:20:00", "3"}, {"n4", "10:40:00", "8"}};
  char buf[512];
  for (int i = 0; i < 4; i++) {
    snprintf(buf, sizeof buf, "{\"event_id\":\"%s\",\"type\":\"survey.nps\",\"customer_id\":"
             "\"b%d\",\"ts\":\"2026-11-23T%sZ\",\"score\":%s,\"segment\":\"bronze\"}",
             nps[i][0], i, nps[i][1], nps[i][2]);
    CHECK_INT(feed_core(&core, 4 + i, buf), CXP_OK);
  }
  CHECK_INT(feed_core(&core, 8,
                      "{\"event_id\":\"q1\",\"type\":\"survey.servqual\",\"customer_id\":\"g4\","
                      "\"ts\":\"2026-11-23T10:05:00Z\",\"segment\":\"gold\",\"dimensions\":{"
                      "\"reliability\":{\"expected\":5,\"perceived\":3},"
                      "\"empathy\":{\"expected\":4,\"perceived\":5}}}"),
            CXP_OK);
  /* A profile an hour behind the newest event: it feeds no window measure
   * that would be wrong without it, so whatever its windows did, it is not
   * late. */
  CHECK_INT(feed_core(&core, 9,
                      "{\"event_id\":\"p1\",\"type\":\"profile\",\"customer_id\":\"g1\","
                      "\"ts\":\"2026-11-23T09:40:00Z\",\"segment\":\"gold\"}"),
            CXP_OK);
  CHECK_INT(core.n.dead[CXP_BAD_LATE], 0);
  /* Hours later: every window closes. */
  o.n = 0;
  CHECK_INT(feed_core(&core, 10, CSAT_AT("z", "g9", "2026-11-23T14:00:00Z", 5,
                                         ",\"segment\":\"gold\"")), CXP_OK);
  const char *gold = record_of(&o, "{\"segment\":\"gold\"}", "\"window_start\":\"2026-11-23T10:00:00.000Z\",\"window_end\":\"2026-11-23T11:00:00.000Z\"");
  CHECK(gold != NULL);
  if (gold) {
    /* 3 CSAT, 2 satisfied: 66.6667 (the issue's hand count); 1 SERVQUAL:
     * reliability -2, empathy +1; 4 events; every measure under min_n 3 but
     * csat is low. */
    CHECK_CONTAINS(gold, "\"n\":{\"csat\":3,\"nps\":0,\"ces\":0,\"servqual\":1,\"events\":4}");
    CHECK_CONTAINS(gold, "\"csat\":66.6667,");
    CHECK_CONTAINS(gold, "\"servqual_gap\":{\"tangibles\":null,\"reliability\":-2,"
                         "\"responsiveness\":null,\"assurance\":null,\"empathy\":1}");
    CHECK_CONTAINS(gold, "\"low_n\":[\"servqual\"]");
    CHECK_CONTAINS(gold, "\"revision\":0,");
  }
  const char *bronze = record_of(&o, "{\"segment\":\"bronze\"}", "\"window_start\":\"2026-11-23T10:00:00.000Z\",\"window_end\":\"2026-11-23T11:00:00.000Z\"");
  CHECK(bronze != NULL);
  if (bronze) {
    /* 4 NPS: promoters 9, 10; passive 8; detractor 3: (2 - 1) / 4 = 25. */
    CHECK_CONTAINS(bronze, "\"n\":{\"csat\":0,\"nps\":4,\"ces\":0,\"servqual\":0,\"events\":4}");
    CHECK_CONTAINS(bronze, "\"nps\":25,");
    CHECK_CONTAINS(bronze, "\"low_n\":[]");
  }
  cxp_core_close(&core);
}

/* The records of the repartition topic, counted by hand: one input
 * partition of two, four repartition partitions, 1-minute windows by
 * segment, no lateness. A record goes to the repartition partition that
 * merges a window whose end the watermark passed, with the partials it
 * owns, or to every one on the first watermark or a jump past more windows
 * than there are repartition partitions. */
static int records_to(const outs *o, int from, int32_t r, int *items) {
  int n = 0;
  *items = 0;
  char key[16];
  snprintf(key, sizeof key, "%d", (int)r);
  for (int i = from; i < o->n; i++) {
    cxp_wire_rd rd;
    cxp_window_partial p;
    if (o->stream[i] != CXP_STREAM_PARTIALS || strcmp(o->key[i], key) != 0) continue;
    CHECK_INT(cxp_wire_open(&rd, o->val[i], o->len[i], NULL, 0), 0);
    CHECK_INT(rd.input, 0);
    while (cxp_wire_next(&rd, &p, NULL, 0) == 1) (*items)++;
    n++;
  }
  return n;
}

static void test_core_wire(void) {
  static outs o;
  memset(&o, 0, sizeof o);
  cxp_pipeline pl;
  windows_pipeline(&pl, "[\"1m\"]", "[\"segment\"]");
  pl.rec_enabled = pl.churn_enabled = 0;
  pl.win_lateness_s = 0;
  char err[256];
  CHECK_INT(cxp_pipeline_windows(&pl, err, sizeof err), 0);
  cxp_core core;
  cxp_core_init(&core, &pl, collect, &o);
  cxp_core_set_inputs(&core, 2, 4);
  /* Which repartition partition merges each minute (a hash: worked out
   * here, the counts below follow from them). */
  int32_t d0 = cxp_wire_dest(M_MS, T0, 4), d1 = cxp_wire_dest(M_MS, T0 + M_MS, 4),
          d2 = cxp_wire_dest(M_MS, T0 + 2 * M_MS, 4), d3 = cxp_wire_dest(M_MS, T0 + 3 * M_MS, 4);
  int items;
#define FEED(off, id, ts, seg) \
  feed_core_part(&core, 0, off, CSAT_AT(id, "c" id, ts, 5, ",\"segment\":\"" seg "\""))
  /* A: the first watermark (07:00:10): every repartition partition hears
   * of it, four records without partials. */
  CHECK_INT(FEED(0, "a", "2026-11-23T07:00:10Z", "gold"), CXP_OK);
  CHECK_INT(o.n, 4);
  for (int32_t r = 0; r < 4; r++) {
    CHECK_INT(records_to(&o, 0, r, &items), 1);
    CHECK_INT(items, 0);
  }
  /* B, 07:00:30: no window end passed, no record. */
  o.n = 0;
  CHECK_INT(FEED(1, "b", "2026-11-23T07:00:30Z", "silver"), CXP_OK);
  CHECK_INT(o.n, 0);
  /* C, 07:01:05: 07:00 closes, gold (A) and silver (B): one record to its
   * merger with both. */
  CHECK_INT(FEED(2, "c", "2026-11-23T07:01:05Z", "gold"), CXP_OK);
  CHECK_INT(o.n, 1);
  CHECK_INT(records_to(&o, 0, d0, &items), 1);
  CHECK_INT(items, 2);
  /* D, 07:03:30: 07:01 (gold C) and 07:02 (nothing) close: a record to the
   * merger of each, one if the two are the same. */
  o.n = 0;
  CHECK_INT(FEED(3, "d", "2026-11-23T07:03:30Z", "gold"), CXP_OK);
  CHECK_INT(o.n, d1 == d2 ? 1 : 2);
  CHECK_INT(records_to(&o, 0, d1, &items), 1);
  CHECK_INT(items, 1);
  /* E, late for 07:00 (within its hour of revisions): one record, now,
   * to 07:00's merger, with the revision partial. */
  o.n = 0;
  CHECK_INT(FEED(4, "e", "2026-11-23T07:00:20Z", "gold"), CXP_OK);
  CHECK_INT(o.n, 1);
  CHECK_INT(records_to(&o, 0, d0, &items), 1);
  CHECK_INT(items, 1);
  /* F, 09:00: 117 minute ends passed, more than 4: every repartition
   * partition hears of it; 07:03's partial (gold D) goes to its merger. */
  o.n = 0;
  CHECK_INT(FEED(5, "f", "2026-11-23T09:00:00Z", "gold"), CXP_OK);
  CHECK_INT(o.n, 4);
  int total = 0;
  for (int32_t r = 0; r < 4; r++) {
    CHECK_INT(records_to(&o, 0, r, &items), 1);
    total += items;
    if (r == d3) CHECK_INT(items, 1);
  }
  CHECK_INT(total, 1);
  /* Six events: 4 + 0 + 1 + (1 or 2) + 1 + 4 records. */
#undef FEED
  cxp_core_close(&core);
}

/* A commit carries every input partition's watermark as the merger knew
 * it; the next merger, given them, emits the same records again from the
 * messages after the commit, though a partition told its watermark only
 * before it. */
static void test_merger_watermarks(void) {
  static msink ms;
  memset(&ms, 0, sizeof ms);
  cxp_merger *m = cxp_merger_create(2, 0, on_final, &ms);
  /* Offset 1: input 1's watermark 07:01 (it had nothing in 07:00); 2:
   * input 0's partial of 07:00 gold; 3: input 0's watermark 07:01: out. */
  cxp_merger_at(m, 1);
  CHECK_INT(cxp_merger_marker(m, 1, T0 + M_MS, NULL), 0);
  cxp_window_partial a = seg_partial(0, M_MS, T0, "gold", 3, 2);
  a.first_offset = 0, a.last_offset = 2;
  cxp_merger_at(m, 2);
  CHECK_INT(cxp_merger_partial(m, &a, 0, 2, NULL), 0);
  cxp_merger_at(m, 3);
  CHECK_INT(cxp_merger_marker(m, 0, T0 + M_MS, NULL), 1);
  CHECK_INT(ms.n, 1);
  /* A commit at 2 (the window's first partial): the watermarks after
   * offset 1: input 0 none yet, input 1 07:01. */
  int64_t wm[2];
  CHECK_INT(cxp_merger_watermarks_at(m, 2, wm), 2);
  CHECK_INT(wm[0], INT64_MIN);
  CHECK_INT(wm[1], T0 + M_MS);
  /* Asked again further on: both 07:01, and what is older is forgotten. */
  int64_t wm2[2];
  CHECK_INT(cxp_merger_watermarks_at(m, 4, wm2), 2);
  CHECK_INT(wm2[0], T0 + M_MS);
  CHECK_INT(wm2[1], T0 + M_MS);
  cxp_merger_destroy(m);
  /* The next merger from offset 2, with the commit's watermarks: the same
   * record, complete, at offset 3. */
  msink again;
  memset(&again, 0, sizeof again);
  m = cxp_merger_create(2, 0, on_final, &again);
  cxp_merger_set_watermarks(m, wm, 2);
  CHECK_INT(cxp_merger_watermark(m), INT64_MIN);
  cxp_merger_at(m, 2);
  CHECK_INT(cxp_merger_partial(m, &a, 0, 2, NULL), 0);
  cxp_merger_at(m, 3);
  CHECK_INT(cxp_merger_marker(m, 0, T0 + M_MS, NULL), 1);
  CHECK_INT(again.n, 1);
  CHECK_INT(again.n_missing[0], 0);
  CHECK_INT(again.p[0].agg.csat_n, 3);
  CHECK_MEM(&again.p[0].agg, sizeof again.p[0].agg, &ms.p[0].agg, sizeof ms.p[0].agg);
  cxp_merger_destroy(m);
  /* Without them (the floor alone knows nothing here) it waits for input
   * 1, which had said its word before the commit. */
  memset(&again, 0, sizeof again);
  m = cxp_merger_create(2, 0, on_final, &again);
  CHECK_INT(cxp_merger_partial(m, &a, 0, 2, NULL), 0);
  CHECK_INT(cxp_merger_marker(m, 0, T0 + M_MS, NULL), 0);
  CHECK_INT(again.n, 0);
  cxp_merger_destroy(m);
}

/* The lookup's compare of group values (swar.h, cxp_same_bytes): equal bytes
 * are equal at every length up to a value's longest, and one byte changed
 * anywhere is told apart, in each of its word-wise paths (under 4 bytes,
 * 4 to 7, 8, and longer with a tail that overlaps). Hash collisions are
 * what it guards against, so a test through the windows would not reach
 * it. */
static void test_same_bytes(void) {
  char a[130], b[130];
  for (int i = 0; i < 130; i++) a[i] = (char)('a' + i % 26);
  int wrong = 0;
  for (size_t n = 0; n <= 128; n++) {
    memcpy(b, a, sizeof b);
    if (!cxp_same_bytes(a, b, n)) wrong++;
    for (size_t i = 0; i < n; i++) {
      b[i] ^= 0x20;
      if (cxp_same_bytes(a, b, n)) wrong++;
      b[i] ^= 0x20;
    }
    b[n] ^= 0x20; /* past the value: not read */
    if (!cxp_same_bytes(a, b, n)) wrong++;
  }
  CHECK_INT(wrong, 0);
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--records") == 0) {
    records = fopen(argv[2], "w");
    if (records == NULL) {
      perror(argv[2]);
      return 2;
    }
  }
  test_same_bytes();
  test_conf();
  test_measures();
  test_nulls();
  test_boundaries();
  test_late();
  test_tick();
  test_merge();
  test_partial_roundtrip();
  test_agg_binary();
  test_group_values();
  test_memory_bound();
  test_length_links();
  test_ctx_bounds();
  test_consistency();
  test_outcomes();
  test_merger();
  test_merger_exact();
  test_merger_duplicates();
  test_merger_floor();
  test_merger_revisions();
  test_merger_watermarks();
  test_core_windows();
  test_core_out_of_order();
  test_core_wire();
  test_window_record();
  test_window_restore_bounds();
  test_core_windows_durable();
  test_core_group_alerts();
  test_core_post_recovery();
  if (!records) test_volume();
  if (records) fclose(records);
  return TEST_REPORT();
}
