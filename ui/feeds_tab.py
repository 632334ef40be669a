"""The app's Feeds tab, its background refresher, the "new since you opened the page" note and the date chip.

Pure functions turn feeds, reports and date filters into table rows and HTML (tested without a server);
`FeedsHandlers` turns clicks into calls on NewsQA's feed refresher; `build_feeds_tab` lays out the tab
(gradio is imported only there).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ui.present import esc

log = logging.getLogger("newsrag.app")

FEED_COLUMNS = ["Feed", "URL", "Every", "Last fetch", "Status", "Entries", "Articles", "Next due", "Last error"]
STATUS_EVERY_S = 15  # how often an open page updates its status line


def _when(ts: float | None) -> str:
    if ts is None:
        return "never"
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def feed_rows(feeds: Sequence[Any]) -> list[list[Any]]:
    """Rows for the feeds table: title, URL, interval, last fetch, status, counts, next due, last error."""
    from ingest.feeds import format_interval

    rows = []
    for f in feeds:
        status = "gone (disabled)" if f.disabled else f.last_outcome
        if f.error_count and not f.disabled:
            status += f" ({f.error_count} failures in a row)"
        rows.append(
            [
                f.source or f.title or "(not fetched yet)",
                f.url,
                format_interval(f.every_s),
                _when(f.last_fetch),
                status,
                f.entries,
                f.articles,
                "never" if f.disabled else _when(f.next_due),
                f.last_error,
            ]
        )
    return rows


def feed_choices(feeds: Sequence[Any]) -> list[tuple[str, str]]:
    return [(f"{f.source or f.title or f.url} — {f.url}", f.url) for f in feeds]


def reports_html(reports: Sequence[Any], note: str = "") -> str:
    """What a refresh did, one line per feed, failures with their reasons."""
    if not reports and not note:
        return '<div class="nr-report">No feeds to refresh.</div>'
    bad = any(not r.ok for r in reports)
    items = "".join(
        f"<li>{esc(r.summary())}"
        + "".join(f"<br><small>{esc(item)}: {esc(reason)}</small>" for item, reason in r.entry_errors[:5])
        + "</li>"
        for r in reports
    )
    head = f"<p>{esc(note)}</p>" if note else ""
    return f'<div class="nr-report {"nr-bad" if bad else "nr-ok"}" id="nr-feed-result">{head}<ul>{items}</ul></div>'


def new_articles_note(rows: Sequence[dict], opened_at: float | None) -> str:
    """'3 new articles since you opened this page' (articles stored after `opened_at`), or ''."""
    if not opened_at:
        return ""
    n = sum(1 for r in rows if _instant(r.get("ingested_at")) > opened_at)
    if not n:
        return ""
    return f"{n} new article{'s' if n != 1 else ''} since you opened this page"


def _instant(stamp: str | None) -> float:
    """An ISO timestamp (seconds or milliseconds, as older and newer indexes store it) as a POSIX time; 0 if none."""
    try:
        return datetime.fromisoformat(stamp).timestamp() if stamp else 0.0
    except ValueError:
        return 0.0


def chip_label(found) -> str:
    return f"Dates: {found.describe()}  ✕"


# --- handlers -------------------------------------------------------------------------------------------


class FeedsHandlers:
    """Callbacks of the Feeds tab over one NewsQA (its `feeds` refresher is shared with the background one)."""

    def __init__(self, qa):
        self.qa = qa

    def _table(self):
        import gradio as gr

        feeds = self.qa.feeds.state.all()
        return feed_rows(feeds), gr.update(choices=feed_choices(feeds), value=None)

    def listing(self):
        return self._table()

    def add(self, url: str, every: str, source: str):
        """Subscribe and fetch now; returns (report, table, picker)."""
        import gradio as gr

        from ingest.feeds import parse_interval

        url = (url or "").strip()
        if not url.lower().startswith(("http://", "https://")):
            gr.Warning("Paste the feed's web address, starting with http:// or https://.")
            return gr.skip(), gr.skip(), gr.skip()
        try:
            seconds = parse_interval((every or "").strip() or self.qa.settings.feed_every)
        except ValueError as exc:
            gr.Warning(str(exc))
            return gr.skip(), gr.skip(), gr.skip()
        feed = self.qa.feeds.state.add(url, seconds, source=(source or "").strip())
        report = self.qa.feeds.refresh(feed)
        return (reports_html([report], f"Subscribed to {url}."), *self._table())

    def refresh(self, url: str | None):
        """Refresh the chosen feed now, or every feed when none is chosen."""
        state = self.qa.feeds.state
        feeds = [f for f in state.all() if not f.disabled] if not url else [f for f in state.all() if f.url == url]
        reports = self.qa.feeds.refresh_many(feeds)
        return (reports_html(reports), *self._table())

    def remove(self, url: str | None):
        import gradio as gr

        if not url:
            gr.Warning("Choose a feed first.")
            return gr.skip(), gr.skip(), gr.skip()
        removed = self.qa.feeds.state.remove(url)
        note = f"Unsubscribed from {url}; its articles stay in the library." if removed else "Not subscribed."
        return (f'<div class="nr-report nr-ok">{esc(note)}</div>', *self._table())


def start_background_refresh(qa):
    """Refresh due feeds in a daemon thread while the app runs (off with NEWSRAG_FEED_BACKGROUND=false)."""
    from ingest.scheduler import BackgroundRefresh, Scheduler

    if not qa.settings.feed_background:
        log.info("background feed refresh is off (feed_background)")
        return None
    refresher = qa.feeds
    return BackgroundRefresh(Scheduler(refresher, refresher.state)).start()


# --- layout ---------------------------------------------------------------------------------------------


def build_feeds_tab(qa, after: dict):
    """The Feeds tab (call inside gr.Blocks); `after` is the event (fn, inputs, outputs) that updates the status
    line and source choices once feeds brought articles."""
    import gradio as gr

    h = FeedsHandlers(qa)
    with gr.Tab("Feeds", id="feeds") as tab:
        gr.Markdown(
            "Subscribe to RSS/Atom feeds: newsrag fetches them when due (conditional requests, so an unchanged "
            "feed costs almost nothing) and adds new and changed entries; short entries get their linked page's text."
        )
        with gr.Row():
            url = gr.Textbox(
                label="Feed URL", placeholder="https://example.com/feed.xml", scale=4, elem_id="nr-feed-url"
            )
            every = gr.Textbox(label="Refresh every", value=qa.settings.feed_every, scale=1, elem_id="nr-feed-every")
            source = gr.Textbox(label="Source name (optional)", scale=2, elem_id="nr-feed-source")
        add = gr.Button("Subscribe", variant="primary", elem_id="nr-feed-add")
        table = gr.Dataframe(headers=FEED_COLUMNS, interactive=False, max_height=320, elem_id="nr-feeds-table")
        with gr.Row():
            picker = gr.Dropdown(label="Feed (none: all feeds)", choices=[], scale=4, elem_id="nr-feed-picker")
            refresh = gr.Button("Refresh now", scale=1, elem_id="nr-feed-refresh")
            remove = gr.Button("Unsubscribe", variant="stop", scale=1, elem_id="nr-feed-remove")
        report = gr.HTML(elem_id="nr-feed-report", js_on_load=None)

    outputs = [report, table, picker]
    ingest = dict(api_visibility="private", concurrency_id="ingest", concurrency_limit=1)
    add.click(h.add, [url, every, source], outputs, **ingest).then(**after, api_visibility="private")
    refresh.click(h.refresh, [picker], outputs, **ingest).then(**after, api_visibility="private")
    remove.click(h.remove, [picker], outputs, api_visibility="private")
    tab.select(h.listing, None, [table, picker], api_visibility="private")
    return tab


def wire_date_chip(qa, chip, use_dates, chat_io: dict) -> dict:
    """The chip under the question that shows the date filter read from it; clicking it asks the question
    again without that filter. Returns the event that updates the chip after each answer."""
    import gradio as gr

    question, chatbot, history = chat_io["inputs"][:3]

    def show(history_value, dates_on):
        last = (history_value or [])[-1][0] if history_value else ""
        found = qa.time_filter(last) if last and dates_on is not False else None
        if found is None:
            return gr.update(visible=False), True
        return gr.update(visible=True, value=chip_label(found)), True

    def remove(chat_value, history_value):
        if not history_value:
            return gr.skip(), gr.skip(), gr.skip(), True
        last = history_value[-1][0]
        return list(chat_value or [])[:-2], list(history_value)[:-1], last, False

    chip_io = dict(fn=show, inputs=[history, use_dates], outputs=[chip, use_dates], api_visibility="private",
                   queue=False)  # fmt: skip
    chip.click(remove, [chatbot, history], [chatbot, history, question, use_dates], api_visibility="private",
               queue=False).then(**chat_io).then(**chip_io)  # fmt: skip
    return chip_io


def wire_status_updates(status_fn, status, opened_at):
    """The status line, every STATUS_EVERY_S seconds, with how many articles arrived since the page opened
    (`opened_at`, a gr.State set when the page loads)."""
    import gradio as gr

    timer = gr.Timer(STATUS_EVERY_S)
    timer.tick(status_fn, [opened_at], [status], api_visibility="private", queue=False, show_progress="hidden")
