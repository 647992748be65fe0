/* The admin server's listener: accepting connections, and who makes room
 * for a newcomer at max_conns and at max_conns_per_addr (the reasoning is
 * above make_room). A connection's own life is httpconn.c's. */
#include "http_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

/* A connection waiting for a request less than this long is not judged by
 * how little it has sent when room must be made: a client that connects and
 * then writes its request has not had the time to, and may not even have
 * been read yet. It also paces the turnover of a full server (see
 * make_room): 64 connections per FRESH_MS at most. */
#define FRESH_MS 25

/* Connections taken from the backlog per wake-up of the listener, so that a
 * flood of them cannot hold the loop; the rest wait for the next turn. */
#define ACCEPT_BATCH 64

/* With no descriptor left (EMFILE) and nothing to drop, the listener rests
 * this long instead of spinning on a backlog it cannot take from. */
#define ACCEPT_RETRY_MS 100

static const char r503[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; "
                           "charset=utf-8\r\nContent-Length: 20\r\nConnection: close\r\n\r\n"
                           "Service Unavailable\n";

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
  uint64_t t = http_now(s);
  conn *v = NULL;
  for (conn *c = s->conns; c; c = c->next) {
    if (!evictable(c) || (only && !(c->key_limited && same_key(&c->key, only)))) continue;
    if (v == NULL || worse(c, v, t)) v = c;
  }
  return v;
}

static void evict(conn *c) {
  cxp_http *s = c->srv;
  if (c->in_request && http_pending(c) == 0) http_say(c->fd, r503, sizeof r503 - 1);
  cxp_debug("http", "dropping a connection for a newcomer (%zu header bytes in)",
            c->in_request ? c->header_bytes : 0);
  s->stats.evicted++;
  http_conn_close(c);
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
    if (!fresh_ok && rank(v, http_now(s)) == 2) return 1;
    if (v->round != round) {
      v->round = round;
      http_conn_read(v);
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
  http_say(fd, r503, sizeof r503 - 1);
  close(fd);
}

/* ---- the listener -------------------------------------------------------- */

/* A newcomer, with room under the cap made already. */
static void serve(cxp_http *s, int fd, const struct sockaddr_storage *sa) {
  addr_key k;
  int limited = key_of(sa, &k) && s->lim.max_conns_per_addr > 0;
  if (limited && make_room(s, &k, 1, addr_full) != 0) {
    cxp_debug("http", "refusing a connection: its address's all being answered");
    refuse(s, fd);
    return;
  }
  conn *c = http_conn_new(s);
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
  http_conn_arm(c, http_header_ms(s));
  http_conn_watch(c);
  /* A client that wrote its request right after connecting is answered in
   * this turn, before anything else can crowd it out. */
  http_conn_read(c);
}

void http_resume_accepting(cxp_http *s) {
  if (!s->resting || s->stopping) return;
  s->resting = 0;
  uv_timer_stop(&s->retry);
  uv_poll_start(&s->listener, UV_READABLE, http_on_accept);
}

static void on_retry(uv_timer_t *t) { http_resume_accepting(t->data); }

static void rest(cxp_http *s, uint64_t ms) {
  s->resting = 1;
  uv_poll_stop(&s->listener);
  uv_timer_start(&s->retry, on_retry, ms ? ms : 1, 0);
}

/* Milliseconds until the oldest fresh connection that could be dropped is
 * no longer fresh. */
static uint64_t until_ripe(cxp_http *s) {
  uint64_t t = http_now(s), first = UINT64_MAX;
  for (conn *c = s->conns; c; c = c->next)
    if (evictable(c) && c->waiting_since < first) first = c->waiting_since;
  return first == UINT64_MAX || first + FRESH_MS <= t ? 1 : first + FRESH_MS - t;
}

/* Whether a connection waits in the listener's backlog. */
static int backlog_waiting(int lfd) {
  struct pollfd p = {lfd, POLLIN, 0};
  return poll(&p, 1, 0) > 0;
}

void http_on_accept(uv_poll_t *h, int status, int events) {
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
      if (v && rank(v, http_now(s)) < 2) {
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
