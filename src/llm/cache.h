/*
 * cache.h - response cache and record/replay, in SQLite (WAL).
 *
 * Replies are stored under a key = SHA-256 of (provider kind, base URL,
 * model, canonical request JSON, sample index).  Only successful, non-empty
 * replies are stored; errors never are.  Modes:
 *   off        - never read or write;
 *   read_write - serve hits, store misses (the default for runs: an
 *                interrupted run never pays twice for a reply);
 *   replay     - serve hits; a miss is SK_LLM_EREPLAY (re-executes a
 *                recorded run offline, exactly).
 * Several processes may share one file (WAL + busy timeout).
 *
 * Ownership: the cache owns its SQLite handle; results returned by
 * sk_cache_get are filled into the caller's struct (owned strings).
 */
#ifndef SK_CACHE_H
#define SK_CACHE_H

#include <stddef.h>

#include "common.h"
#include "llm/llm.h"

enum sk_cache_mode { SK_CACHE_OFF, SK_CACHE_READ_WRITE, SK_CACHE_REPLAY };

struct sk_cache;

/* Parses "off" | "read_write" | "replay". */
int sk_cache_mode_parse(const char *s, enum sk_cache_mode *out);

/* Opens (creating if needed; in replay mode the file must exist) the store
 * at path.  Mode off opens nothing (path may be "") and every call is a
 * miss.  SK_EIO naming the path with the SQLite message on failure (also
 * for a file that is not a cache, or of another format version). */
int sk_cache_open(const char *path, enum sk_cache_mode mode,
                  struct sk_cache **out, struct sk_error *err);
void sk_cache_close(struct sk_cache *c); /* NULL ok */
enum sk_cache_mode sk_cache_mode(const struct sk_cache *c);

/* 64-hex key into key[65]. */
int sk_cache_key(const char *provider, const char *base_url, const char *model,
                 const char *canonical, int sample_index, char key[65]);

/*
 * Looks key up.  Hit: fills res (status SK_OK, cache_hit = 1, text,
 * reasoning, finish_reason, usage) and returns SK_OK; res must be
 * initialised and its old strings are freed.  Miss: SK_ENOTFOUND
 * (SK_LLM_EREPLAY in replay mode, with a message naming the key's first 12
 * hex digits and the file); res is then untouched.
 */
int sk_cache_get(struct sk_cache *c, const char *key, struct sk_llm_result *res,
                 struct sk_error *err);

/* Stores a successful result (no-op in off/replay mode or for errors and
 * empty texts). */
int sk_cache_put(struct sk_cache *c, const char *key, const char *stage,
                 const char *model, const struct sk_llm_result *res,
                 struct sk_error *err);

/*
 * Calls fn once per stored reply with its stage, model and usage (text
 * fields of the result are not filled), in insertion order.  Used to
 * account for what earlier processes of a run already spent.  Returns
 * SK_OK (also in mode off) or SK_EIO.
 */
typedef void (*sk_cache_usage_fn)(void *ud, const char *stage,
                                  const char *model,
                                  const struct sk_usage *usage);
int sk_cache_foreach_usage(struct sk_cache *c, sk_cache_usage_fn fn, void *ud,
                           struct sk_error *err);

#endif /* SK_CACHE_H */
