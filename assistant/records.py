"""The small typed records that cross module boundaries."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal
from urllib.parse import quote

from assistant.errors import ConfigError

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# What a front-end passes to the core at most: each refuses more with its own clear error.
MAX_TEXT_CHARS = 4000  # one question, one turn of a conversation, or one search query
MAX_MESSAGES = 100  # turns of a conversation
MAX_FILTER_VALUES = 50
MAX_FILTER_CHARS = 500

Support = Literal["supported", "weak", "unsupported"]


@dataclass(frozen=True)
class Section:
    """A run of a document's extracted text under one heading path or on one PDF page."""

    text: str
    offset: int  # where ``text`` starts in the document's extracted text
    heading: str = ""  # "Title > Section > Subsection"
    page: int | None = None


@dataclass
class Document:
    path: str  # relative to the corpus folder, with forward slashes
    text: str
    sections: list[Section]
    title: str
    meta: dict[str, Any] = field(default_factory=dict)  # front matter: url, publisher, date, ...


@dataclass(frozen=True)
class Chunk:
    id: str
    text: str
    source: str
    title: str
    heading: str
    page: int | None
    start: int
    end: int
    position: int
    url: str = ""
    publisher: str = ""
    date: str = ""  # ISO date of the original
    topics: tuple[str, ...] = ()
    doc_hash: str = ""
    accurate_as_of: str = ""  # ISO date through which the source's facts were checked
    superseded_by: tuple[str, ...] = ()  # slugs of the sources that replaced this one

    @property
    def location(self) -> str:
        if self.page is not None:
            return f"{self.source}, page {self.page}"
        return f"{self.source} § {self.heading}" if self.heading else self.source


@dataclass(frozen=True)
class Filters:
    """Narrow a search; empty fields do not filter."""

    sources: tuple[str, ...] = ()  # corpus paths, or folders ending in "/"
    publishers: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    since: str = ""  # ISO date, inclusive
    until: str = ""

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            problem = date_problem(getattr(self, name), name)
            if problem:
                raise ValueError(problem)

    @classmethod
    def parse(
        cls,
        sources: Sequence[str] | None = None,
        publishers: Sequence[str] | None = None,
        topics: Sequence[str] | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> Filters:
        """Filters from what a front-end received (a form, a request, arguments), checked:
        ConfigError names the field that is wrong and how to write it."""
        for name, values in (("sources", sources), ("publishers", publishers), ("topics", topics)):
            _check_values(name, values)
        start, end = _day(since, "since"), _day(until, "until")
        if start and end and start > end:
            raise ConfigError(f"The since date {start} is after the until date {end}; swap them.")
        return cls(tuple(sources or ()), tuple(publishers or ()), tuple(topics or ()), start, end)

    def __bool__(self) -> bool:
        return any((self.sources, self.publishers, self.topics, self.since, self.until))

    def accepts(self, chunk: Chunk) -> bool:
        if self.sources and not any(
            chunk.source == s or (s.endswith("/") and chunk.source.startswith(s))
            for s in self.sources
        ):
            return False
        if self.publishers and chunk.publisher not in self.publishers:
            return False
        if self.topics and not set(self.topics) & set(chunk.topics):
            return False
        if self.since and not (chunk.date and chunk.date >= self.since):
            return False
        return not (self.until and not (chunk.date and chunk.date <= self.until))


def date_problem(value: object, name: str) -> str:
    """What is wrong with ``value`` as the day ``name`` (YYYY-MM-DD, or empty); "" if nothing."""
    if not isinstance(value, str):
        return f"The {name} date must be text written YYYY-MM-DD."
    if not value:
        return ""
    try:
        if not _ISO_DATE.fullmatch(value):
            raise ValueError(value)
        dt.date.fromisoformat(value)
    except ValueError:
        shown = value[:MAX_FILTER_CHARS]
        return f"The {name} date {shown!r} is not a date: write it as YYYY-MM-DD, e.g. 2023-10-17."
    return ""


def _day(value: object, name: str) -> str:
    text = value.strip() if isinstance(value, str) else "" if value is None else value
    problem = date_problem(text, name)
    if problem:
        raise ConfigError(problem)
    return str(text)


def _check_values(name: str, values: object) -> None:
    if values is not None and not isinstance(values, (list, tuple)):
        raise ConfigError(f"The {name} filter must be a list of names.")
    if len(values or ()) > MAX_FILTER_VALUES:
        raise ConfigError(f"The {name} filter holds more than {MAX_FILTER_VALUES} values.")
    if any(not isinstance(v, str) or len(v) > MAX_FILTER_CHARS for v in values or ()):
        raise ConfigError(f"Each {name} filter value must be text of at most {MAX_FILTER_CHARS}.")


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float  # fused score used for the ranking
    similarity: float | None = None  # dense cosine similarity
    bm25: float | None = None
    dense_rank: int | None = None
    bm25_rank: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if k != "chunk"}
        data.update(chunk_to_dict(self.chunk))
        return data


@dataclass(frozen=True)
class Citation:
    n: int
    chunk: Chunk
    quote: str  # the words of the passage that support the answer
    quote_start: int  # offsets of the quote in the document's extracted text
    quote_end: int
    score: float

    @property
    def link(self) -> str:
        return text_fragment_link(self.chunk.url, self.quote)

    def to_dict(self) -> dict[str, Any]:
        data = chunk_to_dict(self.chunk)
        data.update(
            n=self.n,
            snippet=self.chunk.text,
            quote=self.quote,
            quote_start=self.quote_start,
            quote_end=self.quote_end,
            score=self.score,
            link=self.link,
        )
        return data


@dataclass(frozen=True)
class SentenceSupport:
    text: str
    citations: tuple[int, ...]  # numbers of the citations it carries
    support: Support
    chunk_ids: tuple[str, ...] = ()
    quote: str = ""
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Answer:
    question: str
    text: str
    citations: list[Citation]
    sentences: list[SentenceSupport] = field(default_factory=list)
    abstained: bool = False
    backend: str = ""
    query: str = ""  # the standalone query used for retrieval
    removed_markers: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "backend": self.backend,
            "query": self.query,
            "citations": [c.to_dict() for c in self.citations],
            "sentences": [s.to_dict() for s in self.sentences],
            "removed_markers": self.removed_markers,
            "notes": self.notes,
        }


@dataclass(frozen=True)
class Token:
    """A piece of the answer as the model writes it."""

    text: str


@dataclass(frozen=True)
class Final:
    """The last event of a stream: the checked answer."""

    answer: Answer


StreamEvent = Token | Final


def text_fragment_link(url: str, quote_text: str) -> str:
    """A link that opens ``url`` scrolled to the quoted words (the URL text-fragment syntax)."""
    if not url:
        return ""
    words = quote_text.split()
    if not words:
        return url
    if len(words) <= 8:
        fragment = quote(" ".join(words), safe="")
    else:
        fragment = f"{quote(' '.join(words[:4]), safe='')},{quote(' '.join(words[-4:]), safe='')}"
    return f"{url.split('#')[0]}#:~:text={fragment}"


def chunk_to_dict(chunk: Chunk) -> dict[str, Any]:
    data = asdict(chunk)
    data["chunk_id"] = data.pop("id")
    data["topics"] = list(chunk.topics)
    data["location"] = chunk.location
    return data
