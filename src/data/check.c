/*
 * check.c - the checks of `skillopt data check` (see check.h).  Field
 * rules are one table per benchmark; every problem is recorded with its
 * file, item index and id, and the report keeps going after each one.
 */
#include "common.h"

#include "data/check.h"

#include <dirent.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench/officeqa.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/jsonparse.h"

/* Ids and values quoted in messages are cut to this many bytes. */
#define SHOWN 120

static const char *const kind_names[SK_SPLIT_COUNT] = {"train", "val", "test"};

/* What a field must hold. */
enum ftype {
    FT_TEXT,         /* a non-empty string */
    FT_TEXT_OR_NULL, /* a string or null */
    FT_STR_LIST,     /* a non-empty list of strings */
    FT_ANSWER,       /* a non-empty string or a number */
    FT_ANSWERS,      /* a non-empty string or list of strings */
    FT_FILES,        /* a file name or a non-empty list of them */
    FT_CHOICES,      /* list of {label, text} or strings; label -> text */
    FT_CORRECT       /* {label, ...} or a label string */
};

static const char *const ftype_text[] = {
    "a non-empty string",
    "a string or null",
    "a non-empty list of strings",
    "a non-empty string or a number",
    "a non-empty string or a non-empty list of strings",
    "a file name or a non-empty list of file names",
    "a list of {label, text} objects or strings, or a label->text object",
    "a {label, text} object or a label string",
};

/* Files an item refers to. */
enum refs { REFS_NONE, REFS_IMAGE, REFS_SPREADSHEET, REFS_DOCS };

struct fspec {
    const char *names; /* '|'-separated alternatives; the first present */
    enum ftype type;
    int optional;
};

struct bspec {
    const char *name;
    const char *id_fields; /* '|'-separated, the first present is the id */
    struct fspec fields[4];
    enum refs refs;
};

static const struct bspec benches[] = {
    {"searchqa",
     "id",
     {{"question", FT_TEXT, 0},
      {"context", FT_TEXT_OR_NULL, 0},
      {"answers", FT_STR_LIST, 0}},
     REFS_NONE},
    {"officeqa",
     "id|uid",
     {{"question", FT_TEXT, 0},
      {"answer|ground_truth", FT_ANSWER, 0},
      {"source_files", FT_FILES, 0}},
     REFS_DOCS},
    {"docvqa",
     "id|questionId",
     {{"question", FT_TEXT, 0},
      {"answers|answer", FT_ANSWERS, 0},
      {"image_path", FT_TEXT, 0}},
     REFS_IMAGE},
    {"livemathematicianbench",
     "id",
     {{"question", FT_TEXT, 0},
      {"choices", FT_CHOICES, 0},
      {"correct_choice", FT_CORRECT, 0}},
     REFS_NONE},
    {"spreadsheetbench",
     "id",
     {{"instruction", FT_TEXT, 0},
      {"answer_position", FT_TEXT, 0},
      {"spreadsheet_path", FT_TEXT, 1}},
     REFS_SPREADSHEET},
    {"demo",
     "id",
     {{"question", FT_TEXT, 0}, {"answers", FT_STR_LIST, 0}},
     REFS_NONE},
    {"generic", "id", {{NULL, FT_TEXT, 0}}, REFS_NONE},
};

enum { B_GENERIC = SK_ARRAY_LEN(benches) - 1 };

/* Field names that give a benchmark away, in the order they are tried. */
static const struct {
    const char *field;
    const char *bench;
} clues[] = {
    {"image_path", "docvqa"},
    {"questionId", "docvqa"},
    {"choices", "livemathematicianbench"},
    {"correct_choice", "livemathematicianbench"},
    {"mcq", "livemathematicianbench"},
    {"answer_position", "spreadsheetbench"},
    {"spreadsheet_path", "spreadsheetbench"},
    {"instruction", "spreadsheetbench"},
    {"source_files", "officeqa"},
    {"source_docs", "officeqa"},
    {"uid", "officeqa"},
    {"context", "searchqa"},
};

static const char *const check_kind_titles[SK_CHECK_KIND_COUNT] = {
    "unreadable splits", "schema",        "duplicate ids",
    "shared ids",        "missing files", "empty splits"};
static const char *const check_kind_short[SK_CHECK_KIND_COUNT] = {
    "unreadable", "schema",       "duplicate id",
    "shared id",  "missing file", "empty split"};

/* One check in progress. */
struct ck {
    const struct sk_check_opts *o;
    const struct bspec *b;
    struct sk_check_report *r;
    json_t *seen; /* id -> [kind, index] */
    const char *docs_root;
};

void sk_check_report_init(struct sk_check_report *r)
{
    memset(r, 0, sizeof *r);
}

void sk_check_report_release(struct sk_check_report *r)
{
    size_t i;
    int k;
    if (!r)
        return;
    for (i = 0; i < r->n_problems; i++) {
        sk_free(r->problems[i].file);
        sk_free(r->problems[i].id);
        sk_free(r->problems[i].msg);
    }
    sk_free(r->problems);
    for (k = 0; k < SK_SPLIT_COUNT; k++)
        sk_free(r->paths[k]);
    sk_check_report_init(r);
}

size_t sk_check_report_total(const struct sk_check_report *r)
{
    size_t n = 0;
    int k;
    for (k = 0; k < SK_CHECK_KIND_COUNT; k++)
        n += r->per_kind[k];
    return n;
}

const char *sk_check_bench_name(const char *name)
{
    size_t i;
    if (!name)
        return NULL;
    if (strcmp(name, "livemath") == 0)
        return "livemathematicianbench";
    for (i = 0; i < SK_ARRAY_LEN(benches); i++)
        if (strcmp(name, benches[i].name) == 0)
            return benches[i].name;
    return NULL;
}

const char *sk_check_bench_names(void)
{
    return "searchqa, officeqa, docvqa, livemathematicianbench (livemath), "
           "spreadsheetbench, demo, generic";
}

static const struct bspec *find_bench(const char *name)
{
    size_t i;
    name = sk_check_bench_name(name);
    for (i = 0; name && i < SK_ARRAY_LEN(benches); i++)
        if (strcmp(name, benches[i].name) == 0)
            return &benches[i];
    return NULL;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "a list";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

/*
 * Records a problem; msg is a printf format.  Returns SK_OK or
 * SK_ENOMEM.  Past keep_per_kind the problem is only counted.
 */
static int add(struct sk_check_report *r, size_t keep, enum sk_check_kind kind,
               const char *file, long index, const char *id, const char *fmt,
               ...) SK_PRINTF(7, 8);

static int add(struct sk_check_report *r, size_t keep, enum sk_check_kind kind,
               const char *file, long index, const char *id, const char *fmt,
               ...)
{
    struct sk_check_problem *p;
    struct sk_buf msg;
    va_list ap;
    size_t stored = r->per_kind[kind];
    int rc;

    r->per_kind[kind]++;
    if (keep && stored >= keep)
        return SK_OK;
    if (r->n_problems == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 16;
        struct sk_check_problem *np = sk_realloc(r->problems, nc * sizeof *np);
        if (!np)
            return SK_ENOMEM;
        r->problems = np;
        r->cap = nc;
    }
    sk_buf_init(&msg, 16384);
    va_start(ap, fmt);
    rc = sk_buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    if (rc == SK_ETOOBIG)
        rc = SK_OK; /* an over-long message is cut, not lost */
    p = &r->problems[r->n_problems];
    memset(p, 0, sizeof *p);
    p->kind = kind;
    p->index = index;
    p->msg = rc == SK_OK ? sk_buf_detach(&msg, NULL) : NULL;
    p->file = file ? sk_strdup(file) : NULL;
    p->id = id ? sk_strndup(id, SHOWN) : NULL;
    sk_buf_release(&msg);
    if (!p->msg || (file && !p->file) || (id && !p->id)) {
        sk_free(p->msg);
        sk_free(p->file);
        sk_free(p->id);
        return SK_ENOMEM;
    }
    r->n_problems++;
    return SK_OK;
}

/* The value of the first alternative of names present in item, and its
 * name into name[cap]. */
static const json_t *get_alt(const json_t *item, const char *names, char *name,
                             size_t cap)
{
    const char *f = names;
    while (*f) {
        const char *bar = strchr(f, '|');
        size_t n = bar ? (size_t)(bar - f) : strlen(f);
        const json_t *v;
        snprintf(name, cap, "%.*s", (int)n, f);
        v = json_object_get(item, name);
        if (v)
            return v;
        f += n;
        if (*f == '|')
            f++;
    }
    snprintf(name, cap, "%.*s", (int)strcspn(names, "|"), names);
    return NULL;
}

/* "\"a\" or \"b\"" of '|'-separated names into buf. */
static void alt_text(const char *names, char *buf, size_t cap)
{
    size_t len = 0;
    const char *f = names;
    buf[0] = '\0';
    while (*f && len < cap) {
        size_t n = strcspn(f, "|");
        int w = snprintf(buf + len, cap - len, "%s\"%.*s\"",
                         f == names ? "" : " or ", (int)n, f);
        if (w < 0)
            break;
        len += (size_t)w;
        f += n;
        if (*f == '|')
            f++;
    }
}

/*
 * The id of item as a string into out, Python str() style for numbers
 * ("" when no alternative holds a non-empty string or a number).
 */
static int item_id(const json_t *item, const char *fields, struct sk_buf *out)
{
    const char *f = fields;
    sk_buf_reset(out);
    while (*f) {
        size_t n = strcspn(f, "|");
        char name[64];
        const json_t *v;
        snprintf(name, sizeof name, "%.*s", (int)n, f);
        v = json_object_get(item, name);
        if (json_is_string(v) && json_string_length(v) &&
            !memchr(json_string_value(v), '\0', json_string_length(v)))
            return sk_buf_append(out, json_string_value(v),
                                 json_string_length(v));
        if (json_is_integer(v))
            return sk_buf_printf(out, "%" JSON_INTEGER_FORMAT,
                                 json_integer_value(v));
        if (json_is_real(v)) {
            char num[40];
            int prec;
            for (prec = 1; prec <= 17; prec++) {
                snprintf(num, sizeof num, "%.*g", prec, json_real_value(v));
                if (strtod(num, NULL) == json_real_value(v))
                    break;
            }
            return sk_buf_printf(out, "%s%s", num,
                                 strpbrk(num, ".en") ? "" : ".0");
        }
        f += n;
        if (*f == '|')
            f++;
    }
    return SK_OK;
}

static int is_blank_text(const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (!strchr(" \t\r\n\f\v", s[i]))
            return 0;
    return 1;
}

/* Whether every element of v (a list) is a string; *bad = first other. */
static int all_strings(const json_t *v, size_t *bad)
{
    size_t i;
    for (i = 0; i < json_array_size(v); i++)
        if (!json_is_string(json_array_get(v, i))) {
            *bad = i;
            return 0;
        }
    return 1;
}

/* Normalised choice label (strip, upper case, trailing ".):" dropped). */
static void label_norm(const char *s, char *out, size_t cap)
{
    size_t n, i;
    while (*s && strchr(" \t\r\n", *s))
        s++;
    snprintf(out, cap, "%s", s);
    n = strlen(out);
    while (n && strchr(" \t\r\n.):", out[n - 1]))
        out[--n] = '\0';
    for (i = 0; i < n; i++)
        if (out[i] >= 'a' && out[i] <= 'z')
            out[i] = (char)(out[i] - 'a' + 'A');
}

/* The labels of a valid choices value, comma-joined into buf. */
static void choice_labels(const json_t *choices, char *buf, size_t cap)
{
    size_t len = 0, i;
    char l[64];
    buf[0] = '\0';
    if (json_is_array(choices)) {
        for (i = 0; i < json_array_size(choices) && len < cap; i++) {
            const json_t *c = json_array_get(choices, i);
            const json_t *lv = json_object_get(c, "label");
            if (json_is_string(lv))
                label_norm(json_string_value(lv), l, sizeof l);
            else
                snprintf(l, sizeof l, "%c", (char)('A' + (i < 26 ? i : 25)));
            len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? ", " : "",
                                    l);
        }
    } else {
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)choices, k, v)
        {
            (void)v;
            if (len >= cap)
                break;
            label_norm(k, l, sizeof l);
            len += (size_t)snprintf(buf + len, cap - len, "%s%s",
                                    len ? ", " : "", l);
        }
    }
}

/*
 * Checks value v of field name against type t; on a problem writes the
 * reason into why and returns 1.
 */
static int bad_value(const json_t *v, enum ftype t, const char *name, char *why,
                     size_t cap)
{
    size_t bad = 0, i;
    switch (t) {
    case FT_TEXT:
        if (!json_is_string(v))
            break;
        if (is_blank_text(json_string_value(v), json_string_length(v))) {
            snprintf(why, cap, "\"%s\" is empty", name);
            return 1;
        }
        return 0;
    case FT_TEXT_OR_NULL:
        if (json_is_string(v) || json_is_null(v))
            return 0;
        break;
    case FT_ANSWER:
        if (json_is_number(v))
            return 0;
        if (!json_is_string(v))
            break;
        if (is_blank_text(json_string_value(v), json_string_length(v))) {
            snprintf(why, cap, "\"%s\" is empty", name);
            return 1;
        }
        return 0;
    case FT_ANSWERS:
    case FT_FILES:
        if (json_is_string(v)) {
            if (is_blank_text(json_string_value(v), json_string_length(v))) {
                snprintf(why, cap, "\"%s\" is empty", name);
                return 1;
            }
            return 0;
        }
        /* fall through */
    case FT_STR_LIST:
        if (!json_is_array(v))
            break;
        if (json_array_size(v) == 0) {
            snprintf(why, cap, "\"%s\" is an empty list", name);
            return 1;
        }
        if (!all_strings(v, &bad)) {
            snprintf(why, cap, "\"%s\"[%zu] is %s; expected a string", name,
                     bad, type_name(json_array_get(v, bad)));
            return 1;
        }
        return 0;
    case FT_CHOICES:
        if (json_is_object(v) && json_object_size(v))
            return 0;
        if (!json_is_array(v))
            break;
        if (json_array_size(v) == 0) {
            snprintf(why, cap, "\"%s\" is an empty list", name);
            return 1;
        }
        for (i = 0; i < json_array_size(v); i++) {
            const json_t *c = json_array_get(v, i);
            if (json_is_string(c))
                continue;
            if (!json_is_object(c) ||
                !(json_is_string(json_object_get(c, "text")) ||
                  json_is_string(json_object_get(c, "content")))) {
                snprintf(why, cap,
                         "\"%s\"[%zu] is %s without a \"text\"; expected "
                         "{label, text} or a string",
                         name, i, type_name(c));
                return 1;
            }
        }
        return 0;
    case FT_CORRECT:
        if (json_is_string(v) && json_string_length(v))
            return 0;
        if (json_is_object(v) && json_is_string(json_object_get(v, "label")))
            return 0;
        break;
    }
    snprintf(why, cap, "\"%s\" is %s; expected %s", name, type_name(v),
             ftype_text[t]);
    return 1;
}

/* LiveMath: the correct label must be one of the choices. */
static int check_correct(struct ck *c, const char *file, long index,
                         const char *id, const json_t *item)
{
    const json_t *cc = json_object_get(item, "correct_choice");
    const json_t *lv = json_is_object(cc) ? json_object_get(cc, "label") : cc;
    char want[64], labels[512], probe[70];
    if (!json_is_string(lv))
        return SK_OK;
    label_norm(json_string_value(lv), want, sizeof want);
    choice_labels(json_object_get(item, "choices"), labels, sizeof labels);
    /* exact membership in the comma-joined list */
    snprintf(probe, sizeof probe, "%s", want);
    {
        const char *p = labels;
        size_t n = strlen(probe);
        while (*p) {
            size_t m = strcspn(p, ",");
            if (m == n && strncmp(p, probe, n) == 0)
                return SK_OK;
            p += m;
            while (*p == ',' || *p == ' ')
                p++;
        }
    }
    return add(c->r, c->o->keep_per_kind, SK_CHECK_SCHEMA, file, index, id,
               "correct_choice label \"%s\" is not one of the choices (%s)",
               want, labels);
}

static char *resolve(const char *base, const char *path)
{
    if (path[0] == '/' || !base || !*base || strcmp(base, ".") == 0)
        return sk_strdup(path);
    return sk_fs_join(base, path);
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Whether dir holds a file named stem+suffix: 1, 0, or -1 (SK_ENOMEM). */
static int has_pair(const char *dir, const char *name, size_t stem,
                    const char *suffix)
{
    char buf[1024];
    char *p;
    int ok;
    if (snprintf(buf, sizeof buf, "%.*s%s", (int)stem, name, suffix) >=
        (int)sizeof buf)
        return 0;
    p = sk_fs_join(dir, buf);
    if (!p)
        return -1;
    ok = is_file(p);
    sk_free(p);
    return ok;
}

static int ends_with(const char *s, const char *suffix, size_t *stem)
{
    size_t n = strlen(s), m = strlen(suffix);
    if (n <= m || strcmp(s + n - m, suffix) != 0)
        return 0;
    *stem = n - m;
    return 1;
}

/* SpreadsheetBench: the task folder and its input/answer workbooks. */
static int check_spreadsheet(struct ck *c, const char *file, long index,
                             const char *id, const json_t *item)
{
    const json_t *sp = json_object_get(item, "spreadsheet_path");
    char rel[1024], unpaired[600] = "", worst[256] = "";
    char *dir;
    DIR *d;
    struct dirent *de;
    size_t cases = 0, stem;
    int rc = SK_OK;

    if (json_is_string(sp))
        snprintf(rel, sizeof rel, "%s", json_string_value(sp));
    else
        snprintf(rel, sizeof rel, "spreadsheet/%s", id ? id : "");
    dir = resolve(c->o->data_root, rel);
    if (!dir)
        return SK_ENOMEM;
    d = opendir(dir);
    if (!d) {
        rc = add(c->r, c->o->keep_per_kind, SK_CHECK_MISSING_FILE, file, index,
                 id, "spreadsheet folder %s not found", dir);
        goto out;
    }
    /* Readdir order is arbitrary: the smallest unpaired name is reported,
     * so that the message does not depend on the file system. */
    while ((de = readdir(d)) != NULL) {
        static const char *const pairs[][2] = {{"_input.xlsx", "_answer.xlsx"},
                                               {"_init.xlsx", "_golden.xlsx"}};
        const char *n = de->d_name;
        size_t j;
        for (j = 0; j < SK_ARRAY_LEN(pairs); j++) {
            int ok;
            if (!ends_with(n, pairs[j][0], &stem))
                continue;
            ok = has_pair(dir, n, stem, pairs[j][1]);
            if (ok < 0) {
                closedir(d);
                rc = SK_ENOMEM;
                goto out;
            }
            if (ok)
                cases++;
            else if (!*unpaired || strcmp(n, worst) < 0) {
                snprintf(worst, sizeof worst, "%s", n);
                snprintf(unpaired, sizeof unpaired, "%s has no %.*s%s", n,
                         (int)stem, n, pairs[j][1]);
            }
        }
    }
    closedir(d);
    if (cases == 0) {
        int a = has_pair(dir, "initial.xlsx", 7, ".xlsx");
        int b = a > 0 ? has_pair(dir, "golden.xlsx", 6, ".xlsx") : 0;
        if (a < 0 || b < 0) {
            rc = SK_ENOMEM;
            goto out;
        }
        cases = a > 0 && b > 0;
    }
    if (*unpaired)
        rc = add(c->r, c->o->keep_per_kind, SK_CHECK_MISSING_FILE, file, index,
                 id, "in %s: %s", dir, unpaired);
    else if (cases == 0)
        rc = add(c->r, c->o->keep_per_kind, SK_CHECK_MISSING_FILE, file, index,
                 id,
                 "no test case in %s (need N_input.xlsx + N_answer.xlsx, "
                 "N_init.xlsx + N_golden.xlsx, or initial.xlsx + golden.xlsx)",
                 dir);
out:
    sk_free(dir);
    return rc;
}

/* OfficeQA: each source file (read as the benchmark reads the list) must
 * be in the corpus. */
static int check_docs(struct ck *c, const char *file, long index,
                      const char *id, const json_t *item)
{
    struct sk_error lerr;
    char **names = NULL;
    size_t n = 0, i;
    int rc = sk_officeqa_parse_list(json_object_get(item, "source_files"),
                                    &names, &n, &lerr);
    if (rc == SK_EDATA)
        return add(c->r, c->o->keep_per_kind, SK_CHECK_SCHEMA, file, index, id,
                   "\"source_files\" holds an object or a nested list");
    for (i = 0; rc == SK_OK && i < n; i++) {
        char *p;
        if (strchr(names[i], '/') || strcmp(names[i], "..") == 0) {
            rc = add(c->r, c->o->keep_per_kind, SK_CHECK_SCHEMA, file, index,
                     id, "source file \"%.*s\" is not a plain file name", SHOWN,
                     names[i]);
            continue;
        }
        p = sk_fs_join(c->docs_root, names[i]);
        if (!p) {
            rc = SK_ENOMEM;
            break;
        }
        if (!is_file(p))
            rc = add(c->r, c->o->keep_per_kind, SK_CHECK_MISSING_FILE, file,
                     index, id, "source file %.*s not found in %s", SHOWN,
                     names[i], c->docs_root);
        sk_free(p);
    }
    sk_officeqa_strs_free(names, n);
    return rc;
}

/* Every check of one item. */
static int check_item(struct ck *c, int kind, const char *file, size_t i,
                      const json_t *item, struct sk_buf *idb)
{
    const struct fspec *f;
    const json_t *prev;
    const char *id;
    char name[64], why[512];
    size_t keep = c->o->keep_per_kind;
    long index = (long)i;
    int rc;

    if (!json_is_object(item))
        return add(c->r, keep, SK_CHECK_SCHEMA, file, index, NULL,
                   "is %s; expected an object", type_name(item));
    if (item_id(item, c->b->id_fields, idb))
        return SK_ENOMEM;
    id = idb->len ? idb->data : NULL;
    if (!id) {
        alt_text(c->b->id_fields, why, sizeof why);
        rc =
            add(c->r, keep, SK_CHECK_SCHEMA, file, index, NULL,
                "no usable id: %s must be a non-empty string or a number", why);
        if (rc)
            return rc;
    } else if ((prev = json_object_get(c->seen, id)) != NULL) {
        int pk = (int)json_integer_value(json_array_get(prev, 0));
        json_int_t pi = json_integer_value(json_array_get(prev, 1));
        if (pk == kind)
            rc = add(c->r, keep, SK_CHECK_DUPLICATE, file, index, id,
                     "same id as item %" JSON_INTEGER_FORMAT, pi);
        else
            rc = add(c->r, keep, SK_CHECK_SHARED, file, index, id,
                     "also item %" JSON_INTEGER_FORMAT " of the %s split (%s)",
                     pi, kind_names[pk], c->r->paths[pk]);
        if (rc)
            return rc;
    } else if (json_object_set_new(c->seen, id,
                                   json_pack("[iI]", kind, (json_int_t)i))) {
        return SK_ENOMEM;
    }
    for (f = c->b->fields; f->names; f++) {
        const json_t *v = get_alt(item, f->names, name, sizeof name);
        if (!v) {
            if (f->optional)
                continue;
            alt_text(f->names, why, sizeof why);
            rc = add(c->r, keep, SK_CHECK_SCHEMA, file, index, id,
                     "no %s field", why);
        } else if (bad_value(v, f->type, name, why, sizeof why)) {
            rc = add(c->r, keep, SK_CHECK_SCHEMA, file, index, id, "%s", why);
        } else if (f->type == FT_CORRECT) {
            rc = bad_value(json_object_get(item, "choices"), FT_CHOICES,
                           "choices", why, sizeof why)
                     ? SK_OK
                     : check_correct(c, file, index, id, item);
        } else {
            rc = SK_OK;
        }
        if (rc)
            return rc;
    }
    switch (c->b->refs) {
    case REFS_IMAGE: {
        const json_t *ip = json_object_get(item, "image_path");
        char *p;
        if (!json_is_string(ip) || !json_string_length(ip))
            return SK_OK;
        p = resolve(c->o->data_root, json_string_value(ip));
        if (!p)
            return SK_ENOMEM;
        rc = is_file(p) ? SK_OK
                        : add(c->r, keep, SK_CHECK_MISSING_FILE, file, index,
                              id, "image %s not found", p);
        sk_free(p);
        return rc;
    }
    case REFS_SPREADSHEET:
        return check_spreadsheet(c, file, index, id, item);
    case REFS_DOCS:
        return c->docs_root ? check_docs(c, file, index, id, item) : SK_OK;
    default:
        return SK_OK;
    }
}

static int check_split(struct ck *c, int kind, const json_t *arr)
{
    struct sk_buf id;
    const char *file = c->r->paths[kind];
    size_t i;
    int rc = SK_OK;
    c->r->counts[kind] = json_array_size(arr);
    if (json_array_size(arr) == 0)
        return add(c->r, c->o->keep_per_kind, SK_CHECK_EMPTY, file, -1, NULL,
                   "the %s split has no items", kind_names[kind]);
    sk_buf_init(&id, SK_BUF_UNLIMITED);
    for (i = 0; i < json_array_size(arr) && rc == SK_OK; i++)
        rc = check_item(c, kind, file, i, json_array_get(arr, i), &id);
    sk_buf_release(&id);
    return rc;
}

/* Picks the benchmark: given, or guessed from the first item's fields. */
static int choose_bench(struct ck *c, json_t *const items[SK_SPLIT_COUNT],
                        struct sk_error *err)
{
    size_t i, j;
    int k;
    if (c->o->bench && *c->o->bench) {
        c->b = find_bench(c->o->bench);
        if (!c->b)
            return sk_error_set(err, SK_EINVAL,
                                "unknown benchmark \"%s\" (known: %s)",
                                c->o->bench, sk_check_bench_names());
        snprintf(c->r->bench, sizeof c->r->bench, "%s", c->b->name);
        return SK_OK;
    }
    c->b = &benches[B_GENERIC];
    for (k = 0; k < SK_SPLIT_COUNT; k++)
        for (i = 0; i < json_array_size(items[k]); i++) {
            const json_t *item = json_array_get(items[k], i);
            if (!json_is_object(item))
                continue;
            for (j = 0; j < SK_ARRAY_LEN(clues); j++)
                if (json_object_get(item, clues[j].field)) {
                    c->b = find_bench(clues[j].bench);
                    snprintf(c->r->guess, sizeof c->r->guess,
                             "guessed from the field \"%s\" of %s item %zu",
                             clues[j].field, kind_names[k], i);
                    goto done;
                }
            if (json_object_get(item, "question") &&
                json_object_get(item, "answers")) {
                c->b = find_bench("demo");
                snprintf(c->r->guess, sizeof c->r->guess,
                         "guessed from the fields \"question\" and "
                         "\"answers\" of %s item %zu",
                         kind_names[k], i);
            } else {
                snprintf(c->r->guess, sizeof c->r->guess,
                         "no benchmark's fields in %s item %zu: only ids "
                         "are checked",
                         kind_names[k], i);
            }
            goto done;
        }
    snprintf(c->r->guess, sizeof c->r->guess, "no items to guess from");
done:
    snprintf(c->r->bench, sizeof c->r->bench, "%s", c->b->name);
    return SK_OK;
}

/* Runs every check over the three arrays (NULL: split unreadable). */
static int run(struct ck *c, json_t *const items[SK_SPLIT_COUNT],
               struct sk_error *err)
{
    char *transformed = NULL;
    int rc, k;
    rc = choose_bench(c, items, err);
    if (rc)
        return rc;
    c->seen = json_object();
    if (!c->seen)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    if (c->b->refs == REFS_DOCS && c->o->docs_dir && *c->o->docs_dir) {
        /* the reference prefers a transformed/ copy of the corpus */
        transformed = sk_fs_join(c->o->docs_dir, "transformed");
        if (!transformed) {
            rc = sk_error_set(err, SK_ENOMEM, "out of memory");
            goto out;
        }
        c->docs_root = sk_fs_is_dir(transformed) ? transformed : c->o->docs_dir;
        c->r->docs_checked = 1;
    }
    for (k = 0; k < SK_SPLIT_COUNT && rc == SK_OK; k++)
        if (items[k])
            rc = check_split(c, k, items[k]);
    if (rc)
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
out:
    json_decref(c->seen);
    c->seen = NULL;
    sk_free(transformed);
    return rc;
}

int sk_data_check_splits(const struct sk_splits *s,
                         const struct sk_check_opts *o,
                         struct sk_check_report *r, struct sk_error *err)
{
    struct ck c;
    json_t *items[SK_SPLIT_COUNT];
    int k;
    sk_check_report_init(r);
    memset(&c, 0, sizeof c);
    c.o = o;
    c.r = r;
    for (k = 0; k < SK_SPLIT_COUNT; k++) {
        items[k] = s->items[k];
        r->loaded[k] = 1;
        r->paths[k] = sk_strdup(s->paths[k] ? s->paths[k] : "");
        if (!r->paths[k])
            return sk_error_set(err, SK_ENOMEM, "out of memory");
    }
    return run(&c, items, err);
}

/* Whether name matches "*<ext>" (dot files skipped, as glob does). */
static int has_ext(const char *name, const char *ext)
{
    size_t n = strlen(name), e = strlen(ext);
    return name[0] != '.' && n >= e && strcmp(name + n - e, ext) == 0;
}

/*
 * The bytewise-first regular file "*<ext>" in dir into *first (new
 * string, NULL when none).  1 if dir cannot be opened, else 0; -1 on
 * SK_ENOMEM.
 */
static int first_file(const char *dir, const char *ext, char **first)
{
    struct dirent *de;
    DIR *d = opendir(dir);
    *first = NULL;
    if (!d)
        return 1;
    while ((de = readdir(d)) != NULL) {
        char *p;
        int ok;
        if (!has_ext(de->d_name, ext) ||
            (*first && strcmp(de->d_name, *first) >= 0))
            continue;
        p = sk_fs_join(dir, de->d_name);
        ok = p && is_file(p);
        sk_free(p);
        if (!p)
            goto oom;
        if (!ok)
            continue;
        sk_free(*first);
        *first = sk_strdup(de->d_name);
        if (!*first)
            goto oom;
    }
    closedir(d);
    return 0;
oom:
    closedir(d);
    sk_free(*first);
    *first = NULL;
    return -1;
}

/*
 * Reads split folder dir/<kind> the lenient way: the first *.json by
 * name, else the first *.csv (as split.c does); what is wrong becomes an
 * "unreadable" problem and *out stays NULL.
 */
static int read_folder(struct ck *c, const char *split_dir, int kind,
                       json_t **out, struct sk_error *err)
{
    char *dir = sk_fs_join(split_dir, kind_names[kind]), *first = NULL;
    struct sk_buf text;
    struct sk_error ferr;
    json_error_t jerr;
    json_t *arr = NULL;
    size_t keep = c->o->keep_per_kind;
    int rc = SK_OK, found, is_csv = 0;

    *out = NULL;
    sk_buf_init(&text, SK_BUF_UNLIMITED);
    if (!dir)
        goto oom;
    found = first_file(dir, ".json", &first);
    if (found == 0 && !first) {
        found = first_file(dir, ".csv", &first);
        is_csv = 1;
    }
    if (found < 0)
        goto oom;
    if (found > 0 || !first) {
        c->r->paths[kind] = sk_strdup(dir);
        if (!c->r->paths[kind])
            goto oom;
        if (found > 0)
            rc = add(c->r, keep, SK_CHECK_FILE, dir, -1, NULL,
                     "no %s/ folder in %s", kind_names[kind], split_dir);
        else
            rc = add(c->r, keep, SK_CHECK_FILE, dir, -1, NULL,
                     "no .json (or .csv) file in the folder");
        goto out;
    }
    c->r->paths[kind] = sk_fs_join(dir, first);
    if (!c->r->paths[kind])
        goto oom;
    rc = sk_fs_read(c->r->paths[kind], SK_SPLIT_MAX_FILE, &text, &ferr);
    if (rc == SK_ENOMEM)
        goto oom;
    if (rc) {
        rc = add(c->r, keep, SK_CHECK_FILE, c->r->paths[kind], -1, NULL, "%s",
                 ferr.msg);
        goto out;
    }
    if (is_csv) {
        rc = sk_split_parse_csv(c->r->paths[kind], sk_buf_cstr(&text), text.len,
                                &arr, &ferr);
        if (rc == SK_ENOMEM)
            goto oom;
        if (rc) {
            rc = add(c->r, keep, SK_CHECK_FILE, NULL, -1, NULL, "%s", ferr.msg);
            goto out;
        }
    } else {
        arr =
            sk_json_loadb(sk_buf_cstr(&text), text.len, JSON_DECODE_ANY, &jerr);
        if (!arr) {
            if (sk_json_oom(&jerr))
                goto oom;
            rc = add(c->r, keep, SK_CHECK_FILE, c->r->paths[kind], -1, NULL,
                     "invalid JSON at line %d, column %d: %s", jerr.line,
                     jerr.column, jerr.text);
            goto out;
        }
    }
    if (!json_is_array(arr)) {
        rc = add(c->r, keep, SK_CHECK_FILE, c->r->paths[kind], -1, NULL,
                 "is %s; expected a JSON array of items", type_name(arr));
        goto out;
    }
    c->r->loaded[kind] = 1;
    *out = arr;
    arr = NULL;
    goto out;
oom:
    rc = SK_ENOMEM;
out:
    if (rc == SK_ENOMEM)
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
    json_decref(arr);
    sk_buf_release(&text);
    sk_free(first);
    sk_free(dir);
    return rc;
}

int sk_data_check_dir(const char *split_dir, const struct sk_check_opts *o,
                      struct sk_check_report *r, struct sk_error *err)
{
    struct sk_split_opts so;
    struct sk_splits s;
    struct sk_error lerr;
    struct ck c;
    json_t *items[SK_SPLIT_COUNT] = {NULL, NULL, NULL};
    int rc, k;

    sk_check_report_init(r);
    if (!sk_fs_is_dir(split_dir))
        return sk_error_set(err, SK_ENOTFOUND, "%s: not a directory",
                            split_dir);
    if (o->bench && *o->bench && !find_bench(o->bench))
        return sk_error_set(err, SK_EINVAL,
                            "unknown benchmark \"%s\" (known: %s)", o->bench,
                            sk_check_bench_names());
    sk_split_opts_init(&so);
    so.mode = "split_dir";
    so.split_dir = split_dir;
    sk_splits_init(&s);
    rc = sk_splits_load(&so, &s, &lerr);
    if (rc == SK_ENOMEM)
        return sk_error_set(err, rc, "%s", lerr.msg);
    if (rc == SK_OK) {
        rc = sk_data_check_splits(&s, o, r, err);
        sk_splits_release(&s);
        return rc;
    }
    /* The loader stopped at its first problem: read leniently to find
     * them all. */
    memset(&c, 0, sizeof c);
    c.o = o;
    c.r = r;
    for (k = 0; k < SK_SPLIT_COUNT && rc != SK_ENOMEM; k++)
        rc = read_folder(&c, split_dir, k, &items[k], err);
    if (rc != SK_ENOMEM)
        rc = run(&c, items, err);
    if (rc == SK_OK && sk_check_report_total(r) == 0)
        rc = add(r, o->keep_per_kind, SK_CHECK_FILE, NULL, -1, NULL, "%s",
                 lerr.msg) == SK_OK
                 ? SK_OK
                 : sk_error_set(err, SK_ENOMEM, "out of memory");
    for (k = 0; k < SK_SPLIT_COUNT; k++)
        json_decref(items[k]);
    return rc;
}

static int format_problems(const struct sk_check_report *r, size_t max,
                           struct sk_buf *out)
{
    size_t i, shown;
    int k, rc = SK_OK, first = 1;
    for (k = 0; k < SK_CHECK_KIND_COUNT && rc == SK_OK; k++) {
        if (!r->per_kind[k])
            continue;
        if (first)
            rc = sk_buf_puts(out, "problems:\n");
        first = 0;
        if (rc == SK_OK)
            rc = sk_buf_printf(out, "  %s (%zu):\n", check_kind_titles[k],
                               r->per_kind[k]);
        shown = 0;
        for (i = 0; i < r->n_problems && rc == SK_OK; i++) {
            const struct sk_check_problem *p = &r->problems[i];
            if ((int)p->kind != k || (max && shown >= max))
                continue;
            shown++;
            rc = sk_buf_puts(out, "    ");
            if (rc == SK_OK && p->file)
                rc = sk_buf_printf(out, "%s: ", p->file);
            if (rc == SK_OK && p->index >= 0)
                rc = sk_buf_printf(out, "item %ld", p->index);
            if (rc == SK_OK && p->index >= 0 && p->id)
                rc = sk_buf_printf(out, " (id \"%s\")", p->id);
            if (rc == SK_OK && p->index >= 0)
                rc = sk_buf_puts(out, ": ");
            if (rc == SK_OK)
                rc = sk_buf_printf(out, "%s\n", p->msg);
        }
        if (rc == SK_OK && r->per_kind[k] > shown)
            rc = sk_buf_printf(out, "    ... and %zu more\n",
                               r->per_kind[k] - shown);
    }
    return rc;
}

static int format_summary(const struct sk_check_report *r, struct sk_buf *out)
{
    size_t items = 0, total = sk_check_report_total(r);
    int k, rc, sep = 0;
    for (k = 0; k < SK_SPLIT_COUNT; k++)
        items += r->counts[k];
    if (r->bench[0] && strcmp(r->bench, "officeqa") == 0 && !r->docs_checked) {
        rc = sk_buf_puts(out, "note: source documents not checked (give the "
                              "corpus with --docs DIR)\n");
        if (rc)
            return rc;
    }
    rc = sk_buf_printf(out, "summary: %zu item%s in %d splits, ", items,
                       items == 1 ? "" : "s", SK_SPLIT_COUNT);
    if (rc == SK_OK && total == 0)
        return sk_buf_puts(out, "no problems\n");
    if (rc == SK_OK)
        rc =
            sk_buf_printf(out, "%zu problem%s (", total, total == 1 ? "" : "s");
    for (k = 0; k < SK_CHECK_KIND_COUNT && rc == SK_OK; k++) {
        if (!r->per_kind[k])
            continue;
        rc = sk_buf_printf(out, "%s%s %zu", sep ? ", " : "",
                           check_kind_short[k], r->per_kind[k]);
        sep = 1;
    }
    if (rc == SK_OK)
        rc = sk_buf_puts(out, ")\n");
    return rc;
}

int sk_check_report_format_problems(const struct sk_check_report *r,
                                    size_t max_per_kind, struct sk_buf *out)
{
    int rc = format_problems(r, max_per_kind, out);
    return rc ? rc : format_summary(r, out);
}

int sk_check_report_format(const struct sk_check_report *r, size_t max_per_kind,
                           struct sk_buf *out)
{
    int rc, k;
    rc = sk_buf_printf(out, "benchmark: %s%s%s%s\n", r->bench,
                       r->guess[0] ? " (" : "", r->guess,
                       r->guess[0] ? "; choose with --bench)" : "");
    if (rc == SK_OK)
        rc = sk_buf_puts(out, "splits:\n");
    for (k = 0; k < SK_SPLIT_COUNT && rc == SK_OK; k++) {
        if (r->loaded[k])
            rc = sk_buf_printf(out, "  %-5s %6zu items  %s\n", kind_names[k],
                               r->counts[k], r->paths[k] ? r->paths[k] : "");
        else
            rc = sk_buf_printf(out, "  %-5s %6s        %s\n", kind_names[k],
                               "-", r->paths[k] ? r->paths[k] : "");
    }
    if (rc == SK_OK)
        rc = sk_check_report_format_problems(r, max_per_kind, out);
    return rc;
}
