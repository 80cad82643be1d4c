/*
 * doctools.c - the document tools of doctools.h: the file set of one
 * question (found once, by walking the roots), the path checks made on
 * every request, and the list / glob / read / grep results.  Nothing here
 * writes a file or runs a program.
 */
#include "common.h"

#include "bench/doctools.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/buf.h"

struct doc_file {
    char *rel;   /* as the model names it, relative to its root */
    char *abs;   /* realpath */
    size_t root; /* index into roots */
};

struct sk_doctools {
    char **roots; /* realpaths, in configured order */
    size_t n_roots;
    char **sources; /* names the question may use */
    size_t n_sources;
    struct doc_file *files;
    size_t n_files, cap_files;
    char **missing; /* sources no file matched */
    size_t n_missing;
};

/* ---- UTF-8 output ------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s[i] (as Python decodes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t len, size_t i)
{
    unsigned char c = s[i];
    size_t n, k;
    uint32_t cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07u;
    } else {
        return 0;
    }
    if (i + n > len)
        return 0;
    for (k = 1; k < n; k++) {
        if ((s[i + k] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i + k] & 0x3Fu);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return n;
}

/*
 * Appends s[0..len) as valid UTF-8 (a bad byte or a NUL becomes U+FFFD),
 * stopping after max_cp code points; *used gets the bytes of s consumed
 * and the return is 1 when s was cut.  Errors come back through *rc.
 */
static int put_clean(struct sk_buf *out, const char *s, size_t len,
                     size_t max_cp, size_t *used, int *rc)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, cps = 0, run = 0;

    *rc = SK_OK;
    while (i < len) {
        size_t n = utf8_len(u, len, i);
        if (cps == max_cp)
            break;
        cps++;
        if (n && u[i] != 0) {
            i += n;
            continue;
        }
        /* flush the clean run, then the replacement */
        *rc = sk_buf_append(out, s + run, i - run);
        if (*rc == SK_OK)
            *rc = sk_buf_append(out, "\xEF\xBF\xBD", 3);
        if (*rc != SK_OK)
            return 0;
        i++;
        run = i;
    }
    *rc = sk_buf_append(out, s + run, i - run);
    if (used)
        *used = i;
    return i < len;
}

/* ---- opening ----------------------------------------------------------- */

static int push_str(char ***v, size_t *n, const char *s)
{
    char **nv = sk_realloc(*v, (*n + 1) * sizeof **v);
    if (!nv)
        return SK_ENOMEM;
    *v = nv;
    nv[*n] = sk_strdup(s);
    if (!nv[*n])
        return SK_ENOMEM;
    (*n)++;
    return SK_OK;
}

static int has_str(char *const *v, size_t n, const char *s)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return 1;
    return 0;
}

/* Does a file called name serve the source called src? */
static int name_serves(const char *name, const char *src)
{
    size_t sl = strlen(src), nl = strlen(name);
    static const char alt[] = ".pdftotext.txt";

    if (strcmp(name, src) == 0)
        return 1;
    /* "X.txt" is also served by "X.pdftotext.txt" */
    return sl > 4 && strcmp(src + sl - 4, ".txt") == 0 &&
           nl == sl - 4 + sizeof alt - 1 && strncmp(name, src, sl - 4) == 0 &&
           strcmp(name + sl - 4, alt) == 0;
}

static int is_source_name(const struct sk_doctools *dt, const char *name)
{
    size_t i;
    for (i = 0; i < dt->n_sources; i++)
        if (name_serves(name, dt->sources[i]))
            return 1;
    return 0;
}

/* Is path (a realpath) root itself or below it? */
static int inside(const char *path, const char *root)
{
    size_t rl = strlen(root);
    if (strcmp(root, "/") == 0)
        return path[0] == '/';
    return strncmp(path, root, rl) == 0 && (path[rl] == '/' || !path[rl]);
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* A configured root as a directory path: "~/" expanded; new string. */
static char *expand_root(const char *r)
{
    const char *home = getenv("HOME");
    struct sk_buf b;

    sk_buf_init(&b, PATH_MAX);
    if ((strcmp(r, "~") == 0 || strncmp(r, "~/", 2) == 0) && home && *home) {
        if (sk_buf_puts(&b, home) != SK_OK || sk_buf_puts(&b, r + 1) != SK_OK) {
            sk_buf_release(&b);
            return NULL;
        }
        return sk_buf_detach(&b, NULL);
    }
    sk_buf_release(&b);
    return sk_strdup(r);
}

/* Adds the root r (configured text) if it is a directory; SK_ENOMEM. */
static int add_root(struct sk_doctools *dt, const char *r)
{
    char real[PATH_MAX], *p = expand_root(r), *t = NULL;
    struct stat st;
    int rc = SK_OK;

    if (!p)
        return SK_ENOMEM;
    if (!*p || stat(p, &st) != 0 || !S_ISDIR(st.st_mode))
        goto out;
    t = sk_malloc(strlen(p) + sizeof "/transformed");
    if (!t) {
        rc = SK_ENOMEM;
        goto out;
    }
    memcpy(t, p, strlen(p));
    memcpy(t + strlen(p), "/transformed", sizeof "/transformed");
    if (stat(t, &st) == 0 && S_ISDIR(st.st_mode)) {
        if (!realpath(t, real))
            goto out;
    } else if (!realpath(p, real)) {
        goto out;
    }
    if (!has_str(dt->roots, dt->n_roots, real))
        rc = push_str(&dt->roots, &dt->n_roots, real);
out:
    sk_free(t);
    sk_free(p);
    return rc;
}

static int rel_taken(const struct sk_doctools *dt, const char *rel)
{
    size_t i;
    for (i = 0; i < dt->n_files; i++)
        if (strcmp(dt->files[i].rel, rel) == 0)
            return 1;
    return 0;
}

static int add_file(struct sk_doctools *dt, const char *rel, const char *abs,
                    size_t root)
{
    struct doc_file *f;
    if (rel_taken(dt, rel))
        return SK_OK; /* an earlier root holds this path */
    if (dt->n_files == dt->cap_files) {
        size_t cap = dt->cap_files ? dt->cap_files * 2 : 8;
        f = sk_realloc(dt->files, cap * sizeof *f);
        if (!f)
            return SK_ENOMEM;
        dt->files = f;
        dt->cap_files = cap;
    }
    f = &dt->files[dt->n_files];
    f->rel = sk_strdup(rel);
    f->abs = sk_strdup(abs);
    f->root = root;
    if (!f->rel || !f->abs) {
        sk_free(f->rel);
        sk_free(f->abs);
        return SK_ENOMEM;
    }
    dt->n_files++;
    return SK_OK;
}

/* Walks dir (below root k; rel is its path relative to the root, "" for
 * the root) for source files. */
static int walk(struct sk_doctools *dt, size_t k, const char *dir,
                const char *rel, int depth, size_t *budget)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    struct sk_buf full, r;
    int rc = SK_OK;

    if (!d)
        return SK_OK; /* unreadable directories hold nothing for us */
    sk_buf_init(&full, PATH_MAX);
    sk_buf_init(&r, PATH_MAX);
    while (rc == SK_OK && *budget > 0 && (e = readdir(d)) != NULL) {
        struct stat st;
        char real[PATH_MAX];
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        (*budget)--;
        sk_buf_reset(&full);
        sk_buf_reset(&r);
        if (sk_buf_printf(&full, "%s/%s", dir, e->d_name) != SK_OK ||
            sk_buf_printf(&r, "%s%s%s", rel, *rel ? "/" : "", e->d_name) !=
                SK_OK)
            continue; /* a path too long to use */
        if (lstat(sk_buf_cstr(&full), &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            if (depth < SK_DOCTOOLS_MAX_DEPTH)
                rc = walk(dt, k, sk_buf_cstr(&full), sk_buf_cstr(&r), depth + 1,
                          budget);
            continue;
        }
        if (!is_source_name(dt, e->d_name) ||
            !realpath(sk_buf_cstr(&full), real) ||
            !inside(real, dt->roots[k]) || stat(real, &st) != 0 ||
            !S_ISREG(st.st_mode))
            continue; /* symlinks out of the root never become documents */
        rc = add_file(dt, sk_buf_cstr(&r), real, k);
    }
    closedir(d);
    sk_buf_release(&full);
    sk_buf_release(&r);
    return rc;
}

static int file_cmp(const void *a, const void *b)
{
    const struct doc_file *x = a, *y = b;
    if (x->root != y->root)
        return x->root < y->root ? -1 : 1;
    return strcmp(x->rel, y->rel);
}

int sk_doctools_open(const char *const *roots, size_t n_roots,
                     const char *const *sources, size_t n_sources,
                     struct sk_doctools **out, struct sk_error *err)
{
    struct sk_doctools *dt = sk_calloc(1, sizeof *dt);
    size_t i, j, budget = SK_DOCTOOLS_MAX_WALK;
    int rc = dt ? SK_OK : SK_ENOMEM;

    *out = NULL;
    for (i = 0; rc == SK_OK && i < n_roots; i++)
        if (roots[i])
            rc = add_root(dt, roots[i]);
    for (i = 0; rc == SK_OK && i < n_sources; i++)
        if (sources[i] && *sources[i] &&
            !has_str(dt->sources, dt->n_sources, sources[i]))
            rc = push_str(&dt->sources, &dt->n_sources, sources[i]);
    for (i = 0; rc == SK_OK && dt->n_sources && i < dt->n_roots; i++)
        rc = walk(dt, i, dt->roots[i], "", 0, &budget);
    if (rc == SK_OK && dt->n_files > 1)
        qsort(dt->files, dt->n_files, sizeof *dt->files, file_cmp);
    for (i = 0; rc == SK_OK && i < dt->n_sources; i++) {
        int found = 0;
        for (j = 0; !found && j < dt->n_files; j++)
            found = name_serves(base_name(dt->files[j].rel), dt->sources[i]);
        if (!found)
            rc = push_str(&dt->missing, &dt->n_missing, dt->sources[i]);
    }
    if (rc != SK_OK) {
        sk_doctools_free(dt);
        return sk_error_set(err, rc, "document tools: %s", sk_strerror(rc));
    }
    *out = dt;
    return SK_OK;
}

static void free_strs(char **v, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        sk_free(v[i]);
    sk_free(v);
}

void sk_doctools_free(struct sk_doctools *dt)
{
    size_t i;
    if (!dt)
        return;
    free_strs(dt->roots, dt->n_roots);
    free_strs(dt->sources, dt->n_sources);
    free_strs(dt->missing, dt->n_missing);
    for (i = 0; i < dt->n_files; i++) {
        sk_free(dt->files[i].rel);
        sk_free(dt->files[i].abs);
    }
    sk_free(dt->files);
    sk_free(dt);
}

size_t sk_doctools_n_roots(const struct sk_doctools *dt)
{
    return dt->n_roots;
}

size_t sk_doctools_n_files(const struct sk_doctools *dt)
{
    return dt->n_files;
}

const char *sk_doctools_file(const struct sk_doctools *dt, size_t i)
{
    return i < dt->n_files ? dt->files[i].rel : NULL;
}

size_t sk_doctools_n_missing(const struct sk_doctools *dt)
{
    return dt->n_missing;
}

const char *sk_doctools_missing(const struct sk_doctools *dt, size_t i)
{
    return i < dt->n_missing ? dt->missing[i] : NULL;
}

/* ---- the protocol ------------------------------------------------------ */

/* Matches tag (lower-case ASCII) at s[i], ASCII letters in any case. */
static int tag_at(const char *s, size_t len, size_t i, const char *tag)
{
    size_t k, n = strlen(tag);
    if (i + n > len)
        return 0;
    for (k = 0; k < n; k++) {
        char c = s[i + k];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != tag[k])
            return 0;
    }
    return 1;
}

int sk_doctools_next_block(const char *text, size_t len, size_t *pos,
                           const char **body, size_t *body_len, int *closed)
{
    size_t i, j;
    for (i = *pos; i < len; i++) {
        if (!tag_at(text, len, i, "<tool>"))
            continue;
        for (j = i + 6; j < len && !tag_at(text, len, j, "</tool>"); j++)
            ;
        *body = text + i + 6;
        *body_len = j - (i + 6);
        *closed = j < len;
        *pos = j < len ? j + 7 : len;
        return 1;
    }
    *pos = len;
    return 0;
}

/* ---- requests ---------------------------------------------------------- */

/* The result of one request, being built. */
struct call {
    const struct sk_doctools *dt;
    struct sk_buf *out;
    int failed;
    int rc; /* first buffer failure */
};

static void say(struct call *c, const char *fmt, ...) SK_PRINTF(2, 3);
static void say(struct call *c, const char *fmt, ...)
{
    va_list ap;
    if (c->rc != SK_OK)
        return;
    va_start(ap, fmt);
    c->rc = sk_buf_vprintf(c->out, fmt, ap);
    va_end(ap);
}

/* Starts a tool error; the caller may say more. */
static void fail(struct call *c, const char *fmt, ...) SK_PRINTF(2, 3);
static void fail(struct call *c, const char *fmt, ...)
{
    va_list ap;
    c->failed = 1;
    if (c->rc != SK_OK)
        return;
    c->rc = sk_buf_puts(c->out, "error: ");
    va_start(ap, fmt);
    if (c->rc == SK_OK)
        c->rc = sk_buf_vprintf(c->out, fmt, ap);
    va_end(ap);
}

/* Appends model-given text for an error message, cleaned and cut. */
static void say_text(struct call *c, const char *s, size_t len)
{
    int rc;
    if (c->rc != SK_OK)
        return;
    if (put_clean(c->out, s, len, 200, NULL, &rc) && rc == SK_OK)
        rc = sk_buf_puts(c->out, "...");
    c->rc = rc;
}

/* When the question has no documents to open, says why; returns 1. */
static int no_documents(struct call *c)
{
    const struct sk_doctools *dt = c->dt;
    size_t i;
    if (dt->n_files > 0)
        return 0;
    if (dt->n_roots == 0) {
        fail(c, "no document corpus is available; answer from what you "
                "know");
    } else if (dt->n_sources == 0) {
        fail(c, "this question names no source documents; answer from what "
                "you know");
    } else {
        fail(c, "none of this question's source documents is in the local "
                "corpus (");
        for (i = 0; i < dt->n_missing; i++)
            say(c, "%s%s", i ? ", " : "", dt->missing[i]);
        say(c, "); answer from what you know");
    }
    return 1;
}

/* Why a path given by the model is refused before any lookup, or NULL. */
static const char *path_refusal(const char *p, size_t len)
{
    const char *s = p, *end = p + len;
    if (len == 0)
        return "missing \"path\"";
    if (memchr(p, '\0', len))
        return "the path contains a NUL byte";
    if (p[0] == '/')
        return "absolute paths are not allowed; use a path as list shows it";
    if (len >= PATH_MAX)
        return "the path is too long";
    while (s < end) {
        const char *e = memchr(s, '/', (size_t)(end - s));
        if (!e)
            e = end;
        if (e - s == 2 && s[0] == '.' && s[1] == '.')
            return "\"..\" is not allowed in a path";
        s = e + 1;
    }
    return NULL;
}

/*
 * Finds the document the model means by p (len bytes), or says why not
 * (a tool error) and returns NULL.
 */
static const struct doc_file *resolve(struct call *c, const char *p, size_t len)
{
    const struct sk_doctools *dt = c->dt;
    const char *why = path_refusal(p, len);
    struct sk_buf full;
    size_t k, i;

    if (why) {
        fail(c, "%s", why);
        return NULL;
    }
    sk_buf_init(&full, PATH_MAX);
    for (k = 0; k < dt->n_roots; k++) {
        char real[PATH_MAX];
        struct stat st;
        sk_buf_reset(&full);
        if (sk_buf_printf(&full, "%s/", dt->roots[k]) != SK_OK ||
            sk_buf_append(&full, p, len) != SK_OK)
            continue;
        if (!realpath(sk_buf_cstr(&full), real)) {
            if (errno != ENOENT && errno != ENOTDIR && !why)
                why = "the path cannot be resolved";
            continue;
        }
        if (!inside(real, dt->roots[k])) {
            why = "the path resolves outside the document roots";
            continue;
        }
        for (i = 0; i < dt->n_files; i++) {
            if (strcmp(dt->files[i].abs, real) == 0) {
                sk_buf_release(&full);
                return &dt->files[i];
            }
        }
        if (!why)
            why = (stat(real, &st) == 0 && S_ISDIR(st.st_mode))
                      ? "that is a directory, not a document"
                      : "not one of this question's documents";
    }
    sk_buf_release(&full);
    /* a bare file name: the document of that name or source name */
    if (!memchr(p, '/', len)) {
        char *q = sk_strndup(p, len);
        const struct doc_file *hit = NULL;
        if (!q) {
            c->rc = SK_ENOMEM;
            return NULL;
        }
        for (i = 0; !hit && i < dt->n_files; i++)
            if (strcmp(base_name(dt->files[i].rel), q) == 0)
                hit = &dt->files[i];
        for (i = 0; !hit && i < dt->n_files; i++)
            if (name_serves(base_name(dt->files[i].rel), q))
                hit = &dt->files[i];
        for (i = 0; !hit && !why && i < dt->n_missing; i++)
            if (strcmp(dt->missing[i], q) == 0)
                why = "that document is not in the local corpus";
        sk_free(q);
        if (hit)
            return hit;
    }
    if (!why && no_documents(c))
        return NULL;
    fail(c, "%s: ", why ? why : "no such document");
    say_text(c, p, len);
    say(c, " (list shows the documents of this question)");
    return NULL;
}

/* Reads a document into b; a tool error (and 0) when it cannot. */
static int load(struct call *c, const struct doc_file *f, struct sk_buf *b)
{
    int fd = open(f->abs, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    int ok = 0;

    if (fd < 0) {
        fail(c, "%s cannot be opened: %s", f->rel, strerror(errno));
        return 0;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        fail(c, "%s is not a regular file", f->rel);
        goto out;
    }
    if ((uintmax_t)st.st_size > SK_DOCTOOLS_MAX_FILE) {
        fail(c, "%s is too large to open (%jd bytes; the limit is %zu)", f->rel,
             (intmax_t)st.st_size, (size_t)SK_DOCTOOLS_MAX_FILE);
        goto out;
    }
    for (;;) {
        ssize_t n;
        if (b->len >= SK_DOCTOOLS_MAX_FILE) {
            fail(c, "%s is too large to open", f->rel);
            goto out;
        }
        if (sk_buf_reserve(b, 65536) != SK_OK) {
            c->rc = SK_ENOMEM;
            goto out;
        }
        n = read(fd, b->data + b->len, 65536);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fail(c, "%s cannot be read: %s", f->rel, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        b->len += (size_t)n;
        b->data[b->len] = '\0';
    }
    ok = 1;
out:
    close(fd);
    return ok;
}

/* An integer argument: absent or null gives def; *bad on a non-integer. */
static long int_arg(const json_t *args, const char *key, long def, int *bad)
{
    const json_t *v = json_object_get(args, key);
    const long cap = 1L << 40;
    long x = def;

    if (!v || json_is_null(v))
        return def;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        x = i > cap ? cap : i < -cap ? -cap : (long)i;
    } else if (json_is_real(v) && json_real_value(v) == json_real_value(v)) {
        double d = json_real_value(v);
        x = d > (double)cap ? cap : d < (double)-cap ? -cap : (long)d;
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        errno = 0;
        x = strtol(s, &end, 10);
        while (*end == ' ')
            end++;
        if (end == s || *end || errno)
            *bad = 1;
        x = x > cap ? cap : x < -cap ? -cap : x;
    } else {
        *bad = 1;
    }
    return x;
}

/* A string argument (NULL when absent, null or not a string). */
static const char *str_arg(const json_t *args, const char *key, size_t *len)
{
    const json_t *v = json_object_get(args, key);
    *len = json_string_length(v);
    return json_string_value(v);
}

static void do_list(struct call *c, const char *pattern)
{
    const struct sk_doctools *dt = c->dt;
    size_t i, shown = 0;
    if (no_documents(c))
        return;
    for (i = 0; i < dt->n_files && shown < SK_DOCTOOLS_GLOB_MATCHES; i++) {
        const char *rel = dt->files[i].rel;
        if (pattern && fnmatch(pattern, rel, FNM_NOESCAPE) != 0 &&
            fnmatch(pattern, base_name(rel), FNM_NOESCAPE) != 0)
            continue;
        say(c, "%s%s", shown ? "\n" : "", rel);
        shown++;
    }
    if (!shown)
        say(c, "[no matches; list shows all %zu documents]", dt->n_files);
}

static void do_read(struct call *c, const json_t *args)
{
    const struct doc_file *f;
    const char *p;
    size_t plen, n_lines = 0, i, from = 0, to, used, last;
    long start, limit;
    int bad = 0, cut;
    struct sk_buf b;

    p = str_arg(args, "path", &plen);
    start = int_arg(args, "start", 1, &bad);
    limit = int_arg(args, "limit", SK_DOCTOOLS_READ_LINES, &bad);
    if (bad) {
        fail(c, "\"start\" and \"limit\" must be whole numbers");
        return;
    }
    if (!p) {
        fail(c, "read needs a \"path\" (a string)");
        return;
    }
    if (start < 1)
        start = 1;
    if (limit < 1)
        limit = 1;
    f = resolve(c, p, plen);
    if (!f)
        return;
    sk_buf_init(&b, SK_DOCTOOLS_MAX_FILE + 65536);
    if (!load(c, f, &b))
        goto out;
    /* lines end at '\n'; a last line without one still counts */
    for (i = 0; i < b.len; i++)
        n_lines += b.data[i] == '\n';
    if (b.len && b.data[b.len - 1] != '\n')
        n_lines++;
    if (n_lines == 0) {
        say(c, "[%s is empty]", f->rel);
        goto out;
    }
    if ((size_t)start > n_lines) {
        say(c, "[line %ld is past the end: %s has %zu lines]", start, f->rel,
            n_lines);
        goto out;
    }
    /* byte range of lines start .. start+limit-1 */
    for (i = 1; i < (size_t)start; i++) {
        const char *nl = memchr(b.data + from, '\n', b.len - from);
        from = nl ? (size_t)(nl - b.data) + 1 : b.len;
    }
    for (to = from, i = 0; to < b.len && i < (size_t)limit; i++) {
        const char *nl = memchr(b.data + to, '\n', b.len - to);
        to = nl ? (size_t)(nl - b.data) + 1 : b.len;
    }
    cut = put_clean(c->out, b.data + from, to - from, SK_DOCTOOLS_READ_CHARS,
                    &used, &c->rc);
    if (c->rc != SK_OK)
        goto out;
    /* the last line shown, whole or in part */
    to = from + used;
    for (i = from, last = (size_t)start - 1; i < to; i++)
        last += b.data[i] == '\n';
    if (used && b.data[to - 1] != '\n') {
        last++;
        say(c, "\n");
    }
    say(c, "[%s lines %ld-%zu of %zu%s]", f->rel, start, last, n_lines,
        cut ? "; cut at 4000 characters" : "");
out:
    sk_buf_release(&b);
}

/* ASCII lower-case copy of s into a new buffer (NULL on SK_ENOMEM). */
static char *lower_dup(const char *s, size_t len)
{
    char *d = sk_malloc(len + 1);
    size_t i;
    if (!d)
        return NULL;
    for (i = 0; i < len; i++)
        d[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
    d[len] = '\0';
    return d;
}

/*
 * Greps one document; *shown counts matches across documents.  prefix:
 * name lines "rel:N: text" (several documents).  Returns 1 when the cap
 * was reached with more matches left.
 */
static int grep_one(struct call *c, const struct doc_file *f, const char *pat,
                    size_t plen, int prefix, size_t *shown)
{
    struct sk_buf b;
    char *low = NULL;
    size_t pos = 0, line_no = 1, line_at = 0;
    int more = 0;

    sk_buf_init(&b, SK_DOCTOOLS_MAX_FILE + 65536);
    if (!load(c, f, &b))
        goto out;
    low = lower_dup(b.data ? b.data : "", b.len);
    if (!low) {
        c->rc = SK_ENOMEM;
        goto out;
    }
    while (c->rc == SK_OK && pos < b.len) {
        const char *m = memmem(low + pos, b.len - pos, pat, plen);
        size_t at, bol, eol, used;
        int rc;
        if (!m)
            break;
        at = (size_t)(m - low);
        /* the number and span of the line holding the match */
        for (; line_at < at; line_at++)
            line_no += b.data[line_at] == '\n';
        for (bol = at; bol > 0 && b.data[bol - 1] != '\n'; bol--)
            ;
        for (eol = at; eol < b.len && b.data[eol] != '\n'; eol++)
            ;
        pos = eol < b.len ? eol + 1 : b.len;
        if (*shown == SK_DOCTOOLS_GREP_MATCHES) {
            more = 1;
            break;
        }
        while (eol > bol && strchr(" \t\r\f\v", b.data[eol - 1]))
            eol--;
        say(c, "%s", *shown ? "\n" : "");
        if (prefix)
            say(c, "%s:", f->rel);
        say(c, "%zu: ", line_no);
        if (c->rc != SK_OK)
            break;
        if (put_clean(c->out, b.data + bol, eol - bol,
                      SK_DOCTOOLS_GREP_LINE_CHARS, &used, &rc) &&
            rc == SK_OK)
            rc = sk_buf_puts(c->out, " [...]");
        c->rc = rc;
        (*shown)++;
    }
out:
    sk_free(low);
    sk_buf_release(&b);
    return more;
}

static void do_grep(struct call *c, const json_t *args)
{
    const struct sk_doctools *dt = c->dt;
    const struct doc_file *f = NULL;
    const char *p, *pat;
    size_t plen, patlen, shown = 0, i;
    char *low;
    int more = 0;

    pat = str_arg(args, "pattern", &patlen);
    p = str_arg(args, "path", &plen);
    if (!pat || patlen == 0) {
        fail(c, "grep needs a non-empty \"pattern\" (a string)");
        return;
    }
    if (patlen > SK_DOCTOOLS_MAX_PATTERN || memchr(pat, '\0', patlen)) {
        fail(c, "the pattern is too long or contains a NUL byte");
        return;
    }
    if (p && plen > 0) {
        f = resolve(c, p, plen);
        if (!f)
            return;
    } else if (no_documents(c)) {
        return;
    }
    low = lower_dup(pat, patlen);
    if (!low) {
        c->rc = SK_ENOMEM;
        return;
    }
    if (f) {
        more = grep_one(c, f, low, patlen, 0, &shown);
    } else {
        for (i = 0; !more && !c->failed && i < dt->n_files; i++) {
            struct stat st;
            /* one oversized document does not spoil the search */
            if (stat(dt->files[i].abs, &st) == 0 &&
                (uintmax_t)st.st_size > SK_DOCTOOLS_MAX_FILE) {
                say(c, "[%s skipped: too large]\n", dt->files[i].rel);
                continue;
            }
            more = grep_one(c, &dt->files[i], low, patlen, 1, &shown);
        }
    }
    sk_free(low);
    if (c->failed)
        return;
    if (more)
        say(c, "\n[stopped at %d matches]", SK_DOCTOOLS_GREP_MATCHES);
    else if (!shown)
        say(c, "[no matches]");
}

/* The JSON object of a block: whitespace and a code fence trimmed. */
static json_t *parse_request(const char *s, size_t len)
{
    size_t b = 0, e = len;
    while (b < e && strchr(" \t\r\n", s[b]))
        b++;
    while (e > b && strchr(" \t\r\n", s[e - 1]))
        e--;
    if (e - b >= 6 && memcmp(s + b, "```", 3) == 0 &&
        memcmp(s + e - 3, "```", 3) == 0) {
        const char *nl = memchr(s + b, '\n', e - b);
        if (nl)
            b = (size_t)(nl - s) + 1;
        e -= 3;
    }
    return json_loadb(s + b, e - b, JSON_ALLOW_NUL, NULL);
}

int sk_doctools_run(const struct sk_doctools *dt, const char *req, size_t len,
                    struct sk_buf *name, struct sk_buf *out, int *failed)
{
    struct call c;
    json_t *obj = NULL;
    const json_t *args;
    const char *n = NULL;
    size_t nlen = 0;
    int rc;

    memset(&c, 0, sizeof c);
    c.dt = dt;
    c.out = out;
    if (len > SK_DOCTOOLS_MAX_REQUEST) {
        fail(&c, "the tool request is too long (%zu bytes; the limit is %d)",
             len, SK_DOCTOOLS_MAX_REQUEST);
        goto out;
    }
    obj = parse_request(req, len);
    n = str_arg(obj, "name", &nlen);
    if (!json_is_object(obj) || !n) {
        fail(&c, "a tool request is one JSON object with a \"name\", like "
                 "{\"name\": \"read\", \"path\": \"...\", \"start\": 1, "
                 "\"limit\": 80}");
        goto out;
    }
    /* arguments may also sit in an "arguments" object */
    args = json_object_get(obj, "arguments");
    if (!json_is_object(args))
        args = obj;
    if (strcmp(n, "list") == 0) {
        do_list(&c, NULL);
    } else if (strcmp(n, "glob") == 0) {
        size_t l;
        const char *pat = str_arg(args, "pattern", &l);
        if (pat && memchr(pat, '\0', l))
            fail(&c, "the pattern contains a NUL byte");
        else
            do_list(&c, pat && *pat ? pat : "*");
    } else if (strcmp(n, "read") == 0) {
        do_read(&c, args);
    } else if (strcmp(n, "grep") == 0) {
        do_grep(&c, args);
    } else {
        fail(&c, "unknown tool \"");
        say_text(&c, n, nlen);
        say(&c, "\"; the tools are list, glob, read and grep");
    }
out:
    if (c.rc == SK_OK) {
        if (n && json_is_object(obj))
            put_clean(name, n, nlen, 40, NULL, &c.rc);
        else
            c.rc = sk_buf_puts(name, "?");
    }
    rc = c.rc;
    *failed = c.failed;
    json_decref(obj);
    return rc;
}
