/*
 * test_agent.c - the agent CLI runner (src/agent/): workspaces and skill
 * placement, argv and environment allow-list, event stream parsing of
 * recorded Codex / Claude Code / Copilot streams (tests/fixtures/agent/
 * streams/, recorded from the real CLIs against a local logging server)
 * and a documented Cursor stream, and runs of fake CLI scripts for the
 * failures real CLIs cannot be made to show on demand.
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "agent/agent.h"
#include "testutil.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"

/* ---- helpers ---------------------------------------------------------- */

static char *fixture(const char *name, size_t *len)
{
    char rel[256], *path, *text;
    snprintf(rel, sizeof rel, "tests/fixtures/agent/streams/%s", name);
    path = tu_source_path(rel);
    text = tu_read(path, len);
    if (!text)
        fail_msg("missing fixture %s", path);
    sk_free(path);
    return text;
}

static int parse_fixture(enum sk_agent_kind kind, const char *name,
                         int exit_code, struct sk_agent_result *res)
{
    size_t len;
    char *text = fixture(name, &len);
    int rc;
    sk_agent_result_init(res);
    rc = sk_agent_parse(kind, text, len, exit_code, res);
    sk_free(text);
    return rc;
}

/* The i-th trajectory record's string member key, or "". */
static const char *traj_str(const struct sk_agent_result *r, size_t i,
                            const char *key)
{
    const json_t *v = json_object_get(json_array_get(r->trajectory, i), key);
    return json_is_string(v) ? json_string_value(v) : "";
}

/* Index of the first tool call record with tool name, or -1. */
static long find_tool(const struct sk_agent_result *r, const char *tool)
{
    size_t i;
    for (i = 0; i < json_array_size(r->trajectory); i++)
        if (strcmp(traj_str(r, i, "type"), "tool_call") == 0 &&
            strcmp(traj_str(r, i, "tool"), tool) == 0)
            return (long)i;
    return -1;
}

/* Writes an executable script dir/name with body (after the #! line). */
static char *script(const char *dir, const char *name, const char *body)
{
    struct sk_buf b;
    char *path;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    assert_int_equal(sk_buf_printf(&b, "#!/bin/sh\n%s", body), SK_OK);
    path = tu_write(dir, name, b.data);
    sk_buf_release(&b);
    assert_int_equal(chmod(path, 0755), 0);
    return path;
}

/*
 * A fake CLI that records its cwd, argv (one per line), initial
 * environment (as execve gave it) and stdin under log/, then runs tail.
 */
static char *recording_cli(const char *dir, const char *log, const char *tail)
{
    struct sk_buf b;
    char *path;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    assert_int_equal(
        sk_buf_printf(&b,
                      "pwd -P > '%s/cwd'\n"
                      "for a in \"$@\"; do printf '%%s\\n' \"$a\"; done "
                      "> '%s/argv'\n"
                      "tr '\\000' '\\n' < /proc/$$/environ > '%s/env'\n"
                      "cat > '%s/stdin'\n%s",
                      log, log, log, log, tail),
        SK_OK);
    path = script(dir, "fake-cli", b.data);
    sk_buf_release(&b);
    return path;
}

static char *read_log(const char *log, const char *name)
{
    char *path = NULL, *text;
    size_t n = strlen(log) + strlen(name) + 2;
    path = sk_malloc(n);
    assert_non_null(path);
    snprintf(path, n, "%s/%s", log, name);
    text = tu_read(path, NULL);
    sk_free(path);
    assert_non_null(text);
    return text;
}

/* A prepared workspace <root>/<name> with a task and no skill. */
static char *simple_ws(const char *root, const char *name)
{
    struct sk_agent_task t;
    struct sk_error err;
    char *ws = NULL;
    memset(&t, 0, sizeof t);
    t.text = "What is 6*7?\n";
    assert_int_equal(sk_agent_workspace_prepare(root, name, &t, &ws, &err),
                     SK_OK);
    return ws;
}

static double mono_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* 1 if pid is a zombie (dead, waiting for whoever inherited it). */
static int zombie(pid_t pid)
{
    char path[64], buf[512], *rp;
    FILE *fp;
    size_t n;
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    if (!(fp = fopen(path, "r")))
        return 1; /* gone meanwhile */
    n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    rp = strrchr(buf, ')'); /* "pid (comm) S ..." */
    return rp && rp[1] == ' ' && rp[2] == 'Z';
}

/* 1 once pid is dead: gone, or a zombie not yet reaped by its new parent
 * (the container's init may reap late). */
static int gone(pid_t pid)
{
    int i;
    for (i = 0; i < 200; i++) {
        if ((kill(pid, 0) != 0 && errno == ESRCH) || zombie(pid))
            return 1;
        usleep(10000);
    }
    return 0;
}

/* ---- parsing recorded streams ----------------------------------------- */

static void test_agent__codex_recorded_stream(void **state)
{
    struct sk_agent_result r;
    (void)state;
    assert_int_equal(parse_fixture(SK_AGENT_CODEX, "codex_ok.jsonl", 0, &r),
                     SK_OK);
    assert_int_equal(r.fail, SK_AGENT_OK);
    assert_string_equal(r.answer, "<answer>42</answer>");
    /* two model calls of 100 input (40 cached), 20 output (5 reasoning) */
    assert_int_equal(r.usage.prompt_tokens, 200);
    assert_int_equal(r.usage.cached_tokens, 80);
    assert_int_equal(r.usage.completion_tokens, 40);
    assert_int_equal(r.usage.reasoning_tokens, 10);
    assert_true(r.usage.usage_known);
    assert_int_equal(r.tool_calls, 1);
    assert_int_equal(r.errors, 1); /* the model-metadata warning item */
    {
        long t = find_tool(&r, "shell");
        assert_true(t >= 0);
        assert_string_equal(traj_str(&r, (size_t)t, "cmd"),
                            "/bin/bash -lc 'cat task.md'");
        assert_string_equal(traj_str(&r, (size_t)t, "obs"),
                            "What is 6*7? Answer in <answer> tags.\n[exit 0]");
    }
    assert_non_null(strstr(r.summary, "tool calls: 1 (shell x1)"));
    assert_non_null(strstr(r.summary, "input 200 (cached 80), output 40"));
    assert_string_equal(r.session_id, "01a21268-a56f-7c40-a9b7-73e05e99bc54");
    sk_agent_result_release(&r);
}

static void test_agent__codex_items_turns_and_bad_lines(void **state)
{
    struct sk_agent_result r;
    long t;
    (void)state;
    assert_int_equal(parse_fixture(SK_AGENT_CODEX, "codex_multi.jsonl", 0, &r),
                     SK_OK);
    assert_string_equal(r.answer, "The sum is 6.\n<answer>6</answer>");
    /* usage of the two turns is summed */
    assert_int_equal(r.usage.prompt_tokens, 2200);
    assert_int_equal(r.usage.cached_tokens, 1600);
    assert_int_equal(r.usage.completion_tokens, 80);
    assert_int_equal(r.usage.reasoning_tokens, 20);
    /* shell x2, apply_patch, mcp; todo list and unknown items ignored */
    assert_int_equal(r.tool_calls, 4);
    assert_int_equal(r.bad_lines, 1);
    assert_non_null(strstr(r.summary, "1 not JSON"));
    assert_non_null(strstr(r.summary, "failed tool calls: 1"));
    assert_string_equal(traj_str(&r, 0, "role"), "reasoning");
    t = find_tool(&r, "apply_patch");
    assert_true(t >= 0);
    assert_string_equal(traj_str(&r, (size_t)t, "cmd"),
                        "apply_patch: add sum.py, update notes.txt");
    t = find_tool(&r, "mcp:calc.add");
    assert_true(t >= 0);
    assert_string_equal(traj_str(&r, (size_t)t, "cmd"), "{\"a\":1,\"b\":2}");
    assert_string_equal(traj_str(&r, (size_t)t, "obs"), "3");
    /* the failed command carries its exit status and the error flag */
    {
        size_t i, failed = 0;
        for (i = 0; i < json_array_size(r.trajectory); i++) {
            json_t *o = json_array_get(r.trajectory, i);
            if (json_is_true(json_object_get(o, "is_error"))) {
                failed++;
                assert_non_null(strstr(traj_str(&r, i, "obs"), "[exit 2]"));
            }
        }
        assert_int_equal(failed, 1);
    }
    /* turns: 2 assistant messages + 4 tool calls (codex reports none) */
    assert_int_equal(r.turns, 6);
    sk_agent_result_release(&r);
}

static void test_agent__claude_recorded_stream(void **state)
{
    struct sk_agent_result r;
    long t;
    (void)state;
    assert_int_equal(
        parse_fixture(SK_AGENT_CLAUDE_CODE, "claude_ok.jsonl", 0, &r), SK_OK);
    assert_string_equal(r.answer, "<answer>42</answer>");
    /* the result's totals: 200 + 60 read + 20 written, 40 out */
    assert_int_equal(r.usage.prompt_tokens, 280);
    assert_int_equal(r.usage.cached_tokens, 60);
    assert_int_equal(r.usage.completion_tokens, 40);
    assert_true(r.cost_known);
    assert_true(r.cost_usd > 0.00129 && r.cost_usd < 0.0013);
    assert_int_equal(r.turns, 2);
    assert_string_equal(r.model, "claude-sonnet-4-5");
    t = find_tool(&r, "Bash");
    assert_true(t >= 0);
    assert_string_equal(traj_str(&r, (size_t)t, "cmd"), "Bash: cat task.md");
    assert_string_equal(traj_str(&r, (size_t)t, "obs"),
                        "What is 6*7? Answer in <answer> tags.");
    assert_non_null(strstr(r.summary, "cost $0.001293"));
    sk_agent_result_release(&r);
}

static void test_agent__claude_tool_results_and_usage(void **state)
{
    struct sk_agent_result r;
    long t;
    (void)state;
    assert_int_equal(
        parse_fixture(SK_AGENT_CLAUDE_CODE, "claude_multi_result.jsonl", 0, &r),
        SK_OK);
    assert_string_equal(r.answer, "<answer>3</answer>");
    assert_int_equal(r.turns, 4);
    assert_int_equal(r.tool_calls, 3);
    assert_int_equal(r.errors, 1); /* the overloaded retry */
    assert_int_equal(r.usage.prompt_tokens, 171);
    assert_int_equal(r.usage.completion_tokens, 26);
    t = find_tool(&r, "Read");
    assert_true(t >= 0);
    assert_string_equal(traj_str(&r, (size_t)t, "cmd"), "Read: /w/task.md");
    assert_string_equal(traj_str(&r, (size_t)t, "obs"), "1\tCount the files.");
    t = find_tool(&r, "Bash");
    assert_string_equal(traj_str(&r, (size_t)t, "obs"),
                        "[error] permission denied");
    assert_non_null(strstr(r.summary, "Bash x1, Glob x1, Read x1"));
    assert_string_equal(traj_str(&r, 0, "role"), "reasoning");
    sk_agent_result_release(&r);

    /* no result event: each message's latest usage counted once, and the
     * run is not an answer */
    assert_int_equal(
        parse_fixture(SK_AGENT_CLAUDE_CODE, "claude_multi.jsonl", 0, &r),
        SK_LLM_EREPLY);
    assert_int_equal(r.fail, SK_AGENT_FAIL_EMPTY);
    assert_int_equal(r.usage.prompt_tokens, (10 + 5 + 1) + 35 + 50 + 70);
    assert_int_equal(r.usage.completion_tokens, 7 + 9 + 4 + 6);
    assert_string_equal(r.answer, "");
    assert_non_null(strstr(r.error, "without a final result"));
    sk_agent_result_release(&r);
}

static void test_agent__cursor_and_copilot_streams(void **state)
{
    struct sk_agent_result r;
    long t;
    (void)state;
    assert_int_equal(parse_fixture(SK_AGENT_CURSOR, "cursor_ok.jsonl", 0, &r),
                     SK_OK);
    assert_string_equal(r.answer, "I'll read the task.<answer>42</answer>");
    assert_int_equal(r.tool_calls, 2);
    t = find_tool(&r, "read");
    assert_string_equal(traj_str(&r, (size_t)t, "cmd"), "read: task.md");
    assert_string_equal(traj_str(&r, (size_t)t, "obs"), "What is 6*7?");
    t = find_tool(&r, "shell");
    assert_string_equal(traj_str(&r, (size_t)t, "obs"),
                        "[error] [stderr] boom");
    sk_agent_result_release(&r);

    assert_int_equal(parse_fixture(SK_AGENT_COPILOT, "copilot_ok.jsonl", 0, &r),
                     SK_OK);
    assert_string_equal(r.answer, "<answer>42</answer>");
    assert_int_equal(r.turns, 2);
    t = find_tool(&r, "bash");
    assert_true(t >= 0);
    assert_string_equal(traj_str(&r, (size_t)t, "cmd"), "bash: cat task.md");
    assert_non_null(strstr(traj_str(&r, (size_t)t, "obs"), "What is 6*7?"));
    assert_int_equal(r.tool_calls, 1); /* request and start are one call */
    assert_false(r.usage.usage_known);
    assert_non_null(strstr(r.summary, "tokens: not reported"));
    sk_agent_result_release(&r);
}

/* Every recorded failure stream maps to its class and keeps the CLI's
 * own message. */
static void test_agent__failure_streams_are_classified(void **state)
{
    static const struct {
        enum sk_agent_kind kind;
        const char *file;
        int exit_code;
        enum sk_agent_fail fail;
        int status;
        const char *says;
    } cases[] = {
        {SK_AGENT_CODEX, "codex_401.jsonl", 1, SK_AGENT_FAIL_AUTH, SK_LLM_EAUTH,
         "401 Unauthorized: sim says 401"},
        {SK_AGENT_CODEX, "codex_429.jsonl", 1, SK_AGENT_FAIL_RATE_LIMIT,
         SK_LLM_EPROVIDER, "429 Too Many Requests"},
        {SK_AGENT_CODEX, "codex_nokey.jsonl", 1, SK_AGENT_FAIL_AUTH,
         SK_LLM_EAUTH, "Missing environment variable: `SIM_API_KEY`"},
        {SK_AGENT_CODEX, "codex_nonet_partial.jsonl", 0, SK_AGENT_FAIL_EMPTY,
         SK_LLM_EREPLY, "waiting for network"},
        {SK_AGENT_CLAUDE_CODE, "claude_401.jsonl", 1, SK_AGENT_FAIL_AUTH,
         SK_LLM_EAUTH, "Failed to authenticate. API Error: 401 sim says 401"},
        {SK_AGENT_CLAUDE_CODE, "claude_429.jsonl", 1, SK_AGENT_FAIL_RATE_LIMIT,
         SK_LLM_EPROVIDER, "sim says 429"},
        {SK_AGENT_CLAUDE_CODE, "claude_nologin.jsonl", 1, SK_AGENT_FAIL_AUTH,
         SK_LLM_EAUTH, "Not logged in"},
        {SK_AGENT_COPILOT, "copilot_401.jsonl", 1, SK_AGENT_FAIL_AUTH,
         SK_LLM_EAUTH, "Authentication failed with provider"},
        {SK_AGENT_COPILOT, "copilot_429.jsonl", 1, SK_AGENT_FAIL_RATE_LIMIT,
         SK_LLM_EPROVIDER, "Last error: 429 sim says 429"},
        /* an answer with a failing exit status is not trusted */
        {SK_AGENT_CLAUDE_CODE, "claude_ok.jsonl", 3, SK_AGENT_FAIL_CRASH,
         SK_LLM_EPROVIDER, "exited with status 3"},
    };
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        struct sk_agent_result r;
        int rc =
            parse_fixture(cases[i].kind, cases[i].file, cases[i].exit_code, &r);
        if (rc != cases[i].status || r.fail != cases[i].fail ||
            !strstr(r.error, cases[i].says))
            fail_msg("%s: status %d fail %s error '%s'", cases[i].file, rc,
                     sk_agent_fail_name(r.fail), r.error);
        assert_string_equal(r.answer, "");
        assert_non_null(strstr(r.summary, sk_agent_fail_name(r.fail)));
        sk_agent_result_release(&r);
    }
}

/* Streams the other helper records from the real CLIs, when present. */
static void test_agent__shared_real_fixtures(void **state)
{
    static const struct {
        enum sk_agent_kind kind;
        const char *rel;
    } files[] = {
        {SK_AGENT_CLAUDE_CODE, "tests/fixtures/agent/claude_stream.jsonl"},
        {SK_AGENT_CODEX, "tests/fixtures/agent/codex_exec.jsonl"},
    };
    size_t i, seen = 0;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(files); i++) {
        struct sk_agent_result r;
        char *path = tu_source_path(files[i].rel), *text;
        size_t len;
        text = tu_read(path, &len);
        sk_free(path);
        if (!text)
            continue;
        seen++;
        sk_agent_result_init(&r);
        if (sk_agent_parse(files[i].kind, text, len, 0, &r) != SK_OK)
            fail_msg("%s: %s", files[i].rel, r.error);
        assert_true(strlen(r.answer) > 0);
        assert_true(json_array_size(r.trajectory) > 0);
        sk_agent_result_release(&r);
        sk_free(text);
    }
    if (!seen)
        skip();
}

static void test_agent__malformed_and_cut_streams(void **state)
{
    static const char cut[] =
        "{\"type\":\"thread.started\",\"thread_id\":\"t\"}\n"
        "{\"type\":\"turn.started\"}\n"
        "{\"type\":\"item.completed\",\"item\":{\"id\":\"i\",\"type\":\"agent_"
        "message\",\"text\":\"<answ";
    static const char junk[] =
        "not json\n[1,2]\n\"str\"\n\n   \n{\"type\":3}\n";
    static const char huge_tail[] =
        "{\"type\":\"turn.completed\",\"usage\":{}}\n";
    struct sk_agent_result r;
    struct sk_buf b;
    size_t i;
    (void)state;
    sk_agent_result_init(&r);
    assert_int_equal(sk_agent_parse(SK_AGENT_CODEX, cut, sizeof cut - 1, 0, &r),
                     SK_LLM_EREPLY);
    assert_int_equal(r.fail, SK_AGENT_FAIL_EMPTY);
    assert_non_null(strstr(r.error, "cut in the middle of a line"));
    assert_non_null(strstr(r.summary, "cut mid-line"));
    sk_agent_result_release(&r);

    /* lines that are not JSON objects are counted, blank ones are not */
    sk_agent_result_init(&r);
    assert_int_equal(
        sk_agent_parse(SK_AGENT_CLAUDE_CODE, junk, sizeof junk - 1, 0, &r),
        SK_LLM_EREPLY);
    assert_int_equal(r.bad_lines, 3);
    sk_agent_result_release(&r);

    /* empty stdout */
    sk_agent_result_init(&r);
    assert_int_equal(sk_agent_parse(SK_AGENT_CODEX, "", 0, 0, &r),
                     SK_LLM_EREPLY);
    assert_non_null(strstr(r.error, "printed nothing"));
    sk_agent_result_release(&r);

    /* a finished turn with an empty answer fails loud */
    sk_agent_result_init(&r);
    assert_int_equal(
        sk_agent_parse(SK_AGENT_CODEX, huge_tail, sizeof huge_tail - 1, 0, &r),
        SK_LLM_EREPLY);
    assert_non_null(strstr(r.error, "final answer is empty"));
    sk_agent_result_release(&r);

    /* a long observation is cut to head + tail around a marker */
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    assert_int_equal(
        sk_buf_puts(&b, "{\"type\":\"item.completed\",\"item\":{\"id\":\"c\","
                        "\"type\":\"command_execution\",\"command\":\"x\","
                        "\"exit_code\":0,\"status\":\"completed\","
                        "\"aggregated_output\":\"HEAD"),
        SK_OK);
    for (i = 0; i < 100000; i++)
        assert_int_equal(sk_buf_puts(&b, i % 2 ? "\xc3\xa9" : "y"), SK_OK);
    assert_int_equal(
        sk_buf_puts(&b, "TAIL\"}}\n{\"type\":\"item.completed\",\"item\":{"
                        "\"id\":\"m\",\"type\":\"agent_message\",\"text\":"
                        "\"ok\"}}\n{\"type\":\"turn.completed\"}\n"),
        SK_OK);
    sk_agent_result_init(&r);
    assert_int_equal(sk_agent_parse(SK_AGENT_CODEX, b.data, b.len, 0, &r),
                     SK_OK);
    {
        const char *obs = traj_str(&r, 0, "obs");
        assert_true(strlen(obs) <= SK_AGENT_OBS_KEEP + 64);
        assert_memory_equal(obs, "HEAD", 4);
        assert_non_null(strstr(obs, "bytes cut"));
        assert_non_null(strstr(obs, "TAIL\n[exit 0]"));
    }
    sk_agent_result_release(&r);
    sk_buf_release(&b);
}

struct sweep_ctx {
    const char *text;
    size_t len;
    enum sk_agent_kind kind;
};

static int sweep_parse(void *vctx)
{
    struct sweep_ctx *c = vctx;
    struct sk_agent_result r;
    int rc;
    sk_agent_result_init(&r);
    rc = sk_agent_parse(c->kind, c->text, c->len, 0, &r);
    if (rc == SK_OK &&
        (!r.summary || strcmp(r.answer, "<answer>3</answer>") != 0))
        rc = SK_EINVAL;
    sk_agent_result_release(&r);
    return rc == SK_OK ? SK_OK : SK_ENOMEM;
}

static void test_agent__parse_allocation_sweep(void **state)
{
    struct sweep_ctx c;
    char *text;
    (void)state;
    text = fixture("claude_multi_result.jsonl", &c.len);
    c.text = text;
    c.kind = SK_AGENT_CLAUDE_CODE;
    assert_true(tu_alloc_sweep(sweep_parse, &c) > 10);
    sk_free(text);
}

/* ---- workspace ----------------------------------------------------------- */

static char *ws_file(const char *ws, const char *rel)
{
    char *path = sk_fs_join(ws, rel), *text;
    assert_non_null(path);
    text = tu_read(path, NULL);
    sk_free(path);
    return text;
}

static void test_agent__skill_lands_where_configured(void **state)
{
    static const struct {
        enum sk_agent_skill_place place;
        const char *rel;
        int front_matter;
    } cases[] = {
        {SK_AGENT_SKILL_AGENTS_DIR, ".agents/skills/my-skill/SKILL.md", 1},
        {SK_AGENT_SKILL_AGENTS_MD, "AGENTS.md", 0},
        {SK_AGENT_SKILL_CLAUDE_MD, "CLAUDE.md", 0},
        {SK_AGENT_SKILL_CLAUDE_DIR, ".claude/skills/my-skill/SKILL.md", 1},
    };
    static const char *const others[] = {".agents/skills/my-skill/SKILL.md",
                                         "AGENTS.md", "CLAUDE.md",
                                         ".claude/skills/my-skill/SKILL.md"};
    char *root = tu_mkdtemp(), *src = tu_write(root, "in/data.csv", "1,2\n");
    size_t i, j;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        struct sk_agent_file f = {src, "data/data.csv"};
        struct sk_agent_task t;
        struct sk_error err;
        char *ws = NULL, *text, *rel, name[32];
        memset(&t, 0, sizeof t);
        t.text = "Sum data/data.csv.\n";
        t.files = &f;
        t.n_files = 1;
        t.skill = "# Rules\nAlways show your work.";
        t.skill_name = "my-skill";
        t.skill_description = "Use for \"sums\"\nand totals";
        t.place = cases[i].place;
        snprintf(name, sizeof name, "ws%zu", i);
        assert_int_equal(sk_agent_workspace_prepare(root, name, &t, &ws, &err),
                         SK_OK);
        rel = sk_agent_skill_relpath(cases[i].place, "my-skill");
        assert_string_equal(rel, cases[i].rel);
        sk_free(rel);
        text = ws_file(ws, cases[i].rel);
        assert_non_null(text);
        if (cases[i].front_matter)
            assert_string_equal(text,
                                "---\nname: my-skill\ndescription: \"Use for "
                                "\\\"sums\\\" and totals\"\n---\n\n# Rules\n"
                                "Always show your work.\n");
        else
            assert_string_equal(text, "# Rules\nAlways show your work.\n");
        sk_free(text);
        for (j = 0; j < SK_ARRAY_LEN(others); j++) {
            if (strcmp(others[j], cases[i].rel) == 0)
                continue;
            text = ws_file(ws, others[j]);
            assert_null(text); /* only where configured */
        }
        text = ws_file(ws, "task.md");
        assert_string_equal(text, "Sum data/data.csv.\n");
        sk_free(text);
        text = ws_file(ws, "data/data.csv");
        assert_string_equal(text, "1,2\n");
        sk_free(text);
        sk_free(ws);
    }
    tu_rmtree(root);
    sk_free(root);
    sk_free(src);
}

static void test_agent__workspace_refuses_escapes(void **state)
{
    static const char *const bad[] = {
        "../x",
        "/etc/passwd",
        "a/../../x",
        "..",
        "",
        "task.md",
        "./task.md",
        ".skillopt-workspace",
        ".agents/skills/skillopt-target/SKILL.md"};
    char *root = tu_mkdtemp(), *src = tu_write(root, "f.txt", "x");
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(bad); i++) {
        struct sk_agent_file f = {src, bad[i]};
        struct sk_agent_task t;
        struct sk_error err;
        char *ws = (char *)"unchanged", *w;
        memset(&t, 0, sizeof t);
        t.text = "task";
        t.files = &f;
        t.n_files = 1;
        t.skill = "skill";
        if (sk_agent_workspace_prepare(root, "ws", &t, &ws, &err) != SK_EINVAL)
            fail_msg("'%s' was accepted", bad[i]);
        assert_null(ws);
        w = sk_fs_join(root, "ws");
        assert_false(sk_fs_exists(w)); /* nothing was written */
        sk_free(w);
    }
    /* a bad skill name, a missing source, a bad workspace name */
    {
        struct sk_agent_file f = {"/nonexistent/file", "x"};
        struct sk_agent_task t;
        struct sk_error err;
        char *ws = NULL;
        memset(&t, 0, sizeof t);
        t.text = "task";
        t.skill = "s";
        t.skill_name = "Bad Name";
        assert_int_equal(sk_agent_workspace_prepare(root, "ws", &t, &ws, &err),
                         SK_EINVAL);
        t.skill_name = NULL;
        t.files = &f;
        t.n_files = 1;
        assert_int_equal(sk_agent_workspace_prepare(root, "ws", &t, &ws, &err),
                         SK_ENOTFOUND);
        assert_non_null(strstr(err.msg, "/nonexistent/file"));
        t.n_files = 0;
        assert_int_equal(
            sk_agent_workspace_prepare(root, "../ws", &t, &ws, &err),
            SK_EINVAL);
    }
    tu_rmtree(root);
    sk_free(root);
    sk_free(src);
}

static void test_agent__workspace_is_fresh_and_never_clobbers(void **state)
{
    char *root = tu_mkdtemp(), *ws = NULL, *junk, *text;
    struct sk_agent_task t;
    struct sk_error err;
    (void)state;
    memset(&t, 0, sizeof t);
    t.text = "first";
    assert_int_equal(sk_agent_workspace_prepare(root, "ws", &t, &ws, &err),
                     SK_OK);
    junk = tu_write(ws, "left/over.txt", "from the last run");
    sk_free(ws);
    t.text = "second";
    assert_int_equal(sk_agent_workspace_prepare(root, "ws", &t, &ws, &err),
                     SK_OK);
    assert_false(sk_fs_exists(junk));
    text = ws_file(ws, "task.md");
    assert_string_equal(text, "second");
    sk_free(text);
    sk_free(ws);
    sk_free(junk);
    /* a directory we did not make is left alone */
    junk = tu_write(root, "mine/precious.txt", "keep");
    assert_int_equal(sk_agent_workspace_prepare(root, "mine", &t, &ws, &err),
                     SK_EINVAL);
    assert_non_null(strstr(err.msg, "not made by skillopt"));
    assert_true(sk_fs_exists(junk));
    sk_free(junk);
    tu_rmtree(root);
    sk_free(root);
}

/* ---- argv and environment --------------------------------------------------
 */

static void join_argv(char **argv, struct sk_buf *b)
{
    size_t i;
    sk_buf_reset(b);
    for (i = 0; argv[i]; i++)
        assert_int_equal(sk_buf_printf(b, "%s%s", i ? " " : "", argv[i]),
                         SK_OK);
}

static void test_agent__argv_per_cli(void **state)
{
    static const struct {
        enum sk_agent_kind kind;
        const char *model, *effort, *sandbox, *approval;
        const char *want;
    } cases[] = {
        {SK_AGENT_CODEX, NULL, NULL, NULL, NULL,
         "codex exec --json --skip-git-repo-check --color never -C /w "
         "--sandbox workspace-write -c approval_policy=\"never\" X -"},
        {SK_AGENT_CODEX, "gpt-5.5", "high", "read-only", "on-request",
         "codex exec --json --skip-git-repo-check --color never -C /w -m "
         "gpt-5.5 -c model_reasoning_effort=\"high\" --sandbox read-only -c "
         "approval_policy=\"on-request\" X -"},
        {SK_AGENT_CLAUDE_CODE, NULL, NULL, NULL, NULL,
         "claude -p --output-format stream-json --verbose "
         "--no-session-persistence --permission-mode dontAsk --allowedTools "
         "Bash Read Glob Grep Edit Write Skill --add-dir /w X"},
        {SK_AGENT_CLAUDE_CODE, "sonnet", "max", NULL, "bypassPermissions",
         "claude -p --output-format stream-json --verbose "
         "--no-session-persistence --model sonnet --effort max "
         "--permission-mode bypassPermissions --allowedTools Bash Read Glob "
         "Grep Edit Write Skill --add-dir /w X"},
        {SK_AGENT_CURSOR, "gpt-5", NULL, NULL, NULL,
         "cursor-agent -p --output-format stream-json --trust --workspace /w "
         "--sandbox enabled --force --model gpt-5 X"},
        {SK_AGENT_CURSOR, NULL, NULL, "disabled", "ask",
         "cursor-agent -p --output-format stream-json --trust --workspace /w "
         "--sandbox disabled --mode ask X"},
        {SK_AGENT_COPILOT, "gpt-5", "low", NULL, NULL,
         "copilot --output-format json --stream off --no-color --log-level "
         "none --no-auto-update --no-ask-user --disable-builtin-mcps -C /w "
         "--allow-all-tools --model gpt-5 --reasoning-effort low X"},
    };
    static const char *const extra[] = {"X"};
    struct sk_buf b;
    size_t i;
    (void)state;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        struct sk_agent_opts o;
        char **argv;
        memset(&o, 0, sizeof o);
        o.kind = cases[i].kind;
        o.model = cases[i].model;
        o.effort = cases[i].effort;
        o.sandbox = cases[i].sandbox;
        o.approval = cases[i].approval;
        o.extra_args = extra;
        o.n_extra_args = 1;
        argv = sk_agent_argv(&o, "/w");
        assert_non_null(argv);
        join_argv(argv, &b);
        assert_string_equal(b.data, cases[i].want);
        sk_agent_argv_free(argv);
    }
    sk_buf_release(&b);
}

/* Names the test expects a codex CLI may see (its own copy of the list). */
static int codex_may_see(const char *name)
{
    static const char *const ok[] = {"PATH",
                                     "HOME",
                                     "USER",
                                     "LOGNAME",
                                     "SHELL",
                                     "LANG",
                                     "LANGUAGE",
                                     "TZ",
                                     "TMPDIR",
                                     "TERM",
                                     "NO_COLOR",
                                     "XDG_CONFIG_HOME",
                                     "XDG_CACHE_HOME",
                                     "XDG_DATA_HOME",
                                     "XDG_STATE_HOME",
                                     "XDG_RUNTIME_DIR",
                                     "HTTP_PROXY",
                                     "HTTPS_PROXY",
                                     "NO_PROXY",
                                     "ALL_PROXY",
                                     "http_proxy",
                                     "https_proxy",
                                     "no_proxy",
                                     "all_proxy",
                                     "SSL_CERT_FILE",
                                     "SSL_CERT_DIR",
                                     "NODE_EXTRA_CA_CERTS",
                                     "REQUESTS_CA_BUNDLE",
                                     "CODEX_HOME",
                                     "OPENAI_API_KEY",
                                     "CODEX_API_KEY",
                                     "OPENAI_BASE_URL",
                                     "OPENAI_ORG_ID",
                                     "OPENAI_PROJECT_ID",
                                     "CODEX_SANDBOX_NETWORK_DISABLED",
                                     "SIM_PROVIDER_KEY",
                                     "SKILLOPT_FAKE_SETTING"};
    size_t i;
    if (strncmp(name, "LC_", 3) == 0)
        return 1;
    for (i = 0; i < SK_ARRAY_LEN(ok); i++)
        if (strcmp(name, ok[i]) == 0)
            return 1;
    return 0;
}

/* ---- runs of fake CLIs -----------------------------------------------------
 */

struct fake {
    char *root; /* temp dir: bin/, log/, item/ws */
    char *log;
    char *ws;
    struct sk_agent_opts o;
    struct sk_agent_result r;
    struct sk_error err;
};

static void fake_open(struct fake *f, enum sk_agent_kind kind)
{
    char *item;
    memset(f, 0, sizeof *f);
    f->root = tu_mkdtemp();
    f->log = sk_fs_join(f->root, "log");
    assert_int_equal(sk_fs_mkdirs(f->log, NULL), SK_OK);
    item = sk_fs_join(f->root, "item");
    f->ws = simple_ws(item, "ws");
    sk_free(item);
    f->o.kind = kind;
    f->o.timeout_ms = 20000;
    sk_agent_result_init(&f->r);
}

static void fake_close(struct fake *f)
{
    sk_agent_result_release(&f->r);
    tu_rmtree(f->root);
    sk_free(f->root);
    sk_free(f->log);
    sk_free(f->ws);
}

/* A fake that replays fixture name and exits with code. */
static char *replay_cli(struct fake *f, const char *name, int code)
{
    char *path, *tail, *bin;
    size_t n;
    char rel[256];
    snprintf(rel, sizeof rel, "tests/fixtures/agent/streams/%s", name);
    path = tu_source_path(rel);
    n = strlen(path) + 64;
    tail = sk_malloc(n);
    assert_non_null(tail);
    snprintf(tail, n, "cat '%s'\nexit %d\n", path, code);
    bin = recording_cli(f->root, f->log, tail);
    sk_free(tail);
    sk_free(path);
    return bin;
}

static void test_agent__run_codex_replay(void **state)
{
    static const char prompt[] =
        "Read task.md and SKILL.md.\nAnswer inside <answer></answer>; "
        "this prompt must travel on stdin, never in argv.\n";
    struct fake f;
    char *bin, *text, *argv, *cwd, *real, *fix, *events;
    size_t flen;
    (void)state;
    fake_open(&f, SK_AGENT_CODEX);
    bin = replay_cli(&f, "codex_ok.jsonl", 0);
    f.o.binary = bin;
    assert_int_equal(sk_agent_run(&f.o, f.ws, prompt, &f.r, &f.err), SK_OK);
    assert_string_equal(f.r.answer, "<answer>42</answer>");
    assert_int_equal(f.r.usage.prompt_tokens, 200);
    assert_int_equal(f.r.exit_code, 0);
    /* the trajectory opens with the prompt */
    assert_string_equal(traj_str(&f.r, 0, "role"), "user");
    assert_string_equal(traj_str(&f.r, 0, "content"), prompt);
    /* the prompt came on stdin and is nowhere in argv */
    text = read_log(f.log, "stdin");
    assert_string_equal(text, prompt);
    sk_free(text);
    argv = read_log(f.log, "argv");
    assert_null(strstr(argv, "travel on stdin"));
    assert_non_null(strstr(argv, "exec\n--json\n"));
    assert_true(strlen(argv) > 2 &&
                strcmp(argv + strlen(argv) - 2, "-\n") == 0);
    sk_free(argv);
    /* cwd is the workspace */
    cwd = read_log(f.log, "cwd");
    real = realpath(f.ws, NULL);
    assert_non_null(real);
    cwd[strcspn(cwd, "\n")] = '\0';
    assert_string_equal(cwd, real);
    free(real);
    sk_free(cwd);
    /* the raw stream is saved next to the workspace, byte for byte */
    fix = fixture("codex_ok.jsonl", &flen);
    assert_non_null(f.r.events_path);
    assert_non_null(strstr(f.r.events_path, "/item/codex_events.jsonl"));
    events = tu_read(f.r.events_path, NULL);
    assert_string_equal(events, fix);
    sk_free(events);
    sk_free(fix);
    assert_non_null(strstr(f.r.summary, "settings: sandbox workspace-write, "
                                        "approval never, effort (default)"));
    sk_free(bin);
    fake_close(&f);
}

static void test_agent__run_claude_replay(void **state)
{
    struct fake f;
    char *bin;
    long t;
    (void)state;
    fake_open(&f, SK_AGENT_CLAUDE_CODE);
    bin = replay_cli(&f, "claude_ok.jsonl", 0);
    f.o.binary = bin;
    f.o.model = "claude-sonnet-4-5";
    assert_int_equal(sk_agent_run(&f.o, f.ws, "go", &f.r, &f.err), SK_OK);
    assert_string_equal(f.r.answer, "<answer>42</answer>");
    assert_int_equal(f.r.usage.prompt_tokens, 280);
    assert_true(f.r.cost_known);
    t = find_tool(&f.r, "Bash");
    assert_true(t > 0);
    assert_non_null(strstr(f.r.events_path, "/item/claude_events.jsonl"));
    sk_free(bin);
    fake_close(&f);
}

static void test_agent__environment_is_the_allow_list(void **state)
{
    static const char *const pass[] = {"SIM_PROVIDER_KEY"};
    static const char *const set[] = {"SKILLOPT_FAKE_SETTING=on",
                                      "OPENAI_BASE_URL=http://127.0.0.1:9/v1"};
    struct fake f;
    char *bin, *env, *line, *next = NULL;
    int saw_key = 0, saw_pass = 0, saw_set = 0, saw_url = 0;
    (void)state;
    setenv("AWS_SECRET_ACCESS_KEY", "aws-secret-not-for-agents", 1);
    setenv("ANTHROPIC_API_KEY", "sk-ant-not-for-codex", 1);
    setenv("GITHUB_TOKEN", "ghp-not-for-codex", 1);
    setenv("OPENAI_API_KEY", "sk-test-0000", 1);
    setenv("OPENAI_BASE_URL", "http://overridden.invalid", 1);
    setenv("SIM_PROVIDER_KEY", "sk-sim-1234", 1);
    setenv("LC_ALL", "C", 1);
    fake_open(&f, SK_AGENT_CODEX);
    bin = replay_cli(&f, "codex_ok.jsonl", 0);
    f.o.binary = bin;
    f.o.env_pass = pass;
    f.o.n_env_pass = 1;
    f.o.env_set = set;
    f.o.n_env_set = 2;
    assert_int_equal(sk_agent_run(&f.o, f.ws, "go", &f.r, &f.err), SK_OK);
    env = read_log(f.log, "env");
    for (line = env; line && *line; line = next) {
        char *eq, *nl = strchr(line, '\n');
        next = nl ? nl + 1 : NULL;
        if (nl)
            *nl = '\0';
        eq = strchr(line, '=');
        assert_non_null(eq);
        *eq = '\0';
        if (!codex_may_see(line))
            fail_msg("the CLI saw %s", line);
        saw_key |= strcmp(line, "OPENAI_API_KEY") == 0 &&
                   strcmp(eq + 1, "sk-test-0000") == 0;
        saw_pass |= strcmp(line, "SIM_PROVIDER_KEY") == 0;
        saw_set |= strcmp(line, "SKILLOPT_FAKE_SETTING") == 0;
        if (strcmp(line, "OPENAI_BASE_URL") == 0) {
            assert_string_equal(eq + 1, "http://127.0.0.1:9/v1");
            saw_url++;
        }
    }
    assert_true(saw_key && saw_pass && saw_set);
    assert_int_equal(saw_url, 1); /* the given value, once */
    sk_free(env);
    sk_free(bin);
    fake_close(&f);
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("ANTHROPIC_API_KEY");
    unsetenv("GITHUB_TOKEN");
    unsetenv("OPENAI_API_KEY");
    unsetenv("OPENAI_BASE_URL");
    unsetenv("SIM_PROVIDER_KEY");
}

static void test_agent__workspaces_do_not_see_each_other(void **state)
{
    struct fake f;
    char *bin, *other, *item, *argv, *env, *cwd, *real_other;
    (void)state;
    fake_open(&f, SK_AGENT_CODEX);
    item = sk_fs_join(f.root, "item");
    other = simple_ws(item, "ws-other");
    bin = replay_cli(&f, "codex_ok.jsonl", 0);
    f.o.binary = bin;
    assert_int_equal(sk_agent_run(&f.o, f.ws, "go", &f.r, &f.err), SK_OK);
    real_other = realpath(other, NULL);
    argv = read_log(f.log, "argv");
    env = read_log(f.log, "env");
    cwd = read_log(f.log, "cwd");
    assert_non_null(strstr(argv, f.ws)); /* its own, in -C */
    assert_null(strstr(argv, "ws-other"));
    assert_null(strstr(env, "ws-other"));
    assert_null(strstr(cwd, "ws-other"));
    assert_non_null(strstr(cwd, "/item/ws"));
    free(real_other);
    sk_free(argv);
    sk_free(env);
    sk_free(cwd);
    sk_free(other);
    sk_free(item);
    sk_free(bin);
    fake_close(&f);
}

static void test_agent__run_failures(void **state)
{
    static const struct {
        enum sk_agent_kind kind;
        const char *body; /* script after the recording part */
        long timeout_ms;
        enum sk_agent_fail fail;
        int status;
        const char *says;
    } cases[] = {
        /* auth: the CLI prints an error result and exits 1 */
        {SK_AGENT_CLAUDE_CODE,
         "printf '%s\\n' '{\"type\":\"result\",\"subtype\":\"success\","
         "\"is_error\":true,\"api_error_status\":401,\"result\":\"Invalid "
         "API key\"}'\nexit 1\n",
         20000, SK_AGENT_FAIL_AUTH, SK_LLM_EAUTH, "Invalid API key"},
        /* not logged in, said only on stderr */
        {SK_AGENT_CURSOR,
         "echo 'Error: Authentication required. Please run agent login' >&2\n"
         "exit 1\n",
         20000, SK_AGENT_FAIL_AUTH, SK_LLM_EAUTH, "Authentication required"},
        /* rate limited */
        {SK_AGENT_CODEX,
         "echo '{\"type\":\"turn.started\"}'\n"
         "echo '{\"type\":\"turn.failed\",\"error\":{\"message\":\"You have "
         "hit your usage limit\"}}'\nexit 1\n",
         20000, SK_AGENT_FAIL_RATE_LIMIT, SK_LLM_EPROVIDER, "usage limit"},
        /* partial output: cut in the middle of a line, then exit 0 */
        {SK_AGENT_CLAUDE_CODE,
         "printf '%s\\n%s' '{\"type\":\"system\",\"subtype\":\"init\"}' "
         "'{\"type\":\"result\",\"subtype\":\"succ'\n",
         20000, SK_AGENT_FAIL_EMPTY, SK_LLM_EREPLY, "cut in the middle"},
        /* crash */
        {SK_AGENT_CODEX,
         "echo '{\"type\":\"turn.started\"}'\necho 'panic: boom' >&2\n"
         "kill -SEGV $$\n",
         20000, SK_AGENT_FAIL_CRASH, SK_LLM_EPROVIDER,
         "signal 11 (SIGSEGV): panic: boom"},
        /* non-zero exit, no result */
        {SK_AGENT_COPILOT, "echo 'unexpected failure' >&2\nexit 2\n", 20000,
         SK_AGENT_FAIL_CRASH, SK_LLM_EPROVIDER,
         "exited with status 2 without a result: unexpected failure"},
        /* empty stream */
        {SK_AGENT_CODEX, "exit 0\n", 20000, SK_AGENT_FAIL_EMPTY, SK_LLM_EREPLY,
         "printed nothing"},
        /* an error event */
        {SK_AGENT_CLAUDE_CODE,
         "echo '{\"type\":\"result\",\"subtype\":\"error_max_turns\","
         "\"is_error\":false}'\n",
         20000, SK_AGENT_FAIL_ERROR, SK_LLM_EPROVIDER, "error_max_turns"},
    };
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        struct fake f;
        char *bin;
        int rc;
        fake_open(&f, cases[i].kind);
        bin = recording_cli(f.root, f.log, cases[i].body);
        f.o.binary = bin;
        f.o.timeout_ms = cases[i].timeout_ms;
        rc = sk_agent_run(&f.o, f.ws, "go", &f.r, &f.err);
        if (rc != cases[i].status || f.r.fail != cases[i].fail ||
            !strstr(f.r.error, cases[i].says))
            fail_msg("case %zu: status %d fail %s error '%s'", i, rc,
                     sk_agent_fail_name(f.r.fail), f.r.error);
        assert_string_equal(f.err.msg, f.r.error);
        assert_int_equal(f.err.code, rc);
        assert_true(f.r.answer == NULL || f.r.answer[0] == '\0');
        sk_free(bin);
        fake_close(&f);
    }
}

static void test_agent__timeout_kills_the_group(void **state)
{
    struct fake f;
    char *bin, *body, *pidtxt;
    size_t n;
    double t0;
    pid_t child;
    (void)state;
    fake_open(&f, SK_AGENT_CODEX);
    n = strlen(f.log) + 256;
    body = sk_malloc(n);
    assert_non_null(body);
    /* a grandchild in the background, then the CLI itself hangs */
    snprintf(body, n,
             "sleep 300 &\necho $! > '%s/grandchild'\n"
             "echo '{\"type\":\"turn.started\"}'\nexec sleep 300\n",
             f.log);
    bin = recording_cli(f.root, f.log, body);
    f.o.binary = bin;
    f.o.timeout_ms = 700;
    t0 = mono_s();
    assert_int_equal(sk_agent_run(&f.o, f.ws, "go", &f.r, &f.err),
                     SK_LLM_ETIMEOUT);
    assert_true(mono_s() - t0 < 10.0);
    assert_int_equal(f.r.fail, SK_AGENT_FAIL_TIMEOUT);
    assert_non_null(strstr(f.r.error, "timed out"));
    pidtxt = read_log(f.log, "grandchild");
    child = (pid_t)strtol(pidtxt, NULL, 10);
    assert_true(child > 1);
    assert_true(gone(child));
    sk_free(pidtxt);
    sk_free(body);
    sk_free(bin);
    fake_close(&f);
}

/* A process the agent left running is killed when the CLI exits. */
static void test_agent__leftover_process_is_killed(void **state)
{
    struct fake f;
    char *bin, *body, *pidtxt, *path;
    size_t n;
    pid_t child;
    (void)state;
    fake_open(&f, SK_AGENT_CODEX);
    path = tu_source_path("tests/fixtures/agent/streams/codex_ok.jsonl");
    n = strlen(f.log) + strlen(path) + 256;
    body = sk_malloc(n);
    assert_non_null(body);
    snprintf(body, n,
             "sleep 300 > /dev/null 2>&1 &\necho $! > '%s/grandchild'\n"
             "cat '%s'\n",
             f.log, path);
    bin = recording_cli(f.root, f.log, body);
    f.o.binary = bin;
    assert_int_equal(sk_agent_run(&f.o, f.ws, "go", &f.r, &f.err), SK_OK);
    pidtxt = read_log(f.log, "grandchild");
    child = (pid_t)strtol(pidtxt, NULL, 10);
    assert_true(child > 1);
    assert_true(gone(child));
    sk_free(pidtxt);
    sk_free(body);
    sk_free(path);
    sk_free(bin);
    fake_close(&f);
}

/* A CLI that printed its result but does not exit keeps its answer. */
static void test_agent__result_then_hang_keeps_the_answer(void **state)
{
    struct fake f;
    char *bin, *body, *path;
    size_t n;
    double t0;
    (void)state;
    fake_open(&f, SK_AGENT_CLAUDE_CODE);
    path = tu_source_path("tests/fixtures/agent/streams/claude_ok.jsonl");
    n = strlen(path) + 64;
    body = sk_malloc(n);
    assert_non_null(body);
    snprintf(body, n, "cat '%s'\nexec sleep 300\n", path);
    bin = recording_cli(f.root, f.log, body);
    f.o.binary = bin;
    f.o.linger_ms = 300;
    t0 = mono_s();
    assert_int_equal(sk_agent_run(&f.o, f.ws, "go", &f.r, &f.err), SK_OK);
    assert_true(mono_s() - t0 < 10.0);
    assert_string_equal(f.r.answer, "<answer>42</answer>");
    assert_non_null(
        strstr(f.r.summary, "stopped by skillopt after its result"));
    sk_free(body);
    sk_free(path);
    sk_free(bin);
    fake_close(&f);
}

/* Bad credentials stop the CLI at once instead of waiting out its retries. */
static void test_agent__auth_retry_stops_the_cli(void **state)
{
    static const char body[] =
        "echo '{\"type\":\"thread.started\",\"thread_id\":\"t\"}'\n"
        "echo '{\"type\":\"error\",\"message\":\"Reconnecting... 1/5 "
        "(unexpected status 401 Unauthorized: bad key)\"}'\n"
        "exec sleep 300\n";
    struct fake f;
    char *bin;
    double t0;
    (void)state;
    fake_open(&f, SK_AGENT_CODEX);
    bin = recording_cli(f.root, f.log, body);
    f.o.binary = bin;
    f.o.timeout_ms = 60000;
    t0 = mono_s();
    assert_int_equal(sk_agent_run(&f.o, f.ws, "go", &f.r, &f.err),
                     SK_LLM_EAUTH);
    assert_true(mono_s() - t0 < 10.0);
    assert_int_equal(f.r.fail, SK_AGENT_FAIL_AUTH);
    assert_non_null(strstr(f.r.error, "401 Unauthorized: bad key"));
    assert_non_null(strstr(f.r.error, "stopped instead of retrying"));
    sk_free(bin);
    fake_close(&f);
}

static void test_agent__binary_missing(void **state)
{
    struct fake f;
    char *noexec;
    (void)state;
    fake_open(&f, SK_AGENT_CODEX);
    f.o.binary = "/nonexistent/dir/codex";
    f.o.binary_setting = "target_codex_path";
    assert_int_equal(sk_agent_run(&f.o, f.ws, "go", &f.r, &f.err), SK_ECONFIG);
    assert_int_equal(f.r.fail, SK_AGENT_FAIL_NOT_FOUND);
    assert_non_null(strstr(f.r.error, "no such file"));
    assert_non_null(strstr(f.r.error, "target_codex_path"));
    sk_agent_result_release(&f.r);
    sk_agent_result_init(&f.r);

    f.o.binary = "skillopt-no-such-agent-cli";
    assert_int_equal(sk_agent_run(&f.o, f.ws, "go", &f.r, &f.err), SK_ECONFIG);
    assert_non_null(strstr(f.r.error, "not found in PATH"));
    sk_agent_result_release(&f.r);
    sk_agent_result_init(&f.r);

    noexec = tu_write(f.root, "noexec", "#!/bin/sh\nexit 0\n");
    f.o.binary = noexec;
    assert_int_equal(sk_agent_run(&f.o, f.ws, "go", &f.r, &f.err), SK_ECONFIG);
    assert_non_null(strstr(f.r.error, "not an executable file"));
    sk_free(noexec);
    fake_close(&f);
}

static void test_agent__stream_cap(void **state)
{
    struct fake f;
    char *bin;
    (void)state;
    fake_open(&f, SK_AGENT_CODEX);
    bin = recording_cli(f.root, f.log,
                        "while :; do echo '{\"type\":\"turn.started\"}'; "
                        "done\n");
    f.o.binary = bin;
    f.o.max_stream_bytes = 100000;
    assert_int_equal(sk_agent_run(&f.o, f.ws, "go", &f.r, &f.err),
                     SK_LLM_EREPLY);
    assert_int_equal(f.r.fail, SK_AGENT_FAIL_TOO_BIG);
    sk_free(bin);
    fake_close(&f);
}

static void test_agent__names(void **state)
{
    enum sk_agent_kind k;
    enum sk_agent_skill_place pl;
    (void)state;
    assert_int_equal(sk_agent_kind_parse("claude_code_exec", &k), SK_OK);
    assert_int_equal(k, SK_AGENT_CLAUDE_CODE);
    assert_int_equal(sk_agent_kind_parse("codex", &k), SK_OK);
    assert_int_equal(k, SK_AGENT_CODEX);
    assert_int_equal(sk_agent_kind_parse("gpt", &k), SK_ENOTFOUND);
    assert_int_equal(sk_agent_place_parse("claude_skills", &pl), SK_OK);
    assert_int_equal(pl, SK_AGENT_SKILL_CLAUDE_DIR);
    assert_int_equal(sk_agent_place_parse("x", &pl), SK_ENOTFOUND);
    assert_string_equal(sk_agent_backend_name(SK_AGENT_COPILOT),
                        "copilot_exec");
    assert_int_equal(sk_agent_fail_status(SK_AGENT_FAIL_AUTH), SK_LLM_EAUTH);
    assert_int_equal(sk_agent_fail_status(SK_AGENT_FAIL_TIMEOUT),
                     SK_LLM_ETIMEOUT);
    assert_int_equal(sk_agent_fail_status(SK_AGENT_FAIL_NOT_FOUND), SK_ECONFIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agent__codex_recorded_stream),
        cmocka_unit_test(test_agent__codex_items_turns_and_bad_lines),
        cmocka_unit_test(test_agent__claude_recorded_stream),
        cmocka_unit_test(test_agent__claude_tool_results_and_usage),
        cmocka_unit_test(test_agent__cursor_and_copilot_streams),
        cmocka_unit_test(test_agent__failure_streams_are_classified),
        cmocka_unit_test(test_agent__shared_real_fixtures),
        cmocka_unit_test(test_agent__malformed_and_cut_streams),
        cmocka_unit_test(test_agent__parse_allocation_sweep),
        cmocka_unit_test(test_agent__skill_lands_where_configured),
        cmocka_unit_test(test_agent__workspace_refuses_escapes),
        cmocka_unit_test(test_agent__workspace_is_fresh_and_never_clobbers),
        cmocka_unit_test(test_agent__argv_per_cli),
        cmocka_unit_test(test_agent__run_codex_replay),
        cmocka_unit_test(test_agent__run_claude_replay),
        cmocka_unit_test(test_agent__environment_is_the_allow_list),
        cmocka_unit_test(test_agent__workspaces_do_not_see_each_other),
        cmocka_unit_test(test_agent__run_failures),
        cmocka_unit_test(test_agent__timeout_kills_the_group),
        cmocka_unit_test(test_agent__leftover_process_is_killed),
        cmocka_unit_test(test_agent__result_then_hang_keeps_the_answer),
        cmocka_unit_test(test_agent__auth_retry_stops_the_cli),
        cmocka_unit_test(test_agent__binary_missing),
        cmocka_unit_test(test_agent__stream_cap),
        cmocka_unit_test(test_agent__names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
