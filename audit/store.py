"""The audit store protocol: an append-only, hash-chained log plus knowledge-base snapshots.

Two implementations: `audit.sqlite_store.SQLiteAuditStore` (tables in the state file) and
`audit.redis_store.RedisAuditStore` (a stream, appended to by a Lua script). Both seal each record
onto the chain inside one atomic step (read the head, link, write), so the chain stays linear
however many processes write to it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable, Dict, List, Optional, Protocol, Sequence

# Given the new record's seq and the previous record's hash, the record's body (no seq/prev/hash).
BodyFactory = Callable[[int, str], Dict[str, Any]]


def constant(body: Dict[str, Any]) -> BodyFactory:
    """A factory for a body that does not depend on its place in the chain (a turn's)."""
    return lambda seq, prev: body


@dataclass(frozen=True)
class Head:
    """The last record of the chain, as the store remembers it apart from the records."""

    seq: int
    id: str
    hash: str

    def encode(self) -> str:
        return f"{self.seq} {self.id} {self.hash}"

    @classmethod
    def decode(cls, raw: str) -> "Head":
        seq, record_id, digest = raw.split(" ")
        return cls(int(seq), record_id, digest)


@dataclass(frozen=True)
class Stored:
    """One record as found in storage, for verification: the raw JSON and where it was found."""

    where: str  # "row 12", "stream entry 1700000000000-0": to name in an error
    raw: str  # the record's JSON as stored
    # the store's own copies of fields it indexes (seq, id, at ...); each must agree with `raw`
    index: Dict[str, Any] = field(default_factory=dict)


class AuditStore(Protocol):
    async def append(self, make_body: BodyFactory) -> Dict[str, Any]:
        """Seal and append one record atomically; returns the stored record (with seq, prev, hash)."""
        ...

    async def append_many(self, bodies: Sequence[Dict[str, Any]]) -> List[Dict[str, Any]]:
        """Seal and append several records, in order, atomically (all or none)."""
        ...

    async def get(self, record_id: str) -> Optional[Dict[str, Any]]: ...

    async def last(self) -> Optional[Dict[str, Any]]: ...

    def scan(self, since: Optional[float] = None, until: Optional[float] = None) -> AsyncIterator[Stored]:
        """Records in chain order (optionally by time, `at` in epoch seconds, until exclusive)."""
        ...

    async def head(self) -> Optional[Head]: ...

    async def put_snapshot(self, version: str, payload: str) -> bool:
        """Store a knowledge-base snapshot unless that version is stored; True when it was new."""
        ...

    async def snapshot(self, version: str) -> Optional[str]: ...

    async def first_at_or_after(self, cutoff: float) -> Optional[Dict[str, Any]]:
        """The first record, in chain order, with `at` >= cutoff (every one before it is older), or None."""
        ...

    async def delete_through(self, seq: int) -> int:
        """Remove the records up to and including `seq` (a purge, after its anchor is appended)."""
        ...

    async def close(self) -> None: ...
