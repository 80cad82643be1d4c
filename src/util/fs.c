/*
 * fs.c - bounded reads and crash-safe writes (see fs.h).
 */
#include "common.h"
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/alloc.h"

int sk_fs_read(const char *path, size_t max, struct sk_buf *out,
               struct sk_error *err)
{
    int fd, rc = SK_OK;
    size_t total = 0;
    char chunk[65536];
    struct stat st;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return sk_error_set(err, SK_ENOTFOUND, "%s: no such file", path);
        return sk_error_set(err, SK_EIO, "%s: cannot open: %s", path,
                            strerror(errno));
    }
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        return sk_error_set(err, SK_EIO, "%s: is a directory", path);
    }
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = sk_error_set(err, SK_EIO, "%s: read failed: %s", path,
                              strerror(errno));
            break;
        }
        if (n == 0)
            break;
        total += (size_t)n;
        if (total > max) {
            rc = sk_error_set(err, SK_ETOOBIG,
                              "%s: file is larger than the %zu-byte limit",
                              path, max);
            break;
        }
        rc = sk_buf_append(out, chunk, (size_t)n);
        if (rc != SK_OK) {
            rc = sk_error_set(err, rc, "%s: %s while reading", path,
                              sk_strerror(rc));
            break;
        }
    }
    close(fd);
    return rc;
}

static int fsync_dir(const char *dir)
{
    int fd, rc = 0;
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    /* Some file systems refuse fsync on directories; that is not fatal. */
    if (fsync(fd) != 0 && errno != EINVAL)
        rc = -1;
    close(fd);
    return rc;
}

static int write_atomic(const char *path, const void *data, size_t len,
                        int durable, struct sk_error *err)
{
    struct sk_buf tmp;
    const char *p = data;
    char *dir;
    int fd, rc;

    /* Allocate everything before the rename, so that a failure can only
     * be reported while the old file is still in place. */
    dir = sk_fs_dirname(path);
    if (!dir)
        return sk_error_set(err, SK_ENOMEM, "%s: out of memory", path);
    sk_buf_init(&tmp, 8192);
    rc = sk_buf_printf(&tmp, "%s.tmp.%ld", path, (long)getpid());
    if (rc != SK_OK) {
        sk_free(dir);
        return sk_error_set(err, rc, "%s: %s", path, sk_strerror(rc));
    }
    fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = sk_error_set(err, SK_EIO, "%s: cannot create: %s", tmp.data,
                          strerror(errno));
        goto out;
    }
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = sk_error_set(err, SK_EIO, "%s: write failed: %s", path,
                              strerror(errno));
            close(fd);
            unlink(tmp.data);
            goto out;
        }
        p += n;
        len -= (size_t)n;
    }
    if (durable && fsync(fd) != 0) {
        rc = sk_error_set(err, SK_EIO, "%s: fsync failed: %s", path,
                          strerror(errno));
        close(fd);
        unlink(tmp.data);
        goto out;
    }
    if (close(fd) != 0) {
        rc = sk_error_set(err, SK_EIO, "%s: close failed: %s", path,
                          strerror(errno));
        unlink(tmp.data);
        goto out;
    }
    if (rename(tmp.data, path) != 0) {
        rc = sk_error_set(err, SK_EIO, "%s: rename failed: %s", path,
                          strerror(errno));
        unlink(tmp.data);
        goto out;
    }
    if (durable && fsync_dir(dir) != 0)
        rc = sk_error_set(err, SK_EIO, "%s: directory fsync failed: %s", path,
                          strerror(errno));
out:
    sk_buf_release(&tmp);
    sk_free(dir);
    return rc;
}

int sk_fs_write_atomic(const char *path, const void *data, size_t len,
                       struct sk_error *err)
{
    return write_atomic(path, data, len, 1, err);
}

int sk_fs_write_atomic_nosync(const char *path, const void *data, size_t len,
                              struct sk_error *err)
{
    return write_atomic(path, data, len, 0, err);
}

int sk_fs_mkdirs(const char *path, struct sk_error *err)
{
    char *p = sk_strdup(path), *s;
    int rc = SK_OK;

    if (!p)
        return sk_error_set(err, SK_ENOMEM, "%s: out of memory", path);
    for (s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                rc = sk_error_set(err, SK_EIO, "%s: cannot create: %s", p,
                                  strerror(errno));
                break;
            }
            *s = c;
            if (c == '\0')
                break;
        }
    }
    if (rc == SK_OK && !sk_fs_is_dir(path))
        rc = sk_error_set(err, SK_EIO, "%s: not a directory", path);
    sk_free(p);
    return rc;
}

int sk_fs_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int sk_fs_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

char *sk_fs_join(const char *dir, const char *name)
{
    struct sk_buf b;
    size_t dl = strlen(dir);

    if (name[0] == '/' || dl == 0)
        return sk_strdup(name);
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (sk_buf_append(&b, dir, dl) != SK_OK ||
        (dir[dl - 1] != '/' && sk_buf_putc(&b, '/') != SK_OK) ||
        sk_buf_puts(&b, name) != SK_OK) {
        sk_buf_release(&b);
        return NULL;
    }
    return sk_buf_detach(&b, NULL);
}

char *sk_fs_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return sk_strdup(".");
    if (slash == path)
        return sk_strdup("/");
    return sk_strndup(path, (size_t)(slash - path));
}

char *sk_fs_normalize(const char *path)
{
    size_t len = strlen(path), n = 0, i;
    const char **seg;
    size_t *seglen;
    int absolute = path[0] == '/';
    struct sk_buf b;
    const char *p = path;
    char *out = NULL;

    seg = sk_calloc(len / 2 + 2, sizeof *seg);
    seglen = sk_calloc(len / 2 + 2, sizeof *seglen);
    if (!seg || !seglen)
        goto out;
    while (*p) {
        const char *s = p;
        size_t l;
        while (*p && *p != '/')
            p++;
        l = (size_t)(p - s);
        while (*p == '/')
            p++;
        if (l == 0 || (l == 1 && s[0] == '.'))
            continue;
        if (l == 2 && s[0] == '.' && s[1] == '.') {
            if (n > 0 && !(seglen[n - 1] == 2 && seg[n - 1][0] == '.' &&
                           seg[n - 1][1] == '.')) {
                n--;
                continue;
            }
            if (absolute)
                continue; /* "/.." is "/" */
        }
        seg[n] = s;
        seglen[n] = l;
        n++;
    }
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (absolute && sk_buf_putc(&b, '/') != SK_OK)
        goto fail;
    for (i = 0; i < n; i++)
        if ((i && sk_buf_putc(&b, '/') != SK_OK) ||
            sk_buf_append(&b, seg[i], seglen[i]) != SK_OK)
            goto fail;
    if (b.len == 0 && sk_buf_putc(&b, '.') != SK_OK)
        goto fail;
    out = sk_buf_detach(&b, NULL);
    goto out;
fail:
    sk_buf_release(&b);
out:
    sk_free(seg);
    sk_free(seglen);
    return out;
}

int sk_fs_copy(const char *src, const char *dst, size_t max,
               struct sk_error *err)
{
    char chunk[65536];
    struct stat st;
    size_t total = 0;
    int in, out = -1, rc = SK_OK;

    in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (in < 0) {
        if (errno == ENOENT)
            return sk_error_set(err, SK_ENOTFOUND, "%s: no such file", src);
        return sk_error_set(err, SK_EIO, "%s: cannot open: %s", src,
                            errno == ELOOP ? "is a symbolic link"
                                           : strerror(errno));
    }
    if (fstat(in, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(in);
        return sk_error_set(err, SK_EIO, "%s: not a regular file", src);
    }
    out =
        open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (out < 0) {
        rc = sk_error_set(err, SK_EIO, "%s: cannot create: %s", dst,
                          strerror(errno));
        goto out;
    }
    for (;;) {
        ssize_t n = read(in, chunk, sizeof chunk), off = 0;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = sk_error_set(err, SK_EIO, "%s: read failed: %s", src,
                              strerror(errno));
            break;
        }
        if (n == 0)
            break;
        total += (size_t)n;
        if (total > max) {
            rc = sk_error_set(err, SK_ETOOBIG,
                              "%s: file is larger than the %zu-byte limit", src,
                              max);
            break;
        }
        while (off < n) {
            ssize_t w = write(out, chunk + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                rc = sk_error_set(err, SK_EIO, "%s: write failed: %s", dst,
                                  strerror(errno));
                break;
            }
            off += w;
        }
        if (rc != SK_OK)
            break;
    }
out:
    close(in);
    if (out >= 0 && close(out) != 0 && rc == SK_OK)
        rc = sk_error_set(err, SK_EIO, "%s: write failed: %s", dst,
                          strerror(errno));
    if (rc != SK_OK && out >= 0)
        unlink(dst);
    return rc;
}

/* First failure of sk_fs_rmtree's walk (nftw has no user pointer). */
static __thread char rmtree_fail[512];

static int rmtree_one(const char *p, const struct stat *st, int flag,
                      struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if ((flag == FTW_DP ? rmdir(p) : unlink(p)) != 0 && errno != ENOENT &&
        !rmtree_fail[0])
        snprintf(rmtree_fail, sizeof rmtree_fail, "%s: %s", p, strerror(errno));
    return 0;
}

int sk_fs_rmtree(const char *path, struct sk_error *err)
{
    struct stat st;

    if (lstat(path, &st) != 0)
        return errno == ENOENT
                   ? SK_OK
                   : sk_error_set(err, SK_EIO, "%s: %s", path, strerror(errno));
    rmtree_fail[0] = '\0';
    if (nftw(path, rmtree_one, 16, FTW_DEPTH | FTW_PHYS) != 0 &&
        !rmtree_fail[0])
        snprintf(rmtree_fail, sizeof rmtree_fail, "%s: %s", path,
                 strerror(errno));
    if (rmtree_fail[0])
        return sk_error_set(err, SK_EIO, "cannot remove %s", rmtree_fail);
    return SK_OK;
}
