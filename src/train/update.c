/*
 * update.c - the rewrite modes' UPDATE phase and the appendix
 * consolidation call (algorithm.md 5.4, 7.4, 10.2).  Both calls share one
 * exchange: template lookup, the call, JSON extraction and one retry with
 * the format reminder.  Applying patches and writing step files are not
 * done here.
 */
#include "common.h"

#include "train/update.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "llm/client.h"
#include "skill/skill.h"
#include "train/merge.h"
#include "train/prompt.h"
#include "train/reflect.h"
#include "train/rundir.h"
#include "train/schedule.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/jsonx.h"
#include "util/log.h"

/* Whether a parsed reply is worth keeping (else: format retry). */
typedef int (*usable_fn)(const json_t *reply);

/* One optimizer exchange: what to send and how to judge the reply. */
struct exchange {
    const char *tmpl;  /* template name, also the stage unless stage set */
    const char *stage; /* NULL: tmpl */
    const char *user;
    long max_tokens;
    const char *effort;   /* NULL: the role's */
    usable_fn usable;     /* reply test */
    const char *fail_dir; /* where bad replies go; NULL: not saved */
    const char *fail_tag; /* file name prefix */
    size_t n_parse_failures;
    char why[600]; /* why there is no reply */
};

static int is_blank(const char *s)
{
    return !s || skill_rstrip(s, strlen(s)) == 0;
}

/* Writes a reply that did not parse to <dir>/<tag>_<attempt>.txt. */
static int save_failure(const struct exchange *x, int attempt, const char *text,
                        struct sk_error *err)
{
    char name[80];
    char *p;
    int rc;
    if (!x->fail_dir)
        return SK_OK;
    snprintf(name, sizeof name, "%s_%d.txt", x->fail_tag, attempt);
    rc = sk_fs_mkdirs(x->fail_dir, err);
    if (rc != SK_OK)
        return rc;
    p = sk_fs_join(x->fail_dir, name);
    if (!p)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    rc = sk_fs_write_atomic(p, text, strlen(text), err);
    sk_free(p);
    return rc;
}

/* The parsed reply when usable, else NULL; SK_ENOMEM only for memory. */
static int parse_reply(const struct exchange *x, const char *text,
                       json_t **reply)
{
    json_t *v = NULL;
    int rc = sk_extract_json(text, strlen(text), &v, NULL);
    *reply = NULL;
    if (rc == SK_ENOMEM)
        return rc;
    if (rc == SK_OK && x->usable(v)) {
        *reply = v;
        return SK_OK;
    }
    json_decref(v);
    return SK_OK;
}

/*
 * Runs the exchange x with the opts' templates.  *reply gets the usable
 * object or NULL (x->why then says why).  Returns SK_OK, or a template,
 * file or memory error.
 */
static int exchange_run(struct sk_llm_client *c, struct exchange *x,
                        const struct sk_update_call_opts *o, json_t **reply,
                        struct sk_error *err)
{
    struct sk_buf sys, rem;
    struct sk_llm_request req;
    struct sk_llm_message msgs[3];
    struct sk_llm_result res[2];
    const char *stage = x->stage ? x->stage : x->tmpl;
    int rc, attempt;

    *reply = NULL;
    x->why[0] = '\0';
    sk_buf_init(&sys, SK_PROMPT_MAX_FILE);
    sk_buf_init(&rem, SK_PROMPT_MAX_FILE);
    sk_llm_result_init(&res[0]);
    sk_llm_result_init(&res[1]);
    rc = sk_prompt_lookup(x->tmpl, o ? o->bench : NULL,
                          o ? o->prompts_dir : NULL, &sys, err);
    if (rc == SK_OK)
        rc = sk_prompt_lookup("format_reminder", o ? o->bench : NULL,
                              o ? o->prompts_dir : NULL, &rem, err);
    if (rc != SK_OK)
        goto out;
    memset(&req, 0, sizeof req);
    memset(msgs, 0, sizeof msgs);
    msgs[0].role = "user";
    msgs[0].content = x->user;
    msgs[2].role = "user";
    msgs[2].content = rem.data;
    req.role = SK_ROLE_OPTIMIZER;
    req.stage = stage;
    req.system = sys.data;
    req.messages = msgs;
    req.max_tokens = x->max_tokens;
    req.want_json = 1;
    req.reasoning_effort = x->effort && *x->effort ? x->effort : NULL;
    for (attempt = 1; attempt <= 2; attempt++) {
        struct sk_llm_result *r = &res[attempt - 1];
        /* the retry shows the bad reply, then the reminder */
        req.n_messages = attempt == 1 ? 1 : 3;
        if (sk_llm_call(c, &req, r) != SK_OK) {
            snprintf(x->why, sizeof x->why, "optimizer call failed: %s",
                     r->error[0] ? r->error : "unknown error");
            sk_warn("%s: %s", stage, x->why);
            goto out;
        }
        rc = parse_reply(x, r->text, reply);
        if (rc != SK_OK || *reply)
            goto out;
        x->n_parse_failures++;
        rc = save_failure(x, attempt, r->text, err);
        if (rc != SK_OK)
            goto out;
        if (attempt == 1) {
            sk_info("%s: reply unusable; retrying with the format reminder",
                    stage);
            msgs[1].role = "assistant";
            msgs[1].content = r->text;
        }
    }
    snprintf(x->why, sizeof x->why,
             "optimizer reply unusable after a format retry");
    sk_warn("%s: %s", stage, x->why);
out:
    if (rc == SK_ENOMEM)
        sk_error_set(err, SK_ENOMEM, "%s: out of memory", stage);
    sk_llm_result_release(&res[0]);
    sk_llm_result_release(&res[1]);
    sk_buf_release(&sys);
    sk_buf_release(&rem);
    return rc;
}

/* ---- rewrite_from_suggestions ---------------------------------------- */

static int rewrite_usable(const json_t *reply)
{
    return json_is_object(reply) &&
           json_is_string(json_object_get(reply, "new_skill"));
}

/* rstrip(v) + "\n" for a non-blank string v, else NULL (*nomem on OOM). */
static char *skill_candidate(const json_t *v, int *nomem)
{
    const char *s = json_string_value(v);
    size_t n;
    char *out;
    *nomem = 0;
    if (!s)
        return NULL;
    n = skill_rstrip(s, json_string_length(v));
    if (n == 0)
        return NULL;
    out = sk_malloc(n + 2);
    if (!out) {
        *nomem = 1;
        return NULL;
    }
    memcpy(out, s, n);
    out[n] = '\n';
    out[n + 1] = '\0';
    return out;
}

static int rewrite_user(const char *skill, const json_t *items,
                        const char *step_buffer, struct sk_buf *b)
{
    int rc = sk_buf_printf(b,
                           "## Current Skill\n%s\n\n"
                           "## Selected Revise Suggestions (%zu total)\n",
                           skill, json_array_size(items));
    if (rc == SK_OK)
        rc = sk_json_dump_py(items, 2, b);
    if (rc == SK_OK)
        rc = sk_buf_puts(b, "\n\n");
    if (rc == SK_OK && !is_blank(step_buffer))
        rc = sk_buf_printf(b, "## Previous Steps in This Epoch\n%s\n\n",
                           step_buffer);
    if (rc == SK_OK)
        rc = sk_buf_puts(b, "Rewrite the whole skill so that it carries out "
                            "the selected suggestions, and return the "
                            "complete new skill in `new_skill`.");
    return rc;
}

/* {"error": why} added to rec (a new object when rec is NULL). */
static json_t *with_error(json_t *rec, const char *why)
{
    if (!rec)
        rec = json_object();
    if (rec && json_object_set_new(rec, "error", json_string(why)) != 0) {
        json_decref(rec);
        rec = NULL;
    }
    return rec;
}

int sk_update_rewrite(struct sk_llm_client *c, const char *skill,
                      const json_t *selected, const char *step_buffer,
                      const struct sk_update_call_opts *o, char **candidate,
                      json_t **record, size_t *n_parse_failures,
                      const char *parse_failures_dir, struct sk_error *err)
{
    struct exchange x;
    struct sk_buf user;
    const json_t *items;
    json_t *reply = NULL, *rec = NULL, *cs;
    char *cand = NULL;
    int rc, nomem;

    if (candidate)
        *candidate = NULL;
    if (record)
        *record = NULL;
    if (!c || !skill || !candidate || !record)
        return sk_error_set(err, SK_EINVAL, "rewrite: missing argument");
    items =
        sk_merge_payload_items(selected, SK_UPDATE_REWRITE_FROM_SUGGESTIONS);
    if (json_array_size(items) == 0) {
        *record = with_error(NULL, "no revise suggestions selected");
        return *record ? SK_OK
                       : sk_error_set(err, SK_ENOMEM, "rewrite: out of memory");
    }
    sk_buf_init(&user, SK_BUF_UNLIMITED);
    rc = rewrite_user(skill, items, step_buffer, &user);
    if (rc != SK_OK) {
        sk_error_set(err, rc, "rewrite: user message: %s", sk_strerror(rc));
        goto out;
    }
    memset(&x, 0, sizeof x);
    x.tmpl = "rewrite_skill";
    x.stage = "rewrite";
    x.user = user.data;
    x.max_tokens =
        o && o->max_tokens > 0 ? o->max_tokens : SK_UPDATE_REWRITE_MAX_TOKENS;
    x.effort = o ? o->reasoning_effort : NULL;
    x.usable = rewrite_usable;
    x.fail_dir = parse_failures_dir;
    x.fail_tag = "rewrite";
    rc = exchange_run(c, &x, o, &reply, err);
    if (n_parse_failures)
        *n_parse_failures += x.n_parse_failures;
    if (rc != SK_OK)
        goto out;
    rc = SK_ENOMEM;
    if (!reply) {
        rec = with_error(NULL, x.why);
        if (!rec)
            goto out;
    } else {
        cand = skill_candidate(json_object_get(reply, "new_skill"), &nomem);
        rec = reply;
        reply = NULL;
        if (nomem)
            goto out;
        if (!cand) {
            sk_warn("rewrite: new_skill is blank; no candidate");
            if (!(rec = with_error(rec, "new_skill is blank")))
                goto out;
        } else {
            cs = json_object_get(rec, "change_summary");
            if (json_object_set_new(rec, "new_skill", json_string(cand)) != 0 ||
                (!json_is_array(cs) &&
                 json_object_set_new(rec, "change_summary", json_array()) != 0))
                goto out;
        }
    }
    *candidate = cand;
    *record = rec;
    cand = NULL;
    rec = NULL;
    rc = SK_OK;
out:
    if (rc == SK_ENOMEM)
        sk_error_set(err, SK_ENOMEM, "rewrite: out of memory");
    json_decref(reply);
    json_decref(rec);
    sk_free(cand);
    sk_buf_release(&user);
    return rc;
}

/* ---- full_rewrite_minibatch ------------------------------------------- */

int sk_update_full_rewrite_pick(const json_t *merged, char **candidate,
                                json_t **record)
{
    const json_t *items =
        sk_merge_payload_items(merged, SK_UPDATE_FULL_REWRITE_MINIBATCH);
    const json_t *item, *pick = NULL;
    json_t *rec = NULL, *sel, *mp;
    char *cand = NULL;
    size_t i;
    int nomem = 0;

    *candidate = NULL;
    *record = NULL;
    json_array_foreach(items, i, item)
    {
        if (!json_is_object(item))
            continue;
        cand = skill_candidate(json_object_get(item, "new_skill"), &nomem);
        if (nomem)
            return SK_ENOMEM;
        if (cand) {
            pick = item;
            break;
        }
    }
    sel = pick ? json_deep_copy(pick) : json_null();
    mp = merged ? json_deep_copy(merged) : json_null();
    rec = json_object();
    if (!rec || !sel || !mp)
        goto fail;
    /* set_new takes its value even when it fails */
    if (json_object_set_new(rec, "selected_candidate", sel) != 0) {
        sel = NULL;
        goto fail;
    }
    sel = NULL;
    if (json_object_set_new(rec, "merged_patch", mp) != 0) {
        mp = NULL;
        goto fail;
    }
    *candidate = cand;
    *record = rec;
    return SK_OK;
fail:
    json_decref(sel);
    json_decref(mp);
    json_decref(rec);
    sk_free(cand);
    return SK_ENOMEM;
}

/* ---- appendix consolidation ------------------------------------------- */

static int consolidate_usable(const json_t *reply)
{
    const json_t *v = json_object_get(reply, "appendix_notes");
    return json_is_object(reply) && (json_is_array(v) || json_is_string(v));
}

/* The string items of notes, as a new array (NULL when out of memory). */
static json_t *string_notes(const json_t *notes)
{
    json_t *out = json_array();
    const json_t *v;
    size_t i;
    if (!out)
        return NULL;
    json_array_foreach(notes, i, v)
    {
        if (json_is_string(v) && json_array_append(out, (json_t *)v) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

static int consolidate_user(const json_t *notes, struct sk_buf *b)
{
    size_t n = json_array_size(notes);
    int rc = sk_buf_printf(b, "## Current Execution Notes (%zu total)\n", n);
    if (rc == SK_OK)
        rc = sk_json_dump_py(notes, 2, b);
    if (rc == SK_OK)
        rc = sk_buf_printf(b,
                           "\n\nCompact these notes into fewer than %zu: "
                           "merge duplicates and near-duplicates, drop what "
                           "another note already says, and keep every "
                           "distinct reminder. Return the list in "
                           "`appendix_notes`.",
                           n);
    return rc;
}

int sk_update_consolidate_notes(struct sk_llm_client *c, const json_t *notes,
                                long threshold,
                                const struct sk_update_call_opts *o,
                                json_t **out, int *consolidated,
                                struct sk_error *err)
{
    struct exchange x;
    struct sk_buf user;
    json_t *clean = NULL, *reply = NULL, *list = NULL;
    size_t n;
    int rc;

    if (out)
        *out = NULL;
    if (consolidated)
        *consolidated = 0;
    if (!c || !json_is_array(notes) || !out || !consolidated)
        return sk_error_set(err, SK_EINVAL, "consolidate: bad argument");
    clean = string_notes(notes);
    if (!clean)
        return sk_error_set(err, SK_ENOMEM, "consolidate: out of memory");
    n = json_array_size(clean);
    if (threshold <= 0 || n <= (size_t)threshold) {
        *out = clean;
        return SK_OK;
    }
    sk_buf_init(&user, SK_BUF_UNLIMITED);
    rc = consolidate_user(clean, &user);
    if (rc != SK_OK) {
        sk_error_set(err, rc, "consolidate: user message: %s", sk_strerror(rc));
        goto out;
    }
    memset(&x, 0, sizeof x);
    x.tmpl = "appendix_consolidate";
    x.user = user.data;
    x.max_tokens = o && o->max_tokens > 0 ? o->max_tokens
                                          : SK_UPDATE_CONSOLIDATE_MAX_TOKENS;
    x.usable = consolidate_usable;
    rc = exchange_run(c, &x, o, &reply, err);
    if (rc != SK_OK)
        goto out;
    if (reply && !(list = sk_reflect_appendix_notes(reply))) {
        rc = sk_error_set(err, SK_ENOMEM, "consolidate: out of memory");
        goto out;
    }
    if (list && json_array_size(list) > 0 && json_array_size(list) < n) {
        sk_info("appendix_consolidate: %zu -> %zu notes", n,
                json_array_size(list));
        *out = list;
        list = NULL;
        *consolidated = 1;
    } else {
        if (reply)
            sk_info("appendix_consolidate: reply kept %zu of %zu notes; "
                    "notes unchanged",
                    json_array_size(list), n);
        *out = clean;
        clean = NULL;
    }
out:
    json_decref(clean);
    json_decref(reply);
    json_decref(list);
    sk_buf_release(&user);
    return rc;
}
