/*
 * test_trainer.c - the training loop end to end against the simulator: the
 * demo benchmark with its simulated target and optimizer, every request
 * recorded (and, for some tests, the optimizer's edits replaced) by a
 * responder wrapped around them.
 */
#include "common.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "bench/demo_opt.h"
#include "bench/demo_sim.h"
#include "config/config.h"
#include "data/split.h"
#include "llm/client.h"
#include "llm/sim.h"
#include "skill/skill.h"
#include "train/gate.h"
#include "train/schedule.h"
#include "train/trainer.h"
#include "util/alloc.h"
#include "util/fs.h"
#include "testutil.h"

static char *tmpdir;

/* ---- the recording responder --------------------------------------- */

struct recorder {
    pthread_mutex_t mu;
    struct sk_demo_sim *demo;
    json_t *requests; /* [{"epoch", "step", "target", "user"}] */
    long epoch, step; /* from the trainer's events */
    long sim_calls;   /* requests that reached the simulator */
    int tie_mode;     /* replace every proposed edit by a harmless one */
    volatile sig_atomic_t stop;
    const char *stop_phase; /* set stop at this phase_start ... */
    long stop_step;         /* ... of this step */
};

static struct recorder rec;

/* First user message of a chat request (new string) or NULL. */
static char *first_user(const struct sk_sim_request *req)
{
    json_t *b = json_loadb(req->body, req->body_len, 0, NULL), *m;
    size_t i;
    char *out = NULL;
    json_array_foreach(json_object_get(b, "messages"), i, m)
    {
        const char *r = json_string_value(json_object_get(m, "role"));
        const char *c = json_string_value(json_object_get(m, "content"));
        if (r && c && strcmp(r, "user") == 0) {
            out = sk_strdup(c);
            break;
        }
    }
    json_decref(b);
    return out;
}

/* Harmless edits: the simulated target ignores rules it does not know. */
static void neutralise(struct sk_sim_reply *reply)
{
    json_t *b = json_loadb(reply->body, reply->body_len, 0, NULL), *msg, *obj,
           *edits;
    const char *content;
    char *text, *nb;

    msg = json_object_get(json_array_get(json_object_get(b, "choices"), 0),
                          "message");
    content = json_string_value(json_object_get(msg, "content"));
    obj = content ? json_loads(content, 0, NULL) : NULL;
    edits = json_object_get(obj, "edits");
    if (!edits)
        edits = json_object_get(json_object_get(obj, "patch"), "edits");
    if (json_is_array(edits) && json_array_size(edits) > 0) {
        json_array_clear(edits);
        json_array_append_new(
            edits,
            json_pack("{s:s, s:s, s:s}", "op", "append", "content",
                      "Keep every answer short and plain.", "target", ""));
        text = json_dumps(obj, 0);
        json_object_set_new(msg, "content", json_string(text));
        sk_free(text);
        nb = json_dumps(b, 0);
        sk_free(reply->body);
        reply->body = nb;
        reply->body_len = strlen(nb);
    }
    json_decref(obj);
    json_decref(b);
}

static int record_respond(void *ud, const struct sk_sim_request *req,
                          struct sk_sim_reply *reply)
{
    struct recorder *r = ud;
    char *user = first_user(req);
    int target = user && strncmp(user, "Task id: ", 9) == 0, rc;

    pthread_mutex_lock(&r->mu);
    r->sim_calls++;
    if (user)
        json_array_append_new(r->requests,
                              json_pack("{s:I, s:I, s:b, s:s}", "epoch",
                                        (json_int_t)r->epoch, "step",
                                        (json_int_t)r->step, "target", target,
                                        "user", user));
    pthread_mutex_unlock(&r->mu);
    sk_free(user);
    rc = sk_demo_sim_respond(r->demo, req, reply);
    if (rc == 0 && !target && r->tie_mode && reply->body)
        neutralise(reply);
    return rc;
}

static void on_event(void *ud, const char *type, const json_t *f)
{
    struct recorder *r = ud;
    if (strcmp(type, "phase_start") != 0)
        return;
    pthread_mutex_lock(&r->mu);
    r->step = (long)json_integer_value(json_object_get(f, "step"));
    if (json_integer_value(json_object_get(f, "epoch")) > 0)
        r->epoch = (long)json_integer_value(json_object_get(f, "epoch"));
    if (r->stop_phase && r->step == r->stop_step &&
        strcmp(json_string_value(json_object_get(f, "phase")), r->stop_phase) ==
            0)
        r->stop = 1;
    pthread_mutex_unlock(&r->mu);
}

/* ---- running the demo ----------------------------------------------- */

/* Runs the demo config with extra "key=value" overrides into out. */
static int run_demo(const char *out, const char *const *extra,
                    struct sk_train_result *res, struct sk_error *err)
{
    struct sk_config cfg;
    struct sk_config_args a;
    struct sk_split_opts so;
    struct sk_splits s;
    struct sk_llm_client *client = NULL;
    struct sk_llm_client_opts lo;
    struct sk_demo_opt *opt;
    struct sk_train_opts to;
    const char *opts[32];
    char *conf = tu_source_path("configs/demo.yaml");
    char *data = tu_source_path("data/demo");
    char *skill = tu_source_path("skills/demo/initial.md");
    char o1[4096], o2[4096];
    size_t n = 0;
    int rc;

    snprintf(o1, sizeof o1, "env.split_dir=%s", data);
    snprintf(o2, sizeof o2, "env.skill_init=%s", skill);
    opts[n++] = o1;
    opts[n++] = o2;
    while (extra && *extra)
        opts[n++] = *extra++;
    memset(&a, 0, sizeof a);
    a.path = conf;
    a.cfg_options = opts;
    a.n_cfg_options = n;
    sk_config_init(&cfg);
    sk_splits_init(&s);
    rc = sk_config_load(&a, &cfg, err);
    if (rc != SK_OK)
        fail_msg("%s", err->msg);
    sk_split_opts_init(&so);
    so.mode = cfg.split_mode;
    so.split_dir = cfg.split_dir;
    so.seed = cfg.seed;
    rc = sk_splits_load(&so, &s, err);
    if (rc != SK_OK)
        fail_msg("%s", err->msg);

    opt = sk_demo_opt_new((uint64_t)cfg.seed);
    assert_non_null(opt);
    assert_int_equal(sk_demo_sim_new(cfg.split_dir, (uint64_t)cfg.seed,
                                     sk_demo_opt_respond, opt, &rec.demo, err),
                     SK_OK);
    memset(&lo, 0, sizeof lo);
    lo.run_dir = out;
    lo.sim_responder = record_respond;
    lo.sim_ud = &rec;
    assert_int_equal(sk_fs_mkdirs(out, err), SK_OK);
    rc = sk_llm_client_new(&cfg, &lo, &client, err);
    assert_int_equal(rc, SK_OK);

    memset(&to, 0, sizeof to);
    to.cfg = &cfg;
    to.splits = &s;
    to.skill_init_path = cfg.skill_init;
    to.out_root = out;
    to.client = client;
    to.on_event = on_event;
    to.event_ud = &rec;
    to.stop = &rec.stop;
    rc = sk_train_run(&to, res, err);

    sk_llm_client_free(client);
    if (getenv("KEEP_TMP")) {
        char dump[4200];
        static int nrun;
        snprintf(dump, sizeof dump, "%s.req%d.json", out, nrun++);
        json_dump_file(rec.requests, dump, 0);
    }
    sk_demo_sim_free(rec.demo);
    rec.demo = NULL;
    sk_demo_opt_free(opt);
    sk_splits_release(&s);
    sk_config_release(&cfg);
    sk_free(conf);
    sk_free(data);
    sk_free(skill);
    return rc;
}

static void rec_reset(void)
{
    json_decref(rec.requests);
    rec.requests = json_array();
    rec.epoch = rec.step = 0;
    rec.sim_calls = 0;
    rec.tie_mode = 0;
    rec.stop = 0;
    rec.stop_phase = NULL;
    rec.stop_step = 0;
}

static char *outdir(const char *name)
{
    return sk_fs_join(tmpdir, name);
}

static json_t *load(const char *dir, const char *rel)
{
    char *p = sk_fs_join(dir, rel);
    json_t *j = json_load_file(p, 0, NULL);
    if (!j)
        fail_msg("cannot read %s", p);
    sk_free(p);
    return j;
}

static char *read_text(const char *dir, const char *rel)
{
    char *p = sk_fs_join(dir, rel), *t = tu_read(p, NULL);
    if (!t)
        fail_msg("cannot read %s", p);
    sk_free(p);
    return t;
}

/* 1 if some recorded optimizer request of epoch (0: any) holds needle. */
static int optimizer_saw(const char *needle, long epoch, long step)
{
    size_t i;
    json_t *r;
    json_array_foreach(rec.requests, i, r)
    {
        if (json_is_true(json_object_get(r, "target")))
            continue;
        if (epoch && json_integer_value(json_object_get(r, "epoch")) != epoch)
            continue;
        if (step && json_integer_value(json_object_get(r, "step")) != step)
            continue;
        if (strstr(json_string_value(json_object_get(r, "user")), needle))
            return 1;
    }
    return 0;
}

static int is_action(const json_t *row, const char *a)
{
    const char *s = json_string_value(json_object_get(row, "action"));
    return s && strcmp(s, a) == 0;
}

/* The skill a step started from. */
static char *skill_before(const char *out, long g, long spe)
{
    char rel[64];
    if (g > 1 && (g - 1) % spe == 0)
        snprintf(rel, sizeof rel, "skills/epoch_%02ld_end.md", (g - 1) / spe);
    else
        snprintf(rel, sizeof rel, "skills/skill_v%04ld.md", g - 1);
    return read_text(out, rel);
}

static char *slow_content(const char *text)
{
    char *c = NULL;
    assert_int_equal(sk_skill_slow_update_content(text, strlen(text), &c),
                     SK_OK);
    return c;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    const char *p = hay;
    while ((p = strstr(p, needle)) != NULL) {
        n++;
        p += strlen(needle);
    }
    return n;
}

/* ---- tests ---------------------------------------------------------- */

static void test_trainer__demo_end_to_end(void **state)
{
    struct sk_train_result res;
    struct sk_error err;
    struct sk_schedule sched;
    char *out = outdir("e2e"), *s0, *v0, *best, *bestfile, *ep2, *ep1, *c;
    json_t *hist, *sum, *row, *slow;
    size_t i;
    long rejected_step = 0, spe = 10;
    (void)state;

    rec_reset();
    assert_int_equal(run_demo(out, NULL, &res, &err), SK_OK);
    hist = load(out, "history.json");
    sum = load(out, "summary.json");
    assert_int_equal(json_array_size(hist), 20);
    assert_int_equal(res.steps_done, 20);
    assert_true(res.best_score > res.baseline_score); /* the curve rises */
    assert_true(res.has_test);
    assert_true(res.test_hard > res.baseline_test_hard);

    /* S_0 kept as read; best_skill.md holds the best text */
    s0 = read_text(out, "skills/skill_v0000.md");
    v0 = tu_source_path("skills/demo/initial.md");
    best = tu_read(v0, NULL);
    assert_string_equal(s0, best);
    sk_free(best);
    bestfile = read_text(out, "best_skill.md");

    /* the clip follows the schedule; only steps reaching SELECT advance
     * it; the ranked edits never exceed the budget */
    sk_schedule_init(&sched, SK_LR_SCHED_COSINE, 1, 1, 20);
    json_array_foreach(hist, i, row)
    {
        long g = (long)json_integer_value(json_object_get(row, "step"));
        if (strncmp(json_string_value(json_object_get(row, "action")), "skip",
                    4) == 0) {
            assert_null(json_object_get(row, "current_origin"));
            assert_int_equal(json_object_size(json_object_get(row, "tokens")),
                             0);
            continue;
        }
        assert_int_equal(
            json_integer_value(json_object_get(row, "edit_budget")),
            sk_schedule_step(&sched));
        assert_true(
            json_integer_value(json_object_get(row, "n_edits_ranked")) <=
            json_integer_value(json_object_get(row, "edit_budget")));
        /* body edits never touch the protected slow-update block */
        {
            char rel[64], *prev = skill_before(out, g, spe), *cand, *a, *b;
            snprintf(rel, sizeof rel, "steps/step_%04ld/candidate_skill.md", g);
            cand = read_text(out, rel);
            a = slow_content(prev);
            b = slow_content(cand);
            assert_string_equal(a, b);
            assert_int_equal(count(prev, "<!-- SLOW_UPDATE_START -->"),
                             count(cand, "<!-- SLOW_UPDATE_START -->"));
            sk_free(a);
            sk_free(b);
            sk_free(prev);
            sk_free(cand);
        }
        if (is_action(row, "reject") && !rejected_step && g % spe != 0)
            rejected_step = g;
    }

    /* a rejected edit reappears in the next step's analyst prompt */
    assert_true(rejected_step > 0);
    {
        char head[64];
        json_t *dig;
        char rel[80];
        const char *content;
        snprintf(rel, sizeof rel, "steps/step_%04ld/trajectory_digest.json",
                 rejected_step);
        dig = load(out, rel);
        content = json_string_value(json_object_get(
            json_array_get(json_object_get(dig, "rejected_edits"), 0),
            "content"));
        assert_non_null(content);
        snprintf(head, sizeof head, "### Step %ld", rejected_step);
        assert_true(optimizer_saw(head, 0, rejected_step + 1));
        assert_true(optimizer_saw(content, 0, rejected_step + 1));
        assert_false(optimizer_saw(head, 0, rejected_step));
        json_decref(dig);
    }

    /* epoch 1 ends with the empty block; epoch 2's slow update replaces it */
    ep1 = read_text(out, "skills/epoch_01_end.md");
    c = slow_content(ep1);
    assert_string_equal(c, "");
    sk_free(c);
    slow = load(out, "slow_update/epoch_02/slow_result.json");
    assert_string_equal(json_string_value(json_object_get(slow, "action")),
                        "force_accept");
    ep2 = read_text(out, "skills/epoch_02_end.md");
    c = slow_content(ep2);
    assert_string_equal(
        c, json_string_value(json_object_get(slow, "slow_update_content")));
    assert_true(strlen(c) > 0);
    assert_int_equal(count(ep2, "<!-- SLOW_UPDATE_START -->"), 1);
    sk_free(c);

    /* summary */
    assert_string_equal(json_string_value(json_object_get(sum, "version")),
                        "skillopt-0.1.0");
    assert_int_equal(json_integer_value(json_object_get(sum, "total_steps")),
                     20);
    assert_true(
        json_is_number(json_object_get(sum, "baseline_selection_hard")));
    assert_true(json_is_number(json_object_get(sum, "test_hard")));
    assert_int_equal(json_array_size(json_object_get(sum, "epoch_stats")), 2);
    assert_non_null(
        json_object_get(json_object_get(sum, "token_summary"), "_total"));

    json_decref(slow);
    json_decref(hist);
    json_decref(sum);
    sk_free(s0);
    sk_free(v0);
    sk_free(bestfile);
    sk_free(ep1);
    sk_free(ep2);
    sk_free(out);
}

/* Ties reject: edits that change nothing the target cares about score
 * exactly the current score and are all rejected. */
static void test_trainer__ties_reject(void **state)
{
    struct sk_train_result res;
    struct sk_error err;
    const char *extra[] = {"train.num_epochs=1", NULL};
    char *out = outdir("ties");
    json_t *hist, *row;
    size_t i, n = 0;
    (void)state;

    rec_reset();
    rec.tie_mode = 1;
    assert_int_equal(run_demo(out, extra, &res, &err), SK_OK);
    hist = load(out, "history.json");
    json_array_foreach(hist, i, row)
    {
        if (strncmp(json_string_value(json_object_get(row, "action")), "skip",
                    4) == 0)
            continue;
        n++;
        assert_true(json_real_value(json_object_get(
                        row, "candidate_gate_score")) == res.baseline_score);
        assert_true(is_action(row, "reject"));
    }
    assert_true(n > 0);
    assert_true(res.best_score == res.baseline_score);
    json_decref(hist);
    sk_free(out);
}

/* The meta skill written at the end of epoch 2 reaches the optimizer's
 * prompts in epoch 3, not before. */
static void test_trainer__meta_skill_from_epoch3(void **state)
{
    struct sk_train_result res;
    struct sk_error err;
    const char *extra[] = {"train.num_epochs=3", NULL};
    char *out = outdir("meta");
    json_t *m;
    (void)state;

    rec_reset();
    assert_int_equal(run_demo(out, extra, &res, &err), SK_OK);
    m = load(out, "meta_skill/epoch_01/meta_skill_result.json");
    assert_string_equal(json_string_value(json_object_get(m, "action")),
                        "skip_first_epoch");
    json_decref(m);
    m = load(out, "meta_skill/epoch_02/meta_skill_result.json");
    assert_string_equal(json_string_value(json_object_get(m, "action")),
                        "write_meta_skill");
    json_decref(m);
    assert_false(optimizer_saw("## Optimizer Meta Skill", 1, 0));
    assert_false(optimizer_saw("## Optimizer Meta Skill", 2, 0));
    assert_true(optimizer_saw("## Optimizer Meta Skill", 3, 0));
    sk_free(out);
}

static void test_trainer__rewrite_modes(void **state)
{
    static const char *const modes[2] = {"rewrite_from_suggestions",
                                         "full_rewrite_minibatch"};
    struct sk_train_result res;
    struct sk_error err;
    char opt[96], name[32], *out;
    json_t *hist, *row;
    size_t i;
    int m, produced;
    (void)state;

    for (m = 0; m < 2; m++) {
        const char *extra[] = {opt, "train.num_epochs=1", NULL};
        snprintf(opt, sizeof opt, "optimizer.skill_update_mode=%s", modes[m]);
        snprintf(name, sizeof name, "mode%d", m);
        out = outdir(name);
        rec_reset();
        assert_int_equal(run_demo(out, extra, &res, &err), SK_OK);
        hist = load(out, "history.json");
        produced = 0;
        json_array_foreach(hist, i, row)
        {
            char rel[80], *p;
            long g = (long)json_integer_value(json_object_get(row, "step"));
            if (!json_object_get(row, "candidate_hash"))
                continue;
            snprintf(rel, sizeof rel, "steps/step_%04ld/%s", g,
                     m == 0 ? "rewrite_result.json"
                            : "full_rewrite_result.json");
            p = sk_fs_join(out, rel);
            produced += sk_fs_exists(p);
            sk_free(p);
            assert_non_null(json_object_get(row, "rewrite_change_summary"));
            if (m == 1) {
                assert_true(json_is_null(json_object_get(row, "edit_budget")));
                assert_string_equal(
                    json_string_value(json_object_get(row, "lr_control_mode")),
                    "none");
            }
        }
        assert_true(produced > 0);
        assert_true(res.best_score > res.baseline_score);
        json_decref(hist);
        sk_free(out);
    }
}

static void test_trainer__accumulation(void **state)
{
    struct sk_train_result res;
    struct sk_error err;
    const char *extra[] = {"train.accumulation=2", "train.num_epochs=1", NULL};
    char *out = outdir("accum"), *p;
    json_t *hist, *ab;
    (void)state;

    rec_reset();
    assert_int_equal(run_demo(out, extra, &res, &err), SK_OK);
    hist = load(out, "history.json");
    assert_int_equal(json_array_size(hist), 5); /* ceil(80 / (8 * 2)) */
    ab = json_object_get(json_array_get(hist, 0), "accumulation_batches");
    assert_int_equal(json_array_size(ab), 2);
    assert_int_equal(json_integer_value(
                         json_object_get(json_array_get(hist, 0), "rollout_n")),
                     16);
    p = sk_fs_join(out, "steps/step_0001/batch_1/rollout/results.jsonl");
    assert_true(sk_fs_exists(p));
    sk_free(p);
    json_decref(hist);
    sk_free(out);
}

static size_t lines_of(const char *dir, const char *rel)
{
    char *t = read_text(dir, rel);
    size_t n = count(t, "\n");
    sk_free(t);
    return n;
}

/* The optional paths of the loop, each on a short demo run. */
static void test_trainer__option_paths(void **state)
{
    struct sk_train_result res;
    struct sk_error err;
    char *out;
    json_t *hist, *row, *j;
    size_t i, n;
    (void)state;

    /* skill-aware reflection: notes land in the appendix, consolidated
     * past the threshold, outside the gate */
    {
        const char *x[] = {"optimizer.use_skill_aware_reflection=true",
                           "optimizer.skill_aware_consolidate_threshold=2",
                           NULL};
        char *last;
        int seen = 0, cons = 0;
        out = outdir("opt_aware");
        rec_reset();
        assert_int_equal(run_demo(out, x, &res, &err), SK_OK);
        hist = load(out, "history.json");
        json_array_foreach(hist, i, row)
        {
            char rel[80], *p;
            if (!json_object_get(row, "n_appendix_notes_total"))
                continue;
            seen++;
            cons +=
                json_object_get(row, "n_appendix_notes_consolidated") != NULL;
            snprintf(
                rel, sizeof rel, "steps/step_%04lld/appendix_notes.json",
                (long long)json_integer_value(json_object_get(row, "step")));
            p = sk_fs_join(out, rel);
            assert_true(sk_fs_exists(p));
            sk_free(p);
        }
        assert_true(seen > 0);
        assert_true(cons > 0);
        last = read_text(out, "skills/epoch_02_end.md");
        assert_int_equal(count(last, "<!-- APPENDIX_START -->"), 1);
        sk_free(last);
        json_decref(hist);
        sk_free(out);
    }
    /* the slow update through the gate */
    {
        const char *x[] = {"optimizer.slow_update_gate_with_selection=true",
                           NULL};
        const char *a;
        out = outdir("opt_slowgate");
        rec_reset();
        assert_int_equal(run_demo(out, x, &res, &err), SK_OK);
        j = load(out, "slow_update/epoch_02/slow_result.json");
        a = json_string_value(json_object_get(j, "action"));
        assert_true(strcmp(a, "reject") == 0 || strcmp(a, "accept") == 0 ||
                    strcmp(a, "accept_new_best") == 0);
        assert_true(json_is_number(json_object_get(j, "selection_hard")));
        json_decref(j);
        sk_free(out);
    }
    /* "changed" pairs only, with the top-up */
    {
        const char *x[] = {"optimizer.longitudinal_pair_policy=changed", NULL};
        out = outdir("opt_changed");
        rec_reset();
        assert_int_equal(run_demo(out, x, &res, &err), SK_OK);
        j = load(out, "slow_update/epoch_02/comparison_pairs_all.json");
        assert_true(json_array_size(j) >= 8);
        json_decref(j);
        j = load(out, "slow_update/epoch_02/comparison_pairs.json");
        json_array_foreach(j, i, row)
        {
            const char *c = json_string_value(json_object_get(row, "category"));
            assert_true(strcmp(c, "improved") == 0 ||
                        strcmp(c, "regressed") == 0);
        }
        json_decref(j);
        sk_free(out);
    }
    /* the optimizer chooses the learning rate */
    {
        const char *x[] = {"optimizer.lr_control_mode=autonomous", NULL};
        out = outdir("opt_auto");
        rec_reset();
        assert_int_equal(run_demo(out, x, &res, &err), SK_OK);
        hist = load(out, "history.json");
        n = 0;
        json_array_foreach(hist, i, row)
        {
            json_t *d = json_object_get(row, "lr_decision");
            if (!json_object_get(row, "candidate_hash"))
                continue;
            n++;
            assert_non_null(d);
            assert_int_equal(
                json_integer_value(json_object_get(row, "edit_budget")),
                json_integer_value(json_object_get(d, "learning_rate")));
            assert_true(
                json_integer_value(json_object_get(row, "n_edits_ranked")) <=
                json_integer_value(json_object_get(row, "edit_budget")));
        }
        assert_true(n > 0);
        assert_int_equal(lines_of(out, "lr_history.jsonl"), n);
        json_decref(hist);
        sk_free(out);
    }
    /* the gate off: every candidate is taken */
    {
        const char *x[] = {"evaluation.use_gate=false", NULL};
        out = outdir("opt_nogate");
        rec_reset();
        assert_int_equal(run_demo(out, x, &res, &err), SK_OK);
        hist = load(out, "history.json");
        json_array_foreach(hist, i, row)
        {
            if (json_object_get(row, "candidate_hash"))
                assert_true(is_action(row, "force_accept"));
        }
        json_decref(hist);
        sk_free(out);
    }
    /* mixed metric with the density bonus */
    {
        const char *x[] = {"evaluation.gate_metric=mixed",
                           "evaluation.use_semantic_density=true", NULL};
        out = outdir("opt_mixed");
        rec_reset();
        assert_int_equal(run_demo(out, x, &res, &err), SK_OK);
        hist = load(out, "history.json");
        n = 0;
        json_array_foreach(hist, i, row)
        {
            char rel[80], *cand;
            double h, so, d, want;
            if (!json_is_number(json_object_get(row, "selection_hard")))
                continue;
            n++;
            assert_string_equal(
                json_string_value(json_object_get(row, "gate_metric")),
                "mixed");
            h = json_number_value(json_object_get(row, "selection_hard"));
            so = json_number_value(json_object_get(row, "selection_soft"));
            snprintf(
                rel, sizeof rel, "steps/step_%04lld/candidate_skill.md",
                (long long)json_integer_value(json_object_get(row, "step")));
            cand = read_text(out, rel);
            assert_int_equal(sk_gate_density(cand, strlen(cand), NULL, 0, &d),
                             SK_OK);
            want = 0.5 * h + 0.5 * so + 0.05 * d;
            assert_true(fabs(json_number_value(
                                 json_object_get(row, "candidate_gate_score")) -
                             want) < 1e-12);
            sk_free(cand);
        }
        assert_true(n > 0);
        json_decref(hist);
        sk_free(out);
    }
}

/* Strips what differs between runs by nature (timings, token counts). */
static void strip_timing(json_t *hist)
{
    size_t i;
    json_t *row;
    json_array_foreach(hist, i, row)
    {
        json_object_del(row, "timing");
        json_object_del(row, "wall_time_s");
        json_object_del(row, "tokens");
        json_object_del(json_object_get(row, "lr_decision"), "time_s");
    }
}

static void assert_same_run(const char *a, const char *b)
{
    static const char *const keys[] = {"baseline_selection_hard",
                                       "best_selection_hard",
                                       "final_selection_hard",
                                       "final_selection_soft",
                                       "best_step",
                                       "current_origin",
                                       "best_origin",
                                       "total_steps",
                                       "total_accepts",
                                       "total_rejects",
                                       "total_skips",
                                       "epoch_stats",
                                       "baseline_test_hard",
                                       "test_hard",
                                       "final_test_hard",
                                       NULL};
    json_t *ha = load(a, "history.json"), *hb = load(b, "history.json");
    json_t *sa = load(a, "summary.json"), *sb = load(b, "summary.json");
    char *ta = read_text(a, "best_skill.md"),
         *tb = read_text(b, "best_skill.md");
    char rel[64];
    long g;
    size_t k;

    strip_timing(ha);
    strip_timing(hb);
    assert_true(json_equal(ha, hb));
    assert_string_equal(ta, tb);
    for (k = 0; keys[k]; k++)
        if (!json_equal(json_object_get(sa, keys[k]),
                        json_object_get(sb, keys[k])))
            fail_msg("summary.json %s differs", keys[k]);
    for (g = 0; g <= (long)json_array_size(ha); g++) {
        char *x, *y;
        snprintf(rel, sizeof rel, "skills/skill_v%04ld.md", g);
        x = read_text(a, rel);
        y = read_text(b, rel);
        assert_string_equal(x, y);
        sk_free(x);
        sk_free(y);
    }
    json_decref(ha);
    json_decref(hb);
    json_decref(sa);
    json_decref(sb);
    sk_free(ta);
    sk_free(tb);
}

/* Stopped at several points and resumed: the same outputs, and no request
 * that had been answered reaches the simulator again. */
static void test_trainer__resume_identical(void **state)
{
    static const struct {
        const char *phase;
        long step;
    } stops[] = {{"reflect", 3},
                 {"select", 5},
                 {"evaluate", 6},
                 {"slow_update", 20},
                 {"test_eval", 20}};
    struct sk_train_result res;
    struct sk_error err;
    char *ref = outdir("resume_ref"), name[32], *out;
    long ref_calls, calls;
    size_t k;
    (void)state;

    rec_reset();
    assert_int_equal(run_demo(ref, NULL, &res, &err), SK_OK);
    ref_calls = rec.sim_calls;
    for (k = 0; k < sizeof stops / sizeof stops[0]; k++) {
        snprintf(name, sizeof name, "resume%zu", k);
        out = outdir(name);
        rec_reset();
        rec.stop_phase = stops[k].phase;
        rec.stop_step = stops[k].step;
        assert_int_equal(run_demo(out, NULL, &res, &err), SK_OK);
        if (!res.interrupted)
            fail_msg("stop %zu (%s, step %ld) did not interrupt", k,
                     stops[k].phase, stops[k].step);
        calls = rec.sim_calls;
        rec.stop_phase = NULL;
        rec.stop = 0;
        rec.sim_calls = 0;
        assert_int_equal(run_demo(out, NULL, &res, &err), SK_OK);
        assert_false(res.interrupted);
        calls += rec.sim_calls;
        if (calls != ref_calls)
            fail_msg("stop %zu (%s, step %ld): %ld requests reached the "
                     "simulator, %ld in one go",
                     k, stops[k].phase, stops[k].step, calls, ref_calls);
        assert_same_run(ref, out);
        sk_free(out);
    }
    sk_free(ref);
}

/* A run directory whose slow-update marker has no applied_state.json (as
 * the reference writes them), interrupted before its state was saved:
 * the update is re-applied the reference's way and the run ends as an
 * uninterrupted one. */
static void test_trainer__resume_reference_marker(void **state)
{
    struct sk_train_result res;
    struct sk_error err;
    const char *extra[] = {"train.num_epochs=1", NULL};
    char *ref = outdir("refmark_ref"), *out = outdir("refmark"), *p;
    (void)state;

    rec_reset();
    assert_int_equal(run_demo(ref, extra, &res, &err), SK_OK);
    rec_reset();
    rec.stop_phase = "meta_skill"; /* after the slow update's marker */
    rec.stop_step = 10;
    assert_int_equal(run_demo(out, extra, &res, &err), SK_OK);
    assert_true(res.interrupted);
    p = sk_fs_join(out, "slow_update/epoch_01/applied_state.json");
    assert_true(sk_fs_exists(p));
    assert_int_equal(unlink(p), 0);
    sk_free(p);
    rec.stop_phase = NULL;
    rec.stop = 0;
    assert_int_equal(run_demo(out, extra, &res, &err), SK_OK);
    assert_false(res.interrupted);
    assert_same_run(ref, out);
    sk_free(ref);
    sk_free(out);
}

/* A step stopped after its learning-rate decision reruns without
 * leaving a second lr_history.jsonl line. */
static void test_trainer__resume_autonomous_lr(void **state)
{
    struct sk_train_result res;
    struct sk_error err;
    const char *extra[] = {"optimizer.lr_control_mode=autonomous",
                           "train.num_epochs=1", NULL};
    char *ref = outdir("lr_ref"), *out = outdir("lr_stop"), *a, *b;
    (void)state;

    rec_reset();
    assert_int_equal(run_demo(ref, extra, &res, &err), SK_OK);
    rec_reset();
    rec.stop_phase = "update";
    rec.stop_step = 2;
    assert_int_equal(run_demo(out, extra, &res, &err), SK_OK);
    assert_true(res.interrupted);
    rec.stop_phase = NULL;
    rec.stop = 0;
    assert_int_equal(run_demo(out, extra, &res, &err), SK_OK);
    assert_same_run(ref, out);
    a = read_text(ref, "lr_history.jsonl");
    b = read_text(out, "lr_history.jsonl");
    assert_int_equal(count(a, "\n"), count(b, "\n"));
    sk_free(a);
    sk_free(b);
    sk_free(ref);
    sk_free(out);
}

/* 20% of requests fail (429, 5xx, stalls, bad bodies); with retries the
 * run ends with the fault-free run's skill. */
static void test_trainer__faults_same_skill(void **state)
{
    struct sk_train_result res;
    struct sk_error err;
    const char *faults[] = {"llm.sim_fault_rate=0.2", "llm.retries=12",
                            "train.num_epochs=1", NULL};
    const char *clean[] = {"train.num_epochs=1", NULL};
    char *a = outdir("faults_clean"), *b = outdir("faults_20");
    (void)state;

    rec_reset();
    assert_int_equal(run_demo(a, clean, &res, &err), SK_OK);
    rec_reset();
    if (run_demo(b, faults, &res, &err) != SK_OK)
        fail_msg("%s", err.msg);
    assert_same_run(a, b);
    sk_free(a);
    sk_free(b);
}

static void test_trainer__bad_inputs(void **state)
{
    struct sk_train_result res;
    struct sk_error err;
    const char *bench[] = {"env.name=nope", NULL};
    const char *size[] = {"train.train_size=50", NULL};
    const char *skill[] = {"env.skill_init=/nonexistent/skill.md", NULL};
    char *out = outdir("bad");
    (void)state;

    rec_reset();
    assert_int_equal(run_demo(out, bench, &res, &err), SK_ECONFIG);
    assert_non_null(strstr(err.msg, "nope"));
    assert_int_equal(run_demo(out, size, &res, &err), SK_ECONFIG);
    assert_non_null(strstr(err.msg, "train_size"));
    assert_int_equal(run_demo(out, skill, &res, &err), SK_ENOTFOUND);
    assert_non_null(strstr(err.msg, "/nonexistent/skill.md"));
    assert_int_equal(rec.sim_calls, 0); /* nothing was asked */
    sk_free(out);
}

static int setup(void **state)
{
    (void)state;
    tmpdir = tu_mkdtemp();
    pthread_mutex_init(&rec.mu, NULL);
    return tmpdir ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    if (!getenv("KEEP_TMP"))
        tu_rmtree(tmpdir);
    sk_free(tmpdir);
    json_decref(rec.requests);
    pthread_mutex_destroy(&rec.mu);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trainer__demo_end_to_end),
        cmocka_unit_test(test_trainer__ties_reject),
        cmocka_unit_test(test_trainer__meta_skill_from_epoch3),
        cmocka_unit_test(test_trainer__rewrite_modes),
        cmocka_unit_test(test_trainer__accumulation),
        cmocka_unit_test(test_trainer__option_paths),
        cmocka_unit_test(test_trainer__resume_identical),
        cmocka_unit_test(test_trainer__resume_reference_marker),
        cmocka_unit_test(test_trainer__resume_autonomous_lr),
        cmocka_unit_test(test_trainer__faults_same_skill),
        cmocka_unit_test(test_trainer__bad_inputs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
