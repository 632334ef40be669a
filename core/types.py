"""Data passed between retrieval, answering, the CLI and the UI."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any, Literal

# Why an answer was refused: nothing retrieved; nothing relevant enough; the model said the passages don't
# answer; the model's sentences were not supported by the passages; the passages discuss the subject but do
# not give what was asked (a neighbouring fact, another year's event).
RefusalReason = Literal["no_passages", "low_relevance", "model_declined", "unsupported", "not_addressed"]


def chunk_id(article_id: str, index: int) -> str:
    """The id of an article's index-th chunk, the same in Chroma and the keyword index."""
    return f"{article_id}:{index}"


def article_id_of(chunk_id: str) -> str:
    """The article a chunk id belongs to (article ids may contain ':' themselves; the index never does)."""
    return chunk_id.rpartition(":")[0]


@dataclass
class Passage:
    """A chunk of an article returned by retrieval, with everything needed to cite it."""

    text: str
    score: float
    article_id: str
    title: str
    source: str
    url: str
    published: datetime | None
    start: int
    end: int
    chunk_id: str = ""
    chunk_index: int = 0
    story_id: str = ""  # the story the article belongs to (index.stories)
    also_reported_by: list[str] = field(default_factory=list)  # sources of copies retrieval left out

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["published"] = self.published.isoformat() if self.published else None
        return data


@dataclass
class Story:
    """Articles about one event: copies of one text, and separately written reports of the same news."""

    story_id: str
    title: str  # the headline of its first article
    first: str | None  # ISO dates of its first and last dated article
    last: str | None
    articles: list[dict[str, Any]] = field(default_factory=list)  # in date order (undated last), as NewsQA.articles
    sources: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Citation:
    """A passage the answer cites, numbered in order of first use."""

    number: int
    passage: Passage
    evidence: list[str] = field(default_factory=list)  # passage sentences that support the claims

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "passage": self.passage.to_dict(), "evidence": self.evidence}


@dataclass
class TimeFilter:
    """A date filter read from the question's own words ("last week"), relative to a chosen today."""

    since: date | None
    until: date | None
    text: str  # the words that asked for it, as written

    def describe(self) -> str:
        """'last week: 2025-09-01 to 2025-09-07', 'since 2024: from 2024-01-01'."""
        if self.since and self.until:
            span = str(self.since) if self.since == self.until else f"{self.since} to {self.until}"
        elif self.since:
            span = f"from {self.since}"
        else:
            span = f"up to {self.until}"
        return f"{self.text}: {span}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }


@dataclass
class TimelineEvent:
    """One bullet of a timeline answer: its article's date (ISO day; None when undated), the event sentence with
    its citation markers, and the citation numbers."""

    date: str | None
    text: str
    numbers: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Answer:
    """A cited answer, or a refusal (refused=True) with a fixed sentence as text."""

    question: str
    text: str
    citations: list[Citation] = field(default_factory=list)
    refused: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    passages: list[Passage] = field(default_factory=list)  # everything retrieved, cited or not
    refusal_reason: RefusalReason | None = None
    refusal_detail: str | None = None  # for users: what the articles mention and what they leave out
    standalone_question: str | None = None  # the rewritten question in multi-turn chat
    debug: dict[str, Any] = field(default_factory=dict)  # raw model text, dropped sentences (not shown to users)
    time_filter: TimeFilter | None = None  # the date filter the question's words asked for (rag.timeq)
    timeline: list[TimelineEvent] = field(default_factory=list)  # a timeline answer's events, in date order

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "standalone_question": self.standalone_question,
            "text": self.text,
            "refused": self.refused,
            "refusal_reason": self.refusal_reason,
            "refusal_detail": self.refusal_detail,
            "citations": [c.to_dict() for c in self.citations],
            "timings": self.timings,
            "time_filter": self.time_filter.to_dict() if self.time_filter else None,
            "timeline": [e.to_dict() for e in self.timeline],
        }
