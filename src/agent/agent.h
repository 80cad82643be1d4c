/*
 * agent.h - runs one task through an agent CLI (Codex CLI, Claude Code,
 * Cursor agent, Copilot CLI) in a fresh workspace and turns the JSON event
 * stream it prints into a final answer, a trajectory, token usage and a
 * short trace summary, failing loud with a classified status.
 *
 * A run has three steps: sk_agent_workspace_prepare makes the directory
 * (task files, skill file, task.md); sk_agent_run starts the CLI there with
 * an allow-listed environment and the prompt on stdin, reads its stdout as
 * JSON lines while it arrives, saves the raw stream next to the workspace
 * and kills the CLI's whole process group on timeout; the stream parser
 * (sk_agent_parse, also usable on recorded streams) builds the result.
 *
 * Ownership: options, tasks and strings passed in are borrowed.  A struct
 * sk_agent_result owns everything it points to (sk_agent_result_release);
 * its trajectory is a jansson array (json_t *) owned by the result.
 * Thread-safe: nothing global is touched except the process environment,
 * which is only read.
 */
#ifndef SK_AGENT_H
#define SK_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "llm/llm.h"

struct json_t;

enum sk_agent_kind {
    SK_AGENT_CODEX = 0,   /* codex exec --json */
    SK_AGENT_CLAUDE_CODE, /* claude -p --output-format stream-json */
    SK_AGENT_CURSOR,      /* cursor-agent -p --output-format stream-json */
    SK_AGENT_COPILOT,     /* copilot --output-format json */
    SK_AGENT_KIND_COUNT
};

/* Where the skill is written inside the workspace. */
enum sk_agent_skill_place {
    SK_AGENT_SKILL_AGENTS_DIR = 0, /* .agents/skills/<name>/SKILL.md */
    SK_AGENT_SKILL_AGENTS_MD,      /* AGENTS.md */
    SK_AGENT_SKILL_CLAUDE_MD,      /* CLAUDE.md */
    SK_AGENT_SKILL_CLAUDE_DIR,     /* .claude/skills/<name>/SKILL.md */
    SK_AGENT_SKILL_PLACE_COUNT
};

/*
 * Failure classes.  Each has its own status (sk_agent_fail_status) in the
 * vocabulary of the model client (enum sk_llm_err), so a caller can treat
 * an agent run like a model call and still tell the classes apart.
 */
enum sk_agent_fail {
    SK_AGENT_OK = 0,
    SK_AGENT_FAIL_NOT_FOUND,  /* binary missing / not executable: ECONFIG */
    SK_AGENT_FAIL_AUTH,       /* not logged in, bad/expired key: EAUTH */
    SK_AGENT_FAIL_RATE_LIMIT, /* 429, usage limit: EPROVIDER */
    SK_AGENT_FAIL_CRASH,   /* signal, or bad exit with no result: EPROVIDER */
    SK_AGENT_FAIL_TIMEOUT, /* killed at the deadline: ETIMEOUT */
    SK_AGENT_FAIL_EMPTY,   /* no events, or no final answer: EREPLY */
    SK_AGENT_FAIL_ERROR,   /* error event / is_error result: EPROVIDER */
    SK_AGENT_FAIL_TOO_BIG, /* stream over the size cap: EREPLY */
    SK_AGENT_FAIL_SETUP,   /* pipes, files, memory on our side: EIO... */
    SK_AGENT_FAIL_COUNT
};

/* Defaults of struct sk_agent_opts. */
#define SK_AGENT_TIMEOUT_MS 600000L             /* 10 minutes */
#define SK_AGENT_MAX_STREAM ((size_t)256 << 20) /* bytes of stdout */
#define SK_AGENT_MAX_LINE ((size_t)16 << 20)    /* bytes of one JSON line */
#define SK_AGENT_LINGER_MS 10000L               /* exit grace after a result */
#define SK_AGENT_OBS_KEEP ((size_t)16 << 10) /* bytes of a tool result kept */

/* How to run the CLI.  Zero / NULL fields take the defaults named. */
struct sk_agent_opts {
    enum sk_agent_kind kind;
    const char *binary;            /* path, or a name looked up in PATH; NULL:
                                      codex | claude | cursor-agent | copilot */
    const char *binary_setting;    /* config key named in "not found" errors */
    const char *model;             /* NULL/"": the CLI's own default */
    const char *effort;            /* reasoning effort; NULL/"": CLI default */
    const char *sandbox;           /* codex: read-only | workspace-write (def.)
                                      | danger-full-access; cursor: enabled
                                      (default) | disabled; others: unused */
    const char *approval;          /* codex approval_policy (never); claude
                                      --permission-mode (dontAsk); cursor
                                      force (default) | ask | plan; copilot
                                      allow-all (default) | none */
    const char *allowed_tools;     /* claude --allowedTools (default "Bash
                                      Read Glob Grep Edit Write Skill");
                                      copilot --available-tools when set */
    const char *const *extra_args; /* appended before the prompt marker */
    size_t n_extra_args;
    const char *const *env_pass; /* more variable names to pass through */
    size_t n_env_pass;
    const char *const *env_set; /* "NAME=value" set for the CLI only */
    size_t n_env_set;
    long timeout_ms;         /* wall clock; 0: SK_AGENT_TIMEOUT_MS */
    long linger_ms;          /* how long a CLI may take to exit after its
                                final result; 0: SK_AGENT_LINGER_MS */
    size_t max_stream_bytes; /* 0: SK_AGENT_MAX_STREAM */
    size_t max_line_bytes;   /* 0: SK_AGENT_MAX_LINE */
    const char *events_path; /* raw stream copy; NULL: <ws>/../<name>_
                                events.jsonl; "" : not saved */
};

/* A file copied into the workspace. */
struct sk_agent_file {
    const char *src; /* regular file on disk */
    const char *dst; /* path relative to the workspace */
};

/* One task's workspace contents. */
struct sk_agent_task {
    const char *text; /* task.md (required) */
    const struct sk_agent_file *files;
    size_t n_files;
    const char *skill;             /* skill body; NULL or "": no skill file */
    const char *skill_name;        /* NULL: "skillopt-target" */
    const char *skill_description; /* NULL: a generic one */
    enum sk_agent_skill_place place;
};

struct sk_agent_result {
    int status; /* SK_OK or sk_agent_fail_status(fail) */
    enum sk_agent_fail fail;
    enum sk_agent_kind kind;
    char *answer;              /* final answer: non-empty on SK_OK, "" on a
                                  failure (NULL only after init) */
    struct json_t *trajectory; /* array of {"role","content"} messages
                                  (user: the prompt; assistant; reasoning;
                                  error) and {"type":"tool_call","tool",
                                  "cmd","obs"[,"is_error"]} records */
    struct sk_usage usage;     /* prompt (incl. cached), cached, completion */
    double cost_usd;           /* when the CLI reports it (cost_known) */
    int cost_known;
    int turns;      /* the CLI's count, else assistant messages + tool calls */
    int tool_calls; /* tool call records in the trajectory */
    int errors;     /* error events seen, fatal or not */
    int bad_lines;  /* stdout lines that were not JSON objects */
    int exit_code;  /* -1 when killed by a signal or never run */
    int term_signal;
    double duration_s; /* wall clock of the run */
    char *model;       /* model the CLI reported, or NULL */
    char *session_id;  /* or NULL */
    char *summary;     /* compact trace summary for the optimizer */
    char *events_path; /* where the raw stream was saved, or NULL */
    char *stderr_tail; /* last bytes the CLI wrote on stderr, or NULL */
    char error[512];   /* why it failed, with the CLI's own message */
};

void sk_agent_result_init(struct sk_agent_result *r);
void sk_agent_result_release(struct sk_agent_result *r);

/* "codex", "claude", "cursor", "copilot": file-name prefixes. */
const char *sk_agent_kind_name(enum sk_agent_kind kind);
/* "codex_exec", "claude_code_exec", "cursor_exec", "copilot_exec". */
const char *sk_agent_backend_name(enum sk_agent_kind kind);
/*
 * Kind of a backend name (the *_exec names above, or the short names).
 * SK_OK, or SK_ENOTFOUND for another name.
 */
int sk_agent_kind_parse(const char *name, enum sk_agent_kind *out);
/* Placement of "agents_skills", "agents_md", "claude_md", "claude_skills".
 * SK_OK, or SK_ENOTFOUND. */
int sk_agent_place_parse(const char *name, enum sk_agent_skill_place *out);
const char *sk_agent_place_name(enum sk_agent_skill_place place);
/* Short name of a failure class ("auth", "rate_limit", "timeout", ...). */
const char *sk_agent_fail_name(enum sk_agent_fail fail);
/*
 * The status a failure class is reported as: SK_OK, SK_ECONFIG,
 * SK_LLM_EAUTH, SK_LLM_EPROVIDER, SK_LLM_ETIMEOUT or SK_LLM_EREPLY
 * (SK_AGENT_FAIL_SETUP: SK_EIO).
 */
int sk_agent_fail_status(enum sk_agent_fail fail);

/*
 * Creates the workspace <parent>/<name> afresh: an existing one is removed
 * first, but only if it was made by this function (it holds the marker
 * file .skillopt-workspace) or is empty; anything else is SK_EINVAL.  Then
 * copies the task's files in, writes the skill where task->place says (a
 * SKILL.md gets a YAML front matter with name and description) and
 * task.md.  Destinations must be relative, stay inside the workspace after
 * normalisation and not collide with task.md or the skill file; the skill
 * name must be 1-64 of [a-z0-9-].  On success *ws_out is the workspace
 * path (new string, sk_free).  SK_EINVAL for a refused path or name,
 * SK_ENOTFOUND for a missing source file, SK_EIO, SK_ETOOBIG (a file over
 * 1 GiB) or SK_ENOMEM; err says which path.  On failure the partly made
 * workspace is removed.
 */
int sk_agent_workspace_prepare(const char *parent, const char *name,
                               const struct sk_agent_task *task, char **ws_out,
                               struct sk_error *err);

/*
 * The workspace-relative path the skill is written to for place and name
 * (new string, sk_free; NULL on SK_ENOMEM).  name NULL: "skillopt-target".
 */
char *sk_agent_skill_relpath(enum sk_agent_skill_place place, const char *name);

/*
 * The argv the CLI is started with for workspace ws (a NULL-terminated
 * array of new strings; free with sk_agent_argv_free).  The prompt is
 * never in it: every CLI reads it from stdin.  NULL on SK_ENOMEM.
 */
char **sk_agent_argv(const struct sk_agent_opts *o, const char *ws);
void sk_agent_argv_free(char **argv);

/*
 * The environment the CLI gets: from this process's environment only the
 * allow-listed names (PATH, HOME, USER, LOGNAME, SHELL, LANG, LC_*, TZ,
 * TMPDIR, TERM, NO_COLOR, XDG_*_HOME, proxy and CA-bundle variables, the
 * CLI's own auth/config variables, o->env_pass), then o->env_set.  A
 * NULL-terminated array of "NAME=value" strings (sk_agent_argv_free);
 * NULL on SK_ENOMEM.
 */
char **sk_agent_env(const struct sk_agent_opts *o);

/*
 * Runs the CLI of o->kind in workspace ws with prompt on stdin and fills
 * res (which must be freshly initialised).  Always returns res->status:
 * SK_OK with a non-empty res->answer, or the status of res->fail with
 * res->error saying what happened in the CLI's own words (the last error
 * event, the is_error result text or the last stderr line).  An
 * authentication failure reported while the CLI is still retrying stops
 * it at once.  A CLI that has printed its final result but has not exited
 * linger_ms later is stopped and its answer kept.  When the CLI exits,
 * whatever it left running in its process group is killed too.  err (may be
 * NULL) gets the same message.
 */
int sk_agent_run(const struct sk_agent_opts *o, const char *ws,
                 const char *prompt, struct sk_agent_result *res,
                 struct sk_error *err);

/*
 * Parses a complete recorded stream of kind's format (data, len) into res
 * (freshly initialised) as sk_agent_run would for a CLI that printed it
 * and exited with exit_code.  Same return value and classification, minus
 * the process-level ones (timeout, signal, binary not found).
 */
int sk_agent_parse(enum sk_agent_kind kind, const char *data, size_t len,
                   int exit_code, struct sk_agent_result *res);

#endif /* SK_AGENT_H */
