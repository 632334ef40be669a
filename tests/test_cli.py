"""The `newsrag` command's edges: global options anywhere, bad dates as usage errors before anything loads,
typed errors shown as they are, bugs logged with their traceback."""

from __future__ import annotations

import logging

import pytest

import cli.main as cli
from core.errors import ModelError, StoreError


@pytest.fixture
def opened(monkeypatch):
    """Record the data dir each command opens, without opening an index."""
    seen: list[str | None] = []

    class FakeQA:
        def stats(self):
            return {"articles": 0, "chunks": 0, "earliest": None, "latest": None, "undated": 0, "sources": {}}

    def open_qa(args):
        seen.append(args.data_dir)
        return FakeQA()

    monkeypatch.setattr(cli, "_qa", open_qa)
    return seen


@pytest.mark.parametrize(
    "argv, data_dir",
    [
        (["--data-dir", "/tmp/a", "stats"], "/tmp/a"),
        (["stats", "--data-dir", "/tmp/b"], "/tmp/b"),
        (["-v", "stats", "--data-dir", "/tmp/c"], "/tmp/c"),
        (["--data-dir", "/tmp/a", "stats", "-v"], "/tmp/a"),  # after the subcommand, unset keeps the value before
        (["stats"], None),
    ],
)
def test_global_options_go_before_or_after_the_subcommand(opened, argv, data_dir):
    assert cli.main(argv) == cli.EXIT_OK
    assert opened == [data_dir]


def test_feed_subcommands_take_the_global_options_too():
    args, _ = cli.build_parser().parse_known_args(["feeds", "list", "--data-dir", "/tmp/f"])
    assert args.data_dir == "/tmp/f"


@pytest.mark.parametrize("argv", [["ask", "Q?", "--since", "30/08/2024"], ["search", "Q?", "--now", "yesterday"]])
def test_a_bad_date_is_a_usage_error_before_the_index_opens(opened, argv, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "is not a date. Write it as YYYY-MM-DD" in err and "isoformat" not in err
    assert opened == []


@pytest.mark.parametrize(
    "error, code", [(ModelError("Start the server: ollama serve."), 1), (StoreError("Delete the lock file X."), 1)]
)
def test_newsrag_errors_are_shown_as_they_are(monkeypatch, capsys, error, code):
    def broken(args):
        raise error

    monkeypatch.setattr(cli, "_qa", broken)
    assert cli.main(["stats"]) == code
    assert capsys.readouterr().err.strip() == f"error: {error}"


def test_a_bug_is_logged_with_its_traceback_and_the_user_gets_a_short_line(monkeypatch, capsys, caplog):
    def buggy(args):
        raise KeyError("chunk_index")

    monkeypatch.setattr(cli, "_qa", buggy)
    with caplog.at_level(logging.ERROR):
        assert cli.main(["stats"]) == cli.EXIT_FAILED
    assert any(r.exc_info and r.exc_info[0] is KeyError for r in caplog.records)
    err = capsys.readouterr().err
    assert "failed unexpectedly" in err and "chunk_index" not in err.splitlines()[-1]
