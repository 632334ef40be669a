"""The MCP server, driven by the `mcp` SDK's own client: `newsrag mcp` as a real process over stdio and over
streamable HTTP (list the tools, call each, bad arguments give tool errors and the server keeps serving), and
the cited-answer path in-process with the scripted LLM.
"""

from __future__ import annotations

import asyncio
import sys

import pytest
from fakes import ScriptedLLM, fake_settings
from paths import SAMPLE_CORPUS
from servers import FAKE_ENV, REPO, free_port, newsrag_process

TOOLS = {"search_news", "ask_news", "list_sources", "get_article"}
QUESTION = "How much did Alibaba and Baidu shares rise?"
GROUNDED = "Alibaba's gain was close to 7%, and Baidu also rose more than 6% [1]."
TECH_ARTICLE = SAMPLE_CORPUS / "tech" / "2d-metal-slug-offers-retro-fun.txt"


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, timeout=120))


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    """A data dir holding the seed article (source 'seed') and one BBC article (source 'tech')."""
    from rag.api import NewsQA

    settings = fake_settings(tmp_path_factory.mktemp("mcp") / "data", retrieval_mode="keyword")
    qa = NewsQA(settings=settings, llm=ScriptedLLM())
    assert qa.ingest([SAMPLE_CORPUS / "seed", TECH_ARTICLE]).ok
    return qa


def stdio_params(data_dir):
    from mcp.client.stdio import StdioServerParameters

    return StdioServerParameters(  # the SDK adds a safe default environment (PATH, HOME) to these
        command=sys.executable,
        args=["-m", "cli.main", "--data-dir", str(data_dir), "mcp"],
        env=dict(FAKE_ENV),
        cwd=REPO,
    )


async def exercise(client, indexed) -> None:
    """List the tools and call each one, with good and bad arguments, against any transport."""
    listed = (await client.list_tools()).tools
    assert {t.name for t in listed} == TOOLS
    for tool in listed:
        assert len(tool.description) > 80, tool.name  # says when to use it, not just its name
        assert tool.annotations.read_only_hint is True
    ask = next(t for t in listed if t.name == "ask_news")
    assert "refused" in ask.description and set(ask.input_schema["properties"]) >= {"question", "k", "since", "until"}

    found = await client.call_tool("search_news", {"question": "Alibaba Baidu shares Hong Kong", "k": 2})
    assert not found.is_error
    passages = found.structured_content["passages"]
    assert 1 <= len(passages) <= 2 and passages[0]["title"].startswith("Alibaba Baidu develops")
    assert {"title", "url", "source", "published", "text", "article_id"} <= set(passages[0])
    only_tech = await client.call_tool("search_news", {"question": "Metal Slug game", "sources": ["tech"]})
    assert {p["source"] for p in only_tech.structured_content["passages"]} == {"tech"}

    sources = (await client.call_tool("list_sources", {})).structured_content
    assert sources["articles"] == 2
    assert {s["name"]: s["articles"] for s in sources["sources"]} == {"seed": 1, "tech": 1}

    article_id, url = passages[0]["article_id"], passages[0]["url"]
    by_id = (await client.call_tool("get_article", {"id_or_url": article_id})).structured_content
    by_url = (await client.call_tool("get_article", {"id_or_url": url, "max_chars": 500})).structured_content
    assert by_id["text"] == indexed.article_text(article_id) and "Alibaba's gain was close to 7%" in by_id["text"]
    assert by_url["id"] == article_id and len(by_url["text"]) == 500 and by_url["truncated"] is True

    # No article is that recent: refused before any model call (a model call would fail in these tests).
    refused = await client.call_tool("ask_news", {"question": "What did Baidu announce?", "since": "2031-01-01"})
    assert not refused.is_error
    assert refused.structured_content["refused"] is True
    assert refused.structured_content["refusal_reason"] == "no_passages"
    assert refused.structured_content["citations"] == []

    bad = [
        ("search_news", {"question": "chips", "k": 0}, "k"),
        ("search_news", {"k": 3}, "question"),
        ("search_news", {"question": "chips", "since": "last spring"}, "since"),
        ("ask_news", {"question": "chips", "sources": ["nowhere"]}, "Unknown source 'nowhere'"),
        ("ask_news", {"question": "chips", "since": "2025-06-01", "until": "2025-01-01"}, "is after until"),
        ("ask_news", {"question": "x" * 2001}, "question"),
        ("get_article", {"id_or_url": "https://example.com/not-indexed"}, "No indexed article"),
    ]
    for name, arguments, says in bad:
        result = await client.call_tool(name, arguments)
        assert result.is_error, (name, arguments)
        assert says in result.content[0].text, (name, result.content[0].text)
    # ... and the server is still serving
    assert (await client.call_tool("list_sources", {})).structured_content["articles"] == 2


@pytest.mark.integration
def test_newsrag_mcp_over_stdio_with_the_sdk_client(indexed):
    from mcp import Client

    async def main():
        async with Client(stdio_params(indexed.settings.data_dir), read_timeout_seconds=60) as client:
            assert client.server_info.name == "newsrag"
            assert "ask_news" in client.instructions
            await exercise(client, indexed)

    run(main())


@pytest.mark.integration
def test_newsrag_mcp_over_streamable_http(indexed):
    from mcp import Client

    port = free_port()
    args = ("--data-dir", str(indexed.settings.data_dir), "mcp", "--http", "--port", str(port))
    with newsrag_process(*args, ready_url=f"http://127.0.0.1:{port}/mcp"):

        async def main():
            async with Client(f"http://127.0.0.1:{port}/mcp", read_timeout_seconds=60) as client:
                assert {t.name for t in (await client.list_tools()).tools} == TOOLS
                result = await client.call_tool("search_news", {"question": "Metal Slug", "k": 1})
                assert result.structured_content["passages"][0]["source"] == "tech"
                assert (await client.call_tool("search_news", {"question": ""})).is_error

        run(main())


def test_ask_news_gives_the_checked_answer_with_its_citations(indexed):
    from mcp import Client

    from serve.mcp_server import build_server

    llm = indexed._llm
    llm.queue(GROUNDED, "Alibaba's shares fell by 40% after the chip launch [1].")

    async def main():
        async with Client(build_server(indexed)) as client:
            cited = (await client.call_tool("ask_news", {"question": QUESTION, "k": 3})).structured_content
            unsupported = (await client.call_tool("ask_news", {"question": QUESTION})).structured_content
        return cited, unsupported

    cited, unsupported = run(main())
    assert cited["refused"] is False
    assert cited["answer"].startswith(GROUNDED + "\n\nSources:\n- [1] Alibaba Baidu develops")
    (citation,) = cited["citations"]
    assert citation["number"] == 1 and citation["source"] == "seed"
    assert "Alibaba's gain was close to 7%, and Baidu also rose more than 6%." in citation["evidence"]
    # the model's unsupported sentence is not passed on: the assistant gets a refusal with its reason
    assert unsupported["refused"] is True and unsupported["refusal_reason"] in ("unsupported", "not_addressed")
    assert "40%" not in unsupported["answer"] and unsupported["citations"] == []
    assert not llm.replies
