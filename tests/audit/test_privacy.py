"""Privacy proof: messages holding a made-up name, MRN and date of birth go through the engine (as
the terminal chat and the Slack edge send them); none of those strings appears in any audit record,
export (JSON lines and CSV), stats, reconstruction, feedback record, the JSON audit log, a log line,
or anywhere in the state file."""
from __future__ import annotations

import asyncio
import json
import logging
import re
from pathlib import Path
from typing import List

import pytest

from audit.jsonlog import JsonLineLog
from audit.sqlite_store import SQLiteAuditStore
from audit.trail import AuditTrail, fingerprint_of
from bot.logs import configure_logging
from dialogues.engine import Engine
from dialogues.settings import CoreSettings
from dialogues.store import Feedback, SQLiteStore
from dialogues.types import ReplyKind, Turn
from knowledge import default_knowledge
from tests.audit.cli import carebot, environment
from tests.audit.conftest import KEY

NAME, MRN, DOB = "Jane Roe", "12345678", "1961-04-02"
MESSAGES = [
    f"{NAME} MRN {MRN} born {DOB}, what is the lanreotide dose?",
    f"{NAME} (MRN {MRN}, DOB 02/04/1961) progressed on lanreotide, what are the next steps?",
    f"lanreotide 90 mg ok for {NAME} {MRN}?",  # a figure the reply says back: "You wrote 90 mg ..."
    f"Roe, Jane MRN{MRN} DOB {DOB} is on Quillfeatherol, what dose of octreotide?",
    f"{NAME} {DOB}",
    f"what does TACE involve for {NAME}? she is SSTR positive, MRN {MRN}",
]
# Every form of the identifiers; `1961` only as a number of its own (hex hashes may contain it).
FORBIDDEN = [re.compile(p, re.IGNORECASE) for p in
             (r"\bjane\b", r"\broe\b", MRN, re.escape(DOB), r"02/04/1961", r"\b1961\b", r"quillfeather")]


def leaks(text: str) -> List[str]:
    return [p.pattern for p in FORBIDDEN if p.search(text)]


@pytest.fixture
def audited(parser, tmp_path: Path):
    """An engine with an audit trail on the state file, and a JSON-line copy of every record."""
    settings = CoreSettings(state_path=tmp_path / "state.db")
    store = SQLiteStore(settings.state_path, ttl_seconds=3600)
    trail = AuditTrail(SQLiteAuditStore(settings.state_path), default_knowledge(), fingerprint_of(parser.model), KEY,
                       json_log=JsonLineLog(str(tmp_path / "audit.jsonl")))
    return Engine(parser, default_knowledge(), store, settings, audit=trail), trail, store


async def test_no_identifier_is_recorded_anywhere(audited, tmp_path: Path, caplog, capfd) -> None:
    engine, trail, store = audited
    configure_logging("DEBUG")  # the most carebot ever logs (libraries stay capped, see bot.logs)
    caplog.set_level(logging.DEBUG)
    try:
        replies = []
        for i, text in enumerate(MESSAGES):
            platform = "slack" if i % 2 else "cli"
            conversation = f"D-ward{i // 2}"  # two messages per conversation
            reply = await engine.handle(Turn(text=text, conversation_id=conversation, user="U-resident",
                                             platform=platform))
            replies.append(reply)
            if reply.statements:  # the buttons under an answer, as the edges add them
                await store.add_feedback(Feedback(conversation, tuple(reply.statement_ids), False, "U-resident",
                                                  "wrong_statement", reply.audit_id))
        await trail.flush()
    finally:
        configure_logging()

    # the messages were answered (the proof is about real answers, quoting real statements)
    assert all(r.audit_id for r in replies)
    assert sum(r.kind is ReplyKind.answer for r in replies) >= 3
    # a reply may say the user's own words back ("You wrote 90 mg ..."); a record never holds them
    echoed = [line for r in replies for line in r.lead if line.startswith("You wrote")]
    assert echoed

    records = [json.loads(s.raw) async for s in trail.store.scan()]
    assert len(records) == len(MESSAGES)
    for record in records:
        assert leaks(json.dumps(record)) == [], record["id"]
        assert "You wrote" not in json.dumps(record) and "90 mg" not in json.dumps(record)
    assert {r["id"] for r in records} == {r.audit_id for r in replies}

    log_copy = (tmp_path / "audit.jsonl").read_text()
    assert len(log_copy.splitlines()) == len(MESSAGES) and leaks(log_copy) == []

    feedback = store.feedback()
    assert feedback and all(leaks(repr(f)) == [] for f in feedback)

    assert [r.getMessage() for r in caplog.records if r.name.startswith("carebot")], "nothing was logged"
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.args}" for r in caplog.records)
    out, err = capfd.readouterr()
    assert leaks(logged) == [] and leaks(err) == []

    await trail.close()
    await store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("state.db*"))
    for needle in (NAME.encode(), b"Roe", b"Jane", MRN.encode(), DOB.encode(), b"02/04/1961", b"Quillfeather"):
        assert needle not in raw, needle


def test_exports_and_reports_hold_no_identifier(parser, tmp_path: Path, monkeypatch, capsys) -> None:
    async def run() -> None:
        settings = CoreSettings(state_path=tmp_path / "state.db")
        store = SQLiteStore(settings.state_path, ttl_seconds=3600)
        trail = AuditTrail(SQLiteAuditStore(settings.state_path), default_knowledge(), "m", KEY)
        engine = Engine(parser, default_knowledge(), store, settings, audit=trail)
        for text in MESSAGES:
            reply = await engine.handle(Turn(text=text, conversation_id="C-ward4", user="U-res", platform="slack"))
            await store.add_feedback(Feedback("C-ward4", tuple(reply.statement_ids), False, "U-res", "too_long",
                                              reply.audit_id))
        await trail.close()
        await store.close()

    asyncio.run(run())
    environment(monkeypatch, tmp_path / "state.db")
    outputs = []
    for argv in (("audit", "export"), ("audit", "export", "--format", "csv"), ("audit", "stats"),
                 ("audit", "stats", "--json"), ("audit", "show", "last"), ("audit", "verify"),
                 ("feedback", "report", "--output", str(tmp_path / "f.png")), ("feedback", "report", "--json",
                                                                                "--output", str(tmp_path / "f.png"))):
        code, out, err = carebot(capsys, *argv)
        assert code == 0, (argv, err)
        outputs.append(out + err)
    assert len(outputs[0].splitlines()) == len(MESSAGES)
    for argv_output in outputs:
        assert leaks(argv_output) == []
