"""Real servers on loopback for the interface tests: free ports, an ASGI app under uvicorn, a CLI subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# A subprocess of newsrag on the fast fakes' settings: hash embedder, keyword retrieval, no relevance cut-off,
# and an LLM path that does not exist, so any unexpected model call fails loudly instead of loading a model.
FAKE_ENV = {
    "NEWSRAG_EMBED_MODEL": "hash",
    "NEWSRAG_RETRIEVAL_MODE": "keyword",
    "NEWSRAG_MIN_RELEVANCE": "0.0",
    "NEWSRAG_LLM": "/nonexistent/no-model-in-tests.gguf",
    "HF_HUB_OFFLINE": "1",
    "ANONYMIZED_TELEMETRY": "False",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def uvicorn_server(app) -> Iterator[str]:
    """Serve an ASGI app on 127.0.0.1 in a thread; yields its base URL (no trailing slash)."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def newsrag_env(**extra: str) -> dict[str, str]:
    return {**os.environ, **FAKE_ENV, **extra}


@contextmanager
def newsrag_process(*args: str, ready_url: str, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    """`newsrag ARGS` as a real process; waits until ready_url answers HTTP, stops it afterwards."""
    import httpx

    log = tempfile.TemporaryFile("w+")  # a file, not a pipe: a chatty server must never block on a full pipe
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", *args], cwd=REPO, env=env or newsrag_env(), stdout=log, stderr=log, text=True
    )

    def output() -> str:
        log.seek(0)
        return log.read()

    proc.output = output  # type: ignore[attr-defined]
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"newsrag {' '.join(args)} exited with {proc.returncode}:\n{output()}")
            try:
                httpx.get(ready_url, timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"newsrag {' '.join(args)} did not answer at {ready_url}") from None
                time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
