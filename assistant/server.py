"""The server: one FastAPI app with the HTTP API under /v1 and the Gradio web chat at /.

The Blocks are mounted, never launched, so the server does what ``launch()`` would have done
for safety: it marks them launched (Gradio checks that a file entry was uploaded only then),
serves only the Gradio routes the page uses, and puts a guard in front of every request that
reaches Gradio: bodies are bounded, any file entry must name an upload of this server, files
are served from the upload folder only, and failed logins are limited.
"""

from __future__ import annotations

import ipaddress
import json
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.core import Assistant
from assistant.errors import AssistantError, ConfigError, UploadError
from assistant.mcp_server import HTTP_PATH as MCP_PATH
from assistant.mcp_server import HttpEndpoint
from assistant.offline import go_offline, upload_folder
from assistant.settings import Settings

MAX_EVENT_BYTES = 1024 * 1024  # the same bound as a /v1 request body
MAX_DEPTH = 32
LOGIN_WINDOW_S = 15 * 60
# The Gradio routes the page and gradio_client use; others (proxying URLs, media streams,
# component servers, code editing, reloads, monitoring) answer 404.
_GRADIO_ROUTES = re.compile(
    r"/(?:|openapi\.json|config/?|login/?|logout|theme\.css|favicon\.ico|robots\.txt|manifest\.json"
    r"|(?:assets|static|svelte)/.+"
    r"|gradio_api/(?:info/?|openapi\.json|queue/(?:join|data|status)|heartbeat/[\w-]+|upload"
    r"|upload_progress|file=.+|(?:run|api)/\w+/?|call/(?:v2/)?\w+(?:/[\w-]+)?/?|cancel"
    r"|reset/?|startup-events|login_check/?|token/?|app_id/?|theme\.css|user/?))"
)


def prepare(bot: Assistant, build: bool = True) -> None:
    """Build the index on first run, or update it when the corpus changed since."""
    if not build or not bot.is_stale():
        return
    from assistant.progress import progress_printer
    from assistant.text_render import render_report

    print("Indexing the corpus (only new or changed files are embedded)…", file=sys.stderr)
    with progress_printer() as progress:
        report = bot.start_index_job(progress=progress).result()
    print(render_report(report), file=sys.stderr)


def create_app(bot: Assistant) -> Any:
    go_offline()  # before gradio is imported: it reads its telemetry switch then
    uploads = upload_folder()  # before the Blocks exist: components read it when built
    import gradio as gr
    from fastapi import FastAPI

    from assistant.api import router
    from assistant.web import WebChat

    settings = bot.settings
    mcp = HttpEndpoint(bot)
    app = FastAPI(
        title="AI race assistant", version="0.1.0", docs_url=None, redoc_url=None,
        lifespan=mcp.lifespan,
    )  # fmt: skip
    app.state.bot = bot
    app.state.logins = LoginLimiter(settings.web.login_attempts)
    app.include_router(router)
    app.router.routes.append(Route(MCP_PATH, mcp, include_in_schema=False))  # before Gradio's "/"
    chat = WebChat(bot, uploads)
    blocks = chat.create_app()
    blocks.queue(
        default_concurrency_limit=settings.web.concurrency, max_size=settings.web.queue_size
    )
    gr.mount_gradio_app(
        app,
        blocks,
        path="/",
        auth=web_login(settings),
        allowed_paths=[],
        blocked_paths=blocked_paths(settings, uploads),
        show_error=False,
        footer_links=[],
        run_history=False,
        max_file_size=int(settings.web.max_upload_mb * 1024 * 1024),
        theme=chat.theme,
        css=chat.css,
        head=chat.head,
        ssr_mode=False,
        mcp_server=False,
    )
    blocks.has_launched = True  # Gradio skips its own "was this file uploaded?" check until then
    upload_limit = int(settings.web.uploads_quota_mb * 1024 * 1024) + 64 * 1024
    app.add_middleware(
        Guard, uploads=uploads, logins=app.state.logins, upload_limit=upload_limit,
        events=frozenset(blocks.fns),
    )  # fmt: skip
    return app


def web_login(settings: Settings) -> tuple[str, str] | None:
    secret = settings.web.auth
    if secret is None:
        return None
    user, sep, password = secret.get_secret_value().partition(":")
    if not sep or not user or not password:
        raise ConfigError(
            "The web auth setting must be 'user:password' (ASSISTANT_WEB__AUTH or --auth-file)."
        )
    return user, password


def blocked_paths(settings: Settings, uploads: Path) -> list[str]:
    """Folders Gradio must never copy or serve from, even if a check upstream let a path by."""
    places: list[str | Path] = [settings.index.path, settings.corpus.path, Path.home()]
    places += ["/proc", "/sys", "/dev", "/etc", "/root", "/var", "/run", "/boot"]
    resolved = {Path(p).resolve() for p in places}
    return sorted(str(p) for p in resolved if not uploads.is_relative_to(p))


# ---- the guard in front of Gradio ------------------------------------------------------------


class LoginLimiter:
    """Failed logins per client address: after ``attempts`` failures within LOGIN_WINDOW_S the
    address must wait until the oldest of them leaves the window."""

    def __init__(self, attempts: int) -> None:
        self.attempts = attempts
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait_s(self, client: str) -> int:
        with self._lock:
            recent = self._recent(client)
            if len(recent) < self.attempts:
                return 0
            return int(recent[0] + LOGIN_WINDOW_S - time.monotonic()) + 1

    def failed(self, client: str) -> None:
        with self._lock:
            self._recent(client).append(time.monotonic())

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)

    def _recent(self, client: str) -> deque[float]:
        recent = self._failures.setdefault(client, deque())
        while recent and recent[0] < time.monotonic() - LOGIN_WINDOW_S:
            recent.popleft()
        return recent


def client_of(scope: Scope) -> str:
    host = (scope.get("client") or ("unknown", 0))[0]
    return str(host)


class Refused(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


class Guard:
    """ASGI middleware for every request outside /v1 and /mcp (both check their own)."""

    def __init__(
        self,
        app: ASGIApp,
        uploads: Path,
        logins: LoginLimiter,
        upload_limit: int,
        events: frozenset[int],
    ) -> None:
        self.app = app
        self.uploads = uploads
        self.logins = logins
        self.upload_limit = upload_limit
        self.events = events  # the fn_index of every event the Blocks define

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in ("/v1", MCP_PATH) or path.startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        try:
            receive = await self._check(scope, receive)
        except Refused as exc:
            await refuse(send, exc)
            return
        if _is_login(scope):
            send = self._count_login(scope, send)
        await self.app(scope, receive, send)

    async def _check(self, scope: Scope, receive: Receive) -> Receive:
        path, method = scope["path"], scope["method"]
        if not _GRADIO_ROUTES.fullmatch(path):
            raise Refused(404, f"There is no page or endpoint {path[:80]}.")
        if path.startswith("/gradio_api/file="):
            await run_in_threadpool(self._served_file, path.removeprefix("/gradio_api/file="))
        if _is_login(scope):
            wait = self.logins.wait_s(client_of(scope))
            if wait:
                raise Refused(429, _too_many(wait), {"Retry-After": str(wait)})
        if method not in ("POST", "PUT", "PATCH"):
            return receive
        if path == "/gradio_api/upload":
            return await bounded(scope, receive, self.upload_limit, "upload", replay=False)
        body_receive = await bounded(scope, receive, MAX_EVENT_BYTES, "request")
        body = await _body_of(body_receive)
        if _is_json(scope):
            data = await run_in_threadpool(self._files_in, body)
            if path == "/gradio_api/queue/join":
                self._event_of(data)
        return _replay(body, receive)

    def _event_of(self, data: Any) -> None:
        """A queued event must name one of the app's events and give a list of inputs."""
        if not isinstance(data, dict) or not isinstance(data.get("data"), list):
            raise Refused(422, 'A queued event is an object whose "data" is a list of inputs.')
        fn = data.get("fn_index")
        if not isinstance(fn, int) or isinstance(fn, bool) or fn not in self.events:
            raise Refused(422, f"There is no event fn_index={str(fn)[:20]}; see /config.")

    def _served_file(self, name: str) -> None:
        from assistant.uploads import uploaded_file

        try:
            uploaded_file(name, self.uploads)
        except UploadError as exc:
            raise Refused(404, str(exc)) from None

    def _files_in(self, body: bytes) -> Any:
        """The parsed body, once every file entry in it names an upload of this server."""
        from assistant.uploads import uploaded_file

        try:
            data = json.loads(body or b"null")
        except (ValueError, RecursionError):
            raise Refused(400, "The request body is not valid JSON.") from None
        try:
            for name in file_entries(data):
                uploaded_file(name, self.uploads)
        except UploadError as exc:
            raise Refused(400, str(exc)) from None
        return data

    def _count_login(self, scope: Scope, send: Send) -> Send:
        client = client_of(scope)

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                ok = message["status"] < 400
                self.logins.succeeded(client) if ok else self.logins.failed(client)
            await send(message)

        return counted


def file_entries(data: Any, depth: int = 0) -> Iterator[str]:
    """The path of every file entry (an object with a "path" text) anywhere in ``data``;
    refuses what Gradio cannot take back out (deep nesting, numbers past 64 bits)."""
    if depth > MAX_DEPTH:
        raise Refused(400, f"The request body is nested more than {MAX_DEPTH} levels deep.")
    if isinstance(data, int) and not -(2**63) <= data < 2**64:
        raise Refused(400, "A number in the request is too large.")
    if isinstance(data, dict):
        if isinstance(data.get("path"), str):
            yield data["path"]
        for value in data.values():
            yield from file_entries(value, depth + 1)
    elif isinstance(data, list):
        for value in data:
            yield from file_entries(value, depth + 1)


def _is_login(scope: Scope) -> bool:
    return bool(scope["method"] == "POST" and scope["path"].rstrip("/") == "/login")


def _is_json(scope: Scope) -> bool:
    headers = dict(scope.get("headers") or [])
    kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    return kind in (b"application/json", b"text/plain", b"")


def _too_many(wait: int) -> str:
    return f"Too many failed logins from this address; try again in {wait // 60 + 1} minutes."


async def bounded(
    scope: Scope, receive: Receive, limit: int, what: str, replay: bool = True
) -> Receive:
    """``receive`` that refuses (413) a body over ``limit`` bytes, declared or streamed."""
    headers = dict(scope.get("headers") or [])
    declared = headers.get(b"content-length", b"")
    too_large = Refused(413, f"The {what} is larger than {limit // 1024} KiB.")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    received = 0

    async def counted() -> Message:
        nonlocal received
        message = await receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise too_large
        return message

    return counted


async def _body_of(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise Refused(400, "The request ended before its body.")
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


async def refuse(send: Send, exc: Refused) -> None:
    body = json.dumps({"detail": str(exc), "error": str(exc)}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in exc.headers.items()]
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# ---- running it ------------------------------------------------------------------------------


@contextmanager
def running(bot: Assistant, port: int, log_config: Any = "default") -> Iterator[str]:
    """The server on 127.0.0.1:``port`` in a background thread, for tests and benchmarks; yields
    its base URL once it answers. ``log_config=None`` lets uvicorn's loggers propagate."""
    import uvicorn

    kwargs: dict[str, Any] = {} if log_config == "default" else {"log_config": log_config}
    config = uvicorn.Config(
        create_app(bot), host="127.0.0.1", port=port, log_level="warning",
        timeout_graceful_shutdown=2, **kwargs,
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True  # open client streams are closed after the graceful timeout
        thread.join(timeout=15)


def exposure_notes(settings: Settings) -> list[str]:
    """What a user starting the server must know about who can reach it."""
    web = settings.web
    notes = []
    if web.auth is not None and web.api_token is None:
        notes.append(
            "note: no ASSISTANT_WEB__API_TOKEN is set, so the API under /v1 asks for the web "
            "login as HTTP Basic auth (curl -u user:password)."
        )
    if web.auth is None and not _is_loopback(web.host):
        notes.append(
            f"WARNING: the web chat listens on {web.host} without a login: anyone who can reach "
            "it can use it. Set ASSISTANT_WEB__AUTH (and ASSISTANT_WEB__API_TOKEN for /v1)."
        )
    return notes


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return bool(ipaddress.ip_address(host).is_loopback)
    except ValueError:
        return False


def serve(settings: Settings, build: bool = True) -> None:
    import uvicorn

    bot = Assistant(settings)
    prepare(bot, build)
    try:
        bot.model()  # the pre-flight check, before the first visitor waits for it
    except AssistantError as exc:
        print(f"warning: {exc} The page will show this until it is fixed.", file=sys.stderr)
    app = create_app(bot)
    for note in exposure_notes(settings):
        print(note, file=sys.stderr)
    where = f"http://{settings.web.host}:{settings.web.port}"
    print(f"Web chat on {where}/  ·  API on {where}/v1", file=sys.stderr)
    uvicorn.run(app, host=settings.web.host, port=settings.web.port, log_level="warning")
