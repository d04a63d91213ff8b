"""What a question asks for: the type of answer ("when" wants a date, "how much" a figure, "which
company" an organisation, a comparison both sides), the words that say what it is about, and the
names and values it takes for granted (a premise the sources may contradict)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from assistant.synonyms import counted_as
from assistant.text import key_terms, stem, stems

Kind = Literal["date", "figure", "name", "fact"]
Measure = Literal["money", "share", ""]
Holder = Literal["person", "country", ""]

_DATE_Q = re.compile(
    r"^\s*(?:and\s+|but\s+|so\s+)?(?:since\s+|by\s+|until\s+)?when\b|\b(?:what|which)\s+"
    r"(?:dates?|days?|months?|years?|time)\b|\bsince when\b|\bhow long ago\b|\bin what year\b|"
    r"\bwhat\s+(?:were|are)\s+the\s+(?:two\s+|both\s+)?dates\b",
    re.I,
)
# "What does DeepSeek charge ...?": a figure, in money.
_WHAT_PAID = r"\bwhat\s+(?:does|did|do|will|would)\s+(?:[\w\-']+\s+){1,4}?(?:charge|cost|pay)\b"
_FIGURE_Q = re.compile(
    r"\bhow\s+(?:much|many|big|large|long|fast|high|low|far|small|expensive|often|old)\b|"
    r"\bby how\b|\b(?:what|which)\s+(?:[\w\-']+\s+){0,4}(?:share|percentage|proportion|"
    r"fraction|price|figure|amount|sum|size|number|total|value|rate|cost|valuation|threshold|count|speed|capacity|level|stake|"
    r"budget|yield|salary|salaries|fine|penalty|revenue|profit|income|spending|investment|"
    r"funding|loss|margin|score|tariff|headcount|area|bandwidth|density)\b|"
    rf"\bwhat\s+was\s+the\s+(?:size|value|price|cost|total|amount)\b|{_WHAT_PAID}",
    re.I,
)
_NAME_Q = re.compile(
    r"^\s*(?:and\s+)?(?:who|whom|whose)\b|\b(?:which|what)\s+(?:[a-z\-]+\s+){0,2}(?:company|"
    r"companies|firm|firms|lab|labs|laboratory|organi[sz]ations?|agency|agencies|startups?|"
    r"start-ups?|fund|university|universities|universit|group|maker|makers|country|countries|"
    r"government|team|investors?|designer|manufacturer|foundry|body|regulator|ministry|"
    r"department|person|people|executive|hedge fund)\b",
    re.I,
)
# "Under what licence?", "Which statute?", "What Nvidia hardware?": a thing known by its proper
# name or code (MIT, the Defense Production Act, H800), which need not repeat the word asked
_THING_Q = re.compile(
    r"\b(?:which|what)\s+(?:[A-Za-z\-]+\s+){0,2}(?:licen[cs]es?|statutes?|laws?|hardware|chips?|"
    r"gpus?|accelerators?|processors?|frameworks?|exchanges?|cit(?:y|ies))\b",
    re.I,
)
# "Which company was that?": the answer is a company's name, which need not say "company"
_CLASS_Q = re.compile(
    r"\b(?:which|what)\s+(?:company|companies|firm|firms|lab|labs|startup|start-up|country|"
    r"countries|university|maker|foundry|designer|manufacturer)\s+(?:is|was|are|were)\s+"
    r"(?:it|that|this|they|those)\b",
    re.I,
)
_COMPARE_Q = re.compile(
    r"\bcompar|\bdiffer|\bversus\b|\bvs\.?\b|\bmore than\b|\bless than\b|\bbigger\b|\blarger\b|"
    r"\bsmaller\b|\bearlier\b|\blater than\b|\bwhich came first\b|\bboth\b|\bstack(?:s|ed)? up\b|"
    r"\bmeasures? up\b|\bwhile\b|^\s*which\b[^?]*,[^?]*\bor\b|"
    r",\s*and\s+(?:what|how many|how much|which|when|who)\b|"  # a two-part question
    r"\b(?:what|which)\s+(?:dates|days)\b|\bthe\s+(?:two\s+|both\s+)?dates\b",  # two dates
    re.I,
)
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*"  # fmt: skip
_DATE_VALUE = re.compile(
    rf"\b(?:\d{{1,2}}\s+{_MONTH}\.?\s+(?:19|20)\d\d|{_MONTH}\.?\s+\d{{1,2}},?\s+(?:19|20)\d\d|"
    rf"{_MONTH}\.?\s+(?:19|20)\d\d|(?:19|20)\d\d-\d\d(?:-\d\d)?|(?:19|20)\d\d)\b",
    re.I,
)
_FIGURE_VALUE = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
    r"forty|fifty|hundred|thousand|million|billion|trillion|dozen|half|double|doubled|triple|"
    r"tripled)\b",
    re.I,
)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# A quantity, not part of a name (H800, NXT:2050i) and not a date: "46", "$5.5", "128K", "97%".
_QUANTITY = re.compile(
    r"(?<![A-Za-z:\-\d.,])\d+(?:[.,]\d+)*"
    r"(?:[KMB]\b|(?:[KMGTP]B|nm|[kMG]?W|GHz|TFLOPS|PFLOPS)\b|(?![A-Za-z\d]))"  # "6GB", "7nm"
)
# "Qwen2.5" and "V3.1" are names whole: without the point release they name another model.
_NAME_VALUE = re.compile(r"\b[A-Z][A-Za-z0-9&\-]*[A-Za-z0-9](?:\.\d+)*|\b[A-Z]{2,}\b")
_AUX = r"(?:did|does|do|was|were|is|are|had|has|have|will|would|could|can|should|must)"
_HEAD = re.compile(
    rf"\b(?:how\s+(?:many|much)|^\s*(?:and\s+)?(?:under\s+|in\s+|on\s+|at\s+|by\s+)?"
    rf"(?:what|which))\s+((?:[\w\-'\"]+\s+){{1,5}}?){_AUX}\b",
    re.I,
)
# "What was the launch price of ...?": the thing asked for follows "what is/was (the)".
_HEAD_AFTER_BE = re.compile(
    r"^\s*(?:and\s+)?(?:what|which)\s+(?:is|was|are|were)\s+(?:the\s+|its\s+|their\s+|his\s+|her\s+)?"
    r"((?:[\w\-'\"]+\s+){0,3}?[\w\-'\"]+)(?=\s+(?:of|in|for|at|on|by|from|that|when|under|with|"
    r"behind|between|across|per)\b|\s*\?)",
    re.I,
)


# "How many NPC deputies voted ...": with no "did" after it, the first plural names the thing.
_HOW_MANY_PLURAL = re.compile(
    rf"\bhow\s+many\s+(?!{_AUX}\b)((?:[\w\-]+\s+){{0,2}}?(?!{_AUX}\b)[a-z][\w\-]*s)\b", re.I
)


def _asked_phrase(question: str) -> str:
    """The words naming what "how many ...", "what ... did" or "what was the ..." asks for."""
    m = _HEAD.search(question) or _HEAD_AFTER_BE.search(question)
    m = m or _HOW_MANY_PLURAL.search(question)
    return str(m.group(1)) if m else ""


_PHRASE_BREAK = frozenset("of in on at for from with by over under".split())
_PRONOUNS = frozenset("it its they them their those these this that".split())
_PRICE = frozenset("price prices cost costs".split())  # given in money, whatever is priced
_GENERIC_HEAD = _PRICE | frozenset(
    "money amount figure number count size total value sum level share percentage proportion "
    "threshold length limit capacity margin per "
    "date day month year time kind kinds type types sort sorts one ones the a an of in on for "
    "and".split()
)
# Words a question uses to ask, not to say what it is about.
_ASKING = frozenset(
    (
        "much many big large long fast high low far date day month year time what which when "
        "who whom whose why how did does do was were according roughly approximately around "
        "exactly first size total number figure amount price share percentage company companies "
        "firm organisation organization say said tell know named name called give gave make "
        "made get got put reported report stated state happen happened take took come came "
        "claim claimed claims announce announced kind kinds type types sort sorts place"
    ).split()
)
_QUESTION_START = frozenset(
    "what which when who whom whose why how where is are was were did does do and but so "
    "under after before by in on from for according to of the a an".split()
)
# The first word of a sentence that names nothing: a question word, or a pronoun ("It", "He")
_OPENERS = _QUESTION_START | _PRONOUNS | frozenset("he she his her there such each both".split())
# Another way of naming the same actor; a question that says "Beijing" is not wrong about China.
ALIASES: dict[str, tuple[str, ...]] = {
    "beijing": ("china", "chinese", "prc"),
    "washington": ("us", "u.s.", "united states", "american", "america", "biden", "trump"),
    "commerce": ("bis", "commerce"),
    "tokyo": ("japan", "japanese"),
    "the hague": ("dutch", "netherlands"),
    "dutch": ("netherlands",),
    "american": ("us", "united states"),
    "chinese": ("china",),
    "us": ("united states", "american", "u.s."),
    "america": ("us", "united states"),
}


@dataclass(frozen=True)
class Asked:
    question: str
    kind: Kind
    comparison: bool
    terms: frozenset[str]  # what the question is about (asking words left out)
    names: tuple[str, ...]  # capitalised names and codes it mentions (Nvidia, H20, BIS)
    values: tuple[str, ...]  # dates and figures it states itself
    head: str = ""  # the thing a figure or name is asked of: "people" in "how many people"
    counted: bool = False  # "how many": the figure must be a count of the head
    exact: bool = False  # "on what date", "which day": a bare year does not answer
    sides: tuple[frozenset[str], ...] = ()  # a comparison's two sides: the words of each alone
    measure: Measure = ""  # what a figure must be given in: money, or a share (percent)
    unit: str = ""  # ... or the unit the question names: "in TFLOPS"
    holder: Holder = ""  # what a name must be of: "who led it" wants a person


def asked(question: str, context: str = "") -> Asked:
    """What ``question`` asks; ``context`` (the standalone form of a follow-up) adds the words
    that say what it is about."""
    main = _main_clause(question)
    thing = False
    if _DATE_Q.search(main):
        kind: Kind = "date"
    elif _FIGURE_Q.search(main):
        kind = "figure"
    elif _NAME_Q.search(main):
        kind = "name"
    elif _UNIT_Q.search(main):  # "what is its peak throughput, in TFLOPS?"
        kind = "figure"
    elif _THING_Q.search(main):
        kind = "name"
        thing = True
    else:
        kind = "fact"
    comparison = bool(_COMPARE_Q.search(question))
    if comparison and kind == "fact":
        figure = _MORE.search(main) or _MEASURED_THING.search(main)
        kind = "figure" if figure else "date" if _SOONER.search(main) else kind
    return Asked(
        question=question,
        kind=kind,
        comparison=comparison,
        terms=frozenset(t for t in key_terms(f"{question} {context}") if not _asking(t)),
        # a follow-up's names include those of what it refers to ("it" = Qwen3)
        names=tuple(dict.fromkeys([*names_in(question), *_context_names(context)])),
        values=tuple(dict.fromkeys(_NUMBER.findall(question))),
        head=_head(main)
        if kind == "figure" or (kind == "name" and not thing and not _CLASS_Q.search(main))
        else "",
        counted=bool(re.search(r"\bhow many\b", main, re.I)),
        exact=bool(re.search(r"\b(?:what|which)\s+(?:date|day)\b", main, re.I)),
        sides=sides_of(question) if comparison else (),
        measure=_measure(main) if kind == "figure" and not comparison else "",
        unit=_unit(main) if kind == "figure" and not comparison else "",
        holder=_holder(main) if kind == "name" and not comparison else "",
    )


# "What is its peak throughput in TFLOPS?": a figure in another unit does not answer it.
_UNIT_Q = re.compile(
    r"\bin\s+(?P<unit>[TPE]?FLOPS|TOPS|[GT]B/s|[KMGT]B|nanomet(?:re|er)s|nm|(?:kilo|mega|giga)?watts|"
    r"[kMG]W)\b"
)
# "Who led the team", "who is the company's chief executive": a person, not an organisation.
_PERSON_Q = re.compile(
    r"^\s*(?:and\s+)?who(?:m)?\s+(?:(?:is|was|were|are|has been|had been)\s+)?(?:[\w\-']+\s+){0,3}?"
    r"(?:led|leads|lead|heads|headed|named|appointed|chairs|chaired|spoke|speaks|run|runs|ran)\b|"
    r"^\s*(?:and\s+)?who\s+(?:is|was|were|are)\s+(?:the\s+)?(?:[\w\-']+\s+){0,3}?(?:chief "
    r"executive|ceo|founder|co-founder|chair|chairman|chairwoman|president|minister|secretary|"
    r"director|head)\b|\b(?:which|what)\s+(?:person|executive|official|minister|researcher)\b",
    re.I,
)
_COUNTRY_Q = re.compile(r"\b(?:which|what)\s+(?:[\w\-]+\s+)?(?:countries|country|nations?)\b", re.I)


def _in_unit(unit: str, text: str) -> bool:
    return bool(re.search(rf"\d\s*{re.escape(unit)}\b", text, re.I))


def _unit(main: str) -> str:
    found = _UNIT_Q.search(main)
    return found.group("unit") if found else ""


def _holder(main: str) -> Holder:
    if _PERSON_Q.search(main):
        return "person"
    return "country" if _COUNTRY_Q.search(main) else ""


_MONEY_Q = re.compile(
    r"(?<!by )\bhow much\s+(?:money|funding|capital|cash)\b|(?<!by )\bhow much\b[^?]*?\b(?:"
    r"invest|invested|spend|spent|pay|paid|cost|raise|raised|earn|earned|charge|charged|lend|lent|"
    rf"borrow|borrowed|worth|pledge|pledged|commit|committed)\b|{_WHAT_PAID}",
    re.I,
)
_MONEY_HEADS = frozenset(
    "price prices cost costs valuation budget budgets salary salaries fine fines penalty revenue "
    "revenues profit profits income spending investment investments funding capex".split()
)
_SHARE_Q = re.compile(
    r"\b(?:what|which)\s+(?:[\w\-]+\s+){0,2}(?:(?<!per )share|percentage|proportion|fraction)\b|"
    r"\bby what percent|\bwhat percent|\bhow many percent",
    re.I,
)


def _measure(main: str) -> Measure:
    """A figure the question wants in money ("what budget", "how much did it invest") or as a
    share ("what percentage"): a figure in other units does not answer it."""
    if _SHARE_Q.search(main):
        return "share"
    phrase = _asked_phrase(main).split()
    head = phrase[-1].lower() if phrase else ""
    if head in _MONEY_HEADS or _MONEY_Q.search(main):
        return "money"
    return ""


# "Which has more parameters, A or B?" asks for two figures; "Which came first, A or B?" dates.
_MORE = re.compile(
    r"\b(?:more|fewer|less|larger|bigger|smaller|higher|lower|faster|slower|cheaper|costlier|"
    r"heavier|longer|shorter|how many|how much)\b",
    re.I,
)
# "How did their revenues compare?": what is compared is a figure
_MEASURED_THING = re.compile(
    r"\b(?:revenues?|sales|profits?|capital|capex|spending|budgets?|valuations?|funding|prices?|"
    r"costs?|tariffs?|rates?|parameters?|parameter count|scores?|shares?|margins?|capacity|"
    r"bandwidth|speed|memory|power|headcount)\b",
    re.I,
)
_SOONER = re.compile(r"\b(?:first|earlier|later|sooner|older|newer)\b", re.I)
_SIDE_FORMS = (
    # "Which came first, A or B?", also "Which came first: A or B, and on what dates?"
    re.compile(r"[,:]\s*(?P<a>[^,:?]+?)\s+or\s+(?P<b>[^,?]+?)\s*(?:,\s*and\b[^,?]*)?\?*\s*$", re.I),
    re.compile(r"\bbetween\s+(?P<a>.+?)\s+and\s+(?P<b>.+?)\s*\?*\s*$", re.I),
    re.compile(
        r"^(?P<a>.+?)\s+(?:compared?|compares|stack(?:s|ed)? up|measured? up)\s+"
        r"(?:with|to|against)\s+(?P<b>.+?)\s*\?*\s*$",
        re.I,
    ),
    # not "against": "a WTO complaint against the controls" compares nothing
    re.compile(r"^(?P<a>.+?)\s+(?:versus|vs\.?)\s+(?P<b>.+?)\s*\?*\s*$", re.I),
    re.compile(
        r"^(?P<a>.+?),?\s+and\s+(?P<b>(?:what|how many|how much|which|when|who)\b.+?)\s*\?*\s*$",
        re.I,
    ),
    # "Huawei and the SMIC", "Huawei and, later, SMIC"
    re.compile(
        r"\b(?P<a>[A-Z][\w\-.]*)\s+and,?\s+(?:(?:later|then|afterwards|also),?\s+)?(?:the\s+)?"
        r"(?P<b>[A-Z][\w\-.]*)"
    ),
)
_SIDE_WORD = re.compile(
    r"\d+[A-Za-z][A-Za-z0-9\-.]*|[A-Za-z][A-Za-z0-9\-.]*[A-Za-z0-9]|\d+|[A-Z]"  # 950PR, A100
)


def sides_of(question: str) -> tuple[frozenset[str], ...]:
    """The two things a comparison sets side by side, each as the words only it has: "the
    A800's NVLink speed compared with the A100's" gives {a800} and {a100}; "how many at the end
    of 2024, and how many by 31 March 2025" gives the first clause's own words and {31, march,
    2025}. Empty when the question does not say its sides in a form read here."""
    for form in _SIDE_FORMS:
        m = form.search(question)
        if not m:
            continue
        a, b = _side_words(m.group("a")), _side_words(m.group("b"))
        own_a, own_b = a - b, b - a
        if own_a and own_b:
            return frozenset(own_a), frozenset(own_b)
    return ()


def _side_words(text: str) -> set[str]:
    words = {w.lower().rstrip(".") for w in _SIDE_WORD.findall(text.replace("'s", " "))}
    return {w for w in words if w not in _SIDE_STOP and (len(w) > 1 or w.isdigit() or w == "i")}


_SIDE_STOP = _ASKING | frozenset(
    "the a an of in on for and or to by at with from as its their his her it they than then "
    "did does do is are was were has have had compare compared how what which who when "
    "between versus against".split()
)


def _asking(term: str) -> bool:
    """A word used to ask, in any form ("makes", "reported")."""
    return term in _ASKING or stem(term) in _asking_stems()


@lru_cache(maxsize=1)
def _asking_stems() -> frozenset[str]:
    return frozenset(stem(w) for w in _ASKING)


def _context_names(context: str) -> list[str]:
    return [
        w for w in context.split() if _NAME_VALUE.fullmatch(w) and w.lower() not in _QUESTION_START
    ]


def _head(question: str) -> str:
    """The last word of what "how many ..." or "what ..." asks about, unless it says nothing
    (amount, figure): the answer's figure should be the count or measure of this word."""
    words: list[str] = [w.lower().strip("'\"") for w in _asked_phrase(question).split()]
    if not words:
        return ""
    if "per" in words:  # "tokens per second": the unit is what the figure must be given in
        words = words[: words.index("per") + 2]
    else:  # "tokens of pre-training data", "entities in all": what stands before "of" or "in"
        cut = next((i for i, w in enumerate(words) if w in _PHRASE_BREAK), len(words))
        if any(w not in _GENERIC_HEAD and len(w) > 2 for w in words[:cut]):
            words = words[:cut]
        else:  # "kinds of equipment", "the amount of compute": what follows
            words = words[cut + 1 :]
    if any(w in _PRONOUNS for w in words):
        return ""  # "how many of them": the thing is named earlier in the conversation
    for word in reversed(words):
        if word not in _GENERIC_HEAD and len(word) > 2 and not word[0].isdigit():
            # "what technical threshold": a modifier of a measure word says what kind of
            # measure, not what the figure is of
            if words[-1] in _GENERIC_HEAD and (_ADJECTIVE.search(word) or words[-1] in _PRICE):
                return ""  # nor does "launch price": it is given in money
            return word
    return ""


_ADJECTIVE = re.compile(r"(?:al|ive|ous|ful|ible|able|ic)$")


def _main_clause(question: str) -> str:
    """ "When Commerce first restricted chips, what rate ...?" asks for the rate, not a date;
    "Moore Threads and MetaX listed first. How did their revenues compare?" asks what its last
    sentence asks."""
    # not after an initialism ("the U.S. Commerce Department"); after "by NIST." it is
    asking = re.split(r"(?<!\b[A-Za-z]\.[A-Za-z]\.)(?<=[.!])\s+(?=[A-Z])", question.strip())[-1]
    if asking != question.strip() and "?" in asking:
        question = asking
    head, sep, tail = question.partition(", ")
    if (
        sep
        and re.match(r"^(when|after|before|since|under|according|in|by)\b", head, re.I)
        and (re.search(r"\b(what|which|who|how|when)\b", tail, re.I))
    ):
        return tail
    return question


_TITLE = re.compile(r"^(?:President|Premier|Chairman|Minister|Secretary|CEO|Dr)\s+")


def bare(name: str) -> str:
    """A name without its title: the sources may say "Donald Trump" for "President Trump"."""
    return _TITLE.sub("", name)


def premise_names(question: str, names: Sequence[str]) -> list[str]:
    """Those of ``names`` the question takes for granted as the owner, kind or maker of what it
    asks about: "Meta's Stargate", "which Huawei lab", "did Tencent release"."""
    found = []
    for name in names:
        n = re.escape(name)
        name = bare(name)
        role = (
            rf"\b{n}['’]s\s|\b(?i:which|what)\s+{n}\s+[a-z]|\b(?i:did|does|has|had)\s+{n}\s+[a-z]"
        )
        if re.search(role, question):
            found.append(name)
    return found


def without(question: str, premise: str) -> str:
    """``question`` with a premise the sources contradict taken out, with its preposition or
    possessive: "When did Tencent release Qwen3?" -> "When did release Qwen3?", which searches
    and scores like the question about Qwen3 alone."""
    said = re.escape(premise)
    dropped = re.sub(
        rf"(?:\b(?:in|of|for|from|since|by|at|on|until)\s+)?(?<![\w$€£¥]){said}(?:['’]s)?"
        r"(?![\w\-]|\.\d)",
        " ",
        question,
    )
    dropped = re.sub(r"\(\s*(?:not\s*)?\)", " ", dropped)  # "(not SMIC)" without SMIC
    text = re.sub(r"\s+([?,.;:])", r"\1", " ".join(dropped.split()))
    text = re.sub(r"([,;:])[,;:]+", r"\1", text)
    text = re.sub(r"\b(did|was|is|does|were|are)[,;:]", r"\1", text)  # "When did, not X, ..."
    return re.sub(r"[,;:]+(?=\?|$)", "", text)


def names_in(text: str) -> list[str]:
    """Capitalised words and codes, leaving out the first word of a sentence when it is only a
    question or sentence opener."""
    found: list[str] = []
    for m in _NAME_VALUE.finditer(text):
        word = m.group(0)
        before = text[: m.start()].rstrip()
        opener = not before or before[-1] in ".?!:;\"'(“"
        if opener and word.lower() in _OPENERS:
            continue  # "It is widely cited as ..." names nothing by "It"
        if word.lower() in _QUESTION_START and not word.isupper():
            continue
        if (
            found
            and text[m.start() - 1 : m.start()] == " "
            and text[: m.start() - 1].endswith(found[-1])
        ):
            found[-1] = f"{found[-1]} {word}"  # "South Korea", "Moore Threads"
        else:
            found.append(word)
    return found


def answers_kind(want: Asked, sentence: str) -> bool:
    """True when ``sentence`` holds an answer of the asked type that the question does not
    already state (a "when" question about "2023" is not answered by "in 2023" alone)."""
    if want.kind == "date":
        dates = {m.group(0).lower() for m in _DATE_VALUE.finditer(sentence)}
        given = {m.group(0).lower() for m in _DATE_VALUE.finditer(want.question)}
        return bool(dates - given)
    if want.kind == "figure":
        undated = _DATE_VALUE.sub(" ", sentence)
        quantities = set(_QUANTITY.findall(undated)) - set(want.values)
        if want.unit and not _in_unit(want.unit, undated):
            return False
        return bool(quantities) or bool(_FIGURE_VALUE.search(_NUMBER.sub(" ", undated)))
    if want.kind == "name":
        asked_names = {n.lower() for n in want.names}
        new = [n for n in names_in(sentence) if n.lower() not in asked_names]
        if want.holder == "person":
            return any(_person(n) for n in new)
        if want.holder == "country":
            return any(n in _COUNTRIES for n in new)
        return bool(new)
    return True


def _person(name: str) -> bool:
    """A person's name, after any title ("Premier Li", "Prime Minister Rishi Sunak"): two or
    three capitalised words, or one after a title, none of which says an organisation, place or
    document ("Liang Wenfeng", "Kai-Fu Lee"; not "Justice Department", "Attorney General")."""
    words = name.split()
    titled = next((i for i, w in enumerate(words) if w.lower() not in _TITLES), len(words))
    rest = words[titled:]
    return (1 if titled else 2) <= len(rest) <= 3 and all(
        w[0].isupper() and w.replace("-", "").isalpha() and w.lower() not in _NOT_PERSON
        for w in rest
    )


_TITLES = frozenset(
    "president premier prime minister secretary chairman chairwoman chair ceo dr mr ms vice "
    "attorney general commerce foreign state senator representative governor mayor judge".split()
)
# Words of a capitalised name that is not a person's
_NOT_PERSON = frozenset(
    "act administration agency ai alliance attorney general minister secretary president co "
    "corp inc llc ltd plc gmbh association bank board bureau center centre cloud "
    "college commission committee company conference congress corporation council court "
    "department directive district exchange executive foundation fund group holdings house "
    "index institute intelligence international lab labs laboratory law league list market "
    "ministry model models national office order organisation organization park partners plan "
    "program programme project provisions regulation research rule rules school security "
    "semiconductor service services society state states summit systems task team technologies "
    "technology times treaty union university ventures week world north south east west new "
    "china chinese american us united kingdom january february march april may june july august "
    "september october november december".split()
)
# The countries the briefs speak of, for "which countries"
_COUNTRIES = frozenset(
    "China Taiwan Japan Korea India Singapore Malaysia Vietnam Thailand Indonesia Philippines "
    "Australia Russia Ukraine Israel Iran UAE Qatar Turkey Egypt Kenya Nigeria Brazil Mexico "
    "Argentina Chile Canada US USA U.S. America UK Britain Ireland France Germany Italy Spain "
    "Portugal Netherlands Belgium Luxembourg Switzerland Austria Poland Czechia Hungary Romania "
    "Bulgaria Greece Sweden Norway Finland Denmark Estonia Latvia Lithuania Pakistan Bangladesh "
    "Kazakhstan Mongolia Macau Serbia Belarus Cuba Venezuela Colombia Peru Ecuador Bolivia "
    "Uruguay Paraguay Ethiopia Morocco Algeria Tunisia Ghana Senegal Rwanda Tanzania Uganda "
    "Zambia Zimbabwe Iraq Syria Jordan Lebanon Oman Kuwait Bahrain Uzbekistan Azerbaijan Georgia "
    "Armenia Myanmar Cambodia Laos Nepal Slovakia Slovenia Croatia Iceland Malta Cyprus Brunei "
    "Fiji".split()
) | {
    "South Korea", "North Korea", "New Zealand", "Saudi Arabia", "United Arab Emirates",
    "South Africa", "United States", "United Kingdom", "Hong Kong",
}  # fmt: skip


# Dates that are not the answer's: "as of 2025", a file name, a brief's own coverage limit
# ("releases after September 2025 are not covered").
_AS_OF = re.compile(
    rf"\bas of\s+(?:{_DATE_VALUE.pattern})|\(see `[^`]*`\)|`[^`]*`|"
    rf"\b(?:after|since|beyond|from)\s+(?:{_DATE_VALUE.pattern})[^;.]{{0,60}}?\bnot covered\b",
    re.I,
)
_FULL_DATE = re.compile(rf"\b(?:\d{{1,2}}\s+{_MONTH}|{_MONTH}\.?\s+\d{{1,2}}\b)", re.I)
_UNIT = re.compile(
    r"[$€£¥%]|\b(?:HK\$|US\$|yuan|dollars?|euros?|billion|million|trillion|thousand|GB|TB|"
    r"MB|GW|MW|kW|nm|GB/s|tokens?|parameters?|per ?cent|percent)\b",
    re.I,
)


def answer_fit(want: Asked, sentence: str) -> float:
    """How well ``sentence`` answers with a value of the asked type: 0 when it holds none (the
    question's own values and "as of" dates do not count), more for a full date than a bare
    year, for a figure with its unit, and for a figure next to what the question counts."""
    text = _AS_OF.sub(" ", sentence)
    if want.kind == "date":
        given = {m.group(0).lower() for m in _DATE_VALUE.finditer(want.question)}
        dates = [m for m in _DATE_VALUE.finditer(text) if m.group(0).lower() not in given]
        if not dates:
            return 0.0
        if any(_FULL_DATE.search(m.group(0)) for m in dates):
            return 1.0
        month = any(not m.group(0).isdigit() for m in dates)
        return 0.0 if want.exact and not month else 0.8 if month else 0.6
    if want.kind == "figure":
        if want.measure and not _MEASURED[want.measure].search(text):
            return 0.0
        if want.unit and not _in_unit(want.unit, text):
            return 0.0
        undated = _DATE_VALUE.sub(" ", _FULL_DATE.sub(" ", text))
        spans = [m for m in _QUANTITY.finditer(undated) if m.group(0) not in want.values]
        if not spans:
            return 0.4 if _FIGURE_VALUE.search(_NUMBER.sub(" ", undated)) else 0.0
        near = [undated[max(0, m.start() - 60) : m.end() + 60] for m in spans]
        fit = 0.7 if any(_UNIT.search(w) for w in near) else 0.5
        if want.head:
            bound = any(head_in(want.head, w) for w in near)
            fit = fit + 0.3 if bound else fit - 0.3
        return fit
    return 1.0 if answers_kind(want, text) else 0.0


_MEASURED = {
    "money": re.compile(  # an amount of money, whole: "$5.6 million", "5.6 million US dollars"
        r"(?:US|HK)?[$€£¥]\s?\d[\d.,]*(?:\s*(?:billion|million|trillion)\b)?|"
        r"(?<![\d.,])\d[\d.,]*\s?(?:(?:thousand|million|billion|trillion|bn|mn|m)\s)?"
        r"(?:(?:US|U\.S\.|HK|Hong Kong|Singapore|Taiwan|New Taiwan)\s)?(?:[$€£¥]|yuan|renminbi|RMB|"
        r"dollars?|euros?|pounds|yen|won|rupees?|francs)\b|\b(?:yuan|RMB|USD|EUR|CNY)\s?\d[\d.,]*",
        re.I,
    ),
    "share": re.compile(
        r"\d\s?(?:%|percent|per cent|pc\b|percentage points?)|\b(?:half|a third|two thirds|a "
        r"quarter|three quarters|a fifth|a tenth|one in)\b",
        re.I,
    ),
}
MONEY = _MEASURED["money"]  # an amount of money, whole


def counts(head: str, text: str) -> bool:
    """A number (not an amount of money) stands up to five words before the counted word, in the
    same clause and not in brackets: "2,048 H800 GPUs", "eight national computing hubs"."""
    unbracketed = re.sub(r"\([^()]*\)", " ", text)  # "2,048 (H800) GPUs"; "(Part 740) and ..."
    words = _WORD_OR_BREAK.findall(MONEY.sub(" ", _DATE_VALUE.sub(" ", unbracketed)).lower())
    targets = counted_as(head)
    for i, word in enumerate(words):
        if stem(word) in targets:
            before = words[max(0, i - 5) : i]
            # not across a clause: "Part 740: approved OSAT companies"
            cut = max((j + 1 for j, w in enumerate(before) if w in _CLAUSE_BREAK), default=0)
            if any(w[0].isdigit() or w in _COUNT_WORDS for w in before[cut:]):
                return True
    return False


_COUNT_WORDS = frozenset(
    "two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty "
    "fifty hundred hundreds thousand thousands dozen dozens".split()
)


def head_in(head: str, text: str) -> bool:
    """The asked-of word (or a usual other word for it) is in ``text``, in any form."""
    words = stems(text)
    return bool(counted_as(head) & words)


_WORD = re.compile(r"[a-z0-9][a-z0-9\-\.]*[a-z0-9]|[a-z0-9]")
_WORD_OR_BREAK = re.compile(rf"{_WORD.pattern}|[;:]")
_CLAUSE_BREAK = frozenset("; :".split())  # not "and": "201 languages and dialects"


def mentions(text: str, name: str) -> bool:
    """``name`` (or a usual other name for it) appears in ``text``."""
    lowered = text.lower()
    options = (name.lower(), *ALIASES.get(name.lower(), ()))
    # "qwen3.5" does not mention Qwen3: a point release is another model
    said = (rf"(?<![a-z0-9]){re.escape(o)}(?![a-z0-9]|\.\d)" for o in options)
    return any(re.search(pattern, lowered) for pattern in said)
