#include "core.h"

#include "core_int.h"

const char *cxp_stream_name(cxp_stream s) {
  static const char *names[] = {"alerts", "indicators", "dead_letters", "partials", "markers",
                                "changelog", "cases"};
  return s < CXP_STREAM__COUNT ? names[s] : "unknown";
}



/* Grows a per-partition table of pointers (cases, windows, mergers) so that
 * index `part` exists: doubling from 16, new entries NULL. `table` is the
 * address of the table's pointer, copied in and out with memcpy so that one
 * helper serves every pointer type without aliasing them. */
void core_grow_table(void *table, int32_t *n, int32_t part) {
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
  cxp_pipeline_customer(pl, &c->customer);
  char cerr[256];
  /* The loader validated the churn settings: defaults only if a caller
   * hands the core a pipeline it filled by hand, wrongly. */
  if (cxp_pipeline_churn(pl, &c->churn, cerr, sizeof cerr) != 0) cxp_churn_conf_defaults(&c->churn);
  c->churn_prior = c->churn;
  core_learn_setup(c);
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
  free(c->local_q);
  for (int32_t i = 0; i < c->n_cases; i++) cxp_cases_destroy(c->cases[i]);
  free(c->cases);
  cxp_solutions_destroy(c->solutions);
  for (uint32_t i = 0; i < c->parked_cap; i++) {
    free(c->parked[i].bytes);
    free(c->parked[i].key);
  }
  free(c->parked);
  core_trail_free_all(c);
  core_learn_free(c);
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

void core_emit(cxp_core *c, const cxp_msg *from, cxp_stream s, const char *key, size_t klen) {
  c->n.outputs[s]++;
  c->emit(c->opaque, from, s, key, klen, c->out.p, c->out.len);
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

void core_dead_letter(cxp_core *c, const cxp_msg *from, const cxp_msg *m, cxp_reason r,
                      const char *detail) {
  cxp_dead_letter d = {.reason = r, .detail = detail, .payload = m->payload,
                       .payload_len = m->len};
  size_t klen = cxp_core_render_dead_letter(c, m, &d, &c->out);
  /* Keyed like the input, so a dead letter lands beside its customer's
   * other records for whoever replays them. */
  core_emit(c, from, CXP_STREAM_DEAD_LETTERS, klen ? m->key : NULL, klen);
}

void cxp_core_dead_letter(cxp_core *c, const cxp_msg *m, cxp_reason r, const char *detail) {
  core_dead_letter(c, m, m, r, detail);
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

/* Lifts the priority for a premium segment and for the customer's value at
 * risk (var: his churn probability x value, 0 unknown), writes and emits
 * the alert. A value lift names its figure among the reasons. */
static void alert_emit(cxp_core *c, const cxp_msg *from, cxp_customer *cu, cxp_alert *a,
                       double var) {
  int premium = a->segment.p && cxp_pipeline_is_premium(c->pl, a->segment.p, a->segment.n);
  int tier = cxp_alert_value_tier(var, c->pl->var_lift, c->pl->var_lift2);
  a->priority = cxp_alert_lift_by(a->priority, tier > premium ? tier : premium);
  if (tier && a->n_reasons < CXP_ALERT_MAX_REASONS)
    a->reasons[a->n_reasons++] = (cxp_alert_reason){"value_at_risk", var, 0};
  c->n.alerts[a->type]++;
  if (a->priority >= 1 && a->priority <= 4) c->n.alerts_by_priority[a->type][a->priority - 1]++;
  cxp_buf_reset(&c->out);
  cxp_alert_write(&c->out, a, c->pl->name);
  core_emit(c, from, CXP_STREAM_ALERTS, cu->id, cu->id_len);
}

int core_closed_loop_cooling(const cxp_core *c, const cxp_customer *cu, const cxp_event *ev) {
  return c->pl->closed_loop_enabled && cu->consent && cxp_nps_class(ev->score) < 0 &&
         !cooled_down(c, cu, CXP_AL_CLOSED_LOOP, ev->ts_ms);
}

void core_closed_loop(cxp_core *c, cxp_customer *cu, const cxp_event *ev, const cxp_msg *m,
                      const cxp_case_info *ci, double var) {
  cxp_alert a;
  if (!c->pl->closed_loop_enabled || cxp_nps_class(ev->score) >= 0) return;
  if (!alert_begin(c, cu, ev, m, CXP_AL_CLOSED_LOOP, 1, &a)) return;
  if (var < 0) {
    var = 0;
    if (c->pl->churn_enabled) {
      cxp_churn_score sc;
      cxp_churn_eval(&c->churn, cu, &c->customer, cu->open_cases, cu->overdue_cases, ev->ts_ms,
                     &sc);
      var = sc.value_at_risk;
    }
  }

  /* Without a case, the id a case would have had: derived from the
   * response, so that a replay names the same one. */
  char case_id[20];
  cxp_cases_detractor_id(case_id, c->pl->name, (cxp_str){cu->id, cu->id_len}, ev->event_id);

  /* Scores 0-3 are the angriest detractors: P2; 4-6: P3. */
  a.priority = ev->score <= 3 ? 2 : 3;
  a.case_id = (cxp_str){case_id, 19};
  a.deadline_ms = ev->ts_ms + c->pl->closed_loop_deadline_ms;
  /* The case the answer opened (severity 2 or 3 by the same split): its id
   * and its acknowledge deadline, the one its breaches are counted from. */
  if (ci) {
    a.case_id = ci->case_id;
    a.deadline_ms = ci->deadline[CXP_DL_ACKNOWLEDGE];
  }
  a.actions_json = c->pl->closed_loop_actions;
  a.role = c->pl->closed_loop_role;
  /* The trigger carries the whole contribution; the decayed figures give
   * the person who calls the customer the history behind it. */
  a.reasons[a.n_reasons++] = (cxp_alert_reason){"nps_score", ev->score, 1.0};
  a.reasons[a.n_reasons++] =
      (cxp_alert_reason){"nps_decayed_mean", cxp_customer_nps_mean(cu), 0.0};
  double csat = cxp_customer_csat(cu);
  if (csat >= 0) a.reasons[a.n_reasons++] = (cxp_alert_reason){"csat", csat, 0.0};
  alert_emit(c, m, cu, &a, var);
}

/* satisfaction.drop: the customer's satisfaction index falls `points` under
 * his own long-horizon baseline, or under the floor, once he has given
 * enough responses to judge. */
static void satisfaction_drop(cxp_core *c, cxp_customer *cu, const cxp_event *ev,
                              const cxp_msg *m, double si, double base, double var) {
  const cxp_pipeline *p = c->pl;
  if (!p->drop_enabled || cu->responses < p->drop_min_responses) return;
  if (isnan(si)) return;
  int below_floor = si < p->drop_floor;
  int dropped = !isnan(base) && base - si >= p->drop_points;
  if (!below_floor && !dropped) return;
  cxp_alert a;
  if (!alert_begin(c, cu, ev, m, CXP_AL_SATISFACTION_DROP, 1, &a)) return;
  cxp_indicators in;
  cxp_customer_indicators(cu, &c->customer, ev->ts_ms, &in);
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
  const double *w = c->customer.si_w;
  double ws = 0;
  for (int i = 0; i < 4; i++)
    if (!isnan(vals[i])) ws += w[i];
  for (int i = 0; i < 4 && a.n_reasons < CXP_ALERT_MAX_REASONS; i++)
    if (!isnan(vals[i]) && ws > 0)
      a.reasons[a.n_reasons++] = (cxp_alert_reason){names[i], vals[i], w[i] / ws * comp[i]};
  alert_emit(c, m, cu, &a, var);
}

const char *const core_sq_factor[CXP_SQ__COUNT] = {
    "servqual_gap.tangibles", "servqual_gap.reliability", "servqual_gap.responsiveness",
    "servqual_gap.assurance", "servqual_gap.empathy"};

int core_sq_advice(const cxp_pipeline *p, const double *gap, unsigned under, cxp_alert *a,
                   char *actions, size_t cap) {
  int order[CXP_SQ__COUNT], k = 0;
  for (int d = 0; d < CXP_SQ__COUNT; d++) {
    if (!(under & (1u << d))) continue;
    /* Insertion by gap, lowest first; ties keep the dimension order. */
    int i = k++;
    for (; i > 0 && gap[order[i - 1]] > gap[d]; i--) order[i] = order[i - 1];
    order[i] = d;
  }
  size_t len = 0;
  actions[len++] = '[';
  for (int i = 0; i < k; i++) {
    int d = order[i];
    int w = snprintf(actions + len, cap - len, "%s\"%s\"", i ? "," : "", p->sq_strategy[d]);
    if (w > 0 && (size_t)w < cap - len) len += (size_t)w;
    if (a->n_reasons < CXP_ALERT_MAX_REASONS)
      a->reasons[a->n_reasons++] =
          (cxp_alert_reason){core_sq_factor[d], gap[d], gap[d] - p->sq_threshold};
  }
  snprintf(actions + len, cap - len, "]");
  a->actions_json = actions;
  /* A gap of 3 points or more under expectations is serious: P2. */
  a->priority = k && gap[order[0]] <= -3 ? 2 : 3;
  return k;
}

/* servqual.gap: a dimension this response touched has a decayed gap under
 * the threshold. One alert names every dimension under it (the touched one
 * and any other with enough responses), worst first, each with its
 * improvement strategy among the actions; the dimensions above it follow as
 * reasons of contribution 0. Not an outreach alert: it is about the
 * service, so consent does not hold it back. */
static void servqual_gap(cxp_core *c, cxp_customer *cu, const cxp_event *ev,
                         const cxp_msg *m, double var) {
  const cxp_pipeline *p = c->pl;
  if (!p->sq_enabled) return;
  double gap[CXP_SQ__COUNT];
  unsigned under = 0, touched = 0;
  for (int d = 0; d < CXP_SQ__COUNT; d++) {
    gap[d] = cxp_customer_sq_gap(cu, d);
    if (cu->sq_responses[d] < p->sq_min_responses || !(gap[d] < p->sq_threshold)) continue;
    under |= 1u << d;
    if (ev->sq_mask & (1u << d)) touched = 1;
  }
  if (!touched) return;
  cxp_alert a;
  if (!alert_begin(c, cu, ev, m, CXP_AL_SERVQUAL_GAP, 0, &a)) return;
  char actions[CXP_SQ__COUNT * (CXP_STR_MAX + 3) + 3];
  core_sq_advice(p, gap, under, &a, actions, sizeof actions);
  for (int d = 0; d < CXP_SQ__COUNT && a.n_reasons < CXP_ALERT_MAX_REASONS; d++)
    if (!(under & (1u << d)) && !isnan(gap[d]))
      a.reasons[a.n_reasons++] = (cxp_alert_reason){core_sq_factor[d], gap[d], 0};
  alert_emit(c, m, cu, &a, var);
}

double core_customer_value(const cxp_core *c, const cxp_customer *cu, const cxp_event *ev) {
  if (cu->clv >= 0) return cu->clv;
  if (ev->type != CXP_EV_FAILURE && ev->type != CXP_EV_COMPLAINT && ev->type != CXP_EV_NPS)
    return 0;
  cxp_churn_score sc;
  cxp_churn_features(&c->churn, cu, &c->customer, 0, 0, ev->ts_ms, &sc);
  return sc.value;
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

/* Fills in and emits churn.risk for a band entered (silent_days >= 0: by
 * silence, no event). */
static void churn_alert(cxp_core *c, const cxp_msg *from, cxp_customer *cu,
                        const cxp_churn_score *sc, int prev, int next, double silent_days,
                        cxp_alert *a) {
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
  alert_emit(c, from, cu, a, sc->value_at_risk);
}

/* Churn risk: the customer's score after this event; the band
 * moves with hysteresis, and entering a higher band raises churn.risk
 * (cooldown and consent as every outreach alert). Returns the new band. */
static int churn_risk(cxp_core *c, cxp_shard *sh, cxp_customer *cu, const cxp_event *ev,
                      const cxp_msg *m, double *value_at_risk, cxp_churn_score *sc) {
  cxp_churn_eval(&c->churn, cu, &c->customer, cu->open_cases, cu->overdue_cases, ev->ts_ms,
                 sc);
  if (c->learn.on) core_learn_event(c, sh->partition, sh, cu, ev, sc->x);
  int prev = cu->churn_band, next = cxp_churn_band_next(prev, sc->p, &c->churn);
  cu->churn_band = (uint8_t)next;
  *value_at_risk = sc->value_at_risk;
  cxp_alert a;
  if (cxp_churn_should_alert(prev, next) &&
      alert_begin(c, cu, ev, m, CXP_AL_CHURN_RISK, 1, &a))
    churn_alert(c, m, cu, sc, prev, next, -1, &a);
  return next;
}

/* Silence: a slice of the partition's customers (a sixty-fourth
 * of its table, at least 256 slots, so a pass takes about a minute of
 * ticks), each without an event for churn.silence_days by the partition's
 * clock t, re-scored at t. Silence only raises: a customer it lifts into a
 * higher band takes it (his record with it) and raises churn.risk, cooldown
 * and consent as ever, with no triggering event; the alert id is salted with
 * the day, so a replay of the same silence repeats it. */
size_t core_churn_silence(cxp_core *c, const cxp_msg *at, int64_t t) {
  int32_t part = at->partition;
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
    cxp_churn_eval(&c->churn, cu, &c->customer, cu->open_cases, cu->overdue_cases, t, &sc);
    int prev = cu->churn_band, next = cxp_churn_band_next(prev, sc.p, &c->churn);
    if (next <= prev) continue;
    cu->churn_band = (uint8_t)next;
    cxp_shard_touch(sh, cu);
    c->n.churn_silence++;
    cxp_alert a;
    if (!cxp_churn_should_alert(prev, next) ||
        !alert_begin_at(c, cu, t, at->now_ms, CXP_AL_CHURN_RISK, 1, &a))
      continue;
    char salt[40];
    int sl = snprintf(salt, sizeof salt, "silence:%lld", (long long)(t / 86400000));
    a.id_salt = (cxp_str){salt, (size_t)sl};
    churn_alert(c, at, cu, &sc, prev, next, (double)(t - cu->last_ts_ms) / 86400000.0, &a);
    raised++;
  }
  return raised;
}

/* The customer the event is about, in the message's shard (a replay has
 * no partitions: it is one shard); a new customer past the cap makes one of
 * the others leave. */
static cxp_customer *customer_of(cxp_core *c, const cxp_msg *m, const cxp_event *ev,
                                 cxp_shard **shp) {
  cxp_shard *sh = cxp_state_shard(&c->state, core_part(m->partition));
  size_t held = sh->count;
  cxp_customer *cu = cxp_shard_get(&c->state, sh, ev->customer_id.p, ev->customer_id.n);
  if (c->pl->state_max_customers > 0 && sh->count > held &&
      c->state.customers > (size_t)c->pl->state_max_customers)
    core_evict_for_cap(c, sh, cu);
  *shp = sh;
  return cu;
}

/* The latest segment seen sticks to the customer; interned only when it
 * changes. */
static void note_segment(cxp_core *c, cxp_customer *cu, const cxp_event *ev) {
  if (ev->segment.p == NULL) return;
  const char *cur = cxp_state_segment_name(&c->state, cu->segment);
  if (strncmp(cur, ev->segment.p, ev->segment.n) != 0 || cur[ev->segment.n] != '\0')
    cu->segment = cxp_state_segment_id(&c->state, ev->segment.p, ev->segment.n);
}

/* The lengths whose window this is the customer's first event in (events of
 * one customer mostly come in order: one out of order is not counted as a
 * first, so a window may undercount its customers, never overcount). */
static unsigned first_in_windows(const cxp_core *c, cxp_windows *w, const cxp_customer *cu,
                                 int64_t ts) {
  unsigned mask = 0;
  if (w == NULL) return 0;
  /* His last event lies in an earlier window than ts's: before its start. */
  for (int li = 0; li < c->pl->windows.n_lengths; li++)
    if (cu->last_ts_ms == 0 || cu->last_ts_ms < cxp_windows_start(w, li, ts))
      mask |= 1u << li;
  return mask;
}

/* Post-recovery satisfaction: 1 for the first CSAT or NPS after one of his
 * cases was resolved (in the order events arrive). */
static int post_recovery(cxp_customer *cu, const cxp_event *ev) {
  if (ev->type == CXP_EV_REC_RESOLVED && ev->ts_ms > cu->resolved_ms) {
    cu->resolved_ms = ev->ts_ms;
    cu->post_pending = 1;
  } else if ((ev->type == CXP_EV_CSAT || ev->type == CXP_EV_NPS) && cu->post_pending &&
             ev->ts_ms >= cu->resolved_ms) {
    cu->post_pending = 0;
    return 1;
  }
  return 0;
}

/* An event too late for every window it belongs to, its customer's figures
 * updated (they are order-independent): dead-lettered as the domain says. */
static cxp_reason late_letter(cxp_core *c, const cxp_msg *m, const cxp_windows *w) {
  char detail[640], missed[400];
  c->n.late_applied++;
  cxp_windows_missed(w, missed, sizeof missed);
  snprintf(detail, sizeof detail,
           "applied to the customer's indicators, but too late for every segment window it "
           "belongs to: %s", missed);
  cxp_core_dead_letter(c, m, CXP_BAD_LATE, detail);
  return CXP_BAD_LATE;
}

static cxp_reason process(cxp_core *c, const cxp_msg *m) {
  cxp_event ev;
  char detail[640];
  cxp_decode_opts o = {.max_bytes = (size_t)c->pl->max_event_bytes,
                       .now_ms = m->check_future ? m->received_ms : 0,
                       .max_future_ms = c->pl->max_future_s * 1000,
                       .hint = &c->hint};
  c->n.consumed++;
  cxp_reason r = cxp_event_decode(m->payload, m->len, &o, &ev, detail, sizeof detail);
  if (r != CXP_OK) {
    cxp_core_dead_letter(c, m, r, detail);
    return r;
  }
  cxp_shard *sh;
  cxp_customer *cu = customer_of(c, m, &ev, &sh);
  if (cxp_customer_seen(cu, m->offset, ev.event_id.p, ev.event_id.n)) {
    c->n.duplicates++;
    return CXP_OK;
  }
  cxp_shard_touch(sh, cu);
  c->n.processed++;
  c->n.by_type[ev.type]++;
  if (ev.ts_ms > c->clock_ms) c->clock_ms = ev.ts_ms;
  note_segment(c, cu, &ev);
  /* A failure or complaint that gave likelihood and impact gets its
   * severity from the pipeline's matrix here, before the Kano raise (and
   * the cases' repeat raise), which then work on it as on a given one. */
  if (ev.likelihood) ev.severity = cxp_cases_severity(&c->pl->cases, ev.likelihood, ev.impact);
  if (ev.type == CXP_EV_COMPLAINT) kano(c, &ev);
  cxp_windows *w = core_windows_of(c, sh->partition);
  unsigned first_mask = first_in_windows(c, w, cu, ev.ts_ms);
  int post = post_recovery(cu, &ev);
  /* A repeat purchase for the windows' loyalty figures: he bought before. */
  int repeat_purchase = ev.type == CXP_EV_PURCHASE && cu->sum[CXP_S_PURCHASES] > 0;
  int survey = cxp_customer_apply(cu, &ev, &c->customer);
  /* The satisfaction index after a survey response, once: the windows'
   * cohorts and satisfaction.drop both read it. */
  double si = NAN, si_base = NAN;
  if (survey) cxp_customer_si(cu, &c->customer, &si, &si_base);
  /* The segment sticks to the customer: from here on an event without one
   * counts under his latest, in his cases, his score and the windows. */
  if (ev.segment.p == NULL && cu->segment) {
    const char *seg = cxp_state_segment_name(&c->state, cu->segment);
    ev.segment = (cxp_str){seg, strlen(seg)};
  }
  int opened;
  cxp_reason case_bad =
      core_apply_cases(c, cu, &ev, m, sh->partition, detail, sizeof detail, &opened);
  double var = 0;
  cxp_churn_score sc;
  sc.t_ms = INT64_MIN;
  sc.value_ratio = NAN;
  int band = c->pl->churn_enabled ? churn_risk(c, sh, cu, &ev, m, &var, &sc) : -1;
  int late = 0;
  if (w) {
    cxp_window_ctx wc = {band, opened, -1, first_mask, NAN, post, var, m->offset,
                         0, NAN, repeat_purchase};
    /* His delivered value, counted at his first event in a window. */
    if (first_mask) {
      double vr = sc.value_ratio;
      if (sc.t_ms != ev.ts_ms) { /* no score, or read at his later last event */
        cxp_indicators in;
        cxp_customer_indicators_lean(cu, &c->customer, ev.ts_ms, &in);
        vr = in.value_ratio;
      }
      wc.has_value = !isnan(vr);
      wc.value_ratio = vr;
    }
    /* The recovery-paradox cohort he is in (kept on him by the case
     * callbacks); none while a case of his is open. */
    if (opened >= 0 && cu->cohort < 3) {
      wc.cohort = cu->cohort;
      wc.si = si;
    }
    late = cxp_windows_add_ctx(w, &ev, m->received_ms, &wc) == CXP_BAD_LATE;
    core_ship(c, sh->partition, m);
  }
  /* A detractor's case announced itself as it opened (corecases.c), so that
   * its alert went out before any breach of it. An answer that opened none
   * (cases off, no consent, within the cooldown, or one naming a case that
   * is open or closed already) is judged here, without a case. */
  if (ev.type == CXP_EV_NPS && !(opened == 1 && core_detractor_cases(c, sh->partition)))
    core_closed_loop(c, cu, &ev, m, NULL, var);
  if (ev.type == CXP_EV_SERVQUAL) servqual_gap(c, cu, &ev, m, var);
  if (survey) satisfaction_drop(c, cu, &ev, m, si, si_base, var);
  if (case_bad != CXP_OK) {
    cxp_core_dead_letter(c, m, case_bad, detail);
    return case_bad;
  }
  return late ? late_letter(c, m, w) : CXP_OK;
}

void cxp_core_prefetch(cxp_core *c, int32_t partition, uint64_t key_hash, int far) {
  int32_t p = core_part(partition);
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
