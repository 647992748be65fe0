#include "pipeline.h"

#include "churn.h"
#include "learn.h"
#include "customer.h"
#include "jsonw.h"
#include "ahp.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#define OFF(f) offsetof(cxp_pipeline, f)

_Static_assert(CXP_PIPELINE_CHURN_FACTORS == CXP_CF__COUNT,
               "pipeline.h keeps one churn coefficient per factor of churn.h");

/* librdkafka's compression.codec values. */
static const char *const codecs[] = {"none", "gzip", "snappy", "lz4", "zstd", NULL};

const cxp_setting cxp_pipeline_table[] = {
    {"name", CXP_T_STRING, "\"default\"", 1, 64, OFF(name),
     "Pipeline name: part of every alert id and output record.", NULL},
    {"topics.input", CXP_T_STRING, "\"cx.events\"", 1, 249, OFF(topic_input),
     "Topic the customer-interaction events are read from.", NULL},
    {"topics.alerts", CXP_T_STRING, "\"cx.alerts\"", 1, 249, OFF(topic_alerts),
     "Topic alerts are written to, keyed by customer_id.", NULL},
    {"topics.indicators", CXP_T_STRING, "\"cx.indicators\"", 1, 249, OFF(topic_indicators),
     "Topic indicator records are written to.", NULL},
    {"topics.dead_letters", CXP_T_STRING, "\"cx.dead_letters\"", 1, 249,
     OFF(topic_dead_letters), "Topic every unusable event is written to, with the reason.", NULL},
    {"topics.repartition", CXP_T_STRING, "\"cx.indicators.partials\"", 1, 249,
     OFF(topic_repartition),
     "Internal topic the partial window aggregates of every input partition are merged "
     "through; create it with as many partitions as the input topic.", NULL},
    {"topics.changelog", CXP_T_STRING, "\"cx.state.changelog\"", 1, 249, OFF(topic_changelog),
     "Internal compacted topic the per-customer state is written to and restored from; "
     "create it with as many partitions as the input topic and cleanup.policy=compact.", NULL},
    {"topics.model", CXP_T_STRING, "\"cx.churn.model\"", 0, 249, OFF(topic_model),
     "Internal compacted topic the instances share their churn learners through (one "
     "record per input partition, read from its first partition by every instance); create "
     "it with one partition and cleanup.policy=compact. \"\": each instance scores with "
     "the learners of the partitions it holds.", NULL},
    {"topics.cases", CXP_T_STRING, "\"cx.cases\"", 0, 249, OFF(topic_cases),
     "Compacted topic each recovery case's state changes are written to (opened, a step "
     "done, escalated, closed), keyed by case_id: what the admin endpoint's /v1/cases "
     "shows (docs/console.md); create it with cleanup.policy=compact. \"\": not written.",
     NULL},
    {"topics.internal_compression", CXP_T_STRING, "\"lz4\"", 1, 16,
     OFF(topic_internal_codec),
     "Compression of the producer's batches to the internal topics (topics.changelog and "
     "topics.repartition). Fewer bytes cross to the broker, are kept and are read back on a "
     "restore, for the CPU of compressing them. The output topics follow the producer's "
     "compression.codec.",
     codecs},
    {"state.durable", CXP_T_BOOL, "true", 0, 1, OFF(state_durable),
     "Write per-customer state to topics.changelog and restore it when a partition is "
     "assigned, so restarts and rebalances keep the rolling history.", NULL},
    {"state.flush_interval_ms", CXP_T_INT, "1000", 10, 600000, OFF(state_flush_ms),
     "Coalescing interval: a customer changed many times within it is written to the "
     "changelog once. Input offsets are committed only up to the last written interval.", NULL},
    {"state.catchup_flush_ms", CXP_T_INT, "30000", 0, 600000, OFF(state_catchup_flush_ms),
     "While a partition is more than state.catchup_lag messages behind its input (catching "
     "up on a backlog), its changes are written at most this often instead of every "
     "flush_interval_ms: a customer touched many times in a backlog is written once. Its "
     "offsets are committed no further meanwhile, so a crash reads up to this much input "
     "again. 0: never stretch.", NULL},
    {"state.catchup_lag", CXP_T_INT, "1000", 0, 1000000000, OFF(state_catchup_lag),
     "Messages a partition must be behind its input for its changelog writes to stretch to "
     "state.catchup_flush_ms; the stretch lasts one flush interval more once it is back "
     "under this mark.", NULL},
    {"state.idle_ttl_days", CXP_T_DOUBLE, "365", 0, 36500, OFF(state_ttl_days),
     "A customer with no event for this long (event time) is forgotten: removed from memory "
     "and tombstoned in the changelog. 0 keeps every customer.", NULL},
    {"state.max_customers", CXP_T_INT, "0", 0, 1000000000, OFF(state_max_customers),
     "Customers held in memory by one instance, at most (0: no bound). Past it the least "
     "recently active of a few sampled leave memory (their state stays in the changelog; "
     "one who comes back starts afresh): size it above the active population.", NULL},
    {"decay.half_life_days", CXP_T_DOUBLE, "30", 0.001, 3650, OFF(half_life_days),
     "Half-life of the per-customer decayed aggregates (CSAT, NPS), in days.", NULL},
    {"decay.short_half_life_days", CXP_T_DOUBLE, "14", 0.001, 3650, OFF(short_half_life_days),
     "Short half-life of frequency and monetary (recent behaviour, churn's activity and "
     "monetary drop), in days.", NULL},
    {"decay.long_half_life_days", CXP_T_DOUBLE, "90", 0.001, 3650, OFF(long_half_life_days),
     "Long half-life: frequency and monetary baseline and the satisfaction-index baseline.", NULL},
    {"limits.max_event_bytes", CXP_T_INT, "65536", 256, 1000000, OFF(max_event_bytes),
     "Largest event accepted; a larger one is dead-lettered as too_large.", NULL},
    {"limits.max_future_s", CXP_T_INT, "86400", 0, 31536000, OFF(max_future_s),
     "How far past its arrival an event's ts may lie before it is a bad_timestamp.", NULL},
    {"alerts.cooldown_h", CXP_T_DOUBLE, "24", 0, 8760, OFF(cooldown_h),
     "Least event time between two alerts of one type for one customer, in hours.", NULL},
    {"alerts.premium_segments", CXP_T_LIST, "[\"gold\",\"platinum\",\"premium\"]", 0, 32,
     OFF(premium_segments), "Segments whose alerts are raised one priority level.", NULL},
    {"alerts.value_at_risk.lift", CXP_T_DOUBLE, "10000", 0, 1e12, OFF(var_lift),
     "A customer's value at risk (churn probability x value: his profile clv, else his "
     "spend projected over churn.value.horizon_days) from which his alerts are raised one "
     "priority level (as a premium segment's; the two lifts do not add). 0: off.", NULL},
    {"alerts.value_at_risk.lift2", CXP_T_DOUBLE, "100000", 0, 1e12, OFF(var_lift2),
     "Value at risk from which his alerts are raised one more level (two in all). 0: off.",
     NULL},
    {"alerts.closed_loop.enabled", CXP_T_BOOL, "true", 0, 1, OFF(closed_loop_enabled),
     "Raise recovery.closed_loop when a customer answers NPS as a detractor (0-6).", NULL},
    {"alerts.closed_loop.deadline_h", CXP_T_DOUBLE, "48", 0.1, 720,
     OFF(closed_loop_deadline_h),
     "Time allowed to contact a detractor, in hours: with recovery.detractor_cases, the "
     "acknowledge deadline of his case (x the factor of the segment's deadlines).", NULL},
    {"alerts.closed_loop.actions", CXP_T_LIST,
     "[\"contact_customer\",\"ask_what_went_wrong\",\"log_root_cause\"]", 1, 16,
     OFF(closed_loop_actions), "Recommended actions carried by the closed-loop alert.", NULL},
    {"alerts.closed_loop.role", CXP_T_STRING, "\"frontline_agent\"", 1, 64,
     OFF(closed_loop_role), "Role authorised to act on a closed-loop alert.", NULL},
    {"alerts.satisfaction_drop.enabled", CXP_T_BOOL, "true", 0, 1, OFF(drop_enabled),
     "Raise satisfaction.drop when a customer's satisfaction index falls.", NULL},
    {"alerts.satisfaction_drop.points", CXP_T_DOUBLE, "15", 1, 100, OFF(drop_points),
     "Points under the customer's own long-horizon baseline that count as a drop.", NULL},
    {"alerts.satisfaction_drop.floor", CXP_T_DOUBLE, "40", 0, 100, OFF(drop_floor),
     "A satisfaction index under this is a drop whatever the baseline.", NULL},
    {"alerts.satisfaction_drop.min_responses", CXP_T_INT, "3", 1, 1000,
     OFF(drop_min_responses), "Survey responses a customer needs before a drop is judged.", NULL},
    {"alerts.satisfaction_drop.actions", CXP_T_LIST,
     "[\"review_recent_interactions\",\"proactive_outreach\"]", 1, 16, OFF(drop_actions),
     "Recommended actions carried by the satisfaction.drop alert.", NULL},
    {"alerts.servqual_gap.enabled", CXP_T_BOOL, "true", 0, 1, OFF(sq_enabled),
     "Raise servqual.gap when a dimension's decayed gap falls under the threshold.", NULL},
    {"alerts.servqual_gap.threshold", CXP_T_DOUBLE, "-1.5", -6, 0, OFF(sq_threshold),
     "Gap (perceived - expected, -6..6) under which a dimension alerts.", NULL},
    {"alerts.servqual_gap.min_responses", CXP_T_INT, "2", 1, 1000, OFF(sq_min_responses),
     "Responses on the dimension a customer needs before its gap is judged.", NULL},
    {"alerts.segment_anomaly.enabled", CXP_T_BOOL, "true", 0, 1, OFF(anomaly_enabled),
     "Raise segment.anomaly when a window's CSAT or NPS falls under the group's trailing "
     "mean (complete windows with n >= windows.min_n only).", NULL},
    {"alerts.segment_anomaly.points", CXP_T_DOUBLE, "10", 1, 200, OFF(anomaly_points),
     "Points (CSAT 0..100, NPS -100..100) under the trailing mean that make an anomaly.", NULL},
    {"alerts.segment_anomaly.trailing", CXP_T_INT, "12", 1, 1000, OFF(anomaly_trailing),
     "Windows (of the same length and group) the trailing mean is taken over.", NULL},
    {"alerts.segment_anomaly.min_trailing", CXP_T_INT, "3", 1, 1000, OFF(anomaly_min_trailing),
     "Windows the trailing mean needs before a window is judged against it.", NULL},
    {"alerts.segment_anomaly.actions", CXP_T_LIST,
     "[\"investigate_segment\",\"review_recent_changes\"]", 1, 16, OFF(anomaly_actions),
     "Recommended actions carried by segment.anomaly for a score drop.", NULL},
    {"alerts.segment_anomaly.role", CXP_T_STRING, "\"cx_manager\"", 1, 64, OFF(anomaly_role),
     "Role the score-drop segment.anomaly goes to.", NULL},
    {"alerts.agent_flag.enabled", CXP_T_BOOL, "true", 0, 1, OFF(agent_flag_enabled),
     "Raise agent.flag when an agent's window CSAT lies more than 2 standard deviations "
     "under the team's (a windows.group_by entry \"agent_id\" is needed).", NULL},
    {"alerts.agent_flag.actions", CXP_T_LIST, "[\"review_agent_contacts\",\"coach_agent\"]",
     1, 16, OFF(agent_flag_actions), "Recommended actions carried by agent.flag.", NULL},
    {"alerts.agent_flag.role", CXP_T_STRING, "\"team_lead\"", 1, 64, OFF(agent_flag_role),
     "Role agent.flag goes to.", NULL},
    {"satisfaction_index.weights.csat", CXP_T_DOUBLE, "1", 0, 100, OFF(si_w_csat),
     "Weight of the CSAT share (0..100) in the satisfaction index.", NULL},
    {"satisfaction_index.weights.nps", CXP_T_DOUBLE, "1", 0, 100, OFF(si_w_nps),
     "Weight of the decayed NPS mean x 10 in the satisfaction index.", NULL},
    {"satisfaction_index.weights.ces", CXP_T_DOUBLE, "1", 0, 100, OFF(si_w_ces),
     "Weight of (CES - 1) / 6 x 100 in the satisfaction index.", NULL},
    {"satisfaction_index.weights.servqual", CXP_T_DOUBLE, "1", 0, 100, OFF(si_w_servqual),
     "Weight of 50 + SERVQUAL gap x 50/6 in the satisfaction index.", NULL},
    {"delivered_value.time_norm_s", CXP_T_DOUBLE, "1800", 1, 86400, OFF(value_time_norm_s),
     "Wait plus handle time of a contact that counts as the full time cost (1.0).", NULL},
    {"delivered_value.money_norm", CXP_T_DOUBLE, "1000", 0.01, 1e12, OFF(value_money_norm),
     "Net spend (decayed purchases less decayed compensation) whose money cost is 0.5: "
     "money cost = spend / (spend + money_norm).", NULL},
    {"servqual.strategies.tangibles", CXP_T_STRING, "\"improve_physical_environment\"", 1, 64,
     OFF(sq_strategy[0]), "Improvement strategy named by a tangibles gap alert.", NULL},
    {"servqual.strategies.reliability", CXP_T_STRING,
     "\"standardise_process_and_control_quality\"", 1, 64, OFF(sq_strategy[1]),
     "Improvement strategy named by a reliability gap alert.", NULL},
    {"servqual.strategies.responsiveness", CXP_T_STRING,
     "\"reallocate_resources_and_train\"", 1, 64, OFF(sq_strategy[2]),
     "Improvement strategy named by a responsiveness gap alert.", NULL},
    {"servqual.strategies.assurance", CXP_T_STRING, "\"empower_and_certify_staff\"", 1, 64,
     OFF(sq_strategy[3]), "Improvement strategy named by an assurance gap alert.", NULL},
    {"servqual.strategies.empathy", CXP_T_STRING, "\"personalise_and_train\"", 1, 64,
     OFF(sq_strategy[4]), "Improvement strategy named by an empathy gap alert.", NULL},
    {"kano.must_be", CXP_T_LIST, "[]", 0, 64, OFF(kano_must_be),
     "Attributes the pipeline classes as must-be: a complaint about one is at least "
     "major (severity 2), as is one marked kano: must_be.", NULL},
    {"churn.enabled", CXP_T_BOOL, "true", 0, 1, OFF(churn_enabled),
     "Score every customer's churn risk on each of his events; raise churn.risk when he "
     "enters a higher band.", NULL},
    {"churn.intercept", CXP_T_DOUBLE, "-3.3", -100, 100, OFF(churn_intercept),
     "The logistic model's intercept (eval-churn --fit prints a fitted model).", NULL},
    {"churn.coefficients.activity_drop", CXP_T_DOUBLE, "1.7", -100, 100, OFF(churn_coef[0]),
     "Coefficient of activity_drop: 1 - short-horizon activity rate / long-horizon rate (0..1).",
     NULL},
    {"churn.coefficients.recency", CXP_T_DOUBLE, "0.3", -100, 100, OFF(churn_coef[1]),
     "Coefficient of recency: log2(days since the last activity / the customer's usual gap) (0..4).",
     NULL},
    {"churn.coefficients.monetary_drop", CXP_T_DOUBLE, "1.4", -100, 100, OFF(churn_coef[2]),
     "Coefficient of monetary_drop: 1 - short-horizon spend rate / long-horizon rate (0..1).",
     NULL},
    {"churn.coefficients.complaints", CXP_T_DOUBLE, "0.1", -100, 100, OFF(churn_coef[3]),
     "Coefficient of complaints: decayed complaints (capped at 3).", NULL},
    {"churn.coefficients.open_cases", CXP_T_DOUBLE, "0", -100, 100, OFF(churn_coef[4]),
     "Coefficient of open_cases: open recovery cases (capped at 3).", NULL},
    {"churn.coefficients.overdue_cases", CXP_T_DOUBLE, "0.3", -100, 100, OFF(churn_coef[5]),
     "Coefficient of overdue_cases: open cases with a breached step (capped at 3).", NULL},
    {"churn.coefficients.detractor", CXP_T_DOUBLE, "0.7", -100, 100, OFF(churn_coef[6]),
     "Coefficient of detractor: 1 when his latest NPS answer was 0-6.", NULL},
    {"churn.coefficients.low_satisfaction", CXP_T_DOUBLE, "1.1", -100, 100, OFF(churn_coef[7]),
     "Coefficient of low_satisfaction: (50 - satisfaction index) / 50 when under 50.", NULL},
    {"churn.coefficients.high_effort", CXP_T_DOUBLE, "2.2", -100, 100, OFF(churn_coef[8]),
     "Coefficient of high_effort: (4.5 - CES) / 3, clipped to 0..1.", NULL},
    {"churn.coefficients.value_below_cost", CXP_T_DOUBLE, "0.7", -100, 100, OFF(churn_coef[9]),
     "Coefficient of value_below_cost: 1 - delivered value / cost when under 1.", NULL},
    {"churn.coefficients.participation", CXP_T_DOUBLE, "-0.1", -100, 100, OFF(churn_coef[10]),
     "Coefficient of participation: log2(1 + decayed feedback and referrals) (protective).", NULL},
    {"churn.bands.medium", CXP_T_DOUBLE, "0.3", 0.01, 0.98, OFF(churn_medium),
     "Probability from which a customer is in the medium band.", NULL},
    {"churn.bands.high", CXP_T_DOUBLE, "0.6", 0.02, 0.99, OFF(churn_high),
     "Probability from which a customer is in the high band.", NULL},
    {"churn.bands.hysteresis", CXP_T_DOUBLE, "0.05", 0, 0.2, OFF(churn_hysteresis),
     "How far past a boundary a score must fall to leave a band: a score wobbling around "
     "it raises one alert, not many.", NULL},
    {"churn.reasons", CXP_T_INT, "3", 1, 8, OFF(churn_reasons),
     "Contributing factors named in a churn.risk alert, largest first.", NULL},
    {"churn.silence_days", CXP_T_DOUBLE, "1", 0, 365, OFF(churn_silence_days),
     "A customer without an event for this long is re-scored as time passes (the daemon "
     "looks at every customer about once a minute) and raises churn.risk when his silence "
     "lifts him into a higher band; 0 turns it off. Needs a clock: replay does not.", NULL},
    {"churn.value.horizon_days", CXP_T_DOUBLE, "365", 1, 3650, OFF(churn_value_horizon_days),
     "Without a profile clv, a customer's value is his long-horizon spend rate over this.", NULL},
    {"churn.value.per_activity", CXP_T_DOUBLE, "0", 0, 1e6, OFF(churn_value_per_activity),
     "Worth of one usage, added to that value (0: spend only).", NULL},
    {"churn.learn", CXP_T_BOOL, "true", 0, 1, OFF(churn_learn),
     "Learn the model from the stream's own outcomes (docs/domain.md, churn): samples "
     "labelled by the cancellations that follow them; the learnt model scores once "
     "churn.learn_min_labels labels are in, the configured coefficients until then. "
     "false: the configured coefficients always.", NULL},
    {"churn.horizon_days", CXP_T_DOUBLE, "30", 1, 365, OFF(churn_horizon_days),
     "A sample is positive when its customer cancels within this many days of event time "
     "after it, negative once they pass without.", NULL},
    {"churn.downgrade_is_churn", CXP_T_BOOL, "false", 0, 1, OFF(churn_downgrade_is_churn),
     "Count a subscription.downgraded as an outcome too, as a cancellation is.", NULL},
    {"churn.learn_min_labels", CXP_T_INT, "1000", 10, 1000000000, OFF(churn_learn_min_labels),
     "Labels learnt (over every input partition, at least 5 of each kind) before the learnt "
     "model scores.", NULL},
    {"churn.learn_rate", CXP_T_DOUBLE, "0.05", 0.0001, 10, OFF(churn_learn_rate),
     "The learner's base step (AdaGrad: per coefficient, over the root of its summed "
     "squared gradients), on its online steps, which it takes until it holds all 8,192 "
     "samples of its refit.", NULL},
    {"churn.learn_l2", CXP_T_DOUBLE, "0.1", 0, 10, OFF(churn_learn_l2),
     "L2 pull of the learnt coefficients towards the configured ones, in standardised "
     "units: on every online step (a learner takes them until it holds all 8,192 samples "
     "of its refit), and in the periodic refit as if the configured model were worth 32 "
     "labels.", NULL},
    {"windows.enabled", CXP_T_BOOL, "true", 0, 1, OFF(win_enabled),
     "Compute segment indicators in tumbling event-time windows.", NULL},
    {"windows.lengths", CXP_T_LIST, "[\"1m\",\"1h\"]", 1, CXP_WIN_MAX_LENGTHS,
     OFF(win_lengths),
     "Window lengths: a whole number and a unit (ms, s, m, h, d), each up to 366 days.", NULL},
    {"windows.group_by", CXP_T_LIST, "[\"segment\",\"channel\"]", 1, CXP_WIN_MAX_GROUPINGS,
     OFF(win_group_by),
     "Groupings, one record per group: fields among segment, channel, agent_id and "
     "touchpoint joined by '+' (\"segment+channel\"), or \"all\" for every customer.", NULL},
    {"windows.lateness_s", CXP_T_DOUBLE, "300", 0, 86400, OFF(win_lateness_s),
     "Allowed lateness: a window closes when the partition's newest event time passes its "
     "end by this much. An event is folded into each of its windows still open; for one "
     "closed within its revision horizon it revises the window's record.", NULL},
    {"windows.revision_horizons", CXP_T_LIST, "[]", 0, CXP_WIN_MAX_LENGTHS,
     OFF(win_revision_horizons),
     "Per length (in the order of windows.lengths), how long after a window closes a late "
     "event still revises its record (\"0s\": never); [] or a shorter list: the longer of the "
     "window's length and 1h for the rest. An event every window of which is past its "
     "horizon is dead-lettered as late when it feeds a window measure.", NULL},
    {"windows.min_n", CXP_T_INT, "30", 1, 1000000, OFF(win_min_n),
     "Responses under which a measure is listed in low_n.", NULL},
    {"windows.max_open", CXP_T_INT, "8192", 1, 100000, OFF(win_max_open),
     "Open windows per input partition (groups x lengths): the memory bound. Past it the "
     "window due to close first closes early.", NULL},
    {"windows.max_revisable", CXP_T_INT, "4096", 0, 10000000, OFF(win_max_revisable),
     "Records a merger (one per repartition partition) keeps for revisions, about 1.4 KB "
     "each; past it the earliest windows' go before their horizon and a revision of them "
     "is late. 0: no bound.", NULL},
    {"windows.merge_timeout_s", CXP_T_DOUBLE, "60", 0, 86400, OFF(win_merge_timeout_s),
     "Wall time a window waits for every input partition's part before its record goes "
     "out marked incomplete; 0 waits for ever.", NULL},
    {"recovery.enabled", CXP_T_BOOL, "true", 0, 1, OFF(rec_enabled),
     "Open recovery cases on failures, complaints and detractor responses; raise "
     "recovery.required and recovery.sla_breached.", NULL},
    {"recovery.sla.sev1.acknowledge_min", CXP_T_DOUBLE, "15", 0.1, 525600, OFF(rec_ack_min[0]),
     "Time to acknowledge a severity-1 case, in minutes.", NULL},
    {"recovery.sla.sev1.resolve_h", CXP_T_DOUBLE, "4", 0.01, 8760, OFF(rec_resolve_h[0]),
     "Time to resolve a severity-1 case, in hours.", NULL},
    {"recovery.sla.sev1.apologize_h", CXP_T_DOUBLE, "0", 0, 8760, OFF(rec_apologize_h[0]),
     "Time to apologise to the customer of a severity-1 case, in hours from its opening; 0: no "
     "deadline (the reference gives none).", NULL},
    {"recovery.sla.sev1.compensate_h", CXP_T_DOUBLE, "0", 0, 8760, OFF(rec_compensate_h[0]),
     "Time to compensate the customer of a severity-1 case, in hours from its opening; 0: no "
     "deadline (the reference gives none).", NULL},
    {"recovery.sla.sev2.acknowledge_min", CXP_T_DOUBLE, "60", 0.1, 525600, OFF(rec_ack_min[1]),
     "Time to acknowledge a severity-2 case, in minutes.", NULL},
    {"recovery.sla.sev2.resolve_h", CXP_T_DOUBLE, "24", 0.01, 8760, OFF(rec_resolve_h[1]),
     "Time to resolve a severity-2 case, in hours.", NULL},
    {"recovery.sla.sev2.apologize_h", CXP_T_DOUBLE, "0", 0, 8760, OFF(rec_apologize_h[1]),
     "Time to apologise to the customer of a severity-2 case, in hours from its opening; 0: no "
     "deadline (the reference gives none).", NULL},
    {"recovery.sla.sev2.compensate_h", CXP_T_DOUBLE, "0", 0, 8760, OFF(rec_compensate_h[1]),
     "Time to compensate the customer of a severity-2 case, in hours from its opening; 0: no "
     "deadline (the reference gives none).", NULL},
    {"recovery.sla.sev3.acknowledge_min", CXP_T_DOUBLE, "240", 0.1, 525600, OFF(rec_ack_min[2]),
     "Time to acknowledge a severity-3 case, in minutes.", NULL},
    {"recovery.sla.sev3.resolve_h", CXP_T_DOUBLE, "72", 0.01, 8760, OFF(rec_resolve_h[2]),
     "Time to resolve a severity-3 case, in hours.", NULL},
    {"recovery.sla.sev3.apologize_h", CXP_T_DOUBLE, "0", 0, 8760, OFF(rec_apologize_h[2]),
     "Time to apologise to the customer of a severity-3 case, in hours from its opening; 0: no "
     "deadline (the reference gives none).", NULL},
    {"recovery.sla.sev3.compensate_h", CXP_T_DOUBLE, "0", 0, 8760, OFF(rec_compensate_h[2]),
     "Time to compensate the customer of a severity-3 case, in hours from its opening; 0: no "
     "deadline (the reference gives none).", NULL},
    {"recovery.sla.sev4.acknowledge_min", CXP_T_DOUBLE, "1440", 0.1, 525600, OFF(rec_ack_min[3]),
     "Time to acknowledge a severity-4 case, in minutes.", NULL},
    {"recovery.sla.sev4.resolve_h", CXP_T_DOUBLE, "168", 0.01, 8760, OFF(rec_resolve_h[3]),
     "Time to resolve a severity-4 case, in hours.", NULL},
    {"recovery.sla.sev4.apologize_h", CXP_T_DOUBLE, "0", 0, 8760, OFF(rec_apologize_h[3]),
     "Time to apologise to the customer of a severity-4 case, in hours from its opening; 0: no "
     "deadline (the reference gives none).", NULL},
    {"recovery.sla.sev4.compensate_h", CXP_T_DOUBLE, "0", 0, 8760, OFF(rec_compensate_h[3]),
     "Time to compensate the customer of a severity-4 case, in hours from its opening; 0: no "
     "deadline (the reference gives none).", NULL},
    {"recovery.sla.follow_up_h", CXP_T_DOUBLE, "72", 0.01, 8760, OFF(rec_follow_up_h),
     "Time to follow up after the resolution, in hours.", NULL},
    {"recovery.sla.premium_factor", CXP_T_DOUBLE, "0.5", 0.01, 10, OFF(rec_premium_factor),
     "Deadlines of premium segments (alerts.premium_segments) are multiplied by this.", NULL},
    {"recovery.escalation.level1", CXP_T_DOUBLE, "1", 0.1, 64, OFF(rec_escalation[0]),
     "Escalation level 1 falls due at this many times a step's allowed time.", NULL},
    {"recovery.escalation.level2", CXP_T_DOUBLE, "2", 0.1, 64, OFF(rec_escalation[1]),
     "Escalation level 2, in times the allowed time (above level 1).", NULL},
    {"recovery.escalation.level3", CXP_T_DOUBLE, "4", 0.1, 64, OFF(rec_escalation[2]),
     "Escalation level 3, in times the allowed time (above level 2).", NULL},
    {"recovery.escalation.roles", CXP_T_LIST,
     "[\"team_lead\",\"service_manager\",\"head_of_customer_service\"]", 3, 3,
     OFF(rec_escalation_roles), "Role a breach alert goes to, by escalation level 1, 2, 3.", NULL},
    {"recovery.abandon_factor", CXP_T_DOUBLE, "8", 0.1, 128, OFF(rec_abandon_factor),
     "A case not resolved (or followed up) within this many times its allowed time is "
     "closed as recovered poorly.", NULL},
    {"recovery.settle_s", CXP_T_DOUBLE, "300", 0, 86400, OFF(rec_settle_s),
     "Event time a case resolved and followed up stays open for late steps before its "
     "outcome is judged.", NULL},
    {"recovery.park_s", CXP_T_DOUBLE, "3600", 1, 604800, OFF(rec_park_s),
     "Event time a recovery step for an unknown case waits for its case before it is "
     "dead-lettered as unknown_case.", NULL},
    {"recovery.max_parked", CXP_T_INT, "10000", 1, 1048576, OFF(rec_max_parked),
     "Steps waiting for their case, per input partition; past it a step is dead-lettered "
     "at once.", NULL},
    {"recovery.max_open", CXP_T_INT, "1000000", 1, 16777216, OFF(rec_max_open),
     "Open cases per input partition; past it the case opened longest ago closes as "
     "evicted.", NULL},
    {"recovery.repeat_days", CXP_T_DOUBLE, "30", 0, 366, OFF(rec_repeat_days),
     "A failure of the same category for the same customer within this raises its "
     "severity one level.", NULL},
    {"recovery.systemic.customers", CXP_T_INT, "10", 2, 64, OFF(rec_systemic_customers),
     "Distinct customers failing in one category at one touchpoint within the window "
     "that make a systemic failure (segment.anomaly).", NULL},
    {"recovery.systemic.window_min", CXP_T_DOUBLE, "15", 0.1, 1440,
     OFF(rec_systemic_window_min), "The systemic-failure window, in minutes.", NULL},
    {"recovery.high_value", CXP_T_DOUBLE, "5000", 0, 1e9, OFF(rec_high_value),
     "Customer value (profile clv) at or over which a case's priority is lifted; 0: off.", NULL},
    {"recovery.detractor_cases", CXP_T_BOOL, "true", 0, 1, OFF(rec_detractor_cases),
     "Open a case (with deadlines) for a detractor NPS response, besides the closed-loop "
     "alert.", NULL},
    {"recovery.breach_digest.enabled", CXP_T_BOOL, "false", 0, 1, OFF(rec_digest_enabled),
     "Replace the recovery.sla_breached alerts of low priority by one recovery.sla_digest "
     "per escalation role and window of event time, listing the cases still overdue at "
     "the window's end.", NULL},
    {"recovery.breach_digest.from_priority", CXP_T_INT, "3", 1, 4, OFF(rec_digest_from),
     "A breach whose alert would carry this priority or a lower one (3: P3 and P4) goes to "
     "the digest; a more urgent one keeps its own alert.", NULL},
    {"recovery.breach_digest.window_min", CXP_T_DOUBLE, "60", 1, 1440,
     OFF(rec_digest_window_min),
     "The digest's window of event time, in minutes (aligned to the epoch); it goes out "
     "when the partition's clock passes the window's end.", NULL},
    {"recovery.breach_digest.max_cases", CXP_T_INT, "50", 1, 1000, OFF(rec_digest_max),
     "Cases one digest lists; the breaches past it are counted in the digest, not "
     "listed.", NULL},
    {"recovery.severity_matrix", CXP_T_MATRIX,
     "[[1,1,2,3],[1,2,2,3],[2,2,3,4],[3,3,4,4]]", 1, 4, OFF(rec_severity_matrix),
     "Severity (1 critical .. 4 low) of a failure or complaint that gives likelihood and "
     "impact (each 1 the worst .. 4 the mildest) instead of a severity: row = likelihood, "
     "column = impact. Entries must not decrease along a row or down a column. The default "
     "bands the product of the two on the 4 (worst) .. 1 scale: 12 and over critical, 6..9 "
     "major, 3..4 minor, 1..2 low.", NULL},
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL}};

void cxp_pipeline_derive(cxp_pipeline *p) {
  p->half_life_ms = p->half_life_days * 86400000.0;
  p->short_half_life_ms = p->short_half_life_days * 86400000.0;
  p->long_half_life_ms = p->long_half_life_days * 86400000.0;
  p->cooldown_ms = (long long)(p->cooldown_h * 3600000.0);
  p->closed_loop_deadline_ms = (long long)(p->closed_loop_deadline_h * 3600000.0);
  /* The table has checked that these are arrays of strings within bounds. */
  cxp_strset_parse(&p->premium_set, p->premium_segments);
  cxp_strset_parse(&p->kano_must_be_set, p->kano_must_be);
  cxp_strset_parse(&p->rec_escalation_roles_set, p->rec_escalation_roles);
}

void cxp_pipeline_defaults(cxp_pipeline *p) {
  memset(p, 0, sizeof *p);
  cxp_settings_defaults(cxp_pipeline_table, p);
  cxp_pipeline_derive(p);
  cxp_pipeline_windows(p, NULL, 0);
  cxp_pipeline_cases(p, NULL, 0);
}

int cxp_pipeline_cases(cxp_pipeline *p, char *err, size_t errlen) {
  cxp_cases_conf *c = &p->cases;
  cxp_cases_conf_defaults(c);
  snprintf(c->pipeline, sizeof c->pipeline, "%.64s", p->name); /* name: 1..64 bytes */
  for (int i = 0; i < 4; i++) {
    c->ack_ms[i] = (int64_t)(p->rec_ack_min[i] * 60000.0);
    c->resolve_ms[i] = (int64_t)(p->rec_resolve_h[i] * 3600000.0);
    c->apologize_ms[i] = (int64_t)(p->rec_apologize_h[i] * 3600000.0);
    c->compensate_ms[i] = (int64_t)(p->rec_compensate_h[i] * 3600000.0);
  }
  c->follow_up_ms = (int64_t)(p->rec_follow_up_h * 3600000.0);
  c->premium = p->premium_set;
  c->premium_factor = p->rec_premium_factor;
  for (int i = 0; i < 3; i++) c->escalation[i] = p->rec_escalation[i];
  c->abandon_factor = p->rec_abandon_factor;
  c->settle_ms = (int64_t)(p->rec_settle_s * 1000.0);
  c->park_ms = (int64_t)(p->rec_park_s * 1000.0);
  c->max_parked = (uint32_t)p->rec_max_parked;
  c->max_open = (uint32_t)p->rec_max_open;
  c->repeat_ms = (int64_t)(p->rec_repeat_days * 86400000.0);
  c->systemic_customers = (int)p->rec_systemic_customers;
  c->systemic_window_ms = (int64_t)(p->rec_systemic_window_min * 60000.0);
  c->high_value = p->rec_high_value;
  c->detractor_cases = p->rec_detractor_cases;
  c->closed_loop_ms = (int64_t)(p->closed_loop_deadline_h * 3600000.0);
  c->digest = p->rec_digest_enabled;
  c->digest_from = (int)p->rec_digest_from;
  c->digest_window_ms = (int64_t)(p->rec_digest_window_min * 60000.0);
  c->digest_max = (uint32_t)p->rec_digest_max;
  /* One digest per role: a level naming the role of an earlier one joins
   * that level's digest. */
  for (int k = 0; k < CXP_CASES_LEVELS; k++) {
    size_t kn = 0, jn = 0;
    const char *rk = cxp_strset_at(&p->rec_escalation_roles_set, k, &kn);
    c->digest_group[k] = (uint8_t)k;
    for (int j = 0; rk && j < k; j++) {
      const char *rj = cxp_strset_at(&p->rec_escalation_roles_set, j, &jn);
      if (rj && jn == kn && memcmp(rj, rk, kn) == 0) {
        c->digest_group[k] = c->digest_group[j];
        break;
      }
    }
  }
  memcpy(c->severity_matrix, p->rec_severity_matrix, sizeof c->severity_matrix);
  if (p->rec_sla_matrix[0]) {
    cJSON *a = cJSON_Parse(p->rec_sla_matrix);
    int rc = cxp_cases_sla_from_json(c, a, err, errlen);
    cJSON_Delete(a);
    if (rc) return -1;
  }
  return cxp_cases_conf_check(c, err, errlen);
}

void cxp_pipeline_customer(const cxp_pipeline *p, cxp_customer_conf *cf) {
  cf->half_life_ms[CXP_HL_MAIN] = p->half_life_ms;
  cf->half_life_ms[CXP_HL_SHORT] = p->short_half_life_ms;
  cf->half_life_ms[CXP_HL_LONG] = p->long_half_life_ms;
  cf->time_norm_s = p->value_time_norm_s;
  cf->money_norm = p->value_money_norm;
  cf->si_w[0] = p->si_w_csat;
  cf->si_w[1] = p->si_w_nps;
  cf->si_w[2] = p->si_w_ces;
  cf->si_w[3] = p->si_w_servqual;
}

void cxp_pipeline_learn(const cxp_pipeline *p, cxp_learn_conf *lc) {
  lc->on = p->churn_enabled && p->churn_learn;
  lc->horizon_days = p->churn_horizon_days;
  lc->downgrades = p->churn_downgrade_is_churn;
  lc->min_labels = p->churn_learn_min_labels;
  lc->rate = p->churn_learn_rate;
  lc->l2 = p->churn_learn_l2;
}

int cxp_pipeline_churn(const cxp_pipeline *p, cxp_churn_conf *cf, char *err, size_t errlen) {
  cxp_churn_conf_defaults(cf);
  cf->intercept = p->churn_intercept;
  for (int f = 0; f < CXP_CF__COUNT; f++) cf->coef[f] = p->churn_coef[f];
  cf->medium = p->churn_medium;
  cf->high = p->churn_high;
  cf->hysteresis = p->churn_hysteresis;
  cf->top_k = (int)p->churn_reasons;
  cf->clv_horizon_days = p->churn_value_horizon_days;
  cf->value_per_activity = p->churn_value_per_activity;
  if (p->churn_actions[0] && cxp_churn_conf_rules(cf, p->churn_actions, err, errlen) != 0)
    return -1;
  return cxp_churn_conf_check(cf, err, errlen);
}

cxp_solutions *cxp_pipeline_solutions(const cxp_pipeline *p, char *err, size_t errlen) {
  if (p->rec_solutions[0] == '\0') return cxp_solutions_create_default();
  cJSON *a = cJSON_Parse(p->rec_solutions);
  cxp_solutions *s = cxp_solutions_from_json(a, err, errlen);
  cJSON_Delete(a);
  return s;
}

int cxp_duration_parse(const char *s, long long *ms) {
  static const struct {
    const char *unit;
    long long ms;
  } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
  long long v = 0;
  const char *c = s;
  if (*c < '0' || *c > '9') return -1;
  for (; *c >= '0' && *c <= '9'; c++) {
    v = v * 10 + (*c - '0');
    if (v > 1000000000LL) return -1;
  }
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
    if (strcmp(c, units[i].unit) == 0) {
      *ms = v * units[i].ms;
      return 0;
    }
  return -1;
}

#define WIN_FAIL(...)                                  \
  do {                                                 \
    if (err && errlen) snprintf(err, errlen, __VA_ARGS__); \
    cJSON_Delete(a);                                   \
    return -1;                                         \
  } while (0)

int cxp_pipeline_windows(cxp_pipeline *p, char *err, size_t errlen) {
  cxp_window_conf *w = &p->windows;
  cxp_window_conf_defaults(w);
  w->lateness_ms = (int64_t)(p->win_lateness_s * 1000.0);
  w->min_n = (int)p->win_min_n;
  w->max_open = (uint32_t)p->win_max_open;
  p->merge_timeout_ms = (long long)(p->win_merge_timeout_s * 1000.0);
  /* The lists were validated as arrays of non-empty strings when loaded. */
  cJSON *a = cJSON_Parse(p->win_lengths);
  const cJSON *it;
  w->n_lengths = 0;
  cJSON_ArrayForEach(it, a) {
    long long ms;
    if (!cJSON_IsString(it) || cxp_duration_parse(it->valuestring, &ms) != 0 || ms < 1)
      WIN_FAIL("key 'windows.lengths': '%s' is not a duration such as \"1m\" or \"90s\"",
               cJSON_IsString(it) ? it->valuestring : "?");
    if (w->n_lengths == CXP_WIN_MAX_LENGTHS)
      WIN_FAIL("key 'windows.lengths': more than %d lengths", CXP_WIN_MAX_LENGTHS);
    w->length_ms[w->n_lengths++] = ms;
  }
  cJSON_Delete(a);
  a = cJSON_Parse(p->win_revision_horizons);
  int nh = 0;
  for (int i = 0; i < w->n_lengths; i++)
    w->revision_ms[i] = cxp_window_revision_default(w->length_ms[i]);
  cJSON_ArrayForEach(it, a) {
    long long ms;
    if (!cJSON_IsString(it) || cxp_duration_parse(it->valuestring, &ms) != 0 || ms < 0)
      WIN_FAIL("key 'windows.revision_horizons': '%s' is not a duration such as \"1h\" or "
               "\"0s\"", cJSON_IsString(it) ? it->valuestring : "?");
    if (nh == w->n_lengths)
      WIN_FAIL("key 'windows.revision_horizons': more horizons than windows.lengths (%d)",
               w->n_lengths);
    w->revision_ms[nh++] = ms;
  }
  cJSON_Delete(a);
  a = cJSON_Parse(p->win_group_by);
  w->n_groupings = 0;
  cJSON_ArrayForEach(it, a) {
    if (!cJSON_IsString(it) || w->n_groupings == CXP_WIN_MAX_GROUPINGS)
      WIN_FAIL("key 'windows.group_by': at most %d groupings", CXP_WIN_MAX_GROUPINGS);
    cxp_window_grouping *g = &w->grouping[w->n_groupings++];
    g->n_fields = 0;
    const char *s = it->valuestring;
    if (strcmp(s, "all") == 0) continue;
    for (;;) {
      const char *e = strchr(s, '+');
      size_t n = e ? (size_t)(e - s) : strlen(s);
      int f = cxp_window_field_parse(s, n);
      if (f < 0 || g->n_fields == CXP_WIN_MAX_FIELDS)
        WIN_FAIL("key 'windows.group_by': '%s': expected fields among segment, channel, "
                 "agent_id, touchpoint joined by '+', or \"all\"",
                 it->valuestring);
      g->fields[g->n_fields++] = (cxp_window_field)f;
      if (e == NULL) break;
      s = e + 1;
    }
  }
  cJSON_Delete(a);
  a = NULL;
  char why[256];
  if (cxp_window_conf_check(w, why, sizeof why) != 0) WIN_FAIL("%s", why);
  return 0;
}

/* Detaches root.section.key, when there, and keeps it as compact JSON in
 * out. 0, or -1 with a sentence when it does not fit. */
static int take_text(cJSON *root, const char *section, const char *key, char *out, size_t cap,
                     const char *path, char *err, size_t errlen) {
  cJSON *sec = cJSON_GetObjectItemCaseSensitive(root, section);
  cJSON *v = cJSON_IsObject(sec) ? cJSON_DetachItemFromObjectCaseSensitive(sec, key) : NULL;
  if (v == NULL) return 0;
  char *text = cJSON_PrintUnformatted(v);
  size_t n = text ? strlen(text) : 0;
  cJSON_Delete(v);
  if (text == NULL || n >= cap) {
    snprintf(err, errlen, "%s: key '%s.%s': more than %zu bytes", path, section, key, cap - 1);
    free(text);
    return -1;
  }
  memcpy(out, text, n + 1);
  free(text);
  return 0;
}

int cxp_pipeline_from_json(cxp_pipeline *p, struct cJSON *root, const char *path, char *err,
                           size_t errlen) {
  cxp_pipeline_defaults(p);
  /* satisfaction_index.pairwise replaces the four weights: not both. */
  const cJSON *si = cJSON_GetObjectItemCaseSensitive(root, "satisfaction_index");
  if (cJSON_GetObjectItemCaseSensitive(si, "pairwise") &&
      cJSON_GetObjectItemCaseSensitive(si, "weights")) {
    snprintf(err, errlen, "%s: key 'satisfaction_index.pairwise': give the weights either as "
             "a pairwise matrix or as satisfaction_index.weights, not both", path);
    cJSON_Delete(root);
    return -1;
  }
  /* churn.actions, recovery.solutions and recovery.sla_matrix are arrays of
   * objects, and satisfaction_index.pairwise an array of arrays, which the
   * settings table cannot hold: taken out of the file as text, and checked by
   * their own modules below. */
  if (take_text(root, "churn", "actions", p->churn_actions, sizeof p->churn_actions, path, err,
                errlen) != 0 ||
      take_text(root, "recovery", "solutions", p->rec_solutions, sizeof p->rec_solutions, path,
                err, errlen) != 0 ||
      take_text(root, "recovery", "sla_matrix", p->rec_sla_matrix, sizeof p->rec_sla_matrix,
                path, err, errlen) != 0 ||
      take_text(root, "satisfaction_index", "pairwise", p->si_pairwise, sizeof p->si_pairwise,
                path, err, errlen) != 0) {
    cJSON_Delete(root);
    return -1;
  }
  int rc = cxp_settings_apply(cxp_pipeline_table, p, root, path, NULL, NULL, err, errlen);
  cJSON_Delete(root);
  if (rc) return -1;
  const char *t[] = {p->topic_input, p->topic_alerts, p->topic_indicators,
                     p->topic_dead_letters, p->topic_repartition, p->topic_cases};
  int nt = p->topic_cases[0] ? 6 : 5;
  for (int i = 0; i < nt; i++)
    for (int j = i + 1; j < nt; j++)
      if (strcmp(t[i], t[j]) == 0) {
        snprintf(err, errlen, "%s: key 'topics': topic '%s' is named twice", path, t[i]);
        return -1;
      }
  char why[400];
  if (p->si_pairwise[0]) {
    /* Rows and columns: csat, nps, ces, servqual. The weights sum to 1,
     * which the index (a weighted mean) does not mind. */
    double w[4];
    if (cxp_ahp_from_json(p->si_pairwise, 4, w, &p->si_pairwise_cr, why, sizeof why) != 0) {
      snprintf(err, errlen, "%s: key 'satisfaction_index.pairwise': %s", path, why);
      return -1;
    }
    p->si_w_csat = w[0];
    p->si_w_nps = w[1];
    p->si_w_ces = w[2];
    p->si_w_servqual = w[3];
  }
  cxp_pipeline_derive(p);
  if (cxp_pipeline_windows(p, why, sizeof why) != 0 ||
      cxp_pipeline_cases(p, why, sizeof why) != 0) {
    snprintf(err, errlen, "%s: %s", path, why);
    return -1;
  }
  cxp_churn_conf cf;
  if (cxp_pipeline_churn(p, &cf, why, sizeof why) != 0) {
    snprintf(err, errlen, "%s: %s", path, why);
    return -1;
  }
  cxp_solutions *lib = cxp_pipeline_solutions(p, why, sizeof why);
  if (lib == NULL) {
    snprintf(err, errlen, "%s: %s", path, why);
    return -1;
  }
  cxp_solutions_destroy(lib);
  return 0;
}

int cxp_pipeline_is_premium(const cxp_pipeline *p, const char *seg, size_t len) {
  return cxp_strset_has(&p->premium_set, seg, len);
}

/* Settings that shape state held in memory (topics, the window layout, the
 * sizes of the case tables, the trailing rings): a running daemon keeps
 * them until it restarts. */
static const char *const restart_only[] = {
    "name", "topics.input", "topics.alerts", "topics.indicators", "topics.dead_letters",
    "topics.repartition", "topics.changelog", "topics.model", "topics.cases",
    "topics.internal_compression",
    "state.durable",
    "windows.enabled", "windows.lengths", "windows.group_by",
    "windows.lateness_s", "windows.revision_horizons", "windows.max_open", "windows.max_revisable",
    "windows.merge_timeout_s", "recovery.enabled",
    "recovery.max_parked", "recovery.max_open", "recovery.systemic.customers",
    "recovery.breach_digest.enabled", "recovery.breach_digest.window_min",
    "recovery.breach_digest.max_cases",
    "alerts.segment_anomaly.trailing", NULL};

static int is_restart_only(const char *name) {
  for (int i = 0; restart_only[i]; i++)
    if (strcmp(restart_only[i], name) == 0) return 1;
  return 0;
}

static size_t setting_size(cxp_setting_type t) {
  switch (t) {
    case CXP_T_BOOL: return sizeof(int);
    case CXP_T_INT: return sizeof(long long);
    case CXP_T_DOUBLE: return sizeof(double);
    case CXP_T_STRING: return CXP_STR_MAX;
    case CXP_T_MATRIX: return sizeof(int[CXP_MATRIX_N][CXP_MATRIX_N]);
    default: return CXP_LIST_MAX;
  }
}

static void add_name(cxp_buf *b, const char *name) {
  if (b == NULL) return;
  if (b->len) cxp_buf_put(b, ", ", 2);
  cxp_buf_put(b, name, strlen(name));
}

int cxp_pipeline_reload(cxp_pipeline *live, const cxp_pipeline *next, cxp_buf *changed,
                        cxp_buf *kept) {
  cxp_pipeline tmp = *next;
  int n = 0;
  for (const cxp_setting *s = cxp_pipeline_table; s->name; s++) {
    char *a = (char *)&tmp + s->offset;
    const char *b = (const char *)live + s->offset;
    int same = s->type == CXP_T_STRING || s->type == CXP_T_LIST
                   ? strcmp(a, b) == 0
                   : memcmp(a, b, setting_size(s->type)) == 0;
    if (same) continue;
    if (is_restart_only(s->name)) {
      memcpy(a, b, setting_size(s->type));
      add_name(kept, s->name);
    } else {
      add_name(changed, s->name);
      n++;
    }
  }
  if (strcmp(tmp.churn_actions, live->churn_actions) != 0) {
    add_name(changed, "churn.actions");
    n++;
  }
  if (strcmp(tmp.rec_solutions, live->rec_solutions) != 0) {
    add_name(changed, "recovery.solutions");
    n++;
  }
  if (strcmp(tmp.rec_sla_matrix, live->rec_sla_matrix) != 0) {
    add_name(changed, "recovery.sla_matrix");
    n++;
  }
  cxp_pipeline_derive(&tmp);
  /* Both were valid when loaded, and only settings each accepts on its own
   * moved: these cannot fail. */
  cxp_pipeline_windows(&tmp, NULL, 0);
  cxp_pipeline_cases(&tmp, NULL, 0);
  *live = tmp;
  return n;
}
