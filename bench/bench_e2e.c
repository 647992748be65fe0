/* End-to-end benchmark: events/s through the real daemon and librdkafka's
 * mock cluster, from a pre-produced input topic to acknowledged outputs, for
 * several pipeline variants side by side in one run.
 *
 *   ./build/bench_e2e --event-rate 100 --customers 200000
 *
 * is the performance issue's condition: 1M events of 200,000 customers, 100
 * events per second of event time, pre-produced on 64 partitions, the mock
 * broker in this process. Its targets are printed next to the figures: the
 * default pipeline at least 600,000 events/s, and at least 0.8x "bare"
 * (segment windows off, durable state off) in the same run; at most 0.02
 * repartition messages per input event; changelog bytes at most 0.3 per
 * input byte.
 *
 *   ./build/bench_e2e [--events N] [--partitions P] [--event-rate R]
 *                     [--customers C] [--variants LIST] [--repeat K]
 *                     [--baseline] [--no-durable] [--set KEY=VALUE]...
 *
 * The generator's events are produced once; every variant then reads the
 * whole topic from the beginning in a consumer group of its own. The
 * variants: default (the shipped pipeline), bare (windows.enabled false,
 * state.durable false), nodurable (state.durable false), nowindows
 * (windows.enabled false), and baseline (a bare librdkafka consumer that
 * only counts messages, same client settings). LIST defaults to
 * default,bare; --baseline adds baseline, --no-durable runs nodurable
 * alone. With --repeat K the list runs K times in turn (default, bare,
 * default, bare, ...), so the machine's noise falls on every variant alike;
 * each run is printed, then each variant's median. --set passes a
 * librdkafka property (consumer. or producer. before it for one client
 * alone, as in the daemon's config) to every daemon run, to try a setting.
 *
 * A run's clock starts at its first consumed event (after the group join
 * and the restore of its empty changelog) and stops when every input event
 * is consumed and every output is acknowledged, the repartition messages
 * (partials and markers) included. CPU seconds are the whole process's
 * over that span: the daemon's loop, librdkafka's threads and the mock
 * broker's. The clock does not wait for the mergers to read the
 * repartition topic back: the mock broker answers a fetch with at most one
 * produced batch per partition, and the daemon's repartition batches are
 * small (a few messages each, linger.ms 5), so the read-back goes at the
 * mock's pace, not the daemon's. The "read" column is the share read back
 * when the clock stopped; the rest of the merging, and the indicator
 * records it would emit, fall outside the figures.
 *
 * The output counts (repartition messages, changelog records and bytes,
 * alerts, dead letters, indicator records) are those acknowledged once the
 * daemon has stopped. They include what the stop writes: the open
 * windows' early partials (about 1% of the repartition messages) and the
 * last changelog flush, which writes the customers changed since the last
 * state.flush_interval_ms tick, as the next tick of a stream would (a run
 * shorter than the interval writes its whole changelog then). A marker
 * goes to every repartition partition, and each copy is a message.
 *
 * Each daemon run gets repartition and changelog topics of its own, with as
 * many partitions as the input, so that a later run neither restores an
 * earlier run's changelog nor merges its partials. The mock cluster keeps
 * about 5 MiB per partition and deletes the oldest batches past that. The
 * input must lose nothing: its low watermarks are checked after producing,
 * and every variant must consume exactly N events, or the benchmark fails.
 * Outputs are counted as the producer's acknowledgements, so retention
 * changes none of their counts. It can delete repartition messages before
 * the mergers read them: partials are keyed by window length and group,
 * so a few groups' partials share a partition, which passes 5 MiB in a
 * run of 1M events at --event-rate 100 while the mergers are behind (see
 * above). "deleted" counts what retention removed from the run's
 * repartition topic, read or not; librdkafka's offset resets on stderr
 * say when some was unread. That changes only the merging, which the
 * figures leave out, and the indicator records.
 *
 * --event-rate defaults to 200,000 events per second of event time, about
 * the rate the daemon reaches, as a stream of this volume would have. At
 * lower rates the same events span more event time, so every input
 * partition closes more windows, and each closing sends its partials and a
 * marker to every repartition partition. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <uv.h>

#include "daemon.h"
#include "gen.h"
#include "log.h"
#include "mock.h"

/* The issue's targets. */
#define TARGET_EVENTS_PER_SEC 600000.0
#define TARGET_RATIO 0.8
#define TARGET_REPART_PER_EVENT 0.02
#define TARGET_CL_PER_BYTE 0.3
/* A run not done this long after the last input event it consumed has
 * lost something: it fails. */
#define STALL_S 60.0

typedef struct variant {
  const char *name;
  int windows, durable, baseline;
} variant;

static const variant variants[] = {{"default", 1, 1, 0},  {"bare", 0, 0, 0},
                                   {"nodurable", 1, 0, 0}, {"nowindows", 0, 1, 0},
                                   {"baseline", 0, 0, 1}};
#define N_VARIANTS (int)(sizeof variants / sizeof variants[0])
#define MAX_RUNS 256

typedef struct result {
  const variant *v;
  double events_per_sec, cpu_per_million;
  /* Acknowledged outputs once the daemon has stopped. */
  uint64_t repart, markers, cl_records, cl_bytes, input_bytes;
  uint64_t alerts, dead, indicators;
  double read_back; /* share of the repartition messages read back when the clock stopped */
  uint64_t deleted; /* repartition messages retention deleted, read or not */
} result;

#define MAX_SETS 16
typedef struct opts {
  uint64_t n;
  int parts;
  uint32_t customers;
  double event_rate;
  int n_sets; /* --set: librdkafka properties for every daemon run */
  const char *set_key[MAX_SETS], *set_val[MAX_SETS];
} opts;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static double per(uint64_t a, uint64_t b) { return b ? (double)a / (double)b : 0.0; }

/* Messages retention has deleted from a topic: the sum of its partitions'
 * low watermarks (nothing else deletes). -1 when unknown. */
static int64_t deleted(rd_kafka_t *rk, const char *topic, int parts) {
  int64_t sum = 0, lo, hi;
  for (int p = 0; p < parts; p++) {
    if (rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 10000)) return -1;
    sum += lo;
  }
  return sum;
}

static int preproduce(rd_kafka_t *p, const char *topic, const opts *o) {
  char buf[2048], key[64];
  size_t klen;
  rd_kafka_topic_t *t = rd_kafka_topic_new(p, topic, NULL);
  cxp_gen_opts go;
  cxp_gen_opts_default(&go);
  go.customers = o->customers;
  go.events_per_sec = o->event_rate;
  cxp_gen *g = cxp_gen_create(&go);
  uint64_t bytes = 0;
  for (uint64_t i = 0; i < o->n; i++) {
    size_t len = cxp_gen_next(g, buf, sizeof buf, key, sizeof key, &klen);
    while (rd_kafka_produce(t, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, buf, len,
                            klen ? key : NULL, klen, NULL) == -1)
      rd_kafka_poll(p, 10);
    bytes += len;
    rd_kafka_poll(p, 0);
  }
  rd_kafka_flush(p, 60000);
  cxp_gen_destroy(g);
  rd_kafka_topic_destroy(t);
  int64_t lost = deleted(p, topic, o->parts);
  int unsent = rd_kafka_outq_len(p);
  printf("input: %" PRIu64 " events, %.1f MB (%.0f bytes an event, %.2f MB a partition)\n", o->n,
         (double)bytes / 1e6, (double)bytes / (double)o->n,
         (double)bytes / 1e6 / o->parts);
  if (unsent > 0 || lost != 0) {
    fprintf(stderr, "bench_e2e: the input lost events (%" PRId64 " deleted by the mock broker's "
                    "retention of about 5 MiB a partition, %d not produced): use more "
                    "--partitions or fewer --events\n",
            lost, unsent);
    return -1;
  }
  return 0;
}

/* ---- One run of the daemon ---------------------------------------------- */

typedef struct run {
  uv_loop_t loop;
  uv_timer_t check;
  cxp_daemon *d;
  uint64_t n;
  double t_first, t_end, cpu_first, cpu_end;
  uint64_t consumed_first, consumed_end;
  uint64_t repart_end, read_back_end; /* when the clock stopped */
  uint64_t progress;
  double t_progress;
  int stalled;
} run;

static void on_stopped(cxp_daemon *d, void *arg) {
  (void)d;
  run *r = arg;
  uv_close((uv_handle_t *)&r->check, NULL);
}

static uint64_t repart_produced(const uint64_t *delivered) {
  return delivered[CXP_STREAM_PARTIALS] + delivered[CXP_STREAM_MARKERS];
}

static void on_check(uv_timer_t *t) {
  run *r = t->data;
  cxp_daemon_stats s;
  cxp_daemon_stats_get(r->d, &s);
  double now = now_s();
  if (r->t_first == 0 && s.core->consumed > 0) {
    r->t_first = now;
    r->cpu_first = cpu_s();
    r->consumed_first = s.core->consumed;
  }
  /* Done when the input is consumed and every output of it is
   * acknowledged; the mergers' reading back of the repartition topic is
   * not waited for (see the top of the file). */
  int done = s.core->consumed >= r->n && s.in_flight == 0 && s.outq == 0;
  if (s.core->consumed != r->progress || r->t_progress == 0) {
    r->progress = s.core->consumed;
    r->t_progress = now;
  }
  if (!done && now - r->t_progress > STALL_S) {
    fprintf(stderr, "bench_e2e: not done %.0f s after the last event consumed: %" PRIu64
                    " of %" PRIu64 " events, %" PRIu64 " outputs in flight, %" PRIu64
                    " queued\n",
            STALL_S, s.core->consumed, r->n, s.in_flight, s.outq);
    r->stalled = 1;
  }
  if (done || r->stalled) {
    r->t_end = now;
    r->cpu_end = cpu_s();
    r->consumed_end = s.core->consumed;
    r->repart_end = repart_produced(s.delivered);
    r->read_back_end = s.core->repartition_in;
    uv_timer_stop(t);
    cxp_daemon_stop(r->d, on_stopped, r);
  }
}

static int run_daemon(rd_kafka_t *probe, cxp_mock *m, const opts *o, const variant *v, int no,
                      result *res) {
  char err[256], group[64];
  cxp_pipeline pl;
  cxp_pipeline_defaults(&pl);
  pl.win_enabled = v->windows;
  pl.state_durable = v->durable;
  /* Topics of this run's own, so that nothing an earlier run wrote is
   * restored or merged. */
  size_t tl = strlen(pl.topic_repartition);
  snprintf(pl.topic_repartition + tl, sizeof pl.topic_repartition - tl, ".run%d", no);
  tl = strlen(pl.topic_changelog);
  snprintf(pl.topic_changelog + tl, sizeof pl.topic_changelog - tl, ".run%d", no);
  if (cxp_mock_topic(m, pl.topic_repartition, o->parts) ||
      cxp_mock_topic(m, pl.topic_changelog, o->parts))
    return -1;

  cxp_config c;
  cxp_config_defaults(&c);
  c.stats_interval_s = 0;
  cxp_config_kafka_default(&c, "bootstrap.servers", m->bootstraps);
  snprintf(group, sizeof group, "bench-e2e-%s-%d", v->name, no);
  cxp_config_kafka_default(&c, "consumer.group.id", group);
  for (int i = 0; i < o->n_sets; i++)
    cxp_config_kafka_default(&c, o->set_key[i], o->set_val[i]);
  run *r = calloc(1, sizeof *r);
  r->n = o->n;
  uv_loop_init(&r->loop);
  r->d = cxp_daemon_create(&r->loop, &c, &pl, "(bench)", err, sizeof err);
  if (r->d == NULL) {
    fprintf(stderr, "bench_e2e: %s\n", err);
    free(r);
    return -1;
  }
  uv_timer_init(&r->loop, &r->check);
  r->check.data = r;
  uv_timer_start(&r->check, on_check, 1, 5);
  if (cxp_daemon_start(r->d)) {
    fprintf(stderr, "bench_e2e: the daemon did not start\n");
    return -1;
  }
  uv_run(&r->loop, UV_RUN_DEFAULT);

  cxp_daemon_stats s;
  cxp_daemon_stats_get(r->d, &s);
  int rc = 0;
  if (r->stalled || s.core->consumed != o->n) {
    fprintf(stderr, "bench_e2e: run %d (%s) consumed %" PRIu64 " events, not %" PRIu64 "\n",
            no, v->name, s.core->consumed, o->n);
    rc = -1;
  }
  double secs = r->t_end - r->t_first;
  uint64_t measured = r->consumed_end - r->consumed_first;
  res->v = v;
  res->events_per_sec = (double)measured / secs;
  res->cpu_per_million = (r->cpu_end - r->cpu_first) / ((double)measured / 1e6);
  res->repart = repart_produced(s.delivered);
  /* The producer's reports name the topic, not the stream: partials and
   * markers share it, so the markers come from the core's count, times the
   * partitions each goes to. */
  res->markers = s.core->outputs[CXP_STREAM_MARKERS] * (uint64_t)o->parts;
  res->cl_records = s.changelog_records;
  res->cl_bytes = s.changelog_bytes;
  res->input_bytes = s.input_bytes;
  res->alerts = s.delivered[CXP_STREAM_ALERTS];
  res->dead = s.delivered[CXP_STREAM_DEAD_LETTERS];
  res->indicators = s.delivered[CXP_STREAM_INDICATORS];
  res->read_back = per(r->read_back_end, r->repart_end);
  int64_t gone = deleted(probe, pl.topic_repartition, o->parts);
  res->deleted = gone < 0 ? UINT64_MAX : (uint64_t)gone;
  cxp_daemon_destroy(r->d);
  uv_loop_close(&r->loop);
  free(r);
  return rc;
}

/* ---- One run of the bare consumer --------------------------------------- */

static int run_baseline(const char *bs, const char *topic, const opts *o, int no, result *res) {
  char e[256], group[64];
  cxp_config c;
  cxp_pipeline pl;
  cxp_config_defaults(&c);
  cxp_pipeline_defaults(&pl);
  cxp_daemon_kafka_defaults(&c, &pl);
  cxp_config_kafka_default(&c, "bootstrap.servers", bs);
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  for (int i = 0; i < c.n_kafka; i++) {
    const char *k = c.kafka[i].key;
    if (strncmp(k, "producer.", 9) == 0) continue;
    if (strncmp(k, "consumer.", 9) == 0) k += 9;
    rd_kafka_conf_set(conf, k, c.kafka[i].value, e, sizeof e);
  }
  snprintf(group, sizeof group, "bench-e2e-baseline-%d", no);
  rd_kafka_conf_set(conf, "group.id", group, e, sizeof e);
  rd_kafka_conf_set(conf, "enable.auto.commit", "true", e, sizeof e);
  rd_kafka_t *k = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof e);
  rd_kafka_poll_set_consumer(k);
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, topic, RD_KAFKA_PARTITION_UA);
  rd_kafka_subscribe(k, l);
  rd_kafka_topic_partition_list_destroy(l);
  uint64_t got = 0;
  double t0 = 0, c0 = 0, t_last = now_s();
  while (got < o->n && now_s() - t_last < STALL_S) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(k, 100);
    if (m == NULL) continue;
    if (!m->err) {
      if (got == 0) {
        t0 = now_s();
        c0 = cpu_s();
      }
      got++;
      t_last = now_s();
    }
    rd_kafka_message_destroy(m);
  }
  double secs = now_s() - t0, cpu = cpu_s() - c0;
  rd_kafka_consumer_close(k);
  rd_kafka_destroy(k);
  memset(res, 0, sizeof *res);
  res->v = &variants[N_VARIANTS - 1];
  res->events_per_sec = (double)got / secs;
  res->cpu_per_million = cpu / ((double)got / 1e6);
  if (got != o->n) {
    fprintf(stderr, "bench_e2e: run %d (baseline) consumed %" PRIu64 " events, not %" PRIu64 "\n",
            no, got, o->n);
    return -1;
  }
  return 0;
}

/* ---- Printing ----------------------------------------------------------- */

static void print_header(void) {
  printf("%-9s %-6s %9s %7s %9s %8s %7s %5s %7s %8s %6s %6s %6s %5s %5s\n", "variant", "run",
         "events/s", "CPU s/M", "repart", "markers", "/event", "read", "deleted", "cl recs",
         "cl MB", "/in B", "alerts", "dead", "ind");
}

/* One run: events/s, CPU seconds per million events, repartition messages
 * (of which marker copies) and per input event, the share of them the
 * mergers had read back when the clock stopped, how many the mock's
 * retention deleted by the end, changelog records, MB and bytes per input
 * byte, alerts, dead letters and indicator records acknowledged. */
static void print_row(const result *r, const char *label, uint64_t n) {
  printf("%-9s %-6s %9.0f %7.2f", r->v->name, label, r->events_per_sec, r->cpu_per_million);
  if (r->v->baseline) {
    printf("   (a bare consumer: no outputs)\n");
    return;
  }
  printf(" %9" PRIu64 " %8" PRIu64 " %7.4f %4.0f%% %7" PRIu64 " %8" PRIu64 " %6.1f %6.3f %6"
         PRIu64 " %5" PRIu64 " %5" PRIu64 "\n",
         r->repart, r->markers, per(r->repart, n), 100 * r->read_back, r->deleted, r->cl_records,
         (double)r->cl_bytes / 1e6, per(r->cl_bytes, r->input_bytes), r->alerts, r->dead,
         r->indicators);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *x, int n) {
  qsort(x, (size_t)n, sizeof *x, cmp_double);
  return n % 2 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
}

int main(int argc, char **argv) {
  static const struct option lopts[] = {{"events", required_argument, NULL, 'n'},
                                        {"partitions", required_argument, NULL, 'p'},
                                        {"event-rate", required_argument, NULL, 'r'},
                                        {"customers", required_argument, NULL, 'c'},
                                        {"variants", required_argument, NULL, 'v'},
                                        {"repeat", required_argument, NULL, 'k'},
                                        {"baseline", no_argument, NULL, 'b'},
                                        {"no-durable", no_argument, NULL, 'D'},
                                        {"set", required_argument, NULL, 's'},
                                        {NULL, 0, NULL, 0}};
  opts o = {.n = 1000000, .parts = 64, .customers = 200000, .event_rate = 200000};
  char list[256] = "default,bare";
  int repeat = 1, base = 0, ch;
  while ((ch = getopt_long(argc, argv, "n:p:r:c:v:k:bDs:", lopts, NULL)) != -1) {
    switch (ch) {
    case 'n': o.n = strtoull(optarg, NULL, 10); break;
    case 'p': o.parts = atoi(optarg); break;
    case 'c': o.customers = (uint32_t)strtoul(optarg, NULL, 10); break;
    case 'v': snprintf(list, sizeof list, "%s", optarg); break;
    case 'k': repeat = atoi(optarg); break;
    case 'b': base = 1; break;
    case 'D': snprintf(list, sizeof list, "nodurable"); break;
    case 's': {
      char *eq = strchr(optarg, '=');
      if (eq == NULL || eq == optarg || o.n_sets == MAX_SETS) {
        fprintf(stderr, "bench_e2e: --set: KEY=VALUE (at most %d), not '%s'\n", MAX_SETS,
                optarg);
        return 2;
      }
      *eq = '\0';
      o.set_key[o.n_sets] = optarg;
      o.set_val[o.n_sets++] = eq + 1;
      break;
    }
    case 'r':
      o.event_rate = atof(optarg);
      if (!(o.event_rate > 0 && o.event_rate <= 1e7)) {
        fprintf(stderr, "bench_e2e: --event-rate: events per second, 0 < R <= 1e7\n");
        return 2;
      }
      break;
    default:
      fprintf(
          stderr,
          "usage: bench_e2e [--events N] [--partitions P] [--event-rate R] [--customers C]\n"
          "                 [--variants default,bare,nodurable,nowindows,baseline]\n"
          "                 [--repeat K] [--baseline] [--no-durable] [--set KEY=VALUE]...\n"
          "the performance issue's conditions: "
          "./build/bench_e2e --event-rate 100 --customers 200000\n");
      return 2;
    }
  }
  if (base) strncat(list, ",baseline", sizeof list - strlen(list) - 1);
  const variant *chosen[N_VARIANTS];
  int nv = 0;
  char names[256];
  snprintf(names, sizeof names, "%s", list);
  for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    int i = 0, twice = 0;
    while (i < N_VARIANTS && strcmp(variants[i].name, t) != 0) i++;
    for (int j = 0; j < nv; j++) twice |= chosen[j] == &variants[i];
    if (i == N_VARIANTS || twice) {
      fprintf(stderr, "bench_e2e: --variants: unknown or repeated '%s'\n", t);
      return 2;
    }
    chosen[nv++] = &variants[i];
  }
  if (o.n == 0 || o.parts < 1 || o.customers == 0 || repeat < 1 || nv * repeat > MAX_RUNS) {
    fprintf(stderr, "bench_e2e: --events, --partitions, --customers and --repeat must be "
                    "positive (at most %d runs)\n", MAX_RUNS);
    return 2;
  }

  cxp_log_level = CXP_LOG_WARN;
  char err[256];
  cxp_mock m;
  if (cxp_mock_start(&m, 1, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  cxp_pipeline pl;
  cxp_pipeline_defaults(&pl);
  cxp_mock_topic(&m, pl.topic_input, o.parts);
  cxp_mock_topic(&m, pl.topic_alerts, 8);
  cxp_mock_topic(&m, pl.topic_indicators, 8);
  cxp_mock_topic(&m, pl.topic_dead_letters, 8);

  cxp_gen_opts gdef;
  cxp_gen_opts_default(&gdef);
  printf("conditions: %" PRIu64 " events on %d partitions, %" PRIu32
         " customers (the generator's default: %" PRIu32 "), %g events per second of event "
         "time, the mock broker in this process; variants %s, %d time(s) in turn\n",
         o.n, o.parts, o.customers, gdef.customers, o.event_rate, names, repeat);
  for (int i = 0; i < o.n_sets; i++) printf("  --set %s=%s\n", o.set_key[i], o.set_val[i]);
  /* The systemd units run the daemon with malloc's heap on huge pages: a
   * figure is comparable with another only under the same setting. */
  const char *tun = getenv("GLIBC_TUNABLES");
  printf("  GLIBC_TUNABLES=%s\n", tun && *tun ? tun
                                              : "(unset: not the systemd units' "
                                                "glibc.malloc.hugetlb=1)");
  fflush(stdout);
  /* One producer writes the input, then asks the topics' watermarks. */
  char e[256];
  rd_kafka_conf_t *pc = rd_kafka_conf_new();
  rd_kafka_conf_set(pc, "bootstrap.servers", m.bootstraps, e, sizeof e);
  rd_kafka_conf_set(pc, "linger.ms", "50", e, sizeof e);
  rd_kafka_conf_set(pc, "batch.num.messages", "10000", e, sizeof e);
  rd_kafka_conf_set(pc, "queue.buffering.max.messages", "2000000", e, sizeof e);
  rd_kafka_t *probe = rd_kafka_new(RD_KAFKA_PRODUCER, pc, e, sizeof e);
  if (preproduce(probe, pl.topic_input, &o)) return 1;

  result res[MAX_RUNS];
  int nr = 0, failed = 0;
  print_header();
  for (int k = 0; k < repeat && !failed; k++)
    for (int i = 0; i < nv && !failed; i++) {
      result *r = &res[nr++];
      char no[16];
      snprintf(no, sizeof no, "%d", nr);
      failed = chosen[i]->baseline ? run_baseline(m.bootstraps, pl.topic_input, &o, nr, r)
                                   : run_daemon(probe, &m, &o, chosen[i], nr, r);
      if (!failed) print_row(r, no, o.n);
      fflush(stdout);
    }
  rd_kafka_destroy(probe);
  cxp_mock_stop(&m);
  if (failed) return 1;

  /* Each variant's median over its runs, figure by figure. */
  double med[N_VARIANTS][4], x[4][MAX_RUNS];
  for (int i = 0; i < nv; i++) {
    int c = 0;
    for (int j = 0; j < nr; j++) {
      if (res[j].v != chosen[i]) continue;
      x[0][c] = res[j].events_per_sec;
      x[1][c] = res[j].cpu_per_million;
      x[2][c] = per(res[j].repart, o.n);
      x[3][c] = per(res[j].cl_bytes, res[j].input_bytes);
      c++;
    }
    for (int f = 0; f < 4; f++) med[i][f] = median(x[f], c);
    printf("%-9s %-6s %9.0f %7.2f", chosen[i]->name, "median", med[i][0], med[i][1]);
    if (chosen[i]->baseline) printf("\n");
    else printf("   repartition %.4f per event, changelog %.3f per input byte\n", med[i][2],
                med[i][3]);
  }

  int idef = -1, ibare = -1;
  for (int i = 0; i < nv; i++) {
    if (chosen[i] == &variants[0]) idef = i;
    if (chosen[i] == &variants[1]) ibare = i;
  }
  int issue = o.n == 1000000 && o.parts == 64 && o.customers == 200000 && o.event_rate == 100;
  printf("\ntargets (%s):\n", issue ? "the issue's conditions"
                                    : "NOT the issue's conditions: 1000000 events, 64 "
                                      "partitions, 200000 customers, --event-rate 100");
  if (idef < 0) {
    printf("  none measured: the default variant did not run\n");
    return 0;
  }
#define MET(ok) ((ok) ? "met" : "NOT MET")
  printf("  (1) default events/s (median)       %9.0f  target >= %.0f  %s\n", med[idef][0],
         TARGET_EVENTS_PER_SEC, MET(med[idef][0] >= TARGET_EVENTS_PER_SEC));
  if (ibare >= 0) {
    double ratio = med[idef][0] / med[ibare][0];
    printf("  (2) default / bare (medians)        %9.3f  target >= %.2f     %s  (bare %.0f "
           "events/s)\n",
           ratio, TARGET_RATIO, MET(ratio >= TARGET_RATIO), med[ibare][0]);
  } else {
    printf("  (2) default / bare: not measured (add bare to --variants)\n");
  }
  printf("  (3) repartition messages per event  %9.4f  target <= %.2f     %s\n", med[idef][2],
         TARGET_REPART_PER_EVENT, MET(med[idef][2] <= TARGET_REPART_PER_EVENT));
  printf("  (4) changelog bytes per input byte  %9.3f  target <= %.2f     %s\n", med[idef][3],
         TARGET_CL_PER_BYTE, MET(med[idef][3] <= TARGET_CL_PER_BYTE));
  return 0;
}
