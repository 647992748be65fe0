/* The one policy for running out of memory: the allocation fails the
 * process. cxp_xmalloc, cxp_xcalloc and cxp_xrealloc never return NULL: on
 * failure they write one line to stderr (what was asked, and where) and
 * abort. A daemon out of memory cannot keep its promises (every output of
 * an event, or none; state in step with the changelog), and a process
 * that stops is restarted by its service manager and reads its state back
 * from the changelog; one that limps on loses data quietly.
 *
 * What can be reported is reported instead, as 0/-1 with a sentence:
 * bad input, a bad file, a full queue, a broker's refusal. ARCHITECTURE.md,
 * "Errors". */
#ifndef CXP_XALLOC_H
#define CXP_XALLOC_H

#include <stddef.h>
#include <stdint.h>

void *cxp_xmalloc_at(size_t n, const char *where);
void *cxp_xcalloc_at(size_t n, size_t size, const char *where);
void *cxp_xrealloc_at(void *p, size_t n, const char *where);

#define CXP_XSTR_(x) #x
#define CXP_XSTR(x) CXP_XSTR_(x)
#define CXP_XWHERE __FILE__ ":" CXP_XSTR(__LINE__)
#define cxp_xmalloc(n) cxp_xmalloc_at((n), CXP_XWHERE)
#define cxp_xcalloc(n, size) cxp_xcalloc_at((n), (size), CXP_XWHERE)
#define cxp_xrealloc(p, n) cxp_xrealloc_at((p), (n), CXP_XWHERE)

/* An array of *cap elements of elem bytes, given room for twice as many
 * (`first` when it has none), never more than max: the array, moved; *cap
 * updated. The caller grows it when it is full and under max. */
void *cxp_xgrow_at(void *p, uint32_t *cap, size_t elem, uint32_t first, uint32_t max,
                   const char *where);
#define cxp_xgrow(p, cap, first, max) \
  cxp_xgrow_at((p), (cap), sizeof *(p), (first), (max), CXP_XWHERE)

#endif
