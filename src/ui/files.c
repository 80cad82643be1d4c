/*
 * files.c - the dashboard's view of the files inside a run: the path
 * checks every file access goes through, /api/file and /api/ls, and the
 * bounded head/tail reads the run summaries use.
 *
 * A path from a request is refused before it touches the file system when
 * it is absolute, has a ".." component, a backslash or a control byte; it
 * is then resolved (symlinks followed) and must land inside the run's
 * canonical directory; a file is opened without following a final
 * symlink and its descriptor's path is checked once more.
 */
#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "ui/ui_int.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/utf8.h"

#define UI_MAX_REL 4096     /* longest path accepted from a request */
#define UI_FILE_BLOCK 65536 /* bytes per read of a served file */

/* 1 if real is dir or below it (both canonical). */
static int inside(const char *dir, const char *real)
{
    size_t n = strlen(dir);

    if (strcmp(dir, "/") == 0)
        return real[0] == '/';
    return strncmp(real, dir, n) == 0 && (real[n] == '\0' || real[n] == '/');
}

/* Lexical checks on a path from a request; NULL if fine, else why not. */
static const char *bad_rel(const char *rel)
{
    const char *p = rel, *q;

    if (strlen(rel) > UI_MAX_REL)
        return "path too long";
    if (rel[0] == '/')
        return "absolute paths are not allowed";
    for (q = rel; *q; q++) {
        if (*q == '\\')
            return "backslashes are not allowed";
        if ((unsigned char)*q < 0x20 || *q == 0x7f)
            return "control characters are not allowed";
    }
    while (*p) {
        q = strchr(p, '/');
        if (!q)
            q = p + strlen(p);
        if (q - p == 2 && p[0] == '.' && p[1] == '.')
            return "'..' is not allowed";
        p = *q ? q + 1 : q;
    }
    return NULL;
}

int ui_resolve(const char *run_dir, const char *rel, char **real,
               const char **why)
{
    struct sk_buf b;
    char *rp;
    int status;

    *real = NULL;
    *why = bad_rel(rel);
    if (*why)
        return MHD_HTTP_BAD_REQUEST;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (sk_buf_printf(&b, "%s/%s", run_dir, rel) != SK_OK) {
        sk_buf_release(&b);
        *why = "out of memory";
        return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
    rp = realpath(sk_buf_cstr(&b), NULL);
    sk_buf_release(&b);
    if (!rp) {
        status = errno == EACCES || errno == ELOOP ? MHD_HTTP_FORBIDDEN
                 : errno == ENOMEM ? MHD_HTTP_INTERNAL_SERVER_ERROR
                                   : MHD_HTTP_NOT_FOUND;
        *why = status == MHD_HTTP_FORBIDDEN   ? "not readable"
               : status == MHD_HTTP_NOT_FOUND ? "not found"
                                              : "out of memory";
        return status;
    }
    if (!inside(run_dir, rp)) {
        free(rp); /* libc-allocated by realpath */
        *why = "the path leads outside the run";
        return MHD_HTTP_FORBIDDEN;
    }
    *real = sk_strdup(rp);
    free(rp); /* libc-allocated by realpath */
    if (!*real) {
        *why = "out of memory";
        return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
    return SK_OK;
}

/*
 * Whether descriptor fd still names something inside run_dir: what was
 * opened, not what the path named a moment before.  1 when /proc is not
 * there to ask (the resolve check stands alone then).
 */
static int fd_inside(const char *run_dir, int fd)
{
    char link[64], target[PATH_MAX];
    ssize_t n;

    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    n = readlink(link, target, sizeof target - 1);
    if (n < 0)
        return errno == ENOENT ? 1 : 0;
    target[n] = '\0';
    return inside(run_dir, target);
}

/*
 * Opens the resolved path (or fails with minus a status and *why).  The
 * canonical path goes to *real when real is not NULL.
 */
static int open_checked(const char *run_dir, const char *rel, int flags,
                        struct stat *st, char **real, const char **why)
{
    char *rp = NULL;
    int status = ui_resolve(run_dir, rel, &rp, why), fd, e;

    if (status != SK_OK)
        return -status;
    fd = open(rp, flags | O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY |
                      O_NONBLOCK);
    e = errno;
    if (fd < 0) {
        sk_free(rp);
        *why = e == ENOENT    ? "not found"
               : e == ENOTDIR ? "not a directory"
                              : "cannot open";
        return e == ENOENT    ? -MHD_HTTP_NOT_FOUND
               : e == ENOTDIR ? -MHD_HTTP_BAD_REQUEST
                              : -MHD_HTTP_FORBIDDEN;
    }
    if (fstat(fd, st) != 0 || !fd_inside(run_dir, fd)) {
        close(fd);
        sk_free(rp);
        *why = "the path leads outside the run";
        return -MHD_HTTP_FORBIDDEN;
    }
    if (real)
        *real = rp;
    else
        sk_free(rp);
    return fd;
}

int ui_open_in_run(const char *run_dir, const char *rel, uint64_t *size,
                   const char **why)
{
    struct stat st;
    int fd = open_checked(run_dir, rel, 0, &st, NULL, why);

    if (fd < 0)
        return fd;
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        *why = "is a directory";
        return -MHD_HTTP_BAD_REQUEST;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        *why = "not a regular file";
        return -MHD_HTTP_FORBIDDEN;
    }
    *size = (uint64_t)st.st_size;
    return fd;
}

/* ---- bounded reads ------------------------------------------------------ */

static int read_at(int fd, uint64_t off, size_t n, struct sk_buf *out)
{
    size_t got = 0;

    if (sk_buf_reserve(out, n) != SK_OK)
        return SK_ENOMEM;
    while (got < n) {
        ssize_t r =
            pread(fd, out->data + out->len, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return SK_EIO;
        if (r == 0)
            break;
        got += (size_t)r;
        out->len += (size_t)r;
    }
    out->data[out->len] = '\0';
    return SK_OK;
}

int ui_read_head(const char *path, size_t max, struct sk_buf *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY), rc;
    struct stat st;

    if (fd < 0)
        return errno == ENOENT ? SK_ENOTFOUND : SK_EIO;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return SK_EIO;
    }
    rc = read_at(fd, 0, (uint64_t)st.st_size < max ? (size_t)st.st_size : max,
                 out);
    close(fd);
    return rc;
}

int ui_read_tail(const char *path, size_t max, struct sk_buf *out,
                 uint64_t *from)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY), rc;
    struct stat st;
    uint64_t size;

    *from = 0;
    if (fd < 0)
        return errno == ENOENT ? SK_ENOTFOUND : SK_EIO;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return SK_EIO;
    }
    size = (uint64_t)st.st_size;
    *from = size > max ? size - max : 0;
    rc = read_at(fd, *from, (size_t)(size - *from), out);
    close(fd);
    return rc;
}

/* ---- /api/file ---------------------------------------------------------- */

struct file_body {
    int fd;
    uint64_t size;
};

static ssize_t file_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct file_body *f = cls;
    ssize_t n;

    if (pos >= f->size)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (max > f->size - pos)
        max = (size_t)(f->size - pos);
    do {
        n = pread(f->fd, buf, max, (off_t)pos);
    } while (n < 0 && errno == EINTR);
    /* a file that shrank while being sent ends the reply early */
    return n > 0 ? n : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void file_free(void *cls)
{
    struct file_body *f = cls;

    close(f->fd);
    sk_free(f);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int ui_query_run(struct sk_ui *ui, struct MHD_Connection *c, struct ui_run *run,
                 int *ret)
{
    const char *id;
    int got = ui_arg(c, "run", &id), rc;

    memset(run, 0, sizeof *run);
    if (got < 0) {
        *ret = ui_send_error(c, MHD_HTTP_BAD_REQUEST, "run holds a NUL byte");
        return -1;
    }
    if (got == 0 || !*id) {
        *ret = ui_send_error(c, MHD_HTTP_BAD_REQUEST, "run is required");
        return -1;
    }
    rc = ui_run_find(ui, id, run);
    if (rc == SK_ENOMEM) {
        *ret =
            ui_send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        return -1;
    }
    if (rc != SK_OK) {
        *ret = ui_send_error(c, MHD_HTTP_NOT_FOUND, "unknown run");
        return -1;
    }
    return 0;
}

int ui_handle_file(struct sk_ui *ui, struct MHD_Connection *c)
{
    struct ui_run run;
    struct file_body *f;
    struct MHD_Response *r;
    const char *rel, *why = NULL;
    uint64_t size = 0;
    int ret, got, fd;

    if (ui_query_run(ui, c, &run, &ret) != 0)
        return ret;
    got = ui_arg(c, "path", &rel);
    if (got <= 0 || !*rel) {
        ui_run_release(&run);
        return ui_send_error(c, MHD_HTTP_BAD_REQUEST,
                             got < 0 ? "path holds a NUL byte"
                                     : "path is required");
    }
    fd = ui_open_in_run(run.dir, rel, &size, &why);
    ui_run_release(&run);
    if (fd < 0)
        return ui_send_error(c, (unsigned int)-fd, why);
    if (size > UI_MAX_FILE) {
        close(fd);
        return ui_send_error(c, MHD_HTTP_CONTENT_TOO_LARGE,
                             "file larger than 16 MiB");
    }
    f = sk_malloc(sizeof *f);
    if (!f) {
        close(fd);
        return MHD_NO;
    }
    f->fd = fd;
    f->size = size;
    r = MHD_create_response_from_callback(size, UI_FILE_BLOCK, file_reader, f,
                                          file_free);
    if (!r) {
        file_free(f);
        return MHD_NO;
    }
    if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                ends_with(rel, ".json")
                                    ? "application/json"
                                    : "text/plain; charset=utf-8") != MHD_YES) {
        MHD_destroy_response(r);
        return MHD_NO;
    }
    return ui_send(c, MHD_HTTP_OK, r, 1);
}

/* ---- /api/ls ------------------------------------------------------------ */

static int by_name(const void *a, const void *b)
{
    const char *x =
        json_string_value(json_object_get(*(json_t *const *)a, "name"));
    const char *y =
        json_string_value(json_object_get(*(json_t *const *)b, "name"));
    return strcmp(x, y);
}

/*
 * The entry for name in directory dfd (path dir), or NULL to leave it out:
 * a name JSON cannot carry, or a symlink leading out of the run (its
 * target's size or type would say something about a file outside).
 */
static json_t *ls_entry(const char *run_dir, const char *dir, int dfd,
                        const char *name)
{
    struct stat st;

    if (!sk_utf8_valid(name, strlen(name), NULL))
        return NULL;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return NULL;
    if (S_ISLNK(st.st_mode)) {
        struct sk_buf b;
        char *rp;
        int ok;
        sk_buf_init(&b, SK_BUF_UNLIMITED);
        if (sk_buf_printf(&b, "%s/%s", dir, name) != SK_OK) {
            sk_buf_release(&b);
            return NULL;
        }
        rp = realpath(sk_buf_cstr(&b), NULL);
        sk_buf_release(&b);
        ok = rp && inside(run_dir, rp) && stat(rp, &st) == 0;
        free(rp); /* libc-allocated by realpath */
        if (!ok)
            return NULL;
    }
    return json_pack("{s:s, s:b, s:I}", "name", name, "dir",
                     S_ISDIR(st.st_mode), "size",
                     (json_int_t)(S_ISREG(st.st_mode) ? st.st_size : 0));
}

int ui_handle_ls(struct sk_ui *ui, struct MHD_Connection *c)
{
    struct ui_run run;
    struct stat st;
    const char *rel = "", *why = NULL;
    char *real = NULL;
    json_t *entries = NULL, *out = NULL;
    DIR *d = NULL;
    struct dirent *de;
    int ret, got, fd, truncated = 0;

    if (ui_query_run(ui, c, &run, &ret) != 0)
        return ret;
    got = ui_arg(c, "path", &rel);
    if (got < 0) {
        ui_run_release(&run);
        return ui_send_error(c, MHD_HTTP_BAD_REQUEST, "path holds a NUL byte");
    }
    if (got == 0)
        rel = "";
    fd = open_checked(run.dir, *rel ? rel : ".", O_DIRECTORY, &st, &real, &why);
    if (fd < 0) {
        ui_run_release(&run);
        return ui_send_error(c, (unsigned int)-fd, why);
    }
    d = fdopendir(fd);
    entries = json_array();
    if (!d || !entries) {
        if (!d)
            close(fd);
        ret = ui_send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                            "cannot read the directory");
        goto out;
    }
    while ((de = readdir(d)) != NULL) {
        json_t *e;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (json_array_size(entries) >= UI_MAX_LS_ENTRIES) {
            truncated = 1;
            break;
        }
        e = ls_entry(run.dir, real, dirfd(d), de->d_name);
        if (e && json_array_append_new(entries, e) != 0) {
            ret = ui_send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                "out of memory");
            goto out;
        }
    }
    /* jansson keeps the array's values in one contiguous table */
    {
        size_t n = json_array_size(entries), i;
        json_t **v = n ? sk_malloc(n * sizeof *v) : NULL;
        if (n && !v) {
            ret = ui_send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                "out of memory");
            goto out;
        }
        for (i = 0; i < n; i++)
            v[i] = json_incref(json_array_get(entries, i));
        if (n)
            qsort(v, n, sizeof *v, by_name);
        json_array_clear(entries);
        for (i = 0; i < n; i++)
            json_array_append_new(entries, v[i]);
        sk_free(v);
    }
    out = json_pack("{s:s, s:O}", "path", rel, "entries", entries);
    if (out && truncated)
        json_object_set_new(out, "truncated", json_true());
    ret = ui_send_json(c, MHD_HTTP_OK, out);
out:
    if (d)
        closedir(d);
    json_decref(entries);
    sk_free(real);
    ui_run_release(&run);
    return ret;
}
