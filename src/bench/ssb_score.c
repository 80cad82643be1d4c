/*
 * ssb_score.c - SpreadsheetBench case discovery and cell comparison.
 *
 * The rules follow the reference's port of the official evaluator; where
 * the reference would raise (a malformed position, a sheet only the
 * prediction has, an int too large for a float) the case fails with an
 * "eval-exception" reason, as the reference's rollout records it.  The
 * report text lives in ssb_report.c.
 */
#include "common.h"

#include "bench/ssb_score.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench/pylit.h"
#include "bench/score.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"
#include "xlsx/pynum.h"

#define MAX_TEXT ((size_t)64 << 20)
#define MAX_ROW 1048576
#define MAX_COL 18278

/* ---- case discovery ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int add_case(struct sk_ssb_cases *out, size_t *cap, const char *dir,
                    const char *name, const char *in_suffix,
                    const char *ans_suffix)
{
    struct sk_ssb_case c;
    struct sk_buf b;
    const char *us = strchr(name, '_');
    char *ans_name;
    int rc;
    memset(&c, 0, sizeof c);
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    rc = sk_buf_append(&b, name, strlen(name) - strlen(in_suffix));
    if (rc == SK_OK)
        rc = sk_buf_puts(&b, ans_suffix);
    ans_name = rc == SK_OK ? sk_buf_detach(&b, NULL) : NULL;
    sk_buf_release(&b);
    if (!ans_name)
        return SK_ENOMEM;
    c.answer = sk_fs_join(dir, ans_name);
    sk_free(ans_name);
    if (!c.answer)
        return SK_ENOMEM;
    if (!sk_fs_exists(c.answer)) {
        sk_free(c.answer);
        return SK_OK;
    }
    c.input = sk_fs_join(dir, name);
    c.no = us ? sk_strndup(name, (size_t)(us - name)) : sk_strdup(name);
    if (!c.input || !c.no)
        goto nomem;
    if (out->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        void *p = sk_realloc(out->v, ncap * sizeof *out->v);
        if (!p)
            goto nomem;
        out->v = p;
        *cap = ncap;
    }
    out->v[out->n++] = c;
    return SK_OK;
nomem:
    sk_free(c.no);
    sk_free(c.input);
    sk_free(c.answer);
    return SK_ENOMEM;
}

int sk_ssb_find_cases(const char *task_dir, struct sk_ssb_cases *out,
                      struct sk_error *err)
{
    static const char *const pairs[2][2] = {{"_input.xlsx", "_answer.xlsx"},
                                            {"_init.xlsx", "_golden.xlsx"}};
    DIR *d;
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0, ccap = 0, i, k;
    int rc = SK_OK;

    out->v = NULL;
    out->n = 0;
    d = opendir(task_dir);
    if (!d)
        return sk_error_set(err, errno == ENOENT ? SK_ENOTFOUND : SK_EIO,
                            "task folder %s: %s", task_dir, strerror(errno));
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue; /* glob's "*" does not match hidden names */
        if (!ends_with(e->d_name, pairs[0][0]) &&
            !ends_with(e->d_name, pairs[1][0]))
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            void *p = sk_realloc(names, ncap * sizeof *names);
            if (!p) {
                rc = SK_ENOMEM;
                goto out;
            }
            names = p;
            cap = ncap;
        }
        names[n] = sk_strdup(e->d_name);
        if (!names[n]) {
            rc = SK_ENOMEM;
            goto out;
        }
        n++;
    }
    if (n > 1)
        qsort(names, n, sizeof *names, cmp_str);
    for (k = 0; k < 2 && rc == SK_OK; k++)
        for (i = 0; i < n && rc == SK_OK; i++)
            if (ends_with(names[i], pairs[k][0]))
                rc = add_case(out, &ccap, task_dir, names[i], pairs[k][0],
                              pairs[k][1]);
    if (rc == SK_OK && out->n == 0) {
        char *in = sk_fs_join(task_dir, "initial.xlsx");
        char *ans = sk_fs_join(task_dir, "golden.xlsx");
        if (!in || !ans) {
            rc = SK_ENOMEM;
        } else if (sk_fs_exists(in) && sk_fs_exists(ans)) {
            out->v = sk_calloc(1, sizeof *out->v);
            if (!out->v || !(out->v[0].no = sk_strdup("1"))) {
                rc = SK_ENOMEM;
            } else {
                out->v[0].input = in;
                out->v[0].answer = ans;
                out->n = 1;
                in = ans = NULL;
            }
        }
        sk_free(in);
        sk_free(ans);
    }
out:
    closedir(d);
    for (i = 0; i < n; i++)
        sk_free(names[i]);
    sk_free(names);
    if (rc != SK_OK) {
        sk_ssb_cases_release(out);
        return sk_error_set(err, rc, "task folder %s: out of memory", task_dir);
    }
    return SK_OK;
}

void sk_ssb_cases_release(struct sk_ssb_cases *c)
{
    size_t i;
    for (i = 0; i < c->n; i++) {
        sk_free(c->v[i].no);
        sk_free(c->v[i].input);
        sk_free(c->v[i].answer);
    }
    sk_free(c->v);
    c->v = NULL;
    c->n = 0;
}

/* ---- transform and compare ---- */

int sk_ssb_transform(const struct sk_xlsx_value *v, struct sk_ssb_tvalue *t)
{
    memset(t, 0, sizeof *t);
    switch (v->kind) {
    case SK_XLSX_NONE:
        t->kind = SK_SSB_T_NONE;
        return SK_OK;
    case SK_XLSX_BOOL:
        t->kind = SK_SSB_T_FLOAT;
        t->f = sk_pynum_round(v->b ? 1.0 : 0.0, 2);
        return SK_OK;
    case SK_XLSX_NUMBER:
        if (v->is_int && isinf(v->num))
            return SK_EDATA; /* float(int) raises OverflowError */
        t->kind = SK_SSB_T_FLOAT;
        t->f = sk_pynum_round(v->num, 2);
        return SK_OK;
    case SK_XLSX_STRING: {
        double d;
        int rc = sk_pynum_float(v->str, v->len, &d);
        if (rc < 0)
            return rc;
        if (rc == 1) {
            t->kind = SK_SSB_T_FLOAT;
            t->f = sk_pynum_round(d, 2);
        } else {
            t->kind = SK_SSB_T_STR;
            t->s = v->str;
            t->len = v->len;
        }
        return SK_OK;
    }
    case SK_XLSX_TIME: {
        /* str(t)[:-3]: "HH:MM:SS" or "HH:MM:SS.ffffff" less 3 chars */
        int n = v->usec ? snprintf(t->buf, sizeof t->buf, "%02d:%02d:%02d.%06d",
                                   v->hour, v->minute, v->second, v->usec)
                        : snprintf(t->buf, sizeof t->buf, "%02d:%02d:%02d",
                                   v->hour, v->minute, v->second);
        t->kind = SK_SSB_T_STR;
        t->len = (size_t)n - 3;
        t->buf[t->len] = '\0';
        return SK_OK;
    }
    case SK_XLSX_DATETIME: {
        /* (dt - datetime(1899, 12, 30)): .days + .seconds / 86400, then
         * round(x, 0); microseconds do not count */
        int64_t y = v->year - (v->month <= 2), m = v->month, era, yoe, doy;
        int64_t days;
        long secs = (long)v->hour * 3600 + v->minute * 60 + v->second;
        era = (y >= 0 ? y : y - 399) / 400;
        yoe = y - era * 400;
        doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + v->day - 1;
        days = era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468 +
               25569; /* days since 1970-01-01, then 1899-12-30 */
        t->kind = SK_SSB_T_FLOAT;
        t->f = sk_pynum_round((double)days + (double)secs / 86400.0, 0);
        return SK_OK;
    }
    case SK_XLSX_DATE:
        t->kind = SK_SSB_T_DATE;
        t->year = v->year;
        t->month = v->month;
        t->day = v->day;
        return SK_OK;
    case SK_XLSX_TIMEDELTA:
        t->kind = SK_SSB_T_TIMEDELTA;
        t->td_days = v->td_days;
        t->td_seconds = v->td_seconds;
        t->td_usec = v->td_usec;
        return SK_OK;
    }
    return SK_EINVAL;
}

static const char *tv_str(const struct sk_ssb_tvalue *t)
{
    return t->s ? t->s : t->buf;
}

static int is_empty_str(const struct sk_ssb_tvalue *t)
{
    return t->kind == SK_SSB_T_STR && t->len == 0;
}

int sk_ssb_equal(const struct sk_ssb_tvalue *a, const struct sk_ssb_tvalue *b)
{
    int ea = is_empty_str(a) || a->kind == SK_SSB_T_NONE;
    int eb = is_empty_str(b) || b->kind == SK_SSB_T_NONE;
    if (ea && eb)
        return 1; /* "" and None are alike */
    if (a->kind != b->kind)
        return 0;
    switch (a->kind) {
    case SK_SSB_T_FLOAT:
        return a->f == b->f;
    case SK_SSB_T_STR:
        return a->len == b->len && memcmp(tv_str(a), tv_str(b), a->len) == 0;
    case SK_SSB_T_DATE:
        return a->year == b->year && a->month == b->month && a->day == b->day;
    case SK_SSB_T_TIMEDELTA:
        return a->td_days == b->td_days && a->td_seconds == b->td_seconds &&
               a->td_usec == b->td_usec;
    default:
        return 1;
    }
}

int sk_ssb_tvalue_repr(const struct sk_ssb_tvalue *t, struct sk_buf *out)
{
    struct sk_xlsx_value v;
    struct sk_pylit lit;
    switch (t->kind) {
    case SK_SSB_T_NONE:
        return sk_buf_puts(out, "None");
    case SK_SSB_T_FLOAT:
        memset(&lit, 0, sizeof lit);
        lit.kind = SK_PYLIT_FLOAT;
        lit.f = t->f;
        return sk_pylit_repr(&lit, out);
    case SK_SSB_T_STR:
        return sk_score_py_repr(tv_str(t), t->len, out);
    case SK_SSB_T_DATE:
        return sk_buf_printf(out, "datetime.date(%d, %d, %d)", t->year,
                             t->month, t->day);
    case SK_SSB_T_TIMEDELTA:
        memset(&v, 0, sizeof v);
        v.kind = SK_XLSX_TIMEDELTA;
        v.td_days = t->td_days;
        v.td_seconds = t->td_seconds;
        v.td_usec = t->td_usec;
        return sk_xlsx_value_repr(&v, out);
    }
    return SK_EINVAL;
}

/* ---- results ---- */

void sk_ssb_case_result_init(struct sk_ssb_case_result *r)
{
    memset(r, 0, sizeof *r);
}

void sk_ssb_case_result_release(struct sk_ssb_case_result *r)
{
    sk_free(r->reason);
    sk_free(r->cells);
    sk_free(r->parts);
    sk_free(r->text);
    sk_ssb_case_result_init(r);
}

/*
 * While a result is built its strings are offsets into one buffer (it
 * moves as it grows); finish() turns them into pointers.
 */
struct build {
    struct sk_ssb_case_result *r;
    struct sk_buf text;
    size_t cap_cells, cap_parts;
    struct sk_buf reason;
    size_t max_cells;
};

#define NO_TEXT ((size_t)-1)

static const char *as_off(size_t off)
{
    return (const char *)(uintptr_t)(off + 1); /* 0 stays NULL */
}

static const char *fix(const char *p, const char *base)
{
    return p ? base + ((uintptr_t)p - 1) : NULL;
}

/* Stores s[0..n) NUL-terminated; NO_TEXT once the cap is reached. */
static int put_text(struct build *b, const char *s, size_t n, size_t *off)
{
    size_t mark = b->text.len;
    int rc = sk_buf_append(&b->text, s, n);
    if (rc == SK_OK)
        rc = sk_buf_append(&b->text, "", 1);
    if (rc == SK_ETOOBIG) {
        sk_buf_truncate(&b->text, mark);
        b->r->cut = 1;
        *off = NO_TEXT;
        return SK_OK;
    }
    *off = mark;
    return rc;
}

/* repr() of v, cut to SK_SSB_MAX_REPR bytes ("..." added). */
static int repr_value(const struct sk_xlsx_value *v, struct sk_buf *tmp)
{
    int rc;
    sk_buf_reset(tmp);
    rc = sk_xlsx_value_repr(v, tmp);
    if (rc == SK_ETOOBIG || (rc == SK_OK && tmp->len > SK_SSB_MAX_REPR)) {
        struct sk_xlsx_value cut = *v;
        if (v->kind == SK_XLSX_STRING && v->len > SK_SSB_MAX_REPR)
            cut.len = sk_score_cp_offset(v->str, v->len, SK_SSB_MAX_REPR / 4);
        sk_buf_reset(tmp);
        rc = sk_xlsx_value_repr(&cut, tmp);
        if (rc == SK_OK)
            rc = sk_buf_puts(tmp, "...");
    }
    return rc;
}

static int set_reason(struct build *b, enum sk_ssb_why why, const char *fmt,
                      ...) SK_PRINTF(3, 4);

static int set_reason(struct build *b, enum sk_ssb_why why, const char *fmt,
                      ...)
{
    va_list ap;
    int rc;
    b->r->pass = 0;
    /* the first failure is the one reported, except that the reference
     * raising (or our refusing to expand a range) ends the whole case */
    if (b->r->why != SK_SSB_PASS &&
        !((why == SK_SSB_EXCEPTION || why == SK_SSB_TOO_MANY ||
           why == SK_SSB_LOAD) &&
          (b->r->why == SK_SSB_VALUE || b->r->why == SK_SSB_NO_SHEET)))
        return SK_OK;
    b->r->why = why;
    sk_buf_reset(&b->reason);
    va_start(ap, fmt);
    rc = sk_buf_vprintf(&b->reason, fmt, ap);
    va_end(ap);
    return rc == SK_ETOOBIG ? SK_OK : rc;
}

static int add_part(struct build *b, const char *sheet, size_t sn,
                    const char *range, size_t rn)
{
    struct sk_ssb_part *p;
    size_t so, ro;
    int rc;
    if (b->r->n_parts == b->cap_parts) {
        size_t cap = b->cap_parts ? b->cap_parts * 2 : 4;
        void *np = sk_realloc(b->r->parts, cap * sizeof *b->r->parts);
        if (!np)
            return SK_ENOMEM;
        b->r->parts = np;
        b->cap_parts = cap;
    }
    rc = put_text(b, sheet, sn, &so);
    if (rc == SK_OK)
        rc = put_text(b, range, rn, &ro);
    if (rc != SK_OK)
        return rc;
    p = &b->r->parts[b->r->n_parts++];
    memset(p, 0, sizeof *p);
    p->sheet = so == NO_TEXT ? NULL : as_off(so);
    p->range = ro == NO_TEXT ? NULL : as_off(ro);
    p->first = b->r->n_cells;
    return SK_OK;
}

static int finish(struct build *b)
{
    struct sk_ssb_case_result *r = b->r;
    char *base;
    size_t i;
    r->reason = sk_buf_detach(&b->reason, NULL);
    if (!r->reason)
        r->reason = sk_strdup("");
    if (!r->reason)
        return SK_ENOMEM;
    if (b->text.len == 0 && sk_buf_putc(&b->text, '\0') != SK_OK)
        return SK_ENOMEM;
    r->text = sk_buf_detach(&b->text, NULL);
    if (!r->text)
        return SK_ENOMEM;
    base = r->text;
    for (i = 0; i < r->n_parts; i++) {
        r->parts[i].sheet = fix(r->parts[i].sheet, base);
        r->parts[i].range = fix(r->parts[i].range, base);
        if (!r->parts[i].sheet)
            r->parts[i].sheet = "";
        if (!r->parts[i].range)
            r->parts[i].range = "";
    }
    for (i = 0; i < r->n_cells; i++) {
        struct sk_ssb_cell *c = &r->cells[i];
        c->sheet = fix(c->sheet, base);
        c->ref = fix(c->ref, base);
        c->expected = fix(c->expected, base);
        c->predicted = fix(c->predicted, base);
        c->formula = fix(c->formula, base);
        if (!c->sheet)
            c->sheet = "";
        if (!c->ref)
            c->ref = "";
        if (!c->expected)
            c->expected = "";
        if (!c->predicted)
            c->predicted = "";
    }
    return SK_OK;
}

/* ---- the comparison ---- */

/* str.strip() then .strip("'\"") of s[*b..*e). */
static void strip_part(const char *s, size_t *b, size_t *e)
{
    size_t sb, se;
    sk_score_strip(s + *b, *e - *b, &sb, &se);
    se += *b;
    sb += *b;
    while (sb < se && (s[sb] == '\'' || s[sb] == '"'))
        sb++;
    while (se > sb && (s[se - 1] == '\'' || s[se - 1] == '"'))
        se--;
    *b = sb;
    *e = se;
}

/* One end of a range the way _parse_range reads it: the letters (as
 * uppercase base 26 with ord(c) - 64) and the digits (int()). */
static int range_end(const char *s, size_t n, int64_t *col, int64_t *row)
{
    size_t i, nd = 0;
    int64_t c = 0, r = 0;
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x80)
            return SK_EPARSE; /* non-ASCII letters/digits: not modelled */
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z')) {
            c = c * 26 + (ch - 'A' + 1);
            if (c > ((int64_t)1 << 40))
                c = (int64_t)1 << 40; /* far past any column */
        } else if (ch >= '0' && ch <= '9') {
            r = r * 10 + (ch - '0');
            if (r > ((int64_t)1 << 40))
                r = (int64_t)1 << 40;
            nd++;
        }
    }
    if (nd == 0)
        return SK_EPARSE; /* int("") */
    *col = c;
    *row = r;
    return SK_OK;
}

struct cmp_ctx {
    struct build *b;
    struct sk_xlsx *gold, *pred;
    long gi, pi;
    struct sk_buf tmp, tmp2; /* reprs of the gold and predicted values */
    int part_failed;
    int stop; /* an exception or load error ended the comparison */
    struct sk_error *err;
};

/* Stores a string or marks it missing (NULL) once the text cap is hit. */
static int keep(struct build *b, const char *s, size_t n, const char **out)
{
    size_t off;
    int rc = put_text(b, s, n, &off);
    *out = rc == SK_OK && off != NO_TEXT ? as_off(off) : NULL;
    return rc;
}

/* Compares one cell; returns SK_OK or an error (gold unreadable, OOM). */
static int cmp_cell(struct cmp_ctx *c, const char *sheet, const char *name,
                    size_t nlen, int64_t row, int64_t col)
{
    struct build *b = c->b;
    struct sk_ssb_case_result *r = b->r;
    struct sk_xlsx_value gv, pv;
    struct sk_ssb_tvalue gt, pt;
    struct sk_ssb_cell *cell;
    struct sk_error e;
    int rc, ok, gbad, pbad;
    const char *formula = NULL;

    if (sk_xlsx_sheet_is_chart(c->gold, (size_t)c->gi) ||
        sk_xlsx_sheet_is_chart(c->pred, (size_t)c->pi)) {
        c->stop = 1;
        return set_reason(b, SK_SSB_EXCEPTION,
                          "eval-exception: TypeError: sheet '%s' is a "
                          "chartsheet, it has no cells",
                          sheet);
    }
    sk_error_clear(&e);
    rc = sk_xlsx_cell(c->gold, (size_t)c->gi, row, col, &gv, &e);
    if (rc != SK_OK)
        return sk_error_set(c->err, rc == SK_ENOMEM ? rc : SK_EDATA,
                            "expected workbook: %s", e.msg);
    rc = sk_xlsx_cell(c->pred, (size_t)c->pi, row, col, &pv, &e);
    if (rc == SK_ENOMEM)
        return sk_error_set(c->err, rc, "%s", e.msg);
    if (rc != SK_OK) {
        c->stop = 1;
        return set_reason(b, SK_SSB_LOAD, "load error: %s", e.msg);
    }
    gbad = sk_ssb_transform(&gv, &gt);
    pbad = sk_ssb_transform(&pv, &pt);
    if (gbad == SK_ENOMEM || pbad == SK_ENOMEM)
        return sk_error_set(c->err, SK_ENOMEM, "out of memory");
    if ((gbad || pbad) && !c->part_failed) {
        c->stop = 1;
        return set_reason(b, SK_SSB_EXCEPTION,
                          "eval-exception: OverflowError: int too large to "
                          "convert to float (%s!%.*s)",
                          sheet, (int)nlen, name);
    }
    ok = !gbad && !pbad && sk_ssb_equal(&gt, &pt);
    if (pv.has_formula)
        formula = sk_xlsx_cell_formula(c->pred, (size_t)c->pi, row, col);

    if (r->n_cells == b->cap_cells) {
        size_t cap = b->cap_cells ? b->cap_cells * 2 : 64;
        void *p = sk_realloc(r->cells, cap * sizeof *r->cells);
        if (!p)
            return sk_error_set(c->err, SK_ENOMEM, "out of memory");
        r->cells = p;
        b->cap_cells = cap;
    }
    cell = &r->cells[r->n_cells];
    memset(cell, 0, sizeof *cell);
    cell->row = row;
    cell->col = col;
    cell->pass = ok;
    cell->formula_no_value = pv.has_formula && pv.kind == SK_XLSX_NONE;
    cell->empty =
        ok &&
        (gv.kind == SK_XLSX_NONE ||
         (gv.kind == SK_XLSX_STRING && gv.len == 0)) &&
        (pv.kind == SK_XLSX_NONE || (pv.kind == SK_XLSX_STRING && pv.len == 0));
    cell->sheet = r->parts[r->n_parts - 1].sheet;
    rc = keep(b, name, nlen, &cell->ref);
    if (rc == SK_OK)
        rc = repr_value(&gv, &c->tmp);
    if (rc == SK_OK)
        rc = repr_value(&pv, &c->tmp2);
    if (rc == SK_OK)
        rc = keep(b, c->tmp.data, c->tmp.len, &cell->expected);
    if (rc == SK_OK)
        rc = keep(b, c->tmp2.data, c->tmp2.len, &cell->predicted);
    if (rc == SK_OK && formula)
        rc = keep(b, formula, strlen(formula), &cell->formula);
    if (rc == SK_OK && !ok && !c->part_failed) {
        /* the reference stops this part at its first mismatch */
        c->part_failed = 1;
        rc = set_reason(b, SK_SSB_VALUE, "value@%s!%.*s: gt=%s pred=%s", sheet,
                        (int)nlen, name, c->tmp.data, c->tmp2.data);
    }
    if (rc != SK_OK)
        return sk_error_set(c->err, rc, "out of memory");
    r->n_cells++;
    r->parts[r->n_parts - 1].n++;
    return SK_OK;
}

/* The cells of one part, column-major as _generate_cell_names. */
static int cmp_part(struct cmp_ctx *c, const char *sheet, const char *range,
                    size_t rlen)
{
    struct build *b = c->b;
    const char *colon = memchr(range, ':', rlen);
    int64_t c1, r1, c2, r2, col, row;
    char name[64];
    int rc;

    c->part_failed = 0;
    if (!colon) {
        /* a single cell: ws[range] must accept it as written */
        if (sk_xlsx_parse_cell(range, rlen, &row, &col) != SK_OK || row < 1 ||
            row > MAX_ROW) {
            c->stop = 1;
            return set_reason(b, SK_SSB_EXCEPTION,
                              "eval-exception: ValueError: %.*s is not a "
                              "valid cell",
                              (int)(rlen > 200 ? 200 : rlen), range);
        }
        return cmp_cell(c, sheet, range, rlen, row, col);
    }
    if (memchr(colon + 1, ':', rlen - (size_t)(colon - range) - 1) ||
        range_end(range, (size_t)(colon - range), &c1, &r1) != SK_OK ||
        range_end(colon + 1, rlen - (size_t)(colon - range) - 1, &c2, &r2) !=
            SK_OK) {
        c->stop = 1;
        return set_reason(b, SK_SSB_EXCEPTION,
                          "eval-exception: ValueError: cannot read the range "
                          "%.*s",
                          (int)(rlen > 200 ? 200 : rlen), range);
    }
    if (c2 >= c1 && r2 >= r1) {
        uint64_t n = (uint64_t)(c2 - c1 + 1) * (uint64_t)(r2 - r1 + 1);
        if (c2 - c1 + 1 > (int64_t)b->max_cells ||
            r2 - r1 + 1 > (int64_t)b->max_cells ||
            n + b->r->n_cells > b->max_cells) {
            c->stop = 1;
            return set_reason(b, SK_SSB_TOO_MANY,
                              "answer position too large: %.*s covers more "
                              "than %zu cells",
                              (int)(rlen > 200 ? 200 : rlen), range,
                              b->max_cells);
        }
    }
    for (col = c1; col <= c2; col++)
        for (row = r1; row <= r2; row++) {
            size_t n = sk_xlsx_col_name(col, name);
            if (n == 0 || row < 1 || row > MAX_ROW) {
                /* ws[...] raises, unless the part already failed */
                if (c->part_failed)
                    return SK_OK;
                c->stop = 1;
                return set_reason(b, SK_SSB_EXCEPTION,
                                  "eval-exception: ValueError: the range "
                                  "%.*s leaves the sheet",
                                  (int)(rlen > 200 ? 200 : rlen), range);
            }
            n += (size_t)snprintf(name + n, sizeof name - n, "%lld",
                                  (long long)row);
            rc = cmp_cell(c, sheet, name, n, row, col);
            if (rc != SK_OK || c->stop)
                return rc;
        }
    return SK_OK;
}

int sk_ssb_compare_books(struct sk_xlsx *gold, struct sk_xlsx *pred,
                         const char *answer_position, const char *answer_sheet,
                         size_t max_cells, struct sk_ssb_case_result *res,
                         struct sk_error *err)
{
    struct build b;
    struct cmp_ctx c;
    const char *pos = answer_position ? answer_position : "";
    size_t len = strlen(pos), i = 0;
    int rc = SK_OK;

    sk_ssb_case_result_init(res);
    memset(&b, 0, sizeof b);
    memset(&c, 0, sizeof c);
    b.r = res;
    b.max_cells = max_cells ? max_cells : SK_SSB_MAX_CELLS;
    sk_buf_init(&b.text, MAX_TEXT);
    sk_buf_init(&b.reason, 64 * 1024);
    sk_buf_init(&c.tmp, 8 * SK_SSB_MAX_REPR);
    sk_buf_init(&c.tmp2, 8 * SK_SSB_MAX_REPR);
    c.b = &b;
    c.gold = gold;
    c.pred = pred;
    c.err = err;
    res->pass = 1;
    if (!pred) {
        rc = set_reason(&b, SK_SSB_NO_FILE, "file not exist");
        goto done;
    }
    while (i <= len && rc == SK_OK && !c.stop) {
        const char *comma = memchr(pos + i, ',', len - i);
        size_t e = comma ? (size_t)(comma - pos) : len;
        size_t pb = i, pe = e, sb, se, rb, re;
        const char *bang, *sheet;
        size_t slen;
        char *sheet_z = NULL;

        i = e + 1;
        sk_score_strip(pos + pb, pe - pb, &sb, &se);
        if (se == sb)
            continue;
        pe = pb + se;
        pb += sb;
        bang = memchr(pos + pb, '!', pe - pb);
        if (bang) {
            sb = pb;
            se = (size_t)(bang - pos);
            strip_part(pos, &sb, &se);
            sheet = pos + sb;
            slen = se - sb;
            rb = (size_t)(bang - pos) + 1;
        } else {
            if (answer_sheet && answer_sheet[0]) {
                sheet = answer_sheet;
            } else if (sk_xlsx_sheet_count(gold) > 0) {
                sheet = sk_xlsx_sheet_name(gold, 0);
            } else {
                c.stop = 1;
                rc = set_reason(&b, SK_SSB_EXCEPTION,
                                "eval-exception: IndexError: the gold "
                                "workbook has no sheets");
                break;
            }
            slen = strlen(sheet);
            rb = pb;
        }
        re = pe;
        strip_part(pos, &rb, &re);
        rc = add_part(&b, sheet, slen, pos + rb, re - rb);
        if (rc != SK_OK) {
            rc = sk_error_set(err, rc, "out of memory");
            break;
        }
        sheet_z = sk_strndup(sheet, slen);
        if (!sheet_z) {
            rc = sk_error_set(err, SK_ENOMEM, "out of memory");
            break;
        }
        c.pi = sk_xlsx_sheet_find(pred, sheet_z);
        c.gi = sk_xlsx_sheet_find(gold, sheet_z);
        if (c.pi < 0) {
            res->parts[res->n_parts - 1].missing = 1;
            rc = set_reason(&b, SK_SSB_NO_SHEET, "worksheet not found: %s",
                            sheet_z);
        } else if (c.gi < 0) {
            c.stop = 1;
            rc = set_reason(&b, SK_SSB_EXCEPTION,
                            "eval-exception: KeyError: 'Worksheet %s does "
                            "not exist.'",
                            sheet_z);
        } else {
            rc = cmp_part(&c, sheet_z, pos + rb, re - rb);
        }
        sk_free(sheet_z);
    }
done:
    if (rc == SK_OK)
        rc = finish(&b);
    sk_buf_release(&b.text);
    sk_buf_release(&b.reason);
    sk_buf_release(&c.tmp);
    sk_buf_release(&c.tmp2);
    if (rc != SK_OK) {
        if (err && err->code == SK_OK)
            sk_error_set(err, rc, "out of memory");
        sk_ssb_case_result_release(res);
        return rc;
    }
    return SK_OK;
}

int sk_ssb_compare_opts(const char *gold_path, const char *pred_path,
                        const char *answer_position, const char *answer_sheet,
                        const struct sk_ssb_opts *opts,
                        struct sk_ssb_case_result *res, struct sk_error *err)
{
    const struct sk_xlsx_limits *lim = opts ? opts->limits : NULL;
    struct sk_xlsx *gold = NULL, *pred = NULL;
    struct sk_error e;
    struct stat st;
    int rc;

    sk_ssb_case_result_init(res);
    sk_error_clear(&e);
    rc = sk_xlsx_open(gold_path, lim, &gold, &e);
    if (rc != SK_OK)
        return sk_error_set(err, rc == SK_ENOMEM ? rc : SK_EDATA,
                            "expected workbook: %s", e.msg);
    if (stat(pred_path, &st) != 0) {
        rc = sk_ssb_compare_books(gold, NULL, answer_position, answer_sheet,
                                  opts ? opts->max_cells : 0, res, err);
        goto out;
    }
    rc = sk_xlsx_open(pred_path, lim, &pred, &e);
    if (rc == SK_ENOMEM) {
        sk_error_set(err, rc, "%s", e.msg);
        goto out;
    }
    if (rc != SK_OK) {
        struct sk_buf msg;
        sk_buf_init(&msg, 4096);
        res->pass = 0;
        res->why = SK_SSB_LOAD;
        sk_buf_printf(&msg, "load error: %s", e.msg);
        res->reason = sk_buf_detach(&msg, NULL);
        sk_buf_release(&msg);
        res->text = sk_strdup("");
        if (!res->reason || !res->text) {
            sk_ssb_case_result_release(res);
            rc = sk_error_set(err, SK_ENOMEM, "out of memory");
        } else {
            rc = SK_OK;
        }
        goto out;
    }
    rc = sk_ssb_compare_books(gold, pred, answer_position, answer_sheet,
                              opts ? opts->max_cells : 0, res, err);
out:
    sk_xlsx_free(gold);
    sk_xlsx_free(pred);
    return rc;
}

int sk_ssb_compare(const char *gold_path, const char *pred_path,
                   const char *answer_position, const char *answer_sheet,
                   struct sk_ssb_case_result *res, struct sk_error *err)
{
    return sk_ssb_compare_opts(gold_path, pred_path, answer_position,
                               answer_sheet, NULL, res, err);
}
