/*
 * finish.c - the end of a training run (algorithm.md 1.6, 6.2, 8.3): the
 * final skill's selection evaluation and promotion, the test evaluations
 * of the initial, best and final skills, and summary.json.
 *
 * Ownership: works on the trainer's state (trainer_int.h); the scores it
 * gathers are in struct tr_end_scores (tr_end_scores_release).
 */
#include "common.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "config/config.h"
#include "llm/client.h"
#include "llm/usage.h"
#include "train/events.h"
#include "train/trainer_int.h"
#include "train/rollout.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/sha256.h"

#define OOM(err) sk_error_set((err), SK_ENOMEM, "out of memory")

/* Writes <rel>/summary.json for rows and returns its buckets. */
static int test_summary(struct sk_trainer *t, const char *rel,
                        const json_t *rows, json_t **buckets,
                        struct sk_error *err)
{
    char *dir = NULL, *path = NULL;
    int rc;

    *buckets = sk_rollout_by_type(rows);
    if (!*buckets)
        return OOM(err);
    rc = sk_rundir_path(&t->rd, rel, 1, &dir, err);
    if (rc == SK_OK) {
        path = sk_fs_join(dir, "summary.json");
        rc = path ? sk_json_write_file(path, *buckets, err) : OOM(err);
    }
    sk_free(dir);
    sk_free(path);
    return rc;
}

int tr_final_evaluations(struct sk_trainer *t, struct tr_end_scores *s,
                         struct sk_train_result *res, struct sk_error *err)
{
    struct tr_phase ph;
    char hc[17], hb[17], *dir = NULL;
    double h, so, g, bh, bs, th, ts, fh, fs;
    json_t *bb = NULL, *tb = NULL, *fb = NULL;
    int rc = SK_OK;

    sk_text_hash16(t->current, strlen(t->current), hc);
    sk_text_hash16(t->best, strlen(t->best), hb);
    /* (a) the final skill on the selection set, promoted if better */
    if (!t->has_final_sel) {
        if (strcmp(hc, hb) == 0) {
            t->final_sel_hard = t->gs.best_score;
            t->final_sel_soft_null = 1;
        } else {
            tr_phase_begin(t, &ph, "final_selection", t->last_step, 0);
            rc = sk_rundir_path(&t->rd, "final_selection_eval", 1, &dir, err);
            if (rc == SK_OK)
                rc = tr_evaluate(t, t->current, t->val_items, dir, "selection",
                                 t->last_step, &h, &so, NULL, err);
            if (rc == SK_OK)
                rc = tr_gate_score(t, h, so, t->current, &g, err);
            tr_phase_end(t, &ph, rc);
            sk_free(dir);
            if (rc != SK_OK)
                return rc;
            t->final_sel_hard = h;
            t->final_sel_soft = so;
            t->final_sel_soft_null = 0;
            if (g > t->gs.best_score) {
                sk_info("final skill promoted to best (%.4f > %.4f)", g,
                        t->gs.best_score);
                if (tr_set_text(&t->best, t->current, err) != SK_OK)
                    return SK_ENOMEM;
                t->gs.best_score = g;
                t->gs.best_step = t->last_step;
                memcpy(t->gs.best_origin, t->gs.current_origin,
                       sizeof t->gs.best_origin);
            }
        }
        t->has_final_sel = 1;
        rc = tr_save_state_keep(t, t->last_step, err);
        if (rc != SK_OK)
            return rc;
    }
    s->final_sel_hard = json_real(t->final_sel_hard);
    s->final_sel_soft =
        t->final_sel_soft_null ? json_null() : json_real(t->final_sel_soft);

    tr_phase_begin(t, &ph, "test_eval", t->last_step, 0);
    /* (b) S_0, (c) best and (d) final (unless it is the best text) at once */
    {
        static const char *const rels[3] = {"test_eval_baseline", "test_eval",
                                            "test_eval_final"};
        struct tr_eval_job jobs[3];
        char *dirs[3] = {NULL, NULL, NULL};
        json_t **outs[3];
        size_t k, nj;
        sk_text_hash16(t->best, strlen(t->best), hb);
        nj = strcmp(hc, hb) == 0 ? 2 : 3;
        outs[0] = &bb;
        outs[1] = &tb;
        outs[2] = &fb;
        memset(jobs, 0, sizeof jobs);
        jobs[0].skill = t->initial;
        jobs[1].skill = t->best;
        jobs[2].skill = t->current;
        for (k = 0; k < nj && rc == SK_OK; k++) {
            rc = sk_rundir_path(&t->rd, rels[k], 1, &dirs[k], err);
            jobs[k].items = t->test_items;
            jobs[k].dir = dirs[k];
            jobs[k].split = "test";
            jobs[k].step = t->last_step;
        }
        if (rc == SK_OK)
            rc = tr_evaluate_many(t, jobs, nj, err);
        for (k = 0; k < nj && rc == SK_OK; k++)
            rc = test_summary(t, rels[k], jobs[k].rows, outs[k], err);
        if (rc == SK_OK && nj == 2) /* the final skill is the best one */
            rc = test_summary(t, rels[2], jobs[1].rows, &fb, err);
        bh = jobs[0].hard;
        bs = jobs[0].soft;
        th = jobs[1].hard;
        ts = jobs[1].soft;
        fh = nj == 3 ? jobs[2].hard : th;
        fs = nj == 3 ? jobs[2].soft : ts;
        for (k = 0; k < 3; k++) {
            json_decref(jobs[k].rows);
            sk_free(dirs[k]);
        }
    }
    tr_phase_end(t, &ph, rc);
    json_decref(bb);
    json_decref(tb);
    json_decref(fb);
    if (rc != SK_OK || tr_should_stop(t))
        return rc;
    s->base_test_hard = json_real(bh);
    s->base_test_soft = json_real(bs);
    s->test_hard = json_real(th);
    s->test_soft = json_real(ts);
    s->final_test_hard = json_real(fh);
    s->final_test_soft = json_real(fs);
    res->has_test = 1;
    res->baseline_test_hard = bh;
    res->test_hard = th;
    res->final_test_hard = fh;
    sk_info("test: baseline %.4f, best %.4f, final %.4f", bh, th, fh);
    return SK_OK;
}

static json_t *or_null(json_t *v)
{
    return v ? json_incref(v) : json_null();
}

static int is_accept(const char *a)
{
    return a && strstr(a, "accept") != NULL;
}

static json_t *epoch_stats(struct sk_trainer *t)
{
    json_t *out = json_array(), *row;
    long e;
    size_t i;

    for (e = 1; out && e <= (long)t->cfg->num_epochs; e++) {
        json_t *steps = json_array(), *last = NULL, *es;
        long acc = 0, rej = 0, skip = 0;
        if (!steps)
            goto fail;
        json_array_foreach(t->hist.rows, i, row)
        {
            const char *a = json_string_value(json_object_get(row, "action"));
            if (json_integer_value(json_object_get(row, "epoch")) != e)
                continue;
            if (json_array_append(steps, json_object_get(row, "step")) != 0) {
                json_decref(steps);
                goto fail;
            }
            acc += is_accept(a);
            rej += a && strcmp(a, "reject") == 0;
            skip += a && strcmp(a, "skip_no_patches") == 0;
            last = row;
        }
        if (!last) {
            json_decref(steps);
            continue;
        }
        es = json_pack("{s:I, s:o, s:I, s:I, s:I, s:O, s:O}", "epoch",
                       (json_int_t)e, "steps", steps, "accepts",
                       (json_int_t)acc, "rejects", (json_int_t)rej, "skips",
                       (json_int_t)skip, "best_score_at_epoch_end",
                       json_object_get(last, "best_score"),
                       "current_score_at_epoch_end",
                       json_object_get(last, "current_score"));
        if (!es || json_array_append_new(out, es) != 0)
            goto fail;
    }
    return out;
fail:
    json_decref(out);
    return NULL;
}

int tr_write_summary(struct sk_trainer *t, struct tr_end_scores *s, double wall,
                     struct sk_train_result *res, struct sk_error *err)
{
    json_t *sum = NULL, *cfg = NULL, *tok = NULL, *es = NULL, *row;
    char *path = NULL, hash[17];
    double bh, bs;
    long acc = 0, rej = 0, skip = 0;
    size_t i;
    int rc;

    json_array_foreach(t->hist.rows, i, row)
    {
        const char *a = json_string_value(json_object_get(row, "action"));
        acc += is_accept(a);
        rej += a && strcmp(a, "reject") == 0;
        skip += a && strcmp(a, "skip_no_patches") == 0;
    }
    res->accepts = acc;
    res->rejects = rej;
    res->skips = skip;
    rc = sk_rundir_path(&t->rd, SK_RUNDIR_CONFIG, 0, &path, err);
    if (rc == SK_OK)
        rc = sk_json_read_file(path, &cfg, err);
    sk_free(path);
    path = NULL;
    if (rc != SK_OK)
        return rc;
    tok = tr_token_snapshot(t);
    es = epoch_stats(t);
    sk_text_hash16(t->initial, strlen(t->initial), hash);
    sum = json_object();
    if (!tok || !es || !sum) {
        rc = OOM(err);
        goto out;
    }
#define PUT(k, v)                                                              \
    do {                                                                       \
        if (json_object_set_new(sum, (k), (v)) != 0) {                         \
            rc = OOM(err);                                                     \
            goto out;                                                          \
        }                                                                      \
    } while (0)
    PUT("version", json_string("skillopt-0.1.0"));
    PUT("config", json_incref(cfg));
    PUT("baseline_selection_hard", sk_sel_cache_get(&t->cache, hash, &bh, &bs)
                                       ? json_real(bh)
                                       : json_null());
    PUT("best_selection_hard", json_real(t->gs.best_score));
    PUT("final_selection_hard", or_null(s->final_sel_hard));
    PUT("final_selection_soft", or_null(s->final_sel_soft));
    PUT("best_step", json_integer(t->gs.best_step));
    PUT("current_origin", json_string(t->gs.current_origin));
    PUT("best_origin", json_string(t->gs.best_origin));
    PUT("total_steps", json_integer((json_int_t)sk_history_len(&t->hist)));
    PUT("total_accepts", json_integer(acc));
    PUT("total_rejects", json_integer(rej));
    PUT("total_skips", json_integer(skip));
    PUT("epoch_stats", json_incref(es));
    PUT("baseline_test_hard", or_null(s->base_test_hard));
    PUT("baseline_test_soft", or_null(s->base_test_soft));
    PUT("test_hard", or_null(s->test_hard));
    PUT("test_soft", or_null(s->test_soft));
    PUT("final_test_hard", or_null(s->final_test_hard));
    PUT("final_test_soft", or_null(s->final_test_soft));
    PUT("test_delta_hard", s->test_hard
                               ? json_real(json_real_value(s->test_hard) -
                                           json_real_value(s->base_test_hard))
                               : json_null());
    PUT("final_test_delta_hard",
        s->final_test_hard ? json_real(json_real_value(s->final_test_hard) -
                                       json_real_value(s->base_test_hard))
                           : json_null());
    PUT("total_wall_time_s", json_real(tr_round(wall, 1)));
    PUT("token_summary", json_incref(tok));
#undef PUT
    rc = sk_rundir_write_json(&t->rd, SK_RUNDIR_SUMMARY, sum, err);
out:
    json_decref(sum);
    json_decref(cfg);
    json_decref(tok);
    json_decref(es);
    return rc;
}

void tr_end_scores_release(struct tr_end_scores *s)
{
    json_decref(s->final_sel_hard);
    json_decref(s->final_sel_soft);
    json_decref(s->base_test_hard);
    json_decref(s->base_test_soft);
    json_decref(s->test_hard);
    json_decref(s->test_soft);
    json_decref(s->final_test_hard);
    json_decref(s->final_test_soft);
}
