/* Slab chunks faulted in ahead of need, on a thread of their own.
 *
 * The customers live in 2 MiB chunks (core/slab.h). The first touch of a
 * new chunk is a page fault in which the kernel zeroes its memory, and on a
 * virtual machine backs it too; in a catch-up with many customers not seen
 * before, that was about 9% of the loop thread's time (perf, bench_e2e at
 * 200,000 customers), spent on the thread every event waits for. This
 * thread allocates chunks and touches each of their pages while the loop
 * works, keeping a few ready; the slab takes one when it needs it
 * (cxp_slab_set_source) and allocates one itself, as before, when none is
 * ready.
 *
 * Process wide and counted: every daemon of the process calls
 * cxp_prefault_start when it starts and cxp_prefault_stop when it is
 * destroyed; the thread runs while one holds it. The chunks kept ready,
 * CXP_PREFAULT_AHEAD of them, are memory no customer uses yet. */
#ifndef CXP_PREFAULT_H
#define CXP_PREFAULT_H

#include <stdint.h>

#define CXP_PREFAULT_AHEAD 4 /* chunks kept ready: 8 MiB */

/* 0, or a libuv error when the thread cannot be started (the slab then
 * allocates its chunks itself; nothing else changes). */
int cxp_prefault_start(void);
/* The last holder's stop ends the thread and frees the chunks it kept. */
void cxp_prefault_stop(void);

/* What the thread did since the process started: chunks handed to a slab,
 * and times a slab found none ready. */
typedef struct cxp_prefault_stats {
  uint64_t handed, missed;
  int ready;
} cxp_prefault_stats;
cxp_prefault_stats cxp_prefault_get_stats(void);

#endif
