"""Selecting answer sentences: how likely each candidate sentence is to state what the question
asks, from features of the sentence, its passage and the question, weighed by a logistic model
fitted on the project's own tuning questions (``scripts/train_selector.py`` writes
``selector.json``; the held-out questions are never fitted on).

The weights were hand-set before; fitted ones choose the right sentence more often on questions
they were not fitted on (the training script prints both, cross-validated)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from assistant.errors import ConfigError
from assistant.questions import Asked, answer_fit, counts, head_in, mentions
from assistant.records import Chunk
from assistant.synonyms import measured_in, same_event
from assistant.text import stem, stems

# In this order in every feature row; the weights file names them, and a file written for other
# features is refused rather than misread.
FEATURES = (
    "similarity",  # cosine of question and sentence embeddings
    "similarity_gap",  # ... minus the best candidate's
    "similarity_gap_in_passage",  # ... minus the best of the same passage
    "coverage",  # rarity-weighted share of the question's words the sentence holds
    "coverage_in_context",  # ... counting the passage title, heading and previous sentence half
    "coverage_gap",  # ... minus the best candidate's
    "passage_coverage",  # the same share over the whole passage
    "answer_fit",  # holds a value of the asked type (a date for "when")
    "typed",  # answer_fit > 0 for a question that asks for a date, figure or name
    "asks_date",
    "asks_figure",
    "asks_name",
    "fit_for_date",
    "fit_for_figure",
    "fit_for_name",
    "passage_rank",  # 1 / (1 + the passage's retrieval rank)
    "first_in_passage",
    "length",  # log(1 + words)
    "names",  # share of the question's names the sentence mentions
    "names_in_context",  # ... with the passage's title and heading
    "head",  # the word a "how many"/"which" question asks of is in the sentence
    "counted",  # a number stands before that word
    "own_values",  # the question's own figures and years are all in the sentence
    "table_row",
)
_COMMON = frozenset(
    "ai us u.s. usa uk eu china chinese american america un gpu gpus chip chips i ii iii".split()
)
DRAFTED_LOGIT = 0.2  # a confirmed sentence in the model's words reads better than a raw one


@dataclass(frozen=True)
class Unit:
    source: int  # index of its passage among the chunks, from 0
    text: str
    drafted: bool = False  # written by the model and confirmed by the claim check


@dataclass(frozen=True)
class Weights:
    coef: np.ndarray
    intercept: float


def features(
    want: Asked,
    similarity: Sequence[float],
    chunks: Sequence[Chunk],
    units: Sequence[Unit],
    rarity: Rarity | None,
) -> np.ndarray:
    """One row of FEATURES per unit; ``similarity`` is each unit's cosine with the question."""
    sims = np.asarray(similarity, dtype=float)
    names = [n for n in want.names if not generic(n)]
    best_in: dict[int, float] = {}
    for unit, sim in zip(units, sims, strict=True):
        best_in[unit.source] = max(best_in.get(unit.source, -1.0), float(sim))
    kinds = [want.kind == k for k in ("date", "figure", "name")]
    before: dict[int, str] = {}  # the sentence before, by passage: what "it" may name
    passage_cover: dict[int, float] = {}
    rows = []
    for unit, sim in zip(units, sims, strict=True):
        chunk = chunks[unit.source]
        text = unit.text
        first = unit.source not in before
        previous = "" if unit.drafted else before.get(unit.source, "")
        around = f"{chunk.title} {chunk.heading} {previous}"
        if not unit.drafted:
            before[unit.source] = text
        if unit.source not in passage_cover:
            passage_cover[unit.source] = coverage(
                want, chunk.text, f"{chunk.title} {chunk.heading}", rarity
            )
        fit = answer_fit(want, text)
        in_context = f"{chunk.title} {chunk.heading} {text}"
        head = bool(want.head) and head_in(want.head, text)
        rows.append(
            [
                sim,
                0.0,
                sim - best_in[unit.source],
                coverage(want, text, "", rarity),
                coverage(want, text, around, rarity),
                0.0,
                passage_cover[unit.source],
                fit,
                float(fit > 0 and want.kind != "fact"),
                *map(float, kinds),
                *(fit * k for k in kinds),
                1.0 / (1 + unit.source),
                float(first),
                math.log1p(len(text.split())),
                _share(names, text),
                _share(names, in_context),
                float(head),
                float(head and want.counted and counts(want.head, text)),
                float(bool(want.values) and all(v in text for v in want.values)),
                float(text.count("|") >= 2),
            ]
        )
    table = np.asarray(rows, dtype=float).reshape(len(rows), len(FEATURES))
    if len(table):
        for gap, of in (("similarity_gap", "similarity"), ("coverage_gap", "coverage_in_context")):
            column = table[:, column_of(of)]
            table[:, column_of(gap)] = column - column.max()
    return table


def column_of(feature: str) -> int:
    return FEATURES.index(feature)


def name_words(want: Asked) -> set[str]:
    """The lower-case words of the names a question mentions."""
    return {w.lower() for n in want.names for w in n.split()}


class Rarity:
    """How rare each word stem is among the indexed passages: a question word found in few
    passages (employ, fine) says more about what is asked than one found everywhere (released)."""

    def __init__(self, counts: dict[str, int], total: int) -> None:
        self.counts, self.total = counts, max(total, 1)

    def weight(self, word: str) -> float:
        return math.log((self.total + 1) / (self.counts.get(word, 0) + 1)) + 1.0

    def unseen(self, stems: Iterable[str]) -> bool:
        """No passage holds any of ``stems``: the word cannot tell one passage from another."""
        return not any(self.counts.get(s, 0) for s in stems)


def coverage(
    want: Asked, sentence: str, context: str, rarity: Rarity | None = None, skip: str = ""
) -> float:
    """Share of the question's subject words in the sentence, each weighted by its rarity; words
    found only in ``context`` (the passage's title and heading, or the whole passage) count half.
    ``skip`` leaves out the words of a name the question is wrong about."""
    terms = [t for t in want.terms if not skip or t not in skip.lower()]
    if rarity and terms:
        # A common word no passage holds ("supposed to last", "straight away") would weigh the
        # most and sink every passage alike, unless a value in its unit stands for it; a name's
        # word no passage holds ("ERNIE 7 Ultra") says the subject is not in the sources, and
        # so do such words when they are half the question ("a recipe for a lemon tart").
        named, said = name_words(want), f"{sentence} {context}"
        heard = [
            t for t in terms
            if t in named or not rarity.unseen(same_event(t)) or measured_in(t, said)
        ]  # fmt: skip
        if 2 * len(heard) > len(terms):
            terms = heard
    return share(terms, sentence, context, rarity) if terms else 1.0


def share(words: Iterable[str], sentence: str, context: str, rarity: Rarity | None) -> float:
    """Rarity-weighted share of ``words`` in ``sentence``; those only in ``context`` count half."""
    own, around = stems(sentence), stems(context)
    score = total = 0.0
    for word in words:
        key = stem(word)
        weight = rarity.weight(key) if rarity else 1.0
        total += weight
        same = same_event(word)
        if same & own or measured_in(word, sentence):
            score += weight
        elif same & around or measured_in(word, context):
            score += weight / 2
    return score / total if total else 0.0


def generic(name: str) -> bool:
    """Names too common to say what a question is about (AI, US, China)."""
    return name.lower() in _COMMON or len(name) < 2


def _share(names: Sequence[str], text: str) -> float:
    return sum(mentions(text, n) for n in names) / len(names) if names else 1.0


def likelihoods(rows: np.ndarray, units: Sequence[Unit]) -> list[float]:
    """The chance each unit states the answer, by the fitted weights."""
    if not len(rows):
        return []
    weights = load_weights()
    drafted = np.asarray([u.drafted for u in units], dtype=float)
    logits = rows @ weights.coef + weights.intercept + DRAFTED_LOGIT * drafted
    return [float(p) for p in 1.0 / (1.0 + np.exp(-logits))]


@lru_cache(maxsize=1)
def load_weights() -> Weights:
    raw = json.loads(resources.files("assistant").joinpath("selector.json").read_text())
    return weights_from(raw)


def weights_from(raw: dict[str, object]) -> Weights:
    names = raw.get("features")
    if names != list(FEATURES):
        raise ConfigError(
            "assistant/selector.json was fitted for other features than this version computes; "
            "run `python scripts/train_selector.py` to fit it again."
        )
    coef = raw.get("coef")
    intercept = raw.get("intercept")
    if not isinstance(coef, list) or not isinstance(intercept, int | float):
        raise ConfigError("assistant/selector.json lacks its coef list or intercept number.")
    return Weights(np.asarray(coef, dtype=float), float(intercept))
