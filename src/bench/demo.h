/*
 * demo.h - the synthetic benchmark of `skillopt demo` (data/demo/) and the
 * simulated target's behaviour on it.
 *
 * Every item belongs to a family with a systematic trap (units, date
 * format, money format, capitalisation, letter counting).  The simulated
 * target answers an item correctly with a high probability only when the
 * skill holds the family's rule (recognised by a keyword), and falls into
 * the trap otherwise; some rules are harmful and lower the odds.  Answers
 * are deterministic in (seed, item id, which rules the skill holds), so a
 * run is reproducible and its replies cacheable.  A test instrument, not a
 * model: it exists so the loop's mechanics can be seen offline.
 *
 * All strings returned are static; outputs go to caller-owned buffers.
 */
#ifndef SK_DEMO_H
#define SK_DEMO_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "util/buf.h"

struct sk_demo_family {
    const char *name;         /* "units", "dates", ... */
    const char *keyword;      /* rule recognised when the skill has it */
    const char *rule;         /* a useful rule an optimizer may propose */
    const char *harm_keyword; /* a harmful rule's keyword, or NULL */
    const char *harmful_rule; /* the harmful rule's text, or NULL */
};

size_t sk_demo_family_count(void);
const struct sk_demo_family *sk_demo_family_at(size_t i);
/* NULL when the name is unknown. */
const struct sk_demo_family *sk_demo_family_find(const char *name);

/* Whether skill (NUL-terminated) holds the family's useful / harmful rule
 * (case-insensitive keyword match). */
int sk_demo_skill_knows(const char *skill, const struct sk_demo_family *f);
int sk_demo_skill_harmed(const char *skill, const struct sk_demo_family *f);

/* Probability that the simulated target answers correctly. */
double sk_demo_p_correct(const char *skill, const struct sk_demo_family *f);

/*
 * The simulated target's answer to an item of family f with gold answer
 * gold, appended to out: gold with probability sk_demo_p_correct, else the
 * family's trap (e.g. "17" instead of "17 km").  Returns SK_OK, SK_ENOMEM
 * or SK_EINVAL for an unknown family.
 */
int sk_demo_answer(const char *skill, const struct sk_demo_family *f,
                   const char *item_id, const char *gold, uint64_t seed,
                   struct sk_buf *out);

/* Demo scoring: hard 1 for an exact match (surrounding blanks ignored);
 * soft 1, 0.5 when equal ignoring case and non-alphanumerics, else 0. */
void sk_demo_score(const char *pred, const char *gold, double *hard,
                   double *soft);

#endif /* SK_DEMO_H */
