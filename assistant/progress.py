"""Progress of long index builds: a bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from assistant.indexing import Progress, ProgressFn

PLAIN_EVERY_S = 5.0


@contextmanager
def progress_printer(enabled: bool = True) -> Iterator[ProgressFn | None]:
    if not enabled:
        yield None
        return
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar: Any = None

        def on_bar(p: Progress) -> None:
            nonlocal bar
            if bar is None:
                bar = tqdm(total=p.files_total, unit="file", file=sys.stderr)
            bar.set_postfix(chunks=p.chunks_done)
            bar.update(1)

        yield on_bar
        if bar is not None:
            bar.close()
        return
    started = last = time.monotonic()

    def on_line(p: Progress) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= PLAIN_EVERY_S or p.files_done == p.files_total:
            rate = p.files_done / max(now - started, 1e-6)
            left = (p.files_total - p.files_done) / rate if rate else 0.0
            print(
                f"indexing: {p.files_done}/{p.files_total} files, {p.chunks_done} chunks embedded, "
                f"{rate:.1f} files/s, about {left:.0f} s left",
                file=sys.stderr,
                flush=True,
            )
            last = now

    yield on_line
