/* Unit tests of decoding an input event (daemon/core/event.c): a table of
 * good and bad events, and the fast path against the full parser.
 *
 * Every expected value was worked out by hand (the arithmetic is in the
 * comment beside it), never taken from the code's own output. */
#include "helpers.h"

#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "event.h"

/* --------------------------------------------------------------------------
 * event decoding: a table */

#define HDR(type)                                                              \
  "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"" type              \
  "\",\"ts\":\"2026-11-23T07:00:00Z\""
#define X16 "xxxxxxxxxxxxxxxx"
#define X128 X16 X16 X16 X16 X16 X16 X16 X16
#define CSAT_OK HDR("survey.csat") ",\"score\":5}"
#define SQ(dims) HDR("survey.servqual") ",\"dimensions\":" dims "}"

static int str_is(cxp_str s, const char *want) {
  return want == NULL ? s.p == NULL
                      : s.p != NULL && s.n == strlen(want) && memcmp(s.p, want, s.n) == 0;
}

static void chk_servqual(const cxp_event *ev) {
  /* tangibles is bit 0, empathy bit 4: mask 0x11. */
  CHECK_INT(ev->sq_mask, 0x11);
  CHECK_NEAR(ev->sq_expected[CXP_SQ_TANGIBLES], 5, 0);
  CHECK_NEAR(ev->sq_perceived[CXP_SQ_TANGIBLES], 3, 0);
  CHECK_NEAR(ev->sq_expected[CXP_SQ_EMPATHY], 4, 0);
  CHECK_NEAR(ev->sq_perceived[CXP_SQ_EMPATHY], 6.5, 0);
}
static void chk_servqual_all(const cxp_event *ev) { CHECK_INT(ev->sq_mask, 0x1f); }
static void chk_contact(const cxp_event *ev) {
  CHECK_NEAR(ev->wait_s, 30, 0);
  CHECK_NEAR(ev->handle_s, 240.5, 0);
  CHECK_INT(ev->resolved, 1);
  CHECK_INT(ev->has_sentiment, 1);
  CHECK_NEAR(ev->sentiment, -0.5, 0);
}
static void chk_contact_nosent(const cxp_event *ev) {
  CHECK_INT(ev->resolved, 0);
  CHECK_INT(ev->has_sentiment, 0);
}
static void chk_complaint(const cxp_event *ev) {
  CHECK(str_is(ev->case_id, "k1"));
  CHECK(str_is(ev->category, "operational"));
  CHECK_INT(ev->severity, 2);
  CHECK(str_is(ev->kano, "must_be"));
  CHECK(str_is(ev->attribute, "delivery"));
}
static void chk_failure(const cxp_event *ev) {
  CHECK(str_is(ev->case_id, "k2"));
  CHECK(str_is(ev->category, "promise"));
  CHECK_INT(ev->severity, 1);
  CHECK(str_is(ev->detected_by, "provider"));
  CHECK(str_is(ev->kano, NULL));
}
/* Likelihood and impact instead of a severity: kept as given, the severity
 * left at 0 for the pipeline's matrix (core.c). */
static void chk_rated_3_1(const cxp_event *ev) {
  CHECK_INT(ev->severity, 0);
  CHECK_INT(ev->likelihood, 3);
  CHECK_INT(ev->impact, 1);
  CHECK(str_is(ev->detected_by, "customer"));
}
static void chk_rated_4_2(const cxp_event *ev) {
  CHECK_INT(ev->severity, 0);
  CHECK_INT(ev->likelihood, 4);
  CHECK_INT(ev->impact, 2);
}
static void chk_sev3_unrated(const cxp_event *ev) {
  CHECK_INT(ev->severity, 3);
  CHECK_INT(ev->likelihood, 0);
  CHECK_INT(ev->impact, 0);
}
static void chk_case_k3(const cxp_event *ev) { CHECK(str_is(ev->case_id, "k3")); }
static void chk_compensated(const cxp_event *ev) {
  CHECK(str_is(ev->case_id, "k3"));
  CHECK_NEAR(ev->amount, 25.5, 0);
}
static void chk_resolved(const cxp_event *ev) { CHECK_INT(ev->root_cause_fixed, 1); }
static void chk_resolved_default(const cxp_event *ev) { CHECK_INT(ev->root_cause_fixed, 0); }
static void chk_amount0(const cxp_event *ev) { CHECK_NEAR(ev->amount, 0, 0); }
static void chk_amount(const cxp_event *ev) { CHECK_NEAR(ev->amount, 99.9, 1e-12); }
static void chk_count1(const cxp_event *ev) { CHECK_NEAR(ev->count, 1, 0); }
static void chk_count3(const cxp_event *ev) { CHECK_NEAR(ev->count, 3, 0); }
static void chk_referral(const cxp_event *ev) { CHECK(str_is(ev->referred_id, "c2")); }
static void chk_referral_none(const cxp_event *ev) { CHECK(str_is(ev->referred_id, NULL)); }
static void chk_feedback(const cxp_event *ev) { CHECK(str_is(ev->kind, "review")); }
static void chk_profile_noconsent(const cxp_event *ev) {
  CHECK(str_is(ev->segment, "gold"));
  CHECK_INT(ev->consent, 0);
  CHECK_INT(ev->has_clv, 1);
  CHECK_NEAR(ev->clv, 1200, 0);
}
static void chk_profile_consent(const cxp_event *ev) {
  CHECK_INT(ev->consent, 1);
  CHECK_INT(ev->has_clv, 0);
}
static void chk_profile_unsaid(const cxp_event *ev) { CHECK_INT(ev->consent, -1); }
static void chk_common(const cxp_event *ev) {
  CHECK(str_is(ev->event_id, "e1"));
  CHECK(str_is(ev->customer_id, "c1"));
  CHECK(str_is(ev->channel, "app"));
  CHECK(str_is(ev->segment, "silver"));
  CHECK(str_is(ev->agent_id, "a7"));
  CHECK(str_is(ev->touchpoint, "checkout"));
}
static void chk_nulls(const cxp_event *ev) {
  CHECK(str_is(ev->channel, NULL));
  CHECK(str_is(ev->segment, NULL));
  CHECK(str_is(ev->agent_id, NULL));
  CHECK(str_is(ev->touchpoint, NULL));
  CHECK(str_is(ev->case_id, NULL));
}
static void chk_id128(const cxp_event *ev) { CHECK_INT(ev->event_id.n, 128); }
static void chk_cid128(const cxp_event *ev) { CHECK_INT(ev->customer_id.n, 128); }

typedef struct ev_case {
  const char *name;
  const char *json;
  size_t len;            /* 0: strlen(json) */
  size_t max_bytes;      /* 0: 65536 */
  int64_t now_ms;        /* decode option; 0 skips the future check */
  cxp_reason want;
  const char *detail;    /* must appear in the detail; NULL: any non-empty */
  const char *detail2;   /* a second phrase, when one is not enough */
  cxp_event_type type;   /* good events: expected type, score, ts */
  int score;             /* -1: not a survey */
  int64_t ts;            /* 0: T0 */
  void (*check)(const cxp_event *ev);
} ev_case;

#define GOOD(nm, js, ty, sc, fn)                                               \
  { .name = nm, .json = js, .want = CXP_OK, .type = ty, .score = sc, .check = fn }
#define BAD(nm, js, why, d)                                                    \
  { .name = nm, .json = js, .want = why, .detail = d }

static const ev_case ev_cases[] = {
    /* Every type of docs/domain.md section 2, well formed. */
    GOOD("csat 1", HDR("survey.csat") ",\"score\":1}", CXP_EV_CSAT, 1, NULL),
    GOOD("csat 5", CSAT_OK, CXP_EV_CSAT, 5, NULL),
    GOOD("nps 0", HDR("survey.nps") ",\"score\":0}", CXP_EV_NPS, 0, NULL),
    GOOD("nps 10", HDR("survey.nps") ",\"score\":10}", CXP_EV_NPS, 10, NULL),
    GOOD("ces 1", HDR("survey.ces") ",\"score\":1}", CXP_EV_CES, 1, NULL),
    GOOD("ces 7", HDR("survey.ces") ",\"score\":7}", CXP_EV_CES, 7, NULL),
    GOOD("score 5.0 is an integer", HDR("survey.csat") ",\"score\":5.0}", CXP_EV_CSAT, 5,
         NULL),
    GOOD("servqual subset",
         SQ("{\"tangibles\":{\"expected\":5,\"perceived\":3},"
            "\"empathy\":{\"expected\":4,\"perceived\":6.5}}"),
         CXP_EV_SERVQUAL, -1, chk_servqual),
    GOOD("servqual all five at the bounds",
         SQ("{\"tangibles\":{\"expected\":1,\"perceived\":7},"
            "\"reliability\":{\"expected\":7,\"perceived\":1},"
            "\"responsiveness\":{\"expected\":1,\"perceived\":1},"
            "\"assurance\":{\"expected\":7,\"perceived\":7},"
            "\"empathy\":{\"expected\":4,\"perceived\":4}}"),
         CXP_EV_SERVQUAL, -1, chk_servqual_all),
    GOOD("contact",
         HDR("contact") ",\"wait_s\":30,\"handle_s\":240.5,\"resolved\":true,"
                        "\"sentiment\":-0.5}",
         CXP_EV_CONTACT, -1, chk_contact),
    GOOD("contact, sentiment null",
         HDR("contact") ",\"wait_s\":0,\"handle_s\":0,\"resolved\":false,"
                        "\"sentiment\":null}",
         CXP_EV_CONTACT, -1, chk_contact_nosent),
    GOOD("complaint",
         HDR("complaint") ",\"case_id\":\"k1\",\"category\":\"operational\","
                          "\"severity\":2,\"kano\":\"must_be\",\"attribute\":\"delivery\"}",
         CXP_EV_COMPLAINT, -1, chk_complaint),
    GOOD("service.failure",
         HDR("service.failure") ",\"case_id\":\"k2\",\"category\":\"promise\","
                                "\"severity\":1,\"detected_by\":\"provider\"}",
         CXP_EV_FAILURE, -1, chk_failure),
    GOOD("service.failure with likelihood and impact",
         HDR("service.failure") ",\"case_id\":\"k2\",\"category\":\"promise\","
                                "\"likelihood\":3,\"impact\":1,\"detected_by\":\"customer\"}",
         CXP_EV_FAILURE, -1, chk_rated_3_1),
    /* null counts as absent: the severity is not there to conflict. */
    GOOD("complaint with likelihood and impact, severity null",
         HDR("complaint") ",\"case_id\":\"k1\",\"category\":\"design\",\"severity\":null,"
                          "\"impact\":2.0,\"likelihood\":4}",
         CXP_EV_COMPLAINT, -1, chk_rated_4_2),
    GOOD("complaint with severity, likelihood and impact null",
         HDR("complaint") ",\"case_id\":\"k1\",\"category\":\"design\",\"severity\":3,"
                          "\"likelihood\":null,\"impact\":null}",
         CXP_EV_COMPLAINT, -1, chk_sev3_unrated),
    GOOD("recovery.acknowledged", HDR("recovery.acknowledged") ",\"case_id\":\"k3\"}",
         CXP_EV_REC_ACKNOWLEDGED, -1, chk_case_k3),
    GOOD("recovery.apologized", HDR("recovery.apologized") ",\"case_id\":\"k3\"}",
         CXP_EV_REC_APOLOGIZED, -1, chk_case_k3),
    GOOD("recovery.compensated",
         HDR("recovery.compensated") ",\"case_id\":\"k3\",\"amount\":25.5}",
         CXP_EV_REC_COMPENSATED, -1, chk_compensated),
    GOOD("recovery.resolved",
         HDR("recovery.resolved") ",\"case_id\":\"k3\",\"root_cause_fixed\":true}",
         CXP_EV_REC_RESOLVED, -1, chk_resolved),
    GOOD("recovery.resolved without root_cause_fixed",
         HDR("recovery.resolved") ",\"case_id\":\"k3\"}", CXP_EV_REC_RESOLVED, -1,
         chk_resolved_default),
    GOOD("recovery.followed_up", HDR("recovery.followed_up") ",\"case_id\":\"k3\"}",
         CXP_EV_REC_FOLLOWED_UP, -1, chk_case_k3),
    GOOD("purchase 0", HDR("purchase") ",\"amount\":0}", CXP_EV_PURCHASE, -1, chk_amount0),
    GOOD("purchase", HDR("purchase") ",\"amount\":99.9}", CXP_EV_PURCHASE, -1, chk_amount),
    GOOD("usage, count defaults to 1", HDR("usage") "}", CXP_EV_USAGE, -1, chk_count1),
    GOOD("usage, count null defaults to 1", HDR("usage") ",\"count\":null}", CXP_EV_USAGE,
         -1, chk_count1),
    GOOD("usage 3", HDR("usage") ",\"count\":3}", CXP_EV_USAGE, -1, chk_count3),
    GOOD("referral", HDR("referral") ",\"referred_id\":\"c2\"}", CXP_EV_REFERRAL, -1,
         chk_referral),
    GOOD("referral without referred_id", HDR("referral") "}", CXP_EV_REFERRAL, -1,
         chk_referral_none),
    GOOD("feedback", HDR("feedback") ",\"kind\":\"review\"}", CXP_EV_FEEDBACK, -1,
         chk_feedback),
    GOOD("profile consent false",
         HDR("profile") ",\"segment\":\"gold\",\"clv\":1200,\"consent\":false}",
         CXP_EV_PROFILE, -1, chk_profile_noconsent),
    GOOD("profile consent true", HDR("profile") ",\"segment\":\"gold\",\"consent\":true}",
         CXP_EV_PROFILE, -1, chk_profile_consent),
    GOOD("profile without consent", HDR("profile") ",\"segment\":\"gold\"}", CXP_EV_PROFILE,
         -1, chk_profile_unsaid),
    GOOD("profile consent null", HDR("profile") ",\"segment\":\"gold\",\"consent\":null}",
         CXP_EV_PROFILE, -1, chk_profile_unsaid),
    GOOD("subscription.cancelled", HDR("subscription.cancelled") "}", CXP_EV_CANCELLED, -1,
         NULL),
    GOOD("subscription.downgraded", HDR("subscription.downgraded") "}", CXP_EV_DOWNGRADED,
         -1, NULL),
    /* Common optional fields, present and null. */
    GOOD("common fields",
         HDR("usage") ",\"channel\":\"app\",\"segment\":\"silver\",\"agent_id\":\"a7\","
                      "\"touchpoint\":\"checkout\"}",
         CXP_EV_USAGE, -1, chk_common),
    GOOD("null optional fields",
         HDR("usage") ",\"channel\":null,\"segment\":null,\"agent_id\":null,"
                      "\"touchpoint\":null,\"case_id\":null}",
         CXP_EV_USAGE, -1, chk_nulls),
    GOOD("event_id of 128 bytes",
         "{\"event_id\":\"" X128 "\",\"customer_id\":\"c1\",\"type\":\"usage\","
         "\"ts\":1795417200000}",
         CXP_EV_USAGE, -1, chk_id128),
    GOOD("customer_id of 128 bytes",
         "{\"event_id\":\"e1\",\"customer_id\":\"" X128 "\",\"type\":\"usage\","
         "\"ts\":1795417200000}",
         CXP_EV_USAGE, -1, chk_cid128),
    GOOD("white space around the object", " \n\t" CSAT_OK " \r\n", CXP_EV_CSAT, 5, NULL),
    /* Timestamps: both forms, with offsets, at the 2000 boundary. */
    GOOD("ts epoch ms", "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"usage\","
                        "\"ts\":1795417200000}",
         CXP_EV_USAGE, -1, NULL),
    GOOD("ts with +01:00",
         "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"usage\","
         "\"ts\":\"2026-11-23T08:00:00+01:00\"}",
         CXP_EV_USAGE, -1, NULL),
    GOOD("ts with -04:30 and millis",
         "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"usage\","
         "\"ts\":\"2026-11-23T02:30:00.000-04:30\"}",
         CXP_EV_USAGE, -1, NULL),
    {.name = "ts exactly 2000-01-01 (946684800000)",
     .json = "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"usage\","
             "\"ts\":946684800000}",
     .want = CXP_OK, .type = CXP_EV_USAGE, .score = -1, .ts = 946684800000LL},
    /* now = T0; the limit is T0 + 86400 s: T0 + 86400000 is still accepted. */
    {.name = "ts exactly max_future ahead",
     .json = "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"usage\","
             "\"ts\":1795503600000}",
     .now_ms = T0, .want = CXP_OK, .type = CXP_EV_USAGE, .score = -1,
     .ts = 1795503600000LL},
    /* The same far-future ts (T0 + 1 y = 1826953200000) without a now: accepted. */
    {.name = "future ts, now_ms 0",
     .json = "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"usage\","
             "\"ts\":1826953200000}",
     .want = CXP_OK, .type = CXP_EV_USAGE, .score = -1, .ts = 1826953200000LL},
    /* Exactly max_bytes long is allowed. */
    {.name = "exactly max_bytes", .json = CSAT_OK, .max_bytes = sizeof(CSAT_OK) - 1,
     .want = CXP_OK, .type = CXP_EV_CSAT, .score = 5},

    /* invalid_json */
    BAD("not JSON", "hello", CXP_BAD_INVALID_JSON, "JSON"),
    BAD("truncated object", "{\"event_id\":\"e1\"", CXP_BAD_INVALID_JSON, "JSON"),
    BAD("empty message", "", CXP_BAD_INVALID_JSON, "empty"),
    BAD("trailing garbage", CSAT_OK " x", CXP_BAD_INVALID_JSON, "trailing"),
    BAD("two objects", CSAT_OK "{}", CXP_BAD_INVALID_JSON, "trailing"),
    {.name = "NUL byte", .json = CSAT_OK "\0", .len = sizeof(CSAT_OK), .want =
     CXP_BAD_INVALID_JSON, .detail = "NUL"},
    {.name = "NUL byte inside a string",
     .json = "{\"event_id\":\"e\0\"}", .len = sizeof("{\"event_id\":\"e\0\"}") - 1,
     .want = CXP_BAD_INVALID_JSON, .detail = "NUL"},
    BAD("array at top level", "[" CSAT_OK "]", CXP_BAD_INVALID_JSON, "object"),
    BAD("string at top level", "\"survey.csat\"", CXP_BAD_INVALID_JSON, "object"),
    BAD("null at top level", "null", CXP_BAD_INVALID_JSON, "object"),

    /* missing_field */
    BAD("no event_id", "{\"customer_id\":\"c1\",\"type\":\"usage\",\"ts\":1795417200000}",
        CXP_BAD_MISSING_FIELD, "'event_id'"),
    BAD("event_id null",
        "{\"event_id\":null,\"customer_id\":\"c1\",\"type\":\"usage\",\"ts\":1795417200000}",
        CXP_BAD_MISSING_FIELD, "'event_id'"),
    BAD("no customer_id", "{\"event_id\":\"e1\",\"type\":\"usage\",\"ts\":1795417200000}",
        CXP_BAD_MISSING_FIELD, "'customer_id'"),
    BAD("no type", "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"ts\":1795417200000}",
        CXP_BAD_MISSING_FIELD, "'type'"),
    BAD("no ts", "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"usage\"}",
        CXP_BAD_MISSING_FIELD, "'ts'"),
    BAD("ts null",
        "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"usage\",\"ts\":null}",
        CXP_BAD_MISSING_FIELD, "'ts'"),
    BAD("csat without score", HDR("survey.csat") "}", CXP_BAD_MISSING_FIELD, "'score'"),
    BAD("nps score null", HDR("survey.nps") ",\"score\":null}", CXP_BAD_MISSING_FIELD,
        "'score'"),
    BAD("servqual without dimensions", HDR("survey.servqual") "}", CXP_BAD_MISSING_FIELD,
        "'dimensions'"),
    BAD("servqual empty dimensions", SQ("{}"), CXP_BAD_MISSING_FIELD, "'dimensions'"),
    {.name = "servqual dimension without perceived",
     .json = SQ("{\"reliability\":{\"expected\":5}}"), .want = CXP_BAD_MISSING_FIELD,
     .detail = "'perceived'", .detail2 = "dimensions.reliability"},
    BAD("complaint without case_id",
        HDR("complaint") ",\"category\":\"design\",\"severity\":3}", CXP_BAD_MISSING_FIELD,
        "'case_id'"),
    BAD("recovery step without case_id", HDR("recovery.acknowledged") "}",
        CXP_BAD_MISSING_FIELD, "'case_id'"),
    BAD("complaint without severity",
        HDR("complaint") ",\"case_id\":\"k1\",\"category\":\"design\"}",
        CXP_BAD_MISSING_FIELD, "'severity'"),
    BAD("failure without detected_by",
        HDR("service.failure") ",\"case_id\":\"k2\",\"category\":\"design\",\"severity\":3}",
        CXP_BAD_MISSING_FIELD, "'detected_by'"),
    BAD("contact without resolved", HDR("contact") ",\"wait_s\":1,\"handle_s\":2}",
        CXP_BAD_MISSING_FIELD, "'resolved'"),
    BAD("compensated without amount", HDR("recovery.compensated") ",\"case_id\":\"k3\"}",
        CXP_BAD_MISSING_FIELD, "'amount'"),
    BAD("purchase without amount", HDR("purchase") "}", CXP_BAD_MISSING_FIELD, "'amount'"),
    BAD("feedback without kind", HDR("feedback") "}", CXP_BAD_MISSING_FIELD, "'kind'"),
    BAD("profile without segment", HDR("profile") ",\"consent\":true}",
        CXP_BAD_MISSING_FIELD, "'segment'"),

    /* bad_type */
    BAD("event_id a number",
        "{\"event_id\":5,\"customer_id\":\"c1\",\"type\":\"usage\",\"ts\":1795417200000}",
        CXP_BAD_TYPE, "'event_id'"),
    BAD("customer_id a bool",
        "{\"event_id\":\"e1\",\"customer_id\":true,\"type\":\"usage\",\"ts\":1795417200000}",
        CXP_BAD_TYPE, "'customer_id'"),
    BAD("type a number",
        "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":3,\"ts\":1795417200000}",
        CXP_BAD_TYPE, "'type'"),
    BAD("score a string", HDR("survey.csat") ",\"score\":\"5\"}", CXP_BAD_TYPE, "'score'"),
    BAD("csat 4.5", HDR("survey.csat") ",\"score\":4.5}", CXP_BAD_TYPE, "'score'"),
    BAD("segment an object", HDR("usage") ",\"segment\":{}}", CXP_BAD_TYPE, "'segment'"),
    BAD("resolved a string",
        HDR("contact") ",\"wait_s\":1,\"handle_s\":2,\"resolved\":\"yes\"}", CXP_BAD_TYPE,
        "'resolved'"),
    BAD("dimensions an array", SQ("[]"), CXP_BAD_TYPE, "'dimensions'"),
    BAD("dimension a number", SQ("{\"empathy\":5}"), CXP_BAD_TYPE, "dimensions.empathy"),
    BAD("consent a string", HDR("profile") ",\"segment\":\"gold\",\"consent\":\"no\"}",
        CXP_BAD_TYPE, "'consent'"),
    BAD("severity 2.5",
        HDR("complaint") ",\"case_id\":\"k1\",\"category\":\"design\",\"severity\":2.5}",
        CXP_BAD_TYPE, "'severity'"),
    BAD("count a string", HDR("usage") ",\"count\":\"3\"}", CXP_BAD_TYPE, "'count'"),

    /* out_of_range */
    BAD("nps 11", HDR("survey.nps") ",\"score\":11}", CXP_BAD_OUT_OF_RANGE, "'score'"),
    BAD("nps -1", HDR("survey.nps") ",\"score\":-1}", CXP_BAD_OUT_OF_RANGE, "'score'"),
    BAD("nps 1e400 (parses as inf)", HDR("survey.nps") ",\"score\":1e400}",
        CXP_BAD_OUT_OF_RANGE, "'score'"),
    BAD("csat 0", HDR("survey.csat") ",\"score\":0}", CXP_BAD_OUT_OF_RANGE, "'score'"),
    BAD("csat 6", HDR("survey.csat") ",\"score\":6}", CXP_BAD_OUT_OF_RANGE, "'score'"),
    BAD("ces 0", HDR("survey.ces") ",\"score\":0}", CXP_BAD_OUT_OF_RANGE, "'score'"),
    BAD("ces 8", HDR("survey.ces") ",\"score\":8}", CXP_BAD_OUT_OF_RANGE, "'score'"),
    BAD("event_id of 129 bytes",
        "{\"event_id\":\"" X128 "y\",\"customer_id\":\"c1\",\"type\":\"usage\","
        "\"ts\":1795417200000}",
        CXP_BAD_OUT_OF_RANGE, "'event_id'"),
    BAD("customer_id of 129 bytes",
        "{\"event_id\":\"e1\",\"customer_id\":\"" X128 "y\",\"type\":\"usage\","
        "\"ts\":1795417200000}",
        CXP_BAD_OUT_OF_RANGE, "'customer_id'"),
    BAD("empty event_id",
        "{\"event_id\":\"\",\"customer_id\":\"c1\",\"type\":\"usage\",\"ts\":1795417200000}",
        CXP_BAD_OUT_OF_RANGE, "'event_id'"),
    {.name = "servqual unknown dimension",
     .json = SQ("{\"price\":{\"expected\":5,\"perceived\":3}}"), .want = CXP_BAD_OUT_OF_RANGE,
     .detail = "'dimensions'", .detail2 = "price"},
    {.name = "servqual expected 8",
     .json = SQ("{\"tangibles\":{\"expected\":8,\"perceived\":3}}"),
     .want = CXP_BAD_OUT_OF_RANGE, .detail = "'expected'", .detail2 = "dimensions.tangibles"},
    {.name = "servqual perceived 0",
     .json = SQ("{\"assurance\":{\"expected\":4,\"perceived\":0}}"),
     .want = CXP_BAD_OUT_OF_RANGE, .detail = "'perceived'", .detail2 = "dimensions.assurance"},
    BAD("category not allowed",
        HDR("complaint") ",\"case_id\":\"k1\",\"category\":\"bogus\",\"severity\":2}",
        CXP_BAD_OUT_OF_RANGE, "'category'"),
    BAD("severity 5",
        HDR("complaint") ",\"case_id\":\"k1\",\"category\":\"design\",\"severity\":5}",
        CXP_BAD_OUT_OF_RANGE, "'severity'"),
    BAD("severity 0",
        HDR("service.failure") ",\"case_id\":\"k1\",\"category\":\"design\",\"severity\":0,"
                               "\"detected_by\":\"provider\"}",
        CXP_BAD_OUT_OF_RANGE, "'severity'"),
    BAD("kano not allowed",
        HDR("complaint") ",\"case_id\":\"k1\",\"category\":\"design\",\"severity\":2,"
                         "\"kano\":\"meh\"}",
        CXP_BAD_OUT_OF_RANGE, "'kano'"),
    BAD("detected_by not allowed",
        HDR("service.failure") ",\"case_id\":\"k1\",\"category\":\"design\",\"severity\":2,"
                               "\"detected_by\":\"robot\"}",
        CXP_BAD_OUT_OF_RANGE, "'detected_by'"),
    BAD("sentiment 1.5",
        HDR("contact") ",\"wait_s\":1,\"handle_s\":2,\"resolved\":true,\"sentiment\":1.5}",
        CXP_BAD_OUT_OF_RANGE, "'sentiment'"),
    BAD("wait_s negative", HDR("contact") ",\"wait_s\":-1,\"handle_s\":2,\"resolved\":true}",
        CXP_BAD_OUT_OF_RANGE, "'wait_s'"),
    BAD("purchase amount negative", HDR("purchase") ",\"amount\":-0.01}",
        CXP_BAD_OUT_OF_RANGE, "'amount'"),
    BAD("usage count negative", HDR("usage") ",\"count\":-1}", CXP_BAD_OUT_OF_RANGE,
        "'count'"),
    BAD("clv negative", HDR("profile") ",\"segment\":\"gold\",\"clv\":-5}",
        CXP_BAD_OUT_OF_RANGE, "'clv'"),

    /* likelihood and impact: both or neither, each an integer 1..4, and
     * never with a severity. */
    BAD("likelihood without impact",
        HDR("complaint") ",\"case_id\":\"k1\",\"category\":\"design\",\"likelihood\":2}",
        CXP_BAD_MISSING_FIELD, "'impact'"),
    BAD("impact without likelihood",
        HDR("service.failure") ",\"case_id\":\"k1\",\"category\":\"design\",\"impact\":1,"
                               "\"detected_by\":\"provider\"}",
        CXP_BAD_MISSING_FIELD, "'likelihood'"),
    BAD("likelihood with impact null",
        HDR("complaint") ",\"case_id\":\"k1\",\"category\":\"design\",\"likelihood\":2,"
                         "\"impact\":null}",
        CXP_BAD_MISSING_FIELD, "'impact'"),
    {.name = "neither severity nor likelihood and impact",
     .json = HDR("complaint") ",\"case_id\":\"k1\",\"category\":\"design\"}",
     .want = CXP_BAD_MISSING_FIELD, .detail = "'severity'", .detail2 = "'likelihood' and 'impact'"},
    BAD("impact spelt Impact",
        HDR("complaint") ",\"case_id\":\"k1\",\"category\":\"design\",\"likelihood\":2,"
                         "\"Impact\":2}",
        CXP_BAD_MISSING_FIELD, "'impact'"),
    BAD("likelihood a string",
        HDR("complaint") ",\"case_id\":\"k1\",\"category\":\"design\",\"likelihood\":\"2\","
                         "\"impact\":2}",
        CXP_BAD_TYPE, "'likelihood'"),
    BAD("impact 2.5",
        HDR("complaint") ",\"case_id\":\"k1\",\"category\":\"design\",\"likelihood\":2,"
                         "\"impact\":2.5}",
        CXP_BAD_TYPE, "'impact'"),
    BAD("impact a bool",
        HDR("complaint") ",\"case_id\":\"k1\",\"category\":\"design\",\"likelihood\":2,"
                         "\"impact\":true}",
        CXP_BAD_TYPE, "'impact'"),
    {.name = "likelihood 0",
     .json = HDR("complaint") ",\"case_id\":\"k1\",\"category\":\"design\",\"likelihood\":0,"
                              "\"impact\":2}",
     .want = CXP_BAD_OUT_OF_RANGE, .detail = "'likelihood'", .detail2 = "outside 1..4"},
    {.name = "impact 5",
     .json = HDR("service.failure") ",\"case_id\":\"k1\",\"category\":\"design\","
                                    "\"likelihood\":1,\"impact\":5,\"detected_by\":\"provider\"}",
     .want = CXP_BAD_OUT_OF_RANGE, .detail = "'impact' is 5", .detail2 = "outside 1..4"},
    {.name = "severity with likelihood and impact",
     .json = HDR("complaint") ",\"case_id\":\"k1\",\"category\":\"design\",\"severity\":2,"
                              "\"likelihood\":2,\"impact\":3}",
     .want = CXP_BAD_CONFLICTING, .detail = "'severity'", .detail2 = "'likelihood'"},
    /* The conflict is named whatever the other members hold. */
    {.name = "severity with impact alone",
     .json = HDR("service.failure") ",\"case_id\":\"k1\",\"category\":\"design\","
                                    "\"impact\":9,\"severity\":1,\"detected_by\":\"provider\"}",
     .want = CXP_BAD_CONFLICTING, .detail = "'severity'", .detail2 = "'impact'"},

    /* unknown_type */
    BAD("unknown type", HDR("survey.foo") ",\"score\":1}", CXP_BAD_UNKNOWN_TYPE, "'type'"),
    BAD("type is case-sensitive", HDR("Survey.CSAT") ",\"score\":1}", CXP_BAD_UNKNOWN_TYPE,
        "'type'"),
    BAD("recovery prefix only", HDR("recovery") ",\"case_id\":\"k\"}", CXP_BAD_UNKNOWN_TYPE,
        "'type'"),

    /* too_large: one byte over the limit. */
    {.name = "one byte over max_bytes", .json = CSAT_OK, .max_bytes = sizeof(CSAT_OK) - 2,
     .want = CXP_BAD_TOO_LARGE, .detail = "limit"},

    /* bad_timestamp */
    BAD("ts before 2000 (RFC 3339)",
        "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"usage\","
        "\"ts\":\"1999-12-31T23:59:59Z\"}",
        CXP_BAD_TIMESTAMP, "'ts'"),
    BAD("ts before 2000 (1 ms)",
        "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"usage\",\"ts\":946684799999}",
        CXP_BAD_TIMESTAMP, "'ts'"),
    BAD("ts 2100-01-01 (4102444800000)",
        "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"usage\",\"ts\":4102444800000}",
        CXP_BAD_TIMESTAMP, "'ts'"),
    BAD("ts epoch seconds (1795417200 = 1970-01-21)",
        "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"usage\",\"ts\":1795417200}",
        CXP_BAD_TIMESTAMP, "'ts'"),
    BAD("ts a float",
        "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"usage\","
        "\"ts\":1795417200000.5}",
        CXP_BAD_TIMESTAMP, "'ts'"),
    BAD("ts a date only",
        "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"usage\",\"ts\":\"2026-11-23\"}",
        CXP_BAD_TIMESTAMP, "'ts'"),
    BAD("ts without offset",
        "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"usage\","
        "\"ts\":\"2026-11-23T07:00:00\"}",
        CXP_BAD_TIMESTAMP, "'ts'"),
    BAD("ts on 30 February",
        "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"usage\","
        "\"ts\":\"2026-02-30T07:00:00Z\"}",
        CXP_BAD_TIMESTAMP, "'ts'"),
    BAD("ts a bool",
        "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"usage\",\"ts\":true}",
        CXP_BAD_TIMESTAMP, "'ts'"),
    /* now = T0; T0 + 86400000 + 1000 = 1795503601000 is 1 s past the limit. */
    {.name = "ts 1 s past max_future",
     .json = "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"usage\","
             "\"ts\":1795503601000}",
     .now_ms = T0, .want = CXP_BAD_TIMESTAMP, .detail = "'ts'", .detail2 = "future"},
    {.name = "future ts, now_ms set",
     .json = "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"usage\","
             "\"ts\":1826953200000}",
     .now_ms = T0, .want = CXP_BAD_TIMESTAMP, .detail = "'ts'", .detail2 = "future"},
};

static void test_event_table(void) {
  cxp_arena arena;
  cxp_arena_init(&arena, 4096);
  cxp_arena_json_install();
  for (size_t i = 0; i < sizeof ev_cases / sizeof ev_cases[0]; i++) {
    const ev_case *c = &ev_cases[i];
    cxp_decode_opts o = {.max_bytes = c->max_bytes ? c->max_bytes : 65536,
                         .now_ms = c->now_ms,
                         .max_future_ms = 86400000LL};
    cxp_event ev;
    char detail[256];
    size_t len = c->len ? c->len : strlen(c->json);
    test_ctx = c->name;
    cxp_arena_json_begin(&arena);
    cxp_reason r = cxp_event_decode(c->json, len, &o, &ev, detail, sizeof detail);
    CHECK_STR(cxp_reason_name(r), cxp_reason_name(c->want));
    if (c->want == CXP_OK) {
      CHECK_STR(cxp_event_type_name(ev.type), cxp_event_type_name(c->type));
      if (c->score >= 0) CHECK_INT(ev.score, c->score);
      CHECK_INT(ev.ts_ms, c->ts ? c->ts : T0);
      if (r == CXP_OK && c->check) c->check(&ev);
    } else {
      CHECK_STR_NE(detail, "");
      if (c->detail) CHECK_CONTAINS(detail, c->detail);
      if (c->detail2) CHECK_CONTAINS(detail, c->detail2);
    }
    cxp_arena_json_end();
    cxp_arena_reset(&arena);
  }
  test_ctx = NULL;
  cxp_arena_close(&arena);

  /* The names of the reason codes are the stable contract of section 2. */
  CHECK_STR(cxp_reason_name(CXP_BAD_INVALID_JSON), "invalid_json");
  CHECK_STR(cxp_reason_name(CXP_BAD_MISSING_FIELD), "missing_field");
  CHECK_STR(cxp_reason_name(CXP_BAD_TYPE), "bad_type");
  CHECK_STR(cxp_reason_name(CXP_BAD_OUT_OF_RANGE), "out_of_range");
  CHECK_STR(cxp_reason_name(CXP_BAD_UNKNOWN_TYPE), "unknown_type");
  CHECK_STR(cxp_reason_name(CXP_BAD_TOO_LARGE), "too_large");
  CHECK_STR(cxp_reason_name(CXP_BAD_TIMESTAMP), "bad_timestamp");
  CHECK_STR(cxp_reason_name(CXP_BAD_LATE), "late");
  CHECK_STR(cxp_reason_name(CXP_BAD_OFFSETS_SKIPPED), "offsets_skipped");
  CHECK_STR(cxp_reason_name(CXP_BAD_CONFLICTING), "conflicting_fields");
  CHECK_STR(cxp_sq_dimension_name(CXP_SQ_RESPONSIVENESS), "responsiveness");
  CHECK_STR(cxp_sq_dimension_name(CXP_SQ__COUNT), "unknown");
}

/* --------------------------------------------------------------------------
 * event decoding: the fast path against the full parser */

static int same_str(cxp_str a, cxp_str b) {
  return (a.p == NULL) == (b.p == NULL) && a.n == b.n &&
         (a.p == NULL || memcmp(a.p, b.p, a.n) == 0);
}

/* Every field of two decoded events, doubles bit for bit. */
static int same_event(const cxp_event *a, const cxp_event *b) {
  const cxp_str *sa[] = {&a->event_id, &a->customer_id, &a->channel,  &a->segment,
                         &a->agent_id, &a->touchpoint,  &a->case_id,  &a->category,
                         &a->kano,     &a->attribute,   &a->detected_by, &a->referred_id,
                         &a->kind};
  const cxp_str *sb[] = {&b->event_id, &b->customer_id, &b->channel,  &b->segment,
                         &b->agent_id, &b->touchpoint,  &b->case_id,  &b->category,
                         &b->kano,     &b->attribute,   &b->detected_by, &b->referred_id,
                         &b->kind};
  for (size_t i = 0; i < sizeof sa / sizeof sa[0]; i++)
    if (!same_str(*sa[i], *sb[i])) return 0;
  const double da[] = {a->wait_s, a->handle_s, a->sentiment, a->amount, a->count, a->clv};
  const double db[] = {b->wait_s, b->handle_s, b->sentiment, b->amount, b->count, b->clv};
  return a->type == b->type && a->ts_ms == b->ts_ms && a->score == b->score &&
         a->sq_mask == b->sq_mask && a->resolved == b->resolved &&
         a->has_sentiment == b->has_sentiment && a->severity == b->severity &&
         a->likelihood == b->likelihood && a->impact == b->impact &&
         a->root_cause_fixed == b->root_cause_fixed && a->has_clv == b->has_clv &&
         a->consent == b->consent && memcmp(da, db, sizeof da) == 0 &&
         memcmp(a->sq_expected, b->sq_expected, sizeof a->sq_expected) == 0 &&
         memcmp(a->sq_perceived, b->sq_perceived, sizeof a->sq_perceived) == 0;
}

/* Decodes buf both ways and checks that they agree on the reason, the
 * detail and every field; the fast path also with `hint` (NULL: a fresh
 * one), twice: once as the hint stands, once after this event taught it
 * its order, so that every name is read as predicted. Returns the reason. */
static cxp_reason decode_both_hinted(cxp_arena *arena, const char *buf, size_t len,
                                     cxp_decode_hint *hint) {
  cxp_decode_hint fresh;
  memset(&fresh, 0, sizeof fresh);
  cxp_decode_opts fast = {.max_bytes = 65536, .max_future_ms = 86400000LL};
  cxp_decode_opts full = fast;
  full.parser = CXP_PARSE_FULL;
  cxp_event a, b;
  char da[256], db[256];
  cxp_arena_json_begin(arena);
  cxp_reason ra = cxp_event_decode(buf, len, &fast, &a, da, sizeof da);
  cxp_reason rb = cxp_event_decode(buf, len, &full, &b, db, sizeof db);
  CHECK_STR(cxp_reason_name(ra), cxp_reason_name(rb));
  CHECK_STR(da, db);
  if (ra == CXP_OK && rb == CXP_OK) CHECK(same_event(&a, &b));
  fast.hint = hint ? hint : &fresh;
  for (int pass = 0; pass < 2; pass++) {
    cxp_reason rh = cxp_event_decode(buf, len, &fast, &a, da, sizeof da);
    CHECK_STR(cxp_reason_name(rh), cxp_reason_name(rb));
    CHECK_STR(da, db);
    if (rh == CXP_OK && rb == CXP_OK) CHECK(same_event(&a, &b));
  }
  cxp_arena_json_end();
  cxp_arena_reset(arena);
  return ra;
}

static cxp_reason decode_both(cxp_arena *arena, const char *buf, size_t len) {
  return decode_both_hinted(arena, buf, len, NULL);
}

static void test_event_fast_path(void) {
  cxp_arena arena;
  cxp_arena_init(&arena, 4096);
  cxp_arena_json_install();
  cxp_decode_opts o = {.max_bytes = 65536, .max_future_ms = 86400000LL};
  cxp_event ev;
  char detail[256];

  /* Numbers as a C compiler reads them (correctly rounded), through the
   * fast path's digits / 10^d and, past 15 digits or with an exponent,
   * through the full parser. */
  static const struct {
    const char *amount;
    double want;
    int flat; /* read by the fast path: at most 15 digits, no exponent */
  } nums[] = {{"33.58", 33.58, 1},
              {"0.1", 0.1, 1},
              {"0", 0, 1},
              {"7", 7, 1},
              {"999999999999", 999999999999.0, 1},
              {"12345678901.2345", 12345678901.2345, 1},
              {"12345678.9012345", 12345678.9012345, 1},
              {"0.000000000000001", 0.000000000000001, 0},    /* 16 digits */
              {"123456789012.3456", 123456789012.3456, 0},    /* 16 digits */
              {"0.30000000000000004", 0.30000000000000004, 0}, /* 17 digits */
              {"2.5e3", 2500, 0},
              {"4E-1", 0.4, 0},
              {" 12.5 ", 12.5, 1}};
  cxp_decode_opts flat = {.max_bytes = 65536, .max_future_ms = 86400000LL,
                          .parser = CXP_PARSE_FLAT};
  for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
    char buf[256];
    int n = snprintf(buf, sizeof buf, HDR("purchase") ",\"amount\":%s}", nums[i].amount);
    test_ctx = nums[i].amount;
    cxp_arena_json_begin(&arena);
    CHECK_INT(cxp_event_decode(buf, (size_t)n, &o, &ev, detail, sizeof detail), CXP_OK);
    CHECK_EQ(memcmp(&ev.amount, &nums[i].want, sizeof ev.amount), 0);
    /* The fast path takes what it can, and only that. */
    CHECK_INT(cxp_event_decode(buf, (size_t)n, &flat, &ev, detail, sizeof detail),
              nums[i].flat ? CXP_OK : CXP_BAD_INVALID_JSON);
    if (nums[i].flat) CHECK_EQ(memcmp(&ev.amount, &nums[i].want, sizeof ev.amount), 0);
    cxp_arena_json_end();
    cxp_arena_reset(&arena);
    decode_both(&arena, buf, (size_t)n);
  }

  /* The strings end in place: each is NUL-terminated, and the message the
   * caller passed is left as it was. */
  static const char msg[] = "{ \"event_id\" : \"e9\" ,\r\n\t\"customer_id\":\"c\xc3\xa9\","
                            "\"type\":\"complaint\",\"ts\":1795417200000,\"case_id\":\"k1\","
                            "\"category\":\"promise\",\"severity\":3,\"kano\":\"must_be\","
                            "\"event_id\":\"ignored\",\"extra\":null,\"attribute\":null,"
                            "\"attribute\":\"zip\"} ";
  char copy[sizeof msg];
  memcpy(copy, msg, sizeof msg);
  test_ctx = "in place";
  cxp_arena_json_begin(&arena);
  CHECK_INT(cxp_event_decode(copy, sizeof msg - 1, &o, &ev, detail, sizeof detail), CXP_OK);
  CHECK_STR(ev.event_id.p, "e9"); /* the first of a repeated name */
  CHECK_STR(ev.customer_id.p, "c\xc3\xa9");
  CHECK_STR(ev.kano.p, "must_be");
  CHECK(ev.attribute.p == NULL); /* null is absent, and hides the later one */
  CHECK_INT(ev.severity, 3);
  CHECK_INT(ev.ts_ms, 1795417200000LL);
  CHECK_MEM(copy, sizeof msg, msg, sizeof msg);
  cxp_arena_json_end();
  cxp_arena_reset(&arena);
  decode_both(&arena, msg, sizeof msg - 1);

  /* Mutations of valid events of every shape: whatever a byte changed,
   * removed or added makes of an event, the fast path and cJSON say the
   * same of it. The alphabet leans on JSON's own bytes. */
  static const char *base[] = {
      HDR("survey.csat") ",\"score\":4,\"channel\":\"web\",\"agent_id\":\"a7\"}",
      HDR("survey.nps") ",\"score\":10,\"segment\":\"gold\"}",
      HDR("contact") ",\"wait_s\":12.5,\"handle_s\":300,\"resolved\":false,"
                     "\"sentiment\":-0.35}",
      HDR("service.failure") ",\"case_id\":\"k1\",\"category\":\"operational\","
                             "\"severity\":4,\"detected_by\":\"provider\","
                             "\"touchpoint\":\"billing\"}",
      HDR("recovery.compensated") ",\"case_id\":\"k1\",\"amount\":20}",
      HDR("recovery.resolved") ",\"case_id\":\"k1\",\"root_cause_fixed\":true}",
      HDR("usage") ",\"count\":3}",
      HDR("profile") ",\"segment\":\"gold\",\"clv\":1250.75,\"consent\":false}",
      HDR("feedback") ",\"kind\":\"praise\",\"extra\":[1,{\"a\":\"b\"}]}",
      SQ("{\"tangibles\":{\"expected\":6,\"perceived\":4.5},"
         "\"empathy\":{\"expected\":5,\"perceived\":5}}"),
      "{\"event_id\":\"e\\u0031\",\"customer_id\":\"c1\",\"type\":\"usage\","
      "\"ts\":\"2026-11-23T07:00:00.250+01:00\"}",
  };
  static const char alphabet[] = "{}[]\":,\\ \t\n\r\f0123456789.-+eEtrufalsn\x01\x7f\xc3\xa9xu"
                                 "\0\xff\xe2\x82";
  uint64_t rng = 0x9e3779b97f4a7c15ull;
  int ok = 0;
  char ctx[64];
  test_ctx = ctx;
  for (size_t b = 0; b < sizeof base / sizeof base[0]; b++) {
    snprintf(ctx, sizeof ctx, "base %zu", b);
    if (decode_both(&arena, base[b], strlen(base[b])) == CXP_OK) ok++;
    /* The first eight are flat and the ninth's nesting is a survey's
     * dimensions: the fast path reads them (the comparison above would hold
     * as well if it read none). The feedback's array and the escape are the
     * full parser's. */
    cxp_arena_json_begin(&arena);
    CHECK_INT(cxp_event_decode(base[b], strlen(base[b]), &flat, &ev, detail, sizeof detail),
              b < 8 || b == 9 ? CXP_OK : CXP_BAD_INVALID_JSON);
    cxp_arena_json_end();
    cxp_arena_reset(&arena);
  }
  CHECK_INT(ok, (int)(sizeof base / sizeof base[0]));
  ok = 0;
  for (int i = 0; i < 30000; i++) {
    char buf[512];
    const char *src = base[i % (sizeof base / sizeof base[0])];
    size_t n = strlen(src);
    memcpy(buf, src, n);
    int edits = 1 + (int)(i / 10000); /* 1, 2, then 3 edits */
    for (int e = 0; e < edits && n > 1; e++) {
      rng = rng * 6364136223846793005ull + 1442695040888963407ull;
      size_t at = (size_t)(rng >> 33) % n;
      char ch = alphabet[(rng >> 20) % (sizeof alphabet - 1)];
      switch ((rng >> 10) % 4) {
      case 0: buf[at] = ch; break;
      case 1: memmove(buf + at, buf + at + 1, n - at - 1); n--; break;
      case 2: memmove(buf + at + 1, buf + at, n - at); buf[at] = ch; n++; break;
      default: n = at + 1; break; /* cut short */
      }
    }
    snprintf(ctx, sizeof ctx, "mutation %d of base %zu", i,
             (size_t)i % (sizeof base / sizeof base[0]));
    if (decode_both(&arena, buf, n) == CXP_OK) ok++;
  }
  test_ctx = NULL;
  /* Some mutations leave a valid event (a digit for a digit, white space),
   * most do not: both kinds are covered. */
  CHECK_GT(ok, 1000);
  CHECK_LT(ok, 25000);
  cxp_arena_close(&arena);
}

/* A survey's dimensions through the fast path: what it reads it reads as
 * cJSON does (the first "expected" of a dimension, a repeated dimension
 * taken again, other names passed over); what it does not (a figure that
 * is missing, null or not a plain number, an unknown or empty dimension,
 * more than eight) goes to the full parser, which gives the error. */
static void test_event_servqual_fast(void) {
  cxp_arena arena;
  cxp_arena_init(&arena, 4096);
  cxp_arena_json_install();
  cxp_decode_opts flat = {.max_bytes = 65536, .max_future_ms = 86400000LL,
                          .parser = CXP_PARSE_FLAT};
  static const struct {
    const char *dims;
    int flat;          /* the fast path reads it */
    cxp_reason want;   /* what both parsers make of it */
    double exp0, per0; /* tangibles' figures when ok (NAN: not given) */
  } cases[] = {
      {"{\"tangibles\":{\"expected\":6,\"perceived\":4.5}}", 1, CXP_OK, 6, 4.5},
      {"{ \"tangibles\" : { \"perceived\" : 3 , \"expected\" : 7 } }", 1, CXP_OK, 7, 3},
      {"{\"tangibles\":{\"expected\":6,\"expected\":2,\"perceived\":5}}", 1, CXP_OK, 6, 5},
      {"{\"tangibles\":{\"expected\":6,\"perceived\":5},\"tangibles\":{\"expected\":2,"
       "\"perceived\":1}}", 1, CXP_OK, 2, 1},
      {"{\"tangibles\":{\"weight\":0.5,\"expected\":6,\"perceived\":5}}", 1, CXP_OK, 6, 5},
      {"{\"tangibles\":{\"expected\":6,\"perceived\":9}}", 1, CXP_BAD_OUT_OF_RANGE, NAN, NAN},
      {"{\"tangibles\":{\"expected\":6.5,\"perceived\":5}}", 1, CXP_OK, 6.5, 5},
      {"{\"tangibles\":{\"expected\":6}}", 0, CXP_BAD_MISSING_FIELD, NAN, NAN},
      {"{\"tangibles\":{\"expected\":null,\"perceived\":5}}", 0, CXP_BAD_MISSING_FIELD, NAN,
       NAN},
      {"{\"tangibles\":{\"expected\":\"6\",\"perceived\":5}}", 0, CXP_BAD_TYPE, NAN, NAN},
      {"{\"tangibles\":{\"expected\":6,\"perceived\":5,\"note\":\"x\"}}", 0, CXP_OK, 6, 5},
      {"{\"tangible\":{\"expected\":6,\"perceived\":5}}", 0, CXP_BAD_OUT_OF_RANGE, NAN, NAN},
      {"{\"tangibles\":[6,5]}", 0, CXP_BAD_TYPE, NAN, NAN},
      {"{}", 0, CXP_BAD_MISSING_FIELD, NAN, NAN},
      {"{\"tangibles\":{}}", 0, CXP_BAD_MISSING_FIELD, NAN, NAN},
      {"{\"tangibles\":{\"expected\":6e0,\"perceived\":5}}", 0, CXP_OK, 6, 5},
      {"{\"empathy\":{\"expected\":5,\"perceived\":5},\"empathy\":{\"expected\":5,"
       "\"perceived\":5},\"empathy\":{\"expected\":5,\"perceived\":5},\"empathy\":{"
       "\"expected\":5,\"perceived\":5},\"empathy\":{\"expected\":5,\"perceived\":5},"
       "\"empathy\":{\"expected\":5,\"perceived\":5},\"empathy\":{\"expected\":5,"
       "\"perceived\":5},\"empathy\":{\"expected\":5,\"perceived\":5},\"tangibles\":{"
       "\"expected\":4,\"perceived\":3}}", 0, CXP_OK, 4, 3},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    char buf[1024], ctx[32], detail[256];
    int n = snprintf(buf, sizeof buf, HDR("survey.servqual") ",\"dimensions\":%s}",
                     cases[c].dims);
    snprintf(ctx, sizeof ctx, "servqual case %zu", c);
    test_ctx = ctx;
    CHECK_INT(decode_both(&arena, buf, (size_t)n), cases[c].want);
    cxp_event ev;
    cxp_arena_json_begin(&arena);
    cxp_reason r = cxp_event_decode(buf, (size_t)n, &flat, &ev, detail, sizeof detail);
    if (cases[c].flat)
      CHECK_INT(r, cases[c].want);
    else
      CHECK_INT(r, CXP_BAD_INVALID_JSON);
    if (cases[c].flat && r == CXP_OK) {
      CHECK_EQ(ev.sq_expected[CXP_SQ_TANGIBLES], cases[c].exp0);
      CHECK_EQ(ev.sq_perceived[CXP_SQ_TANGIBLES], cases[c].per0);
    }
    cxp_arena_json_end();
    cxp_arena_reset(&arena);
  }
  /* The out-of-range figure's detail names the dimension, both ways. */
  char buf[512], detail[256];
  int n = snprintf(buf, sizeof buf, HDR("survey.servqual") ",\"dimensions\":%s}",
                   "{\"empathy\":{\"expected\":6,\"perceived\":0}}");
  cxp_event ev;
  cxp_decode_opts o = {.max_bytes = 65536, .max_future_ms = 86400000LL};
  test_ctx = "servqual detail";
  cxp_arena_json_begin(&arena);
  CHECK_INT(cxp_event_decode(buf, (size_t)n, &o, &ev, detail, sizeof detail),
            CXP_BAD_OUT_OF_RANGE);
  CHECK_STR(detail, "field 'perceived' is 0, outside 1..7 (in dimensions.empathy)");
  cxp_arena_json_end();
  cxp_arena_reset(&arena);
  test_ctx = NULL;
  cxp_arena_close(&arena);
}

/* The fast path's string scan reads eight bytes a step: a quote, a
 * backslash, a control byte or a byte past 0x7F at every place of a word,
 * and across its end, is seen as the byte-by-byte scan saw it. The flat
 * parser must turn down escapes and control bytes (they are the full
 * parser's: cJSON takes a raw control byte in a string, so those events
 * pass), take plain ASCII, DEL and valid UTF-8 as they are, and agree with
 * the full parser in every case. */
static void test_event_string_scan(void) {
  cxp_arena arena;
  cxp_arena_init(&arena, 4096);
  cxp_arena_json_install();
  static const struct {
    const char *bytes, *want; /* want: the customer_id's middle; NULL: refused */
    int flat;                 /* the fast path reads it */
  } cases[] = {{"\\u0041", "A", 0},   {"\\\"", "\"", 0},     {"\\\\", "\\", 0},
               {"\x01", "\x01", 0}, {"\x1f", "\x1f", 0}, {"\t", "\t", 0},
               {"\x7f", "\x7f", 1},   {"\xc3\xa9", "\xc3\xa9", 1}, {" ", " ", 1},
               {"\xff", NULL, 0},     {"\xc3", NULL, 0},     {"!#", "!#", 1}};
  cxp_decode_opts flat = {.max_bytes = 65536, .max_future_ms = 86400000LL,
                          .parser = CXP_PARSE_FLAT};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
    for (int k = 0; k <= 17; k++) {
      char buf[256], want[64], ctx[64];
      int n = snprintf(buf, sizeof buf,
                       "{\"event_id\":\"e1\",\"customer_id\":\"%.*s%syz\",\"type\":\"survey.csat\","
                       "\"ts\":\"2026-11-23T07:00:00Z\",\"score\":5}",
                       k, X16 X16, cases[c].bytes);
      snprintf(ctx, sizeof ctx, "case %zu at %d", c, k);
      test_ctx = ctx;
      cxp_reason r = decode_both(&arena, buf, (size_t)n);
      CHECK_INT(r, cases[c].want ? CXP_OK : CXP_BAD_INVALID_JSON);
      cxp_event ev;
      char detail[256];
      cxp_arena_json_begin(&arena);
      CHECK_INT(cxp_event_decode(buf, (size_t)n, &flat, &ev, detail, sizeof detail),
                cases[c].flat ? CXP_OK : CXP_BAD_INVALID_JSON);
      if (cases[c].flat) {
        snprintf(want, sizeof want, "%.*s%syz", k, X16 X16, cases[c].want);
        CHECK_MEM(ev.customer_id.p, ev.customer_id.n, want, strlen(want));
      }
      cxp_arena_json_end();
      cxp_arena_reset(&arena);
    }
  test_ctx = NULL;
  cxp_arena_close(&arena);
}

/* A member's name is one of the fields only when every byte is: a name one
 * byte off, at any place, is an unknown member (the field is then missing),
 * by the fast path and the full parser alike. */
static void test_event_names(void) {
  cxp_arena arena;
  cxp_arena_init(&arena, 4096);
  cxp_arena_json_install();
  static const char *const names[] = {"score", "customer_id", "event_id", "ts"};
  for (size_t f = 0; f < sizeof names / sizeof names[0]; f++)
    for (size_t at = 0; at < strlen(names[f]); at++) {
      char name[32], buf[256], ctx[48];
      snprintf(name, sizeof name, "%s", names[f]);
      name[at] = name[at] == 'q' ? 'r' : 'q';
      snprintf(ctx, sizeof ctx, "%s as %s", names[f], name);
      test_ctx = ctx;
      const char *score = f == 0 ? name : "score", *cid = f == 1 ? name : "customer_id";
      const char *eid = f == 2 ? name : "event_id", *ts = f == 3 ? name : "ts";
      int n = snprintf(buf, sizeof buf,
                       "{\"%s\":\"e1\",\"%s\":\"c1\",\"type\":\"survey.csat\","
                       "\"%s\":\"2026-11-23T07:00:00Z\",\"%s\":5}",
                       eid, cid, ts, score);
      CHECK_INT(decode_both(&arena, buf, (size_t)n), CXP_BAD_MISSING_FIELD);
    }
  test_ctx = NULL;
  cxp_arena_close(&arena);
}

/* The fast path predicts each member's name from the order the last event
 * had (cxp_decode_hint) and checks the prediction with a compare of the
 * name's bytes and its closing quote: a name one byte off, one byte longer
 * or shorter, or the predicted one escaped or spaced from its colon, is
 * read as it is, never as the prediction, and the outcome is the full
 * parser's. */
static void test_event_predicted_names(void) {
  cxp_arena arena;
  cxp_arena_init(&arena, 4096);
  cxp_arena_json_install();
  cxp_decode_hint hint;
  memset(&hint, 0, sizeof hint);
  cxp_decode_opts o = {.max_bytes = 65536, .max_future_ms = 86400000LL, .hint = &hint};
  cxp_event ev;
  char detail[256];
  static const char taught[] =
      "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"survey.csat\","
      "\"ts\":\"2026-11-23T07:00:00Z\",\"score\":5}";
  cxp_arena_json_begin(&arena);
  CHECK_INT(cxp_event_decode(taught, sizeof taught - 1, &o, &ev, detail, sizeof detail),
            CXP_OK);
  /* Every name as predicted: the second event's own values. */
  static const char next[] =
      "{\"event_id\":\"e2\",\"customer_id\":\"c22\",\"type\":\"survey.csat\","
      "\"ts\":\"2026-11-23T08:00:00Z\",\"score\":2}";
  CHECK_INT(cxp_event_decode(next, sizeof next - 1, &o, &ev, detail, sizeof detail),
            CXP_OK);
  CHECK_INT((long long)ev.customer_id.n, 3);
  CHECK(memcmp(ev.customer_id.p, "c22", 3) == 0);
  CHECK_INT(ev.score, 2);
  CHECK_INT(ev.ts_ms, 1795420800000LL);
  cxp_arena_json_end();
  cxp_arena_reset(&arena);

  static const struct {
    const char *score_name; /* in place of "score" */
    const char *reason;
  } cases[] = {{"\"scorf\":", "missing_field"}, {"\"scores\":", "missing_field"},
               {"\"scor\":", "missing_field"},  {"\"sc\\u006fre\":", "ok"},
               {"\"score\" :", "ok"},           {"\"score\"\t:\n", "ok"},
               {"\"Score\":", "missing_field"}, {"\"score\":5,\"score\":", "ok"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char buf[256];
    test_ctx = cases[i].score_name;
    int n = snprintf(buf, sizeof buf,
                     "{\"event_id\":\"e3\",\"customer_id\":\"c1\",\"type\":\"survey.csat\","
                     "\"ts\":\"2026-11-23T09:00:00Z\",%s4}",
                     cases[i].score_name);
    CHECK_STR(cxp_reason_name(decode_both_hinted(&arena, buf, (size_t)n, &hint)),
              cases[i].reason);
  }
  /* The last name's compare near the end of a short message: "ts" then
   * the closing brace, fewer than 16 bytes after the name's quote. */
  test_ctx = "short tail";
  static const char tail[] =
      "{\"event_id\":\"e4\",\"customer_id\":\"c1\",\"type\":\"survey.csat\","
      "\"score\":3,\"ts\":\"2026-11-23T10:00:00Z\"}";
  CHECK_STR(cxp_reason_name(decode_both_hinted(&arena, tail, sizeof tail - 1, &hint)),
            "ok");
  test_ctx = NULL;
  cxp_arena_close(&arena);
}

int main(void) {
  test_event_table();
  test_event_fast_path();
  test_event_servqual_fast();
  test_event_string_scan();
  test_event_names();
  test_event_predicted_names();
  return TEST_REPORT();
}
