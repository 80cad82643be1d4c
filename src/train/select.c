/*
 * select.c - autonomous learning rate and ranking (algorithm.md 4.2, 4.3).
 *
 * Item descriptions reproduce Python's str()/repr() of JSON values so the
 * prompts read as the reference's did.
 */
#include "common.h"

#include "train/select.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "bench/score.h"
#include "llm/client.h"
#include "train/merge.h"
#include "train/prompt.h"
#include "train/rundir.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/jsonx.h"
#include "util/log.h"

#define SELECT_MAX_USER (64u << 20)
#define REPR_MAX_DEPTH 64

static int py_repr(const json_t *v, struct sk_buf *b, int depth);

static int py_repr_real(double d, struct sk_buf *b)
{
    char num[40];
    size_t n = sk_py_float_repr(d, num, sizeof num);
    return sk_buf_append(b, num, n);
}

static int py_repr_array(const json_t *v, struct sk_buf *b, int depth)
{
    size_t i;
    json_t *e;
    int rc = sk_buf_putc(b, '[');
    json_array_foreach(v, i, e)
    {
        if (rc == SK_OK && i > 0)
            rc = sk_buf_puts(b, ", ");
        if (rc == SK_OK)
            rc = py_repr(e, b, depth + 1);
    }
    return rc == SK_OK ? sk_buf_putc(b, ']') : rc;
}

static int py_repr_object(const json_t *v, struct sk_buf *b, int depth)
{
    const char *key;
    json_t *e;
    int rc = sk_buf_putc(b, '{'), first = 1;
    json_object_foreach((json_t *)v, key, e)
    {
        if (rc == SK_OK && !first)
            rc = sk_buf_puts(b, ", ");
        first = 0;
        if (rc == SK_OK)
            rc = sk_score_py_repr(key, strlen(key), b);
        if (rc == SK_OK)
            rc = sk_buf_puts(b, ": ");
        if (rc == SK_OK)
            rc = py_repr(e, b, depth + 1);
    }
    return rc == SK_OK ? sk_buf_putc(b, '}') : rc;
}

/* Python repr() of the value jansson parsed (dicts keep key order). */
static int py_repr(const json_t *v, struct sk_buf *b, int depth)
{
    if (depth > REPR_MAX_DEPTH)
        return sk_buf_puts(b, "...");
    if (!v)
        return sk_buf_puts(b, "None");
    switch (json_typeof(v)) {
    case JSON_STRING:
        return sk_score_py_repr(json_string_value(v), json_string_length(v), b);
    case JSON_INTEGER:
        return sk_buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    case JSON_REAL:
        return py_repr_real(json_real_value(v), b);
    case JSON_TRUE:
        return sk_buf_puts(b, "True");
    case JSON_FALSE:
        return sk_buf_puts(b, "False");
    case JSON_ARRAY:
        return py_repr_array(v, b, depth);
    case JSON_OBJECT:
        return py_repr_object(v, b, depth);
    case JSON_NULL:
    default:
        return sk_buf_puts(b, "None");
    }
}

/* Python str(): strings as they are, everything else as repr(). */
static int py_str(const json_t *v, struct sk_buf *b)
{
    if (json_is_string(v))
        return sk_buf_append(b, json_string_value(v), json_string_length(v));
    return py_repr(v, b, 0);
}

static int py_truthy(const json_t *v)
{
    if (!v)
        return 0;
    switch (json_typeof(v)) {
    case JSON_STRING:
        return json_string_length(v) > 0;
    case JSON_INTEGER:
        return json_integer_value(v) != 0;
    case JSON_REAL:
        return json_real_value(v) != 0.0;
    case JSON_TRUE:
        return 1;
    case JSON_ARRAY:
        return json_array_size(v) > 0;
    case JSON_OBJECT:
        return json_object_size(v) > 0;
    default:
        return 0;
    }
}

/* Python's str.strip() whitespace, ASCII part. */
static int py_space(unsigned char ch)
{
    return ch == ' ' || (ch >= '\t' && ch <= '\r') ||
           (ch >= 0x1c && ch <= 0x1f);
}

/* "<sep><name>=" then str() or repr() of v. */
static int put_field(struct sk_buf *b, const char *name, const json_t *v,
                     int repr, const char *dflt)
{
    int rc = sk_buf_printf(b, "%s%s=", b->len > 0 ? "  " : "", name);
    if (rc != SK_OK)
        return rc;
    if (!v)
        return repr ? sk_score_py_repr(dflt, strlen(dflt), b)
                    : sk_buf_puts(b, dflt);
    return repr ? py_repr(v, b, 0) : py_str(v, b);
}

static int describe_patch(const json_t *item, struct sk_buf *b)
{
    const json_t *v;
    int rc = put_field(b, "op", json_object_get(item, "op"), 0, "?");
    v = json_object_get(item, "target");
    if (rc == SK_OK && py_truthy(v))
        rc = put_field(b, "target", v, 1, "");
    v = json_object_get(item, "content");
    if (rc == SK_OK && py_truthy(v))
        rc = put_field(b, "content", v, 1, "");
    return rc;
}

static int describe_rewrite(const json_t *item, struct sk_buf *b)
{
    const json_t *v;
    int rc = put_field(b, "type", json_object_get(item, "type"), 0, "?");
    if (rc == SK_OK)
        rc = put_field(b, "title", json_object_get(item, "title"), 1, "");
    if (rc == SK_OK)
        rc = put_field(b, "instruction", json_object_get(item, "instruction"),
                       1, "");
    v = json_object_get(item, "priority_hint");
    if (rc == SK_OK && py_truthy(v))
        rc = put_field(b, "priority", v, 0, "");
    return rc;
}

static int describe_full(const json_t *item, struct sk_buf *b)
{
    const json_t *v;
    int rc = put_field(b, "title", json_object_get(item, "title"), 1, "");
    if (rc == SK_OK) {
        v = json_object_get(item, "change_summary");
        rc = v ? put_field(b, "change_summary", v, 1, "")
               : sk_buf_puts(b, "  change_summary=[]");
    }
    v = json_object_get(item, "source_type");
    if (rc == SK_OK && py_truthy(v))
        rc = put_field(b, "source", v, 0, "");
    return rc;
}

/* new_skill_preview of a full-rewrite item: repr(str(new_skill).strip()). */
static int describe_new_skill(const json_t *item, struct sk_buf *b)
{
    const json_t *v = json_object_get(item, "new_skill");
    struct sk_buf t;
    size_t s = 0, e;
    int rc;
    if (!v)
        return SK_OK;
    sk_buf_init(&t, b->max);
    rc = py_str(v, &t);
    if (rc == SK_OK && t.len > 0) {
        e = t.len;
        while (s < e && py_space((unsigned char)t.data[s]))
            s++;
        while (e > s && py_space((unsigned char)t.data[e - 1]))
            e--;
        if (e > s) {
            rc = sk_buf_puts(b, "  new_skill_preview=");
            if (rc == SK_OK)
                rc = sk_score_py_repr(t.data + s, e - s, b);
        }
    }
    sk_buf_release(&t);
    return rc;
}

int sk_select_describe_item(const json_t *item, enum sk_skill_update_mode mode,
                            struct sk_buf *out)
{
    struct sk_buf b;
    const json_t *sup;
    int rc;
    if (!json_is_object(item))
        return SK_OK;
    sk_buf_init(&b, out->max);
    if (mode == SK_UPDATE_FULL_REWRITE_MINIBATCH)
        rc = describe_full(item, &b);
    else if (mode == SK_UPDATE_REWRITE_FROM_SUGGESTIONS)
        rc = describe_rewrite(item, &b);
    else
        rc = describe_patch(item, &b);
    sup = json_object_get(item, "support_count");
    if (rc == SK_OK && sup && !json_is_null(sup))
        rc = put_field(&b, "support", sup, 0, "");
    if (rc == SK_OK && mode == SK_UPDATE_FULL_REWRITE_MINIBATCH)
        rc = describe_new_skill(item, &b);
    if (rc == SK_OK && b.len > 0)
        rc = sk_buf_append(out, b.data, b.len);
    sk_buf_release(&b);
    return rc;
}

static int is_blank(const char *s)
{
    if (!s)
        return 1;
    for (; *s; s++)
        if (!py_space((unsigned char)*s))
            return 0;
    return 1;
}

/* [meta block + blank line] "## Current Skill\n" skill "\n\n". */
static int put_head(struct sk_buf *b, const char *meta, const char *skill)
{
    int rc = SK_OK;
    if (!is_blank(meta)) {
        rc = sk_buf_puts(b, meta);
        if (rc == SK_OK)
            rc = sk_buf_puts(b, "\n\n");
    }
    if (rc == SK_OK)
        rc = sk_buf_printf(b, "## Current Skill\n%s\n\n", skill);
    return rc;
}

/* "[i] <description>" lines joined by "\n". */
static int put_items(struct sk_buf *b, const json_t *items,
                     enum sk_skill_update_mode mode)
{
    size_t i;
    json_t *e;
    int rc = SK_OK;
    json_array_foreach(items, i, e)
    {
        rc = sk_buf_printf(b, "%s[%zu] ", i > 0 ? "\n" : "", i);
        if (rc == SK_OK)
            rc = sk_select_describe_item(e, mode, b);
        if (rc != SK_OK)
            break;
    }
    return rc;
}

/* 1 if text holds a JSON object (the shape every select reply needs). */
static int holds_object(const char *text)
{
    json_t *v = NULL;
    int ok = sk_extract_json(text, strlen(text), &v, NULL) == SK_OK &&
             json_is_object(v);
    json_decref(v);
    return ok;
}

/*
 * One optimizer call, and when its reply holds no JSON object one retry
 * with the format reminder (bench/prompts_dir select the template) as a
 * further user turn.  Unusable replies are reported to the client's hook.
 * *text gets the last reply (sk_free) or NULL when a call failed, with
 * errbuf holding the client's message.
 */
static void call_once(struct sk_llm_client *c, const char *stage,
                      const char *system, const char *user, long max_tokens,
                      const char *bench, const char *prompts_dir, char **text,
                      char *errbuf, size_t errsz)
{
    struct sk_llm_request req;
    struct sk_llm_message msgs[3];
    struct sk_llm_result res;
    struct sk_buf rem;
    struct sk_error err;

    memset(&req, 0, sizeof req);
    memset(msgs, 0, sizeof msgs);
    msgs[0].role = "user";
    msgs[0].content = user;
    req.role = SK_ROLE_OPTIMIZER;
    req.stage = stage;
    req.want_json = 1;
    req.system = system;
    req.messages = msgs;
    req.n_messages = 1;
    req.max_tokens = max_tokens;
    sk_llm_result_init(&res);
    *text = NULL;
    if (sk_llm_call(c, &req, &res) != SK_OK) {
        snprintf(errbuf, errsz, "%s", res.error[0] ? res.error : "call failed");
        sk_llm_result_release(&res);
        return;
    }
    *text = res.text;
    res.text = NULL;
    sk_llm_result_release(&res);
    if (holds_object(*text))
        return;
    sk_llm_client_note_unusable(c, stage, *text);
    sk_buf_init(&rem, SK_PROMPT_MAX_FILE);
    if (sk_prompt_lookup("format_reminder", bench, prompts_dir, &rem, &err) !=
        SK_OK) {
        sk_buf_release(&rem);
        return; /* the first reply goes to the stage's fallback */
    }
    msgs[1].role = "assistant";
    msgs[1].content = *text;
    msgs[2].role = "user";
    msgs[2].content = rem.data;
    req.n_messages = 3;
    sk_llm_result_init(&res);
    if (sk_llm_call(c, &req, &res) == SK_OK) {
        if (!holds_object(res.text))
            sk_llm_client_note_unusable(c, stage, res.text);
        sk_free(*text);
        *text = res.text;
        res.text = NULL;
    }
    sk_llm_result_release(&res);
    sk_buf_release(&rem);
}

static const char *reasoning_of(const json_t *patch)
{
    const char *r = json_string_value(json_object_get(patch, "reasoning"));
    return r ? r : "";
}

/* {"reasoning": base + suffix, <key>: items[, "ranking_details": det]};
 * items stolen. */
static json_t *selected_patch(const json_t *merged, const char *suffix,
                              enum sk_skill_update_mode mode, json_t *items,
                              json_t *details)
{
    struct sk_buf r;
    json_t *p = json_object();
    sk_buf_init(&r, SK_BUF_UNLIMITED);
    if (!p || !items || sk_buf_puts(&r, reasoning_of(merged)) != SK_OK ||
        sk_buf_puts(&r, suffix) != SK_OK ||
        json_object_set_new(p, "reasoning", json_stringn(r.data, r.len)) != 0 ||
        json_object_set(p, sk_merge_payload_key(mode), items) != 0 ||
        (details && json_object_set(p, "ranking_details", details) != 0)) {
        json_decref(p);
        p = NULL;
    }
    json_decref(items);
    sk_buf_release(&r);
    return p;
}

/* Walks selected_indices; returns the kept items (new array) or NULL. */
static json_t *walk_indices(const json_t *reply, const json_t *items, long k,
                            int *nomem)
{
    const json_t *idx = json_object_get(reply, "selected_indices"), *e;
    size_t n = json_array_size(items), i;
    unsigned char *seen = NULL;
    json_t *out = NULL;
    *nomem = 1;
    if (!json_is_array(idx)) {
        *nomem = 0;
        return NULL;
    }
    seen = sk_calloc(n, 1);
    out = json_array();
    if (!seen || !out)
        goto fail;
    json_array_foreach(idx, i, e)
    {
        json_int_t v;
        if (!json_is_integer(e))
            continue;
        v = json_integer_value(e);
        if (v < 0 || (size_t)v >= n || seen[v])
            continue;
        seen[v] = 1;
        if (json_array_append(out, json_array_get(items, (size_t)v)) != 0)
            goto fail;
        if ((long)json_array_size(out) >= k)
            break;
    }
    sk_free(seen);
    *nomem = 0;
    if (json_array_size(out) == 0) {
        json_decref(out);
        return NULL;
    }
    return out;
fail:
    sk_free(seen);
    json_decref(out);
    return NULL;
}

static int ranking_user(const json_t *items, long k,
                        enum sk_skill_update_mode mode, const char *skill,
                        const char *meta, struct sk_buf *b)
{
    const char *label = sk_merge_payload_label(mode, 0);
    int rc = put_head(b, meta, skill);
    if (rc == SK_OK)
        rc = sk_buf_printf(b, "## %s Pool (%zu %s, budget=%ld)\n",
                           sk_merge_payload_label(mode, 1),
                           json_array_size(items), label, k);
    if (rc == SK_OK)
        rc = put_items(b, items, mode);
    if (rc == SK_OK)
        rc = sk_buf_printf(b,
                           "\n\nSelect the %ld most important %s. Return "
                           "their 0-based indices in priority order.",
                           k, label);
    return rc;
}

int sk_rank_and_select(struct sk_llm_client *c, const json_t *merged, long k,
                       enum sk_skill_update_mode mode, const char *skill,
                       const char *meta_block, const char *bench,
                       const char *prompts_dir, long max_tokens,
                       json_t **selected, struct sk_error *err)
{
    struct sk_buf sys, user;
    json_t *copy = NULL, *items, *reply = NULL, *kept = NULL;
    const char *label = sk_merge_payload_label(mode, 0);
    char *text = NULL, suffix[160], ebuf[512];
    size_t n;
    int rc, nomem = 0;

    *selected = NULL;
    if (k < 0 || !skill)
        return sk_error_set(err, SK_EINVAL,
                            "rank_and_select: budget %ld or skill invalid", k);
    copy = json_deep_copy(merged);
    if (merged && !copy)
        return sk_error_set(err, SK_ENOMEM, "rank_and_select: out of memory");
    items = sk_merge_payload_items(copy, mode);
    n = json_array_size(items);
    if (n <= (size_t)k) {
        *selected = copy ? copy : json_object();
        return *selected ? SK_OK : SK_ENOMEM;
    }
    sk_buf_init(&sys, SK_PROMPT_MAX_FILE);
    sk_buf_init(&user, SELECT_MAX_USER);
    if (k == 0) {
        /* 11.4 fixed: a zero budget applies nothing. */
        snprintf(suffix, sizeof suffix, " [budget 0: selected 0/%zu %s]", n,
                 label);
        *selected = selected_patch(copy, suffix, mode, json_array(), NULL);
        rc = *selected ? SK_OK : SK_ENOMEM;
        goto out;
    }
    rc = sk_prompt_lookup(mode == SK_UPDATE_REWRITE_FROM_SUGGESTIONS
                              ? "ranking_rewrite"
                              : "ranking",
                          bench, prompts_dir, &sys, err);
    if (rc != SK_OK)
        goto out;
    rc = ranking_user(items, k, mode, skill, meta_block, &user);
    if (rc != SK_OK)
        goto out;
    call_once(c, "ranking", sys.data, user.data,
              max_tokens > 0 ? max_tokens : SK_SELECT_MAX_TOKENS, bench,
              prompts_dir, &text, ebuf, sizeof ebuf);
    if (text) {
        rc = sk_extract_json(text, strlen(text), &reply, NULL);
        if (rc == SK_ENOMEM)
            goto out;
        rc = SK_OK;
        if (json_is_object(reply))
            kept = walk_indices(reply, items, k, &nomem);
        if (nomem) {
            rc = SK_ENOMEM;
            goto out;
        }
    } else {
        sk_warn("ranking: optimizer call failed; truncating");
    }
    if (kept) {
        snprintf(suffix, sizeof suffix,
                 " [optimizer-ranked: selected %zu/%zu %s]",
                 json_array_size(kept), n, label);
        *selected = selected_patch(copy, suffix, mode, kept, reply);
    } else {
        json_t *first = json_array();
        size_t i;
        for (i = 0; first && i < (size_t)k; i++)
            if (json_array_append(first, json_array_get(items, i)) != 0) {
                json_decref(first);
                first = NULL;
            }
        snprintf(suffix, sizeof suffix, " [fallback truncated %zu->%ld %s]", n,
                 k, label);
        *selected = selected_patch(copy, suffix, mode, first, NULL);
    }
    rc = *selected ? SK_OK : SK_ENOMEM;
out:
    if (rc != SK_OK && rc != SK_ENOTFOUND && rc != SK_EIO && rc != SK_ETOOBIG)
        sk_error_set(err, rc, "rank_and_select: %s", sk_strerror(rc));
    json_decref(reply);
    json_decref(copy);
    sk_free(text);
    sk_buf_release(&sys);
    sk_buf_release(&user);
    return rc;
}

/* First -?[0-9]+ of s[0..len), clamped at 0 and saturating. */
static int first_int(const char *s, size_t len, long long *out)
{
    size_t i = 0;
    long long v = 0;
    while (i < len && !(s[i] >= '0' && s[i] <= '9'))
        i++;
    if (i == len)
        return 0;
    if (i > 0 && s[i - 1] == '-') {
        *out = 0; /* negative: max(0, value) */
        return 1;
    }
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
        v = v > (LLONG_MAX - 9) / 10 ? LLONG_MAX : v * 10 + (s[i] - '0');
    *out = v;
    return 1;
}

int sk_lr_coerce(const json_t *v, long long *out)
{
    struct sk_buf t;
    size_t s = 0, e;
    int ok = 0;
    double d;
    if (!v || json_is_boolean(v) || json_is_null(v))
        return 0;
    if (json_is_integer(v)) {
        *out = json_integer_value(v) < 0 ? 0 : json_integer_value(v);
        return 1;
    }
    if (json_is_real(v)) {
        d = json_real_value(v);
        if (isfinite(d) && floor(d) == d) {
            *out = d <= 0 ? 0 : d >= 9.2e18 ? LLONG_MAX : (long long)d;
            return 1;
        }
    }
    if (!py_truthy(v))
        return 0; /* str(value or "") is "" */
    sk_buf_init(&t, 1u << 20);
    if (py_str(v, &t) == SK_OK) {
        e = t.len;
        while (s < e && py_space((unsigned char)t.data[s]))
            s++;
        ok = first_int(t.data + s, e - s, out);
    }
    sk_buf_release(&t);
    return ok;
}

static int lr_user(const struct sk_lr_opts *o, const json_t *items,
                   struct sk_buf *b)
{
    int rc = put_head(b, o->meta_block, o->skill);
    if (rc == SK_OK)
        rc = sk_buf_printf(b,
                           "## Current Step Evidence\nrollout_n=%ld\n"
                           "rollout_hard=%.6f\nrollout_soft=%.6f\n"
                           "proposed_update_items=%zu\nupdate_item_type=%s\n\n"
                           "## Proposed Update Items\n",
                           o->rollout_n, o->rollout_hard, o->rollout_soft,
                           json_array_size(items),
                           sk_merge_payload_label(o->mode, 0));
    if (rc == SK_OK)
        rc = put_items(b, items, o->mode);
    if (rc == SK_OK)
        rc = sk_buf_puts(b, "\n\nDecide how many proposed update items "
                            "should be applied now.");
    if (rc == SK_OK && !is_blank(o->step_buffer))
        rc = sk_buf_printf(b, "\n\n## Previous Steps in This Epoch\n%s",
                           o->step_buffer);
    return rc;
}

static json_t *field_or(const json_t *parsed, const char *key, json_t *dflt)
{
    json_t *v = json_object_get(parsed, key);
    if (v) {
        json_decref(dflt);
        return json_incref(v);
    }
    return dflt;
}

static json_t *lr_record(long long decision, int fallback, size_t available,
                         const json_t *parsed, const char *response,
                         const char *error)
{
    long long chosen =
        decision < (long long)available ? decision : (long long)available;
    json_t *r = json_object(), *ev = NULL;
    if (error)
        ev = json_string(error);
    else if (parsed && json_object_get(parsed, "error"))
        ev = json_incref(json_object_get(parsed, "error"));
    if (!r || json_object_set_new(r, "learning_rate", json_integer(chosen)) ||
        json_object_set_new(r, "raw_learning_rate", json_integer(decision)) ||
        json_object_set_new(r, "available_update_items",
                            json_integer((json_int_t)available)) ||
        json_object_set_new(r, "clamped", json_boolean(chosen != decision)) ||
        json_object_set_new(r, "fallback", json_boolean(fallback)) ||
        json_object_set_new(r, "reasoning",
                            field_or(parsed, "reasoning", json_string(""))) ||
        json_object_set_new(r, "confidence",
                            field_or(parsed, "confidence", json_string(""))) ||
        json_object_set_new(r, "risk_notes",
                            field_or(parsed, "risk_notes", json_array())) ||
        json_object_set_new(r, "raw_response",
                            json_string(response ? response : "")) ||
        (ev && json_object_set(r, "error", ev))) {
        json_decref(r);
        r = NULL;
    }
    json_decref(ev);
    return r;
}

int sk_autonomous_lr(struct sk_llm_client *c, const struct sk_lr_opts *o,
                     json_t **record, struct sk_error *err)
{
    struct sk_buf sys, user;
    const json_t *items;
    json_t *parsed = NULL;
    const char *error = NULL;
    char *text = NULL, ebuf[512];
    long long decision = 0;
    int rc, have = 0;

    *record = NULL;
    if (!o || !o->skill)
        return sk_error_set(err, SK_EINVAL, "autonomous lr: no skill");
    items = sk_merge_payload_items(o->merged, o->mode);
    sk_buf_init(&sys, SK_PROMPT_MAX_FILE);
    sk_buf_init(&user, SELECT_MAX_USER);
    rc = sk_prompt_lookup("lr_autonomous", o->bench, o->prompts_dir, &sys, err);
    if (rc != SK_OK)
        goto out;
    rc = lr_user(o, items, &user);
    if (rc != SK_OK) {
        sk_error_set(err, rc, "autonomous lr: %s", sk_strerror(rc));
        goto out;
    }
    ebuf[0] = '\0';
    call_once(c, "lr_autonomous", sys.data, user.data,
              o->max_tokens > 0 ? o->max_tokens : SK_SELECT_MAX_TOKENS,
              o->bench, o->prompts_dir, &text, ebuf, sizeof ebuf);
    if (!text) {
        error = ebuf;
        sk_warn("autonomous lr: optimizer call failed; learning rate 0");
    } else {
        rc = sk_extract_json(text, strlen(text), &parsed, NULL);
        if (rc == SK_ENOMEM) {
            sk_error_set(err, rc, "autonomous lr: out of memory");
            goto out;
        }
        rc = SK_OK;
        if (parsed && !json_is_object(parsed) && py_truthy(parsed))
            error = "reply is not a JSON object"; /* .get() raised */
        else if (json_is_object(parsed))
            have = sk_lr_coerce(json_object_get(parsed, "learning_rate"),
                                &decision);
    }
    if (!have)
        decision = 0;
    *record = lr_record(decision, !have, json_array_size(items),
                        json_is_object(parsed) && !error ? parsed : NULL, text,
                        error);
    rc = *record ? SK_OK
                 : sk_error_set(err, SK_ENOMEM, "autonomous lr: %s",
                                sk_strerror(SK_ENOMEM));
out:
    json_decref(parsed);
    sk_free(text);
    sk_buf_release(&sys);
    sk_buf_release(&user);
    return rc;
}

int sk_lr_history_line(const json_t *record, long step, long epoch,
                       struct sk_buf *out)
{
    json_t *line;
    size_t len0 = out->len;
    int rc;
    if (!json_is_object(record))
        return SK_EINVAL;
    line = json_object();
    if (!line || json_object_set_new(line, "step", json_integer(step)) ||
        json_object_set_new(line, "epoch", json_integer(epoch)) ||
        json_object_update(line, (json_t *)record)) {
        json_decref(line);
        return SK_ENOMEM;
    }
    rc = sk_json_dump_py(line, -1, out);
    if (rc == SK_OK)
        rc = sk_buf_putc(out, '\n');
    if (rc != SK_OK)
        sk_buf_truncate(out, len0);
    json_decref(line);
    return rc;
}
