"""The web app: chat with cited answers, filters, a library of the indexed articles, and adding news.

`python app.py` (or `newsrag serve`, `make run`) serves it on 127.0.0.1 over the data directory,
indexing the bundled sample corpus first when the index is empty. The UI stays thin: rendering
lives in ui.present (pure, tested without a server), answering in rag.api.NewsQA.
"""

import argparse
import logging
import os
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no network here; gradio reads it on import

from ui import present  # noqa: E402

log = logging.getLogger("newsrag.app")

TITLE = "newsrag"
SUBTITLE = "Ask questions about tech news. Every answer cites the articles it comes from."
CHAT_CONCURRENCY = 4  # questions answered at once; the local LLM serialises generation itself
CSS = """
.nr-header h1 { margin-bottom: 0; }
.nr-status { color: var(--body-text-color-subdued); font-size: 0.9em; }
.nr-cite { font-weight: 600; text-decoration: none; color: var(--color-accent) !important; }
.nr-footnotes { font-size: 0.85em; margin-top: 0.4em; list-style: none; padding-left: 0; }
.nr-timeline { padding-left: 1.2em; margin: 0.2em 0; }
.nr-timeline .nr-when { font-weight: 600; font-variant-numeric: tabular-nums; margin-right: 0.4em; }
.nr-refusal { border-left: 4px solid #d97706; padding: 0.3em 0.7em; background: rgba(217,119,6,0.08); }
.nr-error { border-left: 4px solid #dc2626; padding: 0.3em 0.7em; }
.nr-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 0.6em 0.8em; margin-bottom: 0.7em; }
.nr-card:target { outline: 2px solid var(--color-accent); }
.nr-card-head { font-weight: 600; }
.nr-num { color: var(--color-accent); margin-right: 0.2em; }
.nr-meta, .nr-url { color: var(--body-text-color-subdued); font-size: 0.85em; }
.nr-url-plain { word-break: break-all; }
.nr-passage { white-space: pre-wrap; font-size: 0.9em; margin-top: 0.4em; max-height: 16em; overflow-y: auto; }
.nr-passage mark { background: #fde68a; color: #111; padding: 0 1px; }
.nr-sources-for { font-size: 0.9em; margin-bottom: 0.5em; }
.nr-refusal-note { border-left: 4px solid #d97706; padding: 0.3em 0.7em; margin-bottom: 0.5em; }
.nr-retrieved { font-size: 0.85em; }
.nr-snippet { color: var(--body-text-color-subdued); }
.nr-article-text { white-space: pre-wrap; max-height: 32em; overflow-y: auto; }
.nr-table th { text-align: left; padding-right: 1em; }
.nr-stats { display: flex; gap: 2em; flex-wrap: wrap; }
.nr-report.nr-ok { border-left: 4px solid #16a34a; padding-left: 0.7em; }
.nr-report.nr-bad { border-left: 4px solid #dc2626; padding-left: 0.7em; }
"""


# --- handlers: each turns UI values into one NewsQA call and the result into UI values ---------


def _user_error(exc: Exception) -> str:
    """A message for people: our typed errors already say what to do; anything else stays in the log."""
    from core.errors import GENERIC_MESSAGE, user_message

    return user_message(exc) or GENERIC_MESSAGE


def _page_opened() -> float:
    """When a page loaded (a plain function: gradio inspects its handlers' signatures; builtins have none)."""
    return time.time()


def _filters(k: float | None, sources: list[str] | None, since: str | None, until: str | None) -> dict[str, Any]:
    """UI filter values -> NewsQA keyword arguments; a bad date raises DateError with the fix."""
    from core.dates import parse_day

    return {
        "k": int(k) if k else None,
        "sources": list(sources) if sources else None,
        "since": parse_day(since, "From date"),
        "until": parse_day(until, "To date"),
    }


class Handlers:
    """The app's callbacks around one NewsQA. Per-user state arrives as arguments (gr.State), never on self."""

    def __init__(self, qa, note: str = ""):
        self.qa = qa
        self.note = note

    # chat -----------------------------------------------------------------

    def respond(self, message, chat, history, k, sources, since, until, use_dates=True):
        """Stream one answer into the chat; yields (chat, history, sources panel, textbox). `use_dates` False:
        the user removed the date chip, so dates in the question do not filter."""
        import gradio as gr

        message = (message or "").strip()
        chat, history = list(chat or []), list(history or [])
        if not message:
            gr.Warning("Type a question first.")
            yield chat, history, gr.skip(), ""
            return
        try:
            filters = _filters(k, sources, since, until)
        except ValueError as exc:
            gr.Warning(str(exc))
            yield chat, history, gr.skip(), message
            return
        turn = len(history)
        asked = [*chat, {"role": "user", "content": present.esc(message)}]

        def showing(content: str) -> list[dict]:
            return [*asked, {"role": "assistant", "content": content}]  # a new list each time: no shared state

        yield showing(present.thinking_message()), history, gr.skip(), ""
        partial, answer = "", None
        try:
            for piece in self.qa.stream(message, history=history or None, understand_time=use_dates, **filters):
                if isinstance(piece, str):
                    partial += piece
                    yield showing(present.streaming_message(partial)), history, gr.skip(), ""
                else:
                    answer = piece
        except Exception as exc:
            log.exception("answering %r failed", message)
            text = _user_error(exc)
            gr.Warning(text)
            yield showing(present.error_message(text)), history, gr.skip(), ""
            return
        if answer is None:  # a stream that ended without its Answer: a bug, but not the user's problem
            log.error("stream for %r ended without an Answer", message)
            yield showing(present.error_message(_user_error(RuntimeError()))), history, gr.skip(), ""
            return
        history = [*history, (message, answer.text)]
        yield showing(present.answer_message(answer, turn)), history, present.sources_html(answer, turn), ""

    def ask_api(
        self, question: str, k: int = 5, sources: list[str] | None = None, since: str = "", until: str = ""
    ) -> dict:
        """Answer one question; returns the Answer as JSON (text with [n] markers, citations with their passages)."""
        import gradio as gr

        if not (question or "").strip():
            raise gr.Error("The question is empty.")
        try:
            filters = _filters(k, sources, since, until)
            return self.qa.ask(question.strip(), **filters).to_dict()
        except Exception as exc:
            log.exception("API question %r failed", question)
            raise gr.Error(_user_error(exc)) from None

    # index views -------------------------------------------------------------

    def status(self, opened_at: float | None = None) -> str:
        try:
            from ui.feeds_tab import new_articles_note

            fresh = new_articles_note(self.qa.articles(limit=10**9), opened_at) if opened_at else ""
            return present.status_line(self.qa.stats(), " · ".join(n for n in (self.note, fresh) if n))
        except Exception:
            log.exception("reading index stats failed")
            return present.status_line({}, "the index could not be read; see the server log")

    def source_choices(self, selected=None):
        import gradio as gr

        choices = self.qa.sources()
        return gr.update(choices=choices, value=[s for s in (selected or []) if s in choices])

    def refresh(self, selected_sources=None, opened_at: float | None = None):
        """Everything that changes when articles are added or deleted."""
        return self.status(opened_at), self.source_choices(selected_sources)

    def library(self, query="", sort="Published"):
        import gradio as gr

        try:
            rows = self.qa.articles(query or "", limit=500, sort="added" if sort == "Date added" else "published")
            stats = present.stats_html(self.qa.stats())
        except Exception as exc:
            log.exception("listing articles failed")
            raise gr.Error(_user_error(exc)) from None
        table = present.article_rows(rows)
        choices = present.article_choices(rows)
        return stats, table, gr.update(choices=choices, value=None)

    def stories(self, query=""):
        """The story table and picker: stories of more than one article (single articles are in the table above)."""
        import gradio as gr

        try:
            found = self.qa.stories(query or "", limit=500, min_articles=2)
        except Exception as exc:
            log.exception("listing stories failed")
            raise gr.Error(_user_error(exc)) from None
        return present.story_rows(found), gr.update(choices=present.story_choices(found), value=None)

    def open_story(self, story_id):
        import gradio as gr

        if not story_id:
            gr.Warning("Choose a story first.")
            return gr.skip()
        try:
            story = self.qa.story(story_id)
        except Exception as exc:
            log.exception("opening story %s failed", story_id)
            raise gr.Error(_user_error(exc)) from None
        return present.story_html(story)

    def pick_row(self, table, evt):
        """A click in the article table selects that row's article in the picker."""
        try:
            row = evt.index[0]
            return table.iloc[row, -1] if hasattr(table, "iloc") else table[row][-1]
        except (IndexError, KeyError, TypeError, AttributeError):
            return None

    def open_article(self, article_id):
        import gradio as gr

        if not article_id:
            gr.Warning("Choose an article first.")
            return gr.skip()
        try:
            row = next((r for r in self.qa.articles(limit=10**9) if r["id"] == article_id), None)
            text = self.qa.article_text(article_id) if row else ""
        except Exception as exc:
            log.exception("opening article %s failed", article_id)
            raise gr.Error(_user_error(exc)) from None
        return present.article_html(row, text)

    def delete_article(self, article_id, query, selected_sources, opened_at=None):
        import gradio as gr

        if not article_id:
            gr.Warning("Choose an article to delete first.")
            return (gr.skip(),) * 6
        try:
            deleted = self.qa.delete(article_id)
        except Exception as exc:
            log.exception("deleting article %s failed", article_id)
            raise gr.Error(_user_error(exc)) from None
        gr.Info(f"Deleted {len(deleted)} article." if deleted else "That article was already gone.")
        stats, table, picker = self.library(query)
        status, choices = self.refresh(selected_sources, opened_at)
        view = '<div class="nr-article-empty">Article deleted.</div>'
        return stats, table, picker, view, status, choices

    # adding news ----------------------------------------------------------------

    def add_news(self, files, urls, selected_sources, progress=None, opened_at=None):
        """Ingest uploaded files and pasted URLs; returns (report, status, source choices)."""
        import gradio as gr

        limit_mb = self.qa.settings.max_upload_mb
        uploads_dir = Path(self.qa.settings.data_dir) / "uploads"
        items: list[str] = []
        rejected: list[tuple[str, str]] = []
        for f in files or []:
            path = Path(getattr(f, "name", f))
            name = path.name
            if path.suffix.lower() not in present.UPLOAD_SUFFIXES:
                rejected.append((name, f"not a supported type; use one of {', '.join(present.UPLOAD_SUFFIXES)}"))
            elif path.stat().st_size > limit_mb * 1024 * 1024:
                size = present.file_size(path.stat().st_size)
                rejected.append((name, f"{size} is over the {limit_mb:g} MB upload limit; split it or use the CLI"))
            else:
                # Keep a copy under the data dir: its path names the article, so uploading it again updates it.
                uploads_dir.mkdir(parents=True, exist_ok=True)
                target = uploads_dir / name
                shutil.copyfile(path, target)
                items.append(str(target))
        for line in (urls or "").splitlines():
            url = line.strip()
            if not url:
                continue
            if url.lower().startswith(("http://", "https://")):
                items.append(url)
            else:
                rejected.append((url, "not a web address; paste links starting with http:// or https://"))
        if not items and not rejected:
            gr.Warning("Choose files or paste links first.")
            return gr.skip(), gr.skip(), gr.skip()
        total = max(len(items), 1)

        def on_progress(done: int, item: str) -> None:
            if progress is not None:
                progress(min(done / max(total, done), 1.0), desc=f"Indexed {done}: {Path(item).name or item}")

        if progress is not None:
            progress(0, desc=f"Indexing {len(items)} item(s)…")
        try:
            if items:
                report = self.qa.ingest(items, progress=on_progress)
            else:
                from ingest.pipeline import IngestReport

                report = IngestReport()
        except Exception as exc:
            log.exception("ingesting %d items failed", len(items))
            raise gr.Error(f"Adding news failed: {_user_error(exc)}") from None
        log.info("ingested from the app: %s", report.summary())
        status, choices = self.refresh(selected_sources, opened_at)
        return present.report_html(report, rejected), status, choices


# --- layout ----------------------------------------------------------------------------------------


def build_app(qa, note: str = ""):
    """The Blocks UI around a NewsQA (tests pass one built with fakes)."""
    import gradio as gr

    h = Handlers(qa, note)
    top_k = qa.settings.top_k

    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        with gr.Row(elem_classes="nr-header"):
            gr.Markdown(f"# {TITLE}\n{SUBTITLE}")
        status = gr.HTML('<div class="nr-status">Loading the index…</div>', elem_id="nr-status", js_on_load=None)
        history = gr.State([])
        opened_at = gr.State(None)  # when this page was opened: the status line counts articles added since

        with gr.Tab("Ask", id="ask"):
            with gr.Row():
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(
                        label="Conversation",
                        elem_id="nr-chat",
                        height=560,
                        sanitize_html=True,
                        latex_delimiters=[],
                        feedback_options=None,
                        examples=[{"text": q} for q in present.EXAMPLE_QUESTIONS],
                        placeholder="Ask about the indexed news, or pick an example.",
                        buttons=["copy"],
                    )
                    with gr.Row():
                        question = gr.Textbox(
                            placeholder="Ask a question about the news…",
                            show_label=False,
                            scale=5,
                            elem_id="nr-question",
                            autofocus=True,
                        )
                        send = gr.Button("Ask", variant="primary", scale=1, elem_id="nr-send")
                    date_chip = gr.Button(visible=False, size="sm", elem_id="nr-date-chip")  # ui.feeds_tab
                    use_dates = gr.State(True)
                    clear = gr.Button("New conversation", size="sm", elem_id="nr-clear")
                with gr.Column(scale=2):
                    with gr.Accordion("Filters (apply to the next question)", open=True, elem_id="nr-filters"):
                        sources = gr.Dropdown(
                            choices=[], multiselect=True, label="Sources (none = all)", elem_id="nr-sources-filter"
                        )
                        with gr.Row():
                            since = gr.Textbox(label="From date", placeholder="YYYY-MM-DD", elem_id="nr-since")
                            until = gr.Textbox(label="To date", placeholder="YYYY-MM-DD", elem_id="nr-until")
                        k = gr.Slider(1, 10, value=top_k, step=1, label="Passages to use", elem_id="nr-k")
                    gr.Markdown("### Sources")
                    sources_panel = gr.HTML(present.SOURCES_PLACEHOLDER, elem_id="nr-sources", js_on_load=None)

        with gr.Tab("Library", id="library") as library_tab:
            lib_stats = gr.HTML(elem_id="nr-lib-stats", js_on_load=None)
            with gr.Row():
                lib_query = gr.Textbox(label="Search titles, sources and links", scale=4, elem_id="nr-lib-query")
                lib_search = gr.Button("Search", scale=1, elem_id="nr-lib-search")
                lib_sort = gr.Radio(["Published", "Date added"], value="Published", label="Newest first by", scale=2,
                                    elem_id="nr-lib-sort")  # fmt: skip
            lib_table = gr.Dataframe(
                headers=present.ARTICLE_COLUMNS,
                datatype=["str", "str", "str", "str", "number", "str"],
                interactive=False,
                max_height=360,
                elem_id="nr-lib-table",
            )
            with gr.Row():
                picker = gr.Dropdown(label="Article", choices=[], scale=4, elem_id="nr-lib-picker")
                open_btn = gr.Button("Open", scale=1, elem_id="nr-lib-open")
                delete_btn = gr.Button("Delete", variant="stop", scale=1, elem_id="nr-lib-delete")
            article_view = gr.HTML(elem_id="nr-article", js_on_load=None)
            gr.Markdown("### Stories\nArticles about one event (copies of one text, and other reports of it).")
            story_table = gr.Dataframe(
                headers=present.STORY_COLUMNS,
                datatype=["str", "str", "str", "number", "str", "str"],
                interactive=False,
                max_height=300,
                elem_id="nr-story-table",
            )
            with gr.Row():
                story_picker = gr.Dropdown(label="Story", choices=[], scale=4, elem_id="nr-story-picker")
                story_btn = gr.Button("Open story", scale=1, elem_id="nr-story-open")
            story_view = gr.HTML(elem_id="nr-story", js_on_load=None)

        with gr.Tab("Add news", id="add"):
            gr.Markdown(
                f"Upload files ({', '.join(present.UPLOAD_SUFFIXES)}; up to {qa.settings.max_upload_mb:g} MB each) "
                "or paste links to pages or RSS/Atom feeds, one per line."
            )
            files = gr.File(
                file_count="multiple", file_types=list(present.UPLOAD_SUFFIXES), label="Files", elem_id="nr-files"
            )
            urls = gr.Textbox(lines=4, label="Links", placeholder="https://example.com/news/article", elem_id="nr-urls")
            add_btn = gr.Button("Add to the index", variant="primary", elem_id="nr-add")
            report = gr.HTML(elem_id="nr-report", js_on_load=None)

        from ui import feeds_tab

        feeds_tab.build_feeds_tab(qa, dict(fn=h.refresh, inputs=[sources, opened_at], outputs=[status, sources]))

        # events -------------------------------------------------------------------------------
        chat_io = dict(
            fn=h.respond,
            inputs=[question, chatbot, history, k, sources, since, until, use_dates],
            outputs=[chatbot, history, sources_panel, question],
            show_progress="hidden",
            api_visibility="undocumented",
        )
        chip_io = feeds_tab.wire_date_chip(qa, date_chip, use_dates, chat_io)
        question.submit(**chat_io).then(**chip_io)
        send.click(**chat_io).then(**chip_io)

        def fill_example(evt: gr.SelectData) -> str:
            return evt.value["text"]

        chatbot.example_select(fill_example, None, question, api_visibility="private", queue=False).then(
            **chat_io
        ).then(**chip_io)

        def new_conversation():
            return [], [], present.SOURCES_PLACEHOLDER, ""

        clear_io = dict(outputs=[chatbot, history, sources_panel, question], api_visibility="private", queue=False)
        clear.click(new_conversation, None, **clear_io)
        chatbot.clear(new_conversation, None, **clear_io)

        lib_events = dict(fn=h.library, inputs=[lib_query, lib_sort], outputs=[lib_stats, lib_table, picker])
        library_tab.select(**lib_events, api_visibility="private")
        lib_search.click(**lib_events, api_visibility="private")
        lib_query.submit(**lib_events, api_visibility="private")
        lib_sort.change(**lib_events, api_visibility="private")
        story_events = dict(fn=h.stories, inputs=[lib_query], outputs=[story_table, story_picker])
        library_tab.select(**story_events, api_visibility="private")
        lib_search.click(**story_events, api_visibility="private")
        lib_query.submit(**story_events, api_visibility="private")
        story_btn.click(h.open_story, [story_picker], story_view, api_visibility="private")
        story_picker.input(h.open_story, [story_picker], story_view, api_visibility="private")

        def pick_row(table, evt: gr.SelectData):
            return h.pick_row(table, evt)

        lib_table.select(pick_row, [lib_table], picker, api_visibility="private")
        story_table.select(pick_row, [story_table], story_picker, api_visibility="private")
        open_btn.click(h.open_article, [picker], article_view, api_visibility="private")
        picker.input(h.open_article, [picker], article_view, api_visibility="private")
        delete_btn.click(
            h.delete_article,
            [picker, lib_query, sources, opened_at],
            [lib_stats, lib_table, picker, article_view, status, sources],
            api_visibility="private",
            concurrency_id="ingest",
            concurrency_limit=1,
        )

        def add_news(files, urls, selected, opened, progress=gr.Progress()):  # noqa: B008 (how gradio asks for progress)
            return h.add_news(files, urls, selected, progress, opened)

        add_btn.click(
            add_news,
            [files, urls, sources, opened_at],
            [report, status, sources],
            api_visibility="private",
            concurrency_id="ingest",
            concurrency_limit=1,
        )

        demo.load(_page_opened, None, opened_at, api_visibility="private", queue=False).then(
            h.refresh, [sources, opened_at], [status, sources], api_visibility="private"
        )
        feeds_tab.wire_status_updates(h.status, status, opened_at)

        def ask(
            question: str, k: int = top_k, sources: list[str] | None = None, since: str = "", until: str = ""
        ) -> dict:
            """Answer a question from the indexed news: text with [n] markers and the cited passages."""
            return h.ask_api(question, k, sources, since, until)

        def stats() -> dict:
            """What the index holds: articles, chunks, sources and date range."""
            return qa.stats()

        gr.api(ask, api_name="ask")
        gr.api(stats, api_name="stats")

    demo.queue(default_concurrency_limit=CHAT_CONCURRENCY)
    return demo


def theme():
    """A theme that needs no web fonts (the app must work offline)."""
    import gradio as gr

    return gr.themes.Soft(
        primary_hue="indigo", font=["system-ui", "Segoe UI", "sans-serif"], font_mono=["ui-monospace", "monospace"]
    )


def launch(demo, settings, *, host: str | None = None, port: int | None = None, qa=None, **kwargs):
    """Start serving; the same options for `main` and for tests (which pass prevent_thread_lock=True).

    With `qa`, the OpenAI-compatible API (serve/openai_api.py) is mounted at /v1 on Gradio's own FastAPI app.
    """
    if qa is not None:
        from serve import openai_api

        kwargs["app_kwargs"] = {**kwargs.get("app_kwargs", {}), "routes": [openai_api.mount(qa, settings)]}
    return demo.launch(
        server_name=host or settings.host,
        server_port=port if port is not None else settings.port,
        max_file_size=int(settings.max_upload_mb * 1024 * 1024),
        theme=theme(),
        css=CSS,
        ssr_mode=False,
        footer_links=["api"],
        show_error=False,
        **kwargs,
    )


# --- command line -------------------------------------------------------------------------------


def _prepare(qa) -> str:
    """Index the sample corpus into an empty index, logging progress; returns a note for the status line."""
    log.info("checking the index in %s", qa.settings.data_dir)

    def progress(done: int, item: str) -> None:
        if done % 10 == 0:
            log.info("indexed %d sample articles (%s)", done, Path(item).name)

    report = qa.ensure_sample_corpus(progress=progress)
    if report is None:
        return ""
    log.info("sample corpus indexed: %s", report.summary())
    return f"sample corpus indexed at start-up ({len(report.added)} articles)"


def _warm_up(qa) -> None:
    try:
        qa.warm_up(llm=True)
        log.info("models loaded")
    except Exception:
        log.exception("loading the models failed; questions will report the error")


def main(argv: list[str] | None = None) -> int:
    """`python app.py [--host H] [--port P] [--data-dir D]`; returns an exit code."""
    parser = argparse.ArgumentParser(prog="newsrag serve", description=SUBTITLE)
    parser.add_argument("--host", help="address to listen on (default: settings host, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default: settings port, 7860)")
    parser.add_argument("--data-dir", help="the index's data directory (default: settings data_dir)")
    parser.add_argument("--llm", help="'local', 'ollama', 'openai' or a path to a .gguf file")
    parser.add_argument("--no-sample", action="store_true", help="do not index the sample corpus into an empty index")
    api = parser.add_mutually_exclusive_group()
    api.add_argument("--api-only", action="store_true", help="serve only the OpenAI-compatible API at /v1, no web UI")
    api.add_argument("--no-api", action="store_true", help="serve only the web UI, without the API at /v1")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from core.errors import NewsragError
    from core.settings import Settings
    from rag.api import NewsQA

    overrides: dict[str, Any] = {}
    if args.data_dir:
        overrides["data_dir"] = Path(args.data_dir)
    if args.llm:
        overrides["llm"] = args.llm
    try:
        settings = Settings(**overrides)
        qa = NewsQA(settings=settings)
        note = "" if args.no_sample else _prepare(qa)
    except Exception as exc:
        if not isinstance(exc, NewsragError):
            log.exception("start-up failed")
        print(f"newsrag: could not open the index: {_user_error(exc)}", file=sys.stderr)
        return 1
    threading.Thread(target=_warm_up, args=(qa,), daemon=True, name="warm-up").start()
    from ui.feeds_tab import start_background_refresh

    start_background_refresh(qa)
    try:
        if args.api_only:
            from serve import openai_api

            openai_api.serve(qa, settings, host=args.host, port=args.port)
            return 0
        launch(build_app(qa, note), settings, host=args.host, port=args.port, qa=None if args.no_api else qa)
    except OSError as exc:
        print(f"newsrag: could not start the server: {exc} (choose another --port)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
