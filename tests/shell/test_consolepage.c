/* The console's files (consolepage.c) through the HTTP server's feed entry:
 * each path's status, content type, the headers every one of them carries,
 * the bytes embedded from daemon/shell/console/, HEAD, and the paths that
 * are not the console's left to the caller. */
#include "test.h"

#include <string.h>

#include "consolepage.h"
#include "http.h"
#include "jsonw.h"

static void handler(void *opaque, const cxp_http_request *req, cxp_http_response *res) {
  if (!cxp_consolepage_serve(req, res)) {
    res->status = 404;
    cxp_buf_puts(res->body, "not the console's\n");
  }
}

/* The response to one request line, whole, into out (reset first). */
static void ask(const char *request, cxp_buf *out) {
  cxp_buf_reset(out);
  cxp_http_feed(NULL, handler, NULL, request, strlen(request), 0, out);
  cxp_buf_putc(out, '\0');
}

static void files(void) {
  static const struct {
    const char *path, *type, *start;
  } cases[] = {
      {"/", "text/html; charset=utf-8", "<!DOCTYPE html>"},
      {"/index.html", "text/html; charset=utf-8", "<!DOCTYPE html>"},
      {"/console.css", "text/css; charset=utf-8", "/* The cxpulse console"},
      {"/console.js", "text/javascript; charset=utf-8", "/* The cxpulse console"},
  };
  cxp_buf out;
  cxp_buf_init(&out);
  char req[128], line[128];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    test_ctx = cases[i].path;
    snprintf(req, sizeof req, "GET %s?x=1 HTTP/1.1\r\nHost: a\r\n\r\n", cases[i].path);
    ask(req, &out);
    CHECK_PREFIX(out.p, "HTTP/1.1 200 OK\r\n");
    snprintf(line, sizeof line, "\r\nContent-Type: %s\r\n", cases[i].type);
    CHECK_CONTAINS(out.p, line);
    CHECK_CONTAINS(out.p, "\r\nCache-Control: no-cache\r\n");
    CHECK_CONTAINS(out.p, "\r\nContent-Security-Policy: default-src 'none'; script-src 'self'; "
                          "style-src 'self'; img-src 'self'; connect-src 'self'; "
                          "base-uri 'none'; form-action 'none'; frame-ancestors 'none'\r\n");
    CHECK_CONTAINS(out.p, "\r\nX-Content-Type-Options: nosniff\r\n");
    const char *body = strstr(out.p, "\r\n\r\n");
    CHECK(body != NULL);
    if (body) CHECK_PREFIX(body + 4, cases[i].start);
  }
  /* The page loads its own two files and nothing inline. */
  ask("GET / HTTP/1.1\r\nHost: a\r\n\r\n", &out);
  CHECK_CONTAINS(out.p, "<link rel=\"stylesheet\" href=\"/console.css\">");
  CHECK_CONTAINS(out.p, "<script src=\"/console.js\" defer></script>");
  CHECK_NOT_CONTAINS(out.p, "<style");
  CHECK_NOT_CONTAINS(out.p, "style=");
  CHECK_NOT_CONTAINS(out.p, "onclick");
  test_ctx = NULL;

  /* HEAD: the same headers, no body. */
  ask("HEAD /console.js HTTP/1.1\r\nHost: a\r\n\r\n", &out);
  CHECK_PREFIX(out.p, "HTTP/1.1 200 OK\r\n");
  CHECK_CONTAINS(out.p, "\r\nContent-Type: text/javascript; charset=utf-8\r\n");
  const char *end = strstr(out.p, "\r\n\r\n");
  CHECK(end != NULL && end[4] == '\0');

  /* Other paths are the caller's: untouched, its 404 and no console header. */
  static const char *const others[] = {"/console", "/console.js/", "/index.htm", "/v1/",
                                       "//", "/console.jsx"};
  for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
    test_ctx = others[i];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: a\r\n\r\n", others[i]);
    ask(req, &out);
    CHECK_PREFIX(out.p, "HTTP/1.1 404 Not Found\r\n");
    CHECK_NOT_CONTAINS(out.p, "Content-Security-Policy");
    CHECK_CONTAINS(out.p, "\r\n\r\nnot the console's\n");
  }
  test_ctx = NULL;
  cxp_buf_free(&out);
}

int main(void) {
  files();
  return TEST_REPORT();
}
