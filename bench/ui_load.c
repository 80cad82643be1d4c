/*
 * ui_load.c - the dashboard server against a very long run.
 *
 * Writes a synthetic run directory in the trainer's layout: -s steps
 * (history.json rows shaped like the trainer's, events.jsonl with each
 * step's phase, progress, gate, spend and step_end lines, a step
 * directory per step) and -r rollout rows spread evenly over the steps'
 * rollout/results.jsonl.  The server runs in a child process (so its
 * memory is its own); the program times the requests the run page makes
 * and reads the child's peak RSS (VmHWM) after each phase.  See
 * bench/README.md.
 *
 *   build/bench_ui_load [-s 10000] [-r 100000] [--tmp DIR] [--keep]
 */
#include "common.h"

#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "train/rundir.h"
#include "ui/server.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static pid_t server_pid; /* the child serving, once forked */

static void die(const char *what)
{
    fprintf(stderr, "bench_ui_load: %s\n", what);
    if (server_pid > 0) {
        kill(server_pid, SIGTERM);
        waitpid(server_pid, NULL, 0);
    }
    exit(1);
}

/* ---- the synthetic run ----------------------------------------------------
 */

static const char *const actions[] = {"reject", "accept_new_best",
                                      "skip_no_patches", "accept"};

static json_t *history_row(long g, long spe)
{
    double hard = 0.2 + 0.7 * (double)g / (double)(g + 50);
    const char *action = actions[g % 4];
    json_t *row = json_pack(
        "{s:I, s:I, s:I, s:{s:f, s:f, s:f, s:f, s:f, s:f},"
        " s:{s:{s:i, s:i, s:i}, s:{s:i, s:i, s:i}, s:{s:i, s:i, s:i}},"
        " s:f, s:f, s:i, s:[{s:i, s:I, s:i, s:f, s:f, s:i, s:i}],"
        " s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:s, s:[i, i], s:s, s:i,"
        " s:{s:i, s:i, s:i, s:i}, s:f, s:f, s:s, s:f, s:s, s:f, s:f, s:I,"
        " s:s, s:s, s:i, s:f}",
        "step", (json_int_t)g, "epoch", (json_int_t)(1 + (g - 1) / spe),
        "step_in_epoch", (json_int_t)((g - 1) % spe), "timing", "rollout_s",
        12.5, "reflect_s", 8.25, "aggregate_s", 3.5, "select_s", 1.75,
        "update_s", 0.5, "evaluate_s", 20.125, "tokens", "rollout", "calls", 40,
        "prompt_tokens", 61234, "completion_tokens", 4012, "analyst", "calls",
        5, "prompt_tokens", 45123, "completion_tokens", 3321, "merge", "calls",
        1, "prompt_tokens", 9876, "completion_tokens", 1234, "rollout_hard",
        hard - 0.05, "rollout_soft", hard, "rollout_n", 40,
        "accumulation_batches", "batch_idx", 0, "batch_seed",
        (json_int_t)(1000 + g), "n_envs", 40, "hard", hard - 0.05, "soft", hard,
        "n_failure_patches", 4, "n_success_patches", 1, "n_patches", 5,
        "n_failure_patches", 4, "n_success_patches", 1, "n_parse_failures", 0,
        "n_edits_merged", 6, "n_edits_ranked", 3, "edit_budget", 3,
        "lr_control_mode", "fixed", "support_counts", 7, 3, "candidate_hash",
        "b86c5162afe52dc4", "candidate_skill_len", 4000, "edit_apply_summary",
        "total", 3, "applied", 2, "skipped", 1, "errors", 0, "selection_hard",
        hard, "selection_soft", hard + 0.03, "gate_metric", "hard",
        "candidate_gate_score", hard, "action", action, "current_score", hard,
        "best_score", hard, "best_step", (json_int_t)g, "current_origin",
        "step_0001", "best_origin", "step_0001", "skill_len", 4000,
        "wall_time_s", 46.625);
    if (!row)
        die("out of memory building a history row");
    return row;
}

/* "YYYY-MM-DDTHH:MM:SS" of t into buf. */
static const char *fmt_ts(double t, char *buf, size_t cap)
{
    time_t secs = (time_t)t;
    struct tm tm;

    gmtime_r(&secs, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    return buf;
}

static void write_text(const char *dir, const char *rel, const char *text)
{
    struct sk_error err;
    char *p = sk_fs_join(dir, rel);
    if (!p || sk_fs_write_atomic_nosync(p, text, strlen(text), &err) != SK_OK)
        die("cannot write a file");
    sk_free(p);
}

static void make_run(const char *run, long steps, long rollouts)
{
    struct sk_error err;
    json_t *hist = json_array();
    char rel[256], *path;
    FILE *ev;
    long g, spe = 100, per = rollouts / steps, extra = rollouts % steps, k;
    double t = 1795000000.0;

    if (sk_fs_mkdirs(run, &err) != SK_OK)
        die(err.msg);
    path = sk_fs_join(run, "events.jsonl");
    ev = path ? fopen(path, "w") : NULL;
    sk_free(path);
    if (!ev || !hist)
        die("cannot create events.jsonl");
#define TS(x) fmt_ts((x), ts, sizeof ts)
    {
        char ts[32];
        fprintf(ev,
                "{\"ts\": \"%s.000Z\", \"type\": \"run_start\", \"out_root\": "
                "\"%s\", \"resume_from\": 1, \"total_steps\": %ld, "
                "\"num_epochs\": %ld, \"steps_per_epoch\": %ld, \"benchmark\": "
                "\"searchqa\", \"target_model\": \"target-model\", "
                "\"optimizer_model\": \"optimizer-model\"}\n",
                TS(t), run, steps, steps / spe, spe);
        for (g = 1; g <= steps; g++) {
            static const char *const phases[] = {"rollout",   "reflect",
                                                 "aggregate", "select",
                                                 "update",    "evaluate"};
            size_t p;
            long n = per + (g <= extra ? 1 : 0);
            FILE *fp;
            for (p = 0; p < SK_ARRAY_LEN(phases); p++) {
                fprintf(ev,
                        "{\"ts\": \"%s.000Z\", \"type\": \"phase_start\", "
                        "\"phase\": \"%s\", \"step\": %ld, \"epoch\": %ld}\n",
                        TS(t), phases[p], g, 1 + (g - 1) / spe);
                if (p == 0)
                    fprintf(ev,
                            "{\"ts\": \"%s.000Z\", \"type\": "
                            "\"rollout_progress\", \"split\": \"train\", "
                            "\"step\": %ld, \"done\": %ld, \"total\": %ld}\n",
                            TS(t), g, n, n);
                t += 7.5;
                fprintf(ev,
                        "{\"ts\": \"%s.000Z\", \"type\": \"phase_end\", "
                        "\"phase\": \"%s\", \"step\": %ld, \"epoch\": %ld, "
                        "\"seconds\": 7.5, \"status\": \"ok\"}\n",
                        TS(t), phases[p], g, 1 + (g - 1) / spe);
            }
            fprintf(ev,
                    "{\"ts\": \"%s.000Z\", \"type\": \"gate\", \"step\": %ld, "
                    "\"epoch\": %ld, \"action\": \"%s\", "
                    "\"candidate_gate_score\": 0.5, \"previous_score\": 0.25, "
                    "\"current_score\": 0.5, \"best_score\": 0.5}\n",
                    TS(t), g, 1 + (g - 1) / spe, actions[g % 4]);
            fprintf(ev,
                    "{\"ts\": \"%s.000Z\", \"type\": \"spend\", \"calls\": "
                    "%ld, \"prompt_tokens\": %ld, \"completion_tokens\": %ld, "
                    "\"total_tokens\": %ld, \"cost_usd\": %.4f}\n",
                    TS(t), g * 46, g * 116233, g * 8567, g * 124800,
                    (double)g * 0.0412);
            fprintf(ev,
                    "{\"ts\": \"%s.000Z\", \"type\": \"step_end\", \"step\": "
                    "%ld, \"epoch\": %ld, \"action\": \"%s\", "
                    "\"current_score\": 0.5, \"best_score\": 0.5, \"accepts\": "
                    "%ld, \"rejects\": %ld, \"skips\": %ld}\n",
                    TS(t), g, 1 + (g - 1) / spe, actions[g % 4], g / 2, g / 4,
                    g / 4);
            json_array_append_new(hist, history_row(g, spe));

            snprintf(rel, sizeof rel, "steps/step_%04ld/rollout", g);
            path = sk_fs_join(run, rel);
            if (!path || sk_fs_mkdirs(path, &err) != SK_OK)
                die("cannot create a step directory");
            sk_free(path);
            snprintf(rel, sizeof rel, "steps/step_%04ld/rollout/results.jsonl",
                     g);
            path = sk_fs_join(run, rel);
            fp = path ? fopen(path, "w") : NULL;
            sk_free(path);
            if (!fp)
                die("cannot create results.jsonl");
            for (k = 0; k < n; k++)
                fprintf(fp,
                        "{\"id\": \"train-%05ld\", \"question\": \"How many "
                        "times does the letter 'o' occur in the word "
                        "'committee'?\", \"task_type\": \"counting\", "
                        "\"task_description\": \"How many times does the "
                        "letter 'o' occur in the word 'committee'?\", \"em\": "
                        "%d.0, \"f1\": %d.0, \"hard\": %d, \"soft\": %d.0, "
                        "\"predicted_answer\": \"1\", \"gold_answers\": "
                        "[\"1\"], \"response\": \"<answer>1</answer>\", "
                        "\"fail_reason\": \"\", \"agent_ok\": true, "
                        "\"n_turns\": 1}\n",
                        (g * 7 + k) % 100000, (int)(k % 2), (int)(k % 2),
                        (int)(k % 2), (int)(k % 2));
            fclose(fp);
        }
        fprintf(ev,
                "{\"ts\": \"%s.000Z\", \"type\": \"run_end\", \"status\": "
                "\"ok\", \"best_score\": 0.85, \"best_step\": %ld, "
                "\"message\": \"\"}\n",
                TS(t), steps);
    }
#undef TS
    fclose(ev);
    path = sk_fs_join(run, "history.json");
    if (!path || sk_json_write_file(path, hist, &err) != SK_OK)
        die("cannot write history.json");
    sk_free(path);
    json_decref(hist);
    write_text(run, "runtime_state.json",
               "{\n  \"last_completed_step\": 10000,\n  \"best_score\": "
               "0.85,\n  \"best_step\": 10000\n}");
    write_text(run, "config.json",
               "{\n  \"env\": \"searchqa\",\n  \"target_model\": "
               "\"target-model\",\n  \"optimizer_model\": "
               "\"optimizer-model\"\n}");
    write_text(run, "summary.json",
               "{\n  \"baseline_selection_hard\": 0.2,\n  "
               "\"best_selection_hard\": 0.85,\n  \"test_hard\": 0.8\n}");
}

/* ---- the server in a child ------------------------------------------------
 */

struct server {
    pid_t pid;
    int go;   /* write end: the runs directory's path, then close */
    int back; /* read end: the port */
};

/*
 * Forks the server's process before anything big is allocated here, so
 * that its memory figures are its own; it starts serving once it is sent
 * the runs directory (start_serving).
 */
static void fork_server(struct server *sv)
{
    int go[2], back[2];

    if (pipe(go) != 0 || pipe(back) != 0)
        die("pipe");
    sv->pid = fork();
    if (sv->pid < 0)
        die("fork");
    if (sv->pid == 0) {
        struct sk_ui_opts o;
        struct sk_ui *ui = NULL;
        struct sk_error err;
        char runs[4096];
        ssize_t n;
        sigset_t set;
        int sig, p = -1;
        close(go[1]);
        close(back[0]);
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigprocmask(SIG_BLOCK, &set, NULL);
        n = read(go[0], runs, sizeof runs - 1);
        if (n <= 0)
            _exit(1);
        runs[n] = '\0';
        memset(&o, 0, sizeof o);
        o.runs_dir = runs;
        if (sk_ui_start(&o, &ui, &err) == SK_OK)
            p = sk_ui_port(ui);
        else
            fprintf(stderr, "%s\n", err.msg);
        if (write(back[1], &p, sizeof p) != (ssize_t)sizeof p || p < 0)
            _exit(1);
        sigwait(&set, &sig);
        sk_ui_stop(ui);
        _exit(0);
    }
    close(go[0]);
    close(back[1]);
    sv->go = go[1];
    sv->back = back[0];
}

static int start_serving(struct server *sv, const char *runs)
{
    int port = -1;

    if (write(sv->go, runs, strlen(runs)) != (ssize_t)strlen(runs))
        die("cannot reach the server process");
    close(sv->go);
    if (read(sv->back, &port, sizeof port) != (ssize_t)sizeof port || port < 0)
        die("the server did not start");
    close(sv->back);
    return port;
}

/* A field of /proc/PID/status in kB, or -1. */
static long proc_kb(pid_t pid, const char *field)
{
    char path[64], line[256];
    long v = -1;
    FILE *fp;

    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    fp = fopen(path, "r");
    if (!fp)
        return -1;
    while (fgets(line, sizeof line, fp))
        if (strncmp(line, field, strlen(field)) == 0)
            v = strtol(line + strlen(field) + 1, NULL, 10);
    fclose(fp);
    return v;
}

/* ---- the client -----------------------------------------------------------
 */

struct sink {
    size_t bytes;
    const char *stop_at; /* end the transfer once this was seen */
    char tail[64];       /* the last bytes, to find stop_at across writes */
    size_t tail_len;
    int seen;
};

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    struct sink *s = ud;
    size_t len = size * n, k, m;
    char edge[128];

    s->bytes += len;
    if (!s->stop_at)
        return len;
    /* stop_at inside this piece, or across the previous one and it */
    k = len < 60 ? len : 60;
    memcpy(edge, s->tail, s->tail_len);
    memcpy(edge + s->tail_len, p, k);
    if (memmem(p, len, s->stop_at, strlen(s->stop_at)) ||
        memmem(edge, s->tail_len + k, s->stop_at, strlen(s->stop_at))) {
        s->seen = 1;
        return 0; /* done: abort the endless stream */
    }
    m = len < 60 ? len : 60;
    if (s->tail_len + m > 60) {
        size_t drop = s->tail_len + m - 60;
        memmove(s->tail, s->tail + drop, s->tail_len - drop);
        s->tail_len -= drop;
    }
    memcpy(s->tail + s->tail_len, p + len - m, m);
    s->tail_len += m;
    return len;
}

/* GETs target; seconds taken, bytes in *bytes. */
static double timed_get(int port, const char *target, size_t *bytes,
                        const char *stop_at)
{
    char url[512];
    struct sink s;
    long status = 0;
    double t0;
    CURL *h = curl_easy_init();
    CURLcode rc;

    memset(&s, 0, sizeof s);
    s.stop_at = stop_at;
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, target);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    t0 = now_s();
    rc = curl_easy_perform(h);
    t0 = now_s() - t0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    if (stop_at ? !s.seen : (rc != CURLE_OK || status != 200)) {
        fprintf(stderr, "%s: %s, status %ld\n", target, curl_easy_strerror(rc),
                status);
        die("request failed");
    }
    if (bytes)
        *bytes = s.bytes;
    return t0;
}

static int by_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

int main(int argc, char **argv)
{
    long steps = 10000, rollouts = 100000;
    const char *tmpdir = "/tmp";
    int keep = 0, port, i;
    char root[4096], runs[4200], run[4300], target[128], stop[64];
    double t, times[5];
    size_t bytes = 0;
    struct server sv;
    pid_t pid;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
            steps = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc)
            rollouts = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--tmp") == 0 && i + 1 < argc)
            tmpdir = argv[++i];
        else if (strcmp(argv[i], "--keep") == 0)
            keep = 1;
        else {
            fprintf(stderr, "usage: bench_ui_load [-s STEPS] [-r ROLLOUTS] "
                            "[--tmp DIR] [--keep]\n");
            return 2;
        }
    }
    if (steps < 1 || steps > 9999 * 10 || rollouts < 0)
        die("bad -s or -r");
    fork_server(&sv);
    pid = server_pid = sv.pid;
    snprintf(root, sizeof root, "%s/bench_ui_XXXXXX", tmpdir);
    if (!mkdtemp(root))
        die("mkdtemp");
    snprintf(runs, sizeof runs, "%s/runs", root);
    snprintf(run, sizeof run, "%s/synth", runs);
    t = now_s();
    make_run(run, steps, rollouts);
    printf("synthetic run: %ld steps, %ld rollout rows, written in %.1f s "
           "(%s)\n",
           steps, rollouts, now_s() - t, run);
    {
        struct stat st;
        char p[4400];
        snprintf(p, sizeof p, "%s/history.json", run);
        if (stat(p, &st) == 0)
            printf("  history.json %.1f MB", (double)st.st_size / 1e6);
        snprintf(p, sizeof p, "%s/events.jsonl", run);
        if (stat(p, &st) == 0)
            printf(", events.jsonl %.1f MB\n", (double)st.st_size / 1e6);
    }

    curl_global_init(CURL_GLOBAL_DEFAULT);
    port = start_serving(&sv, runs);
    printf("server pid %ld: RSS after start %ld kB\n\n", (long)pid,
           proc_kb(pid, "VmRSS:"));
    printf("%-44s %10s %12s %12s\n", "request", "time", "bytes", "server HWM");

    t = timed_get(port, "/api/runs", &bytes, NULL);
    printf("%-44s %8.1f ms %12zu %9ld kB\n", "GET /api/runs", t * 1e3, bytes,
           proc_kb(pid, "VmHWM:"));
    for (i = 0; i < 5; i++)
        times[i] = timed_get(port, "/api/run?run=synth", &bytes, NULL);
    printf("%-44s %8.1f ms %12zu %9ld kB\n", "GET /api/run (first)",
           times[0] * 1e3, bytes, proc_kb(pid, "VmHWM:"));
    qsort(times, 5, sizeof times[0], by_double);
    printf("%-44s %8.1f ms\n", "GET /api/run (median of 5)", times[2] * 1e3);
    t = timed_get(port, "/api/ls?run=synth&path=steps", &bytes, NULL);
    printf("%-44s %8.1f ms %12zu %9ld kB\n", "GET /api/ls steps/", t * 1e3,
           bytes, proc_kb(pid, "VmHWM:"));
    snprintf(target, sizeof target,
             "/api/file?run=synth&path=steps/step_%04ld/rollout/results.jsonl",
             steps / 2);
    t = timed_get(port, target, &bytes, NULL);
    printf("%-44s %8.1f ms %12zu %9ld kB\n", "GET /api/file one results.jsonl",
           t * 1e3, bytes, proc_kb(pid, "VmHWM:"));
    /* the whole log replayed as events, to the run_end line */
    snprintf(stop, sizeof stop, "event: run_end");
    t = timed_get(port, "/api/events?run=synth", &bytes, stop);
    printf("%-44s %8.1f ms %12zu %9ld kB\n",
           "GET /api/events from 0 to run_end", t * 1e3, bytes,
           proc_kb(pid, "VmHWM:"));
    {
        /* four run pages opened at once */
        pid_t kids[4];
        int k, st;
        double t0 = now_s();
        for (k = 0; k < 4; k++) {
            kids[k] = fork();
            if (kids[k] == 0) {
                timed_get(port, "/api/run?run=synth", NULL, NULL);
                _exit(0);
            }
        }
        for (k = 0; k < 4; k++)
            waitpid(kids[k], &st, 0);
        printf("%-44s %8.1f ms %12s %9ld kB\n", "4 x GET /api/run at once",
               (now_s() - t0) * 1e3, "", proc_kb(pid, "VmHWM:"));
    }
    printf("\nserver peak RSS (VmHWM): %ld kB\n", proc_kb(pid, "VmHWM:"));
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    curl_global_cleanup();
    if (!keep)
        nftw(root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    else
        printf("kept %s\n", root);
    return 0;
}
