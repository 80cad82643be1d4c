/*
 * test_spreadsheet.c - SpreadsheetBench end to end through the rollout:
 * scripts extracted from scripted target replies, run in the sandbox on
 * each test case, compared with the expected workbooks; the three modes,
 * training feedback that never shows expected values, item failures and
 * the preflight check.  Fixture task: tests/fixtures/spreadsheet (sum of
 * four numbers into B1, two cases).
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/benches.h"
#include "bench/ssb_exec.h"
#include "config/config.h"
#include "llm/client.h"
#include "llm/sim.h"
#include "sandbox/sandbox.h"
#include "testutil.h"
#include "train/bench.h"
#include "train/rollout.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"

static const char good_py[] =
    "import openpyxl\n"
    "INPUT_PATH = 'somewhere/else.xlsx'  # neutered by the harness\n"
    "wb = openpyxl.load_workbook(INPUT_PATH)\n"
    "ws = wb['Data']\n"
    "ws['B1'] = sum(ws.cell(row=r, column=1).value for r in range(1, 5))\n"
    "wb.save(OUTPUT_PATH)\n";
static const char hardcoded_py[] = "import openpyxl\n"
                                   "wb = openpyxl.load_workbook(INPUT_PATH)\n"
                                   "wb['Data']['B1'] = 10000\n"
                                   "wb.save(OUTPUT_PATH)\n";
static const char formula_py[] = "import openpyxl\n"
                                 "wb = openpyxl.load_workbook(INPUT_PATH)\n"
                                 "wb['Data']['B1'] = '=SUM(A1:A4)'\n"
                                 "wb.save(OUTPUT_PATH)\n";
static const char boom_py[] = "raise ValueError('boom')\n";

/* A reply holding a script in a fence. */
static char *fenced(const char *code)
{
    struct sk_buf b;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    assert_int_equal(
        sk_buf_printf(&b, "Here is the script.\n```python\n%s```\nDone.", code),
        SK_OK);
    return sk_buf_detach(&b, NULL);
}

/* Scripted target: replies[turn] by the number of assistant turns. */
struct script {
    pthread_mutex_t mu;
    const char *replies[8];
    size_t n;
    json_t *bodies; /* request bodies, as text */
};

static int scripted(void *ud, const struct sk_sim_request *req,
                    struct sk_sim_reply *reply)
{
    struct script *s = ud;
    json_t *b = json_loadb(req->body, req->body_len, 0, NULL), *m;
    size_t i, turn = 0;
    const char *text;
    json_array_foreach(json_object_get(b, "messages"), i, m)
    {
        const char *r = json_string_value(json_object_get(m, "role"));
        turn += r && strcmp(r, "assistant") == 0;
    }
    json_decref(b);
    pthread_mutex_lock(&s->mu);
    json_array_append_new(s->bodies, json_stringn(req->body, req->body_len));
    pthread_mutex_unlock(&s->mu);
    text = turn < s->n ? s->replies[turn] : "I have nothing more.";
    reply->body = sk_sim_chat_completion("sim-target", text, 10, 10);
    reply->body_len = reply->body ? strlen(reply->body) : 0;
    return reply->body ? 0 : 1;
}

struct env {
    char *dir;
    struct sk_config cfg;
    struct sk_llm_client *c;
    struct script s;
};

static int sandbox_ok(void)
{
    struct sk_error err;
    return sk_sandbox_probe(NULL, &err) == SK_OK &&
           access("/usr/bin/python3", X_OK) == 0;
}

static void env_open(struct env *e, const char *mode, const char *const *extra,
                     size_t n_extra)
{
    struct sk_config_args a;
    struct sk_llm_client_opts o;
    struct sk_error err;
    char *root = tu_source_path("tests/fixtures/spreadsheet/tasks");
    char *cfgp, opt_root[4200], opt_mode[64];
    const char *opts[16];
    size_t n = 0, i;

    memset(e, 0, sizeof *e);
    pthread_mutex_init(&e->s.mu, NULL);
    e->s.bodies = json_array();
    e->dir = tu_mkdtemp();
    cfgp = tu_write(e->dir, "c.yaml",
                    "model:\n  backend: sim\n  optimizer_backend: sim\n"
                    "  target_backend: sim\n  target: sim-target\n"
                    "env:\n  name: spreadsheetbench\n  code_timeout: 20\n");
    snprintf(opt_root, sizeof opt_root, "env.data_root=%s", root);
    snprintf(opt_mode, sizeof opt_mode, "env.mode=%s", mode);
    opts[n++] = opt_root;
    opts[n++] = opt_mode;
    for (i = 0; i < n_extra; i++)
        opts[n++] = extra[i];
    memset(&a, 0, sizeof a);
    a.path = cfgp;
    a.cfg_options = opts;
    a.n_cfg_options = n;
    sk_config_init(&e->cfg);
    if (sk_config_load(&a, &e->cfg, &err) != SK_OK)
        fail_msg("%s", err.msg);
    memset(&o, 0, sizeof o);
    o.run_dir = e->dir; /* the response cache lives here */
    o.sim_responder = scripted;
    o.sim_ud = &e->s;
    if (sk_llm_client_new(&e->cfg, &o, &e->c, &err) != SK_OK)
        fail_msg("%s", err.msg);
    sk_free(cfgp);
    sk_free(root);
}

static void env_close(struct env *e)
{
    sk_llm_client_free(e->c);
    sk_config_release(&e->cfg);
    tu_rmtree(e->dir);
    sk_free(e->dir);
    json_decref(e->s.bodies);
    pthread_mutex_destroy(&e->s.mu);
}

static json_t *sum_item(void)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", "sum", "instruction",
                     "Put the sum of the four numbers of column A in B1.",
                     "spreadsheet_path", "spreadsheet/sum", "instruction_type",
                     "Cell-Level Manipulation", "answer_position", "Data!B1");
}

/* Runs items; returns the rows (new). */
static json_t *run(struct env *e, json_t *items, int train,
                   struct sk_rollout_stats *st)
{
    struct sk_rollout_opts o;
    struct sk_error err;
    json_t *rows = NULL;
    char *out = sk_fs_join(e->dir, "out");
    memset(&o, 0, sizeof o);
    o.cfg = &e->cfg;
    o.train = train;
    o.workers = 2;
    o.seed = 1;
    if (sk_rollout_run_opts(e->c, &sk_bench_spreadsheet, "Be careful.", items,
                            out, &o, &rows, st, &err) != SK_OK)
        fail_msg("rollout: %s", err.msg);
    sk_free(out);
    return rows;
}

/* out/predictions/<id>/<name> as text (new), or NULL. */
static char *pred_text(struct env *e, const char *id, const char *name)
{
    struct sk_buf b;
    size_t len;
    char *t;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    assert_int_equal(sk_buf_printf(&b, "%s/out/predictions/", e->dir), SK_OK);
    assert_int_equal(sk_rollout_pred_dir(id, &b), SK_OK);
    assert_int_equal(sk_buf_printf(&b, "/%s", name), SK_OK);
    t = sk_fs_exists(sk_buf_cstr(&b)) ? tu_read(sk_buf_cstr(&b), &len) : NULL;
    sk_buf_release(&b);
    return t;
}

static double num(const json_t *row, const char *k)
{
    return json_number_value(json_object_get(row, k));
}

static const char *str(const json_t *row, const char *k)
{
    const char *s = json_string_value(json_object_get(row, k));
    return s ? s : "";
}

/* ---- pure helpers ------------------------------------------------------ */

static void test_spreadsheet__extract_code(void **state)
{
    static const struct {
        const char *reply, *code;
    } cases[] = {
        {"```python\nprint(1)\n```", "print(1)"},
        {"text\n```py\na = 1\nb = 2\n```\nmore ```x``` ", "a = 1\nb = 2"},
        {"```\n  x = 1  \n```", "x = 1"},
        {"no fence here\n", "no fence here"},
        {"```python\nunclosed", "```python\nunclosed"},
        {"```python", "```python"},
        {"first\n```a\n1\n```\n```b\n2\n```", "1"},
        {"", ""},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *code;
        assert_int_equal(ssb_extract_code(cases[i].reply, &code), SK_OK);
        assert_string_equal(code, cases[i].code);
        sk_free(code);
    }
}

static void test_spreadsheet__neuter_paths(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"INPUT_PATH = 'a'\nx = 1\n", "pass  # set by the harness\nx = 1\n"},
        {"if 1:\n    OUTPUT_PATH='b'\n",
         "if 1:\n    pass  # set by the harness\n"},
        {"INPUT_PATH == 'a'\n", "INPUT_PATH == 'a'\n"},
        {"MY_INPUT_PATH = 1\n", "MY_INPUT_PATH = 1\n"},
        {"INPUT_PATH2 = 1", "INPUT_PATH2 = 1"},
        {"\tINPUT_PATH\t=\t'c'", "\tpass  # set by the harness"},
        {"INPUT_PATH =", "INPUT_PATH ="},
        {"print(INPUT_PATH)\n", "print(INPUT_PATH)\n"},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sk_buf b;
        sk_buf_init(&b, SK_BUF_UNLIMITED);
        assert_int_equal(ssb_neuter_paths(cases[i].in, &b), SK_OK);
        assert_string_equal(sk_buf_cstr(&b), cases[i].out);
        sk_buf_release(&b);
    }
}

/* ---- running scripts ---------------------------------------------------- */

static void exec_one(const char *code, double timeout, int *ok, char **how,
                     char **output, int *saved)
{
    struct ssb_exec_opts o;
    struct ssb_exec_result r;
    struct sk_error err;
    char *in = tu_source_path(
        "tests/fixtures/spreadsheet/tasks/spreadsheet/sum/1_sum_input.xlsx");
    char *dir = tu_mkdtemp(), *pred = sk_fs_join(dir, "p.xlsx");
    ssb_exec_opts_from_config(&o, NULL);
    o.timeout_s = timeout;
    o.cpu_s = (long)timeout + 1;
    if (ssb_exec_run(&o, code, in, pred, &r, &err) != SK_OK)
        fail_msg("ssb_exec_run: %s", err.msg);
    *ok = r.ok;
    *how = r.how ? sk_strdup(r.how) : NULL;
    *output = sk_strdup(r.output ? r.output : "");
    *saved = sk_fs_exists(pred);
    ssb_exec_result_release(&r);
    tu_rmtree(dir);
    sk_free(dir);
    sk_free(pred);
    sk_free(in);
}

static void test_spreadsheet__exec_outcomes(void **state)
{
    int ok, saved;
    char *how, *out;
    (void)state;
    if (!sandbox_ok())
        skip();
    setenv("OPENAI_API_KEY", "sk-test-never-visible", 1);
    exec_one(good_py, 30, &ok, &how, &out, &saved);
    assert_true(ok);
    assert_true(saved);
    assert_null(how);
    sk_free(out);
    exec_one(boom_py, 30, &ok, &how, &out, &saved);
    assert_false(ok);
    assert_false(saved);
    assert_string_equal(how, "it exited with status 2");
    assert_non_null(strstr(out, "ValueError: boom"));
    sk_free(how);
    sk_free(out);
    exec_one("x = 1\n", 30, &ok, &how, &out, &saved);
    assert_false(ok);
    assert_non_null(strstr(how, "saved no workbook"));
    sk_free(how);
    sk_free(out);
    exec_one("while True:\n    pass\n", 1, &ok, &how, &out, &saved);
    assert_false(ok);
    assert_non_null(how);
    assert_true(strstr(how, "stopped after") || strstr(how, "CPU time"));
    sk_free(how);
    sk_free(out);
    /* a planted link is not followed when the workbook is copied out */
    exec_one("import os\nos.symlink('/etc/passwd', OUTPUT_PATH)\n", 30, &ok,
             &how, &out, &saved);
    assert_false(ok);
    assert_false(saved);
    assert_non_null(strstr(how, "refused"));
    sk_free(how);
    sk_free(out);
    /* secrets of the parent are not in the script's environment */
    exec_one("import os, openpyxl\n"
             "assert 'OPENAI_API_KEY' not in os.environ, 'key leaked'\n"
             "openpyxl.load_workbook(INPUT_PATH).save(OUTPUT_PATH)\n",
             30, &ok, &how, &out, &saved);
    assert_true(ok);
    sk_free(how);
    sk_free(out);
    /* the output names no scratch directory and repeats run to run */
    exec_one("import os, sys\nprint(os.getcwd(), INPUT_PATH)\n"
             "print(list({'a', 'b', 'c', 'd', 'e', 'f'}))\nsys.exit(1)\n",
             30, &ok, &how, &out, &saved);
    assert_false(ok);
    assert_null(strstr(out, "skillopt-ssb-"));
    assert_non_null(strstr(out, ". input.xlsx"));
    {
        char *how2, *out2;
        exec_one("import os, sys\nprint(os.getcwd(), INPUT_PATH)\n"
                 "print(list({'a', 'b', 'c', 'd', 'e', 'f'}))\n"
                 "sys.exit(1)\n",
                 30, &ok, &how2, &out2, &saved);
        assert_string_equal(out, out2);
        sk_free(how2);
        sk_free(out2);
    }
    sk_free(how);
    sk_free(out);
    /* long output: only its end is kept, as valid text */
    exec_one("print('x' * 100000)\nprint('THE END')\nraise SystemExit(3)\n", 30,
             &ok, &how, &out, &saved);
    assert_false(ok);
    assert_string_equal(how, "it exited with status 3");
    assert_true(strlen(out) <= SSB_FEEDBACK_OUTPUT + 8);
    assert_non_null(strstr(out, "THE END"));
    sk_free(how);
    sk_free(out);
    unsetenv("OPENAI_API_KEY");
}

/* ---- episodes ------------------------------------------------------------ */

static void test_spreadsheet__single_mode(void **state)
{
    struct env e;
    struct sk_rollout_stats st;
    json_t *items = json_pack("[o]", sum_item()), *rows, *r;
    char *reply, *t;
    (void)state;
    if (!sandbox_ok())
        skip();
    env_open(&e, "single", NULL, 0);
    reply = fenced(good_py);
    e.s.replies[0] = reply;
    e.s.n = 1;
    rows = run(&e, items, 0, &st);
    r = json_array_get(rows, 0);
    assert_int_equal(num(r, "hard"), 1);
    assert_true(num(r, "soft") == 1.0);
    assert_int_equal(num(r, "n_cases"), 2);
    assert_int_equal(num(r, "n_pass"), 2);
    assert_string_equal(str(r, "task_type"), "cell_level");
    assert_string_equal(str(r, "fail_reason"), "");
    t = pred_text(&e, "sum", "solution.py");
    assert_non_null(t);
    assert_non_null(strstr(t, "sum(ws.cell"));
    sk_free(t);
    t = pred_text(&e, "sum", "2_pred.xlsx");
    assert_non_null(t); /* the script ran on the second case too */
    sk_free(t);
    /* the prompt shows the workbook and the checked cells */
    t = pred_text(&e, "sum", "target_user_prompt.txt");
    assert_non_null(strstr(t, "Checked cells: Data!B1"));
    assert_non_null(strstr(t, "## Sheet: Data"));
    assert_non_null(strstr(t, "A1=1000 | B1= | C1=note"));
    sk_free(t);
    t = pred_text(&e, "sum", "target_system_prompt.txt");
    assert_non_null(strstr(t, "## Skill\nBe careful."));
    sk_free(t);
    json_decref(rows);
    assert_int_equal(json_array_size(e.s.bodies), 1);
    env_close(&e);
    sk_free(reply);

    /* a script that hard-codes case 1's answer fails case 2 */
    env_open(&e, "single", NULL, 0);
    reply = fenced(hardcoded_py);
    e.s.replies[0] = reply;
    e.s.n = 1;
    rows = run(&e, items, 0, &st);
    r = json_array_get(rows, 0);
    assert_int_equal(num(r, "hard"), 0);
    assert_true(num(r, "soft") == 0.5);
    assert_memory_equal(str(r, "fail_reason"), "eval-mismatch:", 14);
    json_decref(rows);
    env_close(&e);
    sk_free(reply);
    json_decref(items);
}

/* The user messages the target was sent in the last request. */
static char *last_request(struct env *e)
{
    size_t n = json_array_size(e->s.bodies);
    return sk_strdup(json_string_value(json_array_get(e->s.bodies, n - 1)));
}

static void test_spreadsheet__multi_training_feedback(void **state)
{
    struct env e;
    struct sk_rollout_stats st;
    json_t *items = json_pack("[o]", sum_item()), *rows, *r, *conv;
    char *boom = fenced(boom_py), *formula = fenced(formula_py),
         *good = fenced(good_py), *req, *t;
    (void)state;
    if (!sandbox_ok())
        skip();
    env_open(&e, "multi", NULL, 0);
    e.s.replies[0] = "Sorry, no code this time.\n```python\n```";
    e.s.replies[1] = boom;
    e.s.replies[2] = formula;
    e.s.replies[3] = good;
    e.s.n = 4;
    rows = run(&e, items, 1, &st);
    r = json_array_get(rows, 0);
    assert_int_equal(num(r, "hard"), 1);
    assert_int_equal(num(r, "n_turns"), 4);
    assert_int_equal(json_array_size(e.s.bodies), 4);
    req = last_request(&e);
    assert_non_null(strstr(req, "had no ```python block"));
    assert_non_null(strstr(req, "ValueError: boom"));
    assert_non_null(strstr(req, "some checked cells are wrong"));
    assert_non_null(strstr(req, "B1"));
    /* the expected value never reaches the target */
    assert_null(strstr(req, "10000"));
    sk_free(req);
    /* the analyst's view (training) has the per-cell report */
    t = pred_text(&e, "sum", "conversation.json");
    conv = json_loads(t, 0, NULL);
    assert_non_null(conv);
    assert_non_null(
        strstr(str(json_array_get(conv, json_array_size(conv) - 1), "content"),
               "Case 1: PASS"));
    json_decref(conv);
    sk_free(t);
    json_decref(rows);
    /* a rerun from scratch (results.jsonl gone, as after a crash mid
     * episode) replays every turn from the response cache: the scripts'
     * outputs, and so the requests, are the same */
    t = sk_fs_join(e.dir, "out/results.jsonl");
    assert_int_equal(unlink(t), 0);
    sk_free(t);
    rows = run(&e, items, 1, &st);
    assert_int_equal(num(json_array_get(rows, 0), "hard"), 1);
    assert_int_equal(json_array_size(e.s.bodies), 4); /* none sent again */
    json_decref(rows);
    env_close(&e);

    /* evaluation: the first run that saves a workbook ends the episode,
     * and wrong cells are not reported back */
    env_open(&e, "multi", NULL, 0);
    e.s.replies[0] = formula;
    e.s.replies[1] = good;
    e.s.n = 2;
    rows = run(&e, items, 0, &st);
    r = json_array_get(rows, 0);
    assert_int_equal(num(r, "hard"), 0);
    assert_int_equal(num(r, "n_turns"), 1);
    assert_int_equal(json_array_size(e.s.bodies), 1);
    assert_memory_equal(str(r, "fail_reason"), "eval-mismatch:", 14);
    t = pred_text(&e, "sum", "conversation.json");
    assert_null(strstr(t, "10000")); /* no expected values in evaluation */
    sk_free(t);
    json_decref(rows);
    env_close(&e);

    /* training with env.use_eval_feedback false behaves like evaluation */
    {
        const char *opt[] = {"env.use_eval_feedback=false"};
        env_open(&e, "multi", opt, 1);
        e.s.replies[0] = formula;
        e.s.replies[1] = good;
        e.s.n = 2;
        rows = run(&e, items, 1, &st);
        assert_int_equal(json_array_size(e.s.bodies), 1);
        json_decref(rows);
        env_close(&e);
    }
    sk_free(boom);
    sk_free(formula);
    sk_free(good);
    json_decref(items);
}

static void test_spreadsheet__react_mode(void **state)
{
    struct env e;
    struct sk_rollout_stats st;
    json_t *items = json_pack("[o]", sum_item()), *rows, *r;
    struct sk_buf b;
    char *req, *t;
    (void)state;
    if (!sandbox_ok())
        skip();
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    assert_int_equal(sk_buf_printf(&b,
                                   "<file path=\"solution.py\">\n%s</file>\n"
                                   "<run>solution.py</run>\n"
                                   "<file path=\"../escape.py\">x</file>",
                                   formula_py),
                     SK_OK);
    env_open(&e, "react", NULL, 0);
    e.s.replies[0] = sk_buf_cstr(&b);
    e.s.replies[1] = "<file path=\"solution.py\">\n"
                     "import openpyxl\n"
                     "wb = openpyxl.load_workbook(INPUT_PATH)\n"
                     "ws = wb['Data']\n"
                     "ws['B1'] = sum(ws.cell(row=r, column=1).value "
                     "for r in range(1, 5))\n"
                     "wb.save(OUTPUT_PATH)\n"
                     "</file><run>solution.py</run>";
    e.s.replies[2] = "The workbook is done.";
    e.s.n = 3;
    rows = run(&e, items, 0, &st);
    r = json_array_get(rows, 0);
    assert_int_equal(num(r, "hard"), 1);
    assert_int_equal(num(r, "n_pass"), 2);
    assert_int_equal(json_array_size(e.s.bodies), 3);
    req = last_request(&e);
    assert_non_null(strstr(req, "wrote solution.py"));
    assert_non_null(strstr(req, "exit status 0"));
    sk_free(req);
    req = sk_strdup(json_string_value(json_array_get(e.s.bodies, 1)));
    /* the first run's formula is flagged, the escape refused */
    assert_non_null(strstr(req, "formulas with no saved value"));
    assert_non_null(strstr(req, "Data!B1"));
    assert_non_null(strstr(req, "refused"));
    sk_free(req);
    t = pred_text(&e, "sum", "conversation.json");
    assert_non_null(strstr(t, "\"type\": \"tool_call\""));
    sk_free(t);
    json_decref(rows);
    env_close(&e);
    sk_buf_release(&b);
    json_decref(items);
}

static void test_spreadsheet__item_failures(void **state)
{
    struct env e;
    struct sk_rollout_stats st;
    json_t *items, *rows;
    char *good = fenced(good_py);
    (void)state;
    if (!sandbox_ok())
        skip();
    items = json_pack("[{s:s, s:s, s:s}, {s:s, s:s}, {s:s, s:s, s:s, s:s}, o]",
                      "id", "missing", "instruction", "x", "answer_position",
                      "A1", "id", "nopos", "instruction", "x", "id", "broken",
                      "instruction", "x", "answer_position", "Data!B1",
                      "spreadsheet_path", "spreadsheet/broken", sum_item());
    env_open(&e, "single", NULL, 0);
    e.s.replies[0] = good;
    e.s.n = 1;
    rows = run(&e, items, 0, &st);
    assert_int_equal(st.invalid, 3);
    assert_int_equal(st.errors, 0);
    assert_non_null(
        strstr(str(json_array_get(rows, 0), "fail_reason"), "not found"));
    assert_non_null(strstr(str(json_array_get(rows, 1), "fail_reason"),
                           "no answer_position"));
    assert_non_null(
        strstr(str(json_array_get(rows, 2), "fail_reason"), "input workbook"));
    assert_int_equal(num(json_array_get(rows, 3), "hard"), 1);
    /* only the good item reached the target */
    assert_int_equal(json_array_size(e.s.bodies), 1);
    json_decref(rows);
    env_close(&e);
    sk_free(good);
    json_decref(items);
}

static void test_spreadsheet__preflight(void **state)
{
    struct env e;
    struct sk_error err;
    const char *opt[] = {"env.python=/nonexistent/python3"};
    const char *nobwrap[] = {"env.sandbox_bwrap=/nonexistent/bwrap"};
    (void)state;
    if (!sandbox_ok())
        skip();
    env_open(&e, "multi", NULL, 0);
    assert_int_equal(sk_bench_preflight(&sk_bench_spreadsheet, &e.cfg, &err),
                     SK_OK);
    env_close(&e);
    /* no bubblewrap: the run stops before any item */
    env_open(&e, "multi", nobwrap, 1);
    assert_int_equal(sk_bench_preflight(&sk_bench_spreadsheet, &e.cfg, &err),
                     SK_ECONFIG);
    assert_non_null(strstr(err.msg, "sandbox"));
    assert_non_null(strstr(err.msg, "--unsafe-no-sandbox"));
    env_close(&e);
    env_open(&e, "multi", opt, 1);
    assert_int_equal(sk_bench_preflight(&sk_bench_spreadsheet, &e.cfg, &err),
                     SK_ECONFIG);
    assert_non_null(strstr(err.msg, "cannot import openpyxl"));
    env_close(&e);
    {
        const char *bad[] = {"env.mode=fancy"};
        env_open(&e, "multi", bad, 1);
        assert_int_equal(
            sk_bench_preflight(&sk_bench_spreadsheet, &e.cfg, &err),
            SK_ECONFIG);
        assert_non_null(strstr(err.msg, "single, multi and react"));
        env_close(&e);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spreadsheet__extract_code),
        cmocka_unit_test(test_spreadsheet__neuter_paths),
        cmocka_unit_test(test_spreadsheet__exec_outcomes),
        cmocka_unit_test(test_spreadsheet__single_mode),
        cmocka_unit_test(test_spreadsheet__multi_training_feedback),
        cmocka_unit_test(test_spreadsheet__react_mode),
        cmocka_unit_test(test_spreadsheet__item_failures),
        cmocka_unit_test(test_spreadsheet__preflight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
