"""Feed subscriptions and what was seen of them, in one SQLite file in the data directory.

Per feed: its URL, title, refresh interval, the validators for conditional GET (ETag, Last-Modified), the last
fetch's time and outcome, the error count that drives back-off, when it is next due, and whether it is disabled.
Per entry: its identity, a hash of what the feed said about it, and the article it became, so that an entry seen
before is skipped without fetching or embedding anything.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path

__all__ = ["Feed", "FeedState", "SeenEntry"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT '',
    every_s REAL NOT NULL,
    etag TEXT NOT NULL DEFAULT '',
    last_modified TEXT NOT NULL DEFAULT '',
    added_at REAL NOT NULL,
    last_fetch REAL,
    last_outcome TEXT NOT NULL DEFAULT 'never fetched',
    last_error TEXT NOT NULL DEFAULT '',
    error_count INTEGER NOT NULL DEFAULT 0,
    next_due REAL NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    articles INTEGER NOT NULL DEFAULT 0,
    not_modified INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS entries (
    feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    entry_id TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    article_key TEXT NOT NULL,
    needs_page INTEGER NOT NULL DEFAULT 0,
    first_seen REAL NOT NULL,
    last_seen REAL NOT NULL,
    PRIMARY KEY (feed_id, entry_id)
);
"""


@dataclass
class Feed:
    """One subscription as stored; `entries` is how many distinct entries were seen."""

    id: int
    url: str
    title: str
    source: str  # the user's source name; empty: the feed's own title
    every_s: float
    etag: str
    last_modified: str
    added_at: float
    last_fetch: float | None
    last_outcome: str
    last_error: str
    error_count: int
    next_due: float
    disabled: bool
    articles: int  # articles added or updated from this feed, all refreshes together
    not_modified: int  # refreshes answered 304 Not Modified
    entries: int = 0

    @property
    def name(self) -> str:
        return self.source or self.title or self.url


@dataclass
class SeenEntry:
    content_hash: str
    article_key: str
    needs_page: bool


_FEED_COLUMNS = [f.name for f in fields(Feed) if f.name != "entries"]


class FeedState:
    """The subscriptions file; safe to share between threads, and between processes (WAL, busy timeout)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.executescript(_SCHEMA)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # subscriptions ------------------------------------------------------------------------------------

    def add(self, url: str, every_s: float, source: str = "", title: str = "", now: float | None = None) -> Feed:
        """Subscribe (due at once); an existing subscription keeps its history and takes the new settings."""
        now = time.time() if now is None else now
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO feeds (url, title, source, every_s, added_at, next_due) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(url) DO UPDATE SET every_s = excluded.every_s, source = excluded.source, "
                "title = CASE WHEN feeds.title = '' THEN excluded.title ELSE feeds.title END, disabled = 0",
                (url, title, source, every_s, now, now),
            )
        feed = self.get(url)
        assert feed is not None
        return feed

    def remove(self, url: str) -> bool:
        with self._tx() as conn:
            return conn.execute("DELETE FROM feeds WHERE url = ?", (url,)).rowcount > 0

    def get(self, url: str) -> Feed | None:
        found = self._select("WHERE f.url = ?", (url,))
        return found[0] if found else None

    def by_id(self, feed_id: int) -> Feed | None:
        found = self._select("WHERE f.id = ?", (feed_id,))
        return found[0] if found else None

    def all(self) -> list[Feed]:
        return self._select("", ())

    def due(self, now: float) -> list[Feed]:
        """Enabled feeds whose time has come, the most overdue first."""
        return [f for f in self._select("WHERE f.disabled = 0 AND f.next_due <= ?", (now,))]

    def next_due(self) -> float | None:
        with self._lock:
            row = self._conn.execute("SELECT MIN(next_due) FROM feeds WHERE disabled = 0").fetchone()
        return row[0]

    def _select(self, where: str, params: tuple) -> list[Feed]:
        columns = ", ".join(f"f.{c}" for c in _FEED_COLUMNS)
        sql = (
            f"SELECT {columns}, (SELECT COUNT(*) FROM entries e WHERE e.feed_id = f.id) FROM feeds f {where} "
            "ORDER BY f.next_due, f.id"
        )
        with self._lock:
            rows = self._conn.execute(sql, params).fetchall()
        feeds = []
        for row in rows:
            values = dict(zip([*_FEED_COLUMNS, "entries"], row, strict=True))
            values["disabled"] = bool(values["disabled"])
            feeds.append(Feed(**values))
        return feeds

    def update(self, feed_id: int, **values) -> None:
        """Set feed columns (after a fetch: outcome, validators, next due, error count ...)."""
        unknown = set(values) - set(_FEED_COLUMNS)
        if unknown:
            raise ValueError(f"unknown feed fields: {', '.join(sorted(unknown))}")
        if not values:
            return
        assignments = ", ".join(f"{name} = ?" for name in values)
        with self._tx() as conn:
            conn.execute(f"UPDATE feeds SET {assignments} WHERE id = ?", (*values.values(), feed_id))

    def move(self, feed_id: int, new_url: str) -> bool:
        """A permanent redirect: the subscription follows it. False when another subscription has that URL."""
        try:
            with self._tx() as conn:
                conn.execute("UPDATE feeds SET url = ? WHERE id = ?", (new_url, feed_id))
        except sqlite3.IntegrityError:
            return False
        return True

    # entries ------------------------------------------------------------------------------------------

    def seen(self, feed_id: int) -> dict[str, SeenEntry]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT entry_id, content_hash, article_key, needs_page FROM entries WHERE feed_id = ?", (feed_id,)
            ).fetchall()
        return {r[0]: SeenEntry(r[1], r[2], bool(r[3])) for r in rows}

    def record_entries(self, feed_id: int, entries: list[tuple[str, str, str, bool]], now: float) -> None:
        """Remember (entry id, content hash, article key, needs its page) after the articles were stored."""
        with self._tx() as conn:
            conn.executemany(
                "INSERT INTO entries (feed_id, entry_id, content_hash, article_key, needs_page, first_seen, last_seen) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(feed_id, entry_id) DO UPDATE SET "
                "content_hash = excluded.content_hash, article_key = excluded.article_key, "
                "needs_page = excluded.needs_page, last_seen = excluded.last_seen",
                [(feed_id, eid, h, key, int(needs), now, now) for eid, h, key, needs in entries],
            )
