"""The vector store: Chroma, embedded on disk or as a server, behind one class."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlparse

from assistant.errors import ConfigError, IndexMissingError
from assistant.offline import go_offline
from assistant.records import Chunk
from assistant.settings import IndexSettings

Where = dict[str, Any]


class Store:
    """``client``: a Chroma client built elsewhere (``chromadb.EphemeralClient()`` keeps the
    index in memory, for tests); otherwise the settings say which one to open."""

    def __init__(self, settings: IndexSettings, client: Any | None = None) -> None:
        self._collections: dict[str, Any] = {}
        self.ef_search = settings.ef_search
        if client is not None:
            self.client: Any = client
            self.where = f"an in-memory Chroma ({type(client).__name__})"
            return
        go_offline()
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        self.where = settings.chroma_url or str(settings.path / "chroma")
        if settings.chroma_url:
            url = urlparse(settings.chroma_url)
            if url.scheme not in ("http", "https") or not url.hostname:
                raise ConfigError(
                    f"ASSISTANT_INDEX__CHROMA_URL={settings.chroma_url!r} is not an http(s) URL; "
                    "use the form http://127.0.0.1:8000"
                )
            try:
                self.client = chromadb.HttpClient(
                    host=url.hostname,
                    port=url.port or (443 if url.scheme == "https" else 80),
                    ssl=url.scheme == "https",
                    settings=chroma_settings,
                )
                self.client.heartbeat()
            except Exception as exc:  # the client raises several unrelated types
                raise ConfigError(
                    f"Cannot reach the Chroma server at {settings.chroma_url} ({exc}). Start it "
                    "(`chroma run --path DIR --port N`) or unset ASSISTANT_INDEX__CHROMA_URL."
                ) from exc
        else:
            settings.path.mkdir(parents=True, exist_ok=True)
            self.client = chromadb.PersistentClient(path=self.where, settings=chroma_settings)

    @property
    def max_batch(self) -> int:
        getter = getattr(self.client, "get_max_batch_size", None)
        return int(getter() if getter else self.client.max_batch_size)

    def collection(self, name: str, create: bool = False) -> Any:
        if name not in self._collections:
            if create:
                found = self.client.get_or_create_collection(
                    name, metadata={"hnsw:space": "cosine"}
                )
            else:
                try:
                    found = self.client.get_collection(name)
                except Exception as exc:  # NotFoundError differs between client kinds
                    raise IndexMissingError(f"{self.where} (collection {name})") from exc
            self._collections[name] = _searching_wide(found, self.ef_search)
        return self._collections[name]

    def names(self) -> list[str]:
        return [c if isinstance(c, str) else c.name for c in self.client.list_collections()]

    def drop(self, name: str) -> None:
        self._collections.pop(name, None)
        if name in self.names():
            self.client.delete_collection(name)

    def upsert(
        self, name: str, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]]
    ) -> None:
        col = self.collection(name, create=True)
        step = self.max_batch
        for i in range(0, len(chunks), step):
            part = chunks[i : i + step]
            col.upsert(
                ids=[c.id for c in part],
                embeddings=[list(v) for v in vectors[i : i + step]],
                documents=[c.text for c in part],
                metadatas=[to_metadata(c) for c in part],
            )

    def delete(self, name: str, ids: Sequence[str]) -> None:
        col = self.collection(name, create=True)
        step = self.max_batch
        for i in range(0, len(ids), step):
            col.delete(ids=list(ids[i : i + step]))

    def passages(self, name: str, ids: Sequence[str]) -> dict[str, tuple[Chunk, list[float]]]:
        """The stored passages and their vectors, read in batches the client accepts."""
        col = self.collection(name, create=True)
        found: dict[str, tuple[Chunk, list[float]]] = {}
        step = self.max_batch
        for i in range(0, len(ids), step):
            got = col.get(
                ids=list(ids[i : i + step]), include=["embeddings", "documents", "metadatas"]
            )
            rows = zip(
                got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True
            )
            for cid, doc, meta, vec in rows:
                found[cid] = (from_metadata(cid, doc, meta), [float(x) for x in vec])
        return found

    def count(self, name: str) -> int:
        return int(self.collection(name).count())

    def query(
        self, name: str, vector: Sequence[float], k: int, where: Where | None = None
    ) -> list[tuple[Chunk, float]]:
        col = self.collection(name)
        got = col.query(  # asking for more than the collection holds returns what there is
            query_embeddings=[list(vector)],
            n_results=k,
            where=where or None,
            include=["documents", "metadatas", "distances"],
        )
        rows = zip(
            got["ids"][0],
            got["documents"][0],
            got["metadatas"][0],
            got["distances"][0],
            strict=True,
        )
        return [(from_metadata(cid, doc, meta), 1.0 - float(dist)) for cid, doc, meta, dist in rows]

    def scan(self, name: str, page: int = 5000) -> Iterator[Chunk]:
        col = self.collection(name)
        offset = 0
        while True:
            got = col.get(include=["documents", "metadatas"], limit=page, offset=offset)
            if not got["ids"]:
                return
            for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                yield from_metadata(cid, doc, meta)
            offset += len(got["ids"])


def to_metadata(chunk: Chunk) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "source": chunk.source,
        "title": chunk.title,
        "heading": chunk.heading,
        "page": chunk.page if chunk.page is not None else -1,
        "start": chunk.start,
        "end": chunk.end,
        "position": chunk.position,
        "url": chunk.url,
        "publisher": chunk.publisher,
        "date": chunk.date,
        "date_num": int(chunk.date.replace("-", "")) if chunk.date else 0,
        "topics": ",".join(chunk.topics),
        "doc_hash": chunk.doc_hash,
        "accurate_as_of": chunk.accurate_as_of,
        "superseded_by": ",".join(chunk.superseded_by),
    }
    # One boolean key per topic, because Chroma's metadata filters cannot search inside a string.
    meta.update({f"topic:{t}": True for t in chunk.topics})
    return meta


def from_metadata(cid: str, text: str, meta: dict[str, Any]) -> Chunk:
    page = int(meta.get("page", -1))
    return Chunk(
        id=cid,
        text=text,
        source=str(meta.get("source", "")),
        title=str(meta.get("title", "")),
        heading=str(meta.get("heading", "")),
        page=None if page < 0 else page,
        start=int(meta.get("start", 0)),
        end=int(meta.get("end", 0)),
        position=int(meta.get("position", 0)),
        url=str(meta.get("url", "")),
        publisher=str(meta.get("publisher", "")),
        date=str(meta.get("date", "")),
        topics=tuple(t for t in str(meta.get("topics", "")).split(",") if t),
        doc_hash=str(meta.get("doc_hash", "")),
        accurate_as_of=str(meta.get("accurate_as_of", "")),
        superseded_by=tuple(s for s in str(meta.get("superseded_by", "")).split(",") if s),
    )


def _searching_wide(collection: Any, ef_search: int) -> Any:
    """Chroma's default search breadth (``ef_search`` 100) misses true neighbours: a passage
    with the second-best similarity was absent from the top 40 in some processes and not in
    others, as the graph is rebuilt from the log in another order. The breadth is a query-time
    setting, so an index built before gets it too; it is read when the index is loaded."""
    hnsw = (getattr(collection, "configuration", None) or {}).get("hnsw") or {}
    if hnsw.get("ef_search") != ef_search:
        with contextlib.suppress(Exception):  # a server that cannot change it still answers
            collection.modify(configuration={"hnsw": {"ef_search": ef_search}})
    return collection
