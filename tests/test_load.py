"""Load: many questions at once from threads while an ingest runs; every answer belongs to its own question.

The LLM is a thread-safe fake that answers with the first sentence of passage [1] of the prompt it receives, so
an answer that came back to the wrong question, or from the wrong passages, shows up as a wrong fact.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fakes import ScriptedLLM
from index_state import assert_consistent, qa_state
from paths import BBC_TECH

from core.settings import Settings
from core.types import Answer
from rag.api import NewsQA

PASSAGE_ONE = re.compile(r'<passage id="1"[^>]*>\s*(.*?)\s*</passage>', re.S)

# (company, city, product): one made-up article each, with nothing else in common but the template.
FACTS = [
    ("Zentrixa", "Tallinn", "solar roof tiles"),
    ("Quorvane", "Porto", "hearing aids"),
    ("Blimtech", "Gdansk", "drone batteries"),
    ("Ferrowisp", "Cork", "e-bike motors"),
    ("Holvarine", "Bilbao", "smart thermostats"),
    ("Jundrel", "Tampere", "lidar sensors"),
    ("Kestrova", "Brno", "server racks"),
    ("Lumidexa", "Aarhus", "OLED panels"),
    ("Marquillo", "Ghent", "3D printers"),
    ("Nobrisk", "Split", "heat pumps"),
    ("Ostravel", "Malmo", "water filters"),
    ("Pyxonic", "Graz", "robot vacuums"),
]


def first_sentence(prompt: str) -> str:
    """The first sentence of passage [1], cited [1]; a refusal when the prompt has no passage."""
    match = PASSAGE_ONE.search(prompt)
    if not match:
        return "The indexed articles don't contain the answer to this question."
    first = re.split(r"(?<=[.!?])\s", match.group(1).strip(), maxsplit=1)[0]
    return f"{first.rstrip('.')} [1]."


def first_sentence_llm() -> ScriptedLLM:
    """Answers by `first_sentence`; stateless but for its prompt log, so safe to share between threads. A little
    generation time, so that calls overlap."""
    return ScriptedLLM(rule=first_sentence, delay=0.01, piece_chars=5, piece_delay=0.001)


def write_facts(folder: Path, facts) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for company, city, product in facts:
        body = (
            f"{company} opened its first factory in {city} this week. "
            f"The {city} plant will make {product} for customers across Europe. "
            f"Executives at {company} said demand for {product} had doubled."
        )
        (folder / f"{company.lower()}.txt").write_text(f"{company} bets on {product}\n\n{body}\n", encoding="utf-8")


def question_for(company: str, product: str) -> str:
    return f"Where did {company} open its factory for {product}?"


def check(answer: Answer, company: str, city: str) -> None:
    assert not answer.refused, (company, answer.refusal_reason, answer.text)
    assert answer.text.startswith(f"{company} opened its first factory in {city}"), (company, answer.text)
    assert answer.citations and answer.citations[0].passage.title.startswith(company)


def run_load(qa: NewsQA, background: Path, facts, *, threads: int, min_rounds: int) -> dict:
    """Ask every question from `threads` threads, round after round, until the background ingest has finished."""
    ingest_done = threading.Event()
    ingest_result: dict = {}

    def ingest() -> None:
        try:
            window["start"] = time.perf_counter()
            ingest_result["report"] = qa.ingest([background])
            window["end"] = time.perf_counter()
        except BaseException as exc:  # reported by the test, not lost in the thread
            ingest_result["error"] = exc
        finally:
            ingest_done.set()

    finished: list[float] = []  # when each answer came back
    window: dict[str, float] = {}
    lock = threading.Lock()

    def ask(index: int) -> int:
        company, city, product = facts[index % len(facts)]
        question = question_for(company, product)
        if index % 2:
            answer = qa.ask(question)
        else:
            pieces = list(qa.stream(question))
            answer = pieces[-1]
            assert isinstance(answer, Answer) and all(isinstance(p, str) for p in pieces[:-1])
        check(answer, company, city)
        with lock:
            finished.append(time.perf_counter())
        return index

    writer = threading.Thread(target=ingest, name="ingest")
    rounds = 0
    with ThreadPoolExecutor(max_workers=threads) as pool:
        writer.start()
        while rounds < min_rounds or not ingest_done.is_set():
            list(pool.map(ask, range(len(facts))))  # re-raises the first failure of the round
            rounds += 1
    writer.join(timeout=120)
    assert "error" not in ingest_result, ingest_result.get("error")
    # answers that came back in the second half of the ingest: none if questions wait for the ingest to end
    middle = (window["start"] + window["end"]) / 2
    late = sum(1 for t in finished if middle < t < window["end"] - 0.05)
    return {"report": ingest_result["report"], "rounds": rounds, "late": late}


def slow_embedding(qa: NewsQA, seconds: float) -> None:
    """Makes each ingest batch's embedding take `seconds` longer (questions embed one text and are not slowed)."""
    embedder = qa.embedder
    original = type(embedder).get_text_embedding_batch

    def slow(texts, **kwargs):
        if len(texts) > 1:
            time.sleep(seconds)
        return original(embedder, texts, **kwargs)

    object.__setattr__(embedder, "get_text_embedding_batch", slow)


def _copy(n: int, dest: Path) -> Path:
    if not BBC_TECH.is_dir():
        pytest.skip("../shared/corpora is not beside this checkout")
    dest.mkdir(parents=True)
    for path in sorted(BBC_TECH.glob("*.txt"))[:n]:
        shutil.copy(path, dest / path.name)
    return dest


@pytest.mark.timeout(180)
def test_concurrent_questions_during_an_ingest_hash_embedder(tmp_path, settings):
    background = _copy(120, tmp_path / "bbc" / "tech")
    write_facts(tmp_path / "facts", FACTS)
    qa = NewsQA(settings=settings, llm=first_sentence_llm())
    assert len(qa.ingest([tmp_path / "facts"]).added) == len(FACTS)
    qa.ingestor.batch_chunks = 40  # many small batches: the index changes under the questions many times
    slow_embedding(qa, 0.15)  # an ingest that lasts a few seconds, like a real one

    result = run_load(qa, background, FACTS, threads=8, min_rounds=3)

    assert len(result["report"].added) == 120 and result["report"].ok
    assert result["late"] > 0, "no question was answered in the second half of the ingest: questions waited for it"
    state = qa_state(qa)
    assert_consistent(state)
    assert len(state["records"]) == 120 + len(FACTS)
    stats = qa.stats()
    assert stats["chunks"] == qa.keyword.count_chunks() == len(state["chunk_ids"])
    # and a fresh instance on the same data finds the index complete: nothing to repair, nothing to add
    again = NewsQA(settings=settings, llm=first_sentence_llm()).ingest([background, tmp_path / "facts"])
    assert len(again.unchanged) == 120 + len(FACTS) and not again.added


@pytest.mark.real
@pytest.mark.timeout(300)
def test_concurrent_questions_during_an_ingest_real_embedder(tmp_path):
    background = _copy(20, tmp_path / "bbc" / "tech")
    facts = FACTS[:4]
    write_facts(tmp_path / "facts", facts)
    settings = Settings(data_dir=tmp_path / "data")
    qa = NewsQA(settings=settings, llm=first_sentence_llm())
    qa.ingest([tmp_path / "facts"])
    qa.ingestor.batch_chunks = 16

    result = run_load(qa, background, facts, threads=4, min_rounds=1)

    assert len(result["report"].added) == 20
    state = qa_state(qa)
    assert_consistent(state)
    assert len(state["records"]) == 20 + len(facts)
