/*
 * stepbuf.c - the per-epoch step buffer (algorithm.md 6.4): failure
 * pattern grouping, rejected-edit summaries, the analysts' context text
 * and the JSON form used by checkpoints.  No I/O.
 */
#include "common.h"

#include "train/stepbuf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "skill/skill.h"
#include "train/minibatch.h"
#include "util/alloc.h"
#include "util/buf.h"

#define STEPBUF_INTRO                                                          \
    "Summary of the earlier steps of this epoch. Do not propose again "        \
    "edits that were already rejected, and give priority to failure "          \
    "patterns that are still unsolved."

/* ---- small helpers ---------------------------------------------------- */

/* Python repr() of a float: shortest round-trip digits, fixed notation for
 * decimal exponents -4..15 (with ".0" when integral), else d.ddde+XX. */
static void py_float_repr(double v, char *out, size_t cap)
{
    char tmp[48], digits[24];
    int p, exp10, nd = 0, decpt, neg;
    const char *s;

    if (isnan(v)) {
        snprintf(out, cap, "nan");
        return;
    }
    if (isinf(v)) {
        snprintf(out, cap, "%s", v < 0 ? "-inf" : "inf");
        return;
    }
    if (v == 0.0) {
        snprintf(out, cap, "%s", signbit(v) ? "-0.0" : "0.0");
        return;
    }
    for (p = 1; p <= 17; p++) {
        snprintf(tmp, sizeof(tmp), "%.*e", p - 1, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    s = tmp;
    neg = *s == '-';
    if (neg)
        s++;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9')
            digits[nd++] = *s;
    exp10 = (int)strtol(s + 1, NULL, 10);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';
    decpt = exp10 + 1;
    {
        char local[64];
        size_t k = 0;
        int i;
        if (neg)
            local[k++] = '-';
        if (exp10 >= -4 && exp10 < 16) {
            if (decpt <= 0) {
                local[k++] = '0';
                local[k++] = '.';
                for (i = 0; i < -decpt; i++)
                    local[k++] = '0';
                for (i = 0; i < nd; i++)
                    local[k++] = digits[i];
            } else if (decpt >= nd) {
                for (i = 0; i < nd; i++)
                    local[k++] = digits[i];
                for (i = nd; i < decpt; i++)
                    local[k++] = '0';
                local[k++] = '.';
                local[k++] = '0';
            } else {
                for (i = 0; i < nd; i++) {
                    if (i == decpt)
                        local[k++] = '.';
                    local[k++] = digits[i];
                }
            }
            local[k] = '\0';
        } else {
            local[k++] = digits[0];
            if (nd > 1) {
                local[k++] = '.';
                for (i = 1; i < nd; i++)
                    local[k++] = digits[i];
            }
            snprintf(local + k, sizeof(local) - k, "e%c%02d",
                     exp10 < 0 ? '-' : '+', abs(exp10));
        }
        snprintf(out, cap, "%s", local);
    }
}

/* Python str() of a JSON value as a new string; dflt for missing/null. */
static char *py_str(const json_t *v, const char *dflt)
{
    char num[48];

    if (!v || json_is_null(v))
        return sk_strdup(dflt);
    if (json_is_string(v))
        return sk_strndup(json_string_value(v), json_string_length(v));
    if (json_is_true(v))
        return sk_strdup("True");
    if (json_is_false(v))
        return sk_strdup("False");
    if (json_is_integer(v)) {
        snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
        return sk_strdup(num);
    }
    if (json_is_real(v)) {
        py_float_repr(json_real_value(v), num, sizeof(num));
        return sk_strdup(num);
    }
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

static void free_strv(char **v, size_t n)
{
    size_t i;
    if (!v)
        return;
    for (i = 0; i < n; i++)
        sk_free(v[i]);
    sk_free(v);
}

static void pattern_release(struct sk_fail_pattern *p)
{
    sk_free(p->pattern);
    free_strv(p->task_ids, p->count);
}

static void patterns_free(struct sk_fail_pattern *p, size_t n)
{
    size_t i;
    if (!p)
        return;
    for (i = 0; i < n; i++)
        pattern_release(&p[i]);
    sk_free(p);
}

static void rejected_release(struct sk_rejected_edit *r)
{
    sk_free(r->op);
    sk_free(r->content);
    sk_free(r->target);
    sk_free(r->type);
    sk_free(r->title);
    sk_free(r->instruction);
    free_strv(r->change_summary, r->n_change_summary);
    sk_free(r->source_type);
    memset(r, 0, sizeof(*r));
}

/* ---- entries ---------------------------------------------------------- */

void sk_step_entry_init(struct sk_step_entry *e, long step, const char *action)
{
    memset(e, 0, sizeof(*e));
    e->step = step;
    snprintf(e->action, sizeof(e->action), "%s", action ? action : "unknown");
    e->n_total = 1;
}

void sk_step_entry_release(struct sk_step_entry *e)
{
    size_t i;
    patterns_free(e->patterns, e->n_patterns);
    for (i = 0; i < e->n_rejected; i++)
        rejected_release(&e->rejected[i]);
    sk_free(e->rejected);
    e->patterns = NULL;
    e->n_patterns = 0;
    e->rejected = NULL;
    e->n_rejected = 0;
}

/* Group key of a fail reason: strip(reason.split(":")[0]) if ':' in it. */
static void reason_prefix(const char *reason, const char **p, size_t *n)
{
    const char *colon = strchr(reason, ':');
    size_t len, a, z;

    if (!colon) {
        *p = reason;
        *n = strlen(reason);
        return;
    }
    len = (size_t)(colon - reason);
    a = skill_lstrip(reason, len);
    z = skill_rstrip(reason, len);
    *p = reason + a;
    *n = z > a ? z - a : 0;
}

int sk_step_entry_set_outcomes(struct sk_step_entry *e,
                               const struct sk_task_outcome *r, size_t n,
                               const char *const *descs, size_t n_descs)
{
    struct sk_fail_pattern *pats = NULL;
    const char **keys = NULL;
    size_t *key_len = NULL, *fill = NULL;
    size_t i, g, np = 0, nf = 0;
    int rc = SK_ENOMEM;

    pats = sk_calloc(n + 1, sizeof(*pats));
    keys = sk_calloc(n + 1, sizeof(*keys));
    key_len = sk_calloc(n + 1, sizeof(*key_len));
    fill = sk_calloc(n + 1, sizeof(*fill));
    if (!pats || !keys || !key_len || !fill)
        goto out;
    /* Pass 1: groups and their sizes, in first-appearance order. */
    for (i = 0; i < n; i++) {
        const char *k;
        size_t kn;
        if (!sk_result_is_failure(r[i].hard))
            continue;
        nf++;
        reason_prefix(r[i].fail_reason ? r[i].fail_reason : "unknown", &k, &kn);
        for (g = 0; g < np; g++)
            if (key_len[g] == kn && memcmp(keys[g], k, kn) == 0)
                break;
        if (g == np) {
            keys[np] = k;
            key_len[np] = kn;
            np++;
        }
        pats[g].count++;
    }
    for (g = 0; g < np; g++) {
        const char *d = g < n_descs ? descs[g] : NULL;
        pats[g].pattern =
            d && *d ? sk_strdup(d) : sk_strndup(keys[g], key_len[g]);
        pats[g].task_ids = sk_calloc(pats[g].count, sizeof(char *));
        if (!pats[g].pattern || !pats[g].task_ids)
            goto out;
    }
    /* Pass 2: task ids. */
    for (i = 0; i < n; i++) {
        const char *k;
        size_t kn;
        char *id;
        if (!sk_result_is_failure(r[i].hard))
            continue;
        reason_prefix(r[i].fail_reason ? r[i].fail_reason : "unknown", &k, &kn);
        for (g = 0; g < np; g++)
            if (key_len[g] == kn && memcmp(keys[g], k, kn) == 0)
                break;
        id = sk_strdup(r[i].id ? r[i].id : "?");
        if (!id)
            goto out;
        pats[g].task_ids[fill[g]++] = id;
    }
    patterns_free(e->patterns, e->n_patterns);
    e->patterns = np ? pats : NULL;
    e->n_patterns = np;
    if (!np)
        sk_free(pats);
    pats = NULL;
    e->n_total = n ? n : 1;
    e->n_fail = nf;
    rc = SK_OK;
out:
    if (pats) {
        /* task_ids are NULL-padded, so freeing count entries is safe */
        patterns_free(pats, np);
    }
    sk_free(keys);
    sk_free(key_len);
    sk_free(fill);
    return rc;
}

int sk_step_entry_set_results_json(struct sk_step_entry *e,
                                   const struct json_t *results,
                                   const char *const *descs, size_t n_descs)
{
    struct sk_task_outcome *o = NULL;
    char **ids = NULL;
    size_t n, i;
    int rc = SK_ENOMEM;

    if (!json_is_array(results))
        return SK_EINVAL;
    n = json_array_size(results);
    o = sk_calloc(n + 1, sizeof(*o));
    ids = sk_calloc(n + 1, sizeof(*ids));
    if (!o || !ids)
        goto out;
    for (i = 0; i < n; i++) {
        const json_t *row = json_array_get(results, i);
        const json_t *fr = json_object_get(row, "fail_reason");
        ids[i] = py_str(json_object_get(row, "id"), "?");
        if (!ids[i])
            goto out;
        o[i].id = ids[i];
        o[i].hard = sk_result_hard(row);
        o[i].fail_reason = json_is_string(fr) ? json_string_value(fr) : NULL;
    }
    rc = sk_step_entry_set_outcomes(e, o, n, descs, n_descs);
out:
    if (ids)
        free_strv(ids, n);
    sk_free(o);
    return rc;
}

void sk_step_entry_set_reject(struct sk_step_entry *e, double score_before,
                              double score_after)
{
    e->has_reject = 1;
    e->score_before = score_before;
    e->score_after = score_after;
}

/* One more slot; the lists are short (at most the edit budget), and
 * entries restored from JSON have exact-size arrays, so no capacity. */
static int grow_rejected(struct sk_step_entry *e)
{
    struct sk_rejected_edit *n =
        sk_realloc(e->rejected, (e->n_rejected + 1) * sizeof(*n));
    if (!n)
        return SK_ENOMEM;
    e->rejected = n;
    return SK_OK;
}

int sk_step_entry_add_rejected_json(struct sk_step_entry *e,
                                    const struct json_t *item,
                                    enum sk_skill_update_mode mode)
{
    struct sk_rejected_edit r;
    int ok;

    if (!json_is_object(item))
        return SK_OK;
    memset(&r, 0, sizeof(r));
    if (mode == SK_UPDATE_FULL_REWRITE_MINIBATCH) {
        const json_t *cs = json_object_get(item, "change_summary");
        size_t i;
        r.kind = SK_REJECTED_REWRITE;
        r.title = py_str(json_object_get(item, "title"), "");
        r.source_type = py_str(json_object_get(item, "source_type"), "");
        ok = r.title && r.source_type;
        if (ok && json_is_array(cs) && json_array_size(cs)) {
            r.change_summary = sk_calloc(json_array_size(cs), sizeof(char *));
            ok = r.change_summary != NULL;
            for (i = 0; ok && i < json_array_size(cs); i++) {
                /* str(None) is "None" inside the list */
                r.change_summary[i] = py_str(json_array_get(cs, i), "None");
                ok = r.change_summary[i] != NULL;
                r.n_change_summary = i + 1;
            }
        }
    } else if (mode == SK_UPDATE_REWRITE_FROM_SUGGESTIONS) {
        r.kind = SK_REJECTED_SUGGESTION;
        r.type = py_str(json_object_get(item, "type"), "?");
        r.title = py_str(json_object_get(item, "title"), "");
        r.instruction = py_str(json_object_get(item, "instruction"), "");
        ok = r.type && r.title && r.instruction;
    } else {
        r.kind = SK_REJECTED_EDIT;
        r.op = py_str(json_object_get(item, "op"), "?");
        r.content = py_str(json_object_get(item, "content"), "");
        r.target = py_str(json_object_get(item, "target"), "");
        ok = r.op && r.content && r.target;
    }
    if (!ok || grow_rejected(e) != SK_OK) {
        rejected_release(&r);
        return SK_ENOMEM;
    }
    e->rejected[e->n_rejected++] = r;
    return SK_OK;
}

/* ---- buffer ----------------------------------------------------------- */

void sk_stepbuf_init(struct sk_stepbuf *b)
{
    memset(b, 0, sizeof(*b));
}

void sk_stepbuf_release(struct sk_stepbuf *b)
{
    size_t i;
    for (i = 0; i < b->len; i++)
        sk_step_entry_release(&b->entries[i]);
    sk_free(b->entries);
    sk_stepbuf_init(b);
}

void sk_stepbuf_reset(struct sk_stepbuf *b, long epoch)
{
    sk_stepbuf_release(b);
    b->epoch = epoch;
}

int sk_stepbuf_add_take(struct sk_stepbuf *b, struct sk_step_entry *e_take)
{
    if (b->len == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 8;
        struct sk_step_entry *n = sk_realloc(b->entries, ncap * sizeof(*n));
        if (!n)
            return SK_ENOMEM;
        b->entries = n;
        b->cap = ncap;
    }
    b->entries[b->len++] = *e_take;
    sk_step_entry_init(e_take, 0, NULL);
    return SK_OK;
}

/* ---- rendering -------------------------------------------------------- */

static int render_entry(const struct sk_step_entry *e, struct sk_buf *out)
{
    char action[sizeof(e->action)];
    size_t i, j;
    int rc;

    for (i = 0; i < sizeof(action); i++) {
        char c = e->action[i];
        action[i] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
    }
    rc = sk_buf_printf(out, "\n### Step %ld \xE2\x80\x94 %s (%zu/%zu failed)",
                       e->step, action, e->n_fail, e->n_total);
    for (i = 0; rc == SK_OK && i < e->n_patterns; i++) {
        const struct sk_fail_pattern *p = &e->patterns[i];
        rc = sk_buf_printf(
            out, "\n  - \"%s\" (\xC3\x97%zu, tasks: ", p->pattern, p->count);
        for (j = 0; rc == SK_OK && j < p->count; j++)
            rc = sk_buf_printf(out, "%s%s", j ? ", " : "", p->task_ids[j]);
        if (rc == SK_OK)
            rc = sk_buf_putc(out, ')');
    }
    if (rc != SK_OK || !e->n_rejected)
        return rc;
    {
        char before[48], after[48];
        py_float_repr(e->score_before, before, sizeof(before));
        py_float_repr(e->score_after, after, sizeof(after));
        rc = sk_buf_printf(
            out, "\n  Rejected edits (score %s \xE2\x86\x92 %s):", before,
            after);
    }
    for (i = 0; rc == SK_OK && i < e->n_rejected; i++) {
        const struct sk_rejected_edit *r = &e->rejected[i];
        if (r->kind == SK_REJECTED_EDIT && r->target[0])
            rc = sk_buf_printf(out,
                               "\n    %zu. [%s] target=\"%s\" \xE2\x86\x92 "
                               "\"%s\"",
                               i + 1, r->op, r->target, r->content);
        else if (r->kind == SK_REJECTED_EDIT)
            rc = sk_buf_printf(out, "\n    %zu. [%s] \"%s\"", i + 1, r->op,
                               r->content);
        else /* the reference shows rewrites as type "?", no instruction */
            rc = sk_buf_printf(
                out, "\n    %zu. [%s] \"%s\" \xE2\x86\x92 \"%s\"", i + 1,
                r->type ? r->type : "?", r->title ? r->title : "",
                r->instruction ? r->instruction : "");
    }
    return rc;
}

int sk_stepbuf_render(const struct sk_stepbuf *b, struct sk_buf *out)
{
    size_t i;
    int rc;

    if (!b->len)
        return SK_OK;
    rc = sk_buf_puts(out, STEPBUF_INTRO "\n");
    for (i = 0; rc == SK_OK && i < b->len; i++)
        rc = render_entry(&b->entries[i], out);
    return rc;
}

/* ---- JSON ------------------------------------------------------------- */

static json_t *strv_json(char *const *v, size_t n)
{
    json_t *a = json_array();
    size_t i;
    for (i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_string(v[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

/* json_object_set_new that tolerates a NULL value by failing. */
static int set_new(json_t *o, const char *k, json_t *v)
{
    if (!v)
        return -1;
    return json_object_set_new(o, k, v);
}

static json_t *rejected_json(const struct sk_rejected_edit *r)
{
    json_t *o = json_object();
    int bad = !o;

    if (!bad && r->kind == SK_REJECTED_EDIT)
        bad = set_new(o, "op", json_string(r->op)) ||
              set_new(o, "content", json_string(r->content)) ||
              set_new(o, "target", json_string(r->target));
    else if (!bad && r->kind == SK_REJECTED_SUGGESTION)
        bad = set_new(o, "type", json_string(r->type)) ||
              set_new(o, "title", json_string(r->title)) ||
              set_new(o, "instruction", json_string(r->instruction));
    else if (!bad)
        bad = set_new(o, "title", json_string(r->title)) ||
              set_new(o, "change_summary",
                      strv_json(r->change_summary, r->n_change_summary)) ||
              set_new(o, "source_type", json_string(r->source_type));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int sk_step_entry_to_json(const struct sk_step_entry *e, struct json_t **out)
{
    json_t *o = json_object(), *pats = json_array(), *rej = NULL;
    size_t i;
    int bad = !o || !pats;

    bad = bad || set_new(o, "step", json_integer(e->step)) ||
          set_new(o, "action", json_string(e->action)) ||
          set_new(o, "n_total", json_integer((json_int_t)e->n_total)) ||
          set_new(o, "n_fail", json_integer((json_int_t)e->n_fail));
    for (i = 0; !bad && i < e->n_patterns; i++) {
        const struct sk_fail_pattern *p = &e->patterns[i];
        json_t *po = json_object();
        bad = !po || set_new(po, "pattern", json_string(p->pattern)) ||
              set_new(po, "count", json_integer((json_int_t)p->count)) ||
              set_new(po, "task_ids", strv_json(p->task_ids, p->count));
        if (po && json_array_append_new(pats, po) != 0)
            bad = 1;
    }
    if (!bad) {
        bad = json_object_set(o, "failure_patterns", pats) != 0;
    }
    if (!bad && e->has_reject) {
        rej = json_array();
        bad = !rej || set_new(o, "score_before", json_real(e->score_before)) ||
              set_new(o, "score_after", json_real(e->score_after));
        for (i = 0; !bad && i < e->n_rejected; i++)
            bad =
                json_array_append_new(rej, rejected_json(&e->rejected[i])) != 0;
        bad = bad || json_object_set(o, "rejected_edits", rej) != 0;
    }
    json_decref(pats);
    json_decref(rej);
    if (bad) {
        json_decref(o);
        return SK_ENOMEM;
    }
    *out = o;
    return SK_OK;
}

int sk_stepbuf_to_json(const struct sk_stepbuf *b, struct json_t **out)
{
    json_t *o = json_object(), *arr = json_array();
    size_t i;
    int bad = !o || !arr;

    for (i = 0; !bad && i < b->len; i++) {
        json_t *ej = NULL;
        bad = sk_step_entry_to_json(&b->entries[i], &ej) != SK_OK ||
              json_array_append_new(arr, ej) != 0;
    }
    bad = bad || set_new(o, "epoch", json_integer(b->epoch)) ||
          json_object_set(o, "entries", arr) != 0;
    json_decref(arr);
    if (bad) {
        json_decref(o);
        return SK_ENOMEM;
    }
    *out = o;
    return SK_OK;
}

/* Non-negative integer member k of o into *v; 0 on success. */
static int get_count(const json_t *o, const char *k, size_t *v)
{
    const json_t *j = json_object_get(o, k);
    if (!json_is_integer(j) || json_integer_value(j) < 0)
        return -1;
    *v = (size_t)json_integer_value(j);
    return 0;
}

/* Copy of string member k, or NULL (missing: dflt when given). */
static char *get_str(const json_t *o, const char *k, const char *dflt, int *bad,
                     int *nomem)
{
    const json_t *j = json_object_get(o, k);
    char *s;
    if (!j && dflt)
        s = sk_strdup(dflt);
    else if (!json_is_string(j)) {
        *bad = 1;
        return NULL;
    } else
        s = sk_strndup(json_string_value(j), json_string_length(j));
    if (!s)
        *nomem = 1;
    return s;
}

static int parse_rejected(const json_t *j, struct sk_rejected_edit *r, int *bad)
{
    int nomem = 0;
    const json_t *op = json_object_get(j, "op");

    memset(r, 0, sizeof(*r));
    if (!json_is_object(j)) {
        *bad = 1;
        return SK_EPARSE;
    }
    if (op && !json_is_null(op)) {
        r->kind = SK_REJECTED_EDIT;
        r->op = get_str(j, "op", NULL, bad, &nomem);
        r->content = get_str(j, "content", "", bad, &nomem);
        r->target = get_str(j, "target", "", bad, &nomem);
    } else if (json_object_get(j, "change_summary")) {
        const json_t *cs = json_object_get(j, "change_summary");
        size_t i;
        r->kind = SK_REJECTED_REWRITE;
        r->title = get_str(j, "title", "", bad, &nomem);
        r->source_type = get_str(j, "source_type", "", bad, &nomem);
        if (!json_is_array(cs))
            *bad = 1;
        else if (json_array_size(cs)) {
            r->change_summary = sk_calloc(json_array_size(cs), sizeof(char *));
            if (!r->change_summary)
                nomem = 1;
            for (i = 0; r->change_summary && i < json_array_size(cs); i++) {
                const json_t *s = json_array_get(cs, i);
                if (!json_is_string(s)) {
                    *bad = 1;
                    break;
                }
                r->change_summary[i] = sk_strdup(json_string_value(s));
                r->n_change_summary = i + 1;
                if (!r->change_summary[i]) {
                    nomem = 1;
                    break;
                }
            }
        }
    } else {
        r->kind = SK_REJECTED_SUGGESTION;
        r->type = get_str(j, "type", "?", bad, &nomem);
        r->title = get_str(j, "title", "", bad, &nomem);
        r->instruction = get_str(j, "instruction", "", bad, &nomem);
    }
    if (nomem || *bad) {
        rejected_release(r);
        return nomem ? SK_ENOMEM : SK_EPARSE;
    }
    return SK_OK;
}

static int parse_entry(const json_t *j, struct sk_step_entry *e,
                       struct sk_error *err, size_t idx)
{
    const json_t *act = json_object_get(j, "action");
    const json_t *pats = json_object_get(j, "failure_patterns");
    const json_t *rej = json_object_get(j, "rejected_edits");
    const json_t *step = json_object_get(j, "step");
    size_t i, k;
    int bad = 0, nomem = 0, rc = SK_EPARSE;

    sk_step_entry_init(e, 0, NULL);
    if (!json_is_object(j) || !json_is_integer(step) || !json_is_string(act) ||
        json_string_length(act) >= sizeof(e->action) ||
        get_count(j, "n_total", &e->n_total) ||
        get_count(j, "n_fail", &e->n_fail) || (pats && !json_is_array(pats)))
        goto out;
    sk_step_entry_init(e, (long)json_integer_value(step),
                       json_string_value(act));
    get_count(j, "n_total", &e->n_total);
    get_count(j, "n_fail", &e->n_fail);
    if (json_array_size(pats)) {
        e->patterns = sk_calloc(json_array_size(pats), sizeof(*e->patterns));
        if (!e->patterns) {
            rc = SK_ENOMEM;
            goto out;
        }
    }
    for (i = 0; i < json_array_size(pats); i++) {
        const json_t *p = json_array_get(pats, i);
        const json_t *ids = json_object_get(p, "task_ids");
        struct sk_fail_pattern *fp = &e->patterns[i];
        size_t count;
        e->n_patterns = i + 1;
        if (!json_is_object(p) || get_count(p, "count", &count) ||
            !json_is_array(ids) || json_array_size(ids) != count)
            goto out;
        fp->pattern = get_str(p, "pattern", NULL, &bad, &nomem);
        if (nomem)
            rc = SK_ENOMEM;
        if (bad || nomem)
            goto out;
        if (count) {
            fp->task_ids = sk_calloc(count, sizeof(char *));
            if (!fp->task_ids) {
                rc = SK_ENOMEM;
                goto out;
            }
        }
        fp->count = count;
        for (k = 0; k < count; k++) {
            const json_t *id = json_array_get(ids, k);
            if (!json_is_string(id))
                goto out;
            fp->task_ids[k] = sk_strdup(json_string_value(id));
            if (!fp->task_ids[k]) {
                rc = SK_ENOMEM;
                goto out;
            }
        }
    }
    if (rej) {
        const json_t *sb = json_object_get(j, "score_before");
        const json_t *sa = json_object_get(j, "score_after");
        if (!json_is_array(rej) || !json_is_number(sb) || !json_is_number(sa))
            goto out;
        sk_step_entry_set_reject(e, json_number_value(sb),
                                 json_number_value(sa));
        if (json_array_size(rej)) {
            e->rejected = sk_calloc(json_array_size(rej), sizeof(*e->rejected));
            if (!e->rejected) {
                rc = SK_ENOMEM;
                goto out;
            }
        }
        for (i = 0; i < json_array_size(rej); i++) {
            rc = parse_rejected(json_array_get(rej, i), &e->rejected[i], &bad);
            if (rc != SK_OK)
                goto out;
            e->n_rejected = i + 1;
        }
    }
    return SK_OK;
out:
    sk_step_entry_release(e);
    if (rc == SK_ENOMEM)
        return sk_error_set(err, rc, "step buffer: out of memory");
    return sk_error_set(err, SK_EPARSE, "step buffer entry %zu is malformed",
                        idx);
}

int sk_stepbuf_from_json(const struct json_t *j, struct sk_stepbuf *out,
                         struct sk_error *err)
{
    const json_t *ep = json_object_get(j, "epoch");
    const json_t *arr = json_object_get(j, "entries");
    size_t i;
    int rc;

    sk_stepbuf_release(out);
    if (!json_is_object(j) || !json_is_integer(ep) || !json_is_array(arr))
        return sk_error_set(err, SK_EPARSE,
                            "step buffer: expected {\"epoch\": int, "
                            "\"entries\": [...]}");
    out->epoch = (long)json_integer_value(ep);
    for (i = 0; i < json_array_size(arr); i++) {
        struct sk_step_entry e;
        rc = parse_entry(json_array_get(arr, i), &e, err, i);
        if (rc == SK_OK) {
            rc = sk_stepbuf_add_take(out, &e);
            if (rc != SK_OK) {
                sk_step_entry_release(&e);
                sk_error_set(err, rc, "step buffer: out of memory");
            }
        }
        if (rc != SK_OK) {
            sk_stepbuf_release(out);
            return rc;
        }
    }
    return SK_OK;
}
