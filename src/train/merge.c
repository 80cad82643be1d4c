/*
 * merge.c - hierarchical merge of analyst patches (algorithm.md 4.1).
 *
 * The working lists are deep copies of the caller's patches, so setting
 * merge_level and moving items between patch objects never touches the
 * caller's values.  Each level's calls go out as one batch; format retries
 * of that level as a second batch.
 */
#include "common.h"

#include "train/merge.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "llm/client.h"
#include "train/prompt.h"
#include "train/rundir.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/jsonx.h"
#include "util/log.h"

/* Largest user message built here (the skill plus pretty JSON). */
#define MERGE_MAX_USER (64u << 20)

struct merge_ctx {
    struct sk_llm_client *c;
    enum sk_skill_update_mode mode;
    const char *skill;
    const char *meta_block;
    const char *reminder; /* format reminder text */
    long max_tokens;
    long batch;
    struct sk_merge_stats *st;
};

const char *sk_merge_payload_key(enum sk_skill_update_mode mode)
{
    switch (mode) {
    case SK_UPDATE_REWRITE_FROM_SUGGESTIONS:
        return "revise_suggestions";
    case SK_UPDATE_FULL_REWRITE_MINIBATCH:
        return "skill_candidates";
    case SK_UPDATE_PATCH:
    default:
        return "edits";
    }
}

const char *sk_merge_payload_label(enum sk_skill_update_mode mode, int title)
{
    switch (mode) {
    case SK_UPDATE_REWRITE_FROM_SUGGESTIONS:
        return title ? "Suggestions" : "suggestions";
    case SK_UPDATE_FULL_REWRITE_MINIBATCH:
        return title ? "Skill Candidates" : "skill candidates";
    case SK_UPDATE_PATCH:
    default:
        return title ? "Edits" : "edits";
    }
}

json_t *sk_merge_payload_items(const json_t *container,
                               enum sk_skill_update_mode mode)
{
    json_t *items;
    if (!json_is_object(container))
        return NULL;
    items = json_object_get(container, sk_merge_payload_key(mode));
    return json_is_array(items) ? items : NULL;
}

static size_t payload_count(const json_t *container,
                            enum sk_skill_update_mode mode)
{
    return json_array_size(sk_merge_payload_items(container, mode));
}

static const char *mode_suffix(enum sk_skill_update_mode mode)
{
    if (mode == SK_UPDATE_REWRITE_FROM_SUGGESTIONS)
        return "_rewrite";
    if (mode == SK_UPDATE_FULL_REWRITE_MINIBATCH)
        return "_full_rewrite";
    return "";
}

static int is_blank(const char *s)
{
    if (!s)
        return 1;
    for (; *s; s++)
        if (!strchr(" \t\r\n\f\v", *s))
            return 0;
    return 1;
}

/* {"reasoning": reasoning, <key>: items} with items stolen (NULL: []). */
static json_t *new_patch(const char *reasoning, enum sk_skill_update_mode mode,
                         json_t *items)
{
    json_t *p = json_object();
    if (!items)
        items = json_array();
    if (!p || !items ||
        json_object_set_new(p, "reasoning", json_string(reasoning)) != 0 ||
        json_object_set(p, sk_merge_payload_key(mode), items) != 0) {
        json_decref(p);
        json_decref(items);
        return NULL;
    }
    json_decref(items);
    return p;
}

/*
 * Parses a reply; *out gets the object when its payload key holds a list
 * of objects, else NULL.  Only SK_ENOMEM is an error.
 */
static int accept_reply(const char *text, enum sk_skill_update_mode mode,
                        json_t **out)
{
    json_t *v = NULL, *items, *e;
    size_t i;
    int rc;
    *out = NULL;
    rc = sk_extract_json(text, strlen(text), &v, NULL);
    if (rc == SK_ENOMEM)
        return SK_ENOMEM;
    if (rc != SK_OK)
        return SK_OK;
    items = sk_merge_payload_items(v, mode);
    if (!items) {
        json_decref(v);
        return SK_OK;
    }
    json_array_foreach(items, i, e)
    {
        if (!json_is_object(e)) {
            json_decref(v);
            return SK_OK;
        }
    }
    *out = v;
    return SK_OK;
}

static void fill_request(struct sk_llm_request *r, const struct merge_ctx *m,
                         const char *system, const struct sk_llm_message *msgs,
                         size_t n_msgs)
{
    memset(r, 0, sizeof *r);
    r->role = SK_ROLE_OPTIMIZER;
    r->stage = "merge";
    r->want_json = 1;
    r->system = system;
    r->messages = msgs;
    r->n_messages = n_msgs;
    r->max_tokens = m->max_tokens;
}

/*
 * Sends users[0..n) under system in one batch, then one batch of format
 * retries for the unusable replies.  out[i] gets the accepted object (new
 * reference) or NULL.  Returns SK_OK or SK_ENOMEM (out all NULL then).
 */
static int run_calls(struct merge_ctx *m, const char *system,
                     const struct sk_buf *users, size_t n, json_t **out)
{
    struct sk_llm_request *reqs = NULL, *rreqs = NULL;
    struct sk_llm_message *msgs = NULL;
    struct sk_llm_result *res = NULL, *rres = NULL;
    size_t *retry = NULL, nr = 0, i;
    int rc = SK_ENOMEM;

    memset(out, 0, n * sizeof *out);
    reqs = sk_calloc(n, sizeof *reqs);
    rreqs = sk_calloc(n, sizeof *rreqs);
    msgs = sk_calloc(3 * n, sizeof *msgs);
    res = sk_calloc(n, sizeof *res);
    rres = sk_calloc(n, sizeof *rres);
    retry = sk_calloc(n, sizeof *retry);
    if (!reqs || !rreqs || !msgs || !res || !rres || !retry)
        goto out;
    for (i = 0; i < n; i++) {
        sk_llm_result_init(&res[i]);
        sk_llm_result_init(&rres[i]);
        msgs[3 * i].role = "user";
        msgs[3 * i].content = users[i].data;
        fill_request(&reqs[i], m, system, &msgs[3 * i], 1);
    }
    sk_llm_call_batch(m->c, reqs, n, res);
    m->st->n_calls += n;
    for (i = 0; i < n; i++) {
        if (res[i].status != SK_OK) {
            sk_warn("merge: optimizer call failed (%s); using fallback",
                    sk_strerror(res[i].status));
            continue;
        }
        if (accept_reply(res[i].text, m->mode, &out[i]) != SK_OK)
            goto out;
        if (!out[i]) {
            sk_llm_client_note_unusable(m->c, "merge", res[i].text);
            msgs[3 * i + 1].role = "assistant";
            msgs[3 * i + 1].content = res[i].text;
            msgs[3 * i + 2].role = "user";
            msgs[3 * i + 2].content = m->reminder;
            fill_request(&rreqs[nr], m, system, &msgs[3 * i], 3);
            retry[nr++] = i;
        }
    }
    if (nr > 0) {
        sk_llm_call_batch(m->c, rreqs, nr, rres);
        m->st->n_calls += nr;
        m->st->n_retries += nr;
        for (i = 0; i < nr; i++) {
            if (rres[i].status == SK_OK &&
                accept_reply(rres[i].text, m->mode, &out[retry[i]]) != SK_OK)
                goto out;
            if (!out[retry[i]] && rres[i].status == SK_OK) {
                sk_llm_client_note_unusable(m->c, "merge", rres[i].text);
                sk_warn("merge: optimizer returned unusable output twice; "
                        "using fallback");
            }
        }
    }
    rc = SK_OK;
out:
    if (rc != SK_OK)
        for (i = 0; i < n; i++) {
            json_decref(out[i]);
            out[i] = NULL;
        }
    for (i = 0; res && i < n; i++) {
        sk_llm_result_release(&res[i]);
        sk_llm_result_release(&rres[i]);
    }
    sk_free(reqs);
    sk_free(rreqs);
    sk_free(msgs);
    sk_free(res);
    sk_free(rres);
    sk_free(retry);
    return rc;
}

/* [meta block + blank line] "## Current Skill\n" skill "\n\n". */
static int put_head(struct sk_buf *b, const struct merge_ctx *m)
{
    if (!is_blank(m->meta_block) && (sk_buf_puts(b, m->meta_block) != SK_OK ||
                                     sk_buf_puts(b, "\n\n") != SK_OK))
        return SK_ENOMEM;
    if (sk_buf_puts(b, "## Current Skill\n") != SK_OK ||
        sk_buf_puts(b, m->skill) != SK_OK || sk_buf_puts(b, "\n\n") != SK_OK)
        return SK_ENOMEM;
    return SK_OK;
}

static int group_user(const struct merge_ctx *m, json_t *group, int level,
                      struct sk_buf *b)
{
    if (put_head(b, m) != SK_OK ||
        sk_buf_printf(b, "## Patches to merge (%zu total, merge level %d)\n",
                      json_array_size(group), level) != SK_OK ||
        sk_json_dump_py(group, 2, b) != SK_OK)
        return SK_ENOMEM;
    return SK_OK;
}

/* Concatenation of every payload item of group's patches. */
static json_t *concat_group(const json_t *group, int level,
                            enum sk_skill_update_mode mode)
{
    json_t *items = json_array(), *p, *e, *lv;
    size_t i, j;
    if (!items)
        return NULL;
    json_array_foreach(group, i, p)
    {
        json_array_foreach(sk_merge_payload_items(p, mode), j, e)
        {
            if (json_is_object(e) && !json_object_get(e, "merge_level")) {
                lv = json_integer(level);
                if (json_object_set_new(e, "merge_level", lv) != 0)
                    goto fail;
            }
            if (json_array_append(items, e) != 0)
                goto fail;
        }
    }
    return new_patch("fallback concatenation", mode, items);
fail:
    json_decref(items);
    return NULL;
}

static int set_levels(json_t *reply, int level, enum sk_skill_update_mode mode)
{
    json_t *e;
    size_t i;
    json_array_foreach(sk_merge_payload_items(reply, mode), i, e)
    {
        if (json_object_set_new(e, "merge_level", json_integer(level)) != 0)
            return SK_ENOMEM;
    }
    return SK_OK;
}

/* One level: cur (array of patches) -> *next. */
static int merge_level(struct merge_ctx *m, const char *system, json_t *cur,
                       int level, json_t **next_out)
{
    size_t n = json_array_size(cur), bs = (size_t)m->batch;
    size_t ngroups = (n + bs - 1) / bs, ncalls = 0, g, k, j;
    struct sk_buf *users = NULL;
    json_t **groups = NULL, **outs = NULL, *next = NULL, *p;
    int rc = SK_ENOMEM;

    users = sk_calloc(ngroups, sizeof *users);
    groups = sk_calloc(ngroups, sizeof *groups);
    outs = sk_calloc(ngroups, sizeof *outs);
    next = json_array();
    if (!users || !groups || !outs || !next)
        goto out;
    for (g = 0; g < ngroups; g++) {
        size_t end = (g + 1) * bs < n ? (g + 1) * bs : n;
        groups[g] = json_array();
        if (!groups[g])
            goto out;
        for (k = g * bs; k < end; k++)
            if (json_array_append(groups[g], json_array_get(cur, k)) != 0)
                goto out;
        if (end - g * bs > 1) {
            sk_buf_init(&users[ncalls], MERGE_MAX_USER);
            rc = group_user(m, groups[g], level, &users[ncalls++]);
            if (rc != SK_OK)
                goto out;
            rc = SK_ENOMEM;
        }
    }
    if (ncalls > 0 && run_calls(m, system, users, ncalls, outs) != SK_OK)
        goto out;
    for (g = 0, j = 0; g < ngroups; g++) {
        if (json_array_size(groups[g]) == 1) {
            p = json_incref(json_array_get(groups[g], 0));
        } else if (outs[j]) {
            p = outs[j];
            outs[j++] = NULL;
            if (set_levels(p, level, m->mode) != SK_OK) {
                json_decref(p);
                goto out;
            }
        } else {
            j++;
            m->st->n_fallbacks++;
            p = concat_group(groups[g], level, m->mode);
        }
        if (!p || json_array_append_new(next, p) != 0)
            goto out;
    }
    *next_out = next;
    next = NULL;
    rc = SK_OK;
out:
    for (g = 0; users && g < ngroups; g++) {
        sk_buf_release(&users[g]);
        json_decref(groups[g]);
        json_decref(outs[g]);
    }
    sk_free(users);
    sk_free(groups);
    sk_free(outs);
    json_decref(next);
    return rc;
}

/* _hierarchical_merge: patches (borrowed array) -> *out. */
static int hier_merge(struct merge_ctx *m, const char *system,
                      const json_t *patches, json_t **out)
{
    json_t *cur, *next = NULL;
    int level = 0, rc;
    *out = NULL;
    if (json_array_size(patches) == 0) {
        *out = new_patch("no patches", m->mode, NULL);
        return *out ? SK_OK : SK_ENOMEM;
    }
    cur = json_deep_copy(patches);
    if (!cur)
        return SK_ENOMEM;
    while (json_array_size(cur) > 1) {
        level++;
        m->st->n_levels++;
        rc = merge_level(m, system, cur, level, &next);
        json_decref(cur);
        if (rc != SK_OK)
            return rc;
        cur = next;
    }
    *out = json_incref(json_array_get(cur, 0));
    json_decref(cur);
    return SK_OK;
}

static int load_prompt(const char *base, enum sk_skill_update_mode mode,
                       const char *bench, const char *prompts_dir,
                       struct sk_buf *b, struct sk_error *err)
{
    char name[64];
    snprintf(name, sizeof name, "%s%s", base, mode_suffix(mode));
    return sk_prompt_lookup(name, bench, prompts_dir, b, err);
}

static int final_user(const struct merge_ctx *m, json_t *fm, json_t *sm,
                      size_t nf, size_t ns, struct sk_buf *b)
{
    json_t *pair = json_pack("[OO]", fm, sm);
    const char *label = sk_merge_payload_label(m->mode, 0);
    int rc = SK_ENOMEM;
    if (!pair || put_head(b, m) != SK_OK)
        goto out;
    if (m->mode == SK_UPDATE_FULL_REWRITE_MINIBATCH)
        rc = sk_buf_printf(b,
                           "## Two pre-merged candidate groups to combine\n"
                           "Group 1 (from failed trajectories): %zu %s\n"
                           "Group 2 (from successful trajectories): %zu %s\n\n",
                           nf, label, ns, label);
    else
        rc =
            sk_buf_printf(b,
                          "## Two pre-merged patch groups to combine\n"
                          "Group 1 (failure-driven, HIGH priority): %zu edits\n"
                          "Group 2 (success-driven, lower priority): %zu "
                          "edits\n\n",
                          nf, ns);
    if (rc == SK_OK)
        rc = sk_json_dump_py(pair, 2, b) == SK_OK ? SK_OK : SK_ENOMEM;
out:
    json_decref(pair);
    return rc == SK_OK ? SK_OK : SK_ENOMEM;
}

static int final_merge(struct merge_ctx *m, const char *system, json_t *fm,
                       json_t *sm, json_t **out)
{
    size_t nf = payload_count(fm, m->mode), ns = payload_count(sm, m->mode);
    struct sk_buf user;
    json_t *items;
    int rc;
    *out = NULL;
    if (nf == 0 && ns == 0) {
        *out = new_patch("no updates from either group", m->mode, NULL);
        return *out ? SK_OK : SK_ENOMEM;
    }
    if (ns == 0 || nf == 0) {
        *out = json_incref(ns == 0 ? fm : sm);
        return SK_OK;
    }
    sk_buf_init(&user, MERGE_MAX_USER);
    rc = final_user(m, fm, sm, nf, ns, &user);
    m->st->final_call = 1;
    if (rc == SK_OK)
        rc = run_calls(m, system, &user, 1, out);
    sk_buf_release(&user);
    if (rc != SK_OK || *out)
        return rc;
    m->st->n_fallbacks++;
    items = json_array();
    if (!items ||
        json_array_extend(items, sk_merge_payload_items(fm, m->mode)) != 0 ||
        json_array_extend(items, sk_merge_payload_items(sm, m->mode)) != 0) {
        json_decref(items);
        return SK_ENOMEM;
    }
    *out = new_patch("fallback: failure first, then success", m->mode, items);
    return *out ? SK_OK : SK_ENOMEM;
}

int sk_merge_patches(struct sk_llm_client *c, const json_t *failure,
                     const json_t *success, enum sk_skill_update_mode mode,
                     const char *skill, const char *meta_block,
                     long merge_batch_size, const char *bench,
                     const char *prompts_dir, long max_tokens, json_t **merged,
                     struct sk_merge_stats *stats, struct sk_error *err)
{
    struct sk_merge_stats local;
    struct merge_ctx m;
    struct sk_buf ps_fail, ps_succ, ps_final, ps_rem;
    json_t *fm = NULL, *sm = NULL;
    int rc;

    *merged = NULL;
    if (!stats)
        stats = &local;
    memset(stats, 0, sizeof *stats);
    if ((failure && !json_is_array(failure)) ||
        (success && !json_is_array(success)) || !skill)
        return sk_error_set(err, SK_EINVAL,
                            "merge: patch lists must be arrays and the "
                            "skill given");
    sk_buf_init(&ps_fail, SK_PROMPT_MAX_FILE);
    sk_buf_init(&ps_succ, SK_PROMPT_MAX_FILE);
    sk_buf_init(&ps_final, SK_PROMPT_MAX_FILE);
    sk_buf_init(&ps_rem, SK_PROMPT_MAX_FILE);
    if ((rc = load_prompt("merge_failure", mode, bench, prompts_dir, &ps_fail,
                          err)) != SK_OK ||
        (rc = load_prompt("merge_success", mode, bench, prompts_dir, &ps_succ,
                          err)) != SK_OK ||
        (rc = load_prompt("merge_final", mode, bench, prompts_dir, &ps_final,
                          err)) != SK_OK ||
        (rc = sk_prompt_lookup("format_reminder", bench, prompts_dir, &ps_rem,
                               err)) != SK_OK)
        goto out;

    memset(&m, 0, sizeof m);
    m.c = c;
    m.mode = mode;
    m.skill = skill;
    m.meta_block = meta_block;
    m.reminder = ps_rem.data;
    m.batch = merge_batch_size < 2 ? 2 : merge_batch_size;
    m.max_tokens = max_tokens > 0 ? max_tokens
                   : mode == SK_UPDATE_FULL_REWRITE_MINIBATCH
                       ? SK_MERGE_MAX_TOKENS_FULL
                       : SK_MERGE_MAX_TOKENS;
    m.st = stats;
    rc = hier_merge(&m, ps_fail.data, failure, &fm);
    if (rc == SK_OK)
        rc = hier_merge(&m, ps_succ.data, success, &sm);
    if (rc == SK_OK)
        rc = final_merge(&m, ps_final.data, fm, sm, merged);
    if (rc != SK_OK)
        sk_error_set(err, rc, "merge: %s", sk_strerror(rc));
out:
    json_decref(fm);
    json_decref(sm);
    sk_buf_release(&ps_fail);
    sk_buf_release(&ps_succ);
    sk_buf_release(&ps_final);
    sk_buf_release(&ps_rem);
    return rc;
}
