"""The one registry of answer backends: each name with what it is and how to build its model.
The settings' ``Backend`` names (a test keeps them equal), the CLI's choices, the web status and
the HTTP API take their names and descriptions from here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from assistant.errors import ConfigError
from assistant.generation import (
    BUNDLED_SOURCE_TOKENS,
    STOP,
    ChatModel,
    ExtractiveModel,
    RemoteModel,
)
from assistant.local_model import LocalModel
from assistant.settings import LLMSettings


@dataclass(frozen=True)
class BackendInfo:
    name: str
    description: str
    make: Callable[[LLMSettings], ChatModel]


def _local(settings: LLMSettings) -> ChatModel:
    return LocalModel(settings, STOP, BUNDLED_SOURCE_TOKENS)


BACKENDS: dict[str, BackendInfo] = {
    info.name: info
    for info in (
        BackendInfo(
            "llamacpp",
            "a GGUF model run by llama.cpp on this machine (the bundled SmolLM2-135M by default)",
            _local,
        ),
        BackendInfo(
            "openai",
            "any OpenAI-compatible model server at ASSISTANT_LLM__BASE_URL",
            lambda settings: RemoteModel(settings, "openai"),
        ),
        BackendInfo(
            "ollama",
            "an Ollama server at ASSISTANT_LLM__BASE_URL",
            lambda settings: RemoteModel(settings, "ollama"),
        ),
        BackendInfo(
            "extractive",
            "no model needed, answers quote the passages",
            lambda settings: ExtractiveModel(),
        ),
    )
}


def listed() -> str:
    """The backend names as a sentence gives them: "a, b, c or d"."""
    names = list(BACKENDS)
    return f"{', '.join(names[:-1])} or {names[-1]}"


def make_model(settings: LLMSettings, backend: str) -> ChatModel:
    """The model of ``backend``, built and checked (a server is asked for its models)."""
    info = BACKENDS.get(backend)
    if info is None:
        raise ConfigError(f"Unknown backend {backend!r}: choose {listed()}.")
    return info.make(settings)
