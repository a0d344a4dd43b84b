"""The harder families of false items for `bench/l4_verify.py`: the falsehoods models actually write.

Built from every passage of the scrapinghub article bodies in ../shared/data, each from one sentence
(or two adjacent ones) of the passage. Every false item has a true twin: the same sentence unchanged,
as a fact with its own sentence as evidence, and where a yes/no question can be made, that question
(answer yes). The word lists below are the benchmark's own, written from general English apart
from `tiers/l4/lexicon.py`; some of their pairs are not in the lexicon, and then only the alignment
of `tiers/l4/agreement.py` (a changed word, left to an LLM) can catch them.

Families:
- comparison_reversed: more/less, before/after, larger/smaller, first/last, rose/fell, best/worst, won/lost...
- quantifier_strengthened: some/many/most -> all, often/usually -> always, may/might/could -> will,
  about/around/approximately N -> exactly N, "one of the largest" -> "the largest";
- causal_clause: two adjacent sentences joined by a cause the passage does not state ("X, so Y", "Y because X");
- antonym: a word replaced by its antonym or its negative-prefix form (supported -> opposed, available -> unavailable);
- number_word_changed: a number written as a word changed ("three" -> "four", "twenty-one" -> "twenty-two");
- question_subject_swapped: "Who did A beat?" becomes "Who did C beat?" with C another name of the passage, answer kept;
- names_exchanged: two names of a sentence exchanged ("A beat B" -> "B beat A");
- name_swapped_at_start: the name opening a sentence, or following punctuation, replaced by another name of the passage;
- near_copy_quote: a fabricated quote one word (an antonym) from a real sentence, with a statement that agrees with it.
"""

from __future__ import annotations

import random
import re
from typing import Callable

from tiers.l4.candidates import Candidate

COMPARISONS = {
    "more": "less", "less": "more", "fewer": "more", "before": "after", "after": "before", "larger": "smaller",
    "smaller": "larger", "bigger": "smaller", "higher": "lower", "lower": "higher", "first": "last",
    "last": "first", "best": "worst", "worst": "best", "rose": "fell", "fell": "rose", "won": "lost",
    "lost": "won", "increased": "decreased", "decreased": "increased", "earlier": "later", "later": "earlier",
    "largest": "smallest", "biggest": "smallest", "highest": "lowest", "lowest": "highest", "older": "younger",
    "longer": "shorter", "better": "worse", "worse": "better", "most": "least", "above": "below",
    "below": "above", "top": "bottom", "gained": "lost", "rising": "falling", "faster": "slower",
    "greater": "smaller", "latest": "earliest", "oldest": "newest", "next": "previous", "previous": "next",
    "beat": "lost to", "ahead": "behind", "behind": "ahead", "up": "down", "down": "up", "cheaper": "pricier",
}  # fmt: skip
QUANTIFIERS = {
    "some": "all", "many": "all", "most": "all", "several": "all", "often": "always", "usually": "always",
    "sometimes": "always", "frequently": "always", "generally": "always", "may": "will", "might": "will",
    "could": "will", "likely": "certain", "probably": "certainly", "mostly": "entirely", "partly": "entirely",
    "nearly": "exactly", "almost": "exactly", "about": "exactly", "around": "exactly",
    "approximately": "exactly", "roughly": "exactly", "typically": "always",
}  # fmt: skip
ANTONYMS = {
    "supported": "opposed", "support": "oppose", "available": "unavailable", "able": "unable",
    "possible": "impossible", "known": "unknown", "likely": "unlikely", "expected": "unexpected",
    "legal": "illegal", "popular": "unpopular", "agreed": "disagreed", "approved": "rejected",
    "accepted": "rejected", "allowed": "banned", "successful": "unsuccessful", "safe": "unsafe",
    "happy": "unhappy", "common": "uncommon", "clear": "unclear", "necessary": "unnecessary",
    "official": "unofficial", "certain": "uncertain", "aware": "unaware", "complete": "incomplete",
    "correct": "incorrect", "visible": "invisible", "fair": "unfair", "opened": "closed", "open": "closed",
    "public": "private", "strong": "weak", "positive": "negative", "true": "false", "include": "exclude",
    "included": "excluded", "confirmed": "denied", "easy": "difficult", "cheap": "expensive", "good": "bad",
    "important": "unimportant", "similar": "different", "effective": "ineffective", "direct": "indirect",
    "formal": "informal", "responsible": "irresponsible", "regular": "irregular", "relevant": "irrelevant",
    "usual": "unusual", "limited": "unlimited", "willing": "unwilling", "connected": "disconnected",
    "honest": "dishonest", "friendly": "hostile", "success": "failure", "increase": "decrease",
    "win": "lose", "rich": "poor", "new": "old", "major": "minor", "full": "empty",
    "dead": "alive", "alive": "dead", "right": "wrong", "wrong": "right", "hot": "cold", "cold": "hot",
    "easier": "harder", "safer": "riskier", "free": "paid", "young": "old", "modern": "ancient",
    "natural": "artificial", "real": "fake", "simple": "complex", "better": "worse", "agree": "disagree",
    "like": "dislike", "appear": "disappear", "appeared": "disappeared", "continue": "discontinue",
    "continued": "discontinued", "cover": "uncover", "lock": "unlock", "wanted": "unwanted",
}  # fmt: skip
ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen".split()
TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
CAUSES = ("so", "because", "which is why", "and as a result", "therefore")

NAME = re.compile(r"(?<![\w'’-])([A-Z][a-z]+(?: [A-Z][a-z]+){0,2})(?=[ ,.;:’'])")
AUX = re.compile(r"\b(is|was|are|were|has|have|had|will|would|can|could|should|did|does)\b")
_FUNCTION = {
    "The", "A", "An", "In", "On", "At", "But", "And", "It", "This", "That", "He", "She", "They", "We", "I",
    "If", "As", "For", "When", "After", "Before", "While", "Some", "Many", "Most", "There", "His", "Her",
    "Their", "Its", "Our", "So", "Yet", "Or", "Also", "Still", "Now", "Then", "By", "With", "From", "To",
}  # fmt: skip


def _swap_word(sentence: str, table: dict[str, str], rng: random.Random) -> tuple[str, str] | None:
    """(sentence with one listed word replaced by its counterpart, the word) or None."""
    found = [m for m in re.finditer(r"\b[a-z]+\b", sentence) if m.group() in table]
    if not found:
        return None
    m = rng.choice(found)
    return sentence[: m.start()] + table[m.group()] + sentence[m.end() :], m.group()


def _strengthen(sentence: str, rng: random.Random) -> str | None:
    superlative = re.search(r"\bone of the (\w+est)\b", sentence)
    if superlative and rng.random() < 0.5:
        return sentence[: superlative.start()] + "the " + superlative.group(1) + sentence[superlative.end() :]
    swapped = _swap_word(sentence, QUANTIFIERS, rng)
    return swapped[0] if swapped else None


def _number_word(sentence: str, rng: random.Random) -> str | None:
    pattern = rf"\b(?:({'|'.join(TENS)})-({'|'.join(ONES[1:10])})|{'|'.join(ONES[2:] + TENS)})\b"
    found = list(re.finditer(pattern, sentence))
    if not found:
        return None
    m = rng.choice(found)
    word = m.group()
    if "-" in word:
        tens, unit = word.split("-")
        new = f"{tens}-{ONES[ONES.index(unit) % 9 + 1]}"
    elif word in TENS:
        new = TENS[(TENS.index(word) + 1) % len(TENS)]
    else:
        new = ONES[ONES.index(word) % 15 + 1] if ONES.index(word) < 15 else "ten"
    return sentence[: m.start()] + new + sentence[m.end() :]


def _names(sentence: str) -> list[re.Match]:
    return [m for m in NAME.finditer(sentence) if m.group(1).split()[0] not in _FUNCTION]


def _yes_no(sentence: str) -> str | None:
    aux = AUX.search(sentence)
    if not aux:
        return None
    subject = sentence[: aux.start()].strip()
    if (
        not subject
        or len(subject.split()) > 6
        or re.search(r"[,;:()\"“”]", subject)
        or re.search(r"\b(?:not|never|no)\b", sentence)
    ):
        return None
    subject = subject[0].lower() + subject[1:] if subject.split()[0] in ("The", "A", "An", "There") else subject
    return f"{aux.group(1).capitalize()} {subject} {sentence[aux.end() :].strip().rstrip('.!')}?"


def build_families(
    passages: list[str],
    ok: Callable[[str], bool],
    split: Callable[[str], list[str]],
    seed: int = 0,
):
    """(candidate, passage, truth, family) for every family, each false item with its true twin."""
    rng = random.Random(seed)
    out: list[tuple[Candidate, str, bool, str]] = []

    def fact_pair(family: str, true_text: str, false_text: str | None, evidence: str, text: str) -> None:
        if false_text and false_text != true_text:
            out.append((Candidate("fact", true_text, None, None, evidence), text, True, family))
            out.append((Candidate("fact", false_text, None, None, evidence), text, False, family))

    def question_pair(family: str, sentence: str, changed: str | None, text: str) -> None:
        if not changed:
            return
        asked, wrong = _yes_no(sentence), _yes_no(changed)
        if asked and wrong and asked != wrong:
            out.append((Candidate("qa", asked, "yes", "yes_no", sentence), text, True, family))
            out.append((Candidate("qa", wrong, "yes", "yes_no", sentence), text, False, family))

    for text in passages:
        found = [s for s in split(text) if ok(s)]
        passage_names = [m.group(1) for m in NAME.finditer(text) if m.group(1).split()[0] not in _FUNCTION]
        for k, s in enumerate(found):
            swapped = _swap_word(s, COMPARISONS, rng)
            if swapped:
                fact_pair("comparison_reversed", s, swapped[0], s, text)
                question_pair("comparison_reversed", s, swapped[0], text)
            stronger = _strengthen(s, rng)
            fact_pair("quantifier_strengthened", s, stronger, s, text)
            question_pair("quantifier_strengthened", s, stronger, text)
            opposite = _swap_word(s, ANTONYMS, rng)
            if opposite:
                fact_pair("antonym", s, opposite[0], s, text)
                question_pair("antonym", s, opposite[0], text)
                fabricated = opposite[0]
                out.append((Candidate("fact", s, None, None, s), text, True, "near_copy_quote"))
                out.append((Candidate("fact", fabricated, None, None, fabricated), text, False, "near_copy_quote"))
            changed = _number_word(s, rng)
            fact_pair("number_word_changed", s, changed, s, text)
            question_pair("number_word_changed", s, changed, text)
            names = _names(s)
            if len(names) >= 2:
                a, b = names[0], next((n for n in names[1:] if n.group(1) != names[0].group(1)), None)
                if b is not None and a.group(1) not in b.group(1) and b.group(1) not in a.group(1):
                    exchanged = s[: a.start(1)] + b.group(1) + s[a.end(1) : b.start(1)] + a.group(1) + s[b.end(1) :]
                    fact_pair("names_exchanged", s, exchanged, s, text)
                    question = (s[: b.start(1)] + "whom" + s[b.end(1) :]).rstrip(". ") + "?"
                    question = question[0].upper() + question[1:]
                    other = next(
                        (
                            n
                            for n in rng.sample(passage_names, len(passage_names))
                            if n not in s and n.lower() != "whom"
                        ),
                        None,
                    )
                    if other:
                        wrong = question[: a.start(1)] + other + question[a.end(1) :]
                        out.append(
                            (Candidate("qa", question, b.group(1), "span", s), text, True, "question_subject_swapped")
                        )
                        out.append(
                            (Candidate("qa", wrong, b.group(1), "span", s), text, False, "question_subject_swapped")
                        )
            opening = re.match(r"([A-Z][a-z]+(?: [A-Z][a-z]+){0,2})\b", s)
            after_punct = re.search(r"[,;:(\"“] ?([A-Z][a-z]+(?: [A-Z][a-z]+){0,2})\b", s)
            for m in (opening, after_punct):
                if m and m.group(1).split()[0] not in _FUNCTION:
                    other = next(
                        (
                            n
                            for n in rng.sample(passage_names, len(passage_names))
                            if n not in s and m.group(1) not in n
                        ),
                        None,
                    )
                    if other:
                        fact_pair("name_swapped_at_start", s, s[: m.start(1)] + other + s[m.end(1) :], s, text)
                        break
            if k + 1 < len(found) and found[k + 1] in text and f"{s} {found[k + 1]}" in text:
                nxt = found[k + 1]
                span = f"{s} {nxt}"
                cause = rng.choice(CAUSES)
                if cause == "because":
                    joined = f"{nxt.rstrip('.!?')} because {s[0].lower() + s[1:]}"
                else:
                    joined = f"{s.rstrip('.!?')}, {cause} {nxt[0].lower() + nxt[1:]}"
                fact_pair("causal_clause", span, joined, span, text)
    return out
