/*
 * edit.c - edit lists, sequential application and the apply report (see
 * edit.h).  Each applied edit builds the next text in a fresh buffer, so a
 * failure half-way never leaves a damaged text behind.
 */
#include "common.h"
#include "skill/edit.h"

#include <string.h>

#include <jansson.h>

#include "skill/skill.h"
#include "util/alloc.h"
#include "util/buf.h"

#define PREVIEW_CHARS 200

/* ---- edit lists ----------------------------------------------------- */

void sk_edit_list_init(struct sk_edit_list *l)
{
    l->items = NULL;
    l->len = 0;
    l->cap = 0;
}

static void edit_release(struct sk_edit *e)
{
    sk_free(e->op);
    sk_free(e->target);
    sk_free(e->content);
    sk_free(e->source_type);
    sk_free(e->error);
    memset(e, 0, sizeof *e);
}

void sk_edit_list_release(struct sk_edit_list *l)
{
    size_t i;
    for (i = 0; i < l->len; i++)
        edit_release(&l->items[i]);
    sk_free(l->items);
    sk_edit_list_init(l);
}

/* Makes room for one more edit. */
static int edit_list_grow(struct sk_edit_list *l)
{
    struct sk_edit *p;
    size_t ncap;
    if (l->len < l->cap)
        return SK_OK;
    ncap = l->cap ? l->cap * 2 : 8;
    p = sk_realloc(l->items, ncap * sizeof *p);
    if (!p)
        return SK_ENOMEM;
    l->items = p;
    l->cap = ncap;
    return SK_OK;
}

int sk_edit_list_add(struct sk_edit_list *l, const char *op, const char *target,
                     const char *content)
{
    struct sk_edit e;
    memset(&e, 0, sizeof e);
    /* Rows become JSON strings, which must be UTF-8. */
    if ((op && sk_skill_check_text(op, strlen(op), "op", NULL)) ||
        (target &&
         sk_skill_check_text(target, strlen(target), "target", NULL)) ||
        (content &&
         sk_skill_check_text(content, strlen(content), "content", NULL)))
        return SK_EINVAL;
    if (edit_list_grow(l) != SK_OK)
        return SK_ENOMEM;
    e.op = sk_strdup(op ? op : "");
    e.target = sk_strdup(target ? target : "");
    e.content = sk_strdup(content ? content : "");
    if (!e.op || !e.target || !e.content) {
        edit_release(&e);
        return SK_ENOMEM;
    }
    l->items[l->len++] = e;
    return SK_OK;
}

/* Python's type name for a JSON value, as it appears in exception text. */
static const char *py_type(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "dict";
    case JSON_ARRAY:
        return "list";
    case JSON_STRING:
        return "str";
    case JSON_INTEGER:
        return "int";
    case JSON_REAL:
        return "float";
    case JSON_TRUE:
    case JSON_FALSE:
        return "bool";
    case JSON_NULL:
    default:
        return "NoneType";
    }
}

/* pre + a + post as a new string, or NULL. */
static char *fmt_error(const char *pre, const char *a, const char *post)
{
    struct sk_buf b;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (sk_buf_printf(&b, "%s%s%s", pre, a, post) != SK_OK) {
        sk_buf_release(&b);
        return NULL;
    }
    return sk_buf_detach(&b, NULL);
}

/*
 * Why an edit object is unusable, in the words of the Python exception
 * the reference would raise (content is read before target), or NULL with
 * *none set when it is fine.
 */
static char *edit_error(const json_t *item, int *none)
{
    const json_t *content, *target;
    *none = 0;
    if (!json_is_object(item))
        return fmt_error("'", py_type(item), "' object has no attribute 'get'");
    content = json_object_get(item, "content");
    if (content && !json_is_string(content))
        return fmt_error("'", py_type(content),
                         "' object has no attribute 'strip'");
    target = json_object_get(item, "target");
    if (target && !json_is_string(target)) {
        if (json_is_object(target))
            return fmt_error("unhashable type: '", "slice", "'");
        if (json_is_array(target))
            return fmt_error("must be str, not ", "list", "");
        return fmt_error("'", py_type(target), "' object is not subscriptable");
    }
    *none = 1;
    return NULL;
}

static char *str_field(const json_t *item, const char *key)
{
    const json_t *v = json_is_object(item) ? json_object_get(item, key) : NULL;
    return sk_strdup(v && json_is_string(v) ? json_string_value(v) : "");
}

/* Fills e from one array element; SK_ENOMEM leaves e released. */
static int edit_from_json(const json_t *item, struct sk_edit *e)
{
    const json_t *v;
    int ok;

    memset(e, 0, sizeof *e);
    e->error = edit_error(item, &ok);
    if (!ok && !e->error)
        goto nomem;
    v = json_is_object(item) ? json_object_get(item, "op") : NULL;
    if (v && !json_is_string(v))
        e->op = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    else
        e->op = str_field(item, "op");
    e->target = str_field(item, "target");
    e->content = str_field(item, "content");
    if (!e->op || !e->target || !e->content)
        goto nomem;
    if (!json_is_object(item))
        return SK_OK;
    v = json_object_get(item, "support_count");
    if (json_is_integer(v)) {
        e->has_support_count = 1;
        e->support_count = (long)json_integer_value(v);
    }
    v = json_object_get(item, "merge_level");
    if (json_is_integer(v)) {
        e->has_merge_level = 1;
        e->merge_level = (long)json_integer_value(v);
    }
    v = json_object_get(item, "source_type");
    if (json_is_string(v)) {
        e->source_type = sk_strdup(json_string_value(v));
        if (!e->source_type)
            goto nomem;
    }
    return SK_OK;
nomem:
    edit_release(e);
    return SK_ENOMEM;
}

int sk_edit_list_from_json(struct sk_edit_list *l, const struct json_t *array,
                           struct sk_error *err)
{
    size_t i, old_len = l->len;
    int rc = SK_OK;

    if (!json_is_array(array))
        return sk_error_set(err, SK_EINVAL, "edits: expected a JSON array");
    for (i = 0; i < json_array_size(array); i++) {
        rc = edit_list_grow(l);
        if (rc == SK_OK)
            rc = edit_from_json(json_array_get(array, i), &l->items[l->len]);
        if (rc != SK_OK)
            break;
        l->len++;
    }
    if (rc != SK_OK) {
        while (l->len > old_len)
            edit_release(&l->items[--l->len]);
        return sk_error_set(err, rc, "edits: out of memory");
    }
    return SK_OK;
}

/* ---- report ---------------------------------------------------------- */

void sk_apply_report_init(struct sk_apply_report *r)
{
    r->rows = NULL;
    r->len = 0;
    r->cap = 0;
}

static void row_release(struct sk_apply_row *row)
{
    sk_free(row->op);
    sk_free(row->target);
    sk_free(row->content_preview);
    sk_free(row->error);
}

void sk_apply_report_release(struct sk_apply_report *r)
{
    size_t i;
    for (i = 0; i < r->len; i++)
        row_release(&r->rows[i]);
    sk_free(r->rows);
    sk_apply_report_init(r);
}

static char *prefix_dup(const char *s, size_t n)
{
    return sk_strndup(s, skill_prefix_chars(s, n, PREVIEW_CHARS));
}

/* Appends a row; SK_ENOMEM leaves the report unchanged. */
static int report_add(struct sk_apply_report *r, size_t index,
                      const struct sk_edit *e, const char *content, size_t clen,
                      const char *status)
{
    struct sk_apply_row row;
    memset(&row, 0, sizeof row);
    if (r->len == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 8;
        struct sk_apply_row *p = sk_realloc(r->rows, ncap * sizeof *p);
        if (!p)
            return SK_ENOMEM;
        r->rows = p;
        r->cap = ncap;
    }
    row.index = index;
    row.status = status;
    if (e->error) {
        row.op = sk_strdup("");
        row.target = sk_strdup("");
        row.content_preview = sk_strdup("");
        row.error = sk_strdup(e->error);
    } else {
        row.op = sk_strdup(e->op);
        row.target = prefix_dup(e->target, strlen(e->target));
        row.content_preview = prefix_dup(content, clen);
    }
    if (!row.op || !row.target || !row.content_preview ||
        (e->error && !row.error)) {
        row_release(&row);
        return SK_ENOMEM;
    }
    r->rows[r->len++] = row;
    return SK_OK;
}

/* ---- application ---------------------------------------------------- */

/* Appends the pieces of the new text to next. */
static int put(struct sk_buf *next, const char *p, size_t n)
{
    return n ? sk_buf_append(next, p, n) : SK_OK;
}

/*
 * append, and insert_after without a usable target: before the earliest
 * protected region if there is one, else at the end.
 */
static int do_append(const char *s, size_t n, const char *c, size_t clen,
                     struct sk_buf *next, int *before)
{
    size_t p = skill_first_protected(s, n);
    int rc;
    *before = p < n;
    if (*before) {
        rc = put(next, s, skill_rstrip(s, p));
        if (rc == SK_OK)
            rc = put(next, "\n\n", 2);
        if (rc == SK_OK)
            rc = put(next, c, clen);
        if (rc == SK_OK)
            rc = put(next, "\n\n", 2);
        if (rc == SK_OK)
            rc = put(next, s + p, n - p);
        return rc;
    }
    rc = put(next, s, skill_rstrip(s, n));
    if (rc == SK_OK)
        rc = put(next, "\n\n", 2);
    if (rc == SK_OK)
        rc = put(next, c, clen);
    if (rc == SK_OK)
        rc = put(next, "\n", 1);
    return rc;
}

/* s[:a] + mid + s[b:] into next. */
static int splice(const char *s, size_t n, size_t a, size_t b, const char *mid,
                  size_t mlen, struct sk_buf *next)
{
    int rc = put(next, s, a);
    if (rc == SK_OK)
        rc = put(next, mid, mlen);
    if (rc == SK_OK)
        rc = put(next, s + b, n - b);
    return rc;
}

/*
 * Applies one usable edit to s[0..n).  Sets *status; when it starts with
 * "applied", next holds the new text (possibly empty), otherwise next is
 * untouched.
 */
static int apply_one(const char *s, size_t n, const struct sk_edit *e,
                     const char *c, size_t clen, struct sk_buf *next,
                     const char **status)
{
    size_t tlen = strlen(e->target), m = 0, ins;
    const char *hit = NULL, *nl;
    int before, rc;

    if (tlen) {
        hit = memmem(s, n, e->target, tlen);
        if (hit) {
            m = (size_t)(hit - s);
            if (skill_span_protected(s, n, m, m + tlen)) {
                *status = SK_EDIT_SKIPPED_PROTECTED;
                return SK_OK;
            }
        }
    }
    if (!strcmp(e->op, "append")) {
        rc = do_append(s, n, c, clen, next, &before);
        *status =
            before ? SK_EDIT_APPLIED_APPEND_BEFORE : SK_EDIT_APPLIED_APPEND;
        return rc;
    }
    if (!strcmp(e->op, "insert_after")) {
        if (!hit) {
            rc = do_append(s, n, c, clen, next, &before);
            *status = before ? SK_EDIT_APPLIED_INSERT_FALLBACK_BEFORE
                             : SK_EDIT_APPLIED_INSERT_FALLBACK;
            return rc;
        }
        /* After the whole line holding the end of the target. */
        nl = memchr(s + m + tlen, '\n', n - m - tlen);
        ins = nl ? (size_t)(nl - s) + 1 : n;
        if (skill_point_inside(s, n, ins)) {
            *status = SK_EDIT_SKIPPED_PROTECTED;
            return SK_OK;
        }
        rc = put(next, s, ins);
        if (rc == SK_OK)
            rc = put(next, "\n", 1);
        if (rc == SK_OK)
            rc = put(next, c, clen);
        if (rc == SK_OK)
            rc = put(next, "\n", 1);
        if (rc == SK_OK)
            rc = put(next, s + ins, n - ins);
        *status = SK_EDIT_APPLIED_INSERT_AFTER;
        return rc;
    }
    if (!strcmp(e->op, "replace") || !strcmp(e->op, "delete")) {
        int is_replace = e->op[0] == 'r';
        if (!tlen) {
            *status = is_replace ? SK_EDIT_SKIPPED_REPLACE_MISSING
                                 : SK_EDIT_SKIPPED_DELETE_MISSING;
            return SK_OK;
        }
        if (!hit) {
            *status = is_replace ? SK_EDIT_SKIPPED_REPLACE_NOT_FOUND
                                 : SK_EDIT_SKIPPED_DELETE_NOT_FOUND;
            return SK_OK;
        }
        *status = is_replace ? SK_EDIT_APPLIED_REPLACE : SK_EDIT_APPLIED_DELETE;
        return splice(s, n, m, m + tlen, c, is_replace ? clen : 0, next);
    }
    *status = SK_EDIT_SKIPPED_UNKNOWN_OP;
    return SK_OK;
}

/* content = strip(content) then markers deleted, into b. */
static int clean_content(const char *content, struct sk_buf *b)
{
    size_t n = strlen(content);
    size_t a = skill_lstrip(content, n);
    size_t z = a + skill_rstrip(content + a, n - a);
    sk_buf_reset(b);
    if (z == a)
        return SK_OK;
    if (sk_buf_append(b, content + a, z - a) != SK_OK)
        return SK_ENOMEM;
    skill_remove_markers(b);
    return SK_OK;
}

int sk_edit_apply(const char *skill, size_t len,
                  const struct sk_edit_list *edits, char **out, size_t *out_len,
                  struct sk_apply_report *report, struct sk_error *err)
{
    struct sk_buf cur, next, content;
    size_t i, old_rows = report->len;
    char *text;
    int rc = SK_OK;

    sk_buf_init(&cur, SK_BUF_UNLIMITED);
    sk_buf_init(&next, SK_BUF_UNLIMITED);
    sk_buf_init(&content, SK_BUF_UNLIMITED);
    rc = put(&cur, skill, len);
    for (i = 0; rc == SK_OK && edits && i < edits->len; i++) {
        const struct sk_edit *e = &edits->items[i];
        const char *status = SK_EDIT_ERROR;
        sk_buf_reset(&content);
        if (!e->error) {
            rc = clean_content(e->content, &content);
            if (rc != SK_OK)
                break;
            sk_buf_reset(&next);
            rc = apply_one(cur.data ? cur.data : "", cur.len, e,
                           sk_buf_cstr(&content), content.len, &next, &status);
            if (rc != SK_OK)
                break;
        }
        rc = report_add(report, i + 1, e, sk_buf_cstr(&content), content.len,
                        status);
        if (rc == SK_OK && !strncmp(status, "applied", 7)) {
            struct sk_buf tmp = cur;
            cur = next;
            next = tmp;
        }
    }
    if (rc == SK_OK) {
        size_t n = 0;
        text = sk_buf_detach(&cur, &n);
        if (text) {
            *out = text;
            if (out_len)
                *out_len = n;
        } else {
            rc = SK_ENOMEM;
        }
    }
    if (rc != SK_OK) {
        while (report->len > old_rows)
            row_release(&report->rows[--report->len]);
        rc = sk_error_set(err, rc, "applying edits: %s", sk_strerror(rc));
    }
    sk_buf_release(&cur);
    sk_buf_release(&next);
    sk_buf_release(&content);
    return rc;
}

void sk_apply_report_summary(const struct sk_apply_report *r,
                             struct sk_apply_summary *s)
{
    size_t i;
    memset(s, 0, sizeof *s);
    s->total = r->len;
    for (i = 0; i < r->len; i++) {
        const char *st = r->rows[i].status;
        if (!strncmp(st, "applied", 7))
            s->applied++;
        else if (!strncmp(st, "skipped", 7))
            s->skipped++;
        else if (!strcmp(st, SK_EDIT_ERROR))
            s->errors++;
    }
}

/* ---- JSON ------------------------------------------------------------ */

static int set_str(json_t *o, const char *key, const char *val)
{
    return json_object_set_new(o, key, json_string(val));
}

static int set_int(json_t *o, const char *key, size_t val)
{
    return json_object_set_new(o, key, json_integer((json_int_t)val));
}

static json_t *row_to_json(const struct sk_apply_row *row)
{
    json_t *o = json_object();
    int bad = !o;
    if (!bad && row->error) {
        /* The reference builds error rows in this key order. */
        bad = set_int(o, "index", row->index) || set_str(o, "op", "") ||
              set_str(o, "target", "") || set_str(o, "content_preview", "") ||
              set_str(o, "status", row->status) ||
              set_str(o, "error", row->error);
    } else if (!bad) {
        bad = set_str(o, "op", row->op) || set_str(o, "target", row->target) ||
              set_str(o, "content_preview", row->content_preview) ||
              set_str(o, "status", row->status) ||
              set_int(o, "index", row->index);
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

struct json_t *sk_apply_report_to_json(const struct sk_apply_report *r)
{
    json_t *a = json_array();
    size_t i;
    if (!a)
        return NULL;
    for (i = 0; i < r->len; i++) {
        if (json_array_append_new(a, row_to_json(&r->rows[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/*
 * jansson writes "\u001B" where Python writes "\u001b".  In dumped JSON
 * every backslash starts an escape, so lower-casing the four digits after
 * each "\u" is exact.
 */
static void lower_unicode_escapes(char *s, size_t n)
{
    size_t i, k;
    for (i = 0; i + 1 < n; i++) {
        if (s[i] != '\\')
            continue;
        if (s[i + 1] == 'u') {
            for (k = i + 2; k < i + 6 && k < n; k++) {
                if (s[k] >= 'A' && s[k] <= 'F')
                    s[k] = (char)(s[k] - 'A' + 'a');
            }
        }
        i++; /* skip the escaped character */
    }
}

int sk_apply_report_dumps(const struct sk_apply_report *r, char **out,
                          size_t *out_len)
{
    json_t *a = sk_apply_report_to_json(r);
    char *s;
    if (!a)
        return SK_ENOMEM;
    s = json_dumps(a, JSON_INDENT(2));
    json_decref(a);
    if (!s)
        return SK_ENOMEM;
    lower_unicode_escapes(s, strlen(s));
    *out = s;
    if (out_len)
        *out_len = strlen(s);
    return SK_OK;
}

struct json_t *sk_apply_summary_to_json(const struct sk_apply_summary *s)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (set_int(o, "total", s->total) || set_int(o, "applied", s->applied) ||
        set_int(o, "skipped", s->skipped) || set_int(o, "errors", s->errors)) {
        json_decref(o);
        return NULL;
    }
    return o;
}
