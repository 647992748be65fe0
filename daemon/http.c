#include "http.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <http_parser.h>

#include "log.h"

#define container_of(p, type, member) ((type *)((char *)(p) - offsetof(type, member)))

/* After a response that closes the connection, the server sends FIN and
 * keeps reading (discarding) for at most this long before closing: closing
 * with unread input makes the kernel send RST, which can destroy the
 * response before the client has read it. */
#define LINGER_MS 1000

typedef struct conn conn;

struct cxp_http {
  uv_loop_t *loop;
  uv_tcp_t listener;
  cxp_http_handler handler;
  void *opaque;
  cxp_http_limits lim;
  http_parser_settings settings;
  conn *conns; /* open connections, a doubly linked list */
  int n_conns;
  /* The listener, each conn until freed, each refused socket until closed:
   * the server is freed when this reaches 0 after a stop. */
  int handles;
  int port;
  int stopping;
  cxp_http_stopped_fn done;
  void *done_arg;
  cxp_buf body; /* the handler's body, reused for every request */
  cxp_buf head; /* a response's status line and headers, reused */
  /* Every read lands here: on_read consumes the bytes before returning, so
   * one buffer serves all connections. */
  char rbuf[65536];
};

struct conn {
  uv_tcp_t tcp;
  uv_timer_t timer;
  cxp_http *srv;
  conn *prev, *next;
  http_parser parser;
  int open_handles; /* tcp and timer; freed at 0 */
  int closing;      /* uv_close called */
  int draining;     /* a closing response is queued: input is discarded */
  int shut;         /* uv_shutdown sent */
  int reading;
  int in_request;   /* a request has begun and not completed */
  size_t pending;   /* response bytes handed to uv_write, not yet written */
  uv_shutdown_t shutdown_req;

  /* The request being parsed. */
  cxp_buf url, auth;
  char field[16];
  size_t field_len;
  int field_long;   /* the field name did not fit: not one we look for */
  int in_value;
  int capture_auth; /* the value being read is Authorization's */
  int has_auth;
  size_t header_bytes;
  int n_headers;
  int reject;       /* the status a failing callback wants answered */
};

typedef struct wreq {
  uv_write_t req;
  conn *c;
  size_t len;
  char data[];
} wreq;

void cxp_http_limits_default(cxp_http_limits *l) {
  l->max_conns = 64;
  l->max_header_bytes = 8192;
  l->max_headers = 32;
  l->read_timeout_ms = 5000;
  l->idle_timeout_ms = 30000;
  l->max_pending_bytes = 1 << 20;
}

const char *cxp_http_reason(int status) {
  switch (status) {
  case 200: return "OK";
  case 204: return "No Content";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 413: return "Content Too Large";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 503: return "Service Unavailable";
  default: return "Unknown";
  }
}

/* ---- closing ------------------------------------------------------------- */

static void maybe_done(cxp_http *s) {
  if (!s->stopping || s->handles > 0) return;
  cxp_http_stopped_fn done = s->done;
  void *arg = s->done_arg;
  cxp_buf_free(&s->body);
  cxp_buf_free(&s->head);
  free(s);
  if (done) done(arg);
}

static void on_conn_handle_closed(uv_handle_t *h) {
  conn *c = h->data;
  if (--c->open_handles > 0) return;
  cxp_http *s = c->srv;
  cxp_buf_free(&c->url);
  cxp_buf_free(&c->auth);
  free(c);
  s->handles--;
  maybe_done(s);
}

static void conn_close(conn *c) {
  if (c->closing) return;
  c->closing = 1;
  cxp_http *s = c->srv;
  if (c->prev) c->prev->next = c->next;
  else s->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  s->n_conns--;
  uv_timer_stop(&c->timer);
  /* Pending writes are cancelled: their callbacks run (with UV_ECANCELED)
   * before the close callback, so c outlives them. */
  uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
  uv_close((uv_handle_t *)&c->timer, on_conn_handle_closed);
}

static void on_timeout(uv_timer_t *t) {
  conn *c = t->data;
  /* A request begun and not finished in time: say so, if the socket takes it
   * now; nothing waits for a slow client. */
  if (c->in_request && !c->draining && c->pending == 0) {
    static const char msg[] = "HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain; "
                              "charset=utf-8\r\nContent-Length: 16\r\nConnection: close\r\n"
                              "\r\nRequest Timeout\n";
    uv_buf_t b = uv_buf_init((char *)msg, sizeof msg - 1);
    uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
  }
  cxp_debug("http", "connection timed out%s", c->in_request ? " mid-request" : "");
  conn_close(c);
}

static void arm(conn *c, uint64_t ms) { uv_timer_start(&c->timer, on_timeout, ms, 0); }

static void on_shutdown(uv_shutdown_t *req, int status) {
  (void)req;
  (void)status;
  /* The linger timer armed with the FIN, or the client's EOF, closes it. */
}

/* ---- writing ------------------------------------------------------------- */

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);
static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf);

static void start_reading(conn *c) {
  if (c->reading || c->closing) return;
  if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0) c->reading = 1;
}

static void on_written(uv_write_t *req, int status) {
  wreq *w = container_of(req, wreq, req);
  conn *c = w->c;
  c->pending -= w->len;
  free(w);
  if (c->closing) return;
  if (status < 0) {
    conn_close(c);
    return;
  }
  if (c->pending > 0) {
    if (!c->draining && c->pending <= c->srv->lim.max_pending_bytes / 2) start_reading(c);
    return;
  }
  if (c->draining) {
    /* The last response of the connection is out: FIN, then linger. */
    if (!c->shut) {
      c->shut = 1;
      if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
        conn_close(c);
        return;
      }
      arm(c, LINGER_MS < c->srv->lim.read_timeout_ms ? LINGER_MS : c->srv->lim.read_timeout_ms);
      start_reading(c);
    }
    return;
  }
  start_reading(c);
  if (!c->in_request) arm(c, c->srv->lim.idle_timeout_ms);
}

/* Queues one response. `close` ends the connection after it. */
static void respond(conn *c, int status, const char *ctype, const char *extra, const char *body,
                    size_t blen, int head_only, int close) {
  cxp_http *s = c->srv;
  cxp_buf *h = &s->head;
  cxp_buf_reset(h);
  cxp_buf_printf(h, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n", status,
                 cxp_http_reason(status), ctype, blen);
  if (extra) cxp_buf_puts(h, extra);
  if (close) cxp_buf_puts(h, "Connection: close\r\n");
  else if (c->parser.http_major == 1 && c->parser.http_minor == 0)
    cxp_buf_puts(h, "Connection: keep-alive\r\n");
  cxp_buf_puts(h, "\r\n");
  if (head_only) blen = 0;
  wreq *w = malloc(sizeof *w + h->len + blen);
  if (w == NULL) {
    conn_close(c);
    return;
  }
  w->c = c;
  w->len = h->len + blen;
  memcpy(w->data, h->p, h->len);
  if (blen) memcpy(w->data + h->len, body, blen);
  uv_buf_t b = uv_buf_init(w->data, (unsigned)w->len);
  if (close) {
    c->draining = 1;
    /* Whatever the client pipelined after this request is not parsed. (A
     * parser already in error stops by itself; pausing it would assert.) */
    if (HTTP_PARSER_ERRNO(&c->parser) == HPE_OK) http_parser_pause(&c->parser, 1);
  }
  if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
    free(w);
    conn_close(c);
    return;
  }
  c->pending += w->len;
  /* The response must be taken within the read timeout too. */
  arm(c, s->lim.read_timeout_ms);
  if (c->pending > s->lim.max_pending_bytes && c->reading) {
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = 0;
  }
}

static void respond_error(conn *c, int status) {
  char body[64];
  int n = snprintf(body, sizeof body, "%s\n", cxp_http_reason(status));
  respond(c, status, "text/plain; charset=utf-8", status == 405 ? "Allow: GET, HEAD\r\n" : NULL,
          body, (size_t)n, 0, 1);
}

/* ---- parsing ------------------------------------------------------------- */

static int over(conn *c, size_t add) {
  c->header_bytes += add;
  if (c->header_bytes > c->srv->lim.max_header_bytes) {
    c->reject = 431;
    return 1;
  }
  return 0;
}

static int on_message_begin(http_parser *p) {
  conn *c = p->data;
  cxp_buf_reset(&c->url);
  cxp_buf_reset(&c->auth);
  c->field_len = 0;
  c->field_long = c->in_value = c->capture_auth = c->has_auth = 0;
  c->header_bytes = 0;
  c->n_headers = 0;
  c->reject = 0;
  c->in_request = 1;
  arm(c, c->srv->lim.read_timeout_ms);
  return 0;
}

static int on_url(http_parser *p, const char *at, size_t len) {
  conn *c = p->data;
  if (over(c, len)) return -1;
  cxp_buf_put(&c->url, at, len);
  return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len) {
  conn *c = p->data;
  /* The parser may hand a name over in pieces; a name after a value starts a
   * new header line. ": " and CRLF count towards the size too. */
  if (c->in_value || c->n_headers == 0) {
    c->in_value = 0;
    c->field_len = 0;
    c->field_long = 0;
    if (++c->n_headers > c->srv->lim.max_headers) {
      c->reject = 431;
      return -1;
    }
    if (over(c, 4)) return -1;
  }
  if (over(c, len)) return -1;
  if (c->field_len + len > sizeof c->field) c->field_long = 1;
  else {
    memcpy(c->field + c->field_len, at, len);
    c->field_len += len;
  }
  return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len) {
  conn *c = p->data;
  if (!c->in_value) {
    c->in_value = 1;
    c->capture_auth = !c->field_long && c->field_len == 13 &&
                      strncasecmp(c->field, "authorization", 13) == 0;
    /* A repeated Authorization header: the last one counts. */
    if (c->capture_auth) {
      cxp_buf_reset(&c->auth);
      c->has_auth = 1;
    }
  }
  if (over(c, len)) return -1;
  if (c->capture_auth) cxp_buf_put(&c->auth, at, len);
  return 0;
}

static int on_headers_complete(http_parser *p) {
  conn *c = p->data;
  if (p->method != HTTP_GET && p->method != HTTP_HEAD) {
    c->reject = 405;
    return -1;
  }
  /* A read-only server takes no body; refusing it here means the body is
   * never read, which is why the connection is closed after the 413. */
  if ((p->flags & F_CHUNKED) || (p->content_length > 0 && p->content_length != ULLONG_MAX)) {
    c->reject = 413;
    return -1;
  }
  return 0;
}

static int on_message_complete(http_parser *p) {
  conn *c = p->data;
  cxp_http *s = c->srv;
  c->in_request = 0;
  struct http_parser_url u;
  http_parser_url_init(&u);
  if (c->url.len == 0 || http_parser_parse_url(c->url.p, c->url.len, 0, &u) != 0 ||
      !(u.field_set & (1 << UF_PATH))) {
    respond_error(c, 400);
    return 0;
  }
  /* Path and query as NUL-terminated strings, cut out of the URL buffer: the
   * query first (it lies after the path), then the path. */
  char *url = c->url.p;
  const char *query = "";
  if (u.field_set & (1 << UF_QUERY)) {
    url[u.field_data[UF_QUERY].off + u.field_data[UF_QUERY].len] = '\0';
    query = url + u.field_data[UF_QUERY].off;
  }
  url[u.field_data[UF_PATH].off + u.field_data[UF_PATH].len] = '\0';

  cxp_http_request req = {
      .method = p->method == HTTP_HEAD ? "HEAD" : "GET",
      .path = url + u.field_data[UF_PATH].off,
      .query = query,
      .authorization = c->has_auth ? (c->auth.p ? c->auth.p : "") : NULL,
      .http_minor = p->http_minor,
  };
  cxp_buf_reset(&s->body);
  cxp_http_response res = {200, "text/plain; charset=utf-8", NULL, &s->body};
  s->handler(s->opaque, &req, &res);
  int keep = http_should_keep_alive(p);
  respond(c, res.status, res.content_type ? res.content_type : "text/plain; charset=utf-8",
          res.headers, s->body.p, s->body.len, p->method == HTTP_HEAD, !keep);
  return 0;
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  conn *c = h->data;
  buf->base = c->srv->rbuf;
  buf->len = sizeof c->srv->rbuf;
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf) {
  conn *c = st->data;
  if (nread == 0) return;
  if (nread < 0) {
    /* EOF or an error. Answers still being written to a client that only
     * half-closed are let out first. */
    if (nread == UV_EOF && c->pending > 0 && !c->in_request) {
      c->draining = 1;
      uv_read_stop(st);
      c->reading = 0;
      return;
    }
    conn_close(c);
    return;
  }
  if (c->draining) return;
  http_parser_execute(&c->parser, &c->srv->settings, buf->base, (size_t)nread);
  enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
  if (e == HPE_OK || e == HPE_PAUSED || c->closing) return;
  int status = c->reject ? c->reject : e == HPE_HEADER_OVERFLOW ? 431 : 400;
  c->in_request = 0;
  respond_error(c, status);
}

/* ---- accepting ----------------------------------------------------------- */

static void on_refused_closed(uv_handle_t *h) {
  cxp_http *s = h->data;
  free(h);
  s->handles--;
  maybe_done(s);
}

static void refuse(cxp_http *s, uv_stream_t *server) {
  /* Accepted only to be told no: leaving it in the backlog would hold the
   * client without an answer. One write that never waits, then close. */
  static const char msg[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; "
                            "charset=utf-8\r\nContent-Length: 20\r\nConnection: close\r\n\r\n"
                            "Service Unavailable\n";
  uv_tcp_t *t = malloc(sizeof *t);
  if (t == NULL) return;
  uv_tcp_init(s->loop, t);
  t->data = s;
  s->handles++;
  if (uv_accept(server, (uv_stream_t *)t) == 0) {
    uv_buf_t b = uv_buf_init((char *)msg, sizeof msg - 1);
    uv_try_write((uv_stream_t *)t, &b, 1);
  }
  uv_close((uv_handle_t *)t, on_refused_closed);
}

static void on_connection(uv_stream_t *server, int status) {
  cxp_http *s = server->data;
  if (status < 0) {
    cxp_warn("http", "accept: %s", uv_strerror(status));
    return;
  }
  if (s->n_conns >= s->lim.max_conns) {
    cxp_debug("http", "refusing a connection: %d open", s->n_conns);
    refuse(s, server);
    return;
  }
  conn *c = calloc(1, sizeof *c);
  if (c == NULL) {
    refuse(s, server);
    return;
  }
  c->srv = s;
  uv_tcp_init(s->loop, &c->tcp);
  uv_timer_init(s->loop, &c->timer);
  c->tcp.data = c->timer.data = c;
  c->open_handles = 2;
  cxp_buf_init(&c->url);
  cxp_buf_init(&c->auth);
  http_parser_init(&c->parser, HTTP_REQUEST);
  c->parser.data = c;
  c->next = s->conns;
  if (s->conns) s->conns->prev = c;
  s->conns = c;
  s->n_conns++;
  s->handles++;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
    conn_close(c);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  /* A connection that never sends a byte is a slowloris too. */
  arm(c, s->lim.read_timeout_ms);
  start_reading(c);
}

/* ---- the server ---------------------------------------------------------- */

static void on_listener_closed(uv_handle_t *h) {
  cxp_http *s = h->data;
  s->handles--;
  maybe_done(s);
}

int cxp_http_start(cxp_http **out, uv_loop_t *loop, const char *host, int port,
                   cxp_http_handler handler, void *opaque, const cxp_http_limits *lim) {
  *out = NULL;
  struct sockaddr_storage addr;
  int r = strchr(host, ':') ? uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr)
                            : uv_ip4_addr(host, port, (struct sockaddr_in *)&addr);
  if (r) return r;
  cxp_http *s = calloc(1, sizeof *s);
  if (s == NULL) return UV_ENOMEM;
  s->loop = loop;
  s->handler = handler;
  s->opaque = opaque;
  if (lim) s->lim = *lim;
  else cxp_http_limits_default(&s->lim);
  if (s->lim.max_conns < 1) s->lim.max_conns = 1;
  http_parser_settings_init(&s->settings);
  s->settings.on_message_begin = on_message_begin;
  s->settings.on_url = on_url;
  s->settings.on_header_field = on_header_field;
  s->settings.on_header_value = on_header_value;
  s->settings.on_headers_complete = on_headers_complete;
  s->settings.on_message_complete = on_message_complete;
  cxp_buf_init(&s->body);
  cxp_buf_init(&s->head);
  uv_tcp_init(loop, &s->listener);
  s->listener.data = s;
  s->handles = 1;
  r = uv_tcp_bind(&s->listener, (const struct sockaddr *)&addr, 0);
  if (r == 0) r = uv_listen((uv_stream_t *)&s->listener, 128, on_connection);
  if (r == 0) {
    struct sockaddr_storage bound;
    int len = sizeof bound;
    r = uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &len);
    if (r == 0)
      s->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                  : ((struct sockaddr_in *)&bound)->sin_port);
  }
  if (r) {
    /* Freed by the listener's close callback on the loop's next turn. */
    s->stopping = 1;
    uv_close((uv_handle_t *)&s->listener, on_listener_closed);
    return r;
  }
  *out = s;
  return 0;
}

int cxp_http_port(const cxp_http *s) { return s->port; }
int cxp_http_connections(const cxp_http *s) { return s->n_conns; }

void cxp_http_stop(cxp_http *s, cxp_http_stopped_fn done, void *arg) {
  if (s->stopping) return;
  s->stopping = 1;
  s->done = done;
  s->done_arg = arg;
  uv_close((uv_handle_t *)&s->listener, on_listener_closed);
  while (s->conns) conn_close(s->conns);
}

/* ---- authorization ------------------------------------------------------- */

int cxp_http_bearer_ok(const cxp_http_request *req, const char *token) {
  const char *a = req->authorization;
  if (a == NULL || token == NULL || token[0] == '\0') return 0;
  if (strncasecmp(a, "Bearer ", 7) != 0) return 0;
  a += 7;
  while (*a == ' ') a++;
  size_t n = strlen(token), m = strlen(a);
  /* Time depends on the configured token's length only. */
  unsigned diff = n != m;
  for (size_t i = 0; i < n; i++)
    diff |= (unsigned)(unsigned char)token[i] ^ (unsigned)(unsigned char)(i < m ? a[i] : 0);
  return diff == 0;
}

void cxp_http_unauthorized(cxp_http_response *res) {
  res->status = 401;
  res->content_type = "application/json";
  res->headers = "WWW-Authenticate: Bearer realm=\"cxpulse\"\r\n";
  cxp_buf_reset(res->body);
  cxp_buf_puts(res->body, "{\"error\":\"unauthorized\"}\n");
}
