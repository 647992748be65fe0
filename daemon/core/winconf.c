/* The windows' settings (window.h): defaults and the checks a pipeline's
 * windows section passes at load. */
#include <string.h>

#include "fail.h"
#include "window_int.h"

void cxp_window_conf_defaults(cxp_window_conf *c) {
  memset(c, 0, sizeof *c);
  c->n_lengths = 2;
  c->length_ms[0] = 60000;
  c->length_ms[1] = 3600000;
  c->n_groupings = 2;
  c->grouping[0].n_fields = 1;
  c->grouping[0].fields[0] = CXP_WF_SEGMENT;
  c->grouping[1].n_fields = 1;
  c->grouping[1].fields[0] = CXP_WF_CHANNEL;
  c->lateness_ms = 300000;
  for (int i = 0; i < c->n_lengths; i++)
    c->revision_ms[i] = cxp_window_revision_default(c->length_ms[i]);
  c->min_n = 30;
  c->max_open = 8192;
}

int64_t cxp_window_revision_default(int64_t length_ms) {
  return length_ms > 3600000 ? length_ms : 3600000;
}

int cxp_window_conf_check(const cxp_window_conf *c, char *err, size_t errlen) {
  if (c->n_lengths < 1 || c->n_lengths > CXP_WIN_MAX_LENGTHS)
    CXP_FAIL("windows.lengths: %d lengths, expected 1..%d", c->n_lengths, CXP_WIN_MAX_LENGTHS);
  for (int i = 0; i < c->n_lengths; i++) {
    if (c->length_ms[i] < 1 || c->length_ms[i] > TIME_LIMIT_MS)
      CXP_FAIL("windows.lengths[%d]: %lld ms, expected 1 ms..366 days", i,
           (long long)c->length_ms[i]);
    for (int j = 0; j < i; j++)
      if (c->length_ms[j] == c->length_ms[i])
        CXP_FAIL("windows.lengths[%d]: %lld ms is listed twice", i, (long long)c->length_ms[i]);
  }
  if (c->n_groupings < 1 || c->n_groupings > CXP_WIN_MAX_GROUPINGS)
    CXP_FAIL("windows.group_by: %d groupings, expected 1..%d", c->n_groupings,
         CXP_WIN_MAX_GROUPINGS);
  unsigned sets[CXP_WIN_MAX_GROUPINGS];
  for (int g = 0; g < c->n_groupings; g++) {
    const cxp_window_grouping *gr = &c->grouping[g];
    if (gr->n_fields < 0 || gr->n_fields > CXP_WIN_MAX_FIELDS)
      CXP_FAIL("windows.group_by[%d]: %d fields, expected 0..%d", g, gr->n_fields,
           CXP_WIN_MAX_FIELDS);
    sets[g] = 0;
    for (int f = 0; f < gr->n_fields; f++) {
      if ((unsigned)gr->fields[f] >= CXP_WF__COUNT)
        CXP_FAIL("windows.group_by[%d][%d]: unknown field", g, f);
      if (sets[g] & (1u << gr->fields[f]))
        CXP_FAIL("windows.group_by[%d]: field '%s' is listed twice", g,
             cxp_window_field_name(gr->fields[f]));
      sets[g] |= 1u << gr->fields[f];
    }
    /* The same fields in another order would emit every group twice. */
    for (int h = 0; h < g; h++)
      if (sets[h] == sets[g])
        CXP_FAIL("windows.group_by[%d]: same fields as group_by[%d]", g, h);
  }
  for (int i = 0; i < c->n_lengths; i++)
    if (c->revision_ms[i] < 0 || c->revision_ms[i] > TIME_LIMIT_MS)
      CXP_FAIL("windows.revision_horizons[%d]: %lld ms, expected 0..366 days", i,
           (long long)c->revision_ms[i]);
  if (c->lateness_ms < 0 || c->lateness_ms > TIME_LIMIT_MS)
    CXP_FAIL("windows.lateness: %lld ms, expected 0..366 days", (long long)c->lateness_ms);
  if (c->min_n < 1) CXP_FAIL("windows.min_n: %d, expected at least 1", c->min_n);
  if (c->max_open < 1 || c->max_open > MAX_OPEN_LIMIT)
    CXP_FAIL("windows.max_open: %u, expected 1..%u", c->max_open, MAX_OPEN_LIMIT);
  return 0;
}
