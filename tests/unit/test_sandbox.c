/*
 * test_sandbox.c - the code-execution sandbox (src/sandbox/sandbox.h):
 * output capture, limits, isolation (network, file system, environment),
 * timeouts that kill whole process trees, and the errors given when no
 * sandbox can be made.  Tests that need a working bwrap skip with a message
 * where it cannot work; the "bwrap missing" and option tests always run.
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/sandbox.h"
#include "testutil.h"
#include "util/alloc.h"
#include "util/fs.h"

#define PY "/usr/bin/python3"

static int g_bwrap_ok;
static char g_why[1024];

static int setup_group(void **state)
{
    struct sk_error err;
    (void)state;
    sk_error_clear(&err);
    g_bwrap_ok = sk_sandbox_probe(NULL, &err) == SK_OK;
    if (!g_bwrap_ok)
        snprintf(g_why, sizeof g_why, "%s", err.msg);
    return 0;
}

#define NEED_BWRAP()                                                           \
    do {                                                                       \
        if (!g_bwrap_ok) {                                                     \
            print_message("skipping: no working bwrap here: %s\n", g_why);     \
            skip();                                                            \
        }                                                                      \
    } while (0)

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
    struct timespec t;
    t.tv_sec = (time_t)s;
    t.tv_nsec = (long)((s - (double)t.tv_sec) * 1e9);
    while (nanosleep(&t, &t) != 0)
        ;
}

static void opts_init(struct sk_sandbox_opts *o, const char *wd,
                      const char *const *argv)
{
    memset(o, 0, sizeof *o);
    o->workdir = wd;
    o->argv = argv;
    o->timeout_s = 20;
}

/* Runs and asserts the call itself succeeded. */
static void run_ok(const struct sk_sandbox_opts *o, struct sk_sandbox_result *r)
{
    struct sk_error err;
    int rc;
    sk_error_clear(&err);
    rc = sk_sandbox_run(o, r, &err);
    if (rc != SK_OK)
        fail_msg("sk_sandbox_run: %d: %s", rc, err.msg);
    assert_non_null(r->out);
    assert_non_null(r->errout);
}

static int file_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Live processes whose command line contains marker. */
static int count_marked(const char *marker)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        char path[300], buf[4096];
        size_t len, i;
        FILE *fp;
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
        fp = fopen(path, "rb");
        if (!fp)
            continue;
        len = fread(buf, 1, sizeof buf - 1, fp);
        fclose(fp);
        for (i = 0; i < len; i++)
            if (buf[i] == '\0')
                buf[i] = ' ';
        buf[len] = '\0';
        if (strstr(buf, marker))
            n++;
    }
    closedir(d);
    return n;
}

/* Waits up to 3 s for every marked process to be gone. */
static void assert_none_left(const char *marker)
{
    double t0 = now_s();
    int n;
    while ((n = count_marked(marker)) > 0 && now_s() - t0 < 3)
        sleep_s(0.02);
    if (n > 0)
        fail_msg("%d process(es) marked %s survived", n, marker);
}

struct exit_case {
    const char *script;
    int exited, code, sig;
    const char *out, *err;
};

static void test_sandbox__exit_codes_and_output(void **state)
{
    static const struct exit_case cases[] = {
        {"echo out; echo err >&2; exit 3", 1, 3, 0, "out\n", "err\n"},
        {"printf 'a\\nb'", 1, 0, 0, "a\nb", ""},
        {"exit 0", 1, 0, 0, "", ""},
        {"echo x; kill -TERM $$", 0, 0, SIGTERM, "x\n", ""},
        {"kill -KILL $$", 0, 0, SIGKILL, "", ""},
        {"exit 127", 1, 127, 0, "", ""},
    };
    char *wd = tu_mkdtemp();
    size_t i;
    (void)state;
    NEED_BWRAP();
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        const char *argv[] = {"/bin/sh", "-c", cases[i].script, NULL};
        struct sk_sandbox_opts o;
        struct sk_sandbox_result r;
        opts_init(&o, wd, argv);
        run_ok(&o, &r);
        assert_int_equal(r.sandboxed, 1);
        assert_int_equal(r.exited, cases[i].exited);
        assert_int_equal(r.exit_code, cases[i].code);
        assert_int_equal(r.term_signal, cases[i].sig);
        assert_int_equal(r.timed_out, 0);
        assert_string_equal(r.out, cases[i].out);
        assert_int_equal(r.out_len, strlen(cases[i].out));
        assert_string_equal(r.errout, cases[i].err);
        assert_true(r.wall_s > 0 && r.wall_s < 10);
        sk_sandbox_result_release(&r);
    }
    tu_rmtree(wd);
    sk_free(wd);
}

static void test_sandbox__output_cap(void **state)
{
    const char *argv[] = {
        PY, "-c",
        "import sys\nsys.stdout.write('x' * 3000000)\n"
        "sys.stderr.write('e' * 50)\nprint('done', file=sys.stderr)",
        NULL};
    struct sk_sandbox_opts o;
    struct sk_sandbox_result r;
    char *wd = tu_mkdtemp();
    size_t i;
    (void)state;
    NEED_BWRAP();
    opts_init(&o, wd, argv);
    o.output_cap = 1000;
    run_ok(&o, &r);
    /* the child wrote 3 MB past a 1000-byte cap and still finished */
    assert_int_equal(r.exited, 1);
    assert_int_equal(r.exit_code, 0);
    assert_int_equal(r.out_len, 1000);
    assert_int_equal(strlen(r.out), 1000);
    for (i = 0; i < r.out_len; i++)
        assert_int_equal(r.out[i], 'x');
    assert_int_equal(r.out_truncated, 1);
    assert_int_equal(r.err_truncated, 0);
    assert_int_equal(r.err_len, 55);
    sk_sandbox_result_release(&r);
    tu_rmtree(wd);
    sk_free(wd);
}

static void test_sandbox__stdin(void **state)
{
    const char *argv[] = {PY, "-c",
                          "import sys, hashlib\nd = sys.stdin.buffer.read()\n"
                          "print(len(d), hashlib.sha256(d).hexdigest()[:16])",
                          NULL};
    struct sk_sandbox_opts o;
    struct sk_sandbox_result r;
    char *wd = tu_mkdtemp(), *big, expect[128];
    size_t i, n = 300000;
    FILE *fp;
    (void)state;
    NEED_BWRAP();
    big = sk_malloc(n + 1);
    assert_non_null(big);
    for (i = 0; i < n; i++)
        big[i] = (char)('a' + i % 26);
    big[n] = '\0';
    /* the expected digest, computed by the same python outside */
    {
        char *in = tu_write(wd, "in.txt", big), cmd[512];
        snprintf(cmd, sizeof cmd,
                 PY " -c \"import hashlib;d=open('%s','rb').read();"
                    "print(len(d), hashlib.sha256(d).hexdigest()[:16])\"",
                 in);
        fp = popen(cmd, "r");
        assert_non_null(fp);
        assert_non_null(fgets(expect, sizeof expect, fp));
        pclose(fp);
        sk_free(in);
    }
    opts_init(&o, wd, argv);
    o.stdin_data = big;
    run_ok(&o, &r);
    assert_int_equal(r.exit_code, 0);
    assert_string_equal(r.out, expect);
    sk_sandbox_result_release(&r);

    /* no stdin: an empty one */
    o.stdin_data = NULL;
    run_ok(&o, &r);
    assert_int_equal(strncmp(r.out, "0 ", 2), 0);
    sk_sandbox_result_release(&r);
    sk_free(big);
    tu_rmtree(wd);
    sk_free(wd);
}

static void test_sandbox__network_blocked(void **state)
{
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    char script[512];
    const char *argv[] = {PY, "-c", script, NULL};
    struct sk_sandbox_opts o;
    struct sk_sandbox_result r;
    char *wd = tu_mkdtemp();
    int s;
    (void)state;
    NEED_BWRAP();
    s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(s >= 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s, 4), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &al), 0);
    snprintf(script, sizeof script,
             "import socket, sys\n"
             "try:\n"
             "    socket.create_connection(('127.0.0.1', %d), timeout=3)\n"
             "except OSError as e:\n"
             "    print('blocked', e); sys.exit(3)\n"
             "print('connected')\n",
             ntohs(a.sin_port));
    opts_init(&o, wd, argv);
    run_ok(&o, &r);
    assert_int_equal(r.exited, 1);
    assert_int_equal(r.exit_code, 3);
    assert_non_null(strstr(r.out, "blocked"));
    sk_sandbox_result_release(&r);

    /* control: the same script without the sandbox reaches the listener */
    o.unsafe = 1;
    run_ok(&o, &r);
    assert_int_equal(r.exit_code, 0);
    assert_string_equal(r.out, "connected\n");
    sk_sandbox_result_release(&r);
    close(s);
    tu_rmtree(wd);
    sk_free(wd);
}

static void test_sandbox__writes_outside_workdir_fail(void **state)
{
    char host_tmp[256], src_file[4096], script[8192];
    const char *argv[] = {PY, "-c", script, NULL};
    struct sk_sandbox_opts o;
    struct sk_sandbox_result r;
    char *wd = tu_mkdtemp(), *rel = tu_source_path("."), *src, *ok;
    struct stat st;
    (void)state;
    NEED_BWRAP();
    src = realpath(rel, NULL); /* absolute: a relative one means workdir */
    assert_non_null(src);
    sk_free(rel);
    snprintf(host_tmp, sizeof host_tmp, "/tmp/sk-sandbox-escape-%ld",
             (long)getpid());
    snprintf(src_file, sizeof src_file, "%s/sk-sandbox-escape-%ld", src,
             (long)getpid());
    snprintf(script, sizeof script,
             "import os\n"
             "bad = ['%s', '%s', '/etc/sk-x', '/usr/sk-x', '/sk-x',\n"
             "       '/dev/sk-x', '/dev/shm/sk-x', '/proc/sk-x']\n"
             "for p in bad:\n"
             "    try:\n"
             "        open(p, 'w').write('x')\n"
             "        print('WROTE', p)\n"
             "    except OSError as e:\n"
             "        print('refused', p, e.errno)\n"
             "open('ok.txt', 'w').write('inside')\n"
             "os.mkdir(os.environ['TMPDIR'] + '/sub')\n"
             "print('uid', os.getuid())\n",
             host_tmp, src_file);
    opts_init(&o, wd, argv);
    run_ok(&o, &r);
    assert_int_equal(r.exit_code, 0);
    assert_null(strstr(r.out, "WROTE"));
    assert_non_null(strstr(r.out, "refused /etc/sk-x"));
    assert_non_null(strstr(r.out, "refused /usr/sk-x"));
    assert_non_null(strstr(r.out, "refused /sk-x"));
    assert_non_null(strstr(r.out, "uid 65534"));
    assert_false(file_exists(host_tmp));
    assert_false(file_exists(src_file));
    assert_false(file_exists("/etc/sk-x"));
    ok = sk_fs_join(wd, "ok.txt");
    assert_int_equal(stat(ok, &st), 0);
    assert_int_equal(st.st_size, 6);
    /* as root the sandbox runs as uid 65534 on the host too */
    if (geteuid() == 0)
        assert_int_equal(st.st_uid, SK_SANDBOX_ROOT_UID);
    else
        assert_int_equal(st.st_uid, geteuid());
    sk_free(ok);
    sk_sandbox_result_release(&r);
    unlink(host_tmp);
    unlink(src_file);
    free(src); /* from realpath */
    tu_rmtree(wd);
    sk_free(wd);
}

static void test_sandbox__environment_scrubbed(void **state)
{
    const char *argv[] = {"/usr/bin/env", NULL};
    const char *extra[] = {"SK_EXTRA=yes", "LANG=en_US.UTF-8", NULL};
    char want[4096];
    int mode;
    char *wd = tu_mkdtemp();
    (void)state;
    setenv("OPENAI_API_KEY", "sk-test-openai-secret", 1);
    setenv("ANTHROPIC_API_KEY", "sk-ant-test-secret", 1);
    setenv("SK_PARENT_ONLY", "1", 1);
    for (mode = 0; mode < 2; mode++) {
        struct sk_sandbox_opts o;
        struct sk_sandbox_result r;
        if (mode == 0 && !g_bwrap_ok)
            continue;
        opts_init(&o, wd, argv);
        o.env = extra;
        o.unsafe = mode;
        o.bwrap = mode ? "/nonexistent/bwrap" : NULL;
        run_ok(&o, &r);
        assert_int_equal(r.exit_code, 0);
        assert_null(strstr(r.out, "API_KEY"));
        assert_null(strstr(r.out, "secret"));
        assert_null(strstr(r.out, "SK_PARENT_ONLY"));
        snprintf(want, sizeof want, "HOME=%s\n", wd);
        assert_non_null(strstr(r.out, want));
        snprintf(want, sizeof want, "TMPDIR=%s/.tmp\n", wd);
        assert_non_null(strstr(r.out, want));
        assert_non_null(strstr(r.out, "PATH=/usr/local/bin:/usr/bin:/bin\n"));
        assert_non_null(strstr(r.out, "LC_ALL=C.UTF-8\n"));
        assert_non_null(strstr(r.out, "PYTHONDONTWRITEBYTECODE=1\n"));
        assert_non_null(strstr(r.out, "PYTHONIOENCODING=utf-8\n"));
        assert_non_null(strstr(r.out, "SK_EXTRA=yes\n"));
        /* a caller's value replaces the default, once */
        assert_non_null(strstr(r.out, "LANG=en_US.UTF-8\n"));
        assert_null(strstr(r.out, "LANG=C.UTF-8"));
        assert_int_equal(r.sandboxed, !mode);
        sk_sandbox_result_release(&r);
    }
    unsetenv("OPENAI_API_KEY");
    unsetenv("ANTHROPIC_API_KEY");
    unsetenv("SK_PARENT_ONLY");
    tu_rmtree(wd);
    sk_free(wd);
}

static void test_sandbox__cpu_limit(void **state)
{
    const char *argv[] = {PY, "-c", "while True: pass", NULL};
    struct sk_sandbox_opts o;
    struct sk_sandbox_result r;
    char *wd = tu_mkdtemp();
    (void)state;
    NEED_BWRAP();
    opts_init(&o, wd, argv);
    o.cpu_s = 1;
    o.timeout_s = 15;
    run_ok(&o, &r);
    assert_int_equal(r.exited, 0);
    assert_int_equal(r.term_signal, SIGXCPU);
    assert_int_equal(r.cpu_limited, 1);
    assert_int_equal(r.timed_out, 0);
    assert_true(r.wall_s >= 0.9);
    assert_true(r.wall_s < 10);
    sk_sandbox_result_release(&r);
    tu_rmtree(wd);
    sk_free(wd);
}

static void test_sandbox__memory_limit(void **state)
{
    const char *big[] = {PY, "-c", "b = bytearray(600 << 20); print('got')",
                         NULL};
    const char *small[] = {PY, "-c", "b = bytearray(32 << 20); print('got')",
                           NULL};
    struct sk_sandbox_opts o;
    struct sk_sandbox_result r;
    char *wd = tu_mkdtemp();
    (void)state;
    NEED_BWRAP();
    opts_init(&o, wd, big);
    o.mem_mb = 256;
    run_ok(&o, &r);
    assert_int_equal(r.exited, 1);
    assert_int_equal(r.exit_code, 1);
    assert_non_null(strstr(r.errout, "MemoryError"));
    assert_string_equal(r.out, "");
    sk_sandbox_result_release(&r);
    /* control: under the same limit a small allocation works */
    o.argv = small;
    run_ok(&o, &r);
    assert_int_equal(r.exit_code, 0);
    assert_string_equal(r.out, "got\n");
    sk_sandbox_result_release(&r);
    tu_rmtree(wd);
    sk_free(wd);
}

static void test_sandbox__file_size_limit(void **state)
{
    const char *argv[] = {PY, "-c",
                          "import sys\n"
                          "try:\n"
                          "    open('big.bin', 'wb').write(b'x' * (3 << 20))\n"
                          "except OSError as e:\n"
                          "    print('refused', e.errno); sys.exit(4)\n",
                          NULL};
    struct sk_sandbox_opts o;
    struct sk_sandbox_result r;
    char *wd = tu_mkdtemp(), *path;
    struct stat st;
    (void)state;
    NEED_BWRAP();
    opts_init(&o, wd, argv);
    o.fsize_mb = 1;
    run_ok(&o, &r);
    assert_int_equal(r.exit_code, 4);
    assert_string_equal(r.out, "refused 27\n"); /* EFBIG */
    path = sk_fs_join(wd, "big.bin");
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size <= (1 << 20));
    sk_free(path);
    sk_sandbox_result_release(&r);
    tu_rmtree(wd);
    sk_free(wd);
}

static void test_sandbox__fork_bomb_bounded(void **state)
{
    /* every process appends one byte to a file and then keeps forking;
     * none ever exits, so the file counts all processes that existed */
    char marker[64];
    const char *argv[] = {
        PY, "-c",
        "import os, time\n"
        "fd = os.open('count', os.O_WRONLY | os.O_APPEND | os.O_CREAT)\n"
        "os.write(fd, b'x')\n"
        "while True:\n"
        "    try:\n"
        "        if os.fork() == 0:\n"
        "            os.write(fd, b'x')\n"
        "    except OSError:\n"
        "        time.sleep(0.01)\n",
        marker, NULL};
    struct sk_sandbox_opts o;
    struct sk_sandbox_result r;
    char *wd = tu_mkdtemp(), *count;
    struct stat st;
    (void)state;
    NEED_BWRAP();
    snprintf(marker, sizeof marker, "sk-bomb-%ld", (long)getpid());
    opts_init(&o, wd, argv);
    o.nproc = 8;
    o.timeout_s = 2;
    run_ok(&o, &r);
    assert_int_equal(r.timed_out, 1);
    assert_int_equal(r.term_signal, SIGKILL);
    assert_true(r.wall_s < 6);
    count = sk_fs_join(wd, "count");
    assert_int_equal(stat(count, &st), 0);
    /* it did fork, and never had more than nproc processes */
    assert_true(st.st_size >= 2);
    assert_true(st.st_size <= 8);
    assert_none_left(marker);
    sk_free(count);
    sk_sandbox_result_release(&r);
    tu_rmtree(wd);
    sk_free(wd);
}

static void test_sandbox__timeout_kills_whole_tree(void **state)
{
    /* a background grandchild would write "late" after the timeout */
    char marker[64], script[512];
    const char *argv[] = {PY, "-c", script, marker, NULL};
    char *wd[2] = {NULL, NULL};
    int mode;
    (void)state;
    snprintf(marker, sizeof marker, "sk-late-%ld", (long)getpid());
    snprintf(script, sizeof script,
             "import subprocess, time, sys\n"
             "subprocess.Popen(['/bin/sh', '-c', 'sleep 0.7; echo x > late',"
             " 'sh', sys.argv[1]])\n"
             "print('started', flush=True)\n"
             "time.sleep(30)\n");
    for (mode = 0; mode < 2; mode++) {
        struct sk_sandbox_opts o;
        struct sk_sandbox_result r;
        if (mode == 0 && !g_bwrap_ok)
            continue;
        wd[mode] = tu_mkdtemp();
        opts_init(&o, wd[mode], argv);
        o.unsafe = mode;
        o.timeout_s = 0.4;
        run_ok(&o, &r);
        assert_int_equal(r.timed_out, 1);
        assert_int_equal(r.exited, 0);
        assert_int_equal(r.term_signal, SIGKILL);
        assert_int_equal(r.cpu_limited, 0);
        assert_string_equal(r.out, "started\n");
        assert_true(r.wall_s >= 0.4 && r.wall_s < 3);
        sk_sandbox_result_release(&r);
    }
    assert_none_left(marker);
    sleep_s(0.8);
    for (mode = 0; mode < 2; mode++) {
        char *late;
        if (!wd[mode])
            continue;
        late = sk_fs_join(wd[mode], "late");
        assert_false(file_exists(late));
        sk_free(late);
        tu_rmtree(wd[mode]);
        sk_free(wd[mode]);
    }
    if (!g_bwrap_ok)
        print_message("(bwrap half skipped: %s)\n", g_why);
}

static void test_sandbox__bwrap_missing(void **state)
{
    const char *argv[] = {"/bin/sh", "-c", "echo ran > ran.txt", NULL};
    struct sk_sandbox_opts o;
    struct sk_sandbox_result r;
    struct sk_error err;
    char *wd = tu_mkdtemp(), *ran;
    const char *names[] = {"/nonexistent/bwrap", "sk-no-such-bwrap"};
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(names); i++) {
        opts_init(&o, wd, argv);
        o.bwrap = names[i];
        sk_error_clear(&err);
        assert_int_equal(sk_sandbox_run(&o, &r, &err), SK_ENOTFOUND);
        assert_non_null(strstr(err.msg, "install bubblewrap"));
        assert_non_null(strstr(err.msg, "--unsafe-no-sandbox"));
        assert_null(r.out);
        assert_null(r.errout);
        sk_error_clear(&err);
        assert_int_equal(sk_sandbox_probe(names[i], &err), SK_ENOTFOUND);
        assert_non_null(strstr(err.msg, "--unsafe-no-sandbox"));
    }
    ran = sk_fs_join(wd, "ran.txt");
    assert_false(file_exists(ran));
    sk_free(ran);
    tu_rmtree(wd);
    sk_free(wd);
}

static void test_sandbox__setup_failure_is_an_error(void **state)
{
    const char *argv[] = {"/bin/sh", "-c", "echo ran > ran.txt", NULL};
    const char *binds[] = {"/nonexistent-sk-sandbox-dir", NULL};
    struct sk_sandbox_opts o;
    struct sk_sandbox_result r;
    struct sk_error err;
    char *wd = tu_mkdtemp(), *ran;
    (void)state;
    NEED_BWRAP();
    opts_init(&o, wd, argv);
    o.ro_binds = binds;
    sk_error_clear(&err);
    assert_int_equal(sk_sandbox_run(&o, &r, &err), SK_EIO);
    assert_non_null(strstr(err.msg, "bwrap failed"));
    assert_non_null(strstr(err.msg, "nonexistent-sk-sandbox-dir"));
    assert_non_null(strstr(err.msg, "--unsafe-no-sandbox"));
    assert_null(r.out);
    ran = sk_fs_join(wd, "ran.txt");
    assert_false(file_exists(ran));
    sk_free(ran);
    tu_rmtree(wd);
    sk_free(wd);
}

static void test_sandbox__ro_binds_visible(void **state)
{
    char *wd = tu_mkdtemp(), *data = tu_mkdtemp(), *f, script[4096];
    const char *binds[] = {data, NULL};
    const char *argv[] = {PY, "-c", script, NULL};
    struct sk_sandbox_opts o;
    struct sk_sandbox_result r;
    (void)state;
    NEED_BWRAP();
    f = tu_write(data, "in.txt", "hello");
    chmod(data, 0755);
    snprintf(script, sizeof script,
             "print(open('%s').read())\n"
             "try:\n"
             "    open('%s/new', 'w')\n"
             "except OSError as e:\n"
             "    print('refused', e.errno)\n",
             f, data);
    opts_init(&o, wd, argv);
    o.ro_binds = binds;
    run_ok(&o, &r);
    assert_int_equal(r.exit_code, 0);
    assert_string_equal(r.out, "hello\nrefused 30\n"); /* EROFS */
    sk_sandbox_result_release(&r);
    sk_free(f);
    tu_rmtree(data);
    sk_free(data);
    tu_rmtree(wd);
    sk_free(wd);
}

static void test_sandbox__unsafe_mode(void **state)
{
    const char *sleeper[] = {"sleep", "10", NULL};
    const char *missing[] = {"sk-no-such-command", NULL};
    const char *missing_path[] = {"/nonexistent/sk-cmd", NULL};
    const char *pwd[] = {
        PY, "-c",
        "import os\nprint(os.getcwd())\n"
        "print(os.getpgid(0) == os.getpid(), os.getpgid(0) != os.getppid())",
        NULL};
    struct sk_sandbox_opts o;
    struct sk_sandbox_result r;
    char *wd = tu_mkdtemp(), want[4200];
    (void)state;
    opts_init(&o, wd, sleeper);
    o.unsafe = 1;
    o.bwrap = "/nonexistent/bwrap"; /* never consulted */
    o.timeout_s = 0.3;
    run_ok(&o, &r);
    assert_int_equal(r.sandboxed, 0);
    assert_int_equal(r.timed_out, 1);
    assert_int_equal(r.term_signal, SIGKILL);
    assert_true(r.wall_s < 2);
    sk_sandbox_result_release(&r);

    /* looked up in PATH, and executed directly */
    o.argv = missing;
    run_ok(&o, &r);
    assert_int_equal(r.exited, 1);
    assert_int_equal(r.exit_code, 127);
    assert_non_null(strstr(r.errout, "sk-no-such-command"));
    sk_sandbox_result_release(&r);
    o.argv = missing_path;
    run_ok(&o, &r);
    assert_int_equal(r.exit_code, 127);
    assert_non_null(strstr(r.errout, "/nonexistent/sk-cmd"));
    sk_sandbox_result_release(&r);

    o.argv = pwd;
    o.timeout_s = 10;
    run_ok(&o, &r);
    /* runs in the work directory, as the leader of its own group */
    snprintf(want, sizeof want, "%s\nTrue True\n", wd);
    assert_string_equal(r.out, want);
    sk_sandbox_result_release(&r);
    tu_rmtree(wd);
    sk_free(wd);
}

static void test_sandbox__openpyxl_works_inside(void **state)
{
    const char *argv[] = {
        PY, "-c",
        "import openpyxl\nwb = openpyxl.Workbook()\nwb.active['A1'] = 42\n"
        "wb.save('out.xlsx')\n"
        "print(openpyxl.load_workbook('out.xlsx').active['A1'].value)",
        NULL};
    struct sk_sandbox_opts o;
    struct sk_sandbox_result r;
    char *wd = tu_mkdtemp(), *x, *data;
    size_t len = 0;
    (void)state;
    NEED_BWRAP();
    opts_init(&o, wd, argv);
    run_ok(&o, &r);
    if (r.exit_code != 0)
        fail_msg("openpyxl in the sandbox: %s", r.errout);
    assert_string_equal(r.out, "42\n");
    x = sk_fs_join(wd, "out.xlsx");
    data = tu_read(x, &len);
    assert_non_null(data);
    assert_true(len > 100);
    assert_memory_equal(data, "PK", 2);
    sk_free(data);
    sk_free(x);
    sk_sandbox_result_release(&r);
    tu_rmtree(wd);
    sk_free(wd);
}

static void test_sandbox__bad_options(void **state)
{
    const char *argv[] = {"true", NULL};
    const char *empty[] = {NULL};
    const char *bad_env[] = {"NOEQUALS", NULL};
    const char *bad_env2[] = {"=x", NULL};
    const char *rel[] = {"relative/dir", NULL};
    char *wd = tu_mkdtemp(), *file = tu_write(wd, "f", "x");
    struct {
        const char *workdir;
        const char *const *argv, *const *env, *const *binds;
    } cases[] = {
        {"relative", argv, NULL, NULL}, {"/", argv, NULL, NULL},
        {"/usr", argv, NULL, NULL},     {"/tmp/../etc", argv, NULL, NULL},
        {file, argv, NULL, NULL},       {wd, empty, NULL, NULL},
        {wd, NULL, NULL, NULL},         {wd, argv, bad_env, NULL},
        {wd, argv, bad_env2, NULL},     {wd, argv, NULL, rel},
        {NULL, argv, NULL, NULL},
    };
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        struct sk_sandbox_opts o;
        struct sk_sandbox_result r;
        struct sk_error err;
        opts_init(&o, cases[i].workdir, cases[i].argv);
        o.env = cases[i].env;
        o.ro_binds = cases[i].binds;
        sk_error_clear(&err);
        if (sk_sandbox_run(&o, &r, &err) != SK_EINVAL)
            fail_msg("case %zu was accepted", i);
        assert_true(err.msg[0] != '\0');
        assert_null(r.out);
    }
    sk_free(file);
    tu_rmtree(wd);
    sk_free(wd);
}

struct thr {
    int id, ok;
};

static void *thread_main(void *p)
{
    struct thr *t = p;
    char *wd = tu_mkdtemp(), env[32], want[32];
    const char *argv[] = {"/bin/sh", "-c", "echo $SK_ID", NULL};
    const char *extra[] = {env, NULL};
    int i;
    snprintf(env, sizeof env, "SK_ID=%d", t->id);
    snprintf(want, sizeof want, "%d\n", t->id);
    t->ok = 1;
    for (i = 0; i < 3; i++) {
        struct sk_sandbox_opts o;
        struct sk_sandbox_result r;
        memset(&o, 0, sizeof o);
        o.workdir = wd;
        o.argv = argv;
        o.env = extra;
        o.timeout_s = 20;
        if (sk_sandbox_run(&o, &r, NULL) != SK_OK) {
            t->ok = 0;
            continue;
        }
        if (!r.exited || r.exit_code != 0 || strcmp(r.out, want) != 0)
            t->ok = 0;
        sk_sandbox_result_release(&r);
    }
    tu_rmtree(wd);
    sk_free(wd);
    return NULL;
}

static void test_sandbox__concurrent_runs(void **state)
{
    pthread_t th[4];
    struct thr t[4];
    int i;
    (void)state;
    NEED_BWRAP();
    for (i = 0; i < 4; i++) {
        t[i].id = 100 + i;
        assert_int_equal(pthread_create(&th[i], NULL, thread_main, &t[i]), 0);
    }
    for (i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (i = 0; i < 4; i++)
        assert_true(t[i].ok);
}

struct sweep {
    const char *wd;
    int unsafe;
};

static int sweep_body(void *p)
{
    const struct sweep *s = p;
    const char *argv[] = {"sh", "-c", "echo hi", NULL};
    const char *extra[] = {"A=1", "PATH=/usr/bin:/bin", NULL};
    struct sk_sandbox_opts o;
    struct sk_sandbox_result r;
    int rc;
    memset(&o, 0, sizeof o);
    o.workdir = s->wd;
    o.argv = argv;
    o.env = extra;
    o.unsafe = s->unsafe;
    o.stdin_data = "in";
    o.timeout_s = 20;
    rc = sk_sandbox_run(&o, &r, NULL);
    if (rc == SK_OK && strcmp(r.out, "hi\n") != 0)
        fail_msg("sweep run printed \"%s\"", r.out);
    sk_sandbox_result_release(&r);
    return rc;
}

static void test_sandbox__alloc_failures(void **state)
{
    struct sweep s;
    char *wd = tu_mkdtemp();
    (void)state;
    s.wd = wd;
    s.unsafe = 1;
    assert_true(tu_alloc_sweep(sweep_body, &s) > 5);
    if (g_bwrap_ok) {
        s.unsafe = 0;
        assert_true(tu_alloc_sweep(sweep_body, &s) > 20);
    }
    tu_rmtree(wd);
    sk_free(wd);
}

static void test_sandbox__probe(void **state)
{
    struct sk_error err;
    (void)state;
    NEED_BWRAP();
    sk_error_clear(&err);
    assert_int_equal(sk_sandbox_probe("/usr/bin/bwrap", &err), SK_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sandbox__exit_codes_and_output),
        cmocka_unit_test(test_sandbox__output_cap),
        cmocka_unit_test(test_sandbox__stdin),
        cmocka_unit_test(test_sandbox__network_blocked),
        cmocka_unit_test(test_sandbox__writes_outside_workdir_fail),
        cmocka_unit_test(test_sandbox__environment_scrubbed),
        cmocka_unit_test(test_sandbox__cpu_limit),
        cmocka_unit_test(test_sandbox__memory_limit),
        cmocka_unit_test(test_sandbox__file_size_limit),
        cmocka_unit_test(test_sandbox__fork_bomb_bounded),
        cmocka_unit_test(test_sandbox__timeout_kills_whole_tree),
        cmocka_unit_test(test_sandbox__bwrap_missing),
        cmocka_unit_test(test_sandbox__setup_failure_is_an_error),
        cmocka_unit_test(test_sandbox__ro_binds_visible),
        cmocka_unit_test(test_sandbox__unsafe_mode),
        cmocka_unit_test(test_sandbox__openpyxl_works_inside),
        cmocka_unit_test(test_sandbox__bad_options),
        cmocka_unit_test(test_sandbox__concurrent_runs),
        cmocka_unit_test(test_sandbox__alloc_failures),
        cmocka_unit_test(test_sandbox__probe),
    };
    return cmocka_run_group_tests(tests, setup_group, NULL);
}
