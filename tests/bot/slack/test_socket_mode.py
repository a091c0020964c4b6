"""Socket Mode against a local Socket Mode server: the mock answers apps.connections.open with a
ws:// URL on loopback, says hello like Slack, pushes envelopes and records the bot's acks. The
bot side is the real slack_sdk Socket Mode client, Bolt handler and listeners."""
from __future__ import annotations

import uuid
from typing import Any

import pytest

from bot.slack.service import start_service
from bot.slack.settings import Mode, SettingsError

from .harness import answer_text, settings_for
from .mock_slack import APP_TOKEN, BOT_USER, MockSlack
from .slack_requests import event_body, mention, new_id


def envelope(payload: Any, kind: str = "events_api", retry: int = 0) -> dict:
    return {"envelope_id": str(uuid.uuid4()), "type": kind, "payload": payload,
            "accepts_response_payload": kind != "events_api", "retry_attempt": retry,
            "retry_reason": "timeout" if retry else ""}


async def test_socket_mode_mention_is_acked_and_answered_once(engine: Any, slack: MockSlack) -> None:
    service = await start_service(settings_for(slack, app_token=APP_TOKEN, signing_secret=None), engine, Mode.socket)
    try:
        assert slack.of("apps.connections.open")
        channel = new_id("C")
        body = event_body(mention(f"<@{BOT_USER}> lanreotide dose?", channel))
        first, retry = envelope(body), envelope(body, retry=1)
        await slack.push(first)
        await slack.push(retry)
        acked = await slack.wait_for(
            lambda: {a.get("envelope_id") for a in slack.socket_acks} >= {first["envelope_id"], retry["envelope_id"]},
            what="both envelopes acknowledged")
        assert acked
        [post] = await slack.wait_posts(channel=channel)
        assert post.data["thread_ts"] == body["event"]["ts"]
        assert "deep subcutaneous" in answer_text(post)
        await service.responder.wait_idle()
        assert len(slack.posts(channel=channel)) == 1
    finally:
        await service.close()


async def test_socket_mode_rejected_app_token_stops_start_up(engine: Any, slack: MockSlack) -> None:
    settings = settings_for(slack, app_token="xapp-not-the-right-one", signing_secret=None)
    with pytest.raises(SettingsError) as failure:
        await start_service(settings, engine, Mode.socket)
    assert "SLACK_APP_TOKEN" in failure.value.report()
