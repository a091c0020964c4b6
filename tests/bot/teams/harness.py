"""The Teams edge as the tests drive it: settings pointing at the mocks, the real service on an
ephemeral loopback port, and a client that sends activities as the Bot Connector does."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from bot.teams.service import TeamsService, start_service
from bot.teams.settings import TeamsSettings
from mocks.teams import Call, ChannelClient, MockConnector, TeamsCloud, message_activity, personal_conversation


def settings_for(cloud: TeamsCloud, **overrides: Any) -> TeamsSettings:
    """Explicit values for everything, so a developer's own TEAMS_* variables cannot leak in."""
    values: Dict[str, Any] = dict(cloud.settings())
    values.update(overrides)
    return TeamsSettings(**values)


@dataclass
class TeamsBot:
    service: TeamsService
    client: ChannelClient
    connector: MockConnector
    cloud: TeamsCloud
    core: Any

    @property
    def service_url(self) -> str:
        return self.connector.service_url

    async def send(self, activity: Dict[str, Any], **kwargs: Any):
        return await self.client.send(activity, **kwargs)

    async def ask(self, text: str, conversation: Dict[str, Any], **kwargs: Any) -> Dict[str, Any]:
        activity = message_activity(text, conversation, self.service_url, **kwargs)
        status, _, _ = await self.send(activity)
        assert status == 201
        return activity

    async def settle(self) -> None:
        """A barrier: ask in a fresh personal chat and wait for its answer, then for every answer
        in flight. Activities are taken in arrival order, so anything sent before has been
        dropped or answered when this returns; no fixed sleeps."""
        conversation = personal_conversation()
        await self.ask("lanreotide dose?", conversation)
        await self.connector.wait_posts(conversation=conversation["id"])
        await self.service.responder.wait_idle()

    def posts_in(self, conversation: Dict[str, Any]) -> List[Call]:
        return self.connector.posts(conversation["id"])


async def start_bot(cloud: TeamsCloud, connector: MockConnector, core: Any, **overrides: Any) -> TeamsBot:
    service = await start_service(settings_for(cloud, **overrides), core, host="127.0.0.1", port=0)
    return TeamsBot(service=service, client=ChannelClient(service.http.url, cloud), connector=connector,
                    cloud=cloud, core=core)


async def stop_bot(bot: TeamsBot, close_core: bool = True) -> None:
    await bot.client.close()
    await bot.service.close()
    if close_core:
        await bot.core.close()


def card_of(call: Call) -> Dict[str, Any]:
    card: Optional[Dict[str, Any]] = call.card()
    assert card is not None, "not a card message"
    return card
