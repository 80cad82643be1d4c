/*
 * test_usage.c - the ledger: prices, the pricing file, costs, the budget's
 * reservations, counters and the JSON summary.
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "llm/usage.h"
#include "util/alloc.h"
#include "util/buf.h"

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
    return 0;
}

/* doubles: cmocka's float assertion works in single precision */
#define assert_money(a, b)                                                     \
    do {                                                                       \
        double a_ = (a), b_ = (b);                                             \
        if (fabs(a_ - b_) > 1e-9)                                              \
            fail_msg("%.12f != %.12f", a_, b_);                                \
    } while (0)

static struct sk_ledger *new_ok(const char *pricing, double max_cost,
                                uint64_t max_tokens)
{
    struct sk_ledger *l = NULL;
    struct sk_error err;
    sk_error_clear(&err);
    if (sk_ledger_new(pricing, max_cost, max_tokens, &l, &err) != SK_OK)
        fail_msg("sk_ledger_new: %s", err.msg);
    assert_non_null(l);
    return l;
}

/* A result with only usage: the ledger reads nothing else but status,
 * attempts and latency. */
static struct sk_llm_result reply(uint64_t prompt, uint64_t cached,
                                  uint64_t completion)
{
    struct sk_llm_result r;
    memset(&r, 0, sizeof r);
    r.status = SK_OK;
    r.usage.prompt_tokens = prompt;
    r.usage.cached_tokens = cached;
    r.usage.completion_tokens = completion;
    r.usage.usage_known = 1;
    r.attempts = 1;
    return r;
}

/* Reserves and settles one call. */
static void call(struct sk_ledger *l, enum sk_role role, const char *stage,
                 const char *model, const struct sk_llm_result *r)
{
    struct sk_error err;
    uint64_t t = 0;
    sk_error_clear(&err);
    if (sk_ledger_reserve(l, model, r->usage.prompt_tokens,
                          r->usage.completion_tokens, &t, &err) != SK_OK)
        fail_msg("reserve: %s", err.msg);
    assert_true(t != 0);
    sk_ledger_settle(l, t, role, stage, model, r);
}

static void test_usage__cost_per_model(void **state)
{
    /* expected: python3 ((p - c) * in + c * cached + o * out) / 1e6 with
     * p = 123456, c = 100000, o = 7890 */
    static const struct {
        const char *model;
        double cost;
    } cases[] = {
        {"gpt-4o", 0.26254},
        {"gpt-4o-mini", 0.0157524},
        {"gpt-4.1", 0.160032},
        {"gpt-4.1-mini", 0.0320064},
        {"o3", 0.160032},
        {"o4-mini", 0.0880176},
        {"gpt-5", 0.12072},
        {"gpt-5-mini", 0.024144},
        {"claude-sonnet-4-5", 0.218718},
        {"claude-sonnet-4-6", 0.218718},
        {"claude-opus-4-1", 1.09359},
        {"claude-haiku-4-5", 0.072906},
        {"sim-optimizer", 0},
    };
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        struct sk_ledger *l = new_ok(NULL, 0, 0);
        struct sk_llm_result r = reply(123456, 100000, 7890);
        struct sk_stage_usage u;
        call(l, SK_ROLE_TARGET, "rollout", cases[i].model, &r);
        sk_ledger_get(l, SK_ROLE_TARGET, "rollout", &u);
        if (u.cost_unknown)
            fail_msg("%s: cost unknown", cases[i].model);
        if (fabs(u.cost_usd - cases[i].cost) > 1e-12)
            fail_msg("%s: cost %.10f, expected %.10f", cases[i].model,
                     u.cost_usd, cases[i].cost);
        assert_int_equal(u.prompt_tokens, 123456);
        assert_int_equal(u.cached_tokens, 100000);
        assert_int_equal(u.completion_tokens, 7890);
        sk_ledger_free(l);
    }
}

static void test_usage__price_prefix_matching(void **state)
{
    static const struct {
        const char *model;
        int found;
        double in, cached, out;
    } cases[] = {
        {"gpt-4o", 1, 2.5, 1.25, 10},
        {"gpt-4o-2024-08-06", 1, 2.5, 1.25, 10},
        {"gpt-4o-mini-2024-07-18", 1, 0.15, 0.075, 0.6},
        {"claude-sonnet-4-5-20250929", 1, 3, 0.3, 15},
        {"claude-haiku-4-5-20251001", 1, 1, 0.1, 5},
        {"gpt-4.1-mini-2025-04-14", 1, 0.4, 0.1, 1.6},
        {"o3-2025-04-16", 1, 2, 0.5, 8},
        {"sim-target", 1, 0, 0, 0},
        {"o3x", 0, 0, 0, 0},   /* a prefix must end at a '-' */
        {"gpt-4", 0, 0, 0, 0}, /* shorter than any entry */
        {"my-azure-deployment", 0, 0, 0, 0},
        {"", 0, 0, 0, 0},
    };
    struct sk_ledger *l = new_ok(NULL, 0, 0);
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        struct sk_price p;
        int rc = sk_ledger_price(l, cases[i].model, &p);
        if (rc != (cases[i].found ? SK_OK : SK_ENOTFOUND))
            fail_msg("%s: rc %d", cases[i].model, rc);
        assert_money(p.input_per_mtok, cases[i].in);
        assert_money(p.cached_per_mtok, cases[i].cached);
        assert_money(p.output_per_mtok, cases[i].out);
    }
    sk_ledger_free(l);
}

static void test_usage__pricing_file_overrides(void **state)
{
    char *path = tu_write(tmpdir, "pricing.yaml",
                          "# prices I negotiated\n"
                          "models:\n"
                          "  gpt-4o: {input: 2, cached_input: 1, output: 8}\n"
                          "  my-deployment:\n"
                          "    input: 0.5\n"
                          "    output: 1.5\n"
                          "  gpt-4o-2024-05-13: {input: 5, output: 15}\n");
    struct sk_ledger *l = new_ok(path, 0, 0);
    struct sk_price p;
    (void)state;

    assert_int_equal(sk_ledger_price(l, "gpt-4o", &p), SK_OK);
    assert_money(p.input_per_mtok, 2);
    assert_money(p.cached_per_mtok, 1);
    assert_money(p.output_per_mtok, 8);
    /* the override also prices the dated variants of its name */
    assert_int_equal(sk_ledger_price(l, "gpt-4o-2024-08-06", &p), SK_OK);
    assert_money(p.output_per_mtok, 8);
    /* ... unless a longer user entry matches */
    assert_int_equal(sk_ledger_price(l, "gpt-4o-2024-05-13", &p), SK_OK);
    assert_money(p.input_per_mtok, 5);
    assert_money(p.cached_per_mtok, 5); /* no cached price: no discount */
    /* built-ins not mentioned survive */
    assert_int_equal(sk_ledger_price(l, "gpt-4o-mini", &p), SK_OK);
    assert_money(p.input_per_mtok, 0.15);
    assert_int_equal(sk_ledger_price(l, "my-deployment", &p), SK_OK);
    assert_money(p.input_per_mtok, 0.5);
    assert_money(p.cached_per_mtok, 0.5);
    assert_money(p.output_per_mtok, 1.5);
    sk_ledger_free(l);
    sk_free(path);
}

static void test_usage__pricing_file_errors(void **state)
{
    static const struct {
        const char *yaml;
        const char *msg; /* after "<path>" */
    } cases[] = {
        {"models:\n  gpt-4o: {input: 2, output: [8\n", ":3:1: invalid YAML"},
        {"models:\n  gpt-4o: {input: -2, output: 8}\n",
         ":2:19: input: '-2' is not a non-negative number"},
        {"models:\n  gpt-4o: {input: cheap, output: 8}\n",
         ":2:19: input: 'cheap' is not a non-negative number"},
        {"models:\n  gpt-4o: {input: 1, ouput: 8}\n",
         ":2:22: gpt-4o: unknown key 'ouput'"},
        {"models:\n  gpt-4o: {input: 1}\n",
         ":2:3: gpt-4o: both input and output prices are required"},
        {"models:\n  gpt-4o: 3\n", ":2:3: gpt-4o: expected {input: X"},
        {"prices:\n  gpt-4o: {input: 1, output: 2}\n",
         ":1:1: unknown key 'prices' (expected 'models')"},
        {"models: [gpt-4o]\n", ":1:1: models: expected a mapping"},
        {"- a\n- b\n", ": expected a mapping with a 'models' key"},
        /* libfyaml 0.7.12 loops forever on this directive: it must be
         * refused before it reaches the parser */
        {"%\xd3"
         "0",
         ":1:2: not a UTF-8 text file"},
    };
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        char name[32], want[1024];
        char *path;
        struct sk_ledger *l = NULL;
        struct sk_error err;
        snprintf(name, sizeof name, "bad%zu.yaml", i);
        path = tu_write(tmpdir, name, cases[i].yaml);
        sk_error_clear(&err);
        assert_int_equal(sk_ledger_new(path, 0, 0, &l, &err), SK_ECONFIG);
        assert_null(l);
        snprintf(want, sizeof want, "%s%s", path, cases[i].msg);
        if (strncmp(err.msg, want, strlen(want)) != 0)
            fail_msg("case %zu: got '%s', want prefix '%s'", i, err.msg, want);
        sk_free(path);
    }
}

static void test_usage__missing_pricing_file(void **state)
{
    struct sk_ledger *l = NULL;
    struct sk_error err;
    (void)state;
    sk_error_clear(&err);
    assert_int_equal(sk_ledger_new("/nonexistent/pricing.yaml", 0, 0, &l, &err),
                     SK_ENOTFOUND);
    assert_null(l);
    assert_non_null(strstr(err.msg, "/nonexistent/pricing.yaml"));
}

static void test_usage__unknown_model_cost_is_unknown(void **state)
{
    struct sk_ledger *l = new_ok(NULL, 0, 0);
    struct sk_llm_result r = reply(1000, 0, 100);
    struct sk_stage_usage u;
    struct sk_buf b;
    json_t *j;
    json_error_t je;
    (void)state;

    call(l, SK_ROLE_OPTIMIZER, "analyst", "gpt-4o", &r);
    call(l, SK_ROLE_TARGET, "rollout", "mystery-model", &r);

    sk_ledger_get(l, SK_ROLE_OPTIMIZER, NULL, &u);
    assert_int_equal(u.cost_unknown, 0);
    assert_money(u.cost_usd, 0.0035);
    sk_ledger_get(l, SK_ROLE_TARGET, NULL, &u);
    assert_int_equal(u.cost_unknown, 1);
    assert_int_equal(u.prompt_tokens, 1000); /* tokens still counted */
    sk_ledger_get(l, SK_ROLE_COUNT, NULL, &u);
    assert_int_equal(u.cost_unknown, 1);
    assert_int_equal(u.calls, 2);

    sk_buf_init(&b, SK_BUF_UNLIMITED);
    assert_int_equal(sk_ledger_summary_json(l, &b), SK_OK);
    memset(&je, 0, sizeof je);
    j = json_loads(sk_buf_cstr(&b), 0, &je);
    assert_non_null(j);
    assert_true(json_is_real(
        json_object_get(json_object_get(j, "analyst"), "cost_usd")));
    assert_true(json_is_null(
        json_object_get(json_object_get(j, "rollout"), "cost_usd")));
    assert_true(json_is_null(
        json_object_get(json_object_get(j, "_total"), "cost_usd")));
    json_decref(j);
    sk_buf_release(&b);
    sk_ledger_free(l);
}

static void test_usage__cost_cap_boundary(void **state)
{
    /* gpt-4o output is $10 per million: 50,000 completion tokens = $0.50 */
    struct sk_ledger *l = new_ok(NULL, 1.0, 0);
    struct sk_error err;
    struct sk_stage_usage u;
    struct sk_llm_result r;
    uint64_t t1 = 0, t2 = 0, t3 = 0;
    (void)state;

    assert_int_equal(sk_ledger_reserve(l, "gpt-4o", 0, 50000, &t1, &err),
                     SK_OK);
    /* lands exactly on the cap: allowed */
    assert_int_equal(sk_ledger_reserve(l, "gpt-4o", 0, 50000, &t2, &err),
                     SK_OK);
    assert_true(t1 != t2);
    /* one token more could exceed it */
    sk_error_clear(&err);
    assert_int_equal(sk_ledger_reserve(l, "gpt-4o", 0, 1, &t3, &err),
                     SK_LLM_EBUDGET);
    assert_int_equal(t3, 0);
    assert_non_null(strstr(err.msg, "budget: this request could bring the "
                                    "run to"));
    assert_non_null(strstr(err.msg, "of its $1.00 cap"));

    /* the first call used $0.10: $0.40 comes back */
    r = reply(0, 0, 10000);
    sk_ledger_settle(l, t1, SK_ROLE_TARGET, "rollout", "gpt-4o", &r);
    assert_int_equal(sk_ledger_reserve(l, "gpt-4o", 0, 40000, &t3, &err),
                     SK_OK);
    assert_int_equal(sk_ledger_reserve(l, "gpt-4o", 0, 1, &t1, &err),
                     SK_LLM_EBUDGET);
    /* refusals leave what was spent alone */
    sk_ledger_get(l, SK_ROLE_COUNT, NULL, &u);
    assert_money(u.cost_usd, 0.10);
    assert_int_equal(u.completion_tokens, 10000);
    assert_int_equal(u.calls, 1);
    sk_ledger_free(l);
}

static void test_usage__cost_cap_message(void **state)
{
    struct sk_ledger *l = new_ok(NULL, 12.0, 0);
    struct sk_error err;
    struct sk_llm_result r = reply(0, 0, 1180000); /* $11.80 */
    uint64_t t = 0, big = 0;
    (void)state;

    sk_error_clear(&err);
    assert_int_equal(sk_ledger_reserve(l, "gpt-4o", 0, 40000, &t, &err),
                     SK_OK); /* $0.40 */
    /* a call that used far more than it reserved: spent may overrun */
    assert_int_equal(sk_ledger_reserve(l, "gpt-4o", 0, 100, &big, &err), SK_OK);
    sk_ledger_settle(l, big, SK_ROLE_OPTIMIZER, "merge", "gpt-4o", &r);
    assert_int_equal(sk_ledger_reserve(l, "gpt-4o", 0, 11000, &big, &err),
                     SK_LLM_EBUDGET); /* $0.11 */
    assert_int_equal(err.code, SK_LLM_EBUDGET);
    assert_string_equal(err.msg, "budget: this request could bring the run "
                                 "to $12.31 of its $12.00 cap (spent $11.80, "
                                 "reserved $0.40)");
    sk_ledger_free(l);
}

static void test_usage__cost_cap_needs_a_price(void **state)
{
    struct sk_ledger *l = new_ok(NULL, 5.0, 0);
    struct sk_ledger *nocap = new_ok(NULL, 0, 0);
    struct sk_error err;
    uint64_t t = 0;
    (void)state;

    sk_error_clear(&err);
    assert_int_equal(sk_ledger_reserve(l, "my-deployment", 10, 10, &t, &err),
                     SK_LLM_EBUDGET);
    assert_string_equal(err.msg, "budget: no price for model my-deployment: "
                                 "add it to llm.pricing or remove "
                                 "llm.max_cost_usd");
    /* without a cost cap an unpriced model may run */
    assert_int_equal(
        sk_ledger_reserve(nocap, "my-deployment", 10, 10, &t, &err), SK_OK);
    sk_ledger_free(l);
    sk_ledger_free(nocap);
}

static void test_usage__token_cap(void **state)
{
    struct sk_ledger *l = new_ok(NULL, 0, 1000);
    struct sk_error err;
    struct sk_llm_result r;
    struct sk_stage_usage u;
    uint64_t t1 = 0, t2 = 0, t3 = 0;
    (void)state;

    assert_int_equal(sk_ledger_reserve(l, "anything", 100, 500, &t1, &err),
                     SK_OK);
    assert_int_equal(sk_ledger_reserve(l, "anything", 100, 300, &t2, &err),
                     SK_OK); /* exactly 1000 */
    sk_error_clear(&err);
    assert_int_equal(sk_ledger_reserve(l, "anything", 1, 0, &t3, &err),
                     SK_LLM_EBUDGET);
    assert_string_equal(err.msg, "budget: this request could bring the run "
                                 "to 1001 tokens of its 1000-token cap "
                                 "(spent 0, reserved 1000)");
    r = reply(90, 0, 110); /* used 200 of the 600 reserved */
    sk_ledger_settle(l, t1, SK_ROLE_TARGET, "rollout", "anything", &r);
    assert_int_equal(sk_ledger_reserve(l, "anything", 0, 400, &t3, &err),
                     SK_OK);
    assert_int_equal(sk_ledger_reserve(l, "anything", 0, 1, &t1, &err),
                     SK_LLM_EBUDGET);
    sk_ledger_get(l, SK_ROLE_COUNT, NULL, &u);
    assert_int_equal(u.prompt_tokens + u.completion_tokens, 200);
    sk_ledger_free(l);
}

static void test_usage__settle_without_usage_and_errors(void **state)
{
    struct sk_ledger *l = new_ok(NULL, 0, 10000);
    struct sk_error err;
    struct sk_llm_result r;
    struct sk_stage_usage u;
    uint64_t t = 0;
    (void)state;

    /* a reply without usage is charged the worst case it reserved */
    assert_int_equal(sk_ledger_reserve(l, "gpt-4o", 300, 700, &t, &err), SK_OK);
    r = reply(0, 0, 0);
    r.usage.usage_known = 0;
    r.attempts = 3;
    r.latency_s = 1.5;
    sk_ledger_settle(l, t, SK_ROLE_TARGET, "rollout", "gpt-4o", &r);
    sk_ledger_get(l, SK_ROLE_TARGET, "rollout", &u);
    assert_int_equal(u.calls, 1);
    assert_int_equal(u.usage_estimated, 1);
    assert_int_equal(u.prompt_tokens, 300);
    assert_int_equal(u.completion_tokens, 700);
    assert_int_equal(u.retries, 2);
    assert_money(u.latency_s, 1.5);
    assert_money(u.cost_usd, (300 * 2.5 + 700 * 10.0) / 1e6);

    /* a failed call is charged only the usage it reports */
    assert_int_equal(sk_ledger_reserve(l, "gpt-4o", 300, 700, &t, &err), SK_OK);
    r = reply(0, 0, 0);
    r.status = SK_LLM_ETIMEOUT;
    r.usage.usage_known = 0;
    sk_ledger_settle(l, t, SK_ROLE_TARGET, "rollout", "gpt-4o", &r);
    assert_int_equal(sk_ledger_reserve(l, "gpt-4o", 300, 700, &t, &err), SK_OK);
    r = reply(50, 0, 5);
    r.status = SK_LLM_EREPLY;
    sk_ledger_settle(l, t, SK_ROLE_TARGET, "rollout", "gpt-4o", &r);
    sk_ledger_get(l, SK_ROLE_TARGET, "rollout", &u);
    assert_int_equal(u.calls, 3);
    assert_int_equal(u.errors, 2);
    assert_int_equal(u.usage_estimated, 1);
    assert_int_equal(u.prompt_tokens, 350);
    assert_int_equal(u.completion_tokens, 705);

    /* nothing is left reserved: the whole remainder can be reserved */
    assert_int_equal(sk_ledger_reserve(l, "gpt-4o", 0, 10000 - 1055, &t, &err),
                     SK_OK);
    assert_int_equal(sk_ledger_reserve(l, "gpt-4o", 0, 1, &t, &err),
                     SK_LLM_EBUDGET);
    sk_ledger_free(l);
}

static void test_usage__cache_hits_and_summary(void **state)
{
    static const char expect[] = "{\n"
                                 "  \"rollout\": {\n"
                                 "    \"calls\": 2,\n"
                                 "    \"prompt_tokens\": 3000,\n"
                                 "    \"completion_tokens\": 300,\n"
                                 "    \"total_tokens\": 3300,\n"
                                 "    \"cached_tokens\": 1000,\n"
                                 "    \"reasoning_tokens\": 0,\n"
                                 "    \"cache_hits\": 1,\n"
                                 "    \"retries\": 0,\n"
                                 "    \"errors\": 0,\n"
                                 "    \"usage_estimated\": 0,\n"
                                 "    \"latency_s\": 0.0,\n"
                                 "    \"cost_usd\": 0.003845\n"
                                 "  },\n"
                                 "  \"analyst\": {\n"
                                 "    \"calls\": 1,\n"
                                 "    \"prompt_tokens\": 100,\n"
                                 "    \"completion_tokens\": 10,\n"
                                 "    \"total_tokens\": 110,\n"
                                 "    \"cached_tokens\": 0,\n"
                                 "    \"reasoning_tokens\": 0,\n"
                                 "    \"cache_hits\": 0,\n"
                                 "    \"retries\": 0,\n"
                                 "    \"errors\": 0,\n"
                                 "    \"usage_estimated\": 0,\n"
                                 "    \"latency_s\": 0.0,\n"
                                 "    \"cost_usd\": 0.0\n"
                                 "  },\n"
                                 "  \"_total\": {\n"
                                 "    \"calls\": 3,\n"
                                 "    \"prompt_tokens\": 3100,\n"
                                 "    \"completion_tokens\": 310,\n"
                                 "    \"total_tokens\": 3410,\n"
                                 "    \"cached_tokens\": 1000,\n"
                                 "    \"reasoning_tokens\": 0,\n"
                                 "    \"cache_hits\": 1,\n"
                                 "    \"retries\": 0,\n"
                                 "    \"errors\": 0,\n"
                                 "    \"usage_estimated\": 0,\n"
                                 "    \"latency_s\": 0.0,\n"
                                 "    \"cost_usd\": 0.003845\n"
                                 "  }\n"
                                 "}";
    struct sk_ledger *l = new_ok(NULL, 0, 0);
    struct sk_llm_result a = reply(2000, 1000, 200), b = reply(1000, 0, 100);
    struct sk_llm_result s = reply(100, 0, 10), hit = reply(5000, 0, 500);
    struct sk_stage_usage u;
    struct sk_buf out;
    (void)state;

    /* rollout: target, priced; analyst: optimizer, the free simulator.
     * rollout also appears under the optimizer, after analyst: it keeps
     * its first place. */
    call(l, SK_ROLE_TARGET, "rollout", "gpt-4o-mini", &a);
    sk_ledger_cache_hit(l, SK_ROLE_TARGET, "rollout", &hit);
    call(l, SK_ROLE_OPTIMIZER, "analyst", "sim-optimizer", &s);
    call(l, SK_ROLE_OPTIMIZER, "rollout", "gpt-4o", &b);

    sk_ledger_get(l, SK_ROLE_TARGET, "rollout", &u);
    assert_int_equal(u.cache_hits, 1);
    assert_int_equal(u.calls, 1);            /* the hit is not a call ... */
    assert_int_equal(u.prompt_tokens, 2000); /* ... and adds no tokens */
    sk_ledger_get(l, SK_ROLE_COUNT, "rollout", &u);
    assert_int_equal(u.calls, 2);

    sk_buf_init(&out, SK_BUF_UNLIMITED);
    assert_int_equal(sk_buf_puts(&out, ">"), SK_OK);
    assert_int_equal(sk_ledger_summary_json(l, &out), SK_OK);
    assert_string_equal(out.data + 1, expect);
    assert_int_equal(out.data[0], '>'); /* appended */
    sk_buf_release(&out);

    /* too small a buffer: refused and left as it was */
    sk_buf_init(&out, 16);
    assert_int_equal(sk_ledger_summary_json(l, &out), SK_ETOOBIG);
    assert_int_equal(out.len, 0);
    sk_buf_release(&out);
    sk_ledger_free(l);
}

static void test_usage__empty_summary(void **state)
{
    struct sk_ledger *l = new_ok(NULL, 0, 0);
    struct sk_buf out;
    json_t *j, *t;
    (void)state;
    sk_buf_init(&out, SK_BUF_UNLIMITED);
    assert_int_equal(sk_ledger_summary_json(l, &out), SK_OK);
    j = json_loads(out.data, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_object_size(j), 1);
    t = json_object_get(j, "_total");
    assert_int_equal(json_integer_value(json_object_get(t, "calls")), 0);
    assert_true(json_is_real(json_object_get(t, "cost_usd")));
    json_decref(j);
    sk_buf_release(&out);
    sk_ledger_free(l);
}

#define THREADS 8
#define PER_THREAD 400

struct worker {
    struct sk_ledger *l;
    int id;
    int refused;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    int i;
    for (i = 0; i < PER_THREAD; i++) {
        struct sk_llm_result r = reply(100, 40, 10);
        struct sk_error err;
        uint64_t t = 0;
        if (sk_ledger_reserve(w->l, "gpt-4o", 150, 50, &t, &err) != SK_OK) {
            w->refused++;
            continue;
        }
        r.attempts = 2;
        sk_ledger_settle(w->l, t,
                         w->id % 2 ? SK_ROLE_TARGET : SK_ROLE_OPTIMIZER,
                         w->id % 3 ? "rollout" : "merge", "gpt-4o", &r);
        if (i % 4 == 0)
            sk_ledger_cache_hit(w->l, SK_ROLE_TARGET, "rollout", &r);
    }
    return NULL;
}

static void test_usage__threads_totals_exact(void **state)
{
    /* The token cap holds every call's reservation at once (200 each),
     * so no reservation may ever be refused; afterwards exactly the
     * settled tokens are spent and nothing stays reserved. */
    const uint64_t cap = (uint64_t)THREADS * PER_THREAD * 200;
    struct sk_ledger *l = new_ok(NULL, 0, cap);
    pthread_t th[THREADS];
    struct worker w[THREADS];
    struct sk_stage_usage u;
    struct sk_error err;
    uint64_t t = 0, n = (uint64_t)THREADS * PER_THREAD;
    double one = (60 * 2.5 + 40 * 1.25 + 10 * 10.0) / 1e6;
    int i;
    (void)state;

    for (i = 0; i < THREADS; i++) {
        w[i].l = l;
        w[i].id = i;
        w[i].refused = 0;
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    for (i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].refused, 0);
    }
    sk_ledger_get(l, SK_ROLE_COUNT, NULL, &u);
    assert_int_equal(u.calls, n);
    assert_int_equal(u.retries, n);
    assert_int_equal(u.prompt_tokens, 100 * n);
    assert_int_equal(u.cached_tokens, 40 * n);
    assert_int_equal(u.completion_tokens, 10 * n);
    assert_int_equal(u.cache_hits, (uint64_t)THREADS * (PER_THREAD / 4));
    if (fabs(u.cost_usd - one * (double)n) > 1e-9)
        fail_msg("cost %.12f, expected %.12f", u.cost_usd, one * (double)n);
    sk_ledger_get(l, SK_ROLE_COUNT, "merge", &u);
    assert_int_equal(u.calls, 3 * PER_THREAD); /* threads 0, 3, 6 */
    sk_ledger_get(l, SK_ROLE_TARGET, NULL, &u);
    assert_int_equal(u.calls, 4 * PER_THREAD);
    /* spent 110 per call; the rest of the cap is free again */
    assert_int_equal(sk_ledger_reserve(l, "gpt-4o", cap - 110 * n, 0, &t, &err),
                     SK_OK);
    assert_int_equal(sk_ledger_reserve(l, "gpt-4o", 1, 0, &t, &err),
                     SK_LLM_EBUDGET);
    sk_ledger_free(l);
}

struct sweep_ctx {
    const char *path;
};

static int sweep_body(void *arg)
{
    struct sweep_ctx *c = arg;
    struct sk_ledger *l = NULL;
    struct sk_error err;
    struct sk_price p;
    struct sk_llm_result r = reply(10, 0, 10);
    uint64_t t = 0;
    struct sk_buf b;
    int rc = sk_ledger_new(c->path, 10.0, 0, &l, &err);
    if (rc != SK_OK) {
        assert_null(l);
        return rc;
    }
    if (sk_ledger_price(l, "model-b-2025", &p) != SK_OK ||
        p.output_per_mtok != 4) {
        sk_ledger_free(l);
        fail_msg("pricing file not applied");
    }
    rc = sk_ledger_reserve(l, "model-a", 10, 10, &t, &err);
    if (rc == SK_OK) {
        sk_ledger_settle(l, t, SK_ROLE_TARGET, "rollout", "model-a", &r);
        sk_buf_init(&b, SK_BUF_UNLIMITED);
        rc = sk_ledger_summary_json(l, &b);
        sk_buf_release(&b);
    }
    sk_ledger_free(l);
    return rc;
}

static void test_usage__allocation_failure_sweep(void **state)
{
    struct sweep_ctx c;
    char *path =
        tu_write(tmpdir, "sweep.yaml",
                 "models:\n"
                 "  model-a: {input: 1, cached_input: 0.5, output: 2}\n"
                 "  model-b: {input: 2, output: 4}\n"
                 "  model-c: {input: 3, output: 6}\n"
                 "  gpt-4o: {input: 3, output: 6}\n");
    (void)state;
    c.path = path;
    assert_true(tu_alloc_sweep(sweep_body, &c) > 5);
    sk_free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usage__cost_per_model),
        cmocka_unit_test(test_usage__price_prefix_matching),
        cmocka_unit_test(test_usage__pricing_file_overrides),
        cmocka_unit_test(test_usage__pricing_file_errors),
        cmocka_unit_test(test_usage__missing_pricing_file),
        cmocka_unit_test(test_usage__unknown_model_cost_is_unknown),
        cmocka_unit_test(test_usage__cost_cap_boundary),
        cmocka_unit_test(test_usage__cost_cap_message),
        cmocka_unit_test(test_usage__cost_cap_needs_a_price),
        cmocka_unit_test(test_usage__token_cap),
        cmocka_unit_test(test_usage__settle_without_usage_and_errors),
        cmocka_unit_test(test_usage__cache_hits_and_summary),
        cmocka_unit_test(test_usage__empty_summary),
        cmocka_unit_test(test_usage__threads_totals_exact),
        cmocka_unit_test(test_usage__allocation_failure_sweep),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
