/*
 * xml.c - the plumbing under the xlsx reader: one zip member streamed
 * through a byte counter into a namespace-aware expat parser (DTDs
 * refused, nesting bounded, memory through the project's allocator),
 * expat name and attribute helpers, package paths and .rels parts.
 */
#include "common.h"

#include "xlsx/xlsx_int.h"

#include <errno.h>
#include <expat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "xlsx/pynum.h"
#include "xlsx/xlsx.h"

#define CHUNK 65536

/* ---- the expat driver ---- */

static const XML_Memory_Handling_Suite xml_mem = {sk_malloc, sk_realloc,
                                                  sk_free};

void xlsx_xml_fail(struct xlsx_xml *c, int code, const char *fmt, ...)
{
    va_list ap;
    if (c->code != SK_OK)
        return;
    c->code = code;
    va_start(ap, fmt);
    vsnprintf(c->msg, sizeof c->msg, fmt, ap);
    va_end(ap);
    XML_StopParser(c->p, XML_FALSE);
}

static void XMLCALL on_start(void *ud, const XML_Char *name,
                             const XML_Char **atts)
{
    struct xlsx_xml *c = ud;
    if (c->code != SK_OK)
        return;
    if (++c->depth > XLSX_MAX_DEPTH) {
        xlsx_xml_fail(c, SK_EDATA, "elements nested deeper than %d",
                      XLSX_MAX_DEPTH);
        return;
    }
    if (c->start)
        c->start(ud, name, atts);
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    struct xlsx_xml *c = ud;
    if (c->code == SK_OK && c->end)
        c->end(ud, name);
    c->depth--;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    struct xlsx_xml *c = ud;
    if (c->code == SK_OK && c->text)
        c->text(ud, s, len);
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name,
                               const XML_Char *sysid, const XML_Char *pubid,
                               int has_internal_subset)
{
    (void)name;
    (void)sysid;
    (void)pubid;
    (void)has_internal_subset;
    xlsx_xml_fail(ud, SK_EDATA, "a DTD is not allowed in a workbook part");
}

static void XMLCALL on_entity(void *ud, const XML_Char *name, int is_param,
                              const XML_Char *value, int value_len,
                              const XML_Char *base, const XML_Char *sysid,
                              const XML_Char *pubid, const XML_Char *notation)
{
    (void)name;
    (void)is_param;
    (void)value;
    (void)value_len;
    (void)base;
    (void)sysid;
    (void)pubid;
    (void)notation;
    xlsx_xml_fail(ud, SK_EDATA, "entity declarations are not allowed");
}

static int zip_fail(struct sk_xlsx *x, const char *part, const char *what,
                    struct sk_error *err)
{
    return sk_error_set(err, SK_EDATA, "%s: %s: %s", x->name, part, what);
}

int xlsx_has_part(struct sk_xlsx *x, const char *name)
{
    return zip_name_locate(x->za, name, 0) >= 0;
}

int xlsx_parse_part(struct sk_xlsx *x, const char *part, struct xlsx_xml *ctx,
                    XML_StartElementHandler start, XML_EndElementHandler end,
                    XML_CharacterDataHandler text, struct sk_error *err)
{
    zip_int64_t idx = zip_name_locate(x->za, part, 0);
    zip_stat_t st;
    zip_file_t *zf = NULL;
    XML_Parser p = NULL;
    size_t part_bytes = 0;
    int rc = SK_OK;

    if (idx < 0)
        return SK_ENOTFOUND;
    zip_stat_init(&st);
    if (zip_stat_index(x->za, (zip_uint64_t)idx, 0, &st) != 0)
        return zip_fail(x, part, zip_strerror(x->za), err);
    if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) &&
        st.encryption_method != ZIP_EM_NONE)
        return zip_fail(x, part, "the member is encrypted", err);
    if ((st.valid & ZIP_STAT_COMP_METHOD) &&
        !zip_compression_method_supported(st.comp_method, 0))
        return zip_fail(x, part, "unsupported compression method", err);
    zf = zip_fopen_index(x->za, (zip_uint64_t)idx, 0);
    if (!zf)
        return zip_fail(x, part, zip_strerror(x->za), err);
    p = XML_ParserCreate_MM(NULL, &xml_mem, " ");
    if (!p) {
        rc = sk_error_set(err, SK_ENOMEM, "%s: %s: out of memory", x->name,
                          part);
        goto out;
    }
    ctx->p = p;
    ctx->x = x;
    ctx->part = part;
    ctx->code = SK_OK;
    ctx->msg[0] = '\0';
    ctx->depth = 0;
    ctx->start = start;
    ctx->end = end;
    ctx->text = text;
    XML_SetUserData(p, ctx);
    XML_SetElementHandler(p, on_start, on_end);
    XML_SetCharacterDataHandler(p, on_text);
    XML_SetStartDoctypeDeclHandler(p, on_doctype);
    XML_SetEntityDeclHandler(p, on_entity);
    for (;;) {
        void *buf = XML_GetBuffer(p, CHUNK);
        zip_int64_t n;
        if (!buf) {
            rc = sk_error_set(err, SK_ENOMEM, "%s: %s: out of memory", x->name,
                              part);
            goto out;
        }
        n = zip_fread(zf, buf, CHUNK);
        if (n < 0) {
            rc = zip_fail(x, part, zip_file_strerror(zf), err);
            goto out;
        }
        part_bytes += (size_t)n;
        x->total += (size_t)n;
        if (part_bytes > x->lim.max_part_bytes ||
            x->total > x->lim.max_total_bytes) {
            rc = sk_error_set(err, SK_ETOOBIG,
                              "%s: %s: inflates to more than %zu bytes "
                              "(part limit %zu, workbook limit %zu)",
                              x->name, part,
                              part_bytes > x->lim.max_part_bytes
                                  ? x->lim.max_part_bytes
                                  : x->lim.max_total_bytes,
                              x->lim.max_part_bytes, x->lim.max_total_bytes);
            goto out;
        }
        if (XML_ParseBuffer(p, (int)n, n == 0) == XML_STATUS_ERROR) {
            if (ctx->code != SK_OK)
                rc = sk_error_set(
                    err, ctx->code, "%s: %s: line %lu: %s", x->name, part,
                    (unsigned long)XML_GetCurrentLineNumber(p), ctx->msg);
            else if (XML_GetErrorCode(p) == XML_ERROR_NO_MEMORY)
                rc = sk_error_set(err, SK_ENOMEM, "%s: %s: out of memory",
                                  x->name, part);
            else
                rc = sk_error_set(
                    err, SK_EDATA, "%s: %s: line %lu: broken XML: %s", x->name,
                    part, (unsigned long)XML_GetCurrentLineNumber(p),
                    XML_ErrorString(XML_GetErrorCode(p)));
            goto out;
        }
        if (n == 0)
            break;
    }
    if (ctx->code != SK_OK)
        rc =
            sk_error_set(err, ctx->code, "%s: %s: %s", x->name, part, ctx->msg);
out:
    if (p)
        XML_ParserFree(p);
    ctx->p = NULL;
    zip_fclose(zf);
    return rc;
}

/* ---- names and attributes ---- */

const char *xlsx_local(const char *name)
{
    const char *sp = strrchr(name, XLSX_NS_SEP);
    return sp ? sp + 1 : name;
}

int xlsx_name_is(const char *name, const char *ns, const char *local)
{
    const char *sp = strrchr(name, XLSX_NS_SEP);
    if (!ns)
        return strcmp(sp ? sp + 1 : name, local) == 0;
    if (!sp)
        return 0;
    return (size_t)(sp - name) == strlen(ns) &&
           memcmp(name, ns, (size_t)(sp - name)) == 0 &&
           strcmp(sp + 1, local) == 0;
}

const char *xlsx_attr(const char **atts, const char *name)
{
    size_t i;
    for (i = 0; atts[i]; i += 2)
        if (strcmp(atts[i], name) == 0)
            return atts[i + 1];
    return NULL;
}

int xlsx_py_int64(const char *s, size_t n, int64_t min, int64_t max,
                  int64_t *out)
{
    char digits[32];
    char *end;
    long long v;
    if (sk_pynum_int(s, n, digits, sizeof digits, NULL) != SK_OK)
        return SK_EPARSE;
    errno = 0;
    v = strtoll(digits, &end, 10);
    if (errno || *end || v < min || v > max)
        return SK_EPARSE;
    *out = v;
    return SK_OK;
}

/* ---- package paths ---- */

char *xlsx_rels_path(const char *part)
{
    const char *slash = strrchr(part, '/');
    struct sk_buf b;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (slash)
        sk_buf_append(&b, part, (size_t)(slash - part) + 1);
    sk_buf_printf(&b, "_rels/%s.rels", slash ? slash + 1 : part);
    if (b.len == 0)
        return NULL;
    return sk_buf_detach(&b, NULL);
}

/* posixpath.normpath of a relative path; NULL result when it climbs out. */
static int normpath(const char *path, char **out)
{
    size_t n = strlen(path), i = 0;
    const char **seg;
    size_t *seglen, nseg = 0;
    struct sk_buf b;
    int rc = SK_OK;
    *out = NULL;
    seg = sk_calloc(n / 2 + 2, sizeof *seg);
    seglen = sk_calloc(n / 2 + 2, sizeof *seglen);
    if (!seg || !seglen) {
        rc = SK_ENOMEM;
        goto out;
    }
    while (i < n) {
        size_t j = i;
        while (j < n && path[j] != '/')
            j++;
        if (j - i == 0 || (j - i == 1 && path[i] == '.')) {
            /* empty or "." */
        } else if (j - i == 2 && path[i] == '.' && path[i + 1] == '.') {
            if (nseg == 0) {
                rc = SK_EDATA;
                goto out;
            }
            nseg--;
        } else {
            seg[nseg] = path + i;
            seglen[nseg++] = j - i;
        }
        i = j + 1;
    }
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    for (i = 0; i < nseg && rc == SK_OK; i++) {
        if (i)
            rc = sk_buf_putc(&b, '/');
        if (rc == SK_OK)
            rc = sk_buf_append(&b, seg[i], seglen[i]);
    }
    if (rc == SK_OK && nseg == 0)
        rc = sk_buf_putc(&b, '.');
    if (rc == SK_OK) {
        *out = sk_buf_detach(&b, NULL);
        if (!*out)
            rc = SK_ENOMEM;
    } else {
        sk_buf_release(&b);
    }
out:
    sk_free(seg);
    sk_free(seglen);
    return rc;
}

int xlsx_rel_target(const char *owner_part, const char *target, char **out)
{
    const char *slash = strrchr(owner_part, '/');
    struct sk_buf b;
    int rc;
    *out = NULL;
    if (target[0] == '/')
        return normpath(target + 1, out);
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    rc = slash ? sk_buf_append(&b, owner_part, (size_t)(slash - owner_part) + 1)
               : SK_OK;
    if (rc == SK_OK)
        rc = sk_buf_puts(&b, target);
    if (rc == SK_OK)
        rc = normpath(sk_buf_cstr(&b), out);
    sk_buf_release(&b);
    return rc;
}

/* ---- relationships ---- */

struct rels_ctx {
    struct xlsx_xml xml;
    struct xlsx_rels *r;
};

static void XMLCALL rels_start(void *ud, const XML_Char *name,
                               const XML_Char **atts)
{
    struct rels_ctx *c = ud;
    struct xlsx_rels *r = c->r;
    const char *id = xlsx_attr(atts, "Id"), *type = xlsx_attr(atts, "Type");
    const char *target = xlsx_attr(atts, "Target");
    const char *mode = xlsx_attr(atts, "TargetMode");
    struct xlsx_rel *e;
    if (c->xml.depth != 2 || strcmp(xlsx_local(name), "Relationship") != 0)
        return;
    if (!id || !type || !target)
        return;
    if (r->n >= 65536) {
        xlsx_xml_fail(&c->xml, SK_ETOOBIG, "more than 65536 relationships");
        return;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        void *p = sk_realloc(r->v, cap * sizeof *r->v);
        if (!p) {
            xlsx_xml_fail(&c->xml, SK_ENOMEM, "out of memory");
            return;
        }
        r->v = p;
        r->cap = cap;
    }
    e = &r->v[r->n];
    e->id = sk_strdup(id);
    e->type = sk_strdup(type);
    e->target = sk_strdup(target);
    e->mode = mode ? sk_strdup(mode) : NULL;
    if (!e->id || !e->type || !e->target || (mode && !e->mode)) {
        sk_free(e->id);
        sk_free(e->type);
        sk_free(e->target);
        sk_free(e->mode);
        xlsx_xml_fail(&c->xml, SK_ENOMEM, "out of memory");
        return;
    }
    r->n++;
}

int xlsx_read_rels(struct sk_xlsx *x, const char *path, struct xlsx_rels *out,
                   struct sk_error *err)
{
    struct rels_ctx c;
    memset(&c, 0, sizeof c);
    c.r = out;
    return xlsx_parse_part(x, path, &c.xml, rels_start, NULL, NULL, err);
}

static int cmp_rel(const void *a, const void *b, void *ctx)
{
    const struct xlsx_rels *r = ctx;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    int c = strcmp(r->v[x].id, r->v[y].id);
    if (c)
        return c;
    return x < y ? -1 : x > y;
}

const struct xlsx_rel *xlsx_rels_find(struct xlsx_rels *r, const char *id,
                                      int *nomem)
{
    size_t lo = 0, hi = r->n, i;
    *nomem = 0;
    if (r->n == 0)
        return NULL;
    if (!r->order) {
        r->order = sk_malloc(r->n * sizeof *r->order);
        if (!r->order) {
            *nomem = 1;
            return NULL;
        }
        for (i = 0; i < r->n; i++)
            r->order[i] = i;
        qsort_r(r->order, r->n, sizeof *r->order, cmp_rel, r);
    }
    while (lo < hi) { /* the first index whose id is >= id */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(r->v[r->order[mid]].id, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < r->n && strcmp(r->v[r->order[lo]].id, id) == 0)
        return &r->v[r->order[lo]];
    return NULL;
}

void xlsx_rels_release(struct xlsx_rels *r)
{
    size_t i;
    for (i = 0; i < r->n; i++) {
        sk_free(r->v[i].id);
        sk_free(r->v[i].type);
        sk_free(r->v[i].target);
        sk_free(r->v[i].mode);
    }
    sk_free(r->v);
    sk_free(r->order);
    r->v = NULL;
    r->order = NULL;
    r->n = r->cap = 0;
}
