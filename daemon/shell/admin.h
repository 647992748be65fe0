/* The admin endpoint's routes: what an SRE and other services ask
 * a running daemon. Served by http.c on the daemon's loop, synchronously:
 * every answer is built from the daemon's own counters and state, without
 * I/O.
 *
 *   GET /                    the operations console's page, /console.css and
 *                            /console.js (consolepage.c; no token needed)
 *   GET /healthz             200 while the loop runs (it is what answers)
 *   GET /readyz              200 once partitions are assigned and consumption
 *                            runs; 503 with the reason otherwise
 *   GET /metrics             Prometheus text exposition (format 0.0.4)
 *   GET /v1/status           partitions, counters, memory, as JSON
 *   GET /v1/customers/{id}   one customer's indicators and cases; 404 when
 *                            this instance does not hold him ({id} is
 *                            percent-decoded)
 *   GET /v1/cases            the console's routes (consoleapi.c), from the
 *   GET /v1/segments         daemon's view of topics.cases, the indicators
 *   GET /v1/alerts           and the alerts (view.h; docs/console.md)
 * The /v1 routes need "Authorization: Bearer <http.token>" when a token is
 * configured. */
#ifndef CXP_ADMIN_H
#define CXP_ADMIN_H

#include "daemon.h"
#include "http.h"

/* The http.c handler; opaque is the cxp_daemon. */
void cxp_admin_handle(void *opaque, const cxp_http_request *req, cxp_http_response *res);

/* consoleapi.c: answers the console's routes; 0 when the path is not one
 * of them. */
int cxp_console_route(cxp_daemon *d, const cxp_http_request *req, cxp_http_response *res);
/* Decodes n bytes of a URL part (%XX; '+' as a space with plus_space) into
 * out, NUL-terminated. 0, or -1 when a %-sequence is malformed, a NUL would
 * be decoded, or the result does not fit in cap. */
int cxp_percent_decode(const char *s, size_t n, int plus_space, char *out, size_t cap);

#endif
