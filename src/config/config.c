/*
 * config.c - YAML (libfyaml) to struct sk_config, driven by options.def.
 *
 * A source (one YAML layer, --cfg-options, flags) is first read into a
 * "layer": for every option, the raw text found and where it was found.
 * Layers are stacked by precedence, and only then is each winning raw value
 * converted by its option's type.  Working on raw text instead of YAML's own
 * typing lets a string option keep `2:1:7` or `0.10` exactly as written,
 * which PyYAML would have turned into numbers.
 */
#include "common.h"
#include "config/config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <libfyaml.h>

#include "config/yaml.h"
#include "util/alloc.h"
#include "util/fs.h"
#include "util/log.h"

#define MAX_CONFIG_BYTES (1u << 20) /* a config file is small text */
#define MAX_BASE_DEPTH 32

enum raw_kind { RAW_ABSENT = 0, RAW_SCALAR, RAW_LIST };

/* One value as a source gave it, before conversion. */
struct raw {
    enum raw_kind kind;
    int quoted;   /* scalar: written quoted (never a number or bool) */
    char *text;   /* scalar text */
    char **items; /* list items */
    size_t n_items;
    char *loc; /* "file:line:col" or "--cfg-options k=v" */
    int prio;  /* within one layer: canonical structured key wins */
};

struct layer {
    struct raw v[SK_OPT_COUNT];
};

static const char *const sections[] = {
    "model", "train", "gradient", "optimizer", "evaluation", "env", "llm"};

/* Reference aliases of two Codex keys, in the reference's fallback order. */
static const struct {
    const char *alias;
    const char *canonical;
} codex_aliases[] = {
    {"codex_path", "codex_exec_path"},
    {"codex_cli_bin", "codex_exec_path"},
    {"codex_bin", "codex_exec_path"},
    {"sandbox", "codex_exec_sandbox"},
    {"codex_sandbox", "codex_exec_sandbox"},
};

/* ---- small helpers ------------------------------------------------------ */

static void raw_release(struct raw *r)
{
    size_t i;
    sk_free(r->text);
    for (i = 0; i < r->n_items; i++)
        sk_free(r->items[i]);
    sk_free(r->items);
    sk_free(r->loc);
    memset(r, 0, sizeof *r);
}

static void layer_free(struct layer *l)
{
    int i;
    if (!l)
        return;
    for (i = 0; i < SK_OPT_COUNT; i++)
        raw_release(&l->v[i]);
    sk_free(l);
}

/* Moves every value set in top over the same option of base. */
static void layer_overlay(struct layer *base, struct layer *top)
{
    int i;
    for (i = 0; i < SK_OPT_COUNT; i++) {
        if (top->v[i].kind == RAW_ABSENT)
            continue;
        raw_release(&base->v[i]);
        base->v[i] = top->v[i];
        memset(&top->v[i], 0, sizeof top->v[i]);
    }
}

static int is_section(const char *s)
{
    size_t i;
    for (i = 0; i < SK_ARRAY_LEN(sections); i++)
        if (strcmp(sections[i], s) == 0)
            return 1;
    return 0;
}

static const char *option_name(int id, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s.%s", sk_options[id].section, sk_options[id].key);
    return buf;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), i, j;
    size_t row[128];
    if (la >= 127 || lb >= 127)
        return (size_t)-1;
    for (j = 0; j <= lb; j++)
        row[j] = j;
    for (i = 1; i <= la; i++) {
        size_t prev = row[0];
        row[0] = i;
        for (j = 1; j <= lb; j++) {
            size_t cur = row[j];
            size_t best = prev + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            prev = cur;
        }
    }
    return row[lb];
}

/* Best candidate for a misspelt key, or NULL if nothing is close. */
struct suggest {
    const char *best;
    size_t dist;
};

static void suggest_try(struct suggest *s, const char *typed, const char *cand)
{
    size_t d = edit_distance(typed, cand);
    size_t limit = strlen(typed) / 3 + 1;
    if (limit < 2)
        limit = 2;
    if (d <= limit && (!s->best || d < s->dist)) {
        s->best = cand;
        s->dist = d;
    }
}

static const char *suggest_in_section(const char *section, const char *key)
{
    struct suggest s = {NULL, 0};
    int i;
    for (i = 0; i < SK_OPT_COUNT; i++)
        if (strcmp(sk_options[i].section, section) == 0 &&
            !(sk_options[i].flags & SK_OPTF_RETIRED))
            suggest_try(&s, key, sk_options[i].key);
    return s.best;
}

static const char *suggest_flat(const char *key, char *buf, size_t cap)
{
    struct suggest s = {NULL, 0};
    size_t k;
    int i;
    for (k = 0; k < SK_ARRAY_LEN(sections); k++)
        suggest_try(&s, key, sections[k]);
    for (i = 0; i < SK_OPT_COUNT; i++)
        if (!(sk_options[i].flags & SK_OPTF_RETIRED))
            suggest_try(&s, key, sk_options[i].flat);
    if (!s.best)
        return NULL;
    snprintf(buf, cap, "%s", s.best);
    return buf;
}

/* ---- key lookup --------------------------------------------------------- */

int sk_option_find(const char *section, const char *key)
{
    int i;
    size_t k;
    for (i = 0; i < SK_OPT_COUNT; i++)
        if (strcmp(sk_options[i].section, section) == 0 &&
            strcmp(sk_options[i].key, key) == 0)
            return i;
    if (strcmp(section, "model") == 0)
        for (k = 0; k < SK_ARRAY_LEN(codex_aliases); k++)
            if (strcmp(codex_aliases[k].alias, key) == 0)
                return sk_option_find("model", codex_aliases[k].canonical);
    return -1;
}

int sk_option_find_flat(const char *name)
{
    int i;
    size_t k;
    for (i = 0; i < SK_OPT_COUNT; i++)
        if (strcmp(sk_options[i].flat, name) == 0)
            return i;
    for (k = 0; k < SK_ARRAY_LEN(codex_aliases); k++)
        if (strcmp(codex_aliases[k].alias, name) == 0)
            return sk_option_find_flat(codex_aliases[k].canonical);
    if (strcmp(name, "backend") == 0) /* the reference's --backend flag */
        return SK_OPT_model_backend;
    return -1;
}

/* Precedence of a spelling inside one layer (higher wins). */
static int key_prio(int structured, const char *key)
{
    size_t k;
    int base = structured ? 100 : 50;
    for (k = 0; k < SK_ARRAY_LEN(codex_aliases); k++)
        if (strcmp(codex_aliases[k].alias, key) == 0)
            return base - 10 - (int)k;
    return base;
}

/* ---- YAML reading ------------------------------------------------------- */

static char *mark_loc(const char *path, struct fy_node *key)
{
    struct fy_token *t = fy_node_get_scalar_token(key);
    const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
    struct sk_buf b;
    sk_buf_init(&b, 8192);
    if (m)
        sk_buf_printf(&b, "%s:%d:%d", path, m->line + 1, m->column + 1);
    else
        sk_buf_puts(&b, path);
    return sk_buf_detach(&b, NULL);
}

static int scalar_is_plain(struct fy_node *n)
{
    return fy_node_get_style(n) == FYNS_PLAIN;
}

static char *scalar_dup(struct fy_node *n)
{
    size_t len = 0;
    const char *s = fy_node_get_scalar(n, &len);
    return sk_strndup(s ? s : "", s ? len : 0);
}

/* A missing value, or a plain ~ / null / Null / NULL / empty scalar. */
static int node_is_null(struct fy_node *v)
{
    size_t len = 0;
    const char *t;
    if (!v)
        return 1;
    if (!fy_node_is_scalar(v) || !scalar_is_plain(v))
        return 0;
    t = fy_node_get_scalar(v, &len);
    if (!t || len == 0)
        return 1;
    return (len == 1 && t[0] == '~') ||
           (len == 4 && (!memcmp(t, "null", 4) || !memcmp(t, "Null", 4) ||
                         !memcmp(t, "NULL", 4)));
}

/* Fills r from a YAML value node (scalar or sequence of scalars). */
static int raw_from_node(const char *loc, const char *name, struct fy_node *v,
                         struct raw *r, struct sk_error *err)
{
    void *it = NULL;
    struct fy_node *item;
    size_t n = 0;

    if (!v || fy_node_is_scalar(v)) {
        r->kind = RAW_SCALAR;
        r->quoted = v ? !scalar_is_plain(v) : 0;
        r->text = v ? scalar_dup(v) : sk_strdup("");
        return r->text ? SK_OK : SK_ENOMEM;
    }
    if (fy_node_is_mapping(v))
        return sk_error_set(err, SK_ECONFIG,
                            "%s: %s: expected a value, found a mapping", loc,
                            name);
    r->kind = RAW_LIST;
    n = (size_t)fy_node_sequence_item_count(v);
    r->items = sk_calloc(n ? n : 1, sizeof(char *));
    if (!r->items)
        return SK_ENOMEM;
    while ((item = fy_node_sequence_iterate(v, &it)) != NULL) {
        if (!fy_node_is_scalar(item))
            return sk_error_set(err, SK_ECONFIG,
                                "%s: %s: list items must be plain values", loc,
                                name);
        r->items[r->n_items] = scalar_dup(item);
        if (!r->items[r->n_items])
            return SK_ENOMEM;
        r->n_items++;
    }
    return SK_OK;
}

/* Stores a value for option id into layer l unless a stronger one is set. */
static int layer_put(struct layer *l, int id, int prio, const char *loc,
                     const char *name, struct fy_node *v, struct sk_error *err)
{
    struct raw r;
    int rc;
    if (l->v[id].kind != RAW_ABSENT && l->v[id].prio >= prio)
        return SK_OK;
    memset(&r, 0, sizeof r);
    rc = raw_from_node(loc, name, v, &r, err);
    if (rc == SK_OK) {
        r.loc = sk_strdup(loc);
        if (!r.loc)
            rc = SK_ENOMEM;
    }
    if (rc != SK_OK) {
        raw_release(&r);
        return rc == SK_ENOMEM ? sk_error_set(err, rc, "out of memory") : rc;
    }
    r.prio = prio;
    raw_release(&l->v[id]);
    l->v[id] = r;
    return SK_OK;
}

static int read_section(const char *path, const char *section,
                        struct fy_node *map, struct layer *l,
                        struct sk_error *err)
{
    void *it = NULL;
    struct fy_node_pair *p;
    char nbuf[160];

    while ((p = fy_node_mapping_iterate(map, &it)) != NULL) {
        struct fy_node *k = fy_node_pair_key(p);
        char *key, *loc;
        int id, rc = SK_OK;

        if (!k || !fy_node_is_scalar(k))
            return sk_error_set(err, SK_ECONFIG,
                                "%s: keys under %s: must be plain names", path,
                                section);
        key = scalar_dup(k);
        loc = mark_loc(path, k);
        if (!key || !loc) {
            sk_free(key);
            sk_free(loc);
            return sk_error_set(err, SK_ENOMEM, "out of memory");
        }
        id = sk_option_find(section, key);
        if (id < 0) {
            const char *hint = suggest_in_section(section, key);
            int other = sk_option_find_flat(key);
            if (other >= 0 && strcmp(section, "env") == 0)
                rc = sk_error_set(err, SK_ECONFIG,
                                  "%s: '%s' is not an env key; it belongs "
                                  "under %s: as '%s'",
                                  loc, key, sk_options[other].section,
                                  sk_options[other].key);
            else if (hint)
                rc = sk_error_set(err, SK_ECONFIG,
                                  "%s: unknown key '%s.%s' (did you mean "
                                  "'%s.%s'?)",
                                  loc, section, key, section, hint);
            else
                rc = sk_error_set(err, SK_ECONFIG, "%s: unknown key '%s.%s'",
                                  loc, section, key);
        } else {
            snprintf(nbuf, sizeof nbuf, "%s.%s", section, key);
            rc = layer_put(l, id, key_prio(1, key), loc, nbuf,
                           fy_node_pair_value(p), err);
        }
        sk_free(key);
        sk_free(loc);
        if (rc != SK_OK)
            return rc;
    }
    return SK_OK;
}

/*
 * Reads one YAML file (no base) into a new layer; *base_out receives the
 * _base_ path as written, or NULL.
 */
static int read_layer(const char *path, struct layer **out, char **base_out,
                      struct sk_error *err)
{
    struct sk_buf text;
    struct fy_document *doc = NULL;
    struct fy_node *root;
    struct layer *l = NULL;
    void *it = NULL;
    struct fy_node_pair *p;
    int rc;

    *out = NULL;
    *base_out = NULL;
    sk_buf_init(&text, MAX_CONFIG_BYTES);
    rc = sk_fs_read(path, MAX_CONFIG_BYTES, &text, err);
    if (rc != SK_OK) {
        if (rc == SK_ENOTFOUND)
            sk_error_set(err, rc, "%s: config file not found", path);
        goto out;
    }
    rc = sk_yaml_parse(path, sk_buf_cstr(&text), text.len, &doc, err);
    if (rc != SK_OK)
        goto out;
    l = sk_calloc(1, sizeof *l);
    if (!l) {
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto out;
    }
    root = fy_document_root(doc);
    if (!root || (fy_node_is_scalar(root) && fy_node_is_null(root)))
        goto done; /* an empty file is an empty mapping */
    if (!fy_node_is_mapping(root)) {
        rc = sk_error_set(err, SK_ECONFIG,
                          "%s: the top level must be a mapping of keys", path);
        goto out;
    }
    while ((p = fy_node_mapping_iterate(root, &it)) != NULL) {
        struct fy_node *k = fy_node_pair_key(p), *v = fy_node_pair_value(p);
        char *key = NULL, *loc = NULL;
        int id;

        if (!k || !fy_node_is_scalar(k)) {
            rc = sk_error_set(err, SK_ECONFIG,
                              "%s: top-level keys must be plain names", path);
            goto out;
        }
        key = scalar_dup(k);
        loc = mark_loc(path, k);
        if (!key || !loc) {
            rc = sk_error_set(err, SK_ENOMEM, "out of memory");
        } else if (strcmp(key, "_base_") == 0) {
            if (v && !fy_node_is_scalar(v))
                rc = sk_error_set(err, SK_ECONFIG,
                                  "%s: _base_ must be one file path (a "
                                  "string)",
                                  loc);
            else if (!node_is_null(v) && fy_node_get_scalar_length(v) > 0 &&
                     !(*base_out = scalar_dup(v)))
                rc = sk_error_set(err, SK_ENOMEM, "out of memory");
            /* an empty _base_ means none, as in the reference */
        } else if (is_section(key) && v && fy_node_is_mapping(v)) {
            rc = read_section(path, key, v, l, err);
        } else if (is_section(key) && node_is_null(v)) {
            /* "train:" with nothing under it is an empty section (the
             * reference replaced the base's whole section with None) */
        } else if (is_section(key) && strcmp(key, "env") != 0) {
            rc = sk_error_set(err, SK_ECONFIG,
                              "%s: '%s' must be a mapping of keys", loc, key);
        } else if ((id = sk_option_find_flat(key)) >= 0 &&
                   strcmp(key, "backend") != 0) {
            /* legacy flat key (env: NAME is the flat spelling of env.name) */
            rc = layer_put(l, id, key_prio(0, key), loc, key, v, err);
        } else {
            char buf[200];
            const char *hint = suggest_flat(key, buf, sizeof buf);
            if (hint)
                rc = sk_error_set(err, SK_ECONFIG,
                                  "%s: unknown key '%s' (did you mean "
                                  "'%s'?)",
                                  loc, key, hint);
            else
                rc = sk_error_set(err, SK_ECONFIG, "%s: unknown key '%s'", loc,
                                  key);
        }
        sk_free(key);
        sk_free(loc);
        if (rc != SK_OK)
            goto out;
    }
done:
    *out = l;
    l = NULL;
out:
    if (rc != SK_OK) {
        sk_free(*base_out);
        *base_out = NULL;
    }
    layer_free(l);
    if (doc)
        fy_document_destroy(doc);
    sk_buf_release(&text);
    return rc;
}

/*
 * Loads path and its _base_ chain into one layer.  real[] holds the
 * realpaths of the files being loaded (for cycle detection), shown[] the
 * paths as the user would write them (for messages).
 */
static int load_file(const char *path, char **real, char **shown, int depth,
                     struct layer **out, struct sk_error *err)
{
    struct layer *l = NULL, *base = NULL;
    char *base_ref = NULL, *dir = NULL, *joined = NULL, *base_path = NULL;
    char *rp;
    int i, rc;

    *out = NULL;
    if (depth >= MAX_BASE_DEPTH)
        return sk_error_set(err, SK_ECONFIG,
                            "%s: _base_ chain deeper than %d files", path,
                            MAX_BASE_DEPTH);
    rp = realpath(path, NULL); /* libc-allocated: freed with free() */
    if (!rp) {
        if (errno == ENOENT)
            return sk_error_set(err, SK_ENOTFOUND, "%s: config file not found",
                                path);
        return sk_error_set(err, SK_EIO, "%s: %s", path, strerror(errno));
    }
    for (i = 0; i < depth; i++)
        if (strcmp(real[i], rp) == 0) {
            struct sk_buf b;
            int k;
            free(rp);
            sk_buf_init(&b, 4096);
            for (k = 0; k < depth; k++)
                sk_buf_printf(&b, "%s -> ", shown[k]);
            sk_buf_puts(&b, path);
            rc = sk_error_set(err, SK_ECONFIG, "%s: _base_ cycle: %s", shown[0],
                              sk_buf_cstr(&b));
            sk_buf_release(&b);
            return rc;
        }
    real[depth] = sk_strdup(rp);
    free(rp);
    shown[depth] = sk_strdup(path);
    if (!real[depth] || !shown[depth]) {
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto out;
    }

    rc = read_layer(path, &l, &base_ref, err);
    if (rc != SK_OK)
        goto out;
    if (base_ref) {
        /* relative to the file that names it, as the reference does */
        dir = sk_fs_dirname(path);
        joined = dir ? sk_fs_join(dir, base_ref) : NULL;
        base_path = joined ? sk_fs_normalize(joined) : NULL;
        if (!base_path) {
            rc = sk_error_set(err, SK_ENOMEM, "out of memory");
            goto out;
        }
        rc = load_file(base_path, real, shown, depth + 1, &base, err);
        if (rc == SK_ENOTFOUND)
            rc = sk_error_set(err, SK_ECONFIG,
                              "%s: _base_ file %s not found (looked for %s)",
                              path, base_ref, base_path);
        if (rc != SK_OK)
            goto out;
        layer_overlay(base, l);
        layer_free(l);
        l = base;
        base = NULL;
    }
    *out = l;
    l = NULL;
out:
    sk_free(real[depth]);
    sk_free(shown[depth]);
    real[depth] = NULL;
    shown[depth] = NULL;
    layer_free(l);
    layer_free(base);
    sk_free(base_ref);
    sk_free(dir);
    sk_free(joined);
    sk_free(base_path);
    return rc;
}

/* ---- command-line overrides -------------------------------------------- */

static int put_text(struct layer *l, int id, const char *text, const char *loc)
{
    struct raw r;
    memset(&r, 0, sizeof r);
    r.kind = RAW_SCALAR;
    r.text = sk_strdup(text);
    r.loc = sk_strdup(loc);
    if (!r.text || !r.loc) {
        raw_release(&r);
        return SK_ENOMEM;
    }
    raw_release(&l->v[id]);
    l->v[id] = r;
    return SK_OK;
}

static int apply_cfg_option(struct layer *l, const char *item,
                            struct sk_error *err)
{
    const char *eq = strchr(item, '=');
    char key[256], loc[512], buf[200];
    const char *dot;
    int id;

    if (!eq || eq == item)
        return sk_error_set(err, SK_EINVAL,
                            "--cfg-options: expected KEY=VALUE, got '%s'",
                            item);
    if ((size_t)(eq - item) >= sizeof key)
        return sk_error_set(err, SK_EINVAL, "--cfg-options: key too long");
    memcpy(key, item, (size_t)(eq - item));
    key[eq - item] = '\0';
    snprintf(loc, sizeof loc, "--cfg-options %s", key);
    dot = strchr(key, '.');
    if (dot) {
        char section[64];
        size_t sl = (size_t)(dot - key);
        if (sl >= sizeof section)
            return sk_error_set(err, SK_EINVAL, "--cfg-options: bad key '%s'",
                                key);
        memcpy(section, key, sl);
        section[sl] = '\0';
        if (!is_section(section))
            return sk_error_set(
                err, SK_ECONFIG,
                "%s: unknown section '%s' (sections: model, "
                "train, gradient, optimizer, evaluation, env, llm)",
                loc, section);
        id = sk_option_find(section, dot + 1);
        if (id < 0) {
            const char *hint = suggest_in_section(section, dot + 1);
            if (hint)
                return sk_error_set(err, SK_ECONFIG,
                                    "%s: unknown key '%s' (did you mean "
                                    "'%s.%s'?)",
                                    loc, key, section, hint);
            return sk_error_set(err, SK_ECONFIG, "%s: unknown key '%s'", loc,
                                key);
        }
    } else {
        id = sk_option_find_flat(key);
        if (id < 0) {
            const char *hint = suggest_flat(key, buf, sizeof buf);
            if (hint)
                return sk_error_set(err, SK_ECONFIG,
                                    "%s: unknown key '%s' (did you mean "
                                    "'%s'?)",
                                    loc, key, hint);
            return sk_error_set(err, SK_ECONFIG, "%s: unknown key '%s'", loc,
                                key);
        }
    }
    if (put_text(l, id, eq + 1, loc) != SK_OK)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    return SK_OK;
}

static int apply_flag(struct layer *l, const char *name, const char *value,
                      struct sk_error *err)
{
    char key[256], loc[300], buf[200];
    size_t i;
    int id;

    while (*name == '-')
        name++;
    if (strlen(name) >= sizeof key)
        return sk_error_set(err, SK_EINVAL, "--%s: option name too long", name);
    for (i = 0; name[i]; i++)
        key[i] = name[i] == '-' ? '_' : name[i];
    key[i] = '\0';
    snprintf(loc, sizeof loc, "--%s", name);
    id = sk_option_find_flat(key);
    if (id < 0) {
        const char *hint = suggest_flat(key, buf, sizeof buf);
        if (hint)
            return sk_error_set(err, SK_EINVAL,
                                "unknown option '--%s' (did you mean "
                                "'--%s'?)",
                                name, hint);
        return sk_error_set(err, SK_EINVAL, "unknown option '--%s'", name);
    }
    if (put_text(l, id, value, loc) != SK_OK)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    return SK_OK;
}

/* ---- conversion -------------------------------------------------------- */

static int text_is_null(const char *s)
{
    return !*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
           strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

/* YAML 1.1 booleans as PyYAML reads them, plus 1/0 as the reference's
 * command-line casting does. */
static int text_to_bool(const char *s, int *out)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes",
                                      "YES",  "on",   "On",   "ON",  "1"};
    static const char *const no[] = {"false", "False", "FALSE", "no",  "No",
                                     "NO",    "off",   "Off",   "OFF", "0"};
    size_t i;
    for (i = 0; i < SK_ARRAY_LEN(yes); i++)
        if (strcmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
    for (i = 0; i < SK_ARRAY_LEN(no); i++)
        if (strcmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    return -1;
}

/* Integers in PyYAML's forms: decimal, 0x, 0o, 0b, leading-0 octal, '_'. */
static int text_to_int(const char *s, int64_t *out)
{
    char digits[80];
    size_t n = 0;
    const char *p = s;
    int neg = 0, base = 10;
    unsigned long long v;
    char *end;

    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        base = 16, p += 2;
    else if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O'))
        base = 8, p += 2;
    else if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B'))
        base = 2, p += 2;
    else if (p[0] == '0' && p[1] != '\0')
        base = 8, p += 1;
    for (; *p; p++) {
        if (*p == '_')
            continue;
        if (n + 1 >= sizeof digits)
            return -1;
        digits[n++] = *p;
    }
    digits[n] = '\0';
    if (n == 0 || digits[0] == '-' || digits[0] == '+')
        return -1;
    errno = 0;
    v = strtoull(digits, &end, base);
    if (errno || *end)
        return -1;
    if (neg) {
        if (v > (unsigned long long)INT64_MAX + 1)
            return -1;
        *out = v == (unsigned long long)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > (unsigned long long)INT64_MAX)
            return -1;
        *out = (int64_t)v;
    }
    return 0;
}

static int text_to_float(const char *s, double *out)
{
    char buf[80];
    size_t n = 0;
    const char *p;
    char *end;
    int64_t iv;

    if (text_to_int(s, &iv) == 0) {
        *out = (double)iv;
        return 0;
    }
    for (p = s; *p; p++) {
        if (*p == '_')
            continue;
        if (!strchr("0123456789+-.eE", *p) || n + 1 >= sizeof buf)
            return -1;
        buf[n++] = *p;
    }
    buf[n] = '\0';
    if (n == 0)
        return -1;
    errno = 0;
    *out = strtod(buf, &end);
    if (errno || *end || !isfinite(*out))
        return -1;
    return 0;
}

/* Matches s against "a|b>a|c" choices, case- and space-insensitively. */
static int enum_match(const char *choices, const char *s, char *canon,
                      size_t cap)
{
    const char *p = choices;
    size_t sl;

    while (*s == ' ')
        s++;
    sl = strlen(s);
    while (sl && s[sl - 1] == ' ')
        sl--;
    for (;;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        const char *gt = memchr(p, '>', len);
        size_t nl = gt ? (size_t)(gt - p) : len;
        if (nl == sl && strncasecmp(p, s, sl) == 0) {
            const char *c = gt ? gt + 1 : p;
            size_t cl = gt ? len - nl - 1 : len;
            if (cl >= cap)
                return -1;
            memcpy(canon, c, cl);
            canon[cl] = '\0';
            return 0;
        }
        if (!bar)
            return -1;
        p = bar + 1;
    }
}

/* "a, b or c": the canonical names of a choices string. */
static void enum_list(const char *choices, char *out, size_t cap)
{
    const char *p = choices;
    size_t used = 0;
    int first = 1;
    out[0] = '\0';
    for (;;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (!memchr(p, '>', len)) {
            int n = snprintf(out + used, cap - used, "%s'%.*s'",
                             first ? "" : ", ", (int)len, p);
            if (n < 0 || (size_t)n >= cap - used)
                return;
            used += (size_t)n;
            first = 0;
        }
        if (!bar)
            return;
        p = bar + 1;
    }
}

static const char *enum_suggest(const char *choices, const char *s, char *buf,
                                size_t cap)
{
    struct suggest sg = {NULL, 0};
    char names[64][64];
    int n = 0;
    const char *p = choices;
    for (;;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        const char *gt = memchr(p, '>', len);
        size_t nl = gt ? (size_t)(gt - p) : len;
        if (n < 64 && nl > 0 && nl < 64) {
            memcpy(names[n], p, nl);
            names[n][nl] = '\0';
            suggest_try(&sg, s, names[n]);
            n++;
        }
        if (!bar)
            break;
        p = bar + 1;
    }
    if (!sg.best)
        return NULL;
    snprintf(buf, cap, "%s", sg.best);
    return buf;
}

static void *field(struct sk_config *c, int id)
{
    return (char *)c + sk_options[id].offset;
}

static void strlist_release(struct sk_strlist *l)
{
    size_t i;
    for (i = 0; i < l->n; i++)
        sk_free(l->v[i]);
    sk_free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int strlist_push(struct sk_strlist *l, const char *s, size_t len)
{
    char **v = sk_realloc(l->v, (l->n + 1) * sizeof *v);
    if (!v)
        return SK_ENOMEM;
    l->v = v;
    l->v[l->n] = sk_strndup(s, len);
    if (!l->v[l->n])
        return SK_ENOMEM;
    l->n++;
    return SK_OK;
}

/* Comma-separated strings become lists (leading_words accepts both), also
 * written as on the reference's command line: "[a, b]", items optionally
 * quoted. */
static int strlist_from_text(struct sk_strlist *l, const char *s)
{
    const char *end = s + strlen(s);
    while (*s == ' ')
        s++;
    while (end > s && end[-1] == ' ')
        end--;
    if (end - s >= 2 && *s == '[' && end[-1] == ']') {
        s++;
        end--;
    }
    while (s < end) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        size_t len = comma ? (size_t)(comma - s) : (size_t)(end - s);
        const char *a = s, *b = s + len;
        while (a < b && *a == ' ')
            a++;
        while (b > a && b[-1] == ' ')
            b--;
        if (b - a >= 2 && (*a == '\'' || *a == '"') && b[-1] == *a) {
            a++;
            b--;
        }
        if (b > a && strlist_push(l, a, (size_t)(b - a)) != SK_OK)
            return SK_ENOMEM;
        if (!comma)
            break;
        s = comma + 1;
    }
    return SK_OK;
}

static int check_bounds(int id, double v, const char *loc, struct sk_error *err)
{
    const struct sk_option *o = &sk_options[id];
    char name[160];
    if (v < o->min)
        return sk_error_set(err, SK_ECONFIG,
                            "%s: %s must be at least %g (got %g)", loc,
                            option_name(id, name, sizeof name), o->min, v);
    if (v > o->max)
        return sk_error_set(err, SK_ECONFIG,
                            "%s: %s must be at most %g (got %g)", loc,
                            option_name(id, name, sizeof name), o->max, v);
    return SK_OK;
}

/*
 * Converts raw value r (or the default when r is absent) into option id of
 * c.  Values of secret options are never quoted in messages.
 */
static int convert(struct sk_config *c, int id, const struct raw *r,
                   struct sk_error *err)
{
    const struct sk_option *o = &sk_options[id];
    const char *loc = r->kind ? r->loc : "(default)";
    const char *text = r->kind == RAW_SCALAR ? r->text : o->def;
    int plain = r->kind == RAW_SCALAR ? !r->quoted : 1;
    int loose_ok = plain || (o->flags & SK_OPTF_LOOSE);
    const char *shown = (o->flags & SK_OPTF_SECRET) ? "<redacted>" : text;
    char name[160], buf[1024];
    void *f = field(c, id);

    option_name(id, name, sizeof name);
    if (r->kind == RAW_LIST && o->type != SK_OPT_LIST)
        return sk_error_set(err, SK_ECONFIG,
                            "%s: %s expects a single value, not a list", loc,
                            name);
    if (r->kind != RAW_LIST && plain && text_is_null(text) &&
        o->type != SK_OPT_STR && o->type != SK_OPT_ENUM) {
        if (o->flags & SK_OPTF_NULLABLE) {
            c->is_null[id] = 1;
            return SK_OK;
        }
        return sk_error_set(err, SK_ECONFIG, "%s: %s must not be empty or null",
                            loc, name);
    }
    switch (o->type) {
    case SK_OPT_INT: {
        int64_t v;
        if (!loose_ok || text_to_int(text, &v) != 0)
            return sk_error_set(err, SK_ECONFIG,
                                "%s: %s expects an integer, got '%s'", loc,
                                name, shown);
        if (check_bounds(id, (double)v, loc, err) != SK_OK)
            return SK_ECONFIG;
        *(int64_t *)f = v;
        return SK_OK;
    }
    case SK_OPT_FLOAT: {
        double v;
        if (!loose_ok || text_to_float(text, &v) != 0)
            return sk_error_set(err, SK_ECONFIG,
                                "%s: %s expects a number, got '%s'", loc, name,
                                shown);
        if (check_bounds(id, v, loc, err) != SK_OK)
            return SK_ECONFIG;
        *(double *)f = v;
        return SK_OK;
    }
    case SK_OPT_BOOL: {
        int v;
        if (!loose_ok || text_to_bool(text, &v) != 0)
            return sk_error_set(err, SK_ECONFIG,
                                "%s: %s expects true or false, got '%s'", loc,
                                name, shown);
        *(int *)f = v;
        return SK_OK;
    }
    case SK_OPT_STR:
        if (plain && text_is_null(text) && *text &&
            (o->flags & SK_OPTF_NULLABLE)) {
            c->is_null[id] = 1;
            return SK_OK;
        }
        if (plain && text_is_null(text))
            text = "";
        *(char **)f = sk_strdup(text);
        return *(char **)f ? SK_OK
                           : sk_error_set(err, SK_ENOMEM, "out of memory");
    case SK_OPT_ENUM: {
        char canon[128], list[1024], hint[128];
        const char *h;
        if (plain && text_is_null(text))
            text = "";
        if (enum_match(o->choices, text, canon, sizeof canon) != 0) {
            enum_list(o->choices, list, sizeof list);
            h = *text ? enum_suggest(o->choices, text, hint, sizeof hint)
                      : NULL;
            snprintf(buf, sizeof buf, "; did you mean '%s'?", h ? h : "");
            return sk_error_set(
                err, SK_ECONFIG,
                "%s: %s: unknown value '%s' (expected one of "
                "%s%s)%s",
                loc, name, text, list,
                strncmp(o->choices, "|", 1) == 0 ? " or ''" : "", h ? buf : "");
        }
        *(char **)f = sk_strdup(canon);
        return *(char **)f ? SK_OK
                           : sk_error_set(err, SK_ENOMEM, "out of memory");
    }
    case SK_OPT_LIST: {
        struct sk_strlist *l = f;
        size_t i;
        int rc = SK_OK;
        if (r->kind == RAW_LIST) {
            for (i = 0; i < r->n_items && rc == SK_OK; i++)
                rc = strlist_push(l, r->items[i], strlen(r->items[i]));
        } else {
            rc = strlist_from_text(l, text);
        }
        return rc == SK_OK ? SK_OK : sk_error_set(err, rc, "out of memory");
    }
    }
    return SK_OK;
}

/* ---- lifecycle ----------------------------------------------------------- */

void sk_config_init(struct sk_config *c)
{
    memset(c, 0, sizeof *c);
}

void sk_config_release(struct sk_config *c)
{
    int i;
    for (i = 0; i < SK_OPT_COUNT; i++) {
        void *f = field(c, i);
        if (sk_options[i].type == SK_OPT_STR ||
            sk_options[i].type == SK_OPT_ENUM)
            sk_free(*(char **)f);
        else if (sk_options[i].type == SK_OPT_LIST)
            strlist_release(f);
        sk_free(c->origin[i]);
    }
    sk_free(c->path);
    memset(c, 0, sizeof *c);
}

/* Cross-field rules the table cannot express. */
static int check_invariants(const struct sk_config *c, struct sk_error *err)
{
    if (c->min_edit_budget > c->edit_budget) {
        int id = c->origin[SK_OPT_min_edit_budget] ? SK_OPT_min_edit_budget
                                                   : SK_OPT_edit_budget;
        return sk_error_set(err, SK_ECONFIG,
                            "%s: optimizer.min_learning_rate (%lld) exceeds "
                            "optimizer.learning_rate (%lld)",
                            c->origin[id] ? c->origin[id] : "(default)",
                            (long long)c->min_edit_budget,
                            (long long)c->edit_budget);
    }
    return SK_OK;
}

static int differs_from_default(const struct raw *r, int id)
{
    const char *def = sk_options[id].def;
    if (r->kind == RAW_LIST)
        return 1;
    if (text_is_null(r->text) && text_is_null(def))
        return 0;
    return strcmp(r->text, def) != 0;
}

static void warn_about(const struct layer *l)
{
    int i;
    char name[160];
    for (i = 0; i < SK_OPT_COUNT; i++) {
        const struct raw *r = &l->v[i];
        unsigned fl = sk_options[i].flags;
        if (r->kind == RAW_ABSENT)
            continue;
        option_name(i, name, sizeof name);
        if (fl & SK_OPTF_RETIRED)
            sk_warn("%s: %s is retired and ignored (%s)", r->loc, name,
                    sk_options[i].help);
        else if ((fl & SK_OPTF_UNSUPPORTED) && differs_from_default(r, i))
            sk_warn("%s: %s is accepted for compatibility but not "
                    "supported: %s; the value is ignored",
                    r->loc, name, sk_options[i].help);
        else if ((fl & SK_OPTF_DERIVED) && !text_is_null(r->text))
            sk_warn("%s: %s is %s; the configured value is ignored", r->loc,
                    name, sk_options[i].help);
        if ((fl & SK_OPTF_SECRET) && r->loc[0] == '-' && r->text && *r->text)
            sk_warn("%s: an API key on the command line is visible to other "
                    "users of this machine and in shell history; set it in "
                    "the environment instead",
                    r->loc);
    }
}

static int resolve(const struct layer *l, struct sk_config *c,
                   struct sk_error *err)
{
    int i, rc;
    struct raw none;
    memset(&none, 0, sizeof none);
    for (i = 0; i < SK_OPT_COUNT; i++) {
        const struct raw *r = l ? &l->v[i] : &none;
        rc = convert(c, i, r, err);
        if (rc != SK_OK)
            return rc;
        if (r->kind != RAW_ABSENT) {
            c->origin[i] = sk_strdup(r->loc);
            if (!c->origin[i])
                return sk_error_set(err, SK_ENOMEM, "out of memory");
        }
        if ((sk_options[i].flags & SK_OPTF_SECRET) && *(char **)field(c, i))
            if (sk_log_add_secret(*(char **)field(c, i)) == SK_ENOMEM)
                return sk_error_set(err, SK_ENOMEM, "out of memory");
    }
    return check_invariants(c, err);
}

int sk_config_defaults(struct sk_config *c, struct sk_error *err)
{
    int rc;
    sk_config_release(c);
    rc = resolve(NULL, c, err);
    if (rc != SK_OK)
        sk_config_release(c);
    return rc;
}

int sk_config_load(const struct sk_config_args *a, struct sk_config *c,
                   struct sk_error *err)
{
    char *real[MAX_BASE_DEPTH + 1], *shown[MAX_BASE_DEPTH + 1];
    struct layer *l = NULL, *over = NULL;
    size_t i;
    int rc;

    sk_config_release(c);
    memset(real, 0, sizeof real);
    memset(shown, 0, sizeof shown);
    if (!a->path || !*a->path)
        return sk_error_set(err, SK_EINVAL,
                            "no config file given (--config FILE)");
    rc = load_file(a->path, real, shown, 0, &l, err);
    if (rc != SK_OK)
        goto out;
    over = sk_calloc(1, sizeof *over);
    if (!over) {
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto out;
    }
    /* Every --cfg-options item counts, in order (the reference kept only
     * the last list); then the one-key flags on top. */
    for (i = 0; i < a->n_cfg_options; i++) {
        rc = apply_cfg_option(over, a->cfg_options[i], err);
        if (rc != SK_OK)
            goto out;
    }
    layer_overlay(l, over);
    for (i = 0; i < a->n_flags; i++) {
        rc = apply_flag(over, a->flag_names[i], a->flag_values[i], err);
        if (rc != SK_OK)
            goto out;
    }
    layer_overlay(l, over);
    rc = resolve(l, c, err);
    if (rc != SK_OK)
        goto out;
    c->path = sk_strdup(a->path);
    if (!c->path) {
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto out;
    }
    warn_about(l);
out:
    if (rc != SK_OK)
        sk_config_release(c);
    layer_free(l);
    layer_free(over);
    return rc;
}

/* ---- printing ----------------------------------------------------------- */

static int put_json_string(struct sk_buf *out, const char *s)
{
    json_t *j = json_string(s);
    char *txt;
    int rc;
    if (!j)
        return SK_ENOMEM;
    txt = json_dumps(j, JSON_ENCODE_ANY);
    json_decref(j);
    if (!txt)
        return SK_ENOMEM;
    rc = sk_buf_puts(out, txt);
    sk_free(txt);
    return rc;
}

static int put_value(const struct sk_config *c, int id, struct sk_buf *out)
{
    const struct sk_option *o = &sk_options[id];
    const void *f = (const char *)c + o->offset;
    size_t i;
    int rc = SK_OK;

    if (c->is_null[id])
        return sk_buf_puts(out, "null");
    switch (o->type) {
    case SK_OPT_INT:
        return sk_buf_printf(out, "%lld", (long long)*(const int64_t *)f);
    case SK_OPT_FLOAT: {
        char num[64];
        snprintf(num, sizeof num, "%.17g", *(const double *)f);
        /* shortest text that reads back to the same double */
        for (i = 1; i <= 17; i++) {
            char t[64];
            snprintf(t, sizeof t, "%.*g", (int)i, *(const double *)f);
            if (strtod(t, NULL) == *(const double *)f) {
                memcpy(num, t, sizeof t);
                break;
            }
        }
        rc = sk_buf_puts(out, num);
        if (rc == SK_OK && !strpbrk(num, ".eE"))
            rc = sk_buf_puts(out, ".0");
        return rc;
    }
    case SK_OPT_BOOL:
        return sk_buf_puts(out, *(const int *)f ? "true" : "false");
    case SK_OPT_STR:
    case SK_OPT_ENUM: {
        const char *s = *(char *const *)f;
        if ((o->flags & SK_OPTF_SECRET) && s && *s)
            s = "<redacted>";
        return put_json_string(out, s ? s : "");
    }
    case SK_OPT_LIST: {
        const struct sk_strlist *l = f;
        rc = sk_buf_putc(out, '[');
        for (i = 0; i < l->n && rc == SK_OK; i++) {
            if (i)
                rc = sk_buf_puts(out, ", ");
            if (rc == SK_OK)
                rc = put_json_string(out, l->v[i]);
        }
        return rc == SK_OK ? sk_buf_putc(out, ']') : rc;
    }
    }
    return rc;
}

int sk_config_print(const struct sk_config *c, unsigned flags,
                    struct sk_buf *out)
{
    size_t s;
    int i, rc = SK_OK;

    if (flags & SK_CONFIG_PRINT_JSON) {
        rc = sk_buf_puts(out, "{");
        for (i = 0; i < SK_OPT_COUNT && rc == SK_OK; i++) {
            if (sk_options[i].flags & SK_OPTF_RETIRED)
                continue;
            rc = sk_buf_printf(out, "%s\n  ", i ? "," : "");
            if (rc == SK_OK)
                rc = put_json_string(out, sk_options[i].flat);
            if (rc == SK_OK)
                rc = sk_buf_puts(out, ": ");
            if (rc == SK_OK)
                rc = put_value(c, i, out);
        }
        return rc == SK_OK ? sk_buf_puts(out, "\n}\n") : rc;
    }
    if (c->path)
        rc = sk_buf_printf(out, "# resolved from %s\n", c->path);
    for (s = 0; s < SK_ARRAY_LEN(sections) && rc == SK_OK; s++) {
        rc = sk_buf_printf(out, "%s:\n", sections[s]);
        for (i = 0; i < SK_OPT_COUNT && rc == SK_OK; i++) {
            if (strcmp(sk_options[i].section, sections[s]) != 0 ||
                (sk_options[i].flags & SK_OPTF_RETIRED))
                continue;
            rc = sk_buf_printf(out, "  %s: ", sk_options[i].key);
            if (rc == SK_OK)
                rc = put_value(c, i, out);
            if (rc == SK_OK && (flags & SK_CONFIG_PRINT_ORIGIN))
                rc = sk_buf_printf(out, "  # %s",
                                   c->origin[i] ? c->origin[i] : "default");
            if (rc == SK_OK)
                rc = sk_buf_putc(out, '\n');
        }
    }
    return rc;
}
