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

#endif
