/* The admin endpoint's routes: what an SRE and other services ask
 * a running daemon. Served by http.c on the daemon's loop, synchronously:
 * every answer is built from the daemon's own counters and state, without
 * I/O.
 *
 *   GET /healthz             200 while the loop runs (it is what answers)
 *   GET /readyz              200 once partitions are assigned and consumption
 *                            runs; 503 with the reason otherwise
 *   GET /metrics             Prometheus text exposition (format 0.0.4)
 *   GET /v1/status           partitions, counters, memory, as JSON
 *   GET /v1/customers/{id}   one customer's indicators and cases; 404 when
 *                            this instance does not hold him
 * The /v1 routes need "Authorization: Bearer <http.token>" when a token is
 * configured. */
#ifndef CXP_ADMIN_H
#define CXP_ADMIN_H

#include "daemon.h"
#include "http.h"

/* The http.c handler; opaque is the cxp_daemon. */
void cxp_admin_handle(void *opaque, const cxp_http_request *req, cxp_http_response *res);

#endif
