"""Pydantic (v1) models for the knowledge base and lexicon files.

Unknown fields are forbidden everywhere so a typo in a data file is an error that names the
field, never a silently ignored key (the spaCy-schema habit).
"""
from __future__ import annotations

from enum import Enum
from typing import Dict, List, Tuple

from pydantic import BaseModel, Extra, Field, validator


class Strict(BaseModel):
    class Config:
        extra = Extra.forbid
        allow_mutation = False
        anystr_strip_whitespace = True


class SourceKind(str, Enum):
    """Order matters: answers present evidence the way the seeds do."""

    guideline = "guideline"
    drug_label = "drug_label"
    research = "research"


SOURCE_ORDER: Dict[SourceKind, int] = {kind: rank for rank, kind in enumerate(SourceKind)}

SOURCE_HEADINGS: Dict[SourceKind, str] = {
    SourceKind.guideline: "Guidelines",
    SourceKind.drug_label: "FDA drug label",
    SourceKind.research: "Research",
}


class Topic(str, Enum):
    dosing = "dosing"
    procedure_explanation = "procedure_explanation"
    next_steps = "next_steps"
    monitoring = "monitoring"


class EntityType(str, Enum):
    drug = "drug"
    procedure = "procedure"
    test = "test"
    drug_class = "class"


class CaseSlot(str, Enum):
    """Case facts a statement may depend on, with the values each can take."""

    sstr_status = "sstr_status"
    disease_status = "disease_status"
    resectability = "resectability"
    differentiation = "differentiation"


class SubjectSlot(str, Enum):
    """What a question is about; a drug class fills the drug slot."""

    drug = "drug"
    procedure = "procedure"
    test = "test"


class Intent(str, Enum):
    """Every intent the NLU model is trained on. nlu/data, the dialogue routes and the catalogue are
    checked against this list (tests/test_vocabulary.py), so adding one is a change in one place."""

    dosing = "dosing"
    procedure_explanation = "procedure_explanation"
    next_steps = "next_steps"
    monitoring = "monitoring"
    case_update = "case_update"
    greet = "greet"
    thanks = "thanks"
    help = "help"
    affirm = "affirm"
    deny = "deny"
    out_of_scope = "out_of_scope"


# The clinical intents are the topics: a dosing question is answered by dosing statements.
CLINICAL_INTENTS: Tuple[Intent, ...] = (Intent.dosing, Intent.procedure_explanation, Intent.next_steps,
                                        Intent.monitoring)

# A negated fact stores its opposite where there is exactly one ("not SSTR positive" is SSTR-negative);
# "not well differentiated" has none (moderately or poorly), so it stores nothing.
CASE_SLOT_OPPOSITES: Dict[str, Dict[str, str]] = {
    "sstr_status": {"positive": "negative", "negative": "positive"},
    "disease_status": {"progressive": "stable", "stable": "progressive"},
    "resectability": {"resectable": "unresectable", "unresectable": "resectable"},
    "differentiation": {},
}

CASE_SLOT_VALUES: Dict[str, List[str]] = {
    CaseSlot.sstr_status.value: ["positive", "negative"],
    CaseSlot.disease_status.value: ["progressive", "stable"],
    CaseSlot.resectability.value: ["resectable", "unresectable"],
    CaseSlot.differentiation.value: ["well", "moderately", "poorly"],
}


def _values_as_lists(value: object) -> object:
    """`{slot: value}` is shorthand for `{slot: [value]}`."""
    if isinstance(value, dict):
        return {k: [v] if isinstance(v, str) else v for k, v in value.items()}
    return value


def _check_slot_values(value: Dict[CaseSlot, List[str]]) -> Dict[CaseSlot, List[str]]:
    """Every value must be one the slot can take (CASE_SLOT_VALUES), at least one per slot."""
    for slot, allowed in value.items():
        known = CASE_SLOT_VALUES[slot.value]
        if not allowed:
            raise ValueError(f"{slot.value}: no value given; expected some of {known}")
        for item in allowed:
            if item not in known:
                raise ValueError(f"{slot.value}: {item!r} is not one of {known}")
    return value


class Source(Strict):
    kind: SourceKind
    title: str = Field(..., min_length=1)
    seed: str = Field(..., min_length=1)


class Statement(Strict):
    """One verbatim clinical sentence (or bullet fragment) from a seed, with its citation."""

    id: str = Field(..., regex=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
    text: str = Field(..., min_length=1)
    source: Source
    citation: str = Field(..., min_length=1)
    topics: List[Topic] = Field(..., min_items=1)
    entities: List[str] = Field(default_factory=list)
    # slot -> the values under which the statement applies (any one of them)
    conditions: Dict[CaseSlot, List[str]] = Field(default_factory=dict)
    # Documents the sentence names in its own text ("ACR Appropriateness Criteria, 2022 update").
    # Shown as "mentions: ...", never as the source: carebot has not checked them, the seed cites
    # only its own reference numbers.
    mentions: List[str] = Field(default_factory=list)

    @validator("conditions", pre=True)
    def _one_value_is_a_list(cls, value: object) -> object:
        if isinstance(value, dict):
            return {k: [v] if isinstance(v, str) else v for k, v in value.items()}
        return value

    @validator("conditions")
    def _known_condition_values(cls, value: Dict[CaseSlot, List[str]]) -> Dict[CaseSlot, List[str]]:
        for slot, allowed in value.items():
            known = CASE_SLOT_VALUES[slot.value]
            for item in allowed:
                if item not in known:
                    raise ValueError(f"{slot.value}: {item!r} is not one of {known}")
        return value

    @property
    def kind(self) -> SourceKind:
        return self.source.kind


class StatementFile(Strict):
    statements: List[Statement]


class LexiconEntry(Strict):
    """A canonical id and every way a care team writes it."""

    id: str = Field(..., regex=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
    type: EntityType
    label: str = Field(..., min_length=1)
    synonyms: List[str] = Field(default_factory=list)
    # for a class: the member ids it covers
    members: List[str] = Field(default_factory=list)
    # What a treatment needs of the case (slot -> any one of these values), as data: every
    # statement tagged with this id inherits it. A class's members do not inherit the class's.
    requires: Dict[CaseSlot, List[str]] = Field(default_factory=dict)

    @validator("requires", pre=True)
    def _one_required_value_is_a_list(cls, value: object) -> object:
        return _values_as_lists(value)

    @validator("requires")
    def _known_required_values(cls, value: Dict[CaseSlot, List[str]]) -> Dict[CaseSlot, List[str]]:
        return _check_slot_values(value)


class CaseFactPhrases(Strict):
    """Phrases that state a case fact, e.g. sstr_status=positive <- 'SSTR+'."""

    slot: CaseSlot
    value: str
    phrases: List[str] = Field(..., min_items=1)


class UnknownKind(str, Enum):
    """What an unknown term is; the NLU emits it as this entity with value `unknown`."""

    drug = "drug"
    procedure = "procedure"
    condition = "condition"


class UnknownTerm(Strict):
    """A clinical thing near this case that the knowledge base does not cover ("liver transplant").

    Recognised so carebot says "nothing on <name>" instead of answering with something it knows;
    `name` is what it may say back (the user's own word never is: it may be a patient's name).
    """

    type: UnknownKind
    name: str = Field(..., min_length=1)
    phrases: List[str] = Field(..., min_items=1)


class QualifierKind(str, Enum):
    """Qualifiers that change what a statement means for this question."""

    population = "population"  # child | pregnancy | breastfeeding
    indication = "indication"  # another indication than GEP-NET (acromegaly ...)
    dose_change = "dose_change"  # increase | decrease | missed-dose | combine | hold


class QualifierPhrases(Strict):
    """Phrases that state a qualifier, e.g. population=child <- 'a kid'."""

    kind: QualifierKind
    value: str = Field(..., regex=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
    name: str = Field(..., min_length=1)
    phrases: List[str] = Field(..., min_items=1)
    # only when the message names two different known drugs or classes ("both", "together")
    needs_two_drugs: bool = False


class LexiconFile(Strict):
    entries: List[LexiconEntry]
    case_facts: List[CaseFactPhrases] = Field(default_factory=list)
    ignore_phrases: List[str] = Field(default_factory=list)
    # Things the knowledge base knows nothing about that the drug vocabulary misses (regimens,
    # procedures, conditions); real drug names come from the drug vocabulary (nlu/drugs.py).
    unknown_terms: List[UnknownTerm] = Field(default_factory=list)
    qualifiers: List[QualifierPhrases] = Field(default_factory=list)
    # an age below this ("12 yo", "age 15", "15F") is population=child
    adult_age: int = Field(18, ge=1)
    # words the drug vocabulary lists that are never drugs in a message here (a first name, a word)
    not_drugs: List[str] = Field(default_factory=list)

