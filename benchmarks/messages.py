"""The questions every benchmark sends: what a care team asks about this case, as conversations.

Thirty messages in twelve short conversations: dosing by generic and brand name, procedures,
next steps after progression, monitoring, case facts that change what applies, follow-ups that
lean on the previous turn, corrections, a drug outside the knowledge base, small talk and an
off-topic question. Every one goes through the NLU: commands that skip it ("new case") and empty
messages are left out, so carebot gets no shortcut that bare Rasa does not.
"""
from __future__ import annotations

from typing import List, Tuple

CONVERSATIONS: Tuple[Tuple[str, ...], ...] = (
    ("what's the lanreotide dose?", "and how is it given?", "sorry, I meant octreotide"),
    ("What does TACE involve?", "what are the alternatives to TACE?"),
    ("she's SSTR positive", "what are the next steps?", "is PRRT an option?"),
    ("how often should CgA and imaging be checked?", "what monitoring is recommended on everolimus?"),
    ("hi", "what can you do?", "thanks"),
    ("metformin dose?", "what about sunitinib dosing?"),
    ("disease progressed on lanreotide, what now?", "is everolimus an option?", "everolimus dose"),
    ("how is lutathera given?", "dose of Lu-177 dotatate?"),
    ("liver mets are unresectable", "what about RFA?", "explain TARE"),
    ("somatuline dose pls", "q4w?"),
    ("what imaging for follow up?", "chromogranin a every 3 months?"),
    ("what's the weather like today?", "ok, what are the options if it progresses?", "thank you"),
)


def all_messages() -> List[str]:
    return [text for conversation in CONVERSATIONS for text in conversation]
