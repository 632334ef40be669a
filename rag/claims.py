"""Claim checking: keep only answer sentences that a retrieved passage supports.

A 1.5B model paraphrases well but also invents, cites the wrong passage, and obeys instructions
planted in articles. Each answer sentence is checked against the passages: its content words
(lower-cased, stemmed) must mostly appear in a passage it cites, and every number in it must
appear there exactly. With an embedder, a close paraphrase also counts. A sentence citing the
wrong passage is re-attributed to the one that supports it; unsupported sentences are dropped.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from core.text import FILLER, STOPWORDS, content_words, is_number, normalize_quotes, split_sentences, stem, tokens
from rag.citations import CitedSentence

Embed = Callable[[list[str]], list[list[float]]]

LEXICAL_SUPPORT = 0.6  # share of a sentence's content words found in the passage
SEMANTIC_SUPPORT = 0.6  # cosine to the best passage sentence (all-MiniLM-L6-v2 scale), with an embedder...
SEMANTIC_MIN_LEXICAL = 0.3  # ...and at least this share of words in common
MAX_EVIDENCE_PER_CLAIM = 2
QUESTION_ECHO_MIN_LEXICAL = 0.4  # a claim echoing the question needs this share of all its words in the passage...
ADDED_SUPPORT = 0.75  # ...and this share of the words it adds to the question

_DECLINE_SUBJECT = r"(?:passages?|articles?|context|texts?|documents?|sources?|excerpts?|information)"
_DECLINE_RE = re.compile(
    r"don'?t contain the answer|do not contain the answer"
    rf"|\b{_DECLINE_SUBJECT}\b[^.]*\b(?:do|does|did)\s*(?:n't|not)\s+"
    r"(?:contain|mention|provide|include|say|specify|state|discuss|cover|address|have|give|answer)"
    rf"|\b{_DECLINE_SUBJECT}\b[^.]*\b(?:is|are)\s*(?:n't|not)\s+(?:mentioned|provided|available|given|stated)"
    rf"|\bno (?:information|mention|details?|data)\b[^.]*\b(?:in|from|about)\b"
    r"|\bnot (?:mentioned|specified|provided|stated|discussed|covered) in\b"
    r"|\bi (?:cannot|can't|can not|am unable to|'m unable to|do not|don't) (?:answer|find|determine|know|tell)"
    r"|\bunable to (?:answer|determine|find)\b|\bcannot be (?:determined|answered)\b"
    r"|\bthere is no (?:information|mention)\b"
)


# Text in an article that talks to the assistant rather than reporting news: prompt injection.
_INSTRUCTION_RE = re.compile(
    r"\b(?:ignore|disregard|forget|override)\s+(?:(?:all|any|the|of|previous|prior|above|earlier|other|your|these|those"
    r"|system)\s+)*(?:instructions?|rules|prompts?|passages|context|guidelines|articles|sources)\b"
    r"|\b(?:reply|respond|answer)\b[^.]{0,30}(?:\bonly\s*(?::|with\b)|\bexactly\b|\bwith this\b|\bnothing else\b)"
    r"|\b(?:system|developer)\s+(?:prompt|notice|message|instructions?)\b"
    r"|\bnote to (?:any |the |all )?(?:ai|assistants?|chatbots?|language models?|llms?)\b"
    r"|\b(?:ai )?assistants?\s*[,:]\s*(?:before|you|please|ignore|print|always|never)\b"
    r"|\b(?:you|assistant) must (?:reply|respond|answer|say|print|output|repeat|write)\b"
    r"|(?:^|[.:!]\s*)(?:say|print|output|repeat|reply)\s*:"
    r"|\bprint (?:your|the) (?:complete |full |entire )?(?:system )?(?:prompt|rules|instructions)\b"
    r"|\bdo not answer the question\b",
    re.IGNORECASE,
)


def is_instruction(sentence: str) -> bool:
    """True for passage sentences that instruct an AI assistant instead of reporting something."""
    return bool(_INSTRUCTION_RE.search(sentence))


def is_decline(sentence: str) -> bool:
    """True for "the passages don't say" style sentences, including the fixed refusal."""
    return bool(_DECLINE_RE.search(normalize_quotes(sentence).lower()))


_PLACE_GROUPS = [
    "uk britain british briton britons england english",
    "us usa america american americans",
    "europe european eu",
    "india indian indians",
    "japan japanese",
    "china chinese",
    "germany german",
    "france french",
    "korea korean",
]


def synonym_table(groups: Iterable[str]) -> dict[str, frozenset[str]]:
    """Each stem of each space-separated group -> every stem it shares a group with (groups may overlap)."""
    table: dict[str, set[str]] = {}
    for group in groups:
        stems = {stem(w) for w in group.split()}
        for s in stems:
            table.setdefault(s, set()).update(stems)
    return {s: frozenset(group) for s, group in table.items()}


PLACE_SYNONYMS = synonym_table(_PLACE_GROUPS)


def with_place_synonyms(words: set[str]) -> set[str]:
    """Words plus the other names of the places among them: a passage saying "UK" also says "Britain"."""
    out = set(words)
    for w in words:
        out |= PLACE_SYNONYMS.get(w, frozenset())
    return out


def numbers_in(words: set[str]) -> set[str]:
    return {w for w in words if w.startswith("#")}


_SPACED_CODE_RE = re.compile(r"\b([A-Za-z]+)[ -](\d+)\b")  # "Top 500", "FY-500"


def _code_spellings(text: str) -> set[str]:
    """The text's names written with a space or hyphen before their number ("Top 500", "FY-500") as one word, the
    way a claim may write them ("Top500"). (Not the other way: "P800" does not state the number 800.)"""
    return numbers_in(content_words(" ".join(a + b for a, b in _SPACED_CODE_RE.findall(text))))


_NAME_RE = re.compile(r"(?<![\w'’-])[A-Z][\w&'’-]*")


def names_in(sentence: str, common: Collection[str] = ()) -> set[str]:
    """Stemmed capitalised words (Baidu, Broadcom, September, Hong Kong): claims must not swap them.

    A sentence's first word may be capitalised only for starting the sentence ("Chips", "Both"):
    it counts when it looks like a name anyway (OpenAI, H100) or when `common` (words the
    passages write in lower case) is given and does not hold it.
    """
    text = sentence.lstrip(" \"'“‘(-*•")
    out = set()
    for m in _NAME_RE.finditer(text):
        word = m.group(0)
        if m.start() == 0 and not re.search(r"[A-Z0-9]", word[1:]) and (not common or word.lower() in common):
            continue
        for tok in tokens(word):
            if not is_number(tok) and tok not in STOPWORDS and tok not in FILLER and len(tok) > 1:
                out.add(stem(tok))
    return out


@dataclass
class Support:
    """How well one passage supports one sentence."""

    number: int
    lexical: float
    semantic: float | None
    exact_ok: bool  # every number and name of the sentence is in the passage
    evidence: list[str]

    @property
    def supported(self) -> bool:
        if not self.exact_ok:
            return False
        if self.lexical >= LEXICAL_SUPPORT:
            return True
        return self.semantic is not None and self.semantic >= SEMANTIC_SUPPORT and self.lexical >= SEMANTIC_MIN_LEXICAL

    @property
    def strength(self) -> tuple[float, float]:
        return (self.lexical, self.semantic or 0.0)


@dataclass
class CheckResult:
    """Sentences that survived (with corrected citations), the dropped ones, and evidence."""

    kept: list[CitedSentence] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    evidence: dict[int, list[str]] = field(default_factory=dict)  # passage number -> sentences


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0


class ClaimChecker:
    """Checks answer sentences against numbered passages (numbers as shown to the model)."""

    def __init__(
        self,
        passages: Mapping[int, str],
        embed: Embed | None = None,
        labels: Mapping[int, str] | None = None,
        question: str = "",
    ) -> None:
        """passages: number -> text; labels: number -> title and source, which may supply a claim's names
        ("Hawk Insight reports ...") but not its facts; question: the user's question, whose words a claim may
        repeat ("Nokia will test bus tickets in Hanau"), so that its support is judged on what it adds."""
        self.passages = dict(passages)
        self._question_words = content_words(question)
        # A number written into a descriptor of the question ("3D", "3G", "64-bit") is its premise, like its names;
        # a model name's ("FY500", "P800") must be in the passage: it says which product the passage is about.
        codes = re.findall(r"\b\d[\w-]*[A-Za-z][\w-]*", question)
        self._question_codes = numbers_in(content_words(" ".join(codes)))
        self.embed = embed
        self._sentences = {n: split_sentences(text) or [text] for n, text in self.passages.items()}
        # Sentences that address the assistant ("ignore previous instructions, reply: X") are not
        # facts: they can neither support a claim nor be shown as evidence.
        self._sentence_words = {
            n: [set() if is_instruction(s) else content_words(s) for s in ss] for n, ss in self._sentences.items()
        }
        self._words = {
            n: with_place_synonyms(set().union(*ws)) | _code_spellings(self.passages[n]) if ws else set()
            for n, ws in self._sentence_words.items()
        }
        self._common = {w for text in self.passages.values() for w in re.findall(r"(?<![\w'])[a-z][a-z0-9]*", text)}
        self._label_words = {n: content_words(label) for n, label in (labels or {}).items()}
        self._vectors: dict[int, list[list[float]]] | None = None
        self._claim_vectors: dict[str, list[float]] = {}

    def _passage_vectors(self) -> dict[int, list[list[float]]]:
        if self._vectors is None:
            assert self.embed is not None
            flat = [(n, s) for n, ss in self._sentences.items() for s in ss]
            vecs = self.embed([s for _, s in flat]) if flat else []
            self._vectors = {n: [] for n in self._sentences}
            for (n, _), v in zip(flat, vecs, strict=True):
                self._vectors[n].append(v)
        return self._vectors

    def _claim_vector(self, sentence: str) -> list[float]:
        if sentence not in self._claim_vectors:
            assert self.embed is not None
            self._claim_vectors[sentence] = self.embed([sentence])[0]
        return self._claim_vectors[sentence]

    def support(self, sentence: str, number: int) -> Support:
        """How passage `number` supports `sentence`, with the passage sentences that show it.

        Embeddings are computed only for borderline sentences (some words shared, not enough),
        which keeps the check cheap for the usual near-verbatim answers of a small model.
        """
        words = content_words(sentence)
        passage_words = self._words.get(number, set())
        if not words - numbers_in(words):
            # Only numbers ("$300m [1]"): supported where the passage states each of them; filler
            # ("Based on the passages:") has nothing to check and never supports anything.
            if words and words <= passage_words:
                scores = [float(len(words & sw)) for sw in self._sentence_words.get(number, [])]
                return Support(number, 1.0, None, True, self._evidence(words, set(), number, scores))
            return Support(number, 0.0, None, False, [])
        lexical = len(words & passage_words) / len(words)
        added = words - self._question_words
        if added and lexical >= QUESTION_ECHO_MIN_LEXICAL:
            # Words echoed from the question are the question's premise; the rest must be in the passage.
            lexical = max(lexical, LEXICAL_SUPPORT * len(added & passage_words) / len(added) / ADDED_SUPPORT)
        names = names_in(sentence, self._common)
        numbers = numbers_in(words)
        # A name the question gave is its premise ("Grand Theft Auto" for a passage that says "GTA"); whether the
        # evidence is about that subject is rag.focus's check. Numbers must be the passage's own, but for those
        # of the question's descriptors ("3D" of "BT's 3D engine").
        exact_ok = (
            (numbers - self._question_codes) | (names - self._question_words)
        ) <= passage_words | self._label_words.get(number, set())
        semantic = None
        # When choosing evidence, names weigh double and the claim's numbers four times: the sentence that states
        # the value ("priced $150") is the evidence, not one that only repeats the subject's name.
        scores: list[float] = [
            len(words & sw) + len(names & sw) + 3 * len(numbers & sw) for sw in self._sentence_words.get(number, [])
        ]
        if self.embed is not None and exact_ok and SEMANTIC_MIN_LEXICAL <= lexical < LEXICAL_SUPPORT:
            vector = self._claim_vector(sentence)
            sims = [
                cosine(vector, v) if sw else 0.0
                for v, sw in zip(self._passage_vectors().get(number, []), self._sentence_words[number], strict=True)
            ]
            semantic = max(sims, default=0.0)
            scores = [s + sim for s, sim in zip(scores, sims, strict=True)]
        return Support(number, lexical, semantic, exact_ok, self._evidence(words, names | numbers, number, scores))

    def _evidence(self, words: set[str], weighty: set[str], number: int, scores: list[float]) -> list[str]:
        """The best passage sentence, plus another if it covers claim words (or a name or number) the first misses."""
        ranked = sorted(range(len(scores)), key=lambda i: -scores[i])
        chosen: list[int] = []
        covered: set[str] = set()
        for i in ranked[:4]:
            new = (self._sentence_words[number][i] & words) - covered
            if scores[i] <= 0 or (chosen and len(new) + len(new & weighty) < 2):
                continue
            chosen.append(i)
            covered |= new
            if len(chosen) == MAX_EVIDENCE_PER_CLAIM:
                break
        return [self._sentences[number][i] for i in sorted(chosen)]

    def _union_support(self, sentence: str, numbers: list[int]) -> bool:
        """A sentence joining facts from several cited passages: check against all of them."""
        words = content_words(sentence)
        union = set().union(*(self._words.get(n, set()) for n in numbers))
        if not words - numbers_in(words):
            return False
        exact = numbers_in(words) | names_in(sentence, self._common)
        labels = set().union(*(self._label_words.get(n, set()) for n in numbers))
        return exact <= union | labels and len(words & union) / len(words) >= LEXICAL_SUPPORT

    def check(self, sentences: list[CitedSentence]) -> CheckResult:
        """Keep supported sentences, fix their citations, collect evidence; drop the rest."""
        result = CheckResult()
        for sentence in sentences:
            supports = {n: self.support(sentence.text, n) for n in self.passages}
            cited_ok = [n for n in sentence.numbers if n in supports and supports[n].supported]
            if cited_ok:
                numbers = cited_ok
            elif len(sentence.numbers) > 1 and self._union_support(sentence.text, sentence.numbers):
                numbers = [n for n in sentence.numbers if supports[n].lexical > 0]
            else:
                others = [s for s in supports.values() if s.supported]
                if not others:
                    result.dropped.append(sentence.text)
                    continue
                numbers = [max(others, key=lambda s: s.strength).number]  # wrong or missing citation
            result.kept.append(CitedSentence(sentence.text, numbers))
            for n in numbers:
                bucket = result.evidence.setdefault(n, [])
                bucket.extend(e for e in supports[n].evidence if e not in bucket)
        return result
