/*
 * alfworld.c - the ALFWorld benchmark: household games played step by
 * step in an external environment (envproto.h), one target call per step
 * with our own prompts, the action taken from the reply's first <action>
 * tag, success = the environment's "won" flag.  Works with any
 * environment that speaks protocol version 1; what a game is lives in the
 * environment, not here.
 */
#include "common.h"

#include "bench/alfworld.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bench/benches.h"
#include "bench/score.h"
#include "config/config.h"
#include "envproto/envproto.h"
#include "llm/client.h"
#include "train/bench.h"
#include "train/prompt.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"

#define BENCH "alfworld"

/* What a step without an action tells the target (as its observation). */
static const char no_action_msg[] =
    "Your reply had no action inside an <action></action> tag, so nothing "
    "happened and this step is used up. Choose one of the available "
    "actions and write it inside <action></action>.";

/* ---- actions and task types -------------------------------------------- */

/* "<action>" / "</action>" at cp[i] in any ASCII case. */
static int tag_at(const uint32_t *cp, size_t n, size_t i, const char *tag)
{
    size_t k;
    for (k = 0; tag[k]; k++) {
        uint32_t c;
        if (i + k >= n)
            return 0;
        c = cp[i + k];
        if (c >= 'A' && c <= 'Z')
            c += 'a' - 'A';
        if (c != (uint32_t)(unsigned char)tag[k])
            return 0;
    }
    return 1;
}

int sk_alfworld_extract_action(const char *text, size_t len, int *found,
                               struct sk_buf *out)
{
    uint32_t *cp = NULL, *lo = NULL;
    size_t n = 0, m = 0, i, j, open_len = strlen("<action>");
    struct sk_buf raw;
    size_t b, e;
    int rc;

    *found = 0;
    sk_buf_init(&raw, SK_BUF_UNLIMITED);
    rc = sk_score_decode(text, len, &cp, &n);
    if (rc != SK_OK)
        goto out;
    for (i = 0; i < n && !tag_at(cp, n, i, "<action>"); i++)
        ;
    if (i == n)
        goto out;
    i += open_len;
    for (j = i; j < n && !tag_at(cp, n, j, "</action>"); j++)
        ;
    if (j == n)
        goto out;
    /* strip, then lower (the reference lowers the whole reply first;
     * lowering never adds or removes whitespace at the ends) */
    rc = sk_score_encode(cp + i, j - i, &raw);
    if (rc != SK_OK)
        goto out;
    sk_score_strip(sk_buf_cstr(&raw), raw.len, &b, &e);
    if (e == b)
        goto out;
    sk_free(cp);
    cp = NULL;
    rc = sk_score_decode(raw.data + b, e - b, &cp, &n);
    if (rc == SK_OK)
        rc = sk_score_lower(cp, n, &lo, &m);
    if (rc == SK_OK)
        rc = sk_score_encode(lo, m, out);
    if (rc == SK_OK)
        *found = 1;
out:
    sk_free(cp);
    sk_free(lo);
    sk_buf_release(&raw);
    return rc;
}

const char *sk_alfworld_task_type(const char *gamefile)
{
    static const char *const types[] = {
        "pick_and_place",
        "pick_two_obj_and_place",
        "look_at_obj_in_light",
        "pick_heat_then_place_in_recep",
        "pick_cool_then_place_in_recep",
        "pick_clean_then_place_in_recep",
    };
    size_t i;
    for (i = 0; gamefile && i < SK_ARRAY_LEN(types); i++)
        if (strstr(gamefile, types[i]))
            return types[i];
    return "other";
}

/* ---- prompts ----------------------------------------------------------- */

/* "- action" lines, or a note when the environment lists none. */
static int put_actions(const char *const *a, size_t n, struct sk_buf *b)
{
    size_t i;
    int rc = SK_OK;
    if (!a)
        return sk_buf_puts(b, "(this environment does not list its "
                              "actions; write the action as a short "
                              "command)");
    for (i = 0; rc == SK_OK && i < n; i++)
        rc = sk_buf_printf(b, "%s- %s", i ? "\n" : "", a[i]);
    if (rc == SK_OK && n == 0)
        rc = sk_buf_puts(b, "(none listed)");
    return rc;
}

static int put_history(const struct sk_alfworld_view *v, struct sk_buf *b)
{
    long first = v->step - (long)v->n_history;
    size_t i;
    int rc = SK_OK;
    for (i = 0; rc == SK_OK && i < v->n_history; i++) {
        const struct sk_alfworld_pair *p = &v->history[i];
        rc = sk_buf_printf(b, "%s[step %ld] observation: %s\n[step %ld] ",
                           i ? "\n" : "", first + (long)i, p->observation,
                           first + (long)i);
        if (rc == SK_OK)
            rc = p->action ? sk_buf_printf(b, "action: %s", p->action)
                           : sk_buf_puts(b, "action: (none: no <action> "
                                            "tag)");
    }
    return rc;
}

int sk_alfworld_render_step(const struct sk_alfworld_view *v,
                            const char *prompts_dir, char **out,
                            struct sk_error *err)
{
    struct sk_buf acts, hist;
    struct sk_prompt_var vars[7];
    char step[32], max[32], taken[32];
    int rc;

    *out = NULL;
    sk_buf_init(&acts, SK_BENCH_MAX_PROMPT);
    sk_buf_init(&hist, SK_BENCH_MAX_PROMPT);
    rc = put_actions(v->actions, v->n_actions, &acts);
    if (rc == SK_OK)
        rc = put_history(v, &hist);
    if (rc == SK_OK)
        rc = sk_buf_reserve(&acts, 1);
    if (rc == SK_OK)
        rc = sk_buf_reserve(&hist, 1);
    if (rc != SK_OK) {
        rc = sk_error_set(err, rc, "alfworld prompt: %s", sk_strerror(rc));
        goto out;
    }
    snprintf(step, sizeof step, "%ld", v->step);
    snprintf(max, sizeof max, "%ld", v->max_steps);
    snprintf(taken, sizeof taken, "%ld", v->step - 1);
    vars[0] = sk_prompt_str("task", v->task);
    vars[1] = sk_prompt_str("step", step);
    vars[2] = sk_prompt_str("max_steps", max);
    vars[3] = sk_prompt_str("steps_taken", taken);
    vars[4] = sk_prompt_str("history", sk_buf_cstr(&hist));
    vars[5] = sk_prompt_str("observation", v->observation);
    vars[6] = sk_prompt_str("actions", sk_buf_cstr(&acts));
    rc = sk_bench_render(v->bench ? v->bench : BENCH,
                         v->step <= 1 ? "rollout_first" : "rollout_step",
                         prompts_dir, vars, 7, out, err);
out:
    sk_buf_release(&acts);
    sk_buf_release(&hist);
    return rc;
}

/* ---- settings ---------------------------------------------------------- */

struct settings {
    long max_steps;
    long workers; /* pool size */
    struct sk_env_limits lim;
    const char *const *argv;
    size_t argc;
};

/* The benchmark the callbacks serve (its prompts): struct sk_bench.data. */
static const char *bench_of(const struct sk_bench_ctx *ctx)
{
    return ctx && ctx->data ? (const char *)ctx->data : BENCH;
}

static int read_settings(const struct sk_bench_ctx *ctx, struct settings *s,
                         struct sk_error *err)
{
    const struct sk_config *c = ctx ? ctx->cfg : NULL;
    memset(s, 0, sizeof *s);
    s->max_steps = SK_ALFWORLD_MAX_STEPS;
    s->workers = SK_ALFWORLD_WORKERS;
    s->lim.step_ms = 60000;
    s->lim.episode_ms = 1800000;
    if (!c || c->is_null[SK_OPT_env_command] || c->env_command.n == 0)
        return sk_error_set(
            err, SK_ECONFIG,
            "env.env_command is not set: %s plays its episodes in an "
            "external environment program (docs/env-protocol.md)%s",
            bench_of(ctx),
            strcmp(bench_of(ctx), BENCH) == 0
                ? "; configs/alfworld/default.yaml runs integrations/"
                  "alfworld_env.py"
                : "");
    s->argv = (const char *const *)c->env_command.v;
    s->argc = c->env_command.n;
    if (!c->is_null[SK_OPT_max_steps] && c->max_steps > 0)
        s->max_steps = (long)c->max_steps;
    if (!c->is_null[SK_OPT_workers] && c->workers > 0)
        s->workers = (long)c->workers;
    s->lim.step_ms = (long)c->env_step_timeout * 1000;
    s->lim.episode_ms = (long)c->env_episode_timeout * 1000;
    return SK_OK;
}

/* ---- items ------------------------------------------------------------- */

static const char *item_str(const json_t *item, const char *key)
{
    const char *s = json_string_value(json_object_get(item, key));
    return s && *s ? s : NULL;
}

/* The item's task type, else the reference's rule on its game file, else
 * what the environment said at reset (info may be NULL), else "other". */
static const char *task_type_of(const json_t *item, const json_t *info)
{
    const char *t = item_str(item, "task_type"),
               *g = item_str(item, "gamefile");
    if (t)
        return t;
    if (g && strcmp(sk_alfworld_task_type(g), "other") != 0)
        return sk_alfworld_task_type(g);
    t = json_string_value(json_object_get(info, "task_type"));
    return t && *t ? t : "other";
}

/* The task: info["task"], else the text after "Your task is to: " in the
 * first observation (as the reference finds it), else "". */
static int task_of(const json_t *info, const char *obs, struct sk_buf *out)
{
    const char *t = json_string_value(json_object_get(info, "task"));
    const char *p;
    size_t b, e;
    if (t && *t) {
        sk_score_strip(t, strlen(t), &b, &e);
        return sk_buf_append(out, t + b, e - b);
    }
    p = strstr(obs, "Your task is to: ");
    if (!p)
        return SK_OK;
    p += strlen("Your task is to: ");
    sk_score_strip(p, strlen(p), &b, &e);
    return sk_buf_append(out, p + b, e - b);
}

/* ---- the environment ---------------------------------------------------- */

/* Starts the run's environment pool and checks one process can start and
 * speak the protocol; SK_ECONFIG naming env.env_command otherwise. */
static int probe(const struct sk_bench_ctx *ctx, struct sk_error *err)
{
    struct sk_env_pool *pool;
    struct settings st;
    int rc = read_settings(ctx, &st, err);
    if (rc == SK_OK)
        rc = sk_env_pool_shared(st.argv, st.argc, st.workers, &pool, err);
    if (rc == SK_OK)
        rc = sk_env_pool_probe(pool, st.lim.step_ms, err);
    return rc;
}

/* Before any item: the environment must start (cfg NULL: nothing to
 * check). */
static int preflight(const struct sk_bench *self, const struct sk_config *cfg,
                     struct sk_error *err)
{
    struct sk_bench_ctx ctx;
    if (!cfg)
        return SK_OK;
    memset(&ctx, 0, sizeof ctx);
    ctx.cfg = cfg;
    ctx.data = self->data;
    return probe(&ctx, err);
}

/* ---- build ------------------------------------------------------------- */

static const char *const placeholder_actions[] = {
    "<each action the environment accepts>"};

static int build(const struct json_t *item, const char *skill,
                 const struct sk_bench_ctx *ctx, char **system, char **user,
                 struct sk_error *err)
{
    const char *prompts_dir = ctx ? ctx->prompts_dir : NULL;
    struct sk_alfworld_view v;
    struct settings st;
    struct sk_buf sec;
    struct sk_prompt_var sv;
    int rc;

    *system = *user = NULL;
    if (!json_is_object(item))
        return sk_error_set(err, SK_EDATA, "alfworld item is not an object");
    if (ctx && ctx->cfg) {
        /* a rollout: the environment must start before any item is asked
         * (the preflight has checked already in a CLI run; this covers
         * every other caller, and costs nothing once started) */
        rc = probe(ctx, err);
        if (rc == SK_OK)
            rc = read_settings(ctx, &st, err);
        if (rc != SK_OK)
            return rc;
    } else {
        memset(&st, 0, sizeof st);
        st.max_steps = SK_ALFWORLD_MAX_STEPS;
    }
    sk_buf_init(&sec, SK_BENCH_MAX_PROMPT);
    rc = sk_bench_skill_section(skill, &sec);
    if (rc == SK_OK)
        rc = sk_buf_reserve(&sec, 1);
    if (rc != SK_OK) {
        rc = sk_error_set(err, rc, "alfworld prompts: %s", sk_strerror(rc));
        goto out;
    }
    sv = sk_prompt_str("skill_section", sk_buf_cstr(&sec));
    rc = sk_bench_render(bench_of(ctx), "rollout_system", prompts_dir, &sv, 1,
                         system, err);
    if (rc != SK_OK)
        goto out;
    /* the recorded user prompt: the first step's message with the parts
     * only the environment knows left as placeholders (every real step
     * message is in conversation.json) */
    memset(&v, 0, sizeof v);
    v.task = "<the task the environment states>";
    v.bench = bench_of(ctx);
    v.step = 1;
    v.max_steps = st.max_steps;
    v.observation = "<what the environment shows>";
    v.actions = placeholder_actions;
    v.n_actions = 1;
    rc = sk_alfworld_render_step(&v, prompts_dir, user, err);
out:
    if (rc != SK_OK) {
        sk_free(*system);
        *system = NULL;
    }
    sk_buf_release(&sec);
    return rc;
}

/* ---- the episode ------------------------------------------------------- */

struct game {
    struct sk_llm_client *client;
    const char *system;
    long max_tokens;
    const char *prompts_dir;
    const char *bench; /* whose prompts */
    struct settings st;
    struct sk_env_session *sess;
    struct sk_env_obs cur; /* the current observation and info */
    char *task;            /* the task text */
    const char **actions;  /* admissible actions of cur (borrowed) */
    size_t n_actions;
    int have_actions;                    /* cur's info listed them */
    char *hist_obs[SK_ALFWORLD_HISTORY]; /* oldest first */
    char *hist_act[SK_ALFWORLD_HISTORY]; /* NULL: no tag */
    size_t n_hist;
    char *obs_text; /* what the next prompt shows (owned) */
    json_t *turns;
};

static int push_turn(json_t *turns, json_t *t)
{
    return json_array_append_new(turns, t) == 0 ? SK_OK : SK_ENOMEM;
}

/* The admissible actions of info (ALFWorld's "admissible_commands" too),
 * without "help" as in the reference; borrowed from info. */
static int read_actions(struct game *g)
{
    const json_t *a = json_object_get(g->cur.info, "admissible_actions");
    const json_t *x;
    size_t i, k = 0;

    sk_free(g->actions);
    g->actions = NULL;
    g->n_actions = 0;
    if (!json_is_array(a))
        a = json_object_get(g->cur.info, "admissible_commands");
    g->have_actions = json_is_array(a);
    if (!g->have_actions)
        return SK_OK;
    g->actions = sk_calloc(json_array_size(a) + 1, sizeof *g->actions);
    if (!g->actions)
        return SK_ENOMEM;
    json_array_foreach(a, i, x)
    {
        const char *s = json_string_value(x);
        if (s && strcmp(s, "help") != 0)
            g->actions[k++] = s;
    }
    g->n_actions = k;
    return SK_OK;
}

/* Remembers (observation, action) as the newest history pair. */
static int remember(struct game *g, const char *action)
{
    char *o = sk_strdup(g->obs_text), *a = action ? sk_strdup(action) : NULL;
    if (!o || (action && !a)) {
        sk_free(o);
        sk_free(a);
        return SK_ENOMEM;
    }
    if (g->n_hist == SK_ALFWORLD_HISTORY) {
        size_t i;
        sk_free(g->hist_obs[0]);
        sk_free(g->hist_act[0]);
        for (i = 1; i < SK_ALFWORLD_HISTORY; i++) {
            g->hist_obs[i - 1] = g->hist_obs[i];
            g->hist_act[i - 1] = g->hist_act[i];
        }
        g->n_hist--;
    }
    g->hist_obs[g->n_hist] = o;
    g->hist_act[g->n_hist] = a;
    g->n_hist++;
    return SK_OK;
}

/* The target's reply to one step's message: text and reasoning (new). */
static int ask(struct game *g, long step, char **text, char **reasoning,
               struct sk_error *err)
{
    struct sk_alfworld_pair pairs[SK_ALFWORLD_HISTORY];
    struct sk_alfworld_view v;
    struct sk_llm_request req;
    struct sk_llm_message msg;
    struct sk_llm_result res;
    char *user = NULL;
    size_t i;
    int st;

    *text = *reasoning = NULL;
    memset(&v, 0, sizeof v);
    for (i = 0; i < g->n_hist; i++) {
        pairs[i].observation = g->hist_obs[i];
        pairs[i].action = g->hist_act[i];
    }
    v.task = g->task;
    v.bench = g->bench;
    v.step = step;
    v.max_steps = g->st.max_steps;
    v.history = pairs;
    v.n_history = g->n_hist;
    v.observation = g->obs_text;
    v.actions = g->have_actions ? g->actions : NULL;
    v.n_actions = g->n_actions;
    st = sk_alfworld_render_step(&v, g->prompts_dir, &user, err);
    if (st != SK_OK)
        return st; /* a broken template override stops the run */
    memset(&msg, 0, sizeof msg);
    msg.role = "user";
    msg.content = user;
    memset(&req, 0, sizeof req);
    req.role = SK_ROLE_TARGET;
    req.stage = "rollout";
    req.system = g->system;
    req.messages = &msg;
    req.n_messages = 1;
    req.max_tokens = g->max_tokens;
    sk_llm_result_init(&res);
    st = sk_llm_call(g->client, &req, &res);
    if (st != SK_OK) {
        sk_error_set(err, st, "step %ld: %s", step,
                     res.error[0] ? res.error : sk_strerror(st));
    } else {
        *text = res.text ? res.text : sk_strdup("");
        res.text = NULL;
        if (res.reasoning && *res.reasoning) {
            *reasoning = res.reasoning;
            res.reasoning = NULL;
        }
        if (!*text)
            st = sk_error_set(err, SK_ENOMEM, "out of memory");
    }
    sk_llm_result_release(&res);
    sk_free(user);
    return st;
}

/* The reasoning shown for a step: the removed <think> text, else the
 * reply's text before its <action> tag; NULL when there is none. */
static json_t *reasoning_of(const char *text, const char *think)
{
    const char *end = text;
    size_t b, e;
    if (think) {
        sk_score_strip(think, strlen(think), &b, &e);
        if (e > b)
            return json_stringn(think + b, e - b);
    }
    while (*end && strncasecmp(end, "<action>", 8) != 0)
        end++;
    sk_score_strip(text, (size_t)(end - text), &b, &e);
    return e > b ? json_stringn(text + b, e - b) : json_null();
}

/* One step record for conversation.json (reflect.c renders these). */
static int record_step(json_t *turns, long step, const char *action,
                       const char *text, const char *think,
                       const char *feedback, double reward, int done)
{
    json_t *why = reasoning_of(text, think);
    json_t *t =
        why ? json_pack("{s:s, s:I, s:o, s:o, s:s, s:s, s:f, s:b}", "role",
                        "assistant", "step", (json_int_t)step, "action",
                        action ? json_string(action) : json_null(), "reasoning",
                        why, "model_response", text, "env_feedback", feedback,
                        "reward", reward, "done", done)
            : NULL;
    return t ? push_turn(turns, t) : SK_ENOMEM;
}

static int set_new(json_t *obj, const char *key, json_t *v)
{
    return json_object_set_new(obj, key, v) == 0 ? SK_OK : SK_ENOMEM;
}

/* Takes obs as the current observation (obs is emptied). */
static int take_obs(struct game *g, struct sk_env_obs *obs)
{
    sk_env_obs_release(&g->cur);
    g->cur = *obs;
    sk_env_obs_init(obs);
    sk_free(g->obs_text);
    g->obs_text = sk_strdup(g->cur.observation);
    if (!g->obs_text)
        return SK_ENOMEM;
    return read_actions(g);
}

static int won_flag(const json_t *info)
{
    const json_t *w = json_object_get(info, "won");
    return json_is_true(w) || (json_is_number(w) && json_number_value(w) != 0);
}

/* Plays the game; *end is "won", "done" or "step_limit". */
static int play(struct game *g, struct sk_bench_episode *ep,
                const struct sk_bench_ctx *ctx, long *steps, const char **end,
                struct sk_error *err)
{
    struct sk_env_obs obs;
    struct sk_buf task, act;
    const char *type;
    long step;
    int rc, won = 0;

    sk_env_obs_init(&obs);
    sk_buf_init(&task, SK_BENCH_MAX_PROMPT);
    sk_buf_init(&act, SK_BENCH_MAX_PROMPT);
    *steps = 0;
    *end = "step_limit";
    /* the type is known even when the reset fails */
    if (set_new(ep->row, "task_type",
                json_string(task_type_of(ep->item, NULL))) != SK_OK) {
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto out;
    }
    rc = sk_env_reset(g->sess, ep->item, ctx ? ctx->seed : 0, g->st.max_steps,
                      &obs, err);
    if (rc != SK_OK)
        goto out;
    rc = take_obs(g, &obs);
    if (rc == SK_OK)
        rc = task_of(g->cur.info, g->cur.observation, &task);
    if (rc == SK_OK)
        rc = sk_buf_reserve(&task, 1);
    if (rc == SK_OK && !(g->task = sk_buf_detach(&task, NULL)))
        rc = SK_ENOMEM;
    type = task_type_of(ep->item, g->cur.info);
    if (rc == SK_OK)
        rc = push_turn(g->turns,
                       json_pack("{s:s, s:i, s:s}", "role", "environment",
                                 "step", 0, "content", g->cur.observation));
    if (rc == SK_OK)
        rc = set_new(ep->row, "task_description", json_string(g->task));
    if (rc == SK_OK)
        rc = set_new(ep->row, "question", json_string(g->task));
    if (rc == SK_OK)
        rc = set_new(ep->row, "task_type", json_string(type));
    if (rc == SK_OK && item_str(ep->item, "gamefile"))
        rc = set_new(ep->row, "gamefile",
                     json_string(item_str(ep->item, "gamefile")));
    if (rc != SK_OK) {
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto out;
    }
    for (step = 1; step <= g->st.max_steps && !won; step++) {
        char *text = NULL, *think = NULL;
        int found = 0;
        rc = ask(g, step, &text, &think, err);
        if (rc != SK_OK)
            goto out;
        *steps = step;
        sk_free(ep->final);
        ep->final = text;
        sk_buf_reset(&act);
        rc = sk_alfworld_extract_action(text, strlen(text), &found, &act);
        if (rc == SK_OK && found)
            rc = sk_buf_reserve(&act, 1);
        if (rc != SK_OK) {
            sk_free(think);
            rc = sk_error_set(err, rc, "out of memory");
            goto out;
        }
        if (!found) {
            /* not sent to the environment: the target is told, and the
             * step counts (the reference sends "look" instead) */
            rc = record_step(g->turns, step, NULL, text, think, no_action_msg,
                             0.0, 0);
            if (rc == SK_OK)
                rc = remember(g, NULL);
            sk_free(g->obs_text);
            g->obs_text = rc == SK_OK ? sk_strdup(no_action_msg) : NULL;
            sk_free(think);
            if (rc != SK_OK || !g->obs_text) {
                rc = sk_error_set(err, SK_ENOMEM, "out of memory");
                goto out;
            }
            continue;
        }
        rc = sk_env_step(g->sess, sk_buf_cstr(&act), &obs, err);
        if (rc != SK_OK) {
            /* keep what the target did for the record */
            if (rc != SK_ENOMEM &&
                record_step(g->turns, step, sk_buf_cstr(&act), text, think,
                            "(no reply: the environment failed)", 0.0,
                            0) != SK_OK)
                rc = sk_error_set(err, SK_ENOMEM, "out of memory");
            sk_free(think);
            goto out;
        }
        rc = record_step(g->turns, step, sk_buf_cstr(&act), text, think,
                         obs.observation, obs.reward, obs.done);
        sk_free(think);
        if (rc == SK_OK)
            rc = remember(g, sk_buf_cstr(&act));
        if (rc == SK_OK) {
            int done = obs.done;
            won = won_flag(obs.info);
            rc = take_obs(g, &obs);
            if (rc == SK_OK && (won || done)) {
                *end = won ? "won" : "done";
                break;
            }
        }
        if (rc != SK_OK) {
            rc = sk_error_set(err, SK_ENOMEM, "out of memory");
            goto out;
        }
    }
out:
    sk_env_obs_release(&obs);
    sk_buf_release(&task);
    sk_buf_release(&act);
    return rc;
}

/* Puts the stderr tail into the row and env_stderr.txt. */
static int keep_stderr(struct sk_bench_episode *ep, const char *tail,
                       struct sk_error *err)
{
    char *p;
    int rc;
    if (set_new(ep->row, "env_stderr", json_string(tail ? tail : "")) != SK_OK)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    if (!tail || !*tail || !ep->item_dir)
        return SK_OK;
    p = sk_fs_join(ep->item_dir, "env_stderr.txt");
    if (!p)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    rc = sk_fs_write_atomic_nosync(p, tail, strlen(tail), err);
    sk_free(p);
    return rc;
}

static int episode(struct sk_bench_episode *ep, const struct sk_bench_ctx *ctx,
                   struct sk_error *err)
{
    struct sk_env_pool *pool = NULL;
    struct sk_error e2;
    struct game g;
    const char *end = "step_limit";
    char *tail = NULL;
    long steps = 0;
    size_t i;
    int rc, rc2;

    ep->final = NULL;
    ep->turns = NULL;
    memset(&g, 0, sizeof g);
    sk_env_obs_init(&g.cur);
    g.client = ep->client;
    g.system = ep->system;
    g.max_tokens = ep->max_tokens;
    g.prompts_dir = ctx ? ctx->prompts_dir : NULL;
    g.bench = bench_of(ctx);
    g.turns = json_array();
    if (!g.turns)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    rc = read_settings(ctx, &g.st, err);
    if (rc == SK_OK)
        rc = sk_env_pool_shared(g.st.argv, g.st.argc, g.st.workers, &pool, err);
    if (rc == SK_EINVAL)
        rc = sk_error_set(err, SK_ECONFIG, "env.env_command is empty");
    if (rc == SK_OK)
        rc = sk_env_session_open(pool, &g.st.lim, &g.sess, err);
    if (rc == SK_OK)
        rc = play(&g, ep, ctx, &steps, &end, err);
    if (g.sess) {
        sk_env_session_close(g.sess, &tail);
        sk_error_clear(&e2);
        rc2 = keep_stderr(ep, tail, &e2);
        if (rc == SK_OK && rc2 != SK_OK) {
            rc = rc2;
            sk_error_set(err, rc, "%s", e2.msg);
        }
    }
    if (rc == SK_OK &&
        (set_new(ep->row, "won", json_boolean(strcmp(end, "won") == 0)) ||
         set_new(ep->row, "steps", json_integer(steps)) ||
         set_new(ep->row, "end", json_string(end)) ||
         set_new(ep->row, "max_steps", json_integer(g.st.max_steps))))
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
    if (rc == SK_OK && !ep->final && !(ep->final = sk_strdup("")))
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
    /* the turns so far go to conversation.json even when the item failed */
    ep->turns = g.turns;
    sk_free(tail);
    sk_env_obs_release(&g.cur);
    sk_free(g.task);
    sk_free(g.actions);
    sk_free(g.obs_text);
    for (i = 0; i < g.n_hist; i++) {
        sk_free(g.hist_obs[i]);
        sk_free(g.hist_act[i]);
    }
    return rc;
}

/* ---- scoring and the verification turn --------------------------------- */

static int score(const struct json_t *item, const char *response,
                 const struct sk_bench_ctx *ctx, struct json_t *result,
                 struct sk_error *err)
{
    const char *end = json_string_value(json_object_get(result, "end"));
    long steps = (long)json_integer_value(json_object_get(result, "steps"));
    long max = (long)json_integer_value(json_object_get(result, "max_steps"));
    const char *type = json_string_value(json_object_get(result, "task_type"));
    char why[160];
    struct sk_buf act;
    int won, found = 0, rc;

    (void)ctx;
    if (!end)
        return sk_error_set(err, SK_EDATA,
                            "alfworld: the row has no episode outcome");
    won = strcmp(end, "won") == 0;
    if (won)
        why[0] = '\0';
    else if (strcmp(end, "done") == 0)
        snprintf(why, sizeof why,
                 "episode ended without completing the task (after %ld "
                 "steps)",
                 steps);
    else
        snprintf(why, sizeof why, "not won after %ld steps (step limit)", max);
    sk_buf_init(&act, SK_BUF_UNLIMITED);
    rc = sk_alfworld_extract_action(response, strlen(response), &found, &act);
    if (rc == SK_OK)
        rc = sk_buf_reserve(&act, 1);
    if (rc == SK_OK)
        rc = set_new(result, "hard", json_integer(won));
    if (rc == SK_OK)
        rc = set_new(result, "soft", json_real(won ? 1.0 : 0.0));
    if (rc == SK_OK)
        rc = set_new(result, "em", json_real(won ? 1.0 : 0.0));
    if (rc == SK_OK)
        rc = set_new(result, "f1", json_real(won ? 1.0 : 0.0));
    if (rc == SK_OK)
        rc = set_new(result, "predicted_answer",
                     json_string(found ? sk_buf_cstr(&act) : ""));
    if (rc == SK_OK)
        rc = set_new(result, "fail_reason", json_string(why));
    if (rc == SK_OK && !type)
        rc =
            set_new(result, "task_type", json_string(task_type_of(item, NULL)));
    sk_buf_release(&act);
    if (rc != SK_OK)
        return sk_error_set(err, rc, "alfworld score: %s", sk_strerror(rc));
    return SK_OK;
}

static int verify(const struct json_t *item, const struct json_t *row,
                  const struct sk_bench_ctx *ctx, struct sk_buf *out)
{
    const char *task = json_string_value(json_object_get(row, "question"));
    const char *type = json_string_value(json_object_get(row, "task_type"));
    const char *why = json_string_value(json_object_get(row, "fail_reason"));
    long steps = (long)json_integer_value(json_object_get(row, "steps"));
    int won = json_is_true(json_object_get(row, "won"));
    int rc;

    (void)item;
    (void)ctx;
    rc =
        sk_buf_printf(out, "Outcome of this episode\nTask: %s\nTask type: %s\n",
                      task ? task : "", type ? type : "");
    if (rc == SK_OK)
        rc = won ? sk_buf_printf(out,
                                 "Result: won in %ld step%s (the environment "
                                 "reported the goal reached)",
                                 steps, steps == 1 ? "" : "s")
                 : sk_buf_printf(out, "Result: not won: %s",
                                 why && *why ? why : "unknown");
    return rc;
}

const struct sk_bench sk_bench_alfworld = {.name = BENCH,
                                           .build = build,
                                           .score = score,
                                           .episode = episode,
                                           .data = BENCH,
                                           .verify = verify,
                                           .preflight = preflight};

/* Any environment speaking the protocol, with neutral prompts
 * (prompts/external/): the same episodes, scoring and checks. */
const struct sk_bench sk_bench_external = {.name = "external",
                                           .build = build,
                                           .score = score,
                                           .episode = episode,
                                           .data = "external",
                                           .verify = verify,
                                           .preflight = preflight};
