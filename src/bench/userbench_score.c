/*
 * userbench_score.c - answer extraction and the scorers of YAML benchmarks
 * (userbench.h).  EM and F1 reuse SearchQA's normalisation, ANLS and the
 * choice parser are DocVQA's and LiveMath's; the external command is run
 * by userbench_cmd.c.  Nothing here reads files or YAML.
 */
#include "common.h"

#include "bench/userbench.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/anls.h"
#include "bench/choice.h"
#include "bench/score.h"
#include "bench/searchqa.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/jsonx.h"
#include "util/utf8.h"

void sk_ub_extract_init(struct sk_ub_extract *x)
{
    memset(x, 0, sizeof *x);
    x->mode = SK_UB_TAG;
    x->fallback = SK_UB_FB_NONE;
    x->last = 1;
}

void sk_ub_extract_release(struct sk_ub_extract *x)
{
    sk_free(x->tag);
    sk_free(x->path);
    if (x->has_re)
        regfree(&x->re);
    sk_ub_extract_init(x);
}

int sk_ub_extract_set_regex(struct sk_ub_extract *x, const char *pattern,
                            int ignore_case, struct sk_error *err)
{
    int rc;

    if (x->has_re) {
        regfree(&x->re);
        x->has_re = 0;
    }
    rc = regcomp(&x->re, pattern, REG_EXTENDED | (ignore_case ? REG_ICASE : 0));
    if (rc == REG_ESPACE)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    if (rc != 0) {
        char msg[256];
        regerror(rc, &x->re, msg, sizeof msg);
        return sk_error_set(err, SK_EPARSE, "%s", msg);
    }
    x->has_re = 1;
    x->mode = SK_UB_REGEX;
    return SK_OK;
}

/* Appends s[0..len) without Python-whitespace at either end. */
static int put_stripped(const char *s, size_t len, struct sk_buf *out)
{
    size_t a = 0, b = 0;
    sk_score_strip(s, len, &a, &b);
    return sk_buf_append(out, s + a, b - a);
}

static char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Offset of the first ASCII-case-insensitive occurrence of needle in
 * text[from..len), or len. */
static size_t ci_find(const char *text, size_t len, size_t from,
                      const char *needle, size_t nlen)
{
    size_t i, k;
    for (i = from; i + nlen <= len; i++) {
        for (k = 0; k < nlen; k++)
            if (ascii_lower(text[i + k]) != ascii_lower(needle[k]))
                break;
        if (k == nlen)
            return i;
    }
    return len;
}

/*
 * re.findall("<tag>(.*?)</tag>", DOTALL | IGNORECASE): scans
 * non-overlapping pairs and keeps the first or the last.  [*b, *e) is the
 * content; returns 0 when there is no pair.
 */
static int find_tag(const char *text, size_t len, const char *tag, int last,
                    size_t *b, size_t *e)
{
    char open[80], close[80];
    size_t ol, cl, pos = 0;
    int found = 0;

    ol = (size_t)snprintf(open, sizeof open, "<%s>", tag);
    cl = (size_t)snprintf(close, sizeof close, "</%s>", tag);
    if (ol >= sizeof open || cl >= sizeof close)
        return 0; /* the loader caps tag names well below this */
    while (pos < len) {
        size_t i = ci_find(text, len, pos, open, ol), j;
        if (i == len)
            break;
        j = ci_find(text, len, i + ol, close, cl);
        if (j == len)
            break; /* no later opening tag can be closed either */
        *b = i + ol;
        *e = j;
        found = 1;
        if (!last)
            break;
        pos = j + cl;
    }
    return found;
}

/* Python's str.splitlines() boundaries. */
static int is_line_break(uint32_t c)
{
    return c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || c == 0x1C ||
           c == 0x1D || c == 0x1E || c == 0x85 || c == 0x2028 || c == 0x2029;
}

/* The last line holding a non-space code point; 0 when there is none. */
static int find_last_line(const char *text, size_t len, size_t *b, size_t *e)
{
    size_t pos = 0, line = 0;
    int found = 0;

    while (pos < len) {
        uint32_t c;
        size_t n =
            sk_utf8_decode((const unsigned char *)text + pos, len - pos, &c);
        if (n == 0) {
            n = 1;
            c = 0xFFFD;
        }
        if (is_line_break(c)) {
            line = pos + n;
        } else if (!sk_score_is_space(c)) {
            *b = line;
            *e = pos + n;
            found = 1;
        }
        pos += n;
    }
    return found;
}

/* Regex mode: the first capture group (the whole match without groups) of
 * the first or last match. */
static int find_regex(const struct sk_ub_extract *x, const char *text,
                      size_t len, size_t *b, size_t *e)
{
    regmatch_t m[2];
    size_t pos = 0;
    int found = 0, grp = x->re.re_nsub > 0 ? 1 : 0;

    (void)len; /* text is NUL-terminated at len (the caller checked) */
    while (pos <= len) {
        if (regexec(&x->re, text + pos, 2, m, pos ? REG_NOTBOL : 0) != 0)
            break;
        if (m[grp].rm_so >= 0) {
            *b = pos + (size_t)m[grp].rm_so;
            *e = pos + (size_t)m[grp].rm_eo;
            found = 1;
            if (!x->last)
                break;
        }
        /* an empty match must still move on */
        pos += m[0].rm_eo > m[0].rm_so ? (size_t)m[0].rm_eo
                                       : (size_t)m[0].rm_so + 1;
    }
    return found;
}

/* Appends the shortest decimal text that reads back as d (Python repr
 * style: "0.1", "3500.0" stays "3500"). */
static int put_real(double d, struct sk_buf *out)
{
    char tmp[64];
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    return sk_buf_puts(out, tmp);
}

/* Appends a JSON value as answer text: strings as they are, numbers and
 * booleans as written, arrays and objects as compact JSON. */
static int put_json_text(const json_t *v, struct sk_buf *out)
{
    char *s;
    int rc;

    if (json_is_string(v))
        return sk_buf_append(out, json_string_value(v), json_string_length(v));
    if (json_is_integer(v))
        return sk_buf_printf(out, "%" PRId64, (int64_t)json_integer_value(v));
    if (json_is_real(v))
        return put_real(json_real_value(v), out);
    if (json_is_true(v))
        return sk_buf_puts(out, "true");
    if (json_is_false(v))
        return sk_buf_puts(out, "false");
    s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s)
        return SK_ENOMEM;
    rc = sk_buf_puts(out, s);
    sk_free(s);
    return rc;
}

/* Follows the dotted path from v; a segment of digits indexes an array. */
static const json_t *walk_path(const json_t *v, const char *path)
{
    const char *p = path;
    while (v && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        char key[256];
        if (n >= sizeof key)
            return NULL;
        memcpy(key, p, n);
        key[n] = '\0';
        if (json_is_object(v)) {
            v = json_object_get(v, key);
        } else if (json_is_array(v) && n > 0 &&
                   strspn(key, "0123456789") == n && n < 10) {
            v = json_array_get(v, (size_t)strtoul(key, NULL, 10));
        } else {
            return NULL;
        }
        p += n;
        if (*p == '.')
            p++;
    }
    return v;
}

/* JSON mode: 1 with the value appended, 0 with the reason appended to
 * why, or a negative status. */
static int extract_json(const char *path, const char *text, size_t len,
                        struct sk_buf *out, struct sk_buf *why)
{
    struct sk_error e;
    json_t *root = NULL;
    const json_t *v;
    int rc;

    memset(&e, 0, sizeof e);
    rc = sk_extract_json(text, len, &root, &e);
    if (rc == SK_ENOMEM)
        return rc;
    if (rc != SK_OK)
        return sk_buf_printf(why, "no JSON object in the reply (%s)", e.msg) ==
                       SK_OK
                   ? 0
                   : SK_ENOMEM;
    v = walk_path(root, path);
    if (!v || json_is_null(v)) {
        rc = sk_buf_printf(why, "the reply's JSON has no value at '%s'", path);
        json_decref(root);
        return rc == SK_OK ? 0 : rc;
    }
    {
        struct sk_buf t;
        sk_buf_init(&t, out->max);
        rc = put_json_text(v, &t);
        if (rc == SK_OK)
            rc = put_stripped(sk_buf_cstr(&t), t.len, out);
        sk_buf_release(&t);
    }
    json_decref(root);
    return rc == SK_OK ? 1 : rc;
}

/* One mode on text: 1 (found, appended), 0 (why appended) or < 0. */
static int extract_mode(const struct sk_ub_extract *x, enum sk_ub_mode mode,
                        const char *text, size_t len, struct sk_buf *out,
                        struct sk_buf *why)
{
    const char *tag = x->tag ? x->tag : "answer";
    size_t b = 0, e = 0;
    int rc;

    switch (mode) {
    case SK_UB_TAG:
        if (find_tag(text, len, tag, x->last, &b, &e))
            break;
        rc = sk_buf_printf(why, "no <%s>...</%s> in the reply", tag, tag);
        return rc == SK_OK ? 0 : rc;
    case SK_UB_REGEX:
        if (x->has_re && find_regex(x, text, len, &b, &e))
            break;
        rc = sk_buf_puts(why, "the extract pattern matched nothing");
        return rc == SK_OK ? 0 : rc;
    case SK_UB_JSON:
        return extract_json(x->path ? x->path : "answer", text, len, out, why);
    case SK_UB_LAST_LINE:
    case SK_UB_FULL:
        if (find_last_line(text, len, &b, &e)) {
            if (mode == SK_UB_FULL)
                return put_stripped(text, len, out) == SK_OK ? 1 : SK_ENOMEM;
            break;
        }
        rc = sk_buf_puts(why, "the reply is empty");
        return rc == SK_OK ? 0 : rc;
    }
    rc = put_stripped(text + b, e - b, out);
    return rc == SK_OK ? 1 : rc;
}

int sk_ub_extract_run(const struct sk_ub_extract *x, const char *text,
                      size_t len, struct sk_buf *out, int *found,
                      struct sk_buf *why)
{
    size_t mark = out->len, wmark = why->len;
    struct sk_buf copy;
    int rc;

    *found = 0;
    sk_buf_init(&copy, SK_BUF_UNLIMITED);
    if (x->mode == SK_UB_REGEX) {
        /* regexec reads C strings: a copy, cut at the first NUL */
        const char *nul = memchr(text, '\0', len);
        if (nul)
            len = (size_t)(nul - text);
        rc = sk_buf_append(&copy, text, len);
        if (rc == SK_OK)
            rc = sk_buf_reserve(&copy, 1);
        if (rc != SK_OK)
            goto out;
        text = sk_buf_cstr(&copy);
    }
    rc = extract_mode(x, x->mode, text, len, out, why);
    if (rc == 0 && x->fallback != SK_UB_FB_NONE) {
        enum sk_ub_mode fb =
            x->fallback == SK_UB_FB_FULL ? SK_UB_FULL : SK_UB_LAST_LINE;
        rc = sk_buf_puts(why, x->fallback == SK_UB_FB_FULL
                                  ? "; took the whole reply"
                                  : "; took the last non-empty line");
        if (rc == SK_OK) {
            struct sk_buf ignore;
            sk_buf_init(&ignore, SK_BUF_UNLIMITED);
            rc = extract_mode(x, fb, text, len, out, &ignore);
            sk_buf_release(&ignore);
        }
    }
    if (rc >= 0) {
        *found = rc == 1;
        rc = SK_OK;
    }
out:
    if (rc != SK_OK) {
        sk_buf_truncate(out, mark);
        sk_buf_truncate(why, wmark);
    }
    sk_buf_release(&copy);
    return rc;
}

/* ---- scorers ------------------------------------------------------------ */

void sk_ub_scorer_init(struct sk_ub_scorer *s)
{
    memset(s, 0, sizeof *s);
    s->kind = SK_UB_EM;
    s->threshold = 1.0;
}

void sk_ub_scorer_release(struct sk_ub_scorer *s)
{
    size_t i;
    for (i = 0; s->argv && s->argv[i]; i++)
        sk_free(s->argv[i]);
    sk_free(s->argv);
    sk_free(s->cwd);
    sk_ub_scorer_init(s);
}

void sk_ub_result_release(struct sk_ub_result *r)
{
    sk_free(r->detail);
    sk_free(r->parsed);
    memset(r, 0, sizeof *r);
}

int sk_ub_parse_number(const char *s, double *out)
{
    char buf[128], *end;
    size_t k = 0, a = 0, b;
    double d;

    for (; *s; s++) {
        if (*s == ',' || *s == '$' || *s == '%')
            continue;
        if (k + 1 >= sizeof buf)
            return 0;
        buf[k++] = *s;
    }
    buf[k] = '\0';
    sk_score_strip(buf, k, &a, &b);
    buf[b] = '\0';
    if (a == b || strspn(buf + a, "0123456789+-.eE") != b - a)
        return 0;
    errno = 0;
    d = strtod(buf + a, &end);
    if (end != buf + b || errno == ERANGE || !isfinite(d))
        return 0;
    *out = d;
    return 1;
}

/* Appends "predicted 'p' but expected ['g', ...]". */
static int put_pred_gold(struct sk_buf *b, const char *pred,
                         const struct sk_ub_gold *g)
{
    int rc = sk_buf_puts(b, "predicted ");
    if (rc == SK_OK)
        rc = sk_score_py_repr(pred, strlen(pred), b);
    if (rc == SK_OK)
        rc = sk_buf_puts(b, " but expected ");
    if (rc == SK_OK)
        rc = sk_score_py_list_repr(g->golds, g->n, b);
    return rc;
}

/* The "contains" scorer: Python's str.lower() of both, golds stripped;
 * empty golds never match. */
static int score_contains(const char *pred, const struct sk_ub_gold *g,
                          double *score)
{
    struct sk_buf lp, lg;
    uint32_t *cp = NULL, *lo = NULL;
    size_t n = 0, m = 0, i;
    int rc;

    *score = 0.0;
    sk_buf_init(&lp, SK_BUF_UNLIMITED);
    sk_buf_init(&lg, SK_BUF_UNLIMITED);
    rc = sk_score_decode(pred, strlen(pred), &cp, &n);
    if (rc == SK_OK)
        rc = sk_score_lower(cp, n, &lo, &m);
    if (rc == SK_OK)
        rc = sk_score_encode(lo, m, &lp);
    for (i = 0; rc == SK_OK && i < g->n && *score == 0.0; i++) {
        size_t a = 0, b = 0;
        sk_free(cp);
        sk_free(lo);
        cp = lo = NULL;
        sk_score_strip(g->golds[i], strlen(g->golds[i]), &a, &b);
        if (a == b)
            continue;
        sk_buf_reset(&lg);
        rc = sk_score_decode(g->golds[i] + a, b - a, &cp, &n);
        if (rc == SK_OK)
            rc = sk_score_lower(cp, n, &lo, &m);
        if (rc == SK_OK)
            rc = sk_score_encode(lo, m, &lg);
        if (rc == SK_OK && lp.len >= lg.len &&
            memmem(sk_buf_cstr(&lp), lp.len, sk_buf_cstr(&lg), lg.len))
            *score = 1.0;
    }
    sk_free(cp);
    sk_free(lo);
    sk_buf_release(&lp);
    sk_buf_release(&lg);
    return rc;
}

static int score_numeric(const struct sk_ub_scorer *s, const char *pred,
                         const struct sk_ub_gold *g, struct sk_ub_result *out,
                         struct sk_error *err)
{
    double p, v;
    size_t i;

    out->score = 0.0;
    if (!sk_ub_parse_number(pred, &p))
        return SK_OK; /* the caller explains */
    {
        struct sk_buf b;
        sk_buf_init(&b, 64);
        if (put_real(p, &b) != SK_OK ||
            !(out->parsed = sk_buf_detach(&b, NULL))) {
            sk_buf_release(&b);
            return sk_error_set(err, SK_ENOMEM, "out of memory");
        }
    }
    for (i = 0; i < g->n; i++) {
        double d;
        if (!sk_ub_parse_number(g->golds[i], &v))
            return sk_error_set(err, SK_EDATA,
                                "numeric scorer: gold answer '%s' is not a "
                                "number",
                                g->golds[i]);
        d = fabs(p - v);
        if (d <= s->abs_tol || d <= s->rel_tol * fabs(v))
            out->score = 1.0;
    }
    return SK_OK;
}

static int score_choice(const char *pred, const struct sk_ub_gold *g,
                        struct sk_ub_result *out, struct sk_error *err)
{
    size_t cap = 3 * strlen(pred) + 1, i;
    char *got, *want;
    int is_label;

    if (g->n_choices == 0)
        return sk_error_set(err, SK_EDATA,
                            "choice scorer: item has no "
                            "choices");
    for (i = 0; i < g->n_choices; i++)
        if (g->labels[i] && 3 * strlen(g->labels[i]) + 1 > cap)
            cap = 3 * strlen(g->labels[i]) + 1;
    for (i = 0; i < g->n; i++)
        if (3 * strlen(g->golds[i]) + 1 > cap)
            cap = 3 * strlen(g->golds[i]) + 1;
    got = sk_malloc(cap);
    want = sk_malloc(cap);
    if (!got || !want) {
        sk_free(got);
        sk_free(want);
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    }
    is_label =
        sk_choice_parse(pred, g->labels, g->texts, g->n_choices, got, cap);
    out->score = 0.0;
    for (i = 0; is_label && i < g->n; i++) {
        sk_choice_normalize(g->golds[i], want, cap);
        if (strcmp(got, want) == 0)
            out->score = 1.0;
    }
    sk_free(want);
    if (!is_label) {
        sk_free(got);
        return SK_OK;
    }
    out->parsed = got;
    return SK_OK;
}

/* The JSON line a scorer command reads. */
static char *command_input(const char *pred, const struct sk_ub_gold *g)
{
    json_t *o = json_object(), *golds = json_array();
    char *line = NULL;
    size_t i;
    int bad = !o || !golds;

    for (i = 0; !bad && i < g->n; i++)
        bad = json_array_append_new(golds, json_string(g->golds[i])) != 0;
    if (!bad)
        bad = json_object_set_new(o, "id", json_string(g->id ? g->id : "")) ||
              json_object_set_new(o, "prediction", json_string(pred)) ||
              json_object_set(o, "gold", golds) ||
              json_object_set(o, "item",
                              g->item ? (json_t *)g->item : json_null());
    if (!bad)
        line = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    json_decref(golds);
    return line;
}

static int score_command(const struct sk_ub_scorer *s, const char *pred,
                         const struct sk_ub_gold *g, struct sk_ub_result *out,
                         char **reason, struct sk_error *err)
{
    struct sk_buf in, res;
    char *line = command_input(pred, g);
    int rc, hard = -1;

    sk_buf_init(&in, SK_BUF_UNLIMITED);
    sk_buf_init(&res, SK_UB_MAX_OUTPUT);
    if (!line || sk_buf_puts(&in, line) != SK_OK ||
        sk_buf_putc(&in, '\n') != SK_OK) {
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto out;
    }
    rc = sk_ub_command_run(s->argv, s->cwd, sk_buf_cstr(&in), in.len,
                           s->timeout_ms, &res, err);
    if (rc == SK_ENOMEM)
        goto out;
    if (rc != SK_OK) {
        rc = SK_EDATA;
        goto out;
    }
    rc = sk_ub_command_parse(sk_buf_cstr(&res), res.len, &out->score, &hard,
                             reason, err);
    if (rc == SK_EPARSE)
        rc = SK_EDATA;
    if (rc == SK_OK && hard >= 0)
        out->hard = hard;
    else if (rc == SK_OK)
        out->hard = out->score >= s->threshold;
out:
    sk_free(line);
    sk_buf_release(&in);
    sk_buf_release(&res);
    return rc;
}

static const char *const kind_names[] = {
    "EM", "F1", "ANLS", "numeric", "choice", "contains", "command"};

/* The failure description of a scored item that is not hard. */
static int describe(const struct sk_ub_scorer *s, const char *pred,
                    const struct sk_ub_gold *g, const struct sk_ub_result *r,
                    const char *reason, struct sk_buf *b)
{
    const char *name = kind_names[s->kind];
    int rc;

    if (s->kind == SK_UB_NUMERIC && !r->parsed) {
        rc = sk_buf_puts(b, "numeric: predicted ");
        if (rc == SK_OK)
            rc = sk_score_py_repr(pred, strlen(pred), b);
        if (rc == SK_OK)
            rc = sk_buf_puts(b, ", which is not a number; expected ");
        if (rc == SK_OK)
            rc = sk_score_py_list_repr(g->golds, g->n, b);
        return rc;
    }
    if (s->kind == SK_UB_CHOICE) {
        if (r->parsed) {
            rc = sk_buf_puts(b, "choice: read ");
            if (rc == SK_OK)
                rc = sk_score_py_repr(r->parsed, strlen(r->parsed), b);
            if (rc == SK_OK)
                rc = sk_buf_puts(b, " from ");
        } else {
            rc = sk_buf_puts(b, "choice: no option label in ");
        }
        if (rc == SK_OK)
            rc = sk_score_py_repr(pred, strlen(pred), b);
        if (rc == SK_OK)
            rc = sk_buf_puts(b, " but expected ");
        if (rc == SK_OK)
            rc = sk_score_py_list_repr(g->golds, g->n, b);
        return rc;
    }
    if (s->kind == SK_UB_EM || s->kind == SK_UB_NUMERIC ||
        s->kind == SK_UB_CONTAINS)
        rc = sk_buf_printf(b, "%s=%g: ", name, r->score);
    else
        rc = sk_buf_printf(b, "%s=%.4f: ", name, r->score);
    if (rc == SK_OK)
        rc = put_pred_gold(b, pred, g);
    if (rc == SK_OK && s->kind == SK_UB_NUMERIC &&
        (s->abs_tol > 0 || s->rel_tol > 0))
        rc = sk_buf_printf(b, " (within abs %g or rel %g)", s->abs_tol,
                           s->rel_tol);
    if (rc == SK_OK && r->hard == 0 && r->score >= s->threshold)
        rc = sk_buf_puts(b, " (the command said hard 0)");
    else if (rc == SK_OK && r->score > 0 && s->threshold < 1.0)
        rc = sk_buf_printf(b, " (hard needs >= %g)", s->threshold);
    if (rc == SK_OK && reason && *reason)
        rc = sk_buf_printf(b, "; scorer says: %s", reason);
    return rc;
}

int sk_ub_score(const struct sk_ub_scorer *s, const char *pred,
                const struct sk_ub_gold *g, struct sk_ub_result *out,
                struct sk_error *err)
{
    char *reason = NULL;
    int rc = SK_OK, with_squad = 0;

    memset(out, 0, sizeof *out);
    switch (s->kind) {
    case SK_UB_EM:
    case SK_UB_F1:
        rc = sk_searchqa_metrics(pred, strlen(pred), g->golds, g->n, &out->em,
                                 &out->f1, NULL);
        if (rc != SK_OK)
            rc = sk_error_set(err, rc, "out of memory");
        out->score = s->kind == SK_UB_EM ? out->em : out->f1;
        with_squad = 1;
        break;
    case SK_UB_ANLS:
        rc = sk_anls_score(pred, g->golds, g->n, &out->score);
        if (rc != SK_OK)
            rc = sk_error_set(err, rc, "ANLS: %s", sk_strerror(rc));
        break;
    case SK_UB_NUMERIC:
        rc = score_numeric(s, pred, g, out, err);
        break;
    case SK_UB_CHOICE:
        rc = score_choice(pred, g, out, err);
        break;
    case SK_UB_CONTAINS:
        rc = score_contains(pred, g, &out->score);
        if (rc != SK_OK)
            rc = sk_error_set(err, rc, "out of memory");
        break;
    case SK_UB_COMMAND:
        rc = score_command(s, pred, g, out, &reason, err);
        break;
    default:
        rc = sk_error_set(err, SK_EINVAL, "unknown scorer %d", (int)s->kind);
    }
    if (rc != SK_OK)
        goto out;
    if (s->kind != SK_UB_COMMAND)
        out->hard = out->score >= s->threshold;
    if (!with_squad) {
        out->em = out->hard;
        out->f1 = out->score;
    }
    if (!out->hard) {
        struct sk_buf b;
        sk_buf_init(&b, SK_BUF_UNLIMITED);
        rc = describe(s, pred, g, out, reason, &b);
        if (rc == SK_OK)
            rc = sk_buf_reserve(&b, 1);
        if (rc == SK_OK)
            out->detail = sk_buf_detach(&b, NULL);
        sk_buf_release(&b);
        if (rc != SK_OK)
            rc = sk_error_set(err, SK_ENOMEM, "out of memory");
    }
out:
    sk_free(reason);
    if (rc != SK_OK)
        sk_ub_result_release(out);
    return rc;
}
