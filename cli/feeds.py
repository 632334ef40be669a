"""`newsrag feeds ...` and `newsrag watch`: subscriptions, refreshes and the long-running refresher."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

EXIT_OK, EXIT_FAILED = 0, 1


def _refresher(args):
    from cli.common import open_qa

    return open_qa(args).feeds


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    if ts == float("inf"):
        return "never"
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def _print_report(report, *, stamp: bool = False) -> None:
    prefix = time.strftime("%Y-%m-%d %H:%M:%S ") if stamp else ""
    print(f"{prefix}{report.summary()}", flush=True)
    for item, reason in report.entry_errors:
        print(f"{prefix}    {item}: {reason}", flush=True)


def cmd_add(args) -> int:
    from ingest.feeds import parse_interval

    refresher = _refresher(args)
    every = parse_interval(args.every or refresher.settings.feed_every)
    feed = refresher.state.add(args.url, every, source=args.source or "")
    print(f"subscribed to {feed.url} (every {_interval(every)})")
    if args.no_fetch:
        return EXIT_OK
    report = refresher.refresh(feed)
    _print_report(report)
    return EXIT_OK if report.ok else EXIT_FAILED


def _interval(seconds: float) -> str:
    from ingest.feeds import format_interval

    return format_interval(seconds)


def cmd_list(args) -> int:
    feeds = _refresher(args).state.all()
    if args.json:
        print(json.dumps([f.__dict__ for f in feeds], indent=2, default=str))
        return EXIT_OK
    if not feeds:
        print("No feeds. Add one with: newsrag feeds add URL")
        return EXIT_OK
    for f in feeds:
        status = "disabled (gone)" if f.disabled else f.last_outcome
        if f.error_count:
            status += f" ({f.error_count} failures in a row)"
        print(f"{f.title or '(untitled)'}\n    {f.url}")
        print(
            f"    every {_interval(f.every_s)}, last fetch {_when(f.last_fetch)}: {status}; "
            f"{f.entries} entries, {f.articles} articles; next due {_when(None if f.disabled else f.next_due)}"
        )
        if f.last_error:
            print(f"    last error: {f.last_error}")
    return EXIT_OK


def cmd_remove(args) -> int:
    state = _refresher(args).state
    status = EXIT_OK
    for url in args.urls:
        if state.remove(url):
            print(f"unsubscribed from {url} (its articles stay in the index; `newsrag delete` removes articles)")
        else:
            print(f"not subscribed: {url}", file=sys.stderr)
            status = EXIT_FAILED
    return status


def cmd_refresh(args) -> int:
    refresher = _refresher(args)
    if args.url:
        feed = refresher.state.get(args.url)
        if feed is None:
            print(f"not subscribed: {args.url} (newsrag feeds add {args.url})", file=sys.stderr)
            return EXIT_FAILED
        feeds = [feed]
    else:
        feeds = [f for f in refresher.state.all() if not f.disabled]
    reports = refresher.refresh_many(feeds)
    if args.json:
        print(json.dumps([r.to_dict() for r in reports], indent=2, default=str))
    else:
        for report in reports:
            _print_report(report)
        if not reports:
            print("No feeds to refresh.")
    return EXIT_OK if all(r.ok for r in reports) else EXIT_FAILED


def cmd_import(args) -> int:
    from ingest.feeds import parse_interval
    from ingest.opml import read_opml

    refresher = _refresher(args)
    every = parse_interval(args.every or refresher.settings.feed_every)
    outlines = read_opml(Path(args.file).read_bytes())
    known = {f.url for f in refresher.state.all()}
    added = 0
    for outline in outlines:
        if outline.url in known:
            continue
        refresher.state.add(outline.url, every, title=outline.title)
        added += 1
    print(f"imported {added} feeds ({len(outlines) - added} already subscribed); `newsrag feeds refresh` fetches them")
    return EXIT_OK


def cmd_export(args) -> int:
    from ingest.opml import OutlineFeed, write_opml

    feeds = _refresher(args).state.all()
    data = write_opml([OutlineFeed(f.url, f.source or f.title) for f in feeds])
    if args.file and args.file != "-":
        Path(args.file).write_bytes(data)
        print(f"wrote {len(feeds)} feeds to {args.file}")
    else:
        sys.stdout.write(data.decode("utf-8"))
    return EXIT_OK


def cmd_watch(args) -> int:
    """Refresh due feeds until SIGTERM or Ctrl-C; the feed being refreshed finishes first."""
    from ingest.scheduler import Scheduler

    logging.getLogger("ingest").setLevel(logging.WARNING)
    refresher = _refresher(args)
    stop = threading.Event()

    def on_signal(signum, frame):
        if stop.is_set():  # a second Ctrl-C: stop now
            raise KeyboardInterrupt
        print(f"stopping after the current feed ({signal.Signals(signum).name})", flush=True)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    feeds = refresher.state.all()
    print(f"watching {len(feeds)} feeds in {refresher.settings.data_dir} (Ctrl-C stops)", flush=True)
    try:
        runs = Scheduler(refresher, refresher.state).watch(stop, on_report=lambda r: _print_report(r, stamp=True))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(f"stopped after {runs} refreshes", flush=True)
    return EXIT_OK


def add_commands(sub, parents: list) -> None:
    """Register `feeds` and `watch` on the `newsrag` parser's subcommands."""
    p = sub.add_parser(
        "feeds", parents=parents, help="subscribe to RSS/Atom feeds; list, remove, refresh, import/export OPML"
    )
    feeds = p.add_subparsers(dest="feeds_command", required=True)

    q = feeds.add_parser("add", parents=parents, help="subscribe to a feed and fetch it now")
    q.add_argument("url")
    q.add_argument("--every", help="refresh interval such as 30m, 2h, 1d (default: NEWSRAG_FEED_EVERY, 1h)")
    q.add_argument("--source", help="source name for its articles (default: the feed's title)")
    q.add_argument("--no-fetch", action="store_true", help="subscribe only; the next refresh fetches it")
    q.set_defaults(func=cmd_add)

    q = feeds.add_parser(
        "list", parents=parents, help="subscriptions with last fetch, status, entries and next due time"
    )
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_list)

    q = feeds.add_parser("remove", parents=parents, help="unsubscribe (the articles stay)")
    q.add_argument("urls", nargs="+")
    q.set_defaults(func=cmd_remove)

    q = feeds.add_parser("refresh", parents=parents, help="refresh one feed now, or all of them")
    q.add_argument("url", nargs="?")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_refresh)

    q = feeds.add_parser("import", parents=parents, help="subscribe to the feeds of an OPML file")
    q.add_argument("file")
    q.add_argument("--every", help="refresh interval for the imported feeds")
    q.set_defaults(func=cmd_import)

    q = feeds.add_parser("export", parents=parents, help="write the subscriptions as OPML (to stdout, or FILE)")
    q.add_argument("file", nargs="?")
    q.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "watch", parents=parents, help="keep refreshing feeds as they fall due (Ctrl-C or SIGTERM stops)"
    )
    p.set_defaults(func=cmd_watch)
