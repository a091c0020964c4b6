"""What the NLU hands the dialogue manager: a typed, validated parse of one message."""
from __future__ import annotations

from typing import List, Optional

from pydantic import BaseModel, Extra, Field

# Entity types the parser returns; values are canonical ids from knowledge/data/lexicon.yml.
SUBJECT_ENTITIES = ("drug", "procedure", "test", "class")
CASE_FACT_ENTITIES = ("sstr_status", "disease_status", "resectability", "differentiation")
UNKNOWN = "unknown"  # value of a drug/procedure the knowledge base has nothing on

CLINICAL_INTENTS = ("dosing", "procedure_explanation", "next_steps", "monitoring")
FALLBACK_INTENT = "nlu_fallback"


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


class ParseResult(Model):
    intent: IntentScore
    ranking: List[IntentScore] = Field(default_factory=list)
    entities: List[Entity] = Field(default_factory=list)

    def values(self, entity: str) -> List[str]:
        return [e.value for e in self.entities if e.entity == entity]

    def first(self, entity: str) -> Optional[Entity]:
        return next((e for e in self.entities if e.entity == entity), None)
