/*
 * livemath.c - the livemathematicianbench benchmark: item reading (the
 * normalized split form, or the reference's raw forms normalized here),
 * the per-item choice shuffle, prompts and scoring.  The label parser is
 * choice.c; model calls and files are the rollout's business.
 */
#include "common.h"

#include "bench/livemath.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "bench/benches.h"
#include "bench/choice.h"
#include "bench/score.h"
#include "config/config.h"
#include "train/prompt.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/pyrandom.h"
#include "util/sha256.h"

#define BENCH "livemathematicianbench"
#define DEFAULT_TASK_TYPE "math_mcq"
/* The reference's default seed, used when there is no context. */
#define DEFAULT_SEED 42

void sk_livemath_item_init(struct sk_livemath_item *it)
{
    memset(it, 0, sizeof *it);
}

static void choice_release(struct sk_livemath_choice *c)
{
    sk_free(c->label);
    sk_free(c->text);
    c->label = c->text = NULL;
}

static void choices_free(struct sk_livemath_choice *c, size_t n)
{
    size_t i;
    for (i = 0; c && i < n; i++)
        choice_release(&c[i]);
    sk_free(c);
}

void sk_livemath_item_release(struct sk_livemath_item *it)
{
    if (!it)
        return;
    sk_free(it->id);
    sk_free(it->question);
    sk_free(it->theorem);
    sk_free(it->sketch);
    sk_free(it->task_type);
    choices_free(it->choices, it->n_choices);
    choice_release(&it->correct);
    sk_livemath_item_init(it);
}

/* A new copy of s[0..n) without surrounding whitespace (str.strip). */
static char *strip_dup(const char *s, size_t n)
{
    size_t a = 0, b = 0;
    sk_score_strip(s, n, &a, &b);
    return sk_strndup(s + a, b - a);
}

/* normalize_label of s as a new string. */
static char *norm_dup(const char *s)
{
    size_t cap = 3 * strlen(s) + 1;
    char *out = sk_malloc(cap);
    if (out)
        sk_choice_normalize(s, out, cap);
    return out;
}

/* Python truthiness of a JSON value (NULL: absent, falsy). */
static int truthy(const json_t *v)
{
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_STRING:
        return json_string_length(v) > 0;
    case JSON_ARRAY:
        return json_array_size(v) > 0;
    case JSON_OBJECT:
        return json_object_size(v) > 0;
    case JSON_INTEGER:
        return json_integer_value(v) != 0;
    case JSON_REAL:
        return json_real_value(v) != 0.0;
    case JSON_TRUE:
        return 1;
    default:
        return 0;
    }
}

/* `a or b` of Python: the first truthy of the two, else NULL. */
static const json_t *first_truthy(const json_t *a, const json_t *b)
{
    if (truthy(a))
        return a;
    return truthy(b) ? b : NULL;
}

/*
 * str(v).strip() (strip 0: str(v)) for the scalars items carry: a string,
 * or an integer in decimal; NULL reads as "".  SK_EDATA for anything else,
 * SK_ENOMEM.
 */
static int scalar_dup(const json_t *v, int strip, char **out)
{
    char num[32];
    const char *s = num;
    size_t n;
    *out = NULL;
    if (!v || json_is_null(v)) {
        s = "";
        n = 0;
    } else if (json_is_string(v)) {
        s = json_string_value(v);
        n = json_string_length(v);
    } else if (json_is_integer(v)) {
        n = (size_t)snprintf(num, sizeof num, "%" PRId64,
                             (int64_t)json_integer_value(v));
    } else {
        return SK_EDATA;
    }
    *out = strip ? strip_dup(s, n) : sk_strndup(s, n);
    return *out ? SK_OK : SK_ENOMEM;
}

/* Growable choice list. */
struct clist {
    struct sk_livemath_choice *v;
    size_t n, cap;
};

/* Appends {label, text}, taking both strings (freed on failure). */
static int clist_push_take(struct clist *l, char *label, char *text)
{
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 8;
        struct sk_livemath_choice *nv = sk_realloc(l->v, ncap * sizeof(*nv));
        if (!nv) {
            sk_free(label);
            sk_free(text);
            return SK_ENOMEM;
        }
        l->v = nv;
        l->cap = ncap;
    }
    l->v[l->n].label = label;
    l->v[l->n].text = text;
    l->n++;
    return SK_OK;
}

/* The label the reference gives the idx-th unlabelled choice. */
static int default_label(size_t idx, char **out)
{
    *out = NULL;
    if (idx >= SK_LIVEMATH_MAX_CHOICES)
        return SK_EDATA;
    *out = sk_strndup(&SK_LIVEMATH_LABELS[idx], 1);
    return *out ? SK_OK : SK_ENOMEM;
}

/* One element of a raw choices list (_coerce_choices). */
static int coerce_list_entry(const json_t *e, size_t idx, struct clist *l)
{
    char *label = NULL, *text = NULL;
    int rc;
    if (json_is_object(e)) {
        const json_t *lv = json_object_get(e, "label");
        rc =
            truthy(lv) ? scalar_dup(lv, 1, &label) : default_label(idx, &label);
        if (rc == SK_OK)
            rc = scalar_dup(first_truthy(json_object_get(e, "text"),
                                         json_object_get(e, "content")),
                            1, &text);
    } else {
        rc = default_label(idx, &label);
        if (rc == SK_OK)
            rc = scalar_dup(e, 1, &text);
    }
    if (rc == SK_OK && *text)
        return clist_push_take(l, label, text);
    sk_free(label);
    sk_free(text);
    return rc;
}

static int key_cmp(const void *a, const void *b)
{
    /* UTF-8 byte order is code point order, as Python sorts str */
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A raw label->text mapping, in sorted label order. */
static int coerce_dict(const json_t *d, struct clist *l)
{
    const char **keys = sk_calloc(json_object_size(d) + 1, sizeof(*keys));
    const char *k;
    const json_t *v;
    size_t n = 0, i;
    int rc = SK_OK;
    if (!keys)
        return SK_ENOMEM;
    json_object_foreach((json_t *)d, k, v) keys[n++] = k;
    qsort(keys, n, sizeof(*keys), key_cmp);
    for (i = 0; rc == SK_OK && i < n; i++) {
        char *label, *text = NULL;
        rc = scalar_dup(json_object_get(d, keys[i]), 1, &text);
        if (rc == SK_OK && *text) {
            label = strip_dup(keys[i], strlen(keys[i]));
            /* clist_push_take owns text from here, even on failure */
            rc = label ? clist_push_take(l, label, text) : SK_ENOMEM;
            if (label)
                text = NULL;
        }
        sk_free(text);
    }
    sk_free(keys);
    return rc;
}

/* Position of a label in the reference's sort (A-G, then the rest). */
static size_t label_rank(const char *label)
{
    const char *p;
    if (strlen(label) != 1 || !*label)
        return SK_LIVEMATH_MAX_CHOICES;
    p = strchr(SK_LIVEMATH_LABELS, *label);
    return p ? (size_t)(p - SK_LIVEMATH_LABELS) : SK_LIVEMATH_MAX_CHOICES;
}

/* Stable insertion sort by label_rank (Python's sort is stable). */
static void sort_by_rank(struct sk_livemath_choice *v, size_t n)
{
    size_t i, j;
    for (i = 1; i < n; i++) {
        struct sk_livemath_choice t = v[i];
        size_t r = label_rank(t.label);
        for (j = i; j > 0 && label_rank(v[j - 1].label) > r; j--)
            v[j] = v[j - 1];
        v[j] = t;
    }
}

/* Text of the last choice whose normalized label is norm, or NULL. */
static int text_by_label(const struct clist *l, const char *norm,
                         const char **text)
{
    size_t i;
    *text = NULL;
    for (i = 0; i < l->n; i++) {
        char *n = norm_dup(l->v[i].label);
        if (!n)
            return SK_ENOMEM;
        if (strcmp(n, norm) == 0)
            *text = l->v[i].text;
        sk_free(n);
    }
    return SK_OK;
}

/* The raw correct_choice: a {label, text} object or a bare label. */
static int read_raw_correct(const json_t *c, struct sk_livemath_item *out)
{
    char *label = NULL;
    int rc;
    if (json_is_object(c)) {
        rc = scalar_dup(json_object_get(c, "label"), 0, &label);
        if (rc == SK_OK)
            rc = scalar_dup(first_truthy(json_object_get(c, "text"), NULL), 1,
                            &out->correct.text);
    } else {
        rc = scalar_dup(c, 0, &label);
        if (rc == SK_OK) {
            out->correct.text = sk_strdup("");
            rc = out->correct.text ? SK_OK : SK_ENOMEM;
        }
    }
    if (rc == SK_OK) {
        out->correct.label = norm_dup(label);
        rc = out->correct.label ? SK_OK : SK_ENOMEM;
    }
    sk_free(label);
    return rc;
}

/* theorem_type's first entry after the reference's coercion, or NULL. */
static int first_theorem_type(const json_t *tt, char **out)
{
    size_t i;
    int rc;
    *out = NULL;
    if (json_is_array(tt)) {
        for (i = 0; i < json_array_size(tt); i++) {
            const json_t *e = json_array_get(tt, i);
            if (!json_is_string(e) && !json_is_integer(e))
                return SK_EDATA;
            rc = scalar_dup(e, 1, out);
            if (rc != SK_OK || **out)
                return rc;
            sk_free(*out);
            *out = NULL;
        }
        return SK_OK;
    }
    rc = scalar_dup(tt, 1, out);
    if (rc == SK_OK && !**out) {
        sk_free(*out);
        *out = NULL;
    }
    return rc;
}

/* The reference's _normalize_item for a raw row (benchmarks.md 5). */
static int read_raw(const json_t *item, struct sk_livemath_item *out,
                    const char **field)
{
    const json_t *mcq = json_object_get(item, "mcq"), *ch, *cor;
    struct clist l = {NULL, 0, 0};
    const char *found;
    size_t i;
    int rc;

    if (!json_is_object(mcq))
        mcq = NULL;
    *field = "question";
    rc = scalar_dup(first_truthy(json_object_get(mcq, "question"),
                                 json_object_get(item, "question")),
                    1, &out->question);
    if (rc != SK_OK)
        goto out;
    *field = "choices";
    ch = first_truthy(json_object_get(mcq, "choices"),
                      json_object_get(item, "choices"));
    if (json_is_array(ch)) {
        for (i = 0; rc == SK_OK && i < json_array_size(ch); i++)
            rc = coerce_list_entry(json_array_get(ch, i), i, &l);
    } else if (json_is_object(ch)) {
        rc = coerce_dict(ch, &l);
    }
    if (rc != SK_OK)
        goto out;
    *field = "correct_choice";
    cor = first_truthy(json_object_get(mcq, "correct_choice"),
                       json_object_get(item, "correct_choice"));
    rc = read_raw_correct(cor, out);
    if (rc != SK_OK || !*out->correct.label)
        goto out;
    rc = text_by_label(&l, out->correct.label, &found);
    if (rc != SK_OK)
        goto out;
    if (!*out->correct.text && found) {
        char *t = sk_strdup(found);
        if (!t) {
            rc = SK_ENOMEM;
            goto out;
        }
        sk_free(out->correct.text);
        out->correct.text = t;
    } else if (*out->correct.text && !found) {
        /* the correct option was missing from the list: add it */
        char *lab = sk_strdup(out->correct.label);
        char *txt = sk_strdup(out->correct.text);
        rc = lab && txt ? clist_push_take(&l, lab, txt) : SK_ENOMEM;
        if (!lab || !txt) {
            sk_free(lab);
            sk_free(txt);
        }
        if (rc != SK_OK)
            goto out;
        sort_by_rank(l.v, l.n);
    }
    *field = "theorem";
    rc = scalar_dup(first_truthy(json_object_get(item, "theorem"), NULL), 1,
                    &out->theorem);
    if (rc != SK_OK)
        goto out;
    *field = "sketch";
    rc = scalar_dup(first_truthy(json_object_get(item, "sketch"), NULL), 1,
                    &out->sketch);
    if (rc != SK_OK)
        goto out;
    *field = "theorem_type";
    rc = first_theorem_type(json_object_get(item, "theorem_type"),
                            &out->task_type);
out:
    out->choices = l.v;
    out->n_choices = l.n;
    return rc;
}

/* 1 when item is in the normalized split form, used as it is. */
static int is_normalized(const json_t *item)
{
    const json_t *ch = json_object_get(item, "choices"), *c, *e;
    size_t i;
    if (json_is_object(json_object_get(item, "mcq")) ||
        !json_is_string(json_object_get(item, "question")) ||
        !json_is_array(ch))
        return 0;
    json_array_foreach(ch, i, e)
    {
        if (!json_is_string(json_object_get(e, "label")) ||
            !json_is_string(json_object_get(e, "text")))
            return 0;
    }
    c = json_object_get(item, "correct_choice");
    return json_is_string(json_object_get(c, "label")) &&
           json_is_string(json_object_get(c, "text"));
}

/* A normalized item, strings taken as they are. */
static int read_normalized(const json_t *item, struct sk_livemath_item *out,
                           const char **field)
{
    const json_t *ch = json_object_get(item, "choices"), *e, *tt;
    const json_t *c = json_object_get(item, "correct_choice");
    size_t i, n = json_array_size(ch);
    int rc;

    *field = "choices";
    out->choices = sk_calloc(n ? n : 1, sizeof(*out->choices));
    if (!out->choices)
        return SK_ENOMEM;
    json_array_foreach(ch, i, e)
    {
        out->n_choices++;
        rc = scalar_dup(json_object_get(e, "label"), 0, &out->choices[i].label);
        if (rc == SK_OK)
            rc = scalar_dup(json_object_get(e, "text"), 0,
                            &out->choices[i].text);
        if (rc != SK_OK)
            return rc;
    }
    *field = "correct_choice";
    rc = scalar_dup(json_object_get(c, "label"), 0, &out->correct.label);
    if (rc == SK_OK)
        rc = scalar_dup(json_object_get(c, "text"), 0, &out->correct.text);
    if (rc != SK_OK)
        return rc;
    *field = "question";
    rc = scalar_dup(json_object_get(item, "question"), 0, &out->question);
    if (rc != SK_OK)
        return rc;
    *field = "theorem";
    rc = scalar_dup(json_object_get(item, "theorem"), 0, &out->theorem);
    if (rc != SK_OK)
        return rc;
    *field = "sketch";
    rc = scalar_dup(json_object_get(item, "sketch"), 0, &out->sketch);
    if (rc != SK_OK)
        return rc;
    *field = "theorem_type";
    tt = json_object_get(item, "theorem_type");
    if (json_is_array(tt) && json_array_size(tt) > 0) {
        /* the reference takes the first entry as it is */
        return scalar_dup(json_array_get(tt, 0), 0, &out->task_type);
    }
    return first_theorem_type(tt, &out->task_type);
}

/* The item's id: "id", else "<month>:<no>" (month stripped), else "no". */
static int read_id(const json_t *item, struct sk_livemath_item *out,
                   struct sk_error *err)
{
    struct sk_buf b;
    char *month = NULL, *no = NULL;
    int rc;

    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (json_object_get(item, "id")) {
        rc = sk_bench_item_id(item, &b, err);
        goto out;
    }
    rc = scalar_dup(first_truthy(json_object_get(item, "month"), NULL), 1,
                    &month);
    if (rc == SK_OK)
        rc = scalar_dup(json_object_get(item, "no"), 0, &no);
    if (rc == SK_OK && !*no)
        rc = SK_EDATA;
    if (rc == SK_EDATA) {
        sk_error_set(err, rc, "livemath item without an id (or month and no)");
        goto out;
    }
    if (rc == SK_OK)
        rc = *month ? sk_buf_printf(&b, "%s:%s", month, no)
                    : sk_buf_puts(&b, no);
    if (rc != SK_OK)
        sk_error_set(err, rc, "livemath item id: %s", sk_strerror(rc));
out:
    if (rc == SK_OK) {
        out->id = sk_buf_detach(&b, NULL);
        if (!out->id)
            rc = sk_error_set(err, SK_ENOMEM, "out of memory");
    }
    sk_free(month);
    sk_free(no);
    sk_buf_release(&b);
    return rc;
}

int sk_livemath_item_from_json(const struct json_t *item,
                               struct sk_livemath_item *out,
                               struct sk_error *err)
{
    const char *field = "";
    int rc;

    sk_livemath_item_release(out);
    if (!json_is_object(item))
        return sk_error_set(err, SK_EDATA, "livemath item is not an object");
    rc = read_id(item, out, err);
    if (rc != SK_OK)
        goto out;
    rc = is_normalized(item) ? read_normalized(item, out, &field)
                             : read_raw(item, out, &field);
    if (rc == SK_ENOMEM) {
        sk_error_set(err, rc, "livemath item %s: out of memory", out->id);
        goto out;
    }
    if (rc != SK_OK) {
        sk_error_set(err, rc, "livemath item %s: %s has the wrong type%s",
                     out->id, field,
                     strcmp(field, "choices") == 0 ? " or over 7 entries" : "");
        goto out;
    }
    if (!out->task_type) {
        out->task_type = sk_strdup(DEFAULT_TASK_TYPE);
        if (!out->task_type) {
            rc = sk_error_set(err, SK_ENOMEM, "out of memory");
            goto out;
        }
    }
    if (!*out->question || out->n_choices == 0 || !*out->correct.label) {
        rc = sk_error_set(err, SK_EDATA,
                          "livemath item %s has no question, no choices or "
                          "no correct label",
                          out->id);
        goto out;
    }
out:
    if (rc != SK_OK)
        sk_livemath_item_release(out);
    return rc;
}

int sk_livemath_shuffle(struct sk_livemath_item *it, int64_t seed,
                        struct sk_error *err)
{
    struct sk_livemath_choice *v = NULL, corr = {NULL, NULL};
    struct sk_pyrandom r;
    struct sk_buf key;
    unsigned char d[32];
    char *want = NULL, **lab = NULL;
    uint64_t s = 0;
    size_t i, n = it->n_choices;
    int rc;

    if (n > SK_LIVEMATH_MAX_CHOICES)
        return sk_error_set(err, SK_EDATA,
                            "livemath item %s: %zu choices, at most %d can "
                            "be relabelled",
                            it->id, n, SK_LIVEMATH_MAX_CHOICES);
    sk_buf_init(&key, SK_BUF_UNLIMITED);
    rc = sk_buf_printf(&key, "%" PRId64 ":%s", seed, it->id);
    if (rc == SK_OK)
        rc = sk_sha256(key.data, key.len, d);
    if (rc != SK_OK)
        goto oom;
    for (i = 0; i < 8; i++)
        s = s << 8 | d[i]; /* int(hexdigest()[:16], 16) */
    v = sk_calloc(n ? n : 1, sizeof(*v));
    want = norm_dup(it->correct.label);
    if (!v || !want)
        goto oom;
    memcpy(v, it->choices, n * sizeof(*v));
    sk_pyrandom_seed_u64(&r, s);
    sk_pyrandom_shuffle(&r, v, n, sizeof(*v));
    for (i = 0; i < n; i++) {
        char *old = norm_dup(v[i].label);
        int hit;
        if (!old)
            goto oom;
        hit = strcmp(old, want) == 0;
        sk_free(old);
        if (hit) {
            char *l = sk_strndup(&SK_LIVEMATH_LABELS[i], 1);
            char *t = sk_strdup(v[i].text);
            if (!l || !t) {
                sk_free(l);
                sk_free(t);
                goto oom;
            }
            choice_release(&corr);
            corr.label = l;
            corr.text = t;
        }
    }
    /* Only relabelling is left: allocate the labels before touching it. */
    lab = sk_calloc(n ? n : 1, sizeof(*lab));
    if (!lab)
        goto oom;
    for (i = 0; i < n; i++) {
        lab[i] = sk_strndup(&SK_LIVEMATH_LABELS[i], 1);
        if (!lab[i])
            goto oom;
    }
    for (i = 0; i < n; i++) {
        sk_free(v[i].label);
        v[i].label = lab[i];
        lab[i] = NULL;
    }
    sk_free(it->choices);
    it->choices = v;
    v = NULL;
    if (corr.label) {
        choice_release(&it->correct);
        it->correct = corr;
        corr.label = corr.text = NULL;
    }
    rc = SK_OK;
    goto out;
oom:
    rc = sk_error_set(err, SK_ENOMEM, "out of memory");
out:
    for (i = 0; lab && i < n; i++)
        sk_free(lab[i]);
    sk_free(lab);
    sk_free(v);
    sk_free(want);
    choice_release(&corr);
    sk_buf_release(&key);
    return rc;
}

void sk_livemath_result_release(struct sk_livemath_result *r)
{
    if (!r)
        return;
    sk_free(r->extracted);
    sk_free(r->predicted_label);
    sk_free(r->predicted_answer);
    sk_free(r->predicted_text);
    sk_free(r->correct_label);
    sk_free(r->correct_text);
    sk_free(r->fail_reason);
    memset(r, 0, sizeof *r);
}

int sk_livemath_evaluate(const struct sk_livemath_item *it,
                         const char *response, size_t len,
                         struct sk_livemath_result *r)
{
    const char **labels = NULL, **texts = NULL;
    struct sk_buf ext, why;
    size_t i, cap, longest;
    int rc = SK_ENOMEM;

    memset(r, 0, sizeof *r);
    sk_buf_init(&ext, SK_BUF_UNLIMITED);
    sk_buf_init(&why, SK_BUF_UNLIMITED);
    if (sk_score_extract_answer(response, len, &ext) != SK_OK)
        goto out;
    r->extracted = sk_buf_detach(&ext, NULL);
    labels = sk_calloc(it->n_choices + 1, sizeof(*labels));
    texts = sk_calloc(it->n_choices + 1, sizeof(*texts));
    if (!r->extracted || !labels || !texts)
        goto out;
    longest = strlen(r->extracted);
    for (i = 0; i < it->n_choices; i++) {
        labels[i] = it->choices[i].label;
        texts[i] = it->choices[i].text;
        if (strlen(labels[i]) > longest)
            longest = strlen(labels[i]);
    }
    cap = 3 * longest + 1; /* the most str.upper can grow a string */
    r->predicted_label = sk_malloc(cap);
    if (!r->predicted_label)
        goto out;
    sk_choice_parse(r->extracted, labels, texts, it->n_choices,
                    r->predicted_label, cap);
    r->correct_label = norm_dup(it->correct.label);
    r->correct_text = strip_dup(it->correct.text, strlen(it->correct.text));
    if (!r->correct_label || !r->correct_text)
        goto out;
    for (i = 0; i < it->n_choices; i++) {
        char *n = norm_dup(labels[i]);
        int hit;
        if (!n)
            goto out;
        hit = strcmp(n, r->predicted_label) == 0;
        sk_free(n);
        if (hit) {
            r->predicted_text = strip_dup(texts[i], strlen(texts[i]));
            if (!r->predicted_text)
                goto out;
            break;
        }
    }
    if (!r->predicted_text)
        r->predicted_text = sk_strdup("");
    r->predicted_answer =
        sk_strdup(*r->predicted_label ? r->predicted_label : r->extracted);
    if (!r->predicted_text || !r->predicted_answer)
        goto out;
    r->correct = strcmp(r->predicted_label, r->correct_label) == 0;
    if (!r->correct) {
        if (sk_buf_printf(&why, "MCQ=0: predicted '%s' but expected '%s'",
                          r->predicted_answer, r->correct_label) != SK_OK)
            goto out;
        r->fail_reason = sk_buf_detach(&why, NULL);
        if (!r->fail_reason)
            goto out;
    }
    rc = SK_OK;
out:
    if (rc != SK_OK)
        sk_livemath_result_release(r);
    sk_free(labels);
    sk_free(texts);
    sk_buf_release(&ext);
    sk_buf_release(&why);
    return rc;
}

/* env.shuffle_choices (null: on), env.use_theorem, env.use_sketch. */
struct opts {
    int shuffle;
    int theorem;
    int sketch;
    int64_t seed;
    const char *prompts_dir;
};

static void opts_get(const struct sk_bench_ctx *ctx, struct opts *o)
{
    const struct sk_config *cfg = ctx ? ctx->cfg : NULL;
    o->shuffle = 1;
    o->theorem = o->sketch = 0;
    o->seed = ctx ? ctx->seed : DEFAULT_SEED;
    o->prompts_dir = ctx ? ctx->prompts_dir : NULL;
    if (cfg) {
        if (!cfg->is_null[SK_OPT_shuffle_choices])
            o->shuffle = cfg->shuffle_choices != 0;
        o->theorem = cfg->use_theorem != 0;
        o->sketch = cfg->use_sketch != 0;
    }
}

/* The item as the target sees it: read, and shuffled when asked to. */
static int load_item(const json_t *item, const struct opts *o,
                     struct sk_livemath_item *it, struct sk_error *err)
{
    int rc = sk_livemath_item_from_json(item, it, err);
    if (rc == SK_OK && o->shuffle)
        rc = sk_livemath_shuffle(it, o->seed, err);
    return rc;
}

/* Renders template name with vars, appending to out. */
static int render(const char *name, const char *prompts_dir,
                  const struct sk_prompt_var *vars, size_t n,
                  struct sk_buf *out, struct sk_error *err)
{
    struct sk_buf tmpl;
    int rc;

    sk_buf_init(&tmpl, SK_BENCH_MAX_PROMPT);
    rc = sk_prompt_lookup(name, BENCH, prompts_dir, &tmpl, err);
    if (rc == SK_OK)
        rc = sk_prompt_render(sk_buf_cstr(&tmpl), tmpl.len, vars, n, out, err);
    sk_buf_release(&tmpl);
    return rc;
}

static struct sk_prompt_var str_var(const char *name, const char *value,
                                    size_t len)
{
    struct sk_prompt_var v;
    v.name = name;
    v.value = value;
    v.len = len;
    return v;
}

/* Renders name into a new string in *out (an empty prompt included). */
static int render_new(const char *name, const char *prompts_dir,
                      const struct sk_prompt_var *vars, size_t n, char **out,
                      struct sk_error *err)
{
    return sk_bench_render(BENCH, name, prompts_dir, vars, n, out, err);
}

/* "A. text" lines, one per choice, without a final newline. */
static int format_choices(const struct sk_livemath_item *it, struct sk_buf *b)
{
    size_t i;
    int rc = SK_OK;
    for (i = 0; rc == SK_OK && i < it->n_choices; i++)
        rc = sk_buf_printf(b, "%s%s. %s", i ? "\n" : "", it->choices[i].label,
                           it->choices[i].text);
    return rc;
}

/*
 * The user prompt: rollout_user with the question and choices, plus the
 * rollout_theorem / rollout_sketch sections in {{reference}} when asked
 * for and the item has them.
 */
static int build_user(const struct sk_livemath_item *it, const struct opts *o,
                      char **user, struct sk_error *err)
{
    struct sk_buf choices, ref;
    struct sk_prompt_var vars[3];
    int rc;

    sk_buf_init(&choices, SK_BENCH_MAX_PROMPT);
    sk_buf_init(&ref, SK_BENCH_MAX_PROMPT);
    rc = format_choices(it, &choices);
    if (rc != SK_OK) {
        sk_error_set(err, rc, "livemath choices: %s", sk_strerror(rc));
        goto out;
    }
    if (o->theorem && *it->theorem) {
        vars[0] = str_var("theorem", it->theorem, strlen(it->theorem));
        rc = render("rollout_theorem", o->prompts_dir, vars, 1, &ref, err);
        if (rc != SK_OK)
            goto out;
    }
    if (o->sketch && *it->sketch) {
        vars[0] = str_var("sketch", it->sketch, strlen(it->sketch));
        rc = render("rollout_sketch", o->prompts_dir, vars, 1, &ref, err);
        if (rc != SK_OK)
            goto out;
    }
    vars[0] = str_var("question", it->question, strlen(it->question));
    vars[1] = str_var("choices", sk_buf_cstr(&choices), choices.len);
    vars[2] = str_var("reference", sk_buf_cstr(&ref), ref.len);
    rc = render_new("rollout_user", o->prompts_dir, vars, 3, user, err);
out:
    sk_buf_release(&choices);
    sk_buf_release(&ref);
    return rc;
}

static int build_system(const char *skill, const struct opts *o, char **system,
                        struct sk_error *err)
{
    struct sk_buf sec;
    struct sk_prompt_var var;
    int rc;

    sk_buf_init(&sec, SK_BENCH_MAX_PROMPT);
    rc = sk_bench_skill_section(skill, &sec);
    if (rc != SK_OK) {
        sk_error_set(err, rc, "skill section: %s", sk_strerror(rc));
        goto out;
    }
    var = str_var("skill_section", sk_buf_cstr(&sec), sec.len);
    rc = render_new("rollout_system", o->prompts_dir, &var, 1, system, err);
out:
    sk_buf_release(&sec);
    return rc;
}

static int build(const struct json_t *item, const char *skill,
                 const struct sk_bench_ctx *ctx, char **system, char **user,
                 struct sk_error *err)
{
    struct sk_livemath_item it;
    struct opts o;
    int rc;

    *system = *user = NULL;
    opts_get(ctx, &o);
    sk_livemath_item_init(&it);
    rc = load_item(item, &o, &it, err);
    if (rc == SK_OK)
        rc = build_system(skill, &o, system, err);
    if (rc == SK_OK)
        rc = build_user(&it, &o, user, err);
    if (rc != SK_OK) {
        sk_free(*system);
        *system = NULL;
    }
    sk_livemath_item_release(&it);
    return rc;
}

/* Sets key on obj to v (a new reference; NULL after a failed allocation). */
static int set_new(json_t *obj, const char *key, json_t *v)
{
    return json_object_set_new(obj, key, v) == 0 ? SK_OK : SK_ENOMEM;
}

static int score(const struct json_t *item, const char *response,
                 const struct sk_bench_ctx *ctx, struct json_t *result,
                 struct sk_error *err)
{
    struct sk_livemath_item it;
    struct sk_livemath_result r;
    struct opts o;
    double v;
    int rc;

    opts_get(ctx, &o);
    sk_livemath_item_init(&it);
    memset(&r, 0, sizeof r);
    rc = load_item(item, &o, &it, err);
    if (rc != SK_OK)
        goto out;
    rc = sk_livemath_evaluate(&it, response, strlen(response), &r);
    v = r.correct ? 1.0 : 0.0;
    /* the reference's row: task type and question of the item as asked */
    if (rc == SK_OK)
        rc = set_new(result, "question", json_string(it.question));
    if (rc == SK_OK)
        rc = set_new(result, "task_type", json_string(it.task_type));
    if (rc == SK_OK)
        rc = set_new(result, "task_description", json_string(it.question));
    if (rc == SK_OK)
        rc = set_new(result, "em", json_real(v));
    if (rc == SK_OK)
        rc = set_new(result, "f1", json_real(v));
    if (rc == SK_OK)
        rc = set_new(result, "hard", json_integer(r.correct));
    if (rc == SK_OK)
        rc = set_new(result, "soft", json_real(v));
    if (rc == SK_OK)
        rc = set_new(result, "predicted_answer",
                     json_string(r.predicted_answer));
    if (rc == SK_OK)
        rc = set_new(result, "gold_answers", json_pack("[s]", r.correct_label));
    if (rc == SK_OK)
        rc = set_new(result, "fail_reason",
                     json_string(r.fail_reason ? r.fail_reason : ""));
    if (rc == SK_OK)
        rc = set_new(result, "predicted_label", json_string(r.predicted_label));
    if (rc == SK_OK)
        rc = set_new(result, "predicted_text", json_string(r.predicted_text));
    if (rc == SK_OK)
        rc = set_new(result, "correct_label", json_string(it.correct.label));
    if (rc == SK_OK)
        rc = set_new(result, "correct_text", json_string(it.correct.text));
    if (rc != SK_OK)
        sk_error_set(err, rc, "scoring livemath item %s: %s", it.id,
                     sk_strerror(rc));
out:
    sk_livemath_result_release(&r);
    sk_livemath_item_release(&it);
    return rc;
}

const struct sk_bench sk_bench_livemath = {
    .name = BENCH, .build = build, .score = score};
