/* The admin server as a whole: its limits, start and stop, the test hook
 * (cxp_http_feed) and bearer tokens. What happens on a connection is
 * httpconn.c's, who gets one httpaccept.c's (http_int.h). */
#include "http_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* The listener's backlog. 300 clients reconnecting at once must not
 * overflow it: a dropped SYN is retried only after a second, far beyond a
 * scrape's patience. The kernel caps it at net.core.somaxconn. */
#define BACKLOG 1024

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

/* ---- the server ---------------------------------------------------------- */

/* Frees a stopped server once its last handle has closed. */
void http_maybe_done(cxp_http *s) {
  if (!s->stopping || s->handles > 0) return;
  cxp_http_stopped_fn done = s->done;
  void *arg = s->done_arg;
  cxp_buf_free(&s->body);
  free(s);
  if (done) done(arg);
}

static void on_server_handle_closed(uv_handle_t *h) {
  cxp_http *s = h->data;
  s->handles--;
  http_maybe_done(s);
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
  http_conn_settings(&s->settings);
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
  r = uv_poll_start(&s->listener, UV_READABLE, http_on_accept);
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
  while (s->conns) http_conn_close(s->conns);
}

/* ---- the test hook ------------------------------------------------------- */

int cxp_http_feed(const cxp_http_limits *lim, cxp_http_handler handler, void *opaque,
                  const char *data, size_t len, size_t chunk, cxp_buf *out) {
  cxp_http *s = calloc(1, sizeof *s);
  if (s == NULL) return 1;
  server_init(s, NULL, handler, opaque, lim);
  conn *c = http_conn_new(s);
  if (c == NULL) {
    free(s);
    return 1;
  }
  c->sink = out;
  if (chunk == 0) chunk = len ? len : 1;
  /* As http_conn_read would, a read at a time; the client takes every response
   * at once, so http_conn_pump() lets a held parser go on through what it kept. After
   * a closing response the rest would be read and discarded. */
  size_t off = 0;
  while (!c->closing && !c->draining && off < len) {
    size_t n = len - off < chunk ? len - off : chunk;
    http_conn_parse(c, data + off, n, 0);
    off += n;
    if (!c->closing) http_conn_pump(c);
  }
  int closed = c->closing || c->draining;
  http_conn_free(c);
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
