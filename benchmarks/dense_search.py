"""Dense search breadth: Chroma's default ``ef_search`` (100) against the store's setting
(``index.ef_search``, or the breadths given), in one run on the same index, each breadth in a
new process. Prints, per index size, the share of the exact top 40 that the search returns
(recall@40 against a NumPy search over all vectors) and the p50 / p95 time of one query, with
the ratio to the default's.

The vectors are clustered like passages (40 topics plus noise) and the queries are noisy copies
of stored vectors, so the true neighbours are close together, where an approximate graph search
misses some.

    python benchmarks/dense_search.py [--sizes 10000 100000] [--queries 200] [--ef 512 1024]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from assistant.records import Chunk
from assistant.settings import IndexSettings
from assistant.store import Store

EF_SEARCH = IndexSettings().ef_search

REPO = Path(__file__).resolve().parent.parent
BASELINE_EF = 100  # Chroma's default
TOP = 40  # hits taken from each ranker (retrieval.candidates)


def vectors(size: int, rng: np.random.Generator) -> np.ndarray:
    topics = rng.normal(size=(40, 384))
    found = topics[rng.integers(0, 40, size)] + rng.normal(scale=0.9, size=(size, 384))
    return (found / np.linalg.norm(found, axis=1, keepdims=True)).astype(np.float32)


def build(folder: Path, stored: np.ndarray) -> Store:
    store = Store(IndexSettings(path=folder))
    for start in range(0, len(stored), 5000):
        part = range(start, min(len(stored), start + 5000))
        chunks = [Chunk(f"c{i}", f"passage {i}", "doc.md", "t", "", None, 0, 1, 0) for i in part]
        store.upsert("bench", chunks, stored[start : part.stop].tolist())
    return Store(IndexSettings(path=folder))  # opened again, as a new process does


def measure(folder: Path, ef: int, count: int) -> tuple[float, list[float]]:
    """In a new process, as a user's is: Chroma reads the setting when it loads the index."""
    script = (
        "import json, sys; from benchmarks.dense_search import run; "
        "print(json.dumps(run(*sys.argv[1:])))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(folder), str(ef), str(count)],
        capture_output=True, text=True, check=True, cwd=REPO,
    )  # fmt: skip
    recall, times = json.loads(done.stdout.splitlines()[-1])
    return recall, times


def run(folder: str, ef: str, count: str) -> tuple[float, list[float]]:
    data = np.load(Path(folder) / "vectors.npz")
    stored, queries = data["stored"], data["queries"][: int(count)]
    store = Store(IndexSettings(path=Path(folder), ef_search=int(ef)))
    store.query("bench", queries[0].tolist(), TOP)  # loads the index
    times, found = [], 0
    for query in queries:
        exact = {f"c{i}" for i in np.argsort(-(stored @ query))[:TOP]}
        start = time.perf_counter()
        hits = store.query("bench", query.tolist(), TOP)
        times.append(time.perf_counter() - start)
        found += len(exact & {c.id for c, _ in hits})
    return found / (TOP * len(queries)), times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--ef", type=int, nargs="+", default=[EF_SEARCH], help="besides 100")
    args = parser.parse_args()
    rng = np.random.default_rng(11)
    print(f"| chunks | ef_search | recall@{TOP} vs exact | p50 ms | p95 ms | p50 vs ef 100 |")
    print("|---|---|---|---|---|---|")
    for size in args.sizes:
        stored = vectors(size, rng)
        picks = stored[rng.integers(0, size, args.queries)]
        queries = picks + rng.normal(scale=0.5, size=picks.shape)
        queries = (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            build(Path(tmp), stored)
            built = time.perf_counter() - start
            np.savez(Path(tmp) / "vectors.npz", stored=stored, queries=queries)
            results: dict[int, tuple[float, list[float]]] = {}
            for _ in range(2):  # interleaved rounds, so drift hits both alike
                for ef in (BASELINE_EF, *args.ef):
                    recall, times = measure(Path(tmp), ef, args.queries)
                    old = results.get(ef, (0.0, []))
                    results[ef] = (recall, old[1] + times)
        base = statistics.median(results[BASELINE_EF][1])
        for ef, (recall, times) in results.items():
            p50, p95 = statistics.median(times), float(np.percentile(times, 95))
            print(
                f"| {size:,} | {ef} | {recall:.3f} | {p50 * 1000:.1f} | {p95 * 1000:.1f} | "
                f"{p50 / base:.2f}x |"
            )
        print(f"(built {size:,} in {built:.0f} s)")


if __name__ == "__main__":
    main()
