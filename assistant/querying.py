"""Query understanding: follow-up questions made standalone, and dates named in a question."""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable

from assistant.generation import Message
from assistant.text import key_terms, stems

_FOLLOW_UP_START = re.compile(
    r"^(and|but|also|so|then|what about|how about|and what|what else|why|how come)\b", re.I
)
_PRONOUN = re.compile(
    r"\b(it|its|they|them|their|then|that|those|these|this|he|she|his|her)\b", re.I
)
_STRONG_PRONOUN = re.compile(r"\b(it|its|they|them|their)\b", re.I)
_REFERENCE = re.compile(
    r"\b(its|their|it|they|them)\b|\b(?:that|this|those|these)\s+"
    r"(?!is\b|was\b|did\b|does\b|do\b|are\b|were\b|has\b|had\b|have\b)([a-z]+)\b",
    re.I,
)
_DEFINITE = re.compile(
    r"\bthere\b|\bthe\s+(?:company|company's|firm|firm's|lab|lab's|start-?up|group|rule|rules|"
    r"deal|plan|law|order|model|models|chip|chips|fund|agency|ministry|country|government|"
    r"programme|program|project|same)\b",
    re.I,
)
_NOT_A_SUBJECT = frozenset(
    "ai january february march april may june july august september october november "
    "december what which who when how".split()
)
_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
_MONTHS.update({m.lower(): i for i, m in enumerate(calendar.month_abbr) if m})
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_WHEN = rf"(?:(?P<month>{_MONTH})\.?\s+)?(?P<year>(?:19|20)\d\d)"
_SINCE = re.compile(rf"\b(?:since|after|from)\s+{_WHEN}\b", re.I)
_UNTIL = re.compile(rf"\b(?:before|until|up to|through)\s+{_WHEN}\b", re.I)
_DURING = re.compile(rf"\b(?:in|during)\s+{_WHEN}\b", re.I)

Rewriter = Callable[[list[Message]], str]


def is_follow_up(question: str) -> bool:
    """Said in a conversation, needs it: "And when?", "By how much?", a short question with a
    pronoun, or "it"/"its"/"they" with no name before it in a longer one (in "What did Nvidia
    sell after it lost ...", "it" is Nvidia)."""
    words = question.split()
    if _FOLLOW_UP_START.match(question.strip()) or len(words) <= 4:
        return True
    if len(words) <= 10 and _PRONOUN.search(question):
        return True
    from assistant.questions import names_in

    strong = _STRONG_PRONOUN.search(question)
    if strong is not None and not names_in(question[: strong.start()]):
        return True
    # "Who is the company's chief executive?", "the first fab there": what is meant was named
    # earlier, when the question itself names nothing
    return bool(_DEFINITE.search(question)) and not names_in(question)


def standalone(question: str, history: list[Message], rewrite: Rewriter | None = None) -> str:
    """The question rewritten so that it can be searched without the conversation."""
    previous = _earlier(history)
    if not previous or not is_follow_up(question):
        return question
    if rewrite is not None:
        prompt = [
            {
                "role": "system",
                "content": "Rewrite the user's last question as one standalone search query. "
                "Reply with the query only.",
            },
            {
                "role": "user",
                "content": f"Earlier question: {previous[-1]}\nLast question: {question}",
            },
        ]
        rewritten = rewrite(prompt).strip().strip('"').splitlines()
        if (
            rewritten
            and 3 <= len(rewritten[0]) <= 300
            and _keeps(rewritten[0], question, previous[-1])
        ):
            return rewritten[0]
    # Without a model: the follow-up's pronouns name the earlier question's subject, and the
    # earlier question stays beside it for the words the follow-up leaves out.
    return f"{resolve(question, previous[-1])} {previous[-1]}"


def _keeps(rewritten: str, question: str, previous: str) -> bool:
    """A model's rewrite is used only when it keeps most of what the follow-up asks and names
    what the conversation was about, or at least adds words to it: a small model often answers,
    drops the question's words, asks the earlier question again, or returns the follow-up."""
    have = stems(rewritten)
    own = [t for t in key_terms(question) if not _PRONOUN.fullmatch(t)]
    kept = sum(bool(stems(t) & have) for t in own)
    if own and kept < max(1, (len(own) + 1) // 2):
        return False
    subject = subject_of(previous)
    # words the rewrite brings: "it" -> "high-bandwidth memory"
    added = stems(" ".join(key_terms(rewritten))) - stems(question)
    return not subject or bool(stems(subject) & have) or bool(added)


def _earlier(history: list[Message]) -> list[str]:
    """The earlier questions; the last one with the first new name its answer gave when it
    asked for a name ("Which lab put out R1?" answered "DeepSeek released ..."), which a
    follow-up's "they" is about."""
    asked = [m["content"] for m in history if m.get("role") == "user" and m.get("content")]
    last = history[-1] if history else {}
    if not asked or not _ASKS_NAME.match(asked[-1]) or last.get("role") != "assistant":
        return asked
    first = re.split(r"(?<=[.!?])\s", str(last.get("content") or "").strip(), maxsplit=1)[0]
    new = [n for n in _subject_names(first) if n.lower() not in asked[-1].lower()][:1]
    return [*asked[:-1], " ".join([asked[-1], *new])] if new else asked


_ASKS_NAME = re.compile(r"^\s*(?:which|who|whose|what (?:company|firm|lab|group|agency))\b", re.I)


def follow_up_subject(question: str, history: list[Message]) -> str:
    """What a follow-up is about when it does not say: the earlier question's names, or the
    whole earlier question when it names nothing."""
    previous = _earlier(history)
    if not previous or not is_follow_up(question):
        return ""
    return subject_of(previous[-1]) or previous[-1]


def subject_of(question: str) -> str:
    """The names an earlier question is about ("Nvidia H20"), months and openers left out."""
    return " ".join(_subject_names(question))


def _subject_names(text: str) -> list[str]:
    from assistant.questions import names_in

    names = [n for n in names_in(text) if n.lower() not in _NOT_A_SUBJECT and len(n) > 1]
    return list(dict.fromkeys(names))


def resolve(question: str, previous: str) -> str:
    """``question`` with "it", "its", "they" and "that rule" naming the subject of ``previous``;
    unchanged when ``previous`` names nothing."""
    subject = subject_of(previous)
    if not subject:
        return question

    def name(m: re.Match[str]) -> str:
        if m.group(2):  # "that requirement" -> "the Dutch requirement"
            return f"the {subject} {m.group(2)}"
        return f"{subject}'s" if m.group(1).lower() in ("its", "their") else subject

    return _REFERENCE.sub(name, question, count=2)


def _bound(match: re.Match[str], end: bool) -> str:
    year = int(match.group("year"))
    month = _MONTHS.get((match.group("month") or "").lower().rstrip("."))
    if month is None:
        return f"{year}-12-31" if end else f"{year}-01-01"
    last = calendar.monthrange(year, month)[1]
    return f"{year}-{month:02d}-{last:02d}" if end else f"{year}-{month:02d}-01"


def dates_in(question: str) -> tuple[str, str]:
    """(since, until) ISO dates named by the question, or empty strings."""
    since = until = ""
    if m := _SINCE.search(question):
        since = _bound(m, end=False)
    if m := _UNTIL.search(question):
        until = _bound(m, end=False)
    if not since and not until and (m := _DURING.search(question)):
        since, until = _bound(m, end=False), _bound(m, end=True)
    return since, until
