"""An ONNX Runtime encoder for sentence-transformers models, exported once and cached.

sentence-transformers' own ONNX backend needs `optimum`, whose releases pin an older
`transformers` than the one sentence-transformers 6 requires, so the export (torch.onnx), the
int8 quantisation (onnxruntime) and mean pooling are done here by hand.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.errors import ModelError

if TYPE_CHECKING:
    from tokenizers import Tokenizer

CACHE = Path.home() / ".cache" / "ai-race-assistant" / "onnx"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class OnnxEncoder:
    """Tokenises, runs the exported graph, mean-pools; subclasses only change how graphs run."""

    pad_to: int | None = None  # round each batch's length up to a multiple of this

    def __init__(self, tokenizer: Tokenizer, session: Any = None) -> None:
        self.tokenizer = tokenizer
        self.session = session
        self.names = {i.name for i in session.get_inputs()} if session else set(INPUTS)

    @classmethod
    def open(cls, folder: Path, quantized: bool) -> OnnxEncoder:
        import onnxruntime as ort

        tokenizer = load_tokenizer(folder, cls.pad_to)
        path = exported(folder, quantized)
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, min(os.cpu_count() or 1, 8))
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        return cls(tokenizer, session)

    def encode(
        self, texts: list[str], batch_size: int = 32, normalize_embeddings: bool = True, **_: Any
    ) -> np.ndarray:
        feeds = (self.tokenize(texts[i : i + batch_size]) for i in range(0, len(texts), batch_size))
        parts = [_mean_pool(hidden, feed) for hidden, feed in self._run(feeds)]
        vectors = np.vstack(parts) if parts else np.zeros((0, 0), dtype=np.float32)
        if normalize_embeddings and len(vectors):
            vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors

    def tokenize(self, texts: list[str]) -> dict[str, np.ndarray]:
        batch = self.tokenizer.encode_batch(texts)
        columns = {
            "input_ids": [e.ids for e in batch],
            "attention_mask": [e.attention_mask for e in batch],
            "token_type_ids": [e.type_ids for e in batch],
        }
        return {k: np.array(v, dtype=np.int64) for k, v in columns.items() if k in self.names}

    def _run(
        self, feeds: Iterable[dict[str, np.ndarray]]
    ) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
        for feed in feeds:
            yield self.session.run(None, feed)[0], feed


def _mean_pool(hidden: np.ndarray, feed: dict[str, np.ndarray]) -> np.ndarray:
    mask = feed["attention_mask"][..., None].astype(np.float32)
    pooled: np.ndarray = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
    return pooled


def load_tokenizer(folder: Path, pad_to: int | None = None) -> Tokenizer:
    """The model's fast tokenizer, read with ``tokenizers`` alone (transformers would import
    torch, seconds at every start), set to truncate and pad as sentence-transformers does."""
    if not (folder / "config.json").is_file():
        raise ModelError(
            f"The ONNX and OpenVINO embedding backends need a local model folder; {folder} is "
            "not one. Set ASSISTANT_EMBEDDING__BACKEND=torch."
        )
    _check_mean_pooling(folder)
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(_tokenizer_file(folder)))
    # The file's own truncation and padding are the tokenizer's defaults, not the model's.
    tokenizer.enable_truncation(max_length=_max_length(folder))
    pad = _pad_token(folder, tokenizer)
    pad_id = tokenizer.token_to_id(pad) or 0
    tokenizer.enable_padding(pad_id=pad_id, pad_token=pad, pad_to_multiple_of=pad_to)
    return tokenizer


def _tokenizer_file(folder: Path) -> Path:
    """The folder's tokenizer.json, or one converted from its vocabulary by transformers once."""
    own = folder / "tokenizer.json"
    if own.is_file():
        return own
    converted = CACHE / f"{_folder_key(folder)}.tokenizer.json"
    if not converted.is_file():
        from transformers import AutoTokenizer

        CACHE.mkdir(parents=True, exist_ok=True)
        AutoTokenizer.from_pretrained(str(folder)).backend_tokenizer.save(str(converted))
    return converted


def _pad_token(folder: Path, tokenizer: Tokenizer) -> str:
    config = folder / "tokenizer_config.json"
    named = json.loads(config.read_text()).get("pad_token") if config.is_file() else None
    if isinstance(named, dict):  # an AddedToken written out in full
        named = named.get("content")
    return str(named or (tokenizer.padding or {}).get("pad_token") or "[PAD]")


def _check_mean_pooling(folder: Path) -> None:
    config = folder / "1_Pooling" / "config.json"
    if config.is_file() and not json.loads(config.read_text()).get("pooling_mode_mean_tokens"):
        raise ModelError(
            f"{folder} does not use mean pooling, which the ONNX backends implement; "
            "set ASSISTANT_EMBEDDING__BACKEND=torch."
        )


def _max_length(folder: Path) -> int:
    config = folder / "sentence_bert_config.json"
    if config.is_file():
        return int(json.loads(config.read_text()).get("max_seq_length", 256))
    return 256


def exported(folder: Path, quantized: bool) -> Path:
    key = _folder_key(folder)
    target = CACHE / f"{key}{'.fused.int8pc' if quantized else ''}.onnx"
    if target.is_file():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    plain = CACHE / f"{key}.onnx"
    if not plain.is_file():
        _export(folder, plain)
    if quantized:
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic

        fused = _fused(folder, plain)
        with tempfile.NamedTemporaryFile(dir=CACHE, suffix=".onnx", delete=False) as tmp:
            quantize_dynamic(
                str(fused), tmp.name, weight_type=QuantType.QInt8, per_channel=True,
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
            )  # fmt: skip
        os.replace(tmp.name, target)
    return target


def _folder_key(folder: Path) -> str:
    weights = next(iter(sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin"))), None)
    stamp = f"{folder.resolve()}|{weights.stat().st_size if weights else 0}"
    return hashlib.sha256(stamp.encode()).hexdigest()[:16]


def _fused(folder: Path, plain: Path) -> Path:
    """BERT graphs get onnxruntime's fused attention and layer-norm kernels."""
    config = json.loads((folder / "config.json").read_text())
    if config.get("model_type") != "bert":
        return plain
    from onnxruntime.transformers import optimizer

    model = optimizer.optimize_model(
        str(plain), model_type="bert", num_heads=int(config["num_attention_heads"]),
        hidden_size=int(config["hidden_size"]), opt_level=1,
    )  # fmt: skip
    fused = plain.with_suffix(".fused.onnx")
    model.save_model_to_file(str(fused))
    return fused


def _export(folder: Path, target: Path) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    model = AutoModel.from_pretrained(str(folder)).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    sample = tokenizer(["an example", "another example text"], padding=True, return_tensors="pt")
    names = [k for k in INPUTS if k in sample]

    class Wrapped(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *args: Any) -> Any:
            return self.model(**dict(zip(names, args, strict=True))).last_hidden_state

    axes = {k: {0: "batch", 1: "tokens"} for k in [*names, "hidden"]}
    with tempfile.NamedTemporaryFile(dir=target.parent, suffix=".onnx", delete=False) as tmp:
        torch.onnx.export(
            Wrapped(), tuple(sample[k] for k in names), tmp.name, input_names=names,
            output_names=["hidden"], dynamic_axes=axes, opset_version=17, dynamo=False,
        )  # fmt: skip
    os.replace(tmp.name, target)
