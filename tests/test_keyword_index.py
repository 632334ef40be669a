"""The FTS5 keyword index's query: terms stemmed as the index stems them, and the most common terms left out of a
question once the chunks holding its terms pass the postings budget."""

from __future__ import annotations

import index.keyword as keyword_module
from index.keyword import KeywordIndex
from index.rows import ArticleRows, KeywordRow


def _index(tmp_path, texts: list[str]) -> KeywordIndex:
    index = KeywordIndex(tmp_path / "keyword.sqlite3")
    index.replace_articles(
        ArticleRows(f"a{i}", f"h{i}", [KeywordRow(text, "", f"a{i}#0", "src", None)]) for i, text in enumerate(texts)
    )
    return index


def test_terms_are_stemmed_as_the_index_stems_them(tmp_path) -> None:
    index = _index(tmp_path, ["nothing"])
    assert index._stemmed(["running", "series", "naïve", "foo_bar"]) == {
        "running": ["run"],
        "series": ["seri"],
        "naïve": ["naiv"],
        "foo_bar": ["foo", "bar"],
    }


def test_common_terms_are_dropped_only_past_the_budget(tmp_path, monkeypatch) -> None:
    # "year" is in 29 chunks, "chip" in 3, "kunlun" in 1; the last chunk has only the common word
    texts = [f"the year {i} in review" for i in range(26)]
    texts += ["kunlun chip this year", "a chip this year", "another chip story", "year of the rabbit"]
    index = _index(tmp_path, texts)
    question = "What did the Kunlun chip do this year?"

    assert index._affordable_terms(["year", "kunlun", "chip"]) == (["year", "kunlun", "chip"], False)
    everything = {hit.chunk_id for hit in index.search(question, 50)}
    assert "a29#0" in everything  # "year of the rabbit" matches on the common word alone

    monkeypatch.setattr(keyword_module, "POSTINGS_BUDGET", 10)
    assert index._affordable_terms(["year", "kunlun", "chip"]) == (["kunlun", "chip"], False)
    pruned = index.search(question, 50)
    assert {hit.chunk_id for hit in pruned} == {"a26#0", "a27#0", "a28#0"}
    assert pruned[0].chunk_id == "a26#0"  # the rare word still ranks first

    monkeypatch.setattr(keyword_module, "POSTINGS_BUDGET", 0)  # the two rarest terms are always kept
    assert index._affordable_terms(["year", "kunlun", "chip"]) == (["kunlun", "chip"], True)
    assert index._affordable_terms(["year"]) == (["year"], True)


def test_unknown_terms_cost_nothing_and_stay(tmp_path, monkeypatch) -> None:
    index = _index(tmp_path, [f"year {i}" for i in range(20)])
    monkeypatch.setattr(keyword_module, "POSTINGS_BUDGET", 5)
    assert index._affordable_terms(["zyxx", "qwerty", "year"]) == (["zyxx", "qwerty"], False)


def test_common_terms_past_the_budget_must_all_match_while_enough_chunks_hold_them(tmp_path, monkeypatch) -> None:
    texts = [f"broadband prices {i}" for i in range(6)] + [f"broadband {i}" for i in range(6)] + ["prices only"]
    index = _index(tmp_path, texts)
    monkeypatch.setattr(keyword_module, "POSTINGS_BUDGET", 4)
    assert index._affordable_terms(["broadband", "prices"]) == (["broadband", "prices"], True)

    both = {hit.chunk_id for hit in index.search("broadband prices", 5)}
    assert both <= {f"a{i}#0" for i in range(6)}  # five chunks hold both words: the others are not scored
    assert len(both) == 5
    either = {hit.chunk_id for hit in index.search("broadband prices", 10)}  # only six hold both: any word will do
    assert len(either) == 10 and either - {f"a{i}#0" for i in range(6)}


def test_term_counts_follow_this_process_writes(tmp_path, monkeypatch) -> None:
    index = _index(tmp_path, ["kunlun chip"])
    assert index._counts(["kunlun"]) == {"kunlun": 1}
    index.replace_articles([ArticleRows("b", "hb", [KeywordRow("kunlun again", "", "b#0", "src", None)])])
    assert index._counts(["kunlun", "zyxx"]) == {"kunlun": 2, "zyxx": 0}
    index.delete_articles(["a0", "b"])
    assert index._counts(["kunlun"]) == {"kunlun": 0}
