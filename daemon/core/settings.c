/* The settings tables' machinery: defaults, validation of a parsed file
 * against a table, the effective settings and the reference documentation
 * (settings.h). Reading the files is the shell's (shell/config.c). */
#include "settings.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void cxp_settings_defaults(const cxp_setting *tbl, void *obj) {
  char err[256];
  for (const cxp_setting *s = tbl; s->name; s++) {
    cJSON *v = cJSON_Parse(s->def);
    cJSON *wrap = cJSON_CreateObject();
    /* Defaults go through the same path as the file's values, so a default
     * that breaks the table's own bounds is caught by the unit tests. */
    cJSON *cur = wrap;
    const char *p = s->name;
    for (;;) {
      const char *dot = strchr(p, '.');
      char part[128];
      size_t n = dot ? (size_t)(dot - p) : strlen(p);
      snprintf(part, sizeof part, "%.*s", (int)n, p);
      if (!dot) {
        cJSON_AddItemToObject(cur, part, v);
        break;
      }
      cJSON *child = cJSON_CreateObject();
      cJSON_AddItemToObject(cur, part, child);
      cur = child;
      p = dot + 1;
    }
    /* A default the table's own bounds refuse is a bug of the build: the
     * unit tests load every table's defaults. */
    if (cxp_settings_apply(tbl, obj, wrap, "(defaults)", NULL, NULL, err, sizeof err)) {
      fprintf(stderr, "cxpulse: bad default in a settings table: %s\n", err);
      abort();
    }
    cJSON_Delete(wrap);
  }
}

static int one_of(const char *const *choices, const char *v) {
  for (; *choices; choices++)
    if (strcmp(*choices, v) == 0) return 1;
  return 0;
}

/* "a, b, c" */
static void join_choices(const char *const *choices, char *out, size_t cap) {
  size_t n = 0;
  out[0] = '\0';
  for (const char *const *c = choices; *c && n < cap; c++)
    n += (size_t)snprintf(out + n, cap - n, "%s%s", c == choices ? "" : ", ", *c);
}

static const cxp_setting *find(const cxp_setting *tbl, const char *name) {
  for (const cxp_setting *s = tbl; s->name; s++)
    if (strcmp(s->name, name) == 0) return s;
  return NULL;
}

/* True when some setting's name starts with "prefix.". */
static int is_section(const cxp_setting *tbl, const char *prefix) {
  size_t n = strlen(prefix);
  for (const cxp_setting *s = tbl; s->name; s++)
    if (strncmp(s->name, prefix, n) == 0 && s->name[n] == '.') return 1;
  return 0;
}

static int set_one(const cxp_setting *s, void *obj, const cJSON *v,
                   const char *file, const char *key, char *err, size_t errlen) {
  char *base = (char *)obj + s->offset;
  switch (s->type) {
  case CXP_T_BOOL:
    if (!cJSON_IsBool(v)) goto type;
    *(int *)base = cJSON_IsTrue(v);
    return 0;
  case CXP_T_INT: {
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble)) goto type;
    double d = v->valuedouble;
    if (d < s->min || d > s->max) goto range;
    *(long long *)base = (long long)d;
    return 0;
  }
  case CXP_T_DOUBLE: {
    if (!cJSON_IsNumber(v)) goto type;
    double d = v->valuedouble;
    if (d < s->min || d > s->max) goto range;
    *(double *)base = d;
    return 0;
  }
  case CXP_T_STRING: {
    if (!cJSON_IsString(v)) goto type;
    size_t n = strlen(v->valuestring);
    if (n < s->min || n > s->max || n >= CXP_STR_MAX) {
      snprintf(err, errlen, "%s: key '%s': length %zu is outside %g..%g", file, key, n,
               s->min, s->max);
      return -1;
    }
    if (s->choices && !one_of(s->choices, v->valuestring)) {
      char list[256];
      join_choices(s->choices, list, sizeof list);
      snprintf(err, errlen, "%s: key '%s': '%s' is not one of %s", file, key, v->valuestring,
               list);
      return -1;
    }
    memcpy(base, v->valuestring, n + 1);
    return 0;
  }
  case CXP_T_LIST: {
    if (!cJSON_IsArray(v)) goto type;
    int count = cJSON_GetArraySize(v);
    if (count < s->min || count > s->max) goto range_list;
    const cJSON *it;
    cJSON_ArrayForEach(it, v) {
      if (!cJSON_IsString(it) || it->valuestring[0] == '\0') goto type;
    }
    char *text = cJSON_PrintUnformatted(v);
    if (text == NULL || strlen(text) >= CXP_LIST_MAX) {
      free(text);
      snprintf(err, errlen, "%s: key '%s': list too long", file, key);
      return -1;
    }
    strcpy(base, text);
    free(text);
    return 0;
  }
  case CXP_T_MATRIX: {
    /* Checked whole before any of it is kept: a refused file leaves the
     * matrix as it was. */
    int m[CXP_MATRIX_N][CXP_MATRIX_N];
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != CXP_MATRIX_N) goto shape;
    int i = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, v) {
      if (!cJSON_IsArray(row) || cJSON_GetArraySize(row) != CXP_MATRIX_N) goto shape;
      int j = 0;
      const cJSON *it;
      cJSON_ArrayForEach(it, row) {
        if (!cJSON_IsNumber(it) || it->valuedouble != floor(it->valuedouble)) goto shape;
        if (it->valuedouble < s->min || it->valuedouble > s->max) {
          snprintf(err, errlen, "%s: key '%s': row %d, column %d: %g is outside %g..%g", file,
                   key, i + 1, j + 1, it->valuedouble, s->min, s->max);
          return -1;
        }
        m[i][j++] = (int)it->valuedouble;
      }
      i++;
    }
    memcpy(base, m, sizeof m);
    return 0;
  }
  }
type:
  snprintf(err, errlen, "%s: key '%s': expected %s", file, key,
           s->type == CXP_T_BOOL     ? "true or false"
           : s->type == CXP_T_INT    ? "an integer"
           : s->type == CXP_T_DOUBLE ? "a number"
           : s->type == CXP_T_STRING ? "a string"
                                     : "an array of non-empty strings");
  return -1;
range:
  snprintf(err, errlen, "%s: key '%s': %g is outside %g..%g", file, key,
           v->valuedouble, s->min, s->max);
  return -1;
range_list:
  snprintf(err, errlen, "%s: key '%s': needs %g to %g entries", file, key, s->min,
           s->max);
  return -1;
shape:
  snprintf(err, errlen, "%s: key '%s': expected %d rows of %d integers", file, key,
           CXP_MATRIX_N, CXP_MATRIX_N);
  return -1;
}

/* Levenshtein distance between a and b (each at most 127 bytes; longer
 * ones count as far). */
static size_t edit_distance(const char *a, size_t na, const char *b, size_t nb) {
  size_t row[128];
  if (na > 127 || nb > 127) return SIZE_MAX;
  for (size_t j = 0; j <= nb; j++) row[j] = j;
  for (size_t i = 1; i <= na; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= nb; j++) {
      size_t up = row[j];
      size_t best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[nb];
}

/* The setting or section whose dotted name is nearest an unknown key, for
 * the error's "did you mean": within a quarter of the key's length (plus
 * one) in edits, else NULL. A section is named by its own prefix of a
 * setting's name. */
static const char *nearest(const cxp_setting *tbl, const char *key, char best[128]) {
  size_t nk = strlen(key), limit = 1 + nk / 4, least = SIZE_MAX;
  for (const cxp_setting *s = tbl; s->name; s++)
    for (size_t n = 1, len = strlen(s->name); n <= len; n++) {
      if (s->name[n] != '.' && s->name[n] != '\0') continue;
      size_t d = edit_distance(key, nk, s->name, n);
      if (d < least && d <= limit && n < 128) {
        least = d;
        memcpy(best, s->name, n);
        best[n] = '\0';
      }
    }
  return least == SIZE_MAX ? NULL : best;
}

static int walk(const cxp_setting *tbl, void *obj, const cJSON *node,
                const char *prefix, const char *file, const char *passthrough,
                cxp_kv_fn kv, char *err, size_t errlen) {
  const cJSON *it;
  cJSON_ArrayForEach(it, node) {
    char key[256];
    if (prefix[0])
      snprintf(key, sizeof key, "%s.%s", prefix, it->string);
    else
      snprintf(key, sizeof key, "%s", it->string);
    /* librdkafka's own names contain dots ("bootstrap.servers"), so below
     * the passthrough key the rest of the path is taken as one name. */
    if (passthrough && kv && strcmp(key, passthrough) == 0) {
      if (!cJSON_IsObject(it)) {
        snprintf(err, errlen, "%s: key '%s': expected an object", file, key);
        return -1;
      }
      if (walk(tbl, obj, it, key, file, passthrough, kv, err, errlen)) return -1;
      continue;
    }
    if (passthrough && kv && strncmp(key, passthrough, strlen(passthrough)) == 0 &&
        key[strlen(passthrough)] == '.') {
      if (cJSON_IsObject(it)) {
        if (walk(tbl, obj, it, key, file, passthrough, kv, err, errlen)) return -1;
        continue;
      }
      char val[CXP_STR_MAX];
      if (cJSON_IsString(it) && strlen(it->valuestring) >= sizeof val) {
        snprintf(err, errlen, "%s: key '%s': longer than %zu bytes", file, key,
                 sizeof val - 1);
        return -1;
      }
      if (cJSON_IsString(it))
        snprintf(val, sizeof val, "%s", it->valuestring);
      else if (cJSON_IsBool(it))
        snprintf(val, sizeof val, "%s", cJSON_IsTrue(it) ? "true" : "false");
      else if (cJSON_IsNumber(it))
        snprintf(val, sizeof val, "%.15g", it->valuedouble);
      else {
        snprintf(err, errlen, "%s: key '%s': expected a string, number or boolean",
                 file, key);
        return -1;
      }
      if (kv(obj, key + strlen(passthrough) + 1, val)) {
        snprintf(err, errlen, "%s: key '%s': too many or too long", file, key);
        return -1;
      }
      continue;
    }
    const cxp_setting *s = find(tbl, key);
    if (s) {
      if (set_one(s, obj, it, file, key, err, errlen)) return -1;
    } else if (cJSON_IsObject(it) && is_section(tbl, key)) {
      if (walk(tbl, obj, it, key, file, passthrough, kv, err, errlen)) return -1;
    } else {
      char buf[128];
      const char *near = nearest(tbl, key, buf);
      if (near)
        snprintf(err, errlen, "%s: key '%s': unknown setting; did you mean '%s'?", file, key,
                 near);
      else
        snprintf(err, errlen, "%s: key '%s': unknown setting", file, key);
      return -1;
    }
  }
  return 0;
}

int cxp_settings_apply(const cxp_setting *tbl, void *obj, const cJSON *root,
                       const char *file, const char *passthrough, cxp_kv_fn kv,
                       char *err, size_t errlen) {
  return walk(tbl, obj, root, "", file, passthrough, kv, err, errlen);
}

static void print_value(const cxp_setting *s, const void *obj, FILE *out) {
  const char *base = (const char *)obj + s->offset;
  switch (s->type) {
  case CXP_T_BOOL: fputs(*(const int *)base ? "true" : "false", out); break;
  case CXP_T_INT: fprintf(out, "%lld", *(const long long *)base); break;
  case CXP_T_DOUBLE: fprintf(out, "%.17g", *(const double *)base); break;
  case CXP_T_STRING: {
    cJSON *s2 = cJSON_CreateString(base);
    char *t = cJSON_PrintUnformatted(s2);
    fputs(t, out);
    free(t);
    cJSON_Delete(s2);
    break;
  }
  case CXP_T_LIST: fputs(base, out); break;
  case CXP_T_MATRIX: {
    const int(*m)[CXP_MATRIX_N] = (const int(*)[CXP_MATRIX_N])(const void *)base;
    for (int i = 0; i < CXP_MATRIX_N; i++)
      for (int j = 0; j < CXP_MATRIX_N; j++)
        fprintf(out, "%s%d%s", j ? "," : i ? ",[" : "[[", m[i][j],
                j < CXP_MATRIX_N - 1 ? "" : i < CXP_MATRIX_N - 1 ? "]" : "]]");
    break;
  }
  }
}

void cxp_settings_print(const cxp_setting *tbl, const void *obj, FILE *out,
                        int indent) {
  /* Settings of one section sit together in the table, so the nesting can be
   * written in one pass by closing and opening objects as the prefix changes. */
  char open[8][64];
  int depth = 0;
  int first[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  fputs("{", out);
  for (const cxp_setting *s = tbl; s->name; s++) {
    char parts[8][64];
    int np = 0;
    const char *p = s->name;
    while (np < 8) {
      const char *dot = strchr(p, '.');
      size_t n = dot ? (size_t)(dot - p) : strlen(p);
      snprintf(parts[np++], 64, "%.*s", (int)n, p);
      if (!dot) break;
      p = dot + 1;
    }
    int common = 0;
    while (common < depth && common < np - 1 && strcmp(open[common], parts[common]) == 0)
      common++;
    while (depth > common) {
      depth--;
      fprintf(out, "\n%*s}", indent * (depth + 1), "");
    }
    while (depth < np - 1) {
      fprintf(out, "%s\n%*s\"%s\": {", first[depth] ? "" : ",", indent * (depth + 1), "",
              parts[depth]);
      first[depth] = 0;
      snprintf(open[depth], 64, "%s", parts[depth]);
      depth++;
      first[depth] = 1;
    }
    fprintf(out, "%s\n%*s\"%s\": ", first[depth] ? "" : ",", indent * (depth + 1), "",
            parts[np - 1]);
    first[depth] = 0;
    print_value(s, obj, out);
  }
  while (depth > 0) {
    depth--;
    fprintf(out, "\n%*s}", indent * (depth + 1), "");
  }
  fputs("\n}", out);
}

void cxp_settings_doc(const cxp_setting *tbl, FILE *out) {
  static const char *tn[] = {"bool", "int", "number", "string", "list", "matrix"};
  fputs("| setting | type | default | bounds | description |\n|---|---|---|---|---|\n", out);
  for (const cxp_setting *s = tbl; s->name; s++) {
    fprintf(out, "| `%s` | %s | `%s` | ", s->name, tn[s->type], s->def);
    if (s->type == CXP_T_BOOL)
      fputs("", out);
    else if (s->type == CXP_T_STRING)
      fprintf(out, "length %.15g..%.15g", s->min, s->max);
    else if (s->type == CXP_T_LIST)
      fprintf(out, "%.15g..%.15g entries", s->min, s->max);
    else if (s->type == CXP_T_MATRIX)
      fprintf(out, "%dx%d of %.15g..%.15g", CXP_MATRIX_N, CXP_MATRIX_N, s->min, s->max);
    else
      fprintf(out, "%.15g..%.15g", s->min, s->max);
    fprintf(out, " | %s", s->desc);
    if (s->type == CXP_T_STRING && s->choices) {
      fputs(" One of:", out);
      for (const char *const *c = s->choices; *c; c++)
        fprintf(out, "%s `%s`", c == s->choices ? "" : ",", *c);
      fputs(".", out);
    }
    fputs(" |\n", out);
  }
}

int cxp_strset_parse(cxp_strset *s, const char *list_json) {
  s->n = 0;
  s->off[0] = 0;
  cJSON *a = cJSON_Parse(list_json);
  int rc = cJSON_IsArray(a) && cJSON_GetArraySize(a) <= CXP_SET_MAX ? 0 : -1;
  size_t used = 0;
  const cJSON *it;
  cJSON *items = rc == 0 ? a : NULL;
  cJSON_ArrayForEach(it, items) {
    size_t n = cJSON_IsString(it) ? strlen(it->valuestring) : 0;
    /* A list setting's entries always fit (their text is the list's, less
     * the quotes and commas); text from elsewhere may not, and is refused. */
    if (!cJSON_IsString(it) || used + n > sizeof s->buf) {
      rc = -1;
      break;
    }
    memcpy(s->buf + used, it->valuestring, n);
    used += n;
    s->off[++s->n] = (unsigned short)used;
  }
  cJSON_Delete(a);
  if (rc != 0) s->n = 0;
  return rc;
}

int cxp_strset_has(const cxp_strset *s, const char *str, size_t len) {
  if (len == 0) return 0;
  for (int i = 0; i < s->n; i++)
    if ((size_t)(s->off[i + 1] - s->off[i]) == len && memcmp(s->buf + s->off[i], str, len) == 0)
      return 1;
  return 0;
}
