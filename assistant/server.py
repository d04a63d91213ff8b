"""The server: one FastAPI app with the HTTP API under /v1 and the Gradio web chat at /."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from assistant.core import Assistant
from assistant.errors import AssistantError, ConfigError
from assistant.settings import Settings


def prepare(bot: Assistant, build: bool = True) -> None:
    """Build the index on first run, or update it when the corpus changed since."""
    if not build or not bot.is_stale():
        return
    from assistant.cli import render_report
    from assistant.progress import progress_printer

    print("Indexing the corpus (only new or changed files are embedded)…", file=sys.stderr)
    with progress_printer() as progress:
        report = bot.index(progress=progress)
    print(render_report(report), file=sys.stderr)


def create_app(bot: Assistant) -> Any:
    import gradio as gr
    from fastapi import FastAPI

    from assistant.api import router
    from assistant.web import WebChat

    settings = bot.settings
    app = FastAPI(title="AI race assistant", version="0.1.0", docs_url=None, redoc_url=None)
    app.state.bot = bot
    app.include_router(router)
    chat = WebChat(bot)
    blocks = chat.create_app()
    blocks.queue(
        default_concurrency_limit=settings.web.concurrency, max_size=settings.web.queue_size
    )
    return gr.mount_gradio_app(
        app,
        blocks,
        path="/",
        auth=_auth(settings.web.auth),
        show_error=False,
        footer_links=[],
        run_history=False,
        max_file_size=int(settings.web.max_upload_mb * 1024 * 1024),
        theme=chat.theme,
        css=chat.css,
        head=chat.head,
    )


def _auth(value: str | None) -> tuple[str, str] | None:
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise ConfigError(
            "The web auth setting must be 'user:password' (ASSISTANT_WEB__AUTH or --auth)."
        )
    return user, password


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


def serve(settings: Settings, build: bool = True) -> None:
    import uvicorn

    bot = Assistant(settings)
    prepare(bot, build)
    try:
        bot.model()  # the pre-flight check, before the first visitor waits for it
    except AssistantError as exc:
        print(f"warning: {exc} The page will show this until it is fixed.", file=sys.stderr)
    app = create_app(bot)
    where = f"http://{settings.web.host}:{settings.web.port}"
    print(f"Web chat on {where}/  ·  API on {where}/v1", file=sys.stderr)
    uvicorn.run(app, host=settings.web.host, port=settings.web.port, log_level="warning")
