/*
 * demo.c - families, traps and the simulated target of the demo benchmark
 * (see demo.h).  The numbers are chosen so that a useful rule lifts a
 * family from about 20% to 90% and a harmful one costs half of that, which
 * makes accepted and rejected edits both visible within two epochs.
 */
#include "common.h"
#include "bench/demo.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct sk_demo_family families[] = {
    {"units", "unit of measurement",
     "Always state the unit of measurement after a number, e.g. `12 km`.", NULL,
     NULL},
    {"dates", "yyyy-mm-dd", "Write dates in ISO 8601 form: YYYY-MM-DD.",
     "dd/mm/yyyy", "Write dates the European way, DD/MM/YYYY."},
    {"money", "two decimal places",
     "Give amounts of money as a plain number with two decimal places and "
     "no currency sign, e.g. `12.50`.",
     "whole number", "Round every numeric answer to a whole number."},
    {"capitals", "lowercase", "Write place names in lowercase, e.g. `lima`.",
     NULL, NULL},
    {"counting", "one letter at a time",
     "To count letters, spell the word out one letter at a time before "
     "answering.",
     NULL, NULL},
};

size_t sk_demo_family_count(void)
{
    return SK_ARRAY_LEN(families);
}

const struct sk_demo_family *sk_demo_family_at(size_t i)
{
    return i < SK_ARRAY_LEN(families) ? &families[i] : NULL;
}

const struct sk_demo_family *sk_demo_family_find(const char *name)
{
    size_t i;
    for (i = 0; i < SK_ARRAY_LEN(families); i++)
        if (strcmp(families[i].name, name) == 0)
            return &families[i];
    return NULL;
}

int sk_demo_skill_knows(const char *skill, const struct sk_demo_family *f)
{
    return strcasestr(skill, f->keyword) != NULL;
}

int sk_demo_skill_harmed(const char *skill, const struct sk_demo_family *f)
{
    return f->harm_keyword && strcasestr(skill, f->harm_keyword) != NULL;
}

double sk_demo_p_correct(const char *skill, const struct sk_demo_family *f)
{
    double p = sk_demo_skill_knows(skill, f) ? 0.9 : 0.2;
    if (sk_demo_skill_harmed(skill, f))
        p *= 0.5;
    return p;
}

/* A uniform draw in [0, 1) from (seed, id): FNV-1a then splitmix64. */
static double draw(uint64_t seed, const char *id)
{
    uint64_t h = 1469598103934665603ull ^ seed;
    const unsigned char *p = (const unsigned char *)id;
    for (; *p; p++) {
        h ^= *p;
        h *= 1099511628211ull;
    }
    h += 0x9e3779b97f4a7c15ull;
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
    h ^= h >> 31;
    return (double)(h >> 11) / 9007199254740992.0;
}

/* The family's typical wrong answer for a gold answer. */
static int trap(const struct sk_demo_family *f, const char *gold,
                struct sk_buf *out)
{
    if (strcmp(f->name, "units") == 0) {
        const char *sp = strchr(gold, ' ');
        return sk_buf_append(out, gold,
                             sp ? (size_t)(sp - gold) : strlen(gold));
    }
    if (strcmp(f->name, "dates") == 0) {
        int y, m, d;
        if (sscanf(gold, "%d-%d-%d", &y, &m, &d) == 3)
            return sk_buf_printf(out, "%d/%d/%d", m, d, y);
    } else if (strcmp(f->name, "money") == 0) {
        return sk_buf_printf(out, "$%s", gold);
    } else if (strcmp(f->name, "capitals") == 0) {
        int rc = sk_buf_puts(out, gold);
        if (rc == SK_OK && out->len > 0) {
            size_t start = out->len - strlen(gold);
            out->data[start] = (char)toupper((unsigned char)out->data[start]);
        }
        return rc;
    } else if (strcmp(f->name, "counting") == 0) {
        long n = strtol(gold, NULL, 10);
        return sk_buf_printf(out, "%ld", n + 1);
    }
    return sk_buf_printf(out, "not sure");
}

int sk_demo_answer(const char *skill, const struct sk_demo_family *f,
                   const char *item_id, const char *gold, uint64_t seed,
                   struct sk_buf *out)
{
    if (!f)
        return SK_EINVAL;
    if (draw(seed, item_id) < sk_demo_p_correct(skill, f))
        return sk_buf_puts(out, gold);
    return trap(f, gold, out);
}

static void squeeze(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; *s && n + 1 < cap; s++)
        if (isalnum((unsigned char)*s))
            out[n++] = (char)tolower((unsigned char)*s);
    out[n] = '\0';
}

void sk_demo_score(const char *pred, const char *gold, double *hard,
                   double *soft)
{
    char a[512], b[512];
    size_t pl, gl;
    while (isspace((unsigned char)*pred))
        pred++;
    pl = strlen(pred);
    while (pl && isspace((unsigned char)pred[pl - 1]))
        pl--;
    gl = strlen(gold);
    *hard = pl == gl && strncmp(pred, gold, pl) == 0 ? 1.0 : 0.0;
    if (*hard == 1.0) {
        *soft = 1.0;
        return;
    }
    squeeze(pred, a, sizeof a);
    squeeze(gold, b, sizeof b);
    *soft = a[0] && strcmp(a, b) == 0 ? 0.5 : 0.0;
}
