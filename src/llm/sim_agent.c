/*
 * sim_agent.c - the simulator's agent wires (see sim_agent.h): decodes
 * chat, Messages and Responses requests into one item list, asks the
 * agent, and encodes its text and tool calls as JSON or as the event
 * streams the Claude Code and Codex CLIs parse.  Whole streams are built
 * in memory and sent as one body: the clients cannot tell the difference.
 */
#include "common.h"

#include "llm/sim_agent.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "llm/sim.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/jsonparse.h"

#define AGENT_MODEL "sim-model"
#define AGENT_CREATED 1700000000 /* fixed, as in sim.c */
#define AGENT_CHUNK 24           /* bytes per streamed text or argument delta */
#define AGENT_ECHO_BYTES 200     /* user text echoed by the default agent */

/* A decoded request: the turn plus the storage its pointers lead into. */
struct decoded {
    struct sk_sim_turn turn;
    struct sk_sim_item *items;
    size_t n_items, cap_items;
    char **strs; /* every string the items and tools point to */
    size_t n_strs, cap_strs;
    char **tools;
    int *freeform;
    size_t n_tools, cap_tools, cap_freeform;
    json_t *root;
    int oom;
};

/* ---- small helpers --------------------------------------------------- */

static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    size_t ncap;
    void *p;

    if (n < *cap)
        return 0;
    ncap = *cap ? *cap * 2 : 16;
    p = sk_realloc(*arr, ncap * elem);
    if (!p)
        return SK_ENOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}

/* Takes s into the pool; returns it, or NULL (and frees s) on ENOMEM. */
static const char *pool_take(struct decoded *d, char *s)
{
    if (!s ||
        grow((void **)&d->strs, &d->cap_strs, d->n_strs, sizeof(*d->strs))) {
        sk_free(s);
        d->oom = 1;
        return NULL;
    }
    d->strs[d->n_strs++] = s;
    return s;
}

static const char *pool_dup(struct decoded *d, const char *s)
{
    return s ? pool_take(d, sk_strdup(s)) : NULL;
}

static void add_item(struct decoded *d, enum sk_sim_item_kind kind,
                     const char *text, const char *name, const char *call_id,
                     int is_error)
{
    struct sk_sim_item *it;

    if (d->oom)
        return;
    if (grow((void **)&d->items, &d->cap_items, d->n_items,
             sizeof(*d->items))) {
        d->oom = 1;
        return;
    }
    it = &d->items[d->n_items++];
    memset(it, 0, sizeof(*it));
    it->kind = kind;
    it->text = pool_dup(d, text ? text : "");
    it->name = pool_dup(d, name);
    it->call_id = pool_dup(d, call_id);
    it->is_error = is_error;
    if (!it->text || (name && !it->name) || (call_id && !it->call_id))
        d->oom = 1;
}

static void add_tool(struct decoded *d, const char *name, int freeform)
{
    const char *n;

    if (d->oom || !name)
        return;
    if (grow((void **)&d->tools, &d->cap_tools, d->n_tools,
             sizeof(*d->tools)) ||
        grow((void **)&d->freeform, &d->cap_freeform, d->n_tools,
             sizeof(*d->freeform))) {
        d->oom = 1;
        return;
    }
    n = pool_dup(d, name);
    if (!n)
        return;
    d->tools[d->n_tools] = (char *)n;
    d->freeform[d->n_tools] = freeform;
    d->n_tools++;
}

static void decoded_release(struct decoded *d)
{
    size_t i;

    for (i = 0; i < d->n_strs; i++)
        sk_free(d->strs[i]);
    sk_free(d->strs);
    sk_free(d->items);
    sk_free(d->tools);
    sk_free(d->freeform);
    json_decref(d->root);
    memset(d, 0, sizeof(*d));
}

/*
 * The text of a content value: a string, an object with "text", or an
 * array of parts whose text is joined with newlines (image and other
 * non-text parts are skipped).  Appends to out; 0 or SK_ENOMEM.
 */
static int content_text(json_t *c, struct sk_buf *out)
{
    json_t *part, *text;
    size_t i;

    if (json_is_string(c))
        return sk_buf_append(out, json_string_value(c), json_string_length(c));
    if (json_is_object(c)) {
        text = json_object_get(c, "text");
        if (json_is_string(text))
            return sk_buf_append(out, json_string_value(text),
                                 json_string_length(text));
        return 0;
    }
    json_array_foreach(c, i, part)
    {
        text = json_is_string(part) ? part : json_object_get(part, "text");
        if (!json_is_string(text))
            continue;
        if (out->len > 0 && sk_buf_putc(out, '\n'))
            return SK_ENOMEM;
        if (sk_buf_append(out, json_string_value(text),
                          json_string_length(text)))
            return SK_ENOMEM;
    }
    return 0;
}

/* Adds an item whose text is content_text(c). */
static void add_content(struct decoded *d, enum sk_sim_item_kind kind,
                        json_t *c, const char *call_id, int is_error)
{
    struct sk_buf b;

    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (content_text(c, &b))
        d->oom = 1;
    else
        add_item(d, kind, sk_buf_cstr(&b), NULL, call_id, is_error);
    sk_buf_release(&b);
}

static enum sk_sim_item_kind role_kind(const char *role)
{
    if (role && strcmp(role, "assistant") == 0)
        return SK_SIM_ITEM_ASSISTANT;
    if (role && (strcmp(role, "system") == 0 || strcmp(role, "developer") == 0))
        return SK_SIM_ITEM_SYSTEM;
    return SK_SIM_ITEM_USER;
}

static const char *str_of(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* Sets o[key] = v_take; returns o, or NULL (o and v released) on
 * failure, so a half-built value never goes out. */
static json_t *with(json_t *o, const char *key, json_t *v_take)
{
    if (!o || !v_take || json_object_set_new(o, key, v_take)) {
        json_decref(o);
        if (!o || !v_take)
            json_decref(v_take);
        return NULL;
    }
    return o;
}

/* A JSON value as compact text into the pool ("{}" for NULL). */
static const char *dump_args(struct decoded *d, json_t *v)
{
    if (!v)
        return pool_dup(d, "{}");
    if (json_is_string(v))
        return pool_dup(d, json_string_value(v));
    return pool_take(d, json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY));
}

/* ---- decoding -------------------------------------------------------- */

static void decode_messages(struct decoded *d)
{
    json_t *root = d->root, *m, *blk, *t;
    size_t i, j;

    t = json_object_get(root, "system");
    if (t)
        add_content(d, SK_SIM_ITEM_SYSTEM, t, NULL, 0);
    json_array_foreach(json_object_get(root, "messages"), i, m)
    {
        enum sk_sim_item_kind kind = role_kind(str_of(m, "role"));
        json_t *c = json_object_get(m, "content");

        if (!json_is_array(c)) {
            add_content(d, kind, c, NULL, 0);
            continue;
        }
        json_array_foreach(c, j, blk)
        {
            const char *type = str_of(blk, "type");
            if (!type)
                continue;
            if (strcmp(type, "text") == 0)
                add_content(d, kind, blk, NULL, 0);
            else if (strcmp(type, "tool_use") == 0)
                add_item(d, SK_SIM_ITEM_CALL,
                         dump_args(d, json_object_get(blk, "input")),
                         str_of(blk, "name"), str_of(blk, "id"), 0);
            else if (strcmp(type, "tool_result") == 0)
                add_content(d, SK_SIM_ITEM_RESULT,
                            json_object_get(blk, "content"),
                            str_of(blk, "tool_use_id"),
                            json_is_true(json_object_get(blk, "is_error")));
        }
    }
    json_array_foreach(json_object_get(root, "tools"), i, t)
        add_tool(d, str_of(t, "name"), 0);
}

static void decode_responses(struct decoded *d)
{
    json_t *root = d->root, *it, *t, *in = json_object_get(root, "input");
    size_t i, j;

    t = json_object_get(root, "instructions");
    if (json_is_string(t))
        add_content(d, SK_SIM_ITEM_SYSTEM, t, NULL, 0);
    if (json_is_string(in))
        add_content(d, SK_SIM_ITEM_USER, in, NULL, 0);
    json_array_foreach(in, i, it)
    {
        const char *type = str_of(it, "type");
        if (!type || strcmp(type, "message") == 0)
            add_content(d, role_kind(str_of(it, "role")),
                        json_object_get(it, "content"), NULL, 0);
        else if (strcmp(type, "function_call") == 0)
            add_item(d, SK_SIM_ITEM_CALL,
                     dump_args(d, json_object_get(it, "arguments")),
                     str_of(it, "name"), str_of(it, "call_id"), 0);
        else if (strcmp(type, "custom_tool_call") == 0)
            add_item(d, SK_SIM_ITEM_CALL,
                     dump_args(d, json_object_get(it, "input")),
                     str_of(it, "name"), str_of(it, "call_id"), 0);
        else if (strcmp(type, "function_call_output") == 0 ||
                 strcmp(type, "custom_tool_call_output") == 0)
            add_content(d, SK_SIM_ITEM_RESULT, json_object_get(it, "output"),
                        str_of(it, "call_id"), 0);
    }
    json_array_foreach(json_object_get(root, "tools"), i, t)
    {
        const char *type = str_of(t, "type");
        json_t *sub;
        if (type && strcmp(type, "namespace") == 0) {
            json_array_foreach(json_object_get(t, "tools"), j, sub)
                add_tool(d, str_of(sub, "name"), 0);
        } else {
            add_tool(d, str_of(t, "name"), type && strcmp(type, "custom") == 0);
        }
    }
}

static void decode_chat(struct decoded *d)
{
    json_t *m, *tc, *t;
    size_t i, j;

    json_array_foreach(json_object_get(d->root, "messages"), i, m)
    {
        const char *role = str_of(m, "role");
        json_t *c = json_object_get(m, "content");

        if (role && strcmp(role, "tool") == 0) {
            add_content(d, SK_SIM_ITEM_RESULT, c, str_of(m, "tool_call_id"), 0);
            continue;
        }
        if (c && !json_is_null(c))
            add_content(d, role_kind(role), c, NULL, 0);
        json_array_foreach(json_object_get(m, "tool_calls"), j, tc)
        {
            json_t *fn = json_object_get(tc, "function");
            add_item(d, SK_SIM_ITEM_CALL,
                     dump_args(d, json_object_get(fn, "arguments")),
                     str_of(fn, "name"), str_of(tc, "id"), 0);
        }
    }
    json_array_foreach(json_object_get(d->root, "tools"), i, t)
        add_tool(d, str_of(json_object_get(t, "function"), "name"), 0);
}

/*
 * Parses the body.  Returns 0, SK_ENOMEM, or SK_EPARSE with msg set (the
 * client's fault: a 400).
 */
static int decode(const struct sk_sim_request *req, enum sk_sim_wire wire,
                  struct decoded *d, char *msg, size_t cap)
{
    json_error_t jerr;
    const char *list = wire == SK_SIM_WIRE_RESPONSES ? "input" : "messages";
    json_t *v;

    memset(d, 0, sizeof(*d));
    d->root = sk_json_loadb(req->body, req->body_len, 0, &jerr);
    if (!d->root) {
        if (sk_json_oom(&jerr))
            return SK_ENOMEM;
        snprintf(msg, cap, "could not parse the JSON body: %s", jerr.text);
        return SK_EPARSE;
    }
    v = json_object_get(d->root, list);
    if (!json_is_object(d->root) ||
        !(json_is_array(v) ||
          (wire == SK_SIM_WIRE_RESPONSES && json_is_string(v)))) {
        snprintf(msg, cap, "'%s' must be an array", list);
        return SK_EPARSE;
    }
    if (wire == SK_SIM_WIRE_MESSAGES)
        decode_messages(d);
    else if (wire == SK_SIM_WIRE_RESPONSES)
        decode_responses(d);
    else
        decode_chat(d);
    if (d->oom)
        return SK_ENOMEM;
    d->turn.wire = wire;
    d->turn.model = str_of(d->root, "model") ? str_of(d->root, "model") : "";
    d->turn.stream = json_is_true(json_object_get(d->root, "stream"));
    d->turn.items = d->items;
    d->turn.n_items = d->n_items;
    d->turn.tools = (const char *const *)d->tools;
    d->turn.tool_freeform = d->freeform;
    d->turn.n_tools = d->n_tools;
    d->turn.http = req;
    return 0;
}

/* ---- replies --------------------------------------------------------- */

static int reply_header(struct sk_sim_reply *r, const char *name,
                        const char *value)
{
    char **nn, **vv;

    nn = sk_realloc(r->header_names, (r->n_headers + 1) * sizeof(*nn));
    if (!nn)
        return SK_ENOMEM;
    r->header_names = nn;
    vv = sk_realloc(r->header_values, (r->n_headers + 1) * sizeof(*vv));
    if (!vv)
        return SK_ENOMEM;
    r->header_values = vv;
    nn[r->n_headers] = sk_strdup(name);
    vv[r->n_headers] = sk_strdup(value);
    r->n_headers++; /* counted even if a copy failed: the server skips
                       NULL names and frees both arrays */
    if (!nn[r->n_headers - 1] || !vv[r->n_headers - 1])
        return SK_ENOMEM;
    return 0;
}

/* Sets the body from a JSON value (taken). */
static int reply_json(struct sk_sim_reply *r, int status, json_t *v_take)
{
    if (!v_take)
        return SK_ENOMEM;
    sk_free(r->body);
    r->body = json_dumps(v_take, JSON_COMPACT);
    json_decref(v_take);
    if (!r->body)
        return SK_ENOMEM;
    r->body_len = strlen(r->body);
    r->status = status;
    return 0;
}

static const char *anthropic_error_type(int status)
{
    switch (status) {
    case 400:
        return "invalid_request_error";
    case 401:
        return "authentication_error";
    case 403:
        return "permission_error";
    case 404:
        return "not_found_error";
    case 413:
        return "request_too_large";
    case 429:
        return "rate_limit_error";
    case 529:
        return "overloaded_error";
    default:
        return "api_error";
    }
}

static const char *stock_message(enum sk_sim_wire wire, int status)
{
    switch (status) {
    case 401:
        return wire == SK_SIM_WIRE_MESSAGES
                   ? "invalid x-api-key (simulated)"
                   : "Incorrect API key provided (simulated)";
    case 403:
        return "permission denied (simulated)";
    case 429:
        return "Rate limit reached (simulated). Please try again later.";
    case 500:
        return "internal server error (simulated)";
    case 529:
        return "Overloaded (simulated)";
    default:
        return "request failed (simulated)";
    }
}

/* An error in the wire's format; retry_after_s >= 0 adds Retry-After. */
static int reply_wire_error(struct sk_sim_reply *r, enum sk_sim_wire wire,
                            int status, const char *message, int retry_after_s)
{
    json_t *v;

    if (!message)
        message = stock_message(wire, status);
    if (wire == SK_SIM_WIRE_MESSAGES) {
        v = json_pack("{s:s,s:{s:s,s:s}}", "type", "error", "error", "type",
                      anthropic_error_type(status), "message", message);
    } else {
        const char *type = status == 401   ? "invalid_request_error"
                           : status == 429 ? "requests"
                           : status >= 500 ? "server_error"
                                           : "invalid_request_error";
        const char *code = status == 401   ? "invalid_api_key"
                           : status == 429 ? "rate_limit_exceeded"
                                           : NULL;
        v = json_pack("{s:{s:s,s:s,s:n,s:s?}}", "error", "message", message,
                      "type", type, "param", "code", code);
    }
    if (reply_json(r, status, v))
        return SK_ENOMEM;
    if (status == 429 && retry_after_s >= 0) {
        char secs[32];
        snprintf(secs, sizeof(secs), "%d", retry_after_s);
        return reply_header(r, "Retry-After", secs);
    }
    return 0;
}

/* ---- encoding -------------------------------------------------------- */

/* What every encoder needs, prepared once. */
struct enc {
    const struct sk_sim_turn *t;
    const struct sk_sim_answer *a;
    const char *model;
    json_t **args; /* per call: the parsed arguments (NULL: freeform) */
    char **ids;    /* per call */
    uint64_t in, out;
    size_t serial; /* makes ids unique within a conversation */
    struct sk_buf sse;
    int seq; /* Responses sequence_number */
};

static void enc_release(struct enc *e)
{
    size_t i;

    for (i = 0; e->a && i < e->a->n_calls; i++) {
        if (e->args)
            json_decref(e->args[i]);
        if (e->ids)
            sk_free(e->ids[i]);
    }
    sk_free(e->args);
    sk_free(e->ids);
    sk_buf_release(&e->sse);
}

/* Returns 0, SK_ENOMEM, or SK_EPARSE (a call's arguments are not a JSON
 * object: the agent's mistake). */
static int enc_prepare(struct enc *e, const struct sk_sim_turn *t,
                       const struct sk_sim_answer *a)
{
    const char *prefix = t->wire == SK_SIM_WIRE_MESSAGES ? "toolu" : "call";
    size_t i, n, out_bytes = a->text ? strlen(a->text) : 0;

    memset(e, 0, sizeof(*e));
    sk_buf_init(&e->sse, SK_BUF_UNLIMITED);
    e->t = t;
    e->a = a;
    e->model = *t->model ? t->model : AGENT_MODEL;
    e->serial = t->n_items;
    n = a->n_calls ? a->n_calls : 1;
    e->args = sk_calloc(n, sizeof(*e->args));
    e->ids = sk_calloc(n, sizeof(*e->ids));
    if (!e->args || !e->ids)
        return SK_ENOMEM;
    for (i = 0; i < a->n_calls; i++) {
        const struct sk_sim_call *c = &a->calls[i];
        char id[64];

        if (!c->name)
            return SK_EPARSE;
        out_bytes +=
            strlen(c->name) + (c->arguments ? strlen(c->arguments) : 0);
        if (!(c->freeform && t->wire == SK_SIM_WIRE_RESPONSES)) {
            json_error_t jerr;
            e->args[i] = sk_json_loadb(c->arguments ? c->arguments : "{}",
                                       c->arguments ? strlen(c->arguments) : 2,
                                       0, &jerr);
            if (!e->args[i])
                return sk_json_oom(&jerr) ? SK_ENOMEM : SK_EPARSE;
            if (!json_is_object(e->args[i]))
                return SK_EPARSE;
        }
        snprintf(id, sizeof(id), "%s_sim_%zu_%zu", prefix, e->serial, i);
        e->ids[i] = sk_strdup(c->id ? c->id : id);
        if (!e->ids[i])
            return SK_ENOMEM;
    }
    e->in = a->input_tokens                        ? a->input_tokens
            : t->http && t->http->body_len / 4 > 0 ? t->http->body_len / 4
                                                   : 1;
    e->out = a->output_tokens    ? a->output_tokens
             : out_bytes / 4 > 0 ? out_bytes / 4
                                 : 1;
    return 0;
}

/* Compact JSON text of a call's arguments (sk_malloc'd). */
static char *enc_args_text(const struct enc *e, size_t i)
{
    if (!e->args[i])
        return sk_strdup(e->a->calls[i].arguments ? e->a->calls[i].arguments
                                                  : "");
    return json_dumps(e->args[i], JSON_COMPACT);
}

/* Length of the next chunk of s: at most AGENT_CHUNK bytes, never ending
 * inside a UTF-8 sequence, at least one character. */
static size_t chunk_len(const char *s, size_t len)
{
    size_t n;

    if (len <= AGENT_CHUNK)
        return len;
    n = AGENT_CHUNK;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    if (n == 0) {
        n = 1;
        while (n < len && ((unsigned char)s[n] & 0xC0) == 0x80)
            n++;
    }
    return n;
}

/* Appends "event: NAME\ndata: JSON\n\n" (name NULL: data line only). */
static int sse_put(struct enc *e, const char *name, json_t *data_take)
{
    char *s;
    int rc;

    if (!data_take)
        return SK_ENOMEM;
    s = json_dumps(data_take, JSON_COMPACT);
    json_decref(data_take);
    if (!s)
        return SK_ENOMEM;
    rc = name ? sk_buf_printf(&e->sse, "event: %s\ndata: %s\n\n", name, s)
              : sk_buf_printf(&e->sse, "data: %s\n\n", s);
    sk_free(s);
    return rc;
}

/* Moves the stream into the reply as text/event-stream. */
static int reply_sse(struct sk_sim_reply *r, struct enc *e)
{
    size_t len;

    sk_free(r->body);
    r->body = sk_buf_detach(&e->sse, &len);
    if (!r->body)
        return SK_ENOMEM;
    r->body_len = len;
    r->status = 200;
    r->content_type = sk_strdup("text/event-stream");
    if (!r->content_type)
        return SK_ENOMEM;
    return reply_header(r, "Cache-Control", "no-cache");
}

/* -- Anthropic Messages -- */

static json_t *msg_usage(const struct enc *e, int with_input)
{
    if (!with_input)
        return json_pack("{s:I}", "output_tokens", (json_int_t)e->out);
    return json_pack("{s:I,s:I,s:i,s:i}", "input_tokens", (json_int_t)e->in,
                     "output_tokens", (json_int_t)e->out,
                     "cache_creation_input_tokens", 0,
                     "cache_read_input_tokens", 0);
}

static json_t *msg_object(const struct enc *e, int empty)
{
    json_t *content = json_array();
    json_t *m;
    size_t i;
    char id[64];

    if (!content)
        return NULL;
    for (i = 0; !empty && i < e->a->n_calls + 1; i++) {
        json_t *blk;
        if (i == 0) {
            if (!e->a->text)
                continue;
            blk = json_pack("{s:s,s:s}", "type", "text", "text", e->a->text);
        } else {
            blk = json_pack("{s:s,s:s,s:s,s:O}", "type", "tool_use", "id",
                            e->ids[i - 1], "name", e->a->calls[i - 1].name,
                            "input", e->args[i - 1]);
        }
        if (json_array_append_new(content, blk)) {
            json_decref(content);
            return NULL;
        }
    }
    snprintf(id, sizeof(id), "msg_sim_%zu", e->serial);
    m = json_pack("{s:s,s:s,s:s,s:s,s:o,s:s?,s:n,s:o}", "id", id, "type",
                  "message", "role", "assistant", "model", e->model, "content",
                  content, "stop_reason",
                  empty           ? NULL
                  : e->a->n_calls ? "tool_use"
                                  : "end_turn",
                  "stop_sequence", "usage", msg_usage(e, 1));
    return m;
}

static int msg_delta_chunks(struct enc *e, int index, const char *kind,
                            const char *field, const char *s)
{
    size_t len = strlen(s), off = 0;

    while (off < len) {
        size_t n = chunk_len(s + off, len - off);
        json_t *d =
            json_pack("{s:s,s:i,s:{s:s,s:s%}}", "type", "content_block_delta",
                      "index", index, "delta", "type", kind, field, s + off, n);
        if (sse_put(e, "content_block_delta", d))
            return SK_ENOMEM;
        off += n;
    }
    return 0;
}

static int msg_stream(struct enc *e)
{
    int index = 0, rc = SK_ENOMEM;
    size_t i;
    char *args = NULL;

    if (sse_put(e, "message_start",
                json_pack("{s:s,s:o}", "type", "message_start", "message",
                          msg_object(e, 1))) ||
        sse_put(e, "ping", json_pack("{s:s}", "type", "ping")))
        return SK_ENOMEM;
    if (e->a->text) {
        if (sse_put(e, "content_block_start",
                    json_pack("{s:s,s:i,s:{s:s,s:s}}", "type",
                              "content_block_start", "index", index,
                              "content_block", "type", "text", "text", "")) ||
            msg_delta_chunks(e, index, "text_delta", "text", e->a->text) ||
            sse_put(e, "content_block_stop",
                    json_pack("{s:s,s:i}", "type", "content_block_stop",
                              "index", index)))
            return SK_ENOMEM;
        index++;
    }
    for (i = 0; i < e->a->n_calls; i++, index++) {
        args = enc_args_text(e, i);
        if (!args)
            goto out;
        if (sse_put(e, "content_block_start",
                    json_pack("{s:s,s:i,s:{s:s,s:s,s:s,s:{}}}", "type",
                              "content_block_start", "index", index,
                              "content_block", "type", "tool_use", "id",
                              e->ids[i], "name", e->a->calls[i].name,
                              "input")) ||
            msg_delta_chunks(e, index, "input_json_delta", "partial_json",
                             args) ||
            sse_put(e, "content_block_stop",
                    json_pack("{s:s,s:i}", "type", "content_block_stop",
                              "index", index)))
            goto out;
        sk_free(args);
        args = NULL;
    }
    if (sse_put(e, "message_delta",
                json_pack("{s:s,s:{s:s,s:n},s:o}", "type", "message_delta",
                          "delta", "stop_reason",
                          e->a->n_calls ? "tool_use" : "end_turn",
                          "stop_sequence", "usage", msg_usage(e, 0))) ||
        sse_put(e, "message_stop", json_pack("{s:s}", "type", "message_stop")))
        goto out;
    rc = 0;
out:
    sk_free(args);
    return rc;
}

/* -- OpenAI Responses -- */

/* Output item i (0: the message, k>0: call k-1) in its final form, or
 * with empty content/arguments when !done. */
static json_t *resp_item(const struct enc *e, size_t k, int done)
{
    char id[64];
    const char *status = done ? "completed" : "in_progress";

    if (k == 0) {
        snprintf(id, sizeof(id), "msg_sim_%zu", e->serial);
        if (!done)
            return json_pack("{s:s,s:s,s:s,s:s,s:[]}", "id", id, "type",
                             "message", "status", status, "role", "assistant",
                             "content");
        return json_pack("{s:s,s:s,s:s,s:s,s:[{s:s,s:s,s:[]}]}", "id", id,
                         "type", "message", "status", status, "role",
                         "assistant", "content", "type", "output_text", "text",
                         e->a->text, "annotations");
    }
    k--;
    snprintf(id, sizeof(id), "fc_sim_%zu_%zu", e->serial, k);
    if (!e->args[k])
        return json_pack(
            "{s:s,s:s,s:s,s:s,s:s,s:s}", "id", id, "type", "custom_tool_call",
            "status", status, "call_id", e->ids[k], "name", e->a->calls[k].name,
            "input",
            done && e->a->calls[k].arguments ? e->a->calls[k].arguments : "");
    {
        char *args = done ? json_dumps(e->args[k], JSON_COMPACT) : NULL;
        json_t *v;
        if (done && !args)
            return NULL;
        v = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "id", id, "type",
                      "function_call", "status", status, "call_id", e->ids[k],
                      "name", e->a->calls[k].name, "arguments",
                      args ? args : "");
        sk_free(args);
        return v;
    }
}

static json_t *resp_object(const struct enc *e, int done)
{
    json_t *out = json_array(), *v;
    size_t k;
    char id[64];

    if (!out)
        return NULL;
    for (k = 0; done && k < e->a->n_calls + 1; k++) {
        if (k == 0 && !e->a->text)
            continue;
        if (json_array_append_new(out, resp_item(e, k, 1))) {
            json_decref(out);
            return NULL;
        }
    }
    snprintf(id, sizeof(id), "resp_sim_%zu", e->serial);
    v = json_pack("{s:s,s:s,s:I,s:s,s:s,s:o}", "id", id, "object", "response",
                  "created_at", (json_int_t)AGENT_CREATED, "status",
                  done ? "completed" : "in_progress", "model", e->model,
                  "output", out);
    if (done)
        v = with(v, "usage",
                 json_pack("{s:I,s:{s:i},s:I,s:{s:i},s:I}", "input_tokens",
                           (json_int_t)e->in, "input_tokens_details",
                           "cached_tokens", 0, "output_tokens",
                           (json_int_t)e->out, "output_tokens_details",
                           "reasoning_tokens", 0, "total_tokens",
                           (json_int_t)(e->in + e->out)));
    return v;
}

/* One Responses event: sets type and sequence_number on obj_take. */
static int resp_put(struct enc *e, const char *type, json_t *obj_take)
{
    if (!obj_take)
        return SK_ENOMEM;
    if (json_object_set_new(obj_take, "type", json_string(type)) ||
        json_object_set_new(obj_take, "sequence_number",
                            json_integer(e->seq++))) {
        json_decref(obj_take);
        return SK_ENOMEM;
    }
    return sse_put(e, type, obj_take);
}

static int resp_deltas(struct enc *e, const char *type, const char *item_id,
                       int index, int with_content_index, const char *s)
{
    size_t len = strlen(s), off = 0;

    while (off < len) {
        size_t n = chunk_len(s + off, len - off);
        json_t *d = json_pack("{s:s,s:i,s:s%}", "item_id", item_id,
                              "output_index", index, "delta", s + off, n);
        if (with_content_index)
            d = with(d, "content_index", json_integer(0));
        if (resp_put(e, type, d))
            return SK_ENOMEM;
        off += n;
    }
    return 0;
}

static int resp_stream(struct enc *e)
{
    size_t k;
    int index = 0;

    if (resp_put(e, "response.created",
                 json_pack("{s:o}", "response", resp_object(e, 0))) ||
        resp_put(e, "response.in_progress",
                 json_pack("{s:o}", "response", resp_object(e, 0))))
        return SK_ENOMEM;
    for (k = 0; k < e->a->n_calls + 1; k++) {
        json_t *done;
        const char *item_id;

        if (k == 0 && !e->a->text)
            continue;
        done = resp_item(e, k, 1);
        if (!done)
            return SK_ENOMEM;
        item_id = str_of(done, "id");
        if (resp_put(e, "response.output_item.added",
                     json_pack("{s:i,s:o}", "output_index", index, "item",
                               resp_item(e, k, 0))))
            goto fail;
        if (k == 0) {
            json_t *part = json_pack("{s:s,s:s,s:[]}", "type", "output_text",
                                     "text", "", "annotations");
            if (resp_put(e, "response.content_part.added",
                         json_pack("{s:s,s:i,s:i,s:o}", "item_id", item_id,
                                   "output_index", index, "content_index", 0,
                                   "part", part)) ||
                resp_deltas(e, "response.output_text.delta", item_id, index, 1,
                            e->a->text) ||
                resp_put(e, "response.output_text.done",
                         json_pack("{s:s,s:i,s:i,s:s}", "item_id", item_id,
                                   "output_index", index, "content_index", 0,
                                   "text", e->a->text)) ||
                resp_put(e, "response.content_part.done",
                         json_pack("{s:s,s:i,s:i,s:{s:s,s:s,s:[]}}", "item_id",
                                   item_id, "output_index", index,
                                   "content_index", 0, "part", "type",
                                   "output_text", "text", e->a->text,
                                   "annotations")))
                goto fail;
        } else if (!e->args[k - 1]) {
            const char *input = str_of(done, "input");
            if (resp_deltas(e, "response.custom_tool_call_input.delta", item_id,
                            index, 0, input) ||
                resp_put(e, "response.custom_tool_call_input.done",
                         json_pack("{s:s,s:i,s:s}", "item_id", item_id,
                                   "output_index", index, "input", input)))
                goto fail;
        } else {
            const char *args = str_of(done, "arguments");
            if (resp_deltas(e, "response.function_call_arguments.delta",
                            item_id, index, 0, args) ||
                resp_put(e, "response.function_call_arguments.done",
                         json_pack("{s:s,s:i,s:s}", "item_id", item_id,
                                   "output_index", index, "arguments", args)))
                goto fail;
        }
        if (resp_put(
                e, "response.output_item.done",
                json_pack("{s:i,s:O}", "output_index", index, "item", done)))
            goto fail;
        json_decref(done);
        index++;
        continue;
    fail:
        json_decref(done);
        return SK_ENOMEM;
    }
    return resp_put(e, "response.completed",
                    json_pack("{s:o}", "response", resp_object(e, 1)));
}

/* -- chat completions -- */

static json_t *chat_calls(const struct enc *e, int with_index)
{
    json_t *calls = json_array();
    size_t i;

    for (i = 0; calls && i < e->a->n_calls; i++) {
        char *args = enc_args_text(e, i);
        json_t *c = args ? json_pack("{s:s,s:s,s:{s:s,s:s}}", "id", e->ids[i],
                                     "type", "function", "function", "name",
                                     e->a->calls[i].name, "arguments", args)
                         : NULL;
        sk_free(args);
        if (with_index)
            c = with(c, "index", json_integer((json_int_t)i));
        if (json_array_append_new(calls, c)) {
            json_decref(calls);
            return NULL;
        }
    }
    return calls;
}

static json_t *chat_usage(const struct enc *e)
{
    return json_pack("{s:I,s:I,s:I}", "prompt_tokens", (json_int_t)e->in,
                     "completion_tokens", (json_int_t)e->out, "total_tokens",
                     (json_int_t)(e->in + e->out));
}

static json_t *chat_object(const struct enc *e)
{
    json_t *msg =
        json_pack("{s:s,s:s?}", "role", "assistant", "content", e->a->text);

    if (e->a->n_calls)
        msg = with(msg, "tool_calls", chat_calls(e, 0));
    return json_pack("{s:s,s:s,s:I,s:s,s:[{s:i,s:o,s:s}],s:o}", "id",
                     "chatcmpl-sim", "object", "chat.completion", "created",
                     (json_int_t)AGENT_CREATED, "model", e->model, "choices",
                     "index", 0, "message", msg, "finish_reason",
                     e->a->n_calls ? "tool_calls" : "stop", "usage",
                     chat_usage(e));
}

static json_t *chat_chunk(const struct enc *e, json_t *delta, const char *fin)
{
    return json_pack(
        "{s:s,s:s,s:I,s:s,s:[{s:i,s:o,s:s?}]}", "id", "chatcmpl-sim", "object",
        "chat.completion.chunk", "created", (json_int_t)AGENT_CREATED, "model",
        e->model, "choices", "index", 0, "delta", delta, "finish_reason", fin);
}

static int chat_stream(struct enc *e)
{
    const char *t = e->a->text;
    size_t len = t ? strlen(t) : 0, off = 0;
    json_t *last;

    if (sse_put(e, NULL,
                chat_chunk(
                    e,
                    json_pack("{s:s,s:s}", "role", "assistant", "content", ""),
                    NULL)))
        return SK_ENOMEM;
    while (off < len) {
        size_t n = chunk_len(t + off, len - off);
        if (sse_put(e, NULL,
                    chat_chunk(e, json_pack("{s:s%}", "content", t + off, n),
                               NULL)))
            return SK_ENOMEM;
        off += n;
    }
    if (e->a->n_calls &&
        sse_put(e, NULL,
                chat_chunk(e,
                           json_pack("{s:o}", "tool_calls", chat_calls(e, 1)),
                           NULL)))
        return SK_ENOMEM;
    last = chat_chunk(e, json_object(), e->a->n_calls ? "tool_calls" : "stop");
    last = with(last, "usage", chat_usage(e));
    if (sse_put(e, NULL, last))
        return SK_ENOMEM;
    return sk_buf_puts(&e->sse, "data: [DONE]\n\n");
}

/* Encodes the answer for the turn's wire. */
static int encode(const struct sk_sim_turn *t, const struct sk_sim_answer *a,
                  struct sk_sim_reply *r)
{
    struct enc e;
    int rc;

    if (a->status)
        return reply_wire_error(r, t->wire, a->status, a->error,
                                a->retry_after_s > 0 ? a->retry_after_s : 1);
    rc = enc_prepare(&e, t, a);
    if (rc == SK_EPARSE) {
        rc = reply_wire_error(r, t->wire, 500,
                              "the agent answered a tool call whose "
                              "arguments are not a JSON object",
                              -1);
        goto out;
    }
    if (rc)
        goto out;
    if (t->wire == SK_SIM_WIRE_MESSAGES)
        rc = t->stream ? msg_stream(&e) : reply_json(r, 200, msg_object(&e, 0));
    else if (t->wire == SK_SIM_WIRE_RESPONSES)
        rc = t->stream ? resp_stream(&e)
                       : reply_json(r, 200, resp_object(&e, 1));
    else
        rc = t->stream ? chat_stream(&e) : reply_json(r, 200, chat_object(&e));
    if (rc == 0 && t->stream)
        rc = reply_sse(r, &e);
out:
    enc_release(&e);
    return rc;
}

/* ---- the default (echo) agent ---------------------------------------- */

static size_t utf8_cut(const char *s, size_t len, size_t max)
{
    size_t n = len < max ? len : max;

    if (n == len)
        return n;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

static int echo_agent(void *ud, const struct sk_sim_turn *t,
                      struct sk_sim_answer *a)
{
    const char *user = "";
    struct sk_buf b;
    size_t i;
    int rc;

    (void)ud;
    for (i = t->n_items; i > 0; i--)
        if (t->items[i - 1].kind == SK_SIM_ITEM_USER) {
            user = t->items[i - 1].text;
            break;
        }
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    rc = sk_buf_puts(&b, "echo: ");
    if (rc == 0)
        rc = sk_buf_append(&b, user,
                           utf8_cut(user, strlen(user), AGENT_ECHO_BYTES));
    if (rc == 0)
        rc = sk_sim_answer_set_text(a, sk_buf_cstr(&b));
    sk_buf_release(&b);
    return rc;
}

/* ---- the responder --------------------------------------------------- */

static int path_is(const struct sk_sim_request *req, const char *method,
                   const char *path)
{
    return strcmp(req->method, method) == 0 &&
           (strcmp(req->path, path) == 0 ||
            (strncmp(path, "/v1", 3) == 0 && strcmp(req->path, path + 3) == 0));
}

static int has_header(const struct sk_sim_request *req, const char *name)
{
    size_t i;

    for (i = 0; i < req->n_headers; i++)
        if (strcmp(req->header_names[i], name) == 0)
            return 1;
    return 0;
}

static int count_tokens(const struct sk_sim_request *req,
                        struct sk_sim_reply *r)
{
    json_error_t jerr;
    json_t *root = sk_json_loadb(req->body, req->body_len, 0, &jerr);
    int ok = json_is_object(root);

    json_decref(root);
    if (!root && sk_json_oom(&jerr))
        return SK_ENOMEM;
    if (!ok)
        return reply_wire_error(r, SK_SIM_WIRE_MESSAGES, 400,
                                "could not parse the JSON body", -1);
    return reply_json(
        r, 200,
        json_pack("{s:I}", "input_tokens",
                  (json_int_t)(req->body_len / 4 > 0 ? req->body_len / 4 : 1)));
}

static int models(const struct sk_sim_request *req, struct sk_sim_reply *r)
{
    if (has_header(req, "anthropic-version"))
        return reply_json(r, 200,
                          json_pack("{s:[{s:s,s:s,s:s,s:s}],s:b,s:s,s:s}",
                                    "data", "type", "model", "id", AGENT_MODEL,
                                    "display_name", "Simulated model",
                                    "created_at", "2023-11-14T22:13:20Z",
                                    "has_more", 0, "first_id", AGENT_MODEL,
                                    "last_id", AGENT_MODEL));
    return reply_json(r, 200,
                      json_pack("{s:s,s:[{s:s,s:s,s:i,s:s}]}", "object", "list",
                                "data", "id", AGENT_MODEL, "object", "model",
                                "created", 0, "owned_by", "skillopt-sim"));
}

static int agent_turn(const struct sk_sim_agent *ag,
                      const struct sk_sim_request *req, enum sk_sim_wire wire,
                      struct sk_sim_reply *r)
{
    struct decoded d;
    struct sk_sim_answer a;
    char msg[300];
    int rc;

    memset(&a, 0, sizeof(a));
    rc = decode(req, wire, &d, msg, sizeof(msg));
    if (rc == SK_EPARSE) {
        rc = reply_wire_error(r, wire, 400, msg, -1);
        goto out;
    }
    if (rc)
        goto out;
    if ((ag && ag->fn ? ag->fn(ag->ud, &d.turn, &a)
                      : echo_agent(NULL, &d.turn, &a)) != 0) {
        rc = reply_wire_error(r, wire, 500, "the agent failed", -1);
        goto out;
    }
    rc = encode(&d.turn, &a, r);
out:
    sk_sim_answer_release(&a);
    decoded_release(&d);
    return rc;
}

/* Routes one request (see sim_agent.h); 0, or SK_ENOMEM with a partial
 * reply the server frees. */
int sk_sim_agent_respond(void *ud, const struct sk_sim_request *req,
                         struct sk_sim_reply *r)
{
    const struct sk_sim_agent *ag = ud;
    char msg[300];

    if (path_is(req, "POST", "/v1/messages"))
        return agent_turn(ag, req, SK_SIM_WIRE_MESSAGES, r);
    if (path_is(req, "POST", "/v1/responses"))
        return agent_turn(ag, req, SK_SIM_WIRE_RESPONSES, r);
    if (path_is(req, "POST", "/v1/chat/completions"))
        return agent_turn(ag, req, SK_SIM_WIRE_CHAT, r);
    if (path_is(req, "POST", "/v1/messages/count_tokens"))
        return count_tokens(req, r);
    if (path_is(req, "GET", "/v1/models"))
        return models(req, r);
    if ((strcmp(req->method, "HEAD") == 0 || strcmp(req->method, "GET") == 0) &&
        (strcmp(req->path, "/") == 0 || strcmp(req->path, "/api/hello") == 0)) {
        r->status = 200;
        r->content_type = sk_strdup("text/plain");
        return r->content_type ? 0 : SK_ENOMEM;
    }
    snprintf(msg, sizeof(msg), "unknown endpoint: %.20s %.200s", req->method,
             req->path);
    return reply_wire_error(r,
                            has_header(req, "anthropic-version")
                                ? SK_SIM_WIRE_MESSAGES
                                : SK_SIM_WIRE_CHAT,
                            404, msg, -1);
}

/* The default responder's share: Messages and Responses turns with the
 * echo agent.  Other requests are not routed here. */
int sim_agent_echo(const struct sk_sim_request *req, struct sk_sim_reply *r)
{
    return sk_sim_agent_respond(NULL, req, r);
}

/* ---- answers --------------------------------------------------------- */

/* Frees the answer's strings and calls; leaves it zeroed. */
void sk_sim_answer_release(struct sk_sim_answer *a)
{
    size_t i;

    for (i = 0; i < a->n_calls; i++) {
        sk_free(a->calls[i].id);
        sk_free(a->calls[i].name);
        sk_free(a->calls[i].arguments);
    }
    sk_free(a->calls);
    sk_free(a->text);
    sk_free(a->error);
    memset(a, 0, sizeof(*a));
}

/* Replaces the text with a copy; 0 or SK_ENOMEM (text unchanged). */
int sk_sim_answer_set_text(struct sk_sim_answer *a, const char *text)
{
    char *t = sk_strdup(text ? text : "");

    if (!t)
        return SK_ENOMEM;
    sk_free(a->text);
    a->text = t;
    return 0;
}

/* Appends a call with copies of name and arguments (NULL: "{}"); 0, or
 * SK_ENOMEM with the answer unchanged. */
int sk_sim_answer_add_call(struct sk_sim_answer *a, const char *name,
                           const char *arguments, int freeform)
{
    struct sk_sim_call *calls, *c;

    calls = sk_realloc(a->calls, (a->n_calls + 1) * sizeof(*calls));
    if (!calls)
        return SK_ENOMEM;
    a->calls = calls;
    c = &calls[a->n_calls];
    memset(c, 0, sizeof(*c));
    c->name = sk_strdup(name ? name : "");
    c->arguments = sk_strdup(arguments ? arguments : "{}");
    c->freeform = freeform;
    if (!c->name || !c->arguments) {
        sk_free(c->name);
        sk_free(c->arguments);
        return SK_ENOMEM;
    }
    a->n_calls++;
    return 0;
}

/* 1 if a tool of that exact name is offered. */
int sk_sim_turn_has_tool(const struct sk_sim_turn *t, const char *name)
{
    size_t i;

    for (i = 0; i < t->n_tools; i++)
        if (strcmp(t->tools[i], name) == 0)
            return 1;
    return 0;
}
