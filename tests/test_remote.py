"""The openai backend against a real OpenAI-compatible server: llama.cpp's own server with the
bundled GGUF, started by the test on 127.0.0.1."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from assistant import Assistant
from assistant.errors import ModelError
from assistant.generation import BUNDLED_SOURCE_TOKENS, bundled_gguf
from assistant.model_server import API_KEY_ENV
from tests.conftest import free_port, server_process

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    port = free_port()
    # llama-cpp-python's own OpenAI-compatible server, with the CPU code chosen for this machine
    cmd = [sys.executable, "-m", "assistant.model_server", "--model", str(bundled_gguf()),
           "--port", str(port), "--n-ctx", "4096", "--alias", "smollm2"]  # fmt: skip
    base = f"http://127.0.0.1:{port}/v1"
    headers = {"Authorization": "Bearer test-key-123"}
    with server_process(cmd, f"{base}/models", headers, env={API_KEY_ENV: "test-key-123"}):
        yield base


def remote(bot: Assistant, base: str, key: str = "test-key-123") -> Assistant:
    settings = bot.settings.model_copy(deep=True)
    settings.llm.backend = "openai"
    settings.llm.base_url = base
    settings.llm.api_key = key  # type: ignore[assignment]
    # The server runs the bundled 135M model, which needs the same short focused context as it
    # gets locally; a remote model is not assumed to be small, so this is not the default.
    settings.llm.source_tokens = BUNDLED_SOURCE_TOKENS
    return Assistant(settings, embedder=bot.embedder)


def test_openai_backend_answers_with_citations(real_bot: Assistant, llama_server: str) -> None:
    bot = remote(real_bot, llama_server)
    answer = bot.ask("When did China start licensing gallium exports?")
    assert answer.backend == "openai"
    assert not answer.abstained, answer.notes
    assert any(c.chunk.source == "minerals.txt" for c in answer.citations)


def test_openai_backend_streams_tokens(real_bot: Assistant, llama_server: str) -> None:
    from assistant import Final, Token

    events = list(remote(real_bot, llama_server).stream("What did the October 2023 update add?"))
    assert sum(isinstance(e, Token) for e in events) > 1 and isinstance(events[-1], Final)


def test_wrong_api_key_is_refused_without_leaking_it(
    real_bot: Assistant, llama_server: str
) -> None:
    with pytest.raises(ModelError) as info:
        remote(real_bot, llama_server, key="wrong-key-999").ask("What is HBM?")
    assert "API key" in str(info.value) and "wrong-key-999" not in str(info.value)


def test_unreachable_server_names_the_url(real_bot: Assistant) -> None:
    base = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(ModelError, match=f"Cannot reach the model server at {base}"):
        remote(real_bot, base).ask("What is HBM?")
