"""Several users at once, through the app's public API (gradio_client): answers never get mixed up.

Eight articles each hold one unique fact; eight questions go in at once while an ingestion runs;
every answer must state its own fact and cite its own article. The fake LLM answers from the
passages it is given (so a mixed-up prompt gives a wrong answer) and records how many calls overlap.
"""

from __future__ import annotations

import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from fakes import ScriptedLLM, fake_settings
from servers import free_port

ANIMALS = ["Kestrel", "Marmot", "Ibex", "Narwhal", "Ocelot", "Pangolin", "Quokka", "Tapir"]
REFUSAL = "The indexed articles don't contain the answer to this question."


def fact(animal: str) -> str:
    return f"The {animal} project's launch code is {animal[:3].upper()}-{sum(map(ord, animal))}."


def question(animal: str) -> str:
    return f"What is the launch code of the {animal} project?"


class Overlap:
    """Counts LLM calls in flight, to prove that requests really ran at the same time."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0

    def __enter__(self):
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def __exit__(self, *exc):
        with self.lock:
            self.now -= 1


def passage_reading_reply(prompt: str) -> str:
    """'<the fact> [n]' from the passage n that mentions the asked-about project; a refusal otherwise."""
    asked = prompt.rsplit("Question:", 1)[-1].split("\n", 1)[0]
    animal = next((a for a in ANIMALS if a in asked), None)
    for number, body in re.findall(r'<passage id="(\d+)"[^>]*>(.*?)</passage>', prompt, re.S):
        if animal and fact(animal) in body:
            return f"{fact(animal)[:-1]} [{number}]."
    return REFUSAL


def make_passage_reading_llm(overlap: Overlap, delay: float) -> ScriptedLLM:
    """Answers by `passage_reading_reply`, `delay` seconds a reply (a quarter of it per streamed piece), and counts
    the calls in flight in `overlap`."""
    return ScriptedLLM(rule=passage_reading_reply, delay=delay, piece_chars=8, piece_delay=delay / 4, busy=overlap)


def write_jsonl(path, animals: list[str]) -> None:
    records = [
        {
            "title": f"{a} project reaches launch stage",
            "text": f"Engineers on the {a} project met this week. {fact(a)} The team expects a test flight soon. "
            f"Nobody outside the {a} team has seen the hardware yet.",
            "url": f"https://news.example.org/{a.lower()}",
            "source": "Test Wire",
            "published": "2025-03-01",
        }
        for a in animals
    ]
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    import app
    from rag.api import NewsQA

    root = tmp_path_factory.mktemp("concurrency")
    settings = fake_settings(root / "data", retrieval_mode="keyword", top_k=3)
    overlap = Overlap()
    qa = NewsQA(settings=settings, llm=make_passage_reading_llm(overlap, delay=0.4))
    write_jsonl(root / "projects.jsonl", ANIMALS)
    assert len(qa.ingest([root / "projects.jsonl"]).added) == len(ANIMALS)
    demo = app.build_app(qa)
    _, url, _ = app.launch(demo, settings, port=free_port(), prevent_thread_lock=True, quiet=True)
    yield url, qa, overlap, root
    demo.close()


@pytest.fixture(scope="module")
def client(served):
    from gradio_client import Client

    return Client(served[0], verbose=False)


def test_eight_questions_at_once_each_get_their_own_answer(served, client):
    _, qa, overlap, root = served
    extra = root / "more.jsonl"
    write_jsonl(extra, ["Wombat", "Yak", "Zebu"])
    with ThreadPoolExecutor(max_workers=1) as pool:
        ingesting = pool.submit(qa.ingest, [extra])  # what the Add news tab runs, while others ask
        jobs = {a: client.submit(question(a), 3, None, "", "", api_name="/ask") for a in ANIMALS}
        results = {a: job.result(timeout=120) for a, job in jobs.items()}
        report = ingesting.result(timeout=120)
    assert report.ok and len(report.added) == 3
    for animal, result in results.items():
        assert not result["refused"], (animal, result)
        assert fact(animal)[:-1] in result["text"], (animal, result["text"])
        assert [c["passage"]["title"] for c in result["citations"]] == [f"{animal} project reaches launch stage"]
        assert result["question"] == question(animal)
    assert overlap.most > 1, "the questions were answered one at a time"


def test_api_answer_is_structured_data_with_its_sources(client):
    result = client.predict(question("Ocelot"), 3, ["Test Wire"], "2025-01-01", "2025-12-31", api_name="/ask")
    assert result["text"] == f"{fact('Ocelot')[:-1]} [1]."
    (citation,) = result["citations"]
    assert citation["number"] == 1
    assert citation["passage"]["url"] == "https://news.example.org/ocelot"
    assert citation["passage"]["source"] == "Test Wire"
    assert citation["passage"]["published"].startswith("2025-03-01")
    assert fact("Ocelot") in citation["evidence"]


def test_api_filters_apply(client):
    result = client.predict(question("Ocelot"), 3, None, "2026-01-01", "", api_name="/ask")
    assert result["refused"] and result["citations"] == []


def test_api_errors_are_readable_messages(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="YYYY-MM-DD"):
        client.predict(question("Ocelot"), 3, None, "March 2025", "", api_name="/ask")
    with pytest.raises(AppError, match="question is empty"):
        client.predict("   ", 3, None, "", "", api_name="/ask")


def test_stats_endpoint(client, served):
    stats = client.predict(api_name="/stats")
    assert stats["articles"] == served[1].stats()["articles"] >= len(ANIMALS)
    assert "Test Wire" in stats["sources"]
