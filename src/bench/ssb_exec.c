/*
 * ssb_exec.c - model-written Python run in the sandbox on one workbook
 * (see ssb_exec.h).
 */
#include "common.h"

#include "bench/ssb_exec.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/score.h"
#include "config/config.h"
#include "sandbox/sandbox.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/utf8.h"

#define RUNNER ".skillopt_runner.py"
#define SOLUTION "solution.py"
#define INPUT "input.xlsx"
#define OUTPUT "output.xlsx"
#define MAX_SCRIPT (4u << 20)
#define MAX_NAME_DEPTH 4

void ssb_exec_opts_from_config(struct ssb_exec_opts *o,
                               const struct sk_config *cfg)
{
    memset(o, 0, sizeof *o);
    o->python = "/usr/bin/python3";
    o->timeout_s = 120;
    if (!cfg)
        return;
    if (*cfg->python)
        o->python = cfg->python;
    o->timeout_s = (double)cfg->code_timeout;
    o->cpu_s = cfg->is_null[SK_OPT_sandbox_cpu_seconds]
                   ? (long)cfg->code_timeout
                   : (long)cfg->sandbox_cpu_seconds;
    o->mem_mb = (long)cfg->sandbox_memory_mb;
    o->fsize_mb = (long)cfg->sandbox_file_mb;
    o->nproc = (long)cfg->sandbox_processes;
    o->unsafe = cfg->unsafe_no_sandbox;
    o->bwrap = *cfg->sandbox_bwrap ? cfg->sandbox_bwrap : NULL;
}

void ssb_exec_result_init(struct ssb_exec_result *r)
{
    memset(r, 0, sizeof *r);
}

void ssb_exec_result_release(struct ssb_exec_result *r)
{
    sk_free(r->how);
    sk_free(r->output);
    ssb_exec_result_init(r);
}

/* Is line (len bytes, no newline) an assignment to INPUT_PATH/OUTPUT_PATH?
 * *indent gets its leading whitespace. */
static int path_assignment(const char *line, size_t len, size_t *indent)
{
    static const char *const names[] = {"INPUT_PATH", "OUTPUT_PATH"};
    size_t i = 0, k;

    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    *indent = i;
    for (k = 0; k < 2; k++) {
        size_t n = strlen(names[k]), j = i + n;
        if (len - i < n || memcmp(line + i, names[k], n) != 0)
            continue;
        while (j < len && (line[j] == ' ' || line[j] == '\t'))
            j++;
        /* "=" with something after it, not "==" */
        if (j < len && line[j] == '=' && (j + 1 >= len || line[j + 1] != '='))
            return j + 1 < len;
    }
    return 0;
}

int ssb_neuter_paths(const char *code, struct sk_buf *out)
{
    const char *p = code;
    int rc = SK_OK;

    while (rc == SK_OK && *p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p), ind;
        if (path_assignment(p, len, &ind)) {
            rc = sk_buf_append(out, p, ind);
            if (rc == SK_OK)
                rc = sk_buf_puts(out, "pass  # set by the harness");
        } else {
            rc = sk_buf_append(out, p, len);
        }
        if (rc == SK_OK && nl)
            rc = sk_buf_putc(out, '\n');
        p = nl ? nl + 1 : p + len;
    }
    return rc;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

/* New string of s[0..n) with surrounding whitespace removed. */
static char *trimmed(const char *s, size_t n)
{
    while (n && is_space(*s))
        s++, n--;
    while (n && is_space(s[n - 1]))
        n--;
    return sk_strndup(s, n);
}

int ssb_extract_code(const char *reply, char **code)
{
    const char *start = strstr(reply, "```"), *nl, *end;

    *code = NULL;
    if (start && (nl = strchr(start, '\n')) && (end = strstr(nl + 1, "```")))
        *code = trimmed(nl + 1, (size_t)(end - nl - 1));
    else
        *code = trimmed(reply, strlen(reply));
    return *code ? SK_OK : SK_ENOMEM;
}

/* ---- work directories -------------------------------------------------- */

int ssb_workdir_open(struct ssb_workdir *w, const char *input,
                     struct sk_error *err)
{
    const char *tmp = getenv("TMPDIR");
    struct sk_buf b;
    char *dst = NULL;
    int rc;

    w->path = NULL;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    rc = sk_buf_printf(&b, "%s/skillopt-ssb-XXXXXX",
                       tmp && *tmp == '/' ? tmp : "/tmp");
    if (rc != SK_OK) {
        sk_buf_release(&b);
        return sk_error_set(err, rc, "out of memory");
    }
    w->path = sk_buf_detach(&b, NULL);
    if (!w->path)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    if (!mkdtemp(w->path)) {
        rc = sk_error_set(err, SK_EIO, "%s: cannot make a work directory: %s",
                          w->path, strerror(errno));
        sk_free(w->path);
        w->path = NULL;
        return rc;
    }
    dst = sk_fs_join(w->path, INPUT);
    rc = dst ? sk_fs_copy(input, dst, SSB_MAX_WORKBOOK, err)
             : sk_error_set(err, SK_ENOMEM, "out of memory");
    sk_free(dst);
    if (rc == SK_ENOTFOUND || rc == SK_ETOOBIG ||
        (rc == SK_EIO && !sk_fs_exists(input)))
        rc = SK_EDATA; /* the task's own input: the item fails */
    if (rc != SK_OK)
        ssb_workdir_close(w);
    return rc;
}

void ssb_workdir_close(struct ssb_workdir *w)
{
    struct sk_error e;
    if (w->path && sk_fs_rmtree(w->path, &e) != SK_OK)
        sk_warn("%s", e.msg);
    sk_free(w->path);
    w->path = NULL;
}

/* A name the model may write: relative, no "..", few levels, no NUL. */
static int name_ok(const char *name, struct sk_error *err)
{
    const char *p = name;
    int depth = 1;

    if (!*name || *name == '/')
        return sk_error_set(err, SK_EINVAL,
                            "the path must be relative to the work directory");
    for (; *p; p++)
        if (*p == '/')
            depth++;
    if (depth > MAX_NAME_DEPTH || strlen(name) > 200)
        return sk_error_set(err, SK_EINVAL, "the path is too long or deep");
    for (p = name; p;) {
        const char *s = strchr(p, '/');
        size_t n = s ? (size_t)(s - p) : strlen(p);
        if (n == 0 || (n == 2 && p[0] == '.' && p[1] == '.') ||
            (n == 1 && p[0] == '.'))
            return sk_error_set(err, SK_EINVAL,
                                "'.', '..' and empty path parts are refused");
        p = s ? s + 1 : NULL;
    }
    if (strcmp(name, RUNNER) == 0 || strcmp(name, INPUT) == 0)
        return sk_error_set(err, SK_EINVAL, "%s belongs to the harness", name);
    return SK_OK;
}

int ssb_workdir_write(struct ssb_workdir *w, const char *name, const char *text,
                      size_t len, struct sk_error *err)
{
    char *p, *dir;
    int rc = name_ok(name, err);

    if (rc != SK_OK)
        return rc;
    if (len > MAX_SCRIPT)
        return sk_error_set(err, SK_EINVAL, "the file is larger than %u bytes",
                            MAX_SCRIPT);
    p = sk_fs_join(w->path, name);
    dir = p ? sk_fs_dirname(p) : NULL;
    if (!p || !dir) {
        sk_free(p);
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    }
    /* a path through a link the code planted is refused by O_NOFOLLOW in
     * the final part only; earlier parts are directories we make here */
    rc = sk_fs_mkdirs(dir, err);
    if (rc == SK_OK) {
        unlink(p); /* never write through a planted symlink */
        rc = sk_fs_write_atomic_nosync(p, text, len, err);
    }
    sk_free(dir);
    sk_free(p);
    return rc;
}

/* Writes a harness file (no name check). */
static int put_file(struct ssb_workdir *w, const char *name, const char *data,
                    size_t len, struct sk_error *err)
{
    char *p = sk_fs_join(w->path, name);
    int rc;
    if (!p)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    unlink(p);
    rc = sk_fs_write_atomic_nosync(p, data, len, err);
    sk_free(p);
    return rc;
}

/* The runner: defines the paths and runs the script as __main__. */
static int write_runner(struct ssb_workdir *w, const char *script,
                        struct sk_error *err)
{
    struct sk_buf b;
    char *in = sk_fs_join(w->path, INPUT), *out = sk_fs_join(w->path, OUTPUT);
    int rc = in && out ? SK_OK : SK_ENOMEM;

    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (rc == SK_OK)
        rc = sk_buf_puts(&b, "import os, runpy, sys, traceback\n"
                             "INPUT_PATH = ");
    if (rc == SK_OK)
        rc = sk_score_py_repr(in, strlen(in), &b);
    if (rc == SK_OK)
        rc = sk_buf_puts(&b, "\nOUTPUT_PATH = ");
    if (rc == SK_OK)
        rc = sk_score_py_repr(out, strlen(out), &b);
    if (rc == SK_OK)
        rc = sk_buf_puts(&b, "\nSCRIPT = ");
    if (rc == SK_OK)
        rc = sk_score_py_repr(script, strlen(script), &b);
    if (rc == SK_OK)
        rc = sk_buf_puts(
            &b, "\ntry:\n"
                "    runpy.run_path(SCRIPT, init_globals={'INPUT_PATH': "
                "INPUT_PATH, 'OUTPUT_PATH': OUTPUT_PATH}, "
                "run_name='__main__')\n"
                "except SystemExit:\n"
                "    raise\n"
                "except BaseException as e:\n"
                "    # show the script's own frames, not the harness's\n"
                "    tb, me = e.__traceback__, os.path.abspath(SCRIPT)\n"
                "    while tb is not None and os.path.abspath(\n"
                "            tb.tb_frame.f_code.co_filename) != me:\n"
                "        tb = tb.tb_next\n"
                "    traceback.print_exception(type(e), e, tb)\n"
                "    sys.exit(2)\n");
    sk_free(in);
    sk_free(out);
    if (rc != SK_OK) {
        sk_buf_release(&b);
        return sk_error_set(err, rc, "out of memory");
    }
    rc = put_file(w, RUNNER, b.data, b.len, err);
    sk_buf_release(&b);
    return rc;
}

/* Appends the last max bytes of text as valid UTF-8 (bad bytes become
 * U+FFFD, a cut character is dropped). */
static int tail_utf8(struct sk_buf *out, const char *text, size_t len,
                     size_t max)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = len > max ? len - max : 0;
    int rc = SK_OK;

    if (i) {
        rc = sk_buf_puts(out, "...\n");
        while (i < len && (s[i] & 0xC0) == 0x80)
            i++; /* into the middle of a character: skip to the next */
    }
    while (rc == SK_OK && i < len) {
        uint32_t cp;
        size_t n = sk_utf8_decode(s + i, len - i, &cp);
        if (n == 0 || cp == 0) {
            rc = sk_buf_puts(out, "\xEF\xBF\xBD");
            i++;
        } else {
            rc = sk_buf_append(out, text + i, n);
            i += n;
        }
    }
    return rc;
}

/* Appends text with every "<dir>/" removed and other mentions of dir
 * written ".". */
static int strip_dir(struct sk_buf *out, const char *text, const char *dir)
{
    size_t n = strlen(dir);
    const char *p = text, *hit;
    int rc = SK_OK;

    while (rc == SK_OK && (hit = strstr(p, dir)) != NULL) {
        rc = sk_buf_append(out, p, (size_t)(hit - p));
        p = hit + n;
        if (rc == SK_OK && *p == '/')
            p++;
        else if (rc == SK_OK)
            rc = sk_buf_putc(out, '.');
    }
    return rc == SK_OK ? sk_buf_puts(out, p) : rc;
}

/* How a run that did not succeed ended, in words. */
static int describe(const struct sk_sandbox_result *sr,
                    const struct ssb_exec_opts *o, int saved,
                    struct sk_buf *how)
{
    if (sr->timed_out)
        return sk_buf_printf(how,
                             "it was stopped after %.0f s (the time "
                             "limit)",
                             o->timeout_s);
    if (sr->cpu_limited)
        return sk_buf_printf(how,
                             "it used more than %ld s of CPU time (the "
                             "limit)",
                             o->cpu_s);
    if (!sr->exited)
        return sk_buf_printf(how, "it was killed by signal %d%s",
                             sr->term_signal,
                             sr->term_signal == 9 || sr->term_signal == 6
                                 ? " (often the memory limit)"
                                 : "");
    if (sr->exit_code != 0)
        return sk_buf_printf(how, "it exited with status %d", sr->exit_code);
    if (!saved)
        return sk_buf_puts(how, "it finished but saved no workbook at "
                                "OUTPUT_PATH");
    return SK_OK;
}

/* Python's hash seed fixed: set and dict-of-str orders, and so the
 * script's output, repeat from run to run. */
static const char *const fixed_env[] = {"PYTHONHASHSEED=0", NULL};

/* Runs script in w's directory; on success output.xlsx is there. */
static int run_in(struct ssb_workdir *w, const struct ssb_exec_opts *o,
                  const char *script, struct ssb_exec_result *r,
                  struct sk_error *err)
{
    struct sk_sandbox_opts so;
    struct sk_sandbox_result sr;
    struct sk_buf how, text;
    char *out = sk_fs_join(w->path, OUTPUT);
    const char *argv[3];
    int rc, saved;

    ssb_exec_result_init(r);
    sk_sandbox_result_init(&sr);
    sk_buf_init(&how, SK_BUF_UNLIMITED);
    sk_buf_init(&text, SK_BUF_UNLIMITED);
    if (!out)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    unlink(out); /* a previous run's workbook never counts for this one */
    rc = write_runner(w, script, err);
    if (rc != SK_OK)
        goto out;
    argv[0] = o->python;
    argv[1] = RUNNER;
    argv[2] = NULL;
    memset(&so, 0, sizeof so);
    so.workdir = w->path;
    so.argv = argv;
    so.timeout_s = o->timeout_s;
    so.cpu_s = o->cpu_s;
    so.mem_mb = o->mem_mb;
    so.fsize_mb = o->fsize_mb;
    so.nproc = o->nproc;
    so.output_cap = 1u << 20; /* the end is what feedback shows */
    so.unsafe = o->unsafe;
    so.bwrap = o->bwrap;
    so.env = fixed_env; /* the same output for the same script */
    rc = sk_sandbox_run(&so, &sr, err);
    if (rc == SK_ENOTFOUND || rc == SK_EIO || rc == SK_EINVAL) {
        /* no sandbox: the item cannot run (preflight normally says so
         * before the run starts) */
        rc = SK_EDATA;
        goto out;
    }
    if (rc != SK_OK)
        goto out;
    saved = sk_fs_exists(out);
    r->ok = sr.exited && sr.exit_code == 0 && saved;
    r->wall_s = sr.wall_s;
    rc = describe(&sr, o, saved, &how);
    if (rc == SK_OK)
        rc = sk_buf_append(&text, sr.out, sr.out_len);
    if (rc == SK_OK && sr.out_len && sr.err_len &&
        sr.out[sr.out_len - 1] != '\n')
        rc = sk_buf_putc(&text, '\n');
    if (rc == SK_OK)
        rc = sk_buf_append(&text, sr.errout, sr.err_len);
    if (rc == SK_OK) {
        struct sk_buf t, rel;
        sk_buf_init(&t, SK_BUF_UNLIMITED);
        sk_buf_init(&rel, SK_BUF_UNLIMITED);
        /* the random work directory out of the text, so the next request
         * is the same on a rerun and comes from the response cache */
        rc = strip_dir(&rel, text.data ? text.data : "", w->path);
        if (rc == SK_OK)
            rc = tail_utf8(&t, rel.data ? rel.data : "", rel.len,
                           SSB_FEEDBACK_OUTPUT);
        sk_buf_release(&rel);
        r->output = rc == SK_OK ? sk_buf_detach(&t, NULL) : NULL;
        sk_buf_release(&t);
        if (rc == SK_OK && !r->output)
            rc = SK_ENOMEM;
    }
    if (rc == SK_OK && !r->ok && !(r->how = sk_buf_detach(&how, NULL)))
        rc = SK_ENOMEM;
    if (rc != SK_OK)
        sk_error_set(err, rc, "out of memory");
out:
    if (rc != SK_OK)
        ssb_exec_result_release(r);
    sk_sandbox_result_release(&sr);
    sk_buf_release(&how);
    sk_buf_release(&text);
    sk_free(out);
    return rc;
}

int ssb_workdir_run(struct ssb_workdir *w, const struct ssb_exec_opts *o,
                    const char *script, struct ssb_exec_result *r,
                    struct sk_error *err)
{
    int rc = name_ok(script, err);
    if (rc != SK_OK) {
        ssb_exec_result_init(r);
        return rc;
    }
    return run_in(w, o, script, r, err);
}

int ssb_exec_run(const struct ssb_exec_opts *o, const char *code,
                 const char *input, const char *pred, struct ssb_exec_result *r,
                 struct sk_error *err)
{
    struct ssb_workdir w;
    struct sk_buf b;
    char *out = NULL;
    int rc;

    ssb_exec_result_init(r);
    if (unlink(pred) != 0 && errno != ENOENT)
        return sk_error_set(err, SK_EIO, "%s: cannot remove: %s", pred,
                            strerror(errno));
    rc = ssb_workdir_open(&w, input, err);
    if (rc != SK_OK)
        return rc;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    rc = ssb_neuter_paths(code, &b);
    if (rc == SK_OK)
        rc = put_file(&w, SOLUTION, b.data ? b.data : "", b.len, err);
    else
        sk_error_set(err, rc, "out of memory");
    if (rc == SK_OK)
        rc = run_in(&w, o, SOLUTION, r, err);
    if (rc == SK_OK && r->ok) {
        out = sk_fs_join(w.path, OUTPUT);
        rc = out ? sk_fs_copy(out, pred, SSB_MAX_WORKBOOK, err)
                 : sk_error_set(err, SK_ENOMEM, "out of memory");
        if (rc == SK_ETOOBIG || rc == SK_EIO) {
            /* the script's doing (a huge file, a link): its failure */
            struct sk_buf how;
            sk_buf_init(&how, SK_BUF_UNLIMITED);
            r->ok = 0;
            rc = sk_buf_printf(&how, "the saved workbook was refused: %s",
                               err->msg);
            sk_free(r->how);
            r->how = rc == SK_OK ? sk_buf_detach(&how, NULL) : NULL;
            sk_buf_release(&how);
            rc = r->how ? SK_OK : sk_error_set(err, SK_ENOMEM, "out of memory");
        }
    }
    sk_free(out);
    sk_buf_release(&b);
    ssb_workdir_close(&w);
    return rc;
}
