#include "state.h"

#include <stdlib.h>
#include <string.h>

#include "decay.h"
#include "hash.h"

#define HASH_SEED 0x63787075ULL

void cxp_state_init(cxp_state *s) { memset(s, 0, sizeof *s); }

static void shard_destroy(cxp_shard *sh) {
  if (sh == NULL) return;
  for (size_t i = 0; i < sh->cap; i++) free(sh->slots[i]);
  free(sh->slots);
  free(sh);
}

void cxp_state_close(cxp_state *s) {
  for (int32_t i = 0; i < s->n_shards; i++) shard_destroy(s->shards[i]);
  free(s->shards);
  memset(s, 0, sizeof *s);
}

cxp_shard *cxp_state_shard(cxp_state *s, int32_t partition) {
  if (partition < 0) return NULL;
  if (partition >= s->n_shards) {
    int32_t n = s->n_shards ? s->n_shards : 8;
    while (n <= partition) n *= 2;
    cxp_shard **ns = realloc(s->shards, sizeof *ns * (size_t)n);
    if (ns == NULL) abort();
    memset(ns + s->n_shards, 0, sizeof *ns * (size_t)(n - s->n_shards));
    s->shards = ns;
    s->n_shards = n;
  }
  if (s->shards[partition] == NULL) {
    cxp_shard *sh = calloc(1, sizeof *sh);
    if (sh == NULL) abort();
    sh->partition = partition;
    sh->cap = 1024;
    sh->slots = calloc(sh->cap, sizeof *sh->slots);
    if (sh->slots == NULL) abort();
    s->shards[partition] = sh;
  }
  return s->shards[partition];
}

void cxp_state_drop(cxp_state *s, int32_t partition) {
  if (partition < 0 || partition >= s->n_shards || s->shards[partition] == NULL) return;
  s->customers -= s->shards[partition]->count;
  shard_destroy(s->shards[partition]);
  s->shards[partition] = NULL;
}

cxp_customer *cxp_shard_find(const cxp_shard *sh, const char *id, size_t len) {
  uint64_t h = cxp_hash64(id, len, HASH_SEED);
  size_t mask = sh->cap - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    cxp_customer *c = sh->slots[i];
    if (c == NULL) return NULL;
    if (c->hash == h && c->id_len == len && memcmp(c->id, id, len) == 0) return c;
  }
}

static void grow(cxp_shard *sh) {
  size_t ncap = sh->cap * 2, mask = ncap - 1;
  cxp_customer **ns = calloc(ncap, sizeof *ns);
  if (ns == NULL) abort();
  for (size_t i = 0; i < sh->cap; i++) {
    cxp_customer *c = sh->slots[i];
    if (c == NULL) continue;
    size_t j = c->hash & mask;
    while (ns[j] != NULL) j = (j + 1) & mask;
    ns[j] = c;
  }
  free(sh->slots);
  sh->slots = ns;
  sh->cap = ncap;
}

cxp_customer *cxp_shard_get(cxp_state *s, cxp_shard *sh, const char *id, size_t len) {
  uint64_t h = cxp_hash64(id, len, HASH_SEED);
  size_t mask = sh->cap - 1, i;
  for (i = h & mask; sh->slots[i] != NULL; i = (i + 1) & mask) {
    cxp_customer *c = sh->slots[i];
    if (c->hash == h && c->id_len == len && memcmp(c->id, id, len) == 0) return c;
  }
  if (len > CXP_ID_MAX) return NULL;
  cxp_customer *c = calloc(1, sizeof *c);
  if (c == NULL) abort();
  c->hash = h;
  c->last_offset = -1;
  c->nps_last_score = -1;
  c->consent = 1;
  c->id_len = (uint8_t)len;
  memcpy(c->id, id, len);
  sh->slots[i] = c;
  sh->count++;
  s->customers++;
  /* Keep the load under 1/2 so probes stay short. */
  if (sh->count * 2 > sh->cap) grow(sh);
  return c;
}

int cxp_customer_seen(cxp_customer *c, int64_t offset, const char *event_id,
                      size_t len) {
  if (offset >= 0 && offset <= c->last_offset) return 1;
  uint64_t h = cxp_hash64(event_id, len, HASH_SEED ^ 0xe1ULL) | 1;
  for (int i = 0; i < CXP_DEDUP_RING; i++)
    if (c->recent[i] == h) return 1;
  c->recent[c->recent_pos] = h;
  c->recent_pos = (c->recent_pos + 1) % CXP_DEDUP_RING;
  if (offset >= 0) c->last_offset = offset;
  return 0;
}

static void rescale(cxp_customer *c, int64_t t_ms, double half_life_ms) {
  int64_t nl = cxp_decay_next_landmark(c->landmark_ms, t_ms, half_life_ms);
  if (c->landmark_ms == 0 && c->csat_n == 0 && c->nps_n == 0) {
    c->landmark_ms = nl;
    return;
  }
  if (nl == c->landmark_ms) return;
  double f = cxp_decay_read(1.0, nl, c->landmark_ms, half_life_ms);
  c->csat_sat *= f;
  c->csat_n *= f;
  c->nps_sum *= f;
  c->nps_n *= f;
  c->landmark_ms = nl;
}

void cxp_customer_apply_survey(cxp_customer *c, const cxp_event *ev,
                               double half_life_ms) {
  rescale(c, ev->ts_ms, half_life_ms);
  double w = cxp_decay_factor(ev->ts_ms, c->landmark_ms, half_life_ms);
  if (ev->type == CXP_EV_CSAT) {
    c->csat_n += w;
    if (ev->score >= 4) c->csat_sat += w;
  } else if (ev->type == CXP_EV_NPS) {
    c->nps_n += w;
    c->nps_sum += w * ev->score;
    /* "Latest" is by event time, so that out-of-order arrival agrees; of two
     * responses at the same time the lower score wins, for the same reason
     * (and the lower one is the one to act on). */
    if (!c->nps_last_ts_set || ev->ts_ms > c->nps_last_ts_ms ||
        (ev->ts_ms == c->nps_last_ts_ms && ev->score < c->nps_last_score)) {
      c->nps_last_score = ev->score;
      c->nps_last_ts_ms = ev->ts_ms;
      c->nps_last_ts_set = 1;
    }
  }
  if (ev->ts_ms > c->last_ts_ms) c->last_ts_ms = ev->ts_ms;
}

double cxp_customer_csat(const cxp_customer *c) {
  /* Numerator and denominator decay alike, so their ratio is the same read
   * at any time and needs no clock. */
  if (c->csat_n <= 0) return -1;
  return 100.0 * c->csat_sat / c->csat_n;
}

double cxp_customer_nps_mean(const cxp_customer *c) {
  if (c->nps_n <= 0) return -1;
  return c->nps_sum / c->nps_n;
}

int cxp_nps_class(int score) { return score >= 9 ? 1 : score >= 7 ? 0 : -1; }
