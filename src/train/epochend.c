/*
 * epochend.c - the epoch-end updates (algorithm.md 7.1-7.3): the slow
 * update, which rewrites the skill's protected guidance block from a
 * comparison of the previous epoch's skill with the current one, and the
 * meta skill, the optimizer's own memory used from two epochs later.
 *
 * Each update leaves a marker file (slow_result.json,
 * meta_skill_result.json); an update whose marker exists is not redone.
 * The slow update also leaves applied_state.json (ours) with the scores
 * and origins after it, so a run killed between the marker and the state
 * files resumes to exactly the state an uninterrupted run has.
 *
 * Deliberate differences (docs/compatibility.md): the post-update skill is
 * saved as skills/epoch_EE_end.md and named in runtime_state.json, so
 * skills/skill_v<last step>.md keeps the skill its history row describes
 * (11.8); a force-injected slow update puts no fake pair in the selection
 * cache (11.7); a resumed meta skill gets the slow update's pairs with
 * their trajectories (11.21).
 */
#include "common.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "config/config.h"
#include "llm/client.h"
#include "skill/skill.h"
#include "train/bench.h"
#include "train/rollout.h"
#include "train/slow.h"
#include "train/topup.h"
#include "train/trainer_int.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/sha256.h"

#define OOM(err) sk_error_set((err), SK_ENOMEM, "out of memory")

/* The comparison of two skills on sampled train items (7.1, 7.2). */
struct comparison {
    json_t *pairs;               /* filtered by the policy */
    char *prev_pred, *curr_pred; /* predictions/ dirs of the two sides */
    double prev_hard, curr_hard;
};

static void comparison_release(struct comparison *c)
{
    json_decref(c->pairs);
    sk_free(c->prev_pred);
    sk_free(c->curr_pred);
    memset(c, 0, sizeof *c);
}

static char *epoch_dir(struct sk_trainer *t, enum sk_rundir_epoch_kind k,
                       long e, struct sk_error *err)
{
    char *d = NULL;
    if (sk_rundir_epoch_dir(&t->rd, k, e, 1, &d, err) != SK_OK)
        return NULL;
    return d;
}

static int read_json_in(const char *dir, const char *name, json_t **out,
                        struct sk_error *err)
{
    char *p = sk_fs_join(dir, name);
    int rc = p ? sk_json_read_file(p, out, err) : OOM(err);
    sk_free(p);
    return rc;
}

static int write_json_in(const char *dir, const char *name, const json_t *v,
                         struct sk_error *err)
{
    char *p = sk_fs_join(dir, name);
    int rc = p ? sk_json_write_file(p, v, err) : OOM(err);
    sk_free(p);
    return rc;
}

/* The skill the previous epoch ended with. */
static int prev_epoch_skill(struct sk_trainer *t, long e, char **out,
                            struct sk_error *err)
{
    char rel[64], *p = NULL;
    int rc;

    snprintf(rel, sizeof rel, "skills/epoch_%02ld_end.md", e - 1);
    rc = sk_rundir_path(&t->rd, rel, 0, &p, err);
    if (rc == SK_OK)
        rc = tr_read_text(p, out, err);
    sk_free(p);
    p = NULL;
    if (rc != SK_ENOTFOUND)
        return rc;
    rc = sk_rundir_skill_path(&t->rd, (e - 1) * t->dims.steps_per_epoch, 0, &p,
                              err);
    if (rc == SK_OK)
        rc = tr_read_text(p, out, err);
    sk_free(p);
    return rc;
}

/*
 * Samples slow_update_samples train items, rolls both skills out on them
 * under dir/rollout_{prev,curr}/, builds and saves the pairs
 * (comparison_pairs.json, and comparison_pairs_all.json when the policy
 * filtered some).
 */
static int compare(struct sk_trainer *t, long e, const char *dir,
                   const char *prev, const char *curr, struct comparison *c,
                   struct sk_error *err)
{
    json_t *sample = NULL, *prow = NULL, *crow = NULL, *all = NULL, *ids = NULL;
    char *pdir = NULL, *cdir = NULL;
    int64_t seed = (int64_t)t->cfg->seed + 2000 * (int64_t)e;
    size_t n = (size_t)t->cfg->slow_update_samples, i;
    int rc;

    memset(c, 0, sizeof *c);
    if (sk_slow_sample_items(t->train_items, n, (int64_t)t->cfg->seed, e,
                             &sample) != SK_OK)
        return OOM(err);
    pdir = sk_fs_join(dir, "rollout_prev");
    cdir = sk_fs_join(dir, "rollout_curr");
    if (!pdir || !cdir) {
        rc = OOM(err);
        goto out;
    }
    {
        /* both skills at once: one round of model latency, not two */
        struct tr_eval_job jobs[2];
        memset(jobs, 0, sizeof jobs);
        jobs[0].skill = prev;
        jobs[0].dir = pdir;
        jobs[1].skill = curr;
        jobs[1].dir = cdir;
        for (i = 0; i < 2; i++) {
            jobs[i].items = sample;
            jobs[i].split = "slow_update";
            jobs[i].step = t->last_step;
        }
        rc = tr_evaluate_many(t, jobs, 2, err);
        c->prev_hard = jobs[0].hard;
        c->curr_hard = jobs[1].hard;
        prow = jobs[0].rows;
        crow = jobs[1].rows;
    }
    if (rc == SK_OK)
        rc = sk_pairs_build(prow, crow, sample, SK_PAIR_MIXED, &all, NULL, err);
    if (rc == SK_OK)
        rc = sk_pairs_build(prow, crow, sample, t->pair_policy, &c->pairs, NULL,
                            err);
    if (rc != SK_OK)
        goto out;
    c->prev_pred = sk_fs_join(pdir, SK_ROLLOUT_PREDICTIONS);
    c->curr_pred = sk_fs_join(cdir, SK_ROLLOUT_PREDICTIONS);
    if (!c->prev_pred || !c->curr_pred) {
        rc = OOM(err);
        goto out;
    }
    if (t->pair_policy == SK_PAIR_CHANGED && json_array_size(c->pairs) < n) {
        /* only "changed" tops up, from items not compared yet (7.2) */
        size_t n_roll = 0;
        ids = json_array();
        for (i = 0; ids && i < json_array_size(all); i++)
            if (json_array_append(
                    ids, json_object_get(json_array_get(all, i), "id")) != 0)
                break;
        if (!ids || i < json_array_size(all)) {
            rc = OOM(err);
            goto out;
        }
        char *pp = NULL, *cp = NULL;
        rc = sk_pairs_topup_all(t->client, t->bench, prev, curr, t->train_items,
                                ids, n, seed, dir, t->prompts_dir,
                                t->rollout_tokens, c->pairs, all, &pp, &cp,
                                &n_roll, err);
        sk_free(pp); /* the same predictions/ dirs as the sample's */
        sk_free(cp);
        if (rc != SK_OK)
            goto out;
    }
    if (t->pair_policy != SK_PAIR_MIXED)
        rc = write_json_in(dir, "comparison_pairs_all.json", all, err);
    if (rc == SK_OK)
        rc = write_json_in(dir, "comparison_pairs.json", c->pairs, err);
out:
    if (rc != SK_OK)
        comparison_release(c);
    json_decref(sample);
    json_decref(prow);
    json_decref(crow);
    json_decref(all);
    json_decref(ids);
    sk_free(pdir);
    sk_free(cdir);
    return rc;
}

/* The comparison a finished slow update left, for the meta skill. */
static int reload_comparison(const char *dir, struct comparison *c,
                             struct sk_error *err)
{
    char *p;
    int rc;

    memset(c, 0, sizeof *c);
    rc = read_json_in(dir, "comparison_pairs.json", &c->pairs, err);
    if (rc != SK_OK)
        return rc;
    p = sk_fs_join(dir, "rollout_prev/" SK_ROLLOUT_PREDICTIONS);
    c->prev_pred = p;
    p = sk_fs_join(dir, "rollout_curr/" SK_ROLLOUT_PREDICTIONS);
    c->curr_pred = p;
    if (!c->prev_pred || !c->curr_pred) {
        comparison_release(c);
        return OOM(err);
    }
    return SK_OK;
}

static int render(const struct comparison *c, struct sk_buf *out,
                  struct sk_error *err)
{
    if (sk_pairs_render(c->pairs, c->prev_pred, c->curr_pred, out) != SK_OK)
        return sk_error_set(err, SK_ETOOBIG,
                            "comparison text too large or out of memory");
    return SK_OK;
}

/* ---- slow update (7.1) ------------------------------------------------- */

static json_t *state_after(struct sk_trainer *t, int best_changed)
{
    return json_pack("{s:f, s:s, s:f, s:I, s:s, s:b}", "current_score",
                     t->gs.current_score, "current_origin",
                     t->gs.current_origin, "best_score", t->gs.best_score,
                     "best_step", (json_int_t)t->gs.best_step, "best_origin",
                     t->gs.best_origin, "best_changed", best_changed);
}

/*
 * A marker without applied_state.json (a run directory the reference
 * wrote): re-apply as the reference does, to the current skill only.
 */
static int reapply_reference(struct sk_trainer *t, const char *dir,
                             const json_t *marker, struct sk_error *err)
{
    const char *action = json_string_value(json_object_get(marker, "action"));
    const char *content =
        json_string_value(json_object_get(marker, "slow_update_content"));
    char *out = NULL;
    size_t len;
    long e = (long)json_integer_value(json_object_get(marker, "epoch"));
    int rc;

    (void)dir;
    if (action && strcmp(action, "inject_placeholder") == 0) {
        rc = sk_skill_inject_slow_update(t->current, strlen(t->current), &out,
                                         &len);
        if (rc == SK_OK)
            snprintf(t->gs.current_origin, sizeof t->gs.current_origin,
                     "slow_update_placeholder_epoch_%02ld", e ? e : 1);
    } else if (content && *content && action &&
               (strcmp(action, "force_accept") == 0 ||
                strcmp(action, "accept") == 0 ||
                strcmp(action, "accept_new_best") == 0)) {
        rc = sk_skill_replace_slow_update(t->current, strlen(t->current),
                                          content, strlen(content), &out, &len);
    } else {
        return SK_OK;
    }
    if (rc != SK_OK)
        return OOM(err);
    sk_free(t->current);
    t->current = out;
    return SK_OK;
}

/* Re-applies a finished slow update whose state was not saved. */
static int reapply(struct sk_trainer *t, const char *dir, const json_t *marker,
                   struct sk_error *err)
{
    json_t *st = NULL;
    const char *action = json_string_value(json_object_get(marker, "action"));
    char *cand = NULL, *p = NULL;
    int rc;

    if (!action || strcmp(action, "no_content") == 0 ||
        strcmp(action, "reject") == 0)
        return SK_OK;
    rc = read_json_in(dir, "applied_state.json", &st, err);
    if (rc == SK_ENOTFOUND)
        return reapply_reference(t, dir, marker, err);
    if (rc == SK_OK) {
        p = sk_fs_join(dir, "candidate_skill.md");
        rc = p ? tr_read_text(p, &cand, err) : OOM(err);
    }
    if (rc != SK_OK) {
        json_decref(st);
        sk_free(p);
        return rc;
    }
    sk_free(t->current);
    t->current = cand;
    if (json_is_true(json_object_get(st, "best_changed")) &&
        tr_set_text(&t->best, cand, err) != SK_OK)
        rc = SK_ENOMEM;
    t->gs.current_score =
        json_number_value(json_object_get(st, "current_score"));
    t->gs.best_score = json_number_value(json_object_get(st, "best_score"));
    t->gs.best_step =
        (long)json_integer_value(json_object_get(st, "best_step"));
    snprintf(t->gs.current_origin, sizeof t->gs.current_origin, "%s",
             json_string_value(json_object_get(st, "current_origin"))
                 ? json_string_value(json_object_get(st, "current_origin"))
                 : "");
    snprintf(t->gs.best_origin, sizeof t->gs.best_origin, "%s",
             json_string_value(json_object_get(st, "best_origin"))
                 ? json_string_value(json_object_get(st, "best_origin"))
                 : "");
    json_decref(st);
    sk_free(p);
    return rc;
}

/* Commits a computed slow update: candidate, applied state, marker. */
static int finish_slow(struct sk_trainer *t, const char *dir, json_t *marker,
                       int best_changed, struct sk_error *err)
{
    json_t *st = state_after(t, best_changed);
    char *p = sk_fs_join(dir, "candidate_skill.md");
    int rc;

    if (!st || !p) {
        rc = OOM(err);
        goto out;
    }
    rc = sk_skill_save(p, t->current, strlen(t->current), err);
    if (rc == SK_OK)
        rc = write_json_in(dir, "applied_state.json", st, err);
    if (rc == SK_OK) /* the marker last: it says the update is complete */
        rc = write_json_in(dir, "slow_result.json", marker, err);
out:
    json_decref(st);
    sk_free(p);
    return rc;
}

static int slow_epoch1(struct sk_trainer *t, const char *dir,
                       struct sk_error *err)
{
    char *with = NULL;
    size_t wl;
    json_t *marker;
    int rc;

    if (sk_skill_inject_slow_update(t->current, strlen(t->current), &with,
                                    &wl) != SK_OK)
        return OOM(err);
    sk_free(t->current);
    t->current = with;
    snprintf(t->gs.current_origin, sizeof t->gs.current_origin,
             "slow_update_placeholder_epoch_01");
    marker =
        json_pack("{s:s, s:i}", "action", "inject_placeholder", "epoch", 1);
    if (!marker)
        return OOM(err);
    rc = finish_slow(t, dir, marker, 0, err);
    json_decref(marker);
    return rc;
}

static int slow_gated(struct sk_trainer *t, long e, long g_last,
                      const char *dir, const char *cand, json_t *record,
                      int *best_changed, struct sk_error *err)
{
    char hash[17], *sdir = NULL, origin[48];
    double hard, soft, score;
    enum sk_gate_action ga;
    int rc = SK_OK;

    sk_text_hash16(cand, strlen(cand), hash);
    if (!sk_sel_cache_get(&t->cache, hash, &hard, &soft)) {
        sdir = sk_fs_join(dir, "selection_eval");
        rc = sdir ? tr_evaluate(t, cand, t->val_items, sdir, "selection",
                                g_last, &hard, &soft, NULL, err)
                  : OOM(err);
        sk_free(sdir);
        if (rc == SK_OK &&
            sk_sel_cache_put(&t->cache, hash, hard, soft) != SK_OK)
            rc = OOM(err);
        if (rc != SK_OK)
            return rc;
    }
    rc = tr_gate_score(t, hard, soft, cand, &score, err);
    if (rc != SK_OK)
        return rc;
    ga = sk_gate_decide(&t->gs, score, g_last, 1, best_changed);
    if (json_object_set_new(record, "selection_hard", json_real(hard)) != 0 ||
        json_object_set_new(record, "selection_soft", json_real(soft)) != 0 ||
        json_object_set_new(record, "action",
                            json_string(sk_gate_action_name(ga))) != 0)
        return OOM(err);
    if (ga == SK_GATE_REJECT)
        return SK_OK;
    snprintf(origin, sizeof origin, "slow_update_epoch_%02ld", e);
    memcpy(t->gs.current_origin, origin, sizeof origin);
    if (*best_changed) {
        memcpy(t->gs.best_origin, origin, sizeof origin);
        if (tr_set_text(&t->best, cand, err) != SK_OK)
            return SK_ENOMEM;
    }
    return tr_set_text(&t->current, cand, err);
}

static int slow_update(struct sk_trainer *t, long e, long g_last,
                       const char *prev, struct comparison *cmp,
                       struct sk_error *err)
{
    struct sk_slow_call_opts so;
    struct sk_buf text;
    json_t *record = NULL;
    char *dir, *content = NULL, *cand = NULL, hash[17];
    size_t cl;
    double t0 = tr_now();
    int best_changed = 0, rc;

    dir = epoch_dir(t, SK_RUNDIR_SLOW_UPDATE, e, err);
    if (!dir)
        return err->code;
    sk_buf_init(&text, SK_BUF_UNLIMITED);
    rc = compare(t, e, dir, prev, t->current, cmp, err);
    if (rc == SK_OK)
        rc = render(cmp, &text, err);
    if (rc != SK_OK)
        goto out;
    memset(&so, 0, sizeof so);
    so.bench = t->bench->name;
    so.prompts_dir = t->prompts_dir;
    tr_opt_reset(t);
    rc = sk_slow_update_call(t->client, prev, t->current, sk_buf_cstr(&text),
                             json_array_size(cmp->pairs), &so, &content,
                             &record, err);
    if (rc == SK_OK)
        rc = tr_opt_check(t, "slow update", err);
    if (rc != SK_OK)
        goto out;
    if (json_object_set_new(record, "time_s",
                            json_real(tr_round(tr_now() - t0, 1))) != 0) {
        rc = OOM(err);
        goto out;
    }
    if (content) {
        if (sk_skill_replace_slow_update(t->current, strlen(t->current),
                                         content, strlen(content), &cand,
                                         &cl) != SK_OK) {
            rc = OOM(err);
            goto out;
        }
        sk_text_hash16(cand, cl, hash);
        if (json_object_set_new(record, "prev_hard",
                                json_real(cmp->prev_hard)) != 0 ||
            json_object_set_new(record, "curr_hard",
                                json_real(cmp->curr_hard)) != 0 ||
            json_object_set_new(record, "candidate_hash", json_string(hash)) !=
                0 ||
            json_object_set_new(record, "update_origin",
                                json_string("slow_update_momentum")) != 0 ||
            json_object_set_new(
                record, "update_target",
                json_string("Address longitudinal regressions and persistent "
                            "failures observed across adjacent epochs.")) !=
                0) {
            rc = OOM(err);
            goto out;
        }
        if (t->cfg->slow_update_gate_with_selection) {
            rc =
                slow_gated(t, e, g_last, dir, cand, record, &best_changed, err);
        } else {
            /* force-inject into the current skill only; best untouched */
            sk_free(t->current);
            t->current = cand;
            cand = NULL;
            snprintf(t->gs.current_origin, sizeof t->gs.current_origin,
                     "slow_update_epoch_%02ld", e);
            if (json_object_set_new(record, "action",
                                    json_string("force_accept")) != 0)
                rc = OOM(err);
        }
        if (rc == SK_OK && cand) {
            /* candidate_skill.md holds the candidate even when rejected */
            char *p = sk_fs_join(dir, "candidate_skill.md");
            rc = p ? sk_skill_save(p, cand, cl, err) : OOM(err);
            sk_free(p);
        }
    }
    if (rc == SK_OK) {
        json_t *st = state_after(t, best_changed);
        rc = st ? write_json_in(dir, "applied_state.json", st, err) : OOM(err);
        json_decref(st);
    }
    if (rc == SK_OK && content && !cand) {
        char *p = sk_fs_join(dir, "candidate_skill.md");
        rc = p ? sk_skill_save(p, t->current, strlen(t->current), err)
               : OOM(err);
        sk_free(p);
    }
    if (rc == SK_OK)
        rc = write_json_in(dir, "slow_result.json", record, err);
    if (rc == SK_OK)
        sk_info("slow update, epoch %ld: %s", e,
                json_string_value(json_object_get(record, "action")));
out:
    json_decref(record);
    sk_free(content);
    sk_free(cand);
    sk_free(dir);
    sk_buf_release(&text);
    return rc;
}

/* ---- meta skill (7.3) -------------------------------------------------- */

static int meta_content(struct sk_trainer *t, long e, char **out,
                        struct sk_error *err)
{
    char *dir = NULL;
    json_t *m = NULL;
    const char *c;
    int rc;

    *out = NULL;
    if (e < 1)
        return SK_OK;
    rc = sk_rundir_epoch_dir(&t->rd, SK_RUNDIR_META_SKILL, e, 0, &dir, err);
    if (rc == SK_OK)
        rc = read_json_in(dir, "meta_skill_result.json", &m, err);
    sk_free(dir);
    if (rc == SK_ENOTFOUND)
        return SK_OK;
    if (rc != SK_OK)
        return rc;
    c = json_string_value(json_object_get(m, "meta_skill_content"));
    if (c && *c &&
        strcmp(json_string_value(json_object_get(m, "action"))
                   ? json_string_value(json_object_get(m, "action"))
                   : "",
               SK_META_WRITE) == 0) {
        *out = sk_strdup(c);
        if (!*out)
            rc = OOM(err);
    }
    json_decref(m);
    return rc;
}

int tr_load_meta_block(struct sk_trainer *t, long epoch, struct sk_error *err)
{
    struct sk_buf b;
    char *c = NULL;
    int rc;

    sk_free(t->meta_block);
    t->meta_block = NULL;
    if (!t->cfg->use_meta_skill)
        return SK_OK;
    rc = meta_content(t, epoch - 1, &c, err);
    if (rc != SK_OK || !c)
        return rc;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (sk_meta_block(c, &b) != SK_OK) {
        rc = OOM(err);
    } else if (b.len) {
        t->meta_block = sk_buf_detach(&b, NULL);
        if (!t->meta_block)
            rc = OOM(err);
    }
    sk_buf_release(&b);
    sk_free(c);
    return rc;
}

static int meta_skill(struct sk_trainer *t, long e, const char *prev,
                      const char *curr, struct comparison *cmp,
                      struct sk_error *err)
{
    struct sk_slow_call_opts so;
    struct sk_buf text;
    struct comparison own;
    json_t *record = NULL;
    char *dir, *content = NULL, *pm = NULL, *slowdir = NULL;
    double t0;
    int rc = SK_OK;

    memset(&own, 0, sizeof own);
    dir = epoch_dir(t, SK_RUNDIR_META_SKILL, e, err);
    if (!dir)
        return err->code;
    sk_buf_init(&text, SK_BUF_UNLIMITED);
    if (!cmp->pairs && t->cfg->use_slow_update) {
        /* the slow update ran in an earlier process: reuse its pairs */
        rc = sk_rundir_epoch_dir(&t->rd, SK_RUNDIR_SLOW_UPDATE, e, 0, &slowdir,
                                 err);
        if (rc == SK_OK)
            rc = reload_comparison(slowdir, cmp, err);
        if (rc == SK_ENOTFOUND)
            rc = SK_OK;
    }
    if (rc == SK_OK && !cmp->pairs) {
        rc = compare(t, e, dir, prev, curr, &own, err);
        cmp = &own;
    }
    if (rc == SK_OK)
        rc = render(cmp, &text, err);
    if (rc == SK_OK)
        rc = meta_content(t, e - 1, &pm, err);
    if (rc != SK_OK)
        goto out;
    memset(&so, 0, sizeof so);
    so.bench = t->bench->name;
    so.prompts_dir = t->prompts_dir;
    t0 = tr_now();
    tr_opt_reset(t);
    rc = sk_meta_skill_call(t->client, prev, curr, pm, sk_buf_cstr(&text),
                            json_array_size(cmp->pairs), &so, &content, &record,
                            err);
    if (rc == SK_OK)
        rc = tr_opt_check(t, "meta skill", err);
    if (rc == SK_OK &&
        json_object_set_new(record, "time_s",
                            json_real(tr_round(tr_now() - t0, 1))) != 0)
        rc = OOM(err);
    if (rc == SK_OK)
        rc = write_json_in(dir, "meta_skill_result.json", record, err);
out:
    comparison_release(&own);
    json_decref(record);
    sk_free(content);
    sk_free(pm);
    sk_free(dir);
    sk_free(slowdir);
    sk_buf_release(&text);
    return rc;
}

/* ---- the epoch end ------------------------------------------------------ */

int tr_epoch_end(struct sk_trainer *t, long e, long g_last,
                 struct sk_error *err)
{
    struct comparison cmp;
    struct tr_phase ph;
    json_t *marker = NULL;
    char *dir = NULL, *prev = NULL, *curr = NULL, rel[64];
    int rc = SK_OK, did = 0;

    memset(&cmp, 0, sizeof cmp);
    if (!t->cfg->use_slow_update && !t->cfg->use_meta_skill)
        return SK_OK;
    snprintf(rel, sizeof rel, "slow_update/epoch_%02ld/parse_failures", e);
    rc = tr_keep_unusable(t, rel, err);
    if (rc != SK_OK)
        return rc;
    if (e >= 2) {
        rc = prev_epoch_skill(t, e, &prev, err);
        if (rc == SK_OK)
            rc = tr_set_text(&curr, t->current, err); /* before the update */
        if (rc != SK_OK)
            goto out;
    }
    if (t->cfg->use_slow_update) {
        dir = epoch_dir(t, SK_RUNDIR_SLOW_UPDATE, e, err);
        if (!dir) {
            rc = err->code;
            goto out;
        }
        rc = read_json_in(dir, "slow_result.json", &marker, err);
        if (rc == SK_OK) {
            if (t->slow_applied_epoch < e)
                rc = reapply(t, dir, marker, err);
            did = 1;
        } else if (rc == SK_ENOTFOUND) {
            tr_phase_begin(t, &ph, "slow_update", g_last, e);
            rc = e == 1 ? slow_epoch1(t, dir, err)
                        : slow_update(t, e, g_last, prev, &cmp, err);
            tr_phase_end(t, &ph, rc);
            did = 1;
        }
        if (rc != SK_OK)
            goto out;
    }
    if (t->cfg->use_meta_skill && !tr_should_stop(t)) {
        char *mdir = epoch_dir(t, SK_RUNDIR_META_SKILL, e, err);
        char *mp = mdir ? sk_fs_join(mdir, "meta_skill_result.json") : NULL;
        if (!mp) {
            sk_free(mdir);
            rc = OOM(err);
            goto out;
        }
        if (!sk_fs_exists(mp)) {
            tr_phase_begin(t, &ph, "meta_skill", g_last, e);
            if (e == 1) {
                json_t *m = json_pack("{s:s, s:i}", "action",
                                      "skip_first_epoch", "epoch", 1);
                rc = m ? sk_json_write_file(mp, m, err) : OOM(err);
                json_decref(m);
            } else {
                rc = meta_skill(t, e, prev, curr, &cmp, err);
            }
            tr_phase_end(t, &ph, rc);
        }
        sk_free(mdir);
        sk_free(mp);
        if (rc != SK_OK)
            goto out;
    }
    if (did && !tr_should_stop(t)) {
        t->slow_applied_epoch = e;
        snprintf(rel, sizeof rel, "skills/epoch_%02ld_end.md", e);
        rc = tr_save_state_as(t, g_last, rel, err);
    }
out:
    comparison_release(&cmp);
    json_decref(marker);
    sk_free(dir);
    sk_free(prev);
    sk_free(curr);
    return rc;
}
