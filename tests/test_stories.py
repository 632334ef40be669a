"""Stories (issue 13): copies found at ingest, stories kept through incremental ingest and delete, one copy of
a duplicate cluster in retrieval, and `newsrag stories`."""

from __future__ import annotations

import json
import random

import pytest
from fakes import fake_settings
from paths import BBC_TECH

import cli.main as cli
from rag.api import NewsQA
from ui import present

INK = "us-woman-sues-over-ink-cartridges.txt"
PS3_FIRST, PS3_LATER = "first-look-at-playstation-3-chip.txt", "playstation-3-chip-to-be-unveiled.txt"
RFID = "concern-over-rfid-tags.txt"


def bbc(name: str) -> tuple[str, str]:
    title, _, body = (BBC_TECH / name).read_text(encoding="utf-8").partition("\n")
    return title.strip(), body.strip()


def lightly_edited(text: str) -> str:
    """A syndicated copy: the last sentence cut, a name reworded, a credit line added."""
    return text.rsplit(". ", 1)[0].replace("Hewlett Packard", "HP Inc", 1) + ".\n\nFirst published by BBC News."


def record(name: str, source: str, published: str | None, *, text: str | None = None, slug: str = "") -> dict:
    title, body = bbc(name)
    url = f"https://{source.lower().replace(' ', '')}.example/{slug or name.removesuffix('.txt')}"
    return {"title": title, "text": text or body, "url": url, "source": source, "published": published}


def write(folder, name: str, records: list[dict]):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture
def qa(tmp_path, need_corpora):
    # The hash embedder's similarities are lower than a sentence model's; the entity and date rules still apply.
    return NewsQA(settings=fake_settings(tmp_path / "data", story_similarity=0.5, retrieval_mode="keyword"))


def by_title(qa) -> dict[str, dict]:
    """Stored articles by title (and source, when two share a title)."""
    rows = [{"id": aid, **meta} for aid, meta in qa.store.article_records().items()]
    titles = [r["title"] for r in rows]
    return {r["title"] if titles.count(r["title"]) == 1 else f"{r['title']} ({r['source']})": r for r in rows}


def chunk_story_ids(qa, article_id: str) -> set[str]:
    got = qa.store.get_chunks(where={"article_id": article_id})
    return {meta["story_id"] for meta in got["metadatas"]}


def test_copies_are_found_on_the_labelled_bbc_pairs(need_corpora):
    from eval.dedup import load_pairs, measure

    result = measure(load_pairs())
    assert result["duplicates"] >= 40 and result["pairs"] >= 300
    for pair in (
        ["tech/us-woman-sues-over-cartridges.txt", "tech/us-woman-sues-over-ink-cartridges.txt"],
        ["tech/fast-moving-phone-bugs-appear.txt", "tech/fast-moving-phone-viruses-appear.txt"],
        ["tech/concern-over-rfid-tags.txt", "tech/consumer-concern-over-rfid-tags.txt"],
    ):
        assert pair not in [m[:2] for m in result["missed"]]
    assert result["precision"] >= 0.95, result["false_positives"]
    assert result["recall"] >= 0.9, result["missed"]


def test_stories_hold_through_incremental_ingest_reingest_and_delete(qa, tmp_path):
    first = write(
        tmp_path / "day1",
        "news.jsonl",
        [
            record(INK, "BBC News", "2005-02-01"),
            record(PS3_FIRST, "BBC News", "2005-02-07"),
            record(RFID, "BBC News", "2005-02-03"),
        ],
    )
    assert len(qa.ingest([first]).added) == 3
    ink_text = bbc(INK)[1]
    second = write(
        tmp_path / "day2",
        "news.jsonl",
        [
            record(INK, "Reuters", "2005-02-02", text=lightly_edited(ink_text), slug="ink-copy"),
            record(PS3_LATER, "The Register", "2005-02-08"),
        ],
    )
    report = qa.ingest([second])
    assert len(report.added) == 2 and not report.duplicates  # a copy is stored, not refused like an exact repeat

    rows = by_title(qa)
    ink, ink_copy = rows[f"{bbc(INK)[0]} (BBC News)"], rows[f"{bbc(INK)[0]} (Reuters)"]
    ps3_first, ps3_later = rows[bbc(PS3_FIRST)[0]], rows[bbc(PS3_LATER)[0]]
    assert ink["story_id"] == ink_copy["story_id"] and ink["dup_id"] == ink_copy["dup_id"]
    assert ps3_first["story_id"] == ps3_later["story_id"]  # the same event, written separately: one story
    assert ps3_first["dup_id"] != ps3_later["dup_id"]  # but not copies
    assert len({ink["story_id"], ps3_first["story_id"], rows[bbc(RFID)[0]]["story_id"]}) == 3
    assert chunk_story_ids(qa, ink_copy["id"]) == {ink["story_id"]}  # retrieval sees it in the chunks

    story = qa.story(ps3_first["story_id"])
    assert [a["source"] for a in story.articles] == ["BBC News", "The Register"]  # date order
    assert (story.first, story.last, story.sources) == ("2005-02-07", "2005-02-08", ["BBC News", "The Register"])

    before = qa.store.article_records()
    again = qa.ingest([first, second])
    assert len(again.unchanged) == 5 and not again.added and not again.updated
    assert qa.store.article_records() == before

    # Deleting the story's first article leaves the copy in the same story, which no longer lists it.
    assert qa.delete(ink["id"]) == [ink["id"]]
    story = qa.story(ink["story_id"])
    assert [a["id"] for a in story.articles] == [ink_copy["id"]]
    assert story.sources == ["Reuters"] and story.first == "2005-02-02"
    assert chunk_story_ids(qa, ink_copy["id"]) == {ink["story_id"]}

    # The deleted article comes back: it joins its copy's story again.
    qa.ingest([first])
    assert by_title(qa)[f"{ink['title']} (BBC News)"]["story_id"] == ink["story_id"]
    assert len(qa.story(ink["story_id"]).articles) == 2


def _sentences(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    words = [f"w{i}x" for i in range(3000)]
    return [" ".join(rng.sample(words, 12)) + "." for _ in range(n)]


def test_deleting_the_only_link_splits_a_story(qa, tmp_path):
    blocks = [" ".join(_sentences(3, seed)) for seed in range(6)]
    texts = {"a": blocks[0:4], "b": blocks[1:5], "c": blocks[2:6]}  # a~b and b~c are copies, a and c are not
    records = [
        {"title": f"report {name}", "text": " ".join(parts), "url": f"https://x.example/{name}", "source": name}
        for name, parts in texts.items()
    ]
    qa.ingest([write(tmp_path / "c", "chain.jsonl", records)])
    rows = {r["title"][-1]: r for r in by_title(qa).values()}
    assert len({r["story_id"] for r in rows.values()}) == 1 and len({r["dup_id"] for r in rows.values()}) == 1

    qa.delete(rows["b"]["id"])
    after = {r["title"][-1]: r for r in by_title(qa).values()}
    assert after["a"]["story_id"] != after["c"]["story_id"]
    assert after["a"]["dup_id"] != after["c"]["dup_id"]
    assert rows["a"]["story_id"] in {after["a"]["story_id"], after["c"]["story_id"]}  # one part keeps the id
    for name in "ac":
        assert chunk_story_ids(qa, after[name]["id"]) == {after[name]["story_id"]}


def test_retrieval_shows_one_copy_and_names_the_others(qa, tmp_path):
    ink_text = bbc(INK)[1]
    corpus = write(
        tmp_path / "c",
        "news.jsonl",
        [
            record(INK, "BBC News", "2005-02-01"),
            record(INK, "Reuters", "2005-02-02", text=lightly_edited(ink_text), slug="copy"),
            record(INK, "AP", "2005-02-02", text=ink_text.replace("Hewlett Packard", "H-P"), slug="copy2"),
            record(RFID, "BBC News", "2005-02-03"),
        ],
    )
    qa.ingest([corpus])
    passages = qa.retrieve("Why did the woman sue Hewlett Packard over ink cartridges?", k=4, now="2005-03-01")
    ink_passages = [p for p in passages if "cartridges" in p.title]
    assert ink_passages and len({p.article_id for p in ink_passages}) == 1
    shown = ink_passages[0]
    assert sorted([*shown.also_reported_by, shown.source]) == ["AP", "BBC News", "Reuters"]
    assert shown.story_id
    note = present.also_reported(shown)
    assert note.startswith("also reported by 2 sources: ")
    html = present.sources_html(_answer_citing(shown))
    assert "also reported by 2 sources" in html


def _answer_citing(passage):
    from core.types import Answer, Citation

    return Answer(question="q", text="It did [1].", citations=[Citation(1, passage)], passages=[passage])


def test_stories_command_lists_stories_with_dates_articles_and_sources(qa, tmp_path, monkeypatch, capsys):
    corpus = write(
        tmp_path / "c",
        "news.jsonl",
        [
            record(PS3_FIRST, "BBC News", "2005-02-07"),
            record(PS3_LATER, "The Register", "2005-02-08"),
            record(RFID, "BBC News", "2005-01-03"),
        ],
    )
    qa.ingest([corpus])
    monkeypatch.setattr(cli, "_qa", lambda args: qa)

    assert cli.main(["stories"]) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert "2005-02-07 – 2005-02-08 · 2 articles · BBC News, The Register" in out
    assert out.index("PlayStation") < out.index("RFID")  # newest first

    assert cli.main(["stories", "--since", "2005-02-01"]) == cli.EXIT_OK
    assert "RFID" not in capsys.readouterr().out
    assert cli.main(["stories", "rfid", "--json"]) == cli.EXIT_OK
    listed = json.loads(capsys.readouterr().out)
    assert [s["title"] for s in listed] == [bbc(RFID)[0]] and listed[0]["articles"][0]["source"] == "BBC News"
    assert cli.main(["stories", "--min-articles", "2"]) == cli.EXIT_OK
    assert "RFID" not in capsys.readouterr().out


def test_search_prints_the_other_sources_of_a_copy(qa, tmp_path, monkeypatch, capsys):
    ink_text = bbc(INK)[1]
    qa.ingest(
        [
            write(
                tmp_path / "c",
                "news.jsonl",
                [
                    record(INK, "BBC News", None),
                    record(INK, "Reuters", None, text=lightly_edited(ink_text), slug="copy"),
                ],
            )
        ]
    )
    monkeypatch.setattr(cli, "_qa", lambda args: qa)
    assert cli.main(["search", "ink cartridges lawsuit"]) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert "— BBC News" in out and "— Reuters" not in out  # the copy is not listed again
    assert "(also reported by 1 source: Reuters)" in out
