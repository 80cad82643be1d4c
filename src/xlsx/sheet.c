/*
 * sheet.c - one worksheet part parsed the way openpyxl's WorkSheetParser
 * and WorksheetReader bind it with data_only=True: every child of a <row>
 * is a cell, values typed by t= and the cell style, later duplicates win,
 * merged ranges hide all but their top-left cell, and hyperlinks and
 * comments create empty cells (they count in the dimensions).  The formula
 * text of data_only=False is kept beside the value.
 */
#include "common.h"

#include "xlsx/xlsx_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "xlsx/pynum.h"
#include "xlsx/xlsx.h"

#define COMMENTS_REL XLSX_REL_NS "/comments"
#define SEQ_IF_ABSENT 0u       /* created only where no cell is */
#define SEQ_MERGED 0xFFFFFFFFu /* a merged cell replaces any cell */

enum cell_type { T_N, T_S, T_B, T_STR, T_D, T_INLINE, T_OTHER };

struct range {
    int32_t r1, c1, r2, c2;
    int single;                /* hyperlink: ref was one cell */
    uint32_t rid_off, rid_len; /* hyperlink r:id in the arena */
    uint32_t loc_off, loc_len; /* hyperlink location in the arena */
    int has_rid, has_loc;
};

struct shared_f {
    uint32_t key_off, key_len; /* the si text in the arena */
    uint32_t foff, flen;
    int used;
};

struct sheet_ctx {
    struct xlsx_xml xml;
    struct xlsx_sheet *sh;
    struct xlsx_cell *cells;
    size_t n, cap;
    uint32_t seq;
    int64_t row_counter, col_counter;
    int row_depth;
    /* the cell being read */
    int cell_depth;
    enum cell_type t;
    int32_t crow, ccol;
    int64_t style;
    int seen_v, seen_f, seen_is, f_shared, f_has_si;
    struct sk_buf v, f, si;
    /* its inline string */
    int is_depth, in_r, have_plain, have_run;
    struct sk_buf plain, run, runs;
    /* text capture, ElementTree's .text: data before the first child */
    struct sk_buf *dst;
    int cap_depth, capturing;
    /* mergeCells and hyperlinks (the last list of each wins) */
    int merge_depth, link_depth;
    struct range *merges, *links;
    size_t nmerges, capmerges, nlinks, caplinks;
    /* shared formulas by si */
    struct shared_f *sf;
    size_t nsf, capsf;
};

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
    size_t c;
    void *p;
    if (n < *cap)
        return SK_OK;
    c = *cap ? *cap * 2 : 64;
    p = sk_realloc(*v, c * size);
    if (!p)
        return SK_ENOMEM;
    *v = p;
    *cap = c;
    return SK_OK;
}

static void fail_rc(struct sheet_ctx *s, int rc, const char *what)
{
    if (rc == SK_ENOMEM)
        xlsx_xml_fail(&s->xml, rc, "out of memory");
    else
        xlsx_xml_fail(&s->xml, rc, "%s exceeds %zu bytes", what,
                      s->xml.x->lim.max_string_bytes);
}

/* Copies s[0..n) and a NUL into the arena; *off gets its offset. */
static int arena_put(struct sheet_ctx *s, const char *a, size_t an,
                     const char *b, size_t bn, uint32_t *off)
{
    struct sk_buf *ar = &s->sh->arena;
    size_t mark = ar->len;
    int rc = sk_buf_append(ar, a, an);
    if (rc == SK_OK && bn)
        rc = sk_buf_append(ar, b, bn);
    if (rc == SK_OK)
        rc = sk_buf_append(ar, "", 1);
    if (rc != SK_OK) {
        sk_buf_truncate(ar, mark);
        return rc;
    }
    *off = (uint32_t)mark;
    return SK_OK;
}

static int add_cell(struct sheet_ctx *s, const struct xlsx_cell *c)
{
    if (s->n >= s->xml.x->lim.max_cells)
        return SK_ETOOBIG;
    if (grow((void **)&s->cells, &s->cap, s->n, sizeof *s->cells) != SK_OK)
        return SK_ENOMEM;
    s->cells[s->n++] = *c;
    return SK_OK;
}

static void start_capture(struct sheet_ctx *s, struct sk_buf *b)
{
    sk_buf_reset(b);
    s->dst = b;
    s->cap_depth = s->xml.depth;
    s->capturing = 1;
}

/* ---- coordinates ---- */

/* coordinate_to_tuple: letters up to the first digit, int() of the rest. */
static int coordinate(const char *r, int32_t *row, int32_t *col)
{
    size_t n = strlen(r), i = 0;
    int64_t c, v;
    while (i < n && !(r[i] >= '0' && r[i] <= '9'))
        i++;
    if (i == n)
        return SK_EPARSE;
    c = sk_xlsx_col_number(r, i);
    if (c == 0 || xlsx_py_int64(r + i, n - i, INT32_MIN, INT32_MAX, &v))
        return SK_EPARSE;
    *row = (int32_t)v;
    *col = (int32_t)c;
    return SK_OK;
}

static int parse_range32(const char *ref, struct range *out)
{
    int64_t r1, c1, r2, c2;
    if (sk_xlsx_parse_range(ref, strlen(ref), &r1, &c1, &r2, &c2) != SK_OK ||
        r1 > INT32_MAX || r2 > INT32_MAX)
        return SK_EPARSE;
    out->r1 = (int32_t)r1;
    out->c1 = (int32_t)c1;
    out->r2 = (int32_t)r2;
    out->c2 = (int32_t)c2;
    return SK_OK;
}

/* ---- shared formulas ---- */

static struct shared_f *sf_find(struct sheet_ctx *s, const char *key,
                                size_t len, int insert)
{
    uint32_t h = 2166136261u;
    size_t i, k;
    for (i = 0; i < len; i++)
        h = (h ^ (unsigned char)key[i]) * 16777619u;
    if (insert && (s->nsf + 1) * 2 > s->capsf) {
        size_t cap = s->capsf ? s->capsf * 2 : 64;
        struct shared_f *t = sk_calloc(cap, sizeof *t), *old = s->sf;
        size_t oldcap = s->capsf;
        if (!t)
            return NULL;
        s->sf = t;
        s->capsf = cap;
        s->nsf = 0;
        for (k = 0; k < oldcap; k++)
            if (old[k].used) {
                struct shared_f *e = sf_find(
                    s, s->sh->arena.data + old[k].key_off, old[k].key_len, 1);
                *e = old[k];
            }
        sk_free(old);
    }
    if (!s->capsf)
        return NULL;
    for (k = h & (s->capsf - 1);; k = (k + 1) & (s->capsf - 1)) {
        struct shared_f *e = &s->sf[k];
        if (!e->used) {
            if (!insert)
                return NULL;
            e->used = 1;
            e->key_len = (uint32_t)len;
            s->nsf++;
            return e;
        }
        if (e->key_len == len &&
            memcmp(s->sh->arena.data + e->key_off, key, len) == 0)
            return e;
    }
}

/* ---- cells ---- */

static void cell_start(struct sheet_ctx *s, const char **atts)
{
    const char *t = xlsx_attr(atts, "t"), *r = xlsx_attr(atts, "r");
    const char *st = xlsx_attr(atts, "s");
    s->cell_depth = s->xml.depth;
    s->seen_v = s->seen_f = s->seen_is = s->f_shared = s->f_has_si = 0;
    s->is_depth = 0;
    sk_buf_reset(&s->v);
    sk_buf_reset(&s->f);
    if (!t || strcmp(t, "n") == 0)
        s->t = T_N;
    else if (strcmp(t, "s") == 0)
        s->t = T_S;
    else if (strcmp(t, "b") == 0)
        s->t = T_B;
    else if (strcmp(t, "str") == 0)
        s->t = T_STR;
    else if (strcmp(t, "d") == 0)
        s->t = T_D;
    else if (strcmp(t, "inlineStr") == 0)
        s->t = T_INLINE;
    else
        s->t = strcmp(t, "e") == 0 ? T_OTHER + 1 : T_OTHER;
    if (r && r[0]) {
        if (coordinate(r, &s->crow, &s->ccol) != SK_OK) {
            xlsx_xml_fail(&s->xml, SK_EDATA, "bad cell reference \"%.40s\"", r);
            return;
        }
        s->col_counter = s->ccol;
    } else {
        s->col_counter++;
        if (s->col_counter > INT32_MAX || s->row_counter > INT32_MAX ||
            s->row_counter < INT32_MIN) {
            xlsx_xml_fail(&s->xml, SK_EDATA, "cell position out of range");
            return;
        }
        s->crow = (int32_t)s->row_counter;
        s->ccol = (int32_t)s->col_counter;
    }
    s->style = 0;
    if (st) {
        int64_t n = (int64_t)s->xml.x->nstyles;
        if (xlsx_py_int64(st, strlen(st), -n, n - 1, &s->style) != SK_OK) {
            xlsx_xml_fail(&s->xml, SK_EDATA,
                          "cell %.40s: style \"%.20s\" is not one of the "
                          "%zu cell styles",
                          r ? r : "", st, s->xml.x->nstyles);
            return;
        }
    }
}

static int has_float_mark(const struct sk_buf *b)
{
    return memchr(b->data, '.', b->len) || memchr(b->data, 'e', b->len) ||
           memchr(b->data, 'E', b->len);
}

/* The value of a cell with a non-empty <v> (or inline text). */
static int cell_value(struct sheet_ctx *s, struct xlsx_cell *c)
{
    struct sk_xlsx *x = s->xml.x;
    const char *txt = s->v.data;
    size_t len = s->v.len;
    char digits[SK_PYNUM_MAX_INT_DIGITS + 2];
    size_t nd;
    int64_t idx;
    int rc;

    switch ((int)s->t) {
    case T_N: {
        int date = s->style >= 0 && (x->styles[s->style] & 1);
        if (has_float_mark(&s->v)) {
            rc = sk_pynum_float(txt, len, &c->u.num);
            if (rc < 0)
                return rc;
            if (rc == 0)
                return SK_EPARSE;
            c->kind = XC_FLOAT;
        } else {
            if (sk_pynum_int(txt, len, digits, sizeof digits, &nd) != SK_OK)
                return SK_EPARSE;
            c->u.num = strtod(digits, NULL);
            c->kind = XC_INT;
            if (!date) {
                rc = arena_put(s, digits, nd, NULL, 0, &c->off);
                if (rc != SK_OK)
                    return rc;
                c->len = (uint32_t)nd;
            }
        }
        if (date) {
            c->flags |= (uint8_t)(c->kind == XC_INT ? XC_F_INTSERIAL : 0);
            if (x->styles[s->style] & 2)
                c->flags |= XC_F_TIMEDELTA;
            c->kind = XC_SERIAL;
        }
        return SK_OK;
    }
    case T_S:
        if (xlsx_py_int64(txt, len, INT64_MIN / 2, INT64_MAX / 2, &idx))
            return SK_EPARSE;
        if (idx < 0)
            idx += (int64_t)x->nsst; /* Python's negative index */
        if (idx < 0 || (uint64_t)idx >= x->nsst) {
            xlsx_xml_fail(&s->xml, SK_EDATA,
                          "shared string %lld does not exist (%zu strings)",
                          (long long)idx, x->nsst);
            return SK_EDATA;
        }
        c->kind = XC_SST;
        c->off = (uint32_t)idx;
        return SK_OK;
    case T_B:
        if (sk_pynum_int(txt, len, digits, sizeof digits, &nd) != SK_OK)
            return SK_EPARSE;
        c->kind = XC_BOOL;
        c->u.num = strcmp(digits, "0") != 0;
        return SK_OK;
    case T_D:
        if (xlsx_iso8601(txt, len, &c->kind, &c->u.us) != SK_OK)
            return SK_EPARSE;
        return SK_OK;
    default: /* "str", "e" and unknown types keep the text */
        rc = arena_put(s, txt, len, NULL, 0, &c->off);
        if (rc != SK_OK)
            return rc;
        c->len = (uint32_t)len;
        c->kind = s->t == T_OTHER + 1 ? XC_ERROR : XC_TEXT;
        return SK_OK;
    }
}

static int cell_formula(struct sheet_ctx *s, struct xlsx_cell *c)
{
    struct shared_f *e = NULL;
    const char *key = s->f_has_si ? s->si.data : "";
    size_t klen = s->f_has_si ? s->si.len : 0;
    int rc;
    c->flags |= XC_F_FORMULA;
    if (s->f_shared) {
        if (!key)
            key = "";
        e = sf_find(s, key, klen, 0);
        if (e) { /* openpyxl translates the master's formula; we copy it */
            c->foff = e->foff;
            c->flen = e->flen;
            return SK_OK;
        }
    }
    rc = arena_put(s, "=", 1, s->f.data, s->f.len, &c->foff);
    if (rc != SK_OK)
        return rc;
    c->flen = (uint32_t)(s->f.len + 1);
    if (s->f_shared && s->f.len > 0) {
        uint32_t koff, foff = c->foff, flen = c->flen;
        rc = arena_put(s, key, klen, NULL, 0, &koff);
        if (rc != SK_OK)
            return rc;
        e = sf_find(s, s->sh->arena.data + koff, klen, 1);
        if (!e)
            return SK_ENOMEM;
        e->key_off = koff;
        e->foff = foff;
        e->flen = flen;
    }
    return SK_OK;
}

static void cell_end(struct sheet_ctx *s)
{
    struct xlsx_cell c;
    int rc = SK_OK;
    memset(&c, 0, sizeof c);
    c.row = s->crow;
    c.col = s->ccol;
    c.seq = ++s->seq;
    c.kind = XC_NONE;
    s->cell_depth = 0;
    if (s->t != T_INLINE && s->seen_v && s->v.len > 0) {
        rc = cell_value(s, &c);
    } else if (s->t == T_INLINE && s->seen_is) {
        size_t mark = s->sh->arena.len;
        rc = arena_put(s, s->have_plain ? s->plain.data : NULL,
                       s->have_plain ? s->plain.len : 0, s->runs.data,
                       s->runs.len, &c.off);
        c.len = (uint32_t)(s->sh->arena.len - mark - 1);
        c.kind = XC_TEXT;
    }
    if (rc == SK_OK && s->seen_f)
        rc = cell_formula(s, &c);
    if (rc == SK_OK)
        rc = add_cell(s, &c);
    if (rc == SK_EPARSE) {
        char name[8];
        sk_xlsx_col_name(c.col, name);
        xlsx_xml_fail(&s->xml, SK_EDATA,
                      "cell %s%ld: value \"%.40s\" is not valid for its "
                      "type",
                      name, (long)c.row, s->v.data ? s->v.data : "");
    } else if (rc == SK_ETOOBIG) {
        xlsx_xml_fail(&s->xml, rc, "more than %zu cells in the sheet",
                      s->xml.x->lim.max_cells);
    } else if (rc != SK_OK) {
        fail_rc(s, rc, "the sheet text");
    }
}

/* ---- handlers ---- */

static int add_range(struct sheet_ctx *s, const char **atts, int merge)
{
    const char *ref = xlsx_attr(atts, "ref");
    struct range r;
    struct range **v = merge ? &s->merges : &s->links;
    size_t *n = merge ? &s->nmerges : &s->nlinks;
    size_t *cap = merge ? &s->capmerges : &s->caplinks;
    memset(&r, 0, sizeof r);
    if (!ref || parse_range32(ref, &r) != SK_OK) {
        if (merge)
            xlsx_xml_fail(&s->xml, SK_EDATA, "bad merged range \"%.40s\"",
                          ref ? ref : "");
        return SK_OK; /* a bad hyperlink reference is ignored */
    }
    if (merge && (r.r1 > r.r2 || r.c1 > r.c2)) {
        xlsx_xml_fail(&s->xml, SK_EDATA, "bad merged range \"%.40s\"", ref);
        return SK_OK;
    }
    if (!merge) {
        const char *rid = xlsx_attr(atts, XLSX_REL_NS " id");
        const char *loc = xlsx_attr(atts, "location");
        int rc = SK_OK;
        r.single = strchr(ref, ':') == NULL;
        if (rid) {
            r.has_rid = 1;
            r.rid_len = (uint32_t)strlen(rid);
            rc = arena_put(s, rid, r.rid_len, NULL, 0, &r.rid_off);
        }
        if (rc == SK_OK && loc) {
            r.has_loc = 1;
            r.loc_len = (uint32_t)strlen(loc);
            rc = arena_put(s, loc, r.loc_len, NULL, 0, &r.loc_off);
        }
        if (rc != SK_OK) {
            fail_rc(s, rc, "the sheet text");
            return SK_OK;
        }
    }
    if (*n >= s->xml.x->lim.max_cells) {
        xlsx_xml_fail(&s->xml, SK_ETOOBIG, "too many ranges");
        return SK_OK;
    }
    if (grow((void **)v, cap, *n, sizeof **v) != SK_OK) {
        xlsx_xml_fail(&s->xml, SK_ENOMEM, "out of memory");
        return SK_OK;
    }
    (*v)[(*n)++] = r;
    return SK_OK;
}

static void XMLCALL sheet_start(void *ud, const XML_Char *name,
                                const XML_Char **atts)
{
    struct sheet_ctx *s = ud;
    int d = s->xml.depth;
    const char *local = xlsx_local(name);
    s->capturing = 0;
    if (s->cell_depth) {
        if (d == s->cell_depth + 1) {
            if (!s->seen_v && xlsx_name_is(name, XLSX_MAIN_NS, "v")) {
                s->seen_v = 1;
                start_capture(s, &s->v);
            } else if (!s->seen_f && xlsx_name_is(name, XLSX_MAIN_NS, "f")) {
                const char *ft = xlsx_attr(atts, "t");
                const char *si = xlsx_attr(atts, "si");
                s->seen_f = 1;
                s->f_shared = ft && strcmp(ft, "shared") == 0;
                s->f_has_si = si != NULL;
                sk_buf_reset(&s->si);
                if (si && sk_buf_puts(&s->si, si) != SK_OK)
                    fail_rc(s, SK_ETOOBIG, "a shared formula id");
                start_capture(s, &s->f);
            } else if (!s->seen_is && xlsx_name_is(name, XLSX_MAIN_NS, "is")) {
                s->seen_is = 1;
                s->is_depth = d;
                s->in_r = s->have_plain = 0;
                sk_buf_reset(&s->plain);
                sk_buf_reset(&s->runs);
            }
        } else if (s->is_depth && d == s->is_depth + 1) {
            if (strcmp(local, "t") == 0) {
                s->have_plain = 1;
                start_capture(s, &s->plain);
            } else if (strcmp(local, "r") == 0) {
                s->in_r = 1;
                s->have_run = 0;
                sk_buf_reset(&s->run);
            }
        } else if (s->is_depth && s->in_r && d == s->is_depth + 2 &&
                   strcmp(local, "t") == 0) {
            s->have_run = 1;
            start_capture(s, &s->run);
        }
        return;
    }
    if (s->row_depth) {
        if (d == s->row_depth + 1)
            cell_start(s, atts);
        return;
    }
    if (xlsx_name_is(name, XLSX_MAIN_NS, "row")) {
        const char *r = xlsx_attr(atts, "r");
        s->row_depth = d;
        s->col_counter = 0;
        if (!r) {
            s->row_counter++;
        } else {
            int64_t v;
            double f;
            if (xlsx_py_int64(r, strlen(r), INT32_MIN, INT32_MAX, &v) ==
                SK_OK) {
                s->row_counter = v;
            } else if (sk_pynum_float(r, strlen(r), &f) == 1 &&
                       f >= INT32_MIN && f <= INT32_MAX &&
                       f == (double)(int32_t)f) {
                s->row_counter = (int32_t)f;
            } else {
                xlsx_xml_fail(&s->xml, SK_EDATA, "bad row number \"%.40s\"", r);
            }
        }
    } else if (xlsx_name_is(name, XLSX_MAIN_NS, "mergeCells")) {
        s->merge_depth = d;
        s->nmerges = 0;
    } else if (xlsx_name_is(name, XLSX_MAIN_NS, "hyperlinks")) {
        s->link_depth = d;
        s->nlinks = 0;
    } else if (s->merge_depth && d == s->merge_depth + 1 &&
               strcmp(local, "mergeCell") == 0) {
        add_range(s, atts, 1);
    } else if (s->link_depth && d == s->link_depth + 1 &&
               strcmp(local, "hyperlink") == 0) {
        add_range(s, atts, 0);
    }
}

static void XMLCALL sheet_end(void *ud, const XML_Char *name)
{
    struct sheet_ctx *s = ud;
    int d = s->xml.depth;
    (void)name;
    s->capturing = 0;
    if (s->cell_depth) {
        if (d == s->cell_depth)
            cell_end(s);
        else if (s->is_depth && s->in_r && d == s->is_depth + 1) {
            s->in_r = 0;
            if (s->have_run &&
                sk_buf_append(&s->runs, s->run.data ? s->run.data : "",
                              s->run.len) != SK_OK)
                fail_rc(s, SK_ETOOBIG, "an inline string");
        } else if (s->is_depth && d == s->is_depth)
            s->is_depth = 0;
        return;
    }
    if (s->row_depth && d == s->row_depth)
        s->row_depth = 0;
    else if (s->merge_depth && d == s->merge_depth)
        s->merge_depth = 0;
    else if (s->link_depth && d == s->link_depth)
        s->link_depth = 0;
}

static void XMLCALL sheet_text(void *ud, const XML_Char *t, int len)
{
    struct sheet_ctx *s = ud;
    int rc;
    if (!s->capturing || s->xml.depth != s->cap_depth)
        return;
    rc = sk_buf_append(s->dst, t, (size_t)len);
    if (rc != SK_OK)
        fail_rc(s, rc, "a cell text");
}

/* ---- comments: each commented cell exists in openpyxl ---- */

struct comments_ctx {
    struct xlsx_xml xml;
    struct sheet_ctx *s;
};

static void XMLCALL comments_start(void *ud, const XML_Char *name,
                                   const XML_Char **atts)
{
    struct comments_ctx *c = ud;
    const char *ref = xlsx_attr(atts, "ref");
    int64_t row, col;
    struct xlsx_cell cell;
    int rc;
    if (c->xml.depth != 3 || strcmp(xlsx_local(name), "comment") != 0 || !ref)
        return;
    if (sk_xlsx_parse_cell(ref, strlen(ref), &row, &col) != SK_OK || row < 1 ||
        row > INT32_MAX)
        return;
    memset(&cell, 0, sizeof cell);
    cell.row = (int32_t)row;
    cell.col = (int32_t)col;
    cell.seq = SEQ_IF_ABSENT;
    rc = add_cell(c->s, &cell);
    if (rc != SK_OK)
        xlsx_xml_fail(&c->xml, rc,
                      rc == SK_ENOMEM ? "out of memory" : "too many cells");
}

static int read_comments(struct sk_xlsx *x, struct sheet_ctx *s,
                         const struct xlsx_rels *rels, const char *rels_path,
                         struct sk_error *err)
{
    char *target = NULL;
    size_t i;
    int rc = SK_OK;
    for (i = 0; rc == SK_OK && i < rels->n; i++) {
        struct comments_ctx c;
        if (strcmp(rels->v[i].type, COMMENTS_REL) != 0)
            continue;
        if (rels->v[i].mode && strcmp(rels->v[i].mode, "External") == 0)
            continue;
        rc = xlsx_rel_target(s->sh->part, rels->v[i].target, &target);
        if (rc != SK_OK) {
            rc = sk_error_set(err, rc, "%s: %s: %s", x->name, rels_path,
                              rc == SK_ENOMEM
                                  ? "out of memory"
                                  : "a comments target points outside the "
                                    "archive");
            break;
        }
        memset(&c, 0, sizeof c);
        c.s = s;
        rc =
            xlsx_parse_part(x, target, &c.xml, comments_start, NULL, NULL, err);
        if (rc == SK_ENOTFOUND)
            rc = sk_error_set(err, SK_EDATA,
                              "%s: %s: the comments part %s is missing",
                              x->name, rels_path, target);
        sk_free(target);
        target = NULL;
    }
    return rc;
}

/* ---- binding: order, duplicates, merges, dimensions ---- */

static int cmp_cell(const void *a, const void *b)
{
    const struct xlsx_cell *x = a, *y = b;
    if (x->row != y->row)
        return x->row < y->row ? -1 : 1;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return 0;
}

/* Sorts and keeps, of each position, the cell with the highest seq. */
static void settle(struct sheet_ctx *s)
{
    size_t i, o = 0;
    if (s->n > 1)
        qsort(s->cells, s->n, sizeof *s->cells, cmp_cell);
    for (i = 0; i < s->n; i++) {
        if (o > 0 && s->cells[o - 1].row == s->cells[i].row &&
            s->cells[o - 1].col == s->cells[i].col)
            s->cells[o - 1] = s->cells[i];
        else
            s->cells[o++] = s->cells[i];
    }
    s->n = o;
}

/* Adds the cells of a merged range: hidden ones replace any cell there,
 * the top-left one is created when absent (openpyxl's start_cell). */
static int merge_range(struct sheet_ctx *s, size_t idx)
{
    const struct range *r = &s->merges[idx];
    int64_t row, col;
    uint64_t area = (uint64_t)((int64_t)r->r2 - r->r1 + 1) *
                    (uint64_t)((int64_t)r->c2 - r->c1 + 1);
    if (area > s->xml.x->lim.max_cells || s->n + area > s->xml.x->lim.max_cells)
        return SK_ETOOBIG;
    for (row = r->r1; row <= r->r2; row++)
        for (col = r->c1; col <= r->c2; col++) {
            struct xlsx_cell c;
            int rc;
            memset(&c, 0, sizeof c);
            c.row = (int32_t)row;
            c.col = (int32_t)col;
            c.seq = row != r->r1 || col != r->c1 ? SEQ_MERGED : SEQ_IF_ABSENT;
            c.off = (uint32_t)idx; /* a hidden cell knows its range */
            rc = add_cell(s, &c);
            if (rc != SK_OK)
                return rc;
        }
    return SK_OK;
}

static struct xlsx_cell *lookup(struct sheet_ctx *s, size_t n, int64_t row,
                                int64_t col)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        struct xlsx_cell *c = &s->cells[mid];
        if (c->row < row || (c->row == row && c->col < col))
            lo = mid + 1;
        else if (c->row == row && c->col == col)
            return c;
        else
            hi = mid;
    }
    return NULL;
}

/*
 * openpyxl gives every cell of a hyperlink's range the link (cells are
 * created where missing), and a cell whose value is None takes the link's
 * target (or its location) as its value.  Merged cells refuse the link; a
 * single-cell link on one goes to the merge's top-left cell.  settled is
 * the number of sorted cells; new cells are appended (the first link to
 * create a cell wins: decreasing seq).
 */
static int apply_link(struct sheet_ctx *s, size_t settled,
                      const struct range *l, struct xlsx_rels *rels,
                      struct sk_error *err)
{
    const char *value = NULL;
    char *resolved = NULL;
    uint32_t voff = 0, vlen = 0;
    int64_t row, col, r1 = l->r1, c1 = l->c1, r2 = l->r2, c2 = l->c2;
    uint64_t area;
    int rc = SK_OK;

    if (l->has_rid) {
        const char *rid = s->sh->arena.data + l->rid_off;
        int nomem;
        const struct xlsx_rel *rel = xlsx_rels_find(rels, rid, &nomem);
        if (nomem)
            return sk_error_set(err, SK_ENOMEM, "%s: out of memory",
                                s->xml.x->name);
        if (!rel)
            return sk_error_set(err, SK_EDATA,
                                "%s: %s: a hyperlink refers to the unknown "
                                "relationship %.40s",
                                s->xml.x->name, s->sh->part, rid);
        value = rel->target;
        if (!(rel->mode && strcmp(rel->mode, "External") == 0) &&
            xlsx_rel_target(s->sh->part, rel->target, &resolved) == SK_OK)
            value = resolved;
    }
    if (value && value[0]) {
        vlen = (uint32_t)strlen(value);
        rc = arena_put(s, value, vlen, NULL, 0, &voff);
    } else if (l->has_loc && l->loc_len > 0) {
        /* already in the arena (copying it could move it mid-copy) */
        value = "";
        voff = l->loc_off;
        vlen = l->loc_len;
    } else {
        value = NULL;
    }
    sk_free(resolved);
    if (rc != SK_OK)
        return sk_error_set(err, rc, "%s: out of memory", s->xml.x->name);
    if (l->single) {
        const struct xlsx_cell *c = lookup(s, settled, r1, c1);
        if (c && c->seq == SEQ_MERGED) { /* to the range's top-left cell */
            const struct range *m = &s->merges[c->off];
            r1 = r2 = m->r1;
            c1 = c2 = m->c1;
        }
    }
    if (r1 > r2 || c1 > c2)
        return SK_OK;
    area = (uint64_t)(r2 - r1 + 1) * (uint64_t)(c2 - c1 + 1);
    if (area > s->xml.x->lim.max_cells || s->n + area > s->xml.x->lim.max_cells)
        return sk_error_set(
            err, SK_ETOOBIG, "%s: %s: hyperlinks cover more than %zu cells",
            s->xml.x->name, s->sh->part, s->xml.x->lim.max_cells);
    for (row = r1; row <= r2; row++)
        for (col = c1; col <= c2; col++) {
            struct xlsx_cell *c = lookup(s, settled, row, col), nc;
            if (c) {
                if (c->seq != SEQ_MERGED && c->kind == XC_NONE && value) {
                    c->kind = XC_TEXT;
                    c->off = voff;
                    c->len = vlen;
                }
                continue;
            }
            memset(&nc, 0, sizeof nc);
            nc.row = (int32_t)row;
            nc.col = (int32_t)col;
            nc.seq = 0x7FFFFFFFu - (uint32_t)(s->n - settled);
            nc.kind = value ? XC_TEXT : XC_NONE;
            nc.off = voff;
            nc.len = vlen;
            rc = add_cell(s, &nc);
            if (rc != SK_OK)
                return sk_error_set(
                    err, rc, "%s: %s: %s", s->xml.x->name, s->sh->part,
                    rc == SK_ENOMEM ? "out of memory" : "too many cells");
        }
    return SK_OK;
}

static void set_dims(struct xlsx_sheet *sh)
{
    struct sk_xlsx_dims *d = &sh->dims;
    char a[8], b[8];
    size_t i;
    d->min_row = d->min_col = d->max_row = d->max_col = 1;
    if (sh->ncells) {
        d->min_row = d->max_row = sh->cells[0].row;
        d->min_col = d->max_col = sh->cells[0].col;
        for (i = 1; i < sh->ncells; i++) {
            const struct xlsx_cell *c = &sh->cells[i];
            if (c->row < d->min_row)
                d->min_row = c->row;
            if (c->row > d->max_row)
                d->max_row = c->row;
            if (c->col < d->min_col)
                d->min_col = c->col;
            if (c->col > d->max_col)
                d->max_col = c->col;
        }
    }
    sk_xlsx_col_name(d->min_col, a);
    sk_xlsx_col_name(d->max_col, b);
    snprintf(d->text, sizeof d->text, "%s%lld:%s%lld", a, (long long)d->min_row,
             b, (long long)d->max_row);
}

int xlsx_sheet_parse(struct sk_xlsx *x, size_t i, struct sk_error *err)
{
    struct sheet_ctx s;
    struct xlsx_sheet *sh = &x->sheets[i];
    struct xlsx_rels rels;
    char *rels_path = NULL;
    size_t k, settled;
    int rc;
    memset(&s, 0, sizeof s);
    memset(&rels, 0, sizeof rels);
    s.sh = sh;
    s.xml.x = x;
    sk_buf_init(&s.v, x->lim.max_string_bytes);
    sk_buf_init(&s.f, x->lim.max_string_bytes);
    sk_buf_init(&s.si, 256);
    sk_buf_init(&s.plain, x->lim.max_string_bytes);
    sk_buf_init(&s.run, x->lim.max_string_bytes);
    sk_buf_init(&s.runs, x->lim.max_string_bytes);
    sk_buf_reset(&sh->arena);
    rc = xlsx_parse_part(x, sh->part, &s.xml, sheet_start, sheet_end,
                         sheet_text, err);
    if (rc == SK_ENOTFOUND)
        rc = sk_error_set(err, SK_EDATA, "%s: the sheet part %s is missing",
                          x->name, sh->part);
    if (rc == SK_OK) {
        rels_path = xlsx_rels_path(sh->part);
        rc = rels_path
                 ? xlsx_read_rels(x, rels_path, &rels, err)
                 : sk_error_set(err, SK_ENOMEM, "%s: out of memory", x->name);
        if (rc == SK_ENOTFOUND)
            rc = SK_OK;
    }
    /* as openpyxl binds: cells, merged cells, hyperlinks, then comments */
    if (rc == SK_OK) {
        settle(&s);
        for (k = 0; rc == SK_OK && k < s.nmerges; k++)
            rc = merge_range(&s, k);
        if (rc != SK_OK)
            rc = sk_error_set(err, rc, "%s: %s: %s", x->name, sh->part,
                              rc == SK_ENOMEM ? "out of memory"
                                              : "merged ranges cover too "
                                                "many cells");
    }
    if (rc == SK_OK) {
        settle(&s);
        settled = s.n;
        for (k = 0; rc == SK_OK && k < s.nlinks; k++)
            rc = apply_link(&s, settled, &s.links[k], &rels, err);
    }
    if (rc == SK_OK) {
        settle(&s);
        rc = read_comments(x, &s, &rels, rels_path, err);
    }
    if (rc == SK_OK) {
        settle(&s);
        sh->cells = s.cells;
        sh->ncells = s.n;
        s.cells = NULL;
        set_dims(sh);
    }
    xlsx_rels_release(&rels);
    sk_free(rels_path);
    sk_free(s.cells);
    sk_free(s.merges);
    sk_free(s.links);
    sk_free(s.sf);
    sk_buf_release(&s.v);
    sk_buf_release(&s.f);
    sk_buf_release(&s.si);
    sk_buf_release(&s.plain);
    sk_buf_release(&s.run);
    sk_buf_release(&s.runs);
    if (rc != SK_OK)
        sk_buf_release(&sh->arena);
    return rc;
}
