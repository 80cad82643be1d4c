/*
 * ui_int.h - what the dashboard server's files share (server.c: daemon,
 * routing and replies; runs.c: run discovery, status, /api/runs and
 * /api/run; files.c: path checks, /api/file and /api/ls; sse.c:
 * /api/events).  Not part of the library's interface.
 *
 * Strings returned through char ** belong to the caller (sk_free).  JSON
 * values passed to the ui_send_* functions are taken over.
 */
#ifndef SK_UI_INT_H
#define SK_UI_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

struct json_t;
struct sk_buf;
struct MHD_Connection;
struct MHD_Response;

#define UI_MAX_FILE ((uint64_t)16 << 20) /* /api/file: 413 beyond */
#define UI_MAX_JSON ((size_t)64 << 20)   /* one JSON file of /api/run */
#define UI_MAX_LS_ENTRIES 100000         /* /api/ls: "truncated" beyond */
#define UI_MAX_STREAMS 32                /* /api/events at once: 503 beyond */
#define UI_MAX_RUNS 4096                 /* runs listed */
#define UI_MAX_SCAN_DIRS 20000           /* directories visited per scan */
#define UI_SCAN_DEPTH 3                  /* runs at most this deep */
#define UI_POLL_MS 200                   /* events.jsonl poll period */
#define UI_KEEPALIVE_S 15                /* SSE comment period */
#define UI_MAX_EVENT_LINE ((size_t)1 << 20) /* longer lines are skipped */

/* One run directory known to the server. */
struct ui_run {
    char *id;  /* path under the runs directory, '/'-separated */
    char *dir; /* its canonical absolute path (no symlinks) */
};

struct sk_ui {
    struct MHD_Daemon *daemon;
    char *root;      /* canonical runs directory, or the single run's */
    char *single_id; /* single-run mode: the run's id (basename) */
    char host[256];  /* as given, for the URL and the Host check */
    int port;
    int check_host;      /* bound to loopback: refuse foreign Host headers */
    pthread_mutex_t mu;  /* guards everything below */
    struct ui_run *runs; /* cache of the last scan */
    size_t n_runs;
    int n_streams; /* /api/events responses alive */
    int stopping;
};

/* Frees what r holds. */
void ui_run_release(struct ui_run *r);

/*
 * Scans for runs again and stores the list (sorted by id) in ui->runs.
 * Returns SK_OK or SK_ENOMEM; an unreadable directory is skipped.
 */
int ui_runs_rescan(struct sk_ui *ui);

/*
 * Looks id up among the known runs (rescanning once on a miss) and copies
 * it into *out.  Returns SK_OK, SK_ENOTFOUND or SK_ENOMEM.
 */
int ui_run_find(struct sk_ui *ui, const char *id, struct ui_run *out);

/*
 * Resolves rel inside the run directory run_dir: rel must be relative,
 * without a ".." component, backslash or control character; the canonical
 * path must be run_dir or below it.  On success returns SK_OK and the
 * canonical path in *real.  On failure returns the HTTP status to answer
 * (400 bad path, 403 outside the run, 404 absent, 500 out of memory) and a
 * static message in *why.
 */
int ui_resolve(const char *run_dir, const char *rel, char **real,
               const char **why);

/*
 * Opens the regular file rel of the run read-only after ui_resolve, and
 * checks again, on the opened descriptor, that it is a regular file inside
 * the run (so a path swapped after the check is still refused).  Returns
 * the descriptor (>= 0) and its size in *size, or minus the HTTP status
 * with *why set as ui_resolve does.
 */
int ui_open_in_run(const char *run_dir, const char *rel, uint64_t *size,
                   const char **why);

/* Reads the first max bytes of path into out; SK_OK, SK_ENOTFOUND, SK_EIO,
 * SK_ENOMEM. */
int ui_read_head(const char *path, size_t max, struct sk_buf *out);
/* Reads the last max bytes of path into out (the whole file when
 * smaller); *from gets the offset they start at. */
int ui_read_tail(const char *path, size_t max, struct sk_buf *out,
                 uint64_t *from);

/*
 * A query argument, decoded.  Returns 1 with *val set (borrowed from the
 * connection), 0 when absent, -1 when it holds a NUL byte (%00).
 */
int ui_arg(struct MHD_Connection *c, const char *name, const char **val);

/*
 * Replies.  Each adds the security headers, queues the response and
 * returns what the access handler must return.  api selects the API's
 * Cache-Control (no-store).
 */
int ui_send(struct MHD_Connection *c, unsigned int status,
            struct MHD_Response *r, int api);
/* {"error": msg} with status. */
int ui_send_error(struct MHD_Connection *c, unsigned int status,
                  const char *msg);
/* v (taken over) as compact JSON; 500 when it cannot be built. */
int ui_send_json(struct MHD_Connection *c, unsigned int status,
                 struct json_t *v);
/* The bytes of b (taken over, b left empty) with content type ctype. */
int ui_send_buf(struct MHD_Connection *c, unsigned int status, struct sk_buf *b,
                const char *ctype);

/*
 * The run named by the query's run=ID.  Returns 0 with *run filled (the
 * caller releases it), or -1 after queuing the error reply (400 no id,
 * 404 unknown run), whose handler result is in *ret.
 */
int ui_query_run(struct sk_ui *ui, struct MHD_Connection *c, struct ui_run *run,
                 int *ret);

/* The handlers; run ids and paths come from the query. */
int ui_handle_runs(struct sk_ui *ui, struct MHD_Connection *c);
int ui_handle_run(struct sk_ui *ui, struct MHD_Connection *c);
int ui_handle_file(struct sk_ui *ui, struct MHD_Connection *c);
int ui_handle_ls(struct sk_ui *ui, struct MHD_Connection *c);
int ui_handle_events(struct sk_ui *ui, struct MHD_Connection *c);

#endif /* SK_UI_INT_H */
