"""The HTTP API under /v1: OpenAI-compatible chat completions (with citations as extra fields),
search, index status and background index updates.

Every route is an ``_ApiRoute``: the bearer token is checked before the body is read, and every
error leaves as one JSON object in OpenAI's shape ``{"error": {"message", "type", "code"}}``.
"""

from __future__ import annotations

import base64
import itertools
import logging
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Mapping
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, Response, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    TypeAdapter,
    ValidationInfo,
    model_validator,
)
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import Message

from assistant.backends import BACKENDS
from assistant.core import Assistant
from assistant.errors import AssistantError, ConfigError, IndexMissingError, ModelError
from assistant.jobs import KEPT_JOBS, IndexBusyError
from assistant.records import (
    MAX_FILTER_CHARS,
    MAX_FILTER_VALUES,
    MAX_MESSAGES,
    MAX_TEXT_CHARS,
    Answer,
    Filters,
    Final,
    StreamEvent,
    Token,
    date_problem,
)
from assistant.sanitizing import scrub_paths, unlink, web_links
from assistant.schemas import (
    AddReportOut,
    CitationOut,
    HitOut,
    IndexReportOut,
    IndexStatusOut,
    SearchOut,
    SentenceOut,
)
from assistant.settings import Backend, SearchMode

logger = logging.getLogger(__name__)

MODEL_ID = "ai-race-assistant"
MAX_BODY_BYTES = 1024 * 1024
_STARTED = int(time.time())

# ----------------------------------------------------------------------------- request models

Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT_CHARS, pattern=r"\S")]
FilterValue = Annotated[str, StringConstraints(min_length=1, max_length=MAX_FILTER_CHARS)]
FilterValues = Annotated[list[FilterValue], Field(max_length=MAX_FILTER_VALUES)]


def _iso_day(value: object, info: ValidationInfo) -> object:
    if value == "":
        raise ValueError("must be a date written YYYY-MM-DD, or left out")
    problem = date_problem(value, info.field_name or "date")
    if problem:
        raise ValueError(problem)
    return value


Day = Annotated[date, Strict(False), BeforeValidator(_iso_day)]


def _whole(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return int(value)  # JSON Schema counts 2.0 as an integer
    return value


WHOLE = BeforeValidator(_whole)  # after the bounds in Annotated[...], or the schema loses them


class _Request(BaseModel):
    # Strict: JSON types as the schema says ("5" is not an integer); unknown fields are refused.
    model_config = ConfigDict(strict=True, extra="forbid")


class SearchFilters(_Request):
    """Narrow the passages; empty fields do not filter."""

    sources: FilterValues = Field([], description="Corpus paths, or folders ending in '/'.")
    publishers: FilterValues = []
    topics: FilterValues = []
    since: Day | None = Field(None, description="Published on or after (YYYY-MM-DD).")
    until: Day | None = Field(None, description="Published on or before (YYYY-MM-DD).")

    @model_validator(mode="after")
    def _consistent(self) -> SearchFilters:
        try:
            self.to_filters()
        except ConfigError as exc:  # the dates the wrong way round
            raise ValueError(str(exc)) from None
        return self

    def to_filters(self) -> Filters:
        return Filters.parse(
            self.sources,
            self.publishers,
            self.topics,
            self.since.isoformat() if self.since else "",
            self.until.isoformat() if self.until else "",
        )


class ChatMessage(_Request):
    model_config = ConfigDict(extra="ignore")  # OpenAI clients may send "name" and the like

    role: Literal["system", "developer", "user", "assistant"]
    content: Text


class ChatRequest(_Request):
    """OpenAI's chat request; unknown OpenAI fields are accepted and ignored."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(
        MODEL_ID, max_length=200, description=f"Any name; answers come from {MODEL_ID}."
    )
    messages: list[ChatMessage] = Field(
        min_length=1,
        max_length=MAX_MESSAGES,
        description="The last user message is the question; earlier ones are the conversation.",
        json_schema_extra={"contains": {"properties": {"role": {"const": "user"}}}},
    )
    stream: bool = False
    temperature: float | None = Field(None, ge=0, le=2, description="Accepted; the server decides.")
    max_tokens: Annotated[int, Field(ge=1), WHOLE] | None = Field(
        None, description="Accepted; the server decides."
    )
    filters: SearchFilters | None = Field(None, description="Extension: narrow the sources.")
    backend: Backend | None = Field(
        None,
        description="Extension: the model backend to answer with: "
        + "; ".join(f"{b.name}, {b.description}" for b in BACKENDS.values())
        + ".",
    )

    @model_validator(mode="after")
    def _has_question(self) -> ChatRequest:
        if not any(m.role == "user" for m in self.messages):
            raise ValueError("messages must include a user message: the question")
        return self

    def conversation(self) -> tuple[str, list[dict[str, str]]]:
        """The question (the last user message) and the user/assistant turns before it."""
        last = max(i for i, m in enumerate(self.messages) if m.role == "user")
        history = [
            {"role": m.role, "content": m.content}
            for m in self.messages[:last]
            if m.role in ("user", "assistant")
        ]
        return self.messages[last].content, history


class SearchRequest(_Request):
    query: Text
    k: Annotated[int, Field(ge=1, le=50), WHOLE] | None = Field(
        None, description="Passages to return."
    )
    filters: SearchFilters | None = None
    mode: SearchMode | None = Field(None, description="Ranking; the server's setting by default.")


Link = Annotated[str, StringConstraints(max_length=2000, pattern=r"^https?://")]


class AddLinksRequest(_Request):
    links: list[Link] = Field(
        min_length=1, max_length=20, description="Web pages or PDFs to fetch, save and index."
    )


# ---------------------------------------------------------------------------- response models


class ErrorDetail(BaseModel):
    message: str
    type: str
    code: str | None = None
    param: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


class Evidence(BaseModel):
    """What backs an answer; standard OpenAI clients ignore these extra fields."""

    citations: list[CitationOut] = Field(description="The sources the [n] markers point to.")
    sentences: list[SentenceOut] = Field(description="Each sentence with its checked support.")
    abstained: bool = Field(description="True when the sources did not answer the question.")
    notes: list[str] = Field(
        description="What the reader should know about this answer: why it abstained, a "
        "corrected premise, sources older than asked, a local model that crashed."
    )


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"


class ChatCompletion(Evidence):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]


def _omitted_when_none(default: None = None, **kwargs: Any) -> Any:
    return Field(default, exclude_if=lambda value: value is None, **kwargs)


class Delta(BaseModel):
    role: Literal["assistant"] | None = _omitted_when_none()
    content: str | None = _omitted_when_none()


class ChunkChoice(BaseModel):
    index: int = 0
    delta: Delta
    finish_reason: Literal["stop"] | None = None


class ChatCompletionChunk(BaseModel):
    """One server-sent event; the last one carries the evidence and the checked answer text."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    citations: list[CitationOut] | None = _omitted_when_none()
    sentences: list[SentenceOut] | None = _omitted_when_none()
    abstained: bool | None = _omitted_when_none()
    notes: list[str] | None = _omitted_when_none()
    answer: str | None = _omitted_when_none(
        description="The checked answer, when it differs from the streamed draft."
    )


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class IndexJob(BaseModel):
    id: str
    status: Literal["running", "done", "failed"]
    files_done: int
    files_total: int = Field(description="0 until the corpus has been scanned.")
    chunks_done: int
    current: str = Field(description="The file being indexed.")
    started_at: str
    finished_at: str | None
    report: IndexReportOut | None = Field(description="The diff, once done.")
    error: str | None


# ------------------------------------------------------------------------------------ errors

_ERROR_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    429: "rate_limit_error",
    500: "server_error",
    503: "service_unavailable_error",
}
_ERROR_DOCS = {
    400: "The request is malformed, e.g. its body is not JSON.",
    401: "Missing or wrong bearer token.",
    403: "Refused: the server is not set up for this.",
    404: "No such job.",
    409: "An index update is already running.",
    413: "The request body is too large.",
    429: "Too many failed logins from this address; wait as Retry-After says.",
    422: "A field is missing or invalid.",
    503: "No index exists yet, or the model backend cannot be reached.",
}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        code: str,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.detail = ErrorDetail(
            message=message,
            type=_ERROR_TYPES.get(status, "invalid_request_error"),
            code=code,
            param=param,
        )
        self.headers = dict(headers or {})

    def response(self) -> JSONResponse:
        body = ErrorResponse(error=self.detail).model_dump()
        return JSONResponse(body, status_code=self.status, headers=self.headers)


def as_api_error(exc: Exception) -> ApiError:
    """The library's and the framework's errors, as the response a client should see."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, RequestValidationError):
        return _invalid(exc)
    if isinstance(exc, HTTPException):
        if exc.status_code == 413:
            limit = MAX_BODY_BYTES // 1024
            return ApiError(413, f"The request body is larger than {limit} KiB.", "body_too_large")
        return ApiError(exc.status_code, str(exc.detail), "http_error", headers=exc.headers)
    message = scrub_paths(str(exc))  # the library's messages may name server folders
    if isinstance(exc, IndexMissingError):
        return ApiError(503, message, "index_missing")
    if isinstance(exc, ModelError):
        return ApiError(503, message, "backend_unavailable")
    if isinstance(exc, ConfigError):
        return ApiError(503, message, "server_misconfigured")
    if isinstance(exc, AssistantError):
        return ApiError(400, message, "invalid_request")
    logger.exception("unexpected error in the API")
    return ApiError(500, "The server failed on this request; its log has the details.", "internal")


def _invalid(exc: RequestValidationError) -> ApiError:
    errors = exc.errors()
    first = errors[0] if errors else {"type": "", "loc": (), "msg": "invalid request"}
    if first["type"] == "json_invalid":
        return ApiError(400, "The request body is not valid JSON.", "invalid_json")
    where = ".".join(str(part) for part in first["loc"][1:]) or "body"
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    return ApiError(422, f"{where}: {first['msg']}{more}", "invalid_value", param=where)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: {"model": ErrorResponse, "description": _ERROR_DOCS[s]} for s in statuses}


def _authorize(request: Request) -> None:
    expected = _token(request)
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if not expected:
        _check_web_login(request, scheme, given.strip())
        return
    if scheme.lower() != "bearer" or not secrets.compare_digest(
        given.strip().encode(), expected.encode()
    ):
        raise ApiError(
            401,
            "Missing or wrong API token: send `Authorization: Bearer <token>` with the token "
            "the server was given in ASSISTANT_WEB__API_TOKEN.",
            "invalid_api_key",
            headers={"WWW-Authenticate": "Bearer"},
        )


def _check_web_login(request: Request, scheme: str, given: str) -> None:
    """Without an API token, a server with a web login asks /v1 clients for the same login
    (HTTP Basic), counted against the same limit of failed attempts as the page."""
    login = _bot(request).settings.web.auth
    if login is None:
        return
    logins = getattr(request.app.state, "logins", None)
    client = request.client.host if request.client else "unknown"
    wait = logins.wait_s(client) if logins else 0
    if wait:
        message = f"Too many failed logins from this address; try again in {wait // 60 + 1} min."
        raise ApiError(429, message, "too_many_logins", headers={"Retry-After": str(wait)})
    try:
        sent = base64.b64decode(given, validate=True) if scheme.lower() == "basic" else b""
    except ValueError:
        sent = b""
    if sent and secrets.compare_digest(sent, login.get_secret_value().encode()):
        if logins:
            logins.succeeded(client)
        return
    if logins and scheme:
        logins.failed(client)
    raise ApiError(
        401,
        "This server asks for its web login: send it as HTTP Basic auth (curl -u user:password), "
        "or set ASSISTANT_WEB__API_TOKEN on the server and send `Authorization: Bearer <token>`.",
        "login_required",
        headers={"WWW-Authenticate": 'Basic realm="ai-race-assistant"'},
    )


def _limited(request: Request) -> Request:
    """The request, refused with 413 once its body passes MAX_BODY_BYTES, declared or not."""
    too_large = HTTPException(413)  # FastAPI passes HTTPExceptions from body reading through
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    received = 0

    async def receive() -> Message:
        nonlocal received
        message = await request.receive()
        received += len(message.get("body", b""))
        if received > MAX_BODY_BYTES:
            raise too_large
        return message

    return Request(request.scope, receive)


class _ApiRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                _authorize(request)
                return await handler(_limited(request))
            except Exception as exc:
                return as_api_error(exc).response()

        return guarded


# ------------------------------------------------------------------------------------ routes

_TOKEN_DOC = "The token set in ASSISTANT_WEB__API_TOKEN; needed only when the server has one."

router = APIRouter(
    prefix="/v1",
    route_class=_ApiRoute,
    # Declares the scheme in the OpenAPI document; _ApiRoute does the check, before the body.
    dependencies=[Security(HTTPBearer(auto_error=False, description=_TOKEN_DOC))],
    responses=error_responses(401),
)


def _bot(request: Request) -> Assistant:
    bot: Assistant = request.app.state.bot
    return bot


def _token(request: Request) -> str:
    token = _bot(request).settings.web.api_token
    return token.get_secret_value() if token else ""


def _sse_event_schema() -> dict[str, Any]:
    """One server-sent event, as FastAPI documents its own event streams: ``data`` holds a chunk,
    an error, or the closing ``[DONE]``. Inlined, as the chunk models are not in components."""
    schema = TypeAdapter(ChatCompletionChunk | ErrorResponse).json_schema()
    definitions = schema.pop("$defs")

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(definitions[node["$ref"].rsplit("/", 1)[-1]])
            return {key: inline(value) for key, value in node.items()}
        return [inline(value) for value in node] if isinstance(node, list) else node

    payload = {
        "type": "string",
        "contentMediaType": "application/json",
        "contentSchema": inline(schema),
    }
    data = {"anyOf": [{"const": "[DONE]"}, payload]}
    return {
        "type": "object",
        "required": ["data"],
        "properties": {"data": data, "event": {"type": "string"}},
    }


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    responses={
        200: {
            "description": "The answer; with stream=true, server-sent chat.completion.chunk "
            "events, the last with the citations, then `data: [DONE]`.",
            "content": {"text/event-stream": {"itemSchema": _sse_event_schema()}},
        },
        **error_responses(400, 413, 422, 503),
    },
)
async def chat_completions(body: ChatRequest, request: Request) -> Any:
    """Answer the last user message from the corpus, with [n] markers and their citations."""
    bot = _bot(request)
    question, history = body.conversation()
    filters = body.filters.to_filters() if body.filters else None
    ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    if not body.stream:
        answer = await run_in_threadpool(bot.ask, question, history, filters, body.backend)
        message = AssistantMessage(content=unlink(answer.text))
        return ChatCompletion(
            id=ident, created=created, model=MODEL_ID, choices=[Choice(message=message)],
            **_evidence(answer),
        )  # fmt: skip
    events = bot.stream(question, history=history, filters=filters, backend=body.backend)
    first = await run_in_threadpool(next, events, None)  # so a missing index is still a 503
    pending = itertools.chain([] if first is None else [first], events)
    return StreamingResponse(_sse(pending, ident, created), media_type="text/event-stream")


def _evidence(answer: Answer) -> dict[str, Any]:
    data = answer.to_dict()
    return {
        "citations": [web_links(c) for c in data["citations"]],
        "sentences": data["sentences"],
        "abstained": answer.abstained,
        "notes": list(answer.notes),
    }


async def _sse(events: Iterator[StreamEvent], ident: str, created: int) -> AsyncIterator[str]:
    def event(delta: Delta, finish: Literal["stop"] | None = None, **extra: Any) -> str:
        chunk = ChatCompletionChunk(
            id=ident,
            created=created,
            model=MODEL_ID,
            choices=[ChunkChoice(delta=delta, finish_reason=finish)],
            **extra,
        )
        return f"data: {chunk.model_dump_json()}\n\n"

    yield event(Delta(role="assistant", content=""))
    drafted: list[str] = []
    try:
        async for item in iterate_in_threadpool(events):
            if isinstance(item, Token):
                drafted.append(item.text)
                yield event(Delta(content=item.text))
            elif isinstance(item, Final):
                answer = item.answer
                extra = _evidence(answer)
                if answer.text.strip() != "".join(drafted).strip():
                    extra["answer"] = unlink(answer.text)
                yield event(Delta(), "stop", **extra)
    except Exception as exc:  # the status line is sent: the error becomes the last event
        yield f"data: {ErrorResponse(error=as_api_error(exc).detail).model_dump_json()}\n\n"
    yield "data: [DONE]\n\n"


@router.get("/models", response_model=ModelList)
async def list_models() -> ModelList:
    """The one model this server answers as."""
    return ModelList(data=[ModelCard(id=MODEL_ID, created=_STARTED, owned_by="ai-race-assistant")])


@router.post("/search", response_model=SearchOut, responses=error_responses(400, 413, 422, 503))
async def search(body: SearchRequest, request: Request) -> SearchOut:
    """The passages that best match a query, with their scores and ranks."""
    filters = body.filters.to_filters() if body.filters else None
    result = await run_in_threadpool(_bot(request).search, body.query, body.k, filters, body.mode)
    hits = [HitOut.model_validate(web_links(hit.to_dict())) for hit in result.hits]
    return SearchOut(relevant=result.relevant, hits=hits)


@router.get("/index", response_model=IndexStatusOut)
async def index_status(request: Request) -> IndexStatusOut:
    """The live index, and the corpus files new, changed or removed since it was built."""
    status = await run_in_threadpool(_bot(request).status)
    return IndexStatusOut.model_validate(status.to_dict())


@router.post(
    "/index",
    status_code=202,
    response_model=IndexJob,
    responses={
        202: {
            "description": "Started; follow the job at the Location URL.",
            "links": {
                "GetJob": {
                    "operationId": "get_index_job",
                    "parameters": {"job_id": "$response.body#/id"},
                }
            },
        },
        **error_responses(403, 409),
    },
)
async def start_index_update(request: Request, response: Response) -> IndexJob:
    """Start an incremental index update in the background (needs the API token set)."""
    if not _token(request):
        raise ApiError(
            403,
            "Updating the index over the API needs a token: set ASSISTANT_WEB__API_TOKEN on "
            "the server and send it as `Authorization: Bearer <token>`.",
            "token_not_configured",
        )
    try:
        job = _bot(request).start_index_job()
    except IndexBusyError as exc:
        raise ApiError(409, str(exc), "index_busy") from None
    response.headers["Location"] = str(request.url_for("index_job", job_id=job.id))
    return IndexJob.model_validate(job.to_dict())


@router.get(
    "/index/jobs/{job_id}",
    operation_id="get_index_job",
    response_model=IndexJob,
    responses=error_responses(404, 422),
)
async def index_job(job_id: str, request: Request) -> IndexJob:
    """Progress of an index update, and its diff once done."""
    job = _bot(request).job(job_id)
    if job is None:
        raise ApiError(
            404,
            f"No index job {job_id[:80]!r} (only the last {KEPT_JOBS} are kept).",
            "job_not_found",
        )
    return IndexJob.model_validate(job.to_dict())


@router.post(
    "/documents", response_model=AddReportOut, responses=error_responses(400, 403, 413, 422)
)
async def add_documents(body: AddLinksRequest, request: Request) -> AddReportOut:
    """Fetch links (web pages, PDFs), save them under the corpus's web folder and index them
    (needs the API token set). Private, loopback and link-local addresses are refused unless
    the server allows them (ASSISTANT_FETCH__ALLOW_HOSTS)."""
    if not _token(request):
        raise ApiError(
            403,
            "Adding documents over the API needs a token: set ASSISTANT_WEB__API_TOKEN on the "
            "server and send it as `Authorization: Bearer <token>`.",
            "token_not_configured",
        )
    report = await run_in_threadpool(_bot(request).add, body.links)
    return AddReportOut.model_validate(report.to_dict())


@router.api_route(
    "/{rest:path}",
    methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "QUERY"],
    include_in_schema=False,
)
async def elsewhere(rest: str, request: Request) -> Response:
    """405 or 404, in OpenAI's error shape, for other methods and paths under /v1; without this
    they would fall through to the web UI mounted at "/". It must stay the router's last route."""
    allowed = sorted(
        method
        for route in router.routes
        if route.matches(request.scope)[0] == Match.PARTIAL
        for method in getattr(route, "methods", None) or ()
    )
    if allowed:
        message = f"{request.method} is not supported here; use {', '.join(allowed)}."
        raise ApiError(405, message, "method_not_allowed", headers={"Allow": ", ".join(allowed)})
    raise ApiError(404, f"There is no endpoint /v1/{rest[:80]}.", "not_found")
