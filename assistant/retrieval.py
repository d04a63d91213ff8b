"""Retrieval: dense (Chroma) and BM25 (bm25s) rankings fused by reciprocal rank fusion, with a
per-document cap, metadata filters and a relevance floor."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.embedding import Embedder
from assistant.errors import IndexMissingError
from assistant.manifest import Manifest
from assistant.records import Chunk, Filters, Hit
from assistant.settings import RetrievalSettings, SearchMode
from assistant.store import Store, Where, from_metadata, to_metadata
from assistant.text import stems

if TYPE_CHECKING:
    from langchain_core.callbacks import CallbackManagerForRetrieverRun
    from langchain_core.retrievers import BaseRetriever

RRF_K = 60


@dataclass
class SearchResult:
    hits: list[Hit]
    relevant: bool  # False when nothing passed the relevance floor
    best_similarity: float | None = None

    def __iter__(self) -> Iterator[Hit]:
        return iter(self.hits)

    def __len__(self) -> int:
        return len(self.hits)

    def __getitem__(self, index: int) -> Hit:
        return self.hits[index]


FREQUENCIES = "stem-frequencies.json"


class _Lexical:
    """A BM25 index over every chunk of one collection version, built on first use and kept on
    disk beside the manifest, so a new process loads it instead of reading the whole store."""

    def __init__(self, chunks: list[Chunk], bm25: Any = None) -> None:
        import bm25s
        import Stemmer

        self.chunks = chunks
        self.stemmer = Stemmer.Stemmer("english")
        if bm25 is None:
            from assistant.chunking import embedding_text  # its text splitter is slow to import

            tokens = bm25s.tokenize(
                [embedding_text(c) for c in chunks], stopwords="en", stemmer=self.stemmer,
                show_progress=False,
            )  # fmt: skip
            bm25 = bm25s.BM25()
            bm25.index(tokens, show_progress=False)
        self.bm25 = bm25
        self.folder: Path | None = None
        self._frequencies: dict[str, int] | None = None

    @classmethod
    def load(cls, folder: Path) -> _Lexical | None:
        import bm25s

        try:
            bm25 = bm25s.BM25.load(str(folder), load_corpus=True, show_progress=False)
            rows = bm25.corpus
            found = cls([from_metadata(r["id"], r["text"], r["meta"]) for r in rows], bm25)
        except (OSError, ValueError, KeyError, TypeError):  # missing, pruned meanwhile, damaged
            return None
        found.folder = folder
        return found

    def frequencies(self) -> dict[str, int]:
        """In how many passages each word stem occurs; kept beside the index once counted, so a
        new process reads it instead of stemming every passage again."""
        if self._frequencies is not None:
            return self._frequencies
        path = self.folder / FREQUENCIES if self.folder else None
        try:
            loaded = json.loads(path.read_text(encoding="utf-8")) if path else None
        except (OSError, ValueError):
            loaded = None
        if isinstance(loaded, dict):
            self._frequencies = loaded
            return loaded
        counts: dict[str, int] = {}
        for chunk in self.chunks:
            for word in stems(chunk.text):
                counts[word] = counts.get(word, 0) + 1
        self._frequencies = counts
        if path:
            with contextlib.suppress(OSError):
                staged = path.with_suffix(".partial")
                staged.write_text(json.dumps(counts), encoding="utf-8")
                os.replace(staged, path)
        return counts

    def save(self, folder: Path) -> None:
        """Written beside and renamed into place: a reader never sees half of it. Best effort,
        since the index can always be built again from the store."""
        rows = [{"id": c.id, "text": c.text, "meta": to_metadata(c)} for c in self.chunks]
        try:
            folder.parent.mkdir(parents=True, exist_ok=True)
            staged = tempfile.mkdtemp(dir=folder.parent, prefix=".partial-")
            try:
                self.bm25.save(
                    staged, corpus=rows, show_progress=False, raise_on_serialization_error=True
                )
                os.rename(staged, folder)  # refused when another process was first: fine
                self.folder = folder
            finally:
                shutil.rmtree(staged, ignore_errors=True)
            for old in folder.parent.iterdir():  # earlier versions are of no further use
                if old != folder and not old.name.startswith("."):
                    shutil.rmtree(old, ignore_errors=True)
        except (OSError, TypeError):
            pass

    def rank(self, query: str, n: int, filters: Filters) -> list[tuple[Chunk, float]]:
        import bm25s
        import numpy as np

        tokens = bm25s.tokenize([query], stopwords="en", stemmer=self.stemmer, show_progress=False)
        ids = tokens.ids[0] if tokens.ids else []
        if not len(ids) or not self.chunks:
            return []
        vocab = {v: k for k, v in tokens.vocab.items()}
        scores = self.bm25.get_scores([vocab[i] for i in ids])
        # Sort only the best candidates; all of them only when filters reject too many.
        top = min(len(scores), n * 10)
        best = np.argpartition(-scores, top - 1)[:top]
        found = self._take(best[np.argsort(-scores[best])], scores, n, filters)
        if len(found) < n and top < len(scores):
            found = self._take(np.argsort(-scores), scores, n, filters)
        return found

    def _take(self, order: Any, scores: Any, n: int, filters: Filters) -> list[tuple[Chunk, float]]:
        found: list[tuple[Chunk, float]] = []
        for i in order:
            if scores[i] <= 0 or len(found) >= n:
                break
            chunk = self.chunks[int(i)]
            if filters.accepts(chunk):
                found.append((chunk, float(scores[i])))
        return found


class Retriever:
    def __init__(
        self, settings: RetrievalSettings, store: Store, manifest: Manifest, embedder: Embedder
    ) -> None:
        self.settings = settings
        self.store = store
        self.manifest = manifest
        self.embedder = embedder
        self._lexical: tuple[str, _Lexical] | None = None
        self._lock = threading.Lock()

    def collection(self) -> str:
        active = self.manifest.get("active")
        if not active:
            raise IndexMissingError(str(self.store.where))
        return active

    def search(
        self,
        query: str,
        k: int | None = None,
        filters: Filters | None = None,
        mode: SearchMode | None = None,
        per_document: int | None = None,
    ) -> SearchResult:
        k = k or self.settings.k
        filters = filters or self.settings.default_filters()
        mode = mode or self.settings.mode
        cap = per_document or self.settings.per_document
        name = self.collection()
        n = max(self.settings.candidates, k * 4)
        dense = self._dense(name, query, n, filters) if mode != "bm25" else []
        lexical = self._bm25(name, query, n, filters) if mode != "dense" else []
        best = max((s for _, s in dense), default=None)
        if mode != "bm25" and (best is None or best < self.settings.min_similarity):
            return SearchResult([], relevant=False, best_similarity=best)
        if mode == "bm25" and not lexical:
            return SearchResult([], relevant=False)
        hits = fuse(dense, lexical)
        return SearchResult(cap_per_document(hits, cap)[:k], relevant=True, best_similarity=best)

    def _dense(self, name: str, query: str, n: int, filters: Filters) -> list[tuple[Chunk, float]]:
        vector = self.embedder.embed_query(query)
        if not filters:
            return self.store.query(name, vector, n)
        # Chroma's filtered search is slow on large collections (about 0.3 s at 100k chunks), so
        # filter a wider unfiltered search first. Its first n matches are the true top n; only
        # a filter too narrow to fill them needs Chroma's own filtered search.
        wide = [(c, s) for c, s in self.store.query(name, vector, n * 5) if filters.accepts(c)]
        if len(wide) >= n:
            return wide[:n]
        found = self.store.query(name, vector, n, chroma_where(filters))
        return [(c, s) for c, s in found if filters.accepts(c)]

    def _bm25(self, name: str, query: str, n: int, filters: Filters) -> list[tuple[Chunk, float]]:
        return self.lexical(name).rank(query, n, filters)

    def lexical(self, name: str) -> _Lexical:
        # The version changes in the same transaction as every write, so it names the contents.
        key = f"{name}@{self.manifest.get('version')}"
        with self._lock:
            if self._lexical is None or self._lexical[0] != key:
                folder = self.manifest.path.parent / "bm25" / key
                found = _Lexical.load(folder)
                if found is None:
                    found = _Lexical(list(self.store.scan(name)))
                    found.save(folder)
                self._lexical = (key, found)
            return self._lexical[1]


def fuse(dense: list[tuple[Chunk, float]], lexical: list[tuple[Chunk, float]]) -> list[Hit]:
    """Reciprocal rank fusion; each hit keeps both scores and both ranks."""
    hits: dict[str, Hit] = {}
    for rank, (chunk, sim) in enumerate(dense, start=1):
        hits[chunk.id] = Hit(chunk, 1.0 / (RRF_K + rank), similarity=sim, dense_rank=rank)
    for rank, (chunk, score) in enumerate(lexical, start=1):
        prior = hits.get(chunk.id) or Hit(chunk, 0.0)
        hits[chunk.id] = replace(
            prior, score=prior.score + 1.0 / (RRF_K + rank), bm25=score, bm25_rank=rank
        )
    return sorted(hits.values(), key=lambda h: -h.score)


def cap_per_document(hits: list[Hit], cap: int) -> list[Hit]:
    """At most ``cap`` passages per document, so one source cannot fill every slot."""
    counts: dict[str, int] = {}
    kept = []
    for hit in hits:
        counts[hit.chunk.source] = counts.get(hit.chunk.source, 0) + 1
        if counts[hit.chunk.source] <= cap:
            kept.append(hit)
    return kept


def chroma_where(filters: Filters) -> Where | None:
    parts: list[dict[str, Any]] = []
    exact_sources = [s for s in filters.sources if not s.endswith("/")]
    if exact_sources and len(exact_sources) == len(filters.sources):
        parts.append({"source": {"$in": exact_sources}})
    if filters.publishers:
        parts.append({"publisher": {"$in": list(filters.publishers)}})
    if filters.topics:
        topic_parts = [{f"topic:{t}": True} for t in filters.topics]
        parts.append(topic_parts[0] if len(topic_parts) == 1 else {"$or": topic_parts})
    if filters.since:
        parts.append({"date_num": {"$gte": int(filters.since.replace("-", ""))}})
    if filters.until:
        parts.append({"date_num": {"$lte": int(filters.until.replace("-", ""))}})
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"$and": parts}


def __getattr__(name: str) -> Any:
    if name == "AssistantRetriever":
        return langchain_retriever()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@cache
def langchain_retriever() -> Callable[..., BaseRetriever]:
    """The class ``AssistantRetriever``, made on first use: LangChain's retriever module takes
    longer to import (about 0.4 s) than a whole search, and only LangChain users need it."""
    from langchain_core.documents import Document
    from langchain_core.retrievers import BaseRetriever

    class AssistantRetriever(BaseRetriever):
        """Our hybrid retrieval as a LangChain retriever: drops into any LangChain chain.

        Each Document carries the chunk's citation metadata plus both scores and both ranks.
        """

        assistant: Any
        k: int = 6
        filters: Filters | None = None
        mode: SearchMode | None = None

        def _get_relevant_documents(
            self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
        ) -> list[Document]:
            k = int(kwargs.get("k", self.k))
            result = self.assistant.search(query, k=k, filters=self.filters, mode=self.mode)
            return [
                Document(
                    page_content=hit.chunk.text,
                    id=hit.chunk.id,
                    metadata={
                        k: v for k, v in hit.to_dict().items() if k != "text" and v is not None
                    },
                )
                for hit in result.hits
            ]

    AssistantRetriever.__module__ = __name__
    return AssistantRetriever
