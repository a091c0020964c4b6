"""`audit show` rebuilds what a turn showed from the knowledge base at that turn's version, also
after the knowledge base changed (old versions stay addressable as content-addressed snapshots)."""
from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from audit.snapshot import kb_snapshot
from audit.sqlite_store import SQLiteAuditStore
from audit.trail import AuditTrail
from dialogues.types import Turn
from knowledge import Topic, default_knowledge, load_knowledge
from knowledge.loader import DATA_DIR
from tests.audit.cli import carebot, environment
from tests.audit.conftest import KEY, answer

OLD = "The recommended dosage of Lanreotide Injection is 120 mg administered every 4 weeks"
NEW = "The recommended dosage of Lanreotide Injection is 120 mg given every 28 days"


def changed_knowledge(tmp_path: Path):
    """A copy of the knowledge base with one statement reworded and one removed."""
    data = tmp_path / "kb"
    shutil.copytree(DATA_DIR, data)
    seed = data / "statements" / "seed-000.yml"
    text = seed.read_text(encoding="utf-8")
    assert OLD in text
    seed.write_text(text.replace("administered every 4 weeks by deep", "given every 28 days by deep"), encoding="utf-8")
    return load_knowledge(statements_dir=data / "statements", lexicon_path=data / "lexicon.yml")


async def record(state: Path, kb, reply, model: str) -> str:
    trail = AuditTrail(SQLiteAuditStore(state), kb, model, KEY)
    audit_id = await trail.record_turn(Turn(text="", conversation_id="C1", user="U1", platform="slack"), reply, 5.0)
    await trail.close()
    return audit_id


def test_show_rebuilds_each_turn_from_its_own_knowledge_version(tmp_path: Path, monkeypatch, capsys) -> None:
    state = tmp_path / "state.db"
    old_kb, new_kb = default_knowledge(), changed_knowledge(tmp_path)
    assert kb_snapshot(old_kb).version != kb_snapshot(new_kb).version
    old_id = asyncio.run(record(state, old_kb, answer(old_kb, Topic.dosing, "lanreotide"), "model-a"))
    new_id = asyncio.run(record(state, new_kb, answer(new_kb, Topic.dosing, "lanreotide"), "model-b"))
    environment(monkeypatch, state)

    code, out, err = carebot(capsys, "audit", "show", old_id)
    assert code == 0, err
    assert OLD in out and NEW not in out
    assert "[lanreotide-label-dosage] FDA drug label:" in out and "(FDA drug label, evidence brief 1)" in out
    assert kb_snapshot(old_kb).version in out and "model-a" in out and "drug=lanreotide" in out
    assert "caveat: Applies if" in out

    code, out, err = carebot(capsys, "audit", "show", new_id)
    assert code == 0, err
    assert NEW in out and OLD not in out and kb_snapshot(new_kb).version in out

    code, out, _ = carebot(capsys, "audit", "show", "last")
    assert code == 0 and new_id in out


def test_show_names_what_it_cannot_rebuild(tmp_path: Path, monkeypatch, capsys) -> None:
    state = tmp_path / "state.db"
    kb = default_knowledge()
    audit_id = asyncio.run(record(state, kb, answer(kb, Topic.dosing, "lanreotide"), "m"))
    environment(monkeypatch, state)
    code, _, err = carebot(capsys, "audit", "show", "0123456789abcdef")
    assert code == 1 and "no audit record with id '0123456789abcdef'" in err
    import sqlite3

    db = sqlite3.connect(state)
    db.execute("DROP TRIGGER audit_kb_snapshots_kept")
    db.execute("DELETE FROM audit_kb_snapshots")
    db.commit()
    db.close()
    code, out, err = carebot(capsys, "audit", "show", audit_id)
    assert code == 1 and "is not in the store" in err and "lanreotide-label-dosage" in out


def test_show_without_an_audit_trail_exits_1(tmp_path: Path, monkeypatch, capsys) -> None:
    environment(monkeypatch, tmp_path / "nothing-here.db")
    code, _, err = carebot(capsys, "audit", "show", "last")
    assert code == 1 and "no audit trail" in err
    assert not (tmp_path / "nothing-here.db").exists()
