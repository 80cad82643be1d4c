/*
 * sandbox.h - run one untrusted command (model-written Python) in a
 * bubblewrap sandbox with resource limits and a wall-clock timeout.
 *
 * The caller creates a fresh work directory and puts the command's input
 * files in it; the command runs there.  Inside the sandbox the work
 * directory is the only writable place and is visible at the same absolute
 * path, so paths the caller puts in argv work unchanged.  There is no
 * network, the system directories are read-only, the environment is an
 * allow-list (no API keys), and CPU time, memory, file size and process
 * count are limited.  Nothing is ever run unsandboxed unless the caller sets
 * unsafe=1.  See docs/sandbox.md.
 *
 * Ownership: options are borrowed; the result's buffers belong to the
 * caller (sk_sandbox_result_release).  No global state: calls may run
 * concurrently from several threads.  The calling process must not ignore
 * SIGCHLD and must not reap children it did not start (waitpid(-1)).
 */
#ifndef SK_SANDBOX_H
#define SK_SANDBOX_H

#include <stddef.h>

#include "common.h"

/* Defaults used when the corresponding option is 0. */
#define SK_SANDBOX_TIMEOUT_S 120.0
#define SK_SANDBOX_CPU_S 120L
#define SK_SANDBOX_MEM_MB 2048L
#define SK_SANDBOX_FSIZE_MB 256L
#define SK_SANDBOX_NPROC 64L
#define SK_SANDBOX_OUTPUT_CAP ((size_t)1 << 20)
/*
 * When the caller is root, the sandbox (bwrap and everything under it) runs
 * as this host uid/gid, because the kernel never enforces the process limit
 * for uid 0.  The work directory tree is chowned to it before each run.
 */
#define SK_SANDBOX_ROOT_UID 65534

struct sk_sandbox_opts {
    const char *workdir;     /* absolute path of an existing directory */
    const char *const *argv; /* command; argv[0] looked up in the PATH below */
    const char *const *env;  /* extra "NAME=VALUE", NULL-terminated; NULL ok */
    const char *stdin_data;  /* fed to stdin (NUL-terminated); NULL: empty */
    double timeout_s;        /* wall clock; <= 0: SK_SANDBOX_TIMEOUT_S */
    long cpu_s;              /* RLIMIT_CPU seconds; 0 default, < 0 none */
    long mem_mb;             /* RLIMIT_AS per process; 0 default, < 0 none */
    long fsize_mb;           /* RLIMIT_FSIZE; 0 default, < 0 none */
    long nproc;              /* processes+threads at once; 0 default, <0 none */
    size_t output_cap;       /* bytes of stdout and of stderr kept; 0 dflt */
    int unsafe;              /* 1: run without bwrap (no isolation) */
    const char *bwrap;       /* bwrap executable; NULL: "bwrap" from PATH */
    const char *const *ro_binds; /* extra absolute paths mounted read-only */
};

struct sk_sandbox_result {
    int exited;        /* 1: the command exited; exit_code is its status */
    int exit_code;     /* exit status when exited */
    int term_signal;   /* signal that ended it when !exited */
    int timed_out;     /* killed at the wall-clock timeout */
    int cpu_limited;   /* killed by the CPU time limit (SIGXCPU, or SIGKILL
                          not from the timeout after >= cpu_s seconds) */
    int out_truncated; /* stdout exceeded output_cap (rest discarded) */
    int err_truncated; /* stderr exceeded output_cap */
    char *out;         /* stdout, NUL-terminated, never NULL after SK_OK */
    size_t out_len;
    char *errout; /* stderr, NUL-terminated, never NULL after SK_OK */
    size_t err_len;
    double wall_s; /* from start to the end of the run */
    int sandboxed; /* 1: ran under bwrap, 0: unsafe mode */
};

/* Zeroes r.  Cannot fail, allocates nothing. */
void sk_sandbox_result_init(struct sk_sandbox_result *r);
/* Frees r's buffers and zeroes it; NULL-safe. */
void sk_sandbox_result_release(struct sk_sandbox_result *r);

/*
 * Runs o->argv in o->workdir inside the sandbox and waits for it, at most
 * o->timeout_s seconds (then the whole process tree is killed).
 *
 * Returns SK_OK whenever the command ran, whatever its exit (r tells how it
 * ended; r is initialised by this call and must be released).  Without
 * unsafe, a command bwrap cannot execute counts as ran: bwrap's message is
 * in r->errout and the exit code is 1.  In unsafe mode a command that
 * cannot be executed gives exit code 127 and a message in r->errout.
 *
 * Failures (r is left released, nothing of the command ran):
 *   SK_EINVAL    bad options (workdir not an absolute directory, or "/" or
 *                a system directory; empty argv; env entry without '=';
 *                relative ro_binds path);
 *   SK_ENOTFOUND bwrap is not installed (or o->bwrap does not exist);
 *   SK_EIO       the sandbox could not be made (user namespaces refused, a
 *                mount failed, the uid switch failed as root, ...): the
 *                message quotes bwrap and says what to do;
 *   SK_ENOMEM.
 *
 * Under bwrap a death by signal N is seen through bwrap's shell-style exit
 * status 128+N, so exit codes 129..192 are reported as term_signal N.
 *
 * Rlimits CPU, AS and FSIZE apply in both modes (per process).  The process
 * limit applies under bwrap only (it is counted per user namespace); in
 * unsafe mode only the timeout and the process group bound the command.
 */
int sk_sandbox_run(const struct sk_sandbox_opts *o, struct sk_sandbox_result *r,
                   struct sk_error *err);

/*
 * Checks that a sandbox can be made here by running `true` in one (in a
 * temporary directory under $TMPDIR or /tmp).  bwrap as in the options
 * (NULL: "bwrap" from PATH).  Returns SK_OK, or the error sk_sandbox_run
 * would give, with a message saying what to do.
 */
int sk_sandbox_probe(const char *bwrap, struct sk_error *err);

#endif /* SK_SANDBOX_H */
