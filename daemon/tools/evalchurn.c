/* `cxpulse eval-churn`: replays a labelled history up to a moment through the
 * same core as `cxpulse replay`, scores every customer still subscribed then
 * (his score aged to that moment, from what was known before it), and judges
 * the scores against the cancellations (`subscription.cancelled`) that follow
 * within the horizon: ROC AUC, the high band's precision, the band counts.
 *
 * The history is a JSON-lines file, or the demo's generator run in memory
 * (--generate), which may also be written out (--write) as a labelled file.
 * --fit fits the model's coefficients to the history (L2-penalised logistic
 * regression by Newton's method) and prints them as a `churn` model file;
 * --model evaluates such a file instead of the defaults. */
#include "evalchurn.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "churn.h"
#include "config.h"
#include "core.h"
#include "gen.h"
#include "hash.h"
#include "timeutil.h"
#include "xalloc.h"

#define DAY_MS 86400000LL

/* Cancellations by customer: an open-addressing table of the first
 * cancellation time before `at` and the first one at or after it. */
typedef struct cancel_slot {
  uint64_t hash; /* 0: empty */
  char *id;
  int64_t before; /* earliest cancellation before at; 0 none */
  int64_t after;  /* earliest at or after at; 0 none */
} cancel_slot;

typedef struct cancels {
  cancel_slot *s;
  size_t cap, n;
} cancels;

static cancel_slot *cancels_find(cancels *t, const char *id, size_t len, int add) {
  uint64_t h = cxp_hash64(id, len, 0x63616e63ULL) | 1;
  if (add && (t->n + 1) * 2 > t->cap) {
    cancels g = {cxp_xcalloc(t->cap ? t->cap * 2 : 1024, sizeof *g.s), t->cap ? t->cap * 2 : 1024,
                 0};
    for (size_t i = 0; i < t->cap; i++) {
      if (!t->s[i].hash) continue;
      size_t j = t->s[i].hash & (g.cap - 1);
      while (g.s[j].hash) j = (j + 1) & (g.cap - 1);
      g.s[j] = t->s[i];
      g.n++;
    }
    free(t->s);
    *t = g;
  }
  if (t->cap == 0) return NULL;
  for (size_t j = h & (t->cap - 1);; j = (j + 1) & (t->cap - 1)) {
    cancel_slot *e = &t->s[j];
    if (e->hash == 0) {
      if (!add) return NULL;
      e->hash = h;
      e->id = strndup(id, len);
      if (e->id == NULL) abort();
      t->n++;
      return e;
    }
    if (e->hash == h && strlen(e->id) == len && memcmp(e->id, id, len) == 0) return e;
  }
}

static void cancels_free(cancels *t) {
  for (size_t i = 0; i < t->cap; i++) free(t->s[i].id);
  free(t->s);
}

typedef struct run {
  cxp_core core;
  cancels cx;
  int64_t at, end; /* end = at + horizon */
  int64_t lineno;
  uint64_t fed, after;
  int partitions; /* --partitions: customers spread over this many input partitions */
  FILE *write;
} run;

static void discard(void *opaque, const cxp_msg *from, cxp_stream s, const char *key, size_t klen,
                    const char *val, size_t vlen) {
  (void)from;
  (void)opaque, (void)s, (void)key, (void)klen, (void)val, (void)vlen;
}

/* The event time of a line, whether it is a cancellation, and whose it is
 * (*cid NULL when it names no one); 0 when the line has no usable time
 * (the core will dead-letter it). *cid points into *tree. */
static int64_t peek(const char *line, size_t n, int *cancel, const char **cid,
                    size_t *cid_len, cJSON **tree) {
  *cancel = 0;
  *tree = cJSON_ParseWithLength(line, n);
  if (*tree == NULL) return 0;
  const cJSON *ts = cJSON_GetObjectItemCaseSensitive(*tree, "ts");
  const cJSON *ty = cJSON_GetObjectItemCaseSensitive(*tree, "type");
  const cJSON *cu = cJSON_GetObjectItemCaseSensitive(*tree, "customer_id");
  int64_t t = 0;
  if (cJSON_IsString(ts)) {
    if (cxp_time_parse_rfc3339(ts->valuestring, strlen(ts->valuestring), &t)) t = 0;
  } else if (cJSON_IsNumber(ts)) {
    t = (int64_t)ts->valuedouble;
  }
  if (cJSON_IsString(cu)) {
    *cid = cu->valuestring;
    *cid_len = strlen(cu->valuestring);
    *cancel = cJSON_IsString(ty) && strcmp(ty->valuestring, "subscription.cancelled") == 0;
  }
  return t;
}

/* One line of the history: before `at` it goes through the core; a
 * cancellation is noted either side of `at`. */
static void feed(run *r, const char *line, size_t n) {
  int cancel;
  const char *cid = NULL;
  size_t cid_len = 0;
  cJSON *tree;
  r->lineno++;
  int64_t t = peek(line, n, &cancel, &cid, &cid_len, &tree);
  if (cancel && t > 0 && t < r->end) {
    cancel_slot *e = cancels_find(&r->cx, cid, cid_len, 1);
    int64_t *slot = t < r->at ? &e->before : &e->after;
    if (*slot == 0 || t < *slot) *slot = t;
  }
  /* His partition, as a producer keying by customer would choose one (any
   * hash will do: each customer stays on his). */
  int32_t part = -1;
  if (r->partitions > 1 && cid != NULL)
    part = (int32_t)(cxp_hash64(cid, cid_len, 0) % (uint64_t)r->partitions);
  cJSON_Delete(tree);
  if (t >= r->at) {
    r->after++;
    return;
  }
  cxp_msg m = {NULL, part, r->lineno, line, n, NULL, 0, 0, 0, 0};
  cxp_core_batch_begin(&r->core);
  cxp_core_process(&r->core, &m);
  cxp_core_batch_end(&r->core);
  r->fed++;
}

/* One scored customer. */
typedef struct scored {
  double x[CXP_CF__COUNT];
  double p;
  unsigned char label;
  int band;
  int lead; /* leading factor, -1 none */
  double var;
} scored;

/* Solves a x = b (n x n, row-major) in place by Gaussian elimination with
 * partial pivoting; -1 when singular. */
static int solve(double *a, double *b, int n) {
  for (int k = 0; k < n; k++) {
    int piv = k;
    for (int i = k + 1; i < n; i++)
      if (fabs(a[i * n + k]) > fabs(a[piv * n + k])) piv = i;
    if (fabs(a[piv * n + k]) < 1e-12) return -1;
    if (piv != k) {
      for (int j = 0; j < n; j++) {
        double tmp = a[k * n + j];
        a[k * n + j] = a[piv * n + j];
        a[piv * n + j] = tmp;
      }
      double tmp = b[k];
      b[k] = b[piv];
      b[piv] = tmp;
    }
    for (int i = k + 1; i < n; i++) {
      double f = a[i * n + k] / a[k * n + k];
      for (int j = k; j < n; j++) a[i * n + j] -= f * a[k * n + j];
      b[i] -= f * b[k];
    }
  }
  for (int k = n - 1; k >= 0; k--) {
    for (int j = k + 1; j < n; j++) b[k] -= a[k * n + j] * b[j];
    b[k] /= a[k * n + k];
  }
  return 0;
}

/* Logistic regression of the labels on the features, intercept unpenalised,
 * coefficients under an L2 penalty `lambda` (so a factor the history barely
 * shows does not get a wild weight). Newton's method: a few steps suffice.
 * A factor with held[f] set keeps its coefficient at 0. */
static int fit(const scored *s, size_t n, double lambda, const unsigned char *held,
               double *beta /* 1 + CF */) {
  enum { K = 1 + CXP_CF__COUNT };
  double h[K * K], g[K];
  for (int i = 0; i < K; i++) beta[i] = 0;
  for (int it = 0; it < 50; it++) {
    memset(h, 0, sizeof h);
    memset(g, 0, sizeof g);
    for (size_t i = 0; i < n; i++) {
      double v[K];
      v[0] = 1;
      memcpy(v + 1, s[i].x, sizeof s[i].x);
      double z = 0;
      for (int j = 0; j < K; j++) z += beta[j] * v[j];
      double p = 1 / (1 + exp(-z)), w = p * (1 - p);
      for (int j = 0; j < K; j++) {
        g[j] += (s[i].label - p) * v[j];
        for (int k = 0; k < K; k++) h[j * K + k] += w * v[j] * v[k];
      }
    }
    for (int j = 1; j < K; j++) {
      g[j] -= lambda * beta[j];
      h[j * K + j] += lambda;
      if (held[j - 1]) { /* its row and column the identity, its step 0 */
        for (int k = 0; k < K; k++) h[j * K + k] = h[k * K + j] = 0;
        h[j * K + j] = 1;
        g[j] = 0;
      }
    }
    if (solve(h, g, K)) return -1;
    double step = 0;
    for (int j = 0; j < K; j++) {
      beta[j] += g[j];
      step = fmax(step, fabs(g[j]));
    }
    if (step < 1e-8) break;
  }
  return 0;
}

/* The fit with every coefficient on the side of its factor's sign
 * (cxp_churn_factor_sign), as the learner keeps them: the coefficient the
 * free fit puts furthest across is held at 0 and the rest fitted again,
 * until none crosses (greedy: one held is never freed). 0, or -1. */
static int fit_signed(const scored *s, size_t n, double lambda, unsigned char *held,
                      double *beta) {
  memset(held, 0, CXP_CF__COUNT);
  for (int round = 0; round <= CXP_CF__COUNT; round++) {
    if (fit(s, n, lambda, held, beta)) return -1;
    int worst = -1;
    double across = 0;
    for (int f = 0; f < CXP_CF__COUNT; f++) {
      double x = -cxp_churn_factor_sign(f) * beta[1 + f];
      if (x > across) {
        across = x;
        worst = f;
      }
    }
    if (worst < 0) return 0;
    held[worst] = 1;
  }
  return -1;
}

/* Reads a model file: {"intercept": x, "coefficients": {factor: x, ...},
 * "bands": {"medium": x, "high": x, "hysteresis": x}}, every member
 * optional (the pipeline's future `churn` section has this shape). */
static int load_model(cxp_churn_conf *cf, const char *path, char *err, size_t errlen) {
  cJSON *root = cxp_json_load(path, err, errlen);
  if (root == NULL) return -1;
  int rc = -1;
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "intercept");
  if (cJSON_IsNumber(v)) cf->intercept = v->valuedouble;
  const cJSON *co = cJSON_GetObjectItemCaseSensitive(root, "coefficients"), *e;
  cJSON_ArrayForEach(e, co) {
    int f = cxp_churn_factor_by_name(e->string, strlen(e->string));
    if (f < 0 || !cJSON_IsNumber(e)) {
      snprintf(err, errlen, "%s: churn.coefficients.%s is not a factor with a number", path,
               e->string);
      goto out;
    }
    cf->coef[f] = e->valuedouble;
  }
  const cJSON *b = cJSON_GetObjectItemCaseSensitive(root, "bands");
  if ((v = cJSON_GetObjectItemCaseSensitive(b, "medium")) && cJSON_IsNumber(v))
    cf->medium = v->valuedouble;
  if ((v = cJSON_GetObjectItemCaseSensitive(b, "high")) && cJSON_IsNumber(v))
    cf->high = v->valuedouble;
  if ((v = cJSON_GetObjectItemCaseSensitive(b, "hysteresis")) && cJSON_IsNumber(v))
    cf->hysteresis = v->valuedouble;
  char why[256];
  if (cxp_churn_conf_check(cf, why, sizeof why)) {
    snprintf(err, errlen, "%s: %s", path, why);
    goto out;
  }
  rc = 0;
out:
  cJSON_Delete(root);
  return rc;
}

static void usage(FILE *f) {
  fputs("usage: cxpulse eval-churn --pipeline FILE --at TIMESTAMP [--horizon DAYS]\n"
        "                          [--model FILE] [--fit] EVENTS.jsonl|-\n"
        "       cxpulse eval-churn --pipeline FILE --generate SEED:EVENTS:CUSTOMERS[:DAYS]\n"
        "                          [--world NAME] --at TIMESTAMP|+DAYS [--write FILE] [...]\n"
        "  Replays the history before --at, scores every customer still subscribed\n"
        "  then, and prints one JSON object: auc, high_precision, positives,\n"
        "  negatives, bands (a positive cancels within the horizon, default 30 days).\n"
        "  --at          RFC 3339 time or epoch ms; +DAYS after the generator's start\n"
        "  --generate    the demo generator's history (DAYS long, default 240) in memory\n"
        "  --world NAME  the generator's world (docs/scenario.md): demo (the default),\n"
        "                recovery, competitor, renewal\n"
        "  --write FILE  also write that history, a labelled JSON-lines file\n"
        "  Scores with the model the daemon would have at --at: the one it learnt from\n"
        "  the outcomes before --at (churn.learn), else the configured coefficients.\n"
        "  --frozen      score with the configured coefficients, learnt or not\n"
        "  --model FILE  coefficients, intercept, bands to use instead (frozen)\n"
        "  --fit         fit the coefficients to this history; adds \"fit\" to the output\n"
        "  --partitions N  spread the customers over N input partitions, as the daemon\n"
        "                would hold them: a learner each, combined (default 1)\n",
        f);
}

/* The command line, checked. */
typedef struct eval_args {
  const char *pipeline_path, *at_arg, *gen_arg, *write_path, *model_path, *world_arg;
  const char *path; /* the history's file, "-" for stdin; NULL with --generate */
  double horizon_days;
  int do_fit, frozen;
  int partitions; /* --partitions */
  unsigned long long seed, n_events, n_customers; /* --generate's */
  double days;
  int world; /* --generate's world, a cxp_gen_world */
  int64_t at;
} eval_args;

/* The options into `a`: -1 when they are good, else the exit code (0 for
 * --help, 2 for a usage error, which usage() or a sentence has explained). */
static int parse_options(int argc, char **argv, eval_args *a) {
  static const struct option opts[] = {{"pipeline", required_argument, NULL, 'p'},
                                       {"at", required_argument, NULL, 'a'},
                                       {"horizon", required_argument, NULL, 'H'},
                                       {"generate", required_argument, NULL, 'g'},
                                       {"write", required_argument, NULL, 'w'},
                                       {"model", required_argument, NULL, 'm'},
                                       {"fit", no_argument, NULL, 'f'},
                                       {"frozen", no_argument, NULL, 'F'},
                                       {"world", required_argument, NULL, 'W'},
                                       {"partitions", required_argument, NULL, 'P'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  int ch;
  optind = 1;
  while ((ch = getopt_long(argc, argv, "p:a:H:g:w:m:fFW:P:h", opts, NULL)) != -1) {
    switch (ch) {
    case 'p': a->pipeline_path = optarg; break;
    case 'a': a->at_arg = optarg; break;
    case 'H': {
      char *end;
      a->horizon_days = strtod(optarg, &end);
      if (*end || !(a->horizon_days > 0 && a->horizon_days <= 3650)) {
        fprintf(stderr, "cxpulse eval-churn: --horizon: '%s' is not 0..3650 days\n", optarg);
        return 2;
      }
      break;
    }
    case 'g': a->gen_arg = optarg; break;
    case 'w': a->write_path = optarg; break;
    case 'm': a->model_path = optarg; break;
    case 'f': a->do_fit = 1; break;
    case 'F': a->frozen = 1; break;
    case 'W': a->world_arg = optarg; break;
    case 'P': {
      char *end;
      long v = strtol(optarg, &end, 10);
      if (*end || v < 1 || v > 1024) {
        fprintf(stderr, "cxpulse eval-churn: --partitions: '%s' is not 1..1024\n", optarg);
        return 2;
      }
      a->partitions = (int)v;
      break;
    }
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
  }
  if (a->pipeline_path == NULL || a->at_arg == NULL ||
      (a->gen_arg ? optind != argc : optind != argc - 1) || (a->write_path && !a->gen_arg)) {
    usage(stderr);
    return 2;
  }
  a->path = a->gen_arg ? NULL : argv[optind];
  if (a->world_arg) {
    /* A file's history has no world to choose: only the generator's does. */
    if (!a->gen_arg) {
      fprintf(stderr, "cxpulse eval-churn: --world needs --generate\n");
      return 2;
    }
    if ((a->world = cxp_gen_world_by_name(a->world_arg)) < 0) {
      fprintf(stderr, "cxpulse eval-churn: --world: unknown world '%s'; the worlds: %s\n",
              a->world_arg, cxp_gen_world_names());
      return 2;
    }
  }
  return -1;
}

/* --generate SEED:EVENTS:CUSTOMERS[:DAYS]; 0, or 2 with a sentence. */
static int parse_generate(eval_args *a) {
  int k = sscanf(a->gen_arg, "%llu:%llu:%llu:%lf", &a->seed, &a->n_events, &a->n_customers,
                 &a->days);
  if (k < 3 || a->n_events == 0 || a->n_customers == 0 || a->n_customers > 10000000 ||
      !(a->days > 0 && a->days <= 3650)) {
    fprintf(stderr, "cxpulse eval-churn: --generate: '%s' is not SEED:EVENTS:CUSTOMERS"
            "[:DAYS]\n", a->gen_arg);
    return 2;
  }
  return 0;
}

/* --at: an RFC 3339 time, epoch ms, or +DAYS after the generator's start
 * (`start_ms`); 0, or 2 with a sentence. */
static int parse_at(eval_args *a, int64_t start_ms) {
  const char *at_arg = a->at_arg;
  if (at_arg[0] == '+') {
    char *end;
    double d = strtod(at_arg + 1, &end);
    if (!a->gen_arg || (*end && strcmp(end, "d") != 0) || !(d >= 0 && d < 36500)) {
      fprintf(stderr, "cxpulse eval-churn: --at: '%s': +DAYS needs --generate\n", at_arg);
      return 2;
    }
    a->at = start_ms + (int64_t)(d * DAY_MS);
  } else if (cxp_time_parse_rfc3339(at_arg, strlen(at_arg), &a->at)) {
    char *end;
    long long ms = strtoll(at_arg, &end, 10);
    if (*end || ms <= 0) {
      fprintf(stderr, "cxpulse eval-churn: --at: '%s' is not an RFC 3339 time or epoch ms\n",
              at_arg);
      return 2;
    }
    a->at = ms;
  }
  return 0;
}

/* The pipeline and the model to judge: the pipeline's churn settings (the
 * defaults where it has none), unless --model names another. 0, or 1 with
 * a sentence. */
static int load_conf(const eval_args *a, cxp_pipeline *pl, cxp_churn_conf *cf) {
  char err[512];
  if (cxp_pipeline_load(pl, a->pipeline_path, err, sizeof err)) {
    fprintf(stderr, "cxpulse eval-churn: %s\n", err);
    return 1;
  }
  if (cxp_pipeline_churn(pl, cf, err, sizeof err)) {
    fprintf(stderr, "cxpulse eval-churn: %s: %s\n", a->pipeline_path, err);
    return 1;
  }
  if (a->model_path && load_model(cf, a->model_path, err, sizeof err)) {
    fprintf(stderr, "cxpulse eval-churn: %s\n", err);
    return 1;
  }
  return 0;
}

/* The generator's history through feed(), and to --write's file if named
 * (then to its end: the file is the whole history). 0, or 1 on an error. */
static int feed_generated(run *r, const eval_args *a, const char *pipeline) {
  FILE *w = NULL;
  if (a->write_path && (w = fopen(a->write_path, "w")) == NULL) {
    perror(a->write_path);
    return 1;
  }
  cxp_gen_opts go;
  cxp_gen_opts_default(&go);
  go.seed = a->seed;
  go.customers = (uint32_t)a->n_customers;
  go.world = a->world;
  go.pipeline = pipeline; /* the CX team's call backs name its detractor cases */
  go.events_per_sec = (double)a->n_events / (a->days * 86400.0);
  /* Bad events only exercise the dead-letter path; they carry no label. */
  go.bad_ratio = 0;
  cxp_gen *g = cxp_gen_create(&go);
  if (g == NULL) abort();
  char buf[2048], key[64];
  size_t klen;
  for (unsigned long long i = 0; i < a->n_events; i++) {
    size_t len = cxp_gen_next(g, buf, sizeof buf, key, sizeof key, &klen);
    if (len >= sizeof buf) continue; /* cannot happen: events are far shorter */
    if (w) fprintf(w, "%.*s\n", (int)len, buf);
    else if (cxp_gen_time(g) >= r->end) break; /* nothing more to learn */
    feed(r, buf, len);
  }
  cxp_gen_destroy(g);
  if (w && fclose(w)) {
    perror(a->write_path);
    return 1;
  }
  return 0;
}

/* A JSON-lines file ("-": stdin) through feed(). 0, or 1 when it cannot be
 * opened. */
static int feed_file(run *r, const char *path) {
  FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (in == NULL) {
    perror(path);
    return 1;
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, in)) != -1) {
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
    if (n == 0) continue;
    feed(r, line, (size_t)n);
  }
  free(line);
  if (in != stdin) fclose(in);
  return 0;
}

/* What the scores add up to, by band. */
typedef struct tally {
  long bands[3], pos_band[3], lead_high[CXP_CF__COUNT];
  double var_total, p_sum;
} tally;

/* Scores every customer seen before `at` and not cancelled by then, into an
 * array of *ns (the caller's to free), counted in `t`. */
static scored *score_customers(run *r, const cxp_churn_conf *cf, tally *t, size_t *ns) {
  size_t cap_s = r->core.state.customers ? r->core.state.customers : 1;
  scored *s = cxp_xcalloc(cap_s, sizeof *s);
  *ns = 0;
  for (int32_t part = 0; part < r->core.state.n_shards; part++) {
    const cxp_shard *sh = r->core.state.shards[part];
    if (sh == NULL) continue;
    for (size_t i = 0; i < sh->cap; i++) {
      const cxp_customer *cu = sh->slots[i];
      if (cu == NULL) continue;
      cancel_slot *e = cancels_find(&r->cx, cu->id, cu->id_len, 0);
      if (e && e->before) continue;
      cxp_case_customer cc;
      memset(&cc, 0, sizeof cc);
      if (part < r->core.n_cases && r->core.cases[part])
        cxp_cases_customer(r->core.cases[part], cu->id, cu->id_len, &cc);
      cxp_churn_score sc;
      cxp_churn_eval(cf, cu, &r->core.customer, cc.open, cc.overdue, r->at, &sc);
      scored *o = &s[(*ns)++];
      memcpy(o->x, sc.x, sizeof o->x);
      o->p = sc.p;
      o->label = e && e->after > 0;
      /* A snapshot has no band history: the band is read with the plain
       * thresholds (no hysteresis). */
      cxp_churn_conf plain = *cf;
      plain.hysteresis = 0;
      o->band = cxp_churn_band_next(CXP_CHURN_LOW, sc.p, &plain);
      int top[CXP_CF__COUNT];
      o->lead = cxp_churn_top(&sc, 1, top) ? top[0] : -1;
      o->var = sc.value_at_risk;
      t->bands[o->band]++;
      t->pos_band[o->band] += o->label;
      if (o->band == CXP_CHURN_HIGH && o->lead >= 0) t->lead_high[o->lead]++;
      t->var_total += sc.value_at_risk;
      t->p_sum += sc.p;
    }
  }
  return s;
}

/* The judgement as one JSON object: ranking (auc), the high band's
 * precision and recall, the base rate, the bands, the value at risk. */
static cJSON *report(const eval_args *a, const run *r, const tally *t, size_t ns,
                     long positives, double auc) {
  char at_s[25];
  cxp_time_format(a->at, at_s);
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "at", at_s);
  cJSON_AddNumberToObject(o, "horizon_days", a->horizon_days);
  cJSON_AddNumberToObject(o, "partitions", r->partitions);
  cJSON_AddNumberToObject(o, "events_before_at", (double)r->fed);
  cJSON_AddNumberToObject(o, "customers", (double)ns);
  cJSON_AddNumberToObject(o, "positives", (double)positives);
  cJSON_AddNumberToObject(o, "negatives", (double)(ns - (size_t)positives));
  if (isnan(auc)) cJSON_AddNullToObject(o, "auc");
  else cJSON_AddNumberToObject(o, "auc", round(auc * 1e4) / 1e4);
  if (t->bands[CXP_CHURN_HIGH])
    cJSON_AddNumberToObject(
        o, "high_precision",
        round(1e4 * t->pos_band[CXP_CHURN_HIGH] / t->bands[CXP_CHURN_HIGH]) / 1e4);
  else
    cJSON_AddNullToObject(o, "high_precision");
  if (positives)
    cJSON_AddNumberToObject(o, "high_recall",
                            round(1e4 * t->pos_band[CXP_CHURN_HIGH] / positives) / 1e4);
  else
    cJSON_AddNullToObject(o, "high_recall");
  cJSON_AddNumberToObject(o, "base_rate", ns ? round(1e4 * positives / ns) / 1e4 : 0);
  cJSON_AddNumberToObject(o, "mean_p", ns ? round(1e4 * t->p_sum / ns) / 1e4 : 0);
  cJSON *jb = cJSON_AddObjectToObject(o, "bands");
  cJSON *jp = cJSON_AddObjectToObject(o, "positives_by_band");
  for (int b = 0; b < 3; b++) {
    cJSON_AddNumberToObject(jb, cxp_churn_band_name(b), (double)t->bands[b]);
    cJSON_AddNumberToObject(jp, cxp_churn_band_name(b), (double)t->pos_band[b]);
  }
  cJSON *jl = cJSON_AddObjectToObject(o, "high_leading_factor");
  for (int f = 0; f < CXP_CF__COUNT; f++)
    if (t->lead_high[f])
      cJSON_AddNumberToObject(jl, cxp_churn_factor_name(f), (double)t->lead_high[f]);
  cJSON_AddNumberToObject(o, "value_at_risk", round(t->var_total));
  return o;
}

/* The in-sample AUC of the linear score beta gives the customers. */
static double auc_of(const double *beta, const scored *s, size_t ns, double *ps,
                     const unsigned char *ls) {
  for (size_t i = 0; i < ns; i++) {
    double z = beta[0];
    for (int f = 0; f < CXP_CF__COUNT; f++) z += beta[1 + f] * s[i].x[f];
    ps[i] = z;
  }
  return round(cxp_churn_auc(ps, ls, ns) * 1e4) / 1e4;
}

/* --fit: the coefficients fitted to this history and their in-sample AUC,
 * as "fit" in `o`, and in "fit.signed" the AUC of the fit that keeps the
 * learner's signs, with the factors it had to hold at 0: the ceiling of a
 * learner with those constraints. `ps` (one per customer) is overwritten. */
static void report_fit(cJSON *o, const scored *s, size_t ns, double *ps,
                       const unsigned char *ls) {
  double beta[1 + CXP_CF__COUNT];
  unsigned char held[CXP_CF__COUNT] = {0};
  cJSON *jf = cJSON_AddObjectToObject(o, "fit");
  if (fit(s, ns, 1.0, held, beta) == 0) {
    cJSON_AddNumberToObject(jf, "intercept", round(beta[0] * 1e3) / 1e3);
    cJSON *jc = cJSON_AddObjectToObject(jf, "coefficients");
    for (int f = 0; f < CXP_CF__COUNT; f++)
      cJSON_AddNumberToObject(jc, cxp_churn_factor_name(f), round(beta[1 + f] * 1e3) / 1e3);
    cJSON_AddNumberToObject(jf, "auc_in_sample", auc_of(beta, s, ns, ps, ls));
    cJSON *js = cJSON_AddObjectToObject(jf, "signed");
    if (fit_signed(s, ns, 1.0, held, beta) == 0) {
      cJSON_AddNumberToObject(js, "auc_in_sample", auc_of(beta, s, ns, ps, ls));
      cJSON *jsc = cJSON_AddObjectToObject(js, "coefficients");
      for (int f = 0; f < CXP_CF__COUNT; f++)
        cJSON_AddNumberToObject(jsc, cxp_churn_factor_name(f), round(beta[1 + f] * 1e3) / 1e3);
      cJSON *jh = cJSON_AddArrayToObject(js, "held_at_zero");
      for (int f = 0; f < CXP_CF__COUNT; f++)
        if (held[f]) cJSON_AddItemToArray(jh, cJSON_CreateString(cxp_churn_factor_name(f)));
    } else {
      cJSON_AddStringToObject(js, "error", "singular");
    }
  } else {
    cJSON_AddStringToObject(jf, "error", "singular: the history does not show every factor");
  }
}

/* Scores the customers held after the replay, judges them against the
 * cancellations and prints the judgement. 0, or 1 when stdout fails. */
/* Orders customer indexes by score, highest first (ties by index). */
static const double *rank_ps;
static int by_p_desc(const void *x, const void *y) {
  size_t i = *(const size_t *)x, j = *(const size_t *)y;
  if (rank_ps[i] != rank_ps[j]) return rank_ps[i] > rank_ps[j] ? -1 : 1;
  return i < j ? -1 : i > j;
}

/* Beside the AUC: the average precision (PR-AUC), the Brier score and the
 * lift of the top decile, as pr_auc, brier and lift_top_decile in o. */
static void report_ranking(cJSON *o, const double *ps, const unsigned char *ls, size_t ns,
                           long positives) {
  if (ns == 0 || positives == 0) {
    cJSON_AddNullToObject(o, "pr_auc");
    cJSON_AddNullToObject(o, "lift_top_decile");
  } else {
    size_t *idx = cxp_xmalloc(ns * sizeof *idx);
    for (size_t i = 0; i < ns; i++) idx[i] = i;
    rank_ps = ps;
    qsort(idx, ns, sizeof *idx, by_p_desc);
    double ap = 0;
    long hits = 0, top_hits = 0;
    size_t decile = ns / 10 ? ns / 10 : 1;
    for (size_t k = 0; k < ns; k++) {
      if (!ls[idx[k]]) continue;
      hits++;
      ap += (double)hits / (double)(k + 1);
      if (k < decile) top_hits++;
    }
    free(idx);
    cJSON_AddNumberToObject(o, "pr_auc", round(1e4 * ap / (double)positives) / 1e4);
    double base = (double)positives / (double)ns;
    cJSON_AddNumberToObject(o, "lift_top_decile",
                            round(100 * ((double)top_hits / (double)decile) / base) / 100);
  }
  double brier = 0;
  for (size_t i = 0; i < ns; i++) brier += (ps[i] - ls[i]) * (ps[i] - ls[i]);
  if (ns)
    cJSON_AddNumberToObject(o, "brier", round(1e5 * brier / (double)ns) / 1e5);
  else
    cJSON_AddNullToObject(o, "brier");
}

/* The model that scored, as "model" in o: learnt or configured, its
 * coefficients and calibration, and the learning's own figures. */
static void report_model(cJSON *o, const eval_args *a, const cxp_learn_stats *sp,
                         const cxp_churn_conf *cf) {
  const cxp_learn_stats st = *sp;
  cJSON *m = cJSON_AddObjectToObject(o, "model");
  cJSON_AddStringToObject(m, "kind",
                          a->model_path ? "file" : a->frozen || !st.active ? "configured"
                                                                           : "learnt");
  cJSON *co = cJSON_AddObjectToObject(m, "coefficients");
  for (int f = 0; f < CXP_CF__COUNT; f++)
    cJSON_AddNumberToObject(co, cxp_churn_factor_name(f), round(cf->coef[f] * 1e4) / 1e4);
  cJSON_AddNumberToObject(m, "intercept", round(cf->intercept * 1e4) / 1e4);
  cJSON *cal = cJSON_AddArrayToObject(m, "calibration");
  cJSON_AddItemToArray(cal, cJSON_CreateNumber(round(cf->cal_a * 1e4) / 1e4));
  cJSON_AddItemToArray(cal, cJSON_CreateNumber(round(cf->cal_b * 1e4) / 1e4));
  cJSON_AddNumberToObject(m, "labels", (double)st.labels);
  cJSON_AddNumberToObject(m, "positives", (double)st.positives);
  if (isnan(st.auc)) cJSON_AddNullToObject(m, "prequential_auc");
  else cJSON_AddNumberToObject(m, "prequential_auc", round(st.auc * 1e4) / 1e4);
  if (isnan(st.brier)) cJSON_AddNullToObject(m, "prequential_brier");
  else cJSON_AddNumberToObject(m, "prequential_brier", round(st.brier * 1e5) / 1e5);
  if (st.recent) {
    cJSON_AddNumberToObject(m, "recent_mean_p", round(st.mean_p * 1e4) / 1e4);
    cJSON_AddNumberToObject(m, "recent_rate", round(st.rate * 1e4) / 1e4);
  }
}

static int evaluate(run *r, const eval_args *a, const cxp_pipeline *pl,
                    const cxp_churn_conf *cf) {
  tally t;
  memset(&t, 0, sizeof t);
  size_t ns;
  scored *s = score_customers(r, cf, &t, &ns);
  double *ps = cxp_xmalloc((ns ? ns : 1) * sizeof *ps);
  unsigned char *ls = cxp_xmalloc(ns ? ns : 1);
  long positives = 0;
  for (size_t i = 0; i < ns; i++) {
    ps[i] = s[i].p;
    ls[i] = s[i].label;
    positives += s[i].label;
  }
  double auc = cxp_churn_auc(ps, ls, ns);
  cJSON *o = report(a, r, &t, ns, positives, auc);
  report_ranking(o, ps, ls, ns, positives);
  cxp_learn_stats st;
  cxp_core_learn_stats(&r->core, &st);
  report_model(o, a, &st, cf);
  if (a->do_fit) report_fit(o, s, ns, ps, ls);
  char *txt = cJSON_PrintUnformatted(o);
  printf("%s\n", txt);
  cJSON_free(txt);
  cJSON_Delete(o);
  free(ps);
  free(ls);
  free(s);
  fflush(stdout);
  return ferror(stdout) ? 1 : 0;
}

int cxp_evalchurn_main(int argc, char **argv) {
  eval_args a = {.horizon_days = 30, .days = 240};
  int rc = parse_options(argc, argv, &a);
  if (rc >= 0) return rc;
  if (a.gen_arg && parse_generate(&a)) return 2;
  cxp_gen_opts go;
  cxp_gen_opts_default(&go);
  if (parse_at(&a, go.start_ms)) return 2;
  cxp_pipeline pl;
  cxp_churn_conf cf;
  if (load_conf(&a, &pl, &cf)) return 1;

  run r;
  memset(&r, 0, sizeof r);
  r.at = a.at;
  r.end = a.at + (int64_t)(a.horizon_days * DAY_MS);
  r.partitions = a.partitions > 0 ? a.partitions : 1;
  cxp_core_init(&r.core, &pl, discard, NULL);
  cxp_core_merge_local(&r.core, 1);
  rc = a.gen_arg ? feed_generated(&r, &a, pl.name) : feed_file(&r, a.path);
  /* The model the daemon would score with at --at: the one the core
   * learnt, unless frozen (or another named). */
  cxp_core_learn_refresh(&r.core);
  if (rc == 0 && !a.frozen && a.model_path == NULL) cf = r.core.churn;
  if (rc == 0) rc = evaluate(&r, &a, &pl, &cf);
  cxp_core_close(&r.core);
  cancels_free(&r.cx);
  return rc;
}
