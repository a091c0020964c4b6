"""The hash chain: 1,000 records verify; any changed field, removed record or swapped pair fails
and names the record. Property-style: every field of every record, every position."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, Dict, List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.chain import GENESIS, canonical_json, record_hash, seal
from audit.sqlite_store import SQLiteAuditStore
from audit.store import Head, Stored
from audit.verify import verify_records, verify_store
from tests.audit.conftest import bodies, write


def chain(records_bodies: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Seal bodies into a chain in memory, as a store does."""
    records, prev = [], GENESIS
    for seq, body in enumerate(records_bodies, start=1):
        record, _ = seal(body, seq, prev)
        records.append(record)
        prev = record["hash"]
    return records


def stored(records: List[Dict[str, Any]]) -> List[Stored]:
    return [Stored(where=f"position {i}", raw=canonical_json(r)) for i, r in enumerate(records)]


def head_of(records: List[Dict[str, Any]]) -> Head:
    return Head(records[-1]["seq"], records[-1]["id"], records[-1]["hash"])


@pytest.fixture(scope="module")
def small_chain(kb) -> List[Dict[str, Any]]:
    return chain(bodies(kb, 30))


async def test_a_thousand_records_verify(sqlite_store: SQLiteAuditStore, kb) -> None:
    written = await write(sqlite_store, kb, 1000)
    assert [r["seq"] for r in written] == list(range(1, 1001))
    verdict = await verify_store(sqlite_store)
    assert verdict.ok, verdict.problems[:3]
    assert verdict.checked == 1000 and verdict.first_seq == 1 and verdict.head.seq == 1000


def _changed(value: Any) -> Any:
    """A different value of the same JSON shape (or another shape: both must be caught)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value + 0.5
    if isinstance(value, str):
        return value[:-1] + ("0" if value[-1:] != "0" else "1") if value else "x"
    if isinstance(value, list):
        return value[:-1] if value else ["x"]
    if isinstance(value, dict):
        return {**value, "x": "y"} if not value else {k: _changed(v) for k, v in value.items()}
    return "changed" if value is None else None


def test_changing_any_field_of_any_record_fails_naming_it(small_chain) -> None:
    """Exhaustive over the small chain: every record, every field."""
    assert verify_records(stored(small_chain), head_of(small_chain)).ok
    for index, record in enumerate(small_chain):
        for field in record:
            tampered = [dict(r) for r in small_chain]
            tampered[index][field] = _changed(record[field])
            verdict = verify_records(stored(tampered), head_of(small_chain))
            assert not verdict.ok, (index, field)
            first = verdict.first_problem
            assert first.position == index, (index, field, first.message)
            assert f"seq {record['seq']}" in first.message or f"seq {tampered[index]['seq']}" in first.message


def test_resealing_a_changed_record_is_caught_at_the_next_link(small_chain) -> None:
    """Someone who recomputes the changed record's hash still breaks the next record's prev."""
    tampered = [dict(r) for r in small_chain]
    tampered[10]["kind"] = "answer" if tampered[10]["kind"] != "answer" else "fallback"
    tampered[10]["hash"] = record_hash(tampered[10])
    verdict = verify_records(stored(tampered), head_of(small_chain))
    assert not verdict.ok
    assert "seq 12" in verdict.first_problem.message and "seq 11" in verdict.first_problem.message


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_property_any_change_anywhere_in_a_long_chain(long_chain, data) -> None:
    records, rows = long_chain
    index = data.draw(st.integers(0, len(records) - 1), label="record")
    field = data.draw(st.sampled_from(sorted(records[index])), label="field")
    tampered = list(rows)
    tampered[index] = stored([{**records[index], field: _changed(records[index][field])}])[0]
    verdict = verify_records(tampered, head_of(records))
    assert not verdict.ok and verdict.first_problem.position == index


@pytest.fixture(scope="module")
def long_chain(kb) -> tuple:
    records = chain(bodies(kb, 1000, seed=11))
    return records, stored(records)


def test_removing_any_record_fails_naming_it(small_chain) -> None:
    head = head_of(small_chain)
    for index, record in enumerate(small_chain):
        remaining = small_chain[:index] + small_chain[index + 1:]
        verdict = verify_records(stored(remaining), head)
        assert not verdict.ok, index
        message = verdict.first_problem.message
        if index == len(small_chain) - 1:
            assert f"record seq {record['seq']} (id {record['id']}) is missing" in message
        elif index == 0:
            assert "record seq 2" in message and "up to seq 1 were removed" in message
        else:
            assert f"expected seq {record['seq']}" in message, message


def test_swapping_any_two_records_fails_naming_them(small_chain) -> None:
    head = head_of(small_chain)
    for i in range(len(small_chain)):
        for j in range(i + 1, len(small_chain)):
            swapped = list(small_chain)
            swapped[i], swapped[j] = swapped[j], swapped[i]
            verdict = verify_records(stored(swapped), head)
            assert not verdict.ok, (i, j)
            first = verdict.first_problem
            assert first.position == i, (i, j, first.message)
            assert f"seq {small_chain[j]['seq']}" in first.message


def test_records_that_are_not_json_or_lack_fields_are_named(small_chain) -> None:
    rows = stored(small_chain)
    rows[3] = Stored(where="position 3", raw="{not json")
    verdict = verify_records(rows, head_of(small_chain))
    assert "position 3 is not valid JSON" in verdict.first_problem.message
    broken = [dict(r) for r in small_chain]
    del broken[5]["prev"]
    verdict = verify_records(stored(broken), head_of(small_chain))
    assert "field 'prev'" in verdict.first_problem.message and verdict.first_problem.position == 5


# --- the same, in SQLite, the way someone with the file would do it ---------------------------------

def _raw(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    return db


async def test_the_store_refuses_updates_and_deletes(tmp_path: Path, kb) -> None:
    store = SQLiteAuditStore(tmp_path / "state.db")
    await write(store, kb, 5)
    db = _raw(tmp_path / "state.db")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE audit_records SET at = 0 WHERE seq = 2")
    with pytest.raises(sqlite3.IntegrityError, match="only by a purge"):
        db.execute("DELETE FROM audit_records WHERE seq = 2")
    with pytest.raises(sqlite3.IntegrityError, match="head moved"):  # an INSERT that does not link to the head
        db.execute("INSERT INTO audit_records(seq, id, at, type, prev, hash, record) VALUES (9, 'x', 0, 'turn', "
                   "'p', 'h', '{}')")
    db.close()
    assert (await verify_store(store)).ok
    await store.close()


def _without_guards(path: Path) -> sqlite3.Connection:
    """What someone who wants to hide a change does first."""
    db = _raw(path)
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_records'"):
        db.execute(f"DROP TRIGGER {name}")
    return db


@pytest.mark.parametrize("field", ["kind", "statements", "intent", "facts", "conversation", "kb_version", "at",
                                   "latency_ms", "prev", "hash"])
async def test_editing_the_file_is_detected(tmp_path: Path, kb, field: str) -> None:
    store = SQLiteAuditStore(tmp_path / "state.db")
    records = await write(store, kb, 20)
    db = _without_guards(tmp_path / "state.db")
    record = dict(records[7])
    record[field] = _changed(record[field])
    db.execute("UPDATE audit_records SET record = ? WHERE seq = 8", (json.dumps(record),))
    db.close()
    verdict = await verify_store(store)
    assert not verdict.ok and "record seq 8" in verdict.first_problem.message
    await store.close()


async def test_deleting_or_reordering_rows_in_the_file_is_detected(tmp_path: Path, kb) -> None:
    store = SQLiteAuditStore(tmp_path / "state.db")
    await write(store, kb, 20)
    db = _without_guards(tmp_path / "state.db")
    db.execute("DELETE FROM audit_records WHERE seq = 12")
    verdict = await verify_store(store)
    assert "expected seq 12" in verdict.first_problem.message and "record seq 13" in verdict.first_problem.message
    db.execute("DELETE FROM audit_records WHERE seq >= 13")  # and now the newest: the head still names seq 20
    verdict = await verify_store(store)
    assert any("record seq 20" in p.message and "is missing" in p.message for p in verdict.problems)
    # swap the contents of two rows (their seq columns stay)
    (a,), (b,) = db.execute("SELECT record FROM audit_records WHERE seq IN (3, 6) ORDER BY seq").fetchall()
    db.execute("UPDATE audit_records SET record = ? WHERE seq = 3", (b,))
    db.execute("UPDATE audit_records SET record = ? WHERE seq = 6", (a,))
    verdict = await verify_store(store)
    assert verdict.first_problem.position == 2 and "record seq 6" in verdict.first_problem.message
    db.close()
    await store.close()


async def test_a_head_hash_kept_elsewhere_catches_a_rewritten_tail(tmp_path: Path, kb) -> None:
    """Removing the newest record and moving the head marker back passes the chain checks; a hash
    noted earlier (a previous verify, the JSON log) does not."""
    store = SQLiteAuditStore(tmp_path / "state.db")
    records = await write(store, kb, 10)
    noted = records[-1]["hash"]
    assert (await verify_store(store, expect_hash=noted)).ok
    db = _without_guards(tmp_path / "state.db")
    db.execute("DELETE FROM audit_records WHERE seq = 10")
    db.execute("UPDATE audit_head SET seq = 9, id = ?, hash = ?", (records[8]["id"], records[8]["hash"]))
    db.close()
    assert (await verify_store(store)).ok
    verdict = await verify_store(store, expect_hash=noted)
    assert not verdict.ok and noted in verdict.first_problem.message
    await store.close()


async def test_two_processes_sharing_the_file_keep_one_chain(tmp_path: Path, kb) -> None:
    first, second = SQLiteAuditStore(tmp_path / "state.db"), SQLiteAuditStore(tmp_path / "state.db")
    made = bodies(kb, 40)
    await write(first, kb, 0)
    for i in range(0, 40, 2):
        await first.append_many([made[i]])
        await second.append_many([made[i + 1]])
    verdict = await verify_store(first)
    assert verdict.ok and verdict.checked == 40
    await first.close()
    await second.close()


async def test_a_changed_snapshot_is_detected(tmp_path: Path, kb, trail) -> None:
    from tests.audit.conftest import sample_replies
    from dialogues.types import Turn

    await trail.record_turn(Turn(text="", conversation_id="C1"), sample_replies(kb)[0], 4.0)
    await trail.flush()
    assert (await verify_store(trail.store)).ok
    db = _raw(Path(trail.store.path))
    db.execute("DROP TRIGGER audit_kb_snapshots_append_only")
    db.execute("UPDATE audit_kb_snapshots SET payload = replace(payload, '120 mg', '210 mg')")
    db.close()
    verdict = await verify_store(trail.store)
    assert not verdict.ok and "snapshot" in verdict.first_problem.message and "was changed" in verdict.first_problem.message
