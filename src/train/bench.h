/*
 * bench.h - the benchmarks a rollout can run: for each, how an item and a
 * skill become the target's system and user prompts, and how the target's
 * reply is scored into a result row (algorithm.md 2.2-2.4).
 *
 * Items are the jansson objects of data/<bench>_split/<split>/items.json;
 * they and the skill text are borrowed.  Prompts returned through char **
 * are new strings owned by the caller (sk_free); score fields are set on
 * a caller-owned jansson object.  The table is static and never freed.
 */
#ifndef SK_TRAIN_BENCH_H
#define SK_TRAIN_BENCH_H

#include <stddef.h>

#include "common.h"

struct json_t;
struct sk_buf;

/* Largest rendered prompt, in bytes. */
#define SK_BENCH_MAX_PROMPT (16u << 20)

/*
 * Builds the prompts for one item.  Returns SK_OK with *system and *user
 * set; SK_EDATA when the item cannot be asked (a missing field, or a
 * SearchQA context that is null); prompt errors (SK_ENOTFOUND, SK_EPARSE,
 * SK_EIO) from the templates; SK_ENOMEM.  err says why; on failure both
 * outputs are NULL.
 */
typedef int (*sk_bench_build_fn)(const struct json_t *item, const char *skill,
                                 const char *prompts_dir, char **system,
                                 char **user, struct sk_error *err);

/*
 * Scores response (the target's text) for item, setting on result (an
 * object): "hard", "soft", "em", "f1", "predicted_answer", "gold_answers"
 * and "fail_reason" ("" when hard is 1), plus bench extras ("sub_em").
 * Returns SK_OK, SK_EDATA (bad item) or SK_ENOMEM.
 */
typedef int (*sk_bench_score_fn)(const struct json_t *item,
                                 const char *response, struct json_t *result,
                                 struct sk_error *err);

struct sk_bench {
    const char *name;        /* "searchqa", "demo"; also the prompts subdir */
    sk_bench_build_fn build; /* item + skill -> prompts */
    sk_bench_score_fn score; /* item + reply -> result fields */
};

/* The benchmark called name, or NULL (the caller reports "unknown
 * benchmark"). */
const struct sk_bench *sk_bench_find(const char *name);

/*
 * Appends the skill section of the system prompt (2.2): "## Skill\n" +
 * the skill without surrounding whitespace + "\n\n", or nothing when the
 * skill is blank or NULL.  Returns SK_OK, SK_ENOMEM or SK_ETOOBIG.
 */
int sk_bench_skill_section(const char *skill, struct sk_buf *out);

/*
 * Appends the item's id as the reference's str(item["id"]) (a string, or
 * an integer in decimal).  Returns SK_OK, SK_EDATA when the id is absent
 * or of another type, SK_ENOMEM or SK_ETOOBIG.
 */
int sk_bench_item_id(const struct json_t *item, struct sk_buf *out,
                     struct sk_error *err);

#endif /* SK_TRAIN_BENCH_H */
