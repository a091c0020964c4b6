"""How every renderer groups quoted statements by source (dialogues/compose.grouped_by_source)."""
from __future__ import annotations

from dialogues.compose import grouped_by_source
from dialogues.types import CitedStatement, SourceRef
from knowledge.schema import SOURCE_HEADINGS, SourceKind


def _statement(number: int, kind: str) -> CitedStatement:
    return CitedStatement(id=f"s{number}", text=f"Statement {number}.", citation=f"ref. {number}",
                          source=SourceRef(kind=kind, title="A source"))


def test_known_kinds_come_in_heading_order_and_unknown_ones_after_with_a_made_up_heading() -> None:
    statements = [_statement(1, "research"), _statement(2, "case_note"), _statement(3, "guideline"),
                  _statement(4, "research")]
    groups = grouped_by_source(statements)
    assert [(kind, heading, [s.id for s in group]) for kind, heading, group in groups] == [
        ("guideline", SOURCE_HEADINGS[SourceKind.guideline], ["s3"]),
        ("research", SOURCE_HEADINGS[SourceKind.research], ["s1", "s4"]),
        ("case_note", "Case note", ["s2"]),
    ]


def test_no_statements_no_groups() -> None:
    assert grouped_by_source([]) == []
