"""What the app shows, as pure functions: Answer -> chat message and source cards, index tables, reports.

Article text, titles and URLs are untrusted (anyone can publish a page we ingest), and so is
model output, which may repeat them. Every string that reaches HTML is escaped here, and only
http(s) URLs become links. No gradio import: all of this is tested without a server.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from core.dates import format_day as format_date
from core.types import Answer, Citation, Passage, Story

REFUSAL_TITLE = "Not in the indexed articles"
EXAMPLE_QUESTIONS = [
    "Why are Alibaba and Baidu training AI on their own chips?",
    "Why did the US cyber security chief resign?",
    "How are mobile phones being used as bus tickets?",
    "Why did Valve's ban hit Half-Life 2 pirates hard?",
]
UPLOAD_SUFFIXES = (".txt", ".md", ".html", ".htm", ".json", ".jsonl", ".xml", ".rss", ".atom")

_MARKER_RE = re.compile(r"\[(\d{1,3})\]")


# --- small pieces ------------------------------------------------------------------------------


def esc(value: Any) -> str:
    """HTML-escape anything (None -> empty), quotes included so the result is safe in attributes."""
    return html.escape("" if value is None else str(value), quote=True)


def safe_url(url: str | None) -> str | None:
    """The URL if it is an http(s) link with a host, else None (file:, javascript:, data: never become links)."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if any(c in url for c in "\x00\r\n\t<>\"' "):
        return None
    return url


def link(url: str | None, text: str, *, css: str = "") -> str:
    """An escaped external link when the URL is http(s); otherwise just the escaped text."""
    href = safe_url(url)
    cls = f' class="{esc(css)}"' if css else ""
    if href is None:
        return f"<span{cls}>{esc(text)}</span>"
    return f'<a{cls} href="{esc(href)}" target="_blank" rel="noopener noreferrer nofollow">{esc(text)}</a>'


def url_label(url: str | None) -> str:
    """How a link that is not clickable is shown: a local file by its name only (server paths stay private)."""
    if not url:
        return ""
    if url.lower().startswith("file:"):
        name = unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])
        return f"local file: {name}"
    return url


def file_size(n_bytes: int) -> str:
    """'19.5 KB', '25.3 MB': sizes people can compare with the upload limit."""
    if n_bytes < 1024 * 1024:
        return f"{n_bytes / 1024:.1f} KB"
    return f"{n_bytes / 1024 / 1024:.1f} MB"


def _passage_title(passage: Passage) -> str:
    return passage.title.strip() or "Untitled article"


# --- evidence highlighting ---------------------------------------------------------------------


def _find(text: str, sentence: str) -> tuple[int, int] | None:
    """Where sentence occurs in text, tolerating different whitespace; None if it does not."""
    sentence = sentence.strip()
    if not sentence:
        return None
    at = text.find(sentence)
    if at >= 0:
        return at, at + len(sentence)
    words = sentence.split()
    pattern = r"\s+".join(re.escape(w) for w in words)
    m = re.search(pattern, text)
    return (m.start(), m.end()) if m else None


def _spans(text: str, evidence: Iterable[str]) -> list[tuple[int, int]]:
    return sorted(s for s in (_find(text, e) for e in evidence) if s)


def highlight(text: str, evidence: Iterable[str]) -> str:
    """The passage escaped, with each evidence sentence found in it wrapped in <mark>."""
    spans = _spans(text, evidence)
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, pos = [], 0
    for start, end in merged:
        out.append(esc(text[pos:start]))
        out.append(f"<mark>{esc(text[start:end])}</mark>")
        pos = end
    out.append(esc(text[pos:]))
    return "".join(out)


EXCERPT_CHARS = 700  # longer passages show the evidence with some context, the rest on request
CONTEXT_CHARS = 220


def excerpt(text: str, evidence: Sequence[str]) -> str:
    """A long passage cut to its evidence plus a sentence or so around it ("…" where cut), highlighted."""
    spans = _spans(text, evidence)
    if len(text) <= EXCERPT_CHARS or not spans:
        return highlight(text, evidence)
    start, end = _start_before(text, spans[0][0]), _end_after(text, max(e for _, e in spans))
    before = "… " if start > 0 else ""
    after = " …" if end < len(text) else ""
    return f"{before}{highlight(text[start:end].strip(), evidence)}{after}"


def _start_before(text: str, pos: int) -> int:
    """Where to start showing text before pos: a sentence start within reach, else a word start."""
    lo = pos - CONTEXT_CHARS
    if lo <= 0:
        return 0
    ends = list(re.finditer(r"[.!?][\"'”’)]*\s+", text[lo:pos]))
    if len(ends) >= 2:  # keep the sentence before the evidence whole
        return lo + ends[-2].end()
    space = text.find(" ", lo)
    return space + 1 if 0 <= space < pos else pos


def _end_after(text: str, pos: int) -> int:
    """Where to stop showing text after pos: the end of the next sentence within reach, else a word end."""
    hi = pos + CONTEXT_CHARS
    if hi >= len(text):
        return len(text)
    m = re.search(r"[.!?][\"'”’)]*(?=\s|$)", text[pos + 1 : hi])
    if m:
        return pos + 1 + m.end()
    space = text.rfind(" ", pos, hi)
    return space if space > pos else hi


# --- chat messages -----------------------------------------------------------------------------


def _answer_text_html(text: str, citations: Mapping[int, Citation], turn: int) -> str:
    """Escaped answer text whose [n] markers become links to source card n; other brackets are defused.

    Brackets are turned into entities so that nothing in the model's text can form a Markdown
    link or image; our markers are inserted as HTML after escaping.
    """
    pieces, pos = [], 0
    for m in _MARKER_RE.finditer(text):
        pieces.append(_defuse(text[pos : m.start()]))
        n = int(m.group(1))
        citation = citations.get(n)
        if citation is None:
            pieces.append(_defuse(m.group(0)))
        else:
            title = esc(_passage_title(citation.passage))
            pieces.append(f'<a class="nr-cite" href="#nr-src-{turn}-{n}" title="{title}">[{n}]</a>')
        pos = m.end()
    pieces.append(_defuse(text[pos:]))
    return "".join(pieces)


def _defuse(text: str) -> str:
    """Escape for HTML and neutralise Markdown link/image syntax and LaTeX delimiters."""
    out = esc(text).replace("[", "&#91;").replace("]", "&#93;").replace("$", "&#36;")
    return out.replace("\n", "<br>")


def answer_message(answer: Answer, turn: int = 0) -> str:
    """The assistant's chat message for a final Answer: linked markers and a short source list, or a refusal."""
    if answer.refused:
        detail = f" {_defuse(answer.refusal_detail)}" if answer.refusal_detail else ""
        return (
            f'<div class="nr-refusal"><strong>🚫 {REFUSAL_TITLE}.</strong> {_defuse(answer.text.strip())}{detail}'
            "<br><small>Try other words, widen the date range or the sources, or add articles on the Add news tab."
            "</small></div>"
        )
    by_number = {c.number: c for c in answer.citations}
    body = _timeline_html(answer, by_number, turn) if answer.timeline else ""
    body = body or _answer_text_html(answer.text.strip(), by_number, turn)
    if not answer.citations:
        return f'<div class="nr-answer">{body}</div>'
    items = "".join(
        f"<li>[{c.number}] {link(c.passage.url, _passage_title(c.passage))}"
        f" <small>— {esc(c.passage.source)}, {esc(format_date(c.passage.published))}</small></li>"
        for c in answer.citations
    )
    return f'<div class="nr-answer">{body}</div><ul class="nr-footnotes">{items}</ul>'


def _timeline_html(answer: Answer, citations: Mapping[int, Citation], turn: int) -> str:
    """A timeline answer as a list of dated events (the date apart from the text), then any closing note
    (the reports differ) as plain answer text."""
    items = "".join(
        f'<li><span class="nr-when">{esc(format_date(event.date) if event.date else "undated")}</span> '
        f"{_answer_text_html(event.text, citations, turn)}</li>"
        for event in answer.timeline
    )
    lines = answer.text.strip().split("\n")
    rest = " ".join(line for line in lines[len(answer.timeline) :] if line.strip())
    note = f'<div class="nr-note">{_answer_text_html(rest, citations, turn)}</div>' if rest else ""
    return f'<ol class="nr-timeline">{items}</ol>{note}'


def streaming_message(partial: str) -> str:
    """The message while the model is still writing: escaped raw text and a cursor."""
    return f'<div class="nr-answer nr-streaming">{_defuse(partial.strip())} ▌</div>'


def thinking_message() -> str:
    return '<div class="nr-answer nr-streaming"><em>Searching the articles…</em></div>'


def error_message(text: str) -> str:
    return f'<div class="nr-error">⚠️ {_defuse(text)}</div>'


# --- sources panel -----------------------------------------------------------------------------

SOURCES_PLACEHOLDER = (
    '<div class="nr-sources-empty">Sources appear here: for each passage an answer cites, its article, '
    "date, a link to the original and the supporting sentences highlighted.</div>"
)


def also_reported(passage: Passage) -> str:
    """'also reported by 2 sources: Reuters, The Verge' for a passage standing for copies of its text, else ''."""
    names = passage.also_reported_by
    if not names:
        return ""
    return f"also reported by {_plural(len(names), 'source')}: {', '.join(names)}"


def _also_html(passage: Passage) -> str:
    note = also_reported(passage)
    return f'<div class="nr-also">{esc(note)}</div>' if note else ""


def _card(citation: Citation, turn: int) -> str:
    p = citation.passage
    url_line = "" if safe_url(p.url) else f'<div class="nr-url nr-url-plain">{esc(url_label(p.url))}</div>'
    return (
        f'<div class="nr-card" id="nr-src-{turn}-{citation.number}">'
        f'<div class="nr-card-head"><span class="nr-num">[{citation.number}]</span> '
        f"{link(p.url, _passage_title(p), css='nr-title')}</div>"
        f'<div class="nr-meta">{esc(p.source or "unknown source")} · {esc(format_date(p.published))}'
        f" · relevance {p.score:.2f}</div>"
        f"{url_line}{_also_html(p)}"
        f'<div class="nr-passage">{excerpt(p.text, citation.evidence)}</div>'
        f"{_whole_passage(p.text, citation.evidence)}"
        "</div>"
    )


def _whole_passage(text: str, evidence: Sequence[str]) -> str:
    if len(text) <= EXCERPT_CHARS or not _spans(text, evidence):
        return ""
    return f'<details class="nr-whole"><summary>Whole passage</summary><div class="nr-passage">{highlight(text, evidence)}</div></details>'


def _retrieved_list(passages: Sequence[Passage], summary: str) -> str:
    if not passages:
        return ""
    items = "".join(
        f"<li>{link(p.url, _passage_title(p))} <small>— {esc(p.source)}, {esc(format_date(p.published))},"
        f" relevance {p.score:.2f}</small>{_also_html(p)}<div class='nr-snippet'>{esc(_snippet(p.text))}</div></li>"
        for p in passages
    )
    return f'<details class="nr-retrieved"><summary>{esc(summary)}</summary><ul>{items}</ul></details>'


def _snippet(text: str, limit: int = 240) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


def sources_html(answer: Answer | None, turn: int = 0) -> str:
    """The panel beside the chat: one card per cited passage, evidence highlighted; refusals say why."""
    if answer is None:
        return SOURCES_PLACEHOLDER
    head = f'<div class="nr-sources-for">Sources for: <q>{esc(answer.question)}</q>'
    if answer.standalone_question:
        head += f"<br><small>searched as: <q>{esc(answer.standalone_question)}</q></small>"
    head += "</div>"
    if answer.refused:
        why = {
            "low_relevance": "No indexed passage was relevant enough to answer from.",
            "no_passages": "No passage matched the question and filters.",
            "model_declined": "The passages found do not contain the answer.",
            "unsupported": "The model's answer was not supported by the passages, so it was withheld.",
            "not_addressed": "The passages found discuss the subject but do not give what was asked.",
        }.get(answer.refusal_reason or "", "The indexed articles do not answer this.")
        if answer.refusal_detail:
            why = answer.refusal_detail
        return (
            head
            + f'<div class="nr-refusal-note">🚫 {REFUSAL_TITLE}. {esc(why)}</div>'
            + _retrieved_list(answer.passages, f"Closest passages found ({len(answer.passages)})")
        )
    cited = {c.passage.chunk_id or id(c.passage) for c in answer.citations}
    others = [p for p in answer.passages if (p.chunk_id or id(p)) not in cited]
    cards = "".join(_card(c, turn) for c in answer.citations)
    return head + cards + _retrieved_list(others, f"Also retrieved, not cited ({len(others)})")


# --- library and ingestion ---------------------------------------------------------------------


def status_line(stats: Mapping[str, Any], note: str = "") -> str:
    """One line over the app: what the index holds."""
    if not stats.get("articles"):
        text = "The index is empty: add articles on the Add news tab."
    else:
        span = ""
        earliest, latest = format_date(stats.get("earliest")), format_date(stats.get("latest"))
        if stats.get("earliest"):
            span = f", {earliest}" if earliest == latest else f", {earliest} – {latest}"
        text = (
            f"{stats['articles']} articles · {stats.get('chunks', 0)} passages · "
            f"{len(stats.get('sources') or {})} sources{span}"
        )
    if note:
        text += f" · {note}"
    return f'<div class="nr-status">{esc(text)}</div>'


def stats_html(stats: Mapping[str, Any]) -> str:
    """Index statistics for the Library tab."""
    rows = [
        ("Articles", stats.get("articles", 0)),
        ("Passages (chunks)", stats.get("chunks", 0)),
        ("Earliest", format_date(stats.get("earliest")) if stats.get("earliest") else "—"),
        ("Latest", format_date(stats.get("latest")) if stats.get("latest") else "—"),
        ("Undated articles", stats.get("undated", 0)),
    ]
    table = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    sources = "".join(
        f"<tr><td>{esc(name or 'unknown')}</td><td>{esc(count)}</td></tr>"
        for name, count in sorted((stats.get("sources") or {}).items(), key=lambda kv: (-kv[1], kv[0]))
    )
    return (
        f'<div class="nr-stats"><table class="nr-table">{table}</table>'
        f'<table class="nr-table"><tr><th>Source</th><th>Articles</th></tr>{sources}</table></div>'
    )


ARTICLE_COLUMNS = ["Title", "Source", "Published", "Added", "Passages", "Id"]


def article_rows(rows: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
    """Rows for the article table (plain strings: the table shows them as text)."""
    return [
        [
            r.get("title") or "Untitled article",
            r.get("source") or "",
            format_date(r.get("published")) if r.get("published") else "undated",
            (r.get("ingested_at") or "")[:16].replace("T", " "),
            r.get("n_chunks") or 0,
            r.get("id", ""),
        ]
        for r in rows
    ]


def article_choices(rows: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(label, id) pairs for the article picker."""
    out = []
    for r in rows:
        title = r.get("title") or "Untitled article"
        when = format_date(r.get("published")) if r.get("published") else "undated"
        out.append((f"{title} — {r.get('source') or 'unknown'}, {when}", r.get("id", "")))
    return out


def article_html(row: Mapping[str, Any] | None, text: str) -> str:
    """An opened article: metadata and its full text, escaped (scripts and markup show as text)."""
    if row is None:
        return '<div class="nr-article-empty">This article is no longer in the index.</div>'
    when = format_date(row.get("published")) if row.get("published") else "undated"
    url = row.get("url") or ""
    url_html = link(url, url) if safe_url(url) else esc(url_label(url))
    return (
        '<div class="nr-article">'
        f'<h3 class="nr-article-title">{esc(row.get("title") or "Untitled article")}</h3>'
        f'<div class="nr-meta">{esc(row.get("source") or "unknown source")} · {esc(when)} · '
        f"{esc(_plural(row.get('n_chunks') or 0, 'passage'))}</div>"
        f'<div class="nr-url">{url_html}</div>'
        f'<div class="nr-article-text">{esc(text)}</div>'
        "</div>"
    )


STORY_COLUMNS = ["Story", "First", "Last", "Articles", "Sources", "Id"]


def story_rows(stories: Sequence[Story]) -> list[list[Any]]:
    """Rows for the story table."""
    return [
        [
            s.title or "Untitled story",
            format_date(s.first) if s.first else "undated",
            format_date(s.last) if s.last else "undated",
            len(s.articles),
            ", ".join(s.sources),
            s.story_id,
        ]
        for s in stories
    ]


def story_choices(stories: Sequence[Story]) -> list[tuple[str, str]]:
    """(label, id) pairs for the story picker."""
    return [(f"{s.title or 'Untitled story'} — {_plural(len(s.articles), 'article')}", s.story_id) for s in stories]


def story_html(story: Story | None) -> str:
    """An opened story: its articles in date order, each with its source, date and link."""
    if story is None:
        return '<div class="nr-article-empty">This story is no longer in the index.</div>'
    span = format_date(story.first) if story.first else "undated"
    if story.last and story.last != story.first:
        span += f" – {format_date(story.last)}"
    items = "".join(
        f'<li class="nr-story-article">{link(a.get("url"), a.get("title") or "Untitled article")} '
        f"<small>— {esc(a.get('source') or 'unknown source')}, "
        f"{esc(format_date(a['published']) if a.get('published') else 'undated')}</small></li>"
        for a in story.articles
    )
    return (
        '<div class="nr-story">'
        f'<h3 class="nr-article-title">{esc(story.title or "Untitled story")}</h3>'
        f'<div class="nr-meta">{esc(span)} · {esc(_plural(len(story.articles), "article"))} · '
        f"{esc(', '.join(story.sources) or 'unknown source')}</div>"
        f'<ol class="nr-story-articles">{items}</ol>'
        "</div>"
    )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _items(title: str, items: Sequence[str]) -> str:
    if not items:
        return ""
    lis = "".join(f"<li>{esc(i)}</li>" for i in items[:50])
    more = f"<li>… and {len(items) - 50} more</li>" if len(items) > 50 else ""
    return f"<details><summary>{esc(title)} ({len(items)})</summary><ul>{lis}{more}</ul></details>"


def item_label(item: str) -> str:
    """An ingested item as shown to users: web addresses in full, local files by name (server paths stay private)."""
    if item.lower().startswith(("http://", "https://")):
        return item
    if item.lower().startswith("file:"):
        return url_label(item).removeprefix("local file: ")
    if item.startswith("/"):
        path, _, line = item.rpartition(":")  # "path:LINE" names a bad JSONL line
        if not line.isdigit():
            path, line = item, ""
        name = path.rsplit("/", 1)[-1]
        return f"{name}:{line}" if line else name
    return item


def report_html(report: Any, rejected: Sequence[tuple[str, str]] = ()) -> str:
    """An ingestion report for people: counts first, then every failure and skip with its reason.

    `rejected` are uploads the app refused before ingestion (too large, wrong type).
    """
    failed = list(rejected) + [(item_label(i), r) for i, r in report.failed]
    counts = [
        ("added", len(report.added)),
        ("updated", len(report.updated)),
        ("unchanged", len(report.unchanged)),
        ("duplicates", len(report.duplicates)),
        ("failed", len(failed)),
        ("skipped", len(report.skipped)),
    ]
    verdict = "nr-ok" if not failed else "nr-bad"
    summary = ", ".join(f"{n} {label}" for label, n in counts)
    parts = [
        f'<div class="nr-report {verdict}"><strong>{esc(summary)}</strong>'
        f" <small>({_plural(report.chunks_added, 'passage')} embedded in {report.seconds:.1f} s)</small>"
    ]
    if failed:
        lis = "".join(f"<li><strong>{esc(item)}</strong>: {esc(reason)}</li>" for item, reason in failed)
        parts.append(f'<div class="nr-failed">Failed:<ul>{lis}</ul></div>')
    if report.skipped:
        lis = "".join(f"<li>{esc(item_label(item))}: {esc(reason)}</li>" for item, reason in report.skipped)
        parts.append(f"<div>Skipped:<ul>{lis}</ul></div>")
    if report.duplicates:
        lis = "".join(
            f"<li>{esc(item_label(item))} repeats {esc(item_label(original))}</li>"
            for item, original in report.duplicates
        )
        parts.append(f"<div>Duplicates (not stored again):<ul>{lis}</ul></div>")
    for title, items in (("Added", report.added), ("Updated", report.updated), ("Unchanged", report.unchanged)):
        parts.append(_items(title, [item_label(i) for i in items]))
    parts.append("</div>")
    return "".join(parts)
