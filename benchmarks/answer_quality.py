"""Answer quality per backend (issue 14): ``evaluate`` over the question set for ``extractive``,
the bundled ``llamacpp`` model, and ``openai`` against a real llama.cpp server (llama-cpp-python's
OpenAI-compatible server with the bundled GGUF, started here on 127.0.0.1), in one run over one
index. Prints, per backend, the share right, the share whose cited passage holds the answer, and
the share of on-topic unanswerable questions declined, per kind of question.

    python benchmarks/answer_quality.py [--split held_out|tune|all] [--backends a,b,c] [--limit N]
        [--kinds follow_up,comparison] [--prefix ho6]

Needs the index built (`assistant index`). The server is llama_cpp.server itself
(``python -m llama_cpp.server``), given the CPU module ``assistant.native`` picks for this machine
(the portable build loads its CPU code from a module), and is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
QA = REPO / "tests" / "data" / "dev_qa.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", default="held_out", choices=["held_out", "tune", "all"])
    parser.add_argument("--backends", default="extractive,llamacpp,openai")
    parser.add_argument("--limit", type=int, default=0, help="first N questions only (0: all)")
    parser.add_argument("--kinds", default="", help="only these kinds, comma-separated")
    parser.add_argument("--prefix", default="", help="only questions whose id starts so (ho6)")
    parser.add_argument("--json", type=Path, help="also write the per-question rows here")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from assistant import Assistant, Settings
    from assistant.evaluation import evaluate, load_questions
    from assistant.generation import BUNDLED_SOURCE_TOKENS

    questions = [q for q in load_questions(QA) if args.split in ("all", q.split or "tune")]
    if args.kinds:
        questions = [q for q in questions if q.kind in args.kinds.split(",")]
    questions = [q for q in questions if q.id.startswith(args.prefix)]
    questions = questions[: args.limit] if args.limit else questions
    on_topic = {q.id for q in questions if q.unanswerable and q.kind == "unanswerable"}
    backends = [b for b in args.backends.split(",") if b]
    results: dict[str, dict[str, Any]] = {}
    with _llama_server() if "openai" in backends else _nothing() as base:
        for backend in backends:
            settings = Settings()
            if backend == "openai":
                settings.llm.base_url, settings.llm.model = base, "smollm2"
                # the bundled 135M model behind the server gets the focused prompt it gets locally
                settings.llm.source_tokens = BUNDLED_SOURCE_TOKENS
            bot = Assistant(settings)
            start = time.perf_counter()
            results[backend] = evaluate(bot, questions, backend=backend)
            seconds = time.perf_counter() - start
            print(f"{backend}: {len(questions)} questions in {seconds:.0f} s", file=sys.stderr)
    print(
        f"{len(questions)} questions ({args.split}), {len(on_topic)} of them on-topic unanswerable"
    )
    for backend, result in results.items():
        print(f"\n### {backend}\n")
        print(_table(result, on_topic))
    if args.json:
        rows = {b: r["questions"] for b, r in results.items()}
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")


def _table(result: dict[str, Any], on_topic: set[str]) -> str:
    rows = result["questions"]
    kinds: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        kinds.setdefault(row["kind"], []).append(row)
    lines = [
        "| kind | n | right | cited passage holds it | on-topic unanswerable declined |",
        "|---|---|---|---|---|",
    ]
    for kind, group in [*sorted(kinds.items()), ("all", rows)]:
        answerable = [r for r in group if not r["unanswerable"]]
        declinable = [r for r in group if r["id"] in on_topic]
        lines.append(
            f"| {kind} | {len(group)} | {_share(answerable, 'answer_matches')} | "
            f"{_share(answerable, 'cited_holds')} | {_share(declinable, 'abstained')} |"
        )
    return "\n".join(lines)


def _share(rows: list[dict[str, Any]], key: str) -> str:
    return f"{sum(bool(r[key]) for r in rows) / len(rows):.2f}" if rows else "-"


@contextmanager
def _nothing() -> Iterator[str]:
    yield ""


@contextmanager
def _llama_server() -> Iterator[str]:
    from assistant.generation import bundled_gguf
    from assistant.native import candidates, installed_modules

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    module = candidates(installed_modules(), "auto")[0]
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(bundled_gguf()),
           "--model_alias", "smollm2", "--host", "127.0.0.1", "--port", str(port),
           "--n_ctx", "8192", "--n_threads", "2", "--verbose", "false"]  # fmt: skip
    env = {**os.environ, "GGML_BACKEND_PATH": str(module.path)}
    base = f"http://127.0.0.1:{port}/v1"
    with tempfile.TemporaryFile() as log, _process(cmd, env, log) as proc:
        deadline = time.monotonic() + 120
        while not _answers(f"{base}/models"):
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise SystemExit(f"llama_cpp.server did not start:\n{log.read().decode()[-2000:]}")
            time.sleep(0.3)
        print(f"llama_cpp.server on {base} ({module.name} CPU code)", file=sys.stderr)
        yield base


@contextmanager
def _process(cmd: list[str], env: dict[str, str], log: Any) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(10)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    main()
