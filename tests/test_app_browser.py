"""The app in a real browser (headless Debian Chromium driven by Playwright): what a user sees and clicks.

The app runs in this process over a small index (hash embedder, keyword retrieval) with a fake LLM
that answers by rule, slowly enough for streaming to be visible. Screenshots go to test-output/.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fakes import ScriptedLLM, fake_settings
from paths import REPO, SAMPLE_CORPUS
from servers import free_port

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SAMPLE = SAMPLE_CORPUS
OUT = REPO / "test-output"
SEED_URL = "https://www.hawkinsight.com/en/article/alibaba-baidu-ai-chips"
EVIL = '<script>window.__pwned=1</script> and <img src=x onerror="window.__pwned=1">'
REFUSAL = "The indexed articles don't contain the answer to this question."

FIRST_QUESTION = "Why are Alibaba and Baidu training AI on their own chips?"
FIRST_REPLY = (
    "Alibaba and Baidu are accelerating the adoption of self-developed chips to train their own "
    "artificial intelligence models, gradually replacing the hardware of GPU suppliers such as Nvidia [1]."
)
FOLLOW_UP = "And how much did their shares rise?"
REWRITE = "How much did Alibaba and Baidu shares rise in Hong Kong?"
FOLLOW_UP_REPLY = "Alibaba's gain was close to 7%, and Baidu also rose more than 6% [1]."


def make_rule_llm(rule: Callable[[str], str], delay: float = 0.0) -> ScriptedLLM:
    """A llama-index LLM whose reply is rule(prompt); streamed in small pieces, `delay` seconds apart."""
    return ScriptedLLM(rule=rule, piece_chars=6, piece_delay=delay)


def answer_rule(prompt: str) -> str:
    if "Standalone question:" in prompt:
        return REWRITE
    question = prompt.rsplit("Question:", 1)[-1].split("\n", 1)[0]
    if "shares" in question:
        return FOLLOW_UP_REPLY
    if "chips" in question:
        return FIRST_REPLY
    return REFUSAL


def _body(path: Path) -> tuple[str, str]:
    text = path.read_text(encoding="utf-8")
    if text.startswith("---\n"):  # front matter (the seed's date)
        text = text.split("\n---\n", 1)[1]
    title, _, body = text.partition("\n")
    return title.strip(), body.strip()


def write_corpus(folder: Path) -> Path:
    """Three news articles with links and sources (JSONL) and one hostile article (plain text)."""
    folder.mkdir(parents=True)
    records = []
    for path, url, source, published in [
        (SAMPLE / "seed" / "alibaba-baidu-ai-chips.txt", SEED_URL, "Hawk Insight", "2025-09-12"),
        (
            SAMPLE / "tech" / "cyber-crime-booms-in-2004.txt",
            "https://news.bbc.co.uk/tech/cyber-crime",
            "BBC News",
            None,
        ),
        (
            SAMPLE / "tech" / "mobiles-double-up-as-bus-tickets.txt",
            "https://news.bbc.co.uk/tech/bus-tickets",
            "BBC News",
            None,
        ),
    ]:
        title, body = _body(path)
        records.append({"title": title, "text": body, "url": url, "source": source, "published": published})
    (folder / "news.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    (folder / "hostile.txt").write_text(
        f'Hostile <b>headline</b> <img src=x onerror="window.__pwned=1">\n\n'
        f"This article hides {EVIL} inside its text, and a template ${{window.__pwned=1}} too. "
        "Nothing in it should ever run in a reader's browser.\n",
        encoding="utf-8",
    )
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app over a small index, served on a free loopback port; yields (url, qa, llm)."""
    import app
    from rag.api import NewsQA

    root = tmp_path_factory.mktemp("app")
    settings = fake_settings(
        root / "data",
        retrieval_mode="keyword",
        top_k=3,
        max_upload_mb=0.05,
        allow_hosts=["127.0.0.1"],  # the Feeds test's publisher runs on loopback
        now="2025-09-20",
    )
    llm = make_rule_llm(answer_rule, delay=0.12)
    qa = NewsQA(settings=settings, llm=llm)
    report = qa.ingest([write_corpus(root / "corpus")])
    assert len(report.added) == 4, report.summary()
    from ui import feeds_tab

    feeds_tab.STATUS_EVERY_S = 1  # the status line's "new since you opened" shows up without a long wait
    demo = app.build_app(qa)
    _, url, _ = app.launch(demo, settings, port=free_port(), prevent_thread_lock=True, quiet=True)
    yield url, qa, llm
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


@pytest.fixture
def page(browser, server):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)  # generous: CI may share the 2 cores with a real-model eval
    # wait_for_function polls every 250 ms in these tests rather than on animation frames (added while chasing the
    # Feeds-tab CI failure, whose cause turned out to be in the app: ingest times cut to the second).
    page.goto(server[0])
    page.wait_for_selector("#nr-question textarea")
    page.wait_for_function("document.querySelector('#nr-status').innerText.includes('articles')", polling=250)
    yield page
    page.close()


def ask(page, question: str) -> None:
    page.fill("#nr-question textarea", question)
    page.click("#nr-send")


def last_bot_message(page):
    return page.locator("#nr-chat [data-testid='bot']").last


def shot(page, name: str) -> None:
    OUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUT / name), full_page=True)


def test_answer_streams_in_with_linked_sources_and_a_follow_up_works(page, server):
    _, _, llm = server
    ask(page, FIRST_QUESTION)
    # Streaming: part of the reply is on screen before the answer is finished.
    page.wait_for_selector("#nr-chat .nr-streaming:has-text('Alibaba and Baidu')")
    page.wait_for_selector("#nr-sources .nr-card")
    message = last_bot_message(page)
    assert "self-developed chips" in message.inner_text()
    assert page.locator("#nr-chat .nr-streaming").count() == 0

    # The [1] marker links to source card 1, which shows title, source, date, link and highlighted evidence.
    marker = message.locator("a.nr-cite").first
    assert marker.inner_text() == "[1]"
    card = page.locator(marker.get_attribute("href"))
    assert card.count() == 1
    assert "Alibaba Baidu develops its own AI chips" in card.locator(".nr-title").inner_text()
    assert card.locator(".nr-title").get_attribute("href") == SEED_URL
    meta = card.locator(".nr-meta").inner_text()
    assert "Hawk Insight" in meta and "12 Sep 2025" in meta
    assert "self-developed chips" in " ".join(card.locator("mark").all_inner_texts())
    shot(page, "app-chat.png")

    # A follow-up is rewritten with the conversation, then answered from the passages.
    ask(page, FOLLOW_UP)
    page.wait_for_selector("#nr-sources .nr-sources-for:has-text('searched as')")
    assert "7%" in last_bot_message(page).inner_text()
    assert REWRITE in page.inner_text("#nr-sources")
    condense_prompt = next(p for p in reversed(llm.prompts) if "Standalone question:" in p)
    assert FIRST_QUESTION in condense_prompt  # the history reached the model
    assert page.locator("#nr-chat [data-testid='bot']").count() == 2
    shot(page, "app-follow-up.png")

    # "New conversation" empties the chat and the sources panel.
    page.click("#nr-clear")
    page.wait_for_function("document.querySelectorAll('#nr-chat [data-testid=\"bot\"]').length === 0", polling=250)
    assert page.locator("#nr-sources .nr-card").count() == 0


def test_an_example_question_is_asked_when_clicked(page):
    page.locator("#nr-chat button:has-text('Why are Alibaba and Baidu')").first.click()
    page.wait_for_selector("#nr-sources .nr-card")
    assert FIRST_QUESTION in page.locator("#nr-chat [data-testid='user']").first.inner_text()
    assert "self-developed chips" in last_bot_message(page).inner_text()


def test_refusal_looks_different_from_an_answer(page):
    ask(page, "What is the weather like on Mars today?")
    page.wait_for_selector("#nr-chat .nr-refusal")
    assert "Not in the indexed articles" in last_bot_message(page).inner_text()
    assert last_bot_message(page).locator("a.nr-cite").count() == 0
    assert page.locator("#nr-sources .nr-card").count() == 0
    shot(page, "app-refusal.png")


def test_bad_date_filter_gives_a_readable_warning(page):
    page.fill("#nr-since textarea, #nr-since input", "last week")
    ask(page, FIRST_QUESTION)
    page.wait_for_selector("text=YYYY-MM-DD")
    assert page.locator("#nr-chat [data-testid='bot']").count() == 0
    assert "Traceback" not in page.content()


def test_source_filter_applies_to_the_next_question(page):
    page.click("#nr-sources-filter input")
    page.get_by_role("option", name="BBC News").click()
    page.keyboard.press("Escape")
    ask(page, FIRST_QUESTION)  # the only article that answers it is from Hawk Insight
    page.wait_for_selector("#nr-sources .nr-sources-for")
    assert "Hawk Insight" not in page.inner_text("#nr-sources")
    assert "Hawk Insight" not in last_bot_message(page).inner_text()


def test_upload_adds_an_article_and_oversized_files_are_refused(page, server, tmp_path):
    _, qa, _ = server
    before = qa.stats()["articles"]
    upload = tmp_path / "quasar-widgets.md"
    upload.write_text(
        "# Quasar widgets go on sale\n\nThe Quasar widget, a pocket telescope for phones, went on sale in Oslo.\n",
        encoding="utf-8",
    )
    page.get_by_role("tab", name="Add news").click()
    page.set_input_files("#nr-files input[type=file]", str(upload))
    page.wait_for_selector("#nr-files :text('quasar-widgets.md')")
    page.click("#nr-add")
    page.wait_for_selector("#nr-report .nr-report")
    assert "1 added" in page.inner_text("#nr-report")
    page.wait_for_function(
        f"document.querySelector('#nr-status').innerText.includes('{before + 1} articles')", polling=250
    )
    assert qa.stats()["articles"] == before + 1
    shot(page, "app-add-news.png")

    big = tmp_path / "big.txt"
    big.write_text("Big file\n\n" + "word " * 20_000, encoding="utf-8")  # ~100 KB, over the 0.05 MB limit
    page.set_input_files("#nr-files input[type=file]", str(big))
    page.wait_for_selector("text=/exceed the maximum allowed size/i")  # gradio's own check, before any upload
    assert qa.stats()["articles"] == before + 1


def test_hostile_article_shows_as_text_and_runs_nothing(page):
    page.get_by_role("tab", name="Library").click()
    page.wait_for_selector("#nr-lib-table :text('Hostile')")
    # The title with markup is shown literally in the table.
    assert 'Hostile <b>headline</b> <img src=x onerror="window.__pwned=1">' in page.inner_text("#nr-lib-table")
    page.locator("#nr-lib-table :text('Hostile') >> visible=true").first.click()
    page.wait_for_function("document.querySelector('#nr-lib-picker input').value.includes('Hostile')", polling=250)
    page.click("#nr-lib-open")
    page.wait_for_selector("#nr-article .nr-article-text")
    text = page.inner_text("#nr-article")
    assert "<script>window.__pwned=1</script>" in text
    assert '<img src=x onerror="window.__pwned=1">' in text
    assert "${window.__pwned=1}" in text
    assert page.locator("#nr-article script, #nr-article img").count() == 0
    assert page.evaluate("window.__pwned") is None
    shot(page, "app-hostile-article.png")


def test_library_deletes_an_article(page, server):
    _, qa, _ = server
    before = qa.stats()["articles"]
    page.get_by_role("tab", name="Library").click()
    page.fill("#nr-lib-query input, #nr-lib-query textarea", "bus")
    page.click("#nr-lib-search")
    page.wait_for_function("!document.querySelector('#nr-lib-table').innerText.includes('Cyber crime')", polling=250)
    page.locator("#nr-lib-table :text('Mobiles double up') >> visible=true").first.click()
    page.wait_for_function("document.querySelector('#nr-lib-picker input').value.includes('Mobiles')", polling=250)
    page.click("#nr-lib-delete")
    page.wait_for_selector("#nr-article :text('Article deleted')")
    assert qa.stats()["articles"] == before - 1
    assert not any("Mobiles" in r["title"] for r in qa.articles())


def test_feeds_tab_subscribes_refreshes_shows_failures_and_unsubscribes(page, server):
    from feed_server import Feed, FeedServer, Item, bbc_article

    _, qa, _ = server
    before = qa.stats()["articles"]
    items = [
        Item(*bbc_article(name), link=f"https://loop.example/{n}", guid=f"b{n}", date=f"2025-09-1{n}T08:00:00Z")
        for n, name in enumerate(["ds-aims-to-touch-gamers.txt", "casual-gaming-to-take-off.txt"])
    ]
    with FeedServer() as publisher:
        publisher.feeds["/games.xml"] = Feed("Loop Games", items)
        publisher.responses["/down.xml"] = (500, {}, b"")
        page.get_by_role("tab", name="Feeds").click()
        page.fill("#nr-feed-url input, #nr-feed-url textarea", publisher.url("/games.xml"))
        page.fill("#nr-feed-every input, #nr-feed-every textarea", "30m")
        page.click("#nr-feed-add")
        page.wait_for_selector("#nr-feed-report :text('2 new')")
        table = page.inner_text("#nr-feeds-table")
        assert "Loop Games" in table and "30m" in table and "ok" in table
        page.wait_for_selector("#nr-status :text('2 new articles since you opened this page')")
        assert qa.stats()["articles"] == before + 2

        # A failing feed shows its status and last error; the others are unaffected.
        page.fill("#nr-feed-url input, #nr-feed-url textarea", publisher.url("/down.xml"))
        page.click("#nr-feed-add")
        page.wait_for_selector("#nr-feed-report .nr-bad:has-text('HTTP 500')")
        page.wait_for_selector("#nr-feeds-table :text('1 failures in a row') >> visible=true")

        # The feed changes; "Refresh now" on it fetches the new entry only.
        publisher.feeds["/games.xml"].items.append(
            Item(*bbc_article("gritty-return-for-prince-of-persia.txt"), link="https://loop.example/2", guid="b2")
        )
        page.click("#nr-feed-picker input")
        page.get_by_role("option", name=f"Loop Games — {publisher.url('/games.xml')}").click()
        page.click("#nr-feed-refresh")
        page.wait_for_selector("#nr-feed-report :text('1 new, 0 changed, 2 unchanged')")
        assert publisher.requests["/games.xml"] == 2
        shot(page, "app-feeds.png")

        page.click("#nr-feed-picker input")
        page.get_by_role("option", name=f"{publisher.url('/down.xml')} — {publisher.url('/down.xml')}").click()
        page.click("#nr-feed-remove")
        page.wait_for_selector("#nr-feed-report :text('Unsubscribed')")
        page.wait_for_function("!document.querySelector('#nr-feeds-table').innerText.includes('down.xml')", polling=250)

    # The Library sorts by date added: the feed's last entry is first.
    page.get_by_role("tab", name="Library").click()
    page.click("#nr-lib-sort label:has-text('Date added')")
    first_added_first = (
        "(() => { const t = document.querySelector('#nr-lib-table').innerText;"
        " const p = t.indexOf('Prince of Persia'), d = t.indexOf('DS aims'); return p >= 0 && d > p; })()"
    )
    # added last, undated: first by date added, not by publication
    page.wait_for_function(first_added_first, polling=250)


def test_date_chip_shows_the_filter_and_removing_it_asks_again_without_it(page, server):
    _, _, llm = server
    ask(page, "Why are Alibaba and Baidu training AI on their own chips this month?")
    page.wait_for_selector("#nr-sources .nr-card")
    chip = page.locator("#nr-date-chip")
    chip.wait_for(state="visible")
    assert "this month: 2025-09-01 to 2025-09-20" in chip.inner_text()
    asked = len(llm.prompts)
    chip.click()
    chip.wait_for(state="hidden")
    page.wait_for_function("document.querySelectorAll('#nr-chat [data-testid=bot]').length === 1", polling=250)
    page.wait_for_selector("#nr-sources .nr-card")
    assert len(llm.prompts) > asked  # asked again, without the date filter
    assert "self-developed chips" in last_bot_message(page).inner_text()

    ask(page, "What did Alibaba and Baidu do with chips in March 2005?")
    page.wait_for_selector("#nr-chat .nr-refusal:has-text('No indexed article is dated in March 2005')")
    assert "2005-03-01 to 2005-03-31" in page.inner_text("#nr-date-chip")
