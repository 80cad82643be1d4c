/*
 * userbench.c - benchmarks described in a YAML file (benches.h; the format
 * is in docs/benchmarks.md, "Defining a benchmark in YAML").  The file is
 * read and checked once, every problem reported as "file:line:col: field:
 * what"; items then become prompts through the file's templates and replies
 * become scores through its extraction and scorer (userbench_score.c).
 */
#include "common.h"

#include "bench/benches.h"

#include <jansson.h>
#include <libfyaml.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bench/choice.h"
#include "bench/score.h"
#include "bench/userbench.h"
#include "config/yaml.h"
#include "train/bench.h"
#include "train/prompt.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/log.h"

/* Largest benchmark YAML file read, in bytes. */
#define MAX_YAML (1024 * 1024)
/* Most options of a choice item (labels A to Z). */
#define MAX_CHOICES 26
/* Longest option label of a choice item, in bytes. */
#define MAX_LABEL 32
/* Longest benchmark name. */
#define MAX_NAME 64
/* Longest tag name of extract.tag. */
#define MAX_TAG 32

/* Placeholders every template may use besides the item's fields. */
static const char *const reserved[] = {"skill_section", "skill", "id",
                                       "choice_list"};
enum { R_SKILL_SECTION, R_SKILL, R_ID, R_CHOICE_LIST, N_RESERVED };

static const char *const scorer_names[] = {
    "em", "f1", "anls", "numeric", "choice", "contains", "command"};

struct ub {
    struct sk_bench bench; /* handed out; bench.data points back here */
    char *name;            /* the benchmark's name (prompts subdir) */
    char *path;            /* the YAML file as given */
    char *dir;             /* its directory: relative files and the
                              scorer command's working directory */
    char *tmpl[2];         /* system and user templates */
    char *names;           /* item fields the templates use, each
                              NUL-terminated, one after the other */
    size_t n_names;
    char *f_question;        /* item field with the question, or NULL */
    char *f_answers;         /* item field with the gold answer(s) */
    char *f_choices;         /* item field with the options, or NULL */
    int golds_optional;      /* command scorer: the gold field may be absent */
    struct sk_ub_extract ex; /* how the answer is found */
    struct sk_ub_scorer sc;  /* how it is scored */
    int on_error_zero;       /* a failing scorer command scores 0 */
    char *guidance;          /* analyst guidance text, or NULL */
    char *skill_init;        /* initial skill path, or NULL */
};

/* ---- reading the YAML --------------------------------------------------- */

/* The file being read and where errors go. */
struct yr {
    const char *path;
    struct sk_error *err;
};

/* A mapping of the file: its node, the key it hangs from and its name. */
struct sect {
    struct fy_node *map; /* NULL: absent */
    struct fy_node *key; /* NULL at the top level */
    const char *name;    /* "scorer", or "" at the top level */
};

/* "path:line:col" of a scalar node, "path:1:1" without one. */
static void node_loc(const struct yr *y, struct fy_node *n, char *buf,
                     size_t cap)
{
    struct fy_token *t = n ? fy_node_get_scalar_token(n) : NULL;
    const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
    if (m)
        snprintf(buf, cap, "%s:%d:%d", y->path, m->line + 1, m->column + 1);
    else
        snprintf(buf, cap, "%s:1:1", y->path);
}

/* SK_ECONFIG with "loc: field: message"; at is the node to point at. */
static int SK_PRINTF(5, 6)
    yerr(const struct yr *y, struct fy_node *at, const struct sect *s,
         const char *key, const char *fmt, ...)
{
    char loc[4200], msg[700];
    va_list ap;

    node_loc(y, at, loc, sizeof loc);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (key)
        return sk_error_set(y->err, SK_ECONFIG, "%s: %s%s%s: %s", loc,
                            s && *s->name ? s->name : "",
                            s && *s->name ? "." : "", key, msg);
    return sk_error_set(y->err, SK_ECONFIG, "%s: %s: %s", loc,
                        s && *s->name ? s->name : "(top level)", msg);
}

static int oom(const struct yr *y)
{
    return sk_error_set(y->err, SK_ENOMEM, "%s: out of memory", y->path);
}

/* A missing value, or a plain ~ / null / Null / NULL / empty scalar. */
static int is_null(struct fy_node *v)
{
    size_t len = 0;
    const char *t;
    if (!v)
        return 1;
    if (!fy_node_is_scalar(v) || fy_node_get_style(v) != FYNS_PLAIN)
        return 0;
    t = fy_node_get_scalar(v, &len);
    return !t || len == 0 || (len == 1 && t[0] == '~') ||
           (len == 4 && (!memcmp(t, "null", 4) || !memcmp(t, "Null", 4) ||
                         !memcmp(t, "NULL", 4)));
}

/* Levenshtein distance of two short strings (capped at 9). */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), i, j, row[33], prev, tmp;
    if (la > 32 || lb > 32)
        return 9;
    for (j = 0; j <= lb; j++)
        row[j] = j;
    for (i = 1; i <= la; i++) {
        prev = row[0];
        row[0] = i;
        for (j = 1; j <= lb; j++) {
            size_t best = prev + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            tmp = row[j];
            row[j] = best;
            prev = tmp;
        }
    }
    return row[lb];
}

/* Every key of s must be in allowed (NULL-terminated). */
static int check_keys(const struct yr *y, const struct sect *s,
                      const char *const *allowed)
{
    struct fy_node_pair *p;
    void *it = NULL;

    if (!s->map)
        return SK_OK;
    while ((p = fy_node_mapping_iterate(s->map, &it)) != NULL) {
        struct fy_node *k = fy_node_pair_key(p);
        const char *best = NULL, *text;
        size_t len = 0, i, d = 3;
        char key[80];
        if (!k || !fy_node_is_scalar(k))
            return yerr(y, s->key, s, NULL, "keys must be plain names");
        text = fy_node_get_scalar(k, &len);
        snprintf(key, sizeof key, "%.*s", (int)(len < 79 ? len : 79),
                 text ? text : "");
        for (i = 0; allowed[i]; i++) {
            size_t di;
            if (strcmp(key, allowed[i]) == 0)
                break;
            di = distance(key, allowed[i]);
            if (di < d) {
                d = di;
                best = allowed[i];
            }
        }
        if (allowed[i])
            continue;
        if (best)
            return yerr(y, k, s, key, "unknown key (did you mean '%s'?)", best);
        return yerr(y, k, s, key, "unknown key");
    }
    return SK_OK;
}

/* The value of key in s (NULL when absent); *keyn gets the key node. */
static struct fy_node *lookup(const struct sect *s, const char *key,
                              struct fy_node **keyn)
{
    struct fy_node_pair *p =
        s->map ? fy_node_mapping_lookup_pair_by_string(s->map, key, FY_NT)
               : NULL;
    *keyn = p ? fy_node_pair_key(p) : s->key;
    return p ? fy_node_pair_value(p) : NULL;
}

/* The sub-mapping key of s ({NULL} when absent or null). */
static int get_sect(const struct yr *y, const struct sect *s, const char *key,
                    int required, struct sect *out)
{
    struct fy_node *k, *v = lookup(s, key, &k);
    out->map = NULL;
    out->key = k;
    out->name = key;
    if (is_null(v)) {
        if (required)
            return yerr(y, k, s, NULL, "missing key '%s'", key);
        return SK_OK;
    }
    if (!fy_node_is_mapping(v))
        return yerr(y, k, s, key, "expected a mapping of keys");
    out->map = v;
    return SK_OK;
}

/* What a node is, for "expected X, found Y". */
static const char *kind_of(struct fy_node *v)
{
    return fy_node_is_mapping(v)    ? "a mapping"
           : fy_node_is_sequence(v) ? "a list"
                                    : "a value";
}

/* A string value: *out is a new string, or NULL when absent (or null). */
static int get_str(const struct yr *y, const struct sect *s, const char *key,
                   int required, char **out, struct fy_node **at)
{
    struct fy_node *k, *v = lookup(s, key, &k);
    const char *t;
    size_t len = 0;

    *out = NULL;
    if (at)
        *at = v && fy_node_is_scalar(v) ? v : k;
    if (is_null(v)) {
        if (required)
            return yerr(y, k, s, key, "missing (a string is required)");
        return SK_OK;
    }
    if (!fy_node_is_scalar(v))
        return yerr(y, k, s, key, "expected a string, found %s", kind_of(v));
    t = fy_node_get_scalar(v, &len);
    if (t && memchr(t, '\0', len))
        return yerr(y, v, s, key, "contains a NUL byte");
    *out = sk_strndup(t ? t : "", t ? len : 0);
    return *out ? SK_OK : oom(y);
}

/* A number in [lo, hi] (lo excluded when lo_open); *present says whether
 * it was given. */
static int get_num(const struct yr *y, const struct sect *s, const char *key,
                   double lo, int lo_open, double hi, double *out, int *present)
{
    struct fy_node *at;
    char *t, *end;
    double d;
    int rc = get_str(y, s, key, 0, &t, &at);

    *present = 0;
    if (rc != SK_OK || !t)
        return rc;
    d = strtod(t, &end);
    if (end == t || *end || !(d == d)) {
        rc = yerr(y, at, s, key, "expected a number, found '%s'", t);
    } else if ((d < lo || d > hi || (lo_open && d == lo)) && hi >= 1e300) {
        rc = yerr(y, at, s, key, "%g is out of range (it must be %s %g)", d,
                  lo_open ? "more than" : "at least", lo);
    } else if (d < lo || d > hi || (lo_open && d == lo)) {
        rc = yerr(y, at, s, key, "%g is out of range (%s%g, %g]", d,
                  lo_open ? "" : "from ", lo, hi);
    } else {
        *out = d;
        *present = 1;
    }
    sk_free(t);
    return rc;
}

/* true/false (any case); *out unchanged when absent. */
static int get_bool(const struct yr *y, const struct sect *s, const char *key,
                    int *out)
{
    struct fy_node *at;
    char *t;
    int rc = get_str(y, s, key, 0, &t, &at);
    if (rc != SK_OK || !t)
        return rc;
    if (strcasecmp(t, "true") == 0)
        *out = 1;
    else if (strcasecmp(t, "false") == 0)
        *out = 0;
    else
        rc = yerr(y, at, s, key, "expected true or false, found '%s'", t);
    sk_free(t);
    return rc;
}

/* One of names[0..n) (index in *out); *out unchanged when absent. */
static int get_enum(const struct yr *y, const struct sect *s, const char *key,
                    const char *const *names, size_t n, int *out)
{
    struct fy_node *at;
    struct sk_buf list;
    char *t;
    size_t i;
    int rc = get_str(y, s, key, 0, &t, &at);

    if (rc != SK_OK || !t)
        return rc;
    for (i = 0; i < n; i++)
        if (strcmp(t, names[i]) == 0) {
            *out = (int)i;
            sk_free(t);
            return SK_OK;
        }
    sk_buf_init(&list, 1024);
    for (i = 0; i < n; i++)
        sk_buf_printf(&list, "%s%s", i ? ", " : "", names[i]);
    rc = yerr(y, at, s, key, "unknown value '%s' (one of: %s)", t,
              sk_buf_cstr(&list));
    sk_buf_release(&list);
    sk_free(t);
    return rc;
}

/* A key that only means something with another setting. */
static int not_here(const struct yr *y, const struct sect *s, const char *key,
                    const char *why)
{
    struct fy_node *k, *v = lookup(s, key, &k);
    if (!v)
        return SK_OK;
    return yerr(y, k, s, key, "only used %s", why);
}

/* A path of the file: relative to the YAML file's directory. */
static char *resolve(const struct ub *u, const char *rel)
{
    return rel[0] == '/' ? sk_strdup(rel) : sk_fs_join(u->dir, rel);
}

/* A benchmark name: [A-Za-z0-9_-], at most MAX_NAME bytes. */
static int valid_name(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= MAX_NAME &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789_-") == n;
}

static int read_name(struct ub *u, const struct yr *y, const struct sect *top,
                     const char *name)
{
    struct fy_node *at;
    char *own = NULL;
    int rc = get_str(y, top, "name", 1, &own, &at);

    if (rc != SK_OK)
        return rc;
    if (!valid_name(own))
        rc = yerr(y, at, top, "name",
                  "'%s' is not a benchmark name (letters, digits, '_' and "
                  "'-', at most %d)",
                  own, MAX_NAME);
    else if (name && *name && !valid_name(name))
        rc = sk_error_set(y->err, SK_ECONFIG,
                          "env.name: '%s' is not a benchmark name (letters, "
                          "digits, '_' and '-')",
                          name);
    if (rc != SK_OK) {
        sk_free(own);
        return rc;
    }
    if (name && *name) {
        sk_free(own);
        own = sk_strdup(name);
        if (!own)
            return oom(y);
    }
    if (sk_bench_find(own) && name && *name) {
        rc = sk_error_set(y->err, SK_ECONFIG,
                          "env.name: '%s' is a built-in benchmark; name the "
                          "benchmark of %s differently, or leave env.name "
                          "empty to use its own name",
                          own, y->path);
        sk_free(own);
        return rc;
    }
    if (sk_bench_find(own)) {
        rc = yerr(y, at, top, "name",
                  "'%s' is a built-in benchmark; give the YAML benchmark a "
                  "name of its own",
                  own);
        sk_free(own);
        return rc;
    }
    u->name = own;
    return SK_OK;
}

static int read_scorer(struct ub *u, const struct yr *y, const struct sect *top)
{
    static const char *const keys[] = {
        "type",    "hard_threshold", "abs_tol",  "rel_tol",
        "command", "timeout",        "on_error", NULL};
    static const char *const on_error[] = {"stop", "zero"};
    struct sect s;
    struct fy_node *k, *v;
    double d;
    int rc, kind = -1, present, oe = 0;

    if ((rc = get_sect(y, top, "scorer", 1, &s)) != SK_OK ||
        (rc = check_keys(y, &s, keys)) != SK_OK)
        return rc;
    if (!lookup(&s, "type", &k))
        return yerr(y, s.key, &s, "type",
                    "missing (one of: em, f1, anls, "
                    "numeric, choice, contains, "
                    "command)");
    rc = get_enum(y, &s, "type", scorer_names, SK_ARRAY_LEN(scorer_names),
                  &kind);
    if (rc != SK_OK)
        return rc;
    u->sc.kind = (enum sk_ub_kind)kind;
    u->sc.threshold = kind == SK_UB_ANLS ? 0.999 : 1.0;
    if ((rc = get_num(y, &s, "hard_threshold", 0.0, 1, 1.0, &d, &present)) !=
        SK_OK)
        return rc;
    if (present)
        u->sc.threshold = d;
    if (kind == SK_UB_NUMERIC) {
        if ((rc = get_num(y, &s, "abs_tol", 0.0, 0, 1e300, &u->sc.abs_tol,
                          &present)) != SK_OK ||
            (rc = get_num(y, &s, "rel_tol", 0.0, 0, 1e300, &u->sc.rel_tol,
                          &present)) != SK_OK)
            return rc;
    } else if ((rc = not_here(y, &s, "abs_tol", "with type: numeric")) !=
                   SK_OK ||
               (rc = not_here(y, &s, "rel_tol", "with type: numeric")) !=
                   SK_OK) {
        return rc;
    }
    if (kind != SK_UB_COMMAND) {
        if ((rc = not_here(y, &s, "command", "with type: command")) != SK_OK ||
            (rc = not_here(y, &s, "timeout", "with type: command")) != SK_OK ||
            (rc = not_here(y, &s, "on_error", "with type: command")) != SK_OK)
            return rc;
        return SK_OK;
    }
    v = lookup(&s, "command", &k);
    if (is_null(v))
        return yerr(y, k, &s, "command",
                    "missing: the program and its arguments as a list, e.g. "
                    "[python3, score.py]");
    if (!fy_node_is_sequence(v) || fy_node_sequence_item_count(v) < 1)
        return yerr(y, fy_node_is_scalar(v) ? v : k, &s, "command",
                    "expected a non-empty list of arguments, e.g. [python3, "
                    "score.py] (it is run without a shell)");
    {
        size_t n = (size_t)fy_node_sequence_item_count(v), i = 0;
        struct fy_node *item;
        void *it = NULL;
        u->sc.argv = sk_calloc(n + 1, sizeof *u->sc.argv);
        if (!u->sc.argv)
            return oom(y);
        while ((item = fy_node_sequence_iterate(v, &it)) != NULL) {
            const char *t;
            size_t len = 0;
            if (!fy_node_is_scalar(item))
                return yerr(y, k, &s, "command",
                            "argument %zu is %s, not a string", i + 1,
                            kind_of(item));
            t = fy_node_get_scalar(item, &len);
            if (!t || len == 0 || memchr(t, '\0', len))
                return yerr(y, item, &s, "command",
                            "argument %zu is empty or holds a NUL byte", i + 1);
            u->sc.argv[i] = sk_strndup(t, len);
            if (!u->sc.argv[i++])
                return oom(y);
        }
    }
    u->sc.cwd = sk_strdup(u->dir);
    if (!u->sc.cwd)
        return oom(y);
    u->sc.timeout_ms = 30000;
    if ((rc = get_num(y, &s, "timeout", 0.0, 1, 3600.0, &d, &present)) != SK_OK)
        return rc;
    if (present)
        u->sc.timeout_ms =
            (long)(d * 1000.0 + 0.5) > 0 ? (long)(d * 1000.0 + 0.5) : 1;
    rc = get_enum(y, &s, "on_error", on_error, 2, &oe);
    u->on_error_zero = oe == 1;
    u->golds_optional = 1;
    return rc;
}

static int read_fields(struct ub *u, const struct yr *y, const struct sect *top)
{
    static const char *const keys[] = {"id", "question", "answers", "choices",
                                       NULL};
    struct sect s;
    struct fy_node *at;
    char *id = NULL;
    int rc;

    if ((rc = get_sect(y, top, "fields", 0, &s)) != SK_OK ||
        (rc = check_keys(y, &s, keys)) != SK_OK)
        return rc;
    rc = get_str(y, &s, "id", 0, &id, &at);
    if (rc == SK_OK && id && strcmp(id, "id") != 0)
        rc = yerr(y, at, &s, "id",
                  "must be 'id': the split loader, the rollout and "
                  "results.jsonl key items by their \"id\" field (rename "
                  "the field in items.json)");
    sk_free(id);
    if (rc == SK_OK)
        rc = get_str(y, &s, "question", 0, &u->f_question, NULL);
    if (rc == SK_OK)
        rc = get_str(y, &s, "answers", 0, &u->f_answers, NULL);
    if (rc == SK_OK)
        rc = get_str(y, &s, "choices", 0, &u->f_choices, NULL);
    if (rc != SK_OK)
        return rc;
    if ((!u->f_question && !(u->f_question = sk_strdup("question"))) ||
        (!u->f_answers && !(u->f_answers = sk_strdup("answers"))) ||
        (!u->f_choices && u->sc.kind == SK_UB_CHOICE &&
         !(u->f_choices = sk_strdup("choices"))))
        return oom(y);
    return SK_OK;
}

static int read_extract(struct ub *u, const struct yr *y,
                        const struct sect *top)
{
    static const char *const keys[] = {"mode",     "tag",         "occurrence",
                                       "pattern",  "ignore_case", "path",
                                       "fallback", NULL};
    static const char *const modes[] = {"tag", "regex", "last_line", "json",
                                        "full"};
    static const char *const occ[] = {"first", "last"};
    static const char *const fbs[] = {"none", "last_line", "full"};
    struct sect s;
    struct fy_node *at;
    int rc, mode = SK_UB_TAG, last = 1, fb = SK_UB_FB_NONE, icase = 0;

    if ((rc = get_sect(y, top, "extract", 0, &s)) != SK_OK ||
        (rc = check_keys(y, &s, keys)) != SK_OK ||
        (rc = get_enum(y, &s, "mode", modes, 5, &mode)) != SK_OK ||
        (rc = get_enum(y, &s, "occurrence", occ, 2, &last)) != SK_OK ||
        (rc = get_enum(y, &s, "fallback", fbs, 3, &fb)) != SK_OK ||
        (rc = get_bool(y, &s, "ignore_case", &icase)) != SK_OK)
        return rc;
    u->ex.mode = (enum sk_ub_mode)mode;
    u->ex.last = last;
    u->ex.fallback = (enum sk_ub_fallback)fb;
    if (mode != SK_UB_TAG && (rc = not_here(y, &s, "tag", "with mode: tag")))
        return rc;
    if (mode != SK_UB_TAG && mode != SK_UB_REGEX &&
        (rc = not_here(y, &s, "occurrence", "with mode: tag or regex")))
        return rc;
    if (mode != SK_UB_REGEX &&
        ((rc = not_here(y, &s, "pattern", "with mode: regex")) ||
         (rc = not_here(y, &s, "ignore_case", "with mode: regex"))))
        return rc;
    if (mode != SK_UB_JSON && (rc = not_here(y, &s, "path", "with mode: json")))
        return rc;
    if (mode == SK_UB_TAG) {
        rc = get_str(y, &s, "tag", 0, &u->ex.tag, &at);
        if (rc == SK_OK && u->ex.tag &&
            (!*u->ex.tag || strlen(u->ex.tag) > MAX_TAG ||
             strspn(u->ex.tag, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS"
                               "TUVWXYZ0123456789_-:.") != strlen(u->ex.tag)))
            rc = yerr(y, at, &s, "tag",
                      "'%s' is not a tag name (letters, digits, '_', '-', "
                      "':' and '.', at most %d; without the angle brackets)",
                      u->ex.tag, MAX_TAG);
    } else if (mode == SK_UB_REGEX) {
        char *pat = NULL;
        struct sk_error e;
        rc = get_str(y, &s, "pattern", 1, &pat, &at);
        if (rc == SK_OK && !*pat)
            rc = yerr(y, at, &s, "pattern", "is empty");
        if (rc == SK_OK) {
            memset(&e, 0, sizeof e);
            rc = sk_ub_extract_set_regex(&u->ex, pat, icase, &e);
            if (rc == SK_ENOMEM)
                rc = oom(y);
            else if (rc != SK_OK)
                rc = yerr(y, at, &s, "pattern",
                          "not a POSIX extended regular expression: %s", e.msg);
        }
        sk_free(pat);
    } else if (mode == SK_UB_JSON) {
        rc = get_str(y, &s, "path", 1, &u->ex.path, &at);
        if (rc == SK_OK && (!*u->ex.path || u->ex.path[0] == '.' ||
                            u->ex.path[strlen(u->ex.path) - 1] == '.' ||
                            strstr(u->ex.path, "..")))
            rc = yerr(y, at, &s, "path",
                      "'%s' is not a dotted path such as answer or "
                      "result.values.0",
                      u->ex.path);
    }
    return rc;
}

/* Text of a file named by key (relative to the YAML file). */
static int read_text_file(struct ub *u, const struct yr *y,
                          const struct sect *s, const char *key,
                          const char *rel, struct fy_node *at, char **out)
{
    char *p = resolve(u, rel);
    struct sk_buf b;
    struct sk_error e;
    int rc;

    *out = NULL;
    if (!p)
        return oom(y);
    sk_buf_init(&b, SK_PROMPT_MAX_FILE);
    memset(&e, 0, sizeof e);
    rc = sk_fs_read(p, SK_PROMPT_MAX_FILE, &b, &e);
    if (rc == SK_ENOTFOUND)
        rc = yerr(y, at, s, key, "%s: no such file", p);
    else if (rc == SK_ENOMEM)
        rc = oom(y);
    else if (rc != SK_OK)
        rc = yerr(y, at, s, key, "%s", e.msg);
    else if (memchr(sk_buf_cstr(&b), '\0', b.len))
        rc = yerr(y, at, s, key, "%s holds a NUL byte", p);
    else if (!(*out = sk_strndup(sk_buf_cstr(&b), b.len)))
        rc = oom(y);
    sk_buf_release(&b);
    sk_free(p);
    return rc;
}

/* key or key_file (exactly one when required, at most one otherwise). */
static int text_or_file(struct ub *u, const struct yr *y, const struct sect *s,
                        const char *key, int required, char **out,
                        struct fy_node **at)
{
    char fkey[64], *file = NULL;
    struct fy_node *fat = NULL;
    int rc;

    snprintf(fkey, sizeof fkey, "%s_file", key);
    rc = get_str(y, s, key, 0, out, at);
    if (rc == SK_OK)
        rc = get_str(y, s, fkey, 0, &file, &fat);
    if (rc == SK_OK && *out && file)
        rc = yerr(y, fat, s, fkey, "give either %s or %s, not both", key, fkey);
    else if (rc == SK_OK && !*out && !file && required)
        rc = yerr(y, s->key, s, NULL,
                  "missing '%s' (the text) or '%s' (a "
                  "file next to the YAML file)",
                  key, fkey);
    else if (rc == SK_OK && file) {
        *at = fat;
        rc = read_text_file(u, y, s, fkey, file, fat, out);
    }
    sk_free(file);
    return rc;
}

/* Adds name to u->names unless there already. */
static int add_name(struct ub *u, const char *name, size_t len)
{
    const char *p = u->names;
    size_t i, total = 0;
    char *grown;

    for (i = 0; i < u->n_names; i++) {
        size_t l = strlen(p);
        if (l == len && memcmp(p, name, len) == 0)
            return SK_OK;
        p += l + 1;
        total += l + 1;
    }
    grown = sk_realloc(u->names, total + len + 1);
    if (!grown)
        return SK_ENOMEM;
    memcpy(grown + total, name, len);
    grown[total + len] = '\0';
    u->names = grown;
    u->n_names++;
    return SK_OK;
}

static int is_tname(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_';
}

/* Collects the {{names}} of t the way sk_prompt_render reads them (its
 * own pass then reports any malformed placeholder). */
static int scan_names(struct ub *u, const char *t)
{
    size_t len = strlen(t), i = 0;
    while (i + 1 < len) {
        size_t j, at;
        if (t[i] != '{' || t[i + 1] != '{') {
            i++;
            continue;
        }
        if (i + 3 < len && t[i + 2] == '{' && t[i + 3] == '{') {
            i += 4;
            continue;
        }
        for (j = i + 2; j < len && (t[j] == ' ' || t[j] == '\t'); j++)
            ;
        for (at = j; j < len && is_tname(t[j]); j++)
            ;
        if (j > at && add_name(u, t + at, j - at) != SK_OK)
            return SK_ENOMEM;
        i = j > i + 2 ? j : i + 2;
    }
    return SK_OK;
}

static int uses(const struct ub *u, const char *name)
{
    const char *p = u->names;
    size_t i;
    for (i = 0; i < u->n_names; i++, p += strlen(p) + 1)
        if (strcmp(p, name) == 0)
            return 1;
    return 0;
}

/* Renders t with every name bound to "" to check its syntax. */
static int try_render(const struct ub *u, const char *t, struct sk_error *e)
{
    struct sk_prompt_var *vars;
    struct sk_buf out;
    const char *p = u->names;
    size_t i;
    int rc;

    vars = sk_calloc(u->n_names + 1, sizeof *vars);
    if (!vars)
        return SK_ENOMEM;
    for (i = 0; i < u->n_names; i++, p += strlen(p) + 1) {
        vars[i].name = p;
        vars[i].value = "";
    }
    sk_buf_init(&out, SK_BENCH_MAX_PROMPT);
    rc = sk_prompt_render(t, strlen(t), vars, u->n_names, &out, e);
    sk_buf_release(&out);
    sk_free(vars);
    return rc;
}

static int read_prompts(struct ub *u, const struct yr *y,
                        const struct sect *top)
{
    static const char *const keys[] = {"system", "system_file", "user",
                                       "user_file", NULL};
    static const char *const which[] = {"system", "user"};
    struct fy_node *at[2] = {NULL, NULL};
    struct sect s;
    size_t i;
    int rc;

    if ((rc = get_sect(y, top, "prompts", 1, &s)) != SK_OK ||
        (rc = check_keys(y, &s, keys)) != SK_OK)
        return rc;
    for (i = 0; i < 2; i++) {
        rc = text_or_file(u, y, &s, which[i], i == 1, &u->tmpl[i], &at[i]);
        if (rc != SK_OK)
            return rc;
    }
    if (!u->tmpl[0] && !(u->tmpl[0] = sk_strdup("{{skill_section}}")))
        return oom(y);
    for (i = 0; i < 2; i++)
        if (scan_names(u, u->tmpl[i]) != SK_OK)
            return oom(y);
    for (i = 0; i < 2; i++) {
        struct sk_error e;
        memset(&e, 0, sizeof e);
        rc = try_render(u, u->tmpl[i], &e);
        if (rc == SK_ENOMEM)
            return oom(y);
        if (rc != SK_OK)
            return yerr(y, at[i] ? at[i] : s.key, &s, which[i], "template %s",
                        e.msg);
    }
    if (uses(u, u->f_answers))
        return yerr(y, at[1] ? at[1] : s.key, &s, NULL,
                    "a template uses {{%s}}, the gold answer field: the "
                    "model would be shown the answer",
                    u->f_answers);
    if (uses(u, reserved[R_CHOICE_LIST]) && !u->f_choices)
        return yerr(y, at[1] ? at[1] : s.key, &s, NULL,
                    "{{choice_list}} needs fields.choices (or scorer type "
                    "choice)");
    if (!uses(u, reserved[R_SKILL_SECTION]) && !uses(u, reserved[R_SKILL]))
        return yerr(y, at[0] ? at[0] : s.key, &s, NULL,
                    "neither template has {{skill_section}} or {{skill}}: the "
                    "skill being trained would never reach the model");
    return SK_OK;
}

static int read_extras(struct ub *u, const struct yr *y, const struct sect *top)
{
    struct fy_node *at = NULL;
    char *skill = NULL;
    int rc;

    rc = text_or_file(u, y, top, "guidance", 0, &u->guidance, &at);
    if (rc == SK_OK)
        rc = get_str(y, top, "skill_init", 0, &skill, &at);
    if (rc == SK_OK && skill) {
        u->skill_init = resolve(u, skill);
        if (!u->skill_init)
            rc = oom(y);
        else if (!sk_fs_exists(u->skill_init))
            rc = yerr(y, at, top, "skill_init", "%s: no such file",
                      u->skill_init);
    }
    sk_free(skill);
    return rc;
}

/* ---- items -------------------------------------------------------------- */

/* One item as the templates and scorers see it. */
struct uitem {
    char *id;
    char **golds; /* n gold strings (choice: labels) */
    size_t n;
    char **labels; /* choice options */
    char **texts;
    size_t n_choices;
};

static void uitem_release(struct uitem *it)
{
    size_t i;
    for (i = 0; it->golds && i < it->n; i++)
        sk_free(it->golds[i]);
    for (i = 0; it->labels && i < it->n_choices; i++) {
        sk_free(it->labels[i]);
        sk_free(it->texts[i]);
    }
    sk_free(it->golds);
    sk_free(it->labels);
    sk_free(it->texts);
    sk_free(it->id);
    memset(it, 0, sizeof *it);
}

/* A JSON value as prompt or answer text: strings as they are, numbers and
 * booleans as written, null as "", lists of strings one per line, other
 * lists and objects as compact JSON. */
static int value_text(const json_t *v, struct sk_buf *out)
{
    size_t i;
    json_t *e;
    char *s;
    int rc = SK_OK;

    if (!v || json_is_null(v))
        return SK_OK;
    if (json_is_string(v))
        return sk_buf_append(out, json_string_value(v), json_string_length(v));
    if (json_is_integer(v))
        return sk_buf_printf(out, "%lld", (long long)json_integer_value(v));
    if (json_is_real(v)) {
        char tmp[64];
        int prec;
        for (prec = 1; prec <= 17; prec++) {
            snprintf(tmp, sizeof tmp, "%.*g", prec, json_real_value(v));
            if (strtod(tmp, NULL) == json_real_value(v))
                break;
        }
        return sk_buf_puts(out, tmp);
    }
    if (json_is_boolean(v))
        return sk_buf_puts(out, json_is_true(v) ? "true" : "false");
    if (json_is_array(v)) {
        int all_str = 1;
        json_array_foreach(v, i, e) all_str = all_str && json_is_string(e);
        if (all_str) {
            json_array_foreach(v, i, e)
            {
                if (rc == SK_OK && i > 0)
                    rc = sk_buf_putc(out, '\n');
                if (rc == SK_OK)
                    rc = sk_buf_puts(out, json_string_value(e));
            }
            return rc;
        }
    }
    s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s)
        return SK_ENOMEM;
    rc = sk_buf_puts(out, s);
    sk_free(s);
    return rc;
}

/* A gold or option value as a new string; NULL with *bad for other types. */
static char *scalar_text(const json_t *v, int *bad)
{
    struct sk_buf b;
    char *s = NULL;
    *bad = !(json_is_string(v) || json_is_number(v));
    if (*bad)
        return NULL;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (value_text(v, &b) == SK_OK)
        s = b.len ? sk_buf_detach(&b, NULL) : sk_strdup("");
    sk_buf_release(&b);
    return s;
}

static int same_ci(const char *a, const char *b)
{
    size_t a0 = 0, a1 = 0, b0 = 0, b1 = 0;
    sk_score_strip(a, strlen(a), &a0, &a1);
    sk_score_strip(b, strlen(b), &b0, &b1);
    return a1 - a0 == b1 - b0 && strncasecmp(a + a0, b + b0, a1 - a0) == 0;
}

static int read_choices(const struct ub *u, const json_t *item,
                        struct uitem *it, struct sk_error *err)
{
    const json_t *c = json_object_get(item, u->f_choices), *e;
    size_t i, n;
    int bad = 0;

    if (!json_is_array(c) || json_array_size(c) == 0)
        return sk_error_set(err, SK_EDATA,
                            "item %s: '%s' is not a non-empty list of choices",
                            it->id, u->f_choices);
    n = json_array_size(c);
    if (n > MAX_CHOICES)
        return sk_error_set(err, SK_EDATA, "item %s: %zu choices (at most %d)",
                            it->id, n, MAX_CHOICES);
    it->labels = sk_calloc(n, sizeof *it->labels);
    it->texts = sk_calloc(n, sizeof *it->texts);
    if (!it->labels || !it->texts)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    it->n_choices = n;
    json_array_foreach(c, i, e)
    {
        const json_t *t = e;
        if (json_is_object(e)) {
            const json_t *l = json_object_get(e, "label");
            t = json_object_get(e, "text");
            if (!t)
                t = json_object_get(e, "content");
            it->labels[i] = scalar_text(l, &bad);
            if (!bad && it->labels[i] &&
                (!*it->labels[i] || strlen(it->labels[i]) > MAX_LABEL))
                bad = 1;
        } else {
            char l[2] = {(char)('A' + i), '\0'};
            it->labels[i] = sk_strdup(l);
        }
        if (!bad)
            it->texts[i] = scalar_text(t, &bad);
        if (bad)
            return sk_error_set(err, SK_EDATA,
                                "item %s: choice %zu is not a string or a "
                                "{\"label\" (at most 32 bytes), \"text\"} "
                                "object",
                                it->id, i + 1);
        if (!it->labels[i] || !it->texts[i])
            return sk_error_set(err, SK_ENOMEM, "out of memory");
    }
    return SK_OK;
}

/* The label a choice gold names: a label, a {"label"} object or an
 * option's text; NULL when none. */
static const char *gold_label(const struct uitem *it, const json_t *g)
{
    char want[4 * MAX_LABEL], have[4 * MAX_LABEL];
    const char *s;
    size_t i;

    if (json_is_object(g))
        g = json_object_get(g, "label");
    s = json_string_value(g);
    if (!s)
        return NULL;
    sk_choice_normalize(s, want, sizeof want);
    for (i = 0; *want && strlen(s) <= MAX_LABEL && i < it->n_choices; i++) {
        sk_choice_normalize(it->labels[i], have, sizeof have);
        if (strcmp(want, have) == 0)
            return it->labels[i];
    }
    for (i = 0; i < it->n_choices; i++)
        if (same_ci(s, it->texts[i]))
            return it->labels[i];
    return NULL;
}

static int read_golds(const struct ub *u, const json_t *item, struct uitem *it,
                      struct sk_error *err)
{
    const json_t *v = json_object_get(item, u->f_answers), *e;
    size_t i, n;
    int bad = 0;

    if (!v || json_is_null(v)) {
        if (u->golds_optional)
            return SK_OK;
        return sk_error_set(err, SK_EDATA,
                            "item %s has no '%s' field (the gold answers)",
                            it->id, u->f_answers);
    }
    n = json_is_array(v) ? json_array_size(v) : 1;
    if (n == 0 && !u->golds_optional)
        return sk_error_set(err, SK_EDATA, "item %s: '%s' is an empty list",
                            it->id, u->f_answers);
    it->golds = sk_calloc(n ? n : 1, sizeof *it->golds);
    if (!it->golds)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    for (i = 0; i < n; i++) {
        e = json_is_array(v) ? json_array_get(v, i) : v;
        if (u->sc.kind == SK_UB_CHOICE) {
            const char *l = gold_label(it, e);
            if (!l)
                return sk_error_set(err, SK_EDATA,
                                    "item %s: gold answer %zu is neither a "
                                    "label nor the text of one of its "
                                    "choices",
                                    it->id, i + 1);
            it->golds[i] = sk_strdup(l);
        } else if (u->sc.kind == SK_UB_COMMAND) {
            /* the command may want structured golds: JSON text */
            struct sk_buf t;
            sk_buf_init(&t, SK_BUF_UNLIMITED);
            if (value_text(e, &t) == SK_OK)
                it->golds[i] = t.len ? sk_buf_detach(&t, NULL) : sk_strdup("");
            sk_buf_release(&t);
        } else {
            it->golds[i] = scalar_text(e, &bad);
            if (bad)
                return sk_error_set(err, SK_EDATA,
                                    "item %s: '%s' must be a string, a "
                                    "number or a list of them",
                                    it->id, u->f_answers);
        }
        if (!it->golds[i])
            return sk_error_set(err, SK_ENOMEM, "out of memory");
        it->n = i + 1;
        if (u->sc.kind == SK_UB_NUMERIC) {
            double d;
            if (!sk_ub_parse_number(it->golds[i], &d))
                return sk_error_set(err, SK_EDATA,
                                    "item %s: gold answer '%s' is not a "
                                    "number (numeric scorer)",
                                    it->id, it->golds[i]);
        }
    }
    return SK_OK;
}

static int uitem_read(const struct ub *u, const json_t *item, struct uitem *it,
                      struct sk_error *err)
{
    struct sk_buf id;
    int rc;

    memset(it, 0, sizeof *it);
    sk_buf_init(&id, 4096);
    if (!json_is_object(item))
        return sk_error_set(err, SK_EDATA, "item is not an object");
    rc = sk_bench_item_id(item, &id, err);
    if (rc == SK_OK && !(it->id = sk_strdup(sk_buf_cstr(&id))))
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
    sk_buf_release(&id);
    if (rc == SK_OK && u->f_choices)
        rc = read_choices(u, item, it, err);
    if (rc == SK_OK)
        rc = read_golds(u, item, it, err);
    if (rc != SK_OK)
        uitem_release(it);
    return rc;
}

static const struct ub *ub_of(const struct sk_bench_ctx *ctx,
                              struct sk_error *err)
{
    if (!ctx || !ctx->data) {
        sk_error_set(err, SK_EINVAL,
                     "YAML benchmark called without its "
                     "context");
        return NULL;
    }
    return ctx->data;
}

/* ---- the struct sk_bench callbacks -------------------------------------- */

static int uses_reserved(const char *name)
{
    size_t i;
    for (i = 0; i < N_RESERVED; i++)
        if (strcmp(name, reserved[i]) == 0)
            return 1;
    return 0;
}

static int ub_build(const struct json_t *item, const char *skill,
                    const struct sk_bench_ctx *ctx, char **system, char **user,
                    struct sk_error *err)
{
    const struct ub *u = ub_of(ctx, err);
    struct sk_prompt_var *vars = NULL;
    struct sk_buf *vals = NULL, out;
    struct uitem it;
    const char *p;
    size_t i, nv, start = 0, end = 0;
    int rc, have_item = 0;

    *system = NULL;
    *user = NULL;
    if (!u)
        return SK_EINVAL;
    nv = N_RESERVED + u->n_names;
    sk_buf_init(&out, SK_BENCH_MAX_PROMPT);
    rc = uitem_read(u, item, &it, err);
    if (rc != SK_OK)
        return rc;
    have_item = 1;
    vars = sk_calloc(nv, sizeof *vars);
    vals = sk_calloc(nv, sizeof *vals);
    if (!vars || !vals) {
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < nv; i++)
        sk_buf_init(&vals[i], SK_BENCH_MAX_PROMPT);
    rc = sk_bench_skill_section(skill, &vals[R_SKILL_SECTION]);
    if (skill)
        sk_score_strip(skill, strlen(skill), &start, &end);
    if (rc == SK_OK)
        rc = sk_buf_append(&vals[R_SKILL], skill ? skill + start : "",
                           end - start);
    if (rc == SK_OK)
        rc = sk_buf_puts(&vals[R_ID], it.id);
    for (i = 0; rc == SK_OK && i < it.n_choices; i++)
        rc = sk_buf_printf(&vals[R_CHOICE_LIST], "%s%s. %s", i ? "\n" : "",
                           it.labels[i], it.texts[i]);
    for (i = 0; i < N_RESERVED; i++)
        vars[i].name = reserved[i];
    /* the item's fields; the reserved names above shadow fields of the
     * same name (the renderer takes the first) */
    for (i = 0, p = u->names; rc == SK_OK && i < u->n_names;
         i++, p += strlen(p) + 1) {
        const json_t *v;
        vars[N_RESERVED + i].name = p;
        if (uses_reserved(p))
            continue;
        v = json_object_get(item, p);
        if (!v) {
            rc = sk_error_set(err, SK_EDATA,
                              "item %s has no field '%s' (a placeholder of "
                              "the prompts)",
                              it.id, p);
            goto out;
        }
        rc = value_text(v, &vals[N_RESERVED + i]);
    }
    if (rc != SK_OK) {
        rc = sk_error_set(err, rc, "item %s: prompt values: %s", it.id,
                          sk_strerror(rc));
        goto out;
    }
    for (i = 0; i < nv; i++) {
        vars[i].value = sk_buf_cstr(&vals[i]);
        vars[i].len = vals[i].len;
    }
    for (i = 0; i < 2 && rc == SK_OK; i++) {
        sk_buf_reset(&out);
        rc = sk_prompt_render(u->tmpl[i], strlen(u->tmpl[i]), vars, nv, &out,
                              err);
        if (rc == SK_OK)
            rc = sk_buf_reserve(&out, 1);
        if (rc == SK_OK) {
            char *s = sk_buf_detach(&out, NULL);
            if (i == 0)
                *system = s;
            else
                *user = s;
        } else if (rc == SK_ETOOBIG || rc == SK_ENOMEM) {
            rc = sk_error_set(err, rc, "item %s: %s prompt: %s", it.id,
                              i ? "user" : "system", sk_strerror(rc));
        }
    }
out:
    if (rc != SK_OK) {
        sk_free(*system);
        sk_free(*user);
        *system = *user = NULL;
    }
    for (i = 0; vals && i < nv; i++)
        sk_buf_release(&vals[i]);
    sk_free(vals);
    sk_free(vars);
    sk_buf_release(&out);
    if (have_item)
        uitem_release(&it);
    return rc;
}

/* Sets key on obj to v (a new reference; NULL after a failed allocation). */
static int set_new(json_t *obj, const char *key, json_t *v)
{
    return json_object_set_new(obj, key, v) == 0 ? SK_OK : SK_ENOMEM;
}

static json_t *str_array(char *const *s, size_t n)
{
    json_t *a = json_array();
    size_t i;
    for (i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_string(s[i])) != 0) {
            json_decref(a);
            a = NULL;
        }
    return a;
}

/* The row fields of bench.h's score contract. */
static int set_row(json_t *row, const struct ub *u, const json_t *item,
                   const struct uitem *it, const struct sk_ub_result *r,
                   const char *pred, const char *fail_reason)
{
    const json_t *q = json_object_get(item, u->f_question);
    int rc = set_new(row, "em", json_real(r->em));
    if (rc == SK_OK)
        rc = set_new(row, "f1", json_real(r->f1));
    if (rc == SK_OK)
        rc = set_new(row, "hard", json_integer(r->hard));
    if (rc == SK_OK)
        rc = set_new(row, "soft", json_real(r->score));
    if (rc == SK_OK)
        rc = set_new(row, "predicted_answer", json_string(pred));
    if (rc == SK_OK)
        rc = set_new(row, "gold_answers", str_array(it->golds, it->n));
    if (rc == SK_OK)
        rc = set_new(row, "fail_reason", json_string(fail_reason));
    if (rc == SK_OK && json_is_string(q))
        rc = set_new(row, "question", json_copy((json_t *)q));
    if (rc == SK_OK && json_is_string(q))
        rc = set_new(row, "task_description", json_copy((json_t *)q));
    if (rc == SK_OK && r->parsed)
        rc = set_new(
            row, u->sc.kind == SK_UB_CHOICE ? "parsed_choice" : "parsed_number",
            json_string(r->parsed));
    return rc;
}

static int ub_score(const struct json_t *item, const char *response,
                    const struct sk_bench_ctx *ctx, struct json_t *result,
                    struct sk_error *err)
{
    const struct ub *u = ub_of(ctx, err);
    struct sk_buf pred, why, reason;
    struct sk_ub_result r;
    struct sk_ub_gold g;
    struct sk_error e;
    struct uitem it;
    int rc, found = 0, have_item = 0;

    if (!u)
        return SK_EINVAL;
    memset(&r, 0, sizeof r);
    memset(&e, 0, sizeof e);
    sk_buf_init(&pred, SK_BUF_UNLIMITED);
    sk_buf_init(&why, SK_BUF_UNLIMITED);
    sk_buf_init(&reason, SK_BUF_UNLIMITED);
    rc = uitem_read(u, item, &it, err);
    if (rc != SK_OK)
        goto out;
    have_item = 1;
    rc =
        sk_ub_extract_run(&u->ex, response ? response : "",
                          response ? strlen(response) : 0, &pred, &found, &why);
    if (rc != SK_OK) {
        rc = sk_error_set(err, rc, "item %s: %s", it.id, sk_strerror(rc));
        goto out;
    }
    memset(&g, 0, sizeof g);
    g.golds = (const char *const *)it.golds;
    g.n = it.n;
    g.labels = (const char *const *)it.labels;
    g.texts = (const char *const *)it.texts;
    g.n_choices = it.n_choices;
    g.id = it.id;
    g.item = item;
    rc = sk_ub_score(&u->sc, sk_buf_cstr(&pred), &g, &r, &e);
    if (rc == SK_EDATA) {
        /* the scorer could not score: never a silent 0 */
        memset(&r, 0, sizeof r);
        rc = sk_buf_printf(&reason, "scorer: %s", e.msg);
        if (rc == SK_OK)
            rc = set_row(result, u, item, &it, &r, sk_buf_cstr(&pred),
                         sk_buf_cstr(&reason));
        if (rc == SK_OK)
            rc = set_new(result, "scorer_error", json_string(e.msg));
        if (rc != SK_OK) {
            rc = sk_error_set(err, SK_ENOMEM, "out of memory");
        } else if (u->on_error_zero) {
            sk_warn("%s: item %s scored 0: scorer: %s", u->name, it.id, e.msg);
        } else {
            rc = sk_error_set(err, SK_EDATA,
                              "item %s: scorer: %s (the run stops rather "
                              "than score it 0; scorer.on_error: zero "
                              "scores such items 0 instead)",
                              it.id, e.msg);
        }
        goto out;
    }
    if (rc != SK_OK)
        goto out;
    if (!r.hard && why.len > 0)
        rc = sk_buf_printf(&reason, "%s; ", sk_buf_cstr(&why));
    if (rc == SK_OK && !r.hard)
        rc = sk_buf_puts(&reason, r.detail ? r.detail : "");
    if (rc == SK_OK)
        rc = set_row(result, u, item, &it, &r, sk_buf_cstr(&pred),
                     sk_buf_cstr(&reason));
    if (rc != SK_OK)
        rc = sk_error_set(err, rc, "scoring item %s: %s", it.id,
                          sk_strerror(rc));
out:
    sk_ub_result_release(&r);
    if (have_item)
        uitem_release(&it);
    sk_buf_release(&pred);
    sk_buf_release(&why);
    sk_buf_release(&reason);
    return rc;
}

/* ---- open / free ----------------------------------------------------------
 */

static void ub_free(struct ub *u)
{
    if (!u)
        return;
    sk_free(u->name);
    sk_free(u->path);
    sk_free(u->dir);
    sk_free(u->tmpl[0]);
    sk_free(u->tmpl[1]);
    sk_free(u->names);
    sk_free(u->f_question);
    sk_free(u->f_answers);
    sk_free(u->f_choices);
    sk_ub_extract_release(&u->ex);
    sk_ub_scorer_release(&u->sc);
    sk_free(u->guidance);
    sk_free(u->skill_init);
    sk_free(u);
}

static int load(struct ub *u, const struct yr *y, struct fy_document *doc,
                const char *name)
{
    static const char *const keys[] = {
        "name",   "description", "fields",        "prompts",    "extract",
        "scorer", "guidance",    "guidance_file", "skill_init", NULL};
    struct sect top;
    int rc;

    top.map = fy_document_root(doc);
    top.key = NULL;
    top.name = "";
    if (!top.map || !fy_node_is_mapping(top.map))
        return sk_error_set(y->err, SK_ECONFIG,
                            "%s:1:1: the file must be a mapping of keys "
                            "(name, fields, prompts, extract, scorer, ...)",
                            y->path);
    if ((rc = check_keys(y, &top, keys)) != SK_OK ||
        (rc = read_name(u, y, &top, name)) != SK_OK ||
        (rc = read_scorer(u, y, &top)) != SK_OK ||
        (rc = read_fields(u, y, &top)) != SK_OK ||
        (rc = read_extract(u, y, &top)) != SK_OK ||
        (rc = read_prompts(u, y, &top)) != SK_OK ||
        (rc = read_extras(u, y, &top)) != SK_OK)
        return rc;
    {
        char *d = NULL;
        struct fy_node *at;
        rc = get_str(y, &top, "description", 0, &d, &at);
        sk_free(d);
    }
    return rc;
}

int sk_userbench_open(const char *path, const char *name,
                      const struct sk_bench **out, struct sk_error *err)
{
    struct fy_document *doc = NULL;
    struct sk_buf text;
    struct ub *u;
    struct yr y;
    int rc;

    *out = NULL;
    if (!path || !*path)
        return sk_error_set(err, SK_EINVAL, "env.benchmark: no file given");
    y.path = path;
    y.err = err;
    u = sk_calloc(1, sizeof *u);
    if (!u)
        return oom(&y);
    sk_ub_extract_init(&u->ex);
    sk_ub_scorer_init(&u->sc);
    sk_buf_init(&text, MAX_YAML);
    u->path = sk_strdup(path);
    u->dir = sk_fs_dirname(path);
    if (!u->path || !u->dir) {
        rc = oom(&y);
        goto out;
    }
    rc = sk_fs_read(path, MAX_YAML, &text, err);
    if (rc == SK_ENOTFOUND) {
        sk_error_set(err, rc, "%s: benchmark file not found", path);
        goto out;
    }
    if (rc != SK_OK)
        goto out;
    rc = sk_yaml_parse(path, sk_buf_cstr(&text), text.len, &doc, err);
    if (rc == SK_OK)
        rc = load(u, &y, doc, name);
    if (rc != SK_OK)
        goto out;
    u->bench.name = u->name;
    u->bench.build = ub_build;
    u->bench.score = ub_score;
    u->bench.data = u;
    *out = &u->bench;
    u = NULL;
out:
    if (doc)
        fy_document_destroy(doc);
    sk_buf_release(&text);
    ub_free(u);
    return rc;
}

/* The YAML benchmark behind b, or NULL when b is another kind. */
static const struct ub *as_ub(const struct sk_bench *b)
{
    return b && b->build == ub_build ? b->data : NULL;
}

void sk_userbench_free(const struct sk_bench *b)
{
    const struct ub *u = as_ub(b);
    ub_free((struct ub *)u);
}

const char *sk_userbench_guidance(const struct sk_bench *b)
{
    const struct ub *u = as_ub(b);
    return u ? u->guidance : NULL;
}

const char *sk_userbench_skill_init(const struct sk_bench *b)
{
    const struct ub *u = as_ub(b);
    return u ? u->skill_init : NULL;
}
