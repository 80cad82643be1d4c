/*
 * cache.c - the response cache (see cache.h): one SQLite file in WAL mode,
 * one table of replies keyed by a SHA-256 of the request.  A mutex guards
 * the handle and its prepared statements because the client calls from
 * several threads; other processes are kept in step by WAL and the busy
 * timeout.  This file does not decide what is cached: the caller does.
 */
#include "common.h"

#include "llm/cache.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/sha256.h"

/* Bumped whenever the table layout or the key derivation changes. */
#define CACHE_FORMAT_VERSION 1
#define CACHE_BUSY_MS 5000

struct sk_cache {
    enum sk_cache_mode mode;
    char *path;
    sqlite3 *db;          /* NULL in mode off */
    sqlite3_stmt *get;    /* SELECT by key */
    sqlite3_stmt *put;    /* INSERT OR REPLACE */
    pthread_mutex_t lock; /* serialises db, get and put */
};

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS meta(format_version INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS replies("
    " key TEXT PRIMARY KEY,"
    " stage TEXT,"
    " model TEXT,"
    " text TEXT NOT NULL,"
    " reasoning TEXT,"
    " finish_reason TEXT,"
    " prompt_tokens INTEGER NOT NULL DEFAULT 0,"
    " completion_tokens INTEGER NOT NULL DEFAULT 0,"
    " cached_tokens INTEGER NOT NULL DEFAULT 0,"
    " reasoning_tokens INTEGER NOT NULL DEFAULT 0,"
    " usage_known INTEGER NOT NULL DEFAULT 0,"
    " created_at INTEGER NOT NULL);";

static const char get_sql[] =
    "SELECT text, reasoning, finish_reason, prompt_tokens, "
    "completion_tokens, cached_tokens, reasoning_tokens, usage_known "
    "FROM replies WHERE key = ?1";

static const char put_sql[] =
    "INSERT OR REPLACE INTO replies(key, stage, model, text, reasoning, "
    "finish_reason, prompt_tokens, completion_tokens, cached_tokens, "
    "reasoning_tokens, usage_known, created_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";

int sk_cache_mode_parse(const char *s, enum sk_cache_mode *out)
{
    if (!s)
        return SK_EINVAL;
    if (strcmp(s, "off") == 0)
        *out = SK_CACHE_OFF;
    else if (strcmp(s, "read_write") == 0)
        *out = SK_CACHE_READ_WRITE;
    else if (strcmp(s, "replay") == 0)
        *out = SK_CACHE_REPLAY;
    else
        return SK_EINVAL;
    return SK_OK;
}

static int db_error(struct sk_error *err, const struct sk_cache *c,
                    const char *what)
{
    return sk_error_set(err, SK_EIO, "%s: response cache: %s: %s", c->path,
                        what, c->db ? sqlite3_errmsg(c->db) : "no handle");
}

/* Runs one statement that returns no rows we need. */
static int exec_sql(struct sk_cache *c, const char *sql, const char *what,
                    struct sk_error *err)
{
    if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_error(err, c, what);
    return SK_OK;
}

/*
 * Creates the tables and the meta row, or checks the version of an
 * existing file.  One IMMEDIATE transaction so that two processes opening
 * a new file at once do not both insert a meta row.
 */
static int setup_schema(struct sk_cache *c, struct sk_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc, step;
    long long version = -1;

    rc = exec_sql(c, "BEGIN IMMEDIATE", "cannot lock", err);
    if (rc != SK_OK)
        return rc;
    rc = exec_sql(c, schema_sql, "cannot create tables", err);
    if (rc != SK_OK)
        goto out;
    if (sqlite3_prepare_v2(c->db, "SELECT format_version FROM meta LIMIT 1", -1,
                           &st, NULL) != SQLITE_OK) {
        rc = db_error(err, c, "cannot read the format version");
        goto out;
    }
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        version = sqlite3_column_int64(st, 0);
    } else if (step != SQLITE_DONE) {
        rc = db_error(err, c, "cannot read the format version");
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (version < 0) {
        char sql[96];
        snprintf(sql, sizeof sql,
                 "INSERT INTO meta(format_version) VALUES (%d)",
                 CACHE_FORMAT_VERSION);
        rc = exec_sql(c, sql, "cannot write the format version", err);
        if (rc != SK_OK)
            goto out;
    } else if (version != CACHE_FORMAT_VERSION) {
        rc = sk_error_set(err, SK_EIO,
                          "%s: response cache has format version %lld, this "
                          "build reads %d (move the file away to start a new "
                          "cache)",
                          c->path, version, CACHE_FORMAT_VERSION);
        goto out;
    }
    rc = exec_sql(c, "COMMIT", "cannot commit", err);
out:
    sqlite3_finalize(st);
    if (rc != SK_OK)
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static int open_db(struct sk_cache *c, struct sk_error *err)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX;
    int rc;

    /* Replay reads a recorded run: a missing file is a mistake, not an
     * empty cache. */
    if (c->mode != SK_CACHE_REPLAY)
        flags |= SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(c->path, &c->db, flags, NULL) != SQLITE_OK)
        return db_error(err, c, "cannot open");
    sqlite3_extended_result_codes(c->db, 0);
    /* Set before anything touches the file, so that every later step
     * waits for other writers instead of failing with SQLITE_BUSY. */
    sqlite3_busy_timeout(c->db, CACHE_BUSY_MS);
    /* The first read of a file that is not a database fails here. */
    rc = exec_sql(c, "PRAGMA journal_mode=WAL", "cannot open", err);
    if (rc == SK_OK)
        rc = exec_sql(c, "PRAGMA synchronous=NORMAL", "cannot open", err);
    if (rc == SK_OK)
        rc = setup_schema(c, err);
    if (rc != SK_OK)
        return rc;
    if (sqlite3_prepare_v2(c->db, get_sql, -1, &c->get, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(c->db, put_sql, -1, &c->put, NULL) != SQLITE_OK)
        return db_error(err, c, "cannot prepare statements");
    return SK_OK;
}

int sk_cache_open(const char *path, enum sk_cache_mode mode,
                  struct sk_cache **out, struct sk_error *err)
{
    struct sk_cache *c;
    int rc;

    *out = NULL;
    if (mode != SK_CACHE_OFF && (!path || !*path))
        return sk_error_set(err, SK_EINVAL, "response cache: no file given");
    c = sk_calloc(1, sizeof *c);
    if (!c)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    c->mode = mode;
    c->path = sk_strdup(path ? path : "");
    if (!c->path) {
        sk_free(c);
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    }
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        sk_free(c->path);
        sk_free(c);
        return sk_error_set(err, SK_ENOMEM, "response cache: no mutex");
    }
    if (mode != SK_CACHE_OFF) {
        rc = open_db(c, err);
        if (rc != SK_OK) {
            sk_cache_close(c);
            return rc;
        }
    }
    *out = c;
    return SK_OK;
}

/* Frees everything c holds, including a half-opened handle. */
void sk_cache_close(struct sk_cache *c)
{
    if (!c)
        return;
    sqlite3_finalize(c->get);
    sqlite3_finalize(c->put);
    if (c->db)
        sqlite3_close(c->db);
    pthread_mutex_destroy(&c->lock);
    sk_free(c->path);
    sk_free(c);
}

enum sk_cache_mode sk_cache_mode(const struct sk_cache *c)
{
    return c ? c->mode : SK_CACHE_OFF;
}

/*
 * Each field is written as "<decimal length>:<bytes>", so that field
 * boundaries are part of the hashed text: ("ab", "c") and ("a", "bc")
 * give different keys.  The leading tag changes with the format version.
 */
static int key_field(struct sk_buf *b, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    int rc = sk_buf_printf(b, "%zu:", n);
    if (rc == SK_OK)
        rc = sk_buf_append(b, s ? s : "", n);
    return rc;
}

int sk_cache_key(const char *provider, const char *base_url, const char *model,
                 const char *canonical, int sample_index, char key[65])
{
    struct sk_buf b;
    char idx[24];
    int rc;

    key[0] = '\0';
    snprintf(idx, sizeof idx, "%d", sample_index);
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    rc = sk_buf_printf(&b, "skillopt-cache-v%d\n", CACHE_FORMAT_VERSION);
    if (rc == SK_OK)
        rc = key_field(&b, provider);
    if (rc == SK_OK)
        rc = key_field(&b, base_url);
    if (rc == SK_OK)
        rc = key_field(&b, model);
    if (rc == SK_OK)
        rc = key_field(&b, canonical);
    if (rc == SK_OK)
        rc = key_field(&b, idx);
    if (rc == SK_OK)
        rc = sk_sha256_hex(b.data, b.len, key);
    sk_buf_release(&b);
    return rc;
}

static char *column_dup(sqlite3_stmt *st, int col, int *oom)
{
    const unsigned char *t;
    char *s;
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return NULL;
    t = sqlite3_column_text(st, col);
    if (!t) {
        *oom = 1;
        return NULL;
    }
    s = sk_strndup((const char *)t, (size_t)sqlite3_column_bytes(st, col));
    if (!s)
        *oom = 1;
    return s;
}

static uint64_t column_u64(sqlite3_stmt *st, int col)
{
    sqlite3_int64 v = sqlite3_column_int64(st, col);
    return v > 0 ? (uint64_t)v : 0;
}

/* Fills res from the current row of c->get; SK_ENOMEM leaves res alone. */
static int fill_result(sqlite3_stmt *st, struct sk_llm_result *res)
{
    int oom = 0;
    char *text = column_dup(st, 0, &oom);
    char *reasoning = column_dup(st, 1, &oom);
    char *finish = column_dup(st, 2, &oom);

    if (!text && !oom)
        text = sk_strdup(""); /* never NULL on SK_OK */
    if (oom || !text) {
        sk_free(text);
        sk_free(reasoning);
        sk_free(finish);
        return SK_ENOMEM;
    }
    sk_free(res->text);
    sk_free(res->reasoning);
    sk_free(res->finish_reason);
    res->text = text;
    res->reasoning = reasoning;
    res->finish_reason = finish;
    res->status = SK_OK;
    res->cache_hit = 1;
    res->usage.prompt_tokens = column_u64(st, 3);
    res->usage.completion_tokens = column_u64(st, 4);
    res->usage.cached_tokens = column_u64(st, 5);
    res->usage.reasoning_tokens = column_u64(st, 6);
    res->usage.usage_known = sqlite3_column_int(st, 7) != 0;
    res->error[0] = '\0';
    return SK_OK;
}

/*
 * res must be initialised (sk_llm_result_init): on a hit its text,
 * reasoning and finish_reason are replaced (old values freed).  On a miss
 * or an error res is not touched.
 */
int sk_cache_get(struct sk_cache *c, const char *key, struct sk_llm_result *res,
                 struct sk_error *err)
{
    int rc, step;

    if (!c || c->mode == SK_CACHE_OFF)
        return SK_ENOTFOUND;
    pthread_mutex_lock(&c->lock);
    sqlite3_reset(c->get);
    if (sqlite3_bind_text(c->get, 1, key, -1, SQLITE_STATIC) != SQLITE_OK) {
        rc = db_error(err, c, "lookup failed");
        goto out;
    }
    step = sqlite3_step(c->get);
    if (step == SQLITE_ROW) {
        rc = fill_result(c->get, res);
        if (rc != SK_OK)
            sk_error_set(err, rc, "out of memory");
    } else if (step == SQLITE_DONE) {
        if (c->mode == SK_CACHE_REPLAY)
            rc = sk_error_set(err, SK_LLM_EREPLAY,
                              "replay: no recorded reply for key %.12s in %s "
                              "(this request was not made by the recorded "
                              "run, or was made differently)",
                              key, c->path);
        else
            rc = SK_ENOTFOUND;
    } else {
        rc = db_error(err, c, "lookup failed");
    }
out:
    sqlite3_reset(c->get);
    sqlite3_clear_bindings(c->get);
    pthread_mutex_unlock(&c->lock);
    return rc;
}

static int bind_u64(sqlite3_stmt *st, int i, uint64_t v)
{
    /* token counts fit easily; clamp rather than wrap negative */
    if (v > (uint64_t)INT64_MAX)
        v = (uint64_t)INT64_MAX;
    return sqlite3_bind_int64(st, i, (sqlite3_int64)v);
}

static int bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
    if (!s)
        return sqlite3_bind_null(st, i);
    return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

int sk_cache_put(struct sk_cache *c, const char *key, const char *stage,
                 const char *model, const struct sk_llm_result *res,
                 struct sk_error *err)
{
    const struct sk_usage *u = &res->usage;
    int rc = SK_OK, ok;

    if (!c || c->mode != SK_CACHE_READ_WRITE)
        return SK_OK;
    if (res->status != SK_OK || !res->text || !*res->text)
        return SK_OK;
    pthread_mutex_lock(&c->lock);
    sqlite3_reset(c->put);
    ok = bind_text_or_null(c->put, 1, key) == SQLITE_OK &&
         bind_text_or_null(c->put, 2, stage) == SQLITE_OK &&
         bind_text_or_null(c->put, 3, model) == SQLITE_OK &&
         bind_text_or_null(c->put, 4, res->text) == SQLITE_OK &&
         bind_text_or_null(c->put, 5, res->reasoning) == SQLITE_OK &&
         bind_text_or_null(c->put, 6, res->finish_reason) == SQLITE_OK &&
         bind_u64(c->put, 7, u->prompt_tokens) == SQLITE_OK &&
         bind_u64(c->put, 8, u->completion_tokens) == SQLITE_OK &&
         bind_u64(c->put, 9, u->cached_tokens) == SQLITE_OK &&
         bind_u64(c->put, 10, u->reasoning_tokens) == SQLITE_OK &&
         sqlite3_bind_int(c->put, 11, u->usage_known ? 1 : 0) == SQLITE_OK &&
         sqlite3_bind_int64(c->put, 12, (sqlite3_int64)time(NULL)) == SQLITE_OK;
    if (!ok || sqlite3_step(c->put) != SQLITE_DONE)
        rc = db_error(err, c, "cannot store a reply");
    sqlite3_reset(c->put);
    sqlite3_clear_bindings(c->put);
    pthread_mutex_unlock(&c->lock);
    return rc;
}

int sk_cache_foreach_usage(struct sk_cache *c, sk_cache_usage_fn fn, void *ud,
                           struct sk_error *err)
{
    static const char sql[] =
        "SELECT stage, model, prompt_tokens, completion_tokens, "
        "cached_tokens, reasoning_tokens, usage_known FROM replies "
        "ORDER BY rowid";
    sqlite3_stmt *st = NULL;
    int step, rc = SK_OK;

    if (!c || !c->db)
        return SK_OK;
    pthread_mutex_lock(&c->lock);
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = db_error(err, c, "cannot read the stored usage");
        goto out;
    }
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct sk_usage u;
        const char *stage = (const char *)sqlite3_column_text(st, 0);
        const char *model = (const char *)sqlite3_column_text(st, 1);
        memset(&u, 0, sizeof u);
        u.prompt_tokens = (uint64_t)sqlite3_column_int64(st, 2);
        u.completion_tokens = (uint64_t)sqlite3_column_int64(st, 3);
        u.cached_tokens = (uint64_t)sqlite3_column_int64(st, 4);
        u.reasoning_tokens = (uint64_t)sqlite3_column_int64(st, 5);
        u.usage_known = sqlite3_column_int(st, 6) != 0;
        fn(ud, stage ? stage : "", model ? model : "", &u);
    }
    if (step != SQLITE_DONE)
        rc = db_error(err, c, "cannot read the stored usage");
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&c->lock);
    return rc;
}
