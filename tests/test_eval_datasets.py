"""The committed evaluation datasets: well-formed, consistent with the corpus text, and big enough."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from paths import SHARED_CORPORA

from eval.datasets_io import QUESTION_TYPES, DatasetError, load_dataset, resolve_dataset, source_problems

CORPORA = SHARED_CORPORA
DEV = (
    "trust-dev",
    "followup-dev",
    "trust-dev2",
    "trust-dev3",
    "trust-dev4",
    "trust-dev5",
    "trust-dev6",
    "trust-dev7",
    "trust-dev8",
)  # tuned on; none may share an article with trust-test
TRUST = (*DEV, "trust-test")
SUITES = ("seed", "bbc-tech", *TRUST)


@pytest.fixture(scope="module")
def corpora() -> Path:
    if not (CORPORA / "bbc-news").is_dir() or not (CORPORA / "seed").is_dir():
        pytest.skip(f"the shared corpora are not at {CORPORA} (they sit beside the checkout as ../shared/corpora)")
    return CORPORA


@pytest.mark.parametrize("suite", SUITES)
def test_every_line_parses_with_required_fields_and_unique_ids(suite):
    path = resolve_dataset(suite)
    ids = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        assert {"id", "question", "answers", "sources", "type"} <= row.keys(), row
        assert row["type"] in QUESTION_TYPES
        ids.append(row["id"])
    assert len(ids) == len(set(ids))
    assert len(load_dataset(suite)) == len(ids)


@pytest.mark.parametrize("suite", SUITES)
def test_questions_agree_with_their_source_articles(suite, corpora):
    problems = [p for q in load_dataset(suite) for p in source_problems(q, corpora)]
    assert problems == []


@pytest.mark.parametrize("suite", SUITES)
def test_unanswerable_questions_have_no_answers_or_sources(suite):
    for q in load_dataset(suite):
        if q.type == "unanswerable":
            assert q.answers == [] and q.sources == [], q.id
        elif q.type == "nearmiss":  # unanswerable, but about an article that discusses the subject
            assert q.answers == [] and q.sources and q.evidence, q.id
        elif q.type == "synthesis":
            assert q.points and q.sources, q.id
        else:
            assert q.answers and q.sources, q.id


def test_seed_suite_size():
    questions = load_dataset("seed")
    assert len(questions) >= 20
    assert sum(q.type == "unanswerable" for q in questions) >= 4
    assert {s for q in questions for s in q.sources} == {"seed/alibaba-baidu-ai-chips.txt"}


def test_bbc_tech_suite_size_and_spread():
    questions = load_dataset("bbc-tech")
    assert len(questions) >= 80
    articles = {s for q in questions for s in q.sources}
    assert len(articles) >= 50
    assert all(s.startswith("bbc-news/tech/") for s in articles)
    multi = [q for q in questions if q.type == "multi"]
    assert len(multi) >= 10
    assert all(len(set(q.sources)) >= 2 for q in multi)
    assert sum(q.type == "unanswerable" for q in questions) >= 10


def test_bbc_tech_questions_are_paraphrased_not_copied(corpora):
    """A question that repeats a long stretch of its article makes retrieval too easy to measure anything."""
    for q in load_dataset("bbc-tech"):
        words = q.question.lower().rstrip("?").split()
        shingles = {" ".join(words[i : i + 8]) for i in range(len(words) - 7)}
        for src in q.sources:
            text = " ".join((corpora / src).read_text(encoding="utf-8").lower().split())
            copied = [s for s in shingles if s in text]
            assert not copied, f"{q.id} copies its article: {copied[0]!r}"


def test_unanswerable_key_terms_are_absent_from_the_corpus(corpora):
    """The unanswerable questions name things no article mentions, so no article can answer them."""
    key_terms = [
        "Keyhole",
        "iPod nano",
        "YouTube",
        "Game Boy Micro",
        "Friendster",
        "Wikipedia",
        "K750",
        "Google Maps",
        "Xbox 360",
        "MySpace",
    ]
    texts = [p.read_text(encoding="utf-8", errors="replace").lower() for p in (corpora / "bbc-news").glob("*/*.txt")]
    questions = " ".join(q.question.lower() for q in load_dataset("bbc-tech") if q.type == "unanswerable")
    for term in key_terms:
        assert term.lower() in questions, term
        assert not any(term.lower() in t for t in texts), term


# the loader's checks ------------------------------------------------------------------------


def _write(tmp_path, *rows) -> Path:
    path = tmp_path / "mine.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows), encoding="utf-8")
    return path


GOOD = {"id": "q1", "question": "Who?", "answers": ["Ann"], "sources": ["a.txt"], "type": "single"}


def test_loader_reports_the_bad_line(tmp_path):
    path = _write(tmp_path, GOOD, "{not json")
    with pytest.raises(DatasetError, match=r"mine\.jsonl:2"):
        load_dataset(path)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({k: v for k, v in GOOD.items() if k != "answers"}, "missing field"),
        ({**GOOD, "type": "tricky"}, "not one of"),
        ({**GOOD, "answers": "Ann"}, "list of strings"),
    ],
)
def test_loader_rejects_malformed_rows(tmp_path, row, message):
    with pytest.raises(DatasetError, match=message):
        load_dataset(_write(tmp_path, row))


def test_loader_rejects_duplicate_ids(tmp_path):
    with pytest.raises(DatasetError, match="duplicate id"):
        load_dataset(_write(tmp_path, GOOD, GOOD))


def test_unknown_suite_names_the_known_ones():
    with pytest.raises(DatasetError, match="seed"):
        resolve_dataset("no-such-suite")


def test_source_problems_catch_wrong_evidence_and_answers(tmp_path):
    (tmp_path / "a.txt").write_text("Title\n\nAnn Lee founded the firm in 1999.", encoding="utf-8")
    good = load_dataset(_write(tmp_path, {**GOOD, "evidence": ["Ann Lee founded the firm in 1999."]}))[0]
    assert source_problems(good, tmp_path) == []
    bad = load_dataset(_write(tmp_path, {**GOOD, "answers": ["Bob"], "evidence": ["Ann Lee founded it in 2001."]}))[0]
    problems = source_problems(bad, tmp_path)
    assert any("evidence not found" in p for p in problems)
    assert any("'Bob' not in any source" in p for p in problems)


def test_trust_sets_have_the_required_types_split_into_dev_and_test():
    """Issue 11: at least 30 nearmiss, 20 synthesis, 15 followup; dev to tune on, test to report."""
    dev, test = load_dataset("trust-dev"), load_dataset("trust-test")
    assert {q.split for q in dev} == {"dev"} and {q.split for q in test} == {"test"}
    both = dev + test
    counts = {t: sum(q.type == t for q in both) for t in QUESTION_TYPES}
    assert counts["nearmiss"] >= 30 and counts["synthesis"] >= 20 and counts["followup"] >= 15
    assert counts["single"] >= 30 and counts["unanswerable"] >= 8
    assert all(len(q.points) >= q.min_points >= 2 for q in both if q.type == "synthesis")
    assert all(q.history for q in both if q.type == "followup")


def test_trust_dev_and_test_share_no_article():
    dev = {s for suite in DEV for q in load_dataset(suite) for s in q.sources}
    test = {s for q in load_dataset("trust-test") for s in q.sources}
    assert not dev & test
    assert all(q.split == "dev" for suite in DEV for q in load_dataset(suite))


@pytest.mark.parametrize("suite", TRUST)
def test_trust_questions_are_paraphrased_not_copied(suite, corpora):
    for q in load_dataset(suite):
        words = q.question.lower().rstrip("?").split()
        shingles = {" ".join(words[i : i + 8]) for i in range(len(words) - 7)}
        for src in q.sources:
            text = " ".join((corpora / src).read_text(encoding="utf-8").lower().split())
            assert not [s for s in shingles if s in text], f"{q.id} copies its article"


ACROSS = {"timeline": CORPORA, "conflict": Path(__file__).resolve().parents[1] / "eval" / "corpora"}


@pytest.mark.parametrize("suite", sorted(ACROSS))
def test_across_article_suites_parse_and_agree_with_their_articles(suite):
    test_every_line_parses_with_required_fields_and_unique_ids(suite)
    root = ACROSS[suite]
    if not (root / "realtimeqa-2022").is_dir() and suite == "timeline":
        pytest.skip(f"the shared corpora are not at {root}")
    questions = load_dataset(suite)
    assert [p for q in questions for p in source_problems(q, root)] == []
    assert {q.split for q in questions} == {"dev", "test"}


def test_timeline_suite_has_ten_questions_over_dated_articles_of_several_events():
    questions = load_dataset("timeline")
    assert len(questions) >= 10 and all(q.type == "timeline" for q in questions)
    assert all(len(q.sources) >= 2 and len(q.points) >= q.min_points >= 2 for q in questions)
    if (CORPORA / "realtimeqa-2022").is_dir():  # the events are listed in the order of their articles' dates
        for q in questions:
            dates = [json.loads((CORPORA / s).read_text(encoding="utf-8"))["published"] for s in q.sources]
            assert dates == sorted(dates) and len(set(dates)) >= 2, q.id


def test_conflict_suite_has_eight_conflicts_over_pairs_of_reports_and_agreeing_controls():
    questions = load_dataset("conflict")
    conflicts = [q for q in questions if q.type == "conflict"]
    assert len(conflicts) >= 8 and all(len(q.sources) == 2 and len(q.points) == q.min_points == 2 for q in conflicts)
    assert any(q.type == "single" for q in questions)  # two reports that agree: no difference to flag
    for q in conflicts:  # each report gives one of the two figures, under another source's name
        reports = [json.loads((ACROSS["conflict"] / s).read_text(encoding="utf-8")) for s in q.sources]
        assert reports[0]["source"] != reports[1]["source"], q.id
        assert all(any(p in r["text"] for p in point) for r, point in zip(reports, q.points, strict=True)), q.id


def test_sentence_probe_reads_dev_sentences_only_and_tabulates_both_groups():
    from eval.sentence_probe import DEV_SUITES, _pairs, table

    assert set(DEV_SUITES) == {s for s in DEV if s.startswith("trust-dev")}  # every trust dev set, never the test
    rows = _pairs(list(DEV_SUITES))
    assert {r["type"] for r in rows} == {"single", "followup", "nearmiss"}
    assert not {r["id"] for r in rows} & {q.id for q in load_dataset("trust-test")}
    followup = next(r for r in rows if r["type"] == "followup")
    assert "standalone" not in followup and followup["question"]  # asked as its standalone rewrite
    rows = [
        {"type": "single", "p_yes": 0.9},
        {"type": "followup", "p_yes": 0.45},
        {"type": "nearmiss", "p_yes": 0.2},
        {"type": "nearmiss", "p_yes": 0.55},
    ]
    lines = table(rows).splitlines()
    assert "(n=2)" in lines[0] and lines[4] == "| 0.5 | 0.50 | 0.50 |" and lines[2] == "| 0.3 | 1.00 | 0.50 |"
