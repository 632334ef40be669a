"""Answers and passages as JSON and plain text for the open interfaces (serve/openai_api.py, serve/mcp_server.py).

Both talk to programs and to chat front-ends that show text as written or as Markdown: an answer keeps its
[n] markers and ends with a short source list, and the structured citations travel beside the text. The
checks on what a request may ask for live here too, so both interfaces refuse the same things the same way.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from core.errors import GENERIC_MESSAGE, UsageError, user_message
from core.types import Answer, Citation, Passage

MAX_QUESTION_CHARS = 2000
MAX_K = 20
SOURCES_HEADING = "Sources:"
CLOSEST_HEADING = "Closest articles found:"
CLOSEST_SHOWN = 3
# Where an assistant message that newsrag wrote ends its answer: everything after is the source list.
_LIST_START = re.compile(rf"\n\n(?:{re.escape(SOURCES_HEADING)}|{re.escape(CLOSEST_HEADING)})\n- \[?")


def day(value: datetime | date | None) -> str | None:
    """A passage's date as YYYY-MM-DD (None when the article is undated)."""
    return value.date().isoformat() if isinstance(value, datetime) else value.isoformat() if value else None


def passage_json(passage: Passage) -> dict[str, Any]:
    """What a client needs to show and cite one passage."""
    return {
        "title": passage.title,
        "url": passage.url,
        "source": passage.source,
        "published": day(passage.published),
        "text": passage.text,
        "score": round(float(passage.score), 4),
        "article_id": passage.article_id,
        "chunk_id": passage.chunk_id,
    }


def citation_json(citation: Citation) -> dict[str, Any]:
    """A cited passage: its [n] number, the passage, and the sentences of it that support the answer."""
    return {"number": citation.number, **passage_json(citation.passage), "evidence": list(citation.evidence)}


def answer_json(answer: Answer) -> dict[str, Any]:
    """The parts of an Answer a client acts on: refused or not, why, and the citations behind the [n] markers."""
    return {
        "refused": answer.refused,
        "refusal_reason": answer.refusal_reason,
        "refusal_detail": answer.refusal_detail,
        "standalone_question": answer.standalone_question,
        "citations": [citation_json(c) for c in answer.citations],
    }


def _source_line(passage: Passage, numbers: list[int] = ()) -> str:
    label = "".join(f"[{n}] " for n in numbers)
    when = day(passage.published) or "undated"
    return f"- {label}{passage.title or passage.url} ({passage.source}, {when}) {passage.url}".rstrip()


def _by_article(citations: list[Citation]) -> list[tuple[Passage, list[int]]]:
    """One source line per article, with the numbers of all its cited passages, in order of first citation."""
    lines: dict[str, tuple[Passage, list[int]]] = {}
    for c in citations:
        lines.setdefault(c.passage.article_id or c.passage.url, (c.passage, []))[1].append(c.number)
    return list(lines.values())


def answer_text(answer: Answer) -> str:
    """The answer as one chat message: its text with [n] markers, then the articles it cites, one line each
    ("- [1] [3] Title (source, date) URL").

    A refusal is an ordinary message too: the refusal sentence, what the articles leave out, and the
    closest articles found, so a person can look for themselves.
    """
    text = answer.text.strip()
    if answer.refused:
        if answer.refusal_detail:
            text = f"{text} {answer.refusal_detail.strip()}"
        closest: list[Passage] = []
        for passage in answer.passages:
            if passage.article_id not in {p.article_id for p in closest}:
                closest.append(passage)
        if closest:
            lines = "\n".join(_source_line(p) for p in closest[:CLOSEST_SHOWN])
            text = f"{text}\n\n{CLOSEST_HEADING}\n{lines}"
        return text
    if answer.citations:
        lines = "\n".join(_source_line(passage, numbers) for passage, numbers in _by_article(answer.citations))
        text = f"{text}\n\n{SOURCES_HEADING}\n{lines}"
    return text


def strip_sources(text: str) -> str:
    """An assistant message newsrag wrote, without its source list: the answer, for the chat history."""
    match = _LIST_START.search(text)
    return text[: match.start()] if match else text


def check_question(question: str) -> str:
    question = (question or "").strip()
    if not question:
        raise UsageError("The question is empty: send the question as text.")
    if len(question) > MAX_QUESTION_CHARS:
        raise UsageError(f"The question is {len(question)} characters long; the limit is {MAX_QUESTION_CHARS}.")
    return question


def check_filters(qa, *, sources: list[str] | None, since: date | None, until: date | None) -> None:
    """Sources the index has and a date range that can match; ValueError saying what to change otherwise."""
    if since and until and since > until:
        raise UsageError(f"since ({since}) is after until ({until}): no article can match.")
    if sources:
        known = qa.sources()
        unknown = [s for s in sources if s not in known]
        if unknown:
            raise UsageError(
                f"Unknown source{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
                f"the index has: {', '.join(map(repr, known)) or 'no articles yet'}."
            )


def user_error(exc: Exception) -> str:
    """A message for the client: newsrag's typed errors say what to do; anything else stays in the server log."""
    return user_message(exc) or GENERIC_MESSAGE
