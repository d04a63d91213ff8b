"""The MCP server: search, checked answers and the index status as MCP tools, and the indexed
documents as ``corpus://<path>`` resources, over stdio (``assistant mcp``) or streamable HTTP
(``/mcp`` on the web server, behind the same check as ``/v1``).

A thin translation of the core's records: every tool calls ``Assistant`` and returns the record
as structured content (its schema derived from the record's fields) plus a readable text form.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp.types import CallToolResult, InputRequiredResult, Resource, TextContent
from pydantic import Field, ValidationError
from starlette.types import Receive, Scope, Send

from assistant.core import Assistant
from assistant.errors import AssistantError, ConfigError
from assistant.records import MAX_FILTER_CHARS, MAX_FILTER_VALUES, MAX_TEXT_CHARS, Filters
from assistant.sanitizing import scrub_paths, unlink, web_links
from assistant.schemas import AnswerOut, IndexStatusOut, SearchOut
from assistant.settings import RetrievalSettings, SearchMode, Settings

SCHEME = "corpus"
HTTP_PATH = "/mcp"
_T = TypeVar("_T")

# ---- inputs --------------------------------------------------------------------------------

# The bounds of the server's own setting: a call asks for no more passages than it allows.
_K = RetrievalSettings.model_fields["k"]
_K_BOUNDS = {k: v for m in _K.metadata for k, v in dataclasses.asdict(m).items()}
K = Annotated[int | None, Field(description="Passages to use (the server's default).", **_K_BOUNDS)]
Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT_CHARS)]
Value = Annotated[str, Field(min_length=1, max_length=MAX_FILTER_CHARS)]
Values = Annotated[tuple[Value, ...], Field(max_length=MAX_FILTER_VALUES)]
Sources = Annotated[Values, Field(description="Only these corpus paths, or folders ending in /.")]
Publishers = Annotated[Values, Field(description="Only passages from these publishers.")]
Topics = Annotated[Values, Field(description="Only passages on these topics.")]
Since = Annotated[str, Field(description="Published on or after this day (YYYY-MM-DD).")]
Until = Annotated[str, Field(description="Published on or before this day (YYYY-MM-DD).")]


class CorpusServer(MCPServer[Any]):
    """The MCP server over one ``Assistant``. ``public`` (served over HTTP): error messages do
    not name the server's folders."""

    def __init__(self, bot: Assistant, public: bool = False) -> None:
        with _logging_untouched():
            super().__init__(
                "ai-race-assistant",
                instructions="Answers about the global AI race from a curated corpus. `ask` "
                "gives a checked answer whose every sentence cites a passage; `search` gives "
                f"passages; each indexed document is a {SCHEME}://<path> resource.",
            )
        self.bot = bot
        self.public = public
        self.add_tool(self.search, title="Search the corpus", structured_output=True)
        self.add_tool(self.ask, title="Ask with checked citations", structured_output=True)
        self.add_tool(self.index_status, title="Index status", structured_output=True)
        self.resource(
            f"{SCHEME}://{{+path}}",
            name="document",
            description="The text of an indexed document, as extracted for indexing.",
            mime_type="text/plain",
        )(self.read_document)

    def search(
        self,
        query: Text,
        k: K = None,
        sources: Sources = (),
        publishers: Publishers = (),
        topics: Topics = (),
        since: Since = "",
        until: Until = "",
        mode: SearchMode | None = None,
    ) -> Annotated[CallToolResult, SearchOut]:
        """The passages of the corpus that best match a query, each with what a citation needs
        (title, publisher, date, location, link) and its scores."""
        filters = _filters(sources, publishers, topics, since, until)
        query = _required(query, "query")
        result = self._call(lambda: self.bot.search(query, k=k, filters=filters, mode=mode))
        out = {"relevant": result.relevant, "hits": [web_links(h.to_dict()) for h in result.hits]}
        return _result(out, render_passages(out))

    def ask(
        self,
        question: Text,
        k: K = None,
        sources: Sources = (),
        publishers: Publishers = (),
        topics: Topics = (),
        since: Since = "",
        until: Until = "",
    ) -> Annotated[CallToolResult, AnswerOut]:
        """A checked answer from the corpus: sentences with [n] markers, the citations they
        point to (quote, location, link), the support found for every sentence, and whether
        the assistant abstained because nothing relevant is indexed."""
        filters = _filters(sources, publishers, topics, since, until)
        question = _required(question, "question")
        answer = self._call(lambda: self.bot.ask(question, filters=filters, k=k))
        out = answer.to_dict()
        out["answer"] = unlink(answer.text)
        out["citations"] = [web_links(c) for c in out["citations"]]  # http(s) links only
        return _result(out, render_answer(out))

    def index_status(self) -> Annotated[CallToolResult, IndexStatusOut]:
        """The live index (documents, chunks, embedding model, when built) and the corpus files
        new, changed or removed since it was built."""
        out = self._call(self.bot.status).to_dict()
        return _result(out, render_status(out))

    def read_document(self, path: str) -> str:
        try:
            return self.bot.document(path).text
        except AssistantError as exc:
            raise ResourceNotFoundError(self._message(exc)) from None

    async def list_resources(self) -> list[Resource]:
        documents = await anyio.to_thread.run_sync(self.bot.documents)
        listed = [
            Resource(
                uri=f"{SCHEME}://{quote(d.path)}",
                name=d.path,
                title=d.title,
                description=f"{d.title} ({d.n_chunks} passages in the index)",
                mime_type="text/plain",
            )
            for d in documents
        ]
        return [*await super().list_resources(), *listed]

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):  # the SDK's is many lines long
                line = _one_line(exc.__cause__)
                raise ToolError(f"Error executing tool {name}: {line}") from exc.__cause__
            raise

    def _call(self, fn: Callable[[], _T]) -> _T:
        try:
            return fn()
        except AssistantError as exc:
            raise ToolError(self._message(exc)) from None

    def _message(self, exc: Exception) -> str:
        return scrub_paths(str(exc)) if self.public else str(exc)


@contextmanager
def _logging_untouched() -> Iterator[None]:
    """The SDK's server calls logging.basicConfig, whose handler would print every library's
    debug records in the web server; the process's logging stays as its owner set it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def _required(text: str, name: str) -> str:
    if not text.strip():
        raise ToolError(f"The {name} is empty: send its text.")
    return text.strip()


def _filters(
    sources: tuple[str, ...],
    publishers: tuple[str, ...],
    topics: tuple[str, ...],
    since: str,
    until: str,
) -> Filters:
    try:
        return Filters.parse(sources, publishers, topics, since, until)
    except ConfigError as exc:  # the core's own check, as every front-end makes it
        raise ToolError(str(exc)) from None


def _one_line(error: ValidationError) -> str:
    problems = error.errors()
    first = problems[0]
    where = ".".join(str(part) for part in first["loc"]) or "arguments"
    more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
    return f"{where}: {first['msg']}{more}."


def _result(out: dict[str, Any], text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=out)


# ---- the readable text forms ---------------------------------------------------------------


def render_passages(out: dict[str, Any]) -> str:
    if not out["relevant"]:
        return "Nothing in the index is relevant to that query."
    blocks = []
    for rank, hit in enumerate(out["hits"], start=1):
        about = ", ".join(x for x in (hit["publisher"], hit["date"], hit["url"]) if x)
        head = f"{rank}. {hit['title']} — {hit['location']}" + (f" ({about})" if about else "")
        blocks.append(f"{head}\n   [chunk {hit['chunk_id']}, score {hit['score']:.4f}]\n"
                      f"   {' '.join(hit['text'].split())}")  # fmt: skip
    return "\n\n".join(blocks)


def render_answer(out: dict[str, Any]) -> str:
    lines = [out["answer"]]
    if out["abstained"]:
        return "\n".join(lines + [f"({note})" for note in out["notes"]])
    lines += ["", "Sources:"]
    for c in out["citations"]:
        about = ", ".join(x for x in (c["publisher"], c["date"]) if x)
        lines.append(f"[{c['n']}] {c['title']}" + (f" ({about})" if about else ""))
        lines.append(f"    {c['location']}" + (f"  {c['link']}" if c["link"] else ""))
        lines.append(f'    "{c["quote"]}"')
    weak = [s for s in out["sentences"] if s["support"] != "supported"]
    if weak:
        lines += ["", "Sentences their sources do not fully support:"]
        lines += [f"  ({s['support']}) {s['text']}" for s in weak]
    return "\n".join(lines)


def render_status(out: dict[str, Any]) -> str:
    if not out["exists"]:
        return f"No index at {out['where']}: build one with `assistant index`."
    text = (
        f"{out['documents']} documents, {out['chunks']} passages in {out['collection']} "
        f"(embedding model {out['model']}), built {out['built_at']}."
    )
    changes = {kind: paths for kind, paths in out["changed_since"].items() if paths}
    if not changes:
        return text + " The corpus has not changed since."
    return text + "".join(f"\n{kind} since: {', '.join(paths)}" for kind, paths in changes.items())


# ---- transports ------------------------------------------------------------------------------


def serve_stdio(settings: Settings) -> None:
    """Serve over stdin and stdout until the client closes them (``assistant mcp``)."""
    bot = Assistant(settings)
    if not bot.documents():  # on stderr, which MCP clients show in their logs
        print("warning: the index is empty or missing; the tools say so until "
              "`assistant index` builds it.", file=sys.stderr)  # fmt: skip
    CorpusServer(bot).run("stdio")


class HttpEndpoint:
    """The streamable-HTTP transport as one ASGI app for ``HTTP_PATH`` on the web server,
    behind the same check as /v1: its bearer token, or the web login when no token is set.
    ``lifespan`` runs its sessions and belongs in the web app's lifespan."""

    def __init__(self, bot: Assistant) -> None:
        from assistant.api import MAX_BODY_BYTES

        server = CorpusServer(bot, public=True)
        self._app = server.streamable_http_app(
            streamable_http_path=HTTP_PATH,
            host=bot.settings.web.host,  # on loopback, the SDK refuses other Host headers
            max_request_body_size=MAX_BODY_BYTES,
        )
        self._sessions = server.session_manager

    def lifespan(self, app: Any) -> AbstractAsyncContextManager[None]:
        return self._sessions.run()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from starlette.requests import Request

        from assistant.api import _authorize, as_api_error

        try:
            _authorize(Request(scope))
        except Exception as exc:
            await as_api_error(exc).response()(scope, receive, send)
            return
        await self._app(scope, receive, send)
