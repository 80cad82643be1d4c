/*
 * events.h - the run's event log, out_root/events.jsonl: one JSON object
 * per line, {"ts": "2026-11-25T06:07:23.123Z", "type": ..., <fields>}, in
 * the one-line json.dumps style of rundir.h.  Append-only; the dashboard
 * and `skillopt` tooling tail it.  Not part of the reference's layout.
 *
 * Each line goes to the file with one write() on an O_APPEND descriptor,
 * so it is in the kernel when sk_events_emit returns; the file is fsynced
 * on "run_end", on sk_events_sync and on close.  All calls on one
 * struct sk_events are serialised by a mutex (safe from any thread).
 * Fields passed in are borrowed.
 *
 * Event types (the fields are the caller's; these are the conventions):
 *   run_start        out_root, resume_from, total_steps, config digest...
 *   phase_start      phase ("rollout", "reflect", "aggregate", "select",
 *                    "update", "evaluate", "slow_update", "meta_skill",
 *                    "baseline", "test_eval"), step, epoch
 *   phase_end        the same plus seconds and status
 *   rollout_progress done, total, step, split
 *   gate             step, action, candidate_gate_score, current_score,
 *                    best_score
 *   spend            stage, calls, prompt_tokens, completion_tokens, usd
 *   run_end          status ("ok", "failed", "interrupted"), best_score,
 *                    best_step
 */
#ifndef SK_EVENTS_H
#define SK_EVENTS_H

#include <time.h>

#include "common.h"

struct json_t;
struct sk_events;

#define SK_EVENT_RUN_START "run_start"
#define SK_EVENT_PHASE_START "phase_start"
#define SK_EVENT_PHASE_END "phase_end"
#define SK_EVENT_ROLLOUT_PROGRESS "rollout_progress"
#define SK_EVENT_GATE "gate"
#define SK_EVENT_SPEND "spend"
#define SK_EVENT_RUN_END "run_end"

/* Wall clock for the "ts" field; tests inject a fixed one. */
typedef struct timespec (*sk_events_clock_fn)(void *ctx);

/*
 * Opens (creating, appending to) the log at path.  Returns SK_OK with *out
 * set, SK_ENOMEM or SK_EIO (err names the path).
 */
int sk_events_open(const char *path, struct sk_events **out,
                   struct sk_error *err);

/* Replaces the clock (NULL restores CLOCK_REALTIME). */
void sk_events_set_clock(struct sk_events *ev, sk_events_clock_fn fn,
                         void *ctx);

/*
 * Appends one line {"ts", "type", then fields' keys in order}.  fields may
 * be NULL or an object (else SK_EINVAL); its own "ts"/"type" keys are
 * skipped.  A "run_end" line is also fsynced.  Returns SK_OK, SK_EINVAL,
 * SK_ENOMEM or SK_EIO; on failure no partial line is written unless the
 * disk fills mid-write.
 */
int sk_events_emit(struct sk_events *ev, const char *type,
                   const struct json_t *fields, struct sk_error *err);

/* fsyncs the log.  SK_OK or SK_EIO. */
int sk_events_sync(struct sk_events *ev, struct sk_error *err);

/* fsyncs and closes the log and frees ev; NULL is fine. */
void sk_events_close(struct sk_events *ev);

#endif /* SK_EVENTS_H */
