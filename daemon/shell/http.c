#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <http_parser.h>

#include "log.h"

#define container_of(p, type, member) ((type *)((char *)(p) - offsetof(type, member)))

/* After a response that closes the connection, the server sends FIN and
 * keeps reading (discarding) for at most this long before closing: closing
 * with unread input makes the kernel send RST, which can destroy the
 * response before the client has read it. */
#define LINGER_MS 1000

/* A connection waiting for a request less than this long is not judged by
 * how little it has sent when room must be made: a client that connects and
 * then writes its request has not had the time to, and may not even have
 * been read yet. It also paces the turnover of a full server (see
 * make_room): 64 connections per FRESH_MS at most. */
#define FRESH_MS 25

/* Connections taken from the backlog per wake-up of the listener, so that a
 * flood of them cannot hold the loop; the rest wait for the next turn. */
#define ACCEPT_BATCH 64

/* The listener's backlog. 300 clients reconnecting at once must not
 * overflow it: a dropped SYN is retried only after a second, far beyond a
 * scrape's patience. The kernel caps it at net.core.somaxconn. */
#define BACKLOG 1024

/* With no descriptor left (EMFILE) and nothing to drop, the listener rests
 * this long instead of spinning on a backlog it cannot take from. */
#define ACCEPT_RETRY_MS 100

/* A freed output buffer larger than this is released, not kept: an idle
 * connection should not hold a megabyte it once needed. */
#define KEEP_OUT_BYTES 65536

typedef struct conn conn;

/* A client's address as the per-address limit counts it: IPv4, or an IPv6
 * /64 (one host commonly holds a whole /64, so counting single addresses
 * there would count nothing). */
typedef struct addr_key {
  unsigned char len; /* 4 or 8 bytes of b are compared */
  unsigned char b[8];
} addr_key;

struct cxp_http {
  uv_loop_t *loop; /* NULL for cxp_http_feed's server */
  uv_poll_t listener;
  uv_timer_t retry; /* restarts the listener after EMFILE */
  int lfd;
  cxp_http_handler handler;
  void *opaque;
  cxp_http_limits lim;
  http_parser_settings settings;
  conn *conns; /* open connections, a doubly linked list, newest first */
  int n_conns;
  /* The listener, the retry timer, each conn until freed: the server is
   * freed when this reaches 0 after a stop. */
  int handles;
  int port;
  int stopping;
  int resting; /* the listener waits for a connection to drop, or for a descriptor */
  unsigned round; /* make_room()'s passes, to read each candidate once per pass */
  cxp_http_stats stats;
  cxp_http_stopped_fn done;
  void *done_arg;
  cxp_buf body; /* the handler's body, reused for every request */
  /* Every read lands here and is parsed before the read returns (what the
   * parser cannot take yet is copied to the connection's `in`), so one
   * buffer serves all connections. */
  char rbuf[65536];
};

struct conn {
  uv_poll_t poll;
  uv_timer_t timer;
  int fd; /* -1 for cxp_http_feed's connection */
  cxp_http *srv;
  conn *prev, *next;
  http_parser parser;
  int open_handles; /* poll and timer; freed at 0 */
  int closing;      /* conn_close called */
  int draining;     /* a closing response is queued: input is discarded */
  int shut;         /* shutdown(SHUT_WR) done: lingering for the client's FIN */
  int held;         /* the parser is paused until queued output drains */
  int eof;          /* the client has half-closed: nothing more to read */
  int events;       /* what the poll handle watches now */
  int in_request;   /* a request has begun and not completed */
  int begun;        /* a request has begun on this connection since accept */
  addr_key key;
  int key_limited;  /* the per-address limit applies to key */
  uint64_t waiting_since; /* loop time of the accept or the last complete request */
  unsigned round;         /* the make_room() pass that last read it */

  /* Responses queued: out[out_off..] is not sent yet. out[0..answer_end)
   * holds answers to complete requests, which are never dropped; past it
   * there can only be an error response. */
  cxp_buf out;
  size_t out_off, answer_end;
  /* Input read while the parser was held: in[in_off..] is parsed first. */
  cxp_buf in;
  size_t in_off;
  cxp_buf *sink; /* cxp_http_feed's: where "sent" bytes go */

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

void cxp_http_limits_default(cxp_http_limits *l) {
  l->max_conns = 64;
  l->max_conns_per_addr = 16;
  l->max_header_bytes = 8192;
  l->max_headers = 32;
  l->header_timeout_ms = 2000;
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
  case 505: return "HTTP Version Not Supported";
  default: return "Unknown";
  }
}

static uint64_t now(const cxp_http *s) { return s->loop ? uv_now(s->loop) : 0; }
static size_t pending(const conn *c) { return c->out.len - c->out_off; }

/* One write that never waits and never raises SIGPIPE, for the few bytes
 * said to a client on the way out (503, 408); lost if the socket is full. */
static void say(int fd, const char *msg, size_t len) {
  if (fd >= 0) (void)send(fd, msg, len, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static const char r408[] = "HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain; "
                           "charset=utf-8\r\nContent-Length: 16\r\nConnection: close\r\n"
                           "\r\nRequest Timeout\n";
static const char r503[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; "
                           "charset=utf-8\r\nContent-Length: 20\r\nConnection: close\r\n\r\n"
                           "Service Unavailable\n";

/* ---- closing ------------------------------------------------------------- */

static void resume_accepting(cxp_http *s);

static void maybe_done(cxp_http *s) {
  if (!s->stopping || s->handles > 0) return;
  cxp_http_stopped_fn done = s->done;
  void *arg = s->done_arg;
  cxp_buf_free(&s->body);
  free(s);
  if (done) done(arg);
}

static void conn_free(conn *c) {
  cxp_buf_free(&c->out);
  cxp_buf_free(&c->in);
  cxp_buf_free(&c->url);
  cxp_buf_free(&c->auth);
  free(c);
}

static void on_conn_handle_closed(uv_handle_t *h) {
  conn *c = h->data;
  if (--c->open_handles > 0) return;
  cxp_http *s = c->srv;
  conn_free(c);
  s->handles--;
  maybe_done(s);
}

/* Drops the connection now: the descriptor is closed at once, so its slot
 * (and the descriptor) is free for the next accept; queued output is lost.
 * The conn itself lives until both handles' close callbacks. */
static void conn_close(conn *c) {
  if (c->closing) return;
  c->closing = 1;
  if (c->fd < 0) return; /* cxp_http_feed's: freed by it */
  cxp_http *s = c->srv;
  if (c->prev) c->prev->next = c->next;
  else s->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  s->n_conns--;
  uv_timer_stop(&c->timer);
  /* libuv allows closing the descriptor right after uv_close on its poll
   * handle, which stops watching it synchronously. */
  uv_close((uv_handle_t *)&c->poll, on_conn_handle_closed);
  close(c->fd);
  c->fd = -1;
  uv_close((uv_handle_t *)&c->timer, on_conn_handle_closed);
  /* A slot, or a descriptor, for what waits in the backlog. */
  resume_accepting(s);
}

static void on_timeout(uv_timer_t *t) {
  conn *c = t->data;
  /* A request begun and not finished in time: say so, if the socket takes it
   * now; nothing waits for a slow client. */
  if (c->in_request && !c->draining && pending(c) == 0) say(c->fd, r408, sizeof r408 - 1);
  cxp_debug("http", "connection timed out%s", c->in_request ? " mid-request" : "");
  c->srv->stats.timed_out++;
  conn_close(c);
}

static void arm(conn *c, uint64_t ms) {
  if (c->fd < 0) return;
  /* From now, not from the start of this loop turn: a turn that accepts a
   * batch of clients with pipelined requests can take a while, and a
   * deadline counted from its start would cut a client off early. */
  uv_update_time(c->srv->loop);
  uv_timer_start(&c->timer, on_timeout, ms, 0);
}

/* The deadline for a request's line and headers. */
static uint64_t header_ms(const cxp_http *s) {
  return s->lim.header_timeout_ms < s->lim.read_timeout_ms ? s->lim.header_timeout_ms
                                                           : s->lim.read_timeout_ms;
}

/* ---- input and output ---------------------------------------------------- */

static void on_io(uv_poll_t *h, int status, int events);

/* Watches for input unless the parser is held, and for room to write while
 * output is queued. */
static void watch(conn *c) {
  if (c->closing || c->fd < 0) return;
  int want = (c->held || c->eof ? 0 : UV_READABLE) | (pending(c) ? UV_WRITABLE : 0);
  if (want == c->events) return;
  if (want == 0) uv_poll_stop(&c->poll);
  else if (uv_poll_start(&c->poll, want, on_io) != 0) {
    conn_close(c);
    return;
  }
  c->events = want;
}

/* Sends what the socket takes of the queued output (cxp_http_feed's
 * connection hands it all to its sink). 1 when this emptied the queue. */
static int flush(conn *c) {
  size_t had = pending(c);
  if (had == 0) return 0;
  if (c->fd < 0) {
    cxp_buf_put(c->sink, c->out.p + c->out_off, had);
    c->out_off = c->out.len;
  }
  while (pending(c) > 0) {
    ssize_t n = send(c->fd, c->out.p + c->out_off, pending(c), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
      /* EPIPE, ECONNRESET: the client has gone. */
      conn_close(c);
      return 0;
    }
    c->out_off += (size_t)n;
  }
  if (c->out.cap > KEEP_OUT_BYTES) cxp_buf_free(&c->out);
  else cxp_buf_reset(&c->out);
  c->out_off = c->answer_end = 0;
  return 1;
}

static void parse(conn *c, const char *data, size_t len, int from_in);

/* Moves output out and input in as far as the limits let: sends, resumes a
 * held parser once the queue is down to half the limit (hysteresis, so a
 * slow reader does not flip it on every write), and arms the timer for
 * what the connection waits for next. */
static void pump(conn *c) {
  cxp_http *s = c->srv;
  int emptied = 0;
  for (;;) {
    emptied |= flush(c);
    if (c->closing) return;
    if (!c->held || pending(c) > s->lim.max_pending_bytes / 2) break;
    c->held = 0;
    if (HTTP_PARSER_ERRNO(&c->parser) == HPE_PAUSED) http_parser_pause(&c->parser, 0);
    /* The input read while held; parse() may hold it again, keeping the
     * rest in place. */
    size_t off = c->in_off, n = c->in.len - off;
    c->in_off = c->in.len;
    if (n) parse(c, c->in.p + off, n, 1);
    if (c->closing) return;
    if (c->in_off == c->in.len) {
      cxp_buf_reset(&c->in);
      c->in_off = 0;
    }
  }
  if (pending(c) == 0) {
    if (c->draining) {
      /* The last response of the connection is out: FIN, then linger
       * (unless the client's FIN came first: then there is nothing to wait
       * for). */
      if (c->eof) {
        conn_close(c);
        return;
      }
      if (!c->shut) {
        c->shut = 1;
        if (c->fd >= 0 && shutdown(c->fd, SHUT_WR) != 0) {
          conn_close(c);
          return;
        }
        arm(c, LINGER_MS < s->lim.read_timeout_ms ? LINGER_MS : s->lim.read_timeout_ms);
      }
    } else if (emptied && !c->in_request) {
      /* Only a response written arms the idle wait: bytes that start no
       * request (bare CRLFs) must not keep a connection alive. */
      arm(c, s->lim.idle_timeout_ms);
    }
  }
  watch(c);
}

/* Queues one response. `close` ends the connection after it; `error` marks
 * it as an error's, which may be dropped for a newcomer. */
static void respond(conn *c, int status, const char *ctype, const char *extra, const char *body,
                    size_t blen, int head_only, int close, int error) {
  cxp_http *s = c->srv;
  cxp_buf *o = &c->out;
  cxp_buf_printf(o, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n", status,
                 cxp_http_reason(status), ctype, blen);
  if (extra) cxp_buf_puts(o, extra);
  if (close) cxp_buf_puts(o, "Connection: close\r\n");
  else if (c->parser.http_major == 1 && c->parser.http_minor == 0)
    cxp_buf_puts(o, "Connection: keep-alive\r\n");
  cxp_buf_puts(o, "\r\n");
  if (blen && !head_only) cxp_buf_put(o, body, blen);
  if (!error) c->answer_end = o->len;
  /* A parser already in error stops by itself; pausing it would assert. */
  int can_pause = HTTP_PARSER_ERRNO(&c->parser) == HPE_OK;
  if (close) {
    /* Whatever the client pipelined after this request is not parsed. */
    c->draining = 1;
    if (can_pause) http_parser_pause(&c->parser, 1);
  } else if (pending(c) > s->lim.max_pending_bytes && can_pause) {
    /* A client pipelining faster than it reads: the rest of its input waits
     * in `in` until the queue drains. */
    c->held = 1;
    http_parser_pause(&c->parser, 1);
  }
  /* The response must be taken within the read timeout too. */
  arm(c, s->lim.read_timeout_ms);
}

static void respond_error(conn *c, int status) {
  char body[64];
  int n = snprintf(body, sizeof body, "%s\n", cxp_http_reason(status));
  respond(c, status, "text/plain; charset=utf-8", status == 405 ? "Allow: GET, HEAD\r\n" : NULL,
          body, (size_t)n, 0, 1, 1);
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
  /* The first request's deadline runs from the accept (a connection that
   * waits before its first byte is a slowloris too); a kept-alive one's
   * from its first byte, the idle timeout having covered the wait. */
  if (c->begun) arm(c, header_ms(c->srv));
  c->begun = 1;
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
    if (c->capture_auth) {
      /* Two Authorization headers: which one a proxy in front checked and
       * which one we would is anyone's guess, so neither is taken. */
      if (c->has_auth) {
        c->reject = 400;
        return -1;
      }
      c->has_auth = 1;
    }
  }
  if (over(c, len)) return -1;
  if (c->capture_auth) cxp_buf_put(&c->auth, at, len);
  return 0;
}

static int on_headers_complete(http_parser *p) {
  conn *c = p->data;
  /* http-parser takes a request line without a version for HTTP/0.9 and
   * any digits for one; only 1.x is spoken here. */
  if (p->http_major != 1) {
    c->reject = 505;
    return -1;
  }
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
  c->waiting_since = now(s);
  struct http_parser_url u;
  http_parser_url_init(&u);
  /* The asterisk form ("GET * HTTP/1.1", which http-parser takes for any
   * method) has no path to route: the handler is promised one that starts
   * with '/'. */
  if (c->url.len == 0 || http_parser_parse_url(c->url.p, c->url.len, 0, &u) != 0 ||
      !(u.field_set & (1 << UF_PATH)) || c->url.p[u.field_data[UF_PATH].off] != '/') {
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
      /* A later 1.x is answered as 1.1 (RFC 9110, 2.5). */
      .http_minor = p->http_minor > 1 ? 1 : p->http_minor,
  };
  cxp_buf_reset(&s->body);
  cxp_http_response res = {200, "text/plain; charset=utf-8", NULL, &s->body};
  s->handler(s->opaque, &req, &res);
  int keep = http_should_keep_alive(p);
  respond(c, res.status, res.content_type ? res.content_type : "text/plain; charset=utf-8",
          res.headers, s->body.p, s->body.len, p->method == HTTP_HEAD, !keep, 0);
  return 0;
}

/* Runs input through the parser. When the parser is held for output, the
 * rest is kept in `in` (from_in: it is `in`'s own bytes, which stay in
 * place); after a closing response it is discarded. */
static void parse(conn *c, const char *data, size_t len, int from_in) {
  size_t n = http_parser_execute(&c->parser, &c->srv->settings, data, len);
  if (c->closing) return;
  enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
  if (e == HPE_OK) return;
  if (e == HPE_PAUSED) {
    if (c->draining || !c->held || n >= len) return;
    if (from_in) c->in_off = (size_t)(data - c->in.p) + n;
    else cxp_buf_put(&c->in, data + n, len - n);
    return;
  }
  if (c->draining) return;
  int status = c->reject ? c->reject : e == HPE_HEADER_OVERFLOW ? 431 : 400;
  c->in_request = 0;
  respond_error(c, status);
}

/* One read: what the socket has, parsed, and the answers sent. */
static void conn_read(conn *c) {
  if (c->closing || c->held) return;
  ssize_t n = recv(c->fd, c->srv->rbuf, sizeof c->srv->rbuf, 0);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    conn_close(c);
    return;
  }
  if (n == 0) {
    /* EOF. Answers still being written to a client that only half-closed
     * are let out first. */
    if (pending(c) > 0 && !c->in_request) {
      c->draining = c->eof = 1;
      watch(c);
      return;
    }
    conn_close(c);
    return;
  }
  if (!c->draining) parse(c, c->srv->rbuf, (size_t)n, 0);
  if (!c->closing) pump(c);
}

static void on_io(uv_poll_t *h, int status, int events) {
  conn *c = container_of(h, conn, poll);
  if (status < 0) {
    conn_close(c);
    return;
  }
  if (events & UV_READABLE) conn_read(c);
  if (!c->closing && (events & UV_WRITABLE)) pump(c);
}

/* ---- admission ----------------------------------------------------------- */

/* The key of a peer address; 0 for loopback, which the per-address limit
 * does not count. */
static int key_of(const struct sockaddr_storage *sa, addr_key *k) {
  memset(k, 0, sizeof *k);
  const unsigned char *v4 = NULL;
  if (sa->ss_family == AF_INET) {
    v4 = (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
  } else if (sa->ss_family == AF_INET6) {
    const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    /* An IPv4 client of a dual-stack listener: its /64 would be everyone's. */
    if (IN6_IS_ADDR_V4MAPPED(a)) v4 = a->s6_addr + 12;
    else {
      if (IN6_IS_ADDR_LOOPBACK(a)) return 0;
      k->len = 8;
      memcpy(k->b, a->s6_addr, 8);
      return 1;
    }
  } else {
    return 0;
  }
  if (v4[0] == 127) return 0;
  k->len = 4;
  memcpy(k->b, v4, 4);
  return 1;
}

static int same_key(const addr_key *a, const addr_key *b) {
  return a->len == b->len && memcmp(a->b, b->b, a->len) == 0;
}

/* May c be dropped for a newcomer? Not while it owes a complete request its
 * answer: that client did everything right. */
static int evictable(const conn *c) { return c->out_off >= c->answer_end; }

/* Which of two connections to drop first. In order: one lingering after its
 * last response or owing only an error (rank 0); then, among those that
 * have waited FRESH_MS (rank 1), the one that has sent the least of its
 * request (a kept-alive idle one has sent nothing), the longest waiting
 * first; last, the fresh ones (rank 2), oldest first. */
static int rank(const conn *c, uint64_t t) {
  if (c->draining) return 0;
  return t - c->waiting_since >= FRESH_MS ? 1 : 2;
}

static int worse(const conn *a, const conn *b, uint64_t t) {
  int ra = rank(a, t), rb = rank(b, t);
  if (ra != rb) return ra < rb;
  if (ra == 1) {
    size_t pa = a->in_request ? 1 + a->header_bytes : 0;
    size_t pb = b->in_request ? 1 + b->header_bytes : 0;
    if (pa != pb) return pa < pb;
  }
  return a->waiting_since < b->waiting_since;
}

/* The connection to drop first (of those from `only`'s address, if given);
 * NULL when none may be. */
static conn *pick(cxp_http *s, const addr_key *only) {
  uint64_t t = now(s);
  conn *v = NULL;
  for (conn *c = s->conns; c; c = c->next) {
    if (!evictable(c) || (only && !(c->key_limited && same_key(&c->key, only)))) continue;
    if (v == NULL || worse(c, v, t)) v = c;
  }
  return v;
}

static void evict(conn *c) {
  cxp_http *s = c->srv;
  if (c->in_request && pending(c) == 0) say(c->fd, r503, sizeof r503 - 1);
  cxp_debug("http", "dropping a connection for a newcomer (%zu header bytes in)",
            c->in_request ? c->header_bytes : 0);
  s->stats.evicted++;
  conn_close(c);
}

/* How a newcomer gets in when the server is full.
 *
 * Refusing it, as this server once did, hands the endpoint to whoever holds
 * the most connections: 300 slowloris clients keep 64 slots full and a
 * scrape gets 503 nearly every time. Dropping the connection that has sent
 * the least of its request instead costs a slow client its place, while a
 * quick one (a scrape writes its whole request at once) is answered in the
 * loop turn of its accept.
 *
 * Slow clients that reconnect at once when dropped would then churn the
 * slots as fast as the loop accepts, and a client that had connected but
 * not yet written (descheduled, say) would be dropped within microseconds.
 * So a connection is not dropped in its first FRESH_MS: when only fresh
 * ones could make room, the listener rests until the oldest of them is no
 * longer fresh, and newcomers wait in the kernel's backlog, in order. A
 * scrape's request then waits in its socket and is read at its accept:
 * behind 300 slow clients it is in within 300 / 64 * FRESH_MS, about
 * 120 ms. Only when every connection is being answered is a newcomer
 * accepted and told 503.
 *
 * The per-address limit keeps one remote host from doing even that to the
 * others: its newcomers take the places of its own connections (fresh ones
 * too, oldest first; the host is only crowding itself out). Loopback is
 * exempt: on the default bind (127.0.0.1) every client, attacker and
 * scraper alike, is 127.0.0.1, so a limit there would only shrink the cap
 * without telling them apart (and a local attacker can bind any address of
 * 127.0.0.0/8); the rule above is what lets the scrape in there.
 *
 * make_room() drops connections, as pick() orders them, until `full` says
 * there is room: 0 then; 1 when the next to go would be a fresh one and
 * `fresh_ok` is 0; -1 when every connection in the way is being answered.
 * Each candidate is read once before it is judged: its request may be
 * waiting in the socket, unread by the loop yet, and reading it may answer
 * it (then it is kept) or find it gone. */
static int make_room(cxp_http *s, const addr_key *only, int fresh_ok,
                     int (*full)(cxp_http *s, const addr_key *k)) {
  unsigned round = ++s->round;
  while (full(s, only)) {
    conn *v = pick(s, only);
    if (v == NULL) return -1;
    if (!fresh_ok && rank(v, now(s)) == 2) return 1;
    if (v->round != round) {
      v->round = round;
      conn_read(v);
      continue;
    }
    evict(v);
  }
  return 0;
}

static int cap_full(cxp_http *s, const addr_key *k) {
  (void)k;
  return s->n_conns >= s->lim.max_conns;
}

static int addr_full(cxp_http *s, const addr_key *k) {
  int same = 0;
  for (conn *c = s->conns; c; c = c->next) same += c->key_limited && same_key(&c->key, k);
  return same >= s->lim.max_conns_per_addr;
}

static void refuse(cxp_http *s, int fd) {
  /* Accepted only to be told no: leaving it in the backlog would hold the
   * client without an answer. One write that never waits, then close. */
  s->stats.refused++;
  say(fd, r503, sizeof r503 - 1);
  close(fd);
}

static conn *conn_new(cxp_http *s) {
  conn *c = calloc(1, sizeof *c);
  if (c == NULL) return NULL;
  c->srv = s;
  c->fd = -1;
  cxp_buf_init(&c->out);
  cxp_buf_init(&c->in);
  cxp_buf_init(&c->url);
  cxp_buf_init(&c->auth);
  http_parser_init(&c->parser, HTTP_REQUEST);
  c->parser.data = c;
  c->waiting_since = now(s);
  return c;
}

/* A newcomer, with room under the cap made already. */
static void serve(cxp_http *s, int fd, const struct sockaddr_storage *sa) {
  addr_key k;
  int limited = key_of(sa, &k) && s->lim.max_conns_per_addr > 0;
  if (limited && make_room(s, &k, 1, addr_full) != 0) {
    cxp_debug("http", "refusing a connection: its address's all being answered");
    refuse(s, fd);
    return;
  }
  conn *c = conn_new(s);
  if (c == NULL) {
    refuse(s, fd);
    return;
  }
  c->fd = fd;
  c->key = k;
  c->key_limited = limited;
  uv_poll_init_socket(s->loop, &c->poll, fd);
  uv_timer_init(s->loop, &c->timer);
  c->poll.data = c->timer.data = c;
  c->open_handles = 2;
  c->next = s->conns;
  if (s->conns) s->conns->prev = c;
  s->conns = c;
  s->n_conns++;
  s->handles++;
  s->stats.accepted++;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  /* A connection that never sends a byte is a slowloris too. */
  arm(c, header_ms(s));
  watch(c);
  /* A client that wrote its request right after connecting is answered in
   * this turn, before anything else can crowd it out. */
  conn_read(c);
}

static void on_accept(uv_poll_t *h, int status, int events);

static void resume_accepting(cxp_http *s) {
  if (!s->resting || s->stopping) return;
  s->resting = 0;
  uv_timer_stop(&s->retry);
  uv_poll_start(&s->listener, UV_READABLE, on_accept);
}

static void on_retry(uv_timer_t *t) { resume_accepting(t->data); }

static void rest(cxp_http *s, uint64_t ms) {
  s->resting = 1;
  uv_poll_stop(&s->listener);
  uv_timer_start(&s->retry, on_retry, ms ? ms : 1, 0);
}

/* Milliseconds until the oldest fresh connection that could be dropped is
 * no longer fresh. */
static uint64_t until_ripe(cxp_http *s) {
  uint64_t t = now(s), first = UINT64_MAX;
  for (conn *c = s->conns; c; c = c->next)
    if (evictable(c) && c->waiting_since < first) first = c->waiting_since;
  return first == UINT64_MAX || first + FRESH_MS <= t ? 1 : first + FRESH_MS - t;
}

/* Whether a connection waits in the listener's backlog. */
static int backlog_waiting(int lfd) {
  struct pollfd p = {lfd, POLLIN, 0};
  return poll(&p, 1, 0) > 0;
}

static void on_accept(uv_poll_t *h, int status, int events) {
  cxp_http *s = h->data;
  if (status < 0) {
    cxp_warn("http", "listener: %s", uv_strerror(status));
    return;
  }
  for (int i = 0; i < ACCEPT_BATCH; i++) {
    int room = 0;
    if (cap_full(s, NULL)) {
      /* Nobody is dropped for a newcomer that is not there. */
      if (i > 0 && !backlog_waiting(s->lfd)) return;
      room = make_room(s, NULL, 0, cap_full);
      if (room > 0) {
        rest(s, until_ripe(s));
        return;
      }
    }
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    int fd = accept4(s->lfd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      if (room < 0) {
        cxp_debug("http", "refusing a connection: %d open, all being answered", s->n_conns);
        refuse(s, fd);
      } else {
        serve(s, fd, &sa);
      }
      continue;
    }
    int err = errno;
    if (err == EINTR || err == ECONNABORTED) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) return;
    if (err == EMFILE || err == ENFILE) {
      /* Out of descriptors: free one as at the cap, or rest (level-
       * triggered polling would otherwise spin on the backlog). */
      conn *v = pick(s, NULL);
      if (v && rank(v, now(s)) < 2) {
        evict(v);
        continue;
      }
      cxp_warn("http", "accept: %s; pausing the listener", strerror(err));
      rest(s, ACCEPT_RETRY_MS);
      return;
    }
    cxp_warn("http", "accept: %s", strerror(err));
    return;
  }
}

/* ---- the server ---------------------------------------------------------- */

static void on_server_handle_closed(uv_handle_t *h) {
  cxp_http *s = h->data;
  s->handles--;
  maybe_done(s);
}

static void server_init(cxp_http *s, uv_loop_t *loop, cxp_http_handler handler, void *opaque,
                        const cxp_http_limits *lim) {
  s->loop = loop;
  s->lfd = -1;
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
}

/* A listening socket on addr: its descriptor, or a negative libuv code. */
static int listen_on(const struct sockaddr_storage *addr, int *port) {
  int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return uv_translate_sys_error(errno);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  socklen_t alen = addr->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                               : sizeof(struct sockaddr_in);
  struct sockaddr_storage bound;
  socklen_t blen = sizeof bound;
  if (bind(fd, (const struct sockaddr *)addr, alen) != 0 || listen(fd, BACKLOG) != 0 ||
      getsockname(fd, (struct sockaddr *)&bound, &blen) != 0) {
    int r = uv_translate_sys_error(errno);
    close(fd);
    return r;
  }
  *port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                            : ((struct sockaddr_in *)&bound)->sin_port);
  return fd;
}

int cxp_http_start(cxp_http **out, uv_loop_t *loop, const char *host, int port,
                   cxp_http_handler handler, void *opaque, const cxp_http_limits *lim) {
  *out = NULL;
  struct sockaddr_storage addr;
  memset(&addr, 0, sizeof addr);
  int r = strchr(host, ':') ? uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr)
                            : uv_ip4_addr(host, port, (struct sockaddr_in *)&addr);
  if (r) return r;
  int bound_port = 0;
  int fd = listen_on(&addr, &bound_port);
  if (fd < 0) return fd;
  cxp_http *s = calloc(1, sizeof *s);
  if (s == NULL) {
    close(fd);
    return UV_ENOMEM;
  }
  server_init(s, loop, handler, opaque, lim);
  s->lfd = fd;
  s->port = bound_port;
  uv_poll_init_socket(loop, &s->listener, fd);
  uv_timer_init(loop, &s->retry);
  s->listener.data = s->retry.data = s;
  s->handles = 2;
  r = uv_poll_start(&s->listener, UV_READABLE, on_accept);
  if (r) {
    /* Freed by the handles' close callbacks on the loop's next turn. */
    s->stopping = 1;
    uv_close((uv_handle_t *)&s->listener, on_server_handle_closed);
    close(fd);
    uv_close((uv_handle_t *)&s->retry, on_server_handle_closed);
    return r;
  }
  *out = s;
  return 0;
}

int cxp_http_port(const cxp_http *s) { return s->port; }
int cxp_http_connections(const cxp_http *s) { return s->n_conns; }
cxp_http_stats cxp_http_get_stats(const cxp_http *s) { return s->stats; }

void cxp_http_stop(cxp_http *s, cxp_http_stopped_fn done, void *arg) {
  if (s->stopping) return;
  s->stopping = 1;
  s->done = done;
  s->done_arg = arg;
  uv_close((uv_handle_t *)&s->listener, on_server_handle_closed);
  close(s->lfd);
  s->lfd = -1;
  uv_close((uv_handle_t *)&s->retry, on_server_handle_closed);
  while (s->conns) conn_close(s->conns);
}

/* ---- the test hook ------------------------------------------------------- */

int cxp_http_feed(const cxp_http_limits *lim, cxp_http_handler handler, void *opaque,
                  const char *data, size_t len, size_t chunk, cxp_buf *out) {
  cxp_http *s = calloc(1, sizeof *s);
  if (s == NULL) return 1;
  server_init(s, NULL, handler, opaque, lim);
  conn *c = conn_new(s);
  if (c == NULL) {
    free(s);
    return 1;
  }
  c->sink = out;
  if (chunk == 0) chunk = len ? len : 1;
  /* As conn_read would, a read at a time; the client takes every response
   * at once, so pump() lets a held parser go on through what it kept. After
   * a closing response the rest would be read and discarded. */
  size_t off = 0;
  while (!c->closing && !c->draining && off < len) {
    size_t n = len - off < chunk ? len - off : chunk;
    parse(c, data + off, n, 0);
    off += n;
    if (!c->closing) pump(c);
  }
  int closed = c->closing || c->draining;
  conn_free(c);
  cxp_buf_free(&s->body);
  free(s);
  return closed;
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
