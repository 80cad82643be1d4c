/*
 * fuzz_agent_events.c - libFuzzer target for the agent CLI event parsers
 * (src/agent/): Codex, Claude Code, Cursor and Copilot JSON-lines streams.
 *
 * Input: byte 0 picks the format (low two bits) and the exit status (next
 * two bits), byte 1 a chunk size; the rest is the stream.  It is parsed
 * whole and again fed in chunks of that size, as it arrives from a pipe;
 * both must agree, and neither may crash, leak or run super-linearly.
 */
#include "common.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent/agent.h"
#include "agent/agent_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sk_agent_result whole, parts;
    struct agent_parser p;
    struct agent_exit x;
    enum sk_agent_kind kind;
    size_t chunk, off;
    const char *s;

    if (size < 2)
        return 0;
    kind = (enum sk_agent_kind)(data[0] & 3);
    chunk = (size_t)data[1] + 1;
    s = (const char *)data + 2;
    size -= 2;
    memset(&x, 0, sizeof x);
    x.exit_code = (data[0] >> 2) & 3;

    sk_agent_result_init(&whole);
    sk_agent_parse(kind, s, size, x.exit_code, &whole);

    sk_agent_result_init(&parts);
    agent_parser_init(&p, kind, 0);
    for (off = 0; off < size; off += chunk)
        agent_parser_feed(&p, s + off, size - off < chunk ? size - off : chunk);
    agent_parser_end(&p);
    agent_outcome(&p, &x, &parts);
    agent_parser_release(&p);

    if (whole.status != parts.status || whole.fail != parts.fail ||
        whole.tool_calls != parts.tool_calls ||
        whole.bad_lines != parts.bad_lines ||
        strcmp(whole.answer ? whole.answer : "",
               parts.answer ? parts.answer : "") != 0 ||
        json_array_size(whole.trajectory) != json_array_size(parts.trajectory))
        abort(); /* chunking changed what the stream means */
    sk_agent_result_release(&whole);
    sk_agent_result_release(&parts);
    return 0;
}
