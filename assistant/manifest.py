"""The index manifest: which file (by content hash) holds which chunks in which collection, and
which collection is live. SQLite, so every update is one transaction and survives a crash."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    collection TEXT NOT NULL, path TEXT NOT NULL, doc_hash TEXT NOT NULL, size INTEGER NOT NULL,
    title TEXT NOT NULL, n_chunks INTEGER NOT NULL, indexed_at REAL NOT NULL,
    PRIMARY KEY (collection, path));
CREATE TABLE IF NOT EXISTS chunks (
    collection TEXT NOT NULL, chunk_id TEXT NOT NULL, path TEXT NOT NULL,
    PRIMARY KEY (collection, chunk_id));
CREATE INDEX IF NOT EXISTS chunks_by_path ON chunks (collection, path);
CREATE TABLE IF NOT EXISTS stamps (
    collection TEXT NOT NULL, path TEXT NOT NULL, mtime_ns INTEGER NOT NULL,
    doc_hash TEXT NOT NULL, PRIMARY KEY (collection, path));
"""


@dataclass(frozen=True)
class FileEntry:
    path: str
    doc_hash: str
    size: int
    title: str
    n_chunks: int
    indexed_at: float
    mtime_ns: int = 0  # the file's mtime when its hash was last checked; 0: unknown


class Manifest:
    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "manifest.sqlite"
        self._local = threading.local()
        self._db.executescript(_SCHEMA)

    @property
    def _db(self) -> sqlite3.Connection:
        """One connection per thread: the server calls in from worker threads, sqlite3 refuses a
        connection made in another thread, and a transaction must not take in other threads'
        writes. WAL lets the readers run while the indexer writes."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            self._local.db = db
        return db

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def get(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM state WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set(self, **values: str) -> None:
        self._db.executemany(
            "INSERT INTO state(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            list(values.items()),
        )

    def unset(self, key: str) -> None:
        self._db.execute("DELETE FROM state WHERE key=?", (key,))

    def files(self, collection: str) -> dict[str, FileEntry]:
        # A stamp counts only for the hash it vouched for, so a row written by a version of this
        # code that kept no stamps can never pass for unchanged.
        rows = self._db.execute(
            "SELECT f.path, f.doc_hash, f.size, f.title, f.n_chunks, f.indexed_at, "
            "COALESCE(s.mtime_ns, 0) FROM files f LEFT JOIN stamps s ON s.collection=f.collection "
            "AND s.path=f.path AND s.doc_hash=f.doc_hash WHERE f.collection=?",
            (collection,),
        )
        return {row[0]: FileEntry(*row) for row in rows}

    def stamp(self, collection: str, path: str, mtime_ns: int, doc_hash: str) -> None:
        """Remember that ``path`` at ``mtime_ns`` had ``doc_hash``: it need not be read again."""
        self._db.execute(
            "INSERT OR REPLACE INTO stamps VALUES (?, ?, ?, ?)",
            (collection, path, mtime_ns, doc_hash),
        )

    def chunk_ids(self, collection: str, path: str) -> list[str]:
        rows = self._db.execute(
            "SELECT chunk_id FROM chunks WHERE collection=? AND path=?", (collection, path)
        )
        return [row[0] for row in rows]

    def record_file(self, collection: str, entry: FileEntry, chunk_ids: Iterable[str]) -> None:
        self.forget_file(collection, entry.path)
        self._db.execute(
            "INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                collection,
                entry.path,
                entry.doc_hash,
                entry.size,
                entry.title,
                entry.n_chunks,
                entry.indexed_at,
            ),
        )
        self._db.executemany(
            "INSERT OR REPLACE INTO chunks VALUES (?, ?, ?)",
            [(collection, cid, entry.path) for cid in chunk_ids],
        )
        if entry.mtime_ns:
            self.stamp(collection, entry.path, entry.mtime_ns, entry.doc_hash)

    def forget_file(self, collection: str, path: str) -> None:
        self._db.execute("DELETE FROM files WHERE collection=? AND path=?", (collection, path))
        self._db.execute("DELETE FROM chunks WHERE collection=? AND path=?", (collection, path))
        self._db.execute("DELETE FROM stamps WHERE collection=? AND path=?", (collection, path))

    def forget_collection(self, collection: str) -> None:
        self._db.execute("DELETE FROM files WHERE collection=?", (collection,))
        self._db.execute("DELETE FROM chunks WHERE collection=?", (collection,))
        self._db.execute("DELETE FROM stamps WHERE collection=?", (collection,))

    def counts(self, collection: str) -> tuple[int, int]:
        row = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(n_chunks), 0) FROM files WHERE collection=?",
            (collection,),
        ).fetchone()
        return int(row[0]), int(row[1])

    def bump_version(self) -> None:
        self.set(version=str(time.time_ns()))
