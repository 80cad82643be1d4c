/*
 * server.c - the dashboard's HTTP daemon (see server.h): binding, the
 * request limits, routing, the security headers and the reply helpers the
 * handlers share.  The handlers themselves are in runs.c, files.c and
 * sse.c.
 *
 * One thread per connection: an event stream blocks its own thread while
 * it waits for events.jsonl to grow, without holding up anyone else.
 */
#include "common.h"

#include "ui/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "train/rollout.h"
#include "train/rundir.h"
#include "ui/assets.h"
#include "ui/ui_int.h"
#include "util/alloc.h"
#include "util/buf.h"

#define UI_MAX_CONNS 64      /* connections at once */
#define UI_MAX_PER_IP 48     /* of those, from one address */
#define UI_CONN_TIMEOUT_S 30 /* idle connections are closed */
#define UI_CONN_MEMORY 32768 /* request line + headers + send buffer */
#define UI_LISTEN_BACKLOG 64

/* The same on every reply (the contract's list). */
static const char csp[] = "default-src 'self'; img-src 'self' data:; "
                          "style-src 'self'; script-src 'self'; "
                          "connect-src 'self'";

const struct sk_ui_asset *sk_ui_asset_find(const char *name)
{
    size_t i;

    for (i = 0; i < sk_ui_asset_count; i++)
        if (sk_ui_asset_table[i].name &&
            strcmp(sk_ui_asset_table[i].name, name) == 0)
            return &sk_ui_asset_table[i];
    return NULL;
}

/* ---- replies ---------------------------------------------------------- */

int ui_send(struct MHD_Connection *c, unsigned int status,
            struct MHD_Response *r, int api)
{
    enum MHD_Result ret;

    if (!r)
        return MHD_NO; /* out of memory: drop the connection */
    if (MHD_add_response_header(r, "Content-Security-Policy", csp) != MHD_YES ||
        MHD_add_response_header(r, "X-Content-Type-Options", "nosniff") !=
            MHD_YES ||
        MHD_add_response_header(r, "Referrer-Policy", "no-referrer") !=
            MHD_YES ||
        MHD_add_response_header(r, "X-Frame-Options", "DENY") != MHD_YES ||
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
                                api ? "no-store" : "no-cache") != MHD_YES) {
        MHD_destroy_response(r);
        return MHD_NO; /* never serve without the headers */
    }
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static void free_cb(void *p)
{
    sk_free(p);
}

int ui_send_buf(struct MHD_Connection *c, unsigned int status, struct sk_buf *b,
                const char *ctype)
{
    struct MHD_Response *r;
    size_t len = b->len;
    char *data = sk_buf_detach(b, &len);

    if (!data)
        return MHD_NO;
    r = MHD_create_response_from_buffer_with_free_callback(len, data, free_cb);
    if (!r) {
        sk_free(data);
        return MHD_NO;
    }
    if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) !=
        MHD_YES) {
        MHD_destroy_response(r);
        return MHD_NO;
    }
    return ui_send(c, status, r, 1);
}

int ui_send_json(struct MHD_Connection *c, unsigned int status, json_t *v)
{
    struct sk_buf b;
    int ret;

    /* Python's float repr: 0.225 stays 0.225 (jansson would print
     * 0.22500000000000001) */
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (!v || sk_json_dump_py(v, -1, &b) != SK_OK) {
        json_decref(v);
        sk_buf_release(&b);
        return ui_send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                             "out of memory");
    }
    json_decref(v);
    ret = ui_send_buf(c, status, &b, "application/json");
    sk_buf_release(&b);
    return ret;
}

int ui_send_error(struct MHD_Connection *c, unsigned int status,
                  const char *msg)
{
    json_t *v = json_pack("{s:s}", "error", msg);
    struct sk_buf b;
    int ret;
    char *text;

    text = v ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    if (!text)
        return MHD_NO;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (sk_buf_puts(&b, text) != SK_OK) {
        sk_free(text);
        return MHD_NO;
    }
    sk_free(text);
    ret = ui_send_buf(c, status, &b, "application/json");
    sk_buf_release(&b);
    return ret;
}

int ui_arg(struct MHD_Connection *c, const char *name, const char **val)
{
    const char *v = NULL;
    size_t n = 0;

    *val = NULL;
    if (MHD_lookup_connection_value_n(c, MHD_GET_ARGUMENT_KIND, name,
                                      strlen(name), &v, &n) != MHD_YES ||
        !v)
        return 0;
    if (strlen(v) != n)
        return -1; /* a decoded %00 */
    *val = v;
    return 1;
}

/* ---- routing ------------------------------------------------------------ */

static int send_asset(struct MHD_Connection *c, const struct sk_ui_asset *a)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        a->len, (void *)a->data, MHD_RESPMEM_PERSISTENT);

    if (!r)
        return MHD_NO;
    if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, a->mime) !=
        MHD_YES) {
        MHD_destroy_response(r);
        return MHD_NO;
    }
    return ui_send(c, MHD_HTTP_OK, r, 0);
}

/* GET /api/preddir?id=ID -> {"dir": sk_rollout_pred_dir(ID)} */
static int handle_preddir(struct MHD_Connection *c)
{
    const char *id;
    struct sk_buf b;
    json_t *v;
    int got = ui_arg(c, "id", &id);

    if (got < 0)
        return ui_send_error(c, MHD_HTTP_BAD_REQUEST, "id holds a NUL byte");
    if (got == 0 || !*id)
        return ui_send_error(c, MHD_HTTP_BAD_REQUEST, "id is required");
    sk_buf_init(&b, 4096);
    if (sk_rollout_pred_dir(id, &b) != SK_OK) {
        sk_buf_release(&b);
        return ui_send_error(c, MHD_HTTP_BAD_REQUEST, "id too long");
    }
    v = json_pack("{s:s%}", "dir", sk_buf_cstr(&b), b.len);
    sk_buf_release(&b);
    return ui_send_json(c, MHD_HTTP_OK, v);
}

/*
 * With the server on a loopback address, a page from another site could
 * point its own host name at 127.0.0.1 (DNS rebinding) and read the API
 * as same-origin; its requests carry that foreign name in Host, so only
 * the names of this machine are accepted.
 */
static int host_ok(const struct sk_ui *ui, struct MHD_Connection *c)
{
    static const char *const names[] = {"127.0.0.1", "localhost", "[::1]"};
    const char *h =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    const char *colon;
    size_t n, i;

    if (!ui->check_host || !h)
        return 1; /* HTTP/1.0 without Host: not a browser */
    colon = strrchr(h, ':');
    if (colon && strchr(colon, ']'))
        colon = NULL; /* "[::1]" without a port */
    if (colon) {
        char port[16];
        snprintf(port, sizeof port, "%d", ui->port);
        if (strcmp(colon + 1, port) != 0)
            return 0;
    }
    n = colon ? (size_t)(colon - h) : strlen(h);
    for (i = 0; i < SK_ARRAY_LEN(names); i++)
        if (strlen(names[i]) == n && strncasecmp(h, names[i], n) == 0)
            return 1;
    return strlen(ui->host) == n && strncasecmp(h, ui->host, n) == 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **req_cls)
{
    static int seen; /* *req_cls after the first call */
    struct sk_ui *ui = cls;
    const struct sk_ui_asset *a;
    int get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
              strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;

    (void)version;
    (void)upload;
    /* A request without a body is answered on the second call, which
     * keeps the connection open for the next one.  Anything with a body
     * is answered on the first: MHD then closes the connection instead
     * of reading the body. */
    if (!*req_cls && get &&
        !MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                     MHD_HTTP_HEADER_CONTENT_LENGTH) &&
        !MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                     MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
        *req_cls = &seen;
        return MHD_YES;
    }
    *upload_size = 0;
    if (!get) {
        static const char body[] = "{\"error\": \"only GET and HEAD\"}";
        struct MHD_Response *r = MHD_create_response_from_buffer(
            sizeof body - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
        if (!r)
            return MHD_NO;
        if (MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD") !=
                MHD_YES ||
            MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                    "application/json") != MHD_YES) {
            MHD_destroy_response(r);
            return MHD_NO;
        }
        return (enum MHD_Result)ui_send(c, MHD_HTTP_METHOD_NOT_ALLOWED, r, 1);
    }
    if (!host_ok(ui, c))
        return (enum MHD_Result)ui_send_error(
            c, MHD_HTTP_FORBIDDEN, "Host header does not name this server");
    if (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0) {
        a = sk_ui_asset_find("index.html");
        return a ? (enum MHD_Result)send_asset(c, a)
                 : (enum MHD_Result)ui_send_error(c, MHD_HTTP_NOT_FOUND,
                                                  "no dashboard built in");
    }
    if (strcmp(url, "/api/runs") == 0)
        return (enum MHD_Result)ui_handle_runs(ui, c);
    if (strcmp(url, "/api/run") == 0)
        return (enum MHD_Result)ui_handle_run(ui, c);
    if (strcmp(url, "/api/file") == 0)
        return (enum MHD_Result)ui_handle_file(ui, c);
    if (strcmp(url, "/api/ls") == 0)
        return (enum MHD_Result)ui_handle_ls(ui, c);
    if (strcmp(url, "/api/events") == 0)
        return (enum MHD_Result)ui_handle_events(ui, c);
    if (strcmp(url, "/api/preddir") == 0)
        return (enum MHD_Result)handle_preddir(c);
    /* the table's names are plain relative paths (embed_ui.cmake) */
    if (url[0] == '/' && strncmp(url, "/api/", 5) != 0 &&
        (a = sk_ui_asset_find(url + 1)) != NULL)
        return (enum MHD_Result)send_asset(c, a);
    return (enum MHD_Result)ui_send_error(c, MHD_HTTP_NOT_FOUND, "not found");
}

/* ---- start and stop ----------------------------------------------------- */

static int is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)(const void *)sa)
                          ->sin_addr.s_addr) >>
                24) == 127;
    if (sa->sa_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(
            &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
    return 0;
}

/*
 * Binds host:port and listens.  Returns the socket, or -1 with *in_use set
 * when the address was taken and *msg (static) describing other failures.
 */
static int listen_on(const char *host, int port, int *family, int *loopback,
                     int *in_use, const char **msg)
{
    struct addrinfo hints, *res = NULL, *ai;
    char ports[16];
    int fd = -1, one = 1, gai;

    *in_use = 0;
    *msg = "cannot bind";
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(ports, sizeof ports, "%d", port);
    gai = getaddrinfo(host, ports, &hints, &res);
    if (gai != 0) {
        *msg = gai_strerror(gai);
        return -1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            continue;
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (ai->ai_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
            listen(fd, UI_LISTEN_BACKLOG) == 0) {
            *family = ai->ai_family;
            *loopback = is_loopback(ai->ai_addr);
            break;
        }
        if (errno == EADDRINUSE)
            *in_use = 1;
        else
            *msg = strerror(errno);
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

static int bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;

    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* The canonical path of an existing directory, or NULL with err set. */
static char *canonical_dir(const char *path, struct sk_error *err)
{
    char *rp = realpath(path, NULL), *out;
    struct stat st;

    if (!rp || stat(rp, &st) != 0 || !S_ISDIR(st.st_mode)) {
        free(rp); /* libc-allocated by realpath */
        sk_error_set(err, SK_EINVAL, "ui: %s is not a directory", path);
        return NULL;
    }
    out = sk_strdup(rp);
    free(rp); /* libc-allocated by realpath */
    if (!out)
        sk_error_set(err, SK_ENOMEM, "ui: out of memory");
    return out;
}

static int start_daemon(struct sk_ui *ui, const struct sk_ui_opts *o,
                        struct sk_error *err)
{
    int tries = o->port_tries > 1 ? o->port_tries : 1, i, fd = -1;
    int family = AF_INET, loopback = 0, in_use = 0, any_in_use = 0;
    const char *msg = "cannot bind";
    unsigned int flags;

    if (o->port == 0)
        tries = 1;
    for (i = 0; i < tries && fd < 0; i++) {
        if (o->port + i > 65535)
            break;
        fd =
            listen_on(ui->host, o->port + i, &family, &loopback, &in_use, &msg);
        any_in_use |= in_use;
    }
    if (fd < 0) {
        if (any_in_use && tries > 1)
            return sk_error_set(err, SK_EIO,
                                "ui: ports %d-%d on %s are all in use", o->port,
                                o->port + tries - 1, ui->host);
        if (any_in_use)
            return sk_error_set(err, SK_EIO, "ui: port %d on %s is in use",
                                o->port, ui->host);
        return sk_error_set(err, SK_EIO, "ui: cannot listen on %s:%d: %s",
                            ui->host, o->port, msg);
    }
    ui->port = bound_port(fd);
    ui->check_host = loopback;
    /* ITC: the listening thread is woken at once by MHD_stop_daemon
     * instead of noticing on its next one-second poll */
    flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
            MHD_USE_POLL | MHD_USE_ITC;
    if (family == AF_INET6)
        flags |= MHD_USE_IPv6;
    ui->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, ui, MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)UI_MAX_CONNS,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)UI_MAX_PER_IP,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)UI_CONN_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)UI_CONN_MEMORY,
        MHD_OPTION_STRICT_FOR_CLIENT, (int)1, MHD_OPTION_END);
    if (!ui->daemon) {
        /* some of MHD's failure paths close the socket already */
        if (fcntl(fd, F_GETFD) != -1)
            close(fd);
        return sk_error_set(err, SK_EIO, "ui: the HTTP server did not start");
    }
    return SK_OK;
}

int sk_ui_start(const struct sk_ui_opts *o, struct sk_ui **out,
                struct sk_error *err)
{
    struct sk_ui *ui;
    const char *host = o->host && *o->host ? o->host : SK_UI_DEFAULT_HOST;
    int rc;

    *out = NULL;
    if (!o->runs_dir == !o->single_run)
        return sk_error_set(err, SK_EINVAL,
                            "ui: give either a runs directory or one run");
    if (o->port < 0 || o->port > 65535)
        return sk_error_set(err, SK_EINVAL, "ui: port %d out of range",
                            o->port);
    if (strlen(host) >= sizeof ui->host)
        return sk_error_set(err, SK_EINVAL, "ui: host name too long");
    ui = sk_calloc(1, sizeof *ui);
    if (!ui)
        return sk_error_set(err, SK_ENOMEM, "ui: out of memory");
    pthread_mutex_init(&ui->mu, NULL);
    snprintf(ui->host, sizeof ui->host, "%s", host);
    ui->root = canonical_dir(o->single_run ? o->single_run : o->runs_dir, err);
    if (!ui->root) {
        rc = err ? err->code : SK_EINVAL;
        goto fail;
    }
    if (o->single_run) {
        const char *slash = strrchr(ui->root, '/');
        ui->single_id = sk_strdup(slash && slash[1] ? slash + 1 : "run");
        if (!ui->single_id) {
            rc = sk_error_set(err, SK_ENOMEM, "ui: out of memory");
            goto fail;
        }
    }
    rc = ui_runs_rescan(ui);
    if (rc != SK_OK) {
        sk_error_set(err, rc, "ui: out of memory");
        goto fail;
    }
    rc = start_daemon(ui, o, err);
    if (rc != SK_OK)
        goto fail;
    *out = ui;
    return SK_OK;
fail:
    sk_ui_stop(ui);
    return rc;
}

int sk_ui_port(const struct sk_ui *ui)
{
    return ui->port;
}

void sk_ui_url(const struct sk_ui *ui, char *buf, size_t cap)
{
    const char *h = ui->host;

    if (cap == 0)
        return;
    if (strcmp(h, "0.0.0.0") == 0 || strcmp(h, "::") == 0 || !*h)
        h = "127.0.0.1"; /* every interface: this one answers too */
    if (strchr(h, ':'))
        snprintf(buf, cap, "http://[%s]:%d/", h, ui->port);
    else
        snprintf(buf, cap, "http://%s:%d/", h, ui->port);
}

void sk_ui_stop(struct sk_ui *ui)
{
    size_t i;

    if (!ui)
        return;
    pthread_mutex_lock(&ui->mu);
    ui->stopping = 1;
    pthread_mutex_unlock(&ui->mu);
    if (ui->daemon)
        MHD_stop_daemon(ui->daemon); /* joins every connection's thread */
    for (i = 0; i < ui->n_runs; i++)
        ui_run_release(&ui->runs[i]);
    sk_free(ui->runs);
    sk_free(ui->root);
    sk_free(ui->single_id);
    pthread_mutex_destroy(&ui->mu);
    sk_free(ui);
}
