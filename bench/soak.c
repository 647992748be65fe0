/* Soak: the real daemon (`cxpulse run`, its own process) fed at a fixed rate
 * for a long time against `cxpulse mock-cluster` (another process), with its
 * resident memory, open descriptors and consumer lag sampled, and their
 * least-squares slopes printed at the end. A leak shows as a slope that does
 * not flatten once the customers are all in memory.
 *
 *   ./build/soak [--minutes M] [--rate N] [--event-rate R] [--partitions N]
 *                [--customers N] [--sample-s S] [--seed N] [--pipeline FILE]
 *                [--cxpulse PATH] [--keep]
 *
 * Events come from the seeded generator (daemon/tools/gen.h), keyed by customer id,
 * produced by this process at --rate events per second of wall-clock time.
 * Their event time advances at --event-rate events per second (default the
 * generator's own 50/s, so cases' deadlines fire and windows close within a
 * soak), and is placed to end at the run's start, so that no event lies in
 * the future whatever the machine's date.
 *
 * The mock broker keeps about 5 MiB a partition: input the daemon has not
 * read past that is deleted. The soak warns when a partition's lag comes
 * near it, and reports what the daemon counted as lost
 * (cxpulse_input_offsets_skipped_total).
 *
 * The slopes are taken over the samples after a warm-up of the first 20% of
 * the run (the population fills memory then). Exit status: 0; 1 if the
 * daemon did not become ready, died, did not stop within 20 s of SIGTERM or
 * exited non-zero; 3 if input was lost or not all of it was consumed; 2 for
 * a usage or set-up error. Not a ctest: run by hand. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "gen.h"
#include "pipeline.h"

#define RETENTION_BYTES (5.0 * 1024 * 1024) /* the mock broker's, per partition */

typedef struct sample {
  double t_s; /* since production started */
  double rss_kib, fds, lag, lag_max, consumed, customers, state_kib, skipped;
  double other_kib;    /* resident memory not counted in the customers' state */
  double cases;        /* open recovery cases: memory the state does not count */
  double cpu_d, cpu_m; /* CPU seconds so far of the daemon and the mock broker */
  uint64_t produced;
} sample;

static volatile sig_atomic_t interrupted;
static void on_signal(int sig) {
  (void)sig;
  interrupted = 1;
}

static uint64_t delivered, delivery_failed;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  (void)opaque;
  if (m->err)
    delivery_failed++;
  else
    delivered++;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Starts argv as a child with stdout and stderr on the given descriptors.
 * The child gets SIGTERM if this process dies, so an interrupted soak leaves
 * no daemon or broker behind. */
static pid_t spawn(char *const argv[], int out_fd, int err_fd) {
  pid_t parent = getpid(), pid = fork();
  if (pid != 0) return pid;
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != parent) _exit(127); /* it died before the line above */
  dup2(out_fd, 1);
  dup2(err_fd, 2);
  /* Under journald the daemon would drop its timestamps; this log is a file. */
  unsetenv("JOURNAL_STREAM");
  execv(argv[0], argv);
  fprintf(stderr, "soak: exec %s: %s\n", argv[0], strerror(errno));
  _exit(127);
}

/* Waits up to timeout_s for pid; returns 1 with its status, or 0. */
static int wait_for(pid_t pid, double timeout_s, int *status) {
  double until = now_s() + timeout_s;
  for (;;) {
    pid_t r = waitpid(pid, status, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR)) return 1;
    if (now_s() >= until) return 0;
    usleep(10000);
  }
}

static void describe_status(int st, char *out, size_t n) {
  if (WIFEXITED(st))
    snprintf(out, n, "exit %d", WEXITSTATUS(st));
  else if (WIFSIGNALED(st))
    snprintf(out, n, "killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
  else
    snprintf(out, n, "status 0x%x", st);
}

/* A free port on loopback for the admin endpoint. The daemon could pick one
 * itself (port 0) but would only log it; the window in which another
 * process takes this one is small enough for a bench. */
static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  int port = -1;
  if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
      getsockname(fd, (struct sockaddr *)&a, &len) == 0)
    port = ntohs(a.sin_port);
  if (fd >= 0) close(fd);
  return port;
}

/* GET path from the admin endpoint: the status code (-1 when there was no
 * answer), the body in *body (malloc'd, NUL-terminated) when body is not
 * NULL. Blocking with a 5 s limit: a scrape must not hold production long,
 * and a daemon that takes longer to answer is itself a finding. */
static int http_get(int port, const char *path, char **body) {
  if (body) *body = NULL;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  struct timeval tv = {.tv_sec = 5};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  char req[256];
  int n = snprintf(req, sizeof req,
                   "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
    close(fd);
    return -1;
  }
  size_t len = 0, cap = 65536;
  char *buf = malloc(cap);
  ssize_t r = 0;
  while (buf != NULL) {
    if (len + 1 == cap) {
      char *more = realloc(buf, cap * 2);
      if (more == NULL) break;
      buf = more;
      cap *= 2;
    }
    r = recv(fd, buf + len, cap - 1 - len, 0);
    if (r <= 0) break;
    len += (size_t)r;
  }
  close(fd);
  int code = -1;
  if (buf == NULL) return -1;
  buf[len] = '\0';
  char *hdr_end = strstr(buf, "\r\n\r\n");
  /* An answer cut short by the time limit counts as none. */
  if (r < 0 || hdr_end == NULL || sscanf(buf, "HTTP/1.%*d %d", &code) != 1) code = -1;
  if (body && code > 0) {
    memmove(buf, hdr_end + 4, strlen(hdr_end + 4) + 1);
    *body = buf;
  } else {
    free(buf);
  }
  return code;
}

/* The sum of every series of one metric in Prometheus text (labels
 * ignored), and their largest value in *max; NAN when it has none. */
static double metric(const char *text, const char *name, double *max) {
  size_t nl = strlen(name);
  double sum = 0, mx = NAN;
  int found = 0;
  for (const char *l = text; l != NULL && *l;) {
    const char *end = strchr(l, '\n');
    size_t len = end ? (size_t)(end - l) : strlen(l);
    if (len > nl && strncmp(l, name, nl) == 0 && (l[nl] == ' ' || l[nl] == '{')) {
      const char *sp = memrchr(l, ' ', len);
      double v = strtod(sp + 1, NULL);
      sum += v;
      if (!found || v > mx) mx = v;
      found = 1;
    }
    l = end ? end + 1 : NULL;
  }
  if (max) *max = mx;
  return found ? sum : NAN;
}

static double rss_kib(pid_t pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  double v = NAN;
  if (f == NULL) return v;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "VmRSS:", 6) == 0) v = strtod(line + 6, NULL); /* in kB */
  fclose(f);
  return v;
}

static double open_fds(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
  DIR *d = opendir(path);
  if (d == NULL) return NAN;
  int n = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;)
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

/* CPU seconds (user and system) the process has used so far. */
static double cpu_s(pid_t pid) {
  char path[64], line[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (f == NULL) return NAN;
  char *ok = fgets(line, sizeof line, f);
  fclose(f);
  /* The fields after the command name, which may hold spaces, in parentheses. */
  const char *p = ok ? strrchr(line, ')') : NULL;
  unsigned long long ut, st;
  if (p == NULL ||
      sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
    return NAN;
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Least-squares slope, per minute, of the sample field at offset `off` (a
 * double) over samples from `from` on, those without a value left out; NAN
 * with fewer than three. */
static double slope(const sample *s, int from, int n, size_t off) {
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  int k = 0;
  for (int i = from; i < n; i++) {
    double x = s[i].t_s / 60.0, y = *(const double *)((const char *)&s[i] + off);
    if (isnan(y)) continue;
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
    k++;
  }
  double den = k * sxx - sx * sx;
  if (k < 3 || den == 0) return NAN;
  double b = (k * sxy - sx * sy) / den;
  return fabs(b) < 1e-9 ? 0 : b; /* a flat series is 0, not -0.00 */
}

/* One line; the CPU shares are since the previous sample (prev may be NULL). */
static void print_sample(const sample *s, const sample *prev) {
  double dt = prev ? s->t_s - prev->t_s : 0;
  double cd = dt > 0 ? 100 * (s->cpu_d - prev->cpu_d) / dt : NAN;
  double cm = dt > 0 ? 100 * (s->cpu_m - prev->cpu_m) / dt : NAN;
  printf("%7.0f %9.0f %5.0f %8.0f %8.0f %10.0f %10" PRIu64
         " %9.0f %9.0f %7.0f %6.1f %6.1f%s\n",
         s->t_s, s->rss_kib, s->fds, s->lag, s->lag_max, s->consumed, s->produced,
         s->customers, s->state_kib, s->cases, cd, cm,
         s->skipped > 0 ? "  input lost to retention" : "");
  fflush(stdout);
}

/* Reads the daemon's figures into *s; 0, or -1 when /metrics did not answer. */
static int take_sample(pid_t pid, pid_t mock, int port, sample *s) {
  char *text;
  s->cpu_d = cpu_s(pid);
  s->cpu_m = cpu_s(mock);
  s->rss_kib = rss_kib(pid);
  s->fds = open_fds(pid);
  s->produced = delivered;
  if (http_get(port, "/metrics", &text) != 200) {
    free(text);
    s->lag = s->lag_max = s->consumed = s->customers = s->state_kib = s->skipped = NAN;
    s->other_kib = s->cases = NAN;
    return -1;
  }
  s->lag = metric(text, "cxpulse_consumer_lag_messages", &s->lag_max);
  s->consumed = metric(text, "cxpulse_events_consumed_total", NULL);
  s->customers = metric(text, "cxpulse_customers", NULL);
  s->state_kib = metric(text, "cxpulse_state_bytes", NULL) / 1024.0;
  s->skipped = metric(text, "cxpulse_input_offsets_skipped_total", NULL);
  s->other_kib = s->rss_kib - s->state_kib;
  s->cases = metric(text, "cxpulse_open_cases", NULL);
  free(text);
  return 0;
}

/* The daemon's log: lines, warnings and errors (logfmt's level=). */
static void log_summary(const char *path) {
  FILE *f = fopen(path, "r");
  if (f == NULL) return;
  char line[4096];
  int lines = 0, warn = 0, err = 0;
  while (fgets(line, sizeof line, f)) {
    lines++;
    if (strstr(line, "level=warn")) warn++;
    if (strstr(line, "level=error")) err++;
  }
  fclose(f);
  printf("daemon log: %d lines, %d warnings, %d errors (%s)\n", lines, warn, err, path);
}

static int usage(void) {
  fprintf(stderr,
          "usage: soak [--minutes M] [--rate N] [--event-rate R] [--partitions N]\n"
          "            [--customers N] [--sample-s S] [--seed N] [--pipeline FILE]\n"
          "            [--cxpulse PATH] [--keep]\n");
  return 2;
}

int main(int argc, char **argv) {
  static const struct option opts[] = {{"cxpulse", required_argument, NULL, 'x'},
                                       {"minutes", required_argument, NULL, 'm'},
                                       {"rate", required_argument, NULL, 'r'},
                                       {"event-rate", required_argument, NULL, 'e'},
                                       {"partitions", required_argument, NULL, 'p'},
                                       {"customers", required_argument, NULL, 'c'},
                                       {"sample-s", required_argument, NULL, 's'},
                                       {"seed", required_argument, NULL, 'S'},
                                       {"pipeline", required_argument, NULL, 'P'},
                                       {"keep", no_argument, NULL, 'k'},
                                       {NULL, 0, NULL, 0}};
  char cxpulse[PATH_MAX] = "",
       pipeline[PATH_MAX] = CXP_SOURCE_DIR "/pipelines/default.json";
  double minutes = 30, rate = 2000, event_rate = 50, sample_s = 10;
  int partitions = 8, keep = 0, ch;
  long customers = 100000;
  uint64_t seed = 42;
  while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (ch) {
    case 'x': snprintf(cxpulse, sizeof cxpulse, "%s", optarg); break;
    case 'm': minutes = atof(optarg); break;
    case 'r': rate = atof(optarg); break;
    case 'e': event_rate = atof(optarg); break;
    case 'p': partitions = atoi(optarg); break;
    case 'c': customers = atol(optarg); break;
    case 's': sample_s = atof(optarg); break;
    case 'S': seed = strtoull(optarg, NULL, 10); break;
    case 'P':
      if (realpath(optarg, pipeline) == NULL) {
        fprintf(stderr, "soak: --pipeline %s: %s\n", optarg, strerror(errno));
        return 2;
      }
      break;
    case 'k': keep = 1; break;
    default: return usage();
    }
  }
  if (optind != argc || !(minutes > 0) || !(rate > 0 && rate <= 1e6) || !(event_rate > 0) ||
      partitions < 1 || partitions > 1024 || customers < 1 || customers > 100000000 ||
      !(sample_s >= 1))
    return usage();
  /* By default the daemon is the one built next to this binary. */
  if (cxpulse[0] == '\0') {
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n < 0) return perror("soak: /proc/self/exe"), 2;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    snprintf(cxpulse, sizeof cxpulse, "%.*s/cxpulse", (int)(slash - self), self);
  }
  if (access(cxpulse, X_OK) != 0) {
    fprintf(stderr, "soak: %s: %s (--cxpulse PATH)\n", cxpulse, strerror(errno));
    return 2;
  }
  /* The topics the mock cluster must hold with the input's partition count
   * are the pipeline's own. */
  char err[512];
  cxp_pipeline *pl = malloc(sizeof *pl);
  if (pl == NULL || cxp_pipeline_load(pl, pipeline, err, sizeof err) != 0) {
    fprintf(stderr, "soak: %s\n", pl ? err : "out of memory");
    return 2;
  }

  char dir[] = "/tmp/cxpulse-soak-XXXXXX", conf_path[PATH_MAX], dlog[PATH_MAX],
       mlog[PATH_MAX];
  if (mkdtemp(dir) == NULL) return perror("soak: mkdtemp"), 2;
  snprintf(conf_path, sizeof conf_path, "%s/cxpulse.json", dir);
  snprintf(dlog, sizeof dlog, "%s/cxpulse.log", dir);
  snprintf(mlog, sizeof mlog, "%s/mock-cluster.log", dir);
  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  /* The mock cluster prints its bootstrap servers on its first line. */
  char t_in[300], t_rep[300], t_chg[300];
  snprintf(t_in, sizeof t_in, "%s:%d", pl->topic_input, partitions);
  snprintf(t_rep, sizeof t_rep, "%s:%d", pl->topic_repartition, partitions);
  snprintf(t_chg, sizeof t_chg, "%s:%d", pl->topic_changelog, partitions);
  char *margv[] = {cxpulse, "mock-cluster", "--topic", t_in, "--topic",
                   t_rep,   "--topic",      t_chg,     NULL};
  int pfd[2];
  /* Close-on-exec ("e"): the children get only the descriptors spawn() gives
   * them, so the daemon's count of open descriptors is its own. */
  FILE *mlog_f = fopen(mlog, "we"), *dlog_f = fopen(dlog, "we");
  if (mlog_f == NULL || dlog_f == NULL || pipe2(pfd, O_CLOEXEC) != 0)
    return perror("soak"), 2;
  pid_t mock = spawn(margv, pfd[1], fileno(mlog_f));
  close(pfd[1]);
  FILE *mout = fdopen(pfd[0], "r");
  char bootstrap[512] = "";
  if (mock < 0 || mout == NULL || fgets(bootstrap, sizeof bootstrap, mout) == NULL) {
    fprintf(stderr, "soak: the mock cluster printed no bootstrap servers (%s)\n", mlog);
    return 2;
  }
  bootstrap[strcspn(bootstrap, "\r\n")] = '\0';

  int port = free_port();
  cJSON *conf = cJSON_CreateObject();
  cJSON_AddStringToObject(conf, "pipeline", pipeline);
  cJSON_AddStringToObject(cJSON_AddObjectToObject(conf, "log"), "format", "logfmt");
  cJSON_AddNumberToObject(cJSON_AddObjectToObject(conf, "stats"), "interval_s", 30);
  cJSON_AddNumberToObject(cJSON_AddObjectToObject(conf, "http"), "port", port);
  cJSON_AddStringToObject(cJSON_AddObjectToObject(conf, "kafka"), "bootstrap.servers",
                          bootstrap);
  char *conf_text = cJSON_Print(conf);
  FILE *cf = fopen(conf_path, "w");
  if (port < 0 || conf_text == NULL || cf == NULL || fputs(conf_text, cf) < 0 ||
      fclose(cf) != 0) {
    fprintf(stderr, "soak: writing %s failed\n", conf_path);
    return 2;
  }
  cJSON_free(conf_text);
  cJSON_Delete(conf);

  int rc = 0;
  char st_text[128];
  char *dargv[] = {cxpulse, "run", "--config", conf_path, NULL};
  double t_spawn = now_s();
  pid_t daemon = spawn(dargv, fileno(dlog_f), fileno(dlog_f));
  printf("soak: daemon %s (pid %d), mock cluster %s (pid %d), admin port %d, dir %s\n",
         cxpulse, (int)daemon, bootstrap, (int)mock, port, dir);

  /* Ready means partitions assigned and their (empty) state restored. */
  int ready = 0, st = 0, dead = 0;
  while (!ready && !interrupted && now_s() - t_spawn < 60) {
    if (waitpid(daemon, &st, WNOHANG) == daemon) {
      dead = 1;
      break;
    }
    ready = http_get(port, "/readyz", NULL) == 200;
    if (!ready) usleep(200000);
  }
  if (!ready) {
    if (dead) describe_status(st, st_text, sizeof st_text);
    printf("soak: the daemon did not become ready%s\n", interrupted ? " (interrupted)"
                                                        : dead      ? ""
                                                                    : " within 60 s");
    if (dead) printf("soak: the daemon exited: %s\n", st_text);
    rc = 1;
    keep = 1;
    goto stop;
  }
  printf("soak: ready after %.1f s\n", now_s() - t_spawn);

  rd_kafka_conf_t *pc = rd_kafka_conf_new();
  /* A queue of two seconds of traffic: if the mock broker cannot take the
   * rate, production falls short (reported) instead of piling up here.
   * Batches of 100 ms: the mock broker finds a fetch's offset by walking
   * its partition's list of batches, so at librdkafka's 5 ms (a batch or
   * two per event at these rates) its CPU grows with the log until it
   * fills a core (after about 2 minutes at 1000/s over 8 partitions) and
   * the lag measured is the broker's, not the daemon's. */
  char qmax[32];
  snprintf(qmax, sizeof qmax, "%.0f", fmax(10000, 2 * rate));
  if (rd_kafka_conf_set(pc, "bootstrap.servers", bootstrap, err, sizeof err) ||
      rd_kafka_conf_set(pc, "linger.ms", "100", err, sizeof err) ||
      rd_kafka_conf_set(pc, "queue.buffering.max.messages", qmax, err, sizeof err)) {
    fprintf(stderr, "soak: producer: %s\n", err);
    return 2;
  }
  rd_kafka_conf_set_dr_msg_cb(pc, on_delivery);
  rd_kafka_t *prod = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof err);
  if (prod == NULL) {
    fprintf(stderr, "soak: producer: %s\n", err);
    return 2;
  }
  rd_kafka_topic_t *topic = rd_kafka_topic_new(prod, pl->topic_input, NULL);
  cxp_gen_opts go;
  cxp_gen_opts_default(&go);
  go.seed = seed;
  go.customers = (uint32_t)customers;
  go.events_per_sec = event_rate;
  double span_ms = minutes * 60.0 * rate / event_rate * 1000.0;
  go.start_ms = (int64_t)time(NULL) * 1000 - (int64_t)span_ms;
  cxp_gen *gen = cxp_gen_create(&go);

  int cap = (int)(minutes * 60 / sample_s) + 4, n = 0;
  sample *s = calloc((size_t)cap, sizeof *s);
  if (gen == NULL || s == NULL) return fprintf(stderr, "soak: out of memory\n"), 2;
  printf("soak: %.0f events/s for %.1f min over %d partitions, %ld customers, seed %" PRIu64
         ", event time %.0f/s (%.1f h); a sample every %.0f s\n",
         rate, minutes, partitions, customers, seed, event_rate, span_ms / 3.6e6, sample_s);
  printf("%7s %9s %5s %8s %8s %10s %10s %9s %9s %7s %6s %6s\n", "t_s", "rss_kib", "fds",
         "lag", "lag_max", "consumed", "produced", "customers", "state_kib", "cases",
         "cpu%", "mock%");
  double t0 = now_s(), next_sample = t0, bytes = 0;
  uint64_t produced = 0, queue_full = 0;
  int warned_retention = 0, pending = 0;
  char buf[2048], key[64];
  size_t len = 0, klen = 0;
  /* Every 10 ms, what the rate asks for since the start: a tick the machine
   * delays is made up at the next, so the rate holds on average. */
  while (!interrupted) {
    double now = now_s(), el = now - t0;
    if (now >= next_sample && n < cap) {
      take_sample(daemon, mock, port, &s[n]);
      s[n].t_s = el;
      print_sample(&s[n], n ? &s[n - 1] : NULL);
      double avg = produced ? bytes / (double)produced : 0;
      if (!warned_retention && s[n].lag_max * avg > 0.8 * RETENTION_BYTES) {
        printf(
            "soak: a partition's lag (%.0f events, %.1f MiB) is near the mock broker's "
            "5 MiB retention: unread input is about to be deleted\n",
            s[n].lag_max, s[n].lag_max * avg / 1048576.0);
        warned_retention = 1;
      }
      n++;
      next_sample += sample_s;
    }
    if (el >= minutes * 60) break;
    if (waitpid(daemon, &st, WNOHANG) == daemon) {
      dead = 1;
      break;
    }
    for (uint64_t due = (uint64_t)(el * rate); produced < due;) {
      /* An event the full queue refused is offered again next tick, so the
       * stream is the generator's, whole. */
      if (!pending) len = cxp_gen_next(gen, buf, sizeof buf, key, sizeof key, &klen);
      pending = 1;
      if (len >= sizeof buf) { /* never: the generator's events are under 1 KiB */
        fprintf(stderr, "soak: a generated event of %zu bytes\n", len);
        exit(2);
      }
      if (rd_kafka_produce(topic, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, buf, len,
                           klen ? key : NULL, klen, NULL) == -1) {
        queue_full++;
        break;
      }
      pending = 0;
      produced++;
      bytes += (double)len;
    }
    rd_kafka_poll(prod, 0);
    usleep(10000);
  }
  double prod_s = now_s() - t0;
  if (interrupted) printf("soak: interrupted after %.0f s of production\n", prod_s);
  rd_kafka_flush(prod, 10000);
  printf("soak: produced %" PRIu64 " events in %.1f s (%.0f/s, %.0f bytes each), %" PRIu64
         " delivered, %" PRIu64 " failed, %" PRIu64 " refused by a full queue\n",
         produced, prod_s, (double)produced / prod_s,
         produced ? bytes / (double)produced : 0, delivered, delivery_failed, queue_full);

  /* Let the daemon finish what it was sent, so that consumed can be held
   * against delivered. */
  sample fin = {0};
  for (double until = now_s() + 60; !dead;) {
    if (waitpid(daemon, &st, WNOHANG) == daemon) {
      dead = 1;
      break;
    }
    int ok = take_sample(daemon, mock, port, &fin) == 0;
    double skipped = ok && fin.skipped > 0 ? fin.skipped : 0;
    if ((ok && fin.consumed + skipped >= (double)delivered) || now_s() >= until) break;
    usleep(250000);
  }
  if (dead) {
    describe_status(st, st_text, sizeof st_text);
    printf("soak: the daemon died during the run: %s\n", st_text);
    rc = 1;
    keep = 1;
  }

  int from = 0;
  while (from < n && s[from].t_s < 0.2 * prod_s) from++;
  printf(
      "soak: slopes over %d samples from t=%.0f s (the first 20%% of the run is "
      "warm-up):\n",
      n - from, from < n ? s[from].t_s : 0.0);
  if (n > 0) {
    const sample *a = &s[from < n ? from : 0], *z = &s[n - 1];
    printf("  rss        %+10.1f KiB/min   (%.0f -> %.0f KiB; first sample %.0f)\n",
           slope(s, from, n, offsetof(sample, rss_kib)), a->rss_kib, z->rss_kib,
           s[0].rss_kib);
    printf("  state      %+10.1f KiB/min   (%.0f -> %.0f KiB, customers %.0f -> %.0f)\n",
           slope(s, from, n, offsetof(sample, state_kib)), a->state_kib, z->state_kib,
           a->customers, z->customers);
    printf("  rss-state  %+10.1f KiB/min   (%.0f -> %.0f KiB)\n",
           slope(s, from, n, offsetof(sample, other_kib)), a->other_kib, z->other_kib);
    printf("  open cases %+10.1f /min       (%.0f -> %.0f)\n",
           slope(s, from, n, offsetof(sample, cases)), a->cases, z->cases);
    printf("  fds        %+10.2f /min       (%.0f -> %.0f; first sample %.0f)\n",
           slope(s, from, n, offsetof(sample, fds)), a->fds, z->fds, s[0].fds);
    printf(
        "  lag        %+10.1f msgs/min  (%.0f -> %.0f; largest partition at the end "
        "%.0f)\n",
        slope(s, from, n, offsetof(sample, lag)), a->lag, z->lag, z->lag_max);
  }
  if (!dead) {
    printf("soak: produced %" PRIu64
           " (delivered), consumed %.0f, lost to retention %.0f, "
           "rss at the end %.0f KiB, fds %.0f\n",
           delivered, fin.consumed, fin.skipped, fin.rss_kib, fin.fds);
    if (fin.skipped > 0 || !(fin.consumed >= (double)delivered)) {
      printf("soak: the daemon did not consume all it was sent%s\n",
             fin.skipped > 0 ? ": it fell behind the mock broker's retention" : "");
      rc = 3;
    }
  }
  rd_kafka_topic_destroy(topic);
  rd_kafka_destroy(prod);
  cxp_gen_destroy(gen);
  free(s);

stop:
  /* SIGTERM: the daemon drains its outputs, commits, leaves the group. Its
   * shutdown.timeout_ms (10 s) plus 2 s bounds it; 20 s is a failure. */
  if (!dead) {
    double t_term = now_s();
    kill(daemon, SIGTERM);
    if (wait_for(daemon, 20, &st)) {
      describe_status(st, st_text, sizeof st_text);
      printf("soak: the daemon stopped in %.2f s: %s\n", now_s() - t_term, st_text);
      if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) rc = 1;
    } else {
      printf("soak: the daemon did not stop within 20 s of SIGTERM: killed\n");
      kill(daemon, SIGKILL);
      waitpid(daemon, &st, 0);
      rc = 1;
    }
  }
  if (rc != 0) keep = 1; /* the logs say why */
  kill(mock, SIGTERM);
  if (!wait_for(mock, 5, &st)) {
    kill(mock, SIGKILL);
    waitpid(mock, &st, 0);
  }
  fclose(mout);
  fclose(mlog_f);
  fclose(dlog_f);
  log_summary(dlog);
  if (keep) {
    printf("soak: kept %s\n", dir);
  } else {
    unlink(conf_path);
    unlink(dlog);
    unlink(mlog);
    rmdir(dir);
  }
  free(pl);
  return rc;
}
