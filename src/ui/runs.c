/*
 * runs.c - which runs the dashboard serves and what state each is in:
 * discovery under the runs directory, the status rules, /api/runs and
 * /api/run.
 *
 * A run is a directory holding events.jsonl, history.json or
 * runtime_state.json, at most three levels down; a run's own directory is
 * not searched further and symlinked directories are not followed.  The
 * summary of a run reads only bounded pieces of its files (the first and
 * last part of events.jsonl, the small JSON files), so the list stays
 * cheap for long runs.
 */
#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>

#include "train/rundir.h"
#include "ui/ui_int.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/jsonparse.h"
#include "util/utf8.h"

#define UI_EVENTS_HEAD ((size_t)128 << 10) /* start of events.jsonl read */
#define UI_EVENTS_TAIL ((size_t)256 << 10) /* end of events.jsonl read */
#define UI_SMALL_JSON ((size_t)16 << 20)   /* summary, state, config */

void ui_run_release(struct ui_run *r)
{
    sk_free(r->id);
    sk_free(r->dir);
    r->id = r->dir = NULL;
}

/* ---- discovery ---------------------------------------------------------- */

struct scan {
    struct ui_run *runs;
    size_t n, cap;
    size_t visited;
    int oom;
};

static char *join(const char *a, const char *b)
{
    struct sk_buf p;
    char *s = NULL;

    sk_buf_init(&p, SK_BUF_UNLIMITED);
    if (sk_buf_printf(&p, "%s/%s", a, b) == SK_OK)
        s = sk_buf_detach(&p, NULL);
    sk_buf_release(&p);
    return s;
}

static int has_file(const char *dir, const char *name)
{
    char *p = join(dir, name);
    struct stat st;
    int ok = p && stat(p, &st) == 0 && S_ISREG(st.st_mode);

    sk_free(p);
    return ok;
}

static int is_run(const char *dir)
{
    return has_file(dir, SK_RUNDIR_EVENTS) ||
           has_file(dir, SK_RUNDIR_HISTORY) ||
           has_file(dir, SK_RUNDIR_RUNTIME_STATE);
}

/* A directory name that can be part of an id: visible, printable UTF-8. */
static int plain_name(const char *name)
{
    const unsigned char *p;

    if (name[0] == '.')
        return 0;
    for (p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '\\')
            return 0;
    return sk_utf8_valid(name, strlen(name), NULL);
}

static void add_run(struct scan *s, const char *id, const char *dir)
{
    struct ui_run r;

    if (s->n >= UI_MAX_RUNS)
        return;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        struct ui_run *n = sk_realloc(s->runs, cap * sizeof *n);
        if (!n) {
            s->oom = 1;
            return;
        }
        s->runs = n;
        s->cap = cap;
    }
    r.id = sk_strdup(id);
    r.dir = sk_strdup(dir);
    if (!r.id || !r.dir) {
        ui_run_release(&r);
        s->oom = 1;
        return;
    }
    s->runs[s->n++] = r;
}

static void scan_dir(struct scan *s, const char *dir, const char *rel,
                     int depth)
{
    DIR *d;
    struct dirent *de;

    if (++s->visited > UI_MAX_SCAN_DIRS)
        return;
    d = opendir(dir);
    if (!d)
        return;
    while (!s->oom && (de = readdir(d)) != NULL) {
        struct stat st;
        char *child, *crel;
        if (!plain_name(de->d_name))
            continue;
        child = join(dir, de->d_name);
        crel = rel ? join(rel, de->d_name) : sk_strdup(de->d_name);
        if (!child || !crel) {
            s->oom = 1;
        } else if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode)) {
            if (is_run(child))
                add_run(s, crel, child);
            else if (depth < UI_SCAN_DEPTH)
                scan_dir(s, child, crel, depth + 1);
        }
        sk_free(child);
        sk_free(crel);
    }
    closedir(d);
}

static int by_id(const void *a, const void *b)
{
    return strcmp(((const struct ui_run *)a)->id,
                  ((const struct ui_run *)b)->id);
}

int ui_runs_rescan(struct sk_ui *ui)
{
    struct scan s;
    size_t i;

    memset(&s, 0, sizeof s);
    if (ui->single_id) {
        add_run(&s, ui->single_id, ui->root);
    } else if (is_run(ui->root)) {
        /* pointed at one run: serve it under its own name */
        const char *slash = strrchr(ui->root, '/');
        add_run(&s, slash && slash[1] ? slash + 1 : "run", ui->root);
    } else {
        scan_dir(&s, ui->root, NULL, 1);
    }
    if (s.oom) {
        for (i = 0; i < s.n; i++)
            ui_run_release(&s.runs[i]);
        sk_free(s.runs);
        return SK_ENOMEM;
    }
    if (s.n)
        qsort(s.runs, s.n, sizeof *s.runs, by_id);
    pthread_mutex_lock(&ui->mu);
    for (i = 0; i < ui->n_runs; i++)
        ui_run_release(&ui->runs[i]);
    sk_free(ui->runs);
    ui->runs = s.runs;
    ui->n_runs = s.n;
    pthread_mutex_unlock(&ui->mu);
    return SK_OK;
}

/* Copies the run called id out of the cache; SK_ENOTFOUND if absent. */
static int find_cached(struct sk_ui *ui, const char *id, struct ui_run *out)
{
    int rc = SK_ENOTFOUND;
    size_t i;

    pthread_mutex_lock(&ui->mu);
    for (i = 0; i < ui->n_runs; i++) {
        if (strcmp(ui->runs[i].id, id) != 0)
            continue;
        out->id = sk_strdup(ui->runs[i].id);
        out->dir = sk_strdup(ui->runs[i].dir);
        rc = out->id && out->dir ? SK_OK : SK_ENOMEM;
        if (rc != SK_OK)
            ui_run_release(out);
        break;
    }
    pthread_mutex_unlock(&ui->mu);
    return rc;
}

int ui_run_find(struct sk_ui *ui, const char *id, struct ui_run *out)
{
    int rc;

    memset(out, 0, sizeof *out);
    rc = find_cached(ui, id, out);
    if (rc != SK_ENOTFOUND)
        return rc;
    rc = ui_runs_rescan(ui);
    return rc == SK_OK ? find_cached(ui, id, out) : rc;
}

/* ---- reading a run ------------------------------------------------------ */

/* Parses dir/name (at most max bytes) into *out.  SK_OK, SK_ENOTFOUND,
 * SK_EPARSE, SK_ETOOBIG, SK_EIO or SK_ENOMEM. */
static int load_json(const char *dir, const char *name, size_t max,
                     json_t **out)
{
    struct sk_buf b;
    json_error_t jerr;
    char *path = join(dir, name);
    int rc;

    *out = NULL;
    if (!path)
        return SK_ENOMEM;
    sk_buf_init(&b, max);
    rc = sk_fs_read(path, max, &b, NULL);
    sk_free(path);
    if (rc == SK_OK) {
        *out = sk_json_loadb(sk_buf_cstr(&b), b.len, 0, &jerr);
        if (!*out)
            rc = sk_json_oom(&jerr) ? SK_ENOMEM : SK_EPARSE;
    }
    sk_buf_release(&b);
    return rc;
}

/* Seconds since the epoch of an events.jsonl "ts"; NAN if malformed. */
static double parse_ts(const char *ts)
{
    struct tm tm;
    int y, mo, d, h, mi, n = 0;
    double s;

    if (!ts ||
        sscanf(ts, "%4d-%2d-%2dT%2d:%2d:%lf%n", &y, &mo, &d, &h, &mi, &s, &n) !=
            6 ||
        (ts[n] != 'Z' && ts[n] != '\0'))
        return NAN;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    return (double)timegm(&tm) + s;
}

/* What the dashboard needs from events.jsonl. */
struct ev_info {
    json_t *first_start; /* the first run_start */
    json_t *marker;      /* the last run_start or run_end */
    json_t *last_spend;
    json_t *last;    /* the last event */
    double baseline; /* the gate score of S_0, NAN if not seen */
    double t0, t1;   /* first run_start's and last event's ts, or NAN */
};

static void ev_info_release(struct ev_info *e)
{
    json_decref(e->first_start);
    json_decref(e->marker);
    json_decref(e->last_spend);
    json_decref(e->last);
}

static const char *ev_type(const json_t *ev)
{
    const char *t = json_string_value(json_object_get(ev, "type"));
    return t ? t : "";
}

/* Parses one line of text (no newline); NULL if it is not an object. */
static json_t *parse_line(const char *p, size_t n)
{
    json_error_t jerr;
    json_t *v = sk_json_loadb(p, n, 0, &jerr);

    if (v && !json_is_object(v)) {
        json_decref(v);
        v = NULL;
    }
    return v;
}

/* Forward over the start of the log: the first run_start and baseline. */
static void scan_head(const char *p, size_t len, struct ev_info *e)
{
    const char *end = p + len;
    int have_base = 0;

    while (p < end && !(e->first_start && have_base)) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        json_t *ev;
        const char *t;
        if (!nl)
            break; /* a partial last line */
        ev = parse_line(p, (size_t)(nl - p));
        p = nl + 1;
        if (!ev)
            continue;
        t = ev_type(ev);
        if (!e->first_start && strcmp(t, "run_start") == 0) {
            e->first_start = json_incref(ev);
            e->t0 = parse_ts(json_string_value(json_object_get(ev, "ts")));
        } else if (!have_base && strcmp(t, "gate") == 0) {
            /* the first gate compares against S_0's score */
            json_t *s = json_object_get(ev, "previous_score");
            if (json_is_number(s))
                e->baseline = json_number_value(s);
            have_base = 1;
        } else if (!have_base && strcmp(t, "step_end") == 0) {
            /* a skipped or rejected first step kept S_0's score */
            const char *a = json_string_value(json_object_get(ev, "action"));
            json_t *s = json_object_get(ev, "current_score");
            if (a &&
                (strncmp(a, "skip", 4) == 0 || strncmp(a, "reject", 6) == 0) &&
                json_is_number(s))
                e->baseline = json_number_value(s);
            have_base = 1;
        }
        json_decref(ev);
    }
}

/* Backward over the end of the log: the last event, marker and spend. */
static void scan_tail(const char *buf, size_t len, int partial_first,
                      struct ev_info *e)
{
    const char *start = buf, *end = buf + len, *p;

    if (partial_first) {
        const char *nl = memchr(buf, '\n', len);
        start = nl ? nl + 1 : end;
    }
    while (end > start && !(e->last && e->marker && e->last_spend)) {
        const char *ls;
        json_t *ev;
        const char *t;
        if (end[-1] != '\n') {
            /* the last line, not finished yet: skip it */
            p = end;
            while (p > start && p[-1] != '\n')
                p--;
            end = p;
            continue;
        }
        p = end - 1;
        ls = p;
        while (ls > start && ls[-1] != '\n')
            ls--;
        ev = parse_line(ls, (size_t)(p - ls));
        end = ls;
        if (!ev)
            continue;
        t = ev_type(ev);
        if (!e->last) {
            e->last = json_incref(ev);
            e->t1 = parse_ts(json_string_value(json_object_get(ev, "ts")));
        }
        if (!e->marker &&
            (strcmp(t, "run_end") == 0 || strcmp(t, "run_start") == 0))
            e->marker = json_incref(ev);
        if (!e->last_spend && strcmp(t, "spend") == 0)
            e->last_spend = json_incref(ev);
        json_decref(ev);
    }
}

static int read_events(const char *dir, struct ev_info *e)
{
    struct sk_buf tail, head;
    char *path = join(dir, SK_RUNDIR_EVENTS);
    uint64_t from = 0;
    int rc;

    memset(e, 0, sizeof *e);
    e->baseline = e->t0 = e->t1 = NAN;
    if (!path)
        return SK_ENOMEM;
    sk_buf_init(&tail, UI_EVENTS_TAIL + 1);
    sk_buf_init(&head, UI_EVENTS_HEAD + 1);
    rc = ui_read_tail(path, UI_EVENTS_TAIL, &tail, &from);
    if (rc == SK_OK) {
        scan_tail(sk_buf_cstr(&tail), tail.len, from > 0, e);
        if (from == 0) {
            scan_head(sk_buf_cstr(&tail), tail.len, e);
        } else {
            rc = ui_read_head(path, UI_EVENTS_HEAD, &head);
            if (rc == SK_OK)
                scan_head(sk_buf_cstr(&head), head.len, e);
        }
    }
    sk_buf_release(&tail);
    sk_buf_release(&head);
    sk_free(path);
    return rc;
}

/* 1 if dir/skillopt.pid names a live process. */
static int pid_alive(const char *dir)
{
    struct sk_buf b;
    char *path = join(dir, SK_RUNDIR_PID), *end;
    long pid = 0;
    int alive = 0;

    if (!path)
        return 0;
    sk_buf_init(&b, 64);
    if (ui_read_head(path, 32, &b) == SK_OK && b.len > 0) {
        errno = 0;
        pid = strtol(sk_buf_cstr(&b), &end, 10);
        if (errno == 0 && end != b.data && pid > 0 && pid <= INT32_MAX &&
            (*end == '\0' || *end == '\n'))
            alive = kill((pid_t)pid, 0) == 0 || errno == EPERM;
    }
    sk_buf_release(&b);
    sk_free(path);
    return alive;
}

/* The contract's status from the last marker, the pid file and summary. */
static const char *run_status(const char *dir, const struct ev_info *e,
                              int has_summary)
{
    if (e->marker && strcmp(ev_type(e->marker), "run_end") == 0) {
        const char *s = json_string_value(json_object_get(e->marker, "status"));
        if (!s || strcmp(s, "ok") == 0)
            return s ? "finished" : "failed";
        if (strcmp(s, "interrupted") == 0 || strcmp(s, "budget") == 0)
            return s;
        return "failed";
    }
    if (pid_alive(dir))
        return "running";
    if (!e->marker && has_summary)
        return "finished"; /* a run without our event log */
    return "interrupted";
}

/* v's number at key, or NULL. */
static json_t *num_or_null(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_incref(v) : json_null();
}

/* A score >= 0 (-1 is "unknown" in the trainer's files) or NULL. */
static json_t *score(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_number(v) && json_number_value(v) >= 0
               ? json_real(json_number_value(v))
               : NULL;
}

static json_t *string_of(const json_t *a, const json_t *b, const char *key,
                         const char *key_b)
{
    const char *s = json_string_value(json_object_get(a, key));
    if (!s)
        s = json_string_value(json_object_get(b, key_b));
    return s ? json_string(s) : json_null();
}

static void set(json_t *o, const char *key, json_t *v)
{
    json_object_set_new(o, key, v ? v : json_null());
}

/* One row of /api/runs; NULL on out of memory. */
static json_t *run_row(const struct ui_run *r)
{
    struct ev_info e;
    json_t *sum = NULL, *st = NULL, *cfg = NULL, *o, *tot, *v;
    const char *status;

    read_events(r->dir, &e);
    load_json(r->dir, SK_RUNDIR_SUMMARY, UI_SMALL_JSON, &sum);
    load_json(r->dir, SK_RUNDIR_RUNTIME_STATE, UI_SMALL_JSON, &st);
    if (!e.first_start)
        load_json(r->dir, SK_RUNDIR_CONFIG, UI_SMALL_JSON, &cfg);
    status = run_status(r->dir, &e, json_is_object(sum));
    tot = json_object_get(json_object_get(sum, "token_summary"), "_total");
    o = json_object();
    if (!o)
        goto out;
    set(o, "id", json_string(r->id));
    set(o, "status", json_string(status));
    set(o, "benchmark", string_of(e.first_start, cfg, "benchmark", "env"));
    set(o, "target_model",
        string_of(e.first_start, cfg, "target_model", "target_model"));
    set(o, "optimizer_model",
        string_of(e.first_start, cfg, "optimizer_model", "optimizer_model"));
    v = isnan(e.baseline) ? score(sum, "baseline_selection_hard")
                          : json_real(e.baseline);
    set(o, "baseline_score", v);
    v = NULL;
    if (e.marker && strcmp(ev_type(e.marker), "run_end") == 0)
        v = score(e.marker, "best_score");
    if (!v)
        v = score(st, "best_score");
    if (!v)
        v = score(sum, "best_selection_hard");
    set(o, "best_score", v);
    set(o, "test_hard", num_or_null(sum, "test_hard"));
    set(o, "cost_usd",
        num_or_null(e.last_spend ? e.last_spend : tot, "cost_usd"));
    set(o, "tokens",
        num_or_null(e.last_spend ? e.last_spend : tot, "total_tokens"));
    v = json_object_get(e.first_start, "ts");
    set(o, "started", json_is_string(v) ? json_incref(v) : NULL);
    if (!isnan(e.t0) && !isnan(e.t1) && e.t1 >= e.t0)
        v = json_real(round((e.t1 - e.t0) * 1000.0) / 1000.0);
    else
        v = num_or_null(sum, "total_wall_time_s");
    set(o, "duration_s", v);
    v = json_object_get(st, "last_completed_step");
    set(o, "steps_done",
        json_integer(json_is_integer(v) ? json_integer_value(v) : 0));
    v = json_object_get(e.first_start, "total_steps");
    if (!json_is_integer(v))
        v = json_object_get(sum, "total_steps");
    set(o, "total_steps", json_is_integer(v) ? json_incref(v) : NULL);
out:
    ev_info_release(&e);
    json_decref(sum);
    json_decref(st);
    json_decref(cfg);
    return o;
}

int ui_handle_runs(struct sk_ui *ui, struct MHD_Connection *c)
{
    struct ui_run *runs = NULL;
    size_t n = 0, i;
    json_t *arr = NULL, *out;
    int ret, oom = 0;

    if (ui_runs_rescan(ui) != SK_OK)
        return ui_send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                             "out of memory");
    /* a private copy: the rows take a while and others may rescan */
    pthread_mutex_lock(&ui->mu);
    runs = sk_calloc(ui->n_runs + 1, sizeof *runs);
    for (n = 0; runs && n < ui->n_runs; n++) {
        runs[n].id = sk_strdup(ui->runs[n].id);
        runs[n].dir = sk_strdup(ui->runs[n].dir);
        if (!runs[n].id || !runs[n].dir)
            oom = 1;
    }
    pthread_mutex_unlock(&ui->mu);
    arr = runs && !oom ? json_array() : NULL;
    for (i = 0; arr && i < n; i++) {
        json_t *row = run_row(&runs[i]);
        if (!row || json_array_append_new(arr, row) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    for (i = 0; i < n; i++)
        ui_run_release(&runs[i]);
    sk_free(runs);
    out = arr ? json_pack("{s:o}", "runs", arr) : NULL;
    if (!out)
        return ui_send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                             "out of memory");
    ret = ui_send_json(c, MHD_HTTP_OK, out);
    return ret;
}

/* ---- /api/run ----------------------------------------------------------- */

static size_t skip_ws(const char *p, size_t n, size_t i)
{
    while (i < n &&
           (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
        i++;
    return i;
}

/*
 * Whether p[0..n) is one JSON value of type want.  An array is checked
 * one element at a time (jansson parses each element and says where it
 * ended), so a history of 10,000 steps never exists as one tree: the
 * check needs the memory of its largest row, not of the whole file.
 * SK_OK, SK_EPARSE or SK_ENOMEM.
 */
static int check_json(const char *p, size_t n, json_type want)
{
    json_error_t jerr;
    json_t *v;
    size_t i = skip_ws(p, n, 0);

    if (want != JSON_ARRAY) {
        v = sk_json_loadb(p, n, 0, &jerr);
        if (!v)
            return sk_json_oom(&jerr) ? SK_ENOMEM : SK_EPARSE;
        i = json_typeof(v) == want;
        json_decref(v);
        return i ? SK_OK : SK_EPARSE;
    }
    if (i >= n || p[i] != '[')
        return SK_EPARSE;
    i = skip_ws(p, n, i + 1);
    if (i < n && p[i] == ']')
        return skip_ws(p, n, i + 1) == n ? SK_OK : SK_EPARSE;
    for (;;) {
        v = sk_json_loadb(p + i, n - i,
                          JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, &jerr);
        if (!v)
            return sk_json_oom(&jerr) ? SK_ENOMEM : SK_EPARSE;
        json_decref(v);
        i = skip_ws(p, n, i + (size_t)jerr.position);
        if (i < n && p[i] == ',') {
            i = skip_ws(p, n, i + 1);
            continue;
        }
        if (i < n && p[i] == ']')
            return skip_ws(p, n, i + 1) == n ? SK_OK : SK_EPARSE;
        return SK_EPARSE;
    }
}

/*
 * Appends "key": <the file's JSON> to out: the file's own text, read
 * straight into out and kept once jansson has accepted it (so numbers keep
 * the digits the trainer wrote and nothing is copied twice), or fallback
 * when the file is absent, does not parse or is not of type want.  A file
 * that is there but unusable is named in warnings.
 */
static int put_file(struct sk_buf *out, const char *dir, const char *name,
                    const char *key, json_type want, const char *fallback,
                    json_t *warnings)
{
    char *path = join(dir, name);
    size_t mark;
    int rc;

    if (!path || sk_buf_printf(out, ",\"%s\":", key) != SK_OK) {
        sk_free(path);
        return SK_ENOMEM;
    }
    mark = out->len;
    rc = sk_fs_read(path, UI_MAX_JSON, out, NULL);
    sk_free(path);
    if (rc == SK_OK)
        rc = check_json(out->data + mark, out->len - mark, want);
    if (rc == SK_ENOMEM)
        return rc;
    if (rc != SK_OK) {
        sk_buf_truncate(out, mark);
        if (rc != SK_ENOTFOUND) {
            char msg[256];
            snprintf(msg, sizeof msg, "%s: %s", name,
                     rc == SK_ETOOBIG ? "too large" : "not readable JSON");
            json_array_append_new(warnings, json_string(msg));
        }
        return sk_buf_puts(out, fallback);
    }
    return SK_OK;
}

static int put_value(struct sk_buf *out, const char *key, const json_t *v)
{
    int rc = sk_buf_printf(out, ",\"%s\":", key);
    return rc == SK_OK ? sk_json_dump_py(v, -1, out) : rc;
}

int ui_handle_run(struct sk_ui *ui, struct MHD_Connection *c)
{
    struct ui_run run;
    struct ev_info e;
    struct sk_buf out;
    json_t *warnings = json_array(), *sum = NULL, *idv = NULL;
    int rc, ret;

    memset(&e, 0, sizeof e);
    sk_buf_init(&out, SK_BUF_UNLIMITED);
    if (ui_query_run(ui, c, &run, &ret) != 0) {
        json_decref(warnings);
        return ret;
    }
    read_events(run.dir, &e);
    load_json(run.dir, SK_RUNDIR_SUMMARY, UI_SMALL_JSON, &sum);
    idv = json_string(run.id);
    rc = warnings && idv ? sk_buf_puts(&out, "{\"id\":") : SK_ENOMEM;
    if (rc == SK_OK)
        rc = sk_json_dump_py(idv, -1, &out);
    if (rc == SK_OK)
        rc = sk_buf_printf(&out, ",\"status\":\"%s\"",
                           run_status(run.dir, &e, json_is_object(sum)));
    if (rc == SK_OK)
        rc = put_file(&out, run.dir, SK_RUNDIR_SUMMARY, "summary", JSON_OBJECT,
                      "null", warnings);
    if (rc == SK_OK)
        rc = put_file(&out, run.dir, SK_RUNDIR_RUNTIME_STATE, "runtime_state",
                      JSON_OBJECT, "null", warnings);
    if (rc == SK_OK)
        rc = put_file(&out, run.dir, SK_RUNDIR_CONFIG, "config", JSON_OBJECT,
                      "null", warnings);
    if (rc == SK_OK)
        rc = put_file(&out, run.dir, SK_RUNDIR_HISTORY, "history", JSON_ARRAY,
                      "[]", warnings);
    if (rc == SK_OK)
        rc = put_value(&out, "last_event", e.last ? e.last : json_null());
    if (rc == SK_OK && json_array_size(warnings) > 0)
        rc = put_value(&out, "warnings", warnings);
    if (rc == SK_OK)
        rc = sk_buf_putc(&out, '}');
    if (rc == SK_OK)
        ret = ui_send_buf(c, MHD_HTTP_OK, &out, "application/json");
    else
        ret = ui_send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    sk_buf_release(&out);
    json_decref(idv);
    json_decref(sum);
    json_decref(warnings);
    ev_info_release(&e);
    ui_run_release(&run);
    return ret;
}
