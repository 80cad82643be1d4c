/*
 * prompt.h - prompt templates: lookup (override files, then the copies
 * embedded at build time) and {{placeholder}} rendering.
 *
 * Templates are markdown files under prompts/ in the source tree; CMake
 * embeds each one (cmake/embed_prompts.cmake) under its path relative to
 * prompts/ without ".md", e.g. "analyst_error" or "searchqa/rollout_user".
 * Every function appends to a caller-owned struct sk_buf and, on failure,
 * truncates it back to its previous length.  Strings passed in are
 * borrowed; the embedded table is static and never freed.  See
 * docs/prompts.md for the override rules and the placeholder syntax.
 */
#ifndef SK_PROMPT_H
#define SK_PROMPT_H

#include <stddef.h>

#include "common.h"

struct sk_buf;

/* Largest override file read from prompts_dir, in bytes. */
#define SK_PROMPT_MAX_FILE (1024 * 1024)

/* One embedded template; data is NUL-terminated after len bytes. */
struct sk_prompt_embedded {
    const char *name;          /* "analyst_error", "searchqa/rollout_user" */
    const unsigned char *data; /* file bytes */
    size_t len;                /* bytes, not counting the NUL */
};

/* Generated at build time from prompts/ (build/generated). */
extern const struct sk_prompt_embedded sk_prompt_embedded_table[];
extern const size_t sk_prompt_embedded_count;

/* A {{name}} placeholder and the text it is replaced with. */
struct sk_prompt_var {
    const char *name;  /* [A-Za-z0-9_]+ */
    const char *value; /* value bytes, need not be NUL-terminated */
    size_t len;        /* bytes of value */
};

/*
 * Returns the embedded template called name (NUL-terminated, static) and
 * stores its length in *len (len may be NULL); NULL when there is none.
 */
const char *sk_prompt_embedded_find(const char *name, size_t *len);

/*
 * Appends the template name to out, taking the first that exists of
 *   <prompts_dir>/<bench>/<name>.md, <prompts_dir>/<name>.md,
 *   embedded "<bench>/<name>", embedded "<name>".
 * bench and prompts_dir may be NULL or "" to skip their candidates.  name
 * is made of [A-Za-z0-9_-] segments joined by '/'; bench is one such
 * segment (SK_EINVAL otherwise, so neither can leave prompts_dir).
 * Returns SK_OK; SK_ENOTFOUND when no candidate exists; SK_EIO or
 * SK_ETOOBIG (past SK_PROMPT_MAX_FILE or out's cap) for an unreadable
 * override, which is not skipped; SK_ENOMEM.  err names the file or name.
 */
int sk_prompt_lookup(const char *name, const char *bench,
                     const char *prompts_dir, struct sk_buf *out,
                     struct sk_error *err);

/*
 * Appends tmpl (len bytes) to out with every {{name}} (spaces inside the
 * braces allowed) replaced by the value of the first var of that name.
 * "{{{{" stands for a literal "{{"; a lone '{' and any '}' are literal, so
 * JSON needs no escaping.  Values are inserted verbatim and not rescanned.
 * Vars the template does not use are ignored.  Returns SK_OK; SK_EPARSE
 * for an unknown name, an unterminated "{{" or a "{{" not followed by a
 * name and "}}", with err giving the name and 1-based line; SK_ETOOBIG at
 * out's cap; SK_ENOMEM.
 */
int sk_prompt_render(const char *tmpl, size_t len,
                     const struct sk_prompt_var *vars, size_t n,
                     struct sk_buf *out, struct sk_error *err);

/* A variable holding the C string value (NULL: ""), borrowed. */
struct sk_prompt_var sk_prompt_str(const char *name, const char *value);

#endif /* SK_PROMPT_H */
