/* `cxpulse mock-cluster`: librdkafka's mock cluster in its own process. */
#ifndef CXP_MOCK_H
#define CXP_MOCK_H

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

typedef struct cxp_mock {
  rd_kafka_t *rk; /* owns the mock cluster */
  rd_kafka_mock_cluster_t *mc;
  char bootstraps[512];
} cxp_mock;

/* Starts a mock cluster of `brokers` brokers. Returns 0 or -1 with err. */
int cxp_mock_start(cxp_mock *m, int brokers, char *err, size_t errlen);
/* Creates a topic; 0 or -1. */
int cxp_mock_topic(cxp_mock *m, const char *name, int partitions);
void cxp_mock_stop(cxp_mock *m);

int cxp_mock_main(int argc, char **argv);

#endif
