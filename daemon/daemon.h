/* `cxpulse run`: the daemon. */
#ifndef CXP_DAEMON_H
#define CXP_DAEMON_H

#include "config.h"
#include "pipeline.h"

int cxp_daemon_main(int argc, char **argv);
/* Adds the librdkafka settings the daemon prefers over librdkafka's defaults
 * (group id, throughput, delivery guarantees) where the file set none. */
void cxp_daemon_kafka_defaults(cxp_config *c, const cxp_pipeline *p);

#endif
