/* The consumer loop: slices of messages, each message through the core,
 * rebalances, and the window clocks of quiet partitions (daemon_int.h). */
#include "daemon_int.h"
#include "xalloc.h"

/* ---- Rebalances --------------------------------------------------------- */

static int is_repart(const cxp_daemon *d, const char *topic);
static void committed_positions(cxp_daemon *d, rd_kafka_t *rk,
                                const rd_kafka_topic_partition_list_t *parts);

/* Where a partition with no position of its own starts, as an absolute
 * offset: with auto.offset.reset reading from the earliest, the low
 * watermark its fetches brought (none fetched: nothing was purged, and no
 * seek is needed). RD_KAFKA_OFFSET_INVALID otherwise: no seek. Never a
 * logical offset: a seek to one sends an offset request whose answer the
 * resume right after it makes outdated (librdkafka drops it), and the
 * partition then waits for ever (a sanitizer run of test_kafka's faults
 * phase, its new group, read none of one partition). */
static int64_t reset_position(cxp_daemon *d, const char *topic, int32_t p) {
  char v[32];
  size_t n = sizeof v;
  if (rd_kafka_conf_get(rd_kafka_conf(d->consumer), "auto.offset.reset", v, &n) !=
      RD_KAFKA_CONF_OK)
    return RD_KAFKA_OFFSET_INVALID;
  if (strcmp(v, "smallest") != 0 && strcmp(v, "earliest") != 0 &&
      strcmp(v, "beginning") != 0)
    return RD_KAFKA_OFFSET_INVALID;
  int64_t lo = -1, hi = -1;
  if (rd_kafka_get_watermark_offsets(d->consumer, topic, p, &lo, &hi) != 0 || lo < 0)
    return RD_KAFKA_OFFSET_INVALID;
  return lo;
}

/* The offset of a partition's next message by the daemon's own account:
 * one past the last it handled, or the committed offset it was assigned
 * at; for an input partition that has neither, the first offset dropped
 * while it was being restored; else where auto.offset.reset starts
 * (reset_position). */
static int64_t resume_position(cxp_daemon *d, const char *topic, int32_t p) {
  int repart = is_repart(d, topic);
  cxp_tracker *t = cxp_offsets_get(repart ? &d->roffsets : &d->offsets, p);
  if (t && t->next >= 0) return t->next;
  cl_part *c = !repart && p < d->n_cl ? &d->cl[p] : NULL;
  if (c && c->early >= 0) return c->early;
  return reset_position(d, topic, p);
}

/* Where each partition of a list about to be resumed goes on from, as a
 * list to seek once the resume is done (NULL when none is known).
 *
 * librdkafka resumes a paused partition where the pause left its fetcher:
 * one past the last message the application polled or, when it had polled
 * none of it since its assignment or a seek, one past the last message
 * fetched, and the pause purged those fetched and not yet polled. A pause
 * that came after a fetch and before the first poll (the restore's pause on
 * assignment, or the producer's back-pressure) lost them: seen as six
 * events of a partition never read after a restart (test_kafka, restore
 * phase, in a CI run). So every partition is sought to its position by our
 * account (resume_position): librdkafka has one only for a partition some
 * message of which was polled, and that message was handled (the
 * tracker's next) or dropped while restoring (early), so ours is known
 * wherever its is. An input partition with no position has its committed
 * offset asked again (the query at the assignment may have timed out), once
 * an assignment and bounded as that one is. A restored partition's first
 * dropped message (early) is spent here. */
static rd_kafka_topic_partition_list_t *resume_positions(
    cxp_daemon *d, const rd_kafka_topic_partition_list_t *l) {
  rd_kafka_topic_partition_list_t *at = rd_kafka_topic_partition_list_copy(l);
  rd_kafka_topic_partition_list_t *ask = rd_kafka_topic_partition_list_new(l->cnt);
  for (int i = 0; i < at->cnt; i++) {
    rd_kafka_topic_partition_t *tp = &at->elems[i];
    tp->offset = resume_position(d, tp->topic, tp->partition);
    cxp_tracker *t =
        is_repart(d, tp->topic) ? NULL : cxp_offsets_get(&d->offsets, tp->partition);
    if (t == NULL || t->asked || tp->offset >= 0) continue;
    t->asked = 1; /* a partition never committed has none: asked once */
    rd_kafka_topic_partition_list_add(ask, tp->topic, tp->partition);
  }
  if (ask->cnt) {
    committed_positions(d, d->consumer, ask);
    for (int i = 0; i < at->cnt; i++)
      if (at->elems[i].offset < 0)
        at->elems[i].offset =
            resume_position(d, at->elems[i].topic, at->elems[i].partition);
  }
  rd_kafka_topic_partition_list_destroy(ask);
  for (int i = at->cnt - 1; i >= 0; i--) {
    rd_kafka_topic_partition_t *tp = &at->elems[i];
    if (!is_repart(d, tp->topic) && tp->partition < d->n_cl)
      d->cl[tp->partition].early = -1;
    if (tp->offset < 0) rd_kafka_topic_partition_list_del_by_idx(at, i);
  }
  if (at->cnt) return at;
  rd_kafka_topic_partition_list_destroy(at);
  return NULL;
}

/* A resume is followed by a seek of every partition to where it goes on
 * from, even where librdkafka's position is the same: besides moving a
 * fetcher the pause left astray, the seek wakes the broker thread. A bare
 * resume does not, and the partition's next fetch waited for the thread's
 * next turn: up to a second per resume (librdkafka 2.0.2, seen in
 * test_kafka's pause_first phase under load: 200 events in over 60 s). The
 * seek comes after the resume so that the fetcher it wakes finds the
 * partition resumed; messages fetched before it are older than its
 * version barrier and never reach the application. */
void daemon_pause_list(cxp_daemon *d, rd_kafka_topic_partition_list_t *l, int pause) {
  rd_kafka_topic_partition_list_t *at = pause ? NULL : resume_positions(d, l);
  rd_kafka_resp_err_t e = pause ? rd_kafka_pause_partitions(d->consumer, l)
                                : rd_kafka_resume_partitions(d->consumer, l);
  if (e)
    cxp_warn("consumer", "%s partitions: %s", pause ? "pausing" : "resuming",
             rd_kafka_err2str(e));
  if (at == NULL) return;
  rd_kafka_error_t *se = rd_kafka_seek_partitions(d->consumer, at, 0);
  if (se) {
    cxp_error("consumer", "seeking the partitions resumed to their positions: %s",
              rd_kafka_error_string(se));
    rd_kafka_error_destroy(se);
  }
  rd_kafka_topic_partition_list_destroy(at);
}

/* Input partitions still being restored stay paused whatever else does:
 * taken out of a list about to be resumed. */
static void keep_restoring_paused(cxp_daemon *d, rd_kafka_topic_partition_list_t *l) {
  for (int i = l->cnt - 1; i >= 0; i--)
    if (!is_repart(d, l->elems[i].topic) && daemon_restoring(d, l->elems[i].partition))
      rd_kafka_topic_partition_list_del_by_idx(l, i);
}

void daemon_pause_all(cxp_daemon *d, int pause) {
  rd_kafka_topic_partition_list_t *l = NULL;
  if (rd_kafka_assignment(d->consumer, &l) == 0 && l) {
    if (!pause) keep_restoring_paused(d, l);
    if (l->cnt) daemon_pause_list(d, l, pause);
    rd_kafka_topic_partition_list_destroy(l);
  }
  if (pause && !d->paused && !d->stopping) {
    d->pauses++;
    cxp_debug("consumer", "producer queue full: consumption paused");
  }
  if (pause && !d->paused) d->paused_since_ms = cxp_wall_ms();
  if (!pause) d->paused_since_ms = 0;
  d->paused = pause;
}

/* Outputs awaiting acknowledgement, held or in the producer, but for those
 * that never will be (stuck). */
uint64_t daemon_outputs_waiting(const cxp_daemon *d) {
  uint64_t n = d->offsets.in_flight + d->roffsets.in_flight;
  return n > d->stuck ? n - d->stuck : 0;
}

/* Waits, on a revoke, until the outputs of the partitions going away are
 * acknowledged, so that their final offsets can be committed. This is the
 * one place the loop blocks, bounded by shutdown.timeout_ms: the group
 * protocol gives the partitions away when the callback returns. */
static void finish_outputs(cxp_daemon *d, int64_t timeout_ms) {
  int64_t deadline = cxp_wall_ms() + timeout_ms;
  if (d->stopping && deadline > d->stop_deadline_ms) deadline = d->stop_deadline_ms;
  daemon_cl_send_ready(d);
  while ((daemon_outputs_waiting(d) || d->pend_head || daemon_cl_busy(d)) &&
         cxp_wall_ms() < deadline) {
    daemon_retry_pending(d);
    rd_kafka_flush(d->producer, 50);
    daemon_cl_send_ready(d);
  }
  if (daemon_outputs_waiting(d))
    cxp_warn("output", "%" PRIu64 " outputs still unacknowledged after %lld ms; "
             "their inputs stay uncommitted and will be read again",
             daemon_outputs_waiting(d), (long long)timeout_ms);
}

static int is_repart(const cxp_daemon *d, const char *topic) {
  return strcmp(topic, d->pl.topic_repartition) == 0;
}

static void drain_held(cxp_daemon *d);

/* The committed position of each partition assigned: where its next
 * message should be (a later one means the offsets between were lost to
 * retention, handle_message), and, for a repartition partition, the floor
 * its last commit carried, for its merger before any of its messages
 * (merge.h, "Restarts"). A bounded synchronous query, as the revoke's
 * commit is: a rebalance has nothing else to do meanwhile. Without it
 * (timed out, none committed yet, a commit of an older build) the partition
 * has no expected offset and the merger no floor. */
static void committed_positions(cxp_daemon *d, rd_kafka_t *rk,
                                const rd_kafka_topic_partition_list_t *parts) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_copy(parts);
  rd_kafka_resp_err_t e = rd_kafka_committed(rk, l, 2000);
  if (e) cxp_warn("consumer", "committed positions of the partitions assigned: %s; lost input "
                  "cannot be told from their first messages, and mergers start with no floor",
                  rd_kafka_err2str(e));
  for (int i = 0; !e && i < l->cnt; i++) {
    const rd_kafka_topic_partition_t *tp = &l->elems[i];
    int repart = is_repart(d, tp->topic);
    cxp_tracker *t = cxp_offsets_get(repart ? &d->roffsets : &d->offsets, tp->partition);
    if (t && !tp->err && tp->offset >= 0) t->next = tp->offset;
    if (!repart) continue;
    int64_t *wm = tp->err || tp->metadata == NULL || d->n_inputs < 1
                      ? NULL
                      : cxp_xcalloc((size_t)d->n_inputs, sizeof *wm);
    if (wm && daemon_parse_wm_meta(tp->metadata, tp->metadata_size, wm, d->n_inputs) == 0) {
      cxp_core_merge_set_watermarks(&d->core, tp->partition, wm, d->n_inputs);
      cxp_info("merge", "%s [%d]: committed at %lld with the input partitions' watermarks",
               d->pl.topic_repartition, (int)tp->partition, (long long)tp->offset);
      free(wm);
      continue;
    }
    free(wm);
    size_t hl = sizeof FLOOR_META - 1;
    char buf[64];
    if (tp->err || tp->metadata == NULL || tp->metadata_size <= hl ||
        tp->metadata_size >= sizeof buf || memcmp(tp->metadata, FLOOR_META, hl) != 0) {
      cxp_info("merge", "%s [%d]: committed at %lld without a floor", d->pl.topic_repartition,
               (int)tp->partition, (long long)tp->offset);
      continue;
    }
    memcpy(buf, (const char *)tp->metadata + hl, tp->metadata_size - hl);
    buf[tp->metadata_size - hl] = '\0';
    char *end;
    long long floor = strtoll(buf, &end, 10);
    if (*end != '\0') continue;
    cxp_core_merge_set_floor(&d->core, tp->partition, floor);
    cxp_info("merge", "%s [%d]: committed at %lld; windows ending at or before %lld were "
             "emitted before", d->pl.topic_repartition, (int)tp->partition,
             (long long)tp->offset, floor);
  }
  rd_kafka_topic_partition_list_destroy(l);
}

/* Runs `fn` with outputs counted against an entry opened at the last offset
 * seen on the partition, so that offset is committed only once they are
 * acknowledged. */
static void with_tail_entry(cxp_daemon *d, cxp_offsets *o, int32_t part, int64_t now_ms,
                            void (*fn)(cxp_daemon *, const daemon_call *, void *), void *arg) {
  cxp_tracker *t = cxp_offsets_get(o, part);
  uint64_t seq = t ? cxp_offsets_begin_tail(o, t) : 0;
  daemon_call call = {cxp_msg_clock(part, now_ms), o, seq ? t : NULL, seq};
  fn(d, &call, arg);
  if (seq) cxp_offsets_end(o, t, seq);
}

static void drop_input(cxp_daemon *d, const daemon_call *call, void *arg) {
  (void)arg;
  cxp_core_drop_input(&d->core, &call->m, 1);
}

/* Partitions given: tracked, positioned at their commits, assigned; each
 * input partition with durable state waits, paused, while its changelog
 * partition is read back (the others go on). */
static void on_assign(cxp_daemon *d, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts,
                      int cooperative) {
  for (int i = 0; i < parts->cnt; i++)
    cxp_offsets_add(is_repart(d, parts->elems[i].topic) ? &d->roffsets : &d->offsets,
                    parts->elems[i].partition);
  committed_positions(d, rk, parts);
  rd_kafka_error_t *e = NULL;
  rd_kafka_resp_err_t re = 0;
  if (cooperative)
    e = rd_kafka_incremental_assign(rk, parts);
  else
    re = rd_kafka_assign(rk, parts);
  if (e) {
    cxp_error("consumer", "assign: %s", rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
  } else if (re) {
    cxp_error("consumer", "assign: %s", rd_kafka_err2str(re));
  }
  d->assigned += parts->cnt;
  if (d->paused || d->stopping) daemon_pause_list(d, parts, 1);
  for (int i = 0; d->restore && i < parts->cnt; i++) {
    int32_t p = parts->elems[i].partition;
    if (is_repart(d, parts->elems[i].topic)) continue;
    daemon_cl_reset(d, p);
    if (daemon_snapshot_load(d, p) != 0 &&
        cxp_restore_begin(d->restore, p, RD_KAFKA_OFFSET_BEGINNING) != 0) {
      cxp_error("restore", "%s [%d]: cannot start its restore; the partition is processed "
                "with the state it has", d->pl.topic_changelog, (int)p);
      continue;
    }
    rd_kafka_topic_partition_list_t *one = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(one, d->pl.topic_input, p);
    daemon_pause_list(d, one, 1);
    rd_kafka_topic_partition_list_destroy(one);
  }
  cxp_info("consumer", "assigned %d partition(s) of %s and %s; holding %d", parts->cnt,
           d->pl.topic_input, d->pl.topic_repartition, d->assigned);
  /* Ready once partitions are held (state is in memory: nothing to
   * restore until durable state exists). */
  if (!d->ready_sent && d->assigned > 0) {
    d->ready_sent = 1;
    cxp_notify_ready(&d->notify);
    cxp_notify_status(&d->notify, "consuming %s: %d partition(s)", d->pl.topic_input,
                      d->assigned);
  }
}

/* Commits the final positions of partitions going away, synchronously, so
 * the next owner starts where this instance ended. */
static void commit_revoked(cxp_daemon *d, const rd_kafka_topic_partition_list_t *parts) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(parts->cnt);
  for (int i = 0; i < parts->cnt; i++) {
    cxp_offsets *o = is_repart(d, parts->elems[i].topic) ? &d->roffsets : &d->offsets;
    cxp_tracker *t = cxp_offsets_get(o, parts->elems[i].partition);
    int64_t c = t ? daemon_commit_point(d, o, t) : -1;
    if (c >= 0 && o == &d->roffsets)
      daemon_add_repart(d, l, t->partition, c);
    else if (c >= 0)
      rd_kafka_topic_partition_list_add(l, parts->elems[i].topic, t->partition)->offset = c;
  }
  if (l->cnt) {
    rd_kafka_resp_err_t ce = daemon_commit_sync(d, l);
    if (ce) {
      d->commit_failures++;
      cxp_warn("commit", "commit on revoke failed: %s", rd_kafka_err2str(ce));
    } else {
      d->commits++;
    }
  }
  rd_kafka_topic_partition_list_destroy(l);
}

/* Partitions revoked in good order: what they started is handed over. */
static void hand_over(cxp_daemon *d, const rd_kafka_topic_partition_list_t *parts) {
  /* The open windows of the input partitions going away are sent as early
   * partials: the next owner's partials of the same windows merge with them
   * (their records' tombstones go with the flush below). */
  for (int i = 0; i < parts->cnt; i++)
    if (!is_repart(d, parts->elems[i].topic))
      with_tail_entry(d, &d->offsets, parts->elems[i].partition, d->now_ms, drop_input, NULL);
  /* Their changed customers go to the changelog before they are dropped:
   * the next owner restores them. */
  for (int i = 0; d->restore && i < parts->cnt; i++)
    if (!is_repart(d, parts->elems[i].topic)) daemon_cl_flush(d, parts->elems[i].partition);
  /* Finish what these partitions started, then commit their final
   * positions. */
  finish_outputs(d, d->cfg.shutdown_timeout_ms);
  commit_revoked(d, parts);
  /* At shutdown, each input partition's state goes to its snapshot file
   * for a restart on this machine (blocking file I/O: the loop has nothing
   * else to do by now). */
  for (int i = 0; d->stopping && d->snap_dir[0] && i < parts->cnt; i++)
    if (!is_repart(d, parts->elems[i].topic)) daemon_snapshot_save(d, parts->elems[i].partition);
}

/* Partitions revoked (lost: their session timed out, nothing is handed
 * over). A revoked partition's customers and windows go as one unit; a
 * repartition partition's merger goes unemitted (its uncommitted partials
 * are read again by the next owner). */
static void on_revoke(cxp_daemon *d, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts,
                      int cooperative) {
  int lost = rd_kafka_assignment_lost(rk);
  for (int i = 0; d->restore && i < parts->cnt; i++)
    if (!is_repart(d, parts->elems[i].topic))
      cxp_restore_cancel(d->restore, parts->elems[i].partition);
  if (!lost)
    hand_over(d, parts);
  else
    cxp_warn("consumer", "%d partition(s) lost (session timed out); uncommitted events "
             "will be read again by their next owner", parts->cnt);
  if (cooperative) {
    rd_kafka_error_t *e = rd_kafka_incremental_unassign(rk, parts);
    if (e) {
      cxp_error("consumer", "unassign: %s", rd_kafka_error_string(e));
      rd_kafka_error_destroy(e);
    }
  } else {
    rd_kafka_assign(rk, NULL);
  }
  for (int i = 0; i < parts->cnt; i++) {
    int32_t part = parts->elems[i].partition;
    if (is_repart(d, parts->elems[i].topic)) {
      cxp_offsets_remove(&d->roffsets, part);
      cxp_core_drop_merge(&d->core, part);
    } else {
      cxp_offsets_remove(&d->offsets, part);
      if (d->restore) daemon_cl_reset(d, part);
      /* Lost partitions still hold their windows: drop them unsent. */
      daemon_call none = {cxp_msg_clock(part, d->now_ms), &d->offsets, NULL, 0};
      cxp_core_drop_input(&d->core, &none.m, 0);
      cxp_core_drop_state(&d->core, part);
    }
  }
  d->assigned -= parts->cnt;
  if (d->assigned < 0 || !cooperative) d->assigned = 0;
  cxp_info("consumer", "revoked %d partition(s); holding %d", parts->cnt, d->assigned);
}

void daemon_on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
  cxp_daemon *d = opaque;
  int cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  /* Messages polled before this rebalance come before it. */
  drain_held(d);
  d->rebalances++;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    on_assign(d, rk, parts, cooperative);
  } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    on_revoke(d, rk, parts, cooperative);
  } else {
    cxp_error("consumer", "rebalance error: %s", rd_kafka_err2str(err));
    if (cooperative) {
      rd_kafka_error_t *e = rd_kafka_incremental_unassign(rk, parts);
      if (e) rd_kafka_error_destroy(e);
    } else {
      rd_kafka_assign(rk, NULL);
    }
  }
}

/* librdkafka's statistics JSON: keeps topics.<input>.partitions.<p>.consumer_lag. */
int daemon_on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque) {
  (void)rk;
  cxp_daemon *d = opaque;
  cJSON *root = cJSON_ParseWithLength(json, len);
  const cJSON *topics = cJSON_GetObjectItemCaseSensitive(root, "topics");
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(topics, d->pl.topic_input);
  const cJSON *parts = cJSON_GetObjectItemCaseSensitive(t, "partitions"), *p;
  cJSON_ArrayForEach(p, parts) {
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(p, "partition");
    const cJSON *lag = cJSON_GetObjectItemCaseSensitive(p, "consumer_lag");
    if (!cJSON_IsNumber(id) || !cJSON_IsNumber(lag) || id->valueint < 0 || id->valueint > 0xffff)
      continue;
    int32_t i = id->valueint;
    if (i >= d->n_committed_lag) {
      int32_t n = i + 16;
      int64_t *nl = cxp_xrealloc(d->committed_lag, sizeof *nl * (size_t)n);
      for (int32_t k = d->n_committed_lag; k < n; k++) nl[k] = -1;
      d->committed_lag = nl;
      d->n_committed_lag = n;
    }
    d->committed_lag[i] = (int64_t)lag->valuedouble;
  }
  cJSON_Delete(root);
  return 0; /* librdkafka frees json */
}

void daemon_on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
  cxp_daemon *d = opaque;
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char buf[512];
    rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof buf);
    cxp_error("kafka", "fatal error %s: %s; shutting down", rd_kafka_err2name(orig), buf);
    d->exit_code = 1;
    cxp_daemon_stop(d, d->on_stopped, d->stopped_arg);
    return;
  }
  /* Transport errors come and go as brokers restart; librdkafka
   * reconnects by itself. */
  cxp_warn("kafka", "%s: %s", rd_kafka_err2name(err), reason);
}

/* ---- The loop ----------------------------------------------------------- */

/* A message further on than the partition's next offset. If the log now
 * starts past that offset, the offsets between were deleted (the topic's
 * retention) before they were read, and the consumer's offset reset
 * skipped them: an error, a count, and a dead letter offsets_skipped with
 * the range, produced as an output of this message (it is committed only
 * once the marker is out). A gap within the log is not a loss: control
 * records of transactions, or compaction. */
static void input_gap(cxp_daemon *d, const daemon_call *call, const rd_kafka_message_t *m,
                      int repart) {
  cxp_tracker *t = call->t;
  const char *topic = repart ? d->pl.topic_repartition : d->pl.topic_input;
  int64_t lo = -1, hi = -1;
  if (rd_kafka_get_watermark_offsets(d->consumer, topic, m->partition, &lo, &hi) != 0 ||
      lo <= t->next)
    return;
  int64_t first = t->next, last = m->offset - 1;
  d->offsets_skipped += (uint64_t)(last - first + 1);
  char detail[640];
  snprintf(detail, sizeof detail, "offsets %" PRId64 "..%" PRId64 " of %s [%d] were deleted "
           "by the topic's retention before they were read: %" PRId64 " message(s) lost; "
           "going on from offset %" PRId64, first, last, topic, (int)m->partition,
           last - first + 1, m->offset);
  cxp_error("consumer", "%s", detail);
  cxp_msg src = {.topic = topic, .partition = m->partition, .offset = first,
                 .received_ms = d->now_ms};
  cxp_dead_letter dl = {.reason = CXP_BAD_OFFSETS_SKIPPED, .detail = detail, .payload = "",
                        .skipped_first = first, .skipped_last = last};
  daemon_send_dead_letter(d, &src, &dl, daemon_next_token(d, call));
}

static void handle_message(cxp_daemon *d, rd_kafka_message_t *m, int repart) {
  if (m->err) {
    if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
      cxp_warn("consumer", "%s [%d]: %s", m->rkt ? rd_kafka_topic_name(m->rkt) : "-",
               (int)m->partition, rd_kafka_message_errstr(m));
    return;
  }
  if (!repart && daemon_restoring(d, m->partition)) {
    /* Fetched before the pause took hold: not processed now, read again
     * once the restore is done. */
    cl_part *c = daemon_cl_get(d, m->partition);
    if (c && (c->early < 0 || m->offset < c->early)) c->early = m->offset;
    return;
  }
  if (!repart) d->input_bytes += m->len;
  cxp_offsets *o = repart ? &d->roffsets : &d->offsets;
  cxp_tracker *t = cxp_offsets_get(o, m->partition);
  if (t == NULL) t = cxp_offsets_add(o, m->partition);
  if (t == NULL) {
    cxp_warn("consumer", "partition %d is past the 65535 the daemon tracks; message skipped",
             (int)m->partition);
    return;
  }
  daemon_call call = {{repart ? d->pl.topic_repartition : d->pl.topic_input, m->partition,
                       m->offset, m->payload ? m->payload : "", m->payload ? m->len : 0, m->key,
                       m->key_len, d->now_ms, d->now_ms, !repart},
                      o, t, cxp_offsets_begin(o, t, m->offset)};
  if (t->next >= 0 && m->offset > t->next) input_gap(d, &call, m, repart);
  t->next = m->offset + 1;
  if (repart)
    cxp_core_process_repartition(&d->core, &call.m);
  else
    cxp_core_process(&d->core, &call.m);
  cxp_offsets_end(o, t, call.seq);
}

static void prefetch_message(cxp_daemon *d, const struct held *h, int far) {
  if (h->hashed) cxp_core_prefetch(&d->core, h->m->partition, h->h, far);
}

/* Handles and releases the oldest message held. */
static void take_held(cxp_daemon *d) {
  struct held h = d->held[0];
  d->held[0] = d->held[1];
  d->held[1] = d->held[2];
  d->n_held--;
  handle_message(d, h.m, h.repart);
  rd_kafka_message_destroy(h.m);
  d->handled++;
}

/* Handles the messages polled ahead, in order (a rebalance is about to
 * change what the daemon holds). */
static void drain_held(cxp_daemon *d) {
  while (d->n_held > 0) take_held(d);
}

/* ---- Window clocks ------------------------------------------------------- */

static void tick_input(cxp_daemon *d, const daemon_call *call, void *arg) {
  (void)arg;
  int n = cxp_core_tick_input(&d->core, &call->m);
  if (n)
    cxp_debug("windows", "partition %d: %d window(s) closed by its quiet clock",
              (int)call->m.partition, n);
}

static void tick_merge(cxp_daemon *d, const daemon_call *call, void *arg) {
  (void)arg;
  cxp_core_tick_merge(&d->core, &call->m);
}

/* True when the consumer has read everything the partition held at the last
 * fetch: only then may wall time stand in for the events to come. A
 * partition with a backlog, or paused, waits for its events instead. */
/* Messages of an input partition not consumed yet: its high watermark, as
 * the client cached it (no request, no wait), minus the daemon's position
 * (the tracker's next: one past the last message handled, or the committed
 * offset it was assigned at); -1 when either is not known yet. Not
 * librdkafka's position: a seek clears that until the next message is
 * polled, and every resume seeks, so a quiet partition resumed after
 * back-pressure read as -1 for good, never counted as caught up, and its
 * windows' quiet clock waited for its next event. */
int64_t daemon_input_lag(cxp_daemon *d, int32_t part) {
  const cxp_tracker *t = cxp_offsets_get(&d->offsets, part);
  int64_t pos = t ? t->next : -1, lo = -1, hi = -1;
  if (rd_kafka_get_watermark_offsets(d->consumer, d->pl.topic_input, part, &lo, &hi) != 0)
    hi = -1;
  if (pos < 0 || hi < 0) return -1;
  return hi > pos ? hi - pos : 0;
}

static int caught_up(cxp_daemon *d, int32_t part) {
  return !d->paused && daemon_input_lag(d, part) == 0;
}

void daemon_on_tick_timer(uv_timer_t *h) {
  cxp_daemon *d = container_of(h, cxp_daemon, tick);
  if (d->stopping) return;
  int64_t now = cxp_wall_ms();
  for (int32_t i = 0; i < d->offsets.n; i++)
    if (d->offsets.by_partition[i] && !daemon_restoring(d, i) && caught_up(d, i))
      with_tail_entry(d, &d->offsets, i, now, tick_input, NULL);
  for (int32_t i = 0; i < d->roffsets.n; i++)
    if (d->roffsets.by_partition[i]) with_tail_entry(d, &d->roffsets, i, now, tick_merge, NULL);
  daemon_store_offsets(d);
}

/* One slice: delivery reports, then up to poll.batch messages, then the
 * offsets they made committable. Returns 1 when work is left over. */
int daemon_run_slice(cxp_daemon *d) {
  int more = 0;
  d->now_ms = cxp_wall_ms();
  d->offsets.now_us = d->roffsets.now_us = (int64_t)(uv_hrtime() / 1000);
  rd_kafka_poll(d->producer, 0);
  daemon_retry_pending(d);
  if (!d->stopping) {
    long long budget = d->cfg.poll_batch;
    d->handled = 0;
    cxp_core_batch_begin(&d->core);
    for (;;) {
      /* Up to two messages ahead of the next one, within the budget. */
      while (d->n_held < 3 && d->handled + d->n_held < budget) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(d->consumer, 0);
        if (m == NULL) break;
        struct held *h = &d->held[d->n_held++];
        h->m = m;
        h->repart = m->rkt && is_repart(d, rd_kafka_topic_name(m->rkt));
        h->hashed = !m->err && !h->repart && m->key != NULL && m->key_len > 0;
        h->h = h->hashed ? cxp_shard_hash(m->key, m->key_len) : 0;
      }
      if (d->n_held == 0) break;
      /* The one after the next: his customer's lines; the one after that:
       * the table slot that leads to him. */
      if (d->n_held >= 2) prefetch_message(d, &d->held[1], 0);
      if (d->n_held >= 3) prefetch_message(d, &d->held[2], 1);
      take_held(d);
    }
    cxp_core_batch_end(&d->core);
    more = d->handled == budget;
    if (d->restore && cxp_restore_poll(d->restore, (int)budget)) more = 1;
    if (d->model && cxp_restore_poll(d->model, 64)) more = 1;
    if (daemon_console_poll(d)) more = 1;
    rd_kafka_poll(d->producer, 0);
  }
  if (d->restore) daemon_cl_send_ready(d);
  /* Offsets are stored for the consumer by the commit timer, just before it
   * commits (and by the tick and flush timers, and at the stop), not after
   * every slice: that asked each partition's commit point some 60,000
   * times for a million events. */
  /* Back-pressure: a deep producer queue pauses the input until it drains;
   * delivery reports wake the loop as it does. */
  uint64_t outq = (uint64_t)rd_kafka_outq_len(d->producer);
  if (!d->stopping) {
    if (!d->paused && (outq >= (uint64_t)d->cfg.backpressure_high || d->pend_head))
      daemon_pause_all(d, 1);
    else if (d->paused && outq <= (uint64_t)d->cfg.backpressure_low && d->pend_head == NULL)
      daemon_pause_all(d, 0);
  }
  /* Held outputs are tried again at once while the queue has room; held
   * for another reason (a broker away), by the timers, not in a spin. */
  if (!more && d->pend_head && d->pend_err == RD_KAFKA_RESP_ERR__QUEUE_FULL &&
      outq < (uint64_t)d->cfg.backpressure_high)
    more = 1;
  return more || rd_kafka_queue_length(d->cq) > 0 || rd_kafka_queue_length(d->pq) > 0;
}

void daemon_on_flush_timer(uv_timer_t *h) {
  cxp_daemon *d = container_of(h, cxp_daemon, flush);
  /* Customers idle past the TTL leave, their tombstones in this flush. */
  for (int32_t i = 0; i < d->offsets.n; i++)
    if (d->offsets.by_partition[i] && !daemon_restoring(d, i)) cxp_core_state_expire(&d->core, i);
  daemon_cl_flush_all(d, 1);
  daemon_store_offsets(d);
}

/* ---- Waking the loop ----------------------------------------------------- */

static void on_more(uv_idle_t *h) {
  cxp_daemon *d = container_of(h, cxp_daemon, more);
  if (!daemon_run_slice(d)) uv_idle_stop(h);
}

void daemon_schedule(cxp_daemon *d) {
  if (daemon_run_slice(d) && !uv_is_closing((uv_handle_t *)&d->more))
    uv_idle_start(&d->more, on_more);
}

void daemon_on_wake(uv_poll_t *h, int status, int events) {
  (void)events;
  cxp_daemon *d = container_of(h, cxp_daemon, wake);
  uint64_t v;
  if (status < 0) {
    cxp_error("loop", "eventfd poll: %s", uv_strerror(status));
    return;
  }
  /* Reset the counter first: an enqueue after this read wakes us again. */
  while (read(d->efd, &v, sizeof v) == (ssize_t)sizeof v) {
  }
  daemon_schedule(d);
}

void daemon_on_serve_timer(uv_timer_t *t) {
  cxp_daemon *d = container_of(t, cxp_daemon, serve);
  daemon_schedule(d);
}

void daemon_on_stats_timer(uv_timer_t *t) {
  cxp_daemon *d = container_of(t, cxp_daemon, stats);
  const cxp_counters *n = &d->core.n;
  uint64_t dead = 0;
  for (int i = 0; i < CXP_BAD__COUNT; i++) dead += n->dead[i];
  double rate = (double)(n->consumed - d->last_consumed) / (double)d->cfg.stats_interval_s;
  d->last_consumed = n->consumed;
  cxp_cases_stats cs;
  cxp_core_cases_stats(&d->core, &cs);
  cxp_info("stats",
           "consumed=%" PRIu64 " (%.0f/s) applied=%" PRIu64 " duplicates=%" PRIu64
           " dead_letters=%" PRIu64 " alerts=%" PRIu64 " customers=%zu partitions=%d"
           " open_cases=%u outq=%d in_flight=%" PRIu64 " commits=%" PRIu64
           " commit_failures=%" PRIu64
           "%s",
           n->consumed, rate, n->processed, n->duplicates, dead,
           n->outputs[CXP_STREAM_ALERTS], d->core.state.customers, d->assigned, cs.open,
           rd_kafka_outq_len(d->producer), d->offsets.in_flight, d->commits,
           d->commit_failures, d->paused ? " paused" : "");
}
