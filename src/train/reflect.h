/*
 * reflect.h - the reflection ("gradient") phase of a step (algorithm.md 3,
 * 7.4, 10.2): one analyst call per failure/success minibatch, replies
 * parsed and checked, then normalised into failure and success patch lists.
 *
 * Every minibatch's accepted result is written to <patches_dir>/<tag>.json,
 * and an existing file is loaded instead of calling (resume).  A reply
 * that does not parse gets one retry with the format reminder as a further
 * user turn; a second bad reply drops the minibatch.  Every bad reply is
 * saved to <parse_failures_dir>/<tag>_<attempt>.txt.  Results are always
 * in (kind, index) order, never in the order replies arrived.
 *
 * Ownership: options and their strings are borrowed; the output owns one
 * reference to each of its jansson values (sk_reflect_out_release).  The
 * patch lists share their objects with the raw results, as in the
 * reference (normalisation adds defaults to the raw items too).
 */
#ifndef SK_REFLECT_H
#define SK_REFLECT_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "train/schedule.h"

struct json_t;
struct sk_buf;
struct sk_llm_client;

#define SK_REFLECT_MAX_TOKENS 16384L
#define SK_REFLECT_MAX_TOKENS_FULL 64000L

struct sk_reflect_opts {
    const struct json_t *results; /* array of rollout result objects */
    const char *predictions_dir;  /* predictions/<id>/conversation.json */
    const char *skill;            /* current skill text */
    long learning_rate;           /* configured (max) L, not the schedule */
    enum sk_skill_update_mode mode;
    size_t minibatch_size; /* M (0: 8) */
    int failure_only;      /* no success analysts */
    int64_t batch_seed;
    int skill_aware;           /* use_skill_aware_reflection */
    int appendix_failure_only; /* skill_aware_appendix_source failure_only */
    int codex_trace;           /* include #### Codex Trace Summary */
    const char *step_buffer;   /* NULL/blank: no section */
    const char *meta_block;    /* rendered meta-skill block; NULL/blank */
    const char *patches_dir;   /* cache and output of accepted results */
    const char *parse_failures_dir; /* bad replies are kept here */
    const char *bench;              /* prompt override lookup; may be NULL */
    const char *prompts_dir;        /* may be NULL */
    long max_tokens;                /* 0: 16384, or 64000 in full rewrite */
    const char *guidance; /* benchmark guidance when no analyst_guidance
                             template exists (YAML benchmarks); may be NULL */
};

struct sk_reflect_out {
    struct json_t *failure;        /* array of inner patch objects */
    struct json_t *success;        /* array of inner patch objects */
    struct json_t *raw;            /* accepted analyst results, in order */
    struct json_t *appendix_notes; /* array of strings (skill-aware) */
    size_t n_groups;               /* minibatches planned */
    size_t n_cached;               /* loaded from patches_dir */
    size_t n_calls;                /* requests sent (retries included) */
    size_t n_parse_failures;       /* bad replies (each saved) */
    size_t n_dropped;              /* minibatches without a result */
    size_t n_skipped;              /* minibatches with no trajectory */
    size_t n_bad_batch_size;       /* non-numeric batch_size read as 1 */
};

void sk_reflect_out_init(struct sk_reflect_out *o);
void sk_reflect_out_release(struct sk_reflect_out *o);

/*
 * Runs the reflection phase.  All first calls go out as one batch, then
 * all retries as a second.  A failed call (after the client's retries)
 * drops its minibatch (10.2) and is not a parse failure.  Returns SK_OK
 * whatever the analysts did; SK_EINVAL for bad options (results not an
 * array, minibatch_size or paths missing), SK_ENOTFOUND/SK_EIO for a
 * missing or unreadable prompt, SK_EIO when a patch or failure file cannot
 * be written, SK_ENOMEM.  out is replaced; on failure it is left empty.
 */
int sk_reflect_run(struct sk_llm_client *c, const struct sk_reflect_opts *o,
                   struct sk_reflect_out *out, struct sk_error *err);

/*
 * Appends the analyst user message for the results at items[0..n) of
 * o->results (3.3): skill, budget or update format, step buffer, meta
 * block, then "## Failed Trajectories (<n> total)" (or Successful, when
 * success is set) and the trajectory blocks, numbered by position in the
 * minibatch; <n> counts the blocks rendered.  *n_rendered gets that count;
 * when it is 0 nothing is appended.  Returns SK_OK, SK_ENOMEM or
 * SK_ETOOBIG; out is unchanged on failure.
 */
int sk_reflect_user_message(const struct sk_reflect_opts *o,
                            const size_t *items, size_t n, int success,
                            struct sk_buf *out, size_t *n_rendered);

/*
 * The appendix notes of an analyst result (7.4): a list, or one string,
 * whose items are strings or objects with a "note" (else "content")
 * field; trimmed, blanks dropped.  Anything else gives an empty list.
 * Returns a new array, NULL on SK_ENOMEM.
 */
struct json_t *sk_reflect_appendix_notes(const struct json_t *result);

/*
 * Normalises accepted results (3.7) into out->failure / out->success:
 * inner = result["patch"] (or the result), skipped unless it is an object
 * with a non-empty payload list for mode; each object item gets
 * source_type (the result's, default "failure") and support_count =
 * max(int(batch_size or 0), 1) unless already set.  A batch_size that is
 * not a number (or integer string) counts as 1 and is counted in
 * out->n_bad_batch_size.  Returns SK_OK or SK_ENOMEM.
 */
int sk_reflect_normalise(const struct json_t *raw,
                         enum sk_skill_update_mode mode,
                         struct sk_reflect_out *out);

#endif /* SK_REFLECT_H */
