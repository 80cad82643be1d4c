/*
 * skill.c - skill documents, protected regions, slow-update block and
 * execution-notes appendix (see skill.h).  Block rewrites only touch the
 * bytes next to what they remove, so the user's text keeps its formatting.
 */
#include "common.h"
#include "skill/skill.h"

#include <string.h>

#include "util/alloc.h"
#include "util/utf8.h"
#include "util/buf.h"
#include "util/fs.h"

struct marker_pair {
    const char *start;
    size_t start_len;
    const char *end;
    size_t end_len;
};

static const struct marker_pair pairs[2] = {
    {SK_SLOW_UPDATE_START, sizeof SK_SLOW_UPDATE_START - 1, SK_SLOW_UPDATE_END,
     sizeof SK_SLOW_UPDATE_END - 1},
    {SK_APPENDIX_START, sizeof SK_APPENDIX_START - 1, SK_APPENDIX_END,
     sizeof SK_APPENDIX_END - 1},
};

/* ---- UTF-8 and Python whitespace ----------------------------------- */

/* Python's str.isspace() (also what re's \s matches on str patterns). */
static int py_isspace(uint32_t c)
{
    if ((c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20))
        return 1;
    if (c < 0x85)
        return 0;
    return c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000;
}

/* Length of the whitespace character at text[i], or 0 if none there. */
static size_t space_at(const char *text, size_t len, size_t i)
{
    uint32_t cp;
    size_t n = sk_utf8_decode((const unsigned char *)text + i, len - i, &cp);
    return n && py_isspace(cp) ? n : 0;
}

size_t skill_rstrip(const char *text, size_t len)
{
    while (len > 0) {
        size_t back = 1, n;
        /* Step back to the lead byte of the last character (at most 4). */
        while (back < 4 && back < len &&
               ((unsigned char)text[len - back] & 0xC0) == 0x80)
            back++;
        n = space_at(text, len, len - back);
        if (n != back)
            break;
        len -= back;
    }
    return len;
}

size_t skill_lstrip(const char *text, size_t len)
{
    size_t i = 0, n;
    while (i < len && (n = space_at(text, len, i)) > 0)
        i += n;
    return i;
}

size_t skill_prefix_chars(const char *text, size_t len, size_t nchars)
{
    size_t i = 0;
    while (i < len) {
        /* Every non-continuation byte starts a character. */
        if (((unsigned char)text[i] & 0xC0) != 0x80) {
            if (nchars == 0)
                break;
            nchars--;
        }
        i++;
    }
    return i;
}

/* ---- files ---------------------------------------------------------- */

int sk_skill_check_text(const char *text, size_t len, const char *name,
                        struct sk_error *err)
{
    size_t bad = 0;
    if (sk_utf8_valid(text, len, &bad))
        return SK_OK;
    if (text[bad] == '\0')
        return sk_error_set(err, SK_EDATA,
                            "%s: binary file: NUL byte at offset %zu", name,
                            bad);
    return sk_error_set(err, SK_EDATA,
                        "%s: binary file: invalid UTF-8 at byte offset %zu",
                        name, bad);
}

int sk_skill_load(const char *path, char **text, size_t *len,
                  struct sk_error *err)
{
    struct sk_buf b;
    size_t n = 0;
    char *data;
    int rc;

    sk_buf_init(&b, SK_SKILL_MAX_BYTES);
    rc = sk_fs_read(path, SK_SKILL_MAX_BYTES, &b, err);
    if (rc != SK_OK)
        goto out;
    rc = sk_skill_check_text(b.data ? b.data : "", b.len, path, err);
    if (rc != SK_OK)
        goto out;
    data = sk_buf_detach(&b, &n);
    if (!data) {
        rc = sk_error_set(err, SK_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    *text = data;
    if (len)
        *len = n;
out:
    sk_buf_release(&b);
    return rc;
}

int sk_skill_save(const char *path, const char *text, size_t len,
                  struct sk_error *err)
{
    return sk_fs_write_atomic(path, text, len, err);
}

/* ---- regions ------------------------------------------------------- */

/*
 * Finds the next region of one kind at or after *pos and advances *pos
 * past it.  Returns 0 when there is none.
 */
static int next_region(const char *text, size_t len, int kind, size_t *pos,
                       struct sk_region *r)
{
    const struct marker_pair *m = &pairs[kind];
    const char *s, *e;
    size_t so, after;

    if (*pos >= len)
        return 0;
    s = memmem(text + *pos, len - *pos, m->start, m->start_len);
    if (!s)
        return 0;
    so = (size_t)(s - text);
    after = so + m->start_len;
    e = memmem(text + after, len - after, m->end, m->end_len);
    r->start = so;
    r->kind = (enum sk_region_kind)kind;
    if (e) {
        r->end = (size_t)(e - text) + m->end_len;
        r->closed = 1;
    } else {
        r->end = len;
        r->closed = 0;
    }
    *pos = r->end;
    return 1;
}

void sk_region_list_init(struct sk_region_list *l)
{
    l->items = NULL;
    l->len = 0;
    l->cap = 0;
}

void sk_region_list_release(struct sk_region_list *l)
{
    sk_free(l->items);
    sk_region_list_init(l);
}

static int region_push(struct sk_region_list *l, const struct sk_region *r)
{
    if (l->len == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 4;
        struct sk_region *p = sk_realloc(l->items, ncap * sizeof *p);
        if (!p)
            return SK_ENOMEM;
        l->items = p;
        l->cap = ncap;
    }
    l->items[l->len++] = *r;
    return SK_OK;
}

int sk_skill_regions(const char *text, size_t len, struct sk_region_list *out)
{
    int kind;
    size_t i, j;

    out->len = 0;
    for (kind = 0; kind < 2; kind++) {
        size_t pos = 0;
        struct sk_region r;
        while (next_region(text, len, kind, &pos, &r)) {
            if (region_push(out, &r) != SK_OK) {
                sk_region_list_release(out);
                return SK_ENOMEM;
            }
        }
    }
    /* Insertion sort by (start, kind): lists are tiny. */
    for (i = 1; i < out->len; i++) {
        struct sk_region r = out->items[i];
        for (j = i; j > 0 && (out->items[j - 1].start > r.start ||
                              (out->items[j - 1].start == r.start &&
                               out->items[j - 1].kind > r.kind));
             j--)
            out->items[j] = out->items[j - 1];
        out->items[j] = r;
    }
    return SK_OK;
}

int skill_span_protected(const char *text, size_t len, size_t a, size_t b)
{
    int kind;
    for (kind = 0; kind < 2; kind++) {
        size_t pos = 0;
        struct sk_region r;
        while (next_region(text, len, kind, &pos, &r)) {
            if (r.start >= b)
                break;
            if (a < r.end)
                return 1;
        }
    }
    return 0;
}

int skill_point_inside(const char *text, size_t len, size_t p)
{
    int kind;
    for (kind = 0; kind < 2; kind++) {
        size_t pos = 0;
        struct sk_region r;
        while (next_region(text, len, kind, &pos, &r)) {
            if (r.start >= p)
                break;
            if (p < r.end)
                return 1;
        }
    }
    return 0;
}

size_t skill_first_protected(const char *text, size_t len)
{
    size_t best = len;
    int kind;
    for (kind = 0; kind < 2; kind++) {
        const char *s =
            memmem(text, len, pairs[kind].start, pairs[kind].start_len);
        if (s && (size_t)(s - text) < best)
            best = (size_t)(s - text);
    }
    return best;
}

/* ---- block removal with seam-only newline normalisation ------------ */

static size_t trailing_nl(const struct sk_buf *b)
{
    size_t n = 0;
    while (n < b->len && b->data[b->len - 1 - n] == '\n')
        n++;
    return n;
}

/*
 * Appends a kept segment.  At a seam (something was removed just before
 * it) the run of '\n' spanning the seam is cut to at most two, which is
 * what the reference's global "\n\n\n" -> "\n\n" loop does to that run.
 */
static int emit_segment(struct sk_buf *out, const char *seg, size_t n, int seam)
{
    if (seam) {
        size_t t = trailing_nl(out), l = 0;
        while (l < n && seg[l] == '\n')
            l++;
        if (t + l > 2) {
            size_t excess = t + l - 2;
            size_t from_seg = excess < l ? excess : l;
            seg += from_seg;
            n -= from_seg;
            excess -= from_seg;
            sk_buf_truncate(out, out->len - excess);
        }
    }
    return n ? sk_buf_append(out, seg, n) : SK_OK;
}

/*
 * Copies text into out without any block of the given kind: a closed pair
 * goes whole, an orphan start marker or a stray end marker goes alone.
 * The result is then right-stripped (Python rstrip).
 */
static int strip_blocks_once(const char *text, size_t len, int kind,
                             struct sk_buf *out)
{
    const struct marker_pair *m = &pairs[kind];
    size_t pos = 0;
    int seam = 0, rc;

    for (;;) {
        const char *s = memmem(text + pos, len - pos, m->start, m->start_len);
        const char *e = memmem(text + pos, len - pos, m->end, m->end_len);
        size_t cut, resume;
        if (!s && !e)
            break;
        if (s && (!e || s < e)) {
            const char *close;
            cut = (size_t)(s - text);
            resume = cut + m->start_len;
            close = memmem(text + resume, len - resume, m->end, m->end_len);
            if (close)
                resume = (size_t)(close - text) + m->end_len;
        } else {
            cut = (size_t)(e - text);
            resume = cut + m->end_len;
        }
        rc = emit_segment(out, text + pos, cut - pos, seam);
        if (rc != SK_OK)
            return rc;
        seam = 1;
        pos = resume;
    }
    rc = emit_segment(out, text + pos, len - pos, seam);
    if (rc != SK_OK)
        return rc;
    if (out->data)
        sk_buf_truncate(out, skill_rstrip(out->data, out->len));
    return SK_OK;
}

/*
 * strip_blocks_once until no marker of the kind is left: cutting a block
 * can join "<!-- SLOW_UPDATE_" and "START -->" into a new marker, which
 * would otherwise survive into the result.
 */
static int strip_blocks(const char *text, size_t len, int kind,
                        struct sk_buf *out)
{
    const struct marker_pair *m = &pairs[kind];
    struct sk_buf tmp;
    int rc = strip_blocks_once(text, len, kind, out);
    while (rc == SK_OK && out->data &&
           (memmem(out->data, out->len, m->start, m->start_len) ||
            memmem(out->data, out->len, m->end, m->end_len))) {
        sk_buf_init(&tmp, SK_BUF_UNLIMITED);
        rc = strip_blocks_once(out->data, out->len, kind, &tmp);
        if (rc == SK_OK) {
            sk_buf_release(out);
            *out = tmp;
        } else {
            sk_buf_release(&tmp);
        }
    }
    return rc;
}

/* Hands b's text over as (*out, *out_len); b is left empty. */
static int finish(struct sk_buf *b, char **out, size_t *out_len)
{
    size_t n = 0;
    char *s = sk_buf_detach(b, &n);
    if (!s)
        return SK_ENOMEM;
    *out = s;
    if (out_len)
        *out_len = n;
    return SK_OK;
}

static int has_pair(const char *text, size_t len, int kind)
{
    return memmem(text, len, pairs[kind].start, pairs[kind].start_len) &&
           memmem(text, len, pairs[kind].end, pairs[kind].end_len);
}

/* ---- slow-update block --------------------------------------------- */

int sk_skill_has_slow_update(const char *text, size_t len)
{
    return has_pair(text, len, SK_REGION_SLOW_UPDATE);
}

int sk_skill_inject_slow_update(const char *text, size_t len, char **out,
                                size_t *out_len)
{
    struct sk_buf b;
    int rc;

    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (has_pair(text, len, SK_REGION_SLOW_UPDATE)) {
        rc = sk_buf_append(&b, text, len);
    } else {
        rc = sk_buf_append(&b, text, skill_rstrip(text, len));
        if (rc == SK_OK)
            rc = sk_buf_puts(&b, "\n\n" SK_SLOW_UPDATE_START
                                 "\n" SK_SLOW_UPDATE_END "\n");
    }
    if (rc == SK_OK)
        rc = finish(&b, out, out_len);
    sk_buf_release(&b);
    return rc;
}

int sk_skill_slow_update_content(const char *text, size_t len, char **out)
{
    size_t pos = 0;
    struct sk_region r;
    const struct marker_pair *m = &pairs[SK_REGION_SLOW_UPDATE];
    char *s;

    while (next_region(text, len, SK_REGION_SLOW_UPDATE, &pos, &r)) {
        if (r.closed) {
            const char *in = text + r.start + m->start_len;
            size_t n = r.end - m->end_len - (r.start + m->start_len);
            size_t a = skill_lstrip(in, n);
            size_t z = a + skill_rstrip(in + a, n - a);
            s = sk_strndup(in + a, z - a);
            if (!s)
                return SK_ENOMEM;
            *out = s;
            return SK_OK;
        }
    }
    s = sk_strdup("");
    if (!s)
        return SK_ENOMEM;
    *out = s;
    return SK_OK;
}

int sk_skill_replace_slow_update(const char *text, size_t len,
                                 const char *content, size_t content_len,
                                 char **out, size_t *out_len)
{
    struct sk_buf b, c;
    size_t a = skill_lstrip(content, content_len);
    size_t z = a + skill_rstrip(content + a, content_len - a);
    int rc;

    sk_buf_init(&b, SK_BUF_UNLIMITED);
    sk_buf_init(&c, SK_BUF_UNLIMITED);
    /* Markers inside the content would break the block apart. */
    rc = sk_buf_append(&c, content + a, z - a);
    if (rc == SK_OK)
        skill_remove_markers(&c);
    if (rc == SK_OK)
        rc = strip_blocks(text, len, SK_REGION_SLOW_UPDATE, &b);
    if (rc == SK_OK)
        rc = sk_buf_puts(&b, "\n\n" SK_SLOW_UPDATE_START "\n");
    if (rc == SK_OK && c.len)
        rc = sk_buf_append(&b, c.data, c.len);
    if (rc == SK_OK)
        rc = sk_buf_puts(&b, "\n" SK_SLOW_UPDATE_END "\n");
    if (rc == SK_OK)
        rc = finish(&b, out, out_len);
    sk_buf_release(&b);
    sk_buf_release(&c);
    return rc;
}

/* ---- appendix ------------------------------------------------------- */

void sk_note_list_init(struct sk_note_list *l)
{
    l->items = NULL;
    l->len = 0;
    l->cap = 0;
}

void sk_note_list_release(struct sk_note_list *l)
{
    size_t i;
    for (i = 0; i < l->len; i++)
        sk_free(l->items[i]);
    sk_free(l->items);
    sk_note_list_init(l);
}

/* Appends s, taking ownership of it (freed on failure). */
static int note_push_take(struct sk_note_list *l, char *s)
{
    if (l->len == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 8;
        char **p = sk_realloc(l->items, ncap * sizeof *p);
        if (!p) {
            sk_free(s);
            return SK_ENOMEM;
        }
        l->items = p;
        l->cap = ncap;
    }
    l->items[l->len++] = s;
    return SK_OK;
}

int sk_note_list_add(struct sk_note_list *l, const char *note, size_t len)
{
    char *s = sk_strndup(note, len);
    if (!s)
        return SK_ENOMEM;
    return note_push_take(l, s);
}

int sk_skill_has_appendix(const char *text, size_t len)
{
    return has_pair(text, len, SK_REGION_APPENDIX);
}

int sk_skill_inject_appendix(const char *text, size_t len, char **out,
                             size_t *out_len)
{
    struct sk_buf b;
    int rc;

    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (has_pair(text, len, SK_REGION_APPENDIX)) {
        rc = sk_buf_append(&b, text, len);
    } else {
        rc = sk_buf_append(&b, text, skill_rstrip(text, len));
        if (rc == SK_OK)
            rc = sk_buf_puts(&b,
                             "\n\n" SK_APPENDIX_START "\n" SK_APPENDIX_HEADING
                             "\n" SK_APPENDIX_END "\n");
    }
    if (rc == SK_OK)
        rc = finish(&b, out, out_len);
    sk_buf_release(&b);
    return rc;
}

/* Length of a Python splitlines() boundary at s[i], or 0. */
static size_t line_break_at(const char *s, size_t n, size_t i)
{
    unsigned char c = (unsigned char)s[i];
    if (c == '\n' || c == '\r' || c == 0x0B || c == 0x0C ||
        (c >= 0x1C && c <= 0x1E))
        return 1;
    if (c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] == 0x85)
        return 2;
    if (c == 0xE2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
        ((unsigned char)s[i + 2] == 0xA8 || (unsigned char)s[i + 2] == 0xA9))
        return 3;
    return 0;
}

static int is_marker(const char *s, size_t n)
{
    int k;
    for (k = 0; k < 2; k++) {
        if ((n == pairs[k].start_len && !memcmp(s, pairs[k].start, n)) ||
            (n == pairs[k].end_len && !memcmp(s, pairs[k].end, n)))
            return 1;
    }
    return 0;
}

/* Adds the note carried by one appendix line (if any) to out. */
static int note_from_line(const char *s, size_t n, struct sk_note_list *out)
{
    static const char title[] = "Execution Notes Appendix";
    size_t a = skill_lstrip(s, n), h;
    n = a + skill_rstrip(s + a, n - a);
    s += a;
    n -= a;
    if (n == 0 || is_marker(s, n))
        return SK_OK;
    /* The heading, with any number of leading '#'s. */
    for (h = 0; h < n && s[h] == '#'; h++)
        ;
    h += skill_lstrip(s + h, n - h);
    if (n - h == sizeof title - 1 && !memcmp(s + h, title, n - h))
        return SK_OK;
    if (n >= 2 && s[0] == '-' && s[1] == ' ') {
        s += 2;
        n -= 2;
    } else if (s[0] == '-' || s[0] == '*') {
        s += 1;
        n -= 1;
    }
    a = skill_lstrip(s, n);
    n = a + skill_rstrip(s + a, n - a);
    if (n == a)
        return SK_OK;
    return sk_note_list_add(out, s + a, n - a);
}

int sk_skill_appendix_notes(const char *text, size_t len,
                            struct sk_note_list *out)
{
    const struct marker_pair *m = &pairs[SK_REGION_APPENDIX];
    size_t pos = 0, old_len = out->len;
    struct sk_region r;
    int rc = SK_OK;

    while (rc == SK_OK &&
           next_region(text, len, SK_REGION_APPENDIX, &pos, &r)) {
        const char *in = text + r.start + m->start_len;
        size_t n, i, line = 0;
        if (!r.closed)
            continue;
        n = r.end - m->end_len - (r.start + m->start_len);
        for (i = 0; i <= n && rc == SK_OK; i++) {
            size_t br = i < n ? line_break_at(in, n, i) : 1;
            if (br == 0)
                continue;
            rc = note_from_line(in + line, i - line, out);
            i += br - 1;
            line = i + 1;
        }
    }
    if (rc != SK_OK) {
        while (out->len > old_len)
            sk_free(out->items[--out->len]);
    }
    return rc;
}

void skill_remove_markers(struct sk_buf *b)
{
    int again = 1;
    while (again && b->len) {
        int k;
        again = 0;
        for (k = 0; k < 4; k++) {
            const char *mk = k & 1 ? pairs[k / 2].end : pairs[k / 2].start;
            size_t ml = k & 1 ? pairs[k / 2].end_len : pairs[k / 2].start_len;
            char *p;
            while ((p = memmem(b->data, b->len, mk, ml)) != NULL) {
                size_t off = (size_t)(p - b->data);
                memmove(p, p + ml, b->len - off - ml);
                sk_buf_truncate(b, b->len - ml);
                again = 1;
            }
        }
    }
}

/* Strips b and collapses each whitespace run to one space, in place. */
static void collapse_space(struct sk_buf *b)
{
    size_t i, n = 0, a = skill_lstrip(b->data, b->len);
    size_t z = a + skill_rstrip(b->data + a, b->len - a);
    /* The output never outruns the input. */
    for (i = a; i < z;) {
        size_t w = space_at(b->data, z, i);
        if (w) {
            while (i < z && (w = space_at(b->data, z, i)) > 0)
                i += w;
            b->data[n++] = ' ';
        } else {
            b->data[n++] = b->data[i++];
        }
    }
    sk_buf_truncate(b, n);
}

/*
 * Normalised note text: stripped, whitespace runs collapsed to one space,
 * markers deleted.  Appends to b (reset first).  Collapsing can form a
 * marker ("START  -->" becomes "START -->") and deleting one can bring two
 * spaces together, so both repeat until a deletion pass finds nothing;
 * every repeat shrinks the text, so this ends.
 */
static int normalise_note(const char *s, size_t n, struct sk_buf *b)
{
    size_t before;
    int rc;
    sk_buf_reset(b);
    rc = sk_buf_append(b, s, n);
    if (rc != SK_OK || !b->data)
        return rc;
    do {
        collapse_space(b);
        before = b->len;
        skill_remove_markers(b);
    } while (b->len != before);
    return SK_OK;
}

/* Dedup key of a normalised note (in place on a copy in key). */
static int note_key(const char *s, size_t n, struct sk_buf *key)
{
    size_t i;
    int rc;
    while (n > 0 && s[n - 1] != '\0' && strchr(" .;:,_-", s[n - 1]))
        n--;
    sk_buf_reset(key);
    rc = sk_buf_append(key, s, n);
    if (rc != SK_OK || !key->data)
        return rc;
    for (i = 0; i < key->len; i++) {
        char c = key->data[i];
        if (c >= 'A' && c <= 'Z')
            key->data[i] = (char)(c - 'A' + 'a');
    }
    return SK_OK;
}

/* Adds note to merged unless blank or a duplicate of an earlier key. */
static int dedupe_add(const char *note, struct sk_note_list *merged,
                      struct sk_note_list *keys, struct sk_buf *tmp,
                      struct sk_buf *key)
{
    size_t i;
    int rc = normalise_note(note, strlen(note), tmp);
    if (rc != SK_OK)
        return rc;
    if (tmp->len == 0)
        return SK_OK;
    rc = note_key(tmp->data, tmp->len, key);
    if (rc != SK_OK)
        return rc;
    if (key->len == 0)
        return SK_OK;
    for (i = 0; i < keys->len; i++) {
        if (!strcmp(keys->items[i], key->data))
            return SK_OK;
    }
    rc = sk_note_list_add(keys, key->data, key->len);
    if (rc == SK_OK)
        rc = sk_note_list_add(merged, tmp->data, tmp->len);
    return rc;
}

static int appendix_write(const char *text, size_t len, int keep_existing,
                          const struct sk_note_list *new_notes, char **out,
                          size_t *out_len)
{
    struct sk_note_list existing, merged, keys;
    struct sk_buf b, tmp, key;
    size_t i;
    int rc;

    sk_note_list_init(&existing);
    sk_note_list_init(&merged);
    sk_note_list_init(&keys);
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    sk_buf_init(&tmp, SK_BUF_UNLIMITED);
    sk_buf_init(&key, SK_BUF_UNLIMITED);

    rc = keep_existing ? sk_skill_appendix_notes(text, len, &existing) : SK_OK;
    for (i = 0; rc == SK_OK && i < existing.len; i++)
        rc = dedupe_add(existing.items[i], &merged, &keys, &tmp, &key);
    for (i = 0; rc == SK_OK && new_notes && i < new_notes->len; i++)
        rc = dedupe_add(new_notes->items[i], &merged, &keys, &tmp, &key);
    if (rc != SK_OK)
        goto out;
    rc = strip_blocks(text, len, SK_REGION_APPENDIX, &b);
    if (rc == SK_OK)
        rc = sk_buf_puts(&b, "\n\n" SK_APPENDIX_START "\n" SK_APPENDIX_HEADING);
    for (i = 0; rc == SK_OK && i < merged.len; i++)
        rc = sk_buf_printf(&b, "\n- %s", merged.items[i]);
    if (rc == SK_OK)
        rc = sk_buf_puts(&b, "\n" SK_APPENDIX_END "\n");
    if (rc == SK_OK)
        rc = finish(&b, out, out_len);
out:
    sk_buf_release(&b);
    sk_buf_release(&tmp);
    sk_buf_release(&key);
    sk_note_list_release(&existing);
    sk_note_list_release(&merged);
    sk_note_list_release(&keys);
    return rc;
}

int sk_skill_appendix_merge(const char *text, size_t len,
                            const struct sk_note_list *new_notes, char **out,
                            size_t *out_len)
{
    return appendix_write(text, len, 1, new_notes, out, out_len);
}

int sk_skill_appendix_replace(const char *text, size_t len,
                              const struct sk_note_list *notes, char **out,
                              size_t *out_len)
{
    return appendix_write(text, len, 0, notes, out, out_len);
}
