"""OPML, the file format feed readers use to move subscription lists between them."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

from core.errors import FeedListError as OPMLError

__all__ = ["OPMLError", "OutlineFeed", "read_opml", "write_opml"]

_ENTITY = re.compile(rb"<!(ENTITY|DOCTYPE)", re.I)


@dataclass
class OutlineFeed:
    url: str
    title: str = ""
    category: str = ""  # the enclosing folder's title, if any


def read_opml(data: bytes) -> list[OutlineFeed]:
    """Every outline with an xmlUrl, in nested folders too (the folder name becomes its category)."""
    if _ENTITY.search(data[:65536]):
        raise OPMLError("the OPML file declares a DOCTYPE or entities; refused")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise OPMLError(f"not valid XML ({exc})") from None
    if root.tag.lower() != "opml":
        raise OPMLError(f"not an OPML file (its root element is <{root.tag}>)")
    body = root.find("body")
    if body is None:
        raise OPMLError("the OPML file has no <body>")
    feeds: list[OutlineFeed] = []
    seen: set[str] = set()

    def walk(node: ET.Element, folder: str) -> None:
        for outline in node.findall("outline"):
            url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
            title = (outline.get("title") or outline.get("text") or "").strip()
            if url and url not in seen:
                seen.add(url)
                feeds.append(OutlineFeed(url, title, folder))
            walk(outline, title if not url else folder)

    walk(body, "")
    return feeds


def write_opml(feeds: list[OutlineFeed], title: str = "newsrag subscriptions") -> bytes:
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(datetime.now(UTC))
    body = ET.SubElement(root, "body")
    for feed in feeds:
        name = feed.title or feed.url
        ET.SubElement(body, "outline", type="rss", text=name, title=name, xmlUrl=feed.url)
    ET.indent(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"
