"""The web chat's HTML, from the core's records: pure functions, no Gradio. Every piece of
corpus or model text goes through ``html.escape``; the chat renders HTML as given."""

from __future__ import annotations

import html
import re
from importlib import resources
from typing import TYPE_CHECKING

from assistant.records import Answer, Citation, Filters, SentenceSupport
from assistant.sanitizing import safe_url, scrub_paths, unlink

if TYPE_CHECKING:
    from assistant.core import IndexStatus
    from assistant.uploads import UploadReport

ABSTAIN_TITLE = "No answer in the sources"
_MARKER = re.compile(r"\[(\d+)\]")
_BOLD = re.compile(r"\*\*(\S(?:.*?\S)?)\*\*")
_CODE = re.compile(r"`([^`\n]+)`")
_HEADING = re.compile(r"^#{1,6} +(.+)$", re.MULTILINE)
_BARE_LINK = re.compile(r"(?<=[A-Za-z])://|\bwww\.", re.IGNORECASE)

PANEL_EMPTY = (
    '<div class="panel-head">Source</div>'
    '<p class="placeholder">Click a numbered marker in an answer to see the passage it '
    "comes from, with the quoted words highlighted.</p>"
)


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
    why = f' <span class="flag-reason">({esc(sentence.reason)})</span>' if sentence.reason else ""
    return f'<span class="flag flag-{sentence.support}" title="{esc(tip)}">{inner}</span>{why}'


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
    checked = f"checked through {chunk.accurate_as_of}" if chunk.accurate_as_of else ""
    replaced = f"superseded by {', '.join(chunk.superseded_by)}" if chunk.superseded_by else ""
    parts = (chunk.publisher, chunk.date, checked, replaced)
    meta = " · ".join(esc(part) for part in parts if part)
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


def static_text(name: str) -> str:
    """A file of ``assistant/static`` (the page's CSS and script), shipped as package data."""
    return resources.files("assistant").joinpath("static", name).read_text(encoding="utf-8")


def page_head() -> str:
    return (
        '<meta name="description" content="Answers on the global AI race, from a curated '
        'corpus, with a source for every claim.">'
        f"<script>\n{static_text('chat.js')}</script>\n"
    )


def status_html(
    model_ok: bool, model: str, index: str, coverage: dict[str, str] | None = None
) -> str:
    dot = '<span class="dot"></span>' if model_ok else '<span class="dot down"></span>'
    checked = ""
    if coverage:
        items = "".join(f"<li>{esc(topic)}: {esc(date)}</li>" for topic, date in coverage.items())
        checked = f'<dt>Sources checked through</dt><dd><ul class="coverage">{items}</ul></dd>'
    return (
        f'<dl class="status"><dt>Model</dt><dd>{dot}{esc(model)}</dd>'
        f"<dt>Index</dt><dd>{esc(index)}</dd>{checked}</dl>"
    )


def index_text(status: IndexStatus) -> str:
    if not status.exists:
        where = scrub_paths(status.where)  # every visitor sees this: no server folders
        return f"No index yet at {where}. Build one with `assistant index`."
    built = status.built_at.replace("T", " ")[:16]
    text = f"{status.documents} documents · {status.chunks} passages · built {built}"
    pending = sum(len(paths) for paths in status.changed_since.values())
    if pending:
        text += f" · {pending} files changed since: run `assistant index` to include them"
    return text


def filter_note(filters: Filters | None, problem: str = "") -> str:
    """What the next question searches: ``problem`` when the filters are invalid."""
    if problem:
        return f'<span class="filter-note bad">{esc(problem)}</span>'
    if not filters:
        return FILTERS_NONE
    return f'<span class="filter-note">Next question searches only: {esc(describe(filters))}</span>'


def uploads_html(report: UploadReport) -> str:
    """What happened to each file added from the page, and the index after it."""
    rows = [f'<li><span class="bad">refused</span> {esc(reason)}</li>' for reason in report.refused]
    for rel, (kind, text) in report.outcomes():
        rows.append(f'<li><b>{esc(rel)}</b> — <span class="{kind}">{esc(text)}</span></li>')
    summary = ""
    if report.index:
        summary = (
            f"<p>The index now holds {report.index.documents} documents, "
            f"{report.index.chunks} passages ({report.index.seconds:.1f} s).</p>"
        )
    problem = error_html(report.error, "Indexing failed") if report.error else ""
    return f'{problem}<ul class="upload-results">{"".join(rows)}</ul>{summary}'
