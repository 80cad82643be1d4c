/*
 * cmd_train.c - `skillopt train`: run or resume a training; and the run
 * driver `skillopt demo` shares (cli_train_run).
 *
 * The command checks everything it can before the first model call (the
 * configuration, the splits, the skill file, the providers' settings),
 * then hands over to the trainer (train/trainer.h) with a progress view
 * on stderr.  SIGINT and SIGTERM stop the run at the next safe point; the
 * same command resumes it.
 */
#include "common.h"

#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bench/benches.h"
#include "bench/demo_opt.h"
#include "bench/demo_sim.h"
#include "cli/cfgargs.h"
#include "cli/cli.h"
#include "cli/progress.h"
#include "config/config.h"
#include "data/split.h"
#include "llm/client.h"
#include "skill/skill.h"
#include "train/bench.h"
#include "train/plan.h"
#include "train/trainer.h"
#include "ui/server.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/log.h"

const char cmd_train_usage[] =
    "usage: skillopt train --config FILE [--out_root DIR] [--cfg-options "
    "K=V ...]\n"
    "                      [--KEY VALUE ...] [--max_cost USD] [--max_tokens "
    "N]\n"
    "                      [--dry-run] [--quiet] [--ui] "
    "[--unsafe-no-sandbox]\n"
    "\n"
    "Trains the skill document env.skill_init on the benchmark env.name:\n"
    "each step rolls the target out on a train batch, lets the optimizer\n"
    "propose edits, applies at most the scheduled number and keeps the\n"
    "result only if the selection score rises.  Outputs go to DIR in the\n"
    "reference's layout (history.json, best_skill.md, skills/, steps/,\n"
    "summary.json) plus events.jsonl.  Rerunning the same command on the\n"
    "same DIR resumes; finished model calls are not paid for twice.\n"
    "\n"
    "Every configuration key is also a flag in the reference's spelling\n"
    "(--batch_size 8, --split_dir DIR, --optimizer_model M, ...).\n"
    "  --max_cost USD    stop cleanly before spending more than USD\n"
    "  --max_tokens N    stop cleanly before using more than N tokens\n"
    "  --dry-run         print the plan and an estimate of calls and tokens\n"
    "                    per stage, then exit without calling any model\n"
    "  --quiet           print only errors and the final summary\n"
    "  --ui              serve the run on the dashboard while it trains\n"
    "                    (prints the URL; see `skillopt help ui`)\n"
    "  --unsafe-no-sandbox  run model-written code (SpreadsheetBench)\n"
    "                    without the bubblewrap sandbox: no isolation,\n"
    "                    only a scrubbed environment and limits\n"
    "\n"
    "Progress goes to stderr: one live line on a terminal, plain lines\n"
    "otherwise.  Ctrl-C stops at the next safe point.\n"
    "\n"
    "Exit status: 0 done, 1 run failed, 2 bad command line, 3 bad\n"
    "configuration, data or skill, 4 a provider failed, 5 budget reached,\n"
    "130 interrupted (rerun to resume).\n";

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static char *default_out_root(const struct sk_config *c, const char *prefix)
{
    struct sk_buf b;
    char ts[32], *p, *abs = NULL;
    time_t now = time(NULL);
    struct tm tm;

    localtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y%m%d_%H%M%S", &tm);
    sk_buf_init(&b, 4096);
    if (prefix) {
        if (sk_buf_printf(&b, "outputs/%s_%s", prefix, ts) != SK_OK)
            goto out;
    } else if (sk_buf_printf(&b, "outputs/skillopt_%s_%s_%s", c->env,
                             c->optimizer_model, ts) != SK_OK) {
        goto out;
    }
    for (p = b.data + strlen("outputs/"); *p; p++)
        if (*p == '/')
            *p = '-';
    abs = sk_buf_detach(&b, NULL);
out:
    sk_buf_release(&b);
    return abs;
}

/* Rough prompt size of the first train item, in tokens (chars / 4). */
static long item_tokens(const struct sk_bench *bench, const json_t *item,
                        const char *skill, const char *prompts_dir)
{
    char *sys = NULL, *user = NULL;
    struct sk_bench_ctx ctx;
    struct sk_error err;
    long n = 0;
    memset(&ctx, 0, sizeof ctx);
    ctx.prompts_dir = prompts_dir;
    ctx.data = bench->data;
    if (item && bench->build(item, skill, &ctx, &sys, &user, &err) == SK_OK)
        n = (long)((strlen(sys) + strlen(user)) / 4);
    sk_free(sys);
    sk_free(user);
    return n;
}

/* --dry-run: the plan and an upper estimate of calls per stage. */
static int dry_run(const struct sk_config *c, const struct sk_bench *bench,
                   const struct sk_splits *s, const char *skill,
                   const char *out_root)
{
    struct sk_plan_dims d;
    struct sk_error err;
    long train = (long)sk_splits_count(s, SK_SPLIT_TRAIN);
    long val = (long)sk_plan_eval_count(sk_splits_count(s, SK_SPLIT_VAL),
                                        (long)c->sel_env_num);
    long test = (long)sk_plan_eval_count(sk_splits_count(s, SK_SPLIT_TEST),
                                         (long)c->test_env_num);
    long mb = c->minibatch_size > 0 ? (long)c->minibatch_size : 8;
    long per_step, analyst, merge, slow_epochs, roll, ptok, skill_tok, opt_tok;
    long ctok = c->is_null[SK_OPT_max_completion_tokens]
                    ? 1024
                    : (long)c->max_completion_tokens;

    if (sk_plan_dims(train, (long)c->batch_size, (long)c->accumulation,
                     (long)c->num_epochs, &d, &err) != SK_OK) {
        cli_error("%s", err.msg);
        return SK_EXIT_CONFIG;
    }
    per_step = (long)c->batch_size * (long)c->accumulation;
    analyst = (per_step + mb - 1) / mb + (c->failure_only ? 0 : 1);
    merge = analyst > 1 ? analyst : 0;
    slow_epochs = c->num_epochs > 1 ? (long)c->num_epochs - 1 : 0;
    roll = d.total_steps * per_step + val * (d.total_steps + 1) +
           (c->eval_test ? 3 * test + val : 0) +
           ((c->use_slow_update || c->use_meta_skill)
                ? 2 * slow_epochs * (long)c->slow_update_samples
                : 0);
    ptok = item_tokens(bench, json_array_get(s->items[SK_SPLIT_TRAIN], 0),
                       skill, *c->prompts_dir ? c->prompts_dir : NULL);
    skill_tok = (long)strlen(skill) / 4;
    opt_tok = skill_tok + 600 * mb + 1500;

    printf("plan for %s (benchmark %s)\n", out_root, c->env);
    printf("  train %ld items, selection %ld, test %ld%s\n", train, val, test,
           c->eval_test ? "" : " (not evaluated: eval_test false)");
    printf("  %lld epochs x %ld steps = %ld steps; batch %lld x "
           "accumulation %lld\n",
           (long long)c->num_epochs, d.steps_per_epoch, d.total_steps,
           (long long)c->batch_size, (long long)c->accumulation);
    printf("  update mode %s, edit budget %lld -> %lld (%s), gate %s%s\n",
           c->skill_update_mode, (long long)c->edit_budget,
           (long long)c->min_edit_budget, c->lr_scheduler, c->gate_metric,
           c->use_gate ? "" : " (off: force-accept)");
    printf("\nestimated model calls (upper bounds; cached calls cost "
           "nothing):\n");
    printf("  %-14s %8s %14s\n", "stage", "calls", "~tokens");
    printf("  %-14s %8ld %14ld   target: train batches, selection, test, "
           "epoch comparisons\n",
           "rollout", roll, roll * (ptok + ctok));
    printf("  %-14s %8ld %14ld\n", "analyst", d.total_steps * analyst,
           d.total_steps * analyst * opt_tok);
    printf("  %-14s %8ld %14ld\n", "merge", d.total_steps * merge,
           d.total_steps * merge * (skill_tok + 4000));
    printf("  %-14s %8ld %14ld\n", "ranking", d.total_steps,
           d.total_steps * (skill_tok + 3000));
    if (c->use_slow_update)
        printf("  %-14s %8ld %14ld\n", "slow_update", slow_epochs,
               slow_epochs * (3 * skill_tok + 20000));
    if (c->use_meta_skill)
        printf("  %-14s %8ld %14ld\n", "meta_skill", slow_epochs,
               slow_epochs * (3 * skill_tok + 20000));
    printf("\nprompt size of one task with the initial skill: ~%ld tokens; "
           "the skill itself ~%ld tokens.\n"
           "nothing was sent (dry run).\n",
           ptok, skill_tok);
    return SK_EXIT_OK;
}

static int exit_for_train(int rc)
{
    if (rc == SK_LLM_EBUDGET)
        return SK_EXIT_BUDGET;
    if (rc <= SK_LLM_EPROVIDER)
        return SK_EXIT_PROVIDER;
    return cli_exit_for(rc);
}

int cli_train_run(const struct sk_config *c, const char *out_root_in,
                  const struct cli_train_flags *f)
{
    struct sk_split_opts so;
    struct sk_splits s;
    struct sk_error err;
    struct sk_llm_client *client = NULL;
    struct sk_llm_client_opts lo;
    struct sk_demo_sim *demo = NULL;
    struct sk_demo_opt *opt = NULL;
    struct sk_train_opts to;
    struct sk_train_result res;
    struct progress *pg = NULL;
    struct sk_ui *ui = NULL;
    struct sigaction sa, old_int, old_term;
    const struct sk_bench *bench = NULL;
    const char *init;
    char *out_root = NULL, *skill = NULL, *best = NULL, rp[PATH_MAX];
    size_t len;
    int rc, code = SK_EXIT_OK;

    sk_splits_init(&s);
    if (sk_bench_open(c, &bench, &err) != SK_OK) {
        cli_error("%s: %s",
                  c->origin[SK_OPT_env] ? c->origin[SK_OPT_env] : c->path,
                  err.msg);
        return cli_exit_for(err.code);
    }
    /* a YAML benchmark may name its own initial skill */
    init = *c->skill_init ? c->skill_init : sk_userbench_skill_init(bench);
    if (init && *init) {
        rc = sk_skill_load(init, &skill, &len, &err);
        if (rc != SK_OK) {
            cli_error("env.skill_init: %s", err.msg);
            sk_bench_close(bench);
            return SK_EXIT_CONFIG;
        }
    }
    out_root = out_root_in    ? sk_strdup(out_root_in)
               : *c->out_root ? sk_strdup(c->out_root)
                              : default_out_root(c, NULL);
    if (!out_root) {
        cli_error("out of memory");
        code = SK_EXIT_RUN;
        goto out;
    }
    cfgargs_split_opts(c, &so);
    so.out_root = out_root;
    rc = sk_splits_load(&so, &s, &err);
    if (rc != SK_OK) {
        cli_error("%s", err.msg);
        code = cli_exit_for(rc);
        goto out;
    }
    if (f->dry_run) {
        code = dry_run(c, bench, &s, skill ? skill : "", out_root);
        goto out;
    }
    if (!skill) {
        sk_warn("env.skill_init is empty: training starts from a blank "
                "skill");
    }
    if (sk_fs_mkdirs(out_root, &err) != SK_OK) {
        cli_error("%s", err.msg);
        code = SK_EXIT_RUN;
        goto out;
    }
    if (f->ui)
        ui = cli_ui_start_run(out_root);
    memset(&lo, 0, sizeof lo);
    lo.run_dir = out_root;
    if (strcmp(c->env, "demo") == 0) {
        /* the simulator plays both demo roles; other benchmarks on the sim
         * backend get its echo responder */
        opt = sk_demo_opt_new((uint64_t)c->seed);
        rc = opt ? sk_demo_sim_new(c->split_dir, (uint64_t)c->seed,
                                   sk_demo_opt_respond, opt, &demo, &err)
                 : sk_error_set(&err, SK_ENOMEM, "out of memory");
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
    pg = progress_new(stderr, isatty(STDERR_FILENO), f->quiet);
    if (!pg) {
        cli_error("out of memory");
        code = SK_EXIT_RUN;
        goto out;
    }
    if (f->quiet)
        sk_log_set_level(SK_LOG_WARN);
    else if (isatty(STDERR_FILENO))
        sk_log_set_level(SK_LOG_WARN); /* the live line shows the rest */

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    stop_flag = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    memset(&to, 0, sizeof to);
    to.cfg = c;
    to.splits = &s;
    to.skill_init_path = init && *init ? init : NULL;
    to.out_root = out_root;
    to.client = client;
    to.on_event = progress_event;
    to.event_ud = pg;
    to.stop = &stop_flag;
    rc = sk_train_run(&to, &res, &err);

    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    progress_free(pg);
    pg = NULL;

    if (rc != SK_OK) {
        cli_error("%s", err.msg);
        code = exit_for_train(rc);
        if (code == SK_EXIT_PROVIDER)
            fprintf(stderr,
                    "everything finished so far is saved in %s; rerun the "
                    "same command to resume\n",
                    out_root);
        goto out;
    }
    if (res.interrupted) {
        fprintf(stderr,
                "interrupted after step %ld of %ld; rerun the same command "
                "to resume (%s)\n",
                res.steps_done, res.total_steps, out_root);
        code = 130;
        goto out;
    }
    best = sk_fs_join(out_root, "best_skill.md");
    if (res.baseline_score >= 0)
        printf("baseline selection score: %.4f\n", res.baseline_score);
    else
        printf("baseline selection score: n/a (measured by an earlier run)\n");
    printf("best selection score:     %.4f (step %ld; %ld accepted, %ld "
           "rejected, %ld skipped of %ld steps)\n",
           res.best_score, res.best_step, res.accepts, res.rejects, res.skips,
           res.steps_done);
    if (res.has_test)
        printf("test hard accuracy:       initial %.4f -> best %.4f (final "
               "skill %.4f)\n",
               res.baseline_test_hard, res.test_hard, res.final_test_hard);
    printf("best skill: %s\n",
           best && realpath(best, rp) ? rp : (best ? best : out_root));
    printf("run directory: %s\n", out_root);
out:
    sk_ui_stop(ui);
    progress_free(pg);
    sk_llm_client_free(client);
    sk_demo_sim_free(demo);
    sk_demo_opt_free(opt);
    sk_splits_release(&s);
    sk_bench_close(bench);
    sk_free(skill);
    sk_free(out_root);
    sk_free(best);
    return code;
}

/* Lets model-written code run without the sandbox (docs/sandbox.md). */
#define UNSAFE "unsafe-no-sandbox"

/* --max_cost / --max_tokens become the llm section's keys. */
static int add_budget(struct cfgargs *a, const char *key, const char *value)
{
    struct sk_buf b;
    char *item;
    sk_buf_init(&b, 4096);
    if (sk_buf_printf(&b, "%s=%s", key, value) != SK_OK ||
        !(item = sk_buf_detach(&b, NULL))) {
        sk_buf_release(&b);
        return -1;
    }
    a->owned[a->n_owned++] = item;
    a->cfg_options[a->n_cfg_options++] = item;
    return 0;
}

int cmd_train(int argc, char **argv)
{
    static const char *const switches[] = {
        "dry-run", "dry_run",           "quiet", "ui", "no-ui", "no_ui",
        UNSAFE,    "unsafe_no_sandbox", NULL};
    static const char *const valued[] = {"max_cost", "max-cost", "max_tokens",
                                         "max-tokens", NULL};
    struct cli_train_flags f;
    struct cfgargs a;
    struct sk_config cfg;
    const char *cost, *tokens;
    int code;

    sk_config_init(&cfg);
    memset(&f, 0, sizeof f);
    f.dry_run = cfgargs_has(argc, argv, "dry-run") ||
                cfgargs_has(argc, argv, "dry_run");
    f.quiet = cfgargs_has(argc, argv, "quiet");
    f.ui = cfgargs_has(argc, argv, "ui");
    code = cfgargs_parse(argc, argv, switches, valued, &a);
    cost = a.valued[0] ? a.valued[0] : a.valued[1];
    tokens = a.valued[2] ? a.valued[2] : a.valued[3];
    if (code == SK_EXIT_OK &&
        ((cost && add_budget(&a, "llm.max_cost_usd", cost) != 0) ||
         (tokens && add_budget(&a, "llm.max_tokens", tokens) != 0))) {
        cli_error("out of memory");
        code = SK_EXIT_RUN;
    }
    if (code == SK_EXIT_OK && (cfgargs_has(argc, argv, UNSAFE) ||
                               cfgargs_has(argc, argv, "unsafe_no_sandbox")))
        a.cfg_options[a.n_cfg_options++] = "env.unsafe_no_sandbox=true";
    if (code == SK_EXIT_OK)
        code = cfgargs_load_config(&a, "train", &cfg);
    if (code == SK_EXIT_OK)
        code = cli_train_run(&cfg, NULL, &f);
    sk_config_release(&cfg);
    cfgargs_release(&a);
    return code;
}
