/*
 * prompt.c - template lookup (override directory, then embedded copies) and
 * the {{placeholder}} renderer.  Building user messages is not done here.
 */
#include "common.h"

#include "train/prompt.h"

#include <string.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"

const char *sk_prompt_embedded_find(const char *name, size_t *len)
{
    size_t i;

    for (i = 0; name && i < sk_prompt_embedded_count; i++) {
        const struct sk_prompt_embedded *e = &sk_prompt_embedded_table[i];
        if (e->name && strcmp(e->name, name) == 0) {
            if (len)
                *len = e->len;
            return (const char *)e->data;
        }
    }
    return NULL;
}

static int is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_';
}

/*
 * A safe relative path: non-empty segments of [A-Za-z0-9_-], joined by '/'
 * when slashes are allowed.  "." and ".." cannot be spelled, so the result
 * stays under prompts_dir.
 */
static int valid_path_name(const char *s, int allow_slash)
{
    size_t seg = 0;

    if (!s || !*s)
        return 0;
    for (; *s; s++) {
        if (*s == '/') {
            if (!allow_slash || seg == 0)
                return 0;
            seg = 0;
        } else if (is_name_char(*s) || *s == '-') {
            seg++;
        } else {
            return 0;
        }
    }
    return seg > 0;
}

/*
 * Reads dir/[sub/]name.md into out if it exists.  *found is set when it
 * did; a missing file is SK_OK with *found = 0.
 */
static int try_file(const char *dir, const char *sub, const char *name,
                    struct sk_buf *out, int *found, struct sk_error *err)
{
    struct sk_buf rel;
    char *path = NULL;
    size_t keep = out->len;
    int rc;

    *found = 0;
    sk_buf_init(&rel, SK_BUF_UNLIMITED);
    if (sub)
        rc = sk_buf_printf(&rel, "%s/%s.md", sub, name);
    else
        rc = sk_buf_printf(&rel, "%s.md", name);
    if (rc != SK_OK) {
        rc = sk_error_set(err, rc, "prompt %s: %s", name, sk_strerror(rc));
        goto out;
    }
    path = sk_fs_join(dir, sk_buf_cstr(&rel));
    if (!path) {
        rc = sk_error_set(err, SK_ENOMEM, "prompt %s: out of memory", name);
        goto out;
    }
    rc = sk_fs_read(path, SK_PROMPT_MAX_FILE, out, err);
    if (rc == SK_ENOTFOUND) {
        sk_error_clear(err);
        rc = SK_OK;
    } else if (rc == SK_OK) {
        *found = 1;
    }
out:
    if (rc != SK_OK && out->len > keep)
        sk_buf_truncate(out, keep);
    sk_free(path);
    sk_buf_release(&rel);
    return rc;
}

int sk_prompt_lookup(const char *name, const char *bench,
                     const char *prompts_dir, struct sk_buf *out,
                     struct sk_error *err)
{
    struct sk_buf key;
    const char *text;
    size_t len = 0;
    int rc, found = 0;

    if (!valid_path_name(name, 1))
        return sk_error_set(err, SK_EINVAL, "invalid prompt name '%s'",
                            name ? name : "(null)");
    if (bench && !*bench)
        bench = NULL;
    if (bench && !valid_path_name(bench, 0))
        return sk_error_set(err, SK_EINVAL, "invalid benchmark name '%s'",
                            bench);
    if (prompts_dir && *prompts_dir) {
        if (bench) {
            rc = try_file(prompts_dir, bench, name, out, &found, err);
            if (rc != SK_OK || found)
                return rc;
        }
        rc = try_file(prompts_dir, NULL, name, out, &found, err);
        if (rc != SK_OK || found)
            return rc;
    }
    text = NULL;
    if (bench) {
        sk_buf_init(&key, SK_BUF_UNLIMITED);
        rc = sk_buf_printf(&key, "%s/%s", bench, name);
        if (rc != SK_OK) {
            sk_buf_release(&key);
            return sk_error_set(err, rc, "prompt %s: %s", name,
                                sk_strerror(rc));
        }
        text = sk_prompt_embedded_find(sk_buf_cstr(&key), &len);
        sk_buf_release(&key);
    }
    if (!text)
        text = sk_prompt_embedded_find(name, &len);
    if (!text)
        return sk_error_set(err, SK_ENOTFOUND, "no prompt template '%s'%s%s",
                            name, bench ? " for benchmark " : "",
                            bench ? bench : "");
    rc = sk_buf_append(out, text, len);
    if (rc != SK_OK)
        return sk_error_set(err, rc, "prompt %s: %s", name, sk_strerror(rc));
    return SK_OK;
}

static size_t line_of(const char *tmpl, size_t pos)
{
    size_t i, line = 1;

    for (i = 0; i < pos; i++)
        if (tmpl[i] == '\n')
            line++;
    return line;
}

static const struct sk_prompt_var *find_var(const struct sk_prompt_var *vars,
                                            size_t n, const char *name,
                                            size_t nlen)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (vars[i].name && strlen(vars[i].name) == nlen &&
            memcmp(vars[i].name, name, nlen) == 0)
            return &vars[i];
    return NULL;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

int sk_prompt_render(const char *tmpl, size_t len,
                     const struct sk_prompt_var *vars, size_t n,
                     struct sk_buf *out, struct sk_error *err)
{
    size_t keep = out->len, i = 0, lit = 0;
    int rc = SK_OK;

    if (len == 0)
        return SK_OK;
    if (!tmpl)
        return sk_error_set(err, SK_EINVAL, "template is NULL");
    while (i + 1 < len) {
        const struct sk_prompt_var *v;
        size_t name_at, name_len, j;

        if (tmpl[i] != '{' || tmpl[i + 1] != '{') {
            i++;
            continue;
        }
        /* Flush the literal run before the tag. */
        rc = sk_buf_append(out, tmpl + lit, i - lit);
        if (rc != SK_OK)
            goto fail;
        if (i + 3 < len && tmpl[i + 2] == '{' && tmpl[i + 3] == '{') {
            rc = sk_buf_append(out, "{{", 2);
            if (rc != SK_OK)
                goto fail;
            i += 4;
            lit = i;
            continue;
        }
        j = i + 2;
        while (j < len && is_blank(tmpl[j]))
            j++;
        name_at = j;
        while (j < len && is_name_char(tmpl[j]))
            j++;
        name_len = j - name_at;
        while (j < len && is_blank(tmpl[j]))
            j++;
        if (name_len == 0 || j + 1 >= len || tmpl[j] != '}' ||
            tmpl[j + 1] != '}') {
            int unterminated = memchr(tmpl + i, '}', len - i) == NULL;
            rc = sk_error_set(err, SK_EPARSE,
                              "line %zu: %s placeholder (write {{{{ for a "
                              "literal {{)",
                              line_of(tmpl, i),
                              unterminated ? "unterminated" : "malformed");
            goto out;
        }
        v = find_var(vars, n, tmpl + name_at, name_len);
        if (!v) {
            rc = sk_error_set(
                err, SK_EPARSE, "line %zu: unknown placeholder {{%.*s}}",
                line_of(tmpl, i), (int)(name_len > 64 ? 64 : name_len),
                tmpl + name_at);
            goto out;
        }
        if (v->len > 0) {
            rc = sk_buf_append(out, v->value, v->len);
            if (rc != SK_OK)
                goto fail;
        }
        i = j + 2;
        lit = i;
    }
    rc = sk_buf_append(out, tmpl + lit, len - lit);
    if (rc != SK_OK)
        goto fail;
    goto out;
fail:
    rc = sk_error_set(err, rc, "rendering prompt: %s", sk_strerror(rc));
out:
    if (rc != SK_OK && out->len > keep)
        sk_buf_truncate(out, keep);
    return rc;
}

struct sk_prompt_var sk_prompt_str(const char *name, const char *value)
{
    struct sk_prompt_var v;
    v.name = name;
    v.value = value ? value : "";
    v.len = strlen(v.value);
    return v;
}
