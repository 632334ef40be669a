"""The embedding-server backend (index/embed_server.py) against a real HTTP server on loopback.

The server speaks OpenAI's /v1/embeddings. Most tests serve the hash embedder's vectors (fast, no model); the
`real` test serves the bundled all-MiniLM-L6-v2 through sentence-transformers and checks that an index built
through the server answers as one built with the local embedder. Faults are scripted per request: 503 or 429
(with or without Retry-After), a dropped connection, a slow answer.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fakes import fake_settings
from index_state import assert_consistent, qa_state
from paths import BBC_TECH
from servers import free_port

from core.errors import ModelError, StoreError
from core.settings import Settings
from index.embed import HashEmbedding, get_embedder
from index.embed_server import ServerEmbedding, retry_after_seconds
from rag.api import NewsQA
from rag.llamaindex_adapters import NewsEmbedding

HASH = HashEmbedding(model_name="hash")


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that timed out and left: expected here


class EmbeddingServer:
    """An OpenAI-compatible /v1/embeddings server on 127.0.0.1 that records every request.

    `faults` is a queue: each request takes the next one, if any: ("status", code, retry_after or None),
    ("drop",) closes the connection without an answer, ("slow", seconds) answers late. `delay` slows every answer
    (so that concurrent requests overlap and can be counted).
    """

    def __init__(self, embed: Callable[[list[str]], list[list[float]]], *, delay: float = 0.0):
        self.embed = embed
        self.delay = delay
        self.faults: list[tuple] = []
        self.requests: list[dict] = []  # body and headers of every request, faulty ones included
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                with server._lock:
                    server.requests.append({"path": self.path, "body": body, "headers": dict(self.headers)})
                    fault = server.faults.pop(0) if server.faults else None
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    self._answer(body, fault)
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def _answer(self, body, fault):
                if fault and fault[0] == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if fault and fault[0] == "status":
                    _, code, retry_after = fault
                    payload = json.dumps({"error": {"message": f"scripted {code}"}}).encode()
                    self.send_response(code)
                    if retry_after is not None:
                        self.send_header("Retry-After", str(retry_after))
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                time.sleep(fault[1] if fault and fault[0] == "slow" else server.delay)
                if self.path != "/v1/embeddings":
                    self.send_error(404)
                    return
                texts = body["input"]
                vectors = server.embed(texts)
                data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]
                data.reverse()  # servers need not answer in order: the index field says which is which
                payload = json.dumps({"object": "list", "data": data, "model": body.get("model")}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def batch_sizes(self) -> list[int]:
        return [len(r["body"]["input"]) for r in self.requests]

    def __enter__(self) -> EmbeddingServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    with EmbeddingServer(HASH.get_text_embedding_batch) as srv:
        yield srv


def client(srv: EmbeddingServer, **fields) -> ServerEmbedding:
    fields = {"model_name": "hash-server", "base_url": srv.url, "backoff": 0.01, **fields}
    return ServerEmbedding(**fields)


def same_vectors(got: list[list[float]], want: list[list[float]]) -> bool:
    return len(got) == len(want) and all(g == pytest.approx(w) for g, w in zip(got, want, strict=True))


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / ((sum(x * x for x in a) ** 0.5) * (sum(y * y for y in b) ** 0.5))


TEXTS = [f"article {i} about chips, phones and satellite broadband number {i}" for i in range(100)]


# selection through settings --------------------------------------------------------------------


def test_settings_select_the_server_backend(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSRAG_EMBED_BACKEND", "openai")
    monkeypatch.setenv("NEWSRAG_EMBED_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("NEWSRAG_EMBED_MODEL", "BAAI/bge-small-en-v1.5")
    monkeypatch.setenv("NEWSRAG_EMBED_API_KEY", "sekret")
    monkeypatch.setenv("NEWSRAG_EMBED_CONCURRENCY", "8")
    embedder = get_embedder(Settings(data_dir=tmp_path))
    assert isinstance(embedder, ServerEmbedding)
    assert (embedder.model_name, embedder.base_url, embedder.api_key) == (
        "BAAI/bge-small-en-v1.5",
        "http://127.0.0.1:9/v1",
        "sekret",
    )
    assert (embedder.concurrency, embedder.request_batch, embedder.retries) == (8, 32, 4)
    # the key is never serialised or logged with the embedder, nor with its llama-index form
    assert "sekret" not in repr(embedder.model_dump()) + repr(embedder)
    assert "sekret" not in repr(NewsEmbedding(embedder).to_dict())


@pytest.mark.parametrize("url", [None, "127.0.0.1:8080/v1", "ftp://host/v1"])
def test_a_missing_or_bad_base_url_says_what_to_set(tmp_path, url):
    settings = Settings(data_dir=tmp_path, embed_backend="openai", embed_base_url=url, embed_model="m")
    with pytest.raises(ModelError, match="NEWSRAG_EMBED_BASE_URL"):
        get_embedder(settings)


# batching, concurrency, order ------------------------------------------------------------------


def test_batches_are_sent_concurrently_and_come_back_in_order():
    with EmbeddingServer(HASH.get_text_embedding_batch, delay=0.1) as srv:
        embedder = client(srv, request_batch=8, concurrency=3, api_key="k1")
        vectors = embedder.get_text_embedding_batch(TEXTS)
    assert same_vectors(vectors, HASH.get_text_embedding_batch(TEXTS))
    assert sorted(srv.batch_sizes) == sorted([8] * 12 + [4])  # 100 texts in requests of 8
    assert srv.max_in_flight == 3  # never more than the setting, and really concurrent
    first = srv.requests[0]
    assert first["path"] == "/v1/embeddings"
    assert first["body"]["model"] == "hash-server" and first["body"]["encoding_format"] == "float"
    assert first["headers"]["Authorization"] == "Bearer k1"


def test_a_query_is_one_request_and_no_key_sends_no_authorization(server):
    vector = client(server).get_query_embedding("Which operator connected islands?")
    assert vector == pytest.approx(HASH.get_query_embedding("Which operator connected islands?"))
    assert server.batch_sizes == [1] and "Authorization" not in server.requests[0]["headers"]


def test_vectors_come_back_normalised():
    with EmbeddingServer(lambda texts: [[3.0, 4.0] for _ in texts]) as srv:
        assert client(srv).get_text_embedding_batch(["a", "b"]) == [[0.6, 0.8], [0.6, 0.8]]


# retries ---------------------------------------------------------------------------------------


def test_503_is_retried_after_the_servers_retry_after(server):
    server.faults = [("status", 503, 1)]
    started = time.monotonic()
    vector = client(server).get_query_embedding("chips")
    assert time.monotonic() - started >= 1.0  # Retry-After: 1, not the 0.01 s backoff
    assert vector == pytest.approx(HASH.get_query_embedding("chips")) and len(server.requests) == 2


def test_429_and_a_dropped_connection_are_retried_with_backoff(server):
    server.faults = [("status", 429, None), ("drop",), ("status", 502, None)]
    vectors = client(server, retries=3).get_text_embedding_batch(TEXTS[:5])
    assert same_vectors(vectors, HASH.get_text_embedding_batch(TEXTS[:5]))
    assert len(server.requests) == 4


def test_a_server_that_keeps_failing_gives_a_model_error_after_the_retries(server):
    server.faults = [("status", 503, 0)] * 10
    with pytest.raises(ModelError, match=r"HTTP 503 \(scripted 503\) after 3 tries: check its log"):
        client(server, retries=2).get_query_embedding("chips")
    assert len(server.requests) == 3


def test_one_failing_batch_fails_the_call_and_leaves_later_batches_unsent():
    with EmbeddingServer(HASH.get_text_embedding_batch, delay=0.05) as srv:
        srv.faults = [("status", 400, None)]
        with pytest.raises(ModelError, match="HTTP 400.*NEWSRAG_EMBED_REQUEST_BATCH"):
            client(srv, request_batch=2, concurrency=2).get_text_embedding_batch(TEXTS)
    assert len(srv.requests) < 50  # not all 50 requests were made after the first one failed


def test_a_timeout_is_retried_then_reported(server):
    server.faults = [("slow", 1.0)]
    started = time.monotonic()
    assert client(server, timeout=0.3).get_query_embedding("chips")  # the second try answers at once
    assert time.monotonic() - started < 1.0 and len(server.requests) == 2

    server.faults = [("slow", 1.0)] * 2
    with pytest.raises(ModelError, match=r"did not answer within 0.3 s \(2 tries\).*NEWSRAG_EMBED_TIMEOUT"):
        client(server, timeout=0.3, retries=1).get_query_embedding("chips")


@pytest.mark.parametrize(
    ("code", "hint"),
    [(401, "NEWSRAG_EMBED_API_KEY"), (403, "NEWSRAG_EMBED_API_KEY"), (404, "NEWSRAG_EMBED_BASE_URL.*/v1")],
)
def test_client_errors_are_not_retried_and_say_what_to_check(server, code, hint):
    server.faults = [("status", code, None)]
    with pytest.raises(ModelError, match=hint):
        client(server).get_query_embedding("chips")
    assert len(server.requests) == 1


def test_a_wrong_path_or_a_server_that_is_not_there():
    with EmbeddingServer(HASH.get_text_embedding_batch) as srv:
        with pytest.raises(ModelError, match="HTTP 404.*NEWSRAG_EMBED_BASE_URL"):
            ServerEmbedding(model_name="m", base_url=srv.url.removesuffix("/v1")).get_query_embedding("x")
    nobody = ServerEmbedding(model_name="m", base_url=f"http://127.0.0.1:{free_port()}/v1", retries=1, backoff=0.01)
    with pytest.raises(ModelError, match="Cannot reach the embedding server.*NEWSRAG_EMBED_BASE_URL"):
        nobody.get_query_embedding("x")


def test_retry_after_reads_seconds_and_http_dates():
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past: no wait
    from email.utils import formatdate

    assert 5 < retry_after_seconds(formatdate(time.time() + 10, usegmt=True)) <= 10


# through NewsQA: ingest, retrieve, the model recorded in the index ------------------------------


def write_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, title, body in [
        ("chips.md", "Zorblax unveils quantum processor", "Zorblax Corp unveiled a 512-qubit processor. " * 10),
        ("phones.md", "Phone sales slump in Europe", "Handset shipments in Europe fell 12%, Frobnitz said. " * 10),
        ("isles.md", "Satellite broadband reaches islands", "Orbitra connected remote islands to broadband. " * 10),
    ]:
        (folder / name).write_text(f"# {title}\n\n{body}\n", encoding="utf-8")
    return folder


def server_settings(data_dir: Path, url: str, model: str = "hash-server", **extra) -> Settings:
    return Settings(
        data_dir=data_dir, min_relevance=0.0, embed_backend="openai", embed_base_url=url, embed_model=model, **extra
    )


def test_ingest_and_retrieve_through_the_server(server, tmp_path):
    qa = NewsQA(settings=server_settings(tmp_path / "data", server.url, embed_request_batch=2))
    report = qa.ingest([write_corpus(tmp_path / "corpus")])
    assert len(report.added) == 3 and report.ok
    assert qa.retrieve("Which operator connected remote islands?", k=1, mode="dense")[0].title == (
        "Satellite broadband reaches islands"
    )
    assert max(server.batch_sizes) == 2 and sum(server.batch_sizes) >= report.chunks_added
    assert_consistent(qa_state(qa))


def test_an_index_built_by_another_model_is_refused_with_what_to_do(server, tmp_path):
    NewsQA(settings=server_settings(tmp_path / "data", server.url, "model-a")).ingest([write_corpus(tmp_path / "c")])
    other = NewsQA(settings=server_settings(tmp_path / "data", server.url, "model-b"))
    with pytest.raises(
        StoreError, match="built with the embedding model 'model-a', not 'model-b'.*NEWSRAG_EMBED_MODEL"
    ):
        other.retrieve("processor", k=1)
    local = NewsQA(settings=fake_settings(tmp_path / "data"))  # the local hash embedder on the same index
    with pytest.raises(StoreError, match="'model-a', not 'hash'.*another --data-dir"):
        local.stats()


def test_an_ingest_with_the_server_down_reports_a_model_error_and_stores_nothing(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"
    qa = NewsQA(settings=server_settings(tmp_path / "data", url, embed_retries=0))
    with pytest.raises(ModelError, match="Cannot reach the embedding server"):
        qa.ingest([write_corpus(tmp_path / "corpus")])
    assert qa.stats()["articles"] == 0


# the real model through a server -----------------------------------------------------------------


@pytest.fixture(scope="module")
def minilm_server():
    """The bundled all-MiniLM-L6-v2 served over HTTP, as Text Embeddings Inference would serve it."""
    from sentence_transformers import SentenceTransformer

    from index.embed import bundled_model_path

    model = SentenceTransformer(str(bundled_model_path()), device="cpu")
    lock = threading.Lock()

    def embed(texts: list[str]) -> list[list[float]]:
        with lock:  # one encode at a time, as a one-worker server runs them
            return model.encode(texts, batch_size=16, normalize_embeddings=True).tolist()

    with EmbeddingServer(embed) as srv:
        yield srv


@pytest.mark.real
def test_an_index_built_through_the_server_answers_as_the_local_model_does(minilm_server, tmp_path):
    if not BBC_TECH.is_dir():
        pytest.skip("../shared/corpora is not beside this checkout")
    files = sorted(BBC_TECH.glob("*.txt"))[:25]
    local = NewsQA(settings=Settings(data_dir=tmp_path / "local", min_relevance=0.0))
    remote = NewsQA(
        settings=Settings(
            data_dir=tmp_path / "remote",
            min_relevance=0.0,
            embed_backend="openai",
            embed_base_url=minilm_server.url,
            embed_model="all-MiniLM-L6-v2",
            embed_request_batch=16,
            embed_concurrency=2,
        )
    )
    local_report, remote_report = local.ingest(files), remote.ingest(files)
    assert len(remote_report.added) == len(local_report.added) == 25
    assert remote_report.chunks_added == local_report.chunks_added
    assert max(minilm_server.batch_sizes) == 16

    mine = local.store.get_chunks(with_embeddings=True)
    theirs = remote.store.get_chunks(with_embeddings=True)
    by_id = dict(zip(theirs["ids"], theirs["embeddings"], strict=True))
    assert set(by_id) == set(mine["ids"])
    worst = min(cosine(list(v), list(by_id[cid])) for cid, v in zip(mine["ids"], mine["embeddings"], strict=True))
    assert worst >= 0.999

    titles = [local.store.article_records()[aid]["title"] for aid in sorted(local.store.article_records())[:8]]
    for title in titles:
        question = f"What happened: {title}?"
        ours = [p.chunk_id for p in local.retrieve(question, k=5, understand_time=False)]
        served = [p.chunk_id for p in remote.retrieve(question, k=5, understand_time=False)]
        assert served == ours, question
