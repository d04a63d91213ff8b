from __future__ import annotations

from pathlib import Path

from assistant.chunking import chunk_document
from assistant.loading import load
from assistant.settings import ChunkingSettings, CorpusSettings


def test_chunks_carry_metadata_offsets_and_stable_ids(corpus: Path) -> None:
    doc = load(corpus / "export-rules.md", corpus, CorpusSettings())
    settings = ChunkingSettings(chunk_size=200, chunk_overlap=20)
    first = chunk_document(doc, settings)
    second = chunk_document(doc, settings)
    assert [c.id for c in first] == [c.id for c in second]
    assert len({c.id for c in first}) == len(first) > 2
    for chunk in first:
        assert doc.text[chunk.start : chunk.end] == chunk.text
        assert chunk.source == "export-rules.md"
        assert chunk.url == "https://example.org/rules"
        assert chunk.date == "2023-10-17"
        assert len(chunk.text) <= 200
    assert any("What the 2023 update changed" in c.heading for c in first)


def test_an_edit_elsewhere_keeps_the_ids_of_untouched_passages(corpus: Path) -> None:
    settings = ChunkingSettings(chunk_size=200, chunk_overlap=0)
    before = chunk_document(load(corpus / "export-rules.md", corpus, CorpusSettings()), settings)
    path = corpus / "export-rules.md"
    path.write_text(path.read_text().replace("performance density test", "density test"))
    after = chunk_document(load(path, corpus, CorpusSettings()), settings)
    kept = {c.id for c in before} & {c.id for c in after}
    assert kept and len(kept) < len(before)
