"""Comparing a claim with a passage: whether the supporting words of the passage state the
figures, dates, names, negations, roles and comparisons the claim asserts, bound to the same things.

Word overlap and sentence similarity say a passage is about the claim; they do not say the claim
is what the passage states. Here every fact of the claim must be found in the span of the passage
that carries it (the best sentence, or two neighbouring ones), attached to the same words. The
facts themselves are read by assistant/facts.py."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from assistant.facts import (
    ALIASES,
    NUMBER_WORDS,
    STOP_WORDS,
    Fact,
    Reading,
    Token,
    When,
    name_found,
    read,
)

_PLACES = frozenset(ALIASES.values())
_CAPITALS = frozenset("washington beijing tokyo taipei seoul".split())
_ADJECTIVES = frozenset(
    w for w in ALIASES if w.endswith(("ese", "an", "ish", "ch", "li", "ti")) and w != "taiwan"
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
_DETERMINERS = frozenset("the a an its their his her this that".split())


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
        if claim.tokens[fact.pos].low in NUMBER_WORDS:
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
    return (
        tok.low not in STOP_WORDS and tok.low not in _NEGATORS and any(c.isalnum() for c in tok.low)
    )


def _stem(word: str) -> str:
    word = ALIASES.get(word, word)
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
        if noun.text[0].isupper() or not noun.low.isalpha() or noun.low in STOP_WORDS:
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
