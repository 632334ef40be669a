"""The bundled sentence-transformers model run with onnxruntime: the same vectors without importing torch.

A question in a new process used to spend most of its start-up importing torch and sentence-transformers
(~4 s of a 5.8 s `newsrag search`). Here the model is exported once to ONNX (with torch, from the local model
folder, offline) into settings.models_dir, checked against the torch model (cosine >= MIN_COSINE), and from
then on run with onnxruntime + the `tokenizers` package: mean pooling over the attention mask and L2
normalisation, as the folder's 1_Pooling/config.json and 2_Normalize module say. The vectors match the torch
model's to within float rounding (cosine >= 0.99999 on the sample and BBC chunks), so an index built with either
runtime is the same model to the other: both record the same embed model name.

The embedder itself is index.embed.OnnxEmbedding; this module holds the export and the runtime.

    python -m index.embed --export-onnx   # export now (make setup does), instead of on the first embedding
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from core.errors import ModelError

log = logging.getLogger(__name__)

MIN_COSINE = 0.999  # below this the export is refused (the torch model is used instead)
OPSET = 17
MANIFEST = "newsrag-onnx.json"
EXPORT_VERSION = 1  # bump when the export itself changes: a new folder is made, the old one is left alone
# Files the runtime needs beside model.onnx (the tokenizer and the configs that describe the model).
COPIED = ("tokenizer.json", "config.json", "sentence_bert_config.json", "modules.json", "1_Pooling/config.json")
CHECK_TEXTS = (  # different lengths in one batch, so padding and the attention mask are checked too
    "Broadband",
    "What did the report say about broadband and TV viewing?",
    "The chip maker said its new processor would ship next year, after delays that "
    "analysts blamed on the move to a smaller manufacturing process. " * 6,
)


def onnx_compatible(model_path: Path) -> bool:
    """Whether the folder is a sentence-transformers model this runtime reproduces: a transformer, mean pooling,
    then normalisation (the bundled all-MiniLM-L6-v2 is)."""
    try:
        modules = json.loads((model_path / "modules.json").read_text(encoding="utf-8"))
        pooling = json.loads((model_path / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    kinds = [m.get("type", "").rsplit(".", 1)[-1] for m in modules]
    modes = [k for k, v in pooling.items() if k.startswith("pooling_mode_") and v]
    return (
        kinds == ["Transformer", "Pooling", "Normalize"]
        and modes == ["pooling_mode_mean_tokens"]
        and (model_path / "tokenizer.json").is_file()
    )


def export_dir(model_path: Path, models_dir: Path) -> Path:
    """Where the export of this model folder lives: keyed by the folder's config and weights (size and mtime),
    so a reinstalled or changed model gets a new export and an unchanged one reuses its export."""
    digest = hashlib.sha256(f"v{EXPORT_VERSION}:{model_path.resolve()}".encode())
    for name in ("config.json", "modules.json", "sentence_bert_config.json"):
        file = model_path / name
        if file.is_file():
            digest.update(file.read_bytes())
    for weights in sorted(model_path.glob("*.safetensors")) + sorted(model_path.glob("*.bin")):
        stat = weights.stat()
        digest.update(f"{weights.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return models_dir / "onnx" / f"{model_path.parent.name}-{model_path.name}-{digest.hexdigest()[:12]}"


def max_seq_length(model_path: Path) -> int:
    try:
        config = json.loads((model_path / "sentence_bert_config.json").read_text(encoding="utf-8"))
        return int(config.get("max_seq_length", 256))
    except (OSError, ValueError):
        return 256


def ensure_export(model_path: Path, models_dir: Path) -> Path:
    """The ONNX export of model_path under models_dir: reused when it is there, else made now (imports torch,
    ~10 s) and verified against the torch model. Safe when two processes export at once (each writes a temporary
    folder; the first rename wins)."""
    target = export_dir(model_path, models_dir)
    if (target / MANIFEST).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=target.parent))
    try:
        cosine = _export(model_path, tmp)
        (tmp / MANIFEST).write_text(
            json.dumps({"source": str(model_path), "opset": OPSET, "min_cosine_vs_torch": cosine}, indent=2),
            encoding="utf-8",
        )
        try:
            os.rename(tmp, target)
        except OSError:
            if not (target / MANIFEST).is_file():
                raise
            # another process finished first: use its export
        log.info("exported %s to ONNX in %s (cosine vs torch %.6f)", model_path.name, target, cosine)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _export(model_path: Path, out: Path) -> float:
    """Export the transformer to out/model.onnx (output: last_hidden_state), copy the tokenizer and configs, and
    return the lowest cosine between this runtime's vectors and the torch model's on CHECK_TEXTS."""
    from core.settings import offline_hub

    offline_hub()
    try:
        import onnx  # noqa: F401  (torch's exporter needs it; say so before torch fails deep inside)
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers import AutoModel
    except ImportError as exc:
        raise ModelError(f"Exporting the embedding model to ONNX needs {exc.name}: run `make setup`.") from exc

    class LastHiddenState(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    model = AutoModel.from_pretrained(str(model_path)).eval()
    ids = torch.tensor([[101, 7221, 2001, 102], [101, 7221, 102, 0]], dtype=torch.long)
    mask = (ids != 0).long()
    names = ["input_ids", "attention_mask", "token_type_ids"]
    import warnings

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shape checks: the check below is what counts
        torch.onnx.export(
            LastHiddenState(model),
            (ids, mask, torch.zeros_like(ids)),
            str(out / "model.onnx"),
            dynamo=False,
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes={name: {0: "batch", 1: "tokens"} for name in [*names, "last_hidden_state"]},
            opset_version=OPSET,
        )
    for name in COPIED:
        if (model_path / name).is_file():
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(model_path / name, out / name)
    import numpy as np

    reference = SentenceTransformer(str(model_path), device="cpu").encode(
        list(CHECK_TEXTS), normalize_embeddings=True, convert_to_numpy=True
    )
    got = OnnxRuntimeModel(out, max_seq_length(model_path)).encode(list(CHECK_TEXTS))
    cosine = float(np.min(np.sum(reference * got, axis=1)))
    if cosine < MIN_COSINE:
        raise ModelError(f"The ONNX export of {model_path.name} differs from the torch model (cosine {cosine:.4f}).")
    return cosine


class OnnxRuntimeModel:
    """An exported folder loaded into onnxruntime and tokenizers; encode() gives normalised mean-pooled vectors."""

    def __init__(self, folder: Path, max_length: int = 256, threads: int = 0):
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.log_severity_level = 3
        # Idle worker threads sleep instead of spinning: on a shared 2-core machine spinning took CPU from the rest
        # of the process (and from other processes) for no measurable gain.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(
            str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        # sentence-transformers truncates at max_seq_length and pads to the batch's longest text; tokenizer.json
        # itself says 128 and fixed padding, which would change the vectors of longer chunks.
        self.tokenizer.enable_truncation(max_length)
        self.tokenizer.enable_padding(pad_id=self.tokenizer.token_to_id("[PAD]") or 0)

    def encode(self, texts: list[str], batch_size: int = 16) -> Any:
        """Vectors (numpy, float32, unit length) in the order of texts; batches of similar length, as
        sentence-transformers does, so little of the work is padding."""
        import numpy as np

        out = np.zeros((len(texts), 0), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(texts), batch_size):
            chosen = order[start : start + batch_size]
            vectors = self._batch([texts[i] for i in chosen])
            if out.shape[1] == 0:
                out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
            out[chosen] = vectors
        return out

    def _batch(self, texts: list[str]):
        import numpy as np

        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self.session.run(None, {k: v for k, v in feed.items() if k in self.inputs})[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
