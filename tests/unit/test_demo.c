/*
 * test_demo.c - the demo benchmark: its data, its families and the
 * simulated target's behaviour under skills with and without rules.
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <jansson.h>

#include "bench/demo.h"
#include "testutil.h"
#include "util/alloc.h"
#include "util/buf.h"

static json_t *load_split(const char *split)
{
    char rel[64], *path;
    json_t *j;
    json_error_t e;
    snprintf(rel, sizeof rel, "data/demo/%s/items.json", split);
    path = tu_source_path(rel);
    j = json_load_file(path, 0, &e);
    if (!j)
        fail_msg("%s: %s", path, e.text);
    sk_free(path);
    return j;
}

/* Share of items of a split the simulated target gets right under skill. */
static double accuracy(json_t *items, const char *skill, uint64_t seed)
{
    size_t i, right = 0;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        const struct sk_demo_family *f = sk_demo_family_find(
            json_string_value(json_object_get(it, "family")));
        const char *gold = json_string_value(
            json_array_get(json_object_get(it, "answers"), 0));
        struct sk_buf out;
        double hard, soft;
        assert_non_null(f);
        sk_buf_init(&out, 4096);
        assert_int_equal(
            sk_demo_answer(skill, f,
                           json_string_value(json_object_get(it, "id")), gold,
                           seed, &out),
            SK_OK);
        sk_demo_score(sk_buf_cstr(&out), gold, &hard, &soft);
        right += hard == 1.0;
        sk_buf_release(&out);
    }
    return (double)right / (double)json_array_size(items);
}

static void test_demo__data_is_well_formed(void **state)
{
    static const char *const splits[] = {"train", "val", "test"};
    size_t s, i;
    json_t *it;
    (void)state;
    for (s = 0; s < 3; s++) {
        json_t *items = load_split(splits[s]);
        assert_true(json_array_size(items) >= 40);
        json_array_foreach(items, i, it)
        {
            assert_non_null(json_string_value(json_object_get(it, "id")));
            assert_non_null(sk_demo_family_find(
                json_string_value(json_object_get(it, "family"))));
            assert_int_equal(json_array_size(json_object_get(it, "answers")),
                             1);
        }
        json_decref(items);
    }
}

static void test_demo__rules_move_accuracy(void **state)
{
    json_t *val = load_split("val");
    struct sk_buf all;
    size_t i;
    double blank, full, harmed;
    (void)state;
    sk_buf_init(&all, 65536);
    for (i = 0; i < sk_demo_family_count(); i++) {
        assert_int_equal(sk_buf_puts(&all, sk_demo_family_at(i)->rule), SK_OK);
        assert_int_equal(sk_buf_putc(&all, '\n'), SK_OK);
    }
    blank = accuracy(val, "# Skill\n", 42);
    full = accuracy(val, sk_buf_cstr(&all), 42);
    assert_int_equal(sk_buf_puts(&all, "Round every numeric answer to a "
                                       "whole number.\n"),
                     SK_OK);
    harmed = accuracy(val, sk_buf_cstr(&all), 42);
    /* rules lift the score a lot; a harmful rule takes some of it back */
    assert_true(blank < 0.45);
    assert_true(full > 0.75);
    assert_true(harmed < full);
    /* deterministic */
    assert_true(accuracy(val, sk_buf_cstr(&all), 42) == harmed);
    sk_buf_release(&all);
    json_decref(val);
}

static void test_demo__traps_and_scoring(void **state)
{
    static const struct {
        const char *family, *gold, *trap;
    } cases[] = {
        {"units", "73 km", "73"},     {"dates", "2004-03-09", "3/9/2004"},
        {"money", "12.50", "$12.50"}, {"capitals", "lima", "Lima"},
        {"counting", "2", "3"},
    };
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        const struct sk_demo_family *f = sk_demo_family_find(cases[i].family);
        struct sk_buf out;
        double hard, soft;
        uint64_t seed;
        sk_buf_init(&out, 256);
        /* find a seed whose draw fails under a blank skill */
        for (seed = 0; seed < 1000; seed++) {
            sk_buf_reset(&out);
            assert_int_equal(
                sk_demo_answer("", f, "x-1", cases[i].gold, seed, &out), SK_OK);
            if (strcmp(sk_buf_cstr(&out), cases[i].gold) != 0)
                break;
        }
        assert_string_equal(sk_buf_cstr(&out), cases[i].trap);
        sk_demo_score(sk_buf_cstr(&out), cases[i].gold, &hard, &soft);
        assert_true(hard == 0.0);
        sk_buf_release(&out);
    }
    {
        double hard, soft;
        sk_demo_score("  lima \n", "lima", &hard, &soft);
        assert_true(hard == 1.0 && soft == 1.0);
        sk_demo_score("Lima", "lima", &hard, &soft);
        assert_true(hard == 0.0 && soft == 0.5);
        sk_demo_score("paris", "lima", &hard, &soft);
        assert_true(hard == 0.0 && soft == 0.0);
    }
    assert_true(sk_demo_skill_knows("always use LOWERCASE names",
                                    sk_demo_family_find("capitals")));
    assert_null(sk_demo_family_find("nope"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demo__data_is_well_formed),
        cmocka_unit_test(test_demo__rules_move_accuracy),
        cmocka_unit_test(test_demo__traps_and_scoring),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
