"""An OpenVINO int8 encoder: the exported ONNX graph with weights *and* activations quantised by
NNCF, so every matrix product runs on int8 (VNNI) kernels. On this project's 2-core CPU it embeds
about 1.4x as fast as ``onnx-int8``, whose activations are quantised anew on every call.

Activation ranges come from calibration text shipped with the package (``calibration.json``:
passages sampled from the project's own briefs and questions written for it, made by
``scripts/make_calibration.py``), so the quantised model, and therefore every vector, is the same
on every machine whatever is being indexed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.onnx_encoder import CACHE, OnnxEncoder, exported, load_tokenizer

if TYPE_CHECKING:
    from tokenizers import Tokenizer

CALIBRATION = Path(__file__).with_name("calibration.json")
COMPILED = CACHE / "openvino-compiled"
_CALIBRATION_BATCH = 8


class OpenVinoEncoder(OnnxEncoder):
    # OpenVINO keeps kernels and buffers for every input shape it has seen; with lengths rounded
    # up to 16 the shapes are few and memory stays flat (measured over 3,000 passages: 0.78 GiB
    # flat, against 1.6 GiB and growing with exact lengths) at no cost in speed.
    pad_to = 16

    def __init__(self, tokenizer: Tokenizer, compiled: Any) -> None:
        super().__init__(tokenizer)
        import openvino as ov

        self.names = {name for port in compiled.inputs for name in port.get_names()}
        # One request per CPU stream runs at once, and the next batch is tokenised meanwhile.
        self.queue = ov.AsyncInferQueue(
            compiled, compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")
        )
        self.lock = threading.Lock()  # an AsyncInferQueue serves one caller at a time

    def _run(
        self, feeds: Iterable[dict[str, np.ndarray]]
    ) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
        results: dict[int, tuple[np.ndarray, dict[str, np.ndarray]]] = {}

        def done(request: Any, slot: tuple[int, dict[str, np.ndarray]]) -> None:
            results[slot[0]] = (request.get_output_tensor(0).data.copy(), slot[1])

        with self.lock:
            self.queue.set_callback(done)
            try:
                for index, feed in enumerate(feeds):
                    self.queue.start_async(feed, (index, feed))
            finally:  # no request may outlive the lock, even when tokenising fails
                self.queue.wait_all()
        return (results[i] for i in range(len(results)))


def open_encoder(folder: Path) -> OpenVinoEncoder:
    import openvino as ov

    path = _quantized(folder)
    # OpenVINO keeps the compiled model in CACHE_DIR (keyed by the model, the device and these
    # options), so later starts load it instead of compiling again: about 0.25 s against 1 s.
    options = {"PERFORMANCE_HINT": "THROUGHPUT", "CACHE_DIR": str(COMPILED)}
    compiled = ov.Core().compile_model(str(path), "CPU", options)
    return OpenVinoEncoder(load_tokenizer(folder, OpenVinoEncoder.pad_to), compiled)


def _quantized(folder: Path) -> Path:
    plain = exported(folder, quantized=False)
    key = hashlib.sha256(plain.name.encode() + CALIBRATION.read_bytes()).hexdigest()[:16]
    target = CACHE / f"{key}.ov-int8.xml"
    if target.is_file():
        return target
    import nncf
    import openvino as ov

    print("Quantising the embedding model for OpenVINO (once; about 20 s)...", file=sys.stderr)
    logging.getLogger("nncf").setLevel(logging.ERROR)
    encoder = OnnxEncoder(load_tokenizer(folder))  # calibrated without OpenVINO's padding
    texts = json.loads(CALIBRATION.read_text(encoding="utf-8"))
    samples = [*texts["passages"], *texts["questions"]]
    feeds = [
        encoder.tokenize(samples[i : i + _CALIBRATION_BATCH])
        for i in range(0, len(samples), _CALIBRATION_BATCH)
    ]
    with contextlib.redirect_stdout(sys.stderr):  # NNCF's progress bars must not mix with --json
        model = nncf.quantize(
            ov.Core().read_model(str(plain)), nncf.Dataset(feeds), subset_size=len(feeds),
            model_type=nncf.ModelType.TRANSFORMER,
        )  # fmt: skip
    # The .xml is moved into place last, so a .xml in the cache always has its .bin beside it.
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        staged = Path(tmp) / target.name
        ov.save_model(model, str(staged), compress_to_fp16=False)
        os.replace(staged.with_suffix(".bin"), target.with_suffix(".bin"))
        os.replace(staged, target)
    return target
