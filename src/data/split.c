/*
 * split.c - loads benchmark splits from a split directory, or makes one
 * from a raw JSON/JSONL file with a seeded ratio cut (see split.h).  The
 * shuffle and the count rounding match the Python reference exactly; the
 * validation of ids and file shapes is stricter than the reference.
 */
#include "common.h"

#include "data/split.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/jsonparse.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/pyrandom.h"
#include "util/utf8.h"

/* Item ids quoted in messages are cut to this many bytes. */
#define ID_SHOWN 120

static const char *const kind_names[SK_SPLIT_COUNT] = {"train", "val", "test"};

static const struct {
    const char *name;
    enum sk_split_kind kind;
} split_aliases[] = {
    {"train", SK_SPLIT_TRAIN},       {"valid_seen", SK_SPLIT_VAL},
    {"selection", SK_SPLIT_VAL},     {"val", SK_SPLIT_VAL},
    {"valid_unseen", SK_SPLIT_TEST}, {"test", SK_SPLIT_TEST},
};

void sk_split_opts_init(struct sk_split_opts *o)
{
    memset(o, 0, sizeof *o);
}

void sk_splits_init(struct sk_splits *s)
{
    memset(s, 0, sizeof *s);
}

const char *sk_split_kind_name(enum sk_split_kind k)
{
    return (unsigned)k < SK_SPLIT_COUNT ? kind_names[k] : "?";
}

int sk_split_name_parse(const char *name, enum sk_split_kind *out)
{
    size_t i;
    if (!name)
        return SK_EINVAL;
    for (i = 0; i < SK_ARRAY_LEN(split_aliases); i++) {
        if (strcmp(name, split_aliases[i].name) == 0) {
            *out = split_aliases[i].kind;
            return SK_OK;
        }
    }
    return SK_EINVAL;
}

int sk_split_ratio_parse(const char *text, long w[SK_SPLIT_COUNT],
                         struct sk_error *err)
{
    const char *p = text ? text : "";
    int i;
    for (i = 0; i < SK_SPLIT_COUNT; i++) {
        long v = 0;
        int digits = 0;
        while (*p == ' ' || *p == '\t')
            p++;
        while (isdigit((unsigned char)*p)) {
            if (v <= SK_SPLIT_MAX_RATIO_PART)
                v = v * 10 + (*p - '0');
            digits++;
            p++;
        }
        while (*p == ' ' || *p == '\t')
            p++;
        if (!digits)
            return sk_error_set(err, SK_EDATA,
                                "split_ratio must be three integers "
                                "train:val:test, got \"%s\"",
                                text ? text : "");
        if (v <= 0 || v > SK_SPLIT_MAX_RATIO_PART)
            return sk_error_set(
                err, SK_EDATA,
                "split_ratio parts must be positive and at most %ld, "
                "got \"%s\"",
                SK_SPLIT_MAX_RATIO_PART, text);
        w[i] = v;
        if (i < SK_SPLIT_COUNT - 1) {
            if (*p != ':')
                return sk_error_set(err, SK_EDATA,
                                    "split_ratio must be three integers "
                                    "train:val:test, got \"%s\"",
                                    text);
            p++;
        }
    }
    if (*p)
        return sk_error_set(err, SK_EDATA,
                            "split_ratio must be three integers "
                            "train:val:test, got \"%s\"",
                            text);
    return SK_OK;
}

/* Whether part a goes before part b when handing out leftover items. */
static int remainder_before(const double *rem, const long *w, int a, int b)
{
    if (rem[a] != rem[b])
        return rem[a] > rem[b];
    if (w[a] != w[b])
        return w[a] > w[b];
    return a < b;
}

void sk_split_counts(size_t total, const long w[SK_SPLIT_COUNT],
                     size_t out[SK_SPLIT_COUNT])
{
    double raw[SK_SPLIT_COUNT], rem[SK_SPLIT_COUNT];
    long denom = 0;
    size_t assigned = 0, remaining;
    int order[SK_SPLIT_COUNT] = {0, 1, 2}, i, j;
    for (i = 0; i < SK_SPLIT_COUNT; i++)
        denom += w[i];
    for (i = 0; i < SK_SPLIT_COUNT; i++) {
        /* The reference divides exact integers once, rounding correctly;
         * the product is exact in a double for any realistic total. */
        raw[i] = (double)((uint64_t)total * (uint64_t)w[i]) / (double)denom;
        out[i] = (size_t)raw[i];
        rem[i] = raw[i] - (double)out[i];
        assigned += out[i];
    }
    /* Insertion sort of three indexes by (remainder, weight) descending,
     * stable, like Python's sorted(..., reverse=True). */
    for (i = 1; i < SK_SPLIT_COUNT; i++)
        for (j = i; j > 0 && remainder_before(rem, w, order[j], order[j - 1]);
             j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    remaining = total - assigned;
    for (i = 0; i < SK_SPLIT_COUNT && (size_t)i < remaining; i++)
        out[order[i]]++;
}

/*
 * Python's repr() of a float: the shortest digits that read back to v,
 * positional for decimal exponents -4..15 (with ".0" when integral), else
 * d.ddde+XX.  Used for numeric ids, which the reference passes to str().
 */
static void py_float_repr(double v, char *out, size_t cap)
{
    char tmp[40], digits[24], whole[24];
    const char *p, *sign = signbit(v) ? "-" : "";
    int prec, exp10, nd = 0, k;
    for (prec = 1; prec < 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    snprintf(tmp, sizeof tmp, "%.*e", prec - 1, v);
    for (p = tmp; *p && *p != 'e'; p++)
        if (isdigit((unsigned char)*p))
            digits[nd++] = *p;
    exp10 = (int)strtol(p + 1, NULL, 10);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';
    if (exp10 >= 0 && exp10 < 16) {
        int intd = exp10 + 1;
        for (k = 0; k < intd; k++)
            whole[k] = k < nd ? digits[k] : '0';
        whole[intd] = '\0';
        snprintf(out, cap, "%s%s.%s", sign, whole,
                 nd > intd ? digits + intd : "0");
    } else if (exp10 < 0 && exp10 >= -4) {
        snprintf(out, cap, "%s0.%.*s%s", sign, -exp10 - 1, "000", digits);
    } else {
        snprintf(out, cap, "%s%c%s%se%c%02d", sign, digits[0],
                 nd > 1 ? "." : "", digits + 1, exp10 < 0 ? '-' : '+',
                 exp10 < 0 ? -exp10 : exp10);
    }
}

/*
 * The id of item as a new string: JSON strings as they are, numbers the
 * way Python's str() prints them.  SK_EDATA (no message) when item is not
 * an object or its id is missing, empty, of another type or holds a NUL.
 */
static int item_id_dup(json_t *item, char **out)
{
    json_t *id = json_is_object(item) ? json_object_get(item, "id") : NULL;
    char num[64];
    *out = NULL;
    if (json_is_string(id)) {
        const char *s = json_string_value(id);
        if (!*s || strlen(s) != json_string_length(id))
            return SK_EDATA;
        *out = sk_strdup(s);
    } else if (json_is_integer(id)) {
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT,
                 json_integer_value(id));
        *out = sk_strdup(num);
    } else if (json_is_real(id)) {
        py_float_repr(json_real_value(id), num, sizeof num);
        *out = sk_strdup(num);
    } else {
        return SK_EDATA;
    }
    return *out ? SK_OK : SK_ENOMEM;
}

static const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    default:
        return "null";
    }
}

/*
 * os.path.abspath: path made absolute against the working directory and
 * normalised ("." and ".." components, repeated slashes) into *out (new
 * string).  SK_ENOMEM or SK_EIO (no working directory) otherwise.
 */
static int abspath(const char *path, char **out, struct sk_error *err)
{
    struct sk_buf b;
    char cwd[4096];
    const char *p;
    char *joined = NULL;
    int rc = SK_OK;
    *out = NULL;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (path[0] != '/') {
        if (!getcwd(cwd, sizeof cwd)) {
            rc = sk_error_set(err, SK_EIO,
                              "cannot get the working directory: %s",
                              strerror(errno));
            goto out;
        }
        joined = sk_fs_join(cwd, path);
        if (!joined) {
            rc = sk_error_set(err, SK_ENOMEM, "%s: out of memory", path);
            goto out;
        }
        path = joined;
    }
    for (p = path; *p;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            char *slash = b.len ? strrchr(b.data, '/') : NULL;
            if (slash)
                sk_buf_truncate(&b, (size_t)(slash - b.data));
        } else if (n && !(n == 1 && p[0] == '.')) {
            if (sk_buf_putc(&b, '/') || sk_buf_append(&b, p, n)) {
                rc = sk_error_set(err, SK_ENOMEM, "%s: out of memory", path);
                goto out;
            }
        }
        p += n;
        if (*p == '/')
            p++;
    }
    if (b.len == 0 && sk_buf_putc(&b, '/')) {
        rc = sk_error_set(err, SK_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    *out = sk_buf_detach(&b, NULL);
    if (!*out)
        rc = sk_error_set(err, SK_ENOMEM, "%s: out of memory", path);
out:
    sk_buf_release(&b);
    sk_free(joined);
    return rc;
}

/* Whether name matches the glob "*<ext>" (glob skips dot files). */
static int glob_match(const char *name, const char *ext)
{
    size_t n = strlen(name), e = strlen(ext);
    return name[0] != '.' && n >= e && strcmp(name + n - e, ext) == 0;
}

static int is_regular(const char *dir, const char *name)
{
    char *path = sk_fs_join(dir, name);
    struct stat st;
    int ok = path && stat(path, &st) == 0 && S_ISREG(st.st_mode);
    sk_free(path);
    return ok;
}

/*
 * Scans dir for regular files matching "*<ext>".  Sets *count to how many
 * and *first to a new copy of the bytewise smallest name (NULL if none;
 * Python's sorted() orders UTF-8 names the same way).
 */
static int scan_dir(const char *dir, const char *ext, size_t *count,
                    char **first, struct sk_error *err)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    const char *best = NULL;
    char *best_copy = NULL;
    int rc = SK_OK;
    *count = 0;
    *first = NULL;
    if (!d)
        return sk_error_set(err, SK_EDATA, "%s: cannot open directory: %s", dir,
                            strerror(errno));
    while ((de = readdir(d)) != NULL) {
        if (!glob_match(de->d_name, ext) || !is_regular(dir, de->d_name))
            continue;
        (*count)++;
        if (!best || strcmp(de->d_name, best) < 0) {
            char *c = sk_strdup(de->d_name);
            if (!c) {
                rc = sk_error_set(err, SK_ENOMEM, "%s: out of memory", dir);
                goto out;
            }
            sk_free(best_copy);
            best = best_copy = c;
        }
    }
    *first = best_copy;
    best_copy = NULL;
out:
    sk_free(best_copy);
    closedir(d);
    return rc;
}

/* Reads path (capped) into a fresh buffer owned by the caller. */
static int read_capped(const char *path, struct sk_buf *b, struct sk_error *err)
{
    sk_buf_init(b, SK_BUF_UNLIMITED);
    return sk_fs_read(path, SK_SPLIT_MAX_FILE, b, err);
}

/*
 * Parses len bytes of JSON (any top-level value).  line_base shifts the
 * reported line for JSONL.  SK_EDATA naming path:line:col on bad JSON,
 * SK_ENOMEM when jansson ran out of memory.
 */
static int parse_json(const char *path, const char *text, size_t len,
                      int line_base, json_t **out, struct sk_error *err)
{
    json_error_t jerr;
    *out = sk_json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (*out)
        return SK_OK;
    if (sk_json_oom(&jerr))
        return sk_error_set(err, SK_ENOMEM, "%s: out of memory", path);
    return sk_error_set(err, SK_EDATA, "%s:%d:%d: invalid JSON: %s", path,
                        jerr.line + line_base, jerr.column, jerr.text);
}

/* Ids met so far while loading, to catch duplicates and leakage. */
struct seen_ctx {
    json_t *map;                       /* id -> [kind, index] */
    const char *files[SK_SPLIT_COUNT]; /* file of each kind already seen */
};

/*
 * Checks that every element of arr (from path, split kind) is an object
 * with a usable id and that no id repeats, neither within arr nor against
 * the ids already in seen.  *ids_out gets the ids as a new array of
 * json_array_size(arr) new strings.
 */

static int check_items(const char *path, json_t *arr, int kind,
                       struct seen_ctx *seen, char ***ids_out,
                       struct sk_error *err)
{
    size_t n = json_array_size(arr), i;
    char **ids = sk_calloc(n ? n : 1, sizeof *ids);
    int rc = SK_OK;
    *ids_out = NULL;
    if (!ids)
        return sk_error_set(err, SK_ENOMEM, "%s: out of memory", path);
    for (i = 0; i < n; i++) {
        json_t *item = json_array_get(arr, i), *prev, *where;
        rc = item_id_dup(item, &ids[i]);
        if (rc == SK_ENOMEM) {
            rc = sk_error_set(err, rc, "%s: out of memory", path);
            goto out;
        }
        if (rc != SK_OK) {
            if (!json_is_object(item))
                rc = sk_error_set(err, SK_EDATA,
                                  "%s: item %zu is a JSON %s, expected an "
                                  "object",
                                  path, i, json_type_name(item));
            else
                rc = sk_error_set(err, SK_EDATA,
                                  "%s: item %zu has no usable \"id\" (need a "
                                  "non-empty string or a number)",
                                  path, i);
            goto out;
        }
        prev = json_object_get(seen->map, ids[i]);
        if (prev) {
            int pk = (int)json_integer_value(json_array_get(prev, 0));
            size_t pi = (size_t)json_integer_value(json_array_get(prev, 1));
            if (pk == kind)
                rc = sk_error_set(err, SK_EDATA,
                                  "%s: duplicate id \"%.*s\" at items %zu "
                                  "and %zu",
                                  path, ID_SHOWN, ids[i], pi, i);
            else
                rc = sk_error_set(err, SK_EDATA,
                                  "%s: item %zu has id \"%.*s\", which is "
                                  "also item %zu of the %s split (%s): "
                                  "splits must not share items",
                                  path, i, ID_SHOWN, ids[i], pi, kind_names[pk],
                                  seen->files[pk]);
            goto out;
        }
        where = json_pack("[iI]", kind, (json_int_t)i);
        if (!where || json_object_set_new_nocheck(seen->map, ids[i], where)) {
            rc = sk_error_set(err, SK_ENOMEM, "%s: out of memory", path);
            goto out;
        }
    }
    seen->files[kind] = path;
    *ids_out = ids;
    ids = NULL;
out:
    if (ids) {
        for (i = 0; i < n; i++)
            sk_free(ids[i]);
        sk_free(ids);
    }
    return rc;
}

static void free_ids(char **ids, size_t n)
{
    size_t i;
    if (!ids)
        return;
    for (i = 0; i < n; i++)
        sk_free(ids[i]);
    sk_free(ids);
}

void sk_splits_release(struct sk_splits *s)
{
    int k;
    if (!s)
        return;
    for (k = 0; k < SK_SPLIT_COUNT; k++) {
        free_ids(s->ids[k], json_array_size(s->items[k]));
        json_decref(s->items[k]);
        sk_free(s->paths[k]);
    }
    sk_free(s->split_dir);
    sk_splits_init(s);
}

size_t sk_splits_count(const struct sk_splits *s, enum sk_split_kind k)
{
    return (unsigned)k < SK_SPLIT_COUNT ? json_array_size(s->items[k]) : 0;
}

struct json_t *sk_splits_item(const struct sk_splits *s, enum sk_split_kind k,
                              size_t i)
{
    if ((unsigned)k >= SK_SPLIT_COUNT)
        return NULL;
    return json_array_get(s->items[k], i);
}

const char *sk_split_item_id(const struct sk_splits *s, enum sk_split_kind k,
                             size_t i)
{
    if ((unsigned)k >= SK_SPLIT_COUNT || i >= sk_splits_count(s, k))
        return NULL;
    return s->ids[k][i];
}

/* A CSV record being read: its fields as JSON strings. */
struct csv_rec {
    json_t *fields; /* array of strings */
    int empty;      /* the record had no character at all (a blank line) */
};

/* Ends the field in f (bytes, UTF-8 checked) and appends it to rec. */
static int csv_push_field(const char *path, long line, struct sk_buf *f,
                          json_t *rec, struct sk_error *err)
{
    json_t *v;
    size_t bad;
    if (!sk_utf8_valid(sk_buf_cstr(f), f->len, &bad))
        return sk_error_set(err, SK_EDATA,
                            "%s:%ld: a field is not valid UTF-8 or holds a "
                            "NUL byte (byte %zu of the field)",
                            path, line, bad);
    v = json_stringn(sk_buf_cstr(f), f->len);
    if (!v || json_array_append_new(rec, v))
        return sk_error_set(err, SK_ENOMEM, "%s: out of memory", path);
    sk_buf_reset(f);
    return SK_OK;
}

/*
 * Reads one record starting at *pos into rec->fields (a new array), moving
 * *pos past its line end and counting lines in *line.  Python csv's excel
 * dialect: ',' separates, '"' quotes, "" in quotes is one quote, quoted
 * fields may hold separators and line breaks (kept as they are), text
 * after a closing quote joins the field, a quote inside an unquoted field
 * is literal.  An unterminated quoted field is SK_EDATA.
 */
static int csv_read_record(const char *path, const char *t, size_t len,
                           size_t *pos, long *line, struct csv_rec *rec,
                           struct sk_error *err)
{
    struct sk_buf f;
    size_t i = *pos;
    long start_line = *line;
    int rc = SK_OK, quoted = 0, any = 0;

    rec->empty = 0;
    rec->fields = json_array();
    if (!rec->fields)
        return sk_error_set(err, SK_ENOMEM, "%s: out of memory", path);
    sk_buf_init(&f, SK_BUF_UNLIMITED);
    while (i < len) {
        char c = t[i];
        if (quoted) {
            if (c == '"') {
                if (i + 1 < len && t[i + 1] == '"') {
                    rc = sk_buf_putc(&f, '"');
                    i += 2;
                } else {
                    quoted = 0;
                    i++;
                }
            } else {
                if (c == '\n' ||
                    (c == '\r' && !(i + 1 < len && t[i + 1] == '\n')))
                    (*line)++;
                rc = sk_buf_putc(&f, c);
                i++;
            }
            if (rc != SK_OK)
                break;
            continue;
        }
        if (c == '\r' || c == '\n')
            break; /* consumed after the last field is pushed */
        any = 1;
        if (c == ',') {
            rc = csv_push_field(path, *line, &f, rec->fields, err);
            if (rc != SK_OK)
                goto out;
            i++;
            continue;
        }
        if (c == '"' && f.len == 0 && (i == *pos || t[i - 1] == ',')) {
            quoted = 1; /* only a quote opening the field quotes it */
            i++;
            continue;
        }
        rc = sk_buf_putc(&f, c);
        if (rc != SK_OK)
            break;
        i++;
    }
    if (rc != SK_OK) {
        rc = sk_error_set(err, SK_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    if (quoted) {
        rc = sk_error_set(err, SK_EDATA,
                          "%s:%ld: a quoted field is never closed (no "
                          "closing '\"' before the end of the file)",
                          path, start_line);
        goto out;
    }
    if (!any) {
        rec->empty = 1;
    } else {
        rc = csv_push_field(path, *line, &f, rec->fields, err);
        if (rc != SK_OK)
            goto out;
    }
    if (i < len) { /* the line end: CRLF, LF or CR */
        i += (t[i] == '\r' && i + 1 < len && t[i + 1] == '\n') ? 2 : 1;
        (*line)++;
    }
    *pos = i;
out:
    sk_buf_release(&f);
    if (rc != SK_OK) {
        json_decref(rec->fields);
        rec->fields = NULL;
    }
    return rc;
}

int sk_split_parse_csv(const char *path, const char *text, size_t len,
                       struct json_t **out, struct sk_error *err)
{
    json_t *arr = json_array(), *header = NULL;
    size_t pos = 0, nh = 0, i;
    long line = 1;
    int rc = SK_OK, id_from = -1;

    *out = NULL;
    if (!arr)
        return sk_error_set(err, SK_ENOMEM, "%s: out of memory", path);
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        pos = 3; /* a UTF-8 byte order mark is not part of the header */
    while (pos < len) {
        struct csv_rec rec;
        json_t *obj;
        long rec_line = line;
        rc = csv_read_record(path, text, len, &pos, &line, &rec, err);
        if (rc != SK_OK)
            goto out;
        if (rec.empty) { /* csv.DictReader skips blank lines */
            json_decref(rec.fields);
            continue;
        }
        if (!header) {
            header = rec.fields;
            nh = json_array_size(header);
            for (i = 0; i < nh; i++) {
                const char *k = json_string_value(json_array_get(header, i));
                if (strcmp(k, "id") == 0) {
                    id_from = -2;
                    break;
                }
                if (strcmp(k, "questionId") == 0)
                    id_from = (int)i;
            }
            continue;
        }
        obj = json_object();
        if (!obj) {
            json_decref(rec.fields);
            rc = sk_error_set(err, SK_ENOMEM, "%s: out of memory", path);
            goto out;
        }
        /* missing trailing fields stay absent; extra ones are dropped */
        for (i = 0; i < nh && i < json_array_size(rec.fields); i++) {
            json_t *v = json_array_get(rec.fields, i);
            if (json_object_setn(
                    obj, json_string_value(json_array_get(header, i)),
                    json_string_length(json_array_get(header, i)), v) ||
                (id_from >= 0 && (size_t)id_from == i &&
                 json_object_set(obj, "id", v))) {
                rc = SK_ENOMEM;
                break;
            }
        }
        json_decref(rec.fields);
        if (rc == SK_OK && json_array_append_new(arr, obj))
            rc = SK_ENOMEM;
        else if (rc != SK_OK)
            json_decref(obj);
        if (rc != SK_OK) {
            rc = sk_error_set(err, rc, "%s:%ld: out of memory", path, rec_line);
            goto out;
        }
    }
    *out = arr;
    arr = NULL;
out:
    json_decref(header);
    json_decref(arr);
    return rc;
}

/* Finds and parses split_dir/<kind>/<first *.json> (else <first *.csv>)
 * into out. */
static int load_one_split(const char *split_dir, int kind,
                          struct sk_splits *out, struct seen_ctx *seen,
                          struct sk_error *err)
{
    char *dir = sk_fs_join(split_dir, kind_names[kind]), *first = NULL;
    struct sk_buf b;
    json_t *arr = NULL;
    size_t count;
    int rc, is_csv = 0;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (!dir) {
        rc = sk_error_set(err, SK_ENOMEM, "%s: out of memory", split_dir);
        goto out;
    }
    if (!sk_fs_is_dir(dir)) {
        rc = sk_error_set(err, SK_EDATA,
                          "%s: missing '%s/' subdirectory in split_dir", dir,
                          kind_names[kind]);
        goto out;
    }
    rc = scan_dir(dir, ".json", &count, &first, err);
    if (rc == SK_OK && !first) {
        is_csv = 1; /* the reference's CSV-only loaders (DocVQA) */
        rc = scan_dir(dir, ".csv", &count, &first, err);
    }
    if (rc)
        goto out;
    if (!first) {
        rc = sk_error_set(err, SK_EDATA,
                          "%s: no .json file (and no .csv file) in split "
                          "directory",
                          dir);
        goto out;
    }
    out->paths[kind] = sk_fs_join(dir, first);
    if (!out->paths[kind]) {
        rc = sk_error_set(err, SK_ENOMEM, "%s: out of memory", dir);
        goto out;
    }
    rc = read_capped(out->paths[kind], &b, err);
    if (rc)
        goto out;
    if (is_csv)
        rc = sk_split_parse_csv(out->paths[kind], sk_buf_cstr(&b), b.len, &arr,
                                err);
    else
        rc = parse_json(out->paths[kind], sk_buf_cstr(&b), b.len, 0, &arr, err);
    if (rc)
        goto out;
    if (!json_is_array(arr)) {
        rc = sk_error_set(err, SK_EDATA,
                          "%s: expected a JSON array of items, got a JSON %s",
                          out->paths[kind], json_type_name(arr));
        goto out;
    }
    rc = check_items(out->paths[kind], arr, kind, seen, &out->ids[kind], err);
    if (rc)
        goto out;
    out->items[kind] = arr;
    arr = NULL;
out:
    json_decref(arr);
    sk_buf_release(&b);
    sk_free(first);
    sk_free(dir);
    return rc;
}

/* Keeps the first limit items of each split (limit > 0). */
static void apply_limit(struct sk_splits *s, long limit)
{
    int k;
    if (limit <= 0)
        return;
    for (k = 0; k < SK_SPLIT_COUNT; k++) {
        size_t n = json_array_size(s->items[k]);
        while (n > (size_t)limit) {
            n--;
            sk_free(s->ids[k][n]);
            s->ids[k][n] = NULL;
            json_array_remove(s->items[k], n);
        }
    }
}

static int load_split_dir(const char *split_dir, long limit,
                          struct sk_splits *out, struct sk_error *err)
{
    struct seen_ctx seen;
    int rc = SK_OK, k;
    memset(&seen, 0, sizeof seen);
    seen.map = json_object();
    if (!seen.map)
        return sk_error_set(err, SK_ENOMEM, "%s: out of memory", split_dir);
    for (k = 0; k < SK_SPLIT_COUNT && rc == SK_OK; k++)
        rc = load_one_split(split_dir, k, out, &seen, err);
    json_decref(seen.map);
    if (rc)
        return rc;
    apply_limit(out, limit);
    if (sk_splits_count(out, SK_SPLIT_TRAIN) == 0)
        return sk_error_set(err, SK_EDATA, "%s: the train split is empty",
                            out->paths[SK_SPLIT_TRAIN]);
    if (sk_splits_count(out, SK_SPLIT_VAL) == 0)
        return sk_error_set(err, SK_EDATA,
                            "%s: the val (selection) split is empty; the "
                            "validation gate needs at least one item",
                            out->paths[SK_SPLIT_VAL]);
    return SK_OK;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

/* Parses text as JSON Lines, one value per non-blank line. */
static int parse_jsonl(const char *path, const char *text, size_t len,
                       json_t **out, struct sk_error *err)
{
    json_t *arr = json_array(), *v;
    size_t pos = 0;
    int lineno = 0, rc = SK_OK;
    *out = NULL;
    if (!arr)
        return sk_error_set(err, SK_ENOMEM, "%s: out of memory", path);
    while (pos < len) {
        size_t start = pos, end;
        while (pos < len && text[pos] != '\n' && text[pos] != '\r')
            pos++;
        end = pos;
        /* "\r\n" ends one line, a lone '\r' another, as in splitlines(). */
        if (pos < len && text[pos] == '\r' && pos + 1 < len &&
            text[pos + 1] == '\n')
            pos++;
        if (pos < len)
            pos++;
        lineno++;
        while (start < end && is_space(text[start]))
            start++;
        while (end > start && is_space(text[end - 1]))
            end--;
        if (start == end)
            continue;
        rc = parse_json(path, text + start, end - start, lineno - 1, &v, err);
        if (rc)
            goto out;
        if (json_array_append_new(arr, v)) {
            rc = sk_error_set(err, SK_ENOMEM, "%s: out of memory", path);
            goto out;
        }
    }
    *out = arr;
    arr = NULL;
out:
    json_decref(arr);
    return rc;
}

/*
 * Reads the raw items of ratio mode: a JSON array; a JSON object unwrapped
 * through its "data" array or else its values; anything else as JSONL.
 * *file gets the file actually read (new string).
 */
static int load_raw_items(const char *data_path, json_t **items, char **file,
                          struct sk_error *err)
{
    struct sk_buf b;
    json_t *doc = NULL, *arr = NULL;
    json_error_t jerr;
    char *first = NULL;
    const char *text;
    size_t len, n;
    int rc = SK_OK, k;
    *items = NULL;
    *file = NULL;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (sk_fs_is_dir(data_path)) {
        size_t njson, njsonl;
        for (k = 0; k < SK_SPLIT_COUNT; k++) {
            char *sub = sk_fs_join(data_path, kind_names[k]);
            int is_split = sub && sk_fs_is_dir(sub);
            sk_free(sub);
            if (!sub) {
                rc = sk_error_set(err, SK_ENOMEM, "out of memory");
                goto out;
            }
            if (is_split) {
                rc = sk_error_set(err, SK_ECONFIG,
                                  "%s: data_path is a split directory (has "
                                  "%s/); use split_mode: split_dir with "
                                  "split_dir instead",
                                  data_path, kind_names[k]);
                goto out;
            }
        }
        char *first_jsonl = NULL;
        rc = scan_dir(data_path, ".json", &njson, &first, err);
        if (rc == SK_OK)
            rc = scan_dir(data_path, ".jsonl", &njsonl, &first_jsonl, err);
        if (rc == SK_OK && !first) {
            first = first_jsonl;
            first_jsonl = NULL;
        }
        sk_free(first_jsonl);
        if (rc)
            goto out;
        if (njson + njsonl != 1) {
            rc = sk_error_set(err, SK_EDATA,
                              "%s: expected exactly one .json or .jsonl file "
                              "in data_path, found %zu",
                              data_path, njson + njsonl);
            goto out;
        }
        *file = sk_fs_join(data_path, first);
    } else {
        *file = sk_strdup(data_path);
    }
    if (!*file) {
        rc = sk_error_set(err, SK_ENOMEM, "%s: out of memory", data_path);
        goto out;
    }
    rc = read_capped(*file, &b, err);
    if (rc)
        goto out;
    text = sk_buf_cstr(&b);
    len = b.len;
    while (len && is_space(*text)) {
        text++;
        len--;
    }
    while (len && is_space(text[len - 1]))
        len--;
    if (len) {
        doc = sk_json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
        if (!doc && sk_json_oom(&jerr)) {
            rc = sk_error_set(err, SK_ENOMEM, "%s: out of memory", *file);
            goto out;
        }
    }
    if (json_is_array(doc)) {
        arr = json_incref(doc);
    } else if (json_is_object(doc)) {
        json_t *nested = json_object_get(doc, "data"), *v;
        const char *key;
        if (json_is_array(nested)) {
            arr = json_incref(nested);
        } else {
            arr = json_array();
            if (!arr) {
                rc = sk_error_set(err, SK_ENOMEM, "%s: out of memory", *file);
                goto out;
            }
            json_object_foreach(doc, key, v)
            {
                if (json_array_append(arr, v)) {
                    rc = sk_error_set(err, SK_ENOMEM, "%s: out of memory",
                                      *file);
                    goto out;
                }
            }
        }
    } else if (len) {
        rc = parse_jsonl(*file, sk_buf_cstr(&b), b.len, &arr, err);
        if (rc)
            goto out;
    }
    n = json_array_size(arr);
    if (n == 0) {
        rc = sk_error_set(err, SK_EDATA, "%s: no raw items for the ratio split",
                          *file);
        goto out;
    }
    *items = arr;
    arr = NULL;
out:
    json_decref(arr);
    json_decref(doc);
    sk_buf_release(&b);
    sk_free(first);
    if (rc) {
        sk_free(*file);
        *file = NULL;
    }
    return rc;
}

static int dump_cb(const char *buffer, size_t size, void *data)
{
    return sk_buf_append(data, buffer, size) == SK_OK ? 0 : -1;
}

/* Writes v as indented JSON (non-ASCII kept as UTF-8) to path. */
static int write_json(const char *path, const json_t *v, struct sk_error *err)
{
    struct sk_buf b;
    int rc;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (json_dump_callback(v, dump_cb, &b, JSON_INDENT(2)) != 0) {
        rc = sk_error_set(err, SK_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    rc = sk_fs_write_atomic(path, sk_buf_cstr(&b), b.len, err);
out:
    sk_buf_release(&b);
    return rc;
}

/* The ratio-mode output directory into *dir (new string). */
static int ratio_output_dir(const struct sk_split_opts *o, const char *ratio,
                            int64_t split_seed, char **dir,
                            struct sk_error *err)
{
    struct sk_buf name;
    char *root = NULL;
    const char *p;
    int rc;
    *dir = NULL;
    if (o->split_output_dir && *o->split_output_dir)
        return abspath(o->split_output_dir, dir, err);
    if (!o->env_name || !*o->env_name)
        return sk_error_set(err, SK_ECONFIG,
                            "ratio split needs env_name or split_output_dir "
                            "to name its output directory");
    sk_buf_init(&name, SK_BUF_UNLIMITED);
    rc = abspath(o->out_root && *o->out_root ? o->out_root : ".", &root, err);
    if (rc)
        goto out;
    rc = sk_buf_printf(&name, "_generated_splits/%s_", o->env_name);
    for (p = ratio; *p && rc == SK_OK; p++)
        rc = sk_buf_putc(&name, *p == ':' ? '-' : *p);
    if (rc == SK_OK)
        rc = sk_buf_printf(&name, "_seed%" PRId64, split_seed);
    if (rc == SK_OK && !(*dir = sk_fs_join(root, sk_buf_cstr(&name))))
        rc = SK_ENOMEM;
    if (rc)
        rc = sk_error_set(err, rc, "%s: out of memory", root);
out:
    sk_buf_release(&name);
    sk_free(root);
    return rc;
}

/* Appends the items idx[from..to) of raw to a new array and writes it. */
static int write_part(const char *dir, int kind, json_t *raw, const size_t *idx,
                      size_t from, size_t to, struct sk_error *err)
{
    char *sub = sk_fs_join(dir, kind_names[kind]), *path = NULL;
    json_t *arr = json_array();
    size_t i;
    int rc;
    if (!sub || !arr || !(path = sk_fs_join(sub, "items.json"))) {
        rc = sk_error_set(err, SK_ENOMEM, "%s: out of memory", dir);
        goto out;
    }
    for (i = from; i < to; i++) {
        if (json_array_append(arr, json_array_get(raw, idx[i]))) {
            rc = sk_error_set(err, SK_ENOMEM, "%s: out of memory", dir);
            goto out;
        }
    }
    rc = sk_fs_mkdirs(sub, err);
    if (rc == SK_OK)
        rc = write_json(path, arr, err);
out:
    json_decref(arr);
    sk_free(path);
    sk_free(sub);
    return rc;
}

/*
 * Ratio mode: shuffles the raw items with random.Random(split_seed), cuts
 * them and writes {train,val,test}/items.json and split_manifest.json.
 * *dir_out gets the directory written (new string).
 */
static int materialize_ratio(const struct sk_split_opts *o, char **dir_out,
                             struct sk_error *err)
{
    const char *ratio =
        o->split_ratio && *o->split_ratio ? o->split_ratio : "2:1:7";
    int64_t split_seed = o->split_seed ? o->split_seed : o->seed;
    char *data_path = NULL, *file = NULL, *dir = NULL, *mpath = NULL;
    json_t *raw = NULL, *manifest = NULL;
    struct seen_ctx seen;
    struct sk_pyrandom rng;
    char **ids = NULL;
    size_t *idx = NULL, n = 0, cnt[SK_SPLIT_COUNT], i, from;
    long w[SK_SPLIT_COUNT];
    int rc, k;
    memset(&seen, 0, sizeof seen);
    *dir_out = NULL;
    if (!o->data_path || !*o->data_path)
        return sk_error_set(err, SK_ECONFIG,
                            "split_mode ratio needs data_path");
    rc = sk_split_ratio_parse(ratio, w, err);
    if (rc)
        return rc;
    rc = abspath(o->data_path, &data_path, err);
    if (rc)
        return rc;
    rc = load_raw_items(data_path, &raw, &file, err);
    if (rc)
        goto out;
    n = json_array_size(raw);
    seen.map = json_object();
    idx = sk_malloc(n * sizeof *idx);
    if (!seen.map || !idx) {
        rc = sk_error_set(err, SK_ENOMEM, "%s: out of memory", file);
        goto out;
    }
    /* Raw items must already be distinct, or the cut would leak. */
    rc = check_items(file, raw, SK_SPLIT_TRAIN, &seen, &ids, err);
    if (rc)
        goto out;
    for (i = 0; i < n; i++)
        idx[i] = i;
    sk_pyrandom_seed(&rng, split_seed);
    sk_pyrandom_shuffle(&rng, idx, n, sizeof *idx);
    sk_split_counts(n, w, cnt);

    rc = ratio_output_dir(o, ratio, split_seed, &dir, err);
    if (rc == SK_OK)
        rc = sk_fs_mkdirs(dir, err);
    for (k = 0, from = 0; k < SK_SPLIT_COUNT && rc == SK_OK; k++) {
        rc = write_part(dir, k, raw, idx, from, from + cnt[k], err);
        from += cnt[k];
    }
    if (rc)
        goto out;
    manifest = json_pack(
        "{s:s, s:s, s:s, s:I, s:{s:I, s:I, s:I}}", "source_data_path",
        data_path, "split_mode", "ratio", "split_ratio", ratio, "split_seed",
        (json_int_t)split_seed, "counts", "train", (json_int_t)cnt[0], "val",
        (json_int_t)cnt[1], "test", (json_int_t)cnt[2]);
    mpath = sk_fs_join(dir, "split_manifest.json");
    if (!manifest || !mpath) {
        rc = sk_error_set(err, SK_ENOMEM, "%s: out of memory", dir);
        goto out;
    }
    rc = write_json(mpath, manifest, err);
    if (rc)
        goto out;
    *dir_out = dir;
    dir = NULL;
out:
    free_ids(ids, n);
    json_decref(seen.map);
    json_decref(manifest);
    json_decref(raw);
    sk_free(idx);
    sk_free(mpath);
    sk_free(dir);
    sk_free(file);
    sk_free(data_path);
    return rc;
}

/* Case-insensitive comparison of mode, ignoring surrounding blanks. */
static int mode_is(const char *mode, const char *want)
{
    size_t n;
    while (is_space(*mode))
        mode++;
    n = strlen(mode);
    while (n && is_space(mode[n - 1]))
        n--;
    return n == strlen(want) && strncasecmp(mode, want, n) == 0;
}

int sk_splits_load(const struct sk_split_opts *o, struct sk_splits *out,
                   struct sk_error *err)
{
    const char *mode = o->mode && *o->mode ? o->mode : "ratio";
    int rc;
    sk_splits_init(out);
    if (o->limit < 0)
        return sk_error_set(err, SK_ECONFIG, "limit must be >= 0, got %ld",
                            o->limit);
    if (mode_is(mode, "split_dir")) {
        if (!o->split_dir || !*o->split_dir)
            return sk_error_set(err, SK_ECONFIG,
                                "split_mode split_dir needs split_dir "
                                "(a directory with train/, val/, test/)");
        out->split_dir = sk_strdup(o->split_dir);
        if (!out->split_dir)
            return sk_error_set(err, SK_ENOMEM, "out of memory");
    } else if (mode_is(mode, "ratio")) {
        rc = materialize_ratio(o, &out->split_dir, err);
        if (rc)
            return rc;
    } else {
        return sk_error_set(err, SK_ECONFIG,
                            "split_mode must be 'ratio' or 'split_dir', got "
                            "'%s'",
                            mode);
    }
    rc = load_split_dir(out->split_dir, o->limit, out, err);
    if (rc)
        sk_splits_release(out);
    return rc;
}
