"""The core's input and output: a `Turn` in, a `Reply` out. Plain data; edges translate to these.

Nothing here knows about Slack, Teams or terminals. Renderers format a Reply; they add no
clinical content (every clinical sentence is in `statements`).
"""
from __future__ import annotations

from enum import Enum
from typing import Dict, List, Optional

from pydantic import BaseModel, Extra, Field

from nlu.types import Entity, IntentScore


class Model(BaseModel):
    class Config:
        extra = Extra.forbid


class Turn(Model):
    text: str
    conversation_id: str = Field(..., min_length=1)
    user: Optional[str] = None
    platform: str = "cli"  # slack, teams, cli, replay: for the audit trail, never for the answer


class ReplyKind(str, Enum):
    answer = "answer"
    clarify = "clarify"
    fallback = "fallback"
    smalltalk = "smalltalk"


class SourceRef(Model):
    kind: str
    title: str


class CitedStatement(Model):
    """A knowledge statement as quoted in a reply: verbatim text plus its citation."""

    id: str
    text: str
    source: SourceRef
    citation: str
    # Documents the sentence names in its own text: shown as "mentions: ...", never as the source.
    mentions: List[str] = Field(default_factory=list)
    # Catalogue text saying what the statement depends on ("Applies if SSTR-positive."), if anything.
    caveat: Optional[str] = None


class Reply(Model):
    kind: ReplyKind
    intent: Optional[IntentScore] = None
    confidence: float = 0.0
    entities: List[Entity] = Field(default_factory=list)
    slots: Dict[str, Optional[str]] = Field(default_factory=dict)
    statements: List[CitedStatement] = Field(default_factory=list)
    # The whole reply as plain text (what a terminal prints and a notification shows).
    text: str
    # The parts `text` is made of, for renderers that lay them out (Block Kit, cards):
    lead: List[str] = Field(default_factory=list)  # acknowledgements and the question heading
    notes: List[str] = Field(default_factory=list)  # what the answer depends on / left out
    safety: Optional[str] = None  # the fixed decision-support line, on every answer
    suggestions: List[str] = Field(default_factory=list)
    # The audit record of this reply, when an audit trail is kept (feedback links to it).
    audit_id: Optional[str] = None

    @property
    def statement_ids(self) -> List[str]:
        return [s.id for s in self.statements]
