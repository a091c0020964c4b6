"""Bolt listeners: Slack payloads in, `Incoming` messages out. Nothing clinical happens here.

Each listener decides whether a payload is something carebot should answer (a mention, a DM, the
slash command, a click on one of its buttons) and hands it to the shared responder, which claims
the delivery (so a retry, here or at another replica, is not answered twice) and answers it in the
background. With `process_before_response=True` the listener (translate and claim: one store
write) runs before Slack gets its 200, so an acknowledged delivery is always claimed, with what it
takes to answer it after a crash; the model never delays the ack, since answering is a background
task. Commands and clicks call `ack()` first.
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

from bot.edge import messages
from bot.edge.responder import Responder
from bot.edge.types import DeliveryError, Incoming
from bot.slack import dedup
from bot.slack.blocks import (
    ACTION_FEEDBACK_REASON,
    ACTION_HELPFUL,
    ACTION_NOT_HELPFUL,
    ACTION_SHARE,
    ACTION_SUGGESTION_PREFIX,
    FeedbackValue,
    render_reason_menu,
)
from bot.slack.markup import plain_text
from bot.slack.conversations import (
    ViaResponseUrl,
    is_direct,
    place_of_action,
    place_of_command,
    place_of_message,
    route_of,
)
from bot.slack.outbound import SlackOutbound
from bot.slack.webapi import BotIdentity
from dialogues.store import FEEDBACK_REASONS, Feedback, StateStore, StoreUnavailable

log = logging.getLogger("carebot.slack")

PLATFORM = "slack"
COMMAND = "/carebot"
USAGE = "Ask a question after the command, for example: /carebot what is the lanreotide dose?"


@dataclass
class Listeners:
    """The listener functions, bound to what they need. Registered on an AsyncApp by `register`."""

    identity: BotIdentity
    responder: Responder
    outbound: SlackOutbound
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
        if not self.allowed(place.channel):
            if await self.responder.once(dedup.refusal_key(team_id, place.channel)):
                log.info("refused channel=%s event=%s", place.channel, ref)
                self.responder.notify(place.route, messages.REFUSAL, ref)
            return
        await self.responder.take(Incoming(
            platform=PLATFORM, keys=dedup.message_keys(body), conversation_id=place.conversation_id,
            text=plain_text(str(event.get("text") or "")), user=event.get("user"), route=place.route, ref=ref,
        ))

    # ---- the slash command ----------------------------------------------------------------------

    async def on_command(self, ack: AsyncAck, body: Dict[str, Any]) -> None:
        text = str(body.get("text") or "").strip()
        channel = str(body.get("channel_id") or "")
        if not self.allowed(channel):
            await ack(text=messages.REFUSAL)
            return
        if not text:
            await ack(text=USAGE)
            return
        await ack()
        if not body.get("response_url") or not body.get("user_id") or not body.get("team_id"):
            log.warning("command without response_url/user/team trigger=%s", body.get("trigger_id"))
            return
        place = place_of_command(body)
        await self.responder.take(Incoming(
            platform=PLATFORM, keys=dedup.command_keys(body), conversation_id=place.conversation_id,
            text=plain_text(text), user=str(body["user_id"]), route=place.route,
            ref=str(body.get("trigger_id") or "command"), asked=text, private=True,
        ))

    # ---- buttons --------------------------------------------------------------------------------

    async def on_suggestion(self, ack: AsyncAck, body: Dict[str, Any], action: Dict[str, Any]) -> None:
        await ack()
        place = place_of_action(body)
        question = str(action.get("value") or "").strip()
        if place is None or not question or not self.allowed(place.channel):
            log.info("suggestion click ignored action_ts=%s", action.get("action_ts"))
            return
        user = (body.get("user") or {}).get("id")
        await self.responder.take(Incoming(
            platform=PLATFORM, keys=(dedup.click_key(body, action),), conversation_id=place.conversation_id,
            text=question, user=user, route=place.route, ref=f"click:{action.get('action_ts')}",
            asked=question, private=isinstance(place.destination, ViaResponseUrl),
        ))

    async def on_feedback(self, ack: AsyncAck, body: Dict[str, Any], action: Dict[str, Any]) -> None:
        """Helpful / not helpful; a not-helpful click offers an optional reason from a fixed menu
        (never free text, which would invite patient details)."""
        await ack()
        value = FeedbackValue.decode(str(action.get("value") or ""))
        if value is None or not value.conversation_id.startswith("slack:"):
            log.warning("feedback with an unreadable value action_ts=%s", action.get("action_ts"))
            return
        on_menu = str(action.get("action_id") or "").startswith(ACTION_FEEDBACK_REASON)
        reason = value.reason if on_menu else None
        if on_menu and reason not in FEEDBACK_REASONS:
            log.warning("feedback reason not on the menu action_ts=%s", action.get("action_ts"))
            return
        if not await self.responder.once(dedup.click_key(body, action)):
            return
        user = (body.get("user") or {}).get("id")
        helpful = action.get("action_id") == ACTION_HELPFUL
        try:
            await self.store.add_feedback(Feedback(
                value.conversation_id, tuple(value.statement_ids), helpful, user, reason, value.audit_id))
        except StoreUnavailable:
            log.error("feedback not stored error=StoreUnavailable")
            return
        log.info("feedback conversation=%s helpful=%s reason=%s statements=%s", value.conversation_id,
                 helpful, reason or "-", ",".join(value.statement_ids) or "-")
        url = body.get("response_url")
        if not url:
            return
        ref = f"click:{action.get('action_ts')}"
        route = route_of(ViaResponseUrl(str(url)))
        if action.get("action_id") == ACTION_NOT_HELPFUL:
            self.responder.background(self._post(ViaResponseUrl(str(url)), render_reason_menu(value), ref))
        else:
            self.responder.notify(route, messages.THANKS, ref)

    async def on_share(self, ack: AsyncAck, body: Dict[str, Any], action: Dict[str, Any]) -> None:
        await ack()
        url, user = body.get("response_url"), (body.get("user") or {}).get("id")
        token = str(action.get("value") or "")
        if not url or not user or not token:
            return
        if not await self.responder.once(dedup.click_key(body, action)):
            return
        self.responder.background(self._share(token, str(user), ViaResponseUrl(str(url)),
                                              f"click:{action.get('action_ts')}"))

    async def _share(self, token: str, user: str, destination: ViaResponseUrl, ref: str) -> None:
        try:
            shared = await self.outbound.share(token, user, destination)
        except (DeliveryError, StoreUnavailable) as exc:
            log.error("share not delivered ref=%s error=%s", ref, getattr(exc, "reason", type(exc).__name__))
            self.responder.notify(route_of(destination), messages.APOLOGY, ref)
            return
        if not shared:
            self.responder.notify(route_of(destination), messages.SHARE_EXPIRED, ref)

    async def _post(self, destination: ViaResponseUrl, message: Any, ref: str) -> None:
        try:
            await self.outbound.poster.post(destination, message)
        except DeliveryError as exc:
            log.error("notice not delivered ref=%s error=%s", ref, exc.reason)


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
    app.action(re.compile(rf"^{ACTION_FEEDBACK_REASON}_[a-z_]+$"))(listeners.on_feedback)
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
        # the listener (translate + claim) runs before the 200: an acked delivery is always claimed
        process_before_response=True,
        request_verification_enabled=True,
    )
    return register(app, listeners)
