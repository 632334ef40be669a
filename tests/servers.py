"""Real servers and processes on loopback for the tests: free ports, waiting for a server, an ASGI app under
uvicorn, and started processes (`newsrag ...`, `python app.py`, `chroma run`), always stopped afterwards."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from paths import REPO

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


def wait_for(condition: Callable[[], object], *, what: str, timeout: float = 90, interval: float = 0.2, proc=None):
    """Polls `condition()` until it is truthy and returns its value; an exception from it counts as "not yet".

    With `proc`, a process that exits first fails at once (with its output, when it has `.output()`).
    """
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            output = proc.output() if hasattr(proc, "output") else ""
            raise RuntimeError(f"{what}: the process exited with {proc.returncode}:\n{output}")
        try:
            value = condition()
        except Exception:  # noqa: BLE001 (not up yet)
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            output = proc.output()[-3000:] if proc is not None and hasattr(proc, "output") else ""
            raise RuntimeError(f"{what}: not within {timeout:.0f} s\n{output}")
        time.sleep(interval)


def answers(url: str, *, status: int | None = None) -> bool:
    """Whether an HTTP server answers at url (with `status`, only that status counts)."""
    import httpx

    try:
        response = httpx.get(url, timeout=2)
    except httpx.TransportError:
        return False
    return status is None or response.status_code == status


def wait_for_line(proc: subprocess.Popen, lines: list[str], needle: str, timeout: float = 90) -> str:
    """Reads `proc`'s piped stdout line by line (kept in `lines`) until one contains needle; returns that line."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        lines.append(line)
        if needle in line:
            return line
    raise AssertionError(f"no line with {needle!r}; the process printed:\n{''.join(lines)}")


@contextmanager
def started_process(
    cmd: list[str],
    *,
    ready: Callable[[subprocess.Popen], object],
    env: dict[str, str] | None = None,
    cwd: Path = REPO,
    timeout: float = 90,
    what: str | None = None,
) -> Iterator[subprocess.Popen]:
    """`cmd` as a real process, its output to a file (`proc.output()` reads it); waits until `ready(proc)` is
    truthy, and stops it afterwards (SIGTERM, then SIGKILL)."""
    log = tempfile.TemporaryFile("w+")  # a file, not a pipe: a chatty server must never block on a full pipe
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)

    def output() -> str:
        log.flush()
        log.seek(0)
        return log.read()

    proc.output = output  # type: ignore[attr-defined]
    try:
        wait_for(lambda: ready(proc), what=what or " ".join(map(str, cmd)), timeout=timeout, proc=proc)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@contextmanager
def newsrag_process(*args: str, ready_url: str, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    """`newsrag ARGS` as a real process; waits until ready_url answers HTTP, stops it afterwards."""
    with started_process(
        [sys.executable, "-m", "cli.main", *args],
        ready=lambda _: answers(ready_url),
        env=env or newsrag_env(),
        what=f"newsrag {' '.join(args)} at {ready_url}",
    ) as proc:
        yield proc
