/*
 * sim.c - the in-process OpenAI-compatible test server (see sim.h).
 *
 * libmicrohttpd runs one thread per connection, so a handler may sleep to
 * simulate latency without holding up other requests.  Faults are drawn
 * from one seeded splitmix64 stream under a mutex, a fixed number of draws
 * per request, so a run is reproducible given the order requests arrive.
 */
#include "common.h"

#include "llm/sim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>

#include "llm/sim_agent.h"
#include "util/jsonparse.h"
#include "util/alloc.h"
#include "util/buf.h"

#define SIM_MAX_BODY                                                           \
    ((size_t)64 * 1024 * 1024) /* request bodies above: 413                    \
                                */
#define SIM_ECHO_BYTES 200     /* user text echoed by the default responder */
#define SIM_MODEL "sim-model"
#define SIM_MAX_CONNS 4096  /* connections held at once, at most */
#define SIM_FD_TARGET 65536 /* soft RLIMIT_NOFILE asked for at start */
/* A fixed "created" time keeps replies byte-identical across runs. */
#define SIM_CREATED 1700000000

struct sk_sim {
    struct MHD_Daemon *daemon;
    sk_sim_responder_fn responder; /* never NULL: echo_responder by default */
    void *ud;
    struct sk_sim_faults faults; /* copy; all zero when none */
    int port;
    pthread_mutex_t mu; /* guards rng, n_requests, stopping */
    pthread_cond_t cv;  /* signalled when stopping, to cut sleeps short */
    uint64_t rng;
    uint64_t n_requests;
    int stopping;
};

/* What the fault draws decided for one request. */
struct sim_plan {
    double sleep_ms; /* latency plus stall */
    int status;      /* 0, or 429/500/503 answered without the responder */
    int truncate;
    int malformed;
    int think;
    int empty;
};

/* Per-request state, created by the URI log callback. */
struct sim_conn {
    char *uri; /* raw request target, query included */
    struct sk_buf body;
    int started;  /* the handler has seen the headers */
    int too_big;  /* the body passed SIM_MAX_BODY */
    int answered; /* a response has been queued */
};

/* A truncated body: the reader hands out `part` bytes, then fails. */
struct sim_trunc {
    char *data;
    size_t part;
};

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double unit_draw(uint64_t *state)
{
    return (double)(splitmix64(state) >> 11) * 0x1.0p-53;
}

/* Counts the request and draws its faults: always nine draws, so one
 * request's faults do not depend on the rates of another. */
static void plan_request(struct sk_sim *s, struct sim_plan *p)
{
    const struct sk_sim_faults *f = &s->faults;
    double u[9];
    size_t i;

    pthread_mutex_lock(&s->mu);
    s->n_requests++;
    for (i = 0; i < SK_ARRAY_LEN(u); i++)
        u[i] = unit_draw(&s->rng);
    pthread_mutex_unlock(&s->mu);

    memset(p, 0, sizeof(*p));
    p->sleep_ms = f->latency_ms_min > 0 ? f->latency_ms_min : 0;
    if (f->latency_ms_mean > 0)
        p->sleep_ms += -f->latency_ms_mean * log(1.0 - u[0]);
    if (u[1] < f->rate_429)
        p->status = 429;
    else if (u[2] < f->rate_500)
        p->status = 500;
    else if (u[3] < f->rate_503)
        p->status = 503;
    if (u[4] < f->rate_stall && f->stall_ms > 0)
        p->sleep_ms += f->stall_ms;
    p->truncate = u[5] < f->rate_truncate;
    p->malformed = u[6] < f->rate_malformed;
    p->think = u[7] < f->rate_think;
    p->empty = u[8] < f->rate_empty;
}

/*
 * Raises the soft descriptor limit towards the hard one and returns how
 * many connections the server may hold.  With the client in the same
 * process every request in flight costs two descriptors, and once accept()
 * hits EMFILE libmicrohttpd spins and clients hang until their timeout;
 * capping connections at half the limit makes overload a refused
 * connection instead, which clients retry.
 */
static unsigned int connection_budget(void)
{
    struct rlimit rl;
    rlim_t want = SIM_FD_TARGET;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return SIM_MAX_CONNS / 4;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
        want = rl.rlim_max;
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want)
        want = rl.rlim_cur;
    else {
        struct rlimit up = rl;
        up.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &up) != 0)
            want = rl.rlim_cur;
    }
    if (want == RLIM_INFINITY || want / 2 > SIM_MAX_CONNS + 32)
        return SIM_MAX_CONNS;
    return want / 2 > 64 ? (unsigned int)(want / 2 - 32) : 16;
}

/* Sleeps ms milliseconds, or less if the server is stopping. */
static void sim_sleep(struct sk_sim *s, double ms)
{
    struct timespec until;
    long long ns;

    if (!(ms > 0))
        return;
    clock_gettime(CLOCK_REALTIME, &until);
    ns = (long long)(ms * 1e6);
    until.tv_sec += (time_t)(ns / 1000000000LL);
    until.tv_nsec += (long)(ns % 1000000000LL);
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    while (!s->stopping) {
        if (pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&s->mu);
}

static void reply_release(struct sk_sim_reply *r)
{
    size_t i;

    for (i = 0; i < r->n_headers; i++) {
        if (r->header_names)
            sk_free(r->header_names[i]);
        if (r->header_values)
            sk_free(r->header_values[i]);
    }
    sk_free(r->header_names);
    sk_free(r->header_values);
    sk_free(r->content_type);
    sk_free(r->body);
    memset(r, 0, sizeof(*r));
}

/* An OpenAI-style error body; NULL on ENOMEM. */
static char *error_body(const char *message, const char *type, const char *code)
{
    json_t *root = json_pack("{s:{s:s,s:s,s:n,s:n}}", "error", "message",
                             message, "type", type, "param", "code");
    char *text = NULL;

    if (!root)
        return NULL;
    if (code)
        json_object_set_new(json_object_get(root, "error"), "code",
                            json_string(code));
    text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}

/* Fills reply with an error; returns 0 or SK_ENOMEM. */
static int reply_error(struct sk_sim_reply *r, int status, const char *message,
                       const char *type, const char *code)
{
    reply_release(r);
    r->status = status;
    r->body = error_body(message, type, code);
    if (!r->body)
        return SK_ENOMEM;
    r->body_len = strlen(r->body);
    return 0;
}

/* Length of the longest prefix of s (at most max bytes) that does not end
 * inside a UTF-8 sequence. */
static size_t utf8_prefix(const char *s, size_t len, size_t max)
{
    size_t n = len < max ? len : max;

    if (n == len)
        return n;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

/* The text of the last user message into out (parts joined by "\n"). */
static int last_user_text(json_t *messages, struct sk_buf *out)
{
    json_t *msg = NULL, *content, *part;
    size_t i;
    int rc = 0;

    for (i = json_array_size(messages); i > 0; i--) {
        json_t *m = json_array_get(messages, i - 1);
        const char *role = json_string_value(json_object_get(m, "role"));
        if (role && strcmp(role, "user") == 0) {
            msg = m;
            break;
        }
    }
    if (!msg)
        return 0;
    content = json_object_get(msg, "content");
    if (json_is_string(content))
        return sk_buf_append(out, json_string_value(content),
                             json_string_length(content));
    json_array_foreach(content, i, part)
    {
        const char *type = json_string_value(json_object_get(part, "type"));
        json_t *text = json_object_get(part, "text");
        if (!json_is_string(text) || (type && strcmp(type, "text") != 0))
            continue;
        if (out->len > 0)
            rc = sk_buf_putc(out, '\n');
        if (rc == 0)
            rc = sk_buf_append(out, json_string_value(text),
                               json_string_length(text));
        if (rc)
            return rc;
    }
    return 0;
}

static int echo_chat(const struct sk_sim_request *req, struct sk_sim_reply *r)
{
    json_t *root;
    json_error_t jerr;
    struct sk_buf user, content;
    const char *model;
    uint64_t pt, ct;
    int rc = SK_ENOMEM;

    sk_buf_init(&user, SK_BUF_UNLIMITED);
    sk_buf_init(&content, SK_BUF_UNLIMITED);
    root = sk_json_loadb(req->body, req->body_len, 0, &jerr);
    if (!root || !json_is_object(root)) {
        char msg[300];
        snprintf(msg, sizeof(msg), "could not parse the JSON body: %s",
                 root ? "not an object" : jerr.text);
        rc = reply_error(r, 400, msg, "invalid_request_error", NULL);
        goto out;
    }
    if (!json_is_array(json_object_get(root, "messages"))) {
        rc = reply_error(r, 400, "'messages' must be an array",
                         "invalid_request_error", NULL);
        goto out;
    }
    if (last_user_text(json_object_get(root, "messages"), &user))
        goto out;
    if (sk_buf_puts(&content, "echo: ") ||
        sk_buf_append(
            &content, sk_buf_cstr(&user),
            utf8_prefix(sk_buf_cstr(&user), user.len, SIM_ECHO_BYTES)))
        goto out;
    model = json_string_value(json_object_get(root, "model"));
    pt = req->body_len / 4 > 0 ? req->body_len / 4 : 1;
    ct = content.len / 4 > 0 ? content.len / 4 : 1;
    r->body = sk_sim_chat_completion(model ? model : SIM_MODEL,
                                     sk_buf_cstr(&content), pt, ct);
    if (!r->body)
        goto out;
    r->body_len = strlen(r->body);
    rc = 0;
out:
    json_decref(root);
    sk_buf_release(&user);
    sk_buf_release(&content);
    return rc;
}

static int echo_models(struct sk_sim_reply *r)
{
    json_t *root = json_pack("{s:s,s:[{s:s,s:s,s:i,s:s}]}", "object", "list",
                             "data", "id", SIM_MODEL, "object", "model",
                             "created", 0, "owned_by", "skillopt-sim");

    if (!root)
        return SK_ENOMEM;
    r->body = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (!r->body)
        return SK_ENOMEM;
    r->body_len = strlen(r->body);
    return 0;
}

/* The built-in responder: chat completions that echo the user. */
static int echo_responder(void *ud, const struct sk_sim_request *req,
                          struct sk_sim_reply *r)
{
    char msg[300];

    (void)ud;
    if (strcmp(req->method, "POST") == 0 &&
        (strcmp(req->path, "/v1/chat/completions") == 0 ||
         strcmp(req->path, "/chat/completions") == 0))
        return echo_chat(req, r);
    if (strcmp(req->method, "GET") == 0 &&
        (strcmp(req->path, "/v1/models") == 0 ||
         strcmp(req->path, "/models") == 0))
        return echo_models(r);
    /* The agent wires (Anthropic Messages, OpenAI Responses) echo too. */
    if (strcmp(req->method, "POST") == 0 &&
        (strcmp(req->path, "/v1/messages") == 0 ||
         strcmp(req->path, "/messages") == 0 ||
         strcmp(req->path, "/v1/messages/count_tokens") == 0 ||
         strcmp(req->path, "/v1/responses") == 0 ||
         strcmp(req->path, "/responses") == 0))
        return sim_agent_echo(req, r);
    snprintf(msg, sizeof(msg), "unknown endpoint: %.20s %.200s", req->method,
             req->path);
    return reply_error(r, 404, msg, "invalid_request_error", NULL);
}

/* Applies the think/empty faults to a JSON chat reply; anything else is
 * left alone.  Returns 0 or SK_ENOMEM. */
static int rewrite_content(struct sk_sim_reply *r, const struct sim_plan *p)
{
    json_t *root, *msg, *content;
    struct sk_buf text;
    char *body;
    int rc = 0;

    if (!p->think && !p->empty)
        return 0;
    root = json_loadb(r->body ? r->body : "", r->body_len, 0, NULL);
    msg = json_object_get(json_array_get(json_object_get(root, "choices"), 0),
                          "message");
    content = json_object_get(msg, "content");
    if (!json_is_string(content) && !(json_is_null(content) && p->think)) {
        json_decref(root);
        return 0;
    }
    sk_buf_init(&text, SK_BUF_UNLIMITED);
    rc = SK_ENOMEM;
    if (p->think && sk_buf_puts(&text, "<think>reasoning...</think>"))
        goto out;
    if (!p->empty && json_is_string(content) &&
        sk_buf_append(&text, json_string_value(content),
                      json_string_length(content)))
        goto out;
    if (json_object_set_new(msg, "content",
                            json_stringn(sk_buf_cstr(&text), text.len)))
        goto out;
    body = json_dumps(root, JSON_COMPACT);
    if (!body)
        goto out;
    sk_free(r->body);
    r->body = body;
    r->body_len = strlen(body);
    rc = 0;
out:
    sk_buf_release(&text);
    json_decref(root);
    return rc;
}

static ssize_t trunc_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct sim_trunc *t = cls;
    size_t n;

    if (pos >= t->part)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    n = t->part - (size_t)pos;
    if (n > max)
        n = max;
    memcpy(buf, t->data + pos, n);
    return (ssize_t)n;
}

static void trunc_free(void *cls)
{
    struct sim_trunc *t = cls;

    sk_free(t->data);
    sk_free(t);
}

/* Builds the MHD response; the reply's body is taken over or copied. */
static struct MHD_Response *make_response(struct sk_sim_reply *r, int truncate)
{
    struct MHD_Response *resp = NULL;
    size_t i;

    if (truncate) {
        struct sim_trunc *t = sk_calloc(1, sizeof(*t));
        if (!t)
            return NULL;
        t->data = r->body;
        t->part = r->body_len / 2;
        /* The announced length always exceeds what is sent. */
        resp = MHD_create_response_from_callback(
            (uint64_t)r->body_len + 64, 4096, trunc_reader, t, trunc_free);
        if (!resp) {
            sk_free(t);
            return NULL;
        }
        r->body = NULL;
        r->body_len = 0;
    } else {
        resp = MHD_create_response_from_buffer(
            r->body_len, r->body ? r->body : (void *)"", MHD_RESPMEM_MUST_COPY);
        if (!resp)
            return NULL;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            r->content_type ? r->content_type
                                            : "application/json");
    for (i = 0; r->header_names && r->header_values && i < r->n_headers; i++)
        if (r->header_names[i] && r->header_values[i])
            MHD_add_response_header(resp, r->header_names[i],
                                    r->header_values[i]);
    return resp;
}

/* Collected request headers, names lower-cased. */
struct sim_headers {
    char **names;
    char **values;
    size_t n, cap;
    int oom;
};

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind,
                                      const char *key, const char *value)
{
    struct sim_headers *h = cls;
    char *name, *val, *p;

    (void)kind;
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 16;
        char **nn = sk_realloc(h->names, cap * sizeof(*nn));
        char **vv;
        if (!nn) {
            h->oom = 1;
            return MHD_NO;
        }
        h->names = nn;
        vv = sk_realloc(h->values, cap * sizeof(*vv));
        if (!vv) {
            h->oom = 1;
            return MHD_NO;
        }
        h->values = vv;
        h->cap = cap;
    }
    name = sk_strdup(key ? key : "");
    val = sk_strdup(value ? value : "");
    if (!name || !val) {
        sk_free(name);
        sk_free(val);
        h->oom = 1;
        return MHD_NO;
    }
    for (p = name; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    h->names[h->n] = name;
    h->values[h->n] = val;
    h->n++;
    return MHD_YES;
}

static void headers_release(struct sim_headers *h)
{
    size_t i;

    for (i = 0; i < h->n; i++) {
        sk_free(h->names[i]);
        sk_free(h->values[i]);
    }
    sk_free(h->names);
    sk_free(h->values);
}

/* Runs the responder (unless the plan fails the request first) and applies
 * the faults; the result is always a complete reply, or SK_ENOMEM. */
static int build_reply(struct sk_sim *s, struct MHD_Connection *conn,
                       struct sim_conn *c, const char *method,
                       const struct sim_plan *p, struct sk_sim_reply *r)
{
    struct sim_headers h;
    struct sk_sim_request req;
    char *path = NULL;
    const char *q;
    int rc = SK_ENOMEM;

    memset(&h, 0, sizeof(h));
    if (p->status == 429) {
        char secs[32];
        double ra = s->faults.retry_after_s > 0 ? s->faults.retry_after_s : 0;
        rc = reply_error(r, 429,
                         "Rate limit reached (simulated). Please try again.",
                         "requests", "rate_limit_exceeded");
        if (rc)
            return rc;
        snprintf(secs, sizeof(secs), "%lld", (long long)ceil(ra));
        r->header_names = sk_calloc(1, sizeof(char *));
        r->header_values = sk_calloc(1, sizeof(char *));
        if (!r->header_names || !r->header_values)
            return SK_ENOMEM;
        r->n_headers = 1;
        r->header_names[0] = sk_strdup("Retry-After");
        r->header_values[0] = sk_strdup(secs);
        if (!r->header_names[0] || !r->header_values[0])
            return SK_ENOMEM;
        return 0;
    }
    if (p->status == 500)
        return reply_error(r, 500, "The server had an error (simulated).",
                           "server_error", NULL);
    if (p->status == 503)
        return reply_error(r, 503, "The server is overloaded (simulated).",
                           "server_error", NULL);
    if (c->too_big)
        return reply_error(r, 413, "request body too large",
                           "invalid_request_error", NULL);

    MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, &h);
    if (h.oom)
        goto out;
    q = strchr(c->uri, '?');
    path = q ? sk_strndup(c->uri, (size_t)(q - c->uri)) : sk_strdup(c->uri);
    if (!path)
        goto out;
    memset(&req, 0, sizeof(req));
    req.method = method;
    req.path = path;
    req.query = q ? q + 1 : "";
    req.header_names = (const char *const *)h.names;
    req.header_values = (const char *const *)h.values;
    req.n_headers = h.n;
    req.body = sk_buf_cstr(&c->body);
    req.body_len = c->body.len;
    if (s->responder(s->ud, &req, r) != 0) {
        rc = reply_error(r, 500, "the responder failed", "server_error", NULL);
        goto out;
    }
    if (r->status == 0)
        r->status = 200;
    rc = rewrite_content(r, p);
    if (rc == 0 && p->malformed) {
        static const char junk[] = "{\"id\": \"chatcmpl-sim\", \"choices\": "
                                   "[{\"message\": {\"content\": \"unterm";
        char *b = sk_strdup(junk);
        rc = SK_ENOMEM;
        if (b) {
            sk_free(r->body);
            r->body = b;
            r->body_len = strlen(b);
            r->status = 200;
            rc = 0;
        }
    }
out:
    headers_release(&h);
    sk_free(path);
    return rc;
}

static enum MHD_Result queue_plain(struct MHD_Connection *conn, int status,
                                   const char *text)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret;

    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "application/json");
    ret = MHD_queue_response(conn, (unsigned int)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **req_cls)
{
    struct sk_sim *s = cls;
    struct sim_conn *c = *req_cls;
    struct sim_plan plan;
    struct sk_sim_reply reply;
    struct MHD_Response *resp;
    enum MHD_Result ret;

    (void)url;
    (void)version;
    if (!c)
        return MHD_NO; /* the URI callback ran out of memory */
    if (!c->started) {
        /* The first call only announces the headers; the body follows. */
        c->started = 1;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (!c->too_big && sk_buf_append(&c->body, upload, *upload_size))
            c->too_big = 1;
        *upload_size = 0;
        return MHD_YES;
    }
    if (c->answered)
        return MHD_YES;
    c->answered = 1;

    plan_request(s, &plan);
    sim_sleep(s, plan.sleep_ms);
    memset(&reply, 0, sizeof(reply));
    if (build_reply(s, conn, c, method, &plan, &reply) != 0) {
        reply_release(&reply);
        return queue_plain(conn, 500,
                           "{\"error\":{\"message\":\"out of memory\","
                           "\"type\":\"server_error\"}}");
    }
    resp = make_response(&reply, plan.truncate);
    if (!resp) {
        reply_release(&reply);
        return MHD_NO;
    }
    ret = MHD_queue_response(conn, (unsigned int)reply.status, resp);
    MHD_destroy_response(resp);
    reply_release(&reply);
    return ret;
}

/* Called by MHD with the raw request target before the access handler;
 * what it returns becomes the request's state. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct sim_conn *c = sk_calloc(1, sizeof(*c));

    (void)cls;
    (void)conn;
    if (!c)
        return NULL;
    c->uri = sk_strdup(uri ? uri : "/");
    if (!c->uri) {
        sk_free(c);
        return NULL;
    }
    sk_buf_init(&c->body, SIM_MAX_BODY);
    return c;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct sim_conn *c = *req_cls;

    (void)cls;
    (void)conn;
    (void)toe;
    if (!c)
        return;
    sk_buf_release(&c->body);
    sk_free(c->uri);
    sk_free(c);
    *req_cls = NULL;
}

/*
 * Starts the server on 127.0.0.1 and a free port.  Returns 0 and *out, or
 * SK_ENOMEM / SK_EIO (the daemon could not start) with err set.  As a side
 * effect the process's soft RLIMIT_NOFILE is raised towards the hard limit
 * (at most 65536), so hundreds of requests can be in flight.
 */
int sk_sim_start(sk_sim_responder_fn responder, void *ud,
                 const struct sk_sim_faults *faults, struct sk_sim **out,
                 struct sk_error *err)
{
    struct sk_sim *s;
    struct sockaddr_in addr;
    const union MHD_DaemonInfo *info;

    *out = NULL;
    s = sk_calloc(1, sizeof(*s));
    if (!s)
        return sk_error_set(err, SK_ENOMEM, "sim: out of memory");
    s->responder = responder ? responder : echo_responder;
    s->ud = ud;
    if (faults)
        s->faults = *faults;
    s->rng = s->faults.seed;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);

    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons(0);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* poll, not select: a client and this server in one process easily
     * hold more than FD_SETSIZE descriptors with hundreds in flight. */
    s->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
            MHD_USE_POLL,
        0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_LIMIT,
        connection_budget(), MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)1024,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)120,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, s, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, s, MHD_OPTION_END);
    if (!s->daemon)
        goto fail;
    info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    if (!info || info->port == 0)
        goto fail;
    s->port = (int)info->port;
    *out = s;
    return 0;
fail:
    sk_sim_stop(s);
    return sk_error_set(err, SK_EIO,
                        "sim: could not start the HTTP server on 127.0.0.1");
}

/* Stops the daemon: sleeping handlers wake at once, in-flight requests
 * are answered or dropped, then everything is freed.  NULL is ignored. */
void sk_sim_stop(struct sk_sim *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (s->daemon)
        MHD_stop_daemon(s->daemon);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    sk_free(s);
}

/* The bound port. */
int sk_sim_port(const struct sk_sim *s)
{
    return s->port;
}

/* "http://127.0.0.1:PORT/v1" into buf (truncated to cap, NUL-terminated). */
void sk_sim_base_url(const struct sk_sim *s, char *buf, size_t cap)
{
    if (cap > 0)
        snprintf(buf, cap, "http://127.0.0.1:%d/v1", s->port);
}

/* Requests received so far, faulted ones included. */
uint64_t sk_sim_requests(const struct sk_sim *s)
{
    uint64_t n;

    pthread_mutex_lock((pthread_mutex_t *)&s->mu);
    n = s->n_requests;
    pthread_mutex_unlock((pthread_mutex_t *)&s->mu);
    return n;
}

/*
 * A chat.completion body with one assistant choice; sk_malloc'd, NULL on
 * ENOMEM or if content is not valid UTF-8.
 */
char *sk_sim_chat_completion(const char *model, const char *content,
                             uint64_t prompt_tokens, uint64_t completion_tokens)
{
    json_t *root;
    char *text;

    root = json_pack(
        "{s:s,s:s,s:I,s:s,s:[{s:i,s:{s:s,s:s},s:s}],s:{s:I,s:I,s:I}}", "id",
        "chatcmpl-sim", "object", "chat.completion", "created",
        (json_int_t)SIM_CREATED, "model", model ? model : SIM_MODEL, "choices",
        "index", 0, "message", "role", "assistant", "content",
        content ? content : "", "finish_reason", "stop", "usage",
        "prompt_tokens", (json_int_t)prompt_tokens, "completion_tokens",
        (json_int_t)completion_tokens, "total_tokens",
        (json_int_t)(prompt_tokens + completion_tokens));
    if (!root)
        return NULL;
    text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}
