"""Words the briefs and the questions use for the same thing or event. Written by hand: the
bundled embedder scores whole sentences, not one word against another.

Two tables, because they are used at two strengths. Coverage (how much of the question a passage
speaks of) counts a word's whole event group as the word: "came into force" for "took effect".
A count asked of a word ("how many people") may be given of the words the briefs count it by
("employees"), but not always the other way round: a count of employees is not a count of all
the people involved."""

from __future__ import annotations

import re
from functools import lru_cache

from assistant.text import stem

_EVENTS = (
    "release released launch launched unveil unveiled introduce introduced debut debuted",
    "effect effective force apply applied",
    "ban banned prohibit prohibited bar barred forbid forbade",
    "blacklist blacklisted entity",
    "buy bought purchase purchased acquire acquired acquisition takeover",
    "fine fined penalty penalties",
    "found founded establish established",
    "sign signed endorse endorsed signatory signatories",
    "revenue revenues sales",
    "staff employees workers headcount",
    "rename renamed rebrand rebranded",
    "remove removed strip stripped scrap scrapped",
    "cut reduce reduced lower lowered slash slashed",
    "freeze frozen moratorium pause paused suspend suspended suspension",
    "fab fabs plant plants factory factories",
    "start started begin began commence commenced",
    "represent represented speak spoke",
)
_COUNTED_AS = {
    "people": ("employees", "staff", "workers", "researchers", "people", "employ"),
    "companies": ("firms", "entities", "companies", "organisations", "businesses"),
    "organisations": ("firms", "entities", "companies", "organizations", "bodies"),
    "organizations": ("firms", "entities", "companies", "organisations", "bodies"),
    "firms": ("companies", "entities", "businesses"),
    "gpus": ("gpus", "chips", "accelerators", "gpu"),
}


@lru_cache(maxsize=1)
def _groups() -> dict[str, frozenset[str]]:
    found: dict[str, frozenset[str]] = {}
    for group in _EVENTS:
        keys = frozenset(stem(w) for w in group.split())
        for key in keys:
            found[key] = found.get(key, frozenset()) | keys
    return found


def same_event(word: str) -> frozenset[str]:
    """The stems that name the same event or thing as ``word``'s stem, itself included."""
    key = stem(word)
    return _groups().get(key, frozenset((key,)))


def counted_as(head: str) -> frozenset[str]:
    """The stems a count of ``head`` may be given of: "employees" for "people"; "hours" for
    "GPU-hours", which the briefs also write "GPU hours"."""
    last = head.rsplit("-", 1)[-1]
    return frozenset(stem(w) for w in (head, last, *_COUNTED_AS.get(head, ())))


# A measure the question names is spoken of by a value in its unit: "speed" by "400 GB/s".
_IN_UNITS = {
    stem(word): pattern
    for words, pattern in (
        ("speed bandwidth throughput", re.compile(r"\d\s*(?:[KMGT]B/s|[KMGT]bit/s|[GT]bps|GT/s)")),
        ("power", re.compile(r"\d\s*(?:[kMG]?W|kilowatts?|megawatts?|gigawatts?)\b")),
    )
    for word in words.split()
}


def measured_in(word: str, text: str) -> bool:
    """``text`` gives a value in the unit of the measure ``word`` names."""
    pattern = _IN_UNITS.get(stem(word))
    return bool(pattern and pattern.search(text))
