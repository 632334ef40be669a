"""What a question asks for, and whether a piece of evidence gives it.

The claim checker (rag.claims) asks "is every sentence of the answer supported?". That is not
enough: "What clock speed does the P800 run at?" answered with the chip's process node is fully
supported and still beside the point. This module asks the second question, "does the answer
give what was asked?", with deterministic rules that hold for any news question:

- the **kind** of answer wanted (a reason, a count, an amount of money, a date, a name...) decides
  what the answer must contain (a number, a currency amount, a year or month, a new name);
- the **focus**: the attribute the question names ("clock speed", "price", "revenue"), which the
  evidence must name too (the word, a close form of it, or a word the embedder finds near it);
- the **qualifiers**: years, quarters, places and names in the question ("the 2021 draft", "the
  UK price") must be in the evidence, or the answer is about another edition of the event.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from core.text import STOPWORDS, content_words, stem, tokens
from rag.claims import PLACE_SYNONYMS, synonym_table

Kind = Literal[
    "reason", "how", "count", "money", "percent", "date", "person", "organisation", "place", "name", "yesno", "other"
]
EXPLANATION_KINDS = ("reason", "how")  # answered with several cited points
NAME_KINDS = ("person", "organisation", "name", "place")  # answered with a name: the answering sentence names it
WordSimilarity = Callable[[str, Sequence[str]], list[float]]

# Cosine (all-MiniLM-L6-v2) at which an evidence word stands for a focus word: illness~cancer 0.55,
# phone~handset 0.60, age~years 0.61 pass; speed~power 0.44, weight~tall 0.41, consumption~power 0.39 do not.
FOCUS_SIMILARITY = 0.55

# Reasons and ways are asked at the start of the question or of a clause ("According to the survey, why do ...").
_CLAUSE_START = r"(?:^\s*|[,;:]\s+|\s[-–—]\s+)"
_REASON_RE = re.compile(
    _CLAUSE_START + r"(?:why\b|how come\b|for what reasons?\b|what (?:made|led|drove|prompted|caused|causes"
    r"|motivated|makes (?!up\b))\b"
    r"|what (?:are|were|is|was) (?:the |some of the )?(?:main |key |chief |major |two |three |stated )?"
    r"(?:reasons?|causes?|concerns?|worries|fears|risks?|dangers|benefits?|advantages?|problems?|factors?|motives?"
    r"|drivers?|arguments?|criticisms?|objections?|goals?|aims?|issues?|challenges?|threats?|complaints?|doubts?"
    r"|reservations?|drawbacks?|downsides?|disadvantages?|limitations?|hurdles?|obstacles?|barriers?|weaknesses"
    r"|consequences?|implications?)\b"
    r"|what (?:\w+ )?(?:problems|concerns|worries|fears|risks|dangers|benefits|advantages|challenges|threats"
    r"|reasons|obstacles|difficulties|doubts|reservations|drawbacks|criticisms|objections|hurdles|limitations"
    r"|arguments|trends|effects|troubles|setbacks|woes|pressures)(?: \S+){0,6}? (?:does|do|did|will|would|could|can|are|were"
    r"|is|was|has|have)\b"
    r"|what (?:could|might|would|will) (?:stop|prevent|hold back|hamper)\b|what(?:'s| is) putting\b"
    r"|what (?:are|were|is|was) (?:\w+ ){1,3}(?:afraid|worried|concerned)\b"
    r"|what (?:could|can|might|would) go wrong\b|what (?:went|has gone|had gone|is going|was going) wrong\b"
    # "What still stands in the way of ...", "What makes it hard to ...", "What is holding back ...", "What is
    # behind ...": reasons asked without the word "why"
    r"|what (?:still )?(?:stands?|stood) in the way\b|what(?:'s| is| was| are| were) (?:still )?(?:holding|keeping"
    r"|stopping|preventing|behind|driving|fuelling|fueling|pushing|powering|boosting|hurting|dragging)\b"
    r"|what (?:makes|made) (?:\w+ ){1,3}(?:so |more |less )?(?:hard|harder|difficult|easy|easier|possible|impossible"
    r"|attractive|popular|risky|dangerous|expensive|cheap|cheaper|vulnerable|successful|different)\b"
    r"|what (?:makes|made) (?:\w+ ){1,4}(?:such )?(?:a )?(?:good|great|ideal|natural|better|perfect|poor|bad) (?:fit|choice|match|option)\b)",
    re.IGNORECASE,
)
_HOW_RE = re.compile(
    _CLAUSE_START + r"(?:how (?:does|do|did|will|would|can|could|is|are|was|were|has|have|might|should)\b"
    r"|in what ways?\b|what (?:steps|measures|methods)\b|what (?:kinds|types|sorts) of\b"  # several, in points
    r"|what (?:can|could|should|must|might) (?:\w+ ){1,3}do\b"  # "What can people do to protect themselves?"
    # "What does Hewitt want done to ...?", "What do the MPs recommend?"
    r"|what (?:do|does|did) (?:\w+ ){1,3}(?:(?:want|wants|plan|plans) (?:done|to do|to change)|propose|suggest|recommend)\b)",
    re.IGNORECASE,
)
_HOW_QUANTITY_RE = re.compile(r"^\s*how (?:many|much|long|old|big|large|fast|far|often|soon|high|tall|heavy)\b", re.I)
_COUNT_RE = re.compile(
    r"\bhow many\b|\bhow old\b|\bwhat (?:is|was) the number of\b|\bwhat number\b|\bwhat age\b"
    r"|\b(?:staff|employee|phone|model|serial|version|user) number\b",
    re.IGNORECASE,
)
_MONEY_RE = re.compile(
    r"\bhow much\b.*\b(?:cost|costs|pay|paid|paying|spend|spent|spending|worth|charge|charged|sell|sold|price|priced"
    r"|raise|raised|invest|invested|investing|fine|fined|earn|earned|make|made|lose|lost|value|valued|fund|funding"
    r"|give|given|gave|giving|offer|offered|offering|bid|contribute|contributed|donate|donated|owe|owed)\b"
    r"|\bhow much (?:revenue|profit|income|turnover|sales|cash|money|compensation|damages|funding|investment|tax|debt"
    r"|debts|capital|rent|royalties|ransom|subsidy|aid)\b"
    # "What were Electronic Arts' revenues in 2003?": an amount, though no "how much"
    r"|^\s*what (?:is|was|are|were|will be)\b.*\b(?:revenues?|profits?|turnover|net income|earnings)\b\s*(?:\?|$|\b(?:in|for|at|of|last|this|next)\b)"
    r"|\b(?:price|cost|fee|fine|revenue|revenues|profits?|turnover|sales|salary|budget|valuation|funding|deal)\b.*\bhow much\b"
    r"|\bwhat (?:is|was|will be|would be) the (?:\w+ )?(?:price|cost|fee|fine|value|valuation|budget)\b"
    r"|\bhow (?:big|large|much) an? (?:fine|penalty|payout|pay-out|bill|bonus|salary|settlement|bid|offer)\b"
    r"|\bwhat (?:did|does|do|will|would) (?:\w+ ){1,3}(?:pay|spend|bid)\b(?! (?:attention|tribute|homage))"  # "what did X pay for Y?"
    r"|\bfor how much\b|\bat what price\b|\bwhat (?:sum|amount)\b|\bwhat\b.*\b(?:cost|costs|charge|charges)\b.*\??$|\bhow much money\b",
    re.IGNORECASE,
)
_PERCENT_RE = re.compile(
    r"\b(?:percentage|per ?cent|what share|what proportion|what fraction"
    r"|(?:what|how big a|how large a|what size|what sized) (?:stake|holding))\b",
    re.IGNORECASE,
)
_DATE_RE = re.compile(
    r"\b(?:what|which) day\b|^\s*(?:when\b|since when\b|by when\b|until when\b)|\b(?:what|which) (?:year|month|day|date|decade)\b"
    r"|\bin what year\b|\bon what date\b|\bhow long ago\b",
    re.IGNORECASE,
)
_PERSON_RE = re.compile(r"^\s*(?:who|whom|whose)\b|\bwhich (?:person|executive|analyst|man|woman)\b", re.I)
_ORG_RE = re.compile(
    r"\b(?:which|what) (?:\w+ )?(?:company|companies|firm|firms|organisation|organization|group|manufacturer|maker"
    r"|makers|operator|network|retailer|studio|publisher|agency|body|charity|bank|carrier|brand|broadcaster|website|site"
    r"|labs?|laborator(?:y|ies)|university|universities|institute|team|union)\b",
    re.IGNORECASE,
)
_PLACE_RE = re.compile(
    r"^\s*where\b|\b(?:which|what) (?:[\w.]+ )?(?:country|countries|city|cities|nation|region|state|town)\b", re.I
)
_US_RE = re.compile(r"\bU\.?S\.?A?\b")  # "US" is the stopword "us" once lower-cased
# "Which game / what product / which website ...": the answer is a name.
_NAME_NOUNS = {
    stem(w)
    for w in """name title product products game games console service website site browser software program
    programme application app film movie show series album band device gadget handset phone model brand chip
    processor format system technology standard protocol language award prize virus worm search engine drama
    documentary novel book song track channel station magazine newspaper newsletter blog podcast project campaign
    scheme initiative feature tool robot character event festival exhibition conference unit division department
    agency bureau""".split()
}
_MODEL_NUMBER_RE = re.compile(r"\b(?:model|serial|part|product) (?:number|name|code)s?\b|\bcode ?names?\b", re.I)
_CALLED_RE = re.compile(
    r"^\s*(?:what|which)\b.*\b(?<!so-)(?:call(?:s|ed)?|name[sd]?|dub(?:s|bed)?|nickname[sd]?|known as)\b(?!\s+(?:for|on|off|up)\b)",
    re.I,
)
_YESNO_RE = re.compile(r"^\s*(?:is|are|was|were|does|do|did|has|have|had|can|could|will|would|should)\b", re.I)

# The head of "what/which ... <verb>" names the attribute asked for: "what clock speed does", "which year did".
_LEAD = r"^\s*(?:(?:at|in|on|for|by|from|to|with|under|roughly|approximately|about|exactly),?\s+)?"
_FOCUS_HEAD_RE = re.compile(
    _LEAD + r"(?:what|which|how many|how much)\s+(?P<focus>(?:[\w'-]+\s+){0,3}?)"
    r"(?:does|do|did|is|are|was|were|has|have|had|will|would|can|could|should|might)\b",
    re.IGNORECASE,
)
# "what is/was the <focus> of/for/at/in ...", "what is the X's <focus>"
_FOCUS_OF_RE = re.compile(
    _LEAD + r"(?:what|which|how many|how much)\s+(?:is|was|are|were|will be|would be)\s+(?:the\s+)?"
    r"(?:[\w.&-]+(?:'s|’s)\s+)?(?P<focus>(?:[\w-]+\s+){0,2}?[\w-]+)\s+(?:of|for|at|in|on|to|that|which|per|with)\b",
    re.IGNORECASE,
)
# "What was Apple's revenue in 2004?" -> revenue
_POSSESSIVE_RE = re.compile(
    r"^\s*(?i:what|which|how much|how many)\s+(?:is|was|are|were|will be)\s+(?:the\s+)?(?:[A-Z][\w.&-]*\s+){0,2}[\w.&-]+(?:'s|’s|s'|s’)\s+"
    r"(?P<focus>[a-z][\w-]*(?:\s+[a-z][\w-]*)?)\s*(?:\?|$|\b(?:in|at|for|on|of|by|this|last|next)\b)"
    # "What did Cairn Energy's share price climb to?": the attribute is the verb's subject
    r"|^\s*(?i:what)\s+(?i:did|does|do|has|had|will|would)\s+(?:the\s+)?(?:[A-Z][\w.&-]*\s+){0,2}[\w.&-]+"
    r"(?:'s|’s|s'|s’)\s+(?P<moved>[a-z][\w-]*(?:\s+[a-z][\w-]*)?)\s+(?i:climb|rise|fall|drop|jump|reach|hit|grow"
    r"|increase|decrease|slip|slide|close|end|finish|stand|sink|soar|surge|plunge|recover)\b"
)

# Words that say what kind of answer is wanted but are not an attribute the evidence must name.
_NOT_FOCUS = {
    stem(w)
    for w in """thing things kind type sort name names one ones part role job jobs position occupation profession way
    ways much many exactly precisely approximately roughly about around number amount figure total new first last
    main key major""".split()
}
# Words that name the kind of answer ("which firm", "which US city", "how much money"), not an attribute
# the evidence must repeat.
_TYPE_NOUNS = {
    stem(w)
    for w in """company companies firm firms organisation organization group manufacturer maker makers operator
    retailer studio publisher agency body bank carrier broadcaster person people man woman executive analyst
    country countries city cities nation region state town place year years month months date decade model
    money cash sum amount figure total number""".split()
}
# Generic synonyms for the attributes news questions ask about: a focus word is named when any of its group is.
_ATTRIBUTE_GROUPS = [
    "price prices priced cost costs costing charge charges charged fee fees pay paid pays sell sells sold retail retails",
    "revenue revenues sales turnover income earnings takings",
    "profit profits earnings income loss losses",
    "speed fast faster quick quicker rate ghz mhz mbps kbps gbps bandwidth",
    "staff employees workers jobs employ employs employed workforce people headcount",
    "users customers subscribers members players accounts people visitors viewers readers buyers owners",
    "size big large larger capacity storage gigabytes gb mb tb memory",
    "launch launched launches release released releases debut available availability arrive arrives go on sale",
    "buy bought buys acquire acquired acquires acquisition takeover purchase purchased deal",
    # what a buyer pays is the deal's amount, and the seller's: "the sale of the stake to Ferrovial for £146m"
    "pay paid pays paying deal agreement purchase takeover acquisition sale sell sells sold buy buys bought",
    "founder founded set up started created",
    "fine fined penalty damages",
    "weight weigh weighs weighed heavy light grams kg kilograms pounds",
    "height tall high metres meters cm ft feet inches",
    "length long metres meters miles km",
    "age old aged",
    "consumption consumes watts",
    "screen display",
    "battery batteries",
    "resolution megapixel megapixels pixels",
    "deal agreement partnership contract",
    "value valued worth valuation",
    "growth grew grow rose rise increase increased",
    "fell fall drop dropped decline declined decrease",
    "share stake",
    "share market",
    "clock frequency ghz mhz",
]
_SYNONYMS = synonym_table(_ATTRIBUTE_GROUPS)
# Measurable attributes: the evidence must name one of these when the question asks for it ("what does the
# robot weigh?" is not answered by its height). Other focus words name the type of the answer ("which
# newspaper", "what kind of building"), which an answering sentence rarely repeats ("an advert in the New
# York Times"), so they are not required (trust-dev, bbc-tech, seed: required, they refused 9 answerable
# questions before the model was asked, for 5 unanswerable ones caught).
_MEASURES = set(_SYNONYMS) | {
    stem(w)
    for w in """age day clock power capacity range distance duration lifespan life temperature population score
    rank ranking rating salary wage bonus tax rate margin debt volume traffic audience downloads shipments units
    orders bid offer dividend cap capitalisation capitalization percentage proportion fraction
    process material frequency voltage thickness""".split()
}
_SHARE_WORDS = {stem(w) for w in "share shares proportion percentage fraction slice stake".split()}

_YEAR_RE = re.compile(r"\b(?:19|20)\d{2}\b")
_SINCE_YEAR_RE = re.compile(rf"\bsince ({_YEAR_RE.pattern})", re.I)  # "given since 1999": a total from a year
# A year in a comparison belongs to the figure compared with: "net profits of 400m euros, compared with a loss of
# 984m euros in 2003" states this year's profit, not 2003's.
_COMPARED_YEAR_RE = re.compile(
    r"\b(?:compared (?:with|to)|(?:up|down|rising|falling|rose|fell) from|than|against|versus)\b[^,;.()]*?"
    r"\b(?:19|20)\d{2}\b",
    re.I,
)
# "Halo 3", "Half-Life 2", "PlayStation 3": a small number right after a capitalised word, not a quantity ("Sony 3
# million") or a share of one.
_NAMED_NUMBER_RE = re.compile(
    r"(?<![\w'’-])([A-Z][\w&.-]*)\s+(\d{1,3})(?![\w.,:%/])"
    r"(?!\s*(?:million|billion|bn|m|k|per|percent|times|[a-z]+s)\b)"
)
_QUARTER_RE = re.compile(r"\b(?:q[1-4]|(?:first|second|third|fourth|final) quarter)\b", re.IGNORECASE)
# The period a rate is stated per: "1.4 billion cubic feet a day" does not say how much a year, nor "$15 a month"
# the hourly price. "A year earlier" dates a figure; it is no rate.
_RATE_PERIOD_RE = re.compile(
    r"\b(?:a|an|per|each|every)\s+(?P<per>hour|day|week|month|year|annum)\b"
    r"(?!\s+(?:earlier|ago|later|before|after|on|since|from|or|and|old)\b)"
    r"|\b(?P<ly>hourly|daily|weekly|monthly|yearly|annual|annually)\b",
    re.IGNORECASE,
)
_PERIOD_OF = {"annum": "year", "hourly": "hour", "daily": "day", "weekly": "week", "monthly": "month",
              "yearly": "year", "annual": "year", "annually": "year"}  # fmt: skip


def rate_periods(text: str) -> frozenset[str]:
    """The periods a text states rates per ("a day", "monthly"): hour, day, week, month or year."""
    found = ((m.group("per") or m.group("ly")).lower() for m in _RATE_PERIOD_RE.finditer(text))
    return frozenset(_PERIOD_OF.get(p, p) for p in found)


# A price per unit ("per share", "a litre") is stated per that unit: "a £1.5m offer" is no price per share.
_UNITS = r"(share|litre|gallon|barrel|head|person|user|customer|subscriber|copy|unit|tonne|ton|ticket|passenger)"
_PER_UNIT_ASKED_RE = re.compile(rf"\b(?:per|each)\s+{_UNITS}\b|\ba\s+{_UNITS}\s*\??\s*$", re.IGNORECASE)
_PRICE_VERB_RE = re.compile(
    r"\b(?:offer|offers|offering|offered|pay|pays|paying|paid|charg(?:e|es|ing|ed)|bid|bidding)\b", re.I
)
_PER_UNIT_RE = re.compile(rf"\b(?:per|a|an|each)\s+{_UNITS}\b", re.IGNORECASE)


# A figure for part of a year ("fourth-quarter profits", "in the first half", "the three months to June") is not
# the year's, unless the sentence states the year's too ("full-year", "annual", "for the year").
_PART_YEAR_RE = re.compile(
    r"\b(?:q[1-4]|(?:first|second|third|fourth|final|last)[- ]quarter|quarterly|(?:first|second)[- ]half"
    r"|half[- ]year(?:ly)?|(?:three|six|nine) months)\b",
    re.IGNORECASE,
)
_WHOLE_YEAR_RE = re.compile(
    r"\b(?:full[- ]year|annual|annually|whole year|for the year|year to|year['’]s|as a whole|(?:12|twelve) months"
    r"|year-end)\b",
    re.IGNORECASE,
)
_FULL_MONTHS = "january february march april may june july august september october november december".split()
_MONTHS = _FULL_MONTHS + "jan feb mar apr jun jul aug sep sept oct nov dec".split()
_WEEKDAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
_DAY_WORDS = "|".join(_WEEKDAYS + ["yesterday", "today", "tomorrow"])
_WHEN_WORDS = {stem(w) for w in _MONTHS + _WEEKDAYS}
# A month the question asks about ("sent in November 2004"), not the end of a period ("the three months to December").
_IN_MONTH_RE = re.compile(
    r"\b(?i:in|during|for|of|last|this|since)\s+((?i:"
    + "|".join(m for m in _FULL_MONTHS if m != "may")
    + r")|May)\b"  # "in may" is rarely the month
)
_DATE_VALUE_RE = re.compile(
    r"\b(?:1[5-9]|20)\d{2}\b|\b(?:" + "|".join(_MONTHS) + r")\b|\b(?:" + _DAY_WORDS + r"|last (?:week|month|year)"
    r"|next (?:week|month|year)|this (?:week|month|year)|christmas|summer|spring|autumn|winter)\b|\b\d{1,2}(?:st|nd|rd|th)\b",
    re.IGNORECASE,
)
_NUMBER_VALUE_RE = re.compile(  # a number starts at a word's start: the "4" of "64" or "P800"'s "800" are not
    r"(?<![\w.,])\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozen|dozens|hundreds?|thousands?"
    r"|millions?|billions?|half|quarter|third|(?:twen|thir|for|fif|six|seven|eigh|nine)t(?:y|een)|fourteen)\b",
    re.IGNORECASE,
)
_MONEY_VALUE_RE = re.compile(
    r"[$£€¥]\s?\d|\d[\d,.]*\s?(?:bn|m|k)?\s*(?:dollars?|pounds?|euros?|yen|yuan|cents?|pence|p\b|usd|gbp|eur|rmb)"
    r"|\b(?:dollars?|pounds?|euros?)\b|\bfree\b|\d[\d,.]*\s?(?:bn|m)\b"
    # a fine or a fee set as a share of money: "up to 10% of their annual turnover"
    r"|\d[\d.]*\s?(?:%|per ?cent) of (?:\w+ ){0,2}(?:turnover|revenues?|sales|income|profits?|earnings|salary|price)\b",
    re.IGNORECASE,
)
_DAY_RE = re.compile(
    r"\b\d{1,2}(?:st|nd|rd|th)?\s+(?:"
    + "|".join(_MONTHS)
    + r")\b|\b(?:"
    + "|".join(_MONTHS)
    + r")\s+\d{1,2}(?:st|nd|rd|th)?\b|\b(?:"
    + _DAY_WORDS
    + r")\b",
    re.IGNORECASE,
)
_RANGE = stem("range")
_RANGE_VALUE_RE = re.compile(r"\b\d[\d,.]*\s*(?:to|-|–)\s*\d|\bbetween \d[\d,.]* and \d", re.I)
_PERCENT_VALUE_RE = re.compile(
    r"\d\s?%|\bper ?cent\b|\bpercent(?:age)?\b|\bhalf\b|\bthirds?\b|\bquarters?\b|\bfifths?\b|\btenths?\b"
    r"|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|\d+) (?:in|out of) (?:\w+ )?(?:two|three|four|five|six"
    r"|seven|eight|nine|ten|twenty|hundred|\d+)\b",  # "one in four homes"
    re.I,
)
_CAPITAL_RE = re.compile(r"(?<![\w'’-])[A-Z][\w&'’.-]*")
_NAME_LIKE = r"(?:[A-Z][\w&'’.-]*|[a-z]+[A-Z][\w&'’.-]*)"  # Sony, phpBB, iPod
_NAME_LIKE_RE = re.compile(rf"(?<![\w'’-]){_NAME_LIKE}")
_QUOTED_RE = re.compile(r"[\"“][^\"“”]{1,80}[\"”]")
_ORDINAL_RE = re.compile(r"\b(?:second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|2nd|3rd|4th|5th)\b", re.I)

PLACES = {
    stem(w)
    for w in """uk britain british briton britons england english scotland scottish wales welsh ireland irish us usa america
    american americans europe european europeans eu france french germany german italy italian spain spanish netherlands dutch sweden swedish
    norway finland denmark japan japanese china chinese korea korean india indian australia canada brazil russia
    asia africa taiwan hong kong singapore israel""".split()
}


_WORLDWIDE = {stem(w) for w in "worldwide global globally internationally".split()}
_NOT_SUBJECTS = content_words(  # capitalised words that name no one: months, days and numbers
    " ".join(_MONTHS + _WEEKDAYS) + " one two three four five six seven eight nine ten"
    " eleven twelve twenty thirty forty fifty sixty seventy eighty ninety hundred hundreds thousand thousands million"
    " millions billion billions dozen dozens half"
)


@dataclass(frozen=True)
class QuestionFocus:
    """What a question asks for. Word sets hold stems as rag.claims.content_words makes them."""

    kind: Kind
    focus: frozenset[str] = frozenset()  # the attribute asked for, stemmed ("clock", "speed")
    years: frozenset[str] = frozenset()  # "2021"
    qualifiers: frozenset[str] = frozenset()  # places: must be stated in the cited passage
    forms: tuple[tuple[str, ...], ...] = ()  # quarters, ordinals: one spelling of each must be in the evidence
    names: frozenset[str] = frozenset()  # names the question is about (Kunlun, P800, Sony)
    words: frozenset[str] = frozenset()  # every content word of the question
    focus_text: str = ""  # the attribute as written, for messages ("clock speed")
    focus_words: tuple[tuple[str, str], ...] = ()  # (stem, word as written) of each focus word
    named_years: frozenset[tuple[str, str]] = frozenset()  # ("2005", "manager 2005"): a year that ends a name
    currency: str = ""  # "euros" of "what does it cost in euros?": an amount in another currency does not answer
    acronyms: frozenset[tuple[str, frozenset[str]]] = frozenset()  # ("eff", names of "Electronic Frontier Foundation")
    side_names: frozenset[str] = frozenset()  # names only cited as a source or an example ("according to Sophos")
    full_names: frozenset[tuple[str, frozenset[str]]] = frozenset()  # ("nielsen", {"jakob", "nielsen"})
    named_numbers: frozenset[str] = frozenset()  # "halo 3": a number that ends a name says which one is meant
    # words of the conversation's earlier question, for a follow-up answered beside it: naming its subject again
    # ("Charlie Bell died aged 44", asked "who's running the company now?") gives no value
    earlier_words: frozenset[str] = frozenset()
    periods: frozenset[str] = frozenset()  # "how much gas a year": the period a rate is asked per
    per_unit: frozenset[str] = frozenset()  # "what's he offering per share?": the unit a price is asked per
    since_years: frozenset[str] = frozenset()  # "how much has he given since 1999?": a total counted from a year

    @property
    def explanation(self) -> bool:
        return self.kind in EXPLANATION_KINDS


# "How much did the shares rise?" asks for a change: a number or a share, not an amount of money.
_CHANGE_RE = re.compile(
    r"\bhow much\b.*\b(?:gain|gained|rise|rose|risen|fall|fell|fallen|drop|dropped|jump|jumped|grow|grew|grown"
    r"|increase|increased|decrease|decreased|climb|climbed|slide|slid|slip|slipped|shrink|shrank"
    r"|cut|cuts|reduce|reduced|slash|slashed|lower|lowered|shave|shaved|trim|trimmed|boost|boosted)\b",
    re.IGNORECASE,
)


def question_kind(question: str) -> Kind:
    q = question.strip()
    if _REASON_RE.search(q):
        return "reason"
    if _MODEL_NUMBER_RE.search(q):
        return "name"  # "What's the model number of ...": a code like "SGH-i300", not a count
    if _CHANGE_RE.search(q):
        return "count"
    if _PERCENT_RE.search(q):
        return "percent"
    if _MONEY_RE.search(q) or (_PRICE_VERB_RE.search(q) and _PER_UNIT_ASKED_RE.search(q)):
        return "money"  # "What is Bob Murray offering per share?" asks for a price, though no "how much"
    if _COUNT_RE.search(q):
        return "count"
    if _DATE_RE.search(q):
        return "date"
    if _HOW_RE.search(q) and not _HOW_QUANTITY_RE.search(q):
        return "how"
    if _PERSON_RE.search(q):
        return "person"
    if _ORG_RE.search(q):
        return "organisation"
    if _PLACE_RE.search(q):
        return "place"
    if _YESNO_RE.search(q):
        return "yesno"
    if _CALLED_RE.search(q):
        return "name"  # "What did US Customs call its crackdown?", "What is the new network called?"
    head = [w for w in tokens(_focus_phrase(q) or _lead_noun(q)) if w not in STOPWORDS][-1:]
    if re.match(r"^\s*(?:which|what)\b", q, re.I) and head and stem(head[0]) in _NAME_NOUNS:
        return "name"
    return "other"


_NOT_NOUNS = {
    "is", "was", "are", "were", "did", "does", "do", "has", "have", "had", "will", "would", "can", "could",
    "should", "might", "may", "else", "kind", "type", "sort", "happened", "happens", "made", "makes", "caused",
}  # fmt: skip


def _lead_noun(question: str, names_only: bool = True) -> str:
    """ "Which game won ..." -> "game"; "Which foundry makes ..." -> "foundry" (with names_only=False)."""
    m = re.match(r"^\s*(?:which|what)\s+([a-z]+)\b", question, re.IGNORECASE)
    if not m or m.group(1).lower() in _NOT_NOUNS or m.group(1).lower().endswith("ed"):
        return ""
    return m.group(1) if not names_only or stem(m.group(1).lower()) in _NAME_NOUNS else ""


def _focus_phrase(question: str) -> str:
    for pattern in (_FOCUS_OF_RE, _FOCUS_HEAD_RE):
        m = pattern.search(question)
        if m and m.group("focus").strip():
            return m.group("focus").strip()
    m = _POSSESSIVE_RE.search(question)
    return (m.group("focus") or m.group("moved")).strip() if m else ""


_WH_START_RE = re.compile(
    r"^\s*(?:who|what|which|when|where|why|how|whom|whose|is|are|was|were|do|does|did|can|will)\b", re.I
)
_PART_SPLIT_RE = re.compile(
    r"\s*(?:,\s*and|;|\band\b|,)\s+(?=(?:who|what|which|when|where|why|how|whom|whose)\b)", re.IGNORECASE
)


# A currency named in a money question, and how evidence writes an amount in it.
_CURRENCIES = {
    "euros": re.compile(r"€|\beuros?\b|\beur\b", re.I),
    "dollars": re.compile(r"\$|\bdollars?\b|\busd\b|\bcents?\b", re.I),
    "pounds": re.compile(r"£|\bpounds?\b|\bsterling\b|\bgbp\b|\bpence\b|\d+p\b", re.I),
    "yen": re.compile(r"¥|\byen\b", re.I),
    "yuan": re.compile(r"\byuan\b|\brmb\b|\brenminbi\b", re.I),
}
# Currency words in a question ("what does it cost in euros?"); a symbol there usually comes with an amount
# the user gives ("more than $500"), not the currency asked for.
_CURRENCY_WORDS = {
    "euro": "euros", "euros": "euros", "dollar": "dollars", "dollars": "dollars", "pound": "pounds",
    "pounds": "pounds", "sterling": "pounds", "yen": "yen", "yuan": "yuan", "rmb": "yuan", "renminbi": "yuan",
}  # fmt: skip
_MONEY_HEADS = {stem(w) for w in "price cost fee revenue profit salary budget valuation fine turnover".split()}
_RATE_HEADS = {stem(w) for w in "rate".split()}
_DIGIT_RE = re.compile(r"\d")
_PRICE, _SHARE = stem("price"), stem("share")
_SHARES_AT_RE = re.compile(r"\bshares?\b.*?\b(?:to|at)\s+[$£€]?[\d,.]+\s*(?:p|pence|cents?)?\b", re.I)
_RATE_VALUE_RE = re.compile(r"\d[\d.,]*\s*(?:%|per ?cent\b|(?:[^\W\d]+\s+){0,2}(?:a|an|per|each)\s+[a-z]+)", re.I)


def _currency_asked(question: str) -> str:
    return next((_CURRENCY_WORDS[w] for w in re.findall(r"[a-z]+", question.lower()) if w in _CURRENCY_WORDS), "")


def question_parts(question: str) -> list[str]:
    """A question that asks two things ("Which robot ran, and which firm bought Bloglines?") as its parts."""
    parts = [p.strip(" ,;") for p in _PART_SPLIT_RE.split(question) if p.strip(" ,;")]
    if len(parts) < 2 or any(len(p.split()) < 3 or not _WH_START_RE.match(p) for p in parts):
        return [question]  # "When and where was it launched?" is one question about one event
    return parts


def _question_names(question: str) -> set[str]:
    """Content words (as content_words gives them) of capitalised words that do not start a sentence, and of any
    word with inner capitals or digits (P800, iPod)."""
    out: set[str] = set()
    for m in _CAPITAL_RE.finditer(question):
        word = m.group(0).rstrip(".'’")
        starts_sentence = not question[: m.start()].strip() or question[: m.start()].rstrip()[-1] in ".?!:"
        if starts_sentence and not re.search(r"[A-Z0-9]", word[1:]):
            continue  # a sentence's first word: "Which", "Name?" in "... new software. Name?", "Sony" (lost)
        if "-" in word:  # "HD-ready" names HD: "ready" is a plain word
            word = " ".join(part for part in word.split("-") if re.search(r"[A-Z0-9]", part))
        if word.lower() in _MONTHS or word.lower() in _WEEKDAYS:
            continue  # "the three months to December" says when, not whom: the sentence giving the figure may not
        out |= {w for w in content_words(word) if not w[1:].isdigit() and not re.fullmatch(r"#q[1-4]", w)}
        if _US_RE.fullmatch(word):
            out.add("usa")
    for tok in re.findall(r"\b[a-z]+\d+[a-z\d]*\b|\b[a-z]+[A-Z][\w]*\b", question):
        out |= content_words(tok)
    return out


_CAPITALISED_RUN = rf"{_NAME_LIKE}(?:\s+{_NAME_LIKE})*"
# Names a question cites as its source ("according to the BBC's preview") or as examples ("firms such as Sony and
# Sega"): they need not be in the sentence that answers, which is about the question's subject.
_SIDE_NAMES_RE = re.compile(
    rf"\b(?i:according to|such as|including)\s+(?:(?i:the)\s+)?(?P<names>{_CAPITALISED_RUN}"
    rf"(?:\s*(?:,|\band\b|\bor\b)\s*{_CAPITALISED_RUN})*)"
)


def _side_names(question: str) -> set[str]:
    """Names that appear in the question only as a cited source or as examples, not as its subject."""
    side = set().union(*(content_words(m.group("names")) for m in _SIDE_NAMES_RE.finditer(question)))
    elsewhere = content_words(_SIDE_NAMES_RE.sub(" ", question))
    return side - elsewhere


def _places_in_names(question: str) -> set[str]:
    """Places that are part of a longer name ("Media Labs Europe", "Sony Europe"): names, not qualifiers."""
    out: set[str] = set()
    for m in re.finditer(r"(?:[A-Z][\w&.-]*\s+){1,3}[A-Z][\w&.-]*", question):  # no possessive inside
        if len(m.group(0).split()) > 1:
            out |= {w for w in content_words(m.group(0)) if w in PLACES}
    return out


def _qualifier_forms(question: str) -> list[tuple[str, ...]]:
    """Quarters and ordinals as the alternative spellings any of which the evidence must hold."""
    forms: list[tuple[str, ...]] = []
    ordinals = ["first", "second", "third", "fourth"]
    for m in _QUARTER_RE.finditer(question):
        text = m.group(0).lower()
        n = (
            int(text[1])
            if text.startswith("q")
            else ordinals.index(text.split()[0]) + 1
            if text.split()[0] in ordinals
            else 4
        )
        forms.append((f"q{n}", f"{ordinals[n - 1]} quarter", *(("final quarter", "fourth quarter") if n == 4 else ())))
    quarter_spans = [m.span() for m in _QUARTER_RE.finditer(question)]
    for m in _ORDINAL_RE.finditer(question):
        if not any(a <= m.start() < b for a, b in quarter_spans):
            forms.append((m.group(0).lower(),))
    for m in _IN_MONTH_RE.finditer(question):  # "in November 2004" asks for that month's figure, not October's
        month = m.group(1).lower()
        forms.append((month[:3], month) if month != "may" else (month,))
    return forms


_WH_IS_RE = re.compile(r"\b(what|which|who|where|when|how)['’]s\b", re.I)


def analyse(question: str) -> QuestionFocus:
    """The kind, focus and qualifiers of a question."""
    question = _WH_IS_RE.sub(r"\1 is", question)  # "What's the daily circulation of ...?" reads as "What is"
    kind = question_kind(question)
    phrase = (_focus_phrase(question) or _lead_noun(question, False)) if kind not in EXPLANATION_KINDS else ""
    names = _question_names(question)
    m = re.search(r"\bhow (?:many|much)\s+(?P<noun>[a-z][\w-]*)", question, re.IGNORECASE)
    if m and not _focus_terms(phrase, names):
        phrase = m.group("noun")  # a quantity word says what is counted: "how many staff" -> staff
    verb = re.search(r"\b(weigh|cost|earn|employ|measure|consume|last)\s*\??\s*$", question, re.IGNORECASE)
    if verb and not _focus_terms(phrase, names):
        phrase = verb.group(1)  # "What does the robot weigh?" asks for a weight
    terms = _focus_terms(phrase, names)
    focus = {s for s, _ in terms}
    if kind == "other" and terms and terms[-1][0] in _MONEY_HEADS:
        kind = "money"  # "What was Google's share price?"
    elif kind == "other" and terms and terms[-1][0] in _RATE_HEADS:
        kind = "count"  # "at what rate would the levy be charged?" asks for a figure: "a very low rate" gives none
    qualifiers = {n for n in names if n in PLACES} - _places_in_names(question)
    return QuestionFocus(
        kind=kind,
        focus=frozenset(focus),
        years=frozenset(_YEAR_RE.findall(question)),
        qualifiers=frozenset(qualifiers),
        forms=tuple(_qualifier_forms(question)),
        names=frozenset(names - PLACES),
        words=frozenset(content_words(question)),
        focus_text=" ".join(phrase.split()) if focus else "",
        focus_words=tuple(terms),
        named_years=frozenset(
            (m.group(2), f"{m.group(1)} {m.group(2)}".lower())
            for m in re.finditer(r"(?<![\w'’-])([A-Z][\w&.-]*)\s+((?:19|20)\d{2})\b", question)
            if m.start() > 0 and m.group(1).lower() not in _MONTHS and not _QUARTER_RE.fullmatch(m.group(1))
        ),
        currency=_currency_asked(question) if kind == "money" else "",
        acronyms=frozenset(
            (initials, frozenset(content_words(run) - PLACES)) for run, initials in _spelled_out_names(question)
        ),
        side_names=frozenset(_side_names(question) & names),
        full_names=_full_names(question),
        named_numbers=frozenset(
            f"{m.group(1)} {m.group(2)}".lower()
            for m in _NAMED_NUMBER_RE.finditer(question)
            if m.group(1).lower() not in STOPWORDS and m.group(1).lower() not in _MONTHS
        ),
        periods=rate_periods(question),
        per_unit=frozenset(m.group(m.lastindex).lower() for m in _PER_UNIT_ASKED_RE.finditer(question)),
        since_years=frozenset(_SINCE_YEAR_RE.findall(question)),
    )


def _full_names(question: str) -> frozenset[tuple[str, frozenset[str]]]:
    """(last word, all words) of each name of two or more plain capitalised words ("Jakob Nielsen", "Sony Ericsson"):
    news writes a name in full once and then by its last word ("Dr Nielsen"), which then names it."""
    out = set()
    for words in _name_runs(question):
        last = content_words(words[-1]) if words else set()
        if len(words) >= 2 and all(w[0].isupper() for w in words) and len(last) == 1 and not last & PLACES:
            out.add((next(iter(last)), frozenset(content_words(" ".join(words)))))
    return frozenset(out)


# A name of two or more capitalised words ("Electronic Frontier Foundation", "Bank of England"), for its initials.
_HYPHENED_RE = re.compile(r"\b([a-z]{2,})-([a-z]{2,})\b")  # "high-definition"
_SPELLED_OUT_RE = re.compile(r"(?<![\w'’-])[A-Z][a-z]+(?:\s+(?:(?:of|and|for|the|&)\s+)?[A-Z][a-z]+)+")


def _spelled_out_names(text: str) -> list[tuple[str, str]]:
    """(name, its initials as content_words gives them) for each name written out in full: "EFF" in an article
    is the "Electronic Frontier Foundation" of a question, and the other way round; "HD" is "high-definition"."""
    out = [(m.group(0), i) for m in _HYPHENED_RE.finditer(text) for i in content_words(m.group(1)[0] + m.group(2)[0])]
    for words in _name_runs(text):
        capitals = [w[0] for w in words if w[0].isupper()]
        if len(capitals) >= 2:
            out += [(" ".join(words), i) for i in content_words("".join(capitals).lower())]
    return out


def _name_runs(text: str) -> list[list[str]]:
    """The words of each run of capitalised words in text ("Electronic Frontier Foundation", "Bank of England")."""
    runs = []
    for m in _SPELLED_OUT_RE.finditer(text):
        words = m.group(0).split()
        while words and words[0].lower() in STOPWORDS:  # "Which", "The" start the run, not the name
            words.pop(0)
        runs.append(words)
    return runs


def _with_acronyms(focus: QuestionFocus, words: set[str], text: str) -> set[str]:
    """words, with the question's names that an acronym among them stands for, and the initials of the names
    that text spells out."""
    out = words | {i for _, i in _spelled_out_names(text)}
    for initials, named in focus.acronyms:
        if initials in words:
            out |= named
    return out


def _focus_terms(phrase: str, names: set[str]) -> list[tuple[str, str]]:
    words = [w for w in tokens(phrase) if not w.isdigit() and w not in STOPWORDS and len(w) > 1]
    if words and stem(words[-1]) in _TYPE_NOUNS:
        return []  # "which phone model", "which US city": the kind of answer, checked as a value instead
    terms: dict[str, str] = {}
    for word in tokens(phrase):
        if word.isdigit() or word in STOPWORDS or len(word) < 2:
            continue
        s = stem(word)
        if s in _NOT_FOCUS or s in _TYPE_NOUNS or s in names or s not in content_words(word):
            continue
        terms.setdefault(s, word)
    return list(terms.items())


def has_value(kind: Kind, text: str, asked: frozenset[str] | set[str] = frozenset()) -> bool:
    """Whether text holds a value of the kind asked: a number for a count, a year or month for a date...

    For names, a capitalised word that is not one of the question's own words (`asked`)."""
    if kind == "count":
        for m in _NUMBER_VALUE_RE.finditer(text):
            token = re.match(r"[\w.,]+", text[m.start() :]).group(0).rstrip(".,")
            if _YEAR_RE.fullmatch(token) or ("#" + token.replace(",", "").lower()) in asked:
                continue  # "in 1982", the "64" of "Commodore 64"
            if re.match(r"one (?:of|who|that|which)\b", text[m.start() :], re.IGNORECASE):
                continue  # "one of the first employees" counts nothing
            return True
        return False
    if kind == "money":
        return bool(_MONEY_VALUE_RE.search(text))
    if kind == "percent":
        return bool(_PERCENT_VALUE_RE.search(text))
    if kind == "date":
        return bool(_DATE_VALUE_RE.search(text))
    if kind in NAME_KINDS:
        for m in _NAME_LIKE_RE.finditer(text):
            first = m.group(0).lower()
            if m.start() == 0 and (first in STOPWORDS or not content_words(first) or first.endswith(("ing", "ly"))):
                continue  # "The", "According", "Reportedly" start sentences; "Bloglines was bought" names
            words = content_words(m.group(0)) - asked - _WHEN_WORDS  # "on 28 March" names no place, firm or person
            words = {w for w in words if not w.startswith("#")}  # "Three senior executives" names no one
            if words and (kind == "place" or words - PLACES):  # "in the Netherlands" names no firm or person
                return True
        return bool(_NUMBER_VALUE_RE.search(text)) and kind == "name"  # "Windows XP SP2", "Metal Slug 3"
    return True


def adds_information(sentence: str, question: str) -> bool:
    """False for a sentence that only restates the question ("The company that bought the brand is.")."""
    new = content_words(sentence) - content_words(question)
    return bool(new)


@dataclass
class Coverage:
    """How evidence meets a question's focus: what is missing, in words a user can read."""

    missing_focus: list[str] = field(default_factory=list)
    missing_qualifiers: list[str] = field(default_factory=list)
    missing_names: list[str] = field(default_factory=list)
    has_value: bool = True
    # Qualifiers of the value itself ("per share", "a year", "the whole of 2004"), also in missing_qualifiers:
    # the sentence stating the answer's figure must state them, not a neighbouring sentence.
    missing_of_value: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing_focus or self.missing_qualifiers or self.missing_names) and self.has_value


def _units(evidence: str) -> set[str]:
    """Units written onto numbers ("2.1GHz", "300mb"), which name what the number measures."""
    return {stem(u) for u in re.findall(r"\d([a-z]{2,})\b", evidence.lower())}


def _focus_named(
    word: str, written: str, evidence: str, evidence_words: set[str], similar: WordSimilarity | None
) -> bool:
    """A focus word is named by the evidence: the same stem, a synonym, a compound, or (with an
    embedder) a word close in meaning ("staff" for "employees")."""
    if word in evidence_words or _SYNONYMS.get(word, set()) & (evidence_words | _units(evidence)):
        return True
    if len(word) >= 4 and any(len(e) >= 4 and (e.startswith(word) or word.startswith(e)) for e in evidence_words):
        return True  # "smartphone" / "phone", "broadband" / "broad"
    if similar is None:
        return False
    # a figure is no word for an attribute: "£350m" scores 0.58 against "salary"
    candidates = sorted({t for t in tokens(evidence) if t not in STOPWORDS and not _DIGIT_RE.search(t) and len(t) > 2})
    return bool(candidates) and max(similar(written, candidates)) >= FOCUS_SIMILARITY


def _named_by_value(kind: Kind, word: str, evidence: str) -> bool:
    """A value names its attribute: "80%" answers "what share", "24 February" answers "which day"."""
    if kind in ("percent", "other") and word in _SHARE_WORDS:  # "what is its stake?": "it owns 8%"
        return bool(_PERCENT_VALUE_RE.search(evidence))
    if kind == "date" and word == "day":
        return bool(_DAY_RE.search(evidence))
    if word in _RATE_HEADS:  # "at what rate?": "0.3 euros a litre", "4.75%"
        return bool(_RATE_VALUE_RE.search(evidence))
    if word == _RANGE:  # "which age range": "11 to 14-year-olds"
        return bool(_RANGE_VALUE_RE.search(evidence))
    return False


def coverage(
    focus: QuestionFocus,
    evidence: str,
    context: str = "",
    *,
    title: str = "",
    answer: str = "",
    strict: bool = True,
    published_year: str | None = None,
    similar: WordSimilarity | None = None,
    source: str = "",
    lead: str = "",
) -> Coverage:
    """What of the question's focus the evidence (the sentences an answer rests on) leaves out.

    `strict` (for a given answer) also wants one of the question's names in the evidence or title, and a
    price's place in the evidence; without it (deciding whether any sentence could answer, before the
    model is called) those are checked against the whole passage.
    `context` is the rest of the cited passage and its title: names may be stated there ("the firm"
    in the evidence, "Ask Jeeves" in the title), but the asked attribute, years and qualifiers must be
    in the evidence itself or the answer is about a neighbouring fact. A name the question cites as its source
    ("according to the BBC") may also be in the passage's `source` (its source's name and web address).
    `lead` is the article's first sentence: the year it states frames the article ("Lufthansa has returned to
    profit in 2004"), so an evidence sentence that names no other year is of that year.
    """
    evidence_words = content_words(evidence) | ({"usa"} if _US_RE.search(evidence) else set())
    evidence_words = _with_acronyms(focus, evidence_words, evidence)
    context_words = evidence_words | content_words(context) | ({"usa"} if _US_RE.search(context) else set())
    context_words = _with_acronyms(focus, context_words, context)
    result = Coverage()
    share_price = _SHARE in {s for s, _ in focus.focus_words}  # "shares rose 3.8% to 1,088 pence" is the price
    # The head of the phrase ("speed" of "clock speed") must be named, and with modifiers at least one of them.
    named = [
        (
            written,
            _named_by_value(focus.kind, s, evidence)
            or _focus_named(s, written, evidence, evidence_words, similar)
            or (s == _PRICE and share_price and bool(_SHARES_AT_RE.search(evidence))),
        )
        for s, written in focus.focus_words
    ]
    # A name's category is not measured: "which FBI unit" is answered by "the Internet Fraud Complaint Center".
    head = focus.focus_words[-1][0] if focus.focus_words else ""
    if named and head in _MEASURES and not (focus.kind in NAME_KINDS and head in _NAME_NOUNS):
        head_written, head_ok = named[-1]
        modifiers = named[:-1]
        if not head_ok:
            result.missing_focus.append(head_written)
        by_unit = bool(_SYNONYMS.get(focus.focus_words[-1][0], set()) & _units(evidence))
        if modifiers and not by_unit and not any(ok for _, ok in modifiers):
            result.missing_focus.extend(w for w, _ in modifiers)
    # A year that ends a name ("Football Manager 2005", "Windows 2000") names the product: an article about it
    # answers about it, though the answering sentence may say only "the game". So does a year in the article's
    # title ("The gaming world in 2005"): the whole article is about that year.
    named = {year for year, phrase in focus.named_years if phrase in f"{title} {context}".lower()}
    lead_years = _YEAR_RE.findall(_COMPARED_YEAR_RE.sub(" ", lead))
    if lead_years and not _YEAR_RE.search(_COMPARED_YEAR_RE.sub(" ", evidence)):
        named.add(lead_years[0])  # the article's year, and the evidence names no other
    for year in sorted(focus.years):
        if year not in evidence and year != published_year and year not in named and year not in title:
            result.missing_qualifiers.append(year)
    if (
        focus.years
        and focus.kind in ("count", "money", "percent")
        and not focus.forms
        and _PART_YEAR_RE.search(evidence)
        and not _WHOLE_YEAR_RE.search(evidence)
    ):
        result.missing_of_value.append(f"the whole of {min(focus.years)}")  # a quarter's profit is not 2004's
    rated = focus.kind in ("count", "money", "percent", "other")  # "how much gas a year" reads as "other"
    stated = rate_periods(evidence) if focus.periods and rated else frozenset()
    per_unit = {m.group(1).lower() for m in _PER_UNIT_RE.finditer(evidence)} if focus.per_unit else set()
    if focus.per_unit and rated and not focus.per_unit & per_unit:
        result.missing_of_value.append(f"per {min(focus.per_unit)}")  # "a £1.5m offer" is not 31p a share
    if stated and not stated & focus.periods:
        result.missing_of_value.append(f"a {min(focus.periods)}")  # the daily figure does not say the yearly one
    if rated:  # a total counted from a year is stated with it: the £2m given this year is not the £10m since 1999
        result.missing_of_value.extend(f"since {year}" for year in sorted(focus.since_years) if year not in evidence)
    missing = result.missing_qualifiers
    missing.extend(q for q in result.missing_of_value if q.removeprefix("since ") not in missing)
    # Prices and shares are quoted per market: "the UK price" must be stated as the UK's, in the evidence.
    # Other places need only be in the passage, and so do names when checking before the model answers.
    near = evidence_words | content_words(title) | ({"usa"} if _US_RE.search(title) else set())
    place_words = near if strict and focus.kind in ("money", "percent") else context_words
    # Figures and dates are stated per place too: "100,000 sold in Europe" is not the UK figure, though the
    # article may mention the UK elsewhere. Only a sentence that names another place, not the asked one, fails.
    other_places = (evidence_words & PLACES) if strict and focus.kind in ("count", "date") else set()
    if strict and focus.kind in ("count", "money", "percent") and evidence_words & _WORLDWIDE:
        other_places.add("world")  # "five million copies worldwide" is not the UK figure
    for q in sorted(focus.qualifiers):
        asked = PLACE_SYNONYMS.get(q, {q})
        if not asked & place_words or (other_places - asked and not asked & near):
            result.missing_qualifiers.append(q)
    if focus.currency and not _CURRENCIES[focus.currency].search(evidence):
        result.missing_qualifiers.append(focus.currency)  # "£339" does not say what it costs in euros
    lowered = evidence.lower().replace("-", " ")  # "fourth-quarter" is the fourth quarter
    for spellings in focus.forms:
        if not any(re.search(rf"\b{re.escape(f)}\b", lowered) for f in spellings):
            result.missing_qualifiers.append(spellings[-1] if len(spellings) > 1 else spellings[0])
    by_source = focus.side_names & content_words(source)
    result.missing_names = [n for n in sorted(focus.names - by_source) if not _name_in(n, context_words)]
    if not strict and len(focus.names) >= 3 and len(result.missing_names) == 1:
        if not any(c.isdigit() for c in result.missing_names[0]):  # a model number (K750) must be there
            result.missing_names = []  # a long question's one differently worded name ("Tube" for the Underground)
    # A name's number ("Halo 3") must be stated with the name somewhere in the article: "Halo 2" is another game.
    for phrase in sorted(focus.named_numbers):
        name, number = phrase.rsplit(" ", 1)
        if not re.search(rf"(?<![\w-]){re.escape(name)}[\s-]?{number}(?!\d)", f"{context} {evidence}".lower()):
            result.missing_names.append(phrase)
    # The evidence must be about the question's subject. When it names someone else, every name of a question
    # asking for a value must be in it or the title: a 7nm process stated of Baidu's chip does not answer a
    # question about Alibaba's, and a generic "TV" does not make Telewest's £20m NTL's. When a name is the answer
    # ("which studio", "who"), the answering sentence names someone else by design: one of the question's names
    # is enough. Evidence that names no other subject ("17% of readers have switched") is about its passage's.
    near_words = _with_acronyms(focus, evidence_words | content_words(title), title)
    subject = focus.names - focus.side_names
    # A full name is named by its last word ("Jakob Nielsen" by "Dr Nielsen").
    by_last_word = {n for last, words in focus.full_names if last in near_words for n in words}
    absent = [n for n in sorted(subject) if not _name_in(n, near_words) and n not in by_last_word]
    if focus.kind in NAME_KINDS and len(absent) < len(subject):
        absent = []
    if strict and absent and not result.missing_names and _names_other_subject(evidence, focus.words):
        result.missing_names = absent
    asked = focus.words | focus.earlier_words
    result.has_value = has_value(focus.kind, answer or evidence, asked)
    if answer and not has_value(focus.kind, evidence, asked):
        result.has_value = False  # the value must come from the passages, not only from the model
    if "day" in {w for _, w in focus.focus_words} and focus.kind == "date" and not _DAY_RE.search(evidence):
        result.has_value = False  # "on which day" wants a day, not only a year or a month
    return result


def _names_other_subject(evidence: str, asked: frozenset[str]) -> bool:
    """Whether the evidence names someone or something the question does not (its own subject). Dates ("1
    March"), number words ("Eighty firms") and quoted words (a subject line, "Merry Christmas") name no one."""
    unquoted = _QUOTED_RE.sub(lambda m: " " * len(m.group(0)), evidence)
    for m in _NAME_LIKE_RE.finditer(unquoted):
        words = content_words(m.group(0))
        if m.start() == 0 and m.group(0).lower() in STOPWORDS:
            continue  # "The", "It" start sentences
        if words - asked - PLACES - _NOT_SUBJECTS:
            return True
    return False


# Titles users abbreviate and articles spell out ("who's their MD?": "Adrian Palmer, managing director").
_SPELLED_OUT = {
    abbreviation: [content_words(spelling) for spelling in spellings.split("|")]
    for abbreviation, spellings in {
        "md": "managing director",
        "ceo": "chief executive|boss",
        "cfo": "chief financial officer|finance director",
        "cto": "chief technology officer|chief technical officer",
        "coo": "chief operating officer",
        "vp": "vice president",
        "pm": "prime minister",
        "mp": "member of parliament",
        "mep": "member of the european parliament",
    }.items()
}


def _name_in(name: str, words: set[str]) -> bool:
    """A name is in words, in the singular or plural ("TPUs" and "TPU", "PC" and "PCs"), or spelled out ("MD")."""
    if name in words or name + "s" in words or (name.endswith("s") and name[:-1] in words):
        return True
    return any(spelling <= words for spelling in _SPELLED_OUT.get(name, ()))


def describe_gap(focus: QuestionFocus, gap: Coverage, question: str) -> str:
    """One sentence for the user: what the articles mention and what they leave out."""
    names = [m.group(0).rstrip("?.,") for m in _NAME_LIKE_RE.finditer(question) if m.start() > 0]
    names = [n for n in names if not content_words(n) & set(gap.missing_qualifiers)]
    subject = ", ".join(dict.fromkeys(names)) or "this topic"
    numbered = [m.group(0) for m in _NAMED_NUMBER_RE.finditer(question) if m.group(0).lower() in gap.missing_names]
    if numbered and len(numbered) == len(gap.missing_names):  # "Halo 3", where the articles have Halo 2
        return "The articles found do not mention " + ", ".join(dict.fromkeys(numbered)) + "."
    if gap.missing_names:
        return "The articles found do not mention " + subject + "."
    if gap.missing_qualifiers:
        words = re.findall(r"[\w.]+", question)
        written = [next((w for w in words if stem(w.lower().rstrip(".")) == q), q) for q in gap.missing_qualifiers]
        return f"The articles mention {subject}, but not for {', '.join(written)}."
    what = focus.focus_text or {
        "count": "the number asked for",
        "money": "the amount asked for",
        "percent": "the share asked for",
        "date": "when it happened",
        "person": "who it was",
        "organisation": "which company it was",
        "place": "where it was",
    }.get(focus.kind, "what was asked")
    return f"The articles mention {subject}, but not {what}."
