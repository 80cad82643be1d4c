/*
 * test_client.c - model calls end to end through the simulator and a fake
 * provider on 127.0.0.1: ordering, cache and replay, budget, failures
 * reported as failures, and secrets kept out of every log and file.
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "llm/client.h"
#include "llm/sim.h"
#include "llm/usage.h"
#include "testutil.h"
#include "util/alloc.h"
#include "util/fs.h"
#include "util/log.h"

#define SECRET "sk-test-SECRET-7f3a9b21c4"

static char *tmpdir;

static int setup(void **state)
{
    (void)state;
    tmpdir = tu_mkdtemp();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmtree(tmpdir);
    sk_free(tmpdir);
    sk_log_clear_secrets();
    return 0;
}

static void load_cfg(const char *yaml, const char *const *opts, size_t n,
                     struct sk_config *c)
{
    struct sk_config_args a;
    struct sk_error err;
    char *path = tu_write(tmpdir, "cfg.yaml", yaml);
    memset(&a, 0, sizeof a);
    a.path = path;
    a.cfg_options = opts;
    a.n_cfg_options = n;
    sk_config_init(c);
    if (sk_config_load(&a, c, &err) != SK_OK)
        fail_msg("%s", err.msg);
    sk_free(path);
}

static const char *fake_env(void *ud, const char *name)
{
    (void)ud;
    if (strcmp(name, "OPENAI_COMPATIBLE_API_KEY") == 0)
        return SECRET;
    return NULL;
}

static const char sim_yaml[] = "model:\n  backend: sim\n  optimizer: sim-opt\n"
                               "  target: sim-target\n  optimizer_backend: "
                               "sim\n  target_backend: sim\n";

static void ask(struct sk_llm_request *req, struct sk_llm_message *msg,
                enum sk_role role, const char *text)
{
    memset(req, 0, sizeof *req);
    msg->role = "user";
    msg->content = text;
    msg->images = NULL;
    msg->n_images = 0;
    req->role = role;
    req->stage = "rollout";
    req->messages = msg;
    req->n_messages = 1;
    req->max_tokens = 64;
}

static void test_client__sim_call_and_batch_order(void **state)
{
    struct sk_config cfg;
    struct sk_llm_client *c;
    struct sk_error err;
    struct sk_llm_request reqs[40];
    struct sk_llm_message msgs[40];
    struct sk_llm_result res[40];
    char texts[40][32];
    size_t i;
    (void)state;
    load_cfg(sim_yaml, NULL, 0, &cfg);
    if (sk_llm_client_new(&cfg, NULL, &c, &err) != SK_OK)
        fail_msg("%s", err.msg);
    for (i = 0; i < 40; i++) {
        snprintf(texts[i], sizeof texts[i], "question number %zu", i);
        ask(&reqs[i], &msgs[i], i % 2 ? SK_ROLE_TARGET : SK_ROLE_OPTIMIZER,
            texts[i]);
    }
    assert_int_equal(sk_llm_call_batch(c, reqs, 40, res), SK_OK);
    for (i = 0; i < 40; i++) {
        assert_int_equal(res[i].status, SK_OK);
        /* the answer to request i is about request i, whatever the order
         * replies arrived in */
        if (!strstr(res[i].text, texts[i]))
            fail_msg("result %zu: '%s' does not answer '%s'", i, res[i].text,
                     texts[i]);
        assert_true(res[i].usage.usage_known);
        assert_true(res[i].usage.prompt_tokens > 0);
        sk_llm_result_release(&res[i]);
    }
    assert_true(sk_sim_requests(sk_llm_client_sim(c)) >= 40);
    sk_llm_client_free(c);
    sk_config_release(&cfg);
}

static void test_client__cache_then_replay(void **state)
{
    struct sk_config cfg;
    struct sk_llm_client *c;
    struct sk_llm_client_opts o;
    struct sk_error err;
    struct sk_llm_request req;
    struct sk_llm_message msg;
    struct sk_llm_result res;
    struct sk_stage_usage u;
    char *run = sk_fs_join(tmpdir, "run1");
    const char *replay[] = {"llm.cache=replay"};
    uint64_t before;
    char first[256];
    (void)state;
    assert_int_equal(sk_fs_mkdirs(run, NULL), SK_OK);
    memset(&o, 0, sizeof o);
    o.run_dir = run;
    load_cfg(sim_yaml, NULL, 0, &cfg);
    if (sk_llm_client_new(&cfg, &o, &c, &err) != SK_OK)
        fail_msg("%s", err.msg);
    ask(&req, &msg, SK_ROLE_TARGET, "cache me");
    assert_int_equal(sk_llm_call(c, &req, &res), SK_OK);
    assert_false(res.cache_hit);
    snprintf(first, sizeof first, "%s", res.text);
    sk_llm_result_release(&res);
    before = sk_sim_requests(sk_llm_client_sim(c));
    assert_int_equal(sk_llm_call(c, &req, &res), SK_OK);
    assert_true(res.cache_hit);
    assert_string_equal(res.text, first);
    assert_int_equal(sk_sim_requests(sk_llm_client_sim(c)), before);
    sk_ledger_get(sk_llm_client_ledger(c), SK_ROLE_COUNT, NULL, &u);
    assert_int_equal(u.cache_hits, 1);
    sk_llm_result_release(&res);
    /* a different sample index is a different reply */
    req.sample_index = 1;
    assert_int_equal(sk_llm_call(c, &req, &res), SK_OK);
    assert_false(res.cache_hit);
    sk_llm_result_release(&res);
    sk_llm_client_free(c);
    sk_config_release(&cfg);

    /* replay: recorded replies come back, anything else is an error and
     * no request is sent */
    load_cfg(sim_yaml, replay, 1, &cfg);
    if (sk_llm_client_new(&cfg, &o, &c, &err) != SK_OK)
        fail_msg("%s", err.msg);
    req.sample_index = 0;
    assert_int_equal(sk_llm_call(c, &req, &res), SK_OK);
    assert_true(res.cache_hit);
    assert_string_equal(res.text, first);
    sk_llm_result_release(&res);
    ask(&req, &msg, SK_ROLE_TARGET, "never recorded");
    assert_int_equal(sk_llm_call(c, &req, &res), SK_LLM_EREPLAY);
    assert_true(res.error[0] != '\0');
    assert_int_equal(sk_sim_requests(sk_llm_client_sim(c)), 0);
    sk_llm_result_release(&res);
    sk_llm_client_free(c);
    sk_config_release(&cfg);
    sk_free(run);
}

static void test_client__budget_refuses_before_sending(void **state)
{
    struct sk_config cfg;
    struct sk_llm_client *c;
    struct sk_error err;
    struct sk_llm_request req;
    struct sk_llm_message msg;
    struct sk_llm_result res;
    const char *opts[] = {"llm.max_tokens=150"};
    (void)state;
    load_cfg(sim_yaml, opts, 1, &cfg);
    if (sk_llm_client_new(&cfg, NULL, &c, &err) != SK_OK)
        fail_msg("%s", err.msg);
    ask(&req, &msg, SK_ROLE_TARGET, "small");
    req.max_tokens = 100;
    assert_int_equal(sk_llm_call(c, &req, &res), SK_OK);
    sk_llm_result_release(&res);
    /* the worst case of the next one passes the cap: refused, not sent */
    req.max_tokens = 140;
    assert_int_equal(sk_llm_call(c, &req, &res), SK_LLM_EBUDGET);
    assert_non_null(strstr(res.error, "budget"));
    assert_int_equal(sk_sim_requests(sk_llm_client_sim(c)), 1);
    assert_int_equal(sk_llm_exit_code(res.status), 5);
    sk_llm_result_release(&res);
    sk_llm_client_free(c);
    sk_config_release(&cfg);
}

/* A fake provider that fails the first call with 503 and then answers,
 * and rejects any request without the right key with a 401 whose message
 * quotes the header (as some servers do). */
struct fake {
    int calls;
};

static int fake_responder(void *ud, const struct sk_sim_request *req,
                          struct sk_sim_reply *reply)
{
    struct fake *f = ud;
    const char *auth = "";
    size_t i;
    char body[512];
    for (i = 0; i < req->n_headers; i++)
        if (strcmp(req->header_names[i], "authorization") == 0)
            auth = req->header_values[i];
    f->calls++;
    if (strstr(req->body, "wrong-key-please")) {
        snprintf(body, sizeof body,
                 "{\"error\":{\"message\":\"Incorrect API key provided: "
                 "%s\",\"type\":\"invalid_request_error\"}}",
                 auth);
        reply->status = 401;
        reply->body = sk_strdup(body);
        reply->body_len = strlen(body);
        return 0;
    }
    if (f->calls == 1) {
        reply->status = 503;
        reply->body = sk_strdup("{\"error\":{\"message\":\"overloaded\"}}");
        reply->body_len = strlen(reply->body);
        return 0;
    }
    reply->body = sk_sim_chat_completion("fake-model", "fine", 10, 2);
    reply->body_len = strlen(reply->body);
    return 0;
}

static void test_client__provider_errors_and_secrets(void **state)
{
    struct sk_config cfg;
    struct sk_llm_client *c;
    struct sk_llm_client_opts o;
    struct sk_error err;
    struct sk_llm_request req;
    struct sk_llm_message msg;
    struct sk_llm_result res;
    struct sk_sim *fake_srv;
    struct fake f = {0};
    char base[128], opt[200], *run, *logtext = NULL, *files;
    const char *opts[2];
    size_t loglen = 0;
    FILE *fp;
    (void)state;
    assert_int_equal(sk_sim_start(fake_responder, &f, NULL, &fake_srv, &err),
                     SK_OK);
    sk_sim_base_url(fake_srv, base, sizeof base);
    snprintf(opt, sizeof opt, "llm.target_base_url=%s", base);
    opts[0] = opt;
    opts[1] = "model.target=fake-model";
    load_cfg("model:\n  target_backend: openai_compatible\n"
             "  optimizer_backend: sim\n",
             opts, 2, &cfg);
    run = sk_fs_join(tmpdir, "run2");
    assert_int_equal(sk_fs_mkdirs(run, NULL), SK_OK);
    memset(&o, 0, sizeof o);
    o.run_dir = run;
    o.getenv_fn = fake_env;
    fp = open_memstream(&logtext, &loglen);
    sk_log_set_stream(fp);
    sk_log_set_level(SK_LOG_DEBUG);
    if (sk_llm_client_new(&cfg, &o, &c, &err) != SK_OK)
        fail_msg("%s", err.msg);

    /* 503 is retried and the second attempt answers */
    ask(&req, &msg, SK_ROLE_TARGET, "hello");
    assert_int_equal(sk_llm_call(c, &req, &res), SK_OK);
    assert_int_equal(res.attempts, 2);
    assert_string_equal(res.text, "fine");
    sk_llm_result_release(&res);

    /* 401 fails at once, as a provider error with the provider's text and
     * without the key it quoted */
    ask(&req, &msg, SK_ROLE_TARGET, "wrong-key-please");
    assert_int_equal(sk_llm_call(c, &req, &res), SK_LLM_EPROVIDER);
    assert_int_equal(res.attempts, 1);
    assert_int_equal(res.http_status, 401);
    assert_non_null(strstr(res.error, "401"));
    assert_non_null(strstr(res.error, "Incorrect API key"));
    assert_null(strstr(res.error, SECRET));
    assert_int_equal(sk_llm_exit_code(res.status), 4);
    sk_llm_result_release(&res);
    sk_llm_client_free(c);
    sk_log_set_level(SK_LOG_WARN);
    sk_log_set_stream(NULL);
    fclose(fp);
    assert_null(strstr(logtext, SECRET));
    free(logtext); /* open_memstream's buffer */

    /* nothing the run wrote contains the key */
    files = tu_read(run, NULL); /* a directory: NULL */
    assert_null(files);
    {
        char *p1 = sk_fs_join(run, "llm_requests.jsonl");
        char *p2 = sk_fs_join(run, "llm_cache.sqlite");
        char *t1 = tu_read(p1, NULL), *t2;
        size_t l2 = 0;
        assert_non_null(t1);
        assert_non_null(strstr(t1, "\"status\""));
        assert_null(strstr(t1, SECRET));
        t2 = tu_read(p2, &l2);
        assert_non_null(t2);
        assert_null(memmem(t2, l2, SECRET, strlen(SECRET)));
        sk_free(t1);
        sk_free(t2);
        sk_free(p1);
        sk_free(p2);
    }
    sk_sim_stop(fake_srv);
    sk_config_release(&cfg);
    sk_free(run);
}

static void test_client__unreachable_provider_is_an_error(void **state)
{
    struct sk_config cfg;
    struct sk_llm_client *c;
    struct sk_llm_client_opts o;
    struct sk_error err;
    struct sk_llm_request req;
    struct sk_llm_message msg;
    struct sk_llm_result res;
    const char *opts[] = {"llm.target_base_url=http://127.0.0.1:9/v1",
                          "llm.retries=2"};
    (void)state;
    load_cfg("model:\n  target_backend: openai_compatible\n"
             "  optimizer_backend: sim\n",
             opts, 2, &cfg);
    memset(&o, 0, sizeof o);
    o.getenv_fn = fake_env;
    if (sk_llm_client_new(&cfg, &o, &c, &err) != SK_OK)
        fail_msg("%s", err.msg);
    ask(&req, &msg, SK_ROLE_TARGET, "anyone there?");
    assert_int_equal(sk_llm_call(c, &req, &res), SK_LLM_ETRANSPORT);
    assert_int_equal(res.attempts, 2);
    assert_true(strlen(res.error) > 10);
    /* a failure is never an empty answer */
    assert_true(res.text == NULL || res.status != SK_OK);
    sk_llm_result_release(&res);
    sk_llm_client_free(c);
    sk_config_release(&cfg);
}

/* ---- progress hook ------------------------------------------------------ */

#define REC_MAX 64

/* What the progress hook saw, one row per call. */
struct rec {
    pthread_mutex_t mu;
    const struct sk_llm_request *base; /* the batch's requests */
    size_t n;                          /* hook calls */
    size_t done[REC_MAX], total[REC_MAX], idx[REC_MAX];
    int status[REC_MAX], cache_hit[REC_MAX], has_text[REC_MAX];
};

static void rec_init(struct rec *r, const struct sk_llm_request *base)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    r->base = base;
}

static void rec_reset(struct rec *r)
{
    pthread_mutex_lock(&r->mu);
    r->n = 0;
    pthread_mutex_unlock(&r->mu);
}

static void rec_hook(void *ud, const struct sk_llm_request *req,
                     const struct sk_llm_result *res, size_t done, size_t total)
{
    struct rec *r = ud;
    pthread_mutex_lock(&r->mu);
    if (r->n < REC_MAX) {
        r->done[r->n] = done;
        r->total[r->n] = total;
        r->idx[r->n] = (size_t)(req - r->base);
        r->status[r->n] = res->status;
        r->cache_hit[r->n] = res->cache_hit;
        r->has_text[r->n] = res->text != NULL;
    }
    r->n++;
    pthread_mutex_unlock(&r->mu);
}

/* The hook fired once per request of a batch of n, with done 1..n in call
 * order, total n, and the request's final result. */
static void rec_check(struct rec *r, size_t n, const struct sk_llm_result *res)
{
    int seen[REC_MAX] = {0};
    size_t k;
    assert_true(n <= REC_MAX);
    assert_int_equal(r->n, n);
    for (k = 0; k < n; k++) {
        assert_int_equal(r->done[k], k + 1);
        assert_int_equal(r->total[k], n);
        assert_true(r->idx[k] < n);
        assert_int_equal(seen[r->idx[k]]++, 0);
        assert_int_equal(r->status[k], res[r->idx[k]].status);
        assert_int_equal(r->cache_hit[k], res[r->idx[k]].cache_hit);
        if (r->status[k] == SK_OK)
            assert_true(r->has_text[k]);
    }
}

/* Responder for the progress tests: "fail-me" gets a 400 (not retried),
 * "slow-one" is answered only after n_fast other requests were answered,
 * everything else at once. */
struct slowpoke {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int fast_answered;
    int n_fast;
};

static int progress_responder(void *ud, const struct sk_sim_request *req,
                              struct sk_sim_reply *reply)
{
    struct slowpoke *s = ud;
    if (strstr(req->body, "fail-me")) {
        reply->status = 400;
        reply->body = sk_strdup("{\"error\":{\"message\":\"bad request\"}}");
        reply->body_len = strlen(reply->body);
        return 0;
    }
    if (strstr(req->body, "slow-one")) {
        struct timespec dl, pause = {0, 100000000L};
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_sec += 30;
        pthread_mutex_lock(&s->mu);
        while (s->fast_answered < s->n_fast)
            if (pthread_cond_timedwait(&s->cv, &s->mu, &dl) != 0)
                break;
        pthread_mutex_unlock(&s->mu);
        nanosleep(&pause, NULL); /* let the fast replies reach the client */
    }
    reply->body = sk_sim_chat_completion("sim-target", "ok", 5, 1);
    reply->body_len = strlen(reply->body);
    if (!strstr(req->body, "slow-one")) {
        pthread_mutex_lock(&s->mu);
        s->fast_answered++;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
    }
    return 0;
}

static void slowpoke_init(struct slowpoke *s, int n_fast)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->n_fast = n_fast;
}

static void slowpoke_release(struct slowpoke *s)
{
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
}

static void test_client__progress_hook_batch_cache_and_failures(void **state)
{
    struct sk_config cfg;
    struct sk_llm_client *c;
    struct sk_llm_client_opts o;
    struct sk_error err;
    struct sk_llm_request reqs[10];
    struct sk_llm_message msgs[10];
    struct sk_llm_result res[10];
    char texts[10][32];
    char *run = sk_fs_join(tmpdir, "run_progress");
    struct slowpoke sp;
    struct rec r;
    size_t i, k, hits;
    (void)state;
    slowpoke_init(&sp, 0);
    memset(reqs, 0, sizeof reqs);
    rec_init(&r, reqs);
    assert_int_equal(sk_fs_mkdirs(run, NULL), SK_OK);
    memset(&o, 0, sizeof o);
    o.run_dir = run;
    o.sim_responder = progress_responder;
    o.sim_ud = &sp;
    load_cfg(sim_yaml, NULL, 0, &cfg);
    if (sk_llm_client_new(&cfg, &o, &c, &err) != SK_OK)
        fail_msg("%s", err.msg);
    sk_llm_client_set_progress(c, rec_hook, &r);
    for (i = 0; i < 10; i++) {
        snprintf(texts[i], sizeof texts[i], "%s %zu",
                 i == 3 || i == 7 ? "fail-me" : "question", i);
        ask(&reqs[i], &msgs[i], SK_ROLE_TARGET, texts[i]);
    }

    /* fresh: 8 answers and 2 provider errors, each reported once */
    assert_int_equal(sk_llm_call_batch(c, reqs, 10, res), SK_LLM_EPROVIDER);
    rec_check(&r, 10, res);
    for (i = 0; i < 10; i++) {
        assert_int_equal(res[i].status,
                         i == 3 || i == 7 ? SK_LLM_EPROVIDER : SK_OK);
        sk_llm_result_release(&res[i]);
    }

    /* again: the answers are cache hits, the failures are sent again */
    rec_reset(&r);
    assert_int_equal(sk_llm_call_batch(c, reqs, 10, res), SK_LLM_EPROVIDER);
    rec_check(&r, 10, res);
    for (k = 0, hits = 0; k < 10; k++)
        hits += (size_t)r.cache_hit[k];
    assert_int_equal(hits, 8);
    for (i = 0; i < 10; i++)
        sk_llm_result_release(&res[i]);

    /* a single call is a batch of one */
    rec_reset(&r);
    assert_int_equal(sk_llm_call(c, &reqs[1], &res[1]), SK_OK);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.done[0], 1);
    assert_int_equal(r.total[0], 1);
    assert_int_equal(r.idx[0], 1);
    assert_true(r.cache_hit[0]);
    sk_llm_result_release(&res[1]);

    /* removed: calls still work and nothing is reported */
    sk_llm_client_set_progress(c, NULL, &r);
    rec_reset(&r);
    assert_int_equal(sk_llm_call_batch(c, reqs, 3, res), SK_OK);
    assert_int_equal(r.n, 0);
    for (i = 0; i < 3; i++)
        sk_llm_result_release(&res[i]);
    /* an empty batch reports nothing */
    sk_llm_client_set_progress(c, rec_hook, &r);
    assert_int_equal(sk_llm_call_batch(c, reqs, 0, res), SK_OK);
    assert_int_equal(r.n, 0);

    sk_llm_client_free(c);
    sk_config_release(&cfg);
    pthread_mutex_destroy(&r.mu);
    slowpoke_release(&sp);
    sk_free(run);
}

static void test_client__progress_hook_budget_refusals(void **state)
{
    struct sk_config cfg;
    struct sk_llm_client *c;
    struct sk_error err;
    struct sk_llm_request reqs[4];
    struct sk_llm_message msgs[4];
    struct sk_llm_result res[4];
    const char *opts[] = {"llm.max_tokens=150"};
    struct rec r;
    size_t i;
    (void)state;
    memset(reqs, 0, sizeof reqs);
    rec_init(&r, reqs);
    load_cfg(sim_yaml, opts, 1, &cfg);
    if (sk_llm_client_new(&cfg, NULL, &c, &err) != SK_OK)
        fail_msg("%s", err.msg);
    sk_llm_client_set_progress(c, rec_hook, &r);
    for (i = 0; i < 4; i++) {
        ask(&reqs[i], &msgs[i], SK_ROLE_TARGET, "small");
        reqs[i].sample_index = (int)i;
        reqs[i].max_tokens = 100;
    }
    /* the first reservation fits the cap, the others are refused unsent */
    assert_int_equal(sk_llm_call_batch(c, reqs, 4, res), SK_LLM_EBUDGET);
    rec_check(&r, 4, res);
    assert_int_equal(res[0].status, SK_OK);
    for (i = 1; i < 4; i++)
        assert_int_equal(res[i].status, SK_LLM_EBUDGET);
    assert_int_equal(sk_sim_requests(sk_llm_client_sim(c)), 1);
    for (i = 0; i < 4; i++)
        sk_llm_result_release(&res[i]);
    sk_llm_client_free(c);
    sk_config_release(&cfg);
    pthread_mutex_destroy(&r.mu);
}

static void test_client__progress_follows_completion_order(void **state)
{
    struct sk_config cfg;
    struct sk_llm_client *c;
    struct sk_llm_client_opts o;
    struct sk_error err;
    struct sk_llm_request reqs[8];
    struct sk_llm_message msgs[8];
    struct sk_llm_result res[8];
    char texts[8][32];
    struct slowpoke sp;
    struct rec r;
    size_t i;
    (void)state;
    slowpoke_init(&sp, 7);
    memset(reqs, 0, sizeof reqs);
    rec_init(&r, reqs);
    memset(&o, 0, sizeof o);
    o.sim_responder = progress_responder;
    o.sim_ud = &sp;
    load_cfg(sim_yaml, NULL, 0, &cfg);
    if (sk_llm_client_new(&cfg, &o, &c, &err) != SK_OK)
        fail_msg("%s", err.msg);
    sk_llm_client_set_progress(c, rec_hook, &r);
    for (i = 0; i < 8; i++) {
        snprintf(texts[i], sizeof texts[i], "%s %zu",
                 i == 0 ? "slow-one" : "quick", i);
        ask(&reqs[i], &msgs[i], SK_ROLE_TARGET, texts[i]);
    }
    assert_int_equal(sk_llm_call_batch(c, reqs, 8, res), SK_OK);
    rec_check(&r, 8, res);
    /* the head of the batch answered last, and was reported last: the
     * others were not held back behind it */
    assert_int_equal(r.idx[7], 0);
    for (i = 0; i < 8; i++)
        sk_llm_result_release(&res[i]);
    sk_llm_client_free(c);
    sk_config_release(&cfg);
    pthread_mutex_destroy(&r.mu);
    slowpoke_release(&sp);
}

/* Counts requests in flight inside the simulator's responder. */
struct concurrency {
    pthread_mutex_t mu;
    int now, peak;
};

static int concurrency_responder(void *ud, const struct sk_sim_request *req,
                                 struct sk_sim_reply *reply)
{
    struct concurrency *k = ud;
    struct timespec ts = {0, 30 * 1000000L};
    (void)req;
    pthread_mutex_lock(&k->mu);
    if (++k->now > k->peak)
        k->peak = k->now;
    pthread_mutex_unlock(&k->mu);
    nanosleep(&ts, NULL);
    pthread_mutex_lock(&k->mu);
    k->now--;
    pthread_mutex_unlock(&k->mu);
    reply->body = sk_sim_chat_completion("m", "ok", 1, 1);
    reply->body_len = strlen(reply->body);
    return 0;
}

/* gradient.analyst_workers caps optimizer calls in flight, env.workers
 * target calls; results still answer their requests. */
static void test_client__role_limits_in_flight(void **state)
{
    static const char *const opts[] = {"gradient.analyst_workers=3",
                                       "env.workers=5"};
    struct concurrency k;
    struct sk_config cfg;
    struct sk_llm_client *c;
    struct sk_llm_client_opts o;
    struct sk_error err;
    struct sk_llm_request reqs[12];
    struct sk_llm_message msgs[12];
    struct sk_llm_result res[12];
    char texts[12][32];
    size_t i;
    int role;
    (void)state;

    for (role = 0; role < 2; role++) {
        memset(&k, 0, sizeof k);
        pthread_mutex_init(&k.mu, NULL);
        load_cfg(sim_yaml, opts, 2, &cfg);
        memset(&o, 0, sizeof o);
        o.sim_responder = concurrency_responder;
        o.sim_ud = &k;
        if (sk_llm_client_new(&cfg, &o, &c, &err) != SK_OK)
            fail_msg("%s", err.msg);
        for (i = 0; i < 12; i++) {
            snprintf(texts[i], sizeof texts[i], "limit %d %zu", role, i);
            ask(&reqs[i], &msgs[i], role ? SK_ROLE_TARGET : SK_ROLE_OPTIMIZER,
                texts[i]);
        }
        assert_int_equal(sk_llm_call_batch(c, reqs, 12, res), SK_OK);
        for (i = 0; i < 12; i++)
            sk_llm_result_release(&res[i]);
        /* the cap is reached (the batch is parallel) and never passed */
        assert_int_equal(k.peak, role ? 5 : 3);
        sk_llm_client_free(c);
        sk_config_release(&cfg);
        pthread_mutex_destroy(&k.mu);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client__sim_call_and_batch_order),
        cmocka_unit_test(test_client__cache_then_replay),
        cmocka_unit_test(test_client__budget_refuses_before_sending),
        cmocka_unit_test(test_client__provider_errors_and_secrets),
        cmocka_unit_test(test_client__unreachable_provider_is_an_error),
        cmocka_unit_test(test_client__progress_hook_batch_cache_and_failures),
        cmocka_unit_test(test_client__progress_hook_budget_refusals),
        cmocka_unit_test(test_client__progress_follows_completion_order),
        cmocka_unit_test(test_client__role_limits_in_flight),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
