/*
 * yaml.c - YAML text to a libfyaml document, with UTF-8 checked first and
 * errors collected instead of printed (see yaml.h).
 */
#include "common.h"
#include "config/yaml.h"

#include <string.h>

#include <libfyaml.h>

#include "util/utf8.h"

int sk_yaml_parse(const char *path, const char *text, size_t len,
                  struct fy_document **out, struct sk_error *err)
{
    struct fy_diag_cfg dcfg;
    struct fy_diag *diag;
    struct fy_parse_cfg pcfg;
    struct fy_document *doc;
    size_t bad = 0;
    int rc = SK_OK;

    *out = NULL;
    if (!sk_utf8_valid(text, len, &bad)) {
        int line, col;
        sk_text_line_col(text, bad, &line, &col);
        return sk_error_set(
            err, SK_ECONFIG, "%s:%d:%d: not a UTF-8 text file (%s at byte %zu)",
            path, line, col, text[bad] ? "invalid UTF-8" : "NUL byte", bad);
    }

    fy_diag_cfg_default(&dcfg);
    dcfg.fp = NULL;
    dcfg.colorize = false;
    diag = fy_diag_create(&dcfg);
    if (!diag)
        return sk_error_set(err, SK_ENOMEM, "%s: out of memory", path);
    fy_diag_set_collect_errors(diag, true);
    memset(&pcfg, 0, sizeof pcfg);
    pcfg.flags = FYPCF_QUIET | FYPCF_RESOLVE_DOCUMENT;
    pcfg.diag = diag;
    doc = fy_document_build_from_string(&pcfg, text, len);
    if (!doc || fy_diag_got_error(diag)) {
        void *it = NULL;
        struct fy_diag_error *e = fy_diag_errors_iterate(diag, &it);
        if (e)
            /* libfyaml's collected errors are already 1-based */
            rc = sk_error_set(err, SK_ECONFIG, "%s:%d:%d: invalid YAML: %s",
                              path, e->line, e->column, e->msg);
        else
            rc = sk_error_set(err, SK_ECONFIG, "%s: invalid YAML", path);
        if (doc)
            fy_document_destroy(doc);
        doc = NULL;
    }
    fy_diag_destroy(diag);
    *out = doc;
    return rc;
}
