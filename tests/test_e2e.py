"""End to end with the real bundled models: the all-MiniLM-L6-v2 embedder and SmolLM2-135M."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant import Assistant, Final, Token
from assistant.errors import IndexMissingError
from tests.conftest import REPO, settings_for

pytestmark = pytest.mark.e2e


def test_search_ranks_the_passage_with_the_fact(real_bot: Assistant) -> None:
    result = real_bot.search("Which makers produce high-bandwidth memory?", k=3)
    assert result.relevant
    top = result.hits[0]
    assert top.chunk.source == "hbm-report.pdf" and top.chunk.page == 2
    assert top.similarity is not None and top.bm25 is not None
    assert top.dense_rank is not None and top.bm25_rank is not None


def test_bundled_llm_answer_cites_a_source_that_holds_the_fact(real_bot: Assistant) -> None:
    answer = real_bot.ask("When did China start licensing gallium exports?", backend="llamacpp")
    assert not answer.abstained, answer.notes
    assert answer.citations, answer.text
    assert "1 August 2023" in answer.text
    cited = [c for c in answer.citations if "1 August 2023" in c.chunk.text]
    assert cited and cited[0].chunk.source == "minerals.txt"
    assert any(s.support == "supported" for s in answer.sentences)
    assert {c.n for c in answer.citations} == set(range(1, len(answer.citations) + 1))


def test_stream_yields_tokens_then_one_final_answer(real_bot: Assistant) -> None:
    events = list(real_bot.stream("What did the October 2023 update add?", backend="llamacpp"))
    assert isinstance(events[-1], Final)
    assert sum(isinstance(e, Token) for e in events) > 1
    final = events[-1].answer
    assert not final.abstained
    assert any("performance density" in c.chunk.text for c in final.citations)


def test_extractive_backend_answers_without_a_model(real_bot: Assistant) -> None:
    answer = real_bot.ask("Who made the CPM models?", backend="extractive")
    assert "Tsinghua" in answer.text
    assert answer.citations[0].chunk.source == "models.html"
    assert answer.citations[0].chunk.url == "https://example.org/models"


def test_off_topic_question_abstains(real_bot: Assistant) -> None:
    answer = real_bot.ask("What is a good recipe for banana bread?", backend="extractive")
    assert answer.abstained and answer.citations == []


def test_question_before_any_index_says_how_to_build_one(tmp_path: Path) -> None:
    bot = Assistant(settings_for(tmp_path, tmp_path))
    with pytest.raises(IndexMissingError, match="assistant index"):
        bot.ask("anything")


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        capture_output=True, text=True, env={**os.environ, **env}, cwd=REPO, timeout=600,
    )  # fmt: skip


def test_cli_index_and_ask_json(tmp_path: Path) -> None:
    from tests.conftest import write_corpus

    corpus = write_corpus(tmp_path / "corpus")
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 broken")
    env = {"ASSISTANT_CORPUS__PATH": str(corpus), "ASSISTANT_INDEX__PATH": str(tmp_path / "ix")}
    built = run_cli("index", "--json", env=env)
    assert built.returncode == 3, built.stderr
    report = json.loads(built.stdout)
    assert len(report["added"]) == 4 and report["failed"][0]["path"] == "broken.pdf"
    assert "indexing: 5/5 files" in built.stderr  # plain progress lines when not on a terminal
    asked = run_cli("ask", "What did the October 2023 update add?", "--json", env=env)
    assert asked.returncode == 0, asked.stderr
    data = json.loads(asked.stdout)
    assert data["abstained"] is False
    first = data["citations"][0]
    for key in ("n", "title", "source", "location", "url", "snippet", "chunk_id"):
        assert key in first
    assert any("performance density" in c["snippet"] for c in data["citations"])
    assert all(s["support"] in ("supported", "weak", "unsupported") for s in data["sentences"])
    searched = run_cli("search", "gallium", "--k", "2", "--json", env=env)
    assert json.loads(searched.stdout)["hits"][0]["source"] == "minerals.txt"
    # a reader that goes away before the answer is printed (| head) gets no traceback
    piped = subprocess.Popen(
        [sys.executable, "-m", "assistant", "ask", "What did the October 2023 update add?"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **env}, cwd=REPO,
    )  # fmt: skip
    assert piped.stdout is not None and piped.stderr is not None
    piped.stdout.close()
    errors = piped.stderr.read().decode()
    assert piped.wait(timeout=600) == 141 and "Traceback" not in errors, errors


def test_cli_errors_are_one_line_messages(tmp_path: Path) -> None:
    env = {"ASSISTANT_INDEX__PATH": str(tmp_path / "none")}
    result = run_cli("ask", "What is the H20?", env=env)
    assert result.returncode == 1
    assert result.stderr.startswith("error: No index found") and "Traceback" not in result.stderr


@pytest.mark.allow_hosts(["127.0.0.1"])  # pytest-socket refuses any other host for this test
def test_default_path_makes_no_network_connection(real_bot: Assistant) -> None:
    """Loading both bundled models and answering must not try to reach any host: the only
    connection allowed is to the local model's own process on 127.0.0.1."""
    import socket

    bot = Assistant(real_bot.settings)
    answer = bot.ask("What did the October 2023 update add?", backend="llamacpp")
    with pytest.raises(Exception, match=r"allowed: \"127\.0\.0\.1\""):  # the guard is on
        socket.create_connection(("192.0.2.1", 80), timeout=1)
    assert answer.citations
