"""The sentence-transformers embedder's process-wide settings: torch threads set once, the hub kept offline."""

from __future__ import annotations

import os
import sys
import threading
import types

import numpy as np
import pytest

import index.embed as embed
from core.settings import Settings, offline_hub


@pytest.fixture
def fake_torch(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """torch.set_num_threads calls, recorded; the module's 'already set' state starts fresh."""
    calls: list[int] = []
    fake = types.SimpleNamespace(set_num_threads=calls.append, get_num_threads=lambda: calls[-1] if calls else 2)
    monkeypatch.setitem(sys.modules, "torch", fake)
    monkeypatch.setattr(embed, "_torch_threads", None)
    return calls


def _model_dir(tmp_path):
    (tmp_path / "model").mkdir()
    return tmp_path / "model"


def test_torch_threads_are_set_once_when_the_first_embedder_is_built(tmp_path, fake_torch) -> None:
    model = _model_dir(tmp_path)
    embed.get_embedder(Settings(data_dir=tmp_path, embed_model=str(model), torch_threads=1))
    embed.get_embedder(Settings(data_dir=tmp_path, embed_model=str(model), torch_threads=3))
    embed.get_embedder(Settings(data_dir=tmp_path, embed_model=str(model), torch_threads=1))
    assert fake_torch == [1]


def test_zero_keeps_torchs_default_and_the_hash_embedder_touches_nothing(tmp_path, fake_torch) -> None:
    embed.get_embedder(Settings(data_dir=tmp_path, embed_model="hash", torch_threads=4))
    embed.get_embedder(Settings(data_dir=tmp_path, embed_model=str(_model_dir(tmp_path)), torch_threads=0))
    assert fake_torch == []


class _FakeModel:
    def __init__(self) -> None:
        self.threads: list[str] = []

    def encode(self, texts, **kwargs):
        self.threads.append(threading.current_thread().name)
        return np.ones((len(texts), 3))


def test_questions_and_ingest_batches_never_change_the_thread_count(tmp_path, fake_torch) -> None:
    embedder = embed.get_embedder(Settings(data_dir=tmp_path, embed_model=str(_model_dir(tmp_path)), torch_threads=2))
    embedder._model = _FakeModel()
    assert fake_torch == [2]

    def ingest() -> None:
        for _ in range(50):
            embedder.get_text_embedding_batch(["a chunk", "another chunk"])

    worker = threading.Thread(target=ingest, name="ingest")
    worker.start()
    for _ in range(50):
        assert embedder.get_query_embedding("a question?") == [1.0, 1.0, 1.0]
    worker.join()
    assert fake_torch == [2]
    assert {"ingest", threading.main_thread().name} <= set(embedder._model.threads)


def test_offline_hub_sets_the_variable_unless_the_user_did(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    assert offline_hub()["HF_HUB_OFFLINE"] == "1"
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    offline_hub()
    assert os.environ["HF_HUB_OFFLINE"] == "0"
    child: dict[str, str] = {"PATH": "/bin"}
    assert offline_hub(child) is child and child["HF_HUB_OFFLINE"] == "1"
    assert offline_hub({"HF_HUB_OFFLINE": "0"})["HF_HUB_OFFLINE"] == "0"


def test_bench_children_get_it_through_the_helper(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.common import bench_env

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    assert bench_env()["HF_HUB_OFFLINE"] == "1"
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    assert bench_env()["HF_HUB_OFFLINE"] == "0"
