"""The state store in Redis, for several replicas behind one endpoint (CAREBOT_REDIS_URL).

The semantics are `SQLiteStore`'s (see `dialogues.store`); what changes is who can see them:

- Conversations are hashes {state, version, writer} that Redis expires when idle; `save` is a
  compare-and-set on the version in one script, so a replica whose turn outlived its lock cannot
  overwrite newer state (`StaleState`).
- `ordered` is a lock per conversation with a random token and a lease, renewed while held and
  released only by its holder; waiters queue in arrival order, so no replica starves another.
- Claims, renewals, take-overs and answers touch every key of a delivery in one script: nothing is
  half-written, and two replicas cannot both win a delivery.
- Message text (`Pending.text`) lives in its own key whose expiry is the text's bound, so Redis
  drops it by itself even if no replica is left to do so; answering a delivery deletes it at once.

Time: leases, the text bound and lock waits use this process's clock (`clock`, `time.time` by
default) in integer milliseconds, passed into the scripts; whole keys expire on Redis's clock.
Replicas' clocks must agree to well within a lease (NTP does): a replica whose clock runs ahead
would take over claims a little early. Scripts name some keys they build from stored fields
(a claim's platform index), so this needs a single Redis (or Sentinel), not Redis Cluster.

Errors: any failure to reach Redis becomes `StoreUnavailable`, with the error's type only (values
can be message text). The client retries a command once on a broken connection (a pooled
connection from before a Redis restart); every script is written so that running it twice is the
same as running it once (a write carries a token and recognises itself), except `recover`,
`take_share` and `add_feedback`, whose rare double run costs a delayed recovery, a lost share
link or a doubled feedback record.
"""
from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import random
import ssl
import time
import weakref
from contextlib import asynccontextmanager
from typing import AsyncIterator, Awaitable, Callable, Dict, List, Optional, Sequence, Tuple, TypeVar
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError, RedisError

from dialogues.state import ConversationState
from dialogues.store import (
    CLAIM_LEASE_SECONDS,
    CLAIM_TTL_SECONDS,
    PENDING_TEXT_TTL_SECONDS,
    Claim,
    Feedback,
    Pending,
    StaleState,
    StoreUnavailable,
    new_token,
)

log = logging.getLogger("carebot.store")

T = TypeVar("T")
Clock = Callable[[], float]

DEFAULT_PREFIX = "carebot:"
# A lost Redis must be noticed within a turn, not after the kernel's minutes-long TCP timeouts.
SOCKET_TIMEOUT_SECONDS = 2.0
LOCK_LEASE_SECONDS = 30.0
# Longer than any turn plus its post; past it the user is told the service is unavailable.
LOCK_WAIT_SECONDS = 60.0
# Polling for a held lock: start fast (turns are tens of ms), back off to this.
LOCK_POLL_MAX_SECONDS = 0.05
# A waiter that has not polled for this long has died: it loses its place in the queue.
LOCK_WAITER_STALE_SECONDS = 3.0
FEEDBACK_PAGE = 1000

_REDIS_ERRORS = (RedisError, OSError, asyncio.TimeoutError)

# ---- scripts ------------------------------------------------------------------------------------
# Times are integer milliseconds from the caller's clock; `false` is Lua's missing value.

# KEYS: conversation hash. ARGV: expected version (0: must not exist), state JSON, ttl ms, write id.
_SAVE = """
local stored = redis.call('HMGET', KEYS[1], 'version', 'writer')
local want = tonumber(ARGV[1])
if stored[2] == ARGV[4] and tonumber(stored[1]) == want + 1 then return 1 end
if want == 0 then
  if stored[1] then return 0 end
elseif tonumber(stored[1]) ~= want then
  return 0
end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'version', tostring(want + 1), 'writer', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""

# KEYS: lock, waiters by arrival, waiters by last poll. ARGV: token, now, lease ms, stale ms.
_LOCK = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then return 1 end
local now = tonumber(ARGV[2])
local gone = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[4]))
for _, waiter in ipairs(gone) do
  redis.call('ZREM', KEYS[2], waiter)
  redis.call('ZREM', KEYS[3], waiter)
end
if not holder then
  local head = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
  if head == nil or head == ARGV[1] then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
    redis.call('ZREM', KEYS[2], ARGV[1])
    redis.call('ZREM', KEYS[3], ARGV[1])
    return 1
  end
end
redis.call('ZADD', KEYS[2], 'NX', now, ARGV[1])
redis.call('ZADD', KEYS[3], now, ARGV[1])
local keep = 2 * tonumber(ARGV[4])
redis.call('PEXPIRE', KEYS[2], keep)
redis.call('PEXPIRE', KEYS[3], keep)
return 0
"""

# KEYS: lock. ARGV: token, lease ms.
_RENEW_LOCK = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""

# KEYS: lock, waiters by arrival, waiters by last poll. ARGV: token.
_UNLOCK = """
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
"""

# KEYS: n delivery hashes, then the text key of the first. ARGV: n, token, now, lease until,
# claim ttl ms, pending JSON without text ('' for none), platform, has text, text, text ttl ms,
# text until, index prefix, first delivery key.
_CLAIM = """
local n = tonumber(ARGV[1])
local token, now = ARGV[2], tonumber(ARGV[3])
if redis.call('HGET', KEYS[1], 'token') == token then return 1 end
for i = 1, n do
  local f = redis.call('HMGET', KEYS[i], 'status', 'lease')
  if f[1] and (f[1] ~= 'in_progress' or tonumber(f[2]) > now) then return 0 end
end
for i = 1, n do
  redis.call('HSET', KEYS[i], 'status', 'in_progress', 'token', token, 'lease', ARGV[4])
  redis.call('HSETNX', KEYS[i], 'seen', ARGV[3])
  redis.call('PEXPIRE', KEYS[i], ARGV[5])
end
if ARGV[6] ~= '' then
  redis.call('HSET', KEYS[1], 'pending', ARGV[6], 'platform', ARGV[7])
  if ARGV[8] == '1' then
    redis.call('SET', KEYS[n + 1], ARGV[9], 'PX', ARGV[10])
    redis.call('HSET', KEYS[1], 'text_until', ARGV[11])
  else
    redis.call('DEL', KEYS[n + 1])
    redis.call('HDEL', KEYS[1], 'text_until')
  end
end
local f = redis.call('HMGET', KEYS[1], 'pending', 'platform')
if f[1] and f[2] then
  local index = ARGV[12] .. f[2]
  redis.call('ZADD', index, ARGV[4], ARGV[13])
  redis.call('PEXPIRE', index, ARGV[5])
end
return 1
"""

# KEYS: n delivery hashes. ARGV: token, lease until, index prefix, then the n delivery keys.
_RENEW = """
local f = redis.call('HMGET', KEYS[1], 'token', 'status')
if f[1] ~= ARGV[1] or f[2] ~= 'in_progress' then return 0 end
for i = 1, #KEYS do
  local g = redis.call('HMGET', KEYS[i], 'token', 'pending', 'platform')
  if g[1] == ARGV[1] then
    redis.call('HSET', KEYS[i], 'lease', ARGV[2])
    if g[2] and g[3] then redis.call('ZADD', ARGV[3] .. g[3], 'XX', ARGV[2], ARGV[3 + i]) end
  end
end
return 1
"""

# KEYS: n delivery hashes, then their n text keys. ARGV: token, claim ttl ms, index prefix,
# then the n delivery keys.
_ANSWERED = """
local n = #KEYS / 2
for i = 1, n do
  local f = redis.call('HMGET', KEYS[i], 'token', 'platform')
  if f[1] == ARGV[1] then
    redis.call('HSET', KEYS[i], 'status', 'answered')
    redis.call('HDEL', KEYS[i], 'pending', 'text_until')
    redis.call('DEL', KEYS[n + i])
    redis.call('PEXPIRE', KEYS[i], ARGV[2])
    if f[2] then redis.call('ZREM', ARGV[3] .. f[2], ARGV[3 + i]) end
  end
end
return 1
"""

# KEYS: n delivery hashes. ARGV: token, index prefix, then the n delivery keys.
_RELEASE = """
for i = 1, #KEYS do
  local f = redis.call('HMGET', KEYS[i], 'token', 'pending', 'platform')
  if f[1] == ARGV[1] then
    redis.call('HSET', KEYS[i], 'lease', '0')
    if f[2] and f[3] then redis.call('ZADD', ARGV[2] .. f[3], 'XX', 0, ARGV[2 + i]) end
  end
end
return 1
"""

# KEYS: the platform's index. ARGV: now, lease until, limit, token stem, delivery prefix,
# text prefix. Returns {key, token, pending JSON, text or nil} per delivery taken over.
_RECOVER = """
local now = tonumber(ARGV[1])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for i, id in ipairs(ids) do
  local f = redis.call('HMGET', ARGV[5] .. id, 'status', 'pending', 'lease', 'text_until')
  if f[1] ~= 'in_progress' or not f[2] then
    redis.call('ZREM', KEYS[1], id)
  elseif tonumber(f[3]) > now then
    redis.call('ZADD', KEYS[1], f[3], id)
  else
    local token = ARGV[4] .. ':' .. i
    local keys = cjson.decode(f[2])['keys']
    if type(keys) ~= 'table' or #keys == 0 then keys = {id} end
    for _, key in ipairs(keys) do
      if redis.call('EXISTS', ARGV[5] .. key) == 1 then
        redis.call('HSET', ARGV[5] .. key, 'token', token, 'lease', ARGV[2])
      end
    end
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    local text = redis.call('GET', ARGV[6] .. id)
    if text and (not f[4] or tonumber(f[4]) < now) then text = false end
    table.insert(out, {id, token, f[2], text})
  end
end
return out
"""

# KEYS: delivery hash. ARGV: token, now, claim ttl ms.
_MARK_ONCE = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then return 1 end
  return 0
end
redis.call('HSET', KEYS[1], 'status', 'answered', 'token', ARGV[1], 'lease', ARGV[2], 'seen', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""


def _ms(seconds: float) -> int:
    """Milliseconds for Redis; at least 1, since PX 0 is an error rather than 'at once'."""
    return max(1, int(round(seconds * 1000)))


def redacted(url: str) -> str:
    """scheme://host:port/db of a Redis URL, without user or password, for messages and logs."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{host}{port}{parts.path}"
    except ValueError:
        return "(unparseable URL)"


class RedisStore:
    """`StateStore` on Redis: conversations, turn order, claims, shares and feedback, shared by
    every replica that uses the same URL and prefix. Build it with `connect`."""

    def __init__(
        self,
        client: Redis,
        ttl_seconds: float,
        *,
        lock_lease_seconds: float = LOCK_LEASE_SECONDS,
        pending_text_ttl: float = PENDING_TEXT_TTL_SECONDS,
        prefix: str = DEFAULT_PREFIX,
        clock: Clock = time.time,
        lock_wait_seconds: float = LOCK_WAIT_SECONDS,
    ) -> None:
        self._redis = client
        self.ttl = ttl_seconds
        self.lock_lease = lock_lease_seconds
        self.pending_text_ttl = pending_text_ttl
        self.prefix = prefix
        self.lock_wait = lock_wait_seconds
        self._clock = clock
        self._locks: "weakref.WeakValueDictionary[str, asyncio.Lock]" = weakref.WeakValueDictionary()
        register = client.register_script
        self._save, self._lock, self._renew_lock, self._unlock = (
            register(_SAVE), register(_LOCK), register(_RENEW_LOCK), register(_UNLOCK))
        self._claim, self._renew, self._answered, self._release = (
            register(_CLAIM), register(_RENEW), register(_ANSWERED), register(_RELEASE))
        self._recover, self._mark_once = register(_RECOVER), register(_MARK_ONCE)

    @classmethod
    async def connect(
        cls,
        url: str,
        ttl_seconds: float,
        *,
        lock_lease_seconds: float = LOCK_LEASE_SECONDS,
        pending_text_ttl: float = PENDING_TEXT_TTL_SECONDS,
        prefix: str = DEFAULT_PREFIX,
        clock: Clock = time.time,
        lock_wait_seconds: float = LOCK_WAIT_SECONDS,
        timeout_seconds: float = SOCKET_TIMEOUT_SECONDS,
    ) -> "RedisStore":
        """Connect to `url` (redis:// or rediss:// for TLS) and check that Redis answers, so a
        wrong URL fails at start-up rather than at the first question."""
        client = _client(url, timeout_seconds)
        try:
            await client.ping()
        except _REDIS_ERRORS as exc:
            await _quietly_close(client)
            raise StoreUnavailable(
                f"Redis at CAREBOT_REDIS_URL ({redacted(url)}) did not answer: {_reason(exc)}"
            ) from None
        return cls(client, ttl_seconds, lock_lease_seconds=lock_lease_seconds,
                   pending_text_ttl=pending_text_ttl, prefix=prefix, clock=clock,
                   lock_wait_seconds=lock_wait_seconds)

    # ---- keys and plumbing ----------------------------------------------------------------------

    def _key(self, kind: str, name: str) -> str:
        return f"{self.prefix}{kind}:{name}"

    def _feedback_key(self) -> str:
        return f"{self.prefix}feedback"

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def _call(self, what: str, call: Awaitable[T]) -> T:
        """Await a Redis call; its failure becomes StoreUnavailable naming the operation and the
        error's type only (an error's text can quote a value)."""
        try:
            return await call
        except _REDIS_ERRORS as exc:
            if isinstance(exc, ReadOnlyError):
                await self._forget_connections()
            raise StoreUnavailable(f"redis {what} failed: {type(exc).__name__}") from None

    async def _forget_connections(self) -> None:
        """After a failover the old primary answers as a read-only replica on connections that
        still work: drop the idle ones, so the next calls connect (and resolve the name) afresh."""
        try:
            await self._redis.connection_pool.disconnect(inuse_connections=False)
        except _REDIS_ERRORS:
            pass

    # ---- conversations --------------------------------------------------------------------------

    async def load(self, conversation_id: str) -> Optional[ConversationState]:
        raw, version = await self._call("load", self._redis.hmget(
            self._key("conv", conversation_id), "state", "version"))
        if raw is None or version is None:
            return None
        state = ConversationState.parse_raw(raw)
        state.version = int(version)
        return state

    async def save(self, conversation_id: str, state: ConversationState) -> None:
        payload = state.json(exclude={"version"})
        done = await self._call("save", self._save(
            keys=[self._key("conv", conversation_id)],
            args=[state.version, payload, _ms(self.ttl), new_token()]))
        if int(done) != 1:
            raise StaleState(conversation_id)
        state.version += 1

    async def delete(self, conversation_id: str) -> None:
        await self._call("delete", self._redis.delete(self._key("conv", conversation_id)))

    @asynccontextmanager
    async def ordered(self, conversation_id: str) -> AsyncIterator[None]:
        """One turn at a time per conversation across replicas: this process's waiters queue on a
        local lock first (asyncio.Lock is FIFO), then one of them at a time queues in Redis."""
        local = self._locks.get(conversation_id)
        if local is None:
            local = self._locks[conversation_id] = asyncio.Lock()
        async with local:
            token = await self._acquire(conversation_id)
            keeper = asyncio.ensure_future(self._keep_lock(conversation_id, token))
            try:
                yield
            finally:
                keeper.cancel()
                await asyncio.gather(keeper, return_exceptions=True)
                await self._let_go(conversation_id, token)

    def _lock_keys(self, conversation_id: str) -> List[str]:
        return [self._key("lock", conversation_id), self._key("lockq", conversation_id),
                self._key("lockseen", conversation_id)]

    async def _acquire(self, conversation_id: str) -> str:
        """Poll for the lock with backoff until it is ours, or give up after `lock_wait`."""
        token = new_token()
        keys = self._lock_keys(conversation_id)
        deadline = time.monotonic() + self.lock_wait
        delay = 0.002
        try:
            while not await self._try_lock(keys, token):
                if time.monotonic() >= deadline:
                    raise StoreUnavailable("timed out waiting for a conversation's turn lock")
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))
                delay = min(delay * 2, LOCK_POLL_MAX_SECONDS)
        except BaseException:
            # cancelled or failed, perhaps with the lock granted and its reply lost: give it back
            await self._abandon(keys, token)
            raise
        return token

    async def _try_lock(self, keys: List[str], token: str) -> bool:
        granted = await self._call("lock", self._lock(
            keys=keys, args=[token, self._now_ms(), _ms(self.lock_lease), _ms(LOCK_WAITER_STALE_SECONDS)]))
        return int(granted) == 1

    async def _abandon(self, keys: List[str], token: str) -> None:
        try:
            await self._unlock(keys=keys, args=[token])
        except _REDIS_ERRORS:
            pass  # the lease and the waiter's staleness bound clean up after us

    async def _keep_lock(self, conversation_id: str, token: str) -> None:
        """Renew the lock every third of its lease while the turn runs. When it was lost (this
        process stalled past the lease), stop: the fenced `save` keeps the state safe."""
        key = self._key("lock", conversation_id)
        while True:
            await asyncio.sleep(self.lock_lease / 3)
            try:
                held = await self._renew_lock(keys=[key], args=[token, _ms(self.lock_lease)])
            except _REDIS_ERRORS:
                continue  # Redis is away; the turn will find out on its own
            if int(held) != 1:
                log.warning("turn lock lost conversation=%s", conversation_id)
                return

    async def _let_go(self, conversation_id: str, token: str) -> None:
        """Release the lock if still ours. A failure is not the turn's: the lease ends it."""
        try:
            await self._unlock(keys=self._lock_keys(conversation_id), args=[token])
        except _REDIS_ERRORS as exc:
            log.warning("turn lock not released conversation=%s error=%s", conversation_id,
                        type(exc).__name__)

    # ---- deliveries -----------------------------------------------------------------------------

    def _deliveries(self, keys: Sequence[str]) -> List[str]:
        return [self._key("dlv", key) for key in keys]

    def _texts(self, keys: Sequence[str]) -> List[str]:
        return [self._key("text", key) for key in keys]

    async def claim(self, keys: Sequence[str], pending: Optional[Pending] = None,
                    lease_seconds: float = CLAIM_LEASE_SECONDS) -> Optional[Claim]:
        keys = tuple(dict.fromkeys(keys))
        if not keys:
            raise ValueError("a delivery needs at least one key")
        token = new_token()
        granted = await self._call("claim", self._claim(
            keys=self._deliveries(keys) + self._texts(keys[:1]),
            args=self._claim_args(keys, token, pending, lease_seconds)))
        return Claim(keys, token, pending) if int(granted) == 1 else None

    def _claim_args(self, keys: Tuple[str, ...], token: str, pending: Optional[Pending],
                    lease_seconds: float) -> List[object]:
        """ARGV of the claim script. The pending message goes in without its text, which gets a
        key of its own whose expiry is the text's bound."""
        now = self._now_ms()
        text = pending.text if pending is not None else None
        return [len(keys), token, now, now + _ms(lease_seconds), _ms(CLAIM_TTL_SECONDS),
                pending.without_text().to_json() if pending is not None else "",
                pending.platform if pending is not None else "",
                "0" if text is None else "1", text or "",
                _ms(self.pending_text_ttl), now + _ms(self.pending_text_ttl),
                self._key("open", ""), keys[0]]

    async def renew(self, claim: Claim, lease_seconds: float = CLAIM_LEASE_SECONDS) -> bool:
        until = self._now_ms() + _ms(lease_seconds)
        held = await self._call("renew", self._renew(
            keys=self._deliveries(claim.keys),
            args=[claim.token, until, self._key("open", ""), *claim.keys]))
        return int(held) == 1

    async def answered(self, claim: Claim) -> None:
        await self._call("answered", self._answered(
            keys=self._deliveries(claim.keys) + self._texts(claim.keys),
            args=[claim.token, _ms(CLAIM_TTL_SECONDS), self._key("open", ""), *claim.keys]))

    async def release(self, claim: Claim) -> None:
        await self._call("release", self._release(
            keys=self._deliveries(claim.keys), args=[claim.token, self._key("open", ""), *claim.keys]))

    async def recover(self, platform: str, lease_seconds: float = CLAIM_LEASE_SECONDS,
                      limit: int = 100) -> List[Claim]:
        now = self._now_ms()
        rows = await self._call("recover", self._recover(
            keys=[self._key("open", platform)],
            args=[now, now + _ms(lease_seconds), limit, new_token(), self._key("dlv", ""),
                  self._key("text", "")]))
        return [_recovered(key, token, raw, text) for key, token, raw, text in rows]

    async def mark_once(self, key: str) -> bool:
        first = await self._call("mark", self._mark_once(
            keys=[self._key("dlv", key)], args=[new_token(), self._now_ms(), _ms(CLAIM_TTL_SECONDS)]))
        return int(first) == 1

    # ---- shared answers and feedback ------------------------------------------------------------

    async def put_share(self, token: str, answer: str, ttl_seconds: float) -> None:
        await self._call("share", self._redis.set(self._key("share", token), answer, px=_ms(ttl_seconds)))

    async def take_share(self, token: str) -> Optional[str]:
        return await self._call("share", self._redis.getdel(self._key("share", token)))

    async def add_feedback(self, feedback: Feedback) -> None:
        await self._call("feedback", self._redis.xadd(self._feedback_key(), _feedback_fields(feedback)))

    async def feedback_records(self) -> List[Feedback]:
        """All feedback, oldest first (SQLiteStore.feedback, which cannot be sync here)."""
        stream = self._feedback_key()
        records: List[Feedback] = []
        start = "-"
        while True:
            page = await self._call("feedback", self._redis.xrange(stream, start, "+", count=FEEDBACK_PAGE))
            records.extend(_feedback_record(fields) for _, fields in page)
            if len(page) < FEEDBACK_PAGE:
                return records
            start = "(" + page[-1][0]

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except _REDIS_ERRORS:
            return False

    async def close(self) -> None:
        await _quietly_close(self._redis)


def _client(url: str, timeout_seconds: float) -> Redis:
    """A client that gives up on a silent Redis within `timeout_seconds` and retries a command
    once on a broken connection (a pooled connection from before a restart), never on a timeout."""
    scheme = urlsplit(url).scheme
    if scheme not in ("redis", "rediss"):
        raise ValueError("CAREBOT_REDIS_URL must start with redis:// or rediss://")
    # over TLS the certificate must also name the host (redis-py does not check it by default);
    # ?ssl_check_hostname=false in the URL overrides, as every URL option does
    tls: Dict[str, bool] = {"ssl_check_hostname": True} if scheme == "rediss" else {}
    return Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=timeout_seconds,
        socket_timeout=timeout_seconds,
        retry=Retry(NoBackoff(), 1),
        retry_on_error=[RedisConnectionError],
        **tls,
    )


def _reason(exc: BaseException) -> str:
    """The error's type, and the TLS failure under it if there is one (an untrusted certificate
    and a plain-text port look alike otherwise); never the error's text."""
    seen = exc.__cause__ or exc.__context__
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return f"{type(exc).__name__} (TLS handshake failed: {type(seen).__name__})"
        seen = seen.__cause__ or seen.__context__
    return type(exc).__name__


async def _quietly_close(client: Redis) -> None:
    try:
        await client.close()
    except _REDIS_ERRORS:
        pass


def _recovered(key: str, token: str, raw: str, text: Optional[str]) -> Claim:
    """A taken-over claim; its pending message has text only while the text key lived."""
    pending = Pending.from_json(raw)
    pending = dataclasses.replace(pending, text=text) if text is not None else pending.without_text()
    return Claim(pending.keys or (key,), token, pending)


def _feedback_fields(feedback: Feedback) -> Dict[str, str]:
    fields = {"conversation_id": feedback.conversation_id,
              "statement_ids": json.dumps(list(feedback.statement_ids)),
              "helpful": "1" if feedback.helpful else "0", "at": repr(float(feedback.at))}
    optional: Tuple[Tuple[str, Optional[str]], ...] = (
        ("user", feedback.user), ("reason", feedback.reason), ("audit_id", feedback.audit_id))
    fields.update({name: value for name, value in optional if value is not None})
    return fields


def _feedback_record(fields: Dict[str, str]) -> Feedback:
    return Feedback(fields["conversation_id"], tuple(json.loads(fields["statement_ids"])),
                    fields["helpful"] == "1", fields.get("user"), fields.get("reason"),
                    fields.get("audit_id"), float(fields["at"]))
