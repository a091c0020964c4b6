"""The hash chain: canonical JSON, sealing a record onto the chain, and checking one seal.

Each record holds the hash of the one before (`prev`) and its own `hash`, a SHA-256 over the
canonical JSON of every other field, `prev` included. Changing any field changes the hash;
removing or reordering records breaks the `prev` links. The first record links to GENESIS.

Canonical JSON is `json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)` encoded
as UTF-8: the same bytes whoever writes them, so an auditor can recompute a hash with any tool
that sorts keys the same way. A record is stored as that JSON with `"hash"` appended as the last
key (one serialisation per record, and the hash is where a reader looks for it).
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Dict, Mapping, Tuple

GENESIS = "0" * 64
HASH_FIELD = "hash"
PREV_FIELD = "prev"
SEQ_FIELD = "seq"


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def record_hash(record: Mapping[str, Any]) -> str:
    """SHA-256 over the canonical JSON of the record without its own `hash` field."""
    body = {k: v for k, v in record.items() if k != HASH_FIELD}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def seal(body: Mapping[str, Any], seq: int, prev: str) -> Tuple[Dict[str, Any], str]:
    """The record (the body, its place in the chain: `seq` and `prev`, and its hash) and its JSON
    as stored."""
    record = {k: v for k, v in body.items() if k != HASH_FIELD}
    record[SEQ_FIELD] = seq
    record[PREV_FIELD] = prev
    text = canonical_json(record)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    record[HASH_FIELD] = digest
    return record, f'{text[:-1]},"{HASH_FIELD}":"{digest}"}}'
