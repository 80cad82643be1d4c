/*
 * test_demo_opt.c - the demo's simulated optimizer: stage recognition from
 * the real templates, the edits it proposes, merge deduplication, ranking
 * and the shape of every reply.
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "bench/demo.h"
#include "bench/demo_opt.h"
#include "testutil.h"
#include "train/prompt.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/jsonx.h"

/* The embedded template name, plus suffix when not NULL. */
static char *template_text(const char *name, const char *suffix)
{
    struct sk_buf b;
    struct sk_error err;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    assert_int_equal(sk_prompt_lookup(name, NULL, NULL, &b, &err), SK_OK);
    if (suffix) {
        assert_int_equal(sk_buf_putc(&b, '\n'), SK_OK);
        assert_int_equal(sk_prompt_lookup(suffix, NULL, NULL, &b, &err), SK_OK);
    }
    return sk_buf_detach(&b, NULL);
}

/* Runs the responder on a chat request; returns the parsed reply object
 * (200) or NULL, with the status in *status. */
static json_t *ask_status(uint64_t seed, const char *sys, const char *user,
                          int *status)
{
    struct sk_demo_opt *o = sk_demo_opt_new(seed);
    struct sk_sim_request req;
    struct sk_sim_reply rep;
    struct sk_error err;
    json_t *body, *r, *out = NULL;
    char *text;
    const char *content;
    assert_non_null(o);
    body = json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}]}", "model", "opt",
                     "messages", "role", "system", "content", sys, "role",
                     "user", "content", user);
    assert_non_null(body);
    text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    memset(&req, 0, sizeof req);
    memset(&rep, 0, sizeof rep);
    req.method = "POST";
    req.path = "/v1/chat/completions";
    req.query = "";
    req.body = text;
    req.body_len = strlen(text);
    assert_int_equal(sk_demo_opt_respond(o, &req, &rep), 0);
    *status = rep.status ? rep.status : 200;
    assert_non_null(rep.body);
    r = json_loadb(rep.body, rep.body_len, 0, NULL);
    assert_non_null(r);
    if (*status == 200) {
        content = json_string_value(json_object_get(
            json_object_get(json_array_get(json_object_get(r, "choices"), 0),
                            "message"),
            "content"));
        assert_non_null(content);
        if (sk_extract_json(content, strlen(content), &out, &err) != SK_OK)
            fail_msg("reply is not JSON: %s", err.msg);
    } else {
        assert_non_null(json_object_get(r, "error"));
    }
    json_decref(r);
    sk_free(rep.body);
    sk_free(text);
    sk_demo_opt_free(o);
    return out;
}

static json_t *ask(uint64_t seed, const char *sys, const char *user)
{
    int status;
    json_t *r = ask_status(seed, sys, user, &status);
    assert_int_equal(status, 200);
    return r;
}

/* A failure-analyst user message: trajectories of the given families. */
static char *analyst_user(const char *skill, long budget,
                          const char *const *fams, size_t n)
{
    struct sk_buf b;
    size_t i;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    assert_int_equal(sk_buf_printf(&b,
                                   "## Current Skill\n%s\n\n## Edits "
                                   "Budget\nProduce at most L=%ld edits.\n\n"
                                   "## Failed Trajectories (%zu total)\n",
                                   skill, budget, n),
                     SK_OK);
    for (i = 0; i < n; i++)
        assert_int_equal(sk_buf_printf(&b,
                                       "%s### Trajectory %zu (id=t-%zu)\n"
                                       "Task: something\nTask type: %s\n"
                                       "Target conversation: ...\n",
                                       i ? "\n\n---\n\n" : "", i + 1, i,
                                       fams[i]),
                         SK_OK);
    return sk_buf_detach(&b, NULL);
}

static const char *const batch[] = {"dates", "units", "dates",
                                    "money", "units", "dates"};
static const char *const skill_money =
    "# Skill\n\n- Give amounts of money with two decimal places.";

static json_t *edits_of(json_t *r)
{
    json_t *e = json_object_get(json_object_get(r, "patch"), "edits");
    assert_true(json_is_array(e));
    return e;
}

static void test_demo_opt__stages_from_real_templates(void **state)
{
    static const struct {
        const char *name, *key, *sub; /* template, reply key, patch key */
    } rows[] = {
        {"analyst_error", "failure_summary", "edits"},
        {"analyst_error_rewrite", "failure_summary", "revise_suggestions"},
        {"analyst_error_full_rewrite", "failure_summary", "skill_candidates"},
        {"analyst_success", "success_patterns", "edits"},
        {"analyst_success_rewrite", "success_patterns", "revise_suggestions"},
        {"analyst_success_full_rewrite", "success_patterns",
         "skill_candidates"},
        {"merge_failure", "edits", NULL},
        {"merge_success", "edits", NULL},
        {"merge_final", "edits", NULL},
        {"merge_failure_rewrite", "revise_suggestions", NULL},
        {"merge_success_rewrite", "revise_suggestions", NULL},
        {"merge_final_rewrite", "revise_suggestions", NULL},
        {"merge_failure_full_rewrite", "skill_candidates", NULL},
        {"merge_success_full_rewrite", "skill_candidates", NULL},
        {"merge_final_full_rewrite", "skill_candidates", NULL},
        {"ranking", "selected_indices", NULL},
        {"ranking_rewrite", "selected_indices", NULL},
        {"lr_autonomous", "learning_rate", NULL},
        {"slow_update", "slow_update_content", NULL},
        {"meta_skill", "meta_skill_content", NULL},
        {"rewrite_skill", "new_skill", NULL},
        {"appendix_consolidate", "appendix_notes", NULL},
    };
    char *user = analyst_user(skill_money, 2, batch, SK_ARRAY_LEN(batch));
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(rows); i++) {
        char *sys = template_text(rows[i].name, NULL);
        json_t *r = ask(7, sys, user), *v = json_object_get(r, rows[i].key);
        if (!v)
            fail_msg("%s: no %s", rows[i].name, rows[i].key);
        assert_true(json_is_string(json_object_get(r, "reasoning")) ||
                    json_is_object(json_object_get(r, "patch")) ||
                    json_is_array(json_object_get(r, "appendix_notes")));
        if (rows[i].sub)
            assert_true(json_is_array(
                json_object_get(json_object_get(r, "patch"), rows[i].sub)));
        json_decref(r);
        sk_free(sys);
    }
    sk_free(user);
}

static void test_demo_opt__unrecognised_is_400(void **state)
{
    static const char *const names[] = {"format_reminder"};
    int status;
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(names); i++) {
        char *sys = template_text(names[i], NULL);
        assert_null(ask_status(1, sys, "hello", &status));
        assert_int_equal(status, 400);
        sk_free(sys);
    }
    assert_null(ask_status(1, "You are a helpful assistant.", "hi", &status));
    assert_int_equal(status, 400);
}

/* Across seeds: rules of the failing, unknown families only, most common
 * first, within the budget; sometimes harmful or unmatched. */
static void test_demo_opt__analyst_error_edits(void **state)
{
    const struct sk_demo_family *dates = sk_demo_family_find("dates");
    const struct sk_demo_family *units = sk_demo_family_find("units");
    char *sys = template_text("analyst_error", NULL);
    char *user = analyst_user(skill_money, 2, batch, SK_ARRAY_LEN(batch));
    char *user1 = analyst_user(skill_money, 1, batch, SK_ARRAY_LEN(batch));
    int useful = 0, harmful = 0, unmatched = 0;
    uint64_t seed;
    json_t *r, *s;
    (void)state;
    for (seed = 0; seed < 200; seed++) {
        json_t *e, *ed;
        size_t i;
        r = ask(seed, sys, user);
        ed = edits_of(r);
        assert_int_equal(json_array_size(ed), 2);
        json_array_foreach(ed, i, e)
        {
            const struct sk_demo_family *f = i == 0 ? dates : units;
            const char *op = json_string_value(json_object_get(e, "op"));
            const char *c = json_string_value(json_object_get(e, "content"));
            assert_non_null(op);
            assert_non_null(c);
            if (strcmp(op, "replace") == 0) {
                const char *t = json_string_value(json_object_get(e, "target"));
                assert_non_null(t);
                assert_null(strstr(skill_money, t));
                assert_string_equal(c, f->rule);
                unmatched++;
            } else {
                assert_string_equal(op, "append");
                if (f->harmful_rule && strcmp(c, f->harmful_rule) == 0)
                    harmful++;
                else {
                    assert_string_equal(c, f->rule);
                    useful++;
                }
            }
        }
        if (seed == 0) {
            assert_int_equal(
                json_integer_value(json_object_get(r, "batch_size")), 6);
            s = json_object_get(r, "failure_summary");
            assert_int_equal(json_array_size(s), 3);
            assert_int_equal(json_integer_value(json_object_get(
                                 json_array_get(s, 0), "count")),
                             3);
            assert_int_equal(json_integer_value(json_object_get(
                                 json_array_get(s, 2), "count")),
                             1);
            assert_null(json_object_get(r, "appendix_notes"));
        }
        json_decref(r);
        r = ask(seed, sys, user1);
        assert_int_equal(json_array_size(edits_of(r)), 1);
        json_decref(r);
    }
    assert_true(harmful > 0);
    assert_true(unmatched > 0);
    assert_true(useful > harmful + unmatched);
    sk_free(user);
    sk_free(user1);
    sk_free(sys);
}

static void test_demo_opt__known_families_are_skipped(void **state)
{
    char *sys = template_text("analyst_error", NULL);
    char *user = analyst_user("- Write dates as YYYY-MM-DD.\n- Always give "
                              "the unit of measurement.\n- two decimal "
                              "places",
                              3, batch, SK_ARRAY_LEN(batch));
    uint64_t seed;
    (void)state;
    for (seed = 0; seed < 20; seed++) {
        json_t *r = ask(seed, sys, user);
        assert_int_equal(json_array_size(edits_of(r)), 0);
        json_decref(r);
    }
    sk_free(user);
    sk_free(sys);
}

static void test_demo_opt__skill_aware_adds_notes(void **state)
{
    char *sys = template_text("analyst_error", "skill_aware_failure");
    char *user = analyst_user(skill_money, 2, batch, SK_ARRAY_LEN(batch));
    json_t *r = ask(3, sys, user), *n = json_object_get(r, "appendix_notes");
    json_t *s = json_object_get(r, "failure_summary"), *e;
    size_t i;
    (void)state;
    assert_int_equal(json_array_size(n), 1);
    assert_non_null(
        strstr(json_string_value(json_array_get(n, 0)), "two decimal places"));
    json_array_foreach(s, i, e)
    {
        const char *cat = json_string_value(json_object_get(e, "category"));
        const char *ft = json_string_value(json_object_get(e, "failure_type"));
        assert_non_null(cat);
        assert_string_equal(cat, strncmp(ft, "money", 5) == 0
                                     ? "EXECUTION_LAPSE"
                                     : "SKILL_DEFECT");
    }
    json_decref(r);
    sk_free(user);
    sk_free(sys);
}

static void test_demo_opt__deterministic(void **state)
{
    char *sys = template_text("analyst_error", NULL);
    char *user = analyst_user("# Skill", 3, batch, SK_ARRAY_LEN(batch));
    json_t *a = ask(11, sys, user), *b = ask(11, sys, user);
    (void)state;
    assert_true(json_equal(a, b));
    json_decref(a);
    json_decref(b);
    sk_free(user);
    sk_free(sys);
}

static const char merge_user[] =
    "## Current Skill\n# Skill\n\n## Patches to merge (2 total, merge level "
    "1)\n"
    "[\n  {\"reasoning\": \"a\", \"edits\": [\n"
    "    {\"op\": \"append\", \"content\": \"Rule A.\"},\n"
    "    {\"op\": \"append\", \"content\": \"Rule B.\", \"support_count\": 2}\n"
    "  ]},\n"
    "  {\"reasoning\": \"b\", \"edits\": [\n"
    "    {\"op\": \"append\", \"content\": \"Rule B.\", \"support_count\": "
    "3},\n"
    "    {\"op\": \"replace\", \"target\": \"x\", \"content\": \"Rule C.\"}\n"
    "  ]}\n]";

static void test_demo_opt__merge_dedupes(void **state)
{
    static const struct {
        const char *tmpl, *source;
    } rows[] = {{"merge_failure", "failure"}, {"merge_success", "success"}};
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(rows); i++) {
        char *sys = template_text(rows[i].tmpl, NULL);
        json_t *r = ask(5, sys, merge_user), *ed = json_object_get(r, "edits");
        json_t *e;
        size_t j;
        assert_int_equal(json_array_size(ed), 3);
        json_array_foreach(ed, j, e)
        {
            static const char *const want[] = {"Rule A.", "Rule B.", "Rule C."};
            static const int sup[] = {1, 5, 1};
            assert_string_equal(
                json_string_value(json_object_get(e, "content")), want[j]);
            assert_int_equal(
                json_integer_value(json_object_get(e, "support_count")),
                sup[j]);
            assert_string_equal(
                json_string_value(json_object_get(e, "source_type")),
                rows[i].source);
        }
        json_decref(r);
        sk_free(sys);
    }
}

static void test_demo_opt__merge_final_groups(void **state)
{
    char *sys = template_text("merge_final", NULL);
    json_t *r = ask(5, sys,
                    "## Current Skill\nx\n\n## Two pre-merged patch groups "
                    "to combine\nGroup 1: 1\nGroup 2: 2\n\n"
                    "[{\"edits\": [{\"op\": \"append\", \"content\": "
                    "\"F\"}]}, {\"edits\": [{\"op\": \"append\", \"content\": "
                    "\"F\"}, {\"op\": \"append\", \"content\": \"S\"}]}]");
    json_t *ed = json_object_get(r, "edits");
    (void)state;
    assert_int_equal(json_array_size(ed), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ed, 0),
                                                          "source_type")),
                        "failure");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(ed, 0),
                                                        "support_count")),
                     2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ed, 1),
                                                          "source_type")),
                        "success");
    json_decref(r);
    sk_free(sys);
}

static void test_demo_opt__ranking_prefers_useful(void **state)
{
    char *sys = template_text("ranking", NULL);
    json_t *r = ask(5, sys,
                    "## Current Skill\n# Skill\n\n## Edit Pool (4 edits, "
                    "budget=2)\n"
                    "[0] op=append content=Be careful.\n"
                    "[1] op=append content=Write dates as DD/MM/YYYY.\n"
                    "[2] op=append content=State the unit of measurement.\n"
                    "[3] op=append content=Think twice.\n\n"
                    "Select the 2 most important edits.");
    json_t *sel = json_object_get(r, "selected_indices");
    (void)state;
    assert_int_equal(json_array_size(sel), 2);
    assert_int_equal(json_integer_value(json_array_get(sel, 0)), 2);
    assert_int_equal(json_integer_value(json_array_get(sel, 1)), 0);
    json_decref(r);
    sk_free(sys);
}

static void test_demo_opt__slow_update_and_rewrite(void **state)
{
    const struct sk_demo_family *units = sk_demo_family_find("units");
    const struct sk_demo_family *dates = sk_demo_family_find("dates");
    char *sys = template_text("slow_update", NULL);
    char *rsys = template_text("rewrite_skill", NULL);
    json_t *r = ask(5, sys,
                    "## Persistent failures\nTask type: units\n\n"
                    "## Stable successes\nTask type: dates\n");
    const char *c =
        json_string_value(json_object_get(r, "slow_update_content"));
    const char *ns;
    (void)state;
    assert_non_null(c);
    assert_non_null(strstr(c, units->rule));
    assert_null(strstr(c, dates->rule));
    json_decref(r);
    /* The comparison as the slow update renders it: tasks by their text. */
    r = ask(5, sys,
            "## Comparison\n### Summary\nCompared items: 3\n\n"
            "### Regressed (pass -> fail) - HIGHEST PRIORITY\n\n"
            "#### Item train-1\nTask: What is the capital of Peru?\n"
            "Previous skill trajectory:\n```\n# Skill\nTask: Write the "
            "date 1 May 2024.\n```\n\n"
            "### Improved (fail -> pass)\n\n#### Item train-2\nTask: "
            "A runner covers 3 km in the morning and 4 km later.\n");
    c = json_string_value(json_object_get(r, "slow_update_content"));
    assert_non_null(c);
    assert_non_null(strstr(c, sk_demo_family_find("capitals")->rule));
    assert_null(strstr(c, units->rule));
    assert_null(strstr(c, dates->rule));
    json_decref(r);
    r = ask(5, rsys,
            "## Current Skill\n# Skill\n\n## Selected Suggestions\n"
            "[{\"instruction\": \"Add a rule on yyyy-mm-dd dates.\"}]");
    ns = json_string_value(json_object_get(r, "new_skill"));
    assert_non_null(ns);
    assert_int_equal(strncmp(ns, "# Skill", 7), 0);
    assert_non_null(strstr(ns, dates->rule));
    json_decref(r);
    sk_free(rsys);
    sk_free(sys);
}

static void test_demo_opt__rewrite_modes_carry_rules(void **state)
{
    const struct sk_demo_family *units = sk_demo_family_find("units");
    char *sys = template_text("analyst_error_rewrite", NULL);
    char *fsys = template_text("analyst_error_full_rewrite", NULL);
    static const char *const only_units[] = {"units", "units"};
    char *user = analyst_user(skill_money, 2, only_units, 2);
    json_t *r = ask(1, sys, user), *s, *cand;
    const char *ns;
    (void)state;
    s = json_object_get(json_object_get(r, "patch"), "revise_suggestions");
    assert_int_equal(json_array_size(s), 1);
    assert_non_null(strstr(
        json_string_value(json_object_get(json_array_get(s, 0), "instruction")),
        units->rule));
    json_decref(r);
    r = ask(1, fsys, user);
    cand = json_array_get(
        json_object_get(json_object_get(r, "patch"), "skill_candidates"), 0);
    ns = json_string_value(json_object_get(cand, "new_skill"));
    assert_non_null(ns);
    assert_int_equal(strncmp(ns, skill_money, strlen(skill_money)), 0);
    assert_non_null(strstr(ns, units->rule));
    json_decref(r);
    sk_free(user);
    sk_free(fsys);
    sk_free(sys);
}

/* Consolidation: case-insensitive duplicates go; past three notes the rest
 * fold into the third; three distinct notes come back as they are. */
static void test_demo_opt__consolidates_notes(void **state)
{
    static const struct {
        const char *notes; /* JSON list shown */
        const char *want;  /* appendix_notes, compact JSON */
    } rows[] = {
        {"[\"Check units.\", \"check UNITS. \", \"Use two decimals.\"]",
         "[\"Check units.\",\"Use two decimals.\"]"},
        {"[\"A.\", \"B.\", \"C.\"]", "[\"A.\",\"B.\",\"C.\"]"},
        {"[\"A.\", \"B.\", \"C.\", \"a.\", \"D.\", \"E.\"]",
         "[\"A.\",\"B.\",\"C. D. E.\"]"},
        {"[]", "[]"},
    };
    char *sys = template_text("appendix_consolidate", NULL);
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(rows); i++) {
        char user[512], *got;
        json_t *r, *again;
        snprintf(user, sizeof user,
                 "## Current Execution Notes (n total)\n%s\n\nCompact them.",
                 rows[i].notes);
        r = ask(3, sys, user);
        got = json_dumps(json_object_get(r, "appendix_notes"), JSON_COMPACT);
        assert_non_null(got);
        assert_string_equal(got, rows[i].want);
        again = ask(99, sys, user); /* no draw involved: seed-independent */
        assert_true(json_equal(r, again));
        json_decref(again);
        sk_free(got);
        json_decref(r);
    }
    sk_free(sys);
}

struct sweep_ctx {
    struct sk_sim_request req;
};

static int sweep_body(void *ud)
{
    struct sweep_ctx *s = ud;
    struct sk_demo_opt *o = sk_demo_opt_new(9);
    struct sk_sim_reply rep;
    int rc;
    if (!o)
        return SK_ENOMEM;
    memset(&rep, 0, sizeof rep);
    rc = sk_demo_opt_respond(o, &s->req, &rep);
    sk_free(rep.body);
    sk_demo_opt_free(o);
    return rc ? SK_ENOMEM : SK_OK;
}

static void test_demo_opt__alloc_failures(void **state)
{
    static const char ranking_user[] =
        "## Current Skill\nx\n\n## Edit Pool (2 edits, budget=1)\n"
        "[0] a\n[1] unit of measurement";
    static const char consolidate_user[] =
        "## Current Execution Notes (5 total)\n[\"A.\", \"a.\", \"B.\", "
        "\"C.\", \"D.\", \"E.\"]";
    char *user = analyst_user(skill_money, 2, batch, SK_ARRAY_LEN(batch));
    const struct {
        const char *tmpl, *suffix, *user;
    } rows[] = {
        {"analyst_error", "skill_aware_failure", user},
        {"analyst_error_rewrite", NULL, user},
        {"analyst_error_full_rewrite", NULL, user},
        {"analyst_success", "skill_aware_success", user},
        {"merge_failure", NULL, merge_user},
        {"merge_final_full_rewrite", NULL, merge_user},
        {"ranking", NULL, ranking_user},
        {"lr_autonomous", NULL, user},
        {"slow_update", NULL, user},
        {"meta_skill", NULL, user},
        {"rewrite_skill", NULL, user},
        {"appendix_consolidate", NULL, consolidate_user},
    };
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(rows); i++) {
        char *sys = template_text(rows[i].tmpl, rows[i].suffix);
        json_t *body = json_pack("{s:[{s:s, s:s}, {s:s, s:s}]}", "messages",
                                 "role", "system", "content", sys, "role",
                                 "user", "content", rows[i].user);
        char *text = json_dumps(body, JSON_COMPACT);
        struct sweep_ctx s;
        memset(&s, 0, sizeof s);
        s.req.body = text;
        s.req.body_len = strlen(text);
        json_decref(body);
        assert_true(tu_alloc_sweep(sweep_body, &s) > 1);
        sk_free(text);
        sk_free(sys);
    }
    sk_free(user);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demo_opt__stages_from_real_templates),
        cmocka_unit_test(test_demo_opt__unrecognised_is_400),
        cmocka_unit_test(test_demo_opt__analyst_error_edits),
        cmocka_unit_test(test_demo_opt__known_families_are_skipped),
        cmocka_unit_test(test_demo_opt__skill_aware_adds_notes),
        cmocka_unit_test(test_demo_opt__deterministic),
        cmocka_unit_test(test_demo_opt__merge_dedupes),
        cmocka_unit_test(test_demo_opt__merge_final_groups),
        cmocka_unit_test(test_demo_opt__ranking_prefers_useful),
        cmocka_unit_test(test_demo_opt__slow_update_and_rewrite),
        cmocka_unit_test(test_demo_opt__rewrite_modes_carry_rules),
        cmocka_unit_test(test_demo_opt__consolidates_notes),
        cmocka_unit_test(test_demo_opt__alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
