/*
 * sim_script.c - the simulator's scripted agent (sk_sim_script_agent in
 * sim_agent.h): three stateless turns decided from the conversation the
 * CLI sends back (read the skill and the task, write the answer file,
 * answer), with whichever tools the CLI offers.
 */
#include "common.h"

#include "llm/sim_agent.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "util/alloc.h"
#include "util/buf.h"

#define SCRIPT_SKILL ".agents/skills/demo/SKILL.md"
#define SCRIPT_TASK "task.md"
#define SCRIPT_ANSWER "answer.txt"
#define SCRIPT_KEY "SKILL-KEY:"
#define SCRIPT_TASK_ID "TASK-ID:"

/* The word after marker in s into out ("" if absent). */
static void word_after(const char *s, const char *marker, char *out, size_t cap)
{
    const char *p = strstr(s, marker);
    size_t n = 0;

    out[0] = '\0';
    if (!p)
        return;
    p += strlen(marker);
    while (*p == ' ' || *p == '\t')
        p++;
    while (n + 1 < cap &&
           ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
            (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
        out[n++] = *p++;
    out[n] = '\0';
}

/* The first line of s that starts with '/' (a pwd output) into out. */
static void first_abs_line(const char *s, char *out, size_t cap)
{
    const char *p = s;

    out[0] = '\0';
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (*p == '/' && n < cap) {
            memcpy(out, p, n);
            out[n] = '\0';
            while (n > 0 && (out[n - 1] == '\r' || out[n - 1] == ' '))
                out[--n] = '\0';
            return;
        }
        p = nl ? nl + 1 : NULL;
    }
}

/* Appends s single-quoted for a POSIX shell. */
static int shell_quote(struct sk_buf *b, const char *s)
{
    if (sk_buf_putc(b, '\''))
        return SK_ENOMEM;
    for (; *s; s++) {
        if (*s == '\'' ? sk_buf_puts(b, "'\\''") : sk_buf_putc(b, *s))
            return SK_ENOMEM;
    }
    return sk_buf_putc(b, '\'');
}

/* A shell call running cmd with whichever shell tool the CLI offers. */
static int script_shell(const struct sk_sim_turn *t, struct sk_sim_answer *a,
                        const char *cmd)
{
    json_t *args;
    const char *tool;
    char *text;
    int rc;

    if (sk_sim_turn_has_tool(t, "Bash")) {
        tool = "Bash";
        args = json_pack("{s:s,s:s}", "command", cmd, "description",
                         "Run a shell command");
    } else if (sk_sim_turn_has_tool(t, "exec_command")) {
        tool = "exec_command";
        args = json_pack("{s:s}", "cmd", cmd);
    } else if (sk_sim_turn_has_tool(t, "shell_command")) {
        tool = "shell_command";
        args = json_pack("{s:s}", "command", cmd);
    } else if (sk_sim_turn_has_tool(t, "shell")) {
        tool = "shell";
        args = json_pack("{s:[s,s,s]}", "command", "bash", "-lc", cmd);
    } else {
        return sk_sim_answer_set_text(
            a, "The client offers no shell tool.\n<answer>no-shell</answer>");
    }
    if (!args)
        return SK_ENOMEM;
    text = json_dumps(args, JSON_COMPACT);
    json_decref(args);
    if (!text)
        return SK_ENOMEM;
    rc = sk_sim_answer_add_call(a, tool, text, 0);
    sk_free(text);
    return rc;
}

static int tool_is_freeform(const struct sk_sim_turn *t, const char *name)
{
    size_t i;

    for (i = 0; i < t->n_tools; i++)
        if (strcmp(t->tools[i], name) == 0)
            return t->tool_freeform && t->tool_freeform[i];
    return 0;
}

/* Turn 2: write the answer file with the best tool on offer. */
static int script_write(const struct sk_sim_turn *t, struct sk_sim_answer *a,
                        const char *file, const char *key, const char *pwd)
{
    struct sk_buf b;
    json_t *args = NULL;
    char *text = NULL;
    int rc = SK_ENOMEM;

    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (sk_sim_turn_has_tool(t, "Write") && *pwd && file[0] != '/') {
        if (sk_buf_printf(&b, "%s/%s", pwd, file))
            goto out;
        args = json_pack("{s:s,s:s+}", "file_path", sk_buf_cstr(&b), "content",
                         key, "\n");
        if (!args || !(text = json_dumps(args, JSON_COMPACT)))
            goto out;
        rc = sk_sim_answer_add_call(a, "Write", text, 0);
    } else if (sk_sim_turn_has_tool(t, "apply_patch")) {
        if (sk_buf_printf(&b,
                          "*** Begin Patch\n*** Add File: %s\n+%s\n"
                          "*** End Patch\n",
                          file, key))
            goto out;
        if (tool_is_freeform(t, "apply_patch")) {
            rc = sk_sim_answer_add_call(a, "apply_patch", sk_buf_cstr(&b), 1);
            goto out;
        }
        args = json_pack("{s:s}", "input", sk_buf_cstr(&b));
        if (!args || !(text = json_dumps(args, JSON_COMPACT)))
            goto out;
        rc = sk_sim_answer_add_call(a, "apply_patch", text, 0);
    } else {
        if (sk_buf_puts(&b, "printf '%s\\n' ") || shell_quote(&b, key) ||
            sk_buf_puts(&b, " > ") || shell_quote(&b, file))
            goto out;
        rc = script_shell(t, a, sk_buf_cstr(&b));
    }
out:
    json_decref(args);
    sk_free(text);
    sk_buf_release(&b);
    return rc;
}

/* One turn of the scripted agent (see sim_agent.h); 0 or SK_ENOMEM. */
int sk_sim_script_agent(void *ud, const struct sk_sim_turn *t,
                        struct sk_sim_answer *a)
{
    const struct sk_sim_script *sc = ud;
    const char *skill = sc && sc->skill_path ? sc->skill_path : SCRIPT_SKILL;
    const char *task = sc && sc->task_path ? sc->task_path : SCRIPT_TASK;
    const char *file = sc && sc->answer_file ? sc->answer_file : SCRIPT_ANSWER;
    struct sk_buf results, b;
    char key[128], task_id[128], pwd[1024];
    size_t i, n_calls = 0;
    int in_context = 0, rc = SK_ENOMEM;

    if (sc && sc->fail_status) {
        a->status = sc->fail_status;
        a->retry_after_s = 1;
        return 0;
    }
    sk_buf_init(&results, SK_BUF_UNLIMITED);
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    for (i = 0; i < t->n_items; i++) {
        const struct sk_sim_item *it = &t->items[i];
        if (it->kind == SK_SIM_ITEM_CALL)
            n_calls++;
        else if (it->kind == SK_SIM_ITEM_RESULT) {
            if (sk_buf_puts(&results, it->text) || sk_buf_putc(&results, '\n'))
                goto out;
        } else if ((it->kind == SK_SIM_ITEM_SYSTEM ||
                    it->kind == SK_SIM_ITEM_USER) &&
                   strstr(it->text, SCRIPT_KEY))
            in_context = 1;
    }
    word_after(sk_buf_cstr(&results), SCRIPT_KEY, key, sizeof(key));
    word_after(sk_buf_cstr(&results), SCRIPT_TASK_ID, task_id, sizeof(task_id));
    if (!*key)
        snprintf(key, sizeof(key), "none");
    if (n_calls == 0) {
        if (sk_buf_puts(&b, "pwd && cat -- ") || shell_quote(&b, skill) ||
            sk_buf_putc(&b, ' ') || shell_quote(&b, task))
            goto out;
        rc = sk_sim_answer_set_text(a, "I will read the skill and the task.");
        if (rc == 0)
            rc = script_shell(t, a, sk_buf_cstr(&b));
    } else if (n_calls == 1) {
        first_abs_line(sk_buf_cstr(&results), pwd, sizeof(pwd));
        rc = script_write(t, a, file, key, pwd);
    } else {
        if (sk_buf_printf(&b,
                          "Task %s: I followed %s and wrote %s.\n"
                          "skill-in-context: %s\n<answer>%s</answer>",
                          *task_id ? task_id : "unknown", skill, file,
                          in_context ? "yes" : "no", key))
            goto out;
        rc = sk_sim_answer_set_text(a, sk_buf_cstr(&b));
    }
out:
    sk_buf_release(&results);
    sk_buf_release(&b);
    return rc;
}
