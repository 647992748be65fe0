/* Level-gated logging on stderr, readable on a terminal and under journald. */
#ifndef CXP_LOG_H
#define CXP_LOG_H

enum { CXP_LOG_ERROR = 0, CXP_LOG_WARN, CXP_LOG_INFO, CXP_LOG_DEBUG };

extern int cxp_log_level;

void cxp_log_write(int level, const char *comp, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int cxp_log_parse_level(const char *name);
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
