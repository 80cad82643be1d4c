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
#include <stdint.h>

#include "common.h"

struct json_t;
struct sk_buf;

/* Largest rendered prompt, in bytes. */
#define SK_BENCH_MAX_PROMPT (16u << 20)

struct sk_config;
struct sk_llm_client;
struct sk_llm_image;

/*
 * What a benchmark may read besides the item: the run's configuration
 * (NULL outside a run: use the defaults), the prompt override directory
 * and the rollout's seed (the batch seed for a train batch, the train
 * seed for evaluations; LiveMath shuffles choices with it).
 */
struct sk_bench_ctx {
    const struct sk_config *cfg;
    const char *prompts_dir;
    int64_t seed;
    const void *data; /* the bench's own data (struct sk_bench.data) */
};

/*
 * Builds the prompts for one item.  Returns SK_OK with *system and *user
 * set; SK_EDATA when the item cannot be asked (a missing field, or a
 * SearchQA context that is null); prompt errors (SK_ENOTFOUND, SK_EPARSE,
 * SK_EIO) from the templates; SK_ENOMEM.  err says why; on failure both
 * outputs are NULL.
 */
typedef int (*sk_bench_build_fn)(const struct json_t *item, const char *skill,
                                 const struct sk_bench_ctx *ctx, char **system,
                                 char **user, struct sk_error *err);

/*
 * Scores response (the target's text) for item, setting on result (an
 * object): "hard", "soft", "em", "f1", "predicted_answer", "gold_answers"
 * and "fail_reason" ("" when hard is 1), plus bench extras ("sub_em").
 * Returns SK_OK, SK_EDATA (bad item) or SK_ENOMEM.
 */
typedef int (*sk_bench_score_fn)(const struct json_t *item,
                                 const char *response,
                                 const struct sk_bench_ctx *ctx,
                                 struct json_t *result, struct sk_error *err);

/*
 * Optional: images to send with the user message (DocVQA).  *out gets n
 * images whose data the caller frees with sk_bench_images_free.  SK_EDATA
 * when a referenced image is missing, unreadable, too large or not PNG /
 * JPEG (the item then fails as invalid data); SK_ENOMEM.
 */
typedef int (*sk_bench_images_fn)(const struct json_t *item,
                                  const struct sk_bench_ctx *ctx,
                                  struct sk_llm_image **out, size_t *n,
                                  struct sk_error *err);

/*
 * Optional: a whole multi-turn episode instead of one call (OfficeQA's
 * tool loop).  Starts from the built prompts, talks to the target through
 * c (role target, stage "rollout"), and returns the final reply in
 * *final (sk_free) and the turns for conversation.json in *turns (a new
 * array of {"role", "content", ...} objects, assistant and tool turns).
 * A failed model call returns its status (an enum sk_llm_err) with err
 * naming it; tool errors are the model's business and are reported to it
 * as tool results.  SK_EDATA for an item that cannot be run, SK_ENOMEM.
 */
typedef int (*sk_bench_episode_fn)(struct sk_llm_client *c,
                                   const struct json_t *item,
                                   const struct sk_bench_ctx *ctx,
                                   const char *system, const char *user,
                                   long max_tokens, char **final,
                                   struct json_t **turns, struct sk_error *err);

struct sk_bench {
    const char *name;          /* "searchqa", "demo", ...; the prompts subdir */
    sk_bench_build_fn build;   /* item + skill -> prompts */
    sk_bench_score_fn score;   /* item + reply -> result fields */
    sk_bench_images_fn images; /* NULL: text only */
    sk_bench_episode_fn episode; /* NULL: one call per item */
    const void *data;            /* given to the callbacks as ctx->data */
};

/*
 * The benchmark of a run: the one env.benchmark (a YAML file, see
 * docs/benchmarks.md) describes when set, else the built-in named
 * env.name.  SK_ECONFIG for an unknown name, the YAML file's own errors
 * (SK_ENOTFOUND, SK_EPARSE, SK_ECONFIG naming the file and field);
 * release with sk_bench_close.
 */
int sk_bench_open(const struct sk_config *cfg, const struct sk_bench **out,
                  struct sk_error *err);
void sk_bench_close(const struct sk_bench *b); /* NULL ok */

/* Frees what an images callback returned. */
void sk_bench_images_free(struct sk_llm_image *imgs, size_t n);

/* The benchmark called name, or NULL (the caller reports "unknown
 * benchmark"). */
const struct sk_bench *sk_bench_find(const char *name);

struct sk_prompt_var;

/*
 * Looks up the template name for bench (prompt.h: prompts_dir overrides,
 * then the embedded one) and renders it with vars into a new string in
 * *out (sk_free; "" for an empty template).  Returns SK_OK or the lookup's
 * or rendering's error with err naming the template; *out NULL then.
 */
int sk_bench_render(const char *bench, const char *name,
                    const char *prompts_dir, const struct sk_prompt_var *vars,
                    size_t n, char **out, struct sk_error *err);

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
