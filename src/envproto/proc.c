/*
 * proc.c - one external environment process: program lookup, the spawn
 * (no shell, own process group, scrubbed environment given by the pool),
 * requests and reply lines under a deadline, the stderr memory file and
 * the kill of the whole process group.  It knows the protocol's framing
 * and handshake, not what resets and steps mean (pool.c).
 */
#include "common.h"

#include "envproto/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "envproto/envproto.h"
#include "util/spawn.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/jsonparse.h"

/* Longest wait between checks that the process is still running, ms. */
#define SLICE_MS 50
/* Bytes read from stdout at once. */
#define CHUNK 65536
/* Bytes of a bad line quoted in a message. */
#define QUOTE_BYTES 80
/* A stderr memory file past this size is cut down to its tail. */
#define STDERR_COMPACT (1u << 20)
/* After stdout or stdin closes, how long to wait for an exit status, ms. */
#define EXIT_WAIT_MS 500

struct env_proc {
    pid_t pid;
    int in_fd;          /* our end of its stdin (a socket: EPIPE, not
                           SIGPIPE, when it stops reading) */
    int out_fd;         /* its stdout, non-blocking */
    int err_fd;         /* memory file its stderr appends to, or -1 */
    struct sk_buf rbuf; /* stdout read but not yet consumed */
    int exited;         /* the leader exited (not reaped: its pid still
                           holds the process group id for the kill) */
    int code, sig;      /* exit status or killing signal once exited */
    int reaped;
    int broken; /* failed and killed */
};

static long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* ---- program lookup ---------------------------------------------------- */

static int is_exec_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
           access(path, X_OK) == 0;
}

/* The PATH value of envp ("/usr/bin:/bin" when it has none). */
static const char *env_path(char *const *envp)
{
    size_t i;
    for (i = 0; envp && envp[i]; i++)
        if (strncmp(envp[i], "PATH=", 5) == 0)
            return envp[i] + 5;
    return "/usr/bin:/bin";
}

/*
 * The file argv0 names, as execvp would find it: itself when it has a
 * '/', else the first executable PATH entry.  SK_EDATA says why not.
 */
static int resolve(const char *argv0, char *const *envp, struct sk_buf *out,
                   struct sk_error *err)
{
    const char *path = env_path(envp), *p;
    struct stat st;

    if (!*argv0)
        return sk_error_set(err, SK_EDATA, "the environment command is empty");
    if (strchr(argv0, '/')) {
        if (stat(argv0, &st) != 0)
            return sk_error_set(err, SK_EDATA, "environment program %s: %s",
                                argv0, strerror(errno));
        if (!is_exec_file(argv0))
            return sk_error_set(err, SK_EDATA,
                                "environment program %s is not an "
                                "executable file",
                                argv0);
        return sk_buf_puts(out, argv0) == SK_OK
                   ? SK_OK
                   : sk_error_set(err, SK_ENOMEM, "out of memory");
    }
    for (p = path;; p++) {
        size_t n = strcspn(p, ":");
        sk_buf_reset(out);
        /* an empty entry stands for the current directory */
        if ((n ? sk_buf_printf(out, "%.*s/%s", (int)n, p, argv0)
               : sk_buf_printf(out, "./%s", argv0)) != SK_OK)
            return sk_error_set(err, SK_ENOMEM, "out of memory");
        if (is_exec_file(sk_buf_cstr(out)))
            return SK_OK;
        p += n;
        if (!*p)
            break;
    }
    return sk_error_set(err, SK_EDATA,
                        "environment program '%s' not found on PATH", argv0);
}

/* ---- exit status ------------------------------------------------------- */

static const char *sig_name(int sig)
{
    switch (sig) {
    case SIGHUP:
        return "SIGHUP";
    case SIGINT:
        return "SIGINT";
    case SIGQUIT:
        return "SIGQUIT";
    case SIGILL:
        return "SIGILL";
    case SIGABRT:
        return "SIGABRT";
    case SIGBUS:
        return "SIGBUS";
    case SIGFPE:
        return "SIGFPE";
    case SIGKILL:
        return "SIGKILL";
    case SIGSEGV:
        return "SIGSEGV";
    case SIGPIPE:
        return "SIGPIPE";
    case SIGTERM:
        return "SIGTERM";
    default:
        return "?";
    }
}

/* Records the leader's exit if it has exited; 1 when it has. */
static int check_exit(struct env_proc *p)
{
    siginfo_t si;
    if (p->exited)
        return 1;
    memset(&si, 0, sizeof si);
    /* WNOWAIT: the zombie keeps the group id reserved until the kill */
    if (waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0 ||
        si.si_pid != p->pid)
        return 0;
    p->exited = 1;
    if (si.si_code == CLD_EXITED)
        p->code = si.si_status;
    else
        p->sig = si.si_status;
    return 1;
}

/* Waits up to ms for the leader to exit; 1 when it has. */
static int wait_exit(struct env_proc *p, long ms)
{
    long end = now_ms() + ms;
    while (!check_exit(p)) {
        struct timespec ts = {0, 10 * 1000000L};
        if (now_ms() >= end)
            return 0;
        nanosleep(&ts, NULL);
    }
    return 1;
}

/* Kills the whole process group and reaps the leader. */
static void kill_group(struct env_proc *p)
{
    int st = 0;
    if (p->reaped || p->pid <= 0)
        return;
    kill(-p->pid, SIGKILL);
    kill(p->pid, SIGKILL); /* in case it left its group */
    while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (!p->exited) {
        p->exited = 1;
        if (WIFEXITED(st))
            p->code = WEXITSTATUS(st);
        else if (WIFSIGNALED(st))
            p->sig = WTERMSIG(st);
    }
    p->reaped = 1;
}

/* "exited with status 3" / "was killed by signal 11 (SIGSEGV)". */
static void describe_exit(const struct env_proc *p, char *buf, size_t cap)
{
    if (p->sig)
        snprintf(buf, cap, "was killed by signal %d (%s)", p->sig,
                 sig_name(p->sig));
    else
        snprintf(buf, cap, "exited with status %d%s", p->code,
                 p->code == 127 ? " (the program could not be run?)" : "");
}

/* ---- stderr ------------------------------------------------------------ */

/* Bytes of the stderr file now (0 when there is none). */
static off_t err_size(const struct env_proc *p)
{
    struct stat st;
    if (p->err_fd < 0 || fstat(p->err_fd, &st) != 0)
        return 0;
    return st.st_size;
}

/* Reads up to max bytes of the end of the stderr file into out. */
static int read_tail(const struct env_proc *p, size_t max, struct sk_buf *out)
{
    off_t size = err_size(p), from;
    size_t want;
    ssize_t n;
    int rc;

    if (size <= 0 || max == 0)
        return SK_OK;
    want = (size_t)size < max ? (size_t)size : max;
    from = size - (off_t)want;
    rc = sk_buf_reserve(out, want + 1);
    if (rc != SK_OK)
        return rc;
    n = pread(p->err_fd, out->data + out->len, want, from);
    if (n > 0) {
        out->len += (size_t)n;
        out->data[out->len] = '\0';
    }
    return SK_OK;
}

void env_proc_stderr_mark(struct env_proc *p)
{
    if (p->err_fd >= 0 && ftruncate(p->err_fd, 0) != 0)
        return; /* a memory file: cannot fail in practice */
}

int env_proc_stderr_tail(struct env_proc *p, size_t max, struct sk_buf *out)
{
    return read_tail(p, max, out);
}

/* Keeps a chatty process's stderr file bounded: only the tail stays. */
static void compact_stderr(struct env_proc *p)
{
    struct sk_buf t;
    if (err_size(p) <= (off_t)STDERR_COMPACT)
        return;
    sk_buf_init(&t, SK_BUF_UNLIMITED);
    if (read_tail(p, SK_ENV_STDERR_TAIL, &t) == SK_OK &&
        ftruncate(p->err_fd, 0) == 0 && t.len > 0 &&
        write(p->err_fd, t.data, t.len) < 0) {
        /* lost log bytes only */
    }
    sk_buf_release(&t);
}

/* Appends s[0..n) quoted, non-printable bytes as \xNN, cut at max. */
static void quote(struct sk_buf *b, const char *s, size_t n, size_t max)
{
    size_t i;
    (void)sk_buf_putc(b, '\'');
    for (i = 0; i < n && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n')
            (void)sk_buf_puts(b, "\\n");
        else if (c == '\'' || c == '\\')
            (void)sk_buf_printf(b, "\\%c", c);
        else if (c >= 0x20 && c < 0x7F)
            (void)sk_buf_putc(b, (char)c);
        else
            (void)sk_buf_printf(b, "\\x%02x", c);
    }
    (void)sk_buf_putc(b, '\'');
    if (n > max)
        (void)sk_buf_puts(b, "...");
}

/* "; stderr: '<its last non-blank line>'" when there is one. */
static void stderr_hint(const struct env_proc *p, struct sk_buf *b)
{
    struct sk_buf t;
    size_t end, start;
    sk_buf_init(&t, SK_BUF_UNLIMITED);
    if (read_tail(p, 512, &t) == SK_OK && t.len > 0) {
        end = t.len;
        while (end > 0 && strchr(" \t\r\n", t.data[end - 1]))
            end--;
        start = end;
        while (start > 0 && t.data[start - 1] != '\n')
            start--;
        if (end > start) {
            (void)sk_buf_puts(b, "; stderr: ");
            quote(b, t.data + start, end - start, 160);
        }
    }
    sk_buf_release(&t);
}

/*
 * The process failed: kills its group, marks it broken and sets err to
 * SK_EDATA with the formatted message (plus the stderr hint when asked).
 */
static int fail(struct env_proc *p, int hint, struct sk_error *err,
                const char *fmt, ...) SK_PRINTF(4, 5);

static int fail(struct env_proc *p, int hint, struct sk_error *err,
                const char *fmt, ...)
{
    struct sk_buf b;
    va_list ap;
    sk_buf_init(&b, 900);
    kill_group(p);
    p->broken = 1;
    va_start(ap, fmt);
    (void)sk_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (hint)
        stderr_hint(p, &b);
    sk_error_set(err, SK_EDATA, "%s", b.len ? sk_buf_cstr(&b) : "?");
    sk_buf_release(&b);
    return SK_EDATA;
}

/* The leader exited (or stdout/stdin closed): the failure message. */
static int fail_exit(struct env_proc *p, const char *when, const char *what,
                     const char *closed, struct sk_error *err)
{
    char how[96];
    if (!wait_exit(p, EXIT_WAIT_MS) && closed)
        return fail(p, 1, err, "environment closed its %s %s %s", closed, when,
                    what);
    describe_exit(p, how, sizeof how);
    return fail(p, 1, err, "environment %s %s %s", how, when, what);
}

/* ---- reading and writing ----------------------------------------------- */

/*
 * Reads what stdout has now into rbuf (at most CHUNK bytes).  Returns 1
 * when bytes came, 0 when none are waiting, -1 at end of file, -2 when
 * rbuf is full (a line past the limit).
 */
static int read_some(struct env_proc *p)
{
    char chunk[CHUNK];
    size_t room = p->rbuf.max - p->rbuf.len;
    ssize_t n;

    if (room == 0)
        return -2;
    for (;;) {
        n = read(p->out_fd, chunk, room < sizeof chunk ? room : sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        break;
    }
    if (n < 0)
        return 0; /* EAGAIN, or an error the exit check will explain */
    if (n == 0)
        return -1;
    if (sk_buf_append(&p->rbuf, chunk, (size_t)n) != SK_OK)
        return -2;
    return 1;
}

/* Output waiting before a request was sent: a protocol error. */
static int check_pending(struct env_proc *p, const char *what,
                         struct sk_error *err)
{
    int r;
    if (p->rbuf.len == 0) {
        r = read_some(p);
        if (r == -1 || (r == 0 && check_exit(p)))
            return fail_exit(p, "before", what, "stdout", err);
    }
    if (p->rbuf.len > 0) {
        struct sk_buf q;
        int rc;
        sk_buf_init(&q, SK_BUF_UNLIMITED);
        quote(&q, p->rbuf.data, p->rbuf.len, QUOTE_BYTES);
        rc = fail(p, 0, err,
                  "environment broke the protocol before %s: it printed "
                  "output no request asked for: %s",
                  what, sk_buf_cstr(&q));
        sk_buf_release(&q);
        return rc;
    }
    return SK_OK;
}

/* Sends len bytes of line by the deadline. */
static int send_all(struct env_proc *p, const char *line, size_t len,
                    long deadline, const char *what, const char *limit,
                    struct sk_error *err)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n =
            send(p->in_fd, line + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        struct pollfd pf;
        long left;
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return fail_exit(p, "before reading", what, "stdin", err);
        if (check_exit(p))
            return fail_exit(p, "before reading", what, NULL, err);
        left = deadline - now_ms();
        if (left <= 0)
            return fail(p, 1, err,
                        "environment did not read %s within %s; its "
                        "process group was killed",
                        what, limit);
        pf.fd = p->in_fd;
        pf.events = POLLOUT;
        pf.revents = 0;
        (void)poll(&pf, 1, (int)(left < SLICE_MS ? left : SLICE_MS));
    }
    return SK_OK;
}

/* Reads one line (without its newline) into line by the deadline. */
static int read_line(struct env_proc *p, long deadline, const char *what,
                     const char *limit, struct sk_buf *line,
                     struct sk_error *err)
{
    for (;;) {
        char *nl = p->rbuf.len ? memchr(p->rbuf.data, '\n', p->rbuf.len) : NULL;
        struct pollfd pf;
        long left;
        int r;

        if (nl) {
            size_t n = (size_t)(nl - p->rbuf.data);
            if (sk_buf_append(line, p->rbuf.data, n) != SK_OK)
                return sk_error_set(err, SK_ENOMEM, "out of memory");
            memmove(p->rbuf.data, nl + 1, p->rbuf.len - n - 1);
            sk_buf_truncate(&p->rbuf, p->rbuf.len - n - 1);
            return SK_OK;
        }
        if (p->rbuf.len > SK_ENV_MAX_LINE) {
            struct sk_buf q;
            int rc;
            sk_buf_init(&q, SK_BUF_UNLIMITED);
            quote(&q, p->rbuf.data, p->rbuf.len, QUOTE_BYTES);
            rc = fail(p, 0, err,
                      "environment broke the protocol during %s: a line "
                      "longer than %u bytes: %s",
                      what, SK_ENV_MAX_LINE, sk_buf_cstr(&q));
            sk_buf_release(&q);
            return rc;
        }
        r = read_some(p);
        if (r > 0)
            continue;
        if (r == -1)
            return fail_exit(p, "during", what, "stdout", err);
        if (check_exit(p)) {
            /* what it wrote before exiting may hold the reply */
            while (read_some(p) > 0)
                ;
            if (p->rbuf.len && memchr(p->rbuf.data, '\n', p->rbuf.len))
                continue;
            return fail_exit(p, "during", what, NULL, err);
        }
        left = deadline - now_ms();
        if (left <= 0)
            return fail(p, 1, err,
                        "environment did not answer %s within %s; its "
                        "process group was killed",
                        what, limit);
        pf.fd = p->out_fd;
        pf.events = POLLIN;
        pf.revents = 0;
        (void)poll(&pf, 1, (int)(left < SLICE_MS ? left : SLICE_MS));
    }
}

int env_proc_request(struct env_proc *p, const struct json_t *req,
                     const char *what, long timeout_ms, const char *limit,
                     struct json_t **reply, struct sk_error *err)
{
    long deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 1);
    struct sk_buf line;
    json_error_t jerr;
    char *text = NULL;
    json_t *v = NULL;
    int rc;

    *reply = NULL;
    if (p->broken)
        return sk_error_set(err, SK_EDATA,
                            "the environment process already failed");
    compact_stderr(p);
    sk_buf_init(&line, SK_BUF_UNLIMITED);
    rc = check_pending(p, what, err);
    if (rc != SK_OK)
        goto out;
    text = json_dumps(req, JSON_COMPACT);
    if (!text) {
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto out;
    }
    if (sk_buf_puts(&line, text) != SK_OK || sk_buf_putc(&line, '\n')) {
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto out;
    }
    rc = send_all(p, line.data, line.len, deadline, what, limit, err);
    if (rc != SK_OK)
        goto out;
    sk_buf_reset(&line);
    rc = read_line(p, deadline, what, limit, &line, err);
    if (rc != SK_OK)
        goto out;
    v = sk_json_loadb(line.data ? line.data : "", line.len, 0, &jerr);
    if (!v && sk_json_oom(&jerr)) {
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto out;
    }
    if (!json_is_object(v)) {
        struct sk_buf q;
        sk_buf_init(&q, SK_BUF_UNLIMITED);
        quote(&q, line.data ? line.data : "", line.len, QUOTE_BYTES);
        rc = fail(p, 0, err,
                  "environment broke the protocol during %s: its reply is "
                  "not a JSON object: %s",
                  what, sk_buf_cstr(&q));
        sk_buf_release(&q);
        goto out;
    }
    *reply = v;
    v = NULL;
out:
    json_decref(v);
    sk_free(text); /* jansson allocates through sk_malloc */
    sk_buf_release(&line);
    return rc;
}

int env_proc_healthy(struct env_proc *p)
{
    if (p->broken)
        return 0;
    if (check_exit(p) || p->rbuf.len > 0 || read_some(p) != 0) {
        env_proc_kill(p);
        return 0;
    }
    return 1;
}

int env_proc_broken(const struct env_proc *p)
{
    return p->broken;
}

long env_proc_pid(const struct env_proc *p)
{
    return (long)p->pid;
}

/* ---- start and close --------------------------------------------------- */

static void proc_free(struct env_proc *p)
{
    if (!p)
        return;
    kill_group(p);
    close_fd(&p->in_fd);
    close_fd(&p->out_fd);
    close_fd(&p->err_fd);
    sk_buf_release(&p->rbuf);
    sk_free(p);
}

/* posix_spawn of path with the three descriptors; SK_EDATA/SK_ENOMEM. */
static int spawn(const char *path, char *const *argv, char *const *envp,
                 int fd_in, int fd_out, int fd_err, pid_t *pid,
                 struct sk_error *err)
{
    int e =
        sk_spawn_group(path, argv, envp, 0, NULL, fd_in, fd_out, fd_err, pid);
    if (e == ENOMEM)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    if (e != 0)
        return sk_error_set(err, SK_EDATA, "cannot run %s: %s", path,
                            strerror(e));
    return SK_OK;
}

/* Checks the hello reply: a 1.x protocol version string. */
static int check_hello(struct env_proc *p, const json_t *r,
                       struct sk_error *err)
{
    const json_t *e = json_object_get(r, "error");
    const char *v = json_string_value(json_object_get(r, "protocol"));
    char *end;
    long major;

    if (json_is_string(e)) {
        struct sk_buf q;
        int rc;
        /* its words, bytes outside printable ASCII escaped */
        sk_buf_init(&q, SK_BUF_UNLIMITED);
        quote(&q, json_string_value(e), json_string_length(e), 400);
        rc = fail(p, 0, err, "environment refused the hello: %s",
                  sk_buf_cstr(&q));
        sk_buf_release(&q);
        return rc;
    }
    if (!v)
        return fail(p, 0, err,
                    "environment broke the protocol: its hello reply has "
                    "no \"protocol\" version string (skillopt speaks %s)",
                    SK_ENV_PROTOCOL);
    errno = 0;
    major = strtol(v, &end, 10);
    if (end == v || errno || (*end && *end != '.') || v[0] == '-' ||
        v[0] == '+' || v[0] == ' ')
        return fail(p, 0, err,
                    "environment broke the protocol: its protocol version "
                    "'%.40s' is not MAJOR.MINOR",
                    v);
    if (major != SK_ENV_PROTOCOL_MAJOR)
        return fail(p, 0, err,
                    "environment speaks protocol version %.40s, which "
                    "skillopt does not support (it speaks %s: major version "
                    "%d only)",
                    v, SK_ENV_PROTOCOL, SK_ENV_PROTOCOL_MAJOR);
    return SK_OK;
}

int env_proc_start(char *const *argv, char *const *envp, long timeout_ms,
                   const char *limit, struct env_proc **out,
                   struct sk_error *err)
{
    struct env_proc *p;
    struct sk_buf path;
    int sv[2] = {-1, -1}, po[2] = {-1, -1}, rc;
    json_t *hello = NULL, *reply = NULL;

    *out = NULL;
    sk_buf_init(&path, SK_BUF_UNLIMITED);
    p = sk_calloc(1, sizeof *p);
    if (!p) {
        sk_buf_release(&path);
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    }
    p->in_fd = p->out_fd = p->err_fd = -1;
    p->reaped = 1; /* nothing to kill yet */
    sk_buf_init(&p->rbuf, SK_ENV_MAX_LINE + CHUNK + 1);
    rc = resolve(argv[0], envp, &path, err);
    if (rc != SK_OK)
        goto out;
    /* stdin is a socket so that writing to a process that stopped
     * reading gives EPIPE (MSG_NOSIGNAL) instead of SIGPIPE here */
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 ||
        pipe2(po, O_CLOEXEC) != 0) {
        rc =
            sk_error_set(err, SK_EIO, "environment pipes: %s", strerror(errno));
        goto out;
    }
    p->err_fd = memfd_create("skillopt-env-stderr", MFD_CLOEXEC);
    if (p->err_fd >= 0 && fcntl(p->err_fd, F_SETFL, O_APPEND) != 0)
        close_fd(&p->err_fd);
    if (p->err_fd < 0) /* no memory files: stderr is dropped */
        p->err_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (p->err_fd < 0) {
        rc = sk_error_set(err, SK_EIO, "environment stderr: %s",
                          strerror(errno));
        goto out;
    }
    rc = spawn(sk_buf_cstr(&path), argv, envp, sv[1], po[1], p->err_fd, &p->pid,
               err);
    if (rc != SK_OK)
        goto out;
    p->reaped = 0;
    p->in_fd = sv[0];
    p->out_fd = po[0];
    sv[0] = po[0] = -1;
    fcntl(p->out_fd, F_SETFL, O_NONBLOCK);
    hello = json_pack("{s:s, s:s, s:s}", "type", "hello", "protocol",
                      SK_ENV_PROTOCOL, "client", "skillopt");
    if (!hello) {
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto out;
    }
    rc =
        env_proc_request(p, hello, "the hello", timeout_ms, limit, &reply, err);
    if (rc == SK_OK)
        rc = check_hello(p, reply, err);
out:
    close_fd(&sv[0]);
    close_fd(&sv[1]);
    close_fd(&po[0]);
    close_fd(&po[1]);
    json_decref(hello);
    json_decref(reply);
    sk_buf_release(&path);
    if (rc != SK_OK)
        proc_free(p);
    else
        *out = p;
    return rc;
}

void env_proc_kill(struct env_proc *p)
{
    kill_group(p);
    p->broken = 1;
}

void env_proc_close(struct env_proc *p, long grace_ms)
{
    json_t *req;
    if (!p)
        return;
    if (!p->broken && !check_exit(p)) {
        req = json_pack("{s:s}", "type", "close");
        if (req) {
            char *text = json_dumps(req, JSON_COMPACT);
            if (text && send(p->in_fd, text, strlen(text),
                             MSG_NOSIGNAL | MSG_DONTWAIT) >= 0)
                (void)send(p->in_fd, "\n", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
            sk_free(text);
        }
        json_decref(req);
        /* end of input too: a process that ignores close still stops */
        shutdown(p->in_fd, SHUT_WR);
        (void)wait_exit(p, grace_ms);
    }
    proc_free(p); /* kills what is left of the group */
}
