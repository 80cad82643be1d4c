/*
 * test_alfworld.c - the ALFWorld benchmark: action extraction, the
 * reference's task types, prompt snapshots, and whole rollouts on the
 * test world (tests/fixtures/textenv) through the real client, the
 * response cache and a scripted simulator that plays some games well
 * (tests/fixtures/textenv/plans.json) and others badly; an environment
 * crash failing one item while the others finish; a command that cannot
 * start stopping the run before any call.
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/alfworld.h"
#include "bench/benches.h"
#include "config/config.h"
#include "envproto/envproto.h"
#include "llm/client.h"
#include "llm/sim.h"
#include "testutil.h"
#include "train/bench.h"
#include "train/rollout.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"

static const char skill[] = "# Skill under test\n\n- Rule one.\n- Rule two.\n";

/* ---- actions and task types --------------------------------------------- */

static void test_alfworld__extract_action(void **state)
{
    static const struct {
        const char *reply;
        const char *action; /* NULL: none found */
    } cases[] = {
        {"<action>go to fridge 1</action>", "go to fridge 1"},
        {"I think so.\n<action>  Open Drawer 2 \n</action>", "open drawer 2"},
        {"<ACTION>Take Apple 1 From Table 1</Action>",
         "take apple 1 from table 1"},
        {"<action>look</action> then <action>inventory</action>", "look"},
        {"</action> <action>go to sofa 1</action>", "go to sofa 1"},
        {"<action>Put Ä 1 in Ü 2</action>", "put \xc3\xa4 1 in \xc3\xbc 2"},
        {"<action>\xc4\xb0</action>", "i\xcc\x87"}, /* U+0130 -> i + U+0307 */
        {"<action>\xe3\x80\x80go\xe3\x80\x80</action>", "go"}, /* U+3000 */
        {"no tag at all", NULL},
        {"<action></action>", NULL},
        {"<action> \n\t </action>", NULL},
        {"<action>look", NULL},
        {"look</action>", NULL},
        {"<act>look</act>", NULL},
        {"", NULL},
    };
    struct sk_buf out;
    size_t i;
    int found;
    (void)state;
    sk_buf_init(&out, SK_BUF_UNLIMITED);
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        sk_buf_reset(&out);
        assert_int_equal(sk_alfworld_extract_action(cases[i].reply,
                                                    strlen(cases[i].reply),
                                                    &found, &out),
                         SK_OK);
        if (cases[i].action) {
            if (!found || strcmp(sk_buf_cstr(&out), cases[i].action) != 0)
                fail_msg("case %zu: got %d '%s'", i, found, sk_buf_cstr(&out));
        } else {
            assert_false(found);
            assert_int_equal(out.len, 0);
        }
    }
    sk_buf_release(&out);
}

static void test_alfworld__task_types(void **state)
{
    static const struct {
        const char *gamefile;
        const char *type;
    } cases[] = {
        {"json_2.1.1/train/pick_and_place_simple-Mug-None-Desk-308/"
         "trial_T1/game.tw-pddl",
         "pick_and_place"},
        {"json_2.1.1/valid_seen/pick_two_obj_and_place-CD-None-Safe-308/t/"
         "game.tw-pddl",
         "pick_two_obj_and_place"},
        {"json_2.1.1/valid_unseen/look_at_obj_in_light-AlarmClock-None-"
         "DeskLamp-308/t/game.tw-pddl",
         "look_at_obj_in_light"},
        {"x/pick_heat_then_place_in_recep-Egg-None-Fridge-1/g",
         "pick_heat_then_place_in_recep"},
        {"x/pick_cool_then_place_in_recep-Pan-None-Cabinet-2/g",
         "pick_cool_then_place_in_recep"},
        {"x/pick_clean_then_place_in_recep-Cloth-None-Toilet-3/g",
         "pick_clean_then_place_in_recep"},
        {"x/something_else/g", "other"},
        {"", "other"},
        {NULL, "other"},
    };
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++)
        assert_string_equal(sk_alfworld_task_type(cases[i].gamefile),
                            cases[i].type);
}

/* ---- prompts ------------------------------------------------------------ */

static void check_snapshot(const char *name, const char *got)
{
    char rel[128], *path, *want;
    snprintf(rel, sizeof rel, "tests/fixtures/alfworld/%s.txt", name);
    path = tu_source_path(rel);
    if (getenv("SKILLOPT_BLESS") && *getenv("SKILLOPT_BLESS") == '1') {
        assert_int_equal(sk_fs_write_atomic(path, got, strlen(got), NULL),
                         SK_OK);
        sk_free(path);
        return;
    }
    want = tu_read(path, NULL);
    if (!want)
        fail_msg("%s: missing snapshot (record with SKILLOPT_BLESS=1)", path);
    if (strcmp(want, got) != 0)
        fail_msg("%s differs from the rendered prompt:\n%s", path, got);
    sk_free(want);
    sk_free(path);
}

static void test_alfworld__prompt_snapshots(void **state)
{
    static const char *const actions[] = {"go to cabinet 1", "go to fridge 1",
                                          "open fridge 1", "inventory", "look"};
    struct sk_alfworld_pair hist[2];
    struct sk_alfworld_view v;
    struct sk_bench_ctx ctx;
    struct sk_error err;
    json_t *item = json_pack("{s:s, s:s, s:s}", "id", "train:0000", "gamefile",
                             "json_2.1.1/train/pick_heat_then_place_in_recep-"
                             "Egg-None-Fridge-1/t/game.tw-pddl",
                             "task_type", "pick_heat_then_place_in_recep");
    char *sys = NULL, *user = NULL;
    (void)state;
    memset(&ctx, 0, sizeof ctx);
    /* no run configuration: prompts only, nothing is started */
    if (sk_bench_alfworld.build(item, skill, &ctx, &sys, &user, &err) != SK_OK)
        fail_msg("%s", err.msg);
    check_snapshot("build.system", sys);
    check_snapshot("build.user", user);
    assert_non_null(strstr(sys, "## Skill\n# Skill under test"));
    sk_free(sys);
    sk_free(user);
    /* the first step */
    memset(&v, 0, sizeof v);
    v.task = "put a hot egg in countertop 1.";
    v.step = 1;
    v.max_steps = 50;
    v.observation = "You are in the middle of a room. Looking quickly around "
                    "you, you see a cabinet 1 and a fridge 1.\n\nYour task is "
                    "to: put a hot egg in countertop 1.";
    v.actions = actions;
    v.n_actions = SK_ARRAY_LEN(actions);
    if (sk_alfworld_render_step(&v, NULL, &user, &err) != SK_OK)
        fail_msg("%s", err.msg);
    check_snapshot("step1.user", user);
    sk_free(user);
    /* a later step: two earlier steps (one without an action tag), and an
     * environment that lists no actions */
    hist[0].observation = "You arrive at fridge 1. The fridge 1 is closed.";
    hist[0].action = "open fridge 1";
    hist[1].observation = "You open the fridge 1. In it, you see an egg 1.";
    hist[1].action = NULL;
    v.step = 7;
    v.history = hist;
    v.n_history = 2;
    v.observation = "Your reply had no action.";
    v.actions = NULL;
    v.n_actions = 0;
    if (sk_alfworld_render_step(&v, NULL, &user, &err) != SK_OK)
        fail_msg("%s", err.msg);
    check_snapshot("step7.user", user);
    assert_non_null(strstr(user, "[step 5] action: open fridge 1"));
    assert_non_null(strstr(user, "[step 6] action: (none: no <action> tag)"));
    sk_free(user);
    json_decref(item);
}

/* ---- rollouts on the test world ----------------------------------------- */

static const char *python(void)
{
    return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3"
                                                 : "python3";
}

struct script {
    pthread_mutex_t mu;
    json_t *plans; /* task -> actions (plans.json) */
    json_t *bad;   /* tasks played badly: task -> true */
    json_t *users; /* every user message received */
    unsigned calls;
};

/* The line after "## Task\n\n" of a step message. */
static char *task_line(const char *user)
{
    const char *p = strstr(user, "## Task\n\n");
    if (!p)
        return NULL;
    p += strlen("## Task\n\n");
    return sk_strndup(p, strcspn(p, "\n"));
}

static const char *user_text(const json_t *body)
{
    const json_t *ms = json_object_get(body, "messages"), *m;
    size_t i;
    json_array_foreach(ms, i, m)
    {
        const char *r = json_string_value(json_object_get(m, "role"));
        if (r && strcmp(r, "user") == 0)
            return json_string_value(json_object_get(m, "content"));
    }
    return "";
}

static int script_respond(void *ud, const struct sk_sim_request *req,
                          struct sk_sim_reply *reply)
{
    struct script *s = ud;
    json_t *body = json_loadb(req->body, req->body_len, 0, NULL);
    const char *user = user_text(body), *st = strstr(user, "## Step ");
    char *task = task_line(user);
    long step = st ? strtol(st + strlen("## Step "), NULL, 10) : 0;
    struct sk_buf b;
    const json_t *plan;

    sk_buf_init(&b, SK_BUF_UNLIMITED);
    pthread_mutex_lock(&s->mu);
    s->calls++;
    json_array_append_new(s->users, json_string(user));
    plan = task ? json_object_get(s->plans, task) : NULL;
    if (task && json_object_get(s->bad, task)) {
        /* step 1 forgets the tag, later steps only look around */
        sk_buf_puts(&b, step == 1 ? "I will look around first."
                                  : "<think>Hmm.</think><action>look</action>");
    } else if (plan && step >= 1) {
        const char *a =
            json_string_value(json_array_get(plan, (size_t)step - 1));
        a = a ? a : "look";
        sk_buf_printf(&b, "I should %s next.\n<action>%c%s</action>", a,
                      a[0] - 'a' + 'A', a + 1);
    } else {
        sk_buf_puts(&b, "<action>look</action>");
    }
    pthread_mutex_unlock(&s->mu);
    reply->body = sk_sim_chat_completion("sim-target", sk_buf_cstr(&b), 10, 10);
    reply->body_len = strlen(reply->body);
    sk_buf_release(&b);
    sk_free(task);
    json_decref(body);
    return 0;
}

struct env {
    char *dir;
    struct sk_config cfg;
    struct sk_llm_client *c;
    struct script s;
};

static void load_cfg(struct sk_config *cfg, const char *dir,
                     const char *const *opts, size_t n)
{
    struct sk_config_args a;
    struct sk_error err;
    char *p = tu_write(dir, "c.yaml",
                       "model:\n  backend: sim\n  optimizer_backend: sim\n"
                       "  target_backend: sim\n  target: sim-target\n"
                       "env:\n  name: alfworld\n");
    memset(&a, 0, sizeof a);
    a.path = p;
    a.cfg_options = opts;
    a.n_cfg_options = n;
    sk_config_init(cfg);
    if (sk_config_load(&a, cfg, &err) != SK_OK)
        fail_msg("%s", err.msg);
    sk_free(p);
}

/* command NULL: textenv.py */
static void env_open(struct env *e, const char *command, const char *extra)
{
    char *script = tu_source_path("tests/fixtures/textenv/textenv.py");
    char *plans = tu_source_path("tests/fixtures/textenv/plans.json");
    char cmd[1200];
    const char *opts[5];
    struct sk_llm_client_opts o;
    struct sk_error err;
    size_t n = 0;

    e->dir = tu_mkdtemp();
    if (command)
        snprintf(cmd, sizeof cmd, "env.env_command=%s", command);
    else
        snprintf(cmd, sizeof cmd, "env.env_command=%s,%s", python(), script);
    opts[n++] = cmd;
    opts[n++] = "env.max_steps=12";
    opts[n++] = "env.workers=2";
    opts[n++] = "env.env_step_timeout=20";
    if (extra)
        opts[n++] = extra;
    load_cfg(&e->cfg, e->dir, opts, n);
    memset(&e->s, 0, sizeof e->s);
    pthread_mutex_init(&e->s.mu, NULL);
    e->s.plans = json_load_file(plans, 0, NULL);
    assert_non_null(e->s.plans);
    e->s.bad = json_object();
    e->s.users = json_array();
    memset(&o, 0, sizeof o);
    o.run_dir = e->dir; /* the response cache lives here */
    o.sim_responder = script_respond;
    o.sim_ud = &e->s;
    if (sk_llm_client_new(&e->cfg, &o, &e->c, &err) != SK_OK)
        fail_msg("%s", err.msg);
    sk_free(script);
    sk_free(plans);
}

static void env_close(struct env *e)
{
    sk_llm_client_free(e->c);
    sk_env_shutdown_all();
    sk_config_release(&e->cfg);
    json_decref(e->s.plans);
    json_decref(e->s.bad);
    json_decref(e->s.users);
    pthread_mutex_destroy(&e->s.mu);
    tu_rmtree(e->dir);
    sk_free(e->dir);
}

static int run(struct env *e, json_t *items, json_t **rows,
               struct sk_rollout_stats *st, struct sk_error *err)
{
    struct sk_rollout_opts o;
    char *out = sk_fs_join(e->dir, "out");
    int rc;
    memset(&o, 0, sizeof o);
    o.cfg = &e->cfg;
    o.workers = 3; /* more episodes than processes: some wait */
    o.max_completion_tokens = 256;
    o.train = 1;
    rc = sk_rollout_run_opts(e->c, &sk_bench_alfworld, skill, items, out, &o,
                             rows, st, err);
    sk_free(out);
    return rc;
}

static char *pred_path(struct env *e, const char *id, const char *file)
{
    struct sk_buf b;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    assert_int_equal(sk_buf_printf(&b, "%s/out/predictions/", e->dir), SK_OK);
    assert_int_equal(sk_rollout_pred_dir(id, &b), SK_OK);
    assert_int_equal(sk_buf_printf(&b, "/%s", file), SK_OK);
    return sk_buf_detach(&b, NULL);
}

static json_t *conversation(struct env *e, const char *id)
{
    char *p = pred_path(e, id, "conversation.json");
    json_t *v = json_load_file(p, 0, NULL);
    if (!v)
        fail_msg("%s: missing or not JSON", p);
    sk_free(p);
    return v;
}

static json_t *load_items(const char *split)
{
    char rel[96], *p;
    json_t *v;
    snprintf(rel, sizeof rel, "tests/fixtures/textenv/%s/items.json", split);
    p = tu_source_path(rel);
    v = json_load_file(p, 0, NULL);
    assert_non_null(v);
    sk_free(p);
    return v;
}

static const json_t *row_of(const json_t *rows, const char *id)
{
    size_t i;
    const json_t *r;
    json_array_foreach(
        rows, i, r) if (strcmp(json_string_value(json_object_get(r, "id")),
                               id) == 0) return r;
    fail_msg("no row %s", id);
    return NULL;
}

static void test_alfworld__rollout_on_textenv(void **state)
{
    struct env e;
    struct sk_rollout_stats st;
    struct sk_error err;
    json_t *items = load_items("train"), *crash, *rows = NULL, *rows2 = NULL;
    json_t *conv, *t;
    const json_t *r;
    const char *bad_id = "train-0001", *bad_task = "put a hot potato in "
                                                   "countertop 1.";
    unsigned calls, want_calls = 0;
    size_t i;
    char *p, *text;
    (void)state;
    env_open(&e, NULL, NULL);
    json_object_set_new(e.s.bad, bad_task, json_true());
    /* an item whose environment crashes at its second step */
    {
        json_t *val = load_items("val");
        crash = json_deep_copy(json_array_get(val, 0));
        json_decref(val);
    }
    json_object_set_new(crash, "id", json_string("crash-1"));
    /* no task type of its own: the game path's, by the reference's rule,
     * wins over what the environment says (pick_and_place_simple) */
    json_object_del(crash, "task_type");
    json_object_set_new(crash, "gamefile",
                        json_string("json_2.1.1/valid_seen/pick_cool_then_"
                                    "place_in_recep-Pan-None-Cabinet-2/t/"
                                    "game.tw-pddl"));
    json_object_set_new(crash, "misbehave", json_pack("{s:i}", "crash_at", 2));
    json_array_append_new(items, crash);
    if (run(&e, items, &rows, &st, &err) != SK_OK)
        fail_msg("rollout: %s", err.msg);
    assert_int_equal(st.sent, 7);
    assert_int_equal(st.invalid, 1); /* the crash */
    assert_int_equal(st.errors, 0);
    for (i = 0; i < 6; i++) {
        const json_t *it = json_array_get(items, i);
        const char *id = json_string_value(json_object_get(it, "id"));
        const char *type = json_string_value(json_object_get(it, "task_type"));
        const json_t *plan;
        char *task;
        size_t n;
        r = row_of(rows, id);
        assert_string_equal(json_string_value(json_object_get(r, "task_type")),
                            type);
        task = sk_strdup(json_string_value(json_object_get(r, "question")));
        plan = json_object_get(e.s.plans, task);
        assert_non_null(plan);
        assert_string_equal(
            json_string_value(json_object_get(r, "task_description")), task);
        assert_true(json_is_string(json_object_get(r, "env_stderr")));
        if (strcmp(id, bad_id) == 0) {
            assert_int_equal(json_integer_value(json_object_get(r, "hard")), 0);
            assert_true(json_real_value(json_object_get(r, "soft")) == 0.0);
            assert_string_equal(
                json_string_value(json_object_get(r, "fail_reason")),
                "not won after 12 steps (step limit)");
            assert_int_equal(json_integer_value(json_object_get(r, "steps")),
                             12);
            assert_int_equal(json_integer_value(json_object_get(r, "n_turns")),
                             12);
            assert_false(json_is_true(json_object_get(r, "won")));
            want_calls += 12;
        } else {
            n = json_array_size(plan);
            assert_int_equal(json_integer_value(json_object_get(r, "hard")), 1);
            assert_true(json_real_value(json_object_get(r, "soft")) == 1.0);
            assert_string_equal(
                json_string_value(json_object_get(r, "fail_reason")), "");
            assert_true(json_is_true(json_object_get(r, "won")));
            assert_int_equal(json_integer_value(json_object_get(r, "steps")),
                             n);
            assert_int_equal(json_integer_value(json_object_get(r, "n_turns")),
                             n);
            /* the last action, lower-cased as sent */
            assert_string_equal(
                json_string_value(json_object_get(r, "predicted_answer")),
                json_string_value(json_array_get(plan, n - 1)));
            want_calls += (unsigned)n;
        }
        sk_free(task);
    }
    want_calls += 2; /* the crash item asked twice */
    assert_int_equal(e.s.calls, want_calls);
    /* the crash: a reason naming the signal, the stderr kept */
    r = row_of(rows, "crash-1");
    assert_int_equal(json_integer_value(json_object_get(r, "hard")), 0);
    assert_string_equal(json_string_value(json_object_get(r, "task_type")),
                        "pick_cool_then_place_in_recep");
    assert_non_null(strstr(json_string_value(json_object_get(r, "gamefile")),
                           "pick_cool_then_place_in_recep-Pan"));
    assert_string_equal(
        json_string_value(json_object_get(r, "fail_reason")),
        "error: environment was killed by signal 6 (SIGABRT) during step 2; "
        "stderr: 'textenv: crashing on purpose at step 2'");
    assert_non_null(strstr(json_string_value(json_object_get(r, "env_stderr")),
                           "crashing on purpose"));
    p = pred_path(&e, "crash-1", "env_stderr.txt");
    text = tu_read(p, NULL);
    assert_non_null(text);
    assert_non_null(strstr(text, "textenv: crashing on purpose at step 2"));
    sk_free(text);
    sk_free(p);
    conv = conversation(&e, "crash-1");
    /* first observation, step 1, step 2 (no reply), the reason */
    assert_int_equal(json_array_size(conv), 4);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(conv, 2), "env_feedback")),
                        "(no reply: the environment failed)");
    assert_non_null(strstr(
        json_string_value(json_object_get(json_array_get(conv, 3), "content")),
        "SIGABRT"));
    json_decref(conv);
    /* a won game's record: the first observation, the steps, the verdict */
    conv = conversation(&e, "train-0000");
    assert_int_equal(json_array_size(conv), 1 + 5 + 1);
    t = json_array_get(conv, 0);
    assert_string_equal(json_string_value(json_object_get(t, "role")),
                        "environment");
    assert_non_null(strstr(json_string_value(json_object_get(t, "content")),
                           "Your task is to: put an apple in coffeetable 1."));
    t = json_array_get(conv, 2);
    assert_int_equal(json_integer_value(json_object_get(t, "step")), 2);
    assert_string_equal(json_string_value(json_object_get(t, "action")),
                        "take apple 1 from countertop 1");
    assert_string_equal(json_string_value(json_object_get(t, "reasoning")),
                        "I should take apple 1 from countertop 1 next.");
    assert_string_equal(json_string_value(json_object_get(t, "env_feedback")),
                        "You pick up the apple 1 from the countertop 1.");
    assert_false(json_is_true(json_object_get(t, "done")));
    t = json_array_get(conv, 5);
    assert_true(json_is_true(json_object_get(t, "done")));
    assert_true(json_real_value(json_object_get(t, "reward")) == 1.0);
    t = json_array_get(conv, 6);
    assert_string_equal(json_string_value(json_object_get(t, "role")),
                        "system");
    assert_non_null(strstr(json_string_value(json_object_get(t, "content")),
                           "Result: won in 5 steps"));
    json_decref(conv);
    /* the bad game: no tag at step 1 is a step with no action, told back */
    conv = conversation(&e, bad_id);
    t = json_array_get(conv, 1);
    assert_true(json_is_null(json_object_get(t, "action")));
    assert_non_null(
        strstr(json_string_value(json_object_get(t, "env_feedback")),
               "had no action inside an <action></action> tag"));
    t = json_array_get(conv, 2);
    assert_string_equal(json_string_value(json_object_get(t, "action")),
                        "look");
    assert_string_equal(json_string_value(json_object_get(t, "reasoning")),
                        "Hmm.");
    assert_non_null(strstr(
        json_string_value(json_object_get(json_array_get(conv, 13), "content")),
        "Result: not won: not won after 12 steps (step limit)"));
    json_decref(conv);
    {
        /* its second request showed the no-tag message as the observation */
        int seen = 0;
        json_array_foreach(e.s.users, i, t)
        {
            const char *u = json_string_value(t);
            if (strstr(u, bad_task) && strstr(u, "## Step 2 of at most 12") &&
                strstr(u, "[step 1] action: (none: no <action> tag)") &&
                strstr(u, "What you observe now:\n\nYour reply had no action"))
                seen = 1;
        }
        assert_true(seen);
    }
    /* a rerun takes every row from results.jsonl */
    calls = e.s.calls;
    assert_int_equal(run(&e, items, &rows2, &st, &err), SK_OK);
    assert_int_equal(st.cached, 7);
    assert_int_equal(e.s.calls, calls);
    json_decref(rows2);
    /* without results.jsonl every episode is played again against the
     * environment, each model turn answered by the response cache */
    p = sk_fs_join(e.dir, "out/results.jsonl");
    assert_int_equal(unlink(p), 0);
    sk_free(p);
    assert_int_equal(run(&e, items, &rows2, &st, &err), SK_OK);
    assert_int_equal(st.sent, 7);
    assert_int_equal(e.s.calls, calls);
    for (i = 0; i < json_array_size(rows); i++) {
        const json_t *a = json_array_get(rows, i),
                     *b = json_array_get(rows2, i);
        assert_int_equal(json_integer_value(json_object_get(a, "hard")),
                         json_integer_value(json_object_get(b, "hard")));
        assert_string_equal(
            json_string_value(json_object_get(a, "fail_reason")),
            json_string_value(json_object_get(b, "fail_reason")));
        assert_int_equal(json_integer_value(json_object_get(a, "n_turns")),
                         json_integer_value(json_object_get(b, "n_turns")));
    }
    json_decref(rows2);
    json_decref(rows);
    json_decref(items);
    env_close(&e);
}

/* A command that cannot serve stops the run before any model call; no
 * command at all is a setting error too. */
static void test_alfworld__environment_cannot_start(void **state)
{
    static const struct {
        const char *command; /* env.env_command, "" for none */
        const char *want;
    } cases[] = {
        {"/nonexistent/skillopt-env", "env.env_command"},
        {"", "env.env_command is not set"},
    };
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        struct env e;
        struct sk_rollout_stats st;
        struct sk_error err;
        json_t *items = load_items("val"), *rows = NULL;
        if (*cases[i].command)
            env_open(&e, cases[i].command, NULL);
        else
            env_open(&e, "null", NULL);
        assert_int_equal(run(&e, items, &rows, &st, &err), SK_ECONFIG);
        assert_null(rows);
        if (!strstr(err.msg, cases[i].want))
            fail_msg("case %zu: %s", i, err.msg);
        assert_int_equal(e.s.calls, 0);
        json_decref(items);
        env_close(&e);
    }
}

/* A version the environment does not speak is refused up front too. */
static void test_alfworld__wrong_protocol_version(void **state)
{
    struct env e;
    struct sk_rollout_stats st;
    struct sk_error err;
    char *script = tu_source_path("tests/fixtures/textenv/textenv.py");
    char cmd[1100];
    json_t *items = load_items("test"), *rows = NULL;
    (void)state;
    snprintf(cmd, sizeof cmd, "%s,%s,--protocol,2.1", python(), script);
    env_open(&e, cmd, NULL);
    assert_int_equal(run(&e, items, &rows, &st, &err), SK_ECONFIG);
    assert_non_null(strstr(err.msg, "speaks protocol version 2.1"));
    assert_int_equal(e.s.calls, 0);
    json_decref(items);
    env_close(&e);
    sk_free(script);
}

/* The generic "external" benchmark plays the same environment with its
 * own neutral prompts, and wins the same games. */
static void test_alfworld__external_benchmark(void **state)
{
    struct env e;
    struct sk_rollout_stats st;
    struct sk_rollout_opts o;
    struct sk_error err;
    json_t *items = load_items("train"), *rows = NULL;
    const struct sk_bench *b = sk_bench_find("external");
    char *out, *p, *text;
    size_t i, won = 0, len;
    (void)state;
    assert_non_null(b);
    env_open(&e, NULL, NULL);
    assert_int_equal(sk_bench_preflight(b, &e.cfg, &err), SK_OK);
    out = sk_fs_join(e.dir, "out");
    memset(&o, 0, sizeof o);
    o.cfg = &e.cfg;
    o.workers = 2;
    o.max_completion_tokens = 256;
    if (sk_rollout_run_opts(e.c, b, skill, items, out, &o, &rows, &st, &err) !=
        SK_OK)
        fail_msg("rollout: %s", err.msg);
    for (i = 0; i < json_array_size(rows); i++)
        won += json_integer_value(
                   json_object_get(json_array_get(rows, i), "hard")) == 1;
    assert_int_equal(won, json_array_size(items));
    p = pred_path(
        &e, json_string_value(json_object_get(json_array_get(items, 0), "id")),
        "target_system_prompt.txt");
    text = tu_read(p, &len);
    assert_non_null(strstr(text, "You act in an interactive environment."));
    assert_null(strstr(text, "ALFWorld"));
    sk_free(text);
    sk_free(p);
    json_decref(rows);
    json_decref(items);
    sk_free(out);
    env_close(&e);
    /* without env.env_command it says what to set */
    {
        struct sk_config cfg;
        char *dir = tu_mkdtemp();
        load_cfg(&cfg, dir, NULL, 0);
        assert_int_equal(sk_bench_preflight(b, &cfg, &err), SK_ECONFIG);
        assert_non_null(strstr(err.msg, "env.env_command is not set"));
        assert_null(strstr(err.msg, "alfworld_env.py"));
        sk_config_release(&cfg);
        tu_rmtree(dir);
        sk_free(dir);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alfworld__extract_action),
        cmocka_unit_test(test_alfworld__task_types),
        cmocka_unit_test(test_alfworld__prompt_snapshots),
        cmocka_unit_test(test_alfworld__rollout_on_textenv),
        cmocka_unit_test(test_alfworld__environment_cannot_start),
        cmocka_unit_test(test_alfworld__wrong_protocol_version),
        cmocka_unit_test(test_alfworld__external_benchmark),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
