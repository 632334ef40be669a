"""Dates written in a question ("last week", "in March 2005", "since 2024") as a date filter, relative to today.

A small grammar over the question instead of a general date finder: `dateparser.search_dates` also reads
"May", "second", "now" or "march" in ordinary sentences as dates, and a filter the user did not ask for hides
the answer. Only phrases that name a time are read: relative ones (today, yesterday, this/last/past
week|month|year, N days ago, in the last N weeks, last Monday) and calendar ones after a preposition (in/during/
on/since/after/before/until/between) or written in full ("12 September 2025"). A month or day without a year
("on September 12") gives no filter: in a question it usually quotes an article, not this year. Arithmetic uses
dateutil.relativedelta. "Today" is the caller's: `now=` on NewsQA, `--now`, NEWSRAG_NOW, else the real date.
Dates relative to events ("before the iPhone launch") are out of scope and give no filter.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

from core.dates import today_for
from core.types import TimeFilter

__all__ = ["TimeFilter", "parse_time", "today_for"]

_MONTHS = {name.lower(): n for n, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): n for n, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9
_WEEKDAYS = {name.lower(): n for n, name in enumerate(calendar.day_name)}
_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
            "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "couple of": 2, "few": 3}  # fmt: skip

_MONTH = r"(?P<{0}>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_YEAR = r"(?P<{0}>(?:19|20)\d\d)"
_DAY = r"(?P<{0}>[0-3]?\d)(?:st|nd|rd|th)?"
_NUM = r"(?P<{0}>\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|couple of|few)"
_UNIT = r"(?P<{0}>day|week|month|year)s?"


def _calendar(tag: str) -> str:
    """A calendar date expression; groups are suffixed with `tag` so two can sit in one pattern."""
    return (
        rf"(?:(?P<iso{tag}>(?:19|20)\d\d-[01]\d(?:-[0-3]\d)?)"
        rf"|{_DAY.format('d1' + tag)}(?:\s+of)?\s+{_MONTH.format('m1' + tag)}(?:,?\s+{_YEAR.format('y1' + tag)})?"
        rf"|{_MONTH.format('m2' + tag)}\s+{_DAY.format('d2' + tag)}(?!\d)(?:,?\s+{_YEAR.format('y2' + tag)})?"
        rf"|{_MONTH.format('m3' + tag)}(?:,?\s+{_YEAR.format('y3' + tag)})?"
        rf"|{_YEAR.format('y4' + tag)})"
    )


_RELATIVE = (
    r"(?P<rel>today|tonight|yesterday|last night|the day before yesterday"
    r"|(?:this|last|past|previous|the past|the last|this past) (?:week|month|year|weekend)"
    rf"|(?:in |over |during )?(?:the )?(?:last|past) {_NUM.format('n')} {_UNIT.format('unit')}"
    rf"|{_NUM.format('n_ago')} {_UNIT.format('unit_ago')} ago"
    r"|(?:last|this|on|on last) (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday))"
)
_BETWEEN = re.compile(rf"\bbetween\s+{_calendar('a')}\s+and\s+{_calendar('b')}\b", re.I)
_BOUND = re.compile(rf"\b(?P<word>since|after|before|until|till|through|by)\s+(?:{_RELATIVE}|{_calendar('a')})\b", re.I)
_IN = re.compile(rf"\b(?P<word>in|during|on|of|from)\s+(?:early\s+|late\s+|mid-?)?{_calendar('a')}\b", re.I)
_REL = re.compile(rf"\b(?:from\s+)?{_RELATIVE}\b", re.I)
_FULL_DATE = re.compile(
    rf"\b(?:{_DAY.format('d1a')}\s+{_MONTH.format('m1a')},?\s+{_YEAR.format('y1a')}"
    rf"|{_MONTH.format('m2a')}\s+{_DAY.format('d2a')},?\s+{_YEAR.format('y2a')})\b",
    re.I,
)


def parse_time(question: str, today: date) -> TimeFilter | None:
    """The date filter a question's own words ask for, or None when it names no time."""
    for pattern, read in ((_BETWEEN, _between), (_BOUND, _bound), (_IN, _in), (_FULL_DATE, _full), (_REL, _rel)):
        for match in pattern.finditer(question):
            found = read(match, today)
            if found is not None:
                since, until = found
                return TimeFilter(since=since, until=until, text=match.group(0).strip())
    return None


# --- readers: a match -> (since, until), or None when it is not a date after all ------------------------


def _between(m: re.Match, today: date):
    b = _calendar_range(m, "b", today)
    if b is None:
        return None
    # "between March and May 2005": the year written once, at the end, belongs to both
    a = _calendar_range(m, "a", today, year=b[0].year)
    if a is None:
        return None
    return (a[0], b[1]) if a[0] <= b[1] else None


def _bound(m: re.Match, today: date):
    word = m.group("word").lower()
    span = _relative_range(m, today) if m.group("rel") else _calendar_range(m, "a", today)
    if span is None:
        return None
    start, end = span
    if word == "since":
        return start, None
    if word == "after":
        return end + timedelta(days=1), None
    if word == "before":
        return None, start - timedelta(days=1)
    return None, end  # until, till, through, by


def _in(m: re.Match, today: date):
    if m.group("word").lower() == "of" and not (m.group("m1a") or m.group("m3a") or m.group("isoa")):
        return None  # "the class of 2024", "a 2 of 5": not a date filter
    if m.group("word").lower() == "on" and m.group("y4a"):
        return None  # "on 2024 models"
    return _calendar_range(m, "a", today)


def _full(m: re.Match, today: date):
    for d, mo, y in (("d1a", "m1a", "y1a"), ("d2a", "m2a", "y2a")):
        if m.group(mo):
            return _day(int(m.group(y)), _MONTHS[m.group(mo).lower().rstrip(".")], int(m.group(d)))
    return None


def _rel(m: re.Match, today: date):
    return _relative_range(m, today)


# --- ranges ----------------------------------------------------------------------------------------------


def _calendar_range(m: re.Match, tag: str, today: date, year: int | None = None) -> tuple[date, date] | None:
    """The span a calendar expression names. A month or day without a year gives None (no filter) unless
    `year` supplies one: "on September 12" in a question usually quotes an article, whatever its year."""
    g = {name[: -len(tag)]: value for name, value in m.groupdict().items() if name.endswith(tag) and value}
    if "iso" in g:
        parts = [int(p) for p in g["iso"].split("-")]
        if len(parts) == 3:
            return _day(*parts)
        return (date(parts[0], parts[1], 1), _month_end(date(parts[0], parts[1], 1))) if 1 <= parts[1] <= 12 else None
    if "y4" in g:
        year = int(g["y4"])
        return date(year, 1, 1), date(year, 12, 31)
    for d, mo, y in (("d1", "m1", "y1"), ("d2", "m2", "y2")):
        if mo in g:
            month = _MONTHS[g[mo].lower().rstrip(".")]
            day = int(g[d])
            if y not in g and year is None:
                return None
            return _day(int(g[y]) if y in g else year, month, day)
    if "m3" in g:
        month = _MONTHS[g["m3"].lower().rstrip(".")]
        if "y3" not in g and year is None:
            return None
        start = date(int(g["y3"]) if "y3" in g else year, month, 1)
        return start, _month_end(start)
    return None


def _day(year: int, month: int, day: int) -> tuple[date, date] | None:
    try:
        d = date(year, month, day)
    except ValueError:
        return None
    return d, d


def _month_end(d: date) -> date:
    return date(d.year, d.month, calendar.monthrange(d.year, d.month)[1])


def _relative_range(m: re.Match, today: date) -> tuple[date, date] | None:
    rel = re.sub(r"\s+", " ", m.group("rel").lower())
    if rel in ("today", "tonight"):
        return today, today
    if rel == "yesterday":
        return today - timedelta(days=1), today - timedelta(days=1)
    if rel == "last night":
        return today - timedelta(days=1), today
    if rel == "the day before yesterday":
        return today - timedelta(days=2), today - timedelta(days=2)
    monday = today - timedelta(days=today.weekday())
    words = rel.split()
    if words[-1] in _WEEKDAYS:
        target = _WEEKDAYS[words[-1]]
        back = (today.weekday() - target) % 7
        if back == 0 and words[0] == "last":
            back = 7
        day = today - timedelta(days=back)
        return day, day
    ago = bool(m.group("unit_ago"))
    if m.group("unit") or ago:
        count = m.group("n_ago" if ago else "n").lower()
        n = int(count) if count.isdigit() else _NUMBERS.get(count)
        if not n or n > 100:
            return None
        unit = m.group("unit_ago" if ago else "unit").lower()
        if ago and count in ("few", "couple of"):  # vague: the span it could mean, not one day
            return today - relativedelta(**{f"{unit}s": n + 2}), today - relativedelta(**{f"{unit}s": 1})
        if ago:
            return _ago(today, n, unit)
        return today - relativedelta(**{f"{unit}s": n}), today
    kind, which = words[-1], " ".join(words[:-1])
    if kind == "weekend":
        saturday = monday + timedelta(days=5)
        if which == "this" and today >= saturday:
            return saturday, today
        last = saturday - timedelta(days=7)
        return last, last + timedelta(days=1)
    if which in ("this",):
        starts = {"week": today - timedelta(days=6), "month": today.replace(day=1), "year": date(today.year, 1, 1)}
        return starts[kind], today  # "this week": the seven days up to today, as weekly news quizzes mean it
    if which in ("past", "the past", "the last", "this past"):
        return today - relativedelta(**{f"{kind}s": 1}), today
    # last / previous: the calendar week, month or year before this one
    if kind == "week":
        return monday - timedelta(days=7), monday - timedelta(days=1)
    if kind == "month":
        first = today.replace(day=1) - relativedelta(months=1)
        return first, _month_end(first)
    return date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)


def _ago(today: date, n: int, unit: str) -> tuple[date, date]:
    if unit == "day":
        day = today - timedelta(days=n)
        return day, day
    if unit == "week":
        monday = today - timedelta(days=today.weekday()) - timedelta(weeks=n)
        return monday, monday + timedelta(days=6)
    if unit == "month":
        first = today.replace(day=1) - relativedelta(months=n)
        return first, _month_end(first)
    return date(today.year - n, 1, 1), date(today.year - n, 12, 31)


# --- the answer to a time question -------------------------------------------------------------------

LATEST_WORDS = re.compile(r"\b(latest|most recent(ly)?|newest|recent(ly)?|current(ly)?|right now|so far)\b", re.I)
_LOWER_FIRST = {"The", "A", "An", "It", "Its", "They", "Their", "There", "This", "These", "That", "Those", "In", "On"}


def long_date(day: date) -> str:
    return f"{day.day} {calendar.month_name[day.month]} {day.year}"


def date_the_answer(answer, found: TimeFilter | None, question: str) -> None:
    """Attach the date filter; for time and "latest" questions, say the date of what the answer cites
    ("As of 12 September 2025, ..."), from the cited passages' own dates only (undated ones give none).
    When the filter left no passage at all, the refusal says so instead of answering from other dates."""
    answer.time_filter = found
    if answer.refused:
        if found is not None and not answer.passages:
            answer.refusal_detail = (
                f"No indexed article is dated {found.describe()}, so this is not answered from other dates. "
                "Ask without the date (or remove the date filter) to search every date."
            )
        return
    if found is None and not LATEST_WORDS.search(question):
        return
    dates = sorted({c.passage.published.date() for c in answer.citations if c.passage.published})
    if not dates or answer.text.startswith("As of "):
        return
    first, _, rest = answer.text.partition(" ")
    text = f"{first.lower()} {rest}" if first in _LOWER_FIRST and rest else answer.text
    answer.text = f"As of {long_date(dates[-1])}, {text}"
