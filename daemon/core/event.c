#include "event.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "jsonw.h"
#include "swar.h"
#include "timeutil.h"

static const char *type_names[CXP_EV__COUNT] = {
    "survey.csat",           "survey.nps",           "survey.ces",
    "survey.servqual",       "contact",              "complaint",
    "service.failure",       "recovery.acknowledged", "recovery.apologized",
    "recovery.compensated",  "recovery.resolved",    "recovery.followed_up",
    "purchase",              "usage",                "referral",
    "feedback",              "profile",              "subscription.cancelled",
    "subscription.downgraded"};

static const char *reason_names[CXP_BAD__COUNT] = {
    "ok",           "invalid_json", "missing_field", "bad_type",     "out_of_range",
    "unknown_type", "too_large",    "bad_timestamp", "late",
    "unknown_case", "output_rejected", "offsets_skipped", "conflicting_fields"};

static const char *sq_names[CXP_SQ__COUNT] = {"tangibles", "reliability",
                                             "responsiveness", "assurance", "empathy"};

static const char *categories[] = {"design",     "operational", "communication",
                                   "reputational", "promise",   "other", NULL};
static const char *kanos[] = {"must_be", "performance", "attractive", "indifferent",
                              "reverse", NULL};
static const char *detectors[] = {"provider", "customer", NULL};

const char *cxp_reason_name(cxp_reason r) {
  return r < CXP_BAD__COUNT ? reason_names[r] : "unknown";
}
const char *cxp_event_type_name(cxp_event_type t) {
  return t < CXP_EV__COUNT ? type_names[t] : "unknown";
}
const char *cxp_sq_dimension_name(int d) {
  return d >= 0 && d < CXP_SQ__COUNT ? sq_names[d] : "unknown";
}

#define FAIL(r, ...)                                                           \
  do {                                                                         \
    snprintf(detail, dlen, __VA_ARGS__);                                       \
    return (r);                                                                \
  } while (0)

#define ID_MAX 128

/* The members the decoder reads. Rather than one cJSON_GetObjectItemCaseSensitive
 * per member (each a linear walk with a strcmp per child: most of the
 * decoder's own time), cxp_event_decode walks the object's children once and
 * files each under its name. */
typedef enum {
  F_EVENT_ID, F_CUSTOMER_ID, F_TYPE, F_TS, F_CHANNEL, F_SEGMENT, F_AGENT_ID,
  F_TOUCHPOINT, F_CASE_ID, F_SCORE, F_DIMENSIONS, F_WAIT_S, F_HANDLE_S, F_RESOLVED,
  F_SENTIMENT, F_CATEGORY, F_SEVERITY, F_KANO, F_ATTRIBUTE, F_DETECTED_BY, F_AMOUNT,
  F_ROOT_CAUSE_FIXED, F_COUNT, F_REFERRED_ID, F_KIND, F_CLV, F_CONSENT, F_LIKELIHOOD,
  F_IMPACT, F__COUNT
} field;

/* The members' names, in the order of the enum above; and each with its
 * quotes in two words and the masks that keep its bytes, for the fast
 * path's compare of a predicted name (cxp_decode_hint). A name longer than
 * 14 bytes is never predicted (m[0] 0). */
#define QMASK(n) ((n) >= 8 ? ~0ULL : (1ULL << (8 * (n))) - 1)
#define QNAME(s)                                                                \
  {                                                                             \
    s, "\"" s "\"",                                                             \
        {sizeof s + 1 <= 16 ? QMASK(sizeof s + 1) : 0,                          \
         sizeof s + 1 <= 16 && sizeof s + 1 > 8 ? QMASK(sizeof s + 1 - 8) : 0}, \
        sizeof s + 1                                                            \
  }
typedef struct qname {
  const char *name;
  char q[24];
  uint64_t m[2];
  size_t qn; /* the quoted name's length */
} qname;
/* clang-format off */
static const qname names[F__COUNT] = {
    QNAME("event_id"),   QNAME("customer_id"), QNAME("type"),       QNAME("ts"),
    QNAME("channel"),    QNAME("segment"),     QNAME("agent_id"),   QNAME("touchpoint"),
    QNAME("case_id"),    QNAME("score"),       QNAME("dimensions"), QNAME("wait_s"),
    QNAME("handle_s"),   QNAME("resolved"),    QNAME("sentiment"),  QNAME("category"),
    QNAME("severity"),   QNAME("kano"),        QNAME("attribute"),  QNAME("detected_by"),
    QNAME("amount"),     QNAME("root_cause_fixed"), QNAME("count"), QNAME("referred_id"),
    QNAME("kind"),       QNAME("clv"),         QNAME("consent"),    QNAME("likelihood"),
    QNAME("impact")};
/* clang-format on */
#undef QNAME
#undef QMASK
/* cJSON_IsString(v) and the like for a member known to exist: the test
 * cJSON itself makes (the low byte of `type`), without a call into the
 * shared library for every member of every event. */
static inline int of_type(const cJSON *v, int type) { return (v->type & 0xFF) == type; }

/* The field a member name is, or F__COUNT. The switch only guesses from the
 * length and a distinguishing byte; the compare decides, so a guess can be
 * wrong but never lets a wrong name through (every name of a length is that
 * long, so n equal bytes are the whole name). The compare is a memcmp of
 * the case's own length, which the compiler turns into a load or two (the
 * byte loop made field_of 173M of bench_core's 2.92e9 instructions; now
 * 58M). The full parser passes
 * strlen of cJSON's key, so a key cut short by an escaped NUL matches what
 * cJSON_GetObjectItemCaseSensitive would match. */
#define NAMED(f, len) return memcmp(k, names[f].name, len) == 0 ? (f) : F__COUNT

static field field_of(const char *k, size_t n) {
  switch (n) {
  case 2: NAMED(F_TS, 2);
  case 3: NAMED(F_CLV, 3);
  case 4: NAMED(k[0] == 't' ? F_TYPE : k[1] == 'a' ? F_KANO : F_KIND, 4);
  case 5: NAMED(k[0] == 's' ? F_SCORE : F_COUNT, 5);
  case 6: NAMED(k[0] == 'w' ? F_WAIT_S : k[0] == 'a' ? F_AMOUNT : F_IMPACT, 6);
  case 7:
    NAMED(k[0] == 's'   ? F_SEGMENT
          : k[1] == 'h' ? F_CHANNEL
          : k[1] == 'a' ? F_CASE_ID
                        : F_CONSENT,
          7);
  case 8: {
    field f;
    switch (k[0]) {
    case 'e': f = F_EVENT_ID; break;
    case 'a': f = F_AGENT_ID; break;
    case 'h': f = F_HANDLE_S; break;
    case 'r': f = F_RESOLVED; break;
    case 'c': f = F_CATEGORY; break;
    case 's': f = F_SEVERITY; break;
    default: return F__COUNT;
    }
    NAMED(f, 8);
  }
  case 9: NAMED(k[0] == 's' ? F_SENTIMENT : F_ATTRIBUTE, 9);
  case 10: NAMED(k[0] == 't' ? F_TOUCHPOINT : k[0] == 'd' ? F_DIMENSIONS : F_LIKELIHOOD, 10);
  case 11:
    NAMED(k[0] == 'c' ? F_CUSTOMER_ID : k[0] == 'd' ? F_DETECTED_BY : F_REFERRED_ID, 11);
  case 16: NAMED(F_ROOT_CAUSE_FIXED, 16);
  default: return F__COUNT;
  }
}
#undef NAMED

/* A member's value, whichever parser read it. Strings are NUL-terminated
 * (n bytes before the NUL); `j` is the cJSON node of an object or array,
 * which only the full parser produces. */
typedef enum { V_STR, V_NUM, V_TRUE, V_FALSE, V_NEST, V_DIMS } vkind;
/* A SERVQUAL dimension as the fast path read it (V_DIMS). */
typedef struct sq_entry {
  int dim;
  double expected, perceived;
} sq_entry;
#define SQ_FAST_MAX 8
typedef struct mval {
  vkind kind;
  size_t n; /* V_STR: the length; V_DIMS: the dimensions in sq */
  const char *s;
  double d;
  const cJSON *j;
  const sq_entry *sq;
} mval;

/* The members the checks read: m[f] is meaningful only when bit f of
 * `present` is set. The first member of a name counts, as it does for
 * cJSON_GetObjectItemCaseSensitive when a name repeats; JSON null counts as
 * absent (and still hides a later member of the same name). */
typedef struct members {
  unsigned present;
  mval m[F__COUNT];
  sq_entry sq[SQ_FAST_MAX]; /* the fast path's dimensions, m[F_DIMENSIONS].sq */
} members;

_Static_assert(F__COUNT <= 32, "one bit per field in `present`");

static const mval *member(const members *ms, field f) {
  return ms->present & 1u << f ? &ms->m[f] : NULL;
}

/* Files a cJSON tree's members. That lookup also stops at a child without a
 * name (which parsing never produces), and so does this walk. */
static void mval_of(const cJSON *c, mval *v) {
  v->j = c;
  if (of_type(c, cJSON_String)) {
    v->kind = V_STR;
    v->s = c->valuestring;
    v->n = strlen(c->valuestring);
  } else if (of_type(c, cJSON_Number)) {
    v->kind = V_NUM;
    v->d = c->valuedouble;
  } else if (of_type(c, cJSON_True)) {
    v->kind = V_TRUE;
  } else if (of_type(c, cJSON_False)) {
    v->kind = V_FALSE;
  } else {
    v->kind = V_NEST;
  }
}

static void index_members(const cJSON *o, members *ms) {
  unsigned taken = 0;
  ms->present = 0;
  for (const cJSON *c = o->child; c != NULL && c->string != NULL; c = c->next) {
    field f = field_of(c->string, strlen(c->string));
    if (f == F__COUNT || (taken & 1u << f)) continue;
    taken |= 1u << f;
    if (of_type(c, cJSON_NULL)) continue;
    mval_of(c, &ms->m[f]);
    ms->present |= 1u << f;
  }
}

/* A member of a small nested object (a SERVQUAL dimension), found the usual
 * way, in *tmp; NULL when absent or null. */
static const mval *get(const cJSON *o, const char *k, mval *tmp) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  if (v == NULL || cJSON_IsNull(v)) return NULL;
  mval_of(v, tmp);
  return tmp;
}

/* The fast path. Events are flat objects of short strings and plain
 * numbers, and cJSON spends most of the decoder's time building a tree of
 * them node by node (an allocation or two a member). scan_flat reads such an
 * object in one pass over a private copy of the message, ending each string
 * in place with a NUL, and files the members as index_members does.
 *
 * It reads only a strict subset of JSON and gives up (returns 0) on anything
 * else: a nested object or array (but a survey's well-formed dimensions,
 * scan_dims), a string with an escape, a control byte
 * or bytes that are not UTF-8, a number with an exponent or more than 15 digits, white space other
 * than the four JSON allows, trailing bytes. The full parser then reads the
 * message from scratch and reports whatever is wrong with it. On what it
 * does read, it finds what cJSON finds: strings without escapes are their
 * bytes, and a number of at most 15 digits with d of them after the point is
 * (digits as an integer) / 10^d, both exact in a double, so the one rounding
 * of that division is the correctly rounded value strtod gives too. */
static const double pow10_tab[16] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

static inline char *skip_ws(char *p) {
  /* Every byte the scan stops at is past the space: one compare for it. */
  while ((unsigned char)*p <= ' ' && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
    p++;
  return p;
}

/* The closing quote of a string starting at p (just after its opening
 * quote), or NULL at an escape, a control byte (NUL included: the copy's
 * last byte is one) or bytes that are not UTF-8. Outside strings, JSON has
 * no byte past 0x7F and no NUL, so the scan needs no pass of its own for
 * either: what it does not read goes to the full parser, which checks the
 * whole message first. */
#if CXP_SWAR
/* Eight bytes a step (swar.h). The copy has eight bytes of zeros after its
 * NUL, so a word read from anywhere up to the NUL lies within it. */
static inline char *string_end(char *p) {
  char *start = p;
  uint64_t high = 0;
  for (;; p += 8) {
    uint64_t w = cxp_swar_load(p), m = cxp_swar_special(w);
    if (m == 0) {
      high |= w;
      continue;
    }
    int at = cxp_swar_first(m);
    high |= w & ((1ULL << (8 * at)) - 1); /* at < 8: the bytes before it */
    p += at;
    break;
  }
  if (*p != '"') return NULL;
  if ((high & CXP_SWAR_HIGHS) && !cxp_utf8_valid(start, (size_t)(p - start))) return NULL;
  return p;
}
#else
static inline char *string_end(char *p) {
  unsigned char high = 0;
  char *start = p;
  for (;; p++) {
    unsigned char ch = (unsigned char)*p;
    if (ch == '"') break;
    if (ch == '\\' || ch < 0x20) return NULL;
    high |= ch;
  }
  if ((high & 0x80) && !cxp_utf8_valid(start, (size_t)(p - start))) return NULL;
  return p;
}
#endif

static char *plain_number(char *p, double *out) {
  int neg = *p == '-';
  if (neg) p++;
  uint64_t m = 0;
  int digits = 0, frac = 0;
  if (*p == '0') {
    p++;
    digits = 1;
  } else if (*p >= '1' && *p <= '9') {
    for (; *p >= '0' && *p <= '9'; p++) {
      if (++digits > 15) return NULL;
      m = m * 10 + (uint64_t)(*p - '0');
    }
  } else {
    return NULL;
  }
  if (*p == '.') {
    p++;
    if (!(*p >= '0' && *p <= '9')) return NULL;
    for (; *p >= '0' && *p <= '9'; p++, frac++) {
      if (++digits > 15) return NULL;
      m = m * 10 + (uint64_t)(*p - '0');
    }
  }
  if (*p == 'e' || *p == 'E') return NULL;
  double v = (double)m / pow10_tab[frac];
  *out = neg ? -v : v;
  return p;
}

/* The colon after a member's name (p past its closing quote): the first
 * byte of the value, or NULL. */
static char *after_name(char *p) {
  p = skip_ws(p);
  return *p == ':' ? skip_ws(p + 1) : NULL;
}

/* A member's name at p (its opening quote) and the colon after it: *k and
 * *kn get the name, the return is the first byte of the value; NULL when
 * the fast path does not read it. */
static char *member_key(char *p, char **k, size_t *kn) {
  if (*p != '"') return NULL;
  *k = ++p;
  if ((p = string_end(p)) == NULL) return NULL;
  *kn = (size_t)(p - *k);
  return after_name(p + 1);
}

/* After a member's value: 1 at a comma (*p moved to the next name), 0 at
 * the object's closing brace (*p past it), -1 at anything else. */
static int next_member(char **p) {
  char *q = skip_ws(*p);
  if (*q == ',') {
    *p = skip_ws(q + 1);
    return 1;
  }
  *p = q + 1;
  return *q == '}' ? 0 : -1;
}

/* The index of a SERVQUAL dimension's name, or -1. */
static int sq_index(const char *k, size_t n) {
  for (int d = 0; d < CXP_SQ__COUNT; d++)
    if (strlen(sq_names[d]) == n && memcmp(k, sq_names[d], n) == 0) return d;
  return -1;
}

/* A survey.servqual's "dimensions" (p at its '{'), the one nesting the fast
 * path reads: an object of known dimension names, each an object of plain
 * numbers holding "expected" and "perceived" (the first of each counts, as
 * it does for cJSON's lookup; other names are passed over). Anything else
 * (an empty object, an unknown name, a missing figure, a value that is not
 * a plain number, more than SQ_FAST_MAX dimensions) gives up: the full
 * parser reads the message and says what is wrong. Returns the byte after
 * the closing '}', or NULL. */
static char *scan_dims(char *p, sq_entry *e, size_t *n) {
  *n = 0;
  p = skip_ws(p + 1);
  if (*p == '}') return NULL;
  int more;
  do {
    char *k;
    size_t kn;
    if ((p = member_key(p, &k, &kn)) == NULL) return NULL;
    int dim = sq_index(k, kn);
    if (dim < 0 || *n == SQ_FAST_MAX || *p != '{') return NULL;
    p = skip_ws(p + 1);
    int have_e = 0, have_p = 0, inner;
    double ex = 0, pe = 0;
    do {
      double v;
      if ((p = member_key(p, &k, &kn)) == NULL || (p = plain_number(p, &v)) == NULL)
        return NULL;
      if (kn == 8 && memcmp(k, "expected", 8) == 0 && !have_e) {
        have_e = 1;
        ex = v;
      } else if (kn == 9 && memcmp(k, "perceived", 9) == 0 && !have_p) {
        have_p = 1;
        pe = v;
      }
    } while ((inner = next_member(&p)) == 1);
    if (inner < 0 || !have_e || !have_p) return NULL;
    e[(*n)++] = (sq_entry){dim, ex, pe};
  } while ((more = next_member(&p)) == 1);
  return more == 0 ? p : NULL;
}

_Static_assert(F__COUNT <= CXP_DECODE_FIELDS, "a hint entry per field");

/* When the name at p (its opening quote) is f's, the byte after its closing
 * quote; else NULL. Sixteen bytes from p must lie within the copy. */
static inline char *named(char *p, field f) {
  const qname *q = &names[f];
  uint64_t d = ((cxp_swar_load(p) ^ cxp_swar_load(q->q)) & q->m[0]) |
               ((cxp_swar_load(p + 8) ^ cxp_swar_load(q->q + 8)) & q->m[1]);
  if (q->m[0] == 0 || d != 0) return NULL;
  return p + q->qn;
}

/* The fast path over the copy s (len bytes, then eight of zeros). */
static int scan_flat(char *s, size_t len, members *ms, cxp_decode_hint *hint) {
  unsigned taken = 0;
  ms->present = 0;
  const char *end = s + len + 8;     /* the copy's last byte, and one */
  unsigned prev = CXP_DECODE_FIELDS; /* the hint's entry for the first name */
  char *p = skip_ws(s);
  if (*p++ != '{') return 0;
  p = skip_ws(p);
  if (*p == '}') {
    p++;
  } else {
    int more;
    do {
      field f;
      unsigned g = hint ? hint->next[prev] : 0;
      char *q = g && end - p >= 16 ? named(p, (field)(g - 1)) : NULL;
      if (q != NULL) {
        f = (field)(g - 1);
        if ((p = after_name(q)) == NULL) return 0;
      } else {
        char *k;
        size_t kn;
        if ((p = member_key(p, &k, &kn)) == NULL) return 0;
        f = field_of(k, kn);
        if (hint) hint->next[prev] = f == F__COUNT ? 0 : (uint8_t)(f + 1);
      }
      prev = f; /* F__COUNT after a name the decoder does not read */
      mval v;
      int null = 0;
      switch (*p) {
      case '"':
        v.kind = V_STR;
        v.s = ++p;
        if ((p = string_end(p)) == NULL) return 0;
        v.n = (size_t)(p - v.s);
        *p++ = '\0';
        break;
      case 't':
        if (strncmp(p, "true", 4) != 0) return 0;
        v.kind = V_TRUE;
        p += 4;
        break;
      case 'f':
        if (strncmp(p, "false", 5) != 0) return 0;
        v.kind = V_FALSE;
        p += 5;
        break;
      case 'n':
        if (strncmp(p, "null", 4) != 0) return 0;
        null = 1;
        p += 4;
        break;
      case '{':
        /* Only a survey's dimensions, and only the first of that name (a
         * later one is the full parser's to pass over). */
        if (f != F_DIMENSIONS || (taken & 1u << f)) return 0;
        v.kind = V_DIMS;
        v.sq = ms->sq;
        if ((p = scan_dims(p, ms->sq, &v.n)) == NULL) return 0;
        break;
      default:
        v.kind = V_NUM;
        if ((p = plain_number(p, &v.d)) == NULL) return 0;
        break;
      }
      if (f != F__COUNT && !(taken & 1u << f)) {
        taken |= 1u << f;
        if (!null) {
          v.j = NULL;
          ms->m[f] = v;
          ms->present |= 1u << f;
        }
      }
    } while ((more = next_member(&p)) == 1);
    if (more < 0) return 0;
  }
  p = skip_ws(p);
  return p == s + len;
}

/* The field checks below take the member (NULL when absent) and its name,
 * which appears in the detail only when the check fails. */

/* A string field: required or not, at most `max` bytes. */
static cxp_reason str_field(const mval *v, const char *k, int required, size_t max,
                            cxp_str *out, char *detail, size_t dlen) {
  out->p = NULL;
  out->n = 0;
  if (v == NULL) {
    if (required) FAIL(CXP_BAD_MISSING_FIELD, "required field '%s' is missing", k);
    return CXP_OK;
  }
  if (v->kind != V_STR) FAIL(CXP_BAD_TYPE, "field '%s' must be a string", k);
  size_t n = v->n;
  if (n == 0) FAIL(CXP_BAD_OUT_OF_RANGE, "field '%s' is empty", k);
  if (n > max) FAIL(CXP_BAD_OUT_OF_RANGE, "field '%s' is %zu bytes, over %zu", k, n, max);
  out->p = v->s;
  out->n = n;
  return CXP_OK;
}

static cxp_reason enum_field(const mval *v, const char *k, int required,
                             const char *const *allowed, cxp_str *out, char *detail,
                             size_t dlen) {
  cxp_reason r = str_field(v, k, required, 64, out, detail, dlen);
  if (r || out->p == NULL) return r;
  for (int i = 0; allowed[i]; i++)
    if (strcmp(out->p, allowed[i]) == 0) return CXP_OK;
  FAIL(CXP_BAD_OUT_OF_RANGE, "field '%s' has value '%.64s', not one of the allowed values",
       k, out->p);
}

/* A number field within [lo, hi]; integral when `integer`. */
static cxp_reason num_field(const mval *v, const char *k, int required, double lo,
                            double hi, int integer, double def, double *out,
                            char *detail, size_t dlen) {
  if (v == NULL) {
    if (required) FAIL(CXP_BAD_MISSING_FIELD, "required field '%s' is missing", k);
    *out = def;
    return CXP_OK;
  }
  if (v->kind != V_NUM) FAIL(CXP_BAD_TYPE, "field '%s' must be a number", k);
  double d = v->d;
  if (integer && d != floor(d)) FAIL(CXP_BAD_TYPE, "field '%s' must be an integer", k);
  if (!(d >= lo && d <= hi))
    FAIL(CXP_BAD_OUT_OF_RANGE, "field '%s' is %g, outside %g..%g", k, d, lo, hi);
  *out = d;
  return CXP_OK;
}

static cxp_reason bool_field(const mval *v, const char *k, int required, int def,
                             int *out, char *detail, size_t dlen) {
  if (v == NULL) {
    if (required) FAIL(CXP_BAD_MISSING_FIELD, "required field '%s' is missing", k);
    *out = def;
    return CXP_OK;
  }
  if (v->kind != V_TRUE && v->kind != V_FALSE)
    FAIL(CXP_BAD_TYPE, "field '%s' must be true or false", k);
  *out = v->kind == V_TRUE;
  return CXP_OK;
}

static cxp_reason ts_field(const mval *v, const cxp_decode_opts *opt, int64_t *out,
                           char *detail, size_t dlen) {
  int64_t ms;
  if (v == NULL) FAIL(CXP_BAD_MISSING_FIELD, "required field 'ts' is missing");
  if (v->kind == V_STR) {
    if (cxp_time_parse_rfc3339_memo(v->s, v->n, opt->hint ? &opt->hint->date : NULL, &ms))
      FAIL(CXP_BAD_TIMESTAMP, "field 'ts' is not an RFC 3339 date-time: '%.40s'", v->s);
  } else if (v->kind == V_NUM) {
    double d = v->d;
    if (d != floor(d) || !(fabs(d) < 9e15))
      FAIL(CXP_BAD_TIMESTAMP, "field 'ts' is not an integer of epoch milliseconds");
    ms = (int64_t)d;
  } else {
    FAIL(CXP_BAD_TIMESTAMP, "field 'ts' must be an RFC 3339 string or epoch milliseconds");
  }
  if (ms < CXP_TS_MIN_MS || ms >= CXP_TS_MAX_MS)
    FAIL(CXP_BAD_TIMESTAMP, "field 'ts' lies outside 2000..2099");
  if (opt->now_ms > 0 && ms > opt->now_ms + opt->max_future_ms)
    FAIL(CXP_BAD_TIMESTAMP, "field 'ts' lies %lld s in the future",
         (long long)((ms - opt->now_ms) / 1000));
  *out = ms;
  return CXP_OK;
}

/* One dimension's figures, checked as any field is; a failure names the
 * dimension too ("field 'expected'" alone is ambiguous). */
static cxp_reason sq_dimension(int k, const mval *ex, const mval *pe, cxp_event *ev,
                               char *detail, size_t dlen) {
  cxp_reason r;
  if ((r = num_field(ex, "expected", 1, 1, 7, 0, 0, &ev->sq_expected[k], detail, dlen)) ||
      (r = num_field(pe, "perceived", 1, 1, 7, 0, 0, &ev->sq_perceived[k], detail, dlen))) {
    char name[64], inner[192];
    snprintf(name, sizeof name, "dimensions.%s", sq_names[k]);
    snprintf(inner, sizeof inner, "%s", detail);
    snprintf(detail, dlen, "%s (in %s)", inner, name);
    return r;
  }
  ev->sq_mask |= 1u << k;
  return CXP_OK;
}

static cxp_reason decode_servqual(const mval *v, cxp_event *ev, char *detail,
                                  size_t dlen) {
  if (v == NULL) FAIL(CXP_BAD_MISSING_FIELD, "required field 'dimensions' is missing");
  cxp_reason r;
  if (v->kind == V_DIMS) { /* read by the fast path: well-formed, non-empty */
    for (size_t i = 0; i < v->n; i++) {
      const sq_entry *e = &v->sq[i];
      mval ex = {.kind = V_NUM, .d = e->expected}, pe = {.kind = V_NUM, .d = e->perceived};
      if ((r = sq_dimension(e->dim, &ex, &pe, ev, detail, dlen))) return r;
    }
    return CXP_OK;
  }
  const cJSON *dims = v->j;
  if (!cJSON_IsObject(dims)) FAIL(CXP_BAD_TYPE, "field 'dimensions' must be an object");
  const cJSON *d;
  cJSON_ArrayForEach(d, dims) {
    int k;
    for (k = 0; k < CXP_SQ__COUNT; k++)
      if (strcmp(d->string, sq_names[k]) == 0) break;
    if (k == CXP_SQ__COUNT)
      FAIL(CXP_BAD_OUT_OF_RANGE, "field 'dimensions' has unknown dimension '%.40s'",
           d->string);
    if (!cJSON_IsObject(d))
      FAIL(CXP_BAD_TYPE, "field 'dimensions.%s' must be an object", sq_names[k]);
    mval te, tp;
    if ((r = sq_dimension(k, get(d, "expected", &te), get(d, "perceived", &tp), ev, detail,
                          dlen)))
      return r;
  }
  if (ev->sq_mask == 0) FAIL(CXP_BAD_MISSING_FIELD, "field 'dimensions' is empty");
  return CXP_OK;
}

/* The type named by s (n bytes, from strlen), or CXP_EV__COUNT. Guessed from
 * the length and one distinguishing byte, then confirmed byte by byte: the
 * old linear strcmp over every name was a tenth of the decoder's time. */
static cxp_event_type lookup_type(const char *s, size_t n) {
  cxp_event_type t;
  switch (n) {
  case 5: t = CXP_EV_USAGE; break;
  case 7: t = s[0] == 'c' ? CXP_EV_CONTACT : CXP_EV_PROFILE; break;
  case 8:
    t = s[0] == 'p' ? CXP_EV_PURCHASE : s[0] == 'r' ? CXP_EV_REFERRAL : CXP_EV_FEEDBACK;
    break;
  case 9: t = CXP_EV_COMPLAINT; break;
  case 10: t = s[7] == 'n' ? CXP_EV_NPS : CXP_EV_CES; break;
  case 11: t = CXP_EV_CSAT; break;
  case 15: t = s[4] == 'e' ? CXP_EV_SERVQUAL : CXP_EV_FAILURE; break;
  case 17: t = CXP_EV_REC_RESOLVED; break;
  case 19: t = CXP_EV_REC_APOLOGIZED; break;
  case 20: t = s[9] == 'c' ? CXP_EV_REC_COMPENSATED : CXP_EV_REC_FOLLOWED_UP; break;
  case 21: t = CXP_EV_REC_ACKNOWLEDGED; break;
  case 22: t = CXP_EV_CANCELLED; break;
  case 23: t = CXP_EV_DOWNGRADED; break;
  default: return CXP_EV__COUNT;
  }
  return cxp_same_bytes(s, type_names[t], n) ? t : CXP_EV__COUNT;
}

/* Shorthand for the checks below: the member and its name (ms: the members). */
#define M(f) member(ms, f), names[f].name

/* The full parser: any JSON at all, and the reports of what is wrong. */
static cxp_reason parse_full(const char *buf, size_t len, members *ms, char *detail,
                             size_t dlen) {
  const char *end = NULL;
  cJSON *o = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
  if (o == NULL) FAIL(CXP_BAD_INVALID_JSON, "not valid JSON (at byte %zu)",
                      end ? (size_t)(end - buf) : (size_t)0);
  /* Trailing bytes other than white space make the message invalid. */
  if (end != NULL) {
    while ((size_t)(end - buf) < len && (*end == ' ' || *end == '\n' || *end == '\r' ||
                                         *end == '\t'))
      end++;
    if ((size_t)(end - buf) < len)
      FAIL(CXP_BAD_INVALID_JSON, "trailing data after the JSON value (at byte %zu)",
           (size_t)(end - buf));
  }
  if (!cJSON_IsObject(o)) FAIL(CXP_BAD_INVALID_JSON, "event is not a JSON object");
  index_members(o, ms);
  return CXP_OK;
}

/* Files the message's members in ms: the fast path reads a flat event from a
 * copy, anything else goes to the full parser once the checks it does not
 * make (NUL bytes, UTF-8) have passed. */
static cxp_reason read_members(const char *buf, size_t len, const cxp_decode_opts *opt,
                               members *ms, char *detail, size_t dlen) {
  /* The copy the fast path cuts its strings in lives as long as a cJSON
   * tree would (the caller's arena). */
  char *copy = opt->parser == CXP_PARSE_FULL ? NULL : cJSON_malloc(len + 8);
  if (copy != NULL) {
    memcpy(copy, buf, len);
    memset(copy + len, 0, 8); /* the NUL, and room for string_end's last word */
    if (scan_flat(copy, len, ms, opt->hint)) return CXP_OK;
  }
  if (opt->parser == CXP_PARSE_FLAT)
    FAIL(CXP_BAD_INVALID_JSON, "not a flat event (the fast path reads no other)");
  if (memchr(buf, '\0', len) != NULL) FAIL(CXP_BAD_INVALID_JSON, "message contains a NUL byte");
  /* JSON text is UTF-8 (RFC 8259 section 8.1); cJSON does not check.
   * Without this, "c\xff" and "c\xfe" would be one customer once written
   * out. */
  if (!cxp_utf8_valid(buf, len)) FAIL(CXP_BAD_INVALID_JSON, "message is not valid UTF-8");
  return parse_full(buf, len, ms, detail, dlen);
}

/* The members every event may have: ids, type, time, where it happened,
 * and its case (required of complaints, failures and recovery steps). */
static cxp_reason decode_common(const members *ms, const cxp_decode_opts *opt, cxp_event *ev,
                                char *detail, size_t dlen) {
  cxp_reason r;
  if ((r = str_field(M(F_EVENT_ID), 1, ID_MAX, &ev->event_id, detail, dlen)) ||
      (r = str_field(M(F_CUSTOMER_ID), 1, ID_MAX, &ev->customer_id, detail, dlen)))
    return r;
  cxp_str type;
  if ((r = str_field(M(F_TYPE), 1, 64, &type, detail, dlen))) return r;
  ev->type = lookup_type(type.p, type.n);
  if (ev->type == CXP_EV__COUNT)
    FAIL(CXP_BAD_UNKNOWN_TYPE, "field 'type' has unknown value '%.64s'", type.p);
  if ((r = ts_field(member(ms, F_TS), opt, &ev->ts_ms, detail, dlen)) ||
      (r = str_field(M(F_CHANNEL), 0, ID_MAX, &ev->channel, detail, dlen)) ||
      (r = str_field(M(F_SEGMENT), 0, 64, &ev->segment, detail, dlen)) ||
      (r = str_field(M(F_AGENT_ID), 0, ID_MAX, &ev->agent_id, detail, dlen)) ||
      (r = str_field(M(F_TOUCHPOINT), 0, ID_MAX, &ev->touchpoint, detail, dlen)))
    return r;
  int needs_case = ev->type == CXP_EV_COMPLAINT || ev->type == CXP_EV_FAILURE ||
                   (ev->type >= CXP_EV_REC_ACKNOWLEDGED && ev->type <= CXP_EV_REC_FOLLOWED_UP);
  return str_field(M(F_CASE_ID), needs_case, ID_MAX, &ev->case_id, detail, dlen);
}

/* A failure's severity, or its likelihood and impact, of which the
 * pipeline's matrix makes the severity (core.c). Both or neither of the
 * pair; and not with a severity, since the two could disagree and neither
 * can be taken over the other without hiding the producer's mistake. */
static cxp_reason decode_severity(const members *ms, cxp_event *ev, char *detail,
                                  size_t dlen) {
  const mval *lik = member(ms, F_LIKELIHOOD), *imp = member(ms, F_IMPACT);
  cxp_reason r;
  double d;
  if (lik == NULL && imp == NULL) {
    if (member(ms, F_SEVERITY) == NULL)
      FAIL(CXP_BAD_MISSING_FIELD,
           "required field 'severity' is missing (or 'likelihood' and 'impact')");
    if ((r = num_field(M(F_SEVERITY), 1, 1, 4, 1, 0, &d, detail, dlen))) return r;
    ev->severity = (int)d;
    return CXP_OK;
  }
  if (member(ms, F_SEVERITY) != NULL)
    FAIL(CXP_BAD_CONFLICTING,
         "field 'severity' is given with '%s': give a severity, or likelihood and impact",
         lik ? "likelihood" : "impact");
  if (lik == NULL) FAIL(CXP_BAD_MISSING_FIELD, "field 'likelihood' is missing: 'impact' needs it");
  if (imp == NULL) FAIL(CXP_BAD_MISSING_FIELD, "field 'impact' is missing: 'likelihood' needs it");
  if ((r = num_field(M(F_LIKELIHOOD), 1, 1, 4, 1, 0, &d, detail, dlen))) return r;
  ev->likelihood = (int)d;
  if ((r = num_field(M(F_IMPACT), 1, 1, 4, 1, 0, &d, detail, dlen))) return r;
  ev->impact = (int)d;
  return CXP_OK;
}

/* A complaint's or a service failure's members: category and severity (or
 * likelihood and impact), then the complaint's Kano class and attribute or
 * who detected the failure. */
static cxp_reason decode_failure(const members *ms, cxp_event *ev, char *detail, size_t dlen) {
  cxp_reason r;
  if ((r = enum_field(M(F_CATEGORY), 1, categories, &ev->category, detail, dlen)) ||
      (r = decode_severity(ms, ev, detail, dlen)))
    return r;
  if (ev->type == CXP_EV_COMPLAINT) {
    if ((r = enum_field(M(F_KANO), 0, kanos, &ev->kano, detail, dlen)) ||
        (r = str_field(M(F_ATTRIBUTE), 0, ID_MAX, &ev->attribute, detail, dlen)))
      return r;
    return CXP_OK;
  }
  return enum_field(M(F_DETECTED_BY), 1, detectors, &ev->detected_by, detail, dlen);
}

/* The members of the event's type. */
static cxp_reason decode_typed(const members *ms, cxp_event *ev, char *detail, size_t dlen) {
  cxp_reason r = CXP_OK;
  double d;
  switch (ev->type) {
  case CXP_EV_CSAT:
    if ((r = num_field(M(F_SCORE), 1, 1, 5, 1, 0, &d, detail, dlen))) return r;
    ev->score = (int)d;
    break;
  case CXP_EV_NPS:
    if ((r = num_field(M(F_SCORE), 1, 0, 10, 1, 0, &d, detail, dlen))) return r;
    ev->score = (int)d;
    break;
  case CXP_EV_CES:
    if ((r = num_field(M(F_SCORE), 1, 1, 7, 1, 0, &d, detail, dlen))) return r;
    ev->score = (int)d;
    break;
  case CXP_EV_SERVQUAL: return decode_servqual(member(ms, F_DIMENSIONS), ev, detail, dlen);
  case CXP_EV_CONTACT:
    if ((r = num_field(M(F_WAIT_S), 1, 0, 1e9, 0, 0, &ev->wait_s, detail, dlen)) ||
        (r = num_field(M(F_HANDLE_S), 1, 0, 1e9, 0, 0, &ev->handle_s, detail, dlen)) ||
        (r = bool_field(M(F_RESOLVED), 1, 0, &ev->resolved, detail, dlen)))
      return r;
    ev->has_sentiment = member(ms, F_SENTIMENT) != NULL;
    return num_field(M(F_SENTIMENT), 0, -1, 1, 0, 0, &ev->sentiment, detail, dlen);
  case CXP_EV_COMPLAINT:
  case CXP_EV_FAILURE: return decode_failure(ms, ev, detail, dlen);
  case CXP_EV_REC_COMPENSATED:
  case CXP_EV_PURCHASE:
    return num_field(M(F_AMOUNT), 1, 0, 1e12, 0, 0, &ev->amount, detail, dlen);
  case CXP_EV_REC_RESOLVED:
    return bool_field(M(F_ROOT_CAUSE_FIXED), 0, 0, &ev->root_cause_fixed, detail, dlen);
  case CXP_EV_USAGE: return num_field(M(F_COUNT), 0, 0, 1e9, 0, 1, &ev->count, detail, dlen);
  case CXP_EV_REFERRAL:
    return str_field(M(F_REFERRED_ID), 0, ID_MAX, &ev->referred_id, detail, dlen);
  case CXP_EV_FEEDBACK: return str_field(M(F_KIND), 1, 64, &ev->kind, detail, dlen);
  case CXP_EV_PROFILE:
    if (ev->segment.p == NULL)
      FAIL(CXP_BAD_MISSING_FIELD, "required field 'segment' is missing");
    ev->has_clv = member(ms, F_CLV) != NULL;
    if ((r = num_field(M(F_CLV), 0, 0, 1e12, 0, 0, &ev->clv, detail, dlen))) return r;
    if (member(ms, F_CONSENT) != NULL)
      return bool_field(M(F_CONSENT), 1, 1, &ev->consent, detail, dlen);
    break;
  default:
    break;
  }
  return r;
}

cxp_reason cxp_event_decode(const char *buf, size_t len, const cxp_decode_opts *opt,
                            cxp_event *ev, char *detail, size_t dlen) {
  cxp_reason r;
  members ms;

  memset(ev, 0, sizeof *ev);
  ev->consent = -1;
  detail[0] = '\0';
  if (len > opt->max_bytes)
    FAIL(CXP_BAD_TOO_LARGE, "event is %zu bytes, over the limit of %zu", len,
         opt->max_bytes);
  if (len == 0) FAIL(CXP_BAD_INVALID_JSON, "empty message");
  if ((r = read_members(buf, len, opt, &ms, detail, dlen))) return r;
  /* The checks run in a fixed order, whatever the order of the members, so
   * that an event with several faults always reports the same one. */
  if ((r = decode_common(&ms, opt, ev, detail, dlen))) return r;
  return decode_typed(&ms, ev, detail, dlen);
}
