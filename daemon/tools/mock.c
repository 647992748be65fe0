/* librdkafka's mock cluster, in this process: one thread serves every mock
 * broker over real TCP sockets on loopback, with ports the kernel chooses. */
#include "mock.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka_mock.h>

#include "log.h"

int cxp_mock_start(cxp_mock *m, int brokers, char *err, size_t errlen) {
  char e[256];
  memset(m, 0, sizeof *m);
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  /* The handle only owns the cluster; keep it quiet. */
  if (rd_kafka_conf_set(conf, "log_level", "3", e, sizeof e) != RD_KAFKA_CONF_OK) {
    snprintf(err, errlen, "%s", e);
    rd_kafka_conf_destroy(conf);
    return -1;
  }
  /* conf ownership moves to rk on success. */
  m->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof e);
  if (m->rk == NULL) {
    snprintf(err, errlen, "rd_kafka_new: %s", e);
    rd_kafka_conf_destroy(conf);
    return -1;
  }
  m->mc = rd_kafka_mock_cluster_new(m->rk, brokers);
  if (m->mc == NULL) {
    snprintf(err, errlen, "rd_kafka_mock_cluster_new failed");
    rd_kafka_destroy(m->rk);
    m->rk = NULL;
    return -1;
  }
  snprintf(m->bootstraps, sizeof m->bootstraps, "%s", rd_kafka_mock_cluster_bootstraps(m->mc));
  return 0;
}

int cxp_mock_topic(cxp_mock *m, const char *name, int partitions) {
  rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(m->mc, name, partitions, 1);
  if (e) {
    cxp_error("mock", "creating topic %s: %s", name, rd_kafka_err2str(e));
    return -1;
  }
  return 0;
}

void cxp_mock_stop(cxp_mock *m) {
  if (m->mc) rd_kafka_mock_cluster_destroy(m->mc);
  if (m->rk) rd_kafka_destroy(m->rk);
  m->mc = NULL;
  m->rk = NULL;
}

static volatile sig_atomic_t stop_requested;
static void on_signal(int sig) { (void)sig; stop_requested = 1; }

int cxp_mock_main(int argc, char **argv) {
  static const struct option opts[] = {{"brokers", required_argument, NULL, 'b'},
                                       {"topic", required_argument, NULL, 't'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  int brokers = 1, ch, ntopics = 0;
  char *topics[64];
  optind = 1;
  while ((ch = getopt_long(argc, argv, "b:t:h", opts, NULL)) != -1) {
    switch (ch) {
    case 'b':
      brokers = atoi(optarg);
      if (brokers < 1 || brokers > 16) {
        fprintf(stderr, "cxpulse mock-cluster: --brokers takes 1..16\n");
        return 2;
      }
      break;
    case 't':
      if (ntopics == 64) {
        fprintf(stderr, "cxpulse mock-cluster: at most 64 topics\n");
        return 2;
      }
      topics[ntopics++] = optarg;
      break;
    case 'h':
      printf("usage: cxpulse mock-cluster [--brokers N] [--topic NAME:PARTITIONS]...\n"
             "  Prints the bootstrap servers on one line, then serves until SIGTERM or\n"
             "  SIGINT. Topics not created here are created on first use (1 partition).\n");
      return 0;
    default: return 2;
    }
  }
  char err[256];
  cxp_mock m;
  if (cxp_mock_start(&m, brokers, err, sizeof err)) {
    fprintf(stderr, "cxpulse mock-cluster: %s\n", err);
    return 1;
  }
  for (int i = 0; i < ntopics; i++) {
    char name[256];
    int parts = 1;
    const char *colon = strrchr(topics[i], ':');
    if (colon) {
      parts = atoi(colon + 1);
      snprintf(name, sizeof name, "%.*s", (int)(colon - topics[i]), topics[i]);
    } else {
      snprintf(name, sizeof name, "%s", topics[i]);
    }
    if (parts < 1 || name[0] == '\0' || cxp_mock_topic(&m, name, parts)) {
      fprintf(stderr, "cxpulse mock-cluster: bad --topic '%s'\n", topics[i]);
      cxp_mock_stop(&m);
      return 2;
    }
  }
  /* Block the signals until sigsuspend, so one that arrives between the
   * test and the wait is not lost. */
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  sigprocmask(SIG_BLOCK, &block, &old);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  printf("%s\n", m.bootstraps);
  fflush(stdout);
  /* The mock's own thread does the work; this one only waits for a signal
   * (there is no event loop here to block). */
  while (!stop_requested) sigsuspend(&old);
  cxp_info("mock", "stopping");
  cxp_mock_stop(&m);
  return 0;
}
