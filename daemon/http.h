/* The admin HTTP/1.1 server on the daemon's libuv loop: /metrics, health
 * and the /v1 queries. Requests are parsed by Debian's http-parser
 * (libhttp-parser-dev 2.9; Debian 12 has no llhttp package), never by hand.
 *
 * It serves read-only requests: GET and HEAD, without a body. Routing is the
 * caller's: one synchronous handler runs on the loop for each complete
 * request and fills in the status, content type and body. Everything here
 * runs on the loop thread.
 *
 * Slow or hostile clients must not starve event processing, so every cost is
 * bounded (cxp_http_limits):
 * - connections past max_conns are answered 503 with one non-blocking write
 *   and closed at once;
 * - a request line and headers over max_header_bytes, or more than
 *   max_headers headers, get 431; a request body (Content-Length > 0 or
 *   chunked) gets 413, any method but GET and HEAD 405; a malformed request
 *   400. Every such error closes the connection;
 * - a request must be complete within read_timeout_ms of its first byte (or
 *   of the connection's accept): a slowloris client is cut off, with 408 if
 *   it had started a request. A keep-alive connection is closed after
 *   idle_timeout_ms without a new request;
 * - responses queued but not yet taken by a client that does not read are
 *   bounded by max_pending_bytes: past it the server stops reading that
 *   connection until the writes drain (and the read timeout still runs).
 * Keep-alive follows HTTP/1.1 (persistent unless "Connection: close"; a 1.0
 * request only with "Connection: keep-alive"); pipelined requests are
 * answered in order. */
#ifndef CXP_HTTP_H
#define CXP_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "jsonw.h"

typedef struct cxp_http_limits {
  int max_conns;            /* open connections served at once (64) */
  size_t max_header_bytes;  /* request line and headers (8192) */
  int max_headers;          /* header lines (32) */
  uint64_t read_timeout_ms; /* first byte to complete request (5000) */
  uint64_t idle_timeout_ms; /* keep-alive wait for the next request (30000) */
  size_t max_pending_bytes; /* queued response bytes before reading pauses (1 MiB) */
} cxp_http_limits;

void cxp_http_limits_default(cxp_http_limits *l);

typedef struct cxp_http_request {
  const char *method;        /* "GET" or "HEAD" */
  const char *path;          /* as sent, not percent-decoded; starts with '/' */
  const char *query;         /* after '?', or "" */
  const char *authorization; /* the Authorization header's value, or NULL */
  int http_minor;            /* 1 for HTTP/1.1, 0 for 1.0 */
} cxp_http_request;

typedef struct cxp_http_response {
  int status;               /* 200 unless the handler says otherwise */
  const char *content_type; /* a constant; "text/plain; charset=utf-8" by default */
  const char *headers;      /* extra header lines, each ending "\r\n", or NULL */
  cxp_buf *body;            /* empty on entry; the handler appends. The server
                             * owns it and reuses it across requests. */
} cxp_http_response;

/* Runs on the loop for each complete request; must not block. For HEAD the
 * server sends the headers of the response the handler builds, no body. */
typedef void (*cxp_http_handler)(void *opaque, const cxp_http_request *req,
                                 cxp_http_response *res);

typedef struct cxp_http cxp_http;
typedef void (*cxp_http_stopped_fn)(void *arg);

/* Binds host:port (an IPv4 or IPv6 literal; port 0 picks a free one) and
 * starts serving. 0 with *out set, or a negative libuv error code
 * (uv_strerror names it; UV_EADDRINUSE, UV_EINVAL for a bad address). `lim`
 * NULL means the defaults; it is copied. */
int cxp_http_start(cxp_http **out, uv_loop_t *loop, const char *host, int port,
                   cxp_http_handler handler, void *opaque, const cxp_http_limits *lim);
/* The port bound (the ephemeral one when port 0 was asked). */
int cxp_http_port(const cxp_http *s);
/* Open connections now (not counting those refused). */
int cxp_http_connections(const cxp_http *s);
/* Closes the listener and every connection (responses not yet written are
 * dropped). When every handle's close callback has run, the server frees
 * itself and `done` (may be NULL) runs on the loop. Call once. */
void cxp_http_stop(cxp_http *s, cxp_http_stopped_fn done, void *arg);

/* 1 when the request carries "Authorization: Bearer <token>" (the scheme's
 * case ignored) with exactly this token; compared in constant time, so the
 * response time does not reveal how much of a guess was right. */
int cxp_http_bearer_ok(const cxp_http_request *req, const char *token);
/* Fills in a 401 with WWW-Authenticate: Bearer and a short JSON error. */
void cxp_http_unauthorized(cxp_http_response *res);

/* "OK", "Not Found", ...; "Unknown" for a code it does not know. */
const char *cxp_http_reason(int status);

#endif
