/* Durable state as the core keeps it: the changed customers of each
 * partition, flushes to changelog frames, restores, expiry and eviction
 * (core_int.h). */
#include "core_int.h"

void cxp_core_drop_input(cxp_core *c, const cxp_msg *at, int send_partials) {
  int32_t part = at->partition;
  if (part >= 0 && part < c->n_win && c->win[part]) {
    if (send_partials) {
      cxp_windows_flush(c->win[part]);
      core_ship(c, part, at);
      /* Their records' tombstones wait with the customers' frames for the
       * partition's last flush: the next owner must not restore windows
       * whose sums went out as early partials. */
      cxp_shard *sh = c->changelog ? cxp_state_shard(&c->state, part) : NULL;
      if (sh) sh->n_gone += cxp_windows_take_gone(c->win[part], &sh->gone);
    }
    core_late_add(c->late_revised_retired, c->late_missed_retired, c->win[part]);
    cxp_windows_destroy(c->win[part]);
    c->win[part] = NULL;
    c->marked[part] = INT64_MIN;
  }
}

void cxp_core_drop_state(cxp_core *c, int32_t part) {
  /* His open cases are part of a customer's state (and of his record). */
  if (part >= 0 && part < c->n_cases && c->cases[part]) {
    cxp_cases_stats st = cxp_cases_stats_get(c->cases[part]);
    core_cases_stats_add(&c->cases_retired, &st, 0);
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
  return n + core_learn_changed(c, part);
}

size_t cxp_core_partition_flush(cxp_core *c, int32_t part, int64_t x, cxp_buf *out) {
  size_t n = 0;
  if (part >= 0 && part < c->n_cases && c->cases[part])
    n += cxp_cases_groups_flush(c->cases[part], out);
  if (part >= 0 && part < c->n_win && c->win[part])
    n += cxp_windows_flush_state(c->win[part], x, out);
  return n + core_learn_frame(c, part, 0, out);
}

size_t cxp_core_state_extra(cxp_core *c, int32_t part, cxp_buf *out) {
  size_t n = core_learn_frame(c, part, 1, out);
  if (part < 0 || part >= c->n_cases || c->cases[part] == NULL) return n;
  return n + cxp_cases_groups_all(c->cases[part], out);
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
void core_evict_for_cap(cxp_core *c, cxp_shard *sh, const cxp_customer *keep) {
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
    cxp_cases *cs = core_cases_of(c, part);
    if (cs == NULL) return 0; /* recovery off in this pipeline: nothing to restore */
    if (cxp_cases_group_restore(cs, key, klen, val, vlen, why, sizeof why) == 0) return 0;
    snprintf(err, errlen, "systemic group record '%.*s': %s", (int)(klen > 80 ? 80 : klen), key,
             why);
    return -1;
  }
  size_t ll = sizeof CXP_CL_LEARNER - 1;
  if (klen >= ll && memcmp(key, CXP_CL_LEARNER, ll) == 0)
    return c->learn.on ? core_learn_restore(c, part, key + ll, klen - ll, val, vlen, err, errlen)
                       : 0;
  if (klen >= 2 && key[0] == 'w' && (key[1] == ':' || key[1] == 'c')) {
    cxp_windows *w = core_windows_of(c, part);
    if (w == NULL) return 0; /* windows off in this pipeline: nothing to restore */
    if (cxp_windows_restore(w, key, klen, val, vlen, why, sizeof why) == 0) return 0;
    snprintf(err, errlen, "window record '%.*s': %s", (int)(klen > 80 ? 80 : klen), key, why);
    return -1;
  }
  if (cxp_staterec_apply(&c->state, part, key, klen, val, vlen, &cu, &ext, &el, err, errlen))
    return -1;
  cxp_cases *cs = cu ? core_cases_of(c, part) : NULL;
  if (cs == NULL) return 0;
  if (el == 0) {
    cxp_cases_clock_hint(cs, cu->last_ts_ms);
    cxp_cases_forget(cs, cu->id, cu->id_len);
    return 0;
  }
  if (cxp_cases_restore(cs, cu->id, cu->id_len, ext, el, cu->last_ts_ms, err, errlen) == 0) {
    core_restored_counts(cs, cu);
    return 0;
  }
  size_t l = strlen(err);
  if (l < errlen) snprintf(err + l, errlen - l, " (he is restored without them)");
  return -1;
}

size_t cxp_core_state_restore_cases(cxp_core *c, int32_t part, const cxp_buf *frames,
                                    int64_t max_ts) {
  cxp_cases *cs = core_cases_of(c, part);
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
    if (cu) core_restored_counts(cs, cu);
  }
  return bad;
}
