/*
 * workspace.c - the fresh directory an agent CLI works in (agent.h): the
 * task's files, the skill where the harness reads it, task.md.  Paths that
 * would leave the workspace are refused before anything is written, and a
 * directory is only ever removed if this module made it.
 */
#include "common.h"

#include "agent/agent.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"

/* Present in every workspace we make: it may be removed and remade. */
#define MARKER ".skillopt-workspace"
#define TASK_FILE "task.md"
#define DEFAULT_NAME "skillopt-target"
#define DEFAULT_DESCRIPTION                                                    \
    "Guidance for the tasks in this workspace, learned by skillopt. Read it "  \
    "and follow it before you start a task."
#define MAX_FILE ((size_t)1 << 30)
#define MAX_DESCRIPTION 1024

static int valid_skill_name(const char *n)
{
    size_t i, len = strlen(n);
    if (len == 0 || len > 64)
        return 0;
    for (i = 0; i < len; i++)
        if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= '0' && n[i] <= '9') ||
              n[i] == '-'))
            return 0;
    return 1;
}

char *sk_agent_skill_relpath(enum sk_agent_skill_place place, const char *name)
{
    struct sk_buf b;
    int rc;
    if (!name)
        name = DEFAULT_NAME;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    switch (place) {
    case SK_AGENT_SKILL_AGENTS_MD:
        rc = sk_buf_puts(&b, "AGENTS.md");
        break;
    case SK_AGENT_SKILL_CLAUDE_MD:
        rc = sk_buf_puts(&b, "CLAUDE.md");
        break;
    case SK_AGENT_SKILL_CLAUDE_DIR:
        rc = sk_buf_printf(&b, ".claude/skills/%s/SKILL.md", name);
        break;
    default:
        rc = sk_buf_printf(&b, ".agents/skills/%s/SKILL.md", name);
        break;
    }
    if (rc != SK_OK) {
        sk_buf_release(&b);
        return NULL;
    }
    return sk_buf_detach(&b, NULL);
}

/* A relative path that stays inside the workspace, normalised (new
 * string in *out), or SK_EINVAL. */
static int inside(const char *rel, char **out, struct sk_error *err)
{
    char *n;
    *out = NULL;
    if (!rel || !*rel || rel[0] == '/')
        return sk_error_set(err, SK_EINVAL,
                            "workspace file '%s': not a relative path",
                            rel ? rel : "");
    if (!(n = sk_fs_normalize(rel)))
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0 ||
        strncmp(n, "../", 3) == 0 || n[0] == '/') {
        sk_free(n);
        return sk_error_set(err, SK_EINVAL,
                            "workspace file '%s' would be outside the "
                            "workspace",
                            rel);
    }
    *out = n;
    return SK_OK;
}

/* 1 if dir has no entries, 0 if it has, -1 if it cannot be read. */
static int dir_empty(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int empty = 1;
    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            empty = 0;
            break;
        }
    closedir(d);
    return empty;
}

/* Removes an old workspace at ws, if it is ours (or empty). */
static int clear_old(const char *ws, struct sk_error *err)
{
    struct stat st;
    char *marker;
    int ours;
    if (lstat(ws, &st) != 0)
        return errno == ENOENT
                   ? SK_OK
                   : sk_error_set(err, SK_EIO, "%s: %s", ws, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return sk_error_set(err, SK_EINVAL,
                            "%s exists and is not a workspace directory", ws);
    if (!(marker = sk_fs_join(ws, MARKER)))
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    ours = lstat(marker, &st) == 0 && S_ISREG(st.st_mode);
    sk_free(marker);
    if (!ours && dir_empty(ws) != 1)
        return sk_error_set(err, SK_EINVAL,
                            "%s exists and was not made by skillopt; "
                            "not removing it",
                            ws);
    return sk_fs_rmtree(ws, err);
}

/* Writes text to ws/rel, creating its directories. */
static int write_rel(const char *ws, const char *rel, const char *text,
                     size_t len, struct sk_error *err)
{
    char *path = sk_fs_join(ws, rel), *dir = NULL;
    int rc;
    if (!path || !(dir = sk_fs_dirname(path))) {
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = sk_fs_mkdirs(dir, err)) == SK_OK)
        rc = sk_fs_write_atomic_nosync(path, text, len, err);
out:
    sk_free(dir);
    sk_free(path);
    return rc;
}

/* description as one YAML double-quoted scalar. */
static int put_quoted(struct sk_buf *b, const char *s)
{
    size_t n = 0;
    int rc = sk_buf_putc(b, '"');
    for (; rc == SK_OK && *s && n < MAX_DESCRIPTION; s++, n++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            rc = sk_buf_putc(b, '\\') ? SK_ENOMEM : sk_buf_putc(b, (char)c);
        else if (c < 0x20)
            rc = sk_buf_putc(b, ' '); /* one line, no control characters */
        else if (n + 1 == MAX_DESCRIPTION && (c & 0xC0) == 0xC0)
            break; /* do not cut a UTF-8 sequence at the limit */
        else
            rc = sk_buf_putc(b, (char)c);
    }
    /* finish a multi-byte character started before the limit */
    for (; rc == SK_OK && ((unsigned char)*s & 0xC0) == 0x80; s++)
        rc = sk_buf_putc(b, *s);
    return rc == SK_OK ? sk_buf_putc(b, '"') : rc;
}

static int write_skill(const char *ws, const struct sk_agent_task *t,
                       struct sk_error *err)
{
    const char *name = t->skill_name ? t->skill_name : DEFAULT_NAME;
    char *rel = sk_agent_skill_relpath(t->place, name);
    struct sk_buf b;
    int rc = SK_OK;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (!rel) {
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto out;
    }
    if (t->place == SK_AGENT_SKILL_AGENTS_DIR ||
        t->place == SK_AGENT_SKILL_CLAUDE_DIR) {
        /* the harnesses list a skill by its front matter */
        if (sk_buf_printf(&b, "---\nname: %s\ndescription: ", name) ||
            put_quoted(&b, t->skill_description ? t->skill_description
                                                : DEFAULT_DESCRIPTION) ||
            sk_buf_puts(&b, "\n---\n\n"))
            rc = sk_error_set(err, SK_ENOMEM, "out of memory");
    }
    if (rc == SK_OK && sk_buf_puts(&b, t->skill) != SK_OK)
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
    if (rc == SK_OK && (b.len == 0 || b.data[b.len - 1] != '\n') &&
        sk_buf_putc(&b, '\n') != SK_OK)
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
    if (rc == SK_OK)
        rc = write_rel(ws, rel, b.data, b.len, err);
out:
    sk_buf_release(&b);
    sk_free(rel);
    return rc;
}

/* Checks every destination before anything is written. */
static int check_task(const struct sk_agent_task *t, struct sk_error *err)
{
    char *skill_rel = NULL, *n = NULL;
    size_t i;
    int rc = SK_OK;
    if (!t || !t->text)
        return sk_error_set(err, SK_EINVAL, "agent task has no text");
    if ((unsigned)t->place >= SK_AGENT_SKILL_PLACE_COUNT)
        return sk_error_set(err, SK_EINVAL, "unknown skill placement %d",
                            (int)t->place);
    if (t->skill_name && !valid_skill_name(t->skill_name))
        return sk_error_set(err, SK_EINVAL,
                            "skill name '%s': use 1-64 lowercase letters, "
                            "digits and hyphens",
                            t->skill_name);
    if (t->skill && *t->skill &&
        !(skill_rel = sk_agent_skill_relpath(t->place, t->skill_name)))
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    for (i = 0; i < t->n_files && rc == SK_OK; i++) {
        if ((rc = inside(t->files[i].dst, &n, err)) != SK_OK)
            break;
        if (strcmp(n, TASK_FILE) == 0 || strcmp(n, MARKER) == 0 ||
            (skill_rel && strcmp(n, skill_rel) == 0))
            rc = sk_error_set(
                err, SK_EINVAL, "workspace file '%s' would replace %s", n,
                strcmp(n, TASK_FILE) == 0 || strcmp(n, MARKER) == 0
                    ? n
                    : "the skill file");
        else if (!t->files[i].src)
            rc = sk_error_set(err, SK_EINVAL,
                              "workspace file '%s' has no "
                              "source",
                              n);
        sk_free(n);
        n = NULL;
    }
    sk_free(skill_rel);
    return rc;
}

static int copy_in(const char *ws, const struct sk_agent_file *f,
                   struct sk_error *err)
{
    char *rel = NULL, *dst = NULL, *dir = NULL, *src = NULL;
    int rc = inside(f->dst, &rel, err);
    if (rc != SK_OK)
        return rc;
    if (!(dst = sk_fs_join(ws, rel)) || !(dir = sk_fs_dirname(dst))) {
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto out;
    }
    /* the caller names the source: a link it chose is followed once here
     * (the copy itself never follows one) */
    src = realpath(f->src, NULL);
    if (!src) {
        rc = errno == ENOENT
                 ? sk_error_set(err, SK_ENOTFOUND, "%s: no such file", f->src)
             : errno == ENOMEM
                 ? sk_error_set(err, SK_ENOMEM, "out of memory")
                 : sk_error_set(err, SK_EIO, "%s: %s", f->src, strerror(errno));
        goto out;
    }
    if ((rc = sk_fs_mkdirs(dir, err)) == SK_OK)
        rc = sk_fs_copy(src, dst, MAX_FILE, err);
out:
    free(src); /* from realpath, not the project allocator */
    sk_free(dir);
    sk_free(dst);
    sk_free(rel);
    return rc;
}

int sk_agent_workspace_prepare(const char *parent, const char *name,
                               const struct sk_agent_task *task, char **ws_out,
                               struct sk_error *err)
{
    static const char note[] =
        "Made by skillopt for one agent run; removed and made again for "
        "the next.\n";
    char *ws = NULL;
    size_t i;
    int rc, made = 0;

    *ws_out = NULL;
    if (!parent || !*parent || !name || !*name || strchr(name, '/') ||
        strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return sk_error_set(err, SK_EINVAL, "bad workspace name '%s'",
                            name ? name : "");
    if ((rc = check_task(task, err)) != SK_OK)
        return rc;
    if (!(ws = sk_fs_join(parent, name)))
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    if ((rc = sk_fs_mkdirs(parent, err)) != SK_OK ||
        (rc = clear_old(ws, err)) != SK_OK)
        goto out;
    if (mkdir(ws, 0755) != 0) {
        rc = sk_error_set(err, SK_EIO, "%s: cannot create: %s", ws,
                          strerror(errno));
        goto out;
    }
    made = 1;
    if ((rc = write_rel(ws, MARKER, note, sizeof note - 1, err)) != SK_OK)
        goto out;
    for (i = 0; i < task->n_files; i++)
        if ((rc = copy_in(ws, &task->files[i], err)) != SK_OK)
            goto out;
    if (task->skill && *task->skill &&
        (rc = write_skill(ws, task, err)) != SK_OK)
        goto out;
    rc = write_rel(ws, TASK_FILE, task->text, strlen(task->text), err);
out:
    if (rc != SK_OK) {
        if (made)
            sk_fs_rmtree(ws, NULL);
        sk_free(ws);
        return rc;
    }
    *ws_out = ws;
    return SK_OK;
}
