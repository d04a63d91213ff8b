"""Web load check: concurrent conversations through gradio_client against a server this script
starts on 127.0.0.1 with the extractive backend. Prints p50/p95 latency and the error count.

    python benchmarks/web_load.py [--conversations 20] [--turns 3]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gradio_client import Client

from assistant import Assistant, Settings
from assistant.server import running

TURNS = [
    "Which Nvidia chips were made for China after the 2022 rules?",
    "And what happened to them in October 2023?",
    "Who made the CPM models?",
    "What did China's 2017 AI development plan aim for?",
    "When did China start licensing gallium exports?",
]


def conversation(url: str, n: int, turns: int) -> tuple[list[float], int]:
    client = Client(url, verbose=False)
    history: list[dict[str, str]] = []
    latencies, errors = [], 0
    for t in range(turns):
        question = TURNS[(n + t) % len(TURNS)]
        began = time.perf_counter()
        try:
            answer = json.loads(
                client.predict(question, json.dumps(history), "", "{}", api_name="/ask")
            )
            history += [{"role": "user", "content": question},
                        {"role": "assistant", "content": answer["answer"]}]  # fmt: skip
        except Exception:  # every failure counts, whatever its type
            errors += 1
        latencies.append(time.perf_counter() - began)
    return latencies, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--turns", type=int, default=3)
    args = parser.parse_args()
    repo = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            corpus={"path": repo / "corpus"},  # type: ignore[arg-type]
            index={"path": Path(tmp)},  # type: ignore[arg-type]
            llm={"backend": "extractive"},  # type: ignore[arg-type]
        )
        bot = Assistant(settings)
        bot.index()
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        with running(bot, port) as url:
            conversation(url, 0, 1)  # warm-up
            began = time.perf_counter()
            with ThreadPoolExecutor(args.conversations) as pool:
                done = list(
                    pool.map(lambda n: conversation(url, n, args.turns), range(args.conversations))
                )
            wall = time.perf_counter() - began
    latencies = sorted(x for lat, _ in done for x in lat)
    errors = sum(e for _, e in done)
    single = latencies[0]
    p50, p95 = statistics.median(latencies), latencies[int(len(latencies) * 0.95) - 1]
    print(
        f"{args.conversations} concurrent conversations x {args.turns} turns = {len(latencies)} answers in {wall:.1f} s"
    )
    print(
        f"latency: p50 {p50:.2f} s, p95 {p95:.2f} s (fastest {single:.2f} s; p95/fastest {p95 / single:.1f}x)"
    )
    print(f"errors: {errors}")


if __name__ == "__main__":
    main()
