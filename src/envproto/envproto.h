/*
 * envproto.h - external environments (docs/env-protocol.md): programs in
 * any language that speak protocol version 1, one JSON object per line on
 * stdin and stdout, run as a pool of reusable processes.
 *
 * A pool starts up to `size` processes of one command (posix_spawn, no
 * shell, a process group of their own, an environment scrubbed to an
 * allow-list) and lends one to each session (one episode: reset, steps).
 * A process that crashes, exits, hangs past a timeout or prints anything
 * but protocol lines is killed with its whole process group; the session
 * fails with SK_EDATA and a message naming what happened, and the pool
 * starts a fresh process for a later session.  Each process's stderr goes
 * to a memory file; a session hands back the tail written during it.
 *
 * Pools are thread-safe; a session is used by one thread at a time.
 * Benchmark tables are static, so the pools a run uses live in a
 * process-wide registry (sk_env_pool_shared), closed by
 * sk_env_shutdown_all or, failing that, at exit.  Ownership: arguments
 * are borrowed; returned strings and observations belong to the caller.
 */
#ifndef SK_ENVPROTO_H
#define SK_ENVPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

struct json_t;

/* The protocol version skillopt speaks; environments must answer 1.x. */
#define SK_ENV_PROTOCOL "1.0"
#define SK_ENV_PROTOCOL_MAJOR 1
/* Longest line an environment may print, in bytes (newline excluded). */
#define SK_ENV_MAX_LINE (1u << 20)
/* Bytes of stderr kept for an item's record. */
#define SK_ENV_STDERR_TAIL 4096
/* Extra environment variables passed to environments: names separated by
 * commas, colons or spaces (docs/env-protocol.md). */
#define SK_ENV_PASSTHROUGH_VAR "SKILLOPT_ENV_PASSTHROUGH"

struct sk_env_pool;
struct sk_env_session;

/* Time limits of a session, in milliseconds. */
struct sk_env_limits {
    long step_ms;    /* each hello, reset and step (env.env_step_timeout) */
    long episode_ms; /* environment time of the whole session, 0: none
                        (env.env_episode_timeout) */
};

/* What a reset or step returned. */
struct sk_env_obs {
    char *observation;   /* text (sk_free) */
    double reward;       /* 0 for a reset */
    int done;            /* 0 for a reset */
    struct json_t *info; /* an object, never NULL after success */
};

/* Zeroes o (allocates nothing). */
void sk_env_obs_init(struct sk_env_obs *o);
/* Frees what o holds and zeroes it. */
void sk_env_obs_release(struct sk_env_obs *o);

/*
 * A new pool running argv (argc >= 1 strings; argv[0] is a path or a
 * name looked up on PATH when a process starts) with at most size
 * processes (size < 1 counts as 1).  The environment given to the
 * processes is fixed here from this process's environment: PATH, HOME,
 * LANG, LC_*, TMPDIR, PYTHONPATH, ALFWORLD_DATA and the names listed in
 * $SKILLOPT_ENV_PASSTHROUGH, plus PYTHONUNBUFFERED=1 and
 * PYTHONIOENCODING=utf-8.  Nothing is started yet.  SK_EINVAL for an
 * empty argv, SK_ENOMEM.
 */
int sk_env_pool_new(const char *const *argv, size_t argc, long size,
                    struct sk_env_pool **out, struct sk_error *err);

/*
 * Closes every idle process (a close request, a short grace, then SIGKILL
 * to its group) and frees the pool.  No session may be open.  NULL ok.
 */
void sk_env_pool_free(struct sk_env_pool *p);

/*
 * Makes sure the command can run: unless a process of this pool already
 * started, starts one (handshake within timeout_ms) and keeps it idle for
 * the first session.  Returns SK_OK; SK_ECONFIG naming env.env_command
 * and why (program not found or not executable, exited, timed out or
 * answered the handshake wrongly, unsupported protocol version); SK_ENOMEM.
 */
int sk_env_pool_probe(struct sk_env_pool *p, long timeout_ms,
                      struct sk_error *err);

/* The command line as text for messages ("python3 env.py"), borrowed. */
const char *sk_env_pool_label(const struct sk_env_pool *p);

/* Counters for tests and logs: processes started so far (handshake
 * passed), and those alive now. */
void sk_env_pool_counts(struct sk_env_pool *p, long *started, long *live);

/*
 * The registry's pool for argv, made (sk_env_pool_new) on first use and
 * kept until sk_env_shutdown_all or exit; a later call with another size
 * resizes it.  The pool is borrowed: never free it.  SK_EINVAL, SK_ENOMEM.
 */
int sk_env_pool_shared(const char *const *argv, size_t argc, long size,
                       struct sk_env_pool **out, struct sk_error *err);

/* Frees every registry pool (sk_env_pool_free); call with no session
 * open.  Also runs at exit. */
void sk_env_shutdown_all(void);

/*
 * Opens a session: lends an idle process, or starts one when fewer than
 * size are alive, or waits for one to be returned.  Returns SK_OK;
 * SK_EDATA when a new process cannot be started (err says why; the item
 * fails, the pool stays usable); SK_ENOMEM.
 */
int sk_env_session_open(struct sk_env_pool *p, const struct sk_env_limits *lim,
                        struct sk_env_session **out, struct sk_error *err);

/*
 * Starts an episode: sends {"type": "reset", "item", "seed", "max_steps"}
 * and reads {"observation", "info"}.  Returns SK_OK with *out filled;
 * SK_EDATA when the environment reported an error for the request (the
 * process stays usable) or failed (crashed, exited, timed out, printed a
 * line that is not a valid reply: the process group is killed); the
 * message says which, naming the request, the exit status or signal, the
 * limit, or the first bytes of the bad line.  SK_ENOMEM.  After a failure
 * the session only accepts sk_env_session_close.
 */
int sk_env_reset(struct sk_env_session *s, const struct json_t *item,
                 int64_t seed, long max_steps, struct sk_env_obs *out,
                 struct sk_error *err);

/* One step: {"type": "step", "action"} -> {"observation", "reward",
 * "done", "info"}.  Same returns as sk_env_reset. */
int sk_env_step(struct sk_env_session *s, const char *action,
                struct sk_env_obs *out, struct sk_error *err);

/* The pid of the session's process (for tests and logs). */
long sk_env_session_pid(const struct sk_env_session *s);

/*
 * Ends the session: the process goes back to the pool, or, after a
 * failure, is gone and a fresh one will be started later.  *stderr_tail
 * (may be NULL) gets the last SK_ENV_STDERR_TAIL bytes the process wrote
 * to stderr during the session (a new string, "" when none; NULL when out
 * of memory).  NULL s ok.
 */
void sk_env_session_close(struct sk_env_session *s, char **stderr_tail);

#endif /* SK_ENVPROTO_H */
