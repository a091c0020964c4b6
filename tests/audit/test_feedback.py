"""`carebot feedback report`: statements and intents by not-helpful rate, with counts and reasons,
joined to the audit trail for the intent, and a PNG chart."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import List

from audit.feedback import NO_AUDIT_RECORD, build_report
from audit.sqlite_store import SQLiteAuditStore
from audit.trail import AuditTrail
from dialogues.store import Feedback, SQLiteStore
from dialogues.types import Turn
from knowledge import Topic
from tests.audit.cli import carebot, environment
from tests.audit.conftest import KEY, answer

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


async def _fill(path: Path, kb) -> dict:
    """Answers audited, then votes on them: lanreotide dosing disliked, TACE liked."""
    trail = AuditTrail(SQLiteAuditStore(path), kb, "m", KEY)
    dosing = answer(kb, Topic.dosing, "lanreotide")
    tace = answer(kb, Topic.procedure_explanation, "tace", intent="procedure_explanation")
    state = SQLiteStore(path, ttl_seconds=3600)
    votes = [(dosing, False, "wrong_statement")] * 3 + [(dosing, False, "too_long"), (dosing, True, None)] \
        + [(tace, True, None)] * 4 + [(tace, False, "did_not_understand")]
    for i, (reply, helpful, reason) in enumerate(votes):
        audit_id = await trail.record_turn(Turn(text="", conversation_id=f"C{i}", user=f"U{i}"), reply, 2.0)
        await state.add_feedback(Feedback(f"C{i}", tuple(reply.statement_ids), helpful, f"U{i}", reason, audit_id))
    # feedback on an answer with no audit record (from before the audit trail existed)
    await state.add_feedback(Feedback("C99", tuple(tace.statement_ids), False, "U99", "missing_information", None))
    await trail.close()
    await state.close()
    return {"dosing": dosing.statement_ids, "tace": tace.statement_ids}


def test_the_report_ranks_statements_and_intents(tmp_path: Path, monkeypatch, capsys, kb) -> None:
    state = tmp_path / "state.db"
    ids = asyncio.run(_fill(state, kb))
    environment(monkeypatch, state)
    chart = tmp_path / "reports" / "feedback.png"

    code, out, err = carebot(capsys, "feedback", "report", "--json", "--output", str(chart))
    assert code == 0, err
    report = json.loads(out)
    assert report["feedback"] == 11 and report["without_audit_record"] == 1
    statements = report["statements"]
    rates = [s["not_helpful_rate"] for s in statements]
    assert rates == sorted(rates, reverse=True)
    top = statements[0]
    dosing_only = set(ids["dosing"]) - set(ids["tace"])
    assert top["statement"] in dosing_only
    assert (top["not_helpful"], top["total"]) == (4, 5)
    assert top["reasons"] == {"wrong_statement": 3, "too_long": 1}
    intents = {row["intent"]: row for row in report["intents"]}
    assert intents["dosing"]["not_helpful"] == 4 and intents["dosing"]["total"] == 5
    assert intents["procedure_explanation"]["reasons"] == {"did_not_understand": 1}
    assert intents[NO_AUDIT_RECORD]["reasons"] == {"missing_information": 1}
    assert chart.read_bytes()[:8] == PNG_MAGIC and chart.stat().st_size > 5000

    code, out, _ = carebot(capsys, "feedback", "report", "--output", str(chart))
    assert code == 0 and "Statements by not-helpful rate" in out and "wrong_statement 3" in out
    assert "SQLite" in out and str(chart) in out


def test_the_default_chart_path(tmp_path: Path, monkeypatch, capsys, kb) -> None:
    asyncio.run(_fill(tmp_path / "state.db", kb))
    environment(monkeypatch, tmp_path / "state.db")
    monkeypatch.chdir(tmp_path)
    code, out, _ = carebot(capsys, "feedback", "report")
    assert code == 0 and (tmp_path / "reports" / "feedback.png").read_bytes()[:8] == PNG_MAGIC


def test_no_feedback_yet(tmp_path: Path, monkeypatch, capsys) -> None:
    environment(monkeypatch, tmp_path / "state.db")
    code, out, _ = carebot(capsys, "feedback", "report", "--output", str(tmp_path / "f.png"))
    assert code == 0 and "No feedback yet." in out and (tmp_path / "f.png").is_file()
    assert not (tmp_path / "state.db").exists()  # reading creates nothing


def test_min_count_and_unknown_reasons() -> None:
    votes: List[Feedback] = [Feedback("C", ("a",), False, reason="wrong_statement", audit_id="x"),
                             Feedback("C", ("b",), False, reason="Jane Roe was upset", audit_id="y"),
                             Feedback("C", ("b",), True, audit_id="y")]
    report = build_report(votes, {"x": "dosing", "y": None})
    assert [k for k, _ in report.ranked("statements")] == ["a", "b"]
    assert [k for k, _ in report.ranked("statements", min_count=2)] == ["b"]
    assert dict(report.statements["b"].reasons) == {"no_reason": 1}  # never a free-text reason
    assert "Jane" not in json.dumps(report.as_json())
