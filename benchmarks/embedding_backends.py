"""Embedding backends: speed against torch in the same run, and whether retrieval quality holds.

For each backend, embeds every passage of the curated corpus (its own process, model already
loaded) and reports passages/s and the ratio to torch; then indexes the corpus with it and scores
the development questions (dense only, which shows the embedder alone, and the default hybrid
ranking). A backend earns its place only if it is faster and its scores hold.

    python benchmarks/embedding_backends.py [--backends torch onnx-int8 openvino-int8]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BACKENDS = ["torch", "onnx-int8", "openvino-int8"]


def worker(backend: str, index: Path) -> dict[str, float]:
    from assistant import Assistant, Settings
    from assistant.chunking import chunk_document, embedding_text
    from assistant.evaluation import compare, load_questions
    from assistant.loading import load, scan

    settings = Settings(
        corpus={"path": Path("corpus")},  # type: ignore[arg-type]  (the dev set names corpus/...)
        index={"path": index},  # type: ignore[arg-type]
        embedding={"backend": backend},  # type: ignore[arg-type]
    )
    bot = Assistant(settings)
    texts = [
        embedding_text(c)
        for path in scan(settings.corpus.path, settings.corpus)
        for c in chunk_document(
            load(path, settings.corpus.path, settings.corpus), settings.chunking
        )
    ]
    bot.embedder.embed_documents(texts[:16])  # loads (and on first use exports) the model
    rates = []
    for _ in range(3):
        began = time.perf_counter()
        bot.embedder.embed_documents(texts)
        rates.append(len(texts) / (time.perf_counter() - began))
    bot.index()
    rows = {
        r["configuration"]: r
        for r in compare(bot, load_questions(REPO / "tests/data/dev_qa.jsonl"))
    }
    dense, default = (
        rows["dense only"],
        rows[f"hybrid + per-document cap {settings.retrieval.per_document}"],
    )
    return {"passages": len(texts), "rate": max(rates), "dense_mrr": dense["mrr"],
            "dense_recall5": dense["recall@5"], "recall5": default["recall@5"],
            "mrr": default["mrr"], "abstention": default["abstention"]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backends", nargs="+", default=BACKENDS)
    parser.add_argument("--worker")
    parser.add_argument("--index", type=Path)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.index)))
        return
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends:
            cmd = [sys.executable, __file__, "--worker", backend, "--index", f"{tmp}/{backend}"]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=REPO).stdout
            results[backend] = json.loads(out.strip().splitlines()[-1])
    base = results.get("torch", next(iter(results.values())))["rate"]
    passages = next(iter(results.values()))["passages"]
    print(f"{passages} passages of the curated corpus; quality on tests/data/dev_qa.jsonl")
    print(
        "| backend | passages/s | vs torch | dense MRR | dense recall@5 | recall@5 | MRR | abstention |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['rate']:.1f} | {r['rate'] / base:.2f}x | {r['dense_mrr']:.3f} | "
              f"{r['dense_recall5']:.3f} | {r['recall5']:.3f} | {r['mrr']:.3f} | {r['abstention']:.3f} |")  # fmt: skip


if __name__ == "__main__":
    main()
