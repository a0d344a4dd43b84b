"""Hand-checked L4 fixtures: passages of two scrapinghub articles in ../shared/data (read from there),
true items written from them by hand, and perturbed negatives of five kinds."""

from __future__ import annotations

import json

from tests.helpers import SCRAPINGHUB
from tiers.l4.candidates import Candidate

EUROPA = "14cc2a0ca59c62a8c9f205a171e9ccf4ef4cf69b0c642f51c8c65c051b39024f"
MACBOOK = "232a43fb15abde807427b2a7bf4f772e27b8760554370956d8291df4e8166dbf"


def passage(key: str, paragraphs: int = 6) -> str:
    body = json.loads((SCRAPINGHUB / "ground-truth.json").read_text())[key]["articleBody"]
    return "\n\n".join(body.split("\n\n")[:paragraphs])


def qa(question: str, answer: str, answer_type: str, evidence: str) -> Candidate:
    return Candidate("qa", question, answer, answer_type, evidence)


def fact(statement: str, evidence: str) -> Candidate:
    return Candidate("fact", statement, None, None, evidence)


TRUE_QA = {
    EUROPA: [
        qa(
            "Which NASA center led the team that confirmed water vapor above Europa?",
            "Goddard Space Flight Center",
            "span",
            "A team led by researchers out of NASA's Goddard Space Flight Center in Greenbelt, Maryland",
        ),
        qa(
            "How many observations did the W. M. Keck Observatory make?",
            "17",
            "number",
            "Out of 17 observations by the W. M. Keck Observatory in Hawaii",
        ),
        qa(
            "In which journal was the paper about water vapor on Europa published?",
            "Nature Astronomy",
            "span",
            "According to a paper published in the journal Nature Astronomy on Monday",
        ),
        qa("Where is the W. M. Keck Observatory?", "Hawaii", "span", "the W. M. Keck Observatory in Hawaii"),
        qa(
            "Who is the NASA planetary scientist who led the research on Europa?",
            "Lucas Paganini",
            "span",
            "lead researcher and NASA planetary scientist Lucas Paganini said in a NASA statement",
        ),
    ],
    MACBOOK: [
        qa(
            "Which publication reported Apple's plan for a new 13-inch MacBook Pro?",
            "DigiTimes",
            "span",
            "according to industry sources cited by hit-or-miss Taiwanese publication DigiTimes",
        ),
        qa(
            "Which Apple analyst predicted the move to scissor switch keyboards?",
            "Ming-Chi Kuo",
            "span",
            "Apple analyst Ming-Chi Kuo has previously predicted that Apple will transition its entire notebook lineup",
        ),
        qa(
            "What display size in inches will the new 13-inch MacBook Pro keep?",
            "13.3",
            "number",
            "The report claims the display size will remain 13.3 inches",
        ),
        qa(
            "In which year did the butterfly keyboards first appear?",
            "2016",
            "number",
            "which have suffered from issues with sticky, repeating, or nonfunctional keys since their inception in 2016",
        ),
        qa(
            "In which year does Apple plan to release the new 13-inch MacBook Pro?",
            "2020",
            "date",
            "Apple plans to release a new 13-inch MacBook Pro with a scissor switch keyboard in the first half of 2020",
        ),
    ],
}

TRUE_FACTS = {
    EUROPA: [
        fact(
            "The scientists spotted water vapor in only one of 17 observations by the W. M. Keck Observatory.",
            "Out of 17 observations by the W. M. Keck Observatory in Hawaii, which uses a spectrograph to detect the "
            "chemical compositions of other planets' atmospheres by scanning the infrared light they release or absorb, "
            "the scientists only spotted water vapor in one.",
        ),
        fact("Europa is an icy moon of Jupiter.", "Jupiter's icy moon Europa"),
    ],
    MACBOOK: [
        fact(
            "The 16-inch MacBook Pro features a physical Esc key.",
            "The 16-inch MacBook Pro also features a physical Esc key and an inverted-T arrow key layout.",
        ),
        fact(
            "Apple continues to offer free repairs to affected customers.",
            "Apple continues to offer free repairs to affected customers",
        ),
    ],
}


def _replace(c: Candidate, old: str, new: str) -> Candidate:
    return Candidate(
        c.kind, c.text.replace(old, new), (c.answer or "").replace(old, new) or c.answer, c.answer_type, c.evidence
    )


def perturbed() -> dict[str, list[tuple[str, Candidate]]]:
    """Per passage: (kind of perturbation, item). Every one is false against its passage."""
    e, m = TRUE_QA[EUROPA], TRUE_QA[MACBOOK]
    ef, mf = TRUE_FACTS[EUROPA], TRUE_FACTS[MACBOOK]
    return {
        EUROPA: [
            ("number_swap", _replace(e[1], "17", "19")),
            ("number_swap", _replace(ef[0], "17", "27")),
            ("entity_swap", _replace(e[0], "Goddard Space Flight Center", "Jet Propulsion Laboratory")),
            ("entity_swap", _replace(e[3], "Hawaii", "Maryland")),
            ("entity_swap", _replace(ef[1], "Jupiter", "Saturn")),
            ("negation", _replace(ef[1], "is an icy moon", "is not an icy moon")),
            ("unsupported_clause", fact(ef[0].text[:-1] + " using a new infrared camera.", ef[0].evidence)),
            (
                "unsupported_clause",
                fact("Europa is an icy moon of Jupiter discovered by Galileo in 1610.", ef[1].evidence),
            ),
        ],
        MACBOOK: [
            ("number_swap", _replace(m[2], "13.3", "14.3")),
            ("date_shift", _replace(m[3], "2016", "2017")),
            ("date_shift", _replace(m[4], "2020", "2021")),
            ("entity_swap", _replace(m[0], "DigiTimes", "Bloomberg")),
            ("negation", _replace(mf[0], "features a physical", "does not feature a physical")),
            ("negation", _replace(mf[1], "continues to offer", "no longer offers")),
            (
                "unsupported_clause",
                fact("The 16-inch MacBook Pro features a physical Esc key designed in Cupertino.", mf[0].evidence),
            ),
            (
                "unsupported_clause",
                fact("Apple continues to offer free repairs to affected customers for five years.", mf[1].evidence),
            ),
        ],
    }
