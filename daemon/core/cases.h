/* Service-failure recovery cases (docs/domain.md section 5): cases,
 * deadlines, escalation, repeats, systemic failures, the solution library
 * and outcomes.
 *
 * Pure functional core: no clock reads, no libuv, no librdkafka. Time comes
 * in as arguments: each event's own time, the wall time at which the shell
 * received it, and the wall time of a tick (as in window.h).
 *
 * Flow. Each input partition owns one cxp_cases. The caller hands it every
 * decoded event of the partition (cxp_cases_add), not only the case events:
 * every event moves the partition's clock. service.failure, complaint and a
 * detractor NPS response (0-6) open a case; recovery.* events mark its steps;
 * everything else only moves the clock. What happens goes out synchronously
 * through the callbacks of cxp_cases_cbs, with plain structs the caller turns
 * into alerts (recovery.required, recovery.sla_breached, segment.anomaly),
 * dead letters and indicator counts. The callbacks must not call back into
 * the same cxp_cases; the strings they see are valid only during the call.
 *
 * Time rules, precisely:
 * - The clock is the largest event time seen on the partition or, when the
 *   partition is quiet and ticked, its last event's time plus the wall time
 *   elapsed since that event arrived. It never moves back.
 * - Deadlines, by severity and segment (the SLA matrix; a segment it does
 *   not list: x premium_factor when premium): acknowledge (a detractor's
 *   case: the closed loop's time), apologize, compensate and resolve from
 *   the case's opening (its earliest opening event's time); follow up from
 *   the resolution (the earliest resolved step). Apologize and compensate
 *   have none unless the SLA gives them a time. A step is in time when its
 *   earliest time is <= its deadline.
 * - Escalation level k (1..3) of a step falls due at base + escalation[k-1]
 *   x the step's allowed time (1x, 2x, 4x by default). When the clock reaches
 *   it and the step was not done by then in event time (not known at all,
 *   or known with a later time), the step breaches that level; a step done
 *   before a level's due stops that level and every later one. A step that
 *   arrives late with a time after the due breaches the same whether it
 *   arrived before or after the clock got there (done_at says so). A step
 *   that arrives only after the clock passed a due, with an earlier time,
 *   cannot recall the breach already sent; the outcome still judges it by
 *   its own time. Breaches fire in (due, opening order) order.
 * - Breaches are grouped per case: the levels of a case that the clock has
 *   passed when its earliest one is served fire together, and on_breach is
 *   called once for the highest level reached, only when the case had not
 *   reached that level before (one call per level and case, whichever step
 *   reaches it), naming every step overdue then.
 * - Steps may come in any order, and twice: the earliest time of each counts.
 * - A case closes, and its outcome goes out, settle_ms after it is both
 *   resolved and followed up (a step arriving shortly after still counts),
 *   or abandoned when it is not resolved within abandon_factor x its resolve
 *   time (or not followed up within abandon_factor x its follow-up time after
 *   resolution), or evicted (max_open reached: the case opened least recently
 *   closes to make room). Its slot is freed at once; only a 64-bit hash of
 *   its case_id stays in a bounded "recently closed" set, so a step or a
 *   repeated opening event for it is recognised (CXP_CASE_LATE), not parked.
 * - A step for an unknown case is parked for park_ms of event time (from the
 *   step's own time); when its case opens it is applied; when the clock
 *   passes, on_expired gets it to dead-letter.
 * - Recovered well: acknowledged, resolved and followed up, each in time.
 *   Anything else (a step late or missing, abandoned, evicted) is poorly.
 * - The breach digest (conf.digest): a breach at priority digest_from or
 *   lower calls on_breach with digested set (no alert: the caller records
 *   it) and waits in the digest of its level's group and of the window of
 *   digest_window_ms its due falls in (or the window open now, when that
 *   one went out already). When the clock reaches the window's end, before
 *   anything due at or after it fires, on_digest gets each group's cases
 *   still overdue at the end. After cxp_cases_restore, the next add or
 *   tick notes again the restored levels whose window ends after the
 *   restored clock (digest.c says why that is at least once).
 */
#ifndef CXP_CASES_H
#define CXP_CASES_H

#include <stddef.h>
#include <stdint.h>

#include "cases_conf.h"
#include "event.h"
#include "jsonw.h"

/* The recovery steps, in the order of the recovery.* event types. */
typedef enum {
  CXP_STEP_ACKNOWLEDGED,
  CXP_STEP_APOLOGIZED,
  CXP_STEP_COMPENSATED,
  CXP_STEP_RESOLVED,
  CXP_STEP_FOLLOWED_UP,
  CXP_STEP__COUNT
} cxp_case_step;

/* The step whose doing meets deadline d. */
static inline cxp_case_step cxp_case_deadline_step(cxp_case_deadline d) {
  static const cxp_case_step step[CXP_DL__COUNT] = {CXP_STEP_ACKNOWLEDGED, CXP_STEP_RESOLVED,
                                                    CXP_STEP_FOLLOWED_UP, CXP_STEP_APOLOGIZED,
                                                    CXP_STEP_COMPENSATED};
  return step[d];
}
/* The deadlines in the order of a recovery: acknowledge, apologize,
 * compensate, resolve, follow up. */
extern const cxp_case_deadline cxp_case_recovery_order[CXP_DL__COUNT];



typedef enum { CXP_CASE_FAILURE, CXP_CASE_COMPLAINT, CXP_CASE_DETRACTOR } cxp_case_kind;

/* Recovery-paradox cohort of a customer, by the outcome of his latest
 * closed case (evictions aside: they say nothing about the recovery). */
typedef enum {
  CXP_COHORT_NEVER_FAILED, /* no case seen (or forgotten: see max_customers) */
  CXP_COHORT_PENDING,      /* a case opened, none closed yet */
  CXP_COHORT_WELL,
  CXP_COHORT_POORLY
} cxp_case_cohort;

typedef enum {
  CXP_CASE_END_CLOSED,    /* resolved and followed up */
  CXP_CASE_END_ABANDONED, /* not resolved, or not followed up, in abandon_factor x time */
  CXP_CASE_END_EVICTED    /* closed early to stay under max_open */
} cxp_case_end;

/* What cxp_cases_add did with an event. */
typedef enum {
  CXP_CASE_NONE,        /* not a case event (only the clock moved), or a non-detractor NPS */
  CXP_CASE_OPENED,      /* a new case (on_opened was called) */
  CXP_CASE_MERGED,      /* a second opening event of an open case (or a detractor
                           response folded into his open detractor case) */
  CXP_CASE_STEP,        /* a step applied */
  CXP_CASE_DUPLICATE,   /* a step already known at the same or an earlier time */
  CXP_CASE_PARKED,      /* a step for an unknown case, kept for park_ms */
  CXP_CASE_LATE,        /* an event for a case closed recently: nothing changed */
  CXP_CASE_PARK_FULL,   /* a step for an unknown case, and max_parked are kept: the
                           caller dead-letters it now */
  CXP_CASE_BAD_ID       /* case_id (or customer_id) missing or over 128 bytes */
} cxp_case_result;


/* A case as the callbacks see it. Strings point into the module's memory and
 * are valid only during the call. Times are event times in epoch ms; 0 means
 * none (as alert.h's deadline_ms). */
typedef struct cxp_case_info {
  cxp_str case_id, customer_id, segment, touchpoint;
  uint64_t customer_hash; /* cxp_cases_customer_hash of customer_id */
  cxp_case_kind kind;
  cxp_case_category category;
  int severity;      /* 1..4 after repeat raising */
  int base_severity; /* as the events gave it */
  int priority;      /* 1..4: from severity, lifted once for premium/value/churn */
  int premium;
  int provider;      /* some opening event had detected_by: provider */
  int64_t opened_at;
  int64_t deadline[CXP_DL__COUNT]; /* follow-up: 0 until resolved */
  int64_t done_at[CXP_STEP__COUNT]; /* earliest time of each step, 0 when not done */
  int level[CXP_DL__COUNT];        /* escalation levels fired so far */
  int max_level;                   /* the highest of them (0: none) */
} cxp_case_info;

typedef struct cxp_case_opened {
  const cxp_case_info *c;
  const cxp_event *ev;          /* the opening event */
  int repeat;                   /* severity raised: same category within repeat_ms */
  const cxp_solution *solution; /* actions, compensation band, role */
  int solution_fallback;        /* 0 exact .. 3 default */
  int parked_applied;           /* parked steps applied before this call */
} cxp_case_opened;

typedef struct cxp_case_breach {
  const cxp_case_info *c;
  cxp_case_deadline deadline; /* the overdue step */
  int level;                  /* 1..3 */
  int64_t due;                /* when this level fell due (the alert's event time) */
  int64_t deadline_ms;        /* the step's deadline (level 1's due) */
  int priority;               /* the case's priority lifted by level - 1 */
  int64_t done_at;            /* 0, or when the step was done, after due (late) */
  /* Every step overdue as the alert goes out (breached and not done by
   * due), at the level it reached; 0 for the others. */
  int levels[CXP_DL__COUNT];
  /* The breach digest took it (conf.digest, priority digest_from or
   * lower): no alert of its own, the case is listed in a digest later. The
   * caller still records the escalation. */
  int digested;
} cxp_case_breach;

/* One case of a breach digest. Strings point into the module's memory and
 * are valid only during the call. */
typedef struct cxp_case_digest_item {
  cxp_str case_id, customer_id, segment;
  int priority;               /* the breach's: the case's lifted by level - 1 */
  int level;                  /* the escalation level its breach reached */
  cxp_case_deadline step;     /* the step that reached it */
  int64_t due;                /* when it did */
  int64_t deadline_ms;        /* that step's deadline (its level 1) */
  /* Every step still overdue at the window's end (breached and not done
   * by then), at the level it has reached; 0 for the others. */
  int levels[CXP_DL__COUNT];
} cxp_case_digest_item;

/* The breaches of one role in one window of event time, as the clock
 * passes the window's end: the cases still overdue then, in the order they
 * breached. A case whose overdue steps were all done by the window's end,
 * or that closed, is only counted (settled). */
typedef struct cxp_case_digest {
  int level;                  /* the role's (first) escalation level, 1..3 */
  int64_t window_start, window_end;
  int priority;               /* the most urgent of the items' */
  uint32_t n;                 /* items listed, 1..digest_max */
  uint32_t omitted;           /* breaches past digest_max: counted, not listed */
  uint32_t settled;           /* listed no more: done or closed by the end */
  const cxp_case_digest_item *items;
} cxp_case_digest;

typedef struct cxp_case_systemic {
  cxp_case_category category;
  cxp_str touchpoint;
  int64_t window_start, window_end;
  int customers;              /* distinct customers counted: systemic_customers */
  const cxp_event *ev;        /* the event that reached the threshold */
} cxp_case_systemic;

typedef struct cxp_case_outcome {
  const cxp_case_info *c;
  cxp_case_end end;
  int well;
  unsigned missed;    /* bit (1 << cxp_case_deadline) per step late or missing */
  int64_t closed_at;  /* its closing time (settle or abandon due); the clock when evicted */
  int64_t tta_ms, ttr_ms; /* time to acknowledge, to resolve; -1 when not done */
  int preempted;      /* provider detected it before any complaint on the case */
  int max_level;      /* highest escalation level fired */
  double compensation; /* largest recovery.compensated amount */
  int root_cause_fixed;
  cxp_case_cohort cohort; /* the customer's cohort after this outcome */
} cxp_case_outcome;

/* A parked step whose case never came: to dead-letter, with detail. */
typedef struct cxp_case_expired {
  cxp_event_type type;
  cxp_str case_id, customer_id, event_id;
  int64_t ts_ms, arrival_wall_ms;
  int64_t token;      /* as passed to cxp_cases_add (e.g. the input offset) */
  const char *detail; /* "recovery.resolved for unknown case 'X' (waited 3600 s)" */
} cxp_case_expired;

/* Every callback gets `origin`: what the caller passed to the call that made
 * it happen (cxp_case_ctx.origin for cxp_cases_add, the argument of
 * cxp_cases_tick), untouched, so that it knows which message or tick its
 * outputs answer to without keeping that aside. */
typedef struct cxp_cases_cbs {
  void (*on_opened)(void *opaque, const void *origin, const cxp_case_opened *o);
  void (*on_breach)(void *opaque, const void *origin, const cxp_case_breach *b);
  void (*on_systemic)(void *opaque, const void *origin, const cxp_case_systemic *s);
  void (*on_outcome)(void *opaque, const void *origin, const cxp_case_outcome *o);
  void (*on_expired)(void *opaque, const void *origin, const cxp_case_expired *e);
  /* A case of the customer became overdue (delta 1: a breached step not
   * done) or stopped being so (-1: the step done, or the case closed). Not
   * called by cxp_cases_restore or _forget: read cxp_cases_customer then. */
  void (*on_overdue)(void *opaque, const void *origin, const cxp_case_info *c, int delta);
  /* A breach digest, as the clock passes its window's end (only with
   * conf.digest; never for a window with nothing listed nor omitted). */
  void (*on_digest)(void *opaque, const void *origin, const cxp_case_digest *d);
  /* An open case changed by the event cxp_cases_add was given (a step
   * applied, or a second opening event merged into it): called once, after
   * the clock has served what fell due by the event, with the case as it
   * then stands (not when that closed it); at_ms is the event's time. */
  void (*on_changed)(void *opaque, const void *origin, const cxp_case_info *c, int64_t at_ms);
  void *opaque;
} cxp_cases_cbs;

/* What the caller knows about the customer and the message. */
typedef struct cxp_case_ctx {
  double value;   /* customer value (e.g. CLV); lifts priority at high_value */
  int churn_band; /* 0 low, 1 medium, 2 high (lifts priority), -1 unknown */
  int64_t token;  /* returned with an expired parked step */
  int no_outreach; /* the customer refused contact (consent false): a detractor
                      response opens no closed-loop case */
  const void *origin; /* handed to the callbacks this event causes */
  int fold_detractor; /* a detractor response opens no case of its own (its
                         announcement is held back): it joins the customer's
                         latest open detractor case, or nothing when he has none */
} cxp_case_ctx;

typedef struct cxp_cases_stats {
  uint64_t opened, merged, steps, duplicates, late;
  uint64_t parked, parked_applied, parked_expired, park_full;
  uint64_t breaches[CXP_CASES_LEVELS]; /* by level */
  uint64_t closed, well, poorly, abandoned, evicted;
  uint64_t repeats, systemic, systemic_dropped;
  uint64_t digested;        /* breaches that went to a digest, not an alert */
  uint64_t digests;         /* digests sent */
  uint64_t restored;        /* open cases restored from state records */
  uint32_t open, open_max;  /* cases open now; most ever */
  uint32_t open_deadlines;  /* steps of open cases still able to breach */
  uint32_t parked_now;
  uint32_t customers;       /* per-customer records held */
  uint32_t groups;          /* systemic-failure groups held */
} cxp_cases_stats;

typedef struct cxp_cases cxp_cases;

/* The cases of one input partition. Copies conf and cbs. NULL when conf
 * fails cxp_cases_conf_check or memory runs out. */
cxp_cases *cxp_cases_create(const cxp_cases_conf *conf, const cxp_cases_cbs *cbs);
/* Frees everything without reporting anything. */
void cxp_cases_destroy(cxp_cases *cs);
/* A new conf while running (a reload): escalation, repeats, systemic
 * window, premium segments, value threshold and the library apply to cases
 * opened from now on; the SLA (times and matrix) to open cases too, as a
 * restore would: their deadlines are worked out again from their times and
 * segment (a level already fired stays fired). The sizes (max_open,
 * max_parked, max_closed, max_customers, max_systemic, systemic_customers)
 * cannot change: -1, nothing changed. */
int cxp_cases_set_conf(cxp_cases *cs, const cxp_cases_conf *conf);

/* Applies one event, then fires every deadline the clock has passed.
 *
 * The segment sticks to the customer (docs/domain.md section 2), so the caller passes
 * the customer's latest segment in ev->segment when the event has none (a
 * copy of the event will do). Read: type, ts_ms, event_id, customer_id,
 * case_id, segment, touchpoint, category, severity, detected_by, score,
 * amount, root_cause_fixed. category must be one of the decoder's; an
 * unknown one counts as "other".
 *
 * arrival_wall_ms is the wall time the shell received the event; it drives
 * cxp_cases_tick. 0 (replay) means "no wall clock". ctx may be NULL. */
cxp_case_result cxp_cases_add(cxp_cases *cs, const cxp_event *ev, int64_t arrival_wall_ms,
                              const cxp_case_ctx *ctx);

/* Advances a quiet partition's clock by wall time: to its last event's time
 * plus now_wall_ms minus that event's arrival time, never to now itself, so
 * a backlog consumed quickly cannot fire deadlines early. The shell ticks
 * only partitions that are caught up (no lag, not paused): a partition
 * paused with a backlog would otherwise age past events it has not read.
 * Does nothing before the first event, or when that event came without a
 * wall time (replay). Returns the number of breaches, outcomes and expired
 * steps it caused. */
int cxp_cases_tick(cxp_cases *cs, int64_t now_wall_ms, const void *origin);

/* The wall time at which a tick would reach the earliest pending due (the
 * shell arms one timer at the smallest over its partitions), or 0 when
 * nothing is pending or there is no wall clock. May be early (a due made
 * stale by a step), never late. */
int64_t cxp_cases_next_wall(const cxp_cases *cs);
/* The clock (INT64_MIN before the first event). */
int64_t cxp_cases_clock(const cxp_cases *cs);

/* An open case by id; 0, or -1 when not open. out's strings point into the
 * module and are valid until the next call that changes it. */
int cxp_cases_get(const cxp_cases *cs, const char *case_id, size_t n, cxp_case_info *out);

/* What the module remembers of a customer. */
typedef struct cxp_case_customer {
  cxp_case_cohort cohort;
  int open;    /* open cases */
  int overdue; /* open cases with a breached step still not done */
} cxp_case_customer;
void cxp_cases_customer(const cxp_cases *cs, const char *customer_id, size_t n,
                        cxp_case_customer *out);
uint64_t cxp_cases_customer_hash(const char *customer_id, size_t n);

/* A detractor's case id: "cl-" and 16 hex digits of (pipeline, customer,
 * event_id), as core.c's closed loop makes it. out gets 20 bytes with NUL. */
void cxp_cases_detractor_id(char out[20], const char *pipeline, cxp_str customer_id,
                            cxp_str event_id);

/* Priority 1..4 from severity 1..4, lifted one level (not past 1) for a
 * premium segment, a value at or over high_value (when > 0), or churn band
 * 2. */
int cxp_cases_priority(int severity, int premium, double value, double high_value,
                       int churn_band);

/* ---- Durable state --------------------------------------------------------
 * A customer's open cases, and what the module remembers of him (cohort,
 * latest failure per category), travel in his own changelog record as a
 * "cases section" (the layout is in casesrec.c), with the steps parked for a
 * case not seen yet that his events brought, and his two latest closed cases
 * (restored into the ring of recently closed case ids, so that an event for
 * one is still late after a restart). Not in it: the rest of that ring and
 * the systemic detector's groups; a restart forgets those. */

/* Appends the customer's section to out; nothing when the module knows
 * nothing of him. */
void cxp_cases_encode(const cxp_cases *cs, const char *customer_id, size_t n, cxp_buf *out);

/* Replaces what the module holds of the customer with a section of len
 * bytes (his open cases are restated, not closed: no callback runs), after
 * moving the clock hint forward (see cxp_cases_clock_hint). Deadlines are
 * worked out again from the case times with today's conf. 0, or -1 with a
 * sentence in err and nothing changed when the section cannot be read or
 * holds a value out of range: every time in it must be an event time
 * (2000..2099, staterec.h), every count within what the section's bytes
 * and the module's bounds hold. */
int cxp_cases_restore(cxp_cases *cs, const char *customer_id, size_t n, const uint8_t *p,
                      size_t len, int64_t clock_hint, char *err, size_t errlen);

/* The systemic detector's groups in the changelog, one record each (key
 * CXP_CL_SYSTEMIC, layout in systemic.c): with tracking on, the module lists the
 * groups changed since the last cxp_cases_groups_flush and the tombstones of
 * those it forgot after they were written. The shell writes them before the
 * customers of the same flush, so a customer restored past a failure finds
 * that failure counted in its group. */
void cxp_cases_track(cxp_cases *cs, int on);
size_t cxp_cases_groups_changed(const cxp_cases *cs);
/* Appends the frames of the tombstones and changed groups; clean after.
 * Returns the frames appended. */
size_t cxp_cases_groups_flush(cxp_cases *cs, cxp_buf *out);
/* Appends the frames of every live group (a snapshot's); changes nothing.
 * Returns how many. */
size_t cxp_cases_groups_all(cxp_cases *cs, cxp_buf *out);
/* Applies one group record (val NULL: a tombstone). No alert fires. 0, or -1
 * with a sentence in err (may be NULL) when it cannot be read, holds a
 * value out of range (a window start outside the event years, more than 64
 * customers) or there is no room (recovery.systemic.max_groups). */
int cxp_cases_group_restore(cxp_cases *cs, const char *key, size_t klen, const void *val,
                            size_t vlen, char *err, size_t errlen);

/* A customer's record without a section: his open cases and parked steps
 * (of an older record) go, silently. */
void cxp_cases_forget(cxp_cases *cs, const char *customer_id, size_t n);

/* Steps parked now (cheap: a customer with neither a case nor a cohort has
 * a section only if some step is parked). */
uint32_t cxp_cases_parked_now(const cxp_cases *cs);

/* What the partition's clock was before a restart, at least (the restored
 * customers' latest event times): later events move it on from there, as
 * they would have in an uninterrupted run. Fires nothing by itself: what
 * fell due fires with the next event or tick. A quiet partition's wall
 * clock (cxp_cases_tick) counts from the first tick after the restore: the
 * arrival of the last event before it is not known, and counting from a
 * later instant can make a deadline late, never early. A time outside the
 * event years (2000..2099) is ignored: the clock and the timing wheel never
 * start there. */
void cxp_cases_clock_hint(cxp_cases *cs, int64_t ts);

cxp_cases_stats cxp_cases_stats_get(const cxp_cases *cs);
/* Bytes held now: every structure, measured from its allocated size. Slots
 * are kept for reuse, so this only grows, up to what the bounds allow. */
size_t cxp_cases_bytes(const cxp_cases *cs);
/* Bytes one open case costs: its slot, its index entries at the table's
 * least load, and one timer entry (stale timer entries aside). */
size_t cxp_cases_bytes_per_case(const cxp_cases *cs);

const char *cxp_case_step_name(cxp_case_step s);         /* "acknowledged" ... */
const char *cxp_case_deadline_name(cxp_case_deadline d); /* "acknowledge" ... */
const char *cxp_case_cohort_name(cxp_case_cohort c);
const char *cxp_case_end_name(cxp_case_end e);

#endif
