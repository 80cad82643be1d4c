/*
 * sandbox.c - untrusted command execution under bubblewrap (see sandbox.h
 * and docs/sandbox.md).
 *
 * One fork+exec per run; the child makes only async-signal-safe calls, so
 * runs may start from many threads at once.  The process limit is set by
 * prlimit(1) as the first program inside the sandbox: RLIMIT_NPROC is
 * counted per user namespace and uid, so set there it bounds this sandbox
 * alone, while set on bwrap it would also count the user's other processes
 * (and a parent without CAP_SYS_RESOURCE may not set it on a process of
 * another uid).  bwrap reports its sandboxed child on --info-fd and waits
 * on --block-fd until released; a release byte still unread when bwrap
 * exits means the sandbox was never set up.
 */
#include "common.h"

#include "sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/jsonparse.h"

#define ADVICE                                                                 \
    "install bubblewrap (Debian: apt-get install bubblewrap) and make sure "   \
    "user namespaces are allowed, or pass --unsafe-no-sandbox to run model "   \
    "code without isolation"
/* PATH inside the sandbox unless the caller gives one. */
#define SANDBOX_PATH "/usr/local/bin:/usr/bin:/bin"
/* Where the bwrap executable is looked for when PATH is unset. */
#define HOST_PATH "/usr/local/bin:/usr/bin:/bin"
/* Where prlimit(1) must be: directories mounted inside the sandbox. */
#define PRLIMIT_PATH "/usr/bin:/bin:/usr/sbin:/sbin"
/* Descriptors bwrap gets for --info-fd and --block-fd. */
#define FD_INFO 3
#define FD_BLOCK 4
/* How long output is still read after the command has ended, in ms. */
#define GRACE_MS 200
/* Longest poll when the kernel has no pidfd to wake us, in ms. */
#define SLICE_MS 20
/* Largest --info-fd document read. */
#define INFO_MAX 4096
/* Longest piece of bwrap's stderr quoted in an error message. */
#define QUOTE_MAX 400

/* What a child that failed before exec reports through its error pipe. */
enum stage { ST_FD = 1, ST_RLIMIT, ST_UID, ST_CHDIR, ST_EXEC };

struct child_err {
    int stage;
    int err;
};

/* A NULL-terminated vector of owned strings; oom is sticky. */
struct strv {
    char **v;
    size_t n, cap;
    int oom;
};

/* Everything the forked child needs, prepared before fork. */
struct child {
    const char *exe;
    char *const *argv;
    char *const *envp;
    const char *workdir;
    int src[5]; /* descriptors that become 0, 1, 2 (and 3, 4 for bwrap) */
    int nfd;
    int errfd; /* write end of the exec-error pipe (close-on-exec) */
    int drop_uid;
    int nlim;
    int res[4];
    struct rlimit lim[4];
    pid_t parent;
    int maxfd; /* highest descriptor to close when close_range is missing */
};

/* One run in progress. */
struct run {
    pid_t pid;     /* bwrap, or the command in unsafe mode */
    int pidfd;     /* of pid, or -1 */
    int sbx_pidfd; /* of bwrap's sandboxed child, or -1 */
    int out, err;  /* read ends */
    int in;        /* our end of the stdin socket, or -1 */
    const char *in_p;
    size_t in_left;
    int info;     /* read end of --info-fd, or -1 */
    int block_w;  /* write end of --block-fd, or -1 */
    int block_r;  /* our copy of its read end, to see if it was read */
    int released; /* the release byte was written */
    int setup_failed;
    struct sk_buf ob, eb, ib;
    size_t cap;
    int out_trunc, err_trunc;
};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void strv_release(struct strv *s)
{
    size_t i;
    for (i = 0; i < s->n; i++)
        sk_free(s->v[i]);
    sk_free(s->v);
    memset(s, 0, sizeof *s);
}

/* Appends take (owned; NULL means an allocation already failed). */
static void strv_take(struct strv *s, char *take)
{
    if (!take || s->oom) {
        s->oom = 1;
        sk_free(take);
        return;
    }
    if (s->n + 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        char **v = sk_realloc(s->v, cap * sizeof *v);
        if (!v) {
            s->oom = 1;
            sk_free(take);
            return;
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = take;
    s->v[s->n] = NULL;
}

static void strv_push(struct strv *s, const char *str)
{
    strv_take(s, s->oom ? NULL : sk_strdup(str));
}

static void strv_pushf(struct strv *s, const char *fmt, ...) SK_PRINTF(2, 3);
static void strv_pushf(struct strv *s, const char *fmt, ...)
{
    struct sk_buf b;
    va_list ap;
    int rc;

    if (s->oom)
        return;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    va_start(ap, fmt);
    rc = sk_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    strv_take(s, rc == SK_OK ? sk_buf_detach(&b, NULL) : NULL);
    sk_buf_release(&b);
}

/* Sets NAME=VALUE in an environment vector, replacing an earlier NAME. */
static void env_set(struct strv *e, const char *kv)
{
    size_t i, nl = (size_t)(strchr(kv, '=') - kv);
    char *dup;

    for (i = 0; i < e->n; i++) {
        if (strncmp(e->v[i], kv, nl + 1) == 0) {
            dup = sk_strdup(kv);
            if (!dup) {
                e->oom = 1;
                return;
            }
            sk_free(e->v[i]);
            e->v[i] = dup;
            return;
        }
    }
    strv_push(e, kv);
}

static const char *env_get(const struct strv *e, const char *name)
{
    size_t i, nl = strlen(name);
    for (i = 0; i < e->n; i++)
        if (strncmp(e->v[i], name, nl) == 0 && e->v[i][nl] == '=')
            return e->v[i] + nl + 1;
    return NULL;
}

/*
 * Finds name (no '/') in a colon-separated path.  SK_OK with *out set (new
 * string) or NULL when not found; SK_ENOMEM.
 */
static int path_lookup(const char *name, const char *path, char **out)
{
    const char *p = path, *colon;
    struct sk_buf b;
    struct stat st;

    *out = NULL;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    while (*p) {
        size_t n;
        colon = strchr(p, ':');
        n = colon ? (size_t)(colon - p) : strlen(p);
        if (n > 0) {
            sk_buf_reset(&b);
            if (sk_buf_append(&b, p, n) != SK_OK ||
                sk_buf_putc(&b, '/') != SK_OK ||
                sk_buf_puts(&b, name) != SK_OK) {
                sk_buf_release(&b);
                return SK_ENOMEM;
            }
            if (stat(b.data, &st) == 0 && S_ISREG(st.st_mode) &&
                access(b.data, X_OK) == 0) {
                *out = sk_buf_detach(&b, NULL);
                sk_buf_release(&b);
                return *out ? SK_OK : SK_ENOMEM;
            }
        }
        if (!colon)
            break;
        p = colon + 1;
    }
    sk_buf_release(&b);
    return SK_OK;
}

static int find_bwrap(const char *bwrap, char **out, struct sk_error *err)
{
    const char *path = getenv("PATH");
    int rc;

    *out = NULL;
    if (!bwrap)
        bwrap = "bwrap";
    if (strchr(bwrap, '/')) {
        if (access(bwrap, X_OK) != 0)
            return sk_error_set(err, SK_ENOTFOUND,
                                "cannot run model code in a sandbox: %s: %s; "
                                "%s",
                                bwrap, strerror(errno), ADVICE);
        *out = sk_strdup(bwrap);
        return *out ? SK_OK : sk_error_set(err, SK_ENOMEM, "out of memory");
    }
    rc = path_lookup(bwrap, path && *path ? path : HOST_PATH, out);
    if (rc == SK_OK && !*out)
        rc = path_lookup(bwrap, HOST_PATH, out);
    if (rc != SK_OK)
        return sk_error_set(err, rc, "out of memory");
    if (!*out)
        return sk_error_set(err, SK_ENOTFOUND,
                            "cannot run model code in a sandbox: bubblewrap "
                            "(%s) is not installed; %s",
                            bwrap, ADVICE);
    return SK_OK;
}

static int check_opts(const struct sk_sandbox_opts *o, struct sk_error *err)
{
    static const char *const sys[] = {
        "/",    "/usr", "/etc",  "/bin", "/sbin", "/lib",  "/lib64", "/proc",
        "/dev", "/sys", "/boot", "/var", "/root", "/home", "/tmp",   "/run"};
    char real[PATH_MAX];
    struct stat st;
    size_t i;

    if (!o->workdir || o->workdir[0] != '/')
        return sk_error_set(err, SK_EINVAL,
                            "sandbox: the work directory must be an "
                            "absolute path");
    if (stat(o->workdir, &st) != 0 || !S_ISDIR(st.st_mode))
        return sk_error_set(err, SK_EINVAL, "sandbox: %s is not a directory",
                            o->workdir);
    if (!realpath(o->workdir, real))
        return sk_error_set(err, SK_EINVAL, "sandbox: %s: %s", o->workdir,
                            strerror(errno));
    for (i = 0; i < SK_ARRAY_LEN(sys); i++)
        if (strcmp(real, sys[i]) == 0)
            return sk_error_set(err, SK_EINVAL,
                                "sandbox: refusing %s as the work directory "
                                "(it would make %s writable)",
                                o->workdir, real);
    if (!o->argv || !o->argv[0] || !o->argv[0][0])
        return sk_error_set(err, SK_EINVAL, "sandbox: empty command");
    for (i = 0; o->env && o->env[i]; i++) {
        const char *eq = strchr(o->env[i], '=');
        if (!eq || eq == o->env[i])
            return sk_error_set(err, SK_EINVAL,
                                "sandbox: environment entry \"%s\" is not "
                                "NAME=VALUE",
                                o->env[i]);
    }
    for (i = 0; o->ro_binds && o->ro_binds[i]; i++)
        if (o->ro_binds[i][0] != '/')
            return sk_error_set(err, SK_EINVAL,
                                "sandbox: read-only path \"%s\" is not "
                                "absolute",
                                o->ro_binds[i]);
    return SK_OK;
}

static int build_env(const struct sk_sandbox_opts *o, struct strv *e)
{
    char *tmp = sk_fs_join(o->workdir, ".tmp");
    size_t i;

    if (!tmp)
        return SK_ENOMEM;
    strv_push(e, "PATH=" SANDBOX_PATH);
    strv_pushf(e, "HOME=%s", o->workdir);
    strv_pushf(e, "TMPDIR=%s", tmp);
    strv_push(e, "LANG=C.UTF-8");
    strv_push(e, "LC_ALL=C.UTF-8");
    strv_push(e, "PYTHONDONTWRITEBYTECODE=1");
    strv_push(e, "PYTHONIOENCODING=utf-8");
    for (i = 0; o->env && o->env[i] && !e->oom; i++)
        env_set(e, o->env[i]);
    sk_free(tmp);
    return e->oom ? SK_ENOMEM : SK_OK;
}

/* The system's /bin, /lib, ... : symlinks (merged /usr) or directories. */
static void add_top_dirs(struct strv *a)
{
    static const char *const dirs[] = {"/bin",   "/sbin",  "/lib",
                                       "/lib32", "/lib64", "/libx32"};
    char target[PATH_MAX];
    struct stat st;
    size_t i;

    for (i = 0; i < SK_ARRAY_LEN(dirs); i++) {
        ssize_t n;
        if (lstat(dirs[i], &st) != 0)
            continue;
        if (S_ISLNK(st.st_mode)) {
            n = readlink(dirs[i], target, sizeof target - 1);
            if (n <= 0)
                continue;
            target[n] = '\0';
            strv_push(a, "--symlink");
            strv_push(a, target);
            strv_push(a, dirs[i]);
        } else if (S_ISDIR(st.st_mode)) {
            strv_push(a, "--ro-bind");
            strv_push(a, dirs[i]);
            strv_push(a, dirs[i]);
        }
    }
}

static int build_bwrap_argv(const struct sk_sandbox_opts *o, const char *bwrap,
                            const char *prlimit, long nproc, struct strv *a)
{
    size_t i;

    strv_push(a, bwrap);
    /* every namespace, and a user namespace is required, not "try" */
    strv_push(a, "--unshare-all");
    strv_push(a, "--unshare-user");
    strv_push(a, "--disable-userns");
    strv_push(a, "--die-with-parent");
    strv_push(a, "--new-session");
    strv_push(a, "--cap-drop");
    strv_push(a, "ALL");
    strv_push(a, "--uid");
    strv_pushf(a, "%d", SK_SANDBOX_ROOT_UID);
    strv_push(a, "--gid");
    strv_pushf(a, "%d", SK_SANDBOX_ROOT_UID);
    strv_push(a, "--hostname");
    strv_push(a, "sandbox");
    strv_push(a, "--ro-bind");
    strv_push(a, "/usr");
    strv_push(a, "/usr");
    add_top_dirs(a);
    strv_push(a, "--ro-bind");
    strv_push(a, "/etc");
    strv_push(a, "/etc");
    strv_push(a, "--proc");
    strv_push(a, "/proc");
    strv_push(a, "--dev");
    strv_push(a, "/dev");
    /* an empty, read-only /tmp: code that writes there fails visibly */
    strv_push(a, "--dir");
    strv_push(a, "/tmp");
    for (i = 0; o->ro_binds && o->ro_binds[i]; i++) {
        strv_push(a, "--ro-bind");
        strv_push(a, o->ro_binds[i]);
        strv_push(a, o->ro_binds[i]);
    }
    strv_push(a, "--bind");
    strv_push(a, o->workdir);
    strv_push(a, o->workdir);
    /* last: the root and /dev are tmpfs that would otherwise be writable */
    strv_push(a, "--remount-ro");
    strv_push(a, "/dev");
    strv_push(a, "--remount-ro");
    strv_push(a, "/");
    strv_push(a, "--chdir");
    strv_push(a, o->workdir);
    strv_push(a, "--info-fd");
    strv_pushf(a, "%d", FD_INFO);
    strv_push(a, "--block-fd");
    strv_pushf(a, "%d", FD_BLOCK);
    strv_push(a, "--");
    if (prlimit) {
        /* +1: bwrap's init process in the sandbox counts too */
        strv_push(a, prlimit);
        strv_pushf(a, "--nproc=%ld:%ld", nproc + 1, nproc + 1);
        strv_push(a, "--");
    }
    for (i = 0; o->argv[i]; i++)
        strv_push(a, o->argv[i]);
    return a->oom ? SK_ENOMEM : SK_OK;
}

static int chown_one(const char *path, const struct stat *st, int flag,
                     struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return lchown(path, SK_SANDBOX_ROOT_UID, SK_SANDBOX_ROOT_UID) == 0 ? 0 : -1;
}

/* Creates workdir/.tmp and, as root, hands the tree to the sandbox uid. */
static int prepare_workdir(const struct sk_sandbox_opts *o, int drop,
                           struct sk_error *err)
{
    char *tmp = sk_fs_join(o->workdir, ".tmp");
    int rc = SK_OK;

    if (!tmp)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST) {
        rc = sk_error_set(err, SK_EIO, "sandbox: cannot create %s: %s", tmp,
                          strerror(errno));
        goto out;
    }
    if (drop && nftw(o->workdir, chown_one, 16, FTW_PHYS) != 0)
        rc = sk_error_set(err, SK_EIO,
                          "sandbox: as root, the sandbox runs as uid %d and "
                          "the work directory is handed to it, but chown of "
                          "%s failed: %s",
                          SK_SANDBOX_ROOT_UID, o->workdir, strerror(errno));
out:
    sk_free(tmp);
    return rc;
}

static void set_limit(struct child *c, int res, long v, long mult)
{
    rlim_t x = RLIM_INFINITY;
    if (v >= 0)
        x = (rlim_t)v * (rlim_t)mult;
    c->res[c->nlim] = res;
    c->lim[c->nlim].rlim_cur = x;
    /* a hard CPU limit one second later kills what ignores SIGXCPU */
    c->lim[c->nlim].rlim_max =
        (res == RLIMIT_CPU && x != RLIM_INFINITY) ? x + 1 : x;
    c->nlim++;
}

static long pick(long v, long dflt)
{
    return v == 0 ? dflt : (v < 0 ? -1 : v);
}

/* Closes every descriptor from lo up. */
static void close_from(int lo, int maxfd)
{
#ifdef SYS_close_range
    if (syscall(SYS_close_range, (unsigned)lo, ~0U, 0U) == 0)
        return;
#endif
    for (; lo <= maxfd; lo++)
        close(lo);
}

static void child_fail(int fd, int stage) __attribute__((noreturn));
static void child_fail(int fd, int stage)
{
    struct child_err ce;
    ssize_t n;
    ce.stage = stage;
    ce.err = errno;
    n = write(fd, &ce, sizeof ce);
    (void)n;
    _exit(127);
}

/* In the forked child: async-signal-safe calls only, then exec. */
static void child_run(const struct child *c) __attribute__((noreturn));
static void child_run(const struct child *c)
{
    struct sigaction dfl;
    sigset_t none;
    int i, hi[5], efd = c->errfd;

    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (i = 1; i < NSIG; i++)
        if (i != SIGKILL && i != SIGSTOP)
            (void)sigaction(i, &dfl, NULL);
    sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &none, NULL);
    (void)setpgid(0, 0);

    /* move everything above the target numbers first, so no dup2 below
     * overwrites a descriptor still to be moved */
    for (i = 0; i < c->nfd; i++) {
        hi[i] = fcntl(c->src[i], F_DUPFD, 10);
        if (hi[i] < 0)
            child_fail(efd, ST_FD);
    }
    efd = fcntl(c->errfd, F_DUPFD_CLOEXEC, 10);
    if (efd < 0)
        child_fail(c->errfd, ST_FD);
    for (i = 0; i < c->nfd; i++)
        if (dup2(hi[i], i) < 0)
            child_fail(efd, ST_FD);
    if (dup2(efd, c->nfd) < 0 || fcntl(c->nfd, F_SETFD, FD_CLOEXEC) < 0)
        child_fail(efd, ST_FD);
    efd = c->nfd;
    close_from(c->nfd + 1, c->maxfd);

    for (i = 0; i < c->nlim; i++)
        if (setrlimit(c->res[i], &c->lim[i]) != 0)
            child_fail(efd, ST_RLIMIT);
    if (c->drop_uid) {
        /* raw system calls: the glibc wrappers broadcast to threads */
        if (syscall(SYS_setgroups, 0, NULL) != 0 ||
            syscall(SYS_setresgid, SK_SANDBOX_ROOT_UID, SK_SANDBOX_ROOT_UID,
                    SK_SANDBOX_ROOT_UID) != 0 ||
            syscall(SYS_setresuid, SK_SANDBOX_ROOT_UID, SK_SANDBOX_ROOT_UID,
                    SK_SANDBOX_ROOT_UID) != 0)
            child_fail(efd, ST_UID);
    }
    /* after the uid switch, which clears it */
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != c->parent)
        _exit(127);
    if (chdir(c->workdir) != 0)
        child_fail(efd, ST_CHDIR);
    execve(c->exe, c->argv, c->envp);
    child_fail(efd, ST_EXEC);
}

/*
 * Set once the kernel (or valgrind, which warns on every call) has said it
 * has no pidfd_open: the only mutable state of this file, a lone flag.
 */
static atomic_int no_pidfd;

static int pidfd_open_(pid_t pid)
{
#ifdef SYS_pidfd_open
    long fd;
    if (no_pidfd)
        return -1;
    fd = syscall(SYS_pidfd_open, pid, 0);
    if (fd >= 0) {
        (void)fcntl((int)fd, F_SETFD, FD_CLOEXEC);
        return (int)fd;
    }
    if (errno == ENOSYS)
        no_pidfd = 1;
#else
    (void)pid;
#endif
    return -1;
}

static void kill_all(struct run *ru)
{
    if (ru->sbx_pidfd >= 0) {
#ifdef SYS_pidfd_send_signal
        (void)syscall(SYS_pidfd_send_signal, ru->sbx_pidfd, SIGKILL, NULL, 0);
#endif
    }
    (void)kill(-ru->pid, SIGKILL);
    (void)kill(ru->pid, SIGKILL);
}

/* Keeps what fits under the cap; the rest is read and dropped. */
static int keep(struct sk_buf *b, size_t cap, const char *p, size_t n,
                int *trunc)
{
    size_t room = cap > b->len ? cap - b->len : 0;
    if (n > room) {
        *trunc = 1;
        n = room;
    }
    return n ? sk_buf_append(b, p, n) : SK_OK;
}

/* Reads what is available on *fd; closes it at EOF.  SK_ENOMEM only. */
static int drain(int *fd, struct sk_buf *b, size_t cap, int *trunc)
{
    char chunk[16384];
    for (;;) {
        ssize_t n = read(*fd, chunk, sizeof chunk);
        if (n > 0) {
            if (keep(b, cap, chunk, (size_t)n, trunc) != SK_OK)
                return SK_ENOMEM;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return SK_OK;
        close_fd(fd);
        return SK_OK;
    }
}

static void feed_stdin(struct run *ru)
{
    while (ru->in_left > 0) {
        ssize_t n =
            send(ru->in, ru->in_p, ru->in_left, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            ru->in_p += n;
            ru->in_left -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        break; /* the command closed its stdin: drop the rest */
    }
    close_fd(&ru->in);
}

/*
 * bwrap has made its namespaces (it writes the info only then): keep a
 * handle on its sandboxed child, to kill it directly at the timeout, and let
 * it go on.  The handle is best effort (jansson reports some allocation
 * failures as syntax errors); killing bwrap also ends the sandbox.
 */
static int on_info(struct run *ru, struct sk_error *err)
{
    json_error_t jerr;
    json_t *doc;
    ssize_t n;

    if (ru->ib.len == 0) {
        ru->setup_failed = 1; /* bwrap exits on its own */
        return SK_OK;
    }
    doc = sk_json_loadb(ru->ib.data, ru->ib.len, 0, &jerr);
    if (doc) {
        json_t *v = json_object_get(doc, "child-pid");
        if (json_is_integer(v) && json_integer_value(v) > 0)
            ru->sbx_pidfd = pidfd_open_((pid_t)json_integer_value(v));
        json_decref(doc);
    }
    do
        n = write(ru->block_w, "x", 1);
    while (n < 0 && errno == EINTR);
    close_fd(&ru->block_w);
    if (n != 1)
        return sk_error_set(err, SK_EIO, "sandbox: cannot release bwrap: %s",
                            strerror(errno));
    ru->released = 1;
    return SK_OK;
}

static int poll_ms(double until, double now, int slice)
{
    double ms = ceil((until - now) * 1000.0);
    if (ms < 0)
        ms = 0;
    if (slice && ms > slice)
        ms = slice;
    return ms > 1e8 ? 100000000 : (int)ms;
}

/*
 * Reads output and feeds input until the command has ended and its output
 * is closed (or GRACE_MS after it ended), killing it at deadline.  The
 * child is not reaped here.  Returns SK_OK or a failure after which the
 * child has been killed.
 */
static int pump(struct run *ru, double deadline, int *timed_out,
                struct sk_error *err)
{
    int done = 0, rc = SK_OK;
    double grace_end = 0;

    for (;;) {
        struct pollfd p[5];
        int np = 0, i_out = -1, i_err = -1, i_in = -1, i_info = -1;
        int i_pid = -1, wait, n;
        double now = now_s();

        if (done && ((ru->out < 0 && ru->err < 0) || now >= grace_end))
            break;
        if (ru->out >= 0) {
            i_out = np;
            p[np++] = (struct pollfd){ru->out, POLLIN, 0};
        }
        if (ru->err >= 0) {
            i_err = np;
            p[np++] = (struct pollfd){ru->err, POLLIN, 0};
        }
        if (ru->in >= 0) {
            i_in = np;
            p[np++] = (struct pollfd){ru->in, POLLOUT, 0};
        }
        if (ru->info >= 0) {
            i_info = np;
            p[np++] = (struct pollfd){ru->info, POLLIN, 0};
        }
        if (!done && ru->pidfd >= 0) {
            i_pid = np;
            p[np++] = (struct pollfd){ru->pidfd, POLLIN, 0};
        }
        /* without a pidfd the exit is polled for: often while output is
         * open, at once when it closed (the usual sign of the end) */
        wait = done ? poll_ms(grace_end, now, 0)
                    : poll_ms(deadline, now,
                              ru->pidfd >= 0 ? 0
                              : np > 0       ? SLICE_MS
                                             : 1);
        n = poll(p, (nfds_t)np, wait);
        if (n < 0 && errno != EINTR) {
            rc =
                sk_error_set(err, SK_EIO, "sandbox: poll: %s", strerror(errno));
            break;
        }
        if (n > 0) {
            if (i_out >= 0 && p[i_out].revents &&
                drain(&ru->out, &ru->ob, ru->cap, &ru->out_trunc) != SK_OK)
                rc = SK_ENOMEM;
            if (i_err >= 0 && p[i_err].revents &&
                drain(&ru->err, &ru->eb, ru->cap, &ru->err_trunc) != SK_OK)
                rc = SK_ENOMEM;
            if (i_in >= 0 && p[i_in].revents)
                feed_stdin(ru);
            if (i_info >= 0 && p[i_info].revents) {
                int trunc = 0;
                if (drain(&ru->info, &ru->ib, INFO_MAX, &trunc) != SK_OK)
                    rc = SK_ENOMEM;
                else if (ru->info < 0)
                    rc = on_info(ru, err);
            }
            if (rc == SK_ENOMEM)
                sk_error_set(err, SK_ENOMEM, "out of memory");
            if (rc != SK_OK)
                break;
        }
        if (!done) {
            siginfo_t si;
            int ended = 0;
            if (i_pid >= 0 && n > 0 && p[i_pid].revents)
                ended = 1;
            if (!ended && ru->pidfd < 0) {
                memset(&si, 0, sizeof si);
                if (waitid(P_PID, (id_t)ru->pid, &si,
                           WEXITED | WNOHANG | WNOWAIT) == 0 &&
                    si.si_pid == ru->pid)
                    ended = 1;
            }
            if (!ended && now_s() >= deadline) {
                *timed_out = 1;
                kill_all(ru);
                memset(&si, 0, sizeof si);
                while (waitid(P_PID, (id_t)ru->pid, &si, WEXITED | WNOWAIT) !=
                           0 &&
                       errno == EINTR)
                    ;
                ended = 1;
            }
            if (ended) {
                /* the group may still hold the command's background
                 * processes (unsafe mode); the zombie leader keeps the
                 * group id from being reused until it is reaped */
                (void)kill(-ru->pid, SIGKILL);
                done = 1;
                grace_end = now_s() + GRACE_MS / 1000.0;
            }
        }
    }
    if (rc != SK_OK)
        kill_all(ru);
    return rc;
}

/* The first line(s) of bwrap's stderr, for an error message. */
static const char *quote(struct run *ru)
{
    char *s;
    size_t n;

    if (!ru->eb.data || ru->eb.len == 0)
        return "(bwrap printed nothing)";
    s = ru->eb.data;
    n = ru->eb.len;
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
        n--;
    if (n > QUOTE_MAX)
        n = QUOTE_MAX;
    s[n] = '\0';
    return s;
}

static void decode(struct sk_sandbox_result *r, int status, int sandboxed,
                   long cpu_lim)
{
    /* bwrap does not reap its init process, so no CPU time reaches us:
     * a SIGKILL not sent by the timeout after at least the CPU limit in
     * wall time is taken as the hard CPU limit */
    if (WIFEXITED(status)) {
        int code = WEXITSTATUS(status);
        if (sandboxed && code > 128 && code <= 128 + 64) {
            r->term_signal = code - 128;
        } else {
            r->exited = 1;
            r->exit_code = code;
        }
    } else if (WIFSIGNALED(status)) {
        r->term_signal = WTERMSIG(status);
    }
    if (!r->exited && !r->timed_out &&
        (r->term_signal == SIGXCPU ||
         (r->term_signal == SIGKILL && cpu_lim > 0 &&
          r->wall_s >= (double)cpu_lim)))
        r->cpu_limited = 1;
}

static void run_release(struct run *ru)
{
    close_fd(&ru->out);
    close_fd(&ru->err);
    close_fd(&ru->in);
    close_fd(&ru->info);
    close_fd(&ru->block_w);
    close_fd(&ru->block_r);
    close_fd(&ru->pidfd);
    close_fd(&ru->sbx_pidfd);
    sk_buf_release(&ru->ob);
    sk_buf_release(&ru->eb);
    sk_buf_release(&ru->ib);
}

static int exec_failure(const struct child_err *ce, int unsafe, const char *exe,
                        const char *workdir, struct sk_error *err)
{
    const char *what = ce->stage == ST_RLIMIT  ? "cannot set resource limits"
                       : ce->stage == ST_UID   ? "cannot switch to uid 65534"
                       : ce->stage == ST_CHDIR ? "cannot enter the work "
                                                 "directory"
                       : ce->stage == ST_FD    ? "cannot set up descriptors"
                                               : "cannot execute";
    return sk_error_set(err, SK_EIO, "sandbox: %s (%s, %s): %s%s%s", what, exe,
                        workdir, strerror(ce->err), unsafe ? "" : "; ",
                        unsafe ? "" : ADVICE);
}

/* A command that unsafe mode cannot find: reported like a shell would. */
static int not_found(const char *cmd, struct sk_sandbox_result *r,
                     struct sk_error *err)
{
    struct sk_buf b;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (sk_buf_printf(&b, "sandbox: %s: command not found\n", cmd) != SK_OK)
        goto oom;
    r->errout = sk_buf_detach(&b, &r->err_len);
    r->out = sk_strdup("");
    if (!r->out || !r->errout)
        goto oom;
    r->exited = 1;
    r->exit_code = 127;
    return SK_OK;
oom:
    sk_buf_release(&b);
    sk_sandbox_result_release(r);
    return sk_error_set(err, SK_ENOMEM, "out of memory");
}

void sk_sandbox_result_init(struct sk_sandbox_result *r)
{
    memset(r, 0, sizeof *r);
}

void sk_sandbox_result_release(struct sk_sandbox_result *r)
{
    if (!r)
        return;
    sk_free(r->out);
    sk_free(r->errout);
    memset(r, 0, sizeof *r);
}

/* What a run will execute, resolved before anything is started. */
struct plan {
    struct strv env, argv;
    char *bwrap, *prlimit, *exe; /* exe: what the child executes (borrowed) */
    int unsafe, drop;
    long cpu, nproc;
};

static void plan_release(struct plan *pl)
{
    strv_release(&pl->env);
    strv_release(&pl->argv);
    sk_free(pl->bwrap);
    sk_free(pl->prlimit);
    if (pl->unsafe)
        sk_free(pl->exe);
}

/*
 * Resolves the programs and builds argv and the environment.  SK_OK with
 * pl->exe NULL means unsafe mode cannot find the command.
 */
static int plan_build(const struct sk_sandbox_opts *o, struct plan *pl,
                      struct sk_error *err)
{
    int rc;

    pl->unsafe = o->unsafe != 0;
    pl->drop = !pl->unsafe && geteuid() == 0;
    pl->cpu = pick(o->cpu_s, SK_SANDBOX_CPU_S);
    pl->nproc = pick(o->nproc, SK_SANDBOX_NPROC);
    if (build_env(o, &pl->env) != SK_OK)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    if (pl->unsafe) {
        const char *cmd = o->argv[0], *path = env_get(&pl->env, "PATH");
        size_t i;
        if (strchr(cmd, '/')) {
            pl->exe = sk_strdup(cmd);
            rc = pl->exe ? SK_OK : SK_ENOMEM;
        } else {
            rc = path_lookup(cmd, path ? path : "", &pl->exe);
        }
        for (i = 0; o->argv[i]; i++)
            strv_push(&pl->argv, o->argv[i]);
        if (rc != SK_OK || pl->argv.oom)
            return sk_error_set(err, SK_ENOMEM, "out of memory");
        return SK_OK;
    }
    rc = find_bwrap(o->bwrap, &pl->bwrap, err);
    if (rc != SK_OK)
        return rc;
    if (pl->nproc > 0) {
        if (path_lookup("prlimit", PRLIMIT_PATH, &pl->prlimit) != SK_OK)
            return sk_error_set(err, SK_ENOMEM, "out of memory");
        if (!pl->prlimit)
            return sk_error_set(err, SK_ENOTFOUND,
                                "cannot run model code in a sandbox: "
                                "prlimit (util-linux) is needed to limit its "
                                "processes and is not in %s; install "
                                "util-linux, or pass --unsafe-no-sandbox to "
                                "run model code without isolation",
                                PRLIMIT_PATH);
    }
    pl->exe = pl->bwrap;
    if (build_bwrap_argv(o, pl->bwrap, pl->prlimit, pl->nproc, &pl->argv) !=
        SK_OK)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    return SK_OK;
}

static void close_pair(int p[2])
{
    close_fd(&p[0]);
    close_fd(&p[1]);
}

/*
 * Creates the pipes, forks and waits for the exec.  On SK_OK the child runs
 * and ru holds our ends; *ce.stage != 0 means the child gave up before its
 * exec (it has been reaped).  Otherwise a failure with nothing started.
 */
static int spawn(const struct sk_sandbox_opts *o, const struct plan *pl,
                 struct run *ru, struct child_err *ce, struct sk_error *err)
{
    int io[2] = {-1, -1}, po[2] = {-1, -1}, pe[2] = {-1, -1};
    int pi[2] = {-1, -1}, pb[2] = {-1, -1}, px[2] = {-1, -1}, nul = -1;
    int rc = SK_OK, status;
    struct rlimit nf;
    struct child c;
    ssize_t n;
    pid_t pid;

    memset(ce, 0, sizeof *ce);
    /* every descriptor close-on-exec: threads starting other programs at
     * the same time must not inherit them */
    if ((o->stdin_data ? socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, io)
                       : ((nul = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0
                              ? -1
                              : 0)) != 0 ||
        pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0 ||
        pipe2(px, O_CLOEXEC) != 0 ||
        (!pl->unsafe &&
         (pipe2(pi, O_CLOEXEC) != 0 || pipe2(pb, O_CLOEXEC) != 0))) {
        rc = sk_error_set(err, SK_EIO, "sandbox: cannot create pipes: %s",
                          strerror(errno));
        goto out;
    }

    memset(&c, 0, sizeof c);
    c.exe = pl->exe;
    c.argv = pl->argv.v;
    c.envp = pl->env.v;
    c.workdir = o->workdir;
    c.src[0] = o->stdin_data ? io[1] : nul;
    c.src[1] = po[1];
    c.src[2] = pe[1];
    c.nfd = 3;
    if (!pl->unsafe) {
        c.src[FD_INFO] = pi[1];
        c.src[FD_BLOCK] = pb[0];
        c.nfd = 5;
    }
    c.errfd = px[1];
    c.drop_uid = pl->drop;
    set_limit(&c, RLIMIT_CPU, pl->cpu, 1);
    set_limit(&c, RLIMIT_AS, pick(o->mem_mb, SK_SANDBOX_MEM_MB), 1L << 20);
    set_limit(&c, RLIMIT_FSIZE, pick(o->fsize_mb, SK_SANDBOX_FSIZE_MB),
              1L << 20);
    set_limit(&c, RLIMIT_CORE, 0, 1);
    c.parent = getpid();
    c.maxfd = (getrlimit(RLIMIT_NOFILE, &nf) == 0 &&
               nf.rlim_cur != RLIM_INFINITY && nf.rlim_cur < 65536)
                  ? (int)nf.rlim_cur
                  : 65536;

    pid = fork();
    if (pid < 0) {
        rc = sk_error_set(err, SK_EIO, "sandbox: fork: %s", strerror(errno));
        goto out;
    }
    if (pid == 0)
        child_run(&c);
    (void)setpgid(pid, pid); /* also done by the child: no race either way */
    close_fd(&px[1]);
    /* the error pipe closes at exec, or carries why the child gave up */
    do
        n = read(px[0], ce, sizeof *ce);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof *ce) {
        ce->stage = 0;
    } else {
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        goto out;
    }
    ru->pid = pid;
    ru->pidfd = pidfd_open_(pid);
    ru->in = io[0];
    ru->out = po[0];
    ru->err = pe[0];
    ru->info = pi[0];
    ru->block_r = pb[0];
    ru->block_w = pb[1];
    io[0] = po[0] = pe[0] = pi[0] = pb[0] = pb[1] = -1;
    (void)fcntl(ru->out, F_SETFL, O_NONBLOCK);
    (void)fcntl(ru->err, F_SETFL, O_NONBLOCK);
    if (ru->info >= 0)
        (void)fcntl(ru->info, F_SETFL, O_NONBLOCK);
    if (ru->in >= 0) {
        (void)fcntl(ru->in, F_SETFL, O_NONBLOCK);
        ru->in_p = o->stdin_data;
        ru->in_left = strlen(o->stdin_data);
    }
out:
    close_pair(io);
    close_pair(po);
    close_pair(pe);
    close_pair(pi);
    close_pair(pb);
    close_pair(px);
    close_fd(&nul);
    return rc;
}

/* After the run: was the sandbox ever set up?  SK_OK or SK_EIO. */
static int check_setup(const struct sk_sandbox_opts *o, const struct plan *pl,
                       struct run *ru, int timed_out, double timeout,
                       struct sk_error *err)
{
    int left = 0;

    if (pl->unsafe)
        return SK_OK;
    /* a release byte still in the pipe: bwrap died before reading it */
    if (ru->block_r < 0 || ioctl(ru->block_r, FIONREAD, &left) != 0)
        left = 0;
    if (ru->setup_failed || (!timed_out && (left > 0 || !ru->released))) {
        const char *q = quote(ru);
        int denied = pl->drop && strstr(q, "Permission denied");
        return sk_error_set(
            err, SK_EIO,
            "cannot run model code in a sandbox: bwrap failed: %s%s%s; %s", q,
            denied ? "; note: as root the sandbox runs as uid 65534, which "
                     "must be able to read every path it mounts and reach "
                   : "",
            denied ? o->workdir : "", ADVICE);
    }
    if (left > 0 || !ru->released)
        return sk_error_set(err, SK_EIO,
                            "cannot run model code in a sandbox: bwrap did "
                            "not set it up within %.1f s; %s",
                            timeout, ADVICE);
    return SK_OK;
}

int sk_sandbox_run(const struct sk_sandbox_opts *o, struct sk_sandbox_result *r,
                   struct sk_error *err)
{
    struct plan pl;
    struct run ru;
    struct child_err ce;
    int rc, status = 0, timed_out = 0;
    double t0 = now_s(), timeout;
    pid_t n;

    sk_sandbox_result_init(r);
    memset(&pl, 0, sizeof pl);
    memset(&ru, 0, sizeof ru);
    ru.out = ru.err = ru.in = ru.info = ru.block_w = ru.block_r = -1;
    ru.pidfd = ru.sbx_pidfd = -1;
    ru.cap = o->output_cap ? o->output_cap : SK_SANDBOX_OUTPUT_CAP;
    sk_buf_init(&ru.ob, ru.cap);
    sk_buf_init(&ru.eb, ru.cap);
    sk_buf_init(&ru.ib, INFO_MAX);
    timeout = o->timeout_s > 0 ? o->timeout_s : SK_SANDBOX_TIMEOUT_S;

    rc = check_opts(o, err);
    if (rc == SK_OK)
        rc = plan_build(o, &pl, err);
    if (rc != SK_OK)
        goto out;
    if (!pl.exe) {
        rc = not_found(o->argv[0], r, err);
        goto out;
    }
    rc = prepare_workdir(o, pl.drop, err);
    if (rc == SK_OK)
        rc = spawn(o, &pl, &ru, &ce, err);
    if (rc != SK_OK)
        goto out;
    if (ce.stage != 0) {
        if (pl.unsafe && ce.stage == ST_EXEC && ce.err == ENOENT)
            rc = not_found(o->argv[0], r, err);
        else
            rc = exec_failure(&ce, pl.unsafe, pl.exe, o->workdir, err);
        goto out;
    }

    rc = pump(&ru, t0 + timeout, &timed_out, err);
    while ((n = waitpid(ru.pid, &status, 0)) < 0 && errno == EINTR)
        ;
    if (n < 0 && rc == SK_OK)
        rc = sk_error_set(err, SK_EIO,
                          "sandbox: cannot wait for the command: %s (the "
                          "program must not ignore SIGCHLD)",
                          strerror(errno));
    if (rc == SK_OK)
        rc = check_setup(o, &pl, &ru, timed_out, timeout, err);
    if (rc != SK_OK)
        goto out;

    r->sandboxed = !pl.unsafe;
    r->timed_out = timed_out;
    r->wall_s = now_s() - t0;
    decode(r, status, !pl.unsafe, pl.cpu);
    r->out_truncated = ru.out_trunc;
    r->err_truncated = ru.err_trunc;
    r->out = sk_buf_detach(&ru.ob, &r->out_len);
    r->errout = sk_buf_detach(&ru.eb, &r->err_len);
    if (!r->out || !r->errout)
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
out:
    if (rc != SK_OK)
        sk_sandbox_result_release(r);
    run_release(&ru);
    plan_release(&pl);
    return rc;
}

int sk_sandbox_probe(const char *bwrap, struct sk_error *err)
{
    static const char *const argv[] = {"true", NULL};
    struct sk_sandbox_opts o;
    struct sk_sandbox_result r;
    const char *base = getenv("TMPDIR");
    char *dir = NULL, *tmp = NULL;
    struct sk_buf b;
    int rc;

    rc = find_bwrap(bwrap, &dir, err);
    sk_free(dir);
    dir = NULL;
    if (rc != SK_OK)
        return rc;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (sk_buf_printf(&b, "%s/skillopt-probe-XXXXXX",
                      base && base[0] == '/' ? base : "/tmp") != SK_OK) {
        sk_buf_release(&b);
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    }
    dir = sk_buf_detach(&b, NULL);
    if (!dir || !mkdtemp(dir)) {
        rc = dir ? sk_error_set(err, SK_EIO,
                                "sandbox probe: cannot create a temporary "
                                "directory: %s",
                                strerror(errno))
                 : sk_error_set(err, SK_ENOMEM, "out of memory");
        sk_free(dir);
        return rc;
    }
    memset(&o, 0, sizeof o);
    o.workdir = dir;
    o.argv = argv;
    o.bwrap = bwrap;
    o.timeout_s = 30;
    o.output_cap = 4096;
    rc = sk_sandbox_run(&o, &r, err);
    if (rc == SK_OK && !(r.exited && r.exit_code == 0))
        rc = sk_error_set(err, SK_EIO,
                          "cannot run model code in a sandbox: a test command "
                          "failed in it (%s %d): %.300s; %s",
                          r.exited ? "exit code" : "signal",
                          r.exited ? r.exit_code : r.term_signal, r.errout,
                          ADVICE);
    sk_sandbox_result_release(&r);
    tmp = sk_fs_join(dir, ".tmp");
    if (tmp)
        (void)rmdir(tmp);
    (void)rmdir(dir);
    sk_free(tmp);
    sk_free(dir);
    return rc;
}
