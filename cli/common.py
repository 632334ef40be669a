"""What every `newsrag` subcommand needs: the settings its options ask for and the NewsQA over them."""

from __future__ import annotations

from pathlib import Path


def settings_from(args):
    from core.settings import Settings

    overrides = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = Path(args.data_dir)
    if getattr(args, "llm", None):
        overrides["llm"] = args.llm
    if getattr(args, "mode", None):
        overrides["retrieval_mode"] = args.mode
    return Settings(**overrides)


def open_qa(args):
    from rag.api import NewsQA

    return NewsQA(settings=settings_from(args))
