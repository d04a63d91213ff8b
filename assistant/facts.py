"""Reading facts out of text: the dates, figures and names a sentence or a passage states,
each with the tokens it stands on, so another stage can compare where they sit."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from assistant.embedding import bundled_model_dir
from assistant.errors import AssistantError

_TOKEN = re.compile(
    r"U\.S\.(?:A\.)?|U\.K\.|US\$|[$€£¥%]|\d{1,3}(?:,\d{3})+(?:\.\d+)?"
    r"|[A-Za-z0-9]+(?:[.\-'’&/][A-Za-z0-9]+)*|[,;:.!?\"“”()]"
)
_NUMERIC = re.compile(r"\d+(?:[.,]\d+)*")
_SCALED = re.compile(r"(\d+(?:\.\d+)?)(k|m|mn|bn|b|tn|t)", re.IGNORECASE)
_RANGE = re.compile(r"(\d+(?:\.\d+)?)[-/](\d+(?:\.\d+)?)")
_YEAR = re.compile(r"(?:19|20)\d\d")
_DECADE = re.compile(r"(?:19|20)\d0s")
_MONTHS = {
    name: i
    for i, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_SCALES = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12, "hundred": 1e2}
_SUFFIX_SCALES = {"k": 1e3, "m": 1e6, "mn": 1e6, "b": 1e9, "bn": 1e9, "t": 1e12, "tn": 1e12}
NUMBER_WORDS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
} | {
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "dozen": 12,
    "half": 0.5,
}
_PERCENT = ("%", "percent", "per")
_CURRENCY = ("$", "US$", "€", "£", "¥")
# Names that stand for one another: a country, its adjective and its usual abbreviations.
ALIASES = {
    "us": "us", "u.s.": "us", "u.s.a.": "us", "usa": "us", "america": "us", "american": "us",
    "americans": "us", "washington": "us", "united": "us",
    "china": "china", "chinese": "china", "prc": "china", "beijing": "china",
    "uk": "uk", "u.k.": "uk", "britain": "uk", "british": "uk",
    "japan": "japan", "japanese": "japan", "tokyo": "japan",
    "taiwan": "taiwan", "taiwanese": "taiwan", "taipei": "taiwan",
    "korea": "korea", "korean": "korea", "seoul": "korea",
    "netherlands": "netherlands", "dutch": "netherlands",
    "germany": "germany", "german": "germany", "france": "france", "french": "france",
    "india": "india", "indian": "india", "russia": "russia", "russian": "russia",
    "europe": "eu", "european": "eu", "eu": "eu",
    "singapore": "singapore", "singaporean": "singapore",
    "israel": "israel", "israeli": "israel", "canada": "canada", "canadian": "canada",
    "malaysia": "malaysia", "malaysian": "malaysia", "vietnam": "vietnam",
    "vietnamese": "vietnam", "saudi": "saudi", "emirati": "uae", "uae": "uae",
}  # fmt: skip
STOP_WORDS = frozenset(
    (
        "a an and are as at be been being but by can could did do does for from had has have he "
        "her his how i if in into is it its may might more most of on or our out over she so "
        "such than that the their them then there these they this those to was we were what "
        "when where which who whom why will with would you also about up until while all any "
        "each other some only own same very just said says say its it's per cent percent "
        "because although though since after before during following under among amid despite "
        "like according once both either whether within across through via including"
    ).split()
)


@dataclass(frozen=True)
class Token:
    text: str
    low: str  # lower case, possessive and trailing dots removed
    start: int


@dataclass(frozen=True)
class Fact:
    kind: str  # figure, date, name
    key: str  # what is compared
    text: str  # as written, for the reason
    pos: int  # index of its first token
    end: int  # index after its last token


class When(NamedTuple):
    year: int | None
    month: int | None
    day: int | None
    text: str
    pos: int  # index of its first token


@dataclass
class Reading:
    """The tokens and facts of one text."""

    tokens: list[Token]
    facts: list[Fact]
    dates: list[When] = field(default_factory=list)

    def keys(self, kind: str) -> set[str]:
        return {f.key for f in self.facts if f.kind == kind}

    def words(self) -> set[str]:
        return {t.low for t in self.tokens}


def tokenize(text: str) -> list[Token]:
    out = []
    for m in _TOKEN.finditer(text):
        word, start = m.group(), m.start()
        span = _RANGE.fullmatch(word)
        if span:  # "2023-2025": two figures
            out.append(Token(span.group(1), span.group(1), start))
            out.append(Token(word[span.end(1)], word[span.end(1)], start + span.end(1)))
            out.append(Token(span.group(2), span.group(2), start + span.start(2)))
            continue
        low = word.lower().replace("’", "'")
        low = re.sub(r"'s$", "", low).rstrip(".") or low
        out.append(Token(word, low, start))
    return out


@functools.cache
def common_words() -> frozenset[str]:
    """Lower-case words of the bundled model's vocabulary: a capitalised first word that is one
    of them ("Initially", "Exports") is an ordinary word, not a name ("Tencent")."""
    try:
        vocab = bundled_model_dir() / "vocab.txt"
        return frozenset(w for w in vocab.read_text(encoding="utf-8").split() if w.isalpha())
    except (OSError, AssistantError):
        return frozenset()


def read(text: str, known_names: Iterable[str] = ()) -> Reading:
    """The facts ``text`` asserts. ``known_names`` (lower case) are names seen elsewhere, which
    makes a capitalised first word count as a name."""
    tokens = tokenize(text)
    reading = Reading(tokens, [])
    used: set[int] = set()
    _read_dates(reading, used)
    _read_figures(reading, used)
    _read_names(reading, used, set(known_names))
    return reading


def _read_dates(reading: Reading, used: set[int]) -> None:
    toks = reading.tokens
    for i, tok in enumerate(toks):
        month = _MONTHS.get(tok.low)
        if i in used or not month or not tok.text[0].isupper():
            continue
        nxt = toks[i + 1].low if i + 1 < len(toks) else ""
        if tok.low == "may" and i == 0 and not (nxt.isdigit() or _YEAR.fullmatch(nxt)):
            continue  # "May I ..." or "May they ...": not the month
        span = [i]
        day = year = None
        if i > 0 and _day(toks[i - 1]) is not None and (i - 1) not in used:
            day = _day(toks[i - 1])  # "80 March" is a wrong day, not a figure
            span.insert(0, i - 1)
        j = i + 1
        if day is None and j < len(toks) and _day(toks[j]) is not None:
            day = _day(toks[j])
            span.append(j)
            j += 1 + (j + 1 < len(toks) and toks[j + 1].text == ",")
        if j < len(toks) and _YEAR.fullmatch(toks[j].low):
            year = int(toks[j].low)
            span.append(j)
        _add_date(reading, used, When(year, month, day, _joined_text(toks, span), span[0]), span)
    for i, tok in enumerate(toks):
        prev = toks[i - 1].text if i else ""
        nxt = toks[i + 1].low if i + 1 < len(toks) else ""
        if i in used or prev in ("$", "US$") or nxt in _SCALES:
            continue
        if _YEAR.fullmatch(tok.low):
            _add_date(reading, used, When(int(tok.low), None, None, tok.text, i), [i])
        elif _DECADE.fullmatch(tok.low):
            used.add(i)
            reading.facts.append(Fact("date", tok.low, tok.text, i, i + 1))


def _day(tok: Token) -> int | None:
    """The day a number beside a month gives; 0 for one no calendar has ("5.0 November")."""
    if not _NUMERIC.fullmatch(tok.low) or _YEAR.fullmatch(tok.low):
        return None
    return int(tok.low) if tok.low.isdigit() and 1 <= int(tok.low) <= 31 else 0


def _joined_text(toks: list[Token], span: list[int]) -> str:
    return " ".join(toks[k].text for k in span)


def _add_date(reading: Reading, used: set[int], when: When, span: list[int]) -> None:
    used.update(range(span[0], span[-1] + 1))
    reading.dates.append(when)
    key = f"{when.year or '?'}-{when.month or '?'}-{when.day or '?'}"
    reading.facts.append(Fact("date", key, when.text, span[0], span[-1] + 1))


def _read_figures(reading: Reading, used: set[int]) -> None:
    toks = reading.tokens
    for i, tok in enumerate(toks):
        if i in used:
            continue
        value = _number(tok)
        if value is None:
            continue
        if (
            tok.low in NUMBER_WORDS
            and tok.low in ("one", "half")
            and not _followed_by_scale(toks, i)
        ):
            continue  # "one of the", "half of": not figures anyone alters
        end = i + 1
        if end < len(toks) and toks[end].low in _SCALES:
            value *= _SCALES[toks[end].low]
            end += 1
        percent = end < len(toks) and toks[end].low in _PERCENT
        used.update(range(i, end))
        key = f"{value:.6g}{'%' if percent else ''}"
        start = i - 1 if i and toks[i - 1].text in _CURRENCY else i
        written = " ".join(t.text for t in toks[i:end])
        if start < i:
            written = toks[start].text + written
        reading.facts.append(Fact("figure", key, written, i, end))


def _followed_by_scale(toks: list[Token], i: int) -> bool:
    return i + 1 < len(toks) and toks[i + 1].low in _SCALES


def _number(tok: Token) -> float | None:
    if _NUMERIC.fullmatch(tok.low):
        text = tok.low.replace(",", "")
        try:
            return float(text)
        except ValueError:  # "1.2.3": a version, not a figure
            return None
    scaled = _SCALED.fullmatch(tok.low)
    if scaled:
        return float(scaled.group(1)) * _SUFFIX_SCALES[scaled.group(2).lower()]
    return float(NUMBER_WORDS[tok.low]) if tok.low in NUMBER_WORDS else None


def _read_names(reading: Reading, used: set[int], known: set[str]) -> None:
    toks = reading.tokens
    for i, tok in enumerate(toks):
        if i in used:
            continue
        if not _is_name(toks, i, known):
            if _opens(toks, i):
                reading.facts.append(Fact("opener", tok.low, tok.text, i, i + 1))
            continue
        for part in _name_parts(tok):
            reading.facts.append(Fact("name", part, tok.text, i, i + 1))


def _is_name(toks: list[Token], i: int, known: set[str]) -> bool:
    tok = toks[i]
    text = tok.text
    if tok.low in ALIASES or "$" in text:
        return tok.low in ALIASES
    has_digit = any(c.isdigit() for c in text)
    if has_digit:
        return any(c.isalpha() for c in text)  # H800, Yi-34B, GPT-4
    if not text[0].isupper() or tok.low in STOP_WORDS or tok.low in _MONTHS:
        return any(c.isupper() for c in text[1:]) and not text.isupper()  # iPhone, eBay
    first = i == 0 or toks[i - 1].text in (".", ":", '"', "“")
    if not first or any(c.isupper() for c in text[1:]):
        return True
    nxt = toks[i + 1].text if i + 1 < len(toks) else ""
    if nxt[:1].isupper() and nxt.lower() not in STOP_WORDS:
        return True  # "Commerce Secretary ...": the first word of a longer name
    return tok.low in known or tok.low not in common_words()


def _opens(toks: list[Token], i: int) -> bool:
    """A capitalised ordinary word that starts the sentence: the subject a swap may replace
    ("Apple described this" for "MiniMax described this")."""
    tok = toks[i]
    first = i == 0 or toks[i - 1].text in (".", ":", '"', "“")
    return first and tok.text[:1].isupper() and tok.low not in STOP_WORDS and tok.low.isalpha()


def _name_parts(tok: Token) -> list[str]:
    """A hyphenated name with a lower-case tail names its head ("Chinese-made" -> china)."""
    low = tok.low
    head, _, tail = low.partition("-")
    if tail and tail.isalpha() and tok.text.split("-")[1][:1].islower():
        low = head
    return [ALIASES.get(low, low)]


def name_found(key: str, words: set[str]) -> bool:
    """``key`` is written in ``words``: directly, through an alias, as the stem of a longer model
    name (qwen in qwen2.5-72b), or, for a hyphenated name, part by part."""
    if key in words or any(ALIASES.get(w) == key or key in w.split("-") for w in words):
        return True
    if any(
        w.startswith(key) and w[len(key) : len(key) + 1] in ("-", ".", "2", "3", "4", "1")
        for w in words
    ):
        return True
    parts = [p for p in re.split(r"[-/]", key) if p]
    return len(parts) > 1 and all(p in words for p in parts)
