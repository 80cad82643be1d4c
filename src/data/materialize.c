/*
 * materialize.c - id manifest + upstream rows -> split directory (see
 * materialize.h).  Sources are streamed row by row (JSON Lines and CSV;
 * a JSON array is read whole), and only the rows whose id the manifest
 * wants are kept, so a large upstream dump costs little memory.  Row
 * normalisation per benchmark follows the reference's loaders.
 */
#include "common.h"

#include "data/materialize.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/officeqa.h"
#include "data/rows.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/jsonparse.h"

/* Ids quoted in messages are cut to this many bytes. */
#define ID_SHOWN 120

enum mbench {
    MB_SEARCHQA,
    MB_OFFICEQA,
    MB_LIVEMATH,
    MB_DOCVQA,
    MB_SPREADSHEET,
    MB_GENERIC
};

static const struct {
    const char *name;
    enum mbench bench;
    const char *id_fields; /* '|'-separated, first present wins */
} benches[] = {
    {"searchqa", MB_SEARCHQA, "key|id"},
    {"officeqa", MB_OFFICEQA, "uid|id"},
    {"livemathematicianbench", MB_LIVEMATH, NULL},
    {"livemath", MB_LIVEMATH, NULL},
    {"docvqa", MB_DOCVQA, "questionId|id"},
    {"spreadsheetbench", MB_SPREADSHEET, "id"},
    {"generic", MB_GENERIC, "id"},
};

static const char *const kind_names[SK_SPLIT_COUNT] = {"train", "val", "test"};

/* One materialisation in progress. */
struct mat {
    const struct sk_materialize_opts *o;
    enum mbench bench;
    const char *bench_name;
    const char *id_fields;
    json_t *manifest[SK_SPLIT_COUNT]; /* arrays of manifest items */
    json_t *manifest_meta;            /* split_manifest.json or NULL */
    json_t *want;                     /* id -> [kind, index] */
    json_t *found;                    /* id -> finished item */
    json_t *where;                    /* id -> where its row was */
    const char *root;                 /* source directory, or NULL */
    const char *label;                /* the source as the user gave it */
    struct sk_materialize_result *res;
};

void sk_materialize_result_init(struct sk_materialize_result *r)
{
    memset(r, 0, sizeof *r);
}

void sk_materialize_result_release(struct sk_materialize_result *r)
{
    size_t i;
    if (!r)
        return;
    for (i = 0; i < r->n_missing; i++)
        sk_free(r->missing[i]);
    sk_free(r->missing);
    sk_materialize_result_init(r);
}

const char *sk_materialize_bench_names(void)
{
    return "searchqa, officeqa, livemathematicianbench (livemath), docvqa, "
           "spreadsheetbench, generic";
}

/* ---- Python-like value helpers ------------------------------------------ */

/* Python's truth value of a JSON value (NULL = absent = falsy). */
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

/* Shortest text that reads back to d, Python-style ("1.0", "0.25"). */
static void real_repr(double d, char *buf, size_t cap)
{
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    if (!strpbrk(buf, ".eEn") && strlen(buf) + 3 <= cap)
        memcpy(buf + strlen(buf), ".0", 3);
}

/* Python str(v) appended to out; containers become compact JSON. */
static int py_str(const json_t *v, struct sk_buf *out)
{
    char num[64];
    char *dump;
    int rc;
    if (!v)
        return sk_buf_puts(out, "None");
    switch (json_typeof(v)) {
    case JSON_STRING:
        return sk_buf_append(out, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT,
                 json_integer_value(v));
        return sk_buf_puts(out, num);
    case JSON_REAL:
        real_repr(json_real_value(v), num, sizeof num);
        return sk_buf_puts(out, num);
    case JSON_TRUE:
        return sk_buf_puts(out, "True");
    case JSON_FALSE:
        return sk_buf_puts(out, "False");
    case JSON_NULL:
        return sk_buf_puts(out, "None");
    default:
        dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!dump)
            return SK_ENOMEM;
        rc = sk_buf_puts(out, dump);
        sk_free(dump);
        return rc;
    }
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

/* Trims ASCII whitespace from both ends of b in place. */
static void buf_strip(struct sk_buf *b)
{
    size_t start = 0, end = b->len;
    while (end > 0 && is_blank(b->data[end - 1]))
        end--;
    while (start < end && is_blank(b->data[start]))
        start++;
    if (start > 0)
        memmove(b->data, b->data + start, end - start);
    sk_buf_truncate(b, end - start);
}

/*
 * `str(row.get(a) or row.get(b) or "").strip()` as a new JSON string
 * (b may be NULL).  NULL on SK_ENOMEM.
 */
static json_t *str_field(const json_t *row, const char *a, const char *b)
{
    const json_t *v = json_object_get(row, a);
    struct sk_buf s;
    json_t *out = NULL;
    if (!py_truthy(v) && b)
        v = json_object_get(row, b);
    sk_buf_init(&s, SK_BUF_UNLIMITED);
    if (py_truthy(v) && py_str(v, &s) != SK_OK)
        goto out;
    buf_strip(&s);
    out = json_stringn(sk_buf_cstr(&s), s.len);
out:
    sk_buf_release(&s);
    return out;
}

/* Appends str(v).strip() to list when it is not empty. */
static int push_stripped(json_t *list, const json_t *v)
{
    struct sk_buf s;
    int rc;
    sk_buf_init(&s, SK_BUF_UNLIMITED);
    rc = py_str(v, &s);
    if (rc == SK_OK) {
        buf_strip(&s);
        if (s.len && json_array_append_new(
                         list, json_stringn(sk_buf_cstr(&s), s.len)) != 0)
            rc = SK_ENOMEM;
    }
    sk_buf_release(&s);
    return rc;
}

/* Sets key on obj, taking value; SK_ENOMEM when value is NULL or the set
 * fails. */
static int put(json_t *obj, const char *key, json_t *value)
{
    if (!value)
        return SK_ENOMEM;
    return json_object_set_new(obj, key, value) ? SK_ENOMEM : SK_OK;
}

/* ---- per-benchmark rows -> items ---------------------------------------- */

/* SearchQA: {id, question, context, answers}, as the reference writes. */
static int norm_searchqa(const json_t *row, const char *id,
                         const struct sk_row_pos *p, json_t **out,
                         struct sk_error *err)
{
    static const char *const need[] = {"question", "context", "answers"};
    json_t *item = json_object(), *ans;
    char where[600];
    size_t i;
    int rc = SK_ENOMEM;
    *out = NULL;
    if (!item)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    for (i = 0; i < SK_ARRAY_LEN(need); i++)
        if (!json_object_get(row, need[i])) {
            sk_row_pos_text(p, where, sizeof where);
            json_decref(item);
            return sk_error_set(err, SK_EDATA,
                                "%s: the row of id \"%.*s\" has no \"%s\" "
                                "(searchqa rows need question, context and "
                                "answers)",
                                where, ID_SHOWN, id, need[i]);
        }
    ans = json_object_get(row, "answers");
    if (put(item, "id", json_string(id)) ||
        put(item, "question", json_incref(json_object_get(row, "question"))) ||
        put(item, "context", json_incref(json_object_get(row, "context"))))
        goto fail;
    if (json_is_string(ans)) {
        /* a CSV cell: a JSON list, or one answer */
        const char *s = json_string_value(ans);
        json_t *parsed = NULL;
        json_error_t jerr;
        while (is_blank(*s))
            s++;
        if (*s == '[') {
            parsed = sk_json_loadb(s, strlen(s), 0, &jerr);
            if (!parsed && sk_json_oom(&jerr))
                goto fail;
        }
        if (json_is_array(parsed)) {
            rc = put(item, "answers", parsed);
        } else {
            json_decref(parsed);
            rc = put(item, "answers", json_pack("[O]", ans));
        }
        if (rc)
            goto fail;
    } else if (put(item, "answers", json_incref(ans))) {
        goto fail;
    }
    *out = item;
    return SK_OK;
fail:
    json_decref(item);
    return sk_error_set(err, SK_ENOMEM, "out of memory");
}

/* A new JSON array of n strings; NULL on SK_ENOMEM. */
static json_t *str_array(char **v, size_t n)
{
    json_t *a = json_array();
    size_t i;
    for (i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_string(v[i]))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

/*
 * OfficeQA: the normalised row of the reference's loader, read by the
 * benchmark's own sk_officeqa_item_from_json so that both agree.
 */
static int norm_officeqa(const json_t *row, const char *id,
                         const struct sk_row_pos *p, json_t **out,
                         struct sk_error *err)
{
    struct sk_officeqa_item it;
    struct sk_error ierr;
    json_t *item = NULL;
    char where[600];
    int rc;
    *out = NULL;
    sk_officeqa_item_init(&it);
    rc = sk_officeqa_item_from_json(row, &it, &ierr);
    if (rc == SK_EDATA) {
        sk_row_pos_text(p, where, sizeof where);
        return sk_error_set(err, rc, "%s: %s", where, ierr.msg);
    }
    if (rc)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    item = json_object();
    if (!item || put(item, "id", json_string(id)) ||
        put(item, "uid", json_string(id)) ||
        put(item, "question", json_string(it.question)) ||
        put(item, "ground_truth", json_string(it.ground_truth)) ||
        put(item, "answers",
            *it.ground_truth ? json_pack("[s]", it.ground_truth)
                             : json_array()) ||
        put(item, "task_type", json_string(it.task_type)) ||
        put(item, "category", json_string(it.task_type)) ||
        put(item, "source_files",
            str_array(it.source_files, it.n_source_files)) ||
        put(item, "source_docs", str_array(it.source_docs, it.n_source_docs)) ||
        put(item, "split", str_field(row, "split", NULL))) {
        json_decref(item);
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
    } else {
        *out = item;
    }
    sk_officeqa_item_release(&it);
    return rc;
}

/* str(x).strip().upper().rstrip(".):") for choice labels. */
static int norm_label(const json_t *v, struct sk_buf *out)
{
    size_t i;
    int rc;
    sk_buf_reset(out);
    rc = py_str(v, out);
    if (rc)
        return rc;
    buf_strip(out);
    for (i = 0; i < out->len; i++)
        if (out->data[i] >= 'a' && out->data[i] <= 'z')
            out->data[i] = (char)(out->data[i] - 'a' + 'A');
    while (out->len && strchr(".):", out->data[out->len - 1]))
        sk_buf_truncate(out, out->len - 1);
    return SK_OK;
}

/* Label of the idx-th choice when the data gives none: A, B, ... */
static json_t *default_label(size_t idx)
{
    char l[2] = {(char)('A' + (idx < 26 ? idx : 25)), '\0'};
    return json_string(l);
}

static int cmp_label_order(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    return strcmp(x, y);
}

/* The reference's choice coercion: list of objects or strings, or a
 * label -> text object (labels sorted). */
static int coerce_choices(const json_t *raw, json_t *choices)
{
    struct sk_buf label, text;
    size_t i, n;
    int rc = SK_OK;
    sk_buf_init(&label, SK_BUF_UNLIMITED);
    sk_buf_init(&text, SK_BUF_UNLIMITED);
    if (json_is_array(raw)) {
        for (i = 0; i < json_array_size(raw) && rc == SK_OK; i++) {
            const json_t *c = json_array_get(raw, i), *l = NULL, *t = NULL;
            json_t *dl = NULL;
            sk_buf_reset(&label);
            sk_buf_reset(&text);
            if (json_is_object(c)) {
                l = json_object_get(c, "label");
                t = json_object_get(c, "text");
                if (!py_truthy(t))
                    t = json_object_get(c, "content");
            } else {
                t = c;
            }
            if (!py_truthy(l))
                l = dl = default_label(i);
            rc = l ? py_str(l, &label) : SK_ENOMEM;
            json_decref(dl);
            if (rc == SK_OK && py_truthy(t))
                rc = py_str(t, &text);
            if (rc)
                break;
            buf_strip(&label);
            buf_strip(&text);
            if (text.len &&
                json_array_append_new(
                    choices,
                    json_pack("{s:s%,s:s%}", "label", sk_buf_cstr(&label),
                              label.len, "text", sk_buf_cstr(&text), text.len)))
                rc = SK_ENOMEM;
        }
    } else if (json_is_object(raw)) {
        const char **keys;
        const char *k;
        json_t *v;
        n = json_object_size(raw);
        keys = sk_calloc(n ? n : 1, sizeof *keys);
        if (!keys) {
            rc = SK_ENOMEM;
            goto out;
        }
        i = 0;
        json_object_foreach((json_t *)raw, k, v)
        {
            (void)v;
            keys[i++] = k;
        }
        qsort(keys, n, sizeof *keys, cmp_label_order);
        for (i = 0; i < n && rc == SK_OK; i++) {
            sk_buf_reset(&label);
            sk_buf_reset(&text);
            if (sk_buf_puts(&label, keys[i]) ||
                py_str(json_object_get(raw, keys[i]), &text)) {
                rc = SK_ENOMEM;
                break;
            }
            buf_strip(&label);
            buf_strip(&text);
            if (text.len &&
                json_array_append_new(
                    choices,
                    json_pack("{s:s%,s:s%}", "label", sk_buf_cstr(&label),
                              label.len, "text", sk_buf_cstr(&text), text.len)))
                rc = SK_ENOMEM;
        }
        sk_free(keys);
    }
out:
    sk_buf_release(&label);
    sk_buf_release(&text);
    return rc;
}

/* Position of a label in A..G, 7 for anything else (the reference's sort
 * key). */
static int label_rank(const char *l)
{
    return (strlen(l) == 1 && l[0] >= 'A' && l[0] <= 'G') ? l[0] - 'A' : 7;
}

/* Stable insertion sort of choices by label rank. */
static void sort_choices(json_t *choices)
{
    size_t n = json_array_size(choices), i, j;
    for (i = 1; i < n; i++) {
        json_t *c = json_incref(json_array_get(choices, i));
        int r = label_rank(json_string_value(json_object_get(c, "label")));
        for (j = i; j > 0; j--) {
            json_t *prev = json_array_get(choices, j - 1);
            if (label_rank(json_string_value(json_object_get(prev, "label"))) <=
                r)
                break;
            json_array_set(choices, j, prev);
        }
        json_array_set_new(choices, j, c);
    }
}

/* "202511" out of ".../qa_202511_final.json", into buf ("" if not). */
static void month_from_file(const char *file, char *buf, size_t cap)
{
    const char *base = strrchr(file, '/'), *end;
    base = base ? base + 1 : file;
    buf[0] = '\0';
    if (strncmp(base, "qa_", 3) != 0)
        return;
    end = strstr(base + 3, "_final.json");
    if (end && (size_t)(end - base - 3) < cap)
        snprintf(buf, cap, "%.*s", (int)(end - base - 3), base + 3);
}

/*
 * LiveMathematicianBench id of a raw row: "<month>:<no>" (month from the
 * row, else from the file name), no defaulting to the row's position.
 */
static int livemath_id(const json_t *row, const struct sk_row_pos *p,
                       struct sk_buf *out)
{
    struct sk_buf month;
    const json_t *no = json_object_get(row, "no");
    char fm[64], num[32];
    int rc = SK_OK;
    sk_buf_init(&month, SK_BUF_UNLIMITED);
    if (py_truthy(json_object_get(row, "month")))
        rc = py_str(json_object_get(row, "month"), &month);
    buf_strip(&month);
    if (rc == SK_OK && month.len == 0) {
        month_from_file(p->file, fm, sizeof fm);
        rc = sk_buf_puts(&month, fm);
    }
    if (rc == SK_OK && month.len)
        rc = sk_buf_printf(out, "%s:", sk_buf_cstr(&month));
    if (rc == SK_OK) {
        if (no) {
            rc = py_str(no, out);
        } else {
            snprintf(num, sizeof num, "%zu", p->rowidx + 1);
            rc = sk_buf_puts(out, num);
        }
    }
    sk_buf_release(&month);
    return rc;
}

/* Finds the text of choice label in choices, NULL if absent. */
static const char *choice_text(const json_t *choices, const char *label,
                               struct sk_buf *tmp)
{
    size_t i;
    for (i = 0; i < json_array_size(choices); i++) {
        const json_t *c = json_array_get(choices, i);
        if (norm_label(json_object_get(c, "label"), tmp) != SK_OK)
            return NULL;
        if (strcmp(sk_buf_cstr(tmp), label) == 0)
            return json_string_value(json_object_get(c, "text"));
    }
    return NULL;
}

/*
 * LiveMathematicianBench: the normalised item of the reference's
 * load_items (question, choices and correct choice out of the optional
 * "mcq" wrapper).  *out is NULL for a row the reference would drop (no
 * question, no choices or no correct label).
 */
static int norm_livemath(const json_t *row, const char *id, const json_t *mitem,
                         const struct sk_row_pos *p, const char *root,
                         json_t **out, struct sk_error *err)
{
    const json_t *mcq = json_object_get(row, "mcq"), *raw, *correct;
    json_t *item = NULL, *choices = json_array(), *types = json_array();
    json_t *q = NULL;
    struct sk_buf label, text, tmp;
    const char *known, *src;
    int rc = SK_ENOMEM;
    size_t i;

    *out = NULL;
    sk_buf_init(&label, SK_BUF_UNLIMITED);
    sk_buf_init(&text, SK_BUF_UNLIMITED);
    sk_buf_init(&tmp, SK_BUF_UNLIMITED);
    if (!json_is_object(mcq))
        mcq = NULL;
    if (!choices || !types)
        goto out;
    q = str_field(mcq, "question", NULL);
    if (q && json_string_length(q) == 0) {
        json_decref(q);
        q = str_field(row, "question", NULL);
    }
    raw = json_object_get(mcq, "choices");
    if (!py_truthy(raw))
        raw = json_object_get(row, "choices");
    correct = json_object_get(mcq, "correct_choice");
    if (!py_truthy(correct))
        correct = json_object_get(row, "correct_choice");
    if (!q || coerce_choices(raw, choices))
        goto out;
    if (json_is_object(correct)) {
        const json_t *t = json_object_get(correct, "text");
        json_t *empty = json_string("");
        const json_t *l = json_object_get(correct, "label");
        if (!empty || norm_label(l ? l : empty, &label) ||
            (py_truthy(t) && py_str(t, &text))) {
            json_decref(empty);
            goto out;
        }
        json_decref(empty);
        buf_strip(&text);
    } else if (py_truthy(correct) && norm_label(correct, &label)) {
        goto out;
    }
    if (label.len && text.len == 0) {
        known = choice_text(choices, sk_buf_cstr(&label), &tmp);
        if (known && sk_buf_puts(&text, known))
            goto out;
    }
    if (label.len && text.len &&
        !choice_text(choices, sk_buf_cstr(&label), &tmp)) {
        if (json_array_append_new(
                choices, json_pack("{s:s,s:s}", "label", sk_buf_cstr(&label),
                                   "text", sk_buf_cstr(&text))))
            goto out;
        sort_choices(choices);
    }
    raw = json_object_get(row, "theorem_type");
    if (json_is_array(raw)) {
        for (i = 0; i < json_array_size(raw); i++)
            if (push_stripped(types, json_array_get(raw, i)))
                goto out;
    } else if (raw && !json_is_null(raw) && push_stripped(types, raw)) {
        goto out;
    }
    rc = SK_OK;
    if (json_string_length(q) == 0 || json_array_size(choices) == 0 ||
        label.len == 0)
        goto out; /* dropped, as the reference does */
    src = json_string_value(json_object_get(mitem, "source_file"));
    if (!src) {
        size_t rl = root ? strlen(root) : 0;
        src = p->file;
        if (rl && strncmp(src, root, rl) == 0 && src[rl] == '/')
            src += rl + 1;
    }
    rc = SK_ENOMEM;
    item = json_object();
    if (!item || put(item, "id", json_string(id)) ||
        put(item, "month", str_field(row, "month", NULL)) ||
        put(item, "no",
            json_object_get(row, "no")
                ? json_incref(json_object_get(row, "no"))
                : json_integer((json_int_t)p->rowidx + 1)) ||
        put(item, "paper_link", str_field(row, "paper_link", NULL)) ||
        put(item, "theorem", str_field(row, "theorem", NULL)) ||
        put(item, "sketch", str_field(row, "sketch", NULL)) ||
        put(item, "theorem_type", json_incref(types)) ||
        put(item, "question", json_incref(q)) ||
        put(item, "choices", json_incref(choices)) ||
        put(item, "correct_choice",
            json_pack("{s:s,s:s}", "label", sk_buf_cstr(&label), "text",
                      sk_buf_cstr(&text))) ||
        put(item, "source_path", json_string(src)))
        goto out;
    /* the id's month may come from the file name */
    if (json_string_length(json_object_get(item, "month")) == 0) {
        const char *colon = strchr(id, ':');
        if (colon && put(item, "month", json_stringn(id, (size_t)(colon - id))))
            goto out;
    }
    *out = item;
    item = NULL;
    rc = SK_OK;
out:
    json_decref(item);
    json_decref(q);
    json_decref(choices);
    json_decref(types);
    sk_buf_release(&label);
    sk_buf_release(&text);
    sk_buf_release(&tmp);
    if (rc == SK_ENOMEM)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    return rc;
}

/*
 * Other benchmarks: the row as it is under the manifest's id, followed by
 * the manifest's fields the row lacks (DocVQA's image_path,
 * SpreadsheetBench's spreadsheet_path and instruction_type).
 */
static int norm_generic(const json_t *row, const char *id, const json_t *mitem,
                        json_t **out, struct sk_error *err)
{
    json_t *item = json_object(), *v;
    const char *k;
    *out = NULL;
    if (!item || put(item, "id", json_string(id)))
        goto fail;
    json_object_foreach((json_t *)row, k, v)
    {
        if (strcmp(k, "id") != 0 && put(item, k, json_incref(v)))
            goto fail;
    }
    json_object_foreach((json_t *)mitem, k, v)
    {
        if (!json_object_get(item, k) && put(item, k, json_incref(v)))
            goto fail;
    }
    *out = item;
    return SK_OK;
fail:
    json_decref(item);
    return sk_error_set(err, SK_ENOMEM, "out of memory");
}

/* ---- rows --------------------------------------------------------------- */

/*
 * The id of a source row into out ("" when it has none): the first of
 * the '|'-separated fields that is a non-empty string or a number.
 */
static int row_id(const struct mat *m, const json_t *row,
                  const struct sk_row_pos *p, struct sk_buf *out)
{
    const char *f = m->id_fields;
    sk_buf_reset(out);
    if (!f)
        return livemath_id(row, p, out);
    while (*f) {
        const char *bar = strchr(f, '|');
        size_t n = bar ? (size_t)(bar - f) : strlen(f);
        char name[256];
        const json_t *v;
        snprintf(name, sizeof name, "%.*s", (int)n, f);
        v = json_object_get(row, name);
        if ((json_is_string(v) && json_string_length(v)) || json_is_number(v)) {
            int rc = py_str(v, out);
            if (rc)
                return rc;
            buf_strip(out);
            if (out->len)
                return SK_OK;
        }
        f += n;
        if (*f == '|')
            f++;
    }
    return SK_OK;
}

/* One source row: kept (normalised) when the manifest wants its id. */
static int take_row(struct mat *m, const json_t *row,
                    const struct sk_row_pos *p, struct sk_error *err)
{
    struct sk_buf id;
    json_t *want, *item = NULL, *mitem;
    char where[600];
    int rc;

    m->res->rows_read++;
    sk_buf_init(&id, SK_BUF_UNLIMITED);
    rc = row_id(m, row, p, &id);
    if (rc) {
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto out;
    }
    want = id.len ? json_object_get(m->want, id.data) : NULL;
    if (!want)
        goto out;
    sk_row_pos_text(p, where, sizeof where);
    if (json_object_get(m->found, id.data)) {
        rc =
            sk_error_set(err, SK_EDATA,
                         "%s: id \"%.*s\" was already read at %s: the "
                         "source has duplicate ids",
                         where, ID_SHOWN, id.data,
                         json_string_value(json_object_get(m->where, id.data)));
        goto out;
    }
    mitem =
        json_array_get(m->manifest[json_integer_value(json_array_get(want, 0))],
                       (size_t)json_integer_value(json_array_get(want, 1)));
    switch (m->bench) {
    case MB_SEARCHQA:
        rc = norm_searchqa(row, id.data, p, &item, err);
        break;
    case MB_OFFICEQA:
        rc = norm_officeqa(row, id.data, p, &item, err);
        break;
    case MB_LIVEMATH:
        rc = norm_livemath(row, id.data, mitem, p, m->root, &item, err);
        break;
    default:
        rc = norm_generic(row, id.data, mitem, &item, err);
        break;
    }
    if (rc || !item)
        goto out;
    if (json_object_set_new(m->found, id.data, item) ||
        json_object_set_new(m->where, id.data, json_string(where)))
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
out:
    sk_buf_release(&id);
    return rc;
}

/* sk_row_fn adapter: one source row for the materialisation ud. */
static int on_row(void *ud, const json_t *row, const struct sk_row_pos *p,
                  struct sk_error *err)
{
    return take_row(ud, row, p, err);
}

static int read_file(struct mat *m, const char *path,
                     enum sk_rows_format forced, struct sk_error *err)
{
    m->res->files_read++;
    return sk_rows_read_file(path, forced, on_row, m, err);
}

/* Row files of a source directory: every .json/.jsonl/.ndjson/.csv but a
 * split manifest. */
static int want_any(const char *name)
{
    size_t n = strlen(name);
    if (strcmp(name, "split_manifest.json") == 0)
        return 0;
    return (n > 5 && strcasecmp(name + n - 5, ".json") == 0) ||
           (n > 6 && strcasecmp(name + n - 6, ".jsonl") == 0) ||
           (n > 7 && strcasecmp(name + n - 7, ".ndjson") == 0) ||
           (n > 4 && strcasecmp(name + n - 4, ".csv") == 0);
}

/* LiveMathematicianBench's monthly files, qa_<month>_final.json. */
static int want_livemath(const char *name)
{
    size_t n = strlen(name);
    return strncmp(name, "qa_", 3) == 0 && n > 14 &&
           strcmp(name + n - 11, "_final.json") == 0;
}

static int read_dir(struct mat *m, const char *dir, enum sk_rows_format forced,
                    struct sk_error *err)
{
    char **files = NULL;
    size_t n = 0, i;
    int rc;
    rc = sk_rows_list_dir(dir,
                          m->bench == MB_LIVEMATH ? want_livemath : want_any,
                          &files, &n, err);
    if (rc == SK_OK && n == 0)
        rc = sk_error_set(err, SK_ENOTFOUND,
                          "%s: no %s file in the source directory", dir,
                          m->bench == MB_LIVEMATH ? "qa_*_final.json"
                                                  : ".json, .jsonl or .csv");
    for (i = 0; rc == SK_OK && i < n; i++)
        rc = read_file(m, files[i], forced, err);
    sk_rows_paths_free(files, n);
    return rc;
}

/* ---- manifest ----------------------------------------------------------- */

static int load_json_file(const char *path, json_t **out, struct sk_error *err)
{
    struct sk_buf text;
    json_error_t jerr;
    int rc;
    *out = NULL;
    sk_buf_init(&text, SK_BUF_UNLIMITED);
    rc = sk_fs_read(path, SK_SPLIT_MAX_FILE, &text, err);
    if (rc == SK_OK) {
        *out = sk_json_loadb(sk_buf_cstr(&text), text.len, 0, &jerr);
        if (!*out)
            rc = sk_json_oom(&jerr)
                     ? sk_error_set(err, SK_ENOMEM, "out of memory")
                     : sk_error_set(err, SK_EDATA, "%s:%d:%d: invalid JSON: %s",
                                    path, jerr.line, jerr.column, jerr.text);
    }
    sk_buf_release(&text);
    return rc;
}

/* The manifest id of item as a string into out ("" when unusable). */
static int manifest_id(const json_t *item, struct sk_buf *out)
{
    const json_t *v = json_object_get(item, "id");
    sk_buf_reset(out);
    if ((json_is_string(v) && json_string_length(v) &&
         !memchr(json_string_value(v), '\0', json_string_length(v))) ||
        json_is_number(v))
        return py_str(v, out);
    return SK_OK;
}

static int load_manifest(struct mat *m, struct sk_error *err)
{
    struct sk_buf id, dups;
    size_t ndup = 0, i;
    char *path = NULL, *dir = NULL;
    int rc = SK_OK, k;

    sk_buf_init(&id, SK_BUF_UNLIMITED);
    sk_buf_init(&dups, 4096);
    for (k = 0; k < SK_SPLIT_COUNT && rc == SK_OK; k++) {
        sk_free(dir);
        sk_free(path);
        path = NULL;
        dir = sk_fs_join(m->o->manifest_dir, kind_names[k]);
        path = dir ? sk_fs_join(dir, "items.json") : NULL;
        if (!path) {
            rc = sk_error_set(err, SK_ENOMEM, "out of memory");
            break;
        }
        rc = load_json_file(path, &m->manifest[k], err);
        if (rc)
            break;
        if (!json_is_array(m->manifest[k])) {
            rc = sk_error_set(err, SK_EDATA,
                              "%s: expected a JSON array of manifest items",
                              path);
            break;
        }
        for (i = 0; i < json_array_size(m->manifest[k]); i++) {
            const json_t *item = json_array_get(m->manifest[k], i), *prev;
            if (manifest_id(item, &id)) {
                rc = sk_error_set(err, SK_ENOMEM, "out of memory");
                break;
            }
            if (id.len == 0) {
                rc = sk_error_set(err, SK_EDATA,
                                  "%s: manifest item %zu has no usable "
                                  "\"id\"",
                                  path, i);
                break;
            }
            prev = json_object_get(m->want, id.data);
            if (prev) {
                if (++ndup <= 5)
                    sk_buf_printf(
                        &dups, "%s\"%.*s\" (%s/%s)", ndup > 1 ? ", " : "",
                        ID_SHOWN, id.data,
                        kind_names[json_integer_value(json_array_get(prev, 0))],
                        kind_names[k]);
                continue;
            }
            if (json_object_set_new(m->want, id.data,
                                    json_pack("[iI]", k, (json_int_t)i))) {
                rc = sk_error_set(err, SK_ENOMEM, "out of memory");
                break;
            }
            m->res->n_manifest++;
        }
    }
    if (rc == SK_OK && ndup)
        rc = sk_error_set(err, SK_EDATA,
                          "%s: the manifest repeats %zu id%s: %s%s",
                          m->o->manifest_dir, ndup, ndup == 1 ? "" : "s",
                          sk_buf_cstr(&dups), ndup > 5 ? ", ..." : "");
    sk_free(dir);
    sk_free(path);
    sk_buf_release(&id);
    sk_buf_release(&dups);
    return rc;
}

/* split_manifest.json of the manifest (optional): its counts must match
 * the item files. */
static int load_manifest_meta(struct mat *m, struct sk_error *err)
{
    char *path = sk_fs_join(m->o->manifest_dir, "split_manifest.json");
    const json_t *counts;
    int rc = SK_OK, k;
    if (!path)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    if (!sk_fs_exists(path))
        goto out;
    rc = load_json_file(path, &m->manifest_meta, err);
    if (rc)
        goto out;
    counts = json_object_get(m->manifest_meta, "counts");
    for (k = 0; k < SK_SPLIT_COUNT; k++) {
        const json_t *c = json_object_get(counts, kind_names[k]);
        size_t have = json_array_size(m->manifest[k]);
        if (json_is_integer(c) && (json_int_t)have != json_integer_value(c)) {
            rc = sk_error_set(err, SK_EDATA,
                              "%s: counts.%s is %" JSON_INTEGER_FORMAT
                              " but %s/items.json has %zu items",
                              path, kind_names[k], json_integer_value(c),
                              kind_names[k], have);
            goto out;
        }
    }
out:
    sk_free(path);
    return rc;
}

/* ---- output ------------------------------------------------------------- */

/* rm -rf path without following symbolic links (best effort). */
static void rmtree(const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *de;
    if (lstat(path, &st) != 0)
        return;
    if (!S_ISDIR(st.st_mode)) {
        unlink(path);
        return;
    }
    d = opendir(path);
    if (d) {
        while ((de = readdir(d)) != NULL) {
            char *p;
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            p = sk_fs_join(path, de->d_name);
            if (p)
                rmtree(p);
            sk_free(p);
        }
        closedir(d);
    }
    rmdir(path);
}

static int write_json(const char *path, const json_t *v, struct sk_error *err)
{
    char *text = json_dumps(v, JSON_INDENT(2));
    struct sk_buf b;
    int rc;
    if (!text)
        return sk_error_set(err, SK_ENOMEM, "%s: out of memory", path);
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    rc = sk_buf_puts(&b, text);
    sk_free(text);
    if (rc == SK_OK)
        rc = sk_buf_putc(&b, '\n');
    if (rc)
        rc = sk_error_set(err, SK_ENOMEM, "%s: out of memory", path);
    else
        rc = sk_fs_write_atomic_nosync(path, b.data, b.len, err);
    sk_buf_release(&b);
    return rc;
}

/* The ids not found, in manifest order, into res->missing. */
static int list_missing(struct mat *m, struct sk_error *err)
{
    struct sk_buf id;
    size_t i;
    int k, rc = SK_OK;
    sk_buf_init(&id, SK_BUF_UNLIMITED);
    for (k = 0; k < SK_SPLIT_COUNT && rc == SK_OK; k++)
        for (i = 0; i < json_array_size(m->manifest[k]) && rc == SK_OK; i++) {
            char *line;
            size_t n;
            rc = manifest_id(json_array_get(m->manifest[k], i), &id);
            if (rc || json_object_get(m->found, id.data))
                continue;
            if (m->res->n_missing % 64 == 0) {
                char **nv = sk_realloc(m->res->missing,
                                       (m->res->n_missing + 64) * sizeof *nv);
                if (!nv) {
                    rc = SK_ENOMEM;
                    break;
                }
                m->res->missing = nv;
            }
            n = strlen(kind_names[k]) + id.len + 2;
            line = sk_malloc(n);
            if (!line) {
                rc = SK_ENOMEM;
                break;
            }
            snprintf(line, n, "%s\t%s", kind_names[k], id.data);
            m->res->missing[m->res->n_missing++] = line;
        }
    sk_buf_release(&id);
    if (rc)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    return SK_OK;
}

/* Copies key from the reference's split_manifest.json into meta. */
static int copy_meta(const struct mat *m, json_t *meta, const char *from,
                     const char *to)
{
    json_t *v = json_object_get(m->manifest_meta, from);
    if (!v || json_object_get(meta, to))
        return SK_OK;
    return put(meta, to, json_incref(v));
}

static int write_splits(struct mat *m, const char *staging,
                        struct sk_error *err)
{
    json_t *arr = NULL, *meta = NULL, *counts = NULL, *fields = NULL;
    struct sk_buf id;
    char *dir = NULL, *path = NULL;
    size_t i;
    int rc = SK_OK, k;

    sk_buf_init(&id, SK_BUF_UNLIMITED);
    counts = json_object();
    fields = json_array();
    if (!counts || !fields)
        goto oom;
    for (k = 0; k < SK_SPLIT_COUNT; k++) {
        arr = json_array();
        if (!arr)
            goto oom;
        for (i = 0; i < json_array_size(m->manifest[k]); i++) {
            json_t *item;
            const char *key;
            json_t *v;
            if (manifest_id(json_array_get(m->manifest[k], i), &id))
                goto oom;
            item = json_object_get(m->found, id.data);
            if (json_array_append(arr, item))
                goto oom;
            json_object_foreach(item, key, v)
            {
                size_t j;
                for (j = 0; j < json_array_size(fields); j++)
                    if (strcmp(json_string_value(json_array_get(fields, j)),
                               key) == 0)
                        break;
                if (j == json_array_size(fields) &&
                    json_array_append_new(fields, json_string(key)))
                    goto oom;
            }
        }
        sk_free(dir);
        sk_free(path);
        path = NULL;
        dir = sk_fs_join(staging, kind_names[k]);
        path = dir ? sk_fs_join(dir, "items.json") : NULL;
        if (!path)
            goto oom;
        rc = sk_fs_mkdirs(dir, err);
        if (rc == SK_OK)
            rc = write_json(path, arr, err);
        if (rc)
            goto out;
        m->res->counts[k] = json_array_size(arr);
        if (put(counts, kind_names[k],
                json_integer((json_int_t)json_array_size(arr))))
            goto oom;
        json_decref(arr);
        arr = NULL;
    }
    meta = json_object();
    if (!meta || put(meta, "benchmark", json_string(m->bench_name)) ||
        put(meta, "source", json_string(m->label)) ||
        (m->res->sha256[0] &&
         put(meta, "source_sha256", json_string(m->res->sha256))) ||
        copy_meta(m, meta, "source_repo", "source_dataset") ||
        copy_meta(m, meta, "source_revision", "source_revision") ||
        put(meta, "source_manifest_dir", json_string(m->o->manifest_dir)) ||
        put(meta, "counts", json_incref(counts)) ||
        put(meta, "item_fields", json_incref(fields)) ||
        put(meta, "created_by", json_string("skillopt data materialize")))
        goto oom;
    sk_free(path);
    path = sk_fs_join(staging, "split_manifest.json");
    if (!path)
        goto oom;
    rc = write_json(path, meta, err);
    goto out;
oom:
    rc = sk_error_set(err, SK_ENOMEM, "out of memory");
out:
    json_decref(arr);
    json_decref(meta);
    json_decref(counts);
    json_decref(fields);
    sk_buf_release(&id);
    sk_free(dir);
    sk_free(path);
    return rc;
}

/* "name" of the last path segment of url (query and fragment dropped),
 * made safe as a file name. */
static void url_basename(const char *url, char *buf, size_t cap)
{
    const char *p = strstr(url, "://"), *end, *base;
    size_t n, i;
    p = p ? p + 3 : url;
    p = strchr(p, '/');
    if (!p)
        p = "";
    end = p + strcspn(p, "?#");
    base = end;
    while (base > p && base[-1] != '/')
        base--;
    n = (size_t)(end - base);
    if (n == 0 || n >= cap - 8)
        n = 0;
    for (i = 0; i < n; i++) {
        char c = base[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
        buf[i] = ok ? c : '_';
    }
    buf[n] = '\0';
    if (n == 0 || buf[0] == '.')
        snprintf(buf, cap, "source%s", n ? buf : "");
}

/* Reads the source (downloading it first when it is a URL). */
static int read_source(struct mat *m, const char *staging,
                       enum sk_rows_format forced, struct sk_error *err)
{
    const struct sk_materialize_opts *o = m->o;
    char name[256];
    char *dl_dir = NULL, *dl = NULL;
    struct sk_fetch_result fr;
    int rc;

    if (sk_fetch_is_url(o->source)) {
        url_basename(o->source, name, sizeof name);
        dl_dir = sk_fs_join(staging, ".download");
        dl = dl_dir ? sk_fs_join(dl_dir, name) : NULL;
        if (!dl) {
            rc = sk_error_set(err, SK_ENOMEM, "out of memory");
            goto out;
        }
        rc = sk_fs_mkdirs(dl_dir, err);
        if (rc)
            goto out;
        rc = sk_fetch_url(o->source, dl, &o->fetch, &fr, err);
        if (rc)
            goto out;
        memcpy(m->res->sha256, fr.sha256, sizeof fr.sha256);
        rc = read_file(m, dl, forced, err);
        goto out;
    }
    if (sk_fs_is_dir(o->source)) {
        if (o->fetch.sha256) {
            rc = sk_error_set(err, SK_EINVAL,
                              "--sha256 needs a single source file, and %s "
                              "is a directory",
                              o->source);
            goto out;
        }
        m->root = o->source;
        rc = read_dir(m, o->source, forced, err);
        goto out;
    }
    rc = sk_fetch_file_sha256(o->source, m->res->sha256, NULL, err);
    if (rc)
        goto out;
    if (o->fetch.sha256 && strcasecmp(o->fetch.sha256, m->res->sha256) != 0) {
        rc = sk_error_set(err, SK_EDATA,
                          "%s: checksum mismatch: expected sha256 %s, got %s",
                          o->source, o->fetch.sha256, m->res->sha256);
        goto out;
    }
    rc = read_file(m, o->source, forced, err);
out:
    if (dl_dir)
        rmtree(dl_dir);
    sk_free(dl_dir);
    sk_free(dl);
    return rc;
}

/* out_dir without trailing slashes, as a new string. */
static char *trim_slashes(const char *s)
{
    size_t n = strlen(s);
    while (n > 1 && s[n - 1] == '/')
        n--;
    return sk_strndup(s, n);
}

/* Moves staging to out (replacing an existing out when force is set). */
static int install(const char *staging, const char *out, int force,
                   struct sk_error *err)
{
    char *old = NULL;
    size_t n;
    int rc = SK_OK;
    if (!sk_fs_exists(out)) {
        if (rename(staging, out) != 0)
            return sk_error_set(err, SK_EIO, "%s: cannot rename to %s: %s",
                                staging, out, strerror(errno));
        return SK_OK;
    }
    if (!force)
        return sk_error_set(err, SK_EINVAL,
                            "%s already exists (use --force to replace it)",
                            out);
    n = strlen(out) + 32;
    old = sk_malloc(n);
    if (!old)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    snprintf(old, n, "%s.old.%ld", out, (long)getpid());
    if (rename(out, old) != 0) {
        rc = sk_error_set(err, SK_EIO, "%s: cannot move aside: %s", out,
                          strerror(errno));
    } else if (rename(staging, out) != 0) {
        rc = sk_error_set(err, SK_EIO, "%s: cannot rename to %s: %s", staging,
                          out, strerror(errno));
        if (rename(old, out) != 0)
            rc = sk_error_set(err, SK_EIO,
                              "%s: cannot rename to %s (%s); the previous "
                              "split directory is at %s",
                              staging, out, strerror(errno), old);
    } else {
        rmtree(old);
    }
    sk_free(old);
    return rc;
}

int sk_materialize(const struct sk_materialize_opts *o,
                   struct sk_materialize_result *res, struct sk_error *err)
{
    struct mat m;
    enum sk_rows_format forced;
    char *out = NULL, *staging = NULL;
    size_t i, n;
    int rc = SK_OK, k, made = 0;

    sk_materialize_result_init(res);
    memset(&m, 0, sizeof m);
    m.o = o;
    m.res = res;
    m.label = o->source;
    for (i = 0; i < SK_ARRAY_LEN(benches); i++)
        if (o->bench && strcmp(o->bench, benches[i].name) == 0)
            break;
    if (i == SK_ARRAY_LEN(benches))
        return sk_error_set(
            err, SK_EINVAL, "unknown benchmark \"%s\" (known: %s)",
            o->bench ? o->bench : "", sk_materialize_bench_names());
    m.bench = benches[i].bench;
    m.bench_name = m.bench == MB_LIVEMATH ? "livemathematicianbench" : o->bench;
    m.id_fields =
        o->id_field && *o->id_field ? o->id_field : benches[i].id_fields;
    if (!o->manifest_dir || !o->source || !o->out_dir || !*o->out_dir)
        return sk_error_set(err, SK_EINVAL,
                            "materialize needs a manifest directory, a "
                            "source and an output directory");
    if (sk_rows_parse_format(o->format, &forced))
        return sk_error_set(err, SK_EINVAL,
                            "unknown format \"%s\" (json, jsonl or csv)",
                            o->format);
    if (o->fetch.sha256 && !sk_fetch_sha256_valid(o->fetch.sha256))
        return sk_error_set(err, SK_EINVAL,
                            "--sha256 must be 64 hexadecimal digits, got "
                            "\"%s\"",
                            o->fetch.sha256);
    out = trim_slashes(o->out_dir);
    if (!out)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    if (!o->force && sk_fs_exists(out)) {
        rc = sk_error_set(err, SK_EINVAL,
                          "%s already exists (use --force to replace it)", out);
        goto done;
    }
    if (!sk_fetch_is_url(o->source) && !sk_fs_exists(o->source)) {
        rc = sk_error_set(err, SK_ENOTFOUND, "%s: no such file or directory",
                          o->source);
        goto done;
    }
    m.want = json_object();
    m.found = json_object();
    m.where = json_object();
    n = strlen(out) + 32;
    staging = sk_malloc(n);
    if (!m.want || !m.found || !m.where || !staging) {
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto done;
    }
    snprintf(staging, n, "%s.tmp.%ld", out, (long)getpid());
    rc = load_manifest(&m, err);
    if (rc == SK_OK)
        rc = load_manifest_meta(&m, err);
    if (rc)
        goto done;
    rmtree(staging); /* a leftover of a killed run with our pid */
    rc = sk_fs_mkdirs(staging, err);
    if (rc)
        goto done;
    made = 1;
    rc = read_source(&m, staging, forced, err);
    if (rc)
        goto done;
    rc = list_missing(&m, err);
    if (rc == SK_OK && res->n_missing)
        rc = sk_error_set(err, SK_EDATA,
                          "%zu of %zu manifest ids are not in %s; nothing "
                          "was written",
                          res->n_missing, res->n_manifest, o->source);
    if (rc == SK_OK)
        rc = write_splits(&m, staging, err);
    if (rc == SK_OK)
        rc = install(staging, out, o->force, err);
done:
    if (made && rc != SK_OK)
        rmtree(staging);
    if (rc != SK_OK)
        memset(res->counts, 0, sizeof res->counts);
    for (k = 0; k < SK_SPLIT_COUNT; k++)
        json_decref(m.manifest[k]);
    json_decref(m.manifest_meta);
    json_decref(m.want);
    json_decref(m.found);
    json_decref(m.where);
    sk_free(staging);
    sk_free(out);
    return rc;
}
