#include "event.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

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
    "unknown_type", "too_large",    "bad_timestamp", "late"};

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

static const cJSON *get(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsNull(v) ? NULL : v;
}

/* A string field: required or not, at most `max` bytes. */
static cxp_reason str_field(const cJSON *o, const char *k, int required, size_t max,
                            cxp_str *out, char *detail, size_t dlen) {
  const cJSON *v = get(o, k);
  out->p = NULL;
  out->n = 0;
  if (v == NULL) {
    if (required) FAIL(CXP_BAD_MISSING_FIELD, "required field '%s' is missing", k);
    return CXP_OK;
  }
  if (!cJSON_IsString(v)) FAIL(CXP_BAD_TYPE, "field '%s' must be a string", k);
  size_t n = strlen(v->valuestring);
  if (n == 0) FAIL(CXP_BAD_OUT_OF_RANGE, "field '%s' is empty", k);
  if (n > max) FAIL(CXP_BAD_OUT_OF_RANGE, "field '%s' is %zu bytes, over %zu", k, n, max);
  out->p = v->valuestring;
  out->n = n;
  return CXP_OK;
}

static cxp_reason enum_field(const cJSON *o, const char *k, int required,
                             const char *const *allowed, cxp_str *out, char *detail,
                             size_t dlen) {
  cxp_reason r = str_field(o, k, required, 64, out, detail, dlen);
  if (r || out->p == NULL) return r;
  for (int i = 0; allowed[i]; i++)
    if (strcmp(out->p, allowed[i]) == 0) return CXP_OK;
  FAIL(CXP_BAD_OUT_OF_RANGE, "field '%s' has value '%.64s', not one of the allowed values",
       k, out->p);
}

/* A number field within [lo, hi]; integral when `integer`. */
static cxp_reason num_field(const cJSON *o, const char *k, int required, double lo,
                            double hi, int integer, double def, double *out,
                            char *detail, size_t dlen) {
  const cJSON *v = get(o, k);
  if (v == NULL) {
    if (required) FAIL(CXP_BAD_MISSING_FIELD, "required field '%s' is missing", k);
    *out = def;
    return CXP_OK;
  }
  if (!cJSON_IsNumber(v)) FAIL(CXP_BAD_TYPE, "field '%s' must be a number", k);
  double d = v->valuedouble;
  if (integer && d != floor(d)) FAIL(CXP_BAD_TYPE, "field '%s' must be an integer", k);
  if (!(d >= lo && d <= hi))
    FAIL(CXP_BAD_OUT_OF_RANGE, "field '%s' is %g, outside %g..%g", k, d, lo, hi);
  *out = d;
  return CXP_OK;
}

static cxp_reason bool_field(const cJSON *o, const char *k, int required, int def,
                             int *out, char *detail, size_t dlen) {
  const cJSON *v = get(o, k);
  if (v == NULL) {
    if (required) FAIL(CXP_BAD_MISSING_FIELD, "required field '%s' is missing", k);
    *out = def;
    return CXP_OK;
  }
  if (!cJSON_IsBool(v)) FAIL(CXP_BAD_TYPE, "field '%s' must be true or false", k);
  *out = cJSON_IsTrue(v);
  return CXP_OK;
}

static cxp_reason ts_field(const cJSON *o, const cxp_decode_opts *opt, int64_t *out,
                           char *detail, size_t dlen) {
  const cJSON *v = get(o, "ts");
  int64_t ms;
  if (v == NULL) FAIL(CXP_BAD_MISSING_FIELD, "required field 'ts' is missing");
  if (cJSON_IsString(v)) {
    if (cxp_time_parse_rfc3339(v->valuestring, strlen(v->valuestring), &ms))
      FAIL(CXP_BAD_TIMESTAMP, "field 'ts' is not an RFC 3339 date-time: '%.40s'",
           v->valuestring);
  } else if (cJSON_IsNumber(v)) {
    double d = v->valuedouble;
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

static cxp_reason decode_servqual(const cJSON *o, cxp_event *ev, char *detail,
                                  size_t dlen) {
  const cJSON *dims = get(o, "dimensions");
  if (dims == NULL) FAIL(CXP_BAD_MISSING_FIELD, "required field 'dimensions' is missing");
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
    cxp_reason r;
    char name[64];
    snprintf(name, sizeof name, "dimensions.%s", sq_names[k]);
    if ((r = num_field(d, "expected", 1, 1, 7, 0, 0, &ev->sq_expected[k], detail, dlen)) ||
        (r = num_field(d, "perceived", 1, 1, 7, 0, 0, &ev->sq_perceived[k], detail, dlen))) {
      /* Name the dimension too: "field 'expected'" alone is ambiguous. */
      char inner[192];
      snprintf(inner, sizeof inner, "%s", detail);
      snprintf(detail, dlen, "%s (in %s)", inner, name);
      return r;
    }
    ev->sq_mask |= 1u << k;
  }
  if (ev->sq_mask == 0) FAIL(CXP_BAD_MISSING_FIELD, "field 'dimensions' is empty");
  return CXP_OK;
}

static cxp_event_type lookup_type(const char *s) {
  for (int i = 0; i < CXP_EV__COUNT; i++)
    if (strcmp(s, type_names[i]) == 0) return (cxp_event_type)i;
  return CXP_EV__COUNT;
}

cxp_reason cxp_event_decode(const char *buf, size_t len, const cxp_decode_opts *opt,
                            cxp_event *ev, char *detail, size_t dlen) {
  cxp_reason r;
  double d;

  memset(ev, 0, sizeof *ev);
  ev->consent = -1;
  detail[0] = '\0';
  if (len > opt->max_bytes)
    FAIL(CXP_BAD_TOO_LARGE, "event is %zu bytes, over the limit of %zu", len,
         opt->max_bytes);
  if (len == 0) FAIL(CXP_BAD_INVALID_JSON, "empty message");
  if (memchr(buf, '\0', len) != NULL)
    FAIL(CXP_BAD_INVALID_JSON, "message contains a NUL byte");
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

  if ((r = str_field(o, "event_id", 1, ID_MAX, &ev->event_id, detail, dlen)) ||
      (r = str_field(o, "customer_id", 1, ID_MAX, &ev->customer_id, detail, dlen)))
    return r;
  cxp_str type;
  if ((r = str_field(o, "type", 1, 64, &type, detail, dlen))) return r;
  ev->type = lookup_type(type.p);
  if (ev->type == CXP_EV__COUNT)
    FAIL(CXP_BAD_UNKNOWN_TYPE, "field 'type' has unknown value '%.64s'", type.p);
  if ((r = ts_field(o, opt, &ev->ts_ms, detail, dlen)) ||
      (r = str_field(o, "channel", 0, ID_MAX, &ev->channel, detail, dlen)) ||
      (r = str_field(o, "segment", 0, 64, &ev->segment, detail, dlen)) ||
      (r = str_field(o, "agent_id", 0, ID_MAX, &ev->agent_id, detail, dlen)) ||
      (r = str_field(o, "touchpoint", 0, ID_MAX, &ev->touchpoint, detail, dlen)))
    return r;
  int needs_case = ev->type == CXP_EV_COMPLAINT || ev->type == CXP_EV_FAILURE ||
                   (ev->type >= CXP_EV_REC_ACKNOWLEDGED && ev->type <= CXP_EV_REC_FOLLOWED_UP);
  if ((r = str_field(o, "case_id", needs_case, ID_MAX, &ev->case_id, detail, dlen)))
    return r;

  switch (ev->type) {
  case CXP_EV_CSAT:
    if ((r = num_field(o, "score", 1, 1, 5, 1, 0, &d, detail, dlen))) return r;
    ev->score = (int)d;
    break;
  case CXP_EV_NPS:
    if ((r = num_field(o, "score", 1, 0, 10, 1, 0, &d, detail, dlen))) return r;
    ev->score = (int)d;
    break;
  case CXP_EV_CES:
    if ((r = num_field(o, "score", 1, 1, 7, 1, 0, &d, detail, dlen))) return r;
    ev->score = (int)d;
    break;
  case CXP_EV_SERVQUAL:
    if ((r = decode_servqual(o, ev, detail, dlen))) return r;
    break;
  case CXP_EV_CONTACT:
    if ((r = num_field(o, "wait_s", 1, 0, 1e9, 0, 0, &ev->wait_s, detail, dlen)) ||
        (r = num_field(o, "handle_s", 1, 0, 1e9, 0, 0, &ev->handle_s, detail, dlen)) ||
        (r = bool_field(o, "resolved", 1, 0, &ev->resolved, detail, dlen)))
      return r;
    ev->has_sentiment = get(o, "sentiment") != NULL;
    if ((r = num_field(o, "sentiment", 0, -1, 1, 0, 0, &ev->sentiment, detail, dlen)))
      return r;
    break;
  case CXP_EV_COMPLAINT:
  case CXP_EV_FAILURE:
    if ((r = enum_field(o, "category", 1, categories, &ev->category, detail, dlen)) ||
        (r = num_field(o, "severity", 1, 1, 4, 1, 0, &d, detail, dlen)))
      return r;
    ev->severity = (int)d;
    if (ev->type == CXP_EV_COMPLAINT) {
      if ((r = enum_field(o, "kano", 0, kanos, &ev->kano, detail, dlen)) ||
          (r = str_field(o, "attribute", 0, ID_MAX, &ev->attribute, detail, dlen)))
        return r;
    } else if ((r = enum_field(o, "detected_by", 1, detectors, &ev->detected_by, detail,
                               dlen))) {
      return r;
    }
    break;
  case CXP_EV_REC_COMPENSATED:
    if ((r = num_field(o, "amount", 1, 0, 1e12, 0, 0, &ev->amount, detail, dlen))) return r;
    break;
  case CXP_EV_REC_RESOLVED:
    if ((r = bool_field(o, "root_cause_fixed", 0, 0, &ev->root_cause_fixed, detail, dlen)))
      return r;
    break;
  case CXP_EV_PURCHASE:
    if ((r = num_field(o, "amount", 1, 0, 1e12, 0, 0, &ev->amount, detail, dlen))) return r;
    break;
  case CXP_EV_USAGE:
    if ((r = num_field(o, "count", 0, 0, 1e9, 0, 1, &ev->count, detail, dlen))) return r;
    break;
  case CXP_EV_REFERRAL:
    if ((r = str_field(o, "referred_id", 0, ID_MAX, &ev->referred_id, detail, dlen)))
      return r;
    break;
  case CXP_EV_FEEDBACK:
    if ((r = str_field(o, "kind", 1, 64, &ev->kind, detail, dlen))) return r;
    break;
  case CXP_EV_PROFILE:
    if (ev->segment.p == NULL)
      FAIL(CXP_BAD_MISSING_FIELD, "required field 'segment' is missing");
    ev->has_clv = get(o, "clv") != NULL;
    if ((r = num_field(o, "clv", 0, 0, 1e12, 0, 0, &ev->clv, detail, dlen))) return r;
    if (get(o, "consent") != NULL &&
        (r = bool_field(o, "consent", 1, 1, &ev->consent, detail, dlen)))
      return r;
    break;
  default:
    break;
  }
  return CXP_OK;
}
