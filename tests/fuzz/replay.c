/* A main for the fuzz targets in builds without libFuzzer (gcc, `make
 * check`): runs every file of the directories (or the files) named on the
 * command line through LLVMFuzzerTestOneInput, once each, in name order, so
 * that the seed corpus and every input a fuzzer once found (the regress
 * directories) are checked on every build, under the sanitizers when the
 * build has them.
 *
 * A crash or a sanitizer report ends the process as it would under
 * libFuzzer. A hang fails too: each input gets an alarm (CXP_FUZZ_ALARM_S,
 * 10 s by default, libFuzzer's -timeout of `make fuzz`), and the file that
 * overran is named. `--max-seconds=S` before some of the paths fails the
 * run when one of their inputs takes longer than S seconds (and goes on):
 * the regressions of a hang ran for seconds, not for ever, and must now be
 * quick. A directory that does not exist is skipped (a target with no
 * regressions yet has none), but a run of no input at all fails: that is a
 * target wired to the wrong place.
 *
 *   fuzz_<name> [--max-seconds=S] DIR|FILE... */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input running, for the alarm's message (set before each input, read
 * only by the handler). */
static const char *volatile current;

static void on_alarm(int sig) {
  (void)sig;
  static const char a[] = "replay: no result within the alarm (a hang) on ";
  const char *f = current ? current : "?";
  if (write(2, a, sizeof a - 1) < 0 || write(2, f, strlen(f)) < 0 || write(2, "\n", 1) < 0) {
  }
  _exit(70);
}

/* Reads a whole file into a buffer of exactly its size (so that ASan sees a
 * read past the input's end). 0, or -1 with errno. */
static int slurp(const char *path, uint8_t **out, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return -1;
  size_t cap = 4096, n = 0;
  uint8_t *b = malloc(cap);
  for (;;) {
    if (b == NULL) break;
    n += fread(b + n, 1, cap - n, f);
    if (n < cap) break;
    uint8_t *nb = realloc(b, cap * 2);
    if (nb == NULL) {
      free(b);
      b = NULL;
      break;
    }
    b = nb;
    cap *= 2;
  }
  int bad = ferror(f);
  fclose(f);
  if (b == NULL || bad) {
    free(b);
    errno = EIO;
    return -1;
  }
  uint8_t *exact = malloc(n ? n : 1);
  if (exact == NULL) {
    free(b);
    return -1;
  }
  memcpy(exact, b, n);
  free(b);
  *out = exact;
  *len = n;
  return 0;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static long ran;
static double max_seconds; /* 0: no limit but the alarm */

static int run_file(const char *path, unsigned alarm_s) {
  uint8_t *data;
  size_t len;
  if (slurp(path, &data, &len) != 0) {
    fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
    return -1;
  }
  current = path;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  alarm(alarm_s);
  LLVMFuzzerTestOneInput(data, len);
  alarm(0);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  if (s > 1.0) fprintf(stderr, "replay: %s took %.2f s\n", path, s);
  free(data);
  ran++;
  if (max_seconds > 0 && s > max_seconds) {
    fprintf(stderr, "replay: %s took %.2f s, over the %.2f s allowed\n", path, s, max_seconds);
    return -1;
  }
  return 0;
}

static int run_dir(const char *dir, unsigned alarm_s) {
  DIR *d = opendir(dir);
  if (d == NULL) {
    if (errno == ENOENT) return 0;
    fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
    return -1;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue; /* ., .., and dot files such as .gitkeep */
    if (n == cap) {
      cap = cap ? cap * 2 : 64;
      char **nn = realloc(names, cap * sizeof *nn);
      if (nn == NULL) abort();
      names = nn;
    }
    size_t l = strlen(dir) + strlen(e->d_name) + 2;
    names[n] = malloc(l);
    if (names[n] == NULL) abort();
    snprintf(names[n], l, "%s/%s", dir, e->d_name);
    n++;
  }
  closedir(d);
  qsort(names, n, sizeof *names, by_name);
  int rc = 0;
  for (size_t i = 0; i < n; i++) {
    struct stat st;
    if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode) && run_file(names[i], alarm_s) != 0)
      rc = -1;
    free(names[i]);
  }
  free(names);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s [--max-seconds=S] DIR|FILE...\n", argv[0]);
    return 2;
  }
  const char *env = getenv("CXP_FUZZ_ALARM_S");
  unsigned alarm_s = env && atoi(env) > 0 ? (unsigned)atoi(env) : 10;
  signal(SIGALRM, on_alarm);
  int rc = 0;
  for (int i = 1; i < argc; i++) {
    if (strncmp(argv[i], "--max-seconds=", 14) == 0) {
      max_seconds = atof(argv[i] + 14);
      continue;
    }
    struct stat st;
    if (stat(argv[i], &st) == 0 && S_ISREG(st.st_mode)) {
      if (run_file(argv[i], alarm_s) != 0) rc = 1;
    } else if (run_dir(argv[i], alarm_s) != 0) {
      rc = 1;
    }
  }
  printf("replay: %ld input(s) run\n", ran);
  if (ran == 0) {
    fprintf(stderr, "replay: no input found\n");
    return 1;
  }
  return rc;
}
