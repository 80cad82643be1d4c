/*
 * step.c - one training step (algorithm.md 1.4): for each micro-batch a
 * rollout of the current skill and its reflection; then aggregate, select
 * (edit budget and ranking), update (apply edits or rewrite), evaluate the
 * candidate on the selection set and gate it; the skill-aware appendix,
 * the step-buffer entry and the step record.  Every artefact goes to
 * steps/step_NNNN/ in the reference's layout; the rollout results, patch
 * files and the response cache make a rerun of an interrupted step cheap
 * and identical.
 *
 * Deliberate differences (docs/compatibility.md): analysts are told the
 * budget this step will get, not the maximum (11.5); a candidate identical
 * to the current skill is rejected without a selection rollout and no fake
 * selection-cache entries exist (11.7); unparsable optimizer replies are
 * counted in the record (n_parse_failures).
 */
#include "common.h"

#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "bench/benches.h"
#include "config/config.h"
#include "llm/client.h"
#include "skill/edit.h"
#include "skill/skill.h"
#include "train/bench.h"
#include "train/events.h"
#include "train/merge.h"
#include "train/reflect.h"
#include "train/rollout.h"
#include "train/select.h"
#include "train/trainer_int.h"
#include "train/update.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/sha256.h"

#define OOM(err) sk_error_set((err), SK_ENOMEM, "out of memory")

/* What the accumulation loop gathers for the rest of the step. */
struct step_acc {
    json_t *failure; /* normalised failure patches */
    json_t *success; /* normalised success patches */
    json_t *rows;    /* rollout results of every micro-batch */
    json_t *notes;   /* appendix notes (skill-aware) */
    json_t *batches; /* accumulation_batches records */
    size_t n_parse_failures;
    double rollout_s, reflect_s;
    double hard_sum, soft_sum; /* size-weighted */
    size_t n;
};

static void step_acc_release(struct step_acc *a)
{
    json_decref(a->failure);
    json_decref(a->success);
    json_decref(a->rows);
    json_decref(a->notes);
    json_decref(a->batches);
}

static int set(json_t *obj, const char *key, json_t *v, struct sk_error *err)
{
    if (!v || json_object_set_new(obj, key, v) != 0)
        return OOM(err);
    return SK_OK;
}

static int write_json(const char *dir, const char *name, const json_t *v,
                      struct sk_error *err)
{
    char *p = sk_fs_join(dir, name);
    int rc = p ? sk_json_write_file(p, v, err) : OOM(err);
    sk_free(p);
    return rc;
}

static int write_text(const char *dir, const char *name, const char *text,
                      struct sk_error *err)
{
    char *p = sk_fs_join(dir, name);
    int rc = p ? sk_skill_save(p, text, strlen(text), err) : OOM(err);
    sk_free(p);
    return rc;
}

/* Appends one line to <out_root>/lr_history.jsonl. */
static int append_lr_history(struct sk_trainer *t, const json_t *rec, long g,
                             long epoch, struct sk_error *err)
{
    struct sk_buf line;
    char *path = NULL;
    int fd = -1, rc;

    sk_buf_init(&line, SK_BUF_UNLIMITED);
    rc = sk_lr_history_line(rec, g, epoch, &line);
    if (rc != SK_OK) {
        rc = sk_error_set(err, rc, "lr_history.jsonl: %s", sk_strerror(rc));
        goto out;
    }
    rc = sk_rundir_path(&t->rd, SK_RUNDIR_LR_HISTORY, 1, &path, err);
    if (rc != SK_OK)
        goto out;
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, line.data, line.len) != (ssize_t)line.len ||
        fsync(fd) != 0)
        rc = sk_error_set(err, SK_EIO, "%s: cannot append", path);
out:
    if (fd >= 0)
        close(fd);
    sk_free(path);
    sk_buf_release(&line);
    return rc;
}

/* ---- accumulation: rollout + reflect per micro-batch ----------------- */

static int reflect_batch(struct sk_trainer *t, long g, int bdir,
                         const char *rollout_dir, const json_t *rows,
                         int64_t seed, const char *step_buffer,
                         struct sk_reflect_out *ro, struct sk_error *err)
{
    struct sk_reflect_opts ro_opts;
    char *patches = NULL, *pf = NULL, *pred = NULL, sub[32];
    int rc;

    rc = sk_rundir_step_file(&t->rd, g, bdir, "patches", 1, &patches, err);
    if (rc != SK_OK)
        goto out;
    if (bdir >= 0)
        snprintf(sub, sizeof sub, "parse_failures/batch_%d", bdir);
    else
        snprintf(sub, sizeof sub, "parse_failures");
    rc = sk_rundir_step_file(&t->rd, g, -1, sub, 0, &pf, err);
    if (rc != SK_OK)
        goto out;
    pred = sk_fs_join(rollout_dir, SK_ROLLOUT_PREDICTIONS);
    if (!pred) {
        rc = OOM(err);
        goto out;
    }
    memset(&ro_opts, 0, sizeof ro_opts);
    ro_opts.results = rows;
    ro_opts.predictions_dir = pred;
    ro_opts.skill = t->current;
    /* 11.5: the budget this step will get, not the schedule's maximum */
    ro_opts.learning_rate =
        t->lr_mode == SK_LR_CONTROL_AUTONOMOUS
            ? (long)t->cfg->edit_budget
            : sk_schedule_lr(&t->sched, t->sched.current_step + 1);
    ro_opts.mode = t->mode;
    ro_opts.minibatch_size = (size_t)t->cfg->minibatch_size;
    ro_opts.failure_only = t->cfg->failure_only;
    ro_opts.batch_seed = seed;
    ro_opts.skill_aware = t->cfg->use_skill_aware_reflection;
    ro_opts.appendix_failure_only =
        strcmp(t->cfg->skill_aware_appendix_source, "failure_only") == 0;
    ro_opts.codex_trace = t->cfg->codex_trace_to_optimizer;
    ro_opts.step_buffer = step_buffer;
    ro_opts.meta_block = t->meta_block;
    ro_opts.patches_dir = patches;
    ro_opts.parse_failures_dir = pf;
    ro_opts.bench = t->bench->name;
    ro_opts.prompts_dir = t->prompts_dir;
    ro_opts.guidance = sk_userbench_guidance(t->bench);
    tr_opt_reset(t);
    rc = sk_reflect_run(t->client, &ro_opts, ro, err);
    if (rc == SK_OK)
        rc = tr_opt_check(t, "reflection", err);
out:
    sk_free(patches);
    sk_free(pf);
    sk_free(pred);
    return rc;
}

static int accumulate(struct sk_trainer *t, const struct sk_epoch_plan *plan,
                      long g, long epoch, long s, const char *step_buffer,
                      struct step_acc *acc, struct sk_error *err)
{
    long a;
    int rc = SK_OK;

    acc->failure = json_array();
    acc->success = json_array();
    acc->rows = json_array();
    acc->notes = json_array();
    acc->batches = json_array();
    if (!acc->failure || !acc->success || !acc->rows || !acc->notes ||
        !acc->batches)
        return OOM(err);
    for (a = 0; a < t->accumulation && rc == SK_OK; a++) {
        const struct sk_plan_batch *b =
            sk_plan_step_batch(plan, s, t->accumulation, a);
        int bdir = t->accumulation > 1 ? (int)a : -1;
        struct sk_reflect_out ro;
        struct tr_phase ph;
        json_t *items = json_array(), *rows = NULL, *rec;
        char *rdir = NULL;
        double hard = 0, soft = 0;
        size_t i;

        sk_reflect_out_init(&ro);
        if (!b || !items) {
            json_decref(items);
            return b ? OOM(err) : sk_error_set(err, SK_EINVAL, "no batch");
        }
        for (i = 0; i < b->n; i++)
            if (json_array_append(
                    items, json_array_get(t->train_items, b->items[i])) != 0) {
                json_decref(items);
                return OOM(err);
            }
        rc = sk_rundir_step_file(&t->rd, g, bdir, "rollout", 1, &rdir, err);
        if (rc == SK_OK) {
            t->batch_seed = b->seed;
            tr_phase_begin(t, &ph, "rollout", g, epoch);
            rc = tr_evaluate(t, t->current, items, rdir, "train", g, &hard,
                             &soft, &rows, err);
            acc->rollout_s += tr_phase_end(t, &ph, rc);
        }
        json_decref(items);
        if (rc == SK_OK) {
            tr_phase_begin(t, &ph, "reflect", g, epoch);
            rc = reflect_batch(t, g, bdir, rdir, rows, b->seed, step_buffer,
                               &ro, err);
            acc->reflect_s += tr_phase_end(t, &ph, rc);
        }
        if (rc == SK_OK) {
            size_t n = json_array_size(rows);
            acc->n_parse_failures += ro.n_parse_failures;
            acc->hard_sum += hard * (double)n;
            acc->soft_sum += soft * (double)n;
            acc->n += n;
            rec = json_pack(
                "{s:I, s:I, s:I, s:f, s:f, s:I, s:I}", "batch_idx",
                (json_int_t)a, "batch_seed", (json_int_t)b->seed, "n_envs",
                (json_int_t)n, "hard", hard, "soft", soft, "n_failure_patches",
                (json_int_t)json_array_size(ro.failure), "n_success_patches",
                (json_int_t)json_array_size(ro.success));
            if (!rec || json_array_append_new(acc->batches, rec) != 0 ||
                json_array_extend(acc->rows, rows) != 0 ||
                json_array_extend(acc->failure, ro.failure) != 0 ||
                json_array_extend(acc->success, ro.success) != 0 ||
                (ro.appendix_notes &&
                 json_array_extend(acc->notes, ro.appendix_notes) != 0))
                rc = OOM(err);
        }
        sk_reflect_out_release(&ro);
        json_decref(rows);
        sk_free(rdir);
        if (rc == SK_OK && tr_should_stop(t))
            break;
    }
    return rc;
}

/* ---- skill-aware appendix (7.4) -------------------------------------- */

static int notes_to_list(const json_t *a, struct sk_note_list *l)
{
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        const char *s = json_string_value(v);
        if (s && sk_note_list_add(l, s, strlen(s)) != SK_OK)
            return SK_ENOMEM;
    }
    return SK_OK;
}

static json_t *list_to_json(const struct sk_note_list *l)
{
    json_t *a = json_array();
    size_t i;
    for (i = 0; a && i < l->len; i++)
        if (json_array_append_new(a, json_string(l->items[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static int flush_appendix(struct sk_trainer *t, const json_t *notes,
                          const char *step_dir, json_t *rec,
                          struct sk_error *err)
{
    struct sk_note_list nl, before, after;
    struct sk_update_call_opts uo;
    json_t *after_j = NULL, *compact = NULL, *doc;
    char *text = NULL;
    size_t len;
    int consolidated = 0, rc;

    if (!t->cfg->use_skill_aware_reflection || json_array_size(notes) == 0)
        return SK_OK;
    sk_note_list_init(&nl);
    sk_note_list_init(&before);
    sk_note_list_init(&after);
    rc = notes_to_list(notes, &nl);
    if (rc == SK_OK)
        rc = sk_skill_appendix_notes(t->current, strlen(t->current), &before);
    if (rc == SK_OK)
        rc = sk_skill_appendix_merge(t->current, strlen(t->current), &nl, &text,
                                     &len);
    if (rc == SK_OK)
        rc = sk_skill_appendix_notes(text, len, &after);
    if (rc != SK_OK) {
        rc = OOM(err);
        goto out;
    }
    sk_free(t->current);
    t->current = text;
    text = NULL;
    after_j = list_to_json(&after);
    if (!after_j) {
        rc = OOM(err);
        goto out;
    }
    rc = set(rec, "n_execution_lapse_notes", json_integer((json_int_t)nl.len),
             err);
    if (rc == SK_OK)
        rc = set(rec, "n_appendix_notes_added",
                 json_integer((json_int_t)after.len - (json_int_t)before.len),
                 err);
    if (rc == SK_OK)
        rc = set(rec, "n_appendix_notes_total",
                 json_integer((json_int_t)after.len), err);
    doc =
        json_pack("{s:O, s:O}", "step_notes", notes, "appendix_after", after_j);
    if (rc == SK_OK)
        rc = doc ? write_json(step_dir, "appendix_notes.json", doc, err)
                 : OOM(err);
    json_decref(doc);
    if (rc != SK_OK || t->cfg->skill_aware_consolidate_threshold <= 0 ||
        (long long)after.len <=
            (long long)t->cfg->skill_aware_consolidate_threshold)
        goto out;
    memset(&uo, 0, sizeof uo);
    uo.bench = t->bench->name;
    uo.prompts_dir = t->prompts_dir;
    rc = sk_update_consolidate_notes(
        t->client, after_j, (long)t->cfg->skill_aware_consolidate_threshold,
        &uo, &compact, &consolidated, err);
    if (rc == SK_OK && consolidated) {
        struct sk_note_list cl;
        sk_note_list_init(&cl);
        rc = notes_to_list(compact, &cl);
        if (rc == SK_OK)
            rc = sk_skill_appendix_replace(t->current, strlen(t->current), &cl,
                                           &text, &len);
        sk_note_list_release(&cl);
        if (rc != SK_OK) {
            rc = OOM(err);
            goto out;
        }
        sk_free(t->current);
        t->current = text;
        text = NULL;
        rc = set(rec, "n_appendix_notes_consolidated",
                 json_integer((json_int_t)json_array_size(compact)), err);
        if (rc == SK_OK)
            rc = set(rec, "n_appendix_notes_total",
                     json_integer((json_int_t)json_array_size(compact)), err);
    }
out:
    json_decref(after_j);
    json_decref(compact);
    sk_free(text);
    sk_note_list_release(&nl);
    sk_note_list_release(&before);
    sk_note_list_release(&after);
    return rc;
}

/* ---- step buffer (6.4) ----------------------------------------------- */

/* "<failure_type>: <description>" of the step's minibatch_fail files, in
 * the reference's order: patches/ then batch_* / patches/, each sorted. */
static int failure_descs(const char *step_dir, char ***descs, size_t *n,
                         struct sk_error *err)
{
    static const char *const pats[2] = {
        "patches/minibatch_fail_*.json",
        "batch_*/patches/minibatch_fail_*.json"};
    size_t k, i, j;
    char **v = NULL;
    size_t len = 0, cap = 0;
    int rc = SK_OK;

    for (k = 0; k < 2 && rc == SK_OK; k++) {
        glob_t gl;
        char *pat = sk_fs_join(step_dir, pats[k]);
        if (!pat)
            return OOM(err);
        memset(&gl, 0, sizeof gl);
        if (glob(pat, 0, NULL, &gl) == 0) {
            for (i = 0; i < gl.gl_pathc && rc == SK_OK; i++) {
                json_t *doc = NULL, *fs, *e;
                struct sk_error ignored;
                if (sk_json_read_file(gl.gl_pathv[i], &doc, &ignored) != SK_OK)
                    continue; /* unreadable files are skipped (6.4) */
                fs = json_object_get(doc, "failure_summary");
                json_array_foreach(fs, j, e)
                {
                    const char *ft, *d;
                    struct sk_buf b;
                    if (!json_is_object(e))
                        break; /* the reference stops at the first bad one */
                    ft = json_string_value(json_object_get(e, "failure_type"));
                    d = json_string_value(json_object_get(e, "description"));
                    sk_buf_init(&b, SK_BUF_UNLIMITED);
                    if ((d && *d ? sk_buf_printf(&b, "%s: %s", ft ? ft : "", d)
                                 : sk_buf_puts(&b, ft ? ft : "")) != SK_OK) {
                        sk_buf_release(&b);
                        rc = OOM(err);
                        break;
                    }
                    if (len == cap) {
                        size_t nc = cap ? cap * 2 : 8;
                        char **nv = sk_realloc(v, nc * sizeof *v);
                        if (!nv) {
                            sk_buf_release(&b);
                            rc = OOM(err);
                            break;
                        }
                        v = nv;
                        cap = nc;
                    }
                    v[len++] = sk_buf_detach(&b, NULL);
                    if (!v[len - 1]) {
                        len--;
                        rc = OOM(err);
                        break;
                    }
                }
                json_decref(doc);
            }
        }
        globfree(&gl);
        sk_free(pat);
    }
    *descs = v;
    *n = len;
    return rc;
}

static void free_descs(char **d, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        sk_free(d[i]);
    sk_free(d);
}

static int buffer_entry(struct sk_trainer *t, long g, const char *action,
                        const struct step_acc *acc, const char *step_dir,
                        const json_t *ranked_items, int rejected,
                        double score_before, double score_after,
                        struct sk_error *err)
{
    struct sk_step_entry e;
    char **descs = NULL;
    size_t nd = 0, i;
    json_t *it, *j = NULL;
    int rc;

    sk_step_entry_init(&e, g, action);
    rc = failure_descs(step_dir, &descs, &nd, err);
    if (rc == SK_OK &&
        sk_step_entry_set_results_json(&e, acc->rows,
                                       (const char *const *)descs, nd) != SK_OK)
        rc = OOM(err);
    if (rc == SK_OK && rejected) {
        sk_step_entry_set_reject(&e, score_before, score_after);
        json_array_foreach(ranked_items, i, it)
        {
            if (sk_step_entry_add_rejected_json(&e, it, t->mode) != SK_OK) {
                rc = OOM(err);
                break;
            }
        }
    }
    if (rc == SK_OK && sk_step_entry_to_json(&e, &j) != SK_OK)
        rc = OOM(err);
    if (rc == SK_OK)
        rc = write_json(step_dir, "trajectory_digest.json", j, err);
    if (rc == SK_OK && sk_stepbuf_add_take(&t->sbuf, &e) != SK_OK)
        rc = OOM(err);
    json_decref(j);
    sk_step_entry_release(&e);
    free_descs(descs, nd);
    return rc;
}

/* ---- bookkeeping ------------------------------------------------------ */

/* {stage: {calls, prompt_tokens, completion_tokens}} used since before. */
static json_t *token_delta(struct sk_trainer *t, const json_t *before)
{
    json_t *after = tr_token_snapshot(t), *out = json_object(), *v;
    const char *stage;

    if (!after || !out)
        goto fail;
    json_object_foreach(after, stage, v)
    {
        static const char *const keys[3] = {"calls", "prompt_tokens",
                                            "completion_tokens"};
        json_t *b = json_object_get(before, stage), *d = json_object();
        int k;
        if (strcmp(stage, "_total") == 0) {
            json_decref(d);
            continue;
        }
        if (!d || json_object_set_new(out, stage, d) != 0)
            goto fail;
        for (k = 0; k < 3; k++)
            if (json_object_set_new(
                    d, keys[k],
                    json_integer(
                        json_integer_value(json_object_get(v, keys[k])) -
                        json_integer_value(json_object_get(b, keys[k])))) != 0)
                goto fail;
    }
    json_decref(after);
    return out;
fail:
    json_decref(after);
    json_decref(out);
    return NULL;
}

/* Closes the record (scores, skill length, wall time) and commits the
 * step: step_record.json, the skill, best_skill.md, history.json, then
 * runtime_state.json (the commit point) and resume_state.json. */
static int commit(struct sk_trainer *t, long g, const char *step_dir,
                  json_t *rec, int with_origins, double t0,
                  struct sk_error *err)
{
    int rc;

    /* unusable replies of merge, ranking and LR (the hook counted them) */
    rc = set(rec, "n_parse_failures",
             json_integer(
                 json_integer_value(json_object_get(rec, "n_parse_failures")) +
                 t->n_unusable),
             err);
    if (rc == SK_OK)
        rc = set(rec, "current_score", json_real(t->gs.current_score), err);
    if (rc == SK_OK)
        rc = set(rec, "best_score", json_real(t->gs.best_score), err);
    if (rc == SK_OK)
        rc = set(rec, "best_step", json_integer(t->gs.best_step), err);
    if (rc == SK_OK && with_origins)
        rc = set(rec, "current_origin", json_string(t->gs.current_origin), err);
    if (rc == SK_OK && with_origins)
        rc = set(rec, "best_origin", json_string(t->gs.best_origin), err);
    if (rc == SK_OK)
        rc = set(rec, "skill_len",
                 json_integer((json_int_t)tr_chars(t->current)), err);
    if (rc == SK_OK)
        rc =
            set(rec, "wall_time_s", json_real(tr_round(tr_now() - t0, 1)), err);
    if (rc == SK_OK)
        rc = write_json(step_dir, "step_record.json", rec, err);
    if (rc == SK_OK) {
        char *p = NULL;
        rc = sk_rundir_skill_path(&t->rd, g, 1, &p, err);
        if (rc == SK_OK)
            rc = sk_skill_save(p, t->current, strlen(t->current), err);
        sk_free(p);
    }
    if (rc == SK_OK)
        rc = sk_history_append(&t->rd, &t->hist, rec, err);
    if (rc == SK_OK)
        rc = tr_save_state(t, g, err); /* rewrites the skill: harmless */
    return rc;
}

static void step_end_event(struct sk_trainer *t, long g, long epoch,
                           const char *action)
{
    size_t i;
    json_t *row;
    long acc = 0, rej = 0, skip = 0;
    json_array_foreach(t->hist.rows, i, row)
    {
        const char *a = json_string_value(json_object_get(row, "action"));
        if (!a)
            continue;
        acc += strstr(a, "accept") != NULL;
        rej += strcmp(a, "reject") == 0;
        skip += strncmp(a, "skip", 4) == 0;
    }
    tr_emit_spend(t);
    tr_emit(t, "step_end",
            json_pack("{s:I, s:I, s:s, s:f, s:f, s:I, s:I, s:I}", "step",
                      (json_int_t)g, "epoch", (json_int_t)epoch, "action",
                      action, "current_score", t->gs.current_score,
                      "best_score", t->gs.best_score, "accepts",
                      (json_int_t)acc, "rejects", (json_int_t)rej, "skips",
                      (json_int_t)skip));
}

/* ---- the step --------------------------------------------------------- */

/* Select (4.2, 4.3): the budget and the ranked items. */
static int select_phase(struct sk_trainer *t, long g, long epoch,
                        const char *step_dir, const json_t *merged,
                        const struct step_acc *acc, const char *step_buffer,
                        json_t *rec, json_t **ranked, struct sk_error *err)
{
    json_t *lr = NULL;
    long budget;
    int rc = SK_OK;

    if (t->mode == SK_UPDATE_FULL_REWRITE_MINIBATCH) {
        *ranked = json_incref((json_t *)merged);
        rc = write_json(step_dir, "ranked_edits.json", *ranked, err);
        if (rc == SK_OK)
            rc = set(rec, "n_edits_ranked",
                     json_integer((json_int_t)json_array_size(
                         sk_merge_payload_items(*ranked, t->mode))),
                     err);
        if (rc == SK_OK)
            rc = set(rec, "edit_budget", json_null(), err);
        if (rc == SK_OK)
            rc = set(rec, "lr_control_mode", json_string("none"), err);
        return rc;
    }
    tr_opt_reset(t);
    if (t->lr_mode == SK_LR_CONTROL_AUTONOMOUS) {
        struct sk_lr_opts lo;
        memset(&lo, 0, sizeof lo);
        lo.skill = t->current;
        lo.merged = merged;
        lo.mode = t->mode;
        lo.rollout_n = (long)acc->n;
        lo.rollout_hard = acc->n ? acc->hard_sum / (double)acc->n : 0.0;
        lo.rollout_soft = acc->n ? acc->soft_sum / (double)acc->n : 0.0;
        lo.step_buffer = step_buffer;
        lo.meta_block = t->meta_block;
        lo.bench = t->bench->name;
        lo.prompts_dir = t->prompts_dir;
        rc = sk_autonomous_lr(t->client, &lo, &lr, err);
        if (rc != SK_OK)
            return rc;
        budget = (long)json_integer_value(json_object_get(lr, "learning_rate"));
        rc = write_json(step_dir, "lr_decision.json", lr, err);
        if (rc == SK_OK)
            rc = append_lr_history(t, lr, g, epoch, err);
    } else {
        budget = sk_schedule_step(&t->sched);
    }
    if (rc == SK_OK)
        rc = sk_rank_and_select(t->client, merged, budget, t->mode, t->current,
                                t->meta_block, t->bench->name, t->prompts_dir,
                                0, ranked, err);
    if (rc == SK_OK)
        rc = tr_opt_check(t, "ranking", err);
    if (rc == SK_OK)
        rc = write_json(step_dir, "ranked_edits.json", *ranked, err);
    if (rc == SK_OK)
        rc = set(rec, "n_edits_ranked",
                 json_integer((json_int_t)json_array_size(
                     sk_merge_payload_items(*ranked, t->mode))),
                 err);
    if (rc == SK_OK)
        rc = set(rec, "edit_budget", json_integer(budget), err);
    if (rc == SK_OK)
        rc = set(rec, "lr_control_mode",
                 json_string(sk_lr_control_mode_name(t->lr_mode)), err);
    if (rc == SK_OK && lr)
        rc = set(rec, "lr_decision", json_incref(lr), err);
    json_decref(lr);
    return rc;
}

/* Update (5.4): *candidate is NULL when a rewrite mode produced nothing. */
static int update_phase(struct sk_trainer *t, long g, const char *step_dir,
                        const json_t *ranked, const char *step_buffer,
                        json_t *rec, char **candidate, struct sk_error *err)
{
    struct sk_apply_report report;
    struct sk_edit_list edits;
    json_t *record = NULL, *change = NULL;
    char *pf = NULL, hash[17];
    size_t len, n_pf = 0;
    int rc = SK_OK;

    *candidate = NULL;
    sk_apply_report_init(&report);
    sk_edit_list_init(&edits);
    if (t->mode == SK_UPDATE_PATCH) {
        const json_t *items = sk_merge_payload_items(ranked, t->mode);
        json_t *empty = items ? NULL : json_array();
        rc = sk_edit_list_from_json(&edits, items ? items : empty, err);
        json_decref(empty);
        if (rc == SK_OK)
            rc = sk_edit_apply(t->current, strlen(t->current), &edits,
                               candidate, &len, &report, err);
        if (rc == SK_OK && report.len > 0) {
            char *text = NULL;
            size_t tl;
            rc = sk_apply_report_dumps(&report, &text, &tl) == SK_OK
                     ? write_text(step_dir, "edit_apply_report.json", text, err)
                     : OOM(err);
            sk_free(text);
        }
    } else if (t->mode == SK_UPDATE_REWRITE_FROM_SUGGESTIONS) {
        struct sk_update_call_opts uo;
        memset(&uo, 0, sizeof uo);
        uo.bench = t->bench->name;
        uo.prompts_dir = t->prompts_dir;
        uo.max_tokens = (long)t->cfg->rewrite_max_completion_tokens;
        uo.reasoning_effort = t->cfg->rewrite_reasoning_effort;
        rc = sk_rundir_step_file(&t->rd, g, -1, "parse_failures", 0, &pf, err);
        tr_opt_reset(t);
        if (rc == SK_OK)
            rc = sk_update_rewrite(t->client, t->current, ranked, step_buffer,
                                   &uo, candidate, &record, &n_pf, pf, err);
        if (rc == SK_OK)
            rc = tr_opt_check(t, "rewrite", err);
        if (rc == SK_OK && *candidate) {
            rc = write_json(step_dir, "rewrite_result.json", record, err);
            change = json_object_get(record, "change_summary");
        }
    } else {
        rc = sk_update_full_rewrite_pick(ranked, candidate, &record) == SK_OK
                 ? SK_OK
                 : OOM(err);
        if (rc == SK_OK && *candidate) {
            rc = write_json(step_dir, "full_rewrite_result.json", record, err);
            change =
                json_object_get(json_object_get(record, "selected_candidate"),
                                "change_summary");
        }
    }
    if (rc == SK_OK) {
        const char *text = *candidate ? *candidate : t->current;
        sk_text_hash16(text, strlen(text), hash);
        rc = write_text(step_dir, "candidate_skill.md", text, err);
        if (rc == SK_OK)
            rc = set(rec, "candidate_hash", json_string(hash), err);
        if (rc == SK_OK)
            rc = set(rec, "candidate_skill_len",
                     json_integer((json_int_t)tr_chars(text)), err);
        if (rc == SK_OK && *candidate && t->mode != SK_UPDATE_PATCH)
            rc = set(rec, "rewrite_change_summary",
                     change ? json_incref(change) : json_array(), err);
        if (rc == SK_OK && report.len > 0) {
            struct sk_apply_summary sum;
            sk_apply_report_summary(&report, &sum);
            rc = set(rec, "edit_apply_summary", sk_apply_summary_to_json(&sum),
                     err);
        }
        if (rc == SK_OK && n_pf > 0) {
            json_t *n = json_object_get(rec, "n_parse_failures");
            rc = set(rec, "n_parse_failures",
                     json_integer(json_integer_value(n) + (json_int_t)n_pf),
                     err);
        }
    }
    if (rc != SK_OK) {
        sk_free(*candidate);
        *candidate = NULL;
    }
    json_decref(record);
    sk_free(pf);
    sk_edit_list_release(&edits);
    sk_apply_report_release(&report);
    return rc;
}

/* Evaluate and gate (6.1-6.3).  Moves the texts per the decision. */
static int gate_phase(struct sk_trainer *t, long g, long epoch,
                      char **candidate, json_t *rec, double *score_before,
                      double *cand_score, const char **action,
                      struct sk_error *err)
{
    enum sk_gate_action ga;
    char hash[17], *dir = NULL;
    double hard = 0, soft = 0;
    int hit, new_best = 0, noop, rc = SK_OK;

    sk_text_hash16(*candidate, strlen(*candidate), hash);
    *score_before = t->gs.current_score;
    noop = strcmp(*candidate, t->current) == 0;
    hit = sk_sel_cache_get(&t->cache, hash, &hard, &soft);
    if (noop && !hit) {
        /* 11.7: nothing changed, so nothing to measure; the reference
         * answered this from a fake cache entry */
        rc = set(rec, "selection_hard", json_null(), err);
        if (rc == SK_OK)
            rc = set(rec, "selection_soft", json_null(), err);
        *cand_score = t->gs.current_score;
    } else {
        if (!hit) {
            rc = sk_rundir_step_file(&t->rd, g, -1, "selection_eval", 1, &dir,
                                     err);
            if (rc == SK_OK)
                rc = tr_evaluate(t, *candidate, t->val_items, dir, "selection",
                                 g, &hard, &soft, NULL, err);
            if (rc == SK_OK &&
                sk_sel_cache_put(&t->cache, hash, hard, soft) != SK_OK)
                rc = OOM(err);
            sk_free(dir);
        }
        if (rc == SK_OK)
            rc = set(rec, "selection_hard", json_real(hard), err);
        if (rc == SK_OK)
            rc = set(rec, "selection_soft", json_real(soft), err);
        if (rc == SK_OK)
            rc = tr_gate_score(t, hard, soft, *candidate, cand_score, err);
    }
    if (rc != SK_OK)
        return rc;
    if (noop && t->use_gate)
        ga = SK_GATE_REJECT;
    else
        ga = sk_gate_decide(&t->gs, *cand_score, g, t->use_gate, &new_best);
    *action = sk_gate_action_name(ga);
    rc = set(rec, "gate_metric",
             json_string(sk_gate_metric_name(t->gate.metric)), err);
    if (rc == SK_OK)
        rc = set(rec, "candidate_gate_score", json_real(*cand_score), err);
    if (rc == SK_OK)
        rc = set(rec, "action", json_string(*action), err);
    if (rc != SK_OK)
        return rc;
    if (new_best && tr_set_text(&t->best, *candidate, err) != SK_OK)
        return SK_ENOMEM;
    if (ga != SK_GATE_REJECT) {
        sk_free(t->current);
        t->current = *candidate;
        *candidate = NULL;
    }
    tr_emit(t, SK_EVENT_GATE,
            json_pack("{s:I, s:I, s:s, s:f, s:f, s:f, s:f}", "step",
                      (json_int_t)g, "epoch", (json_int_t)epoch, "action",
                      *action, "candidate_gate_score", *cand_score,
                      "previous_score", *score_before, "current_score",
                      t->gs.current_score, "best_score", t->gs.best_score));
    sk_info("step %ld: %s (candidate %.4f, current %.4f, best %.4f)", g,
            *action, *cand_score, t->gs.current_score, t->gs.best_score);
    return SK_OK;
}

int tr_step(struct sk_trainer *t, const struct sk_epoch_plan *plan, long g,
            long epoch, long s, struct sk_error *err)
{
    struct step_acc acc;
    struct sk_merge_stats mst;
    struct tr_phase ph;
    struct sk_buf sbtext;
    json_t *rec = NULL, *timing = NULL, *before = NULL, *merged = NULL,
           *ranked = NULL, *sc = NULL, *it, *tokens;
    char *step_dir = NULL, *candidate = NULL;
    const char *action = "skip_no_patches";
    double t0 = tr_now(), tp, score_before = 0, cand_score = 0;
    size_t i;
    int rc;

    memset(&acc, 0, sizeof acc);
    sk_buf_init(&sbtext, SK_BUF_UNLIMITED);
    before = tr_token_snapshot(t);
    rec = json_pack("{s:I, s:I, s:I, s:{}, s:{}}", "step", (json_int_t)g,
                    "epoch", (json_int_t)epoch, "step_in_epoch", (json_int_t)s,
                    "timing", "tokens");
    if (!before || !rec || sk_stepbuf_render(&t->sbuf, &sbtext) != SK_OK) {
        rc = OOM(err);
        goto out;
    }
    timing = json_object_get(rec, "timing");
    rc = sk_rundir_step_dir(&t->rd, g, -1, 1, &step_dir, err);
    if (rc == SK_OK) {
        char rel[64];
        snprintf(rel, sizeof rel, "steps/step_%04ld/parse_failures", g);
        rc = tr_keep_unusable(t, rel, err);
    }
    if (rc != SK_OK)
        goto out;
    sk_info("step %ld/%ld (epoch %ld)", g, t->dims.total_steps, epoch);

    /* 1-2: rollout and reflection per micro-batch */
    rc = accumulate(t, plan, g, epoch, s, sk_buf_cstr(&sbtext), &acc, err);
    if (rc != SK_OK || tr_should_stop(t))
        goto out;
    if (set(rec, "rollout_hard",
            json_real(tr_round(acc.n ? acc.hard_sum / (double)acc.n : 0.0, 6)),
            err) != SK_OK ||
        set(rec, "rollout_soft",
            json_real(tr_round(acc.n ? acc.soft_sum / (double)acc.n : 0.0, 6)),
            err) != SK_OK ||
        set(rec, "rollout_n", json_integer((json_int_t)acc.n), err) != SK_OK ||
        set(rec, "accumulation_batches", json_incref(acc.batches), err) !=
            SK_OK ||
        set(timing, "rollout_s", json_real(tr_round(acc.rollout_s, 1)), err) !=
            SK_OK ||
        set(timing, "reflect_s", json_real(tr_round(acc.reflect_s, 1)), err) !=
            SK_OK ||
        set(rec, "n_patches",
            json_integer((json_int_t)(json_array_size(acc.failure) +
                                      json_array_size(acc.success))),
            err) != SK_OK ||
        set(rec, "n_failure_patches",
            json_integer((json_int_t)json_array_size(acc.failure)),
            err) != SK_OK ||
        set(rec, "n_success_patches",
            json_integer((json_int_t)json_array_size(acc.success)),
            err) != SK_OK ||
        set(rec, "n_parse_failures",
            json_integer((json_int_t)acc.n_parse_failures), err) != SK_OK) {
        rc = SK_ENOMEM;
        goto out;
    }

    /* 3: nothing to learn from */
    if (json_array_size(acc.failure) + json_array_size(acc.success) == 0) {
        rc = flush_appendix(t, acc.notes, step_dir, rec, err);
        if (rc == SK_OK)
            rc = set(rec, "action", json_string(action), err);
        if (rc == SK_OK)
            rc = commit(t, g, step_dir, rec, 0, t0, err);
        goto out;
    }

    /* 4: aggregate */
    tr_phase_begin(t, &ph, "aggregate", g, epoch);
    tp = tr_now();
    tr_opt_reset(t);
    rc = sk_merge_patches(t->client, acc.failure, acc.success, t->mode,
                          t->current, t->meta_block,
                          (long)t->cfg->merge_batch_size, t->bench->name,
                          t->prompts_dir, 0, &merged, &mst, err);
    if (rc == SK_OK)
        rc = tr_opt_check(t, "merge", err);
    if (rc == SK_OK)
        rc = write_json(step_dir, "merged_patch.json", merged, err);
    if (rc == SK_OK)
        rc = set(rec, "n_edits_merged",
                 json_integer((json_int_t)json_array_size(
                     sk_merge_payload_items(merged, t->mode))),
                 err);
    if (rc == SK_OK)
        rc = set(timing, "aggregate_s", json_real(tr_round(tr_now() - tp, 1)),
                 err);
    tr_phase_end(t, &ph, rc);
    if (rc != SK_OK || tr_should_stop(t))
        goto out;

    /* 5: select */
    tr_phase_begin(t, &ph, "select", g, epoch);
    tp = tr_now();
    rc = select_phase(t, g, epoch, step_dir, merged, &acc, sk_buf_cstr(&sbtext),
                      rec, &ranked, err);
    if (rc == SK_OK)
        rc =
            set(timing, "select_s", json_real(tr_round(tr_now() - tp, 1)), err);
    if (rc == SK_OK) {
        sc = json_array();
        json_array_foreach(sk_merge_payload_items(ranked, t->mode), i, it)
        {
            json_t *v = json_object_get(it, "support_count");
            if (!json_is_object(it))
                continue;
            if (!sc || json_array_append_new(sc, v ? json_incref(v)
                                                   : json_integer(0)) != 0) {
                rc = OOM(err);
                break;
            }
        }
        if (rc == SK_OK)
            rc = set(rec, "support_counts", json_incref(sc), err);
    }
    tr_phase_end(t, &ph, rc);
    if (rc != SK_OK || tr_should_stop(t))
        goto out;

    /* 6: update */
    tr_phase_begin(t, &ph, "update", g, epoch);
    tp = tr_now();
    rc = update_phase(t, g, step_dir, ranked, sk_buf_cstr(&sbtext), rec,
                      &candidate, err);
    if (rc == SK_OK)
        rc =
            set(timing, "update_s", json_real(tr_round(tr_now() - tp, 1)), err);
    tr_phase_end(t, &ph, rc);
    if (rc != SK_OK || tr_should_stop(t))
        goto out;
    if (!candidate) {
        /* a rewrite mode produced no skill */
        action = "skip_no_rewrite";
        rc = flush_appendix(t, acc.notes, step_dir, rec, err);
        if (rc == SK_OK)
            rc = set(rec, "action", json_string(action), err);
        if (rc == SK_OK)
            rc = commit(t, g, step_dir, rec, 0, t0, err);
        goto out;
    }

    /* 7: evaluate and gate */
    tr_phase_begin(t, &ph, "evaluate", g, epoch);
    tp = tr_now();
    rc = gate_phase(t, g, epoch, &candidate, rec, &score_before, &cand_score,
                    &action, err);
    tr_phase_end(t, &ph, rc);
    if (rc != SK_OK)
        goto out;

    /* 8-9: appendix, step buffer, tokens, commit */
    rc = flush_appendix(t, acc.notes, step_dir, rec, err);
    if (rc == SK_OK)
        rc = set(timing, "evaluate_s", json_real(tr_round(tr_now() - tp, 1)),
                 err);
    if (rc == SK_OK)
        rc = buffer_entry(t, g, action, &acc, step_dir,
                          sk_merge_payload_items(ranked, t->mode),
                          strstr(action, "reject") != NULL, score_before,
                          cand_score, err);
    if (rc != SK_OK)
        goto out;
    tokens = token_delta(t, before);
    if (!tokens || json_object_set_new(rec, "tokens", tokens) != 0) {
        rc = OOM(err);
        goto out;
    }
    rc = commit(t, g, step_dir, rec, 1, t0, err);
out:
    if (rc == SK_OK && !t->stopped)
        step_end_event(t, g, epoch, action);
    step_acc_release(&acc);
    json_decref(rec);
    json_decref(before);
    json_decref(merged);
    json_decref(ranked);
    json_decref(sc);
    sk_free(step_dir);
    sk_free(candidate);
    sk_buf_release(&sbtext);
    return rc;
}
