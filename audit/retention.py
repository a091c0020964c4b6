"""Retention: removing records older than the retention period without breaking verification.

A purge removes a prefix of the chain (every record before the first one that is not expired) and
first appends a *purge anchor* to the chain: a record stating the last seq removed, how many, the
cutoff, and the seq and `prev` of the first record kept. `audit verify` then starts from the first
stored record and trusts its `prev` only because a chained anchor vouches for exactly that
(seq, prev); removing any other record at the head is still detected. Appending the anchor before
deleting means a crash in between leaves extra records, never an unexplained gap.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, Optional

from audit.record import purge_body

DAY = 86400.0


@dataclass(frozen=True)
class PurgeResult:
    cutoff: float
    purged: int  # records removed (or that would be, in a dry run)
    anchor: Optional[Dict[str, Any]]  # the anchor record appended; None when nothing was purged


async def purge_expired(store: Any, *, retention_days: float, now: float, carebot_version: str,
                        dry_run: bool = False) -> PurgeResult:
    cutoff = now - retention_days * DAY
    first = None
    async for stored in store.scan():
        first = json.loads(stored.raw)
        break
    if first is None:
        return PurgeResult(cutoff, 0, None)
    kept = await store.first_at_or_after(cutoff)
    if kept is None:  # everything is expired: the next record appended (the anchor, or a turn) is kept
        last = await store.last()
        through, kept_seq, kept_prev = last["seq"], last["seq"] + 1, last["hash"]
    else:
        through, kept_seq, kept_prev = kept["seq"] - 1, kept["seq"], kept["prev"]
    count = through - first["seq"] + 1
    if count <= 0:
        return PurgeResult(cutoff, 0, None)
    if dry_run:
        return PurgeResult(cutoff, count, None)

    def anchor(seq: int, prev: str) -> Dict[str, Any]:
        return purge_body(purged_through=through, purged=count, first_kept_seq=kept_seq, first_kept_prev=kept_prev,
                          cutoff=cutoff, retention_days=retention_days, carebot_version=carebot_version, at=now)

    record = await store.append(anchor)
    removed = await store.delete_through(through)
    return PurgeResult(cutoff, removed, record)
