/*
 * test_topup.c - the "changed" pair policy's top-up (train/topup) through
 * the real client and the in-process simulator: a scripted target whose
 * pass/fail per item and skill is set by each test, and the demo target.
 * The expected candidate order comes from CPython (tests/fixtures/topup).
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

#include "bench/demo.h"
#include "bench/demo_sim.h"
#include "config/config.h"
#include "llm/client.h"
#include "llm/sim.h"
#include "testutil.h"
#include "train/bench.h"
#include "train/rollout.h"
#include "train/schedule.h"
#include "train/slow.h"
#include "train/topup.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"

#define PREV_SKILL "SKILL-PREV: answer carefully."
#define CURR_SKILL "SKILL-CURR: answer carefully."
#define SEED 4042 /* 42 + 2000 * epoch 2 */

static const char sim_yaml[] =
    "model:\n  backend: sim\n  optimizer_backend: sim\n"
    "  target_backend: sim\n  target: sim-target\n";

/*
 * The scripted target.  outcome maps an id to "PC" digits (prev passes,
 * curr passes; absent: "00"); asked records "P:<id>" / "C:<id>" per
 * request in arrival order; requests from fail_from on get a 500.
 */
static struct {
    pthread_mutex_t mu;
    json_t *golds;   /* id -> gold answer */
    json_t *outcome; /* id -> "01" | "10" | "11" | "00" */
    json_t *asked;
    size_t n;
    size_t fail_from;         /* 0: never fail */
    struct sk_demo_sim *demo; /* forward answers to the demo target */
} sc;

struct env {
    char *dir; /* temporary root */
    char *run; /* <dir>/epoch: the "dir" argument */
    json_t *items;
    struct sk_config cfg;
    struct sk_llm_client *c;
};

static json_t *load_train(void)
{
    char *p = tu_source_path("data/demo/train/items.json");
    json_t *all = json_load_file(p, 0, NULL);
    sk_free(p);
    assert_non_null(all);
    assert_int_equal(json_array_size(all), 80);
    return all;
}

/* The fixture's candidate order (all train ids) for seed. */
static json_t *order_for(int seed)
{
    char *p = tu_source_path("tests/fixtures/topup/order.json");
    json_t *all = json_load_file(p, 0, NULL), *o;
    char key[32];
    sk_free(p);
    assert_non_null(all);
    snprintf(key, sizeof key, "%d", seed);
    o = json_incref(json_object_get(all, key));
    json_decref(all);
    assert_int_equal(json_array_size(o), 80);
    return o;
}

static const char *order_at(const json_t *o, size_t i)
{
    return json_string_value(json_array_get(o, i));
}

static int scripted(void *ud, const struct sk_sim_request *req,
                    struct sk_sim_reply *reply)
{
    json_t *body = json_loadb(req->body, req->body_len, 0, NULL), *m;
    const char *sys = "", *user = "", *gold, *out, *p;
    char id[128], text[256];
    size_t i, n = 0, slot;
    int curr, pass, fail;
    (void)ud;
    json_array_foreach(json_object_get(body, "messages"), i, m)
    {
        const char *role = json_string_value(json_object_get(m, "role"));
        const char *content = json_string_value(json_object_get(m, "content"));
        if (role && content && strcmp(role, "system") == 0)
            sys = content;
        if (role && content && strcmp(role, "user") == 0)
            user = content;
    }
    p = strstr(user, "Task id: ");
    if (p) {
        p += 9;
        while (p[n] && p[n] != '\n' && n + 1 < sizeof id)
            n++;
    }
    memcpy(id, p ? p : "", n);
    id[n] = '\0';
    curr = strstr(sys, "SKILL-CURR") != NULL;
    pthread_mutex_lock(&sc.mu);
    slot = ++sc.n;
    snprintf(text, sizeof text, "%c:%s", curr ? 'C' : 'P', id);
    json_array_append_new(sc.asked, json_string(text));
    fail = sc.fail_from && slot >= sc.fail_from;
    out = json_string_value(json_object_get(sc.outcome, id));
    gold = json_string_value(json_object_get(sc.golds, id));
    pthread_mutex_unlock(&sc.mu);
    if (fail || !gold) {
        json_decref(body);
        return 1;
    }
    if (sc.demo) {
        json_decref(body);
        return sk_demo_sim_respond(sc.demo, req, reply);
    }
    pass = out && out[curr] == '1';
    snprintf(text, sizeof text, "Working.\n<answer>%s</answer>",
             pass ? gold : "wrong");
    json_decref(body);
    reply->body = sk_sim_chat_completion("sim-target", text, 10, 10);
    reply->body_len = reply->body ? strlen(reply->body) : 0;
    return reply->body ? 0 : 1;
}

static int setup(void **state)
{
    json_t *v;
    size_t i;
    (void)state;
    memset(&sc, 0, sizeof sc);
    pthread_mutex_init(&sc.mu, NULL);
    sc.golds = json_object();
    sc.outcome = json_object();
    sc.asked = json_array();
    v = load_train();
    for (i = 0; i < json_array_size(v); i++) {
        json_t *it = json_array_get(v, i);
        json_object_set(sc.golds, json_string_value(json_object_get(it, "id")),
                        json_array_get(json_object_get(it, "answers"), 0));
    }
    json_decref(v);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    json_decref(sc.golds);
    json_decref(sc.outcome);
    json_decref(sc.asked);
    pthread_mutex_destroy(&sc.mu);
    return 0;
}

static void env_open(struct env *e, const char *const *opts, size_t n)
{
    struct sk_config_args a;
    struct sk_llm_client_opts o;
    struct sk_error err;
    char *cfgp;

    e->dir = tu_mkdtemp();
    e->run = sk_fs_join(e->dir, "epoch");
    e->items = load_train();
    cfgp = tu_write(e->dir, "c.yaml", sim_yaml);
    memset(&a, 0, sizeof a);
    a.path = cfgp;
    a.cfg_options = opts;
    a.n_cfg_options = n;
    sk_config_init(&e->cfg);
    if (sk_config_load(&a, &e->cfg, &err) != SK_OK)
        fail_msg("%s", err.msg);
    memset(&o, 0, sizeof o);
    o.sim_responder = scripted;
    if (sk_llm_client_new(&e->cfg, &o, &e->c, &err) != SK_OK)
        fail_msg("%s", err.msg);
    sk_free(cfgp);
}

static void env_close(struct env *e)
{
    sk_llm_client_free(e->c);
    sk_config_release(&e->cfg);
    json_decref(e->items);
    tu_rmtree(e->dir);
    sk_free(e->run);
    sk_free(e->dir);
}

static size_t n_requests(void)
{
    size_t n;
    pthread_mutex_lock(&sc.mu);
    n = sc.n;
    pthread_mutex_unlock(&sc.mu);
    return n;
}

static void set_outcome(const char *id, const char *pc)
{
    json_object_set_new(sc.outcome, id, json_string(pc));
}

/* A stand-in for a sampled item's pair (the top-up only counts them). */
static json_t *fake_pairs(size_t n)
{
    json_t *a = json_array();
    size_t i;
    for (i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "sampled-%zu", i);
        json_array_append_new(
            a, json_pack("{s:s, s:s}", "id", id, "category", "improved"));
    }
    return a;
}

struct call {
    json_t *pairs;
    json_t *all; /* NULL: sk_pairs_topup */
    json_t *compared;
    size_t n;
    int seed;
    char *prev_pred, *curr_pred;
    size_t rollouts;
    struct sk_error err;
};

static int topup(struct env *e, struct call *k)
{
    memset(&k->err, 0, sizeof k->err);
    if (k->all)
        return sk_pairs_topup_all(
            e->c, sk_bench_find("demo"), PREV_SKILL, CURR_SKILL, e->items,
            k->compared, k->n, k->seed, e->run, NULL, 256, k->pairs, k->all,
            &k->prev_pred, &k->curr_pred, &k->rollouts, &k->err);
    return sk_pairs_topup(e->c, sk_bench_find("demo"), PREV_SKILL, CURR_SKILL,
                          e->items, k->compared, k->n, k->seed, e->run, NULL,
                          256, k->pairs, &k->prev_pred, &k->curr_pred,
                          &k->rollouts, &k->err);
}

static void call_release(struct call *k)
{
    json_decref(k->pairs);
    json_decref(k->all);
    json_decref(k->compared);
    sk_free(k->prev_pred);
    sk_free(k->curr_pred);
}

/* <run>/<side>/<sub...>/<d(id)>[/name] as a new string. */
static char *side_path(struct env *e, const char *side, const char *sub,
                       const char *id, const char *name)
{
    struct sk_buf b;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    assert_int_equal(sk_buf_printf(&b, "%s/%s/%s/", e->run, side, sub), SK_OK);
    assert_int_equal(sk_rollout_pred_dir(id, &b), SK_OK);
    if (name)
        assert_int_equal(sk_buf_printf(&b, "/%s", name), SK_OK);
    return sk_buf_detach(&b, NULL);
}

static void assert_pair(const json_t *p, const char *id, const char *cat)
{
    assert_string_equal(json_string_value(json_object_get(p, "id")), id);
    assert_string_equal(json_string_value(json_object_get(p, "category")), cat);
}

static void assert_asked(size_t from, const char *const *want, size_t n)
{
    size_t i;
    assert_int_equal(json_array_size(sc.asked) - from, n);
    for (i = 0; i < n; i++)
        assert_string_equal(
            json_string_value(json_array_get(sc.asked, from + i)), want[i]);
}

static void test_topup__already_full(void **state)
{
    struct env e;
    struct call k;
    char *want;
    (void)state;
    env_open(&e, NULL, 0);
    memset(&k, 0, sizeof k);
    k.pairs = fake_pairs(3);
    k.n = 3;
    k.seed = SEED;
    assert_int_equal(topup(&e, &k), SK_OK);
    assert_int_equal(n_requests(), 0);
    assert_int_equal(k.rollouts, 0);
    assert_int_equal(json_array_size(k.pairs), 3);
    want = sk_fs_join(e.run, "rollout_prev/predictions");
    assert_string_equal(k.prev_pred, want);
    sk_free(want);
    want = sk_fs_join(e.run, "rollout_curr/predictions");
    assert_string_equal(k.curr_pred, want);
    sk_free(want);
    sk_free(k.prev_pred);
    sk_free(k.curr_pred);
    k.prev_pred = k.curr_pred = NULL;

    /* more than n: cut to the first n, like the reference's [:N] */
    k.n = 2;
    assert_int_equal(topup(&e, &k), SK_OK);
    assert_int_equal(n_requests(), 0);
    assert_int_equal(json_array_size(k.pairs), 2);
    assert_pair(json_array_get(k.pairs, 1), "sampled-1", "improved");
    assert_false(sk_fs_exists(e.run));
    call_release(&k);
    env_close(&e);
}

/*
 * The trainer's case: the sampled items are the first N of the same
 * shuffle, rolled out for real; the top-up walks on from item N, keeps
 * improved/regressed pairs and stops at N.  The returned directories
 * render the trajectories of sampled and top-up pairs alike.
 */
static void test_topup__finds_changed_and_stops(void **state)
{
    struct env e;
    struct call k;
    struct sk_error err;
    struct sk_buf text;
    json_t *order = order_for(SEED), *sample, *rows[2], *ids;
    const char *skills[2] = {PREV_SKILL, CURR_SKILL};
    const char *sides[2] = {"rollout_prev", "rollout_curr"};
    char buf[14][64], *p, *conv;
    const char *wantp[14];
    size_t i, j, from;
    (void)state;
    env_open(&e, NULL, 0);
    memset(&k, 0, sizeof k);
    set_outcome(order_at(order, 1), "01");  /* sampled: improved */
    set_outcome(order_at(order, 2), "11");  /* sampled: stable */
    set_outcome(order_at(order, 5), "10");  /* regressed */
    set_outcome(order_at(order, 6), "11");  /* stable: rolled, not kept */
    set_outcome(order_at(order, 8), "01");  /* improved */
    set_outcome(order_at(order, 10), "01"); /* improved: the 4th pair */
    set_outcome(order_at(order, 12), "10"); /* never reached */

    /* the sample: first 4 of Random(42 + 2000*2) */
    assert_int_equal(sk_slow_sample_items(e.items, 4, 42, 2, &sample), SK_OK);
    ids = json_array();
    for (i = 0; i < 4; i++) {
        const char *id =
            json_string_value(json_object_get(json_array_get(sample, i), "id"));
        assert_string_equal(id, order_at(order, i));
        json_array_append_new(ids, json_string(id));
    }
    for (j = 0; j < 2; j++) {
        char *out = sk_fs_join(e.run, sides[j]);
        assert_int_equal(sk_rollout_run(e.c, sk_bench_find("demo"), skills[j],
                                        sample, out, NULL, 256, &rows[j], NULL,
                                        &err),
                         SK_OK);
        sk_free(out);
    }
    assert_int_equal(sk_pairs_build(rows[0], rows[1], sample, SK_PAIR_CHANGED,
                                    &k.pairs, NULL, &err),
                     SK_OK);
    assert_int_equal(json_array_size(k.pairs), 1);
    from = n_requests();
    assert_int_equal(from, 8);

    k.compared = ids;
    k.all = json_array();
    k.n = 4;
    k.seed = SEED;
    assert_int_equal(topup(&e, &k), SK_OK);
    /* candidates 4..10, prev then curr each */
    for (i = 4, j = 0; i <= 10; i++) {
        snprintf(buf[j], sizeof buf[j], "P:%s", order_at(order, i));
        wantp[j] = buf[j];
        j++;
        snprintf(buf[j], sizeof buf[j], "C:%s", order_at(order, i));
        wantp[j] = buf[j];
        j++;
    }
    assert_asked(from, wantp, 14);
    assert_int_equal(k.rollouts, 14);
    assert_int_equal(json_array_size(k.pairs), 4);
    assert_pair(json_array_get(k.pairs, 0), order_at(order, 1), "improved");
    assert_pair(json_array_get(k.pairs, 1), order_at(order, 5), "regressed");
    assert_pair(json_array_get(k.pairs, 2), order_at(order, 8), "improved");
    assert_pair(json_array_get(k.pairs, 3), order_at(order, 10), "improved");
    /* every top-up item's pair, kept or not, in rollout order */
    assert_int_equal(json_array_size(k.all), 7);
    assert_pair(json_array_get(k.all, 0), order_at(order, 4),
                "persistent_fail");
    assert_pair(json_array_get(k.all, 2), order_at(order, 6), "stable_success");
    assert_pair(json_array_get(k.all, 6), order_at(order, 10), "improved");
    /* a kept pair is shaped as sk_pairs_build makes it */
    {
        json_t *pp = json_array_get(k.pairs, 1);
        assert_int_equal(json_integer_value(json_object_get(
                             json_object_get(pp, "prev"), "hard")),
                         1);
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(pp, "curr"),
                                              "predicted_answer")),
            "wrong");
        assert_non_null(json_object_get(pp, "task"));
    }

    /* layout: <run>/rollout_<side>/topup/<d>/results.jsonl per candidate;
     * kept items copied beside the sampled ones in predictions/ */
    for (j = 0; j < 2; j++) {
        for (i = 4; i <= 10; i++) {
            p = side_path(&e, sides[j], "topup", order_at(order, i),
                          SK_ROLLOUT_RESULTS);
            assert_true(sk_fs_exists(p));
            sk_free(p);
        }
        p = side_path(&e, sides[j], "topup", order_at(order, 12), NULL);
        assert_false(sk_fs_exists(p));
        sk_free(p);
        p = side_path(&e, sides[j], "predictions", order_at(order, 8),
                      "conversation.json");
        conv = tu_read(p, NULL);
        assert_non_null(conv);
        assert_non_null(strstr(conv, j == 0 ? "wrong" : "<answer>"));
        sk_free(conv);
        sk_free(p);
        p = side_path(&e, sides[j], "predictions", order_at(order, 8),
                      "target_system_prompt.txt");
        conv = tu_read(p, NULL);
        assert_non_null(conv);
        assert_non_null(strstr(conv, skills[j]));
        sk_free(conv);
        sk_free(p);
        /* not kept: not copied */
        p = side_path(&e, sides[j], "predictions", order_at(order, 6), NULL);
        assert_false(sk_fs_exists(p));
        sk_free(p);
    }

    /* one directory per side renders every pair's trajectories */
    sk_buf_init(&text, SK_BUF_UNLIMITED);
    assert_int_equal(sk_pairs_render(k.pairs, k.prev_pred, k.curr_pred, &text),
                     SK_OK);
    for (i = 0; i < 4; i++) {
        const char *id = json_string_value(
            json_object_get(json_array_get(k.pairs, i), "id"));
        char head[96];
        const char *at, *next;
        snprintf(head, sizeof head, "#### Item %s\n", id);
        at = strstr(text.data, head);
        assert_non_null(at);
        next = strstr(at + 1, "#### Item ");
        p = strstr(at, "Previous skill trajectory:\n```\n[assistant]");
        assert_non_null(p);
        assert_true(!next || p < next);
        p = strstr(at, "Current skill trajectory:\n```\n[assistant]");
        assert_non_null(p);
        assert_true(!next || p < next);
    }
    sk_buf_release(&text);

    json_decref(rows[0]);
    json_decref(rows[1]);
    json_decref(sample);
    json_decref(order);
    call_release(&k);
    env_close(&e);
}

/*
 * Nothing changes: every candidate is rolled out in the fixture's order
 * with the compared ids (wherever they sit) left out, and the top-up ends
 * short of n without an error.
 */
static void test_topup__order_skip_exhaust(void **state)
{
    static const int seeds[2] = {SEED, 7};
    struct env e;
    size_t s;
    (void)state;
    for (s = 0; s < 2; s++) {
        struct call k;
        json_t *order = order_for(seeds[s]);
        const char *skip[3];
        char buf[160][64];
        const char *wantp[160];
        size_t i, j, m, from;
        env_open(&e, NULL, 0);
        memset(&k, 0, sizeof k);
        skip[0] = order_at(order, 0);
        skip[1] = order_at(order, 37);
        skip[2] = order_at(order, 79);
        k.compared = json_pack("[s, s, s, s]", skip[1], skip[2], skip[0],
                               "not-a-train-id");
        k.pairs = fake_pairs(2);
        k.n = 10;
        k.seed = seeds[s];
        from = n_requests();
        assert_int_equal(topup(&e, &k), SK_OK);
        for (i = 0, j = 0; i < 80; i++) {
            const char *id = order_at(order, i);
            for (m = 0; m < 3 && strcmp(id, skip[m]) != 0; m++)
                ;
            if (m < 3)
                continue;
            snprintf(buf[j], 64, "P:%s", id);
            wantp[j] = buf[j];
            j++;
            snprintf(buf[j], 64, "C:%s", id);
            wantp[j] = buf[j];
            j++;
        }
        assert_int_equal(j, 154);
        assert_asked(from, wantp, j);
        assert_int_equal(k.rollouts, 154);
        assert_int_equal(json_array_size(k.pairs), 2);
        assert_non_null(k.prev_pred);
        json_decref(order);
        call_release(&k);
        env_close(&e);
    }
}

/*
 * A provider that fails every call: the first rollout's status comes back,
 * nothing is appended or returned, nothing leaks.
 */
static void test_topup__provider_failure(void **state)
{
    static const char *const opts[] = {"llm.retries=1"};
    struct env e;
    struct call k;
    int rc;
    (void)state;
    env_open(&e, opts, 1);
    memset(&k, 0, sizeof k);
    sc.fail_from = 1;
    k.pairs = fake_pairs(1);
    k.all = json_pack("[{s:s}]", "id", "x");
    k.n = 3;
    k.seed = SEED;
    rc = topup(&e, &k);
    assert_true(rc <= SK_LLM_EPROVIDER);
    assert_true(k.err.msg[0] != '\0');
    assert_int_equal(k.rollouts, 1);
    assert_int_equal(json_array_size(k.pairs), 1);
    assert_int_equal(json_array_size(k.all), 1);
    assert_null(k.prev_pred);
    assert_null(k.curr_pred);
    assert_int_equal(json_array_size(sc.asked), 1);
    call_release(&k);
    env_close(&e);
}

/*
 * A failure after a pair was found rolls pairs back; the rerun takes the
 * finished rollouts from results.jsonl and asks only the rest.  A third
 * run with everything on disk asks nothing and returns the same pairs.
 */
static void test_topup__fail_midway_then_resume(void **state)
{
    static const char *const opts[] = {"llm.retries=1"};
    struct env e;
    struct call k, k2, k3;
    json_t *order = order_for(SEED);
    int rc;
    size_t from;
    (void)state;
    env_open(&e, opts, 1);
    set_outcome(order_at(order, 1), "01");
    set_outcome(order_at(order, 3), "10");
    /* requests 1-5 answer (items 0, 1, 2 prev): item 2's curr fails */
    sc.fail_from = 6;
    memset(&k, 0, sizeof k);
    k.pairs = json_array();
    k.n = 2;
    k.seed = SEED;
    rc = topup(&e, &k);
    assert_true(rc <= SK_LLM_EPROVIDER);
    assert_int_equal(json_array_size(k.pairs), 0);
    assert_int_equal(k.rollouts, 6);
    assert_null(k.prev_pred);

    /* rerun: items 0, 1 and item 2's prev side come from disk */
    sc.fail_from = 0;
    from = n_requests();
    memset(&k2, 0, sizeof k2);
    k2.pairs = json_array();
    k2.n = 2;
    k2.seed = SEED;
    assert_int_equal(topup(&e, &k2), SK_OK);
    {
        char b[3][64];
        const char *w[3] = {b[0], b[1], b[2]};
        snprintf(b[0], 64, "C:%s", order_at(order, 2));
        snprintf(b[1], 64, "P:%s", order_at(order, 3));
        snprintf(b[2], 64, "C:%s", order_at(order, 3));
        assert_asked(from, w, 3);
    }
    assert_int_equal(k2.rollouts, 8);
    assert_int_equal(json_array_size(k2.pairs), 2);
    assert_pair(json_array_get(k2.pairs, 0), order_at(order, 1), "improved");
    assert_pair(json_array_get(k2.pairs, 1), order_at(order, 3), "regressed");

    /* resumed with every directory in place: no request at all */
    from = n_requests();
    memset(&k3, 0, sizeof k3);
    k3.pairs = json_array();
    k3.n = 2;
    k3.seed = SEED;
    assert_int_equal(topup(&e, &k3), SK_OK);
    assert_int_equal(n_requests(), from);
    assert_int_equal(k3.rollouts, 8);
    assert_true(json_equal(k2.pairs, k3.pairs));
    assert_string_equal(k2.prev_pred, k3.prev_pred);

    json_decref(order);
    call_release(&k);
    call_release(&k2);
    call_release(&k3);
    env_close(&e);
}

/*
 * The demo target: the previous skill knows no rule, the current one all
 * of them.  Every kept pair's category agrees with the rows on disk, and
 * the top-up stops at n.
 */
static void test_topup__demo_target(void **state)
{
    struct env e;
    struct call k;
    struct sk_error err;
    struct sk_buf skill;
    char *data = tu_source_path("data/demo");
    size_t i, f;
    (void)state;
    env_open(&e, NULL, 0);
    assert_int_equal(sk_demo_sim_new(data, 7, NULL, NULL, &sc.demo, &err),
                     SK_OK);
    sk_buf_init(&skill, SK_BUF_UNLIMITED);
    assert_int_equal(sk_buf_puts(&skill, "SKILL-CURR\n"), SK_OK);
    for (f = 0; f < sk_demo_family_count(); f++)
        assert_int_equal(
            sk_buf_printf(&skill, "- %s\n", sk_demo_family_at(f)->rule), SK_OK);
    memset(&k, 0, sizeof k);
    k.pairs = json_array();
    k.n = 5;
    assert_int_equal(sk_pairs_topup(e.c, sk_bench_find("demo"), "", skill.data,
                                    e.items, NULL, k.n, SEED, e.run, NULL, 256,
                                    k.pairs, &k.prev_pred, &k.curr_pred,
                                    &k.rollouts, &k.err),
                     SK_OK);
    assert_int_equal(json_array_size(k.pairs), 5);
    assert_int_equal(k.rollouts, n_requests());
    assert_true(k.rollouts >= 10 && k.rollouts % 2 == 0);
    for (i = 0; i < 5; i++) {
        json_t *p = json_array_get(k.pairs, i), *row[2];
        const char *id = json_string_value(json_object_get(p, "id"));
        const char *cat = json_string_value(json_object_get(p, "category"));
        const char *sides[2] = {"rollout_prev", "rollout_curr"};
        size_t j;
        for (j = 0; j < 2; j++) {
            char *path =
                side_path(&e, sides[j], "topup", id, SK_ROLLOUT_RESULTS);
            row[j] = json_load_file(path, JSON_DISABLE_EOF_CHECK, NULL);
            assert_non_null(row[j]);
            sk_free(path);
        }
        assert_string_equal(
            cat, json_integer_value(json_object_get(row[1], "hard"))
                     ? (json_integer_value(json_object_get(row[0], "hard"))
                            ? "stable_success"
                            : "improved")
                     : (json_integer_value(json_object_get(row[0], "hard"))
                            ? "regressed"
                            : "persistent_fail"));
        json_decref(row[0]);
        json_decref(row[1]);
    }
    sk_buf_release(&skill);
    sk_free(data);
    call_release(&k);
    env_close(&e);
    sk_demo_sim_free(sc.demo);
    sc.demo = NULL;
}

static void test_topup__bad_arguments(void **state)
{
    struct env e;
    struct call k;
    json_t *items;
    (void)state;
    env_open(&e, NULL, 0);
    memset(&k, 0, sizeof k);
    k.pairs = fake_pairs(1);
    k.n = 3;
    k.seed = SEED;

    k.compared = json_pack("[s, i]", "train-001", 5);
    assert_int_equal(topup(&e, &k), SK_EINVAL);
    json_decref(k.compared);
    k.compared = json_object();
    assert_int_equal(topup(&e, &k), SK_EINVAL);
    json_decref(k.compared);
    k.compared = NULL;

    /* an item without an id */
    items = e.items;
    e.items = json_deep_copy(items);
    json_object_del(json_array_get(e.items, 17), "id");
    assert_int_equal(topup(&e, &k), SK_EDATA);
    json_decref(e.items);
    e.items = json_object();
    assert_int_equal(topup(&e, &k), SK_EINVAL);
    json_decref(e.items);
    e.items = items;

    assert_int_equal(sk_pairs_topup(e.c, sk_bench_find("demo"), "", "", e.items,
                                    NULL, 3, SEED, NULL, NULL, 0, k.pairs, NULL,
                                    NULL, NULL, NULL),
                     SK_EINVAL);
    assert_int_equal(json_array_size(k.pairs), 1);
    assert_null(k.prev_pred);
    assert_int_equal(n_requests(), 0);
    call_release(&k);
    env_close(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_topup__already_full, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_topup__finds_changed_and_stops,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_topup__order_skip_exhaust, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_topup__provider_failure, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_topup__fail_midway_then_resume,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_topup__demo_target, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_topup__bad_arguments, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
