"""Chunking: split each section of a Document into passages with stable ids and offsets."""

from __future__ import annotations

import hashlib
import re

from langchain_text_splitters import RecursiveCharacterTextSplitter

from assistant.records import Chunk, Document, Section
from assistant.settings import ChunkingSettings

_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


def splitter(settings: ChunkingSettings) -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter(
        chunk_size=settings.chunk_size,
        chunk_overlap=min(settings.chunk_overlap, settings.chunk_size // 2),
        separators=["\n\n", "\n", ". ", "; ", ", ", " ", ""],
        keep_separator="end",
        add_start_index=True,
        strip_whitespace=True,
    )


def chunk_document(doc: Document, settings: ChunkingSettings, doc_hash: str = "") -> list[Chunk]:
    split = splitter(settings)
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    sections = [s for s in doc.sections if _holds_text(s)] or doc.sections
    for section in sections:
        for text, local in _pieces(split, section.text, settings.chunk_size // 3):
            start = section.offset + local
            key = f"{doc.path}\x00{section.heading}\x00{section.page}\x00{text}"
            seen[key] = seen.get(key, 0) + 1
            chunks.append(
                Chunk(
                    id=chunk_id(key, seen[key]),
                    text=text,
                    source=doc.path,
                    title=doc.title,
                    heading=section.heading,
                    page=section.page,
                    start=start,
                    end=start + len(text),
                    position=len(chunks),
                    url=str(doc.meta.get("url") or ""),
                    publisher=str(doc.meta.get("publisher") or ""),
                    date=iso_date(doc.meta.get("date")),
                    topics=tuple(doc.meta.get("topics") or ()),
                    doc_hash=doc_hash,
                    accurate_as_of=iso_date(doc.meta.get("accurate_as_of")),
                    superseded_by=tuple(str(s) for s in doc.meta.get("superseded_by") or ()),
                )
            )
    return chunks


def _holds_text(section: Section) -> bool:
    """False for a section with nothing under its heading (a title followed at once by a
    subheading): it holds no facts, and headings are embedded with every passage anyway."""
    heading = section.heading.rsplit(" > ", 1)[-1].strip()
    lines = (line.strip().lstrip("#").strip() for line in section.text.splitlines())
    return any(line and line != heading for line in lines)


def _pieces(
    split: RecursiveCharacterTextSplitter, text: str, min_length: int
) -> list[tuple[str, int]]:
    """The section's pieces with their offsets. A short piece joins its neighbour (a heading left
    alone by the splitter joins the text under it, a short last piece the one before), since a
    passage of a line or two ranks well on its heading alone but rarely holds an answer."""
    found: list[tuple[str, int]] = []
    for doc in split.create_documents([text]):
        piece, start = doc.page_content, int(doc.metadata.get("start_index", 0))
        if found and len(found[-1][0]) < min_length:
            begin = found[-1][1]
            found[-1] = (text[begin : start + len(piece)], begin)
        else:
            found.append((piece, start))
    if len(found) >= 2 and len(found[-1][0]) < min_length:
        (_, start), (last, last_start) = found[-2], found[-1]
        found[-2:] = [(text[start : last_start + len(last)], start)]
    return found


def chunk_id(key: str, occurrence: int) -> str:
    """The same text under the same heading of the same file gets the same id on every run."""
    return hashlib.sha256(f"{key}\x00{occurrence}".encode()).hexdigest()[:24]


def iso_date(value: object) -> str:
    match = _DATE.match(str(value or ""))
    return match.group(0) if match else ""


def embedding_text(chunk: Chunk) -> str:
    """What is embedded and BM25-indexed: the passage with its title and heading for context."""
    heading = chunk.heading or (f"page {chunk.page}" if chunk.page else "")
    return f"{chunk.title}. {heading}\n{chunk.text}" if heading else f"{chunk.title}.\n{chunk.text}"
