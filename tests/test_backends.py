"""Backends declare what they can do, and every name comes from one registry: the answers follow
the capabilities, whatever a model is called. No model file, no server."""

from __future__ import annotations

from typing import get_args

import pytest

from assistant import Assistant
from assistant.backends import BACKENDS, make_model
from assistant.errors import ConfigError
from assistant.generation import Capabilities, ExtractiveModel
from assistant.settings import Backend, LLMSettings
from assistant.web import WebChat
from tests.conftest import QueuedChatModel

HBM = "SK hynix, Samsung and Micron are the three makers of high-bandwidth memory [1]."
HISTORY = [("What is HBM?", "High-bandwidth memory, stacked next to AI chips.")]


def test_the_settings_accept_exactly_the_registered_backends() -> None:
    assert get_args(Backend) == tuple(BACKENDS)
    assert all(info.description for info in BACKENDS.values())


def test_an_unknown_backend_is_refused_with_the_registered_names() -> None:
    with pytest.raises(ConfigError, match="'gpt': choose llamacpp, openai, ollama or extractive"):
        make_model(LLMSettings(), "gpt")


def test_the_extractive_backend_is_a_model_that_drafts_nothing() -> None:
    model = make_model(LLMSettings(), "extractive")
    assert isinstance(model, ExtractiveModel)
    assert not model.capabilities.drafts
    assert list(model.stream([{"role": "user", "content": "anything"}])) == []


def test_a_model_that_cannot_rewrite_is_not_asked_to_rewrite_a_follow_up(
    model_bot: Assistant, chat_model: QueuedChatModel
) -> None:
    chat_model.capabilities = Capabilities(drafts=True, rewrites=False, local=True)
    chat_model.queue(HBM)
    answer = model_bot.ask("And who makes it?", history=HISTORY)
    assert len(chat_model.prompts) == 1  # the draft only
    assert "HBM" in answer.query and answer.query != "And who makes it?"  # by the rules
    assert not answer.abstained


def test_a_model_that_drafts_nothing_is_never_called_and_the_answer_quotes_the_passages(
    model_bot: Assistant, chat_model: QueuedChatModel
) -> None:
    chat_model.capabilities = Capabilities(drafts=False, rewrites=False, local=True)
    answer = model_bot.ask("Who makes high-bandwidth memory?")
    assert chat_model.prompts == []
    assert not answer.abstained and "SK hynix" in answer.text
    assert [c.chunk.source for c in answer.citations] == ["hbm-report.pdf"]


def test_the_web_status_describes_a_backend_from_the_registry(model_bot: Assistant) -> None:
    model_bot.settings.llm.backend = "extractive"
    assert (
        "extractive: no model needed, answers quote the passages"
        in WebChat(model_bot).status_html()
    )
    model_bot.settings.llm.backend = "openai"
    assert "openai: ready (fake:queued)" in WebChat(model_bot).status_html()
