"""Files added from the web page: checked (type, size, quota, where the browser's upload was
saved), copied into ``corpus/uploads`` and taken back when the index cannot hold them. The core
(``Assistant.add_uploads``) runs these around an index update."""

from __future__ import annotations

import math
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import UploadError
from assistant.fetching import FILES_FOLDER
from assistant.indexing import IndexReport

UPLOAD_SUFFIXES = (".md", ".txt", ".html", ".htm", ".pdf", ".docx")
MAX_UPLOAD_FILES = 20
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class UploadReport:
    """What became of the files (or links) added in one go, and the index update after them."""

    saved: list[str] = field(default_factory=list)  # corpus paths
    refused: list[str] = field(default_factory=list)  # one line each: the name and the reason
    index: IndexReport | None = None
    error: str = ""  # why the index update failed

    def outcomes(self) -> list[tuple[str, tuple[str, str]]]:
        """(corpus path, (ok | same | bad, what happened)) for each saved file."""
        return [
            (rel, outcome(rel, self.index) if self.index else ("bad", "not indexed"))
            for rel in self.saved
        ]


def save_uploads(
    files: Sequence[Any], corpus: Path, max_mb: float, quota_mb: float, uploads: Path | None
) -> tuple[list[Saved], list[str]]:
    """Save each uploaded file (a path, or an object with ``.path``); refusals as lines."""
    saved, refused = [], []
    for file in files:
        name = Path(str(file if isinstance(file, str) else getattr(file, "path", "")))
        try:
            saved.append(save_upload(name, corpus, max_mb, quota_mb, uploads))
        except UploadError as exc:
            refused.append(str(exc))
        except OSError as exc:
            refused.append(f"{name.name}: could not be saved ({exc.strerror}).")
    return saved, refused


def safe_name(name: str) -> str:
    """The base name of an upload with only safe characters; refuses other file types."""
    base = re.split(r"[\\/]", name)[-1]
    stem, dot, suffix = base.rpartition(".")
    kind = f".{suffix.lower()}" if dot else ""
    if kind not in UPLOAD_SUFFIXES:
        raise UploadError(f"{base}: only {', '.join(UPLOAD_SUFFIXES)} files can be added.")
    return (_UNSAFE_NAME.sub("-", stem).strip(".-_")[:80] or "document") + kind


def uploaded_file(path: str, folder: Path) -> Path:
    """``path`` when it names a regular file inside the web upload ``folder`` (where Gradio puts
    what a browser uploads), else UploadError. Only the name is checked: nothing is read, so a
    named pipe or a device cannot block the caller."""
    name = re.split(r"[\\/]", path)[-1][:80] or "the file"
    refused = UploadError(
        f"{name}: not a file uploaded to this server; choose it with the page's file picker."
    )
    try:
        real = Path(os.path.realpath(path))
        info = os.lstat(real)
    except (OSError, ValueError):
        raise refused from None
    if not real.is_relative_to(folder) or real == folder or not stat.S_ISREG(info.st_mode):
        raise refused
    return real


@dataclass
class Saved:
    """An upload copied into the corpus, and what it replaced (to restore if indexing fails)."""

    rel: str
    target: Path
    previous: bytes | None


def save_upload(
    source: Path,
    corpus: Path,
    max_mb: float,
    quota_mb: float = math.inf,
    uploads: Path | None = None,
) -> Saved:
    """Copy one uploaded file into ``corpus/uploads``, at most ``max_mb``, keeping all uploads
    within ``quota_mb``. With ``uploads``, the source must be a file uploaded to that folder."""
    if uploads is not None:
        source = uploaded_file(str(source), uploads)
    name = safe_name(source.name)
    root = corpus.resolve()
    folder = (root / FILES_FOLDER).resolve()
    target = (folder / name).resolve()
    if target.parent != folder or not folder.is_relative_to(root):
        raise UploadError(f"{name}: the uploads folder must be inside the corpus folder.")
    folder.mkdir(parents=True, exist_ok=True)
    previous = target.read_bytes() if target.is_file() else None
    room = quota_mb * 2**20 - _used(folder) + len(previous or b"")
    data = _read_upload(source, name, max_mb, room)
    target.write_bytes(data)
    return Saved(target.relative_to(root).as_posix(), target, previous)


def _used(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.iterdir() if f.is_file())


def _read_upload(source: Path, name: str, max_mb: float, room: float) -> bytes:
    """The bytes of a regular file, refused past the upload limit or the room left."""
    fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UploadError(f"{name}: not a regular file.")
        limit = min(max_mb * 2**20, room)
        data = handle.read(int(limit) + 1)
    if len(data) > max_mb * 2**20:
        raise UploadError(
            f"{name}: over the {max_mb:g} MB upload limit (ASSISTANT_WEB__MAX_UPLOAD_MB)."
        )
    if len(data) > room:
        raise UploadError(
            f"{name}: the uploads folder is full ({max(room, 0) / 2**20:.1f} MB left of the "
            "quota, ASSISTANT_WEB__UPLOADS_QUOTA_MB); ask the administrator for room."
        )
    return data


def discard(saved: Saved) -> None:
    """Undo one upload: its previous version back, or the file gone."""
    if saved.previous is None:
        saved.target.unlink(missing_ok=True)
    else:
        saved.target.write_bytes(saved.previous)


def kept(rel: str, report: IndexReport | None) -> bool:
    """Whether an upload stays in the corpus: only when the index holds it."""
    return report is not None and outcome(rel, report)[0] != "bad"


def outcome(rel: str, report: IndexReport) -> tuple[str, str]:
    """(css class, what happened) for one uploaded file in an index report."""
    failure = next((f for f in report.failed if f.path == rel), None)
    if failure:
        return "bad", f"failed: {failure.reason}" + (f" — {failure.hint}" if failure.hint else "")
    if rel in report.added or any(new == rel for _, new in report.renamed):
        return "ok", "added"
    if rel in report.changed:
        return "ok", "updated: the new version is indexed"
    twin = next((t for path, t in report.duplicates if path == rel), None)
    if twin:
        return "same", f"skipped: same content as {twin}"
    if rel in report.unchanged:
        return "same", "unchanged: already indexed"
    return "bad", "not indexed: the corpus settings exclude it"
