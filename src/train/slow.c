/*
 * slow.c - epoch-end comparison pairs, their text, and the slow-update and
 * meta-skill optimizer calls (algorithm.md 7.1-7.3).  No rollouts, gates
 * or markers here: the trainer sequences those.
 */
#include "common.h"

#include "train/slow.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "llm/client.h"
#include "skill/skill.h"
#include "train/bench.h"
#include "train/prompt.h"
#include "train/rollout.h"
#include "train/rundir.h"
#include "util/jsonparse.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/jsonx.h"
#include "util/log.h"
#include "util/pyrandom.h"

/* Largest conversation.json read for a trajectory. */
#define SLOW_MAX_CONVERSATION (64u << 20)

static const char *const cat_names[4] = {"improved", "regressed",
                                         "persistent_fail", "stable_success"};

int sk_slow_sample_items(const json_t *items, size_t n, int64_t seed,
                         long epoch, json_t **out)
{
    struct sk_pyrandom r;
    size_t *idx = NULL, total, i;
    json_t *a = NULL;
    int rc = SK_ENOMEM;

    *out = NULL;
    if (!json_is_array(items))
        return SK_EINVAL;
    total = json_array_size(items);
    idx = sk_calloc(total ? total : 1, sizeof *idx);
    a = json_array();
    if (!idx || !a)
        goto out;
    for (i = 0; i < total; i++)
        idx[i] = i;
    sk_pyrandom_seed(&r, seed + (int64_t)2000 * epoch);
    sk_pyrandom_shuffle(&r, idx, total, sizeof *idx);
    for (i = 0; i < total && i < n; i++)
        if (json_array_append(a, json_array_get(items, idx[i])) != 0)
            goto out;
    *out = a;
    a = NULL;
    rc = SK_OK;
out:
    json_decref(a);
    sk_free(idx);
    return rc;
}

/* Python truthiness of a result's "hard". */
static int truthy(const json_t *v)
{
    if (json_is_true(v))
        return 1;
    if (json_is_integer(v))
        return json_integer_value(v) != 0;
    if (json_is_real(v))
        return json_real_value(v) != 0.0;
    if (json_is_string(v))
        return json_string_length(v) > 0;
    if (json_is_array(v))
        return json_array_size(v) > 0;
    if (json_is_object(v))
        return json_object_size(v) > 0;
    return 0;
}

/* The last row of results whose str(id) is id (like a dict built from
 * the rows), or NULL. */
static const json_t *find_row(const json_t *results, const char *id,
                              struct sk_buf *scratch)
{
    size_t i = json_array_size(results);
    while (i-- > 0) {
        const json_t *row = json_array_get(results, i);
        sk_buf_reset(scratch);
        if (!json_is_object(row) ||
            sk_bench_item_id(row, scratch, NULL) != SK_OK)
            continue;
        if (strcmp(scratch->data ? scratch->data : "", id) == 0)
            return row;
    }
    return NULL;
}

/* {hard, soft, predicted_answer, fail_reason} of a row (NULL: missing). */
static json_t *side_of(const json_t *row, int ok)
{
    const json_t *soft = json_object_get(row, "soft");
    const json_t *ans = json_object_get(row, "predicted_answer");
    const json_t *fr = json_object_get(row, "fail_reason");
    json_t *ans_v, *fr_v;
    if (!ans)
        ans = json_object_get(row, "answer");
    ans_v = ans ? json_deep_copy(ans) : json_string("N/A");
    fr_v = fr ? json_deep_copy(fr) : json_string("");
    /* "o" (not "o*"): a failed copy must fail the pack, not become null */
    return json_pack("{s:i, s:f, s:o, s:o}", "hard", ok, "soft",
                     json_is_number(soft) ? json_number_value(soft) : 0.0,
                     "predicted_answer", ans_v, "fail_reason", fr_v);
}

static int keep_category(enum sk_pair_policy policy, int cat)
{
    switch (policy) {
    case SK_PAIR_MIXED:
        return 1;
    case SK_PAIR_CHANGED:
        return cat == 0 || cat == 1;
    case SK_PAIR_UNCHANGED:
        return cat == 2 || cat == 3;
    }
    return 0;
}

static void count_cat(struct sk_pair_counts *c, int cat)
{
    if (cat == 0)
        c->improved++;
    else if (cat == 1)
        c->regressed++;
    else if (cat == 2)
        c->persistent_fail++;
    else
        c->stable_success++;
}

int sk_pairs_build(const json_t *prev_results, const json_t *curr_results,
                   const json_t *items, enum sk_pair_policy policy,
                   json_t **pairs, struct sk_pair_counts *counts,
                   struct sk_error *err)
{
    static const char *const task_keys[] = {"question", "task_description",
                                            "instruction"};
    struct sk_buf id, scratch;
    struct sk_pair_counts cnt;
    json_t *out = NULL, *pair, *task;
    const json_t *item;
    size_t i, k;
    int rc;

    *pairs = NULL;
    memset(&cnt, 0, sizeof cnt);
    if (!json_is_array(prev_results) || !json_is_array(curr_results) ||
        !json_is_array(items))
        return sk_error_set(err, SK_EINVAL, "pairs: arguments must be arrays");
    if (policy != SK_PAIR_MIXED && policy != SK_PAIR_CHANGED &&
        policy != SK_PAIR_UNCHANGED)
        return sk_error_set(err, SK_EINVAL, "pairs: unknown policy %d",
                            (int)policy);
    sk_buf_init(&id, SK_BUF_UNLIMITED);
    sk_buf_init(&scratch, SK_BUF_UNLIMITED);
    rc = SK_ENOMEM;
    out = json_array();
    if (!out)
        goto out;
    json_array_foreach(items, i, item)
    {
        const json_t *prow, *crow;
        const char *ids;
        int pok, cok, cat;
        sk_buf_reset(&id);
        rc = sk_bench_item_id(item, &id, err);
        if (rc != SK_OK)
            goto out;
        rc = SK_ENOMEM;
        ids = id.data ? id.data : "";
        prow = find_row(prev_results, ids, &scratch);
        crow = find_row(curr_results, ids, &scratch);
        pok = truthy(json_object_get(prow, "hard"));
        cok = truthy(json_object_get(crow, "hard"));
        cat = !pok && cok ? 0 : pok && !cok ? 1 : !pok ? 2 : 3;
        count_cat(&cnt, cat);
        if (!keep_category(policy, cat))
            continue;
        task = NULL;
        for (k = 0; k < 3 && !task; k++) {
            const json_t *t = json_object_get(item, task_keys[k]);
            if (t)
                task = json_deep_copy(t);
        }
        if (!task)
            task = json_string(ids);
        pair = json_pack("{s:s, s:o, s:s, s:o, s:o}", "id", ids, "task", task,
                         "category", cat_names[cat], "prev", side_of(prow, pok),
                         "curr", side_of(crow, cok));
        if (!pair || json_object_size(pair) != 5 ||
            json_array_append_new(out, pair) != 0) {
            json_decref(pair);
            goto out;
        }
    }
    if (counts)
        *counts = cnt;
    *pairs = out;
    out = NULL;
    rc = SK_OK;
out:
    if (rc == SK_ENOMEM)
        sk_error_set(err, SK_ENOMEM, "pairs: out of memory");
    json_decref(out);
    sk_buf_release(&id);
    sk_buf_release(&scratch);
    return rc;
}

void sk_pairs_count(const json_t *pairs, struct sk_pair_counts *out)
{
    const json_t *p;
    size_t i;
    int k;
    memset(out, 0, sizeof *out);
    json_array_foreach(pairs, i, p)
    {
        const char *c = json_string_value(json_object_get(p, "category"));
        for (k = 0; c && k < 4; k++)
            if (strcmp(c, cat_names[k]) == 0)
                count_cat(out, k);
    }
}

/* Appends v as Python's str(v) would show it for strings and null;
 * other values as compact JSON. */
static int put_value(struct sk_buf *out, const json_t *v)
{
    if (json_is_string(v))
        return sk_buf_append(out, json_string_value(v), json_string_length(v));
    if (!v || json_is_null(v))
        return sk_buf_puts(out, "None");
    return sk_json_dump_py(v, -1, out);
}

/*
 * Appends the trajectory of id under pred_dir (one line per turn); appends
 * nothing when the conversation is missing, unreadable or empty.
 */
static int put_trajectory(struct sk_buf *out, const char *pred_dir,
                          const char *id)
{
    struct sk_buf dir, file;
    char *path = NULL, *sub = NULL;
    json_t *conv = NULL, *turn;
    json_error_t jerr;
    size_t i, mark = out->len;
    int rc = SK_ENOMEM;

    sk_buf_init(&dir, SK_BUF_UNLIMITED);
    sk_buf_init(&file, SK_BUF_UNLIMITED);
    if (sk_rollout_pred_dir(id, &dir) != SK_OK)
        goto out;
    sub = sk_fs_join(pred_dir, dir.data);
    path = sub ? sk_fs_join(sub, "conversation.json") : NULL;
    if (!path)
        goto out;
    rc = sk_fs_read(path, SLOW_MAX_CONVERSATION, &file, NULL);
    if (rc == SK_ENOMEM)
        goto out;
    /* a missing or unreadable conversation just shows no trajectory */
    rc = SK_OK;
    if (!file.data)
        goto out;
    conv = sk_json_loadb(file.data, file.len, 0, &jerr);
    if (!conv && (sk_json_oom(&jerr))) {
        rc = SK_ENOMEM;
        goto out;
    }
    json_array_foreach(conv, i, turn)
    {
        const char *role = json_string_value(json_object_get(turn, "role"));
        if (role && strcmp(role, "system") == 0)
            role = "verification";
        else if (!role || !*role)
            role = "agent";
        rc = out->len > mark ? sk_buf_putc(out, '\n') : SK_OK;
        if (rc == SK_OK)
            rc = sk_buf_printf(out, "[%s] ", role);
        if (rc == SK_OK)
            rc = put_value(out, json_object_get(turn, "content"));
        if (rc != SK_OK)
            goto out;
    }
out:
    if (rc != SK_OK)
        sk_buf_truncate(out, mark);
    json_decref(conv);
    sk_free(path);
    sk_free(sub);
    sk_buf_release(&dir);
    sk_buf_release(&file);
    return rc;
}

static int put_side(struct sk_buf *out, const char *label, const json_t *s)
{
    int rc = sk_buf_printf(out, "\n- %s: %s (soft %.2f), answer: ", label,
                           truthy(json_object_get(s, "hard")) ? "PASS" : "FAIL",
                           json_number_value(json_object_get(s, "soft")));
    return rc == SK_OK ? put_value(out, json_object_get(s, "predicted_answer"))
                       : rc;
}

static int put_reason(struct sk_buf *out, const char *label, const json_t *s)
{
    const json_t *fr = json_object_get(s, "fail_reason");
    if (!truthy(fr))
        return SK_OK;
    if (sk_buf_printf(out, "\n- %s fail reason: ", label) != SK_OK)
        return SK_ENOMEM;
    return put_value(out, fr);
}

/* Appends "\n\n<label> trajectory:\n```\n...\n```" when there is one. */
static int put_fenced(struct sk_buf *out, const char *label,
                      const char *pred_dir, const char *id)
{
    size_t mark = out->len, body;
    int rc;
    if (!pred_dir)
        return SK_OK;
    rc = sk_buf_printf(out, "\n\n%s skill trajectory:\n```\n", label);
    body = out->len;
    if (rc == SK_OK)
        rc = put_trajectory(out, pred_dir, id);
    if (rc == SK_OK && out->len == body) {
        sk_buf_truncate(out, mark);
        return SK_OK;
    }
    if (rc == SK_OK)
        rc = sk_buf_puts(out, "\n```");
    if (rc != SK_OK)
        sk_buf_truncate(out, mark);
    return rc;
}

static int put_entry(struct sk_buf *out, const json_t *p, int traj,
                     const char *prev_dir, const char *curr_dir)
{
    const json_t *prev = json_object_get(p, "prev");
    const json_t *curr = json_object_get(p, "curr");
    const char *id = json_string_value(json_object_get(p, "id"));
    int rc;
    if (!id)
        id = "";
    rc = sk_buf_printf(out, "\n\n#### Item %s\nTask: ", id);
    if (rc == SK_OK)
        rc = put_value(out, json_object_get(p, "task"));
    if (rc == SK_OK)
        rc = put_side(out, "Previous skill", prev);
    if (rc == SK_OK)
        rc = put_side(out, "Current skill", curr);
    if (rc == SK_OK)
        rc = put_reason(out, "Previous", prev);
    if (rc == SK_OK)
        rc = put_reason(out, "Current", curr);
    if (rc == SK_OK && traj)
        rc = put_fenced(out, "Previous", prev_dir, id);
    if (rc == SK_OK && traj)
        rc = put_fenced(out, "Current", curr_dir, id);
    return rc;
}

int sk_pairs_render(const json_t *pairs, const char *prev_pred_dir,
                    const char *curr_pred_dir, struct sk_buf *out)
{
    /* Section order: regressions first, they matter most. */
    static const struct {
        int cat;
        const char *title;
        int traj;
    } sections[4] = {
        {1, "Regressed (pass -> fail) - HIGHEST PRIORITY", 1},
        {2, "Persistent failures (fail -> fail)", 1},
        {0, "Improved (fail -> pass)", 1},
        {3, "Stable successes (pass -> pass)", 0},
    };
    struct sk_pair_counts c;
    const json_t *p;
    size_t mark = out->len, i, s, shown;
    int rc;

    sk_pairs_count(pairs, &c);
    rc = sk_buf_printf(out,
                       "### Summary\nCompared items: %zu\n"
                       "- Regressed (pass -> fail): %zu\n"
                       "- Persistent failures (fail -> fail): %zu\n"
                       "- Improved (fail -> pass): %zu\n"
                       "- Stable successes (pass -> pass): %zu",
                       json_array_size(pairs), c.regressed, c.persistent_fail,
                       c.improved, c.stable_success);
    for (s = 0; s < 4 && rc == SK_OK; s++) {
        rc = sk_buf_printf(out, "\n\n### %s", sections[s].title);
        shown = 0;
        json_array_foreach(pairs, i, p)
        {
            const char *cat = json_string_value(json_object_get(p, "category"));
            if (rc != SK_OK || !cat ||
                strcmp(cat, cat_names[sections[s].cat]) != 0)
                continue;
            rc = put_entry(out, p, sections[s].traj, prev_pred_dir,
                           curr_pred_dir);
            shown++;
        }
        if (rc == SK_OK && shown == 0)
            rc = sk_buf_puts(out, "\n(none)");
    }
    if (rc == SK_OK)
        rc = sk_buf_putc(out, '\n');
    if (rc != SK_OK)
        sk_buf_truncate(out, mark);
    return rc;
}

/* ---- optimizer calls ------------------------------------------------ */

/* A new copy of text[0..len) without surrounding whitespace. */
static char *strip_dup(const char *text, size_t len)
{
    size_t a = skill_lstrip(text, len);
    size_t b = skill_rstrip(text, len);
    return sk_strndup(text + a, b > a ? b - a : 0);
}

static int is_blank(const char *s)
{
    return !s || skill_rstrip(s, strlen(s)) == 0;
}

/* The parsed reply if it is an object whose key holds a string. */
static int usable_reply(const char *text, const char *key, json_t **obj)
{
    json_t *v = NULL;
    int rc = sk_extract_json(text, strlen(text), &v, NULL);
    *obj = NULL;
    if (rc == SK_ENOMEM)
        return rc;
    if (rc == SK_OK && json_is_object(v) &&
        json_is_string(json_object_get(v, key))) {
        *obj = v;
        return SK_OK;
    }
    json_decref(v);
    return SK_OK;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Sends user under the template tmpl (stage = tmpl), with one format
 * retry; *reply gets the usable object or NULL.
 */
static int epoch_call(struct sk_llm_client *c, const char *tmpl,
                      const char *key, const char *user,
                      const struct sk_slow_call_opts *o, json_t **reply,
                      struct sk_error *err)
{
    struct sk_buf sys, rem;
    struct sk_llm_request req;
    struct sk_llm_message msgs[3];
    struct sk_llm_result res, res2;
    int rc;

    *reply = NULL;
    sk_buf_init(&sys, SK_BUF_UNLIMITED);
    sk_buf_init(&rem, SK_BUF_UNLIMITED);
    sk_llm_result_init(&res);
    sk_llm_result_init(&res2);
    rc = sk_prompt_lookup(tmpl, o ? o->bench : NULL, o ? o->prompts_dir : NULL,
                          &sys, err);
    if (rc == SK_OK)
        rc = sk_prompt_lookup("format_reminder", o ? o->bench : NULL,
                              o ? o->prompts_dir : NULL, &rem, err);
    if (rc != SK_OK)
        goto out;
    memset(&req, 0, sizeof req);
    memset(msgs, 0, sizeof msgs);
    msgs[0].role = "user";
    msgs[0].content = user;
    req.role = SK_ROLE_OPTIMIZER;
    req.stage = tmpl;
    req.want_json = 1;
    req.system = sys.data;
    req.messages = msgs;
    req.n_messages = 1;
    req.max_tokens =
        o && o->max_tokens > 0 ? o->max_tokens : SK_SLOW_MAX_TOKENS;
    if (sk_llm_call(c, &req, &res) != SK_OK) {
        sk_warn("%s: optimizer call failed: %s", tmpl, res.error);
        goto out;
    }
    rc = usable_reply(res.text, key, reply);
    if (rc != SK_OK || *reply)
        goto out;
    sk_llm_client_note_unusable(c, tmpl, res.text);
    msgs[1].role = "assistant";
    msgs[1].content = res.text;
    msgs[2].role = "user";
    msgs[2].content = rem.data;
    req.n_messages = 3;
    if (sk_llm_call(c, &req, &res2) != SK_OK) {
        sk_warn("%s: optimizer retry failed: %s", tmpl, res2.error);
        goto out;
    }
    rc = usable_reply(res2.text, key, reply);
    if (rc == SK_OK && !*reply) {
        sk_llm_client_note_unusable(c, tmpl, res2.text);
        sk_warn("%s: optimizer reply unusable twice", tmpl);
    }
out:
    if (rc == SK_ENOMEM)
        sk_error_set(err, SK_ENOMEM, "%s: out of memory", tmpl);
    sk_llm_result_release(&res);
    sk_llm_result_release(&res2);
    sk_buf_release(&sys);
    sk_buf_release(&rem);
    return rc;
}

/*
 * Runs the call and builds the record {reasoning, <key>, time_s[, action]}.
 * write_action is the action on success (NULL: leave it to the caller).
 */
static int epoch_update(struct sk_llm_client *c, const char *tmpl,
                        const char *key, const char *write_action,
                        const char *user, const struct sk_slow_call_opts *o,
                        char **content, json_t **record, struct sk_error *err)
{
    json_t *reply = NULL, *rec = NULL;
    const char *r, *t;
    char *reasoning = NULL, *text = NULL;
    double t0 = now_s();
    int rc;

    rc = epoch_call(c, tmpl, key, user, o, &reply, err);
    if (rc != SK_OK)
        goto out;
    rc = SK_ENOMEM;
    r = json_string_value(json_object_get(reply, "reasoning"));
    t = json_string_value(json_object_get(reply, key));
    reasoning = strip_dup(r ? r : "", r ? strlen(r) : 0);
    text = strip_dup(t ? t : "", t ? strlen(t) : 0);
    if (!reasoning || !text)
        goto out;
    rec = json_pack("{s:s, s:s, s:f}", "reasoning", reasoning, key, text,
                    "time_s", now_s() - t0);
    if (!rec)
        goto out;
    if (!*text) {
        if (json_object_set_new(rec, "action", json_string(SK_SLOW_NO_CONTENT)))
            goto out;
        sk_free(text);
        text = NULL;
    } else if (write_action &&
               json_object_set_new(rec, "action", json_string(write_action))) {
        goto out;
    }
    *content = text;
    *record = rec;
    text = NULL;
    rec = NULL;
    rc = SK_OK;
out:
    if (rc == SK_ENOMEM)
        sk_error_set(err, SK_ENOMEM, "%s: out of memory", tmpl);
    json_decref(reply);
    json_decref(rec);
    sk_free(reasoning);
    sk_free(text);
    return rc;
}

/* "## <title>\n" (title NULL: none) + stripped text (or placeholder) + "\n\n".
 */
static int put_section(struct sk_buf *b, const char *title, const char *text,
                       const char *placeholder)
{
    size_t a, e;
    if (title && sk_buf_printf(b, "## %s\n", title) != SK_OK)
        return SK_ENOMEM;
    if (is_blank(text))
        return sk_buf_printf(b, "%s\n\n", placeholder);
    a = skill_lstrip(text, strlen(text));
    e = skill_rstrip(text, strlen(text));
    if (sk_buf_append(b, text + a, e - a) != SK_OK)
        return SK_ENOMEM;
    return sk_buf_puts(b, "\n\n");
}

static int put_comparison(struct sk_buf *b, const char *pairs_text,
                          size_t n_compared)
{
    if (sk_buf_printf(b,
                      "## Comparison on the same %zu training item%s under "
                      "both skills\n",
                      n_compared, n_compared == 1 ? "" : "s") != SK_OK)
        return SK_ENOMEM;
    return sk_buf_puts(b, pairs_text ? pairs_text : "(no comparison)\n");
}

int sk_slow_update_call(struct sk_llm_client *c, const char *prev_skill,
                        const char *curr_skill, const char *pairs_text,
                        size_t n_compared, const struct sk_slow_call_opts *opts,
                        char **content, json_t **record, struct sk_error *err)
{
    struct sk_buf user;
    char *guide = NULL;
    int rc;

    *content = NULL;
    *record = NULL;
    if (!prev_skill || !curr_skill)
        return sk_error_set(err, SK_EINVAL, "slow_update: skill missing");
    sk_buf_init(&user, SK_BUF_UNLIMITED);
    rc = sk_skill_slow_update_content(curr_skill, strlen(curr_skill), &guide);
    if (rc != SK_OK)
        goto out;
    rc = SK_ENOMEM;
    if (put_section(&user, "Previous Epoch's Skill", prev_skill, "(empty)") ||
        put_section(&user, "Current Skill", curr_skill, "(empty)") ||
        sk_buf_puts(&user,
                    "## Guidance Currently in the Block\n"
                    "This guidance was in force during the epoch that just "
                    "ended. Judge from the comparison below whether it "
                    "helped before you write its replacement.\n\n") ||
        put_section(&user, NULL, guide,
                    "(None yet: this is the first slow update.)") ||
        put_comparison(&user, pairs_text, n_compared))
        goto out;
    rc = epoch_update(c, "slow_update", "slow_update_content", NULL, user.data,
                      opts, content, record, err);
out:
    if (rc == SK_ENOMEM)
        sk_error_set(err, SK_ENOMEM, "slow_update: out of memory");
    sk_free(guide);
    sk_buf_release(&user);
    return rc;
}

int sk_meta_skill_call(struct sk_llm_client *c, const char *prev_skill,
                       const char *curr_skill, const char *prev_meta,
                       const char *pairs_text, size_t n_compared,
                       const struct sk_slow_call_opts *opts, char **content,
                       json_t **record, struct sk_error *err)
{
    struct sk_buf user;
    int rc = SK_ENOMEM;

    *content = NULL;
    *record = NULL;
    if (!prev_skill || !curr_skill)
        return sk_error_set(err, SK_EINVAL, "meta_skill: skill missing");
    sk_buf_init(&user, SK_BUF_UNLIMITED);
    if (put_section(&user, "Previous Epoch's Skill", prev_skill, "(empty)") ||
        put_section(&user, "Current Skill", curr_skill, "(empty)") ||
        put_section(&user, "Previous Meta Skill", prev_meta,
                    "(None yet: this is the first meta skill.)") ||
        put_comparison(&user, pairs_text, n_compared)) {
        sk_error_set(err, SK_ENOMEM, "meta_skill: out of memory");
        goto out;
    }
    rc = epoch_update(c, "meta_skill", "meta_skill_content", SK_META_WRITE,
                      user.data, opts, content, record, err);
out:
    sk_buf_release(&user);
    return rc;
}

int sk_meta_block(const char *content, struct sk_buf *out)
{
    size_t mark = out->len, a, e;
    int rc;
    if (is_blank(content))
        return SK_OK;
    a = skill_lstrip(content, strlen(content));
    e = skill_rstrip(content, strlen(content));
    rc = sk_buf_puts(out, "## Optimizer Meta Skill\n"
                          "Advice distilled from earlier epochs of this run. "
                          "Follow it when the evidence in front of you is "
                          "ambiguous; do not let it override clear "
                          "evidence.\n\n");
    if (rc == SK_OK)
        rc = sk_buf_append(out, content + a, e - a);
    if (rc == SK_OK)
        rc = sk_buf_putc(out, '\n');
    if (rc != SK_OK)
        sk_buf_truncate(out, mark);
    return rc;
}
