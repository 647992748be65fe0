/* librdkafka client construction from the daemon's configuration. */
#ifndef CXP_KAFKA_H
#define CXP_KAFKA_H

#include <librdkafka/rdkafka.h>

#include "config.h"

/* Builds a configuration for one client from the `kafka` section: keys
 * starting "consumer." or "producer." go to that client only (prefix
 * removed), the others to both. librdkafka's log is routed through cxp_log.
 * Returns NULL with err on an unknown or invalid property, naming it. */
rd_kafka_conf_t *cxp_kafka_conf(const cxp_config *c, rd_kafka_type_t type,
                                const char *file, char *err, size_t errlen);

/* The consumer's and the producer's configurations (cxp_kafka_conf), once
 * bootstrap.servers is known to be set: what `run` builds its clients from
 * and `check-config` asks for (then destroys), so one refuses what the other
 * would. 0, or -1 with err naming the key and nothing to destroy. */
int cxp_kafka_confs(const cxp_config *c, const char *file, rd_kafka_conf_t **consumer,
                    rd_kafka_conf_t **producer, char *err, size_t errlen);

/* The partition count of a topic from the cluster's metadata, asked through
 * rk (which then knows the topic's leaders): waits up to timeout_ms, so for
 * start-up and tools, never the loop's event callbacks. -1 when the topic
 * does not exist or the cluster did not answer in time. */
int32_t cxp_kafka_topic_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms);

#endif
