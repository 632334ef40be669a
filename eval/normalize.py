"""Answer-text normalization shared by the metrics, the dataset checker and the dataset tests.

SQuAD-style (lowercase, drop punctuation and articles, collapse whitespace) with a few light,
symmetric rules for news text, so that "£1bn", "1 billion" and "1bn" compare equal and
"7%" equals "7 per cent", "1.3 metres" equals "1.3m". Being symmetric (applied to both sides) keeps it principled:
it can only merge spellings, never invent a match between different words.
"""

from __future__ import annotations

import re
import unicodedata

_NUMBER_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
    "thirteen": "13", "fourteen": "14", "fifteen": "15", "sixteen": "16", "seventeen": "17",
    "eighteen": "18", "nineteen": "19", "twenty": "20",
}  # fmt: skip
_NUMBER_WORD_RE = re.compile(r"\b(?:" + "|".join(_NUMBER_WORDS) + r")\b")
_ARTICLES = {"a", "an", "the"}
_ACRONYM = re.compile(r"\b(?:[^\W\d_]\.){2,}")  # "u.s." -> "us", before dots become spaces
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_PER_CENT = re.compile(r"\s*\b(?:per\s*cent|percent)\b")
_SCALE = re.compile(r"(?<=\d)\s*(billion|bn|million|m|thousand|k)\b")
_SCALE_SHORT = {"billion": "bn", "bn": "bn", "million": "m", "m": "m", "thousand": "k", "k": "k"}
# Units of measure written out or short ("1.3 metres" = "1.3m", "4.2 feet" = "4.2ft").
_UNIT = re.compile(
    r"(?<=\d)\s*(kilomet(?:re|er)s?|centimet(?:re|er)s?|millimet(?:re|er)s?|met(?:re|er)s?|feet|foot|ft"
    r"|kilograms?|kilos?|kg|km|cm|mm)\b"
)
_UNIT_SHORT = {"kilo": "km", "centi": "cm", "milli": "mm", "met": "m", "fee": "ft", "foo": "ft", "ft": "ft", "kg": "kg"}


def _unit(m: re.Match) -> str:
    word = m.group(1)
    if word in ("km", "cm", "mm"):
        return word
    if word.startswith("kilog") or word.startswith("kilos") or word == "kilo":
        return "kg"
    return next(short for prefix, short in _UNIT_SHORT.items() if word.startswith(prefix))


def _strip_punctuation(text: str) -> str:
    """Punctuation and symbols separate words (news text glues sentences: "6%.Sources").

    Apostrophes vanish ("Alibaba's" -> "alibabas"); a dot or comma between digits is kept
    ("1.5" stays a number).
    """
    out: list[str] = []
    for i, ch in enumerate(text):
        cat = unicodedata.category(ch)
        if ch in ".," and 0 < i < len(text) - 1 and text[i - 1].isdigit() and text[i + 1].isdigit():
            out.append(ch)
        elif ch in "'\u2019\u2018`":
            continue
        elif cat.startswith(("P", "S", "Z")):
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def normalize(text: str) -> str:
    """Text reduced to lowercase tokens separated by single spaces."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _THOUSANDS.sub("", text)
    text = _ACRONYM.sub(lambda m: m.group(0).replace(".", ""), text)
    text = _NUMBER_WORD_RE.sub(lambda m: _NUMBER_WORDS[m.group(0)], text)
    text = _PER_CENT.sub("%", text)
    text = _UNIT.sub(_unit, text)
    text = _SCALE.sub(lambda m: _SCALE_SHORT[m.group(1)], text)
    text = _strip_punctuation(text)
    tokens = [t for t in text.split() if t not in _ARTICLES]
    return " ".join(tokens)


def tokens(text: str) -> list[str]:
    return normalize(text).split()


def contains(haystack: str, needle: str) -> bool:
    """Whether the normalized needle occurs in the normalized haystack as whole tokens."""
    n = normalize(needle)
    if not n:
        return False
    return f" {n} " in f" {normalize(haystack)} "


def collapse_whitespace(text: str) -> str:
    """Whitespace-only normalization, used to find verbatim evidence sentences in a source."""
    return " ".join(text.split())
