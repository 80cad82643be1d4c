/*
 * run.c - one agent CLI run (agent.h): posix_spawn in a process group of
 * its own, cwd = the workspace, allow-listed environment, the prompt on
 * stdin, stdout parsed as JSON lines while it arrives and copied to the
 * events file, the end of stderr kept, and the whole group killed at the
 * deadline, on an unrecoverable error event, or when the CLI exits.
 */
#include "common.h"

#include "agent/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent_int.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/spawn.h"

/* stderr bytes kept for messages. */
#define ERR_KEEP 8192
/* Longest wait between checks of the child and the clock, in ms. */
#define SLICE_MS 50

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

/* 1 if path is a regular file we may execute; sets *exists. */
static int executable(const char *path, int *exists)
{
    struct stat st;
    *exists = stat(path, &st) == 0;
    return *exists && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* The value of NAME in a "NAME=value" array, or NULL. */
static const char *env_get(char *const *envp, const char *name)
{
    size_t n = strlen(name);
    for (; envp && *envp; envp++)
        if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
            return *envp + n + 1;
    return NULL;
}

/*
 * The binary's path: as given when it has a '/', else looked up in the
 * PATH the CLI will see.  SK_ECONFIG (with the setting to change) when it
 * is missing or not executable.
 */
static int resolve(const struct sk_agent_opts *o, const char *bin,
                   char *const *envp, char **out, struct sk_error *err)
{
    const char *setting = o->binary_setting && *o->binary_setting
                              ? o->binary_setting
                              : "the agent's binary path setting";
    const char *path = env_get(envp, "PATH");
    int exists = 0, any = 0;
    *out = NULL;
    if (strchr(bin, '/')) {
        if (executable(bin, &exists))
            return (*out = sk_strdup(bin)) ? SK_OK : SK_ENOMEM;
        return sk_error_set(err, SK_ECONFIG, "%s: %s (set %s)", bin,
                            exists ? "not an executable file" : "no such file",
                            setting);
    }
    while (path) {
        const char *c = strchr(path, ':');
        size_t n = c ? (size_t)(c - path) : strlen(path);
        struct sk_buf b;
        sk_buf_init(&b, SK_BUF_UNLIMITED);
        if (sk_buf_append(&b, n ? path : ".", n ? n : 1) != SK_OK ||
            sk_buf_putc(&b, '/') != SK_OK || sk_buf_puts(&b, bin) != SK_OK) {
            sk_buf_release(&b);
            return SK_ENOMEM;
        }
        if (executable(b.data, &exists)) {
            *out = sk_buf_detach(&b, NULL);
            return *out ? SK_OK : SK_ENOMEM;
        }
        any |= exists;
        sk_buf_release(&b);
        path = c ? c + 1 : NULL;
    }
    return sk_error_set(err, SK_ECONFIG,
                        "'%s' %s in PATH (install it or set %s)", bin,
                        any ? "is not executable" : "not found", setting);
}

/* <ws>/../<kind>_events.jsonl unless the options say otherwise. */
static char *events_path(const struct sk_agent_opts *o, const char *ws)
{
    char *dir, *path, name[64];
    if (o->events_path)
        return *o->events_path ? sk_strdup(o->events_path) : NULL;
    if (!(dir = sk_fs_dirname(ws)))
        return NULL;
    snprintf(name, sizeof name, "%s_events.jsonl", sk_agent_kind_name(o->kind));
    path = sk_fs_join(dir, name);
    sk_free(dir);
    return path;
}

/* Everything one run holds. */
struct run {
    int in[2], out[2], errp[2];
    int events_fd;
    pid_t pid;
    int reaped, status;
    size_t total, max_total;
    struct sk_buf etail;
    struct agent_parser parser;
    struct agent_exit x;
    int events_failed;
};

/* Reads what fd has now into the parser (and the events file), or into
 * the stderr tail.  Closes fd at EOF. */
static void drain(struct run *r, int *fd, int is_out)
{
    char chunk[65536];
    for (;;) {
        ssize_t n = read(*fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            close_fd(fd);
            return;
        }
        if (!is_out) {
            sk_buf_keep_tail(&r->etail, chunk, (size_t)n, ERR_KEEP);
            continue;
        }
        if (r->total + (size_t)n > r->max_total) {
            r->x.too_big = 1;
            return;
        }
        r->total += (size_t)n;
        if (r->events_fd >= 0 && !r->events_failed) {
            ssize_t off = 0;
            while (off < n) {
                ssize_t w = write(r->events_fd, chunk + off, (size_t)(n - off));
                if (w < 0 && errno == EINTR)
                    continue;
                if (w <= 0) {
                    r->events_failed = 1; /* the run goes on without it */
                    break;
                }
                off += w;
            }
        }
        agent_parser_feed(&r->parser, chunk, (size_t)n);
        if (r->parser.stop || r->parser.oom)
            return;
    }
}

static void kill_group(struct run *r)
{
    if (r->pid > 0) {
        kill(-r->pid, SIGKILL);
        if (!r->reaped)
            kill(r->pid, SIGKILL);
    }
}

/* Feeds the prompt, reads both outputs until the child exits or must be
 * stopped.  SK_OK, or SK_EIO when poll fails. */
static int pump(struct run *r, const char *prompt, long timeout_ms,
                long linger_ms, double start, struct sk_error *err)
{
    size_t len = strlen(prompt), sent = 0;
    double deadline = start + (double)timeout_ms / 1000.0, done_at = 0;
    if (len == 0) {
        shutdown(r->in[1], SHUT_WR);
        close_fd(&r->in[1]);
    }
    for (;;) {
        struct pollfd pf[3];
        nfds_t np = 0;
        int ix_in = -1, ix_out = -1, ix_err = -1;
        double left = deadline - now_s();
        if (!r->reaped && waitpid(r->pid, &r->status, WNOHANG) == r->pid)
            r->reaped = 1;
        if (r->reaped) {
            /* what it wrote is in the pipes; a process it left behind
             * may hold them open, so do not wait for EOF */
            if (r->out[0] >= 0)
                drain(r, &r->out[0], 1);
            if (r->errp[0] >= 0)
                drain(r, &r->errp[0], 0);
            return SK_OK;
        }
        if (r->x.too_big || r->parser.oom)
            return SK_OK;
        if (r->parser.stop) {
            r->x.stopped = 1;
            return SK_OK;
        }
        if (r->parser.done && !r->parser.done_error && r->parser.answer &&
            *r->parser.answer) {
            /* the answer is in: a CLI stuck on its way out (a child
             * holding it up) does not cost it */
            if (done_at == 0)
                done_at = now_s();
            else if (now_s() - done_at > (double)linger_ms / 1000.0) {
                r->x.lingered = 1;
                return SK_OK;
            }
        }
        if (left <= 0) {
            r->x.timed_out = 1;
            return SK_OK;
        }
        if (r->in[1] >= 0) {
            pf[np].fd = r->in[1];
            pf[np].events = POLLOUT;
            ix_in = (int)np++;
        }
        if (r->out[0] >= 0) {
            pf[np].fd = r->out[0];
            pf[np].events = POLLIN;
            ix_out = (int)np++;
        }
        if (r->errp[0] >= 0) {
            pf[np].fd = r->errp[0];
            pf[np].events = POLLIN;
            ix_err = (int)np++;
        }
        if (poll(np ? pf : NULL, np,
                 left * 1000.0 < SLICE_MS ? (int)(left * 1000.0) + 1
                                          : SLICE_MS) < 0) {
            if (errno == EINTR)
                continue;
            return sk_error_set(err, SK_EIO, "poll: %s", strerror(errno));
        }
        if (ix_in >= 0 && pf[ix_in].revents) {
            ssize_t n = send(r->in[1], prompt + sent, len - sent,
                             MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0)
                sent += (size_t)n;
            if ((n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
                 errno != EINTR) ||
                sent == len) {
                /* all sent, or it stopped reading: its output will say */
                shutdown(r->in[1], SHUT_WR);
                close_fd(&r->in[1]);
            }
        }
        if (ix_out >= 0 && pf[ix_out].revents)
            drain(r, &r->out[0], 1);
        if (ix_err >= 0 && pf[ix_err].revents)
            drain(r, &r->errp[0], 0);
    }
}

static int setup_fail(struct sk_agent_result *res, int code,
                      enum sk_agent_fail f, const char *label,
                      struct sk_error *err)
{
    res->fail = f;
    res->status = code;
    snprintf(res->error, sizeof res->error, "%s: %.480s", label,
             err && err->msg[0] ? err->msg : sk_strerror(code));
    sk_log_redact(res->error, sizeof res->error);
    if (err && err->code != code)
        sk_error_set(err, code, "%s", res->error);
    return code;
}

int sk_agent_run(const struct sk_agent_opts *o, const char *ws,
                 const char *prompt, struct sk_agent_result *res,
                 struct sk_error *err)
{
    struct sk_error lerr;
    struct run r;
    char **argv = NULL, **envp = NULL, *bin = NULL, *epath = NULL;
    const char *label;
    double start;
    int rc = SK_OK, e;

    if (!err)
        err = &lerr;
    sk_error_clear(err);
    memset(&r, 0, sizeof r);
    r.in[0] = r.in[1] = r.out[0] = r.out[1] = r.errp[0] = r.errp[1] = -1;
    r.events_fd = -1;
    r.pid = -1;
    sk_buf_init(&r.etail, ERR_KEEP + 1);
    res->kind = o ? o->kind : SK_AGENT_CODEX;
    if (!o || (unsigned)o->kind >= SK_AGENT_KIND_COUNT || !ws || !prompt) {
        sk_error_set(err, SK_EINVAL,
                     "agent run: missing options, "
                     "workspace or prompt");
        return setup_fail(res, SK_EINVAL, SK_AGENT_FAIL_SETUP, "agent", err);
    }
    label = sk_agent_kind_name(o->kind);
    agent_parser_init(&r.parser, o->kind, o->max_line_bytes);
    /* the trajectory opens with what the agent was asked */
    agent_add_msg(&r.parser, "user", prompt);
    r.max_total =
        o->max_stream_bytes ? o->max_stream_bytes : SK_AGENT_MAX_STREAM;
    if (!sk_fs_is_dir(ws)) {
        rc = setup_fail(
            res,
            sk_error_set(err, SK_EINVAL, "workspace %s is not a directory", ws),
            SK_AGENT_FAIL_SETUP, label, err);
        goto out;
    }
    argv = sk_agent_argv(o, ws);
    envp = sk_agent_env(o);
    if (!argv || !envp || r.parser.oom) {
        rc = setup_fail(res, sk_error_set(err, SK_ENOMEM, "out of memory"),
                        SK_AGENT_FAIL_SETUP, label, err);
        goto out;
    }
    rc = resolve(o, argv[0], envp, &bin, err);
    if (rc != SK_OK) {
        rc = setup_fail(res, rc,
                        rc == SK_ECONFIG ? SK_AGENT_FAIL_NOT_FOUND
                                         : SK_AGENT_FAIL_SETUP,
                        label, err);
        goto out;
    }
    epath = events_path(o, ws);
    if (epath) {
        r.events_fd = open(
            epath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (r.events_fd < 0)
            sk_warn("%s: cannot save the event stream: %s", epath,
                    strerror(errno));
        else if (!(res->events_path = sk_strdup(epath)))
            r.parser.oom = 1;
    }
    /* stdin is a socket so that writing to a child that stopped reading
     * gives EPIPE instead of SIGPIPE in this process */
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, r.in) != 0 ||
        pipe2(r.out, O_CLOEXEC) != 0 || pipe2(r.errp, O_CLOEXEC) != 0) {
        rc = setup_fail(res,
                        sk_error_set(err, SK_EIO, "pipes: %s", strerror(errno)),
                        SK_AGENT_FAIL_SETUP, label, err);
        goto out;
    }
    start = now_s();
    e = sk_spawn_group(bin, argv, envp, 0, ws, r.in[0], r.out[1], r.errp[1],
                       &r.pid);
    if (e != 0) {
        r.pid = -1;
        rc = setup_fail(
            res,
            e == ENOENT || e == EACCES || e == ENOEXEC
                ? sk_error_set(err, SK_ECONFIG, "cannot run %s: %s", bin,
                               strerror(e))
                : sk_error_set(err, e == ENOMEM ? SK_ENOMEM : SK_EIO,
                               "cannot run %s: %s", bin, strerror(e)),
            e == ENOENT || e == EACCES || e == ENOEXEC ? SK_AGENT_FAIL_NOT_FOUND
                                                       : SK_AGENT_FAIL_SETUP,
            label, err);
        goto out;
    }
    close_fd(&r.in[0]);
    close_fd(&r.out[1]);
    close_fd(&r.errp[1]);
    fcntl(r.in[1], F_SETFL, O_NONBLOCK);
    fcntl(r.out[0], F_SETFL, O_NONBLOCK);
    fcntl(r.errp[0], F_SETFL, O_NONBLOCK);
    rc = pump(&r, prompt,
              o->timeout_ms > 0 ? o->timeout_ms : SK_AGENT_TIMEOUT_MS,
              o->linger_ms > 0 ? o->linger_ms : SK_AGENT_LINGER_MS, start, err);
    /* whatever is still running in its group goes now: a timed-out CLI,
     * or a background process the agent left behind */
    kill_group(&r);
    if (!r.reaped)
        while (waitpid(r.pid, &r.status, 0) < 0 && errno == EINTR)
            ;
    r.reaped = 1;
    r.x.seconds = now_s() - start;
    if (rc != SK_OK) {
        rc = setup_fail(res, rc, SK_AGENT_FAIL_SETUP, label, err);
        goto out;
    }
    agent_parser_end(&r.parser);
    if (r.x.lingered) {
        r.x.exit_code = 0; /* it had finished; we stopped it */
    } else if (WIFSIGNALED(r.status) && !r.x.timed_out && !r.x.stopped &&
               !r.x.too_big) {
        r.x.signal = WTERMSIG(r.status);
        r.x.exit_code = -1;
    } else {
        r.x.exit_code = WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1;
    }
    r.x.stderr_tail = sk_buf_cstr(&r.etail);
    r.x.label = label;
    agent_outcome(&r.parser, &r.x, res);
    agent_summary(&r.parser, o, &r.x, res);
    if (r.parser.oom && res->status == SK_OK) {
        res->status = SK_ENOMEM;
        res->fail = SK_AGENT_FAIL_SETUP;
        snprintf(res->error, sizeof res->error, "%s: out of memory", label);
    }
    rc = res->status;
    if (rc != SK_OK)
        sk_error_set(err, rc, "%s", res->error);
out:
    if (r.pid > 0 && !r.reaped) {
        kill_group(&r);
        while (waitpid(r.pid, &r.status, 0) < 0 && errno == EINTR)
            ;
    }
    close_fd(&r.in[0]);
    close_fd(&r.in[1]);
    close_fd(&r.out[0]);
    close_fd(&r.out[1]);
    close_fd(&r.errp[0]);
    close_fd(&r.errp[1]);
    close_fd(&r.events_fd);
    agent_parser_release(&r.parser);
    sk_buf_release(&r.etail);
    sk_agent_argv_free(argv);
    sk_agent_argv_free(envp);
    sk_free(bin);
    sk_free(epath);
    return rc;
}
