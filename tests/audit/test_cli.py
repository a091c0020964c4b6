"""The commands an inspector runs, with their exit codes: 0 ok, 1 a failure found, 2 bad usage."""
from __future__ import annotations

import asyncio
import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest

from audit.chain import record_hash
from audit.retention import DAY
from audit.sqlite_store import SQLiteAuditStore
from tests.audit.cli import carebot, environment
from tests.audit.conftest import write

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z


@pytest.fixture
def state(tmp_path: Path, monkeypatch, kb) -> Path:
    """48 records, one every 6 hours from T0 (2023-11-14 22:13 UTC to 2023-11-26 16:13 UTC)."""
    path = tmp_path / "state.db"

    async def fill() -> None:
        store = SQLiteAuditStore(path)
        await write(store, kb, 48, start_at=T0, step=DAY / 4)
        await store.close()

    asyncio.run(fill())
    environment(monkeypatch, path)
    return path


def test_verify_exit_codes(state: Path, capsys) -> None:
    code, out, _ = carebot(capsys, "audit", "verify")
    assert code == 0 and "audit trail intact: 48 record(s) from seq 1 to seq 48" in out
    head = out.split("hash ")[-1].strip()
    assert carebot(capsys, "audit", "verify", "--head", head)[0] == 0
    db = sqlite3.connect(state, isolation_level=None)
    db.execute("DROP TRIGGER audit_records_append_only")
    record = json.loads(db.execute("SELECT record FROM audit_records WHERE seq = 17").fetchone()[0])
    record["kind"] = "clarify"  # what the bot did, rewritten
    db.execute("UPDATE audit_records SET record = ? WHERE seq = 17", (json.dumps(record),))
    db.close()
    code, out, _ = carebot(capsys, "audit", "verify")
    assert code == 1 and "BROKEN" in out and "record seq 17" in out and "was changed" in out


def test_verify_on_a_missing_trail_exits_1(tmp_path: Path, monkeypatch, capsys) -> None:
    environment(monkeypatch, tmp_path / "none.db")
    code, _, err = carebot(capsys, "audit", "verify")
    assert code == 1 and "no audit trail" in err


def test_export_jsonl_round_trips_and_reverifies(state: Path, capsys) -> None:
    code, out, _ = carebot(capsys, "audit", "export")
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["seq"] for r in records] == list(range(1, 49))
    assert all(record_hash(r) == r["hash"] for r in records)
    assert all(b["prev"] == a["hash"] for a, b in zip(records, records[1:]))


def test_export_filters_by_date_and_time(state: Path, capsys, tmp_path: Path) -> None:
    def seqs(*period: str) -> list:
        code, out, err = carebot(capsys, "audit", "export", *period)
        assert code == 0, err
        return [json.loads(line)["seq"] for line in out.splitlines()]

    day = seqs("--since", "2023-11-16", "--until", "2023-11-16")  # one whole UTC day: 4 records
    assert len(day) == 4
    assert all(json.loads(line)["at"].startswith("2023-11-16") for line in
               carebot(capsys, "audit", "export", "--since", "2023-11-16", "--until", "2023-11-16")[1].splitlines())
    assert seqs("--since", "2023-11-26") == [46, 47, 48]
    assert seqs("--until", "2023-11-14") == [1]
    assert seqs("--since", "2023-11-15T04:13:20Z", "--until", "2023-11-15T10:13:20Z") == [2]  # until is exclusive
    assert seqs("--since", "2030-01-01") == []
    target = tmp_path / "out.csv"
    code, _, err = carebot(capsys, "audit", "export", "--format", "csv", "--since", "2023-11-16", "--until",
                           "2023-11-16", "--output", str(target))
    assert code == 0 and "exported 4 record(s)" in err
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert [int(r["seq"]) for r in rows] == day
    assert set(rows[0]) >= {"seq", "id", "at", "platform", "conversation", "kind", "intent", "statements", "kb_version",
                            "hash", "prev"}


def test_bad_usage_exits_2(state: Path, capsys) -> None:
    assert carebot(capsys, "audit", "export", "--since", "last tuesday")[0] == 2
    assert carebot(capsys, "audit", "export", "--format", "xml")[0] == 2
    assert carebot(capsys, "audit")[0] == 2
    assert carebot(capsys, "audit", "pseudonym")[0] == 2
    assert carebot(capsys, "feedback", "report", "--top", "0")[0] == 2


def test_stats(state: Path, capsys) -> None:
    code, out, _ = carebot(capsys, "audit", "stats", "--json")
    assert code == 0
    stats = json.loads(out)
    assert stats["turns"] == 48 and sum(stats["per_day"].values()) == 48
    assert sum(stats["kinds"].values()) == 48
    assert stats["fallback_rate"] == round(stats["kinds"].get("fallback", 0) / 48, 4)
    counts = [item["count"] for item in stats["most_quoted"]]
    assert counts == sorted(counts, reverse=True) and len(counts) == 10
    code, out, _ = carebot(capsys, "audit", "stats", "--since", "2023-11-16", "--until", "2023-11-16", "--json")
    assert json.loads(out)["turns"] == 4 and json.loads(out)["per_day"] == {"2023-11-16": 4}
    code, out, _ = carebot(capsys, "audit", "stats")
    assert code == 0 and "fallback rate" in out and "most-quoted statements" in out and "2023-11-14" in out


def test_purge_command(state: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("CAREBOT_AUDIT_RETENTION_DAYS", "1")  # everything is older than a day by now
    code, out, _ = carebot(capsys, "audit", "purge", "--dry-run")
    assert code == 0 and "48 record(s)" in out and "would be removed" in out
    code, out, _ = carebot(capsys, "audit", "purge")
    assert code == 0 and "removed 48 record(s)" in out
    code, out, _ = carebot(capsys, "audit", "verify")
    assert code == 0 and "anchored by a purge" in out
    assert "nothing to purge" in carebot(capsys, "audit", "purge")[1]


def test_pseudonym_command_resolves_like_the_records(state: Path, capsys, kb) -> None:
    from audit.pseudonym import Pseudonymizer
    from tests.audit.conftest import KEY

    code, out, _ = carebot(capsys, "audit", "pseudonym", "--user", "U3")
    assert code == 0 and Pseudonymizer(KEY.secret)("user", "U3") in out
    code, out, _ = carebot(capsys, "audit", "export")
    assert Pseudonymizer(KEY.secret)("user", "U3") in out  # the records were written under the same key


def test_a_short_key_is_refused(state: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("CAREBOT_AUDIT_KEY", "s3cr3t")
    code, _, err = carebot(capsys, "audit", "pseudonym", "--user", "U3")
    assert code == 2 and "CAREBOT_AUDIT_KEY is too short" in err and "s3cr3t" not in err


def test_without_a_key_the_dev_key_is_used_and_said_once(tmp_path: Path, monkeypatch, capsys) -> None:
    import audit.settings as settings

    environment(monkeypatch, tmp_path / "state.db")
    monkeypatch.delenv("CAREBOT_AUDIT_KEY")
    monkeypatch.setattr(settings, "_announced", False)
    code, first, err = carebot(capsys, "audit", "pseudonym", "--user", "U3")
    assert code == 0 and "CAREBOT_AUDIT_KEY is not set" in err and "audit-dev.key" in err
    code, second, err = carebot(capsys, "audit", "pseudonym", "--user", "U3")
    assert first == second and err == ""  # the same dev key, said once per process
    assert (tmp_path / "audit-dev.key").stat().st_mode & 0o077 == 0


def test_a_file_that_is_not_a_database_exits_2(tmp_path: Path, monkeypatch, capsys) -> None:
    (tmp_path / "state.db").write_text("not a database " * 100)
    environment(monkeypatch, tmp_path / "state.db")
    code, _, err = carebot(capsys, "audit", "verify")
    assert code == 2 and "cannot read the audit trail" in err
