"""The curated corpus: every brief parses and has complete, valid front matter."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

BRIEFS = sorted((REPO / "corpus" / "briefs").glob("*.md"))
TOPICS = set((REPO / "corpus" / "TOPICS.txt").read_text().split())
KEYS = {
    "title",
    "publisher",
    "url",
    "date",
    "topics",
    "accurate_as_of",
    "supersedes",
    "superseded_by",
}
FRONT = re.compile(r"\A---\n(.*?)\n---\n(.*)\Z", re.DOTALL)


def parse(path: Path) -> tuple[dict[str, object], str]:
    match = FRONT.match(path.read_text(encoding="utf-8"))
    assert match, f"{path.name}: no front matter"
    meta = yaml.safe_load(match.group(1))
    assert isinstance(meta, dict), f"{path.name}: front matter is not a mapping"
    return meta, match.group(2)


def test_there_are_at_least_sixty_briefs() -> None:
    assert len(BRIEFS) >= 60


@pytest.mark.parametrize("path", BRIEFS, ids=[p.stem for p in BRIEFS])
def test_brief_front_matter_is_complete_and_valid(path: Path) -> None:
    meta, body = parse(path)
    assert set(meta) >= KEYS, f"missing {KEYS - set(meta)}"
    assert re.match(r"https?://[^/\s]+\.[a-z]{2,}", str(meta["url"])), meta["url"]
    for key in ("date", "accurate_as_of"):
        assert isinstance(meta[key], dt.date), f"{key} is not an ISO date"
    assert meta["date"] <= meta["accurate_as_of"] <= dt.date(2026, 11, 27)  # type: ignore[operator]
    topics = meta["topics"]
    assert isinstance(topics, list) and topics and set(topics) <= TOPICS, topics
    words = len(body.split())
    assert 300 <= words <= 1500, f"{words} words"
    assert body.lstrip().startswith("# ") and "\n## " in body


def test_no_duplicated_briefs() -> None:
    titles = [parse(p)[0]["title"] for p in BRIEFS]
    assert len(titles) == len(set(titles))
    bodies = [" ".join(parse(p)[1].split()) for p in BRIEFS]
    assert len(bodies) == len(set(bodies))


def test_supersedes_links_resolve_both_ways() -> None:
    metas = {p.stem: parse(p)[0] for p in BRIEFS}
    for slug, meta in metas.items():
        for other in meta["supersedes"] or []:  # type: ignore[attr-defined]
            assert other in metas, f"{slug} supersedes unknown {other}"
            assert slug in (metas[other]["superseded_by"] or []), f"{other} lacks superseded_by"
        for other in meta["superseded_by"] or []:  # type: ignore[attr-defined]
            assert other in metas, f"{slug} superseded_by unknown {other}"
            assert slug in (metas[other]["supersedes"] or []), f"{other} lacks supersedes"
