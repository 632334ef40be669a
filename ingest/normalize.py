"""Text clean-up applied to every article before it is chunked.

Real news text is messy: scraped pages carry control characters, odd spaces and sentences glued together
("intense.In late August"), which hurt both keyword search and sentence-aware chunking. Everything here
is pure string work, deterministic and idempotent: normalizing twice gives the same text as once.
"""

from __future__ import annotations

import re
import unicodedata

from core.text import repair_glued_sentences

__all__ = ["normalize_text", "normalize_title"]

# Characters that mean "line break" in some encoding or editor; all become "\n".
_LINE_BREAKS = re.compile(r"\r\n|[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
# Invisible format characters that only get in the way of search (zero-width space, BOM, soft hyphen, word joiner).
# Whitespace other than space and newline, control characters (C0, DEL, C1) and lone surrogates.
_ODD_CHARS = re.compile("[^\\S\n ]|[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\ufeff\u00ad\u2060\u180e"), None)


def normalize_text(text: str) -> str:
    """Clean article text: NFC, no control characters, tidy whitespace, glued sentences repaired.

    Paragraph breaks survive as "\\n\\n" (never more than one blank line); single line breaks stay single.
    """
    text = _LINE_BREAKS.sub("\n", text)
    text = text.translate(_INVISIBLE)
    text = unicodedata.normalize("NFC", _clean_chars(text))
    text = _tidy_whitespace(text)
    text = repair_glued_sentences(text)
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
