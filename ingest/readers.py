"""Turn files, folders and URLs into Articles, one LoadOutcome per item.

Every input here is untrusted: files can be empty, binary, huge, wrongly encoded, truncated, deeply nested
or hostile (XML entity bombs). A bad item becomes a failed or skipped LoadOutcome with a short reason a user
can act on; it never raises and never stops the batch.
"""

from __future__ import annotations

import codecs
import contextlib
import ctypes
import functools
import io
import json
import logging
import os
import re
import threading
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from core.dates import parse_article_date
from core.errors import ReadError
from core.settings import Settings
from core.text import split_sentences
from ingest.article import Article, LoadOutcome
from ingest.markup import html_to_text, markdown_to_text, scan_html_metadata
from ingest.normalize import normalize_text, normalize_title

logger = logging.getLogger(__name__)

__all__ = [
    "SUPPORTED",
    "ReadError",
    "load_sources",
    "read_feed",
    "read_html",
    "read_json_records",
    "read_text_file",
]

SUPPORTED = {".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl", ".xml", ".rss", ".atom"}
ITEM_TIME_LIMIT_S = 120  # reading one item may take no longer, in any thread (see _time_limit)
TITLE_MAX_CHARS = 120
TRAFILATURA_MAX_CHARS = 5_000_000  # larger pages get the plain html.parser extraction

# A feed starts with <rss>, <feed> or <rdf:RDF>, after any XML declaration, processing instructions,
# comments and doctype.
_FEED_START = re.compile(
    rb"\s*(?:<\?.*?\?>\s*|<!--.*?-->\s*|<!DOCTYPE[^>\[]*(?:\[.*?\])?\s*>\s*)*<(rss|feed|rdf:rdf)\b", re.I | re.S
)
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.I)
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13))
_WESTERN = {"cp1252", "latin_1", "iso8859_15"}


class _TooBig(Exception):
    pass


class _ItemTimeout(BaseException):
    """Raised in the reading thread when one item takes too long (not TimeoutError: sockets raise that).

    A BaseException, like KeyboardInterrupt, so that a parser's own `except Exception` cannot swallow it.
    """


def load_sources(sources: Iterable[str | Path], settings: Settings) -> Iterator[LoadOutcome]:
    """Read files, folders (recursively) and http(s) URLs, yielding one outcome per item; never raises."""
    for source in sources:
        text = str(source)
        if isinstance(source, str) and "://" in text:
            scheme = text.split("://", 1)[0].lower()
            if scheme in ("http", "https"):
                yield _guard(text, lambda u=text: _load_url(u, settings))
            elif scheme == "file":
                yield from _load_path(_file_uri_to_path(text), settings)
            else:
                yield LoadOutcome(text, [], error="only http(s) URLs are ingested")
            continue
        yield from _load_path(Path(source).expanduser(), settings)


def _load_path(path: Path, settings: Settings) -> Iterator[LoadOutcome]:
    if path.is_dir():
        for file in _walk(path):
            yield from _load_file(file, settings)
    elif path.exists():
        yield from _load_file(path, settings)
    else:
        yield LoadOutcome(str(path), [], error="no such file or folder")


def _walk(folder: Path) -> list[Path]:
    """Files under `folder` sorted by relative path, skipping hidden files and folders (symlinked folders too)."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder, onerror=lambda e: logger.warning("cannot list %s: %s", e.filename, e)):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found.extend(Path(root) / name for name in files if not name.startswith("."))
    return sorted(found, key=lambda p: p.relative_to(folder).parts)


def _load_file(path: Path, settings: Settings) -> Iterator[LoadOutcome]:
    item = str(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        yield LoadOutcome(item, [], skipped=f"unsupported file type {suffix or '(no extension)'}")
        return
    try:
        data = _read_bytes(path, settings.max_file_mb)
    except ReadError as exc:
        yield LoadOutcome(item, [], error=str(exc))
        return
    if suffix == ".jsonl":
        yield from _guard_many(item, lambda: _read_jsonl(data, path))
    else:
        yield _guard(item, lambda: _parse_file(data, path, suffix))


def _read_bytes(path: Path, max_mb: float) -> bytes:
    limit = int(max_mb * 1024 * 1024)
    try:
        if path.stat().st_size > limit:
            raise ReadError(f"larger than {max_mb:g} MB limit")
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise ReadError("file disappeared while reading") from None
    except PermissionError:
        raise ReadError("permission denied") from None
    except OSError as exc:
        raise ReadError(f"could not read the file ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise ReadError(f"larger than {max_mb:g} MB limit")
    if not data.strip():
        raise ReadError("empty file")
    return data


def _parse_file(data: bytes, path: Path, suffix: str) -> list[Article]:
    file_uri = path.resolve().as_uri()
    if suffix in (".xml", ".rss", ".atom") or (suffix in (".html", ".htm") and _looks_like_feed(data)):
        return read_feed(data, file_uri, fallback_source=path.stem)
    if suffix in (".html", ".htm"):
        return [read_html(decode_text(data), file_uri, fallback_source=path.parent.name)]
    if suffix == ".json":
        return read_json_records(_parse_json(decode_text(data)), file_uri, fallback_source=path.stem)
    return [_text_article(decode_text(data), file_uri, path.parent.name, markdown=suffix != ".txt")]


def read_text_file(path: str | Path) -> Article:
    """A .txt/.md file: the first non-empty line is the headline (Markdown '#' stripped), the rest the body."""
    path = Path(path)
    data = _read_bytes(path, max_mb=Settings.model_fields["max_file_mb"].default)
    suffix = path.suffix.lower()
    return _text_article(decode_text(data), path.resolve().as_uri(), path.parent.name, markdown=suffix != ".txt")


def _text_article(text: str, url: str, source: str, *, markdown: bool) -> Article:
    text, meta = _front_matter(text)  # Markdown or plain text: `---` key: value lines `---` at the top
    lines = text.lstrip("\ufeff").split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise ReadError("empty file")
    title, body = lines[first], "\n".join(lines[first + 1 :])
    if markdown:
        title = markdown_to_text(title.strip().lstrip("#"))
        body = markdown_to_text(body)
    if meta.get("title"):  # front matter names the title; the first line is body unless it repeats it
        if normalize_title(title) != normalize_title(meta["title"]):
            body = f"{title}\n\n{body}"
        title = meta["title"]
    article = _article(url, title, body, meta.get("source") or source, url,
                       parse_article_date(meta.get("date") or meta.get("published")), meta.get("author"))  # fmt: skip
    if article is None:
        raise ReadError("no article text after the headline")
    return article


def _front_matter(text: str) -> tuple[str, dict[str, str]]:
    """Simple `key: value` YAML front matter at the top of a Markdown file (title, date, author, source)."""
    match = re.match(r"\ufeff?---[ \t]*\n(.*?)\n---[ \t]*(?:\n|$)", text, re.S)
    if not match:
        return text, {}
    meta = {}
    for line in match.group(1).split("\n"):
        key, sep, value = line.partition(":")
        if sep and key.strip():
            meta[key.strip().lower()] = value.strip().strip("\"'")
    return text[match.end() :], meta


def read_html(html: str, url: str, fallback_source: str) -> Article:
    """The main text of a web page (trafilatura) with its title, date, author, canonical URL and site name."""
    meta = scan_html_metadata(html)
    doc = None
    try:
        if len(html) > TRAFILATURA_MAX_CHARS:  # trafilatura needs ~1.5 s per MB; a plain text pass is enough
            raise _TooBig
        import trafilatura

        doc = trafilatura.bare_extraction(html, url=url if url.startswith("http") else None, with_metadata=True)
    except _TooBig:
        logger.info("HTML page of %d characters: plain text extraction only: %s", len(html), url)
    except RecursionError:
        logger.warning("HTML too deeply nested for trafilatura: %s", url)
    except Exception:  # trafilatura/lxml fail in many ways on broken markup; the fallback below handles it
        logger.warning("trafilatura failed on %s; using plain text extraction", url, exc_info=True)
    text = (doc.text if doc is not None else None) or html_to_text(html)
    title = meta.get("title") or (doc.title if doc is not None else None) or meta.get("html_title") or ""
    canonical = _absolute_http(meta.get("canonical"), url)
    link = canonical or url
    host = urlsplit(link).hostname if link.startswith("http") else None
    source = meta.get("site_name") or (doc.sitename if doc is not None else None) or host or fallback_source
    published = parse_article_date(meta.get("published")) or parse_article_date(doc.date if doc is not None else None)
    author = meta.get("author") or (doc.author if doc is not None else None)
    body = normalize_text(text)
    clean_title = normalize_title(title)
    if clean_title and body.startswith(clean_title):  # extracted text often repeats the <h1>
        body = body[len(clean_title) :].lstrip()
    key = canonical or url
    article = _article(key, title, body, source, key, published, author, normalized=True)
    if article is None:
        raise ReadError("no article text found")
    return article


def read_json_records(data: Any, path_or_url: str | Path, fallback_source: str | None = None) -> list[Article]:
    """Articles from a JSON object, a list of objects, or {"articles"|"items"|"entries": [...]}."""
    base = _base_url(path_or_url)
    source = fallback_source or _default_source(path_or_url)
    if isinstance(data, dict):
        for wrapper in ("articles", "items", "entries", "data", "results"):
            if isinstance(data.get(wrapper), list):
                data = data[wrapper]
                break
    records = data if isinstance(data, list) else [data]
    articles = []
    for n, record in enumerate(records):
        article = _json_article(record, n, base, source)
        if article is not None:
            articles.append(article)
        else:
            logger.info("JSON record %d of %s has no article text; skipped", n, path_or_url)
    if not articles:
        raise ReadError("no article text found")
    return articles


def _json_article(record: Any, n: int, base: str, source: str) -> Article | None:
    if not isinstance(record, dict):
        return None
    lower = {str(k).lower(): v for k, v in record.items()}

    def field(*names: str) -> str:
        for name in names:
            value = _as_text(lower.get(name))
            if value:
                return value
        return ""

    text = field("text", "body", "content", "article", "description", "summary")
    if "<" in text and re.search(r"</?[a-zA-Z][^>]*>", text):
        text = html_to_text(text)
    title = field("title", "headline", "name")
    link = _absolute_http(field("url", "link", "href", "canonical_url"), base)
    key, url = (link, link) if link else (f"{base}#{n}", base)
    published = parse_article_date(field("published", "date", "pubdate", "published_at", "publishedat", "datepublished",
                                 "created_at", "updated", "time"))  # fmt: skip
    author = field("author", "authors", "byline", "creator") or None
    return _article(key, title, text, field("source", "site", "publisher", "sitename") or source, url,
                    published, author)  # fmt: skip


def _read_jsonl(data: bytes, path: Path) -> list[LoadOutcome]:
    """One outcome for the file's good records, plus one failed outcome per bad line ("path:LINE")."""
    text = decode_text(data)
    base = path.resolve().as_uri()
    good: list[Article] = []
    bad: list[LoadOutcome] = []
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        item = f"{path}:{lineno}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            bad.append(LoadOutcome(item, [], error=f"malformed JSON at line {lineno}: {exc.msg}"))
            continue
        if not isinstance(record, dict):
            bad.append(LoadOutcome(item, [], error="not a JSON object (one article per line expected)"))
            continue
        article = _json_article(record, lineno, base, path.stem)  # records without URL are numbered by line
        if article is None:
            bad.append(LoadOutcome(item, [], error="no article text found"))
        else:
            good.append(article)
    if not good:  # every line failed: the per-line reasons say it all
        return bad or [LoadOutcome(str(path), [], error="no article text found")]
    return [LoadOutcome(str(path), good), *bad]


def read_feed(content: bytes, url: str, fallback_source: str | None = None) -> list[Article]:
    """One article per RSS/Atom entry: title, content or summary as text, link, date, feed title as source."""
    if _ENTITY_DECL.search(content):
        raise ReadError("feed declares XML entities; refused")
    if not _looks_like_feed(content):
        raise ReadError("not a feed (XML without <rss>, <feed> or <rdf:RDF>)")
    import feedparser

    parsed = feedparser.parse(io.BytesIO(content), response_headers={"content-location": url})
    if not parsed.entries:
        if parsed.get("bozo"):
            raise ReadError(f"not a valid feed ({_short(parsed.get('bozo_exception'))})")
        raise ReadError("feed has no entries")
    feed_title = normalize_title(_as_text(parsed.feed.get("title")))
    source = feed_title or fallback_source or _default_source(url)
    base = _base_url(url)
    articles = []
    for n, entry in enumerate(parsed.entries):
        body = ""
        for part in entry.get("content") or []:
            body = max(body, _as_text(part.get("value")), key=len)
        summary = _as_text(entry.get("summary"))
        if len(summary) > len(body):
            body = summary
        link = _absolute_http(_as_text(entry.get("link")), base) or _absolute_http(_as_text(entry.get("id")), base)
        key, entry_url = (link, link) if link else (f"{base}#{n}", base)
        # Our own parse of the raw date first: feedparser's drops the minutes of offsets like +0530.
        published = parse_article_date(entry.get("published") or entry.get("updated") or entry.get("created"))
        if published is None:
            published = parse_article_date(entry.get("published_parsed") or entry.get("updated_parsed"))
        article = _article(key, _as_text(entry.get("title")), html_to_text(body), source, entry_url,
                           published, _as_text(entry.get("author")) or None)  # fmt: skip
        if article is not None:
            articles.append(article)
    if not articles:
        raise ReadError("no article text found")
    return articles


_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def _cp1252_fallback(error: UnicodeDecodeError) -> tuple[str, int]:
    return error.object[error.start : error.end].decode("cp1252", errors="replace"), error.end


@functools.cache
def _cp1252_errors() -> str:
    """The codec error handler reading invalid bytes as cp1252, registered on first use (not at import)."""
    codecs.register_error("newsrag-cp1252", _cp1252_fallback)  # registering again is harmless
    return "newsrag-cp1252"


def decode_text(data: bytes) -> str:
    """Bytes to text: UTF-8 (BOM allowed), UTF-16 with BOM, else a charset detection that must decode cleanly."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise ReadError("invalid UTF-16 text") from None
    if b"\x00" in data:
        raise ReadError("not text (binary data)")
    sample = data[:65536]
    control = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    if control > len(sample) * 0.05:
        raise ReadError("not text (binary data)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        utf8_error = f"invalid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})"
    if _UTF8_MULTIBYTE.search(data):
        # Mostly UTF-8 with a few stray legacy bytes (text pasted together from two sources):
        # keep the UTF-8 and read only the invalid bytes as cp1252.
        logger.info("mixed encodings: %s; reading the stray bytes as cp1252", utf8_error)
        return data.decode("utf-8-sig", errors=_cp1252_errors())
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    best = matches[0] if matches else None
    if best is not None:
        # Equally good guesses are common for short Western text (cp1250 vs cp1252); news is mostly cp1252.
        ties = [m for m in matches if m.chaos <= best.chaos and m.coherence >= best.coherence]
        best = next((m for m in ties if _WESTERN & set(m.could_be_from_charset)), best)
        text = str(best)
        sample = text[:200_000]
        printable = sum(1 for c in sample if c.isprintable() or c in "\n\r\t")
        if sample and printable >= 0.98 * len(sample):
            logger.info("decoded as %s after UTF-8 failed", best.encoding)
            return text
    raise ReadError(f"{utf8_error} and no other text encoding fits")


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReadError(f"malformed JSON at line {exc.lineno}: {exc.msg}") from None


def _looks_like_feed(data: bytes) -> bool:
    return bool(_FEED_START.match(data[:4096].lstrip(b"\xef\xbb\xbf")))


def _load_url(url: str, settings: Settings) -> list[Article]:
    from ingest.fetch import FetchError, fetch_url

    try:
        content, final_url, content_type = fetch_url(url, settings)
    except FetchError as exc:
        raise ReadError(str(exc)) from None
    return parse_fetched(content, final_url, content_type)


def parse_fetched(content: bytes, url: str, content_type: str) -> list[Article]:
    """Articles from a fetched body, chosen by content type and, when that is vague, by sniffing the bytes."""
    ctype = content_type.split(";", 1)[0].strip().lower()
    head = content[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if not content.strip():
        raise ReadError("empty response")
    if "rss" in ctype or "atom" in ctype or _looks_like_feed(content) or _ENTITY_DECL.search(head):
        return read_feed(content, url)
    if "html" in ctype or head.startswith((b"<!doctype html", b"<html")):
        return [read_html(_decode_with_charset(content, content_type), url, fallback_source=_default_source(url))]
    if "xml" in ctype or head.startswith(b"<?xml"):
        return read_feed(content, url)
    if "json" in ctype or head.startswith((b"{", b"[")):
        return read_json_records(_parse_json(_decode_with_charset(content, content_type)), url)
    if ctype.startswith("text/") or not ctype or ctype == "application/octet-stream":
        return [_text_article(_decode_with_charset(content, content_type), url, _default_source(url), markdown=False)]
    raise ReadError(f"unsupported content type {ctype}")


def _decode_with_charset(content: bytes, content_type: str) -> str:
    match = re.search(r"charset=[\"']?([\w.:-]+)", content_type, re.I)
    if match:
        with contextlib.suppress(LookupError, UnicodeDecodeError):
            return content.decode(match.group(1))
    return decode_text(content)


def _guard(item: str, read) -> LoadOutcome:
    """Run one item's reader, turning every failure into a failed outcome with a short reason."""
    try:
        with _time_limit(ITEM_TIME_LIMIT_S):
            return LoadOutcome(item, read())
    except ReadError as exc:
        return LoadOutcome(item, [], error=str(exc))
    except RecursionError:
        return LoadOutcome(item, [], error="too deeply nested to parse")
    except _ItemTimeout:
        return LoadOutcome(item, [], error=f"took longer than {ITEM_TIME_LIMIT_S} s to read")
    except MemoryError:
        return LoadOutcome(item, [], error="too large to parse in memory")
    except Exception as exc:  # a reader bug must not stop the batch; the log keeps the traceback
        logger.exception("unexpected error reading %s", item)
        return LoadOutcome(item, [], error=f"could not be read ({type(exc).__name__})")


def _guard_many(item: str, read) -> list[LoadOutcome]:
    """Like _guard, for a reader that yields several outcomes (a JSONL file: good lines, bad lines)."""
    outcomes: list[LoadOutcome] = []

    def run() -> list[Article]:
        outcomes.extend(read())
        return []

    failed = _guard(item, run)
    return outcomes if failed.error is None else [failed]


@contextlib.contextmanager
def _time_limit(seconds: float):
    """Raise _ItemTimeout in the calling thread, whichever it is, after `seconds` (no signal handler, no itimer).

    A timer thread asks the interpreter to raise it in the reading thread, which happens at that thread's next
    bytecode boundary, just as a signal handler would run: Python-level parsing (most of trafilatura,
    feedparser, charset-normalizer, dateutil) stops there; one long C call (a single lxml parse, a socket read)
    returns first, and the size limits (max_file_mb, TRAFILATURA_MAX_CHARS) and fetch timeouts bound those.
    """
    if _set_async_exc is None:  # not CPython: the size limits alone bound the time
        yield
        return
    reader = threading.get_ident()
    lock = threading.Lock()
    state = {"reading": True, "raised": False}

    def expire() -> None:
        with lock:
            if state["reading"]:
                state["raised"] = True
                _set_async_exc(ctypes.c_ulong(reader), ctypes.py_object(_ItemTimeout))

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        with lock:
            state["reading"] = False
            if state["raised"]:  # expired as the item ended: cancel the exception if it is still pending
                _set_async_exc(ctypes.c_ulong(reader), None)
        timer.cancel()


_set_async_exc = getattr(getattr(ctypes, "pythonapi", None), "PyThreadState_SetAsyncExc", None)


def _article(key: str, title: str, text: str, source: str, url: str, published: datetime | None,
             author: str | None, *, normalized: bool = False) -> Article | None:  # fmt: skip
    body = text if normalized else normalize_text(text)
    if not body:
        return None
    clean_title = normalize_title(title) or _first_sentence(body)
    author = normalize_title(author) if author else None
    return Article(key=key, title=clean_title, text=body, source=normalize_title(source) or "unknown", url=url,
                   published=published, author=author or None)  # fmt: skip


def _first_sentence(text: str) -> str:
    sentence = normalize_title(split_sentences(text)[0])
    if len(sentence) <= TITLE_MAX_CHARS:
        return sentence
    cut = sentence[: TITLE_MAX_CHARS - 1].rsplit(" ", 1)[0]
    return cut + "\u2026"


def _as_text(value: Any) -> str:
    """Text from a JSON/feed field that may be a string, number, {"name": ...} object or list of those."""
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict):
        return _as_text(value.get("name") or value.get("value") or value.get("text") or value.get("#text"))
    if isinstance(value, list):
        return ", ".join(t for t in (_as_text(v) for v in value) if t)
    return ""


def _absolute_http(link: str | None, base: str) -> str | None:
    if not link:
        return None
    link = link.strip()
    if base.startswith("http"):
        link = urljoin(base, link)
    return link if link.lower().startswith(("http://", "https://")) and urlsplit(link).hostname else None


def _base_url(path_or_url: str | Path) -> str:
    text = str(path_or_url)
    if isinstance(path_or_url, Path) or "://" not in text:
        return Path(text).resolve().as_uri()
    return text


def _default_source(path_or_url: str | Path) -> str:
    text = str(path_or_url)
    if text.startswith(("http://", "https://")):
        return urlsplit(text).hostname or "web"
    if text.startswith("file://"):
        return _file_uri_to_path(text).stem
    return Path(text).stem


def _file_uri_to_path(uri: str) -> Path:
    from urllib.parse import unquote

    return Path(unquote(urlsplit(uri).path))


def _short(exc: Any) -> str:
    return str(exc).split("\n", 1)[0][:120] or type(exc).__name__
