/*
 * rundir.c - run directory layout, Python-compatible JSON output and the
 * resume files (runtime_state.json, resume_state.json, history.json).
 *
 * JSON is serialised here rather than by json_dumps because the files must
 * be byte-identical to CPython's json.dump: float repr (shortest digits),
 * lowercase \u00xx escapes and its separators.  jansson still parses.
 */
#include "common.h"
#include "train/rundir.h"

#include <errno.h>
#include <ftw.h>
#include <unistd.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config/config.h"
#include "util/jsonparse.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"

#define DUMP_MAX_DEPTH 512

void sk_rundir_init(struct sk_rundir *rd)
{
    rd->root = NULL;
}

int sk_rundir_open(struct sk_rundir *rd, const char *root, struct sk_error *err)
{
    int rc;

    sk_rundir_init(rd);
    rd->root = sk_strdup(root);
    if (!rd->root)
        return sk_error_set(err, SK_ENOMEM, "%s: out of memory", root);
    rc = sk_fs_mkdirs(root, err);
    if (rc != SK_OK)
        sk_rundir_release(rd);
    return rc;
}

void sk_rundir_release(struct sk_rundir *rd)
{
    sk_free(rd->root);
    rd->root = NULL;
}

/* Joins root and rel into *out; with create makes the directory (is_dir)
 * or the parent directory of the file. */
static int make_path(const struct sk_rundir *rd, const char *rel, int is_dir,
                     int create, char **out, struct sk_error *err)
{
    char *p, *dir = NULL;
    int rc = SK_OK;

    *out = NULL;
    p = sk_fs_join(rd->root, rel);
    if (!p)
        return sk_error_set(err, SK_ENOMEM, "%s: out of memory", rel);
    if (create) {
        if (is_dir) {
            rc = sk_fs_mkdirs(p, err);
        } else {
            dir = sk_fs_dirname(p);
            rc = dir ? sk_fs_mkdirs(dir, err)
                     : sk_error_set(err, SK_ENOMEM, "%s: out of memory", p);
        }
    }
    sk_free(dir);
    if (rc != SK_OK) {
        sk_free(p);
        return rc;
    }
    *out = p;
    return SK_OK;
}

int sk_rundir_path(const struct sk_rundir *rd, const char *rel, int create,
                   char **out, struct sk_error *err)
{
    return make_path(rd, rel, 0, create, out, err);
}

int sk_rundir_skill_path(const struct sk_rundir *rd, long step, int create,
                         char **out, struct sk_error *err)
{
    char rel[64];

    snprintf(rel, sizeof rel, "skills/skill_v%04ld.md", step);
    return make_path(rd, rel, 0, create, out, err);
}

/* steps/step_NNNN[/batch_a] into rel. */
static void step_rel(char *rel, size_t size, long step, int batch)
{
    if (batch >= 0)
        snprintf(rel, size, "steps/step_%04ld/batch_%d", step, batch);
    else
        snprintf(rel, size, "steps/step_%04ld", step);
}

int sk_rundir_step_dir(const struct sk_rundir *rd, long step, int batch,
                       int create, char **out, struct sk_error *err)
{
    char rel[96];

    step_rel(rel, sizeof rel, step, batch);
    return make_path(rd, rel, 1, create, out, err);
}

int sk_rundir_step_file(const struct sk_rundir *rd, long step, int batch,
                        const char *name, int create, char **out,
                        struct sk_error *err)
{
    struct sk_buf rel;
    char dir[96];
    int rc;

    *out = NULL;
    step_rel(dir, sizeof dir, step, batch);
    sk_buf_init(&rel, SK_BUF_UNLIMITED);
    rc = sk_buf_printf(&rel, "%s/%s", dir, name);
    if (rc != SK_OK) {
        sk_buf_release(&rel);
        return sk_error_set(err, rc, "%s: %s", name, sk_strerror(rc));
    }
    rc = make_path(rd, rel.data, 0, create, out, err);
    sk_buf_release(&rel);
    return rc;
}

int sk_rundir_patch_path(const struct sk_rundir *rd, long step, int batch,
                         int success, long index, int create, char **out,
                         struct sk_error *err)
{
    char name[64];

    snprintf(name, sizeof name, "patches/minibatch_%s_%03ld.json",
             success ? "succ" : "fail", index);
    return sk_rundir_step_file(rd, step, batch, name, create, out, err);
}

int sk_rundir_epoch_dir(const struct sk_rundir *rd,
                        enum sk_rundir_epoch_kind kind, long epoch, int create,
                        char **out, struct sk_error *err)
{
    char rel[64];

    snprintf(rel, sizeof rel, "%s/epoch_%02ld",
             kind == SK_RUNDIR_META_SKILL ? "meta_skill" : "slow_update",
             epoch);
    return make_path(rd, rel, 1, create, out, err);
}

/* ---- Python float repr ------------------------------------------------ */

size_t sk_py_float_repr(double v, char *buf, size_t size)
{
    char tmp[40], digits[24], out[40];
    size_t nd = 0, o = 0;
    int p, e = 0, decpt, i;
    const char *s;
    double a;

    if (isnan(v))
        return (size_t)snprintf(buf, size, "NaN");
    if (isinf(v))
        return (size_t)snprintf(buf, size, v < 0 ? "-Infinity" : "Infinity");
    a = fabs(v);
    /* Shortest digits that read back, as CPython's dtoa mode 0.  The
     * correctly rounded p-digit form is tried first; next to a power of
     * two the rounding interval is lopsided and only its neighbour one
     * unit away may read back, so those are tried as well. */
    for (p = 1; p <= 17; p++) {
        unsigned long long m = 0, cand[3];
        int c, ncand = 0, scale;

        snprintf(tmp, sizeof tmp, "%.*e", p - 1, a);
        for (s = tmp; *s && *s != 'e'; s++)
            if (*s >= '0' && *s <= '9')
                m = m * 10 + (unsigned long long)(*s - '0');
        e = *s == 'e' ? (int)strtol(s + 1, NULL, 10) : 0;
        scale = e - (p - 1);
        cand[ncand++] = m;
        if (m > 0)
            cand[ncand++] = m - 1;
        cand[ncand++] = m + 1;
        for (c = 0; c < ncand; c++) {
            snprintf(tmp, sizeof tmp, "%llue%d", cand[c], scale);
            if (strtod(tmp, NULL) == a)
                break;
        }
        if (c < ncand || p == 17) {
            m = c < ncand ? cand[c] : m;
            nd = (size_t)snprintf(digits, sizeof digits, "%llu", m);
            e = scale + (int)nd - 1;
            break;
        }
    }
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';
    decpt = e + 1;
    if (signbit(v))
        out[o++] = '-';
    if (decpt > -4 && decpt <= 16) {
        if (decpt <= 0) {
            out[o++] = '0';
            out[o++] = '.';
            for (i = 0; i < -decpt; i++)
                out[o++] = '0';
            memcpy(out + o, digits, nd);
            o += nd;
        } else if ((size_t)decpt >= nd) {
            memcpy(out + o, digits, nd);
            o += nd;
            for (i = 0; i < decpt - (int)nd; i++)
                out[o++] = '0';
            out[o++] = '.';
            out[o++] = '0';
        } else {
            memcpy(out + o, digits, (size_t)decpt);
            o += (size_t)decpt;
            out[o++] = '.';
            memcpy(out + o, digits + decpt, nd - (size_t)decpt);
            o += nd - (size_t)decpt;
        }
        out[o] = '\0';
    } else {
        out[o++] = digits[0];
        if (nd > 1) {
            out[o++] = '.';
            memcpy(out + o, digits + 1, nd - 1);
            o += nd - 1;
        }
        snprintf(out + o, sizeof out - o, "e%c%02d", e < 0 ? '-' : '+',
                 e < 0 ? -e : e);
    }
    return (size_t)snprintf(buf, size, "%s", out);
}

/* ---- Python json.dumps ------------------------------------------------ */

/* py_encode_basestring: only '"', '\\' and control characters are escaped;
 * everything else, 0x7f and non-ASCII included, is copied. */
static int put_py_string(struct sk_buf *out, const char *s, size_t len)
{
    size_t i, run = 0;
    int rc = sk_buf_putc(out, '"');

    for (i = 0; i < len && rc == SK_OK; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[8];

        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c == '\b')
            esc = "\\b";
        else if (c == '\f')
            esc = "\\f";
        else if (c < 0x20) {
            snprintf(u, sizeof u, "\\u%04x", c);
            esc = u;
        }
        if (!esc) {
            run++;
            continue;
        }
        rc = sk_buf_append(out, s + i - run, run);
        run = 0;
        if (rc == SK_OK)
            rc = sk_buf_puts(out, esc);
    }
    if (rc == SK_OK)
        rc = sk_buf_append(out, s + len - run, run);
    return rc == SK_OK ? sk_buf_putc(out, '"') : rc;
}

/* Newline plus indent*level spaces (indent >= 0), or the ", " style
 * separator's space part (indent < 0: nothing). */
static int put_newline(struct sk_buf *out, int indent, int level)
{
    int rc;

    if (indent < 0)
        return SK_OK;
    rc = sk_buf_putc(out, '\n');
    if (rc == SK_OK && indent * level > 0)
        rc = sk_buf_printf(out, "%*s", indent * level, "");
    return rc;
}

static int dump_value(const json_t *v, int indent, int level,
                      struct sk_buf *out)
{
    char num[40];
    size_t i, n;
    int rc = SK_OK;

    if (level > DUMP_MAX_DEPTH)
        return SK_EINVAL;
    switch (json_typeof(v)) {
    case JSON_NULL:
        return sk_buf_puts(out, "null");
    case JSON_TRUE:
        return sk_buf_puts(out, "true");
    case JSON_FALSE:
        return sk_buf_puts(out, "false");
    case JSON_INTEGER:
        return sk_buf_printf(out, "%" JSON_INTEGER_FORMAT,
                             json_integer_value(v));
    case JSON_REAL:
        n = sk_py_float_repr(json_real_value(v), num, sizeof num);
        return sk_buf_append(out, num, n);
    case JSON_STRING:
        return put_py_string(out, json_string_value(v), json_string_length(v));
    case JSON_ARRAY:
        n = json_array_size(v);
        if (n == 0)
            return sk_buf_puts(out, "[]");
        rc = sk_buf_putc(out, '[');
        for (i = 0; i < n && rc == SK_OK; i++) {
            if (i > 0)
                rc = sk_buf_puts(out, indent < 0 ? ", " : ",");
            if (rc == SK_OK)
                rc = put_newline(out, indent, level + 1);
            if (rc == SK_OK)
                rc = dump_value(json_array_get(v, i), indent, level + 1, out);
        }
        if (rc == SK_OK)
            rc = put_newline(out, indent, level);
        return rc == SK_OK ? sk_buf_putc(out, ']') : rc;
    case JSON_OBJECT: {
        /* json_object_iter walks in insertion order (jansson >= 2.8). */
        void *it = json_object_iter((json_t *)v);

        if (!it)
            return sk_buf_puts(out, "{}");
        rc = sk_buf_putc(out, '{');
        for (i = 0; it && rc == SK_OK; i++) {
            if (i > 0)
                rc = sk_buf_puts(out, indent < 0 ? ", " : ",");
            if (rc == SK_OK)
                rc = put_newline(out, indent, level + 1);
            if (rc == SK_OK)
                rc = put_py_string(out, json_object_iter_key(it),
                                   json_object_iter_key_len(it));
            if (rc == SK_OK)
                rc = sk_buf_puts(out, ": ");
            if (rc == SK_OK)
                rc = dump_value(json_object_iter_value(it), indent, level + 1,
                                out);
            it = json_object_iter_next((json_t *)v, it);
        }
        if (rc == SK_OK)
            rc = put_newline(out, indent, level);
        return rc == SK_OK ? sk_buf_putc(out, '}') : rc;
    }
    }
    return SK_EINVAL;
}

int sk_json_dump_py(const struct json_t *v, int indent, struct sk_buf *out)
{
    if (!v)
        return SK_EINVAL;
    return dump_value(v, indent, 0, out);
}

int sk_json_write_file(const char *path, const struct json_t *v,
                       struct sk_error *err)
{
    struct sk_buf text;
    char *dir = NULL;
    int rc;

    sk_buf_init(&text, SK_BUF_UNLIMITED);
    rc = sk_json_dump_py(v, 2, &text);
    if (rc != SK_OK) {
        rc = sk_error_set(err, rc, "%s: cannot serialise: %s", path,
                          sk_strerror(rc));
        goto out;
    }
    dir = sk_fs_dirname(path);
    if (!dir) {
        rc = sk_error_set(err, SK_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    rc = sk_fs_mkdirs(dir, err);
    if (rc == SK_OK)
        rc = sk_fs_write_atomic(path, sk_buf_cstr(&text), text.len, err);
out:
    sk_free(dir);
    sk_buf_release(&text);
    return rc;
}

int sk_rundir_write_json(const struct sk_rundir *rd, const char *rel,
                         const struct json_t *v, struct sk_error *err)
{
    char *path;
    int rc = make_path(rd, rel, 0, 0, &path, err);

    if (rc != SK_OK)
        return rc;
    rc = sk_json_write_file(path, v, err);
    sk_free(path);
    return rc;
}

int sk_json_read_file(const char *path, struct json_t **out,
                      struct sk_error *err)
{
    struct sk_buf text;
    json_error_t jerr;
    int rc;

    *out = NULL;
    sk_buf_init(&text, SK_RUNDIR_MAX_JSON);
    rc = sk_fs_read(path, SK_RUNDIR_MAX_JSON, &text, err);
    if (rc != SK_OK)
        goto out;
    *out = sk_json_loadb(sk_buf_cstr(&text), text.len, JSON_DECODE_ANY, &jerr);
    if (!*out) {
        if (sk_json_oom(&jerr))
            rc = sk_error_set(err, SK_ENOMEM, "%s: out of memory", path);
        else
            rc = sk_error_set(err, SK_EPARSE, "%s:%d:%d: %s", path, jerr.line,
                              jerr.column, jerr.text);
    }
out:
    sk_buf_release(&text);
    return rc;
}

/* ---- config.json ------------------------------------------------------ */

int sk_rundir_write_config(const struct sk_rundir *rd,
                           const struct sk_config *c,
                           const struct json_t *extra, struct sk_error *err)
{
    struct sk_buf text;
    json_error_t jerr;
    json_t *obj = NULL;
    int rc;

    if (extra && !json_is_object(extra))
        return sk_error_set(err, SK_EINVAL,
                            "config.json: extra keys must be an object");
    sk_buf_init(&text, SK_BUF_UNLIMITED);
    rc = sk_config_print(c, SK_CONFIG_PRINT_JSON, &text);
    if (rc != SK_OK) {
        rc = sk_error_set(err, rc, "config.json: %s", sk_strerror(rc));
        goto out;
    }
    obj = sk_json_loadb(sk_buf_cstr(&text), text.len, 0, &jerr);
    if (!obj) {
        rc = sk_json_oom(&jerr) ? SK_ENOMEM : SK_EPARSE;
        rc =
            sk_error_set(err, rc, "config.json: printed config: %s", jerr.text);
        goto out;
    }
    if (extra && json_object_update(obj, (json_t *)extra) != 0) {
        rc = sk_error_set(err, SK_ENOMEM, "config.json: out of memory");
        goto out;
    }
    rc = sk_rundir_write_json(rd, SK_RUNDIR_CONFIG, obj, err);
out:
    json_decref(obj);
    sk_buf_release(&text);
    return rc;
}

/* ---- runtime_state.json ----------------------------------------------- */

void sk_runtime_state_init(struct sk_runtime_state *st)
{
    memset(st, 0, sizeof *st);
}

void sk_runtime_state_release(struct sk_runtime_state *st)
{
    sk_free(st->current_skill_path);
    sk_free(st->current_origin);
    sk_free(st->best_skill_path);
    sk_free(st->best_origin);
    sk_runtime_state_init(st);
}

/* Sets key to a new string (NULL -> null); 0 or -1 on allocation failure. */
static int set_str(json_t *obj, const char *key, const char *s)
{
    return json_object_set_new(obj, key, s ? json_string(s) : json_null());
}

int sk_runtime_state_write(const struct sk_rundir *rd,
                           const struct sk_runtime_state *st,
                           struct sk_error *err)
{
    char *cur = NULL, *best = NULL;
    json_t *obj;
    int rc = SK_OK, bad = 0;

    obj = json_object();
    if (!obj)
        return sk_error_set(err, SK_ENOMEM, "%s: out of memory",
                            SK_RUNDIR_RUNTIME_STATE);
    if (!st->current_skill_path)
        rc = sk_rundir_skill_path(rd, st->last_completed_step, 0, &cur, err);
    if (rc == SK_OK && !st->best_skill_path)
        rc = sk_rundir_path(rd, SK_RUNDIR_BEST_SKILL, 0, &best, err);
    if (rc != SK_OK)
        goto out;
    bad |= json_object_set_new(obj, "last_completed_step",
                               json_integer(st->last_completed_step));
    bad |= set_str(obj, "current_skill_path",
                   st->current_skill_path ? st->current_skill_path : cur);
    bad |=
        json_object_set_new(obj, "current_score", json_real(st->current_score));
    bad |= set_str(obj, "current_origin", st->current_origin);
    bad |= set_str(obj, "best_skill_path",
                   st->best_skill_path ? st->best_skill_path : best);
    bad |= json_object_set_new(obj, "best_score", json_real(st->best_score));
    bad |= json_object_set_new(obj, "best_step", json_integer(st->best_step));
    bad |= set_str(obj, "best_origin", st->best_origin);
    if (bad) {
        /* json_real also fails for NaN/inf, which no score should be. */
        rc = sk_error_set(
            err,
            isfinite(st->current_score) && isfinite(st->best_score) ? SK_ENOMEM
                                                                    : SK_EINVAL,
            "%s: cannot build the state", SK_RUNDIR_RUNTIME_STATE);
        goto out;
    }
    rc = sk_rundir_write_json(rd, SK_RUNDIR_RUNTIME_STATE, obj, err);
out:
    sk_free(cur);
    sk_free(best);
    json_decref(obj);
    return rc;
}

/* Reads an optional number: absent/null leaves *out; 1 on a wrong type. */
static int get_num(const json_t *obj, const char *key, double *out)
{
    const json_t *v = json_object_get(obj, key);

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_number(v))
        return 1;
    *out = json_number_value(v);
    return 0;
}

/* Reads an optional integer (an integral float is accepted). */
static int get_long(const json_t *obj, const char *key, long *out)
{
    const json_t *v = json_object_get(obj, key);
    double d;

    if (!v || json_is_null(v))
        return 0;
    if (json_is_integer(v)) {
        *out = (long)json_integer_value(v);
        return 0;
    }
    if (!json_is_real(v))
        return 1;
    d = json_real_value(v);
    if (d != floor(d) || fabs(d) > 9e15)
        return 1;
    *out = (long)d;
    return 0;
}

/* Copies an optional string into *out (new); 1 bad type, -1 ENOMEM. */
static int get_str(const json_t *obj, const char *key, char **out)
{
    const json_t *v = json_object_get(obj, key);

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return 1;
    *out = sk_strdup(json_string_value(v));
    return *out ? 0 : -1;
}

int sk_runtime_state_read(const struct sk_rundir *rd,
                          struct sk_runtime_state *st, struct sk_error *err)
{
    const char *bad_key = NULL;
    char *path = NULL, origin[64];
    json_t *obj = NULL;
    int rc, r;

    sk_runtime_state_release(st);
    rc = sk_rundir_path(rd, SK_RUNDIR_RUNTIME_STATE, 0, &path, err);
    if (rc != SK_OK)
        return rc;
    rc = sk_json_read_file(path, &obj, err);
    if (rc != SK_OK)
        goto out;
    if (!json_is_object(obj)) {
        rc = sk_error_set(err, SK_EPARSE, "%s: not a JSON object", path);
        goto out;
    }
    st->current_score = -1.0;
    if (get_long(obj, "last_completed_step", &st->last_completed_step))
        bad_key = "last_completed_step";
    else if (get_num(obj, "current_score", &st->current_score))
        bad_key = "current_score";
    st->best_score = st->current_score;
    st->best_step = st->last_completed_step;
    if (!bad_key && get_num(obj, "best_score", &st->best_score))
        bad_key = "best_score";
    else if (!bad_key && get_long(obj, "best_step", &st->best_step))
        bad_key = "best_step";
    if (bad_key) {
        rc = sk_error_set(err, SK_EPARSE, "%s: \"%s\" is not a number", path,
                          bad_key);
        goto out;
    }
    r = get_str(obj, "current_skill_path", &st->current_skill_path);
    if (r == 0)
        r = get_str(obj, "best_skill_path", &st->best_skill_path);
    if (r == 0)
        r = get_str(obj, "current_origin", &st->current_origin);
    if (r == 0)
        r = get_str(obj, "best_origin", &st->best_origin);
    if (r > 0) {
        rc = sk_error_set(err, SK_EPARSE,
                          "%s: a path or origin is not a string", path);
        goto out;
    }
    if (r < 0) {
        rc = sk_error_set(err, SK_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    /* The reference's defaults for what is absent (8.4 step 1). */
    if (!st->current_skill_path)
        rc = sk_rundir_skill_path(rd, st->last_completed_step, 0,
                                  &st->current_skill_path, err);
    if (rc == SK_OK && !st->best_skill_path)
        rc = sk_rundir_path(rd, SK_RUNDIR_BEST_SKILL, 0, &st->best_skill_path,
                            err);
    if (rc != SK_OK)
        goto out;
    if (!st->current_origin) {
        if (st->last_completed_step > 0)
            snprintf(origin, sizeof origin, "step_%04ld",
                     st->last_completed_step);
        else
            snprintf(origin, sizeof origin, "initial_skill");
        st->current_origin = sk_strdup(origin);
    }
    if (st->current_origin && !st->best_origin)
        st->best_origin = sk_strdup(st->current_origin);
    if (!st->current_origin || !st->best_origin)
        rc = sk_error_set(err, SK_ENOMEM, "%s: out of memory", path);
out:
    if (rc != SK_OK)
        sk_runtime_state_release(st);
    json_decref(obj);
    sk_free(path);
    return rc;
}

/* ---- resume_state.json ------------------------------------------------ */

int sk_resume_state_write(const struct sk_rundir *rd, long step,
                          const struct json_t *state, struct sk_error *err)
{
    json_t *obj = json_object();
    int rc;

    if (!obj ||
        json_object_set_new(obj, "last_completed_step", json_integer(step)) !=
            0 ||
        json_object_set(obj, "state", state ? (json_t *)state : json_null()) !=
            0) {
        json_decref(obj);
        return sk_error_set(err, SK_ENOMEM, "%s: out of memory",
                            SK_RUNDIR_RESUME_STATE);
    }
    rc = sk_rundir_write_json(rd, SK_RUNDIR_RESUME_STATE, obj, err);
    json_decref(obj);
    return rc;
}

int sk_resume_state_read(const struct sk_rundir *rd, long expect_step,
                         struct json_t **state, struct sk_error *err)
{
    json_t *obj = NULL, *st, *step;
    char *path;
    int rc;

    *state = NULL;
    rc = sk_rundir_path(rd, SK_RUNDIR_RESUME_STATE, 0, &path, err);
    if (rc != SK_OK)
        return rc;
    rc = sk_json_read_file(path, &obj, err);
    if (rc != SK_OK)
        goto out;
    step = json_object_get(obj, "last_completed_step");
    st = json_object_get(obj, "state");
    if (!json_is_object(obj) || !json_is_integer(step) || !st) {
        rc = sk_error_set(err, SK_EPARSE,
                          "%s: expected {\"last_completed_step\": <int>, "
                          "\"state\": ...}",
                          path);
        goto out;
    }
    if (json_integer_value(step) != expect_step) {
        rc = sk_error_set(err, SK_ENOTFOUND,
                          "%s: written for step %" JSON_INTEGER_FORMAT
                          ", runtime state is at step %ld",
                          path, json_integer_value(step), expect_step);
        goto out;
    }
    *state = json_incref(st);
out:
    json_decref(obj);
    sk_free(path);
    return rc;
}

/* ---- history.json ----------------------------------------------------- */

void sk_history_init(struct sk_history *h)
{
    h->rows = NULL;
}

void sk_history_release(struct sk_history *h)
{
    json_decref(h->rows);
    h->rows = NULL;
}

size_t sk_history_len(const struct sk_history *h)
{
    return h->rows ? json_array_size(h->rows) : 0;
}

int sk_history_load(const struct sk_rundir *rd, long resume_from,
                    struct sk_history *h, size_t *dropped, struct sk_error *err)
{
    json_t *rows = NULL, *kept = NULL, *row;
    char *path;
    size_t i, gone = 0;
    int rc;

    sk_history_release(h);
    if (dropped)
        *dropped = 0;
    rc = sk_rundir_path(rd, SK_RUNDIR_HISTORY, 0, &path, err);
    if (rc != SK_OK)
        return rc;
    rc = sk_json_read_file(path, &rows, err);
    if (rc == SK_ENOTFOUND) {
        sk_error_clear(err);
        rc = SK_OK;
        goto out;
    }
    if (rc != SK_OK)
        goto out;
    if (!json_is_array(rows)) {
        rc = sk_error_set(err, SK_EPARSE, "%s: not a JSON array", path);
        goto out;
    }
    kept = json_array();
    if (!kept) {
        rc = sk_error_set(err, SK_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    json_array_foreach(rows, i, row)
    {
        json_t *step = json_object_get(row, "step");

        if (!json_is_object(row) || !json_is_integer(step)) {
            rc = sk_error_set(err, SK_EPARSE,
                              "%s: row %zu is not an object with an integer "
                              "\"step\"",
                              path, i);
            goto out;
        }
        if (resume_from > 0 && json_integer_value(step) >= resume_from) {
            gone++;
            continue;
        }
        if (json_array_append(kept, row) != 0) {
            rc = sk_error_set(err, SK_ENOMEM, "%s: out of memory", path);
            goto out;
        }
    }
    h->rows = kept;
    kept = NULL;
    if (dropped)
        *dropped = gone;
out:
    json_decref(kept);
    json_decref(rows);
    sk_free(path);
    return rc;
}

int sk_history_append(const struct sk_rundir *rd, struct sk_history *h,
                      struct json_t *row, struct sk_error *err)
{
    int rc;

    if (!json_is_object(row))
        return sk_error_set(err, SK_EINVAL,
                            "%s: a step record must be an object",
                            SK_RUNDIR_HISTORY);
    if (!h->rows) {
        h->rows = json_array();
        if (!h->rows)
            return sk_error_set(err, SK_ENOMEM, "%s: out of memory",
                                SK_RUNDIR_HISTORY);
    }
    if (json_array_append(h->rows, row) != 0)
        return sk_error_set(err, SK_ENOMEM, "%s: out of memory",
                            SK_RUNDIR_HISTORY);
    rc = sk_rundir_write_json(rd, SK_RUNDIR_HISTORY, h->rows, err);
    if (rc != SK_OK)
        json_array_remove(h->rows, json_array_size(h->rows) - 1);
    return rc;
}

static size_t n_cleaned;

/* 1 if name ends in ".tmp.<digits>" (sk_fs_write_atomic's names). */
static int is_tmp_name(const char *name)
{
    const char *p = strstr(name, ".tmp.");
    const char *q;
    while (p) {
        for (q = p + 5; *q >= '0' && *q <= '9'; q++)
            ;
        if (q > p + 5 && *q == '\0')
            return 1;
        p = strstr(p + 1, ".tmp.");
    }
    return 0;
}

static int clean_one(const char *path, const struct stat *st, int flag,
                     struct FTW *ftw)
{
    (void)st;
    if (flag == FTW_F && is_tmp_name(path + ftw->base) && unlink(path) == 0)
        n_cleaned++;
    return 0;
}

size_t sk_rundir_clean_tmp(const struct sk_rundir *rd)
{
    /* nftw has no user pointer; a run directory is cleaned by one thread */
    n_cleaned = 0;
    if (rd->root)
        nftw(rd->root, clean_one, 16, FTW_PHYS);
    return n_cleaned;
}
