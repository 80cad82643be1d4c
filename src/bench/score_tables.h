/*
 * score_tables.h - Unicode tables behind score.c, generated from CPython by
 * gen_score_tables.py into score_tables.c.  Read-only data; internal to
 * the scoring code (use the functions of score.h instead).
 */
#ifndef SK_SCORE_TABLES_H
#define SK_SCORE_TABLES_H

#include <stddef.h>
#include <stdint.h>

/* Code points first, first+stride, ..., <= last lower to cp + delta. */
struct score_lower_run {
    uint32_t first;
    uint32_t last;
    int32_t stride; /* 1 or 2 */
    int32_t delta;
};

/* A code point whose str.lower() is several code points. */
struct score_lower_multi {
    uint32_t cp;
    uint32_t n; /* code points in out */
    uint32_t out[3];
};

/* Inclusive range of code points. */
struct score_range {
    uint32_t first;
    uint32_t last;
};

extern const struct score_lower_run score_lower_runs[];
extern const size_t score_lower_runs_len;
extern const struct score_lower_multi score_lower_multis[];
extern const size_t score_lower_multis_len;
extern const struct score_range score_space[];
extern const size_t score_space_len;
extern const struct score_range score_word[];
extern const size_t score_word_len;
extern const struct score_range score_printable[];
extern const size_t score_printable_len;
extern const struct score_range score_cased_only[];
extern const size_t score_cased_only_len;
extern const struct score_range score_case_ignorable[];
extern const size_t score_case_ignorable_len;

#endif /* SK_SCORE_TABLES_H */
