"""What a conversation remembers between turns: the subject, the case facts, a pending question."""
from __future__ import annotations

from typing import Dict, List, Optional

from pydantic import BaseModel, Extra, Field

from knowledge.schema import CaseSlot, SubjectSlot

SUBJECT_SLOTS = tuple(slot.value for slot in SubjectSlot)
CASE_SLOTS = tuple(slot.value for slot in CaseSlot)
ALL_SLOTS = SUBJECT_SLOTS + CASE_SLOTS


class Pending(BaseModel):
    """A clarifying question waiting for its answer."""

    intent: str  # the intent to resume once answered
    slot: str  # the slot the question asks for
    options: List[str] = Field(default_factory=list)  # canonical ids offered

    class Config:
        extra = Extra.forbid


class ConversationState(BaseModel):
    slots: Dict[str, Optional[str]] = Field(default_factory=lambda: {s: None for s in ALL_SLOTS})
    last_intent: Optional[str] = None  # the last clinical intent answered, for follow-ups
    focus: Optional[str] = None  # the subject slot mentioned most recently ("drug", "procedure", "test")
    pending: Optional[Pending] = None
    # Treatments the disease progressed on or failed (lexicon ids, classes expanded to members): they stay
    # out of the options for the rest of the conversation.
    excluded: List[str] = Field(default_factory=list)
    turns: int = 0
    # The store's version of this state when it was loaded (0: never saved): saves are fenced on it.
    # Stored beside the state, not in it.
    version: int = 0

    class Config:
        extra = Extra.forbid

    def facts(self) -> Dict[str, Optional[str]]:
        return {slot: self.slots.get(slot) for slot in CASE_SLOTS}

    def subject(self) -> Dict[str, Optional[str]]:
        return {slot: self.slots.get(slot) for slot in SUBJECT_SLOTS}
