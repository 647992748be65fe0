/* The recovery settings, the SLA matrix and the deadlines it gives, the
 * names of the cases' enums, and the solution library (cases.h). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases_conf.h"
#include "cases_int.h"
#include "jsonw.h"
#include "fail.h"

#define DAY_MS 86400000LL
#define TIME_LIMIT_MS (366LL * DAY_MS)
#define MAX_OPEN_LIMIT (1u << 24)

/* The library: its entries in the order of the pipeline file. */
struct cxp_solutions {
  int n;
  cxp_solution *e;
};

static const char *const category_names[CXP_CAT__COUNT] = {
    "design", "operational", "communication", "reputational", "promise", "other"};

const char *cxp_case_category_name(int c) {
  return (unsigned)c < CXP_CAT__COUNT ? category_names[c] : "unknown";
}

int cxp_case_category_parse(const char *s, size_t n) {
  for (int c = 0; c < CXP_CAT__COUNT; c++)
    if (strlen(category_names[c]) == n && memcmp(category_names[c], s, n) == 0) return c;
  return -1;
}

/* ---- names of the cases' enums ------------------------------------------ */

static const char *const step_names[CXP_STEP__COUNT] = {
    "acknowledged", "apologized", "compensated", "resolved", "followed_up"};
static const char *const deadline_names[CXP_DL__COUNT] = {
    "acknowledge", "resolve", "follow_up", "apologize", "compensate"};
static const char *const cohort_names[] = {"never_failed", "pending", "recovered_well",
                                           "recovered_poorly"};
static const char *const end_names[] = {"closed", "abandoned", "evicted"};

const char *cxp_case_step_name(cxp_case_step s) {
  return (unsigned)s < CXP_STEP__COUNT ? step_names[s] : "unknown";
}
const cxp_case_deadline cxp_case_recovery_order[CXP_DL__COUNT] = {
    CXP_DL_ACKNOWLEDGE, CXP_DL_APOLOGIZE, CXP_DL_COMPENSATE, CXP_DL_RESOLVE, CXP_DL_FOLLOW_UP};

const char *cxp_case_deadline_name(cxp_case_deadline d) {
  return (unsigned)d < CXP_DL__COUNT ? deadline_names[d] : "unknown";
}
const char *cxp_case_cohort_name(cxp_case_cohort c) {
  return (unsigned)c <= CXP_COHORT_POORLY ? cohort_names[c] : "unknown";
}
const char *cxp_case_end_name(cxp_case_end e) {
  return (unsigned)e <= CXP_CASE_END_EVICTED ? end_names[e] : "unknown";
}

/* ---- configuration ------------------------------------------------------- */

void cxp_cases_conf_defaults(cxp_cases_conf *c) {
  memset(c, 0, sizeof *c);
  snprintf(c->pipeline, sizeof c->pipeline, "default");
  const int64_t M = 60000, H = 3600000;
  const int64_t ack[4] = {15 * M, 1 * H, 4 * H, 24 * H};
  const int64_t res[4] = {4 * H, 24 * H, 72 * H, 7 * DAY_MS};
  for (int i = 0; i < 4; i++) {
    c->ack_ms[i] = ack[i];
    c->resolve_ms[i] = res[i];
  }
  c->follow_up_ms = 72 * H;
  cxp_strset_parse(&c->premium, "[\"gold\",\"platinum\",\"premium\"]");
  c->premium_factor = 0.5;
  c->escalation[0] = 1;
  c->escalation[1] = 2;
  c->escalation[2] = 4;
  c->abandon_factor = 8;
  c->settle_ms = 5 * M;
  c->park_ms = H;
  c->max_parked = 10000;
  c->max_open = 1000000;
  c->max_closed = 65536;
  c->repeat_ms = 30 * DAY_MS;
  c->max_customers = 262144;
  c->systemic_window_ms = 15 * M;
  c->systemic_customers = 10;
  c->max_systemic = 4096;
  c->high_value = 5000;
  c->detractor_cases = 1;
  c->closed_loop_ms = 48 * H;
  c->digest = 0;
  c->digest_from = 3;
  c->digest_window_ms = H;
  c->digest_max = 50;
  for (int k = 0; k < CXP_CASES_LEVELS; k++) c->digest_group[k] = (uint8_t)k;
  /* The risk-matrix default (docs/domain.md section 5.1): with 1 the worst
   * likelihood and impact, the product of (5 - likelihood) and
   * (5 - impact), 1..16, banded 12+ critical, 6..9 major, 3..4 minor, 1..2
   * low. */
  static const int sev[CXP_MATRIX_N][CXP_MATRIX_N] = {
      {1, 1, 2, 3}, {1, 2, 2, 3}, {2, 2, 3, 4}, {3, 3, 4, 4}};
  memcpy(c->severity_matrix, sev, sizeof sev);
  c->solutions = NULL;
}

/* Says why in err (which may be NULL), and returns -1. */

static int bad_time(int64_t v, int64_t lo) { return v < lo || v > TIME_LIMIT_MS; }

/* The names are the pipeline file's keys: the conf is filled from those
 * rows, so an error names the row to fix. */
int cxp_cases_conf_check(const cxp_cases_conf *c, char *err, size_t errlen) {
  if (c->pipeline[0] == '\0') CXP_FAIL("name: the pipeline name is empty");
  for (int i = 0; i < 4; i++) {
    if (bad_time(c->ack_ms[i], 1000))
      CXP_FAIL("recovery.sla.sev%d.acknowledge_min: %lld ms, expected 1 s..366 days", i + 1,
           (long long)c->ack_ms[i]);
    if (bad_time(c->resolve_ms[i], 1000))
      CXP_FAIL("recovery.sla.sev%d.resolve_h: %lld ms, expected 1 s..366 days", i + 1,
           (long long)c->resolve_ms[i]);
  }
  for (int i = 0; i < 4; i++) {
    if (c->apologize_ms[i] != 0 && bad_time(c->apologize_ms[i], 1000))
      CXP_FAIL("recovery.sla.sev%d.apologize_h: %lld ms, expected 0 (none) or 1 s..366 days",
               i + 1, (long long)c->apologize_ms[i]);
    if (c->compensate_ms[i] != 0 && bad_time(c->compensate_ms[i], 1000))
      CXP_FAIL("recovery.sla.sev%d.compensate_h: %lld ms, expected 0 (none) or 1 s..366 days",
               i + 1, (long long)c->compensate_ms[i]);
  }
  if (bad_time(c->closed_loop_ms, 1000))
    CXP_FAIL("alerts.closed_loop.deadline_h: %lld ms, expected 1 s..366 days",
             (long long)c->closed_loop_ms);
  if (c->n_sla < 0 || c->n_sla > CXP_SLA_MAX)
    CXP_FAIL("recovery.sla_matrix: %d entries, expected 0..%d", c->n_sla, CXP_SLA_MAX);
  if (bad_time(c->follow_up_ms, 1000))
    CXP_FAIL("recovery.sla.follow_up_h: %lld ms, expected 1 s..366 days",
         (long long)c->follow_up_ms);
  if (!(c->premium_factor >= 0.01 && c->premium_factor <= 10))
    CXP_FAIL("recovery.sla.premium_factor: %g, expected 0.01..10", c->premium_factor);
  for (int k = 0; k < CXP_CASES_LEVELS; k++) {
    if (!(c->escalation[k] >= 0.1 && c->escalation[k] <= 64))
      CXP_FAIL("recovery.escalation.level%d: %g, expected 0.1..64", k + 1, c->escalation[k]);
    if (k > 0 && !(c->escalation[k] > c->escalation[k - 1]))
      CXP_FAIL("recovery.escalation.level%d: %g, expected more than level%d (%g)", k + 1,
           c->escalation[k], k, c->escalation[k - 1]);
  }
  if (!(c->abandon_factor > c->escalation[CXP_CASES_LEVELS - 1] && c->abandon_factor <= 128))
    CXP_FAIL("recovery.abandon_factor: %g, expected more than escalation.level%d (%g), at most 128",
         c->abandon_factor, CXP_CASES_LEVELS, c->escalation[CXP_CASES_LEVELS - 1]);
  if (c->settle_ms < 0 || c->settle_ms > DAY_MS)
    CXP_FAIL("recovery.settle_s: %lld ms, expected 0..1 day", (long long)c->settle_ms);
  if (c->park_ms < 1000 || c->park_ms > 7 * DAY_MS)
    CXP_FAIL("recovery.park_s: %lld ms, expected 1 s..7 days", (long long)c->park_ms);
  if (c->digest_from < 1 || c->digest_from > 4)
    CXP_FAIL("recovery.breach_digest.from_priority: %d, expected 1..4", c->digest_from);
  if (c->digest_window_ms < 60000 || c->digest_window_ms > DAY_MS)
    CXP_FAIL("recovery.breach_digest.window_min: %lld ms, expected 1 min..1 day",
             (long long)c->digest_window_ms);
  if (c->digest_max < 1 || c->digest_max > CXP_DIGEST_MAX)
    CXP_FAIL("recovery.breach_digest.max_cases: %u, expected 1..%d", c->digest_max,
             CXP_DIGEST_MAX);
  for (int k = 0; k < CXP_CASES_LEVELS; k++)
    if (c->digest_group[k] > k)
      CXP_FAIL("recovery.escalation.roles: level %d's digest is level %d's, expected an "
               "earlier level or its own", k + 1, c->digest_group[k] + 1);
  if (c->max_parked < 1 || c->max_parked > (1u << 20))
    CXP_FAIL("recovery.max_parked: %u, expected 1..%u", c->max_parked, 1u << 20);
  if (c->max_open < 1 || c->max_open > MAX_OPEN_LIMIT)
    CXP_FAIL("recovery.max_open: %u, expected 1..%u", c->max_open, MAX_OPEN_LIMIT);
  if (c->max_closed < 16 || c->max_closed > MAX_OPEN_LIMIT)
    CXP_FAIL("recovery.max_closed: %u, expected 16..%u", c->max_closed, MAX_OPEN_LIMIT);
  if (c->repeat_ms < 0 || c->repeat_ms > TIME_LIMIT_MS)
    CXP_FAIL("recovery.repeat_days: %lld ms, expected 0..366 days", (long long)c->repeat_ms);
  if (c->max_customers < 16 || c->max_customers > MAX_OPEN_LIMIT)
    CXP_FAIL("recovery.max_customers: %u, expected 16..%u", c->max_customers, MAX_OPEN_LIMIT);
  if (c->systemic_window_ms < 1000 || c->systemic_window_ms > DAY_MS)
    CXP_FAIL("recovery.systemic.window_min: %lld ms, expected 1 s..1 day",
         (long long)c->systemic_window_ms);
  if (c->systemic_customers < 2 || c->systemic_customers > 64)
    CXP_FAIL("recovery.systemic.customers: %d, expected 2..64", c->systemic_customers);
  if (c->max_systemic < 1 || c->max_systemic > (1u << 20))
    CXP_FAIL("recovery.systemic.max_groups: %u, expected 1..%u", c->max_systemic, 1u << 20);
  if (!isfinite(c->high_value))
    CXP_FAIL("recovery.high_value: expected a finite number (0 or less: off)");
  /* A likelier or worse failure is never milder: the severity number (1
   * critical) does not fall as the likelihood or impact number (1 the
   * worst) rises. */
  const int(*m)[CXP_MATRIX_N] = c->severity_matrix;
  for (int l = 0; l < CXP_MATRIX_N; l++)
    for (int i = 0; i < CXP_MATRIX_N; i++) {
      if (m[l][i] < 1 || m[l][i] > 4)
        CXP_FAIL("recovery.severity_matrix: row %d, column %d: %d is outside 1..4", l + 1,
                 i + 1, m[l][i]);
      if (i > 0 && m[l][i] < m[l][i - 1])
        CXP_FAIL("recovery.severity_matrix: row %d (likelihood %d) falls from %d to %d at "
                 "column %d: expected no decrease along a row",
                 l + 1, l + 1, m[l][i - 1], m[l][i], i + 1);
      if (l > 0 && m[l][i] < m[l - 1][i])
        CXP_FAIL("recovery.severity_matrix: column %d (impact %d) falls from %d to %d at "
                 "row %d: expected no decrease down a column",
                 i + 1, i + 1, m[l - 1][i], m[l][i], l + 1);
    }
  return 0;
}

/* ---- the SLA matrix -------------------------------------------------------- */

static int sol_name(const cJSON *v, char *out);

/* A step's member in a matrix entry: its name, its unit in ms, its bounds in
 * that unit, and whether 0 (no deadline) is allowed. */
static const struct {
  const char *key;
  double unit, lo, hi;
  int zero_ok;
} sla_members[CXP_DL__COUNT] = {
    [CXP_DL_ACKNOWLEDGE] = {"acknowledge_min", 60000.0, 0.1, 525600, 0},
    [CXP_DL_RESOLVE] = {"resolve_h", 3600000.0, 0.01, 8760, 0},
    [CXP_DL_FOLLOW_UP] = {"follow_up_h", 3600000.0, 0.01, 8760, 0},
    [CXP_DL_APOLOGIZE] = {"apologize_h", 3600000.0, 0.01, 8760, 1},
    [CXP_DL_COMPENSATE] = {"compensate_h", 3600000.0, 0.01, 8760, 1},
};

/* Entry i, the object o, into e. 0, or -1 with why in err. */
static int sla_entry(const cJSON *o, int i, cxp_sla_entry *e, char *err, size_t errlen) {
  memset(e, 0, sizeof *e);
  for (int d = 0; d < CXP_DL__COUNT; d++) e->ms[d] = -1;
  if (!cJSON_IsObject(o)) CXP_FAIL("recovery.sla_matrix[%d]: expected an object", i);
  int given = 0, has_segment = 0;
  for (const cJSON *m = o->child; m; m = m->next) {
    const char *k = m->string ? m->string : "";
    double v = cJSON_IsNumber(m) ? m->valuedouble : NAN;
    if (strcmp(k, "segment") == 0) {
      if (sol_name(m, e->segment))
        CXP_FAIL("recovery.sla_matrix[%d]: 'segment' must be a string of 1..%d bytes", i,
                 CXP_SOL_NAME_MAX);
      has_segment = 1;
      continue;
    }
    if (strcmp(k, "severity") == 0) {
      if (!(v >= 1 && v <= 4) || v != floor(v))
        CXP_FAIL("recovery.sla_matrix[%d]: 'severity' must be an integer 1..4", i);
      e->severity = (int)v;
      continue;
    }
    if (strcmp(k, "factor") == 0) {
      if (!(v >= 0.01 && v <= 10))
        CXP_FAIL("recovery.sla_matrix[%d]: 'factor' must be a number 0.01..10", i);
      e->factor = v;
      given++;
      continue;
    }
    int d = 0;
    while (d < CXP_DL__COUNT && strcmp(k, sla_members[d].key) != 0) d++;
    if (d == CXP_DL__COUNT)
      CXP_FAIL("recovery.sla_matrix[%d]: unknown member '%.64s'", i, k);
    if (!((v >= sla_members[d].lo && v <= sla_members[d].hi) ||
          (v == 0 && sla_members[d].zero_ok)))
      CXP_FAIL("recovery.sla_matrix[%d]: '%s' must be a number %g..%g%s", i, k,
               sla_members[d].lo, sla_members[d].hi, sla_members[d].zero_ok ? " or 0 (none)" : "");
    e->ms[d] = llround(v * sla_members[d].unit);
    given++;
  }
  if (!has_segment) CXP_FAIL("recovery.sla_matrix[%d]: 'segment' is missing", i);
  if (!given)
    CXP_FAIL("recovery.sla_matrix[%d]: neither a 'factor' nor a step's time", i);
  return 0;
}

int cxp_cases_sla_from_json(cxp_cases_conf *c, const cJSON *arr, char *err, size_t errlen) {
  c->n_sla = 0;
  if (!cJSON_IsArray(arr)) CXP_FAIL("recovery.sla_matrix: expected an array of entries");
  int n = cJSON_GetArraySize(arr);
  if (n > CXP_SLA_MAX)
    CXP_FAIL("recovery.sla_matrix: %d entries, expected at most %d", n, CXP_SLA_MAX);
  int i = 0;
  for (const cJSON *o = arr->child; o; o = o->next, i++) {
    cxp_sla_entry *e = &c->sla[i];
    if (sla_entry(o, i, e, err, errlen)) return -1;
    for (int j = 0; j < i; j++)
      if (c->sla[j].severity == e->severity && strcmp(c->sla[j].segment, e->segment) == 0)
        CXP_FAIL("recovery.sla_matrix[%d]: same segment and severity as "
                 "recovery.sla_matrix[%d]",
                 i, j);
  }
  c->n_sla = n;
  return 0;
}

const cxp_sla_entry *cxp_cases_sla_lookup(const cxp_cases_conf *c, const char *segment,
                                          size_t n, int severity) {
  const cxp_sla_entry *any = NULL;
  if (segment == NULL || n == 0) return NULL;
  for (int i = 0; i < c->n_sla; i++) {
    const cxp_sla_entry *e = &c->sla[i];
    if (strlen(e->segment) != n || memcmp(e->segment, segment, n) != 0) continue;
    if (e->severity == severity) return e;
    if (e->severity == 0) any = e;
  }
  return any;
}

/* ---- deadlines by row ------------------------------------------------------ */

/* The allowed times by (row, severity, step), from the conf: worked out
 * once, not per case. A row is a segment the SLA matrix lists (its entry
 * for the severity, else its entry for any: the entry's own times, the
 * others x its factor, or x premium_factor when it has none and the
 * segment is premium), or one it does not (x premium_factor when premium). */
void cases_derive_times(cxp_cases *cs) {
  const cxp_cases_conf *conf = &cs->conf;
  cs->sla_rows = 2;
  cs->sla_seg[0] = cs->sla_seg[1] = NULL;
  for (int i = 0; i < conf->n_sla; i++) {
    int r = 2;
    while (r < cs->sla_rows && strcmp(cs->sla_seg[r], conf->sla[i].segment) != 0) r++;
    if (r == cs->sla_rows) cs->sla_seg[cs->sla_rows++] = conf->sla[i].segment;
  }
  for (int r = 0; r < cs->sla_rows; r++) {
    const char *seg = cs->sla_seg[r];
    size_t sn = seg ? strlen(seg) : 0;
    int premium = r == 1 || (seg && cxp_strset_has(&conf->premium, seg, sn));
    for (int v = 0; v < 4; v++) {
      const int64_t base[CXP_DL__COUNT] = {conf->ack_ms[v], conf->resolve_ms[v],
                                           conf->follow_up_ms, conf->apologize_ms[v],
                                           conf->compensate_ms[v]};
      const cxp_sla_entry *e = seg ? cxp_cases_sla_lookup(conf, seg, sn, v + 1) : NULL;
      double f = e && e->factor > 0 ? e->factor : premium ? conf->premium_factor : 1.0;
      cs->cl_ack[r][v] = llround((double)conf->closed_loop_ms * f);
      if (cs->cl_ack[r][v] < 1) cs->cl_ack[r][v] = 1;
      for (int d = 0; d < CXP_DL__COUNT; d++) {
        int64_t a = e && e->ms[d] >= 0 ? e->ms[d] : llround((double)base[d] * f);
        if (a < 1 && (base[d] > 0 || (e && e->ms[d] > 0))) a = 1;
        cs->allowed[r][v][d] = a;
      }
    }
  }
}

uint8_t cases_sla_row(const cxp_cases *cs, const char *seg, size_t n, int premium) {
  for (int r = 2; seg && n && r < cs->sla_rows; r++)
    if (strlen(cs->sla_seg[r]) == n && memcmp(cs->sla_seg[r], seg, n) == 0) return (uint8_t)r;
  return premium ? 1 : 0;
}

/* ---- solution library ---------------------------------------------------- */


cxp_solutions *cxp_solutions_create_default(void) {
  cxp_solutions *s = calloc(1, sizeof *s);
  if (s == NULL) return NULL;
  s->e = calloc(1, sizeof *s->e);
  if (s->e == NULL) {
    free(s);
    return NULL;
  }
  s->n = 1;
  s->e[0].category = -1;
  snprintf(s->e[0].actions, sizeof s->e[0].actions,
           "[\"acknowledge\",\"apologize\",\"fix_and_resolve\",\"follow_up\"]");
  snprintf(s->e[0].compensation, sizeof s->e[0].compensation, "none");
  snprintf(s->e[0].role, sizeof s->e[0].role, "frontline_agent");
  return s;
}

void cxp_solutions_destroy(cxp_solutions *s) {
  if (s == NULL) return;
  free(s->e);
  free(s);
}

int cxp_solutions_count(const cxp_solutions *s) { return s ? s->n : 0; }

#define SOL_FAIL(...)                                      \
  do {                                                     \
    if (err && errlen) snprintf(err, errlen, __VA_ARGS__); \
    goto fail;                                             \
  } while (0)

/* A short name member (segment, compensation, role): 1..64 bytes. */
static int sol_name(const cJSON *v, char *out) {
  if (!cJSON_IsString(v)) return -1;
  size_t n = strlen(v->valuestring);
  if (n < 1 || n > CXP_SOL_NAME_MAX) return -1;
  memcpy(out, v->valuestring, n + 1);
  return 0;
}

static int same_key(const cxp_solution *a, const cxp_solution *b) {
  return a->category == b->category && a->severity == b->severity &&
         strcmp(a->segment, b->segment) == 0;
}

/* Entry i's actions (member m) into e as one JSON array, rendered once here
 * so that every alert reuses the text; b is scratch. 0, or -1 with why in
 * err. */
static int sol_actions(const cJSON *m, int i, cxp_solution *e, cxp_buf *b, char *err,
                       size_t errlen) {
  int na = cJSON_IsArray(m) ? cJSON_GetArraySize(m) : 0;
  if (na < 1 || na > 16)
    CXP_FAIL("recovery.solutions[%d]: 'actions' must be an array of 1..16 strings", i);
  cxp_jw w;
  cxp_buf_reset(b);
  cxp_jw_init(&w, b);
  cxp_jw_arr(&w, NULL);
  for (const cJSON *a = m->child; a; a = a->next) {
    if (!cJSON_IsString(a) || a->valuestring[0] == '\0' ||
        strlen(a->valuestring) > CXP_SOL_NAME_MAX)
      CXP_FAIL("recovery.solutions[%d]: 'actions' must hold strings of 1..%d bytes", i,
               CXP_SOL_NAME_MAX);
    cxp_jw_cstr(&w, NULL, a->valuestring);
  }
  cxp_jw_end(&w);
  if (b->len >= sizeof e->actions)
    CXP_FAIL("recovery.solutions[%d]: 'actions' are longer than %zu bytes as JSON", i,
             sizeof e->actions - 1);
  memcpy(e->actions, b->p, b->len);
  e->actions[b->len] = '\0';
  return 0;
}

/* Entry i, the object o, into e, its members checked one by one and then
 * together; b is scratch. 0, or -1 with why in err. */
static int sol_entry(const cJSON *o, int i, cxp_solution *e, cxp_buf *b, char *err,
                     size_t errlen) {
  e->category = -1;
  snprintf(e->compensation, sizeof e->compensation, "none");
  if (!cJSON_IsObject(o)) CXP_FAIL("recovery.solutions[%d]: expected an object", i);
  int has_actions = 0, has_role = 0;
  for (const cJSON *m = o->child; m; m = m->next) {
    const char *k = m->string ? m->string : "";
    if (strcmp(k, "category") == 0) {
      int c = cJSON_IsString(m) ? cxp_case_category_parse(m->valuestring,
                                                          strlen(m->valuestring))
                                : -1;
      if (c < 0)
        CXP_FAIL("recovery.solutions[%d]: 'category' must be one of design, operational, "
                 "communication, reputational, promise, other",
                 i);
      e->category = c;
    } else if (strcmp(k, "severity") == 0) {
      double d = cJSON_IsNumber(m) ? m->valuedouble : 0;
      if (!(d >= 1 && d <= 4) || d != floor(d))
        CXP_FAIL("recovery.solutions[%d]: 'severity' must be an integer 1..4", i);
      e->severity = (int)d;
    } else if (strcmp(k, "segment") == 0) {
      if (sol_name(m, e->segment))
        CXP_FAIL("recovery.solutions[%d]: 'segment' must be a string of 1..%d bytes", i,
                 CXP_SOL_NAME_MAX);
    } else if (strcmp(k, "compensation") == 0) {
      if (sol_name(m, e->compensation))
        CXP_FAIL("recovery.solutions[%d]: 'compensation' must be a string of 1..%d bytes", i,
                 CXP_SOL_NAME_MAX);
    } else if (strcmp(k, "role") == 0) {
      if (sol_name(m, e->role))
        CXP_FAIL("recovery.solutions[%d]: 'role' must be a string of 1..%d bytes", i,
                 CXP_SOL_NAME_MAX);
      has_role = 1;
    } else if (strcmp(k, "actions") == 0) {
      if (sol_actions(m, i, e, b, err, errlen)) return -1;
      has_actions = 1;
    } else {
      CXP_FAIL("recovery.solutions[%d]: unknown member '%.64s'", i, k);
    }
  }
  if (!has_actions) CXP_FAIL("recovery.solutions[%d]: 'actions' is missing", i);
  if (!has_role) CXP_FAIL("recovery.solutions[%d]: 'role' is missing", i);
  /* The lookup falls back segment first, then severity: an entry keyed
   * otherwise (a segment without a severity, say) could never be found. */
  if (e->segment[0] && e->severity == 0)
    CXP_FAIL("recovery.solutions[%d]: a 'segment' needs a 'severity'", i);
  if (e->severity && e->category < 0)
    CXP_FAIL("recovery.solutions[%d]: a 'severity' needs a 'category'", i);
  return 0;
}

cxp_solutions *cxp_solutions_from_json(const struct cJSON *arr, char *err, size_t errlen) {
  cxp_solutions *s = NULL;
  cxp_buf b;
  cxp_buf_init(&b);
  if (!cJSON_IsArray(arr)) SOL_FAIL("recovery.solutions: expected an array of entries");
  int n = cJSON_GetArraySize(arr);
  if (n < 1 || n > 4096) SOL_FAIL("recovery.solutions: %d entries, expected 1..4096", n);
  s = calloc(1, sizeof *s);
  if (s == NULL || (s->e = calloc((size_t)n, sizeof *s->e)) == NULL)
    SOL_FAIL("recovery.solutions: out of memory");
  int defaults = 0;
  for (const cJSON *o = arr->child; o; o = o->next, s->n++) {
    int i = s->n;
    cxp_solution *e = &s->e[i];
    if (sol_entry(o, i, e, &b, err, errlen)) goto fail;
    for (int j = 0; j < i; j++)
      if (same_key(&s->e[j], e))
        SOL_FAIL("recovery.solutions[%d]: same category, severity and segment as "
                 "recovery.solutions[%d]",
                 i, j);
    if (e->category < 0) defaults++;
  }
  if (defaults == 0)
    SOL_FAIL("recovery.solutions: no default entry (one without category, severity and "
             "segment)");
  cxp_buf_free(&b);
  return s;
fail:
  cxp_buf_free(&b);
  cxp_solutions_destroy(s);
  return NULL;
}

const cxp_solution *cxp_solutions_lookup(const cxp_solutions *s, int category, int severity,
                                         const char *segment, size_t seg_len, int *fallback) {
  const cxp_solution *best = NULL;
  int level = 4;
  /* One pass, keeping the most specific match: entries are few, and a
   * library of a few hundred is still a few microseconds per opening. */
  for (int i = 0; i < s->n && level > 0; i++) {
    const cxp_solution *e = &s->e[i];
    int l;
    if (e->category < 0)
      l = 3;
    else if (e->category != category)
      continue;
    else if (e->severity == 0)
      l = 2;
    else if (e->severity != severity)
      continue;
    else if (e->segment[0] == '\0')
      l = 1;
    else if (segment && strlen(e->segment) == seg_len && memcmp(e->segment, segment, seg_len) == 0)
      l = 0;
    else
      continue;
    if (l < level) {
      level = l;
      best = e;
    }
  }
  if (fallback) *fallback = best ? level : -1;
  return best;
}

size_t cxp_solutions_bytes(const cxp_solutions *s) {
  return sizeof *s + (size_t)(s->n > 0 ? s->n : 1) * sizeof *s->e;
}
