/* Settings tables: one table per file kind describes every setting (name,
 * type, default, bounds, description) and drives validation, defaults,
 * `check-config` output and the generated documentation. Pure: the shell
 * reads the files (shell/config.h) and hands their parsed JSON in. */
#ifndef CXP_SETTINGS_H
#define CXP_SETTINGS_H

#include <stddef.h>
#include <stdio.h>

#define CXP_STR_MAX 256
#define CXP_LIST_MAX 1024 /* a list is kept as rendered JSON array text */

typedef enum {
  CXP_T_BOOL,   /* int 0/1 */
  CXP_T_INT,    /* long long */
  CXP_T_DOUBLE, /* double */
  CXP_T_STRING, /* char[CXP_STR_MAX] */
  CXP_T_LIST,   /* char[CXP_LIST_MAX]: a JSON array of strings, as text */
  CXP_T_MATRIX  /* int[CXP_MATRIX_N][CXP_MATRIX_N]: an array of rows of integers */
} cxp_setting_type;

/* A matrix setting is square, this many rows of this many integers, each
 * within the row's min..max (recovery.severity_matrix: likelihood by
 * impact, both 1..4). */
#define CXP_MATRIX_N 4

typedef struct cxp_setting {
  const char *name; /* dotted path: "alerts.cooldown_h" is {"alerts":{"cooldown_h":..}} */
  cxp_setting_type type;
  const char *def; /* default, written as it would be in the file */
  double min, max; /* bounds for numbers and a matrix's entries; length bounds for strings */
  size_t offset;   /* where the value lives in the settings struct */
  const char *desc;
  /* CXP_T_STRING only: the values allowed, NULL-terminated (checked like
   * the bounds, listed in the documentation); NULL: any string. */
  const char *const *choices;
} cxp_setting;

/* Fills `obj` with the defaults of `tbl`. */
void cxp_settings_defaults(const cxp_setting *tbl, void *obj);

/* Applies a parsed JSON document to `obj` under `tbl`. A leaf under a key in
 * `passthrough` (e.g. "kafka") is handed to `kv` instead of the table. On
 * error, writes "FILE: key 'K': what is wrong" into err and returns -1. */
struct cJSON;
typedef int (*cxp_kv_fn)(void *obj, const char *key, const char *value);
int cxp_settings_apply(const cxp_setting *tbl, void *obj, const struct cJSON *root,
                       const char *file, const char *passthrough, cxp_kv_fn kv,
                       char *err, size_t errlen);

/* Prints the effective settings as one JSON object (nested by dots). */
void cxp_settings_print(const cxp_setting *tbl, const void *obj, FILE *out,
                        int indent);
/* Prints a Markdown table of the settings: the reference documentation. */
void cxp_settings_doc(const cxp_setting *tbl, FILE *out);

/* A list setting parsed once, at load, for lookups on the per-event path
 * (premium segments, must-be attributes, escalation roles): its entries
 * side by side in buf, entry i at buf + off[i], off[i + 1] - off[i] bytes
 * long. */
#define CXP_SET_MAX 64
typedef struct cxp_strset {
  int n;
  unsigned short off[CXP_SET_MAX + 1];
  char buf[CXP_LIST_MAX];
} cxp_strset;

/* Parses a rendered JSON array of strings (a CXP_T_LIST setting's value)
 * into s: 0, or -1 (s empty) when it is not such an array or holds more
 * than CXP_SET_MAX entries. */
int cxp_strset_parse(cxp_strset *s, const char *list_json);
/* True when str[0..len) is one of s's entries. */
int cxp_strset_has(const cxp_strset *s, const char *str, size_t len);
/* Entry i of s, in the list's order: its first byte (not NUL-terminated:
 * the next entry follows) and its length in *len; NULL when s has no entry
 * i. */
static inline const char *cxp_strset_at(const cxp_strset *s, int i, size_t *len) {
  if (i < 0 || i >= s->n) return NULL;
  *len = (size_t)(s->off[i + 1] - s->off[i]);
  return s->buf + s->off[i];
}

#endif
