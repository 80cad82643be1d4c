/*
 * test_sim_agent.c - the simulator's agent wires over HTTP (libcurl):
 * Anthropic Messages and OpenAI Responses event streams (order, JSON,
 * reassembled deltas), tool calls and tool results both ways, chat
 * completions with tools, errors in each wire's format, the auxiliary
 * endpoints, the default echo agent, the scripted agent, and an
 * allocation-failure sweep of the responder.
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "llm/sim.h"
#include "llm/sim_agent.h"
#include "testutil.h"
#include "util/alloc.h"
#include "util/buf.h"

#define MAX_EVENTS 512

/* ---- HTTP ------------------------------------------------------------ */

struct http_result {
    long status;
    struct sk_buf body;
    struct sk_buf headers;
};

static size_t on_write(char *p, size_t size, size_t n, void *ud)
{
    if (sk_buf_append(ud, p, size * n))
        return 0;
    return size * n;
}

/* method path on the sim; hdrs: NULL-terminated "Name: value" list. */
static void http(struct sk_sim *s, const char *method, const char *path,
                 const char *body, const char *const *hdrs,
                 struct http_result *r)
{
    CURL *h = curl_easy_init();
    struct curl_slist *list = NULL;
    char url[256];

    assert_non_null(h);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", sk_sim_port(s), path);
    sk_buf_init(&r->body, SK_BUF_UNLIMITED);
    sk_buf_init(&r->headers, SK_BUF_UNLIMITED);
    list = curl_slist_append(list, "Content-Type: application/json");
    for (; hdrs && *hdrs; hdrs++)
        list = curl_slist_append(list, *hdrs);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    else
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &r->headers);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(list);
    curl_easy_cleanup(h);
}

static void result_release(struct http_result *r)
{
    sk_buf_release(&r->body);
    sk_buf_release(&r->headers);
}

static int has_header_line(const struct http_result *r, const char *line)
{
    return strstr(sk_buf_cstr(&r->headers), line) != NULL;
}

static json_t *body_json(const struct http_result *r)
{
    json_t *v = json_loadb(sk_buf_cstr(&r->body), r->body.len, 0, NULL);

    assert_non_null(v);
    return v;
}

/* ---- server-sent events ---------------------------------------------- */

struct sse {
    char *names[MAX_EVENTS]; /* "" for a data-only event */
    json_t *data[MAX_EVENTS];
    size_t n;
    int done; /* saw "data: [DONE]" */
};

/* Parses a whole event stream; every data line must be JSON. */
static void sse_parse(const char *body, struct sse *ev)
{
    const char *p = body;

    memset(ev, 0, sizeof(*ev));
    while (*p) {
        const char *end = strstr(p, "\n\n");
        char name[128] = "";
        const char *line = p;

        assert_non_null(end); /* every event ends with a blank line */
        while (line < end) {
            const char *nl = memchr(line, '\n', (size_t)(end - line));
            size_t len = nl ? (size_t)(nl - line) : (size_t)(end - line);
            if (strncmp(line, "event: ", 7) == 0) {
                assert_true(len - 7 < sizeof(name));
                memcpy(name, line + 7, len - 7);
                name[len - 7] = '\0';
            } else if (len == 12 && strncmp(line, "data: [DONE]", 12) == 0) {
                ev->done = 1;
            } else {
                json_error_t jerr;
                assert_int_equal(strncmp(line, "data: ", 6), 0);
                assert_true(ev->n < MAX_EVENTS);
                ev->data[ev->n] = json_loadb(line + 6, len - 6, 0, &jerr);
                if (!ev->data[ev->n])
                    fail_msg("event data is not JSON: %s", jerr.text);
                ev->names[ev->n] = sk_strdup(name);
                ev->n++;
            }
            line = nl ? nl + 1 : end;
        }
        p = end + 2;
    }
}

static void sse_release(struct sse *ev)
{
    size_t i;

    for (i = 0; i < ev->n; i++) {
        sk_free(ev->names[i]);
        json_decref(ev->data[i]);
    }
}

/* The event names with runs of one name collapsed ("x*" for a run of
 * more than one), joined with spaces. */
static void sse_shape(const struct sse *ev, char *out, size_t cap)
{
    size_t i, len = 0;

    out[0] = '\0';
    for (i = 0; i < ev->n; i++) {
        int run = i + 1 < ev->n && strcmp(ev->names[i], ev->names[i + 1]) == 0;
        if (i > 0 && strcmp(ev->names[i], ev->names[i - 1]) == 0)
            continue;
        len += (size_t)snprintf(out + len, cap - len, "%s%s%s", len ? " " : "",
                                ev->names[i], run ? "*" : "");
        assert_true(len < cap);
    }
}

static const char *jstr(json_t *o, const char *path)
{
    char key[64];
    const char *dot;

    while ((dot = strchr(path, '.')) != NULL) {
        size_t n = (size_t)(dot - path);
        assert_true(n < sizeof(key));
        memcpy(key, path, n);
        key[n] = '\0';
        o = key[0] >= '0' && key[0] <= '9'
                ? json_array_get(o, (size_t)(key[0] - '0'))
                : json_object_get(o, key);
        path = dot + 1;
    }
    return json_string_value(json_object_get(o, path));
}

/* ---- a canned agent ---------------------------------------------------- */

struct seen_item {
    int kind;
    char text[256];
    char name[64];
    char call_id[64];
    int is_error;
};

struct canned {
    /* the answer */
    const char *text;
    size_t n_calls;
    struct {
        const char *name, *args;
        int freeform;
    } calls[4];
    int status;
    /* what the agent saw (no cmocka asserts on the server's thread) */
    int calls_seen;
    int wire, stream;
    char model[64];
    size_t n_items;
    struct seen_item items[16];
    size_t n_tools;
    char tools[16][64];
    int freeform[16];
};

static int canned_agent(void *ud, const struct sk_sim_turn *t,
                        struct sk_sim_answer *a)
{
    struct canned *c = ud;
    size_t i;

    c->calls_seen++;
    c->wire = (int)t->wire;
    c->stream = t->stream;
    snprintf(c->model, sizeof(c->model), "%s", t->model);
    c->n_items = t->n_items;
    for (i = 0; i < t->n_items && i < 16; i++) {
        struct seen_item *s = &c->items[i];
        s->kind = (int)t->items[i].kind;
        snprintf(s->text, sizeof(s->text), "%s", t->items[i].text);
        snprintf(s->name, sizeof(s->name), "%s",
                 t->items[i].name ? t->items[i].name : "(null)");
        snprintf(s->call_id, sizeof(s->call_id), "%s",
                 t->items[i].call_id ? t->items[i].call_id : "(null)");
        s->is_error = t->items[i].is_error;
    }
    c->n_tools = t->n_tools;
    for (i = 0; i < t->n_tools && i < 16; i++) {
        snprintf(c->tools[i], sizeof(c->tools[i]), "%s", t->tools[i]);
        c->freeform[i] = t->tool_freeform[i];
    }
    a->status = c->status;
    if (c->text && sk_sim_answer_set_text(a, c->text))
        return -1;
    for (i = 0; i < c->n_calls; i++)
        if (sk_sim_answer_add_call(a, c->calls[i].name, c->calls[i].args,
                                   c->calls[i].freeform))
            return -1;
    return 0;
}

static struct sk_sim *start(struct sk_sim_agent *ag, struct canned *c)
{
    struct sk_sim *s = NULL;

    ag->fn = canned_agent;
    ag->ud = c;
    assert_int_equal(sk_sim_start(sk_sim_agent_respond, ag, NULL, &s, NULL), 0);
    return s;
}

static void assert_item(const struct canned *c, size_t i, int kind,
                        const char *text, const char *name, const char *call_id)
{
    assert_true(i < c->n_items);
    assert_int_equal(c->items[i].kind, kind);
    assert_string_equal(c->items[i].text, text);
    assert_string_equal(c->items[i].name, name ? name : "(null)");
    assert_string_equal(c->items[i].call_id, call_id ? call_id : "(null)");
}

static const char *const anthropic_hdrs[] = {"anthropic-version: 2023-06-01",
                                             "x-api-key: sk-test-0000", NULL};

/* Text with 2- and 3-byte characters that straddle chunk boundaries. */
#define LONG_TEXT                                                              \
    "a\xc3\xa9\xe2\x9c\x93\xc3\xa9\xe2\x9c\x93\xc3\xa9\xe2\x9c\x93\xc3\xa9"    \
    "\xe2\x9c\x93\xc3\xa9\xe2\x9c\x93 and then some plain words to need "      \
    "several chunks \xc3\xa9\xe2\x9c\x93\xc3\xa9\xe2\x9c\x93 end"

/* ---- Anthropic Messages ---------------------------------------------- */

static void test_sim_agent__messages_stream(void **state)
{
    struct canned c = {.text = LONG_TEXT,
                       .n_calls = 2,
                       .calls = {{"Bash", "{\"command\":\"ls -la\"}", 0},
                                 {"Write",
                                  "{\"file_path\":\"/w/a.txt\",\"content\":"
                                  "\"k \\u00e9\\n\"}",
                                  0}}};
    struct sk_sim_agent ag;
    struct sk_sim *s = start(&ag, &c);
    struct http_result r;
    struct sse ev;
    struct sk_buf text, args[2];
    char shape[1024];
    const char *id0 = NULL, *id1 = NULL;
    size_t i;

    (void)state;
    http(s, "POST", "/v1/messages?beta=true",
         "{\"model\":\"claude-x\",\"stream\":true,\"max_tokens\":100,"
         "\"messages\":[{\"role\":\"user\",\"content\":\"go\"}]}",
         anthropic_hdrs, &r);
    assert_int_equal(r.status, 200);
    assert_true(has_header_line(&r, "Content-Type: text/event-stream"));
    assert_int_equal(c.wire, SK_SIM_WIRE_MESSAGES);
    assert_int_equal(c.stream, 1);
    assert_string_equal(c.model, "claude-x");
    sse_parse(sk_buf_cstr(&r.body), &ev);
    sse_shape(&ev, shape, sizeof(shape));
    assert_string_equal(
        shape, "message_start ping content_block_start content_block_delta* "
               "content_block_stop content_block_start content_block_delta "
               "content_block_stop content_block_start content_block_delta* "
               "content_block_stop message_delta message_stop");
    sk_buf_init(&text, SK_BUF_UNLIMITED);
    sk_buf_init(&args[0], SK_BUF_UNLIMITED);
    sk_buf_init(&args[1], SK_BUF_UNLIMITED);
    for (i = 0; i < ev.n; i++) {
        json_t *d = ev.data[i];
        json_int_t index = json_integer_value(json_object_get(d, "index"));
        /* every event's type is its event name */
        assert_string_equal(jstr(d, "type"), ev.names[i]);
        if (strcmp(ev.names[i], "content_block_start") == 0 && index > 0) {
            assert_string_equal(jstr(d, "content_block.type"), "tool_use");
            assert_true(json_is_object(
                json_object_get(json_object_get(d, "content_block"), "input")));
            if (index == 1)
                id0 = jstr(d, "content_block.id");
            else
                id1 = jstr(d, "content_block.id");
        }
        if (strcmp(ev.names[i], "content_block_delta") == 0) {
            if (index == 0) {
                assert_string_equal(jstr(d, "delta.type"), "text_delta");
                assert_int_equal(sk_buf_puts(&text, jstr(d, "delta.text")), 0);
            } else {
                assert_string_equal(jstr(d, "delta.type"), "input_json_delta");
                assert_int_equal(sk_buf_puts(&args[index - 1],
                                             jstr(d, "delta.partial_json")),
                                 0);
            }
        }
    }
    assert_string_equal(sk_buf_cstr(&text), LONG_TEXT);
    for (i = 0; i < 2; i++) {
        json_t *got = json_loads(sk_buf_cstr(&args[i]), 0, NULL);
        json_t *want = json_loads(c.calls[i].args, 0, NULL);
        assert_non_null(got);
        assert_true(json_equal(got, want));
        json_decref(got);
        json_decref(want);
        sk_buf_release(&args[i]);
    }
    assert_non_null(id0);
    assert_non_null(id1);
    assert_true(strncmp(id0, "toolu_", 6) == 0);
    assert_string_not_equal(id0, id1);
    assert_string_equal(jstr(ev.data[0], "message.role"), "assistant");
    assert_true(
        json_integer_value(json_object_get(
            json_object_get(json_object_get(ev.data[0], "message"), "usage"),
            "input_tokens")) > 0);
    assert_string_equal(jstr(ev.data[ev.n - 2], "delta.stop_reason"),
                        "tool_use");
    assert_true(
        json_integer_value(json_object_get(
            json_object_get(ev.data[ev.n - 2], "usage"), "output_tokens")) > 0);
    sk_buf_release(&text);
    sse_release(&ev);
    result_release(&r);
    sk_sim_stop(s);
}

static void test_sim_agent__messages_round_trip(void **state)
{
    static const char req[] =
        "{\"model\":\"m\",\"max_tokens\":10,"
        "\"system\":[{\"type\":\"text\",\"text\":\"sys one\"},"
        "{\"type\":\"text\",\"text\":\"sys two\"}],"
        "\"tools\":[{\"name\":\"Bash\",\"input_schema\":{}},"
        "{\"name\":\"Write\",\"input_schema\":{}}],"
        "\"messages\":["
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]},"
        "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\","
        "\"thinking\":\"hm\"},{\"type\":\"text\",\"text\":\"reading\"},"
        "{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"Bash\","
        "\"input\":{\"command\":\"pwd\"}}]},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
        "\"tool_use_id\":\"toolu_1\",\"is_error\":true,\"content\":"
        "[{\"type\":\"text\",\"text\":\"/w\"},{\"type\":\"image\"}]}]},"
        "{\"role\":\"system\",\"content\":\"late system\"}]}";
    struct canned c = {.text = "done"};
    struct sk_sim_agent ag;
    struct sk_sim *s = start(&ag, &c);
    struct http_result r;
    json_t *root;

    (void)state;
    http(s, "POST", "/v1/messages", req, anthropic_hdrs, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(c.stream, 0);
    assert_int_equal(c.n_items, 6);
    assert_item(&c, 0, SK_SIM_ITEM_SYSTEM, "sys one\nsys two", NULL, NULL);
    assert_item(&c, 1, SK_SIM_ITEM_USER, "hi", NULL, NULL);
    assert_item(&c, 2, SK_SIM_ITEM_ASSISTANT, "reading", NULL, NULL);
    assert_item(&c, 3, SK_SIM_ITEM_CALL, "{\"command\":\"pwd\"}", "Bash",
                "toolu_1");
    assert_item(&c, 4, SK_SIM_ITEM_RESULT, "/w", NULL, "toolu_1");
    assert_true(c.items[4].is_error);
    assert_item(&c, 5, SK_SIM_ITEM_SYSTEM, "late system", NULL, NULL);
    assert_int_equal(c.n_tools, 2);
    assert_string_equal(c.tools[0], "Bash");
    assert_string_equal(c.tools[1], "Write");
    root = body_json(&r);
    assert_string_equal(jstr(root, "type"), "message");
    assert_string_equal(jstr(root, "role"), "assistant");
    assert_string_equal(jstr(root, "content.0.type"), "text");
    assert_string_equal(jstr(root, "content.0.text"), "done");
    assert_string_equal(jstr(root, "stop_reason"), "end_turn");
    assert_true(json_is_null(json_object_get(root, "stop_sequence")));
    assert_true(json_integer_value(json_object_get(
                    json_object_get(root, "usage"), "input_tokens")) > 0);
    json_decref(root);
    result_release(&r);
    sk_sim_stop(s);
}

static void test_sim_agent__messages_tool_use_json(void **state)
{
    struct canned c = {.n_calls = 1,
                       .calls = {{"Read", "{\"file_path\":\"/w/t.md\"}", 0}}};
    struct sk_sim_agent ag;
    struct sk_sim *s = start(&ag, &c);
    struct http_result r;
    json_t *root;

    (void)state;
    http(s, "POST", "/v1/messages",
         "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]"
         "}",
         anthropic_hdrs, &r);
    assert_int_equal(r.status, 200);
    root = body_json(&r);
    assert_int_equal(json_array_size(json_object_get(root, "content")), 1);
    assert_string_equal(jstr(root, "content.0.type"), "tool_use");
    assert_string_equal(jstr(root, "content.0.name"), "Read");
    assert_string_equal(jstr(root, "content.0.input.file_path"), "/w/t.md");
    assert_string_equal(jstr(root, "stop_reason"), "tool_use");
    json_decref(root);
    result_release(&r);
    sk_sim_stop(s);
}

/* ---- OpenAI Responses -------------------------------------------------- */

static void test_sim_agent__responses_stream(void **state)
{
    static const char patch[] =
        "*** Begin Patch\n*** Add File: answer.txt\n+k1 \xc3\xa9\n"
        "*** End Patch\n";
    struct canned c = {.text = LONG_TEXT,
                       .n_calls = 2,
                       .calls = {{"exec_command", "{\"cmd\":\"cat a.md\"}", 0},
                                 {"apply_patch", patch, 1}}};
    struct sk_sim_agent ag;
    struct sk_sim *s = start(&ag, &c);
    struct http_result r;
    struct sse ev;
    struct sk_buf text, args, input;
    char shape[2048];
    json_t *done_items[3] = {NULL, NULL, NULL}, *fin, *out;
    size_t i;

    (void)state;
    http(s, "POST", "/v1/responses",
         "{\"model\":\"gpt-x\",\"stream\":true,\"input\":[{\"type\":"
         "\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\","
         "\"text\":\"go\"}]}],\"tools\":[{\"type\":\"function\",\"name\":"
         "\"exec_command\"},{\"type\":\"custom\",\"name\":\"apply_patch\"},"
         "{\"type\":\"namespace\",\"name\":\"ns\",\"tools\":[{\"type\":"
         "\"function\",\"name\":\"close_agent\"}]},{\"type\":\"web_search\"}]}",
         NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(has_header_line(&r, "Content-Type: text/event-stream"));
    assert_int_equal(c.wire, SK_SIM_WIRE_RESPONSES);
    assert_int_equal(c.n_tools, 3);
    assert_string_equal(c.tools[0], "exec_command");
    assert_string_equal(c.tools[1], "apply_patch");
    assert_string_equal(c.tools[2], "close_agent");
    assert_int_equal(c.freeform[0], 0);
    assert_int_equal(c.freeform[1], 1);
    assert_int_equal(c.freeform[2], 0);

    sse_parse(sk_buf_cstr(&r.body), &ev);
    sse_shape(&ev, shape, sizeof(shape));
    assert_string_equal(
        shape,
        "response.created response.in_progress response.output_item.added "
        "response.content_part.added response.output_text.delta* "
        "response.output_text.done response.content_part.done "
        "response.output_item.done response.output_item.added "
        "response.function_call_arguments.delta "
        "response.function_call_arguments.done response.output_item.done "
        "response.output_item.added response.custom_tool_call_input.delta* "
        "response.custom_tool_call_input.done response.output_item.done "
        "response.completed");
    sk_buf_init(&text, SK_BUF_UNLIMITED);
    sk_buf_init(&args, SK_BUF_UNLIMITED);
    sk_buf_init(&input, SK_BUF_UNLIMITED);
    for (i = 0; i < ev.n; i++) {
        json_t *d = ev.data[i];
        const char *n = ev.names[i];
        assert_string_equal(jstr(d, "type"), n);
        assert_int_equal(
            json_integer_value(json_object_get(d, "sequence_number")), i);
        if (strcmp(n, "response.output_text.delta") == 0)
            assert_int_equal(sk_buf_puts(&text, jstr(d, "delta")), 0);
        if (strcmp(n, "response.function_call_arguments.delta") == 0)
            assert_int_equal(sk_buf_puts(&args, jstr(d, "delta")), 0);
        if (strcmp(n, "response.custom_tool_call_input.delta") == 0)
            assert_int_equal(sk_buf_puts(&input, jstr(d, "delta")), 0);
        if (strcmp(n, "response.output_item.done") == 0) {
            json_int_t k =
                json_integer_value(json_object_get(d, "output_index"));
            assert_true(k >= 0 && k < 3 && !done_items[k]);
            done_items[k] = json_object_get(d, "item");
        }
        if (strcmp(n, "response.output_item.added") == 0)
            assert_string_equal(jstr(d, "item.status"), "in_progress");
    }
    assert_string_equal(sk_buf_cstr(&text), LONG_TEXT);
    assert_string_equal(sk_buf_cstr(&args), "{\"cmd\":\"cat a.md\"}");
    assert_string_equal(sk_buf_cstr(&input), patch);
    assert_string_equal(jstr(done_items[0], "type"), "message");
    assert_string_equal(jstr(done_items[0], "content.0.text"), LONG_TEXT);
    assert_string_equal(jstr(done_items[1], "type"), "function_call");
    assert_string_equal(jstr(done_items[1], "name"), "exec_command");
    assert_string_equal(jstr(done_items[1], "arguments"),
                        "{\"cmd\":\"cat a.md\"}");
    assert_string_equal(jstr(done_items[2], "type"), "custom_tool_call");
    assert_string_equal(jstr(done_items[2], "input"), patch);
    assert_string_not_equal(jstr(done_items[1], "call_id"),
                            jstr(done_items[2], "call_id"));
    fin = json_object_get(ev.data[ev.n - 1], "response");
    assert_string_equal(jstr(fin, "status"), "completed");
    assert_string_equal(jstr(fin, "model"), "gpt-x");
    out = json_object_get(fin, "output");
    assert_int_equal(json_array_size(out), 3);
    for (i = 0; i < 3; i++)
        assert_true(json_equal(json_array_get(out, i), done_items[i]));
    {
        json_t *u = json_object_get(fin, "usage");
        json_int_t in = json_integer_value(json_object_get(u, "input_tokens"));
        json_int_t o = json_integer_value(json_object_get(u, "output_tokens"));
        assert_true(in > 0 && o > 0);
        assert_int_equal(json_integer_value(json_object_get(u, "total_tokens")),
                         in + o);
    }
    sk_buf_release(&text);
    sk_buf_release(&args);
    sk_buf_release(&input);
    sse_release(&ev);
    result_release(&r);
    sk_sim_stop(s);
}

static void test_sim_agent__responses_round_trip(void **state)
{
    static const char req[] =
        "{\"model\":\"m\",\"instructions\":\"be brief\",\"input\":["
        "{\"type\":\"message\",\"role\":\"developer\",\"content\":[{\"type\":"
        "\"input_text\",\"text\":\"dev\"}]},"
        "{\"role\":\"user\",\"content\":\"hello\"},"
        "{\"type\":\"reasoning\",\"summary\":[]},"
        "{\"type\":\"function_call\",\"call_id\":\"c1\",\"name\":"
        "\"exec_command\",\"arguments\":\"{\\\"cmd\\\":\\\"pwd\\\"}\"},"
        "{\"type\":\"function_call_output\",\"call_id\":\"c1\",\"output\":"
        "\"/w\"},"
        "{\"type\":\"custom_tool_call\",\"call_id\":\"c2\",\"name\":"
        "\"apply_patch\",\"input\":\"patch\"},"
        "{\"type\":\"custom_tool_call_output\",\"call_id\":\"c2\",\"output\":"
        "[{\"type\":\"input_text\",\"text\":\"ok\"}]},"
        "{\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":"
        "\"output_text\",\"text\":\"said\"}]}]}";
    struct canned c = {.text = "fine"};
    struct sk_sim_agent ag;
    struct sk_sim *s = start(&ag, &c);
    struct http_result r;
    json_t *root;

    (void)state;
    http(s, "POST", "/v1/responses", req, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(c.n_items, 8);
    assert_item(&c, 0, SK_SIM_ITEM_SYSTEM, "be brief", NULL, NULL);
    assert_item(&c, 1, SK_SIM_ITEM_SYSTEM, "dev", NULL, NULL);
    assert_item(&c, 2, SK_SIM_ITEM_USER, "hello", NULL, NULL);
    assert_item(&c, 3, SK_SIM_ITEM_CALL, "{\"cmd\":\"pwd\"}", "exec_command",
                "c1");
    assert_item(&c, 4, SK_SIM_ITEM_RESULT, "/w", NULL, "c1");
    assert_item(&c, 5, SK_SIM_ITEM_CALL, "patch", "apply_patch", "c2");
    assert_item(&c, 6, SK_SIM_ITEM_RESULT, "ok", NULL, "c2");
    assert_item(&c, 7, SK_SIM_ITEM_ASSISTANT, "said", NULL, NULL);
    root = body_json(&r);
    assert_string_equal(jstr(root, "object"), "response");
    assert_string_equal(jstr(root, "status"), "completed");
    assert_string_equal(jstr(root, "output.0.type"), "message");
    assert_string_equal(jstr(root, "output.0.content.0.text"), "fine");
    assert_true(json_is_object(json_object_get(root, "usage")));
    json_decref(root);
    result_release(&r);

    /* input may be a bare string */
    http(s, "POST", "/responses", "{\"model\":\"m\",\"input\":\"just text\"}",
         NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(c.n_items, 1);
    assert_item(&c, 0, SK_SIM_ITEM_USER, "just text", NULL, NULL);
    result_release(&r);
    sk_sim_stop(s);
}

/* ---- chat completions -------------------------------------------------- */

static void test_sim_agent__chat_tool_calls(void **state)
{
    static const char req[] =
        "{\"model\":\"m\",%s\"tools\":[{\"type\":\"function\",\"function\":"
        "{\"name\":\"run\"}}],\"messages\":["
        "{\"role\":\"system\",\"content\":\"s\"},"
        "{\"role\":\"user\",\"content\":\"u\"},"
        "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":"
        "\"call_9\",\"type\":\"function\",\"function\":{\"name\":\"run\","
        "\"arguments\":\"{\\\"x\\\":1}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"call_9\",\"content\":\"out\"}]}";
    struct canned c = {
        .text = "calling", .n_calls = 1, .calls = {{"run", "{\"x\":2}", 0}}};
    struct sk_sim_agent ag;
    struct sk_sim *s = start(&ag, &c);
    struct http_result r;
    struct sse ev;
    struct sk_buf text;
    char body[1024];
    json_t *root, *tc = NULL, *last;
    size_t i;

    (void)state;
    snprintf(body, sizeof(body), req, "");
    http(s, "POST", "/v1/chat/completions", body, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(c.wire, SK_SIM_WIRE_CHAT);
    assert_int_equal(c.n_items, 4);
    assert_item(&c, 0, SK_SIM_ITEM_SYSTEM, "s", NULL, NULL);
    assert_item(&c, 1, SK_SIM_ITEM_USER, "u", NULL, NULL);
    assert_item(&c, 2, SK_SIM_ITEM_CALL, "{\"x\":1}", "run", "call_9");
    assert_item(&c, 3, SK_SIM_ITEM_RESULT, "out", NULL, "call_9");
    assert_string_equal(c.tools[0], "run");
    root = body_json(&r);
    assert_string_equal(jstr(root, "choices.0.finish_reason"), "tool_calls");
    assert_string_equal(jstr(root, "choices.0.message.content"), "calling");
    assert_string_equal(
        jstr(root, "choices.0.message.tool_calls.0.function.name"), "run");
    assert_string_equal(
        jstr(root, "choices.0.message.tool_calls.0.function.arguments"),
        "{\"x\":2}");
    json_decref(root);
    result_release(&r);

    snprintf(body, sizeof(body), req, "\"stream\":true,");
    http(s, "POST", "/v1/chat/completions", body, NULL, &r);
    assert_int_equal(r.status, 200);
    sse_parse(sk_buf_cstr(&r.body), &ev);
    assert_true(ev.done);
    sk_buf_init(&text, SK_BUF_UNLIMITED);
    for (i = 0; i < ev.n; i++) {
        json_t *delta = json_object_get(
            json_array_get(json_object_get(ev.data[i], "choices"), 0), "delta");
        assert_string_equal(jstr(ev.data[i], "object"),
                            "chat.completion.chunk");
        if (json_is_string(json_object_get(delta, "content")))
            assert_int_equal(sk_buf_puts(&text, jstr(delta, "content")), 0);
        if (json_object_get(delta, "tool_calls"))
            tc = json_object_get(delta, "tool_calls");
    }
    assert_string_equal(sk_buf_cstr(&text), "calling");
    assert_non_null(tc);
    assert_string_equal(jstr(tc, "0.function.arguments"), "{\"x\":2}");
    last = ev.data[ev.n - 1];
    assert_string_equal(jstr(last, "choices.0.finish_reason"), "tool_calls");
    assert_true(json_is_object(json_object_get(last, "usage")));
    sk_buf_release(&text);
    sse_release(&ev);
    result_release(&r);
    sk_sim_stop(s);
}

/* ---- errors and other endpoints ---------------------------------------- */

static void test_sim_agent__errors(void **state)
{
    static const struct {
        const char *path;
        int status;
        const char *type_path, *type;
    } cases[] = {
        {"/v1/messages", 401, "error.type", "authentication_error"},
        {"/v1/messages", 429, "error.type", "rate_limit_error"},
        {"/v1/messages", 529, "error.type", "overloaded_error"},
        {"/v1/responses", 401, "error.code", "invalid_api_key"},
        {"/v1/responses", 429, "error.code", "rate_limit_exceeded"},
        {"/v1/chat/completions", 401, "error.code", "invalid_api_key"},
        {"/v1/chat/completions", 500, "error.type", "server_error"},
    };
    struct canned c = {.text = "x"};
    struct sk_sim_agent ag;
    struct sk_sim *s = start(&ag, &c);
    struct http_result r;
    json_t *root;
    size_t i;

    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        const char *list =
            strstr(cases[i].path, "responses") ? "input" : "messages";
        char body[128];
        c.status = cases[i].status;
        snprintf(body, sizeof(body), "{\"model\":\"m\",\"%s\":[]}", list);
        http(s, "POST", cases[i].path, body, NULL, &r);
        assert_int_equal(r.status, cases[i].status);
        root = body_json(&r);
        assert_string_equal(jstr(root, cases[i].type_path), cases[i].type);
        assert_non_null(jstr(root, "error.message"));
        if (strstr(cases[i].path, "messages"))
            assert_string_equal(jstr(root, "type"), "error");
        assert_int_equal(has_header_line(&r, "Retry-After: 1"),
                         cases[i].status == 429);
        json_decref(root);
        result_release(&r);
    }
    c.status = 0;

    /* bodies that do not decode: a 400 in the wire's format */
    http(s, "POST", "/v1/messages", "{\"model\":", NULL, &r);
    assert_int_equal(r.status, 400);
    root = body_json(&r);
    assert_string_equal(jstr(root, "error.type"), "invalid_request_error");
    assert_string_equal(jstr(root, "type"), "error");
    json_decref(root);
    result_release(&r);
    http(s, "POST", "/v1/responses", "{\"model\":\"m\"}", NULL, &r);
    assert_int_equal(r.status, 400);
    root = body_json(&r);
    assert_string_equal(jstr(root, "error.type"), "invalid_request_error");
    json_decref(root);
    result_release(&r);

    /* an agent whose tool arguments are not a JSON object: 500 */
    c.n_calls = 1;
    c.calls[0].name = "Bash";
    c.calls[0].args = "[1, 2]";
    c.calls[0].freeform = 0;
    http(s, "POST", "/v1/messages",
         "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]"
         "}",
         NULL, &r);
    assert_int_equal(r.status, 500);
    result_release(&r);
    sk_sim_stop(s);
}

static void test_sim_agent__other_endpoints(void **state)
{
    struct canned c = {.text = "x"};
    struct sk_sim_agent ag;
    struct sk_sim *s = start(&ag, &c);
    struct http_result r;
    json_t *root;

    (void)state;
    http(s, "POST", "/v1/messages/count_tokens",
         "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
         "\"count these words please\"}]}",
         anthropic_hdrs, &r);
    assert_int_equal(r.status, 200);
    root = body_json(&r);
    assert_true(json_integer_value(json_object_get(root, "input_tokens")) > 0);
    json_decref(root);
    result_release(&r);

    http(s, "GET", "/v1/models", NULL, anthropic_hdrs, &r);
    assert_int_equal(r.status, 200);
    root = body_json(&r);
    assert_string_equal(jstr(root, "data.0.type"), "model");
    assert_true(json_is_false(json_object_get(root, "has_more")));
    json_decref(root);
    result_release(&r);

    http(s, "GET", "/v1/models", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    root = body_json(&r);
    assert_string_equal(jstr(root, "object"), "list");
    json_decref(root);
    result_release(&r);

    http(s, "HEAD", "/api/hello", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    result_release(&r);

    http(s, "GET", "/v1/organizations", NULL, anthropic_hdrs, &r);
    assert_int_equal(r.status, 404);
    root = body_json(&r);
    assert_string_equal(jstr(root, "error.type"), "not_found_error");
    json_decref(root);
    result_release(&r);

    http(s, "POST", "/v1/embeddings", "{}", NULL, &r);
    assert_int_equal(r.status, 404);
    root = body_json(&r);
    assert_string_equal(jstr(root, "error.type"), "invalid_request_error");
    json_decref(root);
    result_release(&r);
    assert_int_equal(c.calls_seen, 0); /* none of these reached the agent */
    sk_sim_stop(s);
}

/* The default responder of sk_sim_start echoes on the new wires too. */
static void test_sim_agent__default_echo(void **state)
{
    struct sk_sim *s = NULL;
    struct http_result r;
    struct sse ev;
    struct sk_buf text;
    json_t *root;
    size_t i;

    (void)state;
    assert_int_equal(sk_sim_start(NULL, NULL, NULL, &s, NULL), 0);
    http(s, "POST", "/v1/messages",
         "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
         "\"hi there\"}]}",
         anthropic_hdrs, &r);
    assert_int_equal(r.status, 200);
    root = body_json(&r);
    assert_string_equal(jstr(root, "content.0.text"), "echo: hi there");
    json_decref(root);
    result_release(&r);

    http(s, "POST", "/v1/responses",
         "{\"model\":\"m\",\"stream\":true,\"input\":\"hello\"}", NULL, &r);
    assert_int_equal(r.status, 200);
    sse_parse(sk_buf_cstr(&r.body), &ev);
    sk_buf_init(&text, SK_BUF_UNLIMITED);
    for (i = 0; i < ev.n; i++)
        if (strcmp(ev.names[i], "response.output_text.delta") == 0)
            assert_int_equal(sk_buf_puts(&text, jstr(ev.data[i], "delta")), 0);
    assert_string_equal(sk_buf_cstr(&text), "echo: hello");
    assert_string_equal(ev.names[ev.n - 1], "response.completed");
    sk_buf_release(&text);
    sse_release(&ev);
    result_release(&r);
    sk_sim_stop(s);
}

/* ---- the scripted agent ------------------------------------------------ */

struct step {
    const char *tools;     /* comma-separated, "name!" = freeform */
    int extra;             /* 0: no calls yet; 1: read done; 2: write done */
    const char *want_tool; /* NULL: a final text */
    const char *want_args; /* JSON (or raw input when freeform) */
    const char *want_text; /* substring of the text */
};

/* Runs the scripted agent on a turn built from st; checks the answer. */
static void script_step(const struct sk_sim_script *sc, const struct step *st,
                        const char *system_text)
{
    struct sk_sim_item items[8];
    const char *tools[8];
    int freeform[8];
    char names[8][32];
    size_t n = 0, nt = 0;
    struct sk_sim_turn t;
    struct sk_sim_answer a;
    const char *p = st->tools;

    memset(items, 0, sizeof(items));
    while (p && *p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        int ff = len > 0 && p[len - 1] == '!';
        snprintf(names[nt], sizeof(names[nt]), "%.*s", (int)(len - ff), p);
        tools[nt] = names[nt];
        freeform[nt] = ff;
        nt++;
        p = end ? end + 1 : NULL;
    }
    items[n++] =
        (struct sk_sim_item){SK_SIM_ITEM_SYSTEM, system_text, NULL, NULL, 0};
    items[n++] = (struct sk_sim_item){SK_SIM_ITEM_USER, "go", NULL, NULL, 0};
    if (st->extra >= 1) {
        items[n++] = (struct sk_sim_item){SK_SIM_ITEM_CALL, "{}", "sh", "1", 0};
        items[n++] = (struct sk_sim_item){
            SK_SIM_ITEM_RESULT,
            "Exit code 0\n/ws/dir\n---\nname: demo\n---\nSKILL-KEY: k-1.b\n"
            "TASK-ID: t9\n",
            NULL, "1", 0};
    }
    if (st->extra >= 2) {
        items[n++] = (struct sk_sim_item){SK_SIM_ITEM_CALL, "{}", "w", "2", 0};
        items[n++] =
            (struct sk_sim_item){SK_SIM_ITEM_RESULT, "ok", NULL, "2", 0};
    }
    memset(&t, 0, sizeof(t));
    t.wire = SK_SIM_WIRE_MESSAGES;
    t.model = "";
    t.items = items;
    t.n_items = n;
    t.tools = tools;
    t.tool_freeform = freeform;
    t.n_tools = nt;
    memset(&a, 0, sizeof(a));
    assert_int_equal(sk_sim_script_agent((void *)sc, &t, &a), 0);
    assert_int_equal(a.status, 0);
    if (st->want_tool) {
        assert_int_equal(a.n_calls, 1);
        assert_string_equal(a.calls[0].name, st->want_tool);
        if (a.calls[0].freeform) {
            assert_string_equal(a.calls[0].arguments, st->want_args);
        } else {
            json_t *got = json_loads(a.calls[0].arguments, 0, NULL);
            json_t *want = json_loads(st->want_args, 0, NULL);
            assert_non_null(want);
            if (!json_equal(got, want))
                fail_msg("arguments %s, want %s", a.calls[0].arguments,
                         st->want_args);
            json_decref(got);
            json_decref(want);
        }
    } else {
        assert_int_equal(a.n_calls, 0);
    }
    if (st->want_text) {
        assert_non_null(a.text);
        if (!strstr(a.text, st->want_text))
            fail_msg("text %s lacks %s", a.text, st->want_text);
    }
    sk_sim_answer_release(&a);
}

static void test_sim_agent__script_steps(void **state)
{
    static const char read_cmd[] =
        "pwd && cat -- '.agents/skills/demo/SKILL.md' 'task.md'";
    static const char claude[] = "Bash,Read,Write";
    static const char codex[] = "exec_command,write_stdin,apply_patch!";
    const struct step steps[] = {
        {claude, 0, "Bash",
         "{\"command\":\"pwd && cat -- '.agents/skills/demo/SKILL.md' "
         "'task.md'\",\"description\":\"Run a shell command\"}",
         "read"},
        {claude, 1, "Write",
         "{\"file_path\":\"/ws/dir/answer.txt\",\"content\":\"k-1.b\\n\"}",
         NULL},
        {claude, 2, NULL, NULL, "<answer>k-1.b</answer>"},
        {claude, 2, NULL, NULL, "Task t9:"},
        {claude, 2, NULL, NULL, "skill-in-context: no"},
        {codex, 0, "exec_command",
         "{\"cmd\":\"pwd && cat -- '.agents/skills/demo/SKILL.md' "
         "'task.md'\"}",
         NULL},
        {codex, 1, "apply_patch",
         "*** Begin Patch\n*** Add File: answer.txt\n+k-1.b\n*** End Patch\n",
         NULL},
        {"apply_patch,shell", 1, "apply_patch",
         "{\"input\":\"*** Begin Patch\\n*** Add File: answer.txt\\n+k-1.b\\n"
         "*** End Patch\\n\"}",
         NULL},
        {"shell", 0, "shell", NULL, NULL},
        {"shell", 1, "shell",
         "{\"command\":[\"bash\",\"-lc\",\"printf '%s\\\\n' 'k-1.b' > "
         "'answer.txt'\"]}",
         NULL},
        {"shell_command", 1, "shell_command",
         "{\"command\":\"printf '%s\\\\n' 'k-1.b' > 'answer.txt'\"}", NULL},
        {"", 0, NULL, NULL, "<answer>no-shell</answer>"},
    };
    char shell_args[256];
    size_t i;

    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(steps); i++) {
        struct step st = steps[i];
        if (st.want_tool && !st.want_args) {
            snprintf(shell_args, sizeof(shell_args),
                     "{\"command\":[\"bash\",\"-lc\",\"%s\"]}", read_cmd);
            st.want_args = shell_args;
        }
        script_step(NULL, &st, "plain system prompt");
    }
}

static void test_sim_agent__script_options(void **state)
{
    struct sk_sim_script sc = {.skill_path = "it's/SKILL.md",
                               .task_path = "t.md",
                               .answer_file = "out/a.txt"};
    struct step st;
    struct sk_sim_turn t;
    struct sk_sim_answer a;

    (void)state;
    st = (struct step){"Bash,Write", 0, "Bash",
                       "{\"command\":\"pwd && cat -- 'it'\\\\''s/SKILL.md' "
                       "'t.md'\",\"description\":\"Run a shell command\"}",
                       NULL};
    script_step(&sc, &st, "sys");
    st = (struct step){"Bash,Write", 1, "Write",
                       "{\"file_path\":\"/ws/dir/out/a.txt\",\"content\":"
                       "\"k-1.b\\n\"}",
                       NULL};
    script_step(&sc, &st, "sys");
    /* the key already in the context the CLI sent (CLAUDE.md, AGENTS.md) */
    st = (struct step){"Bash,Write", 2, NULL, NULL, "skill-in-context: yes"};
    script_step(&sc, &st, "# CLAUDE.md\nSKILL-KEY: k-1.b\n");

    /* no key in the results: "none" */
    memset(&t, 0, sizeof(t));
    {
        struct sk_sim_item items[3] = {
            {SK_SIM_ITEM_CALL, "{}", "Bash", "1", 0},
            {SK_SIM_ITEM_CALL, "{}", "Write", "2", 0},
            {SK_SIM_ITEM_RESULT, "cat: no such file", NULL, "1", 1}};
        t.items = items;
        t.n_items = 3;
        t.model = "";
        memset(&a, 0, sizeof(a));
        assert_int_equal(sk_sim_script_agent(&sc, &t, &a), 0);
        assert_non_null(strstr(a.text, "<answer>none</answer>"));
        assert_non_null(strstr(a.text, "Task unknown"));
        sk_sim_answer_release(&a);
    }

    /* fail_status: every turn is that error */
    sc.fail_status = 429;
    memset(&a, 0, sizeof(a));
    assert_int_equal(sk_sim_script_agent(&sc, &t, &a), 0);
    assert_int_equal(a.status, 429);
    assert_int_equal(a.retry_after_s, 1);
    assert_int_equal(a.n_calls, 0);
    sk_sim_answer_release(&a);
}

/* ---- allocation failures ------------------------------------------------ */

struct sweep_case {
    const char *path;
    const char *body;
    struct sk_sim_agent ag;
};

static int sweep_body(void *ctx)
{
    struct sweep_case *sc = ctx;
    static const char *const names[] = {"anthropic-version"};
    static const char *const values[] = {"2023-06-01"};
    struct sk_sim_request req;
    struct sk_sim_reply r;
    size_t i;
    int rc;

    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.path = sc->path;
    req.query = "";
    req.header_names = names;
    req.header_values = values;
    req.n_headers = 1;
    req.body = sc->body;
    req.body_len = strlen(sc->body);
    memset(&r, 0, sizeof(r));
    rc = sk_sim_agent_respond(&sc->ag, &req, &r);
    for (i = 0; i < r.n_headers; i++) {
        if (r.header_names)
            sk_free(r.header_names[i]);
        if (r.header_values)
            sk_free(r.header_values[i]);
    }
    sk_free(r.header_names);
    sk_free(r.header_values);
    sk_free(r.content_type);
    sk_free(r.body);
    return rc;
}

static void test_sim_agent__alloc_sweep(void **state)
{
    static struct sk_sim_script script;
    static struct canned mixed = {
        .text = "t\xc3\xa9xt",
        .n_calls = 2,
        .calls = {{"exec_command", "{\"cmd\":\"ls\"}", 0},
                  {"apply_patch", "*** Begin Patch\n", 1}}};
    static struct canned plain = {.text = "t\xc3\xa9xt",
                                  .n_calls = 1,
                                  .calls = {{"run", "{\"a\":[1,\"b\"]}", 0}}};
    struct sweep_case cases[] = {
        {"/v1/messages",
         "{\"model\":\"m\",\"stream\":true,\"system\":\"s\",\"tools\":[{"
         "\"name\":"
         "\"Bash\"},{\"name\":\"Write\"}],\"messages\":[{\"role\":\"user\","
         "\"content\":\"go\"},{\"role\":\"assistant\",\"content\":[{\"type\":"
         "\"tool_use\",\"id\":\"a\",\"name\":\"Bash\",\"input\":{}}]},{"
         "\"role\":"
         "\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":"
         "\"a\","
         "\"content\":\"/w\\nSKILL-KEY: k\"}]}]}",
         {sk_sim_script_agent, &script}},
        {"/v1/responses",
         "{\"model\":\"m\",\"stream\":true,\"tools\":[{\"type\":\"custom\","
         "\"name\":\"apply_patch\"}],\"input\":[{\"role\":\"user\",\"content\":"
         "\"go\"},{\"type\":\"function_call\",\"call_id\":\"c\",\"name\":\"x\","
         "\"arguments\":\"{}\"},{\"type\":\"function_call_output\","
         "\"call_id\":\"c\",\"output\":\"o\"}]}",
         {canned_agent, &mixed}},
        {"/v1/responses",
         "{\"model\":\"m\",\"input\":\"go\"}",
         {canned_agent, &mixed}},
        {"/v1/messages",
         "{\"model\":\"m\",\"messages\":[]}",
         {canned_agent, &mixed}},
        {"/v1/messages",
         "{\"model\":\"m\",\"stream\":true,\"messages\":[]}",
         {canned_agent, &plain}},
        {"/v1/messages",
         "{\"model\":\"m\",\"messages\":[]}",
         {canned_agent, &plain}},
        {"/v1/chat/completions",
         "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\","
         "\"content\":\"go\"}]}",
         {canned_agent, &plain}},
        {"/v1/chat/completions",
         "{\"model\":\"m\",\"messages\":[]}",
         {canned_agent, &plain}},
        {"/v1/messages/count_tokens", "{\"messages\":[]}", {NULL, NULL}},
        {"/v1/nowhere", "{}", {NULL, NULL}},
    };
    size_t i;

    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++)
        assert_true(tu_alloc_sweep(sweep_body, &cases[i]) > 1);
}

static int group_setup(void **state)
{
    (void)state;
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    curl_global_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sim_agent__messages_stream),
        cmocka_unit_test(test_sim_agent__messages_round_trip),
        cmocka_unit_test(test_sim_agent__messages_tool_use_json),
        cmocka_unit_test(test_sim_agent__responses_stream),
        cmocka_unit_test(test_sim_agent__responses_round_trip),
        cmocka_unit_test(test_sim_agent__chat_tool_calls),
        cmocka_unit_test(test_sim_agent__errors),
        cmocka_unit_test(test_sim_agent__other_endpoints),
        cmocka_unit_test(test_sim_agent__default_echo),
        cmocka_unit_test(test_sim_agent__script_steps),
        cmocka_unit_test(test_sim_agent__script_options),
        cmocka_unit_test(test_sim_agent__alloc_sweep),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
