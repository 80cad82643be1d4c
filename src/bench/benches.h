/*
 * benches.h - the benchmarks that live in src/bench/ (one file each), as
 * the table in train/bench.c sees them, and the benchmarks users describe
 * in YAML (userbench.c).  The structs are static and never freed; a user
 * benchmark is owned by its caller (sk_userbench_free).
 */
#ifndef SK_BENCHES_H
#define SK_BENCHES_H

#include "common.h"
#include "train/bench.h"

extern const struct sk_bench sk_bench_livemath;    /* livemath.c */
extern const struct sk_bench sk_bench_docvqa;      /* docvqa.c */
extern const struct sk_bench sk_bench_officeqa;    /* officeqa.c */
extern const struct sk_bench sk_bench_spreadsheet; /* spreadsheet.c */
extern const struct sk_bench sk_bench_alfworld;    /* alfworld.c */
extern const struct sk_bench sk_bench_external;    /* alfworld.c */

/*
 * Loads the benchmark described by the YAML file at path (docs/
 * benchmarks.md) and names it name (env.name; the file's own name when
 * blank).  Errors name the file and the field.
 */
int sk_userbench_open(const char *path, const char *name,
                      const struct sk_bench **out, struct sk_error *err);
void sk_userbench_free(const struct sk_bench *b);

/*
 * What a YAML benchmark's file gives besides prompts and scoring: the
 * analyst guidance text (guidance or guidance_file) and the initial
 * skill's path (skill_init, resolved against the file's directory).
 * Borrowed from b; NULL when the file has none or b is not a YAML
 * benchmark.
 */
const char *sk_userbench_guidance(const struct sk_bench *b);
const char *sk_userbench_skill_init(const struct sk_bench *b);

#endif /* SK_BENCHES_H */
