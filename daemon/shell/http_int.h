/* The admin HTTP server's internals (http.h), shared by its files and by no
 * one else:
 *
 *   http.c        the server: limits, start and stop, the test hook, bearer
 *                 tokens
 *   httpconn.c    one connection: reading, parsing, responding, its timer
 *                 and its close
 *   httpaccept.c  the listener: accepting, and who makes room at the caps
 *                 (the per-address limit, eviction, resting)
 *
 * Our shared functions are http_*; the parser's own are http_parser_*. */
#ifndef CXP_HTTP_INT_H
#define CXP_HTTP_INT_H

#include "http.h"

#include <stddef.h>
#include <stdint.h>

#include <http_parser.h>
#include <uv.h>

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
  int closing;      /* http_conn_close called */
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

static inline uint64_t http_now(const cxp_http *s) { return s->loop ? uv_now(s->loop) : 0; }
static inline size_t http_pending(const conn *c) { return c->out.len - c->out_off; }

/* http.c */
void http_maybe_done(cxp_http *s);

/* httpconn.c */
void http_conn_settings(http_parser_settings *st);
conn *http_conn_new(cxp_http *s);
void http_conn_free(conn *c);
void http_conn_close(conn *c);
void http_conn_arm(conn *c, uint64_t ms);
void http_conn_watch(conn *c);
void http_conn_pump(conn *c);
void http_conn_parse(conn *c, const char *data, size_t len, int from_in);
void http_conn_read(conn *c);
uint64_t http_header_ms(const cxp_http *s);
void http_say(int fd, const char *msg, size_t len);

/* httpaccept.c */
void http_on_accept(uv_poll_t *h, int status, int events);
void http_resume_accepting(cxp_http *s);

#endif
