/*
 * progress.c - the terminal view of a training run (see progress.h).  The
 * renderer keeps the last value of each field it was shown; every event
 * updates that state and then prints what the mode asks for.  It does not
 * read events.jsonl and keeps no history.
 */
#include "common.h"
#include "cli/progress.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "util/alloc.h"
#include "util/log.h"

#define MAX_COLS 120     /* the live line never gets wider than this */
#define REDRAW_S 0.1     /* at most ~10 redraws a second */
#define LINE_CAP 1024    /* bytes of one printed line */
#define NAME_CAP 32      /* phase and split names */
#define TEXT_MAX 200     /* bytes kept of a free-text field (paths, message) */
#define CLEAR "\r\033[K" /* to the start of the line, erase it */

enum usd_state { USD_NONE, USD_KNOWN, USD_UNKNOWN };

struct progress {
    FILE *out;
    int tty, quiet;
    pthread_mutex_t mu; /* guards everything below and the writes to out */
    progress_clock_fn clock;
    void *clock_ud;
    long total_steps, num_epochs; /* from run_start, -1: unknown */
    long step, epoch;             /* -1: unknown */
    char phase[NAME_CAP];         /* current phase, "" if none */
    char split[NAME_CAP];         /* of the last rollout_progress */
    double phase_t0;              /* clock at phase_start, < 0: unknown */
    long done, total;             /* rollouts of this phase, -1: none yet */
    int quarter;                  /* plain: last 25% mark printed (0-3) */
    double current, best;         /* scores, -1 printed as n/a */
    int have_current, have_best;
    long acc, rej, skip;      /* gate counters, -1: unknown */
    long long tokens;         /* run total, -1: unknown */
    enum usd_state usd_state; /* whether usd is known */
    double usd;
    int line_open;    /* a live line is on screen without its newline */
    int dirty;        /* the state changed since the live line was drawn */
    int ended;        /* run_end was printed: no live line after it */
    double last_draw; /* clock of the last live draw, < 0: never */
};

/* A line being built; appends truncate silently at the cap. */
struct line {
    char b[LINE_CAP];
    size_t n;
};

static double mono_now(void *ud)
{
    struct timespec ts;
    (void)ud;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now(const struct progress *p)
{
    return p->clock(p->clock_ud);
}

static void add(struct line *l, const char *fmt, ...) SK_PRINTF(2, 3);

static void add(struct line *l, const char *fmt, ...)
{
    va_list ap;
    int k;
    if (l->n >= sizeof l->b - 1)
        return;
    va_start(ap, fmt);
    k = vsnprintf(l->b + l->n, sizeof l->b - l->n, fmt, ap);
    va_end(ap);
    if (k < 0)
        l->b[l->n] = '\0';
    else if ((size_t)k >= sizeof l->b - l->n)
        l->n = sizeof l->b - 1;
    else
        l->n += (size_t)k;
}

/*
 * Copies at most max bytes of s into dst (cap bytes, NUL-terminated),
 * replacing control characters so that a field cannot move the cursor or
 * break the line, and never cutting a UTF-8 sequence in half.
 */
static void clean_copy(char *dst, size_t cap, const char *s, size_t max)
{
    size_t i = 0, j;
    if (max > cap - 1)
        max = cap - 1;
    while (s[i] && i < max) {
        unsigned char ch = (unsigned char)s[i];
        dst[i] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
        i++;
    }
    /* drop a trailing partial UTF-8 sequence */
    if (s[i] && i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80) {
        j = i;
        while (j > 0 && ((unsigned char)dst[j - 1] & 0xC0) == 0x80)
            j--;
        if (j > 0 && ((unsigned char)dst[j - 1] & 0xC0) == 0xC0)
            j--;
        i = j;
    }
    dst[i] = '\0';
}

static void add_text(struct line *l, const char *s)
{
    char t[TEXT_MAX + 1];
    clean_copy(t, sizeof t, s, TEXT_MAX);
    add(l, "%s", t);
}

/* Terminal columns a UTF-8 string takes (one per code point). */
static size_t columns(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

/* ---- fields ------------------------------------------------------------- */

static int num_field(const json_t *f, const char *key, double *out)
{
    const json_t *v = json_object_get(f, key);
    double d;
    if (!json_is_number(v))
        return 0;
    d = json_number_value(v);
    if (!isfinite(d))
        return 0;
    *out = d;
    return 1;
}

static int long_field(const json_t *f, const char *key, long *out)
{
    double d;
    if (!num_field(f, key, &d) || d < -1e15 || d > 1e15)
        return 0;
    *out = (long)d;
    return 1;
}

/* A non-empty string field, or NULL. */
static const char *str_field(const json_t *f, const char *key)
{
    const json_t *v = json_object_get(f, key);
    if (!json_is_string(v) || !*json_string_value(v))
        return NULL;
    return json_string_value(v);
}

/* ---- number formats ----------------------------------------------------- */

static void fmt_score(char *b, size_t cap, double v)
{
    if (v < 0)
        snprintf(b, cap, "n/a"); /* the trainer's -1: not measured */
    else
        snprintf(b, cap, "%.4f", v);
}

static void fmt_tokens(char *b, size_t cap, long long t)
{
    if (t < 1000)
        snprintf(b, cap, "%lld", t);
    else if (t < 1000000)
        snprintf(b, cap, "%.1fk", (double)t / 1e3);
    else
        snprintf(b, cap, "%.2fM", (double)t / 1e6);
}

static void fmt_usd(char *b, size_t cap, const struct progress *p)
{
    if (p->usd_state != USD_KNOWN)
        snprintf(b, cap, "$?"); /* a model without a price */
    else if (p->usd < 10)
        snprintf(b, cap, "$%.4f", p->usd);
    else
        snprintf(b, cap, "$%.2f", p->usd);
}

static void fmt_secs(char *b, size_t cap, double s)
{
    long t = (long)(s + 0.5);
    if (s < 60)
        snprintf(b, cap, "%.1f s", s);
    else if (t < 3600)
        snprintf(b, cap, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf(b, cap, "%ldh%02ldm", t / 3600, t / 60 % 60);
}

/* ---- output ------------------------------------------------------------- */

/* "[step 3/40 epoch 1]", "[step 3]" or "[run]" for step-less phases. */
static void add_prefix(struct line *l, const struct progress *p, int with_epoch)
{
    if (p->step < 0) {
        add(l, "[run]");
        return;
    }
    add(l, "[step %ld", p->step);
    if (p->total_steps > 0)
        add(l, "/%ld", p->total_steps);
    if (with_epoch && p->epoch >= 0)
        add(l, " epoch %ld", p->epoch);
    add(l, "]");
}

/* ", val 0.6000 (best 0.6500), acc/rej/skip 2/1/0, 12.3k tok, $0.0123" */
static void add_status(struct line *l, const struct progress *p)
{
    char a[32], b[32];
    if (p->have_current) {
        fmt_score(a, sizeof a, p->current);
        add(l, ", val %s", a);
        if (p->have_best) {
            fmt_score(b, sizeof b, p->best);
            add(l, " (best %s)", b);
        }
    } else if (p->have_best) {
        fmt_score(b, sizeof b, p->best);
        add(l, ", best %s", b);
    }
    if (p->acc >= 0 || p->rej >= 0 || p->skip >= 0)
        add(l, ", acc/rej/skip %ld/%ld/%ld", p->acc < 0 ? 0 : p->acc,
            p->rej < 0 ? 0 : p->rej, p->skip < 0 ? 0 : p->skip);
    if (p->tokens >= 0) {
        fmt_tokens(a, sizeof a, p->tokens);
        add(l, ", %s tok", a);
    }
    if (p->usd_state != USD_NONE) {
        fmt_usd(a, sizeof a, p);
        add(l, ", %s", a);
    }
}

/* The terminal's width less one (writing the last column wraps on some
 * terminals), capped at MAX_COLS; MAX_COLS when out is not a terminal. */
static size_t term_width(FILE *out)
{
    struct winsize ws;
    int fd = fileno(out);
    size_t w = MAX_COLS;
    if (fd >= 0 && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20 &&
        (size_t)ws.ws_col - 1 < w)
        w = (size_t)ws.ws_col - 1;
    return w;
}

struct part {
    char s[160];
    int keep; /* higher survives longer when the line is too wide */
};

/*
 * The live line, "step 3/40 · epoch 1/4 · rollout 12/40 · val 0.6000 (best
 * 0.6500) · acc/rej/skip 2/1/0 · 12.3k tok · $0.0123", without the parts
 * that are unknown; the least important parts go first when it is wider
 * than `width` columns.
 */
static void render_live(const struct progress *p, char *out, size_t cap,
                        size_t width)
{
    struct part parts[7];
    size_t n = 0, i, cols;
    char a[32], b[32];
    struct line l;

    memset(parts, 0, sizeof parts);
    if (p->step >= 0) {
        if (p->total_steps > 0)
            snprintf(parts[n].s, sizeof parts[n].s, "step %ld/%ld", p->step,
                     p->total_steps);
        else
            snprintf(parts[n].s, sizeof parts[n].s, "step %ld", p->step);
        parts[n++].keep = 7;
    }
    if (p->epoch >= 0) {
        if (p->num_epochs > 0)
            snprintf(parts[n].s, sizeof parts[n].s, "epoch %ld/%ld", p->epoch,
                     p->num_epochs);
        else
            snprintf(parts[n].s, sizeof parts[n].s, "epoch %ld", p->epoch);
        parts[n++].keep = 1;
    }
    if (p->phase[0] || p->total > 0) {
        if (p->total > 0)
            snprintf(parts[n].s, sizeof parts[n].s, "%s%s%ld/%ld", p->phase,
                     p->phase[0] ? " " : "", p->done, p->total);
        else
            snprintf(parts[n].s, sizeof parts[n].s, "%s", p->phase);
        parts[n++].keep = 6;
    }
    if (p->have_current || p->have_best) {
        fmt_score(a, sizeof a, p->current);
        fmt_score(b, sizeof b, p->best);
        if (p->have_current && p->have_best)
            snprintf(parts[n].s, sizeof parts[n].s, "val %s (best %s)", a, b);
        else if (p->have_current)
            snprintf(parts[n].s, sizeof parts[n].s, "val %s", a);
        else
            snprintf(parts[n].s, sizeof parts[n].s, "best %s", b);
        parts[n++].keep = 5;
    }
    if (p->acc >= 0 || p->rej >= 0 || p->skip >= 0) {
        snprintf(parts[n].s, sizeof parts[n].s, "acc/rej/skip %ld/%ld/%ld",
                 p->acc < 0 ? 0 : p->acc, p->rej < 0 ? 0 : p->rej,
                 p->skip < 0 ? 0 : p->skip);
        parts[n++].keep = 2;
    }
    if (p->tokens >= 0) {
        fmt_tokens(a, sizeof a, p->tokens);
        snprintf(parts[n].s, sizeof parts[n].s, "%s tok", a);
        parts[n++].keep = 3;
    }
    if (p->usd_state != USD_NONE) {
        fmt_usd(parts[n].s, sizeof parts[n].s, p);
        parts[n++].keep = 4;
    }
    for (;;) {
        int low = -1;
        l.n = 0;
        l.b[0] = '\0';
        for (i = 0; i < n; i++)
            if (parts[i].keep > 0)
                add(&l, "%s%s", l.n ? " \xc2\xb7 " : "", parts[i].s);
        cols = columns(l.b);
        if (cols <= width)
            break;
        for (i = 0; i < n; i++)
            if (parts[i].keep > 0 &&
                (low < 0 || parts[i].keep < parts[(size_t)low].keep))
                low = (int)i;
        if (low < 0)
            break;
        /* the last part standing is cut rather than dropped */
        if (columns(parts[(size_t)low].s) == cols)
            break;
        parts[(size_t)low].keep = 0;
    }
    {
        /* cut to width columns at a code point boundary */
        size_t k = 0, c = 0;
        while (l.b[k] &&
               !(c == width && ((unsigned char)l.b[k] & 0xC0) != 0x80)) {
            if (((unsigned char)l.b[k] & 0xC0) != 0x80)
                c++;
            k++;
        }
        l.b[k] = '\0';
    }
    snprintf(out, cap, "%s", l.b);
}

static void draw(struct progress *p)
{
    char line[LINE_CAP];
    render_live(p, line, sizeof line, term_width(p->out));
    p->last_draw = now(p);
    p->dirty = 0;
    if (!line[0])
        return;
    fprintf(p->out, CLEAR "%s", line);
    p->line_open = 1;
    fflush(p->out);
}

/* The state changed: redraw the live line now if forced or if the last
 * draw is old enough, else leave it marked dirty. */
static void refresh(struct progress *p, int force)
{
    if (!p->tty || p->quiet || p->ended)
        return;
    p->dirty = 1;
    if (!force && p->last_draw >= 0 && now(p) - p->last_draw < REDRAW_S)
        return;
    draw(p);
}

/* A permanent line; in tty mode it replaces the live line, which the
 * caller's refresh brings back below it. */
static void put_line(struct progress *p, const struct line *l)
{
    if (p->line_open) {
        fputs(CLEAR, p->out);
        p->line_open = 0;
    }
    fprintf(p->out, "%s\n", l->b);
    fflush(p->out);
}

/* ---- events ------------------------------------------------------------- */

static void set_name(char *dst, const char *s)
{
    clean_copy(dst, NAME_CAP, s ? s : "", NAME_CAP - 1);
}

static void on_run_start(struct progress *p, const json_t *f)
{
    struct line l = {.n = 0};
    const char *sep = ": ", *s;
    long spe = -1;

    long_field(f, "total_steps", &p->total_steps);
    long_field(f, "num_epochs", &p->num_epochs);
    long_field(f, "steps_per_epoch", &spe);
    if (p->quiet)
        return;
    add(&l, "[run] start");
    if ((s = str_field(f, "benchmark")) != NULL) {
        add(&l, "%s", sep);
        add_text(&l, s);
        sep = ", ";
    }
    if (p->total_steps > 0) {
        add(&l, "%s%ld steps", sep, p->total_steps);
        if (p->num_epochs > 0) {
            add(&l, " (%ld epoch%s", p->num_epochs,
                p->num_epochs == 1 ? "" : "s");
            if (spe > 0)
                add(&l, " x %ld", spe);
            add(&l, ")");
        }
        sep = ", ";
    }
    if ((s = str_field(f, "target_model")) != NULL) {
        add(&l, "%starget ", sep);
        add_text(&l, s);
        sep = ", ";
    }
    if ((s = str_field(f, "optimizer_model")) != NULL) {
        add(&l, "%soptimizer ", sep);
        add_text(&l, s);
        sep = ", ";
    }
    if ((s = str_field(f, "out_root")) != NULL) {
        add(&l, "%sout ", sep);
        add_text(&l, s);
        sep = ", ";
    }
    if ((s = str_field(f, "resume_from")) != NULL) {
        add(&l, "%sresumed from ", sep);
        add_text(&l, s);
    }
    put_line(p, &l);
}

static void on_phase_start(struct progress *p, const json_t *f)
{
    set_name(p->phase, str_field(f, "phase"));
    /* phases outside the step loop (baseline, test_eval) carry no step */
    if (!long_field(f, "step", &p->step))
        p->step = -1;
    if (!long_field(f, "epoch", &p->epoch))
        p->epoch = -1;
    p->phase_t0 = now(p);
    p->done = p->total = -1;
    p->quarter = 0;
    p->split[0] = '\0';
    refresh(p, 1);
}

static int is_failure(const char *status)
{
    return status &&
           (strcmp(status, "failed") == 0 || strcmp(status, "error") == 0);
}

static void on_phase_end(struct progress *p, const json_t *f)
{
    struct line l = {.n = 0};
    const char *phase = str_field(f, "phase");
    const char *status = str_field(f, "status");
    char secs[32];
    double s = -1;
    int same = !phase || strcmp(phase, p->phase) == 0;

    long_field(f, "step", &p->step);
    long_field(f, "epoch", &p->epoch);
    if (!num_field(f, "seconds", &s) && same && p->phase_t0 >= 0)
        s = now(p) - p->phase_t0;
    secs[0] = '\0';
    if (s >= 0)
        fmt_secs(secs, sizeof secs, s);
    add_prefix(&l, p, 0);
    add(&l, " ");
    add_text(&l, phase ? phase : p->phase[0] ? p->phase : "phase");
    if (same && p->total > 0)
        add(&l, " %ld/%ld", p->done, p->total);
    if (!status || strcmp(status, "ok") == 0)
        add(&l, " done%s%s", secs[0] ? " in " : "", secs);
    else {
        add(&l, " ");
        add_text(&l, status);
        add(&l, "%s%s", secs[0] ? " after " : "", secs);
    }
    if (is_failure(status) || (!p->quiet && !p->tty))
        put_line(p, &l);
    refresh(p, 1);
}

static void on_rollout_progress(struct progress *p, const json_t *f)
{
    struct line l = {.n = 0};
    const char *split = str_field(f, "split");
    long done = -1, total = -1;
    int q;

    long_field(f, "step", &p->step);
    if (!long_field(f, "done", &done) || !long_field(f, "total", &total) ||
        done < 0 || total <= 0)
        return;
    if (split)
        set_name(p->split, split);
    if (!p->phase[0] && split)
        set_name(p->phase, split);
    /* a new batch of rollouts within the phase starts its own marks */
    if (total != p->total || done < p->done)
        p->quarter = 0;
    p->done = done;
    p->total = total;
    if (!p->tty && !p->quiet) {
        q = done >= total ? 4 : (int)(done * 4 / total);
        if (q > p->quarter && q < 4) {
            p->quarter = q;
            add_prefix(&l, p, 0);
            add(&l, " %s", p->phase[0] ? p->phase : "rollout");
            if (p->split[0] && strcmp(p->split, p->phase) != 0)
                add(&l, " %s", p->split);
            add(&l, " %ld/%ld (%ld%%)", done, total, done * 100 / total);
            put_line(p, &l);
        }
    }
    refresh(p, done >= total);
}

static void on_gate(struct progress *p, const json_t *f)
{
    struct line l = {.n = 0};
    const char *action = str_field(f, "action");
    double cand, cur, best;
    int have_cand = num_field(f, "candidate_gate_score", &cand);
    /* compare with the score before the decision when the event has it */
    int have_cur = num_field(f, "previous_score", &cur) ||
                   num_field(f, "current_score", &cur);
    char a[32];

    long_field(f, "step", &p->step);
    long_field(f, "epoch", &p->epoch);
    if (have_cur) {
        p->current = cur;
        p->have_current = 1;
    }
    if (num_field(f, "best_score", &best)) {
        p->best = best;
        p->have_best = 1;
    }
    if (!p->quiet) {
        add_prefix(&l, p, 1);
        add(&l, " gate ");
        add_text(&l, action ? action : "decision");
        if (have_cand) {
            fmt_score(a, sizeof a, cand);
            add(&l, ": candidate %s", a);
        }
        if (have_cur) {
            fmt_score(a, sizeof a, cur);
            add(&l, "%scurrent %s", have_cand ? " vs " : ": ", a);
        }
        put_line(p, &l);
    }
    refresh(p, 1);
}

static void on_step_end(struct progress *p, const json_t *f)
{
    struct line l = {.n = 0};
    const char *action = str_field(f, "action");
    double v;

    long_field(f, "step", &p->step);
    long_field(f, "epoch", &p->epoch);
    if (num_field(f, "current_score", &v)) {
        p->current = v;
        p->have_current = 1;
    }
    if (num_field(f, "best_score", &v)) {
        p->best = v;
        p->have_best = 1;
    }
    long_field(f, "accepts", &p->acc);
    long_field(f, "rejects", &p->rej);
    long_field(f, "skips", &p->skip);
    if (!p->quiet && !p->tty) {
        add_prefix(&l, p, 1);
        add(&l, " ");
        add_text(&l, action ? action : "done");
        add_status(&l, p);
        put_line(p, &l);
    }
    refresh(p, 1);
}

static void on_spend(struct progress *p, const json_t *f)
{
    /* the trainer's spend events carry the ledger's "cost_usd" */
    const char *key = json_object_get(f, "cost_usd") ? "cost_usd" : "usd";
    const json_t *usd = json_object_get(f, key);
    double pt, ct, v;
    int have_pt = num_field(f, "prompt_tokens", &pt);
    int have_ct = num_field(f, "completion_tokens", &ct);

    if (have_pt || have_ct)
        p->tokens = (long long)((have_pt ? pt : 0) + (have_ct ? ct : 0));
    if (json_is_null(usd))
        p->usd_state = USD_UNKNOWN;
    else if (num_field(f, key, &v)) {
        p->usd = v;
        p->usd_state = USD_KNOWN;
    }
    refresh(p, 0);
}

static void on_run_end(struct progress *p, const json_t *f)
{
    struct line l = {.n = 0};
    const char *status = str_field(f, "status");
    const char *msg = str_field(f, "message");
    double v;
    long best_step;
    char a[32];

    if (num_field(f, "best_score", &v)) {
        p->best = v;
        p->have_best = 1;
    }
    add(&l, "[run] ");
    add_text(&l, status ? status : "ended");
    if (p->have_best) {
        fmt_score(a, sizeof a, p->best);
        add(&l, ": best %s", a);
        if (long_field(f, "best_step", &best_step))
            add(&l, " (step %ld)", best_step);
    }
    if (p->tokens >= 0) {
        fmt_tokens(a, sizeof a, p->tokens);
        add(&l, "%s%s tok", p->have_best ? ", " : ": ", a);
    }
    if (p->usd_state != USD_NONE) {
        fmt_usd(a, sizeof a, p);
        add(&l, "%s%s", p->have_best || p->tokens >= 0 ? ", " : ": ", a);
    }
    if (msg) {
        add(&l, " - ");
        add_text(&l, msg);
    }
    sk_log_redact(l.b, sizeof l.b);
    put_line(p, &l);
    p->ended = 1;
    p->dirty = 0;
}

/* ---- public ------------------------------------------------------------- */

struct progress *progress_new(FILE *out, int tty, int quiet)
{
    struct progress *p = sk_calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->out = out;
    p->tty = tty;
    p->quiet = quiet;
    pthread_mutex_init(&p->mu, NULL);
    p->clock = mono_now;
    p->total_steps = p->num_epochs = -1;
    p->step = p->epoch = -1;
    p->phase_t0 = -1;
    p->done = p->total = -1;
    p->acc = p->rej = p->skip = -1;
    p->tokens = -1;
    p->usd_state = USD_NONE;
    p->last_draw = -1;
    return p;
}

void progress_set_clock(struct progress *p, progress_clock_fn fn, void *ud)
{
    pthread_mutex_lock(&p->mu);
    p->clock = fn ? fn : mono_now;
    p->clock_ud = fn ? ud : NULL;
    pthread_mutex_unlock(&p->mu);
}

void progress_free(struct progress *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    if (p->tty && !p->quiet && !p->ended && p->dirty)
        draw(p);
    if (p->line_open) {
        fputc('\n', p->out);
        p->line_open = 0;
    }
    fflush(p->out);
    pthread_mutex_unlock(&p->mu);
    pthread_mutex_destroy(&p->mu);
    sk_free(p);
}

void progress_event(void *vp, const char *type, const struct json_t *fields)
{
    static const struct {
        const char *type;
        void (*fn)(struct progress *p, const json_t *f);
    } handlers[] = {
        {"gate", on_gate},
        {"phase_end", on_phase_end},
        {"phase_start", on_phase_start},
        {"rollout_progress", on_rollout_progress},
        {"run_end", on_run_end},
        {"run_start", on_run_start},
        {"spend", on_spend},
        {"step_end", on_step_end},
    };
    struct progress *p = vp;
    size_t i;

    if (!p || !type)
        return;
    for (i = 0; i < SK_ARRAY_LEN(handlers); i++)
        if (strcmp(handlers[i].type, type) == 0) {
            pthread_mutex_lock(&p->mu);
            handlers[i].fn(p, fields);
            pthread_mutex_unlock(&p->mu);
            return;
        }
}
