"""Loading: turn one source file (Markdown, text, HTML, PDF) into a Document with sections."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import yaml

from assistant.errors import BadDocumentError
from assistant.records import Document, Section
from assistant.settings import CorpusSettings

SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".txt": "text", ".text": "text",
            ".html": "html", ".htm": "html", ".pdf": "pdf"}  # fmt: skip
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*\r?\n", re.DOTALL)
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_FENCE = re.compile(r"^(```|~~~)")
_DROP_TAGS = ["script", "style", "nav", "header", "footer", "aside", "form", "noscript",
              "iframe", "svg", "button", "template"]  # fmt: skip
_BLOCK_TAGS = ["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "blockquote", "td",
               "th", "dd", "dt", "figcaption"]  # fmt: skip


def scan(root: Path, settings: CorpusSettings) -> list[Path]:
    """Every loadable file under ``root``, sorted, minus the excluded patterns."""
    found = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        parts = rel.split("/")
        if any(
            fnmatch(rel, pat) or any(fnmatch(p, pat) for p in parts) for pat in settings.exclude
        ):
            continue
        if path.is_file() and path.suffix.lower() in SUFFIXES:
            found.append(path)
    return found


def load(path: Path, root: Path, settings: CorpusSettings, data: bytes | None = None) -> Document:
    """Read one file (or parse ``data``, its bytes already read); raises BadDocumentError
    naming the reason and what to do."""
    rel = path.relative_to(root).as_posix()
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise BadDocumentError(rel, "unsupported file type", "use .md, .txt, .html or .pdf")
    try:
        size = len(data) if data is not None else path.stat().st_size
        if size == 0:
            raise BadDocumentError(rel, "the file is empty", "add text to it or remove it")
        if size > settings.max_file_mb * 1024 * 1024:
            raise BadDocumentError(
                rel,
                f"the file is {size / 2**20:.1f} MB, over the {settings.max_file_mb:g} MB limit",
                "split it, or raise ASSISTANT_CORPUS__MAX_FILE_MB",
            )
        if kind == "pdf":
            return _load_pdf(path, rel, settings)
        text = _decode(data if data is not None else path.read_bytes(), rel)
    except FileNotFoundError as exc:
        raise BadDocumentError(rel, "the file disappeared while indexing", "run again") from exc
    except PermissionError as exc:
        raise BadDocumentError(rel, "permission denied", "make the file readable") from exc
    if kind == "markdown":
        return _markdown(text, rel)
    if kind == "html":
        return _html(text, rel)
    body = text.strip("\n")
    return _document(rel, body, [Section(body, 0)], {}, _stem_title(rel))


def _decode(data: bytes, rel: str) -> str:
    if b"\x00" in data[:8192]:
        raise BadDocumentError(
            rel, "binary content, not text", "give the file the right extension or remove it"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadDocumentError(
            rel,
            f"the text is not UTF-8 (bad byte at position {exc.start})",
            "re-save the file as UTF-8",
        ) from exc


def _markdown(text: str, rel: str) -> Document:
    meta: dict[str, Any] = {}
    match = _FRONT_MATTER.match(text)
    if match:
        try:
            loaded = yaml.safe_load(match.group(1))
        except yaml.YAMLError as exc:
            raise BadDocumentError(rel, f"its front matter is not valid YAML ({exc})") from exc
        if not isinstance(loaded, dict):
            raise BadDocumentError(rel, "its front matter is not a key: value mapping")
        meta = _clean_meta(loaded)
        text = text[match.end() :]
    body = text.strip("\n")
    sections = markdown_sections(body)
    first_heading = next((s.heading.split(" > ")[0] for s in sections if s.heading), "")
    title = str(meta.get("title") or first_heading or _stem_title(rel))
    return _document(rel, body, sections, meta, title)


def markdown_sections(body: str) -> list[Section]:
    """Split Markdown on its headings, keeping each section's heading path and offset.

    Written here rather than with LangChain's MarkdownHeaderTextSplitter because that splitter
    rewrites line breaks, so offsets into the original text could not be recovered.
    """
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    start, heading, in_fence, pos = 0, "", False, 0
    for line in body.splitlines(keepends=True):
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line.rstrip("\r\n"))
        if match:
            _add_section(sections, body[start:pos], start, heading)
            level = len(match.group(1))
            path = [(lvl, name) for lvl, name in path if lvl < level] + [(level, match.group(2))]
            heading = " > ".join(name for _, name in path)
            start = pos
        pos += len(line)
    _add_section(sections, body[start:], start, heading)
    return sections


def _add_section(sections: list[Section], text: str, offset: int, heading: str) -> None:
    if text.strip():
        sections.append(Section(text, offset, heading))


def _html(text: str, rel: str) -> Document:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "lxml")
    meta = _html_meta(soup)
    for tag in soup(_DROP_TAGS):
        tag.decompose()
    root = soup.find("article") or soup.find("main") or soup.body or soup
    parts: list[str] = []
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    heading, sec_start, offset = "", 0, 0
    for el in root.find_all(_BLOCK_TAGS):
        if el.find(_BLOCK_TAGS):  # a container of blocks: its children are visited instead
            continue
        words = " ".join(el.get_text(" ").split())
        if not words:
            continue
        if el.name[0] == "h" and el.name[1:].isdigit():
            body_so_far = "".join(parts)
            _add_section(sections, body_so_far[sec_start:], sec_start, heading)
            level = int(el.name[1:])
            path = [(lvl, name) for lvl, name in path if lvl < level] + [(level, words)]
            heading, sec_start = " > ".join(n for _, n in path), offset
        piece = words + "\n\n"
        parts.append(piece)
        offset += len(piece)
    body = "".join(parts)
    _add_section(sections, body[sec_start:], sec_start, heading)
    if not body.strip():
        raise BadDocumentError(rel, "no readable article text in the HTML", "save the page text")
    title = str(meta.get("title") or (path[0][1] if path else "") or _stem_title(rel))
    return _document(rel, body, sections, meta, title)


def _html_meta(soup: Any) -> dict[str, Any]:
    def content(**attrs: str) -> str:
        tag = soup.find("meta", attrs=attrs)
        return str(tag.get("content", "")).strip() if tag else ""

    canonical = soup.find("link", rel="canonical")
    meta = {
        "title": content(property="og:title")
        or (soup.title.get_text(strip=True) if soup.title else ""),
        "url": content(property="og:url") or (str(canonical.get("href", "")) if canonical else ""),
        "publisher": content(property="og:site_name"),
        "date": content(property="article:published_time")[:10] or content(name="date")[:10],
    }
    return _clean_meta({k: v for k, v in meta.items() if v})


def _load_pdf(path: Path, rel: str, settings: CorpusSettings) -> Document:
    """Parse in a separate process with time and memory limits, so a hostile PDF cannot hang
    or exhaust the indexer."""
    cmd = [sys.executable, "-m", "assistant.pdf_worker", str(path), str(settings.pdf_memory_mb)]
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=settings.pdf_timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise BadDocumentError(
            rel,
            f"PDF parsing took longer than {settings.pdf_timeout_s:g} s and was stopped",
            "check the file, or raise ASSISTANT_CORPUS__PDF_TIMEOUT_S",
        ) from exc
    try:
        result = json.loads(done.stdout.decode("utf-8") or "{}")
    except ValueError:
        result = {}
    if "error" in result:
        raise BadDocumentError(rel, result["error"], result.get("hint", ""))
    if done.returncode != 0 or "pages" not in result:
        raise BadDocumentError(
            rel,
            "the PDF parser ran out of memory or crashed",
            "check the file, or raise ASSISTANT_CORPUS__PDF_MEMORY_MB",
        )
    sections, offset = [], 0
    for number, page_text in enumerate(result["pages"], start=1):
        if page_text.strip():
            sections.append(Section(page_text, offset, "", page=number))
        offset += len(page_text) + 2
    body = "\n\n".join(result["pages"])
    meta = _clean_meta(result.get("meta", {}))
    return _document(rel, body, sections, meta, str(meta.get("title") or _stem_title(rel)))


def _document(
    rel: str, body: str, sections: list[Section], meta: dict[str, Any], title: str
) -> Document:
    if not body.strip():
        raise BadDocumentError(rel, "no text in the file", "add text to it or remove it")
    return Document(path=rel, text=body, sections=sections, title=title.strip(), meta=meta)


def _clean_meta(raw: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, dt.datetime):
            value = value.date().isoformat()
        elif isinstance(value, dt.date):
            value = value.isoformat()
        elif key in ("topics", "supersedes", "superseded_by"):
            value = [str(v) for v in value] if isinstance(value, list) else [str(value)]
        elif value is not None and not isinstance(value, str | int | float | bool):
            value = str(value)
        meta[str(key)] = value
    return meta


def _stem_title(rel: str) -> str:
    return Path(rel).stem.replace("-", " ").replace("_", " ").strip().capitalize()


def iter_documents(
    paths: list[Path], root: Path, settings: CorpusSettings
) -> Iterator[Document | BadDocumentError]:
    for path in paths:
        try:
            yield load(path, root, settings)
        except BadDocumentError as exc:
            yield exc
