"""llama.cpp settings for the default model, side by side: how fast it reads an answer prompt and writes tokens.

Time to first token is mostly prompt reading: the system prompt is reused between questions (llama.cpp keeps the
evaluated tokens), the passages and the question are new each time. Each setting gets its own llama.cpp context
over the same model file; the settings take turns, prompt by prompt, so a busy machine slows them alike.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from bench.common import BBC, Report, run_child, summarize

log = logging.getLogger(__name__)

# (label, llama.cpp keyword arguments): the shipped setting first
SETTINGS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("default (2 threads, batch 512)", {}),
    ("1 thread", {"n_threads": 1}),
    ("batch 128", {"n_batch": 128, "n_ubatch": 128}),
    ("flash attention", {"flash_attn": True}),
)
GENERATED_TOKENS = 16


def _prompts(n: int, to_prompt: Callable[[list], str]) -> list[str]:
    """Answer prompts as rag/answer.py builds them: its system prompt, about 1,200 characters of article text
    (the context budget), a question."""
    from llama_index.core.llms import ChatMessage

    from rag import prompt

    paths = sorted((BBC / "tech").glob("*.txt"))[::37][:n]
    prompts = []
    for path in paths:
        title, _, body = path.read_text(encoding="utf-8", errors="replace").partition("\n")
        passage = prompt("answer", "passage").format(
            number=1, title=title.strip(), source="bbc.co.uk", date="", text=" ".join(body.split())[:1200]
        )
        user = prompt("answer", "user").format(
            passages=passage,
            ids="[1]",
            today="",
            earlier="",
            question=f"What does the article about {title.strip()} report?",
            instruction=prompt("answer", "direct"),
        )
        messages = [
            ChatMessage(role="system", content=prompt("answer", "system")),
            ChatMessage(role="user", content=user),
        ]
        prompts.append(to_prompt(messages))
    return prompts


def measure(prompts: int, rounds: int) -> dict[str, Any]:
    """Runs in a child process: every setting reads each prompt (after the shared system prompt) and writes a few
    tokens; returns per-setting prompt and generation speeds."""
    from llama_cpp import Llama

    from rag import Settings, get_llm

    shipped = get_llm(Settings(llm="local"))  # the bundled model, assembled and verified; its ChatML template
    path = shipped.model_path
    texts = _prompts(prompts, shipped.messages_to_prompt)
    models = {}
    for label, kwargs in SETTINGS:
        options = {"n_ctx": 4096, "n_threads": 2, "verbose": False, **kwargs}
        models[label] = Llama(model_path=path, **options)
    first = models[SETTINGS[0][0]]
    tokenized = [first.tokenize(text.encode("utf-8"), special=True) for text in texts]
    # the tokens every prompt shares (the system prompt): evaluated once, as in the product
    shared = min(Llama.longest_token_prefix(tokenized[0], t) for t in tokenized[1:]) if len(tokenized) > 1 else 0
    results: dict[str, dict[str, list[float]]] = {label: {"read": [], "write": []} for label in models}
    for model in models.values():  # the shared start, read once per context, and one-off buffers warmed
        model.reset()
        model.eval(tokenized[0])
    for _ in range(rounds):
        for tokens in tokenized:
            for label, model in models.items():
                model.n_tokens = shared
                started = time.perf_counter()
                model.eval(tokens[shared:])
                read = time.perf_counter() - started
                started = time.perf_counter()
                written = 0
                for _token in model.generate([], temp=0.0, reset=False):
                    written += 1
                    if written >= GENERATED_TOKENS:
                        break
                write = time.perf_counter() - started
                results[label]["read"].append((len(tokens) - shared) / read)
                results[label]["write"].append(written / write)
                log.warning("%s: %d new tokens read in %.2f s", label, len(tokens) - shared, read)
    return {
        "model": path,
        "shared_tokens": shared,
        "new_tokens": [len(t) - shared for t in tokenized],
        "results": results,
    }


def run(ctx) -> Report:
    rep = Report("llm", "llama.cpp settings, side by side (default model, answer prompts)")
    data = run_child("bench.llm:measure", {"prompts": 2 if ctx.quick else 5, "rounds": 1 if ctx.quick else 2})
    rep.data = data
    new = summarize([float(n) for n in data["new_tokens"]])
    rep.add("prompt tokens read per question: median", new["median"], "tokens", note="after the shared system prompt")
    base = data["results"][SETTINGS[0][0]]
    base_read = summarize(base["read"])["median"]
    for label, _ in SETTINGS:
        read = summarize(data["results"][label]["read"])
        write = summarize(data["results"][label]["write"])
        rep.add(
            f"{label}: prompt reading, median",
            read["median"],
            "tokens/s",
            note=f"{read['median'] / base_read:.2f}x the default; writing {write['median']:.1f} tokens/s",
        )
    return rep
