"""Fetch one URL for ingestion without letting it reach into private networks.

A URL given to ingestion (by a user, or by a redirect a remote server chooses) could point at
localhost, the LAN or a cloud metadata service. So: only http(s); every hop's host is resolved and refused
when any address is not public, unless the host is in `allow_hosts`; the connection goes to the address
that was checked (no second DNS lookup an attacker could answer differently); redirects are followed by
hand and re-checked; time and size are bounded.
"""

from __future__ import annotations

import http.client
import ipaddress
import logging
import socket
import ssl
import time
import zlib
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from core.errors import FetchError
from core.settings import Settings

logger = logging.getLogger(__name__)

__all__ = ["FetchError", "FetchResult", "fetch", "fetch_url"]

USER_AGENT = "newsrag/0.1 (news ingestion)"
ACCEPT = (
    "text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,application/xml;q=0.9,"
    "application/json;q=0.9,text/plain;q=0.8,*/*;q=0.5"
)
_REDIRECTS = {301, 302, 303, 307, 308}
_PERMANENT = {301, 308}
_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
_READ_BLOCK = 64 * 1024


@dataclass
class FetchResult:
    """One fetch's outcome, whatever the HTTP status (feeds need 304, 410, 429 and their headers)."""

    status: int
    body: bytes
    url: str  # the final URL, after redirects
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    permanent_url: str | None = None  # where an unbroken chain of permanent redirects (301/308) led

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


def fetch(url: str, settings: Settings, headers: dict[str, str] | None = None) -> FetchResult:
    """GET `url` safely with extra request `headers`; HTTP error statuses come back, not raised."""
    deadline = time.monotonic() + settings.fetch_timeout
    max_bytes = int(settings.fetch_max_mb * 1024 * 1024)
    allowed = {h.strip().lower().strip("[]") for h in settings.allow_hosts}
    current, permanent, all_permanent = url, None, True
    for _hop in range(settings.fetch_max_redirects + 1):
        status, got, body = _get_once(current, allowed, deadline, settings.fetch_timeout, max_bytes, headers)
        if status in _REDIRECTS:
            location = got.get("location")
            if not location:
                raise FetchError(f"HTTP {status} redirect without a Location header from {current}")
            current = urljoin(current, location.strip())
            all_permanent = all_permanent and status in _PERMANENT
            if all_permanent:
                permanent = current
            logger.info("redirected to %s", current)
            continue
        return FetchResult(status, body, current, got, permanent)
    raise FetchError(f"too many redirects (more than {settings.fetch_max_redirects}) starting at {url}")


def fetch_url(url: str, settings: Settings) -> tuple[bytes, str, str]:
    """GET `url` safely: returns (content, final URL after redirects, Content-Type header)."""
    result = fetch(url, settings)
    if result.status >= 400:
        raise FetchError(f"HTTP {result.status} from {result.url}")
    return result.body, result.url, result.content_type


def check_url(url: str, allowed: set[str]) -> tuple[str, int, str, list[str]]:
    """(scheme, port, host, public addresses to connect to) for `url`, or FetchError if it may not be fetched."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError(f"only http(s) URLs are ingested, not {scheme or 'a URL without scheme'}: {url[:200]}")
    host = (parts.hostname or "").lower()
    if not host:
        raise FetchError(f"URL has no host: {url[:200]}")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise FetchError(f"URL has an invalid port: {url[:200]}") from None
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"could not resolve host {host} ({exc})") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise FetchError(f"could not resolve host {host}")
    if host not in allowed:  # allow_hosts matches the URL's host as written, not what it resolves to
        for address in addresses:
            if _is_blocked(address):
                raise FetchError(
                    f"refused to fetch {host}: it resolves to a private or local address ({address}); "
                    "add the host to allow_hosts (NEWSRAG_ALLOW_HOSTS) if you trust it"
                )
    return scheme, port, host, addresses


def _is_blocked(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip in _METADATA
        or not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def _get_once(
    url: str, allowed: set[str], deadline: float, timeout: float, max_bytes: int, extra: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    scheme, port, host, addresses = check_url(url, allowed)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise FetchError(f"timed out after {timeout:g} s fetching {url}")
    conn_class = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    conn = conn_class(host, addresses[0], port=port, timeout=min(timeout, remaining))
    try:
        request_headers = {"User-Agent": USER_AGENT, "Accept": ACCEPT, "Accept-Encoding": "gzip", **(extra or {})}
        conn.request("GET", path, headers=request_headers)
        response = conn.getresponse()
        headers = {k.lower(): v for k, v in response.getheaders()}
        if response.status in _REDIRECTS or response.status == 304:
            return response.status, headers, b""
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > max_bytes:
            raise FetchError(f"larger than {max_bytes / 1024 / 1024:g} MB limit: {url}")
        body = _read_limited(response, max_bytes, deadline, timeout, url)
        if headers.get("content-encoding", "").lower() in ("gzip", "x-gzip", "deflate"):
            body = _decompress(body, max_bytes, url)
        return response.status, headers, body
    except FetchError:
        raise
    except TimeoutError:
        raise FetchError(f"timed out after {timeout:g} s fetching {url}") from None
    except ssl.SSLError as exc:
        raise FetchError(f"TLS error fetching {url}: {exc.reason or exc}") from None
    except (OSError, http.client.HTTPException) as exc:
        raise FetchError(f"could not fetch {url}: {exc or type(exc).__name__}") from None
    finally:
        conn.close()


def _read_limited(response: http.client.HTTPResponse, max_bytes: int, deadline: float, timeout: float,
                  url: str) -> bytes:  # fmt: skip
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise FetchError(f"timed out after {timeout:g} s fetching {url}")
        block = response.read1(_READ_BLOCK) if hasattr(response, "read1") else response.read(_READ_BLOCK)
        if not block:
            return b"".join(chunks)
        size += len(block)
        if size > max_bytes:
            raise FetchError(f"larger than {max_bytes / 1024 / 1024:g} MB limit: {url}")
        chunks.append(block)


def _decompress(body: bytes, max_bytes: int, url: str) -> bytes:
    """Inflate a gzip/deflate body without letting a small bomb expand past the size limit."""
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)  # auto-detects gzip or zlib header
    try:
        data = inflater.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise FetchError(f"bad compressed response from {url}: {exc}") from None
    if len(data) > max_bytes:
        raise FetchError(f"larger than {max_bytes / 1024 / 1024:g} MB limit once decompressed: {url}")
    return data


def tls_context() -> ssl.SSLContext:
    """The system's trust store with hostname checks (a seam for tests with their own CA)."""
    return ssl.create_default_context()


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to a pre-checked address while sending the original Host header."""

    def __init__(self, host: str, address: str, **kwargs) -> None:
        super().__init__(host, **kwargs)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """Like _PinnedHTTPConnection, with TLS verified against the host name (SNI), not the address."""

    def __init__(self, host: str, address: str, **kwargs) -> None:
        super().__init__(host, context=tls_context(), **kwargs)
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)
