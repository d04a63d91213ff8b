"""Loading: turn one source file (Markdown, text, HTML, Word, PDF) into a Document with sections.

HTML and Word files are rendered to Markdown (headings as ``#`` lines, table rows as
``| a | b |`` lines) and split by the same heading parser as Markdown files, so every format
gets the same heading-path citation locations.
"""

from __future__ import annotations

import codecs
import datetime as dt
import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import yaml

from assistant.errors import BadDocumentError
from assistant.records import Document, Section
from assistant.settings import CorpusSettings

SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".txt": "text", ".text": "text",
            ".html": "html", ".htm": "html", ".pdf": "pdf", ".docx": "docx"}  # fmt: skip
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*\r?\n", re.DOTALL)
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_FENCE = re.compile(r"^(```|~~~)")
_BOMS = [(codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF32_LE, "utf-32-le"),
         (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF16_LE, "utf-16-le"),
         (codecs.BOM_UTF16_BE, "utf-16-be")]  # fmt: skip
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([a-zA-Z0-9_:.-]+)""", re.I)
# What browsers actually decode these labels as (WHATWG Encoding Standard).
_CHARSET_ALIASES = {"iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252",
                    "us-ascii": "cp1252", "ascii": "cp1252", "gb2312": "gb18030",
                    "gbk": "gb18030", "x-gbk": "gb18030", "shift_jis": "cp932",
                    "sjis": "cp932", "euc-kr": "cp949", "tis-620": "cp874"}  # fmt: skip
_DOCX_EXPANSION = 20  # a .docx may unpack to this many times the file size limit


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
        raise BadDocumentError(rel, "unsupported file type", "use .md, .txt, .html, .docx or .pdf")
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
        raw = data if data is not None else path.read_bytes()
        if kind == "docx":
            return _docx(raw, rel, settings)
        text = decode_text(raw, rel, html=kind == "html")
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


def decode_text(data: bytes, rel: str, html: bool = False, declared: str = "") -> str:
    """Text in whatever encoding it was saved in: a byte-order mark, then the charset the
    server or the HTML declares, then UTF-8, then charset-normalizer's guess. Only content
    that decodes as no text at all is refused."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, errors="replace")
    if b"\x00" in data[:8192]:  # no text but UTF-16/32, which has a byte-order mark, holds NUL
        raise _binary(rel)
    labels = [declared] if declared else []
    if html:
        found = _META_CHARSET.search(data[:8192])
        labels += [found.group(1).decode("ascii")] if found else []
    for label in labels:  # declared: a stray bad byte in it is a flaw, not another encoding
        try:
            text = data.decode(_CHARSET_ALIASES.get(label.lower(), label), errors="replace")
        except LookupError:
            continue
        if text.count("\ufffd") <= len(data) // 1000:
            return text
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    guess = _guess_encoding(data)
    if guess is None:
        raise _binary(rel)
    return data.decode(guess, errors="replace")  # it was checked on samples of the text


def _binary(rel: str) -> BadDocumentError:
    return BadDocumentError(
        rel, "binary content, not text", "give the file the right extension or remove it"
    )


def _guess_encoding(data: bytes) -> str | None:
    """charset-normalizer's pick; on a tie, Windows-1252, the most common legacy encoding of
    the web (short Western texts read equally well as Central European cp1250)."""
    from charset_normalizer import from_bytes

    found = from_bytes(data)
    best = found.best()
    if best is None:
        return None
    tied = any(
        m.encoding == "cp1252" and m.chaos <= best.chaos and m.coherence >= best.coherence
        for m in found
    )
    return "cp1252" if tied else str(best.encoding)


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
    return _from_markdown(text.strip("\n"), rel, meta)


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
    body, meta = html_markdown(text)
    if not body.strip():
        raise BadDocumentError(rel, "no readable article text in the HTML", "save the page text")
    return _from_markdown(body, rel, meta)


def html_markdown(html: str, url: str = "") -> tuple[str, dict[str, Any]]:
    """The main text of a web page as Markdown, and its title, url, publisher, author and date.

    trafilatura finds the article and drops menus, footers and comments; each block of its
    output becomes one paragraph here, headings keep their level and a table keeps one row a line.
    """
    import trafilatura
    from trafilatura.settings import set_date_params
    from trafilatura.xml import xmltotxt

    found: Any = trafilatura.bare_extraction(
        html,
        url=url or None,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        # Dates from the page's markup only: on the shared pages, searching the text as well
        # found 3 more right dates but 2 more wrong ones, at nearly twice the time.
        date_extraction_params=set_date_params(extensive=False),
    )
    if found is None or found.body is None:
        return "", {}
    blocks = []
    for element in found.body:
        words = xmltotxt(element, False).strip()
        if element.tag == "head":
            words = " ".join(words.split())
            level = element.get("rend", "h2")[1:]
            words = "#" * (int(level) if level.isdigit() else 2) + " " + words if words else ""
        if words:
            blocks.append(words)
    meta = {"title": found.title, "url": found.url or url, "publisher": found.sitename,
            "author": found.author, "date": (found.date or "")[:10]}  # fmt: skip
    return "\n\n".join(blocks), _clean_meta({k: v for k, v in meta.items() if v})


def _from_markdown(body: str, rel: str, meta: dict[str, Any]) -> Document:
    sections = markdown_sections(body)
    first_heading = next((s.heading.split(" > ")[0] for s in sections if s.heading), "")
    title = str(meta.get("title") or first_heading or _stem_title(rel))
    return _document(rel, body, sections, meta, title)


def _docx(data: bytes, rel: str, settings: CorpusSettings) -> Document:
    """A Word file: paragraphs and tables in reading order, headings as sections."""
    import docx
    from docx.table import Table

    _check_unpacked_size(data, rel, settings.max_file_mb * _DOCX_EXPANSION)
    try:
        word = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises KeyError, ValueError, lxml errors, ...
        raise BadDocumentError(
            rel, f"the Word file is damaged or not a .docx ({type(exc).__name__})",
            "open it in Word or LibreOffice and save it again as .docx",
        ) from exc  # fmt: skip
    blocks = []
    for block in word.iter_inner_content():
        text = _table_rows(block) if isinstance(block, Table) else _docx_paragraph(block)
        if text:
            blocks.append(text)
    props = word.core_properties
    meta = _clean_meta({k: v for k, v in (("title", props.title), ("author", props.author)) if v})
    return _from_markdown("\n\n".join(blocks), rel, meta)


def _docx_paragraph(paragraph: Any) -> str:
    text = " ".join(paragraph.text.split())
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    level = 1 if style == "Title" else 0  # "Heading 1" sits under the title
    if style.startswith("Heading ") and style[8:].isdigit():
        level = min(int(style[8:]) + 1, 6)
    return f"{'#' * level} {text}" if level and text else text


def _table_rows(table: Any) -> str:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(cell.text.split())
            if not cells or text != cells[-1]:  # a merged cell repeats itself across its span
                cells.append(text)
        if any(cells):
            rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _check_unpacked_size(data: bytes, rel: str, limit_mb: float) -> None:
    try:
        unpacked = sum(info.file_size for info in zipfile.ZipFile(io.BytesIO(data)).infolist())
    except zipfile.BadZipFile as exc:
        raise BadDocumentError(
            rel, "the Word file is damaged or not a .docx (not a zip archive)",
            "open it in Word or LibreOffice and save it again as .docx",
        ) from exc  # fmt: skip
    if unpacked > limit_mb * 2**20:
        raise BadDocumentError(
            rel, f"the Word file unpacks to {unpacked / 2**20:.0f} MB, over {limit_mb:g} MB",
            "split it, or raise ASSISTANT_CORPUS__MAX_FILE_MB",
        )  # fmt: skip


def _load_pdf(path: Path, rel: str, settings: CorpusSettings) -> Document:
    """Pages with their numbers; a scanned PDF is OCR'd first when ocrmypdf is installed."""
    result = pdf_pages(path, rel, settings)
    if not result.get("scanned"):
        return _pdf_document(rel, result, ocr=False)
    ocrmypdf = shutil.which("ocrmypdf") if settings.ocr else None
    if ocrmypdf is None:
        raise BadDocumentError(rel, result["error"], result["hint"])
    with tempfile.TemporaryDirectory() as tmp:
        done = Path(tmp) / "ocr.pdf"
        _run_ocr([ocrmypdf, "--skip-text", "--quiet", str(path), str(done)], rel, settings)
        result = pdf_pages(done, rel, settings)
    if "error" in result:
        raise BadDocumentError(rel, f"OCR found no text ({result['error']})", result["hint"])
    return _pdf_document(rel, result, ocr=True)


def _run_ocr(cmd: list[str], rel: str, settings: CorpusSettings) -> None:
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=settings.ocr_timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise BadDocumentError(
            rel, f"OCR took longer than {settings.ocr_timeout_s:g} s and was stopped",
            "raise ASSISTANT_CORPUS__OCR_TIMEOUT_S, or OCR the file yourself and add the result",
        ) from exc  # fmt: skip
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise BadDocumentError(
            rel, f"OCR failed ({said[-1] if said else f'exit code {done.returncode}'})",
            "check that Tesseract is installed (apt-get install tesseract-ocr), or OCR the file "
            "yourself and add the result",
        )  # fmt: skip


def pdf_pages(path: Path, rel: str, settings: CorpusSettings) -> dict[str, Any]:
    """Parse in a separate process with time and memory limits, so a hostile PDF cannot hang
    or exhaust the indexer. Returns the worker's answer: pages and meta, or a scanned flag."""
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
        result: dict[str, Any] = json.loads(done.stdout.decode("utf-8") or "{}")
    except ValueError:
        result = {}
    if "error" in result and not result.get("scanned"):
        raise BadDocumentError(rel, result["error"], result.get("hint", ""))
    if done.returncode != 0 or not ("pages" in result or result.get("scanned")):
        raise BadDocumentError(
            rel,
            "the PDF parser ran out of memory or crashed",
            "check the file, or raise ASSISTANT_CORPUS__PDF_MEMORY_MB",
        )
    return result


def _pdf_document(rel: str, result: dict[str, Any], ocr: bool) -> Document:
    """One section a page. OCR'd pages say so in their location ("page 2 (OCR)"), since their
    text is a machine's reading of an image."""
    sections, offset = [], 0
    for number, page_text in enumerate(result["pages"], start=1):
        if page_text.strip():
            sections.append(
                Section(page_text, offset, f"page {number} (OCR)")
                if ocr
                else Section(page_text, offset, page=number)
            )
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
