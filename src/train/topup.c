/*
 * topup.c - the "changed" pair policy's top-up (algorithm.md 7.2): extra
 * train items rolled out one at a time under the previous and the current
 * skill until enough improved/regressed pairs are found.  The pairs and
 * their text are slow.c's; the rollouts are rollout.c's.
 */
#include "common.h"

#include "train/topup.h"

#include <string.h>

#include <jansson.h>

#include "train/bench.h"
#include "train/rollout.h"
#include "train/schedule.h"
#include "train/slow.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/pyrandom.h"

/* Largest predictions file copied (a conversation or a prompt). */
#define TOPUP_MAX_RECORD (64u << 20)

/* The files of a predictions/<d>/ record, all copied when present. */
static const char *const record_files[] = {
    "target_system_prompt.txt", "target_user_prompt.txt", "conversation.json"};

/* One side of the comparison. */
struct side {
    const char *skill;
    char *root;     /* <dir>/rollout_<side> */
    char *topup;    /* <root>/topup */
    char *pred_dir; /* <root>/predictions */
};

static int oom(struct sk_error *err)
{
    return sk_error_set(err, SK_ENOMEM, "top-up: out of memory");
}

static void side_release(struct side *s)
{
    sk_free(s->root);
    sk_free(s->topup);
    sk_free(s->pred_dir);
}

static int side_init(struct side *s, const char *skill, const char *dir,
                     const char *name)
{
    s->skill = skill;
    s->root = sk_fs_join(dir, name);
    s->topup = s->root ? sk_fs_join(s->root, SK_TOPUP_DIR) : NULL;
    s->pred_dir = s->root ? sk_fs_join(s->root, SK_ROLLOUT_PREDICTIONS) : NULL;
    return s->topup && s->pred_dir ? SK_OK : SK_ENOMEM;
}

/* Removes the elements of a past its first n. */
static void cut_array(json_t *a, size_t n)
{
    size_t len = json_array_size(a);
    while (len > n)
        json_array_remove(a, --len);
}

/*
 * The set (an object with the ids as keys) of compared_ids.  NULL is an
 * empty set; anything but an array of strings is SK_EINVAL.
 */
static int id_set(const json_t *compared_ids, json_t **out,
                  struct sk_error *err)
{
    const json_t *v;
    json_t *set;
    size_t i;

    *out = NULL;
    if (compared_ids && !json_is_array(compared_ids))
        return sk_error_set(err, SK_EINVAL,
                            "top-up: compared ids must be an array");
    set = json_object();
    if (!set)
        return oom(err);
    json_array_foreach(compared_ids, i, v)
    {
        if (!json_is_string(v)) {
            json_decref(set);
            return sk_error_set(err, SK_EINVAL,
                                "top-up: compared id %zu is not a string", i);
        }
        if (json_object_set_new(set, json_string_value(v), json_true()) != 0) {
            json_decref(set);
            return oom(err);
        }
    }
    *out = set;
    return SK_OK;
}

/*
 * The indices into items of the candidates, in the order
 * random.Random(seed).shuffle puts the items, compared ids left out
 * (shuffling the indices is the same permutation as shuffling the items).
 * *ids[k] is str(id) of the k-th candidate.  Returns SK_OK, SK_EDATA (an
 * item without a usable id) or SK_ENOMEM; outputs are freed on failure.
 */
static int candidates(const json_t *items, const json_t *compared, int64_t seed,
                      size_t **idx_out, char ***ids_out, size_t *n_out,
                      struct sk_error *err)
{
    struct sk_pyrandom r;
    struct sk_buf id;
    size_t total = json_array_size(items), i, n = 0;
    size_t *idx = sk_calloc(total ? total : 1, sizeof *idx);
    char **ids = sk_calloc(total ? total : 1, sizeof *ids);
    int rc = SK_OK;

    sk_buf_init(&id, SK_BUF_UNLIMITED);
    if (!idx || !ids) {
        rc = oom(err);
        goto out;
    }
    for (i = 0; i < total; i++)
        idx[i] = i;
    sk_pyrandom_seed(&r, seed);
    sk_pyrandom_shuffle(&r, idx, total, sizeof *idx);
    for (i = 0; i < total; i++) {
        sk_buf_reset(&id);
        rc = sk_bench_item_id(json_array_get(items, idx[i]), &id, err);
        if (rc != SK_OK)
            goto out;
        if (json_object_get(compared, sk_buf_cstr(&id)))
            continue;
        ids[n] = sk_strdup(sk_buf_cstr(&id));
        if (!ids[n]) {
            rc = oom(err);
            goto out;
        }
        idx[n++] = idx[i];
    }
out:
    sk_buf_release(&id);
    if (rc != SK_OK) {
        for (i = 0; ids && i < n; i++)
            sk_free(ids[i]);
        sk_free(ids);
        sk_free(idx);
        ids = NULL;
        idx = NULL;
        n = 0;
    }
    *idx_out = idx;
    *ids_out = ids;
    *n_out = n;
    return rc;
}

/* Copies src to dst when src exists (atomic write). */
static int copy_file(const char *src, const char *dst, struct sk_error *err)
{
    struct sk_buf b;
    int rc;

    sk_buf_init(&b, SK_BUF_UNLIMITED);
    rc = sk_fs_read(src, TOPUP_MAX_RECORD, &b, err);
    if (rc == SK_ENOTFOUND)
        rc = SK_OK;
    else if (rc == SK_OK)
        rc = sk_fs_write_atomic(dst, b.data ? b.data : "", b.len, err);
    sk_buf_release(&b);
    return rc;
}

/* Copies <from>/predictions/<d>/ files into <to_pred_dir>/<d>/. */
static int copy_record(const char *from, const char *to_pred_dir, const char *d,
                       struct sk_error *err)
{
    char *src_root = NULL, *src_dir = NULL, *dst_dir = NULL;
    char *src = NULL, *dst = NULL;
    size_t i;
    int rc = SK_ENOMEM;

    src_root = sk_fs_join(from, SK_ROLLOUT_PREDICTIONS);
    src_dir = src_root ? sk_fs_join(src_root, d) : NULL;
    dst_dir = sk_fs_join(to_pred_dir, d);
    if (!src_dir || !dst_dir) {
        rc = oom(err);
        goto out;
    }
    rc = sk_fs_mkdirs(dst_dir, err);
    for (i = 0; rc == SK_OK && i < sizeof record_files / sizeof *record_files;
         i++) {
        src = sk_fs_join(src_dir, record_files[i]);
        dst = sk_fs_join(dst_dir, record_files[i]);
        rc = src && dst ? copy_file(src, dst, err) : oom(err);
        sk_free(src);
        sk_free(dst);
        src = dst = NULL;
    }
out:
    sk_free(src_root);
    sk_free(src_dir);
    sk_free(dst_dir);
    return rc;
}

/* The arguments shared by every candidate. */
struct run {
    struct sk_llm_client *c;
    const struct sk_bench *bench;
    const char *prompts_dir;
    long max_tokens;
    struct side sides[2]; /* prev, curr */
    size_t rollouts;
};

/*
 * Rolls the single item out under both skills into <side>/topup/<d> and
 * builds its pair (*pair new, any category).  A rollout status other than
 * SK_OK is returned as is.
 */
static int one_item(struct run *run, json_t *item, const char *d,
                    char *out_dirs[2], json_t **pair, struct sk_error *err)
{
    json_t *one = NULL, *rows[2] = {NULL, NULL}, *built = NULL;
    int rc, k;

    *pair = NULL;
    one = json_array();
    if (!one || json_array_append(one, item) != 0) {
        rc = oom(err);
        goto out;
    }
    for (k = 0; k < 2; k++) {
        out_dirs[k] = sk_fs_join(run->sides[k].topup, d);
        if (!out_dirs[k]) {
            rc = oom(err);
            goto out;
        }
        run->rollouts++;
        rc = sk_rollout_run(run->c, run->bench, run->sides[k].skill, one,
                            out_dirs[k], run->prompts_dir, run->max_tokens,
                            &rows[k], NULL, err);
        if (rc != SK_OK)
            goto out;
    }
    rc =
        sk_pairs_build(rows[0], rows[1], one, SK_PAIR_MIXED, &built, NULL, err);
    if (rc == SK_OK && json_array_size(built) != 1)
        rc = sk_error_set(err, SK_EDATA, "top-up: no pair for item %s", d);
    if (rc != SK_OK)
        goto out;
    *pair = json_incref(json_array_get(built, 0));
out:
    json_decref(built);
    json_decref(rows[0]);
    json_decref(rows[1]);
    json_decref(one);
    return rc;
}

static int changed(const json_t *pair)
{
    const char *cat = json_string_value(json_object_get(pair, "category"));
    return cat &&
           (strcmp(cat, "improved") == 0 || strcmp(cat, "regressed") == 0);
}

/* Walks the candidates until pairs holds n. */
static int walk(struct run *run, const json_t *items, const size_t *idx,
                char *const *ids, size_t n_cand, size_t n, json_t *pairs,
                json_t *all_pairs, size_t *tried, struct sk_error *err)
{
    struct sk_buf d;
    size_t i;
    int rc = SK_OK, k;

    sk_buf_init(&d, SK_BUF_UNLIMITED);
    for (i = 0; i < n_cand && json_array_size(pairs) < n; i++) {
        char *out_dirs[2] = {NULL, NULL};
        json_t *pair = NULL;
        sk_buf_reset(&d);
        rc = sk_rollout_pred_dir(ids[i], &d);
        if (rc != SK_OK) {
            rc = oom(err);
            break;
        }
        rc = one_item(run, json_array_get(items, idx[i]), sk_buf_cstr(&d),
                      out_dirs, &pair, err);
        if (rc == SK_OK && all_pairs && json_array_append(all_pairs, pair))
            rc = oom(err);
        if (rc == SK_OK && changed(pair)) {
            for (k = 0; rc == SK_OK && k < 2; k++)
                rc = copy_record(out_dirs[k], run->sides[k].pred_dir,
                                 sk_buf_cstr(&d), err);
            if (rc == SK_OK && json_array_append(pairs, pair) != 0)
                rc = oom(err);
        }
        json_decref(pair);
        sk_free(out_dirs[0]);
        sk_free(out_dirs[1]);
        if (rc != SK_OK)
            break;
    }
    *tried = i;
    sk_buf_release(&d);
    return rc;
}

int sk_pairs_topup_all(struct sk_llm_client *c, const struct sk_bench *bench,
                       const char *prev_skill, const char *curr_skill,
                       const json_t *train_items, const json_t *compared_ids,
                       size_t n, int64_t sample_seed, const char *dir,
                       const char *prompts_dir, long max_completion_tokens,
                       json_t *pairs, json_t *all_pairs, char **prev_pred_dir,
                       char **curr_pred_dir, size_t *n_rollouts,
                       struct sk_error *err)
{
    struct run run;
    json_t *compared = NULL;
    size_t *idx = NULL, n_cand = 0, i, tried = 0;
    size_t start = json_array_size(pairs),
           all_start = json_array_size(all_pairs);
    char **ids = NULL;
    int rc;

    if (prev_pred_dir)
        *prev_pred_dir = NULL;
    if (curr_pred_dir)
        *curr_pred_dir = NULL;
    if (n_rollouts)
        *n_rollouts = 0;
    memset(&run, 0, sizeof run);
    if (!c || !bench || !dir || !json_is_array(pairs) ||
        !json_is_array(train_items) || (all_pairs && !json_is_array(all_pairs)))
        return sk_error_set(err, SK_EINVAL, "top-up: bad arguments");
    run.c = c;
    run.bench = bench;
    run.prompts_dir = prompts_dir;
    run.max_tokens = max_completion_tokens;
    if (side_init(&run.sides[0], prev_skill, dir, SK_TOPUP_ROLLOUT_PREV) !=
            SK_OK ||
        side_init(&run.sides[1], curr_skill, dir, SK_TOPUP_ROLLOUT_CURR) !=
            SK_OK) {
        rc = oom(err);
        goto out;
    }
    rc = SK_OK;
    if (start >= n) {
        cut_array(pairs, n);
        goto out;
    }
    rc = id_set(compared_ids, &compared, err);
    if (rc == SK_OK)
        rc = candidates(train_items, compared, sample_seed, &idx, &ids, &n_cand,
                        err);
    if (rc == SK_OK)
        rc = walk(&run, train_items, idx, ids, n_cand, n, pairs, all_pairs,
                  &tried, err);
    if (rc == SK_OK)
        sk_info("top-up: %zu changed pair(s) from %zu of %zu candidate(s), "
                "%zu/%zu pairs",
                json_array_size(pairs) - start, tried, n_cand,
                json_array_size(pairs), n);
out:
    if (rc == SK_OK && prev_pred_dir) {
        *prev_pred_dir = sk_strdup(run.sides[0].pred_dir);
        if (!*prev_pred_dir)
            rc = oom(err);
    }
    if (rc == SK_OK && curr_pred_dir) {
        *curr_pred_dir = sk_strdup(run.sides[1].pred_dir);
        if (!*curr_pred_dir)
            rc = oom(err);
    }
    if (rc != SK_OK) {
        cut_array(pairs, start);
        if (all_pairs)
            cut_array(all_pairs, all_start);
        if (prev_pred_dir) {
            sk_free(*prev_pred_dir);
            *prev_pred_dir = NULL;
        }
    }
    if (n_rollouts)
        *n_rollouts = run.rollouts;
    for (i = 0; ids && i < n_cand; i++)
        sk_free(ids[i]);
    sk_free(ids);
    sk_free(idx);
    json_decref(compared);
    side_release(&run.sides[0]);
    side_release(&run.sides[1]);
    return rc;
}

int sk_pairs_topup(struct sk_llm_client *c, const struct sk_bench *bench,
                   const char *prev_skill, const char *curr_skill,
                   const json_t *train_items, const json_t *compared_ids,
                   size_t n, int64_t sample_seed, const char *dir,
                   const char *prompts_dir, long max_completion_tokens,
                   json_t *pairs, char **prev_pred_dir, char **curr_pred_dir,
                   size_t *n_rollouts, struct sk_error *err)
{
    return sk_pairs_topup_all(c, bench, prev_skill, curr_skill, train_items,
                              compared_ids, n, sample_seed, dir, prompts_dir,
                              max_completion_tokens, pairs, NULL, prev_pred_dir,
                              curr_pred_dir, n_rollouts, err);
}
