"""Indexing: bring the live collection up to date with the corpus folder, incrementally.

Every step is idempotent (upserts by stable id, deletes by id, manifest rows committed after the
store writes), so a run killed at any point is completed by the next one without duplicates.
A new embedding model or new chunking settings build a new collection beside the live one; the
switch is one manifest transaction.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.errors import BadDocumentError, ConfigError
from assistant.loading import load, scan
from assistant.manifest import FileEntry, Manifest
from assistant.records import Chunk
from assistant.settings import Settings

if TYPE_CHECKING:  # a run with nothing to do needs neither the store nor the embedder
    from assistant.embedding import Embedder
    from assistant.store import Store

EXIT_OK, EXIT_PARTIAL, EXIT_EMPTY = 0, 3, 4
_FLUSH_CHUNKS = 256
# A file written this recently may change again within its mtime's resolution (whole seconds on
# some file systems) without its mtime moving, so its stamp is not kept and it is hashed again.
_RACY_NS = 2_000_000_000


@dataclass
class Failure:
    path: str
    reason: str
    hint: str = ""


@dataclass
class IndexReport:
    collection: str = ""
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    chunks_embedded: int = 0
    chunks_reused: int = 0
    documents: int = 0
    chunks: int = 0
    seconds: float = 0.0
    switched_from: str | None = None

    @property
    def exit_code(self) -> int:
        if self.chunks == 0:
            return EXIT_EMPTY
        return EXIT_PARTIAL if self.failed else EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["exit_code"] = self.exit_code
        return data


@dataclass(frozen=True)
class Progress:
    files_done: int
    files_total: int
    chunks_done: int
    path: str


ProgressFn = Callable[[Progress], None]


def build_key(settings: Settings, embedder_name: str) -> str:
    # v4: chunks carry accurate_as_of and superseded_by, which older indexes lack
    spec = f"{embedder_name}|{settings.chunking.chunk_size}|{settings.chunking.chunk_overlap}|v4"
    return hashlib.sha256(spec.encode()).hexdigest()[:12]


def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stamp_of(stat: os.stat_result) -> int:
    """The mtime worth remembering for a file, or 0 when it was written too recently to trust."""
    return stat.st_mtime_ns if time.time_ns() - stat.st_mtime_ns > _RACY_NS else 0


def is_unchanged(entry: FileEntry, stat: os.stat_result) -> bool:
    """Same size and mtime as when its hash was last checked: the bytes need not be read."""
    return bool(entry.mtime_ns) and (entry.size, entry.mtime_ns) == (
        stat.st_size,
        stat.st_mtime_ns,
    )


class Indexer:
    """Brings one index up to date. The store is opened, and the embedder loaded, only when a
    file needs writing: a run that finds nothing changed costs a stat per file."""

    def __init__(
        self,
        settings: Settings,
        open_store: Callable[[], Store],
        manifest: Manifest,
        embedder: Embedder,
    ):
        self.settings = settings
        self._open_store = open_store
        self.manifest = manifest
        self.embedder = embedder

    @cached_property
    def store(self) -> Store:
        return self._open_store()

    def run(
        self, corpus: Path | None = None, rebuild: bool = False, progress: ProgressFn | None = None
    ) -> IndexReport:
        began = time.monotonic()
        root = corpus or self.settings.corpus.path
        if not root.is_dir():
            raise ConfigError(
                f"The corpus folder {root} does not exist. Create it and add documents, or "
                "point to one with --corpus DIR (ASSISTANT_CORPUS__PATH)."
            )
        target, previous = self._target(rebuild)
        report = IndexReport(collection=target)
        if target != previous:
            self.store.collection(target, create=True)
        run = _Run(self, root, target, report, progress)
        run.execute()
        if target != previous:
            with self.manifest.transaction():
                self.manifest.set(active=target, model=self.embedder.name, built_at=_now())
                self.manifest.set(settings=_settings_text(self.settings))
                self.manifest.unset("building")
                self.manifest.bump_version()
            if previous:
                self.store.drop(previous)
                with self.manifest.transaction():
                    self.manifest.forget_collection(previous)
                report.switched_from = previous
        else:
            self.manifest.set(built_at=_now())
        report.documents, report.chunks = self.manifest.counts(target)
        report.seconds = round(time.monotonic() - began, 3)
        return report

    def _target(self, rebuild: bool) -> tuple[str, str | None]:
        """The collection to write, and the live one (None before the first build)."""
        key = build_key(self.settings, self.embedder.name)
        active = self.manifest.get("active")
        building = self.manifest.get("building")
        if active and active.startswith(f"chunks-{key}-") and not rebuild:
            return active, active
        if building and building.startswith(f"chunks-{key}-") and not rebuild:
            return building, active  # resume a build that was interrupted
        if building:
            self.store.drop(building)
            with self.manifest.transaction():
                self.manifest.forget_collection(building)
        name = f"chunks-{key}-{time.strftime('%Y%m%d%H%M%S')}"
        self.manifest.set(building=name)
        return name, active


class _Run:
    """One pass over the corpus; holds the pending batch of documents to embed."""

    def __init__(
        self,
        indexer: Indexer,
        root: Path,
        target: str,
        report: IndexReport,
        progress: ProgressFn | None,
    ) -> None:
        self.ix = indexer
        self.root = root
        self.target = target
        self.report = report
        self.progress = progress
        # Per file waiting to be written: its manifest row, its chunks, the path it was renamed
        # from (if any) and the chunk ids it replaces.
        self.pending: list[tuple[FileEntry, list[Chunk], str | None, list[str]]] = []
        self.pending_chunks = 0
        self.files_done = 0

    def execute(self) -> None:
        ix, report = self.ix, self.report
        known = ix.manifest.files(self.target)
        paths = scan(self.root, ix.settings.corpus)
        seen_hashes: dict[str, str] = {}
        touched: list[tuple[str, int, str]] = []  # same bytes as indexed, new mtime
        on_disk = {p.relative_to(self.root).as_posix() for p in paths}
        gone_by_hash = {e.doc_hash: e for p, e in known.items() if p not in on_disk}
        for entry in known.values():
            if entry.path in on_disk:
                seen_hashes.setdefault(entry.doc_hash, entry.path)
        for path in paths:
            rel = path.relative_to(self.root).as_posix()
            self._tick(rel, len(paths))
            old = known.get(rel)
            try:
                stat = path.stat()  # before reading: a write after it moves the mtime on
                if old and is_unchanged(old, stat):
                    report.unchanged.append(rel)
                    continue
                data = path.read_bytes()
            except OSError:
                report.failed.append(
                    Failure(rel, "the file disappeared while indexing", "run again")
                )
                continue
            digest = file_hash(data)
            mtime = stamp_of(stat)
            if old and old.doc_hash == digest:
                report.unchanged.append(rel)
                if mtime:
                    touched.append((rel, mtime, digest))
                continue
            twin = seen_hashes.get(digest)
            if twin and twin != rel:
                report.duplicates.append((rel, twin))
                continue
            seen_hashes[digest] = rel
            moved = gone_by_hash.pop(digest, None) if not old else None
            self._load(path, rel, data, (digest, mtime), old, moved)
        self._flush()
        if touched:
            with ix.manifest.transaction():
                for rel, mtime, digest in touched:
                    ix.manifest.stamp(self.target, rel, mtime, digest)
        renamed = {old_path for old_path, _ in report.renamed}
        for gone in sorted(set(known) - on_disk - renamed):
            self._remove(gone)
            report.removed.append(gone)

    def _tick(self, rel: str, total: int) -> None:
        self.files_done += 1
        if self.progress:
            self.progress(Progress(self.files_done, total, self.report.chunks_embedded, rel))

    def _load(
        self,
        path: Path,
        rel: str,
        data: bytes,
        version: tuple[str, int],
        old: FileEntry | None,
        moved: FileEntry | None,
    ) -> None:
        from assistant.chunking import chunk_document

        ix = self.ix
        digest, mtime = version
        try:
            doc = load(path, self.root, ix.settings.corpus, data)
        except BadDocumentError as exc:
            self.report.failed.append(Failure(rel, exc.reason, exc.hint))
            return
        chunks = chunk_document(doc, ix.settings.chunking, digest)
        previous = moved or old
        replaced = ix.manifest.chunk_ids(self.target, previous.path) if previous else []
        if moved:
            self.report.renamed.append((moved.path, rel))
        elif old:
            self.report.changed.append(rel)
        else:
            self.report.added.append(rel)
        entry = FileEntry(rel, digest, len(data), doc.title, len(chunks), time.time(), mtime)
        self.pending.append((entry, chunks, moved.path if moved else None, replaced))
        self.pending_chunks += len(chunks)
        if self.pending_chunks >= _FLUSH_CHUNKS:
            self._flush()

    def _flush(self) -> None:
        """Embed what is new, reuse vectors of unchanged passages, write, then commit the rows."""
        if not self.pending:
            return
        from assistant.chunking import embedding_text

        ix = self.ix
        old_ids = [cid for *_, replaced in self.pending for cid in replaced]
        # Keyed by heading and passage, not by file name, so a renamed file is not re-embedded.
        reusable = {
            (chunk.heading, chunk.text): vec
            for chunk, vec in ix.store.passages(self.target, old_ids).values()
        }
        chunks = [c for _, cs, _, _ in self.pending for c in cs]
        keys = [(c.heading, c.text) for c in chunks]
        todo = {
            k: embedding_text(c) for k, c in zip(keys, chunks, strict=True) if k not in reusable
        }
        fresh = dict(zip(todo, ix.embedder.embed_documents(list(todo.values())), strict=True))
        vectors = [reusable.get(k) or fresh[k] for k in keys]
        self.report.chunks_embedded += len(todo)
        self.report.chunks_reused += len(chunks) - len(todo)
        ix.store.upsert(self.target, chunks, vectors)
        keep = {c.id for c in chunks}
        ix.store.delete(self.target, [cid for cid in old_ids if cid not in keep])
        with ix.manifest.transaction():
            ix.manifest.bump_version()  # with the rows: a crash before them redoes the writes
            for entry, cs, moved_from, _ in self.pending:
                if moved_from:
                    ix.manifest.forget_file(self.target, moved_from)
                ix.manifest.record_file(self.target, entry, [c.id for c in cs])
        self.pending, self.pending_chunks = [], 0

    def _remove(self, path: str) -> None:
        ix = self.ix
        ix.store.delete(self.target, ix.manifest.chunk_ids(self.target, path))
        with ix.manifest.transaction():
            ix.manifest.bump_version()
            ix.manifest.forget_file(self.target, path)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _settings_text(settings: Settings) -> str:
    c = settings.chunking
    return f"chunk_size={c.chunk_size}, chunk_overlap={c.chunk_overlap}"
