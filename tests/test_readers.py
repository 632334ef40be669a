"""Readers: every supported type gives clean articles, and every bad input gives a short reason, not a crash."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from paths import SHARED_CORPORA

from core.dates import parse_article_date as parse_date
from core.settings import Settings
from ingest.readers import SUPPORTED, load_sources, read_text_file

CORPORA = SHARED_CORPORA
TECH = CORPORA / "bbc-news" / "tech"


def bbc(name: str = "2d-metal-slug-offers-retro-fun.txt") -> tuple[str, list[str]]:
    """Headline and body paragraphs of a BBC tech article, to wrap in other formats."""
    text = (TECH / name).read_text(encoding="utf-8")
    title, _, body = text.partition("\n")
    return title.strip(), [p.strip() for p in body.split("\n\n") if p.strip()]


def load_one(path: Path, settings: Settings):
    [outcome] = list(load_sources([path], settings))
    return outcome


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


# --- plain text and Markdown -------------------------------------------------------------------------


def test_txt_file_headline_body_source_and_key(tmp_path: Path, settings: Settings) -> None:
    path = write(tmp_path / "tech" / "story.txt", "\n\nBig  chip news\n\nFirst paragraph.It was glued.\n\nSecond.\n")
    outcome = load_one(path, settings)
    assert outcome.error is None and outcome.skipped is None
    [article] = outcome.articles
    assert article.title == "Big chip news"
    assert article.text == "First paragraph. It was glued.\n\nSecond."
    assert article.source == "tech"
    assert article.key == article.url == path.resolve().as_uri()
    assert article.published is None


def test_real_corpus_files_load(settings: Settings) -> None:
    outcome = load_one(CORPORA / "seed" / "alibaba-baidu-ai-chips.txt", settings)
    [article] = outcome.articles
    assert article.title.startswith("Alibaba Baidu develops its own AI chips")
    assert "intense. In late August" in article.text
    assert article.source == "seed"


def test_txt_with_only_a_headline_is_an_error(tmp_path: Path, settings: Settings) -> None:
    outcome = load_one(write(tmp_path / "t.txt", "Just a headline\n\n  \n"), settings)
    assert outcome.articles == [] and "no article text" in outcome.error


def test_plain_text_keeps_markup_characters_as_text(tmp_path: Path, settings: Settings) -> None:
    outcome = load_one(write(tmp_path / "t.txt", "Title\n\nWrite <script>alert(1)</script> to test XSS."), settings)
    assert outcome.articles[0].text == "Write <script>alert(1)</script> to test XSS."


def test_markdown_formatting_is_stripped(tmp_path: Path, settings: Settings) -> None:
    md = (
        "# The *new* chip\n\n"
        "Intel said **faster** chips and [a report](https://example.com/r) are due; see ![logo](logo.png) here.\n\n"
        "- first point with `inline code`\n- second_point_name stays\n\n"
        "```python\nprint('kept as text')\n```\n\n> Quoted words.\n\n[ref]: https://example.com\n"
    )
    [article] = load_one(write(tmp_path / "news" / "chip.md", md), settings).articles
    assert article.title == "The new chip"
    assert "Intel said faster chips and a report are due; see here." in article.text
    assert "first point with inline code" in article.text
    assert "second_point_name stays" in article.text
    assert "print('kept as text')" in article.text
    assert "Quoted words." in article.text
    for marker in ("**", "](", "![", "```", "# ", "> ", "https://example.com"):
        assert marker not in article.text
    assert article.source == "news"


def test_markdown_front_matter_gives_title_date_author(tmp_path: Path, settings: Settings) -> None:
    md = "---\ntitle: Chips everywhere\ndate: 2025-09-12T08:00:00+08:00\nauthor: Ann Lee\n---\n# Chips everywhere\n\nBody text."
    [article] = load_one(write(tmp_path / "a.markdown", md), settings).articles
    assert (article.title, article.text, article.author) == ("Chips everywhere", "Body text.", "Ann Lee")
    assert article.published == datetime(2025, 9, 12, 0, 0, tzinfo=UTC)


def test_read_text_file_directly(tmp_path: Path) -> None:
    article = read_text_file(write(tmp_path / "x" / "a.txt", "Head\nBody line."))
    assert (article.title, article.text, article.source) == ("Head", "Body line.", "x")


# --- HTML ----------------------------------------------------------------------------------------------


def html_page(title: str, paragraphs: list[str], head: str = "") -> str:
    body = "".join(f"<p>{p}</p>\n" for p in paragraphs)
    return (
        f"<!doctype html><html><head><title>{title} | Site</title>{head}</head><body>"
        f"<nav>Home | Tech | Sport</nav><article><h1>{title}</h1>\n{body}"
        "<script>document.write('tracking code')</script></article><footer>Copyright 2005</footer></body></html>"
    )


def test_html_with_metadata_canonical_date_author(tmp_path: Path, settings: Settings) -> None:
    title, paragraphs = bbc()
    head = (
        f'<meta property="og:title" content="{title}"><meta property="og:site_name" content="BBC News">'
        '<meta property="article:published_time" content="2005-02-14T09:30:00+01:00">'
        '<meta name="author" content="Jane Doe"><link rel="canonical" href="https://news.example.com/tech/slug">'
    )
    path = write(tmp_path / "web" / "page.html", html_page(title, paragraphs, head))
    [article] = load_one(path, settings).articles
    assert article.title == title
    assert article.key == article.url == "https://news.example.com/tech/slug"
    assert article.published == datetime(2005, 2, 14, 8, 30, tzinfo=UTC)
    assert article.author == "Jane Doe"
    assert article.source == "BBC News"
    assert paragraphs[0][:60] in article.text
    assert paragraphs[-1][:60] in article.text
    assert "tracking code" not in article.text
    assert not article.text.startswith(title)


def test_html_without_metadata_uses_file_uri_folder_and_json_ld(tmp_path: Path, settings: Settings) -> None:
    title, paragraphs = bbc("a-decade-of-good-website-design.txt")
    head = (
        '<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "2005-03-01T10:00:00Z"}</script>'
    )
    path = write(tmp_path / "pages" / "page.htm", html_page(title, paragraphs, head))
    [article] = load_one(path, settings).articles
    assert article.key == path.resolve().as_uri()
    assert article.source == "pages"
    assert article.published == datetime(2005, 3, 1, 10, 0, tzinfo=UTC)
    assert article.title in (title, f"{title} | Site")


def test_deeply_nested_html_does_not_crash(tmp_path: Path, settings: Settings) -> None:
    deep = "<html><body>" + "<div>" * 10_000 + "<p>Deep text survives the nesting.</p>" + "</div>" * 10_000
    path = write(tmp_path / "deep.html", deep + "</body></html>")
    started = time.monotonic()
    outcome = load_one(path, settings)
    assert time.monotonic() - started < 20
    assert outcome.error is None, outcome.error
    assert "Deep text survives the nesting." in outcome.articles[0].text


def test_malformed_html_still_gives_text(tmp_path: Path, settings: Settings) -> None:
    html = "<html><head><title>Broken page</head><body><p>Unclosed <b>bold <i>words</p></div></span><p>Second & last < para"
    outcome = load_one(write(tmp_path / "bad.html", html), settings)
    assert outcome.error is None, outcome.error
    assert "Unclosed bold words" in outcome.articles[0].text


def test_html_without_text_is_an_error(tmp_path: Path, settings: Settings) -> None:
    outcome = load_one(
        write(tmp_path / "e.html", "<html><head><script>x=1</script></head><body> </body></html>"), settings
    )
    assert outcome.error == "no article text found"


# --- JSON and JSONL -------------------------------------------------------------------------------------


def test_json_object_list_and_wrapped(tmp_path: Path, settings: Settings) -> None:
    record = {
        "headline": "Chip deal",
        "body": "<p>Broadcom and OpenAI agree.</p><script>alert('x')</script><p>More.</p>",
        "link": "https://news.example.com/chip-deal",
        "pubDate": "Tue, 02 Sep 2025 14:00:00 +0200",
        "publisher": "Example News",
        "author": {"name": "Sam Roe"},
    }
    one = load_one(write(tmp_path / "one.json", json.dumps(record)), settings).articles
    many = load_one(
        write(tmp_path / "many.json", json.dumps([record, {"text": "No title. Second sentence."}])), settings
    )
    wrapped = load_one(write(tmp_path / "feed.json", json.dumps({"items": [record]})), settings).articles
    [article] = one
    assert article.key == article.url == "https://news.example.com/chip-deal"
    assert article.title == "Chip deal"
    assert article.text == "Broadcom and OpenAI agree.\n\nMore."
    assert article.published == datetime(2025, 9, 2, 12, 0, tzinfo=UTC)
    assert (article.source, article.author) == ("Example News", "Sam Roe")
    assert wrapped[0].key == article.key
    second = many.articles[1]
    file_uri = (tmp_path / "many.json").resolve().as_uri()
    assert (second.key, second.url) == (f"{file_uri}#1", file_uri)
    assert second.title == "No title."  # missing title: the first sentence
    assert second.source == "many"  # no source field: the file stem


def test_missing_title_is_first_sentence_truncated(tmp_path: Path, settings: Settings) -> None:
    long_sentence = "Word " * 60 + "end."
    [article] = load_one(write(tmp_path / "t.json", json.dumps({"content": long_sentence})), settings).articles
    assert len(article.title) <= 120
    assert article.title.startswith("Word Word")


def test_jsonl_bad_line_is_its_own_failure(tmp_path: Path, settings: Settings) -> None:
    lines = [
        json.dumps({"title": "First", "text": "Body one.", "url": "https://e.example/1"}),
        '{"title": "Broken", "text": ',
        json.dumps({"title": "Third", "text": "Body three."}),
    ]
    path = write(tmp_path / "items.jsonl", "\n".join(lines) + "\n")
    outcomes = list(load_sources([path], settings))
    assert [o.item for o in outcomes] == [str(path), f"{path}:2"]
    assert [a.title for a in outcomes[0].articles] == ["First", "Third"]
    assert outcomes[0].articles[1].key == f"{path.resolve().as_uri()}#3"
    assert outcomes[1].error.startswith("malformed JSON at line 2")


def test_truncated_json_names_the_line(tmp_path: Path, settings: Settings) -> None:
    outcome = load_one(write(tmp_path / "t.json", '[\n  {"title": "A",\n   "text": "B"'), settings)
    assert outcome.error.startswith("malformed JSON at line 3")


# --- feeds -------------------------------------------------------------------------------------------


def rss(entries: list[str], title: str = "Tech Feed") -> str:
    return (
        f'<?xml version="1.0"?>\n<rss version="2.0"><channel><title>{title}</title>{"".join(entries)}</channel></rss>'
    )


def test_rss_entries_with_odd_dates_and_no_link(tmp_path: Path, settings: Settings) -> None:
    title, paragraphs = bbc()
    body = "".join(f"&lt;p&gt;{p}&lt;/p&gt;" for p in paragraphs[:3]) + "&lt;script&gt;alert(1)&lt;/script&gt;"
    entries = [
        f"<item><title>{title}</title><link>https://f.example/1</link><pubDate>Mon, 14 Feb 2005 09:30:00 EST</pubDate>"
        f"<description>{body}</description></item>",
        "<item><title>Two</title><link>https://f.example/2</link><pubDate>2005-02-14 09:30 +0530</pubDate>"
        "<description>Second entry body.</description></item>",
        "<item><title>Three</title><link>https://f.example/3</link><pubDate>14th Feb 2005</pubDate>"
        "<description>Third entry body.</description></item>",
        "<item><title>No link</title><description>Entry without link or date.</description></item>",
    ]
    path = write(tmp_path / "feeds" / "tech.rss", rss(entries))
    outcome = load_one(path, settings)
    assert outcome.error is None
    first, second, third, fourth = outcome.articles
    assert first.title == title and first.key == first.url == "https://f.example/1"
    assert first.published == datetime(2005, 2, 14, 14, 30, tzinfo=UTC)
    assert paragraphs[0][:50] in first.text and "alert" not in first.text
    assert second.published == datetime(2005, 2, 14, 4, 0, tzinfo=UTC)
    assert third.published == datetime(2005, 2, 14, tzinfo=UTC)
    file_uri = path.resolve().as_uri()
    assert (fourth.key, fourth.url, fourth.published) == (f"{file_uri}#3", file_uri, None)
    assert {a.source for a in outcome.articles} == {"Tech Feed"}


def test_atom_feed_with_time_zone(tmp_path: Path, settings: Settings) -> None:
    atom = (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Atom News</title>'
        '<entry><title>A1</title><link href="https://a.example/1" rel="alternate"/><id>urn:uuid:1</id>'
        '<updated>2005-02-14T09:30:00+09:00</updated><content type="html">&lt;p&gt;Body one.&lt;/p&gt;</content></entry>'
        "</feed>"
    )
    [article] = load_one(write(tmp_path / "news.atom", atom), settings).articles
    assert (article.title, article.text, article.source, article.url) == (
        "A1",
        "Body one.",
        "Atom News",
        "https://a.example/1",
    )
    assert article.published == datetime(2005, 2, 14, 0, 30, tzinfo=UTC)


def test_html_file_that_is_a_feed_is_read_as_feed(tmp_path: Path, settings: Settings) -> None:
    path = write(tmp_path / "feed.html", rss(["<item><title>T</title><description>Body.</description></item>"]))
    assert load_one(path, settings).articles[0].source == "Tech Feed"


def test_xml_that_is_not_a_feed(tmp_path: Path, settings: Settings) -> None:
    outcome = load_one(write(tmp_path / "data.xml", "<?xml version='1.0'?><catalog><book/></catalog>"), settings)
    assert outcome.error.startswith("not a feed")


def test_xml_entity_bomb_is_refused_quickly(tmp_path: Path, settings: Settings) -> None:
    bomb = '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    bomb += "".join(
        f' <!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">\n' for i in range(1, 10)
    )
    bomb += ']>\n<rss version="2.0"><channel><title>&lol9;</title><item><title>x</title><description>&lol9;</description></item></channel></rss>'
    started = time.monotonic()
    outcome = load_one(write(tmp_path / "bomb.rss", bomb), settings)
    assert time.monotonic() - started < 5
    assert outcome.error == "feed declares XML entities; refused"


# --- folders and bad files ----------------------------------------------------------------------------


def test_folder_is_read_recursively_in_order_skipping_hidden(tmp_path: Path, settings: Settings) -> None:
    root = tmp_path / "corpus"
    write(root / "b.txt", "B title\nB body.")
    write(root / "a" / "z.md", "# Z title\nZ body.")
    write(root / "a" / "report.pdf", b"%PDF-1.4")
    write(root / ".hidden" / "h.txt", "Hidden\nbody")
    write(root / ".secret.txt", "Hidden\nbody")
    outcomes = list(load_sources([root], settings))
    assert [Path(o.item).name for o in outcomes] == ["report.pdf", "z.md", "b.txt"]
    assert outcomes[0].skipped == "unsupported file type .pdf" and outcomes[0].error is None
    assert [o.articles[0].title for o in outcomes[1:]] == ["Z title", "B title"]


def test_missing_path_and_other_schemes(tmp_path: Path, settings: Settings) -> None:
    outcomes = list(load_sources([tmp_path / "nope", "ftp://example.com/feed.xml"], settings))
    assert [o.error for o in outcomes] == ["no such file or folder", "only http(s) URLs are ingested"]


@pytest.mark.parametrize(("content", "reason"), [(b"", "empty file"), (b"  \n\t\n", "empty file")])
def test_empty_files(tmp_path: Path, settings: Settings, content: bytes, reason: str) -> None:
    assert load_one(write(tmp_path / "e.txt", content), settings).error == reason


def test_binary_file_with_txt_extension(tmp_path: Path, settings: Settings) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 20
    assert load_one(write(tmp_path / "image.txt", png), settings).error == "not text (binary data)"


def test_latin1_text_is_decoded(tmp_path: Path, settings: Settings) -> None:
    text = "Café society\n\nThe café in Zürich served crème brûlée to naïve visitors. " * 5
    [article] = load_one(write(tmp_path / "l.txt", text.encode("latin-1")), settings).articles
    assert article.title == "Café society"
    assert "crème brûlée" in article.text


def test_text_that_is_no_encoding_is_refused(tmp_path: Path, settings: Settings) -> None:
    junk = bytes([0x81, 0x8D, 0x8F, 0x90, 0x9D, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06]) * 50
    error = load_one(write(tmp_path / "junk.txt", junk), settings).error
    assert error in ("not text (binary data)",) or error.startswith("invalid UTF-8")


def test_utf8_and_utf16_byte_order_marks(tmp_path: Path, settings: Settings) -> None:
    a = load_one(write(tmp_path / "a.txt", "\ufeffTitle A\nBody A.".encode()), settings).articles[0]
    b = load_one(write(tmp_path / "b.txt", "Title B\nBody B.".encode("utf-16")), settings).articles[0]
    assert (a.title, b.title, b.text) == ("Title A", "Title B", "Body B.")


def test_huge_file_is_refused_quickly_by_size(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "huge.txt"
    with path.open("wb") as handle:
        handle.write(b"Huge\n")
        handle.truncate(50 * 1024 * 1024)  # sparse: 50 MB without writing them
    started = time.monotonic()
    outcome = load_one(path, settings)
    assert time.monotonic() - started < 2
    assert outcome.error == "larger than 20 MB limit"


def test_file_disappearing_mid_batch(tmp_path: Path, settings: Settings) -> None:
    write(tmp_path / "docs" / "a.txt", "A\nBody a.")
    doomed = write(tmp_path / "docs" / "b.txt", "B\nBody b.")
    write(tmp_path / "docs" / "c.txt", "C\nBody c.")
    outcomes = load_sources([tmp_path / "docs"], settings)
    first = next(outcomes)
    doomed.unlink()  # the folder was listed already
    rest = list(outcomes)
    assert first.articles[0].title == "A"
    assert rest[0].error == "file disappeared while reading"
    assert rest[1].articles[0].title == "C"


def _spin(seconds: float) -> None:
    """Busy Python work, like a parser stuck on a hostile input."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pass


def _load_stuck_batch(tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> tuple[list, float]:
    import ingest.readers as readers

    def stuck_parser(html: str, url: str, fallback_source: str):
        try:
            _spin(5)
        except Exception:  # a parser's own broad except must not swallow the time limit
            pass
        _spin(5)

    monkeypatch.setattr(readers, "ITEM_TIME_LIMIT_S", 0.3)
    monkeypatch.setattr(readers, "read_html", stuck_parser)
    write(tmp_path / "d" / "a.html", "<p>Stuck</p>")
    write(tmp_path / "d" / "b.txt", "Fine\nBody.")
    started = time.monotonic()
    outcomes = list(load_sources([tmp_path / "d"], settings))
    return outcomes, time.monotonic() - started


def test_slow_item_is_stopped_and_the_batch_goes_on(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    (slow, fine), seconds = _load_stuck_batch(tmp_path, settings, monkeypatch)
    assert seconds < 3
    assert slow.error == "took longer than 0.3 s to read"
    assert fine.articles[0].title == "Fine"


def test_slow_item_is_stopped_in_a_worker_thread_too(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import signal
    from concurrent.futures import ThreadPoolExecutor

    before = signal.getsignal(signal.SIGALRM)
    with ThreadPoolExecutor(1) as pool:  # where the app and the feed refresher load sources
        (slow, fine), seconds = pool.submit(_load_stuck_batch, tmp_path, settings, monkeypatch).result(timeout=20)
    assert seconds < 3
    assert slow.error == "took longer than 0.3 s to read"
    assert fine.articles[0].title == "Fine"
    assert signal.getsignal(signal.SIGALRM) is before  # no process-wide signal state touched


def test_a_time_limit_ending_with_its_item_leaves_no_stray_timeout() -> None:
    import ingest.readers as readers

    for _ in range(300):  # limits expiring just as their block ends
        try:
            with readers._time_limit(0.0005):
                _spin(0.0005)
        except readers._ItemTimeout:
            pass
    _spin(0.3)  # a pending timeout that escaped its block would be raised here


def test_importing_the_readers_registers_no_codec_error_handler() -> None:
    import subprocess
    import sys

    code = (
        "import codecs, ingest.readers as r\n"
        "try:\n    codecs.lookup_error('newsrag-cp1252')\nexcept LookupError:\n    pass\n"
        "else:\n    raise SystemExit('registered at import')\n"
        "assert r.decode_text('caf\\u00e9 '.encode() + b'\\x93q\\x94') == 'caf\\u00e9 \\u201cq\\u201d'\n"
        "codecs.lookup_error('newsrag-cp1252')\n"
    )
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_same_content_under_two_names_both_load(tmp_path: Path, settings: Settings) -> None:
    write(tmp_path / "d" / "one.txt", "Same\nSame body.")
    write(tmp_path / "d" / "two.txt", "Same\nSame body.")
    first, second = (o.articles[0] for o in load_sources([tmp_path / "d"], settings))
    assert first.key != second.key
    assert first.content_hash == second.content_hash


def test_supported_types() -> None:
    assert {".txt", ".md", ".html", ".json", ".jsonl", ".rss", ".atom", ".xml"} <= SUPPORTED


# --- dates ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-09-12T08:00:00Z", datetime(2025, 9, 12, 8, tzinfo=UTC)),
        ("2025-09-12T08:00:00+08:00", datetime(2025, 9, 12, 0, tzinfo=UTC)),
        ("2025-09-12", datetime(2025, 9, 12, tzinfo=UTC)),
        ("Fri, 12 Sep 2025 08:00:00 GMT", datetime(2025, 9, 12, 8, tzinfo=UTC)),
        ("Fri, 12 Sep 2025 08:00:00 -0500", datetime(2025, 9, 12, 13, tzinfo=UTC)),
        ("September 12, 2025 8:00 PST", datetime(2025, 9, 12, 16, tzinfo=UTC)),
        ("12th Sep 2025", datetime(2025, 9, 12, tzinfo=UTC)),
        (1757664000, datetime(2025, 9, 12, 8, tzinfo=UTC)),
        ("1757664000000", datetime(2025, 9, 12, 8, tzinfo=UTC)),
        (time.struct_time((2025, 9, 12, 8, 0, 0, 4, 255, 0)), datetime(2025, 9, 12, 8, tzinfo=UTC)),
        (datetime(2025, 9, 12, 8), datetime(2025, 9, 12, 8, tzinfo=UTC)),
        ("not a date", None),
        ("yesterday", None),
        ("", None),
        (None, None),
        ("1970-01-01", None),
        ("2999-01-01", None),
        ("2025-13-45", None),
    ],
)
def test_parse_date(value, expected) -> None:
    assert parse_date(value) == expected


# --- fuzz -----------------------------------------------------------------------------------------------

_FRAGMENTS = st.sampled_from(
    ["<p>", "</p>", "<div>", "<script>", "</script>", "<!--", "-->", "<?xml version='1.0'?>", "<rss>", "<feed>",
     "<item><title>", "</title>", "<![CDATA[", "]]>", "&amp;", "&#0;", "{", "}", "[", "]", '"text":', '"title":',
     "\n", "# ", "**", "[a](", ")", "Word. ", "\u00e9", "\x00", "\xff", "<!DOCTYPE x>", "<meta property='og:title' content='", "'>"]
)  # fmt: skip


@hypothesis_settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    suffix=st.sampled_from(sorted(SUPPORTED)),
    content=st.one_of(st.binary(max_size=300), st.lists(_FRAGMENTS, max_size=40).map("".join)),
)
def test_any_input_gives_outcomes_and_never_raises(tmp_path: Path, suffix: str, content: str | bytes) -> None:
    data = content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass")
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    outcomes = list(load_sources([path], Settings(data_dir=tmp_path / "data")))
    assert outcomes
    for outcome in outcomes:
        assert (outcome.error is None) == bool(outcome.articles)
        assert not (outcome.error or "").startswith("could not be read")  # an unexpected exception in a reader
        for article in outcome.articles:
            assert article.text.strip() and article.title.strip() and article.key
