from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import BadDocumentError
from assistant.loading import load, scan
from assistant.settings import CorpusSettings
from tests.conftest import make_pdf

SETTINGS = CorpusSettings()


def test_markdown_keeps_front_matter_and_heading_paths(corpus: Path) -> None:
    doc = load(corpus / "export-rules.md", corpus, SETTINGS)
    assert doc.title == "Fixture: the 2022 and 2023 US chip export rules"
    assert doc.meta["url"] == "https://example.org/rules"
    assert doc.meta["date"] == "2023-10-17"
    assert doc.meta["topics"] == ["export-controls", "ai-chips"]
    headings = [s.heading for s in doc.sections]
    assert "The 2022 and 2023 chip rules > What the 2023 update changed" in headings
    for section in doc.sections:
        assert doc.text[section.offset : section.offset + len(section.text)] == section.text


def test_html_extracts_the_article_not_scripts_or_menus(corpus: Path) -> None:
    doc = load(corpus / "models.html", corpus, SETTINGS)
    assert "Apache 2.0" in doc.text
    for noise in ("ignore me", "Subscribe", "Site header", "footer", "alert"):
        assert noise not in doc.text
    assert doc.meta["url"] == "https://example.org/models"
    assert doc.meta["date"] == "2024-06-07"
    assert any(s.heading.endswith("CPM") for s in doc.sections)


def test_pdf_keeps_page_numbers(corpus: Path) -> None:
    doc = load(corpus / "hbm-report.pdf", corpus, SETTINGS)
    pages = {s.page for s in doc.sections}
    assert pages == {1, 2}
    page2 = next(s for s in doc.sections if s.page == 2)
    assert "SK hynix" in page2.text


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.md", b"", "empty"),
        ("binary.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00rest", "binary"),
        ("latin1.txt", "caf\xe9 au lait".encode("latin-1"), "not UTF-8"),
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "damaged"),
        ("script.html", b"<html><script>x()</script><nav>menu</nav></html>", "no readable"),
    ],
)
def test_bad_files_are_reported_by_reason(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(BadDocumentError) as info:
        load(tmp_path / name, tmp_path, SETTINGS)
    assert info.value.path == name
    assert reason in info.value.reason


def test_encrypted_and_scanned_pdfs_are_explained(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    make_pdf(tmp_path / "plain.pdf", ["secret text"])
    writer = PdfWriter()
    for page in PdfReader(tmp_path / "plain.pdf").pages:
        writer.add_page(page)
    writer.encrypt("pw")
    writer.write(tmp_path / "locked.pdf")
    blank = PdfWriter()
    blank.add_blank_page(width=200, height=200)
    blank.write(tmp_path / "scan.pdf")
    with pytest.raises(BadDocumentError, match="encrypted"):
        load(tmp_path / "locked.pdf", tmp_path, SETTINGS)
    with pytest.raises(BadDocumentError, match="no text layer") as info:
        load(tmp_path / "scan.pdf", tmp_path, SETTINGS)
    assert "OCR" in info.value.hint


def test_too_large_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_text("word " * 100_000)
    with pytest.raises(BadDocumentError, match="over the"):
        load(tmp_path / "big.txt", tmp_path, CorpusSettings(max_file_mb=0.1))


def test_scan_skips_readme_hidden_and_unknown_types(tmp_path: Path) -> None:
    for name in ("README.md", ".hidden.md", "notes.docx", "a.md", "sub/b.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    assert [p.relative_to(tmp_path).as_posix() for p in scan(tmp_path, SETTINGS)] == [
        "a.md",
        "sub/b.txt",
    ]
