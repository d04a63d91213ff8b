"""The command line: parse, call the library, print. Errors become one-line messages."""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, get_args

from assistant.backends import BACKENDS
from assistant.errors import AssistantError
from assistant.settings import SearchMode, Settings
from assistant.text_render import (
    render_added,
    render_answer,
    render_hits,
    render_report,
    render_status,
)

EXIT_ERROR = 1
READ_ONLY = frozenset({"ask", "search"})  # commands that write nothing

EXAMPLES = {
    "index": "assistant index --corpus corpus/ --json",
    "ask": 'assistant ask "Which Nvidia chips were made for China after the 2022 rules?"',
    "search": 'assistant search "export controls" --k 5 --since 2023-10-01',
    "serve": "assistant serve --port 7860",
    "eval": "assistant eval --qa tests/data/dev_qa.jsonl --json",
    "add": "assistant add https://example.org/report.html notes/brief.docx --json",
    "corpus": "assistant corpus check --json",
    "mcp": 'assistant mcp  (an MCP client config: "command": "assistant", "args": ["mcp"])',
}


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="assistant",
        description="Answers questions about the global AI race from a curated corpus, "
        "citing the exact source of every claim.",
        epilog="Settings: ASSISTANT_* environment variables or assistant.toml (see README).",
    )
    top.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = top.add_subparsers(dest="command", required=True)

    def command(name: str, text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=text, description=text, epilog=f"example: {EXAMPLES[name]}")
        p.add_argument("--index", type=Path, help="index folder (ASSISTANT_INDEX__PATH)")
        p.add_argument("--json", action="store_true", help="print one JSON object")
        return p

    p = command("index", "Build or update the index from the corpus folder.")
    p.add_argument("--corpus", type=Path, help="corpus folder (ASSISTANT_CORPUS__PATH)")
    p.add_argument("--rebuild", action="store_true", help="re-embed everything")
    p.add_argument("--status", action="store_true", help="show the index, change nothing")

    for name, text in (("ask", "Answer a question with cited sources."),
                       ("search", "Show the passages that match a query.")):  # fmt: skip
        p = command(name, text)
        p.add_argument("question" if name == "ask" else "query")
        p.add_argument("--k", type=int, help="number of passages")
        p.add_argument("--source", action="append", default=[], help="only this corpus path")
        p.add_argument("--publisher", action="append", default=[], help="only this publisher")
        p.add_argument("--topic", action="append", default=[], help="only this topic")
        p.add_argument("--since", default="", help="published on or after (YYYY-MM-DD)")
        p.add_argument("--until", default="", help="published on or before (YYYY-MM-DD)")
        if name == "ask":
            p.add_argument(
                "--backend", choices=list(BACKENDS),
                help="model backend (ASSISTANT_LLM__BACKEND)",
            )  # fmt: skip
        else:
            p.add_argument("--mode", choices=get_args(SearchMode), help="ranking")

    p = command("add", "Add links (web pages, PDFs) or files to the corpus and index them.")
    p.add_argument("items", nargs="+", metavar="URL|FILE", help="a link or a file to add")
    p.add_argument("--corpus", type=Path, help="corpus folder (ASSISTANT_CORPUS__PATH)")

    p = command("serve", "Start the web chat and the HTTP API.")
    p.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default 7860)")
    p.add_argument(
        "--auth", help="require this user:password (visible in ps: prefer ASSISTANT_WEB__AUTH)"
    )
    p.add_argument("--auth-file", type=Path, help="require the user:password in this file")
    p.add_argument("--corpus", type=Path, help="corpus folder")
    p.add_argument("--no-build", action="store_true", help="do not build a missing/stale index")

    p = command("eval", "Measure retrieval (and answers) on a question set.")
    p.add_argument("--qa", type=Path, required=True, help="JSONL question file")
    p.add_argument("--backend", choices=list(BACKENDS), help="also score answers from this backend")
    p.add_argument("--mode", choices=get_args(SearchMode), help="ranking")
    p.add_argument(
        "--compare", action="store_true", help="compare dense, BM25, hybrid and hybrid + cap"
    )
    p = command("corpus", "Check the curated corpus: front matter, links, coverage per topic.")
    p.add_argument("action", choices=["check"], help="what to do with the corpus")
    p.add_argument("--corpus", type=Path, help="corpus folder (ASSISTANT_CORPUS__PATH)")
    text = "Serve search, checked answers and the documents to an MCP client over stdio."
    p = sub.add_parser("mcp", help=text, description=text, epilog=f"example: {EXAMPLES['mcp']}")
    p.add_argument("--index", type=Path, help="index folder (ASSISTANT_INDEX__PATH)")
    p.add_argument("--corpus", type=Path, help="corpus folder (ASSISTANT_CORPUS__PATH)")
    return top


def main(argv: list[str] | None = None) -> int:
    """``argv`` None: this is the command line's own process (the ``assistant`` script or
    ``python -m assistant``), which a read-only command leaves as soon as its output is out."""
    args = parser().parse_args(argv)
    code = _run(args)
    if argv is None and args.command in READ_ONLY:
        _leave(code)
    return code


def _leave(code: int) -> NoReturn:
    """Exits without the interpreter's teardown of chromadb, OpenVINO and the rest (~0.2 s of
    every ask), once the exit handlers (the model process's) have run: nothing is left to save."""
    atexit._run_exitfuncs()
    with contextlib.suppress(OSError):  # a reader that went away (| head) is not an error here
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def _run(args: argparse.Namespace) -> int:
    try:
        settings = Settings()
        if getattr(args, "index", None):
            settings.index.path = args.index
        if getattr(args, "corpus", None):
            settings.corpus.path = args.corpus
        handler: Callable[[argparse.Namespace, Settings], int] = HANDLERS[args.command]
        return handler(args, settings)
    except AssistantError as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except ValueError as exc:  # a bad setting (pydantic's ValidationError) or argument
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (| head): what it took was printed
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _assistant(settings: Settings) -> Any:
    from assistant.core import Assistant

    return Assistant(settings)


def _filters(args: argparse.Namespace) -> Any:
    from assistant.records import Filters

    return Filters.parse(args.source, args.publisher, args.topic, args.since, args.until)


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    bot = _assistant(settings)
    if args.status:
        status = bot.status()
        if args.json:
            print(json.dumps(status.to_dict(), indent=2))
        else:
            print(render_status(status))
        return 0
    from assistant.progress import progress_printer

    with progress_printer() as progress:  # on stderr, so --json output stays clean
        report = bot.start_index_job(args.rebuild, progress).result()
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(render_report(report))
    return int(report.exit_code)


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.progress import progress_printer

    with progress_printer() as progress:  # on stderr, so --json output stays clean
        report = _assistant(settings).add(args.items, progress=progress)
    print(json.dumps(report.to_dict(), indent=2) if args.json else render_added(report))
    return int(report.exit_code)


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    result = _assistant(settings).search(
        args.query, k=args.k, filters=_filters(args), mode=args.mode
    )
    if args.json:
        body = {"relevant": result.relevant, "hits": [h.to_dict() for h in result.hits]}
        print(json.dumps(body, indent=2))
        return 0
    print(render_hits(result))
    return 0


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.records import Final, Token

    bot = _assistant(settings)
    started = time.monotonic()
    answer = None
    live = not args.json and sys.stdout.isatty()
    for event in bot.stream(args.question, filters=_filters(args), backend=args.backend, k=args.k):
        if isinstance(event, Token) and live:
            print(event.text, end="", flush=True)
        elif isinstance(event, Final):
            answer = event.answer
    assert answer is not None
    if args.json:
        from assistant.sanitizing import web_links

        data = answer.to_dict()
        data["citations"] = [web_links(c) for c in data["citations"]]  # http(s) links only
        data["seconds"] = round(time.monotonic() - started, 3)
        print(json.dumps(data, indent=2))
        return 0
    if live:
        print("\n")
    print(render_answer(answer))
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    if args.host:
        settings.web.host = args.host
    if args.port:
        settings.web.port = args.port
    from pydantic import SecretStr

    if args.auth_file:
        try:
            settings.web.auth = SecretStr(args.auth_file.read_text(encoding="utf-8").strip())
        except OSError as exc:
            message = f"Cannot read --auth-file {args.auth_file}: {exc.strerror}."
            raise AssistantError(message) from None
    elif args.auth:
        print("warning: --auth shows the password to anyone who can list processes; set "
              "ASSISTANT_WEB__AUTH or use --auth-file instead.", file=sys.stderr)  # fmt: skip
        settings.web.auth = SecretStr(args.auth)
    from assistant.server import serve

    serve(settings, build=not args.no_build)
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.evaluation import compare, evaluate, load_questions, render, render_comparison

    questions = load_questions(args.qa)
    if args.compare:
        rows = compare(_assistant(settings), questions)
        print(json.dumps(rows, indent=2) if args.json else render_comparison(rows))
        return 0
    result = evaluate(_assistant(settings), questions, backend=args.backend, mode=args.mode)
    print(json.dumps(result, indent=2) if args.json else render(result))
    return 0


def cmd_corpus(args: argparse.Namespace, settings: Settings) -> int:
    import datetime as dt

    from assistant.corpus_check import check_corpus, render

    report = check_corpus(settings.corpus.path, today=dt.date.today())
    print(json.dumps(report.to_dict(), indent=2) if args.json else render(report))
    return 0 if report.ok else EXIT_ERROR


def cmd_mcp(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.mcp_server import serve_stdio

    serve_stdio(settings)  # stdout carries the protocol: nothing else may print there
    return 0


HANDLERS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "index": cmd_index,
    "add": cmd_add,
    "search": cmd_search,
    "ask": cmd_ask,
    "serve": cmd_serve,
    "eval": cmd_eval,
    "corpus": cmd_corpus,
    "mcp": cmd_mcp,
}

if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
