"""The MCP server through the official SDK's own client: over streamable HTTP against the real
server (the web app on 127.0.0.1, behind the API's token), over stdio against a spawned
``python -m assistant mcp``, and in memory where only the server object matters."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client, ClientSession, MCPError, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, TextContent

from assistant import Assistant
from assistant.mcp_server import CorpusServer
from tests.conftest import REPO, HashEmbedder, serving, settings_for, write_corpus

TOKEN = "mcp-test-token"
QUESTION = "Which chips did Nvidia design for Chinese customers after the 2022 rule?"
QUERY = "Nvidia designed the A800 and H800 chips for Chinese customers"
TRAVERSALS = ["corpus://../secret.txt", "corpus://%2e%2e/secret.txt", "corpus:///etc/passwd"]


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    tmp = tmp_path_factory.mktemp("mcp")
    (tmp / "secret.txt").write_text("A file beside the corpus that nobody may read.")
    bot = Assistant(settings_for(tmp, write_corpus(tmp / "corpus")), embedder=HashEmbedder())
    assert bot.index().exit_code == 0
    bot.settings.web.api_token = TOKEN  # type: ignore[assignment]  # validated into a SecretStr
    return bot


@pytest.fixture(scope="module")
def url(bot: Assistant) -> Iterator[str]:
    with serving(bot) as base:
        yield f"{base}/mcp"


@asynccontextmanager
async def over_http(url: str, token: str = TOKEN) -> AsyncIterator[ClientSession]:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=120) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def text_of(result: CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


def structured(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    return result.structured_content


# ---- streamable HTTP, on the real server -----------------------------------------------------


async def test_http_lists_the_three_tools_with_typed_output(url: str) -> None:
    async with over_http(url) as session:
        tools = {t.name: t for t in (await session.list_tools()).tools}
    assert set(tools) == {"search", "ask", "index_status"}
    ask = tools["ask"]
    assert ask.input_schema["required"] == ["question"]
    assert ask.input_schema["properties"]["k"]["anyOf"][0] == {
        "maximum": 50, "minimum": 1, "type": "integer"
    }  # fmt: skip
    assert ask.output_schema is not None
    assert {"answer", "citations", "sentences", "abstained"} <= set(ask.output_schema["properties"])


async def test_http_search_gives_passages_with_citation_metadata(url: str) -> None:
    async with over_http(url) as session:
        found = structured(await session.call_tool("search", {"query": QUERY, "k": 3}))
        narrowed = structured(
            await session.call_tool("search", {"query": QUERY, "sources": ["minerals.txt"]})
        )
        dated = structured(
            await session.call_tool("search", {"query": QUERY, "until": "2000-01-01"})
        )
    assert found["relevant"] and 1 <= len(found["hits"]) <= 3
    best = found["hits"][0]
    assert best["source"] == "export-rules.md"
    assert best["url"] == "https://example.org/rules"
    assert best["publisher"] == "Fixture Bureau of Industry and Security"
    assert best["location"].startswith("export-rules.md § ")
    assert "A800" in best["text"] and best["chunk_id"]
    assert {h["source"] for h in narrowed["hits"]} <= {"minerals.txt"}
    assert dated["hits"] == []


async def test_http_ask_gives_the_checked_answer(url: str) -> None:
    async with over_http(url) as session:
        result = await session.call_tool("ask", {"question": QUESTION})
        nothing = structured(
            await session.call_tool("ask", {"question": "What is the recipe for a lemon tart?"})
        )
    answer = structured(result)
    assert not answer["abstained"] and "A800" in answer["answer"] and "[1]" in answer["answer"]
    first = answer["citations"][0]
    assert first["n"] == 1 and first["quote"] and first["quote"] in first["snippet"]
    assert first["link"].startswith("https://example.org/rules#:~:text=")
    assert answer["sentences"] and all(s["support"] == "supported" for s in answer["sentences"])
    assert answer["sentences"][0]["citations"] == [1]
    assert "Sources:" in text_of(result) and first["quote"] in text_of(result)
    assert nothing["abstained"] and nothing["citations"] == []
    assert nothing["answer"].startswith("I cannot answer that from the indexed sources.")


async def test_http_index_status(url: str, bot: Assistant) -> None:
    async with over_http(url) as session:
        result = await session.call_tool("index_status", {})
    status = structured(result)
    assert status["exists"] and status["documents"] == 4 and status["model"] == "hash-embedder"
    assert status["changed_since"] == {"new": [], "changed": [], "removed": []}
    assert "4 documents" in text_of(result)


async def test_http_documents_are_resources(url: str) -> None:
    async with over_http(url) as session:
        listed = (await session.list_resources()).resources
        pdf = (await session.read_resource("corpus://hbm-report.pdf")).contents[0]
        rules = (await session.read_resource("corpus://export-rules.md")).contents[0]
    assert [str(r.uri) for r in listed] == [
        "corpus://export-rules.md", "corpus://hbm-report.pdf",
        "corpus://minerals.txt", "corpus://models.html",
    ]  # fmt: skip
    assert listed[0].title == "Fixture: the 2022 and 2023 US chip export rules"
    assert "SK hynix, Samsung and Micron" in getattr(pdf, "text", "")  # the extracted text
    assert "Nvidia then designed the A800" in getattr(rules, "text", "")


async def test_http_refuses_resources_outside_the_index(url: str) -> None:
    async with over_http(url) as session:
        for uri in [*TRAVERSALS, "corpus://not-indexed.md"]:
            with pytest.raises(MCPError) as refused:
                await session.read_resource(uri)
            assert "nobody may read" not in str(refused.value)
            assert "Unknown resource" in str(refused.value) or "not a document of the index" in (
                str(refused.value)
            )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"question": "   "}, "The question is empty: send its text."),
        ({"question": QUESTION, "k": 0}, "k: Input should be greater than or equal to 1."),
        ({"question": QUESTION, "k": 51}, "k: Input should be less than or equal to 50."),
        ({"question": QUESTION, "since": "2023-02-30"}, "since date '2023-02-30' is not a date"),
        ({"question": QUESTION, "until": "5/1/2024"}, "write it as YYYY-MM-DD"),
        ({"k": 3}, "question: Field required."),
    ],
)
async def test_http_bad_input_gets_a_one_line_error(
    url: str, arguments: dict[str, Any], message: str
) -> None:
    async with over_http(url) as session:
        result = await session.call_tool("ask", arguments)
    assert result.is_error
    assert message in text_of(result) and "\n" not in text_of(result)


def test_http_needs_the_api_token(url: str) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"Accept": "application/json, text/event-stream"}
    for auth in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        refused = httpx.post(url, json=body, headers=headers | auth, timeout=30)
        assert refused.status_code == 401
        assert "ASSISTANT_WEB__API_TOKEN" in refused.json()["error"]["message"]
        assert refused.headers["www-authenticate"] == "Bearer"
    assert httpx.post(url + "/x", json=body, headers=headers, timeout=30).status_code == 404


async def test_http_client_with_a_wrong_token_cannot_start_a_session(url: str) -> None:
    with pytest.raises(BaseExceptionGroup) as failed:
        async with over_http(url, token="wrong"):
            pass
    assert any(isinstance(e, MCPError) for e in leaves(failed.value))


async def test_http_without_a_token_asks_for_the_web_login_as_v1_does(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, write_corpus(tmp_path / "corpus"))
    settings.web.auth = "reader:pa55word"  # type: ignore[assignment]  # validated into a SecretStr
    bot = Assistant(settings, embedder=HashEmbedder())
    bot.index()
    with serving(bot) as base:
        refused = httpx.post(f"{base}/mcp", json={}, timeout=30)
        async with (
            httpx2.AsyncClient(auth=("reader", "pa55word"), timeout=60) as http,
            streamable_http_client(f"{base}/mcp", http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            status = structured(await session.call_tool("index_status", {}))
    assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Basic")
    assert status["documents"] == 4


def leaves(error: BaseException) -> Iterator[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            yield from leaves(inner)
    else:
        yield error


# ---- in memory: what only the server object decides ------------------------------------------


async def test_a_link_out_of_the_corpus_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "outside.txt").write_text("Outside the corpus: the chip rules of nobody.")
    corpus = write_corpus(tmp_path / "corpus")
    os.symlink(tmp_path / "outside.txt", corpus / "linked.txt")
    bot = Assistant(settings_for(tmp_path, corpus), embedder=HashEmbedder())
    bot.index()
    async with Client(CorpusServer(bot)) as client:
        listed = {str(r.uri) for r in (await client.list_resources()).resources}
        with pytest.raises(MCPError, match=r"linked\.txt: not a document of the index"):
            await client.read_resource("corpus://linked.txt")
    assert "corpus://linked.txt" in listed  # indexed, as the indexer follows links, yet not read


async def test_without_an_index_the_tools_say_how_to_build_one(tmp_path: Path) -> None:
    bot = Assistant(settings_for(tmp_path, write_corpus(tmp_path / "corpus")), HashEmbedder())
    async with Client(CorpusServer(bot)) as client:
        searched = await client.call_tool("search", {"query": QUERY})
        status = await client.call_tool("index_status", {})
        listed = (await client.list_resources()).resources
    assert searched.is_error and "run `assistant index`" in text_of(searched)
    assert structured(status)["exists"] is False and "assistant index" in text_of(status)
    assert listed == []


# ---- stdio: `python -m assistant mcp`, with the real bundled embedder ------------------------


@asynccontextmanager
async def over_stdio(bot: Assistant) -> AsyncIterator[ClientSession]:
    env = {
        "ASSISTANT_CORPUS__PATH": str(bot.settings.corpus.path),
        "ASSISTANT_INDEX__PATH": str(bot.settings.index.path),
        "ASSISTANT_LLM__BACKEND": "extractive",
    }
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "assistant", "mcp"], env=env, cwd=REPO
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


@pytest.mark.e2e
async def test_stdio_serves_tools_and_documents(real_bot: Assistant) -> None:
    async with over_stdio(real_bot) as session:
        tools = {t.name for t in (await session.list_tools()).tools}
        found = structured(await session.call_tool("search", {"query": "Who makes HBM?", "k": 2}))
        answer = structured(await session.call_tool("ask", {"question": QUESTION}))
        status = structured(await session.call_tool("index_status", {}))
        bad = await session.call_tool("search", {"query": "HBM", "since": "yesterday"})
        listed = [str(r.uri) for r in (await session.list_resources()).resources]
        text = (await session.read_resource("corpus://minerals.txt")).contents[0]
        with pytest.raises(MCPError):
            await session.read_resource(TRAVERSALS[0])
    assert tools == {"search", "ask", "index_status"}
    assert found["hits"][0]["source"] == "hbm-report.pdf"
    assert found["hits"][0]["location"].startswith("hbm-report.pdf, page ")
    assert not answer["abstained"] and answer["citations"][0]["source"] == "export-rules.md"
    assert status["documents"] == 4 and status["model"] == real_bot.embedder.name
    assert bad.is_error and "since date 'yesterday' is not a date" in text_of(bad)
    assert "corpus://minerals.txt" in listed and "gallium" in getattr(text, "text", "").lower()
