"""Does the claim check catch wrong facts? Cases come from the real corpus, chunked as indexed:

- true: a sentence of a brief cited against its own passage;
- paraphrase: the same statement in other words (benchmarks/data/paraphrases.jsonl);
- altered copies made by program: a figure swapped for another figure of the same passage, a
  month or a year swapped, a name swapped for another name of the corpus (company, model,
  agency, country), "not" inserted, two countries or a buyer and a seller exchanged, a
  comparison turned round.

Prints, by kind and for each half of the corpus (documents split by a hash of their path, so one
half can be held out while the check is developed), the share marked "supported". Targets: true
and paraphrase >= 0.95, every altered kind <= 0.05. ``--before REV`` also scores the check as it
was at git revision REV, in the same run.

    .venv/bin/python benchmarks/claim_check.py [--per-kind 80] [--before HEAD~3] [--show 3]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import random
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from assistant.chunking import chunk_document  # noqa: E402
from assistant.citing import check_answer  # noqa: E402
from assistant.embedding import Embedder  # noqa: E402
from assistant.loading import load  # noqa: E402
from assistant.records import Chunk  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from assistant.text import split_sentences  # noqa: E402

PARAPHRASES = REPO / "benchmarks" / "data" / "paraphrases.jsonl"
# Names the generator swaps, by kind; each is kept only if the corpus uses it.
NAMES = {
    "company": "Nvidia Huawei Alibaba Baidu Tencent ByteDance SMIC TSMC ASML AMD Intel Samsung "
    "Micron Microsoft Google Meta OpenAI Anthropic DeepSeek Zhipu Moonshot MiniMax iFlytek "
    "SenseTime Cambricon Hikvision Xiaomi Apple Qualcomm Broadcom Arm",
    "model": "Qwen Qwen2 Qwen2.5 GLM-4 ChatGLM Llama GPT-4 GPT-4o Kimi Ernie Yi-34B Yi-6B "
    "DeepSeek-V3 DeepSeek-R1 R1 V3 Claude Gemini Mistral H100 H800 H20 A100 A800 Ascend",
    "agency": "BIS MIIT CAC NDRC MOFCOM Congress Commerce Pentagon NIST",
    "country": "China Japan Taiwan Netherlands Korea India Russia Singapore Malaysia Germany",
}
MONTHS = (
    "January February March April May June July August September October November December"
).split()
AUXILIARIES = ("is", "are", "was", "were", "has", "have", "had", "will", "would", "can", "could")
ROLE_PAIRS = [
    ("buyer", "seller"),
    ("exporter", "importer"),
    ("exports", "imports"),
    ("supplier", "customer"),
    ("buyers", "sellers"),
    ("suppliers", "customers"),
]
COMPARATIVES = [
    ("more", "less"),
    ("larger", "smaller"),
    ("higher", "lower"),
    ("before", "after"),
    ("earlier", "later"),
    ("increase", "decrease"),
    ("above", "below"),
    ("largest", "smallest"),
    ("first", "last"),
    ("fewer", "more"),
    ("most", "least"),
    ("faster", "slower"),
]
COUNTRY = re.compile(
    r"\b(the US|the United States|China|Japan|Taiwan|the Netherlands|"
    r"South Korea|India|Russia)\b"
)
FIGURE = re.compile(r"(?<![\w.\-])\d+(?:[.,]\d+)*(?![\w\-]|\.\d)")
YEAR = re.compile(r"\b(?:19|20)\d\d\b")
KINDS = ["true", "paraphrase", "figure", "month", "year", "name", "negation", "role", "comparative"]


class CachedEmbedder:
    """The real embedder, remembering vectors: the same passages are checked many times."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.cache: dict[str, list[float]] = {}

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        todo = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if todo:
            self.cache.update(zip(todo, self.embedder.embed_documents(todo), strict=True))
        return [self.cache[t] for t in texts]


def corpus_chunks() -> list[Chunk]:
    settings = Settings()
    root = REPO / "corpus"
    chunks: list[Chunk] = []
    for path in sorted((root / "briefs").glob("*.md")):
        chunks += chunk_document(load(path, root, settings.corpus), settings.chunking)
    return chunks


def half(source: str) -> str:
    return "A" if hashlib.sha256(source.encode()).digest()[0] % 2 == 0 else "B"


def claims(chunk: Chunk) -> list[str]:
    out = []
    for s in split_sentences(chunk.text):
        plain = s.replace("**", "")
        whole = len(split_sentences(plain)) == 1
        if (
            whole
            and not plain.startswith("#")
            and 6 <= len(plain.split()) <= 60
            and "[" not in plain
        ):
            out.append(plain)
    return out


def swap_figure(sentence: str, chunk: Chunk, rng: random.Random) -> str | None:
    mine = [m for m in FIGURE.finditer(sentence) if not YEAR.fullmatch(m.group())]
    values = {m.group() for m in FIGURE.finditer(chunk.text) if not YEAR.fullmatch(m.group())}
    for m in rng.sample(mine, len(mine)):
        others = sorted(v for v in values if v.replace(",", "") != m.group().replace(",", ""))
        if others:
            return sentence[: m.start()] + rng.choice(others) + sentence[m.end() :]
    return None


def swap_month(sentence: str, chunk: Chunk, rng: random.Random) -> str | None:
    found = [m for m in re.finditer(r"\b(" + "|".join(MONTHS) + r")\b", sentence)]
    found = [m for m in found if m.group() != "May" or m.start() > 0]
    if not found:
        return None
    m = rng.choice(found)
    near = sorted({x for x in MONTHS if re.search(rf"\b{x}\b", chunk.text)} - {m.group()})
    new = rng.choice(near or [x for x in MONTHS if x != m.group()])
    return sentence[: m.start()] + new + sentence[m.end() :]


def swap_year(sentence: str, chunk: Chunk, rng: random.Random) -> str | None:
    found = list(YEAR.finditer(sentence))
    if not found:
        return None
    m = rng.choice(found)
    near = sorted(set(YEAR.findall(chunk.text)) - {m.group()})
    new = rng.choice(near) if near else str(int(m.group()) + rng.choice((-2, -1, 1, 2)))
    return sentence[: m.start()] + new + sentence[m.end() :]


def swap_name(
    sentence: str, chunk: Chunk, rng: random.Random, names: dict[str, list[str]]
) -> str | None:
    present = [
        (kind, name, m)
        for kind, group in names.items()
        for name in group
        for m in re.finditer(rf"(?<![\w\-.]){re.escape(name)}(?![\w\-]|\.\d)", sentence)
    ]
    if not present:
        return None
    kind, name, m = rng.choice(present)
    choices = [
        n for n in names[kind] if n != name and not re.search(rf"\b{re.escape(n)}\b", sentence)
    ]
    in_passage = [n for n in choices if re.search(rf"\b{re.escape(n)}\b", chunk.text)]
    pool = in_passage if in_passage and rng.random() < 0.5 else choices
    return sentence[: m.start()] + rng.choice(pool) + sentence[m.end() :] if pool else None


def add_not(sentence: str, chunk: Chunk, rng: random.Random) -> str | None:
    if re.search(r"\b(not|no|never|without|cannot)\b|n't", sentence, re.IGNORECASE):
        return None
    words = sentence.split(" ")
    for i, w in enumerate(words):
        if w in AUXILIARIES and i > 0:
            return " ".join([*words[: i + 1], "not", *words[i + 1 :]])
    for i, w in enumerate(words[1:], start=1):
        if re.fullmatch(r"[a-z]+ed", w) and not words[i - 1][:1].isupper():
            return " ".join(
                [*words[:i], "did not", w[:-2] if w.endswith("ed") else w, *words[i + 1 :]]
            )
    return None


def swap_roles(sentence: str, chunk: Chunk, rng: random.Random) -> str | None:
    places = list(COUNTRY.finditer(sentence))
    distinct = {m.group().replace("the United States", "the US") for m in places}
    if len(distinct) == 2 and len(places) == 2:
        a, b = places
        between = sentence[a.end() : b.start()]
        if len(between.split()) <= 4 and re.search(r"\band\b|\bor\b|,|^\W*$", between):
            return None  # "the US and China": swapping a list changes nothing
        return (
            sentence[: a.start()]
            + b.group()
            + sentence[a.end() : b.start()]
            + a.group()
            + sentence[b.end() :]
        )
    for x, y in ROLE_PAIRS:
        for word, other in ((x, y), (y, x)):
            m = re.search(rf"\b{word}\b", sentence)
            if m and not re.search(rf"\b{other}\b", sentence):
                return sentence[: m.start()] + other + sentence[m.end() :]
    return None


def turn_round(sentence: str, chunk: Chunk, rng: random.Random) -> str | None:
    for x, y in rng.sample(COMPARATIVES, len(COMPARATIVES)):
        for word, other in ((x, y), (y, x)):
            m = re.search(rf"\b{word}\b", sentence)
            if m and not re.search(rf"\b{other}\b", sentence):
                return sentence[: m.start()] + other + sentence[m.end() :]
    return None


Alter = Callable[[str, Chunk, random.Random], "str | None"]


def cases(chunks: list[Chunk], per_kind: int, seed: int) -> Iterator[tuple[str, str, str, Chunk]]:
    """(kind, original sentence, claim, passage), at most ``per_kind`` of each kind per half."""
    rng = random.Random(seed)
    text = "\n".join(c.text for c in chunks)
    names = {
        k: [n for n in v.split() if re.search(rf"\b{re.escape(n)}\b", text)]
        for k, v in NAMES.items()
    }
    alters: dict[str, Alter] = {
        "figure": swap_figure,
        "month": swap_month,
        "year": swap_year,
        "name": lambda s, c, r: swap_name(s, c, r, names),
        "negation": add_not,
        "role": swap_roles,
        "comparative": turn_round,
    }
    pool = [(c, s) for c in chunks for s in claims(c)]
    rng.shuffle(pool)
    count: dict[tuple[str, str], int] = defaultdict(int)
    for chunk, sentence in pool:
        h = half(chunk.source)
        if count["true", h] < per_kind:
            count["true", h] += 1
            yield "true", sentence, sentence, chunk
        for kind, alter in alters.items():
            if count[kind, h] >= per_kind:
                continue
            altered = alter(sentence, chunk, rng)
            if altered and altered != sentence:
                count[kind, h] += 1
                yield kind, sentence, altered, chunk
    yield from paraphrase_cases(chunks)


def paraphrase_cases(chunks: list[Chunk]) -> Iterator[tuple[str, str, str, Chunk]]:
    for line in PARAPHRASES.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        home = [
            c
            for c in chunks
            if c.source == row["source"] and row["sentence"] in c.text.replace("**", "")
        ]
        if not home:
            raise SystemExit(
                f"{PARAPHRASES}: sentence not found in {row['source']}: "
                f"{row['sentence'][:60]!r}; fix the data file"
            )
        yield "paraphrase", row["sentence"], row["paraphrase"], home[0]


def module_at(rev: str) -> ModuleType:
    """assistant/citing.py as it was at git revision ``rev``."""
    source = subprocess.run(
        ["git", "show", f"{rev}:assistant/citing.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / f"citing_{rev.replace('~', '_').replace('^', '_')}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def score(
    check: Callable[..., Any],
    rows: list[tuple[str, str, str, Chunk]],
    embedder: CachedEmbedder,
    show: int,
    label: str,
) -> dict[str, dict[str, float]]:
    tally: dict[tuple[str, str], list[str]] = defaultdict(list)
    shown: dict[str, int] = defaultdict(int)
    for kind, original, claim, chunk in rows:
        cited = f"{claim[:-1]} [1]{claim[-1]}" if claim[-1] in ".!?:" else f"{claim} [1]"
        result = check(cited, [chunk], embedder)
        sentences = result[2] if isinstance(result, tuple) else result.sentences  # older: a tuple
        support = sentences[0].support if len(sentences) == 1 else _joined(sentences)
        tally[kind, half(chunk.source)].append(support)
        good = support == "supported" if kind in ("true", "paraphrase") else support != "supported"
        if not good and shown[kind] < show:
            shown[kind] += 1
            reason = "; ".join(s.reason for s in sentences if s.reason)
            print(
                f"  [{label} miss {kind}] {claim}\n      was: {original}\n      -> {support}"
                f" {reason}"
            )
    out: dict[str, dict[str, float]] = {}
    for kind in KINDS:
        out[kind] = {}
        for h in ("A", "B"):
            marks = tally[kind, h]
            if marks:
                out[kind][h] = sum(m == "supported" for m in marks) / len(marks)
                out[kind][h + "_n"] = len(marks)
    return out


def _joined(sentences: list) -> str:
    supports = {s.support for s in sentences}
    return (
        "supported"
        if supports == {"supported"}
        else ("unsupported" if "unsupported" in supports else "weak")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-kind", type=int, default=80, help="cases of each kind per half")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--before", default="", help="also score citing.py at this git revision")
    parser.add_argument("--show", type=int, default=0, help="print this many misses per kind")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    chunks = corpus_chunks()
    rows = list(cases(chunks, args.per_kind, args.seed))
    embedder = CachedEmbedder(Embedder(Settings().embedding))
    results = {"now": score(check_answer, rows, embedder, args.show, "now")}
    if args.before:
        results[args.before] = score(
            module_at(args.before).check_answer, rows, embedder, args.show, args.before
        )
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{len(chunks)} passages; share marked 'supported' (halves A / B, cases in brackets)")
    header = f"{'kind':<12}" + "".join(f"{name:>26}" for name in results)
    print(header)
    for kind in KINDS:
        cells = []
        for res in results.values():
            r = res[kind]
            cells.append(
                f"{r.get('A', 0):.3f} / {r.get('B', 0):.3f} "
                f"({r.get('A_n', 0):.0f}/{r.get('B_n', 0):.0f})"
            )
        target = "  (>= 0.95)" if kind in ("true", "paraphrase") else "  (<= 0.05)"
        print(f"{kind:<12}" + "".join(f"{c:>26}" for c in cells) + target)


if __name__ == "__main__":
    main()
