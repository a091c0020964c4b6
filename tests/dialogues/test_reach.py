"""`kb check`'s reachability: every statement is quoted by some question, asked of the real policy."""
from __future__ import annotations

from dialogues.reach import unreachable
from knowledge import default_knowledge
from knowledge.query import KnowledgeBase
from knowledge.schema import Topic


def test_every_shipped_statement_is_reachable() -> None:
    assert unreachable(default_knowledge()) == []


def test_a_statement_no_question_quotes_is_reported() -> None:
    kb = default_knowledge()
    cga = kb.get("guidelines-monitoring-cga-imaging")
    # a dosing statement about a test: dosing questions need a drug, so nothing can quote it
    stranded = cga.copy(update={"id": "stranded-statement", "topics": [Topic.dosing], "entities": ["chromogranin-a"]})
    assert unreachable(KnowledgeBase([*kb.statements, stranded], kb.lexicon)) == ["stranded-statement"]
