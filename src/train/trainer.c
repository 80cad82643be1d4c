/*
 * trainer.c - the training run (algorithm.md 1.1, 8.3, 8.4): start-up
 * checks, resume, the baseline and the epoch loop (the end of run is in
 * finish.c); plus the helpers the step, epoch-end and finish files share
 * (events, phases, evaluations, saving the state).
 *
 * Deliberate differences from the reference, each in docs/compatibility.md:
 * a missing skill file, an empty train or selection split are errors; a
 * provider error during any rollout stops the run (exit 4, resumable)
 * instead of scoring the item 0; every optimizer call of a phase failing
 * stops the run too; the scheduler position, the epoch's step buffer, the
 * baseline score and the final selection scores survive a resume
 * (resume_state.json).
 */
#include "common.h"
#include "train/trainer.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "config/config.h"
#include "data/split.h"
#include "llm/client.h"
#include "llm/usage.h"
#include "skill/skill.h"
#include "train/bench.h"
#include "train/events.h"
#include "train/rollout.h"
#include "train/trainer_int.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/jsonparse.h"
#include "util/log.h"
#include "util/sha256.h"

#define OOM(err) sk_error_set((err), SK_ENOMEM, "out of memory")

/* ---- small helpers ------------------------------------------------- */

double tr_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double tr_round(double x, int nd)
{
    char buf[64];
    if (!isfinite(x))
        return x;
    /* glibc prints the exact binary value correctly rounded, ties to even:
     * what Python's round(x, nd) computes. */
    snprintf(buf, sizeof buf, "%.*f", nd, x);
    return strtod(buf, NULL);
}

size_t tr_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

int tr_set_text(char **slot, const char *text, struct sk_error *err)
{
    char *c = sk_strdup(text);
    if (!c)
        return OOM(err);
    sk_free(*slot);
    *slot = c;
    return SK_OK;
}

int tr_read_text(const char *path, char **out, struct sk_error *err)
{
    size_t len;
    return sk_skill_load(path, out, &len, err);
}

static struct timespec wall_clock(void *ctx)
{
    struct timespec ts;
    (void)ctx;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts;
}

void tr_emit(struct sk_trainer *t, const char *type, json_t *fields)
{
    struct sk_error err;

    if (t->ev && sk_events_emit(t->ev, type, fields, &err) != SK_OK)
        sk_warn("events.jsonl: %s", err.msg);
    if (t->o->on_event)
        t->o->on_event(t->o->event_ud, type, fields);
    json_decref(fields);
}

void tr_emit_spend(struct sk_trainer *t)
{
    static const char *const names[SK_ROLE_COUNT] = {"optimizer", "target"};
    json_t *tok = tr_token_snapshot(t);
    json_t *total = tok ? json_object_get(tok, "_total") : NULL;
    json_t *f, *roles;
    int r;

    if (!total) {
        json_decref(tok);
        return;
    }
    f = json_deep_copy(total);
    roles = json_object();
    for (r = 0; f && roles && r < SK_ROLE_COUNT; r++) {
        struct sk_stage_usage u;
        sk_ledger_get(sk_llm_client_ledger(t->client), r, NULL, &u);
        json_object_set_new(
            roles, names[r],
            json_pack("{s:I, s:I, s:I, s:o}", "calls", (json_int_t)u.calls,
                      "prompt_tokens", (json_int_t)u.prompt_tokens,
                      "completion_tokens", (json_int_t)u.completion_tokens,
                      "cost_usd",
                      u.cost_unknown ? json_null() : json_real(u.cost_usd)));
    }
    if (f && roles)
        json_object_set_new(f, "by_role", roles);
    else
        json_decref(roles);
    if (f)
        tr_emit(t, SK_EVENT_SPEND, f);
    json_decref(tok);
}

void tr_phase_begin(struct sk_trainer *t, struct tr_phase *p, const char *name,
                    long step, long epoch)
{
    p->name = name;
    p->step = step;
    p->epoch = epoch;
    p->t0 = tr_now();
    tr_emit(t, SK_EVENT_PHASE_START,
            json_pack("{s:s, s:I, s:I}", "phase", name, "step",
                      (json_int_t)step, "epoch", (json_int_t)epoch));
}

double tr_phase_end(struct sk_trainer *t, struct tr_phase *p, int status)
{
    double s = tr_now() - p->t0;
    tr_emit(t, SK_EVENT_PHASE_END,
            json_pack("{s:s, s:I, s:I, s:f, s:s}", "phase", p->name, "step",
                      (json_int_t)p->step, "epoch", (json_int_t)p->epoch,
                      "seconds", tr_round(s, 3), "status",
                      status == SK_OK ? "ok" : "failed"));
    return s;
}

int tr_should_stop(struct sk_trainer *t)
{
    if (t->o->stop && *t->o->stop)
        t->stopped = 1;
    return t->stopped;
}

void tr_opt_reset(struct sk_trainer *t)
{
    __atomic_store_n(&t->opt_calls, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&t->opt_failures, 0, __ATOMIC_SEQ_CST);
}

int tr_opt_check(struct sk_trainer *t, const char *phase, struct sk_error *err)
{
    long calls = __atomic_load_n(&t->opt_calls, __ATOMIC_SEQ_CST);
    long fails = __atomic_load_n(&t->opt_failures, __ATOMIC_SEQ_CST);

    if (__atomic_load_n(&t->budget_hit, __ATOMIC_SEQ_CST))
        return sk_error_set(err, SK_LLM_EBUDGET,
                            "%s stopped by the budget: %s; everything "
                            "finished is saved, rerun with a higher cap to "
                            "continue",
                            phase, t->budget_msg);
    if (calls > 0 && fails == calls)
        return sk_error_set(err, SK_LLM_EPROVIDER,
                            "%s: every optimizer call failed (%ld of %ld): %s",
                            phase, fails, calls, t->first_failure);
    return SK_OK;
}

/* Set on the threads of the second and later concurrent evaluations
 * (tr_evaluate_many), whose replies the client reports on their own
 * thread: progress follows the first one only, so done/total stay one
 * rollout's. */
static __thread int progress_quiet;

/* The client's completion hook: failure bookkeeping and rollout progress. */
static void on_complete(void *ud, const struct sk_llm_request *req,
                        const struct sk_llm_result *res, size_t done,
                        size_t total)
{
    struct sk_trainer *t = ud;
    const char *split;
    json_t *f;
    size_t every;

    if (res->status == SK_LLM_EBUDGET &&
        __atomic_exchange_n(&t->budget_hit, 1, __ATOMIC_SEQ_CST) == 0)
        snprintf(t->budget_msg, sizeof t->budget_msg, "%s", res->error);
    if (req->role == SK_ROLE_OPTIMIZER) {
        __atomic_add_fetch(&t->opt_calls, 1, __ATOMIC_SEQ_CST);
        if (res->status != SK_OK && res->status != SK_LLM_EBUDGET &&
            __atomic_add_fetch(&t->opt_failures, 1, __ATOMIC_SEQ_CST) == 1)
            snprintf(t->first_failure, sizeof t->first_failure, "%s",
                     res->error);
    }
    split = __atomic_load_n(&t->progress_split, __ATOMIC_SEQ_CST);
    if (req->role != SK_ROLE_TARGET || !split || progress_quiet)
        return;
    /* the hook and the log get every tenth of a rollout */
    every = total / 10 ? total / 10 : 1;
    if (done != total && done % every != 0)
        return;
    f = json_pack(
        "{s:s, s:I, s:I, s:I}", "split", split, "step",
        (json_int_t)__atomic_load_n(&t->progress_step, __ATOMIC_SEQ_CST),
        "done", (json_int_t)done, "total", (json_int_t)total);
    if (!f)
        return;
    tr_emit(t, SK_EVENT_ROLLOUT_PROGRESS, f);
}

/* The client's unusable-reply hook: keeps each reply as a file. */
static void on_unusable(void *ud, const char *stage, const char *text)
{
    struct sk_trainer *t = ud;
    struct sk_error err;
    char name[96], *path;
    long n;

    if (!t->pf_dir)
        return;
    n = ++t->n_unusable;
    snprintf(name, sizeof name, "%s_%03ld.txt", stage, n);
    path = sk_fs_join(t->pf_dir, name);
    if (!path || sk_fs_mkdirs(t->pf_dir, &err) != SK_OK ||
        sk_fs_write_atomic(path, text, strlen(text), &err) != SK_OK)
        sk_warn("%s: unusable %s reply not kept", t->pf_dir, stage);
    sk_free(path);
}

int tr_keep_unusable(struct sk_trainer *t, const char *rel,
                     struct sk_error *err)
{
    sk_free(t->pf_dir);
    t->pf_dir = NULL;
    t->n_unusable = 0;
    if (!rel)
        return SK_OK;
    return sk_rundir_path(&t->rd, rel, 0, &t->pf_dir, err);
}

/* ---- evaluations ---------------------------------------------------- */

/* First "error: ..." fail_reason among rows, for messages. */
static const char *first_error(const json_t *rows)
{
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
    {
        const char *fr = json_string_value(json_object_get(r, "fail_reason"));
        if (fr && strncmp(fr, "error: ", 7) == 0)
            return fr + 7;
    }
    return "unknown provider error";
}

static int run_rollout(struct sk_trainer *t, const char *skill,
                       const json_t *items, const char *dir, const char *split,
                       long step, json_t **results, struct sk_rollout_stats *st,
                       struct sk_error *err)
{
    int rc;

    /* concurrent evaluations (tr_evaluate_many) label progress the same */
    __atomic_store_n(&t->progress_split, split, __ATOMIC_SEQ_CST);
    __atomic_store_n(&t->progress_step, step, __ATOMIC_SEQ_CST);
    {
        struct sk_rollout_opts ro;
        memset(&ro, 0, sizeof ro);
        ro.prompts_dir = t->prompts_dir;
        ro.max_completion_tokens = t->rollout_tokens;
        ro.cfg = t->cfg;
        /* a train batch carries its own seed, evaluations the run's */
        ro.seed =
            strcmp(split, "train") == 0 ? t->batch_seed : (int64_t)t->cfg->seed;
        ro.workers =
            t->cfg->is_null[SK_OPT_workers] ? 0 : (long)t->cfg->workers;
        ro.train = strcmp(split, "train") == 0;
        rc = sk_rollout_run_opts(t->client, t->bench, skill, items, dir, &ro,
                                 results, st, err);
    }
    __atomic_store_n(&t->progress_split, NULL, __ATOMIC_SEQ_CST);
    if (rc == SK_OK && st->errors > 0) {
        rc = sk_error_set(err, SK_LLM_EPROVIDER,
                          "%s rollout in %s: %zu of %zu items failed at the "
                          "target's provider (%s); the run stops rather than "
                          "score them as wrong answers; rerun the same "
                          "command to resume (finished items are kept)",
                          split, dir, st->errors, st->items,
                          first_error(*results));
    } else if (rc == SK_LLM_EBUDGET) {
        rc = sk_error_set(err, SK_LLM_EBUDGET,
                          "%s rollout stopped by the budget: %s; everything "
                          "finished is saved, rerun with a higher cap to "
                          "continue",
                          split,
                          t->budget_msg[0] ? t->budget_msg : "cap reached");
    }
    if (rc != SK_OK) {
        json_decref(*results);
        *results = NULL;
    }
    return rc;
}

int tr_evaluate(struct sk_trainer *t, const char *skill, const json_t *items,
                const char *dir, const char *split, long step, double *hard,
                double *soft, json_t **results, struct sk_error *err)
{
    struct sk_rollout_stats st;
    json_t *rows = NULL;
    int rc;

    memset(&st, 0, sizeof st);
    rc = run_rollout(t, skill, items, dir, split, step, &rows, &st, err);
    if (rc != SK_OK)
        return rc;
    *hard = st.hard_mean;
    *soft = st.soft_mean;
    if (results)
        *results = rows;
    else
        json_decref(rows);
    return SK_OK;
}

struct eval_thread {
    struct sk_trainer *t;
    struct tr_eval_job *job;
    struct tr_eval_job *first; /* the job whose progress is shown */
};

static void *eval_main(void *arg)
{
    struct eval_thread *e = arg;
    struct tr_eval_job *j = e->job;
    progress_quiet = j != e->first;
    j->rc = tr_evaluate(e->t, j->skill, j->items, j->dir, j->split, j->step,
                        &j->hard, &j->soft, &j->rows, &j->err);
    return NULL;
}

int tr_evaluate_many(struct sk_trainer *t, struct tr_eval_job *jobs, size_t n,
                     struct sk_error *err)
{
    struct eval_thread th[8];
    pthread_t tid[8];
    int started[8] = {0};
    size_t i;

    if (n > 8)
        return sk_error_set(err, SK_EINVAL, "too many evaluations at once");
    for (i = 0; i < n; i++) {
        jobs[i].rows = NULL;
        jobs[i].rc = SK_OK;
        sk_error_clear(&jobs[i].err);
        th[i].t = t;
        th[i].job = &jobs[i];
        th[i].first = &jobs[0];
    }
    /* the first job runs here; a thread that cannot start runs here too */
    for (i = 1; i < n; i++)
        started[i] = pthread_create(&tid[i], NULL, eval_main, &th[i]) == 0;
    eval_main(&th[0]);
    for (i = 1; i < n; i++) {
        if (started[i])
            pthread_join(tid[i], NULL);
        else
            eval_main(&th[i]);
    }
    progress_quiet = 0;
    for (i = 0; i < n; i++)
        if (jobs[i].rc != SK_OK) {
            sk_error_set(err, jobs[i].rc, "%s", jobs[i].err.msg);
            return jobs[i].rc;
        }
    return SK_OK;
}

int tr_gate_score(struct sk_trainer *t, double hard, double soft,
                  const char *text, double *out, struct sk_error *err)
{
    if (sk_gate_score(&t->gate, hard, soft, text, strlen(text), out) != SK_OK)
        return OOM(err);
    return SK_OK;
}

json_t *tr_token_snapshot(struct sk_trainer *t)
{
    struct sk_buf b;
    json_error_t jerr;
    json_t *j = NULL;

    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (sk_ledger_summary_json(sk_llm_client_ledger(t->client), &b) == SK_OK)
        j = sk_json_loadb(sk_buf_cstr(&b), b.len, 0, &jerr);
    sk_buf_release(&b);
    return j;
}

/* ---- state ---------------------------------------------------------- */

static json_t *resume_object(struct sk_trainer *t)
{
    json_t *o = json_object(), *sb = NULL, *base, *fs;

    if (!o || sk_stepbuf_to_json(&t->sbuf, &sb) != SK_OK)
        goto fail;
    base = t->has_baseline ? json_pack("{s:f, s:f}", "hard", t->baseline_hard,
                                       "soft", t->baseline_soft)
                           : json_null();
    if (!t->has_final_sel)
        fs = json_null();
    else if (t->final_sel_soft_null)
        fs = json_pack("{s:f, s:n}", "hard", t->final_sel_hard, "soft");
    else
        fs = json_pack("{s:f, s:f}", "hard", t->final_sel_hard, "soft",
                       t->final_sel_soft);
    if (json_object_set_new(o, "scheduler_step",
                            json_integer(t->sched.current_step)) != 0 ||
        json_object_set_new(o, "step_buffer", sb) != 0 ||
        json_object_set_new(o, "baseline", base) != 0 ||
        json_object_set_new(o, "slow_applied_epoch",
                            json_integer(t->slow_applied_epoch)) != 0 ||
        json_object_set_new(o, "final_selection", fs) != 0)
        goto fail_nosb;
    return o;
fail:
    json_decref(sb);
fail_nosb:
    json_decref(o);
    return NULL;
}

/* save_skill: write the current skill to skill_rel (NULL: the step's
 * skills/skill_vNNNN.md) and name it in runtime_state.json. */
static int save_state(struct sk_trainer *t, long step, int save_skill,
                      const char *skill_rel, struct sk_error *err)
{
    struct sk_runtime_state st;
    char *path = NULL, *best = NULL;
    json_t *ro = NULL;
    int rc;

    if (save_skill) {
        rc = skill_rel ? sk_rundir_path(&t->rd, skill_rel, 1, &path, err)
                       : sk_rundir_skill_path(&t->rd, step, 1, &path, err);
        if (rc == SK_OK)
            rc = sk_skill_save(path, t->current, strlen(t->current), err);
        if (rc != SK_OK)
            goto out;
    }
    rc = sk_rundir_path(&t->rd, SK_RUNDIR_BEST_SKILL, 1, &best, err);
    if (rc == SK_OK)
        rc = sk_skill_save(best, t->best, strlen(t->best), err);
    if (rc != SK_OK)
        goto out;
    sk_runtime_state_init(&st);
    st.last_completed_step = step;
    st.current_skill_path = skill_rel ? path : t->current_path;
    st.current_score = t->gs.current_score;
    st.current_origin = t->gs.current_origin;
    st.best_score = t->gs.best_score;
    st.best_step = t->gs.best_step;
    st.best_origin = t->gs.best_origin;
    rc = sk_runtime_state_write(&t->rd, &st, err);
    if (rc != SK_OK)
        goto out;
    ro = resume_object(t);
    if (!ro) {
        rc = OOM(err);
        goto out;
    }
    rc = sk_resume_state_write(&t->rd, step, ro, err);
out:
    json_decref(ro);
    sk_free(path);
    sk_free(best);
    return rc;
}

int tr_save_state_keep(struct sk_trainer *t, long step, struct sk_error *err)
{
    return save_state(t, step, 0, NULL, err);
}

int tr_save_state(struct sk_trainer *t, long step, struct sk_error *err)
{
    sk_free(t->current_path);
    t->current_path = NULL;
    return save_state(t, step, 1, NULL, err);
}

int tr_save_state_as(struct sk_trainer *t, long step, const char *skill_rel,
                     struct sk_error *err)
{
    int rc = save_state(t, step, 1, skill_rel, err);
    char *p = NULL;
    /* later saves of this step (end of run) keep naming that file */
    if (rc == SK_OK && sk_rundir_path(&t->rd, skill_rel, 0, &p, err) == SK_OK) {
        sk_free(t->current_path);
        t->current_path = p;
    }
    return rc;
}

/* ---- start-up ------------------------------------------------------- */

static json_t *first_items(const struct sk_splits *s, enum sk_split_kind k,
                           long env_num)
{
    size_t n = sk_plan_eval_count(sk_splits_count(s, k), env_num), i;
    json_t *a = json_array();
    for (i = 0; a && i < n; i++)
        if (json_array_append(a, sk_splits_item(s, k, i)) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static int check_settings(struct sk_trainer *t, struct sk_error *err)
{
    const struct sk_config *c = t->cfg;
    enum sk_lr_scheduler sched;
    enum sk_gate_metric metric;
    long train_n, train_size;
    size_t i;
    int rc;

    if (c->batch_size <= 0 || c->accumulation <= 0)
        return sk_error_set(err, SK_ECONFIG,
                            "train.batch_size and train.accumulation must be "
                            "positive");
    if (c->merge_batch_size < 2)
        return sk_error_set(err, SK_ECONFIG,
                            "gradient.merge_batch_size must be at least 2 "
                            "(got %lld)",
                            (long long)c->merge_batch_size);
    if (!(c->gate_mixed_weight >= 0.0 && c->gate_mixed_weight <= 1.0))
        return sk_error_set(err, SK_ECONFIG,
                            "evaluation.gate_mixed_weight must be in [0, 1]");
    if (sk_skill_update_mode_parse(c->skill_update_mode, &t->mode) != SK_OK ||
        sk_lr_control_mode_parse(c->lr_control_mode, &t->lr_mode) != SK_OK ||
        sk_lr_scheduler_parse(c->lr_scheduler, &sched) != SK_OK ||
        sk_longitudinal_pair_policy_parse(c->longitudinal_pair_policy,
                                          &t->pair_policy) != SK_OK)
        return sk_error_set(err, SK_ECONFIG,
                            "optimizer: unknown skill_update_mode, "
                            "lr_control_mode, lr_scheduler or "
                            "longitudinal_pair_policy");
    rc = sk_gate_metric_parse(c->gate_metric, &metric, err);
    if (rc != SK_OK)
        return rc;
    if (t->mode == SK_UPDATE_FULL_REWRITE_MINIBATCH)
        t->lr_mode = SK_LR_CONTROL_NONE;
    t->accumulation = (long)c->accumulation;

    train_n = (long)sk_splits_count(t->o->splits, SK_SPLIT_TRAIN);
    train_size = (long)c->train_size;
    if (train_size > 0 && train_n > 0 && train_size != train_n)
        return sk_error_set(err, SK_ECONFIG,
                            "train.train_size is %ld but the train split "
                            "has %ld items; remove train_size or fix it",
                            train_size, train_n);
    if (train_size <= 0)
        train_size = train_n;
    if (train_size <= 0)
        return sk_error_set(err, SK_EDATA, "the train split is empty (%s)",
                            t->o->splits->paths[SK_SPLIT_TRAIN]
                                ? t->o->splits->paths[SK_SPLIT_TRAIN]
                                : "no file");
    if (sk_splits_count(t->o->splits, SK_SPLIT_VAL) == 0)
        return sk_error_set(err, SK_EDATA,
                            "the selection (val) split is empty (%s): every "
                            "candidate would score 0",
                            t->o->splits->paths[SK_SPLIT_VAL]
                                ? t->o->splits->paths[SK_SPLIT_VAL]
                                : "no file");
    if (c->eval_test && sk_splits_count(t->o->splits, SK_SPLIT_TEST) == 0)
        return sk_error_set(err, SK_EDATA,
                            "the test split is empty (%s); set "
                            "evaluation.eval_test: false to train without it",
                            t->o->splits->paths[SK_SPLIT_TEST]
                                ? t->o->splits->paths[SK_SPLIT_TEST]
                                : "no file");
    rc = sk_plan_dims(train_size, (long)c->batch_size, t->accumulation,
                      (long)c->num_epochs, &t->dims, err);
    if (rc != SK_OK)
        return rc == SK_EINVAL ? SK_ECONFIG : rc;
    sk_schedule_init(&t->sched, sched, (long)c->edit_budget,
                     (long)c->min_edit_budget, t->dims.total_steps);

    sk_gate_opts_init(&t->gate);
    t->gate.metric = metric;
    t->gate.mixed_weight = c->gate_mixed_weight;
    t->gate.use_density = c->use_semantic_density;
    t->gate.density_weight = c->semantic_density_weight;
    if (!c->is_null[SK_OPT_leading_words]) {
        const struct sk_strlist *lw = &c->leading_words;
        t->leading_words = sk_calloc(lw->n ? lw->n : 1, sizeof(char *));
        if (!t->leading_words)
            return OOM(err);
        for (i = 0; i < lw->n; i++)
            t->leading_words[i] = lw->v[i];
        t->gate.leading_words = t->leading_words;
        t->gate.n_leading_words = lw->n;
    }
    t->use_gate = c->use_gate;

    t->train_items = first_items(t->o->splits, SK_SPLIT_TRAIN, 0);
    t->val_items =
        first_items(t->o->splits, SK_SPLIT_VAL, (long)c->sel_env_num);
    t->test_items =
        first_items(t->o->splits, SK_SPLIT_TEST, (long)c->test_env_num);
    if (!t->train_items || !t->val_items || !t->test_items)
        return OOM(err);
    return SK_OK;
}

/* Settings a resumed run may change: where and how calls are made, not
 * what is asked or of whom. */
static int may_change(const char *flat)
{
    static const char *const ok[] = {"out_root",
                                     "max_cost_usd",
                                     "max_run_tokens",
                                     "retries",
                                     "connect_timeout",
                                     "stall_timeout",
                                     "optimizer_timeout",
                                     "max_in_flight",
                                     "rpm",
                                     "tpm",
                                     "cache",
                                     "cache_path",
                                     "pricing",
                                     "sim_latency_ms",
                                     "sim_fault_rate",
                                     "sim_seed",
                                     "workers",
                                     "max_api_workers",
                                     "analyst_workers",
                                     "exec_timeout",
                                     "optimizer_base_url",
                                     "target_base_url",
                                     "optimizer_api_key",
                                     "target_api_key",
                                     "azure_endpoint",
                                     "azure_api_key",
                                     "azure_openai_endpoint",
                                     "azure_openai_api_key",
                                     "optimizer_azure_openai_endpoint",
                                     "optimizer_azure_openai_api_key",
                                     "target_azure_openai_endpoint",
                                     "target_azure_openai_api_key",
                                     "qwen_chat_base_url",
                                     "qwen_chat_api_key",
                                     "minimax_base_url",
                                     "minimax_api_key",
                                     "split_output_dir",
                                     NULL};
    size_t i;
    for (i = 0; ok[i]; i++)
        if (strcmp(flat, ok[i]) == 0)
            return 1;
    return strstr(flat, "_api_key") != NULL;
}

/*
 * A rerun on an existing run directory must be the same run: the same
 * configuration (up to may_change) and the same initial skill.  Otherwise
 * its results would mix two experiments, so it is refused before anything
 * is written.
 */
static int check_same_run(struct sk_trainer *t, const json_t *extra,
                          struct sk_error *err)
{
    struct sk_buf text, diff;
    json_error_t jerr;
    json_t *old = NULL, *now = NULL, *v;
    char *path = NULL, *s0 = NULL;
    const char *key;
    size_t n = 0;
    int rc;

    if (sk_rundir_path(&t->rd, SK_RUNDIR_CONFIG, 0, &path, err) != SK_OK)
        return SK_ENOMEM;
    rc = sk_json_read_file(path, &old, err);
    sk_free(path);
    path = NULL;
    if (rc == SK_ENOTFOUND)
        return SK_OK; /* nothing to compare with */
    if (rc != SK_OK)
        return rc;
    sk_buf_init(&text, SK_BUF_UNLIMITED);
    sk_buf_init(&diff, 4096);
    rc = sk_config_print(t->cfg, SK_CONFIG_PRINT_JSON, &text);
    if (rc == SK_OK) {
        now = sk_json_loadb(sk_buf_cstr(&text), text.len, 0, &jerr);
        if (!now || json_object_update(now, (json_t *)extra) != 0)
            rc = SK_ENOMEM;
    }
    if (rc != SK_OK) {
        rc = OOM(err);
        goto out;
    }
    json_object_foreach(now, key, v)
    {
        json_t *o = json_object_get(old, key);
        if (!o || may_change(key) || json_equal(o, v))
            continue;
        if (n++ < 6) {
            char *a = json_dumps(o, JSON_ENCODE_ANY | JSON_COMPACT);
            char *b = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
            sk_buf_printf(&diff, "%s%s %s -> %s", n > 1 ? ", " : "", key,
                          a ? a : "?", b ? b : "?");
            sk_free(a);
            sk_free(b);
        }
    }
    if (n > 0) {
        rc = sk_error_set(err, SK_ECONFIG,
                          "%s holds a run made with other settings (%s%s); "
                          "resuming it would mix two experiments: use a new "
                          "--out_root, or rerun with the original settings",
                          t->rd.root, sk_buf_cstr(&diff), n > 6 ? ", ..." : "");
        goto out;
    }
    /* the same initial skill */
    rc = sk_rundir_skill_path(&t->rd, 0, 0, &path, err);
    if (rc == SK_OK)
        rc = tr_read_text(path, &s0, err);
    if (rc == SK_ENOTFOUND) {
        rc = SK_OK;
    } else if (rc == SK_OK && strcmp(s0, t->initial) != 0) {
        rc = sk_error_set(err, SK_ECONFIG,
                          "%s was trained from another initial skill than "
                          "%s (see %s); use a new --out_root",
                          t->rd.root,
                          t->o->skill_init_path ? t->o->skill_init_path
                                                : "a blank skill",
                          path);
    }
out:
    json_decref(old);
    json_decref(now);
    sk_free(path);
    sk_free(s0);
    sk_buf_release(&text);
    sk_buf_release(&diff);
    return rc;
}

static int write_config(struct sk_trainer *t, struct sk_error *err)
{
    json_t *extra;
    int rc;

    extra = json_pack(
        "{s:I, s:I, s:I, s:I, s:s, s:s}", "train_size",
        (json_int_t)json_array_size(t->train_items), "steps_per_epoch",
        (json_int_t)t->dims.steps_per_epoch, "batches_per_epoch",
        (json_int_t)t->dims.batches_per_epoch, "samples_per_epoch",
        (json_int_t)json_array_size(t->train_items), "skill_update_mode",
        sk_skill_update_mode_name(t->mode), "lr_control_mode",
        sk_lr_control_mode_name(t->lr_mode));
    if (!extra)
        return OOM(err);
    rc = check_same_run(t, extra, err);
    if (rc == SK_OK)
        rc = sk_rundir_write_config(&t->rd, t->cfg, extra, err);
    json_decref(extra);
    return rc;
}

/* Reads a skill named in the run state, falling back to rel under out_root
 * when the stored (absolute) path is gone, e.g. after moving the run. */
static int load_state_skill(struct sk_trainer *t, const char *path,
                            const char *rel, char **out, struct sk_error *err)
{
    char *alt = NULL;
    int rc = tr_read_text(path, out, err);

    if (rc != SK_ENOTFOUND)
        return rc;
    rc = sk_rundir_path(&t->rd, rel, 0, &alt, err);
    if (rc == SK_OK)
        rc = tr_read_text(alt, out, err);
    sk_free(alt);
    return rc;
}

static void restore_resume_object(struct sk_trainer *t, const json_t *ro)
{
    struct sk_error err;
    const json_t *v;

    v = json_object_get(ro, "scheduler_step");
    if (json_is_integer(v) && json_integer_value(v) >= 0)
        t->sched.current_step = (long)json_integer_value(v);
    v = json_object_get(ro, "step_buffer");
    if (v && sk_stepbuf_from_json(v, &t->sbuf, &err) != SK_OK) {
        sk_warn("resume_state.json: step buffer not restored: %s", err.msg);
        sk_stepbuf_reset(&t->sbuf, 0);
    }
    v = json_object_get(ro, "baseline");
    if (json_is_object(v) && json_is_number(json_object_get(v, "hard")) &&
        json_is_number(json_object_get(v, "soft"))) {
        t->has_baseline = 1;
        t->baseline_hard = json_number_value(json_object_get(v, "hard"));
        t->baseline_soft = json_number_value(json_object_get(v, "soft"));
    }
    v = json_object_get(ro, "slow_applied_epoch");
    if (json_is_integer(v))
        t->slow_applied_epoch = (long)json_integer_value(v);
    v = json_object_get(ro, "final_selection");
    if (json_is_object(v) && json_is_number(json_object_get(v, "hard"))) {
        t->has_final_sel = 1;
        t->final_sel_hard = json_number_value(json_object_get(v, "hard"));
        t->final_sel_soft_null = !json_is_number(json_object_get(v, "soft"));
        t->final_sel_soft = t->final_sel_soft_null
                                ? 0.0
                                : json_number_value(json_object_get(v, "soft"));
    }
}

/*
 * Drops the lr_history.jsonl lines of steps >= from: a step interrupted
 * after its learning-rate decision reruns and writes its line again.
 */
static int trim_lr_history(struct sk_trainer *t, long from,
                           struct sk_error *err)
{
    struct sk_buf in, out;
    char *path = NULL, *line, *nl;
    int rc, dropped = 0;

    sk_buf_init(&in, SK_BUF_UNLIMITED);
    sk_buf_init(&out, SK_BUF_UNLIMITED);
    rc = sk_rundir_path(&t->rd, SK_RUNDIR_LR_HISTORY, 0, &path, err);
    if (rc == SK_OK)
        rc = sk_fs_read(path, SK_RUNDIR_MAX_JSON, &in, err);
    if (rc != SK_OK) {
        rc = rc == SK_ENOTFOUND ? SK_OK : rc;
        goto out;
    }
    for (line = in.data; line && line < in.data + in.len; line = nl) {
        json_error_t jerr;
        json_t *j;
        size_t n;
        nl = memchr(line, '\n', (size_t)(in.data + in.len - line));
        n = nl ? (size_t)(nl - line) : (size_t)(in.data + in.len - line);
        if (nl)
            nl++;
        j = sk_json_loadb(line, n, 0, &jerr);
        if (j && json_integer_value(json_object_get(j, "step")) >= from) {
            dropped = 1;
        } else if (sk_buf_append(&out, line, n) != SK_OK ||
                   sk_buf_putc(&out, '\n') != SK_OK) {
            json_decref(j);
            rc = OOM(err);
            goto out;
        }
        json_decref(j);
    }
    if (dropped)
        rc = sk_fs_write_atomic(path, out.data ? out.data : "", out.len, err);
out:
    sk_free(path);
    sk_buf_release(&in);
    sk_buf_release(&out);
    return rc;
}

/* 8.4: runtime_state.json, else a legacy history.json, else a fresh run. */
static int resume_or_start(struct sk_trainer *t, struct sk_error *err)
{
    struct sk_runtime_state st;
    json_t *ro = NULL;
    char rel[64];
    int rc;

    sk_gate_state_init(&t->gs);
    sk_runtime_state_init(&st);
    rc = sk_runtime_state_read(&t->rd, &st, err);
    if (rc == SK_OK) {
        t->last_step = st.last_completed_step;
        snprintf(rel, sizeof rel, "skills/skill_v%04ld.md", t->last_step);
        rc = load_state_skill(t, st.current_skill_path, rel, &t->current, err);
        if (rc == SK_OK)
            rc = load_state_skill(t, st.best_skill_path, SK_RUNDIR_BEST_SKILL,
                                  &t->best, err);
        if (rc == SK_ENOTFOUND && !t->best && t->current)
            rc = tr_set_text(&t->best, t->current, err);
        if (rc != SK_OK) {
            sk_runtime_state_release(&st);
            return rc;
        }
        if (st.current_skill_path) {
            t->current_path = sk_strdup(st.current_skill_path);
            if (!t->current_path) {
                sk_runtime_state_release(&st);
                return OOM(err);
            }
        }
        t->gs.current_score = st.current_score;
        t->gs.best_score = st.best_score;
        t->gs.best_step = st.best_step;
        snprintf(t->gs.current_origin, sizeof t->gs.current_origin, "%s",
                 st.current_origin ? st.current_origin : "initial_skill");
        snprintf(t->gs.best_origin, sizeof t->gs.best_origin, "%s",
                 st.best_origin ? st.best_origin : t->gs.current_origin);
        sk_runtime_state_release(&st);
        t->resume_from = t->last_step + 1;
        t->sched.current_step = t->last_step; /* the reference's reset */
        rc = sk_resume_state_read(&t->rd, t->last_step, &ro, err);
        if (rc == SK_OK)
            restore_resume_object(t, ro);
        else if (rc == SK_ENOTFOUND)
            sk_warn("%s: resume_state.json missing or stale; the scheduler "
                    "restarts at step %ld and the step buffer starts empty "
                    "(as the reference does)",
                    t->rd.root, t->last_step);
        json_decref(ro);
        if (rc != SK_OK && rc != SK_ENOTFOUND)
            return rc;
        rc = trim_lr_history(t, t->resume_from, err);
        if (rc != SK_OK)
            return rc;
        return sk_history_load(&t->rd, t->resume_from, &t->hist, NULL, err);
    }
    if (rc != SK_ENOTFOUND)
        return rc;
    rc = sk_history_load(&t->rd, 0, &t->hist, NULL, err);
    if (rc != SK_OK)
        return rc;
    if (sk_history_len(&t->hist) > 0) {
        /* legacy run without runtime_state.json */
        json_t *rows = t->hist.rows, *last, *row, *bestrow = NULL;
        size_t i;
        char *path = NULL;
        last = json_array_get(rows, json_array_size(rows) - 1);
        t->last_step = (long)json_integer_value(json_object_get(last, "step"));
        json_array_foreach(rows, i, row)
        {
            if (!bestrow ||
                json_number_value(json_object_get(row, "best_score")) >
                    json_number_value(json_object_get(bestrow, "best_score")))
                bestrow = row;
        }
        rc = sk_rundir_skill_path(&t->rd, t->last_step, 0, &path, err);
        if (rc == SK_OK)
            rc = tr_read_text(path, &t->current, err);
        sk_free(path);
        path = NULL;
        if (rc == SK_OK)
            rc = sk_rundir_path(&t->rd, SK_RUNDIR_BEST_SKILL, 0, &path, err);
        if (rc == SK_OK) {
            rc = tr_read_text(path, &t->best, err);
            if (rc == SK_ENOTFOUND)
                rc = tr_set_text(&t->best, t->current, err);
        }
        sk_free(path);
        if (rc != SK_OK)
            return rc;
        t->gs.current_score =
            json_number_value(json_object_get(last, "current_score"));
        t->gs.best_score =
            json_number_value(json_object_get(bestrow, "best_score"));
        t->gs.best_step =
            (long)json_integer_value(json_object_get(bestrow, "best_step"));
        snprintf(t->gs.current_origin, sizeof t->gs.current_origin,
                 "step_%04ld", t->last_step);
        snprintf(t->gs.best_origin, sizeof t->gs.best_origin, "step_%04ld",
                 t->gs.best_step);
        t->resume_from = t->last_step + 1;
        t->sched.current_step = t->last_step;
        return SK_OK;
    }
    /* fresh run */
    t->last_step = 0;
    t->resume_from = 1;
    if (tr_set_text(&t->current, t->initial, err) != SK_OK ||
        tr_set_text(&t->best, t->initial, err) != SK_OK)
        return SK_ENOMEM;
    return SK_OK;
}

static int baseline(struct sk_trainer *t, struct sk_error *err)
{
    struct tr_phase ph;
    char *dir = NULL, hash[17];
    double hard, soft, score;
    int rc;

    tr_phase_begin(t, &ph, "baseline", 0, 0);
    rc = sk_rundir_path(&t->rd, "selection_eval_baseline", 1, &dir, err);
    if (rc == SK_OK)
        rc = tr_evaluate(t, t->initial, t->val_items, dir, "selection", 0,
                         &hard, &soft, NULL, err);
    if (rc == SK_OK)
        rc = tr_gate_score(t, hard, soft, t->initial, &score, err);
    if (rc == SK_OK) {
        t->gs.current_score = t->gs.best_score = score;
        snprintf(t->gs.current_origin, sizeof t->gs.current_origin,
                 "initial_skill");
        snprintf(t->gs.best_origin, sizeof t->gs.best_origin, "initial_skill");
        t->has_baseline = 1;
        t->baseline_hard = hard;
        t->baseline_soft = soft;
        sk_text_hash16(t->initial, strlen(t->initial), hash);
        if (sk_sel_cache_put(&t->cache, hash, hard, soft) != SK_OK)
            rc = OOM(err);
    }
    /* runtime state for step 0; skill_v0000.md already holds S_0 */
    if (rc == SK_OK)
        rc = save_state(t, 0, 0, NULL, err);
    tr_phase_end(t, &ph, rc);
    sk_free(dir);
    if (rc == SK_OK)
        sk_info("baseline: selection hard %.4f soft %.4f, gate score %.4f",
                hard, soft, score);
    return rc;
}

/* ---- the run ---------------------------------------------------------- */

static int epochs(struct sk_trainer *t, struct sk_error *err)
{
    struct sk_epoch_plan plan;
    long e, s, g, spe = t->dims.steps_per_epoch;
    int rc = SK_OK;

    sk_epoch_plan_init(&plan);
    for (e = 1; e <= (long)t->cfg->num_epochs && rc == SK_OK; e++) {
        long g_last = e * spe;
        if (g_last < t->resume_from - 1)
            continue; /* finished with its epoch-end work */
        rc = sk_plan_epoch(json_array_size(t->train_items),
                           (long)t->cfg->batch_size, t->dims.batches_per_epoch,
                           (int64_t)t->cfg->seed, e, &plan, err);
        if (rc == SK_OK && t->sbuf.epoch != e)
            sk_stepbuf_reset(&t->sbuf, e);
        if (rc == SK_OK)
            rc = tr_load_meta_block(t, e, err);
        for (s = 0; s < spe && rc == SK_OK; s++) {
            g = (e - 1) * spe + s + 1;
            if (g < t->resume_from)
                continue;
            if (tr_should_stop(t))
                goto out;
            rc = tr_step(t, &plan, g, e, s, err);
            if (rc == SK_OK)
                t->last_step = g;
        }
        if (rc == SK_OK && !tr_should_stop(t))
            rc = tr_epoch_end(t, e, g_last, err);
    }
out:
    sk_epoch_plan_release(&plan);
    return rc;
}

/*
 * out_root/skillopt.pid holds the pid of the process training in it, so
 * that the dashboard can tell a running run from one that died without a
 * run_end event.  Removed at the end; a stale file names a dead pid.
 */
static void write_pid(struct sk_trainer *t, int on)
{
    struct sk_error err;
    char *p = sk_fs_join(t->rd.root, SK_RUNDIR_PID);
    char buf[32];
    if (!p)
        return;
    if (on) {
        int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
        if (sk_fs_write_atomic_nosync(p, buf, (size_t)n, &err) != SK_OK)
            sk_warn("%s", err.msg);
    } else {
        unlink(p);
    }
    sk_free(p);
}

static void trainer_release(struct sk_trainer *t)
{
    sk_events_close(t->ev);
    sk_rundir_release(&t->rd);
    sk_free(t->leading_words);
    json_decref(t->train_items);
    json_decref(t->val_items);
    json_decref(t->test_items);
    sk_free(t->initial);
    sk_free(t->current);
    sk_free(t->best);
    sk_sel_cache_release(&t->cache);
    sk_history_release(&t->hist);
    sk_stepbuf_release(&t->sbuf);
    sk_free(t->meta_block);
    sk_free(t->current_path);
    sk_free(t->pf_dir);
    sk_bench_close(t->bench);
}

static const char *end_status(int rc, int stopped)
{
    if (stopped)
        return "interrupted";
    if (rc == SK_OK)
        return "ok";
    return rc == SK_LLM_EBUDGET ? "budget" : "failed";
}

int sk_train_run(const struct sk_train_opts *o, struct sk_train_result *res,
                 struct sk_error *err)
{
    struct sk_trainer t;
    struct sk_train_result dummy;
    struct tr_end_scores es;
    char *path = NULL, *evpath = NULL, hash[17];
    double t_loop;
    int rc;

    if (!res)
        res = &dummy;
    memset(res, 0, sizeof *res);
    res->baseline_score = -1.0;
    memset(&t, 0, sizeof t);
    memset(&es, 0, sizeof es);
    t.o = o;
    t.cfg = o->cfg;
    t.client = o->client;
    sk_rundir_init(&t.rd);
    sk_sel_cache_init(&t.cache);
    sk_history_init(&t.hist);
    sk_stepbuf_init(&t.sbuf);
    t.prompts_dir = *o->cfg->prompts_dir ? o->cfg->prompts_dir : NULL;
    t.rollout_tokens = o->cfg->is_null[SK_OPT_max_completion_tokens]
                           ? 0
                           : (long)o->cfg->max_completion_tokens;

    rc = sk_bench_open(o->cfg, &t.bench, err);
    if (rc != SK_OK)
        goto out;
    rc = check_settings(&t, err);
    if (rc == SK_OK)
        rc = sk_bench_preflight(t.bench, o->cfg, err);
    if (rc == SK_OK && o->skill_init_path)
        rc = sk_skill_load(o->skill_init_path, &t.initial, &(size_t){0}, err);
    else if (rc == SK_OK)
        rc = tr_set_text(&t.initial, "", err); /* a blank start */
    if (rc == SK_OK)
        rc = sk_rundir_open(&t.rd, o->out_root, err);
    if (rc == SK_OK) {
        size_t n = sk_rundir_clean_tmp(&t.rd);
        if (n)
            sk_info("%s: removed %zu temporary files of an interrupted "
                    "write",
                    t.rd.root, n);
    }
    if (rc == SK_OK)
        rc = write_config(&t, err);
    if (rc == SK_OK)
        rc = resume_or_start(&t, err);
    if (rc != SK_OK)
        goto out;
    res->total_steps = t.dims.total_steps;
    res->resumed_from = t.resume_from;

    /* skills/skill_v0000.md is always S_0 as read */
    rc = sk_rundir_skill_path(&t.rd, 0, 1, &path, err);
    if (rc == SK_OK)
        rc = sk_skill_save(path, t.initial, strlen(t.initial), err);
    if (rc == SK_OK && t.cfg->use_skill_aware_reflection) {
        char *with = NULL;
        size_t wl;
        rc = sk_skill_inject_appendix(t.current, strlen(t.current), &with, &wl);
        if (rc == SK_OK) {
            sk_free(t.current);
            t.current = with;
        } else {
            rc = OOM(err);
        }
    }
    if (rc == SK_OK && t.hist.rows)
        rc = sk_sel_cache_rebuild(&t.cache, t.hist.rows, err);
    if (rc == SK_OK && t.has_baseline) {
        sk_text_hash16(t.initial, strlen(t.initial), hash);
        if (sk_sel_cache_put(&t.cache, hash, t.baseline_hard,
                             t.baseline_soft) != SK_OK)
            rc = OOM(err);
    }
    if (rc != SK_OK)
        goto out;
    evpath = sk_fs_join(t.rd.root, SK_RUNDIR_EVENTS);
    if (!evpath) {
        rc = OOM(err);
        goto out;
    }
    rc = sk_events_open(evpath, &t.ev, err);
    if (rc != SK_OK)
        goto out;
    write_pid(&t, 1);
    sk_events_set_clock(t.ev, wall_clock, NULL);
    sk_llm_client_set_progress(t.client, on_complete, &t);
    sk_llm_client_set_unusable_hook(t.client, on_unusable, &t);
    tr_emit(&t, SK_EVENT_RUN_START,
            json_pack("{s:s, s:I, s:I, s:I, s:I, s:s, s:s, s:s}", "out_root",
                      t.rd.root, "resume_from", (json_int_t)t.resume_from,
                      "total_steps", (json_int_t)t.dims.total_steps,
                      "num_epochs", (json_int_t)t.cfg->num_epochs,
                      "steps_per_epoch", (json_int_t)t.dims.steps_per_epoch,
                      "benchmark", t.cfg->env, "target_model",
                      t.cfg->target_model, "optimizer_model",
                      t.cfg->optimizer_model));

    if (t.gs.current_score < 0) {
        rc = baseline(&t, err);
        if (rc != SK_OK)
            goto out;
    }
    if (t.has_baseline)
        tr_gate_score(&t, t.baseline_hard, t.baseline_soft, t.initial,
                      &res->baseline_score, err);

    t_loop = tr_now();
    rc = epochs(&t, err);
    if (rc != SK_OK || t.stopped)
        goto out;

    /* 1.6: best_skill.md and the state, then the test evaluations */
    rc = save_state(&t, t.last_step, 0, NULL, err);
    if (rc == SK_OK && t.cfg->eval_test && !tr_should_stop(&t))
        rc = tr_final_evaluations(&t, &es, res, err);
    if (rc == SK_OK && !tr_should_stop(&t))
        rc = tr_write_summary(&t, &es, tr_now() - t_loop, res, err);

out:
    if (o->client) {
        sk_llm_client_set_progress(o->client, NULL, NULL);
        sk_llm_client_set_unusable_hook(o->client, NULL, NULL);
    }
    res->steps_done = (long)sk_history_len(&t.hist);
    res->best_score = t.gs.best_score;
    res->best_step = t.gs.best_step;
    res->interrupted = t.stopped;
    if (t.ev) {
        tr_emit_spend(&t);
        tr_emit(&t, SK_EVENT_RUN_END,
                json_pack("{s:s, s:f, s:I, s:s}", "status",
                          end_status(rc, t.stopped), "best_score",
                          t.gs.best_score, "best_step",
                          (json_int_t)t.gs.best_step, "message",
                          rc == SK_OK ? "" : err->msg));
    }
    if (t.ev)
        write_pid(&t, 0);
    tr_end_scores_release(&es);
    sk_free(path);
    sk_free(evpath);
    trainer_release(&t);
    return rc;
}
