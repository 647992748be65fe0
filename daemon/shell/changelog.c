/* Durable state: the changelog batches of each input partition, snapshot
 * files, and restoring a partition from them (daemon_int.h). */
#include "daemon_int.h"
#include "xalloc.h"

/* ---- Durable state: the changelog ---------------------------------------- */

cl_part *daemon_cl_get(cxp_daemon *d, int32_t part) {
  if (part < 0 || part > 0xffff) return NULL;
  if (part >= d->n_cl) {
    int32_t n = part + 16;
    cl_part *nc = cxp_xrealloc(d->cl, sizeof *nc * (size_t)n);
    for (int32_t i = d->n_cl; i < n; i++) {
      memset(&nc[i], 0, sizeof nc[i]);
      nc[i].wait_x = nc[i].flight_x = nc[i].hold = nc[i].early = nc[i].covered = -1;
    }
    d->cl = nc;
    d->n_cl = n;
  }
  return &d->cl[part];
}

/* Forgets a partition's batches (assigned afresh, or lost): acknowledgements
 * of what was produced before no longer count. */
void daemon_cl_reset(cxp_daemon *d, int32_t part) {
  cl_part *c = daemon_cl_get(d, part);
  if (c == NULL) return;
  c->wait.len = 0;
  c->wait_n = 0;
  c->wait_x = c->flight_x = c->hold = c->early = c->covered = -1;
  c->in_flight = 0;
  c->gen++;
  /* A partition assigned with a backlog stretches from its first flush. */
  c->flushed_ms = cxp_wall_ms();
  c->behind = 0;
  if (c->loading) d->n_loading--;
  c->loading = 0;
}

/* An input partition waiting for its state: a snapshot being read, or the
 * changelog. */
int daemon_restoring(const cxp_daemon *d, int32_t part) {
  return cxp_restore_active(d->restore, part) ||
         (part >= 0 && part < d->n_cl && d->cl[part].loading);
}

/* The coalescing interval ended for a partition: the customers it changed
 * are encoded as they are now, reflecting every event up to the last one
 * consumed, and wait until those events' outputs are acknowledged. */
void daemon_cl_flush(cxp_daemon *d, int32_t part) {
  cxp_tracker *t = cxp_offsets_get(&d->offsets, part);
  cl_part *c = daemon_cl_get(d, part);
  int64_t x = t ? cxp_offsets_last(t) : -1;
  if (c == NULL || x < 0 || daemon_restoring(d, part)) return;
  c->flushed_ms = cxp_wall_ms();
  if (cxp_core_state_dirty(&d->core, part) == 0 &&
      cxp_core_partition_changed(&d->core, part) == 0) {
    /* Nothing changed since the last batch: once that is acknowledged
     * (or if there is none) the inputs up to x are durable. */
    if (c->wait_x < 0 && c->in_flight == 0) c->hold = x + 1;
    return;
  }
  /* The partition's own records (systemic groups, windows, the window
   * clock) first, then the customers: the producer keeps a partition's
   * records in order, so a customer's record acknowledged means the records
   * his events changed are too (window.h, cases.h). */
  c->wait_n += cxp_core_partition_flush(&d->core, part, x, &c->wait);
  c->wait_n += cxp_core_state_flush(&d->core, part, &c->wait);
  c->wait_x = x;
}

/* Produces each waiting batch whose events' outputs are all acknowledged
 * (the tracker's committable offset is past it), one batch in flight per
 * partition. A record is thus written only after the alerts of every event
 * it reflects: a restart that skips those events loses none of them. */
void daemon_cl_send_ready(cxp_daemon *d) {
  for (int32_t p = 0; p < d->n_cl; p++) {
    cl_part *c = &d->cl[p];
    if (c->wait_x < 0 || c->in_flight) continue;
    cxp_tracker *t = cxp_offsets_get(&d->offsets, p);
    if (t == NULL || t->committable < c->wait_x + 1) continue;
    c->gen++;
    size_t pos = 0, kl, vl;
    const char *k;
    const uint8_t *v;
    while (cxp_staterec_frame_next(c->wait.p, c->wait.len, &pos, &k, &kl, &v, &vl)) {
      daemon_send_output(d, CXP_STREAM_CHANGELOG, p, k, kl, (const char *)v, vl,
                         CL_TOKEN(p, c->gen));
      c->in_flight++;
      d->cl_records++;
      d->cl_bytes += kl + vl;
    }
    c->flight_x = c->wait_x;
    c->wait_x = -1;
    c->wait.len = 0;
    c->wait_n = 0;
    if (c->in_flight == 0) c->hold = c->flight_x + 1;
  }
}

void daemon_cl_ack(cxp_daemon *d, int32_t part, uint32_t gen, int64_t offset) {
  if (part < 0 || part >= d->n_cl) return;
  cl_part *c = &d->cl[part];
  if (c->gen != gen || c->in_flight == 0) return;
  if (offset > c->covered) c->covered = offset;
  if (--c->in_flight == 0) c->hold = c->flight_x + 1;
}

/* Batches still waiting or in flight, over all partitions. Once an output
 * is stuck (a dead letter with nowhere to go), a waiting batch may never
 * be sent: only those in flight count. */
int daemon_cl_busy(const cxp_daemon *d) {
  for (int32_t p = 0; p < d->n_cl; p++)
    if ((d->cl[p].wait_x >= 0 && !d->stuck) || d->cl[p].in_flight) return 1;
  return 0;
}


/* A partition catching up on a backlog (further behind its input than
 * state.catchup_lag) writes its changes at most every
 * state.catchup_flush_ms: a customer touched many times in the backlog
 * goes to the changelog once, not once a second. Its commits wait as
 * long. */
static int cl_deferred(cxp_daemon *d, int32_t part, int64_t now) {
  if (d->pl.state_catchup_flush_ms <= 0 || part >= d->n_cl) return 0;
  cl_part *c = &d->cl[part];
  if (c->flushed_ms == 0 || now - c->flushed_ms >= d->pl.state_catchup_flush_ms) return 0;
  if (daemon_input_lag(d, part) > d->pl.state_catchup_lag) {
    c->behind = 1;
    return 1;
  }
  /* Just under the mark after a backlog: one interval more, in which a
   * partition that reads its backlog fast is at its end, so that its
   * customers are written once there and not also just before it
   * (bench_e2e wrote 0.33 bytes per input byte instead of 0.28 in the runs
   * where a flush fell in that moment). */
  int was = c->behind;
  c->behind = 0;
  return was;
}

/* Every partition's changes (at the flush timer, partitions catching up
 * only when their stretched interval is over; at shutdown all). */
void daemon_cl_flush_all(cxp_daemon *d, int timer) {
  int64_t now = cxp_wall_ms();
  for (int32_t i = 0; i < d->offsets.n; i++)
    if (d->offsets.by_partition[i] && !(timer && cl_deferred(d, i, now))) daemon_cl_flush(d, i);
  daemon_cl_send_ready(d);
}

/* ---- Durable state: snapshot files --------------------------------------- */

static void snapshot_path(const cxp_daemon *d, int32_t part, char *out, size_t cap) {
  snprintf(out, cap, "%s/%s.%d.snap", d->snap_dir, d->pl.topic_changelog, (int)part);
}

typedef struct snap_job {
  uv_work_t req;
  cxp_daemon *d;
  int32_t part;
  uint32_t gen;
  char path[CXP_STR_MAX + 300];
  cxp_state st;
  cxp_buf cases; /* the customers' cases sections, for the loop to restore */
  cxp_buf extra; /* frames of the rest of its state (systemic groups), the same */
  int64_t max_ts;
  long n;
  int64_t offset;
  double seconds;
  char err[512];
} snap_job;


/* Off the loop: verify and read the whole file into a state of its own. */
static void snapshot_work(uv_work_t *req) {
  snap_job *j = container_of(req, snap_job, req);
  uint64_t t0 = uv_hrtime();
  cxp_state_init(&j->st);
  cxp_buf_init(&j->cases);
  cxp_buf_init(&j->extra);
  j->n = cxp_snapshot_read(j->path, &j->st, j->part, &j->offset, &j->cases, &j->extra,
                           &j->max_ts, j->err, sizeof j->err);
  j->seconds = (double)(uv_hrtime() - t0) / 1e9;
}

/* Back on the loop: the customers move into the core (pointers only), and
 * the changelog is read from the first offset past the snapshot. A missing,
 * corrupt or truncated file means the whole changelog instead. */
static void snapshot_done(uv_work_t *req, int status) {
  snap_job *j = container_of(req, snap_job, req);
  cxp_daemon *d = j->d;
  cl_part *c = j->part < d->n_cl ? &d->cl[j->part] : NULL;
  if (status == 0 && !d->stopping && c && c->loading && c->gen == j->gen) {
    c->loading = 0;
    d->n_loading--;
    int64_t from = RD_KAFKA_OFFSET_BEGINNING;
    if (j->n < 0) {
      d->snapshot_errors++;
      cxp_warn("restore", "%s; restoring partition %d from the whole changelog", j->err,
               (int)j->part);
    } else {
      size_t n = cxp_state_adopt(&d->core.state, &j->st, j->part);
      size_t bad = cxp_core_state_restore_cases(&d->core, j->part, &j->cases, j->max_ts);
      if (bad)
        cxp_warn("restore", "partition %d: %zu customer(s) of %s restored without their "
                 "cases (a cases section this build cannot read)", (int)j->part, bad, j->path);
      size_t pos = 0, kl, vl;
      const char *k;
      const uint8_t *v;
      char err[512];
      while (cxp_staterec_frame_next(j->extra.p, j->extra.len, &pos, &k, &kl, &v, &vl))
        if (cxp_core_state_restore(&d->core, j->part, k, kl, v, vl, err, sizeof err) != 0) {
          d->snapshot_errors++;
          cxp_warn("restore", "partition %d: %s: %s (skipped)", (int)j->part, j->path, err);
        }
      d->snapshot_records += n;
      d->restore_seconds += j->seconds;
      c->covered = j->offset;
      from = j->offset + 1;
      cxp_info("restore", "partition %d: %zu customer(s) from %s in %.3f s (%.0f/s); the "
               "changelog from offset %" PRId64,
               (int)j->part, n, j->path, j->seconds,
               j->seconds > 0 ? (double)n / j->seconds : 0.0, from);
    }
    if (cxp_restore_begin(d->restore, j->part, from) != 0) {
      cxp_error("restore", "%s [%d]: cannot start its restore; the partition is processed "
                "with the state it has", d->pl.topic_changelog, (int)j->part);
      rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
      rd_kafka_topic_partition_list_add(l, d->pl.topic_input, j->part);
      if (!d->paused) daemon_pause_list(d, l, 0);
      rd_kafka_topic_partition_list_destroy(l);
    }
  }
  cxp_state_close(&j->st);
  cxp_buf_free(&j->cases);
  cxp_buf_free(&j->extra);
  free(j);
  daemon_handle_gone(d); /* a pending read holds the daemon like a handle */
}

/* Starts reading the partition's snapshot off the loop. 0 when started;
 * -1 when there is none to read (the caller restores from the changelog). */
int daemon_snapshot_load(cxp_daemon *d, int32_t part) {
  if (d->snap_dir[0] == '\0') return -1;
  snap_job *j = cxp_xcalloc(1, sizeof *j);
  snapshot_path(d, part, j->path, sizeof j->path);
  if (access(j->path, F_OK) != 0) {
    free(j);
    return -1;
  }
  cl_part *c = daemon_cl_get(d, part);
  j->d = d;
  j->part = part;
  j->gen = c->gen;
  c->loading = 1;
  d->n_loading++;
  d->handles_open++;
  uv_queue_work(d->loop, &j->req, snapshot_work, snapshot_done);
  return 0;
}

/* Writes the partition's state, complete in the changelog up to `covered`,
 * to its snapshot file. Only when nothing of it is unwritten or unrestored. */
void daemon_snapshot_save(cxp_daemon *d, int32_t part) {
  cl_part *c = part < d->n_cl ? &d->cl[part] : NULL;
  if (c == NULL || c->wait_x >= 0 || c->in_flight || daemon_restoring(d, part)) {
    cxp_warn("restore", "partition %d: state not all in the changelog yet; no snapshot",
             (int)part);
    return;
  }
  char path[CXP_STR_MAX + 300], err[512];
  snapshot_path(d, part, path, sizeof path);
  uint64_t t0 = uv_hrtime();
  cxp_buf extra;
  cxp_buf_init(&extra);
  cxp_core_state_extra(&d->core, part, &extra);
  int rc = cxp_snapshot_write(path, &d->core.state, part, c->covered, cxp_core_state_ext,
                              &d->core, &extra, err, sizeof err);
  cxp_buf_free(&extra);
  if (rc != 0) {
    cxp_warn("restore", "partition %d: %s", (int)part, err);
    return;
  }
  d->snapshots_written++;
  cxp_info("restore", "partition %d: snapshot %s written in %.3f s (changelog up to offset %" PRId64
           ")", (int)part, path, (double)(uv_hrtime() - t0) / 1e9, c->covered);
}

/* ---- Durable state: restore --------------------------------------------- */

void daemon_on_restore_record(void *opaque, int32_t part, const rd_kafka_message_t *m) {
  cxp_daemon *d = opaque;
  char err[256];
  cl_part *c = daemon_cl_get(d, part);
  if (c && m->offset > c->covered) c->covered = m->offset;
  if (cxp_core_state_restore(&d->core, part, m->key, m->key_len, m->payload, m->len, err,
                             sizeof err) == 0)
    return;
  d->restore_errors++;
  /* The key as the topic has it, written as a JSON string and cut to 80
   * bytes (keys come from the topic, not from us). */
  cxp_buf key;
  cxp_jw w;
  cxp_buf_init(&key);
  cxp_jw_init(&w, &key);
  cxp_jw_str(&w, NULL, m->key ? m->key : "", m->key_len < 80 ? m->key_len : 80);
  cxp_warn("restore", "%s [%d] offset %" PRId64 " key %s%s: %s; record skipped (%" PRIu64
           " so far)", d->pl.topic_changelog, (int)part, m->offset, key.p,
           m->key_len > 80 ? "..." : "", err, d->restore_errors);
  cxp_buf_free(&key);
}

void daemon_on_restore_done(void *opaque, int32_t part, uint64_t records, uint64_t bytes,
                            double seconds) {
  cxp_daemon *d = opaque;
  double rate = seconds > 0 ? (double)records / seconds : 0;
  d->restore_records += records;
  d->restore_partitions++;
  d->restore_seconds += seconds;
  if (records) d->restore_last_rate = rate;
  size_t held = part < d->core.state.n_shards && d->core.state.shards[part]
                    ? d->core.state.shards[part]->count : 0;
  cxp_info("restore", "partition %d: %" PRIu64 " record(s), %.1f MB in %.3f s (%.0f records/s); "
           "%zu customer(s) held, %zu recovery case(s) open; resuming %s [%d]",
           (int)part, records, (double)bytes / 1e6, seconds, rate, held,
           cxp_core_cases_open(&d->core, part), d->pl.topic_input, (int)part);
  /* Messages consumed while it was restored were dropped: the resume seeks
   * back to the first one not processed (daemon_pause_list), now or, when
   * the input is paused for back-pressure, when that ends. */
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, d->pl.topic_input, part);
  if (!d->paused && !d->stopping) daemon_pause_list(d, l, 0);
  rd_kafka_topic_partition_list_destroy(l);
  if (cxp_restore_count(d->restore) == 0)
    cxp_notify_status(&d->notify, "consuming %s: %d partition(s), state restored",
                      d->pl.topic_input, d->assigned);
}
