"""Text helpers every stage shares: sentences, key terms, word stems, and vector similarity."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Protocol

# Bold counts as punctuation around a sentence end: "?** Next", ". **Next".
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”')\]*]*\s+(?=[\"“(\[]?\**[A-Z0-9])")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_LOWER_START = re.compile(r"(?<=[\w)\]%])\.\s+(?=[a-z])")
_ABBREVIATIONS = frozenset(
    "vs approx etc cf no nos fig al inc co corp ltd jr sr st mr ms dr".split()
)
_TITLE = frozenset("mr mrs ms dr st jr sr vs cf approx al e.g i.e".split())  # never end a sentence
_NUMBERED = frozenset("no nos fig figs p pp vol art sec".split())  # not before a number: "No. 6"
_ZONE = re.compile(r"(?:[A-Z]{1,2}[SD]T|GMT|UTC|BST|CET|CEST|JST|KST|HKT|SGT)\b")  # "a.m. EDT"
_INITIALISM = re.compile(r"^(?:[a-z]\.)+[a-z]$")  # "H.R. 4346" (a bill number)
# "qwen2.5" is one term: it names another model than qwen2
_TERM = re.compile(r"[A-Za-z][A-Za-z0-9\-]+(?:\.\d+)*|\d+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_STEMMED = re.compile(r"[a-z0-9][a-z0-9\-\.]*[a-z0-9]|[a-z0-9]")
_STOP = frozenset(
    (
        "a an and are as at be been but by can could did do does for from had has have he her his "
        "how i if in into is it its may more most no not of on or our out over she so such than "
        "that the their them then there these they this those to was we were what when where "
        "which who why will with would you also about after before between during under up until "
        "while all any each other some only own same very just one two new said says"
    ).split()
)


class Similarity(Protocol):
    """Anything that embeds texts to unit vectors (the Embedder does)."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]: ...


def split_sentences(text: str) -> list[str]:
    """Sentences of prose; a heading or a list item stands on its own, and the lines of a
    hard-wrapped paragraph are joined first."""
    blocks: list[str] = []
    joinable = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            joinable = False
            continue
        starts_block = line.startswith("#") or bool(_BULLET.match(line))
        if joinable and not starts_block:
            blocks[-1] += " " + line
        else:
            blocks.append(_BULLET.sub("", line))
        joinable = not line.startswith("#")
    return [s.strip() for block in blocks for s in _split_prose(block) if s.strip()]


def _split_prose(block: str) -> list[str]:
    pieces: list[str] = []
    start = 0
    for m in _SENTENCE_END.finditer(block):
        word = (block[start : m.start()].rsplit(None, 1) or [""])[-1].strip(".(\"[“'").lower()
        after = block[m.end() : m.end() + 1]
        numbered = word in _NUMBERED or bool(_INITIALISM.match(word))
        clock = word in ("a.m", "p.m") and _ZONE.match(block, m.end()) is not None
        if word in _TITLE or (numbered and after.isdigit()) or clock:
            continue  # "Supplement No. 6", "H.R. 4346", "Dr. Lee", "12:01 a.m. EDT": one sentence
        pieces.append(block[start : m.start()])
        start = m.end()
    pieces.append(block[start:])
    return pieces


def answer_sentences(text: str) -> list[str]:
    """The sentences of an answer. A model (or a list item copied from a passage) may start a
    sentence in lower case; each is checked on its own, except after an abbreviation."""
    out = []
    for sentence in split_sentences(text):
        start = 0
        for m in _LOWER_START.finditer(sentence):
            word = sentence[: m.start()].rsplit(" ", 1)[-1].lower()
            if "." not in word and word not in _ABBREVIATIONS:
                out.append(sentence[start : m.start() + 1].strip())
                start = m.end()
        out.append(sentence[start:].strip())
    return [s for s in out if s]


def key_terms(text: str) -> set[str]:
    """The lower-case words of ``text`` that say what it is about (no stop words, 3+ letters)."""
    return {w.lower() for w in _TERM.findall(text) if w.lower() not in _STOP and len(w) > 2}


def numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


def stems(text: str) -> set[str]:
    """The Snowball stems of the words of ``text``."""
    return {stem(w) for w in _STEMMED.findall(text.lower().replace("**", ""))}


@lru_cache(maxsize=65536)
def stem(term: str) -> str:
    return str(_stemmer().stemWord(term.lower()))


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer  # PyStemmer (Snowball), which the BM25 index already uses

    return Stemmer.Stemmer("english")


def similarities(vector: Sequence[float], vectors: Sequence[Sequence[float]]) -> list[float]:
    """The dot product of ``vector`` with each of ``vectors``: cosine similarity for the unit
    vectors the embedder returns."""
    import numpy as np

    if not vectors:
        return []
    scores = np.asarray(vectors, dtype=np.float64) @ np.asarray(vector, dtype=np.float64)
    return [float(s) for s in scores]
