/*
 * server.h - the read-only dashboard server (`skillopt ui`, `train --ui`).
 *
 * A libmicrohttpd daemon, one thread per connection, that serves the
 * embedded dashboard (ui/) and a JSON API over the run directories found
 * under a runs directory (or over one run directory): the run list with
 * each run's status, a run's state and history, directory listings, files
 * inside a run and a Server-Sent Events tail of events.jsonl.  The API is
 * the contract in README.md ("Dashboard").  Nothing is ever written.
 *
 * Ownership: the options are copied by sk_ui_start; the server owns
 * everything it allocates and sk_ui_stop frees it.  The server's threads
 * only read the file system and the server's own state.
 */
#ifndef SK_UI_SERVER_H
#define SK_UI_SERVER_H

#include <stddef.h>

#include "common.h"

struct sk_ui;

#define SK_UI_DEFAULT_HOST "127.0.0.1"
#define SK_UI_DEFAULT_PORT 7860

struct sk_ui_opts {
    const char *runs_dir;   /* serve every run under it, or NULL */
    const char *single_run; /* or serve only this run directory */
    const char *host;       /* numeric address or name; NULL: 127.0.0.1 */
    int port;               /* 0: any free port */
    int port_tries;         /* > 1: when port is busy try port+1 ... up to
                               port+port_tries-1 (0 or 1: only port) */
};

/*
 * Binds host:port and starts serving.  Exactly one of runs_dir and
 * single_run must be set, naming an existing directory.  Returns SK_OK
 * with *out set; SK_EINVAL for bad options (err says which); SK_EIO when
 * no port could be bound (err names the address and says whether it was
 * in use) or the daemon did not start; SK_ENOMEM.
 */
int sk_ui_start(const struct sk_ui_opts *o, struct sk_ui **out,
                struct sk_error *err);

/* The port bound (the real one when port 0 was asked for). */
int sk_ui_port(const struct sk_ui *ui);

/*
 * "http://HOST:PORT/" into buf (truncated to cap, NUL-terminated); an
 * IPv6 host is bracketed and a wildcard host is shown as 127.0.0.1.
 */
void sk_ui_url(const struct sk_ui *ui, char *buf, size_t cap);

/*
 * Stops the server: event streams end within 250 ms, requests in flight
 * are finished or dropped, then everything is freed.  NULL is ignored.
 */
void sk_ui_stop(struct sk_ui *ui);

#endif /* SK_UI_SERVER_H */
