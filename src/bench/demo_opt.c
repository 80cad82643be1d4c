/*
 * demo_opt.c - the simulated optimizer of the demo benchmark.  It reads
 * the failed trajectories' task types, proposes the demo families' rules
 * and plays every other optimizer stage plainly.  It does not judge
 * trajectories: a family counts as failing because its trajectory is in a
 * failure batch.
 */
#include "common.h"

#include "bench/demo_opt.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bench/demo.h"
#include "util/alloc.h"
#include "util/buf.h"

#define MAX_FAMILIES 32
#define DEFAULT_BUDGET 3
#define P_HARMFUL 0.2    /* an analyst proposes the harmful rule */
#define P_UNMATCHED 0.15 /* ... or a replace whose target is absent */
#define P_SUCCESS_EDIT 0.1

enum stage {
    ST_NONE,
    ST_ANALYST_ERROR,
    ST_ANALYST_SUCCESS,
    ST_MERGE,
    ST_RANKING,
    ST_LR,
    ST_SLOW,
    ST_META,
    ST_REWRITE,
    ST_CONSOLIDATE
};

/* What an analyst or merge reply carries, from the schema it asks for. */
enum payload { PL_EDITS, PL_SUGGESTIONS, PL_CANDIDATES };

/* One request being answered. */
struct req_ctx {
    const char *sys;  /* system prompt */
    const char *user; /* first user message (retries add a reminder) */
    char *skill;      /* the "## Current Skill" section, or "" */
    const char *rest; /* user text after that section */
    uint64_t rng;     /* splitmix64 state */
    int skill_aware;  /* the skill-aware suffix is present */
    enum payload pl;
};

struct sk_demo_opt *sk_demo_opt_new(uint64_t seed)
{
    struct sk_demo_opt *o = sk_calloc(1, sizeof *o);
    if (o)
        o->seed = seed;
    return o;
}

void sk_demo_opt_free(struct sk_demo_opt *o)
{
    sk_free(o);
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
    for (; s && *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

/* Uniform in [0, 1) from a splitmix64 stream. */
static double draw(uint64_t *st)
{
    uint64_t z = (*st += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

static int has_key(const char *sys, const char *key)
{
    char q[64];
    snprintf(q, sizeof q, "\"%s\"", key);
    return strstr(sys, q) != NULL;
}

/* The stage, from the reply keys the system prompt asks for: sturdier than
 * its prose, and the same for bench-specific template overrides. */
static enum stage classify(const char *sys, enum payload *pl)
{
    *pl = has_key(sys, "skill_candidates")     ? PL_CANDIDATES
          : has_key(sys, "revise_suggestions") ? PL_SUGGESTIONS
                                               : PL_EDITS;
    if (has_key(sys, "failure_summary"))
        return ST_ANALYST_ERROR;
    if (has_key(sys, "success_patterns"))
        return ST_ANALYST_SUCCESS;
    if (has_key(sys, "selected_indices"))
        return ST_RANKING;
    if (has_key(sys, "learning_rate"))
        return ST_LR;
    if (has_key(sys, "slow_update_content"))
        return ST_SLOW;
    if (has_key(sys, "meta_skill_content"))
        return ST_META;
    /* after the analysts: their skill-aware suffixes ask for notes too */
    if (has_key(sys, "appendix_notes"))
        return ST_CONSOLIDATE;
    if (has_key(sys, "skill_candidates") || has_key(sys, "edits") ||
        has_key(sys, "revise_suggestions"))
        return ST_MERGE;
    if (has_key(sys, "new_skill"))
        return ST_REWRITE;
    return ST_NONE;
}

/* The current skill: from "## Current Skill" to the first heading the
 * optimizer's user messages put after it (the skill may hold its own). */
static char *skill_of(const char *user, const char **rest)
{
    static const char *const ends[] = {"\n## Edits Budget",
                                       "\n## Suggestions Budget",
                                       "\n## Update Format",
                                       "\n## Patches to merge",
                                       "\n## Two pre-merged",
                                       "\n## Current Step Evidence",
                                       "\n## Proposed Update",
                                       "\n## Previous Steps in This Epoch",
                                       "\n## Failed Trajectories",
                                       "\n## Successful Trajectories",
                                       "\n## Selected",
                                       "\n## Revision Suggestions"};
    const char *p = strstr(user, "## Current Skill\n"), *e, *q;
    size_t i;
    if (!p) {
        *rest = user;
        return sk_strdup("");
    }
    p += strlen("## Current Skill\n");
    e = p + strlen(p);
    for (i = 0; i < SK_ARRAY_LEN(ends); i++)
        if ((q = strstr(p, ends[i])) && q < e)
            e = q;
    for (q = strstr(p, "\n## "); q && q < e; q = strstr(q + 1, "\n## ")) {
        const char *nl = strchr(q + 1, '\n');
        const char *pool = strstr(q, " Pool (");
        if (pool && (!nl || pool < nl)) {
            e = q;
            break;
        }
    }
    *rest = e;
    while (e > p && isspace((unsigned char)e[-1]))
        e--;
    return sk_strndup(p, (size_t)(e - p));
}

/* The family named on the "Task type:" line at p, or -1. */
static int family_at(const char *p)
{
    char name[64];
    size_t n = 0, i;
    while (*p == ' ')
        p++;
    while (p[n] && p[n] != '\n' && p[n] != '\r' && n + 1 < sizeof name)
        n++;
    while (n > 0 && p[n - 1] == ' ')
        n--;
    memcpy(name, p, n);
    name[n] = '\0';
    for (i = 0; i < sk_demo_family_count() && i < MAX_FAMILIES; i++)
        if (strcmp(sk_demo_family_at(i)->name, name) == 0)
            return (int)i;
    return -1;
}

/* Trajectories per family in text, into counts[MAX_FAMILIES]. */
static void count_families(const char *text, size_t *counts)
{
    const char *p;
    int f;
    memset(counts, 0, MAX_FAMILIES * sizeof *counts);
    for (p = strstr(text, "Task type:"); p; p = strstr(p + 1, "Task type:"))
        if ((f = family_at(p + strlen("Task type:"))) >= 0)
            counts[f]++;
}

static size_t count_str(const char *text, const char *s)
{
    size_t n = 0;
    const char *p;
    for (p = strstr(text, s); p; p = strstr(p + 1, s))
        n++;
    return n;
}

/* Families with a count, most common first (ties: table order). */
static size_t rank_families(const size_t *counts, size_t *order)
{
    size_t n = 0, i, j;
    for (i = 0; i < sk_demo_family_count() && i < MAX_FAMILIES; i++) {
        if (!counts[i])
            continue;
        for (j = n; j > 0 && counts[order[j - 1]] < counts[i]; j--)
            order[j] = order[j - 1];
        order[j] = i;
        n++;
    }
    return n;
}

/* The edit budget "at most L=<n>", else DEFAULT_BUDGET. */
static long budget_of(const char *user)
{
    const char *p = strstr(user, "at most L=");
    char *end;
    long v;
    if (!p)
        return DEFAULT_BUDGET;
    v = strtol(p + strlen("at most L="), &end, 10);
    return end == p + strlen("at most L=") || v < 0 ? DEFAULT_BUDGET : v;
}

static int add_new(json_t *obj, const char *key, json_t *v)
{
    return v && json_object_set_new(obj, key, v) == 0 ? SK_OK : SK_ENOMEM;
}

static int push_new(json_t *arr, json_t *v)
{
    return v && json_array_append_new(arr, v) == 0 ? SK_OK : SK_ENOMEM;
}

/* A replace target that the skill does not hold, so it is skipped. */
static void absent_target(const char *skill, const struct sk_demo_family *f,
                          char *buf, size_t cap)
{
    int k = 0;
    do
        snprintf(buf, cap, "Answer every %s question with care (%d).", f->name,
                 k++);
    while (strstr(skill, buf));
}

/* skill plus the rules, one "- " line each. */
static json_t *skill_plus(const char *skill, json_t *rules)
{
    struct sk_buf b;
    json_t *r, *v;
    size_t i;
    int rc;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    rc = sk_buf_puts(&b, skill);
    json_array_foreach(rules, i, v)
    {
        if (rc == SK_OK)
            rc = sk_buf_printf(&b, "%s- %s", b.len ? "\n\n" : "",
                               json_string_value(v));
    }
    r = rc == SK_OK ? json_stringn(b.data ? b.data : "", b.len) : NULL;
    sk_buf_release(&b);
    return r;
}

/* One proposal for family f: its useful rule, sometimes its harmful one,
 * sometimes a replace that cannot apply. */
static int propose(struct req_ctx *c, const struct sk_demo_family *f,
                   size_t count, json_t *items, json_t *rules)
{
    double u = draw(&c->rng);
    int harm = u < P_HARMFUL && f->harmful_rule;
    int miss = !harm && u >= P_HARMFUL && u < P_HARMFUL + P_UNMATCHED;
    const char *text = harm ? f->harmful_rule : f->rule;
    char target[160], motiv[128], instr[512];
    if (rules && push_new(rules, json_string(text)) != SK_OK)
        return SK_ENOMEM;
    if (c->pl == PL_SUGGESTIONS) {
        snprintf(motiv, sizeof motiv, "%zu trajectories of type %s failed",
                 count, f->name);
        snprintf(instr, sizeof instr, "Add the rule: %s", text);
        return push_new(items, json_pack("{s:s, s:s, s:s, s:s, s:s}", "type",
                                         "add_rule", "title", f->name,
                                         "motivation", motiv, "instruction",
                                         instr, "priority_hint", "high"));
    }
    if (c->pl == PL_CANDIDATES)
        return SK_OK;
    if (miss) {
        absent_target(c->skill, f, target, sizeof target);
        return push_new(items, json_pack("{s:s, s:s, s:s}", "op", "replace",
                                         "target", target, "content", text));
    }
    return push_new(items,
                    json_pack("{s:s, s:s}", "op", "append", "content", text));
}

static const char *payload_key(enum payload pl)
{
    return pl == PL_CANDIDATES    ? "skill_candidates"
           : pl == PL_SUGGESTIONS ? "revise_suggestions"
                                  : "edits";
}

/* {"reasoning", <payload>: items} with items (or one candidate made of
 * rules) taken over. */
static json_t *patch_of(struct req_ctx *c, const char *reasoning, json_t *items,
                        json_t *rules)
{
    json_t *p = json_object();
    if (c->pl == PL_CANDIDATES && json_array_size(rules) > 0) {
        json_t *cand = json_pack("{s:s, s:O, s:o}", "title", "demo rules",
                                 "change_summary", rules, "new_skill",
                                 skill_plus(c->skill, rules));
        if (push_new(items, cand) != SK_OK) {
            json_decref(p);
            json_decref(items);
            return NULL;
        }
    }
    if (add_new(p, "reasoning", json_string(reasoning)) != SK_OK) {
        json_decref(p);
        json_decref(items);
        return NULL;
    }
    if (add_new(p, payload_key(c->pl), items) != SK_OK) {
        json_decref(p);
        return NULL;
    }
    return p;
}

static json_t *analyst_error(struct req_ctx *c)
{
    size_t counts[MAX_FAMILIES], order[MAX_FAMILIES], n, i;
    long budget = budget_of(c->user), made = 0;
    json_t *r = json_object(), *summary = json_array(), *items = json_array();
    json_t *rules = json_array(), *notes = json_array();
    char desc[256], note[256] = "";
    count_families(c->user, counts);
    n = rank_families(counts, order);
    if (!r || !summary || !items || !rules || !notes)
        goto fail;
    for (i = 0; i < n; i++) {
        const struct sk_demo_family *f = sk_demo_family_at(order[i]);
        int known = sk_demo_skill_knows(c->skill, f);
        json_t *s;
        snprintf(desc, sizeof desc,
                 known ? "The answers ignore the skill's rule on %s."
                       : "The skill has no rule on %s, so answers fall into "
                         "the format trap.",
                 f->keyword);
        s = json_pack("{s:s+, s:I, s:s}", "failure_type", f->name, " format",
                      "count", (json_int_t)counts[order[i]], "description",
                      desc);
        if (s && c->skill_aware &&
            json_object_set_new(
                s, "category",
                json_string(known ? "EXECUTION_LAPSE" : "SKILL_DEFECT")) != 0) {
            json_decref(s);
            s = NULL;
        }
        if (push_new(summary, s) != SK_OK)
            goto fail;
        if (known && !note[0])
            snprintf(note, sizeof note, "Apply the rule on %s every time.",
                     f->keyword);
        if (!known && made < budget) {
            if (propose(c, f, counts[order[i]], items, rules) != SK_OK)
                goto fail;
            made++;
        }
    }
    if (!note[0])
        snprintf(note, sizeof note,
                 "Check the answer format the skill asks for before replying.");
    if (add_new(r, "batch_size",
                json_integer((json_int_t)count_str(
                    c->user, "### Trajectory "))) != SK_OK ||
        add_new(r, "failure_summary", json_incref(summary)) != SK_OK ||
        add_new(r, "patch",
                patch_of(c, "Add the missing rule of each frequent failure.",
                         json_incref(items), rules)) != SK_OK)
        goto fail;
    if (c->skill_aware &&
        (push_new(notes, json_string(note)) != SK_OK ||
         add_new(r, "appendix_notes", json_incref(notes)) != SK_OK))
        goto fail;
    json_decref(summary);
    json_decref(items);
    json_decref(rules);
    json_decref(notes);
    return r;
fail:
    json_decref(r);
    json_decref(summary);
    json_decref(items);
    json_decref(rules);
    json_decref(notes);
    return NULL;
}

static json_t *analyst_success(struct req_ctx *c)
{
    size_t counts[MAX_FAMILIES], i;
    json_t *r = json_object(), *pat = json_array(), *items = json_array();
    json_t *rules = json_array();
    char line[128];
    int proposed = draw(&c->rng) >= P_SUCCESS_EDIT;
    count_families(c->user, counts);
    if (!r || !pat || !items || !rules ||
        push_new(pat, json_string("Gave the answer in the exact format the "
                                  "task expects.")) != SK_OK)
        goto fail;
    for (i = 0; i < sk_demo_family_count() && i < MAX_FAMILIES; i++) {
        const struct sk_demo_family *f = sk_demo_family_at(i);
        if (!counts[i])
            continue;
        snprintf(line, sizeof line, "Followed the %s convention.", f->name);
        if (push_new(pat, json_string(line)) != SK_OK)
            goto fail;
        /* Rarely, a success shows a convention worth writing down. */
        if (!proposed && !sk_demo_skill_knows(c->skill, f)) {
            if (c->pl == PL_EDITS &&
                push_new(items, json_pack("{s:s, s:s}", "op", "append",
                                          "content", f->rule)) != SK_OK)
                goto fail;
            proposed = 1;
        }
    }
    if (add_new(r, "batch_size",
                json_integer((json_int_t)count_str(
                    c->user, "### Trajectory "))) != SK_OK ||
        add_new(r, "success_patterns", json_incref(pat)) != SK_OK ||
        add_new(r, "patch",
                patch_of(c, "The skill already covers these successes.",
                         json_incref(items), rules)) != SK_OK)
        goto fail;
    if (c->skill_aware &&
        (add_new(r, "reflection_type", json_string("OPTIMIZATION")) != SK_OK ||
         add_new(r, "appendix_notes", json_array()) != SK_OK))
        goto fail;
    json_decref(pat);
    json_decref(items);
    json_decref(rules);
    return r;
fail:
    json_decref(r);
    json_decref(pat);
    json_decref(items);
    json_decref(rules);
    return NULL;
}

/* The identity of an item for deduplication. */
static const char *item_key(const json_t *e, enum payload pl)
{
    const char *k;
    if (pl == PL_CANDIDATES)
        return json_string_value(json_object_get(e, "new_skill"));
    if (pl == PL_SUGGESTIONS)
        return json_string_value(json_object_get(e, "instruction"));
    k = json_string_value(json_object_get(e, "content"));
    return k ? k : json_string_value(json_object_get(e, "target"));
}

/* Appends every payload item under v to out, deduplicated through seen
 * (key -> index in out), summing support counts. */
static int collect(const json_t *v, enum payload pl, const char *source,
                   json_t *out, json_t *seen)
{
    static const char *const marks[] = {"op", "instruction", "new_skill"};
    const char *key, *k;
    json_t *e, *copy;
    size_t i;
    if (json_is_array(v)) {
        json_array_foreach(v, i, e)
        {
            if (collect(e, pl, source, out, seen) != SK_OK)
                return SK_ENOMEM;
        }
        return SK_OK;
    }
    if (!json_is_object(v))
        return SK_OK;
    if (!json_object_get(v, marks[pl])) {
        json_object_foreach((json_t *)v, k, e)
        {
            if (collect(e, pl, source, out, seen) != SK_OK)
                return SK_ENOMEM;
        }
        return SK_OK;
    }
    key = item_key(v, pl);
    if (!key)
        return SK_OK;
    e = json_object_get(seen, key);
    if (e) {
        json_t *prev = json_array_get(out, (size_t)json_integer_value(e));
        json_int_t sup =
            json_integer_value(json_object_get(prev, "support_count"));
        const json_t *add = json_object_get(v, "support_count");
        sup += json_is_integer(add) ? json_integer_value(add) : 1;
        return add_new(prev, "support_count", json_integer(sup));
    }
    if (!(copy = json_deep_copy(v)))
        return SK_ENOMEM;
    if (!json_is_integer(json_object_get(copy, "support_count")) &&
        add_new(copy, "support_count", json_integer(1)) != SK_OK)
        goto fail;
    if (!json_object_get(copy, "source_type") &&
        add_new(copy, "source_type", json_string(source)) != SK_OK)
        goto fail;
    if (add_new(seen, key, json_integer((json_int_t)json_array_size(out))) !=
        SK_OK)
        goto fail;
    return push_new(out, copy);
fail:
    json_decref(copy);
    return SK_ENOMEM;
}

static json_t *merge(struct req_ctx *c)
{
    const char *h = strstr(c->rest, "## Two pre-merged");
    int final = h != NULL;
    const char *src = has_key(c->sys, "source_type") &&
                              strstr(c->sys, "\"source_type\": \"success\"")
                          ? "success"
                          : "failure";
    json_t *in = NULL, *items = json_array(), *seen = json_object(), *r;
    json_t *rules = NULL;
    size_t i;
    if (!h)
        h = strstr(c->rest, "## Patches to merge");
    if (h && (h = strchr(h, '[')))
        in = json_loads(h, JSON_DISABLE_EOF_CHECK, NULL);
    if (!items || !seen)
        goto fail;
    for (i = 0; i < json_array_size(in); i++)
        if (collect(json_array_get(in, i), c->pl,
                    final ? (i == 0 ? "failure" : "success") : src, items,
                    seen) != SK_OK)
            goto fail;
    if (c->pl == PL_CANDIDATES) {
        /* Fuse to the candidate that kept the most text. */
        json_t *best = NULL, *e;
        json_array_foreach(items, i, e)
        {
            if (!best ||
                json_string_length(json_object_get(e, "new_skill")) >
                    json_string_length(json_object_get(best, "new_skill")))
                best = e;
        }
        if (best) {
            json_incref(best);
            json_array_clear(items);
            if (push_new(items, best) != SK_OK)
                goto fail;
        }
    }
    r = patch_of(c, "Fused identical proposals and summed their support.",
                 items, rules);
    json_decref(in);
    json_decref(seen);
    return r;
fail:
    json_decref(in);
    json_decref(items);
    json_decref(seen);
    return NULL;
}

/* 2: names a useful rule's keyword; 0: a harmful one; 1: neither. */
static int usefulness(const char *text, size_t len)
{
    char *t = sk_strndup(text, len);
    int score = 1;
    size_t i;
    if (!t)
        return 1;
    for (i = 0; i < sk_demo_family_count(); i++) {
        const struct sk_demo_family *f = sk_demo_family_at(i);
        if (sk_demo_skill_harmed(t, f)) {
            score = 0;
            break;
        }
        if (sk_demo_skill_knows(t, f))
            score = 2;
    }
    sk_free(t);
    return score;
}

static json_t *ranking(struct req_ctx *c)
{
    const char *p = strstr(c->rest, " Pool ("), *b, *s, *e;
    unsigned long n = 0, i, j, *order = NULL;
    long k = 0;
    int *score = NULL;
    char mark[48];
    json_t *sel = json_array(), *r = NULL;
    if (p) {
        n = strtoul(p + strlen(" Pool ("), NULL, 10);
        if ((b = strstr(p, "budget=")))
            k = strtol(b + strlen("budget="), NULL, 10);
    }
    if (n > 100000)
        n = 100000;
    if (!sel || (n && (!(order = sk_calloc(n, sizeof *order)) ||
                       !(score = sk_calloc(n, sizeof *score)))))
        goto out;
    for (i = 0; i < n; i++) {
        snprintf(mark, sizeof mark, "[%lu] ", i);
        s = strstr(p, mark);
        snprintf(mark, sizeof mark, "\n[%lu] ", i + 1);
        e = s ? strstr(s, mark) : NULL;
        score[i] = s ? usefulness(s, e ? (size_t)(e - s) : strlen(s)) : 1;
        for (j = i; j > 0 && score[order[j - 1]] < score[i]; j--)
            order[j] = order[j - 1];
        order[j] = i;
    }
    for (i = 0; i < n && (long)i < k; i++)
        if (push_new(sel, json_integer((json_int_t)order[i])) != SK_OK)
            goto out;
    r = json_pack("{s:s, s:O}", "reasoning",
                  "Edits that state a concrete formatting rule come first.",
                  "selected_indices", sel);
out:
    json_decref(sel);
    sk_free(order);
    sk_free(score);
    return r;
}

/* The family of a demo question, from the wording data/demo's generator
 * uses: comparisons name tasks by their text, not their type. */
static int family_of_question(const char *q, size_t len)
{
    static const struct {
        const char *cue, *family;
    } cues[] = {{"letter '", "counting"},
                {"dollars", "money"},
                {" km ", "units"},
                {"capital of", "capitals"},
                {"Write the date", "dates"}};
    size_t i, k;
    for (i = 0; i < SK_ARRAY_LEN(cues); i++) {
        size_t n = strlen(cues[i].cue);
        for (k = 0; k + n <= len; k++)
            if (memcmp(q + k, cues[i].cue, n) == 0)
                return family_at(cues[i].family);
    }
    return -1;
}

/* Whether a section heading is about failures ("Regressed", "Persistent
 * failures") rather than passes ("Improved (fail -> pass)"). */
static int failing_heading(const char *h, size_t len)
{
    char line[256];
    size_t n;
    for (n = 0; n < len && n + 1 < sizeof line; n++)
        line[n] = (char)tolower((unsigned char)h[n]);
    line[n] = '\0';
    if (strstr(line, "improv") || strstr(line, "success"))
        return 0;
    return strstr(line, "fail") || strstr(line, "regress");
}

/* Families of the tasks listed under failure sections of a comparison
 * (or under no section at all), by "Task type:" or the task's text.
 * Fenced trajectories and item sub-headings are skipped. */
static void failing_families(const char *text, int *failing)
{
    const char *p = text, *nl;
    int fenced = 0, fail = 1, f;
    while (*p) {
        size_t len;
        nl = strchr(p, '\n');
        len = nl ? (size_t)(nl - p) : strlen(p);
        f = -1;
        if (strncmp(p, "```", 3) == 0)
            fenced = !fenced;
        else if (!fenced && p[0] == '#' && strncmp(p, "####", 4) != 0)
            fail = failing_heading(p, len);
        else if (!fenced && strncmp(p, "Task type:", 10) == 0)
            f = family_at(p + 10);
        else if (!fenced && strncmp(p, "Task:", 5) == 0)
            f = family_of_question(p, len);
        if (f >= 0 && fail)
            failing[f] = 1;
        p += len;
        if (*p)
            p++;
    }
}

static json_t *slow_update(struct req_ctx *c)
{
    int failing[MAX_FAMILIES] = {0};
    struct sk_buf b;
    size_t i;
    int rc = SK_OK;
    json_t *r = NULL;
    failing_families(c->rest, failing);
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    for (i = 0; i < sk_demo_family_count() && i < MAX_FAMILIES; i++)
        if (failing[i] && rc == SK_OK)
            rc = sk_buf_printf(&b, "%s- %s", b.len ? "\n" : "",
                               sk_demo_family_at(i)->rule);
    if (rc == SK_OK && b.len == 0)
        rc = sk_buf_puts(&b, "- Re-read the skill's formatting rules before "
                             "answering.");
    if (rc == SK_OK)
        r = json_pack("{s:s, s:s}", "reasoning",
                      "These families keep failing across the epoch.",
                      "slow_update_content", sk_buf_cstr(&b));
    sk_buf_release(&b);
    return r;
}

static json_t *rewrite_skill(struct req_ctx *c)
{
    const struct sk_demo_family *pick = NULL, *f;
    json_t *rules = json_array(), *r = NULL, *ns;
    size_t i;
    char *rest = sk_strdup(c->rest);
    if (!rules || !rest)
        goto out;
    /* The first rule the suggestions name that the skill lacks, else the
     * first rule the skill lacks. */
    for (i = 0; i < sk_demo_family_count() && !pick; i++) {
        f = sk_demo_family_at(i);
        if (!sk_demo_skill_knows(c->skill, f) && sk_demo_skill_knows(rest, f))
            pick = f;
    }
    for (i = 0; i < sk_demo_family_count() && !pick; i++) {
        f = sk_demo_family_at(i);
        if (!sk_demo_skill_knows(c->skill, f))
            pick = f;
    }
    if (pick && push_new(rules, json_string(pick->rule)) != SK_OK)
        goto out;
    ns = skill_plus(c->skill, rules);
    r = json_pack("{s:s, s:O, s:o}", "reasoning",
                  "Applied the selected suggestion as one new rule.",
                  "change_summary", rules, "new_skill", ns);
out:
    sk_free(rest);
    json_decref(rules);
    return r;
}

/* The same note for deduplication: trimmed, ASCII case folded. */
static int same_note(const char *a, const char *b)
{
    size_t la, lb, i;
    while (isspace((unsigned char)*a))
        a++;
    while (isspace((unsigned char)*b))
        b++;
    la = strlen(a);
    lb = strlen(b);
    while (la > 0 && isspace((unsigned char)a[la - 1]))
        la--;
    while (lb > 0 && isspace((unsigned char)b[lb - 1]))
        lb--;
    if (la != lb)
        return 0;
    for (i = 0; i < la; i++)
        if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i]))
            return 0;
    return 1;
}

/* Appendix consolidation: the notes listed (a JSON list after "## Current
 * Execution Notes") without case-insensitive duplicates; past three, the
 * rest are folded into the third so the list shrinks without losing text. */
static json_t *consolidate(struct req_ctx *c)
{
    const char *h = strstr(c->user, "## Current Execution Notes");
    json_t *in = NULL, *kept = json_array(), *v, *r = NULL;
    struct sk_buf b;
    size_t i, j;
    int rc = SK_OK;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (h && (h = strchr(h, '[')))
        in = json_loads(h, JSON_DISABLE_EOF_CHECK, NULL);
    if (!kept)
        goto out;
    json_array_foreach(in, i, v)
    {
        const char *s = json_string_value(v);
        int dup = 0;
        for (j = 0; s && j < json_array_size(kept) && !dup; j++)
            dup = same_note(s, json_string_value(json_array_get(kept, j)));
        if (s && !dup && json_array_append(kept, v) != 0)
            goto out;
    }
    if (json_array_size(kept) > 3) {
        for (i = 2; i < json_array_size(kept) && rc == SK_OK; i++)
            rc = sk_buf_printf(&b, "%s%s", i > 2 ? " " : "",
                               json_string_value(json_array_get(kept, i)));
        while (rc == SK_OK && json_array_size(kept) > 2)
            rc = json_array_remove(kept, 2) == 0 ? SK_OK : SK_ENOMEM;
        if (rc != SK_OK ||
            push_new(kept, json_string(sk_buf_cstr(&b))) != SK_OK)
            goto out;
    }
    r = json_pack("{s:O}", "appendix_notes", kept);
out:
    sk_buf_release(&b);
    json_decref(in);
    json_decref(kept);
    return r;
}

static json_t *answer(struct req_ctx *c, enum stage st)
{
    switch (st) {
    case ST_ANALYST_ERROR:
        return analyst_error(c);
    case ST_ANALYST_SUCCESS:
        return analyst_success(c);
    case ST_MERGE:
        return merge(c);
    case ST_RANKING:
        return ranking(c);
    case ST_LR:
        return json_pack("{s:i, s:s, s:s, s:[]}", "learning_rate", 2,
                         "reasoning",
                         "Several independent, well-supported items.",
                         "confidence", "medium", "risk_notes");
    case ST_SLOW:
        return slow_update(c);
    case ST_META:
        return json_pack(
            "{s:s, s:s}", "reasoning",
            "Concrete format rules fixed failures; vague advice did not.",
            "meta_skill_content",
            "Prefer concrete formatting rules with an example over general "
            "advice; never propose a rule that changes a format the task "
            "does not ask for.");
    case ST_REWRITE:
        return rewrite_skill(c);
    case ST_CONSOLIDATE:
        return consolidate(c);
    case ST_NONE:
        break;
    }
    return NULL;
}

/* Text of a chat message's content (a string, or text parts). */
static const char *content_text(const json_t *msg)
{
    const json_t *c = json_object_get(msg, "content");
    if (json_is_string(c))
        return json_string_value(c);
    if (json_is_array(c))
        return json_string_value(json_object_get(json_array_get(c, 0), "text"));
    return NULL;
}

static int error_reply(struct sk_sim_reply *reply, const char *msg)
{
    json_t *e = json_pack("{s:{s:s, s:s}}", "error", "message", msg, "type",
                          "invalid_request_error");
    reply->status = 400;
    reply->body = e ? json_dumps(e, JSON_COMPACT) : NULL;
    reply->body_len = reply->body ? strlen(reply->body) : 0;
    json_decref(e);
    return reply->body ? 0 : 1;
}

int sk_demo_opt_respond(void *ud, const struct sk_sim_request *req,
                        struct sk_sim_reply *reply)
{
    const struct sk_demo_opt *o = ud;
    struct req_ctx c;
    json_t *body, *msgs, *m, *out = NULL;
    const char *model;
    char *text = NULL;
    enum stage st;
    size_t i;
    int rc = 1;

    memset(&c, 0, sizeof c);
    body = json_loadb(req->body, req->body_len, 0, NULL);
    msgs = json_object_get(body, "messages");
    json_array_foreach(msgs, i, m)
    {
        const char *role = json_string_value(json_object_get(m, "role"));
        if (role && strcmp(role, "system") == 0 && !c.sys)
            c.sys = content_text(m);
        else if (role && strcmp(role, "user") == 0 && !c.user)
            c.user = content_text(m);
    }
    if (!c.sys || !c.user || (st = classify(c.sys, &c.pl)) == ST_NONE) {
        rc = error_reply(reply, "not an optimizer request of the demo");
        goto out;
    }
    c.skill_aware = strstr(c.sys, "# Skill-aware reflection") != NULL;
    c.rng = fnv1a(fnv1a(0xcbf29ce484222325ull ^ o->seed, c.sys), c.user);
    if (!(c.skill = skill_of(c.user, &c.rest)))
        goto out;
    if (!(out = answer(&c, st)) ||
        !(text = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER)))
        goto out;
    model = json_string_value(json_object_get(body, "model"));
    reply->body = sk_sim_chat_completion(model ? model : "sim-optimizer", text,
                                         (uint64_t)req->body_len / 4 + 1,
                                         strlen(text) / 4 + 1);
    reply->body_len = reply->body ? strlen(reply->body) : 0;
    rc = reply->body ? 0 : 1;
out:
    sk_free(text);
    sk_free(c.skill);
    json_decref(out);
    json_decref(body);
    return rc;
}
