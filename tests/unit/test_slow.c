/*
 * test_slow.c - epoch-end updates (train/slow): pair categories and
 * policies, the comparison text against a golden built from temporary
 * predictions directories, and the slow-update / meta-skill calls
 * against the in-process simulator with a scripted responder.
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

#include <jansson.h>

#include "config/config.h"
#include "llm/client.h"
#include "llm/sim.h"
#include "skill/skill.h"
#include "testutil.h"
#include "train/schedule.h"
#include "train/slow.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"

static char *tmpdir;

/* Scripted replies: replies[i] answers the i-th request (last repeats). */
static struct {
    pthread_mutex_t mu;
    const char *replies[4];
    size_t n_replies;
    size_t n;
    char *last_user; /* first user message of the last request */
} sc;

static int setup(void **state)
{
    (void)state;
    tmpdir = tu_mkdtemp();
    memset(&sc, 0, sizeof sc);
    pthread_mutex_init(&sc.mu, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sk_free(sc.last_user);
    pthread_mutex_destroy(&sc.mu);
    tu_rmtree(tmpdir);
    sk_free(tmpdir);
    return 0;
}

static int responder(void *ud, const struct sk_sim_request *req,
                     struct sk_sim_reply *reply)
{
    json_t *body = json_loadb(req->body, req->body_len, 0, NULL);
    json_t *msgs = json_object_get(body, "messages"), *m;
    const char *user = NULL;
    size_t i, slot;
    (void)ud;
    json_array_foreach(msgs, i, m)
    {
        const char *role = json_string_value(json_object_get(m, "role"));
        if (!user && role && strcmp(role, "user") == 0)
            user = json_string_value(json_object_get(m, "content"));
    }
    pthread_mutex_lock(&sc.mu);
    slot = sc.n++;
    sk_free(sc.last_user);
    sc.last_user = sk_strdup(user ? user : "");
    pthread_mutex_unlock(&sc.mu);
    if (slot >= sc.n_replies)
        slot = sc.n_replies - 1;
    reply->body = sk_sim_chat_completion("sim-opt", sc.replies[slot], 10, 5);
    reply->body_len = strlen(reply->body);
    json_decref(body);
    return 0;
}

static const char sim_yaml[] = "model:\n  backend: sim\n  optimizer: sim-opt\n"
                               "  target: sim-target\n  optimizer_backend: "
                               "sim\n  target_backend: sim\n";

struct env {
    struct sk_config cfg;
    struct sk_llm_client *c;
};

static void env_open(struct env *e)
{
    struct sk_config_args a;
    struct sk_llm_client_opts o;
    struct sk_error err;
    char *path = tu_write(tmpdir, "cfg.yaml", sim_yaml);
    memset(&a, 0, sizeof a);
    a.path = path;
    sk_config_init(&e->cfg);
    if (sk_config_load(&a, &e->cfg, &err) != SK_OK)
        fail_msg("%s", err.msg);
    sk_free(path);
    memset(&o, 0, sizeof o);
    o.sim_responder = responder;
    if (sk_llm_client_new(&e->cfg, &o, &e->c, &err) != SK_OK)
        fail_msg("%s", err.msg);
}

static void env_close(struct env *e)
{
    sk_llm_client_free(e->c);
    sk_config_release(&e->cfg);
}

/* Items a..d and rows giving: a improved, b regressed, c persistent
 * failure, d stable success; e has no rows at all. */
static void fixture(json_t **items, json_t **prev, json_t **curr)
{
    *items = json_loads(
        "[{\"id\":\"a\",\"question\":\"qa\"},"
        "{\"id\":\"b\",\"task_description\":\"tb\"},"
        "{\"id\":\"c\",\"instruction\":\"ic\"},{\"id\":7},{\"id\":\"e\"}]",
        0, NULL);
    *prev = json_loads(
        "[{\"id\":\"a\",\"hard\":0,\"soft\":0.25,\"predicted_answer\":\"x\","
        "\"fail_reason\":\"wrong\"},"
        "{\"id\":\"b\",\"hard\":1,\"soft\":1.0,\"predicted_answer\":\"y\","
        "\"fail_reason\":\"\"},"
        "{\"id\":\"c\",\"hard\":0,\"soft\":0.0,\"answer\":\"z\"},"
        "{\"id\":7,\"hard\":true,\"soft\":1}]",
        0, NULL);
    *curr = json_loads(
        "[{\"id\":\"a\",\"hard\":1,\"soft\":1.0,\"predicted_answer\":\"X\"},"
        "{\"id\":\"b\",\"hard\":0,\"soft\":0.125,\"predicted_answer\":\"n\","
        "\"fail_reason\":\"missed\"},"
        "{\"id\":\"c\",\"hard\":0,\"soft\":0.5},"
        "{\"id\":7,\"hard\":1,\"soft\":1.0}]",
        0, NULL);
    assert_non_null(*items);
    assert_non_null(*prev);
    assert_non_null(*curr);
}

static void test_slow__pair_categories(void **state)
{
    json_t *items, *prev, *curr, *pairs = NULL;
    struct sk_pair_counts cnt;
    struct sk_error err;
    char *s;
    (void)state;
    fixture(&items, &prev, &curr);
    assert_int_equal(
        sk_pairs_build(prev, curr, items, SK_PAIR_MIXED, &pairs, &cnt, &err),
        SK_OK);
    s = json_dumps(pairs, JSON_COMPACT);
    assert_string_equal(
        s, "[{\"id\":\"a\",\"task\":\"qa\",\"category\":\"improved\","
           "\"prev\":{\"hard\":0,\"soft\":0.25,\"predicted_answer\":\"x\","
           "\"fail_reason\":\"wrong\"},\"curr\":{\"hard\":1,\"soft\":1.0,"
           "\"predicted_answer\":\"X\",\"fail_reason\":\"\"}},"
           "{\"id\":\"b\",\"task\":\"tb\",\"category\":\"regressed\","
           "\"prev\":{\"hard\":1,\"soft\":1.0,\"predicted_answer\":\"y\","
           "\"fail_reason\":\"\"},\"curr\":{\"hard\":0,\"soft\":0.125,"
           "\"predicted_answer\":\"n\",\"fail_reason\":\"missed\"}},"
           "{\"id\":\"c\",\"task\":\"ic\",\"category\":\"persistent_fail\","
           "\"prev\":{\"hard\":0,\"soft\":0.0,\"predicted_answer\":\"z\","
           "\"fail_reason\":\"\"},\"curr\":{\"hard\":0,\"soft\":0.5,"
           "\"predicted_answer\":\"N/A\",\"fail_reason\":\"\"}},"
           "{\"id\":\"7\",\"task\":\"7\",\"category\":\"stable_success\","
           "\"prev\":{\"hard\":1,\"soft\":1.0,\"predicted_answer\":\"N/A\","
           "\"fail_reason\":\"\"},\"curr\":{\"hard\":1,\"soft\":1.0,"
           "\"predicted_answer\":\"N/A\",\"fail_reason\":\"\"}},"
           "{\"id\":\"e\",\"task\":\"e\",\"category\":\"persistent_fail\","
           "\"prev\":{\"hard\":0,\"soft\":0.0,\"predicted_answer\":\"N/A\","
           "\"fail_reason\":\"\"},\"curr\":{\"hard\":0,\"soft\":0.0,"
           "\"predicted_answer\":\"N/A\",\"fail_reason\":\"\"}}]");
    sk_free(s);
    assert_int_equal(cnt.improved, 1);
    assert_int_equal(cnt.regressed, 1);
    assert_int_equal(cnt.persistent_fail, 2);
    assert_int_equal(cnt.stable_success, 1);
    json_decref(pairs);
    json_decref(items);
    json_decref(prev);
    json_decref(curr);
}

static void test_slow__pair_policies(void **state)
{
    static const struct {
        const char *name;
        const char *ids; /* kept ids, concatenated */
    } cases[] = {
        {"mixed", "abc7e"},   {"default", "abc7e"}, {"random", "abc7e"},
        {"all", "abc7e"},     {"changed", "ab"},    {"change", "ab"},
        {"delta", "ab"},      {"10_01", "ab"},      {"01_10", "ab"},
        {"unchanged", "c7e"}, {"stable", "c7e"},    {"same", "c7e"},
        {"00_11", "c7e"},
    };
    json_t *items, *prev, *curr, *pairs, *p;
    struct sk_pair_counts cnt;
    enum sk_pair_policy pol;
    struct sk_error err;
    char ids[16];
    size_t i, j;
    (void)state;
    fixture(&items, &prev, &curr);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(sk_longitudinal_pair_policy_parse(cases[i].name, &pol),
                         SK_OK);
        assert_int_equal(
            sk_pairs_build(prev, curr, items, pol, &pairs, &cnt, &err), SK_OK);
        ids[0] = '\0';
        json_array_foreach(pairs, j, p)
        {
            size_t l = strlen(ids);
            snprintf(ids + l, sizeof ids - l, "%s",
                     json_string_value(json_object_get(p, "id")));
        }
        assert_string_equal(ids, cases[i].ids);
        /* counts are taken before filtering */
        assert_int_equal(cnt.persistent_fail, 2);
        json_decref(pairs);
    }
    assert_int_equal(sk_longitudinal_pair_policy_parse("bogus", &pol),
                     SK_ECONFIG);
    assert_int_equal(sk_pairs_build(prev, curr, items, (enum sk_pair_policy)9,
                                    &pairs, NULL, &err),
                     SK_EINVAL);
    assert_null(pairs);
    json_decref(items);
    json_decref(prev);
    json_decref(curr);
}

static void test_slow__sample_items(void **state)
{
    static const int want[4] = {6, 7, 5, 3};
    json_t *items = json_array(), *s1 = NULL, *s2 = NULL;
    size_t i;
    (void)state;
    for (i = 0; i < 10; i++)
        json_array_append_new(items, json_pack("{s:i}", "id", (int)i));
    assert_int_equal(sk_slow_sample_items(items, 4, 42, 2, &s1), SK_OK);
    assert_int_equal(json_array_size(s1), 4);
    /* Python: r = list(range(10)); random.Random(4042).shuffle(r); r[:4] */
    for (i = 0; i < 4; i++)
        assert_int_equal(
            json_integer_value(json_object_get(json_array_get(s1, i), "id")),
            want[i]);
    assert_int_equal(sk_slow_sample_items(items, 50, 42, 2, &s2), SK_OK);
    assert_int_equal(json_array_size(s2), 10);
    for (i = 0; i < 4; i++)
        assert_ptr_equal(json_array_get(s1, i), json_array_get(s2, i));
    json_decref(s1);
    json_decref(s2);
    json_decref(items);
}

static const char golden_render[] =
    "### Summary\n"
    "Compared items: 3\n"
    "- Regressed (pass -> fail): 1\n"
    "- Persistent failures (fail -> fail): 0\n"
    "- Improved (fail -> pass): 1\n"
    "- Stable successes (pass -> pass): 1\n"
    "\n"
    "### Regressed (pass -> fail) - HIGHEST PRIORITY\n"
    "\n"
    "#### Item b\n"
    "Task: tb\n"
    "- Previous skill: PASS (soft 1.00), answer: y\n"
    "- Current skill: FAIL (soft 0.12), answer: n\n"
    "- Current fail reason: missed\n"
    "\n"
    "Previous skill trajectory:\n"
    "```\n"
    "[assistant] old reply\n"
    "[verification] ok\n"
    "```\n"
    "\n"
    "Current skill trajectory:\n"
    "```\n"
    "[assistant] new reply\n"
    "[verification] wrong answer\n"
    "```\n"
    "\n"
    "### Persistent failures (fail -> fail)\n"
    "(none)\n"
    "\n"
    "### Improved (fail -> pass)\n"
    "\n"
    "#### Item a\n"
    "Task: qa\n"
    "- Previous skill: FAIL (soft 0.25), answer: x\n"
    "- Current skill: PASS (soft 1.00), answer: X\n"
    "- Previous fail reason: wrong\n"
    "\n"
    "### Stable successes (pass -> pass)\n"
    "\n"
    "#### Item 7\n"
    "Task: 7\n"
    "- Previous skill: PASS (soft 1.00), answer: N/A\n"
    "- Current skill: PASS (soft 1.00), answer: N/A\n";

static void test_slow__render_golden(void **state)
{
    json_t *items, *prev, *curr, *pairs;
    struct sk_buf out;
    struct sk_error err;
    char *pd, *cd, *f;
    (void)state;
    fixture(&items, &prev, &curr);
    json_array_remove(items, 4); /* e */
    json_array_remove(items, 2); /* c */
    assert_int_equal(
        sk_pairs_build(prev, curr, items, SK_PAIR_MIXED, &pairs, NULL, &err),
        SK_OK);
    f = tu_write(tmpdir, "prev/predictions/b/conversation.json",
                 "[{\"role\":\"assistant\",\"turn\":1,\"content\":\"old "
                 "reply\"},{\"role\":\"system\",\"content\":\"ok\"}]");
    sk_free(f);
    f = tu_write(tmpdir, "curr/predictions/b/conversation.json",
                 "[{\"role\":\"assistant\",\"turn\":1,\"content\":\"new "
                 "reply\"},{\"role\":\"system\",\"content\":\"wrong "
                 "answer\"}]");
    sk_free(f);
    /* a has an empty conversation: no fence; 7 has one, but stable
     * successes show no trajectories */
    f = tu_write(tmpdir, "curr/predictions/a/conversation.json", "[]");
    sk_free(f);
    f = tu_write(tmpdir, "curr/predictions/7/conversation.json",
                 "[{\"role\":\"assistant\",\"content\":\"hidden\"}]");
    sk_free(f);
    pd = tu_write(tmpdir, "prev/predictions/.keep", "");
    cd = tu_write(tmpdir, "curr/predictions/.keep", "");
    pd[strlen(pd) - 6] = '\0';
    cd[strlen(cd) - 6] = '\0';
    sk_buf_init(&out, SK_BUF_UNLIMITED);
    assert_int_equal(sk_pairs_render(pairs, pd, cd, &out), SK_OK);
    assert_string_equal(out.data, golden_render);
    sk_buf_release(&out);
    sk_free(pd);
    sk_free(cd);
    json_decref(pairs);
    json_decref(items);
    json_decref(prev);
    json_decref(curr);
}

struct sweep_ctx {
    const json_t *items, *prev, *curr;
    const char *pd, *cd;
};

static int sweep_body(void *vctx)
{
    struct sweep_ctx *c = vctx;
    json_t *pairs = NULL;
    struct sk_buf out;
    struct sk_error err;
    int rc = sk_pairs_build(c->prev, c->curr, c->items, SK_PAIR_MIXED, &pairs,
                            NULL, &err);
    sk_buf_init(&out, SK_BUF_UNLIMITED);
    if (rc == SK_OK)
        rc = sk_pairs_render(pairs, c->pd, c->cd, &out);
    if (rc == SK_OK && strcmp(out.data, golden_render) != 0)
        fail_msg("render differs under the sweep");
    sk_buf_release(&out);
    json_decref(pairs);
    return rc;
}

static void test_slow__alloc_failures(void **state)
{
    struct sweep_ctx c;
    json_t *items, *prev, *curr;
    char *pd, *cd, *f;
    (void)state;
    fixture(&items, &prev, &curr);
    json_array_remove(items, 4);
    json_array_remove(items, 2);
    f = tu_write(tmpdir, "prev/predictions/b/conversation.json",
                 "[{\"role\":\"assistant\",\"content\":\"old "
                 "reply\"},{\"role\":\"system\",\"content\":\"ok\"}]");
    sk_free(f);
    f = tu_write(tmpdir, "curr/predictions/b/conversation.json",
                 "[{\"role\":\"assistant\",\"content\":\"new "
                 "reply\"},{\"role\":\"system\",\"content\":\"wrong "
                 "answer\"}]");
    sk_free(f);
    pd = sk_fs_join(tmpdir, "prev/predictions");
    cd = sk_fs_join(tmpdir, "curr/predictions");
    c.items = items;
    c.prev = prev;
    c.curr = curr;
    c.pd = pd;
    c.cd = cd;
    assert_true(tu_alloc_sweep(sweep_body, &c) > 10);
    sk_free(pd);
    sk_free(cd);
    json_decref(items);
    json_decref(prev);
    json_decref(curr);
}

static void test_slow__empty_render(void **state)
{
    json_t *pairs = json_array();
    struct sk_buf out;
    (void)state;
    sk_buf_init(&out, SK_BUF_UNLIMITED);
    assert_int_equal(sk_pairs_render(pairs, NULL, NULL, &out), SK_OK);
    assert_non_null(strstr(out.data, "Compared items: 0\n"));
    assert_non_null(strstr(out.data, "(pass -> pass)\n(none)\n"));
    sk_buf_release(&out);
    json_decref(pairs);
}

static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;
    const char *p = hay;
    while ((p = strstr(p, needle)) != NULL) {
        n++;
        p += strlen(needle);
    }
    return n;
}

static void test_slow__update_replaces_block(void **state)
{
    static const char skill[] = "# Skill\nrule one\n\n" SK_SLOW_UPDATE_START
                                "\nold guidance\n" SK_SLOW_UPDATE_END "\n";
    struct env e;
    struct sk_error err;
    char *content = NULL, *out = NULL, *inner = NULL;
    json_t *rec = NULL;
    size_t out_len;
    (void)state;
    sc.replies[0] = "not json at all";
    sc.replies[1] = "{\"reasoning\":\" why \",\"slow_update_content\":"
                    "\"\\n- Check units.\\n\"}";
    sc.n_replies = 2;
    env_open(&e);
    assert_int_equal(sk_slow_update_call(e.c, "# Old skill\n", skill,
                                         "COMPARISON\n", 3, NULL, &content,
                                         &rec, &err),
                     SK_OK);
    assert_int_equal(sc.n, 2); /* one format retry */
    assert_string_equal(content, "- Check units.");
    assert_string_equal(json_string_value(json_object_get(rec, "reasoning")),
                        "why");
    assert_string_equal(
        json_string_value(json_object_get(rec, "slow_update_content")),
        "- Check units.");
    assert_null(json_object_get(rec, "action"));
    assert_true(json_is_real(json_object_get(rec, "time_s")));
    /* the user message: both skills, the current guidance, the real count */
    assert_non_null(strstr(sc.last_user, "# Old skill"));
    assert_non_null(strstr(sc.last_user, "rule one"));
    assert_non_null(strstr(sc.last_user, "\n\nold guidance\n\n"));
    assert_non_null(strstr(sc.last_user, "same 3 training items"));
    assert_null(strstr(sc.last_user, "20"));
    assert_non_null(strstr(sc.last_user, "COMPARISON\n"));
    assert_int_equal(sk_skill_replace_slow_update(skill, strlen(skill), content,
                                                  strlen(content), &out,
                                                  &out_len),
                     SK_OK);
    assert_int_equal(count_of(out, SK_SLOW_UPDATE_START), 1);
    assert_int_equal(count_of(out, SK_SLOW_UPDATE_END), 1);
    assert_null(strstr(out, "old guidance"));
    assert_int_equal(sk_skill_slow_update_content(out, out_len, &inner), SK_OK);
    assert_string_equal(inner, "- Check units.");
    sk_free(inner);
    sk_free(out);
    sk_free(content);
    json_decref(rec);
    env_close(&e);
}

static void test_slow__first_update_placeholder(void **state)
{
    struct env e;
    struct sk_error err;
    char *content = NULL;
    json_t *rec = NULL;
    (void)state;
    sc.replies[0] = "{\"reasoning\":\"r\",\"slow_update_content\":\"   \"}";
    sc.n_replies = 1;
    env_open(&e);
    assert_int_equal(
        sk_slow_update_call(e.c, "A", "B", "C", 1, NULL, &content, &rec, &err),
        SK_OK);
    assert_int_equal(sc.n, 1); /* a usable but empty reply: no retry */
    assert_null(content);
    assert_string_equal(json_string_value(json_object_get(rec, "action")),
                        "no_content");
    assert_non_null(strstr(sc.last_user, "first slow update"));
    assert_non_null(strstr(sc.last_user, "same 1 training item under"));
    json_decref(rec);
    env_close(&e);
}

static void test_slow__no_content_when_unusable(void **state)
{
    struct env e;
    struct sk_error err;
    char *content = NULL;
    json_t *rec = NULL;
    (void)state;
    sc.replies[0] = "";
    sc.n_replies = 1;
    env_open(&e);
    assert_int_equal(
        sk_slow_update_call(e.c, "A", "B", "C", 2, NULL, &content, &rec, &err),
        SK_OK);
    assert_int_equal(sc.n, 2); /* unusable: one format retry */
    assert_null(content);
    assert_string_equal(json_string_value(json_object_get(rec, "action")),
                        "no_content");
    json_decref(rec);
    env_close(&e);
}

static void test_slow__meta_skill_call(void **state)
{
    struct env e;
    struct sk_error err;
    char *content = NULL;
    json_t *rec = NULL;
    (void)state;
    sc.replies[0] = "{\"reasoning\":\"ev\",\"meta_skill_content\":"
                    "\"- Prefer small edits.\"}";
    sc.n_replies = 1;
    env_open(&e);
    assert_int_equal(sk_meta_skill_call(e.c, "A", "B", NULL, "CMP", 5, NULL,
                                        &content, &rec, &err),
                     SK_OK);
    assert_string_equal(content, "- Prefer small edits.");
    assert_string_equal(json_string_value(json_object_get(rec, "action")),
                        "write_meta_skill");
    assert_non_null(strstr(sc.last_user, "first meta skill"));
    assert_non_null(strstr(sc.last_user, "same 5 training items"));
    sk_free(content);
    json_decref(rec);
    sc.replies[0] = "{\"reasoning\":\"ev\",\"meta_skill_content\":\"\"}";
    assert_int_equal(sk_meta_skill_call(e.c, "A", "B", "- old meta", "CMP", 5,
                                        NULL, &content, &rec, &err),
                     SK_OK);
    assert_null(content);
    assert_string_equal(json_string_value(json_object_get(rec, "action")),
                        "no_content");
    assert_non_null(strstr(sc.last_user, "## Previous Meta Skill\n- old meta"));
    json_decref(rec);
    env_close(&e);
}

static void test_slow__meta_block(void **state)
{
    struct sk_buf b;
    (void)state;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    assert_int_equal(sk_meta_block("  \n", &b), SK_OK);
    assert_int_equal(b.len, 0);
    assert_int_equal(sk_meta_block(NULL, &b), SK_OK);
    assert_int_equal(b.len, 0);
    assert_int_equal(sk_meta_block("\n- Keep edits small.\n\n", &b), SK_OK);
    assert_string_equal(b.data,
                        "## Optimizer Meta Skill\n"
                        "Advice distilled from earlier epochs of this run. "
                        "Follow it when the evidence in front of you is "
                        "ambiguous; do not let it override clear evidence.\n"
                        "\n- Keep edits small.\n");
    sk_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slow__pair_categories),
        cmocka_unit_test(test_slow__pair_policies),
        cmocka_unit_test(test_slow__sample_items),
        cmocka_unit_test_setup_teardown(test_slow__render_golden, setup,
                                        teardown),
        cmocka_unit_test(test_slow__empty_render),
        cmocka_unit_test_setup_teardown(test_slow__alloc_failures, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_slow__update_replaces_block, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_slow__first_update_placeholder,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow__no_content_when_unusable,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow__meta_skill_call, setup,
                                        teardown),
        cmocka_unit_test(test_slow__meta_block),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
