"""The schedule (with a fake clock), the `newsrag feeds` commands, and `newsrag watch` as a real process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading

import pytest
from feed_server import ARTICLES, Clock, Feed, FeedServer, Item, bbc_article, item
from paths import REPO
from servers import wait_for_line

from cli.main import main as cli_main
from ingest.feeds import FeedRefresher, parse_interval
from ingest.feedstate import FeedState
from ingest.scheduler import Scheduler
from rag.api import NewsQA


@pytest.fixture
def server(need_corpora):
    with FeedServer() as s:
        yield s


def test_scheduler_refreshes_each_feed_when_due(server, settings):
    clock = Clock()
    s = settings.model_copy(update={"allow_hosts": ["127.0.0.1"]})
    qa = NewsQA(settings=s)
    refresher = FeedRefresher(qa, FeedState(s.feeds_path), s, clock=clock)
    server.feeds["/fast.xml"] = Feed("Fast", [item(0)])
    server.feeds["/slow.xml"] = Feed("Slow", [item(1)])
    server.responses["/down.xml"] = (500, {}, b"")
    for path, every in (("/fast.xml", "1m"), ("/slow.xml", "5m"), ("/down.xml", "1m")):
        refresher.state.add(server.url(path), parse_interval(every), now=clock())
    scheduler = Scheduler(refresher, refresher.state)

    def refreshed() -> list[str]:
        return sorted(r.url.rsplit("/", 1)[-1] for r in scheduler.run_due())

    assert refreshed() == ["down.xml", "fast.xml", "slow.xml"]  # new subscriptions are due at once
    assert refreshed() == []
    assert scheduler.seconds_to_next() == 60
    clock.advance(60)
    assert refreshed() == ["down.xml", "fast.xml"]  # down failed once: retried after one interval
    clock.advance(60)
    assert refreshed() == ["fast.xml"]  # down failed twice: now it waits two intervals
    clock.advance(60)
    assert refreshed() == ["down.xml", "fast.xml"]
    clock.advance(120)
    assert refreshed() == ["fast.xml", "slow.xml"]  # 300 s after the first refresh; down waits 240 s now
    assert server.requests["/slow.xml"] == 2 and server.requests["/fast.xml"] == 5

    # watch() sleeps with the wait it is given: here, the fake clock moves on instead
    stop = threading.Event()
    waits: list[float] = []

    def wait(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)
        if len(waits) == 4:
            stop.set()

    runs = scheduler.watch(stop, wait=wait)
    assert waits[0] == 60 and runs >= 4 and all(w <= 60 for w in waits)


def _env(data_dir) -> dict[str, str]:
    return {
        **os.environ,
        "NEWSRAG_DATA_DIR": str(data_dir),
        "NEWSRAG_EMBED_MODEL": "hash",
        "NEWSRAG_ALLOW_HOSTS": '["127.0.0.1"]',
        "PYTHONPATH": str(REPO),
    }


def test_feeds_commands(server, tmp_path, capsys, monkeypatch):
    for name, value in _env(tmp_path / "data").items():
        if name.startswith("NEWSRAG_"):
            monkeypatch.setenv(name, value)
    server.feeds["/a.xml"] = Feed("Alpha News", [item(0), item(1)])
    url = server.url("/a.xml")
    assert cli_main(["feeds", "add", url, "--every", "30m", "--source", "Alpha"]) == 0
    out = capsys.readouterr().out
    assert "subscribed to" in out and "every 30m" in out and "2 new" in out and "2 articles added" in out

    assert cli_main(["feeds", "refresh"]) == 0
    assert "not modified (304)" in capsys.readouterr().out

    server.responses["/b.xml"] = (500, {}, b"")
    assert cli_main(["feeds", "add", server.url("/b.xml"), "--no-fetch"]) == 0
    capsys.readouterr()
    assert cli_main(["feeds", "refresh", server.url("/b.xml")]) == 1  # a failure exits 1 with its reason
    assert "HTTP 500" in capsys.readouterr().out

    assert cli_main(["feeds", "list"]) == 0
    listing = capsys.readouterr().out
    assert "Alpha News" in listing and url in listing and "2 entries, 2 articles" in listing
    assert "last error: HTTP 500" in listing and "1 failures in a row" in listing
    assert cli_main(["feeds", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["source"] for r in rows].count("Alpha") == 1

    opml = tmp_path / "subs.opml"
    assert cli_main(["feeds", "export", str(opml)]) == 0
    assert cli_main(["feeds", "remove", url, server.url("/b.xml")]) == 0
    assert "not subscribed" not in capsys.readouterr().err
    assert cli_main(["feeds", "remove", url]) == 1
    assert cli_main(["feeds", "import", str(opml)]) == 0
    assert "imported 2 feeds" in capsys.readouterr().out
    assert cli_main(["stats", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["sources"] == {"Alpha": 2}  # removing a feed keeps its articles


@pytest.mark.integration
def test_watch_refreshes_and_stops_cleanly_on_sigterm(server, tmp_path):
    data = tmp_path / "data"
    env = _env(data)
    server.feeds["/w.xml"] = Feed("Watched", [item(0), item(1)])
    subprocess.run(
        [sys.executable, "-m", "cli.main", "feeds", "add", server.url("/w.xml"), "--every", "2s", "--no-fetch"],
        env=env, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "watch"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, cwd=REPO,
    )  # fmt: skip
    lines: list[str] = []
    try:
        wait_for_line(proc, lines, "2 new")
        title, body = bbc_article(ARTICLES[2])
        server.feeds["/w.xml"].items.append(Item(title, body, link="https://news.example.com/w2", guid="w2"))
        wait_for_line(proc, lines, "1 new")
        wait_for_line(proc, lines, "not modified")  # the next refresh: a 304
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
        lines.append(out)
    finally:
        if proc.poll() is None:
            proc.kill()
    printed = "".join(lines)
    assert proc.returncode == 0, printed
    assert "stopping after the current feed (SIGTERM)" in printed and "stopped after" in printed

    qa = NewsQA(settings=NewsQA().settings.model_copy(update={"data_dir": data, "embed_model": "hash"}))
    assert qa.ingestor.repair() == 0  # no orphan chunks, no half-stored articles
    records = qa.store.article_records()
    assert len(records) == 3
    assert qa.keyword.article_hashes() == {aid: m["content_hash"] for aid, m in records.items()}
    assert qa.store.count_chunks() == sum(m["n_chunks"] for m in records.values())
    feed = FeedState(qa.settings.feeds_path).all()[0]
    assert (feed.entries, feed.last_outcome, feed.error_count) == (3, "not modified", 0)
    assert server.conditional["/w.xml"] >= 2 and server.not_modified["/w.xml"] >= 1
