/* The prefault thread (prefault.h). */
#include "prefault.h"

#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#include "slab.h"

static struct {
  uv_mutex_t life; /* held by a start or stop throughout (a stop joins) */
  uv_mutex_t mu;
  uv_cond_t cv; /* the thread waits here for room, or for the stop */
  uv_thread_t thread;
  void *ready[CXP_PREFAULT_AHEAD];
  int n, holders, stop, running;
  uint64_t handed, missed;
} pf;

static uv_once_t once = UV_ONCE_INIT;

static void init_once(void) {
  if (uv_mutex_init(&pf.life) != 0 || uv_mutex_init(&pf.mu) != 0 ||
      uv_cond_init(&pf.cv) != 0) {
    fprintf(stderr, "cxpulse: the prefault thread's lock cannot be made; stopping\n");
    abort();
  }
}

/* Every page of the chunk written once: the faults (one per huge page, or
 * per 4 KiB page where the kernel has none) happen here. */
static void touch(void *chunk) {
  volatile char *c = chunk;
  for (size_t off = 0; off < CXP_SLAB_CHUNK; off += 4096) c[off] = 0;
}

static void fill(void *arg) {
  (void)arg;
  uv_mutex_lock(&pf.mu);
  for (;;) {
    while (!pf.stop && pf.n >= CXP_PREFAULT_AHEAD) uv_cond_wait(&pf.cv, &pf.mu);
    if (pf.stop) break;
    uv_mutex_unlock(&pf.mu);
    void *p = cxp_slab_chunk_new();
    if (p) touch(p);
    uv_mutex_lock(&pf.mu);
    if (p == NULL) {
      /* Out of memory: no retry in a spin; the next take wakes us, and the
       * slab, finding none ready, tries itself (and stops the process if
       * it fails too). */
      if (!pf.stop) uv_cond_wait(&pf.cv, &pf.mu);
      continue;
    }
    if (pf.stop) {
      free(p);
      break;
    }
    pf.ready[pf.n++] = p;
  }
  uv_mutex_unlock(&pf.mu);
}

/* The slab's source (slab.h): a ready chunk, or NULL. */
static void *take(void) {
  void *p = NULL;
  uv_mutex_lock(&pf.mu);
  if (pf.n > 0) {
    p = pf.ready[--pf.n];
    pf.handed++;
  } else {
    pf.missed += pf.running;
  }
  if (pf.running) uv_cond_signal(&pf.cv);
  uv_mutex_unlock(&pf.mu);
  return p;
}

int cxp_prefault_start(void) {
  uv_once(&once, init_once);
  int rc = 0;
  uv_mutex_lock(&pf.life);
  uv_mutex_lock(&pf.mu);
  if (pf.holders == 0) {
    pf.stop = 0;
    rc = uv_thread_create(&pf.thread, fill, NULL);
    pf.running = rc == 0;
  }
  if (rc == 0) pf.holders++;
  uv_mutex_unlock(&pf.mu);
  /* Set once and left: with no thread running, take hands out nothing. */
  if (rc == 0) cxp_slab_set_source(take);
  uv_mutex_unlock(&pf.life);
  return rc;
}

void cxp_prefault_stop(void) {
  uv_once(&once, init_once);
  uv_mutex_lock(&pf.life);
  uv_mutex_lock(&pf.mu);
  if (pf.holders == 0 || --pf.holders > 0) {
    uv_mutex_unlock(&pf.mu);
    uv_mutex_unlock(&pf.life);
    return;
  }
  pf.stop = 1;
  uv_cond_signal(&pf.cv);
  uv_mutex_unlock(&pf.mu);
  uv_thread_join(&pf.thread);
  uv_mutex_lock(&pf.mu);
  pf.running = 0;
  while (pf.n > 0) free(pf.ready[--pf.n]);
  uv_mutex_unlock(&pf.mu);
  uv_mutex_unlock(&pf.life);
}

cxp_prefault_stats cxp_prefault_get_stats(void) {
  uv_once(&once, init_once);
  uv_mutex_lock(&pf.mu);
  cxp_prefault_stats s = {pf.handed, pf.missed, pf.n};
  uv_mutex_unlock(&pf.mu);
  return s;
}
