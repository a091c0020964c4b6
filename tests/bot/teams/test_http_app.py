"""The Teams edge end to end over real HTTP on loopback: Connector-signed activities in, Bot
Connector calls out, with the real engine.

Replies are awaited by polling the mock Connector's recorded calls, never by fixed sleeps.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Dict, List

import aiohttp

from bot.edge.messages import APOLOGY, ASK_REASON, GREETING, THANKS
from bot.teams import cards
from knowledge import default_knowledge
from mocks.teams import (
    BOT_ID,
    OTHER_TENANT_ID,
    card_action_activity,
    channel_conversation,
    installed_activity,
    message_activity,
    new_message_id,
    personal_conversation,
)

from .harness import TeamsBot, card_of, start_bot, stop_bot


def statement_containers(card: Dict[str, Any]) -> List[Dict[str, Any]]:
    found: List[Dict[str, Any]] = []

    def walk(elements: List[Dict[str, Any]]) -> None:
        for element in elements:
            if str(element.get("id", "")).startswith("statement:"):
                found.append(element)
            walk(element.get("items") or [])

    walk(card.get("body") or [])
    return found


def runs(element: Dict[str, Any]) -> List[str]:
    return [inline["text"] for item in element.get("items") or [] for inline in item.get("inlines") or []]


async def test_healthz_and_metrics(teams: TeamsBot) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{teams.service.http.url}/healthz") as response:
            assert response.status == 200
            report = await response.json()
            assert report["ok"] is True and report["platform"] == "teams"
        async with session.get(f"{teams.service.http.url}/metrics") as response:
            assert response.status == 200
            assert "carebot_events_received" in await response.text()


async def test_personal_chat_answer_is_an_adaptive_card_quoting_statements_verbatim(teams: TeamsBot) -> None:
    conversation = personal_conversation()
    activity = message_activity("what is the lanreotide dose?", conversation, teams.service_url)
    status, _, elapsed = await teams.send(activity)
    acked_at = time.monotonic()
    assert status == 201 and elapsed < 2.0
    [post] = await teams.connector.wait_posts(conversation=conversation["id"])
    assert post.at >= acked_at  # the acknowledgement did not wait for the answer
    assert post.activity_id == activity["id"]  # a reply to the question
    assert post.data["from"]["id"] == BOT_ID
    assert teams.cloud.authority.valid(post.authorization.split(" ", 1)[1])  # the bot's own token
    card = card_of(post)
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.5"
    assert card["fallbackText"] and "deep subcutaneous" in card["fallbackText"]  # a plain-text fallback
    kb = default_knowledge()
    quoted = statement_containers(card)
    assert quoted, "no statement in the card"
    for container in quoted:
        statement = kb.get(container["id"].split(":", 1)[1])
        texts = runs(container)
        assert texts[0] == statement.text  # verbatim, first thing in its quote
        assert any(t.startswith("Source: ") and statement.citation in t for t in texts)
    # AI-generated content, with citation claims numbered as in the card
    [entity] = [e for e in post.data["entities"] if e.get("@type") == "Message"]
    assert entity["additionalType"] == ["AIGeneratedContent"]
    positions = [claim["position"] for claim in entity["citation"]]
    assert positions == list(range(1, len(positions) + 1))
    assert any(f"[{positions[0]}]" in t for c in quoted for t in runs(c))
    # the safety line closes the card; suggestions and feedback buttons are there
    assert card["body"][-1]["inlines"][0]["text"].startswith("Decision support only")
    assert cards.feedback_ref_in(card) is not None
    assert all(a["data"]["msteams"]["type"] == "messageBack" for a in card.get("actions", []))


async def test_personal_chat_keeps_the_case_across_turns(teams: TeamsBot) -> None:
    conversation = personal_conversation()
    await teams.ask("lanreotide dose?", conversation)
    await teams.connector.wait_posts(conversation=conversation["id"])
    await teams.ask("how is it given?", conversation)
    _, follow_up = await teams.connector.wait_posts(2, conversation=conversation["id"])
    assert "deep subcutaneous" in "\n".join(follow_up.texts())


async def test_channel_thread_is_one_conversation_answered_in_the_thread(teams: TeamsBot) -> None:
    root = new_message_id()
    thread = channel_conversation(root=root)
    channel = thread["id"].split(";")[0]
    first = await teams.ask("lanreotide dose?", thread, mention=True, activity_id=root)
    [answer] = await teams.connector.wait_posts(conversation=thread["id"])
    assert answer.conversation == f"{channel};messageid={root}" and answer.activity_id == first["id"]
    # a reply in the thread keeps the case; another thread in the same channel does not share it
    await teams.ask("how is it given?", thread, mention=True)
    other = channel_conversation(channel=channel)
    await teams.ask("how is it given?", other, mention=True)
    _, follow_up = await teams.connector.wait_posts(2, conversation=thread["id"])
    [elsewhere] = await teams.connector.wait_posts(conversation=other["id"])
    assert "deep subcutaneous" in "\n".join(follow_up.texts())
    assert "deep subcutaneous" not in "\n".join(elsewhere.texts())
    assert elsewhere.conversation == other["id"]


async def test_same_activity_delivered_twice_is_answered_once(teams: TeamsBot) -> None:
    conversation = personal_conversation()
    activity = message_activity("lanreotide dose?", conversation, teams.service_url)
    assert (await teams.send(activity))[0] == 201
    assert (await teams.send(activity))[0] == 201
    await teams.connector.wait_posts(conversation=conversation["id"])
    assert (await teams.send(activity))[0] == 201
    await teams.settle()
    assert len(teams.posts_in(conversation)) == 1


async def test_redelivery_after_a_restart_is_still_answered_once(teams: TeamsBot) -> None:
    """Deliveries are claimed in the persistent state store, not in memory."""
    conversation = personal_conversation()
    activity = message_activity("lanreotide dose?", conversation, teams.service_url)
    await teams.send(activity)
    await teams.connector.wait_posts(conversation=conversation["id"])
    second = await start_bot(teams.cloud, teams.connector, teams.core)
    try:
        assert (await second.send(activity))[0] == 201
        await second.settle()
    finally:
        await stop_bot(second, close_core=False)
    assert len(teams.posts_in(conversation)) == 1


async def test_rate_limited_post_is_retried_after_retry_after(teams: TeamsBot) -> None:
    conversation = personal_conversation()
    teams.connector.fail_next(429, retry_after=1)
    await teams.ask("lanreotide dose?", conversation)
    [post] = await teams.connector.wait_posts(conversation=conversation["id"])
    attempts = teams.connector.of(conversation["id"])
    assert [a.status for a in attempts] == [429, 201]
    assert attempts[1].at - attempts[0].at >= 1.0  # Retry-After was honoured
    assert card_of(post)


async def test_bad_gateway_and_precondition_are_retried_with_backoff(teams: TeamsBot) -> None:
    conversation = personal_conversation()
    teams.connector.fail_next(502)
    teams.connector.fail_next(412)
    await teams.ask("lanreotide dose?", conversation)
    await teams.connector.wait_posts(conversation=conversation["id"])
    assert [a.status for a in teams.connector.of(conversation["id"])] == [502, 412, 201]


async def test_answer_that_cannot_be_posted_gets_an_apology(teams: TeamsBot) -> None:
    conversation = personal_conversation()
    teams.connector.fail_next(400)
    await teams.ask("lanreotide dose?", conversation)
    [apology] = await teams.connector.wait_posts(conversation=conversation["id"])
    assert apology.data["text"] == APOLOGY and apology.data["textFormat"] == "plain"


async def test_feedback_buttons_update_the_card_in_place_and_are_stored(teams: TeamsBot) -> None:
    class Audit:  # an audit trail that numbers its records (dialogues.engine.AuditSink)
        async def record_turn(self, turn: Any, reply: Any, latency_ms: float) -> str:
            return "audit-" + turn.conversation_id[-6:]

        async def close(self) -> None:
            pass

    teams.core.audit = Audit()
    conversation = personal_conversation()
    await teams.ask("lanreotide dose?", conversation)
    [answer] = await teams.connector.wait_posts(conversation=conversation["id"])
    card = card_of(answer)
    ref = cards.feedback_ref_in(card)
    assert ref is not None and ref.audit_id and ref.statement_ids

    async def click(verb: str, data: Dict[str, Any]) -> Dict[str, Any]:
        invoke = card_action_activity(verb, data, conversation, teams.service_url, reply_to=answer.answered_id)
        status, body, _ = await teams.send(invoke)
        assert status == 200
        return body

    thanked = await click(cards.VERB_HELPFUL, ref.to_data())
    assert thanked["statusCode"] == 200 and thanked["type"] == "application/vnd.microsoft.card.adaptive"
    updated = thanked["value"]
    assert THANKS in cards.statement_runs(updated) and cards.feedback_ref_in(updated) is None
    assert statement_containers(updated) == statement_containers(card)  # the answer itself unchanged

    menu = (await click(cards.VERB_NOT_HELPFUL, ref.to_data()))["value"]
    assert ASK_REASON in cards.statement_runs(menu)
    reasons = [a for e in cards._walk(menu["body"]) for a in e.get("actions") or [] if a.get("verb") == cards.VERB_REASON]
    assert {a["data"]["r"] for a in reasons} == {"wrong_statement", "missing_information", "did_not_understand", "too_long"}
    assert not any(e.get("type", "").startswith("Input.") for e in cards._walk(menu["body"]))  # no free text
    too_long = next(a["data"] for a in reasons if a["data"]["r"] == "too_long")
    assert THANKS in cards.statement_runs((await click(cards.VERB_REASON, too_long))["value"])

    rows = [row for row in teams.core.store.feedback() if row.conversation_id == ref.conversation_id]
    assert [(r.helpful, r.reason, r.user) for r in rows] == [
        (True, None, "aad-nurse"), (False, None, "aad-nurse"), (False, "too_long", "aad-nurse")]
    assert {r.audit_id for r in rows} == {ref.audit_id}
    assert all(r.statement_ids == ref.statement_ids for r in rows)
    assert teams.connector.posts(conversation["id"]) == [answer]  # updated through the invoke, not re-posted


async def test_the_same_feedback_invoke_twice_is_stored_once(teams: TeamsBot) -> None:
    conversation = personal_conversation()
    await teams.ask("lanreotide dose?", conversation)
    [answer] = await teams.connector.wait_posts(conversation=conversation["id"])
    ref = cards.feedback_ref_in(card_of(answer))
    invoke = card_action_activity(cards.VERB_HELPFUL, ref.to_data(), conversation, teams.service_url)
    assert (await teams.send(invoke))[0] == 200
    assert (await teams.send(invoke))[0] == 200
    assert len([r for r in teams.core.store.feedback() if r.conversation_id == ref.conversation_id]) == 1


async def test_forged_feedback_data_is_refused(teams: TeamsBot) -> None:
    conversation = personal_conversation()
    invoke = card_action_activity(cards.VERB_REASON, {"c": "teams:x", "s": ["a"], "r": "free text here"},
                                  conversation, teams.service_url)
    status, body, _ = await teams.send(invoke)
    assert status == 200 and body["statusCode"] == 400
    assert teams.core.store.feedback() == []


async def test_install_is_greeted_once_per_conversation(teams: TeamsBot) -> None:
    conversation = personal_conversation()
    assert (await teams.send(installed_activity(conversation, teams.service_url)))[0] == 201
    [greeting] = await teams.connector.wait_posts(conversation=conversation["id"])
    assert greeting.data["text"] == GREETING and greeting.activity_id is None  # a new message, not a reply
    assert (await teams.send(installed_activity(conversation, teams.service_url)))[0] == 201
    assert (await teams.send(installed_activity(conversation, teams.service_url, bot_added=False)))[0] == 201
    team = channel_conversation()
    team["id"] = team["id"].split(";")[0]  # a team install arrives in the General channel
    await teams.send(installed_activity(team, teams.service_url))
    [team_greeting] = await teams.connector.wait_posts(conversation=team["id"])
    assert team_greeting.data["text"] == GREETING and team_greeting.activity_id is None  # a new post
    await teams.settle()
    assert len(teams.posts_in(conversation)) == 1


async def test_other_tenant_is_refused_and_nothing_is_posted(teams: TeamsBot) -> None:
    conversation = personal_conversation()
    conversation["tenantId"] = OTHER_TENANT_ID
    activity = message_activity("lanreotide dose?", conversation, teams.service_url, tenant=OTHER_TENANT_ID)
    assert (await teams.send(activity))[0] == 403
    await teams.settle()
    assert teams.posts_in(conversation) == []


async def test_slow_turn_shows_typing_first(cloud: Any, connector: Any, make_engine: Any, trust_authority: str) -> None:
    engine = make_engine()

    class SlowCore:
        store = engine.store

        async def handle_ordered(self, turn: Any) -> Any:
            import asyncio

            await asyncio.sleep(1.3)
            return await engine.handle_ordered(turn)

    bot = await start_bot(cloud, connector, SlowCore())
    try:
        conversation = personal_conversation()
        await bot.ask("lanreotide dose?", conversation)
        await connector.wait_posts(conversation=conversation["id"])
        calls = connector.of(conversation["id"], activity_type=None)
        assert [c.type for c in calls] == ["typing", "message"]
        assert calls[0].activity_id is None  # typing goes to the conversation, not as a reply
    finally:
        await stop_bot(bot, close_core=False)
        await engine.close()


async def test_logs_name_ids_and_failures_never_message_text(teams: TeamsBot, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG, logger="carebot")
    conversation, secret = personal_conversation(), "Zebulonia"
    teams.connector.fail_next(400)
    activity = message_activity(f"lanreotide dose for {secret}?", conversation, teams.service_url)
    await teams.send(activity)
    await teams.connector.wait_posts(conversation=conversation["id"])  # the apology
    await teams.send(message_activity(f"how is it given to {secret}?", conversation, teams.service_url), token="bad")
    await teams.ask(f"how is it given to {secret}?", conversation)
    await teams.connector.wait_posts(2, conversation=conversation["id"])
    await teams.service.responder.wait_idle()
    logged = [r.getMessage() for r in caplog.records]
    assert any("answer not delivered" in m and activity["id"] in m and "http_400" in m for m in logged)
    assert any(m.startswith("refused status=401") for m in logged)
    assert not [m for m in logged if secret in m]
