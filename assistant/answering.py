"""Answering: retrieve, generate (or extract), then check the citations of every sentence."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from assistant.citing import check_answer, key_terms, split_sentences
from assistant.embedding import Embedder
from assistant.generation import ChatModel, Message
from assistant.prompting import ABSTAIN, build_prompt, focus, is_abstention, whole
from assistant.querying import dates_in, standalone
from assistant.records import Answer, Filters, Final, Hit, StreamEvent, Token
from assistant.retrieval import Retriever, SearchResult

EXTRACTIVE_SENTENCES = 3
EXTRACTIVE_FLOOR = 0.35
EXTRACTIVE_MARGIN = 0.8


@dataclass
class Request:
    question: str
    history: list[Message]
    filters: Filters
    backend: str
    k: int | None = None


def retrieve(
    request: Request, retriever: Retriever, model: ChatModel | None
) -> tuple[str, SearchResult]:
    rewrite = None
    if model is not None and not model.name.startswith("llamacpp"):

        def rewrite(messages: list[Message]) -> str:
            return "".join(model.stream(messages))

    query = standalone(request.question, request.history, rewrite)
    filters = request.filters
    if not (filters.since or filters.until):
        since, until = dates_in(request.question)
        if since or until:
            dated = retriever.search(query, request.k, replace(filters, since=since, until=until))
            if dated.relevant:
                return query, dated
    return query, retriever.search(query, request.k, filters)


def answer_stream(
    request: Request,
    retriever: Retriever,
    embedder: Embedder,
    model: ChatModel | None,
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
    hits = found.hits
    if model is None:
        draft = extractive_draft(request.question, query, hits, embedder)
        for sentence in split_sentences(draft):
            yield Token(sentence + " ")
    else:
        sources = (
            focus(query, hits, embedder, model.source_tokens)
            if model.source_tokens
            else whole(hits)
        )
        prompt = build_prompt(request.question, sources, model, max_tokens, request.history)
        if prompt.dropped:
            answer.notes.append(
                f"{prompt.dropped} of {len(hits)} passages did not fit the model's "
                f"{model.context_length}-token context and were left out"
            )
        hits = prompt.hits
        pieces: list[str] = []
        for piece in model.stream(prompt.messages):
            pieces.append(piece)
            yield Token(piece)
        draft = "".join(pieces).strip()
    yield Final(finish(answer, draft, hits, embedder))


def finish(answer: Answer, draft: str, hits: list[Hit], embedder: Embedder) -> Answer:
    if not draft or is_abstention(draft):
        answer.notes.append("the model found no answer in the passages")
        return answer
    text, citations, sentences, removed = check_answer(draft, [h.chunk for h in hits], embedder)
    answer.removed_markers = removed
    if not citations or all(s.support == "unsupported" for s in sentences):
        answer.notes.append("no sentence of the draft answer was supported by the passages")
        answer.sentences = sentences
        return answer
    answer.text, answer.citations, answer.sentences = text, citations, sentences
    answer.abstained = False
    return answer


def extractive_draft(question: str, query: str, hits: list[Hit], embedder: Embedder) -> str:
    """The passages' sentences that best answer the question, each cited: no model needed."""
    units = [
        (n, s) for n, hit in enumerate(hits, start=1) for s in split_sentences(hit.chunk.text)
        if len(s.split()) >= 5 and not s.lstrip().startswith("#")
    ]  # fmt: skip
    if not units:
        return ""
    vectors = embedder.embed_documents([query, *(s for _, s in units)])
    qvec, svecs = vectors[0], vectors[1:]
    terms = key_terms(question)
    scored = []
    for (n, sentence), vec in zip(units, svecs, strict=True):
        sim = sum(a * b for a, b in zip(qvec, vec, strict=True))
        overlap = len(terms & key_terms(sentence)) / len(terms) if terms else 0.0
        scored.append((sim + 0.3 * overlap, n, sentence))
    scored.sort(key=lambda item: -item[0])
    # Only sentences nearly as relevant as the best one: padding makes answers untrustworthy.
    floor = max(EXTRACTIVE_FLOOR, scored[0][0] * EXTRACTIVE_MARGIN)
    chosen: list[tuple[int, str]] = []
    for score, n, sentence in scored:
        if score < floor or len(chosen) >= EXTRACTIVE_SENTENCES:
            break
        if all(sentence != s for _, s in chosen):
            chosen.append((n, sentence))
    return " ".join(f"{_trim(s)} [{n}]." for n, s in chosen)


def _trim(sentence: str) -> str:
    return " ".join(sentence.lstrip("-*• ").split()).rstrip(".")
