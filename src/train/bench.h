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
 * seed for evaluations; LiveMath shuffles choices with it) and whether
 * the rollout is a training batch (gold-derived feedback may reach the
 * analyst, and SpreadsheetBench's target, only then).
 */
struct sk_bench_ctx {
    const struct sk_config *cfg;
    const char *prompts_dir;
    int64_t seed;
    const void *data; /* the bench's own data (struct sk_bench.data) */
    int train;        /* 1: a training rollout; 0: an evaluation */
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
 * One multi-turn episode (OfficeQA's tool loop, SpreadsheetBench's code
 * runs, an external environment's game).  The rollout fills the inputs;
 * the episode fills the outputs.  Everything given is borrowed; *final
 * and *turns are handed to the rollout.
 */
struct sk_bench_episode {
    /* in */
    struct sk_llm_client *client; /* role target, stage "rollout" */
    const struct json_t *item;
    const char *system, *user; /* the built prompts */
    long max_tokens;
    const char *item_dir; /* predictions/<dir>/, already made: files the
                             episode keeps for the user (solution.py,
                             output workbooks, environment stderr) */
    struct json_t *row;   /* the item's result row: the episode may add
                             fields its score callback reads (a won flag,
                             per-case verdicts) */
    /* out */
    char *final;          /* the last reply (sk_free) */
    struct json_t *turns; /* the turns for conversation.json: a new array
                             of {"role", "content", ...} objects */
    char *verification;   /* optional (sk_free): the verification turn's
                             text, used instead of the verify callback
                             when the episode compared the outcome itself */
};

/*
 * Optional: runs a whole episode instead of one call.  Returns SK_OK with
 * ep->final and ep->turns set; a failed model call's status (an enum
 * sk_llm_err) with err naming it (the run stops, the item is asked again
 * on resume); SK_EDATA when the item itself failed for a reason that is
 * not the model's answer and not the provider's (input file missing, the
 * environment crashed, hung or spoke garbage, no sandbox could be made):
 * the item gets a persisted row with hard 0 and fail_reason "error:
 * <err>", any turns set so far still go to conversation.json, and the run
 * goes on; SK_ENOMEM.
 */
typedef int (*sk_bench_episode_fn)(struct sk_bench_episode *ep,
                                   const struct sk_bench_ctx *ctx,
                                   struct sk_error *err);

/*
 * Optional: the verification turn closing conversation.json (what the
 * analyst reads after the trajectory), built from the scored row.  NULL:
 * the generic one (question, predicted and gold answers, EM/F1 or ANLS).
 * ctx->train tells a training rollout from an evaluation.  Appends to out;
 * SK_OK or SK_ENOMEM / SK_ETOOBIG.
 */
typedef int (*sk_bench_verify_fn)(const struct json_t *item,
                                  const struct json_t *row,
                                  const struct sk_bench_ctx *ctx,
                                  struct sk_buf *out);

/*
 * Optional: checks, before any item runs, what every item will need (a
 * sandbox for model-written code, an external environment that starts
 * and speaks the protocol), so a run that cannot work stops at once with
 * the reason instead of failing item after item.  self is the benchmark
 * (its data); cfg may be NULL.
 * Returns SK_OK, or SK_ECONFIG with err saying what is missing and what
 * to do.
 */
struct sk_bench;
typedef int (*sk_bench_preflight_fn)(const struct sk_bench *self,
                                     const struct sk_config *cfg,
                                     struct sk_error *err);

struct sk_bench {
    const char *name;          /* "searchqa", "demo", ...; the prompts subdir */
    sk_bench_build_fn build;   /* item + skill -> prompts */
    sk_bench_score_fn score;   /* item + reply -> result fields */
    sk_bench_images_fn images; /* NULL: text only */
    sk_bench_episode_fn episode;     /* NULL: one call per item */
    const void *data;                /* given to the callbacks as ctx->data */
    sk_bench_verify_fn verify;       /* NULL: the generic verification turn */
    sk_bench_preflight_fn preflight; /* NULL: nothing to check */
};

/* Runs b's preflight check, if any (SK_OK when b has none). */
int sk_bench_preflight(const struct sk_bench *b, const struct sk_config *cfg,
                       struct sk_error *err);

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
