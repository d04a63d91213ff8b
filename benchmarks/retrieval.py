"""Retrieval latency benchmark: p50 and p95 of a whole `search` call (query embedding, dense,
BM25, fusion, filters) on synthetic indexes of 1k, 10k and 100k chunks.

The stored vectors are random unit vectors (embedding 100k passages would take an hour on 2
cores and does not change the cost of a search); the query is embedded by the real model.

    python benchmarks/retrieval.py [--sizes 1000 10000 100000] [--queries 60]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from assistant import Assistant, Filters, Settings
from assistant.manifest import FileEntry
from assistant.records import Chunk

WORDS = (
    "export control chip wafer lithography accelerator memory bandwidth model weights licence "
    "entity list foundry node tool rule update threshold performance density cluster training "
    "inference dataset parameter benchmark subsidy fund capacity yield supply chain shortage"
).split()
TOPICS = ["export-controls", "ai-chips", "chinese-models", "china-policy"]
QUERIES = [
    "Which chips were restricted by the export rule?",
    "memory bandwidth of accelerators",
    "subsidy fund for foundry capacity",
    "training cluster performance density threshold",
    "supply chain shortage of wafers",
    "model weights licence release",
]


def build(folder: Path, size: int, seed: int = 3) -> Assistant:
    rng = random.Random(seed)
    settings = Settings(index={"path": folder})  # type: ignore[arg-type]
    bot = Assistant(settings)
    name = "chunks-bench-0"
    per_file = 10
    vectors = np.random.default_rng(seed).standard_normal((size, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    for start in range(0, size, 5000):
        chunks = []
        for i in range(start, min(size, start + 5000)):
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 140)))
            chunks.append(
                Chunk(
                    id=f"c{i}",
                    text=text,
                    source=f"doc-{i // per_file}.md",
                    title=f"Doc {i // per_file}",
                    heading="Section",
                    page=None,
                    start=0,
                    end=len(text),
                    position=i % per_file,
                    date=f"20{20 + i % 6}-0{1 + i % 9}-15",
                    topics=(TOPICS[i % 4],),
                )
            )
        bot.store.upsert(name, chunks, vectors[start : start + len(chunks)].tolist())
    with bot.manifest.transaction():
        for f in range(0, size, per_file):
            entry = FileEntry(f"doc-{f // per_file}.md", str(f), 1, "Doc", per_file, time.time())
            bot.manifest.record_file(
                name, entry, [f"c{i}" for i in range(f, min(size, f + per_file))]
            )
        bot.manifest.set(active=name, model=bot.embedder.name, built_at="bench")
    bot.manifest.bump_version()
    return bot


def measure(bot: Assistant, queries: int) -> tuple[float, float]:
    filters = [Filters(), Filters(since="2023-01-01"), Filters(topics=("ai-chips",))]
    bot.search(QUERIES[0])  # builds the BM25 index and loads the model
    times = []
    for n in range(queries):
        began = time.perf_counter()
        bot.search(QUERIES[n % len(QUERIES)], filters=filters[n % len(filters)])
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--queries", type=int, default=60)
    args = parser.parse_args()
    results = []
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            began = time.perf_counter()
            bot = build(Path(tmp), size)
            setup = time.perf_counter() - began
            p50, p95 = measure(bot, args.queries)
            results.append((size, p50, p95))
            print(
                f"{size:>7} chunks: p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  (index built in {setup:.0f} s)"
            )
    smallest, largest = results[0], results[-1]
    print(
        f"corpus grew {largest[0] / smallest[0]:.0f}x; p50 latency grew "
        f"{largest[1] / smallest[1]:.1f}x, p95 {largest[2] / smallest[2]:.1f}x"
    )


if __name__ == "__main__":
    main()
