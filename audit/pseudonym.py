"""Keyed pseudonyms for conversation and user ids (HMAC-SHA256).

A plain hash of a Slack user id could be reversed by hashing every id in the workspace; a keyed
HMAC cannot be computed without the key. An auditor who holds the key resolves a pseudonym by
computing it for candidate ids (`carebot audit pseudonym --user U123`) and comparing.

The message is `<kind>:<id>` (kind is `conversation` or `user`), so the same string used as a
conversation id and as a user id gives two unrelated pseudonyms.
"""
from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache
from typing import Optional

KINDS = ("conversation", "user")


class Pseudonymizer:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self.key_id = hmac.new(secret, b"carebot-audit-key-id", hashlib.sha256).hexdigest()[:8]
        # conversations and users recur turn after turn: computing each once is enough
        self._cached = lru_cache(maxsize=4096)(self._compute)

    def __call__(self, kind: str, value: Optional[str]) -> Optional[str]:
        if value is None:
            return None
        if kind not in KINDS:
            raise ValueError(f"pseudonym kind must be one of {KINDS}, not {kind!r}")
        return self._cached(kind, value)

    def _compute(self, kind: str, value: str) -> str:
        return hmac.new(self._secret, f"{kind}:{value}".encode("utf-8"), hashlib.sha256).hexdigest()
