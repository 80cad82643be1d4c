/*
 * spawn.h - starting a helper program (an external scorer, an environment
 * process) the one way the project does it: posix_spawn, never a shell,
 * in a process group of its own so a timeout can kill everything it
 * started, with no blocked signals and default dispositions.
 *
 * Ownership: everything is borrowed; the caller reaps the child.
 */
#ifndef SK_UTIL_SPAWN_H
#define SK_UTIL_SPAWN_H

#include <sys/types.h>

#include "common.h"

/*
 * Starts path with argv and envp (NULL: this process's environment); with
 * search, path is looked up in PATH as posix_spawnp does.  Its stdin,
 * stdout and stderr are fd_in, fd_out and fd_err; it runs in cwd when
 * cwd is not NULL.  SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD,
 * SIGUSR1, SIGUSR2 and SIGALRM get their default dispositions.  Returns 0
 * with *pid set, or an errno value (ENOMEM when the attributes cannot be
 * set up, else posix_spawn's).
 */
int sk_spawn_group(const char *path, char *const *argv, char *const *envp,
                   int search, const char *cwd, int fd_in, int fd_out,
                   int fd_err, pid_t *pid);

#endif /* SK_UTIL_SPAWN_H */
