"""Posting to the Bot Connector: retries, Retry-After, backoff, what is never re-sent, throttling."""
from __future__ import annotations

import email.utils
import random
import time
from typing import Any, AsyncIterator, List

import pytest
import pytest_asyncio

from bot.edge.metrics import EdgeMetrics
from bot.edge.types import DeliveryError
from bot.teams.connector import Connector, Target, _parse_retry_after
from bot.teams.throttle import TenantThrottle
from mocks.teams import MockConnector, TENANT_ID


class Sleeps:
    def __init__(self) -> None:
        self.waits: List[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest_asyncio.fixture(loop_scope="session")
async def mock() -> AsyncIterator[MockConnector]:
    connector = await MockConnector().start()
    yield connector
    await connector.close()


def make(mock: MockConnector, sleeps: Sleeps, **kwargs: Any):
    tokens: List[str] = []

    async def token() -> str:
        tokens.append("t")
        return f"token-{len(tokens)}"

    client = Connector(token, EdgeMetrics("teams"), sleep=sleeps, rng=random.Random(7), **kwargs)
    return client, Target(mock.service_url, "a:chat;x/y", TENANT_ID)


async def test_429_waits_for_retry_after_plus_jitter(mock: MockConnector) -> None:
    sleeps = Sleeps()
    client, target = make(mock, sleeps)
    mock.fail_next(429, retry_after=3)
    assert await client.send(target, {"type": "message", "text": "hi"}, reply_to="17")
    assert [c.status for c in mock.calls] == [429, 201]
    assert mock.calls[-1].conversation == "a:chat;x/y" and mock.calls[-1].activity_id == "17"  # quoted and decoded
    [wait] = sleeps.waits
    assert 3.0 <= wait <= 3.6
    await client.close()


async def test_412_502_503_504_back_off_exponentially(mock: MockConnector) -> None:
    sleeps = Sleeps()
    client, target = make(mock, sleeps)
    for status in (412, 502, 503, 504):
        mock.fail_next(status)
    await client.send(target, {"type": "message"})
    assert [c.status for c in mock.calls] == [412, 502, 503, 504, 201]
    ceilings = [0.5, 1.0, 2.0, 4.0]
    assert all(c / 2 <= w <= c for w, c in zip(sleeps.waits, ceilings))
    await client.close()


async def test_giving_up_says_whether_the_post_may_have_landed(mock: MockConnector) -> None:
    client, target = make(mock, Sleeps(), max_attempts=2)
    mock.fail_next(504, times=2)
    with pytest.raises(DeliveryError) as unknown:
        await client.send(target, {"type": "message"})
    assert unknown.value.reason == "http_504" and unknown.value.landed is None  # a gateway timeout may have posted
    mock.fail_next(404)
    with pytest.raises(DeliveryError) as gone:
        await client.send(target, {"type": "message"})
    assert gone.value.permanent and gone.value.landed is False
    mock.fail_next(400)
    with pytest.raises(DeliveryError) as bad:
        await client.send(target, {"type": "message"})
    assert not bad.value.permanent and bad.value.landed is False
    mock.fail_next(429, retry_after=600)  # too long to wait: the answer would come too late
    with pytest.raises(DeliveryError):
        await client.send(target, {"type": "message"})
    await client.close()


async def test_401_refreshes_the_token_once(mock: MockConnector) -> None:
    forgotten: List[bool] = []
    client, target = make(mock, Sleeps(), forget_token=lambda: forgotten.append(True))
    mock.fail_next(401)
    await client.send(target, {"type": "message"})
    assert forgotten == [True]
    assert [c.authorization for c in mock.calls] == ["Bearer token-1", "Bearer token-2"]
    await client.close()


async def test_nothing_listening_is_retried_then_reported_as_not_landed() -> None:
    sleeps = Sleeps()
    client, _ = make(MockConnector(), sleeps, max_attempts=3)
    with pytest.raises(DeliveryError) as failed:
        await client.send(Target("http://127.0.0.1:9/", "a:x", TENANT_ID), {"type": "message"})
    assert failed.value.landed is False and len(sleeps.waits) == 2
    await client.close()


async def test_updates_are_put_in_place(mock: MockConnector) -> None:
    client, target = make(mock, Sleeps())
    await client.update(target, "1700", {"type": "message", "text": "new"})
    [call] = mock.calls
    assert call.method == "PUT" and call.activity_id == "1700" and call.data["id"] == "1700"
    await client.close()


def test_retry_after_is_seconds_or_an_http_date() -> None:
    assert _parse_retry_after("2") == 2.0
    assert _parse_retry_after(None) is None and _parse_retry_after("soon") is None
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= _parse_retry_after(later) <= 31


async def test_throttle_allows_at_most_fifty_starts_in_any_second_per_tenant() -> None:
    now = [100.0]

    async def sleep(seconds: float) -> None:
        pass

    throttle = TenantThrottle(clock=lambda: now[0], sleep=sleep)
    starts = []
    for _ in range(170):
        wait = await throttle.wait("tenant-a")
        starts.append(now[0] + wait)
    other = await throttle.wait("tenant-b")
    assert other == 0.0  # tenants are throttled separately
    assert starts[49] == 100.0 and starts[50] == 101.0 and starts[100] == 102.0
    for index, start in enumerate(starts):
        assert sum(1 for s in starts if start <= s < start + 1.0) <= 50, index
