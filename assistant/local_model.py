"""The ``llamacpp`` backend: a GGUF model served by a supervised child process.

llama.cpp is native code: an illegal instruction, a damaged file or running out of memory kills
the process it runs in. So it runs in its own process (assistant/model_server.py), and this
side only talks HTTP to it on 127.0.0.1. When the child dies mid-answer, ``stream`` raises
``ModelCrashed`` (the answering stage then answers from the sources without a model) and a new
child is started for the next question. A CPU module that dies of an illegal instruction is
remembered and the next one is tried (assistant/native.py).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import secrets
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

# Imported here, not in the thread that starts the model process: a module imported by two
# threads at once (httpx also comes with chromadb) can reach one of them half initialised.
import httpx

from assistant import model_server
from assistant.errors import ModelCrashed, ModelError
from assistant.generation import BUNDLED_MAX_TOKENS, DEFAULT_MAX_TOKENS, Capabilities
from assistant.model_server import API_KEY_ENV
from assistant.native import (
    CpuModule,
    cache_dir,
    candidates,
    installed_modules,
    is_verified,
    remember,
)
from assistant.settings import LLMSettings

START_TIMEOUT_S = 180.0
GGUF_MAGIC = b"GGUF"
Message = dict[str, str]


@dataclass
class _Child:
    proc: subprocess.Popen[bytes]
    url: str
    key: str
    n_ctx: int
    module: CpuModule
    stderr: IO[bytes]
    workdir: str
    http: Any = None  # one keep-alive httpx.Client: a new connection a call cost ~20 ms

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.url, headers=self.headers())

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def stop(self) -> None:
        self.http.close()
        if self.proc.poll() is None:
            if self.proc.stdin:
                self.proc.stdin.close()  # the child exits when its stdin closes
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()
        _remove_quietly(self.workdir)


class LocalModel:
    """Implements ``generation.ChatModel`` over a model process that may die and come back. A
    small local model rewrites a follow-up worse than the rules of assistant/querying.py do, so
    it is not asked to."""

    capabilities = Capabilities(drafts=True, rewrites=False, local=True)

    def __init__(
        self,
        settings: LLMSettings,
        stop: list[str],
        bundled_source_tokens: int,
        modules: list[CpuModule] | None = None,
        widen: bool = True,
    ) -> None:
        from assistant.generation import bundled_gguf

        self.settings = settings
        self.path = settings.model_path or bundled_gguf()
        check_gguf(self.path)
        self.name = f"llamacpp:{self.path.name}"
        bundled = settings.model_path is None
        self.widened = widen and bundled  # not a configured model: 8 bits may not fit in memory
        self.source_tokens = settings.source_tokens or (bundled_source_tokens if bundled else 0)
        self.max_tokens = settings.max_tokens or (
            BUNDLED_MAX_TOKENS if bundled else DEFAULT_MAX_TOKENS
        )
        self.stop = stop
        self._modules = modules or candidates(installed_modules(), settings.cpu_module)
        self._child: _Child | None = None
        self._error: ModelError | None = None
        self._lock = threading.Lock()
        self._starting: threading.Thread | None = None
        self.restarts = 0
        self._start_in_background()
        atexit.register(self.close)

    # -- the ChatModel interface ------------------------------------------------------------

    @property
    def context_length(self) -> int:
        return self._ready().n_ctx

    def count_tokens(self, text: str) -> int:
        child = self._ready()
        try:
            reply = child.http.post("/extras/tokenize/count", json={"input": text}, timeout=30)
            return int(reply.json()["count"])
        except (httpx.HTTPError, ValueError, KeyError):
            return len(text) // 3 + 1  # the model process is gone; stream() will say so

    def stream(self, messages: list[Message]) -> Iterator[str]:
        child = self._ready()
        body = {
            "messages": messages,
            "stream": True,
            "temperature": self.settings.temperature,
            "max_tokens": self.max_tokens,
            "stop": self.stop,
            "seed": 0,
        }
        timeout = httpx.Timeout(self.settings.timeout_s, connect=10)
        try:
            with child.http.stream(
                "POST", "/v1/chat/completions", json=body, timeout=timeout
            ) as response:
                if response.status_code != 200:
                    response.read()
                    raise ModelError(
                        f"The local model refused the request (HTTP {response.status_code}): "
                        f"{response.text[:200]}"
                    )
                for line in response.iter_lines():
                    piece = _delta(line)
                    if piece is None:
                        return
                    if piece:
                        yield piece
        except httpx.HTTPError as exc:
            raise self._failure(child, exc) from exc
        if child.proc.poll() is not None:
            raise self._failure(child, None)

    # -- supervision ------------------------------------------------------------------------

    @property
    def pid(self) -> int:
        return self._ready().proc.pid

    @property
    def cpu_module(self) -> str:
        """The llama.cpp CPU code in use: x86-64-v3 or avx512."""
        return self._ready().module.name

    def warm(self) -> None:
        """Wait until the model process is up; raises the start error, if any."""
        self._ready()

    def close(self) -> None:
        with self._lock:
            child, self._child = self._child, None
        if child is not None:
            child.stop()

    def _start_in_background(self) -> None:
        thread = threading.Thread(target=self._start, name="local-model-start", daemon=True)
        self._starting = thread
        thread.start()

    def _start(self) -> None:
        try:
            child = self._launch_first_working()
        except ModelError as exc:
            self._error = exc
            return
        with self._lock:
            self._child, self._error = child, None

    def _ready(self) -> _Child:
        starting = self._starting
        if starting is not None:
            starting.join()
        with self._lock:
            child, error = self._child, self._error
        if child is not None and child.proc.poll() is None:
            return child
        if error is not None:
            raise error
        # Died between answers: start again, in the caller's time.
        self._start()
        return self._ready_after_restart()

    def _ready_after_restart(self) -> _Child:
        with self._lock:
            child, error = self._child, self._error
        if child is None:
            raise error or ModelError("The local model process could not be started.")
        return child

    def _failure(self, child: _Child, exc: Exception | None) -> ModelError:
        died = _wait_exit(child.proc, 2.0)
        if not died:
            return ModelError(f"The local model failed: {type(exc).__name__}: {exc}")
        reason = _exit_reason(child.proc.returncode)
        if child.proc.returncode == -signal.SIGILL:
            remember(child.module, "crashed")
            self._modules = [m for m in self._modules if m != child.module] or self._modules
        with self._lock:
            if self._child is child:
                self._child = None
        child.stop()
        self.restarts += 1
        self._start_in_background()
        return ModelCrashed(f"its process {reason}")

    def _launch_first_working(self) -> _Child:
        last: ModelError | None = None
        for module in list(self._modules):
            try:
                child = self._launch(module)
            except _IllegalInstruction as exc:
                remember(module, "crashed")
                last = ModelError(str(exc))
                continue
            if is_verified(module):
                return child
            if self._probe(child):
                remember(module, "ok")
                return child
            remember(module, "crashed")
            child.stop()
            last = ModelError(f"llama.cpp's {module.name} CPU code died on this machine")
        self._modules = [m for m in self._modules if is_verified(m)] or self._modules[-1:]
        raise last or ModelError("No llama.cpp CPU module works on this machine.")

    def _launch(self, module: CpuModule) -> _Child:
        key = secrets.token_urlsafe(24)
        workdir = tempfile.mkdtemp(prefix="assistant-model-")  # empty: ggml scans the cwd
        stderr = tempfile.TemporaryFile()  # noqa: SIM115 - owned by the child record
        # The file, not `-m assistant.model_server`: importing the package would load the whole
        # assistant (~0.2 s) into a process that needs none of it; -P keeps its folder off the path.
        cmd = [
            sys.executable, "-P", model_server.__file__, "--model", str(self.path),
            "--port", "0", "--n-ctx", str(self.settings.context_length),
            "--threads", str(self.settings.threads), "--cpu-module", str(module.path),
        ]  # fmt: skip
        if self.widened:
            cmd += ["--widen-into", str(cache_dir() / "models")]
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            cwd=workdir,
            env={**os.environ, API_KEY_ENV: key},
        )
        line = _read_line(proc, START_TIMEOUT_S)
        message = _parse(line)
        if "port" in message:
            return _Child(
                proc, f"http://127.0.0.1:{message['port']}", key, int(message["n_ctx"]),
                module, stderr, workdir,
            )  # fmt: skip
        _wait_exit(proc, 5.0)
        proc.kill()
        proc.wait()
        detail = message.get("error") or _tail(stderr)
        stderr.close()
        _remove_quietly(workdir)
        if proc.returncode == -signal.SIGILL:
            raise _IllegalInstruction(
                f"llama.cpp's {module.name} CPU code hit an illegal instruction on this machine"
            )
        if proc.returncode is not None and proc.returncode < 0:
            raise ModelError(
                f"llama.cpp {_exit_reason(proc.returncode)} while loading {self.path}: the file "
                "is damaged, not a model this llama.cpp supports, or too big for memory. "
                "Set ASSISTANT_LLM__MODEL_PATH to another GGUF file."
            )
        raise ModelError(f"llama.cpp could not load {self.path}: {detail}")

    def _probe(self, child: _Child) -> bool:
        """One short completion: proof that this CPU module really runs here. Only an unproven
        module is probed: a warm-up of every new process (the system prompt, to reuse as a
        cached prefix) was measured to cost a cold ask more (it held the model while the
        question's prompt was being fitted) than the ~0.15 s of prompt it saved."""
        body = {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}
        try:
            child.http.post("/v1/chat/completions", json=body, timeout=60).raise_for_status()
        except httpx.HTTPError:
            return not _wait_exit(child.proc, 2.0)  # only a death condemns the CPU module
        return child.proc.poll() is None


class _IllegalInstruction(Exception):
    pass


def check_gguf(path: Path) -> None:
    """A clear error before anything is started: missing, not GGUF, or too big for memory."""
    if not path.is_file():
        raise ModelError(
            f"The GGUF file {path} does not exist; set ASSISTANT_LLM__MODEL_PATH to a .gguf file."
        )
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic != GGUF_MAGIC:
        raise ModelError(
            f"{path} is not a GGUF model file (it does not start with the GGUF signature); "
            "set ASSISTANT_LLM__MODEL_PATH to a .gguf file, for example one converted with "
            "llama.cpp's convert_hf_to_gguf.py."
        )
    available = _available_memory()
    size = path.stat().st_size
    if available and size > available:
        raise ModelError(
            f"{path} needs about {size / 2**30:.1f} GiB of memory and only "
            f"{available / 2**30:.1f} GiB is available; use a smaller quantisation (Q4_K_M) "
            "or a model server (ASSISTANT_LLM__BACKEND=openai)."
        )


def _available_memory() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _delta(line: str) -> str | None:
    """The text of one server-sent event; None at the end of the stream."""
    if not line.startswith("data:"):
        return ""
    data = line[5:].strip()
    if data == "[DONE]":
        return None
    try:
        choice = json.loads(data)["choices"][0]
    except (ValueError, KeyError, IndexError):
        return ""
    return str((choice.get("delta") or {}).get("content") or "")


def _read_line(proc: subprocess.Popen[bytes], timeout: float) -> bytes:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            proc.kill()
            return b'{"error": "the model process did not start in time"}'
    return proc.stdout.readline()


def _parse(line: bytes) -> dict[str, Any]:
    try:
        value = json.loads(line.decode("utf-8", "replace") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _wait_exit(proc: subprocess.Popen[bytes], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while proc.poll() is None:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _exit_reason(code: int | None) -> str:
    if code is None:
        return "is still running"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        what = {
            "SIGILL": "illegal instruction",
            "SIGSEGV": "segmentation fault",
            "SIGKILL": "killed, perhaps out of memory",
            "SIGABRT": "aborted",
            "SIGBUS": "bus error",
        }.get(name, "killed")
        return f"died ({name}: {what})"
    return f"exited with status {code}"


def _tail(stream: IO[bytes], limit: int = 400) -> str:
    try:
        stream.seek(0)
        text = stream.read().decode("utf-8", "replace").strip()
    except (OSError, ValueError):
        return ""
    return text[-limit:]


def _remove_quietly(folder: str) -> None:
    with contextlib.suppress(OSError):
        os.rmdir(folder)
