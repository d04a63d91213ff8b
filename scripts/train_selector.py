"""Fit the answer-sentence selector (``assistant/selector.json``) on the tuning questions of
``tests/data/dev_qa.jsonl``, and print how often the sentence ranked first (and any of the first
three) states the answer, for the fitted weights against the hand-set ones they replace:
cross-validated over the tuning questions (5 folds, by question), and on the held-out questions,
which are never fitted on.

A candidate is labelled right when the question's answer pattern matches it (for a comparison,
one side's pattern). Needs the index built (`assistant index`) and scikit-learn, which
sentence-transformers installs.

    python scripts/train_selector.py [--qa tests/data/dev_qa.jsonl] [--dry-run]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "assistant" / "selector.json"
C = 1.0  # inverse L2 strength: weaker regularisation over-fits the ~200 tuning questions
FOLDS = 5
# The hand-set weights the fitted ones replace: similarity + 0.6 coverage + 0.3 answer fit +
# 0.1 / (1 + passage rank), written over the same features.
HAND_SET = {"similarity": 1.0, "coverage_in_context": 0.6, "answer_fit": 0.3, "passage_rank": 0.1}


@dataclass
class Example:
    id: str
    held_out: bool
    rows: np.ndarray
    right: np.ndarray  # per candidate: states the answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--qa", type=Path, default=REPO / "tests" / "data" / "dev_qa.jsonl")
    parser.add_argument("--dry-run", action="store_true", help="report only; keep the file")
    args = parser.parse_args()
    from sklearn.linear_model import LogisticRegression

    from assistant.selecting import FEATURES

    examples = [e for e in _examples(args.qa) if e.right.any()]
    tune = [e for e in examples if not e.held_out]
    held = [e for e in examples if e.held_out]
    hand = np.asarray([HAND_SET.get(name, 0.0) for name in FEATURES])

    def fit(items: list[Example]) -> LogisticRegression:
        model = LogisticRegression(C=C, max_iter=5000)
        return model.fit(
            np.vstack([e.rows for e in items]), np.concatenate([e.right for e in items])
        )

    order = np.random.default_rng(0).permutation(len(tune))
    fitted_cv: list[tuple[Example, np.ndarray]] = []
    for fold in np.array_split(order, FOLDS):
        inside = set(fold.tolist())
        model = fit([e for i, e in enumerate(tune) if i not in inside])
        fitted_cv += [(tune[i], model.decision_function(tune[i].rows)) for i in fold]
    final = fit(tune)
    table = {
        "tuning, cross-validated": (
            _rates([(e, e.rows @ hand) for e in tune]),
            _rates(fitted_cv),
        ),
        "held out": (
            _rates([(e, e.rows @ hand) for e in held]),
            _rates([(e, final.decision_function(e.rows)) for e in held]),
        ),
    }
    print(f"{len(tune)} tuning and {len(held)} held-out questions with a right candidate")
    print("| questions | hand-set top-1 | fitted top-1 | hand-set top-3 | fitted top-3 |")
    print("|---|---|---|---|---|")
    for name, (before, after) in table.items():
        print(f"| {name} | {before[0]:.3f} | {after[0]:.3f} | {before[1]:.3f} | {after[1]:.3f} |")
    if args.dry_run:
        return
    record = {
        "features": list(FEATURES),
        "coef": [round(float(w), 5) for w in final.coef_[0]],
        "intercept": round(float(final.intercept_[0]), 5),
        "fitted_on": {
            "questions": len(tune),
            "candidates": int(sum(len(e.rows) for e in tune)),
            "file": args.qa.name,
        },
        "top_1": {name: {"hand_set": b[0], "fitted": a[0]} for name, (b, a) in table.items()},
    }
    OUT.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(REPO)}")


def _rates(scored: list[tuple[Example, np.ndarray]]) -> tuple[float, float]:
    if not scored:
        return 0.0, 0.0
    top1 = top3 = 0
    for example, scores in scored:
        ranked = np.argsort(-scores, kind="stable")
        top1 += bool(example.right[ranked[0]])
        top3 += bool(example.right[ranked[:3]].any())
    return round(top1 / len(scored), 3), round(top3 / len(scored), 3)


def _examples(path: Path) -> list[Example]:
    from assistant.answering import Request, candidate_rows
    from assistant.core import Assistant, _messages
    from assistant.evaluation import load_questions, sides
    from assistant.settings import Settings

    bot = Assistant(Settings())
    model = bot.model("extractive")
    found = []
    questions = [q for q in load_questions(path) if not q.unanswerable]
    for n, q in enumerate(questions, start=1):
        history = _messages(list(q.history))
        request = Request(q.question, history, bot.settings.retrieval.default_filters(), "")
        rows, texts = candidate_rows(request, bot.retriever, bot.embedder, model)
        if not texts:
            continue
        patterns = [q.pattern] if q.kind != "comparison" else [_compiled(s) for s in sides(q)]
        right = np.asarray([any(p.search(t) for p in patterns) for t in texts])
        found.append(Example(q.id, q.split == "held_out", rows, right))
        print(f"\r{n}/{len(questions)} questions read", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return found


def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
