#!/usr/bin/env python3
"""External scorer for bench-command.yaml.

skillopt runs it once per item, without a shell, in this directory.  It
reads one JSON line on stdin:
    {"id": "...", "prediction": "...", "gold": ["..."], "item": {...}}
and prints the score on stdout: a number in [0, 1], or a JSON object
{"soft": x, "hard": 0 or 1, "reason": "..."} (hard and reason optional).
A non-zero exit, a timeout or anything else on stdout is a scorer error.
"""
import json
import sys


def number(text):
    """The number in text with , $ % and spaces removed, or None."""
    cleaned = "".join(c for c in str(text) if c not in ",$% ")
    try:
        return float(cleaned)
    except ValueError:
        return None


def main():
    req = json.loads(sys.stdin.readline())
    pred = number(req["prediction"])
    best, reason = 0.0, "no number in the prediction"
    for gold in req["gold"]:
        g = number(gold)
        if pred is None or g is None:
            continue
        err = abs(pred - g) / max(abs(g), 1e-12)
        soft = max(0.0, 1.0 - 10.0 * err)  # 10 % off scores 0
        if soft >= best:
            best, reason = soft, "relative error %.4g" % err
    print(json.dumps({"soft": best, "hard": int(best >= 0.99),
                      "reason": reason}))


if __name__ == "__main__":
    main()
