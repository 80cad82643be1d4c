/*
 * test_demo_sim.c - the demo target answering through the real client and
 * simulator: a skill with the family's rule gets the right format.
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "bench/demo.h"
#include "bench/demo_sim.h"
#include "config/config.h"
#include "llm/client.h"
#include "testutil.h"
#include "util/alloc.h"
#include "util/fs.h"

static void test_demo_sim__answers_depend_on_the_skill(void **state)
{
    struct sk_config cfg;
    struct sk_config_args a;
    struct sk_error err;
    struct sk_demo_sim *d;
    struct sk_llm_client *c;
    struct sk_llm_client_opts o;
    struct sk_llm_message msg = {"user", "Task id: val-000\nWhat?", NULL, 0};
    struct sk_llm_request req;
    struct sk_llm_result plain, ruled;
    char *data = tu_source_path("data/demo");
    char *dir = tu_mkdtemp();
    char *cfgp = tu_write(dir, "c.yaml",
                          "model:\n  backend: sim\n  optimizer_backend: sim\n"
                          "  target_backend: sim\n  target: sim-target\n");
    const char *rules = "Write place names in lowercase.\n"
                        "Always state the unit of measurement after a number."
                        "\nWrite dates in ISO 8601 form: YYYY-MM-DD.\n"
                        "Give amounts of money with two decimal places.\n"
                        "Spell the word one letter at a time.\n";
    int right_plain = 0, right_ruled = 0, i;
    (void)state;
    assert_int_equal(sk_demo_sim_new(data, 42, NULL, NULL, &d, &err), SK_OK);
    memset(&a, 0, sizeof a);
    a.path = cfgp;
    sk_config_init(&cfg);
    assert_int_equal(sk_config_load(&a, &cfg, &err), SK_OK);
    memset(&o, 0, sizeof o);
    o.sim_responder = sk_demo_sim_respond;
    o.sim_ud = d;
    if (sk_llm_client_new(&cfg, &o, &c, &err) != SK_OK)
        fail_msg("%s", err.msg);
    for (i = 0; i < 40; i++) {
        char text[64];
        snprintf(text, sizeof text, "Task id: val-%03d\nAnswer it.", i);
        msg.content = text;
        memset(&req, 0, sizeof req);
        req.role = SK_ROLE_TARGET;
        req.stage = "rollout";
        req.messages = &msg;
        req.n_messages = 1;
        req.system = "# Skill\nBe careful.";
        assert_int_equal(sk_llm_call(c, &req, &plain), SK_OK);
        req.system = rules;
        assert_int_equal(sk_llm_call(c, &req, &ruled), SK_OK);
        assert_non_null(strstr(plain.text, "<answer>"));
        right_plain += strcmp(plain.text, ruled.text) == 0;
        right_ruled += strstr(ruled.text, "</answer>") != NULL;
        sk_llm_result_release(&plain);
        sk_llm_result_release(&ruled);
    }
    /* the skill changes many answers, and every reply is well formed */
    assert_true(right_plain < 30);
    assert_int_equal(right_ruled, 40);
    /* not a demo task: an error, never an empty answer */
    msg.content = "hello";
    req.system = NULL;
    assert_int_equal(sk_llm_call(c, &req, &plain), SK_LLM_EPROVIDER);
    sk_llm_result_release(&plain);
    /* an optimizer prompt quoting a task prompt is not a task (it used to
     * be answered as one, so analysts got "<answer>...</answer>") */
    msg.content = "## Current Skill\n...\n### Trajectory 1\nTask id: "
                  "val-000\nWhat?";
    assert_int_equal(sk_llm_call(c, &req, &plain), SK_LLM_EPROVIDER);
    sk_llm_result_release(&plain);
    sk_llm_client_free(c);
    sk_config_release(&cfg);
    sk_demo_sim_free(d);
    tu_rmtree(dir);
    sk_free(dir);
    sk_free(cfgp);
    sk_free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demo_sim__answers_depend_on_the_skill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
