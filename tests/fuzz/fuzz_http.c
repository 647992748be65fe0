/* Fuzz target: the admin HTTP server's request handling (daemon/shell/httpconn.c),
 * through cxp_http_feed: the bytes a client sends, as one connection's
 * reads, with the parser, the limits and the handler of a real connection,
 * and no socket or loop (thousands of inputs a second).
 *
 * The first byte chooses the size of the reads (0: all at once, else that
 * many bytes each), the second the limits (bit 0: a response queue of 200
 * bytes, so that pipelined requests wait for the queue to drain and go on
 * from where they stopped; bit 1: 256 header bytes and 4 headers); the rest
 * is what the client sends.
 *
 * What must hold, or the target aborts: the handler sees what http.h
 * promises (GET or HEAD, a path starting with '/', NUL-terminated strings);
 * what the server sends back parses as HTTP/1.1 responses with bodies as
 * long as they say (none for HEAD), one for each request the handler
 * answered, in order, and after them at most one error (400, 405, 413, 431,
 * 505), which closes the connection; a response that says "Connection: close" is
 * the last, and the server reports the connection closed. */
#include <http_parser.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "jsonw.h"

#define MAX_CALLS 4096

typedef struct calls {
  int n;
  unsigned char head[MAX_CALLS]; /* each call's request was a HEAD */
} calls;

static void fail(const char *why, const uint8_t *data, size_t size) {
  fprintf(stderr, "fuzz_http: %s; input of %zu bytes: %.*s\n", why, size,
          (int)(size > 400 ? 400 : size), (const char *)data);
  abort();
}

static void handler(void *opaque, const cxp_http_request *req, cxp_http_response *res) {
  calls *k = opaque;
  int head = strcmp(req->method, "HEAD") == 0;
  if (!head && strcmp(req->method, "GET") != 0) abort();
  if (req->path == NULL || req->path[0] != '/' || req->query == NULL) abort();
  if (req->http_minor != 0 && req->http_minor != 1) abort();
  if (k->n < MAX_CALLS) k->head[k->n] = (unsigned char)head;
  k->n++;
  /* The strings are read to their end, so that ASan sees any overrun. */
  if (strncmp(req->path, "/v1/", 4) == 0 && !cxp_http_bearer_ok(req, "t0ken")) {
    cxp_http_unauthorized(res);
    return;
  }
  if (strcmp(req->path, "/missing") == 0) {
    res->status = 404;
    return;
  }
  res->content_type = "application/json";
  res->headers = "X-Route: fuzz\r\n";
  cxp_buf_printf(res->body, "{\"path\":\"%s\",\"query\":\"%s\",\"auth\":%zu}", req->path,
                 req->query, req->authorization ? strlen(req->authorization) : (size_t)0);
  if (strcmp(req->path, "/big") == 0)
    for (int i = 0; i < 64; i++) cxp_buf_puts(res->body, "0123456789abcdef");
}

/* ---- the server's output, read back ------------------------------------ */

typedef struct reader {
  const calls *k;
  int n;          /* responses complete */
  int status;     /* of the one being read */
  int error_seen; /* an error response has been read */
  int close_seen; /* a response said Connection: close */
  int in_conn;    /* the header being read is Connection */
  int bad;        /* a rule broken; the reason in why */
  const char *why;
} reader;

static int error_status(int s) {
  return s == 400 || s == 405 || s == 413 || s == 431 || s == 505;
}

static int r_field(http_parser *p, const char *at, size_t len) {
  reader *r = p->data;
  r->in_conn = len == 10 && strncasecmp(at, "Connection", 10) == 0;
  return 0;
}

static int r_value(http_parser *p, const char *at, size_t len) {
  reader *r = p->data;
  if (r->in_conn && len == 5 && strncmp(at, "close", 5) == 0) r->close_seen = 1;
  return 0;
}

static int r_begin(http_parser *p) {
  reader *r = p->data;
  if (r->close_seen || r->error_seen) {
    r->bad = 1;
    r->why = "a response after one that closed the connection";
    return -1;
  }
  return 0;
}

static int r_headers(http_parser *p) {
  reader *r = p->data;
  r->status = (int)p->status_code;
  if (error_status(r->status)) {
    /* Errors come after every answered request, and carry a body. */
    if (r->n != r->k->n) {
      r->bad = 1;
      r->why = "an error response before the handler's last answer";
      return -1;
    }
    r->error_seen = 1;
    return 0;
  }
  if (r->status != 200 && r->status != 401 && r->status != 404) {
    r->bad = 1;
    r->why = "a status neither the handler nor the server gives";
    return -1;
  }
  if (r->n >= r->k->n) {
    r->bad = 1;
    r->why = "more answers than requests answered";
    return -1;
  }
  /* 1: a response to HEAD, with no body whatever its Content-Length. */
  return r->n < MAX_CALLS && r->k->head[r->n] ? 1 : 0;
}

static int r_complete(http_parser *p) {
  reader *r = p->data;
  r->n++;
  r->in_conn = 0;
  return 0;
}

static void check_output(const calls *k, const cxp_buf *out, int closed,
                         const uint8_t *data, size_t size) {
  static http_parser_settings st;
  if (st.on_message_complete == NULL) {
    http_parser_settings_init(&st);
    st.on_message_begin = r_begin;
    st.on_header_field = r_field;
    st.on_header_value = r_value;
    st.on_headers_complete = r_headers;
    st.on_message_complete = r_complete;
  }
  reader r = {k, 0, 0, 0, 0, 0, 0, NULL};
  http_parser p;
  http_parser_init(&p, HTTP_RESPONSE);
  p.data = &r;
  size_t n = http_parser_execute(&p, &st, out->p ? out->p : "", out->len);
  if (r.bad) fail(r.why, data, size);
  if (HTTP_PARSER_ERRNO(&p) != HPE_OK || n != out->len) {
    fprintf(stderr, "fuzz_http: output (%zu bytes): %.*s\n", out->len,
            (int)(out->len > 2000 ? 2000 : out->len), out->p);
    fail(http_errno_description(HTTP_PARSER_ERRNO(&p)), data, size);
  }
  /* As many responses as answers and errors: none cut short, none missing
   * (the parser stopped between messages). */
  if (r.n != k->n + r.error_seen)
    fail("responses and answers differ in number", data, size);
  if ((r.close_seen || r.error_seen) && !closed)
    fail("closing response, open connection", data, size);
  if (closed && !(r.close_seen || r.error_seen))
    fail("closed without saying so", data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static cxp_buf out;
  static calls k;
  if (size < 2) return 0;
  size_t chunk = data[0];
  cxp_http_limits lim;
  cxp_http_limits_default(&lim);
  if (data[1] & 1) lim.max_pending_bytes = 200;
  if (data[1] & 2) {
    lim.max_header_bytes = 256;
    lim.max_headers = 4;
  }
  cxp_buf_reset(&out);
  k.n = 0;
  int closed =
      cxp_http_feed(&lim, handler, &k, (const char *)data + 2, size - 2, chunk, &out);
  check_output(&k, &out, closed, data, size);
  return 0;
}
