/*
 * fs.h - file helpers: bounded reads, atomic writes, directory creation.
 *
 * Atomic write = write "<path>.tmp.<pid>", fsync, rename over path, fsync
 * the directory: a crash leaves either the old file or the new one, never
 * half of one.  On failure the temporary file is removed and the existing
 * file is untouched.  Paths are borrowed.
 */
#ifndef SK_FS_H
#define SK_FS_H

#include <stddef.h>

#include "common.h"
#include "util/buf.h"

/*
 * Reads the whole file into out (appending; out's own cap also applies).
 * Fails with SK_ETOOBIG past max bytes, SK_ENOTFOUND if it does not exist,
 * SK_EIO otherwise; err names the path.
 */
int sk_fs_read(const char *path, size_t max, struct sk_buf *out,
               struct sk_error *err);

int sk_fs_write_atomic(const char *path, const void *data, size_t len,
                       struct sk_error *err);

/*
 * sk_fs_write_atomic without the two fsyncs: readers still never see a
 * partial file (temporary file + rename) and a killed process loses
 * nothing written, but after a power loss the file may be old or empty
 * until the caller makes it durable (e.g. syncfs once for many files).
 */
int sk_fs_write_atomic_nosync(const char *path, const void *data, size_t len,
                              struct sk_error *err);

/* mkdir -p; existing directories are fine. */
int sk_fs_mkdirs(const char *path, struct sk_error *err);

/* 1 if path exists (any type), 0 if not. */
int sk_fs_exists(const char *path);
/* 1 if path is a directory. */
int sk_fs_is_dir(const char *path);

/*
 * Joins dir and name with one '/' into a new string (sk_free it); NULL on
 * SK_ENOMEM.  An absolute name is returned as is (copied).
 */
char *sk_fs_join(const char *dir, const char *name);
/*
 * Lexically normalised copy of path: "." segments and "dir/.." pairs are
 * removed, repeated slashes collapsed (like Python's os.path.normpath; no
 * symlinks are followed).  NULL on SK_ENOMEM.
 */
char *sk_fs_normalize(const char *path);
/* Directory part of path ("." when none), new string; NULL on SK_ENOMEM. */
char *sk_fs_dirname(const char *path);

/*
 * Copies the regular file src to dst (created or replaced, mode 0644, not
 * fsync'd).  src must be a regular file and is opened without following
 * a final symlink, so a file planted by untrusted code cannot point the
 * copy at another file; more than max bytes is SK_ETOOBIG.  SK_ENOTFOUND
 * when src does not exist, SK_EIO otherwise; err names the path.  On
 * failure dst is removed.
 */
int sk_fs_copy(const char *src, const char *dst, size_t max,
               struct sk_error *err);

/*
 * Removes path and everything under it (rm -rf) without following
 * symlinks: a link is removed, never what it points to.  A missing path
 * is fine.  Returns SK_OK or SK_EIO naming the first entry that could not
 * be removed (the rest is still attempted).
 */
int sk_fs_rmtree(const char *path, struct sk_error *err);

#endif /* SK_FS_H */
