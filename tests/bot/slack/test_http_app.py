"""The Slack app end to end over real HTTP on loopback: signed requests in, Web API calls out.

The bot runs with its real aiohttp server and the real engine; Slack is a local mock that records
every call. Replies are awaited by polling the mock's recorded calls, never by fixed sleeps.
"""
from __future__ import annotations

import json
import logging
import re
import time
from typing import Any

import aiohttp

from bot.edge.messages import APOLOGY, ASK_REASON, REFUSAL, THANKS
from bot.slack.blocks import (
    ACTION_FEEDBACK_REASON,
    ACTION_HELPFUL,
    ACTION_NOT_HELPFUL,
    ACTION_SHARE,
    ACTION_SUGGESTION_PREFIX,
    FeedbackValue,
)

from .harness import Bot, answer_text, start_bot, stop_bot
from .mock_slack import BOT_USER, TEAM_ID, MockSlack
from .slack_requests import (
    click_body,
    command_body,
    event_body,
    mention,
    message,
    new_id,
    new_ts,
)

LIVE_MARKUP = re.compile(r"<[!@#][^>]*>")  # a live mention / special command in Slack mrkdwn


def live_markup(texts: list) -> list:
    found = []
    for text in texts:
        found.extend(m for m in LIVE_MARKUP.findall(text) if not m.startswith("<@UNURSE"))
    return found


# ---- transport, verification ----------------------------------------------------------------


async def test_healthz(bot: Bot) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{bot.service.http.url}/healthz") as response:
            assert response.status == 200
            assert (await response.json())["ok"] is True


async def test_url_verification_echoes_the_challenge(bot: Bot) -> None:
    body = {"token": "legacy", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification"}
    status, text, _ = await bot.client.event(body)
    assert status == 200
    assert json.loads(text)["challenge"] == body["challenge"]


async def test_forged_signature_is_refused_and_nothing_is_posted(bot: Bot) -> None:
    channel = new_id("C")
    body = json.dumps(event_body(mention(f"<@{BOT_USER}> lanreotide dose?", channel)))
    forged = {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=" + "0" * 64}
    status, _, _ = await bot.client.post_raw(body, "application/json", headers=forged, signed=False)
    assert status == 401
    wrong_secret = bot.client.secret
    bot.client.secret = "not-the-signing-secret"
    try:
        status, _, _ = await bot.client.post_raw(body, "application/json")
    finally:
        bot.client.secret = wrong_secret
    assert status == 401
    status, _, _ = await bot.client.post_raw(body, "application/json", signed=False)
    assert status == 401
    await bot.settle()
    assert bot.posts_in(channel) == []


async def test_timestamp_older_than_five_minutes_is_refused(bot: Bot) -> None:
    channel = new_id("C")
    body = json.dumps(event_body(mention(f"<@{BOT_USER}> lanreotide dose?", channel)))
    status, _, _ = await bot.client.post_raw(body, "application/json", timestamp=int(time.time()) - 6 * 60)
    assert status == 401
    await bot.settle()
    assert bot.posts_in(channel) == []


# ---- mentions, threads, DMs -------------------------------------------------------------------


async def test_mention_is_answered_in_its_thread(bot: Bot) -> None:
    channel, ts = new_id("C"), new_ts()
    status, _, elapsed = await bot.client.event(event_body(mention(f"<@{BOT_USER}> lanreotide dose?", channel, ts)))
    acked_at = time.monotonic()
    assert status == 200
    assert elapsed < 2.5  # acknowledged well inside Slack's 3 seconds
    [post] = await bot.slack.wait_posts(channel=channel)
    assert post.at >= acked_at  # the acknowledgement did not wait for the answer
    assert post.data["thread_ts"] == ts
    assert post.data["text"]  # a plain text for notifications
    assert any(b["type"] == "section" and b["text"]["text"].startswith("> ") for b in post.data["blocks"])
    assert "deep subcutaneous" in answer_text(post)
    assert post.data["metadata"]["event_payload"]["kind"] == "answer"  # for replays and audits


async def test_mention_inside_a_thread_is_answered_in_that_thread(bot: Bot) -> None:
    channel, root = new_id("C"), new_ts()
    await bot.client.event(event_body(mention(f"<@{BOT_USER}> lanreotide dose?", channel, thread_ts=root)))
    [post] = await bot.slack.wait_posts(channel=channel)
    assert post.data["thread_ts"] == root


async def test_retried_event_is_answered_once(bot: Bot) -> None:
    channel = new_id("C")
    body = event_body(mention(f"<@{BOT_USER}> lanreotide dose?", channel))
    assert (await bot.client.event(body))[0] == 200
    assert (await bot.client.event(body, retry=1))[0] == 200
    assert (await bot.client.event(body, retry=2))[0] == 200
    await bot.slack.wait_posts(channel=channel)
    await bot.settle()
    assert len(bot.posts_in(channel)) == 1


async def test_retry_after_a_restart_is_still_answered_once(engine: Any, slack: MockSlack) -> None:
    """Deliveries are claimed in the persistent state store, not in memory."""
    channel = new_id("C")
    body = event_body(mention(f"<@{BOT_USER}> lanreotide dose?", channel))
    first = await start_bot(engine, slack)
    try:
        await first.client.event(body)
        await slack.wait_posts(channel=channel)
    finally:
        await stop_bot(first)
    second = await start_bot(engine, slack)
    try:
        assert (await second.client.event(body, retry=1))[0] == 200
        await second.settle()
    finally:
        await stop_bot(second)
    assert len(slack.posts(channel=channel)) == 1


async def test_logs_name_ids_and_failures_never_message_text(bot: Bot, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG, logger="carebot")
    channel, secret = new_id("C"), "Zebulonia"
    bot.slack.fail_next("chat.postMessage", status=200, body={"ok": False, "error": "msg_too_long"})
    body = event_body(mention(f"<@{BOT_USER}> lanreotide dose for {secret}?", channel))
    await bot.client.event(body)
    await bot.slack.wait_posts(channel=channel)  # the apology
    await bot.client.event(event_body(mention(f"<@{BOT_USER}> how is it given to {secret}?", channel)))
    await bot.slack.wait_posts(2, channel=channel)
    await bot.service.responder.wait_idle()
    logged = [r.getMessage() for r in caplog.records]
    assert any("answer not delivered" in m and body["event_id"] in m and "msg_too_long" in m for m in logged)
    assert any(m.startswith("answered ref=") for m in logged)
    assert not [m for m in logged if secret in m]


async def test_same_message_delivered_as_two_events_is_answered_once(bot: Bot) -> None:
    """A mention in a DM can arrive as app_mention and as message.im: same client_msg_id."""
    channel = new_id("D")
    event = message(f"<@{BOT_USER}> lanreotide dose?", channel)
    as_mention = dict(event, type="app_mention")
    as_mention.pop("channel_type")
    await bot.client.event(event_body(event))
    await bot.client.event(event_body(as_mention))
    await bot.slack.wait_posts(channel=channel)
    await bot.settle()
    assert len(bot.posts_in(channel)) == 1


async def test_thread_follow_up_keeps_the_case(bot: Bot) -> None:
    channel, root = new_id("C"), new_ts()
    await bot.client.event(event_body(mention(f"<@{BOT_USER}> lanreotide dose?", channel, root)))
    await bot.slack.wait_posts(channel=channel)
    await bot.client.event(event_body(mention(f"<@{BOT_USER}> how is it given?", channel, thread_ts=root)))
    first, second = await bot.slack.wait_posts(2, channel=channel)
    assert second.data["thread_ts"] == root
    assert "deep subcutaneous" in answer_text(second)


async def test_direct_message_is_answered_in_the_dm(bot: Bot) -> None:
    channel = new_id("D")
    await bot.client.event(event_body(message("what is the lanreotide dose?", channel)))
    [post] = await bot.slack.wait_posts(channel=channel)
    assert "thread_ts" not in post.data
    assert "deep subcutaneous" in answer_text(post)
    # the DM is one conversation: a follow-up without the drug name keeps it
    await bot.client.event(event_body(message("how is it given?", channel)))
    _, follow_up = await bot.slack.wait_posts(2, channel=channel)
    assert "deep subcutaneous" in answer_text(follow_up)


async def test_bot_edit_deletion_and_unaddressed_messages_are_ignored(bot: Bot) -> None:
    channels = [new_id("D") for _ in range(6)] + [new_id("C")]
    q = "lanreotide dose?"
    events = [
        message(q, channels[0], bot_id="BOTHER", subtype="bot_message", user=None),  # another bot
        message(q, channels[1], bot_id="BOTHER"),  # a bot posting as a user
        message(q, channels[2], user=BOT_USER),  # our own message
        message(q, channels[3], subtype="message_changed", user=None),  # an edit
        message("", channels[4], subtype="message_deleted", user=None, deleted_ts=new_ts()),  # a deletion
        message(q, channels[5], subtype="file_share"),  # any other subtype
        message(q, channels[6], channel_type="channel"),  # a channel message not addressing the bot
    ]
    for event in events:
        status, _, _ = await bot.client.event(event_body(event))
        assert status == 200  # acknowledged (else Slack retries), then dropped
    await bot.settle()
    for channel in channels:
        assert bot.posts_in(channel) == [], channel


async def test_mass_mentions_and_user_mentions_are_never_echoed(bot: Bot) -> None:
    channel = new_id("C")
    text = f"<@{BOT_USER}> <!channel> <!here> <!everyone> <@U0STRANGER> lanreotide dose? <#C0OTHER> & <b>"
    await bot.client.event(event_body(mention(text, channel)))
    [post] = await bot.slack.wait_posts(channel=channel)
    assert live_markup(post.texts()) == []
    # the slash command shows the question back to its asker: escaped, never live
    url_name = new_id("cmd")
    await bot.client.command(command_body(text.replace(f"<@{BOT_USER}> ", ""), channel, bot.slack.response_url(url_name)))
    [response] = await bot.slack.wait_responses(url_name)
    assert live_markup(response.texts()) == []
    assert any("&lt;!channel&gt;" in t for t in response.texts())


# ---- the slash command, buttons, feedback ------------------------------------------------------


async def test_slash_command_is_acked_and_answered_privately(bot: Bot) -> None:
    channel, url_name = new_id("C"), new_id("cmd")
    status, text, elapsed = await bot.client.command(
        command_body("what is the lanreotide dose?", channel, bot.slack.response_url(url_name)))
    assert status == 200 and elapsed < 2.5
    [response] = await bot.slack.wait_responses(url_name)
    assert response.data["response_type"] == "ephemeral"
    assert response.data["text"]
    assert "deep subcutaneous" in answer_text(response)
    assert [e["action_id"] for _, e in _buttons(response.data["blocks"]) if e["action_id"] == ACTION_SHARE]
    await bot.settle()
    assert bot.posts_in(channel) == []  # nothing public


async def test_empty_slash_command_gets_usage_in_the_ack(bot: Bot) -> None:
    status, text, _ = await bot.client.command(command_body("  ", new_id("C"), bot.slack.response_url("x")))
    assert status == 200
    assert "/carebot" in text  # Bolt answers a text-only ack as text/plain; Slack shows it privately


async def test_share_button_posts_the_private_answer_in_the_channel(bot: Bot) -> None:
    channel, url_name = new_id("C"), new_id("cmd")
    await bot.client.command(command_body("what is the lanreotide dose?", channel, bot.slack.response_url(url_name)))
    [private] = await bot.slack.wait_responses(url_name)
    click_url = new_id("click")
    payload = click_body(private, ACTION_SHARE, bot.slack.response_url(click_url), ephemeral=True, channel=channel)
    assert (await bot.client.click(payload))[0] == 200
    [shared] = await bot.slack.wait_responses(click_url)
    assert shared.data["response_type"] == "in_channel"
    assert "deep subcutaneous" in answer_text(shared)
    assert any(f"<@UNURSE1>" in t for t in shared.texts())  # who shared it
    assert not [e for _, e in _buttons(shared.data["blocks"]) if e["action_id"].startswith(ACTION_SUGGESTION_PREFIX)]


async def test_suggestion_click_asks_in_the_same_thread(bot: Bot) -> None:
    channel, root = new_id("C"), new_ts()
    await bot.client.event(event_body(mention(f"<@{BOT_USER}> lanreotide dose?", channel, root)))
    [answer] = await bot.slack.wait_posts(channel=channel)
    block, button = _first_suggestion(answer.data["blocks"])
    payload = click_body(answer, ACTION_SUGGESTION_PREFIX, bot.slack.response_url(new_id("click")))
    assert (await bot.client.click(payload))[0] == 200
    _, follow_up = await bot.slack.wait_posts(2, channel=channel)
    assert follow_up.data["thread_ts"] == root
    assert any(button["value"].replace("&", "&amp;") in t for t in follow_up.texts())  # the question shown
    assert any(b["type"] == "section" for b in follow_up.data["blocks"])
    # a double click does not ask twice
    assert (await bot.client.click(payload))[0] == 200
    await bot.settle()
    assert len(bot.posts_in(channel)) == 2


async def test_feedback_is_stored_with_conversation_and_statements(bot: Bot, engine: Any) -> None:
    channel, root = new_id("C"), new_ts()
    await bot.client.event(event_body(mention(f"<@{BOT_USER}> lanreotide dose?", channel, root)))
    [answer] = await bot.slack.wait_posts(channel=channel)
    conversation = f"slack:{TEAM_ID}:{channel}:{root}"
    url_name = new_id("fb")
    payload = click_body(answer, ACTION_HELPFUL, bot.slack.response_url(url_name), user="UDOCTOR")
    assert (await bot.client.click(payload))[0] == 200
    [thanks] = await bot.slack.wait_responses(url_name)
    assert thanks.data["response_type"] == "ephemeral" and thanks.data["text"] == THANKS

    # not helpful: an optional reason from a fixed menu, no free-text box
    url_name = new_id("fb")
    payload = click_body(answer, ACTION_NOT_HELPFUL, bot.slack.response_url(url_name), user="UDOCTOR")
    assert (await bot.client.click(payload))[0] == 200
    [menu] = await bot.slack.wait_responses(url_name)
    assert menu.data["text"] == ASK_REASON
    assert not any(block["type"] == "input" for block in menu.data["blocks"])
    reasons = [element for block in menu.data["blocks"] if block["type"] == "actions"
               for element in block["elements"]]
    assert {FeedbackValue.decode(r["value"]).reason for r in reasons} == {
        "wrong_statement", "missing_information", "did_not_understand", "too_long"}
    reason_url = new_id("fb")
    click = click_body(menu, ACTION_FEEDBACK_REASON, bot.slack.response_url(reason_url), user="UDOCTOR",
                       ephemeral=True, channel=channel,
                       value=next(r["value"] for r in reasons if "too_long" in r["value"]))
    assert (await bot.client.click(click))[0] == 200
    [thanks] = await bot.slack.wait_responses(reason_url)
    assert thanks.data["text"] == THANKS

    rows = [row for row in engine.store.feedback() if row.conversation_id == conversation]
    assert [(r.helpful, r.user, r.reason) for r in rows] == [
        (True, "UDOCTOR", None), (False, "UDOCTOR", None), (False, "UDOCTOR", "too_long")]
    assert rows[0].statement_ids and "lanreotide" in " ".join(rows[0].statement_ids)


# ---- Web API failures, allowlist -------------------------------------------------------------


async def test_rate_limited_post_is_retried_then_delivered(bot: Bot) -> None:
    channel = new_id("C")
    bot.slack.fail_next("chat.postMessage", status=429, retry_after=1)
    await bot.client.event(event_body(mention(f"<@{BOT_USER}> lanreotide dose?", channel)))
    [post] = await bot.slack.wait_posts(channel=channel)
    attempts = bot.slack.of("chat.postMessage", channel=channel)
    assert [a.status for a in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 1.0  # Retry-After was honoured
    assert "deep subcutaneous" in answer_text(post)


async def test_server_error_is_retried(bot: Bot) -> None:
    channel = new_id("C")
    bot.slack.fail_next("chat.postMessage", status=503)
    await bot.client.event(event_body(mention(f"<@{BOT_USER}> lanreotide dose?", channel)))
    await bot.slack.wait_posts(channel=channel)
    assert [a.status for a in bot.slack.of("chat.postMessage", channel=channel)] == [503, 200]


async def test_answer_that_cannot_be_posted_gets_an_apology(bot: Bot) -> None:
    channel = new_id("C")
    bot.slack.fail_next("chat.postMessage", status=200, body={"ok": False, "error": "invalid_blocks"})
    await bot.client.event(event_body(mention(f"<@{BOT_USER}> lanreotide dose?", channel)))
    [apology] = await bot.slack.wait_posts(channel=channel)
    assert apology.data["text"] == APOLOGY


async def test_channel_outside_the_allowlist_gets_one_polite_refusal(engine: Any, slack: MockSlack) -> None:
    allowed, blocked = new_id("C"), new_id("C")
    bot = await start_bot(engine, slack, allowed_channels_raw=f"{allowed}, {new_id('C')}")
    try:
        for _ in range(2):
            await bot.client.event(event_body(mention(f"<@{BOT_USER}> lanreotide dose?", blocked)))
        await bot.client.event(event_body(mention(f"<@{BOT_USER}> lanreotide dose?", allowed)))
        await bot.slack.wait_posts(channel=allowed)
        await bot.settle()  # a DM: always allowed
        [refusal] = bot.posts_in(blocked)
        assert refusal.data["text"] == REFUSAL
        status, text, _ = await bot.client.command(command_body("lanreotide dose?", blocked, slack.response_url("no")))
        assert status == 200 and text == REFUSAL
    finally:
        await stop_bot(bot)


def _buttons(blocks: list) -> list:
    return [(b, e) for b in blocks if b["type"] == "actions" for e in b["elements"]]


def _first_suggestion(blocks: list) -> tuple:
    found = [(b, e) for b, e in _buttons(blocks) if e["action_id"].startswith(ACTION_SUGGESTION_PREFIX)]
    assert found, "the answer offers no follow-up suggestions"
    return found[0]
