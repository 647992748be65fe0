/* `cxpulse state` (cli.h): the per-customer state a changelog topic holds,
 * read back as a restore reads it and printed one customer a line. */
#include "cli.h"

#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "config.h"
#include "core.h"
#include "jsonw.h"
#include "kafka.h"
#include "log.h"
#include "pipeline.h"
#include "restore.h"
#include "staterec.h"
#include "xalloc.h"

/* The records go into a core as a restore puts them there (customers and
 * their cases), so what is printed is what a restore would hold. */
typedef struct dump {
  cxp_core core;
  int32_t left; /* partitions not read to their end yet */
  uint64_t records, errors;
} dump;

static void dump_discard(void *opaque, const cxp_msg *from, cxp_stream s, const char *key,
                         size_t klen, const char *val, size_t vlen) {
  (void)from;
  (void)opaque, (void)s, (void)key, (void)klen, (void)val, (void)vlen;
}

static void dump_record(void *opaque, int32_t part, const rd_kafka_message_t *m) {
  dump *d = opaque;
  char err[256];
  d->records++;
  if (cxp_core_state_restore(&d->core, part, m->key, m->key_len, m->payload, m->len, err,
                             sizeof err) != 0) {
    d->errors++;
    fprintf(stderr, "cxpulse state: partition %d offset %" PRId64 ": %s\n", (int)part,
            m->offset, err);
  }
}

static void dump_done(void *opaque, int32_t part, uint64_t records, uint64_t bytes,
                      double seconds) {
  (void)part, (void)records, (void)bytes, (void)seconds;
  ((dump *)opaque)->left--;
}

/* A customer and the partition whose changelog holds him. */
typedef struct held {
  const cxp_customer *c;
  int32_t partition;
} held;

static int by_id(const void *a, const void *b) {
  const cxp_customer *x = ((const held *)a)->c, *y = ((const held *)b)->c;
  size_t n = x->id_len < y->id_len ? x->id_len : y->id_len;
  int c = memcmp(x->id, y->id, n);
  return c ? c : (int)x->id_len - (int)y->id_len;
}

static void state_usage(FILE *f) {
  fputs("usage: cxpulse state --config FILE [--customer ID]\n"
        "  Reads the pipeline's changelog topic (topics.changelog) to its end, as a\n"
        "  restore does, and prints each customer's latest state on one JSON line,\n"
        "  sorted by customer_id: partition, last applied input offset, a few\n"
        "  indicators, open recovery cases and the whole record (hex), his\n"
        "  cases included. --customer: only his. The open segment windows the\n"
        "  changelog holds are counted on stderr.\n",
        f);
}

/* The options into *config and *only: -1 when they are good, else the exit
 * code (0 for --help, 2 for a usage error). */
static int state_options(int argc, char **argv, const char **config, const char **only) {
  static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                       {"customer", required_argument, NULL, 'u'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  int ch;
  *config = *only = NULL;
  optind = 1;
  while ((ch = getopt_long(argc, argv, "c:u:h", opts, NULL)) != -1) {
    switch (ch) {
      case 'c': *config = optarg; break;
      case 'u': *only = optarg; break;
      case 'h': state_usage(stdout); return 0;
      default: state_usage(stderr); return 2;
    }
  }
  if (*config == NULL || optind != argc) {
    state_usage(stderr);
    return 2;
  }
  return -1;
}

/* Every partition of the changelog read to its end into d's core (or until
 * a signal): -1 when done, else the exit code after saying why. */
static int state_read(dump *d, const cxp_config *c, const char *changelog, const char *config) {
  char err[512];
  cxp_restore_cb cb = {dump_record, dump_done, d};
  cxp_restore *r = cxp_restore_create(c, changelog, config, &cb, err, sizeof err);
  if (r == NULL) {
    fprintf(stderr, "cxpulse state: %s\n", err);
    return 1;
  }
  int32_t n = cxp_restore_topic_partitions(r, 10000);
  if (n < 1) {
    fprintf(stderr, "cxpulse state: topic %s not found\n", changelog);
    cxp_restore_destroy(r);
    return 1;
  }
  for (int32_t i = 0; i < n; i++)
    if (cxp_restore_begin(r, i, RD_KAFKA_OFFSET_BEGINNING) == 0) d->left++;
  signal(SIGINT, cxp_cli_on_stop);
  signal(SIGTERM, cxp_cli_on_stop);
  while (d->left > 0 && !cxp_cli_stop)
    if (!cxp_restore_poll(r, 10000)) usleep(10000);
  cxp_restore_destroy(r);
  return -1;
}

/* Every customer the state holds, with his partition, sorted by id; how
 * many in *n. The caller frees the array. */
static held *state_sorted(const cxp_state *st, size_t *n) {
  size_t total = st->customers, k = 0;
  held *all = cxp_xmalloc(sizeof *all * (total ? total : 1));
  for (int32_t i = 0; i < st->n_shards; i++) {
    const cxp_shard *sh = st->shards[i];
    for (size_t j = 0; sh && j < sh->cap; j++)
      if (sh->slots[j]) all[k++] = (held){sh->slots[j], i};
  }
  qsort(all, k, sizeof *all, by_id);
  *n = k;
  return all;
}

/* The buffers a customer's line is made in, reused from one to the next. */
typedef struct state_bufs {
  cxp_buf line, rec, hex, ext;
} state_bufs;

/* A customer's line on stdout: a few of his figures and his whole record,
 * his cases included, in hex. */
static void state_print(cxp_core *core, const held *h, state_bufs *o) {
  const cxp_customer *cu = h->c;
  o->rec.len = 0;
  const char *seg = cxp_state_segment_name(&core->state, cu->segment);
  o->ext.len = 0;
  cxp_core_state_ext(core, h->partition, cu, &o->ext);
  cxp_staterec_write(&o->rec, cu, seg, o->ext.p, o->ext.len);
  o->line.len = 0;
  cxp_jw j;
  cxp_jw_init(&j, &o->line);
  cxp_jw_obj(&j, NULL);
  cxp_jw_str(&j, "customer_id", cu->id, cu->id_len);
  cxp_jw_int(&j, "partition", h->partition);
  cxp_jw_int(&j, "last_offset", cu->last_offset);
  cxp_jw_cstr(&j, "segment", seg);
  double csat = cxp_customer_csat(cu), nps = cxp_customer_nps_mean(cu);
  if (csat >= 0) cxp_jw_num(&j, "csat", csat);
  if (nps >= 0) cxp_jw_num(&j, "nps_mean", nps);
  cxp_jw_int(&j, "churn_band", cu->churn_band);
  cxp_jw_int(&j, "open_cases", cu->open_cases);
  o->hex.len = 0;
  cxp_buf_putc(&o->hex, '"');
  for (size_t x = 0; x < o->rec.len; x++)
    cxp_buf_printf(&o->hex, "%02x", (unsigned char)o->rec.p[x]);
  cxp_buf_putc(&o->hex, '"');
  cxp_buf_putc(&o->hex, '\0');
  cxp_jw_raw(&j, "record", o->hex.p);
  cxp_jw_end(&j);
  fwrite(o->line.p, 1, o->line.len, stdout);
  fputc('\n', stdout);
}

/* What was read, on stderr: records, customers (n), open windows, systemic
 * groups and the records that could not be read. */
static void state_summary(const dump *d, const char *changelog, size_t n) {
  /* Open segment windows restore with the customers (window.h): counted,
   * not printed. */
  uint64_t windows = 0;
  for (int32_t i = 0; i < d->core.n_win; i++)
    if (d->core.win[i]) windows += cxp_windows_stats(d->core.win[i]).open;
  cxp_cases_stats cst;
  cxp_core_cases_stats(&d->core, &cst);
  fprintf(stderr, "cxpulse state: %s: %" PRIu64 " record(s) read, %zu customer(s), %" PRIu64
          " open window(s), %u systemic group(s), %" PRIu64 " unreadable\n",
          changelog, d->records, n, windows, cst.groups, d->errors);
}

int cxp_state_main(int argc, char **argv) {
  const char *config, *only;
  int rc = state_options(argc, argv, &config, &only);
  if (rc >= 0) return rc;
  char err[512];
  cxp_config c;
  cxp_pipeline p;
  if (cxp_config_load(&c, config, err, sizeof err) ||
      cxp_pipeline_load(&p, c.pipeline, err, sizeof err)) {
    fprintf(stderr, "cxpulse state: %s\n", err);
    return 2;
  }
  cxp_log_level = CXP_LOG_WARN;
  dump d;
  memset(&d, 0, sizeof d);
  cxp_core_init(&d.core, &p, dump_discard, NULL);
  rc = state_read(&d, &c, p.topic_changelog, config);
  if (rc >= 0) return rc;
  size_t k;
  held *all = state_sorted(&d.core.state, &k);
  state_bufs o;
  cxp_buf_init(&o.line);
  cxp_buf_init(&o.rec);
  cxp_buf_init(&o.hex);
  cxp_buf_init(&o.ext);
  for (size_t i = 0; i < k; i++) {
    const cxp_customer *cu = all[i].c;
    if (only && (strlen(only) != cu->id_len || memcmp(only, cu->id, cu->id_len) != 0)) continue;
    state_print(&d.core, &all[i], &o);
  }
  state_summary(&d, p.topic_changelog, k);
  cxp_buf_free(&o.line);
  cxp_buf_free(&o.rec);
  cxp_buf_free(&o.hex);
  cxp_buf_free(&o.ext);
  free(all);
  cxp_core_close(&d.core);
  return d.errors ? 1 : 0;
}
