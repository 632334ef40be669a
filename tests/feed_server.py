"""A feed publisher on 127.0.0.1 for tests: RSS feeds whose entries a test changes between requests.

It behaves like a real server: ETag and Last-Modified on every feed, 304 for a matching conditional request,
gzip when asked, and per-path overrides for redirects, errors with Retry-After, raw bodies (malformed or huge
feeds) and linked HTML pages. It counts what it was asked, so that tests can assert exact numbers.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections import Counter
from dataclasses import dataclass, field
from email.utils import format_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from paths import BBC_TECH, REALTIMEQA_DIR

TECH = BBC_TECH
RTQA = REALTIMEQA_DIR / "articles"


@dataclass
class Item:
    title: str
    text: str  # the entry's description (HTML-escaped into the feed)
    link: str | None = None
    guid: str | None = None
    date: str | None = None  # RFC 822 or ISO
    author: str | None = None
    categories: tuple[str, ...] = ()


@dataclass
class Feed:
    title: str
    items: list[Item] = field(default_factory=list)

    def xml(self) -> bytes:
        parts = [
            f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>{escape(self.title)}</title>'
        ]
        for item in self.items:
            parts.append("<item>")
            parts.append(f"<title>{escape(item.title)}</title>")
            if item.link:
                parts.append(f"<link>{escape(item.link)}</link>")
            if item.guid:
                parts.append(f'<guid isPermaLink="false">{escape(item.guid)}</guid>')
            if item.date:
                parts.append(f"<pubDate>{escape(item.date)}</pubDate>")
            if item.author:
                parts.append(f"<author>{escape(item.author)}</author>")
            parts.extend(f"<category>{escape(c)}</category>" for c in item.categories)
            parts.append(f"<description>{escape(item.text)}</description></item>")
        parts.append("</channel></rss>")
        return "".join(parts).encode("utf-8")


class FeedServer:
    """`feeds[path]` are served as RSS; `pages[path]` as HTML; `responses[path]` = (status, headers, body)
    override both; `redirects[path]` = (status, location)."""

    def __init__(self) -> None:
        self.feeds: dict[str, Feed] = {}
        self.pages: dict[str, str] = {}
        self.responses: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.redirects: dict[str, tuple[int, str]] = {}
        self.requests: Counter[str] = Counter()  # path -> requests
        self.conditional: Counter[str] = Counter()  # path -> requests with If-None-Match/If-Modified-Since
        self.not_modified: Counter[str] = Counter()  # path -> 304s sent
        self.user_agents: set[str] = set()
        self.gzipped = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server._handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def __enter__(self) -> FeedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        path = h.path.split("?", 1)[0]
        with self._lock:
            self.requests[path] += 1
            self.user_agents.add(h.headers.get("User-Agent", ""))
            conditional = h.headers.get("If-None-Match") or h.headers.get("If-Modified-Since")
            if conditional:
                self.conditional[path] += 1
        if path in self.redirects:
            status, location = self.redirects[path]
            return self._send(h, status, {"Location": location}, b"")
        if path in self.responses:
            status, headers, body = self.responses[path]
            return self._send(h, status, headers, body)
        if path in self.feeds:
            body = self.feeds[path].xml()
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            modified = format_datetime(_modified_at(body), usegmt=True)
            headers = {"Content-Type": "application/rss+xml; charset=utf-8", "ETag": etag, "Last-Modified": modified}
            if h.headers.get("If-None-Match") == etag:
                with self._lock:
                    self.not_modified[path] += 1
                return self._send(h, 304, {"ETag": etag}, b"")
            return self._send(h, 200, headers, body)
        if path in self.pages:
            return self._send(h, 200, {"Content-Type": "text/html; charset=utf-8"}, self.pages[path].encode("utf-8"))
        return self._send(h, 404, {"Content-Type": "text/plain"}, b"not found")

    def _send(self, h: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes) -> None:
        if body and "gzip" in h.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body)
            headers = {**headers, "Content-Encoding": "gzip"}
            with self._lock:
                self.gzipped += 1
        h.send_response(status)
        for name, value in headers.items():
            h.send_header(name, value)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if body:
            h.wfile.write(body)


def _modified_at(body: bytes):
    from datetime import UTC, datetime

    # A stable, content-derived time: the same body always reports the same Last-Modified.
    seconds = int(hashlib.sha1(body).hexdigest()[:6], 16)
    return datetime.fromtimestamp(1_600_000_000 + seconds, UTC)


def bbc_article(name: str) -> tuple[str, str]:
    """(headline, body) of a BBC tech article from the shared corpus."""
    title, _, body = (TECH / name).read_text(encoding="utf-8").partition("\n")
    return title.strip(), body.strip()


def article_page(title: str, body: str, site: str = "Loop News") -> str:
    paragraphs = "".join(f"<p>{escape(p.strip())}</p>" for p in body.split("\n") if p.strip())
    return (
        f"<html><head><title>{escape(title)}</title><meta property='og:site_name' content='{site}'></head>"
        f"<body><nav>Home | World | Tech</nav><article><h1>{escape(title)}</h1>{paragraphs}</article>"
        "<footer>Copyright Loop News</footer></body></html>"
    )


class Clock:
    """A fake clock (a callable giving seconds) that tests move on by hand."""

    def __init__(self, now: float = 1_700_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# Five BBC tech articles from the shared corpus: item(n) is the n-th as a feed entry.
ARTICLES = [
    "2d-metal-slug-offers-retro-fun.txt",
    "apple-mac-mini-gets-warm-welcome.txt",
    "ban-hits-half-life-2-pirates-hard.txt",
    "blog-reading-explodes-in-america.txt",
    "broadband-fuels-online-change.txt",
]


def item(n: int, **changes) -> Item:
    title, body = bbc_article(ARTICLES[n])
    values = dict(
        title=title,
        text=body,
        link=f"https://news.example.com/{n}",
        guid=f"urn:story:{n}",
        date=f"Mon, 1{n} Jan 2005 10:00:00 GMT",
    )
    values.update(changes)
    return Item(**values)
