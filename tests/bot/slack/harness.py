"""The bot as the tests drive it: settings pointing at the mock Slack, the real service on an
ephemeral loopback port, and a signed-request client."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List

from bot.slack.service import SlackService, start_service
from bot.slack.settings import Mode, SlackSettings

from .mock_slack import BOT_TOKEN, Call, MockSlack
from .slack_requests import SIGNING_SECRET, BotClient, event_body, message, new_id


def settings_for(slack: MockSlack, **overrides: Any) -> SlackSettings:
    """Explicit values for everything, so a developer's own SLACK_* variables cannot leak in."""
    values: Dict[str, Any] = dict(
        bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET, app_token=None,
        api_url=slack.api_url, allowed_channels_raw=None,
    )
    values.update(overrides)
    return SlackSettings(**values)


@dataclass
class Bot:
    service: SlackService
    client: BotClient
    slack: MockSlack

    async def settle(self) -> None:
        """A barrier: ask a question in a fresh DM and wait for its answer, then for every answer
        in flight. Listeners run in arrival order, so anything sent before this has been either
        dropped or answered when it returns; no fixed sleeps."""
        channel = new_id("D")
        status, _, _ = await self.client.event(event_body(message("lanreotide dose?", channel)))
        assert status == 200
        await self.slack.wait_posts(channel=channel)
        await self.service.responder.wait_idle()

    def posts_in(self, channel: str) -> List[Call]:
        return self.slack.posts(channel=channel)


async def start_bot(engine: Any, slack: MockSlack, **overrides: Any) -> Bot:
    service = await start_service(settings_for(slack, **overrides), engine, Mode.http, host="127.0.0.1", port=0)
    assert service.http is not None
    return Bot(service=service, client=BotClient(service.http.url), slack=slack)


async def stop_bot(bot: Bot) -> None:
    await bot.client.close()
    await bot.service.close()


def answer_text(call: Call) -> str:
    """All the text of one posted message, blocks included."""
    return "\n".join(call.texts())
