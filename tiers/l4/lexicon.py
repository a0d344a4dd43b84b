"""Word lists of general English that carry meaning the content-word checks would skip: opposites
(antonym pairs, comparatives and superlatives, temporal order), negative prefixes with the words
they only seem to negate, quantifiers and hedges by strength, and causal connectives.

Every list is stored as written and looked up by the light stem of `language.stem`, so "rose" and
"fell", "increased" and "decreased", "wins" and "loses" meet as pairs.
"""

from __future__ import annotations

import re

from tiers.l4.language import stem

# Pairs of opposites, each form that does not stem to another listed form written out.
_OPPOSITES = """
more less|more fewer|most least|most fewest|greater smaller|greater lesser|larger smaller|bigger smaller
big small|large small|largest smallest|biggest smallest|greatest smallest|higher lower|highest lowest|high low
longer shorter|longest shortest|long short|older younger|oldest youngest|older newer|oldest newest|old new|old young
earlier later|earliest latest|early late|before after|first last|first final|initial final|prior after
previous next|former latter|best worst|better worse|good bad|above below|over under|upper lower|up down
top bottom|ahead behind|inside outside|inner outer|internal external|maximum minimum|majority minority
major minor|increase decrease|increased decreased|increase reduce|increased reduced|increases decreases
rise fall|rose fell|risen fallen|rises falls|rising falling|grew shrank|grow shrink|growth decline
gain loss|gained lost|gain lose|gains losses|win lose|won lost|wins loses|winning losing|winner loser
victory defeat|success failure|succeeded failed|succeed fail|pass fail|passed failed|faster slower|fast slow
quicker slower|stronger weaker|strong weak|strongest weakest|richer poorer|rich poor|wealthy poor
heavier lighter|heavy light|hotter colder|hot cold|warmer cooler|warm cool|wider narrower|wide narrow
cheaper dearer|cheap expensive|easy difficult|easy hard|easier harder|simple complex
full empty|wet dry|alive dead|born died|birth death|present absent|presence absence|male female|men women
man woman|boys girls|boy girl|north south|east west|northern southern|eastern western|left right
love hate|loved hated|friend enemy|allies enemies|safe dangerous|common rare|frequent rare|often rarely
often seldom|always never|usually rarely|everyone nobody|everything nothing|all none|any none|accept reject
accepted rejected|approve reject|approved rejected|allow forbid|allowed forbidden|allow ban|allowed banned
permit prohibit|permitted prohibited|support oppose|supported opposed|supports opposes|supporter opponent
supporters opponents|favor oppose|favour oppose|agree disagree|include exclude|included excluded
add remove|added removed|buy sell|bought sold|buyer seller|import export|imports exports|imported exported
enter leave|entered left|arrive depart|arrived departed|arrival departure|begin end|began ended|start end
started ended|start finish|started finished|start stop|started stopped|open close|opened closed|opening closing
confirm deny|confirmed denied|admit deny|admitted denied|true false|right wrong|correct incorrect|positive negative
legal illegal|public private|publicly privately|remember forget|remembered forgot|find lose|found lost
hire fire|hired fired|attack defend|attacked defended|offense defense|offence defence|improve worsen
improved worsened|benefit harm|profit loss|profits losses|surplus deficit|raise lower|raised lowered|raise cut
raised cut|boost cut|expand shrink|expanded shrank|expansion contraction|permanent temporary|ancient modern
urban rural|domestic foreign|native foreign|lead trail|led trailed|leading trailing|ascend descend|upward downward
increasing decreasing|cause prevent|caused prevented|strengthen weaken
strengthened weakened|win defeat|won defeated|beat lost|push pull|send receive
sent received|sender recipient|teacher student|parent child|parents children|employer employee
light dark|lighter darker|day night|summer winter|sunrise sunset|morning evening
inbound outbound|input output|arrest release|arrested released|guilty innocent
convicted acquitted|conviction acquittal|cheap costly|wealth poverty|peace war|together apart
similar different|increase drop|increased dropped|increase fall|increased fell
lowest highest|maximal minimal|optimistic pessimistic|certain uncertain|likely unlikely
"""

NEGATIVE_PREFIXES = ("non-", "non", "un", "in", "im", "il", "ir", "dis", "mis", "anti", "de")
# Words that start like a negation of another word without being one ("discover" is not "not cover").
PREFIX_EXCEPTIONS = frozenset(
    """
discover cover display play dispose pose disease ease distance invest vest income come insight sight inform form
involve impress press import port impose intend tend indeed deed inside side install stall invent vent unite
dismiss miss include induce instance stance intake take input put inward ward uncle under until union unit irate
rate index inland land interest intern internal increase decrease detail tail define fine deliver liver design sign
deposit posit depart part demand mand depend pend describe scribe desire sire destroy deserve serve determine
dispatch patch discuss cuss distribute tribute district strict disband band misery mist mister antique deal
decline cline delight light degree agree decent cent invite vite inspire spire indicate dictate impact pact
impose pose impair pair inform intent tent invade vade infant ant image age immense sense illustrate instead
instant stant ingredient investor vestor unique nique mischief chief missile island dispute pute distinct stinct
""".split()
)

# Quantifiers, frequency adverbs and modals by strength: a claim that uses a word not in its evidence
# asserts what the evidence does not.
QUANTIFIERS = ("none", "few", "some", "several", "many", "numerous", "most", "majority", "all", "every", "each")
FREQUENCY = ("never", "rarely", "seldom", "sometimes", "occasionally", "often", "frequently", "usually", "always")
MODALS = ("may", "might", "could", "possibly", "perhaps", "likely", "probably", "will", "must", "certainly")
APPROXIMATORS = (
    "about",
    "around",
    "approximately",
    "roughly",
    "nearly",
    "almost",
    "estimated",
    "some",
    "over",
    "under",
    "up to",
    "at least",
    "at most",
    "more than",
    "less than",
    "fewer than",
    "exactly",
    "precisely",
    "only",
    "just",
    "one of",
)
# Words that weaken what follows them: dropping one strengthens the claim.
HEDGES = frozenset(
    {"may", "might", "could", "possibly", "perhaps", "likely", "probably", "about", "around", "approximately"}
    | {"roughly", "nearly", "almost", "estimated", "some", "several", "many", "most", "often", "usually", "sometimes"}
    | {"occasionally", "frequently", "generally", "typically", "mostly", "partly", "partially", "reportedly"}
    | {"allegedly", "apparently", "suggest", "suggested", "suggests", "appear", "appears", "appeared", "seem"}
    | {"seems", "seemed", "potentially", "up", "over", "under", "least"}
)
STRONG_WORDS = frozenset(
    {"all", "every", "each", "always", "never", "will", "must", "certainly", "definitely", "exactly", "precisely"}
    | {"only", "entirely", "completely", "fully", "totally", "none", "everyone", "everything", "nobody", "sole"}
    | {"solely", "undoubtedly", "proved", "proven", "proves", "guaranteed", "invariably", "whole", "entire"}
)
COMPARISON_WORDS = frozenset(
    {"more", "less", "fewer", "most", "least", "fewest", "than", "before", "after", "earlier", "later", "first"}
    | {"last", "prior", "previously", "following", "preceded", "followed", "until", "since", "then", "next"}
)
CAUSAL_WORDS = frozenset(
    {"because", "so", "therefore", "thus", "hence", "consequently", "since", "due", "owing", "result", "resulted"}
    | {"resulting", "led", "leads", "lead", "cause", "caused", "causes", "causing", "reason", "why", "thanks"}
    | {"accordingly", "enabled", "allowed", "prompted", "forced", "triggered", "made"}
)


def _pairs() -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for line in re.split(r"[|\n]", _OPPOSITES):
        parts = line.split()
        if len(parts) != 2:
            continue
        a, b = (stem(p) for p in parts)
        if a == b:
            continue
        out.setdefault(a, set()).add(b)
        out.setdefault(b, set()).add(a)
    return {k: frozenset(v) for k, v in out.items()}


OPPOSITES = _pairs()
_EXCEPTIONS = frozenset(stem(w) for w in PREFIX_EXCEPTIONS) | PREFIX_EXCEPTIONS


def opposites(word_stem: str) -> frozenset[str]:
    """The stems listed as opposite to a stem."""
    return OPPOSITES.get(word_stem, frozenset())


def negated_by_prefix(word: str, other: str) -> bool:
    """Is `word` `other` with a negative prefix ("unavailable" / "available", "non-profit" / "profit")?
    Both lower case; a word of the exception list never is."""
    if word in PREFIX_EXCEPTIONS or other in PREFIX_EXCEPTIONS or len(other) < 4:
        return False
    for prefix in NEGATIVE_PREFIXES:
        if word.startswith(prefix) and word[len(prefix) :].lstrip("-") == other:
            return True
    return False
