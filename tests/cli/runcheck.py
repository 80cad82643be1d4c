"""Checks on `skillopt train` run directories, for the CLI tests.

    python3 runcheck.py same REF RUN     outputs of RUN equal REF's
    python3 runcheck.py sent RUN [SKIP]  model requests RUN sent (lines of
                                         llm_requests.jsonl after the first
                                         SKIP that completed, not from cache)
    python3 runcheck.py rows RUN         rows of history.json (0 if absent)
    python3 runcheck.py layout RUN INIT ROWS   the files of a finished run

Prints what differs and exits 1 when a check fails.
"""
import json
import os
import sys

# Fields that record how long or how much a step took, not what it did.
HISTORY_VOLATILE = ("timing", "wall_time_s", "tokens")
SUMMARY_SCORES = ("best_selection_hard", "final_selection_hard", "test_hard",
                  "baseline_test_hard", "final_test_hard", "total_accepts",
                  "total_rejects", "total_skips", "best_step",
                  "current_origin", "best_origin", "epoch_stats")


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def history(run):
    rows = load(os.path.join(run, "history.json"))
    for r in rows:
        for k in HISTORY_VOLATILE:
            r.pop(k, None)
    return rows


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def same(ref, run):
    bad = []
    ha, hb = history(ref), history(run)
    if len(ha) != len(hb):
        bad.append("history.json: %d rows, reference %d" % (len(hb), len(ha)))
    for i, (a, b) in enumerate(zip(ha, hb)):
        for k in sorted(set(a) | set(b)):
            if a.get(k) != b.get(k):
                bad.append("history.json step %s field %s: %s, reference %s"
                           % (a.get("step"), k, json.dumps(b.get(k))[:160],
                              json.dumps(a.get(k))[:160]))
    if read_bytes(os.path.join(ref, "best_skill.md")) != read_bytes(
            os.path.join(run, "best_skill.md")):
        bad.append("best_skill.md differs")
    sa = sorted(f for f in os.listdir(os.path.join(ref, "skills"))
                if f.endswith(".md"))
    sb = sorted(f for f in os.listdir(os.path.join(run, "skills"))
                if f.endswith(".md"))
    if sa != sb:
        bad.append("skills/*.md: only in the run %s, only in the reference %s"
                   % (sorted(set(sb) - set(sa)), sorted(set(sa) - set(sb))))
    for name in sorted(set(sa) & set(sb)):
        if read_bytes(os.path.join(ref, "skills", name)) != read_bytes(
                os.path.join(run, "skills", name)):
            bad.append("skills/%s differs" % name)
    xa = load(os.path.join(ref, "summary.json"))
    xb = load(os.path.join(run, "summary.json"))
    for k in SUMMARY_SCORES:
        if k not in xa:
            bad.append("summary.json of the reference lacks %s" % k)
        elif xa.get(k) != xb.get(k):
            bad.append("summary.json %s: %s, reference %s"
                       % (k, json.dumps(xb.get(k))[:200],
                          json.dumps(xa.get(k))[:200]))
    return bad


def sent(run, skip):
    n = 0
    path = os.path.join(run, "llm_requests.jsonl")
    if not os.path.exists(path):
        return 0
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i < skip:
                continue
            r = json.loads(line)  # a torn line is a failure too
            if r["status"] == 0 and r["cache_hit"] is False:
                n += 1
    return n


def spent(run):
    """Tokens of every paid request (status 0, not from the cache)."""
    t = 0
    path = os.path.join(run, "llm_requests.jsonl")
    if not os.path.exists(path):
        return 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if r["status"] == 0 and r["cache_hit"] is False:
                t += r["prompt_tokens"] + r["completion_tokens"]
    return t


def layout(run, init, rows):
    bad = []
    for name in ("config.json", "runtime_state.json", "history.json",
                 "best_skill.md", "summary.json", "events.jsonl"):
        if not os.path.isfile(os.path.join(run, name)):
            bad.append("no %s" % name)
    if bad:
        return bad
    load(os.path.join(run, "config.json"))
    load(os.path.join(run, "runtime_state.json"))
    h = load(os.path.join(run, "history.json"))
    if not isinstance(h, list) or len(h) != rows:
        bad.append("history.json: %s rows, want %d"
                   % (len(h) if isinstance(h, list) else "no", rows))
    s = load(os.path.join(run, "summary.json"))
    for k in ("version", "best_selection_hard", "test_hard", "epoch_stats",
              "token_summary"):
        if k not in s:
            bad.append("summary.json lacks %s" % k)
    v0 = os.path.join(run, "skills", "skill_v0000.md")
    if not os.path.isfile(v0) or read_bytes(v0) != read_bytes(init):
        bad.append("skills/skill_v0000.md is not the initial skill")
    with open(os.path.join(run, "events.jsonl"), encoding="utf-8") as f:
        ev = [json.loads(line) for line in f]
    if not ev or ev[0].get("type") != "run_start":
        bad.append("events.jsonl does not open with run_start")
    if not ev or ev[-1].get("type") != "run_end" or \
            ev[-1].get("status") != "ok":
        bad.append("events.jsonl does not end with run_end ok: %s"
                   % (json.dumps(ev[-1])[:200] if ev else "empty"))
    return bad


def main(argv):
    cmd = argv[1]
    if cmd == "sent":
        print(sent(argv[2], int(argv[3]) if len(argv) > 3 else 0))
        return 0
    if cmd == "spent":
        print(spent(argv[2]))
        return 0
    if cmd == "rows":
        p = os.path.join(argv[2], "history.json")
        print(len(load(p)) if os.path.exists(p) else 0)
        return 0
    bad = same(argv[2], argv[3]) if cmd == "same" else \
        layout(argv[2], argv[3], int(argv[4]))
    for b in bad[:20]:
        print("  " + b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
