"""What a message says about the case, read from its entities and how each was asserted.

The NLU says how each case-fact phrase was asserted (nlu.assertion, medspaCy ConText); this module
is the policy for what that means, and the only place that decides what is stored:

- affirmed: stored;
- negated: its opposite is stored where there is exactly one ("not SSTR positive" is SSTR-negative,
  "no progression" is stable disease), otherwise nothing is stored and the reply says so;
- hypothetical: used for this answer only ("if she progresses, options?"), never stored;
- uncertain or someone else's: not stored, and the reply says so.

It also reads which treatments the disease progressed on or failed ("failed everolimus", "PD on
octreotide LAR", "progressed after TACE"): those are excluded from the options for the rest of the
conversation, or for this answer only when the progression was hypothetical.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Sequence

from dialogues import catalogue
from knowledge.schema import CASE_SLOT_OPPOSITES
from nlu.types import CASE_FACT_ENTITIES, SUBJECT_ENTITIES, UNKNOWN, Assertion, Entity

# "<progressed> on|after|despite <treatment>": the words between a progression phrase and the treatment
_PROGRESSED_ON = re.compile(
    r"^[\s,:-]*(?:[\w/-]+\s+){0,4}?(?:on|after|through|despite|with|post|following|under|of)\s+"
    r"(?:[\w/-]+\s+){0,3}?$|^\s*$",
    re.I,
)
# words that end the tie: "progressed, but TACE went well", "progressed and we plan TACE"
_BREAKS_TIE = re.compile(r"[.;?!]|\b(?:but|and|or|so|then|plan\w*|consider\w*|before|vs|versus|instead)\b", re.I)
# "<treatment> failed" / "everolimus has failed": the treatment comes first
_TREATMENT_FAILED = re.compile(r"^\s*(?:has|have|had|was|is|has now|already)?\s*$", re.I)


@dataclass
class FactReading:
    stored: Dict[str, str] = field(default_factory=dict)  # slot -> value to store as the patient's fact
    hypothetical: Dict[str, str] = field(default_factory=dict)  # slot -> value for this answer only
    not_noted: List[str] = field(default_factory=list)  # catalogue lines for facts that were not stored
    prior_therapy: List[str] = field(default_factory=list)  # lexicon ids it progressed on (affirmed)
    hypothetical_prior: List[str] = field(default_factory=list)  # ... in a hypothetical only


def read_facts(text: str, entities: Sequence[Entity]) -> FactReading:
    reading = FactReading()
    negated: List[str] = []
    uncertain: List[str] = []
    others: List[str] = []
    for entity in entities:
        if entity.entity not in CASE_FACT_ENTITIES:
            continue
        slot, value, status = entity.entity, entity.value, entity.assertion
        label = catalogue.fact_label(slot, value)
        if status is Assertion.affirmed:
            reading.stored[slot] = value
        elif status is Assertion.negated:
            opposite = CASE_SLOT_OPPOSITES.get(slot, {}).get(value)
            if opposite:
                reading.stored[slot] = opposite
            elif label not in negated:
                negated.append(label)
        elif status is Assertion.hypothetical:
            reading.hypothetical[slot] = value
        elif status is Assertion.uncertain:
            if label not in uncertain:
                uncertain.append(label)
        elif label not in others:
            others.append(label)
    if negated:
        reading.not_noted.append(catalogue.not_noted_negated(negated))
    if uncertain:
        reading.not_noted.append(catalogue.not_noted_uncertain(uncertain))
    if others:
        reading.not_noted.append(catalogue.not_noted_other(others))
    _read_prior_therapy(text, entities, reading)
    return reading


def _read_prior_therapy(text: str, entities: Sequence[Entity], reading: FactReading) -> None:
    """Treatments tied to a progression phrase by position: '<progressed> on X' or 'X <failed>'."""
    progressions = [e for e in entities if e.entity == "disease_status" and e.value == "progressive"
                    and e.assertion in (Assertion.affirmed, Assertion.hypothetical)]
    subjects = [e for e in entities if e.entity in SUBJECT_ENTITIES and e.entity != "test" and e.value != UNKNOWN]
    for progression in progressions:
        target = reading.prior_therapy if progression.assertion is Assertion.affirmed else reading.hypothetical_prior
        p_start, p_end = progression.start or 0, progression.end or 0
        for subject in subjects:
            s_start, s_end = subject.start or 0, subject.end or 0
            gap = text[p_end:s_start] if s_start >= p_end else ""
            tied = (s_start >= p_end and len(gap) <= 48 and not _BREAKS_TIE.search(gap)
                    and _PROGRESSED_ON.match(gap)) or (
                s_end <= p_start and progression.text.lower().startswith("fail")
                and _TREATMENT_FAILED.match(text[s_end:p_start]))
            if tied and subject.value not in target:
                target.append(subject.value)
