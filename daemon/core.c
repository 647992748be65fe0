#include "core.h"

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
  int64_t last = cu->alerted_ts_ms[t];
  int64_t gap = ts >= last ? ts - last : last - ts;
  return last == 0 || gap >= c->pl->cooldown_ms;
}

static void stamp_alert(cxp_customer *cu, cxp_alert_type t, int64_t ts) {
  if (ts > cu->alerted_ts_ms[t]) cu->alerted_ts_ms[t] = ts;
}

static void closed_loop(cxp_core *c, cxp_customer *cu, const cxp_event *ev,
                        const cxp_msg *m) {
  if (!c->pl->closed_loop_enabled || cxp_nps_class(ev->score) >= 0) return;
  if (!cu->consent) {
    c->n.suppressed_consent++;
    return;
  }
  if (!cooled_down(c, cu, CXP_AL_CLOSED_LOOP, ev->ts_ms)) {
    c->n.suppressed_cooldown++;
    return;
  }
  stamp_alert(cu, CXP_AL_CLOSED_LOOP, ev->ts_ms);

  /* A detractor's case has no id of its own: derive one from the response,
   * so that a replay opens the same case. */
  char case_id[36] = "cl-";
  cxp_idbuf h;
  const char *f[3] = {c->pl->name, cu->id, ev->event_id.p};
  size_t l[3] = {strlen(c->pl->name), cu->id_len, ev->event_id.n};
  cxp_make_id(&h, f, l, 3);
  memcpy(case_id + 3, h.hex, 16);
  case_id[19] = '\0';

  cxp_alert a;
  memset(&a, 0, sizeof a);
  a.type = CXP_AL_CLOSED_LOOP;
  /* Scores 0-3 are the angriest detractors: P2; 4-6: P3. Premium segments
   * are lifted one level. */
  a.priority = cxp_alert_lift(ev->score <= 3 ? 2 : 3,
                              cxp_pipeline_is_premium(c->pl, cu->segment, cu->seg_len));
  a.customer_id = (cxp_str){cu->id, cu->id_len};
  a.case_id = (cxp_str){case_id, 19};
  if (cu->seg_len) a.segment = (cxp_str){cu->segment, cu->seg_len};
  a.trigger_event_id = ev->event_id;
  a.event_ts_ms = ev->ts_ms;
  a.emitted_at_ms = m->now_ms ? m->now_ms : ev->ts_ms;
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

  c->n.alerts[CXP_AL_CLOSED_LOOP]++;
  cxp_buf_reset(&c->out);
  cxp_alert_write(&c->out, &a, c->pl->name);
  emit(c, CXP_STREAM_ALERTS, cu->id, cu->id_len);
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
  if (ev.segment.p && ev.segment.n <= CXP_SEG_MAX) {
    memcpy(cu->segment, ev.segment.p, ev.segment.n);
    cu->segment[ev.segment.n] = '\0';
    cu->seg_len = (uint8_t)ev.segment.n;
  }
  switch (ev.type) {
  case CXP_EV_CSAT: cxp_customer_apply_survey(cu, &ev, c->pl->half_life_ms); break;
  case CXP_EV_NPS:
    cxp_customer_apply_survey(cu, &ev, c->pl->half_life_ms);
    closed_loop(c, cu, &ev, m);
    break;
  case CXP_EV_PROFILE:
    if (ev.consent >= 0) cu->consent = ev.consent;
    break;
  default:
    /* Other types are decoded and validated; their indicators come with the
     * satisfaction, recovery and churn capabilities. */
    if (ev.ts_ms > cu->last_ts_ms) cu->last_ts_ms = ev.ts_ms;
    break;
  }
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
