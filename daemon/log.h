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

void cxp_log_write(int level, const char *comp, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int cxp_log_parse_level(const char *name);
/* "text", "logfmt" or "json"; -1 otherwise. */
int cxp_log_parse_format(const char *name);
/* One record as a line (newline included, NUL after it) into out: under
 * journald (journal 1) prefixed "<N>" with the syslog priority of the level
 * and without a timestamp, journald keeping its own. Returns its length. */
size_t cxp_log_render(char *out, size_t cap, int format, int journal, int64_t now_ms,
                      int level, const char *comp, const char *msg);
const char *cxp_log_level_name(int level);

/* The level test sits in the macro so that a disabled line costs no call and
 * formats nothing. */
#define cxp_log(lvl, comp, ...)                                                \
  do {                                                                         \
    if ((lvl) <= cxp_log_level) cxp_log_write((lvl), (comp), __VA_ARGS__);     \
  } while (0)
#define cxp_error(comp, ...) cxp_log(CXP_LOG_ERROR, comp, __VA_ARGS__)
#define cxp_warn(comp, ...) cxp_log(CXP_LOG_WARN, comp, __VA_ARGS__)
#define cxp_info(comp, ...) cxp_log(CXP_LOG_INFO, comp, __VA_ARGS__)
#define cxp_debug(comp, ...) cxp_log(CXP_LOG_DEBUG, comp, __VA_ARGS__)

#endif
