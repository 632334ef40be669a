"""Text clean-up applied to every article before it is chunked.

Real news text is messy: scraped pages carry control characters, odd spaces and sentences glued together
("intense.In late August"), which hurt both keyword search and sentence-aware chunking. Everything here
is pure string work, deterministic and idempotent: normalizing twice gives the same text as once.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["normalize_text", "normalize_title"]

# Characters that mean "line break" in some encoding or editor; all become "\n".
_LINE_BREAKS = re.compile(r"\r\n|[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
# Invisible format characters that only get in the way of search (zero-width space, BOM, soft hyphen, word joiner).
# Whitespace other than space and newline, control characters (C0, DEL, C1) and lone surrogates.
_ODD_CHARS = re.compile("[^\\S\n ]|[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\ufeff\u00ad\u2060\u180e"), None)

# Punctuation that can end a sentence, followed by any closing quotes or brackets.
_END_PUNCT = re.compile(r"[.!?]+[\"'\u201d\u2019\u00bb)\]]*")
_OPENING_QUOTES = "\"'\u201c\u2018\u00ab"
_CLOSING_BEFORE = set(")]%\"'\u201d\u2019\u00bb")
# Words that end with a period yet are usually followed by a capitalised word ("Mr.Smith" is left alone).
_ABBREVIATIONS = frozenset("e.g i.e mr mrs ms dr prof st sr jr vs gen gov sen rep rev fig".split())
_WORD_BEFORE = re.compile(r"[\w.]+$")


def normalize_text(text: str) -> str:
    """Clean article text: NFC, no control characters, tidy whitespace, glued sentences repaired.

    Paragraph breaks survive as "\\n\\n" (never more than one blank line); single line breaks stay single.
    """
    text = _LINE_BREAKS.sub("\n", text)
    text = text.translate(_INVISIBLE)
    text = unicodedata.normalize("NFC", _clean_chars(text))
    text = _tidy_whitespace(text)
    text = _repair_glued_sentences(text)
    return unicodedata.normalize("NFC", text)


def normalize_title(title: str) -> str:
    """A headline on one line: NFC, no control characters, whitespace collapsed to single spaces."""
    text = _LINE_BREAKS.sub(" ", title).translate(_INVISIBLE)
    text = _clean_chars(text).replace("\n", " ")
    text = unicodedata.normalize("NFC", text)
    return unicodedata.normalize("NFC", " ".join(text.split()))


def _clean_chars(text: str) -> str:
    """Odd whitespace becomes a space; control characters and lone surrogates (from bad decoding) go."""
    return _ODD_CHARS.sub(lambda m: " " if m.group().isspace() else "", text)


def _tidy_whitespace(text: str) -> str:
    lines = [re.sub(" {2,}", " ", line).strip(" ") for line in text.split("\n")]
    out: list[str] = []
    blank = False
    for line in lines:
        if not line:
            blank = bool(out)
            continue
        if blank:
            out.append("")
            blank = False
        out.append(line)
    return "\n".join(out)


def _repair_glued_sentences(text: str) -> str:
    """Insert the missing space in "end.Start" where it is clearly two sentences, not a name or a number."""
    inserts: list[int] = []
    for match in _END_PUNCT.finditer(text):
        start, end = match.span()
        if start > 0 and _is_glued(text, start, end, match.group()):
            inserts.append(end)
    if not inserts:
        return text
    parts: list[str] = []
    last = 0
    for pos in inserts:
        parts.append(text[last:pos])
        last = pos
    parts.append(text[last:])
    return " ".join(parts)


def _is_glued(text: str, start: int, end: int, punct: str) -> bool:
    before = text[start - 1]
    if not (before.islower() or before.isdigit() or before in _CLOSING_BEFORE):
        return False
    if ".." in punct:  # an ellipsis ("wait...What") is a style, not a missing space
        return False
    after = end
    if after < len(text) and text[after] in _OPENING_QUOTES:
        after += 1
    if after + 1 >= len(text) or not (text[after].isupper() and text[after + 1].islower()):
        return False
    if _in_url_or_email(text, start, end):
        return False
    word = _WORD_BEFORE.search(text, max(0, start - 16), start)
    if word and word.group().lower().lstrip(".") in _ABBREVIATIONS:
        return False
    return True


def _in_url_or_email(text: str, start: int, end: int) -> bool:
    """True when the punctuation sits inside a URL, a www. host, an e-mail address or a file path."""
    left = start
    while left > 0 and not text[left - 1].isspace():
        left -= 1
    right = end
    while right < len(text) and not text[right].isspace():
        right += 1
    token = text[left:right].lower().lstrip("(<[\"'\u201c")
    return "://" in token or "@" in token or token.startswith("www.") or token.startswith("/")
