"""An embedder that calls an OpenAI-compatible `/v1/embeddings` server (Text Embeddings Inference, vLLM,
Infinity, Ollama, llama.cpp's server), so that embedding can run on other machines than newsrag.

An ingest batch is cut into requests of `request_batch` texts, `concurrency` of them in flight at once; a
request that fails on the way (connection error, timeout, 429, 5xx) is retried with exponential backoff, or
after the server's Retry-After. Everything else a user can act on becomes a ModelError that says what to check.
"""

from __future__ import annotations

import email.utils
import logging
import math
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
from pydantic import Field, PrivateAttr

from core.errors import ModelError
from index.embedder import Embedder

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class _Retry(Exception):
    """A failure worth another try: `wait` is the server's Retry-After in seconds, if it sent one."""

    def __init__(self, reason: str, wait: float | None = None, final: ModelError | None = None):
        super().__init__(reason)
        self.wait = wait
        self.final = final  # what to raise when no try is left


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds a Retry-After header asks to wait: a number of seconds or an HTTP date; None if unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _detail(response: httpx.Response) -> str:
    """The server's own error message, short: OpenAI's {"error": {"message"}}, TEI's {"error"}, or the text."""
    try:
        body = response.json()
    except ValueError:
        return " ".join(response.text.split())[:200]
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        error = error.get("message")
    return " ".join(str(error or body).split())[:200]


def _normalized(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


class ServerEmbedding(Embedder):
    """Embeddings from an OpenAI-compatible server; `model_name` is the model the server is asked for.

    Vectors come back L2-normalised, as the local embedder's do (some servers normalise, some do not; the
    answerer's sentence scores take dot products as cosines).
    """

    base_url: str = Field(description="The OpenAI-compatible API, e.g. http://127.0.0.1:8080/v1.")
    api_key: str | None = Field(None, exclude=True, repr=False)
    request_batch: int = 32
    concurrency: int = 4
    timeout: float = 60.0
    retries: int = 4
    backoff: float = 0.5  # seconds before the first retry; doubled at each one
    max_wait: float = 60.0  # longest wait between tries, whatever Retry-After says
    _client: httpx.Client | None = PrivateAttr(default=None)
    _lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def endpoint(self) -> str:
        return f"{self.base_url.rstrip('/')}/embeddings"

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
                self._client = httpx.Client(
                    timeout=self.timeout,
                    headers=headers,
                    limits=httpx.Limits(max_connections=max(1, self.concurrency)),
                )
        return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    # one request ----------------------------------------------------------

    def _request(self, texts: list[str]) -> list[list[float]]:
        """One POST, retried; the vectors in the order of `texts`."""
        tries = self.retries + 1
        for attempt in range(tries):
            try:
                return self._post_once(texts)
            except _Retry as retry:
                if attempt == tries - 1:
                    raise retry.final or ModelError(str(retry)) from None
                wait = retry.wait
                if wait is None:
                    wait = self.backoff * 2**attempt + random.uniform(0, self.backoff)
                wait = min(wait, self.max_wait)
                log.warning(
                    "Embedding server %s: %s; retrying in %.1f s (try %d of %d).",
                    self.base_url,
                    retry,
                    wait,
                    attempt + 2,
                    tries,
                )
                time.sleep(wait)
        raise AssertionError("unreachable")

    def _post_once(self, texts: list[str]) -> list[list[float]]:
        where = f"The embedding server at {self.base_url}"
        body = {"model": self.model_name, "input": texts, "encoding_format": "float"}
        try:
            response = self._http().post(self.endpoint, json=body)
        except httpx.TimeoutException as exc:
            raise _Retry(
                f"no answer within {self.timeout:g} s",
                final=ModelError(
                    f"{where} did not answer within {self.timeout:g} s ({self.retries + 1} tries): check that it "
                    "is up and not overloaded, or raise NEWSRAG_EMBED_TIMEOUT."
                ),
            ) from exc
        except httpx.TransportError as exc:
            raise _Retry(
                f"{type(exc).__name__}: {exc}",
                final=ModelError(
                    f"Cannot reach the embedding server at {self.base_url} ({type(exc).__name__}: {exc}): check "
                    "NEWSRAG_EMBED_BASE_URL and that the server is running."
                ),
            ) from exc
        status = response.status_code
        if status in RETRY_STATUSES:
            detail = _detail(response)
            raise _Retry(
                f"HTTP {status} {detail}".strip(),
                wait=retry_after_seconds(response.headers.get("Retry-After")),
                final=ModelError(
                    f"{where} answered HTTP {status} ({detail}) after {self.retries + 1} tries: check its log "
                    "and load, or lower NEWSRAG_EMBED_CONCURRENCY."
                ),
            )
        if status in (401, 403):
            raise ModelError(f"{where} refused the request (HTTP {status}): check NEWSRAG_EMBED_API_KEY.")
        if status == 404:
            raise ModelError(
                f"{where} has no {self.endpoint} or no model {self.model_name!r} (HTTP 404: {_detail(response)}): "
                "check NEWSRAG_EMBED_BASE_URL (the OpenAI-compatible API, usually ending in /v1) and "
                "NEWSRAG_EMBED_MODEL."
            )
        if status >= 400:
            raise ModelError(
                f"{where} refused the request (HTTP {status}: {_detail(response)}): check NEWSRAG_EMBED_MODEL "
                f"({self.model_name!r}), and lower NEWSRAG_EMBED_REQUEST_BATCH ({self.request_batch}) if the "
                "server limits texts per request."
            )
        return self._vectors(response, len(texts))

    def _vectors(self, response: httpx.Response, expected: int) -> list[list[float]]:
        try:
            data = response.json()["data"]
            rows = sorted(data, key=lambda row: row.get("index", 0))
            vectors = [[float(v) for v in row["embedding"]] for row in rows]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ModelError(
                f"The embedding server at {self.base_url} answered with no OpenAI embeddings response: check "
                "NEWSRAG_EMBED_BASE_URL (the OpenAI-compatible API, usually ending in /v1)."
            ) from exc
        if len(vectors) != expected:
            raise ModelError(
                f"The embedding server at {self.base_url} returned {len(vectors)} vectors for {expected} texts: "
                "check that NEWSRAG_EMBED_BASE_URL is an embeddings server."
            )
        return [_normalized(v) for v in vectors]

    # many requests --------------------------------------------------------

    def embed(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        step = max(1, self.request_batch)
        batches = [texts[i : i + step] for i in range(0, len(texts), step)]
        if len(batches) == 1 or self.concurrency <= 1:
            return [v for batch in batches for v in self._request(batch)]
        pool = ThreadPoolExecutor(max_workers=min(self.concurrency, len(batches)), thread_name_prefix="embed")
        try:
            results = list(pool.map(self._request, batches))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)  # one failure: the batches not yet sent are not sent
        return [v for batch in results for v in batch]
