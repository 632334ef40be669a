"""core/dates.py: the dates users type (one message for all of them) and the dates articles carry."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from core.dates import format_day, parse_bound, parse_day, to_timestamp, today_for
from core.errors import DateError, UsageError


def test_parse_day_reads_iso_days_and_empty_values():
    assert parse_day("2024-08-30", "From date") == date(2024, 8, 30)
    assert parse_day(" 2024-08-30 ") == date(2024, 8, 30)
    assert parse_day("  ", "From date") is None
    assert parse_day(None) is None
    assert parse_day(datetime(2024, 8, 30, 12, tzinfo=UTC)) == date(2024, 8, 30)


@pytest.mark.parametrize("bad", ["30/08/2024", "2024-13-01", "yesterday", "2024-02-30"])
def test_a_bad_day_is_one_usage_error_naming_the_field_and_the_format(bad):
    with pytest.raises(DateError) as caught:
        parse_day(bad, "From date")
    assert isinstance(caught.value, UsageError) and isinstance(caught.value, ValueError)
    assert str(caught.value) == f"From date: {bad!r} is not a date. Write it as YYYY-MM-DD, e.g. 2024-08-30."


def test_bounds_accept_days_and_iso_datetimes():
    assert parse_bound("2024-08-30") == date(2024, 8, 30)
    assert parse_bound("2024-08-30T10:00:00Z") == datetime(2024, 8, 30, 10, tzinfo=UTC)
    with pytest.raises(DateError, match="since"):
        parse_bound("2024-08-30T99", "since")


def test_timestamps_cover_whole_days_in_utc():
    start = to_timestamp("2024-08-30")
    assert start == int(datetime(2024, 8, 30, tzinfo=UTC).timestamp())
    assert to_timestamp(date(2024, 8, 30), end_of_day=True) == start + 86_399
    assert to_timestamp(datetime(2024, 8, 30, 2, 0)) == start + 7200  # naive is UTC
    assert to_timestamp(None) is None and to_timestamp("") is None
    with pytest.raises(DateError, match="until"):
        to_timestamp("30/08/2024", field="until")


def test_today_is_the_callers_then_the_setting_then_the_clock():
    assert today_for("2022-06-16") == date(2022, 6, 16)
    assert today_for(None, "2005-03-01") == date(2005, 3, 1)
    assert today_for(None, None) == date.today()
    with pytest.raises(DateError, match="YYYY-MM-DD"):
        today_for("last tuesday")


def test_format_day():
    assert format_day(datetime(2024, 8, 30, tzinfo=UTC)) == "30 Aug 2024"
    assert format_day("2024-08-30T10:00:00+00:00") == "30 Aug 2024"
    assert format_day(None) == "undated" and format_day("") == "undated"
