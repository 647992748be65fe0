/* Unit tests of the service-manager notifications (daemon/shell/notify.c).
 *
 * A bound AF_UNIX datagram socket plays systemd's part, once at a path and
 * once in the abstract namespace; every datagram the notifier sends is read
 * back and compared byte for byte. The watchdog test runs a real libuv loop
 * with a 40 ms ping interval, then blocks the loop (the "stuck loop" hook) and
 * checks that no ping left while it was stuck. */
#include "test.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "notify.h"

/* systemd's end: a datagram socket bound to `name` ("/path" or "@abstract"). */
static int manager_socket(const char *name) {
  struct sockaddr_un a;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  size_t len = strlen(name);
  memcpy(a.sun_path, name, len);
  socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
  if (name[0] == '@') a.sun_path[0] = '\0';
  else alen++;
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, alen) != 0) {
    perror("manager socket");
    exit(2);
  }
  struct timeval tv = {0, 200000}; /* a missing datagram fails, never hangs */
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

/* The next datagram, or -1 after the receive timeout. */
static ssize_t next_dgram(int fd, char *buf, size_t cap) {
  return recv(fd, buf, cap, 0);
}

static int pending(int fd) {
  char b[16];
  return recv(fd, b, sizeof b, MSG_DONTWAIT) >= 0;
}

static void sequence(const char *name) {
  char buf[2048];
  ssize_t n;
  int fd = manager_socket(name);
  cxp_notify no;
  test_ctx = name;
  CHECK_INT(cxp_notify_init(&no, name), 0);
  CHECK(cxp_notify_enabled(&no));

  /* The order a daemon's life sends them in. */
  CHECK_INT(cxp_notify_ready(&no), 0);
  n = next_dgram(fd, buf, sizeof buf);
  CHECK_LIT(buf, n, "READY=1");
  CHECK_INT(cxp_notify_ping(&no), 0);
  n = next_dgram(fd, buf, sizeof buf);
  CHECK_LIT(buf, n, "WATCHDOG=1");
  CHECK_INT(cxp_notify_reloading_at(&no, 1234567890123ULL), 0);
  n = next_dgram(fd, buf, sizeof buf);
  CHECK_LIT(buf, n, "RELOADING=1\nMONOTONIC_USEC=1234567890123");
  CHECK_INT(cxp_notify_ready(&no), 0);
  n = next_dgram(fd, buf, sizeof buf);
  CHECK_LIT(buf, n, "READY=1");
  CHECK_INT(cxp_notify_status(&no, "consuming %d partitions\nlag %d", 12, 0), 0);
  n = next_dgram(fd, buf, sizeof buf);
  CHECK_LIT(buf, n, "STATUS=consuming 12 partitions lag 0");
  CHECK_INT(cxp_notify_stopping(&no), 0);
  n = next_dgram(fd, buf, sizeof buf);
  CHECK_LIT(buf, n, "STOPPING=1");
  CHECK(!pending(fd));

  /* The real clock: MONOTONIC_USEC is now, in microseconds. */
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t before = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
  CHECK_INT(cxp_notify_reloading(&no), 0);
  n = next_dgram(fd, buf, sizeof buf);
  CHECK_GT(n, 0);
  buf[n > 0 ? n : 0] = '\0';
  unsigned long long got = 0;
  CHECK_INT(sscanf(buf, "RELOADING=1\nMONOTONIC_USEC=%llu", &got), 1);
  CHECK_GE(got, before);
  CHECK_LT(got, before + 5000000u);

  /* A long status is cut, not sent as a datagram the manager may refuse. */
  char big[3000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  CHECK_INT(cxp_notify_status(&no, "%s", big), 0);
  n = next_dgram(fd, buf, sizeof buf);
  CHECK_INT(n, 7 + 1024);

  cxp_notify_close(&no);
  CHECK(!cxp_notify_enabled(&no));
  close(fd);
  test_ctx = NULL;
}

static void bad_sockets(void) {
  cxp_notify no;
  /* Unset or empty: disabled, every call a silent success. */
  CHECK_INT(cxp_notify_init(&no, NULL), 0);
  CHECK(!cxp_notify_enabled(&no));
  CHECK_INT(cxp_notify_ready(&no), 0);
  CHECK_INT(cxp_notify_reloading(&no), 0);
  CHECK_INT(cxp_notify_status(&no, "x"), 0);
  cxp_notify_close(&no);
  CHECK_INT(cxp_notify_init(&no, ""), 0);
  CHECK(!cxp_notify_enabled(&no));

  /* Malformed: refused at init, then disabled. */
  CHECK_INT(cxp_notify_init(&no, "relative/notify"), -EINVAL);
  CHECK(!cxp_notify_enabled(&no));
  CHECK_INT(cxp_notify_ready(&no), 0);
  CHECK_INT(cxp_notify_init(&no, "@"), -EINVAL);
  char longname[200];
  memset(longname, 'a', sizeof longname - 1);
  longname[0] = '/';
  longname[sizeof longname - 1] = '\0';
  CHECK_INT(cxp_notify_init(&no, longname), -EINVAL);
  CHECK(!cxp_notify_enabled(&no));

  /* Well-formed but nobody listening: the error comes back, nothing blocks. */
  CHECK_INT(cxp_notify_init(&no, "/nonexistent/cxpulse-notify"), 0);
  CHECK(cxp_notify_enabled(&no));
  CHECK_INT(cxp_notify_ready(&no), -ENOENT);
  cxp_notify_close(&no);

  /* From the environment. */
  unsetenv("NOTIFY_SOCKET");
  CHECK_INT(cxp_notify_init_env(&no), 0);
  CHECK(!cxp_notify_enabled(&no));
}

static void watchdog_interval(void) {
  static const struct {
    const char *usec, *pid;
    pid_t self;
    uint64_t want;
  } rows[] = {
      {"30000000", NULL, 42, 15000000}, /* WatchdogSec=30s: ping every 15 s */
      {"30000000", "42", 42, 15000000}, /* meant for us */
      {"30000000", "43", 42, 0},        /* meant for another process */
      {"30000000", "x", 42, 0},
      {"3", NULL, 42, 1},
      {NULL, NULL, 42, 0}, /* no watchdog */
      {"", NULL, 42, 0},
      {"0", NULL, 42, 0},
      {"-5", NULL, 42, 0},
      {"12abc", NULL, 42, 0},
      {"99999999999999999999999", NULL, 42, 0}, /* overflows */
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    char ctx[64];
    snprintf(ctx, sizeof ctx, "watchdog row %zu", i);
    test_ctx = ctx;
    CHECK_INT(cxp_notify_watchdog_interval(rows[i].usec, rows[i].pid, rows[i].self), rows[i].want);
  }
  test_ctx = NULL;
  setenv("WATCHDOG_USEC", "2000000", 1);
  char pid[32];
  snprintf(pid, sizeof pid, "%d", (int)getpid());
  setenv("WATCHDOG_PID", pid, 1);
  CHECK_INT(cxp_notify_watchdog_usec(), 1000000);
  unsetenv("WATCHDOG_USEC");
  unsetenv("WATCHDOG_PID");
  CHECK_INT(cxp_notify_watchdog_usec(), 0);
}

/* ---- the watchdog timer on a loop ---------------------------------------- */

typedef struct wd_test {
  cxp_notify no;
  uv_timer_t phase;
  int step;
  uint64_t pings_before_stuck, pings_after_stuck;
  uint64_t stuck_at_ms, resumed_at_ms;
} wd_test;

static void on_phase(uv_timer_t *t) {
  wd_test *w = t->data;
  if (w->step == 0) {
    /* 250 ms at a 40 ms interval: pings at 0, 40, ..., 240 (7), give or
     * take one for timer slack (fewer on a loaded machine: the bound below
     * only catches a wrong interval). Then the hook: the loop is stuck 300 ms. */
    w->pings_before_stuck = w->no.pings;
    w->stuck_at_ms = uv_now(t->loop);
    usleep(300000);
    w->pings_after_stuck = w->no.pings;
    w->step = 1;
    uv_update_time(t->loop); /* uv_now() stood still while we slept */
    uv_timer_start(t, on_phase, 100, 0);
    return;
  }
  w->resumed_at_ms = uv_now(t->loop);
  cxp_notify_watchdog_close(&w->no);
  uv_close((uv_handle_t *)t, NULL);
}

static void watchdog_loop(void) {
  char buf[64];
  snprintf(buf, sizeof buf, "@cxpulse-test-notify-wd-%d", (int)getpid());
  int fd = manager_socket(buf);
  wd_test w;
  memset(&w, 0, sizeof w);
  uv_loop_t loop;
  uv_loop_init(&loop);
  CHECK_INT(cxp_notify_init(&w.no, buf), 0);
  CHECK_INT(cxp_notify_watchdog_start(&w.no, &loop, 40000), 0);
  uv_timer_init(&loop, &w.phase);
  w.phase.data = &w;
  uv_timer_start(&w.phase, on_phase, 250, 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_INT(uv_loop_close(&loop), 0);

  CHECK_GE(w.pings_before_stuck, 4);
  CHECK_LE(w.pings_before_stuck, 8);
  /* While the loop was stuck, nothing was sent. */
  CHECK_INT(w.pings_after_stuck, w.pings_before_stuck);
  /* Resumed: a late ping at once, then every 40 ms for the 100 ms left. */
  uint64_t after = w.no.pings - w.pings_after_stuck;
  CHECK_GE(after, 1);
  CHECK_LE(after, 4);
  /* Every ping the counter saw arrived as WATCHDOG=1. */
  uint64_t got = 0;
  char d[64];
  ssize_t n;
  while ((n = recv(fd, d, sizeof d, MSG_DONTWAIT)) > 0) {
    CHECK_LIT(d, n, "WATCHDOG=1");
    got++;
  }
  CHECK_INT(got, w.no.pings);
  cxp_notify_close(&w.no);

  /* Disabled notifier or zero interval: nothing started, loop stays empty. */
  cxp_notify off;
  cxp_notify_init(&off, NULL);
  uv_loop_init(&loop);
  CHECK_INT(cxp_notify_watchdog_start(&off, &loop, 40000), 0);
  CHECK(!off.watchdog_on);
  cxp_notify_watchdog_close(&off);
  CHECK_INT(uv_run(&loop, UV_RUN_NOWAIT), 0);
  CHECK_INT(uv_loop_close(&loop), 0);
  close(fd);
}

int main(void) {
  char dir[] = "/tmp/cxp-notify-XXXXXX";
  if (mkdtemp(dir) == NULL) {
    perror("mkdtemp");
    return 2;
  }
  char path[128], abstract[64];
  snprintf(path, sizeof path, "%s/notify", dir);
  snprintf(abstract, sizeof abstract, "@cxpulse-test-notify-%d", (int)getpid());
  sequence(path);
  sequence(abstract);
  unlink(path);
  rmdir(dir);
  bad_sockets();
  watchdog_interval();
  watchdog_loop();
  return TEST_REPORT();
}
