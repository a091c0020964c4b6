"""Bolt listeners: Slack payloads in, `Question`s out. Nothing clinical happens here.

Each listener decides whether a payload is something carebot should answer (a mention, a DM, the
slash command, a click on one of its buttons), claims the delivery so a retry is not answered
twice, and hands the question to the `Responder`. Events are acknowledged by Bolt before the
listener runs; commands and clicks call `ack()` first. With `process_before_response=False` the
listener itself runs after the HTTP response is on its way, so the model never delays an ack.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Dict, FrozenSet, Mapping, Optional

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.render.blocks import (
    ACTION_HELPFUL,
    ACTION_NOT_HELPFUL,
    ACTION_SHARE,
    ACTION_SUGGESTION_PREFIX,
    FeedbackValue,
)
from bot.slack import dedup
from bot.slack.conversations import (
    ViaResponseUrl,
    is_direct,
    place_of_action,
    place_of_command,
    place_of_message,
)
from bot.slack.responder import Question, Responder
from bot.slack.webapi import BotIdentity
from dialogues.store import StateStore

log = logging.getLogger("carebot.slack")

COMMAND = "/carebot"
REFUSAL = (
    "Sorry, I'm not set up to answer in this channel. You can ask me in a direct message, "
    "or ask a workspace admin to add this channel to carebot's allowed channels."
)
USAGE = "Ask a question after the command, for example: /carebot what is the lanreotide dose?"
THANKS = "Thanks, your feedback was recorded."


@dataclass
class Listeners:
    """The listener functions, bound to what they need. Registered on an AsyncApp by `register`."""

    identity: BotIdentity
    responder: Responder
    store: StateStore
    allowed_channels: FrozenSet[str] = frozenset()

    def allowed(self, channel: str) -> bool:
        """The allowlist governs channels; a DM with carebot is always allowed."""
        return not self.allowed_channels or is_direct(channel) or channel in self.allowed_channels

    # ---- events -------------------------------------------------------------------------------

    async def on_mention(self, body: Dict[str, Any], event: Dict[str, Any]) -> None:
        reason = ignore_reason(self.identity, event)
        if reason:
            log.debug("ignored event=%s reason=%s", body.get("event_id"), reason)
            return
        await self._take_message(body, event)

    async def on_message(self, body: Dict[str, Any], event: Dict[str, Any]) -> None:
        reason = ignore_reason(self.identity, event)
        if not reason and event.get("channel_type") != "im":
            # Channel messages reach carebot only as app_mention; others do not address it.
            reason = "not_addressed"
        if reason:
            log.debug("ignored event=%s reason=%s", body.get("event_id"), reason)
            return
        await self._take_message(body, event)

    async def on_other_event(self, body: Dict[str, Any]) -> None:
        """Acknowledged and dropped: an unhandled event would get a 404, and Slack retries those."""
        log.debug("ignored event=%s type=%s", body.get("event_id"), (body.get("event") or {}).get("type"))

    async def _take_message(self, body: Dict[str, Any], event: Dict[str, Any]) -> None:
        team_id = str(body.get("team_id") or self.identity.team_id)
        place = place_of_message(team_id, event)
        ref = str(body.get("event_id") or event.get("ts"))
        if not await dedup.first_event_delivery(self.store, body):
            log.info("duplicate delivery event=%s", ref)
            return
        if not self.allowed(place.channel):
            if await dedup.first_refusal(self.store, team_id, place.channel):
                log.info("refused channel=%s event=%s", place.channel, ref)
                self.responder.notify(place.destination, REFUSAL, ref)
            return
        self.responder.ask(Question(place=place, text=str(event.get("text") or ""), user=event.get("user"), ref=ref))

    # ---- the slash command ----------------------------------------------------------------------

    async def on_command(self, ack: AsyncAck, body: Dict[str, Any]) -> None:
        text = str(body.get("text") or "").strip()
        channel = str(body.get("channel_id") or "")
        if not self.allowed(channel):
            await ack(text=REFUSAL)
            return
        if not text:
            await ack(text=USAGE)
            return
        await ack()
        if not body.get("response_url") or not body.get("user_id") or not body.get("team_id"):
            log.warning("command without response_url/user/team trigger=%s", body.get("trigger_id"))
            return
        if not await dedup.first_command_delivery(self.store, body):
            return
        self.responder.ask(
            Question(
                place=place_of_command(body),
                text=text,
                user=str(body["user_id"]),
                ref=str(body.get("trigger_id") or "command"),
                asked=text,
                private=True,
            )
        )

    # ---- buttons --------------------------------------------------------------------------------

    async def on_suggestion(self, ack: AsyncAck, body: Dict[str, Any], action: Dict[str, Any]) -> None:
        await ack()
        place = place_of_action(body)
        question = str(action.get("value") or "").strip()
        if place is None or not question or not self.allowed(place.channel):
            log.info("suggestion click ignored action_ts=%s", action.get("action_ts"))
            return
        if not await dedup.first_click(self.store, body, action):
            return
        user = (body.get("user") or {}).get("id")
        self.responder.ask(
            Question(
                place=place,
                text=question,
                user=user,
                ref=f"click:{action.get('action_ts')}",
                asked=question,
                private=isinstance(place.destination, ViaResponseUrl),
            )
        )

    async def on_feedback(self, ack: AsyncAck, body: Dict[str, Any], action: Dict[str, Any]) -> None:
        await ack()
        value = FeedbackValue.decode(str(action.get("value") or ""))
        if value is None or not value.conversation_id.startswith("slack:"):
            log.warning("feedback with an unreadable value action_ts=%s", action.get("action_ts"))
            return
        if not await dedup.first_click(self.store, body, action):
            return
        user = (body.get("user") or {}).get("id")
        helpful = action.get("action_id") == ACTION_HELPFUL
        await self.store.add_feedback(value.conversation_id, value.statement_ids, helpful, user)
        log.info("feedback conversation=%s helpful=%s statements=%s",
                 value.conversation_id, helpful, ",".join(value.statement_ids) or "-")
        if body.get("response_url"):
            self.responder.notify(ViaResponseUrl(str(body["response_url"])), THANKS, f"click:{action.get('action_ts')}")

    async def on_share(self, ack: AsyncAck, body: Dict[str, Any], action: Dict[str, Any]) -> None:
        await ack()
        url, user = body.get("response_url"), (body.get("user") or {}).get("id")
        token = str(action.get("value") or "")
        if not url or not user or not token:
            return
        if not await dedup.first_click(self.store, body, action):
            return
        self.responder.share(token, str(user), ViaResponseUrl(str(url)), f"click:{action.get('action_ts')}")


def ignore_reason(identity: BotIdentity, event: Mapping[str, Any]) -> Optional[str]:
    """Why a message event is not a question for carebot, or None if it is one."""
    if event.get("subtype"):
        return "subtype"  # edits, deletions, joins, bot_message, file shares...
    if event.get("bot_id") or event.get("bot_profile"):
        return "bot"
    if event.get("edited"):
        return "edited"
    user = event.get("user")
    if not user or user == identity.user_id:
        return "self" if user else "no_user"
    if not str(event.get("text") or "").strip():
        return "empty"
    if not event.get("channel") or not event.get("ts"):
        return "incomplete"
    return None


def register(app: AsyncApp, listeners: Listeners) -> AsyncApp:
    app.event("app_mention")(listeners.on_mention)
    app.event("message")(listeners.on_message)
    app.event(re.compile(r"^(?!app_mention$|message$).+"))(listeners.on_other_event)
    app.command(COMMAND)(listeners.on_command)
    app.action(re.compile(rf"^{ACTION_SUGGESTION_PREFIX}(_\d+)?$"))(listeners.on_suggestion)
    app.action(ACTION_HELPFUL)(listeners.on_feedback)
    app.action(ACTION_NOT_HELPFUL)(listeners.on_feedback)
    app.action(ACTION_SHARE)(listeners.on_share)
    return app


class _TokenFromEnvNotice(logging.Filter):
    """Bolt warns that SLACK_BOT_TOKEN from the environment is unused when a client is given;
    that is intended here (the token comes from `authorize`), so the warning is only noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def build_app(
    *,
    identity: BotIdentity,
    bot_token: str,
    signing_secret: Optional[str],
    client: AsyncWebClient,
    listeners: Listeners,
) -> AsyncApp:
    """An AsyncApp for one workspace. Authorization reuses the start-up auth.test result, so
    no request waits on a second auth.test; request verification stays on (HTTP mode)."""
    result = AuthorizeResult(
        enterprise_id=identity.enterprise_id,
        team_id=identity.team_id,
        team=identity.team,
        url=identity.url,
        bot_user_id=identity.user_id,
        bot_id=identity.bot_id,
        bot_token=bot_token,
    )

    async def authorize() -> AuthorizeResult:
        return result

    bolt_logger = logging.getLogger("slack_bolt.carebot")
    if not any(isinstance(f, _TokenFromEnvNotice) for f in bolt_logger.filters):
        bolt_logger.addFilter(_TokenFromEnvNotice())
    app = AsyncApp(
        # Bolt configures a logger named after the app on every request (level, handlers): keep
        # it inside the slack_bolt hierarchy, away from our own "carebot" loggers.
        name="slack_bolt.app.carebot",
        logger=bolt_logger,
        client=client,  # token-less: the token comes from `authorize` for each request
        signing_secret=signing_secret or "",
        authorize=authorize,
        process_before_response=False,
        request_verification_enabled=True,
    )
    return register(app, listeners)
