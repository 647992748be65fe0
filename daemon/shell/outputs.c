/* Producing outputs: the producer queue, delivery reports, outputs waiting for
 * room and those the broker refuses (daemon_int.h). */
#include "daemon_int.h"
#include "xalloc.h"

/* ---- Outputs ----------------------------------------------------------- */


static int produce(cxp_daemon *d, cxp_stream s, int32_t part, const char *key, size_t klen,
                   const char *val, size_t vlen, uint64_t token) {
  /* RD_KAFKA_MSG_F_COPY: the core's buffer is reused for the next output. */
  return rd_kafka_produce(d->out_topic[s], part, RD_KAFKA_MSG_F_COPY, (void *)val, vlen, key,
                          klen, (void *)(uintptr_t)token);
}

/* Errors no retry gets past: the record, the topic or the client's rights
 * are refused. Anything else (a broker away, a leader moving, a timeout)
 * may pass, and the output is produced again. */
static int refused_for_good(rd_kafka_resp_err_t e) {
  switch (e) {
  case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
  case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
  case RD_KAFKA_RESP_ERR_INVALID_RECORD:
  case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
  case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
  case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
  case RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT:
  case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
  case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
  case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
  case RD_KAFKA_RESP_ERR__INVALID_ARG:
    return 1;
  default:
    return 0;
  }
}

static void pend(cxp_daemon *d, cxp_stream s, int32_t part, const char *key, size_t klen,
                 const char *val, size_t vlen, uint64_t token) {
  pending_out *p = cxp_xmalloc(sizeof *p + vlen + klen);
  p->next = NULL;
  p->stream = s;
  p->partition = part;
  p->token = token;
  p->vlen = vlen;
  p->klen = klen;
  memcpy(p->data, val, vlen);
  p->key = NULL;
  if (key) {
    p->key = p->data + vlen;
    memcpy(p->key, key, klen);
  }
  *d->pend_tail = p;
  d->pend_tail = &p->next;
  d->pend_count++;
}

/* An output marked RETRY_BIT leaves (delivered, refused, or failed again
 * and about to be marked anew). */
static void retry_end(cxp_daemon *d, uint64_t token) {
  if (!(token & RETRY_BIT) || d->retrying == 0) return;
  if (--d->retrying == 0) d->retry_since_ms = 0;
}

static void reject(cxp_daemon *d, cxp_stream s, const char *key, size_t klen, const char *val,
                   size_t vlen, uint64_t token, rd_kafka_resp_err_t e);

/* Hands one output to the producer. 0: it is gone (taken, or refused for
 * good and handed to reject()); -1: the producer cannot take it yet, and
 * d->pend_err says why. */
static int try_produce(cxp_daemon *d, cxp_stream s, int32_t part, const char *key, size_t klen,
                       const char *val, size_t vlen, uint64_t token) {
  if (produce(d, s, part, key, klen, val, vlen, token) == 0) return 0;
  rd_kafka_resp_err_t e = rd_kafka_last_error();
  if (refused_for_good(e)) {
    retry_end(d, token);
    reject(d, s, key, klen, val, vlen, token, e);
    return 0;
  }
  if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
    cxp_warn("output", "producing to %s: %s; will retry", rd_kafka_topic_name(d->out_topic[s]),
             rd_kafka_err2str(e));
  d->pend_err = e;
  return -1;
}

/* Produces an output, or holds it, in order, while the producer cannot
 * take it yet. Behind held outputs it waits in line: the order of one
 * customer's outputs is kept. */
void daemon_send_output(cxp_daemon *d, cxp_stream s, int32_t part, const char *key,
                        size_t klen, const char *val, size_t vlen, uint64_t token) {
  if (d->pend_head == NULL && try_produce(d, s, part, key, klen, val, vlen, token) == 0) return;
  pend(d, s, part, key, klen, val, vlen, token);
  if (!d->paused) daemon_pause_all(d, 1);
}

/* Hands held outputs to the producer, oldest first, until it cannot take
 * one yet. Each leaves the line before it is tried: a rejected output's
 * dead letter must not queue behind the output it replaces. */
void daemon_retry_pending(cxp_daemon *d) {
  while (d->pend_head) {
    pending_out *p = d->pend_head;
    d->pend_head = p->next;
    if (d->pend_head == NULL) d->pend_tail = &d->pend_head;
    d->pend_count--;
    if (try_produce(d, p->stream, p->partition, p->key, p->klen, p->data, p->vlen, p->token)) {
      p->next = d->pend_head; /* back to the head of the line */
      if (d->pend_head == NULL) d->pend_tail = &p->next;
      d->pend_head = p;
      d->pend_count++;
      return;
    }
    free(p);
  }
  d->pend_err = RD_KAFKA_RESP_ERR_NO_ERROR;
}

uint64_t daemon_next_token(cxp_daemon *d, const daemon_call *call) {
  if (call->t == NULL) return 0; /* belongs to no entry: its ack is ignored */
  uint64_t t = cxp_offsets_output(call->o, call->t, call->seq);
  return call->o == &d->roffsets ? t | REPART_BIT : t;
}

/* The core's emit: one output of the call `from` is the message of (every
 * message the shell hands the core sits in a daemon_call). A record for the
 * repartition topic is keyed by the partition that merges its windows
 * (winwire.h: the same from every instance). */
void daemon_on_emit(void *opaque, const cxp_msg *from, cxp_stream s, const char *key,
                    size_t klen, const char *val, size_t vlen) {
  cxp_daemon *d = opaque;
  const daemon_call *call = container_of(from, daemon_call, m);
  int32_t part = RD_KAFKA_PARTITION_UA;
  if (s == CXP_STREAM_PARTIALS && d->n_repart > 0) {
    char k[16];
    snprintf(k, sizeof k, "%.*s", (int)(klen < 15 ? klen : 15), key);
    part = (int32_t)(strtol(k, NULL, 10) % d->n_repart);
  }
  daemon_send_output(d, s, part, key, klen, val, vlen, daemon_next_token(d, call));
}

static cxp_stream stream_of(cxp_daemon *d, rd_kafka_topic_t *rkt) {
  for (int s = 0; s < CXP_STREAM__COUNT; s++)
    if (d->out_topic[s] == rkt) return (cxp_stream)s;
  return CXP_STREAM__COUNT;
}

static cxp_offsets *offsets_of(cxp_daemon *d, uint64_t *token) {
  if (*token & REPART_BIT) {
    *token &= ~REPART_BIT;
    return &d->roffsets;
  }
  return &d->offsets;
}

/* ---- Outputs the broker refuses ----------------------------------------- */

/* A dead letter the dead-letter topic refused for good: there is nowhere
 * left to put it. Its input must not be committed (the output stays
 * unacknowledged, so its entry never completes), and the daemon stops
 * with an error instead of spinning: systemd restarts it, and an operator
 * is told. */
static void refuse_dead_letter(cxp_daemon *d, uint64_t token, rd_kafka_resp_err_t e) {
  uint64_t t = token & ~RETRY_BIT;
  int32_t part = -1;
  cxp_offsets *o = offsets_of(d, &t);
  int64_t off = t ? cxp_offsets_token_offset(o, t, &part) : -1;
  char where[384] = "";
  if (off >= 0) {
    d->stuck++;
    snprintf(where, sizeof where, ", with %s [%d] committed no further than offset %" PRId64
             " (the message it came from)",
             o == &d->roffsets ? d->pl.topic_repartition : d->pl.topic_input, (int)part, off);
  }
  d->exit_code = 1;
  cxp_error("output", "the dead-letter topic %s refused a record for good (%s): there is "
            "nowhere left to put it; stopping%s", d->pl.topic_dead_letters, rd_kafka_err2str(e),
            where);
  cxp_daemon_stop(d, d->on_stopped, d->stopped_arg);
}

/* A dead letter the shell makes (not the core's, of an input): rendered as
 * the core renders them, keyed by m's key when it has one, and sent. */
void daemon_send_dead_letter(cxp_daemon *d, const cxp_msg *m, cxp_dead_letter *dl,
                             uint64_t token) {
  cxp_buf b;
  cxp_buf_init(&b);
  size_t kl = cxp_core_render_dead_letter(&d->core, m, dl, &b);
  d->core.n.outputs[CXP_STREAM_DEAD_LETTERS]++;
  daemon_send_output(d, CXP_STREAM_DEAD_LETTERS, RD_KAFKA_PARTITION_UA, kl ? m->key : NULL, kl, b.p,
              b.len, token);
  cxp_buf_free(&b);
}

/* An output refused for good (too large for the topic, the topic invalid
 * or not ours to write): it becomes a dead letter output_rejected, naming
 * the topic and the error and carrying the output, in its place: with its
 * token, so its input is committed once the dead letter is acknowledged,
 * and the input moves on. */
static void reject(cxp_daemon *d, cxp_stream s, const char *key, size_t klen, const char *val,
                   size_t vlen, uint64_t token, rd_kafka_resp_err_t e) {
  if (s == CXP_STREAM_DEAD_LETTERS) {
    refuse_dead_letter(d, token, e);
    return;
  }
  const char *topic = rd_kafka_topic_name(d->out_topic[s]);
  d->rejected[s]++;
  cxp_msg m = {.topic = d->pl.topic_input, .key = key, .key_len = klen,
               .received_ms = cxp_wall_ms()};
  uint64_t t = token & ~RETRY_BIT, dl_token = t;
  if (t & CL_BIT) {
    /* A changelog record: its batch counts it as done (the state it held
     * is in the dead letter, not in the changelog); the dead letter
     * belongs to no entry. */
    m.partition = (int32_t)((t >> 32) & 0xffff);
    cl_part *c = m.partition < d->n_cl ? &d->cl[m.partition] : NULL;
    m.offset = c && c->flight_x >= 0 ? c->flight_x : 0;
    daemon_cl_ack(d, m.partition, (uint32_t)t, -1);
    dl_token = 0;
  } else if (t) {
    cxp_offsets *o = offsets_of(d, &t);
    int64_t off = cxp_offsets_token_offset(o, t, &m.partition);
    if (o == &d->roffsets) m.topic = d->pl.topic_repartition;
    m.offset = off >= 0 ? off : 0;
  }
  char detail[512];
  snprintf(detail, sizeof detail, "%s refused the %s record for good: %s; it is kept here instead",
           topic, cxp_stream_name(s), rd_kafka_err2str(e));
  cxp_warn("output", "%s [%d] offset %" PRId64 ": %s", m.topic, (int)m.partition, m.offset,
           detail);
  cxp_dead_letter dl = {.reason = CXP_BAD_OUTPUT_REJECTED, .detail = detail, .payload = val,
                        .payload_len = vlen, .rejected_topic = topic,
                        .rejected_error = rd_kafka_err2name(e)};
  daemon_send_dead_letter(d, &m, &dl, dl_token);
}

/* Delivery reports, served on the loop thread by rd_kafka_poll(producer). */
void daemon_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  cxp_daemon *d = opaque;
  uint64_t token = (uint64_t)(uintptr_t)m->_private;
  cxp_stream s = stream_of(d, m->rkt);
  if (s == CXP_STREAM__COUNT) return; /* topics.model's: no token, nothing to track */
  retry_end(d, token);
  if (m->err && refused_for_good(m->err)) {
    reject(d, s, m->key, m->key_len, m->payload, m->len, token, m->err);
    return;
  }
  if (m->err) {
    /* Never drop an output: send it again. The idempotent producer has
     * already retried; this covers timeouts and transient broker trouble.
     * /readyz tells when it has gone on too long. */
    d->delivery_retries++;
    if (d->retrying++ == 0) d->retry_since_ms = cxp_wall_ms();
    d->retry_err = m->err;
    d->retry_topic = rd_kafka_topic_name(m->rkt);
    cxp_warn("output", "delivery to %s failed: %s (retrying; %" PRIu64 " retries so far)",
             rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err), d->delivery_retries);
    daemon_send_output(d, s, m->partition, m->key, m->key_len, m->payload, m->len,
                       token | RETRY_BIT);
    return;
  }
  d->delivered[s]++;
  if (d->tap) d->tap(d->tap_opaque, s, m->key, m->key_len, m->payload, m->len);
  token &= ~RETRY_BIT;
  if (token & CL_BIT) {
    daemon_cl_ack(d, (int32_t)((token >> 32) & 0xffff), (uint32_t)token, m->offset);
  } else if (token) {
    cxp_offsets *o = offsets_of(d, &token); /* strips the topic bit first */
    cxp_offsets_ack(o, token);
  }
}
