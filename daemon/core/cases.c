#include "cases.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "index.h"
#include "jsonw.h"
#include "staterec.h"
#include "varint.h"
#include "wheel.h"

/* "Not done" and "not due": the largest time, so that min() and "done by t"
 * (at <= t) need no special case. */
#define NEVER INT64_MAX
#define NO_IDX UINT32_MAX
#define ID_MAX 128 /* the decoder's bound on ids (domain.md s.2) */
#define SEG_MAX 64
#define DAY_MS 86400000LL
#define TIME_LIMIT_MS (366LL * DAY_MS)
#define MAX_OPEN_LIMIT (1u << 24)
/* Heap entries of parked steps carry this bit in their index. */
#define PARK_BIT 0x80000000u
/* Case slots are allocated in chunks that never move, so a slot index (what
 * the index table and the timer wheel hold) stays valid for the slot's whole life. */
#define SLOTS_PER_CHUNK 1024
/* case_id, customer_id, segment and touchpoint usually fit here; longer ones
 * go to one heap block per case (ids are bounded, so this is rare). */
#define IDS_INLINE 72

#define SEED_CASE 0x63787063617365ULL
#define SEED_CUST 0x637870637573ULL
#define SEED_GROUP 0x637870677270ULL

/* ---- names --------------------------------------------------------------- */

static const char *const step_names[CXP_STEP__COUNT] = {
    "acknowledged", "apologized", "compensated", "resolved", "followed_up"};
static const char *const deadline_names[CXP_DL__COUNT] = {"acknowledge", "resolve",
                                                          "follow_up"};
static const char *const category_names[CXP_CAT__COUNT] = {
    "design", "operational", "communication", "reputational", "promise", "other"};
static const char *const cohort_names[] = {"never_failed", "pending", "recovered_well",
                                           "recovered_poorly"};
static const char *const end_names[] = {"closed", "abandoned", "evicted"};

const char *cxp_case_step_name(cxp_case_step s) {
  return (unsigned)s < CXP_STEP__COUNT ? step_names[s] : "unknown";
}
const char *cxp_case_deadline_name(cxp_case_deadline d) {
  return (unsigned)d < CXP_DL__COUNT ? deadline_names[d] : "unknown";
}
const char *cxp_case_category_name(int c) {
  return (unsigned)c < CXP_CAT__COUNT ? category_names[c] : "unknown";
}
int cxp_case_category_parse(const char *s, size_t n) {
  for (int c = 0; c < CXP_CAT__COUNT; c++)
    if (strlen(category_names[c]) == n && memcmp(category_names[c], s, n) == 0) return c;
  return -1;
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
  c->solutions = NULL;
}

/* Says why in err (which may be NULL), and returns -1. */
#define FAIL(...)                                          \
  do {                                                     \
    if (err && errlen) snprintf(err, errlen, __VA_ARGS__); \
    return -1;                                             \
  } while (0)

static int bad_time(int64_t v, int64_t lo) { return v < lo || v > TIME_LIMIT_MS; }

/* The names are the pipeline file's keys (see the integration note in the
 * report of issue 4): the conf is filled from those rows, so an error names
 * the row to fix. */
int cxp_cases_conf_check(const cxp_cases_conf *c, char *err, size_t errlen) {
  if (c->pipeline[0] == '\0') FAIL("name: the pipeline name is empty");
  for (int i = 0; i < 4; i++) {
    if (bad_time(c->ack_ms[i], 1000))
      FAIL("recovery.sla.sev%d.acknowledge_min: %lld ms, expected 1 s..366 days", i + 1,
           (long long)c->ack_ms[i]);
    if (bad_time(c->resolve_ms[i], 1000))
      FAIL("recovery.sla.sev%d.resolve_h: %lld ms, expected 1 s..366 days", i + 1,
           (long long)c->resolve_ms[i]);
  }
  if (bad_time(c->follow_up_ms, 1000))
    FAIL("recovery.sla.follow_up_h: %lld ms, expected 1 s..366 days",
         (long long)c->follow_up_ms);
  if (!(c->premium_factor >= 0.01 && c->premium_factor <= 10))
    FAIL("recovery.sla.premium_factor: %g, expected 0.01..10", c->premium_factor);
  for (int k = 0; k < CXP_CASES_LEVELS; k++) {
    if (!(c->escalation[k] >= 0.1 && c->escalation[k] <= 64))
      FAIL("recovery.escalation.level%d: %g, expected 0.1..64", k + 1, c->escalation[k]);
    if (k > 0 && !(c->escalation[k] > c->escalation[k - 1]))
      FAIL("recovery.escalation.level%d: %g, expected more than level%d (%g)", k + 1,
           c->escalation[k], k, c->escalation[k - 1]);
  }
  if (!(c->abandon_factor > c->escalation[CXP_CASES_LEVELS - 1] && c->abandon_factor <= 128))
    FAIL("recovery.abandon_factor: %g, expected more than escalation.level%d (%g), at most 128",
         c->abandon_factor, CXP_CASES_LEVELS, c->escalation[CXP_CASES_LEVELS - 1]);
  if (c->settle_ms < 0 || c->settle_ms > DAY_MS)
    FAIL("recovery.settle_s: %lld ms, expected 0..1 day", (long long)c->settle_ms);
  if (c->park_ms < 1000 || c->park_ms > 7 * DAY_MS)
    FAIL("recovery.park_s: %lld ms, expected 1 s..7 days", (long long)c->park_ms);
  if (c->max_parked < 1 || c->max_parked > (1u << 20))
    FAIL("recovery.max_parked: %u, expected 1..%u", c->max_parked, 1u << 20);
  if (c->max_open < 1 || c->max_open > MAX_OPEN_LIMIT)
    FAIL("recovery.max_open: %u, expected 1..%u", c->max_open, MAX_OPEN_LIMIT);
  if (c->max_closed < 16 || c->max_closed > MAX_OPEN_LIMIT)
    FAIL("recovery.max_closed: %u, expected 16..%u", c->max_closed, MAX_OPEN_LIMIT);
  if (c->repeat_ms < 0 || c->repeat_ms > TIME_LIMIT_MS)
    FAIL("recovery.repeat_days: %lld ms, expected 0..366 days", (long long)c->repeat_ms);
  if (c->max_customers < 16 || c->max_customers > MAX_OPEN_LIMIT)
    FAIL("recovery.max_customers: %u, expected 16..%u", c->max_customers, MAX_OPEN_LIMIT);
  if (c->systemic_window_ms < 1000 || c->systemic_window_ms > DAY_MS)
    FAIL("recovery.systemic.window_min: %lld ms, expected 1 s..1 day",
         (long long)c->systemic_window_ms);
  if (c->systemic_customers < 2 || c->systemic_customers > 64)
    FAIL("recovery.systemic.customers: %d, expected 2..64", c->systemic_customers);
  if (c->max_systemic < 1 || c->max_systemic > (1u << 20))
    FAIL("recovery.systemic.max_groups: %u, expected 1..%u", c->max_systemic, 1u << 20);
  if (!isfinite(c->high_value))
    FAIL("recovery.high_value: expected a finite number (0 or less: off)");
  return 0;
}

/* ---- solution library ---------------------------------------------------- */

struct cxp_solutions {
  int n;
  cxp_solution *e;
};

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
    e->category = -1;
    snprintf(e->compensation, sizeof e->compensation, "none");
    if (!cJSON_IsObject(o)) SOL_FAIL("recovery.solutions[%d]: expected an object", i);
    int has_actions = 0, has_role = 0;
    for (const cJSON *m = o->child; m; m = m->next) {
      const char *k = m->string ? m->string : "";
      if (strcmp(k, "category") == 0) {
        int c = cJSON_IsString(m) ? cxp_case_category_parse(m->valuestring,
                                                            strlen(m->valuestring))
                                  : -1;
        if (c < 0)
          SOL_FAIL("recovery.solutions[%d]: 'category' must be one of design, operational, "
                   "communication, reputational, promise, other",
                   i);
        e->category = c;
      } else if (strcmp(k, "severity") == 0) {
        double d = cJSON_IsNumber(m) ? m->valuedouble : 0;
        if (!(d >= 1 && d <= 4) || d != floor(d))
          SOL_FAIL("recovery.solutions[%d]: 'severity' must be an integer 1..4", i);
        e->severity = (int)d;
      } else if (strcmp(k, "segment") == 0) {
        if (sol_name(m, e->segment))
          SOL_FAIL("recovery.solutions[%d]: 'segment' must be a string of 1..%d bytes", i,
                   CXP_SOL_NAME_MAX);
      } else if (strcmp(k, "compensation") == 0) {
        if (sol_name(m, e->compensation))
          SOL_FAIL("recovery.solutions[%d]: 'compensation' must be a string of 1..%d bytes",
                   i, CXP_SOL_NAME_MAX);
      } else if (strcmp(k, "role") == 0) {
        if (sol_name(m, e->role))
          SOL_FAIL("recovery.solutions[%d]: 'role' must be a string of 1..%d bytes", i,
                   CXP_SOL_NAME_MAX);
        has_role = 1;
      } else if (strcmp(k, "actions") == 0) {
        int na = cJSON_IsArray(m) ? cJSON_GetArraySize(m) : 0;
        if (na < 1 || na > 16)
          SOL_FAIL("recovery.solutions[%d]: 'actions' must be an array of 1..16 strings", i);
        /* Rendered once here, so that every alert reuses the text. */
        cxp_jw w;
        cxp_buf_reset(&b);
        cxp_jw_init(&w, &b);
        cxp_jw_arr(&w, NULL);
        for (const cJSON *a = m->child; a; a = a->next) {
          if (!cJSON_IsString(a) || a->valuestring[0] == '\0' ||
              strlen(a->valuestring) > CXP_SOL_NAME_MAX)
            SOL_FAIL("recovery.solutions[%d]: 'actions' must hold strings of 1..%d bytes", i,
                     CXP_SOL_NAME_MAX);
          cxp_jw_cstr(&w, NULL, a->valuestring);
        }
        cxp_jw_end(&w);
        if (b.len >= sizeof e->actions)
          SOL_FAIL("recovery.solutions[%d]: 'actions' are longer than %zu bytes as JSON", i,
                   sizeof e->actions - 1);
        memcpy(e->actions, b.p, b.len);
        e->actions[b.len] = '\0';
        has_actions = 1;
      } else {
        SOL_FAIL("recovery.solutions[%d]: unknown member '%.64s'", i, k);
      }
    }
    if (!has_actions) SOL_FAIL("recovery.solutions[%d]: 'actions' is missing", i);
    if (!has_role) SOL_FAIL("recovery.solutions[%d]: 'role' is missing", i);
    /* The lookup falls back segment first, then severity: an entry keyed
     * otherwise (a segment without a severity, say) could never be found. */
    if (e->segment[0] && e->severity == 0)
      SOL_FAIL("recovery.solutions[%d]: a 'segment' needs a 'severity'", i);
    if (e->severity && e->category < 0)
      SOL_FAIL("recovery.solutions[%d]: a 'severity' needs a 'category'", i);
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

/* ---- the structures ------------------------------------------------------ */

enum {
  F_LIVE = 1,
  F_PREMIUM = 2,
  F_REPEAT = 4,
  F_ROOT_FIXED = 8,
  F_OVERDUE = 16,
  F_HEAP_IDS = 32,
  F_PROVIDER = 64
};

/* One open case. 192 bytes with the inline ids. */
typedef struct cslot {
  int64_t opened_at;
  int64_t at[CXP_STEP__COUNT];      /* earliest time of each step; NEVER */
  int64_t provider_at, complaint_at; /* earliest of each, for the pre-emption ratio */
  int64_t next_due;                 /* the due its live timer entry carries */
  uint64_t cust_hash;
  double amount;                    /* largest compensation */
  uint32_t seq;                     /* opening number: timer entries carry it */
  uint32_t older, newer;            /* opening order (for eviction); older links free slots */
  uint32_t cnext;                   /* the customer's next open case (in padding: free) */
  uint8_t sev, base_sev, cat, prio, kind, flags;
  uint8_t level[CXP_DL__COUNT];     /* escalation levels fired */
  uint8_t pend;                     /* bit per deadline still able to breach */
  uint8_t len[4];                   /* case_id, customer_id, segment, touchpoint */
  union {
    char in[IDS_INLINE];
    char *out;
  } ids;
} cslot;

/* A step waiting for its case. Bounded in number, so sized for the longest
 * ids rather than allocated per step. */
typedef struct pslot {
  int64_t ts, arrival, token;
  uint64_t cust_hash; /* of the customer the step's event names */
  double amount;
  uint32_t seq; /* 0 when free */
  uint32_t next_free;
  uint8_t type, root_fixed, lcase, lcust, levid;
  char s[3 * ID_MAX]; /* case_id, customer_id, event_id */
} pslot;

/* What the module remembers of a customer: failures by category (repeats),
 * the cohort, open and overdue cases. Identified by a 64-bit hash of the
 * id: the ids themselves would triple the size. */
/* Closed cases remembered per customer (ccust), for his section. */
#define CUST_CLOSED 2

typedef struct ccust {
  uint64_t hash;
  int64_t last_fail[CXP_CAT__COUNT]; /* latest failure time; INT64_MIN: none */
  int64_t touched;                   /* latest case event, for eviction */
  uint32_t first;                    /* his open cases, linked by cnext; NO_IDX none */
  uint16_t open, overdue;
  uint8_t cohort;
  uint8_t n_closed;
  /* His latest closed cases (case hash, closing time), latest first: they
   * travel in his section, so that a restart still knows them as closed. */
  uint64_t closed_h[CUST_CLOSED];
  int64_t closed_at[CUST_CLOSED];
} ccust;

/* One (category, touchpoint, window) of the systemic-failure detector; the
 * distinct customers' hashes follow (up to systemic_customers). */
typedef struct sgroup {
  uint64_t hash;
  int64_t start;
  uint32_t next_free;
  uint8_t cat, n, fired, live, tplen;
  uint8_t dirty;   /* changed since the last cxp_cases_groups_flush (tracking on) */
  uint8_t written; /* the changelog holds a record of it */
  char tp[ID_MAX];
  uint64_t cust[];
} sgroup;


struct cxp_cases {
  cxp_cases_conf conf;
  cxp_cases_cbs cb;
  const cxp_solutions *sol;
  cxp_solutions *own_sol;
  /* Allowed times and escalation offsets, by [premium][severity - 1]. */
  int64_t allowed[2][4][CXP_DL__COUNT];
  int64_t esc[2][4][CXP_DL__COUNT][CXP_CASES_LEVELS];
  int64_t abandon[2][4][2]; /* unresolved; resolved but not followed up */

  cslot **chunks;
  uint32_t n_chunks, max_chunks, n_slots, free_head;
  uint32_t oldest, newest;
  cxp_index idx;
  size_t heap_ids_bytes;

  /* The one timer structure: a hierarchical timing wheel (wheel.h) of
   * every case's next due and every parked step's expiry; an entry's id is
   * the case slot, or PARK_BIT | the parked slot.
   * Entries are never removed but when they come due: a case whose due
   * moved gets a new entry and the old one is skipped then (lazy
   * invalidation). */
  cxp_wheel wheel;

  pslot *parked;
  uint32_t parked_slots, parked_cap, parked_free;
  cxp_index pidx;
  cxp_index pbyc; /* parked slots by their customer's hash */

  ccust *cust;
  uint32_t cust_n, cust_cap, cust_hand;
  cxp_index cidx;

  uint64_t *closed; /* ring of recently closed case hashes */
  uint32_t closed_n, closed_cap, closed_pos;
  cxp_index clidx;

  char *groups;
  size_t gstride;
  uint32_t groups_n, groups_cap, groups_free, groups_live;
  int64_t swept_start; /* the newest window a sweep has run for */
  cxp_index gidx;
  /* Durable groups (cxp_cases_track): the groups changed since the last
   * flush (an index may repeat; a flushed group is clean), and the
   * tombstones of those freed after they were written. */
  int track;
  uint32_t *gdirty;
  uint32_t gdirty_n, gdirty_cap;
  uint32_t gdirty_live; /* of those, still live and dirty: what a flush writes */
  cxp_buf ggone, gkey, gval;
  size_t ggone_n;

  uint32_t seq;
  int has_ts;
  int64_t max_ts, last_ts, last_arrival, clock;
  int wall_from_tick; /* restored, no event since: the first tick starts the wall clock */
  int restoring;      /* in cxp_cases_restore: no callbacks */
  int fired;
  cxp_cases_stats st;
  char detail[400];
};

/* ---- small helpers ------------------------------------------------------- */

static inline cslot *slot_at(const cxp_cases *cs, uint32_t i) {
  return &cs->chunks[i / SLOTS_PER_CHUNK][i % SLOTS_PER_CHUNK];
}

static inline const char *ids_of(const cslot *s) {
  return (s->flags & F_HEAP_IDS) ? s->ids.out : s->ids.in;
}

static inline uint64_t case_hash(const char *p, size_t n) {
  return cxp_hash64(p, n, SEED_CASE);
}

uint64_t cxp_cases_customer_hash(const char *customer_id, size_t n) {
  return cxp_hash64(customer_id, n, SEED_CUST);
}

static inline uint32_t fp_of(uint64_t h) { return (uint32_t)(h >> 32); }

static uint32_t next_seq(cxp_cases *cs) {
  if (++cs->seq == 0) cs->seq = 1; /* 0 marks a free parked slot */
  return cs->seq;
}

static size_t clip_len(const cxp_str *s, size_t max) {
  if (s->p == NULL) return 0;
  size_t n = s->n <= max ? s->n : max;
  /* Cut before a continuation byte would split a character. */
  if (n < s->n)
    while (n > 0 && ((unsigned char)s->p[n] & 0xC0) == 0x80) n--;
  return n;
}

int cxp_cases_priority(int severity, int premium, double value, double high_value,
                       int churn_band) {
  int p = severity < 1 ? 1 : severity > 4 ? 4 : severity;
  int lift = premium || (high_value > 0 && value >= high_value) || churn_band >= 2;
  return lift && p > 1 ? p - 1 : p;
}

void cxp_cases_detractor_id(char out[20], const char *pipeline, cxp_str customer_id,
                            cxp_str event_id) {
  cxp_idbuf h;
  const char *f[3] = {pipeline, customer_id.p ? customer_id.p : "",
                      event_id.p ? event_id.p : ""};
  size_t l[3] = {strlen(pipeline), customer_id.n, event_id.n};
  cxp_make_id(&h, f, l, 3);
  memcpy(out, "cl-", 3);
  memcpy(out + 3, h.hex, 16);
  out[19] = '\0';
}

/* ---- lifecycle ------------------------------------------------------------ */

/* The allowed times, escalation dues and abandon times by (premium,
 * severity, step), from the conf: worked out once, not per case. */
static void derive_times(cxp_cases *cs) {
  const cxp_cases_conf *conf = &cs->conf;
  for (int p = 0; p < 2; p++) {
    double f = p ? conf->premium_factor : 1.0;
    for (int v = 0; v < 4; v++) {
      const int64_t base[CXP_DL__COUNT] = {conf->ack_ms[v], conf->resolve_ms[v],
                                           conf->follow_up_ms};
      for (int d = 0; d < CXP_DL__COUNT; d++) {
        int64_t a = llround((double)base[d] * f);
        if (a < 1) a = 1;
        cs->allowed[p][v][d] = a;
        for (int k = 0; k < CXP_CASES_LEVELS; k++)
          cs->esc[p][v][d][k] = llround((double)a * conf->escalation[k]);
      }
      cs->abandon[p][v][0] = llround((double)cs->allowed[p][v][CXP_DL_RESOLVE] *
                                     conf->abandon_factor);
      cs->abandon[p][v][1] = llround((double)cs->allowed[p][v][CXP_DL_FOLLOW_UP] *
                                     conf->abandon_factor);
    }
  }
}

int cxp_cases_set_conf(cxp_cases *cs, const cxp_cases_conf *conf) {
  const cxp_cases_conf *o = &cs->conf;
  if (cxp_cases_conf_check(conf, NULL, 0) != 0 || conf->max_open != o->max_open ||
      conf->max_parked != o->max_parked || conf->max_closed != o->max_closed ||
      conf->max_customers != o->max_customers || conf->max_systemic != o->max_systemic ||
      conf->systemic_customers != o->systemic_customers)
    return -1;
  cs->conf = *conf;
  if (conf->solutions) {
    cxp_solutions_destroy(cs->own_sol);
    cs->own_sol = NULL;
    cs->sol = conf->solutions;
  } else if (cs->own_sol == NULL) {
    cs->sol = cs->own_sol = cxp_solutions_create_default();
    if (cs->sol == NULL) return -1;
  }
  derive_times(cs);
  return 0;
}

cxp_cases *cxp_cases_create(const cxp_cases_conf *conf, const cxp_cases_cbs *cbs) {
  if (cxp_cases_conf_check(conf, NULL, 0) != 0) return NULL;
  cxp_cases *cs = calloc(1, sizeof *cs);
  if (cs == NULL) return NULL;
  cs->conf = *conf;
  if (cbs) cs->cb = *cbs;
  cs->sol = conf->solutions;
  if (cs->sol == NULL) cs->sol = cs->own_sol = cxp_solutions_create_default();
  derive_times(cs);
  cs->max_chunks = (conf->max_open + SLOTS_PER_CHUNK - 1) / SLOTS_PER_CHUNK;
  cs->chunks = calloc(cs->max_chunks, sizeof *cs->chunks);

  cs->gstride = (sizeof(sgroup) + (size_t)conf->systemic_customers * sizeof(uint64_t) + 7) &
                ~(size_t)7;
  if (cs->sol == NULL || cs->chunks == NULL || cxp_index_init(&cs->idx) ||
      cxp_index_init(&cs->pidx) || cxp_index_init(&cs->pbyc) ||
      cxp_index_init(&cs->cidx) ||
      cxp_index_init(&cs->clidx) ||
      cxp_index_init(&cs->gidx)) {
    cxp_cases_destroy(cs);
    return NULL;
  }
  cs->free_head = cs->oldest = cs->newest = NO_IDX;
  cs->parked_free = cs->groups_free = NO_IDX;
  cs->clock = INT64_MIN;
  cs->swept_start = INT64_MIN;
  return cs;
}

void cxp_cases_destroy(cxp_cases *cs) {
  if (cs == NULL) return;
  if (cs->chunks) {
    for (uint32_t i = 0; i < cs->n_slots; i++) {
      cslot *s = slot_at(cs, i);
      if ((s->flags & (F_LIVE | F_HEAP_IDS)) == (F_LIVE | F_HEAP_IDS)) free(s->ids.out);
    }
    for (uint32_t i = 0; i < cs->n_chunks; i++) free(cs->chunks[i]);
  }
  free(cs->chunks);
  cxp_wheel_free(&cs->wheel);
  free(cs->parked);
  free(cs->cust);
  free(cs->closed);
  free(cs->groups);
  cxp_index_free(&cs->idx);
  cxp_index_free(&cs->pidx);
  cxp_index_free(&cs->pbyc);
  cxp_index_free(&cs->cidx);
  cxp_index_free(&cs->clidx);
  cxp_index_free(&cs->gidx);
  free(cs->gdirty);
  cxp_buf_free(&cs->ggone);
  cxp_buf_free(&cs->gkey);
  cxp_buf_free(&cs->gval);
  cxp_solutions_destroy(cs->own_sol);
  free(cs);
}

/* ---- the wheel ----------------------------------------------------------- */

static int entry_live(const void *owner, const cxp_wentry *e) {
  const cxp_cases *cs = owner;
  if (e->id & PARK_BIT) return cs->parked[e->id & ~PARK_BIT].seq == e->seq;
  const cslot *s = slot_at(cs, e->id);
  return (s->flags & F_LIVE) && s->seq == e->seq && s->next_due == e->due;
}

static void wheel_push(cxp_cases *cs, int64_t due, uint32_t idx, uint32_t seq) {
  cxp_wheel_compact(&cs->wheel, cs->st.open + cs->st.parked_now, entry_live, cs);
  /* The wheel starts at the partition's clock, so what is filed from now on
   * sits in its slots, not all in ready. */
  if (cs->has_ts) cxp_wheel_start(&cs->wheel, cs->max_ts);
  cxp_wheel_add(&cs->wheel, due, idx, seq);
}

/* ---- customers ----------------------------------------------------------- */

static ccust *cust_find(const cxp_cases *cs, uint64_t h) {
  size_t pos = SIZE_MAX;
  uint32_t i;
  while ((i = cxp_index_next(&cs->cidx, fp_of(h), &pos)) != NO_IDX)
    if (cs->cust[i].hash == h) return &cs->cust[i];
  return NULL;
}

/* The customer's record, created when absent. At max_customers, the least
 * recently touched of a sample of 16 records goes (sampled eviction, as
 * Redis approximates LRU), preferring one without open cases: forgetting a
 * customer with open cases would leave his counts short. */
static ccust *cust_get(cxp_cases *cs, uint64_t h, int64_t ts) {
  ccust *c = cust_find(cs, h);
  if (c) return c;
  uint32_t i;
  if (cs->cust_n < cs->conf.max_customers) {
    if (cs->cust_n == cs->cust_cap) {
      uint32_t ncap = cs->cust_cap ? cs->cust_cap * 2 : 64;
      if (ncap > cs->conf.max_customers) ncap = cs->conf.max_customers;
      ccust *nc = realloc(cs->cust, (size_t)ncap * sizeof *nc);
      if (nc == NULL) abort();
      cs->cust = nc;
      cs->cust_cap = ncap;
    }
    i = cs->cust_n++;
  } else {
    uint32_t best = NO_IDX;
    int best_free = 0;
    for (int k = 0; k < 16; k++) {
      uint32_t j = cs->cust_hand;
      cs->cust_hand = (cs->cust_hand + 1) % cs->cust_n;
      int free_ = cs->cust[j].open == 0;
      if (best == NO_IDX || (free_ && !best_free) ||
          (free_ == best_free && cs->cust[j].touched < cs->cust[best].touched)) {
        best = j;
        best_free = free_;
      }
    }
    i = best;
    cxp_index_del(&cs->cidx, fp_of(cs->cust[i].hash), i);
  }
  c = &cs->cust[i];
  memset(c, 0, sizeof *c);
  c->hash = h;
  c->touched = ts;
  c->first = NO_IDX; /* an evicted record's cases stay open, out of any section */
  for (int k = 0; k < CXP_CAT__COUNT; k++) c->last_fail[k] = INT64_MIN;
  cxp_index_put(&cs->cidx, fp_of(h), i);
  return c;
}

/* ---- recently closed ----------------------------------------------------- */

/* Keeps the customer's CUST_CLOSED latest closed cases, latest first (ties:
 * the larger hash first), so that which ones he keeps does not depend on the
 * order the closings came in. A case he already has is not kept twice. */
static void cust_closed_note(ccust *c, uint64_t h, int64_t at) {
  for (int i = 0; i < c->n_closed; i++)
    if (c->closed_h[i] == h) return;
  int i = c->n_closed < CUST_CLOSED ? c->n_closed++ : CUST_CLOSED;
  /* Sift (h, at) up from position i (CUST_CLOSED: past the end, the
   * oldest drops when (h, at) is newer). */
  while (i > 0 &&
         (at > c->closed_at[i - 1] || (at == c->closed_at[i - 1] && h > c->closed_h[i - 1]))) {
    if (i < CUST_CLOSED) {
      c->closed_h[i] = c->closed_h[i - 1];
      c->closed_at[i] = c->closed_at[i - 1];
    }
    i--;
  }
  if (i < CUST_CLOSED) {
    c->closed_h[i] = h;
    c->closed_at[i] = at;
  }
}


static int closed_has(const cxp_cases *cs, uint64_t h) {
  size_t pos = SIZE_MAX;
  uint32_t i;
  while ((i = cxp_index_next(&cs->clidx, fp_of(h), &pos)) != NO_IDX)
    if (cs->closed[i] == h) return 1;
  return 0;
}

static void closed_add(cxp_cases *cs, uint64_t h) {
  uint32_t i;
  if (cs->closed_n < cs->conf.max_closed) {
    if (cs->closed_n == cs->closed_cap) {
      uint32_t ncap = cs->closed_cap ? cs->closed_cap * 2 : 64;
      if (ncap > cs->conf.max_closed) ncap = cs->conf.max_closed;
      uint64_t *nc = realloc(cs->closed, (size_t)ncap * sizeof *nc);
      if (nc == NULL) abort();
      cs->closed = nc;
      cs->closed_cap = ncap;
    }
    i = cs->closed_n++;
  } else {
    /* Full: the oldest goes (a ring). */
    i = cs->closed_pos;
    cs->closed_pos = (cs->closed_pos + 1) % cs->closed_n;
    cxp_index_del(&cs->clidx, fp_of(cs->closed[i]), i);
  }
  cs->closed[i] = h;
  cxp_index_put(&cs->clidx, fp_of(h), i);
}

/* ---- case slots ---------------------------------------------------------- */

static cslot *case_find(const cxp_cases *cs, const char *id, size_t n, uint64_t h,
                        uint32_t *out_idx) {
  size_t pos = SIZE_MAX;
  uint32_t i;
  while ((i = cxp_index_next(&cs->idx, fp_of(h), &pos)) != NO_IDX) {
    cslot *s = slot_at(cs, i);
    if (s->len[0] == n && memcmp(ids_of(s), id, n) == 0) {
      if (out_idx) *out_idx = i;
      return s;
    }
  }
  return NULL;
}

static uint32_t slot_alloc(cxp_cases *cs) {
  if (cs->free_head != NO_IDX) {
    uint32_t i = cs->free_head;
    cs->free_head = slot_at(cs, i)->older;
    return i;
  }
  /* Fewer than max_open slots exist, else one would be free: the caller
   * made room. */
  uint32_t i = cs->n_slots++;
  if (i / SLOTS_PER_CHUNK == cs->n_chunks) {
    cslot *c = malloc(SLOTS_PER_CHUNK * sizeof *c);
    if (c == NULL) abort();
    cs->chunks[cs->n_chunks++] = c;
  }
  return i;
}

/* Copies a case's ids (case, customer, segment, touchpoint) into its slot:
 * inline, or one heap block when they are long. */
static void slot_ids(cxp_cases *cs, cslot *s, const size_t lens[4], const char *const src[4]) {
  size_t total = lens[0] + lens[1] + lens[2] + lens[3];
  char *dst = s->ids.in;
  if (total > IDS_INLINE) {
    dst = malloc(total);
    if (dst == NULL) abort();
    s->ids.out = dst;
    s->flags |= F_HEAP_IDS;
    cs->heap_ids_bytes += total;
  }
  for (int k = 0; k < 4; k++) {
    s->len[k] = (uint8_t)lens[k];
    if (lens[k]) memcpy(dst, src[k], lens[k]);
    dst += lens[k];
  }
}

/* Files a filled slot (h: its case id's hash): the opening order, the
 * index, the customer's list of cases. */
static void slot_link(cxp_cases *cs, uint32_t idx, uint64_t h, ccust *c) {
  cslot *s = slot_at(cs, idx);
  s->newer = NO_IDX;
  s->older = cs->newest;
  if (cs->newest != NO_IDX)
    slot_at(cs, cs->newest)->newer = idx;
  else
    cs->oldest = idx;
  cs->newest = idx;
  cxp_index_put(&cs->idx, fp_of(h), idx);
  s->cnext = c->first;
  c->first = idx;
  cs->st.open++;
  if (cs->st.open > cs->st.open_max) cs->st.open_max = cs->st.open;
}

static int64_t dl_base(const cslot *s, int d) {
  return d == CXP_DL_FOLLOW_UP ? s->at[CXP_STEP_RESOLVED] : s->opened_at;
}

static int64_t dl_done(const cslot *s, int d) {
  static const int step_of[CXP_DL__COUNT] = {CXP_STEP_ACKNOWLEDGED, CXP_STEP_RESOLVED,
                                             CXP_STEP_FOLLOWED_UP};
  return s->at[step_of[d]];
}

static int64_t dl_deadline(const cxp_cases *cs, const cslot *s, int d) {
  int64_t b = dl_base(s, d);
  if (b == NEVER) return NEVER;
  return b + cs->allowed[(s->flags & F_PREMIUM) != 0][s->sev - 1][d];
}

/* When the deadline's next escalation level falls due, or NEVER when it
 * cannot breach any more (no base yet, all levels fired, or done first). */
static int64_t dl_due(const cxp_cases *cs, const cslot *s, int d) {
  int64_t b = dl_base(s, d);
  int k = s->level[d];
  if (b == NEVER || k >= CXP_CASES_LEVELS) return NEVER;
  int64_t t = b + cs->esc[(s->flags & F_PREMIUM) != 0][s->sev - 1][d][k];
  return dl_done(s, d) <= t ? NEVER : t;
}

static int64_t close_at(const cxp_cases *cs, const cslot *s) {
  int64_t r = s->at[CXP_STEP_RESOLVED], f = s->at[CXP_STEP_FOLLOWED_UP];
  int p = (s->flags & F_PREMIUM) != 0;
  if (r != NEVER && f != NEVER) return (r > f ? r : f) + cs->conf.settle_ms;
  if (r == NEVER) return s->opened_at + cs->abandon[p][s->sev - 1][0];
  return r + cs->abandon[p][s->sev - 1][1];
}

static void fill_info(const cxp_cases *cs, const cslot *s, cxp_case_info *o);

/* Recomputes what depends on the case's times (pending deadlines, overdue,
 * its next due) after any change, keeps the counters, and schedules the
 * next due. Every case always has one: its closing time at the latest. */
static void refresh(cxp_cases *cs, uint32_t idx) {
  cslot *s = slot_at(cs, idx);
  uint8_t pend = 0;
  int overdue = 0;
  int64_t next = close_at(cs, s);
  for (int d = 0; d < CXP_DL__COUNT; d++) {
    int64_t t = dl_due(cs, s, d);
    if (t != NEVER) {
      pend |= (uint8_t)(1u << d);
      if (t < next) next = t;
    }
    if (s->level[d] > 0 && dl_done(s, d) == NEVER) overdue = 1;
  }
  cs->st.open_deadlines += (uint32_t)__builtin_popcount(pend);
  cs->st.open_deadlines -= (uint32_t)__builtin_popcount(s->pend);
  s->pend = pend;
  if (overdue != ((s->flags & F_OVERDUE) != 0)) {
    ccust *c = cust_find(cs, s->cust_hash);
    if (overdue) {
      s->flags |= F_OVERDUE;
      if (c && c->overdue < UINT16_MAX) c->overdue++;
    } else {
      s->flags &= (uint8_t)~F_OVERDUE;
      if (c && c->overdue > 0) c->overdue--;
    }
    if (cs->cb.on_overdue && !cs->restoring) {
      cxp_case_info info;
      fill_info(cs, s, &info);
      cs->cb.on_overdue(cs->cb.opaque, &info, overdue ? 1 : -1);
    }
  }
  if (next != s->next_due) {
    s->next_due = next;
    wheel_push(cs, next, idx, s->seq);
  }
}

static void fill_info(const cxp_cases *cs, const cslot *s, cxp_case_info *o) {
  const char *p = ids_of(s);
  memset(o, 0, sizeof *o);
  cxp_str *strs[4] = {&o->case_id, &o->customer_id, &o->segment, &o->touchpoint};
  for (int i = 0; i < 4; i++) {
    *strs[i] = (cxp_str){s->len[i] ? p : NULL, s->len[i]};
    p += s->len[i];
  }
  o->customer_hash = s->cust_hash;
  o->kind = (cxp_case_kind)s->kind;
  o->category = (cxp_case_category)s->cat;
  o->severity = s->sev;
  o->base_severity = s->base_sev;
  o->priority = s->prio;
  o->premium = (s->flags & F_PREMIUM) != 0;
  o->provider = (s->flags & F_PROVIDER) != 0;
  o->opened_at = s->opened_at;
  for (int d = 0; d < CXP_DL__COUNT; d++) {
    int64_t t = dl_deadline(cs, s, d);
    o->deadline[d] = t == NEVER ? 0 : t;
    o->level[d] = s->level[d];
  }
  for (int k = 0; k < CXP_STEP__COUNT; k++) o->done_at[k] = s->at[k] == NEVER ? 0 : s->at[k];
}

static void slot_free(cxp_cases *cs, uint32_t idx);

/* Reports the outcome and frees the slot. `at`: the event time it closes
 * at (its closing due, or the clock for an eviction). */
static void close_case(cxp_cases *cs, uint32_t idx, cxp_case_end end, int64_t at) {
  cslot *s = slot_at(cs, idx);
  cxp_case_info info;
  cxp_case_outcome o;
  fill_info(cs, s, &info);
  memset(&o, 0, sizeof o);
  o.c = &info;
  o.end = end;
  o.closed_at = at;
  for (int d = 0; d < CXP_DL__COUNT; d++) {
    int64_t dl = dl_deadline(cs, s, d);
    /* A follow-up without a resolution has no deadline: it is missed. */
    if (dl == NEVER || dl_done(s, d) > dl) o.missed |= 1u << d;
    if (s->level[d] > o.max_level) o.max_level = s->level[d];
  }
  o.well = end == CXP_CASE_END_CLOSED && o.missed == 0;
  int64_t a = s->at[CXP_STEP_ACKNOWLEDGED], r = s->at[CXP_STEP_RESOLVED];
  /* A step stamped before the opening (clocks of two systems) took no time. */
  o.tta_ms = a == NEVER ? -1 : a > s->opened_at ? a - s->opened_at : 0;
  o.ttr_ms = r == NEVER ? -1 : r > s->opened_at ? r - s->opened_at : 0;
  o.preempted = s->provider_at != NEVER && s->provider_at < s->complaint_at;
  o.compensation = s->amount;
  o.root_cause_fixed = (s->flags & F_ROOT_FIXED) != 0;
  ccust *c = cust_find(cs, s->cust_hash);
  if ((s->flags & F_OVERDUE) && cs->cb.on_overdue) cs->cb.on_overdue(cs->cb.opaque, &info, -1);
  if (c) {
    if (c->open > 0) c->open--;
    if ((s->flags & F_OVERDUE) && c->overdue > 0) c->overdue--;
    if (end != CXP_CASE_END_EVICTED) c->cohort = o.well ? CXP_COHORT_WELL : CXP_COHORT_POORLY;
    o.cohort = (cxp_case_cohort)c->cohort;
  } else {
    o.cohort = end == CXP_CASE_END_EVICTED ? CXP_COHORT_PENDING
               : o.well                    ? CXP_COHORT_WELL
                                           : CXP_COHORT_POORLY;
  }
  cs->st.closed++;
  if (o.well)
    cs->st.well++;
  else
    cs->st.poorly++;
  if (end == CXP_CASE_END_ABANDONED) cs->st.abandoned++;
  if (end == CXP_CASE_END_EVICTED) cs->st.evicted++;
  cs->fired++;
  if (cs->cb.on_outcome) cs->cb.on_outcome(cs->cb.opaque, &o);

  /* Only the hash stays, to recognise late events for the case. */
  uint64_t h = case_hash(ids_of(s), s->len[0]);
  closed_add(cs, h);
  if (c) cust_closed_note(c, h, at);
  slot_free(cs, idx);
}

/* Takes an open case out of every structure and frees its slot (its timer
 * entries go stale with F_LIVE). */
static void slot_free(cxp_cases *cs, uint32_t idx) {
  cslot *s = slot_at(cs, idx);
  cxp_index_del(&cs->idx, fp_of(case_hash(ids_of(s), s->len[0])), idx);
  ccust *c = cust_find(cs, s->cust_hash);
  if (c) {
    uint32_t *pp = &c->first;
    while (*pp != NO_IDX && *pp != idx) pp = &slot_at(cs, *pp)->cnext;
    if (*pp == idx) *pp = s->cnext;
  }
  cs->st.open_deadlines -= (uint32_t)__builtin_popcount(s->pend);
  if (s->older != NO_IDX)
    slot_at(cs, s->older)->newer = s->newer;
  else
    cs->oldest = s->newer;
  if (s->newer != NO_IDX)
    slot_at(cs, s->newer)->older = s->older;
  else
    cs->newest = s->older;
  if (s->flags & F_HEAP_IDS) {
    cs->heap_ids_bytes -= (size_t)s->len[0] + s->len[1] + s->len[2] + s->len[3];
    free(s->ids.out);
  }
  s->flags = 0;
  s->older = cs->free_head;
  cs->free_head = idx;
  cs->st.open--;
}

/* Fires what falls due at `due` for one case: its breaches, then its close. */
static void fire_case(cxp_cases *cs, uint32_t idx, int64_t due) {
  cslot *s = slot_at(cs, idx);
  int64_t closing = close_at(cs, s);
  for (int d = 0; d < CXP_DL__COUNT; d++) {
    if (dl_due(cs, s, d) != due) continue;
    int level = ++s->level[d];
    cxp_case_info info;
    fill_info(cs, s, &info);
    int64_t done = dl_done(s, d);
    int64_t dl = dl_deadline(cs, s, d);
    cxp_case_breach b = {&info, (cxp_case_deadline)d, level, due, dl,
                         s->prio - (level - 1) < 1 ? 1 : s->prio - (level - 1),
                         done == NEVER ? 0 : done};
    cs->st.breaches[level - 1]++;
    cs->fired++;
    if (cs->cb.on_breach) cs->cb.on_breach(cs->cb.opaque, &b);
  }
  if (closing <= due) {
    int both = s->at[CXP_STEP_RESOLVED] != NEVER && s->at[CXP_STEP_FOLLOWED_UP] != NEVER;
    close_case(cs, idx, both ? CXP_CASE_END_CLOSED : CXP_CASE_END_ABANDONED, closing);
    return;
  }
  /* Forget the due just served, so that refresh schedules the next one even
   * when it falls at the same instant (two levels rounding to one time). */
  s->next_due = NEVER;
  refresh(cs, idx);
}

/* ---- parked steps --------------------------------------------------------- */

static void parked_free(cxp_cases *cs, uint32_t i, uint64_t h) {
  pslot *p = &cs->parked[i];
  cxp_index_del(&cs->pidx, fp_of(h), i);
  cxp_index_del(&cs->pbyc, fp_of(p->cust_hash), i);
  p->seq = 0;
  p->next_free = cs->parked_free;
  cs->parked_free = i;
  cs->st.parked_now--;
}

static void expire_parked(cxp_cases *cs, uint32_t i) {
  pslot *p = &cs->parked[i];
  cxp_case_expired e;
  e.type = (cxp_event_type)p->type;
  e.case_id = (cxp_str){p->s, p->lcase};
  e.customer_id = (cxp_str){p->s + ID_MAX, p->lcust};
  e.event_id = (cxp_str){p->s + 2 * ID_MAX, p->levid};
  e.ts_ms = p->ts;
  e.arrival_wall_ms = p->arrival;
  e.token = p->token;
  snprintf(cs->detail, sizeof cs->detail, "%s for unknown case '%.*s' (waited %lld s)",
           cxp_event_type_name(e.type), (int)p->lcase, p->s,
           (long long)(cs->conf.park_ms / 1000));
  e.detail = cs->detail;
  cs->st.parked_expired++;
  cs->fired++;
  if (cs->cb.on_expired) cs->cb.on_expired(cs->cb.opaque, &e);
  parked_free(cs, i, case_hash(p->s, p->lcase));
}

/* Sets a step's time (the earliest wins); 1 when anything changed. */
static int apply_step(cslot *s, int step, int64_t ts, double amount, int root_fixed) {
  int changed = 0;
  if (ts < s->at[step]) {
    s->at[step] = ts;
    changed = 1;
  }
  if (step == CXP_STEP_COMPENSATED && amount > s->amount) {
    s->amount = amount;
    changed = 1;
  }
  if (step == CXP_STEP_RESOLVED && root_fixed && !(s->flags & F_ROOT_FIXED)) {
    s->flags |= F_ROOT_FIXED;
    changed = 1;
  }
  return changed;
}

static int take_parked(cxp_cases *cs, cslot *s, uint64_t h) {
  int n = 0;
  const char *id = ids_of(s);
  for (;;) {
    size_t pos = SIZE_MAX;
    uint32_t i;
    while ((i = cxp_index_next(&cs->pidx, fp_of(h), &pos)) != NO_IDX) {
      const pslot *p = &cs->parked[i];
      if (p->lcase == s->len[0] && memcmp(p->s, id, p->lcase) == 0) break;
    }
    if (i == NO_IDX) return n;
    const pslot *p = &cs->parked[i];
    apply_step(s, p->type - CXP_EV_REC_ACKNOWLEDGED, p->ts, p->amount, p->root_fixed);
    /* Its timer entry goes stale with the slot's seq. */
    parked_free(cs, i, h);
    cs->st.parked_applied++;
    n++;
  }
}

/* A parked step as it is kept: from an event, or from a state record. */
typedef struct xpark {
  int type, root_fixed;
  int64_t ts, arrival, token;
  double amount;
  cxp_str case_id, customer_id, event_id;
} xpark;

static cxp_case_result park_step(cxp_cases *cs, const xpark *x, uint64_t h) {
  if (cs->st.parked_now >= cs->conf.max_parked) {
    cs->st.park_full++;
    return CXP_CASE_PARK_FULL;
  }
  uint32_t i;
  if (cs->parked_free != NO_IDX) {
    i = cs->parked_free;
    cs->parked_free = cs->parked[i].next_free;
  } else {
    if (cs->parked_slots == cs->parked_cap) {
      uint32_t ncap = cs->parked_cap ? cs->parked_cap * 2 : 16;
      if (ncap > cs->conf.max_parked) ncap = cs->conf.max_parked;
      pslot *np = realloc(cs->parked, (size_t)ncap * sizeof *np);
      if (np == NULL) abort();
      cs->parked = np;
      cs->parked_cap = ncap;
    }
    i = cs->parked_slots++;
  }
  pslot *p = &cs->parked[i];
  p->ts = x->ts;
  p->arrival = x->arrival;
  p->token = x->token;
  p->amount = x->amount;
  p->type = (uint8_t)x->type;
  p->root_fixed = x->root_fixed != 0;
  p->lcase = (uint8_t)x->case_id.n;
  p->lcust = (uint8_t)clip_len(&x->customer_id, ID_MAX);
  p->levid = (uint8_t)clip_len(&x->event_id, ID_MAX);
  memcpy(p->s, x->case_id.p, p->lcase);
  if (p->lcust) memcpy(p->s + ID_MAX, x->customer_id.p, p->lcust);
  if (p->levid) memcpy(p->s + 2 * ID_MAX, x->event_id.p, p->levid);
  p->cust_hash = cxp_cases_customer_hash(p->s + ID_MAX, p->lcust);
  p->seq = next_seq(cs);
  cxp_index_put(&cs->pidx, fp_of(h), i);
  cxp_index_put(&cs->pbyc, fp_of(p->cust_hash), i);
  wheel_push(cs, x->ts + cs->conf.park_ms, PARK_BIT | i, p->seq);
  cs->st.parked++;
  cs->st.parked_now++;
  return CXP_CASE_PARKED;
}

static cxp_case_result park(cxp_cases *cs, const cxp_event *ev, uint64_t h,
                            int64_t arrival, const cxp_case_ctx *ctx) {
  xpark x = {ev->type, ev->root_cause_fixed, ev->ts_ms, arrival, ctx->token, ev->amount,
             ev->case_id, ev->customer_id, ev->event_id};
  return park_step(cs, &x, h);
}

/* ---- systemic failures ------------------------------------------------------ */

static inline sgroup *group_at(const cxp_cases *cs, uint32_t i) {
  return (sgroup *)(cs->groups + (size_t)i * cs->gstride);
}

static void group_key(cxp_buf *b, const sgroup *g) {
  cxp_buf_reset(b);
  cxp_buf_printf(b, "%u:%lld:", (unsigned)g->cat, (long long)g->start);
  cxp_buf_put(b, g->tp, g->tplen);
}

/* The group changed: listed for the next flush once. */
static void group_dirty(cxp_cases *cs, uint32_t i) {
  sgroup *g = group_at(cs, i);
  if (!cs->track || g->dirty) return;
  if (cs->gdirty_n == cs->gdirty_cap) {
    uint32_t ncap = cs->gdirty_cap ? cs->gdirty_cap * 2 : 16;
    uint32_t *nd = realloc(cs->gdirty, (size_t)ncap * sizeof *nd);
    if (nd == NULL) abort();
    cs->gdirty = nd;
    cs->gdirty_cap = ncap;
  }
  cs->gdirty[cs->gdirty_n++] = i;
  g->dirty = 1;
  cs->gdirty_live++;
}

static void group_free(cxp_cases *cs, uint32_t i) {
  sgroup *g = group_at(cs, i);
  if (g->written) {
    group_key(&cs->gkey, g);
    cxp_staterec_frame_put(&cs->ggone, CXP_CL_SYSTEMIC, cs->gkey.p, cs->gkey.len, NULL, 0);
    cs->ggone_n++;
  }
  if (g->dirty) cs->gdirty_live--;
  g->dirty = g->written = 0; /* its index may still be listed: skipped, clean */
  cxp_index_del(&cs->gidx, fp_of(g->hash), i);
  g->live = 0;
  g->next_free = cs->groups_free;
  cs->groups_free = i;
  cs->groups_live--;
}

/* Forgets the groups whose window ended a whole window before the clock:
 * failures that late are not counted (see systemic()), so those groups can
 * never fire again. */
static void groups_sweep(cxp_cases *cs) {
  int64_t w = cs->conf.systemic_window_ms;
  for (uint32_t i = 0; i < cs->groups_n; i++) {
    sgroup *g = group_at(cs, i);
    if (g->live && g->start + 2 * w <= cs->clock) group_free(cs, i);
  }
}

static uint64_t group_hash(const char *tp, size_t n, int64_t start, int cat) {
  return cxp_hash64(tp, n,
                    SEED_GROUP ^ ((uint64_t)start * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)cat << 56));
}

/* The live group of (cat, start, touchpoint) with hash h; NO_IDX none. */
static uint32_t group_find(const cxp_cases *cs, uint64_t h, int64_t start, int cat,
                           const char *tp, size_t n) {
  size_t pos = SIZE_MAX;
  uint32_t i;
  while ((i = cxp_index_next(&cs->gidx, fp_of(h), &pos)) != NO_IDX) {
    const sgroup *x = group_at(cs, i);
    if (x->hash == h && x->start == start && x->cat == cat && x->tplen == n &&
        memcmp(x->tp, tp, n) == 0)
      return i;
  }
  return NO_IDX;
}

/* A new group, empty; NO_IDX when max_systemic are live even after a sweep. */
static uint32_t group_new(cxp_cases *cs, uint64_t h, int64_t start, int cat, const char *tp,
                          size_t n) {
  /* A new window: the old ones are forgotten as it starts, so the groups
   * held are those of the last few windows, not of the whole stream. */
  if (start > cs->swept_start || cs->groups_live >= cs->conf.max_systemic) {
    groups_sweep(cs);
    if (start > cs->swept_start) cs->swept_start = start;
  }
  if (cs->groups_live >= cs->conf.max_systemic) return NO_IDX;
  uint32_t i;
  if (cs->groups_free != NO_IDX) {
    i = cs->groups_free;
    cs->groups_free = group_at(cs, i)->next_free;
  } else {
    if (cs->groups_n == cs->groups_cap) {
      uint32_t ncap = cs->groups_cap ? cs->groups_cap * 2 : 16;
      if (ncap > cs->conf.max_systemic) ncap = cs->conf.max_systemic;
      char *ng = realloc(cs->groups, (size_t)ncap * cs->gstride);
      if (ng == NULL) abort();
      cs->groups = ng;
      cs->groups_cap = ncap;
    }
    i = cs->groups_n++;
  }
  sgroup *g = group_at(cs, i);
  g->hash = h;
  g->start = start;
  g->cat = (uint8_t)cat;
  g->n = 0;
  g->fired = 0;
  g->live = 1;
  g->dirty = g->written = 0;
  g->tplen = (uint8_t)n;
  memcpy(g->tp, tp, n);
  cxp_index_put(&cs->gidx, fp_of(h), i);
  cs->groups_live++;
  return i;
}

static void systemic(cxp_cases *cs, const cxp_event *ev, int cat, uint64_t cust_hash) {
  size_t n = clip_len(&ev->touchpoint, ID_MAX);
  if (n == 0) return; /* not "one touchpoint" */
  int64_t w = cs->conf.systemic_window_ms, ts = ev->ts_ms;
  int64_t start = ts / w * w;
  if (ts % w != 0 && ts < 0) start -= w;
  if (cs->clock != INT64_MIN && start + 2 * w <= cs->clock) return;
  uint64_t h = group_hash(ev->touchpoint.p, n, start, cat);
  uint32_t i = group_find(cs, h, start, cat, ev->touchpoint.p, n);
  sgroup *g = i == NO_IDX ? NULL : group_at(cs, i);
  if (g == NULL) {
    i = group_new(cs, h, start, cat, ev->touchpoint.p, n);
    if (i == NO_IDX) {
      cs->st.systemic_dropped++;
      return;
    }
    g = group_at(cs, i);
  }
  if (g->fired) return;
  for (int k = 0; k < g->n; k++)
    if (g->cust[k] == cust_hash) return;
  g->cust[g->n++] = cust_hash;
  group_dirty(cs, i);
  if (g->n < cs->conf.systemic_customers) return;
  g->fired = 1;
  cs->st.systemic++;
  cxp_case_systemic sy = {(cxp_case_category)cat, {g->tp, g->tplen}, start, start + w, g->n, ev};
  if (cs->cb.on_systemic) cs->cb.on_systemic(cs->cb.opaque, &sy);
}

/* ---- opening ------------------------------------------------------------- */

static int valid_id(const cxp_str *s) { return s->p != NULL && s->n > 0 && s->n <= ID_MAX; }

static cxp_case_result open_case(cxp_cases *cs, const cxp_event *ev, cxp_str case_id,
                                 cxp_case_kind kind, int cat, int sev,
                                 const cxp_case_ctx *ctx) {
  if (!valid_id(&case_id) || !valid_id(&ev->customer_id)) return CXP_CASE_BAD_ID;
  if (sev < 1) sev = 1;
  if (sev > 4) sev = 4;
  int provider = kind == CXP_CASE_FAILURE && ev->detected_by.p &&
                 ev->detected_by.n == 8 && memcmp(ev->detected_by.p, "provider", 8) == 0;
  int complaint = kind != CXP_CASE_FAILURE;
  uint64_t h = case_hash(case_id.p, case_id.n);
  uint32_t idx;
  cslot *s = case_find(cs, case_id.p, case_id.n, h, &idx);
  if (s) {
    /* A second opening event of the same case (the customer complains about
     * a failure the company reported): the earliest opening and the highest
     * severity count, and it feeds the pre-emption comparison. */
    if (ev->ts_ms < s->opened_at) s->opened_at = ev->ts_ms;
    if (sev < s->base_sev) {
      int raise = s->base_sev - s->sev;
      s->base_sev = (uint8_t)sev;
      s->sev = (uint8_t)(sev - raise < 1 ? 1 : sev - raise);
      s->prio = (uint8_t)cxp_cases_priority(s->sev, (s->flags & F_PREMIUM) != 0, ctx->value,
                                            cs->conf.high_value, ctx->churn_band);
    }
    if (provider) {
      s->flags |= F_PROVIDER;
      if (ev->ts_ms < s->provider_at) s->provider_at = ev->ts_ms;
    }
    if (complaint && ev->ts_ms < s->complaint_at) s->complaint_at = ev->ts_ms;
    cs->st.merged++;
    refresh(cs, idx);
    return CXP_CASE_MERGED;
  }
  if (closed_has(cs, h)) {
    cs->st.late++;
    return CXP_CASE_LATE;
  }
  if (cs->st.open >= cs->conf.max_open) close_case(cs, cs->oldest, CXP_CASE_END_EVICTED,
                                                 cs->clock > cs->max_ts ? cs->clock : cs->max_ts);

  uint64_t ch = cxp_cases_customer_hash(ev->customer_id.p, ev->customer_id.n);
  ccust *c = cust_get(cs, ch, ev->ts_ms);
  if (ev->ts_ms > c->touched) c->touched = ev->ts_ms;
  int repeat = 0;
  if (kind != CXP_CASE_DETRACTOR) {
    /* Either order: a failure arriving after a later one of the same
     * category is just as much a repeat. */
    int64_t last = c->last_fail[cat];
    if (last != INT64_MIN && cs->conf.repeat_ms > 0 &&
        (ev->ts_ms >= last ? ev->ts_ms - last : last - ev->ts_ms) <= cs->conf.repeat_ms)
      repeat = 1;
    if (ev->ts_ms > last) c->last_fail[cat] = ev->ts_ms;
  }
  if (c->open < UINT16_MAX) c->open++;
  if (c->cohort == CXP_COHORT_NEVER_FAILED) c->cohort = CXP_COHORT_PENDING;

  idx = slot_alloc(cs);
  s = slot_at(cs, idx);
  memset(s, 0, sizeof *s);
  size_t lens[4] = {case_id.n, ev->customer_id.n, clip_len(&ev->segment, SEG_MAX),
                    clip_len(&ev->touchpoint, ID_MAX)};
  const char *src[4] = {case_id.p, ev->customer_id.p, ev->segment.p, ev->touchpoint.p};
  slot_ids(cs, s, lens, src);
  s->opened_at = ev->ts_ms;
  for (int k = 0; k < CXP_STEP__COUNT; k++) s->at[k] = NEVER;
  s->provider_at = provider ? ev->ts_ms : NEVER;
  s->complaint_at = complaint ? ev->ts_ms : NEVER;
  s->next_due = NEVER;
  s->cust_hash = ch;
  s->seq = next_seq(cs);
  s->base_sev = (uint8_t)sev;
  s->sev = (uint8_t)(repeat && sev > 1 ? sev - 1 : sev);
  s->cat = (uint8_t)cat;
  s->kind = (uint8_t)kind;
  s->flags |= F_LIVE;
  if (provider) s->flags |= F_PROVIDER;
  if (repeat) s->flags |= F_REPEAT;
  int premium = lens[2] && cxp_strset_has(&cs->conf.premium, ev->segment.p, lens[2]);
  if (premium) s->flags |= F_PREMIUM;
  s->prio = (uint8_t)cxp_cases_priority(s->sev, premium, ctx->value, cs->conf.high_value,
                                        ctx->churn_band);
  slot_link(cs, idx, h, c);
  cs->st.opened++;
  if (repeat) cs->st.repeats++;

  int applied = cs->st.parked_now ? take_parked(cs, s, h) : 0;
  refresh(cs, idx);

  cxp_case_info info;
  fill_info(cs, s, &info);
  cxp_case_opened o = {&info, ev, repeat, NULL, 0, applied};
  o.solution = cxp_solutions_lookup(cs->sol, cat, s->sev, ev->segment.p, lens[2],
                                    &o.solution_fallback);
  if (cs->cb.on_opened) cs->cb.on_opened(cs->cb.opaque, &o);
  if (kind != CXP_CASE_DETRACTOR) systemic(cs, ev, cat, ch);
  return CXP_CASE_OPENED;
}

static cxp_case_result step(cxp_cases *cs, const cxp_event *ev, int64_t arrival,
                            const cxp_case_ctx *ctx) {
  if (!valid_id(&ev->case_id)) return CXP_CASE_BAD_ID;
  uint64_t h = case_hash(ev->case_id.p, ev->case_id.n);
  uint32_t idx;
  cslot *s = case_find(cs, ev->case_id.p, ev->case_id.n, h, &idx);
  if (s == NULL) {
    if (closed_has(cs, h)) {
      cs->st.late++;
      return CXP_CASE_LATE;
    }
    return park(cs, ev, h, arrival, ctx);
  }
  if (!apply_step(s, ev->type - CXP_EV_REC_ACKNOWLEDGED, ev->ts_ms, ev->amount,
                  ev->root_cause_fixed)) {
    cs->st.duplicates++;
    return CXP_CASE_DUPLICATE;
  }
  cs->st.steps++;
  refresh(cs, idx);
  return CXP_CASE_STEP;
}

/* ---- the clock ------------------------------------------------------------ */

/* Moves the clock (never back) and serves every entry due by it, in
 * (due, seq) order, those that firing files (a case's next level, already
 * due) included. Also runs when the clock did not move: a step or an
 * opening in the past can make a due that has already passed. */
static void advance(cxp_cases *cs, int64_t clock) {
  if (clock > cs->clock) cs->clock = clock;
  cxp_wvec b = {NULL, 0, 0};
  cxp_wheel_take(&cs->wheel, cs->clock, &b);
  while (b.n) {
    cxp_wentry e = cxp_wheel_pop(&b);
    if (!entry_live(cs, &e)) continue;
    if (e.id & PARK_BIT)
      expire_parked(cs, e.id & ~PARK_BIT);
    else
      fire_case(cs, e.id, e.due);
    if (cxp_wheel_has_ready(&cs->wheel)) cxp_wheel_take(&cs->wheel, cs->clock, &b);
  }
  free(b.e);
}

cxp_case_result cxp_cases_add(cxp_cases *cs, const cxp_event *ev, int64_t arrival_wall_ms,
                              const cxp_case_ctx *ctx) {
  static const cxp_case_ctx none = {0, -1, 0, 0};
  if (ctx == NULL) ctx = &none;
  int64_t ts = ev->ts_ms;
  if (!cs->has_ts || ts > cs->max_ts) cs->max_ts = ts;
  cs->has_ts = 1;
  cs->last_ts = ts;
  cs->last_arrival = arrival_wall_ms;
  cs->wall_from_tick = 0;
  cxp_case_result r = CXP_CASE_NONE;
  switch (ev->type) {
    case CXP_EV_FAILURE:
    case CXP_EV_COMPLAINT: {
      int cat = ev->category.p ? cxp_case_category_parse(ev->category.p, ev->category.n) : -1;
      if (cat < 0) cat = CXP_CAT_OTHER;
      r = open_case(cs, ev, ev->case_id,
                    ev->type == CXP_EV_FAILURE ? CXP_CASE_FAILURE : CXP_CASE_COMPLAINT, cat,
                    ev->severity, ctx);
      break;
    }
    case CXP_EV_NPS:
      if (cs->conf.detractor_cases && !ctx->no_outreach && ev->score >= 0 && ev->score <= 6) {
        /* The closed loop's own id, unless the response names its case.
         * Scores 0-3 are the angriest detractors: major; 4-6 minor (the
         * closed-loop alert's P2 / P3). */
        char id[20];
        cxp_str cid = ev->case_id;
        if (!valid_id(&cid)) {
          cxp_cases_detractor_id(id, cs->conf.pipeline, ev->customer_id, ev->event_id);
          cid = (cxp_str){id, 19};
        }
        r = open_case(cs, ev, cid, CXP_CASE_DETRACTOR, CXP_CAT_OTHER, ev->score <= 3 ? 2 : 3,
                      ctx);
      }
      break;
    case CXP_EV_REC_ACKNOWLEDGED:
    case CXP_EV_REC_APOLOGIZED:
    case CXP_EV_REC_COMPENSATED:
    case CXP_EV_REC_RESOLVED:
    case CXP_EV_REC_FOLLOWED_UP:
      r = step(cs, ev, arrival_wall_ms, ctx);
      break;
    default:
      break;
  }
  advance(cs, cs->max_ts);
  return r;
}

int cxp_cases_tick(cxp_cases *cs, int64_t now_wall_ms) {
  if (cs->wall_from_tick && now_wall_ms > 0) {
    /* When the last event before the restart arrived is not known; the
     * restore is later than that, so counting from the first tick after it
     * can be late, never early. */
    cs->wall_from_tick = 0;
    cs->last_arrival = now_wall_ms;
    return 0;
  }
  if (!cs->has_ts || cs->last_arrival <= 0 || now_wall_ms <= cs->last_arrival) return 0;
  int64_t clock = cs->last_ts + (now_wall_ms - cs->last_arrival);
  if (clock < cs->max_ts) clock = cs->max_ts;
  int before = cs->fired;
  advance(cs, clock);
  return cs->fired - before;
}

int64_t cxp_cases_next_wall(const cxp_cases *cs) {
  int64_t due = cxp_wheel_earliest(&cs->wheel);
  if (due == INT64_MAX || !cs->has_ts || cs->last_arrival <= 0) return 0;
  return cs->last_arrival + (due - cs->last_ts);
}

int64_t cxp_cases_clock(const cxp_cases *cs) { return cs->clock; }

/* ---- the changelog section -------------------------------------------------
 * A customer's open cases and what the module remembers of him ride in his
 * own changelog record (staterec.h, version 2), so that they are written,
 * acknowledged and restored together with the rest of his state: one record,
 * one offset, never half of it. Layout ("z" zigzag varint, "v" varint):
 *   u8 version (1); u8 known (the customer record follows)
 *   [known] z touched; u8 cohort; v mask of categories with a failure time,
 *           then z each such time
 *   v n cases, by case id; each:
 *     u8 len + case id; u8 len + segment; u8 len + touchpoint
 *     z opened_at; v mask (bits 0-4 the steps done, 5 provider_at,
 *     6 complaint_at, 7 a compensation amount), then z each time present as
 *     a difference from opened_at, and the amount as 8 bytes (IEEE 754)
 *     u8 severity, base severity, category, priority, kind, flags, and the
 *     escalation level fired of each deadline
 *   v n parked steps (of events naming him, for cases not seen yet), by time
 *   and event id; each: u8 step; z ts; z arrival (wall ms); z token (the
 *   input offset); u8 flags (1 root cause fixed, 2 an amount follows);
 *   [8 bytes amount]; u8 len + case id; u8 len + event id
 *   (absent in sections written before parked steps were: none)
 *   [v n closed cases (at most 2), latest first; each: 8 bytes case hash
 *   (little-endian), z closing time] (absent when he has none, and in
 *   sections written before they were: a restart then forgets them)
 * What is worked out from these (deadlines, pending levels, the timer entry)
 * is worked out again on restore, against the pipeline of the day. */

#define EXT_VERSION 1
#define KEEP_FLAGS (F_PREMIUM | F_REPEAT | F_ROOT_FIXED | F_OVERDUE | F_PROVIDER)

/* The slots of the customer's open cases (h his hash) into *v (grown from
 * the caller's stack array when he has more), ordered by case id so that
 * the section is the same whatever order they were opened or indexed in. */
static uint32_t cust_slots(const cxp_cases *cs, const ccust *c, uint32_t **v, uint32_t *cap,
                           uint32_t *stack) {
  uint32_t n = 0;
  for (uint32_t i = c ? c->first : NO_IDX; i != NO_IDX; i = slot_at(cs, i)->cnext) {
    if (n == *cap) {
      uint32_t *nv = malloc((size_t)*cap * 2 * sizeof *nv);
      if (nv == NULL) abort();
      memcpy(nv, *v, (size_t)n * sizeof *nv);
      if (*v != stack) free(*v);
      *v = nv;
      *cap *= 2;
    }
    (*v)[n++] = i;
  }
  for (uint32_t a = 1; a < n; a++) {
    uint32_t x = (*v)[a], b = a;
    const cslot *sx = slot_at(cs, x);
    for (; b > 0; b--) {
      const cslot *sy = slot_at(cs, (*v)[b - 1]);
      size_t l = sx->len[0] < sy->len[0] ? sx->len[0] : sy->len[0];
      int cmp = memcmp(ids_of(sx), ids_of(sy), l);
      if (cmp > 0 || (cmp == 0 && sx->len[0] >= sy->len[0])) break;
      (*v)[b] = (*v)[b - 1];
    }
    (*v)[b] = x;
  }
  return n;
}

/* His parked steps into v (at most max; parked steps are few), ordered by
 * time and event id. */
static uint32_t cust_parked(const cxp_cases *cs, uint64_t h, uint32_t *v, uint32_t max) {
  uint32_t n = 0, i;
  size_t pos = SIZE_MAX;
  while (n < max && (i = cxp_index_next(&cs->pbyc, fp_of(h), &pos)) != NO_IDX)
    if (cs->parked[i].cust_hash == h) v[n++] = i;
  for (uint32_t a = 1; a < n; a++) {
    uint32_t x = v[a], b = a;
    const pslot *px = &cs->parked[x];
    for (; b > 0; b--) {
      const pslot *py = &cs->parked[v[b - 1]];
      if (px->ts > py->ts) break;
      if (px->ts == py->ts) {
        size_t l = px->levid < py->levid ? px->levid : py->levid;
        int c = memcmp(px->s + 2 * ID_MAX, py->s + 2 * ID_MAX, l);
        if (c > 0 || (c == 0 && px->levid >= py->levid)) break;
      }
      v[b] = v[b - 1];
    }
    v[b] = x;
  }
  return n;
}

/* Parked steps of one customer a section carries at most. */
#define SECTION_PARKED_MAX 256

void cxp_cases_encode(const cxp_cases *cs, const char *customer_id, size_t n, cxp_buf *out) {
  uint64_t h = cxp_cases_customer_hash(customer_id, n);
  const ccust *c = cust_find(cs, h);
  uint32_t stack[32], *v = stack, cap = 32, pv[SECTION_PARKED_MAX];
  uint32_t nv = cust_slots(cs, c, &v, &cap, stack);
  uint32_t np = cs->st.parked_now ? cust_parked(cs, h, pv, SECTION_PARKED_MAX) : 0;
  if (c == NULL && nv == 0 && np == 0) {
    if (v != stack) free(v);
    return;
  }
  cxp_put_u8(out, EXT_VERSION);
  cxp_put_u8(out, c != NULL);
  if (c) {
    cxp_put_z(out, c->touched);
    cxp_put_u8(out, c->cohort);
    uint64_t mask = 0;
    for (int k = 0; k < CXP_CAT__COUNT; k++)
      if (c->last_fail[k] != INT64_MIN) mask |= 1u << k;
    cxp_put_v(out, mask);
    for (int k = 0; k < CXP_CAT__COUNT; k++)
      if (c->last_fail[k] != INT64_MIN) cxp_put_z(out, c->last_fail[k]);
  }
  cxp_put_v(out, nv);
  for (uint32_t k = 0; k < nv; k++) {
    const cslot *s = slot_at(cs, v[k]);
    const char *ids = ids_of(s);
    static const int which[3] = {0, 2, 3}; /* case id, segment, touchpoint */
    size_t off[4] = {0, s->len[0], (size_t)s->len[0] + s->len[1],
                     (size_t)s->len[0] + s->len[1] + s->len[2]};
    for (int w = 0; w < 3; w++) {
      cxp_put_u8(out, s->len[which[w]]);
      cxp_buf_put(out, ids + off[which[w]], s->len[which[w]]);
    }
    cxp_put_z(out, s->opened_at);
    uint64_t mask = 0;
    for (int t = 0; t < CXP_STEP__COUNT; t++)
      if (s->at[t] != NEVER) mask |= 1u << t;
    if (s->provider_at != NEVER) mask |= 1u << 5;
    if (s->complaint_at != NEVER) mask |= 1u << 6;
    if (s->amount != 0) mask |= 1u << 7;
    cxp_put_v(out, mask);
    for (int t = 0; t < CXP_STEP__COUNT; t++)
      if (s->at[t] != NEVER) cxp_put_z(out, s->at[t] - s->opened_at);
    if (s->provider_at != NEVER) cxp_put_z(out, s->provider_at - s->opened_at);
    if (s->complaint_at != NEVER) cxp_put_z(out, s->complaint_at - s->opened_at);
    if (s->amount != 0) cxp_put_f64(out, s->amount);
    const uint8_t b[6] = {s->sev, s->base_sev, s->cat, s->prio, s->kind,
                          (uint8_t)(s->flags & KEEP_FLAGS)};
    cxp_buf_put(out, b, 6);
    cxp_buf_put(out, s->level, CXP_DL__COUNT);
  }
  if (v != stack) free(v);
  cxp_put_v(out, np);
  for (uint32_t k = 0; k < np; k++) {
    const pslot *p = &cs->parked[pv[k]];
    cxp_put_u8(out, (unsigned)(p->type - CXP_EV_REC_ACKNOWLEDGED));
    cxp_put_z(out, p->ts);
    cxp_put_z(out, p->arrival);
    cxp_put_z(out, p->token);
    cxp_put_u8(out, (p->root_fixed ? 1u : 0u) | (p->amount != 0 ? 2u : 0u));
    if (p->amount != 0) cxp_put_f64(out, p->amount);
    cxp_put_u8(out, p->lcase);
    cxp_buf_put(out, p->s, p->lcase);
    cxp_put_u8(out, p->levid);
    cxp_buf_put(out, p->s + 2 * ID_MAX, p->levid);
  }
  if (c && c->n_closed) {
    cxp_put_v(out, c->n_closed);
    for (int k = 0; k < c->n_closed; k++) {
      cxp_put_le(out, c->closed_h[k], 8);
      cxp_put_z(out, c->closed_at[k]);
    }
  }
}

/* One case of a section, decoded. */
typedef struct xcase {
  const uint8_t *id[3];
  unsigned len[3];
  int64_t opened_at, at[CXP_STEP__COUNT], provider_at, complaint_at;
  double amount;
  uint8_t b[6], level[CXP_DL__COUNT];
} xcase;

/* Every time a section holds is an event time (staterec.h: within
 * 2000..2099), a closing time included: cases close when the clock, which
 * is event time, reaches them. Refused otherwise, so that no restored case
 * files a due at a second the wheel would walk to for ever.
 *
 * A time a section stores as a difference from opened_at: read as such,
 * added only when the sum stays within the event years (an add that would
 * overflow is refused, not wrapped). */
static int64_t get_rel_time(cxp_rd *r, int64_t base, int *bad) {
  int64_t d = cxp_get_z(r);
  if (d < -(CXP_TS_MAX_MS - CXP_TS_MIN_MS) || d > CXP_TS_MAX_MS - CXP_TS_MIN_MS ||
      !cxp_staterec_time_ok(base + d)) {
    *bad = 1;
    return 0;
  }
  return base + d;
}

static int read_case(cxp_rd *r, xcase *x, char *err, size_t errlen) {
  for (int w = 0; w < 3; w++) {
    x->len[w] = cxp_get_u8(r);
    x->id[w] = cxp_get_bytes(r, x->len[w]);
  }
  x->opened_at = cxp_get_z(r);
  uint64_t mask = cxp_get_v(r);
  int opened_ok = cxp_staterec_time_ok(x->opened_at);
  int bad_time = -1; /* which time is out of range: a step, 5 provider, 6 complaint */
  for (int t = 0; t < CXP_STEP__COUNT + 2; t++) {
    int64_t v = NEVER;
    if (mask & (1u << t)) {
      int bad = 0;
      v = get_rel_time(r, opened_ok ? x->opened_at : CXP_TS_MIN_MS, &bad);
      if (bad && bad_time < 0) bad_time = t;
    }
    if (t < CXP_STEP__COUNT)
      x->at[t] = v;
    else if (t == CXP_STEP__COUNT)
      x->provider_at = v;
    else
      x->complaint_at = v;
  }
  x->amount = mask & (1u << 7) ? cxp_get_f64(r) : 0;
  const uint8_t *b = cxp_get_bytes(r, 6), *lv = cxp_get_bytes(r, CXP_DL__COUNT);
  if (r->bad) FAIL("a case cut short");
  if (mask >= 1u << 8)
    FAIL("a case with unknown fields (mask %#llx)", (unsigned long long)mask);
  memcpy(x->b, b, 6);
  memcpy(x->level, lv, CXP_DL__COUNT);
  if (x->len[0] == 0 || x->len[0] > ID_MAX || x->len[1] > SEG_MAX || x->len[2] > ID_MAX)
    FAIL("a case with an id, segment or touchpoint of a bad length");
  const char *id = (const char *)x->id[0];
  int il = (int)x->len[0];
  if (!opened_ok)
    FAIL("case '%.*s': opened_at %lld ms lies outside 2000..2099", il, id,
         (long long)x->opened_at);
  if (bad_time >= 0)
    FAIL("case '%.*s': the time of %s lies outside 2000..2099", il, id,
         bad_time < CXP_STEP__COUNT    ? step_names[bad_time]
         : bad_time == CXP_STEP__COUNT ? "its provider detection"
                                       : "its complaint");
  if (x->b[0] < 1 || x->b[0] > 4 || x->b[1] < 1 || x->b[1] > 4 || x->b[2] >= CXP_CAT__COUNT ||
      x->b[3] < 1 || x->b[3] > 4 || x->b[4] > CXP_CASE_DETRACTOR || (x->b[5] & ~KEEP_FLAGS))
    FAIL("case '%.*s': severity, category, priority, kind or flags out of range", il, id);
  /* The decoder's bound on a compensation amount. */
  if (!(x->amount >= 0 && x->amount <= 1e12))
    FAIL("case '%.*s': compensation %g, expected 0..1e12", il, id, x->amount);
  for (int d = 0; d < CXP_DL__COUNT; d++)
    if (x->level[d] > CXP_CASES_LEVELS)
      FAIL("case '%.*s': escalation level %u, expected 0..%d", il, id, x->level[d],
           CXP_CASES_LEVELS);
  return 0;
}

/* One parked step of a section (its customer is the section's). */
static int read_parked(cxp_rd *r, xpark *x, char *err, size_t errlen) {
  memset(x, 0, sizeof *x);
  unsigned step = cxp_get_u8(r);
  x->type = CXP_EV_REC_ACKNOWLEDGED + (int)step;
  x->ts = cxp_get_z(r);
  x->arrival = cxp_get_z(r);
  x->token = cxp_get_z(r);
  unsigned flags = cxp_get_u8(r);
  x->root_fixed = flags & 1;
  if (flags & 2) x->amount = cxp_get_f64(r);
  x->case_id.n = cxp_get_u8(r);
  x->case_id.p = (const char *)cxp_get_bytes(r, x->case_id.n);
  x->event_id.n = cxp_get_u8(r);
  x->event_id.p = (const char *)cxp_get_bytes(r, x->event_id.n);
  if (r->bad) FAIL("a parked step cut short");
  if (step >= CXP_STEP__COUNT || flags > 3 || x->case_id.n == 0 || x->case_id.n > ID_MAX ||
      x->event_id.n > ID_MAX || !(x->amount >= 0 && x->amount <= 1e12))
    FAIL("a parked step with a field out of range");
  /* Its expiry is filed at ts + park_ms; arrival is a wall time (0 in a
   * replay) and token an input offset (-1: none), both only reported. */
  if (!cxp_staterec_time_ok(x->ts))
    FAIL("parked step for case '%.*s': ts %lld ms lies outside 2000..2099",
         (int)x->case_id.n, x->case_id.p, (long long)x->ts);
  if (!cxp_staterec_time_or_0(x->arrival) || x->token < -1)
    FAIL("parked step for case '%.*s': arrival %lld or token %lld out of range",
         (int)x->case_id.n, x->case_id.p, (long long)x->arrival, (long long)x->token);
  return 0;
}

/* Opens a slot for a decoded case of the customer (ids: his id in the
 * customer place), as open_case would have left it. */
static void restore_case(cxp_cases *cs, const xcase *x, uint64_t ch, const char *cust,
                         size_t clen, ccust *c) {
  uint64_t h = case_hash((const char *)x->id[0], x->len[0]);
  if (case_find(cs, (const char *)x->id[0], x->len[0], h, NULL)) return; /* held already */
  if (cs->st.open >= cs->conf.max_open) {
    cs->st.evicted++; /* no room: dropped, as an eviction would have */
    return;
  }
  uint32_t idx = slot_alloc(cs);
  cslot *s = slot_at(cs, idx);
  memset(s, 0, sizeof *s);
  size_t lens[4] = {x->len[0], clen, x->len[1], x->len[2]};
  const char *src[4] = {(const char *)x->id[0], cust, (const char *)x->id[1],
                        (const char *)x->id[2]};
  slot_ids(cs, s, lens, src);
  s->opened_at = x->opened_at;
  memcpy(s->at, x->at, sizeof s->at);
  s->provider_at = x->provider_at;
  s->complaint_at = x->complaint_at;
  s->amount = x->amount;
  s->next_due = NEVER;
  s->cust_hash = ch;
  s->seq = next_seq(cs);
  s->sev = x->b[0];
  s->base_sev = x->b[1];
  s->cat = x->b[2];
  s->prio = x->b[3];
  s->kind = x->b[4];
  s->flags |= (uint8_t)(x->b[5] | F_LIVE);
  memcpy(s->level, x->level, CXP_DL__COUNT);
  slot_link(cs, idx, h, c);
  cs->st.restored++;
  if (c->open < UINT16_MAX) c->open++;
  if ((s->flags & F_OVERDUE) && c->overdue < UINT16_MAX) c->overdue++;
  /* A step parked under another customer's record, restored before this
   * one (steps are idempotent: the earliest time wins). */
  if (cs->st.parked_now) take_parked(cs, s, h);
  refresh(cs, idx); /* pending levels, the timer entry */
}

/* The least a case takes in a section: three length bytes, opened_at and
 * the mask (a byte each at least), six bytes of severity to flags, and the
 * levels. A count of cases is bounded by what the section can hold, before
 * any is read. */
#define SECTION_CASE_MIN (3 + 1 + 1 + 6 + CXP_DL__COUNT)

/* Reads a section (apply 0: only checks it, and says what is wrong in err;
 * apply 1 reads one that passed). */
static int read_section(cxp_cases *cs, const uint8_t *p, size_t len, const char *cust,
                        size_t clen, uint64_t ch, int apply, char *err, size_t errlen) {
  cxp_rd r = {p, p + len, 0};
  unsigned version = cxp_get_u8(&r), known = cxp_get_u8(&r);
  if (r.bad) FAIL("cut short");
  if (version != EXT_VERSION || known > 1)
    FAIL("version %u (this build reads %d), known %u", version, EXT_VERSION, known);
  ccust *c = NULL;
  if (known) {
    int64_t touched = cxp_get_z(&r);
    unsigned cohort = cxp_get_u8(&r);
    uint64_t mask = cxp_get_v(&r);
    if (r.bad) FAIL("cut short");
    if (cohort > CXP_COHORT_POORLY || mask >> CXP_CAT__COUNT)
      FAIL("cohort %u or category mask %#llx out of range", cohort,
           (unsigned long long)mask);
    /* touched orders customers for eviction; INT64_MIN is a record made
     * for his cases alone. */
    if (touched != INT64_MIN && !cxp_staterec_time_ok(touched))
      FAIL("touched %lld ms lies outside 2000..2099", (long long)touched);
    int64_t last[CXP_CAT__COUNT];
    for (int k = 0; k < CXP_CAT__COUNT; k++) {
      last[k] = mask & (1u << k) ? cxp_get_z(&r) : INT64_MIN;
      if (!r.bad && last[k] != INT64_MIN && !cxp_staterec_time_ok(last[k]))
        FAIL("latest %s failure at %lld ms lies outside 2000..2099", category_names[k],
             (long long)last[k]);
    }
    if (apply) {
      c = cust_get(cs, ch, touched);
      c->touched = touched;
      c->cohort = (uint8_t)cohort;
      memcpy(c->last_fail, last, sizeof last);
    }
  }
  uint64_t n = cxp_get_v(&r);
  if (r.bad) FAIL("cut short");
  if (n > cs->conf.max_open || n > (uint64_t)(r.end - r.p) / SECTION_CASE_MIN)
    FAIL("%llu cases, more than recovery.max_open (%u) or than its %zu bytes hold",
         (unsigned long long)n, cs->conf.max_open, (size_t)(r.end - r.p));
  if (apply && n && c == NULL) c = cust_get(cs, ch, INT64_MIN);
  for (uint64_t k = 0; k < n; k++) {
    xcase x;
    if (read_case(&r, &x, err, errlen) != 0) return -1;
    if (apply) restore_case(cs, &x, ch, cust, clen, c);
  }
  uint64_t np = r.p < r.end ? cxp_get_v(&r) : 0;
  if (r.bad) FAIL("cut short");
  if (np > SECTION_PARKED_MAX)
    FAIL("%llu parked steps, expected at most %d", (unsigned long long)np,
         SECTION_PARKED_MAX);
  for (uint64_t k = 0; k < np; k++) {
    xpark x;
    if (read_parked(&r, &x, err, errlen) != 0) return -1;
    x.customer_id = (cxp_str){cust, clen};
    if (!apply) continue;
    uint64_t h = case_hash(x.case_id.p, x.case_id.n);
    uint32_t idx;
    cslot *s = case_find(cs, x.case_id.p, x.case_id.n, h, &idx);
    if (s) {
      /* Its case was restored already (another customer's): applied now,
       * as its opening would have done. */
      apply_step(s, x.type - CXP_EV_REC_ACKNOWLEDGED, x.ts, x.amount, x.root_fixed);
      refresh(cs, idx);
    } else if (park_step(cs, &x, h) == CXP_CASE_PARKED) {
      cs->st.parked--; /* counts events parked, not restored */
    }
  }
  uint64_t nc = r.p < r.end ? cxp_get_v(&r) : 0;
  if (r.bad) FAIL("cut short");
  if (nc > CUST_CLOSED)
    FAIL("%llu closed cases, expected at most %d", (unsigned long long)nc, CUST_CLOSED);
  for (uint64_t k = 0; k < nc; k++) {
    uint64_t h = cxp_get_le(&r, 8);
    int64_t at = cxp_get_z(&r);
    if (r.bad) FAIL("cut short");
    if (!cxp_staterec_time_ok(at))
      FAIL("a closed case's closing time %lld ms lies outside 2000..2099", (long long)at);
    if (!apply) continue;
    if (c == NULL) c = cust_get(cs, ch, INT64_MIN);
    if (!closed_has(cs, h)) closed_add(cs, h);
    cust_closed_note(c, h, at);
  }
  if (r.p != r.end) FAIL("%zu trailing bytes", (size_t)(r.end - r.p));
  return 0;
}

int cxp_cases_restore(cxp_cases *cs, const char *customer_id, size_t n, const uint8_t *p,
                      size_t len, int64_t clock_hint, char *err, size_t errlen) {
  char why[200] = "bad customer id";
  if (n == 0 || n > ID_MAX ||
      read_section(cs, p, len, customer_id, n, 0, 0, why, sizeof why) != 0) {
    if (err && errlen)
      snprintf(err, errlen, "cases of customer '%.*s' in his state record: %s",
               (int)(n > 64 ? 64 : n), customer_id, why);
    return -1;
  }
  cxp_cases_clock_hint(cs, clock_hint);
  cxp_cases_forget(cs, customer_id, n);
  uint64_t ch = cxp_cases_customer_hash(customer_id, n);
  cs->restoring = 1;
  read_section(cs, p, len, customer_id, n, ch, 1, NULL, 0);
  cs->restoring = 0;
  return 0;
}

void cxp_cases_forget(cxp_cases *cs, const char *customer_id, size_t n) {
  if (cs->st.open == 0 && cs->st.parked_now == 0) return;
  /* What a newer record says replaces what an older one said: his open
   * cases go (no outcome: they are not closed, only restated), and his
   * parked steps. */
  uint64_t ch = cxp_cases_customer_hash(customer_id, n);
  uint32_t stack[32], *v = stack, cap = 32;
  uint32_t nv = cust_slots(cs, cust_find(cs, ch), &v, &cap, stack);
  for (uint32_t k = 0; k < nv; k++) {
    if (cs->st.restored) cs->st.restored--; /* counted again if it comes back */
    slot_free(cs, v[k]);
  }
  if (v != stack) free(v);
  uint32_t pv[SECTION_PARKED_MAX];
  uint32_t np = cs->st.parked_now ? cust_parked(cs, ch, pv, SECTION_PARKED_MAX) : 0;
  for (uint32_t k = 0; k < np; k++)
    parked_free(cs, pv[k], case_hash(cs->parked[pv[k]].s, cs->parked[pv[k]].lcase));
  ccust *c = cust_find(cs, ch);
  if (c) c->open = c->overdue = 0;
}

uint32_t cxp_cases_parked_now(const cxp_cases *cs) { return cs->st.parked_now; }

void cxp_cases_clock_hint(cxp_cases *cs, int64_t ts) {
  /* A hint comes from restored state (a customer's latest event, a
   * snapshot's latest): outside the event years it is no hint at all (a
   * snapshot without customers says INT64_MIN), and the clock and the
   * wheel must not start there. */
  if (!cxp_staterec_time_ok(ts)) return;
  if (!cs->has_ts) {
    cs->has_ts = 1;
    cs->max_ts = cs->last_ts = ts;
    cs->last_arrival = 0;
    cs->wall_from_tick = 1;
  } else if (ts > cs->max_ts) {
    cs->max_ts = ts;
  }
}

/* ---- queries -------------------------------------------------------------- */

int cxp_cases_get(const cxp_cases *cs, const char *case_id, size_t n, cxp_case_info *out) {
  const cslot *s = case_find(cs, case_id, n, case_hash(case_id, n), NULL);
  if (s == NULL) return -1;
  fill_info(cs, s, out);
  return 0;
}

void cxp_cases_customer(const cxp_cases *cs, const char *customer_id, size_t n,
                        cxp_case_customer *out) {
  const ccust *c = cust_find(cs, cxp_cases_customer_hash(customer_id, n));
  out->cohort = c ? (cxp_case_cohort)c->cohort : CXP_COHORT_NEVER_FAILED;
  out->open = c ? c->open : 0;
  out->overdue = c ? c->overdue : 0;
}

cxp_cases_stats cxp_cases_stats_get(const cxp_cases *cs) {
  cxp_cases_stats st = cs->st;
  st.customers = cs->cust_n;
  st.groups = cs->groups_live;
  return st;
}

size_t cxp_cases_bytes(const cxp_cases *cs) {
  return sizeof *cs + (size_t)cs->max_chunks * sizeof *cs->chunks +
         (size_t)cs->n_chunks * SLOTS_PER_CHUNK * sizeof(cslot) + cs->heap_ids_bytes +
         cxp_index_bytes(&cs->idx) + sizeof cs->wheel + cs->wheel.bytes +
         (size_t)cs->parked_cap * sizeof *cs->parked + cxp_index_bytes(&cs->pidx) + cxp_index_bytes(&cs->pbyc) +
         (size_t)cs->cust_cap * sizeof *cs->cust + cxp_index_bytes(&cs->cidx) +
         (size_t)cs->closed_cap * sizeof *cs->closed + cxp_index_bytes(&cs->clidx) +
         (size_t)cs->groups_cap * cs->gstride + cxp_index_bytes(&cs->gidx) +
         (cs->own_sol ? sizeof *cs->own_sol + sizeof *cs->own_sol->e : 0);
}

size_t cxp_cases_bytes_per_case(const cxp_cases *cs) {
  (void)cs;
  /* The index is at most half full: at least two entries per case. */
  return sizeof(cslot) + 2 * sizeof(uint64_t) + sizeof(cxp_wentry);
}

/* ---- durable systemic groups ------------------------------------------------
 * A group's record: key CXP_CL_SYSTEMIC "<category>:<window start>:<touchpoint>",
 * value u8 version (1), u8 fired, v n, then the n customers' hashes (8 bytes
 * each, little-endian); a tombstone once the sweep forgets a group that had
 * a record. */

#define GROUP_VERSION 1

void cxp_cases_track(cxp_cases *cs, int on) { cs->track = on != 0; }

size_t cxp_cases_groups_changed(const cxp_cases *cs) { return cs->gdirty_live + cs->ggone_n; }

/* Appends the group's frame. */
static void group_record(cxp_cases *cs, const sgroup *g, cxp_buf *out) {
  group_key(&cs->gkey, g);
  cxp_buf_reset(&cs->gval);
  cxp_put_u8(&cs->gval, GROUP_VERSION);
  cxp_put_u8(&cs->gval, g->fired);
  cxp_put_v(&cs->gval, g->n);
  for (int c = 0; c < g->n; c++) cxp_put_le(&cs->gval, g->cust[c], 8);
  cxp_staterec_frame_put(out, CXP_CL_SYSTEMIC, cs->gkey.p, cs->gkey.len, cs->gval.p,
                         cs->gval.len);
}

size_t cxp_cases_groups_flush(cxp_cases *cs, cxp_buf *out) {
  size_t n = cs->ggone_n;
  if (cs->ggone.len) cxp_buf_put(out, cs->ggone.p, cs->ggone.len);
  cxp_buf_reset(&cs->ggone);
  cs->ggone_n = 0;
  for (uint32_t k = 0; k < cs->gdirty_n; k++) {
    sgroup *g = group_at(cs, cs->gdirty[k]);
    if (!g->live || !g->dirty) continue;
    group_record(cs, g, out);
    g->dirty = 0;
    g->written = 1;
    n++;
  }
  cs->gdirty_n = 0;
  cs->gdirty_live = 0;
  return n;
}

size_t cxp_cases_groups_all(cxp_cases *cs, cxp_buf *out) {
  size_t n = 0;
  for (uint32_t i = 0; i < cs->groups_n; i++) {
    const sgroup *g = group_at(cs, i);
    if (!g->live) continue;
    group_record(cs, g, out);
    n++;
  }
  return n;
}

int cxp_cases_group_restore(cxp_cases *cs, const char *key, size_t klen, const void *val,
                            size_t vlen, char *err, size_t errlen) {
  size_t pl = sizeof CXP_CL_SYSTEMIC - 1;
  if (klen <= pl || memcmp(key, CXP_CL_SYSTEMIC, pl) != 0) FAIL("not a group's key");
  const char *k = key + pl, *end = key + klen;
  long long cat, start;
  if (cxp_staterec_key_num(&k, end, &cat) || cxp_staterec_key_num(&k, end, &start))
    FAIL("its key is not <category>:<window start>:<touchpoint>");
  if (cat < 0 || cat >= CXP_CAT__COUNT)
    FAIL("category %lld, expected 0..%d", cat, CXP_CAT__COUNT - 1);
  /* A window start is an event time rounded down to the window (at most a
   * day, recovery.systemic.window_min), so it lies within the event years
   * or up to a day before; the sweep compares it with the clock (start +
   * 2 windows), which cannot overflow there. */
  if (start < CXP_TS_MIN_MS - DAY_MS || start >= CXP_TS_MAX_MS)
    FAIL("window start %lld ms lies outside 2000..2099", start);
  size_t n = (size_t)(end - k);
  if (n == 0 || n > ID_MAX) FAIL("a touchpoint of %zu bytes, expected 1..%d", n, ID_MAX);
  uint64_t h = group_hash(k, n, start, (int)cat);
  uint32_t i = group_find(cs, h, start, (int)cat, k, n);
  if (val == NULL) {
    if (i != NO_IDX) {
      group_at(cs, i)->written = 0; /* no tombstone of the tombstone */
      group_free(cs, i);
    }
    return 0;
  }
  cxp_rd r = {val, (const uint8_t *)val + vlen, 0};
  unsigned ver = cxp_get_u8(&r), fired = cxp_get_u8(&r);
  uint64_t nc = cxp_get_v(&r);
  if (r.bad) FAIL("cut short");
  /* 64: the most recovery.systemic.customers allows. */
  if (ver != GROUP_VERSION || fired > 1 || nc > 64)
    FAIL("version %u, fired %u or %llu customers out of range", ver, fired,
         (unsigned long long)nc);
  uint64_t cust[64];
  for (uint64_t c = 0; c < nc; c++) cust[c] = cxp_get_le(&r, 8);
  if (r.bad) FAIL("cut short");
  if (r.p != r.end) FAIL("%zu trailing bytes", (size_t)(r.end - r.p));
  if (i == NO_IDX) i = group_new(cs, h, start, (int)cat, k, n);
  if (i == NO_IDX)
    FAIL("no room for it (recovery.systemic.max_groups, %u)", cs->conf.max_systemic);
  sgroup *g = group_at(cs, i);
  /* Under a pipeline counting fewer customers than the one that wrote the
   * record, a group already at the new count has fired as far as it is
   * concerned: it does not fire on an old burst. */
  int cap = cs->conf.systemic_customers;
  g->n = (uint8_t)(nc < (uint64_t)cap ? nc : (uint64_t)cap);
  memcpy(g->cust, cust, (size_t)g->n * sizeof *cust);
  g->fired = (uint8_t)(fired || g->n >= cap);
  g->written = 1;
  g->dirty = 0;
  return 0;
}
