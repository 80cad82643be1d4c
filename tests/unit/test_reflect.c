/*
 * test_reflect.c - the reflection phase against a simulated analyst:
 * message layout, normalisation, budget clipping, patch cache, retry with
 * the format reminder, dropped minibatches, failure_only, skill-aware
 * appendix notes and result order under uneven reply delays.
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "config/config.h"
#include "llm/client.h"
#include "llm/sim.h"
#include "train/minibatch.h"
#include "train/reflect.h"
#include "train/rollout.h"
#include "testutil.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"

#define N_RESULTS 9
#define GARBAGE "I think the skill is fine, no JSON today."

/* What the simulated analyst does. */
enum behaviour {
    ANSWER,        /* always a valid reply */
    BAD_THEN_GOOD, /* garbage, then valid once reminded */
    ALWAYS_BAD,    /* garbage every time */
    NOTES_ONLY     /* skill-aware: notes, no patch key */
};

struct analyst {
    pthread_mutex_t mu;
    enum behaviour how;
    int n_fail_calls, n_succ_calls;
    int layout_errors; /* user messages with sections out of order */
    int reminder_seen; /* retries that carried the reminder turn */
    char expect_budget[32];
    char fail_system[256]; /* start of the last failure system prompt */
    int saw_lapse_suffix;
};

struct fixture {
    char *dir, *pred, *patches, *pfail, *cfgp;
    json_t *results;
    struct sk_config cfg;
    struct sk_llm_client *client;
    struct analyst an;
};

static struct fixture fx;

static const char sim_yaml[] = "model:\n  backend: sim\n  optimizer: sim-opt\n"
                               "  target: sim-target\n  optimizer_backend: "
                               "sim\n  target_backend: sim\n";

/* Result i: t0..t5 fail, t6..t8 succeed; each has a conversation. */
static void make_results(void)
{
    size_t i;
    char id[16], sub[64];
    fx.results = json_array();
    for (i = 0; i < N_RESULTS; i++) {
        int fail = i < 6;
        char *p;
        snprintf(id, sizeof id, "t%zu", i);
        json_array_append_new(fx.results,
                              json_pack("{s:s, s:i, s:s, s:s, s:s, s:i}", "id",
                                        id, "hard", fail ? 0 : 1, "fail_reason",
                                        fail ? "wrong answer" : "",
                                        "task_description", "Find the capital",
                                        "task_type", "qa", "n_turns", 2));
        snprintf(sub, sizeof sub, "%s/conversation.json", id);
        p = tu_write(fx.pred, sub,
                     "[{\"role\":\"user\",\"content\":\"q?\"},"
                     "{\"role\":\"assistant\",\"content\":\"a.\"}]");
        sk_free(p);
    }
}

/* Ids named in a user message, in order, as "t3,t0". */
static void ids_in(const char *text, char *buf, size_t cap)
{
    const char *p = text;
    size_t len = 0;
    buf[0] = '\0';
    while ((p = strstr(p, "(id=")) != NULL) {
        const char *e = strchr(p, ')');
        int n = (int)(e - p - 4);
        len += (size_t)snprintf(buf + len, cap - len, "%s%.*s", len ? "," : "",
                                n, p + 4);
        p = e;
    }
}

static int ordered(const char *u, const char *const *heads, size_t n)
{
    const char *prev = u;
    size_t i;
    for (i = 0; i < n; i++) {
        const char *q = strstr(u, heads[i]);
        if (!q || q < prev)
            return 0;
        prev = q;
    }
    return 1;
}

static int respond(void *ud, const struct sk_sim_request *req,
                   struct sk_sim_reply *reply)
{
    struct analyst *an = ud;
    json_t *body = json_loadb(req->body, req->body_len, 0, NULL);
    json_t *msgs = json_object_get(body, "messages");
    const char *system = "", *user = "", *last = "";
    char ids[128], content[2048];
    const char *heads[] = {"## Current Skill\n", an->expect_budget,
                           "## Previous Steps in This Epoch\n",
                           "## Optimizer Meta Skill", "Trajectories ("};
    size_t i, n_user = 0;
    int succ, idnum;
    for (i = 0; i < json_array_size(msgs); i++) {
        json_t *m = json_array_get(msgs, i);
        const char *role = json_string_value(json_object_get(m, "role"));
        const char *text = json_string_value(json_object_get(m, "content"));
        if (!role || !text)
            continue;
        if (strcmp(role, "system") == 0)
            system = text;
        else if (strcmp(role, "user") == 0 && n_user++ == 0)
            user = text;
        last = text;
    }
    succ = strstr(user, "## Successful Trajectories") != NULL;
    ids_in(user, ids, sizeof ids);
    /* later minibatches answer sooner, so completion order is reversed */
    idnum = ids[0] == 't' ? ids[1] - '0' : 0;
    {
        struct timespec ts = {0, (long)(9 - idnum) * 15 * 1000000L};
        nanosleep(&ts, NULL);
    }
    pthread_mutex_lock(&an->mu);
    if (succ)
        an->n_succ_calls++;
    else {
        an->n_fail_calls++;
        snprintf(an->fail_system, sizeof an->fail_system, "%s", system);
        an->saw_lapse_suffix |= strstr(system, "EXECUTION_LAPSE") != NULL;
    }
    if (!ordered(user, heads, 5))
        an->layout_errors++;
    if (n_user > 1 && strstr(last, "Your previous reply could not be used"))
        an->reminder_seen++;
    pthread_mutex_unlock(&an->mu);
    if (an->how == ALWAYS_BAD || (an->how == BAD_THEN_GOOD && n_user == 1))
        snprintf(content, sizeof content, "%s", GARBAGE);
    else if (an->how == NOTES_ONLY && !succ)
        snprintf(content, sizeof content,
                 "{\"batch_size\": 2, \"appendix_notes\": [\"Re-read rule "
                 "%s.\", \"  \", {\"note\": \"Follow rule B\"}]}",
                 ids);
    else
        /* five edits against a budget of two; batch_size "many" for the
         * minibatch holding t2 (not a number) */
        snprintf(content, sizeof content,
                 "{\"batch_size\": %s, \"appendix_notes\": \"note %s\", "
                 "\"patch\": {\"reasoning\": \"%s\", \"edits\": ["
                 "{\"op\":\"append\",\"content\":\"e1\"},"
                 "{\"op\":\"append\",\"content\":\"e2\"},"
                 "{\"op\":\"append\",\"content\":\"e3\"},"
                 "{\"op\":\"append\",\"content\":\"e4\"},"
                 "{\"op\":\"append\",\"content\":\"e5\"}]}}",
                 strstr(ids, "t2") ? "\"many\""
                 : succ            ? "0"
                                   : "3",
                 ids, ids);
    reply->body = sk_sim_chat_completion("sim-opt", content, 100, 50);
    reply->body_len = reply->body ? strlen(reply->body) : 0;
    json_decref(body);
    return reply->body ? 0 : 1;
}

static int setup(void **state)
{
    struct sk_config_args a;
    struct sk_llm_client_opts o;
    struct sk_error err;
    (void)state;
    memset(&fx, 0, sizeof fx);
    pthread_mutex_init(&fx.an.mu, NULL);
    snprintf(fx.an.expect_budget, sizeof fx.an.expect_budget,
             "Produce at most L=2 edits.");
    fx.dir = tu_mkdtemp();
    fx.pred = sk_fs_join(fx.dir, "predictions");
    fx.patches = sk_fs_join(fx.dir, "patches");
    fx.pfail = sk_fs_join(fx.dir, "parse_failures");
    make_results();
    fx.cfgp = tu_write(fx.dir, "c.yaml", sim_yaml);
    memset(&a, 0, sizeof a);
    a.path = fx.cfgp;
    sk_config_init(&fx.cfg);
    if (sk_config_load(&a, &fx.cfg, &err) != SK_OK)
        fail_msg("%s", err.msg);
    memset(&o, 0, sizeof o);
    o.sim_responder = respond;
    o.sim_ud = &fx.an;
    if (sk_llm_client_new(&fx.cfg, &o, &fx.client, &err) != SK_OK)
        fail_msg("%s", err.msg);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sk_llm_client_free(fx.client);
    sk_config_release(&fx.cfg);
    json_decref(fx.results);
    tu_rmtree(fx.dir);
    sk_free(fx.dir);
    sk_free(fx.pred);
    sk_free(fx.patches);
    sk_free(fx.pfail);
    sk_free(fx.cfgp);
    pthread_mutex_destroy(&fx.an.mu);
    return 0;
}

static void base_opts(struct sk_reflect_opts *o)
{
    memset(o, 0, sizeof *o);
    o->results = fx.results;
    o->predictions_dir = fx.pred;
    o->skill = "# Skill\nAnswer briefly.";
    o->learning_rate = 2;
    o->mode = SK_UPDATE_PATCH;
    o->minibatch_size = 2;
    o->batch_seed = 7;
    o->step_buffer = "step 1: rejected edit X";
    o->meta_block = "## Optimizer Meta Skill\nPrefer small edits.";
    o->patches_dir = fx.patches;
    o->parse_failures_dir = fx.pfail;
}

static uint64_t requests(void)
{
    return sk_sim_requests(sk_llm_client_sim(fx.client));
}

static void run(const struct sk_reflect_opts *o, struct sk_reflect_out *out)
{
    struct sk_error err;
    sk_reflect_out_init(out);
    if (sk_reflect_run(fx.client, o, out, &err) != SK_OK)
        fail_msg("%s", err.msg);
}

/* The plan the module must follow, computed independently. */
static void expected_plan(const struct sk_reflect_opts *o,
                          struct sk_minibatch_plan *plan)
{
    double hard[N_RESULTS];
    size_t i;
    for (i = 0; i < N_RESULTS; i++)
        hard[i] = sk_result_hard(json_array_get(fx.results, i));
    sk_minibatch_plan_init(plan);
    assert_int_equal(sk_minibatch_split(hard, N_RESULTS, o->batch_seed,
                                        o->minibatch_size, o->failure_only,
                                        plan, NULL),
                     SK_OK);
}

static void group_ids(const struct sk_minibatch *g, char *buf, size_t cap)
{
    size_t i, len = 0;
    for (i = 0; i < g->n; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%st%zu", i ? "," : "",
                                g->items[i]);
}

static int file_exists(const char *dir, const char *name)
{
    char *p = sk_fs_join(dir, name);
    int e = sk_fs_exists(p);
    sk_free(p);
    return e;
}

/* ------------------------------------------------------------------ */

static void test_reflect__user_message_layout(void **state)
{
    struct sk_reflect_opts o;
    struct sk_buf b;
    size_t items[3] = {0, 1, 2}, n;
    char *p;
    const char *expect =
        "## Current Skill\nS\n\n"
        "## Edits Budget\nProduce at most L=4 edits.\n\n"
        "## Previous Steps in This Epoch\nbuf\n\n"
        "## Optimizer Meta Skill\nmeta\n\n"
        "## Failed Trajectories (2 total)\n"
        "### Trajectory 1 (id=t0)\nTask: Find the capital\nTask type: qa\n"
        "Failure reason: wrong answer\nSteps: 2\n"
        "\n#### Target System Prompt\nYou are a bot.\n"
        "\n[user] q?\n[assistant] a.\n\n---\n\n"
        "### Trajectory 3 (id=t2)\nTask: Find the capital\nTask type: qa\n"
        "Failure reason: wrong answer\nSteps: ?\n\n"
        "[action] ls\n[obs]    a b\n[step 4 think] hmm\n[step 4 action] go\n"
        "[step 4 obs]    ok\n[step ? action] x\n[step ? obs]    \n"
        "[verification] checked\n[agent] plain\n[None] r\n[agent] 5";
    (void)state;
    base_opts(&o);
    o.skill = "S";
    o.learning_rate = 4;
    o.step_buffer = "buf";
    o.meta_block = "## Optimizer Meta Skill\nmeta";
    p = tu_write(fx.pred, "t0/target_system_prompt.txt", "You are a bot.");
    sk_free(p);
    p = tu_write(fx.pred, "t1/conversation.json", "[]"); /* skipped */
    sk_free(p);
    p = tu_write(fx.pred, "t2/conversation.json",
                 "[{\"type\":\"tool_call\",\"cmd\":\"ls\",\"obs\":\"a b\"},"
                 "{\"step\":4,\"reasoning\":\"hmm\",\"action\":\"go\","
                 "\"env_feedback\":\"ok\"},"
                 "{\"action\":\"x\",\"env_feedback\":null},"
                 "{\"role\":\"system\",\"content\":\"checked\"},"
                 "{\"content\":\"plain\"},{\"role\":null,\"content\":\"r\"},"
                 "5]");
    sk_free(p);
    json_object_del(json_array_get(fx.results, 2), "n_turns");
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    assert_int_equal(sk_reflect_user_message(&o, items, 3, 0, &b, &n), SK_OK);
    assert_int_equal(n, 2);
    assert_string_equal(sk_buf_cstr(&b), expect);

    /* rewrite and full-rewrite headings; blank buffer and meta omitted */
    sk_buf_reset(&b);
    o.mode = SK_UPDATE_REWRITE_FROM_SUGGESTIONS;
    o.step_buffer = "  \n";
    o.meta_block = "";
    assert_int_equal(sk_reflect_user_message(&o, items, 1, 1, &b, &n), SK_OK);
    assert_non_null(strstr(sk_buf_cstr(&b), "## Suggestions Budget\nProduce "
                                            "at most L=4 suggestions.\n\n## "
                                            "Successful Trajectories (1 "
                                            "total)\n### Trajectory 1 "
                                            "(id=t0)"));
    assert_null(strstr(sk_buf_cstr(&b), "Previous Steps"));
    sk_buf_reset(&b);
    o.mode = SK_UPDATE_FULL_REWRITE_MINIBATCH;
    assert_int_equal(sk_reflect_user_message(&o, items, 1, 0, &b, &n), SK_OK);
    assert_non_null(strstr(sk_buf_cstr(&b), "## Update Format\n"));
    assert_null(strstr(sk_buf_cstr(&b), "L=4"));

    /* nothing renderable: nothing appended */
    sk_buf_reset(&b);
    assert_int_equal(sk_reflect_user_message(&o, &items[1], 1, 0, &b, &n),
                     SK_OK);
    assert_int_equal(n, 0);
    assert_int_equal(b.len, 0);
    sk_buf_release(&b);
}

static void test_reflect__normalise_clip_order_and_cache(void **state)
{
    struct sk_reflect_opts o;
    struct sk_reflect_out out, again;
    struct sk_minibatch_plan plan;
    size_t i, k;
    uint64_t before;
    (void)state;
    base_opts(&o);
    expected_plan(&o, &plan);
    assert_int_equal(plan.n_groups, 5); /* 3 failure + 2 success groups */
    run(&o, &out);
    assert_int_equal(out.n_groups, 5);
    assert_int_equal(out.n_calls, 5);
    assert_int_equal(out.n_parse_failures, 0);
    assert_int_equal(out.n_dropped, 0);
    assert_int_equal(fx.an.layout_errors, 0);
    assert_int_equal(fx.an.n_fail_calls, 3);
    assert_int_equal(fx.an.n_succ_calls, 2);
    assert_non_null(strstr(fx.an.fail_system, "failure analyst"));
    assert_int_equal(fx.an.saw_lapse_suffix, 0);
    /* raw results in (kind, index) order although replies came reversed */
    assert_int_equal(json_array_size(out.raw), 5);
    for (i = 0; i < plan.n_groups; i++) {
        char ids[64], name[64];
        json_t *r = json_array_get(out.raw, i);
        group_ids(&plan.groups[i], ids, sizeof ids);
        assert_string_equal(json_string_value(json_object_get(
                                json_object_get(r, "patch"), "reasoning")),
                            ids);
        assert_string_equal(
            json_string_value(json_object_get(r, "source_type")),
            plan.groups[i].kind == SK_MB_SUCC ? "success" : "failure");
        snprintf(name, sizeof name, "%s.json", plan.groups[i].tag);
        assert_true(file_exists(fx.patches, name));
    }
    /* normalisation: budget L=2 kept, support from batch_size */
    assert_int_equal(json_array_size(out.failure), 3);
    assert_int_equal(json_array_size(out.success), 2);
    for (k = 0; k < 5; k++) {
        json_t *inner = k < 3 ? json_array_get(out.failure, k)
                              : json_array_get(out.success, k - 3);
        json_t *edits = json_object_get(inner, "edits");
        char ids[64];
        json_int_t want;
        group_ids(&plan.groups[k], ids, sizeof ids);
        want = strstr(ids, "t2") ? 1 : k < 3 ? 3 : 1;
        assert_int_equal(json_array_size(edits), 2);
        assert_string_equal(json_string_value(json_object_get(
                                json_array_get(edits, 1), "content")),
                            "e2");
        for (i = 0; i < 2; i++) {
            json_t *e = json_array_get(edits, i);
            assert_int_equal(
                json_integer_value(json_object_get(e, "support_count")), want);
            assert_string_equal(
                json_string_value(json_object_get(e, "source_type")),
                k < 3 ? "failure" : "success");
        }
    }
    assert_int_equal(out.n_bad_batch_size, 1); /* the group with t2 */
    /* not skill-aware: no notes collected */
    assert_int_equal(json_array_size(out.appendix_notes), 0);

    /* second run: every minibatch comes from patches/, no request */
    before = requests();
    run(&o, &again);
    assert_int_equal(requests(), before);
    assert_int_equal(again.n_calls, 0);
    assert_int_equal(again.n_cached, 5);
    assert_true(json_equal(again.raw, out.raw));
    assert_true(json_equal(again.failure, out.failure));
    sk_reflect_out_release(&again);
    sk_reflect_out_release(&out);
    sk_minibatch_plan_release(&plan);
}

static void test_reflect__retry_with_reminder(void **state)
{
    struct sk_reflect_opts o;
    struct sk_reflect_out out;
    (void)state;
    fx.an.how = BAD_THEN_GOOD;
    base_opts(&o);
    run(&o, &out);
    assert_int_equal(out.n_calls, 10);
    assert_int_equal(out.n_parse_failures, 5);
    assert_int_equal(out.n_dropped, 0);
    assert_int_equal(fx.an.reminder_seen, 5);
    assert_int_equal(json_array_size(out.raw), 5);
    assert_int_equal(json_array_size(out.failure), 3);
    {
        char *p = sk_fs_join(fx.pfail, "minibatch_fail_000_1.txt");
        char *text = tu_read(p, NULL);
        assert_string_equal(text, GARBAGE);
        sk_free(text);
        sk_free(p);
    }
    assert_false(file_exists(fx.pfail, "minibatch_fail_000_2.txt"));
    assert_true(file_exists(fx.pfail, "minibatch_succ_001_1.txt"));
    sk_reflect_out_release(&out);
}

static void test_reflect__unparsable_twice_is_dropped(void **state)
{
    struct sk_reflect_opts o;
    struct sk_reflect_out out;
    (void)state;
    fx.an.how = ALWAYS_BAD;
    base_opts(&o);
    run(&o, &out);
    assert_int_equal(out.n_calls, 10);
    assert_int_equal(out.n_parse_failures, 10);
    assert_int_equal(out.n_dropped, 5);
    assert_int_equal(json_array_size(out.raw), 0);
    assert_int_equal(json_array_size(out.failure), 0);
    assert_int_equal(json_array_size(out.success), 0);
    assert_true(file_exists(fx.pfail, "minibatch_fail_002_1.txt"));
    assert_true(file_exists(fx.pfail, "minibatch_fail_002_2.txt"));
    assert_true(file_exists(fx.pfail, "minibatch_succ_000_2.txt"));
    assert_false(file_exists(fx.patches, "minibatch_fail_000.json"));
    sk_reflect_out_release(&out);
}

static void test_reflect__failure_only(void **state)
{
    struct sk_reflect_opts o;
    struct sk_reflect_out out;
    (void)state;
    base_opts(&o);
    o.failure_only = 1;
    run(&o, &out);
    assert_int_equal(out.n_groups, 3);
    assert_int_equal(fx.an.n_succ_calls, 0);
    assert_int_equal(fx.an.n_fail_calls, 3);
    assert_int_equal(json_array_size(out.success), 0);
    assert_int_equal(json_array_size(out.failure), 3);
    assert_false(file_exists(fx.patches, "minibatch_succ_000.json"));
    sk_reflect_out_release(&out);
}

static void test_reflect__skill_aware_notes(void **state)
{
    struct sk_reflect_opts o;
    struct sk_reflect_out out;
    json_t *carrier;
    size_t i;
    (void)state;
    fx.an.how = NOTES_ONLY;
    base_opts(&o);
    o.skill_aware = 1;
    o.appendix_failure_only = 1;
    run(&o, &out);
    assert_int_equal(fx.an.saw_lapse_suffix, 1);
    assert_int_equal(out.n_dropped, 0);
    assert_int_equal(json_array_size(out.raw), 5);
    /* failure replies without a patch become no-op carriers */
    carrier = json_array_get(out.raw, 0);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(carrier, "patch"), "reasoning")),
                        "execution-lapse only");
    assert_int_equal(json_array_size(json_object_get(
                         json_object_get(carrier, "patch"), "edits")),
                     0);
    /* their empty edits never reach the failure list */
    assert_int_equal(json_array_size(out.failure), 0);
    assert_int_equal(json_array_size(out.success), 2);
    /* two notes per failure minibatch (blank dropped), success notes
     * ignored under appendix_failure_only */
    assert_int_equal(json_array_size(out.appendix_notes), 6);
    for (i = 0; i < 6; i += 2) {
        assert_non_null(
            strstr(json_string_value(json_array_get(out.appendix_notes, i)),
                   "Re-read rule t"));
        assert_string_equal(
            json_string_value(json_array_get(out.appendix_notes, i + 1)),
            "Follow rule B");
    }
    sk_reflect_out_release(&out);

    /* success notes kept when the source allows them (fresh patches dir) */
    tu_rmtree(fx.patches);
    o.appendix_failure_only = 0;
    run(&o, &out);
    assert_int_equal(json_array_size(out.appendix_notes), 8);
    assert_non_null(strstr(
        json_string_value(json_array_get(out.appendix_notes, 6)), "note t"));
    sk_reflect_out_release(&out);
}

static void test_reflect__appendix_note_shapes(void **state)
{
    static const struct {
        const char *json;
        const char *want; /* notes joined by '|' */
    } cases[] = {
        {"{\"appendix_notes\": [\" a \", \"\", \"b\"]}", "a|b"},
        {"{\"appendix_notes\": \"  single  \"}", "single"},
        {"{\"appendix_notes\": \"   \"}", ""},
        {"{\"appendix_notes\": [{\"note\": \"n\"}, {\"content\": \"c\"},"
         " {\"note\": \"\", \"content\": \"fallback\"}, {\"x\": 1}, 3]}",
         "n|c|fallback"},
        {"{\"appendix_notes\": {\"note\": \"x\"}}", ""},
        {"{\"other\": 1}", ""},
        {"[1]", ""},
    };
    size_t i, j;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *r = json_loads(cases[i].json, 0, NULL);
        json_t *notes = sk_reflect_appendix_notes(r);
        char got[128] = "";
        size_t len = 0;
        assert_non_null(notes);
        for (j = 0; j < json_array_size(notes); j++)
            len += (size_t)snprintf(
                got + len, sizeof got - len, "%s%s", j ? "|" : "",
                json_string_value(json_array_get(notes, j)));
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("case %zu: got '%s', want '%s'", i, got, cases[i].want);
        json_decref(notes);
        json_decref(r);
    }
}

static void test_reflect__support_count_values(void **state)
{
    static const struct {
        const char *batch_size; /* JSON text, NULL: key absent */
        long want;
        int bad;
    } cases[] = {
        {"4", 4, 0},       {"0", 1, 0},    {"-3", 1, 0},
        {"2.7", 2, 0},     {"true", 1, 0}, {"null", 1, 0},
        {"\" 5 \"", 5, 0}, {"\"\"", 1, 0}, {"\"many\"", 1, 1},
        {"\"3.0\"", 1, 1}, {"[1]", 1, 1},  {NULL, 1, 0},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[256];
        json_t *raw, *e;
        struct sk_reflect_out out;
        snprintf(text, sizeof text,
                 "[{%s%s%s\"patch\": {\"edits\": [{\"op\": \"append\"}, "
                 "{\"op\": \"delete\", \"support_count\": 9}]}}]",
                 cases[i].batch_size ? "\"batch_size\": " : "",
                 cases[i].batch_size ? cases[i].batch_size : "",
                 cases[i].batch_size ? ", " : "");
        raw = json_loads(text, 0, NULL);
        assert_non_null(raw);
        sk_reflect_out_init(&out);
        assert_int_equal(sk_reflect_normalise(raw, SK_UPDATE_PATCH, &out),
                         SK_OK);
        assert_int_equal(json_array_size(out.failure), 1);
        e = json_array_get(
            json_object_get(json_array_get(out.failure, 0), "edits"), 0);
        if (json_integer_value(json_object_get(e, "support_count")) !=
            cases[i].want)
            fail_msg("case %zu (%s): support %lld", i,
                     cases[i].batch_size ? cases[i].batch_size : "absent",
                     (long long)json_integer_value(
                         json_object_get(e, "support_count")));
        assert_string_equal(
            json_string_value(json_object_get(e, "source_type")), "failure");
        /* an existing support_count is kept */
        e = json_array_get(
            json_object_get(json_array_get(out.failure, 0), "edits"), 1);
        assert_int_equal(
            json_integer_value(json_object_get(e, "support_count")), 9);
        assert_int_equal(out.n_bad_batch_size, (size_t)cases[i].bad);
        sk_reflect_out_release(&out);
        json_decref(raw);
    }
}

static void test_reflect__normalise_skips_and_modes(void **state)
{
    json_t *raw = json_loads(
        "[{\"patch\": {\"edits\": []}},"
        " {\"patch\": \"text\"},"
        " 7,"
        " {\"source_type\": \"success\", \"batch_size\": 2,"
        "  \"patch\": {\"revise_suggestions\": [{\"type\": \"clarify\"}]}},"
        " {\"edits\": [{\"op\": \"append\"}]}]",
        0, NULL);
    struct sk_reflect_out out;
    (void)state;
    sk_reflect_out_init(&out);
    assert_int_equal(sk_reflect_normalise(raw, SK_UPDATE_PATCH, &out), SK_OK);
    /* only the bare result (the result itself is the inner patch) */
    assert_int_equal(json_array_size(out.failure), 1);
    assert_int_equal(json_array_size(out.success), 0);
    sk_reflect_out_release(&out);
    sk_reflect_out_init(&out);
    assert_int_equal(
        sk_reflect_normalise(raw, SK_UPDATE_REWRITE_FROM_SUGGESTIONS, &out),
        SK_OK);
    assert_int_equal(json_array_size(out.failure), 0);
    assert_int_equal(json_array_size(out.success), 1);
    assert_int_equal(
        json_integer_value(json_object_get(
            json_array_get(json_object_get(json_array_get(out.success, 0),
                                           "revise_suggestions"),
                           0),
            "support_count")),
        2);
    sk_reflect_out_release(&out);
    json_decref(raw);
}

/* Ids that are not plain file names (ALFWorld's "train:0000") are found
 * in the rollout's own directory for them; a run the reference wrote
 * (predictions/<raw id>) is still read. */
static void test_reflect__prediction_dirs_of_any_id(void **state)
{
    struct sk_reflect_opts o;
    struct sk_buf b, d;
    size_t items[2] = {0, 1}, n;
    char *p;
    (void)state;
    base_opts(&o);
    json_object_set_new(json_array_get(fx.results, 0), "id",
                        json_string("train:0000"));
    json_object_set_new(json_array_get(fx.results, 1), "id",
                        json_string("val-7"));
    sk_buf_init(&d, SK_BUF_UNLIMITED);
    assert_int_equal(sk_rollout_pred_dir("train:0000", &d), SK_OK);
    assert_int_equal(sk_buf_puts(&d, "/conversation.json"), SK_OK);
    p = tu_write(fx.pred, sk_buf_cstr(&d),
                 "[{\"role\":\"assistant\",\"content\":\"mapped\"}]");
    sk_free(p);
    p = tu_write(fx.pred, "val-7/conversation.json",
                 "[{\"role\":\"assistant\",\"content\":\"plain\"}]");
    sk_free(p);
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    assert_int_equal(sk_reflect_user_message(&o, items, 2, 0, &b, &n), SK_OK);
    assert_int_equal(n, 2);
    assert_non_null(strstr(sk_buf_cstr(&b), "(id=train:0000)"));
    assert_non_null(strstr(sk_buf_cstr(&b), "[assistant] mapped"));
    assert_non_null(strstr(sk_buf_cstr(&b), "[assistant] plain"));
    sk_buf_release(&b);
    sk_buf_release(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reflect__prediction_dirs_of_any_id,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_reflect__user_message_layout,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_reflect__normalise_clip_order_and_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reflect__retry_with_reminder,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_reflect__unparsable_twice_is_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reflect__failure_only, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reflect__skill_aware_notes, setup,
                                        teardown),
        cmocka_unit_test(test_reflect__appendix_note_shapes),
        cmocka_unit_test(test_reflect__support_count_values),
        cmocka_unit_test(test_reflect__normalise_skips_and_modes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
