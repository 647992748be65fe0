#include "notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int cxp_notify_init(cxp_notify *n, const char *name) {
  memset(n, 0, sizeof *n);
  n->fd = -1;
  if (name == NULL || name[0] == '\0') return 0;
  size_t len = strlen(name);
  /* sun_path need not be NUL-terminated for the kernel, but a path must
   * leave room for one so that it reads back as a string. */
  if ((name[0] != '/' && name[0] != '@') || len >= sizeof n->addr.sun_path) return -EINVAL;
  if (name[0] == '@' && len < 2) return -EINVAL;
  n->addr.sun_family = AF_UNIX;
  memcpy(n->addr.sun_path, name, len);
  /* An abstract address starts with a NUL byte and its length is exact: the
   * name is every byte given, with no terminator. */
  if (name[0] == '@') n->addr.sun_path[0] = '\0';
  n->addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (name[0] == '/'));
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -errno;
  n->fd = fd;
  return 0;
}

int cxp_notify_init_env(cxp_notify *n) { return cxp_notify_init(n, getenv("NOTIFY_SOCKET")); }

void cxp_notify_close(cxp_notify *n) {
  if (n->fd >= 0) close(n->fd);
  n->fd = -1;
}

int cxp_notify_enabled(const cxp_notify *n) { return n->fd >= 0; }

int cxp_notify_send(cxp_notify *n, const char *msg, size_t len) {
  if (n->fd < 0) return 0;
  /* The kernel attaches our credentials for systemd's NotifyAccess= check;
   * MSG_NOSIGNAL because a vanished manager must not kill the daemon. */
  ssize_t r = sendto(n->fd, msg, len, MSG_NOSIGNAL | MSG_DONTWAIT,
                     (const struct sockaddr *)&n->addr, n->addrlen);
  if (r < 0) return errno == EWOULDBLOCK ? -EAGAIN : -errno;
  return 0;
}

static int send_lit(cxp_notify *n, const char *s) { return cxp_notify_send(n, s, strlen(s)); }

int cxp_notify_ready(cxp_notify *n) { return send_lit(n, "READY=1"); }
int cxp_notify_stopping(cxp_notify *n) { return send_lit(n, "STOPPING=1"); }
int cxp_notify_ping(cxp_notify *n) { return send_lit(n, "WATCHDOG=1"); }

int cxp_notify_reloading_at(cxp_notify *n, uint64_t usec) {
  char msg[64];
  int len = snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long)usec);
  return cxp_notify_send(n, msg, (size_t)len);
}

int cxp_notify_reloading(cxp_notify *n) {
  if (n->fd < 0) return 0;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return cxp_notify_reloading_at(n, (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u);
}

int cxp_notify_status(cxp_notify *n, const char *fmt, ...) {
  if (n->fd < 0) return 0;
  char msg[7 + 1024 + 1] = "STATUS=";
  va_list ap;
  va_start(ap, fmt);
  int len = vsnprintf(msg + 7, sizeof msg - 7, fmt, ap);
  va_end(ap);
  if (len < 0) return -EINVAL;
  if ((size_t)len > sizeof msg - 8) len = (int)(sizeof msg - 8);
  for (int i = 7; i < 7 + len; i++)
    if (msg[i] == '\n' || msg[i] == '\r') msg[i] = ' ';
  return cxp_notify_send(n, msg, (size_t)len + 7);
}

/* A decimal number with nothing after it, or 0. */
static uint64_t parse_u64(const char *s) {
  if (s == NULL || *s < '0' || *s > '9') return 0;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end != '\0') return 0;
  return v;
}

uint64_t cxp_notify_watchdog_interval(const char *usec, const char *pid, pid_t self) {
  uint64_t us = parse_u64(usec);
  if (us == 0) return 0;
  /* WATCHDOG_PID names the process the watchdog is meant for; a child that
   * inherited the environment must not ping on its parent's behalf. */
  if (pid != NULL && parse_u64(pid) != (uint64_t)self) return 0;
  return us / 2;
}

uint64_t cxp_notify_watchdog_usec(void) {
  return cxp_notify_watchdog_interval(getenv("WATCHDOG_USEC"), getenv("WATCHDOG_PID"), getpid());
}

static void on_watchdog(uv_timer_t *t) {
  cxp_notify *n = t->data;
  if (cxp_notify_ping(n) == 0) n->pings++;
}

int cxp_notify_watchdog_start(cxp_notify *n, uv_loop_t *loop, uint64_t interval_us) {
  if (interval_us == 0 || n->fd < 0 || n->watchdog_on) return 0;
  uint64_t ms = (interval_us + 999) / 1000;
  int r = uv_timer_init(loop, &n->watchdog);
  if (r) return r;
  n->watchdog.data = n;
  n->watchdog_on = 1;
  uv_unref((uv_handle_t *)&n->watchdog);
  /* The first ping goes out at once: a restart of the loop (or a slow
   * start-up before this call) should not eat into the first interval. */
  return uv_timer_start(&n->watchdog, on_watchdog, 0, ms);
}

void cxp_notify_watchdog_close(cxp_notify *n) {
  if (!n->watchdog_on) return;
  n->watchdog_on = 0;
  uv_timer_stop(&n->watchdog);
  uv_close((uv_handle_t *)&n->watchdog, NULL);
}
