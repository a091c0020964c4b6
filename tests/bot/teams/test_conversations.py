"""Conversation ids, delivery keys, routes and question text from Teams activities."""
from __future__ import annotations

from botbuilder.schema import Activity

from bot.teams import conversations as c
from mocks.teams import (
    BOT_ID,
    TENANT_ID,
    channel_conversation,
    installed_activity,
    message_activity,
    personal_conversation,
)

URL = "https://smba.trafficmanager.net/amer/"


def activity(body: dict) -> Activity:
    return Activity.deserialize(body)


def test_personal_chat_is_one_conversation() -> None:
    chat = personal_conversation()
    first = activity(message_activity("lanreotide dose?", chat, URL))
    second = activity(message_activity("how is it given?", chat, URL))
    assert c.conversation_of(first) == c.conversation_of(second) == f"teams:{TENANT_ID}:{chat['id']}"
    assert c.delivery_key(first) != c.delivery_key(second)
    route = c.route_of(first)
    assert route == {"service_url": URL, "conversation": chat["id"], "tenant": TENANT_ID,
                     "reply_to": first.id, "bot_id": BOT_ID}


def test_channel_thread_is_one_conversation_and_threads_are_separate() -> None:
    thread = channel_conversation(root="1700000000001")
    channel = thread["id"].split(";")[0]
    root = activity(message_activity("q", thread, URL, mention=True, activity_id="1700000000001"))
    reply = activity(message_activity("q", thread, URL, mention=True))
    other = activity(message_activity("q", channel_conversation(channel=channel), URL, mention=True))
    assert c.conversation_of(root) == c.conversation_of(reply) == f"teams:{TENANT_ID}:{channel};messageid=1700000000001"
    assert c.conversation_of(other) != c.conversation_of(root)
    assert c.route_of(reply)["conversation"] == f"{channel};messageid=1700000000001"
    # a channel activity without its thread mark is the root of its own thread
    bare = dict(message_activity("q", thread, URL, activity_id="42"), conversation={
        "id": channel, "conversationType": "channel"})
    assert c.teams_conversation(activity(bare)) == f"{channel};messageid=42"
    # a greeting on install is a new post in the channel, not a reply in a thread
    install = activity(installed_activity({"id": channel, "conversationType": "channel"}, URL))
    assert c.route_of(install, reply=False)["conversation"] == channel
    assert c.route_of(install, reply=False)["reply_to"] == ""


def test_question_text_drops_carebot_mention_and_markup_only() -> None:
    body = message_activity("what is the <at>Dr Smith</at> plan for <5 mg dose?", channel_conversation(), URL,
                            mention=True)
    assert c.question_text(activity(body)) == "what is the Dr Smith plan for <5 mg dose?"
    assert c.question_text(activity(dict(body, text="<p>lanreotide<br/>dose?</p>"))) == "lanreotide dose?"
    assert c.question_text(activity(dict(body, text=None))) == ""


def test_tenant_and_user_and_install_markers() -> None:
    body = message_activity("q", personal_conversation(), URL)
    body["conversation"].pop("tenantId")
    parsed = activity(body)
    assert c.tenant_of(parsed) == TENANT_ID  # from channelData when the conversation lacks it
    assert c.user_of(parsed) == "aad-nurse"
    assert not c.from_bot(parsed)
    install = activity(installed_activity(personal_conversation(), URL))
    assert c.members_added_include_bot(install)
    assert not c.members_added_include_bot(activity(installed_activity(personal_conversation(), URL, bot_added=False)))
    assert c.install_key(install).startswith(f"teams:greeted:{TENANT_ID}:a:")
