"""Markup to plain text: HTML fragments (feed and JSON content), Markdown, and HTML page metadata.

All of it uses the standard library's streaming `html.parser`, which never recurses, so hostile markup
(10,000 nested <div>s, unclosed tags) cannot crash it; script and style contents are dropped.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

__all__ = ["html_to_text", "markdown_to_text", "scan_html_metadata"]

_DROP = {"script", "style", "noscript", "template", "svg", "math", "iframe", "object", "head", "select"}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
_BLOCK = {
    "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "article", "section",
    "blockquote", "pre", "header", "footer", "figure", "figcaption", "dd", "dt", "hr", "main", "aside", "nav",
}  # fmt: skip


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.dropping: list[str] = []
        self.pre = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag == "pre":
            self.pre += 1
        if tag == "body" and "head" in self.dropping:  # pages that never close <head>
            del self.dropping[self.dropping.index("head") :]
        if tag in _DROP and tag not in _VOID:
            self.dropping.append(tag)
        elif tag in _BLOCK and not self.dropping:
            self.parts.append("\n\n" if tag != "br" else "\n")

    def handle_startendtag(self, tag: str, attrs) -> None:
        if tag in _BLOCK and not self.dropping:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre":
            self.pre = max(0, self.pre - 1)
        if self.dropping and tag == self.dropping[-1]:
            self.dropping.pop()
        elif tag in self.dropping:  # unbalanced markup: close up to the matching drop tag
            del self.dropping[self.dropping.index(tag) :]
        elif tag in _BLOCK and not self.dropping:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.dropping:
            # Line breaks in the HTML source are formatting, not text; only <pre> keeps them.
            self.parts.append(data if self.pre else re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """Visible text of an HTML fragment or page, block elements as paragraphs; not yet normalized."""
    parser = _TextExtractor()
    try:
        parser.feed(html)
        parser.close()
    except AssertionError:  # html.parser asserts on some malformed declarations; keep what was read
        pass
    text = "\n".join(line.strip() for line in "".join(parser.parts).split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


_MD_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^\s{0,3}```[^\n]*$|^\s{0,3}~~~[^\n]*$", re.M), ""),  # fence lines; the code stays as text
    (re.compile(r"!\[([^\]\n]*)\]\([^)\n]*\)"), ""),  # images
    (re.compile(r"!\[([^\]\n]*)\]\[[^\]\n]*\]"), ""),
    (re.compile(r"\[([^\]\n]+)\]\([^)\n]*\)"), r"\1"),  # [text](url)
    (re.compile(r"\[([^\]\n]+)\]\[[^\]\n]*\]"), r"\1"),  # [text][ref]
    (re.compile(r"^\s{0,3}\[[^\]\n]+\]:\s*\S+.*$", re.M), ""),  # reference definitions
    (re.compile(r"<((?:https?|mailto):[^>\s]+)>"), r"\1"),  # autolinks
    (re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$", re.M), r"\1"),  # ATX headings
    (re.compile(r"^\s{0,3}(?:[-*_]\s*){3,}$", re.M), ""),  # horizontal rules
    (re.compile(r"^\s{0,3}(?:=+|-+)\s*$", re.M), ""),  # setext heading underlines
    (re.compile(r"^\s{0,3}>\s?", re.M), ""),  # block quotes
    (re.compile(r"^(\s*)[-*+]\s+", re.M), r"\1"),  # bullets
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),  # strong
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])"), r"\1"),  # *emphasis*
    (re.compile(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])"), r"\1"),  # _emphasis_ (not snake_case)
    (re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"), r"\1"),  # strikethrough
    (re.compile(r"`([^`\n]+)`"), r"\1"),  # inline code
]


def markdown_to_text(markdown: str) -> str:
    """Markdown to plain text: links become their text, images and markers go, code stays as text."""
    text = markdown
    for pattern, replacement in _MD_RULES:
        text = pattern.sub(replacement, text)
    return text


_DATE_KEYS = (
    "article:published_time", "og:published_time", "datepublished", "date", "pubdate", "publishdate",
    "publish-date", "dc.date", "dc.date.issued", "dcterms.created", "sailthru.date", "parsely-pub-date",
    "article.published", "published_time", "article:modified_time", "datemodified",
)  # fmt: skip


class _MetaScanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.canonical: str | None = None
        self.in_title = False
        self.title = ""
        self.time: str | None = None
        self.ld_json: list[str] = []
        self.in_ld = False

    def handle_starttag(self, tag: str, attrs) -> None:
        values = {k.lower(): (v or "") for k, v in attrs}
        if tag == "meta":
            name = (values.get("property") or values.get("name") or values.get("itemprop") or "").strip().lower()
            if name and values.get("content") and name not in self.meta:
                self.meta[name] = values["content"].strip()
        elif tag == "link" and "canonical" in values.get("rel", "").lower().split() and values.get("href"):
            self.canonical = self.canonical or values["href"].strip()
        elif tag == "title" and not self.title:
            self.in_title = True
        elif tag == "time" and self.time is None and values.get("datetime"):
            self.time = values["datetime"]
        elif tag == "script" and values.get("type", "").lower() == "application/ld+json":
            self.in_ld = True
            self.ld_json.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        elif tag == "script":
            self.in_ld = False

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title += data
        elif self.in_ld and self.ld_json:
            self.ld_json[-1] += data


def scan_html_metadata(html: str) -> dict[str, str]:
    """Title, site name, publication time, author and canonical link from meta tags and JSON-LD.

    trafilatura finds these too, but keeps only the day of the date; we want the time and zone when present.
    """
    scanner = _MetaScanner()
    try:
        scanner.feed(html[:2_000_000])
        scanner.close()
    except AssertionError:
        pass
    meta = scanner.meta
    ld = _ld_fields(scanner.ld_json)
    found = {
        "title": meta.get("og:title") or meta.get("twitter:title") or ld.get("headline"),
        "html_title": " ".join(scanner.title.split()),
        "site_name": meta.get("og:site_name") or meta.get("application-name") or ld.get("publisher"),
        "published": ld.get("datePublished")
        or next((meta[k] for k in _DATE_KEYS if meta.get(k)), None)
        or scanner.time,
        "author": meta.get("author") or meta.get("article:author") or meta.get("dc.creator") or ld.get("author"),
        "canonical": scanner.canonical or meta.get("og:url"),
    }
    return {k: v for k, v in found.items() if v}


def _ld_fields(blocks: list[str]) -> dict[str, str]:
    """headline/datePublished/author/publisher from the first JSON-LD object that has them."""
    fields: dict[str, str] = {}
    for block in blocks:
        try:
            data = json.loads(block)
        except ValueError:
            continue
        items = data if isinstance(data, list) else data.get("@graph", [data]) if isinstance(data, dict) else []
        for item in items:
            if not isinstance(item, dict):
                continue
            for key in ("headline", "datePublished", "author", "publisher"):
                value = item.get(key)
                if isinstance(value, list) and value:
                    value = value[0]
                if isinstance(value, dict):
                    value = value.get("name")
                if isinstance(value, str) and value.strip() and key not in fields:
                    fields[key] = value.strip()
    return fields
