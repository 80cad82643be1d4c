/*
 * test_config.c - configuration loading, precedence, casting, validation,
 * error messages, printing and allocation failures.
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
#include "testutil.h"
#include "train/schedule.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/log.h"

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

static int load_full(const char *path, const char *const *cfgopts, size_t nc,
                     const char *const *fnames, const char *const *fvalues,
                     size_t nf, struct sk_config *c, struct sk_error *err)
{
    struct sk_config_args a;
    memset(&a, 0, sizeof a);
    a.path = path;
    a.cfg_options = cfgopts;
    a.n_cfg_options = nc;
    a.flag_names = fnames;
    a.flag_values = fvalues;
    a.n_flags = nf;
    sk_config_init(c);
    return sk_config_load(&a, c, err);
}

static int load_text(const char *name, const char *yaml, struct sk_config *c,
                     struct sk_error *err)
{
    char *path = tu_write(tmpdir, name, yaml);
    int rc = load_full(path, NULL, 0, NULL, NULL, 0, c, err);
    sk_free(path);
    return rc;
}

static char *shared_path(const char *rel)
{
    const char *sh = getenv("SKILLOPT_SHARED_DIR");
    char *p = sk_fs_join(sh && *sh ? sh : "../shared", rel);
    return p;
}

/* Resolved value of one option as printed (YAML scalar text). */
static void value_text(const struct sk_config *c, int id, char *out, size_t cap)
{
    struct sk_buf b;
    const char *line, *colon;
    char key[160];
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    assert_int_equal(sk_config_print(c, 0, &b), SK_OK);
    /* Find "  key: " under the option's "section:" line. */
    snprintf(key, sizeof key, "\n%s:\n", sk_options[id].section);
    line = strstr(sk_buf_cstr(&b), key);
    assert_non_null(line);
    snprintf(key, sizeof key, "\n  %s: ", sk_options[id].key);
    line = strstr(line, key);
    assert_non_null(line);
    colon = line + strlen(key);
    snprintf(out, cap, "%.*s", (int)strcspn(colon, "\n"), colon);
    sk_buf_release(&b);
}

/* ---- the reference's own configs load unchanged ----------------------- */

static void test_config__reference_configs_load(void **state)
{
    static const struct {
        const char *file;
        const char *env;
        int64_t train_size;
        int64_t workers;
    } cases[] = {
        {"reference/configs/searchqa/default.yaml", "searchqa", 400, 24},
        {"reference/configs/spreadsheetbench/default.yaml", "spreadsheetbench",
         80, 24},
        {"reference/configs/alfworld/default.yaml", "alfworld", 0, 8},
        {"reference/configs/docvqa/default.yaml", "docvqa", 0, 16},
        {"reference/configs/officeqa/default.yaml", "officeqa", 0, 4},
        {"reference/configs/livemathematicianbench/default.yaml",
         "livemathematicianbench", 0, 64},
    };
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        struct sk_config c;
        struct sk_error err;
        char *p = shared_path(cases[i].file);
        if (!sk_fs_exists(p)) {
            sk_free(p);
            skip();
        }
        if (load_full(p, NULL, 0, NULL, NULL, 0, &c, &err) != SK_OK)
            fail_msg("%s: %s", cases[i].file, err.msg);
        assert_string_equal(c.env, cases[i].env);
        assert_string_equal(c.split_mode, "split_dir");
        assert_int_equal(c.train_size, cases[i].train_size);
        assert_int_equal(c.workers, cases[i].workers);
        assert_int_equal(c.batch_size, 40);
        assert_int_equal(c.edit_budget, 4);
        assert_int_equal(c.min_edit_budget, 2);
        assert_string_equal(c.lr_scheduler, "cosine");
        assert_true(c.use_slow_update);
        assert_true(c.use_meta_skill);
        assert_string_equal(c.optimizer_model, "gpt-5.5");
        assert_string_equal(c.azure_openai_api_version, "2024-12-01-preview");
        assert_true(c.is_null[SK_OPT_codex_exec_use_sdk]);
        sk_config_release(&c);
        sk_free(p);
    }
}

static void test_config__officeqa_list_and_env_keys_kept(void **state)
{
    struct sk_config c;
    struct sk_error err;
    char *p = shared_path("reference/configs/officeqa/default.yaml");
    (void)state;
    if (!sk_fs_exists(p)) {
        sk_free(p);
        skip();
    }
    /* Reference bug 24: a structured env: section must survive whole. */
    assert_int_equal(load_full(p, NULL, 0, NULL, NULL, 0, &c, &err), SK_OK);
    assert_int_equal(c.data_dirs.n, 1);
    assert_string_equal(c.data_dirs.v[0], "data/officeqa_docs_official");
    assert_int_equal(c.max_tool_turns, 24);
    assert_string_equal(c.split_dir, "data/officeqa_split");
    assert_string_equal(c.search_provider, "duckduckgo");
    sk_config_release(&c);
    sk_free(p);
}

/* Our shipped configs resolve to the same values as the reference's. */
static void test_config__shipped_configs_match_reference(void **state)
{
    static const char *const benches[] = {
        "searchqa", "spreadsheetbench",       "alfworld", "docvqa",
        "officeqa", "livemathematicianbench", "_base_"};
    size_t i;
    int id;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(benches); i++) {
        struct sk_config ours, ref;
        struct sk_error err;
        char rel[200], *rp, *op;
        snprintf(rel, sizeof rel, "reference/configs/%s/default.yaml",
                 benches[i]);
        rp = shared_path(rel);
        if (!sk_fs_exists(rp)) {
            sk_free(rp);
            skip();
        }
        snprintf(rel, sizeof rel, "configs/%s/default.yaml", benches[i]);
        op = tu_source_path(rel);
        if (load_full(op, NULL, 0, NULL, NULL, 0, &ours, &err) != SK_OK)
            fail_msg("%s", err.msg);
        if (load_full(rp, NULL, 0, NULL, NULL, 0, &ref, &err) != SK_OK)
            fail_msg("%s", err.msg);
        for (id = 0; id < SK_OPT_COUNT; id++) {
            char a[512], b[512];
            /* Paths into the reference's tree, its web search URL,
             * ALFWorld's environment command (ours runs a protocol bridge)
             * and SearchQA's train_size (0: the split's own size, so that
             * the config works with any split) are the intended
             * differences. */
            if (id == SK_OPT_skill_init || id == SK_OPT_search_api_url ||
                id == SK_OPT_env_command || id == SK_OPT_env_step_timeout ||
                id == SK_OPT_env_episode_timeout ||
                (id == SK_OPT_train_size &&
                 strcmp(benches[i], "searchqa") == 0) ||
                (sk_options[id].flags & SK_OPTF_RETIRED))
                continue;
            value_text(&ours, id, a, sizeof a);
            value_text(&ref, id, b, sizeof b);
            if (strcmp(a, b) != 0)
                fail_msg("%s: %s.%s: ours %s, reference %s", benches[i],
                         sk_options[id].section, sk_options[id].key, a, b);
        }
        sk_config_release(&ours);
        sk_config_release(&ref);
        sk_free(rp);
        sk_free(op);
    }
}

/* ---- precedence ---------------------------------------------------------- */

static void test_config__precedence(void **state)
{
    struct sk_config c;
    struct sk_error err;
    char *base, *child;
    const char *cfgopts[] = {"train.batch_size=8", "seed=7",
                             "train.batch_size=9", "gradient.minibatch_size=3"};
    const char *fn[] = {"batch-size", "minibatch_size"};
    const char *fv[] = {"5", "2"};
    (void)state;
    base = tu_write(tmpdir, "p/base.yaml",
                    "train:\n  batch_size: 10\n  num_epochs: 7\n"
                    "  accumulation: 3\n");
    child = tu_write(tmpdir, "p/child.yaml",
                     "_base_: base.yaml\ntrain:\n  batch_size: 20\n"
                     "accumulation: 2\n");
    /* child > base, flat child key overrides structured base key */
    assert_int_equal(load_full(child, NULL, 0, NULL, NULL, 0, &c, &err), SK_OK);
    assert_int_equal(c.batch_size, 20);
    assert_int_equal(c.num_epochs, 7);
    assert_int_equal(c.accumulation, 2);
    sk_config_release(&c);
    /* cfg-options > child, later items win, every item counts */
    assert_int_equal(load_full(child, cfgopts, 4, NULL, NULL, 0, &c, &err),
                     SK_OK);
    assert_int_equal(c.batch_size, 9);
    assert_int_equal(c.seed, 7);
    assert_int_equal(c.minibatch_size, 3);
    assert_string_equal(c.origin[SK_OPT_batch_size],
                        "--cfg-options train.batch_size");
    sk_config_release(&c);
    /* flags > cfg-options, both spellings */
    assert_int_equal(load_full(child, cfgopts, 4, fn, fv, 2, &c, &err), SK_OK);
    assert_int_equal(c.batch_size, 5);
    assert_int_equal(c.minibatch_size, 2);
    assert_int_equal(c.seed, 7);
    assert_string_equal(c.origin[SK_OPT_batch_size], "--batch-size");
    sk_config_release(&c);
    sk_free(base);
    sk_free(child);
}

static void test_config__structured_beats_flat_in_one_layer(void **state)
{
    struct sk_config c;
    struct sk_error err;
    (void)state;
    assert_int_equal(load_text("s.yaml",
                               "batch_size: 3\ntrain:\n  batch_size: 5\n"
                               "edit_budget: 9\noptimizer:\n"
                               "  learning_rate: 6\n",
                               &c, &err),
                     SK_OK);
    assert_int_equal(c.batch_size, 5);
    assert_int_equal(c.edit_budget, 6);
    sk_config_release(&c);
}

static void test_config__empty_sections_and_base(void **state)
{
    struct sk_config c;
    struct sk_error err;
    char *base, *child;
    (void)state;
    base = tu_write(tmpdir, "es/base.yaml", "train:\n  batch_size: 12\n");
    child = tu_write(tmpdir, "es/child.yaml",
                     "_base_: base.yaml\ntrain:\nenv:\noptimizer: ~\n");
    assert_int_equal(load_full(child, NULL, 0, NULL, NULL, 0, &c, &err), SK_OK);
    assert_int_equal(c.batch_size, 12); /* an empty section changes nothing */
    sk_config_release(&c);
    assert_int_equal(
        load_text("nobase.yaml", "_base_: \"\"\nseed: 3\n", &c, &err), SK_OK);
    assert_int_equal(c.seed, 3);
    sk_config_release(&c);
    sk_free(base);
    sk_free(child);
}

static void test_config__legacy_flat_config(void **state)
{
    struct sk_config c;
    struct sk_error err;
    (void)state;
    assert_int_equal(
        load_text("flat.yaml",
                  "env: searchqa\nedit_budget: 7\nmin_edit_budget: 1\n"
                  "optimizer_model: o1\ntarget_model: t1\nmodel_backend: "
                  "codex\nuse_gate: no\ngate_metric: mixed\n"
                  "split_dir: d/x\ncodex_path: /bin/codex\n",
                  &c, &err),
        SK_OK);
    assert_string_equal(c.env, "searchqa");
    assert_int_equal(c.edit_budget, 7);
    assert_int_equal(c.min_edit_budget, 1);
    assert_string_equal(c.optimizer_model, "o1");
    assert_string_equal(c.target_model, "t1");
    assert_string_equal(c.model_backend, "codex");
    assert_false(c.use_gate);
    assert_string_equal(c.gate_metric, "mixed");
    assert_string_equal(c.split_dir, "d/x");
    assert_string_equal(c.codex_exec_path, "/bin/codex");
    sk_config_release(&c);
}

static void test_config__codex_aliases(void **state)
{
    struct sk_config c;
    struct sk_error err;
    char *base, *child;
    (void)state;
    /* canonical beats alias in one layer; first alias beats later ones */
    assert_int_equal(load_text("a1.yaml",
                               "model:\n  codex_bin: b\n  codex_exec_path: "
                               "canon\n  sandbox: s1\n  codex_sandbox: s2\n",
                               &c, &err),
                     SK_OK);
    assert_string_equal(c.codex_exec_path, "canon");
    assert_string_equal(c.codex_exec_sandbox, "s1");
    sk_config_release(&c);
    /* a child alias overrides the base's canonical key */
    base = tu_write(tmpdir, "a/base.yaml", "model:\n  codex_exec_path: x\n");
    child = tu_write(tmpdir, "a/child.yaml",
                     "_base_: base.yaml\nmodel:\n  codex_path: y\n");
    assert_int_equal(load_full(child, NULL, 0, NULL, NULL, 0, &c, &err), SK_OK);
    assert_string_equal(c.codex_exec_path, "y");
    sk_config_release(&c);
    sk_free(base);
    sk_free(child);
}

/* ---- casting ------------------------------------------------------------- */

static void test_config__value_casting(void **state)
{
    static const struct {
        const char *yaml;
        int id;
        const char *want; /* printed value */
    } cases[] = {
        {"evaluation:\n  use_gate: yes\n", SK_OPT_use_gate, "true"},
        {"evaluation:\n  use_gate: Off\n", SK_OPT_use_gate, "false"},
        {"evaluation:\n  use_gate: 0\n", SK_OPT_use_gate, "false"},
        {"train:\n  seed: 1_000\n", SK_OPT_seed, "1000"},
        {"train:\n  seed: 0x10\n", SK_OPT_seed, "16"},
        {"train:\n  seed: -5\n", SK_OPT_seed, "-5"},
        {"evaluation:\n  gate_mixed_weight: 1\n", SK_OPT_gate_mixed_weight,
         "1.0"},
        {"evaluation:\n  gate_mixed_weight: 0.25\n", SK_OPT_gate_mixed_weight,
         "0.25"},
        {"env:\n  split_ratio: 2:1:7\n", SK_OPT_split_ratio, "\"2:1:7\""},
        {"model:\n  target: 4\n", SK_OPT_target_model, "\"4\""},
        {"model:\n  minimax_max_tokens: \"123\"\n", SK_OPT_minimax_max_tokens,
         "123"},
        {"model:\n  minimax_enable_thinking: \"true\"\n",
         SK_OPT_minimax_enable_thinking, "true"},
        {"env:\n  workers: null\n", SK_OPT_workers, "null"},
        {"env:\n  skill_init: ~\n", SK_OPT_skill_init, "\"\""},
        {"evaluation:\n  leading_words: MUST, never ,ONLY\n",
         SK_OPT_leading_words, "[\"MUST\", \"never\", \"ONLY\"]"},
        {"evaluation:\n  leading_words: [A, b]\n", SK_OPT_leading_words,
         "[\"A\", \"b\"]"},
        {"optimizer:\n  lr_control_mode: Manual\n", SK_OPT_lr_control_mode,
         "\"fixed\""},
        {"optimizer:\n  lr_control_mode: no_lr\n", SK_OPT_lr_control_mode,
         "\"none\""},
        {"optimizer:\n  skill_update_mode: suggestions\n",
         SK_OPT_skill_update_mode, "\"rewrite_from_suggestions\""},
        {"optimizer:\n  skill_update_mode: skill_rewrite_minibatch\n",
         SK_OPT_skill_update_mode, "\"full_rewrite_minibatch\""},
        {"optimizer:\n  longitudinal_pair_policy: 10_01\n",
         SK_OPT_longitudinal_pair_policy, "\"changed\""},
        {"optimizer:\n  longitudinal_pair_policy: stable\n",
         SK_OPT_longitudinal_pair_policy, "\"unchanged\""},
        {"model:\n  backend: Azure\n", SK_OPT_model_backend,
         "\"azure_openai\""},
        {"model:\n  target_backend: anthropic\n", SK_OPT_target_backend,
         "\"claude_chat\""},
    };
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        struct sk_config c;
        struct sk_error err;
        char got[512];
        if (load_text("cast.yaml", cases[i].yaml, &c, &err) != SK_OK)
            fail_msg("case %zu: %s", i, err.msg);
        value_text(&c, cases[i].id, got, sizeof got);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("case %zu (%s): got %s, want %s", i, cases[i].yaml, got,
                     cases[i].want);
        sk_config_release(&c);
    }
}

static void test_config__override_casting(void **state)
{
    struct sk_config c;
    struct sk_error err;
    char *p = tu_write(tmpdir, "o.yaml", "train:\n  seed: 1\n");
    const char *opts[] = {
        "evaluation.use_gate=YES",        "target_model=4",
        "env.split_ratio=1:1:1",          "exec_timeout=30",
        "model.agent_env=[A, 'B',\"C\"]", "env.data_dirs=x, y"};
    const char *fn[] = {"eval_test", "optimizer_model"};
    const char *fv[] = {"false", "gpt-x"};
    (void)state;
    assert_int_equal(load_full(p, opts, 6, fn, fv, 2, &c, &err), SK_OK);
    /* lists: comma-separated, or bracketed as on the reference's command
     * line, items optionally quoted */
    assert_int_equal(c.agent_env.n, 3);
    assert_string_equal(c.agent_env.v[0], "A");
    assert_string_equal(c.agent_env.v[1], "B");
    assert_string_equal(c.agent_env.v[2], "C");
    assert_int_equal(c.data_dirs.n, 2);
    assert_string_equal(c.data_dirs.v[1], "y");
    assert_true(c.use_gate);
    assert_false(c.eval_test);
    assert_string_equal(c.split_ratio, "1:1:1");
    assert_int_equal(c.exec_timeout, 30);
    assert_string_equal(c.optimizer_model, "gpt-x");
    assert_string_equal(c.target_model, "4"); /* a string stays a string */
    sk_config_release(&c);
    sk_free(p);
}

/* ---- errors -------------------------------------------------------------- */

static void test_config__error_messages(void **state)
{
    static const struct {
        const char *yaml;
        int code;
        const char *msg; /* expected, after the temp dir prefix */
    } cases[] = {
        {"train:\n  batch_sise: 3\n", SK_ECONFIG,
         "e.yaml:2:3: unknown key 'train.batch_sise' (did you mean "
         "'train.batch_size'?)"},
        {"trian:\n  batch_size: 3\n", SK_ECONFIG,
         "e.yaml:1:1: unknown key 'trian' (did you mean 'train'?)"},
        {"train:\n  batch_size: forty\n", SK_ECONFIG,
         "e.yaml:2:3: train.batch_size expects an integer, got 'forty'"},
        {"train:\n  batch_size: 2.5\n", SK_ECONFIG,
         "e.yaml:2:3: train.batch_size expects an integer, got '2.5'"},
        {"train:\n  batch_size: \"8\"\n", SK_ECONFIG,
         "e.yaml:2:3: train.batch_size expects an integer, got '8'"},
        {"train:\n  batch_size: 0\n", SK_ECONFIG,
         "e.yaml:2:3: train.batch_size must be at least 1 (got 0)"},
        {"train:\n  accumulation: 0\n", SK_ECONFIG,
         "e.yaml:2:3: train.accumulation must be at least 1 (got 0)"},
        {"gradient:\n  merge_batch_size: 1\n", SK_ECONFIG,
         "e.yaml:2:3: gradient.merge_batch_size must be at least 2 (got 1)"},
        {"evaluation:\n  gate_mixed_weight: 1.5\n", SK_ECONFIG,
         "e.yaml:2:3: evaluation.gate_mixed_weight must be at most 1 (got "
         "1.5)"},
        {"evaluation:\n  use_gate: maybe\n", SK_ECONFIG,
         "e.yaml:2:3: evaluation.use_gate expects true or false, got 'maybe'"},
        {"evaluation:\n  gate_metric: hrad\n", SK_ECONFIG,
         "e.yaml:2:3: evaluation.gate_metric: unknown value 'hrad' (expected "
         "one of 'hard', 'soft', 'mixed'); did you mean 'hard'?"},
        {"optimizer:\n  lr_scheduler: exponential\n", SK_ECONFIG,
         "e.yaml:2:3: optimizer.lr_scheduler: unknown value 'exponential' "
         "(expected one of 'constant', 'linear', 'cosine', 'autonomous')"},
        {"optimizer:\n  skill_update_mode: magic\n", SK_ECONFIG,
         "e.yaml:2:3: optimizer.skill_update_mode: unknown value 'magic' "
         "(expected one of 'patch', 'rewrite_from_suggestions', "
         "'full_rewrite_minibatch')"},
        {"optimizer:\n  learning_rate: 2\n  min_learning_rate: 3\n", SK_ECONFIG,
         "e.yaml:3:3: optimizer.min_learning_rate (3) exceeds "
         "optimizer.learning_rate (2)"},
        {"train:\n  batch_size: [1, 2]\n", SK_ECONFIG,
         "e.yaml:2:3: train.batch_size expects a single value, not a list"},
        {"train:\n  batch_size:\n    a: 1\n", SK_ECONFIG,
         "e.yaml:2:3: train.batch_size: expected a value, found a mapping"},
        {"model: gpt-4\n", SK_ECONFIG,
         "e.yaml:1:1: 'model' must be a mapping of keys"},
        {"env:\n  batch_size: 4\n", SK_ECONFIG,
         "e.yaml:2:3: 'batch_size' is not an env key; it belongs under "
         "train: as 'batch_size'"},
        {"- a\n- b\n", SK_ECONFIG,
         "e.yaml: the top level must be a mapping of keys"},
        {"train:\n  batch_size: [1\n", SK_ECONFIG,
         "e.yaml:3:1: invalid YAML: flow sequence without a closing bracket"},
        {"train:\n  seed: 1\n  seed: 2\n", SK_ECONFIG,
         "e.yaml:3:3: invalid YAML: duplicate key"},
        {"_base_: [a]\n", SK_ECONFIG,
         "e.yaml:1:1: _base_ must be one file path (a string)"},
        /* libfyaml 0.7.12 loops forever on this directive (fuzz_config) */
        {"%\xd3"
         "0",
         SK_ECONFIG,
         "e.yaml:1:2: not a UTF-8 text file (invalid UTF-8 at byte 1)"},
        {"a: 1\n\0b: 2\n", SK_ECONFIG, "e.yaml"},
        {"_base_: missing.yaml\n", SK_ECONFIG,
         "e.yaml: _base_ file missing.yaml not found"},
    };
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        struct sk_config c;
        struct sk_error err;
        const char *msg;
        int rc = load_text("e.yaml", cases[i].yaml, &c, &err);
        if (rc != cases[i].code)
            fail_msg("case %zu: rc %d (%s), want %d", i, rc, rc ? err.msg : "",
                     cases[i].code);
        msg = err.msg + strlen(tmpdir) + 1;
        if (strncmp(msg, cases[i].msg, strlen(cases[i].msg)) != 0)
            fail_msg("case %zu:\n got: %s\nwant: %s", i, msg, cases[i].msg);
        /* a failed load leaves nothing behind */
        assert_null(c.path);
        assert_null(c.env);
    }
}

static void test_config__base_cycle_and_missing(void **state)
{
    struct sk_config c;
    struct sk_error err;
    char *a, *b, *missing;
    (void)state;
    a = tu_write(tmpdir, "cyc/a.yaml", "_base_: b.yaml\n");
    b = tu_write(tmpdir, "cyc/b.yaml", "_base_: a.yaml\n");
    assert_int_equal(load_full(a, NULL, 0, NULL, NULL, 0, &c, &err),
                     SK_ECONFIG);
    assert_non_null(strstr(err.msg, "_base_ cycle"));
    assert_non_null(strstr(err.msg, "a.yaml"));
    missing = sk_fs_join(tmpdir, "nope.yaml");
    assert_int_equal(load_full(missing, NULL, 0, NULL, NULL, 0, &c, &err),
                     SK_ENOTFOUND);
    assert_non_null(strstr(err.msg, "nope.yaml: config file not found"));
    sk_free(a);
    sk_free(b);
    sk_free(missing);
}

static void test_config__override_errors(void **state)
{
    static const struct {
        const char *opt;  /* cfg-option, or NULL */
        const char *flag; /* flag name, or NULL */
        int code;
        const char *msg;
    } cases[] = {
        {"train.batch_size", NULL, SK_EINVAL,
         "--cfg-options: expected KEY=VALUE, got 'train.batch_size'"},
        {"train.bach_size=3", NULL, SK_ECONFIG,
         "--cfg-options train.bach_size: unknown key 'train.bach_size' (did "
         "you mean 'train.batch_size'?)"},
        {"trainn.batch_size=3", NULL, SK_ECONFIG,
         "--cfg-options trainn.batch_size: unknown section 'trainn'"},
        {"bogus_key=1", NULL, SK_ECONFIG,
         "--cfg-options bogus_key: unknown key 'bogus_key'"},
        {"train.batch_size=x", NULL, SK_ECONFIG,
         "--cfg-options train.batch_size: train.batch_size expects an "
         "integer, got 'x'"},
        {NULL, "bach-size", SK_EINVAL,
         "unknown option '--bach-size' (did you mean '--batch_size'?)"},
        {NULL, "lr_scheduler", SK_ECONFIG,
         "--lr_scheduler: optimizer.lr_scheduler: unknown value '3'"},
    };
    size_t i;
    char *p = tu_write(tmpdir, "ov.yaml", "train:\n  seed: 1\n");
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        struct sk_config c;
        struct sk_error err;
        const char *fv[] = {"3"};
        int rc;
        if (cases[i].opt)
            rc = load_full(p, &cases[i].opt, 1, NULL, NULL, 0, &c, &err);
        else
            rc = load_full(p, NULL, 0, &cases[i].flag, fv, 1, &c, &err);
        if (rc != cases[i].code)
            fail_msg("case %zu: rc %d, want %d (%s)", i, rc, cases[i].code,
                     err.msg);
        if (strncmp(err.msg, cases[i].msg, strlen(cases[i].msg)) != 0)
            fail_msg("case %zu:\n got: %s\nwant: %s", i, err.msg, cases[i].msg);
    }
    sk_free(p);
}

/* ---- warnings and secrets ----------------------------------------------- */

static char *capture_load(const char *yaml, const char *const *fn,
                          const char *const *fv, size_t nf, int *rc)
{
    struct sk_config c;
    struct sk_error err;
    char *out = NULL, *copy;
    size_t len = 0;
    FILE *fp = open_memstream(&out, &len);
    char *p = tu_write(tmpdir, "w.yaml", yaml);
    sk_log_set_stream(fp);
    *rc = load_full(p, NULL, 0, fn, fv, nf, &c, &err);
    sk_log_set_stream(NULL);
    fclose(fp);
    sk_config_release(&c);
    sk_free(p);
    copy = sk_strdup(out);
    free(out); /* from open_memstream */
    return copy;
}

static void test_config__warnings(void **state)
{
    int rc;
    char *log;
    const char *fn[] = {"azure_openai_api_key"};
    const char *fv[] = {"sk-cmdline-secret-1234"};
    (void)state;
    log = capture_load("gradient:\n  max_analyst_rounds: 3\n", NULL, NULL, 0,
                       &rc);
    assert_int_equal(rc, SK_OK);
    assert_non_null(strstr(log, "w.yaml:2:3: gradient.max_analyst_rounds is "
                                "retired and ignored"));
    sk_free(log);
    log = capture_load("model:\n  codex_exec_use_sdk: true\n", NULL, NULL, 0,
                       &rc);
    assert_non_null(strstr(log, "model.codex_exec_use_sdk is accepted for "
                                "compatibility but not supported"));
    sk_free(log);
    /* the reference's base file sets unsupported keys to their defaults:
     * that must stay quiet */
    log = capture_load("model:\n  codex_exec_use_sdk: null\n  "
                       "claude_code_exec_use_sdk: auto\n",
                       NULL, NULL, 0, &rc);
    assert_string_equal(log, "");
    sk_free(log);
    log = capture_load("train:\n  steps_per_epoch: 9\n", NULL, NULL, 0, &rc);
    assert_non_null(strstr(log, "train.steps_per_epoch is derived"));
    sk_free(log);
    log = capture_load("train:\n  seed: 1\n", fn, fv, 1, &rc);
    assert_int_equal(rc, SK_OK);
    assert_non_null(strstr(log, "--azure_openai_api_key: an API key on the "
                                "command line"));
    assert_null(strstr(log, "sk-cmdline-secret-1234"));
    sk_free(log);
}

static void test_config__secrets_never_printed(void **state)
{
    struct sk_config c;
    struct sk_error err;
    struct sk_buf b;
    char line[128];
    (void)state;
    assert_int_equal(load_text("sec.yaml",
                               "model:\n  azure_openai_api_key: "
                               "AKIA-very-secret-value\n  "
                               "target_minimax_api_key: mm-secret-999\n",
                               &c, &err),
                     SK_OK);
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    assert_int_equal(sk_config_print(&c, SK_CONFIG_PRINT_ORIGIN, &b), SK_OK);
    assert_null(strstr(sk_buf_cstr(&b), "very-secret"));
    assert_null(strstr(sk_buf_cstr(&b), "mm-secret-999"));
    assert_non_null(
        strstr(sk_buf_cstr(&b), "azure_openai_api_key: \"<redacted>\""));
    sk_buf_reset(&b);
    assert_int_equal(sk_config_print(&c, SK_CONFIG_PRINT_JSON, &b), SK_OK);
    assert_null(strstr(sk_buf_cstr(&b), "very-secret"));
    /* the value was registered with the log redactor */
    snprintf(line, sizeof line, "key AKIA-very-secret-value leaked");
    sk_log_redact(line, sizeof line);
    assert_string_equal(line, "key [REDACTED] leaked");
    sk_buf_release(&b);
    sk_config_release(&c);
}

/* ---- printing ------------------------------------------------------------ */

static void test_config__print_round_trip(void **state)
{
    struct sk_config c, again;
    struct sk_error err;
    struct sk_buf a, b;
    char *path, *p2;
    const char *opts[] = {"evaluation.leading_words=A,B",
                          "gate_mixed_weight=0.1", "split_ratio=3:1:1"};
    (void)state;
    path = tu_source_path("configs/officeqa/default.yaml");
    assert_int_equal(load_full(path, opts, 3, NULL, NULL, 0, &c, &err), SK_OK);
    sk_buf_init(&a, SK_BUF_UNLIMITED);
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    assert_int_equal(sk_config_print(&c, 0, &a), SK_OK);
    p2 = tu_write(tmpdir, "printed.yaml", sk_buf_cstr(&a));
    if (load_full(p2, NULL, 0, NULL, NULL, 0, &again, &err) != SK_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(sk_config_print(&again, 0, &b), SK_OK);
    /* identical apart from the "# resolved from" line */
    assert_string_equal(strchr(sk_buf_cstr(&a), '\n'),
                        strchr(sk_buf_cstr(&b), '\n'));
    sk_buf_release(&a);
    sk_buf_release(&b);
    sk_config_release(&c);
    sk_config_release(&again);
    sk_free(path);
    sk_free(p2);
}

static void test_config__defaults_without_file(void **state)
{
    struct sk_config c;
    struct sk_error err;
    (void)state;
    sk_config_init(&c);
    assert_int_equal(sk_config_defaults(&c, &err), SK_OK);
    assert_int_equal(c.batch_size, 40);
    assert_int_equal(c.merge_batch_size, 8);
    assert_string_equal(c.lr_scheduler, "cosine");
    assert_string_equal(c.gate_metric, "hard");
    assert_true(c.gate_mixed_weight == 0.5);
    assert_true(c.semantic_density_weight == 0.05);
    assert_true(c.is_null[SK_OPT_leading_words]);
    assert_string_equal(c.split_ratio, "2:1:7");
    sk_config_release(&c);
}

/* The config table and schedule.h's parsers must agree on every alias:
 * the config normalises, the trainer parses the canonical name. */
static const char *canon_sched(const char *s)
{
    enum sk_lr_scheduler v;
    return sk_lr_scheduler_parse(s, &v) ? NULL : sk_lr_scheduler_name(v);
}
static const char *canon_control(const char *s)
{
    enum sk_lr_control_mode v;
    return sk_lr_control_mode_parse(s, &v) ? NULL : sk_lr_control_mode_name(v);
}
static const char *canon_update(const char *s)
{
    enum sk_skill_update_mode v;
    return sk_skill_update_mode_parse(s, &v) ? NULL
                                             : sk_skill_update_mode_name(v);
}
static const char *canon_pairs(const char *s)
{
    enum sk_pair_policy v;
    return sk_longitudinal_pair_policy_parse(s, &v)
               ? NULL
               : sk_longitudinal_pair_policy_name(v);
}

static void test_config__aliases_agree_with_schedule(void **state)
{
    static const struct {
        int id;
        const char *(*canon)(const char *);
    } cases[] = {
        {SK_OPT_lr_scheduler, canon_sched},
        {SK_OPT_lr_control_mode, canon_control},
        {SK_OPT_skill_update_mode, canon_update},
        {SK_OPT_longitudinal_pair_policy, canon_pairs},
    };
    size_t i;
    int checked = 0;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        const char *p = sk_options[cases[i].id].choices;
        for (;;) {
            const char *bar = strchr(p, '|');
            size_t len = bar ? (size_t)(bar - p) : strlen(p);
            char entry[128], *gt;
            const char *want, *got;
            snprintf(entry, sizeof entry, "%.*s", (int)len, p);
            gt = strchr(entry, '>');
            want = gt ? gt + 1 : entry;
            if (gt)
                *gt = '\0';
            got = cases[i].canon(entry);
            if (!got || strcmp(got, want) != 0)
                fail_msg("%s: '%s' means '%s' in the config table but '%s' "
                         "in schedule.h",
                         sk_options[cases[i].id].key, entry, want,
                         got ? got : "(error)");
            checked++;
            if (!bar)
                break;
            p = bar + 1;
        }
    }
    assert_true(checked >= 30);
}

/* ---- allocation failures ------------------------------------------------ */

struct sweep_ctx {
    const char *path;
};

static int sweep_body(void *ctx)
{
    struct sweep_ctx *s = ctx;
    struct sk_config c;
    struct sk_error err;
    struct sk_buf b;
    const char *opts[] = {"train.batch_size=8", "leading_words=A,B"};
    const char *fn[] = {"seed"};
    const char *fv[] = {"3"};
    int rc = load_full(s->path, opts, 2, fn, fv, 1, &c, &err);
    if (rc != SK_OK)
        return rc;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    rc = sk_config_print(&c, SK_CONFIG_PRINT_ORIGIN, &b);
    sk_buf_release(&b);
    sk_config_release(&c);
    sk_log_clear_secrets();
    return rc;
}

static void test_config__allocation_failure_sweep(void **state)
{
    struct sweep_ctx s;
    char *p;
    int runs;
    (void)state;
    p = tu_source_path("configs/officeqa/default.yaml");
    s.path = p;
    sk_log_clear_secrets(); /* secrets of earlier tests would skew counts */
    runs = tu_alloc_sweep(sweep_body, &s);
    assert_true(runs > 50);
    sk_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config__reference_configs_load),
        cmocka_unit_test(test_config__officeqa_list_and_env_keys_kept),
        cmocka_unit_test(test_config__shipped_configs_match_reference),
        cmocka_unit_test(test_config__precedence),
        cmocka_unit_test(test_config__structured_beats_flat_in_one_layer),
        cmocka_unit_test(test_config__empty_sections_and_base),
        cmocka_unit_test(test_config__legacy_flat_config),
        cmocka_unit_test(test_config__codex_aliases),
        cmocka_unit_test(test_config__value_casting),
        cmocka_unit_test(test_config__override_casting),
        cmocka_unit_test(test_config__error_messages),
        cmocka_unit_test(test_config__base_cycle_and_missing),
        cmocka_unit_test(test_config__override_errors),
        cmocka_unit_test(test_config__warnings),
        cmocka_unit_test(test_config__secrets_never_printed),
        cmocka_unit_test(test_config__print_round_trip),
        cmocka_unit_test(test_config__defaults_without_file),
        cmocka_unit_test(test_config__aliases_agree_with_schedule),
        cmocka_unit_test(test_config__allocation_failure_sweep),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
