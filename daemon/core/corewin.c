/* Segment windows as the core drives them: folding, shipping partials to
 * their mergers, merging, final records, and the alerts about groups
 * (segment.anomaly, agent.flag) (core_int.h). */
#include "core_int.h"

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

void core_trail_free_all(cxp_core *c) {
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
static void group_alert_emit(cxp_core *c, const cxp_msg *from, cxp_alert *a, const char *key,
                             size_t klen) {
  c->n.alerts[a->type]++;
  if (a->priority >= 1 && a->priority <= 4) c->n.alerts_by_priority[a->type][a->priority - 1]++;
  cxp_buf_reset(&c->out);
  cxp_alert_write(&c->out, a, c->pl->name);
  core_emit(c, from, CXP_STREAM_ALERTS, key, klen);
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
static void score_drop(cxp_core *c, const cxp_msg *from, const cxp_window_partial *p,
                       const char *key, size_t klen) {
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
      a.emitted_at_ms = from->now_ms ? from->now_ms : p->end_ms;
      a.reasons[a.n_reasons++] = (cxp_alert_reason){names[k], vals[k], vals[k] - mean};
      a.reasons[a.n_reasons++] = (cxp_alert_reason){"trailing_mean", mean, 0};
      a.reasons[a.n_reasons++] = (cxp_alert_reason){"n", (double)ns[k], 0};
      a.actions_json = pl->anomaly_actions;
      a.role = pl->anomaly_role;
      a.detail_key = "anomaly";
      a.detail_json = body.p;
      group_alert_emit(c, from, &a, key, klen);
      cxp_buf_free(&body);
    }
    t->v[k][t->pos[k]] = vals[k];
    t->pos[k] = (t->pos[k] + 1) % (uint32_t)pl->anomaly_trailing;
    if (t->n[k] < (uint32_t)pl->anomaly_trailing) t->n[k]++;
  }
}

/* servqual.gap about a group: a complete first record whose mean gap on a
 * dimension, over at least windows.min_n answers rating it, lies under
 * alerts.servqual_gap.threshold. One alert names every such dimension,
 * worst first, with its strategy (as the customer's alert does). */
static void segment_sq_gap(cxp_core *c, const cxp_msg *from, const cxp_window_partial *p,
                           const char *key, size_t klen) {
  const cxp_pipeline *pl = c->pl;
  const cxp_window_agg *ag = &p->agg;
  double gap[CXP_SQ__COUNT];
  unsigned under = 0;
  for (int d = 0; d < CXP_SQ__COUNT; d++) {
    gap[d] = ag->sq_n[d] ? (double)ag->sq_gap_sum[d] / CXP_WIN_GAP_SCALE / (double)ag->sq_n[d]
                         : NAN;
    if (ag->sq_n[d] >= pl->windows.min_n && gap[d] < pl->sq_threshold) under |= 1u << d;
  }
  if (!under) return;
  cxp_alert a;
  memset(&a, 0, sizeof a);
  a.type = CXP_AL_SERVQUAL_GAP;
  char actions[CXP_SQ__COUNT * (CXP_STR_MAX + 3) + 3];
  core_sq_advice(pl, gap, under, &a, actions, sizeof actions);
  cxp_buf body;
  cxp_buf_init(&body);
  cxp_jw j;
  cxp_jw_init(&j, &body);
  cxp_jw_obj(&j, NULL);
  cxp_jw_key(&j, "group");
  cxp_buf_put(&body, key, klen);
  cxp_jw_time(&j, "window_start", p->start_ms);
  cxp_jw_time(&j, "window_end", p->end_ms);
  cxp_jw_arr(&j, "dimensions");
  for (int d = 0; d < CXP_SQ__COUNT; d++) {
    if (!(under & (1u << d))) continue;
    cxp_jw_obj(&j, NULL);
    cxp_jw_cstr(&j, "dimension", cxp_sq_dimension_name(d));
    cxp_jw_num(&j, "gap", gap[d]);
    cxp_jw_int(&j, "n", ag->sq_n[d]);
    cxp_jw_end(&j);
  }
  cxp_jw_end(&j);
  cxp_jw_end(&j);
  cxp_buf_putc(&body, '\0');
  char salt[64 + 2 * CXP_STR_MAX];
  int sl = snprintf(salt, sizeof salt, "%lld:%lld:servqual:%.*s", (long long)p->length_ms,
                    (long long)p->start_ms, (int)klen, key);
  a.segment = group_segment(p);
  a.id_salt = (cxp_str){salt, (size_t)(sl < (int)sizeof salt ? sl : (int)sizeof salt - 1)};
  a.event_ts_ms = p->end_ms;
  a.emitted_at_ms = from->now_ms ? from->now_ms : p->end_ms;
  a.role = pl->anomaly_role;
  a.detail_key = "servqual";
  a.detail_json = body.p;
  group_alert_emit(c, from, &a, key, klen);
  cxp_buf_free(&body);
}

static int agent_grouping(const cxp_window_partial *p) {
  return p->n_fields == 1 && p->fields[0] == CXP_WF_AGENT_ID;
}

/* agent.flag: after one emission, each closed window's agents (the grouping
 * [agent_id], co-located on one merger by their partial key) are compared
 * with their team: CSAT more than 2 standard deviations under the mean of
 * the agents with n >= min_n. */
static void on_batch(void *opaque, const void *origin, const cxp_window_partial *const *ps,
                     int n) {
  cxp_core *c = opaque;
  const cxp_msg *from = origin;
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
        a.emitted_at_ms = from->now_ms ? from->now_ms : p->end_ms;
        a.reasons[a.n_reasons++] = (cxp_alert_reason){"agent_csat", v, v - cons.mean};
        a.reasons[a.n_reasons++] = (cxp_alert_reason){"team_csat_mean", cons.mean, 0};
        a.reasons[a.n_reasons++] = (cxp_alert_reason){"team_csat_sd", cons.spread, 0};
        a.reasons[a.n_reasons++] = (cxp_alert_reason){"n", (double)p->agg.csat_n, 0};
        a.actions_json = c->pl->agent_flag_actions;
        a.role = c->pl->agent_flag_role;
        a.detail_key = "agent";
        a.detail_json = body.p;
        group_alert_emit(c, from, &a, p->value[0], p->value_len[0]);
        cxp_buf_free(&body);
      }
    }
    i = j;
  }
}

/* A merger's final record: on the indicators topic, keyed by the group. */
static void on_final(void *opaque, const void *origin, const cxp_window_partial *p,
                     const int32_t *missing, int n_missing) {
  cxp_core *c = opaque;
  const cxp_msg *from = origin;
  cxp_buf_reset(&c->key);
  cxp_window_group_key(&c->key, p);
  cxp_buf_reset(&c->out);
  cxp_window_record_write(&c->out, p, c->pl->name, c->pl->windows.min_n, missing, n_missing);
  core_emit(c, from, CXP_STREAM_INDICATORS, c->key.p, c->key.len);
  /* A group's trailing means take its first complete record only: a
   * revision would count the window twice. */
  if (c->pl->anomaly_enabled && n_missing == 0 && p->revision == 0)
    score_drop(c, from, p, c->key.p, c->key.len);
  if (c->pl->sq_enabled && n_missing == 0 && p->revision == 0)
    segment_sq_gap(c, from, p, c->key.p, c->key.len);
}

static cxp_merger *merger_of(cxp_core *c, int32_t r) {
  if (r < 0 || r > 0xffff) return NULL;
  core_grow_table(&c->merge, &c->n_merge, r);
  if (c->merge[r] == NULL) {
    c->merge[r] = cxp_merger_create(c->n_inputs, c->pl->merge_timeout_ms, on_final, c);
    if (c->merge[r] == NULL) abort();
    cxp_merger_on_batch(c->merge[r], on_batch);
    cxp_merger_revisions(c->merge[r], &c->pl->windows, (uint32_t)c->pl->win_max_revisable);
  }
  return c->merge[r];
}

/* A destination of the record core_ship() is about to send. */
static void ship_to(cxp_core *c, int32_t r) {
  if (c->box_list_has[r]) return;
  c->box_list_has[r] = 1;
  c->box_list[c->n_box_list++] = r;
}

/* A window closed (or revised, or closed early) on an input partition: put
 * in the outbox of the repartition partition that merges its window, which
 * core_ship() sends with the watermark; in a replay, queued for core_ship()
 * to merge in place. */
static void on_window_close(void *opaque, const cxp_window_partial *p) {
  cxp_core *c = opaque;
  if (c->local_merge) {
    if (c->n_local_q == c->cap_local_q)
      c->local_q = cxp_xgrow(c->local_q, &c->cap_local_q, 16, UINT32_MAX);
    c->local_q[c->n_local_q++] = *p;
    return;
  }
  int32_t r = cxp_wire_dest(p->length_ms, p->start_ms, c->n_repart);
  ship_to(c, r);
  cxp_wire_put(&c->box[r], p);
}

/* A replay's windows closed since the last call, to its merger in the order
 * they closed, answering to `from`. */
static void merge_local_q(cxp_core *c, cxp_merger *mg, const cxp_msg *from) {
  for (uint32_t i = 0; i < c->n_local_q; i++) cxp_merger_partial(mg, &c->local_q[i], 0, -1, from);
  c->n_local_q = 0;
}

/* After a partition's windows changed (an event, a tick, a revoke): one
 * record to each repartition partition that has partials waiting, or that
 * merges a window whose end the watermark passed, with the watermark. On
 * the first watermark, or one that passed more windows than there are
 * repartition partitions, every repartition partition hears of it. */
void core_ship(cxp_core *c, int32_t part, const cxp_msg *from) {
  int64_t wm = cxp_windows_watermark(c->win[part]), was = c->marked[part];
  int crossed = 0, all = 0;
  if (wm != was && wm != INT64_MIN) {
    all = was == INT64_MIN;
    for (int i = 0; i < c->pl->windows.n_lengths; i++) {
      /* The watermark only rises: within the window it was in, no
       * boundary was crossed (the common case, without a division). */
      int64_t len = c->pl->windows.length_ms[i];
      if (!all && was < wm && was >= cxp_span_start(&c->wspan[i], wm, len)) continue;
      int64_t k0 = cxp_floor_div(was, len), k1 = cxp_floor_div(wm, len);
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
    cxp_merger *mg = merger_of(c, 0);
    /* In the order they closed; a partial's window may close with them. */
    merge_local_q(c, mg, from);
    if (crossed) cxp_merger_marker(mg, part, wm, from);
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
    core_emit(c, from, CXP_STREAM_PARTIALS, key, (size_t)kl);
    cxp_buf_reset(&c->box[r]);
    c->box_list_has[r] = 0;
  }
  c->n_box_list = 0;
}

cxp_windows *core_windows_make(cxp_core *c, int32_t part) {
  if (!c->pl->win_enabled || part < 0 || part > 0xffff) return NULL;
  if (part >= c->n_win) {
    int32_t old = c->n_win;
    core_grow_table(&c->win, &c->n_win, part);
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
void core_late_add(uint64_t *revised, uint64_t *missed, const cxp_windows *w) {
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
    if (c->win[i]) core_late_add(out->revised, out->missed, c->win[i]);
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


int cxp_core_tick_input(cxp_core *c, const cxp_msg *at) {
  int n = 0;
  int32_t part = at->partition;
  /* Cases first: a case closing well counts in windows the tick may close. */
  if (part >= 0 && part < c->n_cases && c->cases[part])
    n += cxp_cases_tick(c->cases[part], at->now_ms, at);
  int64_t clock = INT64_MIN;
  if (part >= 0 && part < c->n_win && c->win[part]) {
    n += cxp_windows_tick(c->win[part], at->now_ms);
    core_ship(c, part, at);
    int64_t wm = cxp_windows_watermark(c->win[part]);
    if (wm != INT64_MIN) clock = wm + (int64_t)(c->pl->win_lateness_s * 1000);
  }
  /* The partition's clock as its windows and cases keep it (advanced by
   * wall time when it is quiet); the core's newest event time without them. */
  if (part >= 0 && part < c->n_cases && c->cases[part] &&
      cxp_cases_clock(c->cases[part]) > clock)
    clock = cxp_cases_clock(c->cases[part]);
  if (clock == INT64_MIN && c->clock_ms > 0) clock = c->clock_ms;
  n += (int)core_churn_silence(c, at, clock);
  return n;
}

int cxp_core_tick_merge(cxp_core *c, const cxp_msg *at) {
  int32_t part = at->partition;
  if (part < 0 || part >= c->n_merge || c->merge[part] == NULL) return 0;
  /* Emitted by the clock, after the last message taken. */
  cxp_merger_at(c->merge[part], -1);
  return cxp_merger_tick(c->merge[part], at->now_ms, at);
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
  cxp_msg end = cxp_msg_clock(-1, 0);
  for (int32_t i = 0; i < c->n_win; i++)
    if (c->win[i]) cxp_windows_flush(c->win[i]);
  if (!c->local_merge) return;
  cxp_merger *m = merger_of(c, 0);
  merge_local_q(c, m, &end);
  for (int32_t i = 0; i < c->n_inputs; i++) cxp_merger_marker(m, i, INT64_MAX, &end);
  cxp_merger_flush(m, &end);
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
    int taken = cxp_merger_partial(mg, &p, m->now_ms, m->offset, m);
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
  cxp_merger_marker(mg, rd.input, rd.watermark, m);
  cxp_merger_mark_offset(mg, m->offset);
  return r;
}

cxp_reason cxp_core_process_repartition(cxp_core *c, const cxp_msg *m) {
  c->n.repartition_in++;
  cxp_merger *mg = merger_of(c, core_part(m->partition));
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
    if (cxp_merger_marker(mg, part, wm, m) < 0) {
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
  int taken = cxp_merger_partial(mg, &p, m->now_ms, m->offset, m);
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
