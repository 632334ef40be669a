"""The Library's story view in a real browser (headless Debian Chromium driven by Playwright): a story of
three reports, opened from the story table, lists its articles in date order; a timeline question about it is
answered as a dated, cited list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes import ScriptedLLM, fake_settings
from paths import BBC_TECH, REPO
from servers import free_port

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
OUT = REPO / "test-output"
# The same PS3 news from three outlets, fed in out of date order; one unrelated article.
REPORTS = [
    ("playstation-3-chip-to-be-unveiled.txt", "The Register", "2005-02-08"),
    ("first-look-at-playstation-3-chip.txt", "BBC News", "2005-02-07"),
    ("first-look-at-playstation-3-chip.txt", "Reuters", "2005-02-09"),
    ("concern-over-rfid-tags.txt", "BBC News", "2005-02-03"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not BBC_TECH.is_dir():
        pytest.skip("../shared/corpora is not beside this checkout")
    import app
    from rag.api import NewsQA

    root = tmp_path_factory.mktemp("stories")
    records = []
    for n, (name, source, published) in enumerate(REPORTS):
        title, _, body = (BBC_TECH / name).read_text(encoding="utf-8").partition("\n")
        url = f"https://news{n}.example/{name.removesuffix('.txt')}"
        records.append(
            {
                "title": title.strip(),
                "text": f"{body.strip()}\n\nReporting by {source}.",
                "url": url,
                "source": source,
                "published": published,
            }
        )
    corpus = root / "news.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    settings = fake_settings(root / "data", retrieval_mode="keyword", story_similarity=0.5, now="2005-03-01")
    qa = NewsQA(settings=settings, llm=ScriptedLLM())
    assert len(qa.ingest([corpus]).added) == 4
    demo = app.build_app(qa)
    _, url, _ = app.launch(demo, settings, port=free_port(), prevent_thread_lock=True, quiet=True)
    yield url, qa
    demo.close()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Debian Chromium is not installed at /usr/bin/chromium (make browser installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def test_library_opens_a_story_with_its_articles_in_date_order(browser, server):
    url, qa = server
    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    page.set_default_timeout(60_000)  # generous: CI may share the 2 cores with a real-model eval
    page.goto(url)
    page.wait_for_selector("#nr-question textarea")
    page.wait_for_function("document.querySelector('#nr-status').innerText.includes('articles')", polling=250)
    page.get_by_role("tab", name="Library").click()
    page.wait_for_function("document.querySelector('#nr-story-table').innerText.includes('PlayStation')", polling=250)
    table = page.locator("#nr-story-table").inner_text()
    assert "RFID" not in table  # a story of one article is only in the article table
    page.locator("#nr-story-table :text('First look at PlayStation 3 chip') >> visible=true").first.click()
    page.wait_for_function("document.querySelector('#nr-story-picker input').value.includes('3 articles')", polling=250)
    page.click("#nr-story-open")
    page.wait_for_selector("#nr-story .nr-story-article")
    items = page.locator("#nr-story .nr-story-article").all_inner_texts()
    assert [item.split("— ")[-1].split(",")[0] for item in items] == ["BBC News", "The Register", "Reuters"]
    assert "3 articles" in page.locator("#nr-story .nr-meta").inner_text()
    OUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUT / "library-story.png"), full_page=True)
    page.close()


def test_a_timeline_question_is_answered_as_a_dated_list_in_date_order(browser, server):
    url, qa = server
    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    page.set_default_timeout(60_000)  # generous: CI may share the 2 cores with a real-model eval
    page.goto(url)
    page.wait_for_selector("#nr-question textarea")
    page.wait_for_function("document.querySelector('#nr-status').innerText.includes('articles')", polling=250)
    page.fill("#nr-question textarea", "How did the news about the PlayStation 3 Cell chip develop?")
    page.click("#nr-send")
    page.wait_for_selector("#nr-chat .nr-timeline li")
    # BBC News's report, then The Register's; Reuters ran a copy of BBC's text: the same event, not a bullet
    dates = page.locator("#nr-chat .nr-timeline .nr-when").all_inner_texts()
    assert dates == ["7 Feb 2005", "8 Feb 2005"]
    assert page.locator("#nr-chat .nr-timeline a.nr-cite").count() == 2  # every event is cited
    page.wait_for_selector("#nr-sources .nr-card")
    assert qa._llm.calls == 0  # built from the articles, not by the model
    OUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUT / "timeline-answer.png"), full_page=True)
    page.close()
