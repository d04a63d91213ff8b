"""The corpus check: every brief's front matter is complete, its dates are valid, its
supersedes / superseded_by links resolve in both directions, and how current each topic is."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from assistant.errors import ConfigError
from assistant.loading import _FRONT_MATTER

REQUIRED = ("title", "publisher", "url", "date", "topics", "accurate_as_of")
LINKS = ("supersedes", "superseded_by")


@dataclass(frozen=True)
class Coverage:
    """How many briefs a topic has and the newest date through which one of them was checked."""

    topic: str
    briefs: int
    newest: dt.date | None
    newest_brief: str

    def to_dict(self) -> dict[str, Any]:
        newest = self.newest.isoformat() if self.newest else None
        return {"topic": self.topic, "briefs": self.briefs, "newest_accurate_as_of": newest,
                "newest_brief": self.newest_brief}  # fmt: skip


@dataclass
class CorpusReport:
    folder: Path
    briefs: int = 0
    errors: list[str] = field(default_factory=list)
    coverage: list[Coverage] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {"folder": self.folder.as_posix(), "briefs": self.briefs, "ok": self.ok,
                "errors": self.errors, "topics": [c.to_dict() for c in self.coverage]}  # fmt: skip


def check_corpus(corpus: Path, today: dt.date | None = None) -> CorpusReport:
    """Check every ``briefs/*.md`` under ``corpus`` against ``TOPICS.txt`` and each other."""
    folder, topics_file = corpus / "briefs", corpus / "TOPICS.txt"
    if not folder.is_dir() or not topics_file.is_file():
        raise ConfigError(
            f"{corpus} has no briefs/ folder or no TOPICS.txt; "
            "point --corpus (ASSISTANT_CORPUS__PATH) at the curated corpus folder."
        )
    topics = topics_file.read_text(encoding="utf-8").split()
    report = CorpusReport(folder)
    metas: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.md")):
        meta, problems = _read(path)
        report.errors += [f"{path.name}: {p}" for p in problems]
        if meta is not None:
            report.errors += [f"{path.name}: {p}" for p in _fields(meta, topics, today)]
            metas[path.stem] = meta
    report.briefs = len(metas)
    report.errors += _links(metas)
    report.coverage = [_coverage(topic, metas) for topic in topics]
    return report


def _read(path: Path) -> tuple[dict[str, Any] | None, list[str]]:
    match = _FRONT_MATTER.match(path.read_text(encoding="utf-8"))
    if not match:
        return None, ["no front matter (a --- block at the top of the file)"]
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        return None, [f"front matter is not valid YAML ({' '.join(str(exc).split())})"]
    if not isinstance(meta, dict):
        return None, ["front matter is not a key: value mapping"]
    return meta, []


def _fields(meta: dict[str, Any], topics: list[str], today: dt.date | None) -> list[str]:
    problems = [f"missing or empty {key!r}" for key in REQUIRED if not meta.get(key)]
    problems += [f"missing {key!r} (use [] when there is none)" for key in LINKS if key not in meta]
    for key in LINKS:
        if key in meta and not isinstance(meta[key] or [], list):
            problems.append(f"{key!r} must be a list of brief slugs, like [other-brief]")
    listed = meta.get("topics") or []
    if not isinstance(listed, list):
        problems.append("'topics' must be a list, like [export-controls]")
    else:
        problems += [f"unknown topic {t!r} (not in TOPICS.txt)" for t in listed if t not in topics]
    dates = {key: meta.get(key) for key in ("date", "accurate_as_of")}
    bad = [k for k, v in dates.items() if v and not _is_date(v)]
    problems += [f"{k!r} is not an ISO date (YYYY-MM-DD): {dates[k]!r}" for k in bad]
    date, checked = dates["date"], dates["accurate_as_of"]
    if _is_date(date) and _is_date(checked) and date > checked:  # type: ignore[operator]
        problems.append(f"'accurate_as_of' {checked} is before the brief's 'date' {date}")
    if today and _is_date(checked) and checked > today:  # type: ignore[operator]
        problems.append(f"'accurate_as_of' {checked} is in the future (today is {today})")
    return problems


def _is_date(value: object) -> bool:
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


def _links(metas: dict[str, dict[str, Any]]) -> list[str]:
    problems = []
    for slug, meta in metas.items():
        for key, back in (("supersedes", "superseded_by"), ("superseded_by", "supersedes")):
            for other in _slugs(meta, key):
                if other == slug:
                    problems.append(f"{slug}.md: {key} names the brief itself")
                elif other not in metas:
                    problems.append(f"{slug}.md: {key} names {other!r}, which is not a brief")
                elif slug not in _slugs(metas[other], back):
                    problems.append(f"{other}.md: lacks {back}: [{slug}] (named by {slug}.md)")
    return problems


def _slugs(meta: dict[str, Any], key: str) -> list[str]:
    value = meta.get(key) or []
    return [str(v) for v in value] if isinstance(value, list) else []


def _coverage(topic: str, metas: dict[str, dict[str, Any]]) -> Coverage:
    members = {slug: m for slug, m in metas.items()
               if isinstance(m.get("topics"), list) and topic in m["topics"]}  # fmt: skip
    dated = [(m["accurate_as_of"], slug) for slug, m in members.items()
             if _is_date(m.get("accurate_as_of"))]  # fmt: skip
    if not dated:
        return Coverage(topic, len(members), None, "")
    newest, slug = max(dated)
    return Coverage(topic, len(members), newest, slug)


def render(report: CorpusReport) -> str:
    lines = [f"{report.briefs} briefs in {report.folder.as_posix()}", ""]
    lines.append(f"{'topic':24} {'briefs':>6}  newest accurate_as_of  (brief)")
    for c in report.coverage:
        newest = c.newest.isoformat() if c.newest else "-"
        lines.append(f"{c.topic:24} {c.briefs:>6}  {newest:21} ({c.newest_brief or 'none'})")
    lines.append("")
    if report.ok:
        lines.append("no problems found")
    else:
        lines += [f"ERROR {e}" for e in report.errors]
        lines.append(f"{len(report.errors)} problem(s); fix the front matter named above")
    return "\n".join(lines)
