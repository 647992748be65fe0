/* The service manager's notification protocol (sd_notify(3)), spoken
 * directly: one AF_UNIX datagram of newline-separated KEY=VALUE assignments
 * to the socket named by $NOTIFY_SOCKET. No libsystemd: the protocol is a
 * documented stable interface of a few lines, and doing it ourselves keeps
 * every send non-blocking and the socket open once for the daemon's life
 * (sd_notify opens a socket per call).
 *
 * Under anything but systemd (NOTIFY_SOCKET unset) every call is a no-op
 * that returns 0, so the daemon calls them unconditionally.
 *
 * The order the daemon is expected to send, for a Type=notify unit:
 *   READY=1                 once partitions are assigned and state restored
 *   WATCHDOG=1              every cxp_notify_watchdog_usec(), from the loop
 *   RELOADING=1 + MONOTONIC_USEC=...   when SIGHUP starts a reload,
 *   READY=1                 when the reload ended (applied or rejected)
 *   STOPPING=1              when shutdown begins
 *   STATUS=...              free text shown by `systemctl status`, any time
 *
 * The watchdog timer (cxp_notify_watchdog_start) is a uv_timer_t on the
 * daemon's loop: if the loop is stuck, the pings stop and systemd restarts
 * the service after WatchdogSec=. That is the point of pinging from the loop
 * rather than from a thread. */
#ifndef CXP_NOTIFY_H
#define CXP_NOTIFY_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include <uv.h>

typedef struct cxp_notify {
  int fd; /* -1 when not under a service manager */
  struct sockaddr_un addr;
  socklen_t addrlen;
  uint64_t pings; /* WATCHDOG=1 datagrams sent by the watchdog timer */
  uv_timer_t watchdog;
  int watchdog_on;
} cxp_notify;

/* Opens the notification socket named by `socket_name` (the value of
 * NOTIFY_SOCKET: an absolute path, or "@name" for the abstract namespace).
 * NULL or "" leaves the notifier disabled and returns 0. A malformed name
 * (relative, too long) also leaves it disabled and returns -EINVAL, so the
 * caller can log it and carry on. */
int cxp_notify_init(cxp_notify *n, const char *socket_name);
/* cxp_notify_init with getenv("NOTIFY_SOCKET"). */
int cxp_notify_init_env(cxp_notify *n);
/* Closes the socket. The watchdog timer must have been stopped and closed
 * (cxp_notify_watchdog_close) first when it was started. */
void cxp_notify_close(cxp_notify *n);
int cxp_notify_enabled(const cxp_notify *n);

/* Sends one datagram of `len` bytes as it is. 0 (also when disabled), or a
 * negative errno: -EAGAIN when the socket buffer is full (the message is
 * dropped: never blocking the loop matters more than one notification),
 * -ECONNREFUSED/-ENOENT when nobody listens. */
int cxp_notify_send(cxp_notify *n, const char *msg, size_t len);

int cxp_notify_ready(cxp_notify *n);    /* "READY=1" */
int cxp_notify_stopping(cxp_notify *n); /* "STOPPING=1" */
int cxp_notify_ping(cxp_notify *n);     /* "WATCHDOG=1" */
/* "RELOADING=1\nMONOTONIC_USEC=<now>" with CLOCK_MONOTONIC in microseconds:
 * systemd 253+ (Type=notify-reload) wants the timestamp to tell this reload
 * from an earlier one; older versions ignore the second line. */
int cxp_notify_reloading(cxp_notify *n);
/* The same with the timestamp given (tests). */
int cxp_notify_reloading_at(cxp_notify *n, uint64_t monotonic_usec);
/* "STATUS=<text>". A newline would start another assignment, so newlines in
 * the text are sent as spaces; the text is cut at 1024 bytes. */
int cxp_notify_status(cxp_notify *n, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* How often to ping, in microseconds: half of WATCHDOG_USEC (so one late
 * ping is not yet fatal), or 0 when no watchdog is configured for this
 * process (WATCHDOG_USEC unset, not a positive number, or WATCHDOG_PID set
 * to another process). Pure: the environment comes in as arguments. */
uint64_t cxp_notify_watchdog_interval(const char *watchdog_usec, const char *watchdog_pid,
                                      pid_t self);
/* The same from getenv and getpid. */
uint64_t cxp_notify_watchdog_usec(void);

/* Starts a repeating timer on `loop` sending WATCHDOG=1 every interval_us
 * (rounded up to whole milliseconds). Nothing is started when the interval is
 * 0 or the notifier is disabled; returns 0 then too. The timer is unref'd:
 * it never keeps the loop alive by itself. */
int cxp_notify_watchdog_start(cxp_notify *n, uv_loop_t *loop, uint64_t interval_us);
/* Stops the timer and closes its handle (a no-op if never started); the
 * handle's close completes on the loop's next iteration, after which
 * cxp_notify_close may run and the storage be freed. */
void cxp_notify_watchdog_close(cxp_notify *n);

#endif
