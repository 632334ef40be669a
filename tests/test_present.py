"""What the app shows, tested as pure functions: linked citations, escaping, highlighted evidence, reports."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from fakes import passage

from core.types import Answer, Citation
from ingest.pipeline import IngestReport
from ui import present

EVIL = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=1">'


def _answer(text="Alibaba rose 7% [1]. Baidu uses Kunlun chips [2].", **kw) -> Answer:
    p1 = passage("Alibaba shares rose 7% on Friday. Analysts were surprised.", 1, title="Alibaba rallies")
    p2 = passage("Baidu trains its models on Kunlun chips. The P800 is the newest.", 2, title="Baidu's chips")
    citations = [
        Citation(1, p1, evidence=["Alibaba shares rose 7% on Friday."]),
        Citation(2, p2, evidence=["Baidu trains its models on Kunlun chips."]),
    ]
    return Answer(question="What happened?", text=text, citations=citations, passages=[p1, p2], **kw)


def test_markers_link_to_their_source_cards():
    answer = _answer()
    message = present.answer_message(answer, turn=3)
    panel = present.sources_html(answer, turn=3)
    links = re.findall(r'<a class="nr-cite" href="#(nr-src-3-\d)"[^>]*>\[(\d)\]</a>', message)
    assert links == [("nr-src-3-1", "1"), ("nr-src-3-2", "2")]
    for anchor, _ in links:
        assert f'id="{anchor}"' in panel
    assert 'title="Alibaba rallies"' in message  # hovering a marker names its article


def test_marker_without_a_citation_is_not_linked():
    message = present.answer_message(_answer("Something [7]."))
    assert "nr-cite" not in message
    assert "&#91;7&#93;" in message


def test_footnotes_list_each_cited_article_with_a_link():
    message = present.answer_message(_answer())
    assert (
        '<a href="https://example.com/article-1" target="_blank" rel="noopener noreferrer nofollow">Alibaba rallies</a>'
        in message
    )
    assert "Baidu&#x27;s chips" in message
    assert "12 Sep 2025" in message


@pytest.mark.parametrize(
    "raw",
    [
        EVIL,
        "See [click](javascript:alert(1)) and ![x](http://tracker.example/x.png)",
        "$$\\alert$$ <b>bold</b>",
    ],
)
def test_answer_text_cannot_inject_markup(raw):
    message = present.answer_message(_answer(raw + " [1]."))
    assert "<script" not in message and "<img" not in message and "<b>" not in message
    assert "](" not in message  # no Markdown link or image can form
    assert "$$" not in message
    assert "&lt;" in message or "&#91;" in message or "&#36;" in message


def test_refusal_looks_different_from_an_answer():
    refusal = Answer(question="q", text="The indexed articles don't contain the answer to this question.", refused=True)
    refusal_html = present.answer_message(refusal)
    answer_html = present.answer_message(_answer())
    assert present.REFUSAL_TITLE in refusal_html and "nr-refusal" in refusal_html
    assert present.REFUSAL_TITLE not in answer_html and "nr-refusal" not in answer_html
    assert "don&#x27;t contain the answer" in refusal_html


def test_refusal_panel_says_why_and_lists_closest_passages():
    p = passage("Something unrelated about phones.", 1, title="Phones <new>")
    refusal = Answer(question="q", text="no", refused=True, refusal_reason="low_relevance", passages=[p])
    panel = present.sources_html(refusal)
    assert "relevant enough" in panel
    assert "Closest passages found (1)" in panel
    assert "Phones &lt;new&gt;" in panel


def test_source_card_shows_title_source_date_link_and_highlighted_evidence():
    panel = present.sources_html(_answer())
    card = panel.split('id="nr-src-0-1"')[1].split('id="nr-src-0-2"')[0]
    assert "Alibaba rallies" in card and "example.com" in card and "12 Sep 2025" in card
    assert 'href="https://example.com/article-1"' in card
    assert "<mark>Alibaba shares rose 7% on Friday.</mark> Analysts were surprised." in card


def test_uncited_retrieved_passages_are_listed_separately():
    answer = _answer("Alibaba rose 7% [1].")
    answer.citations = answer.citations[:1]
    panel = present.sources_html(answer)
    assert panel.count('class="nr-card"') == 1
    assert "Also retrieved, not cited (1)" in panel and "Baidu&#x27;s chips" in panel


def test_untrusted_passage_title_and_url_are_escaped_and_only_http_links_clickable():
    p = passage(f"Body {EVIL} ends.", 1, title=f"Title {EVIL}")
    p.url = "javascript:alert(1)"
    panel = present.sources_html(Answer(question=EVIL, text="x [1].", citations=[Citation(1, p, [EVIL])], passages=[p]))
    assert "<script" not in panel and "<img" not in panel
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in panel
    assert "href=" not in panel  # the javascript: URL shows as text only
    assert "javascript:alert(1)" in panel


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://example.com/a?b=1&c=2", True),
        ("http://example.com", True),
        ("HTTPS://EXAMPLE.COM/x", True),
        ("file:///etc/passwd", False),
        ("javascript:alert(1)", False),
        (" javascript:alert(1)", False),
        ("data:text/html,<script>", False),
        ("https://", False),
        ('https://example.com/"onmouseover="x', False),
        ("", False),
        (None, False),
    ],
)
def test_safe_url(url, ok):
    assert (present.safe_url(url) is not None) is ok


def test_link_escapes_ampersands_in_urls():
    assert 'href="https://example.com/a?b=1&amp;c=2"' in present.link("https://example.com/a?b=1&c=2", "x")


def test_highlight_tolerates_whitespace_and_merges_overlaps():
    text = "First sentence here.\nSecond   sentence <b>there</b>. Third."
    html = present.highlight(text, ["Second sentence <b>there</b>.", "sentence <b>there</b>. Third.", "Not in it."])
    assert html == "First sentence here.\n<mark>Second   sentence &lt;b&gt;there&lt;/b&gt;. Third.</mark>"
    assert present.highlight("a < b", []) == "a &lt; b"


def test_status_line_and_stats():
    stats = {
        "articles": 38,
        "chunks": 210,
        "sources": {"BBC": 37, "Hawk <Insight>": 1},
        "earliest": "2025-09-12T00:00:00",
        "latest": "2025-09-12T00:00:00",
        "undated": 37,
    }
    line = present.status_line(stats, "sample corpus indexed")
    assert "38 articles" in line and "210 passages" in line and "2 sources" in line and "12 Sep 2025" in line
    assert "sample corpus indexed" in line
    assert "empty" in present.status_line({"articles": 0})
    table = present.stats_html(stats)
    assert "Hawk &lt;Insight&gt;" in table and ">37<" in table


def test_article_views_escape_untrusted_text():
    row = {"id": "a1", "title": EVIL, "source": "src", "url": "file:///tmp/x.txt", "published": None, "n_chunks": 2}
    html = present.article_html(row, f"Text {EVIL}")
    assert "<script" not in html and "<img" not in html
    assert html.count("&lt;script&gt;") == 2
    assert "href" not in html  # a file: URL is not a link
    assert "local file: x.txt" in html and "/tmp" not in html  # nor does it show server paths
    assert present.article_rows([row]) == [[EVIL, "src", "undated", "", 2, "a1"]]
    assert present.article_choices([row]) == [(f"{EVIL} — src, undated", "a1")]
    assert "no longer in the index" in present.article_html(None, "")


def test_report_lists_counts_and_every_failure_with_its_reason():
    report = IngestReport(
        added=["a.txt", "b.txt"], unchanged=["c.txt"], failed=[("/srv/data/d.html", "no text <found>")]
    )
    report.duplicates = [("e.txt", "a.txt")]
    html = present.report_html(report, rejected=[("big.txt", "25.0 MB is over the 20 MB upload limit")])
    assert "2 added, 0 updated, 1 unchanged, 1 duplicates, 2 failed, 0 skipped" in html
    assert "d.html</strong>: no text &lt;found&gt;" in html
    assert "big.txt</strong>: 25.0 MB is over the 20 MB upload limit" in html
    assert "nr-bad" in html
    assert "nr-ok" in present.report_html(IngestReport(added=["a.txt"]))
    assert "/srv" not in html


@pytest.mark.parametrize(
    ("item", "shown"),
    [
        ("/srv/newsrag/uploads/chips.txt", "chips.txt"),
        ("/srv/newsrag/uploads/feed.jsonl:17", "feed.jsonl:17"),
        ("file:///srv/newsrag/uploads/my%20notes.md", "my notes.md"),
        ("https://example.com/feed.xml", "https://example.com/feed.xml"),
    ],
)
def test_item_labels_hide_server_paths(item, shown):
    assert present.item_label(item) == shown


def test_streaming_message_escapes_partial_text():
    html = present.streaming_message("Alibaba <rose> [1")
    assert "&lt;rose&gt;" in html and "&#91;1" in html


def test_importing_present_does_not_import_gradio():
    code = "import sys, ui.present; print('gradio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_long_passages_show_the_evidence_with_context_and_the_whole_passage_on_request():
    before = " ".join(f"Before sentence {i} says little." for i in range(40))
    after = " ".join(f"After sentence {i} says little." for i in range(40))
    text = f"{before} The key fact is that <Kunlun> chips now train Ernie. {after}"
    evidence = ["The key fact is that <Kunlun> chips now train Ernie."]
    shown = present.excerpt(text, evidence)
    assert shown == (
        "… Before sentence 39 says little. <mark>The key fact is that &lt;Kunlun&gt; chips now train Ernie.</mark>"
        " After sentence 0 says little. …"
    )
    p = passage(text, 1)
    card = present.sources_html(Answer(question="q", text="x [1].", citations=[Citation(1, p, evidence)], passages=[p]))
    assert "<summary>Whole passage</summary>" in card and "Before sentence 0 says little" in card
    assert present.excerpt("Short. Passage.", ["Short."]) == "<mark>Short.</mark> Passage."
