/*
 * sim_agent.h - the simulator's agent wire formats: the Anthropic Messages
 * API (POST /v1/messages, JSON or server-sent events) and the OpenAI
 * Responses API (POST /v1/responses, JSON or events) next to chat
 * completions, with tool calls both ways, so the real Claude Code and
 * Codex CLIs can run against the simulator on 127.0.0.1.
 *
 * A test writes an agent function: it gets the request decoded into one
 * neutral list of items (system text, user text, assistant text, the
 * assistant's earlier tool calls and the tool results the CLI sent back)
 * and answers text, tool calls or an HTTP error; sk_sim_agent_respond, a
 * responder for sk_sim_start, decodes and encodes in the caller's wire
 * format.  sk_sim_script_agent is a ready-made three-turn agent.  The
 * faults of sim.h apply as to any responder (latency, 429/5xx, stalls,
 * truncated and malformed bodies); the think/empty rewrites touch only
 * chat completion JSON.
 *
 * Ownership: a turn and its items are borrowed for the callback; the
 * answer's strings are sk_malloc'd by the agent and freed by the server.
 */
#ifndef SK_SIM_AGENT_H
#define SK_SIM_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

struct sk_sim_request;
struct sk_sim_reply;

enum sk_sim_wire {
    SK_SIM_WIRE_CHAT,     /* POST /v1/chat/completions */
    SK_SIM_WIRE_MESSAGES, /* POST /v1/messages (Anthropic) */
    SK_SIM_WIRE_RESPONSES /* POST /v1/responses (OpenAI) */
};

enum sk_sim_item_kind {
    SK_SIM_ITEM_SYSTEM,    /* system prompt, developer message, instructions */
    SK_SIM_ITEM_USER,      /* user text */
    SK_SIM_ITEM_ASSISTANT, /* assistant text */
    SK_SIM_ITEM_CALL,      /* a tool call the assistant made earlier */
    SK_SIM_ITEM_RESULT     /* a tool result sent back by the client */
};

struct sk_sim_item {
    enum sk_sim_item_kind kind;
    const char *text;    /* text; CALL: the arguments (JSON text, or the raw
                            input of a freeform tool); RESULT: the output */
    const char *name;    /* CALL: the tool name; else NULL */
    const char *call_id; /* CALL and RESULT: the call id; else NULL */
    int is_error;        /* RESULT: the client marked it as an error */
};

/* One decoded model request. */
struct sk_sim_turn {
    enum sk_sim_wire wire;
    const char *model; /* "" if absent */
    int stream;        /* the client asked for server-sent events */
    const struct sk_sim_item *items;
    size_t n_items;
    const char *const *tools; /* names of the tools offered */
    const int *tool_freeform; /* per tool: 1 for a Responses "custom" tool */
    size_t n_tools;
    const struct sk_sim_request *http; /* the raw request */
};

struct sk_sim_call {
    char *id;        /* NULL: the server makes a unique one */
    char *name;      /* tool name, e.g. "Bash", "exec_command" */
    char *arguments; /* JSON object text; freeform: the raw input */
    int freeform;    /* a Responses "custom" tool (Codex's apply_patch) */
};

/* What the agent answers; all strings sk_malloc'd. */
struct sk_sim_answer {
    char *text; /* assistant text before the calls; NULL: none */
    struct sk_sim_call *calls;
    size_t n_calls;
    int status;             /* non-zero: answer this HTTP error instead */
    char *error;            /* its message (NULL: a stock one) */
    int retry_after_s;      /* with a 429: the Retry-After header */
    uint64_t input_tokens;  /* 0: estimated from the request size */
    uint64_t output_tokens; /* 0: estimated from the answer size */
};

/* Returns 0, or non-zero to make the server answer 500. */
typedef int (*sk_sim_agent_fn)(void *ud, const struct sk_sim_turn *turn,
                               struct sk_sim_answer *ans);

/* The ud of sk_sim_agent_respond. */
struct sk_sim_agent {
    sk_sim_agent_fn fn; /* NULL: echo the last user text */
    void *ud;
};

/*
 * A responder for sk_sim_start (ud: a struct sk_sim_agent that outlives the
 * server).  Model requests on the three wires (with or without the /v1
 * prefix) go to the agent; the reply uses the request's wire and is a
 * stream of server-sent events when the request asked for one.  Also:
 * POST /v1/messages/count_tokens, GET /v1/models (Anthropic's shape when
 * the request carries anthropic-version), HEAD/GET / and /api/hello (200,
 * empty); anything else 404.  Bodies that do not decode get a 400 in the
 * wire's error format.  Returns 0, or SK_ENOMEM.
 */
int sk_sim_agent_respond(void *ud, const struct sk_sim_request *req,
                         struct sk_sim_reply *reply);

/* Frees what an answer holds and zeroes it. */
void sk_sim_answer_release(struct sk_sim_answer *a);

/* Sets the answer's text (copied).  Returns 0 or SK_ENOMEM. */
int sk_sim_answer_set_text(struct sk_sim_answer *a, const char *text);

/* Appends a tool call (strings copied; the id is left to the server).
 * Returns 0 or SK_ENOMEM. */
int sk_sim_answer_add_call(struct sk_sim_answer *a, const char *name,
                           const char *arguments, int freeform);

/* 1 if the turn offers a tool of that name. */
int sk_sim_turn_has_tool(const struct sk_sim_turn *t, const char *name);

/*
 * The scripted agent (ud: a struct sk_sim_script).  It counts the tool
 * calls already in the conversation:
 *   0: one shell call printing the working directory, the skill file and
 *      the task file (Claude Code: Bash; Codex: exec_command or shell);
 *   1: one call writing answer_file with the skill's key (Claude Code:
 *      Write to <pwd>/answer_file; Codex: apply_patch, else the shell);
 *   2 or more: final text "... <answer>KEY</answer>".
 * KEY is the word after "SKILL-KEY:" in the tool results ("none" if
 * absent), the final text also names the word after "TASK-ID:" and says
 * whether the key was already in the context the CLI sent on its own
 * ("skill-in-context: yes|no", e.g. CLAUDE.md or AGENTS.md).  With
 * fail_status set every model request gets that HTTP error.
 */
struct sk_sim_script {
    const char *skill_path;  /* NULL: ".agents/skills/demo/SKILL.md" */
    const char *task_path;   /* NULL: "task.md" */
    const char *answer_file; /* NULL: "answer.txt" */
    int fail_status;         /* 0, or e.g. 401, 429 */
};

int sk_sim_script_agent(void *ud, const struct sk_sim_turn *turn,
                        struct sk_sim_answer *ans);

/* Internal: sim.c's default responder hands the agent wires here. */
int sim_agent_echo(const struct sk_sim_request *req,
                   struct sk_sim_reply *reply);

#endif /* SK_SIM_AGENT_H */
