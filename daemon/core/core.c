#include "core.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "deadletter.h"
#include "hash.h"
#include "staterec.h"
#include "winwire.h"
#include "xalloc.h"

const char *cxp_stream_name(cxp_stream s) {
  static const char *names[] = {"alerts", "indicators", "dead_letters", "partials", "markers",
                                "changelog"};
  return s < CXP_STREAM__COUNT ? names[s] : "unknown";
}

/* A parked recovery step's message, kept until its case comes or it expires
 * (a ring: the oldest copy makes room, so memory stays bounded). */
typedef struct parked_copy {
  int32_t part;
  int64_t offset;
  char *bytes, *key;
  size_t len, klen;
  const char *topic;
  int64_t received_ms;
} parked_copy;

static void trail_free_all(cxp_core *c);

/* Grows a per-partition table of pointers (cases, windows, mergers) so that
 * index `part` exists: doubling from 16, new entries NULL. `table` is the
 * address of the table's pointer, copied in and out with memcpy so that one
 * helper serves every pointer type without aliasing them. */
static void grow_table(void *table, int32_t *n, int32_t part) {
  if (part < *n) return;
  int32_t m = *n ? *n : 16;
  while (m <= part) m *= 2;
  void *t;
  memcpy(&t, table, sizeof t);
  t = cxp_xrealloc(t, sizeof(void *) * (size_t)m);
  memset((char *)t + sizeof(void *) * (size_t)*n, 0, sizeof(void *) * (size_t)(m - *n));
  memcpy(table, &t, sizeof t);
  *n = m;
}

void cxp_core_init(cxp_core *c, const cxp_pipeline *pl, cxp_emit_fn emit, void *opaque) {
  memset(c, 0, sizeof *c);
  c->pl = pl;
  c->emit = emit;
  c->opaque = opaque;
  cxp_state_init(&c->state);
  c->rng = 0x9e3779b97f4a7c15ULL;
  cxp_arena_init(&c->arena, 256 * 1024);
  cxp_buf_init(&c->out);
  cxp_buf_init(&c->ext);
  cxp_buf_reserve(&c->out, 4096);
  cxp_buf_init(&c->key);
  c->n_inputs = 1;
  cxp_core_set_inputs(c, 1, 1);
  char cerr[256];
  /* The loader validated the churn settings: defaults only if a caller
   * hands the core a pipeline it filled by hand, wrongly. */
  if (cxp_pipeline_churn(pl, &c->churn, cerr, sizeof cerr) != 0) cxp_churn_conf_defaults(&c->churn);
  if (pl->rec_enabled) {
    char err[256];
    c->solutions = cxp_pipeline_solutions(pl, err, sizeof err);
    /* The loader validated the library; only memory can fail here. */
    if (c->solutions == NULL) c->solutions = cxp_solutions_create_default();
    c->parked_cap = pl->rec_max_parked < 65536 ? (uint32_t)pl->rec_max_parked : 65536;
    c->parked = calloc(c->parked_cap, sizeof *c->parked);
    if (c->solutions == NULL || c->parked == NULL) abort();
  }
  cxp_arena_json_install();
}

void cxp_core_close(cxp_core *c) {
  for (int32_t i = 0; i < c->n_win; i++) cxp_windows_destroy(c->win[i]);
  for (int32_t i = 0; i < c->n_merge; i++) cxp_merger_destroy(c->merge[i]);
  free(c->win);
  free(c->marked);
  for (int32_t i = 0; i < c->n_repart; i++) cxp_buf_free(&c->box[i]);
  free(c->box);
  free(c->box_list);
  free(c->box_list_has);
  free(c->merge);
  for (int32_t i = 0; i < c->n_cases; i++) cxp_cases_destroy(c->cases[i]);
  free(c->cases);
  cxp_solutions_destroy(c->solutions);
  for (uint32_t i = 0; i < c->parked_cap; i++) {
    free(c->parked[i].bytes);
    free(c->parked[i].key);
  }
  free(c->parked);
  trail_free_all(c);
  cxp_buf_free(&c->key);
  cxp_state_close(&c->state);
  cxp_arena_close(&c->arena);
  cxp_buf_free(&c->out);
  cxp_buf_free(&c->ext);
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

/* Keys longer than this do not key a dead letter: the record must fit the
 * topic with its key, and a key that large is itself the fault. */
#define DEAD_LETTER_MAX_KEY 1024

size_t cxp_core_render_dead_letter(cxp_core *c, const cxp_msg *m, cxp_dead_letter *d,
                                   cxp_buf *out) {
  size_t klen = m->key && m->key_len <= DEAD_LETTER_MAX_KEY ? m->key_len : 0;
  d->topic = m->topic;
  d->partition = m->partition;
  d->offset = m->offset;
  d->received_at_ms = m->received_ms ? m->received_ms : c->clock_ms;
  d->max_bytes = 0;
  if (c->max_output) d->max_bytes = c->max_output > klen ? c->max_output - klen : 1;
  c->n.dead[d->reason]++;
  cxp_buf_reset(out);
  if (cxp_dead_letter_write(out, d, c->pl->name)) c->n.dead_truncated++;
  return klen;
}

void cxp_core_dead_letter(cxp_core *c, const cxp_msg *m, cxp_reason r, const char *detail) {
  cxp_dead_letter d = {.reason = r, .detail = detail, .payload = m->payload,
                       .payload_len = m->len};
  size_t klen = cxp_core_render_dead_letter(c, m, &d, &c->out);
  /* Keyed like the input, so a dead letter lands beside its customer's
   * other records for whoever replays them. */
  emit(c, CXP_STREAM_DEAD_LETTERS, klen ? m->key : NULL, klen);
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
/* An alert at event time ts (consent, cooldown, the common fields); 0 when
 * it is suppressed. */
static int alert_begin_at(cxp_core *c, cxp_customer *cu, int64_t ts, int64_t now_ms,
                          cxp_alert_type t, int outreach, cxp_alert *a) {
  if (outreach && !cu->consent) {
    c->n.suppressed_consent++;
    return 0;
  }
  if (!cooled_down(c, cu, t, ts)) {
    c->n.suppressed_cooldown++;
    return 0;
  }
  cxp_customer_stamp_alert(cu, t, ts);
  memset(a, 0, sizeof *a);
  a->type = t;
  a->customer_id = (cxp_str){cu->id, cu->id_len};
  if (cu->segment) {
    const char *seg = cxp_state_segment_name(&c->state, cu->segment);
    a->segment = (cxp_str){seg, strlen(seg)};
  }
  a->event_ts_ms = ts;
  a->emitted_at_ms = now_ms ? now_ms : ts;
  return 1;
}

static int alert_begin(cxp_core *c, cxp_customer *cu, const cxp_event *ev,
                       const cxp_msg *m, cxp_alert_type t, int outreach, cxp_alert *a) {
  if (!alert_begin_at(c, cu, ev->ts_ms, m->now_ms, t, outreach, a)) return 0;
  a->trigger_event_id = ev->event_id;
  return 1;
}

/* Lifts the priority for premium segments, writes and emits the alert. */
static void alert_emit(cxp_core *c, cxp_customer *cu, cxp_alert *a) {
  a->priority = cxp_alert_lift(a->priority, a->segment.p && cxp_pipeline_is_premium(
                                                               c->pl, a->segment.p, a->segment.n));
  c->n.alerts[a->type]++;
  if (a->priority >= 1 && a->priority <= 4) c->n.alerts_by_priority[a->type][a->priority - 1]++;
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
  /* With recovery on, the response opened a case of the same id (severity
   * 2 or 3 by the same split): the alert carries its acknowledge deadline,
   * the one its breaches are counted from. */
  cxp_case_info ci;
  if (c->cur_part >= 0 && c->cur_part < c->n_cases && c->cases[c->cur_part] &&
      cxp_cases_get(c->cases[c->cur_part], case_id, 19, &ci) == 0)
    a.deadline_ms = ci.deadline[CXP_DL_ACKNOWLEDGE];
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
                              const cxp_msg *m, double si, double base) {
  const cxp_pipeline *p = c->pl;
  if (!p->drop_enabled || cu->responses < p->drop_min_responses) return;
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
                (ev->attribute.p && cxp_strset_has(&c->pl->kano_must_be_set, ev->attribute.p,
                                                 ev->attribute.n));
  if (must_be && ev->severity > 2) {
    ev->severity = 2;
    c->n.kano_raised++;
  }
}

/* ---- Recovery cases --------------------------------------------------------- */

static int64_t emitted_at(const cxp_core *c, int64_t event_ts) {
  return c->cur_now_ms ? c->cur_now_ms : event_ts;
}

/* Case alerts carry the priority the case module worked out (severity,
 * premium, value, churn), and no cooldown: each case is its own thing. */
static void case_alert_emit(cxp_core *c, cxp_alert *a) {
  c->n.alerts[a->type]++;
  if (a->priority >= 1 && a->priority <= 4) c->n.alerts_by_priority[a->type][a->priority - 1]++;
  cxp_buf_reset(&c->out);
  cxp_alert_write(&c->out, a, c->pl->name);
  emit(c, CXP_STREAM_ALERTS, a->customer_id.p, a->customer_id.n);
}

static void case_alert_base(cxp_alert *a, cxp_alert_type t, const cxp_case_info *ci) {
  memset(a, 0, sizeof *a);
  a->type = t;
  a->priority = ci->priority;
  a->customer_id = ci->customer_id;
  a->case_id = ci->case_id;
  if (ci->segment.p && ci->segment.n) a->segment = ci->segment;
}

/* The customer a case callback is about, in the partition being handled;
 * what the callback changes of him goes to the changelog. */
static cxp_customer *case_customer(cxp_core *c, const cxp_case_info *ci) {
  if (c->cur_part < 0 || c->cur_part >= c->state.n_shards) return NULL;
  cxp_shard *sh = c->state.shards[c->cur_part];
  cxp_customer *cu = sh ? cxp_shard_find(sh, ci->customer_id.p, ci->customer_id.n) : NULL;
  if (cu) cxp_shard_touch(sh, cu);
  return cu;
}

static void on_case_opened(void *opaque, const cxp_case_opened *o) {
  cxp_core *c = opaque;
  const cxp_case_info *ci = o->c;
  cxp_customer *cu = case_customer(c, ci);
  if (cu && cu->cohort == 0) cu->cohort = 3; /* a case open, none closed yet */
  if (cu && cu->open_cases < 255) cu->open_cases++;
  /* A detractor's case is announced by recovery.closed_loop already. */
  if (ci->kind == CXP_CASE_DETRACTOR) return;
  cxp_alert a;
  case_alert_base(&a, CXP_AL_RECOVERY_REQUIRED, ci);
  a.trigger_event_id = o->ev->event_id;
  a.event_ts_ms = o->ev->ts_ms;
  a.emitted_at_ms = emitted_at(c, o->ev->ts_ms);
  a.deadline_ms = ci->deadline[CXP_DL_ACKNOWLEDGE];
  a.reasons[a.n_reasons++] = (cxp_alert_reason){"severity", ci->severity, 1.0};
  if (o->repeat)
    a.reasons[a.n_reasons++] =
        (cxp_alert_reason){"repeat_same_category", ci->base_severity - ci->severity, 0};
  if (ci->provider) a.reasons[a.n_reasons++] = (cxp_alert_reason){"detected_by_provider", 1, 0};
  if (ci->premium) a.reasons[a.n_reasons++] = (cxp_alert_reason){"premium_segment", 1, 0};
  a.reasons[a.n_reasons++] = (cxp_alert_reason){
      "resolve_within_h", (double)(ci->deadline[CXP_DL_RESOLVE] - ci->opened_at) / 3600000.0, 0};
  a.actions_json = o->solution->actions;
  a.role = o->solution->role;
  a.compensation = o->solution->compensation;
  case_alert_emit(c, &a);
}

static void on_case_breach(void *opaque, const cxp_case_breach *b) {
  cxp_core *c = opaque;
  case_customer(c, b->c); /* the level fired is part of his record */
  static const char *const actions[CXP_DL__COUNT] = {
      "[\"escalate\",\"acknowledge_now\"]", "[\"escalate\",\"resolve_now\"]",
      "[\"escalate\",\"follow_up_now\"]"};
  char salt[48], role[CXP_STR_MAX];
  const char *step = cxp_case_deadline_name(b->deadline);
  int sl = snprintf(salt, sizeof salt, "%s:%d", step, b->level);
  cxp_alert a;
  case_alert_base(&a, CXP_AL_SLA_BREACHED, b->c);
  a.priority = b->priority;
  a.id_salt = (cxp_str){salt, (size_t)sl};
  a.event_ts_ms = b->due;
  a.emitted_at_ms = emitted_at(c, b->due);
  a.deadline_ms = b->deadline_ms;
  a.reasons[a.n_reasons++] = (cxp_alert_reason){"escalation_level", b->level, 1.0};
  a.reasons[a.n_reasons++] =
      (cxp_alert_reason){"overdue_h", (double)(b->due - b->deadline_ms) / 3600000.0, 0};
  a.reasons[a.n_reasons++] = (cxp_alert_reason){"severity", b->c->severity, 0};
  a.actions_json = actions[b->deadline];
  /* The role of the level: the n-th entry of recovery.escalation.roles. */
  const char *r = c->pl->rec_escalation_roles;
  role[0] = '\0';
  for (int k = 0; k < b->level && r; k++) {
    r = strchr(r, '"');
    const char *e = r ? strchr(r + 1, '"') : NULL;
    if (e == NULL) break;
    if (k == b->level - 1) snprintf(role, sizeof role, "%.*s", (int)(e - r - 1), r + 1);
    r = e + 1;
  }
  a.role = role[0] ? role : NULL;
  a.escalation_level = b->level;
  a.overdue_step = step;
  case_alert_emit(c, &a);
}

static void on_case_systemic(void *opaque, const cxp_case_systemic *s) {
  cxp_core *c = opaque;
  cxp_buf body;
  cxp_buf_init(&body);
  cxp_jw j;
  cxp_jw_init(&j, &body);
  cxp_jw_obj(&j, NULL);
  cxp_jw_cstr(&j, "kind", "systemic_failure");
  cxp_jw_cstr(&j, "category", cxp_case_category_name(s->category));
  cxp_jw_str(&j, "touchpoint", s->touchpoint.p ? s->touchpoint.p : "unknown",
             s->touchpoint.p ? s->touchpoint.n : 7);
  cxp_jw_time(&j, "window_start", s->window_start);
  cxp_jw_time(&j, "window_end", s->window_end);
  cxp_jw_int(&j, "customers", s->customers);
  cxp_jw_end(&j);
  cxp_buf_putc(&body, '\0');
  cxp_alert a;
  memset(&a, 0, sizeof a);
  a.type = CXP_AL_SEGMENT_ANOMALY;
  a.priority = 2;
  /* Keyed by the customer whose failure made it systemic: the alert's
   * subject is the touchpoint, named in anomaly. */
  a.customer_id = s->ev->customer_id;
  a.case_id = s->ev->case_id;
  if (s->ev->segment.p) a.segment = s->ev->segment;
  a.trigger_event_id = s->ev->event_id;
  a.event_ts_ms = s->ev->ts_ms;
  a.emitted_at_ms = emitted_at(c, s->ev->ts_ms);
  a.reasons[a.n_reasons++] = (cxp_alert_reason){"customers_failing", s->customers, 1.0};
  a.actions_json = "[\"open_incident\",\"find_root_cause\",\"notify_affected_customers\"]";
  a.role = "service_manager";
  a.detail_key = "anomaly";
  a.detail_json = body.p;
  case_alert_emit(c, &a);
  cxp_buf_free(&body);
}

static cxp_windows *windows_of(cxp_core *c, int32_t part);

/* A case's outcome counts in the windows of its closing time. */
static void on_case_outcome(void *opaque, const cxp_case_outcome *o) {
  cxp_core *c = opaque;
  cxp_customer *cu = case_customer(c, o->c);
  if (cu && cu->open_cases > 0 && cu->open_cases < 255) cu->open_cases--;
  /* Evicted to stay under the cap: it says nothing about the recovery. */
  if (o->end == CXP_CASE_END_EVICTED) return;
  if (cu) cu->cohort = o->well ? 1 : 2;
  cxp_windows *w = windows_of(c, c->cur_part);
  if (w == NULL) return;
  cxp_event ev;
  memset(&ev, 0, sizeof ev);
  ev.type = CXP_EV_REC_FOLLOWED_UP;
  ev.ts_ms = o->closed_at;
  ev.segment = o->c->segment;
  ev.touchpoint = o->c->touchpoint;
  /* The offset of the event being processed, if any: a window restored
   * with it folds the outcome once. */
  cxp_window_outcome wo = {o->well,    o->tta_ms, o->ttr_ms, o->c->kind == CXP_CASE_FAILURE,
                           o->preempted, c->cur_msg ? c->cur_msg->offset : -1};
  cxp_windows_add_outcome(w, &ev, &wo);
}

/* Kept on the customer, so that scoring him never asks the cases. */
static void on_case_overdue(void *opaque, const cxp_case_info *ci, int delta) {
  cxp_customer *cu = case_customer(opaque, ci);
  if (cu == NULL) return;
  if (delta > 0 && cu->overdue_cases < 255) cu->overdue_cases++;
  if (delta < 0 && cu->overdue_cases > 0 && cu->overdue_cases < 255) cu->overdue_cases--;
}

/* After a restore: his counts as the cases hold them. */
static void restored_counts(cxp_cases *cs, cxp_customer *cu) {
  cxp_case_customer cc;
  cxp_cases_customer(cs, cu->id, cu->id_len, &cc);
  cu->overdue_cases = (uint8_t)(cc.overdue < 255 ? cc.overdue : 255);
}

static parked_copy *parked_find(cxp_core *c, int32_t part, int64_t offset) {
  for (uint32_t i = 0; i < c->parked_cap; i++)
    if (c->parked[i].bytes && c->parked[i].part == part && c->parked[i].offset == offset)
      return &c->parked[i];
  return NULL;
}

static void parked_keep(cxp_core *c, const cxp_msg *m, int32_t part) {
  if (c->parked_cap == 0) return;
  parked_copy *p = &c->parked[c->parked_next];
  c->parked_next = (c->parked_next + 1) % c->parked_cap;
  free(p->bytes);
  free(p->key);
  memset(p, 0, sizeof *p);
  p->bytes = cxp_xmalloc(m->len);
  p->key = m->key && m->key_len ? cxp_xmalloc(m->key_len) : NULL;
  memcpy(p->bytes, m->payload, m->len);
  if (p->key) memcpy(p->key, m->key, m->key_len);
  p->len = m->len;
  p->klen = p->key ? m->key_len : 0;
  p->part = part;
  p->offset = m->offset;
  p->topic = m->topic;
  p->received_ms = m->received_ms;
}

/* A parked step whose case never came: dead-lettered with its own bytes
 * when the copy is still kept, else with what the module remembers. */
static void on_case_expired(void *opaque, const cxp_case_expired *e) {
  cxp_core *c = opaque;
  parked_copy *p = parked_find(c, c->cur_part, e->token);
  cxp_msg m;
  char rebuilt[512];
  memset(&m, 0, sizeof m);
  m.partition = c->cur_part;
  m.offset = e->token;
  if (p) {
    m.topic = p->topic;
    m.payload = p->bytes;
    m.len = p->len;
    m.key = p->key;
    m.key_len = p->klen;
    m.received_ms = p->received_ms;
  } else {
    int n = snprintf(rebuilt, sizeof rebuilt,
                     "{\"event_id\":\"%.*s\",\"type\":\"%s\",\"customer_id\":\"%.*s\","
                     "\"case_id\":\"%.*s\",\"ts\":%lld}",
                     (int)e->event_id.n, e->event_id.p ? e->event_id.p : "",
                     cxp_event_type_name(e->type), (int)e->customer_id.n,
                     e->customer_id.p ? e->customer_id.p : "", (int)e->case_id.n,
                     e->case_id.p ? e->case_id.p : "", (long long)e->ts_ms);
    m.payload = rebuilt;
    m.len = n > 0 && (size_t)n < sizeof rebuilt ? (size_t)n : strlen(rebuilt);
    m.key = e->customer_id.p;
    m.key_len = e->customer_id.n;
    m.topic = c->pl->topic_input;
    m.received_ms = e->arrival_wall_ms;
  }
  cxp_core_dead_letter(c, &m, CXP_BAD_UNKNOWN_CASE, e->detail);
  if (p) {
    free(p->bytes);
    free(p->key);
    memset(p, 0, sizeof *p);
  }
}

static cxp_cases *cases_of(cxp_core *c, int32_t part) {
  if (!c->pl->rec_enabled || part < 0 || part > 0xffff) return NULL;
  grow_table(&c->cases, &c->n_cases, part);
  if (c->cases[part] == NULL) {
    cxp_cases_conf conf = c->pl->cases;
    conf.solutions = c->solutions;
    cxp_cases_cbs cbs = {on_case_opened,  on_case_breach,  on_case_systemic, on_case_outcome,
                         on_case_expired, on_case_overdue, c};
    c->cases[part] = cxp_cases_create(&conf, &cbs);
    if (c->cases[part] == NULL) abort();
    cxp_cases_track(c->cases[part], c->changelog);
  }
  return c->cases[part];
}

/* Hands the event to the partition's cases. Returns a dead-letter reason
 * when the event cannot wait for its case, else CXP_OK. */
static cxp_reason apply_cases(cxp_core *c, const cxp_customer *cu, const cxp_event *ev,
                              const cxp_msg *m, int32_t part, char *detail, size_t dlen,
                              int *opened) {
  cxp_cases *cs = cases_of(c, part);
  *opened = -1;
  if (cs == NULL) return CXP_OK;
  /* The closed loop is outreach: without consent there is no one to call
   * back, so his detractor answers open no case. */
  cxp_case_ctx ctx = {cu->clv > 0 ? cu->clv : 0, c->pl->churn_enabled ? cu->churn_band : -1,
                      m->offset, !cu->consent};
  cxp_case_result r = cxp_cases_add(cs, ev, m->received_ms, &ctx);
  *opened = r == CXP_CASE_OPENED;
  if (r == CXP_CASE_PARKED) parked_keep(c, m, part);
  if (r == CXP_CASE_PARK_FULL) {
    snprintf(detail, dlen,
             "recovery step for unknown case '%.*s': no room to wait for it "
             "(recovery.max_parked %lld steps already wait)",
             (int)ev->case_id.n, ev->case_id.p ? ev->case_id.p : "",
             (long long)c->pl->rec_max_parked);
    return CXP_BAD_UNKNOWN_CASE;
  }
  if (r == CXP_CASE_BAD_ID) {
    snprintf(detail, dlen, "case_id: missing or longer than 128 bytes");
    return CXP_BAD_MISSING_FIELD;
  }
  return CXP_OK;
}

int cxp_core_reload(cxp_core *c, cxp_solutions *lib) {
  int refused = 0;
  char err[256];
  cxp_churn_conf cf;
  if (cxp_pipeline_churn(c->pl, &cf, err, sizeof err) == 0) c->churn = cf;
  cxp_cases_conf conf = c->pl->cases;
  conf.solutions = lib;
  for (int32_t i = 0; i < c->n_cases; i++)
    if (c->cases[i] && cxp_cases_set_conf(c->cases[i], &conf) != 0) refused++;
  /* Every cases now points at lib (or refused and kept the old one: then
   * the old library must live on, and a small leak is the lesser harm). */
  if (refused == 0) {
    cxp_solutions_destroy(c->solutions);
    c->solutions = lib;
  }
  return refused;
}

/* Adds the counters of s into out; the gauges (open now) too when `gauges`. */
static void cases_stats_add(cxp_cases_stats *out, const cxp_cases_stats *s, int gauges) {
  out->opened += s->opened;
  out->steps += s->steps;
  out->parked += s->parked;
  out->parked_expired += s->parked_expired;
  for (int k = 0; k < CXP_CASES_LEVELS; k++) out->breaches[k] += s->breaches[k];
  out->closed += s->closed;
  out->well += s->well;
  out->poorly += s->poorly;
  out->systemic += s->systemic;
  out->restored += s->restored;
  if (gauges) {
    out->open += s->open;
    out->open_deadlines += s->open_deadlines;
    out->parked_now += s->parked_now;
    out->groups += s->groups;
  }
}

size_t cxp_core_cases_open(const cxp_core *c, int32_t part) {
  if (part < 0 || part >= c->n_cases || c->cases[part] == NULL) return 0;
  return cxp_cases_stats_get(c->cases[part]).open;
}

void cxp_core_cases_stats(const cxp_core *c, cxp_cases_stats *out) {
  memset(out, 0, sizeof *out);
  /* Counters over the core's life: partitions given up keep counting. */
  cases_stats_add(out, &c->cases_retired, 0);
  for (int32_t i = 0; i < c->n_cases; i++) {
    if (c->cases[i] == NULL) continue;
    cxp_cases_stats s = cxp_cases_stats_get(c->cases[i]);
    cases_stats_add(out, &s, 1);
  }
}

/* ---- Segment windows ------------------------------------------------------ */

/* ---- Alerts about groups: segment.anomaly (score drop), agent.flag ---------- */

/* The last `cap` values of one measure of one (length, group). */
typedef struct trail {
  uint64_t hash;
  int64_t length;
  char *key; /* the group key, NUL-terminated */
  uint32_t n[2], pos[2];
  double *v[2]; /* CSAT, NPS rings of cap values */
} trail;

static uint64_t trail_hash(int64_t length, const char *key, size_t n) {
  return cxp_hash64(key, n, 0x747261696cULL + (uint64_t)length);
}

static trail *trail_of(cxp_core *c, int64_t length, const char *key, size_t n) {
  uint64_t h = trail_hash(length, key, n);
  if ((c->trail_n + 1) * 2 > c->trail_cap) {
    uint32_t ncap = c->trail_cap ? c->trail_cap * 2 : 64;
    trail **nt = cxp_xcalloc(ncap, sizeof *nt);
    for (uint32_t i = 0; i < c->trail_cap; i++) {
      if (c->trail[i] == NULL) continue;
      uint32_t j = (uint32_t)(c->trail[i]->hash & (ncap - 1));
      while (nt[j]) j = (j + 1) & (ncap - 1);
      nt[j] = c->trail[i];
    }
    free(c->trail);
    c->trail = nt;
    c->trail_cap = ncap;
  }
  uint32_t mask = c->trail_cap - 1, i = (uint32_t)(h & mask);
  for (; c->trail[i]; i = (i + 1) & mask) {
    trail *t = c->trail[i];
    if (t->hash == h && t->length == length && strlen(t->key) == n && memcmp(t->key, key, n) == 0)
      return t;
  }
  size_t cap = (size_t)c->pl->anomaly_trailing;
  trail *t = cxp_xcalloc(1, sizeof *t);
  t->hash = h;
  t->length = length;
  t->key = cxp_xmalloc(n + 1);
  t->v[0] = cxp_xcalloc(cap, sizeof *t->v[0]);
  t->v[1] = cxp_xcalloc(cap, sizeof *t->v[1]);
  memcpy(t->key, key, n);
  t->key[n] = '\0';
  c->trail[i] = t;
  c->trail_n++;
  return t;
}

static void trail_free_all(cxp_core *c) {
  for (uint32_t i = 0; i < c->trail_cap; i++) {
    trail *t = c->trail[i];
    if (t == NULL) continue;
    free(t->key);
    free(t->v[0]);
    free(t->v[1]);
    free(t);
  }
  free(c->trail);
}

/* An alert about a group: no customer; keyed by `key`. */
static void group_alert_emit(cxp_core *c, cxp_alert *a, const char *key, size_t klen) {
  c->n.alerts[a->type]++;
  if (a->priority >= 1 && a->priority <= 4) c->n.alerts_by_priority[a->type][a->priority - 1]++;
  cxp_buf_reset(&c->out);
  cxp_alert_write(&c->out, a, c->pl->name);
  emit(c, CXP_STREAM_ALERTS, key, klen);
}

/* The group's segment value, when it is grouped by segment. */
static cxp_str group_segment(const cxp_window_partial *p) {
  for (int f = 0; f < p->n_fields; f++)
    if (p->fields[f] == CXP_WF_SEGMENT) return (cxp_str){p->value[f], p->value_len[f]};
  return (cxp_str){NULL, 0};
}

/* segment.anomaly: the window's measure sits `points` or more under the mean
 * of the group's trailing windows. Judged on complete windows with n >=
 * min_n only, and only those enter the trailing mean. */
static void score_drop(cxp_core *c, const cxp_window_partial *p, const char *key, size_t klen) {
  const cxp_pipeline *pl = c->pl;
  const cxp_window_agg *ag = &p->agg;
  const char *names[2] = {"csat", "nps"};
  const int64_t ns[2] = {ag->csat_n, ag->nps_n};
  const double vals[2] = {
      ag->csat_n ? 100.0 * (double)ag->csat_sat / (double)ag->csat_n : 0,
      ag->nps_n ? 100.0 * (double)(ag->nps_promoters - ag->nps_detractors) / (double)ag->nps_n : 0};
  trail *t = NULL;
  for (int k = 0; k < 2; k++) {
    if (ns[k] < pl->windows.min_n) continue;
    if (t == NULL) t = trail_of(c, p->length_ms, key, klen);
    double mean = 0;
    for (uint32_t i = 0; i < t->n[k]; i++) mean += t->v[k][i];
    uint32_t have = t->n[k];
    if (have) mean /= have;
    if (have >= (uint32_t)pl->anomaly_min_trailing && mean - vals[k] >= pl->anomaly_points) {
      char salt[64 + 2 * CXP_STR_MAX];
      int sl = snprintf(salt, sizeof salt, "%lld:%lld:%s:%.*s", (long long)p->length_ms,
                        (long long)p->start_ms, names[k], (int)klen, key);
      cxp_buf body;
      cxp_buf_init(&body);
      cxp_jw j;
      cxp_jw_init(&j, &body);
      cxp_jw_obj(&j, NULL);
      cxp_jw_cstr(&j, "kind", "score_drop");
      cxp_jw_cstr(&j, "measure", names[k]);
      cxp_jw_key(&j, "group");
      cxp_buf_put(&body, key, klen);
      cxp_jw_time(&j, "window_start", p->start_ms);
      cxp_jw_time(&j, "window_end", p->end_ms);
      cxp_jw_num(&j, "value", vals[k]);
      cxp_jw_num(&j, "trailing_mean", mean);
      cxp_jw_int(&j, "trailing_windows", have);
      cxp_jw_int(&j, "n", ns[k]);
      cxp_jw_end(&j);
      cxp_buf_putc(&body, '\0');
      cxp_alert a;
      memset(&a, 0, sizeof a);
      a.type = CXP_AL_SEGMENT_ANOMALY;
      a.priority = mean - vals[k] >= 2 * pl->anomaly_points ? 2 : 3;
      a.segment = group_segment(p);
      a.id_salt = (cxp_str){salt, (size_t)(sl < (int)sizeof salt ? sl : (int)sizeof salt - 1)};
      a.event_ts_ms = p->end_ms;
      a.emitted_at_ms = c->cur_now_ms ? c->cur_now_ms : p->end_ms;
      a.reasons[a.n_reasons++] = (cxp_alert_reason){names[k], vals[k], vals[k] - mean};
      a.reasons[a.n_reasons++] = (cxp_alert_reason){"trailing_mean", mean, 0};
      a.reasons[a.n_reasons++] = (cxp_alert_reason){"n", (double)ns[k], 0};
      a.actions_json = pl->anomaly_actions;
      a.role = pl->anomaly_role;
      a.detail_key = "anomaly";
      a.detail_json = body.p;
      group_alert_emit(c, &a, key, klen);
      cxp_buf_free(&body);
    }
    t->v[k][t->pos[k]] = vals[k];
    t->pos[k] = (t->pos[k] + 1) % (uint32_t)pl->anomaly_trailing;
    if (t->n[k] < (uint32_t)pl->anomaly_trailing) t->n[k]++;
  }
}

static int agent_grouping(const cxp_window_partial *p) {
  return p->n_fields == 1 && p->fields[0] == CXP_WF_AGENT_ID;
}

/* agent.flag: after one emission, each closed window's agents (the grouping
 * [agent_id], co-located on one merger by their partial key) are compared
 * with their team: CSAT more than 2 standard deviations under the mean of
 * the agents with n >= min_n. */
static void on_batch(void *opaque, const cxp_window_partial *const *ps, int n) {
  cxp_core *c = opaque;
  if (!c->pl->agent_flag_enabled) return;
  const cxp_window_partial *team[256];
  int flagged[256];
  for (int i = 0; i < n;) {
    if (!agent_grouping(ps[i])) {
      i++;
      continue;
    }
    int k = 0, j = i;
    for (; j < n && agent_grouping(ps[j]) && ps[j]->start_ms == ps[i]->start_ms &&
           ps[j]->length_ms == ps[i]->length_ms;
         j++)
      /* Responses without an agent are not an agent of the team. */
      if (k < 256 && strcmp(ps[j]->value[0], CXP_WIN_UNKNOWN) != 0) team[k++] = ps[j];
    cxp_window_consistency cons;
    if (cxp_window_consistency_compute(team, k, c->pl->windows.min_n, &cons, flagged) > 0) {
      for (int a_i = 0; a_i < k; a_i++) {
        if (!flagged[a_i]) continue;
        const cxp_window_partial *p = team[a_i];
        double v = 100.0 * (double)p->agg.csat_sat / (double)p->agg.csat_n;
        char salt[64];
        cxp_buf body;
        cxp_buf_init(&body);
        cxp_jw jw;
        cxp_jw_init(&jw, &body);
        cxp_jw_obj(&jw, NULL);
        cxp_jw_str(&jw, "agent_id", p->value[0], p->value_len[0]);
        cxp_jw_time(&jw, "window_start", p->start_ms);
        cxp_jw_time(&jw, "window_end", p->end_ms);
        cxp_jw_num(&jw, "csat", v);
        cxp_jw_int(&jw, "n", p->agg.csat_n);
        cxp_jw_num(&jw, "team_mean", cons.mean);
        cxp_jw_num(&jw, "team_sd", cons.spread);
        cxp_jw_int(&jw, "team_agents", cons.qualified);
        cxp_jw_end(&jw);
        cxp_buf_putc(&body, '\0');
        int sl = snprintf(salt, sizeof salt, "%lld:%lld:%.*s", (long long)p->length_ms,
                          (long long)p->start_ms, (int)(p->value_len[0] > 32 ? 32 : p->value_len[0]),
                          p->value[0]);
        cxp_alert a;
        memset(&a, 0, sizeof a);
        a.type = CXP_AL_AGENT_FLAG;
        a.priority = 3;
        a.id_salt = (cxp_str){salt, (size_t)(sl < (int)sizeof salt ? sl : (int)sizeof salt - 1)};
        a.event_ts_ms = p->end_ms;
        a.emitted_at_ms = c->cur_now_ms ? c->cur_now_ms : p->end_ms;
        a.reasons[a.n_reasons++] = (cxp_alert_reason){"agent_csat", v, v - cons.mean};
        a.reasons[a.n_reasons++] = (cxp_alert_reason){"team_csat_mean", cons.mean, 0};
        a.reasons[a.n_reasons++] = (cxp_alert_reason){"team_csat_sd", cons.spread, 0};
        a.reasons[a.n_reasons++] = (cxp_alert_reason){"n", (double)p->agg.csat_n, 0};
        a.actions_json = c->pl->agent_flag_actions;
        a.role = c->pl->agent_flag_role;
        a.detail_key = "agent";
        a.detail_json = body.p;
        group_alert_emit(c, &a, p->value[0], p->value_len[0]);
        cxp_buf_free(&body);
      }
    }
    i = j;
  }
}

/* A merger's final record: on the indicators topic, keyed by the group. */
static void on_final(void *opaque, const cxp_window_partial *p, const int32_t *missing,
                     int n_missing) {
  cxp_core *c = opaque;
  cxp_buf_reset(&c->key);
  cxp_window_group_key(&c->key, p);
  cxp_buf_reset(&c->out);
  cxp_window_record_write(&c->out, p, c->pl->name, c->pl->windows.min_n, missing, n_missing);
  emit(c, CXP_STREAM_INDICATORS, c->key.p, c->key.len);
  /* A group's trailing means take its first complete record only: a
   * revision would count the window twice. */
  if (c->pl->anomaly_enabled && n_missing == 0 && p->revision == 0)
    score_drop(c, p, c->key.p, c->key.len);
}

static cxp_merger *merger_of(cxp_core *c, int32_t r) {
  if (r < 0 || r > 0xffff) return NULL;
  grow_table(&c->merge, &c->n_merge, r);
  if (c->merge[r] == NULL) {
    c->merge[r] = cxp_merger_create(c->n_inputs, c->pl->merge_timeout_ms, on_final, c);
    if (c->merge[r] == NULL) abort();
    cxp_merger_on_batch(c->merge[r], on_batch);
    cxp_merger_revisions(c->merge[r], &c->pl->windows, (uint32_t)c->pl->win_max_revisable);
  }
  return c->merge[r];
}

/* A destination of the record ship() is about to send. */
static void ship_to(cxp_core *c, int32_t r) {
  if (c->box_list_has[r]) return;
  c->box_list_has[r] = 1;
  c->box_list[c->n_box_list++] = r;
}

/* A window closed (or revised, or closed early) on an input partition:
 * merged here (replay), or put in the outbox of the repartition partition
 * that merges its window, which ship() sends with the watermark. */
static void on_window_close(void *opaque, const cxp_window_partial *p) {
  cxp_core *c = opaque;
  if (c->local_merge) {
    cxp_merger_partial(merger_of(c, 0), p, 0, -1);
    return;
  }
  int32_t r = cxp_wire_dest(p->length_ms, p->start_ms, c->n_repart);
  ship_to(c, r);
  cxp_wire_put(&c->box[r], p);
}

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* After a partition's windows changed (an event, a tick, a revoke): one
 * record to each repartition partition that has partials waiting, or that
 * merges a window whose end the watermark passed, with the watermark. On
 * the first watermark, or one that passed more windows than there are
 * repartition partitions, every repartition partition hears of it. */
static void ship(cxp_core *c, int32_t part) {
  int64_t wm = cxp_windows_watermark(c->win[part]), was = c->marked[part];
  int crossed = 0, all = 0;
  if (wm != was && wm != INT64_MIN) {
    all = was == INT64_MIN;
    for (int i = 0; i < c->pl->windows.n_lengths; i++) {
      int64_t len = c->pl->windows.length_ms[i];
      int64_t k0 = floor_div(was, len), k1 = floor_div(wm, len);
      if (k1 == k0) continue;
      crossed = 1;
      if (c->local_merge || all) continue;
      if (k1 - k0 > (int64_t)c->n_repart) {
        all = 1;
        continue;
      }
      /* The windows ending at (k0 + 1) * len .. k1 * len closed here. */
      for (int64_t k = k0 + 1; k <= k1; k++)
        ship_to(c, cxp_wire_dest(len, (k - 1) * len, c->n_repart));
    }
    crossed |= all;
    /* Between was and wm no other boundary lies: nobody needs wm unless
     * a later one is crossed. */
    c->marked[part] = wm;
  }
  if (c->local_merge) {
    if (crossed) cxp_merger_marker(merger_of(c, 0), part, wm);
    return;
  }
  if (all)
    for (int32_t r = 0; r < c->n_repart; r++) ship_to(c, r);
  for (int32_t i = 0; i < c->n_box_list; i++) {
    int32_t r = c->box_list[i];
    cxp_wire_begin(&c->out, part, wm);
    if (c->box[r].len) cxp_buf_put(&c->out, c->box[r].p, c->box[r].len);
    char key[16];
    int kl = snprintf(key, sizeof key, "%d", (int)r);
    emit(c, CXP_STREAM_PARTIALS, key, (size_t)kl);
    cxp_buf_reset(&c->box[r]);
    c->box_list_has[r] = 0;
  }
  c->n_box_list = 0;
}

static cxp_windows *windows_of(cxp_core *c, int32_t part) {
  if (!c->pl->win_enabled || part < 0 || part > 0xffff) return NULL;
  if (part >= c->n_win) {
    int32_t old = c->n_win;
    grow_table(&c->win, &c->n_win, part);
    int64_t *nk = cxp_xrealloc(c->marked, sizeof *nk * (size_t)c->n_win);
    for (int32_t i = old; i < c->n_win; i++) nk[i] = INT64_MIN;
    c->marked = nk;
  }
  if (c->win[part] == NULL) {
    c->win[part] = cxp_windows_create(&c->pl->windows, part, on_window_close, c);
    if (c->win[part] == NULL) abort();
    cxp_windows_track(c->win[part], c->changelog);
    c->marked[part] = INT64_MIN;
  }
  return c->win[part];
}

/* Adds a partition's late events, by window length, to the totals. */
static void late_add(uint64_t *revised, uint64_t *missed, const cxp_windows *w) {
  cxp_window_stats ws = cxp_windows_stats(w);
  for (int li = 0; li < CXP_WIN_MAX_LENGTHS; li++) {
    revised[li] += ws.late_revised[li];
    missed[li] += ws.late_missed[li];
  }
}

void cxp_core_late_stats_get(const cxp_core *c, cxp_core_late_stats *out) {
  memset(out, 0, sizeof *out);
  memcpy(out->revised, c->late_revised_retired, sizeof out->revised);
  memcpy(out->missed, c->late_missed_retired, sizeof out->missed);
  for (int32_t i = 0; i < c->n_win; i++)
    if (c->win[i]) late_add(out->revised, out->missed, c->win[i]);
  for (int32_t i = 0; i < c->n_merge; i++) {
    if (c->merge[i] == NULL) continue;
    cxp_merge_stats ms = cxp_merger_stats(c->merge[i]);
    out->kept += ms.kept;
    out->revisions += ms.revisions;
  }
}

void cxp_core_merge_local(cxp_core *c, int32_t n_inputs) {
  c->local_merge = 1;
  c->n_inputs = n_inputs > 0 ? n_inputs : 1;
}

void cxp_core_set_inputs(cxp_core *c, int32_t n_inputs, int32_t n_repart) {
  c->n_inputs = n_inputs > 0 ? n_inputs : 1;
  int32_t n = n_repart > 0 ? n_repart : 1;
  for (int32_t i = 0; i < c->n_repart; i++) cxp_buf_free(&c->box[i]);
  free(c->box);
  free(c->box_list);
  free(c->box_list_has);
  c->n_repart = n;
  c->box = cxp_xcalloc((size_t)n, sizeof *c->box);
  c->box_list = cxp_xcalloc((size_t)n, sizeof *c->box_list);
  c->box_list_has = cxp_xcalloc((size_t)n, 1);
  c->n_box_list = 0;
}

static size_t churn_silence(cxp_core *c, int32_t part, int64_t t);

int cxp_core_tick_input(cxp_core *c, int32_t part, int64_t now_wall_ms) {
  int n = 0;
  c->cur_part = part;
  c->cur_now_ms = now_wall_ms;
  c->cur_msg = NULL;
  /* Cases first: a case closing well counts in windows the tick may close. */
  if (part >= 0 && part < c->n_cases && c->cases[part])
    n += cxp_cases_tick(c->cases[part], now_wall_ms);
  int64_t clock = INT64_MIN;
  if (part >= 0 && part < c->n_win && c->win[part]) {
    n += cxp_windows_tick(c->win[part], now_wall_ms);
    ship(c, part);
    int64_t wm = cxp_windows_watermark(c->win[part]);
    if (wm != INT64_MIN) clock = wm + (int64_t)(c->pl->win_lateness_s * 1000);
  }
  /* The partition's clock as its windows and cases keep it (advanced by
   * wall time when it is quiet); the core's newest event time without them. */
  if (part >= 0 && part < c->n_cases && c->cases[part] &&
      cxp_cases_clock(c->cases[part]) > clock)
    clock = cxp_cases_clock(c->cases[part]);
  if (clock == INT64_MIN && c->clock_ms > 0) clock = c->clock_ms;
  n += (int)churn_silence(c, part, clock);
  return n;
}

int cxp_core_tick_merge(cxp_core *c, int32_t part, int64_t now_wall_ms) {
  if (part < 0 || part >= c->n_merge || c->merge[part] == NULL) return 0;
  /* Emitted by the clock, after the last message taken. */
  cxp_merger_at(c->merge[part], -1);
  c->cur_now_ms = now_wall_ms;
  return cxp_merger_tick(c->merge[part], now_wall_ms);
}

void cxp_core_drop_input(cxp_core *c, int32_t part, int send_partials) {
  if (part >= 0 && part < c->n_win && c->win[part]) {
    if (send_partials) {
      cxp_windows_flush(c->win[part]);
      ship(c, part);
      /* Their records' tombstones wait with the customers' frames for the
       * partition's last flush: the next owner must not restore windows
       * whose sums went out as early partials. */
      cxp_shard *sh = c->changelog ? cxp_state_shard(&c->state, part) : NULL;
      if (sh) sh->n_gone += cxp_windows_take_gone(c->win[part], &sh->gone);
    }
    late_add(c->late_revised_retired, c->late_missed_retired, c->win[part]);
    cxp_windows_destroy(c->win[part]);
    c->win[part] = NULL;
    c->marked[part] = INT64_MIN;
  }
}

void cxp_core_drop_state(cxp_core *c, int32_t part) {
  /* His open cases are part of a customer's state (and of his record). */
  if (part >= 0 && part < c->n_cases && c->cases[part]) {
    cxp_cases_stats st = cxp_cases_stats_get(c->cases[part]);
    cases_stats_add(&c->cases_retired, &st, 0);
    cxp_cases_destroy(c->cases[part]);
    c->cases[part] = NULL;
  }
  cxp_state_drop(&c->state, part);
}

size_t cxp_core_partition_changed(const cxp_core *c, int32_t part) {
  size_t n = 0;
  if (part >= 0 && part < c->n_cases && c->cases[part])
    n += cxp_cases_groups_changed(c->cases[part]);
  if (part >= 0 && part < c->n_win && c->win[part]) n += cxp_windows_changed(c->win[part]);
  return n;
}

size_t cxp_core_partition_flush(cxp_core *c, int32_t part, int64_t x, cxp_buf *out) {
  size_t n = 0;
  if (part >= 0 && part < c->n_cases && c->cases[part])
    n += cxp_cases_groups_flush(c->cases[part], out);
  if (part >= 0 && part < c->n_win && c->win[part])
    n += cxp_windows_flush_state(c->win[part], x, out);
  return n;
}

size_t cxp_core_state_extra(cxp_core *c, int32_t part, cxp_buf *out) {
  if (part < 0 || part >= c->n_cases || c->cases[part] == NULL) return 0;
  return cxp_cases_groups_all(c->cases[part], out);
}

size_t cxp_core_state_dirty(const cxp_core *c, int32_t part) {
  if (part < 0 || part >= c->state.n_shards || c->state.shards[part] == NULL) return 0;
  return c->state.shards[part]->n_dirty + c->state.shards[part]->n_gone;
}

void cxp_core_state_ext(void *core, int32_t part, const cxp_customer *cu, cxp_buf *ext) {
  cxp_core *c = core;
  if (part < 0 || part >= c->n_cases || !c->cases[part]) return;
  /* The cases know only a customer a case was ever opened for, or one whose
   * step waits for its case. */
  if (!(cu->open_cases || cu->cohort || cxp_cases_parked_now(c->cases[part]))) return;
  cxp_cases_encode(c->cases[part], cu->id, cu->id_len, ext);
}

static void state_frame(cxp_core *c, int32_t part, cxp_buf *out, const cxp_customer *cu) {
  cxp_buf_reset(&c->ext);
  cxp_core_state_ext(c, part, cu, &c->ext);
  cxp_staterec_frame(out, cu, cxp_state_segment_name(&c->state, cu->segment), c->ext.p,
                     c->ext.len);
}

size_t cxp_core_state_flush(cxp_core *c, int32_t part, cxp_buf *out) {
  if (part < 0 || part >= c->state.n_shards || c->state.shards[part] == NULL) return 0;
  cxp_shard *sh = c->state.shards[part];
  size_t gone = sh->n_gone;
  if (sh->gone.len) cxp_buf_put(out, sh->gone.p, sh->gone.len);
  sh->gone.len = 0;
  sh->n_gone = 0;
  size_t n = sh->n_dirty;
  for (size_t i = 0; i < n; i++) {
    cxp_customer *cu = sh->dirty[i];
    cu->dirty = 0;
    state_frame(c, part, out, cu);
  }
  sh->n_dirty = 0;
  return gone + n;
}

/* A customer leaves memory. With the changelog on, a tombstone says he is
 * gone for good; otherwise his state, if it changed since his last record,
 * is written so that the changelog keeps it. */
static void evict(cxp_core *c, cxp_shard *sh, cxp_customer *cu, int tombstone) {
  if (c->changelog && (tombstone || cu->dirty)) {
    if (tombstone)
      cxp_staterec_frame_tombstone(&sh->gone, cu->id, cu->id_len);
    else
      state_frame(c, sh->partition, &sh->gone, cu);
    sh->n_gone++;
  }
  if (tombstone)
    c->n.evicted_ttl++;
  else
    c->n.evicted_cap++;
  cxp_shard_remove(&c->state, sh, cu->id, cu->id_len);
}

/* Over state.max_customers: of five customers of the shard sampled at
 * random, the one whose latest event is oldest leaves (an approximation of
 * least recently used, without a list to keep in order on every event).
 * Never `keep` (the customer just added), nor one with a case open. */
static void evict_for_cap(cxp_core *c, cxp_shard *sh, const cxp_customer *keep) {
  size_t mask = sh->cap - 1;
  cxp_customer *best = NULL;
  for (int k = 0; k < 5; k++) {
    c->rng ^= c->rng << 13, c->rng ^= c->rng >> 7, c->rng ^= c->rng << 17;
    size_t i = (size_t)c->rng & mask;
    for (size_t n = 0; n < sh->cap && sh->slots[i] == NULL; n++) i = (i + 1) & mask;
    cxp_customer *x = sh->slots[i];
    if (x == NULL || x == keep || x->open_cases) continue;
    if (best == NULL || x->last_ts_ms < best->last_ts_ms) best = x;
  }
  if (best) evict(c, sh, best, 0);
}

size_t cxp_core_state_expire(cxp_core *c, int32_t part) {
  if (c->pl->state_ttl_days <= 0) return 0;
  if (part < 0 || part >= c->state.n_shards || c->state.shards[part] == NULL) return 0;
  cxp_shard *sh = c->state.shards[part];
  int64_t before = c->clock_ms - (int64_t)(c->pl->state_ttl_days * 86400000.0);
  size_t budget = sh->cap / 32 > 4096 ? sh->cap / 32 : 4096, gone = 0;
  for (size_t n = 0; n < budget; n++) {
    size_t i = sh->sweep & (sh->cap - 1);
    cxp_customer *cu = sh->slots[i];
    if (cu && cu->last_ts_ms < before && cu->open_cases == 0) {
      /* The slot is refilled by the next of its probe run, if any: look at
       * it again. */
      evict(c, sh, cu, 1);
      gone++;
      continue;
    }
    sh->sweep = i + 1;
  }
  return gone;
}

int cxp_core_state_restore(cxp_core *c, int32_t part, const char *key, size_t klen,
                           const void *val, size_t vlen, char *err, size_t errlen) {
  cxp_customer *cu;
  const uint8_t *ext;
  size_t el;
  size_t sl = sizeof CXP_CL_SYSTEMIC - 1;
  char why[200] = "";
  if (klen >= sl && memcmp(key, CXP_CL_SYSTEMIC, sl) == 0) {
    cxp_cases *cs = cases_of(c, part);
    if (cs == NULL) return 0; /* recovery off in this pipeline: nothing to restore */
    if (cxp_cases_group_restore(cs, key, klen, val, vlen, why, sizeof why) == 0) return 0;
    snprintf(err, errlen, "systemic group record '%.*s': %s", (int)(klen > 80 ? 80 : klen), key,
             why);
    return -1;
  }
  if (klen >= 2 && key[0] == 'w' && (key[1] == ':' || key[1] == 'c')) {
    cxp_windows *w = windows_of(c, part);
    if (w == NULL) return 0; /* windows off in this pipeline: nothing to restore */
    if (cxp_windows_restore(w, key, klen, val, vlen, why, sizeof why) == 0) return 0;
    snprintf(err, errlen, "window record '%.*s': %s", (int)(klen > 80 ? 80 : klen), key, why);
    return -1;
  }
  if (cxp_staterec_apply(&c->state, part, key, klen, val, vlen, &cu, &ext, &el, err, errlen))
    return -1;
  cxp_cases *cs = cu ? cases_of(c, part) : NULL;
  if (cs == NULL) return 0;
  if (el == 0) {
    cxp_cases_clock_hint(cs, cu->last_ts_ms);
    cxp_cases_forget(cs, cu->id, cu->id_len);
    return 0;
  }
  if (cxp_cases_restore(cs, cu->id, cu->id_len, ext, el, cu->last_ts_ms, err, errlen) == 0) {
    restored_counts(cs, cu);
    return 0;
  }
  size_t l = strlen(err);
  if (l < errlen) snprintf(err + l, errlen - l, " (he is restored without them)");
  return -1;
}

size_t cxp_core_state_restore_cases(cxp_core *c, int32_t part, const cxp_buf *frames,
                                    int64_t max_ts) {
  cxp_cases *cs = cases_of(c, part);
  if (cs == NULL) return 0;
  cxp_cases_clock_hint(cs, max_ts);
  size_t pos = 0, bad = 0, kl, vl;
  const char *k;
  const uint8_t *v;
  cxp_shard *sh = cxp_state_shard(&c->state, part);
  while (cxp_staterec_frame_next(frames->p, frames->len, &pos, &k, &kl, &v, &vl)) {
    if (v == NULL || cxp_cases_restore(cs, k, kl, v, vl, max_ts, NULL, 0) != 0) {
      bad++;
      continue;
    }
    cxp_customer *cu = sh ? cxp_shard_find(sh, k, kl) : NULL;
    if (cu) restored_counts(cs, cu);
  }
  return bad;
}

void cxp_core_drop_merge(cxp_core *c, int32_t part) {
  if (part < 0 || part >= c->n_merge || c->merge[part] == NULL) return;
  cxp_merger_destroy(c->merge[part]);
  c->merge[part] = NULL;
}

int32_t cxp_core_merge_watermarks(cxp_core *c, int32_t part, int64_t commit_offset,
                                  int64_t *out) {
  if (part < 0 || part >= c->n_merge || c->merge[part] == NULL) return 0;
  return cxp_merger_watermarks_at(c->merge[part], commit_offset, out);
}

void cxp_core_merge_set_watermarks(cxp_core *c, int32_t part, const int64_t *wm, int32_t n) {
  cxp_merger *m = merger_of(c, part);
  if (m) cxp_merger_set_watermarks(m, wm, n);
}

void cxp_core_merge_set_floor(cxp_core *c, int32_t part, int64_t floor) {
  cxp_merger *m = merger_of(c, part);
  if (m) cxp_merger_set_floor(m, floor);
}

int64_t cxp_core_merge_commit_point(const cxp_core *c, int32_t part, int64_t committable) {
  if (part < 0 || part >= c->n_merge || c->merge[part] == NULL) return committable;
  return cxp_merger_commit_point(c->merge[part], committable);
}

int64_t cxp_core_merge_hold(const cxp_core *c, int32_t part) {
  if (part < 0 || part >= c->n_merge || c->merge[part] == NULL) return -1;
  return cxp_merger_hold(c->merge[part]);
}

void cxp_core_finish(cxp_core *c) {
  for (int32_t i = 0; i < c->n_win; i++)
    if (c->win[i]) cxp_windows_flush(c->win[i]);
  if (!c->local_merge) return;
  cxp_merger *m = merger_of(c, 0);
  for (int32_t i = 0; i < c->n_inputs; i++) cxp_merger_marker(m, i, INT64_MAX);
  cxp_merger_flush(m);
}

/* {"v":1,"marker":true,"partition":P,"watermark":W}: what announce writes. */
static int parse_marker(const char *s, size_t n, int32_t *part, int64_t *wm) {
  char buf[160];
  if (n >= sizeof buf) return -1;
  memcpy(buf, s, n);
  buf[n] = '\0';
  int p, used = 0;
  long long w;
  if (sscanf(buf, "{\"v\":1,\"marker\":true,\"partition\":%d,\"watermark\":%lld}%n", &p, &w,
             &used) != 2 || (size_t)used != n || p < 0)
    return -1;
  *part = p;
  *wm = w;
  return 0;
}

/* A record of the repartition topic (winwire.h): its partials to the
 * merger, then its watermark. A partial the merger refuses as late (its
 * window past its horizon) is dead-lettered with the record, naming it;
 * the rest of the record still counts. */
static cxp_reason take_record(cxp_core *c, cxp_merger *mg, const cxp_msg *m) {
  cxp_wire_rd rd;
  char err[256];
  if (cxp_wire_open(&rd, m->payload, m->len, err, sizeof err) != 0) {
    cxp_core_dead_letter(c, m, CXP_BAD_TYPE, err);
    return CXP_BAD_TYPE;
  }
  if (rd.input >= c->n_inputs) {
    cxp_core_dead_letter(c, m, CXP_BAD_OUT_OF_RANGE,
                         "window record of an input partition the input topic does not have");
    return CXP_BAD_OUT_OF_RANGE;
  }
  cxp_window_partial p;
  cxp_reason r = CXP_OK;
  int got;
  while ((got = cxp_wire_next(&rd, &p, err, sizeof err)) == 1) {
    int taken = cxp_merger_partial(mg, &p, m->now_ms, m->offset);
    if (taken == 1 || taken == 2) c->n.partial_duplicates++;
    if (taken >= 0) continue;
    cxp_buf_reset(&c->key);
    cxp_window_group_key(&c->key, &p);
    char detail[400];
    snprintf(detail, sizeof detail, "a partial of the %llds window from %lld, group %.*s, from "
             "input partition %d, came after its records were past their revision horizon",
             (long long)(p.length_ms / 1000), (long long)p.start_ms, (int)c->key.len, c->key.p,
             (int)rd.input);
    cxp_core_dead_letter(c, m, CXP_BAD_LATE, detail);
    r = CXP_BAD_LATE;
  }
  if (got < 0) {
    /* What went before the damage is taken; the watermark is not (it
     * would vouch for partials the record no longer delivers). */
    cxp_core_dead_letter(c, m, CXP_BAD_TYPE, err);
    return CXP_BAD_TYPE;
  }
  cxp_merger_marker(mg, rd.input, rd.watermark);
  cxp_merger_mark_offset(mg, m->offset);
  return r;
}

cxp_reason cxp_core_process_repartition(cxp_core *c, const cxp_msg *m) {
  c->n.repartition_in++;
  c->cur_now_ms = m->now_ms;
  cxp_merger *mg = merger_of(c, m->partition < 0 ? 0 : m->partition);
  if (mg == NULL) {
    cxp_core_dead_letter(c, m, CXP_BAD_OUT_OF_RANGE, "repartition partition out of range");
    return CXP_BAD_OUT_OF_RANGE;
  }
  cxp_merger_at(mg, m->offset);
  if (cxp_wire_is(m->payload, m->len)) return take_record(c, mg, m);
  static const char marker_head[] = "{\"v\":1,\"marker\":";
  if (m->len > sizeof marker_head - 1 &&
      memcmp(m->payload, marker_head, sizeof marker_head - 1) == 0) {
    int32_t part;
    int64_t wm;
    if (parse_marker(m->payload, m->len, &part, &wm) != 0) {
      cxp_core_dead_letter(c, m, CXP_BAD_TYPE, "not a window marker");
      return CXP_BAD_TYPE;
    }
    if (cxp_merger_marker(mg, part, wm) < 0) {
      cxp_core_dead_letter(c, m, CXP_BAD_OUT_OF_RANGE,
                           "window marker of an input partition the input topic does not have");
      return CXP_BAD_OUT_OF_RANGE;
    }
    cxp_merger_mark_offset(mg, m->offset);
    return CXP_OK;
  }
  cxp_window_partial p;
  if (cxp_window_partial_parse(m->payload, m->len, &p) != 0) {
    cxp_core_dead_letter(c, m, CXP_BAD_TYPE, "not a window partial aggregate");
    return CXP_BAD_TYPE;
  }
  int taken = cxp_merger_partial(mg, &p, m->now_ms, m->offset);
  if (taken == 1 || taken == 2) {
    c->n.partial_duplicates++;
    return CXP_OK;
  }
  if (taken != 0) {
    if (p.partition >= c->n_inputs) {
      cxp_core_dead_letter(c, m, CXP_BAD_OUT_OF_RANGE,
                           "window partial of an input partition the input topic does not have");
      return CXP_BAD_OUT_OF_RANGE;
    }
    cxp_core_dead_letter(c, m, CXP_BAD_LATE,
                         "window partial arrived after its window's record was emitted");
    return CXP_BAD_LATE;
  }
  return CXP_OK;
}

/* Fills in and emits churn.risk for a band entered (silent_days >= 0: by
 * silence, no event). */
static void churn_alert(cxp_core *c, cxp_customer *cu, const cxp_churn_score *sc, int prev,
                        int next, double silent_days, cxp_alert *a) {
  a->priority = next == CXP_CHURN_HIGH ? 2 : 3;
  a->n_reasons = cxp_churn_reasons(sc, c->churn.top_k, a->reasons);
  int lead = -1;
  if (a->n_reasons > 0)
    lead = cxp_churn_factor_by_name(a->reasons[0].factor, strlen(a->reasons[0].factor));
  a->actions_json =
      cxp_churn_actions(&c->churn, a->segment.p, a->segment.p ? a->segment.n : 0, lead);
  char body[300], silent[48] = "";
  if (silent_days >= 0) snprintf(silent, sizeof silent, ",\"silent_days\":%.2f", silent_days);
  snprintf(body, sizeof body,
           "{\"p\":%.4f,\"band\":\"%s\",\"previous_band\":\"%s\",\"value\":%.2f,"
           "\"value_at_risk\":%.2f,\"value_from_profile\":%s%s}",
           sc->p, cxp_churn_band_name(next), cxp_churn_band_name(prev), sc->value,
           sc->value_at_risk, sc->value_from_profile ? "true" : "false", silent);
  a->detail_key = "churn";
  a->detail_json = body;
  alert_emit(c, cu, a);
}

/* Churn risk (issue 5): the customer's score after this event; the band
 * moves with hysteresis, and entering a higher band raises churn.risk
 * (cooldown and consent as every outreach alert). Returns the new band. */
static int churn_risk(cxp_core *c, cxp_customer *cu, const cxp_event *ev, const cxp_msg *m,
                      double *value_at_risk) {
  cxp_churn_score sc;
  cxp_churn_eval(&c->churn, cu, c->pl, cu->open_cases, cu->overdue_cases, ev->ts_ms, &sc);
  int prev = cu->churn_band, next = cxp_churn_band_next(prev, sc.p, &c->churn);
  cu->churn_band = (uint8_t)next;
  *value_at_risk = sc.value_at_risk;
  cxp_alert a;
  if (cxp_churn_should_alert(prev, next) &&
      alert_begin(c, cu, ev, m, CXP_AL_CHURN_RISK, 1, &a))
    churn_alert(c, cu, &sc, prev, next, -1, &a);
  return next;
}

/* Silence (issue 5): a slice of the partition's customers (a sixty-fourth
 * of its table, at least 256 slots, so a pass takes about a minute of
 * ticks), each without an event for churn.silence_days by the partition's
 * clock t, re-scored at t. Silence only raises: a customer it lifts into a
 * higher band takes it (his record with it) and raises churn.risk, cooldown
 * and consent as ever, with no triggering event; the alert id is salted with
 * the day, so a replay of the same silence repeats it. */
static size_t churn_silence(cxp_core *c, int32_t part, int64_t t) {
  const cxp_pipeline *p = c->pl;
  if (!p->churn_enabled || p->churn_silence_days <= 0 || t == INT64_MIN) return 0;
  if (part < 0 || part >= c->state.n_shards || c->state.shards[part] == NULL) return 0;
  cxp_shard *sh = c->state.shards[part];
  if (sh->count == 0) return 0;
  int64_t quiet = (int64_t)(p->churn_silence_days * 86400000.0);
  size_t budget = sh->cap / 64 > 256 ? sh->cap / 64 : 256, raised = 0;
  if (budget > sh->cap) budget = sh->cap;
  for (size_t n = 0; n < budget; n++) {
    cxp_customer *cu = sh->slots[sh->csweep++ & (sh->cap - 1)];
    if (cu == NULL || cu->churn_band >= CXP_CHURN_HIGH || t - cu->last_ts_ms < quiet) continue;
    cxp_churn_score sc;
    cxp_churn_eval(&c->churn, cu, p, cu->open_cases, cu->overdue_cases, t, &sc);
    int prev = cu->churn_band, next = cxp_churn_band_next(prev, sc.p, &c->churn);
    if (next <= prev) continue;
    cu->churn_band = (uint8_t)next;
    cxp_shard_touch(sh, cu);
    c->n.churn_silence++;
    cxp_alert a;
    if (!cxp_churn_should_alert(prev, next) ||
        !alert_begin_at(c, cu, t, c->cur_now_ms, CXP_AL_CHURN_RISK, 1, &a))
      continue;
    char salt[40];
    int sl = snprintf(salt, sizeof salt, "silence:%lld", (long long)(t / 86400000));
    a.id_salt = (cxp_str){salt, (size_t)sl};
    churn_alert(c, cu, &sc, prev, next, (double)(t - cu->last_ts_ms) / 86400000.0, &a);
    raised++;
  }
  return raised;
}

static cxp_reason process(cxp_core *c, const cxp_msg *m) {
  cxp_event ev;
  char detail[640];
  cxp_decode_opts o = {.max_bytes = (size_t)c->pl->max_event_bytes,
                       .now_ms = m->check_future ? m->received_ms : 0,
                       .max_future_ms = c->pl->max_future_s * 1000};
  c->n.consumed++;
  cxp_reason r = cxp_event_decode(m->payload, m->len, &o, &ev, detail, sizeof detail);
  if (r != CXP_OK) {
    cxp_core_dead_letter(c, m, r, detail);
    return r;
  }
  /* A replay has no partitions: it is one shard. */
  cxp_shard *sh = cxp_state_shard(&c->state, m->partition < 0 ? 0 : m->partition);
  size_t held = sh->count;
  cxp_customer *cu = cxp_shard_get(&c->state, sh, ev.customer_id.p, ev.customer_id.n);
  /* A new customer past the cap: one of the others leaves. */
  if (c->pl->state_max_customers > 0 && sh->count > held &&
      c->state.customers > (size_t)c->pl->state_max_customers)
    evict_for_cap(c, sh, cu);
  if (cxp_customer_seen(cu, m->offset, ev.event_id.p, ev.event_id.n)) {
    c->n.duplicates++;
    return CXP_OK;
  }
  cxp_shard_touch(sh, cu);
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
  /* The customer's first event in a window of each length (events of one
   * customer mostly come in order: one out of order is not counted as a
   * first, so a window may undercount its customers, never overcount). */
  unsigned first_mask = 0;
  if (c->pl->win_enabled)
    for (int li = 0; li < c->pl->windows.n_lengths; li++) {
      int64_t len = c->pl->windows.length_ms[li];
      if (cu->last_ts_ms == 0 || floor_div(ev.ts_ms, len) > floor_div(cu->last_ts_ms, len))
        first_mask |= 1u << li;
    }
  /* Post-recovery satisfaction: the first CSAT or NPS after one of his
   * cases was resolved (in the order events arrive). */
  int post = 0;
  if (ev.type == CXP_EV_REC_RESOLVED && ev.ts_ms > cu->resolved_ms) {
    cu->resolved_ms = ev.ts_ms;
    cu->post_pending = 1;
  } else if ((ev.type == CXP_EV_CSAT || ev.type == CXP_EV_NPS) && cu->post_pending &&
             ev.ts_ms >= cu->resolved_ms) {
    post = 1;
    cu->post_pending = 0;
  }
  int survey = cxp_customer_apply(cu, &ev, c->pl);
  /* The satisfaction index after a survey response, once: the windows'
   * cohorts and satisfaction.drop both read it. */
  double si = NAN, si_base = NAN;
  if (survey) cxp_customer_si(cu, c->pl, &si, &si_base);
  /* The segment sticks to the customer: from here on an event without one
   * counts under his latest, in his cases, his score and the windows. */
  if (ev.segment.p == NULL && cu->segment) {
    const char *seg = cxp_state_segment_name(&c->state, cu->segment);
    ev.segment = (cxp_str){seg, strlen(seg)};
  }
  c->cur_part = sh->partition;
  c->cur_now_ms = m->now_ms;
  c->cur_msg = m;
  int opened;
  cxp_reason case_bad =
      apply_cases(c, cu, &ev, m, sh->partition, detail, sizeof detail, &opened);
  double var = 0;
  int band = c->pl->churn_enabled ? churn_risk(c, cu, &ev, m, &var) : -1;
  cxp_windows *w = windows_of(c, sh->partition);
  int late = 0;
  if (w) {
    cxp_window_ctx wc = {band, opened, -1, first_mask, NAN, post, var, m->offset};
    /* The recovery-paradox cohort he is in (kept on him by the case
     * callbacks); none while a case of his is open. */
    if (opened >= 0 && cu->cohort < 3) {
      wc.cohort = cu->cohort;
      wc.si = si;
    }
    late = cxp_windows_add_ctx(w, &ev, m->received_ms, &wc) == CXP_BAD_LATE;
    ship(c, sh->partition);
  }
  if (ev.type == CXP_EV_NPS) closed_loop(c, cu, &ev, m);
  if (ev.type == CXP_EV_SERVQUAL) servqual_gap(c, cu, &ev, m);
  if (survey) satisfaction_drop(c, cu, &ev, m, si, si_base);
  if (case_bad != CXP_OK) {
    cxp_core_dead_letter(c, m, case_bad, detail);
    return case_bad;
  }
  if (late) {
    /* Order-independent, the customer's figures take it; every window it
     * belongs to is past its revision horizon, so it is reported as the
     * domain says. */
    c->n.late_applied++;
    char missed[400];
    cxp_windows_missed(w, missed, sizeof missed);
    snprintf(detail, sizeof detail,
             "applied to the customer's indicators, but too late for every segment window it "
             "belongs to: %s", missed);
    cxp_core_dead_letter(c, m, CXP_BAD_LATE, detail);
    return CXP_BAD_LATE;
  }
  return CXP_OK;
}

void cxp_core_prefetch(cxp_core *c, int32_t partition, uint64_t key_hash, int far) {
  int32_t p = partition < 0 ? 0 : partition;
  if (p >= c->state.n_shards) return;
  if (far)
    cxp_shard_prefetch_slot(c->state.shards[p], key_hash);
  else
    cxp_shard_prefetch(c->state.shards[p], key_hash);
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
