from __future__ import annotations

import codecs
import os
import sys
from pathlib import Path

import pytest

from assistant.errors import BadDocumentError
from assistant.loading import load, scan
from assistant.settings import CorpusSettings
from benchmarks.html_extract import DATA, cases, ours, score, trafilatura_direct
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
    assert doc.meta["publisher"] == "Fixture Tech News"
    assert any(s.heading.endswith("CPM") for s in doc.sections)


ARTICLE = """<html><head><title>Chips for China</title>
<meta name="author" content="Li Wei"><meta property="og:site_name" content="Chip Weekly">
<meta property="article:published_time" content="2024-03-05"></head><body>
<nav>Home | World | Subscribe now</nav><article><h1>Chips for China</h1>
<p>After the 2022 rules, Nvidia designed several data-centre chips for the Chinese market.</p>
<h2>Which chips</h2><p>The table lists the chips that were made for China and their makers.</p>
<table><tr><th>Chip</th><th>Maker</th><th>Year</th></tr>
<tr><td>A800</td><td>Nvidia</td><td>2022</td></tr><tr><td>H20</td><td>Nvidia</td><td>2023</td></tr>
</table><p>Each of them was later caught by a newer version of the export rules.</p></article>
<footer>Copyright Chip Weekly. All rights reserved.</footer></body></html>"""


def test_html_keeps_table_rows_together_and_reads_author_and_site(tmp_path: Path) -> None:
    (tmp_path / "chips.html").write_text(ARTICLE, encoding="utf-8")
    doc = load(tmp_path / "chips.html", tmp_path, SETTINGS)
    lines = doc.text.splitlines()
    assert any("A800" in line and "Nvidia" in line and "2022" in line for line in lines)
    assert any("H20" in line and "2023" in line for line in lines)
    assert doc.meta["author"] == "Li Wei"
    assert doc.meta["publisher"] == "Chip Weekly"
    assert doc.meta["date"] == "2024-03-05"
    table = next(s for s in doc.sections if "H20" in s.text)
    assert table.heading == "Chips for China > Which chips"
    assert "Copyright" not in doc.text and "Subscribe" not in doc.text


CHINESE = "华为昇腾芯片在二零二三年以后成为国内训练大模型的主要选择之一，寒武纪也推出了新的加速卡。"


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("gbk.txt", CHINESE.encode("gbk"), CHINESE),
        ("gb18030.md", f"# 芯片\n\n{CHINESE}".encode("gb18030"), CHINESE),
        ("cp1252.txt", "Café déjà vu: the “rules” are in force — since 2023.".encode("cp1252"),
         "Café déjà vu: the “rules” are in force — since 2023."),
        ("latin1.txt", "café au lait, crème brûlée and a naïve façade".encode("latin-1"),
         "café au lait, crème brûlée"),
        ("utf16.txt", "Export rules, with a byte-order mark".encode("utf-16"),
         "Export rules, with a byte-order mark"),
        ("utf16be.txt", codecs.BOM_UTF16_BE + "Big-endian UTF-16".encode("utf-16-be"),
         "Big-endian UTF-16"),
        ("utf32be.txt", codecs.BOM_UTF32_BE + "Big-endian UTF-32".encode("utf-32-be"),
         "Big-endian UTF-32"),
        ("bom.md", "\ufeff# Title\n\nUTF-8 with a BOM".encode(), "UTF-8 with a BOM"),
    ],
)  # fmt: skip
def test_text_in_other_encodings_is_indexed(
    tmp_path: Path, name: str, data: bytes, expected: str
) -> None:
    (tmp_path / name).write_bytes(data)
    doc = load(tmp_path / name, tmp_path, SETTINGS)
    assert expected in doc.text
    assert "\ufeff" not in doc.text


def test_html_declared_charset_is_used(tmp_path: Path) -> None:
    for charset in ("gbk", "gb2312", "gb18030"):
        page = (
            f'<html><head><meta charset="{charset}"><title>芯片</title></head><body><article>'
            f"<h1>芯片</h1><p>{CHINESE}</p><p>{CHINESE[::-1]}</p></article></body></html>"
        )
        (tmp_path / f"{charset}.html").write_bytes(page.encode("gb18030"))
        doc = load(tmp_path / f"{charset}.html", tmp_path, SETTINGS)
        assert CHINESE in doc.text, charset


def test_a_stray_bad_byte_does_not_change_the_declared_encoding(tmp_path: Path) -> None:
    polish = "Kolejne organizacje sprzeciwiają się atakom na Fundację Lux Veritatis. " * 20
    page = f'<html><head><meta charset="UTF-8"></head><body><article><p>{polish}</p>'
    (tmp_path / "pl.html").write_bytes(page.encode() + b"<p>\xc3(</p></article></body></html>")
    doc = load(tmp_path / "pl.html", tmp_path, SETTINGS)
    assert "sprzeciwiają się atakom na Fundację" in doc.text


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.md", b"", "empty"),
        ("binary.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00rest", "binary"),
        ("random.txt", bytes(range(256)) * 64, "binary"),
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "damaged"),
        ("script.html", b"<html><script>x()</script><nav>menu</nav></html>", "no readable"),
        ("notzip.docx", b"plain text with a .docx name", "damaged or not a .docx"),
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
    assert info.value.hint


def test_shared_real_pages_score_close_to_trafilatura() -> None:
    """Real saved news and blog pages in several languages and encodings, read from ../shared
    at test time, or from HTML_EVAL_DIR (a quarter of them; benchmarks/html_extract.py scores them
    all)."""
    rows = cases(DATA)[::4]
    mine, direct = score(ours, rows), score(trafilatura_direct, rows)
    assert mine.failed == []
    assert mine.f1 >= 0.85, mine.to_dict()
    assert mine.f1 >= direct.f1 - 0.02, (mine.to_dict(), direct.to_dict())


# ---- PDF -----------------------------------------------------------------------------------


def test_pdf_keeps_page_numbers(corpus: Path) -> None:
    doc = load(corpus / "hbm-report.pdf", corpus, SETTINGS)
    pages = {s.page for s in doc.sections}
    assert pages == {1, 2}
    page2 = next(s for s in doc.sections if s.page == 2)
    assert "SK hynix" in page2.text
    assert doc.sections[0].heading == ""


@pytest.mark.parametrize(
    ("broken", "replacement"),
    [(b"/Info 7 0 R", b"/Info 3   "), (b"/Info 7 0 R", b"/Info 99 0 R")],
    ids=["info-not-a-dictionary", "info-points-nowhere"],
)
def test_damaged_metadata_does_not_cost_the_text(
    tmp_path: Path, broken: bytes, replacement: bytes
) -> None:
    make_pdf(tmp_path / "good.pdf", ["The text of this report must survive its metadata."])
    data = (tmp_path / "good.pdf").read_bytes()
    assert broken in data
    (tmp_path / "meta.pdf").write_bytes(data.replace(broken, replacement))
    doc = load(tmp_path / "meta.pdf", tmp_path, SETTINGS)
    assert "must survive its metadata" in doc.text
    assert doc.title == "Meta"


def test_pdf_title_and_author_come_from_its_metadata(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    make_pdf(tmp_path / "plain.pdf", ["HBM export rules in brief."])
    writer = PdfWriter(clone_from=PdfReader(tmp_path / "plain.pdf"))
    writer.add_metadata({"/Title": "HBM rules", "/Author": "A. Analyst"})
    writer.write(tmp_path / "titled.pdf")
    doc = load(tmp_path / "titled.pdf", tmp_path, SETTINGS)
    assert doc.title == "HBM rules"
    assert doc.meta["author"] == "A. Analyst"


def test_pdf_table_rows_stay_on_one_line(tmp_path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=11)
    pdf.multi_cell(0, 8, "Chips made for China after the 2022 rules.")
    with pdf.table() as table:
        for cells in (("Chip", "Maker", "Year"), ("H20", "Nvidia", "2023"),
                      ("Ascend 910B", "Huawei", "2023")):  # fmt: skip
            row = table.row()
            for cell in cells:
                row.cell(cell)
    pdf.output(str(tmp_path / "table.pdf"))
    lines = [
        " ".join(line.split())
        for line in load(tmp_path / "table.pdf", tmp_path, SETTINGS).text.splitlines()
    ]
    assert "Ascend 910B Huawei 2023" in lines
    assert "H20 Nvidia 2023" in lines


def _locked_and_scanned(tmp_path: Path) -> None:
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


def test_encrypted_and_scanned_pdfs_are_explained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))  # no ocrmypdf to be found
    _locked_and_scanned(tmp_path)
    with pytest.raises(BadDocumentError, match="encrypted"):
        load(tmp_path / "locked.pdf", tmp_path, SETTINGS)
    with pytest.raises(BadDocumentError, match="no text layer") as info:
        load(tmp_path / "scan.pdf", tmp_path, SETTINGS)
    assert "OCR" in info.value.hint


def _tool(folder: Path, name: str, body: str) -> None:
    """An executable on PATH standing in for an installed command-line tool."""
    folder.mkdir(exist_ok=True)
    script = folder / name
    script.write_text(f"#!{sys.executable}\nimport sys\n{body}\n")
    script.chmod(0o755)


# Writes the output PDF with a text layer, as ocrmypdf does after Tesseract read the scan.
FAKE_OCRMYPDF = f"""
sys.path.insert(0, {str(Path(__file__).parent.parent)!r})
from tests.conftest import make_pdf
assert sys.argv[1:3] == ["--skip-text", "--quiet"], sys.argv
make_pdf(__import__("pathlib").Path(sys.argv[4]), ["Text read from the scanned page."])
"""


def test_scanned_pdf_is_ocrd_when_ocrmypdf_is_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _locked_and_scanned(tmp_path)
    _tool(tmp_path / "bin", "ocrmypdf", FAKE_OCRMYPDF)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    doc = load(tmp_path / "scan.pdf", tmp_path, SETTINGS)
    assert "Text read from the scanned page." in doc.text
    assert [s.heading for s in doc.sections] == ["page 1 (OCR)"]
    with pytest.raises(BadDocumentError, match="no text layer"):
        load(tmp_path / "scan.pdf", tmp_path, CorpusSettings(ocr=False))


def test_failing_ocr_is_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _locked_and_scanned(tmp_path)
    _tool(tmp_path / "bin", "ocrmypdf", "print('tesseract: command not found', file=sys.stderr)"
          "\nsys.exit(3)")  # fmt: skip
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(BadDocumentError, match="OCR failed") as info:
        load(tmp_path / "scan.pdf", tmp_path, SETTINGS)
    assert "tesseract: command not found" in info.value.reason
    assert "Tesseract" in info.value.hint


# ---- Word ----------------------------------------------------------------------------------


def _report_docx(path: Path) -> None:
    import docx

    word = docx.Document()
    word.core_properties.title = "Chip report 2024"
    word.core_properties.author = "Policy Desk"
    word.add_heading("Chip report", level=0)
    word.add_paragraph("This report covers the chips sold in China.")
    word.add_heading("Findings", level=1)
    word.add_heading("Data-centre chips", level=2)
    word.add_paragraph("Nvidia sold the H20 in China in 2024 after the 2023 rules.")
    table = word.add_table(rows=3, cols=2)
    cells = [("Chip", "Maker"), ("H20", "Nvidia"), ("Ascend 910C", "Huawei")]
    for row, (chip, maker) in zip(table.rows, cells, strict=True):
        row.cells[0].text, row.cells[1].text = chip, maker
    word.add_heading("Policy", level=1)
    word.add_paragraph("The rules were tightened again in December 2024.")
    word.save(str(path))


def test_docx_headings_become_citation_locations(tmp_path: Path) -> None:
    _report_docx(tmp_path / "report.docx")
    doc = load(tmp_path / "report.docx", tmp_path, SETTINGS)
    assert doc.title == "Chip report 2024"
    assert doc.meta["author"] == "Policy Desk"
    by_text = {s.heading: s.text for s in doc.sections}
    assert "H20 in China" in by_text["Chip report > Findings > Data-centre chips"]
    assert "December 2024" in by_text["Chip report > Policy"]
    assert "| Ascend 910C | Huawei |" in doc.text.splitlines()
    for section in doc.sections:
        assert doc.text[section.offset : section.offset + len(section.text)] == section.text


def test_docx_that_unpacks_too_far_is_refused(tmp_path: Path) -> None:
    import docx

    word = docx.Document()
    word.add_paragraph("a" * 3_000_000)  # compresses to a few KB
    word.save(str(tmp_path / "bomb.docx"))
    assert (tmp_path / "bomb.docx").stat().st_size < 100_000
    with pytest.raises(BadDocumentError, match="unpacks to"):
        load(tmp_path / "bomb.docx", tmp_path, CorpusSettings(max_file_mb=0.1))


# ---- limits and scanning -------------------------------------------------------------------


def test_too_large_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_text("word " * 100_000)
    with pytest.raises(BadDocumentError, match="over the"):
        load(tmp_path / "big.txt", tmp_path, CorpusSettings(max_file_mb=0.1))


def test_scan_skips_readme_hidden_and_unknown_types(tmp_path: Path) -> None:
    for name in ("README.md", ".hidden.md", "notes.odt", "report.docx", "a.md", "sub/b.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    assert [p.relative_to(tmp_path).as_posix() for p in scan(tmp_path, SETTINGS)] == [
        "a.md",
        "report.docx",
        "sub/b.txt",
    ]
