/*
 * progress.h - the terminal view of a training run: it is fed the
 * trainer's events (the objects that go to events.jsonl) and prints either
 * one live status line rewritten in place (a terminal) or plain log lines
 * (a pipe or file).  It only prints; it never decides anything.
 *
 * Ownership: the renderer borrows `out` (the caller closes it after
 * progress_free); event types and fields are borrowed for the duration of
 * the call.  Thread safety: every function except progress_new and
 * progress_free may be called from any thread; output of one event is
 * written whole under a mutex, so lines never interleave.
 */
#ifndef SK_PROGRESS_H
#define SK_PROGRESS_H

#include <stdio.h>

#include "common.h"

struct json_t;
struct progress;

/* Monotonic clock in seconds, injected by tests. */
typedef double (*progress_clock_fn)(void *ud);

/*
 * out: where to print (stderr normally).  tty: 1 = one live line rewritten
 * with \r and an ANSI clear-line, redrawn at most ~10 times a second; gate
 * decisions, failures and the summary are printed above it as permanent
 * lines.  tty 0 = plain log lines: one per phase end, gate decision and
 * step end, plus the run's first and last line; rollout progress only
 * when a phase's rollouts pass 25%, 50% and 75%.  quiet: only failures
 * (a phase ending "failed"/"error") and the final summary line.
 * Returns NULL when out of memory.
 */
struct progress *progress_new(FILE *out, int tty, int quiet);

/* Replaces the clock (NULL: CLOCK_MONOTONIC).  Call before feeding events. */
void progress_set_clock(struct progress *p, progress_clock_fn fn, void *ud);

/*
 * Draws the latest state if a redraw was throttled, ends a pending live
 * line with \n, and frees p.  NULL is fine.
 */
void progress_free(struct progress *p);

/*
 * Feeds one trainer event (run_start, phase_start, phase_end,
 * rollout_progress, gate, step_end, spend, run_end; others are ignored).
 * Missing or mistyped fields are left out of the output.  p is a struct
 * progress * (void * so that it fits an event-sink callback); NULL p, NULL
 * type or NULL fields are fine.
 */
void progress_event(void *p, const char *type, const struct json_t *fields);

#endif /* SK_PROGRESS_H */
