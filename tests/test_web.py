"""The web chat end to end: a real index built with the bundled embedder, the real server (API and
Gradio app) in a thread, and ``gradio_client`` calling the ``/ask`` endpoint as a script would.
The page itself is driven in a real browser by ``test_browser.py``."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from assistant import Answer, Assistant, Chunk, Citation, Filters, SentenceSupport, Settings
from assistant.embedding import Embedder
from assistant.errors import UploadError
from assistant.uploads import safe_name, save_upload
from assistant.web import WebChat
from assistant.web_render import answer_html, card_html
from tests.conftest import REPO, HashEmbedder, memory_client, serving

DOCS = {
    "chips.md": (
        "Nvidia's China chips after the 2022 rule",
        "Fixture Chip Weekly",
        "2023-03-21",
        "[ai-chips, export-controls]",
        "## The A800 and H800\n\nAfter the October 2022 export rule, Nvidia designed the A800 and "
        "H800 chips for Chinese customers. Both chips slowed the chip-to-chip interconnect to stay "
        "under the rule's threshold of 600 gigabytes per second.\n\n## The 2023 update\n\nThe "
        "October 2023 update dropped the interconnect test and ended sales of the A800 and H800 "
        "to China.",
    ),
    "cpm.md": (
        "Who built the CPM models",
        "Fixture AI Review",
        "2021-06-01",
        "[chinese-models]",
        "The CPM models were built by researchers at Tsinghua University and the Beijing Academy "
        "of Artificial Intelligence (BAAI). CPM-1, released in 2020, had 2.6 billion parameters "
        "and was trained on Chinese text.",
    ),
    "deepseek.md": (
        "DeepSeek-V3",
        "Fixture Model Notes",
        "2024-12-26",
        "[chinese-models, open-weights]",
        "DeepSeek-V3 is a mixture-of-experts language model with 671 billion parameters, released "
        "in December 2024. DeepSeek said its final training run cost about 5.6 million US dollars "
        "on 2,048 Nvidia H800 GPUs.",
    ),
}


def write_doc(
    folder: Path, name: str, title: str, publisher: str, day: str, topics: str, body: str
) -> None:
    front = (
        f'---\ntitle: "{title}"\npublisher: "{publisher}"\nurl: "https://example.org/{Path(name).stem}"\n'
        f"date: {day}\ntopics: {topics}\n---\n\n"
    )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(f"{front}# {title}\n\n{body}\n", encoding="utf-8")


def indexed_bot(root: Path, embedder: Embedder | None = None, store: Any = None) -> Assistant:
    """The fixture corpus, indexed with ``embedder`` (the real bundled one by default) into
    ``store`` (a Chroma folder by default); the extractive backend."""
    for name, doc in DOCS.items():
        write_doc(root / "corpus", name, *doc)
    (root / "corpus" / "TOPICS.txt").write_text((REPO / "corpus" / "TOPICS.txt").read_text())
    bot = Assistant(web_settings(root), embedder=embedder, store_client=store)
    report = bot.index()
    assert report.exit_code == 0, report.failed
    return bot


def web_settings(root: Path, **llm: object) -> Settings:
    return Settings(
        corpus={"path": root / "corpus"},  # type: ignore[arg-type]
        index={"path": root / "index"},  # type: ignore[arg-type]
        llm={"backend": "extractive", **llm},  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def store() -> Iterator[Any]:
    client: Any = memory_client()
    yield client
    client.reset()


@pytest.fixture(scope="module")
def web_bot(tmp_path_factory: pytest.TempPathFactory, store: Any) -> Assistant:
    return indexed_bot(tmp_path_factory.mktemp("web"), HashEmbedder(), store)


@pytest.fixture(scope="module")
def base_url(web_bot: Assistant) -> Iterator[str]:
    with serving(web_bot) as url:
        yield url


@pytest.fixture(scope="module")
def server_down(web_bot: Assistant) -> Assistant:
    """The same index, answered by an OpenAI-compatible server that is not running."""
    root = web_bot.settings.corpus.path.parent
    return Assistant(
        web_settings(root, backend="openai", base_url="http://127.0.0.1:9/v1", retries=0),
        embedder=web_bot.embedder,
        store_client=web_bot.store.client,
    )


@pytest.fixture(scope="module")
def client(base_url: str) -> Client:
    return Client(base_url, verbose=False)


def ask(client: Client, question: str, history: str = "[]", filters: str = "{}") -> dict:  # type: ignore[type-arg]
    reply = client.predict(question, history, "", filters, api_name="/ask")
    return json.loads(reply)  # type: ignore[no-any-return]


def test_ask_endpoint_cites_the_source_that_holds_the_fact(client: Client) -> None:
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/ask", "/chat"} <= set(endpoints)
    data = ask(client, "Who made the CPM models?")
    assert not data["abstained"], data["notes"]
    assert "Tsinghua" in data["answer"]
    cited = {c["source"]: c for c in data["citations"]}
    assert "cpm.md" in cited
    assert "Tsinghua University" in cited["cpm.md"]["quote"]
    assert cited["cpm.md"]["link"].startswith("https://example.org/cpm#:~:text=")


def test_ask_applies_filters_and_takes_history(client: Client) -> None:
    history = json.dumps(
        [{"role": "user", "content": "Who made the CPM models?"},
         {"role": "assistant", "content": "Tsinghua University and BAAI [1]."}]
    )  # fmt: skip
    data = ask(client, "Who made the CPM models?", history, '{"until": "2020-12-31"}')
    assert data["abstained"] and not data["citations"]
    data = ask(
        client, "How much did DeepSeek-V3 cost to train?", history, '{"topics": ["open-weights"]}'
    )
    assert {c["source"] for c in data["citations"]} == {"deepseek.md"}


def test_bad_input_gets_a_readable_message(client: Client) -> None:
    with pytest.raises(AppError) as caught:
        ask(client, "Who made the CPM models?", filters='{"since": "2023-02-30"}')
    assert "YYYY-MM-DD" in str(caught.value) and "Traceback" not in str(caught.value)
    with pytest.raises(AppError, match="history_json is not JSON"):
        ask(client, "Who made the CPM models?", history="[{")


def test_without_an_index_the_answer_says_how_to_build_one(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    bot = Assistant(web_settings(tmp_path), embedder=HashEmbedder())
    with serving(bot) as url, pytest.raises(AppError) as caught:
        ask(Client(url, verbose=False), "Who made the CPM models?")
    message = str(caught.value)
    assert "No index found" in message and "assistant index" in message
    assert "Traceback" not in message


def test_status_names_the_backend_and_whether_it_answers(
    web_bot: Assistant, server_down: Assistant
) -> None:
    ready = WebChat(web_bot).status_html()
    assert "extractive: no model needed" in ready and "3 documents" in ready
    down = WebChat(server_down).status_html()
    assert "openai: not reachable" in down and "127.0.0.1:9" in down
    assert 'class="dot down"' in down


def test_chat_shows_a_model_error_as_a_message_and_goes_on(server_down: Assistant) -> None:
    chat = WebChat(server_down)
    *_, (box, messages, history, panel) = chat.respond(
        "Who made the CPM models?", [], [], "", [], [], [], "", ""
    )
    assert box == "" and history == [] and panel == ""
    assert [m["role"] for m in messages] == ["user", "assistant"]
    shown = messages[-1]["content"]
    assert 'class="chat-error"' in shown and "127.0.0.1:9" in shown
    assert "Traceback" not in shown


def hostile_citation() -> Citation:
    text = 'Intro <img src=x onerror="alert(1)"> then the <script>quoted</script> words. End.'
    chunk = Chunk(
        id="c1", text=text, source="evil.md", title="<b>Evil</b> title", heading="H", page=None,
        start=100, end=100 + len(text), position=0, url="javascript:alert(1)", publisher="<i>P</i>",
    )  # fmt: skip
    start = text.index("the <script>")
    quote = "the <script>quoted</script> words."
    return Citation(1, chunk, quote, 100 + start, 100 + start + len(quote), 0.9)


def test_corpus_and_model_text_is_escaped() -> None:
    citation = hostile_citation()
    card = card_html(citation, "t1")
    assert "<script>" not in card and "<img" not in card and "<b>Evil" not in card
    assert "<mark>the &lt;script&gt;quoted&lt;/script&gt; words.</mark>" in card
    assert "javascript:" not in card  # an unsafe URL is not linked
    sentence = SentenceSupport('<svg onload="x"> is weak.', (1,), "weak", reason="<u>why</u>")
    answer = Answer("q", sentence.text + " [1]", [citation], [sentence])
    shown = answer_html(answer, "t1", Filters())
    assert "<svg" not in shown and "<u>" not in shown
    assert 'class="flag flag-weak"' in shown and 'data-src="src-t1-1"' in shown


def test_upload_names_are_sanitised_and_stay_in_the_corpus(tmp_path: Path) -> None:
    assert safe_name("../../etc/Evil name (v2).MD") == "Evil-name-v2.md"
    assert safe_name("C:\\Users\\x\\..\\.hidden.txt") == "hidden.txt"
    with pytest.raises(UploadError, match=r"only \.md"):
        safe_name("payload.exe")
    source = tmp_path / "My notes.md"
    source.write_text("# Notes\n\nText.\n")
    corpus = tmp_path / "corpus"
    assert save_upload(source, corpus, max_mb=1).rel == "uploads/My-notes.md"
    assert (corpus / "uploads" / "My-notes.md").read_text() == source.read_text()
    source.write_bytes(b"x" * 2048)
    with pytest.raises(UploadError, match="over the"):
        save_upload(source, corpus, max_mb=0.001)


def test_a_word_report_can_be_uploaded_and_is_indexed(tmp_path: Path) -> None:
    import docx

    from tests.conftest import HashEmbedder, settings_for

    report = docx.Document()
    report.add_heading("Chip notice", level=1)
    report.add_paragraph("The notice puts HBM exports under licence from December 2024.")
    source = tmp_path / "Notice 2024.docx"
    report.save(str(source))
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    assert save_upload(source, corpus, max_mb=1).rel == "uploads/Notice-2024.docx"
    bot = Assistant(settings_for(tmp_path, corpus), embedder=HashEmbedder())
    assert bot.index().exit_code == 0
    hit = bot.search("HBM exports under licence", k=1).hits[0]
    assert hit.chunk.source == "uploads/Notice-2024.docx" and "Chip notice" in hit.chunk.heading


def test_every_front_end_refuses_a_bad_date_with_the_same_words(
    fake_bot: Assistant, capsys: pytest.CaptureFixture[str]
) -> None:
    from assistant import cli
    from assistant.web import filter_choices_note

    words = "The since date '2023-02-30' is not a date: write it as YYYY-MM-DD"
    assert html.escape(words) in filter_choices_note([], [], [], "2023-02-30", "")
    code = cli.main(
        ["search", "chips", "--since", "2023-02-30", "--index", str(fake_bot.settings.index.path)]
    )
    assert code != 0 and words in capsys.readouterr().err
    swapped = filter_choices_note([], [], [], "2024-01-01", "2023-01-01")
    assert "after the until date 2023-01-01; swap them" in swapped


def test_cards_say_how_current_a_source_is_and_the_status_shows_coverage() -> None:
    from dataclasses import replace

    from assistant.web_render import status_html

    citation = hostile_citation()
    dated = replace(
        citation,
        chunk=replace(
            citation.chunk, date="2025-04-15", accurate_as_of="2026-01-31",
            superseded_by=("us-h200-rule-2026",),
        ),
    )  # fmt: skip
    card = card_html(dated, "t1")
    assert "2025-04-15" in card and "checked through 2026-01-31" in card
    assert "superseded by us-h200-rule-2026" in card
    status = status_html(True, "extractive", "3 documents", {"export-controls": "2026-02-28"})
    assert "Sources checked through" in status and "export-controls: 2026-02-28" in status


def test_a_flagged_sentence_shows_its_reason_in_words() -> None:
    from assistant.web_render import sentence_html

    wrong = SentenceSupport(
        "Licences began in October 2023.", (1,), "unsupported", ("c1",), "",
        "the passage gives 1 August 2023, not October 2023",
    )  # fmt: skip
    shown = sentence_html(wrong, "t1", {1: "Minerals"})
    assert 'class="flag-reason"' in shown and "not October 2023" in shown
