"""Fetching URLs: loopback/private hosts refused unless allowed, redirects re-checked, limits enforced."""

from __future__ import annotations

import gzip
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from paths import BBC_TECH

from core.settings import Settings
from ingest import fetch
from ingest.fetch import FetchError, fetch_url
from ingest.readers import load_sources

TECH = BBC_TECH


def _article_html() -> bytes:
    title, _, body = (TECH / "2d-metal-slug-offers-retro-fun.txt").read_text(encoding="utf-8").partition("\n")
    paragraphs = "".join(f"<p>{p.strip()}</p>" for p in body.split("\n\n") if p.strip())
    return (
        f"<html><head><title>{title}</title><meta property='og:site_name' content='Loop News'>"
        "<meta property='article:published_time' content='2005-02-14T09:30:00Z'></head>"
        f"<body><article><h1>{title}</h1>{paragraphs}</article></body></html>"
    ).encode()


FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Loop Feed</title>
<item><title>First entry</title><link>https://news.example.com/1</link><pubDate>Tue, 15 Feb 2005 10:00:00 +0100</pubDate>
<description>First entry body.</description></item>
<item><title>Second entry</title><link>https://news.example.com/2</link><pubDate>2005-02-16T08:00:00Z</pubDate>
<description>Second entry body.</description></item>
</channel></rss>"""

REDIRECTS = {
    "/to-private": "http://10.0.0.1/secret",
    "/to-metadata": "http://169.254.169.254/latest/meta-data/",
    "/to-file": "file:///etc/passwd",
    "/to-page": "/page.html",
    "/loop": "/loop",
}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def send(self, status: int, body: bytes, content_type: str = "text/html", **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path
        if path in REDIRECTS:
            self.send(302, b"", Location=REDIRECTS[path])
        elif path.startswith("/chain/"):
            n = int(path.rsplit("/", 1)[1])
            self.send(302, b"", Location=f"/chain/{n - 1}" if n > 0 else "/page.html")
        elif path == "/page.html":
            self.send(200, _article_html(), "text/html; charset=utf-8")
        elif path == "/feed":
            self.send(200, FEED, "application/rss+xml")
        elif path == "/feed-as-xml":
            self.send(200, FEED, "text/xml")
        elif path == "/data.json":
            self.send(
                200,
                b'{"articles": [{"title": "J", "text": "Json body.", "url": "https://j.example/1"}]}',
                "application/json",
            )
        elif path == "/plain":
            self.send(200, b"Plain headline\n\nPlain body text.", "text/plain")
        elif path == "/huge":
            self.send(200, b"x" * (3 * 1024 * 1024), "text/plain")  # no Content-Length: caught while reading
        elif path == "/huge-declared":
            self.send(200, b"short", "text/plain", Content_Length=str(50 * 1024 * 1024))
        elif path == "/gzip-bomb":
            self.send(200, gzip.compress(b"\0" * (8 * 1024 * 1024)), "text/plain", Content_Encoding="gzip")
        elif path == "/gzip":
            self.send(200, gzip.compress(b"Zipped title\n\nZipped body."), "text/plain", Content_Encoding="gzip")
        elif path == "/slow":
            time.sleep(3)
            self.send(200, b"late", "text/plain")
        else:
            self.send(404, b"not here")


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # clients that hang up early are expected here
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = QuietServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def allowed(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, allow_hosts=["127.0.0.1"], fetch_timeout=5, fetch_max_mb=1)


def test_loopback_is_refused_by_default(server: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    with pytest.raises(FetchError, match=r"private or local address \(127\.0\.0\.1\).*allow_hosts"):
        fetch_url(f"{server}/page.html", settings)
    port = server.rsplit(":", 1)[1]
    with pytest.raises(FetchError, match="private or local"):
        fetch_url(f"http://localhost:{port}/page.html", settings)


def test_loopback_allowed_when_listed(server: str, allowed: Settings) -> None:
    content, final_url, content_type = fetch_url(f"{server}/page.html", allowed)
    assert b"Metal Slug" in content
    assert final_url == f"{server}/page.html"
    assert content_type.startswith("text/html")


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "javascript:alert(1)", "gopher://h/"])
def test_non_http_schemes_are_refused(url: str, allowed: Settings) -> None:
    with pytest.raises(FetchError, match=r"only http\(s\) URLs"):
        fetch_url(url, allowed)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/to-private", r"private or local address \(10\.0\.0\.1\)"),
        ("/to-metadata", r"private or local address \(169\.254\.169\.254\)"),
        ("/to-file", r"only http\(s\) URLs"),
    ],
)
def test_every_redirect_hop_is_rechecked(server: str, allowed: Settings, path: str, message: str) -> None:
    with pytest.raises(FetchError, match=message):
        fetch_url(f"{server}{path}", allowed)


def test_redirects_are_followed_up_to_the_limit(server: str, allowed: Settings) -> None:
    content, final_url, _ = fetch_url(f"{server}/to-page", allowed)
    assert final_url == f"{server}/page.html" and b"Metal Slug" in content
    assert fetch_url(f"{server}/chain/4", allowed)[1] == f"{server}/page.html"  # 5 redirects: the default limit
    with pytest.raises(FetchError, match=r"too many redirects \(more than 5\)"):
        fetch_url(f"{server}/chain/5", allowed)
    with pytest.raises(FetchError, match="too many redirects"):
        fetch_url(f"{server}/loop", allowed)


@pytest.mark.parametrize("path", ["/huge", "/huge-declared", "/gzip-bomb"])
def test_size_limit(server: str, allowed: Settings, path: str) -> None:
    with pytest.raises(FetchError, match="larger than 1 MB limit"):
        fetch_url(f"{server}{path}", allowed)


def test_gzip_body_is_decompressed(server: str, allowed: Settings) -> None:
    assert fetch_url(f"{server}/gzip", allowed)[0] == b"Zipped title\n\nZipped body."


def test_timeout(server: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, allow_hosts=["127.0.0.1"], fetch_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out after 0.5 s"):
        fetch_url(f"{server}/slow", settings)
    assert time.monotonic() - started < 2.5


def test_http_errors_are_reported(server: str, allowed: Settings) -> None:
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch_url(f"{server}/missing", allowed)


def test_host_with_any_private_address_is_refused(monkeypatch: pytest.MonkeyPatch, allowed: Settings) -> None:
    def fake_getaddrinfo(host, port, *args, **kwargs):
        addresses = {"rebind.test": ["93.184.216.34", "127.0.0.1"], "v6.test": ["::ffff:192.168.1.5"]}[host]
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    with pytest.raises(FetchError, match=r"rebind\.test.*127\.0\.0\.1"):
        fetch_url("http://rebind.test/", allowed)
    with pytest.raises(FetchError, match="private or local"):
        fetch_url("http://v6.test/", allowed)


def test_ingesting_a_feed_url_gives_one_article_per_entry(server: str, allowed: Settings) -> None:
    [outcome] = list(load_sources([f"{server}/feed"], allowed))
    assert outcome.error is None
    first, second = outcome.articles
    assert (first.title, first.url, first.key, first.source) == (
        "First entry",
        "https://news.example.com/1",
        "https://news.example.com/1",
        "Loop Feed",
    )
    assert first.published == datetime(2005, 2, 15, 9, 0, tzinfo=UTC)
    assert (second.url, second.published) == ("https://news.example.com/2", datetime(2005, 2, 16, 8, 0, tzinfo=UTC))


def test_ingesting_urls_of_each_content_type(server: str, allowed: Settings) -> None:
    urls = [f"{server}/page.html", f"{server}/feed-as-xml", f"{server}/data.json", f"{server}/plain"]
    page, feed, data, plain = list(load_sources(urls, allowed))
    [article] = page.articles
    assert article.title == "2D Metal Slug offers retro fun"
    assert (article.source, article.key) == ("Loop News", f"{server}/page.html")
    assert article.published == datetime(2005, 2, 14, 9, 30, tzinfo=UTC)
    assert len(feed.articles) == 2
    assert data.articles[0].key == "https://j.example/1"
    assert (plain.articles[0].title, plain.articles[0].text, plain.articles[0].source) == (
        "Plain headline",
        "Plain body text.",
        "127.0.0.1",
    )


def test_refused_url_is_a_failed_item_and_the_batch_goes_on(server: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    good = tmp_path / "news" / "a.txt"
    good.parent.mkdir()
    good.write_text("Title\nBody.", encoding="utf-8")
    refused, ok = list(load_sources([f"{server}/page.html", good], settings))
    assert refused.item == f"{server}/page.html" and "private or local" in refused.error
    assert ok.articles[0].title == "Title"


@pytest.fixture
def https_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    if not shutil.which("openssl"):
        pytest.skip("openssl command not available to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    httpd = QuietServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address[1], cert
    httpd.shutdown()
    httpd.server_close()


def test_https_verifies_the_certificate_against_the_host_name(
    https_server: tuple[int, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port, cert = https_server
    settings = Settings(data_dir=tmp_path, allow_hosts=["localhost", "127.0.0.1"], fetch_timeout=5)
    with pytest.raises(FetchError, match="TLS error.*CERTIFICATE_VERIFY_FAILED"):  # self-signed: untrusted
        fetch_url(f"https://localhost:{port}/plain", settings)
    monkeypatch.setattr(fetch, "tls_context", lambda: ssl.create_default_context(cafile=str(cert)))
    content, _, _ = fetch_url(f"https://localhost:{port}/plain", settings)
    assert content == b"Plain headline\n\nPlain body text."
    with pytest.raises(FetchError, match="TLS error"):  # trusted cert, but it names localhost, not the address
        fetch_url(f"https://127.0.0.1:{port}/plain", settings)
