"""An OpenAI-compatible chat API over NewsQA: GET /v1/models and POST /v1/chat/completions.

Chat front-ends (Open WebUI, LibreChat) and scripts using the `openai` SDK talk to newsrag as to a model called
"newsrag". Every answer comes from NewsQA.ask, so the citation and claim checks and the refusals all apply: a
streamed answer is the checked text, sent once it is final, never the model's unchecked draft. `create_app`
builds the API as its own FastAPI app; app.py mounts it at /v1 inside the Gradio app (one process, one port),
and `serve` runs it alone (`newsrag serve --api-only`).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any, Literal

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.types import Answer
from serve import wire

log = logging.getLogger(__name__)

MODEL_ID = "newsrag"
CREATED = 1764547200  # 2025-12-01: when the "newsrag" model id was first served
RETRY_AFTER_S = 5
_WORDS = re.compile(r"\S+\s*|\s+")
WORDS_PER_CHUNK = 3


# --- the request ---------------------------------------------------------------------------------


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")  # name, tool_calls, ...: accepted, not used
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if self.content is None or isinstance(self.content, str):
            return self.content or ""
        for part in self.content:
            if part.type != "text":
                raise APIError(400, f"newsrag reads text only; a message has a {part.type!r} part.", param="messages")
        return "\n".join(part.text or "" for part in self.content)


class ChatRequest(BaseModel):
    """OpenAI's request, plus newsrag's filters as extra fields. OpenAI's sampling options (temperature,
    max_tokens, ...) are accepted and ignored: newsrag's answer path decides how the model is called."""

    model_config = ConfigDict(extra="ignore")
    model: str
    messages: list[Message] = Field(min_length=1)
    stream: bool = False
    n: int = 1
    k: int | None = Field(None, ge=1, le=wire.MAX_K, description="Passages retrieved for the answer.")
    sources: list[str] | None = Field(None, description="Only articles from these sources.")
    since: date | None = Field(None, description="Only articles published on or after this day (YYYY-MM-DD).")
    until: date | None = Field(None, description="Only articles published on or before this day (YYYY-MM-DD).")


class APIError(Exception):
    """An error a client gets in OpenAI's shape: {"error": {"message", "type", "param", "code"}}."""

    TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 404: "invalid_request_error",
             413: "invalid_request_error", 429: "rate_limit_exceeded", 500: "server_error"}  # fmt: skip

    def __init__(self, status: int, message: str, *, code: str | None = None, param: str | None = None, headers=None):
        super().__init__(message)
        self.status, self.message, self.code, self.param, self.headers = status, message, code, param, headers

    def response(self) -> JSONResponse:
        body = {"message": self.message, "type": self.TYPES.get(self.status, "invalid_request_error"),
                "param": self.param, "code": self.code}  # fmt: skip
        return JSONResponse({"error": body}, status_code=self.status, headers=self.headers)


def _conversation(request: ChatRequest, max_chars: int) -> tuple[str, list[dict[str, str]]]:
    """The question (the last user message) and the earlier turns as history for condensing a follow-up.

    System and developer messages are left out: newsrag's own instructions decide how it answers, and a
    client's system prompt must not be able to switch the citations off.
    """
    turns = [(m.role, m.text()) for m in request.messages if m.role in ("user", "assistant")]
    total = sum(len(text) for _, text in turns)
    if total > max_chars:
        raise APIError(413, f"The messages hold {total} characters; the limit is {max_chars}.", code="too_large")
    if not turns or turns[-1][0] != "user":
        raise APIError(400, "The last message must be the user's question.", param="messages")
    try:
        question = wire.check_question(turns[-1][1])
    except ValueError as exc:
        status = 413 if len(turns[-1][1]) > wire.MAX_QUESTION_CHARS else 400
        raise APIError(status, str(exc), param="messages") from None
    history = [{"role": role, "content": wire.strip_sources(text)} for role, text in turns[:-1] if text.strip()]
    return question, history


# --- the response --------------------------------------------------------------------------------


def completion_json(answer: Answer, completion_id: str, created: int) -> dict[str, Any]:
    """A chat.completion object; the citations and the refusal flag travel in the extra field "newsrag"."""
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": MODEL_ID,
        "system_fingerprint": None,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": wire.answer_text(answer), "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": None,  # newsrag does not count tokens; None rather than made-up numbers
        "newsrag": wire.answer_json(answer),
    }


def _chunk(completion_id: str, created: int, delta: dict, finish: str | None = None, **extra) -> str:
    choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
    body = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
            "system_fingerprint": None, "choices": [choice], **extra}  # fmt: skip
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


def stream_events(answer_fn, completion_id: str, created: int) -> Iterator[str]:
    """Server-sent events in OpenAI's chunk format: the role at once, the checked answer in word-sized pieces
    once it is final, a last chunk with finish_reason and the "newsrag" field, then `data: [DONE]`."""
    yield _chunk(completion_id, created, {"role": "assistant", "content": ""})
    try:
        answer = answer_fn()
    except Exception as exc:
        log.exception("answering a streamed chat completion failed")
        yield f"data: {json.dumps({'error': {'message': wire.user_error(exc), 'type': 'server_error'}})}\n\n"
        yield "data: [DONE]\n\n"
        return
    words = _WORDS.findall(wire.answer_text(answer))
    for i in range(0, len(words), WORDS_PER_CHUNK):
        yield _chunk(completion_id, created, {"content": "".join(words[i : i + WORDS_PER_CHUNK])})
    yield _chunk(completion_id, created, {}, "stop", newsrag=wire.answer_json(answer))
    yield "data: [DONE]\n\n"


# --- the app -------------------------------------------------------------------------------------


class Slots:
    """Questions in flight (answered or waiting for the model); past the limit a request gets 429 at once."""

    def __init__(self, limit: int):
        self.limit, self.used, self._lock = limit, 0, threading.Lock()

    def take(self):
        with self._lock:
            if self.used >= self.limit:
                raise APIError(
                    429,
                    f"newsrag is busy answering {self.used} questions; try again in a few seconds.",
                    code="overloaded",
                    headers={"Retry-After": str(RETRY_AFTER_S)},
                )
            self.used += 1
        released = threading.Event()

        def release() -> None:  # called from the stream's end and from the response's background task
            with self._lock:
                if not released.is_set():
                    released.set()
                    self.used -= 1

        return release


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it passes the limit (whether or not it declared its length)."""
    declared = request.headers.get("content-length", "")
    too_large = APIError(413, f"The request body is over the {limit // 1024} KB limit.", code="too_large")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return body


def create_app(qa, settings=None) -> FastAPI:
    """The API as a FastAPI app with paths /models and /chat/completions; mount it at /v1."""
    settings = settings or qa.settings
    slots = Slots(settings.api_max_pending)

    def require_key(request: Request) -> None:
        if not settings.api_key:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(given.strip().encode(), settings.api_key.encode()):
            raise APIError(
                401,
                "Missing or wrong API key: send 'Authorization: Bearer <key>' with the key in NEWSRAG_API_KEY.",
                code="invalid_api_key",
                headers={"WWW-Authenticate": "Bearer"},
            )

    api = FastAPI(title="newsrag OpenAI-compatible API", dependencies=[Depends(require_key)], docs_url=None)

    @api.exception_handler(APIError)
    async def on_api_error(request: Request, exc: APIError) -> JSONResponse:
        return exc.response()

    @api.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = {404: f"No such endpoint: {request.method} {request.url.path}"}.get(exc.status_code, exc.detail)
        return APIError(exc.status_code, str(message), headers=exc.headers).response()

    @api.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return APIError(400, str(exc)).response()

    def model_card() -> dict[str, Any]:
        return {"id": MODEL_ID, "object": "model", "created": CREATED, "owned_by": "newsrag"}

    @api.get("/models")
    def list_models() -> dict[str, Any]:
        return {"object": "list", "data": [model_card()]}

    @api.get("/models/{model}")
    def get_model(model: str) -> dict[str, Any]:
        if model != MODEL_ID:
            raise _unknown_model(model)
        return model_card()

    @api.post("/chat/completions")
    async def chat_completions(request: Request):
        body = await _read_body(request, settings.api_max_body_kb * 1024)
        chat = _parse(body)
        if chat.model != MODEL_ID:
            raise _unknown_model(chat.model)
        if chat.n != 1:
            raise APIError(400, "newsrag gives one answer per request: n must be 1.", param="n")
        if len(chat.messages) > settings.api_max_messages:
            raise APIError(
                413, f"{len(chat.messages)} messages; the limit is {settings.api_max_messages}.", code="too_large"
            )
        question, history = _conversation(chat, settings.api_max_chars)
        try:
            wire.check_filters(qa, sources=chat.sources, since=chat.since, until=chat.until)
        except ValueError as exc:
            raise APIError(400, str(exc), param="sources" if chat.sources else "since") from None
        filters = {"k": chat.k, "sources": chat.sources, "since": chat.since, "until": chat.until}
        release = slots.take()
        completion_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

        def answer() -> Answer:
            return qa.ask(question, history=history or None, **filters)

        if chat.stream:

            def events() -> Iterator[str]:
                try:
                    yield from stream_events(answer, completion_id, created)
                finally:
                    release()

            headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
            return StreamingResponse(
                events(), media_type="text/event-stream", headers=headers, background=BackgroundTask(release)
            )
        try:
            result = await run_in_threadpool(answer)
        except Exception as exc:
            log.exception("answering a chat completion failed")
            raise APIError(500, wire.user_error(exc)) from None
        finally:
            release()
        return JSONResponse(completion_json(result, completion_id, created))

    return api


def _parse(body: bytes) -> ChatRequest:
    try:
        return ChatRequest.model_validate_json(body or b"null")
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        if first["type"] == "json_invalid":
            raise APIError(400, f"The body is not valid JSON: {first['msg']}.") from None
        if where in ("since", "until"):
            message = f"{where}: {first.get('input')!r} is not a date; write it as YYYY-MM-DD, e.g. 2025-01-31."
            raise APIError(400, message, param=where) from None
        raise APIError(400, f"Invalid request: {where}: {first['msg']}.", param=where) from None


def _unknown_model(model: str) -> APIError:
    return APIError(
        404, f"The model {model!r} does not exist; this server has {MODEL_ID!r}.", code="model_not_found", param="model"
    )


def mount(qa, settings=None):
    """The API as a route for another ASGI app (the Gradio app): Mount("/v1", create_app(qa))."""
    from starlette.routing import Mount

    return Mount("/v1", app=create_app(qa, settings))


def serve(qa, settings, *, host: str | None = None, port: int | None = None) -> None:
    """Serve the API alone (no web UI) until interrupted."""
    import uvicorn
    from starlette.applications import Starlette

    root = Starlette(routes=[mount(qa, settings)])
    uvicorn.run(root, host=host or settings.host, port=port if port is not None else settings.port, log_level="info")
