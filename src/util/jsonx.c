/*
 * jsonx.c - extract the JSON value a model meant from its reply text.
 *
 * Only finds and, conservatively, repairs candidate text; every value is
 * parsed by jansson.  All scans are single forward passes (or a constant
 * number of them) so hostile replies cannot make extraction quadratic.
 */
#include "common.h"
#include "util/jsonparse.h"
#include "util/jsonx.h"

#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "util/alloc.h"
#include "util/buf.h"

#define NO_POS UINT32_MAX

struct span {
    const char *p; /* borrowed from the (stripped) reply */
    size_t n;
};

/* What went wrong so far; turned into err->msg when nothing is found. */
struct attempt {
    const char *limit; /* first size limit any candidate hit, or NULL */
    int fence;         /* 0 no fence, 1 fence not JSON, 2 wrong kind */
};

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Python's \s for ASCII, used where the reference uses a regex \s*. */
static int is_pyspace(char c)
{
    return is_ws(c) || c == '\f' || c == '\v';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static size_t skip_ws(const char *s, size_t i, size_t n)
{
    while (i < n && is_ws(s[i]))
        i++;
    return i;
}

/* Compares n bytes of s with the lower-case literal lit, ignoring case. */
static int ci_eq(const char *s, const char *lit, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != lit[i])
            return 0;
    }
    return 1;
}

/* U+201C / U+201D, the typographic double quotes (E2 80 9C / E2 80 9D). */
static int is_smart_dq(const char *s, size_t i, size_t n)
{
    return i + 2 < n && (unsigned char)s[i] == 0xe2 &&
           (unsigned char)s[i + 1] == 0x80 &&
           ((unsigned char)s[i + 2] == 0x9c || (unsigned char)s[i + 2] == 0x9d);
}

/*
 * Index of the '"' that closes the string opened by the '"' at s[i],
 * backslash escapes honoured, or n when the text ends inside it.  The one
 * place every scanner below learns where a string ends: it runs once per
 * string, not per byte, so the scans stay single tight passes.
 */
static size_t string_end(const char *s, size_t i, size_t n)
{
    for (i++; i < n; i++) {
        if (s[i] == '"')
            return i;
        if (s[i] == '\\' && ++i == n)
            break;
    }
    return n;
}

/*
 * Index of the close that balances the open at s[start], counting only
 * brackets outside strings, or n when the text ends first.
 */
static size_t span_end(const char *s, size_t n, size_t start, char open,
                       char close)
{
    size_t i, depth = 0;
    for (i = start; i < n; i++) {
        if (s[i] == '"')
            i = string_end(s, i, n);
        else if (s[i] == open)
            depth++;
        else if (s[i] == close && --depth == 0)
            return i;
    }
    return n;
}

/* ---------------------------------------------------------------------- */
/* Reasoning blocks                                                        */

static const char *const reasoning_tags[] = {"think", "thinking", "reasoning"};

/*
 * Whether s[j] starts <tag> or </tag> of a reasoning tag (any case); sets
 * *close, *which and *tag_len.  Tags carry no attributes.
 */
static int match_tag(const char *s, size_t n, size_t j, int *close,
                     size_t *which, size_t *tag_len)
{
    size_t k, i = j + 1;
    int c = 0;
    if (i < n && s[i] == '/') {
        c = 1;
        i++;
    }
    for (k = 0; k < SK_ARRAY_LEN(reasoning_tags); k++) {
        size_t l = strlen(reasoning_tags[k]);
        if (i + l < n && ci_eq(s + i, reasoning_tags[k], l) &&
            s[i + l] == '>') {
            *close = c;
            *which = k;
            *tag_len = i + l + 1 - j;
            return 1;
        }
    }
    return 0;
}

/* Only blanks separate s[j] from the start of its line. */
static int at_line_start(const char *s, size_t j)
{
    while (j > 0 && (s[j - 1] == ' ' || s[j - 1] == '\t'))
        j--;
    return j == 0 || s[j - 1] == '\n';
}

/* Only blanks separate s[j] from the end of its line. */
static int at_line_end(const char *s, size_t j, size_t n)
{
    while (j < n && (s[j] == ' ' || s[j] == '\t' || s[j] == '\r'))
        j++;
    return j == n || s[j] == '\n';
}

/* Position of the first </tag which> at or after from, or n. */
static size_t find_close_tag(const char *s, size_t n, size_t from, size_t which,
                             size_t *tag_len)
{
    while (from < n) {
        const char *lt = memchr(s + from, '<', n - from);
        size_t j, w;
        int close;
        if (!lt)
            break;
        j = (size_t)(lt - s);
        if (match_tag(s, n, j, &close, &w, tag_len) && close && w == which)
            return j;
        from = j + 1;
    }
    return n;
}

/*
 * Removes reasoning blocks.  An opening tag counts only at the start of a
 * line and a leading orphan closing tag only at the end of one: a raw
 * newline cannot occur inside a valid JSON string, so tags quoted inside
 * JSON values are left alone.  *t / *n become the kept text (in kept when
 * anything was removed); *open_tag names a block the reply never closes.
 */
static int strip_reasoning(const char **t, size_t *n, struct sk_buf *kept,
                           const char **open_tag)
{
    const char *s = *t;
    size_t len = *n, i = 0, keep_from = 0;
    int seen = 0, stripped = 0, rc;

    *open_tag = NULL;
    while (i < len) {
        const char *lt = memchr(s + i, '<', len - i);
        size_t j, which, tag_len;
        int close;
        if (!lt)
            break;
        j = (size_t)(lt - s);
        if (!match_tag(s, len, j, &close, &which, &tag_len)) {
            i = j + 1;
            continue;
        }
        if (!close && at_line_start(s, j)) {
            size_t clen, c;
            seen = stripped = 1;
            rc = sk_buf_append(kept, s + keep_from, j - keep_from);
            if (rc == SK_OK)
                rc = sk_buf_putc(kept, '\n');
            if (rc != SK_OK)
                return rc;
            c = find_close_tag(s, len, j + tag_len, which, &clen);
            if (c == len) {
                *open_tag = reasoning_tags[which];
                keep_from = len;
                break;
            }
            i = keep_from = c + clen;
            continue;
        }
        if (close && !seen && at_line_end(s, j + tag_len, len)) {
            /* Reasoning whose opening tag the API swallowed. */
            seen = stripped = 1;
            i = keep_from = j + tag_len;
            continue;
        }
        i = j + 1;
    }
    if (!stripped)
        return SK_OK;
    rc = sk_buf_append(kept, s + keep_from, len - keep_from);
    if (rc != SK_OK)
        return rc;
    *t = sk_buf_cstr(kept);
    *n = kept->len;
    return SK_OK;
}

/* ---------------------------------------------------------------------- */
/* Fenced blocks                                                           */

static size_t find_ticks(const char *s, size_t n, size_t from)
{
    while (from + 3 <= n) {
        const char *p = memchr(s + from, '`', n - from - 2);
        size_t j;
        if (!p)
            return n;
        j = (size_t)(p - s);
        if (s[j + 1] == '`' && s[j + 2] == '`')
            return j;
        from = j + 1;
    }
    return n;
}

/* The next ``` that starts a line (after blanks), at or after from, or n. */
static size_t find_line_ticks(const char *s, size_t n, size_t from)
{
    for (;;) {
        size_t j = find_ticks(s, n, from);
        if (j == n || at_line_start(s, j))
            return j;
        from = j + 1;
    }
}

/*
 * The reference's first ```json block: "```json", blanks, then everything
 * up to the next ``` (non-greedy), wherever they are.  "json" may be in any
 * case here.
 */
static int find_json_fence(const char *s, size_t n, struct span *body)
{
    size_t i = 0;
    for (;;) {
        size_t j = find_ticks(s, n, i), b, e;
        if (j == n)
            return 0;
        if (j + 7 > n || !ci_eq(s + j + 3, "json", 4)) {
            i = j + 1;
            continue;
        }
        b = j + 7;
        while (b < n && is_pyspace(s[b]))
            b++;
        e = find_ticks(s, n, b);
        if (e == n)
            return 0; /* no later fence can close either */
        body->p = s + b;
        body->n = e - b;
        return 1;
    }
}

/*
 * The first plain ``` block, fences taken pairwise at line starts (so the
 * closing fence of a ```python block never opens one).
 */
static int find_plain_fence(const char *s, size_t n, struct span *body)
{
    size_t i = 0;
    for (;;) {
        size_t o = find_line_ticks(s, n, i), k, c;
        int blank = 1;
        if (o == n)
            return 0;
        for (k = o + 3; k < n && s[k] != '\n'; k++)
            if (!is_ws(s[k]))
                blank = 0;
        if (k == n)
            return 0;
        c = find_line_ticks(s, n, k + 1);
        if (c == n)
            return 0;
        if (blank) {
            body->p = s + k + 1;
            body->n = c - (k + 1);
            return 1;
        }
        i = c + 3;
    }
}

/* Sets *is_json to whether the block was tagged json.  0: no fence. */
static int find_fence(const char *s, size_t n, struct span *body, int *is_json)
{
    *is_json = find_json_fence(s, n, body);
    return *is_json || find_plain_fence(s, n, body);
}

/* ---------------------------------------------------------------------- */
/* Limits and strict parsing                                               */

/* Checks depth and digit runs outside strings; the reason, or NULL. */
static const char *prescan(const char *s, size_t n)
{
    size_t i, depth = 0, digits = 0;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (is_digit(c)) {
            if (++digits > SK_JSONX_MAX_DIGITS)
                return "number longer than 100 digits";
            continue;
        }
        if (c != '.' && c != 'e' && c != 'E' && c != '+' && c != '-')
            digits = 0;
        if (c == '"') {
            i = string_end(s, i, n);
        } else if (c == '{' || c == '[') {
            if (++depth > SK_JSONX_MAX_DEPTH)
                return "nesting deeper than 64";
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
    }
    return NULL;
}

/*
 * Strict jansson parse of s after the limit pre-scan.  *v is the value or
 * NULL (reason in jerr, or a limit noted in at).  Returns SK_ENOMEM when
 * jansson ran out of memory (it then sets no error text), else SK_OK.
 */
static int parse_strict(const char *s, size_t n, size_t flags,
                        struct attempt *at, json_t **v, json_error_t *jerr)
{
    const char *limit = prescan(s, n);
    *v = NULL;
    if (limit) {
        if (!at->limit)
            at->limit = limit;
        jerr->text[0] = '\0';
        jerr->line = jerr->column = -1;
        return SK_OK;
    }
    *v = sk_json_loadb(s, n, flags, jerr);
    if (!*v && sk_json_oom(jerr))
        return SK_ENOMEM;
    return SK_OK;
}

/* ---------------------------------------------------------------------- */
/* Top-level spans                                                         */

/*
 * Matching '}' of every '{' outside strings, by a stack, so the array scan
 * can step over balanced objects in O(1).  The open chain is kept in ends
 * itself (each open entry links to its parent) until the '}' arrives.
 */
struct brace_table {
    uint32_t *starts; /* positions of the '{' outside strings, ascending */
    uint32_t *ends;   /* matching '}' position, or NO_POS */
    size_t count;
    size_t cursor; /* next entry the forward scan may ask about */
};

static int brace_table_build(const char *s, size_t n, struct brace_table *bt)
{
    size_t i, k = 0;
    uint32_t top = NO_POS;

    memset(bt, 0, sizeof *bt);
    for (i = 0; i < n; i++) {
        if (s[i] == '"')
            i = string_end(s, i, n);
        else if (s[i] == '{')
            k++;
    }
    if (k == 0)
        return SK_OK;
    bt->starts = sk_malloc(2 * k * sizeof *bt->starts);
    if (!bt->starts)
        return SK_ENOMEM;
    bt->ends = bt->starts + k;
    for (i = 0; i < n; i++) {
        if (s[i] == '"') {
            i = string_end(s, i, n);
        } else if (s[i] == '{') {
            bt->starts[bt->count] = (uint32_t)i;
            bt->ends[bt->count] = top; /* parent link while open */
            top = (uint32_t)bt->count++;
        } else if (s[i] == '}' && top != NO_POS) {
            uint32_t parent = bt->ends[top];
            bt->ends[top] = (uint32_t)i;
            top = parent;
        }
    }
    while (top != NO_POS) {
        uint32_t parent = bt->ends[top];
        bt->ends[top] = NO_POS;
        top = parent;
    }
    return SK_OK;
}

/* Matching '}' of the '{' at i (positions only grow), or NO_POS. */
static uint32_t brace_table_end(struct brace_table *bt, size_t i)
{
    while (bt->cursor < bt->count && bt->starts[bt->cursor] < i)
        bt->cursor++;
    if (bt->cursor < bt->count && bt->starts[bt->cursor] == i)
        return bt->ends[bt->cursor];
    return NO_POS;
}

/*
 * Index of the next open at or after i outside strings, or n.  With bt,
 * balanced {...} spans are stepped over whole (the array scan), an
 * unmatched '{' read as prose.
 */
static size_t next_open(const char *s, size_t i, size_t n, char open,
                        struct brace_table *bt)
{
    for (; i < n; i++) {
        if (s[i] == '"') {
            i = string_end(s, i, n);
        } else if (s[i] == open) {
            return i;
        } else if (bt && s[i] == '{') {
            uint32_t e = brace_table_end(bt, i);
            if (e != NO_POS)
                i = e;
        }
    }
    return n;
}

struct objscan {
    size_t count;      /* balanced top-level {...} spans */
    struct span first; /* the first of them */
    int unterminated;  /* the text ends inside an object */
};

/*
 * The reference's top-level object scan: quote- and escape-aware both
 * before and inside an object, so a '{' in a quoted string never opens
 * one; an unterminated last object is not counted.
 */
static void scan_objects(const char *s, size_t n, struct objscan *os)
{
    size_t i, e;

    memset(os, 0, sizeof *os);
    for (i = next_open(s, 0, n, '{', NULL); i < n;
         i = next_open(s, e + 1, n, '{', NULL)) {
        e = span_end(s, n, i, '{', '}');
        if (e == n) {
            os->unterminated = 1;
            return;
        }
        if (os->count++ == 0) {
            os->first.p = s + i;
            os->first.n = e + 1 - i;
        }
    }
}

static struct span trim(struct span sp)
{
    while (sp.n > 0 && is_pyspace(sp.p[0])) {
        sp.p++;
        sp.n--;
    }
    while (sp.n > 0 && is_pyspace(sp.p[sp.n - 1]))
        sp.n--;
    return sp;
}

/*
 * An intended object, not prose like {op: delete}: after '{' and blanks
 * comes a quote (ASCII or typographic) or '}'.
 */
static int looks_like_json(struct span sp)
{
    size_t i;
    sp = trim(sp);
    if (sp.n < 2 || sp.p[0] != '{' || sp.p[sp.n - 1] != '}')
        return 0;
    i = skip_ws(sp.p, 1, sp.n);
    return sp.p[i] == '"' || sp.p[i] == '}' || is_smart_dq(sp.p, i, sp.n);
}

/* ---------------------------------------------------------------------- */
/* Repair                                                                  */

static int starts_word(const char *s, size_t i, size_t n, const char *w)
{
    size_t l = strlen(w);
    return i + l <= n && memcmp(s + i, w, l) == 0 &&
           (i + l == n || !((s[i + l] >= 'a' && s[i + l] <= 'z') ||
                            (s[i + l] >= 'A' && s[i + l] <= 'Z')));
}

/*
 * Whether a quote inside a string, followed by s[j..], ends the string: it
 * does when the next token is ':' '}' ']' or the end, or ',' and then the
 * start of a JSON value or key.  Otherwise it is an unescaped inner quote.
 * Every closing quote of valid JSON passes, so valid text is unchanged.
 */
static int quote_closes(const char *s, size_t j, size_t n)
{
    char c;
    j = skip_ws(s, j, n);
    if (j == n || s[j] == ':' || s[j] == '}' || s[j] == ']')
        return 1;
    if (s[j] != ',')
        return 0;
    j = skip_ws(s, j + 1, n);
    if (j == n)
        return 1;
    c = s[j];
    return c == '"' || c == '{' || c == '[' || c == '}' || c == ']' ||
           c == '-' || is_digit(c) || is_smart_dq(s, j, n) ||
           starts_word(s, j, n, "true") || starts_word(s, j, n, "false") ||
           starts_word(s, j, n, "null");
}

/* s[j] (after a backslash) continues a valid JSON escape. */
static int valid_escape(const char *s, size_t j, size_t n)
{
    size_t k;
    if (j >= n)
        return 0;
    if (strchr("\"\\/bfnrt", s[j]) && s[j] != '\0')
        return 1;
    if (s[j] != 'u' || j + 4 >= n)
        return 0;
    for (k = j + 1; k <= j + 4; k++) {
        char c = s[k];
        if (!(is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return 0;
    }
    return 1;
}

static int put_ctrl(struct sk_buf *b, unsigned char c)
{
    switch (c) {
    case '\n':
        return sk_buf_append(b, "\\n", 2);
    case '\r':
        return sk_buf_append(b, "\\r", 2);
    case '\t':
        return sk_buf_append(b, "\\t", 2);
    default:
        return sk_buf_printf(b, "\\u%04x", c);
    }
}

/*
 * Rewrites one candidate object into text jansson may accept: drops
 * trailing commas before '}' / ']', escapes raw control characters and
 * unescaped inner quotes inside strings, doubles stray backslashes, and
 * turns typographic double quotes used as delimiters into '"'.  Single
 * typographic quotes are never delimiters (U+2019 is also the apostrophe).
 * Nothing is ever closed: *truncated is set when the text ends inside a
 * string or with open brackets.
 */
static int repair_object(const char *s, size_t n, struct sk_buf *b,
                         int *truncated)
{
    size_t i = 0;
    long depth = 0;
    int mode = 0; /* 0 outside strings, 1 in "...", 2 in a smart-quoted one */
    int rc = SK_OK;

    while (i < n && rc == SK_OK) {
        char c = s[i];
        if (mode == 0) {
            if (c == '"') {
                mode = 1;
            } else if (is_smart_dq(s, i, n)) {
                mode = 2;
                rc = sk_buf_putc(b, '"');
                i += 3;
                continue;
            } else if (c == ',') {
                size_t k = skip_ws(s, i + 1, n);
                if (k < n && (s[k] == '}' || s[k] == ']')) {
                    i++;
                    continue;
                }
            } else if (c == '{' || c == '[') {
                depth++;
            } else if (c == '}' || c == ']') {
                depth--;
            }
            rc = sk_buf_putc(b, c);
            i++;
        } else if (c == '\\') {
            if (valid_escape(s, i + 1, n)) {
                rc = sk_buf_append(b, s + i, 2);
                i += 2;
            } else {
                rc = sk_buf_append(b, "\\\\", 2);
                i++;
            }
        } else if (c == '"' || (mode == 2 && is_smart_dq(s, i, n))) {
            size_t w = c == '"' ? 1 : 3;
            if (quote_closes(s, i + w, n)) {
                mode = 0;
                rc = sk_buf_putc(b, '"');
            } else if (c == '"') {
                rc = sk_buf_append(b, "\\\"", 2);
            } else {
                rc = sk_buf_append(b, s + i, w);
            }
            i += w;
        } else if ((unsigned char)c < 0x20) {
            rc = put_ctrl(b, (unsigned char)c);
            i++;
        } else {
            rc = sk_buf_putc(b, c);
            i++;
        }
    }
    *truncated = mode != 0 || depth > 0;
    return rc;
}

/* ---------------------------------------------------------------------- */
/* Objects                                                                 */

static int fail(struct sk_error *err, const struct attempt *at, const char *why)
{
    if (at->limit)
        return sk_error_set(err, SK_EPARSE, "%s", at->limit);
    return sk_error_set(err, SK_EPARSE, "%s%s",
                        at->fence == 1   ? "fenced block is not valid JSON and "
                        : at->fence == 2 ? "fenced block holds no "
                                           "usable value and "
                                         : "",
                        why);
}

/* Steps 3-5 of the object precedence: repair one unambiguous object. */
static int repair_single(const char *s, size_t n, const struct span *fence,
                         struct attempt *at, json_t **out, struct sk_error *err)
{
    struct objscan os;
    struct span cand;
    struct sk_buf b;
    json_error_t jerr;
    json_t *v = NULL;
    int rc, truncated;
    char why[256] = "";

    sk_buf_init(&b, SK_BUF_UNLIMITED);
    os.count = 0;
    if (fence)
        scan_objects(fence->p, fence->n, &os);
    if (fence && os.count == 1) {
        cand = trim(*fence);
    } else {
        scan_objects(s, n, &os);
        if (os.count != 1) {
            if (os.count >= 2)
                snprintf(why, sizeof why,
                         "%zu top-level objects and none is valid JSON; "
                         "refusing to guess",
                         os.count);
            else
                snprintf(why, sizeof why, "%s",
                         os.unterminated ? "object is truncated"
                                         : "no JSON object found");
            rc = fail(err, at, why);
            goto out;
        }
        cand = os.first;
    }
    if (!looks_like_json(cand)) {
        rc = fail(err, at,
                  "no JSON object found ('{' is not followed by a "
                  "quoted key)");
        goto out;
    }
    rc = repair_object(cand.p, cand.n, &b, &truncated);
    if (rc != SK_OK)
        goto out;
    if (truncated) {
        rc = fail(err, at, "object is truncated");
        goto out;
    }
    rc = parse_strict(b.data, b.len, 0, at, &v, &jerr);
    if (rc != SK_OK)
        goto out;
    if (!v) {
        if (!at->limit)
            snprintf(why, sizeof why,
                     "no single object could be repaired: line %d col %d: %s",
                     jerr.line, jerr.column, jerr.text);
        rc = fail(err, at, why);
        goto out;
    }
    if (!json_is_object(v) || json_object_size(v) == 0) {
        rc = fail(err, at, "repaired object is empty");
        goto out;
    }
    *out = v;
    v = NULL;
out:
    json_decref(v);
    sk_buf_release(&b);
    return rc;
}

static int find_object(const char *s, size_t n, json_t **out,
                       struct sk_error *err)
{
    struct attempt at = {NULL, 0};
    struct span fence;
    json_error_t jerr;
    json_t *v;
    size_t a, z;
    int rc, is_json, have_fence;

    have_fence = find_fence(s, n, &fence, &is_json);
    if (have_fence) {
        rc = parse_strict(fence.p, fence.n, JSON_DECODE_ANY, &at, &v, &jerr);
        if (rc != SK_OK)
            return rc;
        if (v && (is_json || json_is_object(v))) {
            *out = v;
            return SK_OK;
        }
        at.fence = v ? 2 : 1;
        json_decref(v);
    }
    /* Greedy span: first '{' to last '}', as the reference's regex. */
    for (a = 0; a < n && s[a] != '{'; a++)
        ;
    for (z = n; z > a && s[z - 1] != '}'; z--)
        ;
    if (a < n && z > a + 1) {
        rc = parse_strict(s + a, z - a, 0, &at, &v, &jerr);
        if (rc != SK_OK)
            return rc;
        if (v) {
            *out = v;
            return SK_OK;
        }
    }
    return repair_single(s, n, have_fence ? &fence : NULL, &at, out, err);
}

/* ---------------------------------------------------------------------- */
/* Arrays                                                                  */

struct arrscan {
    json_t *first;     /* first span that parsed */
    size_t parsed;     /* spans that parsed (stops counting at 2) */
    size_t spans;      /* balanced top-level [...] spans seen */
    int unterminated;  /* the text ends inside an array */
    json_error_t jerr; /* why the first failing span failed */
    int have_jerr;
};

/* Strict-parses one top-level [...] span; 1 to stop the scan. */
static int take_array(const char *p, size_t len, struct attempt *at,
                      struct arrscan *as, int *rc)
{
    json_error_t jerr;
    json_t *v;
    as->spans++;
    *rc = parse_strict(p, len, 0, at, &v, &jerr);
    if (*rc != SK_OK)
        return 1;
    if (!v) {
        if (!as->have_jerr && !at->limit) {
            as->jerr = jerr;
            as->have_jerr = 1;
        }
        return 0;
    }
    if (as->parsed++ == 0) {
        as->first = v;
        return 0;
    }
    json_decref(v);
    return 1; /* two parse: ambiguous whatever follows */
}

/*
 * The reference's top-level array scan: quote-aware, stepping over
 * balanced {...} spans (arrays nested in objects never count) and past an
 * unmatched '{' as if it were prose.
 */
static int scan_arrays(const char *s, size_t n, struct attempt *at,
                       struct arrscan *as)
{
    struct brace_table bt;
    size_t i, e;
    int rc;

    rc = brace_table_build(s, n, &bt);
    if (rc != SK_OK)
        return rc;
    for (i = next_open(s, 0, n, '[', &bt); i < n;
         i = next_open(s, e + 1, n, '[', &bt)) {
        e = span_end(s, n, i, '[', ']');
        if (e == n) {
            as->unterminated = 1;
            break;
        }
        if (take_array(s + i, e + 1 - i, at, as, &rc))
            break;
    }
    sk_free(bt.starts);
    return rc;
}

static int find_array(const char *s, size_t n, json_t **out,
                      struct sk_error *err)
{
    struct attempt at = {NULL, 0};
    struct arrscan as;
    struct span fence;
    json_error_t jerr;
    json_t *v;
    int rc, is_json;
    char why[256] = "";

    if (find_fence(s, n, &fence, &is_json)) {
        rc = parse_strict(fence.p, fence.n, JSON_DECODE_ANY, &at, &v, &jerr);
        if (rc != SK_OK)
            return rc;
        if (v && json_is_array(v)) {
            *out = v;
            return SK_OK;
        }
        at.fence = v ? 2 : 1;
        json_decref(v);
    }
    memset(&as, 0, sizeof as);
    rc = scan_arrays(s, n, &at, &as);
    if (rc == SK_OK && as.parsed == 1) {
        *out = as.first;
        return SK_OK;
    }
    json_decref(as.first);
    if (rc != SK_OK)
        return rc;
    if (as.parsed >= 2)
        snprintf(why, sizeof why,
                 "%zu or more top-level arrays are valid JSON; refusing to "
                 "guess",
                 as.parsed);
    else if (as.have_jerr)
        snprintf(why, sizeof why,
                 "no top-level array is valid JSON: line %d col %d: %s",
                 as.jerr.line, as.jerr.column, as.jerr.text);
    else
        snprintf(why, sizeof why, "%s",
                 as.unterminated ? "array is truncated"
                                 : "no JSON array found");
    return fail(err, &at, why);
}

/* ---------------------------------------------------------------------- */
/* Entry points                                                            */

typedef int (*find_fn)(const char *s, size_t n, json_t **out,
                       struct sk_error *err);

static int extract(const char *text, size_t len, struct json_t **out,
                   struct sk_error *err, find_fn find)
{
    struct sk_buf kept;
    const char *open_tag;
    int rc;

    if (!out || (!text && len))
        return sk_error_set(err, SK_EINVAL, "jsonx: bad arguments");
    *out = NULL;
    if (len > SK_JSONX_MAX_INPUT)
        return sk_error_set(err, SK_ETOOBIG,
                            "reply is %zu bytes, more than the %u-byte limit",
                            len, SK_JSONX_MAX_INPUT);
    if (!text)
        text = "";
    sk_buf_init(&kept, SK_BUF_UNLIMITED);
    rc = strip_reasoning(&text, &len, &kept, &open_tag);
    if (rc != SK_OK) {
        sk_error_set(err, rc, "out of memory stripping reasoning blocks");
        goto out;
    }
    if (open_tag) {
        rc = sk_error_set(err, SK_EPARSE, "reply ends inside a <%s> block",
                          open_tag);
        goto out;
    }
    rc = find(text, len, out, err);
    if (rc == SK_ENOMEM)
        sk_error_set(err, rc, "out of memory extracting JSON");
out:
    sk_buf_release(&kept);
    return rc;
}

int sk_extract_json(const char *text, size_t len, struct json_t **out,
                    struct sk_error *err)
{
    return extract(text, len, out, err, find_object);
}

int sk_extract_json_array(const char *text, size_t len, struct json_t **out,
                          struct sk_error *err)
{
    return extract(text, len, out, err, find_array);
}
