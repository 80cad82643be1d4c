/*
 * skill.h - skill documents: byte-exact load/save, protected regions, the
 * slow-update block and the execution-notes appendix.
 *
 * A skill is UTF-8 markdown handled as (ptr, len) bytes; nothing here ever
 * re-renders the user's text.  Input texts are borrowed; every function
 * that produces a text returns a new NUL-terminated string the caller frees
 * with sk_free, and on failure leaves its out-parameters untouched.
 *
 * Protected regions (reference: algorithm.md 5.3, 7.1, 7.4).  For each
 * marker kind independently, scanning left to right: a start marker opens a
 * region that ends at the end of the first end marker of the same kind after
 * it (start markers of that kind in between are swallowed); an orphan start
 * marker (no end marker after it) protects from the marker to the end of
 * the document.  End markers with no open region are stray and protect
 * nothing.  Regions of different kinds may overlap or nest.
 */
#ifndef SK_SKILL_H
#define SK_SKILL_H

#include <stddef.h>

#include "common.h"
#include "util/buf.h"

#define SK_SKILL_MAX_BYTES ((size_t)4 << 20) /* load cap: 4 MiB */

#define SK_SLOW_UPDATE_START "<!-- SLOW_UPDATE_START -->"
#define SK_SLOW_UPDATE_END "<!-- SLOW_UPDATE_END -->"
#define SK_APPENDIX_START "<!-- APPENDIX_START -->"
#define SK_APPENDIX_END "<!-- APPENDIX_END -->"
#define SK_APPENDIX_HEADING "## Execution Notes Appendix"

enum sk_region_kind { SK_REGION_SLOW_UPDATE = 0, SK_REGION_APPENDIX = 1 };

struct sk_region {
    size_t start;             /* offset of the start marker */
    size_t end;               /* one past the end marker, or len if orphan */
    enum sk_region_kind kind; /* which marker pair */
    int closed;               /* 1 if an end marker closes it */
};

struct sk_region_list {
    struct sk_region *items; /* sorted by start, then kind */
    size_t len;
    size_t cap;
};

/* A list of owned strings (appendix notes). */
struct sk_note_list {
    char **items; /* each NUL-terminated, owned */
    size_t len;
    size_t cap;
};

/* ---- files ---------------------------------------------------------- */

/*
 * Reads the skill file at path byte-exactly (no newline or BOM changes)
 * into a new string *text (length *len, NUL-terminated).  Fails with
 * SK_ENOTFOUND if it does not exist (unlike the reference, which silently
 * starts from a blank skill), SK_ETOOBIG past SK_SKILL_MAX_BYTES, SK_EDATA
 * for a binary file (NUL byte or invalid UTF-8; the message names the file
 * and the byte offset), SK_EIO or SK_ENOMEM otherwise.
 */
int sk_skill_load(const char *path, char **text, size_t *len,
                  struct sk_error *err);

/*
 * Checks that text is a valid skill body: no NUL byte, valid UTF-8
 * (no overlongs, surrogates or code points past U+10FFFF).  name is used
 * in the SK_EDATA message, which gives the offset of the first bad byte.
 */
int sk_skill_check_text(const char *text, size_t len, const char *name,
                        struct sk_error *err);

/* Writes text byte-exactly and atomically (sk_fs_write_atomic). */
int sk_skill_save(const char *path, const char *text, size_t len,
                  struct sk_error *err);

/* ---- regions ------------------------------------------------------- */

void sk_region_list_init(struct sk_region_list *l);
void sk_region_list_release(struct sk_region_list *l);

/*
 * Replaces the contents of out with every protected region of text (see
 * the rules at the top).  SK_ENOMEM leaves out empty.
 */
int sk_skill_regions(const char *text, size_t len, struct sk_region_list *out);

/*
 * Allocation-free queries used by edit application.  skill_span_protected:
 * 1 if the non-empty byte range [a, b) overlaps any region.
 * skill_point_inside: 1 if inserting at offset pos would land strictly
 * inside a region (start < pos < end).  skill_first_protected: offset of
 * the earliest region start, or len when there is none.
 */
int skill_span_protected(const char *text, size_t len, size_t a, size_t b);
int skill_point_inside(const char *text, size_t len, size_t pos);
size_t skill_first_protected(const char *text, size_t len);

/* ---- Python-compatible string helpers (module-shared) -------------- */

/*
 * Python str.isspace() on UTF-8: skill_rstrip returns the length of text
 * without its trailing whitespace, skill_lstrip the offset of the first
 * non-whitespace byte.  Invalid UTF-8 counts as non-space.
 */
size_t skill_rstrip(const char *text, size_t len);
size_t skill_lstrip(const char *text, size_t len);
/*
 * Byte length of the first nchars characters (code points) of text, like
 * Python's s[:nchars]; never cuts a UTF-8 sequence.
 */
size_t skill_prefix_chars(const char *text, size_t len, size_t nchars);

/*
 * Deletes every occurrence of the four marker strings from b, repeating
 * until none is left (a deletion can join two halves into a new marker;
 * the reference's single pass would let such a marker through).
 */
void skill_remove_markers(struct sk_buf *b);

/* ---- slow-update block (7.1) --------------------------------------- */

/* 1 if both slow-update markers occur anywhere (the reference's test). */
int sk_skill_has_slow_update(const char *text, size_t len);

/*
 * Epoch-1 placeholder: if the text already has both markers, a copy of it;
 * otherwise rstrip(text) + "\n\n" START "\n" END "\n".  Idempotent.
 */
int sk_skill_inject_slow_update(const char *text, size_t len, char **out,
                                size_t *out_len);

/*
 * Content of the first closed slow-update region, stripped ("" if none),
 * as a new string.
 */
int sk_skill_slow_update_content(const char *text, size_t len, char **out);

/*
 * replace_slow_update_field: deletes every slow-update block (orphan start
 * markers and stray end markers: the marker only), normalises newlines at
 * each seam where something was removed (a run of 3+ '\n' touching a seam
 * becomes "\n\n"; the rest of the text stays byte-identical -- the
 * reference collapses the whole document), rstrips, then appends
 * "\n\n" START "\n" strip(content) "\n" END "\n".  Deliberate hardening:
 * the four marker strings are deleted from the stripped content, and
 * removal repeats while a marker of the kind is left (cutting a block can
 * join two fragments into a new marker), so the result always holds
 * exactly one slow-update block.
 */
int sk_skill_replace_slow_update(const char *text, size_t len,
                                 const char *content, size_t content_len,
                                 char **out, size_t *out_len);

/* ---- execution-notes appendix (7.4) -------------------------------- */

void sk_note_list_init(struct sk_note_list *l);
void sk_note_list_release(struct sk_note_list *l);
/* Appends a copy of note[0..len) to l. */
int sk_note_list_add(struct sk_note_list *l, const char *note, size_t len);

/* 1 if both appendix markers occur anywhere. */
int sk_skill_has_appendix(const char *text, size_t len);

/*
 * Empty appendix placeholder: a copy if both markers are present, else
 * rstrip(text) + "\n\n" START "\n" HEADING "\n" END "\n".
 */
int sk_skill_inject_appendix(const char *text, size_t len, char **out,
                             size_t *out_len);

/*
 * Appends to out the notes of every closed appendix region, in document
 * order: lines of the stripped inner text (Python splitlines), each
 * stripped, skipping blanks, the heading ("#"s optional) and marker lines;
 * a leading "- ", "-" or "*" bullet is removed.  On SK_ENOMEM out is
 * unchanged.
 */
int sk_skill_appendix_notes(const char *text, size_t len,
                            struct sk_note_list *out);

/*
 * append_to_appendix_field: notes = dedupe(existing notes + dedupe(new)),
 * where each note is stripped and whitespace-collapsed and duplicates are
 * found by a key that also drops trailing " .;:,_-" and case-folds (ASCII
 * only); blank notes and notes with an empty key are dropped.  Removes
 * every appendix block (seam-only newline normalisation as for the slow
 * block), rstrips, appends "\n\n" + block + "\n".  Deliberate hardening
 * (the reference keeps markers in notes): the four marker strings are
 * deleted from every note, repeating with the whitespace collapse until
 * none is left (collapsing "START  -->" forms a marker), so the result
 * always holds exactly one appendix block.
 */
int sk_skill_appendix_merge(const char *text, size_t len,
                            const struct sk_note_list *new_notes, char **out,
                            size_t *out_len);

/*
 * Like sk_skill_appendix_merge but the existing notes are dropped: the
 * appendix ends up holding exactly dedupe(notes) (appendix consolidation,
 * 7.4).
 */
int sk_skill_appendix_replace(const char *text, size_t len,
                              const struct sk_note_list *notes, char **out,
                              size_t *out_len);

#endif /* SK_SKILL_H */
