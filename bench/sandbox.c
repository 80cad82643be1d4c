/*
 * sandbox.c - what the code-execution sandbox costs per run.
 *
 * Makes a small workbook with /usr/bin/python3 and openpyxl in a temporary
 * directory, then times -n runs of a script that opens it, edits a cell and
 * saves it: bare (posix_spawn, no sandbox) against sk_sandbox_run (bwrap,
 * limits, scrubbed environment), alternating so drift hits both alike.  The
 * same is done with /bin/true, which isolates the sandbox's own cost.
 * Prints the medians and the overhead.  See bench/README.md.
 *
 *   build/bench_sandbox [-n 30] [--tmp DIR] [--bwrap PATH] [--keep]
 */
#include "common.h"

#include <fcntl.h>
#include <jansson.h>
#include <ftw.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/ssb_score.h"
#include "sandbox/sandbox.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"

#define PY "/usr/bin/python3"

static const char make_py[] = "import openpyxl\n"
                              "wb = openpyxl.Workbook()\n"
                              "ws = wb.active\n"
                              "ws.title = 'Data'\n"
                              "for r in range(1, 51):\n"
                              "    for c in range(1, 9):\n"
                              "        ws.cell(row=r, column=c, value=r * c)\n"
                              "wb.save('in.xlsx')\n";

static const char edit_py[] = "import openpyxl\n"
                              "wb = openpyxl.load_workbook('in.xlsx')\n"
                              "ws = wb['Data']\n"
                              "ws['J1'] = sum(c.value for c in ws['A'])\n"
                              "wb.save('out.xlsx')\n";

extern char **environ;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_sandbox: %s\n", what);
    exit(1);
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char *p = sk_fs_join(dir, name);
    if (!p || sk_fs_write_atomic(p, text, strlen(text), NULL) != SK_OK)
        die("cannot write a file in the temporary directory");
    sk_free(p);
}

/* Runs argv in dir without any sandbox; returns the wall time. */
static double run_bare(const char *dir, char *const *argv)
{
    posix_spawn_file_actions_t fa;
    double t0 = now_s();
    int st;
    pid_t pid;

    if (posix_spawn_file_actions_init(&fa) != 0 ||
        posix_spawn_file_actions_addchdir_np(&fa, dir) != 0 ||
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0) !=
            0 ||
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0) != 0)
        die("posix_spawn_file_actions");
    if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0)
        die("posix_spawn");
    posix_spawn_file_actions_destroy(&fa);
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        die("the bare run failed");
    return now_s() - t0;
}

/* Runs argv in dir through the sandbox; returns the wall time. */
static double run_boxed(const char *dir, const char *const *argv,
                        const char *bwrap)
{
    struct sk_sandbox_opts o;
    struct sk_sandbox_result r;
    struct sk_error err;
    double t0 = now_s(), t;

    memset(&o, 0, sizeof o);
    o.workdir = dir;
    o.argv = argv;
    o.bwrap = bwrap;
    o.timeout_s = 60;
    if (sk_sandbox_run(&o, &r, &err) != SK_OK) {
        fprintf(stderr, "bench_sandbox: %s\n", err.msg);
        exit(1);
    }
    t = now_s() - t0;
    if (!r.exited || r.exit_code != 0) {
        fprintf(stderr, "bench_sandbox: the sandboxed run failed: %s\n",
                r.errout);
        exit(1);
    }
    sk_sandbox_result_release(&r);
    return t;
}

static int by_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, by_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

/* Times n alternating bare and sandboxed runs of one command. */
static void compare(const char *label, const char *bare_dir,
                    const char *box_dir, const char *const *argv,
                    const char *bwrap, int n)
{
    double *bare = sk_calloc((size_t)n, sizeof *bare);
    double *box = sk_calloc((size_t)n, sizeof *box);
    double mb, ms;
    int i;

    if (!bare || !box)
        die("out of memory");
    /* one warm-up of each: page cache, python's imports */
    (void)run_bare(bare_dir, (char *const *)argv);
    (void)run_boxed(box_dir, argv, bwrap);
    for (i = 0; i < n; i++) {
        bare[i] = run_bare(bare_dir, (char *const *)argv);
        box[i] = run_boxed(box_dir, argv, bwrap);
    }
    mb = median(bare, n);
    ms = median(box, n);
    printf("%-28s %9.1f ms %9.1f ms %9.1f ms\n", label, mb * 1e3, ms * 1e3,
           (ms - mb) * 1e3);
    sk_free(bare);
    sk_free(box);
}

/* Bytes of the file at path (0 when unreadable). */
static double file_bytes(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (double)st.st_size : 0.0;
}

/*
 * Scoring throughput on the real SpreadsheetBench tasks under data (the
 * shared split: {train,val}/items.json with input_file and answer_file):
 * every answer compared with itself and every input with its answer,
 * rounds times over; prints comparisons/s and MB read/s.
 */
static void score_throughput(const char *data, int rounds)
{
    static const char *const splits[] = {"train", "val"};
    struct sk_buf b;
    double t0, dt, bytes = 0;
    long cmp = 0, passed = 0;
    int r, si;

    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (rounds > 5)
        rounds = 5;
    t0 = now_s();
    for (r = 0; r < rounds; r++) {
        for (si = 0; si < 2; si++) {
            json_t *items, *it;
            size_t i;
            sk_buf_reset(&b);
            if (sk_buf_printf(&b, "%s/%s/items.json", data, splits[si]) !=
                SK_OK)
                die("out of memory");
            items = json_load_file(sk_buf_cstr(&b), 0, NULL);
            if (!items) {
                printf("\nxlsx scoring: no data at %s (--data DIR)\n", data);
                sk_buf_release(&b);
                return;
            }
            json_array_foreach(items, i, it)
            {
                const char *in =
                    json_string_value(json_object_get(it, "input_file"));
                const char *ans =
                    json_string_value(json_object_get(it, "answer_file"));
                const char *pos =
                    json_string_value(json_object_get(it, "answer_position"));
                char *ip = in ? sk_fs_join(data, in) : NULL;
                char *ap = ans ? sk_fs_join(data, ans) : NULL;
                struct sk_ssb_case_result res;
                struct sk_error err;
                if (!ip || !ap || !pos)
                    die("bad item");
                if (sk_ssb_compare(ap, ap, pos, NULL, &res, &err) == SK_OK) {
                    passed += res.pass;
                    sk_ssb_case_result_release(&res);
                }
                if (sk_ssb_compare(ap, ip, pos, NULL, &res, &err) == SK_OK)
                    sk_ssb_case_result_release(&res);
                cmp += 2;
                bytes += 3 * file_bytes(ap) + file_bytes(ip);
                sk_free(ip);
                sk_free(ap);
            }
            json_decref(items);
        }
    }
    dt = now_s() - t0;
    printf("\nxlsx scoring, real SpreadsheetBench tasks (%d rounds): %ld "
           "comparisons in %.2f s: %.0f comparisons/s, %.1f MB of xlsx "
           "read/s; answers equal to themselves: %ld of %ld\n",
           rounds, cmp, dt, (double)cmp / dt, bytes / dt / 1e6, passed,
           cmp / 2);
    sk_buf_release(&b);
}

int main(int argc, char **argv)
{
    const char *tmpdir = "/tmp", *bwrap = NULL;
    const char *data = "../shared/data/spreadsheetbench";
    const char *const make_argv[] = {PY, "make.py", NULL};
    const char *const edit_argv[] = {PY, "edit.py", NULL};
    const char *const true_argv[] = {"/bin/true", NULL};
    char root[4096], *bare_dir, *box_dir;
    struct sk_error err;
    int n = 30, keep = 0, i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            n = (int)strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--tmp") == 0 && i + 1 < argc)
            tmpdir = argv[++i];
        else if (strcmp(argv[i], "--bwrap") == 0 && i + 1 < argc)
            bwrap = argv[++i];
        else if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
            data = argv[++i];
        else if (strcmp(argv[i], "--keep") == 0)
            keep = 1;
        else {
            fprintf(stderr, "usage: bench_sandbox [-n RUNS] [--tmp DIR] "
                            "[--bwrap PATH] [--data DIR] [--keep]\n");
            return 2;
        }
    }
    if (n < 1)
        die("bad -n");
    if (sk_sandbox_probe(bwrap, &err) != SK_OK) {
        fprintf(stderr, "bench_sandbox: %s\n", err.msg);
        return 1;
    }
    snprintf(root, sizeof root, "%s/bench_sandbox_XXXXXX", tmpdir);
    if (!mkdtemp(root))
        die("mkdtemp");
    (void)chmod(root, 0755); /* as root the sandbox runs as uid 65534 */
    bare_dir = sk_fs_join(root, "bare");
    box_dir = sk_fs_join(root, "box");
    if (!bare_dir || !box_dir || sk_fs_mkdirs(bare_dir, NULL) != SK_OK ||
        sk_fs_mkdirs(box_dir, NULL) != SK_OK)
        die("cannot create the work directories");
    write_file(bare_dir, "make.py", make_py);
    write_file(bare_dir, "edit.py", edit_py);
    write_file(box_dir, "edit.py", edit_py);
    (void)run_bare(bare_dir, (char *const *)make_argv);
    {
        char *src = sk_fs_join(bare_dir, "in.xlsx");
        char *dst = sk_fs_join(box_dir, "in.xlsx");
        struct sk_buf b;
        sk_buf_init(&b, SK_BUF_UNLIMITED);
        if (!src || !dst || sk_fs_read(src, 1 << 24, &b, NULL) != SK_OK ||
            sk_fs_write_atomic(dst, b.data, b.len, NULL) != SK_OK)
            die("cannot copy the workbook");
        printf("workbook: 50 x 8 numbers, %zu bytes; %d runs each, "
               "alternating\n\n",
               b.len, n);
        sk_buf_release(&b);
        sk_free(src);
        sk_free(dst);
    }

    printf("%-28s %12s %12s %12s\n", "median wall time", "bare", "sandbox",
           "overhead");
    compare("python3 openpyxl edit+save", bare_dir, box_dir, edit_argv, bwrap,
            n);
    compare("/bin/true", bare_dir, box_dir, true_argv, bwrap, n);

    score_throughput(data, n);

    if (!keep)
        nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    else
        printf("\nkept %s\n", root);
    sk_free(bare_dir);
    sk_free(box_dir);
    return 0;
}
