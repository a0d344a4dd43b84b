"""Does a claim say what its evidence says, word for word where meaning hides in small words?

The content-word checks of `gates.py` skip stopwords ("more", "before", "all", "may") and see only
"not"; these checks compare exactly those words between a claim (a statement, or a question with its
answer) and the evidence sentence:

- `meaning_conflict`: a word of the claim whose listed opposite is in the evidence ("rose" / "fell",
  "more" / "less", "supported" / "opposed"), a negative prefix added or removed ("available" /
  "unavailable"), a number in words whose value is not in the evidence, a quantifier, frequency word,
  modal or exactness word, an order word or a causal connective the evidence does not have, and a
  hedge of the evidence dropped before a word the claim keeps ("about 50" -> "50", "may rise" ->
  "rises", "one of the largest" -> "the largest").
- `substitutions`: the claim aligned word by word with the evidence (difflib); a short replaced run
  is classified: a number changed, a name exchanged with another name of the evidence (roles), an
  opposite, a prefix negation, or a plain changed word, which no word list decides (`undecided`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from tiers.l4.language import STOPWORDS, stem, words
from tiers.l4.lexicon import (
    APPROXIMATORS,
    CAUSAL_WORDS,
    COMPARISON_WORDS,
    FREQUENCY,
    HEDGES,
    MODALS,
    QUANTIFIERS,
    STRONG_WORDS,
    negated_by_prefix,
    opposites,
)
from tiers.l4.number_words import NUMBER_WORDS, number_values, word_numbers

QUESTION_WORDS = frozenset({"what", "which", "who", "whom", "whose", "when", "where", "why", "how", "many", "much"})
_CAUSAL_PHRASES = ("led to", "leads to", "lead to", "due to", "owing to", "as a result", "resulted in", "result in")
_SUPERLATIVE = re.compile(r"\bone of (?:the|its|their|his|her|our)\s+(\w+)", re.IGNORECASE)
_CAPITALISED = re.compile(r"[A-Z][\w'’-]*")
_SINGLE_CAUSAL = CAUSAL_WORDS - {"led", "lead", "leads", "due", "owing", "result", "since", "made", "allowed"}
_CLASSES = (
    ("quantifier", frozenset(QUANTIFIERS) | frozenset(FREQUENCY)),
    ("modal", frozenset(MODALS)),
    ("strength", STRONG_WORDS),
    ("comparison", COMPARISON_WORDS),
    ("approximation", frozenset(a for a in APPROXIMATORS if " " not in a) - {"over", "under", "just", "some"}),
)
# A question paraphrases its evidence more freely ("first appear" for "inception"): only quantifiers,
# modals and strong words are held against it there; opposites, prefixes and numbers always are.
_QUESTION_CLASSES = _CLASSES[:3]

# Said more often in the claim than in the evidence, these add a claim ("X, so Y" where the evidence has
# "so" elsewhere).
_COUNTED = _SINGLE_CAUSAL | frozenset({"all", "always", "every", "will", "must", "only", "exactly"})


@dataclass(frozen=True)
class Substitution:
    kind: str  # number_changed, name_exchanged, opposite, negative_prefix, changed_word
    said: str
    quoted: str

    @property
    def reason(self) -> str:
        return f"{self.kind}:{self.said}->{self.quoted}"


def _stems(tokens: list[str]) -> set[str]:
    return {stem(w) for w in tokens}


def _phrase_in(phrase: str, text: str) -> bool:
    return re.search(rf"\b{re.escape(phrase)}\b", text) is not None


def _counted_reason(word: str) -> str:
    for name, members in _CLASSES:
        if word in members:
            return f"{name}_not_in_evidence:{word}"
    return f"cause_not_in_evidence:{word}"


def meaning_conflict(claim: str, evidence: str, question: bool = False) -> str | None:
    """The first way in which `claim` asserts what `evidence` does not, as a reason; None when none is found.
    With `question`, the wh-words of the claim ("how many", "why") are not held against it."""
    said, quoted = words(claim), words(evidence)
    said_stems, quoted_stems = _stems(said), _stems(quoted)
    every_word = said
    if question:
        said = [w for w in said if w not in QUESTION_WORDS]
    quoted_values = set(number_values(evidence))
    for value in word_numbers(claim):
        if value not in quoted_values:
            return f"number_word_not_in_evidence:{value:g}"
    for w in said:
        s = stem(w)
        if w in _COUNTED and said.count(w) > quoted.count(w) and not (question and w not in STRONG_WORDS):
            return _counted_reason(w)
        if s in quoted_stems or w in quoted:
            continue
        clash = (opposites(s) & quoted_stems) - said_stems
        if clash:
            return f"opposite:{w}->{sorted(clash)[0]}"
        for other in quoted:
            if other not in said and (negated_by_prefix(w, other) or negated_by_prefix(other, w)):
                return f"negative_prefix:{w}->{other}"
        for name, members in _QUESTION_CLASSES if question else _CLASSES:
            if w in members:
                return f"{name}_not_in_evidence:{w}"
        if w in _SINGLE_CAUSAL and not question:
            return f"cause_not_in_evidence:{w}"
    said_text, quoted_text = " ".join(said), " ".join(quoted)
    for phrase in () if question else _CAUSAL_PHRASES:
        if _phrase_in(phrase, said_text) and not _phrase_in(phrase, quoted_text):
            return f"cause_not_in_evidence:{phrase}"
    return _hedge_dropped(every_word, quoted, claim, evidence)


def _hedge_dropped(said: list[str], quoted: list[str], claim: str, evidence: str) -> str | None:
    """A hedge of the evidence that the claim leaves out before a word it keeps."""
    said_set = set(said) | _stems(said)
    for j, h in enumerate(quoted):
        if h not in HEDGES or h in said_set:
            continue
        following = [w for w in quoted[j + 1 : j + 4] if w not in STOPWORDS or w in NUMBER_WORDS][:1]
        if following and (following[0] in said_set or stem(following[0]) in said_set):
            return f"hedge_dropped:{h}"
    for match in _SUPERLATIVE.finditer(evidence):
        superlative = match.group(1).lower()
        if superlative in said_set and not re.search(r"\bone of\b", claim, re.IGNORECASE):
            return f"hedge_dropped:one of the {superlative}"
    return None


def _names(text: str) -> set[str]:
    """The words (as `words` gives them: lower case, no "'s") of capitalised tokens that are not
    stopwords, wherever they stand."""
    return {w for token in _CAPITALISED.findall(text) for w in words(token)} - STOPWORDS


def _capitalised(text: str) -> set[str]:
    """The words of every capitalised token, stopwords included ("These", "How")."""
    return {w for token in _CAPITALISED.findall(text) for w in words(token)}


def _classify(
    said: list[str],
    quoted: list[str],
    evidence_names: set[str],
    quoted_all: list[str],
    claim_names: set[str],
    question: bool,
) -> Substitution:
    a, b = " ".join(said), " ".join(quoted)
    if all(w in claim_names and w not in evidence_names for w in said):
        return Substitution("name_replaced", a, b)
    if number_values(a) and number_values(b):
        if sorted(number_values(a)) != sorted(number_values(b)):
            return Substitution("number_changed", a, b)
    exchanged = [w for w in said if w in evidence_names and w in quoted_all]
    if exchanged and (question or all(w in evidence_names for w in said + quoted)):
        return Substitution("name_exchanged", a, b)
    if not question and len(said) == len(quoted) and any(q in evidence_names and q not in STOPWORDS for q in quoted):
        return Substitution("name_replaced", a, b)
    for w in said:
        for q in quoted:
            if stem(q) in opposites(stem(w)):
                return Substitution("opposite", w, q)
            if negated_by_prefix(w, q) or negated_by_prefix(q, w):
                return Substitution("negative_prefix", w, q)
    if len(said) != len(quoted) or not [w for w in said if w not in STOPWORDS]:
        return Substitution("rephrased", a, b)
    return Substitution("changed_word", a, b)


def _value_positions(tokens: list[str], names: set[str]) -> dict[str, int]:
    """Position of each name word or number that occurs once in `tokens`."""
    counts: dict[str, int] = {}
    for w in tokens:
        counts[w] = counts.get(w, 0) + 1
    return {w: i for i, w in enumerate(tokens) if counts[w] == 1 and (w in names or w[:1].isdigit())}


def _value_runs(tokens: list[str], values: set[str]) -> tuple[list[tuple[str, ...]], list[str]]:
    """The runs of consecutive values ("new york") in order, and the tokens with each run masked as one slot."""
    runs: list[tuple[str, ...]] = []
    masked: list[str] = []
    current: list[str] = []
    for w in [*tokens, ""]:
        if w and w in values:
            current.append(w)
            continue
        if current:
            runs.append(tuple(current))
            masked.append("<value>")
            current = []
        if w:
            masked.append(w)
    return runs, masked


def roles_swapped(claim: str, evidence: str) -> tuple[str | None, str | None]:
    """(reason, undecided): names or numbers of the claim in another order than in the evidence. When every
    other word is the same ("A beat B" / "B beat A") the roles are swapped; otherwise the order may be a
    paraphrase ("B was beaten by A", "Jupiter's moon Europa") and is left undecided."""
    said, quoted = words(claim), words(evidence)
    names = _names(claim)
    values = _capitalised(claim) | {w for w in said + quoted if w[:1].isdigit()}
    runs_said, masked_said = _value_runs(said, values)
    runs_quoted, masked_quoted = _value_runs(quoted, values)
    if runs_said != runs_quoted and sorted(runs_said) == sorted(runs_quoted) and masked_said == masked_quoted:
        first = next(a for a, b in zip(runs_said, runs_quoted) if a != b)
        return f"roles_swapped:{' '.join(first)}", None
    mine, theirs = _value_positions(said, names), _value_positions(quoted, names)
    shared = sorted((w for w in mine if w in theirs), key=mine.get)
    undecided = None
    for x, a in enumerate(shared):
        for b in shared[x + 1 :]:
            if theirs[a] < theirs[b]:
                continue
            undecided = undecided or f"order_changed:{a}<->{b}"
    return None, undecided


def substitutions(
    claim: str,
    evidence: str,
    max_run: int = 3,
    question: bool = False,
    plain_changes: bool | None = None,
    answer: str = "",
) -> list[Substitution]:
    """Short runs of the claim that replace a run of the evidence, classified; runs whose words have
    the same stems or the same number values are not substitutions. With `question`, a run holding a
    question word is where the answer was taken out, and plain changed words are not reported unless
    `plain_changes` says so; a name of the question standing where the evidence has another name that
    is not the `answer` is a name replaced (a subject swapped)."""
    said, quoted = words(claim), words(evidence)
    evidence_names, claim_names = _names(evidence), _names(claim) - QUESTION_WORDS
    claim_capitals, evidence_capitals = _capitalised(claim), _capitalised(evidence)
    answered = set(words(answer))
    out = []
    matcher = SequenceMatcher(None, [stem(w) for w in said], [stem(w) for w in quoted], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        a, b = said[i1:i2], quoted[j1:j2]
        asking = question and bool(set(a) & QUESTION_WORDS)
        longest = max_run + (len(set(a) & (QUESTION_WORDS | STOPWORDS)) if asking else 0)
        if op != "replace" or len(a) > longest or len(b) > longest:
            continue
        if _stems(a) == _stems(b) or (
            number_values(" ".join(a)) and number_values(" ".join(a)) == number_values(" ".join(b))
        ):
            continue
        if asking:
            rest = [w for w in a if w not in QUESTION_WORDS and (w not in STOPWORDS or w in claim_capitals)]
            others = [w for w in b if w in evidence_capitals and w not in answered]
            if rest and others and all(w in claim_capitals and w not in evidence_capitals for w in rest):
                out.append(Substitution("name_replaced", " ".join(rest), " ".join(b)))
            continue
        found = _classify(a, b, evidence_names, quoted, claim_names, question)
        introduced = [w for w in a if w in claim_capitals and w not in evidence_capitals]
        swapped_name = (
            len(introduced) == len(a) == len(b)
            and all(w in evidence_capitals and w not in answered for w in b)
            and i1 > 0
        )
        if introduced and found.kind in ("rephrased", "changed_word") and (swapped_name or not question):
            kind = "changed_word" if i1 == 0 and j1 == 0 else "name_replaced"
            found = Substitution(kind, " ".join(a), " ".join(b))
        if found.kind == "rephrased":
            continue
        if found.kind == "changed_word" and not (not question if plain_changes is None else plain_changes):
            continue
        out.append(found)
    return out
