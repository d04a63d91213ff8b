"""The web chat: a Gradio app over one ready ``Assistant``, mounted at / by ``assistant.server``.

It streams answers, opens the passage behind each ``[n]`` marker in a side panel, flags
sentences the sources only partly support, applies topic / publisher / document / date
filters, shows which backend answers and the state of the index, and, when
``ASSISTANT_WEB__UPLOADS=true``, adds documents to the corpus.

API for scripts, with ``gradio_client``::

    import json
    from gradio_client import Client

    client = Client("http://127.0.0.1:7860/")
    reply = client.predict("Who made the CPM models?", api_name="/ask")
    answer = json.loads(reply)  # Answer.to_dict(): "answer", "citations", "sentences", ...

``/ask`` takes ``question``, then optionally ``history_json`` (a JSON list of
``{"role": "user" | "assistant", "content": "..."}`` turns), ``backend`` (empty for the
configured one) and ``filters_json`` (a JSON object with any of ``sources``, ``publishers``,
``topics``: lists of strings, and ``since``, ``until``: ``YYYY-MM-DD``). A problem (no index,
model server down, bad input) is raised as an error whose message says what to do.
``/chat`` is the page's own streaming chat event.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
import math
import os
import re
import stat
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.api import MAX_FILTER_VALUES, MAX_MESSAGES, MAX_TEXT_CHARS
from assistant.core import Assistant
from assistant.errors import AssistantError, ConfigError, UploadError
from assistant.fetching import AddReport, is_link
from assistant.indexing import IndexReport, Progress
from assistant.offline import go_offline, upload_folder
from assistant.records import Answer, Citation, Filters, Final, SentenceSupport
from assistant.sanitizing import safe_url, scrub_paths, unlink

go_offline()  # before gradio is imported: it reads its telemetry switch then

import gradio as gr  # noqa: E402

log = logging.getLogger(__name__)

Message = dict[str, Any]
ChatOutputs = tuple[str, list[Message], list[Message], str]

EXAMPLES = [
    "Which Nvidia chips were made for China after the 2022 rules?",
    "What is DeepSeek-V3 and how much did it cost to train?",
    "Who made the CPM models?",
    "What did China's 2017 AI development plan aim for?",
]
UPLOAD_SUFFIXES = (".md", ".txt", ".html", ".htm", ".pdf", ".docx")
UPLOADS_FOLDER = "uploads"
MAX_UPLOAD_FILES = 20
ABSTAIN_TITLE = "No answer in the sources"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MARKER = re.compile(r"\[(\d+)\]")
_BOLD = re.compile(r"\*\*(\S(?:.*?\S)?)\*\*")
_CODE = re.compile(r"`([^`\n]+)`")
_HEADING = re.compile(r"^#{1,6} +(.+)$", re.MULTILINE)
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_FILTER_KEYS = {"sources", "publishers", "topics", "since", "until"}
_BARE_LINK = re.compile(r"(?<=[A-Za-z])://|\bwww\.", re.IGNORECASE)
MAX_FILTER_CHARS = 500
COPY_CHUNK = 1024 * 1024

PANEL_EMPTY = (
    '<div class="panel-head">Source</div>'
    '<p class="placeholder">Click a numbered marker in an answer to see the passage it '
    "comes from, with the quoted words highlighted.</p>"
)

CSS = """
footer, .built-with, .show-api { display: none !important; }
.gradio-container { max-width: 1320px !important; margin: 0 auto !important; }
#app-header { padding: .4rem 0 .2rem; }
#chat .placeholder { text-align: center; padding: 0 2.5rem; color: var(--body-text-color-subdued); }
#chat .example { border: 1px solid var(--border-color-primary); border-radius: 10px;
  background: var(--background-fill-secondary); }
#chat .example:hover { border-color: var(--color-accent); }
#app-header h1 { font-size: 1.45rem; font-weight: 700; margin: 0; }
#app-header p { margin: .15rem 0 0; color: var(--body-text-color-subdued); }
#chat .answer p { margin: 0; line-height: 1.65; }
#chat .pending p { color: var(--body-text-color-subdued); font-style: italic; }
#chat .cursor { color: var(--color-accent); animation: blink 1s steps(1) infinite; }
@keyframes blink { 50% { opacity: 0; } }
a.cite, a.cite:visited {
  display: inline-block; min-width: 1.3em; padding: 0 .32em; margin: 0 .08em;
  border-radius: .7em; border: 1px solid var(--color-accent);
  background: var(--color-accent-soft); color: var(--color-accent) !important;
  font-size: .72em; font-weight: 700; line-height: 1.45; text-align: center;
  vertical-align: super; text-decoration: none !important; cursor: pointer;
}
a.cite:hover, a.cite.selected { background: var(--color-accent); color: #fff !important; }
.flag { text-decoration: underline dotted 2px; text-underline-offset: 3px; cursor: help;
  border-radius: 3px; }
.flag-weak { text-decoration-color: #d97706; background: rgba(245, 158, 11, .2); }
.flag-unsupported { text-decoration-color: #dc2626; background: rgba(239, 68, 68, .18); }
.answer-sources { display: flex; flex-wrap: wrap; gap: .35rem; margin-top: .7rem; }
a.cite-chip, a.cite-chip:visited {
  display: inline-block; max-width: 100%;
  padding: .12rem .55rem; border-radius: 999px; border: 1px solid var(--border-color-primary);
  background: var(--background-fill-secondary); color: var(--body-text-color) !important;
  font-size: .8em; text-decoration: none !important; cursor: pointer;
  overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
}
a.cite-chip b { color: var(--color-accent); margin-right: .35em; }
a.cite-chip:hover { border-color: var(--color-accent); }
.answer-notes { margin: .5rem 0 0; font-size: .8em; color: var(--body-text-color-subdued); }
.abstain, .chat-error { padding: .55rem .8rem; border-radius: 8px; }
.abstain { border-left: 4px solid #94a3b8; background: rgba(148, 163, 184, .16); }
.chat-error { border-left: 4px solid #dc2626; background: rgba(239, 68, 68, .1); }
.abstain-title, .error-title { font-weight: 700; margin-bottom: .2rem; }
.abstain ul, .chat-error ul { margin: .3rem 0 0 1.1rem; font-size: .85em; }
#side { position: sticky; top: .8rem; align-self: flex-start; }
#source-panel { border: 1px solid var(--border-color-primary); border-radius: 12px;
  padding: .8rem 1rem; background: var(--background-fill-primary); min-height: 8rem; }
#source-panel .panel-head { font-weight: 700; font-size: .78rem; letter-spacing: .06em;
  text-transform: uppercase; color: var(--body-text-color-subdued); margin-bottom: .4rem; }
#source-panel .placeholder { color: var(--body-text-color-subdued); margin: 0; }
#source-panel:has(.source-card.active) .placeholder { display: none; }
.source-card { display: none; }
.source-card.active { display: block; }
.card-head { display: flex; gap: .5rem; align-items: flex-start; }
.card-n { flex: none; min-width: 1.6em; height: 1.6em; border-radius: 50%; text-align: center;
  line-height: 1.6em; font-size: .8em; font-weight: 700; color: #fff;
  background: var(--color-accent); }
.card-head h3 { margin: 0 !important; font-size: 1rem !important; line-height: 1.35; }
.card-meta, .card-loc { margin: .3rem 0 0 !important; font-size: .85em;
  color: var(--body-text-color-subdued); }
.card-loc { font-family: var(--font-mono); font-size: .78em; }
.passage { white-space: pre-wrap; margin: .7rem 0 .5rem !important; padding: .6rem .75rem;
  max-height: 24rem; overflow: auto; font-size: .88em; line-height: 1.55;
  border-left: 3px solid var(--color-accent); border-radius: 0 6px 6px 0;
  background: var(--background-fill-secondary); }
.passage mark { background: #fde68a; color: #1f2937; padding: 0 .1em; border-radius: 2px; }
.card-link { font-size: .88em; font-weight: 600; }
.status { display: grid; grid-template-columns: auto 1fr; gap: .25rem .8rem; margin: 0;
  font-size: .9em; }
.status dt { font-weight: 600; color: var(--body-text-color-subdued); }
.status dd { margin: 0; }
.dot { display: inline-block; width: .6em; height: .6em; border-radius: 50%;
  margin-right: .35em; background: #16a34a; }
.dot.down { background: #dc2626; }
.filter-note { font-size: .85em; color: var(--body-text-color-subdued); }
.filter-note.bad { color: #b91c1c; font-weight: 600; }
.upload-help p { margin: 0 !important; font-size: .85em; color: var(--body-text-color-subdued); }
.upload-results { list-style: none; padding: 0; margin: .4rem 0 0; font-size: .9em; }
.upload-results li { padding: .25rem 0; border-bottom: 1px solid var(--border-color-primary); }
.upload-results .ok { color: #15803d; font-weight: 600; }
.upload-results .bad { color: #b91c1c; font-weight: 600; }
.upload-results .same { color: var(--body-text-color-subdued); font-weight: 600; }
"""

# Opens the card of a clicked [n] marker in the source panel; capture phase, so the chat's own
# link handling never sees the click.
SCRIPT = """
<script>
document.addEventListener("click", (event) => {
  const marker = event.target.closest ? event.target.closest("a[data-src]") : null;
  if (!marker) return;
  event.preventDefault();
  event.stopPropagation();
  const panel = document.getElementById("source-panel");
  const card = panel && panel.querySelector("#" + CSS.escape(marker.dataset.src));
  if (!card) return;
  panel.querySelectorAll(".source-card.active").forEach((c) => c.classList.remove("active"));
  document.querySelectorAll("a.cite.selected").forEach((m) => m.classList.remove("selected"));
  card.classList.add("active");
  marker.classList.add("selected");
  card.scrollIntoView({block: "nearest", behavior: "smooth"});
}, true);
</script>
"""

HEAD = (
    '<meta name="description" content="Answers on the global AI race, from a curated corpus, '
    'with a source for every claim.">' + SCRIPT
)


# ---- rendering: every piece of corpus or model text goes through html.escape ----------------


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def inert(text: str) -> str:
    """Escaped text that the chat's Markdown renderer cannot turn into a link: Markdown links
    keep only their words, and bare web addresses lose what makes them auto-links."""
    return _BARE_LINK.sub(_defang, esc(unlink(text)))


def _defang(match: re.Match[str]) -> str:
    return "&#58;//" if match[0] == "://" else f"{match[0][:3]}&#46;"


def pretty(text: str) -> str:
    """``text`` made inert, with Markdown bold, code and heading lines shown as such."""
    out = _BOLD.sub(r"<b>\1</b>", inert(text))
    out = _CODE.sub(r"<code>\1</code>", out)
    return _HEADING.sub(r"<b>\1</b>", out)


def card_id(key: str, n: int) -> str:
    return f"src-{key}-{n}"


def marker_html(n: int, key: str, title: str = "") -> str:
    tip = f' title="{esc(title)}"' if title else ""
    ref = card_id(key, n)
    return f'<a class="cite" href="#{ref}" data-src="{ref}"{tip}>{n}</a>'


def sentence_html(sentence: SentenceSupport, key: str, titles: dict[int, str]) -> str:
    text = pretty(sentence.text)
    end = text[-1] if text[-1:] in (".", "!", "?") else ""
    marks = "".join(marker_html(n, key, titles.get(n, "")) for n in sentence.citations)
    inner = f"{text[: len(text) - len(end)]}{marks}{end}"
    if sentence.support == "supported":
        return inner
    label = "Weakly supported" if sentence.support == "weak" else "Not supported by the sources"
    tip = f"{label}: {sentence.reason}" if sentence.reason else label
    return f'<span class="flag flag-{sentence.support}" title="{esc(tip)}">{inner}</span>'


def text_with_markers(text: str, key: str, titles: dict[int, str]) -> str:
    """Escaped text whose [n] markers are clickable (for an answer without sentence checks)."""
    return _MARKER.sub(
        lambda m: marker_html(int(m[1]), key, titles.get(int(m[1]), "")), pretty(text)
    )


def answer_html(answer: Answer, key: str, filters: Filters) -> str:
    if answer.abstained:
        return abstention_html(answer, filters)
    titles = {c.n: c.chunk.title or c.chunk.source for c in answer.citations}
    if answer.sentences:
        body = " ".join(sentence_html(s, key, titles) for s in answer.sentences)
    else:
        body = text_with_markers(answer.text, key, titles)
    chips = chips_html(answer.citations, key)
    notes = [*answer.notes, *([f"Filters: {describe(filters)}"] if filters else [])]
    note = f'<p class="answer-notes">{esc(" · ".join(notes))}</p>' if notes else ""
    return f'<div class="answer"><p>{body}</p><div class="answer-sources">{chips}</div>{note}</div>'


def chips_html(citations: list[Citation], key: str) -> str:
    seen: set[str] = set()
    chips = []
    for citation in citations:
        title = citation.chunk.title or citation.chunk.source
        chips.append(chip_html(citation, key, shown_before=title in seen))
        seen.add(title)
    return "".join(chips)


def chip_html(citation: Citation, key: str, shown_before: bool) -> str:
    """One cited source under the answer; a second passage of a source is named by its place."""
    chunk, ref = citation.chunk, card_id(key, citation.n)
    title = chunk.title or chunk.source
    place = f"page {chunk.page}" if chunk.page is not None else chunk.heading.split(" > ")[-1]
    label = f"same source, {place}" if shown_before and place else title
    return (
        f'<a class="cite-chip" href="#{ref}" data-src="{ref}" title="{esc(title)}">'
        f"<b>{citation.n}</b>{esc(label)}</a>"
    )


def abstention_html(answer: Answer, filters: Filters) -> str:
    notes = list(answer.notes)
    if filters:
        notes.append(f"Filters were on ({describe(filters)}); clear them to search every source.")
    items = "".join(f"<li>{esc(n)}</li>" for n in notes)
    return (
        f'<div class="abstain"><div class="abstain-title">{ABSTAIN_TITLE}</div>'
        f"<div>{esc(answer.text)}</div>{f'<ul>{items}</ul>' if items else ''}</div>"
    )


def error_html(message: str, title: str = "Could not answer") -> str:
    return (
        f'<div class="chat-error"><div class="error-title">{esc(title)}</div>'
        f"<div>{esc(scrub_paths(message))}</div></div>"
    )


def streaming_html(text: str) -> str:
    if not text:
        return '<div class="answer pending"><p>Searching the sources…</p></div>'
    return f'<div class="answer"><p>{inert(text)}<span class="cursor">▍</span></p></div>'


def highlight(text: str, quote: str, at: int) -> str:
    """``text`` escaped, with ``quote`` (expected at offset ``at``) inside <mark>."""
    if quote and text[at : at + len(quote)] != quote:
        at = text.find(quote)
    if not quote or at < 0:
        return (f"<mark>{pretty(quote)}</mark>\n\n" if quote else "") + pretty(text)
    end = at + len(quote)
    return f"{pretty(text[:at])}<mark>{pretty(quote)}</mark>{pretty(text[end:])}"


def card_html(citation: Citation, key: str) -> str:
    chunk = citation.chunk
    meta = " · ".join(esc(part) for part in (chunk.publisher, chunk.date) if part)
    link = safe_url(citation.link) if safe_url(chunk.url) else ""
    link_html = (
        f'<a class="card-link" href="{esc(link)}" target="_blank" rel="noopener noreferrer">'
        "Open the original at the quoted words ↗</a>"
        if link
        else ""
    )
    passage = highlight(chunk.text, citation.quote, citation.quote_start - chunk.start)
    return (
        f'<article class="source-card" id="{card_id(key, citation.n)}">'
        f'<div class="card-head"><span class="card-n">{citation.n}</span>'
        f"<h3>{esc(chunk.title or chunk.source)}</h3></div>"
        f'<p class="card-meta">{meta}</p><p class="card-loc">{esc(chunk.location)}</p>'
        f'<blockquote class="passage">{passage}</blockquote>{link_html}</article>'
    )


def describe(filters: Filters) -> str:
    parts = [
        *(f"{name}: {', '.join(values)}" for name, values in _filter_lists(filters) if values),
        *([f"since {filters.since}"] if filters.since else []),
        *([f"until {filters.until}"] if filters.until else []),
    ]
    return "; ".join(parts)


def _filter_lists(filters: Filters) -> list[tuple[str, tuple[str, ...]]]:
    return [
        ("topics", filters.topics),
        ("publishers", filters.publishers),
        ("documents", filters.sources),
    ]


# ---- input checks ------------------------------------------------------------------------------


def check_question(question: str) -> str:
    """The question, stripped; refused (as /v1 refuses it) when it is empty or too long."""
    text = question.strip()
    if not text:
        raise ConfigError("The question is empty: send the text of a question.")
    if len(text) > MAX_TEXT_CHARS:
        raise ConfigError(
            f"The question is {len(text):,} characters long; the limit is {MAX_TEXT_CHARS:,}. "
            "Ask a shorter question."
        )
    return text


def check_history(history: Sequence[Message]) -> list[Message]:
    if len(history) > MAX_MESSAGES:
        raise ConfigError(
            f"The conversation has {len(history)} turns; the limit is {MAX_MESSAGES}. "
            "Start a new chat."
        )
    if any(len(str(turn.get("content", ""))) > MAX_TEXT_CHARS for turn in history):
        raise ConfigError(f"A turn of the conversation is over {MAX_TEXT_CHARS:,} characters.")
    return list(history)


def check_values(name: str, values: Sequence[str] | None) -> None:
    if values is not None and not isinstance(values, (list, tuple)):
        raise ConfigError(f"The {name} filter must be a list of names.")
    if len(values or ()) > MAX_FILTER_VALUES:
        raise ConfigError(f"The {name} filter holds more than {MAX_FILTER_VALUES} values.")
    if any(not isinstance(v, str) or len(v) > MAX_FILTER_CHARS for v in values or ()):
        raise ConfigError(f"Each {name} filter value must be text of at most {MAX_FILTER_CHARS}.")


def parse_date(value: str | None, name: str) -> str:
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"The {name} date must be text written YYYY-MM-DD.")
    text = (value or "").strip()[:MAX_FILTER_CHARS]
    if not text:
        return ""
    try:
        if not _DATE.fullmatch(text):
            raise ValueError(text)
        dt.date.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"The {name} date {text!r} is not a date: write it as YYYY-MM-DD, e.g. 2023-10-17."
        ) from None
    return text


def make_filters(
    topics: Sequence[str] | None,
    publishers: Sequence[str] | None,
    sources: Sequence[str] | None,
    since: str | None,
    until: str | None,
) -> Filters:
    for name, values in (("topics", topics), ("publishers", publishers), ("documents", sources)):
        check_values(name, values)
    start, end = parse_date(since, '"since"'), parse_date(until, '"until"')
    if start and end and start > end:
        raise ConfigError(f'The "since" date {start} is after the "until" date {end}; swap them.')
    return Filters(
        sources=tuple(sources or ()),
        publishers=tuple(publishers or ()),
        topics=tuple(topics or ()),
        since=start,
        until=end,
    )


def parse_history(text: str) -> list[Message]:
    try:
        data = json.loads(text or "[]")
    except json.JSONDecodeError as exc:
        raise ConfigError(f"history_json is not JSON ({exc.msg}).") from None
    if not isinstance(data, list) or not all(_is_turn(item) for item in data):
        raise ConfigError(
            'history_json must be a list of {"role": "user" or "assistant", "content": "..."}.'
        )
    return check_history([{"role": item["role"], "content": item["content"]} for item in data])


def _is_turn(item: Any) -> bool:
    return (
        isinstance(item, dict)
        and item.get("role") in ("user", "assistant")
        and isinstance(item.get("content"), str)
    )


def parse_filters(text: str) -> Filters:
    try:
        data = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        raise ConfigError(f"filters_json is not JSON ({exc.msg}).") from None
    if not isinstance(data, dict) or set(data) - _FILTER_KEYS:
        raise ConfigError(f"filters_json must be an object with keys from {sorted(_FILTER_KEYS)}.")
    lists = {k: data.get(k) or [] for k in ("topics", "publishers", "sources")}
    if not all(isinstance(v, list) and all(isinstance(s, str) for s in v) for v in lists.values()):
        raise ConfigError("topics, publishers and sources in filters_json must be lists of text.")
    return make_filters(
        lists["topics"], lists["publishers"], lists["sources"], data.get("since"), data.get("until")
    )


# ---- uploads -----------------------------------------------------------------------------------


def safe_name(name: str) -> str:
    """The base name of an upload with only safe characters; refuses other file types."""
    base = re.split(r"[\\/]", name)[-1]
    stem, dot, suffix = base.rpartition(".")
    kind = f".{suffix.lower()}" if dot else ""
    if kind not in UPLOAD_SUFFIXES:
        raise UploadError(f"{base}: only {', '.join(UPLOAD_SUFFIXES)} files can be added.")
    return (_UNSAFE_NAME.sub("-", stem).strip(".-_")[:80] or "document") + kind


def uploaded_file(path: str, folder: Path) -> Path:
    """``path`` when it names a regular file inside the web upload ``folder`` (where Gradio puts
    what a browser uploads), else UploadError. Only the name is checked: nothing is read, so a
    named pipe or a device cannot block the caller."""
    name = re.split(r"[\\/]", path)[-1][:80] or "the file"
    refused = UploadError(
        f"{name}: not a file uploaded to this server; choose it with the page's file picker."
    )
    try:
        real = Path(os.path.realpath(path))
        info = os.lstat(real)
    except (OSError, ValueError):
        raise refused from None
    if not real.is_relative_to(folder) or real == folder or not stat.S_ISREG(info.st_mode):
        raise refused
    return real


@dataclass
class Saved:
    """An upload copied into the corpus, and what it replaced (to restore if indexing fails)."""

    rel: str
    target: Path
    previous: bytes | None


def save_upload(
    source: Path,
    corpus: Path,
    max_mb: float,
    quota_mb: float = math.inf,
    uploads: Path | None = None,
) -> Saved:
    """Copy one uploaded file into ``corpus/uploads``, at most ``max_mb``, keeping all uploads
    within ``quota_mb``. With ``uploads``, the source must be a file uploaded to that folder."""
    if uploads is not None:
        source = uploaded_file(str(source), uploads)
    name = safe_name(source.name)
    root = corpus.resolve()
    folder = (root / UPLOADS_FOLDER).resolve()
    target = (folder / name).resolve()
    if target.parent != folder or not folder.is_relative_to(root):
        raise UploadError(f"{name}: the uploads folder must be inside the corpus folder.")
    folder.mkdir(parents=True, exist_ok=True)
    previous = target.read_bytes() if target.is_file() else None
    room = quota_mb * 2**20 - _used(folder) + len(previous or b"")
    data = _read_upload(source, name, max_mb, room)
    target.write_bytes(data)
    return Saved(target.relative_to(root).as_posix(), target, previous)


def _used(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.iterdir() if f.is_file())


def _read_upload(source: Path, name: str, max_mb: float, room: float) -> bytes:
    """The bytes of a regular file, refused past the upload limit or the room left."""
    fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UploadError(f"{name}: not a regular file.")
        limit = min(max_mb * 2**20, room)
        data = handle.read(int(limit) + 1)
    if len(data) > max_mb * 2**20:
        raise UploadError(
            f"{name}: over the {max_mb:g} MB upload limit (ASSISTANT_WEB__MAX_UPLOAD_MB)."
        )
    if len(data) > room:
        raise UploadError(
            f"{name}: the uploads folder is full ({max(room, 0) / 2**20:.1f} MB left of the "
            "quota, ASSISTANT_WEB__UPLOADS_QUOTA_MB); ask the administrator for room."
        )
    return data


def discard(saved: Saved) -> None:
    """Undo one upload: its previous version back, or the file gone."""
    if saved.previous is None:
        saved.target.unlink(missing_ok=True)
    else:
        saved.target.write_bytes(saved.previous)


def kept(rel: str, report: IndexReport | None) -> bool:
    """Whether an upload stays in the corpus: only when the index holds it."""
    return report is not None and outcome(rel, report)[0] != "bad"


def outcome(rel: str, report: IndexReport) -> tuple[str, str]:
    """(css class, what happened) for one uploaded file in an index report."""
    failure = next((f for f in report.failed if f.path == rel), None)
    if failure:
        return "bad", f"failed: {failure.reason}" + (f" — {failure.hint}" if failure.hint else "")
    if rel in report.added or any(new == rel for _, new in report.renamed):
        return "ok", "added"
    if rel in report.changed:
        return "ok", "updated: the new version is indexed"
    twin = next((t for path, t in report.duplicates if path == rel), None)
    if twin:
        return "same", f"skipped: same content as {twin}"
    if rel in report.unchanged:
        return "same", "unchanged: already indexed"
    return "bad", "not indexed: the corpus settings exclude it"


def upload_html(
    saved: list[str], refused: list[str], report: IndexReport | None, error: str = ""
) -> str:
    rows = [f'<li><span class="bad">refused</span> {esc(reason)}</li>' for reason in refused]
    for rel in saved:
        css, text = outcome(rel, report) if report else ("bad", "not indexed")
        rows.append(f'<li><b>{esc(rel)}</b> — <span class="{css}">{esc(text)}</span></li>')
    summary = ""
    if report:
        summary = (
            f"<p>The index now holds {report.documents} documents, {report.chunks} passages "
            f"({report.seconds:.1f} s).</p>"
        )
    problem = error_html(error, "Indexing failed") if error else ""
    return f'{problem}<ul class="upload-results">{"".join(rows)}</ul>{summary}'


def progress_callback(progress: gr.Progress) -> Callable[[Progress], None]:
    def update(step: Progress) -> None:
        progress((step.files_done, step.files_total), desc=f"Indexing {step.path}", unit="files")

    return update


# ---- the app -----------------------------------------------------------------------------------


@dataclass
class Facets:
    """The filter choices present in the index."""

    topics: list[str] = field(default_factory=list)
    publishers: list[str] = field(default_factory=list)
    sources: list[tuple[str, str]] = field(default_factory=list)  # (title, corpus path)


class WebChat:
    def __init__(self, bot: Assistant, uploads: Path | None = None) -> None:
        self.bot = bot
        self.uploads = uploads or upload_folder()  # where Gradio saves what browsers upload
        self._indexing = threading.Lock()
        self.theme = gr.themes.Soft(
            primary_hue="indigo",
            neutral_hue="slate",
            font=["Inter", "ui-sans-serif", "system-ui", "Segoe UI", "Roboto", "sans-serif"],
            font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"],
        )
        self.css = CSS
        self.head = HEAD
        self._facets: tuple[str, Facets] | None = None

    # -- chat ------------------------------------------------------------------------------------

    def respond(
        self,
        question: str,
        messages: list[Message],
        history: list[Message],
        panel: str,
        topics: list[str] | None = None,
        publishers: list[str] | None = None,
        sources: list[str] | None = None,
        since: str = "",
        until: str = "",
    ) -> Iterator[ChatOutputs]:
        """Streams one answer into the chat: the growing message list, then the checked answer
        with its source cards added to the panel. Problems become a message in the chat."""
        question = (question if isinstance(question, str) else "").strip()
        if not question:
            yield "", messages, history, panel
            return
        # Kept as long as /v1 keeps a conversation; the model reads only the last turns.
        messages = messages[-MAX_MESSAGES:] if isinstance(messages, list) else []
        history = history[-MAX_MESSAGES:] if isinstance(history, list) else []
        panel = panel if isinstance(panel, str) else ""
        try:
            question = check_question(question)
        except ConfigError as exc:
            yield "", [*messages, _assistant(error_html(str(exc)))], history, panel
            return
        key = f"t{len(messages) + 1}"  # unique within one chat: names its source cards
        shown = [*messages, {"role": "user", "content": esc(question)}]
        content: str = ""  # the last message shown
        final: Answer | None = None  # the checked answer
        choices = (topics, publishers, sources, since, until)
        for content, final in self._answer(question, history, key, choices):
            if final is None:
                yield "", [*shown, _assistant(content)], history, panel
        if final is None:
            return
        turns = [{"role": "user", "content": question}, _assistant(final.text)]
        cards = "".join(card_html(c, key) for c in final.citations)
        yield "", [*shown, _assistant(content)], [*history, *turns], (panel or PANEL_EMPTY) + cards

    def _answer(
        self, question: str, history: list[Message], key: str, choices: tuple[Any, ...]
    ) -> Iterator[tuple[str, Answer | None]]:
        """(HTML of the message so far, the final answer once it is there)."""
        yield streaming_html(""), None
        try:
            filters = make_filters(*choices)
            text = ""
            for event in self.bot.stream(question, history=history, filters=filters):
                if isinstance(event, Final):
                    yield answer_html(event.answer, key, filters), event.answer
                    return
                text += event.text
                yield streaming_html(text), None
        except AssistantError as exc:
            yield error_html(str(exc)), None
            return
        except Exception:
            log.exception("the web chat failed to answer %r", question)
            yield error_html("An unexpected error happened; the server log has the details."), None
            return
        yield error_html("The answer stream ended without a final answer; ask again."), None

    def ask(
        self, question: str, history_json: str = "[]", backend: str = "", filters_json: str = "{}"
    ) -> str:
        """Answer one question from the indexed sources; returns the JSON of Answer.to_dict()."""
        try:
            question = check_question(question if isinstance(question, str) else "")
            history = parse_history(history_json)
            filters = parse_filters(filters_json)
            answer = self.bot.ask(
                question, history=history, filters=filters, backend=backend or None
            )
        except AssistantError as exc:
            raise gr.Error(scrub_paths(str(exc)), print_exception=False) from None
        return json.dumps(answer.to_dict(), ensure_ascii=False)

    # -- status and filters ----------------------------------------------------------------------

    def status_html(self) -> str:
        ok, model = self._model_state()
        try:
            index = self._index_state()
        except AssistantError as exc:
            index = esc(str(exc))
        dot = '<span class="dot"></span>' if ok else '<span class="dot down"></span>'
        return (
            f'<dl class="status"><dt>Model</dt><dd>{dot}{esc(model)}</dd>'
            f"<dt>Index</dt><dd>{index}</dd></dl>"
        )

    def _model_state(self) -> tuple[bool, str]:
        backend = self.bot.settings.llm.backend
        if backend == "extractive":
            return True, "extractive: no model needed, answers quote the passages"
        try:
            model = self.bot.model()
        except AssistantError as exc:
            return False, f"{backend}: not reachable. {exc}"
        return True, f"{backend}: ready ({getattr(model, 'name', backend)})"

    def _index_state(self) -> str:
        status = self.bot.status()
        if not status.exists:
            where = scrub_paths(status.where)  # every visitor sees this: no server folders
            return esc(f"No index yet at {where}. Build one with `assistant index`.")
        built = status.built_at.replace("T", " ")[:16]
        text = f"{status.documents} documents · {status.chunks} passages · built {built}"
        pending = sum(len(paths) for paths in status.changed_since.values())
        if pending:
            text += f" · {pending} files changed since: run `assistant index` to include them"
        return esc(text)

    def facets(self) -> Facets:
        try:
            name = self.bot.retriever.collection()
            key = f"{name}@{self.bot.manifest.get('version')}"
            if self._facets is None or self._facets[0] != key:
                # The BM25 index already holds every passage in memory: no second store scan.
                chunks = self.bot.retriever.lexical(name).chunks
                self._facets = (key, _collect(chunks, self._topics()))
            return self._facets[1]
        except AssistantError:
            return Facets(topics=self._topics())

    def _topics(self) -> list[str]:
        path = self.bot.settings.corpus.path / "TOPICS.txt"
        if not path.is_file():
            return []
        lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
        return [line for line in lines if line and not line.startswith("#")]

    def filter_choices(self) -> tuple[Any, Any, Any]:
        found = self.facets()
        return (
            gr.Dropdown(choices=found.topics),
            gr.Dropdown(choices=found.publishers),
            gr.Dropdown(choices=found.sources),
        )

    def refresh(self) -> tuple[str, Any, Any, Any]:
        return (self.status_html(), *self.filter_choices())

    def on_load(self) -> tuple[str, Any, Any, Any, Any, Any]:
        uploads = self.bot.settings.web.uploads
        return (*self.refresh(), gr.Column(visible=uploads), gr.HTML(visible=not uploads))

    # -- uploads ---------------------------------------------------------------------------------

    def add_documents(
        self,
        files: list[str] | None,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - gradio injects the tracker here
    ) -> tuple[str, str, Any, Any, Any]:
        if not self.bot.settings.web.uploads:
            return (error_html(UPLOADS_OFF, "Uploads are off"), *self.refresh())
        if not files:
            return (
                error_html("Choose one or more files first.", "Nothing to add"),
                *self.refresh(),
            )
        if not isinstance(files, list) or len(files) > MAX_UPLOAD_FILES:
            message = f"Add at most {MAX_UPLOAD_FILES} files at a time."
            return (error_html(message, "Too many files"), *self.refresh())
        saved, refused = self._save(files)
        report, error = None, ""
        if saved:
            with self._indexing:
                try:
                    report = self.bot.index(progress=progress_callback(progress))
                except AssistantError as exc:
                    error = str(exc)
                gone = [s for s in saved if not kept(s.rel, report)]
                for upload in gone:
                    discard(upload)
                if gone and report is not None:
                    self.bot.index()  # the index forgets what was taken back
        rels = [s.rel for s in saved]
        return (upload_html(rels, refused, report, error), *self.refresh())

    def add_link(self, url: str) -> tuple[str, str, Any, Any, Any]:
        """Fetch one link into the corpus, with the checks of `assistant add`, and index it."""
        if not self.bot.settings.web.uploads:
            return (error_html(UPLOADS_OFF, "Uploads are off"), *self.refresh())
        url = (url or "").strip()
        if not is_link(url) or len(url) > 2000:
            message = "Paste a link that starts with http:// or https://."
            return (error_html(message, "Not a link"), *self.refresh())
        report, error = AddReport(), ""
        with self._indexing:
            try:
                report = self.bot.add([url])
            except AssistantError as exc:
                error = str(exc)
        refused = [f"{f.path}: {f.reason} — {f.hint}" for f in report.failed]
        saved = [added.path for added in report.added]
        return (upload_html(saved, refused, report.index, error), *self.refresh())

    def _save(self, files: list[Any]) -> tuple[list[Saved], list[str]]:
        web, corpus = self.bot.settings.web, self.bot.settings.corpus.path
        saved, refused = [], []
        for file in files:
            name = file if isinstance(file, str) else getattr(file, "path", "")
            try:
                saved.append(
                    save_upload(
                        Path(str(name)), corpus, web.max_upload_mb, web.uploads_quota_mb,
                        self.uploads,
                    )
                )  # fmt: skip
            except UploadError as exc:
                refused.append(str(exc))
            except OSError as exc:
                refused.append(f"{Path(str(name)).name}: could not be saved ({exc.strerror}).")
        return saved, refused

    # -- layout ----------------------------------------------------------------------------------

    def create_app(self) -> gr.Blocks:
        demo = gr.Blocks(title="AI race assistant", analytics_enabled=False)
        with demo:
            page = _Page(self.bot.settings.web.max_upload_mb)
            self._wire(demo, page)
            gr.api(self.ask, api_name="ask")  # type: ignore[attr-defined]
        return demo

    def _wire(self, demo: gr.Blocks, page: _Page) -> None:
        private: dict[str, Any] = {"api_visibility": "private"}
        chat_in, chat_out = page.chat_inputs(), page.chat_outputs()
        page.question.submit(
            self.respond, chat_in, chat_out, api_name="chat", show_progress="hidden"
        )
        page.chatbot.example_select(
            _example_text, None, page.question, queue=False, **private
        ).then(self.respond, chat_in, chat_out, show_progress="hidden", **private)
        gr.on(
            [page.new_chat.click, page.chatbot.clear], lambda: ("", [], [], PANEL_EMPTY), None,
            chat_out, queue=False, **private,
        )  # fmt: skip
        gr.on(
            [f.change for f in page.filters()], filter_note, page.filters(), page.note,
            queue=False, show_progress="hidden", **private,
        )  # fmt: skip
        status = [page.status, page.topics, page.publishers, page.sources]
        demo.load(self.on_load, None, [*status, page.upload_area, page.uploads_off], **private)
        page.refresh.click(self.refresh, None, status, **private)
        page.add.click(
            self.add_documents, page.files, [page.result, *status], concurrency_limit=1, **private
        )
        gr.on(
            [page.add_link.click, page.link.submit], self.add_link, page.link,
            [page.result, *status], concurrency_limit=1, **private,
        )  # fmt: skip


class _Page:
    """The components of the page; built inside an open ``gr.Blocks``."""

    def __init__(self, max_upload_mb: float) -> None:
        gr.HTML(HEADER, elem_id="app-header", js_on_load=None)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=420):
                self._chat()
            with gr.Column(scale=2, min_width=320, elem_id="side"):
                self.panel = gr.HTML(PANEL_EMPTY, elem_id="source-panel", js_on_load=None)
                self._filters()
                self._status()
                self._uploads(max_upload_mb)

    def _chat(self) -> None:
        self.chatbot = gr.Chatbot(
            elem_id="chat",
            show_label=False,
            height=600,
            latex_delimiters=[],
            sanitize_html=False,  # every text is escaped by this module before it is shown
            feedback_options=None,
            buttons=[],
            placeholder=PLACEHOLDER,
            examples=[{"text": q} for q in EXAMPLES],
        )
        self.question = gr.Textbox(
            show_label=False,
            placeholder="Ask about chips, models, export rules or AI policy…",
            submit_btn="Ask",
            autofocus=True,
            elem_id="question",
        )
        with gr.Row(equal_height=True):
            self.new_chat = gr.Button(
                "New chat", size="sm", scale=0, min_width=110, elem_id="new-chat"
            )
            self.note = gr.HTML(FILTERS_NONE, js_on_load=None, elem_id="filter-note")
        self.history = gr.State([])

    def _filters(self) -> None:
        with gr.Accordion("Filters for the next question", open=False, elem_id="filters"):
            self.topics = gr.Dropdown(
                label="Topics", multiselect=True, choices=[], elem_id="f-topics"
            )
            self.publishers = gr.Dropdown(label="Publishers", multiselect=True, choices=[])
            self.sources = gr.Dropdown(label="Documents", multiselect=True, choices=[])
            with gr.Row():
                self.since = gr.Textbox(label="Since", placeholder="YYYY-MM-DD", elem_id="f-since")
                self.until = gr.Textbox(label="Until", placeholder="YYYY-MM-DD", elem_id="f-until")

    def _status(self) -> None:
        with gr.Accordion("Status", open=False, elem_id="status-box"):
            self.status = gr.HTML(js_on_load=None, elem_id="status")
            self.refresh = gr.Button("Refresh", size="sm", elem_id="refresh")

    def _uploads(self, max_upload_mb: float) -> None:
        with gr.Accordion("Add documents", open=False, elem_id="uploads"):
            self.uploads_off = gr.HTML(f"<p>{esc(UPLOADS_OFF)}</p>", js_on_load=None, visible=False)
            with gr.Column(visible=False) as self.upload_area:
                gr.Markdown(
                    f"{', '.join(UPLOAD_SUFFIXES)} files up to {max_upload_mb:g} MB each; they "
                    f"are saved in the corpus folder under `{UPLOADS_FOLDER}/` and indexed.",
                    elem_classes="upload-help",
                )
                self.files = gr.File(
                    label="Files to add",
                    height=150,
                    file_count="multiple",
                    file_types=list(UPLOAD_SUFFIXES),
                    elem_id="upload-files",
                )
                self.add = gr.Button("Add to the corpus", variant="primary", elem_id="upload-add")
                self.link = gr.Textbox(
                    label="Add a link", placeholder="https://… a web page or a PDF",
                    max_lines=1, elem_id="add-link",
                )  # fmt: skip
                self.add_link = gr.Button("Fetch and add", elem_id="add-link-button")
                self.result = gr.HTML(js_on_load=None, elem_id="upload-result")

    def filters(self) -> list[Any]:
        return [self.topics, self.publishers, self.sources, self.since, self.until]

    def chat_inputs(self) -> list[Any]:
        return [self.question, self.chatbot, self.history, self.panel, *self.filters()]

    def chat_outputs(self) -> list[Any]:
        return [self.question, self.chatbot, self.history, self.panel]


HEADER = (
    "<h1>AI race assistant</h1><p>Answers about chips, models, export controls and AI policy "
    "from a curated corpus. Every claim links to the passage it comes from.</p>"
)
PLACEHOLDER = (
    "**Ask about the global AI race.** Answers come only from the indexed sources; click a "
    "numbered marker to read the passage behind a claim."
)
UPLOADS_OFF = (
    "Adding documents from the page is turned off. Start the server with "
    "ASSISTANT_WEB__UPLOADS=true to allow it, or put files in the corpus folder and run "
    "`assistant index`."
)
FILTERS_NONE = '<span class="filter-note">No filters: every source is searched.</span>'


def filter_note(
    topics: list[str] | None,
    publishers: list[str] | None,
    sources: list[str] | None,
    since: str,
    until: str,
) -> str:
    try:
        filters = make_filters(topics, publishers, sources, since, until)
    except ConfigError as exc:
        return f'<span class="filter-note bad">{esc(str(exc))}</span>'
    if not filters:
        return FILTERS_NONE
    return f'<span class="filter-note">Next question searches only: {esc(describe(filters))}</span>'


def _collect(chunks: Sequence[Any], allowed: list[str]) -> Facets:
    present = {t for c in chunks for t in c.topics}
    topics = [t for t in allowed if t in present] + sorted(present - set(allowed))
    publishers = sorted({c.publisher for c in chunks if c.publisher})
    titles = {c.source: c.title or c.source for c in chunks}
    sources = sorted(((title, path) for path, title in titles.items()), key=lambda s: s[0].lower())
    return Facets(topics or allowed, publishers, sources)


def _assistant(content: str) -> Message:
    return {"role": "assistant", "content": content}


def _example_text(event: gr.SelectData) -> str:
    value = event.value
    return str(value.get("text", "")) if isinstance(value, dict) else str(value)
