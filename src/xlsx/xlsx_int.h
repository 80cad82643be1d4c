/*
 * xlsx_int.h - internals shared by the files of src/xlsx/ (not a public
 * interface): the workbook and sheet structures, the expat driver that
 * streams one zip member through a byte counter, and date helpers.
 */
#ifndef SK_XLSX_INT_H
#define SK_XLSX_INT_H

#include <expat.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "util/buf.h"
#include "xlsx/xlsx.h"

struct zip;

#define XLSX_MAIN_NS "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
#define XLSX_REL_NS                                                            \
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
#define XLSX_NS_SEP ' '    /* expat's namespace separator: "uri local" */
#define XLSX_MAX_DEPTH 256 /* deepest element nesting accepted */

/* What a stored cell holds (its openpyxl value is derived on lookup). */
enum xlsx_ckind {
    XC_NONE = 0, /* a cell with value None (also merged, linked cells) */
    XC_INT,      /* Python int: digits in the arena, num its double */
    XC_FLOAT,    /* num */
    XC_BOOL,     /* num 0 or 1 */
    XC_SST,      /* shared string number off */
    XC_TEXT,     /* str in the arena */
    XC_ERROR,    /* error str (t="e") in the arena */
    XC_SERIAL,   /* a date-formatted number num: from_excel on lookup */
    XC_ISO_DT,   /* t="d": us = microseconds since 0001-01-01 00:00 */
    XC_ISO_DATE, /* t="d" date only: us as above (midnight) */
    XC_ISO_TIME, /* t="d" time only: us since midnight */
    XC_ISO_TD    /* t="d" duration: us total */
};

#define XC_F_FORMULA 0x01u   /* the cell has an <f> element */
#define XC_F_TIMEDELTA 0x02u /* XC_SERIAL with a timedelta format */
#define XC_F_INTSERIAL 0x04u /* XC_SERIAL read as a Python int */

struct xlsx_cell {
    int32_t row, col;
    uint32_t seq;  /* document order: the later duplicate wins */
    uint8_t kind;  /* enum xlsx_ckind */
    uint8_t flags; /* XC_F_* */
    uint16_t pad;
    uint32_t off, len;   /* text in the sheet arena, or the sst index */
    uint32_t foff, flen; /* formula "=..." in the arena (flen 0: none) */
    union {
        double num;
        int64_t us;
    } u;
};

struct xlsx_sheet {
    char *name;              /* title as openpyxl gives it */
    char *part;              /* zip member of the worksheet */
    int is_chart;            /* chartsheet: no cells */
    int state;               /* 0 not parsed, 1 parsed, else the failure code */
    char *errmsg;            /* message of the failure */
    struct xlsx_cell *cells; /* sorted by (row, col), no duplicates */
    size_t ncells;
    struct sk_buf arena; /* NUL-terminated texts the cells point into */
    struct sk_xlsx_dims dims;
};

struct sk_xlsx {
    char *name; /* path or label, for messages */
    struct zip *za;
    void *mem; /* our copy of an in-memory archive */
    struct sk_xlsx_limits lim;
    size_t total; /* inflated bytes so far */
    int date1904;
    struct xlsx_sheet *sheets;
    size_t nsheets;
    struct sk_buf sst; /* shared strings, each NUL-terminated */
    uint32_t *sst_off; /* start of string i in sst */
    size_t nsst, sst_cap;
    uint8_t *styles; /* per cellXfs entry: 1 date, 2 timedelta */
    size_t nstyles;  /* at least 1 (openpyxl's default style) */
};

/*
 * One XML part being parsed.  Handlers embed this first in their own
 * context and report failures with xlsx_xml_fail, which stops expat.
 */
struct xlsx_xml {
    XML_Parser p;
    struct sk_xlsx *x;
    const char *part;
    int code;      /* SK_OK or the failure */
    char msg[512]; /* its message (without file and part) */
    int depth;     /* depth of the element being read (root = 1) */
    XML_StartElementHandler start; /* the part's own handlers (may be */
    XML_EndElementHandler end;     /* NULL); depth is kept around them */
    XML_CharacterDataHandler text;
};

/*
 * Streams zip member `part` through a new namespace-aware expat parser
 * whose user data is ctx (ctx->x and ctx->part are set here).  start, end
 * and text may be NULL.  SK_ENOTFOUND (err untouched) when the member is
 * absent; SK_EDATA/SK_ETOOBIG/SK_ENOMEM with err naming file and part.
 */
int xlsx_parse_part(struct sk_xlsx *x, const char *part, struct xlsx_xml *ctx,
                    XML_StartElementHandler start, XML_EndElementHandler end,
                    XML_CharacterDataHandler text, struct sk_error *err);

/* Records the first failure of a handler and stops the parser. */
void xlsx_xml_fail(struct xlsx_xml *c, int code, const char *fmt, ...)
    SK_PRINTF(3, 4);

/* Whether zip member name exists. */
int xlsx_has_part(struct sk_xlsx *x, const char *name);

/* "uri local" name: 1 if it is local in namespace ns (NULL: any). */
int xlsx_name_is(const char *name, const char *ns, const char *local);
/* The local part of an expat name. */
const char *xlsx_local(const char *name);
/* Value of attribute name (exact expat name) in atts, or NULL. */
const char *xlsx_attr(const char **atts, const char *name);

/*
 * Resolves a relationship target the way openpyxl does: relative to the
 * folder of the part owning the .rels file, "/x" absolute, normalised.
 * New string in *out (NULL when the target leaves the package: SK_EDATA).
 */
int xlsx_rel_target(const char *owner_part, const char *target, char **out);

/* One relationship of a .rels part, and the list of them. */
struct xlsx_rel {
    char *id, *type, *target, *mode;
};
struct xlsx_rels {
    struct xlsx_rel *v;
    size_t n, cap;
    size_t *order; /* indices sorted by id, made by xlsx_rels_find */
};

/*
 * Reads the relationships part path into out (appending; release with
 * xlsx_rels_release).  Entries without Id, Type or Target are dropped.
 * SK_ENOTFOUND (err untouched) when the part is absent.
 */
int xlsx_read_rels(struct sk_xlsx *x, const char *path, struct xlsx_rels *out,
                   struct sk_error *err);
void xlsx_rels_release(struct xlsx_rels *r);

/*
 * The first relationship with this Id (as openpyxl's lookup), or NULL;
 * *nomem is set when the index could not be built.  O(log n) after the
 * first call.
 */
const struct xlsx_rel *xlsx_rels_find(struct xlsx_rels *r, const char *id,
                                      int *nomem);

/* The rels part of a part: "xl/_rels/workbook.xml.rels".  New string. */
char *xlsx_rels_path(const char *part);

/* Parses the worksheet of sheet i (sheet.c). */
int xlsx_sheet_parse(struct sk_xlsx *x, size_t i, struct sk_error *err);

/* Python-int text of s[0..n) as an int64 (ValueError-like failures and
 * values outside [min, max] give SK_EPARSE). */
int xlsx_py_int64(const char *s, size_t n, int64_t min, int64_t max,
                  int64_t *out);

/*
 * from_ISO8601 of openpyxl for a t="d" cell: *kind (XC_ISO_*) and *us.
 * SK_EPARSE when Python raises.
 */
int xlsx_iso8601(const char *s, size_t n, uint8_t *kind, int64_t *us);

/* The public value of a stored cell. */
void xlsx_cell_value(const struct sk_xlsx *x, const struct xlsx_sheet *sh,
                     const struct xlsx_cell *c, struct sk_xlsx_value *v);

#endif /* SK_XLSX_INT_H */
