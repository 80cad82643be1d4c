/*
 * xlsx.c - the workbook level of the xlsx reader: opening the archive,
 * [Content_Types].xml, the workbook and its sheets, styles (which cells
 * are dates), shared strings and the public accessors.  Worksheets are
 * parsed in sheet.c, the XML and zip plumbing is in xml.c.
 */
#include "common.h"

#include "xlsx/xlsx.h"

#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "xlsx/pynum.h"
#include "xlsx/xlsx_int.h"

#define CT_PREFIX "application/vnd."
#define CT_XLSX                                                                \
    CT_PREFIX "openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
#define CT_XLTX                                                                \
    CT_PREFIX "openxmlformats-officedocument.spreadsheetml.template.main+xml"
#define CT_XLSM CT_PREFIX "ms-excel.sheet.macroEnabled.main+xml"
#define CT_XLTM CT_PREFIX "ms-excel.template.macroEnabled.main+xml"
#define CT_SST                                                                 \
    CT_PREFIX "openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"

void sk_xlsx_limits_default(struct sk_xlsx_limits *lim)
{
    lim->max_total_bytes = (size_t)256 << 20;
    lim->max_part_bytes = (size_t)128 << 20;
    lim->max_cells = 2000000;
    lim->max_string_bytes = (size_t)1 << 20;
    lim->max_shared_strings = 2000000;
    lim->max_sheets = 4096;
    lim->max_entries = 65536;
}

/* ---- [Content_Types].xml ---- */

struct manifest_ctx {
    struct xlsx_xml xml;
    char *wb_part[4]; /* first Override of XLTM, XLTX, XLSM, XLSX */
    int default_wb;   /* a Default maps an extension to a workbook type */
    char *sst_part;
};

static const char *const wb_types[4] = {CT_XLTM, CT_XLTX, CT_XLSM, CT_XLSX};

static void XMLCALL manifest_start(void *ud, const XML_Char *name,
                                   const XML_Char **atts)
{
    struct manifest_ctx *m = ud;
    const char *ct = xlsx_attr(atts, "ContentType");
    const char *pn = xlsx_attr(atts, "PartName");
    int i;
    if (m->xml.depth != 2 || !ct)
        return;
    if (strcmp(xlsx_local(name), "Default") == 0) {
        for (i = 0; i < 4; i++)
            if (strcmp(ct, wb_types[i]) == 0)
                m->default_wb = 1;
        return;
    }
    if (strcmp(xlsx_local(name), "Override") != 0 || !pn || !pn[0])
        return;
    for (i = 0; i < 4; i++)
        if (strcmp(ct, wb_types[i]) == 0 && !m->wb_part[i]) {
            m->wb_part[i] = sk_strdup(pn + 1);
            if (!m->wb_part[i])
                xlsx_xml_fail(&m->xml, SK_ENOMEM, "out of memory");
        }
    if (strcmp(ct, CT_SST) == 0 && !m->sst_part) {
        m->sst_part = sk_strdup(pn + 1);
        if (!m->sst_part)
            xlsx_xml_fail(&m->xml, SK_ENOMEM, "out of memory");
    }
}

/* ---- workbook.xml and its relationships ---- */

struct wb_sheet {
    char *name;
    char *rid; /* NULL when the sheet has no r:id (openpyxl drops it) */
};

struct wb_ctx {
    struct xlsx_xml xml;
    int in_sheets;
    struct wb_sheet *sheets;
    size_t n, cap;
};

static int date1904_value(const char *v)
{
    /* openpyxl's Bool: "false", "f", "0" (and "") are false. */
    return !(strcmp(v, "false") == 0 || strcmp(v, "f") == 0 ||
             strcmp(v, "0") == 0 || v[0] == '\0');
}

static void XMLCALL wb_start(void *ud, const XML_Char *name,
                             const XML_Char **atts)
{
    struct wb_ctx *w = ud;
    const char *local = xlsx_local(name);
    if (w->xml.depth == 2 && strcmp(local, "workbookPr") == 0) {
        const char *d = xlsx_attr(atts, "date1904");
        w->xml.x->date1904 = d ? date1904_value(d) : 0;
    } else if (w->xml.depth == 2 && strcmp(local, "sheets") == 0) {
        w->in_sheets = 1;
    } else if (w->xml.depth == 3 && w->in_sheets) {
        const char *nm = xlsx_attr(atts, "name");
        const char *rid = xlsx_attr(atts, XLSX_REL_NS " id");
        struct wb_sheet *s;
        if (!nm) {
            xlsx_xml_fail(&w->xml, SK_EDATA, "a sheet has no name");
            return;
        }
        if (w->n >= w->xml.x->lim.max_sheets) {
            xlsx_xml_fail(&w->xml, SK_ETOOBIG, "more than %zu sheets",
                          w->xml.x->lim.max_sheets);
            return;
        }
        if (w->n == w->cap) {
            size_t cap = w->cap ? w->cap * 2 : 8;
            void *p = sk_realloc(w->sheets, cap * sizeof *w->sheets);
            if (!p) {
                xlsx_xml_fail(&w->xml, SK_ENOMEM, "out of memory");
                return;
            }
            w->sheets = p;
            w->cap = cap;
        }
        s = &w->sheets[w->n];
        s->name = sk_strdup(nm);
        s->rid = rid && rid[0] ? sk_strdup(rid) : NULL;
        if (!s->name || (rid && rid[0] && !s->rid)) {
            sk_free(s->name);
            sk_free(s->rid);
            xlsx_xml_fail(&w->xml, SK_ENOMEM, "out of memory");
            return;
        }
        w->n++;
    }
}

static void XMLCALL wb_end(void *ud, const XML_Char *name)
{
    struct wb_ctx *w = ud;
    if (w->xml.depth == 2 && strcmp(xlsx_local(name), "sheets") == 0)
        w->in_sheets = 0;
}

/* ---- styles.xml ---- */

struct numfmt {
    int64_t id;
    char *code;
};

struct styles_ctx {
    struct xlsx_xml xml;
    int in_numfmts, in_xfs;
    struct numfmt *fmts;
    size_t nfmts, capfmts;
    int64_t *xfs; /* numFmtId of each cellXfs entry (last list wins) */
    size_t nxfs, capxfs;
};

static void XMLCALL styles_start(void *ud, const XML_Char *name,
                                 const XML_Char **atts)
{
    struct styles_ctx *s = ud;
    const char *local = xlsx_local(name);
    int64_t id = 0;
    if (s->xml.depth == 2) {
        s->in_numfmts = strcmp(local, "numFmts") == 0;
        s->in_xfs = strcmp(local, "cellXfs") == 0;
        if (s->in_xfs)
            s->nxfs = 0;
        return;
    }
    if (s->xml.depth != 3)
        return;
    if (s->in_numfmts && strcmp(local, "numFmt") == 0) {
        const char *ids = xlsx_attr(atts, "numFmtId");
        const char *code = xlsx_attr(atts, "formatCode");
        if (!ids || !code ||
            xlsx_py_int64(ids, strlen(ids), INT64_MIN, INT64_MAX, &id)) {
            xlsx_xml_fail(&s->xml, SK_EDATA,
                          "a numFmt lacks a valid numFmtId or formatCode");
            return;
        }
        if (s->nfmts >= 65536) {
            xlsx_xml_fail(&s->xml, SK_ETOOBIG, "more than 65536 numFmts");
            return;
        }
        if (s->nfmts == s->capfmts) {
            size_t cap = s->capfmts ? s->capfmts * 2 : 16;
            void *p = sk_realloc(s->fmts, cap * sizeof *s->fmts);
            if (!p) {
                xlsx_xml_fail(&s->xml, SK_ENOMEM, "out of memory");
                return;
            }
            s->fmts = p;
            s->capfmts = cap;
        }
        s->fmts[s->nfmts].id = id;
        s->fmts[s->nfmts].code = sk_strdup(code);
        if (!s->fmts[s->nfmts].code) {
            xlsx_xml_fail(&s->xml, SK_ENOMEM, "out of memory");
            return;
        }
        s->nfmts++;
    } else if (s->in_xfs && strcmp(local, "xf") == 0) {
        const char *ids = xlsx_attr(atts, "numFmtId");
        if (ids && xlsx_py_int64(ids, strlen(ids), INT64_MIN, INT64_MAX, &id)) {
            xlsx_xml_fail(&s->xml, SK_EDATA, "an xf has a bad numFmtId");
            return;
        }
        if (s->nxfs >= s->xml.x->lim.max_cells) {
            xlsx_xml_fail(&s->xml, SK_ETOOBIG, "too many cell styles");
            return;
        }
        if (s->nxfs == s->capxfs) {
            size_t cap = s->capxfs ? s->capxfs * 2 : 64;
            void *p = sk_realloc(s->xfs, cap * sizeof *s->xfs);
            if (!p) {
                xlsx_xml_fail(&s->xml, SK_ENOMEM, "out of memory");
                return;
            }
            s->xfs = p;
            s->capxfs = cap;
        }
        s->xfs[s->nxfs++] = id;
    }
}

static void XMLCALL styles_end(void *ud, const XML_Char *name)
{
    struct styles_ctx *s = ud;
    (void)name;
    if (s->xml.depth == 2)
        s->in_numfmts = s->in_xfs = 0;
}

/* openpyxl's BUILTIN_FORMATS (numbers 0-22 and 37-49). */
static const char *builtin_format(int64_t id)
{
    static const char *const low[] = {"General",
                                      "0",
                                      "0.00",
                                      "#,##0",
                                      "#,##0.00",
                                      "\"$\"#,##0_);(\"$\"#,##0)",
                                      "\"$\"#,##0_);[Red](\"$\"#,##0)",
                                      "\"$\"#,##0.00_);(\"$\"#,##0.00)",
                                      "\"$\"#,##0.00_);[Red](\"$\"#,##0.00)",
                                      "0%",
                                      "0.00%",
                                      "0.00E+00",
                                      "# ?/?",
                                      "# ?\?/??",
                                      "mm-dd-yy",
                                      "d-mmm-yy",
                                      "d-mmm",
                                      "mmm-yy",
                                      "h:mm AM/PM",
                                      "h:mm:ss AM/PM",
                                      "h:mm",
                                      "h:mm:ss",
                                      "m/d/yy h:mm"};
    static const char *const high[] = {
        "#,##0_);(#,##0)",
        "#,##0_);[Red](#,##0)",
        "#,##0.00_);(#,##0.00)",
        "#,##0.00_);[Red](#,##0.00)",
        "_(* #,##0_);_(* \\(#,##0\\);_(* \"-\"_);_(@_)",
        "_(\"$\"* #,##0_);_(\"$\"* \\(#,##0\\);_(\"$\"* \"-\"_);_(@_)",
        "_(* #,##0.00_);_(* \\(#,##0.00\\);_(* \"-\"??_);_(@_)",
        "_(\"$\"* #,##0.00_)_(\"$\"* \\(#,##0.00\\)_(\"$\"* \"-\"??_)_(@_)",
        "mm:ss",
        "[h]:mm:ss",
        "mmss.0",
        "##0.0E+0",
        "@"};
    if (id >= 0 && id <= 22)
        return low[id];
    if (id >= 37 && id <= 49)
        return high[id - 37];
    return NULL;
}

static int read_styles(struct sk_xlsx *x, struct sk_error *err)
{
    struct styles_ctx s;
    size_t i, j;
    int rc;
    memset(&s, 0, sizeof s);
    rc = xlsx_parse_part(x, "xl/styles.xml", &s.xml, styles_start, styles_end,
                         NULL, err);
    if (rc == SK_ENOTFOUND)
        rc = SK_OK;
    if (rc != SK_OK)
        goto out;
    x->nstyles = s.nxfs ? s.nxfs : 1;
    x->styles = sk_calloc(x->nstyles, 1);
    if (!x->styles) {
        rc = sk_error_set(err, SK_ENOMEM, "%s: out of memory", x->name);
        goto out;
    }
    for (i = 0; i < s.nxfs; i++) {
        const char *fmt = builtin_format(s.xfs[i]);
        /* custom formats win over builtins; the last definition counts */
        for (j = s.nfmts; j-- > 0;)
            if (s.fmts[j].id == s.xfs[i]) {
                fmt = s.fmts[j].code;
                break;
            }
        if (sk_xlsx_is_date_format(fmt))
            x->styles[i] =
                (uint8_t)(1 | (sk_xlsx_is_timedelta_format(fmt) ? 2 : 0));
    }
out:
    for (i = 0; i < s.nfmts; i++)
        sk_free(s.fmts[i].code);
    sk_free(s.fmts);
    sk_free(s.xfs);
    return rc;
}

/* ---- sharedStrings.xml ---- */

struct sst_ctx {
    struct xlsx_xml xml;
    int si_depth;        /* depth of the open <si>, 0 when none */
    int cap_depth;       /* depth of the element whose text is captured */
    int capturing;       /* no child has started in it yet */
    struct sk_buf plain; /* last <t> of the si */
    int have_plain;
    struct sk_buf run; /* last <t> of the current <r> */
    int have_run;
    int in_r;           /* inside an <r> of the si */
    struct sk_buf runs; /* the runs so far */
    struct sk_buf *cap; /* where captured text goes */
};

static void XMLCALL sst_start(void *ud, const XML_Char *name,
                              const XML_Char **atts)
{
    struct sst_ctx *s = ud;
    int d = s->xml.depth;
    const char *local = xlsx_local(name);
    (void)atts;
    s->capturing = 0;
    if (!s->si_depth) {
        if (xlsx_name_is(name, XLSX_MAIN_NS, "si")) {
            s->si_depth = d;
            s->have_plain = 0;
            sk_buf_reset(&s->plain);
            sk_buf_reset(&s->runs);
        }
        return;
    }
    if (d == s->si_depth + 1 && strcmp(local, "t") == 0) {
        sk_buf_reset(&s->plain);
        s->have_plain = 1;
        s->cap = &s->plain;
        s->cap_depth = d;
        s->capturing = 1;
    } else if (d == s->si_depth + 1 && strcmp(local, "r") == 0) {
        sk_buf_reset(&s->run);
        s->have_run = 0;
        s->in_r = 1;
    } else if (d == s->si_depth + 2 && s->in_r && strcmp(local, "t") == 0) {
        sk_buf_reset(&s->run);
        s->have_run = 1;
        s->cap = &s->run;
        s->cap_depth = d;
        s->capturing = 1;
    }
}

static void XMLCALL sst_text(void *ud, const XML_Char *t, int len)
{
    struct sst_ctx *s = ud;
    int rc;
    if (!s->capturing || s->xml.depth != s->cap_depth)
        return;
    rc = sk_buf_append(s->cap, t, (size_t)len);
    if (rc != SK_OK)
        xlsx_xml_fail(&s->xml, rc,
                      rc == SK_ENOMEM ? "out of memory"
                                      : "a shared string exceeds %zu bytes",
                      s->xml.x->lim.max_string_bytes);
}

/* Appends s without every "x005F_" (openpyxl's only unescaping). */
static int put_unescaped(struct sk_buf *out, const char *s, size_t n)
{
    static const char pat[] = "x005F_";
    size_t i = 0;
    while (i < n) {
        const char *hit = memmem(s + i, n - i, pat, 6);
        size_t upto = hit ? (size_t)(hit - s) : n;
        int rc = sk_buf_append(out, s + i, upto - i);
        if (rc != SK_OK)
            return rc;
        i = hit ? upto + 6 : n;
    }
    return SK_OK;
}

static void XMLCALL sst_end(void *ud, const XML_Char *name)
{
    struct sst_ctx *s = ud;
    struct sk_xlsx *x = s->xml.x;
    int d = s->xml.depth, rc;
    size_t mark;
    (void)name;
    s->capturing = 0;
    if (!s->si_depth)
        return;
    if (d == s->si_depth + 1 && strcmp(xlsx_local(name), "r") == 0) {
        s->in_r = 0;
        if (s->have_run &&
            sk_buf_append(&s->runs, s->run.data ? s->run.data : "",
                          s->run.len) != SK_OK)
            xlsx_xml_fail(&s->xml, SK_ETOOBIG,
                          "a shared string exceeds %zu bytes",
                          x->lim.max_string_bytes);
        return;
    }
    if (d != s->si_depth)
        return;
    s->si_depth = 0;
    if (x->nsst >= x->lim.max_shared_strings) {
        xlsx_xml_fail(&s->xml, SK_ETOOBIG, "more than %zu shared strings",
                      x->lim.max_shared_strings);
        return;
    }
    if (x->nsst == x->sst_cap) {
        size_t cap = x->sst_cap ? x->sst_cap * 2 : 64;
        void *p = sk_realloc(x->sst_off, cap * sizeof *x->sst_off);
        if (!p) {
            xlsx_xml_fail(&s->xml, SK_ENOMEM, "out of memory");
            return;
        }
        x->sst_off = p;
        x->sst_cap = cap;
    }
    mark = x->sst.len;
    rc = s->have_plain
             ? put_unescaped(&x->sst, s->plain.data ? s->plain.data : "",
                             s->plain.len)
             : SK_OK;
    if (rc == SK_OK)
        rc = put_unescaped(&x->sst, s->runs.data ? s->runs.data : "",
                           s->runs.len);
    if (rc == SK_OK)
        rc = sk_buf_append(&x->sst, "", 1);
    if (rc != SK_OK) {
        sk_buf_truncate(&x->sst, mark);
        xlsx_xml_fail(&s->xml, rc,
                      rc == SK_ENOMEM ? "out of memory"
                                      : "shared strings too large");
        return;
    }
    x->sst_off[x->nsst++] = (uint32_t)mark;
}

static int read_sst(struct sk_xlsx *x, const char *part, struct sk_error *err)
{
    struct sst_ctx s;
    int rc;
    memset(&s, 0, sizeof s);
    sk_buf_init(&s.plain, x->lim.max_string_bytes);
    sk_buf_init(&s.run, x->lim.max_string_bytes);
    sk_buf_init(&s.runs, x->lim.max_string_bytes);
    rc = xlsx_parse_part(x, part, &s.xml, sst_start, sst_end, sst_text, err);
    if (rc == SK_ENOTFOUND)
        rc = sk_error_set(err, SK_EDATA,
                          "%s: the shared strings part %s is missing", x->name,
                          part);
    sk_buf_release(&s.plain);
    sk_buf_release(&s.run);
    sk_buf_release(&s.runs);
    return rc;
}

/* ---- sheet names as openpyxl's title setter makes them ---- */

static int ascii_ieq(const char *a, size_t an, const char *b, size_t bn)
{
    size_t i;
    if (an != bn)
        return 0;
    for (i = 0; i < an; i++) {
        char ca = a[i], cb = b[i];
        if (ca >= 'A' && ca <= 'Z')
            ca = (char)(ca - 'A' + 'a');
        if (cb >= 'A' && cb <= 'Z')
            cb = (char)(cb - 'A' + 'a');
        if (ca != cb)
            return 0;
    }
    return 1;
}

/*
 * openpyxl's avoid_duplicate_name: a title equal (ignoring case) to an
 * existing one gets a number: one more than the largest found after any
 * occurrence of the title in ",".join(existing titles).  ASCII case
 * folding only.
 */
static int sheet_title(struct sk_xlsx *x, const char *name, char **out)
{
    size_t i, n = strlen(name);
    long highest = 0;
    int dup = 0, rc = SK_OK;
    struct sk_buf all;
    *out = NULL;
    if (n == 0 || strpbrk(name, "\\*?:/[]"))
        return SK_EDATA;
    for (i = 0; i < x->nsheets; i++)
        if (ascii_ieq(x->sheets[i].name, strlen(x->sheets[i].name), name, n))
            dup = 1;
    if (!dup) {
        *out = sk_strdup(name);
        return *out ? SK_OK : SK_ENOMEM;
    }
    sk_buf_init(&all, SK_BUF_UNLIMITED);
    for (i = 0; i < x->nsheets && rc == SK_OK; i++) {
        if (i)
            rc = sk_buf_putc(&all, ',');
        if (rc == SK_OK)
            rc = sk_buf_puts(&all, x->sheets[i].name);
    }
    for (i = 0; rc == SK_OK && i + n <= all.len;) {
        long v = 0;
        if (!ascii_ieq(all.data + i, n, name, n)) {
            i++;
            continue;
        }
        i += n;
        while (i < all.len && all.data[i] >= '0' && all.data[i] <= '9') {
            if (v < 100000000)
                v = v * 10 + (all.data[i] - '0');
            i++;
        }
        if (v > highest)
            highest = v;
        if (i < all.len && all.data[i] == ',')
            i++;
    }
    sk_buf_reset(&all);
    if (rc == SK_OK)
        rc = sk_buf_printf(&all, "%s%ld", name, highest + 1);
    if (rc == SK_OK)
        *out = sk_buf_detach(&all, NULL);
    sk_buf_release(&all);
    return *out ? SK_OK : SK_ENOMEM;
}

/* ---- opening ---- */

static int add_sheets(struct sk_xlsx *x, const char *wb_part, struct wb_ctx *w,
                      struct sk_error *err)
{
    struct xlsx_rels r;
    char *rels_path = NULL;
    size_t i;
    int rc = SK_OK, need_rels = 0, nomem = 0;
    memset(&r, 0, sizeof r);
    for (i = 0; i < w->n; i++)
        need_rels |= w->sheets[i].rid != NULL;
    if (!need_rels)
        return SK_OK;
    rels_path = xlsx_rels_path(wb_part);
    if (!rels_path) {
        rc = sk_error_set(err, SK_ENOMEM, "%s: out of memory", x->name);
        goto out;
    }
    rc = xlsx_read_rels(x, rels_path, &r, err);
    if (rc == SK_ENOTFOUND)
        rc = sk_error_set(err, SK_EDATA, "%s: %s is missing", x->name,
                          rels_path);
    if (rc != SK_OK)
        goto out;
    x->sheets = sk_calloc(w->n, sizeof *x->sheets);
    if (!x->sheets) {
        rc = sk_error_set(err, SK_ENOMEM, "%s: out of memory", x->name);
        goto out;
    }
    for (i = 0; i < w->n; i++) {
        const struct xlsx_rel *rel = NULL;
        struct xlsx_sheet *sh;
        char *target = NULL;
        if (!w->sheets[i].rid)
            continue;
        rel = xlsx_rels_find(&r, w->sheets[i].rid, &nomem);
        if (nomem) {
            rc = sk_error_set(err, SK_ENOMEM, "%s: out of memory", x->name);
            goto out;
        }
        if (!rel) {
            rc = sk_error_set(err, SK_EDATA,
                              "%s: %s: sheet '%s' refers to the unknown "
                              "relationship %s",
                              x->name, rels_path, w->sheets[i].name,
                              w->sheets[i].rid);
            goto out;
        }
        if (rel->mode && strcmp(rel->mode, "External") == 0)
            continue; /* never a member of the archive */
        rc = xlsx_rel_target(wb_part, rel->target, &target);
        if (rc == SK_EDATA) {
            rc = sk_error_set(err, SK_EDATA,
                              "%s: %s: the target of sheet '%s' (%s) "
                              "points outside the archive",
                              x->name, rels_path, w->sheets[i].name,
                              rel->target);
            goto out;
        }
        if (rc != SK_OK) {
            rc = sk_error_set(err, rc, "%s: out of memory", x->name);
            goto out;
        }
        if (!xlsx_has_part(x, target)) {
            sk_free(target); /* openpyxl skips a sheet whose part is gone */
            continue;
        }
        sh = &x->sheets[x->nsheets];
        rc = sheet_title(x, w->sheets[i].name, &sh->name);
        if (rc != SK_OK) {
            sk_free(target);
            rc = sk_error_set(err, rc, "%s: %s", x->name,
                              rc == SK_ENOMEM ? "out of memory"
                                              : "a sheet name is empty or has "
                                                "one of \\ * ? : / [ ]");
            goto out;
        }
        sh->part = target;
        sh->is_chart = strstr(rel->type, "chartsheet") != NULL;
        sk_buf_init(&sh->arena, UINT32_MAX - 1);
        x->nsheets++;
    }
out:
    xlsx_rels_release(&r);
    sk_free(rels_path);
    return rc;
}

static int read_workbook(struct sk_xlsx *x, struct sk_error *err)
{
    struct manifest_ctx m;
    struct wb_ctx w;
    const char *wb_part = NULL;
    size_t i;
    int rc;
    memset(&m, 0, sizeof m);
    memset(&w, 0, sizeof w);
    rc = xlsx_parse_part(x, "[Content_Types].xml", &m.xml, manifest_start, NULL,
                         NULL, err);
    if (rc == SK_ENOTFOUND)
        rc = sk_error_set(err, SK_EDATA,
                          "%s: not an xlsx workbook ([Content_Types].xml is "
                          "missing)",
                          x->name);
    if (rc != SK_OK)
        goto out;
    for (i = 0; i < 4 && !wb_part; i++)
        wb_part = m.wb_part[i];
    if (!wb_part && m.default_wb)
        wb_part = "xl/workbook.xml";
    if (!wb_part) {
        rc = sk_error_set(err, SK_EDATA,
                          "%s: [Content_Types].xml names no workbook part",
                          x->name);
        goto out;
    }
    if (m.sst_part) {
        rc = read_sst(x, m.sst_part, err);
        if (rc != SK_OK)
            goto out;
    }
    rc = xlsx_parse_part(x, wb_part, &w.xml, wb_start, wb_end, NULL, err);
    if (rc == SK_ENOTFOUND)
        rc = sk_error_set(err, SK_EDATA, "%s: the workbook part %s is missing",
                          x->name, wb_part);
    if (rc == SK_OK)
        rc = read_styles(x, err);
    if (rc == SK_OK)
        rc = add_sheets(x, wb_part, &w, err);
out:
    for (i = 0; i < 4; i++)
        sk_free(m.wb_part[i]);
    sk_free(m.sst_part);
    for (i = 0; i < w.n; i++) {
        sk_free(w.sheets[i].name);
        sk_free(w.sheets[i].rid);
    }
    sk_free(w.sheets);
    return rc;
}

static int zip_err_code(int ze)
{
    switch (ze) {
    case ZIP_ER_NOENT:
        return SK_ENOTFOUND;
    case ZIP_ER_MEMORY:
        return SK_ENOMEM;
    case ZIP_ER_OPEN:
    case ZIP_ER_READ:
    case ZIP_ER_SEEK:
        return SK_EIO;
    default:
        return SK_EDATA;
    }
}

static struct sk_xlsx *new_book(const char *name,
                                const struct sk_xlsx_limits *lim)
{
    struct sk_xlsx *x = sk_calloc(1, sizeof *x);
    if (!x)
        return NULL;
    x->name = sk_strdup(name);
    if (!x->name) {
        sk_free(x);
        return NULL;
    }
    sk_xlsx_limits_default(&x->lim);
    if (lim) {
        if (lim->max_total_bytes)
            x->lim.max_total_bytes = lim->max_total_bytes;
        if (lim->max_part_bytes)
            x->lim.max_part_bytes = lim->max_part_bytes;
        if (lim->max_cells)
            x->lim.max_cells = lim->max_cells;
        if (lim->max_string_bytes)
            x->lim.max_string_bytes = lim->max_string_bytes;
        if (lim->max_shared_strings)
            x->lim.max_shared_strings = lim->max_shared_strings;
        if (lim->max_sheets)
            x->lim.max_sheets = lim->max_sheets;
        if (lim->max_entries)
            x->lim.max_entries = lim->max_entries;
    }
    if (x->lim.max_part_bytes > (size_t)UINT32_MAX / 2)
        x->lim.max_part_bytes = (size_t)UINT32_MAX / 2;
    sk_buf_init(&x->sst, x->lim.max_part_bytes);
    return x;
}

static int finish_open(struct sk_xlsx *x, struct sk_xlsx **out,
                       struct sk_error *err)
{
    zip_int64_t n = zip_get_num_entries(x->za, 0);
    int rc;
    if (n < 0 || (zip_uint64_t)n > x->lim.max_entries) {
        rc = sk_error_set(err, SK_ETOOBIG, "%s: more than %zu zip members",
                          x->name, x->lim.max_entries);
        goto fail;
    }
    rc = read_workbook(x, err);
    if (rc != SK_OK)
        goto fail;
    *out = x;
    return SK_OK;
fail:
    sk_xlsx_free(x);
    return rc;
}

int sk_xlsx_open(const char *path, const struct sk_xlsx_limits *lim,
                 struct sk_xlsx **out, struct sk_error *err)
{
    struct sk_xlsx *x;
    int ze = 0;
    *out = NULL;
    x = new_book(path, lim);
    if (!x)
        return sk_error_set(err, SK_ENOMEM, "%s: out of memory", path);
    x->za = zip_open(path, ZIP_RDONLY, &ze);
    if (!x->za) {
        zip_error_t e;
        int code = zip_err_code(ze);
        zip_error_init_with_code(&e, ze);
        sk_error_set(err, code, "%s: %s%s", path,
                     code == SK_EDATA ? "not a readable xlsx (zip) file: " : "",
                     zip_error_strerror(&e));
        zip_error_fini(&e);
        sk_xlsx_free(x);
        return code;
    }
    return finish_open(x, out, err);
}

int sk_xlsx_open_mem(const void *data, size_t len, const char *name,
                     const struct sk_xlsx_limits *lim, struct sk_xlsx **out,
                     struct sk_error *err)
{
    struct sk_xlsx *x;
    zip_error_t ze;
    zip_source_t *src;
    *out = NULL;
    if (!name)
        name = "<memory>";
    x = new_book(name, lim);
    if (!x)
        return sk_error_set(err, SK_ENOMEM, "%s: out of memory", name);
    x->mem = sk_malloc(len ? len : 1);
    if (!x->mem) {
        sk_xlsx_free(x);
        return sk_error_set(err, SK_ENOMEM, "%s: out of memory", name);
    }
    if (len)
        memcpy(x->mem, data, len);
    zip_error_init(&ze);
    src = zip_source_buffer_create(x->mem, len, 0, &ze);
    if (src)
        x->za = zip_open_from_source(src, ZIP_RDONLY, &ze);
    if (!x->za) {
        int code = zip_err_code(zip_error_code_zip(&ze));
        sk_error_set(err, code, "%s: %s%s", name,
                     code == SK_EDATA ? "not a readable xlsx (zip) file: " : "",
                     zip_error_strerror(&ze));
        zip_error_fini(&ze);
        if (src)
            zip_source_free(src);
        sk_xlsx_free(x);
        return code;
    }
    zip_error_fini(&ze);
    return finish_open(x, out, err);
}

void sk_xlsx_free(struct sk_xlsx *x)
{
    size_t i;
    if (!x)
        return;
    for (i = 0; i < x->nsheets; i++) {
        sk_free(x->sheets[i].name);
        sk_free(x->sheets[i].part);
        sk_free(x->sheets[i].errmsg);
        sk_free(x->sheets[i].cells);
        sk_buf_release(&x->sheets[i].arena);
    }
    sk_free(x->sheets);
    if (x->za)
        zip_discard(x->za);
    sk_free(x->mem);
    sk_buf_release(&x->sst);
    sk_free(x->sst_off);
    sk_free(x->styles);
    sk_free(x->name);
    sk_free(x);
}

/* ---- accessors ---- */

size_t sk_xlsx_sheet_count(const struct sk_xlsx *x)
{
    return x->nsheets;
}

const char *sk_xlsx_sheet_name(const struct sk_xlsx *x, size_t i)
{
    return i < x->nsheets ? x->sheets[i].name : NULL;
}

long sk_xlsx_sheet_find(const struct sk_xlsx *x, const char *name)
{
    size_t i;
    for (i = 0; i < x->nsheets; i++)
        if (strcmp(x->sheets[i].name, name) == 0)
            return (long)i;
    return -1;
}

int sk_xlsx_sheet_is_chart(const struct sk_xlsx *x, size_t i)
{
    return i < x->nsheets && x->sheets[i].is_chart;
}

int sk_xlsx_date1904(const struct sk_xlsx *x)
{
    return x->date1904;
}

int sk_xlsx_sheet_load(struct sk_xlsx *x, size_t i, struct sk_error *err)
{
    struct xlsx_sheet *sh;
    int rc;
    if (i >= x->nsheets)
        return sk_error_set(err, SK_EINVAL, "%s: no sheet number %zu", x->name,
                            i);
    sh = &x->sheets[i];
    if (sh->state == 1)
        return SK_OK;
    if (sh->state != 0)
        return sk_error_set(err, sh->state, "%s",
                            sh->errmsg ? sh->errmsg : "sheet failed");
    if (sh->is_chart) {
        sh->state = 1;
        snprintf(sh->dims.text, sizeof sh->dims.text, "A1:A1");
        sh->dims.min_row = sh->dims.min_col = 1;
        sh->dims.max_row = sh->dims.max_col = 1;
        return SK_OK;
    }
    {
        struct sk_error local;
        sk_error_clear(&local);
        rc = xlsx_sheet_parse(x, i, &local);
        if (rc == SK_OK) {
            sh->state = 1;
            return SK_OK;
        }
        if (rc != SK_ENOMEM) {
            /* remember the verdict; an allocation failure may pass */
            sh->state = rc;
            sh->errmsg = sk_strdup(local.msg);
        }
        return sk_error_set(err, rc, "%s", local.msg);
    }
}

static const struct xlsx_cell *find_cell(const struct xlsx_sheet *sh,
                                         int64_t row, int64_t col)
{
    size_t lo = 0, hi = sh->ncells;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct xlsx_cell *c = &sh->cells[mid];
        if (c->row < row || (c->row == row && c->col < col))
            lo = mid + 1;
        else if (c->row == row && c->col == col)
            return c;
        else
            hi = mid;
    }
    return NULL;
}

int sk_xlsx_cell(struct sk_xlsx *x, size_t sheet, int64_t row, int64_t col,
                 struct sk_xlsx_value *v, struct sk_error *err)
{
    const struct xlsx_cell *c;
    int rc = sk_xlsx_sheet_load(x, sheet, err);
    memset(v, 0, sizeof *v);
    if (rc != SK_OK)
        return rc;
    c = find_cell(&x->sheets[sheet], row, col);
    if (c)
        xlsx_cell_value(x, &x->sheets[sheet], c, v);
    return SK_OK;
}

const char *sk_xlsx_cell_formula(struct sk_xlsx *x, size_t sheet, int64_t row,
                                 int64_t col)
{
    const struct xlsx_cell *c;
    if (sk_xlsx_sheet_load(x, sheet, NULL) != SK_OK)
        return NULL;
    c = find_cell(&x->sheets[sheet], row, col);
    if (!c || !(c->flags & XC_F_FORMULA))
        return NULL;
    return x->sheets[sheet].arena.data + c->foff;
}

size_t sk_xlsx_cell_count(const struct sk_xlsx *x, size_t sheet)
{
    if (sheet >= x->nsheets || x->sheets[sheet].state != 1)
        return 0;
    return x->sheets[sheet].ncells;
}

int sk_xlsx_cell_at(const struct sk_xlsx *x, size_t sheet, size_t i,
                    int64_t *row, int64_t *col, struct sk_xlsx_value *v)
{
    const struct xlsx_sheet *sh;
    if (sheet >= x->nsheets || x->sheets[sheet].state != 1 ||
        i >= x->sheets[sheet].ncells)
        return SK_EINVAL;
    sh = &x->sheets[sheet];
    *row = sh->cells[i].row;
    *col = sh->cells[i].col;
    xlsx_cell_value(x, sh, &sh->cells[i], v);
    return SK_OK;
}

int sk_xlsx_dims(struct sk_xlsx *x, size_t sheet, struct sk_xlsx_dims *d,
                 struct sk_error *err)
{
    int rc = sk_xlsx_sheet_load(x, sheet, err);
    if (rc != SK_OK)
        return rc;
    *d = x->sheets[sheet].dims;
    return SK_OK;
}
