/*
 * demo_sim.c - the simulated target of the demo benchmark, as a simulator
 * responder (see demo_sim.h).  Items are indexed by id in a jansson object.
 */
#include "common.h"
#include "bench/demo_sim.h"

#include <string.h>

#include <jansson.h>

#include "bench/demo.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"

struct sk_demo_sim {
    json_t *items; /* id -> item object */
    uint64_t seed;
    sk_sim_responder_fn fallback;
    void *fallback_ud;
};

void sk_demo_sim_free(struct sk_demo_sim *d)
{
    if (!d)
        return;
    json_decref(d->items);
    sk_free(d);
}

int sk_demo_sim_new(const char *data_dir, uint64_t seed,
                    sk_sim_responder_fn fallback, void *fallback_ud,
                    struct sk_demo_sim **out, struct sk_error *err)
{
    static const char *const splits[] = {"train", "val", "test"};
    struct sk_demo_sim *d;
    size_t s, i;
    int rc = SK_OK;

    *out = NULL;
    d = sk_calloc(1, sizeof *d);
    if (!d || !(d->items = json_object()))
        goto nomem;
    d->seed = seed;
    d->fallback = fallback;
    d->fallback_ud = fallback_ud;
    for (s = 0; s < SK_ARRAY_LEN(splits) && rc == SK_OK; s++) {
        char rel[64], *path;
        json_error_t je;
        json_t *arr, *it;
        snprintf(rel, sizeof rel, "%s/items.json", splits[s]);
        path = sk_fs_join(data_dir, rel);
        if (!path)
            goto nomem;
        memset(&je, 0, sizeof je);
        arr = json_load_file(path, 0, &je);
        if (!json_is_array(arr)) {
            rc = sk_error_set(err, SK_EDATA, "%s: %s", path,
                              arr ? "not a JSON array" : je.text);
        } else {
            json_array_foreach(arr, i, it)
            {
                const char *id = json_string_value(json_object_get(it, "id"));
                if (id && json_object_set(d->items, id, it) != 0) {
                    rc = sk_error_set(err, SK_ENOMEM, "out of memory");
                    break;
                }
            }
        }
        json_decref(arr);
        sk_free(path);
    }
    if (rc != SK_OK) {
        sk_demo_sim_free(d);
        return rc;
    }
    *out = d;
    return SK_OK;
nomem:
    sk_demo_sim_free(d);
    return sk_error_set(err, SK_ENOMEM, "out of memory");
}

/* Text of a chat message's content (a string, or text parts). */
static const char *content_text(json_t *msg)
{
    json_t *c = json_object_get(msg, "content");
    if (json_is_string(c))
        return json_string_value(c);
    if (json_is_array(c))
        return json_string_value(json_object_get(json_array_get(c, 0), "text"));
    return NULL;
}

/* The id after the "Task id: " the demo's task prompt starts with, into
 * id[cap]; 0 if absent.  Only a prefix counts: optimizer prompts quote
 * task prompts inside trajectories and must not be taken for tasks. */
static int task_id(const char *text, char *id, size_t cap)
{
    const char *p = text;
    size_t n = 0;
    if (!p || strncmp(p, "Task id: ", 9) != 0)
        return 0;
    p += 9;
    while (p[n] && p[n] != '\n' && p[n] != ' ' && n + 1 < cap)
        n++;
    memcpy(id, p, n);
    id[n] = '\0';
    return n > 0;
}

int sk_demo_sim_respond(void *ud, const struct sk_sim_request *req,
                        struct sk_sim_reply *reply)
{
    struct sk_demo_sim *d = ud;
    json_t *body, *msgs, *m, *item;
    const char *skill = "", *user = NULL, *model;
    char id[128];
    struct sk_buf ans;
    size_t i;
    int rc;

    body = json_loadb(req->body, req->body_len, 0, NULL);
    msgs = json_object_get(body, "messages");
    json_array_foreach(msgs, i, m)
    {
        const char *role = json_string_value(json_object_get(m, "role"));
        if (role && strcmp(role, "system") == 0 && content_text(m))
            skill = content_text(m);
        else if (role && strcmp(role, "user") == 0)
            user = content_text(m);
    }
    if (!task_id(user, id, sizeof id) ||
        !(item = json_object_get(d->items, id))) {
        json_decref(body);
        if (d->fallback)
            return d->fallback(d->fallback_ud, req, reply);
        reply->status = 404;
        reply->body = sk_strdup("{\"error\":{\"message\":\"not a demo task\","
                                "\"type\":\"invalid_request_error\"}}");
        reply->body_len = reply->body ? strlen(reply->body) : 0;
        return reply->body ? 0 : 1;
    }
    model = json_string_value(json_object_get(body, "model"));
    sk_buf_init(&ans, 4096);
    rc = sk_buf_puts(&ans, "<answer>");
    if (rc == SK_OK)
        rc = sk_demo_answer(skill,
                            sk_demo_family_find(json_string_value(
                                json_object_get(item, "family"))),
                            id,
                            json_string_value(json_array_get(
                                json_object_get(item, "answers"), 0)),
                            d->seed, &ans);
    if (rc == SK_OK)
        rc = sk_buf_puts(&ans, "</answer>");
    if (rc == SK_OK) {
        reply->body = sk_sim_chat_completion(
            model ? model : "sim-target", sk_buf_cstr(&ans),
            (uint64_t)req->body_len / 4 + 1, ans.len / 4 + 1);
        reply->body_len = reply->body ? strlen(reply->body) : 0;
    }
    sk_buf_release(&ans);
    json_decref(body);
    return rc == SK_OK && reply->body ? 0 : 1;
}
