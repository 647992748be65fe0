/* The operations console's routes on the admin endpoint (admin.h):
 * /v1/cases, /v1/segments and /v1/alerts from the daemon's view (view.h),
 * and the query strings they take, parsed strictly: percent-decoded, every
 * parameter known and given once, every value checked, or 400 with a
 * sentence saying which. */
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "alert.h"
#include "log.h"
#include "view.h"

#define PARAMS_MAX 6
#define VALUE_MAX 256

/* Headers of every console answer: JSON that is never sniffed as markup,
 * and never cached (it is live, and may be behind a token). */
static const char *const json_headers =
    "X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\n";

static void json_error(cxp_http_response *res, int status, const char *msg) {
  cxp_buf tmp;
  cxp_buf_init(&tmp);
  cxp_jw j;
  cxp_jw_init(&j, &tmp);
  cxp_jw_obj(&j, NULL);
  cxp_jw_cstr(&j, "error", msg);
  cxp_jw_end(&j);
  cxp_buf_reset(res->body);
  cxp_view_put_json(res->body, tmp.p, tmp.len);
  cxp_buf_free(&tmp);
  res->status = status;
  res->content_type = "application/json";
  res->headers = json_headers;
}

static int hex(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int cxp_percent_decode(const char *s, size_t n, int plus_space, char *out, size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    int c = (unsigned char)s[i];
    if (c == '%') {
      if (i + 2 >= n) return -1; /* "%" or "%x" at the end */
      int a = hex((unsigned char)s[i + 1]), b = hex((unsigned char)s[i + 2]);
      if (a < 0 || b < 0) return -1;
      c = a * 16 + b;
      i += 2;
    } else if (c == '+' && plus_space) {
      c = ' ';
    }
    if (c == 0 || o + 1 >= cap) return -1; /* no NUL inside, and it must fit */
    out[o++] = (char)c;
  }
  out[o] = '\0';
  return 0;
}

/* The query string's parameters into vals, by their place in `known`
 * (NULL-terminated); a parameter absent leaves its value "". 0, or -1 with
 * the sentence for a 400 in err. */
static int parse_query(const char *q, const char *const *known, char vals[][VALUE_MAX],
                       char *err, size_t errlen) {
  int seen[PARAMS_MAX] = {0};
  for (int k = 0; known[k]; k++) vals[k][0] = '\0';
  while (q && *q) {
    const char *amp = strchr(q, '&'), *end = amp ? amp : q + strlen(q);
    const char *eq = memchr(q, '=', (size_t)(end - q));
    const char *kend = eq ? eq : end;
    char name[VALUE_MAX], val[VALUE_MAX];
    if (kend == q) {
      if (end != q) { /* "=x": a value without a name */
        snprintf(err, errlen, "a query parameter without a name");
        return -1;
      }
    } else if (cxp_percent_decode(q, (size_t)(kend - q), 1, name, sizeof name) != 0 ||
               (eq && cxp_percent_decode(eq + 1, (size_t)(end - eq - 1), 1, val,
                                         sizeof val) != 0)) {
      snprintf(err, errlen, "a query parameter is not well percent-encoded, or is over %d "
               "bytes", VALUE_MAX - 1);
      return -1;
    } else {
      if (!eq) val[0] = '\0';
      int k = 0;
      while (known[k] && strcmp(known[k], name) != 0) k++;
      if (known[k] == NULL) {
        char list[128] = "";
        for (int i = 0; known[i]; i++)
          snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                   known[i]);
        snprintf(err, errlen, "unknown query parameter '%.64s' (this route takes %s)", name,
                 list);
        return -1;
      }
      if (seen[k]++) {
        snprintf(err, errlen, "query parameter '%s' given twice", known[k]);
        return -1;
      }
      memcpy(vals[k], val, strlen(val) + 1);
    }
    q = amp ? amp + 1 : end;
  }
  return 0;
}

/* limit: absent is `dflt`; else a whole number 1..max. 0, or -1 with err. */
static int parse_limit(const char *s, uint32_t dflt, uint32_t max, uint32_t *out, char *err,
                       size_t errlen) {
  if (s[0] == '\0') {
    *out = dflt;
    return 0;
  }
  unsigned long long v = 0;
  size_t i = 0;
  for (; s[i] >= '0' && s[i] <= '9' && v <= max; i++) v = v * 10 + (unsigned)(s[i] - '0');
  if (s[i] != '\0' || i == 0 || v < 1 || v > max) {
    snprintf(err, errlen, "limit must be a whole number from 1 to %u", max);
    return -1;
  }
  *out = (uint32_t)v;
  return 0;
}

/* GET /v1/cases?state=open|overdue|all&role=&segment=&limit= */
static void cases(const cxp_view *v, const char *query, cxp_http_response *res) {
  static const char *const known[] = {"state", "role", "segment", "limit", NULL};
  char vals[PARAMS_MAX][VALUE_MAX], err[256];
  cxp_view_case_query q = {CXP_VIEW_OPEN, NULL, NULL, NULL, 100, cxp_wall_ms()};
  if (parse_query(query, known, vals, err, sizeof err) != 0 ||
      parse_limit(vals[3], 100, 1000, &q.limit, err, sizeof err) != 0) {
    json_error(res, 400, err);
    return;
  }
  if (strcmp(vals[0], "overdue") == 0)
    q.state = CXP_VIEW_OVERDUE;
  else if (strcmp(vals[0], "all") == 0)
    q.state = CXP_VIEW_ALL;
  else if (vals[0][0] && strcmp(vals[0], "open") != 0) {
    json_error(res, 400, "state must be open, overdue or all");
    return;
  }
  q.role = vals[1];
  q.segment = vals[2];
  cxp_view_cases_json(v, &q, res->body);
}

/* GET /v1/alerts?type=&priority=&limit= */
static void alerts(const cxp_view *v, const char *query, cxp_http_response *res) {
  static const char *const known[] = {"type", "priority", "limit", NULL};
  char vals[PARAMS_MAX][VALUE_MAX], err[256];
  cxp_view_alert_query q = {NULL, 0, 100};
  if (parse_query(query, known, vals, err, sizeof err) != 0 ||
      parse_limit(vals[2], 100, 1000, &q.limit, err, sizeof err) != 0) {
    json_error(res, 400, err);
    return;
  }
  if (vals[1][0]) {
    /* As tail --priority takes it; a bare digit too, as this always did. */
    q.priority = cxp_alert_priority_parse(vals[1], 1);
    if (q.priority < 0) {
      json_error(res, 400, "priority must be P1, P2, P3 or P4");
      return;
    }
  }
  q.type = vals[0];
  cxp_view_alerts_json(v, &q, res->body);
}

int cxp_console_route(cxp_daemon *d, const cxp_http_request *req, cxp_http_response *res) {
  const char *p = req->path;
  int which = strcmp(p, "/v1/cases") == 0      ? 1
              : strcmp(p, "/v1/segments") == 0 ? 2
              : strcmp(p, "/v1/alerts") == 0   ? 3
                                               : 0;
  if (which == 0) return 0;
  const cxp_view *v = cxp_daemon_view(d);
  if (v == NULL) {
    json_error(res, 503, "the console's view is off (console.enabled) on this instance");
    return 1;
  }
  res->content_type = "application/json";
  res->headers = json_headers;
  if (which == 1) {
    cases(v, req->query, res);
  } else if (which == 3) {
    alerts(v, req->query, res);
  } else if (req->query && req->query[0]) {
    json_error(res, 400, "/v1/segments takes no query parameters");
  } else {
    cxp_view_segments_json(v, res->body);
  }
  return 1;
}
