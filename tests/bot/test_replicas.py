"""Two real replicas (`carebot serve slack --http` on two ports) sharing one real redis-server.

What a hospital running two replicas behind one endpoint relies on: a retry that lands on the
other replica is not answered twice; messages of one thread spread over both keep every case fact
and are answered in order; a replica killed mid-answer has its delivery answered by the other
after the lease, exactly once; Redis going away gives a clear reply and an unhealthy /healthz,
and carebot recovers when it comes back; no message text is left in Redis.
"""
from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List, Optional

import aiohttp
import pytest
import pytest_asyncio
import redis

from benchmarks.servers import ServerProcess, start_server
from bot.edge import messages
from mocks.redis_server import RedisServer
from mocks.slack import BOT_TOKEN, CHANNEL, TEAM_ID, MockWebApi, Post, mention_body, new_signing_secret, sign

LEASE_SECONDS = 3.0  # short, so a dead replica's delivery is taken over within seconds
NAME = "Jane Roe"  # a made-up patient name: must never be at rest once answered
REDIS_DB = 63


class Replicas:
    def __init__(self, workdir: Path, redis_server: RedisServer) -> None:
        self.workdir = workdir
        self.redis_server = redis_server
        self.redis_url = redis_server.url_for(REDIS_DB)
        self.secret = new_signing_secret()
        self.mock = MockWebApi().start()
        self.servers: List[ServerProcess] = []
        self._ts = int(time.time()) * 1000

    def env(self) -> Dict[str, str]:
        return {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": self.secret,
                "SLACK_API_URL": self.mock.api_url, "CAREBOT_REDIS_URL": self.redis_url,
                "CAREBOT_CLAIM_LEASE_SECONDS": str(LEASE_SECONDS),
                "CAREBOT_STATE_PATH": str(self.workdir / "unused.db")}

    async def start(self, number: int) -> ServerProcess:
        server = await start_server("slack", self.workdir, self.env(), name=f"replica-{number}-{uuid.uuid4().hex[:4]}")
        if number < len(self.servers):
            self.servers[number] = server
        else:
            self.servers.append(server)
        return server

    def ts(self) -> str:
        self._ts += 1
        return f"{self._ts // 1000}.{self._ts % 1000:06d}"

    def event(self, text: str, thread: Optional[str] = None, channel: str = CHANNEL) -> bytes:
        ts = self.ts()
        body = mention_body(text, ts, thread, "Ev" + uuid.uuid4().hex[:12].upper(), str(uuid.uuid4()),
                            channel=channel)
        return json.dumps(body).encode()

    async def send(self, replica: int, body: bytes, retry: int = 0) -> int:
        headers = {"Content-Type": "application/json", **sign(body, self.secret)}
        if retry:
            headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"})
        async with aiohttp.ClientSession() as session:
            async with session.post(self.servers[replica].url + "/slack/events", data=body, headers=headers,
                                    timeout=aiohttp.ClientTimeout(total=5)) as response:
                return response.status

    def posts(self, channel: str) -> List[Post]:
        return [post for post in list(self.mock.posts) if post.channel == channel]

    async def wait_posts(self, channel: str, count: int, timeout: float = 30.0) -> List[Post]:
        deadline = time.monotonic() + timeout
        while len(self.posts(channel)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.posts(channel))} of {count} replies in {channel}:\n"
                                     + "\n".join(s.log_tail(5) for s in self.servers))
            await asyncio.sleep(0.05)
        return self.posts(channel)

    async def health(self, replica: int) -> int:
        async with aiohttp.ClientSession() as session:
            async with session.get(self.servers[replica].url + "/healthz",
                                   timeout=aiohttp.ClientTimeout(total=5)) as response:
                return response.status


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def replicas(redis_server: RedisServer, tmp_path_factory: Any) -> AsyncIterator[Replicas]:
    redis_server.start()
    redis_server.flush(REDIS_DB)
    group = Replicas(tmp_path_factory.mktemp("replicas"), redis_server)
    await group.start(0)
    await group.start(1)
    await asyncio.gather(*(server.ready(300) for server in group.servers))
    yield group
    for server in group.servers:
        await server.stop(30)
    group.mock.close()
    redis_server.start()
    redis_server.flush(REDIS_DB)


def channel() -> str:
    return "C" + uuid.uuid4().hex[:10].upper()


async def test_an_event_and_its_retry_on_different_replicas_get_one_reply(replicas: Replicas) -> None:
    where = channel()
    body = replicas.event("lanreotide dose?", channel=where)
    assert await replicas.send(0, body) == 200
    assert await replicas.send(1, body, retry=1) == 200
    [reply] = await replicas.wait_posts(where, 1)
    await asyncio.sleep(1.0)  # a duplicate would arrive now
    assert len(replicas.posts(where)) == 1 and "120 mg" in reply.text


async def test_one_thread_over_both_replicas_keeps_every_fact_in_order(replicas: Replicas) -> None:
    from dialogues.redis_store import RedisStore

    where = channel()
    root = replicas.ts()
    first = mention_body("pt is SSTR positive", root, None, "Ev" + uuid.uuid4().hex[:12].upper(),
                         str(uuid.uuid4()), channel=where)
    bodies = [json.dumps(first).encode(),
              replicas.event("the disease is unresectable", thread=root, channel=where),
              replicas.event("tumour is well differentiated", thread=root, channel=where)]
    for number, body in enumerate(bodies):
        assert await replicas.send(number % 2, body) == 200
        await asyncio.sleep(0.005)  # milliseconds apart, alternating replicas
    replies = await replicas.wait_posts(where, 3)
    # every reply acknowledges its own message's fact, in the order they were sent
    for reply, fact in zip(replies, ("SSTR-positive", "unresectable", "well differentiated")):
        assert fact.lower() in reply.text.lower(), [r.text[:80] for r in replies]
    store = await RedisStore.connect(replicas.redis_url, ttl_seconds=3600)
    try:
        state = await store.load(f"slack:{TEAM_ID}:{where}:{root}")
    finally:
        await store.close()
    assert state is not None
    assert (state.slots["sstr_status"], state.slots["resectability"], state.slots["differentiation"]) == (
        "positive", "unresectable", "well")


async def test_redis_lost_gives_a_clear_reply_and_carebot_recovers(replicas: Replicas) -> None:
    replicas.redis_server.stop()
    try:
        where = channel()
        assert await replicas.send(1, replicas.event("lanreotide dose?", channel=where)) == 200
        [reply] = await replicas.wait_posts(where, 1)
        assert reply.text.startswith(messages.UNAVAILABLE[:40])
        assert await replicas.health(1) == 503
    finally:
        replicas.redis_server.start()
    deadline = time.monotonic() + 20
    while await replicas.health(1) != 200:
        assert time.monotonic() < deadline, "healthz did not recover"
        await asyncio.sleep(0.2)
    where = channel()
    assert await replicas.send(1, replicas.event("lanreotide dose?", channel=where)) == 200
    [reply] = await replicas.wait_posts(where, 1)
    assert "120 mg" in reply.text
    assert all(server.running for server in replicas.servers)


async def test_no_message_text_is_left_in_redis(replicas: Replicas) -> None:
    where = channel()
    assert await replicas.send(0, replicas.event(f"for {NAME} MRN 7734120 what is the lanreotide dose?",
                                                 channel=where)) == 200
    await replicas.wait_posts(where, 1)
    await asyncio.sleep(0.5)  # the answered mark follows the post
    client = redis.Redis.from_url(replicas.redis_url)
    found = []
    try:
        for key in client.scan_iter(count=1000):
            kind = client.type(key).decode()
            if kind == "string":
                values = [client.get(key) or b""]
            elif kind == "hash":
                values = list(client.hgetall(key).values()) + list(client.hkeys(key))
            elif kind == "zset":
                values = [member for member, _ in client.zrange(key, 0, -1, withscores=True)]
            elif kind == "list":
                values = client.lrange(key, 0, -1)
            elif kind == "set":
                values = list(client.smembers(key))
            elif kind == "stream":
                values = [v for _, fields in client.xrange(key) for v in fields.values()]
            else:
                values = []
            for value in [key, *values]:
                if NAME.encode() in value or b"7734120" in value:
                    found.append(key.decode())
    finally:
        client.close()
    assert found == []


# last: it leaves one replica dead
async def test_a_replica_killed_mid_answer_is_covered_by_the_other_exactly_once(replicas: Replicas) -> None:
    where = channel()
    # replica 0 is stuck waiting out Slack's Retry-After when it dies: nothing has landed
    replicas.mock.call(lambda slack: slack.rate_limit(where, times=1, retry_after=30))
    assert await replicas.send(0, replicas.event("octreotide dose?", channel=where)) == 200
    deadline = time.monotonic() + 30
    while not replicas.mock.call(lambda slack: slack.counts.get("chat.postMessage", 0)) or \
            replicas.mock.call(lambda slack: len(slack._faults.get("chat.postMessage", []))):
        assert time.monotonic() < deadline, "replica 0 never tried to post"
        await asyncio.sleep(0.05)
    await replicas.servers[0].kill()
    killed_at = time.monotonic()
    [reply] = await replicas.wait_posts(where, 1, timeout=LEASE_SECONDS * 6)
    assert time.monotonic() - killed_at >= LEASE_SECONDS * 0.5  # after the lease, by the survivor
    assert "octreotide" in reply.text.lower()
    await asyncio.sleep(LEASE_SECONDS)  # nobody answers it again
    assert len(replicas.posts(where)) == 1
