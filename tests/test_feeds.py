"""Feed subscriptions against a real loopback publisher whose feeds change between requests.

Exact counts throughout: entries new/changed/unchanged, articles stored, texts embedded, requests the server
saw (conditional ones and the 304s it answered), pages fetched. The hash embedder keeps them fast.
"""

from __future__ import annotations

import pytest
from feed_server import ARTICLES, Clock, Feed, FeedServer, Item, article_page, bbc_article, item

from ingest.feeds import FeedRefresher, parse_entries, parse_interval, parse_retry_after
from ingest.feedstate import FeedState
from ingest.opml import OPMLError, OutlineFeed, read_opml, write_opml
from ingest.readers import ReadError
from rag.api import NewsQA


class CountingEmbedder:
    """Passes through to the real (hash) embedder and counts the texts embedded at ingestion."""

    def __init__(self, inner):
        self.inner = inner
        self.texts = 0

    def get_text_embedding_batch(self, texts, **kwargs):
        self.texts += len(texts)
        return self.inner.get_text_embedding_batch(texts, **kwargs)


@pytest.fixture
def server(need_corpora):
    with FeedServer() as s:
        yield s


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def world(settings, clock):
    """(qa, refresher, embed counter) over a fresh data dir that may fetch from 127.0.0.1."""
    s = settings.model_copy(update={"allow_hosts": ["127.0.0.1"], "feed_min_chars": 400})
    qa = NewsQA(settings=s)
    counter = CountingEmbedder(qa.embedder)
    qa.ingestor.embedder = counter
    refresher = FeedRefresher(qa, FeedState(s.feeds_path), s, clock=clock)
    return qa, refresher, counter


def subscribe(refresher, url, every="10m", **kwargs):
    return refresher.state.add(url, parse_interval(every), now=refresher.clock(), **kwargs)


def test_new_changed_and_unchanged_entries_with_304s(server, world):
    qa, refresher, embedded = world
    server.feeds["/tech.xml"] = Feed("Loop Tech", [item(0), item(1), item(2)])
    feed = subscribe(refresher, server.url("/tech.xml"))

    first = refresher.refresh(feed)
    assert (first.outcome, first.new, first.changed, first.unchanged, first.added) == ("ok", 3, 0, 0, 3)
    assert qa.stats()["articles"] == 3 and qa.stats()["sources"] == {"Loop Tech": 3}
    after_first = embedded.texts
    assert after_first > 0
    assert server.conditional["/tech.xml"] == 0

    second = refresher.refresh(feed)  # nothing changed: a conditional GET answered 304, nothing else happens
    assert second.outcome == "not modified"
    assert (server.requests["/tech.xml"], server.conditional["/tech.xml"], server.not_modified["/tech.xml"]) == (
        2,
        1,
        1,
    )
    assert embedded.texts == after_first

    title, body = bbc_article(ARTICLES[1])
    server.feeds["/tech.xml"].items[1] = item(1, text=body + "\nCorrection: the price was wrong.")
    server.feeds["/tech.xml"].items.append(item(3))
    third = refresher.refresh(feed)
    assert (third.new, third.changed, third.unchanged, third.added, third.updated) == (1, 1, 2, 1, 1)
    assert server.not_modified["/tech.xml"] == 1  # the changed feed had a new ETag
    changed_id = next(a["id"] for a in qa.articles() if a["url"] == "https://news.example.com/1")
    assert qa.article_text(changed_id).endswith("Correction: the price was wrong.")
    records = qa.store.article_records()
    assert len(records) == 4
    # only the changed and the new article were embedded again
    assert embedded.texts - after_first == records[changed_id]["n_chunks"] + sum(
        m["n_chunks"] for m in records.values() if m["url"] == "https://news.example.com/3"
    )

    state = refresher.state.get(server.url("/tech.xml"))
    assert (state.title, state.entries, state.articles, state.not_modified) == ("Loop Tech", 4, 5, 1)
    assert state.last_outcome == "ok" and state.error_count == 0 and state.etag
    assert any(ua.startswith("newsrag/") for ua in server.user_agents)
    assert server.gzipped >= 2  # the fetcher asks for gzip and reads it


def test_entry_identity_is_guid_then_link_then_title_and_date(server, world):
    qa, refresher, _ = world
    a = item(0)  # has a GUID
    b = item(1, guid=None)  # no GUID: known by its link
    c = item(2, guid=None, link=None)  # neither: known by title and date
    server.feeds["/id.xml"] = Feed("Ids", [a, b, c])
    feed = subscribe(refresher, server.url("/id.xml"))
    assert refresher.refresh(feed).new == 3

    # A's link changes (same GUID): the same entry, its article replaced; B's text changes (same link)
    server.feeds["/id.xml"].items = [
        item(0, link="https://news.example.com/moved-0"),
        item(1, guid=None, text=b.text + "\nUpdated."),
        c,
    ]
    report = refresher.refresh(feed)
    assert (report.new, report.changed, report.unchanged) == (0, 2, 1)
    urls = sorted(r["url"] for r in qa.articles())
    assert "https://news.example.com/0" not in urls and "https://news.example.com/moved-0" in urls
    assert len(urls) == 3

    # C gets a new date: with no GUID or link, that is another entry
    server.feeds["/id.xml"].items[2] = item(2, guid=None, link=None, date="Tue, 18 Jan 2005 10:00:00 GMT")
    report = refresher.refresh(feed)
    assert (report.new, report.changed, report.unchanged) == (1, 0, 2)


def test_permanent_redirect_moves_the_subscription_temporary_does_not(server, world):
    _, refresher, _ = world
    server.feeds["/new.xml"] = Feed("Moved", [item(0)])
    server.redirects["/old.xml"] = (301, "/new.xml")
    server.redirects["/temp.xml"] = (302, "/new.xml")
    moved = subscribe(refresher, server.url("/old.xml"))
    temp = subscribe(refresher, server.url("/temp.xml"))

    report = refresher.refresh(moved)
    assert report.ok and report.moved_to == server.url("/new.xml")
    assert refresher.state.get(server.url("/old.xml")) is None
    assert refresher.state.get(server.url("/new.xml")).id == moved.id

    assert refresher.refresh(temp).moved_to is None
    assert refresher.state.get(server.url("/temp.xml")) is not None
    refresher.refresh(refresher.state.get(server.url("/new.xml")))
    assert server.requests["/old.xml"] == 1  # later refreshes go straight to the new URL


def test_gone_disables_and_one_failing_feed_never_stops_the_others(server, world, clock):
    qa, refresher, _ = world
    server.responses["/gone.xml"] = (410, {"Content-Type": "text/plain"}, b"gone")
    server.responses["/broken.xml"] = (200, {"Content-Type": "application/rss+xml"}, b"<rss><channel>\x00<<garbage")
    server.responses["/html.xml"] = (200, {"Content-Type": "text/html"}, b"<html><body>Not a feed</body></html>")
    server.feeds["/good.xml"] = Feed("Good", [item(0), item(1)])
    for path in ("/gone.xml", "/broken.xml", "/html.xml", "/good.xml", "/missing.xml"):
        subscribe(refresher, server.url(path))
    subscribe(refresher, "http://10.0.0.1/private.xml")  # refused by the SSRF guard

    reports = {r.url.rsplit("/", 1)[-1]: r for r in refresher.refresh_many(refresher.state.due(clock()))}
    assert reports["good.xml"].added == 2
    assert reports["gone.xml"].outcome == "gone" and "410" in reports["gone.xml"].error
    assert reports["broken.xml"].outcome == "failed" and "not a valid feed" in reports["broken.xml"].error
    assert reports["html.xml"].outcome == "failed" and "not a feed" in reports["html.xml"].error
    assert reports["missing.xml"].outcome == "failed" and "HTTP 404" in reports["missing.xml"].error
    assert reports["private.xml"].outcome == "failed" and "private or local address" in reports["private.xml"].error
    assert qa.stats()["articles"] == 2

    gone = refresher.state.get(server.url("/gone.xml"))
    assert gone.disabled and gone.last_outcome == "gone"
    clock.advance(10**7)
    due = {f.url.rsplit("/", 1)[-1] for f in refresher.state.due(clock())}
    assert "gone.xml" not in due and {"good.xml", "broken.xml"} <= due


def test_retry_after_and_exponential_backoff(server, world, clock):
    _, refresher, _ = world
    server.responses["/busy.xml"] = (429, {"Retry-After": "3600"}, b"")
    feed = subscribe(refresher, server.url("/busy.xml"), every="10m")

    report = refresher.refresh(feed)
    assert report.outcome == "rate limited" and "3600" in report.error
    assert report.next_due == clock() + 3600  # Retry-After wins over the 10 minute interval

    server.responses["/busy.xml"] = (503, {}, b"")
    delays = []
    for _ in range(3):
        clock.advance(10**6)
        delays.append(refresher.refresh(refresher.state.by_id(feed.id)).next_due - clock())
    assert delays == [1200, 2400, 4800]  # 2nd, 3rd, 4th failure in a row: the interval doubles each time
    assert refresher.state.by_id(feed.id).error_count == 4

    for _ in range(20):
        refresher.refresh(refresher.state.by_id(feed.id))
    assert refresher.state.by_id(feed.id).next_due - clock() == refresher.settings.feed_max_backoff

    server.feeds["/busy.xml"] = Feed("Back", [item(0)])
    del server.responses["/busy.xml"]
    report = refresher.refresh(refresher.state.by_id(feed.id))
    state = refresher.state.by_id(feed.id)
    assert report.ok and state.error_count == 0 and state.next_due == clock() + 600 and state.last_error == ""


def test_retry_after_http_date():
    assert parse_retry_after("120", 0) == 120
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412420.0) == 60
    assert parse_retry_after("soon", 0) is None and parse_retry_after(None, 0) is None


def test_huge_feeds_are_bounded(server, world):
    qa, refresher, _ = world
    refresher.settings = refresher.settings.model_copy(update={"fetch_max_mb": 0.05, "feed_max_entries": 30})
    long_feed = Feed("Long", [Item(f"Story {n}", f"Short story number {n}.", link=f"https://x.example/{n}")
                              for n in range(80)])  # fmt: skip
    server.feeds["/long.xml"] = long_feed
    server.responses["/huge.xml"] = (200, {"Content-Type": "application/rss+xml"}, b"<rss>" + b" " * 200_000)
    huge = subscribe(refresher, server.url("/huge.xml"))
    long = subscribe(refresher, server.url("/long.xml"))
    refresher.settings = refresher.settings.model_copy(update={"feed_max_pages": 0})

    report = refresher.refresh(huge)
    assert report.outcome == "failed" and "larger than" in report.error
    report = refresher.refresh(long)
    assert report.new == 30 and qa.stats()["articles"] == 30
    assert any("50 entries beyond the first 30" in reason for _, reason in report.entry_errors)


def test_summary_only_entries_get_their_pages_within_the_limits(server, world):
    qa, refresher, _ = world
    refresher.settings = refresher.settings.model_copy(update={"feed_max_pages": 2})
    items = []
    for n in range(3):
        title, body = bbc_article(ARTICLES[n])
        server.pages[f"/story/{n}"] = article_page(title, body)
        items.append(
            Item(title, body[:150] + "…", link=server.url(f"/story/{n}"), guid=f"s{n}",
                 date=f"2005-02-1{n}T08:00:00Z", author="Jo Reporter", categories=("Technology", "Games"))
        )  # fmt: skip
    items.append(Item("Dead link", "A short summary whose page is gone.", link=server.url("/story/404"), guid="dead"))
    long_title, long_body = bbc_article(ARTICLES[4])
    items.append(Item(long_title, long_body, link=server.url("/story/full"), guid="full"))  # long: no page fetch
    server.feeds["/summaries.xml"] = Feed("Summaries Daily", items)
    feed = subscribe(refresher, server.url("/summaries.xml"))

    first = refresher.refresh(feed)
    assert (first.new, first.pages_fetched, first.enriched, first.deferred) == (5, 2, 2, 2)
    assert server.requests["/story/0"] == server.requests["/story/1"] == 1
    assert server.requests["/story/2"] == 0 and server.requests["/story/full"] == 0

    second = refresher.refresh(refresher.state.by_id(feed.id))  # the two deferred entries get their pages
    assert (second.new, second.pages_fetched, second.enriched, second.deferred) == (0, 2, 1, 0)
    assert server.requests["/story/2"] == 1 and server.requests["/story/404"] == 1
    assert any("kept the feed's summary" in reason and "404" in reason for _, reason in second.entry_errors)

    third = refresher.refresh(refresher.state.by_id(feed.id))  # now everything is seen: a 304
    assert third.outcome == "not modified"
    assert sum(server.requests[f"/story/{n}"] for n in range(3)) == 3  # each page fetched exactly once

    records = qa.store.article_records()
    by_url = {m["url"]: (aid, m) for aid, m in records.items()}
    aid, meta = by_url[server.url("/story/2")]
    full_body = bbc_article(ARTICLES[2])[1]
    assert meta["source"] == "Summaries Daily" and meta["author"] == "Jo Reporter"
    assert meta["categories"] == "Technology, Games"
    assert meta["published"].startswith("2005-02-12") and meta["title"] == bbc_article(ARTICLES[2])[0]
    assert meta["chars"] > 0.8 * len(full_body)  # the page's text, not the 150-character summary
    dead = by_url[server.url("/story/404")][1]
    assert dead["chars"] < 60  # kept the summary


def test_parse_entries_reasons():
    with pytest.raises(ReadError, match="not a feed"):
        parse_entries(b"<html></html>", "https://x.example/feed")
    with pytest.raises(ReadError, match="entities"):
        parse_entries(b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "b">]><rss></rss>', "https://x.example/")
    title, entries, warning = parse_entries(Feed("T", [Item("No id", "Body text.")]).xml(), "https://x.example/feed")
    assert (title, entries[0].id, warning) == ("T", "No id|", "")
    with pytest.raises(ReadError, match="not a valid feed"):  # truncated: nothing salvageable
        parse_entries(b"<rss><channel><item><title>", "https://x.example/")
    loose = b"<rss><channel><title>T</title><item><title>A</title><description>Caf&eacute; &nbsp; news</description></item></channel></rss>"
    title, entries, warning = parse_entries(loose, "https://x.example/")
    assert len(entries) == 1 and "malformed" in warning and "undefined entity" in warning


def test_intervals():
    assert [parse_interval(t) for t in ("30m", "2h", "1d", "90s", "15")] == [1800, 7200, 86400, 90, 900]
    with pytest.raises(ValueError, match="30m"):
        parse_interval("often")


def test_opml_round_trip_and_nested_folders(tmp_path):
    data = b"""<?xml version="1.0"?><opml version="1.0"><head><title>x</title></head><body>
      <outline text="Tech"><outline text="Ars" type="rss" xmlUrl="https://ars.example/feed"/>
        <outline text="Verge" xmlUrl="https://verge.example/rss"/></outline>
      <outline title="Solo" xmlUrl="https://solo.example/atom.xml"/>
      <outline text="Duplicate" xmlUrl="https://ars.example/feed"/></body></opml>"""
    feeds = read_opml(data)
    assert [(f.url, f.title, f.category) for f in feeds] == [
        ("https://ars.example/feed", "Ars", "Tech"),
        ("https://verge.example/rss", "Verge", "Tech"),
        ("https://solo.example/atom.xml", "Solo", ""),
    ]
    again = read_opml(write_opml([OutlineFeed(f.url, f.title) for f in feeds]))
    assert [(f.url, f.title) for f in again] == [(f.url, f.title) for f in feeds]
    with pytest.raises(OPMLError, match="entities"):
        read_opml(b'<!DOCTYPE x [<!ENTITY a "b">]><opml><body/></opml>')
    with pytest.raises(OPMLError, match="not an OPML"):
        read_opml(b"<rss/>")
