"""Answer benchmark: time to first token and total time of a typical question with the default
backend (the bundled SmolLM2-135M through llama.cpp), the prompt size in tokens, and, as the
baseline in the same run, the same prompt sent straight to the model without our pipeline.

    python benchmarks/answer.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from assistant import Assistant, Final, Settings, Token
from assistant.prompting import build_prompt, focus

QUESTIONS = [
    "When did China start requiring licences for gallium exports?",
    "What did the October 2023 US export-control update change?",
    "Who built the CPM models?",
    "What is DeepSeek-V3 and how much did its training reportedly cost?",
    "What does the Big Fund invest in?",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    repo = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(corpus={"path": repo / "corpus"}, index={"path": Path(tmp)})  # type: ignore[arg-type]
        bot = Assistant(settings)
        bot.index()
        began = time.perf_counter()
        model = bot.model()
        assert model is not None
        print(f"model load (once per process): {time.perf_counter() - began:.2f} s")
        bot.ask(QUESTIONS[0])  # warm-up: first call pays for lazy set-up
        firsts, totals, bare, prompt_tokens = [], [], [], []
        for n in range(args.runs):
            question = QUESTIONS[n % len(QUESTIONS)]
            began = time.perf_counter()
            first = None
            for event in bot.stream(question):
                if isinstance(event, Token) and first is None:
                    first = time.perf_counter() - began
                if isinstance(event, Final):
                    totals.append(time.perf_counter() - began)
            firsts.append(first or 0.0)
            hits = bot.search(question).hits
            sources = focus(question, hits, bot.embedder, model.source_tokens)
            prompt = build_prompt(question, sources, model, settings.llm.max_tokens, [])
            prompt_tokens.append(prompt.tokens)
            model.llm.reset()  # type: ignore[attr-defined]  # no KV cache left from the run above
            began = time.perf_counter()
            "".join(model.stream(prompt.messages))
            bare.append(time.perf_counter() - began)
    print(
        f"questions: {args.runs}, prompt size: median {statistics.median(prompt_tokens):.0f} tokens"
    )
    print(f"time to first token: p50 {statistics.median(firsts):.2f} s, max {max(firsts):.2f} s")
    print(f"whole answer (retrieval + generation + citation check): p50 {statistics.median(totals):.2f} s, "
          f"max {max(totals):.2f} s")  # fmt: skip
    ratio = statistics.median(totals) / statistics.median(bare)
    print(f"baseline, the same prompt straight to the model with a cold KV cache: p50 {statistics.median(bare):.2f} s; "
          f"pipeline/baseline {ratio:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
