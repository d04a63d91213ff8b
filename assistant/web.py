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

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from assistant.backends import BACKENDS
from assistant.core import Assistant, Facets
from assistant.errors import AssistantError, ConfigError
from assistant.fetching import FILES_FOLDER as UPLOADS_FOLDER
from assistant.fetching import is_link
from assistant.indexing import Progress
from assistant.offline import go_offline, upload_folder
from assistant.records import MAX_MESSAGES, MAX_TEXT_CHARS, Answer, Filters, Final
from assistant.sanitizing import scrub_paths
from assistant.uploads import MAX_UPLOAD_FILES, UPLOAD_SUFFIXES, UploadReport
from assistant.web_render import (
    FILTERS_NONE,
    HEADER,
    PANEL_EMPTY,
    PLACEHOLDER,
    UPLOADS_OFF,
    answer_html,
    card_html,
    error_html,
    esc,
    filter_note,
    index_text,
    page_head,
    static_text,
    status_html,
    streaming_html,
    uploads_html,
)

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
_FILTER_KEYS = {"sources", "publishers", "topics", "since", "until"}


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


def make_filters(
    topics: Sequence[str] | None,
    publishers: Sequence[str] | None,
    sources: Sequence[str] | None,
    since: str | None,
    until: str | None,
) -> Filters:
    """The filters of the page's form, in its order."""
    return Filters.parse(sources, publishers, topics, since, until)


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


def progress_callback(progress: gr.Progress) -> Callable[[Progress], None]:
    def update(step: Progress) -> None:
        progress((step.files_done, step.files_total), desc=f"Indexing {step.path}", unit="files")

    return update


# ---- the app -----------------------------------------------------------------------------------


class WebChat:
    def __init__(self, bot: Assistant, uploads: Path | None = None) -> None:
        self.bot = bot
        self.uploads = uploads or upload_folder()  # where Gradio saves what browsers upload
        self.theme = gr.themes.Soft(
            primary_hue="indigo",
            neutral_hue="slate",
            font=["Inter", "ui-sans-serif", "system-ui", "Segoe UI", "Roboto", "sans-serif"],
            font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"],
        )
        self.css = static_text("chat.css")
        self.head = page_head()

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
            index = index_text(self.bot.status())
        except AssistantError as exc:
            index = str(exc)
        return status_html(ok, model, index, self.bot.facets().coverage)

    def _model_state(self) -> tuple[bool, str]:
        backend = self.bot.settings.llm.backend
        try:
            model = self.bot.model()
        except AssistantError as exc:
            return False, f"{backend}: not reachable. {exc}"
        if not model.capabilities.drafts:
            return True, f"{backend}: {BACKENDS[backend].description}"
        return True, f"{backend}: ready ({model.name})"

    def filter_choices(self) -> tuple[Any, Any, Any]:
        found: Facets = self.bot.facets()
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
        report = self.bot.add_uploads(files, self.uploads, progress_callback(progress))
        return (uploads_html(report), *self.refresh())

    def add_link(self, url: str) -> tuple[str, str, Any, Any, Any]:
        """Fetch one link into the corpus, with the checks of `assistant add`, and index it."""
        if not self.bot.settings.web.uploads:
            return (error_html(UPLOADS_OFF, "Uploads are off"), *self.refresh())
        url = (url or "").strip()
        if not is_link(url) or len(url) > 2000:
            message = "Paste a link that starts with http:// or https://."
            return (error_html(message, "Not a link"), *self.refresh())
        try:
            added = self.bot.add([url])
        except AssistantError as exc:
            return (uploads_html(UploadReport(error=str(exc))), *self.refresh())
        refused = [f"{f.path}: {f.reason} — {f.hint}" for f in added.failed]
        saved = [item.path for item in added.added]
        return (uploads_html(UploadReport(saved, refused, added.index)), *self.refresh())

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
            [f.change for f in page.filters()], filter_choices_note, page.filters(), page.note,
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


def filter_choices_note(
    topics: list[str] | None,
    publishers: list[str] | None,
    sources: list[str] | None,
    since: str,
    until: str,
) -> str:
    try:
        return filter_note(make_filters(topics, publishers, sources, since, until))
    except ConfigError as exc:
        return filter_note(None, str(exc))


def _assistant(content: str) -> Message:
    return {"role": "assistant", "content": content}


def _example_text(event: gr.SelectData) -> str:
    value = event.value
    return str(value.get("text", "")) if isinstance(value, dict) else str(value)
