"""Fixtures: Microsoft's side of Teams mocked on loopback, and the real Teams edge served against it.

`TeamsCloud` (the Connector's signing keys, its OpenID metadata and JWKS, and a TLS token
authority) is started once per session; each test gets its own mock Bot Connector, its own engine
(on the session's loaded model, with its own SQLite store) and the real Teams service on an
ephemeral port. REQUESTS_CA_BUNDLE points at the authority's self-signed certificate only while a
test runs. Nothing here touches the network beyond 127.0.0.1.
"""
from __future__ import annotations

from typing import Any, AsyncIterator, Iterator

import pytest
import pytest_asyncio

from mocks.teams import MockConnector, TeamsCloud

from .harness import TeamsBot, start_bot, stop_bot


@pytest.fixture(scope="session")
def cloud() -> Iterator[TeamsCloud]:
    started = TeamsCloud().start()
    yield started
    started.close()


@pytest.fixture
def trust_authority(cloud: TeamsCloud, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", cloud.ca_bundle)
    return cloud.ca_bundle


@pytest_asyncio.fixture(loop_scope="session")
async def connector(cloud: TeamsCloud) -> AsyncIterator[MockConnector]:
    mock = await MockConnector(accept_token=cloud.authority.valid).start()
    yield mock
    await mock.close()


@pytest_asyncio.fixture(loop_scope="session")
async def teams(cloud: TeamsCloud, connector: MockConnector, make_engine: Any, trust_authority: str) -> AsyncIterator[TeamsBot]:
    running = await start_bot(cloud, connector, make_engine())
    yield running
    await stop_bot(running)
