/*
 * agent_int.h - the stream parser shared by the agent CLI event formats
 * (events_*.c), the line splitter (stream.c) and the outcome (outcome.c).
 *
 * One struct agent_parser per run.  Each format's handler receives one
 * decoded JSON object per line and records what it means through the
 * helpers below: messages and tool calls into the trajectory, usage, the
 * final answer, errors with their class.  The parser owns everything it
 * holds; agent_parser_release frees it.  An allocation failure anywhere
 * sets oom, which turns the outcome into SK_ENOMEM.
 */
#ifndef SK_AGENT_INT_H
#define SK_AGENT_INT_H

#include <stddef.h>

#include <jansson.h>

#include "agent/agent.h"
#include "util/buf.h"

struct agent_parser {
    enum sk_agent_kind kind;
    json_t *traj;      /* trajectory array */
    json_t *pending;   /* tool call id -> index of its record in traj */
    json_t *tools;     /* tool name -> calls */
    json_t *msg_usage; /* claude: message id -> its latest usage */
    char *answer;      /* final answer candidate */
    char *model;
    char *session;
    struct sk_usage usage;
    double cost;
    int cost_known;
    int turns;               /* the CLI's own count; -1 when not reported */
    int n_msgs;              /* assistant messages in traj */
    int n_tools;             /* tool call records in traj */
    int n_errors;            /* error events, fatal or not */
    int tool_errors;         /* tool calls that failed */
    long n_lines;            /* lines seen */
    int bad_lines;           /* lines that were not JSON objects */
    long first_bad;          /* line number of the first, 0 when none */
    int done;                /* terminal event seen (result, turn end) */
    int done_error;          /* ... and it reports a failure */
    enum sk_agent_fail hint; /* class of the latest error (AUTH, ...) */
    int stop;                /* unrecoverable: stop the CLI now */
    char last_error[512];    /* the latest error text */
    long cli_ms;             /* duration the CLI reported, -1 unknown */
    struct sk_buf line;      /* the line being assembled */
    size_t max_line;
    int skipping;   /* dropping the rest of an over-long line */
    int long_lines; /* lines dropped for length */
    int cut;        /* the stream ended in the middle of a line */
    int oom;
};

void agent_parser_init(struct agent_parser *p, enum sk_agent_kind kind,
                       size_t max_line);
void agent_parser_release(struct agent_parser *p);
/* Splits data into lines and parses each complete one.  Never fails: an
 * allocation failure sets p->oom. */
void agent_parser_feed(struct agent_parser *p, const char *data, size_t len);
/* The stream ended: parses a last line without newline (and notes it). */
void agent_parser_end(struct agent_parser *p);

/* Per-format handlers: one decoded JSON object (borrowed). */
void agent_codex_event(struct agent_parser *p, json_t *ev);
void agent_claude_event(struct agent_parser *p, json_t *ev);
void agent_cursor_event(struct agent_parser *p, json_t *ev);
void agent_copilot_event(struct agent_parser *p, json_t *ev);

/* String member key of o, or NULL when absent or not a string. */
const char *agent_str(const json_t *o, const char *key);
/* Integer member (or integral real) of o, def when absent. */
long long agent_int(const json_t *o, const char *key, long long def);
/* Replaces *dst with a copy of s (NULL clears). */
void agent_set(struct agent_parser *p, char **dst, const char *s);

/* Appends {"role": role, "content": text} (text may be long). */
void agent_add_msg(struct agent_parser *p, const char *role, const char *text);
/*
 * Appends a tool call record {"type":"tool_call","tool","cmd","obs":null}
 * and counts it; when id is not NULL, remembers it so that agent_tool_done
 * can fill the observation.  A second call with an id already pending
 * updates cmd instead of adding a record.
 */
void agent_add_tool(struct agent_parser *p, const char *id, const char *tool,
                    const char *cmd);
/* Sets the observation of pending call id (bounded to SK_AGENT_OBS_KEEP;
 * is_error prefixes "[error] " and counts a tool error).  An unknown id
 * adds a record of its own. */
void agent_tool_done(struct agent_parser *p, const char *id, const char *tool,
                     const char *obs, int is_error);
/* "Tool: <main argument>" of a tool input (command, file_path, path,
 * pattern, url, query, skill, description, prompt), else its JSON. */
void agent_tool_cmd(struct agent_parser *p, const char *tool,
                    const json_t *input, struct sk_buf *out);
/* Text of a content value: a string, or an array of text blocks (other
 * blocks are named as "[type]"). */
void agent_block_text(struct agent_parser *p, const json_t *content,
                      struct sk_buf *out);
/* A Claude-style result event (Claude Code and Cursor share it). */
void agent_result_event(struct agent_parser *p, const json_t *ev);
/* End of a Claude stream: usage from the messages when no result had it. */
void agent_claude_end(struct agent_parser *p);
/* Compact JSON text of v (new string) or NULL. */
char *agent_json_text(struct agent_parser *p, const json_t *v);

/* Failure class a CLI message suggests: AUTH, RATE_LIMIT or ERROR. */
enum sk_agent_fail agent_classify_text(const char *text);
/* Failure class of an HTTP status: AUTH (401, 403), RATE_LIMIT (429),
 * else ERROR. */
enum sk_agent_fail agent_classify_status(long status);
/*
 * Records an error event: counts it, keeps its text as last_error and
 * its class (cls, or from the text when cls is SK_AGENT_OK) as hint.
 */
void agent_note_error(struct agent_parser *p, const char *text,
                      enum sk_agent_fail cls);

/* Adds usage (prompt includes cached). */
void agent_add_usage(struct agent_parser *p, long long prompt, long long cached,
                     long long completion, long long reasoning);

/* The sandbox / approval a CLI runs with when the options leave them
 * unset ("" when the CLI has no such setting). */
const char *agent_default_sandbox(enum sk_agent_kind kind);
const char *agent_default_approval(enum sk_agent_kind kind);

/* How the process ended. */
struct agent_exit {
    int exit_code;           /* -1 when killed */
    int signal;              /* the signal that ended it, 0 none */
    int timed_out;           /* we killed it at the deadline */
    int too_big;             /* we killed it for printing too much */
    int stopped;             /* we killed it on p->stop */
    int lingered;            /* we killed it for not exiting after its
                                final result (treated as exit 0) */
    double seconds;          /* wall clock */
    const char *stderr_tail; /* borrowed, may be NULL */
    const char *label;       /* binary name for messages */
};
/*
 * Fills res from the parser and the process outcome (exit_code, or
 * signal when killed; timed_out, too_big, stopped, lingered set by the
 * runner)
 * and classifies.  Moves the trajectory into res.
 */
int agent_outcome(struct agent_parser *p, const struct agent_exit *x,
                  struct sk_agent_result *res);
/* Builds res->summary (opts may be NULL). */
void agent_summary(struct agent_parser *p, const struct sk_agent_opts *o,
                   const struct agent_exit *x, struct sk_agent_result *res);

#endif /* SK_AGENT_INT_H */
