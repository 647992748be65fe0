/* Level-gated logging on stderr, one line per record, readable on a
 * terminal and under journald, as text, logfmt or JSON (log.format). A
 * record holds a level, a component and a message; messages carry
 * identifiers (customer, case, partition), never customer data. */
#ifndef CXP_LOG_H
#define CXP_LOG_H

#include <stddef.h>
#include <stdint.h>

enum { CXP_LOG_ERROR = 0, CXP_LOG_WARN, CXP_LOG_INFO, CXP_LOG_DEBUG };
enum { CXP_LOG_TEXT = 0, CXP_LOG_LOGFMT, CXP_LOG_JSON };

extern int cxp_log_level;
extern int cxp_log_format;

int cxp_log_parse_level(const char *name);
/* "text", "logfmt" or "json"; -1 otherwise. */
int cxp_log_parse_format(const char *name);
/* One record as a line (newline included, NUL after it) into out: under
 * journald (journal 1) prefixed "<N>" with the syslog priority of the level
 * and without a timestamp, journald keeping its own. Returns its length. */
size_t cxp_log_render(char *out, size_t cap, int format, int journal, int64_t now_ms,
                      int level, const char *comp, const char *msg);
const char *cxp_log_level_name(int level);

/* Rate limits. Warnings and errors from one place in the code (a call
 * site of cxp_warn or cxp_error) are written at most CXP_LOG_BURST times
 * per CXP_LOG_INTERVAL_MS: a fault that repeats for every message (a
 * broker refusing every output, a partition of damaged records) must not
 * fill the disk with the same line. The rest are counted; the count goes
 * out once the interval is over, in one line naming the last of them,
 * written by the site's next line or by cxp_log_flush_suppressed. Info and
 * debug lines are not limited. */
#define CXP_LOG_BURST 10
#define CXP_LOG_INTERVAL_MS 10000

typedef struct cxp_log_site {
  struct cxp_log_site *next; /* every site that has suppressed a line */
  int listed;
  int64_t since_ms;          /* start of the current interval */
  uint32_t written, suppressed;
  int level;
  const char *comp;
  char last[160];            /* the last suppressed line's message */
} cxp_log_site;

void cxp_log_write_at(cxp_log_site *site, int level, const char *comp, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Writes the counts of the sites whose interval is over (a timer calls it,
 * so a fault that stopped is still reported). */
void cxp_log_flush_suppressed(void);
/* Lines suppressed since the start, all sites. */
uint64_t cxp_log_suppressed_total(void);
/* The wall clock in ms since the epoch: log lines' stamps, the daemon's
 * stop deadline, the console's "overdue now". */
int64_t cxp_wall_ms(void);
/* The clock of the limits, in ms; tests replace it. NULL: CLOCK_MONOTONIC. */
extern int64_t (*cxp_log_clock)(void);

/* The level test sits in the macro so that a disabled line costs no call and
 * formats nothing. Each expansion has its own site. */
#define cxp_log(lvl, comp, ...)                                                \
  do {                                                                         \
    if ((lvl) <= cxp_log_level) {                                              \
      static cxp_log_site cxp_log_site_;                                       \
      cxp_log_write_at(&cxp_log_site_, (lvl), (comp), __VA_ARGS__);            \
    }                                                                          \
  } while (0)
#define cxp_error(comp, ...) cxp_log(CXP_LOG_ERROR, comp, __VA_ARGS__)
#define cxp_warn(comp, ...) cxp_log(CXP_LOG_WARN, comp, __VA_ARGS__)
#define cxp_info(comp, ...) cxp_log(CXP_LOG_INFO, comp, __VA_ARGS__)
#define cxp_debug(comp, ...) cxp_log(CXP_LOG_DEBUG, comp, __VA_ARGS__)

#endif
