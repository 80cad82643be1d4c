/*
 * test_prompt.c - embedded templates, override precedence, rendering.
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "train/prompt.h"
#include "util/alloc.h"
#include "util/buf.h"

#define EDIT_KEYS "\"op\"", "\"target\"", "\"content\""
#define SUGG_KEYS                                                              \
    "\"type\"", "\"title\"", "\"motivation\"", "\"instruction\"",              \
        "\"priority_hint\""
#define CAND_KEYS "\"title\"", "\"change_summary\"", "\"new_skill\""

/* Every template the trainer asks for, with the reply keys it must name. */
static const struct {
    const char *name;
    const char *keys[24];
} expected[] = {
    {"analyst_error",
     {"\"batch_size\"", "\"failure_summary\"", "\"failure_type\"", "\"count\"",
      "\"description\"", "\"patch\"", "\"reasoning\"", "\"edits\"", EDIT_KEYS,
      "\"append\"", "\"insert_after\"", "\"replace\"", "\"delete\""}},
    {"analyst_success",
     {"\"batch_size\"", "\"success_patterns\"", "\"patch\"", "\"reasoning\"",
      "\"edits\"", EDIT_KEYS, "\"append\"", "\"insert_after\"", "\"replace\"",
      "\"delete\""}},
    {"analyst_error_rewrite",
     {"\"batch_size\"", "\"failure_summary\"", "\"failure_type\"", "\"patch\"",
      "\"reasoning\"", "\"revise_suggestions\"", SUGG_KEYS, "add_rule",
      "remove_rule", "merge_rules", "reorganize", "compress", "clarify"}},
    {"analyst_success_rewrite",
     {"\"batch_size\"", "\"success_patterns\"", "\"patch\"", "\"reasoning\"",
      "\"revise_suggestions\"", SUGG_KEYS}},
    {"analyst_error_full_rewrite",
     {"\"batch_size\"", "\"failure_summary\"", "\"patch\"", "\"reasoning\"",
      "\"skill_candidates\"", CAND_KEYS}},
    {"analyst_success_full_rewrite",
     {"\"batch_size\"", "\"success_patterns\"", "\"patch\"", "\"reasoning\"",
      "\"skill_candidates\"", CAND_KEYS}},
    {"merge_failure",
     {"\"reasoning\"", "\"edits\"", EDIT_KEYS, "\"support_count\"",
      "\"source_type\""}},
    {"merge_success",
     {"\"reasoning\"", "\"edits\"", EDIT_KEYS, "\"support_count\"",
      "\"source_type\""}},
    {"merge_final",
     {"\"reasoning\"", "\"edits\"", EDIT_KEYS, "\"support_count\"",
      "\"source_type\""}},
    {"merge_failure_rewrite",
     {"\"reasoning\"", "\"revise_suggestions\"", SUGG_KEYS, "\"support_count\"",
      "\"source_type\""}},
    {"merge_success_rewrite",
     {"\"reasoning\"", "\"revise_suggestions\"", SUGG_KEYS, "\"support_count\"",
      "\"source_type\""}},
    {"merge_final_rewrite",
     {"\"reasoning\"", "\"revise_suggestions\"", SUGG_KEYS, "\"support_count\"",
      "\"source_type\""}},
    {"merge_failure_full_rewrite",
     {"\"reasoning\"", "\"skill_candidates\"", CAND_KEYS}},
    {"merge_success_full_rewrite",
     {"\"reasoning\"", "\"skill_candidates\"", CAND_KEYS}},
    {"merge_final_full_rewrite",
     {"\"reasoning\"", "\"skill_candidates\"", CAND_KEYS}},
    {"ranking", {"\"reasoning\"", "\"selected_indices\""}},
    {"ranking_rewrite", {"\"reasoning\"", "\"selected_indices\""}},
    {"lr_autonomous",
     {"\"learning_rate\"", "\"reasoning\"", "\"confidence\"", "\"risk_notes\"",
      "\"low\"", "\"medium\"", "\"high\""}},
    {"rewrite_skill", {"\"reasoning\"", "\"change_summary\"", "\"new_skill\""}},
    {"slow_update", {"\"reasoning\"", "\"slow_update_content\""}},
    {"meta_skill", {"\"reasoning\"", "\"meta_skill_content\""}},
    {"appendix_consolidate", {"\"appendix_notes\""}},
    {"skill_aware_failure",
     {"\"appendix_notes\"", "SKILL_DEFECT", "EXECUTION_LAPSE"}},
    {"skill_aware_success",
     {"\"appendix_notes\"", "\"reflection_type\"", "DISCOVERY",
      "OPTIMIZATION"}},
    {"format_reminder", {"JSON"}},
    {"searchqa/rollout_system", {"{{skill_section}}", "<answer></answer>"}},
    {"searchqa/rollout_user",
     {"{{question}}", "{{context}}", "<answer></answer>"}},
};

static void test_prompt__all_templates_embedded_with_schema_keys(void **state)
{
    size_t i, k, len;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(expected); i++) {
        const char *text = sk_prompt_embedded_find(expected[i].name, &len);
        if (!text)
            fail_msg("template %s is not embedded", expected[i].name);
        assert_true(len > 0);
        assert_int_equal(strlen(text), len);
        for (k = 0; k < SK_ARRAY_LEN(expected[i].keys); k++) {
            const char *key = expected[i].keys[k];
            if (key && !strstr(text, key))
                fail_msg("template %s does not mention %s", expected[i].name,
                         key);
        }
    }
    assert_null(sk_prompt_embedded_find("no_such_prompt", &len));
    assert_null(sk_prompt_embedded_find("rollout_system", &len));
}

/* System prompts are sent as they are: only the rollout ones have slots. */
static void test_prompt__system_templates_render_without_vars(void **state)
{
    struct sk_buf out;
    struct sk_error err;
    size_t i, len;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(expected); i++) {
        const char *text = sk_prompt_embedded_find(expected[i].name, &len);
        if (strncmp(expected[i].name, "searchqa/", 9) == 0)
            continue;
        sk_buf_init(&out, SK_BUF_UNLIMITED);
        if (sk_prompt_render(text, len, NULL, 0, &out, &err) != SK_OK)
            fail_msg("%s: %s", expected[i].name, err.msg);
        assert_int_equal(out.len, len);
        assert_memory_equal(out.data, text, len);
        sk_buf_release(&out);
    }
}

static void expect_lookup(const char *name, const char *bench, const char *dir,
                          const char *want)
{
    struct sk_buf out;
    struct sk_error err;
    int rc;
    sk_buf_init(&out, SK_BUF_UNLIMITED);
    rc = sk_prompt_lookup(name, bench, dir, &out, &err);
    if (rc != SK_OK)
        fail_msg("lookup %s/%s: %s", bench ? bench : "-", name, err.msg);
    assert_string_equal(sk_buf_cstr(&out), want);
    sk_buf_release(&out);
}

static void test_prompt__override_precedence(void **state)
{
    char *dir = tu_mkdtemp();
    const char *emb_sys =
        sk_prompt_embedded_find("searchqa/rollout_system", NULL);
    const char *emb_err = sk_prompt_embedded_find("analyst_error", NULL);
    (void)state;

    /* Nothing overridden: embedded bench copy, then embedded plain. */
    expect_lookup("rollout_system", "searchqa", dir, emb_sys);
    expect_lookup("analyst_error", "searchqa", dir, emb_err);
    expect_lookup("analyst_error", NULL, NULL, emb_err);
    expect_lookup("analyst_error", "", "", emb_err);

    /* A plain override beats both embedded copies. */
    sk_free(tu_write(dir, "rollout_system.md", "plain sys"));
    sk_free(tu_write(dir, "analyst_error.md", "plain err"));
    expect_lookup("rollout_system", "searchqa", dir, "plain sys");
    expect_lookup("analyst_error", "searchqa", dir, "plain err");
    expect_lookup("analyst_error", NULL, dir, "plain err");
    /* Without a prompts_dir the files are not seen. */
    expect_lookup("analyst_error", "searchqa", NULL, emb_err);

    /* A per-benchmark override beats the plain one, for that bench only. */
    sk_free(tu_write(dir, "searchqa/analyst_error.md", "bench err"));
    expect_lookup("analyst_error", "searchqa", dir, "bench err");
    expect_lookup("analyst_error", "other", dir, "plain err");
    expect_lookup("analyst_error", NULL, dir, "plain err");

    /* Nested names resolve the same way. */
    sk_free(tu_write(dir, "searchqa/sub/x.md", "nested"));
    expect_lookup("sub/x", "searchqa", dir, "nested");

    tu_rmtree(dir);
    sk_free(dir);
}

static void test_prompt__lookup_errors(void **state)
{
    static const struct {
        const char *name, *bench;
        int rc;
    } cases[] = {
        {"no_such_prompt", NULL, SK_ENOTFOUND},
        {"no_such_prompt", "searchqa", SK_ENOTFOUND},
        {"rollout_system", NULL, SK_ENOTFOUND},
        {"../analyst_error", NULL, SK_EINVAL},
        {"/etc/passwd", NULL, SK_EINVAL},
        {"a//b", NULL, SK_EINVAL},
        {"a/", NULL, SK_EINVAL},
        {"", NULL, SK_EINVAL},
        {NULL, NULL, SK_EINVAL},
        {"a.md", NULL, SK_EINVAL},
        {"analyst_error", "..", SK_EINVAL},
        {"analyst_error", "a/b", SK_EINVAL},
    };
    struct sk_buf out;
    struct sk_error err;
    char *dir = tu_mkdtemp();
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        sk_buf_init(&out, SK_BUF_UNLIMITED);
        assert_int_equal(
            sk_prompt_lookup(cases[i].name, cases[i].bench, dir, &out, &err),
            cases[i].rc);
        assert_int_equal(out.len, 0);
        assert_true(err.msg[0] != '\0');
        sk_buf_release(&out);
    }
    /* The not-found message names the prompt. */
    sk_buf_init(&out, SK_BUF_UNLIMITED);
    assert_int_equal(
        sk_prompt_lookup("no_such_prompt", "searchqa", dir, &out, &err),
        SK_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no_such_prompt"));

    /* An unreadable override is an error, not silently skipped. */
    sk_free(tu_write(dir, "analyst_error.md/inner", "x"));
    assert_int_equal(sk_prompt_lookup("analyst_error", NULL, dir, &out, &err),
                     SK_EIO);
    assert_non_null(strstr(err.msg, "analyst_error.md"));

    /* out's cap applies, and out is left as it was. */
    sk_buf_release(&out);
    sk_buf_init(&out, 16);
    assert_int_equal(sk_buf_puts(&out, "keep"), SK_OK);
    assert_int_equal(sk_prompt_lookup("ranking", NULL, NULL, &out, &err),
                     SK_ETOOBIG);
    assert_string_equal(sk_buf_cstr(&out), "keep");
    sk_free(tu_write(dir, "ranking.md", "0123456789abcdefXYZ"));
    assert_int_equal(sk_prompt_lookup("ranking", NULL, dir, &out, &err),
                     SK_ETOOBIG);
    assert_string_equal(sk_buf_cstr(&out), "keep");
    sk_buf_release(&out);
    tu_rmtree(dir);
    sk_free(dir);
}

static void test_prompt__lookup_appends(void **state)
{
    struct sk_buf out;
    struct sk_error err;
    const char *emb = sk_prompt_embedded_find("format_reminder", NULL);
    (void)state;
    sk_buf_init(&out, SK_BUF_UNLIMITED);
    assert_int_equal(sk_buf_puts(&out, "head:"), SK_OK);
    assert_int_equal(
        sk_prompt_lookup("format_reminder", NULL, NULL, &out, &err), SK_OK);
    assert_memory_equal(out.data, "head:", 5);
    assert_string_equal(out.data + 5, emb);
    sk_buf_release(&out);
}

#define VAR(n, v)                                                              \
    {                                                                          \
        n, v, sizeof(v) - 1                                                    \
    }

static void test_prompt__render_cases(void **state)
{
    static const struct sk_prompt_var vars[] = {
        VAR("question", "Q?"),
        VAR("context", "[DOC] a {{question}} b"),
        VAR("empty", ""),
        VAR("question", "shadowed"),
    };
    static const struct {
        const char *tmpl, *want;
    } cases[] = {
        {"", ""},
        {"plain text", "plain text"},
        {"{{question}}", "Q?"},
        {"a {{question}} b {{question}}", "a Q? b Q?"},
        {"{{ question }}|{{\tquestion}}", "Q?|Q?"},
        {"x{{empty}}y", "xy"},
        /* values are inserted verbatim, never rescanned */
        {"{{context}}", "[DOC] a {{question}} b"},
        /* JSON braces pass through untouched */
        {"{\"a\": {\"b\": [1, {}]}}", "{\"a\": {\"b\": [1, {}]}}"},
        {"{\"q\": \"{{question}}\"}}", "{\"q\": \"Q?\"}}"},
        {"{ {question} }", "{ {question} }"},
        /* {{{{ is a literal {{ */
        {"{{{{question}}", "{{question}}"},
        {"{{{{{{question}}", "{{Q?"},
        {"a{{{{", "a{{"},
        {"}}", "}}"},
        {"end {", "end {"},
        {"## Skill\n{{question}}\n", "## Skill\nQ?\n"},
    };
    struct sk_buf out;
    struct sk_error err;
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        sk_buf_init(&out, SK_BUF_UNLIMITED);
        if (sk_prompt_render(cases[i].tmpl, strlen(cases[i].tmpl), vars,
                             SK_ARRAY_LEN(vars), &out, &err) != SK_OK)
            fail_msg("case %zu: %s", i, err.msg);
        assert_string_equal(sk_buf_cstr(&out), cases[i].want);
        sk_buf_release(&out);
    }
}

static void test_prompt__render_errors(void **state)
{
    static const struct sk_prompt_var vars[] = {VAR("known", "K")};
    static const struct {
        const char *tmpl, *msg;
    } cases[] = {
        {"{{unknown}}", "line 1: unknown placeholder {{unknown}}"},
        {"a\nb\n  {{known}} {{nope}}\n",
         "line 3: unknown placeholder {{nope}}"},
        {"\n\n\n{{known", "line 4: unterminated"},
        {"{{}}", "line 1: malformed"},
        {"x\n{{a b}}", "line 2: malformed"},
        {"{{{known}}}", "line 1: malformed"},
        {"{{known}", "line 1: malformed"},
        {"{{known-x}}", "line 1: malformed"},
        {"{{", "line 1: unterminated"},
    };
    struct sk_buf out;
    struct sk_error err;
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        sk_buf_init(&out, SK_BUF_UNLIMITED);
        assert_int_equal(sk_buf_puts(&out, "keep"), SK_OK);
        assert_int_equal(sk_prompt_render(cases[i].tmpl, strlen(cases[i].tmpl),
                                          vars, SK_ARRAY_LEN(vars), &out, &err),
                         SK_EPARSE);
        if (!strstr(err.msg, cases[i].msg))
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, cases[i].msg);
        /* partial output is rolled back */
        assert_string_equal(sk_buf_cstr(&out), "keep");
        sk_buf_release(&out);
    }
    /* The cap applies. */
    sk_buf_init(&out, 3);
    assert_int_equal(sk_prompt_render("ab{{known}}cd", 13, vars, 1, &out, &err),
                     SK_ETOOBIG);
    assert_int_equal(out.len, 0);
    sk_buf_release(&out);
}

static void test_prompt__rollout_templates_render(void **state)
{
    struct sk_prompt_var vars[] = {
        VAR("skill_section", "## Skill\nBe brief.\n\n"),
        VAR("question", "THE CLUE"),
        VAR("context", "[DOC] snippet"),
    };
    struct sk_buf out;
    struct sk_error err;
    const char *t;
    size_t len;
    (void)state;
    t = sk_prompt_embedded_find("searchqa/rollout_system", &len);
    sk_buf_init(&out, SK_BUF_UNLIMITED);
    assert_int_equal(sk_prompt_render(t, len, vars, 3, &out, &err), SK_OK);
    assert_non_null(strstr(out.data, "\n## Skill\nBe brief.\n\n## "));
    assert_null(strstr(out.data, "{{"));
    sk_buf_reset(&out);
    vars[0].len = 0; /* blank skill: the section disappears */
    assert_int_equal(sk_prompt_render(t, len, vars, 3, &out, &err), SK_OK);
    assert_null(strstr(out.data, "## Skill"));
    sk_buf_reset(&out);
    t = sk_prompt_embedded_find("searchqa/rollout_user", &len);
    assert_int_equal(sk_prompt_render(t, len, vars, 3, &out, &err), SK_OK);
    assert_non_null(strstr(out.data, "THE CLUE"));
    assert_non_null(strstr(out.data, "[DOC] snippet"));
    assert_null(strstr(out.data, "{{"));
    /* Missing a variable is reported by name. */
    sk_buf_reset(&out);
    assert_int_equal(sk_prompt_render(t, len, vars, 2, &out, &err), SK_EPARSE);
    assert_non_null(strstr(err.msg, "{{context}}"));
    sk_buf_release(&out);
}

struct sweep_ctx {
    const char *dir;
    const char *bench;
};

static int lookup_render_body(void *p)
{
    struct sweep_ctx *c = p;
    static const struct sk_prompt_var vars[] = {VAR("name", "value")};
    struct sk_buf tmpl, out;
    struct sk_error err;
    int rc;

    sk_buf_init(&tmpl, SK_BUF_UNLIMITED);
    sk_buf_init(&out, SK_BUF_UNLIMITED);
    rc = sk_prompt_lookup("greet", c->bench, c->dir, &tmpl, &err);
    if (rc == SK_OK)
        rc = sk_prompt_render(tmpl.data, tmpl.len, vars, 1, &out, &err);
    if (rc == SK_OK && strcmp(sk_buf_cstr(&out), "hello value {}") != 0)
        rc = SK_EINVAL;
    if (rc == SK_OK) {
        /* and the embedded fallback of a bench template */
        sk_buf_reset(&tmpl);
        rc = sk_prompt_lookup("rollout_user", "searchqa", c->dir, &tmpl, &err);
    }
    sk_buf_release(&tmpl);
    sk_buf_release(&out);
    return rc;
}

static void test_prompt__allocation_sweep(void **state)
{
    struct sweep_ctx c;
    char *dir = tu_mkdtemp();
    (void)state;
    sk_free(tu_write(dir, "searchqa/greet.md", "hello {{name}} {}"));
    c.dir = dir;
    c.bench = "searchqa";
    assert_true(tu_alloc_sweep(lookup_render_body, &c) >= 3);
    tu_rmtree(dir);
    sk_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prompt__all_templates_embedded_with_schema_keys),
        cmocka_unit_test(test_prompt__system_templates_render_without_vars),
        cmocka_unit_test(test_prompt__override_precedence),
        cmocka_unit_test(test_prompt__lookup_errors),
        cmocka_unit_test(test_prompt__lookup_appends),
        cmocka_unit_test(test_prompt__render_cases),
        cmocka_unit_test(test_prompt__render_errors),
        cmocka_unit_test(test_prompt__rollout_templates_render),
        cmocka_unit_test(test_prompt__allocation_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
