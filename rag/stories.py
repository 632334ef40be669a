"""Stories read back from the article records: each story's articles in date order, its dates and sources.

Story ids are given at ingest (index.stories); this module only groups and orders, so it is cheap enough to run
on every listing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.types import Story

ARTICLE_FIELDS = ("title", "source", "url", "published", "n_chunks", "ingested_at", "story_id", "dup_id")


def article_row(article_id: str, meta: Mapping[str, Any]) -> dict[str, Any]:
    """An article as NewsQA lists it."""
    return {"id": article_id, **{k: meta.get(k, "") for k in ARTICLE_FIELDS}}


def date_order(row: Mapping[str, Any]) -> tuple:
    """Dated articles by publication time, then undated ones; ties in the order they were added."""
    return (not row.get("published"), row.get("published") or "", row.get("ingested_at") or "", row["id"])


def build_stories(records: Mapping[str, Mapping[str, Any]]) -> list[Story]:
    """Every story, newest first (by its last dated article; undated stories after, latest added first)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for article_id, meta in records.items():
        # An article stored before stories existed is a story of its own until it is ingested again.
        groups.setdefault(meta.get("story_id") or article_id, []).append(article_row(article_id, meta))
    stories = [_story(story_id, rows) for story_id, rows in groups.items()]
    stories.sort(key=lambda s: (s.last or "", max(a["ingested_at"] or "" for a in s.articles)), reverse=True)
    return stories


def _story(story_id: str, rows: list[dict[str, Any]]) -> Story:
    rows.sort(key=date_order)
    dates = [r["published"][:10] for r in rows if r.get("published")]
    sources = sorted({r["source"] for r in rows if r.get("source")})
    return Story(story_id, rows[0]["title"], dates[0] if dates else None, dates[-1] if dates else None, rows, sources)


def matches(story: Story, needle: str) -> bool:
    """Whether any article's title or source contains the (lower-case) needle."""
    return any(needle in f"{a['title']} {a['source']}".lower() for a in story.articles)
