"""The web chat in a real browser (Chromium through Playwright): streaming answers, the source
panel behind a citation marker, filters that lead to an abstention, and adding a document.

Each step leaves a screenshot in test-output/browser/ to look at."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from assistant import Assistant
from tests.conftest import REPO, serving
from tests.test_web import indexed_bot

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = REPO / "test-output" / "browser"
WAIT_MS = 60_000
UPLOAD = """---
title: "Fixture Labs announces the Zephyr-9 accelerator"
publisher: "Fixture Labs"
url: "https://example.org/zephyr-9"
date: 2025-03-03
topics: [ai-chips]
---
# Zephyr-9

Fixture Labs announced the Zephyr-9 accelerator in March 2025. The Zephyr-9 is an AI chip \
with 96 gigabytes of high-bandwidth memory, built for inference in small data centres.
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Assistant, str]]:
    bot = indexed_bot(tmp_path_factory.mktemp("browser"))
    with serving(bot) as url:
        yield bot, url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`.", pytrace=False
        )
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, site: tuple[Assistant, str]) -> Iterator[Page]:
    page = browser.new_page(viewport={"width": 1360, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    open_page(page, site[1])
    yield page
    page.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def open_page(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.locator("#question textarea")).to_be_visible(timeout=WAIT_MS)


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def ask(page: Page, question: str) -> Locator:
    """Types a question, waits for the finished answer; returns the last bot message."""
    page.evaluate(
        """() => {
          window.sawStream = false;
          new MutationObserver(() => {
            if (document.querySelector('#chat .cursor, #chat .pending')) window.sawStream = true;
          }).observe(document.body, {subtree: true, childList: true, characterData: true});
        }"""
    )
    rows = page.locator("#chat .message-row")
    before = rows.count()
    page.fill("#question textarea", question)
    page.keyboard.press("Enter")
    expect(rows).to_have_count(before + 2, timeout=WAIT_MS)  # the question and the answer
    last = rows.last
    finished = last.locator(".answer:not(.pending):not(:has(.cursor)), .abstain, .chat-error")
    expect(finished).to_be_visible(timeout=WAIT_MS)
    assert page.evaluate("window.sawStream"), "the answer did not stream in"
    return last


def open_accordion(page: Page, elem_id: str) -> None:
    page.locator(f"#{elem_id} > button").first.click()


def test_answer_streams_in_and_a_marker_opens_its_source(page: Page) -> None:
    shot(page, "01-start")
    answer = ask(page, "Who made the CPM models?")
    expect(answer).to_contain_text("Tsinghua University")
    expect(answer.locator(".answer-sources")).to_contain_text("Who built the CPM models")
    shot(page, "02-answer")
    panel = page.locator("#source-panel")
    expect(panel.locator(".source-card.active")).to_have_count(0)
    answer.locator("a.cite").first.click()
    card = panel.locator(".source-card.active")
    expect(card).to_be_visible()
    expect(card.locator("h3")).to_have_text("Who built the CPM models")
    expect(card.locator(".card-meta")).to_contain_text("Fixture AI Review · 2021-06-01")
    expect(card.locator(".card-loc")).to_contain_text("cpm.md")
    expect(card.locator("mark")).to_contain_text("Tsinghua University")
    link = card.locator("a.card-link")
    expect(link).to_have_attribute("href", re.compile(r"^https://example\.org/cpm#:~:text=.+"))
    shot(page, "03-source-panel")


def test_an_example_question_runs_and_new_chat_starts_over(page: Page) -> None:
    page.locator("#chat .example", has_text="Nvidia chips").click()
    answer = page.locator("#chat .message-row").last.locator(".answer:not(.pending)")
    expect(answer.locator("a.cite").first).to_be_visible(timeout=WAIT_MS)
    expect(answer).to_contain_text("A800")
    answer.locator("a.cite-chip").first.click()
    expect(page.locator("#source-panel .source-card.active mark")).to_be_visible()
    page.click("#new-chat")
    expect(page.locator("#chat .message-row")).to_have_count(0)
    expect(page.locator("#source-panel .source-card")).to_have_count(0)
    expect(page.locator("#chat .example")).to_have_count(4)


def test_a_date_filter_that_excludes_the_source_gives_an_abstention(page: Page) -> None:
    open_accordion(page, "filters")
    since = page.locator("#f-since input, #f-since textarea").first
    since.fill("2021-02-30")
    since.press("Tab")
    expect(page.locator("#filter-note")).to_contain_text("is not a date: write it as YYYY-MM-DD")
    reply = ask(page, "Who made the CPM models?")
    expect(reply.locator(".chat-error")).to_contain_text("'2021-02-30' is not a date")
    shot(page, "04-bad-date")
    since.fill("2022-01-01")
    since.press("Tab")
    expect(page.locator("#filter-note")).to_contain_text("since 2022-01-01")
    reply = ask(page, "Who made the CPM models?")
    expect(reply.locator(".abstain")).to_contain_text("No answer in the sources")
    expect(reply.locator(".abstain")).to_contain_text("Filters were on (since 2022-01-01)")
    expect(reply.locator("a.cite")).to_have_count(0)
    shot(page, "05-abstained")


def test_an_uploaded_document_is_indexed_and_cited(
    page: Page, site: tuple[Assistant, str], tmp_path: Path
) -> None:
    bot, url = site
    open_accordion(page, "uploads")
    expect(page.locator("#uploads")).to_contain_text("ASSISTANT_WEB__UPLOADS=true")
    bot.settings.web.uploads = True
    try:
        open_page(page, url)
        open_accordion(page, "uploads")
        upload = tmp_path / "Zephyr 9 (draft).md"
        upload.write_text(UPLOAD, encoding="utf-8")
        page.locator("#upload-files input[type=file]").set_input_files(str(upload))
        expect(page.locator("#upload-files")).to_contain_text("Zephyr", timeout=WAIT_MS)
        page.click("#upload-add")
        result = page.locator("#upload-result")
        expect(result).to_contain_text("uploads/Zephyr-9-draft.md — added", timeout=WAIT_MS)
        shot(page, "06-uploaded")
    finally:
        bot.settings.web.uploads = False
    answer = ask(page, "What is the Zephyr-9 accelerator?")
    expect(answer.locator(".answer-sources")).to_contain_text("Zephyr-9 accelerator")
    answer.locator("a.cite").first.click()
    expect(page.locator("#source-panel .source-card.active .card-loc")).to_contain_text(
        "uploads/Zephyr-9-draft.md"
    )
    shot(page, "07-upload-cited")
