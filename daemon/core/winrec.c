/* The forms a window's aggregate takes outside its partition (window.h):
 * the partial's JSON wire form and its merge, the group key, the final
 * indicator record, and the consistency of a team's figures. Nothing here
 * knows the open windows of a partition (window.c). */
#include "winrec.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"
#include "varint.h"


/* ---- partials ------------------------------------------------------------ */

int cxp_window_partial_same(const cxp_window_partial *a, const cxp_window_partial *b) {
  if (a->start_ms != b->start_ms || a->length_ms != b->length_ms ||
      a->n_fields != b->n_fields)
    return 0;
  for (int f = 0; f < a->n_fields; f++)
    if (a->fields[f] != b->fields[f] || a->value_len[f] != b->value_len[f] ||
        memcmp(a->value[f], b->value[f], a->value_len[f]) != 0)
      return 0;
  return 1;
}

int cxp_window_partial_merge(cxp_window_partial *dst, const cxp_window_partial *src) {
  if (!cxp_window_partial_same(dst, src)) return -1;
  cxp_window_agg *a = &dst->agg;
  const cxp_window_agg *b = &src->agg;
  a->events += b->events;
  a->csat_n += b->csat_n;
  a->csat_sat += b->csat_sat;
  a->nps_n += b->nps_n;
  a->nps_promoters += b->nps_promoters;
  a->nps_passives += b->nps_passives;
  a->nps_detractors += b->nps_detractors;
  a->ces_n += b->ces_n;
  a->ces_sum += b->ces_sum;
  a->servqual_n += b->servqual_n;
  for (int d = 0; d < CXP_SQ__COUNT; d++) {
    a->sq_n[d] += b->sq_n[d];
    a->sq_gap_sum[d] += b->sq_gap_sum[d];
  }
  a->complaints += b->complaints;
  a->cases_opened += b->cases_opened;
  a->cases_recovered_well += b->cases_recovered_well;
  a->cases_recovered_poorly += b->cases_recovered_poorly;
  a->failure_cases += b->failure_cases;
  a->preempted += b->preempted;
  a->tta_n += b->tta_n;
  a->ttr_n += b->ttr_n;
  for (int k = 0; k < CXP_WIN_TBUCKETS; k++) {
    a->tta_hist[k] += b->tta_hist[k];
    a->ttr_hist[k] += b->ttr_hist[k];
  }
  for (int i = 0; i < 3; i++) a->churn[i] += b->churn[i];
  a->var_cents = cxp_win_sum_add(a->var_cents, b->var_cents);
  for (int i = 0; i < CXP_WIN_COHORTS; i++) {
    a->cohort_customers[i] += b->cohort_customers[i];
    a->cohort_si_n[i] += b->cohort_si_n[i];
    a->cohort_si_sum[i] += b->cohort_si_sum[i];
    a->cohort_cancels[i] += b->cohort_cancels[i];
  }
  a->post_csat_n += b->post_csat_n;
  a->post_csat_sat += b->post_csat_sat;
  a->post_nps_n += b->post_nps_n;
  a->post_nps_promoters += b->post_nps_promoters;
  a->post_nps_detractors += b->post_nps_detractors;
  a->customers += b->customers;
  a->value_n += b->value_n;
  a->value_sum += b->value_sum;
  a->value_under += b->value_under;
  a->repeat_purchases += b->repeat_purchases;
  a->referrals += b->referrals;
  a->participations += b->participations;
  dst->early |= src->early;
  if (dst->partition != src->partition) dst->partition = -1;
  return 0;
}

static void write_group(cxp_jw *j, const char *key, const cxp_window_partial *p) {
  cxp_jw_obj(j, key);
  for (int f = 0; f < p->n_fields; f++)
    cxp_jw_str(j, cxp_window_field_name(p->fields[f]), p->value[f], p->value_len[f]);
  cxp_jw_end(j);
}

static void write_arr(cxp_jw *j, const char *key, const int64_t *v, int n) {
  cxp_jw_arr(j, key);
  for (int i = 0; i < n; i++) cxp_jw_int(j, NULL, v[i]);
  cxp_jw_end(j);
}

/* Member names match the agg fields; end is implied by start + length. */
void cxp_window_partial_write(cxp_buf *b, const cxp_window_partial *p) {
  const cxp_window_agg *a = &p->agg;
  cxp_jw j;
  cxp_jw_init(&j, b);
  cxp_jw_obj(&j, NULL);
  cxp_jw_int(&j, "v", 1);
  cxp_jw_int(&j, "partition", p->partition);
  cxp_jw_int(&j, "start", p->start_ms);
  cxp_jw_int(&j, "length", p->length_ms);
  cxp_jw_bool(&j, "early", p->early);
  write_group(&j, "group", p);
  cxp_jw_int(&j, "events", a->events);
  cxp_jw_int(&j, "csat_n", a->csat_n);
  cxp_jw_int(&j, "csat_sat", a->csat_sat);
  cxp_jw_int(&j, "nps_n", a->nps_n);
  cxp_jw_int(&j, "nps_promoters", a->nps_promoters);
  cxp_jw_int(&j, "nps_passives", a->nps_passives);
  cxp_jw_int(&j, "nps_detractors", a->nps_detractors);
  cxp_jw_int(&j, "ces_n", a->ces_n);
  cxp_jw_int(&j, "ces_sum", a->ces_sum);
  cxp_jw_int(&j, "servqual_n", a->servqual_n);
  write_arr(&j, "sq_n", a->sq_n, CXP_SQ__COUNT);
  write_arr(&j, "sq_gap_sum", a->sq_gap_sum, CXP_SQ__COUNT);
  cxp_jw_int(&j, "complaints", a->complaints);
  cxp_jw_int(&j, "cases_opened", a->cases_opened);
  cxp_jw_int(&j, "cases_recovered_well", a->cases_recovered_well);
  cxp_jw_int(&j, "cases_recovered_poorly", a->cases_recovered_poorly);
  cxp_jw_int(&j, "failure_cases", a->failure_cases);
  cxp_jw_int(&j, "preempted", a->preempted);
  cxp_jw_int(&j, "tta_n", a->tta_n);
  write_arr(&j, "tta_hist", a->tta_hist, CXP_WIN_TBUCKETS);
  cxp_jw_int(&j, "ttr_n", a->ttr_n);
  write_arr(&j, "ttr_hist", a->ttr_hist, CXP_WIN_TBUCKETS);
  write_arr(&j, "churn", a->churn, 3);
  cxp_jw_int(&j, "var_cents", a->var_cents);
  write_arr(&j, "cohort_customers", a->cohort_customers, CXP_WIN_COHORTS);
  write_arr(&j, "cohort_si_n", a->cohort_si_n, CXP_WIN_COHORTS);
  write_arr(&j, "cohort_si_sum", a->cohort_si_sum, CXP_WIN_COHORTS);
  write_arr(&j, "cohort_cancels", a->cohort_cancels, CXP_WIN_COHORTS);
  const int64_t post[5] = {a->post_csat_n, a->post_csat_sat, a->post_nps_n,
                           a->post_nps_promoters, a->post_nps_detractors};
  write_arr(&j, "post_recovery", post, 5);
  const int64_t loyal[7] = {a->customers,       a->value_n,   a->value_sum,     a->value_under,
                            a->repeat_purchases, a->referrals, a->participations};
  write_arr(&j, "customers_value_loyalty", loyal, 7);
  if (p->first_offset >= 0 && p->last_offset >= p->first_offset) {
    const int64_t off[2] = {p->first_offset, p->last_offset};
    write_arr(&j, "offsets", off, 2);
  }
  cxp_jw_end(&j);
}

/* An integer member within [lo, hi]; JSON numbers are doubles in cJSON, so
 * only integers up to 2^53 are taken (they are exact there). */
static int get_int(const cJSON *o, const char *name, int64_t lo, int64_t hi, int64_t *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
  if (!cJSON_IsNumber(v)) return -1;
  double d = v->valuedouble;
  if (!(d >= -(double)CXP_WIN_JSON_INT_MAX && d <= (double)CXP_WIN_JSON_INT_MAX) || d != floor(d)) return -1;
  int64_t x = (int64_t)d;
  if (x < lo || x > hi) return -1;
  *out = x;
  return 0;
}

static int get_ints(const cJSON *o, const char *name, int64_t lo, int64_t hi, int64_t *out,
                    int n) {
  const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, name);
  if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n) return -1;
  int i = 0;
  for (const cJSON *v = a->child; v; v = v->next, i++) {
    double d = cJSON_IsNumber(v) ? v->valuedouble : 0.5;
    if (!(d >= (double)lo && d <= (double)hi) || d != floor(d)) return -1;
    out[i] = (int64_t)d;
  }
  return 0;
}

int cxp_window_group_parse(const cJSON *g, cxp_window_partial *p) {
  if (!cJSON_IsObject(g)) return -1;
  unsigned seen = 0;
  p->n_fields = 0;
  for (const cJSON *m = g->child; m; m = m->next) {
    if (p->n_fields == CXP_WIN_MAX_FIELDS || !cJSON_IsString(m) || m->string == NULL)
      return -1;
    int f = cxp_window_field_parse(m->string, strlen(m->string));
    if (f < 0 || (seen & (1u << f))) return -1;
    seen |= 1u << f;
    size_t n = strlen(m->valuestring);
    if (n > CXP_WIN_VALUE_MAX) return -1;
    int i = p->n_fields++;
    p->fields[i] = (cxp_window_field)f;
    p->value_len[i] = (uint8_t)n;
    memcpy(p->value[i], m->valuestring, n + 1);
  }
  return 0;
}

/* The counts make sense together: what the record divides by is consistent
 * with what it divides, so a corrupted partial cannot yield a CSAT of 150. */
int cxp_window_agg_consistent(const cxp_window_agg *a) {
  if (a->csat_sat > a->csat_n) return 0;
  if (a->nps_promoters + a->nps_passives + a->nps_detractors != a->nps_n) return 0;
  if (a->ces_sum < a->ces_n || a->ces_sum > 7 * a->ces_n) return 0;
  for (int d = 0; d < CXP_SQ__COUNT; d++) {
    if (a->sq_n[d] > a->servqual_n) return 0;
    int64_t bound = 6LL * CXP_WIN_GAP_SCALE * a->sq_n[d];
    if (a->sq_gap_sum[d] < -bound || a->sq_gap_sum[d] > bound) return 0;
  }
  /* cases_opened is not bounded by complaints + detractors: with a case
   * module, a complaint merged into an open case, or a detractor without
   * consent, opens none. */
  if (a->events < a->csat_n + a->nps_n + a->ces_n + a->servqual_n + a->complaints) return 0;
  if (a->preempted > a->failure_cases) return 0;
  int64_t ta = 0, tr = 0;
  for (int k = 0; k < CXP_WIN_TBUCKETS; k++) {
    ta += a->tta_hist[k];
    tr += a->ttr_hist[k];
  }
  if (ta != a->tta_n || tr != a->ttr_n) return 0;
  for (int i = 0; i < CXP_WIN_COHORTS; i++)
    if (a->cohort_si_sum[i] > 100LL * CXP_WIN_SI_SCALE * a->cohort_si_n[i]) return 0;
  if (a->post_csat_sat > a->post_csat_n || a->post_csat_n > a->csat_n ||
      a->post_nps_promoters + a->post_nps_detractors > a->post_nps_n || a->post_nps_n > a->nps_n)
    return 0;
  if (a->value_n > a->customers || a->value_under > a->value_n ||
      a->value_sum > (int64_t)CXP_WIN_VALUE_SCALE * 1000 * a->value_n ||
      a->repeat_purchases + a->participations > a->events || a->referrals > a->participations)
    return 0;
  return 1;
}

/* The post-recovery counts and the customers, value and loyalty counts,
 * which travel as arrays; always 1. */
static int post_into(cxp_window_agg *a, const int64_t *post, const int64_t *loyal) {
  a->post_csat_n = post[0];
  a->post_csat_sat = post[1];
  a->post_nps_n = post[2];
  a->post_nps_promoters = post[3];
  a->post_nps_detractors = post[4];
  a->customers = loyal[0];
  a->value_n = loyal[1];
  a->value_sum = loyal[2];
  a->value_under = loyal[3];
  a->repeat_purchases = loyal[4];
  a->referrals = loyal[5];
  a->participations = loyal[6];
  return 1;
}

int cxp_window_partial_parse(const char *s, size_t n, cxp_window_partial *p) {
  memset(p, 0, sizeof *p);
  cJSON *root = cJSON_ParseWithLength(s, n);
  if (root == NULL) return -1;
  int rc = -1;
  cxp_window_agg *a = &p->agg;
  int64_t v, part, post[5], off[2] = {-1, -1}, loyal[7] = {0};
  const int64_t C = CXP_WIN_COUNT_MAX, T = CXP_WIN_JSON_INT_MAX - CXP_WIN_TIME_LIMIT_MS;
  const cJSON *early = cJSON_GetObjectItemCaseSensitive(root, "early");
  if (!cJSON_IsObject(root) || get_int(root, "v", 1, 1, &v) ||
      get_int(root, "partition", -1, INT32_MAX, &part) ||
      get_int(root, "length", 1, CXP_WIN_TIME_LIMIT_MS, &p->length_ms) ||
      get_int(root, "start", -T, T, &p->start_ms) || !cJSON_IsBool(early) ||
      cxp_window_group_parse(cJSON_GetObjectItemCaseSensitive(root, "group"), p) ||
      get_int(root, "events", 0, C, &a->events) ||
      get_int(root, "csat_n", 0, C, &a->csat_n) ||
      get_int(root, "csat_sat", 0, C, &a->csat_sat) ||
      get_int(root, "nps_n", 0, C, &a->nps_n) ||
      get_int(root, "nps_promoters", 0, C, &a->nps_promoters) ||
      get_int(root, "nps_passives", 0, C, &a->nps_passives) ||
      get_int(root, "nps_detractors", 0, C, &a->nps_detractors) ||
      get_int(root, "ces_n", 0, C, &a->ces_n) ||
      get_int(root, "ces_sum", 0, 7 * C, &a->ces_sum) ||
      get_int(root, "servqual_n", 0, C, &a->servqual_n) ||
      get_ints(root, "sq_n", 0, C, a->sq_n, CXP_SQ__COUNT) ||
      get_ints(root, "sq_gap_sum", -CXP_WIN_JSON_INT_MAX, CXP_WIN_JSON_INT_MAX, a->sq_gap_sum,
               CXP_SQ__COUNT) ||
      get_int(root, "complaints", 0, C, &a->complaints) ||
      get_int(root, "cases_opened", 0, C, &a->cases_opened) ||
      get_int(root, "cases_recovered_well", 0, C, &a->cases_recovered_well) ||
      get_int(root, "cases_recovered_poorly", 0, C, &a->cases_recovered_poorly) ||
      get_int(root, "failure_cases", 0, C, &a->failure_cases) ||
      get_int(root, "preempted", 0, C, &a->preempted) ||
      get_int(root, "tta_n", 0, C, &a->tta_n) ||
      get_ints(root, "tta_hist", 0, C, a->tta_hist, CXP_WIN_TBUCKETS) ||
      get_int(root, "ttr_n", 0, C, &a->ttr_n) ||
      get_ints(root, "ttr_hist", 0, C, a->ttr_hist, CXP_WIN_TBUCKETS) ||
      get_ints(root, "churn", 0, C, a->churn, 3) ||
      /* Optional: partials of builds before it count none. */
      (cJSON_GetObjectItemCaseSensitive(root, "var_cents") &&
       get_int(root, "var_cents", 0, CXP_WIN_JSON_INT_MAX, &a->var_cents)) ||
      get_ints(root, "cohort_customers", 0, C, a->cohort_customers, CXP_WIN_COHORTS) ||
      get_ints(root, "cohort_si_n", 0, C, a->cohort_si_n, CXP_WIN_COHORTS) ||
      get_ints(root, "cohort_si_sum", 0, CXP_WIN_JSON_INT_MAX, a->cohort_si_sum, CXP_WIN_COHORTS) ||
      get_ints(root, "cohort_cancels", 0, C, a->cohort_cancels, CXP_WIN_COHORTS) ||
      get_ints(root, "post_recovery", 0, C, post, 5) ||
      /* Optional: partials of builds before it count none. */
      (cJSON_GetObjectItemCaseSensitive(root, "customers_value_loyalty") &&
       get_ints(root, "customers_value_loyalty", 0, CXP_WIN_JSON_INT_MAX, loyal, 7)) ||
      /* Optional: partials of builds before it, and merged ones, have none. */
      (cJSON_GetObjectItemCaseSensitive(root, "offsets") &&
       (get_ints(root, "offsets", 0, CXP_WIN_JSON_INT_MAX, off, 2) || off[1] < off[0])) ||
      p->start_ms != cxp_window_start(p->start_ms, p->length_ms) || !post_into(a, post, loyal) ||
      !cxp_window_agg_consistent(a))
    goto out;
  p->partition = (int32_t)part;
  p->early = cJSON_IsTrue(early);
  p->first_offset = off[0];
  p->last_offset = off[1];
  p->end_ms = p->start_ms + p->length_ms;
  rc = 0;
out:
  cJSON_Delete(root);
  if (rc != 0) memset(p, 0, sizeof *p);
  return rc;
}

void cxp_window_group_key(cxp_buf *b, const cxp_window_partial *p) {
  cxp_jw j;
  cxp_jw_init(&j, b);
  write_group(&j, NULL, p);
}

/* ---- the final record ---------------------------------------------------- */

/* num / den, or null without responses (never 0: docs/domain.md section 4). */
static void ratio(cxp_jw *j, const char *key, double num, int64_t den) {
  if (den > 0)
    cxp_jw_num(j, key, num / (double)den);
  else
    cxp_jw_null(j, key);
}

static void median(cxp_jw *j, const int64_t *hist, int64_t n) {
  double v = cxp_window_median_min(hist, n);
  if (isnan(v))
    cxp_jw_null(j, "median");
  else
    cxp_jw_num(j, "median", v);
}

void cxp_window_record_write(cxp_buf *b, const cxp_window_partial *m, const char *pipeline,
                             int min_n, const int32_t *missing_partitions, int n_missing) {
  const cxp_window_agg *a = &m->agg;
  cxp_jw j;
  cxp_jw_init(&j, b);
  cxp_jw_obj(&j, NULL);
  cxp_jw_time(&j, "window_start", m->start_ms);
  cxp_jw_time(&j, "window_end", m->end_ms);
  write_group(&j, "group", m);
  cxp_jw_obj(&j, "n");
  cxp_jw_int(&j, "csat", a->csat_n);
  cxp_jw_int(&j, "nps", a->nps_n);
  cxp_jw_int(&j, "ces", a->ces_n);
  cxp_jw_int(&j, "servqual", a->servqual_n);
  cxp_jw_int(&j, "events", a->events);
  cxp_jw_end(&j);
  ratio(&j, "csat", 100.0 * (double)a->csat_sat, a->csat_n);
  ratio(&j, "nps", 100.0 * (double)(a->nps_promoters - a->nps_detractors), a->nps_n);
  ratio(&j, "ces", (double)a->ces_sum, a->ces_n);
  cxp_jw_obj(&j, "servqual_gap");
  for (int d = 0; d < CXP_SQ__COUNT; d++)
    ratio(&j, cxp_sq_dimension_name(d), (double)a->sq_gap_sum[d] / CXP_WIN_GAP_SCALE,
          a->sq_n[d]);
  cxp_jw_end(&j);
  cxp_jw_int(&j, "complaints", a->complaints);
  cxp_jw_int(&j, "cases_opened", a->cases_opened);
  cxp_jw_int(&j, "cases_recovered_well", a->cases_recovered_well);
  cxp_jw_int(&j, "cases_recovered_poorly", a->cases_recovered_poorly);
  cxp_jw_obj(&j, "preemption");
  cxp_jw_int(&j, "failure_cases", a->failure_cases);
  cxp_jw_int(&j, "preempted", a->preempted);
  ratio(&j, "ratio", (double)a->preempted, a->failure_cases);
  cxp_jw_end(&j);
  cxp_jw_obj(&j, "time_to_acknowledge_min");
  cxp_jw_int(&j, "n", a->tta_n);
  median(&j, a->tta_hist, a->tta_n);
  cxp_jw_end(&j);
  cxp_jw_obj(&j, "time_to_resolve_min");
  cxp_jw_int(&j, "n", a->ttr_n);
  median(&j, a->ttr_hist, a->ttr_n);
  cxp_jw_end(&j);
  static const char *const cohorts[CXP_WIN_COHORTS] = {"never_failed", "recovered_well",
                                                       "recovered_poorly"};
  cxp_jw_obj(&j, "paradox");
  for (int i = 0; i < CXP_WIN_COHORTS; i++) {
    cxp_jw_obj(&j, cohorts[i]);
    cxp_jw_int(&j, "customers", a->cohort_customers[i]);
    cxp_jw_int(&j, "si_n", a->cohort_si_n[i]);
    ratio(&j, "si_mean", (double)a->cohort_si_sum[i] / CXP_WIN_SI_SCALE, a->cohort_si_n[i]);
    cxp_jw_int(&j, "cancellations", a->cohort_cancels[i]);
    ratio(&j, "cancellation_rate", (double)a->cohort_cancels[i], a->cohort_customers[i]);
    cxp_jw_end(&j);
  }
  /* Mean SI of the recovered-well over the never-failed: above 1 is the
   * recovery paradox. */
  if (a->cohort_si_n[0] > 0 && a->cohort_si_n[1] > 0 && a->cohort_si_sum[0] > 0)
    cxp_jw_num(&j, "si_ratio_well_vs_never",
               ((double)a->cohort_si_sum[1] / (double)a->cohort_si_n[1]) /
                   ((double)a->cohort_si_sum[0] / (double)a->cohort_si_n[0]));
  else
    cxp_jw_null(&j, "si_ratio_well_vs_never");
  cxp_jw_end(&j);
  cxp_jw_obj(&j, "post_recovery");
  cxp_jw_int(&j, "csat_n", a->post_csat_n);
  ratio(&j, "csat", 100.0 * (double)a->post_csat_sat, a->post_csat_n);
  cxp_jw_int(&j, "nps_n", a->post_nps_n);
  ratio(&j, "nps", 100.0 * (double)(a->post_nps_promoters - a->post_nps_detractors),
        a->post_nps_n);
  cxp_jw_end(&j);
  cxp_jw_obj(&j, "churn_risk");
  cxp_jw_int(&j, "low", a->churn[0]);
  cxp_jw_int(&j, "medium", a->churn[1]);
  cxp_jw_int(&j, "high", a->churn[2]);
  char var[32];
  snprintf(var, sizeof var, "%" PRId64 ".%02d", a->var_cents / 100, (int)(a->var_cents % 100));
  cxp_jw_raw(&j, "value_at_risk", var);
  cxp_jw_end(&j);
  /* Delivered value of the window's customers: mean value/cost ratio and
   * the share under 1 (getting less than they give). */
  cxp_jw_obj(&j, "delivered_value");
  cxp_jw_int(&j, "n", a->value_n);
  ratio(&j, "mean_ratio", (double)a->value_sum / CXP_WIN_VALUE_SCALE, a->value_n);
  ratio(&j, "share_under_1", (double)a->value_under, a->value_n);
  cxp_jw_end(&j);
  /* The loyalty triad per 100 customers active in the window. */
  cxp_jw_obj(&j, "loyalty");
  cxp_jw_int(&j, "customers", a->customers);
  cxp_jw_int(&j, "repeat_purchases", a->repeat_purchases);
  cxp_jw_int(&j, "referrals", a->referrals);
  ratio(&j, "repeat_purchase_rate", 100.0 * (double)a->repeat_purchases, a->customers);
  ratio(&j, "referral_rate", 100.0 * (double)a->referrals, a->customers);
  ratio(&j, "complaint_rate", 100.0 * (double)a->complaints, a->customers);
  cxp_jw_end(&j);
  /* Consistency across the group's channels and agents (filled by the
   * merger when those groupings are configured too). */
  static const char *const spread_names[2] = {"channels", "agents"};
  static const char *const measure_names[2] = {"csat", "nps"};
  cxp_jw_obj(&j, "consistency");
  for (int k = 0; k < 2; k++) {
    cxp_jw_obj(&j, spread_names[k]);
    for (int me = 0; me < 2; me++) {
      cxp_jw_obj(&j, measure_names[me]);
      cxp_jw_int(&j, "n", m->spread[k].n[me]);
      if (m->spread[k].n[me] > 0)
        cxp_jw_num(&j, "sd", m->spread[k].sd[me]);
      else
        cxp_jw_null(&j, "sd");
      cxp_jw_end(&j);
    }
    cxp_jw_end(&j);
  }
  cxp_jw_end(&j);
  /* The customer side of "both sides active" (the provider side is the
   * pre-emption ratio): participation per 100 active customers. */
  cxp_jw_obj(&j, "activity");
  cxp_jw_int(&j, "participations", a->participations);
  ratio(&j, "index", 100.0 * (double)a->participations, a->customers);
  cxp_jw_end(&j);
  const char *names[4] = {"csat", "nps", "ces", "servqual"};
  const int64_t ns[4] = {a->csat_n, a->nps_n, a->ces_n, a->servqual_n};
  cxp_jw_arr(&j, "low_n");
  for (int i = 0; i < 4; i++)
    if (ns[i] > 0 && ns[i] < min_n) cxp_jw_cstr(&j, NULL, names[i]);
  cxp_jw_end(&j);
  cxp_jw_bool(&j, "incomplete", n_missing > 0);
  cxp_jw_arr(&j, "missing_partitions");
  for (int i = 0; i < n_missing; i++) cxp_jw_int(&j, NULL, missing_partitions[i]);
  cxp_jw_end(&j);
  cxp_jw_int(&j, "revision", m->revision > 0 ? m->revision : 0);
  cxp_jw_cstr(&j, "pipeline", pipeline);
  cxp_jw_cstr(&j, "schema", "cxpulse.indicator/1");
  cxp_jw_end(&j);
}

/* ---- consistency --------------------------------------------------------- */

int cxp_window_consistency_compute(const cxp_window_partial *const *groups, int n,
                                   int min_n, cxp_window_consistency *out,
                                   int *flagged) {
  double sum = 0, sq = 0;
  int k = 0;
  for (int i = 0; i < n; i++) {
    const cxp_window_agg *a = &groups[i]->agg;
    if (a->csat_n < min_n || a->csat_n == 0) continue;
    double c = 100.0 * (double)a->csat_sat / (double)a->csat_n;
    sum += c;
    k++;
  }
  out->qualified = k;
  out->mean = out->spread = NAN;
  if (flagged)
    for (int i = 0; i < n; i++) flagged[i] = 0;
  if (k == 0) return 0;
  double mean = sum / k;
  /* Two passes (mean, then squared deviations): no cancellation. */
  for (int i = 0; i < n; i++) {
    const cxp_window_agg *a = &groups[i]->agg;
    if (a->csat_n < min_n || a->csat_n == 0) continue;
    double d = 100.0 * (double)a->csat_sat / (double)a->csat_n - mean;
    sq += d * d;
  }
  double sd = sqrt(sq / k);
  out->mean = mean;
  out->spread = sd;
  int nflag = 0;
  for (int i = 0; i < n; i++) {
    const cxp_window_agg *a = &groups[i]->agg;
    if (a->csat_n < min_n || a->csat_n == 0) continue;
    double c = 100.0 * (double)a->csat_sat / (double)a->csat_n;
    if (sd > 0 && c < mean - 2.0 * sd) {
      if (flagged) flagged[i] = 1;
      nflag++;
    }
  }
  return nflag;
}

/* Whether c is a sub-group of p by field f: the same window, p's fields and
 * values, and f (not "unknown") besides. */
static int sub_group(const cxp_window_partial *p, const cxp_window_partial *c,
                     cxp_window_field f) {
  if (c->n_fields != p->n_fields + 1 || c->start_ms != p->start_ms ||
      c->length_ms != p->length_ms)
    return 0;
  int extra = 0;
  for (int i = 0; i < c->n_fields; i++) {
    if (c->fields[i] == f) {
      if (strcmp(c->value[i], CXP_WIN_UNKNOWN) == 0) return 0;
      extra = 1;
      continue;
    }
    int k = 0;
    while (k < p->n_fields && p->fields[k] != c->fields[i]) k++;
    if (k == p->n_fields || strcmp(p->value[k], c->value[i]) != 0) return 0;
  }
  return extra;
}

void cxp_window_spreads(cxp_window_partial *const *ps, int n) {
  for (int i = 0; i < n; i++) {
    cxp_window_partial *p = ps[i];
    for (int k = 0; k < 2; k++) {
      cxp_window_field f = k ? CXP_WF_AGENT_ID : CXP_WF_CHANNEL;
      double sum[2] = {0, 0}, sq[2] = {0, 0};
      int32_t cnt[2] = {0, 0};
      for (int j = 0; j < n; j++) {
        const cxp_window_agg *a = &ps[j]->agg;
        if (j == i || !sub_group(p, ps[j], f)) continue;
        const double v[2] = {
            a->csat_n ? 100.0 * (double)a->csat_sat / (double)a->csat_n : 0,
            a->nps_n ? 100.0 * (double)(a->nps_promoters - a->nps_detractors) / (double)a->nps_n
                     : 0};
        const int64_t have[2] = {a->csat_n, a->nps_n};
        for (int m = 0; m < 2; m++)
          if (have[m] > 0) {
            cnt[m]++;
            sum[m] += v[m];
            sq[m] += v[m] * v[m];
          }
      }
      for (int m = 0; m < 2; m++) {
        double mean = cnt[m] ? sum[m] / cnt[m] : 0, var = cnt[m] ? sq[m] / cnt[m] - mean * mean : 0;
        p->spread[k].n[m] = cnt[m];
        p->spread[k].sd[m] = cnt[m] ? sqrt(var > 0 ? var : 0) : NAN;
      }
    }
  }
}

/* ---- the aggregate in binary (changelog records) ------------------------- */

#define AGG_WORDS (sizeof(cxp_window_agg) / sizeof(int64_t))
_Static_assert(sizeof(cxp_window_agg) % sizeof(int64_t) == 0,
               "cxp_window_agg is int64 members only: the record writes it as words");

void cxp_window_agg_put(cxp_buf *b, const cxp_window_agg *a) {
  int64_t word[AGG_WORDS];
  memcpy(word, a, sizeof word);
  /* Through a cursor, the bound reserved once: a window closes with most
   * of its words 0 (one byte each), and a reserve a word was most of a
   * partial's cost where windows close at every event (a slow stream). */
  cxp_buf_reserve(b, 10 * (AGG_WORDS + 1));
  uint8_t *o = cxp_enc_v(cxp_enc_at(b), AGG_WORDS);
  size_t i = 0;
  for (; i + 8 <= AGG_WORDS; i += 8) {
    uint64_t any = 0;
    for (size_t j = 0; j < 8; j++) any |= (uint64_t)word[i + j];
    if (any == 0) { /* eight zeros: eight bytes of 0 */
      memset(o, 0, 8);
      o += 8;
      continue;
    }
    for (size_t j = 0; j < 8; j++) o = cxp_enc_z(o, word[i + j]);
  }
  for (; i < AGG_WORDS; i++) o = cxp_enc_z(o, word[i]);
  cxp_enc_done(b, o);
}

/* The range of word i. Each holds 0..CXP_WIN_COUNT_MAX (the default), which
 * cxp_window_agg_get relies on. */
_Static_assert(7 * CXP_WIN_COUNT_MAX <= CXP_WIN_JSON_INT_MAX, "the wider ranges hold the default");
static void word_range(size_t i, int64_t *lo, int64_t *hi) {
#define IN(m, n) \
  (i * 8 >= offsetof(cxp_window_agg, m) && i * 8 < offsetof(cxp_window_agg, m) + (n) * 8)
  *lo = 0;
  *hi = CXP_WIN_COUNT_MAX;
  if (IN(sq_gap_sum, CXP_SQ__COUNT)) {
    *lo = -CXP_WIN_JSON_INT_MAX;
    *hi = CXP_WIN_JSON_INT_MAX;
  } else if (IN(ces_sum, 1)) {
    *hi = 7 * CXP_WIN_COUNT_MAX;
  } else if (IN(var_cents, 1) || IN(cohort_si_sum, CXP_WIN_COHORTS) || IN(value_sum, 1)) {
    *hi = CXP_WIN_JSON_INT_MAX;
  }
#undef IN
}

int cxp_window_agg_get(cxp_rd *r, cxp_window_agg *a) {
  uint64_t words = cxp_get_v(r);
  if (r->bad || words > AGG_WORDS) return -1;
  int64_t word[AGG_WORDS] = {0};
  /* The cursor in a local (cxp_dec_v): a merger reads some eighty words a
   * partial, and through r one cost 4,100 instructions in bench_e2e. Near
   * the end, cxp_get_z reads a word with its checks. */
  const uint8_t *p = r->p;
  for (size_t i = 0; i < words; i++) {
    uint64_t v;
    if (i + 8 <= words && r->end - p >= 8) {
      /* Eight zero words, eight bytes of 0 (as cxp_window_agg_put writes
       * them): word[] holds 0 already. */
      uint64_t eight;
      memcpy(&eight, p, 8);
      if (eight == 0) {
        p += 8;
        i += 7;
        continue;
      }
    }
    if (r->end - p >= 10) {
      if ((p = cxp_dec_v(p, &v)) == NULL) {
        r->bad = 1;
        return -1;
      }
      word[i] = cxp_unzigzag(v);
    } else {
      r->p = p;
      word[i] = cxp_get_z(r);
      if (r->bad) return -1;
      p = r->p;
    }
    /* Every word's range holds 0..CXP_WIN_COUNT_MAX; only a word outside
     * it needs its own range looked up. */
    if ((uint64_t)word[i] > CXP_WIN_COUNT_MAX) {
      int64_t lo, hi;
      word_range(i, &lo, &hi);
      if (word[i] < lo || word[i] > hi) return -1;
    }
  }
  r->p = p;
  memcpy(a, word, sizeof word);
  return cxp_window_agg_consistent(a) ? 0 : -1;
}

/* ---- fields, spans, medians ------------------------------------------------ */

static const char *const field_names[CXP_WF__COUNT] = {"segment", "channel", "agent_id",
                                                       "touchpoint"};

const char *cxp_window_field_name(cxp_window_field f) {
  return (unsigned)f < CXP_WF__COUNT ? field_names[f] : "unknown";
}

int cxp_window_field_parse(const char *s, size_t n) {
  for (int f = 0; f < CXP_WF__COUNT; f++)
    if (strlen(field_names[f]) == n && memcmp(field_names[f], s, n) == 0) return f;
  return -1;
}

int cxp_window_span_ok(int64_t length_ms, int64_t start_ms) {
  const int64_t t = CXP_WIN_JSON_INT_MAX - CXP_WIN_TIME_LIMIT_MS;
  return length_ms >= 1 && length_ms <= CXP_WIN_TIME_LIMIT_MS && start_ms >= -t && start_ms <= t;
}

/* The j-th smallest value (1-based) of a time histogram, in minutes: the c
 * values of its bucket [lo, hi) taken as spread evenly over it, the i-th of
 * them at lo + (hi - lo) x (i - 0.5) / c, so that a lone value reads as its
 * bucket's middle, not its upper bound; the open-ended last bucket reads as
 * its lower bound. */
static double nth_min(const int64_t *hist, int64_t j) {
  double lo = 0, hi = 1;
  int64_t cum = 0;
  for (int k = 0; k < CXP_WIN_TBUCKETS; k++) {
    if (k > 0) {
      lo = hi;
      hi *= 1.5;
    }
    if (hist[k] > 0 && cum + hist[k] >= j) {
      if (k == CXP_WIN_TBUCKETS - 1) return lo;
      return lo + (hi - lo) * ((double)(j - cum) - 0.5) / (double)hist[k];
    }
    cum += hist[k];
  }
  return lo;
}

double cxp_window_median_min(const int64_t *hist, int64_t n) {
  if (n <= 0) return NAN;
  /* The middle value, or the mean of the two middle ones for an even n. */
  if (n % 2) return nth_min(hist, (n + 1) / 2);
  return (nth_min(hist, n / 2) + nth_min(hist, n / 2 + 1)) / 2;
}
