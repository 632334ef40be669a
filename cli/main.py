"""The `newsrag` command: ingest, search, ask, chat, timeline, stats, stories, delete, serve, mcp, eval."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from cli.common import open_qa as _qa
from core.errors import NewsragError, UsageError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _filters(args) -> dict:
    return {
        "sources": args.source or None,
        "since": args.since,
        "until": args.until,
        "now": args.now,
        "understand_time": not args.no_date_filter,
    }


def _print_time_filter(found) -> None:
    if found is not None:
        print(f"(date filter from the question: {found.describe()}; --no-date-filter searches every date)")


def _format_date(passage) -> str:
    return passage.published.date().isoformat() if passage.published else "undated"


def _print_also(passage) -> None:
    from ui.present import also_reported

    if note := also_reported(passage):
        print(f"    ({note})")


def cmd_ingest(args) -> int:
    from tqdm import tqdm

    qa = _qa(args)
    with tqdm(desc="Ingesting", unit=" items", disable=args.quiet or not sys.stderr.isatty()) as bar:
        report = qa.ingest(args.sources, progress=lambda done, item: bar.update(1))
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        for item, reason in report.failed:
            print(f"failed:    {item}: {reason}")
        for item, reason in report.skipped:
            print(f"skipped:   {item}: {reason}")
        for item, original in report.duplicates:
            print(f"duplicate: {item} (same text as {original})")
        print(report.summary())
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_search(args) -> int:
    qa = _qa(args)
    passages = qa.retrieve(args.question, k=args.k, **_filters(args))
    if not args.json and not (args.since or args.until or args.no_date_filter):
        _print_time_filter(qa.time_filter(args.question, args.now))
    if args.json:
        print(json.dumps([p.to_dict() for p in passages], indent=2, ensure_ascii=False))
        return EXIT_OK
    if not passages:
        print("No passages found.")
    for n, p in enumerate(passages, start=1):
        print(f"[{n}] {p.title} — {p.source}, {_format_date(p)} (similarity {p.score:.2f})\n    {p.url}")
        _print_also(p)
        print("    " + p.text[:400].replace("\n", " ") + ("…" if len(p.text) > 400 else "") + "\n")
    return EXIT_OK


def print_answer(answer) -> None:
    if answer.standalone_question:
        print(f"(searched as: {answer.standalone_question})")
    _print_time_filter(answer.time_filter)
    print(answer.text)
    if answer.refused:
        if answer.refusal_detail:
            print(answer.refusal_detail)
        if answer.passages:
            print("\nClosest passages found:")
            for p in answer.passages[:3]:
                print(f"- {p.title} — {p.source}, {_format_date(p)}\n    {p.url}")
    if answer.citations:
        print("\nSources:")
        for c in answer.citations:
            p = c.passage
            print(f"[{c.number}] {p.title} — {p.source}, {_format_date(p)}\n    {p.url}")
            _print_also(p)
            evidence = " … ".join(c.evidence) if c.evidence else p.text[:300]
            print(f"    “{evidence}”")


def cmd_ask(args) -> int:
    qa = _qa(args)
    if args.json:
        answer = qa.ask(args.question, k=args.k, **_filters(args))
        print(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
        return EXIT_OK
    from core.types import Answer

    answer = None
    for piece in qa.stream(args.question, k=args.k, **_filters(args)):
        if isinstance(piece, Answer):
            answer = piece
    print_answer(answer)
    return EXIT_OK


def cmd_timeline(args) -> int:
    answer = _qa(args).timeline(args.topic, k=args.k, **_filters(args))
    if args.json:
        print(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
        return EXIT_OK
    print_answer(answer)
    return EXIT_OK


def cmd_chat(args) -> int:
    qa = _qa(args)
    history: list[tuple[str, str]] = []
    print("newsrag chat: ask about the indexed news. An empty line or Ctrl-D quits.")
    while True:
        try:
            message = input("\nyou> ").strip()
        except EOFError:
            return EXIT_OK
        if not message:
            return EXIT_OK
        answer = qa.chat(message, history, **_filters(args))
        print()
        print_answer(answer)
        history.append((message, answer.text))


def cmd_stats(args) -> int:
    stats = _qa(args).stats()
    if args.json:
        print(json.dumps(stats, indent=2))
        return EXIT_OK
    print(f"articles: {stats['articles']}\nchunks:   {stats['chunks']}")
    print(f"dates:    {stats['earliest'] or '-'} to {stats['latest'] or '-'} ({stats['undated']} undated)")
    print("sources:")
    for source, count in stats["sources"].items():
        print(f"  {source}: {count}")
    return EXIT_OK


def cmd_stories(args) -> int:
    stories = _qa(args).stories(args.query or "", since=args.since, limit=args.limit, min_articles=args.min_articles)
    if args.json:
        print(json.dumps([s.to_dict() for s in stories], indent=2, ensure_ascii=False))
        return EXIT_OK
    if not stories:
        print("No stories found.")
    for s in stories:
        span = f"{s.first or 'undated'} – {s.last or 'undated'}" if s.first != s.last else (s.first or "undated")
        count = f"{len(s.articles)} article" + ("s" if len(s.articles) != 1 else "")
        print(f"{s.title}\n    {span} · {count} · {', '.join(s.sources) or 'unknown source'} · id {s.story_id}")
    return EXIT_OK


def cmd_delete(args) -> int:
    qa = _qa(args)
    status = EXIT_OK
    for ref in args.refs:
        deleted = qa.delete(ref)
        if deleted:
            print(f"deleted {ref} ({', '.join(deleted)})")
        else:
            print(f"not found: {ref}", file=sys.stderr)
            status = EXIT_FAILED
    return status


def cmd_serve(args, rest: list[str]) -> int:
    import app

    return app.main(rest + (["--data-dir", args.data_dir] if args.data_dir else [])) or EXIT_OK


def cmd_mcp(args) -> int:
    from serve.mcp_server import run

    run(_qa(args), http=args.http, host=args.host, port=args.port)
    return EXIT_OK


def cmd_eval(args, rest: list[str]) -> int:
    from eval.runner import main as eval_main

    extra = ["--data-dir", args.data_dir] if args.data_dir else []
    return eval_main(rest + extra)


def _day(text: str):
    """argparse type for a YYYY-MM-DD option: a bad date is a usage error (exit 2) before any model loads."""
    from core.dates import parse_day
    from core.errors import DateError

    try:
        return parse_day(text, "the date")
    except DateError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("the date: ")) from None


def _global_options(defaults: bool) -> argparse.ArgumentParser:
    """--data-dir and -v, accepted before and after the subcommand (after it, they must not reset a value
    given before it, hence SUPPRESS there)."""
    options = argparse.ArgumentParser(add_help=False)
    default = {} if defaults else {"default": argparse.SUPPRESS}
    options.add_argument(
        "--data-dir", help="index and model folder (default: NEWSRAG_DATA_DIR or the user data dir)", **default
    )
    options.add_argument("-v", "--verbose", action="store_true", help="log details to stderr", **default)
    return options


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsrag",
        description="Question answering over tech news, with citations.",
        parents=[_global_options(defaults=True)],
    )
    sub = parser.add_subparsers(dest="command", required=True)
    after = [_global_options(defaults=False)]  # every subcommand takes the global options too

    def with_filters(p):
        p.add_argument("--k", type=int, default=None, help="number of passages")
        p.add_argument("--source", action="append", help="only this source (repeatable)")
        p.add_argument("--since", type=_day, help="only articles published on or after this date (YYYY-MM-DD)")
        p.add_argument("--until", type=_day, help="only articles published on or before this date (YYYY-MM-DD)")
        p.add_argument("--mode", choices=["hybrid", "dense", "keyword"], help="retrieval mode")
        p.add_argument(
            "--now", type=_day, help="today's date for dates in the question such as 'last week' (YYYY-MM-DD)"
        )
        p.add_argument("--no-date-filter", action="store_true", help="ignore dates written in the question")

    p = sub.add_parser("ingest", parents=after, help="add files, folders, page or feed URLs to the index")
    p.add_argument("sources", nargs="+")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("search", parents=after, help="print the passages retrieved for a question")
    p.add_argument("question")
    with_filters(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    for name, func, text in (
        ("ask", cmd_ask, "answer a question with citations"),
        ("chat", cmd_chat, "interactive chat"),
    ):
        p = sub.add_parser(name, parents=after, help=text)
        if name == "ask":
            p.add_argument("question")
            p.add_argument("--json", action="store_true", help="print the Answer as JSON")
        with_filters(p)
        p.add_argument("--llm", help="local, ollama, openai, or a .gguf path")
        p.set_defaults(func=func)

    p = sub.add_parser("timeline", parents=after, help="a dated, cited timeline of a topic from its articles")
    p.add_argument("topic", help='what to trace, e.g. "the Twitter takeover"')
    with_filters(p)
    p.add_argument("--json", action="store_true", help="print the Answer (with its events) as JSON")
    p.set_defaults(func=cmd_timeline)

    p = sub.add_parser("stats", parents=after, help="articles, chunks, sources and date range of the index")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("stories", parents=after, help="list stories: copies and reports of one event, grouped")
    p.add_argument("query", nargs="?", help="only stories with an article whose title or source contains this")
    p.add_argument("--since", type=_day, help="only stories with an article published on or after this date")
    p.add_argument("--min-articles", type=int, default=1, help="only stories of at least this many articles")
    p.add_argument("--limit", type=int, default=50, help="most stories listed (default 50)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_stories)

    p = sub.add_parser("delete", parents=after, help="delete articles by id, URL or path")
    p.add_argument("refs", nargs="+")
    p.set_defaults(func=cmd_delete)

    from cli.feeds import add_commands as add_feed_commands

    add_feed_commands(sub, after)

    p = sub.add_parser("serve", parents=after, help="start the web app (see `newsrag serve --help`)", add_help=False)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("mcp", parents=after, help="serve the index to assistants over MCP (stdio, or --http)")
    p.add_argument("--http", action="store_true", help="streamable HTTP at http://HOST:PORT/mcp instead of stdio")
    p.add_argument("--host", default="127.0.0.1", help="address for --http (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port for --http (default 8765)")
    p.add_argument("--llm", help="local, ollama, openai, or a .gguf path")
    p.set_defaults(func=cmd_mcp)

    p = sub.add_parser(
        "eval", parents=after, help="run an evaluation suite (see `newsrag eval --help`)", add_help=False
    )
    p.set_defaults(func=cmd_eval)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if rest and args.command not in ("eval", "serve"):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        if args.command in ("eval", "serve"):
            return args.func(args, rest)
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except NewsragError as exc:  # the edge: our errors say what to do; the traceback only with -v
        if args.verbose:
            logging.exception("newsrag %s failed", args.command)
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, UsageError) else EXIT_FAILED
    except Exception:  # a bug: the traceback for the report, a short line for the user
        logging.exception("newsrag %s failed", args.command)
        print(f"error: newsrag {args.command} failed unexpectedly; the traceback above says where.", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
