"""Ingestion benchmark: ours against the plain LangChain baseline on the same synthetic corpus.

Prints (a) full-build throughput in chunks/s for both and their ratio, (b) the time to update the
index after one file changes, and (c) the peak memory of each build. Each build runs in its own
process so that peak memory is its own.

    python benchmarks/ingest.py [--files 1000] [--backend torch|onnx|onnx-int8|openvino-int8]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from assistant.settings import EmbeddingSettings

WORDS = (
    "export control chip wafer lithography accelerator memory bandwidth model weights licence "
    "entity list foundry node tool rule update threshold performance density cluster training "
    "inference dataset parameter benchmark subsidy fund capacity yield supply chain shortage "
    "regulator ministry policy plan investment data centre talent researcher laboratory release"
).split()


def make_corpus(folder: Path, files: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        sections = []
        for s in range(rng.randint(3, 6)):
            paragraphs = []
            for _ in range(rng.randint(1, 3)):
                words = [rng.choice(WORDS) for _ in range(rng.randint(20, 120))]
                paragraphs.append(f"Item {i}-{s}: " + " ".join(words) + ".")
            sections.append(f"## Section {s}\n\n" + "\n\n".join(paragraphs))
        front = f"---\ntitle: Synthetic brief {i}\ndate: 2024-01-{i % 28 + 1:02d}\n---\n"
        (folder / f"brief-{i:05d}.md").write_text(
            front + f"# Brief {i}\n\n" + "\n\n".join(sections)
        )


def worker_ours(corpus: Path, index: Path, backend: str) -> dict[str, float]:
    import chromadb  # noqa: F401  (imported before the clock, as the baseline's is)

    from assistant import Assistant, Settings

    settings = Settings(
        corpus={"path": corpus},  # type: ignore[arg-type]
        index={"path": index},  # type: ignore[arg-type]
        embedding={"backend": backend},  # type: ignore[arg-type]
    )
    bot = Assistant(settings)
    began = time.perf_counter()
    bot.embedder.embed_query("load the model first")
    loaded = time.perf_counter()
    report = bot.index()
    built = time.perf_counter()
    target = corpus / "brief-00000.md"
    target.write_text(target.read_text() + "\n\n## Added later\n\nA new paragraph about chips.\n")
    update = bot.index()
    updated = time.perf_counter()
    return {
        "chunks": report.chunks,
        "load_s": loaded - began,
        "build_s": built - loaded,
        "update_s": updated - built,
        "update_embedded": update.chunks_embedded,
    }


def worker_baseline(corpus: Path, index: Path) -> dict[str, float]:
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings

    from assistant.chunking import chunk_document
    from assistant.embedding import bundled_model_dir
    from assistant.loading import load, scan
    from assistant.offline import go_offline
    from assistant.settings import ChunkingSettings, CorpusSettings

    go_offline()
    began = time.perf_counter()
    embeddings = HuggingFaceEmbeddings(model_name=str(bundled_model_dir()))
    embeddings.embed_query("load the model first")
    loaded = time.perf_counter()
    docs = []
    for path in scan(corpus, CorpusSettings()):
        for c in chunk_document(load(path, corpus, CorpusSettings()), ChunkingSettings()):
            docs.append(Document(page_content=c.text, metadata={"source": c.source}))
    Chroma.from_documents(docs, embeddings, persist_directory=str(index))
    built = time.perf_counter()
    return {"chunks": len(docs), "load_s": loaded - began, "build_s": built - loaded}


def run_worker(kind: str, corpus: Path, index: Path, backend: str) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--worker", kind, "--corpus", str(corpus),
           "--index", str(index), "--backend", backend]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    out = proc.stdout.read() if proc.stdout else ""
    if status != 0:
        raise SystemExit(f"{kind} worker failed")
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    result["peak_mib"] = usage.ru_maxrss / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument(
        "--backend",
        default=EmbeddingSettings().backend,
        help="our embedding backend (default: the default)",
    )
    parser.add_argument("--worker", choices=["ours", "baseline"])
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--index", type=Path)
    args = parser.parse_args()
    if args.worker:
        work = worker_ours(args.corpus, args.index, args.backend) if args.worker == "ours" else (
            worker_baseline(args.corpus, args.index))  # fmt: skip
        print(json.dumps(work))
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_corpus(root / "corpus", args.files)
        make_corpus(root / "corpus-baseline", args.files)
        base = run_worker("baseline", root / "corpus-baseline", root / "ix-base", args.backend)
        ours = run_worker("ours", root / "corpus", root / "ix-ours", args.backend)
    ours_rate = ours["chunks"] / ours["build_s"]
    base_rate = base["chunks"] / base["build_s"]
    print(
        f"synthetic corpus: {args.files} files, {int(ours['chunks'])} chunks (baseline {int(base['chunks'])})"
    )
    print(f"(a) full build, chunks/s: ours ({args.backend}) {ours_rate:.1f}, "
          f"LangChain baseline {base_rate:.1f}, ratio {ours_rate / base_rate:.2f}x")  # fmt: skip
    print(f"    model load: ours {ours['load_s']:.1f} s, baseline {base['load_s']:.1f} s")
    print(f"(b) update after one file changed: {ours['update_s']:.2f} s "
          f"({int(ours['update_embedded'])} chunks embedded; model already loaded)")  # fmt: skip
    print(f"(c) peak memory: ours {ours['peak_mib']:.0f} MiB, baseline {base['peak_mib']:.0f} MiB")


if __name__ == "__main__":
    main()
