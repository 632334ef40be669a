"""newsrag's errors. Each `NewsragError` carries a message that says what to do, so the app and the CLI show
it as it is; any other exception is a bug: they log it with its traceback and show a short generic message.
"""

from __future__ import annotations


class NewsragError(Exception):
    """An error a user can act on; its message names the item and the fix."""


class UsageError(NewsragError, ValueError):
    """A bad option or value from the user (a date, a preset, a flag); the CLI exits 2."""


class ConfigError(UsageError):
    """A preset or config file that cannot be used as written (unknown key, bad value, missing file)."""


class DateError(UsageError):
    """A date the user typed that newsrag cannot read."""


class ModelNotFoundError(NewsragError):
    """A bundled model package is missing from this environment."""


class ModelError(NewsragError):
    """The language model could not be loaded or reached (server down, bad path, broken download)."""


class StoreError(NewsragError):
    """The index (Chroma store or keyword index) cannot be opened or written."""


class ReadError(NewsragError):
    """One source (file, page, feed entry) could not be read; the batch goes on without it."""


class FetchError(NewsragError):
    """One URL could not be fetched (HTTP status, timeout, too large, not allowed)."""


class FeedListError(UsageError):
    """An OPML subscription list that cannot be read."""


def user_message(exc: BaseException) -> str | None:
    """The message to show a user for `exc`, or None when it is a bug that only the log should describe."""
    if isinstance(exc, NewsragError):
        return str(exc)
    return None


GENERIC_MESSAGE = "Something went wrong; the log has the details. Please try again."
