/*
 * events.c - append-only JSON-lines event log with ISO-8601 UTC stamps.
 *
 * Lines are built in memory first and written with one write() so that
 * concurrent writers (other processes included) never interleave a line.
 */
#include "common.h"
#include "train/events.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "train/rundir.h"
#include "util/alloc.h"
#include "util/buf.h"

#define EVENT_MAX_LINE (4u << 20)

struct sk_events {
    int fd;                   /* O_APPEND descriptor */
    char *path;               /* for messages */
    pthread_mutex_t lock;     /* serialises emit/sync */
    sk_events_clock_fn clock; /* NULL: CLOCK_REALTIME */
    void *clock_ctx;
};

int sk_events_open(const char *path, struct sk_events **out,
                   struct sk_error *err)
{
    struct sk_events *ev;

    *out = NULL;
    ev = sk_calloc(1, sizeof *ev);
    if (!ev)
        return sk_error_set(err, SK_ENOMEM, "%s: out of memory", path);
    ev->path = sk_strdup(path);
    if (!ev->path) {
        sk_free(ev);
        return sk_error_set(err, SK_ENOMEM, "%s: out of memory", path);
    }
    ev->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (ev->fd < 0) {
        int rc = sk_error_set(err, SK_EIO, "%s: cannot open: %s", path,
                              strerror(errno));
        sk_free(ev->path);
        sk_free(ev);
        return rc;
    }
    pthread_mutex_init(&ev->lock, NULL);
    *out = ev;
    return SK_OK;
}

void sk_events_set_clock(struct sk_events *ev, sk_events_clock_fn fn, void *ctx)
{
    pthread_mutex_lock(&ev->lock);
    ev->clock = fn;
    ev->clock_ctx = ctx;
    pthread_mutex_unlock(&ev->lock);
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" into buf (>= 32 bytes). */
static void format_ts(struct timespec ts, char *buf, size_t size)
{
    struct tm tm;
    time_t secs = ts.tv_sec;
    size_t n;

    gmtime_r(&secs, &tm);
    n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, size - n, ".%03ldZ", (long)(ts.tv_nsec / 1000000));
}

/* Builds the line: {"ts": .., "type": .., fields...}\n */
static int build_line(struct timespec now, const char *type,
                      const json_t *fields, struct sk_buf *line)
{
    json_t *obj, *v;
    const char *key;
    char ts[48];
    int rc = SK_OK;

    format_ts(now, ts, sizeof ts);
    obj = json_object();
    if (!obj)
        return SK_ENOMEM;
    if (json_object_set_new(obj, "ts", json_string(ts)) != 0 ||
        json_object_set_new(obj, "type", json_string(type)) != 0)
        rc = SK_ENOMEM;
    if (rc == SK_OK && fields) {
        json_object_foreach((json_t *)fields, key, v)
        {
            if (strcmp(key, "ts") == 0 || strcmp(key, "type") == 0)
                continue;
            if (json_object_set(obj, key, v) != 0) {
                rc = SK_ENOMEM;
                break;
            }
        }
    }
    if (rc == SK_OK)
        rc = sk_json_dump_py(obj, -1, line);
    if (rc == SK_OK)
        rc = sk_buf_putc(line, '\n');
    json_decref(obj);
    return rc;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int sk_events_emit(struct sk_events *ev, const char *type,
                   const struct json_t *fields, struct sk_error *err)
{
    struct sk_buf line;
    struct timespec now;
    int rc;

    if (!type || (fields && !json_is_object(fields)))
        return sk_error_set(err, SK_EINVAL,
                            "events: a type and an object of fields");
    sk_buf_init(&line, EVENT_MAX_LINE);
    pthread_mutex_lock(&ev->lock);
    if (ev->clock)
        now = ev->clock(ev->clock_ctx);
    else
        clock_gettime(CLOCK_REALTIME, &now);
    rc = build_line(now, type, fields, &line);
    if (rc != SK_OK) {
        rc = sk_error_set(err, rc, "%s: %s event: %s", ev->path, type,
                          sk_strerror(rc));
        goto out;
    }
    if (write_all(ev->fd, line.data, line.len) != 0) {
        rc = sk_error_set(err, SK_EIO, "%s: write failed: %s", ev->path,
                          strerror(errno));
        goto out;
    }
    if (strcmp(type, SK_EVENT_RUN_END) == 0 && fsync(ev->fd) != 0)
        rc = sk_error_set(err, SK_EIO, "%s: fsync failed: %s", ev->path,
                          strerror(errno));
out:
    pthread_mutex_unlock(&ev->lock);
    sk_buf_release(&line);
    return rc;
}

int sk_events_sync(struct sk_events *ev, struct sk_error *err)
{
    int rc = SK_OK;

    pthread_mutex_lock(&ev->lock);
    if (fsync(ev->fd) != 0)
        rc = sk_error_set(err, SK_EIO, "%s: fsync failed: %s", ev->path,
                          strerror(errno));
    pthread_mutex_unlock(&ev->lock);
    return rc;
}

void sk_events_close(struct sk_events *ev)
{
    if (!ev)
        return;
    fsync(ev->fd);
    close(ev->fd);
    pthread_mutex_destroy(&ev->lock);
    sk_free(ev->path);
    sk_free(ev);
}
