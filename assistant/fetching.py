"""Fetching: bring links and files into the corpus.

A link (a web page, a PDF or plain text) is fetched with size and time limits, at most a few
redirects and a check against server-side request forgery: every host, the first and each one
redirected to, is resolved and refused when any of its addresses is private, loopback,
link-local, multicast or reserved, unless the settings allow it; the connection then goes to
the address that was checked, so a second DNS answer cannot swap it. The text is extracted and
saved under ``corpus/<fetch.folder>/`` as Markdown with front matter (title, url, publisher,
date, fetched_at), a curated source like the others. A file is checked by loading it, then
copied into ``corpus/uploads/``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import yaml

from assistant.errors import BadDocumentError
from assistant.indexing import EXIT_EMPTY, EXIT_OK, EXIT_PARTIAL, Failure, IndexReport
from assistant.loading import decode_text, html_markdown, load
from assistant.settings import FetchSettings, Settings

FILES_FOLDER = "uploads"  # the folder the web chat's uploads go to, too
_HTML_TYPES = {"text/html", "application/xhtml+xml"}
_TEXT_TYPES = {"text/plain", "text/markdown", "text/x-markdown"}
_USER_AGENT = "ai-race-assistant (adds one page a user asked for)"
_SSRF_HINT = "if you trust this host, add it to ASSISTANT_FETCH__ALLOW_HOSTS"
_RECOPY = "copy the link again from the browser's address bar"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass
class Added:
    item: str  # the link or file as the user gave it
    path: str  # where it is in the corpus, relative to the corpus folder
    title: str


@dataclass
class AddReport:
    added: list[Added] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    index: IndexReport | None = None

    @property
    def exit_code(self) -> int:
        if not self.added:
            return EXIT_EMPTY
        return EXIT_PARTIAL if self.failed else EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": [asdict(a) for a in self.added],
            "failed": [asdict(f) for f in self.failed],
            "index": self.index.to_dict() if self.index else None,
            "exit_code": self.exit_code,
        }


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    content_type: str
    charset: str
    data: bytes


def is_link(item: str | Path) -> bool:
    return isinstance(item, str) and re.match(r"\s*https?://", item, re.I) is not None


def shown(item: str) -> str:
    """``item`` safe to print and to send as JSON, whatever characters it holds."""
    return item.encode("utf-8", "backslashreplace").decode("utf-8")[:300]


def add_to_corpus(items: Sequence[str | Path], settings: Settings) -> AddReport:
    """Save each link or file into the corpus folder; a failure is reported and changes nothing."""
    report = AddReport()
    for item in items:
        try:
            rel, title = (
                save_link(str(item), settings) if is_link(item) else save_file(Path(item), settings)
            )
        except BadDocumentError as exc:
            report.failed.append(Failure(shown(str(item)), exc.reason, exc.hint))
            continue
        report.added.append(Added(str(item), rel, title))
    return report


# ---- files ---------------------------------------------------------------------------------


def save_file(path: Path, settings: Settings) -> tuple[str, str]:
    """Copy a loadable file into ``corpus/uploads``; a file already in the corpus stays put.
    Returns its corpus path and title."""
    corpus = settings.corpus.path.resolve()
    if not path.is_file():
        raise BadDocumentError(str(path), "no such file", "check the path")
    source = path.resolve()
    if source.is_relative_to(corpus):
        return source.relative_to(corpus).as_posix(), load(source, corpus, settings.corpus).title
    doc = load(source, source.parent, settings.corpus)  # raises, naming the file, if unreadable
    target = corpus / FILES_FOLDER / source.name
    if target.exists() and target.read_bytes() != source.read_bytes():
        raise BadDocumentError(
            str(path),
            f"a different file named {source.name} is already in {FILES_FOLDER}/",
            "rename one of them",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target.relative_to(corpus).as_posix(), doc.title


# ---- links ---------------------------------------------------------------------------------


def save_link(url: str, settings: Settings) -> tuple[str, str]:
    """Fetch ``url``, extract its text and save it as Markdown in the corpus; returns its
    corpus path and title."""
    folder = _folder(settings)
    fetched = fetch(url.strip(), settings.fetch)  # checks the link first
    body, meta = _extract(fetched, settings)
    host = urlsplit(fetched.url).hostname or ""
    front = {
        "title": meta.get("title") or _url_title(fetched.url),
        "url": fetched.url,
        "publisher": meta.get("publisher") or host,
        "date": meta.get("date", ""),
        "author": meta.get("author", ""),
        "fetched_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    text = "---\n" + yaml.safe_dump(
        {k: v for k, v in front.items() if v}, sort_keys=False, allow_unicode=True, width=1000
    )
    text += "---\n\n" + body.strip() + "\n"
    rel = f"{folder}/{_file_name(url.strip())}"
    _write_atomically(settings.corpus.path / rel, text)
    return rel, str(front["title"])


def _url_title(url: str) -> str:
    """ "Chip rules 2024" for .../chip-rules-2024.pdf; the host when the path says nothing."""
    parts = urlsplit(url)
    name = Path(parts.path.rstrip("/")).stem.replace("-", " ").replace("_", " ").strip()
    return name.capitalize() if name else parts.hostname or url


def _folder(settings: Settings) -> str:
    folder = settings.fetch.folder.strip("/")
    if not folder or ".." in Path(folder).parts or Path(folder).is_absolute():
        raise BadDocumentError(
            "ASSISTANT_FETCH__FOLDER", f"{folder!r} is not a folder inside the corpus",
            "name a plain sub-folder such as web",
        )  # fmt: skip
    return folder


def _file_name(url: str) -> str:
    """One stable name per link, so adding a link again updates its file."""
    parts = urlsplit(url)
    words = re.sub(r"[^a-z0-9]+", "-", f"{parts.hostname} {parts.path}".lower()).strip("-")
    digest = hashlib.sha256(url.encode()).hexdigest()[:8]
    return f"{words[:70].rstrip('-')}-{digest}.md"


def _write_atomically(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    hidden = target.with_name(f".{target.name}.part")  # hidden names are never indexed
    hidden.write_text(text, encoding="utf-8")
    os.replace(hidden, target)


def _extract(fetched: Fetched, settings: Settings) -> tuple[str, dict[str, Any]]:
    url, kind = fetched.url, fetched.content_type
    if kind == "application/pdf" or fetched.data.startswith(b"%PDF-"):
        return _pdf_markdown(fetched, settings)
    if kind in _HTML_TYPES:
        html = decode_text(fetched.data, url, html=True, declared=fetched.charset)
        body, meta = html_markdown(html, url)
        if not body.strip():
            raise BadDocumentError(
                url, "no readable article text on the page",
                "link to the article itself, or save its text as a file and add that",
            )  # fmt: skip
        return body, meta
    if kind in _TEXT_TYPES:
        return decode_text(fetched.data, url, declared=fetched.charset), {}
    raise BadDocumentError(
        url, f"the link gives {kind or 'an unnamed type'}, not a web page, PDF or text",
        "link to an HTML page or a PDF",
    )  # fmt: skip


def _pdf_markdown(fetched: Fetched, settings: Settings) -> tuple[str, dict[str, Any]]:
    """A fetched PDF becomes Markdown with one section a page, so citations keep the page."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fetched.pdf"
        path.write_bytes(fetched.data)
        try:
            doc = load(path, Path(tmp), settings.corpus)
        except BadDocumentError as exc:
            raise BadDocumentError(fetched.url, exc.reason, exc.hint) from exc
    pages = [
        f"## {(s.heading or f'page {s.page}').capitalize()}\n\n{s.text.strip()}"
        for s in doc.sections
    ]
    return "\n\n".join(pages), dict(doc.meta)


def fetch(url: str, settings: FetchSettings) -> Fetched:
    """GET ``url`` within the limits, following up to ``max_redirects`` checked redirects."""
    import httpx

    deadline = time.monotonic() + settings.timeout_s
    with httpx.Client(timeout=settings.timeout_s, trust_env=False) as client:
        for _ in range(settings.max_redirects + 1):
            target = _checked_target(url, settings)
            try:
                with client.stream("GET", target.address_url, **target.request_args()) as answer:
                    if answer.is_redirect and "location" in answer.headers:
                        url = urljoin(url, answer.headers["location"])
                        continue
                    return _read(url, answer, settings, deadline)
            except httpx.TimeoutException as exc:
                raise _too_slow(url, settings) from exc
            except httpx.HTTPError as exc:
                raise BadDocumentError(
                    url, f"the page could not be fetched ({type(exc).__name__}: {exc})",
                    "check the link and your connection, then try again",
                ) from exc  # fmt: skip
    raise BadDocumentError(
        url, f"more than {settings.max_redirects} redirects",
        "link to the final address, or raise ASSISTANT_FETCH__MAX_REDIRECTS",
    )  # fmt: skip


def _too_slow(url: str, settings: FetchSettings) -> BadDocumentError:
    return BadDocumentError(
        url, f"the server took longer than {settings.timeout_s:g} s",
        "try again later, or raise ASSISTANT_FETCH__TIMEOUT_S",
    )  # fmt: skip


def _read(url: str, answer: Any, settings: FetchSettings, deadline: float) -> Fetched:
    if answer.status_code >= 400:
        raise BadDocumentError(
            url, f"the server answered {answer.status_code} {answer.reason_phrase}",
            "check that the link opens in a browser",
        )  # fmt: skip
    limit = int(settings.max_mb * 2**20)
    declared = answer.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_big(url, settings)
    parts, size = [], 0
    for part in answer.iter_bytes():
        size += len(part)
        if size > limit:
            raise _too_big(url, settings)
        if time.monotonic() > deadline:
            raise _too_slow(url, settings)
        parts.append(part)
    kind, _, params = answer.headers.get("content-type", "").partition(";")
    charset = re.search(r"charset\s*=\s*\"?([\w.:-]+)", params, re.I)
    return Fetched(url, kind.strip().lower(), charset.group(1) if charset else "", b"".join(parts))


def _too_big(url: str, settings: FetchSettings) -> BadDocumentError:
    return BadDocumentError(
        url, f"the response is over the {settings.max_mb:g} MB limit",
        "save the document and add the file, or raise ASSISTANT_FETCH__MAX_MB",
    )  # fmt: skip


# ---- request forgery checks ----------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    url: str
    host: str
    address: IPAddress
    port: int

    @property
    def address_url(self) -> str:
        parts = urlsplit(self.url)
        ip = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        query = f"?{parts.query}" if parts.query else ""
        return f"{parts.scheme}://{ip}:{self.port}{parts.path or '/'}{query}"

    def request_args(self) -> dict[str, Any]:
        """Connect to the checked address while the server sees (and TLS verifies) the host."""
        default = {"http": 80, "https": 443}[urlsplit(self.url).scheme.lower()]
        host = self.host if self.port == default else f"{self.host}:{self.port}"
        if ":" in self.host:
            host = f"[{self.host}]" if self.port == default else f"[{self.host}]:{self.port}"
        return {
            "headers": {"Host": host, "User-Agent": _USER_AGENT},
            "extensions": {"sni_hostname": self.host},
        }


def _checked_target(url: str, settings: FetchSettings) -> _Target:
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError as exc:  # a broken [IPv6] host or port
        raise BadDocumentError(shown(url), f"not a valid link ({exc})", _RECOPY) from exc
    if not url.isprintable() or " " in url:
        raise BadDocumentError(
            shown(url), "the link has characters a web address cannot have", _RECOPY
        )
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise BadDocumentError(
            url, "not a web link", "give an address that starts with http:// or https://"
        )
    host = parts.hostname.lower()
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError) as exc:  # ValueError: a name IDNA cannot encode
        raise BadDocumentError(
            url, f"the host {host} could not be found", "check the link for typos"
        ) from exc
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]
    for address in addresses:
        if not _public(address) and not _allowed(host, address, settings.allow_hosts):
            raise BadDocumentError(
                url,
                f"{host} resolves to {address}, {_kind(address)} address that links may not reach",
                _SSRF_HINT,
            )
    return _Target(url, host, addresses[0], port)


def _public(address: IPAddress) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)
    address = mapped or address
    return address.is_global and not address.is_multicast and not address.is_reserved


def _allowed(host: str, address: IPAddress, allow: list[str]) -> bool:
    for entry in allow:
        entry = entry.strip().lower().strip("[]")
        if entry == host:
            return True
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def _kind(address: IPAddress) -> str:
    mapped = getattr(address, "ipv4_mapped", None)
    address = mapped or address
    for name in ("unspecified", "loopback", "link_local", "multicast", "private", "reserved"):
        if getattr(address, f"is_{name}"):
            name = name.replace("_", "-")
            return f"an {name}" if name[0] in "aeiou" else f"a {name}"
    return "a non-public"
