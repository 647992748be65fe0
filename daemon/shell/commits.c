/* Offsets: what each input partition may commit, the commits, and the
 * repartition positions carried in their metadata (daemon_int.h). */
#include "daemon_int.h"
#include "xalloc.h"

/* ---- Offsets ------------------------------------------------------------ */

/* What may be committed of a tracker's partition: a repartition partition
 * also keeps the partials its merger still waits on. */
int64_t daemon_commit_point(cxp_daemon *d, const cxp_offsets *o, const cxp_tracker *t) {
  int64_t c = t->committable;
  if (o == &d->offsets && d->restore) {
    /* Durable state: no further than the acknowledged changelog records. */
    int64_t h = t->partition < d->n_cl ? d->cl[t->partition].hold : -1;
    if (h < 0) return -1;
    if (c > h) c = h;
  }
  if (o == &d->roffsets) c = cxp_core_merge_commit_point(&d->core, t->partition, c);
  return c;
}


/* A repartition partition's commit carries its merger's view of every input
 * partition's watermark after the messages before the offset (merge.h,
 * cxp_merger_watermarks_at): "cxpulse-wm=" the least known one, then each
 * partition's as a difference from it ("-": none yet), comma-separated.
 * When that would not fit, the floor alone (their least), as before. */
void daemon_add_repart(cxp_daemon *d, rd_kafka_topic_partition_list_t *l, int32_t part,
                       int64_t offset) {
  rd_kafka_topic_partition_t *tp =
      rd_kafka_topic_partition_list_add(l, d->pl.topic_repartition, part);
  tp->offset = offset;
  int64_t *wm = cxp_xcalloc((size_t)(d->n_inputs > 0 ? d->n_inputs : 1), sizeof *wm);
  int32_t n = cxp_core_merge_watermarks(&d->core, part, offset, wm);
  int64_t low = INT64_MAX;
  int known = 0, all = n > 0;
  for (int32_t i = 0; i < n; i++) {
    if (wm[i] == INT64_MIN) {
      all = 0;
      continue;
    }
    known++;
    if (wm[i] < low) low = wm[i];
  }
  cxp_buf meta;
  cxp_buf_init(&meta);
  if (known) {
    cxp_buf_printf(&meta, WM_META "%lld:", (long long)low);
    for (int32_t i = 0; i < n && meta.len < META_MAX; i++) {
      if (i) cxp_buf_putc(&meta, ',');
      if (wm[i] == INT64_MIN)
        cxp_buf_putc(&meta, '-');
      else
        cxp_buf_printf(&meta, "%lld", (long long)(wm[i] - low));
    }
    if (meta.len >= META_MAX) {
      meta.len = 0;
      if (all) cxp_buf_printf(&meta, FLOOR_META "%lld", (long long)low);
    }
  }
  free(wm);
  if (meta.len) {
    tp->metadata = cxp_xmalloc(meta.len);
    memcpy(tp->metadata, meta.p, meta.len);
    tp->metadata_size = meta.len;
  }
  cxp_buf_free(&meta);
}

/* Reads WM_META's form back into wm[0..n); 0, or -1 when it is not that
 * form or names another number of partitions. */
int daemon_parse_wm_meta(const char *s, size_t len, int64_t *wm, int32_t n) {
  size_t hl = sizeof WM_META - 1;
  if (len <= hl || len > META_MAX + 64 || memcmp(s, WM_META, hl) != 0) return -1;
  char *buf = malloc(len - hl + 1), *p, *end;
  if (buf == NULL) return -1;
  memcpy(buf, s + hl, len - hl);
  buf[len - hl] = '\0';
  int32_t i = 0;
  long long low = strtoll(buf, &end, 10);
  int bad = end == buf || *end != ':';
  for (p = end + 1; !bad && i < n; i++) {
    if (*p == '-') {
      wm[i] = INT64_MIN;
      end = p + 1;
    } else {
      long long dlt = strtoll(p, &end, 10);
      if (end == p || dlt < 0 || (long long)INT64_MAX - dlt < low) bad = 1;
      wm[i] = (int64_t)(low + dlt);
    }
    /* A comma between values, the end after the n-th: another count of
     * partitions is refused. */
    if (i < n - 1 && *end == ',')
      p = end + 1;
    else if (i < n - 1 || *end != '\0')
      bad = 1;
  }
  free(buf);
  return bad || i != n ? -1 : 0;
}

/* The repartition partitions' positions, each with its floor; NULL when
 * there is none. librdkafka 2.0.2 drops metadata from stored offsets, so
 * these are committed explicitly, not stored. */
rd_kafka_topic_partition_list_t *daemon_repart_positions(cxp_daemon *d) {
  rd_kafka_topic_partition_list_t *l = NULL;
  for (int32_t i = 0; i < d->roffsets.n; i++) {
    cxp_tracker *t = d->roffsets.by_partition[i];
    if (t == NULL || t->stored < 0) continue;
    if (l == NULL) l = rd_kafka_topic_partition_list_new(8);
    daemon_add_repart(d, l, t->partition, t->stored);
  }
  return l;
}

/* Hands every input partition's commit point to the consumer, and marks
 * the repartition partitions' for daemon_on_commit_timer; the commit timer
 * commits them. */
void daemon_store_offsets(cxp_daemon *d) {
  rd_kafka_topic_partition_list_t *l = NULL;
  for (int k = 0; k < 2; k++) {
    cxp_offsets *o = k ? &d->roffsets : &d->offsets;
    for (int32_t i = 0; i < o->n; i++) {
      cxp_tracker *t = o->by_partition[i];
      if (t == NULL) continue;
      int64_t c = daemon_commit_point(d, o, t);
      if (c < 0 || c <= t->stored) continue;
      if (k) { /* committed with its floor by daemon_on_commit_timer */
        t->stored = c;
        d->repart_pending = 1;
        continue;
      }
      if (l == NULL) l = rd_kafka_topic_partition_list_new(16);
      rd_kafka_topic_partition_list_add(l, d->pl.topic_input, t->partition)->offset = c;
      t->stored = c;
    }
  }
  if (l == NULL) return;
  rd_kafka_resp_err_t e = rd_kafka_offsets_store(d->consumer, l);
  if (e) cxp_warn("commit", "storing offsets: %s", rd_kafka_err2str(e));
  d->stored_since_commit = 1;
  rd_kafka_topic_partition_list_destroy(l);
}

void daemon_on_commit_result(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t *offsets, void *opaque) {
  (void)rk;
  (void)offsets;
  cxp_daemon *d = opaque;
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    d->commits++;
  } else if (err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
    d->commit_failures++;
    cxp_warn("commit", "offset commit failed: %s (the next commit carries them)",
             rd_kafka_err2str(err));
  }
}

/* Errors a commit may get past by trying again: the coordinator away, slow
 * or moving. Others (the member unknown, the generation gone) stay. */
static int retriable(rd_kafka_resp_err_t e) {
  switch (e) {
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__WAIT_COORD:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
      return 1;
    default:
      return 0;
  }
}

/* A commit that must land before what follows (a revoke's, the
 * shutdown's), waited for at most shutdown.timeout_ms in all (at shutdown:
 * until STOP_GRACE_MS past the wait for outputs) and tried again
 * while the coordinator is away or slow: what it fails to commit is read
 * again by the next owner (and skipped, with durable state), so it is worth a
 * bounded wait on a path that blocks anyway; librdkafka's own synchronous
 * commit would wait for socket.timeout.ms (60 s), unbounded by retries. The
 * result comes back as an event on a queue of its own, so a late one after
 * the deadline is dropped with the queue. */
rd_kafka_resp_err_t daemon_commit_sync(cxp_daemon *d, const rd_kafka_topic_partition_list_t *l) {
  int64_t deadline = d->stopping ? d->stop_deadline_ms + STOP_GRACE_MS
                                 : cxp_wall_ms() + d->cfg.shutdown_timeout_ms;
  rd_kafka_queue_t *q = rd_kafka_queue_new(d->consumer);
  rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR__TIMED_OUT;
  for (int attempt = 0; cxp_wall_ms() < deadline; attempt++) {
    if (attempt) usleep(100000);
    e = rd_kafka_commit_queue(d->consumer, l, q, NULL, NULL);
    while (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
      int64_t left = deadline - cxp_wall_ms();
      if (left <= 0) {
        e = RD_KAFKA_RESP_ERR__TIMED_OUT;
        break;
      }
      rd_kafka_event_t *ev = rd_kafka_queue_poll(q, (int)(left < 100 ? left : 100));
      if (ev == NULL) continue;
      int is_result = rd_kafka_event_type(ev) == RD_KAFKA_EVENT_OFFSET_COMMIT;
      if (is_result) e = rd_kafka_event_error(ev);
      rd_kafka_event_destroy(ev);
      if (is_result) {
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) goto done;
        break;
      }
    }
    int again = retriable(e) && cxp_wall_ms() < deadline;
    if (e != RD_KAFKA_RESP_ERR__NO_OFFSET)
      cxp_warn("commit", "commit failed: %s%s", rd_kafka_err2str(e), again ? "; trying again" : "");
    if (!again) break;
  }
done:
  rd_kafka_queue_destroy(q);
  return e;
}

void daemon_on_commit_timer(uv_timer_t *t) {
  cxp_daemon *d = container_of(t, cxp_daemon, commit);
  /* Counts of repeated log lines held back (log.h): written once their
   * interval is over, even if the fault that caused them has stopped. */
  cxp_log_flush_suppressed();
  daemon_store_offsets(d);
  daemon_model_publish(d);
  if (d->repart_pending && d->assigned > 0) {
    rd_kafka_topic_partition_list_t *l = daemon_repart_positions(d);
    if (l) {
      rd_kafka_commit(d->consumer, l, 1);
      rd_kafka_topic_partition_list_destroy(l);
    }
    d->repart_pending = 0;
  }
  if (!d->stored_since_commit || d->assigned == 0) return;
  d->stored_since_commit = 0;
  /* Asynchronous: the result comes back through daemon_on_commit_result. */
  rd_kafka_commit(d->consumer, NULL, 1);
}
