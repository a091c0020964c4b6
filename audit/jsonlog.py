"""CAREBOT_AUDIT_LOG: each record also as one JSON line, for a log pipeline to collect.

The line is the whole record as canonical JSON (with `seq`, `prev` and `hash`), so a copy kept by
Vector, Fluent Bit or Splunk can be verified on its own, and checked against the store.
"""
from __future__ import annotations

import os
import sys
from typing import IO, Any, Dict

from audit.chain import canonical_json


class JsonLineLog:
    def __init__(self, target: str) -> None:
        self.target = target
        if target == "-":
            self._out: IO[str] = sys.stdout
            self._owned = False
        else:
            fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            self._out = os.fdopen(fd, "a", encoding="utf-8", buffering=1)
            self._owned = True

    def write(self, record: Dict[str, Any]) -> None:
        self._out.write(canonical_json(record) + "\n")
        self._out.flush()

    def close(self) -> None:
        if self._owned:
            self._out.close()
