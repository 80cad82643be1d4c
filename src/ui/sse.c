/*
 * sse.c - GET /api/events?run=ID[&from=N]: events.jsonl as Server-Sent
 * Events.  Every line from line N (0-based; or after the Last-Event-ID a
 * reconnecting browser sends) becomes
 *     id: <line number>\nevent: <its "type">\ndata: <the line>\n\n
 * then the file is polled every UI_POLL_MS for new lines; a comment
 * ": keepalive" goes out after UI_KEEPALIVE_S of silence.
 *
 * The stream's content callback runs on the connection's own thread and
 * waits there; it ends when the client closes its side (checked at each
 * poll), when the server stops, or on a write error.  At most
 * UI_MAX_STREAMS streams exist at once.  Lines that are not JSON objects
 * or longer than UI_MAX_EVENT_LINE are skipped (their numbers are used).
 */
#include "common.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "train/rundir.h"
#include "ui/ui_int.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/jsonparse.h"

#define SSE_BLOCK 16384                 /* bytes per callback, at most */
#define SSE_READ ((size_t)64 << 10)     /* bytes per read of the log */
#define SSE_PENDING ((size_t)256 << 10) /* frames built before sending */

struct sse {
    struct sk_ui *ui;
    struct MHD_Connection *conn;
    char *run_dir;
    int fd;             /* events.jsonl, -1 until it exists */
    uint64_t off;       /* bytes of the log consumed */
    long line_no;       /* number of the line being collected */
    long from;          /* first line to send */
    struct sk_buf line; /* the line being collected */
    int skipping;       /* the current line is too long: drop it */
    struct sk_buf pend; /* frames to send */
    size_t pend_off;
    int hello; /* the opening comment went out */
    double last_sent;
};

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* An event type usable after "event: " (no newline can sneak in). */
static const char *safe_type(const char *t)
{
    size_t n = 0;
    const char *p;

    if (!t)
        return "message";
    for (p = t; *p; p++, n++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.'))
            return "message";
    return n > 0 && n <= 64 ? t : "message";
}

/* Turns the collected line into a frame (or drops it). */
static void emit_line(struct sse *s)
{
    json_error_t jerr;
    json_t *v;
    size_t n = s->line.len, i, mark = s->pend.len;
    char *p = s->line.data;

    if (s->line_no < s->from || n == 0 || !p)
        return;
    if (p[n - 1] == '\r')
        n--;
    /* a raw CR can only be JSON whitespace; as such it would end the
     * SSE field early */
    for (i = 0; i < n; i++)
        if (p[i] == '\r')
            p[i] = ' ';
    v = sk_json_loadb(p, n, 0, &jerr);
    if (!json_is_object(v)) {
        json_decref(v);
        return;
    }
    if (sk_buf_printf(&s->pend, "id: %ld\nevent: %s\ndata: ", s->line_no,
                      safe_type(json_string_value(
                          json_object_get(v, "type")))) != SK_OK ||
        sk_buf_append(&s->pend, p, n) != SK_OK ||
        sk_buf_puts(&s->pend, "\n\n") != SK_OK)
        sk_buf_truncate(&s->pend, mark); /* out of memory: skip it */
    json_decref(v);
}

static void take_bytes(struct sse *s, const char *p, size_t n)
{
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t k = nl ? (size_t)(nl - p) : n;
        if (!s->skipping) {
            if (s->line.len + k > UI_MAX_EVENT_LINE ||
                sk_buf_append(&s->line, p, k) != SK_OK) {
                s->skipping = 1;
                sk_buf_reset(&s->line);
            }
        }
        if (!nl)
            return;
        if (!s->skipping)
            emit_line(s);
        s->line_no++;
        s->skipping = 0;
        sk_buf_reset(&s->line);
        p = nl + 1;
        n -= k + 1;
    }
}

/* Reads what the log gained since the last call, building frames. */
static void pump(struct sse *s)
{
    char *chunk;
    struct stat st;

    if (s->fd < 0) {
        uint64_t size;
        const char *why;
        int fd = ui_open_in_run(s->run_dir, SK_RUNDIR_EVENTS, &size, &why);
        if (fd < 0)
            return; /* not written yet */
        s->fd = fd;
    }
    if (fstat(s->fd, &st) == 0 && (uint64_t)st.st_size < s->off) {
        /* truncated: start over */
        s->off = 0;
        s->line_no = 0;
        s->skipping = 0;
        sk_buf_reset(&s->line);
    }
    chunk = sk_malloc(SSE_READ);
    if (!chunk)
        return;
    while (s->pend.len < SSE_PENDING) {
        ssize_t n = pread(s->fd, chunk, SSE_READ, (off_t)s->off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        s->off += (uint64_t)n;
        take_bytes(s, chunk, (size_t)n);
    }
    sk_free(chunk);
}

/* The connection's socket, or -1. */
static int client_fd(struct sse *s)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(s->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    return ci ? ci->connect_fd : -1;
}

/*
 * Waits up to ms for the client to close its side of the connection;
 * returns 1 once it has.  Data the client sends (a pipelined request)
 * does not wake the wait; it stays queued for after the stream.
 */
static int client_gone(struct sse *s, int ms)
{
    struct pollfd pfd;
    int n;

    pfd.fd = client_fd(s);
    if (pfd.fd < 0)
        return 1;
    pfd.events = POLLRDHUP;
    pfd.revents = 0;
    n = poll(&pfd, 1, ms);
    return n > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

static int stopping(struct sk_ui *ui)
{
    int s;
    pthread_mutex_lock(&ui->mu);
    s = ui->stopping;
    pthread_mutex_unlock(&ui->mu);
    return s;
}

static ssize_t sse_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct sse *s = cls;

    (void)pos;
    for (;;) {
        if (s->pend_off < s->pend.len) {
            size_t n = s->pend.len - s->pend_off;
            if (n > max)
                n = max;
            memcpy(buf, s->pend.data + s->pend_off, n);
            s->pend_off += n;
            s->last_sent = mono_now();
            return (ssize_t)n;
        }
        sk_buf_reset(&s->pend);
        s->pend_off = 0;
        if (!s->hello) {
            /* sent at once, so the client sees the stream open */
            s->hello = 1;
            if (sk_buf_puts(&s->pend, "retry: 2000\n: connected\n\n") != SK_OK)
                return MHD_CONTENT_READER_END_WITH_ERROR;
            continue;
        }
        if (stopping(s->ui) || client_gone(s, 0))
            return MHD_CONTENT_READER_END_OF_STREAM;
        pump(s);
        if (s->pend.len > 0)
            continue;
        if (mono_now() - s->last_sent >= UI_KEEPALIVE_S) {
            if (sk_buf_puts(&s->pend, ": keepalive\n\n") != SK_OK)
                return MHD_CONTENT_READER_END_WITH_ERROR;
            continue;
        }
        if (client_gone(s, UI_POLL_MS))
            return MHD_CONTENT_READER_END_OF_STREAM;
    }
}

static void sse_free(void *cls)
{
    struct sse *s = cls;

    if (s->fd >= 0)
        close(s->fd);
    sk_buf_release(&s->line);
    sk_buf_release(&s->pend);
    sk_free(s->run_dir);
    pthread_mutex_lock(&s->ui->mu);
    s->ui->n_streams--;
    pthread_mutex_unlock(&s->ui->mu);
    sk_free(s);
}

/* A line number from the query or Last-Event-ID: 0 or more, else -1. */
static long parse_line_no(const char *v)
{
    char *end;
    long n;

    if (!v || !*v || *v == '-' || *v == '+' || *v == ' ')
        return -1;
    errno = 0;
    n = strtol(v, &end, 10);
    if (errno != 0 || *end != '\0' || n < 0)
        return -1;
    return n;
}

int ui_handle_events(struct sk_ui *ui, struct MHD_Connection *c)
{
    struct ui_run run;
    struct MHD_Response *r;
    struct sse *s;
    const char *v, *last;
    long from = 0;
    int ret, got, full;

    if (ui_query_run(ui, c, &run, &ret) != 0)
        return ret;
    got = ui_arg(c, "from", &v);
    if (got != 0) {
        from = got > 0 ? parse_line_no(v) : -1;
        if (from < 0) {
            ui_run_release(&run);
            return ui_send_error(c, MHD_HTTP_BAD_REQUEST,
                                 "from must be a line number");
        }
    }
    /* a browser reconnecting resumes after the last event it saw */
    last = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Last-Event-ID");
    if (last && parse_line_no(last) >= 0 && parse_line_no(last) < LONG_MAX)
        from = parse_line_no(last) + 1;

    pthread_mutex_lock(&ui->mu);
    full = ui->n_streams >= UI_MAX_STREAMS;
    if (!full)
        ui->n_streams++;
    pthread_mutex_unlock(&ui->mu);
    if (full) {
        ui_run_release(&run);
        return ui_send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
                             "too many event streams");
    }
    s = sk_calloc(1, sizeof *s);
    if (!s) {
        pthread_mutex_lock(&ui->mu);
        ui->n_streams--;
        pthread_mutex_unlock(&ui->mu);
        ui_run_release(&run);
        return MHD_NO;
    }
    s->ui = ui;
    s->conn = c;
    s->run_dir = run.dir; /* taken over */
    run.dir = NULL;
    ui_run_release(&run);
    s->fd = -1;
    s->from = from;
    s->last_sent = mono_now();
    sk_buf_init(&s->line, UI_MAX_EVENT_LINE + 1);
    sk_buf_init(&s->pend, SK_BUF_UNLIMITED);
    r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, SSE_BLOCK,
                                          sse_reader, s, sse_free);
    if (!r) {
        sse_free(s);
        return MHD_NO;
    }
    if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                "text/event-stream") != MHD_YES) {
        MHD_destroy_response(r);
        return MHD_NO;
    }
    return ui_send(c, MHD_HTTP_OK, r, 1);
}
