"""The HTTP API end to end: a real index built with the bundled embedder, a real uvicorn server,
the official OpenAI client, and schemathesis fuzzing the OpenAPI document."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from assistant import Assistant, Settings
from tests.conftest import HashEmbedder, memory_client, serving

TOKEN = "s3cret-token"
QUESTION = "When did the US restrict exports of advanced AI chips to China?"
DOCS = {
    "chips.md": (
        "US chip export rules",
        "Bureau of Industry and Security",
        "2022-10-07",
        "On October 7, 2022, the US Commerce Department restricted exports of advanced AI chips "
        "such as the Nvidia A100 and H100 to China.",
    ),
    "deepseek.md": (
        "DeepSeek-R1",
        "DeepSeek",
        "2025-01-20",
        "DeepSeek released DeepSeek-R1, an open-weights reasoning model, on January 20, 2025, "
        "trained despite the limits on Nvidia chips sold to China.",
    ),
    "netherlands.md": (
        "Dutch lithography controls",
        "Government of the Netherlands",
        "2023-06-30",
        "The Netherlands announced on June 30, 2023 that ASML's most advanced immersion "
        "lithography machines would need an export licence from September 2023.",
    ),
}


def write_doc(folder: Path, name: str, title: str, publisher: str, day: str, text: str) -> None:
    front = (
        f'---\ntitle: "{title}"\npublisher: "{publisher}"\nurl: "https://example.org/{name}"\n'
        f"date: {day}\ntopics: [export-controls]\n---\n\n"
    )
    (folder / name).write_text(f"{front}# {title}\n\n{text}\n", encoding="utf-8")


def make_settings(root: Path, token: str | None) -> Settings:
    # The other backends point at nothing, so choosing one gives a quick 503, not a long wait.
    llm = {
        "backend": "extractive",
        "model_path": str(root / "missing.gguf"),
        "base_url": "http://127.0.0.1:9/v1",
        "retries": 0,
    }
    web = {"api_token": token} if token else {}
    groups = {"corpus": {"path": root / "corpus"}, "index": {"path": root / "index"}}
    return Settings.model_validate(groups | {"llm": llm, "web": web})


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("api")
    (root / "corpus").mkdir()
    for name, doc in DOCS.items():
        write_doc(root / "corpus", name, *doc)
    return root


@pytest.fixture(scope="module")
def store() -> Iterator[Any]:
    client: Any = memory_client()
    yield client
    client.reset()


@pytest.fixture(scope="module")
def bot(root: Path, store: Any) -> Assistant:
    bot = Assistant(make_settings(root, TOKEN), embedder=HashEmbedder(), store_client=store)
    bot.index()
    return bot


@pytest.fixture(scope="module")
def base_url(bot: Assistant) -> Iterator[str]:
    with serving(bot, log_config=None) as url:
        yield url


@pytest.fixture(scope="module")
def http(base_url: str) -> Iterator[httpx.Client]:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=base_url, headers=auth, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def client(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base_url}/v1", api_key=TOKEN, max_retries=0)


@pytest.fixture(scope="module")
def open_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server without the token setting, over an empty index folder."""
    root = tmp_path_factory.mktemp("open")
    (root / "corpus").mkdir()
    bot = Assistant(make_settings(root, token=None), embedder=HashEmbedder())
    with serving(bot, log_config=None) as url:
        yield url


def ask(client: openai.OpenAI, question: str = QUESTION, **kwargs: Any) -> Any:
    messages: Any = [{"role": "user", "content": question}]
    return client.chat.completions.create(model="ai-race-assistant", messages=messages, **kwargs)


def assert_error(response: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert set(error) >= {"message", "type", "code"}
    assert all(word in error["message"] for word in words), error["message"]
    assert "Traceback" not in response.text
    return error


def test_chat_completion_answers_with_cited_markers(client: openai.OpenAI) -> None:
    completion = ask(client)

    content = completion.choices[0].message.content
    assert "October 7, 2022" in content and "[1]" in content
    extra = completion.model_extra
    assert extra["abstained"] is False
    assert extra["citations"][0]["n"] == 1
    assert extra["citations"][0]["source"] == "chips.md"
    assert extra["citations"][0]["url"] == "https://example.org/chips.md"
    assert all(s["support"] in ("supported", "weak") for s in extra["sentences"])


def test_streamed_chunks_assemble_to_the_answer(client: openai.OpenAI) -> None:
    expected = ask(client).choices[0].message.content

    chunks = list(ask(client, stream=True))

    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text.strip() == expected
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.model_extra["citations"][0]["source"] == "chips.md"
    assert last.model_extra["abstained"] is False


def test_history_and_filters_shape_the_answer(client: openai.OpenAI) -> None:
    messages: Any = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What did DeepSeek release in January 2025?"},
        {"role": "assistant", "content": "DeepSeek released DeepSeek-R1 [1]."},
        {"role": "user", "content": "Which lithography machines needed a licence?"},
    ]
    only = {"filters": {"sources": ["netherlands.md"]}, "backend": "extractive"}
    completion: Any = client.chat.completions.create(
        model="anything", messages=messages, extra_body=only
    )

    assert "ASML" in completion.choices[0].message.content
    assert {c["source"] for c in completion.model_extra["citations"]} == {"netherlands.md"}


def test_a_question_with_no_answer_in_the_sources_abstains(client: openai.OpenAI) -> None:
    completion = ask(client, extra_body={"filters": {"since": "2030-01-01"}})

    assert completion.model_extra["abstained"] is True
    assert completion.model_extra["citations"] == []


def test_models_lists_the_assistant(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["ai-race-assistant"]


def test_search_with_a_date_filter(http: httpx.Client) -> None:
    query = {"query": "export controls on chips and machines to China", "k": 5}
    everything = http.post("/v1/search", json=query).json()
    recent = http.post("/v1/search", json=query | {"filters": {"since": "2023-01-01"}}).json()

    assert everything["relevant"] and "chips.md" in {h["source"] for h in everything["hits"]}
    assert recent["hits"] and all(h["date"] >= "2023-01-01" for h in recent["hits"])
    assert "chips.md" not in {h["source"] for h in recent["hits"]}


def test_search_hits_carry_every_field_of_the_record(http: httpx.Client, bot: Assistant) -> None:
    found = http.post("/v1/search", json={"query": "export controls", "k": 1}).json()["hits"][0]
    record = bot.search("export controls", k=1).hits[0].to_dict()
    assert set(found) == set(record) and found["superseded_by"] == list(record["superseded_by"])
    swapped = http.post(
        "/v1/search",
        json={"query": "chips", "filters": {"since": "2024-01-01", "until": "2023-01-01"}},
    )
    assert swapped.status_code == 422 and "swap them" in swapped.text


def test_index_status(http: httpx.Client) -> None:
    status = http.get("/v1/index").json()

    assert status["exists"] is True
    assert status["documents"] == len(DOCS)
    assert status["changed_since"] == {"new": [], "changed": [], "removed": []}


def test_index_update_runs_as_a_job_and_reports_the_diff(
    http: httpx.Client, bot: Assistant, root: Path
) -> None:
    text = "Japan restricted exports of 23 kinds of chip-making equipment from July 23, 2023."
    write_doc(root / "corpus", "japan.md", "Japan's chip rules", "METI", "2023-07-23", text)
    assert http.get("/v1/index").json()["changed_since"]["new"] == ["japan.md"]

    with bot._index_lock:  # hold any update open, so the second request meets the first
        started = http.post("/v1/index")
        busy = http.post("/v1/index")
    assert started.status_code == 202, started.text
    assert_error(busy, 409, "already running")
    job = started.json()
    assert started.headers["location"].endswith(f"/v1/index/jobs/{job['id']}")

    deadline = time.monotonic() + 120
    while job["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
        job = http.get(f"/v1/index/jobs/{job['id']}").json()

    assert job["status"] == "done", job
    assert job["files_done"] == job["files_total"] == len(DOCS) + 1
    assert job["report"]["added"] == ["japan.md"]
    assert sorted(job["report"]["unchanged"]) == sorted(DOCS)
    assert job["report"]["chunks_embedded"] >= 1
    assert http.get("/v1/index").json()["documents"] == len(DOCS) + 1


def test_every_endpoint_needs_the_token(base_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    chat = {"messages": [{"role": "user", "content": "hi"}]}
    calls = [("GET", "/v1/models", None), ("POST", "/v1/search", {"query": "chips"}),
             ("GET", "/v1/index", None), ("POST", "/v1/index", None),
             ("POST", "/v1/chat/completions", chat), ("DELETE", "/v1/models", None)]  # fmt: skip
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        for method, path, body in calls:
            response = httpx.request(method, base_url + path, json=body, headers=headers)
            error = assert_error(response, 401, "ASSISTANT_WEB__API_TOKEN")
            assert error["type"] == "authentication_error"
            assert TOKEN not in response.text
            assert response.headers["www-authenticate"] == "Bearer"

    with pytest.raises(openai.AuthenticationError):
        ask(openai.OpenAI(base_url=f"{base_url}/v1", api_key="wrong", max_retries=0))
    assert caplog.records and TOKEN not in caplog.text


def test_updating_the_index_needs_the_token_setting(open_url: str) -> None:
    response = httpx.post(f"{open_url}/v1/index")

    error = assert_error(response, 403, "ASSISTANT_WEB__API_TOKEN")
    assert error["type"] == "permission_error"
    assert httpx.get(f"{open_url}/v1/models").status_code == 200  # no token set: open


def test_without_an_index_answers_are_503_with_the_way_out(open_url: str) -> None:
    body = {"messages": [{"role": "user", "content": QUESTION}]}
    for stream in (False, True):
        response = httpx.post(f"{open_url}/v1/chat/completions", json=body | {"stream": stream})
        assert_error(response, 503, "assistant index")
    assert_error(httpx.post(f"{open_url}/v1/search", json={"query": "chips"}), 503, "No index")
    assert httpx.get(f"{open_url}/v1/index").json()["exists"] is False


def test_an_unreachable_model_backend_is_503(http: httpx.Client) -> None:
    body = {"messages": [{"role": "user", "content": QUESTION}], "backend": "openai"}

    error = assert_error(http.post("/v1/chat/completions", json=body), 503, "127.0.0.1:9")

    assert error["code"] == "backend_unavailable"


@pytest.mark.parametrize(
    ("request_", "status", "words"),
    [
        (("POST", "/v1/search", b"{not json"), 400, ["not valid JSON"]),
        (("POST", "/v1/search", b'{"query": "' + b"x" * 1_100_000 + b'"}'), 413, ["larger"]),
        (("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": "x" * 5000}]}),
         422, ["messages.0.content", "at most 4000"]),
        (("POST", "/v1/chat/completions", {"messages": [{"role": "system", "content": "Hi"}]}),
         422, ["user message"]),
        (("POST", "/v1/search", {"query": "chips", "filters": {"since": "last year"}}),
         422, ["filters.since", "YYYY-MM-DD"]),
        (("POST", "/v1/search", {"query": "chips", "k": "5"}), 422, ["k:"]),
        (("POST", "/v1/search", {"query": "chips", "kk": 5}), 422, ["kk"]),
        (("GET", "/v1/index/jobs/nope", None), 404, ["nope"]),
        (("DELETE", "/v1/search", None), 405, ["POST"]),
        (("GET", "/v1/embeddings", None), 404, ["/v1/embeddings"]),
    ],
)  # fmt: skip
def test_bad_requests_get_clear_json_errors(
    http: httpx.Client, request_: tuple[str, str, Any], status: int, words: list[str]
) -> None:
    method, path, body = request_
    if isinstance(body, bytes):
        headers = {"Content-Type": "application/json"}
        response = http.request(method, path, content=body, headers=headers)
    else:
        response = http.request(method, path, json=body)

    assert_error(response, status, *words)


def test_schemathesis_finds_no_server_error_or_schema_mismatch(
    http: httpx.Client, base_url: str, tmp_path: Path
) -> None:
    schema = http.get("/openapi.json").json()
    # The other backends have no model in this test; their 503 is tested above.
    backend = schema["components"]["schemas"]["ChatRequest"]["properties"]["backend"]
    backend["anyOf"][0]["enum"] = ["extractive"]
    (tmp_path / "openapi.json").write_text(json.dumps(schema))
    command = [
        str(Path(sys.executable).with_name("schemathesis")), "run", "openapi.json",
        "--url", base_url, "--checks", "all", "--header", f"Authorization: Bearer {TOKEN}",
        "--max-examples", "15", "--seed", "1", "--generation-database", "none",
        "--workers", "1", "--no-color",
    ]  # fmt: skip
    # One worker: CPython 3.11's AST recursion counter is shared between threads, so two workers
    # now and then die of "AST constructor recursion depth mismatch" (CPython gh-106905).

    run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)

    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
