/*
 * reflect.c - analyst calls per minibatch, reply acceptance, patch cache
 * and normalisation (algorithm.md 3, 7.4).
 */
#include "common.h"

#include "train/reflect.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "llm/client.h"
#include "train/minibatch.h"
#include "train/prompt.h"
#include "train/rundir.h"
#include "train/rollout.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/jsonx.h"
#include "util/log.h"

#define TEXT_FILE_MAX (16u << 20)

void sk_reflect_out_init(struct sk_reflect_out *o)
{
    memset(o, 0, sizeof *o);
}

void sk_reflect_out_release(struct sk_reflect_out *o)
{
    json_decref(o->failure);
    json_decref(o->success);
    json_decref(o->raw);
    json_decref(o->appendix_notes);
    sk_reflect_out_init(o);
}

static const char *payload_key(enum sk_skill_update_mode mode)
{
    if (mode == SK_UPDATE_FULL_REWRITE_MINIBATCH)
        return "skill_candidates";
    if (mode == SK_UPDATE_REWRITE_FROM_SUGGESTIONS)
        return "revise_suggestions";
    return "edits";
}

/* Python truthiness of a JSON value (missing = falsy). */
static int truthy(const json_t *v)
{
    if (!v || json_is_null(v) || json_is_false(v))
        return 0;
    if (json_is_string(v))
        return json_string_length(v) > 0;
    if (json_is_integer(v))
        return json_integer_value(v) != 0;
    if (json_is_real(v))
        return json_real_value(v) != 0.0;
    if (json_is_array(v))
        return json_array_size(v) > 0;
    if (json_is_object(v))
        return json_object_size(v) > 0;
    return 1;
}

/*
 * Appends str(v) as Python would print the value; containers are written
 * as one-line JSON, which is what a reader of the message needs.
 */
static int put_py_str(struct sk_buf *b, const json_t *v)
{
    char num[64];
    if (!v || json_is_null(v))
        return sk_buf_puts(b, "None");
    if (json_is_string(v))
        return sk_buf_append(b, json_string_value(v), json_string_length(v));
    if (json_is_true(v))
        return sk_buf_puts(b, "True");
    if (json_is_false(v))
        return sk_buf_puts(b, "False");
    if (json_is_integer(v))
        return sk_buf_printf(b, "%lld", (long long)json_integer_value(v));
    if (json_is_real(v)) {
        sk_py_float_repr(json_real_value(v), num, sizeof num);
        return sk_buf_puts(b, num);
    }
    {
        size_t before = b->len;
        int rc = sk_json_dump_py(v, -1, b);
        if (rc != SK_OK)
            sk_buf_truncate(b, before);
        return rc;
    }
}

/* str(v) with surrounding ASCII whitespace removed, as a new buffer. */
static int py_str_stripped(const json_t *v, struct sk_buf *out)
{
    size_t s = 0, e;
    int rc = put_py_str(out, v);
    if (rc != SK_OK)
        return rc;
    e = out->len;
    while (e > 0 && strchr(" \t\n\r\f\v", out->data[e - 1]))
        e--;
    while (s < e && strchr(" \t\n\r\f\v", out->data[s]))
        s++;
    if (s > 0)
        memmove(out->data, out->data + s, e - s);
    if (out->data)
        sk_buf_truncate(out, e - s);
    return SK_OK;
}

static int is_blank(const char *s)
{
    if (!s)
        return 1;
    for (; *s; s++)
        if (!strchr(" \t\n\r\f\v", *s))
            return 0;
    return 1;
}

/* One conversation turn as the analyst reads it (3.3). */
static int put_turn(struct sk_buf *b, const json_t *item)
{
    int rc = SK_OK;
    const json_t *type = json_object_get(item, "type");
    const json_t *role;
    if (!json_is_object(item)) {
        rc = sk_buf_puts(b, "[agent] ");
        return rc ? rc : put_py_str(b, item);
    }
    if (json_is_string(type) &&
        strcmp(json_string_value(type), "tool_call") == 0) {
        const json_t *cmd = json_object_get(item, "cmd");
        const json_t *obs = json_object_get(item, "obs");
        if ((rc = sk_buf_puts(b, "[action] ")) ||
            (!json_is_null(cmd) && cmd && (rc = put_py_str(b, cmd))) ||
            (rc = sk_buf_puts(b, "\n[obs]    ")) ||
            (!json_is_null(obs) && obs && (rc = put_py_str(b, obs))))
            return rc;
        return SK_OK;
    }
    if (json_object_get(item, "action") &&
        json_object_get(item, "env_feedback")) {
        const json_t *step = json_object_get(item, "step");
        const json_t *why = json_object_get(item, "reasoning");
        const json_t *act = json_object_get(item, "action");
        const json_t *fb = json_object_get(item, "env_feedback");
        struct sk_buf st;
        sk_buf_init(&st, SK_BUF_UNLIMITED);
        rc = step ? put_py_str(&st, step) : sk_buf_puts(&st, "?");
        if (rc == SK_OK && why && !json_is_null(why) &&
            !(json_is_string(why) && json_string_length(why) == 0)) {
            if ((rc = sk_buf_printf(b, "[step %s think] ", sk_buf_cstr(&st))) ==
                    SK_OK &&
                (rc = put_py_str(b, why)) == SK_OK)
                rc = sk_buf_putc(b, '\n');
        }
        if (rc == SK_OK &&
            (rc = sk_buf_printf(b, "[step %s action] ", sk_buf_cstr(&st))) ==
                SK_OK &&
            !json_is_null(act))
            rc = put_py_str(b, act);
        if (rc == SK_OK &&
            (rc = sk_buf_printf(b, "\n[step %s obs]    ", sk_buf_cstr(&st))) ==
                SK_OK &&
            !json_is_null(fb))
            rc = put_py_str(b, fb);
        sk_buf_release(&st);
        return rc;
    }
    role = json_object_get(item, "role");
    if (json_is_string(role) && strcmp(json_string_value(role), "system") == 0)
        rc = sk_buf_puts(b, "[verification] ");
    else if ((rc = sk_buf_putc(b, '[')) == SK_OK &&
             (rc = role ? put_py_str(b, role) : sk_buf_puts(b, "agent")) ==
                 SK_OK)
        rc = sk_buf_puts(b, "] ");
    if (rc == SK_OK) {
        const json_t *content = json_object_get(item, "content");
        if (content && !json_is_null(content))
            rc = put_py_str(b, content);
    }
    return rc;
}

/* An id usable as one directory name under predictions/. */
static int safe_id(const char *id)
{
    return id[0] && strcmp(id, ".") != 0 && strcmp(id, "..") != 0 &&
           !strchr(id, '/') && !strchr(id, '\\');
}

/*
 * Optional sub-section: the result's field when truthy, else the file
 * <pred>/<file> when it exists (file may be NULL); strip: the field is
 * str(x or "").strip() as in the reference's hidden reference.
 */
static int put_section(struct sk_buf *b, const json_t *item, const char *key,
                       const char *dir, const char *file, int strip,
                       const char *heading)
{
    struct sk_buf t;
    const json_t *v = json_object_get(item, key);
    int rc = SK_OK;
    sk_buf_init(&t, SK_BUF_UNLIMITED);
    if (truthy(v))
        rc = strip ? py_str_stripped(v, &t) : put_py_str(&t, v);
    else if (file && dir) {
        char *p = sk_fs_join(dir, file);
        if (!p)
            rc = SK_ENOMEM;
        else if (sk_fs_exists(p) &&
                 sk_fs_read(p, TEXT_FILE_MAX, &t, NULL) != SK_OK)
            sk_warn("reflect: cannot read %s", p);
        sk_free(p);
    }
    if (rc == SK_OK && t.len > 0)
        rc = sk_buf_printf(b, "\n#### %s\n%s\n", heading, sk_buf_cstr(&t));
    sk_buf_release(&t);
    return rc;
}

/*
 * Appends trajectory block k for item to b, or nothing when its
 * conversation is missing, unreadable or empty (*rendered says which).
 */
static int put_block(const struct sk_reflect_opts *o, const json_t *item,
                     size_t k, struct sk_buf *b, int *rendered)
{
    struct sk_buf id, conv;
    char *dir = NULL, *cpath = NULL;
    json_t *turns = NULL;
    const json_t *v;
    size_t start = b->len, i;
    int rc;
    *rendered = 0;
    sk_buf_init(&id, SK_BUF_UNLIMITED);
    sk_buf_init(&conv, SK_BUF_UNLIMITED);
    if (!json_is_object(item) || !json_object_get(item, "id")) {
        sk_warn("reflect: result %zu has no id; skipped", k);
        rc = SK_OK;
        goto out;
    }
    if ((rc = put_py_str(&id, json_object_get(item, "id"))) != SK_OK)
        goto out;
    /* the rollout's directory for this id, else (a run the reference
     * wrote) the id itself when it is a plain file name */
    {
        struct sk_buf d;
        sk_buf_init(&d, SK_BUF_UNLIMITED);
        rc = sk_rollout_pred_dir(sk_buf_cstr(&id), &d);
        dir = rc == SK_OK ? sk_fs_join(o->predictions_dir, sk_buf_cstr(&d))
                          : NULL;
        sk_buf_release(&d);
    }
    cpath = dir ? sk_fs_join(dir, "conversation.json") : NULL;
    if (!cpath) {
        rc = SK_ENOMEM;
        goto out;
    }
    if (!sk_fs_exists(cpath) && safe_id(sk_buf_cstr(&id))) {
        sk_free(dir);
        sk_free(cpath);
        dir = sk_fs_join(o->predictions_dir, sk_buf_cstr(&id));
        cpath = dir ? sk_fs_join(dir, "conversation.json") : NULL;
        if (!cpath) {
            rc = SK_ENOMEM;
            goto out;
        }
    }
    if (!sk_fs_exists(cpath))
        goto out;
    {
        struct sk_error e;
        int r = sk_json_read_file(cpath, &turns, &e);
        if (r == SK_ENOMEM) {
            rc = r;
            goto out;
        }
        if (r != SK_OK) {
            sk_warn("reflect: %s; trajectory skipped", e.msg);
            goto out;
        }
    }
    if (!truthy(turns))
        goto out;
    if (!json_is_array(turns)) {
        sk_warn("reflect: %s is not a list; trajectory skipped", cpath);
        goto out;
    }
    for (i = 0; i < json_array_size(turns); i++) {
        if (i > 0 && (rc = sk_buf_putc(&conv, '\n')) != SK_OK)
            goto out;
        if ((rc = put_turn(&conv, json_array_get(turns, i))) != SK_OK)
            goto out;
    }
    if ((rc = sk_buf_printf(b, "### Trajectory %zu (id=%s)\nTask: ", k,
                            sk_buf_cstr(&id))) != SK_OK)
        goto out;
    v = json_object_get(item, "task_description");
    if (!v)
        v = json_object_get(item, "instruction");
    if (v && (rc = put_py_str(b, v)) != SK_OK)
        goto out;
    if ((rc = sk_buf_puts(b, "\nTask type: ")) != SK_OK)
        goto out;
    v = json_object_get(item, "task_type");
    if (!v)
        v = json_object_get(item, "instruction_type");
    if (v && (rc = put_py_str(b, v)) != SK_OK)
        goto out;
    if ((rc = sk_buf_putc(b, '\n')) != SK_OK)
        goto out;
    v = json_object_get(item, "fail_reason");
    if (truthy(v) && ((rc = sk_buf_puts(b, "Failure reason: ")) != SK_OK ||
                      (rc = put_py_str(b, v)) != SK_OK ||
                      (rc = sk_buf_putc(b, '\n')) != SK_OK))
        goto out;
    v = json_object_get(item, "n_turns");
    if ((rc = sk_buf_puts(b, "Steps: ")) != SK_OK ||
        (rc = v ? put_py_str(b, v) : sk_buf_putc(b, '?')) != SK_OK ||
        (rc = sk_buf_putc(b, '\n')) != SK_OK)
        goto out;
    if ((rc = put_section(b, item, "reference_text", NULL, NULL, 1,
                          "Hidden Reference")) != SK_OK ||
        (rc = put_section(b, item, "target_system_prompt", dir,
                          "target_system_prompt.txt", 0,
                          "Target System Prompt")) != SK_OK ||
        (rc = put_section(b, item, "target_user_prompt", dir,
                          "target_user_prompt.txt", 0, "Target User Prompt")) !=
            SK_OK)
        goto out;
    if (o->codex_trace && (rc = put_section(b, item, "codex_trace_summary", dir,
                                            "codex_trace_summary.txt", 0,
                                            "Codex Trace Summary")) != SK_OK)
        goto out;
    /* an agent CLI target's compact trace (rollout.c) */
    if (o->codex_trace && (rc = put_section(b, item, "agent_trace_summary", dir,
                                            "agent_trace_summary.txt", 0,
                                            "Agent Trace Summary")) != SK_OK)
        goto out;
    if ((rc = put_section(b, item, "codex_probe_trace_steps", NULL, NULL, 1,
                          "Codex Trace Steps")) != SK_OK ||
        (rc = put_section(b, item, "spreadsheet_preview", dir,
                          "spreadsheet_preview.txt", 0,
                          "Spreadsheet Preview")) != SK_OK)
        goto out;
    if ((rc = sk_buf_putc(b, '\n')) != SK_OK ||
        (rc = sk_buf_append(b, conv.data ? conv.data : "", conv.len)) != SK_OK)
        goto out;
    *rendered = 1;
out:
    if (rc != SK_OK)
        sk_buf_truncate(b, start);
    json_decref(turns);
    sk_free(cpath);
    sk_free(dir);
    sk_buf_release(&id);
    sk_buf_release(&conv);
    return rc;
}

int sk_reflect_user_message(const struct sk_reflect_opts *o,
                            const size_t *items, size_t n, int success,
                            struct sk_buf *out, size_t *n_rendered)
{
    struct sk_buf blocks;
    size_t start = out->len, i, count = 0;
    int rc = SK_OK;
    *n_rendered = 0;
    sk_buf_init(&blocks, SK_BUF_UNLIMITED);
    for (i = 0; i < n; i++) {
        size_t mark = blocks.len;
        int rendered;
        if (count > 0 && (rc = sk_buf_puts(&blocks, "\n\n---\n\n")) != SK_OK)
            goto out;
        rc = put_block(o, json_array_get(o->results, items[i]), i + 1, &blocks,
                       &rendered);
        if (rc != SK_OK)
            goto out;
        if (rendered)
            count++;
        else
            sk_buf_truncate(&blocks, mark);
    }
    if (count == 0)
        goto out;
    if ((rc = sk_buf_printf(out, "## Current Skill\n%s\n\n",
                            o->skill ? o->skill : "")) != SK_OK)
        goto out;
    if (o->mode == SK_UPDATE_FULL_REWRITE_MINIBATCH)
        rc = sk_buf_puts(out, "## Update Format\nWrite one complete "
                              "replacement skill for this minibatch as the "
                              "single skill candidate. Do not return edits, "
                              "patches or revise suggestions.\n\n");
    else if (o->mode == SK_UPDATE_REWRITE_FROM_SUGGESTIONS)
        rc = sk_buf_printf(out,
                           "## Suggestions Budget\nProduce at most L=%ld "
                           "suggestions.\n\n",
                           o->learning_rate);
    else
        rc = sk_buf_printf(out,
                           "## Edits Budget\nProduce at most L=%ld edits.\n\n",
                           o->learning_rate);
    if (rc != SK_OK)
        goto out;
    if (!is_blank(o->step_buffer) &&
        (rc = sk_buf_printf(out, "## Previous Steps in This Epoch\n%s\n\n",
                            o->step_buffer)) != SK_OK)
        goto out;
    if (!is_blank(o->meta_block) &&
        (rc = sk_buf_printf(out, "%s\n\n", o->meta_block)) != SK_OK)
        goto out;
    if ((rc = sk_buf_printf(out, "## %s Trajectories (%zu total)\n",
                            success ? "Successful" : "Failed", count)) !=
            SK_OK ||
        (rc = sk_buf_append(out, blocks.data, blocks.len)) != SK_OK)
        goto out;
    *n_rendered = count;
out:
    if (rc != SK_OK) {
        sk_buf_truncate(out, start);
        *n_rendered = 0;
    }
    sk_buf_release(&blocks);
    return rc;
}

json_t *sk_reflect_appendix_notes(const json_t *result)
{
    json_t *notes = json_array(), *one = NULL;
    const json_t *raw = json_object_get(result, "appendix_notes");
    size_t i;
    if (!notes)
        return NULL;
    if (json_is_string(raw)) {
        one = json_array();
        if (!one || json_array_append(one, (json_t *)raw) != 0)
            goto oom;
        raw = one;
    }
    for (i = 0; json_is_array(raw) && i < json_array_size(raw); i++) {
        const json_t *it = json_array_get(raw, i), *t = NULL;
        struct sk_buf s;
        int rc;
        if (json_is_string(it))
            t = it;
        else if (json_is_object(it)) {
            t = json_object_get(it, "note");
            if (!truthy(t))
                t = json_object_get(it, "content");
            if (!truthy(t))
                t = NULL;
        }
        if (!t)
            continue;
        sk_buf_init(&s, SK_BUF_UNLIMITED);
        rc = py_str_stripped(t, &s);
        if (rc == SK_OK && s.len > 0 &&
            json_array_append_new(notes, json_stringn(s.data, s.len)) != 0)
            rc = SK_ENOMEM;
        sk_buf_release(&s);
        if (rc != SK_OK)
            goto oom;
    }
    json_decref(one);
    return notes;
oom:
    json_decref(one);
    json_decref(notes);
    return NULL;
}

/*
 * int(batch_size or 0) of the reference, made total: *ok is 0 when Python
 * would raise (the value then counts as 0, so support is 1).
 */
static long long py_int(const json_t *v, int *ok)
{
    *ok = 1;
    if (!truthy(v))
        return 0;
    if (json_is_true(v))
        return 1;
    if (json_is_integer(v))
        return (long long)json_integer_value(v);
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (isfinite(d))
            return d >= 9.2e18    ? LLONG_MAX
                   : d <= -9.2e18 ? LLONG_MIN
                                  : (long long)d;
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        long long n;
        while (*s && strchr(" \t\n\r\f\v", *s))
            s++;
        if (*s && !strchr(" \t\n\r\f\v", *s)) {
            errno = 0;
            n = strtoll(s, &end, 10);
            if (end != s && (end[-1] >= '0' && end[-1] <= '9')) {
                while (*end && strchr(" \t\n\r\f\v", *end))
                    end++;
                if (!*end)
                    return n;
            }
        }
    }
    *ok = 0;
    return 0;
}

int sk_reflect_normalise(const json_t *raw, enum sk_skill_update_mode mode,
                         struct sk_reflect_out *out)
{
    size_t i, j;
    if (!out->failure && !(out->failure = json_array()))
        return SK_ENOMEM;
    if (!out->success && !(out->success = json_array()))
        return SK_ENOMEM;
    for (i = 0; i < json_array_size(raw); i++) {
        json_t *p = json_array_get(raw, i), *inner, *items, *src;
        long long support;
        int ok, is_succ;
        if (!json_is_object(p))
            continue;
        inner = json_object_get(p, "patch");
        if (!inner)
            inner = p;
        if (!json_is_object(inner))
            continue;
        items = json_object_get(inner, payload_key(mode));
        if (!json_is_array(items) || json_array_size(items) == 0)
            continue;
        support = py_int(json_object_get(p, "batch_size"), &ok);
        if (!ok) {
            out->n_bad_batch_size++;
            sk_warn("reflect: analyst batch_size is not a number; support "
                    "count 1");
        }
        if (support < 1)
            support = 1;
        src = json_object_get(p, "source_type");
        if (!src)
            src = json_string("failure");
        else
            json_incref(src);
        if (!src)
            return SK_ENOMEM;
        for (j = 0; j < json_array_size(items); j++) {
            json_t *it = json_array_get(items, j);
            if (!json_is_object(it))
                continue;
            if ((!json_object_get(it, "source_type") &&
                 json_object_set(it, "source_type", src) != 0) ||
                (!json_object_get(it, "support_count") &&
                 json_object_set_new(it, "support_count",
                                     json_integer(support)) != 0)) {
                json_decref(src);
                return SK_ENOMEM;
            }
        }
        is_succ = json_is_string(src) &&
                  strcmp(json_string_value(src), "success") == 0;
        json_decref(src);
        if (json_array_append(is_succ ? out->success : out->failure, inner) !=
            0)
            return SK_ENOMEM;
    }
    return SK_OK;
}

/* ------------------------------------------------------------------ */

struct job {
    const struct sk_minibatch *g;
    char *user;
    char *bad_reply; /* first unusable reply, for the retry turn */
    json_t *result;  /* accepted or cached */
    int pending;     /* needs a call in the current round */
    int fresh;       /* result came from a call (write it) */
};

static void truncate_payload(json_t *patch, long l,
                             enum sk_skill_update_mode mode)
{
    json_t *items = json_object_get(patch, payload_key(mode));
    if (l < 0 || !json_is_array(items) || json_array_size(items) <= (size_t)l)
        return;
    while (json_array_size(items) > (size_t)l)
        json_array_remove(items, json_array_size(items) - 1);
}

/*
 * The result an analyst reply stands for (3.6), or NULL with *rc SK_OK
 * when the reply is not usable (no object, or not the required keys).
 */
static json_t *accept_reply(const struct sk_reflect_opts *o, int success,
                            const char *text, int *rc)
{
    json_t *r = NULL, *notes = NULL, *carrier;
    int sa = o->skill_aware && (!success || !o->appendix_failure_only);
    *rc = SK_OK;
    if (sk_extract_json(text, strlen(text), &r, NULL) != SK_OK)
        return NULL;
    if (!json_is_object(r) || json_object_size(r) == 0)
        goto bad;
    if (sa && !(notes = sk_reflect_appendix_notes(r)))
        goto oom;
    if (json_object_get(r, "patch")) {
        if (json_object_set_new(r, "source_type",
                                json_string(success ? "success" : "failure")))
            goto oom;
        if (o->mode != SK_UPDATE_FULL_REWRITE_MINIBATCH)
            truncate_payload(json_object_get(r, "patch"), o->learning_rate,
                             o->mode);
        if (sa && json_object_set(r, "appendix_notes", notes) != 0)
            goto oom;
        json_decref(notes);
        return r;
    }
    if (!success && sa && json_array_size(notes) > 0) {
        carrier =
            json_pack("{s:s, s:{s:s, s:[]}, s:O}", "source_type", "failure",
                      "patch", "reasoning", "execution-lapse only", "edits",
                      "appendix_notes", notes);
        if (!carrier)
            goto oom;
        json_decref(notes);
        json_decref(r);
        return carrier;
    }
bad:
    json_decref(notes);
    json_decref(r);
    return NULL;
oom:
    json_decref(notes);
    json_decref(r);
    *rc = SK_ENOMEM;
    return NULL;
}

static int save_failure(const struct sk_reflect_opts *o, const char *tag,
                        int attempt, const char *text, struct sk_error *err)
{
    char name[80];
    char *p;
    int rc;
    snprintf(name, sizeof name, "%s_%d.txt", tag, attempt);
    if ((rc = sk_fs_mkdirs(o->parse_failures_dir, err)) != SK_OK)
        return rc;
    if (!(p = sk_fs_join(o->parse_failures_dir, name)))
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    rc = sk_fs_write_atomic(p, text, strlen(text), err);
    sk_free(p);
    return rc;
}

/* System prompt of one analyst: the mode's template (or the plain one),
 * plus the skill-aware suffix. */
static int load_system(const struct sk_reflect_opts *o, int success,
                       struct sk_buf *out, struct sk_error *err)
{
    const char *base = success ? "analyst_success" : "analyst_error";
    char name[64];
    int rc;
    snprintf(name, sizeof name, "%s%s", base,
             o->mode == SK_UPDATE_FULL_REWRITE_MINIBATCH     ? "_full_rewrite"
             : o->mode == SK_UPDATE_REWRITE_FROM_SUGGESTIONS ? "_rewrite"
                                                             : "");
    rc = sk_prompt_lookup(name, o->bench, o->prompts_dir, out, err);
    if (rc == SK_ENOTFOUND && strcmp(name, base) != 0)
        rc = sk_prompt_lookup(base, o->bench, o->prompts_dir, out, err);
    if (rc != SK_OK)
        return rc;
    {
        /* the benchmark's own guidance (failure taxonomy, what successes
         * to reinforce), when it has some: prompts/<bench>/
         * analyst_guidance.md */
        struct sk_buf g;
        sk_buf_init(&g, SK_BUF_UNLIMITED);
        rc = sk_prompt_lookup("analyst_guidance", o->bench, o->prompts_dir, &g,
                              err);
        if (rc == SK_ENOTFOUND && o->guidance && *o->guidance)
            rc = sk_buf_puts(&g, o->guidance);
        if (rc == SK_OK && g.len > 0) {
            while (out->len > 0 &&
                   strchr(" \t\n\r\f\v", out->data[out->len - 1]))
                sk_buf_truncate(out, out->len - 1);
            rc = sk_buf_puts(out, "\n\n");
            if (rc == SK_OK)
                rc = sk_buf_append(out, g.data, g.len);
            if (rc != SK_OK)
                sk_error_set(err, rc, "analyst system prompt too large");
        } else if (rc == SK_ENOTFOUND) {
            rc = SK_OK;
        }
        sk_buf_release(&g);
        if (rc != SK_OK)
            return rc;
    }
    if (o->skill_aware && o->mode != SK_UPDATE_FULL_REWRITE_MINIBATCH &&
        (!success || !o->appendix_failure_only)) {
        struct sk_buf sfx;
        sk_buf_init(&sfx, SK_BUF_UNLIMITED);
        rc = sk_prompt_lookup(success ? "skill_aware_success"
                                      : "skill_aware_failure",
                              o->bench, o->prompts_dir, &sfx, err);
        while (rc == SK_OK && out->len > 0 &&
               strchr(" \t\n\r\f\v", out->data[out->len - 1]))
            sk_buf_truncate(out, out->len - 1);
        if (rc == SK_OK && ((rc = sk_buf_putc(out, '\n')) != SK_OK ||
                            (rc = sk_buf_append(out, sfx.data ? sfx.data : "",
                                                sfx.len)) != SK_OK))
            sk_error_set(err, rc, "analyst system prompt too large");
        sk_buf_release(&sfx);
    }
    return rc;
}

/* One round of calls for every pending job; retry: the second attempt. */
static int call_round(struct sk_llm_client *c, const struct sk_reflect_opts *o,
                      struct job *jobs, size_t n, const char *const sys[2],
                      const char *reminder, int retry,
                      struct sk_reflect_out *out, struct sk_error *err)
{
    struct sk_llm_request *reqs = NULL;
    struct sk_llm_message *msgs = NULL;
    struct sk_llm_result *res = NULL;
    size_t *map = NULL, k = 0, i;
    long max_tokens = o->max_tokens > 0 ? o->max_tokens
                      : o->mode == SK_UPDATE_FULL_REWRITE_MINIBATCH
                          ? SK_REFLECT_MAX_TOKENS_FULL
                          : SK_REFLECT_MAX_TOKENS;
    int rc = SK_OK;
    for (i = 0; i < n; i++)
        k += jobs[i].pending;
    if (k == 0)
        return SK_OK;
    reqs = sk_calloc(k, sizeof *reqs);
    msgs = sk_calloc(k * 3, sizeof *msgs);
    res = sk_calloc(k, sizeof *res);
    map = sk_calloc(k, sizeof *map);
    if (!reqs || !msgs || !res || !map) {
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto out;
    }
    for (i = 0, k = 0; i < n; i++) {
        struct sk_llm_message *m = &msgs[k * 3];
        if (!jobs[i].pending)
            continue;
        m[0].role = "user";
        m[0].content = jobs[i].user;
        m[1].role = "assistant";
        m[1].content = jobs[i].bad_reply;
        m[2].role = "user";
        m[2].content = reminder;
        reqs[k].role = SK_ROLE_OPTIMIZER;
        reqs[k].stage = "analyst";
        reqs[k].want_json = 1;
        reqs[k].system = sys[jobs[i].g->kind == SK_MB_SUCC];
        reqs[k].messages = m;
        reqs[k].n_messages = retry ? 3 : 1;
        reqs[k].max_tokens = max_tokens;
        sk_llm_result_init(&res[k]);
        map[k++] = i;
    }
    (void)sk_llm_call_batch(c, reqs, k, res);
    out->n_calls += k;
    for (i = 0; i < k; i++) {
        struct job *j = &jobs[map[i]];
        const char *tag = j->g->tag;
        j->pending = 0;
        if (res[i].status != SK_OK) {
            sk_warn("reflect: %s: analyst call failed: %s; minibatch dropped",
                    tag, res[i].error);
            out->n_dropped++;
            continue;
        }
        j->result = accept_reply(o, j->g->kind == SK_MB_SUCC, res[i].text, &rc);
        if (rc != SK_OK) {
            sk_error_set(err, rc, "out of memory");
            goto out;
        }
        if (j->result) {
            j->fresh = 1;
            continue;
        }
        out->n_parse_failures++;
        if ((rc = save_failure(o, tag, retry ? 2 : 1, res[i].text, err)) !=
            SK_OK)
            goto out;
        if (retry) {
            sk_warn("reflect: %s: reply unusable after a retry; minibatch "
                    "dropped",
                    tag);
            out->n_dropped++;
        } else {
            sk_info("reflect: %s: reply unusable; retrying with the format "
                    "reminder",
                    tag);
            if (!(j->bad_reply = sk_strdup(res[i].text))) {
                rc = sk_error_set(err, SK_ENOMEM, "out of memory");
                goto out;
            }
            j->pending = 1;
        }
    }
out:
    if (res)
        for (i = 0; i < k; i++)
            sk_llm_result_release(&res[i]);
    sk_free(reqs);
    sk_free(msgs);
    sk_free(res);
    sk_free(map);
    return rc;
}

/* Loads <patches_dir>/<tag>.json into j->result when it exists. */
static int load_cached(const struct sk_reflect_opts *o, struct job *j,
                       struct sk_error *err)
{
    char name[80];
    char *p;
    struct sk_error e;
    int rc;
    snprintf(name, sizeof name, "%s.json", j->g->tag);
    if (!(p = sk_fs_join(o->patches_dir, name)))
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    if (!sk_fs_exists(p)) {
        sk_free(p);
        return SK_OK;
    }
    rc = sk_json_read_file(p, &j->result, &e);
    if (rc == SK_ENOMEM) {
        sk_free(p);
        return sk_error_set(err, rc, "out of memory");
    }
    if (rc != SK_OK || !json_is_object(j->result)) {
        /* a damaged cache entry is not a result: ask again */
        sk_warn("reflect: cached %s unusable (%s); calling the analyst", p,
                rc != SK_OK ? e.msg : "not an object");
        json_decref(j->result);
        j->result = NULL;
    }
    sk_free(p);
    return SK_OK;
}

static int write_result(const struct sk_reflect_opts *o, const struct job *j,
                        struct sk_error *err)
{
    char name[80];
    char *p;
    int rc;
    snprintf(name, sizeof name, "%s.json", j->g->tag);
    if (!(p = sk_fs_join(o->patches_dir, name)))
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    rc = sk_json_write_file(p, j->result, err);
    sk_free(p);
    return rc;
}

int sk_reflect_run(struct sk_llm_client *c, const struct sk_reflect_opts *o,
                   struct sk_reflect_out *out, struct sk_error *err)
{
    struct sk_minibatch_plan plan;
    struct sk_buf sys[2], reminder, user;
    struct job *jobs = NULL;
    double *hard = NULL;
    size_t n, i;
    int rc = SK_OK;
    const char *sysv[2];

    sk_reflect_out_release(out);
    sk_minibatch_plan_init(&plan);
    sk_buf_init(&sys[0], SK_BUF_UNLIMITED);
    sk_buf_init(&sys[1], SK_BUF_UNLIMITED);
    sk_buf_init(&reminder, SK_BUF_UNLIMITED);
    sk_buf_init(&user, SK_BUF_UNLIMITED);
    if (!json_is_array(o->results) || !o->predictions_dir || !o->patches_dir ||
        !o->parse_failures_dir)
        return sk_error_set(err, SK_EINVAL,
                            "reflect: results array and directories needed");
    n = json_array_size(o->results);
    if (!(hard = sk_calloc(n ? n : 1, sizeof *hard))) {
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < n; i++)
        hard[i] = sk_result_hard(json_array_get(o->results, i));
    if ((rc = sk_minibatch_split(hard, n, o->batch_seed,
                                 o->minibatch_size ? o->minibatch_size : 8,
                                 o->failure_only, &plan, err)) != SK_OK)
        goto out;
    out->n_groups = plan.n_groups;
    if ((rc = load_system(o, 0, &sys[0], err)) != SK_OK ||
        (rc = load_system(o, 1, &sys[1], err)) != SK_OK ||
        (rc = sk_prompt_lookup("format_reminder", o->bench, o->prompts_dir,
                               &reminder, err)) != SK_OK)
        goto out;
    sysv[0] = sk_buf_cstr(&sys[0]);
    sysv[1] = sk_buf_cstr(&sys[1]);
    if (plan.n_groups && !(jobs = sk_calloc(plan.n_groups, sizeof *jobs))) {
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < plan.n_groups; i++) {
        struct job *j = &jobs[i];
        size_t rendered;
        j->g = &plan.groups[i];
        if ((rc = load_cached(o, j, err)) != SK_OK)
            goto out;
        if (j->result) {
            out->n_cached++;
            continue;
        }
        sk_buf_reset(&user);
        rc =
            sk_reflect_user_message(o, j->g->items, j->g->n,
                                    j->g->kind == SK_MB_SUCC, &user, &rendered);
        if (rc != SK_OK) {
            sk_error_set(err, rc, "reflect: %s: user message: %s", j->g->tag,
                         sk_strerror(rc));
            goto out;
        }
        if (rendered == 0) {
            out->n_skipped++;
            continue;
        }
        if (!(j->user = sk_buf_detach(&user, NULL))) {
            rc = sk_error_set(err, SK_ENOMEM, "out of memory");
            goto out;
        }
        j->pending = 1;
    }
    if ((rc = call_round(c, o, jobs, plan.n_groups, sysv,
                         sk_buf_cstr(&reminder), 0, out, err)) != SK_OK ||
        (rc = call_round(c, o, jobs, plan.n_groups, sysv,
                         sk_buf_cstr(&reminder), 1, out, err)) != SK_OK)
        goto out;
    if (!(out->raw = json_array()) || !(out->appendix_notes = json_array())) {
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < plan.n_groups; i++) {
        struct job *j = &jobs[i];
        int succ = j->g->kind == SK_MB_SUCC;
        if (!j->result)
            continue;
        if (j->fresh && (rc = write_result(o, j, err)) != SK_OK)
            goto out;
        if (json_array_append(out->raw, j->result) != 0) {
            rc = sk_error_set(err, SK_ENOMEM, "out of memory");
            goto out;
        }
        if (o->skill_aware && (!succ || !o->appendix_failure_only)) {
            json_t *notes = sk_reflect_appendix_notes(j->result);
            if (!notes || json_array_extend(out->appendix_notes, notes) != 0) {
                json_decref(notes);
                rc = sk_error_set(err, SK_ENOMEM, "out of memory");
                goto out;
            }
            json_decref(notes);
        }
    }
    if ((rc = sk_reflect_normalise(out->raw, o->mode, out)) != SK_OK)
        sk_error_set(err, rc, "out of memory");
out:
    for (i = 0; jobs && i < plan.n_groups; i++) {
        sk_free(jobs[i].user);
        sk_free(jobs[i].bad_reply);
        json_decref(jobs[i].result);
    }
    sk_free(jobs);
    sk_free(hard);
    sk_minibatch_plan_release(&plan);
    sk_buf_release(&sys[0]);
    sk_buf_release(&sys[1]);
    sk_buf_release(&reminder);
    sk_buf_release(&user);
    if (rc != SK_OK)
        sk_reflect_out_release(out);
    return rc;
}
