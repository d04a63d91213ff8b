"""Which passages the composer reads, and answering a question again without a premise the
sources contradict, with a retriever whose results are given (no index, no model)."""

from __future__ import annotations

from typing import Any, cast

from assistant.answering import Request, _past_premise, _search, _stated
from assistant.composing import Composition, Memo
from assistant.records import Chunk, Filters, Hit
from assistant.retrieval import Retriever, SearchResult
from assistant.selecting import Rarity
from assistant.settings import RetrievalSettings
from tests.conftest import HashEmbedder


def _chunk(name: str, source: str, text: str) -> Chunk:
    return Chunk(name, text, source, source.removesuffix(".md"), "", None, 0, len(text), 0)


class _Found:
    """Stands in for the retriever: each query finds the given passages, best first."""

    def __init__(self, found: dict[str, list[Chunk]], **settings: Any) -> None:
        self.found = found
        self.settings = RetrievalSettings(**settings)

    def search(self, query: str, k: int | None = None, filters: Any = None, mode: Any = None,
               per_document: int | None = None) -> SearchResult:  # fmt: skip
        hits = [Hit(c, 1.0 / (1 + i)) for i, c in enumerate(self.found.get(query, []))]
        return SearchResult(hits[: k or len(hits)], relevant=bool(hits))


def test_the_prompt_s_passages_are_varied_and_the_rest_may_come_from_one_source() -> None:
    a = [_chunk(f"a{i}", "a.md", f"Section {i} of a.") for i in range(15)]
    b, c = _chunk("b", "b.md", "All of b."), _chunk("c", "c.md", "All of c.")
    ranked = [a[0], a[1], b, *a[2:9], c, *a[9:]]
    retriever = cast(Retriever, _Found({"q": ranked}, per_document=1))
    found = _search(retriever, "q", prompted=2, filters=Filters())
    # one passage per source for the prompt, then the best of the rest whatever their source
    # to ten, then those of the next five that come from sources already read (not c's)
    assert [h.chunk.id for h in found.hits] == ["a0", "b", *(f"a{i}" for i in range(1, 13))]


TENCENT = _chunk("t", "tencent.md", "Tencent released Hunyuan-Large on 5 November 2024.")
QWEN3 = _chunk("q", "qwen3.md", "Alibaba released Qwen3 on 29 April 2025 with eight models.")


def test_a_question_on_a_wrong_premise_is_answered_as_asked_without_it() -> None:
    # The wrong name drew in only the wrong company's passages; asked without it, the
    # question finds the one that answers, and the premise is still corrected.
    question = "When did Tencent release Qwen3?"
    retriever = cast(Retriever, _Found({"When did release Qwen3?": [QWEN3]}))
    first = Composition(why="no passage states the date asked for", premise="Tencent")
    chunks = [TENCENT]
    composition, read = _past_premise(
        Request(question, [], Filters(), "extractive"), question, first, chunks,
        _stated(chunks), retriever, Memo(HashEmbedder()), Rarity({}, 1),
    )  # fmt: skip
    assert read == [TENCENT, QWEN3]
    assert composition.premise == "Tencent"
    assert "29 April 2025" in composition.chosen[0].text
    # nothing new to read: the first composition stands
    alone = cast(Retriever, _Found({"When did release Qwen3?": [TENCENT]}))
    same, _ = _past_premise(
        Request(question, [], Filters(), "extractive"), question, first, chunks,
        _stated(chunks), alone, Memo(HashEmbedder()), Rarity({}, 1),
    )  # fmt: skip
    assert same is first
