"""Killing the indexer with SIGKILL at any moment leaves the previous index queryable, and the next
run completes the work without duplicates."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant import Assistant, Settings
from tests.conftest import REPO

pytestmark = pytest.mark.e2e
TOPICS = ["lithography", "memory", "accelerators", "packaging", "foundries", "software"]


def write_briefs(folder: Path, start: int, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + count):
        topic = TOPICS[i % len(TOPICS)]
        paragraphs = "\n\n".join(
            f"## Part {p}\n\nReport tag{i:04d}x on {topic}, part {p}: "
            f"shipments of item {i * 7 + p} rose in quarter {p % 4 + 1} "
            f"while regulators reviewed case {i}-{p}. " * 3
            for p in range(6)
        )
        (folder / f"brief-{i:04d}.md").write_text(
            f"---\ntitle: Brief {i}\n---\n# Brief {i}\n\n{paragraphs}\n"
        )


def files_done(index: Path) -> int:
    try:
        with sqlite3.connect(index / "manifest.sqlite", timeout=1) as db:
            return int(db.execute("SELECT COUNT(*) FROM files").fetchone()[0])
    except sqlite3.Error:
        return 0


def start_indexing(corpus: Path, index: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ASSISTANT_CORPUS__PATH": str(corpus), "ASSISTANT_INDEX__PATH": str(index)}
    cmd = [sys.executable, "-m", "assistant", "index", "--json", *extra]
    return subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def kill_after(proc: subprocess.Popen[bytes], index: Path, more_than: int) -> None:
    deadline = time.monotonic() + 300
    while files_done(index) <= more_than and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the indexer finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def check_complete(bot: Assistant, expected_docs: int) -> None:
    status = bot.status()
    assert status.documents == expected_docs
    stored = bot.store.count(status.collection)
    assert stored == status.chunks, "chunks in the store and in the manifest differ"
    ids = [c.id for c in bot.store.scan(status.collection)]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("rebuild", [False, True], ids=["incremental", "rebuild"])
def test_sigkill_mid_run_keeps_the_old_index_and_the_next_run_completes(
    tmp_path: Path, rebuild: bool
) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    write_briefs(corpus, 0, 10)
    first = start_indexing(corpus, index)
    assert first.wait(300) == 0, first.stderr.read() if first.stderr else ""
    write_briefs(corpus, 10, 150)

    proc = start_indexing(corpus, index, *(["--rebuild"] if rebuild else []))
    kill_after(proc, index, more_than=10 + 5)

    settings = Settings(corpus={"path": corpus}, index={"path": index})  # type: ignore[arg-type]
    survivor = Assistant(settings)
    hits = survivor.search("report tag0003x on lithography", k=3, mode="bm25").hits
    assert hits and hits[0].chunk.source == "brief-0003.md"
    if rebuild:
        assert survivor.status().documents == 10  # the live index is still the previous one

    again = start_indexing(corpus, index)
    _, err = again.communicate(timeout=600)
    assert again.returncode == 0, err.decode()
    check_complete(Assistant(settings), 160)
