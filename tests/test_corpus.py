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


# The corpus check (`assistant corpus check`): the same rules, reported for a person to fix.

from assistant.cli import main  # noqa: E402
from assistant.corpus_check import check_corpus  # noqa: E402

BRIEF = """---
title: "{slug}"
publisher: "Someone"
url: "https://example.org/{slug}"
date: {date}
topics: [{topics}]
accurate_as_of: {checked}
supersedes: [{supersedes}]
superseded_by: [{superseded_by}]
---

# {slug}

## Section
Text.
"""


def write_brief(folder: Path, slug: str, **fields: str) -> None:
    values = {"date": "2025-01-01", "checked": "2025-06-30", "topics": "export-controls",
              "supersedes": "", "superseded_by": ""} | fields  # fmt: skip
    (folder / "briefs").mkdir(parents=True, exist_ok=True)
    (folder / "briefs" / f"{slug}.md").write_text(BRIEF.format(slug=slug, **values))


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    (tmp_path / "TOPICS.txt").write_text("export-controls\ntalent\n")
    write_brief(tmp_path, "old-rule", superseded_by="new-rule")
    write_brief(tmp_path, "new-rule", date="2025-05-01", checked="2026-02-28",
                supersedes="old-rule")  # fmt: skip
    return tmp_path


def test_the_real_corpus_passes_the_check() -> None:
    report = check_corpus(REPO / "corpus", today=dt.date.today())
    assert report.ok, report.errors
    assert report.briefs == len(BRIEFS)


def test_a_consistent_corpus_reports_newest_fact_per_topic(corpus: Path) -> None:
    report = check_corpus(corpus)
    assert report.ok and report.briefs == 2
    by_topic = {c.topic: c for c in report.coverage}
    assert by_topic["export-controls"].briefs == 2
    assert by_topic["export-controls"].newest == dt.date(2026, 2, 28)
    assert by_topic["export-controls"].newest_brief == "new-rule"
    assert by_topic["talent"].briefs == 0 and by_topic["talent"].newest is None


def test_a_one_way_or_dangling_link_is_named(corpus: Path) -> None:
    write_brief(corpus, "old-rule", superseded_by="")
    write_brief(corpus, "orphan", supersedes="no-such-brief")
    errors = check_corpus(corpus).errors
    assert any("old-rule.md: lacks superseded_by: [new-rule]" in e for e in errors), errors
    assert any("orphan.md" in e and "'no-such-brief', which is not a brief" in e for e in errors)


def test_bad_dates_unknown_topics_and_missing_fields_are_reported(corpus: Path) -> None:
    write_brief(corpus, "backwards", date="2025-09-01", checked="2025-01-01")
    write_brief(corpus, "future", checked="2030-01-01")
    write_brief(corpus, "odd-topic", topics="astrology")
    (corpus / "briefs" / "bare.md").write_text("---\ntitle: Bare\n---\n\n# Bare\n")
    errors = " | ".join(check_corpus(corpus, today=dt.date(2026, 12, 1)).errors)
    assert "backwards.md: 'accurate_as_of' 2025-01-01 is before" in errors
    assert "future.md: 'accurate_as_of' 2030-01-01 is in the future" in errors
    assert "odd-topic.md: unknown topic 'astrology'" in errors
    assert "bare.md: missing or empty 'url'" in errors and "bare.md: missing 'supersedes'" in errors


def test_cli_exits_non_zero_on_problems_and_prints_json(
    corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["corpus", "check", "--corpus", str(corpus), "--json"]) == 0
    assert '"newest_accurate_as_of": "2026-02-28"' in capsys.readouterr().out
    write_brief(corpus, "new-rule", supersedes="")
    assert main(["corpus", "check", "--corpus", str(corpus)]) == 1
    assert "ERROR new-rule.md: lacks supersedes: [old-rule]" in capsys.readouterr().out


def test_cli_names_a_folder_that_is_not_a_corpus(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["corpus", "check", "--corpus", str(tmp_path)]) == 1
    assert "has no briefs/ folder" in capsys.readouterr().err
