"""Citations: parse the model's [n] markers, check every sentence against the passage it cites,
attach citations to supported sentences that carry none, and renumber in order of first use."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from assistant.judging import Judge
from assistant.records import Chunk, Citation, SentenceSupport, Support
from assistant.sanitizing import is_instruction
from assistant.text import (
    Similarity,
    answer_sentences,
    key_terms,
    numbers,
    similarities,
    split_sentences,
)
from assistant.verifying import as_text, compare

_MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
SUPPORTED_OVERLAP, WEAK_OVERLAP = 0.6, 0.35
SUPPORTED_SIM, WEAK_SIM = 0.72, 0.55
SPAN_SENTENCES = 3  # most sentences of a passage that may carry one claim


@dataclass(frozen=True)
class Evidence:
    support: Support
    quote: str
    start: int  # offset of the quote inside the chunk text
    score: float
    reason: str = ""  # why it is not supported, for a person to read
    topical: Support = "unsupported"  # what the words alone say, before the facts are checked
    stated: str = ""  # the sentences of the passage the facts were looked for in
    context: str = ""  # the passage's title and headings


def markers(sentence: str) -> list[int]:
    return [int(n) for group in _MARKER.findall(sentence) for n in re.split(r"\s*[,;]\s*", group)]


def strip_markers(sentence: str) -> str:
    return re.sub(r"\s+([.,;:!?])", r"\1", _MARKER.sub("", sentence)).strip()


class Checker:
    def __init__(
        self, chunks: Sequence[Chunk], embedder: Similarity, judge: Judge | None = None
    ) -> None:
        self.chunks = list(chunks)
        self.embedder = embedder
        self.judge = judge
        self._units = [
            (i, s, c.text.find(s))
            for i, c in enumerate(self.chunks)
            for s in split_sentences(c.text)
            if not s.startswith("#") and not is_instruction(s)  # orders in a source prove nothing
        ]
        self._unit_vectors: list[list[float]] | None = None

    def evidence(self, sentence: str, index: int, vector: list[float]) -> Evidence:
        """How well chunk ``index`` supports ``sentence``: the passage must be about it, and
        every fact of the sentence must be stated by the span that carries it."""
        chunk = self.chunks[index]
        quote_text, start, best_sim, stated = self.span(sentence, index, vector)
        context = " ".join((chunk.title, chunk.heading, *_headings(chunk.text)))
        terms = key_terms(sentence)
        overlap = len(terms & key_terms(f"{stated} {context}")) / len(terms) if terms else 0.0
        if overlap >= SUPPORTED_OVERLAP or (best_sim >= SUPPORTED_SIM and overlap >= WEAK_OVERLAP):
            support: Support = "supported"
        elif overlap >= WEAK_OVERLAP or best_sim >= WEAK_SIM:
            support = "weak"
        else:
            support = "unsupported"
        score = round(max(overlap, best_sim), 4)
        reason, topical = "", support
        if support != "unsupported":
            problems = compare(sentence, stated, context)
            if problems:
                support, reason = "unsupported", as_text(problems)
            elif self.judge is not None:
                support, reason = self.judge.decide(sentence, stated, support)
        return Evidence(support, quote_text, start, score, reason, topical, stated, context)

    def span(self, sentence: str, index: int, vector: list[float]) -> tuple[str, int, float, str]:
        """The sentence of chunk ``index`` that carries ``sentence``, joined by up to two more
        when they hold words of the claim that the best one lacks (a claim may join two
        sentences). Returns the quote (the passage from the first to the last of them), its
        offset, the best similarity, and the chosen sentences alone, which the facts must be in."""
        chunk = self.chunks[index]
        own = [
            (unit, max(pos, 0), uvec)
            for (ci, unit, pos), uvec in zip(self._units, self.unit_vectors(), strict=True)
            if ci == index
        ]
        sims = similarities(vector, [uvec for _, _, uvec in own])
        units = [(unit, pos, sim) for (unit, pos, _), sim in zip(own, sims, strict=True)]
        if not units:
            return chunk.text[:200], 0, -1.0, chunk.text[:200]
        terms = key_terms(sentence) | numbers(sentence)
        covered = [terms & (key_terms(u) | numbers(u)) for u, _, _ in units]
        best = max(
            range(len(units)), key=lambda k: units[k][2] + len(covered[k]) / (len(terms) or 1)
        )
        chosen = [best]
        # Only words may pull a sentence in: a figure alone would fetch the one it was swapped for.
        missing = {t for t in terms - covered[best] if not any(c.isdigit() for c in t)}
        while len(chosen) < SPAN_SENTENCES:
            gain = {k: len(covered[k] & missing) for k in range(len(units)) if k not in chosen}
            pick = max(gain, key=lambda k: (gain[k], -abs(k - best)), default=None)
            if pick is None or gain[pick] < 2:
                break
            chosen.append(pick)
            missing -= covered[pick]
        parts = sorted((units[k] for k in chosen), key=lambda u: u[1])
        first, last = parts[0], parts[-1]
        quote_text = chunk.text[first[1] : last[1] + len(last[0])]
        if not all(u[0] in quote_text for u in parts):
            quote_text = " ".join(u[0] for u in parts)
        return quote_text, first[1], units[best][2], " ".join(u[0] for u in parts)

    def joint(self, sentence: str, found: dict[int, Evidence]) -> dict[int, Evidence]:
        """A sentence citing several passages may take its facts from each of them: checked
        against their spans together when none states it alone."""
        topical = {i: e for i, e in found.items() if e.topical != "unsupported"}
        if len(topical) < 2 or any(e.support != "unsupported" for e in found.values()):
            return found
        stated = " ".join(e.stated for e in topical.values())
        problems = compare(sentence, stated, " ".join(e.context for e in topical.values()))
        if problems:
            return found
        return {i: replace(e, support=e.topical, reason="") for i, e in topical.items()}

    def unit_vectors(self) -> list[list[float]]:
        if self._unit_vectors is None:
            self._unit_vectors = self.embedder.embed_documents([u for _, u, _ in self._units])
        return self._unit_vectors


def _headings(text: str) -> list[str]:
    return [line.lstrip("# ") for line in text.splitlines() if line.startswith("#")]


_RANK = {"supported": 2, "weak": 1, "unsupported": 0}


@dataclass(frozen=True)
class CheckedAnswer:
    text: str  # the answer with its markers renumbered in order of first use
    citations: list[Citation]  # the cited sources only
    sentences: list[SentenceSupport]  # every sentence with its support
    removed: list[str]  # markers that named no given source


def check_answer(
    text: str, chunks: Sequence[Chunk], embedder: Similarity, judge: Judge | None = None
) -> CheckedAnswer:
    """Checks every sentence of ``text`` against the passages it cites (or, when it cites none,
    any passage that states it). ``judge`` (an NLI model or a remote model) is asked about
    sentences whose facts all check out."""
    checker = Checker(chunks, embedder, judge)
    # Small models repeat themselves: a sentence said twice is kept once.
    said = answer_sentences(text)
    sentences = list({strip_markers(s): s for s in reversed(said)}.values())[::-1]
    plain = [strip_markers(s) for s in sentences]
    vectors = embedder.embed_documents(plain) if plain else []
    removed: list[str] = []
    numbering: dict[int, int] = {}  # prompt source index (0-based) -> citation number
    best: dict[int, Evidence] = {}
    out_sentences: list[SentenceSupport] = []
    out_text: list[str] = []
    for sentence, bare, vector in zip(sentences, plain, vectors, strict=True):
        cited = []
        for n in markers(sentence):
            if 1 <= n <= len(chunks):
                cited.append(n - 1)
            else:
                removed.append(f"[{n}]")
        found = {i: checker.evidence(bare, i, vector) for i in dict.fromkeys(cited)}
        found = checker.joint(bare, found)
        if not found:
            candidates = {i: checker.evidence(bare, i, vector) for i in range(len(chunks))}
            strong = {i: e for i, e in candidates.items() if e.support == "supported"}
            if strong:
                top = max(strong, key=lambda i: strong[i].score)
                found = {top: strong[top]}
        level = max((_RANK[e.support] for e in found.values()), default=0)
        support: Support = ("unsupported", "weak", "supported")[level]
        kept = [i for i in found if found[i].support != "unsupported"] or list(found)
        for i in kept:
            numbering.setdefault(i, len(numbering) + 1)
            if i not in best or found[i].score > best[i].score:
                best[i] = found[i]
        nums = tuple(numbering[i] for i in kept)
        quote_text = max((found[i] for i in kept), key=lambda e: e.score).quote if kept else ""
        reason = _reason(support, bool(cited), bool(kept), found.values())
        out_sentences.append(
            SentenceSupport(
                bare, nums, support, tuple(chunks[i].id for i in kept), quote_text, reason
            )
        )
        out_text.append(_with_markers(bare, nums))
    citations = [
        Citation(
            n=n,
            chunk=chunks[i],
            quote=best[i].quote,
            quote_start=chunks[i].start + best[i].start,
            quote_end=chunks[i].start + best[i].start + len(best[i].quote),
            score=best[i].score,
        )
        for i, n in sorted(numbering.items(), key=lambda item: item[1])
    ]
    return CheckedAnswer(" ".join(out_text), citations, out_sentences, removed)


def _with_markers(sentence: str, nums: tuple[int, ...]) -> str:
    tags = "".join(f" [{n}]" for n in nums)
    if sentence and sentence[-1] in ".!?":
        return f"{sentence[:-1]}{tags}{sentence[-1]}"
    return sentence + tags


def _reason(
    support: Support, had_marker: bool, attached: bool, found: Iterable[Evidence] = ()
) -> str:
    if support == "supported":
        return "" if had_marker else "citation attached: a retrieved passage states this"
    stated = [e.reason for e in found if e.reason and e.support == support]
    if stated:
        return stated[0]
    if support == "weak":
        return "the cited passage only partly states this"
    if not had_marker and not attached:
        return "no retrieved passage states this"
    return "the cited passage does not state this (terms or numbers differ)"
