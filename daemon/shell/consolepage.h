/* The operations console's page: the page, its stylesheet and its script,
 * served from the binary (cmake/embed.cmake turns daemon/shell/console/
 * into C arrays at build time, so the page works offline and needs no
 * files installed). The /v1 routes it reads are admin.c's.
 *
 *   GET /             the page (console/index.html)
 *   GET /console.css  its stylesheet
 *   GET /console.js   its script: it polls the /v1 routes and renders them
 *
 * The files hold no data and are served without the bearer token; the
 * script asks for the token when a /v1 route answers 401 and sends it with
 * every request after that. A strict Content-Security-Policy allows only
 * these files and requests to this origin: no inline script or style, no
 * other site. */
#ifndef CXP_CONSOLEPAGE_H
#define CXP_CONSOLEPAGE_H

#include "http.h"

/* Fills in the response and returns 1 when the request's path is one of
 * the console's files; returns 0, the response untouched, otherwise. */
int cxp_consolepage_serve(const cxp_http_request *req, cxp_http_response *res);

#endif
