#include "snapshot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hash.h"
#include "jsonw.h"
#include "staterec.h"

#define MAGIC "CXPSNAP"            /* 8 bytes with its NUL */
/* 1: customers; 2: customers, then the extra frames (staterec.h frames,
 * to the end of the body). Both are read. */
#define FORMAT 2
#define HEADER 40                  /* magic 8, format 4, partition 4, offset 8, count 8, body 8 */
#define SEED 0x736e617073686f74ULL

/* The file's checksum: four independent lanes of the multiply-xorshift mix
 * over 8-byte words, so the CPU overlaps them (a single chain costs a
 * multiply latency per word: a quarter of a restore's time on hundreds of
 * megabytes). Detects damage, not tampering. */
static uint64_t checksum(const unsigned char *p, size_t len) {
  uint64_t h[4] = {SEED, SEED ^ 0x9e3779b97f4a7c15ULL, SEED ^ 0x6a09e667f3bcc909ULL,
                   SEED ^ 0xbb67ae8584caa73bULL};
  size_t i = 0;
  for (; i + 32 <= len; i += 32)
    for (int k = 0; k < 4; k++) {
      uint64_t w;
      memcpy(&w, p + i + 8 * k, 8);
      h[k] = cxp_hash_mix(h[k] ^ w) + 0x9e3779b97f4a7c15ULL;
    }
  uint64_t r = cxp_hash64(p + i, len - i, h[0] ^ cxp_hash_mix(h[1]) ^ cxp_hash_mix(h[2] + 1) ^
                                              cxp_hash_mix(h[3] + 2));
  return r ^ (uint64_t)len;
}

static void le(char *p, uint64_t v, int n) {
  for (int i = 0; i < n; i++) p[i] = (char)(v >> (8 * i));
}

static uint64_t rd_le(const unsigned char *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

int cxp_snapshot_write(const char *path, const cxp_state *s, int32_t partition,
                       int64_t changelog_offset, cxp_staterec_ext_fn ext_fn, void *opaque,
                       const cxp_buf *extra, char *err, size_t errlen) {
  cxp_buf b, rec, ext;
  cxp_buf_init(&b);
  cxp_buf_init(&rec);
  cxp_buf_init(&ext);
  cxp_buf_reserve(&b, HEADER);
  b.len = HEADER; /* filled in once the body is known */
  uint64_t count = 0;
  const cxp_shard *sh = partition >= 0 && partition < s->n_shards ? s->shards[partition] : NULL;
  for (size_t i = 0; sh && i < sh->cap; i++) {
    const cxp_customer *cu = sh->slots[i];
    if (cu == NULL) continue;
    cxp_buf_reset(&rec);
    cxp_buf_reset(&ext);
    if (ext_fn) ext_fn(opaque, partition, cu, &ext);
    cxp_staterec_write(&rec, cu, cxp_state_segment_name(s, cu->segment), ext.p, ext.len);
    char len[4];
    le(len, rec.len, 4);
    cxp_buf_put(&b, len, 4);
    cxp_buf_put(&b, rec.p, rec.len);
    count++;
  }
  if (extra && extra->len) cxp_buf_put(&b, extra->p, extra->len);
  memcpy(b.p, MAGIC, 8);
  le(b.p + 8, FORMAT, 4);
  le(b.p + 12, (uint32_t)partition, 4);
  le(b.p + 16, (uint64_t)changelog_offset, 8);
  le(b.p + 24, count, 8);
  le(b.p + 32, b.len - HEADER, 8);
  char sum[8];
  le(sum, checksum((const unsigned char *)b.p, b.len), 8);
  cxp_buf_put(&b, sum, 8);

  char tmp[4096];
  int rc = -1;
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "wb");
  if (f == NULL) {
    snprintf(err, errlen, "snapshot %s: %s", tmp, strerror(errno));
  } else {
    int ok = fwrite(b.p, 1, b.len, f) == b.len && fflush(f) == 0 && fsync(fileno(f)) == 0;
    int e = errno;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
      snprintf(err, errlen, "snapshot %s: %s", path, strerror(ok ? errno : e));
      unlink(tmp);
    } else {
      rc = 0;
    }
  }
  cxp_buf_free(&b);
  cxp_buf_free(&rec);
  cxp_buf_free(&ext);
  return rc;
}

long cxp_snapshot_read(const char *path, cxp_state *s, int32_t partition,
                       int64_t *changelog_offset, cxp_buf *cases, cxp_buf *extra,
                       int64_t *max_ts, char *err, size_t errlen) {
  *max_ts = INT64_MIN;
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    snprintf(err, errlen, "snapshot %s: %s", path, strerror(errno));
    return -1;
  }
  /* Mapped, not read: a restore goes over hundreds of megabytes once, and
   * the page cache's pages serve without a copy. */
  struct stat st;
  unsigned char *buf = NULL;
  size_t len = 0;
  if (fstat(fileno(f), &st) == 0 && st.st_size > 0) {
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fileno(f), 0);
    if (m == MAP_FAILED) {
      snprintf(err, errlen, "snapshot %s: %s", path, strerror(errno));
      fclose(f);
      return -1;
    }
    madvise(m, (size_t)st.st_size, MADV_SEQUENTIAL);
    buf = m;
    len = (size_t)st.st_size;
  }
  fclose(f);
  long rc = -1;
  if (len < HEADER + 8 || memcmp(buf, MAGIC, 8) != 0) {
    snprintf(err, errlen, "snapshot %s: not a cxpulse snapshot (or truncated)", path);
  } else if (rd_le(buf + 8, 4) < 1 || rd_le(buf + 8, 4) > FORMAT) {
    snprintf(err, errlen, "snapshot %s: format %llu; this build reads 1 to %d", path,
             (unsigned long long)rd_le(buf + 8, 4), FORMAT);
  } else if (rd_le(buf + 32, 8) != len - HEADER - 8) {
    snprintf(err, errlen, "snapshot %s: truncated (%zu bytes of %llu)", path, len - HEADER - 8,
             (unsigned long long)rd_le(buf + 32, 8));
  } else if (checksum(buf, len - 8) != rd_le(buf + len - 8, 8)) {
    snprintf(err, errlen, "snapshot %s: checksum mismatch (corrupt)", path);
  } else if ((int32_t)rd_le(buf + 12, 4) != partition) {
    snprintf(err, errlen, "snapshot %s: of partition %d, not %d", path,
             (int)(int32_t)rd_le(buf + 12, 4), (int)partition);
  } else if ((int64_t)rd_le(buf + 16, 8) < -1) {
    /* The changelog offset it covers: the restorer starts at the next one,
     * so -1 (nothing) or an offset. */
    snprintf(err, errlen, "snapshot %s: covers changelog offset %lld, expected -1 or more",
             path, (long long)(int64_t)rd_le(buf + 16, 8));
  } else if (rd_le(buf + 24, 8) > (len - HEADER - 8) / 5) {
    /* A record takes its 4-byte length and at least a byte: a count the
     * body cannot hold is refused before any is read. */
    snprintf(err, errlen, "snapshot %s: %llu records in a body of %zu bytes", path,
             (unsigned long long)rd_le(buf + 24, 8), len - HEADER - 8);
  } else {
    /* The checksum held: the records are as written. Each is still
     * decoded with every check, so a bug in a writer cannot go unseen. */
    uint64_t count = rd_le(buf + 24, 8), n = 0;
    size_t at = HEADER, end = len - 8;
    cxp_shard *sh = cxp_state_shard(s, partition);
    rc = 0;
    while (at < end && n < count) {
      if (end - at < 4) break;
      size_t rl = (size_t)rd_le(buf + at, 4);
      at += 4;
      cxp_customer *cu;
      const uint8_t *ext;
      size_t el;
      if (rl > end - at ||
          cxp_staterec_read(buf + at, rl, s, sh, &cu, &ext, &el, err, errlen) != 0) {
        if (rl > end - at) snprintf(err, errlen, "snapshot %s: a record runs past the end", path);
        rc = -1;
        break;
      }
      if (cu->last_ts_ms > *max_ts) *max_ts = cu->last_ts_ms;
      if (el) {
        /* A frame of staterec.h keyed by the customer id: the cases take
         * it on the loop, once the shard is adopted. */
        cxp_staterec_frame_put(cases, "", cu->id, cu->id_len, ext, el);
      }
      at += rl;
      n++;
    }
    if (rc == 0 && n != count) {
      snprintf(err, errlen, "snapshot %s: %llu records, the header says %llu", path,
               (unsigned long long)n, (unsigned long long)count);
      rc = -1;
    }
    /* Format 2: the extra frames take the rest, exactly. */
    size_t frames_at = at;
    if (rc == 0 && at != end) {
      size_t pos = 0, kl, vl;
      const char *k;
      const uint8_t *v;
      const char *body = (const char *)buf + at;
      while (cxp_staterec_frame_next(body, end - at, &pos, &k, &kl, &v, &vl)) {
      }
      if (rd_le(buf + 8, 4) < 2 || pos != end - at) {
        snprintf(err, errlen, "snapshot %s: %zu bytes after the %llu records that are not "
                 "frames", path, end - at - pos, (unsigned long long)n);
        rc = -1;
      }
    }
    if (rc == 0 && extra && frames_at != end)
      cxp_buf_put(extra, (const char *)buf + frames_at, end - frames_at);
    if (rc == 0) {
      *changelog_offset = (int64_t)rd_le(buf + 16, 8);
      rc = (long)n;
    }
  }
  if (buf) munmap(buf, len);
  return rc;
}
