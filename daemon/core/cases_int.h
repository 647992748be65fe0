/* The recovery cases' internals, shared by the files of the module and by
 * no one else: cases.c (the case state machine), cases_conf.c (the recovery
 * settings, the deadlines by segment and severity, the solution library),
 * systemic.c (the systemic-failure
 * detector) and casesrec.c (the cases' changelog records). */
#ifndef CXP_CASES_INT_H
#define CXP_CASES_INT_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cases.h"
#include "hash.h"
#include "index.h"
#include "pool.h"
#include "jsonw.h"
#include "wheel.h"
#include "fail.h"

/* "Not done" and "not due": the largest time, so that min() and "done by t"
 * (at <= t) need no special case. */
#define NEVER INT64_MAX
/* No slot: the index's own "no more", so its answers compare with it. */
#define NO_IDX CXP_INDEX_NONE
#define ID_MAX 128 /* the decoder's bound on ids (docs/domain.md section 2) */
#define SEG_MAX 64
#define DAY_MS 86400000LL
#define TIME_LIMIT_MS (366LL * DAY_MS)
#define MAX_OPEN_LIMIT (1u << 24)
#define SLA_ROWS (2 + CXP_SLA_MAX)
/* The escalation levels of a case in its section: three bytes, the low
 * nibbles acknowledge, resolve, follow up (as written before apologize and
 * compensate had deadlines), the high nibbles of the first two apologize
 * and compensate. */
#define REC_LEVEL_BYTES 3
/* Heap entries of parked steps carry this bit in their index. */
#define PARK_BIT 0x80000000u
/* Case slots come from a pool (pool.h) in chunks of 2^10: a slot number
 * (what the index and the timer wheel hold) stays valid for its whole life. */
#define SLOT_SHIFT 10
/* case_id, customer_id, segment and touchpoint usually fit here; longer ones
 * go to one heap block per case (ids are bounded, so this is rare). */
#define IDS_INLINE 72

#define SEED_CASE 0x63787063617365ULL
#define SEED_CUST 0x637870637573ULL
#define SEED_GROUP 0x637870677270ULL

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

/* One open case. 200 bytes with the inline ids. */
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
  uint8_t sla;                      /* its row of the deadlines (cases_sla_row) */
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

/* A breach waiting for its digest: the case by slot and opening number
 * (a slot freed and taken again has another), the level its breach
 * reached, the step that reached it and when. */
typedef struct dentry {
  int64_t due;
  uint32_t idx, seq;
  uint8_t level, step;
} dentry;

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
  /* Allowed times by [row][severity - 1][deadline] (0: no deadline). Row 0: a
   * segment the SLA matrix does not list; 1: the same, premium; 2 + i: the
   * i-th segment the matrix lists (sla_seg). */
  int64_t allowed[SLA_ROWS][4][CXP_DL__COUNT];
  int64_t cl_ack[SLA_ROWS][4]; /* a detractor case's time to acknowledge */
  const char *sla_seg[SLA_ROWS];
  int sla_rows;

  cxp_pool slots;
  uint32_t oldest, newest;
  /* The open case the event being added changed (on_changed after the
   * clock is served), NO_IDX none; its opening number. */
  uint32_t changed, changed_seq;
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

  /* The breach digest (digest.c): the window collecting breaches (its
   * start; INT64_MIN before the first), and per digest group the breaches
   * noted in it (at most digest_max; the rest counted) and the most urgent
   * priority among them (5: none). Every breach noted falls in this window
   * or an earlier one whose digest went out already: there is never more
   * than one window open. */
  int64_t dg_start;
  dentry *dg[CXP_CASES_LEVELS];
  uint32_t dg_n[CXP_CASES_LEVELS], dg_omitted[CXP_CASES_LEVELS];
  int dg_prio[CXP_CASES_LEVELS];
  cxp_case_digest_item *dg_items; /* a digest's items, filled as it goes out */
  int dg_rebuild;                 /* restored, no event since: rebuild from the cases */

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
  return cxp_pool_at(&cs->slots, i);
}

static inline const char *ids_of(const cslot *s) {
  return (s->flags & F_HEAP_IDS) ? s->ids.out : s->ids.in;
}

static inline uint64_t case_hash(const char *p, size_t n) {
  return cxp_hash64(p, n, SEED_CASE);
}

static inline uint32_t next_seq(cxp_cases *cs) {
  if (++cs->seq == 0) cs->seq = 1; /* 0 marks a free parked slot */
  return cs->seq;
}

static inline size_t clip_len(const cxp_str *s, size_t max) {
  if (s->p == NULL) return 0;
  size_t n = s->n <= max ? s->n : max;
  /* Cut before a continuation byte would split a character. */
  if (n < s->n)
    while (n > 0 && ((unsigned char)s->p[n] & 0xC0) == 0x80) n--;
  return n;
}

/* A case's allowed time for deadline d (0: none). */
static inline int64_t allowed_of(const cxp_cases *cs, const cslot *s, int d) {
  /* The closed loop's own time to reach a detractor. */
  if (d == CXP_DL_ACKNOWLEDGE && s->kind == CXP_CASE_DETRACTOR)
    return cs->cl_ack[s->sla][s->sev - 1];
  return cs->allowed[s->sla][s->sev - 1][d];
}

/* What deadline d counts from: the opening, or the resolution (follow up). */
static inline int64_t dl_base(const cslot *s, int d) {
  return d == CXP_DL_FOLLOW_UP ? s->at[CXP_STEP_RESOLVED] : s->opened_at;
}

/* When the step of deadline d was done (its earliest time), NEVER if not. */
static inline int64_t dl_done(const cslot *s, int d) {
  return s->at[cxp_case_deadline_step((cxp_case_deadline)d)];
}

/* Deadline d of a case (its level 1), NEVER when it has none (yet). */
static inline int64_t dl_deadline(const cxp_cases *cs, const cslot *s, int d) {
  int64_t b = dl_base(s, d), a = allowed_of(cs, s, d);
  if (b == NEVER || a == 0) return NEVER;
  return b + a;
}

/* When escalation level k (1..3) of deadline d falls due, NEVER when it
 * has no deadline (yet). */
static inline int64_t dl_level_due(const cxp_cases *cs, const cslot *s, int d, int k) {
  int64_t b = dl_base(s, d), a = allowed_of(cs, s, d);
  if (b == NEVER || a == 0) return NEVER;
  return b + llround((double)a * cs->conf.escalation[k - 1]);
}

/* The priority of a breach at level k: the case's lifted by k - 1. */
static inline int level_priority(int prio, int k) {
  return prio - (k - 1) < 1 ? 1 : prio - (k - 1);
}

/* ---- shared within the module ---- */

/* A parked step as it is kept: from an event, or from a state record. */
typedef struct xpark {
  int type, root_fixed;
  int64_t ts, arrival, token;
  double amount;
  cxp_str case_id, customer_id, event_id;
} xpark;

/* cases.c: the state machine's operations that the restore (casesrec.c)
 * replays a record through, and the systemic detector shares. */
ccust *cases_cust_find(const cxp_cases *cs, uint64_t h);
cslot *cases_case_find(const cxp_cases *cs, const char *id, size_t n, uint64_t h, uint32_t *out_idx);
void cases_slot_ids(cxp_cases *cs, cslot *s, const size_t lens[4], const char *const src[4]);
void cases_slot_link(cxp_cases *cs, uint32_t idx, uint64_t h, ccust *c);
int cases_take_parked(cxp_cases *cs, cslot *s, uint64_t h);
/* origin: handed to on_overdue (NULL in a restore, which calls nothing). */
void cases_refresh(cxp_cases *cs, uint32_t idx, const void *origin);
ccust *cases_cust_get(cxp_cases *cs, uint64_t h, int64_t ts);
int cases_apply_step(cslot *s, int step, int64_t ts, double amount, int root_fixed);
cxp_case_result cases_park_step(cxp_cases *cs, const xpark *x, uint64_t h);
int cases_closed_has(const cxp_cases *cs, uint64_t h);
void cases_closed_add(cxp_cases *cs, uint64_t h);
void cases_cust_closed_note(ccust *c, uint64_t h, int64_t at);
void cases_slot_free(cxp_cases *cs, uint32_t idx);
/* cases_conf.c: the allowed times of every row (segment) and severity,
 * from cs->conf; and the row of the deadlines for a segment (premium: in
 * the premium set). */
void cases_derive_times(cxp_cases *cs);
uint8_t cases_sla_row(const cxp_cases *cs, const char *seg, size_t n, int premium);
void cases_parked_free(cxp_cases *cs, uint32_t i, uint64_t h);

/* digest.c: the breach digest. note: a breach of case idx at `level` by
 * `step` at `due` goes to its digest (the windows ended by due go out
 * first); flush: every digest whose window ended by t goes out (t never
 * past the clock); rebuild: after a restore, the breaches of the restored
 * cases whose digests had not gone out by the restored clock are noted
 * again. */
void cases_digest_note(cxp_cases *cs, uint32_t idx, int level, int step, int64_t due,
                       const void *origin);
void cases_digest_flush(cxp_cases *cs, int64_t t, const void *origin);
void cases_digest_rebuild(cxp_cases *cs, const void *origin);
void cases_digest_free(cxp_cases *cs);
size_t cases_digest_bytes(const cxp_cases *cs);

/* systemic.c: counts a failure event of category cat towards its
 * (category, touchpoint, window) group, and raises the systemic alert when
 * the group reaches its threshold of distinct customers. */
void cxp_cases_systemic(cxp_cases *cs, const cxp_event *ev, int cat, uint64_t cust_hash,
                        const void *origin);

#endif
