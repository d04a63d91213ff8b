"""Claim facts: the figures, dates, names, negations, roles and comparisons a sentence asserts,
and whether the supporting words of a passage state the same ones, bound to the same things.

Word overlap and sentence similarity say a passage is about the claim; they do not say the claim
is what the passage states. Here every fact of the claim must be found in the span of the passage
that carries it (the best sentence, or two neighbouring ones), attached to the same words."""

from __future__ import annotations

import functools
import re
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple, Protocol

from assistant.embedding import bundled_model_dir
from assistant.errors import AssistantError
from assistant.records import Support
from assistant.settings import VerifySettings

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
_MONTH_NAMES = (
    "January February March April May June July August September October November December"
).split()
_SCALES = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12, "hundred": 1e2}
_SUFFIX_SCALES = {"k": 1e3, "m": 1e6, "mn": 1e6, "b": 1e9, "bn": 1e9, "t": 1e12, "tn": 1e12}
_NUMBER_WORDS = {
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
_ALIASES = {
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
_PLACES = frozenset(_ALIASES.values())
_CAPITALS = frozenset("washington beijing tokyo taipei seoul".split())
_ADJECTIVES = frozenset(
    w for w in _ALIASES if w.endswith(("ese", "an", "ish", "ch", "li", "ti")) and w != "taiwan"
)
# Words whose opposite turns a claim round; each pair is listed once.
_OPPOSITES = [
    ("more", "less"), ("more", "fewer"), ("most", "least"), ("larger", "smaller"),
    ("largest", "smallest"), ("bigger", "smaller"), ("biggest", "smallest"),
    ("greater", "smaller"), ("greatest", "smallest"), ("higher", "lower"),
    ("highest", "lowest"), ("increase", "decrease"), ("increased", "decreased"),
    ("increases", "decreases"), ("increasing", "decreasing"), ("rise", "fall"), ("rose", "fell"),
    ("rising", "falling"), ("grew", "shrank"), ("growth", "decline"), ("gain", "loss"),
    ("gains", "losses"), ("above", "below"), ("before", "after"), ("earlier", "later"),
    ("earliest", "latest"), ("early", "late"), ("first", "last"), ("faster", "slower"),
    ("fastest", "slowest"), ("cheaper", "costlier"), ("better", "worse"), ("best", "worst"),
    ("stronger", "weaker"), ("strongest", "weakest"), ("ahead", "behind"), ("leads", "trails"),
    ("leading", "trailing"), ("top", "bottom"), ("maximum", "minimum"), ("upper", "lower"),
    ("buyer", "seller"), ("buyers", "sellers"), ("bought", "sold"), ("buy", "sell"),
    ("buys", "sells"), ("purchased", "sold"), ("import", "export"), ("imports", "exports"),
    ("imported", "exported"), ("importer", "exporter"), ("importers", "exporters"),
    ("supplier", "customer"), ("suppliers", "customers"), ("lender", "borrower"),
    ("won", "lost"), ("win", "lose"), ("winner", "loser"), ("allowed", "banned"),
    ("allow", "ban"), ("permitted", "prohibited"), ("lifted", "imposed"), ("eased", "tightened"),
    ("loosened", "tightened"), ("expanded", "narrowed"), ("added", "removed"),
    ("approved", "rejected"), ("accepted", "rejected"), ("open", "closed"), ("rises", "falls"),
    ("inbound", "outbound"), ("minority", "majority"), ("surplus", "deficit"),
    ("older", "newer"), ("oldest", "newest"), ("longer", "shorter"), ("wider", "narrower"),
    ("heavier", "lighter"), ("overtook", "trailed"), ("outperformed", "underperformed"),
    ("exceeds", "trails"), ("beat", "trailed"), ("up", "down"), ("over", "under"),
    ("input", "output"), ("east", "west"), ("north", "south"), ("began", "ended"),
    ("start", "end"), ("joined", "left"), ("include", "exclude"), ("included", "excluded"),
    ("public", "private"), ("domestic", "foreign"), ("legal", "illegal"), ("profit", "loss"),
    ("succeeded", "failed"), ("strengthened", "weakened"), ("accelerated", "slowed"),
    ("raised", "cut"), ("raise", "cut"), ("upgrade", "downgrade"), ("inflows", "outflows"),
    ("leader", "laggard"), ("thousand", "million"), ("million", "billion"),
    ("billion", "trillion"),
]  # fmt: skip
_OPPOSITE: dict[str, set[str]] = {}
for _a, _b in _OPPOSITES:
    _OPPOSITE.setdefault(_a, set()).add(_b)
    _OPPOSITE.setdefault(_b, set()).add(_a)
_NEGATORS = frozenset(
    "not no never none nor neither without cannot nothing nobody failed fail fails refused "
    "declined unable lacked lacks rather instead".split()
)
_ROLE_WORDS = frozenset(
    "to from by against with for into than between over on of toward towards".split()
)
_STOP = frozenset(
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
_DETERMINERS = frozenset("the a an its their his her this that".split())


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


class JudgeError(AssistantError):
    """A stronger judge (NLI model, remote model) could not be used."""


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
            tok.low in _NUMBER_WORDS
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
    return float(_NUMBER_WORDS[tok.low]) if tok.low in _NUMBER_WORDS else None


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
    if tok.low in _ALIASES or "$" in text:
        return tok.low in _ALIASES
    has_digit = any(c.isdigit() for c in text)
    if has_digit:
        return any(c.isalpha() for c in text)  # H800, Yi-34B, GPT-4
    if not text[0].isupper() or tok.low in _STOP or tok.low in _MONTHS:
        return any(c.isupper() for c in text[1:]) and not text.isupper()  # iPhone, eBay
    first = i == 0 or toks[i - 1].text in (".", ":", '"', "“")
    if not first or any(c.isupper() for c in text[1:]):
        return True
    nxt = toks[i + 1].text if i + 1 < len(toks) else ""
    if nxt[:1].isupper() and nxt.lower() not in _STOP:
        return True  # "Commerce Secretary ...": the first word of a longer name
    return tok.low in known or tok.low not in common_words()


def _opens(toks: list[Token], i: int) -> bool:
    """A capitalised ordinary word that starts the sentence: the subject a swap may replace
    ("Apple described this" for "MiniMax described this")."""
    tok = toks[i]
    first = i == 0 or toks[i - 1].text in (".", ":", '"', "“")
    return first and tok.text[:1].isupper() and tok.low not in _STOP and tok.low.isalpha()


def _name_parts(tok: Token) -> list[str]:
    """A hyphenated name with a lower-case tail names its head ("Chinese-made" -> china)."""
    low = tok.low
    head, _, tail = low.partition("-")
    if tail and tail.isalpha() and tok.text.split("-")[1][:1].islower():
        low = head
    return [_ALIASES.get(low, low)]


def name_found(key: str, words: set[str]) -> bool:
    """``key`` is written in ``words``: directly, through an alias, as the stem of a longer model
    name (qwen in qwen2.5-72b), or, for a hyphenated name, part by part."""
    if key in words or any(_ALIASES.get(w) == key or key in w.split("-") for w in words):
        return True
    if any(
        w.startswith(key) and w[len(key) : len(key) + 1] in ("-", ".", "2", "3", "4", "1")
        for w in words
    ):
        return True
    parts = [p for p in re.split(r"[-/]", key) if p]
    return len(parts) > 1 and all(p in words for p in parts)


@dataclass(frozen=True)
class Mismatch:
    kind: str  # figure, date, name, negation, role, comparison
    reason: str


def compare(claim: str, span: str, context: str = "", known: Iterable[str] = ()) -> list[Mismatch]:
    """What ``claim`` asserts that ``span`` does not state. ``context`` (the passage's title and
    heading) may supply a name or a year the span refers to without repeating it."""
    known_names = set(known)
    known_names |= read(span, known_names).keys("name")
    span_r = read(span, known_names)  # again: "Google stopped ..." once Google is known a name
    claim_r = read(claim, known_names)
    ctx_r = read(context, known_names)
    problems: list[Mismatch] = []
    problems += _dates(claim_r, span_r, ctx_r)
    problems += _figures(claim_r, span_r)
    problems += _names(claim_r, span_r, ctx_r)
    problems += _negation(claim_r, span_r)
    problems += _opposites(claim_r, span_r)
    problems += _roles(claim_r, span_r)
    return problems


def _dates(claim: Reading, span: Reading, ctx: Reading) -> list[Mismatch]:
    out = []
    years = {d.year for d in span.dates + ctx.dates if d.year}
    for when in claim.dates:
        found = any(_fits(when, d, years) for d in span.dates)
        # The title's dates stand in only for a span that gives none of its own.
        if not found and (span.dates or not any(_fits(when, d, years) for d in ctx.dates)):
            near = _nearest_date(claim, span, when)
            given = f"gives {near}" if near else "gives no such date"
            out.append(Mismatch("date", f"the passage {given}, not {when.text}"))
    if out:
        return out

    def same(f: Fact, g: Fact) -> bool:
        fw, gw = _when_at(claim, f.pos), _when_at(span, g.pos)
        return fw is None or gw is None or _fits(fw, gw, years)

    return _repeated(claim, span, "date", same) or _displaced(
        claim, span, "date", same, swaps=False
    )


def _repeated(
    claim: Reading, span: Reading, kind: str, same: Callable[[Fact, Fact], bool]
) -> list[Mismatch]:
    """The claim gives one value more often than the span, where the span has another value
    the claim leaves out: one of the claim's copies stands for it ("December and December"
    for "November and December")."""
    mine = [f for f in claim.facts if f.kind == kind]
    theirs = [f for f in span.facts if f.kind == kind]
    left_out = [q for q in theirs if not any(same(p, q) for p in mine)]
    for p in mine:
        copies = sum(1 for r in mine if _twins(claim, p, r))
        if left_out and copies > 1 and copies > sum(1 for q in theirs if same(p, q)):
            return [Mismatch(kind, f"the passage gives {left_out[0].text}, not {p.text} twice")]
    return []


def _twins(reading: Reading, f: Fact, g: Fact) -> bool:
    """The same value written twice; for dates, the same month and day."""
    a, b = _when_at(reading, f.pos), _when_at(reading, g.pos)
    if f.kind != "date" or not (a and b):
        return f.key == g.key
    if a.month and b.month:
        return (a.month, a.day) == (b.month, b.day)
    return a.year == b.year


def _grouped(reading: Reading, i: int, j: int) -> bool:
    """Only names, figures, small words and punctuation stand between tokens ``i`` and ``j``."""
    lo, hi = sorted((i, j))
    facts = {k for f in reading.facts for k in range(f.pos, f.end)}
    return all(
        (k in facts or not _content(reading, k)) and reading.tokens[k].text not in ";:."
        for k in range(lo + 1, hi)
    )


def _when_at(reading: Reading, pos: int) -> When | None:
    return next((d for d in reading.dates if d.pos == pos), None)


def _fits(claim: When, given: When, years: set[int]) -> bool:
    """Every part the claim gives is the passage's; a year the span leaves out may come from
    elsewhere in the span or the heading ("On November 5 it added ...")."""
    return (
        (claim.month is None or given.month == claim.month)
        and (claim.day is None or given.day == claim.day)
        and (
            claim.year is None
            or given.year == claim.year
            or (given.year is None and claim.year in years)
        )
    )


def _nearest_date(claim: Reading, span: Reading, when: When) -> str:
    """The span's date that stands where the claim's does, or failing that the most alike."""

    def rank(d: When) -> tuple[float, int]:
        alike = (d.year == when.year) + 2 * (d.month == when.month) + (d.day == when.day)
        return _affinity(claim, when.pos, span, d.pos), alike

    return max(span.dates, key=rank).text if span.dates else ""


def _figures(claim: Reading, span: Reading) -> list[Mismatch]:
    out = []
    span_figs = [f for f in span.facts if f.kind == "figure"]
    for fact in (f for f in claim.facts if f.kind == "figure"):
        if any(g.key == fact.key for g in span_figs):
            continue
        if claim.tokens[fact.pos].low in _NUMBER_WORDS:
            continue  # "the two were" may count what the span lists; wrong if it takes a slot
        near = _best_bound(claim, fact.pos, span, [g.pos for g in span_figs])
        given = f"gives {near}" if near else "gives no such figure"
        out.append(Mismatch("figure", f"the passage {given}, not {fact.text}"))
    if out:
        return out
    same = lambda f, g: f.key == g.key  # noqa: E731
    return _repeated(claim, span, "figure", same) or _displaced(
        claim, span, "figure", same, swaps=False
    )


def _names(claim: Reading, span: Reading, ctx: Reading) -> list[Mismatch]:
    """Every name of the claim is in the span (or in the passage's title or heading, which the
    span may refer to as "it"), and sits where the span puts it, not where another name is."""
    out: list[Mismatch] = []
    words = span.words() | span.keys("name")
    ctx_words = ctx.words() | ctx.keys("name")
    seen: set[str] = set()
    for fact in (f for f in claim.facts if f.kind == "name"):
        if fact.key in seen or name_found(fact.key, words) or name_found(fact.key, ctx_words):
            continue
        seen.add(fact.key)
        out.append(Mismatch("name", f"the passage does not name {fact.text} here"))
    if out:
        return out
    return (
        _repeated(claim, span, "name", _same_name)
        or _displaced(claim, span, "name", _same_name)
        or _descriptors(claim, span)
    )


def _same_name(claim_fact: Fact, span_fact: Fact) -> bool:
    return name_found(claim_fact.key, {span_fact.key})


def _displaced(
    claim: Reading,
    span: Reading,
    kind: str,
    same: Callable[[Fact, Fact], bool],
    swaps: bool = True,
) -> list[Mismatch]:
    """A fact of the claim sits in the slot the span gives another fact of its kind, and the
    claim does not put that other fact there ("Microsoft called ..." for "Nvidia called ...",
    two countries exchanged). Without ``swaps``, only a fact the claim leaves out can be the
    one displaced: figures and dates in a list are often reordered by a faithful rewording."""
    mine = [f for f in claim.facts if f.kind == kind or (kind == "name" and f.kind == "opener")]
    theirs = [f for f in span.facts if f.kind == kind]
    for p in mine:
        own = max((_affinity(claim, p.pos, span, q.pos) for q in theirs if same(p, q)), default=0)
        near = [q.pos for q in theirs if same(p, q)]
        for q in theirs:
            if same(p, q) or (p.kind == "opener" and p.key in span.words()):
                continue
            if any(_grouped(span, q.pos, k) for k in near):
                continue  # side by side in the span ("Mellanox, the Israeli maker")
            if not swaps and any(same(r, q) for r in claim.facts if r.kind == kind):
                continue
            here = _affinity(claim, p.pos, span, q.pos)
            rival = max(
                (_affinity(claim, r.pos, span, q.pos) for r in claim.facts if same(r, q)),
                default=0,
            )
            if here >= 1.0 and here > max(own, rival) + 0.5:
                return [Mismatch(kind, f"the passage gives {q.text} here, not {p.text}")]
    return []


def _content(reading: Reading, i: int) -> bool:
    tok = reading.tokens[i]
    return tok.low not in _STOP and tok.low not in _NEGATORS and any(c.isalnum() for c in tok.low)


def _stem(word: str) -> str:
    word = _ALIASES.get(word, word)
    for suffix in ("ing", "ed", "es", "s", "e"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _anchor(reading: Reading, pos: int, skip: set[int], reach: int = 4) -> dict[str, float]:
    """Content words near token ``pos``, weighted by closeness."""
    weights: dict[str, float] = {}
    for direction in (-1, 1):
        step, i = 0, pos + direction
        while 0 <= i < len(reading.tokens) and step < reach:
            if i not in skip and _content(reading, i):
                step += 1
                word = _stem(reading.tokens[i].low)
                weights[word] = max(weights.get(word, 0.0), 1.0 / step)
            if reading.tokens[i].text in (";",):
                break
            i += direction
    return weights


def _fact_tokens(reading: Reading, pos: int) -> set[int]:
    for f in reading.facts:
        if f.pos <= pos < f.end:
            return set(range(f.pos, f.end))
    return {pos}


def _affinity(claim: Reading, cpos: int, span: Reading, spos: int) -> float:
    a = _anchor(claim, cpos, _fact_tokens(claim, cpos))
    b = _anchor(span, spos, _fact_tokens(span, spos))
    return sum(min(w, b[k]) for k, w in a.items() if k in b)


def _best_bound(claim: Reading, cpos: int, span: Reading, positions: list[int]) -> str:
    if not positions:
        return ""
    best = max(positions, key=lambda p: _affinity(claim, cpos, span, p))
    for f in span.facts:
        if f.pos == best:
            return f.text
    return span.tokens[best].text


def _descriptors(claim: Reading, span: Reading) -> list[Mismatch]:
    """ "the Chinese startup R1": the span must call R1 a startup, when it calls anyone one."""
    out = []
    names = {f.pos: f for f in claim.facts if f.kind == "name"}
    for pos, fact in names.items():
        if pos < 2:
            continue
        noun = claim.tokens[pos - 1]
        if noun.text[0].isupper() or not noun.low.isalpha() or noun.low in _STOP:
            continue
        if not any(claim.tokens[k].low in _DETERMINERS for k in range(max(0, pos - 4), pos - 1)):
            continue
        holders = _holders(span, _stem(noun.low))
        if holders and not any(name_found(fact.key, {h.key}) for h in holders):
            who = " or ".join(sorted({h.text for h in holders}))
            out.append(
                Mismatch("name", f"the passage calls {who} the {noun.text}, not {fact.text}")
            )
    return out


def _holders(span: Reading, noun: str) -> set[Fact]:
    """Names the span attaches ``noun`` to: "startup DeepSeek", "DeepSeek, a Chinese startup"."""
    names = {f.pos: f for f in span.facts if f.kind == "name"}
    out = set()
    for i, tok in enumerate(span.tokens):
        if _stem(tok.low) != noun:
            continue
        if i + 1 in names:
            out.add(names[i + 1])
            continue
        j = i - 1
        while j >= 0 and j >= i - 5 and span.tokens[j].text != ",":
            j -= 1
        if j >= 1 and span.tokens[j].text == "," and j - 1 in names:
            out.add(names[j - 1])
    return out


def _negation(claim: Reading, span: Reading) -> list[Mismatch]:
    """A negation must govern the same words on both sides."""
    claim_scopes, span_scopes = _scopes(claim), _scopes(span)
    span_words = {_stem(t.low) for t in span.tokens}
    claim_words = {_stem(t.low) for t in claim.tokens}
    for word, scope in claim_scopes:
        if set(scope) & span_words and not any(_governs(scope, s) for _, s in span_scopes):
            said = _phrase(span, set(scope))
            return [Mismatch("negation", f"the passage does not say '{word}' here: it says "
                                         f"'{said}'")]  # fmt: skip
    for word, scope in span_scopes:
        covered = any(_governs(s, scope) for _, s in claim_scopes)
        if scope and set(scope[:2]) <= claim_words and not covered:
            said = _phrase(span, set(scope))
            return [Mismatch("negation", f"the passage says '{word} {said}', the sentence "
                                             "does not")]  # fmt: skip
    return []


def _governs(scope: list[str], other: list[str]) -> bool:
    """Two negations cover the same thing: they start on the same words."""
    return bool(set(scope[:2]) & set(other[:2]))


def _scopes(reading: Reading) -> list[tuple[str, list[str]]]:
    """Each negation and the stems of the next few content words it governs, up to a comma or
    another negation ("pre-recorded rather than live")."""
    out = []
    toks = reading.tokens
    for i, tok in enumerate(toks):
        if not _negates(tok):
            continue
        if tok.low == "no" and i + 1 < len(toks) and toks[i + 1].low in ("later", "earlier"):
            continue  # "no later than" gives a date
        if tok.low == "nor" and any(t.low == "neither" for t in toks[:i]):
            continue  # "neither A nor B" is one negation
        words: list[str] = []
        j = i + 1
        while j < len(toks) and len(words) < 3 and toks[j].text not in (",", ";", ":"):
            if _negates(toks[j]):
                break
            if _content(reading, j):
                words.append(_stem(toks[j].low))
            j += 1
        k = i - 1
        while not words and k >= 0 and i - k <= 4:  # "the state is not to:": what comes before
            if _content(reading, k):
                words.append(_stem(toks[k].low))
            k -= 1
        out.append((tok.text, words))
    return out


def _negates(tok: Token) -> bool:
    return tok.low in _NEGATORS or tok.low.endswith("n't")


def _phrase(reading: Reading, stems: set[str]) -> str:
    hits = [i for i, t in enumerate(reading.tokens) if _stem(t.low) in stems]
    if not hits:
        return ""
    lo, hi = max(0, hits[0] - 1), min(len(reading.tokens), hits[-1] + 1)
    return " ".join(t.text for t in reading.tokens[lo:hi])


def _opposites(claim: Reading, span: Reading) -> list[Mismatch]:
    """A word of the claim stands where the span has its opposite ("fewer" for "more")."""
    mine, theirs = _parts(claim), _parts(span)
    for word, count in mine.items():
        if count <= theirs.get(word, 0):
            continue
        for opposite in sorted(_OPPOSITE.get(word, ())):
            if theirs.get(opposite, 0) > mine.get(opposite, 0):
                return [Mismatch("comparison", f"the passage says '{opposite}', not '{word}'")]
    return []


def _parts(reading: Reading) -> Counter[str]:
    """Words, with hyphenated ones also taken apart ("first-quarter"), counted."""
    return Counter(p for t in reading.tokens for p in {t.low, *t.low.split("-")})


def _role(reading: Reading, pos: int) -> str:
    """How a name is tied into its clause: the preposition before it, "poss" for a possessive,
    or "" for a bare subject or object."""
    toks = reading.tokens
    if toks[pos].text.lower().endswith(("'s", "’s")):
        return "poss"
    for k in range(pos - 1, max(-1, pos - 3), -1):
        low = toks[k].low
        if low in _ROLE_WORDS:
            return low
        if _content(reading, k) or toks[k].text in (",", ";"):
            break
    return ""


def _roles(claim: Reading, span: Reading) -> list[Mismatch]:
    """Two names exchanged ("exports from China to the US" for "from the US to China")."""
    c_roles, s_roles = _role_sets(claim), _role_sets(span)
    shared = [k for k in c_roles if k in s_roles]
    for i, a in enumerate(shared):
        for b in shared[i + 1 :]:
            a_moved = (c_roles[a] - s_roles[a]) & (s_roles[b] - c_roles[b])
            b_moved = (c_roles[b] - s_roles[b]) & (s_roles[a] - c_roles[a])
            if a_moved and b_moved:
                return [
                    Mismatch(
                        "role", f"the passage has {_shown(a)} and {_shown(b)} the other way round"
                    )
                ]
    return _order_swap(claim, span, shared)


def _role_sets(reading: Reading) -> dict[str, set[str]]:
    """For each name used as a noun (not "Chinese", "American"), the ties it has."""
    out: dict[str, set[str]] = {}
    for f in reading.facts:
        head = reading.tokens[f.pos].low.split("-")[0]
        if f.kind == "name" and head not in _ADJECTIVES and head not in _CAPITALS:
            out.setdefault(f.key, set()).add(_role(reading, f.pos))
    return out


def _order_swap(claim: Reading, span: Reading, shared: list[str]) -> list[Mismatch]:
    """Two places that the claim and the span both give as bare subject and object, in
    opposite order ("China overtook the US" for "the US overtook China")."""
    c_pos, s_pos = _single_places(claim), _single_places(span)
    places = [k for k in shared if k in c_pos and k in s_pos]
    if len(places) != 2:
        return []
    a, b = places
    if any(_role(claim, c_pos[k]) or _role(span, s_pos[k]) for k in places):
        return []
    if _joined(claim, c_pos[a], c_pos[b]) or _joined(span, s_pos[a], s_pos[b]):
        return []
    if (c_pos[a] < c_pos[b]) != (s_pos[a] < s_pos[b]):
        return [
            Mismatch("role", f"the passage has {_shown(a)} and {_shown(b)} the other way round")
        ]
    return []


def _single_places(reading: Reading) -> dict[str, int]:
    seen: dict[str, list[int]] = {}
    for f in reading.facts:
        if f.kind == "name" and f.key in _PLACES and reading.tokens[f.pos].low not in _ADJECTIVES:
            seen.setdefault(f.key, []).append(f.pos)
    return {k: v[0] for k, v in seen.items() if len(v) == 1}


def _joined(reading: Reading, i: int, j: int) -> bool:
    """Listed together ("the US and China"), so their order says nothing."""
    lo, hi = sorted((i, j))
    between = {t.low for t in reading.tokens[lo + 1 : hi]}
    return hi - lo <= 3 and bool(between & {"and", "or", ",", "&", "nor"})


def _shown(key: str) -> str:
    return {"us": "the US", "uk": "the UK", "eu": "the EU"}.get(key, key.title())


def as_text(problems: Sequence[Mismatch]) -> str:
    return "; ".join(p.reason for p in problems)


Verdict = Literal["entailed", "contradicted", "not stated"]


class Judge(Protocol):
    """A stronger judge, asked only when every fact of the claim checks out."""

    def verdict(self, claim: str, span: str) -> tuple[Verdict, str]: ...

    def decide(self, claim: str, span: str, support: Support) -> tuple[Support, str]: ...


class _Judge:
    name = "judge"

    def verdict(self, claim: str, span: str) -> tuple[Verdict, str]:
        raise NotImplementedError

    def decide(self, claim: str, span: str, support: Support) -> tuple[Support, str]:
        verdict, why = self.verdict(claim, span)
        if verdict == "contradicted":
            return "unsupported", why or f"{self.name}: the passage contradicts this"
        if verdict == "entailed":
            return "supported", ""
        if support == "supported":
            return "weak", why or f"{self.name}: the passage does not state this"
        return support, why


class NLIJudge(_Judge):
    """A sentence-transformers ``CrossEncoder`` trained for NLI (by name or folder), with the
    passage as premise and the claim as hypothesis."""

    def __init__(self, model: str, device: str = "cpu") -> None:
        from sentence_transformers import CrossEncoder

        try:
            self.model = CrossEncoder(model, device=device)
        except (OSError, ValueError) as exc:
            raise JudgeError(
                f"Cannot load the NLI model {model!r} ({exc}). Set ASSISTANT_VERIFY__NLI_MODEL to "
                "a sentence-transformers CrossEncoder folder, or leave it empty."
            ) from None
        config = getattr(self.model, "config", None) or self.model.model.config
        labels = {int(i): str(v).lower() for i, v in config.id2label.items()}
        self.labels = [_label(labels.get(i, "")) for i in range(len(labels))]
        if "entailed" not in self.labels or "contradicted" not in self.labels:
            raise JudgeError(
                f"{model!r} does not name entailment and contradiction labels, so it is not an "
                "NLI model; choose a CrossEncoder trained on NLI (e.g. an MNLI/SNLI one)."
            )
        self.name = f"NLI model {model}"
        self._cache: dict[tuple[str, str], tuple[Verdict, str]] = {}

    def verdict(self, claim: str, span: str) -> tuple[Verdict, str]:
        key = (claim, span)
        if key not in self._cache:
            scores = self.model.predict([(span, claim)], apply_softmax=True)[0]
            best = max(range(len(self.labels)), key=lambda i: float(scores[i]))
            self._cache[key] = (self.labels[best], "")
        return self._cache[key]


def _label(name: str) -> Verdict:
    if name.startswith("entail"):
        return "entailed"
    if name.startswith("contradict"):
        return "contradicted"
    return "not stated"


class Generates(Protocol):
    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]: ...


_JUDGE_PROMPT = (
    "You check one claim against one passage. Answer on one line: ENTAILED if the passage "
    "states the claim, CONTRADICTED if the passage says otherwise, NOT STATED if it says "
    "neither; then ' - ' and, unless ENTAILED, the fact that differs in a few words.\n\n"
    "Passage: {span}\n\nClaim: {claim}"
)
_JUDGE_CACHE = 4096


class ModelJudge(_Judge):
    """Asks a configured remote model whether the passage entails the claim; answers are
    cached, so a claim checked twice costs one call."""

    def __init__(self, model: Generates, name: str = "the remote model") -> None:
        self.model = model
        self.name = name
        self._cache: OrderedDict[tuple[str, str], tuple[Verdict, str]] = OrderedDict()

    def verdict(self, claim: str, span: str) -> tuple[Verdict, str]:
        key = (claim, span)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        prompt = _JUDGE_PROMPT.format(span=span, claim=claim)
        reply = "".join(self.model.stream([{"role": "user", "content": prompt}])).strip()
        head, _, why = reply.partition(" - ")
        word = head.strip().upper()
        verdict: Verdict = (
            "contradicted"
            if word.startswith("CONTRA")
            else "entailed"
            if word.startswith("ENTAIL")
            else "not stated"
        )
        self._cache[key] = (verdict, f"{self.name}: {why.strip()}" if why.strip() else "")
        if len(self._cache) > _JUDGE_CACHE:
            self._cache.popitem(last=False)
        return self._cache[key]


def make_judge(settings: VerifySettings, model: Generates | None, backend: str) -> Judge | None:
    """The stronger judge the settings ask for: an NLI cross-encoder when one is named, else the
    remote model when asked for and the backend is a server; none by default."""
    if settings.nli_model:
        return _nli_judge(settings.nli_model)
    if settings.remote_judge and model is not None and backend in ("openai", "ollama"):
        return ModelJudge(model, f"the {backend} model")
    return None


@functools.lru_cache(maxsize=2)
def _nli_judge(name: str) -> NLIJudge:
    return NLIJudge(name)
