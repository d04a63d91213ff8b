"""HTML extraction benchmark: the project's loader against trafilatura called directly.

Scores the real saved pages of ``../shared/data/html-eval`` (see its README): each expected
phrase found is a true positive, each boilerplate phrase found a false positive; a page that
fails to load counts as all misses. Prints precision, recall, F1, pages failing and pages per
second for each extractor.

    python benchmarks/html_extract.py [--data ../shared/data/html-eval] [--limit N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The pages are shared material beside the repository, never copied into it; a clone elsewhere
# points HTML_EVAL_DIR at them.
DATA = Path(os.environ.get("HTML_EVAL_DIR") or REPO.parent / "shared" / "data" / "html-eval")


def require(data: Path) -> Path:
    """The pages folder, or an error that says where it was looked for and how to point at it."""
    if not (data / "evaldata.json").is_file():
        raise FileNotFoundError(
            f"the saved HTML pages are not at {data} (no evaldata.json there): clone the "
            "repository beside ../shared, or set HTML_EVAL_DIR to the html-eval folder"
        )
    return data


Extractor = Callable[[Path], str]


@dataclass
class Score:
    tp: int = 0
    fn: int = 0
    fp: int = 0
    tn: int = 0
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    pages: int = 0

    def add(self, text: str | None, expected: list[str], unwanted: list[str]) -> None:
        found = " ".join(text.split()) if text else ""
        for phrase in expected:
            if text is not None and " ".join(phrase.split()) in found:
                self.tp += 1
            else:
                self.fn += 1
        for phrase in unwanted:
            if text is not None and " ".join(phrase.split()) in found:
                self.fp += 1
            else:
                self.tn += 1

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "precision": round(self.precision, 3),
            "recall": round(self.recall, 3),
            "f1": round(self.f1, 3),
            "pages": self.pages,
            "failed": len(self.failed),
            "pages_per_s": round(self.pages / self.seconds, 1) if self.seconds else 0.0,
        }


def cases(data: Path, limit: int | None = None) -> list[tuple[Path, list[str], list[str]]]:
    """(page file, phrases to keep, phrases to drop) for every page, in a stable order."""
    entries = json.loads((require(data) / "evaldata.json").read_text(encoding="utf-8"))
    rows = [
        (data / "pages" / item["file"], list(item["with"]), list(item["without"]))
        for _, item in sorted(entries.items())
    ]
    return rows[:limit] if limit else rows


def ours(page: Path) -> str:
    from assistant.loading import load
    from assistant.settings import CorpusSettings

    return load(page, page.parent, CorpusSettings()).text


def trafilatura_direct(page: Path) -> str:
    import trafilatura

    return trafilatura.extract(page.read_bytes(), include_comments=False) or ""


def score(extract: Extractor, rows: list[tuple[Path, list[str], list[str]]]) -> Score:
    result = Score()
    began = time.perf_counter()
    for page, expected, unwanted in rows:
        try:
            text: str | None = extract(page)
        except Exception as exc:  # a failing page counts as all misses, and is listed
            result.failed.append(f"{page.name}: {exc}")
            text = None
        result.add(text, expected, unwanted)
        result.pages += 1
    result.seconds = time.perf_counter() - began
    return result


def main() -> int:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--data", type=Path, default=DATA)
    cli.add_argument("--limit", type=int)
    cli.add_argument("--json", action="store_true")
    args = cli.parse_args()
    rows = cases(args.data, args.limit)
    ours(rows[0][0])  # warm imports, so neither side pays them inside the clock
    trafilatura_direct(rows[0][0])
    results = {"ours": score(ours, rows), "trafilatura": score(trafilatura_direct, rows)}
    if args.json:
        print(json.dumps({k: v.to_dict() for k, v in results.items()}, indent=2))
        return 0
    print(f"{len(rows)} pages from {args.data}")
    print(
        f"{'extractor':<12} {'precision':>9} {'recall':>7} {'F1':>6} {'failed':>6} {'pages/s':>8}"
    )
    for name, res in results.items():
        d = res.to_dict()
        print(
            f"{name:<12} {d['precision']:>9} {d['recall']:>7} {d['f1']:>6} {d['failed']:>6} {d['pages_per_s']:>8}"
        )
    for name, res in results.items():
        for failure in res.failed:
            print(f"  {name} failed: {failure}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
