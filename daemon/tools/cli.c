#include "cli.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "alert.h"
#include "config.h"
#include "kafka.h"
#include "core.h"
#include "log.h"
#include "pipeline.h"
#include "restore.h"
#include "scrape.h"
#include "staterec.h"
#include "xalloc.h"

volatile sig_atomic_t cxp_cli_stop;

/* 1 when standard output is a pipe whose reader has gone (`| head`): a
 * quiet tail notices it without waiting for its next write to fail. */
static int reader_gone(void) {
  struct pollfd p = {STDOUT_FILENO, 0, 0};
  return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP)) != 0;
}

void cxp_cli_on_stop(int sig) {
  (void)sig;
  cxp_cli_stop = 1;
}

static const char *js(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsString(v) ? v->valuestring : "-";
}

static double jnum(const cJSON *o, const char *k, int *ok) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  *ok = cJSON_IsNumber(v);
  return *ok ? v->valuedouble : 0;
}

/* A measure for a line: "csat=71.4", or "csat=-" without responses. */
static size_t measure(char *out, size_t cap, const cJSON *r, const char *k) {
  int ok;
  double v = jnum(r, k, &ok);
  return ok ? (size_t)snprintf(out, cap, " %s=%.1f", k, v) : (size_t)snprintf(out, cap, " %s=-", k);
}

size_t cxp_tail_format(char *out, size_t cap, const char *kind, const char *val, size_t len) {
  cJSON *r = cJSON_ParseWithLength(val, len);
  size_t n = 0;
  if (cap == 0) return 0;
  out[0] = '\0';
  if (!cJSON_IsObject(r)) {
    n = (size_t)snprintf(out, cap, "(not JSON) %.*s", (int)(len > 200 ? 200 : len), val);
  } else if (strcmp(kind, "alerts") == 0) {
    n = (size_t)snprintf(out, cap, "%s %s %-22s customer=%s case=%s segment=%s event_ts=%s",
                         js(r, "emitted_at"), js(r, "priority"), js(r, "type"),
                         js(r, "customer_id"), js(r, "case_id"), js(r, "segment"),
                         js(r, "event_ts"));
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(r, "deadline");
    if (cJSON_IsString(d) && n < cap)
      n += (size_t)snprintf(out + n, cap - n, " deadline=%s", d->valuestring);
    const cJSON *reasons = cJSON_GetObjectItemCaseSensitive(r, "reasons"), *x;
    cJSON_ArrayForEach(x, reasons) {
      int ok;
      double v = jnum(x, "value", &ok);
      if (n < cap) n += (size_t)snprintf(out + n, cap - n, " %s=%g", js(x, "factor"), v);
    }
    const cJSON *acts = cJSON_GetObjectItemCaseSensitive(r, "actions");
    char *a = acts ? cJSON_PrintUnformatted(acts) : NULL;
    if (a && n < cap) n += (size_t)snprintf(out + n, cap - n, " actions=%s role=%s", a, js(r, "role"));
    cJSON_free(a);
  } else if (strcmp(kind, "cases") == 0) {
    /* A case's state after a change (docs/console.md): what is due next,
     * by when, and who must act. */
    int ok;
    n = (size_t)snprintf(out, cap, "%s P%.0f %-6s %-9s case=%s customer=%s step=%s due=%s "
                         "overdue_s=%.0f level=%.0f role=%s",
                         js(r, "updated_at"), jnum(r, "priority", &ok), js(r, "state"),
                         js(r, "change"), js(r, "case_id"), js(r, "customer_id"),
                         js(r, "step"), js(r, "next_deadline"), jnum(r, "overdue_s", &ok),
                         jnum(r, "escalation_level", &ok), js(r, "role"));
    const cJSON *why = cJSON_GetObjectItemCaseSensitive(r, "closed_reason");
    if (cJSON_IsString(why) && n < cap)
      n += (size_t)snprintf(out + n, cap - n, " closed_reason=%s", why->valuestring);
  } else if (strcmp(kind, "indicators") == 0) {
    char *g = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(r, "group"));
    const cJSON *nn = cJSON_GetObjectItemCaseSensitive(r, "n");
    int ok;
    n = (size_t)snprintf(out, cap, "%s..%s %s events=%.0f", js(r, "window_start"),
                         js(r, "window_end"), g ? g : "{}", jnum(nn, "events", &ok));
    cJSON_free(g);
    const char *ms[] = {"csat", "nps", "ces"};
    for (int i = 0; i < 3 && n < cap; i++) n += measure(out + n, cap - n, r, ms[i]);
    if (n < cap)
      n += (size_t)snprintf(out + n, cap - n, " complaints=%.0f cases_opened=%.0f%s%s",
                            jnum(r, "complaints", &ok), jnum(r, "cases_opened", &ok),
                            cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "low_n"))
                                ? " (low n)" : "",
                            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "incomplete"))
                                ? " INCOMPLETE" : "");
  } else {
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(r, "source");
    int ok;
    n = (size_t)snprintf(out, cap, "%s %-14s %s[%.0f]@%.0f %s", js(r, "received_at"),
                         js(r, "reason"), js(src, "topic"), jnum(src, "partition", &ok),
                         jnum(src, "offset", &ok), js(r, "detail"));
  }
  cJSON_Delete(r);
  if (n >= cap) n = cap - 1;
  return n;
}


/* 1 when one of the comma-separated patterns of `list` takes s
 * (cxp_alert_type_match). */
static int listed(const char *list, const char *s) {
  for (const char *p = list; *p;) {
    const char *end = strchr(p, ',');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    if (cxp_alert_type_match(p, n, s)) return 1;
    p += n + (end != NULL);
  }
  return 0;
}

/* The string member k of r, or NULL when it is missing or not a string. */
static const char *member_str(const cJSON *r, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, k);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* 1 when the parsed record r passes every filter of f. */
static int passes(const cxp_tail_filter *f, const cJSON *r) {
  if (f->n_types) {
    const char *t = member_str(r, "type");
    int any = 0;
    for (int i = 0; t && i < f->n_types && !any; i++) any = listed(f->types[i], t);
    if (!any) return 0;
  }
  if (f->n_customers) {
    const char *c = member_str(r, "customer_id");
    int any = 0;
    for (int i = 0; c && i < f->n_customers && !any; i++) any = strcmp(f->customers[i], c) == 0;
    if (!any) return 0;
  }
  if (f->priority) {
    const char *p = member_str(r, "priority");
    int level = p ? cxp_alert_priority_parse(p, 0) : -1;
    if (level < 1 || level > f->priority) return 0;
  }
  return 1;
}

int cxp_tail_match(const cxp_tail_filter *f, const char *val, size_t len) {
  if (f->n_types == 0 && f->n_customers == 0 && f->priority == 0) return 1;
  cJSON *r = cJSON_ParseWithLength(val, len);
  int ok = cJSON_IsObject(r) && passes(f, r);
  cJSON_Delete(r);
  return ok;
}

static void tail_usage(FILE *f) {
  fputs("usage: cxpulse tail alerts|indicators|dead-letters|cases --config FILE\n"
        "                   [--from-beginning] [--exit] [--raw]\n"
        "                   [--type T[,T...]]... [--priority P] [--customer ID]...\n"
        "       cxpulse tail KIND --brokers HOST:PORT --topic NAME ...\n"
        "  Follows the topic (every partition, no consumer group) and prints each record\n"
        "  on one readable line. --from-beginning: from the oldest record, not the\n"
        "  newest; --exit: stop at the end of every partition; --raw: the JSON as is.\n"
        "  Filters, alerts only, applied before printing (a record must pass them all;\n"
        "  one that is not a JSON object, or lacks the field, passes none):\n"
        "  --type: these alert types (repeat it or separate them with commas; a name\n"
        "  ending in '.' or '*' takes every type it begins, e.g. recovery.);\n"
        "  --priority P1..P4: that priority or a more urgent one (P1 is the most);\n"
        "  --customer: this customer's alerts (repeat it for several).\n",
        f);
}

/* tail's command line; topic_buf holds the pipeline's topic when --config
 * names it and --topic does not. */
typedef struct tail_args {
  const char *config, *brokers, *topic, *kind;
  int from_start, exit_at_end, raw;
  cxp_tail_filter filter;
  char topic_buf[CXP_STR_MAX];
} tail_args;

/* A filter's option into a->filter: 0, or -1 after saying why. */
static int tail_filter_option(tail_args *a, int ch, const char *arg) {
  cxp_tail_filter *f = &a->filter;
  if (ch == 'P') {
    f->priority = cxp_alert_priority_parse(arg, 0);
    if (f->priority > 0) return 0;
    fprintf(stderr, "cxpulse tail: --priority '%s': give P1, P2, P3 or P4\n", arg);
    return -1;
  }
  const char **list = ch == 'T' ? f->types : f->customers;
  int *n = ch == 'T' ? &f->n_types : &f->n_customers;
  if (*n == CXP_TAIL_MAX_FILTER || arg[0] == '\0') {
    fprintf(stderr, "cxpulse tail: --%s: %s\n", ch == 'T' ? "type" : "customer",
            arg[0] ? "given too many times" : "empty");
    return -1;
  }
  list[(*n)++] = arg;
  return 0;
}

/* The options into `a`: -1 when they are good, else the exit code (0 for
 * --help, 2 for a usage error). */
static int tail_options(int argc, char **argv, tail_args *a) {
  static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                       {"brokers", required_argument, NULL, 'b'},
                                       {"topic", required_argument, NULL, 't'},
                                       {"from-beginning", no_argument, NULL, 'B'},
                                       {"exit", no_argument, NULL, 'e'},
                                       {"raw", no_argument, NULL, 'r'},
                                       {"type", required_argument, NULL, 'T'},
                                       {"priority", required_argument, NULL, 'P'},
                                       {"customer", required_argument, NULL, 'C'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  a->config = a->brokers = a->topic = a->kind = NULL;
  a->from_start = a->exit_at_end = a->raw = 0;
  memset(&a->filter, 0, sizeof a->filter);
  int ch;
  optind = 1;
  while ((ch = getopt_long(argc, argv, "c:b:t:BerT:P:C:h", opts, NULL)) != -1) {
    switch (ch) {
      case 'T':
      case 'P':
      case 'C':
        if (tail_filter_option(a, ch, optarg) != 0) return 2;
        break;
      case 'c': a->config = optarg; break;
      case 'b': a->brokers = optarg; break;
      case 't': a->topic = optarg; break;
      case 'B': a->from_start = 1; break;
      case 'e': a->exit_at_end = 1; break;
      case 'r': a->raw = 1; break;
      case 'h': tail_usage(stdout); return 0;
      default: tail_usage(stderr); return 2;
    }
  }
  if (optind != argc - 1) {
    tail_usage(stderr);
    return 2;
  }
  a->kind = argv[optind];
  if (strcmp(a->kind, "alerts") && strcmp(a->kind, "indicators") &&
      strcmp(a->kind, "dead-letters") && strcmp(a->kind, "cases")) {
    tail_usage(stderr);
    return 2;
  }
  const cxp_tail_filter *f = &a->filter;
  if ((f->n_types || f->n_customers || f->priority) && strcmp(a->kind, "alerts") != 0) {
    fprintf(stderr, "cxpulse tail: --type, --priority and --customer filter alerts only\n");
    return 2;
  }
  return -1;
}

/* The topic into `a` (--topic, else the pipeline's of the file --config
 * names) and the brokers into `c` (the file's, else --brokers): -1 when both
 * are known, else the exit code after saying why. */
static int tail_settings(tail_args *a, cxp_config *c) {
  char err[512];
  cxp_pipeline p;
  cxp_config_defaults(c);
  if (a->config) {
    if (cxp_config_load(c, a->config, err, sizeof err) ||
        cxp_pipeline_load(&p, c->pipeline, err, sizeof err)) {
      fprintf(stderr, "cxpulse tail: %s\n", err);
      return 1;
    }
    snprintf(a->topic_buf, sizeof a->topic_buf, "%s",
             a->kind[0] == 'a'   ? p.topic_alerts
             : a->kind[0] == 'i' ? p.topic_indicators
             : a->kind[0] == 'c' ? p.topic_cases
                                 : p.topic_dead_letters);
    if (a->topic == NULL && a->topic_buf[0] == '\0') {
      fprintf(stderr, "cxpulse tail: %s writes no cases (topics.cases is \"\")\n", c->pipeline);
      return 2;
    }
    if (a->topic == NULL) a->topic = a->topic_buf;
  }
  if (a->brokers) cxp_config_kafka_default(c, "bootstrap.servers", a->brokers);
  if (a->topic == NULL || cxp_config_kafka_get(c, "bootstrap.servers") == NULL) {
    fprintf(stderr, "cxpulse tail: give --config, or --brokers and --topic\n");
    return 2;
  }
  return -1;
}

/* The reader's consumer, or NULL after saying why. No group: this reader
 * assigns itself every partition and commits nothing, so it never takes
 * work from the daemon's group. */
static rd_kafka_t *tail_consumer(cxp_config *c, const char *config) {
  char err[512];
  cxp_config_kafka_default(c, "consumer.group.id", "cxpulse-tail");
  cxp_config_kafka_default(c, "consumer.enable.auto.commit", "false");
  cxp_config_kafka_default(c, "consumer.enable.partition.eof", "true");
  rd_kafka_conf_t *kc = cxp_kafka_conf(c, RD_KAFKA_CONSUMER, config ? config : "(args)", err,
                                       sizeof err);
  if (kc == NULL) {
    fprintf(stderr, "cxpulse tail: %s\n", err);
    return NULL;
  }
  char e[512];
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, e, sizeof e);
  if (rk == NULL) {
    fprintf(stderr, "cxpulse tail: %s\n", e);
    rd_kafka_conf_destroy(kc);
  }
  return rk;
}

/* Every partition of the topic assigned, each from its oldest record or
 * past its newest: how many, or -1 after saying why. */
static int tail_assign(rd_kafka_t *rk, const char *topic, int from_start) {
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
  const struct rd_kafka_metadata *md = NULL;
  rd_kafka_resp_err_t me = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
  if (me || md->topic_cnt != 1 || md->topics[0].err) {
    fprintf(stderr, "cxpulse tail: topic %s: %s\n", topic,
            rd_kafka_err2str(me ? me : md->topics[0].err));
    if (md) rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return -1;
  }
  int parts = md->topics[0].partition_cnt;
  rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(parts);
  for (int i = 0; i < parts; i++)
    rd_kafka_topic_partition_list_add(l, topic, i)->offset =
        from_start ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
  rd_kafka_assign(rk, l);
  rd_kafka_topic_partition_list_destroy(l);
  return parts;
}

/* Prints the records of the `parts` partitions assigned until a signal, the
 * end of every partition (--exit), an unknown topic or a reader gone. The
 * exit code. */
static int tail_follow(rd_kafka_t *rk, const tail_args *a, int parts) {
  int at_end = 0, rc = 0;
  char line[8192];
  while (!cxp_cli_stop) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
    if (m == NULL) {
      if (reader_gone()) cxp_cli_stop = 1;
      continue;
    }
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (++at_end >= parts && a->exit_at_end) cxp_cli_stop = 1;
    } else if (m->err) {
      fprintf(stderr, "cxpulse tail: %s\n", rd_kafka_message_errstr(m));
      if (m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC) {
        rc = 1;
        cxp_cli_stop = 1;
      }
    } else if (!cxp_tail_match(&a->filter, m->payload, m->len)) {
      /* Filtered out before any formatting. */
    } else if (a->raw) {
      fwrite(m->payload, 1, m->len, stdout);
      fputc('\n', stdout);
    } else {
      size_t n = cxp_tail_format(line, sizeof line, a->kind, m->payload, m->len);
      fwrite(line, 1, n, stdout);
      fputc('\n', stdout);
    }
    rd_kafka_message_destroy(m);
    if (fflush(stdout) != 0 || ferror(stdout)) {
      /* The reader went away (`| head`): SIGPIPE is ignored process-wide
       * (main.c), so the write fails instead of killing us. */
      if (errno != EPIPE) {
        fprintf(stderr, "cxpulse tail: standard output: %s\n", strerror(errno));
        rc = 1;
      }
      cxp_cli_stop = 1;
    }
  }
  return rc;
}

int cxp_tail_main(int argc, char **argv) {
  tail_args a;
  int rc = tail_options(argc, argv, &a);
  if (rc >= 0) return rc;
  cxp_config c;
  rc = tail_settings(&a, &c);
  if (rc >= 0) return rc;
  cxp_log_level = CXP_LOG_WARN;
  rd_kafka_t *rk = tail_consumer(&c, a.config);
  if (rk == NULL) return 1;
  int parts = tail_assign(rk, a.topic, a.from_start);
  if (parts < 0) {
    rd_kafka_destroy(rk);
    return 1;
  }
  signal(SIGINT, cxp_cli_on_stop);
  signal(SIGTERM, cxp_cli_on_stop);
  rc = tail_follow(rk, &a, parts);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return rc;
}

/* ---- top ----------------------------------------------------------------- */

/* GET path from 127.0.0.1:port (or host); the body into out. The HTTP
 * status, or -1 when the endpoint could not be reached. */
static int fetch(const char *host, int port, const char *path, const char *token, char *out,
                 size_t cap) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, host, &a.sin_addr) != 1) return -1;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct timeval tv = {2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    return -1;
  }
  char req[600];
  int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\n%s%s%sConnection: close\r\n\r\n",
                   path, host, token ? "Authorization: Bearer " : "", token ? token : "",
                   token ? "\r\n" : "");
  if (write(fd, req, (size_t)n) != n) {
    close(fd);
    return -1;
  }
  size_t used = 0;
  ssize_t got;
  while (used + 1 < cap && (got = read(fd, out + used, cap - 1 - used)) > 0) used += (size_t)got;
  close(fd);
  out[used] = '\0';
  int status = -1;
  if (sscanf(out, "HTTP/1.%*d %d", &status) != 1) return -1;
  char *body = strstr(out, "\r\n\r\n");
  if (body) memmove(out, body + 4, strlen(body + 4) + 1);
  return status;
}

/* A duration for people: "0.60 ms", "48.0 ms", "2.50 s". */
static int put_seconds(char *out, size_t cap, double s) {
  double ms = s * 1000;
  if (ms < 10) return snprintf(out, cap, "%.2f ms", ms);
  if (ms < 1000) return snprintf(out, cap, "%.1f ms", ms);
  return snprintf(out, cap, "%.2f s", s);
}

/* A quantile of h: its duration, "> B" when above the highest bound B. */
static int put_quantile(char *out, size_t cap, const cxp_scrape_hist *h, double q) {
  double v = cxp_scrape_quantile(h, q);
  if (!isinf(v)) return put_seconds(out, cap, v);
  int n = snprintf(out, cap, "> ");
  return n + put_seconds(out + n, cap - (size_t)n, h->n > 1 ? h->le[h->n - 2] : 0);
}

size_t cxp_top_latency(char *out, size_t cap, const char *metrics) {
  cxp_scrape_hist h;
  char p50[32], p99[32], mean[32];
  if (cap == 0) return 0;
  if (cxp_scrape_histogram(metrics, "cxpulse_processing_seconds", &h) != 0 ||
      !(h.cum[h.n - 1] > 0)) {
    snprintf(out, cap, "- (no event measured yet)");
  } else {
    double count = h.cum[h.n - 1];
    put_quantile(p50, sizeof p50, &h, 0.5);
    put_quantile(p99, sizeof p99, &h, 0.99);
    put_seconds(mean, sizeof mean,
                cxp_scrape_sum(metrics, "cxpulse_processing_seconds_sum") / count);
    snprintf(out, cap, "p50 %s   p99 %s   mean %s over %.0f events", p50, p99, mean, count);
  }
  return strlen(out);
}

size_t cxp_top_lag(char *out, size_t cap, const char *metrics, int worst) {
  cxp_scrape_lag w[8];
  double total;
  if (cap == 0) return 0;
  if (worst > 8) worst = 8;
  int parts = cxp_scrape_lags(metrics, "cxpulse_consumer_lag_messages", w, worst, &total);
  if (parts == 0) {
    snprintf(out, cap, "- (no partition's lag known yet)");
    return strlen(out);
  }
  size_t n = (size_t)snprintf(out, cap, "%.0f messages over %d partition%s", total, parts,
                              parts == 1 ? "" : "s");
  int shown = parts < worst ? parts : worst;
  for (int i = 0; i < shown && w[i].lag > 0 && n < cap; i++)
    n += (size_t)snprintf(out + n, cap - n, "%s p%d %.0f", i ? "," : "; worst", w[i].partition,
                          w[i].lag);
  return n < cap ? n : cap - 1;
}

static void top_usage(FILE *f) {
  fputs("usage: cxpulse top [--port N] [--host ADDR] [--token T] [--interval S] [--once]\n"
        "  Follows a running daemon's admin endpoint (http.port) and shows its rates,\n"
        "  lag, alerts and memory, refreshing in place; --once prints one frame. On a\n"
        "  terminal, q quits (as Ctrl-C does).\n"
        "  lag: the input messages not consumed yet, summed over the partitions, and\n"
        "  the partitions furthest behind. latency: from an event consumed to its\n"
        "  outputs acknowledged; p50 and p99 come from the daemon's histogram\n"
        "  (cxpulse_processing_seconds), interpolated linearly inside the bucket that\n"
        "  holds them, so they are exact only to that bucket's bounds (\"> 10.00 s\":\n"
        "  above the highest).\n",
        f);
}

/* top's command line. */
typedef struct top_args {
  const char *host, *token;
  int port, once;
  double interval; /* seconds between frames */
} top_args;

/* The options into `a`: -1 when they are good, else the exit code (0 for
 * --help, 2 for a usage error). */
static int top_options(int argc, char **argv, top_args *a) {
  static const struct option opts[] = {{"port", required_argument, NULL, 'p'},
                                       {"host", required_argument, NULL, 'H'},
                                       {"token", required_argument, NULL, 't'},
                                       {"interval", required_argument, NULL, 'i'},
                                       {"once", no_argument, NULL, 'o'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  a->host = "127.0.0.1";
  a->token = NULL;
  a->port = 9477;
  a->once = 0;
  a->interval = 2;
  int ch;
  optind = 1;
  while ((ch = getopt_long(argc, argv, "p:H:t:i:oh", opts, NULL)) != -1) {
    switch (ch) {
      case 'p': a->port = atoi(optarg); break;
      case 'H': a->host = optarg; break;
      case 't': a->token = optarg; break;
      case 'i': a->interval = atof(optarg); break;
      case 'o': a->once = 1; break;
      case 'h': top_usage(stdout); return 0;
      default: top_usage(stderr); return 2;
    }
  }
  if (a->port < 1 || a->port > 65535 || !(a->interval >= 0.2)) {
    top_usage(stderr);
    return 2;
  }
  return -1;
}

/* The counters of the frame before, which the rates are taken against. */
typedef struct top_prev {
  double consumed, alerts, dead; /* consumed < 0 before the first frame */
  struct timespec t;
} top_prev;

/* One frame from the status and the metrics read at t, the counters kept in
 * prev for the next, "q quits" under it when keys are read: -1 once shown,
 * else the exit code (standard output failed; 0 when its reader went away). */
static int top_frame(const top_args *a, const char *status, const char *metrics,
                     struct timespec t, top_prev *prev, int keys) {
  cJSON *s = cJSON_Parse(status);
  double consumed = cxp_scrape_sum(metrics, "cxpulse_events_consumed_total");
  double alerts = cxp_scrape_sum(metrics, "cxpulse_alerts_total");
  double dead = cxp_scrape_sum(metrics, "cxpulse_dead_letters_total");
  double dt = (double)(t.tv_sec - prev->t.tv_sec) + (double)(t.tv_nsec - prev->t.tv_nsec) / 1e9;
  int have_rate = prev->consumed >= 0 && dt > 0;
  if (!a->once) fputs("\033[H\033[2J", stdout); /* home, clear */
  int ok;
  printf("cxpulse %s:%d  pipeline %s  %s%s\n", a->host, a->port, js(s, "pipeline"),
         cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "ready")) ? "ready" : "NOT READY",
         cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "paused")) ? "  (paused)" : "");
  printf("  partitions   %.0f\n", jnum(s, "partitions_assigned", &ok));
  if (have_rate)
    printf("  events/s     %.0f   alerts/s %.1f   dead letters/s %.1f\n",
           (consumed - prev->consumed) / dt, (alerts - prev->alerts) / dt,
           (dead - prev->dead) / dt);
  else
    printf("  events/s     -   (the next frame has rates)\n");
  printf("  consumed     %.0f   alerts %.0f   dead letters %.0f\n", consumed, alerts, dead);
  char line[256];
  cxp_top_lag(line, sizeof line, metrics, 3);
  printf("  lag          %s\n", line);
  cxp_top_latency(line, sizeof line, metrics);
  printf("  latency      %s\n", line);
  printf("  customers    %.0f   state %.1f MB   open cases %.0f\n", jnum(s, "customers", &ok),
         jnum(s, "state_bytes", &ok) / 1e6, jnum(s, "open_cases", &ok));
  printf("  producer     queue %.0f   in flight %.0f   commits %.0f (failed %.0f)\n",
         jnum(s, "producer_queue", &ok), jnum(s, "in_flight", &ok), jnum(s, "commits", &ok),
         jnum(s, "commit_failures", &ok));
  if (keys) fputs("\n  q quits\n", stdout);
  cJSON_Delete(s);
  if (fflush(stdout) != 0 || ferror(stdout)) return errno == EPIPE ? 0 : 1;
  prev->consumed = consumed;
  prev->alerts = alerts;
  prev->dead = dead;
  prev->t = t;
  return -1;
}

/* The terminal's settings before top changed them, while changed. */
static struct termios tty_saved;
static int tty_changed;

/* Keys on standard input as they are typed, unechoed, when it is a
 * terminal: 1 then, 0 when it is not one (keys are then not read at all, so
 * a pipe or /dev/null as stdin changes nothing). Signals stay on: Ctrl-C
 * still stops top, which then restores the terminal (top_keys_off). */
static int top_keys_on(void) {
  if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &tty_saved) != 0) return 0;
  struct termios t = tty_saved;
  t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
  t.c_cc[VMIN] = 0;
  t.c_cc[VTIME] = 0;
  if (tcsetattr(STDIN_FILENO, TCSANOW, &t) != 0) return 0;
  tty_changed = 1;
  return 1;
}

static void top_keys_off(void) {
  if (tty_changed) tcsetattr(STDIN_FILENO, TCSANOW, &tty_saved);
  tty_changed = 0;
}

/* Waits `seconds`, watching the keyboard when `keys`: 1 when q was pressed
 * or a signal asked to stop, 0 when the time is up. */
static int top_wait(double seconds, int keys) {
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (;;) {
    clock_gettime(CLOCK_MONOTONIC, &t);
    double left = seconds - (double)(t.tv_sec - t0.tv_sec) - (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
    if (cxp_cli_stop) return 1;
    if (left <= 0) return 0;
    struct pollfd p = {STDIN_FILENO, POLLIN, 0};
    if (poll(&p, keys ? 1 : 0, (int)(left * 1000) + 1) <= 0) continue; /* timeout, signal */
    char c[64];
    ssize_t n = read(STDIN_FILENO, c, sizeof c);
    if (n <= 0) keys = 0; /* the terminal went away: wait out the time */
    for (ssize_t i = 0; i < n; i++)
      if (c[i] == 'q' || c[i] == 'Q') return 1;
  }
}

/* Frames until q, a signal, or an error: the exit code. */
static int top_loop(const top_args *a, int keys) {
  static char status[65536], metrics[1 << 20];
  top_prev prev = {-1, 0, 0, {0, 0}};
  int frames = 0;
  while (!cxp_cli_stop) {
    int ss = fetch(a->host, a->port, "/v1/status", a->token, status, sizeof status);
    int ms = fetch(a->host, a->port, "/metrics", NULL, metrics, sizeof metrics);
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    if (ss != 200 || ms != 200) {
      fprintf(stderr, "cxpulse top: %s:%d: %s\n", a->host, a->port,
              ss == 401 ? "unauthorised (--token)" : ss < 0 || ms < 0 ? "not reachable" : "error");
      if (a->once || frames == 0) return 1;
    } else {
      int rc = top_frame(a, status, metrics, t, &prev, keys);
      if (rc >= 0) return rc;
      frames++;
    }
    if (a->once || top_wait(a->interval, keys)) break;
  }
  return 0;
}

int cxp_top_main(int argc, char **argv) {
  top_args a;
  int rc = top_options(argc, argv, &a);
  if (rc >= 0) return rc;
  signal(SIGINT, cxp_cli_on_stop);
  signal(SIGTERM, cxp_cli_on_stop);
  signal(SIGHUP, cxp_cli_on_stop);
  signal(SIGQUIT, cxp_cli_on_stop);
  /* One way out of the loop whatever ends it, so the terminal is always
   * given back as it was found. */
  int keys = a.once ? 0 : top_keys_on();
  rc = top_loop(&a, keys);
  top_keys_off();
  return rc;
}
