"""Privacy proof at the Slack edge: a made-up name, MRN and date of birth sent through Slack (a
mention, a DM, the slash command, feedback clicks) appear in no audit record, export, feedback
record, JSON audit line, log line, or byte of the state file once the messages are answered."""
from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path
from typing import Any, List

from audit.jsonlog import JsonLineLog
from audit.sqlite_store import SQLiteAuditStore
from audit.trail import AuditTrail, fingerprint_of
from bot.logs import configure_logging
from bot.slack.blocks import ACTION_HELPFUL, ACTION_NOT_HELPFUL
from dialogues.engine import Engine
from dialogues.settings import CoreSettings
from dialogues.store import SQLiteStore
from knowledge import default_knowledge
from tests.audit.cli import carebot, environment
from tests.audit.conftest import KEY

from .harness import start_bot, stop_bot
from .mock_slack import BOT_USER, MockSlack
from .slack_requests import click_body, command_body, event_body, mention, message, new_id, new_ts

NAME, MRN, DOB = "Jane Roe", "12345678", "1961-04-02"
FORBIDDEN = [re.compile(p, re.IGNORECASE) for p in (r"\bjane\b", r"\broe\b", MRN, re.escape(DOB), r"\b1961\b")]


def leaks(text: str) -> List[str]:
    return [p.pattern for p in FORBIDDEN if p.search(text)]


async def test_identifiers_sent_through_slack_are_nowhere_at_rest(parser: Any, slack: MockSlack, tmp_path: Path,
                                                                 caplog: Any, capsys: Any, monkeypatch: Any) -> None:
    settings = CoreSettings(state_path=tmp_path / "state.db")
    store = SQLiteStore(settings.state_path, ttl_seconds=3600)
    trail = AuditTrail(SQLiteAuditStore(settings.state_path), default_knowledge(), fingerprint_of(parser.model), KEY,
                       json_log=JsonLineLog(str(tmp_path / "audit.jsonl")))
    engine = Engine(parser, default_knowledge(), store, settings, audit=trail)
    configure_logging("DEBUG")
    caplog.set_level(logging.DEBUG)
    bot = await start_bot(engine, slack)
    try:
        channel, root, dm = new_id("C"), new_ts(), new_id("D")
        await bot.client.event(event_body(mention(
            f"<@{BOT_USER}> {NAME} MRN {MRN} born {DOB}: what is the lanreotide dose?", channel, root)))
        await bot.client.event(event_body(message(f"{NAME} {DOB} progressed on lanreotide, next steps?", dm)))
        url = new_id("cmd")
        await bot.client.command(command_body(f"octreotide dose for {NAME} MRN {MRN}?", channel,
                                              bot.slack.response_url(url)))
        [answer] = await bot.slack.wait_posts(channel=channel)
        await bot.slack.wait_posts(channel=dm)
        await bot.slack.wait_responses(url)
        for action in (ACTION_HELPFUL, ACTION_NOT_HELPFUL):
            name = new_id("fb")
            await bot.client.click(click_body(answer, action, bot.slack.response_url(name)))
            await bot.slack.wait_responses(name)
        await bot.service.responder.wait_idle()
    finally:
        await stop_bot(bot)
        configure_logging()
    await trail.close()
    store.purge_expired()  # a checkpoint: page images from before the answers leave the WAL
    feedback = store.feedback()
    await store.close()

    assert len(feedback) == 2 and all(row.audit_id for row in feedback)
    assert leaks(repr(feedback)) == []
    assert leaks(caplog.text) == []
    records = (tmp_path / "audit.jsonl").read_text()
    assert len(records.splitlines()) == 3 and leaks(records) == []
    environment(monkeypatch, tmp_path / "state.db")
    for argv in (("audit", "export"), ("audit", "export", "--format", "csv"), ("audit", "show", "last"),
                 ("feedback", "report", "--json", "--output", str(tmp_path / "f.png"))):
        code, out, err = await asyncio.to_thread(carebot, capsys, *argv)  # the CLI runs its own loop
        assert code == 0, (argv, err)
        assert leaks(out + err) == [], argv
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("state.db*"))
    for needle in (b"Jane", b"Roe", MRN.encode(), DOB.encode()):
        assert needle not in raw, needle
