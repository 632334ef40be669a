"""The ONNX embedder: the same vectors as the torch model, a query path that never imports torch (nor llama-index),
one export."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import numpy as np
import pytest
from paths import BBC_DIR, REPO, SAMPLE_CORPUS

import index.embed as embed
import index.embed_onnx as embed_onnx
from core.settings import Settings, offline_hub


def _fake_model_folder(path):
    """A folder that looks like a mean-pooled, normalised sentence-transformers model (no weights that load)."""
    (path / "1_Pooling").mkdir(parents=True)
    modules = [{"type": f"sentence_transformers.models.{kind}"} for kind in ("Transformer", "Pooling", "Normalize")]
    (path / "modules.json").write_text(json.dumps(modules))
    (path / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_mean_tokens": True}))
    (path / "tokenizer.json").write_text("{}")
    (path / "config.json").write_text("{}")
    (path / "model.safetensors").write_bytes(b"weights")
    return path


@pytest.fixture
def counted_export(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []

    def fake_export(model_path, out):
        calls.append(str(model_path))
        (out / "model.onnx").write_bytes(b"onnx")
        return 1.0

    monkeypatch.setattr(embed_onnx, "_export", fake_export)
    return calls


def test_the_export_is_made_once_and_reused(tmp_path, counted_export) -> None:
    model = _fake_model_folder(tmp_path / "model")
    first = embed_onnx.ensure_export(model, tmp_path / "models")
    stamp = (first / "model.onnx").stat().st_mtime_ns
    second = embed_onnx.ensure_export(model, tmp_path / "models")
    assert second == first and counted_export == [str(model)]
    assert (first / "model.onnx").stat().st_mtime_ns == stamp
    assert [p.name for p in first.parent.iterdir()] == [first.name]  # no temporary folder left behind


def test_changed_weights_get_a_new_export(tmp_path, counted_export) -> None:
    model = _fake_model_folder(tmp_path / "model")
    first = embed_onnx.ensure_export(model, tmp_path / "models")
    (model / "model.safetensors").write_bytes(b"other weights")
    assert embed_onnx.ensure_export(model, tmp_path / "models") != first
    assert len(counted_export) == 2


def test_a_failed_export_leaves_nothing_and_is_tried_again(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _fake_model_folder(tmp_path / "model")

    def broken(model_path, out):
        (out / "model.onnx").write_bytes(b"half")
        raise embed_onnx.ModelError("check failed")

    monkeypatch.setattr(embed_onnx, "_export", broken)
    with pytest.raises(embed_onnx.ModelError):
        embed_onnx.ensure_export(model, tmp_path / "models")
    assert list((tmp_path / "models" / "onnx").iterdir()) == []


def test_only_mean_pooled_normalised_models_run_with_onnx(tmp_path) -> None:
    model = _fake_model_folder(tmp_path / "model")
    assert isinstance(embed.get_embedder(Settings(data_dir=tmp_path, embed_model=str(model))), embed.OnnxEmbedding)
    (model / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_cls_token": True}))
    assert isinstance(
        embed.get_embedder(Settings(data_dir=tmp_path, embed_model=str(model))), embed.SentenceTransformerEmbedding
    )
    torch_settings = Settings(
        data_dir=tmp_path, embed_model=str(_fake_model_folder(tmp_path / "m2")), embed_runtime="torch"
    )
    assert isinstance(embed.get_embedder(torch_settings), embed.SentenceTransformerEmbedding)


def test_both_runtimes_record_the_same_model_name(tmp_path) -> None:
    onnx = embed.get_embedder(Settings(data_dir=tmp_path))
    torch = embed.get_embedder(Settings(data_dir=tmp_path, embed_runtime="torch"))
    assert isinstance(onnx, embed.OnnxEmbedding)
    assert onnx.model_name == torch.model_name == embed.BUNDLED_MODEL


def test_a_failed_export_falls_back_to_the_torch_model(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    class FakeTorchModel:
        def encode(self, texts, **kwargs):
            return np.ones((len(texts), 3))

    def broken(model_path, models_dir):
        raise embed_onnx.ModelError("no onnx package")

    monkeypatch.setattr(embed_onnx, "ensure_export", broken)
    monkeypatch.setattr(embed.SentenceTransformerEmbedding, "warm_up", lambda self: FakeTorchModel())  # the fallback
    monkeypatch.setattr(embed, "_torch_threads", 0)  # as if set already: nothing touches torch here
    embedder = embed.get_embedder(Settings(data_dir=tmp_path, embed_model=str(_fake_model_folder(tmp_path / "m"))))
    assert embedder.get_query_embedding("q") == [1.0, 1.0, 1.0]
    assert embedder.runtime == "torch"


# --- with the real bundled model -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    """One real export for this module's tests (made here, so each test can count on it)."""
    offline_hub()
    folder = tmp_path_factory.mktemp("models")
    embed_onnx.ensure_export(embed.bundled_model_path(), folder)
    return folder


def _chunk_texts(paths, limit: int) -> list[str]:
    from bench.ingest import _sample_texts

    return _sample_texts(paths, Settings(), limit)


@pytest.mark.real
def test_onnx_vectors_match_the_torch_model(models_dir) -> None:
    from sentence_transformers import SentenceTransformer

    texts = _chunk_texts(sorted(SAMPLE_CORPUS.rglob("*.txt")), 10_000)
    if BBC_DIR.is_dir():
        texts += _chunk_texts(sorted(BBC_DIR.rglob("*.txt"))[::60], 120)
    questions = ["What did the report say about broadband?", "Which chips did Alibaba and Baidu make?", "AI"]
    onnx = embed.get_embedder(Settings(models_dir=models_dir))
    assert onnx.runtime == "onnx"
    torch_model = SentenceTransformer(str(embed.bundled_model_path()), device="cpu")
    got = np.array(onnx.get_text_embedding_batch(texts) + [onnx.get_query_embedding(q) for q in questions])
    want = torch_model.encode(texts + questions, batch_size=16, normalize_embeddings=True, convert_to_numpy=True)
    cosine = np.sum(got * want, axis=1)
    assert len(texts) > 100 and cosine.min() >= 0.999
    # retrieval does not change: every question's five nearest chunks are the same, in the same order
    for q in range(len(questions)):
        top = [np.argsort(-(vectors[: len(texts)] @ vectors[len(texts) + q]))[:5] for vectors in (got, want)]
        assert list(top[0]) == list(top[1])


@pytest.mark.real
def test_onnx_embedder_is_safe_to_share_between_threads(models_dir) -> None:
    onnx = embed.get_embedder(Settings(models_dir=models_dir))
    want = onnx.get_query_embedding("broadband prices")
    results: list[list[float]] = []

    def worker() -> None:
        for _ in range(5):
            results.append(onnx.get_query_embedding("broadband prices"))

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 15 and all(np.allclose(r, want, atol=1e-6) for r in results)


PROBE = """
import sys
from cli.main import main
sys.stdout = open('/dev/null', 'w')
code = main(sys.argv[1:])
sys.stdout = sys.__stdout__
print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers', 'llama_index') if m in sys.modules))
sys.exit(code)
"""


@pytest.mark.real
@pytest.mark.integration
def test_the_query_path_never_imports_torch_nor_llama_index(tmp_path, models_dir) -> None:
    env = {**offline_hub(dict(__import__("os").environ)), "NEWSRAG_MODELS_DIR": str(models_dir)}
    env.pop("NEWSRAG_EMBED_RUNTIME", None)
    data = tmp_path / "data"
    seed = sorted(SAMPLE_CORPUS.rglob("*.txt"))[:3]
    ingest = subprocess.run(
        [sys.executable, "-m", "cli.main", "--data-dir", str(data), "ingest", *map(str, seed)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ingest.returncode == 0, ingest.stderr[-2000:]
    for command in (["search", "What is new in AI chips?"], ["stats"]):
        got = subprocess.run(
            [sys.executable, "-c", PROBE, "--data-dir", str(data), *command],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert got.returncode == 0, got.stderr[-2000:]
        assert got.stdout.strip().splitlines()[-1] == "[]", command
    assert [p.name for p in (models_dir / "onnx").iterdir()] == [
        embed_onnx.export_dir(embed.bundled_model_path(), models_dir).name
    ]


def test_questions_use_onnx_and_ingestion_torch_by_default(tmp_path) -> None:
    from rag.api import NewsQA

    qa = NewsQA(settings=Settings(data_dir=tmp_path))
    assert isinstance(qa.embedder, embed.OnnxEmbedding)
    assert type(qa.ingest_embedder) is embed.SentenceTransformerEmbedding
    assert qa.ingest_embedder.model_name == qa.embedder.model_name  # one model as far as the index knows
    same = NewsQA(settings=Settings(data_dir=tmp_path, ingest_embed_runtime="onnx"))
    assert same.ingest_embedder is same.embedder
