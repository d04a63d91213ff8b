"""Retrieval behaviour: fusion, diversity, follow-ups, dates in questions, and LangChain's own
standard retriever test suite run against our retriever."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.retrievers import BaseRetriever
from langchain_tests.integration_tests import RetrieversIntegrationTests

from assistant import Assistant
from assistant.querying import dates_in, follow_up_subject, is_follow_up, standalone
from assistant.records import Chunk
from assistant.retrieval import FREQUENCIES, AssistantRetriever, cap_per_document, fuse
from tests.conftest import HashEmbedder


def chunk(cid: str, source: str) -> Chunk:
    return Chunk(cid, f"text {cid}", source, source, "", None, 0, 6, 0)


def test_fusion_keeps_both_scores_and_ranks() -> None:
    a, b, c = chunk("a", "x.md"), chunk("b", "y.md"), chunk("c", "z.md")
    hits = fuse([(a, 0.9), (b, 0.8)], [(b, 12.0), (c, 3.0)])
    assert [h.chunk.id for h in hits] == ["b", "a", "c"]
    top = hits[0]
    assert (top.dense_rank, top.bm25_rank, top.similarity, top.bm25) == (2, 1, 0.8, 12.0)
    assert hits[2].similarity is None and hits[2].bm25_rank == 2


def test_one_document_cannot_fill_every_slot() -> None:
    hits = fuse([(chunk(str(i), "same.md"), 0.9 - i / 100) for i in range(5)], [])
    hits += fuse([(chunk("other", "other.md"), 0.1)], [])
    kept = cap_per_document(hits, 2)
    assert [h.chunk.source for h in kept] == ["same.md", "same.md", "other.md"]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What happened since October 2023?", ("2023-10-01", "")),
        ("Which models were released in 2024?", ("2024-01-01", "2024-12-31")),
        ("Rules before March 2023", ("", "2023-03-01")),
        ("What did the 2022 rule restrict?", ("", "")),
    ],
)
def test_dates_named_in_a_question(question: str, expected: tuple[str, str]) -> None:
    assert dates_in(question) == expected


def test_follow_ups_are_made_standalone_without_a_model() -> None:
    history = [
        {"role": "user", "content": "What did the US restrict in October 2022?"},
        {"role": "assistant", "content": "Advanced chips [1]."},
    ]
    assert is_follow_up("And what did Huawei do then?")
    rewritten = standalone("And what did Huawei do then?", history)
    assert "October 2022" in rewritten and "Huawei" in rewritten
    assert standalone("Who makes HBM memory chips for Nvidia?", history) == (
        "Who makes HBM memory chips for Nvidia?"
    )


def test_the_company_or_there_with_no_name_refers_to_what_was_asked_before() -> None:
    history = [
        {"role": "user", "content": "How much did TSMC pledge to invest in Arizona in 2025?"},
        {"role": "assistant", "content": "US$100 billion more, US$165 billion in all [1]."},
    ]
    for question in (
        "Which process did the first fab there go into volume production on?",
        "Who is the company's chief executive?",
    ):
        assert "TSMC" in standalone(question, history)
    named = "Who is the chief executive of the company that makes the Ascend chips, Huawei?"
    assert standalone(named, history) == named  # it names what it is about


def test_a_bare_or_long_follow_up_is_read_with_the_earlier_question() -> None:
    history = [
        {"role": "user", "content": "What did Zhipu AI cut on 11 May 2024?"},
        {"role": "assistant", "content": "The price of its GLM-3 Turbo API [1]."},
    ]
    assert "Zhipu AI cut on 11 May 2024" in standalone("By how much?", history)
    long = "How many cumulative downloads on the platform did its team claim by January 2026?"
    assert "Zhipu AI" in standalone(long, history)
    inner = "What did Nvidia sell to China after it lost the H20 market in April 2025?"
    assert standalone(inner, history) == inner  # "it" is Nvidia, named before it


def test_a_follow_up_to_a_which_question_is_about_the_name_its_answer_gave() -> None:
    history = [
        {"role": "user", "content": "Which Chinese lab put out the R1 reasoning model?"},
        {"role": "assistant", "content": "DeepSeek released DeepSeek-R1 on 20 January 2025 [1]."},
    ]
    assert "DeepSeek" in standalone("What licence did they release it under?", history)
    assert "DeepSeek" in follow_up_subject("What licence did they release it under?", history)
    asked_what = [{**history[0], "content": "What did the R1 paper report?"}, history[1]]
    assert "DeepSeek" not in standalone("What licence did they release it under?", asked_what)


def test_follow_ups_use_the_model_when_one_is_given() -> None:
    history = [{"role": "user", "content": "Tell me about the H20."}]
    seen: list[Any] = []

    def fake_model(messages: list[dict[str, str]]) -> str:
        seen.append(messages)
        return "Why was the Nvidia H20 restricted in April 2025?"

    assert standalone("Why was it restricted?", history, fake_model).startswith(
        "Why was the Nvidia"
    )
    assert "Tell me about the H20." in seen[0][-1]["content"]


def test_a_follow_up_finds_the_passage_of_the_earlier_subject(real_bot: Assistant) -> None:
    history = [("Which makers produce high-bandwidth memory?", "SK hynix, Samsung and Micron [1].")]
    answer = real_bot.ask(
        "And what did the US rule do to it?", history=history, backend="extractive"
    )
    assert any(c.chunk.source == "hbm-report.pdf" for c in answer.citations)


@pytest.mark.e2e
class TestLangChainStandardRetriever(RetrieversIntegrationTests):
    @pytest.fixture(autouse=True)
    def _bot(self, real_bot: Assistant) -> None:
        self.bot = real_bot

    @property
    def retriever_constructor(self) -> type[BaseRetriever]:
        return AssistantRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"assistant": self.bot}

    @property
    def retriever_query_example(self) -> str:
        return "export controls on chips and memory"


def test_word_rarity_is_counted_once_and_kept_beside_the_index(fake_bot: Assistant) -> None:
    assert fake_bot.index().exit_code == 0
    retriever = fake_bot.retriever
    counts = retriever.lexical(retriever.collection()).frequencies()
    assert counts["gallium"] >= 1  # a stem of the fixture corpus
    kept = list((fake_bot.settings.index.path / "bm25").glob(f"*/{FREQUENCIES}"))
    assert len(kept) == 1 and json.loads(kept[0].read_text()) == counts
    kept[0].write_text("{damaged")  # a damaged copy is counted again, not trusted
    again = Assistant(fake_bot.settings, embedder=HashEmbedder()).retriever
    assert again.lexical(again.collection()).frequencies() == counts


@pytest.mark.parametrize(
    "reply",
    [
        "The Stargate Project is a company building data centres.",  # an answer, not a query
        "What is the Stargate Project?",  # the earlier question again
        "How much is it deploying straight away?",  # the follow-up, unresolved
    ],
)
def test_a_model_rewrite_that_loses_the_question_or_its_subject_is_not_used(reply: str) -> None:
    history = [{"role": "user", "content": "What is the Stargate Project?"}]
    query = standalone("How much is it deploying straight away?", history, lambda _: reply)
    assert query != reply
    assert "Stargate Project" in query and "deploying straight away" in query
    good = "How much is the Stargate Project deploying straight away?"
    assert standalone("How much is it deploying straight away?", history, lambda _: good) == good
