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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client__sim_call_and_batch_order),
        cmocka_unit_test(test_client__cache_then_replay),
        cmocka_unit_test(test_client__budget_refuses_before_sending),
        cmocka_unit_test(test_client__provider_errors_and_secrets),
        cmocka_unit_test(test_client__unreachable_provider_is_an_error),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
