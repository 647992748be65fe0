/* Input events: decoding and validation against docs/domain.md section 2.
 *
 * A decoded event points into the cJSON tree it was parsed into, which the
 * caller keeps alive (in practice: the per-batch arena) for as long as it
 * reads the event. */
#ifndef CXP_EVENT_H
#define CXP_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "timeutil.h"

typedef enum {
  CXP_EV_CSAT,
  CXP_EV_NPS,
  CXP_EV_CES,
  CXP_EV_SERVQUAL,
  CXP_EV_CONTACT,
  CXP_EV_COMPLAINT,
  CXP_EV_FAILURE,
  CXP_EV_REC_ACKNOWLEDGED,
  CXP_EV_REC_APOLOGIZED,
  CXP_EV_REC_COMPENSATED,
  CXP_EV_REC_RESOLVED,
  CXP_EV_REC_FOLLOWED_UP,
  CXP_EV_PURCHASE,
  CXP_EV_USAGE,
  CXP_EV_REFERRAL,
  CXP_EV_FEEDBACK,
  CXP_EV_PROFILE,
  CXP_EV_CANCELLED,
  CXP_EV_DOWNGRADED,
  CXP_EV__COUNT
} cxp_event_type;

/* Stable dead-letter reason codes (docs/domain.md section 2). */
typedef enum {
  CXP_OK = 0,
  CXP_BAD_INVALID_JSON,
  CXP_BAD_MISSING_FIELD,
  CXP_BAD_TYPE,
  CXP_BAD_OUT_OF_RANGE,
  CXP_BAD_UNKNOWN_TYPE,
  CXP_BAD_TOO_LARGE,
  CXP_BAD_TIMESTAMP,
  CXP_BAD_LATE,
  CXP_BAD_UNKNOWN_CASE, /* a recovery step whose case never came */
  CXP_BAD_OUTPUT_REJECTED, /* an output the broker refused for good */
  CXP_BAD_OFFSETS_SKIPPED, /* input lost to retention before it was read */
  CXP_BAD_CONFLICTING, /* fields that say one thing twice: severity with likelihood/impact */
  CXP_BAD__COUNT
} cxp_reason;

enum { CXP_SQ_TANGIBLES, CXP_SQ_RELIABILITY, CXP_SQ_RESPONSIVENESS, CXP_SQ_ASSURANCE,
       CXP_SQ_EMPATHY, CXP_SQ__COUNT };

typedef struct cxp_str {
  const char *p;
  size_t n; /* 0 with p == NULL when absent */
} cxp_str;

typedef struct cxp_event {
  cxp_event_type type;
  cxp_str event_id, customer_id, channel, segment, agent_id, touchpoint, case_id;
  int64_t ts_ms;
  int score; /* csat, nps, ces */
  unsigned sq_mask; /* bit per SERVQUAL dimension present */
  double sq_expected[CXP_SQ__COUNT], sq_perceived[CXP_SQ__COUNT];
  double wait_s, handle_s, sentiment;
  int resolved, has_sentiment;
  cxp_str category, kano, attribute, detected_by, referred_id, kind;
  int severity;     /* 0 when the event gives likelihood and impact instead */
  int likelihood, impact; /* 1..4 each (1 the worst), or 0 when not given */
  double amount;    /* purchase, recovery.compensated */
  int root_cause_fixed;
  double count;     /* usage */
  double clv;
  int has_clv;
  int consent;      /* -1 when the profile does not say */
} cxp_event;

/* Which parser reads an event: AUTO, the fast path for a flat event and
 * cJSON for anything else; FULL, cJSON always; FLAT, the fast path only
 * (anything else is refused as invalid JSON), for tests to see it taken. */
typedef enum { CXP_PARSE_AUTO, CXP_PARSE_FULL, CXP_PARSE_FLAT } cxp_parser;

/* What the fast path saw of the last event's member names: after each name,
 * the one that came next. Producers write their events' members in the same
 * order, so the next name is mostly the one predicted, checked with a
 * compare of its bytes instead of a scan. It changes how fast an event is
 * read, never what is read. Zeroed: nothing predicted yet. */
#define CXP_DECODE_FIELDS 32
typedef struct cxp_decode_hint {
  uint8_t next[CXP_DECODE_FIELDS + 1]; /* field + 1 after field (the last: first); 0 none */
  cxp_date_memo date;                  /* the date of the last ts read */
} cxp_decode_hint;

typedef struct cxp_decode_opts {
  size_t max_bytes;
  int64_t now_ms;        /* arrival time; 0 skips the future check */
  int64_t max_future_ms; /* how far past now_ms ts may lie */
  cxp_parser parser;     /* CXP_PARSE_AUTO but in tests and benchmarks */
  cxp_decode_hint *hint; /* the caller's, kept from event to event; NULL: none */
} cxp_decode_opts;

/* Decodes and validates one event. Returns CXP_OK, or a reason with a
 * sentence naming the field in detail[]. A flat event is read by a fast path
 * into a copy of the message; anything else is parsed with cJSON. Both
 * allocate through cJSON's hooks, so the caller routes those allocations
 * (cxp_arena_json_begin) as it sees fit; the event points into them. */
cxp_reason cxp_event_decode(const char *buf, size_t len, const cxp_decode_opts *o,
                            cxp_event *ev, char *detail, size_t dlen);

const char *cxp_reason_name(cxp_reason r);
const char *cxp_event_type_name(cxp_event_type t);
const char *cxp_sq_dimension_name(int d);

/* Earliest and latest event times accepted at all: 2000-01-01 and 2100-01-01. */
#define CXP_TS_MIN_MS 946684800000LL
#define CXP_TS_MAX_MS 4102444800000LL

#endif
