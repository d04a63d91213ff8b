from __future__ import annotations

from pathlib import Path

from assistant.chunking import chunk_document
from assistant.loading import load
from assistant.settings import ChunkingSettings, CorpusSettings


def test_chunks_carry_metadata_offsets_and_stable_ids(corpus: Path) -> None:
    doc = load(corpus / "export-rules.md", corpus, CorpusSettings())
    settings = ChunkingSettings(chunk_size=120, chunk_overlap=20)
    first = chunk_document(doc, settings)
    second = chunk_document(doc, settings)
    assert [c.id for c in first] == [c.id for c in second]
    assert len({c.id for c in first}) == len(first) > 2
    for chunk in first:
        assert doc.text[chunk.start : chunk.end] == chunk.text
        assert chunk.source == "export-rules.md"
        assert chunk.url == "https://example.org/rules"
        assert chunk.date == "2023-10-17"
        assert len(chunk.text) <= 120 + 120 // 3  # a short piece may join its neighbour
    assert any("What the 2023 update changed" in c.heading for c in first)


def test_an_edit_elsewhere_keeps_the_ids_of_untouched_passages(corpus: Path) -> None:
    settings = ChunkingSettings(chunk_size=200, chunk_overlap=0)
    before = chunk_document(load(corpus / "export-rules.md", corpus, CorpusSettings()), settings)
    path = corpus / "export-rules.md"
    path.write_text(path.read_text().replace("performance density test", "density test"))
    after = chunk_document(load(path, corpus, CorpusSettings()), settings)
    kept = {c.id for c in before} & {c.id for c in after}
    assert kept and len(kept) < len(before)


def test_a_heading_is_never_a_passage_of_its_own(tmp_path: Path) -> None:
    bullets = "\n".join(f"- Point {i}: the model had {i}.5 billion parameters." for i in range(40))
    (tmp_path / "cpm.md").write_text(f"# Title\n\n## CPM-1 (2020)\n\n{bullets}\n")
    doc = load(tmp_path / "cpm.md", tmp_path, CorpusSettings())
    chunks = chunk_document(doc, ChunkingSettings(chunk_size=300, chunk_overlap=0))
    assert all(c.text.strip().lstrip("#").strip() not in ("Title", "CPM-1 (2020)") for c in chunks)
    assert chunks[0].text.startswith("## CPM-1 (2020)") and "Point 0:" in chunks[0].text
    assert all("Point 39:" in c.text or "Point 39:" not in doc.text for c in chunks[-1:])


def test_an_html_title_with_nothing_under_it_is_not_a_passage(corpus: Path) -> None:
    doc = load(corpus / "models.html", corpus, CorpusSettings())
    chunks = chunk_document(doc, ChunkingSettings())
    assert [c.heading for c in chunks] == [
        "Open models from China > Qwen",
        "Open models from China > CPM",
    ]
