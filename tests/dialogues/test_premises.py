"""Figures the user asserts, compared with the real cited statements for the drug asked."""
from __future__ import annotations

import re
from typing import List, Optional, Sequence

import pytest

from dialogues.premises import check_premises, user_figures_about
from knowledge import Topic, default_knowledge
from nlu.figures import read_figures
from nlu.types import Entity


def premises(text: str, drug: str, topic: Topic = Topic.dosing, entities: Optional[List[str]] = None) -> List[str]:
    kb = default_knowledge()
    statements = [m.statement for m in kb.query(topic, entities or [drug])]
    return check_premises(read_figures(text), statements, kb.lexicon.label(drug), kb.lexicon.forms(drug))


CASES = [
    # the four wrong premises
    ("everolimus 10 mg BID right?", "everolimus",
     ["You wrote 10 mg: the same as the cited statement.", "You wrote BID; the cited statements give daily."]),
    ("lanreotide 90 mg ok?", "lanreotide", ["You wrote 90 mg; the cited statements give 120 mg."]),
    ("octreotide LAR 30 mg subcut, correct?", "octreotide",
     ["You wrote 30 mg: the same as the cited statement.",
      "You wrote subcut; the cited statements give intramuscularly."]),
    ("lanreotide every 2 weeks?", "lanreotide", ["You wrote every 2 weeks; the cited statements give every 4 weeks."]),
    # matches, however written
    ("lanreotide 120 mg q4w deep SC?", "lanreotide",
     ["You wrote 120 mg: the same as the cited statement.",
      "You wrote q4w: the same as the cited statement (every 4 weeks).",
      "You wrote deep SC: the same as the cited statement (deep subcutaneous)."]),
    ("lanreo 120 q4wk", "lanreotide",
     ["You wrote 120: the same as the cited statement (120 mg).",
      "You wrote q4wk: the same as the cited statement (every 4 weeks)."]),
    ("somatuline 120mg monthly subcut", "lanreotide",
     ["You wrote 120mg: the same as the cited statement.",
      "You wrote monthly: the same as the cited statement (every 4 weeks).",
      "You wrote subcut: the same as the cited statement (deep subcutaneous)."]),
    ("30mg IM q28d", "octreotide",
     ["You wrote 30mg: the same as the cited statement.",
      "You wrote IM: the same as the cited statement (intramuscularly).",
      "You wrote q28d: the same as the cited statement (every 4 weeks)."]),
    ("sutent 37.5 mg od", "sunitinib",
     ["You wrote 37.5 mg: the same as the cited statement.",
      "You wrote od: the same as the cited statement (daily)."]),
    # the other drug in the same statement is never the comparison
    ("lanreotide 30mg IM", "lanreotide",
     ["You wrote 30mg; the cited statements give 120 mg.",
      "You wrote IM; the cited statements give deep subcutaneous."]),
    ("octreotide LAR 120 mg", "octreotide", ["You wrote 120 mg; the cited statements give 30mg."]),
    ("everolimus 37.5mg daily", "everolimus",
     ["You wrote 37.5mg; the cited statements give 10mg.", "You wrote daily: the same as the cited statement."]),
    ("sunitinib 10mg", "sunitinib", ["You wrote 10mg; the cited statements give 37.5mg."]),
    # a unit changes the figure; a kind the statements do not give is said so
    ("everolimus 10 mcg", "everolimus", ["You wrote 10 mcg; the cited statements give 10mg."]),
    ("everolimus 10 mg PO", "everolimus",
     ["You wrote 10 mg: the same as the cited statement.", "You wrote PO; the cited statements give no route."]),
    ("octreotide 100 mcg tid", "octreotide",
     ["You wrote 100 mcg; the cited statements give 30mg.", "You wrote tid; the cited statements give every 4 weeks."]),
    # nothing asserted, nothing said
    ("lanreotide dose?", "lanreotide", []),
    ("lanreotide dose for a 12 yo", "lanreotide", []),
]


@pytest.mark.parametrize("text,drug,expected", CASES, ids=[c[0] for c in CASES])
def test_premises(text: str, drug: str, expected: List[str]) -> None:
    assert premises(text, drug) == expected


@pytest.mark.parametrize(
    "text,expected",
    [
        ("CT every 4 months?", ["You wrote every 4 months: within the range the cited statement gives (every 3-6 months)."]),
        ("imaging every 3-6 months", ["You wrote every 3-6 months: the same as the cited statement."]),
        ("MRI q2mo", ["You wrote q2mo; the cited statements give every 3-6 months."]),
        ("scans every 3 to 9 months", ["You wrote every 3 to 9 months; the cited statements give every 3-6 months."]),
    ],
)
def test_a_value_inside_a_stated_range_matches(text: str, expected: List[str]) -> None:
    assert premises(text, "cross-sectional-imaging", Topic.monitoring) == expected


def test_never_says_correct_and_quotes_statement_words() -> None:
    kb = default_knowledge()
    for text, drug, _ in CASES:
        statements = [m.statement for m in kb.query(Topic.dosing, [drug])]
        for line in premises(text, drug):
            assert not re.search(r"\b(correct|right|yes)\b", line, re.I), line
            given = line.split("the cited statements give ", 1)[1:] or re.findall(r"\((.*)\)", line)
            for words in given:
                for part in re.split(r", | or ", words.rstrip(".")):
                    if part and not part.startswith("no "):
                        assert any(part in s.text for s in statements), (part, line)


def test_no_statements_no_lines() -> None:
    assert check_premises(read_figures("lanreotide 90 mg"), [], "lanreotide", ["lanreotide"]) == []


class Cited:
    def __init__(self, id: str, text: str) -> None:
        self.id, self.text = id, text


def test_any_of_several_stated_values_matches_otherwise_all_are_named() -> None:
    statements: Sequence[Cited] = [
        Cited("test-a", "Drugx 10 mg daily."),
        Cited("test-b", "Drugx 20 mg daily."),
    ]
    assert check_premises(read_figures("20mg"), statements, "drugx", ["drugx"], other_forms=[]) == [
        "You wrote 20mg: the same as the cited statement."
    ]
    assert check_premises(read_figures("15 mg"), statements, "drugx", ["drugx"], other_forms=[]) == [
        "You wrote 15 mg; the cited statements give 10 mg or 20 mg."
    ]


def test_user_figures_follow_the_parsers_entities() -> None:
    text = "lanreo 120 q4wk or octreotide 30 mg?"
    entities = [
        Entity(entity="drug", value="lanreotide", text="lanreo", start=0, end=6),
        Entity(entity="drug", value="octreotide", text="octreotide", start=19, end=29),
    ]
    assert [f.text for f in user_figures_about(text, entities, ["lanreotide"])] == ["120", "q4wk"]
    assert [f.text for f in user_figures_about(text, entities, ["octreotide"])] == ["30 mg"]
    assert [f.text for f in user_figures_about("90 mg ok?", [], ["lanreotide"])] == ["90 mg"]
