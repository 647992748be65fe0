#include "daemon.h"

#include "daemon_int.h"
#include "prefault.h"
#include "view.h"

void daemon_on_latency(void *opaque, double seconds) {
  cxp_daemon *d = opaque;
  cxp_histogram_observe(&d->latency, seconds);
}

/* ---- Lifecycle ---------------------------------------------------------- */

cxp_daemon *cxp_daemon_create(uv_loop_t *loop, const cxp_config *c, const cxp_pipeline *p,
                              const char *config_path, char *err, size_t errlen) {
  cxp_daemon *d = calloc(1, sizeof *d);
  if (d == NULL) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  d->loop = loop;
  d->cfg = *c;
  d->pl = *p;
  d->efd = -1;
  d->pend_tail = &d->pend_head;
  snprintf(d->config_path, sizeof d->config_path, "%s", config_path ? config_path : "(config)");
  /* Snapshots: the configured directory, else systemd's StateDirectory=
   * (its first, when it names several). */
  const char *sd = c->snapshot_dir[0] ? c->snapshot_dir : getenv("STATE_DIRECTORY");
  if (sd && *sd) snprintf(d->snap_dir, sizeof d->snap_dir, "%.*s", (int)strcspn(sd, ":"), sd);
  cxp_daemon_kafka_defaults(&d->cfg, &d->pl);
  rd_kafka_conf_t *cc, *pc;
  if (cxp_kafka_confs(&d->cfg, d->config_path, &cc, &pc, err, errlen) != 0) {
    free(d);
    return NULL;
  }
  cxp_offsets_init(&d->offsets);
  cxp_offsets_init(&d->roffsets);
  d->notify.fd = -1;
  cxp_histogram_init_latency(&d->latency);
  d->offsets.latency = daemon_on_latency;
  d->offsets.latency_opaque = d;
  int ne = cxp_notify_init_env(&d->notify);
  if (ne < 0) cxp_warn("daemon", "NOTIFY_SOCKET: %s; not notifying systemd", strerror(-ne));
  cxp_core_init(&d->core, &d->pl, daemon_on_emit, d);

  char e[512];
  rd_kafka_conf_set_opaque(cc, d);
  rd_kafka_conf_set_opaque(pc, d);
  rd_kafka_conf_set_rebalance_cb(cc, daemon_on_rebalance);
  rd_kafka_conf_set_offset_commit_cb(cc, daemon_on_commit_result);
  rd_kafka_conf_set_error_cb(cc, daemon_on_error);
  rd_kafka_conf_set_stats_cb(cc, daemon_on_stats);
  rd_kafka_conf_set_error_cb(pc, daemon_on_error);
  rd_kafka_conf_set_dr_msg_cb(pc, daemon_on_delivery);

  /* On success rd_kafka_new takes ownership of the conf. */
  d->producer = rd_kafka_new(RD_KAFKA_PRODUCER, pc, e, sizeof e);
  if (d->producer == NULL) {
    snprintf(err, errlen, "producer: %s", e);
    goto fail_conf;
  }
  pc = NULL;
  d->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cc, e, sizeof e);
  if (d->consumer == NULL) {
    snprintf(err, errlen, "consumer: %s", e);
    goto fail_conf;
  }
  cc = NULL;
  const char *names[CXP_STREAM__COUNT] = {d->pl.topic_alerts,       d->pl.topic_indicators,
                                          d->pl.topic_dead_letters, d->pl.topic_repartition,
                                          d->pl.topic_repartition,  d->pl.topic_changelog,
                                          d->pl.topic_cases};
  for (int s = 0; s < CXP_STREAM__COUNT; s++) {
    if (names[s][0] == '\0') continue; /* topics.cases "": the core emits none */
    /* The internal topics' batches are compressed as the pipeline says
     * (topics.internal_compression); the outputs keep the producer's. */
    rd_kafka_topic_conf_t *tc = NULL;
    if (s == CXP_STREAM_CHANGELOG || s == CXP_STREAM_PARTIALS || s == CXP_STREAM_MARKERS) {
      tc = rd_kafka_topic_conf_new();
      if (rd_kafka_topic_conf_set(tc, "compression.codec", d->pl.topic_internal_codec, e,
                                  sizeof e) != RD_KAFKA_CONF_OK) {
        rd_kafka_topic_conf_destroy(tc);
        snprintf(err, errlen, "topics.internal_compression: %s", e);
        goto fail_conf;
      }
    }
    d->out_topic[s] = rd_kafka_topic_new(d->producer, names[s], tc);
  }
  /* The largest record the producer takes: dead letters are cut to fit it
   * (less its framing; deadletter.h), or a large bad event's dead letter
   * would be refused and its input never move on. */
  char mmb[32];
  size_t mmb_len = sizeof mmb;
  long long max_msg = 1000000;
  if (rd_kafka_conf_get(rd_kafka_conf(d->producer), "message.max.bytes", mmb, &mmb_len) ==
      RD_KAFKA_CONF_OK)
    max_msg = atoll(mmb);
  d->core.max_output = max_msg > 4096 ? (size_t)(max_msg - 512) : 3584;
  rd_kafka_poll_set_consumer(d->consumer);
  d->cq = rd_kafka_queue_get_consumer(d->consumer);
  d->pq = rd_kafka_queue_get_main(d->producer);
  return d;

fail_conf:
  if (cc) rd_kafka_conf_destroy(cc);
  if (pc) rd_kafka_conf_destroy(pc);
  cxp_daemon_destroy(d);
  return NULL;
}

void cxp_daemon_on_stopped(cxp_daemon *d, cxp_stopped_fn fn, void *arg) {
  d->on_stopped = fn;
  d->stopped_arg = arg;
}

void cxp_daemon_set_tap(cxp_daemon *d, cxp_tap_fn fn, void *opaque) {
  d->tap = fn;
  d->tap_opaque = opaque;
}

/* With segment windows: the partition counts of the input and repartition
 * topics. Mergers wait for every input partition, and partials are spread
 * over every repartition partition: both counts are needed before the first
 * event. Asked once, before the loop serves anything (bounded wait). 0, or
 * -1 after saying why. */
static int count_partitions(cxp_daemon *d) {
  d->n_inputs = cxp_kafka_topic_partitions(d->producer, d->pl.topic_input, 10000);
  d->n_repart = cxp_kafka_topic_partitions(d->producer, d->pl.topic_repartition, 10000);
  if (d->n_inputs < 1 || d->n_repart < 1) {
    cxp_error("daemon", "segment windows need the topics %s and %s to exist (%s is the "
              "internal repartition topic: create it with as many partitions as %s), or "
              "windows.enabled false",
              d->pl.topic_input, d->pl.topic_repartition, d->pl.topic_repartition,
              d->pl.topic_input);
    return -1;
  }
  cxp_core_set_inputs(&d->core, d->n_inputs, d->n_repart);
  cxp_info("daemon", "segment windows: %d input partitions merged through %s (%d partitions)",
           (int)d->n_inputs, d->pl.topic_repartition, (int)d->n_repart);
  return 0;
}

/* With durable state: the restorer, and a changelog with as many partitions
 * as the input. 0, or -1 after saying why. */
static int open_restorer(cxp_daemon *d) {
  char err[512];
  cxp_restore_cb cb = {daemon_on_restore_record, daemon_on_restore_done, d};
  d->restore = cxp_restore_create(&d->cfg, d->pl.topic_changelog, d->config_path, &cb, err,
                                  sizeof err);
  if (d->restore == NULL) {
    cxp_error("daemon", "%s", err);
    return -1;
  }
  /* Asked through the restorer: it then knows the changelog's leaders
   * before its first partition is assigned (otherwise its first offset
   * query waits half a second for them). */
  int32_t ni = d->n_inputs > 0
                   ? d->n_inputs
                   : cxp_kafka_topic_partitions(d->producer, d->pl.topic_input, 10000);
  int32_t nc = cxp_restore_topic_partitions(d->restore, 10000);
  if (ni < 1 || nc != ni) {
    cxp_error("daemon", "durable state needs the topic %s with as many partitions as %s "
              "(%d; it has %s%d): create it compacted (cleanup.policy=compact), or set "
              "state.durable false",
              d->pl.topic_changelog, d->pl.topic_input, (int)ni, nc < 0 ? "none, " : "",
              nc < 0 ? 0 : (int)nc);
    return -1;
  }
  d->core.changelog = 1;
  cxp_info("daemon", "durable state: changelog %s (%d partitions), written every %lld ms",
           d->pl.topic_changelog, (int)nc, d->pl.state_flush_ms);
  return 0;
}

/* The eventfd the Kafka queues (and the restorer) write to when they go
 * from empty to non-empty. 0, or -1 after saying why. */
static int open_wake(cxp_daemon *d) {
  d->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (d->efd < 0) {
    cxp_error("loop", "eventfd: %s", strerror(errno));
    return -1;
  }
  /* librdkafka writes this 8-byte payload (an eventfd increment of 1)
   * whenever a queue goes from empty to non-empty. */
  static const uint64_t one = 1;
  rd_kafka_queue_io_event_enable(d->cq, d->efd, &one, sizeof one);
  rd_kafka_queue_io_event_enable(d->pq, d->efd, &one, sizeof one);
  if (d->restore) cxp_restore_wake_on(d->restore, d->efd);
  if (d->model) cxp_restore_wake_on(d->model, d->efd);
  daemon_console_wake_on(d);
  return 0;
}

/* The loop's handles: the wake-up poll, the next slice's idle, the timers
 * (the idle serve, commits, statistics and systemd's watchdog started). */
static void start_handles(cxp_daemon *d) {
  uv_poll_init(d->loop, &d->wake, d->efd);
  uv_idle_init(d->loop, &d->more);
  uv_timer_init(d->loop, &d->serve);
  uv_timer_init(d->loop, &d->commit);
  uv_timer_init(d->loop, &d->stats);
  uv_timer_init(d->loop, &d->stopper);
  uv_timer_init(d->loop, &d->tick);
  uv_timer_init(d->loop, &d->flush);
  d->handles_open = 8;
  /* From here on the handles exist, so stopping must take the full path
   * that closes them, even if subscribing fails below. */
  d->started = 1;
  uv_poll_start(&d->wake, UV_READABLE, daemon_on_wake);
  uv_timer_start(&d->serve, daemon_on_serve_timer, (uint64_t)d->cfg.idle_poll_ms,
                 (uint64_t)d->cfg.idle_poll_ms);
  uv_timer_start(&d->commit, daemon_on_commit_timer, (uint64_t)d->cfg.commit_interval_ms,
                 (uint64_t)d->cfg.commit_interval_ms);
  if (d->cfg.stats_interval_s > 0)
    uv_timer_start(&d->stats, daemon_on_stats_timer, (uint64_t)d->cfg.stats_interval_s * 1000,
                   (uint64_t)d->cfg.stats_interval_s * 1000);
  /* WATCHDOG=1 from a timer on this loop: a stuck loop stops pinging and
   * systemd restarts the service. */
  uint64_t wd = cxp_notify_watchdog_usec();
  if (wd && cxp_notify_watchdog_start(&d->notify, d->loop, wd) == 0)
    cxp_info("daemon", "systemd watchdog: pinging every %llu ms", (unsigned long long)(wd / 1000));
}

/* The admin endpoint on http.host and http.port, with its limits. 0, or -1
 * after saying why. */
static int start_admin(cxp_daemon *d) {
  cxp_http_limits lim;
  cxp_http_limits_default(&lim);
  lim.max_conns = (int)d->cfg.http_max_conns;
  lim.max_conns_per_addr = (int)d->cfg.http_max_conns_per_addr;
  lim.header_timeout_ms = (uint64_t)d->cfg.http_header_timeout_ms;
  int he = cxp_http_start(&d->http, d->loop, d->cfg.http_host, (int)d->cfg.http_port,
                          cxp_admin_handle, d, &lim);
  if (he < 0) {
    cxp_error("http", "admin endpoint on %s:%lld: %s", d->cfg.http_host, d->cfg.http_port,
              uv_strerror(he));
    d->http = NULL;
    return -1;
  }
  d->handles_open++;
  cxp_info("http", "admin endpoint on http://%s:%d/ (metrics, healthz, readyz, v1)",
           d->cfg.http_host, cxp_http_port(d->http));
  return 0;
}

/* The group's subscription: the input topic, and the repartition topic with
 * segment windows. 0, or -1 after saying why. */
static int subscribe(cxp_daemon *d) {
  rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(2);
  rd_kafka_topic_partition_list_add(sub, d->pl.topic_input, RD_KAFKA_PARTITION_UA);
  if (d->pl.win_enabled)
    rd_kafka_topic_partition_list_add(sub, d->pl.topic_repartition, RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t e = rd_kafka_subscribe(d->consumer, sub);
  rd_kafka_topic_partition_list_destroy(sub);
  if (e) {
    cxp_error("consumer", "subscribing to %s: %s", d->pl.topic_input, rd_kafka_err2str(e));
    return -1;
  }
  cxp_info("daemon", "pipeline '%s': consuming %s as group %s; alerts -> %s, indicators -> %s, "
           "dead letters -> %s",
           d->pl.name, d->pl.topic_input, cxp_config_kafka_get(&d->cfg, "consumer.group.id"),
           d->pl.topic_alerts, d->pl.topic_indicators, d->pl.topic_dead_letters);
  return 0;
}

int cxp_daemon_start(cxp_daemon *d) {
  /* Before the restore: it builds the partitions' customers too. */
  int rc = cxp_prefault_start();
  if (rc != 0)
    cxp_warn("state",
             "no prefault thread (%s): new customers' memory is faulted in on the loop",
             uv_strerror(rc));
  d->prefault = rc == 0;
  if (d->pl.win_enabled && count_partitions(d)) return -1;
  if (d->pl.state_durable && open_restorer(d)) return -1;
  daemon_model_open(d);
  daemon_console_open(d);
  if (open_wake(d)) return -1;
  start_handles(d);
  if (d->cfg.http_port >= 0 && start_admin(d)) return -1;
  if (d->pl.win_enabled) uv_timer_start(&d->tick, daemon_on_tick_timer, 1000, 1000);
  if (d->restore)
    uv_timer_start(&d->flush, daemon_on_flush_timer, (uint64_t)d->pl.state_flush_ms,
                   (uint64_t)d->pl.state_flush_ms);
  if (subscribe(d)) return -1;
  /* Anything queued before the io event was enabled would not wake us. */
  daemon_schedule(d);
  return 0;
}

void daemon_handle_gone(cxp_daemon *d) {
  if (--d->handles_open > 0) return;
  if (d->efd >= 0) close(d->efd);
  d->efd = -1;
  d->stopped = 1;
  if (d->on_stopped) d->on_stopped(d, d->stopped_arg);
}

static void on_handle_closed(uv_handle_t *h) { daemon_handle_gone(h->data); }

static void on_http_stopped(void *arg) { daemon_handle_gone(arg); }

/* What is left uncommitted, for the log: for each input partition that
 * consumed past its commit point (daemon_commit_point), where a restart reads it
 * again. */
static void describe_uncommitted(cxp_daemon *d, char *out, size_t cap) {
  size_t n = 0;
  out[0] = '\0';
  for (int32_t i = 0; i < d->offsets.n && n + 80 < cap; i++) {
    cxp_tracker *t = d->offsets.by_partition[i];
    if (t == NULL || cxp_offsets_last(t) < 0) continue;
    int64_t next = cxp_offsets_last(t) + 1, cp = daemon_commit_point(d, &d->offsets, t);
    if (cp >= next) continue;
    if (cp >= 0)
      n += (size_t)snprintf(out + n, cap - n, "%s[%d] from offset %" PRId64, n ? ", " : "",
                            (int)i, cp);
    else
      n += (size_t)snprintf(out + n, cap - n, "%s[%d] from its last committed offset",
                            n ? ", " : "", (int)i);
  }
  if (n == 0) snprintf(out, cap, "nothing");
}

/* Destroying a consumer whose group coordinator is gone waits for its
 * session to time out (45 s by default), past any deadline of ours; the
 * clients are destroyed on a thread of their own instead, and the process
 * may end before that is done (cxp_daemon_abandoned). */
static void *destroy_clients(void *arg) {
  rd_kafka_t **rk = arg;
  rd_kafka_destroy_flags(rk[0], RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  rd_kafka_destroy(rk[1]);
  free(rk);
  return NULL;
}

static int abandon(cxp_daemon *d) {
  rd_kafka_t **rk = malloc(2 * sizeof *rk);
  pthread_t th;
  pthread_attr_t a;
  if (rk == NULL) return -1;
  rk[0] = d->consumer;
  rk[1] = d->producer;
  pthread_attr_init(&a);
  pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
  int e = pthread_create(&th, &a, destroy_clients, rk);
  pthread_attr_destroy(&a);
  if (e != 0) {
    free(rk);
    return -1;
  }
  d->abandoned = 1;
  return 0;
}

static void close_clients_and_handles(cxp_daemon *d) {
  daemon_store_offsets(d);
  /* Leaving the group waits for its coordinator. The coordinator is trusted
   * only when the final commit went through, or when there was nothing to
   * commit and the stop did not time out (outputs or changelog records
   * left suggest the brokers are gone); otherwise the consumer is destroyed
   * without leaving (its partitions go to the others when its session
   * times out), so that the shutdown stays within shutdown.timeout_ms +
   * STOP_GRACE_MS. */
  int coordinator = d->exit_code == 0;
  if (d->assigned > 0) {
    /* One commit for both topics: with the coordinator gone, one wait. */
    rd_kafka_topic_partition_list_t *l = daemon_repart_positions(d);
    for (int32_t i = 0; l && i < d->offsets.n; i++) {
      const cxp_tracker *t = d->offsets.by_partition[i];
      if (t && t->stored >= 0)
        rd_kafka_topic_partition_list_add(l, d->pl.topic_input, i)->offset = t->stored;
    }
    rd_kafka_resp_err_t e = daemon_commit_sync(d, l);
    if (l) rd_kafka_topic_partition_list_destroy(l);
    if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET) {
      d->commit_failures++;
      d->exit_code = 1;
      coordinator = 0;
      cxp_error("commit", "final commit failed: %s", rd_kafka_err2str(e));
    } else if (!e) {
      coordinator = 1;
      d->commits++;
    }
  }
  if (d->exit_code) {
    char left[512];
    describe_uncommitted(d, left, sizeof left);
    cxp_error("daemon", "left uncommitted, read again after a restart (what the changelog "
              "holds of it skipped): %s %s", d->pl.topic_input, left);
  }
  if (coordinator && cxp_wall_ms() < d->stop_deadline_ms + STOP_GRACE_MS)
    rd_kafka_consumer_close(d->consumer);
  else
    cxp_warn("daemon", "leaving the group without its coordinator: the partitions go to the "
             "other members when this one's session times out");
  rd_kafka_queue_io_event_enable(d->cq, -1, NULL, 0);
  rd_kafka_queue_io_event_enable(d->pq, -1, NULL, 0);
  rd_kafka_queue_destroy(d->cq);
  rd_kafka_queue_destroy(d->pq);
  d->cq = d->pq = NULL;
  daemon_model_close(d); /* its topic handle before the producer goes */
  daemon_console_close(d);
  for (int s = 0; s < CXP_STREAM__COUNT; s++)
    if (d->out_topic[s]) rd_kafka_topic_destroy(d->out_topic[s]);
  memset(d->out_topic, 0, sizeof d->out_topic);
  /* Outputs still queued are given up (their inputs stay uncommitted): the
   * producer's destroy does not wait for brokers that may not come back. */
  rd_kafka_purge(d->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT |
                                  RD_KAFKA_PURGE_F_NON_BLOCKING);
  if (coordinator || abandon(d) != 0) {
    rd_kafka_destroy_flags(d->consumer, coordinator ? 0 : RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    rd_kafka_destroy(d->producer);
  }
  d->consumer = d->producer = NULL;
  cxp_restore_destroy(d->restore);
  d->restore = NULL;
  uv_handle_t *hs[] = {(uv_handle_t *)&d->wake,  (uv_handle_t *)&d->more,
                       (uv_handle_t *)&d->serve, (uv_handle_t *)&d->commit,
                       (uv_handle_t *)&d->stats, (uv_handle_t *)&d->stopper,
                       (uv_handle_t *)&d->tick,  (uv_handle_t *)&d->flush};
  for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++) {
    hs[i]->data = d;
    uv_close(hs[i], on_handle_closed);
  }
  cxp_notify_watchdog_close(&d->notify);
  if (d->http) {
    cxp_http *h = d->http;
    d->http = NULL;
    cxp_http_stop(h, on_http_stopped, d);
  }
  cxp_info("daemon", "stopped: consumed=%" PRIu64 " applied=%" PRIu64
           " alerts=%" PRIu64 " dead_letters=%" PRIu64 " delivered=%" PRIu64,
           d->core.n.consumed, d->core.n.processed, d->core.n.outputs[CXP_STREAM_ALERTS],
           d->core.n.outputs[CXP_STREAM_DEAD_LETTERS],
           d->delivered[0] + d->delivered[1] + d->delivered[2]);
}

/* Ticks while the shutdown waits for outputs: the loop keeps running, so
 * delivery reports and the consumer are still served. */
static void on_stopper(uv_timer_t *t) {
  cxp_daemon *d = container_of(t, cxp_daemon, stopper);
  daemon_run_slice(d);
  if (daemon_outputs_waiting(d) == 0 && d->pend_head == NULL && !daemon_cl_busy(d) &&
      rd_kafka_outq_len(d->producer) == 0) {
    uv_timer_stop(t);
    close_clients_and_handles(d);
  } else if (cxp_wall_ms() >= d->stop_deadline_ms) {
    cxp_error("daemon", "%" PRIu64 " outputs and %s changelog records unacknowledged after "
              "%lld ms", daemon_outputs_waiting(d) + (d->pend_head ? d->pend_count : 0),
              daemon_cl_busy(d) ? "some" : "no",
              (long long)(cxp_wall_ms() - (int64_t)d->stop_started_ms));
    d->exit_code = 1;
    uv_timer_stop(t);
    close_clients_and_handles(d);
  }
}

void cxp_daemon_stop(cxp_daemon *d, cxp_stopped_fn done, void *arg) {
  d->on_stopped = done;
  d->stopped_arg = arg;
  if (d->stopped) {
    /* Stopped by itself (a fatal error) before anyone asked. */
    if (done) done(d, arg);
    return;
  }
  if (d->stopping) return;
  d->stopping = 1;
  cxp_notify_stopping(&d->notify);
  if (!d->started) {
    if (done) done(d, arg);
    return;
  }
  cxp_info("daemon", "stopping: no new input; waiting for %" PRIu64 " outputs",
           d->offsets.in_flight + d->pend_count);
  /* Stop consuming: nothing new is fetched, and no slice polls for more. */
  daemon_pause_all(d, 1);
  uv_idle_stop(&d->more);
  uv_timer_stop(&d->serve);
  uv_timer_stop(&d->flush);
  /* The last changes go to the changelog before the final commit, and the
   * learners to the other instances. */
  if (d->restore) daemon_cl_flush_all(d, 0);
  daemon_model_publish(d);
  d->stop_started_ms = (uint64_t)cxp_wall_ms();
  d->stop_deadline_ms = (int64_t)d->stop_started_ms + d->cfg.shutdown_timeout_ms;
  uv_timer_start(&d->stopper, on_stopper, 0, 10);
}

void cxp_daemon_destroy(cxp_daemon *d) {
  if (d == NULL) return;
  while (d->pend_head) {
    pending_out *p = d->pend_head;
    d->pend_head = p->next;
    free(p);
  }
  if (d->consumer) rd_kafka_destroy(d->consumer);
  daemon_model_close(d);
  daemon_console_close(d);
  cxp_view_destroy(d->view);
  if (d->producer) rd_kafka_destroy(d->producer);
  cxp_restore_destroy(d->restore);
  for (int32_t i = 0; i < d->n_cl; i++) cxp_buf_free(&d->cl[i].wait);
  free(d->cl);
  cxp_core_close(&d->core);
  if (d->prefault) cxp_prefault_stop();
  cxp_offsets_close(&d->offsets);
  cxp_offsets_close(&d->roffsets);
  cxp_notify_close(&d->notify);
  free(d->committed_lag);
  free(d);
}

void cxp_daemon_stats_get(cxp_daemon *d, cxp_daemon_stats *s) {
  memset(s, 0, sizeof *s);
  s->core = &d->core.n;
  memcpy(s->delivered, d->delivered, sizeof s->delivered);
  s->delivery_retries = d->delivery_retries;
  s->commits = d->commits;
  s->commit_failures = d->commit_failures;
  s->rebalances = d->rebalances;
  s->pauses = d->pauses;
  s->outq = d->producer ? (uint64_t)rd_kafka_outq_len(d->producer) : 0;
  s->in_flight = d->offsets.in_flight + d->roffsets.in_flight;
  s->customers = d->core.state.customers;
  s->assigned = d->assigned;
  s->paused = d->paused;
  memcpy(s->rejected, d->rejected, sizeof s->rejected);
  s->retrying = d->retrying;
  int64_t now = cxp_wall_ms();
  s->paused_seconds =
      d->paused && d->paused_since_ms ? (double)(now - d->paused_since_ms) / 1e3 : 0;
  s->retry_seconds = d->retrying && d->retry_since_ms ? (double)(now - d->retry_since_ms) / 1e3 : 0;
  s->offsets_skipped = d->offsets_skipped;
  cxp_core_cases_stats(&d->core, &s->cases);
  s->changelog_records = d->cl_records;
  s->changelog_bytes = d->cl_bytes;
  s->input_bytes = d->input_bytes;
  s->restore_records = d->restore_records;
  s->restore_partitions = d->restore_partitions;
  s->restore_errors = d->restore_errors;
  s->restore_seconds = d->restore_seconds;
  s->restore_last_rate = d->restore_last_rate;
  s->restoring = cxp_restore_count(d->restore) + d->n_loading;
  s->snapshot_records = d->snapshot_records;
  s->snapshot_errors = d->snapshot_errors;
  s->snapshots_written = d->snapshots_written;
  s->model_published = d->model_published;
  s->model_read = d->model_records;
  s->model_refused = d->model_bad;
  s->model_shared = d->model_opened;
}

int cxp_daemon_exit_code(const cxp_daemon *d) { return d->exit_code; }

int cxp_daemon_abandoned(const cxp_daemon *d) { return d->abandoned; }

int cxp_daemon_reload(cxp_daemon *d, const char *config_path) {
  char err[512];
  cxp_config c;
  cxp_pipeline p;
  cxp_notify_reloading(&d->notify);
  cxp_solutions *lib = NULL;
  if (cxp_config_load(&c, config_path, err, sizeof err) ||
      cxp_pipeline_load(&p, c.pipeline, err, sizeof err) ||
      (p.rec_enabled && (lib = cxp_pipeline_solutions(&p, err, sizeof err)) == NULL)) {
    cxp_error("reload", "%s; keeping the running configuration", err);
    cxp_notify_ready(&d->notify);
    return -1;
  }
  cxp_buf changed, kept;
  cxp_buf_init(&changed);
  cxp_buf_init(&kept);
  int n = cxp_pipeline_reload(&d->pl, &p, &changed, &kept);
  /* Recovery on or off, the core takes its customers' and churn settings
   * from the reloaded pipeline. */
  if (!d->pl.rec_enabled) {
    cxp_solutions_destroy(lib);
    lib = NULL;
  } else if (lib == NULL) {
    lib = cxp_solutions_create_default();
  }
  if (cxp_core_reload(&d->core, lib) != 0)
    cxp_warn("reload", "some partitions kept their recovery settings");
  /* Of the daemon's own file, the log settings apply at once; the rest
   * (Kafka, intervals, the admin endpoint) shape clients and handles made
   * at start. */
  cxp_log_level = cxp_log_parse_level(c.log_level);
  cxp_log_format = cxp_log_parse_format(c.log_format);
  snprintf(d->cfg.log_level, sizeof d->cfg.log_level, "%s", c.log_level);
  snprintf(d->cfg.log_format, sizeof d->cfg.log_format, "%s", c.log_format);
  cxp_buf_putc(&changed, '\0');
  cxp_buf_putc(&kept, '\0');
  cxp_info("reload", "%s: %d setting(s) changed%s%s", config_path, n, n ? ": " : "",
           changed.p);
  if (kept.len > 1)
    cxp_warn("reload", "cannot change while running, kept until a restart: %s", kept.p);
  cxp_buf_free(&changed);
  cxp_buf_free(&kept);
  cxp_notify_ready(&d->notify);
  return 0;
}

const cxp_core *cxp_daemon_core(const cxp_daemon *d) { return &d->core; }

const cxp_config *cxp_daemon_config(const cxp_daemon *d) { return &d->cfg; }

const char *cxp_daemon_stalled(cxp_daemon *d) {
  int64_t now = cxp_wall_ms();
  if (d->stopping) return NULL;
  if (d->paused && d->paused_since_ms &&
      now - d->paused_since_ms > d->cfg.health_max_paused_s * 1000) {
    snprintf(d->why, sizeof d->why, "input paused for %lld s: the producer cannot take the "
             "outputs (%d queued, %zu held)\n", (long long)((now - d->paused_since_ms) / 1000),
             d->producer ? rd_kafka_outq_len(d->producer) : 0, d->pend_count);
    return d->why;
  }
  if (d->retrying && d->retry_since_ms &&
      now - d->retry_since_ms > d->cfg.health_max_retry_s * 1000) {
    snprintf(d->why, sizeof d->why, "%u output(s) failing delivery for %lld s: %s: %s\n",
             d->retrying, (long long)((now - d->retry_since_ms) / 1000),
             d->retry_topic ? d->retry_topic : "?", rd_kafka_err2str(d->retry_err));
    return d->why;
  }
  return NULL;
}

const char *cxp_daemon_not_ready(cxp_daemon *d) {
  if (d->stopping) return "stopping\n";
  if (d->assigned <= 0) return "no partitions assigned yet\n";
  if (cxp_restore_count(d->restore) > 0 || d->n_loading > 0)
    return "restoring state from the changelog\n";
  return cxp_daemon_stalled(d);
}

int cxp_daemon_ready(cxp_daemon *d) { return cxp_daemon_not_ready(d) == NULL; }

const cxp_histogram *cxp_daemon_latency(const cxp_daemon *d) { return &d->latency; }

int cxp_daemon_lag(cxp_daemon *d, int32_t *parts, int64_t *lags, int max) {
  int n = 0;
  if (d->consumer == NULL) return 0;
  for (int32_t i = 0; i < d->offsets.n && n < max; i++) {
    if (d->offsets.by_partition[i] == NULL) continue;
    parts[n] = i;
    lags[n++] = daemon_input_lag(d, i);
  }
  return n;
}

int cxp_daemon_committed_lag(const cxp_daemon *d, int32_t *parts, int64_t *lags, int max) {
  int n = 0;
  for (int32_t i = 0; i < d->offsets.n && i < d->n_committed_lag && n < max; i++)
    if (d->offsets.by_partition[i] && d->committed_lag[i] >= 0) {
      parts[n] = i;
      lags[n++] = d->committed_lag[i];
    }
  return n;
}

int cxp_daemon_http_port(const cxp_daemon *d) { return d->http ? cxp_http_port(d->http) : -1; }

int cxp_daemon_http_stats(const cxp_daemon *d, cxp_http_stats *s) {
  if (d->http == NULL) return -1;
  *s = cxp_http_get_stats(d->http);
  return 0;
}

/* ---- `cxpulse run` ------------------------------------------------------ */

typedef struct run_ctx {
  cxp_daemon *d;
  const char *path;
  uv_signal_t sigterm, sigint, sighup;
  int watchdog;
} run_ctx;

static void on_run_stopped(cxp_daemon *d, void *arg) {
  (void)d;
  run_ctx *r = arg;
  uv_close((uv_handle_t *)&r->sigterm, NULL);
  uv_close((uv_handle_t *)&r->sigint, NULL);
  uv_close((uv_handle_t *)&r->sighup, NULL);
}

static void on_sighup(uv_signal_t *h, int signum) {
  (void)signum;
  run_ctx *r = h->data;
  cxp_info("daemon", "received SIGHUP: reloading %s", r->path);
  cxp_daemon_reload(r->d, r->path);
}

/* The last resort of a shutdown: the ordered one ends within
 * shutdown.timeout_ms + STOP_GRACE_MS by its own deadlines; should a
 * library call block past them anyway, the process ends here. */
static void *stop_watchdog(void *arg) {
  long long ms = (long long)(intptr_t)arg; /* passed by value */
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
  cxp_error("daemon", "shutdown still blocked %lld ms after the signal; exiting now", ms);
  _exit(1);
  return NULL;
}

static void on_signal(uv_signal_t *h, int signum) {
  run_ctx *r = h->data;
  cxp_info("daemon", "received %s", signum == SIGTERM ? "SIGTERM" : "SIGINT");
  if (!r->watchdog) {
    intptr_t ms = cxp_daemon_config(r->d)->shutdown_timeout_ms + STOP_GRACE_MS + 3000;
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    r->watchdog = pthread_create(&t, &a, stop_watchdog, (void *)ms) == 0;
    pthread_attr_destroy(&a);
  }
  cxp_daemon_stop(r->d, on_run_stopped, r);
}

int cxp_daemon_main(int argc, char **argv) {
  static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  const char *path = NULL;
  int ch;
  optind = 1;
  while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
    switch (ch) {
    case 'c': path = optarg; break;
    case 'h':
      printf("usage: cxpulse run --config FILE\n");
      return 0;
    default: return 2;
    }
  }
  if (path == NULL) {
    fprintf(stderr, "usage: cxpulse run --config FILE\n");
    return 2;
  }
  char err[512];
  cxp_config c;
  cxp_pipeline p;
  if (cxp_config_load(&c, path, err, sizeof err) ||
      cxp_pipeline_load(&p, c.pipeline, err, sizeof err)) {
    fprintf(stderr, "cxpulse: %s\n", err);
    return 1;
  }
  cxp_log_level = cxp_log_parse_level(c.log_level);
  cxp_log_format = cxp_log_parse_format(c.log_format);
  uv_loop_t loop;
  uv_loop_init(&loop);
  run_ctx r;
  memset(&r, 0, sizeof r);
  r.d = cxp_daemon_create(&loop, &c, &p, path, err, sizeof err);
  if (r.d == NULL) {
    fprintf(stderr, "cxpulse: %s\n", err);
    uv_loop_close(&loop);
    return 1;
  }
  r.path = path;
  /* A daemon that stops by itself (a fatal Kafka error, a dead letter with
   * nowhere to go) ends the run as a signal does. */
  cxp_daemon_on_stopped(r.d, on_run_stopped, &r);
  uv_signal_init(&loop, &r.sigterm);
  uv_signal_init(&loop, &r.sigint);
  uv_signal_init(&loop, &r.sighup);
  r.sigterm.data = r.sigint.data = r.sighup.data = &r;
  uv_signal_start(&r.sigterm, on_signal, SIGTERM);
  uv_signal_start(&r.sigint, on_signal, SIGINT);
  uv_signal_start(&r.sighup, on_sighup, SIGHUP);
  int rc = 0;
  if (cxp_daemon_start(r.d)) {
    rc = 1;
    cxp_daemon_stop(r.d, on_run_stopped, &r);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  if (rc == 0) rc = cxp_daemon_exit_code(r.d);
  int abandoned = cxp_daemon_abandoned(r.d);
  cxp_daemon_destroy(r.d);
  int lc = uv_loop_close(&loop);
  if (lc != 0) {
    cxp_error("daemon", "uv_loop_close: %s (a handle was left open)", uv_strerror(lc));
    rc = 1;
  }
  if (abandoned) {
    /* The clients' threads are still winding down (brokers gone): end now,
     * without running exit handlers under them. */
    fflush(stderr);
    _exit(rc);
  }
  return rc;
}
