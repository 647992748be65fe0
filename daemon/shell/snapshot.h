/* Snapshot files of one partition's customers (durable state): a
 * restart on the same machine reads its partitions' snapshots and then only
 * the changelog's tail. The file holds the records of staterec.h, each
 * length-prefixed, then (format 2) the frames of the rest of the partition's
 * state, behind a header naming the partition and the changelog offset the
 * snapshot covers, with a checksum over all of it. It is written
 * to a temporary file, flushed to disk and renamed into place, so a crash
 * leaves the old snapshot or the new one, never half of one.
 *
 * Blocking file I/O: the daemon calls these off its loop (a worker thread or
 * at start-up), never from an event callback. */
#ifndef CXP_SNAPSHOT_H
#define CXP_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "state.h"
#include "staterec.h"

/* extra (NULL: none) holds frames of staterec.h (key, value) of the
 * partition's state that is not a customer's (the systemic groups): they
 * follow the customers in the file (format 2). 0, or -1 with a sentence in
 * err (the file is then left as it was). */
int cxp_snapshot_write(const char *path, const cxp_state *s, int32_t partition,
                       int64_t changelog_offset, cxp_staterec_ext_fn ext_fn, void *opaque,
                       const cxp_buf *extra, char *err, size_t errlen);

/* Verifies the whole file (magic, version, partition, lengths, checksum)
 * before anything changes, then restores its customers into the partition's
 * shard. Returns the number restored, or -1 with a sentence naming what is
 * wrong (missing, truncated, corrupt, another partition's): the caller then
 * restores from the changelog instead. *changelog_offset gets the offset the
 * snapshot covers; the customers' cases sections are appended to `cases` as
 * frames of staterec.h keyed by customer id (cxp_core_state_restore_cases
 * takes them), the extra frames to `extra` (NULL: left out; a format 1
 * file has none), and *max_ts gets the latest event time of any customer. */
long cxp_snapshot_read(const char *path, cxp_state *s, int32_t partition,
                       int64_t *changelog_offset, cxp_buf *cases, cxp_buf *extra,
                       int64_t *max_ts, char *err, size_t errlen);

#endif
