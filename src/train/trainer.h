/*
 * trainer.h - the training loop (algorithm.md 1): start-up and resume, the
 * epochs of steps (rollout, reflect, aggregate, select, update, evaluate
 * and gate), the epoch-end slow update and meta skill, and the end of run
 * (final promotion, test evaluations, summary.json).
 *
 * Everything the run produces is in out_root in the reference's layout
 * (rundir.h), plus events.jsonl.  The same call on the same out_root
 * resumes where the last run stopped; completed model requests are not
 * sent again (the client's response cache) and completed rollouts are not
 * rerun (results.jsonl).
 *
 * Ownership: the options and everything they point to are borrowed for the
 * duration of sk_train_run; the result holds only values.
 */
#ifndef SK_TRAINER_H
#define SK_TRAINER_H

#include <signal.h>
#include <stddef.h>

#include "common.h"

struct json_t;
struct sk_config;
struct sk_splits;
struct sk_llm_client;

/*
 * Receives every event written to events.jsonl (events.h), with the same
 * fields (borrowed, only valid during the call).  May be called from
 * several threads at once (concurrent evaluations).
 */
typedef void (*sk_train_event_fn)(void *ud, const char *type,
                                  const struct json_t *fields);

struct sk_train_opts {
    const struct sk_config *cfg; /* loaded and checked */
    const struct sk_splits *splits;
    const char *skill_init_path; /* S_0 (must exist) */
    const char *out_root;        /* created when missing */
    struct sk_llm_client *client;
    sk_train_event_fn on_event; /* may be NULL */
    void *event_ud;
    /* Set (e.g. by a SIGINT handler) to stop at the next safe point;
     * may be NULL. */
    const volatile sig_atomic_t *stop;
};

/* How the run ended, beyond the return code. */
struct sk_train_result {
    long steps_done;       /* history rows */
    long total_steps;      /* planned */
    long resumed_from;     /* first step run by this call (1 on a fresh run) */
    double baseline_score; /* gate score of S_0, -1 when unknown */
    double best_score;
    long best_step;
    long accepts, rejects, skips;
    int has_test; /* test evaluations ran (eval_test) */
    double baseline_test_hard, test_hard, final_test_hard;
    int interrupted; /* stopped by *stop */
};

/*
 * Runs (or resumes) the training described by o->cfg.  Returns SK_OK when
 * the run finished (summary.json written), or: an enum sk_llm_err when the
 * target failed on a whole rollout, an evaluation could not be completed
 * or every optimizer call of a phase failed (SK_LLM_EBUDGET when the
 * run's cost or token cap stopped it; everything finished before is
 * saved and a rerun with a higher cap resumes); SK_ECONFIG / SK_EDATA for
 * unusable settings, data or skill files (reported before any model call
 * when possible); SK_EIO, SK_ENOMEM.  An interruption through o->stop
 * returns SK_OK with res->interrupted set.  err says what happened; res
 * (may be NULL) is filled in every case.
 */
int sk_train_run(const struct sk_train_opts *o, struct sk_train_result *res,
                 struct sk_error *err);

#endif /* SK_TRAINER_H */
