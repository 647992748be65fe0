#include "subst.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The expansion being built; bounded, so that a file of many references
 * cannot grow one value without end. */
typedef struct {
  char *p;
  size_t len, cap;
} outbuf;

static int put(outbuf *b, const char *s, size_t n) {
  if (b->len + n > CXP_SUBST_OUT_MAX) return -1;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + n + 1) cap *= 2;
    char *np = realloc(b->p, cap);
    if (np == NULL) return -1;
    b->p = np;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
  return 0;
}

static int is_name_start(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static int is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

/* Appends the content of the file at `path` (what names it in errors:
 * `what`), trailing newlines removed. The content goes nowhere else: not
 * into err, not into a log. */
static int put_file(outbuf *b, const char *path, const char *what, const char *file,
                    const char *key, char *err, size_t errlen) {
  /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
   * writer; it is refused below as not a regular file. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    snprintf(err, errlen, "%s: key '%s': %s: %s", file, key, what, strerror(errno));
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    snprintf(err, errlen, "%s: key '%s': %s: not a regular file", file, key, what);
    close(fd);
    return -1;
  }
  /* One byte more than allowed tells a file at the bound from a larger one,
   * whatever st_size said (a file may grow while it is read). */
  char *buf = malloc(CXP_SUBST_FILE_MAX + 1);
  size_t n = 0;
  int rerr = buf == NULL ? ENOMEM : 0;
  while (buf != NULL && n < CXP_SUBST_FILE_MAX + 1) {
    ssize_t r = read(fd, buf + n, CXP_SUBST_FILE_MAX + 1 - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) rerr = errno;
    if (r <= 0) break;
    n += (size_t)r;
  }
  close(fd);
  int rc = -1;
  if (rerr)
    snprintf(err, errlen, "%s: key '%s': %s: %s", file, key, what, strerror(rerr));
  else if (n > CXP_SUBST_FILE_MAX)
    snprintf(err, errlen, "%s: key '%s': %s: larger than %d bytes", file, key, what,
             CXP_SUBST_FILE_MAX);
  else if (memchr(buf, '\0', n) != NULL)
    snprintf(err, errlen, "%s: key '%s': %s: holds a NUL byte, which a setting cannot", file,
             key, what);
  else {
    /* Files written by editors and `echo` end with a newline that is not
     * part of the secret; CRLF ones too. */
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) n--;
    rc = put(b, buf, n);
    if (rc) snprintf(err, errlen, "%s: key '%s': expands to more than %d bytes", file, key,
                     CXP_SUBST_OUT_MAX);
  }
  if (buf) memset(buf, 0, CXP_SUBST_FILE_MAX + 1);
  free(buf);
  return rc;
}

/* Appends what the reference ${body} (n bytes, without the braces) stands
 * for. */
static int resolve(outbuf *b, const char *body, size_t n, const char *file, const char *key,
                   char *err, size_t errlen) {
  size_t i = 0;
  while (i < n && is_name_char(body[i])) i++;
  char name[256];
  if (n == 0 || !is_name_start(body[0]) || i >= sizeof name ||
      (i < n && body[i] != ':')) {
    snprintf(err, errlen,
             "%s: key '%s': '${%.*s}' is not a reference: ${NAME}, ${NAME:-default}, "
             "${file:/path} or ${credential:NAME}, NAME of letters, digits and '_' not "
             "starting with a digit",
             file, key, n > 64 ? 64 : (int)n, body);
    return -1;
  }
  memcpy(name, body, i);
  name[i] = '\0';
  const char *arg = body + i + 1; /* after the ':' */
  size_t alen = i < n ? n - i - 1 : 0;
  const char *v = NULL;
  if (i == n) {
    v = getenv(name);
    if (v == NULL) {
      snprintf(err, errlen,
               "%s: key '%s': environment variable %s is not set (${%s:-default} gives a "
               "default)",
               file, key, name, name);
      return -1;
    }
  } else if (alen > 0 && arg[0] == '-') {
    /* As the shell's ${NAME:-default}: unset or empty takes the default. */
    v = getenv(name);
    if (v == NULL || v[0] == '\0') {
      if (put(b, arg + 1, alen - 1)) goto big;
      return 0;
    }
  } else if (strcmp(name, "file") == 0) {
    char path[4096];
    if (alen == 0 || arg[0] != '/' || alen >= sizeof path) {
      snprintf(err, errlen, "%s: key '%s': '${file:%.*s}' needs an absolute path", file, key,
               alen > 64 ? 64 : (int)alen, arg);
      return -1;
    }
    memcpy(path, arg, alen);
    path[alen] = '\0';
    char what[4200];
    snprintf(what, sizeof what, "file '%s'", path);
    return put_file(b, path, what, file, key, err, errlen);
  } else if (strcmp(name, "credential") == 0) {
    /* systemd's credential names are file names in one directory. */
    if (alen == 0 || alen > 255 || memchr(arg, '/', alen) != NULL ||
        (alen == 1 && arg[0] == '.') || (alen == 2 && arg[0] == '.' && arg[1] == '.')) {
      snprintf(err, errlen,
               "%s: key '%s': '${credential:%.*s}': a credential name is a file name "
               "(no '/', not . or ..)",
               file, key, alen > 64 ? 64 : (int)alen, arg);
      return -1;
    }
    const char *dir = getenv("CREDENTIALS_DIRECTORY");
    if (dir == NULL || dir[0] == '\0') {
      snprintf(err, errlen,
               "%s: key '%s': credential '%.*s': CREDENTIALS_DIRECTORY is not set (systemd "
               "sets it for a unit with LoadCredential=)",
               file, key, (int)alen, arg);
      return -1;
    }
    char path[4096], what[4400];
    if ((size_t)snprintf(path, sizeof path, "%s/%.*s", dir, (int)alen, arg) >= sizeof path) {
      snprintf(err, errlen, "%s: key '%s': credential '%.*s': path too long", file, key,
               (int)alen, arg);
      return -1;
    }
    snprintf(what, sizeof what, "credential '%.*s' (%s)", (int)alen, arg, path);
    return put_file(b, path, what, file, key, err, errlen);
  } else {
    snprintf(err, errlen,
             "%s: key '%s': '${%.*s}': unknown reference '%s:' (file: or credential:; "
             "${NAME:-default} for a default)",
             file, key, n > 64 ? 64 : (int)n, body, name);
    return -1;
  }
  if (put(b, v, strlen(v)) == 0) return 0;
big:
  snprintf(err, errlen, "%s: key '%s': expands to more than %d bytes", file, key,
           CXP_SUBST_OUT_MAX);
  return -1;
}

int cxp_subst_string(const char *in, const char *file, const char *key, char **out, int *refs,
                     char *err, size_t errlen) {
  outbuf b = {NULL, 0, 0};
  *out = NULL;
  *refs = 0;
  if (put(&b, "", 0)) goto oom;
  for (const char *s = in; *s;) {
    if (s[0] == '$' && s[1] == '$' && s[2] == '{') {
      if (put(&b, "${", 2)) goto big;
      s += 3;
    } else if (s[0] == '$' && s[1] == '{') {
      const char *end = strchr(s + 2, '}');
      if (end == NULL) {
        snprintf(err, errlen, "%s: key '%s': '%.64s' has no closing '}' (a literal ${ is "
                 "written $${)", file, key, s);
        goto fail;
      }
      if (resolve(&b, s + 2, (size_t)(end - s - 2), file, key, err, errlen)) goto fail;
      *refs = 1;
      s = end + 1;
    } else {
      if (put(&b, s, 1)) goto big;
      s++;
    }
  }
  *out = b.p;
  return 0;
oom:
  snprintf(err, errlen, "%s: key '%s': out of memory", file, key);
  goto fail;
big:
  snprintf(err, errlen, "%s: key '%s': expands to more than %d bytes", file, key,
           CXP_SUBST_OUT_MAX);
fail:
  /* What was expanded so far may hold a secret: it is not left in freed
   * memory. */
  if (b.p) memset(b.p, 0, b.cap);
  free(b.p);
  *refs = 0;
  return -1;
}

static int walk(cJSON *node, const char *prefix, const char *file, cxp_subst_fn fn, void *arg,
                char *err, size_t errlen) {
  cJSON *it;
  cJSON_ArrayForEach(it, node) {
    char key[256];
    /* An array's elements are named by the array's key. */
    if (cJSON_IsArray(node) || it->string == NULL)
      snprintf(key, sizeof key, "%s", prefix);
    else if (prefix[0])
      snprintf(key, sizeof key, "%s.%s", prefix, it->string);
    else
      snprintf(key, sizeof key, "%s", it->string);
    if (cJSON_IsObject(it) || cJSON_IsArray(it)) {
      if (walk(it, key, file, fn, arg, err, errlen)) return -1;
      continue;
    }
    /* Without "${" there is neither a reference nor an escape. */
    if (!cJSON_IsString(it) || strstr(it->valuestring, "${") == NULL) continue;
    char *out, *raw = NULL;
    int refs;
    if (cxp_subst_string(it->valuestring, file, key, &out, &refs, err, errlen)) return -1;
    if (refs && (raw = strdup(it->valuestring)) == NULL) {
      free(out);
      snprintf(err, errlen, "%s: key '%s': out of memory", file, key);
      return -1;
    }
    int rc = cJSON_SetValuestring(it, out) == NULL ? -1 : 0;
    memset(out, 0, strlen(out));
    free(out);
    if (rc)
      snprintf(err, errlen, "%s: key '%s': out of memory", file, key);
    else if (refs && fn)
      rc = fn(arg, key, raw, it->valuestring, err, errlen);
    free(raw);
    if (rc) return -1;
  }
  return 0;
}

int cxp_subst_json(cJSON *root, const char *file, cxp_subst_fn fn, void *arg, char *err,
                   size_t errlen) {
  return walk(root, "", file, fn, arg, err, errlen);
}
