"""The Assistant: the one object a user builds and calls to index, search, ask and stream."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.backends import make_model
from assistant.embedding import Embedder
from assistant.errors import AssistantError, BadDocumentError
from assistant.fetching import AddReport, add_to_corpus
from assistant.generation import ChatModel, Message
from assistant.indexing import Indexer, IndexReport, ProgressFn, build_key
from assistant.jobs import IndexJob, IndexJobs
from assistant.manifest import FileEntry, Manifest
from assistant.records import Answer, Chunk, Document, Filters, Final, StreamEvent
from assistant.settings import SearchMode, Settings
from assistant.uploads import UploadReport, discard, kept, save_uploads

# Answering and retrieval (LangChain's retriever, the checks) load on first use, so `index`,
# which needs neither, starts without them.
if TYPE_CHECKING:
    from langchain_core.retrievers import BaseRetriever

    from assistant.judging import Judge
    from assistant.retrieval import Retriever, SearchResult

History = Sequence[Message | tuple[str, str]]


@dataclass
class IndexStatus:
    exists: bool
    where: str
    collection: str = ""
    documents: int = 0
    chunks: int = 0
    model: str = ""
    settings: str = ""
    built_at: str = ""
    changed_since: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Facets:
    """The filter choices present in the live index; topics in the order of ``TOPICS.txt``."""

    topics: list[str] = field(default_factory=list)
    publishers: list[str] = field(default_factory=list)
    sources: list[tuple[str, str]] = field(default_factory=list)  # (title, corpus path)
    # topic -> the newest date through which one of its sources was checked (accurate_as_of,
    # else its publication date): how current the corpus is, shown before anyone asks
    coverage: dict[str, str] = field(default_factory=dict)


class Assistant:
    def __init__(
        self,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        store_client: Any | None = None,
    ) -> None:
        """``store_client``: a Chroma client to keep the passages in (an in-memory
        ``chromadb.EphemeralClient()`` in tests); by default the index settings choose."""
        self.settings = settings or Settings()
        self.embedder = embedder or Embedder(self.settings.embedding)
        self._store_client = store_client
        self._store: Any = None
        self._manifest: Manifest | None = None
        self._retriever: Retriever | None = None
        self._models: dict[str, ChatModel] = {}
        self._judges: dict[str, Judge | None] = {}
        self._lock = threading.Lock()
        self._index_lock = threading.Lock()
        self._jobs = IndexJobs()
        self._open_lock = threading.RLock()
        self._facets: tuple[str, Facets] | None = None

    # Created on first use, under a lock: two first requests at once must not open Chroma twice.
    @property
    def store(self) -> Any:
        with self._open_lock:
            if self._store is None:
                from assistant.store import Store

                self._store = Store(self.settings.index, self._store_client)
            return self._store

    @property
    def manifest(self) -> Manifest:
        with self._open_lock:
            if self._manifest is None:
                self._manifest = Manifest(self.settings.index.path)
            return self._manifest

    @property
    def retriever(self) -> Retriever:
        store, manifest = self.store, self.manifest
        with self._open_lock:
            if self._retriever is None:
                from assistant.retrieval import Retriever

                self._retriever = Retriever(self.settings.retrieval, store, manifest, self.embedder)
            return self._retriever

    def index(
        self,
        corpus: Path | str | None = None,
        rebuild: bool = False,
        progress: ProgressFn | None = None,
    ) -> IndexReport:
        """Build or update the index from the corpus folder; only changed files are embedded."""
        with self._index_lock:
            indexer = Indexer(self.settings, lambda: self.store, self.manifest, self.embedder)
            return indexer.run(Path(corpus) if corpus else None, rebuild=rebuild, progress=progress)

    def add(self, items: Sequence[str | Path], progress: ProgressFn | None = None) -> AddReport:
        """Add links (fetched and saved as Markdown under ``corpus/web/``) and files (copied
        into ``corpus/uploads/``) to the corpus, then index them. An item that fails is reported
        with the reason and changes nothing; what was indexed before stays."""
        report = add_to_corpus(items, self.settings)
        if report.added:
            report.index = self.index(progress=progress)
        return report

    def add_uploads(
        self, files: Sequence[Any], origin: Path | None = None, progress: ProgressFn | None = None
    ) -> UploadReport:
        """Save files uploaded from the web page into ``corpus/uploads`` (within the web
        settings' size and quota; with ``origin``, only files inside that folder) and index
        them. A file the index cannot hold is taken back: its previous version, or nothing."""
        web = self.settings.web
        saved, refused = save_uploads(
            files, self.settings.corpus.path, web.max_upload_mb, web.uploads_quota_mb, origin
        )
        report = UploadReport([s.rel for s in saved], refused)
        if not saved:
            return report
        try:
            report.index = self.start_index_job(progress=progress, wait=True).result()
        except AssistantError as exc:
            report.error = str(exc)
        gone = [s for s in saved if not kept(s.rel, report.index)]
        for upload in gone:
            discard(upload)
        if gone and report.index is not None:
            self.index()  # the index forgets what was taken back
        return report

    def start_index_job(
        self, rebuild: bool = False, progress: ProgressFn | None = None, wait: bool = False
    ) -> IndexJob:
        """Update the index in the background; ``progress`` hears every step, and ``job(id)``
        finds the job again. While another update runs: IndexBusyError, or with ``wait``,
        this one starts after it."""

        def work(step: ProgressFn) -> IndexReport:
            return self.index(rebuild=rebuild, progress=step)

        return self._jobs.start(work, progress, wait)

    def job(self, job_id: str) -> IndexJob | None:
        """A recent index job by its id; the last few are kept."""
        return self._jobs.get(job_id)

    def topics(self) -> list[str]:
        """The corpus's topic names, from ``TOPICS.txt`` (one a line, # for comments)."""
        path = self.settings.corpus.path / "TOPICS.txt"
        if not path.is_file():
            return []
        lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
        return [line for line in lines if line and not line.startswith("#")]

    def facets(self) -> Facets:
        """Topics, publishers and documents to filter by; the topics alone without an index."""
        try:
            name = self.retriever.collection()
            key = f"{name}@{self.manifest.get('version')}"
            if self._facets is None or self._facets[0] != key:
                # The BM25 index already holds every passage in memory: no second store scan.
                chunks = self.retriever.lexical(name).chunks
                self._facets = (key, _collect_facets(chunks, self.topics()))
            return self._facets[1]
        except AssistantError:
            return Facets(topics=self.topics())

    def status(self) -> IndexStatus:
        where = self.settings.index.chroma_url or str(self.settings.index.path)
        active = self.manifest.get("active")
        if not active:
            return IndexStatus(exists=False, where=where)
        docs, chunks = self.manifest.counts(active)
        return IndexStatus(
            exists=True,
            where=where,
            collection=active,
            documents=docs,
            chunks=chunks,
            model=self.manifest.get("model") or "",
            settings=self.manifest.get("settings") or "",
            built_at=self.manifest.get("built_at") or "",
            changed_since=self._changes(active),
        )

    def documents(self) -> list[FileEntry]:
        """The documents of the live index (paths relative to the corpus folder), by path."""
        active = self.manifest.get("active")
        files = self.manifest.files(active) if active else {}
        return [files[path] for path in sorted(files)]

    def document(self, path: str) -> Document:
        """One document of the live index, its text as extracted for indexing (citation offsets
        point into it). Nothing else is read: not a file the index lacks, nor one whose real
        place (after links) is outside the corpus folder."""
        from assistant.loading import load

        root = self.settings.corpus.path.resolve()
        target = (root / path).resolve()
        if path not in {d.path for d in self.documents()} or not target.is_relative_to(root):
            hint = "use the path of an indexed document, as the list of documents gives it"
            raise BadDocumentError(path, "not a document of the index", hint)
        return load(target, root, self.settings.corpus)

    def is_stale(self) -> bool:
        """True when the index is missing, built with other settings, or behind the corpus."""
        status = self.status()
        if not status.exists:
            return True
        if not status.collection.startswith(
            f"chunks-{build_key(self.settings, self.embedder.name)}-"
        ):
            return True
        return any(status.changed_since.values())

    def _changes(self, active: str) -> dict[str, list[str]]:
        from assistant.indexing import file_hash, is_unchanged
        from assistant.loading import scan

        root = self.settings.corpus.path
        known = self.manifest.files(active)
        paths = scan(root, self.settings.corpus) if root.is_dir() else []
        seen = {p.relative_to(root).as_posix(): p for p in paths}
        changed = [
            rel for rel, p in seen.items()  # a file with its indexed size and mtime is not read
            if rel in known and not is_unchanged(known[rel], p.stat())
            and file_hash(p.read_bytes()) != known[rel].doc_hash
        ]  # fmt: skip
        return {
            "new": sorted(rel for rel in seen if rel not in known),
            "changed": sorted(changed),
            "removed": sorted(rel for rel in known if rel not in seen),
        }

    def search(
        self,
        query: str,
        k: int | None = None,
        filters: Filters | None = None,
        mode: SearchMode | None = None,
        per_document: int | None = None,
    ) -> SearchResult:
        """Ranked passages; ``relevant`` is False when nothing passed the relevance floor."""
        return self.retriever.search(query, k, filters, mode=mode, per_document=per_document)

    def as_retriever(
        self, k: int = 6, filters: Filters | None = None, mode: SearchMode | None = None
    ) -> BaseRetriever:
        """This assistant's retrieval as a LangChain ``BaseRetriever``."""
        from assistant.retrieval import langchain_retriever

        return langchain_retriever()(assistant=self, k=k, filters=filters, mode=mode)

    def model(self, backend: str | None = None) -> ChatModel:
        """The chat model of ``backend``, loaded and checked once; its ``capabilities`` say what
        it can do (the ``extractive`` one drafts nothing)."""
        name = backend or self.settings.llm.backend
        with self._lock:
            if name not in self._models:
                self._models[name] = make_model(self.settings.llm, name)
            return self._models[name]

    def judge(self, backend: str, model: ChatModel) -> Judge | None:
        """The stronger claim judge the verify settings ask for (built once), or None."""
        from assistant.judging import make_judge

        with self._lock:
            if backend not in self._judges:
                self._judges[backend] = make_judge(self.settings.verify, model, backend)
            return self._judges[backend]

    def use_model(self, backend: str, model: ChatModel) -> None:
        """Answer with this model object for ``backend`` (a client built elsewhere, a fake)."""
        with self._lock:
            self._models[backend] = model

    def stream(
        self,
        question: str,
        history: History | None = None,
        filters: Filters | None = None,
        backend: str | None = None,
        k: int | None = None,
    ) -> Iterator[StreamEvent]:
        """Yields Token events as the answer is written, then one Final with the checked answer."""
        from assistant.answering import Request, answer_stream

        name = backend or self.settings.llm.backend
        filters = filters or self.settings.retrieval.default_filters()
        model = self.model(name)  # a local model starts in its own process while we retrieve
        judge = self.judge(name, model)
        request = Request(question.strip(), _messages(history), filters, name, k, judge)
        self.retriever.collection()  # fail early, with the how-to, when no index exists
        yield from answer_stream(request, self.retriever, self.embedder, model, model.max_tokens)

    def ask(
        self,
        question: str,
        history: History | None = None,
        filters: Filters | None = None,
        backend: str | None = None,
        k: int | None = None,
    ) -> Answer:
        for event in self.stream(question, history, filters, backend, k):
            if isinstance(event, Final):
                return event.answer
        raise RuntimeError("the answer stream ended without a final answer")


def _collect_facets(chunks: Sequence[Chunk], allowed: list[str]) -> Facets:
    present = {t for c in chunks for t in c.topics}
    topics = [t for t in allowed if t in present] + sorted(present - set(allowed))
    publishers = sorted({c.publisher for c in chunks if c.publisher})
    titles = {c.source: c.title or c.source for c in chunks}
    sources = sorted(((title, path) for path, title in titles.items()), key=lambda s: s[0].lower())
    coverage: dict[str, str] = {}
    for chunk in chunks:
        checked = chunk.accurate_as_of or chunk.date
        for topic in chunk.topics:
            if checked and checked > coverage.get(topic, ""):
                coverage[topic] = checked
    ordered = {t: coverage[t] for t in topics if t in coverage}
    return Facets(topics or allowed, publishers, sources, ordered)


def _messages(history: History | None) -> list[Message]:
    messages: list[Message] = []
    for item in history or []:
        if isinstance(item, dict):
            messages.append({"role": str(item["role"]), "content": str(item["content"])})
        else:
            user, bot = item
            messages += [{"role": "user", "content": user}, {"role": "assistant", "content": bot}]
    return messages
