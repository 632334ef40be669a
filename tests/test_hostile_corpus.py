"""A hostile corpus end to end: bad files and feeds among good ones, through NewsQA.ingest with the hash embedder.

Every item is either stored or reported with a reason a user can act on; the rest of the batch is stored; nothing
crashes or hangs; the counts afterwards are exact, and a second ingest changes nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from index_state import assert_consistent, qa_state

from rag.api import NewsQA


def body(company: str) -> str:
    return f"{company} is a company that makes things. " + f"Analysts said {company} grew fast in the quarter. " * 6


ENTITY_BOMB = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol0 "lol">\n'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">\n' for i in range(1, 10))
    + ']>\n<rss version="2.0"><channel><title>Bomb</title><item><title>Boom</title>'
    "<description>&lol9;</description><link>https://example.com/boom</link></item></channel></rss>"
)

FEED_ITEMS = [  # (title, link, pubDate, expected published in UTC or None)
    ("Lambdacorp grows", "https://example.com/lambda", "Tue, 10 Jun 2025 23:30:00 +0530", datetime(2025, 6, 10, 18, 0)),
    ("Mucorp grows", "https://example.com/mu", "2025-06-10T18:00:00-07:00", datetime(2025, 6, 11, 1, 0)),
    ("Nucorp grows", "https://example.com/nu", "Sun, 01 Jun 2025 12:00:00 PST", datetime(2025, 6, 1, 20, 0)),
    ("Xicorp grows", None, None, None),  # no link, no date
    ("Omicroncorp grows", "https://example.com/omicron", "not a date at all", None),
    ("Picorp grows", "https://example.com/pi", "1749556800", datetime(2025, 6, 10, 12, 0)),
    ("Rhocorp grows", "https://example.com/rho", "3025-01-01T00:00:00Z", None),  # absurd future date
]


def feed_xml() -> str:
    parts = ['<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Odd Feed</title>'
             "<link>https://example.com/</link>"]  # fmt: skip
    for title, link, date, _ in FEED_ITEMS:
        link_tag = f"<link>{link}</link>" if link else ""
        date_tag = f"<pubDate>{date}</pubDate>" if date else ""
        parts.append(
            f"<item><title>{title}</title>{link_tag}{date_tag}<description>{body(title.split()[0])}</description></item>"
        )
    return "".join(parts) + "</channel></rss>"


@pytest.fixture
def hostile(tmp_path) -> Path:
    root = tmp_path / "corpus"
    good, bad, feeds = root / "good", root / "bad", root / "feeds"
    for folder in (good, bad, feeds):
        folder.mkdir(parents=True)
    (good / "alpha.txt").write_text("Alphacorp grows\n\n" + body("Alphacorp"), encoding="utf-8")
    (good / "alpha-copy.txt").write_text("Alphacorp grows\n\n" + body("Alphacorp"), encoding="utf-8")
    (good / "beta.md").write_text("---\ndate: 2025-02-03T10:00:00+09:00\n---\n# Betacorp grows\n\n" + body("Betacorp"))
    (good / "cafe.txt").write_bytes(
        ("Café société opens in Zürich\n\n" + body("Cafécorp") + " Crème brûlée.").encode("cp1252")
    )
    (good / "utf16.txt").write_bytes(("Gammacorp grows\n\n" + body("Gammacorp")).encode("utf-16"))
    (good / "page.html").write_text(
        "<html><head><title>Deltacorp grows</title>"
        "<meta property='article:published_time' content='2025-04-05T08:00:00Z'></head>"
        f"<body><article><h1>Deltacorp grows</h1><p>{body('Deltacorp')}</p><p>{body('Deltacorp')}</p></article></body></html>"
    )
    (good / "broken.html").write_text(
        f"<html><body><div><p>Epsiloncorp grows<p>{body('Epsiloncorp')}<div><span><b>unclosed <i>tags "
        f"<table><tr><td>{body('Epsiloncorp')}</html></div></p><<<>>> &bogus; </"
    )
    (good / "records.jsonl").write_text(
        json.dumps(
            {
                "title": "Zetacorp grows",
                "text": body("Zetacorp"),
                "url": "https://example.com/zeta",
                "date": "2025-05-06",
            }
        )
        + "\n{broken json\n"
        + json.dumps(["not", "an object"])
        + "\n"
    )
    (good / "nested.html").write_text(
        "<html><body>" + "<div>" * 100_000 + body("Iotacorp") + "</div>" * 100_000 + "</body></html>"
    )
    (bad / "empty.txt").write_bytes(b"")
    (bad / "blank.md").write_text("   \n\n\t \n")
    (bad / "binary.txt").write_bytes(bytes(range(256)) * 64)
    (bad / "binary-no-nul.txt").write_bytes(bytes(range(1, 32)) * 500)
    (bad / "headline-only.txt").write_text("Just a headline\n")
    (bad / "truncated.json").write_text(json.dumps([{"title": "Kappacorp grows", "text": body("Kappacorp")}])[:-40])
    (bad / "notes.pdf").write_bytes(b"%PDF-1.4 binary")
    with (bad / "huge.txt").open("wb") as handle:  # 50 MB of real text
        line = b"Huge text line that repeats itself for a very long time indeed.\n"
        handle.write(line * (50 * 1024 * 1024 // len(line) + 1))
    (feeds / "bomb.rss").write_text(ENTITY_BOMB)
    (feeds / "odd.rss").write_text(feed_xml(), encoding="utf-8")
    (feeds / "truncated.xml").write_text(feed_xml()[:400], encoding="utf-8")
    return root


STORED_TITLES = {
    "Alphacorp grows", "Betacorp grows", "Café société opens in Zürich", "Gammacorp grows", "Deltacorp grows",
    "Epsiloncorp grows", "Zetacorp grows", *(t for t, *_ in FEED_ITEMS),
}  # fmt: skip

FAILED = {  # file name -> words the reason must contain
    "empty.txt": "empty",
    "blank.md": "empty",
    "binary.txt": "binary",
    "binary-no-nul.txt": "binary",
    "headline-only.txt": "no article text",
    "truncated.json": "malformed JSON",
    "huge.txt": "20 MB",
    "bomb.rss": "entities",
    "truncated.xml": "",
    "records.jsonl:2": "malformed JSON at line 2",
    "records.jsonl:3": "not a JSON object",
}


@pytest.mark.timeout(120)
def test_hostile_corpus_is_stored_or_refused_item_by_item(hostile, settings):
    qa = NewsQA(settings=settings)
    report = qa.ingest([hostile])

    failed = {Path(item).name: reason for item, reason in report.failed}
    assert set(failed) == set(FAILED), report.failed
    for name, words in FAILED.items():
        assert words in failed[name] and len(failed[name]) < 120, (name, failed[name])
    assert [Path(item).name for item, _ in report.skipped] == ["notes.pdf"]
    assert "unsupported" in report.skipped[0][1]
    assert [(Path(a).name, Path(b).name) for a, b in report.duplicates] == [("alpha.txt", "alpha-copy.txt")]

    titles = {a["title"] for a in qa.articles()}
    assert STORED_TITLES <= titles
    assert len(titles - STORED_TITLES) == 1  # the deeply nested page, stored under whatever title it yields
    stats = qa.stats()
    assert stats["articles"] == len(STORED_TITLES) + 1 == len(report.added)
    assert_consistent(qa_state(qa))

    published = {a["title"]: a["published"] for a in qa.articles()}
    for title, _, _, expected in FEED_ITEMS:
        want = expected.replace(tzinfo=UTC).isoformat() if expected else ""
        assert published[title] == want, title
    assert published["Betacorp grows"] == "2025-02-03T01:00:00+00:00"
    cafe = [a["id"] for a in qa.articles("Café")][0]
    assert "Crème brûlée" in qa.article_text(cafe)
    assert qa.retrieve("Iotacorp", k=1)[0].text.startswith("Iotacorp is a company")

    again = NewsQA(settings=qa.settings).ingest([hostile])
    assert len(again.unchanged) == len(report.added) and not again.added and not again.updated
    assert {Path(i).name for i, _ in again.failed} == set(FAILED)
    assert qa.stats() == stats


@pytest.mark.timeout(60)
def test_file_that_vanishes_while_the_folder_is_read(tmp_path, settings, monkeypatch):
    from ingest import readers

    folder = tmp_path / "corpus"
    folder.mkdir()
    for name in ("one", "two", "three"):
        (folder / f"{name}.txt").write_text(f"{name.title()}corp grows\n\n{body(name.title() + 'corp')}")
    original = readers._walk

    def walk_then_delete(path):
        found = original(path)
        (folder / "two.txt").unlink()  # gone between the listing and the read
        return found

    monkeypatch.setattr(readers, "_walk", walk_then_delete)
    qa = NewsQA(settings=settings)
    report = qa.ingest([folder])
    assert [Path(item).name for item in report.added] == ["one.txt", "three.txt"]
    assert [(Path(item).name, reason) for item, reason in report.failed] == [
        ("two.txt", "file disappeared while reading")
    ]
    assert qa.stats()["articles"] == 2


def test_mostly_utf8_text_with_a_few_cp1252_bytes_keeps_its_utf8_characters(tmp_path, settings):
    folder = tmp_path / "corpus"
    folder.mkdir()
    data = ("Thetacorp grows\n\n" + body("Thetacorp") + " A naïve café in Zürich.").encode() + " Déjà vu.".encode(
        "cp1252"
    )
    (folder / "mixed.txt").write_bytes(data)
    qa = NewsQA(settings=settings)
    report = qa.ingest([folder])
    assert len(report.added) == 1
    text = qa.article_text(qa.articles()[0]["id"])
    assert "A naïve café in Zürich." in text and "Déjà vu." in text
