"""The app's handlers without a browser, and `python app.py` as a user starts it."""

from __future__ import annotations

import os
import socket
import sys

import pytest
from fakes import ScriptedLLM
from paths import SAMPLE_CORPUS, SAMPLE_SEED
from servers import free_port, started_process

import app
from rag.api import NewsQA
from ui import present

SEED = SAMPLE_SEED


@pytest.fixture
def qa(settings):
    return NewsQA(
        settings=settings.model_copy(update={"max_upload_mb": 0.01, "retrieval_mode": "keyword"}), llm=ScriptedLLM()
    )


def test_add_news_ingests_uploads_and_refuses_what_it_cannot_take(qa, tmp_path):
    good = tmp_path / "chips.txt"
    good.write_text(SEED.read_text(encoding="utf-8")[:5000], encoding="utf-8")
    big = tmp_path / "big.txt"
    big.write_text("Big\n\n" + "word " * 4000, encoding="utf-8")  # 20 KB, over 0.01 MB
    exe = tmp_path / "tool.exe"
    exe.write_bytes(b"MZ")
    report, _, _ = app.Handlers(qa).add_news([str(good), str(big), str(exe)], "ftp://example.com/x\n\n", [])
    assert "1 added" in report and "3 failed" in report
    assert "big.txt</strong>: 19.5 KB is over the 0.01 MB upload limit" in report
    assert "tool.exe</strong>: not a supported type" in report
    assert "ftp://example.com/x</strong>: not a web address" in report
    assert qa.stats()["articles"] == 1
    # The upload was kept under the data dir, so uploading it again finds it unchanged.
    report, _, _ = app.Handlers(qa).add_news([str(good)], "", [])
    assert "0 added, 0 updated, 1 unchanged" in report


def test_respond_streams_then_shows_the_answer_and_keeps_history(qa):
    qa.ingest([SEED])
    llm = qa._llm
    llm.queue("Alibaba's gain was close to 7%, and Baidu also rose more than 6% [1].")
    steps = list(app.Handlers(qa).respond("How much did Alibaba and Baidu shares rise?", [], [], 3, None, "", ""))
    chats = [s[0] for s in steps]
    assert "Searching the articles" in chats[0][-1]["content"]
    assert any("nr-streaming" in c[-1]["content"] and "7%" in c[-1]["content"] for c in chats[1:-1])
    chat, history, panel, box = steps[-1]
    assert chat[0] == {"role": "user", "content": "How much did Alibaba and Baidu shares rise?"}
    assert 'class="nr-cite"' in chat[-1]["content"] and "nr-streaming" not in chat[-1]["content"]
    assert history[0][0] == "How much did Alibaba and Baidu shares rise?" and "7%" in history[0][1]
    assert "nr-card" in panel and box == ""


def test_respond_with_a_bad_date_changes_nothing_and_keeps_the_question(qa):
    with pytest.warns(UserWarning, match="YYYY-MM-DD"):  # gr.Warning: a toast in the browser
        steps = list(app.Handlers(qa).respond("Why chips?", [], [], 3, None, "30/08/2024", ""))
    assert len(steps) == 1
    chat, history, _, box = steps[0]
    assert chat == [] and history == [] and box == "Why chips?"


class BrokenQA:
    settings = None

    def stream(self, *args, **kwargs):
        raise RuntimeError("secret internal detail at /srv/index")
        yield  # pragma: no cover


def test_an_unexpected_error_reaches_the_user_as_a_message_not_a_traceback(caplog):
    with pytest.warns(UserWarning, match="went wrong"):
        steps = list(app.Handlers(BrokenQA()).respond("Why chips?", [], [], 3, None, "", ""))
    content = steps[-1][0][-1]["content"]
    assert "nr-error" in content and "went wrong" in content
    assert "secret internal detail" not in content and "Traceback" not in content
    assert "secret internal detail" in caplog.text  # the server log keeps the detail


def test_user_error_passes_typed_messages_through():
    from index.store import StoreError

    assert app._user_error(StoreError("The index is locked; close the other newsrag.")) == (
        "The index is locked; close the other newsrag."
    )
    assert "log" in app._user_error(KeyError("x"))


@pytest.mark.integration
def test_python_app_py_indexes_the_sample_corpus_and_serves(tmp_path):
    """What `make run` does, over an empty data dir (hash embedder; no LLM is needed to start)."""
    from gradio_client import Client

    port = free_port()
    env = {
        **os.environ,
        "NEWSRAG_EMBED_MODEL": "hash",
        "NEWSRAG_LLM": str(tmp_path / "missing.gguf"),  # warm-up fails in the background; serving goes on
        "HF_HUB_OFFLINE": "1",
    }
    cmd = [sys.executable, "app.py", "--data-dir", str(tmp_path / "data"), "--port", str(port)]
    with started_process(cmd, ready=lambda proc: f"127.0.0.1:{port}" in proc.output(), env=env, timeout=120) as proc:
        stats = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(api_name="/stats")
        samples = len(list(SAMPLE_CORPUS.rglob("*.txt")))
        assert stats["articles"] == samples
        assert "sample corpus indexed" in proc.output()


def test_main_reports_a_busy_port_instead_of_a_traceback(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NEWSRAG_EMBED_MODEL", "hash")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        code = app.main(["--data-dir", str(tmp_path), "--port", str(port), "--no-sample", "--llm", "/missing.gguf"])
    assert code == 1
    assert "choose another --port" in capsys.readouterr().err


# Each example question and the sample article that answers it.
EXAMPLE_SOURCES = {
    "Why are Alibaba and Baidu training AI on their own chips?": "seed/alibaba-baidu-ai-chips.txt",
    "Why did the US cyber security chief resign?": "tech/us-cyber-security-chief-resigns.txt",
    "How are mobile phones being used as bus tickets?": "tech/mobiles-double-up-as-bus-tickets.txt",
    "Why did Valve's ban hit Half-Life 2 pirates hard?": "tech/ban-hits-half-life-2-pirates-hard.txt",
}


def test_example_questions_are_offered_and_the_sample_corpus_answers_them(qa):
    """The Ask tab offers the example questions, and each finds its own sample article first: an example that
    the bundled corpus cannot answer would greet a new user with a refusal."""
    assert set(present.EXAMPLE_QUESTIONS) == set(EXAMPLE_SOURCES), "an example question without its article here"
    demo = app.build_app(qa)
    try:
        (chat,) = [c for c in demo.config["components"] if c.get("props", {}).get("elem_id") == "nr-chat"]
        assert [e["text"] for e in chat["props"]["examples"]] == present.EXAMPLE_QUESTIONS
    finally:
        demo.close()
    assert qa.ingest([SAMPLE_CORPUS]).ok
    for question, source in EXAMPLE_SOURCES.items():
        hits = qa.retrieve(question, k=3)
        assert hits and hits[0].url.endswith(source), (question, [h.url for h in hits])
