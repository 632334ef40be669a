"""The app's feed parts without a browser: the Feeds tab handlers, background refresh, "new since you opened
the page", the Library sorted by date added, and the date chip's filter."""

from __future__ import annotations

import time

import pytest
from fakes import ScriptedLLM
from feed_server import Feed, FeedServer, Item, item

import app
from rag.api import NewsQA
from ui import feeds_tab


@pytest.fixture
def server(need_corpora):
    with FeedServer() as s:
        yield s


@pytest.fixture
def qa(settings):
    s = settings.model_copy(update={"allow_hosts": ["127.0.0.1"], "retrieval_mode": "keyword"})
    return NewsQA(settings=s, llm=ScriptedLLM())


def test_feeds_tab_adds_refreshes_and_removes(server, qa):
    server.feeds["/a.xml"] = Feed("Alpha", [item(0), item(1)])
    server.responses["/bad.xml"] = (503, {"Retry-After": "120"}, b"")
    h = feeds_tab.FeedsHandlers(qa)

    report, rows, picker = h.add(server.url("/a.xml"), "30m", "")
    assert "Subscribed to" in report and "2 new" in report and "nr-ok" in report
    assert rows[0][:3] == ["Alpha", server.url("/a.xml"), "30m"] and rows[0][4] == "ok" and rows[0][5:7] == [2, 2]
    assert picker["choices"] == [(f"Alpha — {server.url('/a.xml')}", server.url("/a.xml"))]

    report, rows, _ = h.add(server.url("/bad.xml"), "", "Bad source")
    assert "rate limited" in report and "retry after 120" in report and "nr-bad" in report
    bad = next(r for r in rows if r[1] == server.url("/bad.xml"))
    assert bad[0] == "Bad source" and bad[2] == "1h" and "1 failures in a row" in bad[4] and "503" in bad[8]

    report, rows, _ = h.refresh(None)  # all feeds
    assert "not modified" in report and "rate limited" in report
    report, _, _ = h.refresh(server.url("/a.xml"))
    assert "not modified" in report and "rate limited" not in report

    report, rows, _ = h.remove(server.url("/bad.xml"))
    assert "Unsubscribed" in report and [r[1] for r in rows] == [server.url("/a.xml")]
    assert qa.stats()["articles"] == 2


def test_background_refresh_runs_due_feeds_and_can_be_turned_off(server, qa):
    server.feeds["/bg.xml"] = Feed("Background", [item(2)])
    qa.feeds.state.add(server.url("/bg.xml"), 3600)
    off = NewsQA(settings=qa.settings.model_copy(update={"feed_background": False}))
    assert feeds_tab.start_background_refresh(off) is None

    background = feeds_tab.start_background_refresh(qa)
    try:
        deadline = time.monotonic() + 30
        while not background.last_reports and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        background.stop()
    assert [r.added for r in background.last_reports] == [1]
    assert qa.stats()["articles"] == 1 and server.requests["/bg.xml"] == 1


def test_status_counts_articles_added_since_the_page_opened_and_library_sorts_by_date_added(server, qa):
    server.feeds["/n.xml"] = Feed("New", [Item("Old story", "Old text " * 80, link="https://x.example/old",
                                               date="2020-01-01T00:00:00Z")])  # fmt: skip
    h = app.Handlers(qa)
    qa.feeds.refresh(qa.feeds.state.add(server.url("/n.xml"), 60))
    opened = time.time() + 1
    assert "since you opened" not in h.status(opened)
    time.sleep(2.1)  # ingested_at has one-second resolution
    server.feeds["/n.xml"].items += [
        Item("Newer story", "Fresh text " * 80, link="https://x.example/new1", date="2019-06-01T00:00:00Z"),
        Item("Another", "More text " * 80, link="https://x.example/new2", date="2018-06-01T00:00:00Z"),
    ]
    qa.feeds.refresh(qa.feeds.state.get(server.url("/n.xml")))
    assert "2 new articles since you opened this page" in h.status(opened)

    _, by_date, _ = h.library("", "Published")
    _, by_added, _ = h.library("", "Date added")
    assert by_date[0][0] == "Old story"  # published 2020, the newest publication date
    assert by_added[-1][0] == "Old story"  # but added first
    assert by_added[0][3] >= by_added[-1][3] and by_added[0][3] != ""


def test_feed_rows_and_notes_are_plain_and_escaped():
    assert feeds_tab.new_articles_note([], None) == ""
    rows = [{"ingested_at": "2026-01-02T10:00:00+00:00"}, {"ingested_at": "2026-01-01T10:00:00+00:00"}]
    from datetime import UTC, datetime

    opened = datetime(2026, 1, 1, 12, tzinfo=UTC).timestamp()
    assert feeds_tab.new_articles_note(rows, opened) == "1 new article since you opened this page"
    # an article added in the same second as the page opened, but after it, counts (ingest stores milliseconds)
    same_second = [{"ingested_at": "2026-01-01T12:00:00.700+00:00"}, {"ingested_at": "2026-01-01T12:00:00.100+00:00"}]
    assert feeds_tab.new_articles_note(same_second, opened + 0.4) == "1 new article since you opened this page"
    assert feeds_tab.new_articles_note([{"ingested_at": "not a date"}], opened) == ""
    from ingest.feeds import FeedReport

    html = feeds_tab.reports_html([FeedReport("u", "<b>x</b>", "failed", error="<script>")])
    assert "<script>" not in html and "&lt;script&gt;" in html and "nr-bad" in html
