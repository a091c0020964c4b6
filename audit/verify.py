"""Verify the chain: every record's hash, every link, the head, and the purge anchors.

A record was *changed* when its content no longer hashes to its `hash` (or the store's indexed
copy of a field disagrees with it). A record was *removed or reordered* when it does not follow
the one before it (`seq` one more, `prev` equal to that record's hash), or when the newest
record is not the one the store's head marker names.

Purges: the first stored record either starts the chain (seq 1, prev GENESIS) or is vouched for
by a purge anchor later in the chain, which states the seq and prev of the first record it kept.
The anchor is itself chained, so it cannot be forged without breaking every record after it.
Records are read once, in order, in constant memory.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

from audit.chain import GENESIS, record_hash
from audit.record import PURGE, TURN, parse_time
from audit.snapshot import Snapshot
from audit.store import Head, Stored

_REQUIRED = {"seq": int, "id": str, "prev": str, "hash": str, "at": str, "type": str}


@dataclass
class Problem:
    position: int  # 0-based place in storage order
    seq: Optional[int]  # the bad record's seq (as it claims), if it could be read
    message: str


@dataclass
class Verdict:
    checked: int = 0
    problems: List[Problem] = field(default_factory=list)
    head: Optional[Head] = None
    first_seq: Optional[int] = None
    anchored: bool = False  # the first record is vouched for by a purge anchor, not GENESIS

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_problem(self) -> Optional[Problem]:
        return min(self.problems, key=lambda p: p.position) if self.problems else None


def _name(record: Dict[str, Any]) -> str:
    return f"record seq {record.get('seq')} (id {record.get('id')})"


class ChainChecker:
    """Feed records in storage order with `add`, then call `finish` with the store's head."""

    def __init__(self, expect_hash: Optional[str] = None) -> None:
        self.verdict = Verdict()
        self.expect_hash = expect_hash
        self.found_expected = False
        self._previous: Optional[Dict[str, Any]] = None
        self._first: Optional[Tuple[int, Dict[str, Any]]] = None
        self._anchors: Set[Tuple[int, str]] = set()
        self.kb_versions: Dict[str, int] = {}  # version -> seq of the first record that used it

    def _fail(self, position: int, seq: Optional[int], message: str) -> None:
        self.verdict.problems.append(Problem(position, seq, message))

    def add(self, stored: Stored) -> None:
        position = self.verdict.checked
        self.verdict.checked += 1
        record = self._parse(position, stored)
        if record is None:
            return
        name = _name(record)
        if record["hash"] == self.expect_hash:
            self.found_expected = True
        if record_hash(record) != record["hash"]:
            self._fail(position, record["seq"], f"{name} at {stored.where} was changed: its content does not "
                                                "match its hash")
        for key, value in stored.index.items():
            if not _same(key, value, record.get(key)):
                self._fail(position, record["seq"], f"{name} at {stored.where} was changed: the store's column "
                                                    f"'{key}' ({value!r}) disagrees with the record ({record.get(key)!r})")
        previous = self._previous
        if previous is None:
            self._first = (position, record)
        elif record["seq"] != previous["seq"] + 1 or record["prev"] != previous["hash"]:
            expected = previous["seq"] + 1
            if record["seq"] == expected:
                why = f"its prev is not the hash of {_name(previous)}: one of the two was changed or replaced"
            else:
                why = (f"expected seq {expected} after {_name(previous)}: "
                       f"record(s) were removed or the order changed")
            self._fail(position, record["seq"], f"{name} at {stored.where} is out of the chain: {why}")
        version = record.get("kb_version")
        if isinstance(version, str) and version not in self.kb_versions:
            self.kb_versions[version] = record["seq"]
        if record["type"] == PURGE:
            kept_seq, kept_prev = record.get("first_kept_seq"), record.get("first_kept_prev")
            if isinstance(kept_seq, int) and isinstance(kept_prev, str):
                self._anchors.add((kept_seq, kept_prev))
        self._previous = record

    def _parse(self, position: int, stored: Stored) -> Optional[Dict[str, Any]]:
        try:
            record = json.loads(stored.raw)
        except (TypeError, ValueError):
            self._fail(position, stored.index.get("seq"), f"the record at {stored.where} is not valid JSON")
            return None
        if not isinstance(record, dict):
            self._fail(position, stored.index.get("seq"), f"the record at {stored.where} is not a JSON object")
            return None
        for key, kind in _REQUIRED.items():
            if not isinstance(record.get(key), kind) or (kind is int and isinstance(record.get(key), bool)):
                self._fail(position, stored.index.get("seq"),
                           f"{_name(record)} at {stored.where} was changed: field '{key}' is missing or not a {kind.__name__}")
                return None
        if record["type"] not in (TURN, PURGE):
            self._fail(position, record["seq"], f"{_name(record)} at {stored.where} was changed: field 'type' is "
                                                f"{record['type']!r}")
        return record

    def finish(self, head: Optional[Head]) -> Verdict:
        verdict = self.verdict
        verdict.head = head
        if self._first is not None:
            position, first = self._first
            verdict.first_seq = first["seq"]
            if (first["seq"], first["prev"]) == (1, GENESIS):
                pass
            elif (first["seq"], first["prev"]) in self._anchors:
                verdict.anchored = True
            else:
                self._fail(position, first["seq"],
                           f"{_name(first)} is the first stored record, but it does not start the chain and no "
                           f"purge anchor accounts for the records before it: record(s) up to seq "
                           f"{first['seq'] - 1} were removed outside a purge")
        last = self._previous
        if last is None:
            if head is not None:
                self._fail(0, head.seq, f"no records are stored, but the head names record seq {head.seq} "
                                        f"(id {head.id}): every record was removed")
        elif head is None:
            self._fail(verdict.checked - 1, last["seq"], f"the head marker is missing (the last stored record is "
                                                         f"{_name(last)}): it was removed")
        elif (head.seq, head.id, head.hash) != (last["seq"], last["id"], last["hash"]):
            if head.seq > last["seq"]:
                message = (f"record seq {head.seq} (id {head.id}) is missing: the head names it, but the last stored "
                           f"record is {_name(last)}: the newest record(s) were removed")
            else:
                message = (f"the head names record seq {head.seq} (id {head.id}), but the last stored record is "
                           f"{_name(last)}: the head or the newest record was changed")
            self._fail(verdict.checked, head.seq, message)
        return verdict


def _same(key: str, column: Any, value: Any) -> bool:
    if key == "at":
        try:
            return abs(float(column) - parse_time(value)) < 0.001
        except (TypeError, ValueError):
            return False
    return column == value


def verify_records(records: Iterable[Stored], head: Optional[Head]) -> Verdict:
    checker = ChainChecker()
    for stored in records:
        checker.add(stored)
    return checker.finish(head)


async def verify_store(store: Any, expect_hash: Optional[str] = None) -> Verdict:
    """Verify everything an AuditStore holds: the chain, then the knowledge-base snapshots the
    records name (each must be stored, and its content must hash to its version).

    `expect_hash`: the hash of a record noted earlier outside carebot (a previous verify's head, a
    line of the JSON log). Someone who can rewrite the store can remove the newest records and move
    the head marker back; a hash kept elsewhere shows that.
    """
    checker = ChainChecker(expect_hash)
    async for stored in store.scan():
        checker.add(stored)
    verdict = checker.finish(await store.head())
    if expect_hash and not checker.found_expected:
        verdict.problems.append(Problem(verdict.checked, None, f"the record with hash {expect_hash} is not in the "
                                        "chain: it was removed (or it was purged, or the hash is mistyped)"))
    for version, seq in checker.kb_versions.items():
        payload = await store.snapshot(version)
        if payload is None:
            verdict.problems.append(Problem(verdict.checked + 1, seq, f"knowledge-base snapshot {version[:16]}, used "
                                            f"from record seq {seq} on, is missing from the store"))
        elif not Snapshot(version, payload).intact():
            verdict.problems.append(Problem(verdict.checked + 1, seq, f"knowledge-base snapshot {version[:16]}, used "
                                            f"from record seq {seq} on, was changed: its content does not hash to "
                                            "its version"))
    return verdict
