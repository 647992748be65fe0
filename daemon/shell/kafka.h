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

/* What `run` asks of the `kafka` section before it makes a client, asked
 * without making one (so `check-config` refuses what `run` would):
 * bootstrap.servers set, and every key known to librdkafka with a value it
 * takes, for the consumer and the producer alike. 0, or -1 with err naming
 * the key. */
int cxp_kafka_check(const cxp_config *c, const char *file, char *err, size_t errlen);

/* The partition count of a topic from the cluster's metadata, asked through
 * rk (which then knows the topic's leaders): waits up to timeout_ms, so for
 * start-up and tools, never the loop's event callbacks. -1 when the topic
 * does not exist or the cluster did not answer in time. */
int32_t cxp_kafka_topic_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms);

#endif
