/*
 * jsonx.h - find the JSON object or array a model meant in its reply text.
 *
 * The text is borrowed and need not be NUL-terminated.  On success *out is a
 * new jansson reference owned by the caller (json_decref it); on failure *out
 * is NULL and err (may be NULL) says why.  Nothing is kept between calls.
 * Reasoning blocks (<think>, <thinking>, <reasoning>) are removed first;
 * candidates are bounded in nesting depth and number length before jansson
 * sees them, and every pass is linear in the input size.
 */
#ifndef SK_JSONX_H
#define SK_JSONX_H

#include <stddef.h>

#include "common.h"

struct json_t;

#define SK_JSONX_MAX_INPUT (8u << 20) /* longer replies: SK_ETOOBIG */
#define SK_JSONX_MAX_DEPTH 64         /* deepest [ / { nesting accepted */
#define SK_JSONX_MAX_DIGITS 100       /* most digits in one number */

/*
 * Finds the JSON object the model meant.  Precedence: the first ```json
 * fenced block (or, when there is none, the first plain ``` block) parsed
 * strictly; the greedy span from the first '{' to the last '}' parsed
 * strictly; then a conservative repair of the single unambiguous top-level
 * object.  A ```json fence may yield a non-object value, as in the
 * reference; every other route yields an object.  Returns SK_OK with *out
 * set, SK_EPARSE with the reason in err->msg ("no JSON object found",
 * "object is truncated", "nesting deeper than 64", ...), SK_ETOOBIG for
 * input over SK_JSONX_MAX_INPUT bytes, or SK_ENOMEM.
 */
int sk_extract_json(const char *text, size_t len, struct json_t **out,
                    struct sk_error *err);

/*
 * Finds the JSON array the model meant: a fenced block holding an array,
 * else the only top-level [...] span that parses strictly (arrays inside
 * objects never count; two or more parsing arrays are ambiguous and fail).
 * No repair is attempted.  Same return codes and ownership as
 * sk_extract_json; *out is always an array on success.
 */
int sk_extract_json_array(const char *text, size_t len, struct json_t **out,
                          struct sk_error *err);

#endif /* SK_JSONX_H */
