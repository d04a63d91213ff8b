"""Shared fixtures: a fixture corpus (Markdown, text, HTML and a generated PDF), small real
fakes for tests where the model is not the point (an embedder, a chat model with queued
replies, an in-memory Chroma), and the real bundled models."""

from __future__ import annotations

import hashlib
import math
import os
import re
import shutil
import socket
from collections import deque
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

from assistant import Assistant, Settings
from assistant.embedding import Embedder
from assistant.generation import Capabilities, Message

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).parent.parent


class HashEmbedder(Embedder):
    """Deterministic bag-of-words embedder: texts sharing words are similar. No model."""

    DIM = 256

    def __init__(self) -> None:
        super().__init__(Settings().embedding)
        self.name = "hash-embedder"
        self.calls = 0

    def _vector(self, text: str) -> list[float]:
        vec = [0.0] * self.DIM
        for word in re.findall(r"[a-z0-9]+", text.lower()):
            vec[int(hashlib.md5(word.encode()).hexdigest(), 16) % self.DIM] += 1.0
        norm = math.sqrt(sum(v * v for v in vec)) or 1.0
        return [v / norm for v in vec]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += len(texts)
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)


class QueuedChatModel:
    """A chat model that answers each call with the next queued reply, streamed word by word,
    and keeps the messages it was sent. With the queue empty it repeats ``fallback``."""

    name = "fake:queued"
    source_tokens = 0
    max_tokens = 160
    capabilities = Capabilities(drafts=True, rewrites=True, local=False)

    def __init__(self, *replies: str, fallback: str = "", context_length: int = 8192) -> None:
        self.replies = deque(replies)
        self.fallback = fallback
        self.prompts: list[list[Message]] = []
        self._context = context_length

    @property
    def context_length(self) -> int:
        return self._context

    def queue(self, *replies: str) -> None:
        self.replies.extend(replies)

    def count_tokens(self, text: str) -> int:
        return len(text.split()) + 1

    def stream(self, messages: list[Message]) -> Iterator[str]:
        self.prompts.append(list(messages))
        reply = self.replies.popleft() if self.replies else self.fallback
        for i, word in enumerate(reply.split(" ")):
            yield word if i == 0 else f" {word}"


def memory_client() -> object:
    """An in-memory Chroma client; emptied by the ``memory_store`` fixture after each test."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False, allow_reset=True)
    return chromadb.EphemeralClient(settings=settings)


@pytest.fixture
def memory_store() -> Iterator[object]:
    client = memory_client()
    yield client
    client.reset()  # type: ignore[attr-defined]  # in-memory clients share one system


@pytest.fixture
def chat_model() -> QueuedChatModel:
    return QueuedChatModel()


@pytest.fixture
def model_bot(
    tmp_path: Path, corpus: Path, memory_store: object, chat_model: QueuedChatModel
) -> Assistant:
    """The fixture corpus indexed in memory with the fake embedder, answering with the
    queued chat model as its ``openai`` backend: no model file, server or folder of Chroma."""
    bot = Assistant(
        settings_for(tmp_path, corpus, backend="openai"),
        embedder=HashEmbedder(),
        store_client=memory_store,
    )
    bot.use_model("openai", chat_model)
    assert bot.index().exit_code == 0
    return bot


def make_pdf(path: Path, pages: list[str]) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    pdf.output(str(path))


def write_corpus(folder: Path) -> Path:
    shutil.copytree(FIXTURES / "corpus", folder)
    make_pdf(
        folder / "hbm-report.pdf",
        [
            "High-bandwidth memory report. Page one covers what HBM is.",
            "SK hynix, Samsung and Micron are the three makers of high-bandwidth memory. "
            "The December 2024 US rule put HBM exports to China under licence.",
        ],
    )
    return folder


def settings_for(tmp: Path, corpus: Path, **llm: object) -> Settings:
    return Settings(
        corpus={"path": corpus},  # type: ignore[arg-type]
        index={"path": tmp / "index"},  # type: ignore[arg-type]
        llm={"backend": "extractive", **llm},  # type: ignore[arg-type]
    )


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "corpus")


@pytest.fixture
def fake_bot(tmp_path: Path, corpus: Path) -> Assistant:
    return Assistant(settings_for(tmp_path, corpus), embedder=HashEmbedder())


@pytest.fixture(scope="session")
def real_bot(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    """The real bundled embedder over the fixture corpus, indexed once per session."""
    tmp = tmp_path_factory.mktemp("real")
    bot = Assistant(settings_for(tmp, write_corpus(tmp / "corpus")))
    report = bot.index()
    assert report.exit_code == 0, report.failed
    return bot


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def port() -> Iterator[int]:
    yield free_port()


def serving(bot: Assistant, log_config: object = "default") -> AbstractContextManager[str]:
    """The real server (``assistant.server.create_app``) on a free port, in a thread."""
    from assistant.server import running

    return running(bot, free_port(), log_config)


@contextmanager
def server_process(
    cmd: list[str],
    health: str,
    headers: dict[str, str] | None = None,
    wait_s: float = 120,
    env: dict[str, str] | None = None,
) -> Iterator[None]:
    """Start a real server process and wait until ``health`` answers 200; stop it afterwards."""
    import subprocess
    import time

    import httpx

    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )
    deadline = time.monotonic() + wait_s
    while True:
        try:
            if httpx.get(health, headers=headers, timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"{cmd[0]} did not start: nothing answered at {health}")
        time.sleep(0.3)
    try:
        yield
    finally:
        proc.terminate()
        proc.wait(10)
