/* Unit tests of the pipeline's settings (daemon/core/pipeline.c,
 * settings.c): the documented defaults, list settings as sets, the premium
 * lift, and what a reload takes live. Reading pipeline files is the shell's
 * (tests/shell/test_config.c). */
#include "helpers.h"

#include <stdio.h>
#include <string.h>

#include "alert.h"
#include "jsonw.h"
#include "pipeline.h"
#include "settings.h"

/* The defaults, premium segments, list settings as sets, the premium lift. */
static void test_defaults(void) {
  cxp_pipeline p;
  cxp_pipeline_defaults(&p);
  /* The documented defaults (pipelines/default.json, docs/domain.md). */
  CHECK_STR(p.name, "default");
  CHECK_STR(p.topic_input, "cx.events");
  CHECK_STR(p.topic_alerts, "cx.alerts");
  CHECK_STR(p.topic_indicators, "cx.indicators");
  CHECK_STR(p.topic_dead_letters, "cx.dead_letters");
  CHECK_NEAR(p.half_life_days, 30, 0);
  CHECK_INT(p.max_event_bytes, 65536);
  CHECK_INT(p.max_future_s, 86400);
  CHECK_NEAR(p.cooldown_h, 24, 0);
  CHECK_INT(p.closed_loop_enabled, 1);
  CHECK_NEAR(p.closed_loop_deadline_h, 48, 0);
  CHECK_STR(p.closed_loop_actions,
            "[\"contact_customer\",\"ask_what_went_wrong\",\"log_root_cause\"]");
  CHECK_STR(p.closed_loop_role, "frontline_agent");
  CHECK_STR(p.premium_segments, "[\"gold\",\"platinum\",\"premium\"]");
  CHECK_STR(p.topic_internal_codec, "lz4");
  /* Derived: 30 * 86400000 = 2592000000; 24 * 3600000 = 86400000;
   * 48 * 3600000 = 172800000. */
  CHECK_NEAR(p.half_life_ms, 2592000000.0, 0);
  CHECK_INT(p.cooldown_ms, 86400000LL);
  CHECK_INT(p.closed_loop_deadline_ms, 172800000LL);
  CHECK(cxp_pipeline_is_premium(&p, "gold", 4));
  CHECK(cxp_pipeline_is_premium(&p, "premium", 7));
  CHECK(!cxp_pipeline_is_premium(&p, "gol", 3));
  CHECK(!cxp_pipeline_is_premium(&p, "goldx", 5));
  CHECK(!cxp_pipeline_is_premium(&p, "", 0));
  CHECK(!cxp_pipeline_is_premium(&p, "silver", 6));
  /* List settings are parsed into sets at load. */
  cxp_strset set;
  CHECK_INT(cxp_strset_parse(&set, "[\"gold\",\"\",\"vip gold\"]"), 0);
  CHECK_INT(set.n, 3);
  CHECK(cxp_strset_has(&set, "vip gold", 8));
  CHECK(cxp_strset_has(&set, "gold", 4));
  CHECK(!cxp_strset_has(&set, "vip", 3));
  CHECK(!cxp_strset_has(&set, "", 0)); /* an empty entry matches nothing */
  CHECK_INT(cxp_strset_parse(&set, "[]"), 0);
  CHECK_INT(set.n, 0);
  CHECK_INT(cxp_strset_parse(&set, "[\"a\",2]"), -1);
  CHECK_INT(set.n, 0);
  CHECK_INT(cxp_strset_parse(&set, "{\"a\":1}"), -1);
  CHECK_INT(cxp_strset_parse(&set, "not json"), -1);
  {
    char many[CXP_LIST_MAX];
    size_t n = 0;
    many[n++] = '[';
    for (int i = 0; i <= CXP_SET_MAX; i++) n += (size_t)snprintf(many + n, sizeof many - n, "%s\"%d\"", i ? "," : "", i);
    snprintf(many + n, sizeof many - n, "]");
    CHECK_INT(cxp_strset_parse(&set, many), -1); /* 65 entries: one too many */
  }
  CHECK_INT(cxp_alert_lift(1, 1), 1);
  CHECK_INT(cxp_alert_lift(3, 1), 2);
  CHECK_INT(cxp_alert_lift(3, 0), 3);
}

/* A reload takes what can change live and keeps what cannot. */
static void test_pipeline_reload(void) {
  cxp_pipeline live, next;
  cxp_pipeline_defaults(&live);
  cxp_pipeline_defaults(&next);
  next.cooldown_h = 12;
  snprintf(next.topic_input, sizeof next.topic_input, "x.events");
  next.win_min_n = 10;
  snprintf(next.win_lengths, sizeof next.win_lengths, "[\"5m\"]");
  next.rec_ack_min[0] = 30;
  snprintf(next.rec_solutions, sizeof next.rec_solutions,
           "[{\"actions\":[\"call\"],\"role\":\"agent\"}]");
  char err[256];
  CHECK_INT(cxp_pipeline_windows(&next, err, sizeof err), 0);
  CHECK_INT(cxp_pipeline_cases(&next, err, sizeof err), 0);
  cxp_pipeline_derive(&next);
  cxp_buf changed, kept;
  cxp_buf_init(&changed);
  cxp_buf_init(&kept);
  /* Changed, in table order: alerts.cooldown_h, windows.min_n,
   * recovery.sla.sev1.acknowledge_min, then the library; kept: the input
   * topic and the window lengths. */
  CHECK_INT(cxp_pipeline_reload(&live, &next, &changed, &kept), 4);
  CHECK_LIT(changed.p, changed.len,
            "alerts.cooldown_h, windows.min_n, recovery.sla.sev1.acknowledge_min, "
            "recovery.solutions");
  CHECK_LIT(kept.p, kept.len, "topics.input, windows.lengths");
  CHECK_INT(live.cooldown_ms, 12LL * 3600000);
  CHECK_STR(live.topic_input, "cx.events");
  CHECK_INT(live.windows.min_n, 10);
  CHECK_INT(live.windows.n_lengths, 2);
  CHECK_INT(live.windows.length_ms[0], 60000);
  CHECK_INT(live.cases.ack_ms[0], 30 * 60000);
  cxp_buf_free(&changed);
  cxp_buf_free(&kept);
}

int main(void) {
  test_defaults();
  test_pipeline_reload();
  return TEST_REPORT();
}
