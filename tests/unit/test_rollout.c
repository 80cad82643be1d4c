/*
 * test_rollout.c - the rollout phase through the real client and the
 * in-process simulator: files, order, resume, skill change, provider
 * failures and the SearchQA scoring path.
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/demo_sim.h"
#include "config/config.h"
#include "llm/client.h"
#include "llm/sim.h"
#include "testutil.h"
#include "train/bench.h"
#include "train/rollout.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/sha256.h"

static const char sim_yaml[] =
    "model:\n  backend: sim\n  optimizer_backend: sim\n"
    "  target_backend: sim\n  target: sim-target\n";

struct env {
    char *dir;
    struct sk_config cfg;
    struct sk_llm_client *c;
};

static void env_open(struct env *e, const char *const *opts, size_t n,
                     sk_sim_responder_fn fn, void *ud)
{
    struct sk_config_args a;
    struct sk_llm_client_opts o;
    struct sk_error err;
    char *cfgp;

    e->dir = tu_mkdtemp();
    cfgp = tu_write(e->dir, "c.yaml", sim_yaml);
    memset(&a, 0, sizeof a);
    a.path = cfgp;
    a.cfg_options = opts;
    a.n_cfg_options = n;
    sk_config_init(&e->cfg);
    if (sk_config_load(&a, &e->cfg, &err) != SK_OK)
        fail_msg("%s", err.msg);
    memset(&o, 0, sizeof o);
    o.sim_responder = fn;
    o.sim_ud = ud;
    if (sk_llm_client_new(&e->cfg, &o, &e->c, &err) != SK_OK)
        fail_msg("%s", err.msg);
    sk_free(cfgp);
}

static void env_close(struct env *e)
{
    sk_llm_client_free(e->c);
    sk_config_release(&e->cfg);
    tu_rmtree(e->dir);
    sk_free(e->dir);
}

static uint64_t requests(struct env *e)
{
    return sk_sim_requests(sk_llm_client_sim(e->c));
}

/* The first n items of data/demo/val. */
static json_t *demo_items(size_t n)
{
    char *p = tu_source_path("data/demo/val/items.json");
    json_t *all = json_load_file(p, 0, NULL), *out = json_array();
    size_t i;
    assert_non_null(all);
    assert_true(json_array_size(all) >= n);
    for (i = 0; i < n; i++)
        json_array_append(out, json_array_get(all, i));
    json_decref(all);
    sk_free(p);
    return out;
}

static int run(struct env *e, const char *bench, const char *skill,
               json_t *items, const char *out, json_t **rows,
               struct sk_rollout_stats *st)
{
    struct sk_error err;
    int rc;
    memset(&err, 0, sizeof err);
    rc = sk_rollout_run(e->c, sk_bench_find(bench), skill, items, out, NULL,
                        256, rows, st, &err);
    if (rc != SK_OK && rc > -100)
        fail_msg("rollout: %d %s", rc, err.msg);
    return rc;
}

/* The path out/predictions/<id>/name (new string). */
static char *pred_file(const char *out, const char *id, const char *name)
{
    struct sk_buf b;
    char *p;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    assert_int_equal(sk_buf_printf(&b, "%s/predictions/", out), SK_OK);
    assert_int_equal(sk_rollout_pred_dir(id, &b), SK_OK);
    assert_int_equal(sk_buf_printf(&b, "/%s", name), SK_OK);
    p = sk_buf_detach(&b, NULL);
    return p;
}

/* results.jsonl as an array of rows. */
static json_t *read_jsonl(const char *out)
{
    char *p = sk_fs_join(out, SK_ROLLOUT_RESULTS);
    size_t len;
    char *text = tu_read(p, &len), *line, *nl;
    json_t *rows = json_array();
    assert_non_null(text);
    for (line = text; *line; line = nl + 1) {
        json_t *r;
        nl = strchr(line, '\n');
        assert_non_null(nl); /* every row ends its line */
        r = json_loadb(line, (size_t)(nl - line), 0, NULL);
        assert_non_null(r);
        json_array_append_new(rows, r);
    }
    sk_free(text);
    sk_free(p);
    return rows;
}

static void test_rollout__pred_dir_rule(void **state)
{
    static const struct {
        const char *id;
        const char *prefix; /* expected text before any hash suffix */
        int hashed;
    } cases[] = {
        {"val-003", "val-003", 0},     {"12345", "12345", 0},
        {"a.b_c-D", "a.b_c-D", 0},     {"..", "_.", 1},
        {".hidden", "_hidden", 1},     {"a/b", "a_b", 1},
        {"../../etc", "_._.._etc", 1}, {"", "", 1},
        {"caf\xc3\xa9", "caf__", 1},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sk_buf b;
        char hex[17], want[256];
        sk_buf_init(&b, SK_BUF_UNLIMITED);
        assert_int_equal(sk_rollout_pred_dir(cases[i].id, &b), SK_OK);
        if (cases[i].hashed) {
            assert_int_equal(
                sk_text_hash16(cases[i].id, strlen(cases[i].id), hex), SK_OK);
            snprintf(want, sizeof want, "%s-%s", cases[i].prefix, hex);
        } else {
            snprintf(want, sizeof want, "%s", cases[i].prefix);
        }
        assert_string_equal(sk_buf_cstr(&b), want);
        assert_null(strchr(sk_buf_cstr(&b), '/'));
        sk_buf_release(&b);
    }
    {
        /* long ids are cut to 64 bytes before the suffix */
        char id[200];
        struct sk_buf b;
        memset(id, 'x', 150);
        id[150] = '\0';
        sk_buf_init(&b, SK_BUF_UNLIMITED);
        assert_int_equal(sk_rollout_pred_dir(id, &b), SK_OK);
        assert_int_equal(b.len, 64 + 1 + 16);
        sk_buf_release(&b);
    }
}

static void test_rollout__skill_section(void **state)
{
    struct sk_buf b;
    (void)state;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    assert_int_equal(sk_bench_skill_section("  \n\t ", &b), SK_OK);
    assert_int_equal(b.len, 0);
    assert_int_equal(sk_bench_skill_section("\n  Rule one.\n\n", &b), SK_OK);
    assert_string_equal(sk_buf_cstr(&b), "## Skill\nRule one.\n\n");
    sk_buf_release(&b);
    assert_null(sk_bench_find("nosuch"));
    assert_non_null(sk_bench_find("demo"));
    assert_non_null(sk_bench_find("searchqa"));
}

static void test_rollout__demo_files_order_resume(void **state)
{
    struct env e;
    struct sk_demo_sim *d;
    struct sk_error err;
    struct sk_rollout_stats st;
    json_t *items = demo_items(20), *rows, *rows2, *lines;
    char *data = tu_source_path("data/demo");
    char *out;
    const char *skill = "Always state the unit of measurement after a number.";
    size_t i;
    uint64_t before;
    (void)state;
    assert_int_equal(sk_demo_sim_new(data, 7, NULL, NULL, &d, &err), SK_OK);
    env_open(&e, NULL, 0, sk_demo_sim_respond, d);
    out = sk_fs_join(e.dir, "rollout");

    before = requests(&e);
    assert_int_equal(run(&e, "demo", skill, items, out, &rows, &st), SK_OK);
    assert_int_equal(requests(&e) - before, 20);
    assert_int_equal(st.items, 20);
    assert_int_equal(st.sent, 20);
    assert_int_equal(st.cached, 0);
    assert_int_equal(st.errors, 0);
    assert_int_equal(json_array_size(rows), 20);
    lines = read_jsonl(out);
    assert_int_equal(json_array_size(lines), 20);
    for (i = 0; i < 20; i++) {
        json_t *r = json_array_get(rows, i), *conv, *last;
        const char *id =
            json_string_value(json_object_get(json_array_get(items, i), "id"));
        const char *gold = json_string_value(json_array_get(
            json_object_get(json_array_get(items, i), "answers"), 0));
        char *p, *sys, *usr;
        assert_string_equal(json_string_value(json_object_get(r, "id")), id);
        assert_true(json_equal(r, json_array_get(lines, i)));
        assert_true(json_is_true(json_object_get(r, "agent_ok")));
        assert_int_equal(json_integer_value(json_object_get(r, "n_turns")), 1);
        assert_non_null(strstr(
            json_string_value(json_object_get(r, "response")), "<answer>"));
        /* hard agrees with the prediction and the gold */
        assert_int_equal(
            json_integer_value(json_object_get(r, "hard")),
            strcmp(json_string_value(json_object_get(r, "predicted_answer")),
                   gold) == 0);
        if (json_integer_value(json_object_get(r, "hard")) == 0)
            assert_memory_equal(
                json_string_value(json_object_get(r, "fail_reason")),
                "EM=0: predicted '", 17);
        p = pred_file(out, id, "target_system_prompt.txt");
        sys = tu_read(p, NULL);
        assert_non_null(strstr(sys, "## Skill\nAlways state the unit"));
        sk_free(p);
        sk_free(sys);
        p = pred_file(out, id, "target_user_prompt.txt");
        usr = tu_read(p, NULL);
        assert_non_null(strstr(usr, "Task id: "));
        assert_non_null(strstr(usr, id));
        sk_free(p);
        sk_free(usr);
        p = pred_file(out, id, "conversation.json");
        conv = json_load_file(p, 0, NULL);
        assert_int_equal(json_array_size(conv), 2);
        assert_string_equal(json_string_value(json_object_get(
                                json_array_get(conv, 0), "content")),
                            json_string_value(json_object_get(r, "response")));
        last = json_array_get(conv, 1);
        assert_string_equal(json_string_value(json_object_get(last, "role")),
                            "system");
        assert_non_null(
            strstr(json_string_value(json_object_get(last, "content")),
                   "Gold answers: ['"));
        assert_non_null(
            strstr(json_string_value(json_object_get(last, "content")), gold));
        json_decref(conv);
        sk_free(p);
    }
    json_decref(lines);

    /* rerun: everything from the cache, the model is not asked */
    before = requests(&e);
    assert_int_equal(run(&e, "demo", skill, items, out, &rows2, &st), SK_OK);
    assert_int_equal(requests(&e), before);
    assert_int_equal(st.cached, 20);
    assert_int_equal(st.sent, 0);
    assert_true(json_equal(rows, rows2));
    json_decref(rows2);

    /* a crash mid-append: 15 whole lines and a torn one; 5 are asked */
    {
        char *p = sk_fs_join(out, SK_ROLLOUT_RESULTS);
        size_t len, k = 0, cut = 0;
        char *text = tu_read(p, &len);
        FILE *f;
        for (cut = 0; cut < len && k < 15; cut++)
            k += text[cut] == '\n';
        f = fopen(p, "w");
        fwrite(text, 1, cut + 10, f);
        fclose(f);
        before = requests(&e);
        assert_int_equal(run(&e, "demo", skill, items, out, &rows2, &st),
                         SK_OK);
        assert_int_equal(requests(&e) - before, 5);
        assert_int_equal(st.cached, 15);
        assert_true(json_equal(rows, rows2));
        json_decref(rows2);
        sk_free(text);
        sk_free(p);
    }

    /* another skill: nothing reused */
    before = requests(&e);
    assert_int_equal(run(&e, "demo", "", items, out, &rows2, &st), SK_OK);
    assert_int_equal(requests(&e) - before, 20);
    assert_int_equal(st.cached, 0);
    lines = read_jsonl(out);
    assert_int_equal(json_array_size(lines), 20);
    json_decref(lines);
    {
        char *p = pred_file(out, "val-003", "target_system_prompt.txt");
        char *sys = tu_read(p, NULL);
        assert_null(strstr(sys, "## Skill"));
        sk_free(sys);
        sk_free(p);
    }
    json_decref(rows2);

    json_decref(rows);
    json_decref(items);
    sk_free(out);
    env_close(&e);
    sk_demo_sim_free(d);
    sk_free(data);
}

static int always_500(void *ud, const struct sk_sim_request *req,
                      struct sk_sim_reply *reply)
{
    (void)ud;
    (void)req;
    (void)reply;
    return 1;
}

static void test_rollout__provider_failure(void **state)
{
    struct env e;
    struct sk_rollout_stats st;
    json_t *items = demo_items(4), *rows;
    const char *opts[] = {"llm.retries=1"};
    char *out, *p;
    size_t i;
    int rc;
    (void)state;
    env_open(&e, opts, 1, always_500, NULL);
    out = sk_fs_join(e.dir, "rollout");
    rc = run(&e, "demo", "skill", items, out, &rows, &st);
    assert_true(rc <= SK_LLM_EPROVIDER);
    assert_int_equal(st.errors, 4);
    assert_int_equal(json_array_size(rows), 4);
    for (i = 0; i < 4; i++) {
        json_t *r = json_array_get(rows, i);
        assert_memory_equal(
            json_string_value(json_object_get(r, "fail_reason")), "error: ", 7);
        assert_true(json_is_false(json_object_get(r, "agent_ok")));
        assert_int_equal(json_integer_value(json_object_get(r, "hard")), 0);
        assert_true(json_number_value(json_object_get(r, "soft")) == 0.0);
    }
    /* error rows are not cached: a rerun asks again */
    p = sk_fs_join(out, SK_ROLLOUT_RESULTS);
    assert_false(sk_fs_exists(p));
    sk_free(p);
    json_decref(rows);
    json_decref(items);
    sk_free(out);
    env_close(&e);
}

/* Answers every request with the text in ud. */
static int fixed_answer(void *ud, const struct sk_sim_request *req,
                        struct sk_sim_reply *reply)
{
    (void)req;
    reply->body = sk_sim_chat_completion("sim-target", ud, 10, 10);
    reply->body_len = reply->body ? strlen(reply->body) : 0;
    return reply->body ? 0 : 1;
}

/* A real SearchQA item with a context and answers, or NULL. */
static json_t *real_searchqa_item(void)
{
    const char *shared = getenv("SKILLOPT_SHARED_DIR");
    char path[4096];
    json_t *all, *v, *found = NULL;
    size_t i;
    snprintf(path, sizeof path, "%s/data/searchqa/val/items.json",
             shared && *shared ? shared : "/work/shared");
    all = json_load_file(path, 0, NULL);
    json_array_foreach(all, i, v)
    {
        if (json_is_string(json_object_get(v, "context")) &&
            json_array_size(json_object_get(v, "answers")) > 0) {
            found = json_incref(v);
            break;
        }
    }
    json_decref(all);
    return found;
}

static void test_rollout__searchqa_scoring(void **state)
{
    struct env e;
    struct sk_rollout_stats st;
    json_t *item = real_searchqa_item(), *items, *rows, *r, *bad;
    char answer[1024], *out, *p, *usr, *conv;
    const char *gold, *id;
    (void)state;
    if (!item) {
        skip();
        return;
    }
    gold =
        json_string_value(json_array_get(json_object_get(item, "answers"), 0));
    snprintf(answer, sizeof answer, "Thinking.\n<answer>%s</answer>", gold);
    env_open(&e, NULL, 0, fixed_answer, answer);
    out = sk_fs_join(e.dir, "rollout");
    items = json_array();
    json_array_append(items, item);
    bad = json_pack("{s:s, s:s, s:n, s:[s]}", "id", "no-ctx", "question", "q?",
                    "context", "answers", "x");
    json_array_append_new(items, bad);
    assert_int_equal(run(&e, "searchqa", "Be brief.", items, out, &rows, &st),
                     SK_OK);
    assert_int_equal(st.sent, 1);
    assert_int_equal(st.invalid, 1);
    r = json_array_get(rows, 0);
    assert_int_equal(json_integer_value(json_object_get(r, "hard")), 1);
    assert_true(json_real_value(json_object_get(r, "em")) == 1.0);
    assert_true(json_real_value(json_object_get(r, "soft")) == 1.0);
    assert_string_equal(
        json_string_value(json_object_get(r, "predicted_answer")), gold);
    assert_string_equal(json_string_value(json_object_get(r, "fail_reason")),
                        "");
    assert_non_null(json_object_get(r, "sub_em"));
    assert_string_equal(json_string_value(json_object_get(r, "task_type")),
                        "searchqa");
    id = json_string_value(json_object_get(r, "id"));
    p = pred_file(out, id, "target_user_prompt.txt");
    usr = tu_read(p, NULL);
    assert_non_null(
        strstr(usr, json_string_value(json_object_get(item, "question"))));
    sk_free(usr);
    sk_free(p);
    p = pred_file(out, id, "conversation.json");
    conv = tu_read(p, NULL);
    assert_non_null(strstr(conv, "Exact match: 1.0"));
    assert_non_null(strstr(conv, "F1: 1.0000"));
    sk_free(conv);
    sk_free(p);
    /* the null-context item is a persisted error row */
    r = json_array_get(rows, 1);
    assert_memory_equal(json_string_value(json_object_get(r, "fail_reason")),
                        "error: ", 7);
    assert_true(json_is_false(json_object_get(r, "agent_ok")));
    json_decref(rows);
    env_close(&e);

    /* a wrong answer: EM 0 with the reference's reason */
    snprintf(answer, sizeof answer, "<answer>zzz qqq</answer>");
    env_open(&e, NULL, 0, fixed_answer, answer);
    sk_free(out);
    out = sk_fs_join(e.dir, "rollout");
    assert_int_equal(run(&e, "searchqa", "", items, out, &rows, &st), SK_OK);
    r = json_array_get(rows, 0);
    assert_int_equal(json_integer_value(json_object_get(r, "hard")), 0);
    assert_memory_equal(json_string_value(json_object_get(r, "fail_reason")),
                        "EM=0: predicted 'zzz qqq' but expected [", 40);
    json_decref(rows);
    env_close(&e);
    sk_free(out);
    json_decref(items);
    json_decref(item);
}

/* ---- episodes: item failures, the verify hook, the train flag ------- */

static int ep_build(const json_t *item, const char *skill,
                    const struct sk_bench_ctx *ctx, char **system, char **user,
                    struct sk_error *err)
{
    (void)item;
    (void)skill;
    (void)ctx;
    (void)err;
    *system = sk_strdup("sys");
    *user = sk_strdup(json_string_value(json_object_get(item, "id")));
    return SK_OK;
}

/* Item "bad" fails for its own reason after one turn; the others finish
 * with a won flag the score callback reads; ep_dir records the item dir. */
static int ep_run(struct sk_bench_episode *ep, const struct sk_bench_ctx *ctx,
                  struct sk_error *err)
{
    const char *id = json_string_value(json_object_get(ep->item, "id"));
    char *p = sk_fs_join(ep->item_dir, "kept.txt");
    FILE *f = fopen(p, "w");
    assert_non_null(f); /* the item dir exists before the episode */
    fputs(id, f);
    fclose(f);
    sk_free(p);
    ep->turns =
        json_pack("[{s:s, s:s}]", "role", "assistant", "content", "first move");
    if (strcmp(id, "bad") == 0)
        return sk_error_set(err, SK_EDATA,
                            "environment exited with status 3: boom");
    json_object_set_new(ep->row, "won", json_boolean(strcmp(id, "win") == 0));
    json_object_set_new(ep->row, "was_train", json_boolean(ctx->train));
    ep->final = sk_strdup("done");
    return SK_OK;
}

static int ep_score(const json_t *item, const char *response,
                    const struct sk_bench_ctx *ctx, json_t *result,
                    struct sk_error *err)
{
    int won = json_is_true(json_object_get(result, "won"));
    (void)item;
    (void)response;
    (void)ctx;
    (void)err;
    json_object_set_new(result, "hard", json_integer(won));
    json_object_set_new(result, "soft", json_real(won ? 1.0 : 0.0));
    json_object_set_new(result, "fail_reason",
                        json_string(won ? "" : "not won"));
    return SK_OK;
}

static int ep_verify(const json_t *item, const json_t *row,
                     const struct sk_bench_ctx *ctx, struct sk_buf *out)
{
    (void)item;
    return sk_buf_printf(out, "verdict won=%d train=%d",
                         json_is_true(json_object_get(row, "won")), ctx->train);
}

static const struct sk_bench ep_bench = {.name = "episodic",
                                         .build = ep_build,
                                         .score = ep_score,
                                         .episode = ep_run,
                                         .verify = ep_verify};

static void test_rollout__episode_outcomes(void **state)
{
    struct env e;
    struct sk_rollout_stats st;
    struct sk_rollout_opts o;
    struct sk_error err;
    json_t *items = json_pack("[{s:s}, {s:s}, {s:s}]", "id", "win", "id", "bad",
                              "id", "lose"),
           *rows, *conv, *cached;
    char *out, *p, *text;
    size_t len;
    (void)state;
    env_open(&e, NULL, 0, NULL, NULL);
    out = sk_fs_join(e.dir, "ep");
    memset(&o, 0, sizeof o);
    o.train = 1;
    o.workers = 2;
    assert_int_equal(sk_rollout_run_opts(e.c, &ep_bench, "skill", items, out,
                                         &o, &rows, &st, &err),
                     SK_OK);
    assert_int_equal(st.sent, 3);
    assert_int_equal(st.invalid, 1); /* "bad" failed for its own reason */
    assert_int_equal(st.errors, 0);  /* not a provider failure */
    assert_int_equal(
        json_integer_value(json_object_get(json_array_get(rows, 0), "hard")),
        1);
    assert_true(
        json_is_true(json_object_get(json_array_get(rows, 0), "was_train")));
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(rows, 1), "fail_reason")),
                        "error: environment exited with status 3: boom");
    assert_int_equal(
        json_integer_value(json_object_get(json_array_get(rows, 1), "n_turns")),
        1);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(rows, 2), "fail_reason")),
                        "not won");
    /* the failed item keeps its turns and the reason */
    p = pred_file(out, "bad", "conversation.json");
    conv = json_load_file(p, 0, NULL);
    assert_non_null(conv);
    assert_int_equal(json_array_size(conv), 2);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(conv, 1), "content")),
        "error: environment exited with status 3: boom");
    json_decref(conv);
    sk_free(p);
    /* the bench's verification turn closes a finished conversation */
    p = pred_file(out, "win", "conversation.json");
    conv = json_load_file(p, 0, NULL);
    assert_non_null(conv);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(conv, 1), "content")),
        "verdict won=1 train=1");
    json_decref(conv);
    sk_free(p);
    p = pred_file(out, "lose", "kept.txt");
    text = tu_read(p, &len);
    assert_string_equal(text, "lose");
    sk_free(text);
    sk_free(p);
    /* all three rows persist: a rerun sends nothing */
    cached = read_jsonl(out);
    assert_int_equal(json_array_size(cached), 3);
    json_decref(cached);
    json_decref(rows);
    assert_int_equal(sk_rollout_run_opts(e.c, &ep_bench, "skill", items, out,
                                         &o, &rows, &st, &err),
                     SK_OK);
    assert_int_equal(st.sent, 0);
    assert_int_equal(st.cached, 3);
    json_decref(rows);
    json_decref(items);
    sk_free(out);
    env_close(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rollout__pred_dir_rule),
        cmocka_unit_test(test_rollout__skill_section),
        cmocka_unit_test(test_rollout__demo_files_order_resume),
        cmocka_unit_test(test_rollout__provider_failure),
        cmocka_unit_test(test_rollout__searchqa_scoring),
        cmocka_unit_test(test_rollout__episode_outcomes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
