"""Dates, in one place: reading the dates users type and the dates articles carry, and writing them back.

Users type days as YYYY-MM-DD (filters, `--since`, `--now`); one error message says so. Articles carry anything
(ISO 8601, RFC 822 from feeds, epoch numbers, free text), read leniently with python-dateutil as the last resort.
The index stores Unix seconds in UTC.
"""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from core.errors import DateError

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_YEAR = re.compile(r"\d{4}")
# Zone names dateutil does not know; feeds use them.
_TZINFOS = {"UT": 0, "UTC": 0, "GMT": 0, "Z": 0, "EST": -5 * 3600, "EDT": -4 * 3600, "CST": -6 * 3600,
            "CDT": -5 * 3600, "MST": -7 * 3600, "MDT": -6 * 3600, "PST": -8 * 3600, "PDT": -7 * 3600,
            "BST": 3600, "CET": 3600, "CEST": 7200, "IST": 19800, "JST": 9 * 3600}  # fmt: skip


# --- dates users type ------------------------------------------------------------------------------------


def parse_day(text: date | datetime | str | None, field: str = "date") -> date | None:
    """A day typed by a user: '' or None -> None, 'YYYY-MM-DD' -> date; anything else is a DateError that
    names the field and says how to write it."""
    if isinstance(text, datetime):
        return text.date()
    if isinstance(text, date):
        return text
    text = (text or "").strip()
    if not text:
        return None
    if _DAY.fullmatch(text):
        with contextlib.suppress(ValueError):
            return date.fromisoformat(text)
    raise DateError(f"{field}: {text!r} is not a date. Write it as YYYY-MM-DD, e.g. 2024-08-30.")


def parse_bound(value: date | datetime | str | None, field: str = "date") -> date | datetime | None:
    """A since/until bound: a day as parse_day, or a full ISO datetime (the API accepts both)."""
    if isinstance(value, str) and ("T" in value.strip() or " " in value.strip()):
        try:
            return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise DateError(f"{field}: {value!r} is not a date. Write it as YYYY-MM-DD, e.g. 2024-08-30.") from None
    return parse_day(value, field)


def to_timestamp(value: date | datetime | str | None, *, end_of_day: bool = False, field: str = "date") -> int | None:
    """Unix seconds (UTC) for a date bound or an article date; a bare day means its start, or its last second
    with end_of_day. Naive datetimes are UTC."""
    value = parse_bound(value, field) if isinstance(value, str) else value
    if value is None:
        return None
    if not isinstance(value, datetime):
        time = (23, 59, 59) if end_of_day else (0, 0, 0)
        value = datetime(value.year, value.month, value.day, *time)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp())


def today_for(now: date | datetime | str | None, default: str | None = None) -> date:
    """The "today" questions are relative to: `now`, else the setting NEWSRAG_NOW (`default`), else the real date."""
    value = now if now not in (None, "") else default
    if value in (None, ""):
        return date.today()
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return parse_day(str(value).strip()[:10], "today's date ('now')")


# --- dates articles carry ---------------------------------------------------------------------------------


def parse_article_date(value: Any) -> datetime | None:
    """An aware UTC datetime from ISO/RFC-822/free-form strings, epoch numbers, date(time)s or struct_time.

    None when unparseable or absurd (before 1990 or more than two days in the future): an article is better
    undated than given a wrong date.
    """
    try:
        result = _to_datetime(value)
    except (ValueError, OverflowError, TypeError, OSError):
        return None
    if result is None:
        return None
    result = result.replace(tzinfo=UTC) if result.tzinfo is None else result.astimezone(UTC)
    if result.year < 1990 or result > datetime.now(UTC) + timedelta(days=2):
        return None
    return result


def _to_datetime(value: Any) -> datetime | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 1e11 else value
        return datetime.fromtimestamp(seconds, UTC)
    if isinstance(value, tuple) and len(value) >= 6:  # time.struct_time from feedparser is UTC
        return datetime(*value[:6], tzinfo=UTC)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if re.fullmatch(r"\d{10}(\d{3})?", text):
        return _to_datetime(int(text))
    if not _YEAR.search(text) or len(text) > 80:
        return None
    with contextlib.suppress(ValueError):
        return datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    from email.utils import parsedate_to_datetime

    with contextlib.suppress(ValueError, TypeError, IndexError):
        return parsedate_to_datetime(text)
    import warnings

    from dateutil import parser as date_parser

    with warnings.catch_warnings():  # unknown zone names warn and parse as UTC, which is what we want
        warnings.simplefilter("ignore")
        return date_parser.parse(text, tzinfos=_TZINFOS, default=datetime(2000, 1, 1))


# --- writing dates -----------------------------------------------------------------------------------------


def format_day(value: datetime | date | str | None) -> str:
    """'30 Aug 2024' for a date, 'undated' for None; strings are read as ISO dates when possible."""
    if value is None or value == "":
        return "undated"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value[:10]
    return f"{value.day} {value:%b %Y}"
