#!/usr/bin/env python3
"""Generates data/demo/{train,val,test}/items.json: the synthetic benchmark
of `skillopt demo`.  Each item belongs to a family with a systematic trap
that one rule in the skill fixes; src/bench/demo.c knows the families.
Run once; the output is committed.  Deterministic (seed 7)."""
import json, os, random

rng = random.Random(7)
CITIES = [("Paris", "France"), ("Lima", "Peru"), ("Oslo", "Norway"),
          ("Cairo", "Egypt"), ("Hanoi", "Vietnam"), ("Quito", "Ecuador"),
          ("Dakar", "Senegal"), ("Riga", "Latvia"), ("Seoul", "South Korea"),
          ("Bern", "Switzerland"), ("Accra", "Ghana"), ("Doha", "Qatar")]
MONTHS = ["January", "February", "March", "April", "May", "June", "July",
          "August", "September", "October", "November", "December"]


def units(i):
    a, b = rng.randint(3, 90), rng.randint(3, 90)
    return {"question": f"A runner covers {a} km in the morning and {b} km "
                        f"in the evening. How far is that in total?",
            "answer": f"{a + b} km"}


def dates(i):
    y, m, d = rng.randint(1990, 2030), rng.randint(1, 12), rng.randint(1, 28)
    return {"question": f"Write the date {d} {MONTHS[m - 1]} {y}.",
            "answer": f"{y:04d}-{m:02d}-{d:02d}"}


def money(i):
    a = rng.randint(100, 99999) / 100
    n = rng.randint(2, 9)
    return {"question": f"{n} people share a bill of {a:.2f} dollars equally. "
                        f"How much does each pay?",
            "answer": f"{a / n:.2f}"}


def capitals(i):
    city, country = rng.choice(CITIES)
    return {"question": f"What is the capital of {country}?",
            "answer": city.lower()}


def counting(i):
    word = rng.choice(["banana", "committee", "mississippi", "bookkeeper",
                       "successful", "parallel", "assessment"])
    letter = rng.choice(sorted(set(word)))
    return {"question": f"How many times does the letter '{letter}' occur "
                        f"in the word '{word}'?",
            "answer": str(word.count(letter))}


FAMILIES = [("units", units), ("dates", dates), ("money", money),
            ("capitals", capitals), ("counting", counting)]


def make(n, prefix):
    items = []
    for i in range(n):
        fam, fn = FAMILIES[i % len(FAMILIES)]
        it = fn(i)
        items.append({"id": f"{prefix}-{i:03d}", "family": fam,
                      "question": it["question"], "answers": [it["answer"]]})
    rng.shuffle(items)
    return items


root = os.path.join(os.path.dirname(__file__), "..", "data", "demo")
for split, n in (("train", 80), ("val", 40), ("test", 40)):
    os.makedirs(os.path.join(root, split), exist_ok=True)
    with open(os.path.join(root, split, "items.json"), "w") as f:
        json.dump(make(n, split), f, indent=2, ensure_ascii=False)
        f.write("\n")
