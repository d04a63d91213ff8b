"""Evaluation: retrieval metrics (recall@k, MRR, nDCG@10), abstention accuracy, and answer
metrics for a chosen backend, over a JSONL question set, overall and per kind of question.

A line of the set holds ``id``, ``question``, ``answer_pattern`` (a regex the right answer
matches), ``sources`` and ``unanswerable``, and optionally ``kind`` (paraphrase, figure_date,
comparison, follow_up, unanswerable, false_premise, recent, ...), ``split`` ("held_out" for
questions not tuned on), ``history`` (earlier [user, assistant] turns) and, for a question built
on a wrong assumption, ``false_premise: true`` with a ``correction_pattern`` the answer must match
to count as corrected (for example ``not\\s+Alibaba``)."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.core import Assistant
from assistant.errors import ConfigError
from assistant.querying import standalone
from assistant.records import Chunk
from assistant.settings import SearchMode

CUTOFFS = (1, 5, 10)


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answer_pattern: str
    sources: tuple[str, ...] = ()
    unanswerable: bool = False
    pattern: re.Pattern[str] = field(default=re.compile(""), compare=False, repr=False)
    kind: str = ""
    split: str = ""
    history: tuple[tuple[str, str], ...] = ()
    false_premise: bool = False
    correction: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @property
    def group(self) -> str:
        return self.kind or ("unanswerable" if self.unanswerable else "fact")


def load_questions(path: Path) -> list[Question]:
    if not path.is_file():
        raise ConfigError(f"The question file {path} does not exist.")
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            questions.append(_question(raw))
        except (ValueError, KeyError, TypeError, re.error) as exc:
            raise ConfigError(f"{path}, line {number}: {exc}") from exc
    return questions


def _question(raw: dict[str, Any]) -> Question:
    correction = raw.get("correction_pattern")
    if raw.get("false_premise") and not correction:
        raise ValueError("a false_premise question needs a correction_pattern")
    history = tuple((str(user), str(bot)) for user, bot in raw.get("history") or ())
    return Question(
        str(raw["id"]),
        str(raw["question"]),
        str(raw.get("answer_pattern") or ""),
        tuple(raw.get("sources") or ()),
        bool(raw.get("unanswerable")),
        re.compile(raw.get("answer_pattern") or "(?!)", re.IGNORECASE),
        kind=str(raw.get("kind") or ""),
        split=str(raw.get("split") or ""),
        history=history,
        false_premise=bool(raw.get("false_premise")),
        correction=re.compile(correction, re.IGNORECASE) if correction else None,
    )


def is_hit(chunk: Chunk, question: Question, corpus_prefix: str) -> bool:
    if question.sources and f"{corpus_prefix}{chunk.source}" not in question.sources:
        return False
    if question.kind == "comparison":  # a passage that holds one side of the pair is a hit
        return any(re.search(side, chunk.text, re.IGNORECASE) for side in sides(question))
    return bool(question.pattern.search(chunk.text))


def sides(question: Question) -> list[str]:
    r"""The two facts a comparison's pattern asks for, written either as lookaheads
    ``(?s)(?=.*A)(?=.*B)`` or as ``A[\s\S]*B|B[\s\S]*A``."""
    pattern = question.answer_pattern
    found = [_strip_any(body) for body in _lookaheads(pattern)]
    if not found:
        found = _top_level(pattern, "|")[0].split(r"[\s\S]*")
    return [side for side in found if _compiles(side)] or [pattern]


def _lookaheads(pattern: str) -> list[str]:
    bodies, start = [], pattern.find("(?=")
    while start >= 0:
        depth, i = 1, start + 3
        while i < len(pattern) and depth:
            if pattern[i] == "\\":
                i += 1
            elif pattern[i] == "(":
                depth += 1
            elif pattern[i] == ")":
                depth -= 1
            i += 1
        bodies.append(pattern[start + 3 : i - 1])
        start = pattern.find("(?=", i)
    return bodies


def _strip_any(body: str) -> str:
    for lead in (".*?", ".*", r"[\s\S]*?", r"[\s\S]*"):
        if body.startswith(lead):
            return body[len(lead) :]
    return body


def _top_level(pattern: str, sep: str) -> list[str]:
    parts, depth, current, escaped = [], 0, "", False
    for ch in pattern:
        if escaped:
            current, escaped = current + ch, False
            continue
        if ch == "\\":
            escaped = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(current)
            current = ""
            continue
        current += ch
    return [*parts, current]


def _compiles(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except re.error:
        return False
    return bool(pattern)


def search_query(question: Question) -> str:
    """What retrieval is given: a follow-up is made standalone from its history first."""
    history = [
        {"role": role, "content": text}
        for user, bot in question.history
        for role, text in (("user", user), ("assistant", bot))
    ]
    return standalone(question.question, history)


def evaluate(
    bot: Assistant,
    questions: list[Question],
    backend: str | None = None,
    mode: SearchMode | None = None,
    per_document: int | None = None,
) -> dict[str, Any]:
    prefix = f"{bot.settings.corpus.path.as_posix().rstrip('/')}/"
    per_question: list[dict[str, Any]] = []
    for q in questions:
        result = bot.search(search_query(q), k=10, mode=mode, per_document=per_document)
        ranks = [i for i, h in enumerate(result.hits, start=1) if is_hit(h.chunk, q, prefix)]
        row: dict[str, Any] = {
            "id": q.id,
            "question": q.question,
            "unanswerable": q.unanswerable,
            "kind": q.group,
            "split": q.split or "tune",
            "relevant": result.relevant,
            "first_hit_rank": ranks[0] if ranks else None,
            "top_sources": [h.chunk.source for h in result.hits[:3]],
        }
        if not q.unanswerable:
            row["ndcg@10"] = _ndcg(ranks)
        if backend:
            row.update(_answer_metrics(bot, q, backend))
        per_question.append(row)
    return {"retrieval": _retrieval(per_question), "abstention": _abstention(per_question),
            **({"answers": _answers(per_question, backend)} if backend else {}),
            "questions": per_question}  # fmt: skip


def _ndcg(ranks: list[int]) -> float:
    dcg = sum(1 / math.log2(r + 1) for r in ranks if r <= 10)
    ideal = sum(1 / math.log2(i + 1) for i in range(1, min(len(ranks), 10) + 1))
    return dcg / ideal if ideal else 0.0


def _retrieval(rows: list[dict[str, Any]]) -> dict[str, float]:
    answerable = [r for r in rows if not r["unanswerable"]]
    n = len(answerable) or 1
    metrics = {
        f"recall@{k}": sum(
            1 for r in answerable if r["first_hit_rank"] and r["first_hit_rank"] <= k
        )
        / n
        for k in CUTOFFS
    }
    metrics["mrr"] = sum(1 / r["first_hit_rank"] for r in answerable if r["first_hit_rank"]) / n
    metrics["ndcg@10"] = sum(r["ndcg@10"] for r in answerable) / n
    metrics["questions"] = len(answerable)
    return {k: round(v, 4) for k, v in metrics.items()}


def _abstention(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Retrieval-level: unanswerable questions should find nothing relevant, others something."""
    unanswerable = [r for r in rows if r["unanswerable"]]
    answerable = [r for r in rows if not r["unanswerable"]]
    correct_abstain = sum(1 for r in unanswerable if not r["relevant"])
    wrong_abstain = sum(1 for r in answerable if not r["relevant"])
    total = len(rows) or 1
    return {
        "unanswerable": len(unanswerable),
        "abstained_on_unanswerable": correct_abstain,
        "abstained_on_answerable": wrong_abstain,
        "accuracy": round((correct_abstain + len(answerable) - wrong_abstain) / total, 4),
    }


def _answer_metrics(bot: Assistant, q: Question, backend: str) -> dict[str, Any]:
    answer = bot.ask(q.question, history=list(q.history), backend=backend)
    checked = [s for s in answer.sentences if s.citations]
    matches = not answer.abstained and bool(q.pattern.search(answer.text))
    if q.correction is not None:
        matches = matches and bool(q.correction.search(answer.text))
    return {
        "answer": answer.text,
        "abstained": answer.abstained,
        "answer_matches": matches if not q.unanswerable else None,
        "cited_holds": any(q.pattern.search(c.chunk.text) for c in answer.citations)
        if not q.unanswerable
        else None,
        "sentences": len(answer.sentences),
        "supported_sentences": sum(1 for s in answer.sentences if s.support == "supported"),
        "cited_sentences": len(checked),
        "supported_cited": sum(1 for s in checked if s.support == "supported"),
    }


def _answers(rows: list[dict[str, Any]], backend: str) -> dict[str, Any]:
    answerable = [r for r in rows if not r["unanswerable"]]
    unanswerable = [r for r in rows if r["unanswerable"]]
    cited = sum(r["cited_sentences"] for r in rows if not r["abstained"])
    supported_cited = sum(r["supported_cited"] for r in rows if not r["abstained"])
    sentences = sum(r["sentences"] for r in rows if not r["abstained"])
    supported = sum(r["supported_sentences"] for r in rows if not r["abstained"])
    right = sum(1 for r in unanswerable if r["abstained"]) + sum(
        1 for r in answerable if not r["abstained"]
    )
    return {
        "backend": backend,
        "by_kind": _by_kind(rows),
        "answer_contains_pattern": round(
            sum(1 for r in answerable if r["answer_matches"]) / (len(answerable) or 1), 4
        ),
        "citation_precision": round(supported_cited / cited, 4) if cited else 0.0,
        "citation_recall": round(supported / sentences, 4) if sentences else 0.0,
        "abstention_accuracy": round(right / (len(rows) or 1), 4),
    }


def _by_kind(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per kind and split: share right (the fact, or the correction of a false premise), share
    whose cited passage holds the answer, and share of unanswerable questions abstained on."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(f"{r['kind']}/{r['split']}", []).append(r)
    table = {}
    for name, group in sorted(groups.items()):
        answerable = [r for r in group if not r["unanswerable"]]
        unanswerable = [r for r in group if r["unanswerable"]]
        table[name] = {
            "questions": len(group),
            "right": _share(answerable, "answer_matches"),
            "cited_holds": _share(answerable, "cited_holds"),
            "abstained": _share(unanswerable, "abstained"),
            "wrongly_abstained": _share(answerable, "abstained"),
        }
    return table


def _share(rows: list[dict[str, Any]], key: str) -> float | None:
    return round(sum(1 for r in rows if r[key]) / len(rows), 3) if rows else None


def compare(bot: Assistant, questions: list[Question]) -> list[dict[str, Any]]:
    """The four retrieval configurations on the same questions, in one run."""
    cap = bot.settings.retrieval.per_document
    configurations: list[tuple[str, SearchMode, int]] = [
        ("dense only", "dense", 10),
        ("BM25 only", "bm25", 10),
        ("hybrid (RRF)", "hybrid", 10),
        (f"hybrid + per-document cap {cap}", "hybrid", cap),
    ]
    rows = []
    for name, mode, per_document in configurations:
        result = evaluate(bot, questions, mode=mode, per_document=per_document)
        abstention = result["abstention"]["accuracy"]
        rows.append({"configuration": name, **result["retrieval"], "abstention": abstention})
    return rows


def render_comparison(rows: list[dict[str, Any]]) -> str:
    keys = ["recall@1", "recall@5", "recall@10", "mrr", "ndcg@10", "abstention"]
    lines = ["| configuration | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for row in rows:
        cells = " | ".join(f"{row[k]:.3f}" for k in keys)
        lines.append(f"| {row['configuration']} | {cells} |")
    return "\n".join(lines)


def render(result: dict[str, Any]) -> str:
    r, a = result["retrieval"], result["abstention"]
    lines = [
        f"retrieval over {r['questions']} answerable questions:",
        f"  recall@1 {r['recall@1']:.3f}  recall@5 {r['recall@5']:.3f}  "
        f"recall@10 {r['recall@10']:.3f}  MRR {r['mrr']:.3f}  nDCG@10 {r['ndcg@10']:.3f}",
        f"abstention: accuracy {a['accuracy']:.3f} "
        f"({a['abstained_on_unanswerable']}/{a['unanswerable']} unanswerable abstained, "
        f"{a['abstained_on_answerable']} answerable wrongly abstained)",
    ]
    if "answers" in result:
        s = result["answers"]
        lines.append(
            f"answers ({s['backend']}): contains pattern {s['answer_contains_pattern']:.3f}  "
            f"citation precision {s['citation_precision']:.3f}  "
            f"citation recall {s['citation_recall']:.3f}  "
            f"abstention accuracy {s['abstention_accuracy']:.3f}"
        )
        lines.append(
            "| kind/split | n | right | cited passage holds it | abstained | wrongly abstained |"
        )
        lines.append("|---|---|---|---|---|---|")
        for name, k in s["by_kind"].items():
            cells = " | ".join(
                "-" if k[key] is None else f"{k[key]:.2f}"
                for key in ("right", "cited_holds", "abstained", "wrongly_abstained")
            )
            lines.append(f"| {name} | {k['questions']} | {cells} |")
    misses = [
        q["id"] for q in result["questions"] if not q["unanswerable"] and not q["first_hit_rank"]
    ]
    if misses:
        lines.append(f"missed within top 10: {', '.join(misses)}")
    return "\n".join(lines)
