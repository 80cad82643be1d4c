/*
 * spreadsheet.c - SpreadsheetBench (benchmarks.md 2): the target writes
 * Python that changes a workbook; the script runs in the sandbox on each
 * test case's input and the saved workbooks are compared with the
 * expected ones cell by cell (ssb_score.h).
 *
 * Modes (env.mode): "single" - one reply, its script is run; "multi" (the
 * default) - up to env.max_turns replies, an error or a missing script is
 * fed back, and in training (env.use_eval_feedback) so is which checked
 * cells are wrong, never their expected values; "react" - the target
 * writes files and runs scripts in a work directory with <file> and <run>
 * blocks until it replies with neither.  Every mode ends the same way:
 * the final script is run on every test case and each output compared.
 *
 * The episode records the verdicts in the row (cases, n_cases, n_pass...)
 * and writes solution.py and <case>_pred.xlsx into the item's predictions
 * directory; score() turns the verdicts into hard/soft.
 */
#include "common.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/benches.h"
#include "bench/convo.h"
#include "bench/ssb_exec.h"
#include "bench/ssb_preview.h"
#include "bench/ssb_score.h"
#include "config/config.h"
#include "sandbox/sandbox.h"
#include "train/prompt.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/log.h"
#include "xlsx/xlsx.h"

#define BENCH "spreadsheetbench"
#define DEFAULT_TURNS 30
#define REPORT_MAX 12000 /* characters of a verification report */

enum mode { MODE_SINGLE, MODE_MULTI, MODE_REACT };

/* What an item says, resolved. */
struct item {
    const char *id, *instruction, *itype;
    char *position; /* answer_position, "<answer_sheet>!" added when bare */
    char *task_dir;
    struct sk_ssb_cases cases;
};

static void item_release(struct item *it)
{
    sk_free(it->position);
    sk_free(it->task_dir);
    sk_ssb_cases_release(&it->cases);
    memset(it, 0, sizeof *it);
}

static const char *str_field(const json_t *item, const char *key)
{
    return json_string_value(json_object_get(item, key));
}

/* cell_level / sheet_level / other, from the instruction type. */
static const char *task_type(const char *itype)
{
    if (itype && strcasestr(itype, "cell"))
        return "cell_level";
    if (itype && strcasestr(itype, "sheet"))
        return "sheet_level";
    return "other";
}

static int mode_of(const struct sk_config *c, enum mode *m,
                   struct sk_error *err)
{
    const char *s = c && *c->mode ? c->mode : "multi";
    if (strcmp(s, "single") == 0)
        *m = MODE_SINGLE;
    else if (strcmp(s, "multi") == 0)
        *m = MODE_MULTI;
    else if (strcmp(s, "react") == 0)
        *m = MODE_REACT;
    else
        return sk_error_set(err, SK_ECONFIG,
                            "env.mode '%s': SpreadsheetBench knows single, "
                            "multi and react",
                            s);
    return SK_OK;
}

static long max_turns(const struct sk_config *c, enum mode m)
{
    if (m == MODE_SINGLE)
        return 1;
    return c && !c->is_null[SK_OPT_max_turns] ? (long)c->max_turns
                                              : DEFAULT_TURNS;
}

/*
 * Reads and resolves the item: instruction and answer_position are
 * required; the task directory is spreadsheet_path (default
 * "spreadsheet/<id>") under env.data_root unless absolute; its test cases
 * must exist.  SK_EDATA naming what is wrong.
 */
static int read_item(const json_t *item, const struct sk_config *c,
                     struct item *it, struct sk_error *err)
{
    const char *pos = str_field(item, "answer_position");
    const char *sheet = str_field(item, "answer_sheet");
    const char *sp = str_field(item, "spreadsheet_path");
    const char *root = c && *c->data_root ? c->data_root : ".";
    struct sk_buf b;
    int rc;

    memset(it, 0, sizeof *it);
    it->id = str_field(item, "id");
    it->instruction = str_field(item, "instruction");
    it->itype = str_field(item, "instruction_type");
    if (!it->id)
        return sk_error_set(err, SK_EDATA, "item without a string id");
    if (!it->instruction || !*it->instruction)
        return sk_error_set(err, SK_EDATA, "item %s: no instruction", it->id);
    if (!pos || !*pos)
        return sk_error_set(err, SK_EDATA,
                            "item %s: no answer_position (nothing could be "
                            "checked)",
                            it->id);
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    rc = sheet && *sheet && !strchr(pos, '!')
             ? sk_buf_printf(&b, "%s!%s", sheet, pos)
             : sk_buf_puts(&b, pos);
    if (rc == SK_OK && !(it->position = sk_buf_detach(&b, NULL)))
        rc = SK_ENOMEM;
    sk_buf_reset(&b);
    if (rc == SK_OK)
        rc = sp ? sk_buf_puts(&b, sp)
                : sk_buf_printf(&b, "spreadsheet/%s", it->id);
    if (rc == SK_OK && !(it->task_dir = sk_fs_join(root, sk_buf_cstr(&b))))
        rc = SK_ENOMEM;
    sk_buf_release(&b);
    if (rc != SK_OK) {
        item_release(it);
        return sk_error_set(err, rc, "out of memory");
    }
    if (!sk_fs_is_dir(it->task_dir)) {
        rc = sk_error_set(err, SK_EDATA,
                          "item %s: task directory %s not found (env.data_"
                          "root, spreadsheet_path)",
                          it->id, it->task_dir);
        item_release(it);
        return rc;
    }
    rc = sk_ssb_find_cases(it->task_dir, &it->cases, err);
    if (rc == SK_OK && it->cases.n == 0)
        rc = sk_error_set(err, SK_EDATA,
                          "item %s: no test cases in %s (*_input.xlsx + "
                          "*_answer.xlsx, *_init.xlsx + *_golden.xlsx, or "
                          "initial.xlsx + golden.xlsx)",
                          it->id, it->task_dir);
    if (rc != SK_OK)
        item_release(it);
    return rc;
}

static int render(const char *name, const struct sk_bench_ctx *ctx,
                  const struct sk_prompt_var *v, size_t n, char **out,
                  struct sk_error *err)
{
    return sk_bench_render(BENCH, name, ctx ? ctx->prompts_dir : NULL, v, n,
                           out, err);
}

static int build(const json_t *item, const char *skill,
                 const struct sk_bench_ctx *ctx, char **system, char **user,
                 struct sk_error *err)
{
    const struct sk_config *c = ctx ? ctx->cfg : NULL;
    struct item it;
    struct sk_buf sec, details, preview;
    struct sk_prompt_var v[3];
    char turns[32];
    enum mode m;
    int rc;

    *system = *user = NULL;
    rc = mode_of(c, &m, err);
    if (rc != SK_OK)
        return rc;
    rc = read_item(item, c, &it, err);
    if (rc != SK_OK)
        return rc;
    sk_buf_init(&sec, SK_BENCH_MAX_PROMPT);
    sk_buf_init(&details, SK_BENCH_MAX_PROMPT);
    sk_buf_init(&preview, SK_BENCH_MAX_PROMPT);
    rc = sk_bench_skill_section(skill, &sec);
    if (rc == SK_OK && it.itype && *it.itype)
        rc = sk_buf_printf(&details, "\nInstruction type: %s\n", it.itype);
    if (rc == SK_OK)
        rc = sk_buf_printf(&details, "%sChecked cells: %s\n",
                           details.len ? "" : "\n", it.position);
    if (rc != SK_OK) {
        sk_error_set(err, rc, "%s prompts: %s", BENCH, sk_strerror(rc));
        goto out;
    }
    rc = ssb_preview(it.cases.v[0].input, &preview, err);
    while (rc == SK_OK && preview.len && preview.data[preview.len - 1] == '\n')
        sk_buf_truncate(&preview, preview.len - 1);
    if (rc == SK_EDATA || rc == SK_ENOTFOUND || rc == SK_EIO) {
        /* an input workbook that cannot be read: this item fails */
        sk_error_set(err, SK_EDATA, "item %s: input workbook: %s", it.id,
                     err->msg);
        rc = SK_EDATA;
    }
    if (rc != SK_OK)
        goto out;
    snprintf(turns, sizeof turns, "%ld", max_turns(c, m));
    v[0] = sk_prompt_str("skill_section", sk_buf_cstr(&sec));
    v[1] = sk_prompt_str("max_turns", turns);
    rc = render(m == MODE_REACT ? "react_system" : "codegen_system", ctx, v, 2,
                system, err);
    if (rc != SK_OK)
        goto out;
    v[0] = sk_prompt_str("instruction", it.instruction);
    v[1] = sk_prompt_str("details", sk_buf_cstr(&details));
    v[2] = sk_prompt_str("preview", sk_buf_cstr(&preview));
    rc = render(m == MODE_REACT ? "react_user" : "rollout_user", ctx, v, 3,
                user, err);
out:
    if (rc != SK_OK) {
        sk_free(*system);
        *system = NULL;
    }
    item_release(&it);
    sk_buf_release(&sec);
    sk_buf_release(&details);
    sk_buf_release(&preview);
    return rc;
}

/* ---- checking the outputs ---------------------------------------------- */

/* The verdicts of one item's test cases. */
struct verdicts {
    json_t *cases; /* [{no, stage, ok, reason}] for the row */
    long n_pass, n_exec_pass;
    int exec_ok;
    char *fail_reason;  /* the first failure, for the row */
    struct sk_buf text; /* the verification turn */
};

/* Sets the item's fail_reason (the first failure only): prefix + text,
 * cut to 300 bytes. */
static int set_fail(struct verdicts *vd, const char *prefix, const char *text)
{
    struct sk_buf r;
    int rc;
    if (vd->fail_reason)
        return SK_OK;
    sk_buf_init(&r, SK_BUF_UNLIMITED);
    rc = sk_buf_puts(&r, prefix);
    if (rc == SK_OK && text)
        rc = sk_buf_puts(&r, text);
    if (rc == SK_OK && r.len > 300) {
        /* cut, as the reference cuts its reasons, at a character */
        size_t n = 300;
        while (n > 0 && ((unsigned char)r.data[n] & 0xC0) == 0x80)
            n--;
        sk_buf_truncate(&r, n);
    }
    vd->fail_reason = rc == SK_OK ? sk_buf_detach(&r, NULL) : NULL;
    sk_buf_release(&r);
    return vd->fail_reason ? SK_OK : SK_ENOMEM;
}

/* The last line of a script's output (a traceback's exception line). */
static char *last_line(const char *out)
{
    const char *e = out + strlen(out), *s;
    while (e > out && (e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\r'))
        e--;
    for (s = e; s > out && s[-1] != '\n'; s--)
        ;
    return sk_strndup(s, (size_t)(e - s) > 200 ? 200 : (size_t)(e - s));
}

/* Records a case whose script did not produce a workbook. */
static int case_not_run(struct verdicts *vd, const char *no, const char *stage,
                        const char *why, const char *output)
{
    char *tail = output ? last_line(output) : NULL;
    int rc = SK_ENOMEM;

    vd->exec_ok = 0;
    if (json_array_append_new(vd->cases, json_pack("{s:s, s:s, s:b, s:s}", "no",
                                                   no, "stage", stage, "ok", 0,
                                                   "reason", why)) != 0)
        goto out;
    if (strcmp(stage, "extract") == 0)
        rc = set_fail(vd, "empty-code-block", NULL);
    else
        rc = set_fail(vd, "exec-error: ", why);
    if (rc == SK_OK && tail && *tail && vd->fail_reason &&
        !strstr(vd->fail_reason, tail)) {
        /* append the exception line once: "exec-error: how: line" */
        struct sk_buf r;
        sk_buf_init(&r, 400);
        if (sk_buf_printf(&r, "%s: %s", vd->fail_reason, tail) != SK_ENOMEM) {
            sk_free(vd->fail_reason);
            vd->fail_reason = sk_buf_detach(&r, NULL);
        }
        sk_buf_release(&r);
        if (!vd->fail_reason)
            goto out;
    }
    rc = sk_buf_printf(&vd->text, "## Case %s: FAIL (%s)\n", no, why);
    if (rc == SK_OK && output && *output)
        rc = sk_buf_printf(&vd->text, "Script output (the end):\n%s\n", output);
    if (rc == SK_OK)
        rc = sk_buf_putc(&vd->text, '\n');
out:
    sk_free(tail);
    return rc;
}

/*
 * Compares the case's saved workbook pred with its expected one; the
 * per-cell report goes into the verification turn in training only.
 */
static int case_compare(struct verdicts *vd, const struct item *it,
                        const struct sk_ssb_case *cs, const char *pred,
                        int train, struct sk_error *err)
{
    struct sk_ssb_case_result r;
    int rc;

    vd->n_exec_pass++;
    rc = sk_ssb_compare(cs->answer, pred, it->position, NULL, &r, err);
    if (rc != SK_OK)
        return rc; /* the expected workbook is unreadable: the data's fault */
    vd->n_pass += r.pass;
    rc = SK_ENOMEM;
    if (json_array_append_new(vd->cases,
                              json_pack("{s:s, s:s, s:b, s:s}", "no", cs->no,
                                        "stage", "eval", "ok", r.pass, "reason",
                                        r.reason ? r.reason : "")) != 0)
        goto out;
    if (!r.pass && set_fail(vd, "eval-mismatch: ", r.reason) != SK_OK)
        goto out;
    rc = sk_buf_printf(&vd->text, "## Case %s: %s\n", cs->no,
                       r.pass ? "PASS" : "FAIL");
    if (rc == SK_OK && train)
        rc = sk_ssb_report(&r, 1, REPORT_MAX, &vd->text);
    if (rc == SK_OK)
        rc = sk_buf_putc(&vd->text, '\n');
out:
    sk_ssb_case_result_release(&r);
    if (rc != SK_OK)
        sk_error_set(err, rc, "out of memory");
    return rc;
}

/* "<item_dir>/<no>_pred.xlsx", new string. */
static char *pred_path(const struct sk_bench_episode *ep, const char *no)
{
    struct sk_buf b;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (sk_buf_printf(&b, "%s/%s_pred.xlsx", ep->item_dir, no) != SK_OK) {
        sk_buf_release(&b);
        return NULL;
    }
    return sk_buf_detach(&b, NULL);
}

/*
 * Runs code on every case but the first when first_done (its output is
 * already at its pred path; first_fail says why it is not when it is not)
 * and checks each output.
 */
static int check_all(struct sk_bench_episode *ep,
                     const struct sk_bench_ctx *ctx, const struct item *it,
                     const struct ssb_exec_opts *xo, const char *code,
                     int first_done, const struct ssb_exec_result *first,
                     struct verdicts *vd, struct sk_error *err)
{
    size_t k;
    int rc = SK_OK;

    for (k = 0; rc == SK_OK && k < it->cases.n; k++) {
        const struct sk_ssb_case *cs = &it->cases.v[k];
        struct ssb_exec_result xr;
        const struct ssb_exec_result *res = &xr;
        char *pred = pred_path(ep, cs->no);

        ssb_exec_result_init(&xr);
        if (!pred)
            return sk_error_set(err, SK_ENOMEM, "out of memory");
        if (k == 0 && first_done) {
            res = first;
        } else if (!code || !*code) {
            rc = case_not_run(vd, cs->no, "extract", "the reply held no script",
                              NULL);
            sk_free(pred);
            continue;
        } else {
            rc = ssb_exec_run(xo, code, cs->input, pred, &xr, err);
        }
        if (rc == SK_OK && !res->ok)
            rc = case_not_run(vd, cs->no, "exec",
                              res->how ? res->how : "no workbook was saved",
                              res->output);
        else if (rc == SK_OK)
            rc = case_compare(vd, it, cs, pred, ctx->train, err);
        ssb_exec_result_release(&xr);
        sk_free(pred);
    }
    return rc;
}

/* Puts the verdicts into the row and the episode's verification turn. */
static int finish(struct sk_bench_episode *ep, const struct item *it,
                  const char *code, struct verdicts *vd)
{
    json_t *row = ep->row;
    int rc = SK_ENOMEM;

    if (json_object_set(row, "cases", vd->cases) ||
        json_object_set_new(row, "n_cases",
                            json_integer((json_int_t)it->cases.n)) ||
        json_object_set_new(row, "n_pass", json_integer(vd->n_pass)) ||
        json_object_set_new(row, "n_exec_pass",
                            json_integer(vd->n_exec_pass)) ||
        json_object_set_new(row, "exec_ok", json_boolean(vd->exec_ok)) ||
        json_object_set_new(row, "code_ok", json_boolean(code && *code)) ||
        json_object_set_new(row, "instruction_type",
                            json_string(it->itype ? it->itype : "")) ||
        json_object_set_new(row, "question", json_string(it->instruction)) ||
        json_object_set_new(row, "task_description",
                            json_string(it->instruction)) ||
        json_object_set_new(
            row, "fail_reason",
            json_string(vd->fail_reason ? vd->fail_reason : "")))
        return rc;
    if (code && *code) {
        char *p = sk_fs_join(ep->item_dir, "solution.py");
        struct sk_error e;
        if (!p)
            return rc;
        if (sk_fs_write_atomic_nosync(p, code, strlen(code), &e) != SK_OK)
            sk_warn("%s", e.msg);
        sk_free(p);
    }
    ep->verification = sk_buf_detach(&vd->text, NULL);
    return ep->verification ? SK_OK : rc;
}

/* ---- the target's turns ------------------------------------------------- */

static int push_turn(json_t *turns, json_t *t)
{
    return t && json_array_append_new(turns, t) == 0 ? SK_OK : SK_ENOMEM;
}

/* Renders a feedback template into a new user message on cv and turns. */
static int feedback(const struct sk_bench_ctx *ctx, struct sk_convo *cv,
                    json_t *turns, const char *name,
                    const struct sk_prompt_var *v, size_t n,
                    struct sk_error *err)
{
    char *msg = NULL;
    int rc = render(name, ctx, v, n, &msg, err);
    if (rc != SK_OK)
        return rc;
    rc = push_turn(turns,
                   json_pack("{s:s, s:s}", "role", "user", "content", msg));
    if (rc == SK_OK)
        return sk_convo_push(cv, "user", msg);
    sk_free(msg);
    return sk_error_set(err, rc, "out of memory");
}

/*
 * single / multi: ask, extract the script, run it on case 1; feed back a
 * missing script, a failure, or (training with use_eval_feedback) the
 * wrong cells.  *code gets the last script, *first the last run on case 1
 * (its output at case 1's pred path when ok); *ran tells whether it ran.
 */
static int codegen(struct sk_bench_episode *ep, const struct sk_bench_ctx *ctx,
                   const struct item *it, enum mode m,
                   const struct ssb_exec_opts *xo, char **code, int *ran,
                   struct ssb_exec_result *first, struct sk_error *err)
{
    const struct sk_config *c = ctx->cfg;
    const struct sk_ssb_case *cs = &it->cases.v[0];
    long turn, max = max_turns(c, m);
    int check = m == MODE_MULTI && ctx->train && (!c || c->use_eval_feedback);
    struct sk_convo cv;
    char *pred = pred_path(ep, cs->no), *text = NULL, *fresh = NULL;
    int rc;

    memset(&cv, 0, sizeof cv);
    *ran = 0;
    if (!pred)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    rc = sk_convo_push_copy(&cv, "user", ep->user);
    for (turn = 1; rc == SK_OK && turn <= max; turn++) {
        struct sk_prompt_var v[2];
        rc = sk_convo_ask(ep->client, ep->system, &cv, ep->max_tokens, &text,
                          it->id, turn, err);
        if (rc != SK_OK)
            break;
        rc = push_turn(ep->turns,
                       json_pack("{s:s, s:I, s:s}", "role", "assistant", "turn",
                                 (json_int_t)turn, "content", text));
        if (rc == SK_OK)
            rc = ssb_extract_code(text, &fresh);
        if (rc == SK_OK)
            rc = sk_convo_push(&cv, "assistant", text);
        else
            sk_free(text);
        text = NULL;
        if (rc != SK_OK) {
            sk_error_set(err, rc, "out of memory");
            break;
        }
        if (!*fresh) {
            sk_free(fresh);
            fresh = NULL;
            if (turn < max)
                rc = feedback(ctx, &cv, ep->turns, "feedback_no_code", NULL, 0,
                              err);
            continue;
        }
        sk_free(*code);
        *code = fresh;
        fresh = NULL;
        ssb_exec_result_release(first);
        rc = ssb_exec_run(xo, *code, cs->input, pred, first, err);
        if (rc != SK_OK)
            break;
        *ran = 1;
        if (!first->ok) {
            if (turn == max)
                break;
            v[0] = sk_prompt_str("how", first->how ? first->how : "");
            v[1] = sk_prompt_str("output", first->output ? first->output : "");
            rc = feedback(ctx, &cv, ep->turns, "feedback_error", v, 2, err);
            continue;
        }
        if (!check || turn == max)
            break; /* evaluation: the first run that saves a workbook */
        {
            /* training: is it right?  The target learns which cells are
             * wrong, never what they should hold */
            struct sk_ssb_case_result r;
            struct sk_buf rep;
            rc = sk_ssb_compare(cs->answer, pred, it->position, NULL, &r, err);
            if (rc != SK_OK)
                break;
            if (r.pass) {
                sk_ssb_case_result_release(&r);
                break;
            }
            sk_buf_init(&rep, SK_BENCH_MAX_PROMPT);
            rc = sk_ssb_report(&r, 0, REPORT_MAX, &rep);
            sk_ssb_case_result_release(&r);
            if (rc == SK_OK) {
                v[0] = sk_prompt_str("report", sk_buf_cstr(&rep));
                rc = feedback(ctx, &cv, ep->turns, "feedback_wrong", v, 1, err);
            } else {
                sk_error_set(err, rc, "out of memory");
            }
            sk_buf_release(&rep);
        }
    }
    sk_free(fresh);
    sk_free(pred);
    sk_convo_release(&cv);
    return rc;
}

/* ---- react: files and runs --------------------------------------------- */

enum action { ACT_NONE, ACT_FILE, ACT_RUN, ACT_BAD };

/*
 * The next action block of a reply at or after *pos: <file path="P">body
 * </file> (one newline after the opening tag and one before the closing
 * tag are not part of the body) or <run>P</run>.  *arg and *body are new
 * strings (body NULL for a run).  ACT_BAD for an unclosed or malformed
 * block (*arg says what), ACT_NONE when there is no more.
 */
static enum action next_action(const char *text, size_t *pos, char **arg,
                               char **body)
{
    const char *p = text + *pos, *f = strstr(p, "<file path=\""),
               *r = strstr(p, "<run>"), *q, *e;

    *arg = *body = NULL;
    if (!f && !r)
        return ACT_NONE;
    if (r && (!f || r < f)) {
        q = r + 5;
        e = strstr(q, "</run>");
        if (!e) {
            *pos = strlen(text);
            *arg = sk_strdup("a <run> block has no closing </run>");
            return ACT_BAD;
        }
        *pos = (size_t)(e + 6 - text);
        while (q < e && (*q == ' ' || *q == '\n' || *q == '\t'))
            q++;
        while (e > q && (e[-1] == ' ' || e[-1] == '\n' || e[-1] == '\t'))
            e--;
        *arg = sk_strndup(q, (size_t)(e - q));
        return ACT_RUN;
    }
    q = f + 12;
    e = strchr(q, '"');
    if (!e || e[1] != '>') {
        *pos = (size_t)(q - text);
        *arg = sk_strdup("a <file> tag must be written <file path=\"NAME\">");
        return ACT_BAD;
    }
    *arg = sk_strndup(q, (size_t)(e - q));
    q = e + 2;
    if (*q == '\n')
        q++;
    e = strstr(q, "</file>");
    if (!e) {
        sk_free(*arg);
        *pos = strlen(text);
        *arg = sk_strdup("a <file> block has no closing </file>");
        return ACT_BAD;
    }
    *pos = (size_t)(e + 7 - text);
    *body = sk_strndup(q, (size_t)(e - q));
    return ACT_FILE;
}

/*
 * Tells the model about formula cells of the workbook at path that have no
 * saved value (the checker reads them as empty), at most 5 named.
 */
static int formula_note(const char *path, struct sk_buf *out)
{
    struct sk_xlsx *x = NULL;
    struct sk_error e;
    size_t i, k, n = 0;
    int rc = SK_OK;

    if (sk_xlsx_open(path, NULL, &x, &e) != SK_OK)
        return sk_buf_printf(out, "check: output.xlsx cannot be read: %s\n",
                             e.msg);
    for (i = 0; rc == SK_OK && i < sk_xlsx_sheet_count(x); i++) {
        if (sk_xlsx_sheet_load(x, i, &e) != SK_OK)
            continue;
        for (k = 0; rc == SK_OK && k < sk_xlsx_cell_count(x, i); k++) {
            struct sk_xlsx_value v;
            int64_t r, c;
            char col[8];
            if (sk_xlsx_cell_at(x, i, k, &r, &c, &v) != SK_OK ||
                !v.has_formula || v.kind != SK_XLSX_NONE)
                continue;
            if (++n > 5)
                continue;
            sk_xlsx_col_name(c, col);
            rc = sk_buf_printf(out, "%s%s!%s%lld",
                               n == 1 ? "check: formulas with no saved value "
                                        "(the checker sees them as empty): "
                                      : ", ",
                               sk_xlsx_sheet_name(x, i), col, (long long)r);
        }
    }
    if (rc == SK_OK && n > 5)
        rc = sk_buf_printf(out, " and %zu more", n - 5);
    if (rc == SK_OK && n)
        rc = sk_buf_putc(out, '\n');
    sk_xlsx_free(x);
    return rc;
}

/* Runs script in the work directory and describes the outcome to out. */
static int react_run(struct ssb_workdir *w, const struct ssb_exec_opts *xo,
                     const char *script, struct sk_buf *out,
                     struct sk_error *err)
{
    struct ssb_exec_result xr;
    struct sk_error e;
    int rc = ssb_workdir_run(w, xo, script, &xr, &e);

    if (rc == SK_EINVAL)
        return sk_buf_printf(out, "refused: %s\n", e.msg);
    if (rc != SK_OK) {
        *err = e;
        return rc;
    }
    if (xr.ok)
        rc = sk_buf_puts(out, "exit status 0; output.xlsx saved\n");
    else
        rc = sk_buf_printf(out, "did not succeed: %s\n",
                           xr.how ? xr.how : "unknown");
    if (rc == SK_OK && xr.output && *xr.output)
        rc = sk_buf_printf(out, "output (the end):\n%s\n", xr.output);
    if (rc == SK_OK && xr.ok) {
        /* what a checker would see: formulas with no value read as empty */
        char *p = sk_fs_join(w->path, "output.xlsx");
        rc = p ? formula_note(p, out) : SK_ENOMEM;
        sk_free(p);
    }
    ssb_exec_result_release(&xr);
    return rc;
}

/*
 * react: the target writes files and runs scripts in one work directory
 * holding case 1's input until a reply has no block.  Case 1's output is
 * the work directory's output.xlsx; *code gets solution.py's text.
 */
static int react(struct sk_bench_episode *ep, const struct sk_bench_ctx *ctx,
                 const struct item *it, const struct ssb_exec_opts *xo,
                 char **code, int *ran, struct ssb_exec_result *first,
                 struct sk_error *err)
{
    const struct sk_ssb_case *cs = &it->cases.v[0];
    long turn, max = max_turns(ctx->cfg, MODE_REACT);
    struct ssb_workdir w;
    struct sk_convo cv;
    struct sk_buf obs;
    char *text = NULL, *p = NULL, *pred = pred_path(ep, cs->no);
    int rc;

    memset(&cv, 0, sizeof cv);
    *ran = 0;
    if (!pred)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    rc = ssb_workdir_open(&w, cs->input, err);
    if (rc != SK_OK) {
        sk_free(pred);
        return rc;
    }
    sk_buf_init(&obs, SK_BENCH_MAX_PROMPT);
    rc = sk_convo_push_copy(&cv, "user", ep->user);
    for (turn = 1; rc == SK_OK && turn <= max; turn++) {
        size_t pos = 0;
        int acted = 0;
        enum action a;
        char *arg, *body;
        rc = sk_convo_ask(ep->client, ep->system, &cv, ep->max_tokens, &text,
                          it->id, turn, err);
        if (rc != SK_OK)
            break;
        rc = push_turn(ep->turns,
                       json_pack("{s:s, s:I, s:s}", "role", "assistant", "turn",
                                 (json_int_t)turn, "content", text));
        sk_buf_reset(&obs);
        while (rc == SK_OK &&
               (a = next_action(text, &pos, &arg, &body)) != ACT_NONE) {
            struct sk_buf one;
            struct sk_error e;
            acted = 1;
            sk_buf_init(&one, SK_BUF_UNLIMITED);
            if (a == ACT_BAD) {
                rc = sk_buf_printf(&one, "error: %s\n", arg ? arg : "");
            } else if (a == ACT_FILE) {
                int wr = ssb_workdir_write(&w, arg, body, strlen(body), &e);
                rc = wr == SK_OK ? sk_buf_printf(&one, "wrote %s (%zu bytes)\n",
                                                 arg, strlen(body))
                     : wr == SK_EINVAL
                         ? sk_buf_printf(&one, "refused: %s\n", e.msg)
                         : (*err = e, wr);
            } else {
                rc = react_run(&w, xo, arg, &one, err);
            }
            if (rc == SK_OK)
                rc = push_turn(ep->turns,
                               json_pack("{s:s, s:s, s:s}", "type", "tool_call",
                                         "cmd",
                                         a == ACT_RUN    ? arg
                                         : a == ACT_FILE ? "write_file"
                                                         : "?",
                                         "obs", sk_buf_cstr(&one)));
            if (rc == SK_OK)
                rc = sk_buf_printf(&obs, "[%s %s]\n%s\n",
                                   a == ACT_RUN    ? "run"
                                   : a == ACT_FILE ? "file"
                                                   : "block",
                                   a == ACT_BAD ? "" : arg, sk_buf_cstr(&one));
            sk_buf_release(&one);
            sk_free(arg);
            sk_free(body);
        }
        if (rc == SK_OK) {
            rc = sk_convo_push(&cv, "assistant", text);
            text = NULL;
        }
        if (rc != SK_OK || !acted)
            break; /* a reply with no block finishes */
        if (turn == max)
            rc = sk_buf_puts(&obs, "That was your last reply.\n");
        if (rc == SK_OK)
            rc = sk_convo_push_copy(&cv, "user", sk_buf_cstr(&obs));
    }
    sk_free(text);
    /* what the work directory holds at the end is the answer */
    if (rc == SK_OK) {
        struct sk_buf src;
        struct sk_error e;
        sk_buf_init(&src, 4u << 20);
        p = sk_fs_join(w.path, "solution.py");
        if (p && sk_fs_read(p, 4u << 20, &src, &e) == SK_OK)
            *code = sk_buf_detach(&src, NULL);
        sk_buf_release(&src);
        sk_free(p);
        p = sk_fs_join(w.path, "output.xlsx");
        unlink(pred);
        *ran = 1;
        if (p && sk_fs_copy(p, pred, SSB_MAX_WORKBOOK, &e) == SK_OK) {
            first->ok = 1;
        } else {
            first->ok = 0;
            first->how = sk_strdup("the work directory held no output.xlsx "
                                   "when the episode ended");
        }
    }
    sk_free(p);
    sk_free(pred);
    sk_buf_release(&obs);
    sk_convo_release(&cv);
    ssb_workdir_close(&w);
    return rc;
}

/* ---- the benchmark's callbacks ------------------------------------------ */

static int episode(struct sk_bench_episode *ep, const struct sk_bench_ctx *ctx,
                   struct sk_error *err)
{
    const struct sk_config *c = ctx->cfg;
    struct ssb_exec_opts xo;
    struct ssb_exec_result first;
    struct verdicts vd;
    struct item it;
    char *code = NULL;
    enum mode m;
    int rc, ran = 0;

    memset(&vd, 0, sizeof vd);
    ssb_exec_result_init(&first);
    rc = mode_of(c, &m, err);
    if (rc != SK_OK)
        return rc;
    rc = read_item(ep->item, c, &it, err);
    if (rc != SK_OK)
        return rc;
    ssb_exec_opts_from_config(&xo, c);
    vd.exec_ok = 1;
    vd.cases = json_array();
    sk_buf_init(&vd.text, SK_BENCH_MAX_PROMPT);
    ep->turns = json_array();
    if (!vd.cases || !ep->turns) {
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto out;
    }
    rc = m == MODE_REACT
             ? react(ep, ctx, &it, &xo, &code, &ran, &first, err)
             : codegen(ep, ctx, &it, m, &xo, &code, &ran, &first, err);
    if (rc == SK_OK)
        rc = check_all(ep, ctx, &it, &xo, code, ran, &first, &vd, err);
    if (rc == SK_OK)
        rc = finish(ep, &it, code, &vd);
    if (rc == SK_OK) {
        /* the final reply, for the row's response */
        size_t n = json_array_size(ep->turns);
        const char *last = NULL;
        while (n-- > 0 && !last) {
            json_t *t = json_array_get(ep->turns, n);
            const char *role = str_field(t, "role");
            if (role && strcmp(role, "assistant") == 0)
                last = str_field(t, "content");
        }
        ep->final = sk_strdup(last ? last : "");
        if (!ep->final)
            rc = sk_error_set(err, SK_ENOMEM, "out of memory");
    }
    if (rc == SK_ENOMEM || rc == SK_ETOOBIG)
        sk_error_set(err, rc, "item %s: %s", it.id, sk_strerror(rc));
out:
    ssb_exec_result_release(&first);
    json_decref(vd.cases);
    sk_free(vd.fail_reason);
    sk_buf_release(&vd.text);
    sk_free(code);
    item_release(&it);
    return rc;
}

/* hard/soft from the verdicts the episode left in the row. */
static int score(const json_t *item, const char *response,
                 const struct sk_bench_ctx *ctx, json_t *result,
                 struct sk_error *err)
{
    json_int_t n = json_integer_value(json_object_get(result, "n_cases"));
    json_int_t pass = json_integer_value(json_object_get(result, "n_pass"));
    int hard = n > 0 && pass == n;
    double soft = n > 0 ? (double)pass / (double)n : 0.0;
    const char *itype = str_field(item, "instruction_type");

    (void)response;
    (void)ctx;
    if (!json_is_array(json_object_get(result, "cases")))
        return sk_error_set(err, SK_EINVAL,
                            "spreadsheetbench scores only its own episodes");
    if (json_object_set_new(result, "hard", json_integer(hard)) ||
        json_object_set_new(result, "soft", json_real(soft)) ||
        json_object_set_new(result, "em", json_real(hard)) ||
        json_object_set_new(result, "f1", json_real(soft)) ||
        json_object_set_new(result, "task_type",
                            json_string(task_type(itype))) ||
        (hard && json_object_set_new(result, "fail_reason", json_string(""))))
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    return SK_OK;
}

/* Can model code run here: a sandbox (unless unsafe) with the interpreter
 * and openpyxl in it?  Checked once per process and configuration. */
static int preflight(const struct sk_bench *self, const struct sk_config *c,
                     struct sk_error *err)
{
    struct ssb_exec_opts xo;
    struct sk_sandbox_opts so;
    struct sk_sandbox_result r;
    char dir[] = "/tmp/skillopt-preflight-XXXXXX";
    const char *argv[4];
    enum mode m;
    int rc = mode_of(c, &m, err);

    (void)self;
    if (rc != SK_OK)
        return rc;
    ssb_exec_opts_from_config(&xo, c);
    if (!xo.unsafe && (rc = sk_sandbox_probe(xo.bwrap, err)) != SK_OK)
        return sk_error_set(err, SK_ECONFIG,
                            "SpreadsheetBench runs model-written code only in "
                            "a sandbox, and none can be made here: %s",
                            err->msg);
    if (!mkdtemp(dir))
        return sk_error_set(err, SK_ECONFIG, "cannot make %s", dir);
    argv[0] = xo.python;
    argv[1] = "-c";
    argv[2] = "import openpyxl";
    argv[3] = NULL;
    memset(&so, 0, sizeof so);
    so.workdir = dir;
    so.argv = argv;
    so.timeout_s = 60;
    so.unsafe = xo.unsafe;
    so.mem_mb = xo.mem_mb;
    so.nproc = xo.nproc;
    sk_sandbox_result_init(&r);
    rc = sk_sandbox_run(&so, &r, err);
    if (rc == SK_OK && !(r.exited && r.exit_code == 0))
        rc = sk_error_set(err, SK_ECONFIG,
                          "env.python %s cannot import openpyxl%s: %.300s "
                          "(install python3-openpyxl, or set env.python to an "
                          "interpreter that has it)",
                          xo.python, xo.unsafe ? "" : " inside the sandbox",
                          r.errout && *r.errout ? r.errout : "no message");
    else if (rc != SK_OK)
        rc = sk_error_set(err, SK_ECONFIG, "sandbox: %s", err->msg);
    sk_sandbox_result_release(&r);
    {
        struct sk_error e;
        sk_fs_rmtree(dir, &e);
    }
    return rc;
}

const struct sk_bench sk_bench_spreadsheet = {.name = BENCH,
                                              .build = build,
                                              .score = score,
                                              .episode = episode,
                                              .preflight = preflight};
