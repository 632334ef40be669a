"""newsrag as a Model Context Protocol server: tools an assistant calls to search and ask the indexed news.

`newsrag mcp` serves over stdio (an MCP client starts it as a subprocess); `newsrag mcp --http` over
streamable HTTP at http://127.0.0.1:8765/mcp. It is built on the official `mcp` SDK (MCPServer): the SDK
writes each tool's JSON schema from its type hints, validates arguments against it and returns a tool error,
not a crash, for bad ones. Answers come from NewsQA.ask, so the citation checks and refusals apply.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Annotated

from pydantic import BaseModel, Field

from serve import wire

log = logging.getLogger(__name__)

DEFAULT_HTTP_PORT = 8765
ARTICLE_MAX_CHARS = 20_000

INSTRUCTIONS = """\
newsrag answers questions from a local index of tech news articles, with citations. Use ask_news for a \
question a person asked about the news: it returns a short answer whose [n] markers point at the cited \
passages, or a refusal when the articles don't say. Use search_news to look at the passages yourself, \
list_sources to learn what the index holds (sources, dates), get_article to read one article in full. \
Quote newsrag's citations (title, URL, date) when you pass an answer on, and pass refusals on as refusals."""

Question = Annotated[
    str, Field(min_length=1, max_length=wire.MAX_QUESTION_CHARS, description="The question, in plain words.")
]
K = Annotated[int, Field(ge=1, le=wire.MAX_K, description="How many passages to retrieve.")]
Sources = Annotated[
    list[str] | None, Field(description="Only articles from these sources (names from list_sources); omit for all.")
]
Since = Annotated[date | None, Field(description="Only articles published on or after this day, YYYY-MM-DD.")]
Until = Annotated[date | None, Field(description="Only articles published on or before this day, YYYY-MM-DD.")]


class PassageOut(BaseModel):
    title: str
    url: str
    source: str
    published: str | None = Field(description="YYYY-MM-DD, or null when the article is undated.")
    text: str
    score: float = Field(description="Retrieval similarity; higher is closer to the question.")
    article_id: str = Field(description="Pass it to get_article to read the whole article.")
    chunk_id: str


class SearchResult(BaseModel):
    passages: list[PassageOut]


class CitationOut(PassageOut):
    number: int = Field(description="The n of the [n] markers in the answer.")
    evidence: list[str] = Field(description="The passage's sentences that support the answer.")


class AskResult(BaseModel):
    answer: str = Field(description="The answer with [n] markers and a source list, or the refusal.")
    refused: bool = Field(description="True when the articles don't answer the question.")
    refusal_reason: str | None = None
    refusal_detail: str | None = Field(None, description="What the articles mention and what they leave out.")
    citations: list[CitationOut]


class SourceOut(BaseModel):
    name: str
    articles: int


class SourcesResult(BaseModel):
    sources: list[SourceOut]
    articles: int
    earliest: str | None = Field(description="Date of the oldest dated article.")
    latest: str | None = Field(description="Date of the newest dated article.")
    undated: int


class ArticleOut(BaseModel):
    id: str
    title: str
    url: str
    source: str
    published: str | None
    text: str
    truncated: bool = Field(description="True when text was cut at max_chars.")


def build_server(qa):
    """An MCPServer whose four tools call this NewsQA."""
    from mcp.server import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp_types import ToolAnnotations

    server = MCPServer("newsrag", instructions=INSTRUCTIONS, version=_version())
    read_only = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False)

    def checked(question: str, sources, since, until) -> str:
        try:
            question = wire.check_question(question)
            wire.check_filters(qa, sources=sources, since=since, until=until)
        except ValueError as exc:
            raise ToolError(str(exc)) from None
        return question

    def guarded(action: str, call):
        try:
            return call()
        except ToolError:
            raise
        except Exception as exc:  # the edge: a message the assistant can act on, the traceback in the log
            log.exception("%s failed", action)
            raise ToolError(f"{action} failed: {wire.user_error(exc)}") from None

    @server.tool(title="Search the news", annotations=read_only)
    def search_news(
        question: Question, k: K = 5, sources: Sources = None, since: Since = None, until: Until = None
    ) -> SearchResult:
        """Find the passages of indexed news articles closest to a question, without writing an answer.

        Use it to read the evidence yourself, or to see whether the index covers a subject before asking.
        Returns passages (best first) with their article's title, URL, source and date.
        """
        question = checked(question, sources, since, until)
        found = guarded("search_news", lambda: qa.retrieve(question, k=k, sources=sources, since=since, until=until))
        return SearchResult(passages=[PassageOut(**wire.passage_json(p)) for p in found])

    @server.tool(title="Ask the news", annotations=read_only)
    def ask_news(question: Question, k: K | None = None, sources: Sources = None, since: Since = None,
                 until: Until = None) -> AskResult:  # fmt: skip
        """Answer a question about tech news from the indexed articles, with citations.

        Use it when someone asks what happened, who did what, why, or how much. Every sentence of the answer is
        checked against the passage it cites; when the articles don't contain the answer, the result says
        refused=true with the reason: tell the person so rather than answering from memory. Ask standalone
        questions (name the company or product instead of writing "it").
        """
        question = checked(question, sources, since, until)
        answer = guarded("ask_news", lambda: qa.ask(question, k=k, sources=sources, since=since, until=until))
        extra = wire.answer_json(answer)
        return AskResult(
            answer=wire.answer_text(answer),
            refused=answer.refused,
            refusal_reason=answer.refusal_reason,
            refusal_detail=answer.refusal_detail,
            citations=[CitationOut(**c) for c in extra["citations"]],
        )

    @server.tool(title="List the news sources", annotations=read_only)
    def list_sources() -> SourcesResult:
        """What the index holds: each source with its number of articles, and the range of publication dates.

        Use it to choose names for the `sources` filter of search_news and ask_news, and dates for since/until.
        """
        stats = guarded("list_sources", qa.stats)
        return SourcesResult(
            sources=[SourceOut(name=name, articles=n) for name, n in stats["sources"].items()],
            articles=stats["articles"],
            earliest=(stats["earliest"] or "")[:10] or None,
            latest=(stats["latest"] or "")[:10] or None,
            undated=stats["undated"],
        )

    @server.tool(title="Read an article", annotations=read_only)
    def get_article(
        id_or_url: Annotated[
            str, Field(min_length=1, description="An article_id from search_news/ask_news, or the article's URL.")
        ],
        max_chars: Annotated[int, Field(ge=500, le=200_000, description="Longest text returned.")] = ARTICLE_MAX_CHARS,
    ) -> ArticleOut:
        """Read one indexed article in full: title, source, date, URL and text.

        Use it when a passage from search_news or a citation from ask_news needs its surrounding context.
        """
        ref = id_or_url.strip()
        rows = guarded("get_article", lambda: qa.articles(limit=10**9))
        row = next((r for r in rows if ref in (r["id"], r["url"])), None)
        if row is None:
            row = next((r for r in rows if r["url"] and r["url"].rstrip("/") == ref.rstrip("/")), None)
        if row is None:
            raise ToolError(f"No indexed article has the id or URL {ref!r}; search_news gives article ids and URLs.")
        text = guarded("get_article", lambda: qa.article_text(row["id"]))
        return ArticleOut(
            id=row["id"],
            title=row["title"],
            url=row["url"],
            source=row["source"],
            published=(row["published"] or "")[:10] or None,
            text=text[:max_chars],
            truncated=len(text) > max_chars,
        )

    return server


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("newsrag")
    except PackageNotFoundError:
        return "0"


def run(qa, *, http: bool = False, host: str = "127.0.0.1", port: int = DEFAULT_HTTP_PORT) -> None:
    """Serve until the client goes away (stdio) or until interrupted (HTTP)."""
    server = build_server(qa)
    if http:
        log.info("newsrag MCP server on http://%s:%d/mcp", host, port)
        server.run("streamable-http", host=host, port=port)
    else:
        server.run("stdio")
