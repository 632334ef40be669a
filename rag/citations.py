"""Deterministic post-processing of citation markers in a model's raw answer.

Small models write citations in many shapes ([1], [1, 2], [1-3], [1][2], [Passage 2]) and
sometimes cite passages that do not exist. Everything here is pure string work, so the same raw
answer always gives the same cleaned answer, and a table of raw -> cleaned cases tests it.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from core.text import split_sentences

_LABEL = r"(?:passages?|sources?|docs?|documents?|refs?|references?|articles?|citations?)"
_NUM_LIST = rf"\d+(?:\s*(?:[-–—]|,|;|&|\band\b)\s*(?:{_LABEL}\s*)?\d+)*"
# [1]  [1, 2]  [1-3]  [Passage 2]  [^1]  and, only when labelled, (Passage 2) / (Sources 1, 2)
MARKER_RE = re.compile(
    rf"\[\s*\^?\s*(?:{_LABEL}\s*#?\s*)?(?P<a>{_NUM_LIST})\s*\]"
    rf"|\(\s*{_LABEL}\s*#?\s*(?P<b>{_NUM_LIST})\s*\)",
    re.IGNORECASE,
)
_MARKERS_RUN = rf"(?:\s*(?:{MARKER_RE.pattern}))+"
# "... chips. [1]" -> the marker belongs to the sentence before the full stop.
_MARKERS_AFTER_STOP_RE = re.compile(rf"(?P<stop>[.!?]+)(?P<markers>{_MARKERS_RUN})", re.IGNORECASE)
_MARKERS_RUN_RE = re.compile(_MARKERS_RUN, re.IGNORECASE)
_MARKER_BEFORE_STOP_RE = re.compile(rf"(?:{MARKER_RE.pattern})\s*[.!?]", re.IGNORECASE)
_MAX_RANGE = 20

_LIST_PREFIX_RE = re.compile(r"^\s*(?:[-*•]+|\d+[.)])\s+")
# "The reasons include: 1. X [1]. 2. Y [2]." - a numbered list written inline: its items start new lines
_INLINE_ITEM_RE = re.compile(r"(?<=[:.!?\]])\s+\d{1,2}[.)]\s+(?=[A-Z\"'“])")


@dataclass
class CitedSentence:
    """One sentence of an answer, without its markers, and the passage numbers it cites."""

    text: str
    numbers: list[int] = field(default_factory=list)


def _expand(numbers: str) -> list[int]:
    """'1, 2-4' -> [1, 2, 3, 4]; silly ranges (9-2, 1-500) give just their ends."""
    out: list[int] = []
    for part in re.split(r"\s*(?:,|;|&|\band\b)\s*", numbers, flags=re.IGNORECASE):
        part = re.sub(_LABEL, "", part, flags=re.IGNORECASE).strip()
        if not part:
            continue
        ends = [int(x) for x in re.split(r"\s*[-–—]\s*", part) if x.strip().isdigit()]
        if len(ends) == 2 and ends[0] <= ends[1] <= ends[0] + _MAX_RANGE:
            out.extend(range(ends[0], ends[1] + 1))
        else:
            out.extend(ends)
    return out


def marker_numbers(text: str) -> list[int]:
    """Every passage number cited in text, in order, duplicates kept."""
    out: list[int] = []
    for m in MARKER_RE.finditer(text):
        out.extend(_expand(m.group("a") or m.group("b")))
    return out


_FRAMING_RE = re.compile(
    r"^(?:according to |based on )?the (?:passages?|articles?|text|context)(?: provided| given)?"
    r"(?: (?:states?|says?|mentions?|indicates?|notes?|reports?|explains?)(?: that)?|,)\s+",
    re.IGNORECASE,
)


def _tidy(text: str) -> str:
    """Remove the gaps left by deleted markers: 'chips  .' -> 'chips.'; and framing ("The passages state that")."""
    text = _LIST_PREFIX_RE.sub("", text)
    text = _FRAMING_RE.sub("", text)
    text = text[:1].upper() + text[1:]
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\s+([.,;:!?)])", r"\1", text)
    text = re.sub(r"([(])\s+", r"\1", text)
    text = re.sub(r"([.,;:!?])\1+", r"\1", text)  # "chips [1]." after "chips." -> no double stop
    return text.strip()


# "The passage [1] states that X", "[2] mentions that X": the model narrating its sources; the claim is X.
_NARRATION_RE = re.compile(
    r"^(?:according to\s+)?(?:(?:the\s+)?(?:passages?|articles?|text)\s*)?"
    r"(?:states?|says?|mentions?|indicates?|notes?|shows?|reports?|explains?|suggests?)\s+that\s+",
    re.IGNORECASE,
)


_VERBS = r"(?:states?|says?|mentions?|indicates?|notes?|shows?|reports?|explains?|suggests?)"
# The same mid-answer: "... competitive. [2] mentions that there is a choice." -> "There is a choice [2]."
_MARKED_NARRATION_RE = re.compile(
    rf"(?:\b(?:the\s+)?passages?\s*)?(?P<markers>(?:\[\d+\]\s*)+){_VERBS}\s+that\s+(?P<claim>[^.!?\[]*)", re.IGNORECASE
)


def _unnarrate(raw: str) -> str:
    def claim_first(m: re.Match) -> str:
        claim = m.group("claim").strip()
        if not claim:
            return m.group(0)
        return f"{claim[0].upper()}{claim[1:]} {m.group('markers').strip()}"

    return _MARKED_NARRATION_RE.sub(claim_first, raw)


def _without_narration(text: str) -> str:
    m = _NARRATION_RE.match(text)
    if not m or not text[m.end() :]:
        return text
    rest = text[m.end() :]
    return rest[0].upper() + rest[1:]


def parse_answer(raw: str, valid: Collection[int]) -> list[CitedSentence]:
    """Split a raw answer into sentences with the valid passage numbers each one cites.

    Numbers matching no passage are dropped, duplicates merged (first-use order kept). A line
    holding only markers ("Sources: [1][2]") gives its numbers to the sentence before it.
    """
    valid = set(valid)
    text = _markers_after_their_sentences(_unnarrate(raw.strip()))
    text = _MARKERS_AFTER_STOP_RE.sub(lambda m: m.group("markers") + m.group("stop"), text)
    text = _INLINE_ITEM_RE.sub("\n", text)
    out: list[CitedSentence] = []
    for sentence in split_sentences(text):
        numbers: list[int] = []
        for n in marker_numbers(sentence):
            if n in valid and n not in numbers:
                numbers.append(n)
        bare = _tidy(MARKER_RE.sub(" ", sentence))
        if not re.search(r"\w", bare) or re.fullmatch(rf"{_LABEL}\s*:?", bare, re.IGNORECASE):
            if out:  # markers on their own, or "Sources:" followed by markers
                out[-1].numbers.extend(n for n in numbers if n not in out[-1].numbers)
            continue
        if bare.endswith(":"):
            continue  # a list's lead-in ("The reasons include:") states nothing itself
        out.append(CitedSentence(_without_narration(bare), numbers))
    return out


def _markers_after_their_sentences(text: str) -> str:
    """'[1] The chip is fast. [2] It is cheap.' (each marker before its sentence, as the small model sometimes
    writes) -> 'The chip is fast. [1] It is cheap. [2]'. Only for an answer that opens with a marker and never
    puts one before a full stop; otherwise a marker after a stop belongs to the sentence before it."""
    runs = list(_MARKERS_RUN_RE.finditer(text))
    if not runs or runs[0].start() != 0 or _MARKER_BEFORE_STOP_RE.search(text):
        return text
    pieces = []
    for i, run in enumerate(runs):
        end = runs[i + 1].start() if i + 1 < len(runs) else len(text)
        pieces.append(f"{text[run.end() : end].strip()} {run.group(0).strip()}")
    return " ".join(pieces)


def first_use_order(sentences: Iterable[CitedSentence]) -> list[int]:
    """Passage numbers in order of first citation: the order the sources are listed in."""
    order: list[int] = []
    for s in sentences:
        order.extend(n for n in s.numbers if n not in order)
    return order


def render_answer(sentences: list[CitedSentence], bullets: bool = False) -> tuple[str, list[int]]:
    """Join sentences with markers renumbered 1..k in order of first citation.

    Returns (text, order) where order[i] is the original number of source i + 1.
    Markers go before the sentence's final punctuation: "Alibaba rose 7% [1]."
    With bullets, each sentence is a list item ("- ...") on its own line.
    """
    order = first_use_order(sentences)
    new_number = {old: i + 1 for i, old in enumerate(order)}
    parts = []
    for s in sentences:
        text = s.text
        if not re.search(r"[.!?:;][\"'”’)]*$", text):
            text += "."  # list items and unfinished lines become sentences once joined
        if s.numbers:
            markers = "".join(f"[{new_number[n]}]" for n in s.numbers)
            m = re.search(r"[.!?]+[\"'”’)]*$", text)
            text = f"{text[: m.start()]} {markers}{text[m.start() :]}" if m else f"{text} {markers}"
        parts.append(text)
    if bullets:
        return "\n".join(f"- {p}" for p in parts), order
    return " ".join(parts), order


def clean_citations(raw: str, valid: Collection[int]) -> tuple[str, list[int]]:
    """Raw model answer -> (cleaned text, original numbers of cited passages in citation order).

    This is the deterministic part only; rag.claims then decides which sentences survive.
    """
    return render_answer(parse_answer(raw, valid))
