/* `cxpulse demo`: the daemon's real job on one machine. An embedded mock
 * Kafka cluster, a generator producing synthetic customer traffic into the
 * input topic, and the daemon consuming it, all on one libuv loop; alerts are
 * printed as the broker acknowledges them, with a periodic summary. */
#include "demo.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "daemon.h"
#include "gen.h"
#include "log.h"
#include "mock.h"
#include "timeutil.h"
#include "alert.h"

typedef struct demo {
  uv_loop_t loop;
  cxp_mock mock;
  cxp_daemon *d;
  rd_kafka_t *gp; /* the generator's producer */
  rd_kafka_topic_t *gt;
  cxp_gen *gen;
  uv_timer_t gen_timer, summary_timer, end_timer;
  uv_signal_t sigint, sigterm;
  double rate;
  double carry;
  uint64_t produced, produce_failed;
  uint64_t print_sec, printed_this_sec, suppressed_lines;
  uint64_t ind_sec, ind_this_sec, ind_incomplete;
  uint64_t alerts_by_type[CXP_AL__COUNT];
  uint64_t t0;
  int stopping;
  int verbose;
} demo;

static void demo_stop(demo *m);

static void on_gen_timer(uv_timer_t *t) {
  demo *m = t->data;
  char buf[2048], key[64];
  size_t klen;
  /* The timer fires every 10 ms; produce what the rate asks for since. */
  m->carry += m->rate / 100.0;
  int n = (int)m->carry;
  m->carry -= n;
  for (int i = 0; i < n; i++) {
    size_t len = cxp_gen_next(m->gen, buf, sizeof buf, key, sizeof key, &klen);
    if (len >= sizeof buf) continue;
    if (rd_kafka_produce(m->gt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, buf, len,
                         klen ? key : NULL, klen, NULL) == -1) {
      m->produce_failed++;
      break; /* queue full: the next tick tries again */
    }
    m->produced++;
  }
  rd_kafka_poll(m->gp, 0);
}

static const char *jstr(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsString(v) ? v->valuestring : "-";
}

/* A measure for a line: its value, or "-" when it had no responses. */
static void measure(char *out, size_t n, const cJSON *rec, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, k);
  if (cJSON_IsNumber(v))
    snprintf(out, n, "%.1f", v->valuedouble);
  else
    snprintf(out, n, "-");
}

/* One line per closed window and group, at most 6 a second. */
static void print_indicator(demo *m, const char *val, size_t vlen) {
  cJSON *r = cJSON_ParseWithLength(val, vlen);
  if (r == NULL) return;
  if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "incomplete"))) m->ind_incomplete++;
  uint64_t now_s = uv_now(&m->loop) / 1000;
  if (now_s != m->ind_sec) {
    m->ind_sec = now_s;
    m->ind_this_sec = 0;
  }
  if (m->ind_this_sec++ < 6 || m->verbose) {
    char group[160] = "", csat[16], nps[16], ces[16];
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(r, "group"), *f;
    size_t used = 0;
    cJSON_ArrayForEach(f, g) {
      if (used < sizeof group)
        used += (size_t)snprintf(group + used, sizeof group - used, "%s%s=%s", used ? "," : "",
                                 f->string, cJSON_IsString(f) ? f->valuestring : "null");
    }
    measure(csat, sizeof csat, r, "csat");
    measure(nps, sizeof nps, r, "nps");
    measure(ces, sizeof ces, r, "ces");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(r, "n");
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(n, "events");
    const cJSON *low = cJSON_GetObjectItemCaseSensitive(r, "low_n");
    printf("INDICATOR %s..%s %-24s events=%d csat=%s nps=%s ces=%s complaints=%d%s%s\n",
           jstr(r, "window_start"), jstr(r, "window_end") + 11, group,
           cJSON_IsNumber(ev) ? ev->valueint : 0, csat, nps, ces,
           cJSON_GetObjectItemCaseSensitive(r, "complaints")
               ? cJSON_GetObjectItemCaseSensitive(r, "complaints")->valueint
               : 0,
           cJSON_GetArraySize(low) ? " (low n)" : "",
           cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "incomplete")) ? " INCOMPLETE" : "");
  }
  cJSON_Delete(r);
}

static void on_output(void *opaque, cxp_stream s, const char *key, size_t klen,
                      const char *val, size_t vlen) {
  (void)key;
  (void)klen;
  demo *m = opaque;
  if (s == CXP_STREAM_INDICATORS) {
    print_indicator(m, val, vlen);
    return;
  }
  if (s != CXP_STREAM_ALERTS) return;
  cJSON *a = cJSON_ParseWithLength(val, vlen);
  if (a == NULL) return;
  const char *type = jstr(a, "type");
  for (int i = 0; i < CXP_AL__COUNT; i++)
    if (strcmp(type, cxp_alert_type_name((cxp_alert_type)i)) == 0) m->alerts_by_type[i]++;
  /* At most 8 alert lines a second, so the summary stays readable. */
  uint64_t now_s = uv_now(&m->loop) / 1000;
  if (now_s != m->print_sec) {
    m->print_sec = now_s;
    m->printed_this_sec = 0;
  }
  if (m->printed_this_sec++ < 8 || m->verbose) {
    const cJSON *reasons = cJSON_GetObjectItemCaseSensitive(a, "reasons");
    const cJSON *r0 = cJSON_GetArrayItem(reasons, 0);
    const cJSON *rv = r0 ? cJSON_GetObjectItemCaseSensitive(r0, "value") : NULL;
    printf("ALERT %s %-22s customer=%s segment=%s %s=%g event_ts=%s deadline=%s\n",
           jstr(a, "priority"), type, jstr(a, "customer_id"), jstr(a, "segment"),
           r0 ? jstr(r0, "factor") : "-", cJSON_IsNumber(rv) ? rv->valuedouble : 0.0,
           jstr(a, "event_ts"), jstr(a, "deadline"));
  } else {
    m->suppressed_lines++;
  }
  cJSON_Delete(a);
}

static void on_summary(uv_timer_t *t) {
  demo *m = t->data;
  cxp_daemon_stats s;
  cxp_daemon_stats_get(m->d, &s);
  double secs = (double)(uv_now(&m->loop) - m->t0) / 1000.0;
  char ts[25];
  cxp_time_format(cxp_gen_time(m->gen), ts);
  printf("---- %.0f s | event time %s ----\n", secs, ts);
  printf("  produced %" PRIu64 "  consumed %" PRIu64 " (%.0f/s)  applied %" PRIu64
         "  duplicates %" PRIu64 "  customers %zu  partitions %d%s\n",
         m->produced, s.core->consumed, secs > 0 ? (double)s.core->consumed / secs : 0.0,
         s.core->processed, s.core->duplicates, s.customers, s.assigned,
         s.paused && !m->stopping ? "  (paused: back-pressure)" : "");
  printf("  dead letters:");
  for (int i = 1; i < CXP_BAD__COUNT; i++)
    if (s.core->dead[i]) printf(" %s=%" PRIu64, cxp_reason_name((cxp_reason)i), s.core->dead[i]);
  printf("\n  alerts delivered %" PRIu64 ":", s.delivered[CXP_STREAM_ALERTS]);
  for (int i = 0; i < CXP_AL__COUNT; i++)
    if (m->alerts_by_type[i])
      printf(" %s=%" PRIu64, cxp_alert_type_name((cxp_alert_type)i), m->alerts_by_type[i]);
  printf("  (suppressed: cooldown %" PRIu64 ", no consent %" PRIu64 ")\n",
         s.core->suppressed_cooldown, s.core->suppressed_consent);
  printf("  indicator records %" PRIu64 " (incomplete %" PRIu64 ")  window partials %" PRIu64
         "  late events %" PRIu64 "\n",
         s.delivered[CXP_STREAM_INDICATORS], m->ind_incomplete, s.delivered[CXP_STREAM_PARTIALS],
         s.core->dead[CXP_BAD_LATE]);
  printf("  cases opened %" PRIu64 ", open %u (deadlines %u); breaches L1 %" PRIu64
         " L2 %" PRIu64 " L3 %" PRIu64 "; closed well %" PRIu64 ", poorly %" PRIu64
         "; systemic %" PRIu64 "\n",
         s.cases.opened, s.cases.open, s.cases.open_deadlines, s.cases.breaches[0],
         s.cases.breaches[1], s.cases.breaches[2], s.cases.well, s.cases.poorly,
         s.cases.systemic);
  printf("  durable state: %" PRIu64 " changelog records (%.3f bytes per input byte), "
         "%" PRIu64 " restored on %" PRIu64 " partition(s)\n",
         s.changelog_records,
         s.input_bytes ? (double)s.changelog_bytes / (double)s.input_bytes : 0.0,
         s.restore_records, s.restore_partitions);
  printf("  commits %" PRIu64 "  in flight %" PRIu64 "  producer queue %" PRIu64
         "  alert lines not shown %" PRIu64 "\n",
         s.commits, s.in_flight, s.outq, m->suppressed_lines);
  fflush(stdout);
}

static void on_daemon_stopped(cxp_daemon *d, void *arg) {
  (void)d;
  demo *m = arg;
  on_summary(&m->summary_timer);
  uv_close((uv_handle_t *)&m->summary_timer, NULL);
  uv_close((uv_handle_t *)&m->sigint, NULL);
  uv_close((uv_handle_t *)&m->sigterm, NULL);
}

static void on_end_timer(uv_timer_t *t) {
  demo *m = t->data;
  uv_close((uv_handle_t *)t, NULL);
  /* The generator has stopped; give the daemon this second to catch up, so
   * the final summary counts everything produced. */
  cxp_daemon_stop(m->d, on_daemon_stopped, m);
}

static void demo_stop(demo *m) {
  if (m->stopping) return;
  m->stopping = 1;
  printf("stopping: generator off, letting the daemon catch up\n");
  uv_close((uv_handle_t *)&m->gen_timer, NULL);
  rd_kafka_flush(m->gp, 2000); /* the generator's own producer; bounded */
  uv_timer_start(&m->end_timer, on_end_timer, 1000, 0);
}

static void on_signal(uv_signal_t *h, int signum) {
  (void)signum;
  demo_stop(h->data);
}

static void on_duration(uv_timer_t *t) { demo_stop(t->data); }

/* The admin endpoint's port when --port does not say: beside the daemon's
 * usual 9477 (deploy/cxpulse.json, `cxpulse top`'s default), so that a demo
 * runs next to a daemon on the same machine. */
#define DEMO_HTTP_PORT 9478

/* The command line, with the demo's own defaults for the generator. */
typedef struct demo_args {
  double duration; /* seconds; 0 runs until a signal */
  int partitions;
  int port; /* the admin endpoint's; 0: any free one */
  const char *pipeline_path;
  cxp_gen_opts go;
} demo_args;

/* The options into `a` (the rate and --verbose into `m`): -1 when they are
 * good, else the exit code (0 for --help, 2 for a usage error). */
static int parse_options(int argc, char **argv, demo *m, demo_args *a) {
  static const struct option opts[] = {{"duration", required_argument, NULL, 'd'},
                                       {"rate", required_argument, NULL, 'r'},
                                       {"seed", required_argument, NULL, 's'},
                                       {"customers", required_argument, NULL, 'c'},
                                       {"partitions", required_argument, NULL, 'p'},
                                       {"pipeline", required_argument, NULL, 'P'},
                                       {"verbose", no_argument, NULL, 'v'},
                                       {"world", required_argument, NULL, 'w'},
                                       {"port", required_argument, NULL, 'o'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  a->duration = 0;
  a->partitions = 4;
  a->pipeline_path = NULL;
  a->port = DEMO_HTTP_PORT;
  m->rate = 2000;
  cxp_gen_opts_default(&a->go);
  a->go.customers = 20000;
  a->go.events_per_sec = 5; /* event time runs ~400x faster than the wall clock */
  int ch;
  optind = 1;
  while ((ch = getopt_long(argc, argv, "d:r:s:c:p:P:vw:o:h", opts, NULL)) != -1) {
    switch (ch) {
    case 'd': a->duration = atof(optarg); break;
    case 'r': m->rate = atof(optarg); break;
    case 's': a->go.seed = strtoull(optarg, NULL, 10); break;
    case 'c': a->go.customers = (uint32_t)strtoul(optarg, NULL, 10); break;
    case 'p': a->partitions = atoi(optarg); break;
    case 'P': a->pipeline_path = optarg; break;
    case 'v': m->verbose = 1; break;
    case 'o': {
      char *end;
      long v = strtol(optarg, &end, 10);
      a->port = *optarg && *end == '\0' && v >= 0 && v <= 65535 ? (int)v : -1;
      break;
    }
    case 'w':
      if ((a->go.world = cxp_gen_world_by_name(optarg)) < 0) {
        fprintf(stderr, "cxpulse demo: --world: unknown world '%s'; the worlds: %s\n", optarg,
                cxp_gen_world_names());
        return 2;
      }
      break;
    case 'h':
      printf("usage: cxpulse demo [--duration S] [--rate EVENTS_PER_S] [--seed N]\n"
             "                    [--customers N] [--partitions N] [--pipeline FILE] [--verbose]\n"
             "                    [--world demo|recovery|competitor|renewal] [--port N]\n"
             "  Runs an embedded Kafka cluster, a traffic generator and the daemon;\n"
             "  prints alerts as they are delivered and a summary every 5 s.\n"
             "  Stops on Ctrl-C, or after --duration seconds. --world: the generator's\n"
             "  world (docs/scenario.md), demo by default. --port: the daemon's admin\n"
             "  endpoint on 127.0.0.1 (the console at /, /metrics, /v1/status,\n"
             "  `cxpulse top --port N`), %d by default (a free one when that is taken);\n"
             "  0: any free port.\n",
             DEMO_HTTP_PORT);
      return 0;
    default: return 2;
    }
  }
  if (m->rate <= 0 || m->rate > 1e6 || a->partitions < 1 || a->partitions > 256 ||
      a->go.customers < 1 || a->port < 0) {
    fprintf(stderr, "cxpulse demo: --rate 1..1000000, --partitions 1..256, --customers >= 1, "
                    "--port 0..65535\n");
    return 2;
  }
  return -1;
}

/* The embedded cluster with the pipeline's topics, said on stdout. 0, or -1
 * with a sentence in err. */
static int start_cluster(demo *m, const cxp_pipeline *pl, int partitions, char *err,
                         size_t errlen) {
  if (cxp_mock_start(&m->mock, 1, err, errlen)) return -1;
  cxp_mock_topic(&m->mock, pl->topic_input, partitions);
  cxp_mock_topic(&m->mock, pl->topic_alerts, partitions);
  cxp_mock_topic(&m->mock, pl->topic_indicators, partitions);
  cxp_mock_topic(&m->mock, pl->topic_dead_letters, partitions);
  cxp_mock_topic(&m->mock, pl->topic_repartition, partitions);
  cxp_mock_topic(&m->mock, pl->topic_changelog, partitions);
  printf("embedded Kafka (librdkafka mock cluster) at %s; topics %s (%d partitions), %s, "
         "%s, %s\n",
         m->mock.bootstraps, pl->topic_input, partitions, pl->topic_alerts,
         pl->topic_indicators, pl->topic_dead_letters);
  return 0;
}

/* Whether a listener can have 127.0.0.1:port now. A probe, closed at once:
 * the admin server binds the port a moment later (another process taking
 * it between the two makes the daemon's start fail, and say so). */
static int port_free(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 1; /* let the server find out */
  /* As libuv binds: a port whose last connections are in TIME_WAIT is free. */
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  int ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fd, 1) == 0;
  close(fd);
  return ok;
}

/* The daemon's admin endpoint: the console's page first (what a person
 * opens), its URLs and the `cxpulse top` to follow it, with this very
 * binary's path so that the line runs as it is. */
static void print_admin(const demo *m) {
  int port = cxp_daemon_http_port(m->d);
  if (port < 0) return;
  char exe[1024];
  size_t n = sizeof exe;
  if (uv_exepath(exe, &n) != 0) snprintf(exe, sizeof exe, "cxpulse");
  printf("console: open http://127.0.0.1:%d/ in a browser\n", port);
  printf("admin endpoint on 127.0.0.1:%d: http://127.0.0.1:%d/metrics  "
         "http://127.0.0.1:%d/v1/status  http://127.0.0.1:%d/v1/churn/model\n",
         port, port, port, port);
  printf("follow it in another terminal: %s top --port %d\n", exe, port);
}

/* The daemon on the demo's loop, against the embedded cluster, its outputs
 * tapped for printing, its admin endpoint on 127.0.0.1:port (0: a free
 * port). 0, or -1 with a sentence in err. */
static int create_daemon(demo *m, const cxp_pipeline *pl, int port, char *err, size_t errlen) {
  cxp_config c;
  cxp_config_defaults(&c);
  c.stats_interval_s = 0;
  snprintf(c.http_host, sizeof c.http_host, "127.0.0.1");
  c.http_port = port;
  cxp_config_kafka_default(&c, "bootstrap.servers", m->mock.bootstraps);
  cxp_config_kafka_default(&c, "consumer.group.id", "cxpulse-demo");
  cxp_config_kafka_default(&c, "consumer.session.timeout.ms", "6000");
  m->d = cxp_daemon_create(&m->loop, &c, pl, "(demo)", err, errlen);
  if (m->d == NULL) return -1;
  cxp_daemon_set_tap(m->d, on_output, m);
  return 0;
}

/* The generator and its own producer into the input topic. */
static void start_generator(demo *m, const cxp_pipeline *pl, const cxp_gen_opts *go) {
  rd_kafka_conf_t *gc = rd_kafka_conf_new();
  char e[256];
  rd_kafka_conf_set(gc, "bootstrap.servers", m->mock.bootstraps, e, sizeof e);
  rd_kafka_conf_set(gc, "linger.ms", "5", e, sizeof e);
  m->gp = rd_kafka_new(RD_KAFKA_PRODUCER, gc, e, sizeof e);
  m->gt = rd_kafka_topic_new(m->gp, pl->topic_input, NULL);
  cxp_gen_opts o = *go;
  o.pipeline = pl->name; /* the CX team's call backs name its detractor cases */
  m->gen = cxp_gen_create(&o);
}

/* The generator's tick, the summary, and the signals that stop the demo. */
static void start_handles(demo *m) {
  uv_timer_init(&m->loop, &m->gen_timer);
  uv_timer_init(&m->loop, &m->summary_timer);
  uv_timer_init(&m->loop, &m->end_timer);
  uv_signal_init(&m->loop, &m->sigint);
  uv_signal_init(&m->loop, &m->sigterm);
  m->gen_timer.data = m->summary_timer.data = m->end_timer.data = m;
  m->sigint.data = m->sigterm.data = m;
  uv_signal_start(&m->sigint, on_signal, SIGINT);
  uv_signal_start(&m->sigterm, on_signal, SIGTERM);
  uv_timer_start(&m->gen_timer, on_gen_timer, 10, 10);
  uv_timer_start(&m->summary_timer, on_summary, 5000, 5000);
}

/* After the loop has run out: the daemon, the loop (every handle must be
 * closed), the generator and the cluster, in that order. The exit code. */
static int demo_close(demo *m, int rc) {
  if (rc == 0) rc = cxp_daemon_exit_code(m->d);
  cxp_daemon_destroy(m->d);
  if (uv_loop_close(&m->loop) != 0) {
    fprintf(stderr, "cxpulse demo: a handle was left open\n");
    rc = 1;
  }
  rd_kafka_topic_destroy(m->gt);
  rd_kafka_destroy(m->gp);
  cxp_gen_destroy(m->gen);
  cxp_mock_stop(&m->mock);
  return rc;
}

int cxp_demo_main(int argc, char **argv) {
  demo m;
  memset(&m, 0, sizeof m);
  demo_args a;
  int rc = parse_options(argc, argv, &m, &a);
  if (rc >= 0) return rc;
  char err[512];
  cxp_pipeline pl;
  if (a.pipeline_path) {
    if (cxp_pipeline_load(&pl, a.pipeline_path, err, sizeof err)) {
      fprintf(stderr, "cxpulse demo: %s\n", err);
      return 1;
    }
  } else {
    cxp_pipeline_defaults(&pl);
  }
  cxp_log_level = CXP_LOG_WARN;
  if (start_cluster(&m, &pl, a.partitions, err, sizeof err)) {
    fprintf(stderr, "cxpulse demo: %s\n", err);
    return 1;
  }
  printf("generator: seed %" PRIu64 ", %u customers, %.0f events/s (scenario: "
         "docs/scenario.md)\n",
         a.go.seed, a.go.customers, m.rate);

  uv_loop_init(&m.loop);
  if (a.port > 0 && !port_free(a.port)) {
    printf("port %d is taken (another daemon or demo?): the admin endpoint takes a free one\n",
           a.port);
    a.port = 0;
  }
  if (create_daemon(&m, &pl, a.port, err, sizeof err)) {
    fprintf(stderr, "cxpulse demo: %s\n", err);
    cxp_mock_stop(&m.mock);
    return 1;
  }
  start_generator(&m, &pl, &a.go);
  start_handles(&m);
  /* Unreferenced: a duration still to run does not keep the loop alive. */
  uv_timer_t dur;
  uv_timer_init(&m.loop, &dur);
  dur.data = &m;
  if (a.duration > 0) uv_timer_start(&dur, on_duration, (uint64_t)(a.duration * 1000), 0);
  uv_unref((uv_handle_t *)&dur);
  m.t0 = uv_now(&m.loop);
  rc = cxp_daemon_start(m.d) ? 1 : 0;
  if (rc) {
    fprintf(stderr, "cxpulse demo: the daemon did not start (see above)\n");
    cxp_daemon_stop(m.d, on_daemon_stopped, &m);
  } else {
    print_admin(&m);
    printf("waiting for the consumer group to form (about 3 s), then alerts follow...\n");
  }
  fflush(stdout);
  uv_run(&m.loop, UV_RUN_DEFAULT);
  uv_close((uv_handle_t *)&dur, NULL);
  uv_run(&m.loop, UV_RUN_DEFAULT);
  return demo_close(&m, rc);
}
