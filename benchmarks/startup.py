"""Start-up benchmark (issue 12): seconds from the shell, each command in a new process, for

- ``ask`` with the bundled local model (the default backend: its process, its prompt, its draft)
  on five questions, since its draft's length depends on the question, and with ``--backend extractive`` (everything but the model: imports, store, embedder, BM25,
  the answer and its check);
- ``search``;
- ``index`` with one file changed, and with nothing changed;

before and after the start-up changes, interleaved round by round so both meet the same machine
load. "before" is the code at ``--before`` (the commit preceding the changes), checked out in a
temporary git worktree and run with this same Python; "after" is this working tree. Each variant
gets its own copy of one index built beforehand, over a copy of the corpus, so nothing the team
uses is touched. Prints the median, the spread, the ratio before/after, and the machine's load
before and after the runs (figures taken at a load above the core count mostly measure the
other work: 2 cores here).

    python benchmarks/startup.py [--runs 5] [--before REV] [--no-local-model] [--quiet 0.15] [--only ask]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BEFORE = "b22ec70"  # the last commit before the local model's start-up changes
EDITED = "briefs/nvidia-h20-china-chip.md"
ADDED_LINE = "\nThe start-up benchmark adds this sentence to change one file.\n"
QUESTION = "Which Nvidia chips were made for China after the 2022 rules?"
# The bundled model's part depends on the question (how long its draft runs), so ask is timed on
# several: a date, a figure, a why, and one the sources cannot answer.
LOCAL_QUESTIONS = (
    QUESTION,
    "When did China start requiring licences for gallium exports?",
    "How many H800 GPUs did DeepSeek use to train V3?",
    "Why did Nvidia rely on Micron as the chief HBM3 supplier for the H100?",
    "By what percentage did Nvidia's shares climb on 28 January 2025?",
)


def commands(local_model: bool) -> dict[str, list[str]]:
    found = {  # in this order: the first index catches up with the change, the second has none
        "index, one file changed": ["index"],
        "index, nothing changed": ["index"],
        "search": ["search", "export controls on HBM"],
        "ask --backend extractive": ["ask", QUESTION, "--backend", "extractive"],
    }
    if local_model:
        for n, question in enumerate(LOCAL_QUESTIONS, 1):
            found[f"ask (local model), q{n}"] = ["ask", question, "--backend", "llamacpp"]
    return found


def busy_share(seconds: float = 2.0) -> float:
    """Share of the CPUs busy over ``seconds`` (from /proc/stat), between runs: other work."""

    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(fields), fields[3] + fields[4]  # total, idle + iowait

    total, idle = sample()
    time.sleep(seconds)
    total2, idle2 = sample()
    return 1 - (idle2 - idle) / max(total2 - total, 1)


def wait_for_quiet(limit: float, patience_s: float = 600) -> float:
    """Waits (at most ``patience_s``) until the CPUs are less than ``limit`` busy; returns the
    last share seen, so a round run on a busy machine still says so."""
    deadline = time.monotonic() + patience_s
    share = busy_share()
    while share > limit and time.monotonic() < deadline:
        share = busy_share()
    return share


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def run(code: Path, work: Path, name: str, args: list[str]) -> float:
    env = {
        **os.environ,
        "PYTHONPATH": str(code),
        "ASSISTANT_CORPUS__PATH": str(work / "corpus"),
        "ASSISTANT_INDEX__PATH": str(work / f"index-{name}"),
    }
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "assistant", *args], cwd=work, env=env,
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"{name}: `assistant {' '.join(args)}` failed: {done.stderr[-500:]}")
    return seconds


def flip(corpus: Path, original: str) -> None:
    """Changes the one edited file to its other version: with or without the added line."""
    path = corpus / EDITED
    text = path.read_text(encoding="utf-8")
    path.write_text(original if text != original else original + ADDED_LINE, encoding="utf-8")


def one_round(
    variants: dict[str, Path], work: Path, todo: dict[str, list[str]], original: str
) -> dict[tuple[str, str], float]:
    flip(work / "corpus", original)  # every variant's index is now one file behind
    times = {}
    for name, code in variants.items():
        for label, args in todo.items():
            times[(name, label)] = run(code, work, name, args)
    return times


def report(todo: dict[str, list[str]], times: dict[tuple[str, str], list[float]]) -> None:
    print(f"{'command':28} {'before s':>16} {'after s':>16} {'before/after':>13}")
    for label in todo:
        before, after = times[("before", label)], times[("after", label)]
        b, a = statistics.median(before), statistics.median(after)
        print(
            f"{label:28} {b:7.2f} ({min(before):.2f}-{max(before):.2f})"
            f" {a:7.2f} ({min(after):.2f}-{max(after):.2f}) {b / a:12.2f}x"
        )
    asks = [label for label in todo if label.startswith("ask (local model)")]
    if asks:
        for name in ("before", "after"):
            medians = [statistics.median(times[(name, label)]) for label in asks]
            every = [s for label in asks for s in times[(name, label)]]
            print(
                f"ask (local model), {len(asks)} questions, {name}: slowest median "
                f"{max(medians):.2f} s, median of all {statistics.median(every):.2f} s, "
                f"slowest run {max(every):.2f} s"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="measured rounds (after one warm-up)")
    parser.add_argument("--before", default=BEFORE, help="git revision measured as 'before'")
    parser.add_argument(
        "--no-local-model", action="store_true", help="leave out ask with the bundled model"
    )
    parser.add_argument(
        "--quiet", type=float, default=1.0, metavar="SHARE",
        help="before each round, wait until the CPUs are less than this share busy (0.1: 10%%)",
    )  # fmt: skip
    parser.add_argument("--only", default="", help="only the commands whose label has this")
    args = parser.parse_args()
    todo = {k: v for k, v in commands(not args.no_local_model).items() if args.only in k}
    load_before = load()
    with tempfile.TemporaryDirectory(prefix="startup-bench-") as tmp:
        work = Path(tmp)
        before = work / "before-code"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(before), args.before],
            cwd=REPO, check=True, capture_output=True,
        )  # fmt: skip
        try:
            variants = {"before": before, "after": REPO}
            shutil.copytree(REPO / "corpus", work / "corpus")
            original = (work / "corpus" / EDITED).read_text(encoding="utf-8")
            print("building the index once (after's code) ...", file=sys.stderr)
            run(REPO, work, "built", ["index"])
            for name in variants:
                shutil.copytree(work / "index-built", work / f"index-{name}")
            one_round(variants, work, todo, original)  # warm-up: file cache, compiled model
            times: dict[tuple[str, str], list[float]] = {}
            busy_before: list[float] = []
            for n in range(args.runs):
                busy = wait_for_quiet(args.quiet)
                print(f"round {n + 1}/{args.runs} (CPUs {busy:.0%} busy before)", file=sys.stderr)
                busy_before.append(busy)
                for key, seconds in one_round(variants, work, todo, original).items():
                    times.setdefault(key, []).append(seconds)
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(before)], cwd=REPO,
                capture_output=True,
            )  # fmt: skip
    print(f"before: {args.before}; after: the working tree; median of {args.runs} cold runs")
    print(f"load average: {load_before} before the runs, {load()} after")
    print(f"CPUs busy with other work just before each round: {max(busy_before):.0%} at most")
    report(todo, times)


if __name__ == "__main__":
    main()
