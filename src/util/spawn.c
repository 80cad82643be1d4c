/*
 * spawn.c - helper programs in a process group of their own (spawn.h).
 */
#include "common.h"

#include "util/spawn.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>

extern char **environ;

int sk_spawn_group(const char *path, char *const *argv, char *const *envp,
                   int search, const char *cwd, int fd_in, int fd_out,
                   int fd_err, pid_t *pid)
{
    static const int dfl_sigs[] = {SIGPIPE, SIGINT,  SIGTERM, SIGHUP, SIGQUIT,
                                   SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, dfl;
    size_t i;
    int e;

    if (posix_spawn_file_actions_init(&fa) != 0)
        return ENOMEM;
    if (posix_spawnattr_init(&at) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return ENOMEM;
    }
    sigemptyset(&none);
    sigemptyset(&dfl);
    for (i = 0; i < SK_ARRAY_LEN(dfl_sigs); i++)
        sigaddset(&dfl, dfl_sigs[i]);
    /* its own group (a timeout kills what it started too), nothing
     * blocked, default dispositions for what the parent may ignore */
    e = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP |
                                          POSIX_SPAWN_SETSIGMASK |
                                          POSIX_SPAWN_SETSIGDEF);
    if (e == 0)
        e = posix_spawnattr_setpgroup(&at, 0);
    if (e == 0)
        e = posix_spawnattr_setsigmask(&at, &none);
    if (e == 0)
        e = posix_spawnattr_setsigdefault(&at, &dfl);
    if (e == 0)
        e = posix_spawn_file_actions_adddup2(&fa, fd_in, 0);
    if (e == 0)
        e = posix_spawn_file_actions_adddup2(&fa, fd_out, 1);
    if (e == 0)
        e = posix_spawn_file_actions_adddup2(&fa, fd_err, 2);
    if (e == 0 && cwd)
        e = posix_spawn_file_actions_addchdir_np(&fa, cwd);
    if (e != 0) {
        e = ENOMEM;
        goto out;
    }
    e = (search ? posix_spawnp : posix_spawn)(pid, path, &fa, &at, argv,
                                              envp ? envp : environ);
out:
    posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    return e;
}
