/*
 * test_progress.c - the training progress renderer: exact plain, quiet and
 * live-line output for event sequences, redraw throttling, the width cap,
 * missing or mistyped fields, and whole lines under concurrent events.
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/progress.h"
#include "testutil.h"
#include "util/alloc.h"
#include "util/jsonparse.h"

#define CLR "\r\033[K"
#define DOT " \xc2\xb7 "

static double test_clock(void *ud)
{
    return *(const double *)ud;
}

/* Feeds events (a JSON array of [type, fields] pairs; the pseudo event
 * ["_clock", t] sets the clock) and returns everything printed, up to and
 * including progress_free.  The result is libc memory: free() it. */
static char *feed(const char *events, int tty, int quiet)
{
    char *buf = NULL;
    size_t len = 0, i;
    FILE *fp = open_memstream(&buf, &len);
    struct progress *p;
    json_error_t je;
    json_t *arr = sk_json_loadb(events, strlen(events), 0, &je);
    json_t *ev;
    double now = 10.0;

    if (!arr)
        fail_msg("bad test events: %s", je.text);
    assert_non_null(fp);
    p = progress_new(fp, tty, quiet);
    assert_non_null(p);
    progress_set_clock(p, test_clock, &now);
    json_array_foreach(arr, i, ev)
    {
        const char *type = json_string_value(json_array_get(ev, 0));
        if (strcmp(type, "_clock") == 0)
            now = json_number_value(json_array_get(ev, 1));
        else
            progress_event(p, type, json_array_get(ev, 1));
    }
    progress_free(p);
    fclose(fp);
    json_decref(arr);
    return buf;
}

/* A run with a baseline, one full step and a failed phase. */
static const char run_events[] =
    "[[\"run_start\", {\"out_root\": \"runs/x\", \"resume_from\": null, "
    "\"total_steps\": 40, \"num_epochs\": 4, \"steps_per_epoch\": 10, "
    "\"benchmark\": \"searchqa\", \"target_model\": \"tgt\", "
    "\"optimizer_model\": \"opt\"}],"
    "[\"phase_start\", {\"phase\": \"baseline\"}],"
    "[\"rollout_progress\", {\"split\": \"selection\", \"done\": 20, "
    "\"total\": 20}],"
    "[\"phase_end\", {\"phase\": \"baseline\", \"seconds\": 3.0, "
    "\"status\": \"ok\"}],"
    "[\"phase_start\", {\"phase\": \"rollout\", \"step\": 3, \"epoch\": 1}],"
    "[\"rollout_progress\", {\"split\": \"train\", \"step\": 3, \"done\": 5, "
    "\"total\": 40}],"
    "[\"rollout_progress\", {\"split\": \"train\", \"step\": 3, \"done\": 10, "
    "\"total\": 40}],"
    "[\"rollout_progress\", {\"split\": \"train\", \"step\": 3, \"done\": 15, "
    "\"total\": 40}],"
    "[\"rollout_progress\", {\"split\": \"train\", \"step\": 3, \"done\": 20, "
    "\"total\": 40}],"
    "[\"rollout_progress\", {\"split\": \"train\", \"step\": 3, \"done\": 29, "
    "\"total\": 40}],"
    "[\"rollout_progress\", {\"split\": \"train\", \"step\": 3, \"done\": 30, "
    "\"total\": 40}],"
    "[\"rollout_progress\", {\"split\": \"train\", \"step\": 3, \"done\": 40, "
    "\"total\": 40}],"
    "[\"phase_end\", {\"phase\": \"rollout\", \"step\": 3, \"epoch\": 1, "
    "\"seconds\": 2.1, \"status\": \"ok\"}],"
    "[\"phase_start\", {\"phase\": \"reflect\", \"step\": 3, \"epoch\": 1}],"
    "[\"_clock\", 75.5],"
    "[\"phase_end\", {\"phase\": \"reflect\", \"step\": 3, \"epoch\": 1, "
    "\"status\": \"ok\"}],"
    "[\"gate\", {\"step\": 3, \"epoch\": 1, \"action\": \"reject\", "
    "\"candidate_gate_score\": 0.55, \"current_score\": 0.6, "
    "\"best_score\": 0.65}],"
    "[\"spend\", {\"calls\": 12, \"prompt_tokens\": 12000, "
    "\"completion_tokens\": 345, \"cost_usd\": 0.0123}],"
    "[\"step_end\", {\"step\": 3, \"epoch\": 1, \"action\": \"reject\", "
    "\"current_score\": 0.6, \"best_score\": 0.65, \"accepts\": 2, "
    "\"rejects\": 1, \"skips\": 0}],"
    "[\"phase_start\", {\"phase\": \"evaluate\", \"step\": 4, \"epoch\": 1}],"
    "[\"phase_end\", {\"phase\": \"evaluate\", \"step\": 4, \"epoch\": 1, "
    "\"seconds\": 0.3, \"status\": \"failed\"}],"
    "[\"run_end\", {\"status\": \"failed\", \"best_score\": 0.65, "
    "\"best_step\": 2, \"message\": \"target model unreachable\"}]]";

static const char run_plain[] =
    "[run] start: searchqa, 40 steps (4 epochs x 10), target tgt, "
    "optimizer opt, out runs/x\n"
    "[run] baseline 20/20 done in 3.0 s\n"
    "[step 3/40] rollout train 10/40 (25%)\n"
    "[step 3/40] rollout train 20/40 (50%)\n"
    "[step 3/40] rollout train 30/40 (75%)\n"
    "[step 3/40] rollout 40/40 done in 2.1 s\n"
    "[step 3/40] reflect done in 1m06s\n"
    "[step 3/40 epoch 1] gate reject: candidate 0.5500 vs current 0.6000\n"
    "[step 3/40 epoch 1] reject, val 0.6000 (best 0.6500), acc/rej/skip "
    "2/1/0, 12.3k tok, $0.0123\n"
    "[step 4/40] evaluate failed after 0.3 s\n"
    "[run] failed: best 0.6500 (step 2), 12.3k tok, $0.0123 - target model "
    "unreachable\n";

static const char run_quiet[] =
    "[step 4/40] evaluate failed after 0.3 s\n"
    "[run] failed: best 0.6500 (step 2), 12.3k tok, $0.0123 - target model "
    "unreachable\n";

/* A successful run: quiet mode prints its last line only. */
static const char ok_events[] =
    "[[\"run_start\", {\"total_steps\": 2}],"
    "[\"phase_start\", {\"phase\": \"rollout\", \"step\": 1, \"epoch\": 1}],"
    "[\"rollout_progress\", {\"split\": \"train\", \"step\": 1, \"done\": 3, "
    "\"total\": 4}],"
    "[\"phase_end\", {\"phase\": \"rollout\", \"step\": 1, \"seconds\": 1, "
    "\"status\": \"ok\"}],"
    "[\"gate\", {\"step\": 1, \"epoch\": 1, \"action\": \"accept\", "
    "\"candidate_gate_score\": 0.7, \"current_score\": -1, "
    "\"best_score\": -1}],"
    "[\"step_end\", {\"step\": 1, \"epoch\": 1, \"action\": \"accept\", "
    "\"current_score\": 0.7, \"best_score\": 0.7, \"accepts\": 1, "
    "\"rejects\": 0, \"skips\": 0}],"
    "[\"spend\", {\"prompt_tokens\": 1500000, \"completion_tokens\": 20000, "
    "\"usd\": null}],"
    "[\"run_end\", {\"status\": \"ok\", \"best_score\": 0.7, "
    "\"best_step\": 1}]]";

static const char ok_plain[] =
    "[run] start: 2 steps\n"
    "[step 1/2] rollout train 3/4 (75%)\n"
    "[step 1/2] rollout 3/4 done in 1.0 s\n"
    "[step 1/2 epoch 1] gate accept: candidate 0.7000 vs current n/a\n"
    "[step 1/2 epoch 1] accept, val 0.7000 (best 0.7000), acc/rej/skip "
    "1/0/0\n"
    "[run] ok: best 0.7000 (step 1), 1.52M tok, $?\n";

static const char ok_quiet[] = "[run] ok: best 0.7000 (step 1), 1.52M tok, "
                               "$?\n";

/* The live line, drawn on forced events and throttled on progress. */
static const char live_events[] =
    "[[\"run_start\", {\"total_steps\": 40, \"num_epochs\": 4}],"
    "[\"phase_start\", {\"phase\": \"rollout\", \"step\": 3, \"epoch\": 1}],"
    "[\"rollout_progress\", {\"split\": \"train\", \"step\": 3, \"done\": 1, "
    "\"total\": 40}],"
    "[\"rollout_progress\", {\"split\": \"train\", \"step\": 3, \"done\": 2, "
    "\"total\": 40}],"
    "[\"_clock\", 10.2],"
    "[\"rollout_progress\", {\"split\": \"train\", \"step\": 3, \"done\": 3, "
    "\"total\": 40}],"
    "[\"spend\", {\"prompt_tokens\": 1000, \"completion_tokens\": 500, "
    "\"usd\": null}],"
    "[\"rollout_progress\", {\"split\": \"train\", \"step\": 3, \"done\": 40, "
    "\"total\": 40}],"
    "[\"phase_end\", {\"phase\": \"rollout\", \"seconds\": 2.0, "
    "\"status\": \"ok\"}],"
    "[\"gate\", {\"step\": 3, \"epoch\": 1, \"action\": \"accept_new_best\", "
    "\"candidate_gate_score\": 0.7, \"current_score\": 0.6, "
    "\"best_score\": 0.6}],"
    "[\"step_end\", {\"step\": 3, \"epoch\": 1, \"action\": "
    "\"accept_new_best\", \"current_score\": 0.7, \"best_score\": 0.7, "
    "\"accepts\": 1, \"rejects\": 0, \"skips\": 0}]]";

static const char live_tty[] =
    "[run] start: 40 steps (4 epochs)\n" CLR "step 3/40" DOT "epoch 1/4" DOT
    "rollout" CLR "step 3/40" DOT "epoch 1/4" DOT "rollout 3/40" CLR
    "step 3/40" DOT "epoch 1/4" DOT "rollout 40/40" DOT "1.5k tok" DOT "$?" CLR
    "step 3/40" DOT "epoch 1/4" DOT "rollout 40/40" DOT "1.5k tok" DOT "$?" CLR
    "[step 3/40 epoch 1] gate accept_new_best: "
    "candidate 0.7000 vs current 0.6000\n" CLR "step 3/40" DOT "epoch 1/4" DOT
    "rollout 40/40" DOT "val 0.6000 (best 0.6000)" DOT "1.5k tok" DOT "$?" CLR
    "step 3/40" DOT "epoch 1/4" DOT "rollout 40/40" DOT
    "val 0.7000 (best 0.7000)" DOT "acc/rej/skip 1/0/0" DOT "1.5k tok" DOT
    "$?\n";

/* Field text cannot move the cursor or break the line. */
static const char ctrl_events[] =
    "[[\"phase_start\", {\"phase\": \"bad\\nname\\u001b[2J\"}],"
    "[\"phase_end\", {\"phase\": \"bad\\nname\\u001b[2J\", \"seconds\": 1, "
    "\"status\": \"ok\"}],"
    "[\"run_end\", {\"status\": \"interrupted\", \"message\": "
    "\"stopped\\r\\nby user\"}]]";

static const char ctrl_plain[] = "[run] bad name [2J done in 1.0 s\n"
                                 "[run] interrupted - stopped  by user\n";

static void test_progress__event_sequences(void **state)
{
    static const struct {
        const char *name;
        const char *events;
        int tty, quiet;
        const char *want;
    } cases[] = {
        {"plain run", run_events, 0, 0, run_plain},
        {"quiet run", run_events, 0, 1, run_quiet},
        {"quiet on a tty", run_events, 1, 1, run_quiet},
        {"plain ok run", ok_events, 0, 0, ok_plain},
        {"quiet ok run", ok_events, 0, 1, ok_quiet},
        {"quiet ok run on a tty", ok_events, 1, 1, ok_quiet},
        {"live line", live_events, 1, 0, live_tty},
        {"control characters", ctrl_events, 0, 0, ctrl_plain},
    };
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        char *got = feed(cases[i].events, cases[i].tty, cases[i].quiet);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("%s:\n got: '%s'\nwant: '%s'", cases[i].name, got,
                     cases[i].want);
        free(got); /* open_memstream's buffer */
    }
}

static size_t count(const char *s, const char *needle)
{
    size_t n = 0;
    while ((s = strstr(s, needle)) != NULL) {
        n++;
        s += strlen(needle);
    }
    return n;
}

static void test_progress__throttle_keeps_final_state(void **state)
{
    char *buf = NULL, *last;
    size_t len = 0, i;
    FILE *fp = open_memstream(&buf, &len);
    struct progress *p = progress_new(fp, 1, 0);
    double now = 5.0;
    json_t *f;
    (void)state;
    progress_set_clock(p, test_clock, &now);
    f = json_pack("{s:s, s:i}", "phase", "rollout", "step", 1);
    progress_event(p, "phase_start", f);
    json_decref(f);
    /* the clock stands still: every progress redraw is held back */
    for (i = 1; i < 1000; i++) {
        f = json_pack("{s:s, s:i, s:i, s:i}", "split", "train", "step", 1,
                      "done", (int)i, "total", 1000);
        progress_event(p, "rollout_progress", f);
        json_decref(f);
    }
    fflush(fp);
    assert_int_equal(count(buf, "\r"), 1);
    assert_null(strstr(buf, "999/1000"));
    /* ... but the last state is drawn when the renderer is freed */
    progress_free(p);
    fclose(fp);
    last = strrchr(buf, '\r');
    assert_string_equal(last, CLR "step 1" DOT "rollout 999/1000\n");
    free(buf); /* open_memstream's buffer */

    /* with time passing, redraws happen about every 0.1 s */
    buf = NULL;
    fp = open_memstream(&buf, &len);
    p = progress_new(fp, 1, 0);
    progress_set_clock(p, test_clock, &now);
    for (i = 1; i <= 100; i++) {
        now += 0.025;
        f = json_pack("{s:i, s:i}", "done", (int)i, "total", 1000);
        progress_event(p, "rollout_progress", f);
        json_decref(f);
    }
    progress_free(p);
    fclose(fp);
    assert_true(count(buf, "\r") >= 20 && count(buf, "\r") <= 30);
    free(buf); /* open_memstream's buffer */
}

static void test_progress__live_line_fits_120_columns(void **state)
{
    char *buf = NULL, *seg, *save = NULL;
    size_t len = 0, n = 0, cols;
    FILE *fp = open_memstream(&buf, &len);
    struct progress *p = progress_new(fp, 1, 0);
    json_t *f;
    const char *c;
    double now = 1.0;
    (void)state;
    /* time passes between events, so each one is drawn */
    progress_set_clock(p, test_clock, &now);
    f = json_pack("{s:i, s:i}", "total_steps", 99999, "num_epochs", 9999);
    progress_event(p, "run_start", f);
    json_decref(f);
    f = json_pack("{s:s, s:i, s:i}", "phase",
                  "a_phase_name_much_longer_than_any_real_one", "step", 99998,
                  "epoch", 9998);
    now += 1;
    progress_event(p, "phase_start", f);
    json_decref(f);
    f = json_pack("{s:i, s:i}", "done", 99997, "total", 99999);
    now += 1;
    progress_event(p, "rollout_progress", f);
    json_decref(f);
    f = json_pack("{s:I, s:I, s:f}", "prompt_tokens", (json_int_t)999000,
                  "completion_tokens", (json_int_t)100, "usd", 12345.678);
    now += 1;
    progress_event(p, "spend", f);
    json_decref(f);
    f = json_pack("{s:f, s:f, s:i, s:i, s:i}", "current_score", 0.61234,
                  "best_score", 0.65, "accepts", 999, "rejects", 999, "skips",
                  999);
    now += 1;
    progress_event(p, "step_end", f);
    json_decref(f);
    progress_free(p);
    fclose(fp);
    /* every drawn line fits; the most important parts survive */
    for (seg = strtok_r(buf, "\r\n", &save); seg;
         seg = strtok_r(NULL, "\r\n", &save)) {
        if (strncmp(seg, "\033[K", 3) == 0)
            seg += 3;
        for (cols = 0, c = seg; *c; c++)
            cols += ((unsigned char)*c & 0xC0) != 0x80;
        assert_true(cols <= 120);
        n++;
    }
    assert_int_equal(n, 5); /* the start line and four draws */
    free(buf);              /* open_memstream's buffer */
}

static void test_progress__last_line_drops_least_important(void **state)
{
    char *buf = NULL, *last;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    struct progress *p = progress_new(fp, 1, 0);
    json_t *f;
    (void)state;
    f = json_pack("{s:i, s:i}", "total_steps", 99999, "num_epochs", 9999);
    progress_event(p, "run_start", f);
    json_decref(f);
    f = json_pack("{s:s, s:i, s:i}", "phase",
                  "a_phase_name_much_longer_than_any_real_one", "step", 99998,
                  "epoch", 9998);
    progress_event(p, "phase_start", f);
    json_decref(f);
    f = json_pack("{s:I, s:I, s:f}", "prompt_tokens", (json_int_t)999000,
                  "completion_tokens", (json_int_t)100, "usd", 12345.678);
    progress_event(p, "spend", f);
    json_decref(f);
    f = json_pack("{s:f, s:f, s:i, s:i, s:i}", "current_score", 0.61234,
                  "best_score", 0.65, "accepts", 999, "rejects", 999, "skips",
                  999);
    progress_event(p, "step_end", f);
    json_decref(f);
    progress_free(p);
    fclose(fp);
    last = strrchr(buf, '\r');
    /* the phase name is cut to 31 bytes; epoch (least important) goes
     * first, then the gate counters */
    assert_string_equal(last, CLR "step 99998/99999" DOT
                                  "a_phase_name_much_longer_than_a" DOT
                                  "val 0.6123 (best 0.6500)" DOT
                                  "999.1k tok" DOT "$12345.68\n");
    free(buf); /* open_memstream's buffer */
}

static void test_progress__missing_fields(void **state)
{
    static const char *const types[] = {
        "run_start", "phase_start", "phase_end", "rollout_progress", "gate",
        "step_end",  "spend",       "run_end",   "no_such_event"};
    static const char *const bodies[] = {
        NULL, "{}", "[1, 2]",
        "{\"phase\": 3, \"step\": \"x\", \"epoch\": null, \"done\": \"1\", "
        "\"total\": 0, \"seconds\": [], \"status\": {}, \"action\": 1, "
        "\"current_score\": \"0.5\", \"usd\": \"1\", \"prompt_tokens\": "
        "true, \"message\": 7, \"best_score\": null}",
        "{\"done\": 5, \"total\": -3, \"step\": 1e300}"};
    size_t t, b, mode;
    (void)state;
    for (mode = 0; mode < 3; mode++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *fp = open_memstream(&buf, &len);
        struct progress *p = progress_new(fp, mode == 1, mode == 2);
        for (b = 0; b < SK_ARRAY_LEN(bodies); b++) {
            json_error_t je;
            json_t *f =
                bodies[b] ? sk_json_loadb(bodies[b], strlen(bodies[b]), 0, &je)
                          : NULL;
            if (bodies[b])
                assert_non_null(f);
            for (t = 0; t < SK_ARRAY_LEN(types); t++)
                progress_event(p, types[t], f);
            json_decref(f);
        }
        progress_event(p, NULL, NULL);
        progress_event(NULL, "run_end", NULL);
        progress_free(p);
        fclose(fp);
        /* run_end without fields still ends the run visibly */
        assert_non_null(strstr(buf, "[run] ended\n"));
        if (mode == 2)
            assert_int_equal(count(buf, "\n"), 5);
        free(buf); /* open_memstream's buffer */
    }
    progress_free(NULL);
}

/* ---- two threads -------------------------------------------------------- */

struct feeder {
    struct progress *p;
    int id;
};

static void *feeder_main(void *arg)
{
    struct feeder *fd = arg;
    int i;
    for (i = 0; i < 300; i++) {
        json_t *f;
        if (fd->id == 0)
            f = json_pack("{s:i, s:i, s:s, s:f, s:f}", "step", 7, "epoch", 1,
                          "action", "reject", "candidate_gate_score", 0.25,
                          "current_score", 0.5);
        else
            f = json_pack("{s:i, s:i, s:s, s:f, s:f}", "step", 7, "epoch", 1,
                          "action", "accept", "candidate_gate_score", 0.75,
                          "current_score", 0.5);
        progress_event(fd->p, "gate", f);
        json_decref(f);
        f = json_pack("{s:s, s:i, s:i, s:i}", "split", "train", "step", 7,
                      "done", i + 1, "total", 300);
        progress_event(fd->p, "rollout_progress", f);
        json_decref(f);
    }
    return NULL;
}

static void test_progress__threads_write_whole_lines(void **state)
{
    static const char *const ok[] = {
        "[step 7/9 epoch 1] gate reject: candidate 0.2500 vs current 0.5000",
        "[step 7/9 epoch 1] gate accept: candidate 0.7500 vs current 0.5000"};
    int tty;
    (void)state;
    for (tty = 0; tty < 2; tty++) {
        char *buf = NULL, *line, *save = NULL;
        size_t len = 0, n[2] = {0, 0}, i;
        FILE *fp = open_memstream(&buf, &len);
        struct progress *p = progress_new(fp, tty, 0);
        struct feeder fd[2] = {{p, 0}, {p, 1}};
        pthread_t th[2];
        json_t *f = json_pack("{s:i}", "total_steps", 9);
        progress_event(p, "run_start", f);
        json_decref(f);
        for (i = 0; i < 2; i++)
            assert_int_equal(pthread_create(&th[i], NULL, feeder_main, &fd[i]),
                             0);
        for (i = 0; i < 2; i++)
            pthread_join(th[i], NULL);
        progress_free(p);
        fclose(fp);
        for (line = strtok_r(buf, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
            char *tail = line, *k;
            /* in tty mode a line may follow live-line redraws */
            while ((k = strstr(tail, CLR)) != NULL)
                tail = k + strlen(CLR);
            if (strcmp(tail, "[run] start: 9 steps") == 0)
                continue;
            if (strcmp(tail, ok[0]) == 0)
                n[0]++;
            else if (strcmp(tail, ok[1]) == 0)
                n[1]++;
            else if (tty &&
                     strncmp(tail, "step 7/9" DOT, strlen("step 7/9" DOT)) == 0)
                continue; /* the live line left at the end */
            else if (!tty && strncmp(tail, "[step 7/9] train ", 17) == 0 &&
                     strstr(tail, "/300 ("))
                continue;
            else
                fail_msg("tty %d: torn line '%s'", tty, tail);
        }
        assert_int_equal(n[0], 300);
        assert_int_equal(n[1], 300);
        free(buf); /* open_memstream's buffer */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_progress__event_sequences),
        cmocka_unit_test(test_progress__throttle_keeps_final_state),
        cmocka_unit_test(test_progress__live_line_fits_120_columns),
        cmocka_unit_test(test_progress__last_line_drops_least_important),
        cmocka_unit_test(test_progress__missing_fields),
        cmocka_unit_test(test_progress__threads_write_whole_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
