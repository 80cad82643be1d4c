/*
 * userbench_cmd.c - the external scorer of YAML benchmarks (userbench.h):
 * one process per scored item, started with posix_spawn (never a shell),
 * fed one JSON line on stdin, read back within a deadline, and its output
 * checked for a score.  The process gets its own process group, which is
 * killed when the deadline passes.
 */
#include "common.h"

#include "bench/userbench.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/score.h"
#include "util/spawn.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/jsonparse.h"

extern char **environ;

/* stderr kept for error messages, in bytes. */
#define ERR_KEEP 4096
/* Longest wait between checks that the child is still running, in ms. */
#define SLICE_MS 50

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

/* Reads what fd has now; closes it at EOF.  SK_ETOOBIG past the cap. */
static int drain(int *fd, struct sk_buf *out, int tail_only)
{
    char chunk[4096];
    for (;;) {
        ssize_t n = read(*fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return SK_OK;
        if (n <= 0) {
            close_fd(fd);
            return SK_OK;
        }
        if (tail_only) {
            sk_buf_keep_tail(out, chunk, (size_t)n, ERR_KEEP);
        } else {
            int rc = sk_buf_append(out, chunk, (size_t)n);
            if (rc != SK_OK)
                return rc;
        }
    }
}

/* The last line of the child's stderr, for a message. */
static const char *err_tail(struct sk_buf *e)
{
    size_t a = 0, b = 0;
    const char *s = sk_buf_cstr(e), *nl;
    sk_score_strip(s, e->len, &a, &b);
    if (a == b)
        return "";
    e->data[b] = '\0';
    nl = strrchr(e->data + a, '\n');
    return nl ? nl + 1 : e->data + a;
}

static int spawn(char *const *argv, const char *cwd, int fd_in, int fd_out,
                 int fd_err, pid_t *pid, struct sk_error *err)
{
    int e =
        sk_spawn_group(argv[0], argv, NULL, 1, cwd, fd_in, fd_out, fd_err, pid);
    if (e == ENOMEM)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    if (e != 0)
        return sk_error_set(err, SK_EIO, "cannot run %s: %s", argv[0],
                            strerror(e));
    return SK_OK;
}

int sk_ub_command_run(char *const *argv, const char *cwd, const char *input,
                      size_t len, long timeout_ms, struct sk_buf *out,
                      struct sk_error *err)
{
    int in[2] = {-1, -1}, po[2] = {-1, -1}, pe[2] = {-1, -1};
    struct sk_buf ebuf;
    pid_t pid = -1;
    size_t sent = 0;
    long deadline;
    int rc = SK_OK, status = 0, reaped = 0, timed_out = 0;

    sk_buf_init(&ebuf, ERR_KEEP + 1);
    if (!argv || !argv[0])
        return sk_error_set(err, SK_EINVAL, "no scorer command");
    /* stdin is a socket so that writing to a child that stopped reading
     * gives EPIPE (MSG_NOSIGNAL) instead of SIGPIPE in this process */
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0 ||
        pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0) {
        rc = sk_error_set(err, SK_EIO, "scorer pipes: %s", strerror(errno));
        goto out;
    }
    rc = spawn(argv, cwd, in[0], po[1], pe[1], &pid, err);
    if (rc != SK_OK) {
        pid = -1;
        goto out;
    }
    close_fd(&in[0]);
    close_fd(&po[1]);
    close_fd(&pe[1]);
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    fcntl(po[0], F_SETFL, O_NONBLOCK);
    fcntl(pe[0], F_SETFL, O_NONBLOCK);
    if (len == 0)
        close_fd(&in[1]);
    deadline = now_ms() + timeout_ms;
    while (!reaped || po[0] >= 0 || pe[0] >= 0) {
        struct pollfd p[3];
        nfds_t np = 0;
        long left = deadline - now_ms();
        int ix_in = -1, ix_out = -1, ix_err = -1;

        if (!reaped && waitpid(pid, &status, WNOHANG) == pid)
            reaped = 1;
        if (reaped) {
            /* exited: what it wrote is in the pipes (a child it left
             * behind may hold them open, so do not wait for EOF) */
            if (po[0] >= 0 && (rc = drain(&po[0], out, 0)) != SK_OK)
                goto toobig;
            if (pe[0] >= 0)
                drain(&pe[0], &ebuf, 1);
            break;
        }
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        if (in[1] >= 0) {
            p[np].fd = in[1];
            p[np].events = POLLOUT;
            ix_in = (int)np++;
        }
        if (po[0] >= 0) {
            p[np].fd = po[0];
            p[np].events = POLLIN;
            ix_out = (int)np++;
        }
        if (pe[0] >= 0) {
            p[np].fd = pe[0];
            p[np].events = POLLIN;
            ix_err = (int)np++;
        }
        if (poll(np ? p : NULL, np, (int)(left < SLICE_MS ? left : SLICE_MS)) <
            0) {
            if (errno == EINTR)
                continue;
            rc = sk_error_set(err, SK_EIO, "poll: %s", strerror(errno));
            goto kill;
        }
        if (ix_in >= 0 && p[ix_in].revents) {
            ssize_t n = send(in[1], input + sent, len - sent,
                             MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0)
                sent += (size_t)n;
            if ((n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
                 errno != EINTR) ||
                sent == len) {
                /* done, or it stopped reading: its output will tell */
                shutdown(in[1], SHUT_WR);
                close_fd(&in[1]);
            }
        }
        if (ix_out >= 0 && p[ix_out].revents &&
            (rc = drain(&po[0], out, 0)) != SK_OK)
            goto toobig;
        if (ix_err >= 0 && p[ix_err].revents)
            drain(&pe[0], &ebuf, 1);
    }
    if (timed_out) {
        rc = sk_error_set(err, SK_EIO, "%s timed out after %.3g s", argv[0],
                          (double)timeout_ms / 1000.0);
        goto kill;
    }
    if (WIFSIGNALED(status)) {
        rc = sk_error_set(err, SK_EIO, "%s was killed by signal %d%s%s",
                          argv[0], WTERMSIG(status), ebuf.len ? ": " : "",
                          err_tail(&ebuf));
    } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
        int code = WEXITSTATUS(status);
        if (code == 127 && out->len == 0 && ebuf.len == 0)
            /* where posix_spawn falls back to fork+exec (valgrind) an
             * exec failure is exit 127 with no output */
            rc = sk_error_set(err, SK_EIO,
                              "cannot run %s (not found or not executable)",
                              argv[0]);
        else
            rc = sk_error_set(err, SK_EIO, "%s exited with status %d%s%s",
                              argv[0], code, ebuf.len ? ": " : "",
                              err_tail(&ebuf));
    }
    goto out;
toobig:
    rc = rc == SK_ENOMEM
             ? sk_error_set(err, rc, "out of memory")
             : sk_error_set(err, SK_ETOOBIG,
                            "%s printed more than %u bytes on stdout", argv[0],
                            SK_UB_MAX_OUTPUT);
kill:
    if (!reaped && pid > 0) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
    }
out:
    if (pid > 0 && !reaped)
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    close_fd(&in[0]);
    close_fd(&in[1]);
    close_fd(&po[0]);
    close_fd(&po[1]);
    close_fd(&pe[0]);
    close_fd(&pe[1]);
    sk_buf_release(&ebuf);
    return rc;
}

/* A JSON number (or, for hard, a boolean) in [0, 1]. */
static int unit_value(const json_t *v, int allow_bool, double *out)
{
    if (allow_bool && json_is_boolean(v)) {
        *out = json_is_true(v) ? 1.0 : 0.0;
        return 1;
    }
    if (!json_is_number(v))
        return 0;
    *out = json_number_value(v);
    return isfinite(*out) && *out >= 0.0 && *out <= 1.0;
}

/* err: "printed 'text' (cut), not ..." */
static int garbage(const char *text, size_t len, const char *what,
                   struct sk_error *err)
{
    struct sk_buf q;
    int rc;
    sk_buf_init(&q, SK_BUF_UNLIMITED);
    rc = sk_score_py_repr(text, len > 200 ? 200 : len, &q);
    rc = sk_error_set(err, SK_EPARSE, "the scorer printed %s%s, %s",
                      rc == SK_OK ? sk_buf_cstr(&q) : "?",
                      len > 200 ? "..." : "", what);
    sk_buf_release(&q);
    return rc;
}

int sk_ub_command_parse(const char *text, size_t len, double *soft, int *hard,
                        char **reason, struct sk_error *err)
{
    static const char want[] = "not one number in [0, 1] or a JSON object "
                               "{\"soft\": x, \"hard\": 0|1}";
    size_t a = 0, b = 0;
    json_error_t jerr;
    json_t *o;
    double h;
    int rc = SK_OK;

    *soft = 0.0;
    *hard = -1;
    *reason = NULL;
    sk_score_strip(text, len, &a, &b);
    if (a == b)
        return sk_error_set(err, SK_EPARSE, "the scorer printed nothing");
    if (text[a] != '{') {
        char num[64], *end;
        double d;
        if (b - a >= sizeof num || strspn(text + a, "0123456789+-.eE") < b - a)
            return garbage(text + a, b - a, want, err);
        memcpy(num, text + a, b - a);
        num[b - a] = '\0';
        errno = 0;
        d = strtod(num, &end);
        if (end != num + (b - a) || errno || !isfinite(d) || d < 0.0 || d > 1.0)
            return garbage(text + a, b - a, want, err);
        *soft = d;
        return SK_OK;
    }
    o = sk_json_loadb(text + a, b - a, JSON_REJECT_DUPLICATES, &jerr);
    if (!o)
        return sk_json_oom(&jerr)
                   ? sk_error_set(err, SK_ENOMEM, "out of memory")
                   : garbage(text + a, b - a, want, err);
    if (!unit_value(json_object_get(o, "soft"), 0, soft)) {
        rc =
            garbage(text + a, b - a,
                    "whose \"soft\" is missing or not a number in [0, 1]", err);
        goto out;
    }
    if (json_object_get(o, "hard")) {
        if (!unit_value(json_object_get(o, "hard"), 1, &h) ||
            (h != 0.0 && h != 1.0)) {
            rc = garbage(text + a, b - a,
                         "whose \"hard\" is not 0, 1, false or true", err);
            goto out;
        }
        *hard = h == 1.0;
    }
    if (json_is_string(json_object_get(o, "reason"))) {
        *reason = sk_strdup(json_string_value(json_object_get(o, "reason")));
        if (!*reason)
            rc = sk_error_set(err, SK_ENOMEM, "out of memory");
    }
out:
    json_decref(o);
    return rc;
}
