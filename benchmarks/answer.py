"""Answer benchmark: time to first token and whole checked answer with the default backend (the
bundled SmolLM2-135M, served by its supervised llama.cpp process), per llama.cpp CPU module, in
one run and interleaved so that every module meets the same machine load:

- ``native-no-amx``: what pip's -march=native build gives on this CPU, minus AMX (the baseline
  that issue 12 compares with; built once by scripts/build_llama.py --variant native-no-amx);
- ``x86-64-v3``: the portable baseline every supported machine can run;
- ``avx512``: the extra module, used where the CPU advertises AVX-512 and it really runs;
- and the module ``auto`` picks on this machine;
- that module again, serving the packaged Q4_1 file as it is instead of its 8-bit copy.

Also: the same prompt sent straight to the model (no retrieval, no check) as a baseline.

    python benchmarks/answer.py [--runs 10] [--no-native]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from assistant import Assistant, Final, Settings, Token
from assistant.generation import BUNDLED_SOURCE_TOKENS, STOP
from assistant.local_model import LocalModel
from assistant.native import CpuModule, candidates, cpu_flags, installed_modules
from assistant.prompting import build_prompt, focus

REPO = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "When did China start requiring licences for gallium exports?",
    "What did the October 2023 US export-control update change?",
    "Who built the CPM models?",
    "What is DeepSeek-V3 and how much did its training reportedly cost?",
    "What does the Big Fund invest in?",
    "Which Nvidia chips were made for China after the 2022 rules?",
    "How many parameters does Qwen2.5-Max have?",
    "When did the Netherlands require licences for ASML's DUV tools?",
    "What is Huawei's Ascend 910C?",
    "Why did Nvidia's shares fall in January 2025?",
]


def modules(native: bool) -> dict[str, CpuModule]:
    installed = installed_modules()
    chosen = {m.name: m for m in installed if m in candidates(installed)}
    if native and "avx2" in cpu_flags():
        out = subprocess.run(
            [sys.executable, str(REPO / "scripts" / "build_llama.py"), "--variant", "native-no-amx"],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        path = Path(out.stdout.strip().splitlines()[-1])
        chosen = {"native-no-amx": CpuModule("native-no-amx", path, ""), **chosen}
    return chosen


def time_answer(bot: Assistant, question: str) -> tuple[float, float]:
    began = time.perf_counter()
    first = 0.0
    for event in bot.stream(question):
        if isinstance(event, Token) and not first:
            first = time.perf_counter() - began
        if isinstance(event, Final):
            return first, time.perf_counter() - began
    raise RuntimeError("no final answer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10, help="questions per module")
    parser.add_argument("--no-native", action="store_true", help="skip the native baseline")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(corpus={"path": REPO / "corpus"}, index={"path": Path(tmp)})  # type: ignore[arg-type]
        bot = Assistant(settings)
        bot.index()
        auto = bot.model()
        assert isinstance(auto, LocalModel)
        began = time.perf_counter()
        auto.warm()
        print(
            f"model process start: {time.perf_counter() - began:.2f} s; auto picks {auto.cpu_module}"
        )
        found = modules(not args.no_native)
        models = {
            name: LocalModel(settings.llm, STOP, BUNDLED_SOURCE_TOKENS, modules=[module])
            for name, module in found.items()
        }
        packaged = f"{auto.cpu_module}, Q4_1"  # the packaged file as it is, not its 8-bit copy
        models[packaged] = LocalModel(
            settings.llm, STOP, BUNDLED_SOURCE_TOKENS, modules=[found[auto.cpu_module]], widen=False
        )
        firsts: dict[str, list[float]] = {name: [] for name in models}
        totals: dict[str, list[float]] = {name: [] for name in models}
        for model in models.values():  # warm-up: the first call pays for lazy set-up
            model.warm()
            bot.use_model("llamacpp", model)
            time_answer(bot, QUESTIONS[0])
        for n in range(args.runs):
            question = QUESTIONS[n % len(QUESTIONS)]
            for name, model in models.items():
                bot.use_model("llamacpp", model)
                first, total = time_answer(bot, question)
                firsts[name].append(first)
                totals[name].append(total)
        bare: dict[str, list[float]] = {name: [] for name in models}
        for n in range(args.runs):
            question = QUESTIONS[n % len(QUESTIONS)]
            hits = bot.search(question).hits
            for name, model in models.items():
                sources = focus(question, hits, bot.embedder, model.source_tokens)
                prompt = build_prompt(question, sources, model, model.max_tokens, [])
                began = time.perf_counter()
                "".join(model.stream(prompt.messages))
                bare[name].append(time.perf_counter() - began)
        for model in models.values():
            model.close()
    base = "native-no-amx" if "native-no-amx" in models else packaged
    print(
        f"questions: {args.runs} per module, interleaved; speed ratios against {base} (>1: faster)"
    )
    p50 = statistics.median
    for name in models:
        mark = " (auto)" if name == auto.cpu_module else ""
        print(f"{name:>16}{mark}: first token p50 {p50(firsts[name]):.2f} s (max {max(firsts[name]):.2f}), "
              f"whole answer p50 {p50(totals[name]):.2f} s, same prompt straight to the model p50 {p50(bare[name]):.2f} s; "
              f"vs {base}: first token {p50(firsts[base]) / p50(firsts[name]):.2f}x, "
              f"whole {p50(totals[base]) / p50(totals[name]):.2f}x, model alone {p50(bare[base]) / p50(bare[name]):.2f}x")  # fmt: skip
    chosen = auto.cpu_module
    print(f"pipeline/model alone ({chosen}): {p50(totals[chosen]) / p50(bare[chosen]):.2f}x")


if __name__ == "__main__":
    main()
