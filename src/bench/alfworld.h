/*
 * alfworld.h - the ALFWorld benchmark (bench/benches.h: sk_bench_alfworld)
 * and the pieces of it tests reach directly: action extraction, the
 * reference's task types, and the per-step prompt.
 *
 * The games run in an external environment (envproto/envproto.h) named
 * by env.env_command: integrations/alfworld_env.py for the real games, or
 * any program speaking protocol version 1 (tests/fixtures/textenv).
 * Ownership: arguments are borrowed; strings returned through char ** are
 * new (sk_free).
 */
#ifndef SK_ALFWORLD_H
#define SK_ALFWORLD_H

#include <stddef.h>

#include "common.h"

struct sk_buf;

#define SK_ALFWORLD_MAX_STEPS 50 /* env.max_steps when null */
#define SK_ALFWORLD_WORKERS 8    /* env.workers (pool size) when null */
#define SK_ALFWORLD_HISTORY 2    /* observation/action pairs shown */

/*
 * The action of a reply: the text between the first "<action>" and the
 * next "</action>" (tags matched in any ASCII case), stripped and
 * lower-cased as Python's str.strip() and str.lower() do.  *found is 0
 * (and nothing is appended) when there is no such pair or the action is
 * empty.  Appends to out; SK_OK or SK_ENOMEM / SK_ETOOBIG.
 */
int sk_alfworld_extract_action(const char *text, size_t len, int *found,
                               struct sk_buf *out);

/*
 * The reference's task type of a game file path: the first of
 * pick_and_place, pick_two_obj_and_place, look_at_obj_in_light,
 * pick_heat_then_place_in_recep, pick_cool_then_place_in_recep,
 * pick_clean_then_place_in_recep that occurs in it, else "other".
 * Static string.
 */
const char *sk_alfworld_task_type(const char *gamefile);

/* One earlier step as the prompt shows it. */
struct sk_alfworld_pair {
    const char *observation; /* what the target saw */
    const char *action;      /* what it did (NULL: no <action> tag) */
};

/* Everything one step's user message shows. */
struct sk_alfworld_view {
    const char *task;
    long step; /* the step about to be taken, from 1 */
    long max_steps;
    const struct sk_alfworld_pair *history; /* oldest first */
    size_t n_history;
    const char *observation;
    const char *const *actions; /* admissible actions; NULL: unknown */
    size_t n_actions;
    const char *bench; /* whose prompts: "alfworld" (NULL) or "external" */
};

/*
 * Renders the user message of one step: template rollout_first (step 1)
 * or rollout_step of prompts/<v->bench>/ (prompts_dir overrides).  *out is
 * new.  SK_OK or the template's errors (SK_ENOTFOUND, SK_EPARSE, SK_EIO)
 * or SK_ENOMEM, err naming the template.
 */
int sk_alfworld_render_step(const struct sk_alfworld_view *v,
                            const char *prompts_dir, char **out,
                            struct sk_error *err);

#endif /* SK_ALFWORLD_H */
