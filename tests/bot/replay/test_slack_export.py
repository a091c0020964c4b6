"""Replaying a Slack workspace export (the synthetic one under tests/fixtures/slack_export)."""
from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Dict, List

import pytest

from bot.replay.slack_export import (
    RecordedReply,
    SlackExportError,
    compare_reply,
    find_bot,
    normalise_text,
    read_export,
)
from bot.slack.markup import plain_text
from dialogues.types import CitedStatement, Reply, SourceRef, Turn
from nlu.types import IntentScore

from .conftest import replay_with

EXPORT = Path(__file__).resolve().parents[2] / "fixtures" / "slack_export"
BOT = "U0CAREBOT1"


def by_name(export: Any) -> Dict[str, Any]:
    return {c.name: c for c in export.conversations}


def test_the_export_is_rebuilt_into_carebots_threads_and_dm() -> None:
    export = read_export(EXPORT)
    assert export.bot_user_id == BOT and export.bot_ids == frozenset({"B0CAREBOT1"})
    conversations = by_name(export)
    assert list(conversations) == [
        "#tumour-board thread 1709546400.000100 (2024-03-04 10:00 UTC)",
        "#tumour-board thread 1709550000.000200 (2024-03-04 11:00 UTC)",
        "#tumour-board thread 1709632800.000300 (2024-03-05 10:00 UTC)",
        "#ward-4b thread 1709640000.000100 (2024-03-05 12:00 UTC)",
        "#ward-4b thread 1709643600.000500 (2024-03-05 13:00 UTC)",
        "DM D0DMCAREB1",
    ]  # not #random, not the thread among people, not the DM between two people
    assert export.skipped_messages == 1  # "I'll check the fridge stock" did not address carebot


def test_a_thread_spans_day_files_and_keeps_only_what_addressed_carebot() -> None:
    thread = by_name(read_export(EXPORT))["#tumour-board thread 1709546400.000100 (2024-03-04 10:00 UTC)"]
    assert [t.message.text for t in thread.turns] == [
        "<@U0CAREBOT1> what's the dose of somatuline?",
        "<@U0CAREBOT1> and how is it given?",
        "<@U0CAREBOT1> sorry, I meant octreotide",  # from 2024-03-05.json
    ]
    first = thread.turns[0].recorded
    assert first is not None and first.kind == "answer"  # inferred: it cites statements
    assert "lanreotide-label-dosage" in (first.statement_ids or [])  # from the feedback buttons
    assert "120 mg administered every 4 weeks" in first.text
    assert [t.message.user for t in thread.turns] == ["U0ONC00001", "U0NURSE001", "U0ONC00001"]


def test_metadata_gives_the_kind_and_an_unthreaded_reply_answers_the_mention() -> None:
    conversations = by_name(read_export(EXPORT))
    clarify = conversations["#ward-4b thread 1709640000.000100 (2024-03-05 12:00 UTC)"]
    assert [(t.recorded.kind, t.recorded.statement_ids) for t in clarify.turns] == [
        ("clarify", []), ("answer", ["guidelines-initial-ssa-dosing"])]
    legacy = conversations["#ward-4b thread 1709643600.000500 (2024-03-05 13:00 UTC)"]
    [turn] = legacy.turns
    assert turn.message.text == "<!channel> <@U0CAREBOT1> hi" and turn.recorded.kind == "smalltalk"


def test_the_dm_is_one_conversation() -> None:
    dm = by_name(read_export(EXPORT))["DM D0DMCAREB1"]
    assert [t.message.text for t in dm.turns] == [
        "hi", "she's SSTR positive, is PRRT an option?", "new case", "is PRRT an option?"]
    assert all(t.recorded is not None for t in dm.turns)
    assert dm.is_dm and dm.thread_ts is None


def test_the_bot_user_is_found_by_name_or_given(tmp_path: Path) -> None:
    users = json.loads((EXPORT / "users.json").read_text())
    assert find_bot(users) == (BOT, {"B0CAREBOT1"})
    assert find_bot(users, "U0STANDUP1") == ("U0STANDUP1", {"B0STANDUP1"})
    with pytest.raises(SlackExportError, match="U0STANDUP1 \\(standupbot\\)"):
        find_bot([u for u in users if u["id"] != BOT])
    twin = dict(users[0], id="U0CAREBOT2")
    with pytest.raises(SlackExportError, match="several bot users"):
        find_bot(users + [twin])


def test_broken_exports_are_named(tmp_path: Path) -> None:
    with pytest.raises(SlackExportError, match="not a folder"):
        read_export(tmp_path / "missing")
    with pytest.raises(SlackExportError, match="users.json: missing"):
        read_export(tmp_path)
    copy = tmp_path / "export"
    shutil.copytree(EXPORT, copy)
    (copy / "ward-4b" / "2024-03-05.json").write_text('[{"ts": "1", "text": "x"},\n oops]')
    with pytest.raises(SlackExportError, match="ward-4b/2024-03-05.json:2: invalid JSON"):
        read_export(copy)


LABEL = CitedStatement(id="lanreotide-label-dosage", source=SourceRef(kind="drug_label", title="l"), citation="label",
                       text="The recommended dosage of Lanreotide Injection is 120 mg administered every 4 weeks.")


def now(kind: str = "answer", statements: List[CitedStatement] = [LABEL], text: str = "Lanreotide: dosing\n" + LABEL.text) -> Reply:
    return Reply(kind=kind, intent=IntentScore(name="dosing", confidence=1.0), statements=statements, text=text)


def test_compare_reports_kind_cites_and_text() -> None:
    same = RecordedReply(text="*Lanreotide: dosing*\n> " + LABEL.text,
                         kind="answer", statement_ids=["lanreotide-label-dosage"])
    assert compare_reply(same, now()) == []
    changed = RecordedReply(text="Which drug do you mean?", kind="clarify", statement_ids=["guidelines-initial-ssa-dosing"])
    failures = {f.check: f for f in compare_reply(changed, now())}
    assert set(failures) == {"kind", "cites", "text"}
    assert failures["kind"].summary() == "kind: expected clarify, got answer"
    assert failures["cites"].detail == ("now also cites: lanreotide-label-dosage; "
                                        "no longer cites: guidelines-initial-ssa-dosing")
    assert "-Which drug do you mean?" in (failures["text"].detail or "")
    unknown = RecordedReply(text="Lanreotide: dosing\n" + LABEL.text)  # nothing recorded but the text
    assert compare_reply(unknown, now(kind="clarify", statements=[])) == []
    assert [f.check for f in compare_reply(changed, now(), frozenset({"kind"}))] == ["kind"]


def test_normalise_text_takes_slack_rendering_off() -> None:
    assert normalise_text("*Bold* and _it_ &amp; <https://x.org|a link>\n\n• item\n>  quoted  text ") == \
        "Bold and it & a link\n- item\nquoted text"
    assert normalise_text("drug_label stays") == "drug_label stays"


class Scripted:
    """A core that says, for each message, what the export recorded, except where told otherwise."""

    def __init__(self, overrides: Dict[str, Reply]) -> None:
        export = read_export(EXPORT)
        self.replies: Dict[str, Reply] = {}
        for conversation in export.conversations:
            for turn in conversation.turns:
                r = turn.recorded
                statements = [CitedStatement(id=i, text=i, source=SourceRef(kind="guideline", title="t"), citation="c")
                              for i in (r.statement_ids or [])]
                # the replay hands the core what the Slack edge would: markup removed
                self.replies[plain_text(turn.message.text)] = Reply(kind=r.kind or "fallback", statements=statements,
                                                        text=r.text.replace("&amp;", "&"))
        self.replies.update({plain_text(text): reply for text, reply in overrides.items()})
        self.users: List[Any] = []

    async def handle(self, turn: Turn) -> Reply:
        self.users.append(turn.user)
        return self.replies[turn.text]

    async def reset(self, conversation_id: str) -> None:
        pass


async def test_the_command_reports_what_changed(tmp_path: Path) -> None:
    engine = Scripted({"<@U0CAREBOT1> metformin dose?": now()})  # carebot now (wrongly) doses metformin
    junit = tmp_path / "slack.xml"
    code, out, _ = await replay_with(engine, "--slack-export", str(EXPORT), "--junit", str(junit))
    assert code == 1
    lines = out.splitlines()
    assert "DIFF  #tumour-board thread 1709632800.000300 (2024-03-05 10:00 UTC)" in lines
    assert sum(line.startswith("SAME  ") for line in lines) == 5
    details = out.split("ANSWERED DIFFERENTLY", 1)[1]
    assert 'user: "<@U0CAREBOT1> metformin dose?"' in details
    assert "kind: expected fallback, got answer" in details
    assert "now also cites: lanreotide-label-dosage" in details
    assert "+The recommended dosage of Lanreotide Injection is 120 mg" in details
    assert "6 conversations: 5 answered as before, 1 answered differently" in out
    assert "U0ONC00001" in engine.users  # each message is replayed as its author
    root = ET.parse(junit).getroot()
    assert root.get("tests") == "6" and root.get("failures") == "1"
    code, out, _ = await replay_with(Scripted({}), "--slack-export", str(EXPORT), "-k", "ward-4b")
    assert code == 0 and out.count("SAME  #ward-4b") == 2


async def test_a_broken_export_exits_2(tmp_path: Path) -> None:
    code, _, err = await replay_with(Scripted({}), "--slack-export", str(tmp_path))
    assert code == 2 and "users.json: missing" in err
