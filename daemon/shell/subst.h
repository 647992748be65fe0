/* References in the string values of the daemon's own file, resolved when
 * it is read, so that secrets need not be written in it:
 *
 *   ${NAME}               the environment variable NAME; unset is an error
 *   ${NAME:-default}      NAME, or `default` (to the first '}') when NAME is
 *                         unset or empty
 *   ${file:/abs/path}     the file's content, trailing newlines removed
 *   ${credential:NAME}    $CREDENTIALS_DIRECTORY/NAME, as above (systemd's
 *                         LoadCredential=)
 *   $${                   a literal "${"
 *
 * NAME is letters, digits and '_', not starting with a digit. What a
 * reference brings in is taken as it is, never expanded again. A file is a
 * regular file of at most CXP_SUBST_FILE_MAX bytes with no NUL byte.
 * Errors name the file, the key and the variable or path, never a value a
 * reference brought in. */
#ifndef CXP_SUBST_H
#define CXP_SUBST_H

#include <stddef.h>

#define CXP_SUBST_FILE_MAX 65536
/* The most one string may grow to once expanded. */
#define CXP_SUBST_OUT_MAX 65536

/* Expands the references of `in` into a new heap string (*out, free()) and
 * says in *refs whether it had any (escapes alone do not count). 0, or -1
 * with "FILE: key 'KEY': what is wrong" in err and *out NULL. */
int cxp_subst_string(const char *in, const char *file, const char *key, char **out, int *refs,
                     char *err, size_t errlen);

/* Called for each string value that held a reference, once it is expanded:
 * `key` dotted as the settings tables name it, `raw` the text as written,
 * `value` the expansion. A nonzero return stops the walk with err filled
 * by the callback. */
typedef int (*cxp_subst_fn)(void *arg, const char *key, const char *raw, const char *value,
                            char *err, size_t errlen);

/* Expands every string value under the JSON object root (objects and arrays
 * alike; not the member names), in place. 0, or -1 with err. */
struct cJSON;
int cxp_subst_json(struct cJSON *root, const char *file, cxp_subst_fn fn, void *arg,
                   char *err, size_t errlen);

#endif
