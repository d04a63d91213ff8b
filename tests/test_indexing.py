"""Incremental, versioned indexing — one suite, run against the embedded store and a real
Chroma server started on 127.0.0.1."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant import Assistant, Filters
from assistant.errors import ConfigError
from assistant.indexing import EXIT_EMPTY, EXIT_PARTIAL, Progress
from tests.conftest import HashEmbedder, free_port, server_process, settings_for


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    chroma = Path(sys.executable).parent / "chroma"
    cmd = [str(chroma), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    with server_process(cmd, f"{url}/api/v2/heartbeat"):
        yield url


@pytest.fixture(params=["embedded", "server"])
def bot(request: pytest.FixtureRequest, tmp_path: Path, corpus: Path) -> Assistant:
    settings = settings_for(tmp_path, corpus)
    if request.param == "server":
        settings.index.chroma_url = request.getfixturevalue("chroma_server")
    return Assistant(settings, embedder=HashEmbedder())


def test_first_build_then_nothing_to_do(bot: Assistant) -> None:
    first = bot.index()
    assert sorted(first.added) == [
        "export-rules.md",
        "hbm-report.pdf",
        "minerals.txt",
        "models.html",
    ]
    assert first.exit_code == 0 and first.documents == 4 and first.chunks > 4
    again = bot.index()
    assert again.added == [] and len(again.unchanged) == 4
    assert again.chunks_embedded == 0 and again.chunks == first.chunks


def test_only_changed_passages_are_embedded(bot: Assistant, corpus: Path) -> None:
    bot.index()
    path = corpus / "export-rules.md"
    path.write_text(
        path.read_text() + "\n## Later\n\nIn 2025 a licence was required for the H20.\n"
    )
    report = bot.index()
    assert report.changed == ["export-rules.md"]
    assert 1 <= report.chunks_embedded < 3 and report.chunks_reused >= 1
    hits = bot.search("licence required for the H20 in 2025", k=3, mode="bm25")
    assert any("2025" in h.chunk.text for h in hits.hits)


def test_a_touched_file_is_unchanged_and_an_edit_of_the_same_size_is_not(
    bot: Assistant, corpus: Path
) -> None:
    bot.index()
    touched, edited = corpus / "minerals.txt", corpus / "export-rules.md"
    os.utime(touched, ns=(10**18, 10**18))  # new mtime, same bytes
    text = edited.read_text()
    edited.write_text(text.replace("October", "Oktober"))  # same size, new bytes
    assert edited.stat().st_size == len(text.encode())
    report = bot.index()
    assert "minerals.txt" in report.unchanged and report.changed == ["export-rules.md"]
    again = bot.index()
    assert again.changed == [] and len(again.unchanged) == 4 and again.chunks_embedded == 0
    assert bot.search("Oktober", k=3, mode="bm25").hits


@pytest.mark.e2e
def test_index_with_nothing_changed_loads_neither_the_model_nor_the_store(
    tmp_path: Path, corpus: Path
) -> None:
    env = {**os.environ, "ASSISTANT_CORPUS__PATH": str(corpus),
           "ASSISTANT_INDEX__PATH": str(tmp_path / "ix")}  # fmt: skip
    # What the run pulled in is printed after its report: the model and the store are the
    # seconds of a start, so a run that needs neither must not import them.
    script = (
        "import sys; from assistant.cli import main; code = main(['index', '--json']); "
        "print([m for m in ('openvino', 'chromadb', 'torch', 'transformers') if m in sys.modules])"
    )
    runs = [
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
        for _ in range(2)
    ]
    assert all(run.returncode == 0 for run in runs), runs[0].stderr
    report, loaded = runs[1].stdout.rsplit("\n[", 1)
    assert len(json.loads(report)["unchanged"]) == 4 and json.loads(report)["chunks_embedded"] == 0
    assert loaded == "]\n"
    assert "chromadb" in runs[0].stdout  # the first run, which wrote, did open the store


def test_a_new_process_loads_the_saved_bm25_index_and_never_a_stale_one(
    bot: Assistant, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot.index()
    first = [h.chunk.id for h in bot.search("gallium germanium licences", mode="bm25").hits]
    later = Assistant(bot.settings, embedder=HashEmbedder())  # as a new process would

    def no_scan(name: str) -> None:
        raise AssertionError("the BM25 index was rebuilt from the store")

    monkeypatch.setattr(later.store, "scan", no_scan)
    assert [h.chunk.id for h in later.search("gallium germanium licences", mode="bm25")] == first
    monkeypatch.undo()
    (corpus / "minerals.txt").write_text("Antimony exports were licensed from September 2024.\n")
    bot.index()
    hits = later.search("antimony exports licensed", mode="bm25").hits
    assert hits and hits[0].chunk.source == "minerals.txt" and "Antimony" in hits[0].chunk.text


def test_rename_is_not_re_embedded_and_duplicates_are_skipped(bot: Assistant, corpus: Path) -> None:
    bot.index()
    (corpus / "minerals.txt").rename(corpus / "critical-minerals.txt")
    shutil.copy(corpus / "models.html", corpus / "models-copy.html")
    report = bot.index()
    assert report.renamed == [("minerals.txt", "critical-minerals.txt")]
    assert report.duplicates == [("models-copy.html", "models.html")]
    assert report.chunks_embedded == 0 and report.removed == []
    hits = bot.search("gallium germanium licences", k=2, mode="bm25").hits
    assert hits[0].chunk.source == "critical-minerals.txt"
    assert report.documents == 4


def test_removed_files_leave_the_index(bot: Assistant, corpus: Path) -> None:
    bot.index()
    (corpus / "models.html").unlink()
    report = bot.index()
    assert report.removed == ["models.html"]
    found = bot.search("Qwen2 Apache licence", k=10, mode="bm25").hits
    assert all(h.chunk.source != "models.html" for h in found)


def test_bad_files_fail_alone_with_a_distinct_exit_code(bot: Assistant, corpus: Path) -> None:
    (corpus / "empty.md").write_bytes(b"")
    (corpus / "binary.md").write_bytes(b"\x00\x01\x02binary")
    report = bot.index()
    assert {f.path for f in report.failed} == {"empty.md", "binary.md"}
    assert report.documents == 4 and report.exit_code == EXIT_PARTIAL


def test_nothing_indexable_has_its_own_exit_code(tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "empty.md").write_bytes(b"")
    bot = Assistant(settings_for(tmp_path, folder), embedder=HashEmbedder())
    assert bot.index().exit_code == EXIT_EMPTY


def test_new_chunking_settings_build_beside_and_switch(bot: Assistant) -> None:
    first = bot.index()
    bot.settings.chunking.chunk_size = 300
    second = bot.index()
    assert second.switched_from == first.collection
    assert second.collection != first.collection
    assert first.collection not in bot.store.names()
    assert bot.status().collection == second.collection


def test_status_reports_what_changed_since_the_build(bot: Assistant, corpus: Path) -> None:
    bot.index()
    (corpus / "new.md").write_text("# New\n\nA new brief about chips.\n")
    status = bot.status()
    assert status.exists and status.documents == 4
    assert status.changed_since["new"] == ["new.md"]
    assert bot.is_stale()


def test_filters_by_date_and_topic(bot: Assistant) -> None:
    bot.index()
    since = bot.search("Qwen models", k=10, filters=Filters(since="2024-01-01"), mode="bm25").hits
    assert since and all(h.chunk.date >= "2024-01-01" for h in since)
    until = bot.search("Qwen models", k=10, filters=Filters(until="2023-12-31"), mode="bm25").hits
    assert all(h.chunk.source != "models.html" for h in until)
    bot.settings.retrieval.min_similarity = 0.0  # the hash embedder's scores are low
    topic = bot.search(
        "chips export", k=10, filters=Filters(topics=("ai-chips",)), mode="dense"
    ).hits
    assert topic and all("ai-chips" in h.chunk.topics for h in topic)


def test_missing_corpus_folder_is_a_clear_error(tmp_path: Path) -> None:
    bot = Assistant(settings_for(tmp_path, tmp_path / "nope"), embedder=HashEmbedder())
    with pytest.raises(ConfigError, match="does not exist"):
        bot.index()


def test_a_file_that_disappears_mid_run_is_reported(fake_bot: Assistant, corpus: Path) -> None:
    def vanish(progress: Progress) -> None:
        if progress.path == "export-rules.md":
            (corpus / "models.html").unlink()

    report = fake_bot.index(progress=vanish)
    assert [(f.path, f.reason) for f in report.failed] == [
        ("models.html", "the file disappeared while indexing")
    ]
    assert report.documents == 3 and report.exit_code == EXIT_PARTIAL


def pdf_bomb(path: Path, text_mb: int) -> None:
    """A small PDF whose one page expands to ``text_mb`` MB of text when parsed."""
    import zlib

    content = zlib.compress(b"BT /F1 12 Tf 72 712 Td (" + b"A" * (text_mb << 20) + b") Tj ET", 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 << /Type /Font /Subtype /Type1 "
        b"/BaseFont /Helvetica >> >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(content)
        + content
        + b"\nendstream",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 5\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
    path.write_bytes(bytes(out))


def test_pdf_parsing_is_stopped_at_its_time_and_memory_limits(corpus: Path, tmp_path: Path) -> None:
    from assistant.errors import BadDocumentError
    from assistant.loading import load
    from assistant.settings import CorpusSettings

    with pytest.raises(BadDocumentError, match="longer than"):
        load(corpus / "hbm-report.pdf", corpus, CorpusSettings(pdf_timeout_s=0.01))
    pdf_bomb(tmp_path / "bomb.pdf", text_mb=600)
    assert (tmp_path / "bomb.pdf").stat().st_size < 2 << 20
    with pytest.raises(BadDocumentError, match="memory") as info:
        load(tmp_path / "bomb.pdf", tmp_path, CorpusSettings(pdf_memory_mb=256))
    assert "PDF_MEMORY_MB" in info.value.hint
