"""Pydantic (v1) models for the knowledge base and lexicon files.

Unknown fields are forbidden everywhere so a typo in a data file is an error that names the
field, never a silently ignored key (the spaCy-schema habit).
"""
from __future__ import annotations

from enum import Enum
from typing import Dict, List

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


CASE_SLOT_VALUES: Dict[str, List[str]] = {
    CaseSlot.sstr_status.value: ["positive", "negative"],
    CaseSlot.disease_status.value: ["progressive", "stable"],
    CaseSlot.resectability.value: ["resectable", "unresectable"],
    CaseSlot.differentiation.value: ["well", "moderately", "poorly"],
}


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


class CaseFactPhrases(Strict):
    """Phrases that state a case fact, e.g. sstr_status=positive <- 'SSTR+'."""

    slot: CaseSlot
    value: str
    phrases: List[str] = Field(..., min_items=1)


class LexiconFile(Strict):
    entries: List[LexiconEntry]
    case_facts: List[CaseFactPhrases] = Field(default_factory=list)
    ignore_phrases: List[str] = Field(default_factory=list)
    # Drug or procedure words the knowledge base knows nothing about; recognised so the bot can
    # say so instead of guessing. Not exhaustive: the NLU also spots drug-like words by suffix.
    unknown_drugs: List[str] = Field(default_factory=list)
    unknown_drug_suffixes: List[str] = Field(default_factory=list)
    # words that look like a suffix match but are not drugs ("guideline" ends in -ine)
    not_drugs: List[str] = Field(default_factory=list)

