/*
 * proc.h - one external environment process (inside envproto only): the
 * start with its handshake, one request and its reply line with a
 * deadline, the stderr memory file, the kill of the process group.
 *
 * Every failure of the process itself (it exited, was killed, timed out,
 * printed something that is not a reply) marks it broken: it has been
 * killed and reaped by the time the call returns, and only
 * env_proc_free is left to do.  An {"error": ...} reply is not a failure
 * of the process.  Ownership: argv and envp are borrowed for the call;
 * replies are new jansson references.
 */
#ifndef SK_ENVPROTO_PROC_H
#define SK_ENVPROTO_PROC_H

#include <stddef.h>

#include "common.h"

struct json_t;
struct sk_buf;
struct env_proc;

/*
 * Starts argv (argv[0] looked up on the PATH of envp's caller when it has
 * no '/') with the environment envp and completes the handshake within
 * timeout_ms (limit names it for a message).  Returns SK_OK; SK_EDATA when the
 * program cannot be found or run, exits, times out or answers the hello wrongly
 * (err says which, with the last stderr line when there is one); SK_ENOMEM;
 * SK_EIO when pipes cannot be made.
 */
int env_proc_start(char *const *argv, char *const *envp, long timeout_ms,
                   const char *limit, struct env_proc **out,
                   struct sk_error *err);

/*
 * Sends req as one line and reads one reply line within timeout_ms;
 * limit names the limit for a timeout message ("env.env_step_timeout =
 * 60 s").  what names the request ("step 3").  Returns SK_OK with *reply
 * a JSON object (possibly {"error": ...}, left to the caller); SK_EDATA
 * when the process failed (now broken); SK_ENOMEM.
 */
int env_proc_request(struct env_proc *p, const struct json_t *req,
                     const char *what, long timeout_ms, const char *limit,
                     struct json_t **reply, struct sk_error *err);

/* Kills the process group (a reply the caller found wrong) and marks the
 * process broken. */
void env_proc_kill(struct env_proc *p);

/* 1 when an idle process is still fit for a session: it has not exited
 * and printed nothing since its last reply; otherwise it is killed. */
int env_proc_healthy(struct env_proc *p);

/* 1 once the process failed and was killed. */
int env_proc_broken(const struct env_proc *p);
long env_proc_pid(const struct env_proc *p);

/* Forgets the stderr written so far (a new session begins). */
void env_proc_stderr_mark(struct env_proc *p);
/* Appends the last max bytes of stderr since the mark to out. */
int env_proc_stderr_tail(struct env_proc *p, size_t max, struct sk_buf *out);

/* Asks the process to close, gives it grace_ms to exit, then kills its
 * group and frees it.  NULL ok. */
void env_proc_close(struct env_proc *p, long grace_ms);

#endif /* SK_ENVPROTO_PROC_H */
