/*
 * choice.h - the reference's multiple-choice label parser (LiveMath's
 * evaluator, benchmarks.md 5 "parse"), shared by the livemathematicianbench
 * benchmark and the "choice" scorer of benchmarks described in YAML.
 *
 * Strings are NUL-terminated UTF-8 and borrowed; a byte that is not part
 * of a valid sequence reads as U+FFFD.  Case mapping and whitespace follow
 * CPython 3.11 (str.upper, str.lower with its final-sigma rule, str.strip,
 * str.split) bit for bit.  Nothing allocates, so nothing can fail; results
 * go to caller-owned char arrays.
 */
#ifndef SK_CHOICE_H
#define SK_CHOICE_H

#include <stddef.h>

#include "common.h"

/*
 * The reference's choice-label parser (benchmarks.md 5 "parse"): answer is
 * the extracted answer text; labels[i]/texts[i] the options; writes the
 * parsed label (normalized) into out (NUL-terminated, at most outsz) and
 * returns 1 when it is one of the labels, 0 otherwise (out then holds the
 * normalized answer).
 *
 * In order: the normalized answer equals a normalized label; else the
 * answer, lower-cased (not stripped), equals a non-empty option text
 * stripped and lower-cased (that option's normalized label; the first
 * such option wins); else the normalized first whitespace-separated token
 * equals a normalized label.  texts may be NULL (no text matching); a NULL
 * label or text reads as "".  A result longer than outsz - 1 bytes is cut
 * at a code point boundary (outsz >= 3 * the longest of answer and labels
 * + 1 never cuts); out may be NULL when outsz is 0.
 */
int sk_choice_parse(const char *answer, const char *const *labels,
                    const char *const *texts, size_t n, char *out,
                    size_t outsz);

/*
 * normalize_label: strip, upper-case (CPython str.upper, so "ß" becomes
 * "SS"), strip trailing '.', ')', ':'.  Writes into out (NUL-terminated,
 * at most outsz bytes, cut at a code point boundary; outsz >= 3 *
 * strlen(in) + 1 never cuts).  in NULL reads as "".
 */
void sk_choice_normalize(const char *in, char *out, size_t outsz);

#endif /* SK_CHOICE_H */
