"""Answering: retrieve, let the model draft (when there is one), check every drafted claim, then
compose the answer from the confirmed sentences that answer the question, or abstain and say why."""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from assistant.citing import check_answer
from assistant.composing import (
    Composition,
    Memo,
    compose,
    drafted_units,
    feature_rows,
    passage_sentences,
    score,
    side_questions,
)
from assistant.embedding import Embedder
from assistant.errors import ModelCrashed
from assistant.generation import ChatModel, Message
from assistant.judging import Judge
from assistant.prompting import ABSTAIN, build_prompt, focus, is_abstention, whole
from assistant.querying import dates_in, follow_up_subject, standalone
from assistant.questions import Asked, asked, without
from assistant.records import (
    Answer,
    Chunk,
    Filters,
    Final,
    Hit,
    SentenceSupport,
    StreamEvent,
    Token,
)
from assistant.retrieval import Retriever, SearchResult, cap_per_document
from assistant.sanitizing import is_instruction, unlink
from assistant.selecting import Rarity, generic

COMPOSE_K = 10
SAME_SOURCE_EXTRA = 5
_NOW = re.compile(r"\b(now|currently|current|today|latest|still|so far|to date|as of)\b", re.I)


@dataclass
class Request:
    question: str
    history: list[Message]
    filters: Filters
    backend: str
    k: int | None = None
    judge: Judge | None = None  # a stronger check of the model's sentences, when configured


def retrieve(request: Request, retriever: Retriever, model: ChatModel) -> tuple[str, SearchResult]:
    rewrite = None
    if model.capabilities.rewrites:

        def rewrite(messages: list[Message]) -> str:
            return "".join(model.stream(messages))

    query = standalone(request.question, request.history, rewrite)
    filters = request.filters
    # The composer reads more passages than the prompt gets (see ``_search``): the answer is in
    # the top ten far more often than in the top five, and sentences are cheap to score.
    prompted = request.k or retriever.settings.k
    found = _search(retriever, query, prompted, filters)
    since, until = dates_in(request.question)
    if (since or until) and not (filters.since or filters.until):
        # A date in the question is usually the event's, not the source's: sources dated then
        # are added to the passages, not put in their place.
        dated = retriever.search(query, 2, replace(filters, since=since, until=until))
        seen = {h.chunk.id for h in found.hits}
        extra = [h for h in dated.hits if dated.relevant and h.chunk.id not in seen]
        hits = [*found.hits[:prompted], *extra, *found.hits[prompted:]]
        found = replace(found, hits=hits, relevant=found.relevant or bool(extra))
    return query, found


def _search(retriever: Retriever, query: str, prompted: int, filters: Filters) -> SearchResult:
    """The prompt's passages with at most ``per_document`` from one source, then the best of
    the rest, whatever their source, to ``COMPOSE_K`` in all: a question squarely about one
    brief has its answer in that brief's fifth or sixth best passage more often than in another
    brief's first."""
    wanted = max(prompted, COMPOSE_K)
    deep = wanted + SAME_SOURCE_EXTRA
    every = retriever.search(query, deep, filters, per_document=deep)  # uncapped
    first = cap_per_document(every.hits, retriever.settings.per_document)[:prompted]
    taken = {h.chunk.id for h in first}
    rest = [h for h in every.hits if h.chunk.id not in taken]
    hits = [*first, *rest][:wanted]
    # then those of the next few that come from sources already read: their later sections
    # often hold the date or figure the lead leaves out
    sources = {h.chunk.source for h in hits}
    more = [h for h in rest[wanted - len(first) :] if h.chunk.source in sources]
    return replace(every, hits=[*hits, *more])


_RARITY: list[tuple[object, Rarity]] = []


def rarity(retriever: Retriever) -> Rarity:
    """Word rarity over the indexed passages, computed once per version of the index."""
    lexical = retriever.lexical(retriever.collection())
    if not _RARITY or _RARITY[0][0] is not lexical:
        _RARITY[:] = [(lexical, Rarity(lexical.frequencies(), len(lexical.chunks)))]
    return _RARITY[0][1]


def answer_stream(
    request: Request,
    retriever: Retriever,
    embedder: Embedder,
    model: ChatModel,
    max_tokens: int,
) -> Iterator[StreamEvent]:
    query, found = retrieve(request, retriever, model)
    answer = Answer(
        request.question, ABSTAIN, [], abstained=True, backend=request.backend, query=query
    )
    if not found.relevant or not found.hits:
        answer.notes.append("nothing in the index is relevant enough to this question")
        yield Token(ABSTAIN)
        yield Final(answer)
        return
    chunks = [h.chunk for h in found.hits]
    memo = Memo(embedder)
    drafted: list[SentenceSupport] = []
    crashed = False
    if model.capabilities.drafts:
        try:
            prompted = found.hits[: request.k or retriever.settings.k]
            drafted = yield from _draft(request, query, prompted, memo, model, max_tokens, answer)
        except ModelCrashed as exc:
            answer.notes.append(
                f"the local model crashed: {exc}; the answer below is built from the sources "
                "without a model"
            )
            crashed = True
    want = asked(request.question, follow_up_subject(request.question, request.history))
    units = _stated(chunks) + drafted_units(drafted, chunks, request.question)
    words = rarity(retriever)
    per_side = [score(side, query, chunks, units, memo, words) for side in side_questions(want)]
    candidates = score(want, query, chunks, units, memo, words)
    composition = compose(want, candidates, chunks, words, per_side)
    if composition.premise:
        composition, chunks = _past_premise(
            request, query, composition, chunks, units, retriever, memo, words
        )
    finish(answer, composition, want, chunks, memo)
    if not model.capabilities.drafts or crashed:  # else the model's draft was streamed already
        yield Token(answer.text)
    yield Final(answer)


def _past_premise(
    request: Request, query: str, composition: Composition, chunks: list[Chunk],
    units: list[tuple[int, str, bool]], retriever: Retriever, memo: Memo, words: Rarity,
) -> tuple[Composition, list[Chunk]]:  # fmt: skip
    """A question built on what the sources contradict ("When did Tencent release Qwen3?") is
    searched and answered again without it; the passages the wrong name or year drew in rarely
    hold the answer. The first composition stands when the second finds nothing."""
    premise = composition.premise
    question, search = without(request.question, premise), without(query, premise)
    want = asked(question, follow_up_subject(request.question, request.history))
    if search == query or not any(not generic(n) for n in want.names):
        return composition, chunks  # the same search, or a question left about nothing named
    found = _search(retriever, search, request.k or retriever.settings.k, request.filters)
    if not found.relevant:
        return composition, chunks
    seen = {c.id for c in chunks}
    more = [h.chunk for h in found.hits if h.chunk.id not in seen]
    if not more:
        return composition, chunks
    widened = [*chunks, *more]
    units = [*units, *((len(chunks) + i, s, d) for i, s, d in _stated(more))]
    again = compose(want, score(want, search, widened, units, memo, words), widened, words)
    if not again.chosen:
        return composition, chunks
    return replace(again, premise=again.premise or premise), widened


def _stated(chunks: Sequence[Chunk]) -> list[tuple[int, str, bool]]:
    """The passages' own sentences that can answer; a document's orders are never quoted."""
    return [(i, unlink(s), False) for i, s in passage_sentences(chunks) if not is_instruction(s)]


def candidate_rows(
    request: Request, retriever: Retriever, embedder: Embedder, model: ChatModel
) -> tuple[np.ndarray, list[str]]:
    """The selector's feature rows of the passages' sentences for ``request``, and the sentences:
    what ``scripts/train_selector.py`` fits the selector on."""
    query, found = retrieve(request, retriever, model)
    chunks = [h.chunk for h in found.hits] if found.relevant else []
    want = asked(request.question, follow_up_subject(request.question, request.history))
    rows, units = feature_rows(want, query, chunks, _stated(chunks), embedder, rarity(retriever))
    return rows, [u.text for u in units]


def _draft(
    request: Request, query: str, hits: list[Hit], memo: Memo, model: ChatModel,
    max_tokens: int, answer: Answer,
) -> Generator[StreamEvent, None, list[SentenceSupport]]:  # fmt: skip
    """Streams the model's draft and returns its sentences, each checked against the passages."""
    sources = focus(query, hits, memo, model.source_tokens) if model.source_tokens else whole(hits)
    prompt = build_prompt(request.question, sources, model, max_tokens, request.history)
    if prompt.dropped:
        answer.notes.append(
            f"{prompt.dropped} of {len(hits)} passages did not fit the model's "
            f"{model.context_length}-token context and were left out"
        )
    pieces: list[str] = []
    for piece in model.stream(prompt.messages):
        pieces.append(piece)
        yield Token(piece)
    draft = "".join(pieces).strip()
    if not draft or is_abstention(draft):
        return []
    chunks = [h.chunk for h in prompt.hits]
    checked = check_answer(draft, chunks, memo, judge=request.judge)
    answer.removed_markers = checked.removed
    return checked.sentences


def finish(
    answer: Answer, composition: Composition, want: Asked, chunks: Sequence[Chunk], memo: Memo
) -> Answer:
    if not composition.chosen:
        return _abstain(answer, composition.why)
    # The model's sentences were confirmed once; the passages' own words need no confirming, so
    # this check is for numbering the citations and quoting the passages.
    draft = " ".join(f"{c.text} [{c.source + 1}]." for c in composition.chosen)
    checked = check_answer(draft, chunks, memo)
    answer.text, answer.citations = checked.text, checked.citations
    answer.sentences = checked.sentences
    answer.abstained = False
    if composition.premise:
        answer.text += (
            f" Not {composition.premise}: the question's premise does not match the sources."
        )
        answer.notes.append(
            f"the question assumes {composition.premise}, which the cited sources do not say"
        )
    for note in _dating(want, answer):
        answer.notes.append(note)
        answer.text += f" ({note[0].upper()}{note[1:]}.)"
    return answer


def _abstain(answer: Answer, why: str) -> Answer:
    answer.text = f"{ABSTAIN} {why[0].upper()}{why[1:]}." if why else ABSTAIN
    answer.notes.append(why or "no passage answers the question")
    return answer


def _dating(want: Asked, answer: Answer) -> list[str]:
    """Says when a cited source has been replaced, or was checked only up to a date before the
    period the question asks about."""
    since, until = dates_in(want.question)
    later = since or until
    notes = []
    for c in answer.citations:
        chunk = c.chunk
        if chunk.superseded_by:
            notes.append(
                f"source [{c.n}] has since been superseded by {', '.join(chunk.superseded_by)}"
            )
        elif chunk.accurate_as_of and (
            (later and later > chunk.accurate_as_of) or _NOW.search(want.question)
        ):
            notes.append(f"source [{c.n}] was checked only up to {chunk.accurate_as_of}")
    return notes
