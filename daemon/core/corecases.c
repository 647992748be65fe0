/* The recovery cases of each input partition, as the core drives them:
 * the case callbacks turned into alerts, dead letters and counts (core_int.h). */
#include "core_int.h"

/* ---- Recovery cases --------------------------------------------------------- */

/* The case callbacks' origin: the cxp_msg of the call into the core (an
 * event's, or a tick's). */
static int64_t emitted_at(const cxp_msg *from, int64_t event_ts) {
  return from->now_ms ? from->now_ms : event_ts;
}

/* Case alerts carry the priority the case module worked out (severity,
 * premium, value, churn), and no cooldown: each case is its own thing. */
/* Counts and emits a case alert under `key` (its customer, or a digest's
 * role). */
static void case_alert_emit_keyed(cxp_core *c, const cxp_msg *from, cxp_alert *a,
                                  const char *key, size_t klen) {
  c->n.alerts[a->type]++;
  if (a->priority >= 1 && a->priority <= 4) c->n.alerts_by_priority[a->type][a->priority - 1]++;
  cxp_buf_reset(&c->out);
  cxp_alert_write(&c->out, a, c->pl->name);
  core_emit(c, from, CXP_STREAM_ALERTS, key, klen);
}

static void case_alert_emit(cxp_core *c, const cxp_msg *from, cxp_alert *a) {
  case_alert_emit_keyed(c, from, a, a->customer_id.p, a->customer_id.n);
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
static cxp_customer *case_customer(cxp_core *c, const cxp_msg *from, const cxp_case_info *ci) {
  int32_t part = core_part(from->partition);
  if (part >= c->state.n_shards) return NULL;
  cxp_shard *sh = c->state.shards[part];
  cxp_customer *cu = sh ? cxp_shard_find(sh, ci->customer_id.p, ci->customer_id.n) : NULL;
  if (cu) cxp_shard_touch(sh, cu);
  return cu;
}

static void on_case_opened(void *opaque, const void *origin, const cxp_case_opened *o) {
  cxp_core *c = opaque;
  const cxp_msg *from = origin;
  const cxp_case_info *ci = o->c;
  cxp_customer *cu = case_customer(c, from, ci);
  if (cu && cu->cohort == 0) cu->cohort = 3; /* a case open, none closed yet */
  if (cu && cu->open_cases < 255) cu->open_cases++;
  core_case_record(c, from, ci, CXP_CASE_CHANGE_OPENED, o->ev->ts_ms, NULL);
  /* A detractor's case is announced by recovery.closed_loop (by
   * recovery.required when that alert is off), here as it opens, so that the
   * announcement goes out before any breach of a case opened late. */
  if (ci->kind == CXP_CASE_DETRACTOR && c->pl->closed_loop_enabled) {
    if (cu) core_closed_loop(c, cu, o->ev, from, ci, -1);
    return;
  }
  cxp_alert a;
  case_alert_base(&a, CXP_AL_RECOVERY_REQUIRED, ci);
  a.trigger_event_id = o->ev->event_id;
  a.event_ts_ms = o->ev->ts_ms;
  a.emitted_at_ms = emitted_at(from, o->ev->ts_ms);
  a.deadline_ms = ci->deadline[CXP_DL_ACKNOWLEDGE];
  a.reasons[a.n_reasons++] = (cxp_alert_reason){"severity", ci->severity, 1.0};
  /* Where the severity came from, when the event gave likelihood and impact
   * (the matrix's entry, before the Kano and repeat raises). */
  if (o->ev->likelihood) {
    a.reasons[a.n_reasons++] = (cxp_alert_reason){"likelihood", o->ev->likelihood, 0};
    a.reasons[a.n_reasons++] = (cxp_alert_reason){"impact", o->ev->impact, 0};
  }
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
  case_alert_emit(c, from, &a);
}

/* The role of escalation level `level` (1..3): the n-th entry of
 * recovery.escalation.roles, into role (empty when there is none). */
static void level_role(const cxp_core *c, int level, char role[CXP_STR_MAX]) {
  size_t rn = 0;
  const char *r = cxp_strset_at(&c->pl->rec_escalation_roles_set, level - 1, &rn);
  snprintf(role, CXP_STR_MAX, "%.*s", r ? (int)rn : 0, r ? r : "");
}

/* Writes the steps overdue, as [{"step", "level"}], in the order of the
 * recovery. */
static void steps_json(cxp_jw *j, const char *key, const int levels[CXP_DL__COUNT]) {
  cxp_jw_arr(j, key);
  for (int k = 0; k < CXP_DL__COUNT; k++) {
    cxp_case_deadline d = cxp_case_recovery_order[k];
    if (levels[d] == 0) continue;
    cxp_jw_obj(j, NULL);
    cxp_jw_cstr(j, "step", cxp_case_deadline_name(d));
    cxp_jw_int(j, "level", levels[d]);
    cxp_jw_end(j);
  }
  cxp_jw_end(j);
}

static void on_case_breach(void *opaque, const void *origin, const cxp_case_breach *b) {
  cxp_core *c = opaque;
  const cxp_msg *from = origin;
  case_customer(c, from, b->c); /* the level fired is part of his record */
  /* A breach of low priority is listed in its role's digest instead; its
   * record on topics.cases still says the case escalated. */
  if (b->digested) {
    core_case_record(c, from, b->c, CXP_CASE_CHANGE_ESCALATED, b->due, NULL);
    return;
  }
  static const char *const actions[CXP_DL__COUNT] = {
      "[\"escalate\",\"acknowledge_now\"]", "[\"escalate\",\"resolve_now\"]",
      "[\"escalate\",\"follow_up_now\"]", "[\"escalate\",\"apologize_now\"]",
      "[\"escalate\",\"compensate_now\"]"};
  char salt[48], role[CXP_STR_MAX];
  const char *step = cxp_case_deadline_name(b->deadline);
  int sl = snprintf(salt, sizeof salt, "%s:%d", step, b->level);
  cxp_alert a;
  case_alert_base(&a, CXP_AL_SLA_BREACHED, b->c);
  a.priority = b->priority;
  a.id_salt = (cxp_str){salt, (size_t)sl};
  a.event_ts_ms = b->due;
  a.emitted_at_ms = emitted_at(from, b->due);
  a.deadline_ms = b->deadline_ms;
  a.reasons[a.n_reasons++] = (cxp_alert_reason){"escalation_level", b->level, 1.0};
  a.reasons[a.n_reasons++] =
      (cxp_alert_reason){"overdue_h", (double)(b->due - b->deadline_ms) / 3600000.0, 0};
  a.reasons[a.n_reasons++] = (cxp_alert_reason){"severity", b->c->severity, 0};
  a.actions_json = actions[b->deadline];
  level_role(c, b->level, role);
  a.role = role[0] ? role : NULL;
  a.escalation_level = b->level;
  a.overdue_step = step;
  /* The steps overdue with it, in the order of the recovery. */
  cxp_buf sb;
  cxp_buf_init(&sb);
  cxp_jw j;
  cxp_jw_init(&j, &sb);
  steps_json(&j, NULL, b->levels);
  cxp_buf_putc(&sb, '\0');
  a.escalation_steps = sb.p;
  case_alert_emit(c, from, &a);
  cxp_buf_free(&sb);
  core_case_record(c, from, b->c, CXP_CASE_CHANGE_ESCALATED, b->due, NULL);
}

/* A breach digest: one alert for a role and a window, about several
 * customers (customer_id and case_id null), keyed by the role. Its id
 * comes from the role, the window and the input partition, the same in a
 * replay or after a restart. */
static void on_case_digest(void *opaque, const void *origin, const cxp_case_digest *d) {
  cxp_core *c = opaque;
  const cxp_msg *from = origin;
  char role[CXP_STR_MAX], salt[CXP_STR_MAX + 48];
  level_role(c, d->level, role);
  int32_t part = core_part(from->partition);
  int sl = snprintf(salt, sizeof salt, "%s:%lld:%d", role, (long long)d->window_start, (int)part);
  cxp_buf body;
  cxp_buf_init(&body);
  cxp_jw j;
  cxp_jw_init(&j, &body);
  cxp_jw_obj(&j, NULL);
  cxp_jw_time(&j, "window_start", d->window_start);
  cxp_jw_time(&j, "window_end", d->window_end);
  cxp_jw_int(&j, "partition", part);
  cxp_jw_int(&j, "level", d->level);
  cxp_jw_int(&j, "cases_listed", d->n);
  cxp_jw_int(&j, "cases_omitted", d->omitted);
  cxp_jw_int(&j, "cases_settled", d->settled);
  cxp_jw_arr(&j, "cases");
  for (uint32_t i = 0; i < d->n; i++) {
    const cxp_case_digest_item *it = &d->items[i];
    char prio[3] = {'P', (char)('0' + it->priority), 0};
    cxp_jw_obj(&j, NULL);
    cxp_jw_str(&j, "case_id", it->case_id.p, it->case_id.n);
    cxp_jw_str(&j, "customer_id", it->customer_id.p, it->customer_id.n);
    if (it->segment.p)
      cxp_jw_str(&j, "segment", it->segment.p, it->segment.n);
    else
      cxp_jw_null(&j, "segment");
    cxp_jw_cstr(&j, "priority", prio);
    cxp_jw_int(&j, "level", it->level);
    cxp_jw_cstr(&j, "step", cxp_case_deadline_name(it->step));
    cxp_jw_time(&j, "due", it->due);
    if (it->deadline_ms)
      cxp_jw_time(&j, "deadline", it->deadline_ms);
    else
      cxp_jw_null(&j, "deadline");
    steps_json(&j, "steps", it->levels);
    cxp_jw_end(&j);
  }
  cxp_jw_end(&j);
  cxp_jw_end(&j);
  cxp_buf_putc(&body, '\0');
  cxp_alert a;
  memset(&a, 0, sizeof a);
  a.type = CXP_AL_SLA_DIGEST;
  a.priority = d->priority;
  a.id_salt = (cxp_str){salt, (size_t)(sl > 0 && (size_t)sl < sizeof salt ? sl : 0)};
  a.event_ts_ms = d->window_end;
  a.emitted_at_ms = emitted_at(from, d->window_end);
  a.reasons[a.n_reasons++] =
      (cxp_alert_reason){"breached_cases", (double)(d->n + d->omitted), 1.0};
  a.reasons[a.n_reasons++] = (cxp_alert_reason){
      "window_min", (double)(d->window_end - d->window_start) / 60000.0, 0};
  a.actions_json = "[\"review_overdue_cases\",\"escalate\"]";
  a.role = role[0] ? role : NULL;
  a.detail_key = "digest";
  a.detail_json = body.p;
  const char *key = role[0] ? role : "digest";
  case_alert_emit_keyed(c, from, &a, key, strlen(key));
  cxp_buf_free(&body);
}

static void on_case_systemic(void *opaque, const void *origin, const cxp_case_systemic *s) {
  cxp_core *c = opaque;
  const cxp_msg *from = origin;
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
  a.emitted_at_ms = emitted_at(from, s->ev->ts_ms);
  a.reasons[a.n_reasons++] = (cxp_alert_reason){"customers_failing", s->customers, 1.0};
  a.actions_json = "[\"open_incident\",\"find_root_cause\",\"notify_affected_customers\"]";
  a.role = "service_manager";
  a.detail_key = "anomaly";
  a.detail_json = body.p;
  case_alert_emit(c, from, &a);
  cxp_buf_free(&body);
}


/* A case's outcome counts in the windows of its closing time. */
static void on_case_outcome(void *opaque, const void *origin, const cxp_case_outcome *o) {
  cxp_core *c = opaque;
  const cxp_msg *from = origin;
  cxp_customer *cu = case_customer(c, from, o->c);
  if (cu && cu->open_cases > 0 && cu->open_cases < 255) cu->open_cases--;
  core_case_record(c, from, o->c, CXP_CASE_CHANGE_CLOSED, o->closed_at, o);
  /* Evicted to stay under the cap: it says nothing about the recovery. */
  if (o->end == CXP_CASE_END_EVICTED) return;
  if (cu) cu->cohort = o->well ? 1 : 2;
  cxp_windows *w = core_windows_of(c, core_part(from->partition));
  if (w == NULL) return;
  cxp_event ev;
  memset(&ev, 0, sizeof ev);
  ev.type = CXP_EV_REC_FOLLOWED_UP;
  ev.ts_ms = o->closed_at;
  ev.segment = o->c->segment;
  ev.touchpoint = o->c->touchpoint;
  /* The offset of the event being processed (-1 in a tick): a window
   * restored with it folds the outcome once. */
  cxp_window_outcome wo = {o->well,      o->tta_ms, o->ttr_ms, o->c->kind != CXP_CASE_DETRACTOR,
                           o->preempted, from->offset};
  cxp_windows_add_outcome(w, &ev, &wo);
}

/* A step or a merged opening event changed an open case: its record. */
static void on_case_changed(void *opaque, const void *origin, const cxp_case_info *ci,
                            int64_t at_ms) {
  core_case_record(opaque, origin, ci, CXP_CASE_CHANGE_STEP, at_ms, NULL);
}

/* Kept on the customer, so that scoring him never asks the cases. */
static void on_case_overdue(void *opaque, const void *origin, const cxp_case_info *ci,
                            int delta) {
  cxp_customer *cu = case_customer(opaque, origin, ci);
  if (cu == NULL) return;
  if (delta > 0 && cu->overdue_cases < 255) cu->overdue_cases++;
  if (delta < 0 && cu->overdue_cases > 0 && cu->overdue_cases < 255) cu->overdue_cases--;
}

/* After a restore: his counts as the cases hold them. */
void core_restored_counts(cxp_cases *cs, cxp_customer *cu) {
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
static void on_case_expired(void *opaque, const void *origin, const cxp_case_expired *e) {
  cxp_core *c = opaque;
  const cxp_msg *from = origin;
  int32_t part = core_part(from->partition);
  parked_copy *p = parked_find(c, part, e->token);
  cxp_msg m;
  char rebuilt[512];
  memset(&m, 0, sizeof m);
  m.partition = part;
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
  core_dead_letter(c, from, &m, CXP_BAD_UNKNOWN_CASE, e->detail);
  if (p) {
    free(p->bytes);
    free(p->key);
    memset(p, 0, sizeof *p);
  }
}

cxp_cases *core_cases_make(cxp_core *c, int32_t part) {
  if (!c->pl->rec_enabled || part < 0 || part > 0xffff) return NULL;
  core_grow_table(&c->cases, &c->n_cases, part);
  if (c->cases[part] == NULL) {
    cxp_cases_conf conf = c->pl->cases;
    conf.solutions = c->solutions;
    cxp_cases_cbs cbs = {on_case_opened,  on_case_breach,  on_case_systemic, on_case_outcome,
                         on_case_expired, on_case_overdue, on_case_digest, on_case_changed, c};
    c->cases[part] = cxp_cases_create(&conf, &cbs);
    if (c->cases[part] == NULL) abort();
    cxp_cases_track(c->cases[part], c->changelog);
  }
  return c->cases[part];
}

/* Hands the event to the partition's cases. Returns a dead-letter reason
 * when the event cannot wait for its case, else CXP_OK. */
cxp_reason core_apply_cases(cxp_core *c, const cxp_customer *cu, const cxp_event *ev,
                              const cxp_msg *m, int32_t part, char *detail, size_t dlen,
                              int *opened) {
  cxp_cases *cs = core_cases_of(c, part);
  *opened = -1;
  if (cs == NULL) return CXP_OK;
  /* The closed loop is outreach: without consent there is no one to call
   * back, so his detractor answers open no case. */
  cxp_case_ctx ctx = {core_customer_value(c, cu, ev), c->pl->churn_enabled ? cu->churn_band : -1,
                      m->offset, !cu->consent, m, 0};
  /* A detractor answer whose closed-loop alert the cooldown holds back must
   * not open a case nobody hears of: it joins his open detractor case (the
   * alert's suppression is counted by core.c's closed loop). */
  if (ev->type == CXP_EV_NPS && core_closed_loop_cooling(c, cu, ev)) ctx.fold_detractor = 1;
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
  cxp_pipeline_customer(c->pl, &c->customer);
  cxp_churn_conf cf;
  if (cxp_pipeline_churn(c->pl, &cf, err, sizeof err) == 0) c->churn = c->churn_prior = cf;
  core_learn_setup(c);
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
void core_cases_stats_add(cxp_cases_stats *out, const cxp_cases_stats *s, int gauges) {
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
  core_cases_stats_add(out, &c->cases_retired, 0);
  for (int32_t i = 0; i < c->n_cases; i++) {
    if (c->cases[i] == NULL) continue;
    cxp_cases_stats s = cxp_cases_stats_get(c->cases[i]);
    core_cases_stats_add(out, &s, 1);
  }
}
