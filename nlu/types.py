"""What the NLU hands the dialogue manager: a typed, validated parse of one message."""
from __future__ import annotations

from enum import Enum
from typing import List, Optional

from pydantic import BaseModel, Extra, Field

from knowledge.schema import CLINICAL_INTENTS as _CLINICAL, CaseSlot, EntityType, QualifierKind, UnknownKind

# Entity types the parser returns, derived from the vocabulary declared once in knowledge.schema;
# values are canonical ids from knowledge/data/lexicon.yml.
SUBJECT_ENTITIES = tuple(kind.value for kind in EntityType)  # drug, procedure, test, class
CASE_FACT_ENTITIES = tuple(slot.value for slot in CaseSlot)
QUALIFIER_ENTITIES = tuple(kind.value for kind in QualifierKind)  # population, indication, dose_change
UNKNOWN_ENTITIES = tuple(kind.value for kind in UnknownKind)  # drug, procedure, condition (value `unknown`)
UNKNOWN = "unknown"  # value of a thing the knowledge base has nothing on

CLINICAL_INTENTS = tuple(intent.value for intent in _CLINICAL)
FALLBACK_INTENT = "nlu_fallback"


class Assertion(str, Enum):
    """How a message asserts a fact or names a thing (medspaCy ConText's categories).

    Only an affirmed fact about the patient is the patient's fact; the dialogue manager decides
    what each of the others means for the case (see dialogues.manager).
    """

    affirmed = "affirmed"
    negated = "negated"  # "not SSTR positive", "no PD on last scan"
    hypothetical = "hypothetical"  # "if she progresses", "what if ..."
    uncertain = "uncertain"  # "might be progressing", "borderline resectable", "?progression"
    other_experiencer = "other_experiencer"  # "her sister had ..."


class Model(BaseModel):
    class Config:
        extra = Extra.forbid


class IntentScore(Model):
    name: str
    confidence: float = Field(..., ge=0.0, le=1.0)


class Entity(Model):
    entity: str
    value: str
    text: str
    start: Optional[int] = None
    end: Optional[int] = None
    extractor: Optional[str] = None
    assertion: Assertion = Assertion.affirmed
    # What carebot may say back for a thing it does not know: a generic name from a real drug
    # vocabulary or the label of a curated unknown term. None means never echo it (a word carebot
    # does not know may be a patient's name).
    name: Optional[str] = None


class ParseResult(Model):
    intent: IntentScore
    ranking: List[IntentScore] = Field(default_factory=list)
    entities: List[Entity] = Field(default_factory=list)

    def values(self, entity: str) -> List[str]:
        return [e.value for e in self.entities if e.entity == entity]

    def first(self, entity: str) -> Optional[Entity]:
        return next((e for e in self.entities if e.entity == entity), None)
