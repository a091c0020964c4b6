"""Conversation ids and destinations from Slack payloads, and which events are questions."""
from __future__ import annotations

from bot.slack.app import ignore_reason
from bot.slack.conversations import InChannel, ViaResponseUrl, place_of_action, place_of_command, place_of_message
from bot.slack.webapi import BotIdentity

ME = BotIdentity(team_id="T1", user_id="UBOT", bot_id="BBOT")


def test_channel_mention_is_its_thread_and_dm_is_one_conversation() -> None:
    top = place_of_message("T1", {"channel": "C1", "ts": "10.1"})
    reply = place_of_message("T1", {"channel": "C1", "ts": "12.5", "thread_ts": "10.1"})
    assert top.conversation_id == reply.conversation_id == "slack:T1:C1:10.1"
    assert top.destination == reply.destination == InChannel("C1", "10.1")
    dm = place_of_message("T1", {"channel": "D1", "ts": "11.1"})
    assert dm.conversation_id == "slack:T1:D1" and dm.destination == InChannel("D1", None)
    dm_thread = place_of_message("T1", {"channel": "D1", "ts": "11.2", "thread_ts": "11.1"})
    assert dm_thread.conversation_id == "slack:T1:D1" and dm_thread.destination == InChannel("D1", "11.1")


def test_command_is_private_per_user_and_channel() -> None:
    place = place_of_command({"team_id": "T1", "channel_id": "C1", "user_id": "U1", "response_url": "https://r"})
    assert place.conversation_id == "slack:T1:C1:private:U1"
    assert place.destination == ViaResponseUrl("https://r")


def test_click_lands_in_the_conversation_of_the_clicked_message() -> None:
    base = {"team": {"id": "T1"}, "user": {"id": "U1"}, "channel": {"id": "C1"}, "response_url": "https://r"}
    in_thread = dict(base, message={"ts": "12.0", "thread_ts": "10.1"}, container={"message_ts": "12.0"})
    assert place_of_action(in_thread).conversation_id == "slack:T1:C1:10.1"
    top_level = dict(base, message={"ts": "12.0"}, container={"message_ts": "12.0"})
    assert place_of_action(top_level).destination == InChannel("C1", "12.0")
    in_dm = dict(base, channel={"id": "D1"}, message={"ts": "12.0"}, container={"message_ts": "12.0"})
    assert place_of_action(in_dm).conversation_id == "slack:T1:D1"
    ephemeral = dict(base, container={"message_ts": "12.0", "channel_id": "C1", "is_ephemeral": True})
    assert place_of_action(ephemeral).conversation_id == "slack:T1:C1:private:U1"
    assert place_of_action({"type": "block_actions"}) is None


def test_which_message_events_are_questions() -> None:
    ask = {"type": "message", "channel": "D1", "ts": "1.0", "user": "U1", "text": "lanreotide dose?"}
    assert ignore_reason(ME, ask) is None
    assert ignore_reason(ME, dict(ask, subtype="message_changed")) == "subtype"
    assert ignore_reason(ME, dict(ask, bot_id="B2")) == "bot"
    assert ignore_reason(ME, dict(ask, user="UBOT")) == "self"
    assert ignore_reason(ME, dict(ask, text="  ")) == "empty"
    assert ignore_reason(ME, dict(ask, edited={"ts": "2.0"})) == "edited"
