"""The local model's own process: llama-cpp-python's OpenAI-compatible server on 127.0.0.1, with
llama.cpp's CPU code chosen for this machine (assistant/native.py).

The assistant starts it as a supervised child (assistant/local_model.py), so a crash in native
code costs one answer, not the web chat. It also runs on its own, as a model server for any
OpenAI client:

    python -m assistant.model_server --model model.gguf --port 8000

Supervised, it is started with ``--port 0``: it binds a free port, prints one JSON line
(``{"port": ..., "n_ctx": ...}`` or ``{"error": ...}``) on stdout, and exits when its standard
input closes, so it never outlives the assistant.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import sys
import threading
from pathlib import Path
from typing import Any

API_KEY_ENV = "ASSISTANT_MODEL_SERVER_KEY"  # the environment, not argv: ps shows argv


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m assistant.model_server", description=__doc__)
    parser.add_argument("--model", required=True, type=Path, help="GGUF file to serve")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0: a free port, told on stdout")
    parser.add_argument("--n-ctx", type=int, default=8192)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cpu-module", default="auto", help="auto, x86-64-v3, avx512 or a path")
    parser.add_argument("--alias", default=None, help="model name the server lists")
    parser.add_argument(
        "--widen-into", type=Path, default=None, metavar="DIR",
        help="serve an 8-bit (Q8_0) copy of the model, made once and kept in DIR",
    )  # fmt: skip
    args = parser.parse_args(argv)
    supervised = args.port == 0
    try:
        module = _cpu_module(args.cpu_module)
        os.environ["GGML_BACKEND_PATH"] = str(module)  # read by ggml when llama_cpp loads
        if supervised:
            threading.Thread(target=_exit_with_parent, daemon=True).start()
        original = args.model
        if args.widen_into:
            args.model = _widened(args.model, args.widen_into, args.threads)
        try:
            app, n_ctx = _app(args)
        except Exception:
            if args.model == original:
                raise
            args.model.unlink(missing_ok=True)  # a damaged copy: made again next time
            args.model = original
            app, n_ctx = _app(args)
        sock = listening(args.host, args.port)
    except Exception as exc:  # reported to the supervisor as one line, then exit
        _tell({"error": f"{type(exc).__name__}: {exc}"}, supervised)
        sys.exit(2)
    _tell({"port": sock.getsockname()[1], "n_ctx": n_ctx, "cpu_module": str(module)}, supervised)
    import uvicorn

    # The socket itself, not its fd: uvicorn rebuilds an fd as a Unix socket, so asyncio left
    # Nagle on and every small reply waited ~40 ms for the client's delayed ACK.
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


def listening(host: str, port: int) -> socket.socket:
    """A socket that already takes connections: the supervisor connects as soon as it is told
    the port, and a socket only bound, until uvicorn starts, refused it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)  # connections wait in the backlog until uvicorn accepts them
    return sock


def _cpu_module(choice: str) -> Path:
    if choice not in ("auto", "x86-64-v3", "avx512"):
        return Path(choice)
    from assistant.native import candidates, installed_modules

    return candidates(installed_modules(), choice)[0].path


def _widened(model: Path, folder: Path, threads: int) -> Path:
    """An 8-bit copy of a 4-bit GGUF, made once (about 0.6 s for the bundled model). llama.cpp
    reads a prompt ~1.8x faster in Q8_0 than in Q4_1 on x86 (benchmarks/answer.py), and Q8_0's
    step per block is far finer than Q4_1's, so the copy keeps the weights almost exactly. Any
    failure serves the original file instead."""
    import ctypes

    import llama_cpp

    stat = model.stat()
    target = folder / f"{model.stem}.as-Q8_0.{stat.st_size}-{stat.st_mtime_ns}.gguf"
    if target.is_file():
        return target
    partial = folder / f".{target.name}.{os.getpid()}.part"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0
        params.allow_requantize = True
        params.nthread = threads
        code = llama_cpp.llama_model_quantize(
            str(model).encode(), str(partial).encode(), ctypes.byref(params)
        )
        if code == 0:
            partial.replace(target)  # atomic: a second process sees the whole file or none
            return target
    except OSError:
        pass
    with contextlib.suppress(OSError):
        partial.unlink(missing_ok=True)
    return model


def _app(args: argparse.Namespace) -> tuple[Any, int]:
    from llama_cpp.server.app import create_app
    from llama_cpp.server.settings import ModelSettings, ServerSettings

    model = ModelSettings(
        model=str(args.model),
        model_alias=args.alias or args.model.name,
        n_ctx=args.n_ctx,
        n_threads=args.threads,
        n_threads_batch=args.threads,
        seed=0,
        verbose=False,
    )
    server = ServerSettings(
        host=args.host,
        port=args.port,
        api_key=os.environ.get(API_KEY_ENV),
        interrupt_requests=False,  # a second user's question must not cut the first one's answer
    )
    app = create_app(server_settings=server, model_settings=[model])
    from llama_cpp.server import app as server_app

    llama = server_app._llama_proxy(None) if server_app._llama_proxy else None
    if llama is None:
        raise RuntimeError(f"llama.cpp did not load {args.model}")
    if not llama.metadata.get("tokenizer.chat_template"):
        raise RuntimeError(
            f"{args.model} has no chat template in its metadata; use an instruction-tuned GGUF"
        )
    return app, int(llama.n_ctx())


def _tell(message: dict[str, Any], supervised: bool) -> None:
    if supervised:
        print(json.dumps(message), flush=True)
    elif "error" in message:
        print(f"error: {message['error']}", file=sys.stderr)
    else:
        print(f"serving on http://127.0.0.1:{message['port']}/v1 (context {message['n_ctx']} "
              f"tokens, CPU code {Path(message['cpu_module']).name})", file=sys.stderr)  # fmt: skip


def _exit_with_parent() -> None:
    sys.stdin.read()  # returns when the supervisor closes the pipe or dies
    os._exit(0)


if __name__ == "__main__":
    main()
