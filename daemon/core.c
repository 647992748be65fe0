#include "core.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "alert.h"
#include "deadletter.h"
#include "hash.h"

const char *cxp_stream_name(cxp_stream s) {
  static const char *names[] = {"alerts", "indicators", "dead_letters"};
  return s < CXP_STREAM__COUNT ? names[s] : "unknown";
}

void cxp_core_init(cxp_core *c, const cxp_pipeline *pl, cxp_emit_fn emit, void *opaque) {
  memset(c, 0, sizeof *c);
  c->pl = pl;
  c->emit = emit;
  c->opaque = opaque;
  cxp_state_init(&c->state);
  cxp_arena_init(&c->arena, 256 * 1024);
  cxp_buf_init(&c->out);
  cxp_buf_reserve(&c->out, 4096);
  cxp_arena_json_install();
}

void cxp_core_close(cxp_core *c) {
  cxp_state_close(&c->state);
  cxp_arena_close(&c->arena);
  cxp_buf_free(&c->out);
}

void cxp_core_batch_begin(cxp_core *c) {
  cxp_arena_json_begin(&c->arena);
  c->in_batch = 1;
}

void cxp_core_batch_end(cxp_core *c) {
  cxp_arena_json_end();
  cxp_arena_reset(&c->arena);
  c->in_batch = 0;
}

static void emit(cxp_core *c, cxp_stream s, const char *key, size_t klen) {
  c->n.outputs[s]++;
  c->emit(c->opaque, s, key, klen, c->out.p, c->out.len);
}

void cxp_core_dead_letter(cxp_core *c, const cxp_msg *m, cxp_reason r, const char *detail) {
  cxp_dead_letter d = {m->topic, m->partition, m->offset, r, detail, m->payload, m->len,
                       m->received_ms ? m->received_ms : c->clock_ms};
  c->n.dead[r]++;
  cxp_buf_reset(&c->out);
  cxp_dead_letter_write(&c->out, &d, c->pl->name);
  /* Keyed like the input, so a dead letter lands beside its customer's
   * other records for whoever replays them. */
  emit(c, CXP_STREAM_DEAD_LETTERS, m->key, m->key ? m->key_len : 0);
}

/* Cooldown per (customer, type) in event time: an alert within cooldown_ms
 * of the last one of its type, before or after it (a late event), is
 * suppressed. The stamp only moves forward, so a late event can never pull
 * the cooldown window back. */
static int cooled_down(const cxp_core *c, const cxp_customer *cu, cxp_alert_type t,
                       int64_t ts) {
  int64_t last = cxp_customer_alerted_ms(cu, t);
  int64_t gap = ts >= last ? ts - last : last - ts;
  return last == 0 || gap >= c->pl->cooldown_ms;
}

/* The gate every per-customer alert passes: consent for outreach, then the
 * cooldown. On success stamps the cooldown and fills the alert's common
 * fields; the caller adds priority, reasons and actions, then emits. */
static int alert_begin(cxp_core *c, cxp_customer *cu, const cxp_event *ev,
                       const cxp_msg *m, cxp_alert_type t, int outreach, cxp_alert *a) {
  if (outreach && !cu->consent) {
    c->n.suppressed_consent++;
    return 0;
  }
  if (!cooled_down(c, cu, t, ev->ts_ms)) {
    c->n.suppressed_cooldown++;
    return 0;
  }
  cxp_customer_stamp_alert(cu, t, ev->ts_ms);
  memset(a, 0, sizeof *a);
  a->type = t;
  a->customer_id = (cxp_str){cu->id, cu->id_len};
  if (cu->segment) {
    const char *seg = cxp_state_segment_name(&c->state, cu->segment);
    a->segment = (cxp_str){seg, strlen(seg)};
  }
  a->trigger_event_id = ev->event_id;
  a->event_ts_ms = ev->ts_ms;
  a->emitted_at_ms = m->now_ms ? m->now_ms : ev->ts_ms;
  return 1;
}

/* Lifts the priority for premium segments, writes and emits the alert. */
static void alert_emit(cxp_core *c, cxp_customer *cu, cxp_alert *a) {
  a->priority = cxp_alert_lift(a->priority, a->segment.p && cxp_pipeline_is_premium(
                                                               c->pl, a->segment.p, a->segment.n));
  c->n.alerts[a->type]++;
  cxp_buf_reset(&c->out);
  cxp_alert_write(&c->out, a, c->pl->name);
  emit(c, CXP_STREAM_ALERTS, cu->id, cu->id_len);
}

static void closed_loop(cxp_core *c, cxp_customer *cu, const cxp_event *ev,
                        const cxp_msg *m) {
  cxp_alert a;
  if (!c->pl->closed_loop_enabled || cxp_nps_class(ev->score) >= 0) return;
  if (!alert_begin(c, cu, ev, m, CXP_AL_CLOSED_LOOP, 1, &a)) return;

  /* A detractor's case has no id of its own: derive one from the response,
   * so that a replay opens the same case. */
  char case_id[36] = "cl-";
  cxp_idbuf h;
  const char *f[3] = {c->pl->name, cu->id, ev->event_id.p};
  size_t l[3] = {strlen(c->pl->name), cu->id_len, ev->event_id.n};
  cxp_make_id(&h, f, l, 3);
  memcpy(case_id + 3, h.hex, 16);
  case_id[19] = '\0';

  /* Scores 0-3 are the angriest detractors: P2; 4-6: P3. */
  a.priority = ev->score <= 3 ? 2 : 3;
  a.case_id = (cxp_str){case_id, 19};
  a.deadline_ms = ev->ts_ms + c->pl->closed_loop_deadline_ms;
  a.actions_json = c->pl->closed_loop_actions;
  a.role = c->pl->closed_loop_role;
  /* The trigger carries the whole contribution; the decayed figures give
   * the person who calls the customer the history behind it. */
  a.reasons[a.n_reasons++] = (cxp_alert_reason){"nps_score", ev->score, 1.0};
  a.reasons[a.n_reasons++] =
      (cxp_alert_reason){"nps_decayed_mean", cxp_customer_nps_mean(cu), 0.0};
  double csat = cxp_customer_csat(cu);
  if (csat >= 0) a.reasons[a.n_reasons++] = (cxp_alert_reason){"csat", csat, 0.0};
  alert_emit(c, cu, &a);
}

/* satisfaction.drop: the customer's satisfaction index falls `points` under
 * his own long-horizon baseline, or under the floor, once he has given
 * enough responses to judge. */
static void satisfaction_drop(cxp_core *c, cxp_customer *cu, const cxp_event *ev,
                              const cxp_msg *m) {
  const cxp_pipeline *p = c->pl;
  if (!p->drop_enabled || cu->responses < p->drop_min_responses) return;
  double si, base;
  cxp_customer_si(cu, p, &si, &base);
  if (isnan(si)) return;
  int below_floor = si < p->drop_floor;
  int dropped = !isnan(base) && base - si >= p->drop_points;
  if (!below_floor && !dropped) return;
  cxp_alert a;
  if (!alert_begin(c, cu, ev, m, CXP_AL_SATISFACTION_DROP, 1, &a)) return;
  cxp_indicators in;
  cxp_customer_indicators(cu, p, ev->ts_ms, &in);
  a.priority = below_floor ? 2 : 3;
  a.actions_json = p->drop_actions;
  a.reasons[a.n_reasons++] =
      (cxp_alert_reason){"satisfaction_index", si, isnan(base) ? 0 : si - base};
  a.reasons[a.n_reasons++] = (cxp_alert_reason){"si_baseline", base, 0};
  /* Each component with its weighted share of the index. */
  double sq = NAN, gs = 0;
  int gk = 0;
  for (int d = 0; d < CXP_SQ__COUNT; d++)
    if (!isnan(in.sq_gap[d])) {
      gs += in.sq_gap[d];
      gk++;
    }
  if (gk) sq = gs / gk;
  const char *names[4] = {"csat", "nps_decayed_mean", "ces", "servqual_gap"};
  const double vals[4] = {in.csat, in.nps_mean, in.ces, sq};
  const double comp[4] = {in.csat, in.nps_mean * 10, (in.ces - 1) / 6 * 100, 50 + sq * 50 / 6};
  const double w[4] = {p->si_w_csat, p->si_w_nps, p->si_w_ces, p->si_w_servqual};
  double ws = 0;
  for (int i = 0; i < 4; i++)
    if (!isnan(vals[i])) ws += w[i];
  for (int i = 0; i < 4 && a.n_reasons < CXP_ALERT_MAX_REASONS; i++)
    if (!isnan(vals[i]) && ws > 0)
      a.reasons[a.n_reasons++] = (cxp_alert_reason){names[i], vals[i], w[i] / ws * comp[i]};
  alert_emit(c, cu, &a);
}

/* servqual.gap: a dimension this response touched has a decayed gap under
 * the threshold. One alert names the worst such dimension; its improvement
 * strategy is the action. Not an outreach alert: it is about the service,
 * so consent does not hold it back. */
static void servqual_gap(cxp_core *c, cxp_customer *cu, const cxp_event *ev,
                         const cxp_msg *m) {
  static const char *factor[CXP_SQ__COUNT] = {
      "servqual_gap.tangibles", "servqual_gap.reliability", "servqual_gap.responsiveness",
      "servqual_gap.assurance", "servqual_gap.empathy"};
  const cxp_pipeline *p = c->pl;
  if (!p->sq_enabled) return;
  double gap[CXP_SQ__COUNT];
  int worst = -1;
  for (int d = 0; d < CXP_SQ__COUNT; d++) {
    gap[d] = cxp_customer_sq_gap(cu, d);
    if (!(ev->sq_mask & (1u << d)) || cu->sq_responses[d] < p->sq_min_responses) continue;
    if (gap[d] < p->sq_threshold && (worst < 0 || gap[d] < gap[worst])) worst = d;
  }
  if (worst < 0) return;
  cxp_alert a;
  if (!alert_begin(c, cu, ev, m, CXP_AL_SERVQUAL_GAP, 0, &a)) return;
  /* A gap of 3 points or more under expectations is serious: P2. */
  a.priority = gap[worst] <= -3 ? 2 : 3;
  char actions[CXP_STR_MAX + 8];
  snprintf(actions, sizeof actions, "[\"%s\"]", p->sq_strategy[worst]);
  a.actions_json = actions;
  a.reasons[a.n_reasons++] =
      (cxp_alert_reason){factor[worst], gap[worst], gap[worst] - p->sq_threshold};
  for (int d = 0; d < CXP_SQ__COUNT && a.n_reasons < CXP_ALERT_MAX_REASONS; d++)
    if (d != worst && !isnan(gap[d]))
      a.reasons[a.n_reasons++] = (cxp_alert_reason){factor[d], gap[d], 0};
  alert_emit(c, cu, &a);
}

/* Kano: a complaint about a must-be attribute (marked so, or classed so by
 * the pipeline) is at least major. */
static void kano(cxp_core *c, cxp_event *ev) {
  int must_be = (ev->kano.p && strcmp(ev->kano.p, "must_be") == 0) ||
                (ev->attribute.p && cxp_list_has(c->pl->kano_must_be, ev->attribute.p,
                                                 ev->attribute.n));
  if (must_be && ev->severity > 2) {
    ev->severity = 2;
    c->n.kano_raised++;
  }
}

static cxp_reason process(cxp_core *c, const cxp_msg *m) {
  cxp_event ev;
  char detail[256];
  cxp_decode_opts o = {(size_t)c->pl->max_event_bytes, m->check_future ? m->received_ms : 0,
                       c->pl->max_future_s * 1000};
  c->n.consumed++;
  cxp_reason r = cxp_event_decode(m->payload, m->len, &o, &ev, detail, sizeof detail);
  if (r != CXP_OK) {
    cxp_core_dead_letter(c, m, r, detail);
    return r;
  }
  /* A replay has no partitions: it is one shard. */
  cxp_shard *sh = cxp_state_shard(&c->state, m->partition < 0 ? 0 : m->partition);
  cxp_customer *cu = cxp_shard_get(&c->state, sh, ev.customer_id.p, ev.customer_id.n);
  if (cxp_customer_seen(cu, m->offset, ev.event_id.p, ev.event_id.n)) {
    c->n.duplicates++;
    return CXP_OK;
  }
  c->n.processed++;
  c->n.by_type[ev.type]++;
  if (ev.ts_ms > c->clock_ms) c->clock_ms = ev.ts_ms;
  if (ev.segment.p) {
    /* The latest segment seen sticks; intern only when it changes. */
    const char *cur = cxp_state_segment_name(&c->state, cu->segment);
    if (strncmp(cur, ev.segment.p, ev.segment.n) != 0 || cur[ev.segment.n] != '\0')
      cu->segment = cxp_state_segment_id(&c->state, ev.segment.p, ev.segment.n);
  }
  if (ev.type == CXP_EV_COMPLAINT) kano(c, &ev);
  int survey = cxp_customer_apply(cu, &ev, c->pl);
  if (ev.type == CXP_EV_NPS) closed_loop(c, cu, &ev, m);
  if (ev.type == CXP_EV_SERVQUAL) servqual_gap(c, cu, &ev, m);
  if (survey) satisfaction_drop(c, cu, &ev, m);
  return CXP_OK;
}

cxp_reason cxp_core_process(cxp_core *c, const cxp_msg *m) {
  if (c->in_batch) {
    /* Nothing keeps a pointer into the decoded tree once the message is
     * done, so its arena space is reused at once: a batch's trees would
     * otherwise push customer state out of the cache. */
    cxp_reason r = process(c, m);
    cxp_arena_reset(&c->arena);
    return r;
  }
  cxp_core_batch_begin(c);
  cxp_reason r = process(c, m);
  cxp_core_batch_end(c);
  return r;
}
