#include "arena.h"
#include "xalloc.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>

struct cxp_arena_chunk {
  cxp_arena_chunk *next;
  size_t cap, off;
  _Alignas(16) unsigned char data[];
};

static cxp_arena_chunk *chunk_new(size_t cap) {
  cxp_arena_chunk *c = cxp_xmalloc(sizeof *c + cap); /* out of memory in the decoder: nothing to save */
  c->next = NULL;
  c->cap = cap;
  c->off = 0;
  return c;
}

void cxp_arena_init(cxp_arena *a, size_t chunk_size) {
  a->chunk_size = chunk_size < 4096 ? 4096 : chunk_size;
  a->head = NULL;
  a->high_water = 0;
  a->used = 0;
}

void cxp_arena_close(cxp_arena *a) {
  while (a->head != NULL) {
    cxp_arena_chunk *n = a->head->next;
    free(a->head);
    a->head = n;
  }
}

/* Starts a new chunk when the current one cannot hold n more bytes. Kept out
 * of line so that the common path below inlines into json_malloc with no
 * register spills: cJSON allocates two or three times per member. */
static __attribute__((noinline)) void *alloc_slow(cxp_arena *a, size_t n) {
  /* high_water is only read by cxp_arena_reset; keeping it here and there
   * rather than on every allocation is enough, since `used` only grows
   * between resets. */
  if (a->used > a->high_water) a->high_water = a->used;
  size_t cap = n > a->chunk_size ? n : a->chunk_size;
  cxp_arena_chunk *c = chunk_new(cap);
  c->next = a->head;
  a->head = c;
  c->off = n;
  a->used += n;
  return c->data;
}

void *cxp_arena_alloc(cxp_arena *a, size_t n) {
  n = (n + 15) & ~(size_t)15;
  cxp_arena_chunk *c = a->head;
  if (c == NULL || c->cap - c->off < n) return alloc_slow(a, n);
  void *p = c->data + c->off;
  c->off += n;
  a->used += n;
  return p;
}

void cxp_arena_reset(cxp_arena *a) {
  if (a->used > a->high_water) a->high_water = a->used;
  if (a->head != NULL && a->head->next != NULL) {
    /* Several chunks were needed: replace them by one that holds it all. */
    cxp_arena_close(a);
    if (a->high_water > a->chunk_size) a->chunk_size = a->high_water;
    a->head = chunk_new(a->chunk_size);
  }
  if (a->head != NULL) a->head->off = 0;
  a->used = 0;
}

static _Thread_local cxp_arena *json_arena;

static void *json_malloc(size_t n) {
  return json_arena != NULL ? cxp_arena_alloc(json_arena, n) : malloc(n);
}

static void json_free(void *p) {
  if (json_arena == NULL) free(p);
}

void cxp_arena_json_install(void) {
  cJSON_Hooks h = {json_malloc, json_free};
  cJSON_InitHooks(&h);
}

void cxp_arena_json_begin(cxp_arena *a) { json_arena = a; }
void cxp_arena_json_end(void) { json_arena = NULL; }
