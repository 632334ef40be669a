"""The one settings object. Environment variables (NEWSRAG_*) are read here and nowhere else."""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import MutableMapping
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.errors import ConfigError

PRESETS_DIR = Path(__file__).parent / "presets"


def _default_data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("newsrag", appauthor=False))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSRAG_", extra="ignore")

    # storage
    data_dir: Path = Field(default_factory=_default_data_dir, description="Where the index, models and caches live.")
    models_dir: Path = Field(
        default_factory=lambda: _default_data_dir() / "models",
        description="Where the assembled local model is cached; shared by every data dir.",
    )
    chroma_url: str | None = Field(
        None, description="A Chroma server (http://host:port); unset uses the embedded store in data_dir."
    )
    collection: str = Field("newsrag", description="Name prefix of the Chroma collections.")

    # ingestion
    chunk_tokens: int = Field(220, description="Target chunk size in tokens (words and punctuation).")
    chunk_overlap: int = Field(40, description="Tokens shared by consecutive chunks.")
    max_file_mb: float = Field(20.0, description="Files larger than this are refused.")
    fetch_timeout: float = Field(15.0, description="Seconds allowed for one URL fetch.")
    fetch_max_mb: float = Field(10.0, description="Largest page or feed fetched from a URL.")
    fetch_max_redirects: int = Field(5, description="Redirects followed for one URL.")
    allow_hosts: list[str] = Field(default_factory=list, description="Hosts allowed although private or loopback.")
    story_similarity: float = Field(
        0.8,
        description="Two articles that are no copies tell the same story when their embeddings (chunk means) are "
        "at least this similar, they share named entities and, when both are dated, are published close together.",
    )
    story_entities: int = Field(2, description="Named entities two articles must share to be one story.")
    story_window_days: float = Field(
        3.0, description="Most days between two dated articles of one story (undated articles are not held to it)."
    )

    # feeds (newsrag feeds / watch)
    feed_every: str = Field("1h", description="Default refresh interval of a new subscription (30m, 2h, 1d).")
    feed_min_chars: int = Field(
        600, description="A feed entry with less text than this gets its linked page fetched for the full text."
    )
    feed_max_pages: int = Field(20, description="Most linked pages fetched in one refresh of one feed.")
    feed_max_page_mb: float = Field(
        20.0, description="Most megabytes of linked pages fetched in one refresh of one feed."
    )
    feed_max_entries: int = Field(300, description="Most entries read from one fetch of a feed (the first ones).")
    feed_max_backoff: float = Field(86400.0, description="Longest wait in seconds before retrying a failing feed.")
    feed_background: bool = Field(True, description="The app refreshes due feeds in the background while it runs.")
    now: str | None = Field(
        None, description="Today's date (YYYY-MM-DD) for dates in questions ('last week'); unset: the real today."
    )

    # embeddings
    embed_backend: Literal["local", "openai"] = Field(
        "local",
        description="'local': embed_model runs in this process; 'openai': an OpenAI-compatible /v1/embeddings "
        "server at embed_base_url (Text Embeddings Inference, vLLM, Infinity, Ollama, llama.cpp's server).",
    )
    embed_model: str = Field(
        "all-MiniLM-L6-v2",
        description="local backend: 'all-MiniLM-L6-v2' (bundled), 'hash' (tests) or a local model folder; openai "
        "backend: the model name the server expects. The index records it and refuses another one.",
    )
    embed_base_url: str | None = Field(
        None, description="openai backend: the server's OpenAI-compatible API, e.g. http://127.0.0.1:8080/v1."
    )
    embed_api_key: str | None = Field(
        None,
        description="openai backend: sent as 'Authorization: Bearer <key>' when set (no fallback to "
        "OPENAI_API_KEY, so an LLM key never goes to an embedding server by accident).",
    )
    embed_request_batch: int = Field(
        32, description="openai backend: texts per request (Text Embeddings Inference accepts 32 by default)."
    )
    embed_concurrency: int = Field(4, description="openai backend: requests in flight at once during an ingest.")
    embed_timeout: float = Field(60.0, description="openai backend: seconds allowed for one request.")
    embed_retries: int = Field(
        4,
        description="openai backend: retries of a request after a connection error, a timeout, 429 or 5xx, with "
        "exponential backoff from 0.5 s (or the server's Retry-After, up to 60 s).",
    )
    embed_runtime: Literal["onnx", "torch"] = Field(
        "onnx",
        description="local backend: 'onnx' runs the model with onnxruntime (exported once into models_dir, the same "
        "vectors, and no torch import: questions start seconds sooner), 'torch' with sentence-transformers. Models "
        "other than a transformer with mean pooling and normalisation always run with torch.",
    )
    ingest_embed_runtime: Literal["onnx", "torch"] = Field(
        "torch",
        description="local backend: the runtime ingestion embeds with (questions use embed_runtime). Both give the "
        "same vectors; torch encoded batches of chunks faster than ONNX on this 2-core machine (bench/README.md), "
        "and only an ingest pays for importing it.",
    )
    embed_batch_size: int = Field(
        16, description="Chunks per sentence-transformers batch (16 measured fastest on 2 cores)."
    )
    torch_threads: int = Field(
        0,
        description="Torch CPU threads for the whole process (questions and ingests alike), set once when the "
        "first embedding model is built, and the ONNX embedder's onnxruntime threads; 0 keeps their defaults.",
    )

    # retrieval
    top_k: int = Field(5, description="Passages returned and given to the LLM.")
    retrieval_mode: Literal["hybrid", "dense", "keyword"] = Field("hybrid", description="How passages are found.")
    candidates: int = Field(40, description="Candidates taken from each retriever before fusion.")
    min_relevance: float = Field(
        0.25, description="Below this dense similarity of the best passage, refuse without calling the LLM."
    )

    # answering
    llm: str = Field("local", description="'local' (bundled GGUF), 'ollama', 'openai', or a path to a .gguf file.")
    llm_model: str | None = Field(None, description="Model name for ollama/openai backends.")
    llm_base_url: str | None = Field(None, description="Base URL for ollama/openai backends.")
    llm_api_key: str | None = Field(None, description="API key for the openai backend (falls back to OPENAI_API_KEY).")
    llm_timeout: float = Field(120.0, description="Seconds allowed for one LLM request to a server.")
    max_new_tokens: int = Field(256, description="Longest answer generated.")
    temperature: float = Field(0.0, description="Sampling temperature; 0 answers deterministically.")
    context_window: int = Field(4096, description="LLM context size in tokens (local models).")
    llm_threads: int = Field(0, description="llama.cpp threads; 0 uses all cores.")
    passages_probe_min: float = Field(
        0.0,
        description="Off at 0. Otherwise, before answering (local GGUF models only), the model is asked whether the "
        "passages state the answer and the question is refused when its P(yes) is below this (0.45 was tried: "
        "more refusals on the dev sets, none on the held-back test set, and ~0.5 s more per answer; eval/README.md).",
    )
    context_chars: int = Field(
        1200,
        description="Most characters of passage sentences put in the prompt (the sentences nearest the question; "
        "1.5 times this for why/how questions).",
    )

    # app
    host: str = Field("127.0.0.1", description="Address the app listens on.")
    port: int = Field(7860, description="Port the app listens on.")
    max_upload_mb: float = Field(20.0, description="Largest file accepted by the app's upload.")

    # open interfaces: the OpenAI-compatible API (serve/openai_api.py) and the MCP server (serve/mcp_server.py)
    api_key: str | None = Field(
        None, description="When set, /v1 requests need 'Authorization: Bearer <key>' (the web UI is unaffected)."
    )
    api_max_messages: int = Field(50, description="Most messages in one chat completion request.")
    api_max_chars: int = Field(
        20_000, description="Most characters in one request's messages (the question alone: 2,000)."
    )
    api_max_body_kb: int = Field(256, description="Largest request body, in KB; larger requests get 413.")
    api_max_pending: int = Field(
        8, description="Questions answered or waiting at once through the API; more get 429 (try again later)."
    )

    @model_validator(mode="after")
    def _openai_key_fallback(self) -> Settings:
        # OpenAI clients conventionally read OPENAI_API_KEY; honour it here, the one place env is read.
        if self.llm_api_key is None and os.environ.get("OPENAI_API_KEY"):
            self.llm_api_key = os.environ["OPENAI_API_KEY"]
        return self

    @model_validator(mode="after")
    def _check_chunking(self) -> Settings:
        if not 0 <= self.chunk_overlap < self.chunk_tokens:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be at least 0 and smaller than chunk_tokens ({self.chunk_tokens})"
            )
        return self

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def keyword_path(self) -> Path:
        return self.data_dir / "keyword.sqlite3"

    @property
    def feeds_path(self) -> Path:
        return self.data_dir / "feeds.sqlite3"


def load_preset(name_or_path: str, **overrides) -> Settings:
    """Settings from a preset (core/presets/NAME.toml) or a TOML file, with keyword overrides on top.

    Every key of the file must be a Settings field: a misspelled one is a ConfigError, not silently ignored
    (environment variables are not checked: NEWSRAG_* names that are no field are ignored as before).
    """
    path = Path(name_or_path)
    if not path.suffix:
        path = PRESETS_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in PRESETS_DIR.glob("*.toml")))
        raise FileNotFoundError(f"No preset or config file {name_or_path!r} (presets: {known})")
    values = tomllib.loads(path.read_text(encoding="utf-8"))
    _check_keys(values, path)
    values.update(overrides)
    return Settings(**values)


def _check_keys(values: dict, path: Path) -> None:
    fields = sorted(Settings.model_fields)
    unknown = [key for key in values if key not in Settings.model_fields]
    if not unknown:
        return
    problems = []
    for key in unknown:
        close = difflib.get_close_matches(key, fields, n=3)
        problems.append(f"{key!r} (did you mean {' or '.join(map(repr, close))}?)" if close else repr(key))
    message = f"{path}: unknown setting{'s' if len(unknown) > 1 else ''} {', '.join(problems)}"
    if not all(difflib.get_close_matches(key, fields, n=1) for key in unknown):
        message += f"; valid keys: {', '.join(fields)}"
    raise ConfigError(message)


def offline_hub(env: MutableMapping[str, str] | None = None) -> MutableMapping[str, str]:
    """Keep Hugging Face libraries off the network: HF_HUB_OFFLINE=1 unless the user set it already.

    The one place newsrag sets it. Called where models load (before huggingface_hub is imported, which reads
    it once), on this process's environment by default, or on `env`, a child process's environment.
    """
    target = os.environ if env is None else env
    target.setdefault("HF_HUB_OFFLINE", "1")
    return target
