/*
 * cmd_eval.c - `skillopt eval`: score one skill on one split.
 *
 * One rollout of the target with the skill in its system prompt over the
 * chosen items, written to the output directory (results.jsonl,
 * predictions/), then eval_summary.json {skill, split, n_items, hard, soft}
 * as the reference writes it, plus the provider errors seen, the items
 * that failed for their own reason and the accuracy per task type
 * (by_task_type, as the trainer's summaries).  The rollout's
 * results are tied to the skill's hash, so a reused directory never
 * returns the results of a different skill.
 */
#include "common.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli/cfgargs.h"
#include "cli/cli.h"
#include "config/config.h"
#include "bench/demo_sim.h"
#include "data/split.h"
#include "llm/client.h"
#include "skill/skill.h"
#include "train/bench.h"
#include "train/rollout.h"
#include "train/rundir.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"

const char cmd_eval_usage[] =
    "usage: skillopt eval --config FILE --skill SKILL.md\n"
    "                     [--split train|valid_seen|valid_unseen|all]\n"
    "                     [--out_root DIR] [--cfg-options K=V ...] "
    "[--KEY VALUE ...]\n"
    "                     [--unsafe-no-sandbox]\n"
    "\n"
    "Rolls the target out once over a split with SKILL.md in its system\n"
    "prompt and writes DIR/eval_summary.json {skill, split, n_items, hard,\n"
    "soft, errors, item_failures, by_task_type}.  --split defaults to all\n"
    "(train + val + test); for a single split, evaluation.test_env_num > 0\n"
    "keeps its first N items.  Split names follow the reference (valid_seen\n"
    "= val, valid_unseen = test); an unknown name is an error.  DIR\n"
    "defaults to\n"
    "outputs/eval_<benchmark>_<target model>_<time>.  Model replies are\n"
    "cached in DIR, so rerunning the same evaluation costs nothing.\n"
    "--unsafe-no-sandbox runs model-written code (SpreadsheetBench) without\n"
    "the bubblewrap sandbox (see docs/sandbox.md).\n"
    "\n"
    "Exit status: 0 done, 2 bad command line, 3 bad configuration, data or\n"
    "skill, 4 the target failed on every item, 5 over budget.\n";

/* Items of the chosen split (a new array). */
static int pick_items(const struct sk_splits *s, const char *split,
                      long env_num, json_t **out, struct sk_error *err)
{
    enum sk_split_kind k;
    json_t *all;
    size_t i, n;
    int kk;

    all = json_array();
    if (!all)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    if (strcmp(split, "all") == 0) {
        for (kk = 0; kk < SK_SPLIT_COUNT; kk++)
            if (json_array_extend(all, s->items[kk]) != 0) {
                json_decref(all);
                return sk_error_set(err, SK_ENOMEM, "out of memory");
            }
        *out = all;
        return SK_OK;
    }
    if (sk_split_name_parse(split, &k) != SK_OK) {
        json_decref(all);
        return sk_error_set(err, SK_EINVAL,
                            "--split: unknown split '%s' (train, valid_seen, "
                            "valid_unseen, val, test, selection or all)",
                            split);
    }
    n = sk_splits_count(s, k);
    if (env_num > 0 && (size_t)env_num < n)
        n = (size_t)env_num;
    for (i = 0; i < n; i++)
        if (json_array_append(all, sk_splits_item(s, k, i)) != 0) {
            json_decref(all);
            return sk_error_set(err, SK_ENOMEM, "out of memory");
        }
    *out = all;
    return SK_OK;
}

static char *default_out_root(const struct sk_config *c)
{
    struct sk_buf b;
    char ts[32], *p;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y%m%d_%H%M%S", &tm);
    sk_buf_init(&b, 4096);
    if (sk_buf_printf(&b, "outputs/eval_%s_%s_%s", c->env, c->target_model,
                      ts) != SK_OK) {
        sk_buf_release(&b);
        return NULL;
    }
    for (p = b.data + strlen("outputs/"); *p; p++)
        if (*p == '/')
            *p = '-';
    return sk_buf_detach(&b, NULL);
}

static int run_eval(const struct sk_config *c, const char *skill_path,
                    const char *split)
{
    const struct sk_bench *bench = NULL;
    struct sk_split_opts so;
    struct sk_splits s;
    struct sk_error err;
    struct sk_llm_client *client = NULL;
    struct sk_llm_client_opts lo;
    struct sk_rollout_stats st;
    struct sk_demo_sim *demo = NULL;
    json_t *items = NULL, *results = NULL, *sum = NULL;
    char *skill = NULL, *out_root = NULL, *path = NULL;
    size_t skill_len = 0;
    int rc, code = SK_EXIT_OK;

    sk_splits_init(&s);
    if (sk_bench_open(c, &bench, &err) != SK_OK) {
        cli_error("%s: %s",
                  c->origin[SK_OPT_env] ? c->origin[SK_OPT_env] : c->path,
                  err.msg);
        return cli_exit_for(err.code);
    }
    rc = sk_skill_load(skill_path, &skill, &skill_len, &err);
    if (rc != SK_OK) {
        cli_error("--skill: %s", err.msg);
        sk_bench_close(bench);
        return SK_EXIT_CONFIG;
    }
    if (sk_bench_preflight(bench, c, &err) != SK_OK) {
        cli_error("%s", err.msg);
        sk_free(skill);
        sk_bench_close(bench);
        return cli_exit_for(err.code);
    }
    cfgargs_split_opts(c, &so);
    rc = sk_splits_load(&so, &s, &err);
    if (rc == SK_OK)
        rc = pick_items(&s, split, (long)c->test_env_num, &items, &err);
    if (rc != SK_OK) {
        cli_error("%s", err.msg);
        code = rc == SK_EINVAL ? SK_EXIT_USAGE : cli_exit_for(rc);
        goto out;
    }
    out_root = *c->out_root ? sk_strdup(c->out_root) : default_out_root(c);
    if (!out_root || sk_fs_mkdirs(out_root, &err) != SK_OK) {
        cli_error("%s", out_root ? err.msg : "out of memory");
        code = SK_EXIT_RUN;
        goto out;
    }
    memset(&lo, 0, sizeof lo);
    lo.run_dir = out_root;
    if (strcmp(c->env, "demo") == 0) {
        /* the simulator plays the demo's target */
        rc = sk_demo_sim_new(c->split_dir, (uint64_t)c->seed, NULL, NULL, &demo,
                             &err);
        if (rc != SK_OK) {
            cli_error("%s", err.msg);
            code = cli_exit_for(rc);
            goto out;
        }
        lo.sim_responder = sk_demo_sim_respond;
        lo.sim_ud = demo;
    }
    rc = sk_llm_client_new(c, &lo, &client, &err);
    if (rc != SK_OK) {
        cli_error("%s", err.msg);
        code = rc == SK_ENOMEM ? SK_EXIT_RUN : SK_EXIT_CONFIG;
        goto out;
    }
    {
        struct sk_rollout_opts ro;
        memset(&ro, 0, sizeof ro);
        ro.prompts_dir = *c->prompts_dir ? c->prompts_dir : NULL;
        ro.max_completion_tokens = c->is_null[SK_OPT_max_completion_tokens]
                                       ? 0
                                       : (long)c->max_completion_tokens;
        ro.cfg = c;
        ro.seed = (int64_t)c->seed; /* an evaluation: the run's seed */
        ro.workers = c->is_null[SK_OPT_workers] ? 0 : (long)c->workers;
        rc = sk_rollout_run_opts(client, bench, skill, items, out_root, &ro,
                                 &results, &st, &err);
    }
    if (rc != SK_OK && !results) {
        cli_error("%s", err.msg);
        code = rc <= SK_LLM_EPROVIDER ? sk_llm_exit_code(rc) : cli_exit_for(rc);
        goto out;
    }
    sum = json_pack(
        "{s:s, s:s, s:I, s:f, s:f, s:I, s:I, s:o*}", "skill", skill_path,
        "split", split, "n_items", (json_int_t)st.items, "hard", st.hard_mean,
        "soft", st.soft_mean, "errors", (json_int_t)st.errors, "item_failures",
        (json_int_t)st.invalid, "by_task_type", sk_rollout_by_type(results));
    path = sum ? sk_fs_join(out_root, "eval_summary.json") : NULL;
    if (!path || sk_json_write_file(path, sum, &err) != SK_OK) {
        cli_error("%s", path ? err.msg : "out of memory");
        code = SK_EXIT_RUN;
        goto out;
    }
    printf("%s on %s (%zu items): hard %.4f, soft %.4f", skill_path, split,
           st.items, st.hard_mean, st.soft_mean);
    if (st.errors)
        printf(", %zu provider errors", st.errors);
    if (st.invalid)
        printf(", %zu items failed for their own reason (see fail_reason "
               "in results.jsonl)",
               st.invalid);
    printf("\n");
    {
        json_t *types = json_object_get(sum, "by_task_type"), *v;
        const char *key;
        if (json_object_size(types) > 2) /* more than one type + overall */
            json_object_foreach(types, key, v) if (strcmp(key, "overall") != 0)
                printf(
                    "  %-24s %4lld items, hard %.4f\n", key,
                    (long long)json_integer_value(json_object_get(v, "total")),
                    json_number_value(json_object_get(v, "hard_acc")));
    }
    printf("summary: %s\n", path);
    if (rc != SK_OK) {
        cli_error("%s", err.msg);
        code = rc <= SK_LLM_EPROVIDER ? sk_llm_exit_code(rc) : cli_exit_for(rc);
    }
out:
    json_decref(sum);
    json_decref(results);
    json_decref(items);
    sk_llm_client_free(client);
    sk_demo_sim_free(demo);
    sk_splits_release(&s);
    sk_bench_close(bench);
    sk_free(skill);
    sk_free(out_root);
    sk_free(path);
    return code;
}

int cmd_eval(int argc, char **argv)
{
    static const char *const valued[] = {"skill", "split", NULL};
    static const char *const switches[] = {"unsafe-no-sandbox",
                                           "unsafe_no_sandbox", NULL};
    struct cfgargs a;
    struct sk_config cfg;
    int code;

    sk_config_init(&cfg);
    code = cfgargs_parse(argc, argv, switches, valued, &a);
    if (code == SK_EXIT_OK && (cfgargs_has(argc, argv, "unsafe-no-sandbox") ||
                               cfgargs_has(argc, argv, "unsafe_no_sandbox")))
        a.cfg_options[a.n_cfg_options++] = "env.unsafe_no_sandbox=true";
    if (code == SK_EXIT_OK && !a.valued[0]) {
        cli_error("eval: --skill FILE is required");
        code = SK_EXIT_USAGE;
    }
    if (code == SK_EXIT_OK)
        code = cfgargs_load_config(&a, "eval", &cfg);
    if (code == SK_EXIT_OK)
        code = run_eval(&cfg, a.valued[0], a.valued[1] ? a.valued[1] : "all");
    sk_config_release(&cfg);
    cfgargs_release(&a);
    return code;
}
