/* One connection of the admin server: its reads through the parser, the
 * limits on a request, the responses queued and sent, its timer and its
 * close. The listener and who gets a slot are httpaccept.c's. */
#include "http_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

#define container_of(p, type, member) ((type *)((char *)(p) - offsetof(type, member)))

/* After a response that closes the connection, the server sends FIN and
 * keeps reading (discarding) for at most this long before closing: closing
 * with unread input makes the kernel send RST, which can destroy the
 * response before the client has read it. */
#define LINGER_MS 1000

/* A freed output buffer larger than this is released, not kept: an idle
 * connection should not hold a megabyte it once needed. */
#define KEEP_OUT_BYTES 65536

/* One write that never waits and never raises SIGPIPE, for the few bytes
 * said to a client on the way out (503, 408); lost if the socket is full. */
void http_say(int fd, const char *msg, size_t len) {
  if (fd >= 0) (void)send(fd, msg, len, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static const char r408[] = "HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain; "
                           "charset=utf-8\r\nContent-Length: 16\r\nConnection: close\r\n"
                           "\r\nRequest Timeout\n";

/* ---- opening and closing ------------------------------------------------- */

conn *http_conn_new(cxp_http *s) {
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
  c->waiting_since = http_now(s);
  return c;
}

void http_conn_free(conn *c) {
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
  http_conn_free(c);
  s->handles--;
  http_maybe_done(s);
}

/* Drops the connection now: the descriptor is closed at once, so its slot
 * (and the descriptor) is free for the next accept; queued output is lost.
 * The conn itself lives until both handles' close callbacks. */
void http_conn_close(conn *c) {
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
  http_resume_accepting(s);
}

static void on_timeout(uv_timer_t *t) {
  conn *c = t->data;
  /* A request begun and not finished in time: say so, if the socket takes it
   * now; nothing waits for a slow client. */
  if (c->in_request && !c->draining && http_pending(c) == 0)
    http_say(c->fd, r408, sizeof r408 - 1);
  cxp_debug("http", "connection timed out%s", c->in_request ? " mid-request" : "");
  c->srv->stats.timed_out++;
  http_conn_close(c);
}

void http_conn_arm(conn *c, uint64_t ms) {
  if (c->fd < 0) return;
  /* From now, not from the start of this loop turn: a turn that accepts a
   * batch of clients with pipelined requests can take a while, and a
   * deadline counted from its start would cut a client off early. */
  uv_update_time(c->srv->loop);
  uv_timer_start(&c->timer, on_timeout, ms, 0);
}

/* The deadline for a request's line and headers. */
uint64_t http_header_ms(const cxp_http *s) {
  return s->lim.header_timeout_ms < s->lim.read_timeout_ms ? s->lim.header_timeout_ms
                                                           : s->lim.read_timeout_ms;
}

/* ---- input and output ---------------------------------------------------- */

static void on_io(uv_poll_t *h, int status, int events);

/* Watches for input unless the parser is held, and for room to write while
 * output is queued. */
void http_conn_watch(conn *c) {
  if (c->closing || c->fd < 0) return;
  int want = (c->held || c->eof ? 0 : UV_READABLE) | (http_pending(c) ? UV_WRITABLE : 0);
  if (want == c->events) return;
  if (want == 0) uv_poll_stop(&c->poll);
  else if (uv_poll_start(&c->poll, want, on_io) != 0) {
    http_conn_close(c);
    return;
  }
  c->events = want;
}

/* Sends what the socket takes of the queued output (cxp_http_feed's
 * connection hands it all to its sink). 1 when this emptied the queue. */
static int flush(conn *c) {
  size_t had = http_pending(c);
  if (had == 0) return 0;
  if (c->fd < 0) {
    cxp_buf_put(c->sink, c->out.p + c->out_off, had);
    c->out_off = c->out.len;
  }
  while (http_pending(c) > 0) {
    ssize_t n =
        send(c->fd, c->out.p + c->out_off, http_pending(c), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
      /* EPIPE, ECONNRESET: the client has gone. */
      http_conn_close(c);
      return 0;
    }
    c->out_off += (size_t)n;
  }
  if (c->out.cap > KEEP_OUT_BYTES) cxp_buf_free(&c->out);
  else cxp_buf_reset(&c->out);
  c->out_off = c->answer_end = 0;
  return 1;
}

/* Moves output out and input in as far as the limits let: sends, resumes a
 * held parser once the queue is down to half the limit (hysteresis, so a
 * slow reader does not flip it on every write), and arms the timer for
 * what the connection waits for next. */
void http_conn_pump(conn *c) {
  cxp_http *s = c->srv;
  int emptied = 0;
  for (;;) {
    emptied |= flush(c);
    if (c->closing) return;
    if (!c->held || http_pending(c) > s->lim.max_pending_bytes / 2) break;
    c->held = 0;
    if (HTTP_PARSER_ERRNO(&c->parser) == HPE_PAUSED) http_parser_pause(&c->parser, 0);
    /* The input read while held; http_conn_parse() may hold it again,
     * keeping the rest in place. */
    size_t off = c->in_off, n = c->in.len - off;
    c->in_off = c->in.len;
    if (n) http_conn_parse(c, c->in.p + off, n, 1);
    if (c->closing) return;
    if (c->in_off == c->in.len) {
      cxp_buf_reset(&c->in);
      c->in_off = 0;
    }
  }
  if (http_pending(c) == 0) {
    if (c->draining) {
      /* The last response of the connection is out: FIN, then linger
       * (unless the client's FIN came first: then there is nothing to wait
       * for). */
      if (c->eof) {
        http_conn_close(c);
        return;
      }
      if (!c->shut) {
        c->shut = 1;
        if (c->fd >= 0 && shutdown(c->fd, SHUT_WR) != 0) {
          http_conn_close(c);
          return;
        }
        http_conn_arm(c, LINGER_MS < s->lim.read_timeout_ms ? LINGER_MS
                                                            : s->lim.read_timeout_ms);
      }
    } else if (emptied && !c->in_request) {
      /* Only a response written arms the idle wait: bytes that start no
       * request (bare CRLFs) must not keep a connection alive. */
      http_conn_arm(c, s->lim.idle_timeout_ms);
    }
  }
  http_conn_watch(c);
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
  } else if (http_pending(c) > s->lim.max_pending_bytes && can_pause) {
    /* A client pipelining faster than it reads: the rest of its input waits
     * in `in` until the queue drains. */
    c->held = 1;
    http_parser_pause(&c->parser, 1);
  }
  /* The response must be taken within the read timeout too. */
  http_conn_arm(c, s->lim.read_timeout_ms);
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
  if (c->begun) http_conn_arm(c, http_header_ms(c->srv));
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
  c->waiting_since = http_now(s);
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
void http_conn_parse(conn *c, const char *data, size_t len, int from_in) {
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
void http_conn_read(conn *c) {
  if (c->closing || c->held) return;
  ssize_t n = recv(c->fd, c->srv->rbuf, sizeof c->srv->rbuf, 0);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    http_conn_close(c);
    return;
  }
  if (n == 0) {
    /* EOF. Answers still being written to a client that only half-closed
     * are let out first. */
    if (http_pending(c) > 0 && !c->in_request) {
      c->draining = c->eof = 1;
      http_conn_watch(c);
      return;
    }
    http_conn_close(c);
    return;
  }
  if (!c->draining) http_conn_parse(c, c->srv->rbuf, (size_t)n, 0);
  if (!c->closing) http_conn_pump(c);
}

static void on_io(uv_poll_t *h, int status, int events) {
  conn *c = container_of(h, conn, poll);
  if (status < 0) {
    http_conn_close(c);
    return;
  }
  if (events & UV_READABLE) http_conn_read(c);
  if (!c->closing && (events & UV_WRITABLE)) http_conn_pump(c);
}

/* The parser's callbacks: a connection's own (the parser's `data`). */
void http_conn_settings(http_parser_settings *st) {
  http_parser_settings_init(st);
  st->on_message_begin = on_message_begin;
  st->on_url = on_url;
  st->on_header_field = on_header_field;
  st->on_header_value = on_header_value;
  st->on_headers_complete = on_headers_complete;
  st->on_message_complete = on_message_complete;
}
