/*
 * anls.h - Average Normalized Levenshtein Similarity, as the reference's
 * DocVQA evaluator computes it for one prediction against its golds.
 *
 * normalize(x) = x.strip().lower() then runs of whitespace -> one space
 * (CPython str semantics, score.h).  Per gold: both normalized strings
 * empty -> 1; one empty -> 0; else NL = Levenshtein(code points) /
 * max(len), and the score is 0 when NL >= 0.5, else 1 - NL.  ANLS is the
 * maximum over the golds, starting from 0 (no golds -> 0).
 *
 * Bounded work: the distance is computed with two rows over the part of
 * the strings that differs (their common prefix and suffix removed, which
 * leaves the distance unchanged); when the length difference alone puts
 * NL at 0.5 or more the pair scores 0 without any table.  If a side of
 * the differing part is still longer than SK_ANLS_MAX_CHARS code points
 * the pair scores 0 (the reference would compute it; since the length
 * test comes first, only golds of over SK_ANLS_MAX_CHARS / 2 code points
 * can be affected, and DocVQA golds are a few words).
 *
 * Text is borrowed NUL-terminated UTF-8 (invalid bytes read as U+FFFD);
 * nothing is kept.
 */
#ifndef SK_ANLS_H
#define SK_ANLS_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

/* The reference's tau: a pair at this normalized distance or more is 0. */
#define SK_ANLS_THRESHOLD 0.5
/* Longest differing part (code points, each side) the distance is
 * computed for: at most SK_ANLS_MAX_CHARS^2 table cells per pair. */
#define SK_ANLS_MAX_CHARS 4096

/*
 * ANLS of pred against golds as the reference computes it (normalize =
 * str.strip().lower() then whitespace runs -> one space; Levenshtein over
 * Unicode code points, not bytes; tau 0.5; max over golds starting from
 * 0; both empty -> 1, one empty -> 0).  Returns SK_OK with *out in [0, 1],
 * or SK_ENOMEM (then *out is 0).
 */
int sk_anls_score(const char *pred, const char *const *golds, size_t n_golds,
                  double *out);

/*
 * The normalized form of s[0..len) as code points: a new array in *out
 * (NULL when *n is 0).  SK_OK or SK_ENOMEM.
 */
int sk_anls_normalize(const char *s, size_t len, uint32_t **out, size_t *n);

/*
 * Unit-cost Levenshtein distance between a[0..la) and b[0..lb) into *d.
 * SK_OK; SK_ETOOBIG when, after the common prefix and suffix, both sides
 * are non-empty and one is longer than SK_ANLS_MAX_CHARS; SK_ENOMEM.
 */
int sk_anls_distance(const uint32_t *a, size_t la, const uint32_t *b, size_t lb,
                     size_t *d);

#endif /* SK_ANLS_H */
