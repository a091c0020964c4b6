"""The audit trail in Redis, for several replicas: a stream, appended to by one Lua script.

Redis's Lua has no SHA-256, so the hash is computed here and the script does a compare-and-append:
it appends only if the chain's head is still the one the record was linked to, and moves the head
in the same step (scripts run atomically). A replica that lost the race gets the new head back,
relinks its record and tries again. The chain is therefore linear across replicas, and a replica
normally appends in one round trip (it remembers the head it last wrote).

Keys share one hash tag, so the script also works on a Redis Cluster. None of them expires:
audit records do not expire with conversations. Run Redis with persistence (AOF) and a
`noeviction` policy, or the audit is only as durable as memory.
"""
from __future__ import annotations

import asyncio
import json
from typing import Any, AsyncIterator, Dict, List, Optional, Sequence, Tuple

from audit.chain import GENESIS, seal
from audit.record import parse_time
from audit.store import BodyFactory, Head, Stored, constant

DEFAULT_PREFIX = "carebot:audit"
TIMEOUT_SECONDS = 5.0
_BATCH = 500
_MAX_ATTEMPTS = 100

# KEYS: stream, head, id index. ARGV: the head the first record links to ("" for the first record
# of the chain), the new head, then each record's JSON and id. Appends all of them, or none and
# returns the current head: {1, last entry id} or {0, head}.
_APPEND = """
local head = redis.call('GET', KEYS[2]) or ''
if head ~= ARGV[1] then
  return {0, head}
end
local entry = ''
for i = 3, #ARGV, 2 do
  entry = redis.call('XADD', KEYS[1], '*', 'r', ARGV[i])
  redis.call('HSET', KEYS[3], ARGV[i + 1], entry)
end
redis.call('SET', KEYS[2], ARGV[2])
return {1, entry}
"""


class RedisAuditStore:
    def __init__(self, client: Any, prefix: str = DEFAULT_PREFIX, url: str = "") -> None:
        self._redis = client
        self.url = url
        tag = "{" + prefix + "}"
        self.records_key = f"{tag}:records"
        self.head_key = f"{tag}:head"
        self.ids_key = f"{tag}:ids"
        self.kb_key = f"{tag}:kb"
        self._append = client.register_script(_APPEND)
        self._lock = asyncio.Lock()
        self._head: Optional[Head] = None
        self._head_known = False

    @classmethod
    def connect(cls, url: str, prefix: str = DEFAULT_PREFIX,
                timeout_seconds: float = TIMEOUT_SECONDS) -> "RedisAuditStore":
        """A client for `url` (redis:// or rediss://). It connects on first use; a silent Redis
        fails a call within `timeout_seconds` instead of holding the writer forever."""
        from urllib.parse import urlsplit

        from redis.asyncio import Redis

        if urlsplit(url).scheme not in ("redis", "rediss"):
            raise ValueError("CAREBOT_REDIS_URL must start with redis:// or rediss://")
        client = Redis.from_url(url, decode_responses=True, socket_connect_timeout=timeout_seconds,
                                socket_timeout=timeout_seconds)
        return cls(client, prefix, url)

    def describe(self) -> str:
        where = self.url.split("@")[-1] if self.url else "Redis"  # never print a password from the URL
        return f"Redis {where} (stream {self.records_key})"

    async def append(self, make_body: BodyFactory) -> Dict[str, Any]:
        return (await self._append_all([make_body]))[0]

    async def append_many(self, bodies: Sequence[Dict[str, Any]]) -> List[Dict[str, Any]]:
        return await self._append_all([constant(body) for body in bodies])

    async def _append_all(self, factories: Sequence[BodyFactory]) -> List[Dict[str, Any]]:
        if not factories:
            return []
        async with self._lock:  # one append at a time per process; replicas race through the script
            if not self._head_known:
                self._head, self._head_known = await self.head(), True
            head = self._head
            for _ in range(_MAX_ATTEMPTS):
                seq, prev = (head.seq, head.hash) if head else (0, GENESIS)
                records: List[Dict[str, Any]] = []
                args: List[str] = []
                for make_body in factories:
                    seq += 1
                    record, raw = seal(make_body(seq, prev), seq, prev)
                    prev = record["hash"]
                    records.append(record)
                    args += [raw, record["id"]]
                last = records[-1]
                new = Head(last["seq"], last["id"], last["hash"])
                done, value = await self._append(keys=[self.records_key, self.head_key, self.ids_key],
                                                 args=[head.encode() if head else "", new.encode(), *args])
                if int(done) == 1:
                    self._head = new
                    return records
                head = Head.decode(value) if value else None
            self._head_known = False
            raise RuntimeError(f"audit append to {self.records_key} lost {_MAX_ATTEMPTS} races in a row")

    async def get(self, record_id: str) -> Optional[Dict[str, Any]]:
        entry = await self._redis.hget(self.ids_key, record_id)
        if entry is None:
            return None
        found = await self._redis.xrange(self.records_key, entry, entry)
        return json.loads(found[0][1]["r"]) if found else None

    async def last(self) -> Optional[Dict[str, Any]]:
        found = await self._redis.xrevrange(self.records_key, "+", "-", count=1)
        return json.loads(found[0][1]["r"]) if found else None

    async def _entries(self) -> AsyncIterator[Tuple[str, str]]:
        start = "-"
        while True:
            batch: List[Tuple[str, Dict[str, str]]] = await self._redis.xrange(self.records_key, start, "+",
                                                                               count=_BATCH)
            for entry, fields in batch:
                yield entry, fields.get("r", "")
            if len(batch) < _BATCH:
                return
            start = "(" + batch[-1][0]

    async def scan(self, since: Optional[float] = None, until: Optional[float] = None) -> AsyncIterator[Stored]:
        async for entry, raw in self._entries():
            if since is not None or until is not None:
                at = _at(raw)
                if at is None or (since is not None and at < since) or (until is not None and at >= until):
                    continue
            yield Stored(where=f"stream entry {entry}", raw=raw)

    async def head(self) -> Optional[Head]:
        raw = await self._redis.get(self.head_key)
        return Head.decode(raw) if raw else None

    async def put_snapshot(self, version: str, payload: str) -> bool:
        return bool(await self._redis.hsetnx(self.kb_key, version, payload))

    async def snapshot(self, version: str) -> Optional[str]:
        return await self._redis.hget(self.kb_key, version)

    async def first_at_or_after(self, cutoff: float) -> Optional[Dict[str, Any]]:
        async for _, raw in self._entries():
            at = _at(raw)
            if at is not None and at >= cutoff:
                return json.loads(raw)
        return None

    async def delete_through(self, seq: int) -> int:
        removed = 0
        entries: List[str] = []
        ids: List[str] = []
        async for entry, raw in self._entries():
            record = json.loads(raw)
            if record["seq"] > seq:
                break
            entries.append(entry)
            ids.append(record["id"])
        for start in range(0, len(entries), _BATCH):
            removed += int(await self._redis.xdel(self.records_key, *entries[start:start + _BATCH]))
            await self._redis.hdel(self.ids_key, *ids[start:start + _BATCH])
        return removed

    async def close(self) -> None:
        await self._redis.close()


def _at(raw: str) -> Optional[float]:
    try:
        return parse_time(json.loads(raw)["at"])
    except (TypeError, ValueError, KeyError):
        return None
