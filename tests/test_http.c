/* Unit tests of the admin HTTP server (daemon/http.c).
 *
 * The servers run on a libuv loop in the main thread, as in the daemon; the
 * clients are plain blocking sockets in a second thread, so the loop is never
 * blocked by a test's reads. Every client socket has a receive timeout: a
 * server that forgets to answer fails a check instead of hanging the run.
 *
 * Server A has short timeouts (read 200 ms, idle 300 ms) and small header
 * limits; server B allows two connections, for the connection cap. */
#include "test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "http.h"
#include "jsonw.h"

#define TOKEN "s3cret"
#define HELLO_200                                                                        \
  "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 6\r\n\r\n" \
  "hello\n"

static int port_a, port_b;
static uv_async_t finished;
static cxp_http *srv_a, *srv_b;
static int stopped;

/* ---- the routes ---------------------------------------------------------- */

static void handler(void *opaque, const cxp_http_request *req, cxp_http_response *res) {
  int *calls = opaque;
  (*calls)++;
  if (strcmp(req->path, "/hello") == 0) {
    cxp_buf_puts(res->body, "hello\n");
    return;
  }
  if (strcmp(req->path, "/echo") == 0) {
    res->content_type = "application/json";
    cxp_buf_printf(res->body, "{\"method\":\"%s\",\"query\":\"%s\",\"minor\":%d}", req->method,
                   req->query, req->http_minor);
    return;
  }
  if (strncmp(req->path, "/v1/", 4) == 0) {
    if (!cxp_http_bearer_ok(req, TOKEN)) {
      cxp_http_unauthorized(res);
      return;
    }
    res->content_type = "application/json";
    cxp_buf_puts(res->body, "{\"ok\":true}");
    return;
  }
  res->status = 404;
  cxp_buf_puts(res->body, "not found\n");
}

/* ---- client helpers (the client thread) ---------------------------------- */

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int dial(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct timeval tv = {2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    perror("connect");
    close(fd);
    return -1;
  }
  return fd;
}

static void send_all(int fd, const char *s, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
    if (w <= 0) return;
    s += w;
    n -= (size_t)w;
  }
}

static void send_str(int fd, const char *s) { send_all(fd, s, strlen(s)); }

/* Reads one response (headers, then Content-Length bytes of body, none for
 * a HEAD) into buf, NUL-terminated. Its length, or -1 when the connection
 * ended or timed out first. Bytes past the response stay in the socket only
 * if they had not arrived yet: pipelined responses are read with one call
 * each because the body length is honoured exactly. */
static int read_response(int fd, char *buf, size_t cap, int head) {
  size_t len = 0;
  for (;;) {
    /* One byte at a time up to the end of the headers, so nothing of the
     * next response is taken. */
    if (len + 1 >= cap) return -1;
    ssize_t r = recv(fd, buf + len, 1, 0);
    if (r <= 0) return -1;
    len++;
    buf[len] = '\0';
    if (len >= 4 && memcmp(buf + len - 4, "\r\n\r\n", 4) == 0) break;
  }
  const char *cl = strstr(buf, "Content-Length: ");
  size_t body = cl && !head ? strtoul(cl + 16, NULL, 10) : 0;
  if (len + body + 1 > cap) return -1;
  while (body > 0) {
    ssize_t r = recv(fd, buf + len, body, 0);
    if (r <= 0) return -1;
    len += (size_t)r;
    body -= (size_t)r;
  }
  buf[len] = '\0';
  return (int)len;
}

/* Milliseconds until the server closes the connection (recv gives 0 or a
 * reset), discarding what arrives; -1 when the receive timeout came first. */
static int64_t wait_closed(int fd, int64_t since) {
  char b[4096];
  for (;;) {
    ssize_t r = recv(fd, b, sizeof b, 0);
    if (r == 0 || (r < 0 && errno == ECONNRESET)) return now_ms() - since;
    if (r < 0) return -1;
  }
}

/* One request on a fresh connection; the response into buf. */
static int exchange(int port, const char *req, char *buf, size_t cap) {
  int fd = dial(port);
  if (fd < 0) return -1;
  send_str(fd, req);
  int n = read_response(fd, buf, cap, strncmp(req, "HEAD ", 5) == 0);
  close(fd);
  return n;
}

/* ---- the scenarios ------------------------------------------------------- */

static void routes(void) {
  char buf[8192];
  int fd = dial(port_a);
  /* A known route, a second request on the same connection (keep-alive),
   * an unknown one, HEAD, the query string. */
  send_str(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  int n = read_response(fd, buf, sizeof buf, 0);
  CHECK_MEM(buf, n, HELLO_200, sizeof HELLO_200 - 1);
  send_str(fd, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  n = read_response(fd, buf, sizeof buf, 0);
  static const char nf[] = "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\n"
                           "Content-Length: 10\r\n\r\nnot found\n";
  CHECK_MEM(buf, n, nf, sizeof nf - 1);
  send_str(fd, "HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  n = read_response(fd, buf, sizeof buf, 1);
  static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                             "Content-Length: 6\r\n\r\n";
  CHECK_MEM(buf, n, head, sizeof head - 1);
  /* Two requests in one segment: two responses, in order. The HEAD above
   * sent no body, or the first of these would not parse as a status line. */
  send_str(fd, "GET /echo?a=1&b=%20 HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  n = read_response(fd, buf, sizeof buf, 0);
  CHECK(n > 0 && strstr(buf, "{\"method\":\"GET\",\"query\":\"a=1&b=%20\",\"minor\":1}") != NULL);
  n = read_response(fd, buf, sizeof buf, 0);
  CHECK_MEM(buf, n, HELLO_200, sizeof HELLO_200 - 1);
  /* "Connection: close": answered, then closed. */
  send_str(fd, "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  n = read_response(fd, buf, sizeof buf, 0);
  CHECK(n > 0 && strstr(buf, "Connection: close\r\n") != NULL);
  CHECK(wait_closed(fd, now_ms()) >= 0);
  close(fd);

  /* HTTP/1.0: closed after the response unless asked to keep it. */
  fd = dial(port_a);
  send_str(fd, "GET /hello HTTP/1.0\r\n\r\n");
  n = read_response(fd, buf, sizeof buf, 0);
  CHECK(n > 0 && strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0);
  CHECK(wait_closed(fd, now_ms()) >= 0);
  close(fd);
  fd = dial(port_a);
  send_str(fd, "GET /echo HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  n = read_response(fd, buf, sizeof buf, 0);
  CHECK(n > 0 && strstr(buf, "Connection: keep-alive\r\n") && strstr(buf, "\"minor\":0"));
  send_str(fd, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  n = read_response(fd, buf, sizeof buf, 0);
  CHECK(n > 0 && strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0);
  close(fd);
}

static void rejections(void) {
  char buf[8192];
  int n;
  static const char r405[] =
      "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain; charset=utf-8\r\n"
      "Content-Length: 19\r\nAllow: GET, HEAD\r\nConnection: close\r\n\r\nMethod Not Allowed\n";
  int fd = dial(port_a);
  send_str(fd, "POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
  n = read_response(fd, buf, sizeof buf, 0);
  CHECK_MEM(buf, n, r405, sizeof r405 - 1);
  CHECK(wait_closed(fd, now_ms()) >= 0);
  close(fd);
  n = exchange(port_a, "DELETE /hello HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof buf);
  CHECK_MEM(buf, n, r405, sizeof r405 - 1);

  /* A body on a GET, by length or chunked. */
  n = exchange(port_a, "GET /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", buf,
               sizeof buf);
  CHECK(n > 0 && strncmp(buf, "HTTP/1.1 413 Content Too Large\r\n", 32) == 0);
  n = exchange(port_a, "GET /hello HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
               buf, sizeof buf);
  CHECK(n > 0 && strncmp(buf, "HTTP/1.1 413 ", 13) == 0);

  /* Headers over 1024 bytes, in one header or in a long URL; more than 16
   * headers. */
  char big[4096];
  memset(big, 0, sizeof big);
  strcpy(big, "GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: ");
  memset(big + strlen(big), 'a', 2000);
  strcat(big, "\r\n\r\n");
  n = exchange(port_a, big, buf, sizeof buf);
  static const char r431[] = "HTTP/1.1 431 Request Header Fields Too Large\r\n";
  CHECK(n > 0 && strncmp(buf, r431, sizeof r431 - 1) == 0);
  CHECK(n > 0 && strstr(buf, "Connection: close\r\n") != NULL);
  memset(big, 0, sizeof big);
  strcpy(big, "GET /");
  memset(big + 5, 'u', 1500);
  strcat(big, " HTTP/1.1\r\nHost: x\r\n\r\n");
  n = exchange(port_a, big, buf, sizeof buf);
  CHECK(n > 0 && strncmp(buf, r431, sizeof r431 - 1) == 0);
  memset(big, 0, sizeof big);
  strcpy(big, "GET /hello HTTP/1.1\r\n");
  for (int i = 0; i < 17; i++) sprintf(big + strlen(big), "X-H%d: v\r\n", i);
  strcat(big, "\r\n");
  n = exchange(port_a, big, buf, sizeof buf);
  CHECK(n > 0 && strncmp(buf, r431, sizeof r431 - 1) == 0);
  /* 16 headers are fine. */
  memset(big, 0, sizeof big);
  strcpy(big, "GET /hello HTTP/1.1\r\n");
  for (int i = 0; i < 16; i++) sprintf(big + strlen(big), "X-H%d: v\r\n", i);
  strcat(big, "\r\n");
  n = exchange(port_a, big, buf, sizeof buf);
  CHECK_MEM(buf, n, HELLO_200, sizeof HELLO_200 - 1);

  /* Not HTTP. */
  n = exchange(port_a, "HELLO THERE\r\n\r\n", buf, sizeof buf);
  CHECK(n > 0 && strncmp(buf, "HTTP/1.1 400 Bad Request\r\n", 26) == 0);
  n = exchange(port_a, "GET /hello HTTP/1.1\r\nBad Header\r\n\r\n", buf, sizeof buf);
  CHECK(n > 0 && strncmp(buf, "HTTP/1.1 400 Bad Request\r\n", 26) == 0);
}

static void tokens(void) {
  char buf[8192];
  static const char r401[] =
      "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: 25\r\n"
      "WWW-Authenticate: Bearer realm=\"cxpulse\"\r\n\r\n{\"error\":\"unauthorized\"}\n";
  int n = exchange(port_a, "GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof buf);
  CHECK_MEM(buf, n, r401, sizeof r401 - 1);
  n = exchange(port_a, "GET /v1/status HTTP/1.1\r\nAuthorization: Bearer wrong\r\n\r\n", buf,
               sizeof buf);
  CHECK_MEM(buf, n, r401, sizeof r401 - 1);
  n = exchange(port_a, "GET /v1/status HTTP/1.1\r\nAuthorization: Bearer s3cre\r\n\r\n", buf,
               sizeof buf);
  CHECK_MEM(buf, n, r401, sizeof r401 - 1);
  n = exchange(port_a, "GET /v1/status HTTP/1.1\r\nAuthorization: Bearer s3cret2\r\n\r\n", buf,
               sizeof buf);
  CHECK_MEM(buf, n, r401, sizeof r401 - 1);
  n = exchange(port_a, "GET /v1/status HTTP/1.1\r\nAuthorization: Basic czNjcmV0\r\n\r\n", buf,
               sizeof buf);
  CHECK_MEM(buf, n, r401, sizeof r401 - 1);
  n = exchange(port_a, "GET /v1/status HTTP/1.1\r\nauthorization: bearer s3cret\r\n\r\n", buf,
               sizeof buf);
  static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                           "Content-Length: 11\r\n\r\n{\"ok\":true}";
  CHECK_MEM(buf, n, ok, sizeof ok - 1);
}

static void timeouts(void) {
  char buf[8192];
  /* Slowloris: a request begun and trickled a byte per 50 ms. It is cut at
   * the read timeout (200 ms after its first byte) with a 408, while another
   * client is served at once meanwhile. */
  int slow = dial(port_a);
  int64_t t0 = now_ms();
  send_str(slow, "GET /hello HTTP/1.1\r\nHost: x\r\n");
  int64_t served_in = -1;
  for (int i = 0; i < 8; i++) {
    usleep(50000);
    send_str(slow, "X");
    if (i == 1) {
      int64_t t1 = now_ms();
      int n = exchange(port_a, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof buf);
      served_in = now_ms() - t1;
      CHECK_MEM(buf, n, HELLO_200, sizeof HELLO_200 - 1);
    }
  }
  CHECK(served_in >= 0 && served_in < 150);
  int n = read_response(slow, buf, sizeof buf, 0);
  CHECK(n > 0 && strncmp(buf, "HTTP/1.1 408 Request Timeout\r\n", 30) == 0);
  int64_t closed = wait_closed(slow, t0);
  CHECK(closed >= 180 && closed < 1500);
  close(slow);

  /* Connected and silent: closed after the read timeout, no response. */
  int mute = dial(port_a);
  t0 = now_ms();
  closed = wait_closed(mute, t0);
  CHECK(closed >= 180 && closed < 1500);
  close(mute);

  /* Keep-alive idle: answered, then closed after 300 ms without a request. */
  int idle = dial(port_a);
  send_str(idle, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  n = read_response(idle, buf, sizeof buf, 0);
  CHECK_MEM(buf, n, HELLO_200, sizeof HELLO_200 - 1);
  t0 = now_ms();
  closed = wait_closed(idle, t0);
  CHECK(closed >= 280 && closed < 1500);
  close(idle);
}

static void connection_cap(void) {
  char buf[8192];
  /* Server B serves two connections; a third is told 503 and closed. */
  int a = dial(port_b), b = dial(port_b);
  send_str(a, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  int n = read_response(a, buf, sizeof buf, 0);
  CHECK_MEM(buf, n, HELLO_200, sizeof HELLO_200 - 1);
  int c = dial(port_b);
  n = read_response(c, buf, sizeof buf, 0);
  static const char r503[] =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
      "Content-Length: 20\r\nConnection: close\r\n\r\nService Unavailable\n";
  CHECK_MEM(buf, n, r503, sizeof r503 - 1);
  CHECK(wait_closed(c, now_ms()) >= 0);
  close(c);
  /* The held ones still work; once one goes, a newcomer is served. */
  send_str(b, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  n = read_response(b, buf, sizeof buf, 0);
  CHECK_MEM(buf, n, HELLO_200, sizeof HELLO_200 - 1);
  close(a);
  int served = 0;
  for (int i = 0; i < 20 && !served; i++) {
    usleep(20000); /* until the server has seen a's EOF */
    n = exchange(port_b, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof buf);
    served = n > 0 && strncmp(buf, "HTTP/1.1 200 ", 13) == 0;
  }
  CHECK(served);
  close(b);
}

static void *client(void *arg) {
  (void)arg;
  routes();
  rejections();
  tokens();
  timeouts();
  connection_cap();
  /* Stopping closes open connections too: one held mid-request on server B
   * (3 s timeouts) is closed at once, not when its timer would fire. */
  int hold = dial(port_b);
  send_str(hold, "GET /hello HTTP/1.1\r\n");
  usleep(50000); /* accepted and parsed by now */
  int64_t t0 = now_ms();
  uv_async_send(&finished);
  int64_t closed = wait_closed(hold, t0);
  CHECK(closed >= 0 && closed < 1000);
  close(hold);
  return NULL;
}

/* ---- the loop side ------------------------------------------------------- */

static void on_stopped(void *arg) {
  (void)arg;
  if (++stopped == 2) uv_close((uv_handle_t *)&finished, NULL);
}

static void on_finished(uv_async_t *h) {
  (void)h;
  cxp_http_stop(srv_a, on_stopped, NULL);
  cxp_http_stop(srv_b, on_stopped, NULL);
}

static void start_errors(uv_loop_t *loop) {
  cxp_http *s;
  int calls = 0;
  CHECK_INT(cxp_http_start(&s, loop, "not-an-address", 0, handler, &calls, NULL), UV_EINVAL);
  CHECK(s == NULL);
  /* The port server A holds. */
  CHECK_INT(cxp_http_start(&s, loop, "127.0.0.1", port_a, handler, &calls, NULL), UV_EADDRINUSE);
  CHECK(s == NULL);
}

int main(void) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  int calls = 0;
  cxp_http_limits la, lb;
  cxp_http_limits_default(&la);
  la.read_timeout_ms = 200;
  la.idle_timeout_ms = 300;
  la.max_header_bytes = 1024;
  la.max_headers = 16;
  cxp_http_limits_default(&lb);
  lb.max_conns = 2;
  lb.read_timeout_ms = 3000;
  lb.idle_timeout_ms = 3000;
  CHECK_INT(cxp_http_start(&srv_a, &loop, "127.0.0.1", 0, handler, &calls, &la), 0);
  CHECK_INT(cxp_http_start(&srv_b, &loop, "127.0.0.1", 0, handler, &calls, &lb), 0);
  if (srv_a == NULL || srv_b == NULL) return TEST_REPORT();
  port_a = cxp_http_port(srv_a);
  port_b = cxp_http_port(srv_b);
  CHECK(port_a > 0 && port_b > 0 && port_a != port_b);
  start_errors(&loop);
  uv_async_init(&loop, &finished, on_finished);

  pthread_t th;
  pthread_create(&th, NULL, client, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  pthread_join(th, NULL);
  CHECK_INT(stopped, 2);
  CHECK(calls > 0);
  CHECK_INT(uv_loop_close(&loop), 0);
  return TEST_REPORT();
}
