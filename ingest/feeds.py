"""Refresh subscribed feeds like a good citizen, turning new and changed entries into stored articles.

One refresh of one feed: a conditional GET (If-None-Match / If-Modified-Since, so an unchanged feed costs a
304 and nothing else), permanent redirects move the subscription, 410 Gone disables it, 429/503 honour
Retry-After, and every failure backs off exponentially. Entries are known by GUID, then link, then title and
date; one seen before with the same content is skipped before anything is fetched or embedded. An entry with
only a short summary gets its linked page fetched (through the guarded fetcher, within per-refresh limits on
pages and bytes) and its main text extracted, keeping the entry's title, author, date and categories.
A refresh never raises: whatever goes wrong is the feed's outcome, with its reason.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from core.dates import parse_article_date as parse_date
from core.errors import UsageError
from core.settings import Settings
from ingest.article import LoadOutcome
from ingest.feedstate import Feed, FeedState
from ingest.fetch import FetchError, FetchResult, fetch
from ingest.markup import html_to_text
from ingest.normalize import normalize_title
from ingest.readers import (
    _ENTITY_DECL,
    ReadError,
    _absolute_http,
    _article,
    _as_text,
    _looks_like_feed,
    _short,
    read_html,
)

log = logging.getLogger(__name__)

__all__ = ["FeedEntry", "FeedRefresher", "FeedReport", "parse_entries", "parse_interval", "parse_retry_after"]

_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hr|d|day|w|week)?s?\s*$", re.I)
_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400, "day": 86400, "w": 604800,
          "week": 604800}  # fmt: skip
MIN_INTERVAL_S = 1.0


def parse_interval(text: str | float) -> float:
    """'30m', '2h', '1d', '90s' (a bare number is minutes) -> seconds; ValueError says what is accepted."""
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        match = _INTERVAL.match(text or "")
        if not match:
            raise UsageError(f"not an interval: {text!r}; use a number with s, m, h or d, such as 30m or 2h")
        seconds = float(match.group(1)) * _UNITS[(match.group(2) or "m").lower()]
    if seconds < MIN_INTERVAL_S:
        raise UsageError(f"interval {text!r} is too short; use at least {MIN_INTERVAL_S:g} s")
    return seconds


def format_interval(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when.timestamp() - now, 0.0)


# --- entries ------------------------------------------------------------------------------------------


@dataclass
class FeedEntry:
    """What a feed says about one item, before any page is fetched."""

    id: str  # GUID, else link, else title + date
    title: str
    link: str | None
    text: str  # the entry's own content or summary, as plain text
    published: datetime | None
    author: str | None
    categories: tuple[str, ...]

    @property
    def content_hash(self) -> str:
        """Changes when the feed changes what it says about the entry (not when it only touches a date)."""
        data = "\n".join([self.title, self.link or "", self.text, ",".join(self.categories)])
        return hashlib.sha256(data.encode("utf-8")).hexdigest()


def parse_entries(content: bytes, url: str) -> tuple[str, list[FeedEntry], str]:
    """(feed title, entries, warning) from RSS/Atom bytes; ReadError with a short reason for anything else.

    A malformed feed that still yields entries is read (feedparser salvages what it can), with a warning."""
    if _ENTITY_DECL.search(content):
        raise ReadError("feed declares XML entities; refused")
    if not _looks_like_feed(content):
        raise ReadError("not a feed (no <rss>, <feed> or <rdf:RDF> at the start)")
    import feedparser

    parsed = feedparser.parse(io.BytesIO(content), response_headers={"content-location": url})
    feed_title = normalize_title(_as_text(parsed.feed.get("title")))
    entries = []
    for entry in parsed.entries:
        body = ""
        for part in entry.get("content") or []:
            body = max(body, _as_text(part.get("value")), key=len)
        summary = _as_text(entry.get("summary"))
        if len(summary) > len(body):
            body = summary
        link = _absolute_http(_as_text(entry.get("link")), url) or _absolute_http(_as_text(entry.get("id")), url)
        raw_date = entry.get("published") or entry.get("updated") or entry.get("created")
        published = parse_date(raw_date) or parse_date(entry.get("published_parsed") or entry.get("updated_parsed"))
        title = normalize_title(_as_text(entry.get("title")))
        guid = _as_text(entry.get("id"))
        identity = guid or link or (f"{title}|{published.isoformat() if published else ''}" if title else "")
        text = html_to_text(body)
        if not (title or text or link):  # what a truncated document leaves: nothing to store
            continue
        if not identity:
            identity = "text:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
        tags = tuple(dict.fromkeys(t for t in (_as_text(tag.get("term")) for tag in entry.get("tags") or []) if t))
        entries.append(FeedEntry(identity, title, link, text, published, _as_text(entry.get("author")) or None, tags))
    warning = ""
    if parsed.get("bozo"):
        from xml.sax import SAXException

        exc = parsed.get("bozo_exception")
        if not entries:
            raise ReadError(f"not a valid feed ({_short(exc)})")
        if isinstance(exc, SAXException):  # not the benign ones (a wrong Content-Type, an encoding override)
            warning = f"the feed is malformed ({_short(exc)}); read the {len(entries)} entries that could be read"
    return feed_title, entries, warning


# --- refreshing -------------------------------------------------------------------------------------------


@dataclass
class FeedReport:
    """What one refresh of one feed did; `outcome` is ok, not modified, failed, rate limited or gone."""

    url: str
    name: str
    outcome: str
    new: int = 0  # entries never seen before
    changed: int = 0  # entries whose content changed
    unchanged: int = 0  # entries seen before, skipped without fetching or embedding
    added: int = 0  # articles stored for the first time
    updated: int = 0  # stored articles replaced by a changed version
    pages_fetched: int = 0
    enriched: int = 0  # entries whose text came from their linked page
    deferred: int = 0  # short entries left for the next refresh because this one's page limits were reached
    entry_errors: list[tuple[str, str]] = field(default_factory=list)  # (entry or page, reason)
    error: str = ""
    moved_to: str | None = None
    next_due: float = 0.0

    @property
    def ok(self) -> bool:
        return self.outcome in ("ok", "not modified")

    def summary(self) -> str:
        if self.outcome == "not modified":
            text = "not modified (304)"
        elif self.outcome == "ok":
            text = (
                f"{self.new} new, {self.changed} changed, {self.unchanged} unchanged entries; "
                f"{self.added} articles added, {self.updated} updated"
            )
            if self.pages_fetched:
                text += f"; {self.pages_fetched} pages fetched ({self.enriched} entries given their full text)"
            if self.deferred:
                text += f"; {self.deferred} short entries left for the next refresh (page limits)"
        else:
            text = f"{self.outcome}: {self.error}"
        if self.moved_to:
            text += f"; moved permanently to {self.moved_to}"
        return f"{self.name}: {text}"

    def to_dict(self) -> dict:
        data = {k: v for k, v in self.__dict__.items() if k != "entry_errors"}
        data["entry_errors"] = [{"item": i, "reason": r} for i, r in self.entry_errors]
        return data


class _PageBudget:
    def __init__(self, settings: Settings):
        self.pages = settings.feed_max_pages
        self.bytes = int(settings.feed_max_page_mb * 1024 * 1024)

    def allows(self) -> bool:
        return self.pages > 0 and self.bytes > 0


class FeedRefresher:
    """Refreshes feeds into a NewsQA index (anything with `ingest_outcomes`), one refresh at a time.

    `clock` gives the time in Unix seconds (tests pass a fake one); `fetcher` is the guarded fetch.
    """

    def __init__(self, qa, state: FeedState, settings: Settings, *, clock: Callable[[], float] = time.time,
                 fetcher: Callable[..., FetchResult] = fetch):  # fmt: skip
        self.qa = qa
        self.state = state
        self.settings = settings
        self.clock = clock
        self.fetcher = fetcher
        self._lock = threading.Lock()

    def refresh_many(self, feeds: Iterable[Feed], stop: threading.Event | None = None) -> list[FeedReport]:
        reports = []
        for feed in feeds:
            if stop is not None and stop.is_set():
                break
            reports.append(self.refresh(feed))
        return reports

    def refresh(self, feed: Feed) -> FeedReport:
        """Fetch one feed now and store what is new; never raises (the report says what failed and why)."""
        with self._lock:
            current = self.state.by_id(feed.id) or feed
            try:
                report = self._refresh(current)
            except Exception as exc:  # a bug on one feed must not stop the others; the log has the traceback
                log.exception("refreshing %s failed", current.url)
                report = self._failed(current, self.clock(), f"unexpected error ({type(exc).__name__}: {exc})")
        level = logging.INFO if report.ok else logging.WARNING
        log.log(level, "feed %s", report.summary())
        return report

    def _refresh(self, feed: Feed) -> FeedReport:
        now = self.clock()
        headers = {}
        if feed.etag:
            headers["If-None-Match"] = feed.etag
        if feed.last_modified:
            headers["If-Modified-Since"] = feed.last_modified
        try:
            result = self.fetcher(feed.url, self.settings, headers)
        except FetchError as exc:
            return self._failed(feed, now, str(exc))
        moved_to = None
        if result.permanent_url and result.permanent_url != feed.url:
            if self.state.move(feed.id, result.permanent_url):
                log.info("feed %s moved permanently to %s", feed.url, result.permanent_url)
                moved_to = feed.url = result.permanent_url
        status = result.status
        if status == 304:
            next_due = now + feed.every_s
            self.state.update(feed.id, last_fetch=now, last_outcome="not modified", last_error="", error_count=0,
                              next_due=next_due, not_modified=feed.not_modified + 1)  # fmt: skip
            return FeedReport(feed.url, feed.name, "not modified", moved_to=moved_to, next_due=next_due)
        if status == 410:
            reason = (
                "HTTP 410 Gone: the publisher removed this feed; it is no longer refreshed (add it again to resume)"
            )
            self.state.update(feed.id, last_fetch=now, last_outcome="gone", last_error=reason, disabled=1)
            return FeedReport(feed.url, feed.name, "gone", error=reason, moved_to=moved_to, next_due=float("inf"))
        if status in (429, 503):
            wait = parse_retry_after(result.headers.get("retry-after"), now)
            hint = f", asked to retry after {wait:g} s" if wait is not None else ""
            report = self._failed(feed, now, f"HTTP {status} from the server{hint}", retry_after=wait,
                                  outcome="rate limited")  # fmt: skip
            report.moved_to = moved_to
            return report
        if status >= 400 or status < 200:
            report = self._failed(feed, now, f"HTTP {status} from {result.url}")
            report.moved_to = moved_to
            return report
        try:
            feed_title, entries, warning = parse_entries(result.body, result.url)
        except ReadError as exc:
            report = self._failed(feed, now, str(exc))
            report.moved_to = moved_to
            return report
        report = self._store_entries(feed, feed_title, entries, now)
        if warning:
            report.entry_errors.insert(0, (feed.url, warning))
        report.moved_to = moved_to
        report.next_due = now + feed.every_s
        self.state.update(
            feed.id,
            title=feed_title or feed.title,
            # Entries left waiting for their pages need the full feed next time, not a 304.
            etag="" if report.deferred else result.headers.get("etag", ""),
            last_modified="" if report.deferred else result.headers.get("last-modified", ""),
            last_fetch=now,
            last_outcome="ok",
            last_error="; ".join(f"{i}: {r}" for i, r in report.entry_errors[:3]),
            error_count=0,
            next_due=report.next_due,
            articles=feed.articles + report.added + report.updated,
        )
        return report

    def _failed(self, feed: Feed, now: float, reason: str, *, retry_after: float | None = None,
                outcome: str = "failed") -> FeedReport:  # fmt: skip
        """Back off: the interval doubles with each failure in a row (up to feed_max_backoff), and never
        comes before a server's Retry-After."""
        errors = feed.error_count + 1
        delay = min(feed.every_s * 2 ** (errors - 1), max(self.settings.feed_max_backoff, feed.every_s))
        if retry_after is not None:
            delay = max(delay, retry_after)
        next_due = now + delay
        self.state.update(feed.id, last_fetch=now, last_outcome=outcome, last_error=reason, error_count=errors,
                          next_due=next_due)  # fmt: skip
        return FeedReport(feed.url, feed.name, outcome, error=reason, next_due=next_due)

    def _store_entries(self, feed: Feed, feed_title: str, entries: list[FeedEntry], now: float) -> FeedReport:
        report = FeedReport(feed.url, feed.source or feed_title or feed.name, "ok")
        source = feed.source or feed_title or (urlsplit(feed.url).hostname or "feed")
        seen = self.state.seen(feed.id)
        if len(entries) > self.settings.feed_max_entries:
            report.entry_errors.append(
                (
                    feed.url,
                    f"{len(entries) - self.settings.feed_max_entries} entries beyond the first "
                    f"{self.settings.feed_max_entries} were not read (feed_max_entries)",
                )  # fmt: skip
            )
            entries = entries[: self.settings.feed_max_entries]
        budget = _PageBudget(self.settings)
        outcomes: list[LoadOutcome] = []
        to_record: list[tuple[str, str, str, bool]] = []
        keys_this_time: set[str] = set()
        moved_keys: list[str] = []
        for entry in entries:
            previous = seen.get(entry.id)
            content_hash = entry.content_hash
            same = previous is not None and previous.content_hash == content_hash
            if same and not previous.needs_page:
                report.unchanged += 1
                continue
            wants_page = len(entry.text) < self.settings.feed_min_chars and entry.link is not None
            if same and wants_page and not budget.allows():
                report.unchanged += 1  # still waiting for its page: nothing new to store
                report.deferred += 1
                continue
            key = entry.link or f"{feed.url}#{entry.id}"
            if key in keys_this_time:
                report.unchanged += 1
                continue
            keys_this_time.add(key)
            text, needs_page = entry.text, False
            if wants_page:
                if budget.allows():
                    text = self._page_text(entry, budget, report) or text
                else:
                    needs_page = True
                    report.deferred += 1
            if previous is None:
                report.new += 1
            elif not same:
                report.changed += 1
            article = _article(key, entry.title, text, source, entry.link or feed.url, entry.published,
                               entry.author)  # fmt: skip
            if article is None:
                report.entry_errors.append((entry.title or key, "no text in the entry or its page"))
                to_record.append((entry.id, content_hash, key, needs_page))
                continue
            article.categories = entry.categories
            outcomes.append(LoadOutcome(key, [article]))
            to_record.append((entry.id, content_hash, key, needs_page))
            if previous is not None and previous.article_key and previous.article_key != key:
                moved_keys.append(previous.article_key)  # the entry's link changed: its old article goes
        for old_key in moved_keys:  # first: the same text under its new link would be called a duplicate
            self.qa.delete(old_key)
        if outcomes:
            ingest = self.qa.ingest_outcomes(outcomes)
            report.added, report.updated = len(ingest.added), len(ingest.updated)
            failed = {item for item, _ in ingest.failed}
            report.entry_errors.extend(ingest.failed)
            to_record = [row for row in to_record if row[2] not in failed]  # try those again next time
        if to_record:
            self.state.record_entries(feed.id, to_record, now)
        return report

    def _page_text(self, entry: FeedEntry, budget: _PageBudget, report: FeedReport) -> str | None:
        """The main text of the entry's linked page, when it says more than the entry; None otherwise."""
        assert entry.link is not None
        budget.pages -= 1
        report.pages_fetched += 1
        try:
            result = self.fetcher(entry.link, self.settings, None)
            budget.bytes -= len(result.body)
            if result.status >= 400:
                raise ReadError(f"HTTP {result.status}")
            ctype = result.content_type.lower()
            if ctype and "html" not in ctype:
                raise ReadError(f"the linked page is {ctype.split(';')[0]}, not HTML")
            from ingest.readers import _decode_with_charset

            page = read_html(_decode_with_charset(result.body, result.content_type), result.url, "web")
        except (FetchError, ReadError) as exc:
            report.entry_errors.append((entry.link, f"page not fetched, kept the feed's summary: {exc}"))
            return None
        except Exception as exc:  # extraction bugs on odd pages: keep the summary
            log.warning("reading the page of %s failed", entry.link, exc_info=True)
            report.entry_errors.append((entry.link, f"page not read, kept the feed's summary ({type(exc).__name__})"))
            return None
        if len(page.text) <= len(entry.text):
            return None
        report.enriched += 1
        return page.text


def open_refresher(qa, **kwargs) -> FeedRefresher:
    """The refresher over a NewsQA's data directory (its feeds.sqlite3)."""
    return FeedRefresher(qa, FeedState(qa.settings.feeds_path), qa.settings, **kwargs)
