"""Composing an answer from sentences that answer the question: the passages' own sentences and
the model's checked ones, scored by closeness to the question, by how much of what it asks about
they cover, and by whether they hold an answer of the asked type (a date for "when"). When none
does, the answer is an abstention that says why; when the question takes for granted a name or
value the sources contradict, the answer corrects it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from assistant.questions import MONEY, Asked, bare, counts, head_in, mentions, premise_names
from assistant.records import Chunk, SentenceSupport
from assistant.selecting import (
    FEATURES,
    Rarity,
    Unit,
    column_of,
    coverage,
    features,
    generic,
    likelihoods,
    name_words,
    share,
)
from assistant.text import Similarity, key_terms, numbers, similarities, split_sentences
from assistant.text import stem as _stem
from assistant.text import stems as _stems

MAX_SENTENCES = 3
NEW_WORDS = 2  # a model's sentence must have this many words (stems) the question lacks
SIDE_SHARE = 0.34  # a sentence speaks of a comparison's side when it holds this share of its words
# Chosen on the tuning questions with the fitted selector (scripts/train_selector.py): a second
# and third sentence often hold the fact the first misses, so they need only a fifth of its
# chance; whether to answer at all rests on the coverage floor and the answer-type checks.
MARGIN = 0.2  # further sentences must have this share of the best one's chance
ANSWER_FLOOR = 0.05  # chance below which a sentence does not answer the question
COVERAGE_FLOOR = 0.32  # rarity-weighted share of the question's words its passage holds
CONTENT_FLOOR = 0.3  # ... of its words that are not names, in the answering passage (tuned so)
# A sentence this likely answers though its passage says what is asked in other words than the
# question's (a fresh paraphrase: "fabricate" for "made by"): the content floor does not apply.
SURE = 0.4
_CODE = re.compile(r"[A-Za-z]+\d|\d+[A-Za-z]")  # model and chip names: H20, K2, 990Q, 9000S
_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_MONTH_NAMES = frozenset(_MONTHS.split("|"))
_FULL_DATE = re.compile(rf"\b\d{{1,2}}\s+(?:{_MONTHS})\s+(?:19|20)\d\d\b")
_DATED_EVENT = re.compile(
    r"\b(?:announced|effective|released|launched|signed|published|issued|founded|opened|closed|"
    r"completed|began|started)\s+(?:on\s+)?\d",
    re.I,
)
_STATED_DATE = re.compile(rf"\b(?:(?:{_MONTHS})\s+)?(?:19|20)\d\d\b")
# An amount a question states: money, or a count in millions and up ("671 billion parameters").
# The count first, so "500 million yuan" is read as "500 million", which "RMB 500 million" states.
# ... or a measure in its unit ("800 GB/s", "5 nm")
_MEASURE = re.compile(r"(?<![\d.,])\d[\d.,]*\s?(?P<unit>[GT]B/s|GB|TB|nm|GW|MW)(?![A-Za-z/])", re.I)
_STATED_AMOUNT = re.compile(
    rf"(?<![\d.,])\d[\d.,]*\s*(?:billion|million|trillion)\b|{MONEY.pattern}|{_MEASURE.pattern}",
    re.I,
)
_COUNT_DIGITS = {
    w: str(i)
    for i, w in enumerate("one two three four five six seven eight nine ten".split(), start=1)
} | {"twelve": "12"}
_STATED_SPAN = re.compile(  # "for two years", "a 90-day pause"; not "three days later"
    rf"\b(?:\d+|{'|'.join(_COUNT_DIGITS)})[\s-]"
    r"(?:years?|months?|weeks?|days?)\b(?!\s+(?:later|earlier|after|before|ago|on)\b)",
    re.I,
)
_WHY = re.compile(r"^\s*(?:and\s+|but\s+|so\s+)?(?:why|how come)\b", re.I)
_NOT_AN_ANSWER = re.compile(
    r"^(?:original |primary |main )?sources?\b|^see\b|\?$|^(?:last )?checked\b", re.I
)
_LABEL = re.compile(r"^\s*(?:[-*•]\s*)?\*\*[^*]{1,60}?[.:]\*\*\s*")  # "**Size.** " before a fact


class Memo:
    """An embedder that remembers the vectors of one answer's texts (the sentences of the same
    passages are embedded for choosing, and again by the claim check)."""

    def __init__(self, embedder: Similarity) -> None:
        self.embedder = embedder
        self.vectors: dict[str, list[float]] = {}

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        todo = list(dict.fromkeys(t for t in texts if t not in self.vectors))
        if todo:
            self.vectors.update(zip(todo, self.embedder.embed_documents(todo), strict=True))
        return [self.vectors[t] for t in texts]


@dataclass(frozen=True)
class Candidate:
    source: int  # index of its passage among the chunks, from 0
    text: str
    relevance: float
    coverage: float
    typed: bool
    drafted: bool = False  # written by the model and confirmed by the claim check


@dataclass
class Composition:
    chosen: list[Candidate] = field(default_factory=list)
    why: str = ""  # set when no sentence answers the question
    # a name or year of the question the sources contradict, also when declining
    premise: str = ""


def clean(sentence: str) -> str:
    """A sentence without its Markdown; a bold label is dropped ("**Size.** ") unless it is a
    date, which is what the rest of a timeline entry happened on ("**31 March 2025:** ..."), or
    a whole item of its own."""
    label = _LABEL.match(sentence)
    alone = label is not None and not sentence[label.end() :].strip()
    dated = label is not None and not alone and _STATED_DATE.search(label.group(0)) is not None
    # "**128K-token context window.**" is the fact; "**Chips used:**" only leads in to one
    whole = label is not None and alone and ".**" in label.group(0)
    # "**H200:** 141 GB of HBM3E" is about the H200, which the rest does not say again
    naming = label is not None and not alone and _names_something(label.group(0))
    body = sentence if dated or whole or naming else _LABEL.sub("", sentence)
    text = " ".join(body.replace("**", "").lstrip("-*• ").split())
    return text.rstrip(".;:").strip()


def _names_something(label: str) -> bool:
    """A label that names a model, chip or organisation: a code ("H100 (SXM)") or a capitalised
    word after its first ("Qwen2.5-Max (January 29, 2025)", "The US as the top place")."""
    words = label.replace("*", " ").split()
    return bool(_CODE.search(label)) or any(w[:1].isupper() for w in words[1:])


def passage_sentences(chunks: Sequence[Chunk]) -> list[tuple[int, str]]:
    """The sentences of the passages that can state a fact: not headings, source lists or
    questions."""
    found = []
    for i, chunk in enumerate(chunks):
        for raw in split_sentences(chunk.text):
            heading = raw.lstrip().startswith("#")
            text = clean(raw.lstrip("# ") if heading else raw)
            words = len(text.split())
            long_enough = words >= 4 or (words == 3 and bool(numbers(text)))  # "128K-token ..."
            # a heading that dates an event states when ("Antimony: announced 15 August 2024,
            # effective 15 September 2024"), often nowhere else in its section
            stating = not heading or bool(_FULL_DATE.search(text) and _DATED_EVENT.search(text))
            if long_enough and stating and not _NOT_AN_ANSWER.search(text):
                found.append((i, text))
    return found


def drafted_units(
    sentences: Sequence[SentenceSupport], chunks: Sequence[Chunk], question: str
) -> list[tuple[int, str, bool]]:
    """The model's sentences that the claim check found supported, with their passage. A
    sentence that only says the question back (a small model's habit) is true but answers
    nothing, and would outscore every sentence of the passages for sounding like the question."""
    index = {c.id: i for i, c in enumerate(chunks)}
    asked_stems = _content(question)
    return [
        (index[s.chunk_ids[0]], clean(s.text), True) for s in sentences
        if s.support == "supported" and s.chunk_ids and s.chunk_ids[0] in index
        and len(_content(s.text) - asked_stems) >= NEW_WORDS
    ]  # fmt: skip


def _content(text: str) -> set[str]:
    return {_stem(w) for w in key_terms(text)}


def score(
    want: Asked, query: str, chunks: Sequence[Chunk], units: list[tuple[int, str, bool]],
    embedder: Similarity, rarity: Rarity | None = None,
) -> list[Candidate]:  # fmt: skip
    """``units`` are (passage index, sentence, drafted by the model); best first, each with the
    chance that it states the answer (see ``selecting``)."""
    rows, chosen = feature_rows(want, query, chunks, units, embedder, rarity)
    cover, fit = column_of("coverage_in_context"), column_of("answer_fit")
    found = [
        Candidate(u.source, u.text, round(p, 4), float(row[cover]), bool(row[fit] > 0), u.drafted)
        for u, p, row in zip(chosen, likelihoods(rows, chosen), rows, strict=True)
    ]
    return sorted(found, key=lambda c: -c.relevance)


def feature_rows(
    want: Asked, query: str, chunks: Sequence[Chunk], units: list[tuple[int, str, bool]],
    embedder: Similarity, rarity: Rarity | None = None,
) -> tuple[np.ndarray, list[Unit]]:  # fmt: skip
    chosen = [Unit(i, sentence, drafted) for i, sentence, drafted in units]
    if not chosen:
        return np.zeros((0, len(FEATURES))), []
    vectors = embedder.embed_documents([query, *(u.text for u in chosen)])
    sims = similarities(vectors[0], vectors[1:])
    return features(want, sims, chunks, chosen, rarity), chosen


def compose(
    want: Asked, candidates: list[Candidate], chunks: Sequence[Chunk], rarity: Rarity | None = None,
    per_side: Sequence[list[Candidate]] = (),
) -> Composition:  # fmt: skip
    """``per_side``: for a comparison, the candidates scored for each of its ``side_questions``."""
    missing = _unknown_codes(want, chunks)
    if missing:
        return Composition(why=f"no indexed source mentions {', '.join(missing)}")
    unknown = _said_unknown(want, candidates, chunks, rarity)
    if unknown is not None:
        title = chunks[unknown.source].title.split(":")[0]
        return Composition(why=f'the source on {title} says: "{unknown.text}"')
    pool = [c for c in candidates if c.typed] if want.kind != "fact" else candidates
    if not pool or pool[0].relevance < ANSWER_FLOOR:
        return Composition(why=_why_not(want, candidates, chunks))
    answering = [c for c in pool if c.relevance >= ANSWER_FLOOR]
    given = counts if want.counted else head_in
    if want.head and not any(given(want.head, c.text) for c in answering):
        return Composition(why=_why_not(want, candidates, chunks, want.head))
    # The likeliest sentence leads unless it is about a sibling of what is asked (V2 for V3) or
    # its passage does not speak of what is asked; then the likeliest one close to it that is.
    top = pool[0]
    named = [n for n in want.names if not generic(n) and mentions(_in_context(top, chunks), n)]
    tried = (
        c for c in answering
        if (c is top and (not want.counted or _counts_of(want, c)))
        or (
            c.relevance >= top.relevance * MARGIN
            and (not want.head or given(want.head, c.text))
            and all(mentions(_in_context(c, chunks), n) for n in named)  # not another's figure
        )
    )  # fmt: skip
    passing = ((c, _premise_if_answers(want, c, chunks, rarity)) for c in tried)
    best, premise = next(((c, p) for c, p in passing if p is not None), (top, None))
    if premise is None:
        premise = _contradicted(want, top, chunks)
        unnamed = _unnamed_codes(want, top, chunks[top.source], premise)
        if premise and not unnamed and (_WHY.match(want.question) or _measured(premise, top)):
            # A "why" built on what the sources contradict ("on hold for two years") is
            # corrected by its likeliest sentence, though no passage speaks of the reason asked.
            return Composition(chosen=[top], premise=premise)
        code = unnamed[0] if unnamed else ""
        # the premise is kept: the question asked without it may still be answered
        return Composition(why=_why_not(want, candidates, chunks, code=code), premise=premise)
    chosen = [best]
    floor = best.relevance * MARGIN
    for c in candidates:
        if len(chosen) >= MAX_SENTENCES or c.relevance < floor:
            break
        if (
            (c.typed or want.kind == "fact")
            and (not want.comparison or _adds(want, chosen, c))
            and not _unnamed_codes(want, c, chunks[c.source], premise)  # not a sibling's
        ):
            _add(chosen, c)
    if want.comparison:
        _cover_both_sides(want, candidates, chunks, chosen, floor * 0.85, rarity, per_side)
    return Composition(chosen=chosen, premise=premise)


# The briefs mark what is not known: "Not confirmed: the organisation's founding members ...",
# "It did not say which conditions were broken".
_UNKNOWN = re.compile(
    r"\b(?:not confirmed|not disclosed|not (?:publicly )?known|undisclosed|unknown|"
    r"(?:did|has|have|had) not (?:say|said|disclose|disclosed|give|given|specify|specified|"
    r"publish|published))\b",
    re.I,
)
UNKNOWN_SHARE = 0.8  # of the likeliest sentence's chance, for a statement that it is not known


def _said_unknown(
    want: Asked, candidates: list[Candidate], chunks: Sequence[Chunk], rarity: Rarity | None
) -> Candidate | None:
    """One of the two likeliest sentences, about as likely as the first, says that what is asked
    is not known, and it speaks of the question's subject: the answer is that the sources say
    so, not the next best figure."""
    if not candidates:
        return None
    for c in candidates[:2]:
        if not _UNKNOWN.search(c.text) or c.relevance < candidates[0].relevance * UNKNOWN_SHARE:
            continue
        chunk = chunks[c.source]
        # a wrong premise is corrected first; another version's unknown is not this one's
        if _contradicted(want, c, chunks) or _codes_not_named(want, c, chunk, ""):
            continue
        if coverage(want, c.text, _whole(chunk), rarity) >= COVERAGE_FLOOR:
            return c
    return None


def _counts_of(want: Asked, c: Candidate) -> bool:
    """A "how many" answer counts what is asked ("19 shareholders"), or is a table row, whose
    figures stand in cells beside the word."""
    return counts(want.head, c.text) or c.text.count("|") >= 2


def _premise_if_answers(
    want: Asked, candidate: Candidate, chunks: Sequence[Chunk], rarity: Rarity | None
) -> str | None:
    """None when ``candidate`` cannot answer: it names a sibling of what is asked, or its words
    and its passage's cover too little of the question; else the premise it contradicts, if any."""
    premise = _contradicted(want, candidate, chunks)
    chunk = chunks[candidate.source]
    if _unnamed_codes(want, candidate, chunk, premise):
        return None
    passage = _whole(chunk)
    if not premise and any(not mentions(passage, n) for n in _owners(want)):
        return None  # another company's figure: "SMIC's revenue" for "CXMT's revenue"
    if coverage(want, candidate.text, passage, rarity, skip=premise) < COVERAGE_FLOOR:
        return None
    if not premise and _other_stage(want, candidate, chunk):
        return None  # the date of the announcement is not the date it closed or took effect
    if _content_coverage(want, chunk, rarity) < CONTENT_FLOOR and candidate.relevance < SURE:
        return None
    return premise


# Stages of an event a date question may ask for; a sentence about another stage (the deal
# announced, not closed) does not give its date.
_CLOSING, _BEGINNING, _EFFECT = (
    frozenset(_stem(w) for w in group.split())
    for group in (
        "close closed closing complete completed completion finalise finalised finalize finalized",
        # founding is a beginning ("When did DeepSeek start?" is answered by "was founded")
        "begin began begun beginning start started commence commenced open opens opened available "
        "found founded establish established release released launch launched",
        "effect effective force",
    )
)
# Each stage a question asks for, and the stages a sentence may give it by: a duty "starts"
# when its rule takes effect, but a launch does not say when a rule took effect.
_STAGES = ((_CLOSING, _CLOSING), (_BEGINNING, _BEGINNING | _EFFECT), (_EFFECT, _EFFECT))


def _other_stage(want: Asked, candidate: Candidate, chunk: Chunk) -> bool:
    if want.kind != "date":
        return False
    asked_stems = _stems(want.question)
    said = _stems(f"{_before(candidate, chunk)} {candidate.text}")
    return any(asked & asked_stems and not given & said for asked, given in _STAGES)


def _before(candidate: Candidate, chunk: Chunk) -> str:
    """Up to 240 characters of the passage before ``candidate`` (about a sentence), which may
    say what it is about."""
    text = clean(chunk.text)
    at = text.find(candidate.text[:40])
    return text[max(0, at - 240) : at] if at > 0 else ""


def _owners(want: Asked) -> list[str]:
    """The names the question makes owners of what it asks about: "CXMT's revenue"."""
    return [
        n for n in want.names
        if not generic(n) and re.search(rf"\b{re.escape(n)}['’]s?\s+[a-z]", want.question)
    ]  # fmt: skip


_COMPARING = frozenset(_stem(w) for w in "compare compared comparison versus".split())


def _content_coverage(want: Asked, chunk: Chunk, rarity: Rarity | None) -> float:
    """Coverage of the question's words that are not part of a name, in the whole passage: on
    topic (the names match) is not enough, the passage must speak of what is asked about them."""
    named = name_words(want)
    content = frozenset(
        t for t in want.terms
        if t not in named and not t[0].isdigit() and _stem(t) not in _COMPARING
    )  # fmt: skip
    if not content:
        return 1.0
    return coverage(
        replace(want, terms=content), chunk.text, f"{chunk.title} {chunk.heading}", rarity
    )


def _adds(want: Asked, chosen: list[Candidate], candidate: Candidate) -> bool:
    """A comparison's further sentence must bring a word of the question the others lack."""
    have = set().union(*(_stems(c.text) for c in chosen))
    return any(_stem(t) in _stems(candidate.text) - have for t in want.terms)


def _add(chosen: list[Candidate], candidate: Candidate) -> None:
    if len(chosen) < MAX_SENTENCES and all(
        candidate.text not in c.text and c.text not in candidate.text for c in chosen
    ):
        chosen.append(candidate)


def side_questions(want: Asked) -> list[Asked]:
    """A comparison asked once per side, without the other side's words: "Which has more
    parameters, DeepSeek-V3 or Qwen3?" becomes the same question about each model alone."""
    found = []
    for side in want.sides:
        others = {_stem(w) for other in want.sides if other is not side for w in other}
        found.append(
            replace(
                want,
                terms=frozenset(t for t in want.terms if _stem(t) not in others),
                names=tuple(n for n in want.names if _stem(n) not in others),
                comparison=False,
                sides=(),
            )
        )
    return found


def _cover_both_sides(
    want: Asked, candidates: list[Candidate], chunks: Sequence[Chunk],
    chosen: list[Candidate], floor: float, rarity: Rarity | None,
    per_side: Sequence[list[Candidate]],
) -> None:  # fmt: skip
    """A comparison needs a sentence for each side: the best one for that side asked alone
    (``per_side``, scored by ``side_questions``) that holds a share of that side's own words;
    without sides read from the question, one that names each name it mentions."""
    named = name_words(want)
    eligible = []
    for side, ranked in zip(want.sides, per_side, strict=False):
        names = sorted((w for w in side if w in named), key=lambda w: _weight(w, rarity))[-1:]
        rest = frozenset().union(*(s for s in want.sides if s is not side))
        eligible.append([
            c for c in ranked
            if (c.typed or want.kind == "fact")
            and all(mentions(_in_context(c, chunks), n) for n in names)  # its rarest name
            and _side_share(side, c, chunks, rarity, rest) >= SIDE_SHARE
        ])  # fmt: skip
    picks = [found[0] for found in eligible if found]
    if len(picks) == 2 and picks[0].text == picks[1].text and _values(want, picks[0].text) < 2:
        # One date or figure is not both sides' ("a fact sheet of 1 November 2025 said ...
        # graphite and antimony"): each side takes its best sentence of its own, one that says
        # little of the other side.
        picks = [
            _own(found, picks[0], other, rarity)
            for found, other in zip(eligible, reversed(want.sides), strict=True)
        ]
    if len(picks) == 2 and picks[0].text == picks[1].text:
        # One sentence is best for both sides: the side whose words it holds more keeps it, the
        # other takes its next sentence ("68 affiliates in May" beside "46 more in August").
        shares = [_side_share(side, picks[0], chunks, rarity) for side in want.sides]
        other = 1 if shares[0] >= shares[1] else 0
        if len(eligible[other]) > 1:
            picks[other] = eligible[other][1]
    elif len(picks) == 2:
        # A side's sentence whose figures and dates are all in the other side's states the
        # other side's fact ("the Dutch controls took effect on 1 September" for Japan's): that
        # side takes its next sentence that states something else.
        for mine, theirs in ((0, 1), (1, 0)):
            values, others = numbers(picks[mine].text), numbers(picks[theirs].text)
            if values and values <= others:
                found = (c for c in eligible[mine][1:] if not numbers(c.text) <= others)
                picks[mine] = next(found, picks[mine])
                break
    if picks and len(picks) == len(want.sides):
        del chosen[1:]  # the best sentence leads; each side's own follows
        for pick in picks:
            _add(chosen, pick)
        return
    for name in () if want.sides else want.names:
        if generic(name) or any(mentions(_in_context(c, chunks), name) for c in chosen):
            continue
        naming = next(
            (c for c in candidates if c.relevance >= floor and mentions(c.text, name)), None
        )
        if naming is not None:
            if len(chosen) >= MAX_SENTENCES:
                chosen.pop()
            _add(chosen, naming)


def _own(
    found: list[Candidate], shared: Candidate, other: frozenset[str], rarity: Rarity | None
) -> Candidate:
    """A side's best sentence after ``shared`` that says little of the ``other`` side, else its
    best after ``shared``."""
    after = [c for c in found if c.text != shared.text] or [shared]
    return next((c for c in after if share(other, c.text, "", rarity) < SIDE_SHARE), after[0])


def _values(want: Asked, text: str) -> int:
    """How many dates (for a date question) or figures the sentence gives."""
    dates = len(_STATED_DATE.findall(text))
    return dates if want.kind == "date" else len(numbers(_STATED_DATE.sub(" ", text)))


def _weight(word: str, rarity: Rarity | None) -> float:
    return rarity.weight(_stem(word)) if rarity else 1.0


def _side_share(
    side: frozenset[str], c: Candidate, chunks: Sequence[Chunk], rarity: Rarity | None,
    other: frozenset[str] = frozenset(),
) -> float:  # fmt: skip
    """Rarity-weighted share of a side's own words in the sentence; its passage's title and
    section heading count half, each unless it names both sides ("China's graphite and antimony
    controls" tells neither side's sentences apart, its section "MetaX" does)."""
    chunk = chunks[c.source]
    section = chunk.heading.rsplit(" > ", 1)[-1]
    parts = (chunk.title, section)
    context = " ".join(
        p for p in parts
        if not other or not all(share(s, "", p, rarity) >= SIDE_SHARE for s in (side, other))
    )  # fmt: skip
    return share(side, c.text, context, rarity)


def _whole(chunk: Chunk) -> str:
    """A passage with its title and heading, which name what it is about."""
    return f"{chunk.title} {chunk.heading} {chunk.text}"


def _in_context(c: Candidate, chunks: Sequence[Chunk]) -> str:
    chunk = chunks[c.source]
    return f"{c.text} {chunk.title} {chunk.heading}"


def _unknown_codes(want: Asked, chunks: Sequence[Chunk]) -> list[str]:
    """Model or chip names of the question (K9, 990Q) that no retrieved passage mentions: the
    question is about something the sources do not hold."""
    every = " ".join(_whole(c) for c in chunks)
    codes = [n for n in want.names if _code_parts(n)]  # "MI308 China": the code is MI308
    return [n for n in codes if not all(_names_code(every, c) for c in _code_parts(n))]


def _contradicted(want: Asked, best: Candidate, chunks: Sequence[Chunk]) -> str:
    """A name the question makes the owner, maker or kind of its subject ("Baidu's DeepSeek-V3",
    "which Huawei lab", "did Tencent release"), or a year or amount it states, that the passages
    never state together with the subject while the answering sentence names the subject."""
    if want.comparison:  # the names of a comparison are its sides, not assumptions
        return ""
    months = [n for n in want.names if n in _MONTH_NAMES]  # "in January": a date, not a subject
    named = [n for n in want.names if not generic(n) and n not in months]
    # A name the answering sentence itself holds is borne out, whatever role the question gives it.
    # A model or chip is what is asked about, not an owner or maker ("What score did DeepSeek
    # V4 receive on the index?")
    roles = [
        n for n in premise_names(want.question, named)
        if not _said(best.text, n) and not _code_parts(n)
    ]  # fmt: skip
    subjects = [n for n in named if bare(n) not in roles and n not in roles]
    if not subjects:  # only words say what it is about: a role name must at least appear
        passages = [_whole(c) for c in chunks]
        missing = [n for n in roles if not any(_said(t, n) for t in passages)]
        subjects = _subject_terms(want, best.text)
        roles = missing
    if not subjects or not any(mentions(_in_context(best, chunks), s) for s in subjects):
        return ""
    stated = [m.group(0) for m in _STATED_AMOUNT.finditer(want.question)]
    stated += [m.group(0) for m in _STATED_SPAN.finditer(want.question)]
    if want.kind != "date":
        stated += [m.group(0) for m in _STATED_DATE.finditer(want.question)]
    windows = _windows(chunks)
    passages = [_whole(c) for c in chunks]
    for name in roles:  # a month still places the role: "Alibaba cut prices in May"
        near = [*subjects, *months]
        if not any(_said(w, name) and mentions(w, s) for w in windows for s in near):
            return name
    for value in stated:
        if not any(_states(t, value) and any(mentions(t, s) for s in subjects) for t in passages):
            return value
    return ""


def _measured(premise: str, top: Candidate) -> bool:
    """The question states a measure the sources contradict ("a faster 800 GB/s NVLink") and
    the likeliest sentence gives one in the same unit ("ran at 400 GB/s"): that corrects it."""
    stated = _MEASURE.fullmatch(premise)
    unit = stated.group("unit").lower() if stated else None
    return any(m.group("unit").lower() == unit for m in _MEASURE.finditer(top.text))


def _said(text: str, name: str) -> bool:
    """``name`` or, for a person's full name, the surname alone ("President Macron")."""
    parts = name.split()
    person = len(parts) == 2 and all(p.isalpha() and p[0].isupper() for p in parts)
    surname = person and parts[-1].lower() not in _NOT_A_SURNAME
    return mentions(text, name) or (surname and mentions(text, parts[-1]))


_NOT_A_SURNAME = frozenset(
    "cloud technologies technology group labs lab corporation semiconductor semiconductors "
    "intelligence electronics systems capital holdings international research university".split()
)


def _subject_terms(want: Asked, sentence: str) -> list[str]:
    """Without a name, the question's rarest-looking words that the answer holds (gallium)."""
    own = _stems(sentence)
    return [t for t in sorted(want.terms, key=len, reverse=True) if _stem(t) in own][:2]


def _states(text: str, suspect: str) -> bool:
    span = _STATED_SPAN.fullmatch(suspect)
    if span:  # "two years" is stated as "two-year" and "2-year" too
        count, unit = re.split(r"[\s-]", suspect.lower(), maxsplit=1)
        either = "|".join(filter(None, (count, _COUNT_DIGITS.get(count, ""))))
        return bool(re.search(rf"\b(?:{either})[\s-]{unit.rstrip('s')}s?\b", text, re.I))
    if suspect[0].isdigit() or suspect[0] in "$€£¥":
        return suspect.lower().replace("us$", "$") in text.lower().replace("us$", "$")
    return mentions(text, suspect)


def _windows(chunks: Sequence[Chunk]) -> list[str]:
    found = [f"{c.title} {c.heading}" for c in chunks]  # "Moonshot AI's Kimi K2" in a title
    return found + [
        s for chunk in chunks for s in split_sentences(chunk.text)
        if not _NOT_AN_ANSWER.search(clean(s)) and s.count("|") < 2  # not a table
    ]  # fmt: skip


def _unnamed_codes(want: Asked, best: Candidate, chunk: Chunk, premise: str) -> list[str]:
    """The question's model or chip names (R1, MI308, V4-Pro) that the answering sentence, its
    passage's title and heading and the sentence before it never name: a figure of a sibling
    (V3's GPUs for a question about V2's) is not the answer."""
    if want.comparison or want.kind == "fact":
        return []
    return _codes_not_named(want, best, chunk, premise)


def _codes_not_named(want: Asked, best: Candidate, chunk: Chunk, premise: str) -> list[str]:
    context = f"{chunk.title} {chunk.heading} {_before(best, chunk)} {best.text}"
    codes = [n for n in want.names if _code_parts(n) and n != premise]
    missing = [
        n for n in codes
        if not all(
            _names_code(context, c) and not _about_sibling(best.text, c, want.kind == "date")
            for c in _code_parts(n)
        )
    ]  # fmt: skip
    for m in _VERSIONED.finditer(want.question):  # "ERNIE 5.0", "Seed 2.0 Pro"
        name, version = m.group(1), m.group(2)
        said = rf"\b{re.escape(name)}[\s\-]?v?{re.escape(version)}(?![\d.])"
        if not re.search(said, context, re.I):
            missing.append(f"{name} {version}")
    return missing


_VERSIONED = re.compile(r"\b([A-Z][A-Za-z\-]+)\s+(\d+\.\d+)\b")
_ASIDE = re.compile(r"\([^()]*\)")
_DATE = re.compile(rf"\b(?:{_MONTHS})\b|(?<![\d.,])(?:19|20)\d\d(?!\d)")  # a month or a year
_VALUE = re.compile(rf"(?<![A-Za-z\-.\d])\d|\b(?:{_MONTHS})\b")  # a figure or a date, not a code
_VERSION = re.compile(r"([A-Za-z]{1,10})-?(\d+(?:\.\d+)?)")  # "Qwen3", "GLM-4.5", "V3", "H800"
# a model written with a hyphen: "GLM-4", "GLM-4.5", not "COVID-19" or "G-20"
_HYPHENED_VERSION = re.compile(r"[A-Za-z]{1,10}-\d(?:\.\d+)?")


def _code_parts(name: str) -> list[str]:
    """ "DeepSeek-V2" -> ["V2"], "A100 GPUs" -> ["A100"]: the part that tells siblings apart;
    "GLM-4.5", whose parts alone are no codes, is one whole ("GLM-4.5 Air" -> ["GLM-4.5"])."""
    found = []
    for word in name.split():
        parts = [w for w in word.split("-") if _CODE.search(w)]
        found += parts or ([word] if _HYPHENED_VERSION.fullmatch(word) else [])
    return found


def _names_code(text: str, code: str) -> bool:
    """``code`` itself, not a point release of it: "Qwen3.5" does not name Qwen3."""
    pattern = rf"(?<![A-Za-z0-9]){re.escape(code)}(?:s|es)?(?![A-Za-z0-9]|\.\d)"
    return bool(re.search(pattern, text, re.I))


def _about_sibling(sentence: str, code: str, dates: bool = False) -> bool:
    """Every figure and date of the sentence (with ``dates``, every date) is another version's:
    each follows a mention of a sibling ("Qwen3.5" or "Qwen2" for Qwen3, "GLM-4" for GLM-4.5)
    with no mention of ``code`` between ("launched Qwen3.5 on 16 February 2026, ten months
    after Qwen3"). A value before any version is named is the passage's subject's ("36
    trillion tokens, double the 18 trillion of Qwen2.5")."""
    parts = _VERSION.fullmatch(code)
    if parts is None:
        return False
    prefix, version = parts.groups()
    # a version in brackets is an aside ("Qwen3 (the successor of Qwen2.5) was released ..."),
    # but a date in brackets is still a value ("GLM-4.6 (30 September 2025): an update of ...")
    unaside = _ASIDE.sub(lambda m: " " * len(m.group(0)), sentence)
    family = rf"(?<![A-Za-z0-9]){re.escape(prefix)}-?(\d+(?:\.\d+)?)(?![\d.]*\d)"
    named = [(m.end(), m.group(1)) for m in re.finditer(family, unaside, re.I)]
    values = [m.start() for m in (_DATE if dates else _VALUE).finditer(sentence)]
    if not named or not values:
        return False
    owners = [next((v for end, v in reversed(named) if end <= at), None) for at in values]
    return all(owner is not None and owner != version for owner in owners)


def _why_not(
    want: Asked, candidates: list[Candidate], chunks: Sequence[Chunk], head: str = "",
    code: str = "",
) -> str:  # fmt: skip
    titles = list(dict.fromkeys(chunks[c.source].title for c in candidates[:6]))
    about = "; ".join(t.split(":")[0] for t in titles[:2])
    gap = {
        "date": "the date asked for",
        "figure": "the figure asked for",
        "name": "the name asked for",
        "fact": "an answer to this question",
    }[want.kind]
    uncovered = sorted(
        t for t in want.terms
        if len(t) >= 5 and not t.endswith("ly") and not t.isdigit()
        and not any(_stem(t) in _stems(f"{ch.title} {ch.text}") for ch in chunks)
    )  # fmt: skip
    detail = f" (nothing on {', '.join(uncovered[:3])})" if uncovered else ""
    if code:
        detail = f" (not for {code})"
    elif head and not detail:
        detail = f" (no figure is given for {head})"
    if not about:
        return f"no passage states {gap}{detail}"
    return f"the sources cover {about}, but no passage states {gap}{detail}"
