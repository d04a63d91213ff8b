"""Answers written by a chat model, with the queued fake model: the stream, the check of what
the model wrote, follow-up questions, and the web chat and the API showing it. No model file,
no model server, the index in memory."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest

from assistant import Assistant
from assistant.records import Final, Token
from assistant.web import WebChat
from tests.conftest import QueuedChatModel, serving

HBM = "SK hynix, Samsung and Micron are the three makers of high-bandwidth memory [1]."
QUESTION = "Who makes high-bandwidth memory?"


def test_the_answer_streams_as_the_model_writes_it_then_arrives_checked(
    model_bot: Assistant, chat_model: QueuedChatModel
) -> None:
    chat_model.queue(HBM)
    events = list(model_bot.stream(QUESTION))
    tokens = [e.text for e in events if isinstance(e, Token)]
    final = events[-1]
    assert isinstance(final, Final) and "".join(tokens) == HBM
    answer = final.answer
    assert answer.text == HBM and not answer.abstained and answer.backend == "openai"
    assert [c.chunk.source for c in answer.citations] == ["hbm-report.pdf"]
    assert answer.citations[0].quote.startswith("SK hynix, Samsung and Micron")
    assert [s.support for s in answer.sentences] == ["supported"]
    prompt = chat_model.prompts[-1][-1]["content"]
    assert QUESTION in prompt and "[1] " in prompt and "high-bandwidth memory" in prompt


def test_a_claim_the_sources_do_not_hold_does_not_reach_the_reader_unmarked(
    model_bot: Assistant, chat_model: QueuedChatModel
) -> None:
    chat_model.queue("Intel alone makes all high-bandwidth memory, in Ohio [1].")
    answer = model_bot.ask(QUESTION)
    flagged = [s for s in answer.sentences if "Intel" in s.text and s.support != "supported"]
    assert "Intel" not in answer.text or flagged


def test_a_follow_up_is_rewritten_by_the_model_into_a_standalone_query(
    model_bot: Assistant, chat_model: QueuedChatModel
) -> None:
    rewrite = "Which companies make high-bandwidth memory?"
    chat_model.queue(rewrite, HBM)
    history = [("What is HBM?", "High-bandwidth memory, stacked next to AI chips.")]
    answer = model_bot.ask("And who makes it?", history=history)
    assert answer.query == rewrite
    assert "What is HBM?" in chat_model.prompts[0][-1]["content"]
    assert len(chat_model.prompts) == 2


def test_the_web_chat_streams_the_model_then_shows_markers_and_source_cards(
    model_bot: Assistant, chat_model: QueuedChatModel
) -> None:
    chat_model.queue(HBM)
    steps = list(WebChat(model_bot).respond(QUESTION, [], [], ""))
    shown = [messages[-1]["content"] for _, messages, _, _ in steps]
    assert any('class="cursor"' in html and "SK hynix" in html for html in shown[:-1])
    *_, (box, messages, history, panel) = steps
    assert box == "" and 'class="cite"' in messages[-1]["content"]
    assert 'class="source-card"' in panel and "hbm-report.pdf" in panel
    assert history[-1] == {"role": "assistant", "content": HBM}


@pytest.fixture
def base_url(model_bot: Assistant) -> Iterator[str]:
    with serving(model_bot, log_config=None) as url:
        yield url


def test_the_api_streams_the_model_and_ends_with_the_evidence(
    base_url: str, chat_model: QueuedChatModel
) -> None:
    chat_model.queue(HBM, HBM)
    client = openai.OpenAI(base_url=f"{base_url}/v1", api_key="unused", max_retries=0)
    messages: list[dict[str, str]] = [{"role": "user", "content": QUESTION}]
    chunks = list(
        client.chat.completions.create(model="m", messages=messages, stream=True)  # type: ignore[arg-type]
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    last = chunks[-1].model_extra or {}
    assert text == HBM and last["citations"][0]["source"] == "hbm-report.pdf"
    assert last["sentences"][0]["support"] == "supported" and last["abstained"] is False
    whole = httpx.post(f"{base_url}/v1/chat/completions", json={"messages": messages}).json()
    assert whole["choices"][0]["message"]["content"] == HBM and whole["citations"]
