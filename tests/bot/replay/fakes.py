"""A stand-in core for testing the replay machinery without TensorFlow.

It behaves like a tiny carebot (lanreotide/octreotide dosing, clarification, carry-over, reset,
an unknown drug) so the runner, reports and `--update` are exercised on realistic replies, fast.
"""
from __future__ import annotations

from typing import Dict, List, Optional

from dialogues.types import CitedStatement, Reply, SourceRef, Turn
from nlu.types import Entity, IntentScore

LABEL = SourceRef(kind="drug_label", title="Lanreotide Injection, FDA prescribing information")
GUIDELINE = SourceRef(kind="guideline", title="Guidelines")
STATEMENTS = {
    "lanreotide-label-dosage": CitedStatement(
        id="lanreotide-label-dosage", source=LABEL, citation="Lanreotide Injection, FDA label",
        text="The recommended dosage of Lanreotide Injection is 120 mg administered every 4 weeks by deep subcutaneous injection."),
    "guidelines-initial-ssa-dosing": CitedStatement(
        id="guidelines-initial-ssa-dosing", source=GUIDELINE, citation="Guidelines",
        text="Initial management should include somatostatin analogs such as octreotide LAR 30mg intramuscularly every 4 weeks or lanreotide 120mg subcutaneously every 4 weeks to control hormone-related symptoms and potentially slow tumor growth."),
}
SAFETY = "Decision support only: check against the current label and your local protocol."


class FakeEngine:
    def __init__(self) -> None:
        self.slots: Dict[str, Dict[str, Optional[str]]] = {}
        self.pending: Dict[str, bool] = {}
        self.calls: List[str] = []  # conversation ids, to check each conversation is fresh
        self.resets: List[str] = []
        self.fail_on: Optional[str] = None

    async def handle(self, turn: Turn) -> Reply:
        self.calls.append(turn.conversation_id)
        if self.fail_on and self.fail_on in turn.text:
            raise RuntimeError("boom")
        if "crash" in turn.text:
            from dialogues.catalogue import INTERNAL_ERROR

            return Reply(kind="fallback", lead=[INTERNAL_ERROR], text=INTERNAL_ERROR)
        slots = self.slots.setdefault(turn.conversation_id, {"drug": None, "sstr_status": None})
        text = turn.text.lower()
        entities: List[Entity] = []
        for drug in ("lanreotide", "octreotide", "metformin"):
            if drug in text or (drug == "lanreotide" and "somatuline" in text):
                value = "unknown" if drug == "metformin" else drug
                entities.append(Entity(entity="drug", value=value, text=drug))
        if "new case" in text:
            self.slots[turn.conversation_id] = {"drug": None, "sstr_status": None}
            return Reply(kind="smalltalk", intent=IntentScore(name="reset", confidence=0.99), text="Starting a new case.",
                         slots=dict(self.slots[turn.conversation_id]))
        if any(e.value == "unknown" for e in entities):
            return Reply(kind="fallback", intent=IntentScore(name="dosing", confidence=0.9), entities=entities,
                         slots=dict(slots), text="My knowledge base has nothing on that. I won't guess a dose.")
        known = [e.value for e in entities]
        if known:
            slots["drug"] = known[0]
        if "dose" in text or "given" in text or self.pending.get(turn.conversation_id) and known:
            self.pending[turn.conversation_id] = False
            if not slots["drug"]:
                self.pending[turn.conversation_id] = True
                return Reply(kind="clarify", intent=IntentScore(name="dosing", confidence=0.95), entities=entities,
                             slots=dict(slots), text="Which drug do you mean? I have dosing statements for lanreotide or octreotide.",
                             suggestions=["lanreotide", "octreotide"])
            ids = ["lanreotide-label-dosage", "guidelines-initial-ssa-dosing"] if slots["drug"] == "lanreotide" \
                else ["guidelines-initial-ssa-dosing"]
            statements = [STATEMENTS[i] for i in ids]
            body = "\n".join(f"> {s.text} ({s.citation})" for s in statements)
            return Reply(kind="answer", intent=IntentScore(name="dosing", confidence=0.97), entities=entities,
                         slots=dict(slots), statements=statements, text=f"{slots['drug'].capitalize()}: dosing\n{body}\n{SAFETY}",
                         safety=SAFETY, suggestions=["How often?"])
        return Reply(kind="fallback", intent=IntentScore(name="out_of_scope", confidence=0.6), entities=entities,
                     slots=dict(slots), text="That is outside what I can answer.")

    async def reset(self, conversation_id: str) -> None:
        self.resets.append(conversation_id)
        self.slots.pop(conversation_id, None)

    async def close(self) -> None:
        pass
