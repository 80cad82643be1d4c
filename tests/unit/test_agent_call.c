/*
 * test_agent_call.c - the target role answered by an agent CLI through the
 * model client and a rollout: the skill lands in its own file (not in
 * task.md), the prompt arrives on stdin, the CLI's trajectory becomes the
 * conversation and its summary the analyst's trace, the reply is cached
 * (a rerun starts no CLI), only allow-listed variables reach the CLI, and
 * a failing CLI is a provider failure with its own words, never a wrong
 * answer.  The CLI is a small fake script printing Claude Code's
 * stream-json events; test_agent covers the runner and the parsers, and
 * tests/cli/agent_clis.sh the real CLIs.
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
#include <sys/stat.h>

#include "config/config.h"
#include "llm/agent_call.h"
#include "llm/client.h"
#include "llm/llm.h"
#include "testutil.h"
#include "train/bench.h"
#include "train/rollout.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"

/* Claude Code's stream-json, answering with the skill's RULE line. */
static const char fake_ok[] =
    "#!/bin/sh\n"
    "cat > prompt.txt\n"
    "sleep 0.3\n" /* two identical requests overlap */
    "echo run >> \"$SK_TEST_COUNTER\"\n"
    "grep -q 'RULE:' task.md && echo LEAK >> \"$SK_TEST_COUNTER\"\n"
    "[ -n \"$SK_TEST_SECRET\" ] && echo SECRET >> \"$SK_TEST_COUNTER\"\n"
    "rule=$(sed -n 's/^RULE: //p' .agents/skills/skillopt-target/SKILL.md)\n"
    "echo '{\"type\":\"system\",\"subtype\":\"init\",\"cwd\":\"/w\","
    "\"session_id\":\"s1\",\"tools\":[\"Read\"],\"model\":\"fake-model\"}'\n"
    "echo '{\"type\":\"assistant\",\"message\":{\"id\":\"m1\",\"type\":"
    "\"message\",\"role\":\"assistant\",\"model\":\"fake-model\",\"content\":"
    "[{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"Read\",\"input\":"
    "{\"file_path\":\"task.md\"}}],\"usage\":{\"input_tokens\":10,"
    "\"output_tokens\":2}}}'\n"
    "echo '{\"type\":\"user\",\"message\":{\"role\":\"user\",\"content\":"
    "[{\"tool_use_id\":\"t1\",\"type\":\"tool_result\",\"content\":"
    "\"the task text\"}]}}'\n"
    "printf '{\"type\":\"assistant\",\"message\":{\"id\":\"m2\",\"type\":"
    "\"message\",\"role\":\"assistant\",\"model\":\"fake-model\",\"content\":"
    "[{\"type\":\"text\",\"text\":\"<answer>%s</answer>\"}],\"usage\":"
    "{\"input_tokens\":20,\"output_tokens\":3}}}\\n' \"$rule\"\n"
    "printf '{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,"
    "\"result\":\"<answer>%s</answer>\",\"num_turns\":2,\"total_cost_usd\":"
    "0.001,\"usage\":{\"input_tokens\":30,\"output_tokens\":5}}\\n' "
    "\"$rule\"\n";

/* Not logged in: the CLI's own words on stderr, exit 1. */
static const char fake_auth[] =
    "#!/bin/sh\n"
    "cat > /dev/null\n"
    "echo 'Invalid API key - Please run /login' >&2\n"
    "echo '{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":true,"
    "\"result\":\"Invalid API key - Please run /login\"}'\n"
    "exit 1\n";

/* A benchmark whose reply is right when it carries <answer>42</answer>. */
static int b_build(const json_t *item, const char *skill,
                   const struct sk_bench_ctx *ctx, char **system, char **user,
                   struct sk_error *err)
{
    struct sk_buf b;
    (void)ctx;
    (void)err;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    assert_int_equal(sk_buf_puts(&b, "Answer in <answer></answer>.\n\n"),
                     SK_OK);
    assert_int_equal(sk_bench_skill_section(skill, &b), SK_OK);
    assert_int_equal(sk_buf_puts(&b, "Be brief."), SK_OK);
    *system = sk_buf_detach(&b, NULL);
    *user = sk_strdup(json_string_value(json_object_get(item, "question")));
    return SK_OK;
}

static int b_score(const json_t *item, const char *response,
                   const struct sk_bench_ctx *ctx, json_t *result,
                   struct sk_error *err)
{
    int ok = strstr(response, "<answer>42</answer>") != NULL;
    (void)item;
    (void)ctx;
    (void)err;
    json_object_set_new(result, "hard", json_integer(ok));
    json_object_set_new(result, "soft", json_real(ok));
    json_object_set_new(result, "fail_reason", json_string(ok ? "" : "wrong"));
    return SK_OK;
}

static const struct sk_bench answer_bench = {
    .name = "answer42", .build = b_build, .score = b_score};

struct env {
    char *dir, *counter;
    struct sk_config cfg;
    struct sk_llm_client *c;
};

static void env_open(struct env *e, const char *script)
{
    struct sk_config_args a;
    struct sk_llm_client_opts o;
    struct sk_error err;
    char *cfgp, *cli, opt_path[4200];
    const char *opts[3];

    memset(e, 0, sizeof *e);
    e->dir = tu_mkdtemp();
    cli = tu_write(e->dir, "fake-claude", script);
    assert_int_equal(chmod(cli, 0755), 0);
    e->counter = sk_fs_join(e->dir, "runs.txt");
    setenv("SK_TEST_COUNTER", e->counter, 1);
    setenv("SK_TEST_SECRET", "must-not-reach-the-cli", 1);
    cfgp = tu_write(e->dir, "c.yaml",
                    "model:\n  backend: sim\n  optimizer_backend: sim\n"
                    "  target_backend: claude_code_exec\n"
                    "  agent_env: [SK_TEST_COUNTER]\n");
    snprintf(opt_path, sizeof opt_path, "model.claude_code_exec_path=%s", cli);
    opts[0] = opt_path;
    memset(&a, 0, sizeof a);
    a.path = cfgp;
    a.cfg_options = opts;
    a.n_cfg_options = 1;
    sk_config_init(&e->cfg);
    if (sk_config_load(&a, &e->cfg, &err) != SK_OK)
        fail_msg("%s", err.msg);
    memset(&o, 0, sizeof o);
    o.run_dir = e->dir;
    if (sk_llm_client_new(&e->cfg, &o, &e->c, &err) != SK_OK)
        fail_msg("%s", err.msg);
    sk_free(cfgp);
    sk_free(cli);
}

static void env_close(struct env *e)
{
    sk_llm_client_free(e->c);
    sk_config_release(&e->cfg);
    tu_rmtree(e->dir);
    sk_free(e->dir);
    sk_free(e->counter);
    unsetenv("SK_TEST_SECRET");
}

static int rollout(struct env *e, json_t *items, json_t **rows,
                   struct sk_rollout_stats *st, struct sk_error *err)
{
    struct sk_rollout_opts o;
    char *out = sk_fs_join(e->dir, "out");
    int rc;
    memset(&o, 0, sizeof o);
    o.cfg = &e->cfg;
    o.train = 1;
    rc = sk_rollout_run_opts(e->c, &answer_bench, "# Skill\nRULE: 42\n", items,
                             out, &o, rows, st, err);
    sk_free(out);
    return rc;
}

static char *read_or_empty(const char *path)
{
    size_t len;
    return sk_fs_exists(path) ? tu_read(path, &len) : sk_strdup("");
}

static void test_agent_call__task_text(void **state)
{
    struct sk_llm_message m[2] = {{"user", "What is it?", NULL, 0},
                                  {"assistant", "Let me see.", NULL, 0}};
    struct sk_llm_request req;
    char *t;
    (void)state;
    memset(&req, 0, sizeof req);
    req.system = "Intro.\n\n## Skill\n# S\nRULE: 42\n\nOutro.";
    req.skill = "\n# S\nRULE: 42\n  ";
    req.messages = m;
    req.n_messages = 1;
    assert_int_equal(sk_agent_call_task(&req, &t), SK_OK);
    assert_string_equal(t, "Intro.\n\n## Skill\nThe skill is in its own file "
                           "in this workspace (see the prompt).\n\nOutro."
                           "\n\nWhat is it?\n\n");
    sk_free(t);
    /* no skill given: the system prompt as it is; several messages are
     * labelled */
    req.skill = NULL;
    req.n_messages = 2;
    assert_int_equal(sk_agent_call_task(&req, &t), SK_OK);
    assert_non_null(strstr(t, "RULE: 42"));
    assert_non_null(strstr(t, "## Message\n\nWhat is it?\n\n## Your earlier "
                              "reply\n\nLet me see.\n\n"));
    sk_free(t);
    assert_true(sk_agent_call_backend("claude_code_exec"));
    assert_true(sk_agent_call_backend("codex_exec"));
    assert_false(sk_agent_call_backend("openai_chat"));
}

static void test_agent_call__rollout_through_the_cli(void **state)
{
    struct env e;
    struct sk_rollout_stats st;
    struct sk_error err;
    /* q3 asks exactly what q1 asks: the same request twice in flight */
    json_t *items =
               json_pack("[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}]", "id", "q1",
                         "question", "First?", "id", "q2", "question",
                         "Second?", "id", "q3", "question", "First?"),
           *rows = NULL, *conv;
    size_t i;
    char *p, *t;
    (void)state;
    env_open(&e, fake_ok);
    if (rollout(&e, items, &rows, &st, &err) != SK_OK)
        fail_msg("rollout: %s", err.msg);
    assert_int_equal(st.errors, 0);
    for (i = 0; i < 3; i++)
        assert_int_equal(json_integer_value(
                             json_object_get(json_array_get(rows, i), "hard")),
                         1);
    /* three runs; the skill never leaked into task.md; the secret stayed */
    t = read_or_empty(e.counter);
    assert_string_equal(t, "run\nrun\nrun\n");
    sk_free(t);
    /* the CLI's trajectory is the conversation, then the verification */
    p = sk_fs_join(e.dir, "out/predictions/q1/conversation.json");
    conv = json_load_file(p, 0, NULL);
    assert_non_null(conv);
    t = json_dumps(conv, 0);
    assert_non_null(strstr(t, "\"tool_call\""));
    assert_non_null(strstr(t, "the task text"));
    sk_free(t);
    json_decref(conv);
    sk_free(p);
    p = sk_fs_join(e.dir, "out/predictions/q1/agent_trace_summary.txt");
    t = read_or_empty(p);
    assert_true(strlen(t) > 0);
    sk_free(t);
    sk_free(p);
    json_decref(rows);
    /* a rerun from scratch is answered by the cache: no CLI starts */
    p = sk_fs_join(e.dir, "out/results.jsonl");
    assert_int_equal(remove(p), 0);
    sk_free(p);
    if (rollout(&e, items, &rows, &st, &err) != SK_OK)
        fail_msg("rollout: %s", err.msg);
    t = read_or_empty(e.counter);
    assert_string_equal(t, "run\nrun\nrun\n");
    sk_free(t);
    json_decref(rows);
    json_decref(items);
    env_close(&e);
}

static void test_agent_call__failing_cli_is_a_provider_failure(void **state)
{
    struct env e;
    struct sk_rollout_stats st;
    struct sk_error err;
    json_t *items = json_pack("[{s:s, s:s}]", "id", "q1", "question", "?"),
           *rows = NULL;
    const char *fr;
    int rc;
    (void)state;
    env_open(&e, fake_auth);
    rc = rollout(&e, items, &rows, &st, &err);
    assert_true(rc <= SK_LLM_EPROVIDER); /* the run stops: exit 4 */
    assert_int_equal(st.errors, 1);
    fr = json_string_value(
        json_object_get(json_array_get(rows, 0), "fail_reason"));
    assert_non_null(strstr(fr, "claude_code_exec"));
    assert_non_null(strstr(fr, "Invalid API key"));
    json_decref(rows);
    json_decref(items);
    env_close(&e);
    {
        /* a CLI that is not there: said so, naming the setting */
        struct sk_config_args a;
        struct sk_config cfg;
        struct sk_llm_client *c;
        struct sk_llm_client_opts o;
        struct sk_llm_request req;
        struct sk_llm_result res;
        struct sk_llm_message m = {"user", "hi", NULL, 0};
        char *dir = tu_mkdtemp(),
             *cfgp = tu_write(dir, "c.yaml",
                              "model:\n  backend: sim\n  optimizer_backend: "
                              "sim\n  target_backend: codex_exec\n"
                              "  codex_exec_path: /nonexistent/codex\n");
        memset(&a, 0, sizeof a);
        a.path = cfgp;
        sk_config_init(&cfg);
        if (sk_config_load(&a, &cfg, &err) != SK_OK)
            fail_msg("%s", err.msg);
        memset(&o, 0, sizeof o);
        o.run_dir = dir;
        assert_int_equal(sk_llm_client_new(&cfg, &o, &c, &err), SK_OK);
        memset(&req, 0, sizeof req);
        req.role = SK_ROLE_TARGET;
        req.stage = "rollout";
        req.messages = &m;
        req.n_messages = 1;
        sk_llm_result_init(&res);
        assert_int_not_equal(sk_llm_call(c, &req, &res), SK_OK);
        assert_non_null(strstr(res.error, "codex_exec_path"));
        sk_llm_result_release(&res);
        sk_llm_client_free(c);
        sk_config_release(&cfg);
        tu_rmtree(dir);
        sk_free(dir);
        sk_free(cfgp);
    }
}

/* The optimizer's prompts can go to a CLI too (a subscription, no API
 * key): no skill file, the whole request in task.md, the reply as text. */
static void test_agent_call__optimizer_through_the_cli(void **state)
{
    struct sk_config_args a;
    struct sk_config cfg;
    struct sk_llm_client *c;
    struct sk_llm_client_opts o;
    struct sk_llm_request req;
    struct sk_llm_result res;
    struct sk_error err;
    struct sk_llm_message m = {"user", "Propose edits.", NULL, 0};
    char *dir = tu_mkdtemp(), *cli, *cfgp, opt[4200], *t;
    const char *opts[1];
    (void)state;
    cli = tu_write(dir, "fake-claude",
                   "#!/bin/sh\n"
                   "cat > /dev/null\n"
                   "[ -e .agents ] && echo SKILL >> \"$SK_TEST_COUNTER\"\n"
                   "grep -q 'Propose edits' task.md && echo TASK >> "
                   "\"$SK_TEST_COUNTER\"\n"
                   "echo '{\"type\":\"result\",\"subtype\":\"success\","
                   "\"is_error\":false,\"result\":\"{\\\"edits\\\": []}\","
                   "\"num_turns\":1,\"usage\":{\"input_tokens\":7,"
                   "\"output_tokens\":3}}'\n");
    assert_int_equal(chmod(cli, 0755), 0);
    t = sk_fs_join(dir, "runs.txt");
    setenv("SK_TEST_COUNTER", t, 1);
    cfgp = tu_write(dir, "c.yaml",
                    "model:\n  backend: sim\n  target_backend: sim\n"
                    "  optimizer_backend: claude_code_exec\n"
                    "  agent_env: [SK_TEST_COUNTER]\n");
    snprintf(opt, sizeof opt, "model.claude_code_exec_path=%s", cli);
    opts[0] = opt;
    memset(&a, 0, sizeof a);
    a.path = cfgp;
    a.cfg_options = opts;
    a.n_cfg_options = 1;
    sk_config_init(&cfg);
    if (sk_config_load(&a, &cfg, &err) != SK_OK)
        fail_msg("%s", err.msg);
    memset(&o, 0, sizeof o);
    o.run_dir = dir;
    assert_int_equal(sk_llm_client_new(&cfg, &o, &c, &err), SK_OK);
    memset(&req, 0, sizeof req);
    req.role = SK_ROLE_OPTIMIZER;
    req.stage = "analyst";
    req.system = "You improve skills.";
    req.messages = &m;
    req.n_messages = 1;
    sk_llm_result_init(&res);
    assert_int_equal(sk_llm_call(c, &req, &res), SK_OK);
    assert_string_equal(res.text, "{\"edits\": []}");
    assert_int_equal(res.usage.completion_tokens, 3);
    sk_llm_result_release(&res);
    {
        size_t len;
        char *runs = tu_read(t, &len);
        assert_string_equal(runs, "TASK\n");
        sk_free(runs);
    }
    sk_llm_client_free(c);
    sk_config_release(&cfg);
    tu_rmtree(dir);
    sk_free(dir);
    sk_free(cli);
    sk_free(cfgp);
    sk_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agent_call__task_text),
        cmocka_unit_test(test_agent_call__rollout_through_the_cli),
        cmocka_unit_test(test_agent_call__failing_cli_is_a_provider_failure),
        cmocka_unit_test(test_agent_call__optimizer_through_the_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
