#include "consolepage.h"

#include <string.h>

/* The files' bytes, generated from daemon/shell/console/ at build time. */
extern const unsigned char cxp_console_index_html[], cxp_console_css[], cxp_console_js[];
extern const size_t cxp_console_index_html_len, cxp_console_css_len, cxp_console_js_len;

/* Every response of the console's: no caching without asking again (an
 * upgraded daemon serves its own script at once), the policy that lets the
 * page load only its own files and talk only to this origin, no framing,
 * no MIME sniffing, no referrer sent along. */
#define CONSOLE_HEADERS                                                                     \
  "Cache-Control: no-cache\r\n"                                                             \
  "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; "     \
  "img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; "              \
  "frame-ancestors 'none'\r\n"                                                              \
  "X-Content-Type-Options: nosniff\r\n"                                                     \
  "X-Frame-Options: DENY\r\n"                                                               \
  "Referrer-Policy: no-referrer\r\n"

static const struct {
  const char *path;
  const char *content_type;
  const unsigned char *bytes;
  const size_t *len;
} files[] = {
    {"/", "text/html; charset=utf-8", cxp_console_index_html, &cxp_console_index_html_len},
    {"/index.html", "text/html; charset=utf-8", cxp_console_index_html,
     &cxp_console_index_html_len},
    {"/console.css", "text/css; charset=utf-8", cxp_console_css, &cxp_console_css_len},
    {"/console.js", "text/javascript; charset=utf-8", cxp_console_js, &cxp_console_js_len},
};

int cxp_consolepage_serve(const cxp_http_request *req, cxp_http_response *res) {
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    if (strcmp(req->path, files[i].path) != 0) continue;
    res->status = 200;
    res->content_type = files[i].content_type;
    res->headers = CONSOLE_HEADERS;
    cxp_buf_put(res->body, files[i].bytes, *files[i].len);
    return 1;
  }
  return 0;
}
