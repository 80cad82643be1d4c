/*
 * trainer_int.h - state shared by the trainer's files: trainer.c (start-up,
 * resume, the epoch loop, the end of run), step.c (one step, 1.4) and
 * epochend.c (slow update and meta skill, 7.1-7.3).  Not a public API.
 *
 * Ownership: struct sk_trainer owns every string, JSON value and module
 * state it holds (released by trainer.c); the configuration, splits and
 * client are borrowed from the caller's options.
 */
#ifndef SK_TRAINER_INT_H
#define SK_TRAINER_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common.h"
#include "train/gate.h"
#include "train/plan.h"
#include "train/rundir.h"
#include "train/schedule.h"
#include "train/stepbuf.h"
#include "train/trainer.h"

struct sk_bench;
struct sk_events;

struct sk_trainer {
    const struct sk_train_opts *o;
    const struct sk_config *cfg;
    const struct sk_bench *bench;
    struct sk_llm_client *client;
    struct sk_rundir rd;
    struct sk_events *ev;
    const char *prompts_dir; /* NULL when not configured */
    long rollout_tokens;     /* target completion cap, 0: role default */
    int64_t batch_seed;      /* seed of the train batch being rolled out */

    /* derived at start-up (1.1) */
    struct sk_plan_dims dims;
    long accumulation;
    enum sk_skill_update_mode mode;
    enum sk_lr_control_mode lr_mode;
    enum sk_pair_policy pair_policy;
    struct sk_schedule sched;
    struct sk_gate_opts gate;
    int use_gate;
    const char **leading_words; /* borrowed strings, owned array */
    json_t *train_items;        /* borrowed items, owned array */
    json_t *val_items;          /* selection set (first sel_env_num) */
    json_t *test_items;         /* test set (first test_env_num) */

    /* the run's state (8.3) */
    char *initial; /* S_0 */
    char *current;
    char *best;
    char *current_path; /* where the current skill was last saved when
                           not skills/skill_v<last>.md, else NULL */
    struct sk_gate_state gs;
    struct sk_sel_cache cache;
    struct sk_history hist;
    struct sk_stepbuf sbuf;
    char *meta_block; /* rendered meta skill active this epoch, or NULL */
    long resume_from; /* first step to run */
    long last_step;   /* last completed global step */
    long slow_applied_epoch; /* last epoch whose end updates are applied */
    int has_baseline;
    double baseline_hard, baseline_soft;
    int has_final_sel; /* final selection evaluation already done */
    double final_sel_hard, final_sel_soft;
    int final_sel_soft_null;

    /* failure tracking fed by the client's completion hook */
    volatile int budget_hit;
    volatile long opt_calls, opt_failures; /* since the last reset */
    char first_failure[512];
    char budget_msg[512]; /* the ledger's reason for the first refusal */
    char *pf_dir;         /* where unusable replies go now, or NULL */
    long n_unusable;      /* unusable replies reported since pf_dir was set */
    const char *progress_split; /* "train", "selection", ... or NULL */
    long progress_step;
    int stopped; /* interrupted through o->stop */
};

/* Phase bookkeeping: emits phase_start / phase_end and times the phase. */
struct tr_phase {
    const char *name;
    long step;
    long epoch;
    double t0;
};

/* ---- trainer.c ---------------------------------------------------- */

double tr_now(void);
/* Python round(x, nd) for nd <= 6 (correctly rounded, half-even). */
double tr_round(double x, int nd);
/* Python len() of a UTF-8 string (code points). */
size_t tr_chars(const char *s);
/* Emits an event (fields stolen; NULL: none) to events.jsonl and the
 * caller's hook.  Failures to log are warnings, never fatal. */
void tr_emit(struct sk_trainer *t, const char *type, json_t *fields);
/* Emits a "spend" event with the run's totals so far. */
void tr_emit_spend(struct sk_trainer *t);
void tr_phase_begin(struct sk_trainer *t, struct tr_phase *p, const char *name,
                    long step, long epoch);
/* Ends the phase; returns its seconds. */
double tr_phase_end(struct sk_trainer *t, struct tr_phase *p, int status);
/* 1 when the caller asked to stop (sets t->stopped). */
int tr_should_stop(struct sk_trainer *t);
/* Resets the optimizer failure counters of the completion hook. */
void tr_opt_reset(struct sk_trainer *t);
/*
 * After an optimizer phase: SK_LLM_EBUDGET when a request was refused by
 * the budget, SK_LLM_EPROVIDER when calls were made and every one failed,
 * else SK_OK.  err names the phase and the first failure.
 */
int tr_opt_check(struct sk_trainer *t, const char *phase, struct sk_error *err);

/*
 * Rolls skill out on items into dir (an evaluation: selection, test or
 * comparison), labelled split for progress.  *results (may be NULL) gets
 * the rows.  Any provider error fails the evaluation (a partial score is
 * never used): the status is returned, the completed rows stay cached in
 * dir for the rerun.
 */
int tr_evaluate(struct sk_trainer *t, const char *skill, const json_t *items,
                const char *dir, const char *split, long step, double *hard,
                double *soft, json_t **results, struct sk_error *err);
/* One evaluation of tr_evaluate_many. */
struct tr_eval_job {
    const char *skill;
    const json_t *items;
    const char *dir;
    const char *split;
    long step;
    double hard, soft; /* out */
    json_t *rows;      /* out: the result rows (json_decref) */
    int rc;            /* out */
    struct sk_error err;
};

/*
 * Runs independent evaluations at the same time (their rollouts overlap,
 * so n of them cost one round of model latency, not n).  Returns SK_OK
 * or the first failed job's status with its message in err; every job's
 * outputs are set either way.
 */
int tr_evaluate_many(struct sk_trainer *t, struct tr_eval_job *jobs, size_t n,
                     struct sk_error *err);
/* Gate score of (hard, soft) for text (6.1). */
int tr_gate_score(struct sk_trainer *t, double hard, double soft,
                  const char *text, double *out, struct sk_error *err);
/* Saves skills/skill_v<step>.md (current), best_skill.md,
 * runtime_state.json and resume_state.json. */
int tr_save_state(struct sk_trainer *t, long step, struct sk_error *err);
/* The same, saving the current skill as skill_rel (epoch-end updates). */
int tr_save_state_as(struct sk_trainer *t, long step, const char *skill_rel,
                     struct sk_error *err);
/* Reads a whole text file into a new string. */
int tr_read_text(const char *path, char **out, struct sk_error *err);
/* Replaces *slot with a copy of text. */
int tr_set_text(char **slot, const char *text, struct sk_error *err);
/* The token usage per stage as {stage: {calls, prompt_tokens,
 * completion_tokens, ...}} (new reference) or NULL. */
json_t *tr_token_snapshot(struct sk_trainer *t);

/* Sends unusable replies reported from now on to <out_root>/rel (NULL:
 * stop keeping them) and resets their count. */
int tr_keep_unusable(struct sk_trainer *t, const char *rel,
                     struct sk_error *err);

/* save_state without writing the skill file (runtime and resume state,
 * best_skill.md). */
int tr_save_state_keep(struct sk_trainer *t, long step, struct sk_error *err);

/* ---- finish.c ----------------------------------------------------- */

/* What the end of run measured (JSON values, NULL when not measured). */
struct tr_end_scores {
    json_t *final_sel_hard, *final_sel_soft;
    json_t *base_test_hard, *base_test_soft, *test_hard, *test_soft;
    json_t *final_test_hard, *final_test_soft;
};

/* 1.6 (a)-(d): final selection and promotion, then the test evaluations. */
int tr_final_evaluations(struct sk_trainer *t, struct tr_end_scores *s,
                         struct sk_train_result *res, struct sk_error *err);
/* summary.json (8.3); fills res's counts. */
int tr_write_summary(struct sk_trainer *t, struct tr_end_scores *s, double wall,
                     struct sk_train_result *res, struct sk_error *err);
void tr_end_scores_release(struct tr_end_scores *s);

/* ---- step.c ------------------------------------------------------- */

/* Runs global step g (epoch, step_in_epoch) of the plan. */
int tr_step(struct sk_trainer *t, const struct sk_epoch_plan *plan, long g,
            long epoch, long step_in_epoch, struct sk_error *err);

/* ---- epochend.c --------------------------------------------------- */

/* Slow update and meta skill at the end of epoch (after step g_last). */
int tr_epoch_end(struct sk_trainer *t, long epoch, long g_last,
                 struct sk_error *err);
/* Loads the rendered meta-skill block active during epoch (written at the
 * end of epoch-1) into t->meta_block (NULL when none). */
int tr_load_meta_block(struct sk_trainer *t, long epoch, struct sk_error *err);

#endif /* SK_TRAINER_INT_H */
