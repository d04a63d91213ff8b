"""Adding links and files: a real HTTP server on 127.0.0.1 serves real saved pages (from
../shared, read at test time) and a PDF; request-forgery checks, limits and failures."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from assistant import Assistant
from assistant.errors import BadDocumentError
from assistant.fetching import fetch
from assistant.settings import FetchSettings
from benchmarks.html_extract import DATA, require
from tests.conftest import REPO, HashEmbedder, make_pdf, settings_for

GERMAN_PAGE = "kyffhaeuser-nachrichten.de-Regen.html"  # ISO-8859-1, declared only in the page
GERMAN_FACT = "der Oktober 2023 sehr viel Regen und eine äußerst milde Witterung"
ALLOW_LOCAL = FetchSettings(allow_hosts=["127.0.0.1"], timeout_s=2, max_mb=1)


class Site(BaseHTTPRequestHandler):
    pdf: bytes = b""

    def do_GET(self) -> None:
        routes = {
            "/news.html": lambda: self._send((DATA / "pages" / GERMAN_PAGE).read_bytes(),
                                             "text/html"),
            "/report.pdf": lambda: self._send(self.pdf, "application/pdf"),
            "/notes.txt": lambda: self._send("Gallium export curbs.".encode("cp1252"),
                                             "text/plain; charset=windows-1252"),
            "/image.png": lambda: self._send(b"\x89PNG\r\n\x1a\n" + bytes(100), "image/png"),
            "/moved": lambda: self._redirect("/news.html"),
            "/loop": lambda: self._redirect("/loop"),
            "/to-private": lambda: self._redirect("http://10.0.0.7/admin"),
            "/to-metadata": lambda: self._redirect("http://169.254.169.254/latest/meta-data/"),
            "/to-other-loopback": lambda: self._redirect("http://127.0.0.2/"),
            "/big": lambda: self._send(b"<p>" + b"x" * 2_000_000 + b"</p>", "text/html"),
            "/big-unsized": self._unsized,
            "/slow": self._slow,
            "/drip": self._drip,
        }  # fmt: skip
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # a client at its limit
            routes.get(self.path, lambda: self._send(b"not here", "text/plain", status=404))()

    def _send(self, body: bytes, kind: str, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, where: str) -> None:
        self.send_response(302)
        self.send_header("Location", where)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _unsized(self) -> None:  # no Content-Length: the limit must hold while reading
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        for _ in range(40):
            self.wfile.write(b"<p>" + b"y" * 50_000 + b"</p>")

    def _slow(self) -> None:
        time.sleep(4)
        self._send(b"<p>late</p>", "text/html")

    def _drip(self) -> None:  # each byte in time, the whole far too late
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        for _ in range(40):
            self.wfile.write(b"<p>drip</p>")
            self.wfile.flush()
            time.sleep(0.1)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pdf = tmp_path_factory.mktemp("site") / "report.pdf"
    make_pdf(pdf, ["Page one: China's memory makers in brief.",
                   "Page two: CXMT and YMTC expanded their DRAM and NAND flash output in 2025 "
                   "despite the export rules."])  # fmt: skip
    Site.pdf = pdf.read_bytes()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _bot(tmp_path: Path, corpus: Path, **fetch: object) -> Assistant:
    settings = settings_for(tmp_path, corpus)
    settings.fetch = FetchSettings(**fetch)  # type: ignore[arg-type]
    return Assistant(settings, embedder=HashEmbedder())


def _front_matter(path: Path) -> dict[str, object]:
    text = path.read_text(encoding="utf-8")
    loaded = yaml.safe_load(text.split("---\n")[1])
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture()
def saved_pages() -> Path:
    """The shared real pages the site serves; a clear failure, not a skip, when they are absent."""
    return require(DATA)


@pytest.mark.usefixtures("saved_pages")
def test_a_page_and_a_pdf_are_saved_with_front_matter_and_indexed(
    tmp_path: Path, corpus: Path, site: str
) -> None:
    bot = _bot(tmp_path, corpus, allow_hosts=["127.0.0.1"])
    bot.index()
    report = bot.add([f"{site}/news.html", f"{site}/report.pdf"])
    assert report.failed == [] and report.exit_code == 0
    page, pdf = (corpus / a.path for a in report.added)
    assert page.parent == corpus / "web" and page.suffix == ".md"
    meta = _front_matter(page)
    assert meta["url"] == f"{site}/news.html"
    assert str(meta["title"]).startswith("So viel Regen gab es lange nicht")
    assert meta["date"] == "2023-10-31"
    assert meta["publisher"]
    assert str(meta["fetched_at"]).startswith(str(time.gmtime().tm_year))
    assert GERMAN_FACT in page.read_text(encoding="utf-8")  # decoded from ISO-8859-1
    assert "Letzte Kommentare" not in page.read_text(encoding="utf-8")
    assert report.index is not None and sorted(report.index.added) == sorted(
        a.path for a in report.added
    )
    hits = bot.search("CXMT YMTC DRAM NAND flash output", k=3).hits
    assert hits[0].chunk.source == report.added[1].path
    assert hits[0].chunk.location.endswith("§ Page 2")
    assert hits[0].chunk.url == f"{site}/report.pdf"
    assert _front_matter(pdf)["publisher"] == "127.0.0.1"
    assert _front_matter(pdf)["title"] == "Report"  # the PDF has no title of its own


def test_adding_a_link_again_updates_its_file(tmp_path: Path, corpus: Path, site: str) -> None:
    bot = _bot(tmp_path, corpus, allow_hosts=["127.0.0.1"])
    first = bot.add([f"{site}/notes.txt"]).added[0].path
    again = bot.add([f"{site}/notes.txt"])
    assert again.added[0].path == first
    assert len(list((corpus / "web").iterdir())) == 1
    assert "Gallium export curbs." in (corpus / first).read_text(encoding="utf-8")


@pytest.mark.usefixtures("saved_pages")
def test_redirects_are_followed_up_to_the_limit(site: str) -> None:
    assert fetch(f"{site}/moved", ALLOW_LOCAL).url == f"{site}/news.html"
    with pytest.raises(BadDocumentError, match="more than 3 redirects") as info:
        fetch(f"{site}/loop", ALLOW_LOCAL)
    assert "MAX_REDIRECTS" in info.value.hint


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://127.0.0.1:{port}/news.html", "loopback"),
        ("http://localhost:{port}/news.html", "loopback"),
        ("http://[::1]:{port}/news.html", "loopback"),
        ("http://10.1.2.3/", "private"),
        ("http://192.168.0.1/router", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://224.0.0.1/", "multicast"),
        ("http://0.0.0.0:{port}/", "unspecified"),
        ("http://[::ffff:127.0.0.1]:{port}/", "loopback"),
    ],
)
def test_private_addresses_are_refused_without_an_allowance(site: str, url: str, kind: str) -> None:
    port = site.rsplit(":", 1)[1]
    with pytest.raises(BadDocumentError) as info:
        fetch(url.format(port=port), FetchSettings())
    assert f"{kind} address that links may not reach" in info.value.reason
    assert "ASSISTANT_FETCH__ALLOW_HOSTS" in info.value.hint


@pytest.mark.parametrize(
    ("path", "address"),
    [("/to-private", "10.0.0.7"), ("/to-metadata", "169.254.169.254"),
     ("/to-other-loopback", "127.0.0.2")],
)  # fmt: skip
def test_a_redirect_to_a_private_address_is_refused(site: str, path: str, address: str) -> None:
    with pytest.raises(BadDocumentError, match=f"resolves to {address}, a "):
        fetch(f"{site}{path}", ALLOW_LOCAL)


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/big", "over the 1 MB limit"),
        ("/big-unsized", "over the 1 MB limit"),
        ("/slow", "took longer than 2 s"),
        ("/drip", "took longer than 2 s"),
        ("/missing", "answered 404 Not Found"),
    ],
)
def test_oversize_slow_and_missing_responses_are_refused(site: str, path: str, reason: str) -> None:
    began = time.monotonic()
    with pytest.raises(BadDocumentError, match=reason) as info:
        fetch(f"{site}{path}", ALLOW_LOCAL)
    assert time.monotonic() - began < 3.5  # stopped at the limit, not after the whole response
    assert info.value.hint


def test_failed_links_lose_nothing_indexed_before(tmp_path: Path, corpus: Path, site: str) -> None:
    bot = _bot(tmp_path, corpus, allow_hosts=["127.0.0.1"], timeout_s=2, max_mb=1)
    bot.index()
    before = bot.status()
    report = bot.add([f"{site}/image.png", f"{site}/big", f"{site}/slow", "http://10.9.9.9/",
                      "ftp://example.org/file.pdf", "http://[::1/", "https://\udb18x/",
                      str(tmp_path / "missing.docx")])  # fmt: skip
    assert report.added == [] and report.index is None and report.exit_code == 4
    reasons = [f.reason for f in report.failed]
    assert "not a web page, PDF or text" in reasons[0] and "image/png" in reasons[0]
    assert "no such file" in reasons[-1]
    assert "not a valid link" in reasons[5] and "characters a web address" in reasons[6]
    assert len(reasons) == 8 and all(f.hint for f in report.failed)
    assert not (corpus / "web").exists()
    after = bot.status()
    assert (after.documents, after.chunks) == (before.documents, before.chunks)
    assert bot.search("SK hynix", k=1).hits[0].chunk.source == "hbm-report.pdf"


def test_one_failed_link_does_not_stop_the_others(tmp_path: Path, corpus: Path, site: str) -> None:
    bot = _bot(tmp_path, corpus, allow_hosts=["127.0.0.1"])
    bot.index()
    report = bot.add([f"{site}/missing", f"{site}/report.pdf"])
    assert report.exit_code == 3
    assert [f.path for f in report.failed] == [f"{site}/missing"]
    assert report.index is not None and report.index.added == [report.added[0].path]


def test_files_are_checked_then_copied_into_the_corpus(tmp_path: Path, corpus: Path) -> None:
    import docx

    word = docx.Document()
    word.add_heading("Findings", level=1)
    word.add_paragraph("Huawei's Ascend 910C shipped in volume in 2025.")
    word.save(str(tmp_path / "brief.docx"))
    (tmp_path / "bad.docx").write_bytes(b"not a zip")
    bot = _bot(tmp_path, corpus)
    report = bot.add([tmp_path / "brief.docx", tmp_path / "bad.docx", corpus / "minerals.txt"])
    assert [a.path for a in report.added] == ["uploads/brief.docx", "minerals.txt"]
    assert "damaged or not a .docx" in report.failed[0].reason
    assert not (corpus / "uploads" / "bad.docx").exists()
    hit = bot.search("Ascend 910C shipped", k=1).hits[0]
    assert hit.chunk.location == "uploads/brief.docx § Findings"


@pytest.mark.e2e
def test_cli_add_prints_json_and_exits_by_outcome(tmp_path: Path, site: str) -> None:
    from tests.conftest import write_corpus

    corpus = write_corpus(tmp_path / "corpus")
    env = {**os.environ, "ASSISTANT_CORPUS__PATH": str(corpus),
           "ASSISTANT_INDEX__PATH": str(tmp_path / "ix"),
           "ASSISTANT_FETCH__ALLOW_HOSTS": '["127.0.0.1"]'}  # fmt: skip
    cmd = [sys.executable, "-m", "assistant", "add"]
    run = {"capture_output": True, "text": True, "env": env, "cwd": REPO, "timeout": 600}
    done = subprocess.run([*cmd, f"{site}/report.pdf", f"{site}/loop", "--json"], **run)
    assert done.returncode == 3, done.stderr
    data = json.loads(done.stdout)
    assert data["added"][0]["path"].startswith("web/127-0-0-1-report-pdf-")
    assert "redirects" in data["failed"][0]["reason"]
    assert data["index"]["documents"] == 5
    refused = subprocess.run([*cmd, "http://169.254.169.254/"], **run)
    assert refused.returncode == 4
    assert "link-local address" in refused.stdout and "Traceback" not in refused.stderr


def test_http_api_adds_links_with_the_token(tmp_path: Path, corpus: Path, site: str) -> None:
    import httpx

    from tests.conftest import serving

    bot = _bot(tmp_path, corpus, allow_hosts=["127.0.0.1"])
    bot.index()
    bot.settings.web.api_token = "tok"  # type: ignore[assignment]
    auth = {"Authorization": "Bearer tok"}
    with serving(bot) as base:
        links = {"links": [f"{site}/report.pdf", "http://169.254.169.254/latest/"]}
        done = httpx.post(f"{base}/v1/documents", json=links, headers=auth, timeout=60)
        wrong = httpx.post(f"{base}/v1/documents", json={"links": ["ftp://x/"]}, headers=auth)
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["exit_code"] == 3 and body["added"][0]["path"].startswith("web/")
    assert "link-local address" in body["failed"][0]["reason"]
    assert body["index"]["documents"] == 5
    assert wrong.status_code == 422


def test_http_api_refuses_to_add_without_a_token_setting(
    tmp_path: Path, corpus: Path, site: str
) -> None:
    import httpx

    from tests.conftest import serving

    with serving(_bot(tmp_path, corpus, allow_hosts=["127.0.0.1"])) as base:
        refused = httpx.post(f"{base}/v1/documents", json={"links": [f"{site}/report.pdf"]})
    assert refused.status_code == 403 and "ASSISTANT_WEB__API_TOKEN" in refused.text
    assert not (corpus / "web").exists()


def test_web_chat_adds_a_link_when_uploads_are_on(tmp_path: Path, corpus: Path, site: str) -> None:
    from assistant.web import WebChat

    bot = _bot(tmp_path, corpus, allow_hosts=["127.0.0.1"])
    bot.index()
    chat = WebChat(bot)
    off = chat.add_link(f"{site}/report.pdf")[0]
    assert "ASSISTANT_WEB__UPLOADS=true" in off and not (corpus / "web").exists()
    bot.settings.web.uploads = True
    added = chat.add_link(f"{site}/report.pdf")[0]
    assert "web/127-0-0-1-report-pdf-" in added
    assert "5 documents" in added
    refused = chat.add_link("http://10.0.0.1/intranet")[0]
    assert "private address" in refused and "ASSISTANT_FETCH__ALLOW_HOSTS" in refused
    assert "Not a link" in chat.add_link("report.pdf")[0]
