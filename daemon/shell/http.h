/* The admin HTTP/1.1 server on the daemon's libuv loop: /metrics, health
 * and the /v1 queries. Requests are parsed by Debian's http-parser
 * (libhttp-parser-dev 2.9; Debian 12 has no llhttp package), never by hand.
 *
 * It serves read-only requests: GET and HEAD, without a body. Routing is the
 * caller's: one synchronous handler runs on the loop for each complete
 * request and fills in the status, content type and body. Everything here
 * runs on the loop thread.
 *
 * Sockets are watched with uv_poll_t and written with send(MSG_NOSIGNAL):
 * libuv's stream writes use write(2)/writev, which raise SIGPIPE when the
 * client has gone, and a client that pipelines requests and closes early
 * must not be able to kill the process, whatever its SIGPIPE disposition.
 *
 * Slow or hostile clients must not starve event processing nor lock
 * monitoring out, so every cost is bounded (cxp_http_limits):
 * - a request's line and headers must arrive within header_timeout_ms (and
 *   read_timeout_ms) of the connection's accept, or on a kept-alive
 *   connection of the request's first byte: a slowloris client is cut off,
 *   with 408 if it had started a request. A keep-alive connection is closed
 *   after idle_timeout_ms without a new request;
 * - at max_conns, a new connection takes the place of the open one that has
 *   sent the least of its request (one lingering after its last response
 *   first, then idle or barely started ones; never one whose complete
 *   request is being answered), so slow clients cannot keep a scrape out.
 *   A connection accepted less than 25 ms ago is not dropped: when only such
 *   ones could make room, newcomers wait in the listener's backlog until one
 *   can be, which also paces clients that reconnect at once. Only when every
 *   connection is being answered is the newcomer told 503 with one
 *   non-blocking write;
 * - one client address (an IPv6 /64) holds at most max_conns_per_addr
 *   connections; past that its newcomer takes the place of one of its own,
 *   so one remote host cannot crowd out the others. Loopback is exempt (all
 *   local clients share it; see make_room() in httpaccept.c);
 * - a request line and headers over max_header_bytes, or more than
 *   max_headers headers, get 431; a request body (Content-Length > 0 or
 *   chunked) gets 413, any method but GET and HEAD 405, a version but
 *   HTTP/1.x 505; a malformed request, one without a path (the asterisk
 *   form), or one with two Authorization headers, 400. Every such error
 *   closes the connection;
 * - responses queued but not yet taken by a client that does not read are
 *   bounded by max_pending_bytes: past it the server stops parsing that
 *   connection's pipelined requests until the queue drains (and the read
 *   timeout still runs).
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
  int max_conns;              /* open connections served at once (64) */
  int max_conns_per_addr;     /* per client address, loopback exempt; 0: no limit (16) */
  size_t max_header_bytes;    /* request line and headers (8192) */
  int max_headers;            /* header lines (32) */
  uint64_t header_timeout_ms; /* accept (or first byte) to end of headers (2000) */
  uint64_t read_timeout_ms;   /* first byte to complete request; response taken (5000) */
  uint64_t idle_timeout_ms;   /* keep-alive wait for the next request (30000) */
  size_t max_pending_bytes;   /* queued response bytes before parsing pauses (1 MiB) */
} cxp_http_limits;

void cxp_http_limits_default(cxp_http_limits *l);

typedef struct cxp_http_request {
  const char *method;        /* "GET" or "HEAD" */
  const char *path;          /* as sent, not percent-decoded; starts with '/' */
  const char *query;         /* after '?', or "" */
  const char *authorization; /* the Authorization header's value, or NULL */
  int http_minor;            /* 1 for HTTP/1.1 (and a later 1.x), 0 for 1.0 */
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

/* What the limits did, since the start. */
typedef struct cxp_http_stats {
  uint64_t accepted;  /* connections served (evicted ones included) */
  uint64_t evicted;   /* closed to make room for a newcomer */
  uint64_t refused;   /* told 503: nothing could make room */
  uint64_t timed_out; /* cut off by the header, read or idle timeout */
} cxp_http_stats;
cxp_http_stats cxp_http_get_stats(const cxp_http *s);
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

/* Test hook (tests/fuzz/fuzz_http.c): runs `len` bytes through a fresh
 * connection of a server that has no socket and no loop, as reads of `chunk`
 * bytes each (0: one read), from a client that takes every response at
 * once; the response bytes are appended to `out` (the caller's). The same
 * parsing, limits and handler calls as a real connection; timers do not
 * run. Returns 1 when the server would have closed the connection, else 0.
 * Allocates nothing that outlives the call. */
int cxp_http_feed(const cxp_http_limits *lim, cxp_http_handler handler, void *opaque,
                  const char *data, size_t len, size_t chunk, cxp_buf *out);

#endif
