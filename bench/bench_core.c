/* bench_core: throughput of the functional core on one thread.
 *
 * Generates the synthetic traffic first, into one contiguous block, so that
 * neither the generator nor page faults on fresh memory are measured; then
 * times cxp_core_process over every event the way the daemon drives it:
 * batches of 1000 between cxp_core_batch_begin and cxp_core_batch_end, the
 * events spread over 16 partitions by a hash of their key, with per-partition
 * offsets. The emit callback only counts, so the figure is decode, state
 * update and decisions, with output rendering but no I/O.
 *
 * Run it pinned, so that the scheduler moving it between cores does not add
 * noise:
 *
 *   taskset -c 0 ./build/bench_core                 # full core
 *   taskset -c 0 ./build/bench_core --decode-only   # cxp_event_decode alone
 *   ./build/bench_core --events 100000 --dump ev.jsonl   # for replay checks
 *
 * --batch N changes the batch size, to see what the per-batch arena costs:
 * a batch's cJSON trees (about 1 KB an event) stay until the batch ends.
 *
 * stdout gets one JSON line (for scripts); stderr gets a line for people. */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "config.h"
#include "core.h"
#include "gen.h"
#include "hash.h"
#include "pipeline.h"

#define PARTITIONS 16

/* One generated event. The bytes live in the shared block at `off`: offsets,
 * not pointers, because the block moves while it grows. */
typedef struct bev {
  uint64_t off; /* payload, then the key right after it */
  uint32_t len;
  uint16_t key_len;
  uint16_t partition;
  int64_t offset; /* Kafka offset within its partition */
  int64_t received_ms;
} bev;

typedef struct traffic {
  char *block;
  size_t used, cap;
  bev *ev;
  size_t n;
} traffic;

typedef struct counts {
  uint64_t bytes;
  uint64_t records[CXP_STREAM__COUNT];
} counts;

static void die(const char *what) {
  fprintf(stderr, "bench_core: %s\n", what);
  exit(1);
}

static void block_reserve(traffic *t, size_t extra) {
  if (t->cap - t->used >= extra) return;
  size_t cap = t->cap ? t->cap : (size_t)1 << 20;
  while (cap - t->used < extra) cap *= 2;
  char *p = realloc(t->block, cap);
  if (p == NULL) die("out of memory for the event block");
  t->block = p;
  t->cap = cap;
}

static void generate(traffic *t, size_t n, uint32_t customers, uint64_t seed, double rate,
                     int world) {
  cxp_gen_opts o;
  cxp_gen_opts_default(&o);
  o.seed = seed;
  if (rate > 0) o.events_per_sec = rate;
  o.customers = customers;
  o.bad_ratio = 0.01;
  o.world = world;
  cxp_gen *g = cxp_gen_create(&o);
  if (g == NULL) die("cannot create the generator");
  t->ev = malloc(n * sizeof *t->ev);
  if (t->ev == NULL) die("out of memory for the event index");
  int64_t next_offset[PARTITIONS] = {0};
  char key[64];
  for (size_t i = 0; i < n; i++) {
    size_t klen, len;
    block_reserve(t, 512);
    /* The generator says how much room it needs when 512 is not enough,
     * without advancing, so a retry gives the same event. */
    while ((len = cxp_gen_next(g, t->block + t->used, t->cap - t->used, key, sizeof key,
                               &klen)) > t->cap - t->used)
      block_reserve(t, len + 1);
    bev *e = &t->ev[i];
    e->off = t->used;
    e->len = (uint32_t)len;
    t->used += len;
    block_reserve(t, klen + 1);
    memcpy(t->block + t->used, key, klen);
    t->used += klen;
    e->key_len = (uint16_t)klen;
    /* Like Kafka's partitioner: one key, one partition, so one customer's
     * events stay in order within a shard. */
    e->partition = (uint16_t)(cxp_hash64(key, klen, 0x6b61666b61ULL) % PARTITIONS);
    e->offset = next_offset[e->partition]++;
    /* Arrival is the event's own time: a consumer keeping up. */
    e->received_ms = cxp_gen_time(g);
  }
  t->n = n;
  cxp_gen_destroy(g);
}

static double now_s(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void count_emit(void *opaque, const cxp_msg *from, cxp_stream s, const char *key,
                       size_t key_len, const char *value, size_t value_len) {
  (void)from;
  counts *c = opaque;
  c->bytes += value_len;
  c->records[s]++;
}

static int dump(const traffic *t, const char *path) {
  FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "wb");
  if (f == NULL) {
    fprintf(stderr, "bench_core: %s: %s\n", path, strerror(errno));
    return 1;
  }
  /* Generated events are single-line JSON (or truncated JSON for the bad
   * ones), so one per line is a faithful JSONL file for `cxpulse replay`. */
  for (size_t i = 0; i < t->n; i++) {
    fwrite(t->block + t->ev[i].off, 1, t->ev[i].len, f);
    fputc('\n', f);
  }
  int rc = ferror(f) != 0;
  if (f != stdout) rc |= fclose(f) != 0;
  if (rc) fprintf(stderr, "bench_core: %s: write failed\n", path);
  return rc;
}

static void usage(FILE *f) {
  fputs(
      "usage: bench_core [--events N] [--customers N] [--seed S] [--pipeline FILE]\n"
      "                  [--batch N] [--decode-only [--full-parser]] [--dump FILE]\n"
      "  --events N      events to generate and process (default 2000000)\n"
      "  --customers N   customer population (default 100000)\n"
      "  --seed S        generator seed (default 42)\n"
      "  --pipeline FILE pipeline settings (default: the built-in defaults)\n"
      "  --batch N       events per cxp_core_batch_begin/end (default 1000, as the "
      "daemon)\n"
      "  --decode-only   time cxp_event_decode alone\n"
      "  --full-parser   with --decode-only: cJSON for every event, no fast path\n"
      "  --event-rate R  events per second of event time (default: the generator's 50);\n"
      "                  sets how many events a window holds, hence partials per event\n"
      "  --no-windows    segment windows off (windows.enabled false), to see their cost\n"
      "  --no-churn      churn scoring off (churn.enabled false); with it on, the full\n"
      "                  run is repeated (warm_cpu_s_per_million), then without scoring\n"
      "                  (the difference: churn_cpu_us_per_event) and, churn.learn on,\n"
      "                  with the configured coefficients alone (learn_cpu_us_per_event)\n"
      "  --dump FILE     write the events as JSON lines to FILE (- for stdout), no timing\n"
      "  --world NAME    the generator's world (docs/scenario.md; default demo)\n"
      "Pin it: taskset -c 0 bench_core\n",
      f);
}

static int parse_u64(const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s || *end || s[0] == '-') return -1;
  *out = v;
  return 0;
}

static void report_memory(cxp_core *c);

/* The hash event j's customer is found by, from its key. */
static uint64_t key_hash(const traffic *t, size_t j) {
  const bev *e = &t->ev[j];
  return cxp_shard_hash(t->block + e->off + e->len, e->key_len);
}

/* The whole core over the traffic, timed; with `report`, the memory its
 * structures hold afterwards goes to stderr. */
static void run_full(const traffic *tp, const cxp_pipeline *plp, size_t batch, int prefetch,
                     int report, counts *outp, uint64_t *okp, uint64_t *badp, double *wallp,
                     double *cpup) {
  const traffic t = *tp;
  const cxp_pipeline pl = *plp;
  counts out = {0};
  uint64_t ok = 0, bad = 0;
  double wall, cpu;
  cxp_core core;
  cxp_core_init(&core, &pl, count_emit, &out);
  double w0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
  for (size_t i = 0; i < t.n; i += batch) {
    size_t end = i + batch < t.n ? i + batch : t.n;
    cxp_core_batch_begin(&core);
    /* As the daemon does: each key hashed once, when it is two ahead. */
    uint64_t h_next = 0;
    if (prefetch && i + 1 < end) h_next = key_hash(&t, i + 1);
    for (size_t j = i; j < end; j++) {
      const bev *e = &t.ev[j];
      const char *p = t.block + e->off;
      cxp_msg m = {pl.topic_input, e->partition,   e->offset,      p, e->len, p + e->len,
                   e->key_len,     e->received_ms, e->received_ms, 1};
      if (prefetch && j + 1 < end) {
        /* The next message's customer; the table slot of the one after. */
        cxp_core_prefetch(&core, t.ev[j + 1].partition, h_next, 0);
        if (j + 2 < end) {
          h_next = key_hash(&t, j + 2);
          cxp_core_prefetch(&core, t.ev[j + 2].partition, h_next, 1);
        }
      }
      if (cxp_core_process(&core, &m) == CXP_OK)
        ok++;
      else
        bad++;
    }
    cxp_core_batch_end(&core);
  }
  cpu = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
  wall = now_s(CLOCK_MONOTONIC) - w0;
  if (report) report_memory(&core);
  cxp_core_close(&core);
  *outp = out;
  *okp = ok;
  *badp = bad;
  *wallp = wall;
  *cpup = cpu;
}

/* Memory, measured from the structures: customers (their allocation and, as
 * cxp_customer_bytes counts it, two table slots with their tags each; then
 * with the tables' real size instead), open windows, open cases. */
static void report_memory(cxp_core *core) {
  size_t slots = 0, win_bytes = 0, win_open = 0, per_win = 0, case_bytes = 0, per_case = 0;
  for (int32_t i = 0; i < core->state.n_shards; i++)
    if (core->state.shards[i])
      slots += core->state.shards[i]->cap * (sizeof(void *) + sizeof(uint16_t));
  for (int32_t i = 0; i < core->n_win; i++)
    if (core->win[i]) {
      win_bytes += cxp_windows_bytes(core->win[i]);
      win_open += cxp_windows_stats(core->win[i]).open;
      per_win = cxp_windows_bytes_per_window(core->win[i]);
    }
  for (int32_t i = 0; i < core->n_cases; i++)
    if (core->cases[i]) {
      case_bytes += cxp_cases_bytes(core->cases[i]);
      per_case = cxp_cases_bytes_per_case(core->cases[i]);
    }
  cxp_cases_stats cst;
  cxp_core_cases_stats(core, &cst);
  fprintf(stderr,
          "memory: %zu customers, %.0f bytes each (%.0f with the tables' real size); "
          "%zu open windows, %zu bytes held by the windows (%zu per open window); %u open cases, %zu bytes held "
          "by the cases (%zu per open case)\n",
          core->state.customers,
          core->state.customers ? (double)core->state.bytes / (double)core->state.customers : 0,
          core->state.customers
              ? (double)(core->state.bytes + slots -
                         core->state.customers * 2 * (sizeof(void *) + sizeof(uint16_t))) /
                    (double)core->state.customers
              : 0,
          win_open, win_bytes, per_win, cst.open, case_bytes, per_case);
}

int main(int argc, char **argv) {
  static const struct option opts[] = {{"events", required_argument, NULL, 'n'},
                                       {"customers", required_argument, NULL, 'c'},
                                       {"seed", required_argument, NULL, 's'},
                                       {"pipeline", required_argument, NULL, 'p'},
                                       {"decode-only", no_argument, NULL, 'd'},
                                       {"dump", required_argument, NULL, 'D'},
                                       {"batch", required_argument, NULL, 'b'},
                                       {"event-rate", required_argument, NULL, 'r'},
                                       {"no-windows", no_argument, NULL, 'W'},
                                       {"no-churn", no_argument, NULL, 'C'},
                                       {"full-parser", no_argument, NULL, 'F'},
                                       {"world", required_argument, NULL, 'w'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  uint64_t n_events = 2000000, customers = 100000, seed = 42, batch = 1000;
  const char *pipeline_path = NULL, *dump_path = NULL;
  int decode_only = 0, full_parser = 0, no_windows = 0, no_churn = 0, world = CXP_GEN_DEMO, ch;
  int prefetch = !getenv("CXP_NO_PREFETCH");
  double rate = 0;
  while ((ch = getopt_long(argc, argv, "n:c:s:p:dD:b:r:WCFw:h", opts, NULL)) != -1) {
    switch (ch) {
      case 'n':
        if (parse_u64(optarg, &n_events) || n_events == 0)
          die("--events: a positive integer");
        break;
      case 'c':
        if (parse_u64(optarg, &customers) || customers == 0 || customers > UINT32_MAX)
          die("--customers: a positive 32-bit integer");
        break;
      case 's':
        if (parse_u64(optarg, &seed)) die("--seed: an unsigned integer");
        break;
      case 'b':
        if (parse_u64(optarg, &batch) || batch == 0) die("--batch: a positive integer");
        break;
      case 'p':
        pipeline_path = optarg;
        break;
      case 'd':
        decode_only = 1;
        break;
      case 'r':
        rate = atof(optarg);
        if (!(rate > 0 && rate <= 1e7)) die("--event-rate: events per second, 0 < R <= 1e7");
        break;
      case 'W':
        no_windows = 1;
        break;
      case 'C':
        no_churn = 1;
        break;
      case 'F':
        full_parser = 1;
        break;
      case 'w':
        if ((world = cxp_gen_world_by_name(optarg)) < 0) {
          fprintf(stderr, "bench_core: --world: unknown world '%s'; the worlds: %s\n", optarg,
                  cxp_gen_world_names());
          return 2;
        }
        break;
      case 'D':
        dump_path = optarg;
        break;
      case 'h':
        usage(stdout);
        return 0;
      default:
        usage(stderr);
        return 2;
    }
  }
  if (optind != argc) {
    usage(stderr);
    return 2;
  }

  cxp_pipeline pl;
  char err[512];
  if (pipeline_path == NULL)
    cxp_pipeline_defaults(&pl);
  else if (cxp_pipeline_load(&pl, pipeline_path, err, sizeof err))
    die(err);
  if (no_windows) pl.win_enabled = 0;
  if (no_churn) pl.churn_enabled = 0;

  traffic t = {0};
  double g0 = now_s(CLOCK_MONOTONIC);
  generate(&t, (size_t)n_events, (uint32_t)customers, seed, rate, world);
  double gen_s = now_s(CLOCK_MONOTONIC) - g0;
  if (dump_path != NULL) {
    int rc = dump(&t, dump_path);
    free(t.block);
    free(t.ev);
    return rc;
  }

  counts out = {0};
  uint64_t ok = 0, bad = 0, alerts = 0, dead = 0;
  double wall, cpu, churn_us = -1, learn_us = -1, warm_cpu = -1;
  if (decode_only) {
    /* The decoder alone, with its trees in an arena reset per batch, as the
     * core does it; nothing is applied or emitted. */
    cxp_arena arena;
    cxp_arena_init(&arena, 256 * 1024);
    cxp_arena_json_install();
    cxp_decode_opts o = {.max_bytes = (size_t)pl.max_event_bytes,
                         .max_future_ms = pl.max_future_s * 1000,
                         .parser = full_parser ? CXP_PARSE_FULL : CXP_PARSE_AUTO};
    cxp_decode_hint hint;
    memset(&hint, 0, sizeof hint);
    o.hint = &hint;
    cxp_event ev;
    char detail[256];
    double w0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
    for (size_t i = 0; i < t.n; i += batch) {
      size_t end = i + batch < t.n ? i + batch : t.n;
      cxp_arena_json_begin(&arena);
      for (size_t j = i; j < end; j++) {
        o.now_ms = t.ev[j].received_ms;
        if (cxp_event_decode(t.block + t.ev[j].off, t.ev[j].len, &o, &ev, detail,
                             sizeof detail) == CXP_OK)
          ok++;
        else
          bad++;
      }
      cxp_arena_json_end();
      cxp_arena_reset(&arena);
    }
    cpu = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    wall = now_s(CLOCK_MONOTONIC) - w0;
    cxp_arena_close(&arena);
    dead = bad;
  } else {
    run_full(&t, &pl, batch, prefetch, 1, &out, &ok, &bad, &wall, &cpu);
    alerts = out.records[CXP_STREAM_ALERTS];
    dead = out.records[CXP_STREAM_DEAD_LETTERS];
    if (pl.churn_enabled) {
      /* The cost of scoring, and of learning, as differences of runs: the
       * full pipeline again, then without scoring, then (learning on) with
       * the configured coefficients alone. All three come after the run
       * above, whose first touch of its memory (the customers, cases and
       * windows, the learners) made the first run 0.25 µs an event slower
       * on this machine: a difference against it counted that too. */
      counts o2;
      uint64_t ok2, bad2;
      double wall2, cpu2;
      run_full(&t, &pl, batch, prefetch, 0, &o2, &ok2, &bad2, &wall2, &warm_cpu);
      cxp_pipeline off = pl;
      off.churn_enabled = 0;
      run_full(&t, &off, batch, prefetch, 0, &o2, &ok2, &bad2, &wall2, &cpu2);
      churn_us = (warm_cpu - cpu2) / (double)t.n * 1e6;
      if (pl.churn_learn) {
        off = pl;
        off.churn_learn = 0;
        run_full(&t, &off, batch, prefetch, 0, &o2, &ok2, &bad2, &wall2, &cpu2);
        learn_us = (warm_cpu - cpu2) / (double)t.n * 1e6;
      }
    }
  }

  double eps = (double)t.n / wall;
  double cpu_per_m = cpu / ((double)t.n / 1e6);
  char churn_json[32] = "null", learn_json[32] = "null", warm_json[32] = "null";
  if (warm_cpu >= 0)
    snprintf(warm_json, sizeof warm_json, "%.6f", warm_cpu / ((double)t.n / 1e6));
  if (churn_us >= -0.5) snprintf(churn_json, sizeof churn_json, "%.3f", churn_us);
  if (learn_us >= -0.5) snprintf(learn_json, sizeof learn_json, "%.3f", learn_us);
  const char *mode = !decode_only ? "full" : full_parser ? "decode-cjson" : "decode";
  printf(
      "{\"bench\":\"core\",\"mode\":\"%s\",\"events\":%zu,\"customers\":%llu,"
      "\"seed\":%llu,\"block_bytes\":%zu,\"seconds\":%.6f,\"events_per_sec\":%.0f,"
      "\"cpu_seconds\":%.6f,\"cpu_s_per_million\":%.6f,\"ok\":%llu,\"alerts\":%llu,"
      "\"dead_letters\":%llu,\"output_bytes\":%llu,\"windows\":%s,\"partials\":%llu,"
      "\"markers\":%llu,\"warm_cpu_s_per_million\":%s,\"churn_cpu_us_per_event\":%s,"
      "\"learn_cpu_us_per_event\":%s}\n",
      mode, t.n, (unsigned long long)customers, (unsigned long long)seed, t.used, wall, eps,
      cpu, cpu_per_m, (unsigned long long)ok, (unsigned long long)alerts,
      (unsigned long long)dead, (unsigned long long)out.bytes,
      pl.win_enabled ? "true" : "false",
      (unsigned long long)out.records[CXP_STREAM_PARTIALS],
      (unsigned long long)out.records[CXP_STREAM_MARKERS], warm_json, churn_json,
      learn_json);
  fflush(stdout);
  fprintf(stderr,
          "bench_core %s: %zu events (%.1f MB, generated in %.1f s) in %.3f s: "
          "%.0f events/s, %.3f cpu s per million; %llu alerts, %llu dead letters, "
          "%llu window partials\n",
          mode, t.n, (double)t.used / 1e6, gen_s, wall, eps,
          cpu_per_m, (unsigned long long)alerts, (unsigned long long)dead,
          (unsigned long long)out.records[CXP_STREAM_PARTIALS]);
  if (warm_cpu >= 0)
    fprintf(stderr,
            "the same run again, its memory touched before: %.3f cpu s per million\n",
            warm_cpu / ((double)t.n / 1e6));
  if (churn_us >= -0.5)
    fprintf(stderr, "churn scoring: %.3f CPU us per event (that run less one without it)\n",
            churn_us);
  if (learn_us >= -0.5)
    fprintf(stderr,
            "churn learning: %.3f CPU us per event (that run less one with churn.learn "
            "false)\n",
            learn_us);
  free(t.block);
  free(t.ev);
  return 0;
}
