"""Text rules of news prose, in one place: sentences, abbreviations, glued sentences, tokens, stems, stopwords.

Chunking, normalization, citations, claim checking, keyword search and the prompt all need the same answer to
"where does this sentence end?" and "which words of it count?"; written once here, they cannot drift apart.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = [
    "ABBREVIATIONS",
    "BEFORE_NUMBER_ONLY",
    "FILLER",
    "SEARCH_STOPWORDS",
    "STOPWORDS",
    "content_words",
    "is_abbreviation",
    "is_glued",
    "is_number",
    "normalize_quotes",
    "repair_glued_sentences",
    "sentence_spans",
    "split_sentences",
    "stem",
    "tokens",
]

# --- sentences ---------------------------------------------------------------------------------

# Words that end with a full stop without ending a sentence (lower case, final stop left off): titles,
# company suffixes, months, Latin, counters and initials.
ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sr jr st rev gen gov sen rep
    inc corp co ltd plc llc
    jan feb mar apr jun jul aug sep sept oct nov dec
    e.g i.e etc vs fig approx no nos p pp u.s u.k u.n e.u""".split()
)
# Of those, the ones that usually end a sentence before a capitalised word ("hosts Ant and Dec. Natalie said",
# "phones, tablets etc. The firm") and hold it together only before a number: news style abbreviates a month
# only in a date ("Jan. 5"), and "No. 1" or "pp. 12" count something.
BEFORE_NUMBER_ONLY = frozenset("jan feb mar apr jun jul aug sep sept oct nov dec etc no nos p pp".split())
# Capital initials: "J. K. Rowling", "J.K. Rowling", "U.S.", "D.C." (a lower-case "vitamin c." may end a sentence).
_INITIALS = re.compile(r"[A-Z](?:\.[A-Z])*")

# Terminal punctuation (an ellipsis included) plus any closing quotes or brackets.
_SENTENCE_END = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019\u00bb)\]]*")
# CJK full stops end a sentence without a following space.
_CJK_END = re.compile(r"[\u3002\uff01\uff1f]+")
_LINE_BREAK = re.compile(r"[ \t]*\n\s*")
_WORD_BEFORE = re.compile(r"[\w.]+$")
_OPENING_QUOTES = "\"'\u201c\u2018\u00ab"
_CLOSING_BEFORE = frozenset(")]%\"'\u201d\u2019\u00bb")


def is_abbreviation(word: str, following: str = "") -> bool:
    """True when `word`, written just before a full stop, does not end the sentence ("Inc", "U.S", "J").

    `following` is the next visible character: "Jan" and "No" are abbreviations only before a number.
    """
    word = word.lstrip(".")
    if _INITIALS.fullmatch(word):
        return True
    lower = word.lower()
    if lower in BEFORE_NUMBER_ONLY:
        return following.isdigit()
    return lower in ABBREVIATIONS


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentence spans (start, end) over `text`, trimmed of whitespace, covering every non-space character.

    Spans (not strings) let chunks keep exact offsets into the article for highlighting evidence.
    """
    spans: list[tuple[int, int]] = []
    last = 0
    for cut in [*sorted(set(_sentence_cuts(text))), len(text)]:
        span = _strip_span(text, last, cut)
        if span:
            spans.append(span)
        last = cut
    return spans


def split_sentences(text: str) -> list[str]:
    """The sentences of `text` as strings, trimmed; glued ones ("intense.In late August") apart."""
    return [text[start:end] for start, end in sentence_spans(text)]


def _sentence_cuts(text: str):
    """Offsets where a sentence ends: after its punctuation (spaced or glued), a CJK full stop or a line."""
    for match in _SENTENCE_END.finditer(text):
        start, end = match.span()
        if end < len(text) and not text[end].isspace():
            if is_glued(text, start, end):
                yield end
            continue
        nxt = _next_visible(text, end)
        if nxt is None or text[nxt].islower():
            continue  # "the U.S. market", "5 p.m. on Monday"
        if match.group().startswith(".") and _after_abbreviation(text, start, text[nxt]):
            continue  # "Dr. Smith", "on Jan. 5", "J. K. Rowling"
        yield end
    for match in _CJK_END.finditer(text):
        yield match.end()
    for match in _LINE_BREAK.finditer(text):
        nxt = match.end()
        # A single line break before a lowercase word is a hard wrap inside a sentence, not a boundary.
        if nxt < len(text) and (match.group().count("\n") > 1 or not text[nxt].islower()):
            yield match.start()


def _after_abbreviation(text: str, stop: int, following: str) -> bool:
    word = _WORD_BEFORE.search(text, max(0, stop - 16), stop)
    return bool(word) and is_abbreviation(word.group(), following)


def _next_visible(text: str, pos: int) -> int | None:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos if pos < len(text) else None


def _strip_span(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


# --- glued sentences ---------------------------------------------------------------------------


def is_glued(text: str, start: int, end: int) -> bool:
    """True when the sentence end text[start:end], with no space after it, runs two sentences together.

    Scraped news glues sentences ("intense.In late August"); names, numbers, URLs, e-mail addresses,
    abbreviations ("Mr.Smith") and ellipses ("wait...What") only look glued.
    """
    if start == 0:
        return False
    before = text[start - 1]
    if not (before.islower() or before.isdigit() or before in _CLOSING_BEFORE):
        return False
    punct = text[start:end]
    if ".." in punct or "\u2026" in punct:  # an ellipsis is a style, not a missing space
        return False
    after = end
    if after < len(text) and text[after] in _OPENING_QUOTES:
        after += 1
    if after + 1 >= len(text) or not (text[after].isupper() and text[after + 1].islower()):
        return False
    if _in_url_or_email(text, start, end):
        return False
    return not (punct.startswith(".") and _after_abbreviation(text, start, text[after]))


def repair_glued_sentences(text: str) -> str:
    """Insert the missing space in "end.Start" where it is clearly two sentences, not a name or a number."""
    inserts = [m.end() for m in _SENTENCE_END.finditer(text) if is_glued(text, m.start(), m.end())]
    if not inserts:
        return text
    bounds = [0, *inserts, len(text)]
    return " ".join(text[a:b] for a, b in zip(bounds, bounds[1:], strict=False))


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


# --- words -------------------------------------------------------------------------------------

# Function words: they say nothing a passage could support, so claim checking and keyword search skip them.
STOPWORDS = frozenset(
    """a about above after again against all also am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do does
    doesn't doing don't down during each either even ever few for from further had hadn't has
    hasn't have haven't having he he'd he'll he's her here here's hers herself him himself his how
    how's however i i'd i'll i'm i've if in into is isn't it it's its itself just let's may me
    might more most much must mustn't my myself neither nor not now of off on once only or other
    ought our ours ourselves out over own per same shan't she she'd she'll she's should shouldn't
    since so some such than that that's the their theirs them themselves then there there's these
    they they'd they'll they're they've this those though through thus to too under until up upon
    us very via was wasn't we we'd we'll we're we've were weren't what what's when when's where
    where's whether which while who who's whom whose why why's will with within without won't would
    wouldn't yes yet you you'd you'll you're you've your yours yourself yourselves
    one ones also said says say according well like onto toward towards across among around upon""".split()
)
# Keyword search also drops the words of how people ask ("tell me the news about...", "how many articles"):
# they match every article alike. A claim keeps them, since "many" or "news" can be what it says.
SEARCH_STOPWORDS = STOPWORDS | frozenset("article articles news tell many".split())
# Words of framing ("Based on the passages, ...") that must not count as a claim's content.
FILLER = frozenset(
    """answer answers article articles base based context document documents excerpt excerpts
    given indicate indicates information mention mentioned mentions note noted passage passages
    provide provided question report reported reports source sources state stated states text
    texts describe described describes explain explained explains additionally furthermore moreover
    overall currently specifically therefore finally notably meanwhile hence instead indeed summary
    conclusion briefly""".split()
)
_TOKEN_RE = re.compile(r"[$€£]?\d[\d,]*(?:\.\d+)?[a-z]*%?|[a-z][a-z0-9]*(?:'[a-z]+)?")
_NUMBER_WORDS = {
    w: str(i)
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen"
        " seventeen eighteen nineteen twenty".split()
    )
}


def normalize_quotes(text: str) -> str:
    """Curly quotes as straight ones, so "don’t" and "don't" are one word."""
    return text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')


def tokens(text: str) -> list[str]:
    """Lower-cased word and number tokens; hyphenated words become their parts."""
    return _TOKEN_RE.findall(normalize_quotes(text).lower().replace("-", " "))


def is_number(token: str) -> bool:
    return any(c.isdigit() for c in token)


@lru_cache(maxsize=8192)
def stem(word: str) -> str:
    """A small suffix stripper: enough to match chips/chip, trained/training, companies/company."""
    w = word
    if len(w) <= 2:
        return w
    if w.endswith("'s"):
        w = w[:-2]
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("sses"):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")) and len(w) > 3:
        w = w[:-1]
    for suffix in ("ingly", "edly", "ing", "ed"):
        if suffix == "ed" and w.endswith("eed"):
            break  # "need", "speed"
        if w.endswith(suffix) and len(w) - len(suffix) >= 2 and re.search(r"[aeiouy]", w[: -len(suffix)]):
            w = w[: -len(suffix)]
            if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz":
                w = w[:-1]  # "stopped" -> "stop"
            break
    for suffix in ("ations", "ation", "ments", "ment", "ness", "ly"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 4:
            w = w[: -len(suffix)]
            break
    if w.endswith("e") and len(w) > 2:
        w = w[:-1]
    if w.endswith("y") and len(w) > 3:
        w = w[:-1] + "i"
    return w


def _normalize_number(token: str) -> str:
    """'1,117' -> '1117', '7%' -> '7', '$2.5' -> '2.5', 'p800' stays 'p800'."""
    return token.lstrip("$€£").replace(",", "").rstrip("%")


# Units written out or apart from their number, as the abbreviation written onto it ("three gigabyte" says "3gb").
_UNITS = {
    **dict.fromkeys(("gb", "gigabyte", "gigabytes"), "gb"),
    **dict.fromkeys(("mb", "megabyte", "megabytes"), "mb"),
    **dict.fromkeys(("tb", "terabyte", "terabytes"), "tb"),
    **dict.fromkeys(("kb", "kilobyte", "kilobytes"), "kb"),
    **dict.fromkeys(("ghz", "gigahertz"), "ghz"),
    **dict.fromkeys(("mhz", "megahertz"), "mhz"),
    **dict.fromkeys(("km", "kilometre", "kilometres", "kilometer", "kilometers"), "km"),
    **dict.fromkeys(("kg", "kilogram", "kilograms", "kilogramme", "kilogrammes"), "kg"),
    **dict.fromkeys(("mbps", "megabits"), "mbps"),
}


def content_words(text: str) -> set[str]:
    """Stemmed content words and exact numbers ("#7") of text, without stopwords and framing filler.

    Number words count as their digits ("three million" and "3 million" say the same number), and a number
    followed by a unit also counts as the two written together ("three gigabyte" says "3gb").
    """
    out = set()
    words = tokens(text)
    for i, tok in enumerate(words):
        unit = _UNITS.get(words[i + 1]) if i + 1 < len(words) else None
        if unit and (tok in _NUMBER_WORDS or re.fullmatch(r"\d[\d,]*(?:\.\d+)?", tok)):
            out.add("#" + _NUMBER_WORDS.get(tok, _normalize_number(tok)) + unit)
        if tok in _NUMBER_WORDS and tok != "one":
            out.add("#" + _NUMBER_WORDS[tok])
        elif is_number(tok):
            number = _normalize_number(tok.removesuffix("'s"))  # "the P800's speed" names the P800
            out.add("#" + number)
            bare = re.match(r"\d[\d.]*", number)
            if bare and bare.group(0) != number and not number.startswith(bare.group(0) + "."):
                out.add("#" + bare.group(0).rstrip("."))  # "1.3m" also says "1.3"; "4.2ft" says "4.2"
        elif tok not in STOPWORDS and tok not in FILLER and len(tok) > 1:
            out.add(stem(tok))
    return out
