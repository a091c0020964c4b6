"""Audit settings from the environment (CAREBOT_AUDIT_*), and the pseudonym key they name.

Kept apart from `dialogues.settings.CoreSettings` so the audit can be configured (and reviewed)
on its own: the key, where a copy of each record goes, and how long records are kept.
"""
from __future__ import annotations

import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from pydantic import BaseSettings, Extra, Field, SecretStr

# HIPAA keeps documentation for six years (45 CFR 164.316(b)(2)(i)); two leap days on top.
DEFAULT_RETENTION_DAYS = 6 * 365 + 2
MIN_KEY_CHARS = 16
DEV_KEY_FILE = "audit-dev.key"


class AuditConfigError(Exception):
    """The audit is configured wrongly; the message names the variable."""


class AuditSettings(BaseSettings):
    """CAREBOT_AUDIT_KEY, CAREBOT_AUDIT_LOG, CAREBOT_AUDIT_RETENTION_DAYS."""

    key: Optional[SecretStr] = Field(None, description="HMAC key for the conversation and user pseudonyms")
    log: Optional[str] = Field(None, description="also write each record as a JSON line: a file path, or - for stdout")
    retention_days: float = Field(DEFAULT_RETENTION_DAYS, gt=0, description="records older than this may be purged")

    class Config:
        env_prefix = "CAREBOT_AUDIT_"
        extra = Extra.ignore


@dataclass(frozen=True)
class AuditKey:
    """The pseudonym key and where it came from (`dev` when no CAREBOT_AUDIT_KEY was set)."""

    secret: bytes
    dev: bool
    origin: str  # "CAREBOT_AUDIT_KEY" or the dev key file's path

    def __repr__(self) -> str:  # never print the secret
        return f"AuditKey(dev={self.dev}, origin={self.origin!r})"


_announced = False


def say_on_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load_key(settings: AuditSettings, state_path: Path | str,
             say: Callable[[str], None] = say_on_stderr) -> AuditKey:
    """The configured key, or a local dev key kept beside the state file (said once per process).

    The dev key is random per machine, not a constant in the source, so even a forgotten
    configuration does not produce pseudonyms anyone with the code could reverse.
    """
    global _announced
    if settings.key is not None:
        value = settings.key.get_secret_value()
        if len(value) < MIN_KEY_CHARS:
            raise AuditConfigError(
                f"CAREBOT_AUDIT_KEY is too short ({len(value)} characters): use at least {MIN_KEY_CHARS} random "
                "characters, for example the output of `python -c 'import secrets; print(secrets.token_hex(32))'`")
        return AuditKey(value.encode("utf-8"), dev=False, origin="CAREBOT_AUDIT_KEY")
    key = _dev_key(state_path)
    if not _announced:
        _announced = True
        say(f"carebot: CAREBOT_AUDIT_KEY is not set: audit pseudonyms use the local dev key in {key.origin} "
            "(not for production).")
    return key


def _dev_key(state_path: Path | str) -> AuditKey:
    if str(state_path) == ":memory:":
        return AuditKey(secrets.token_hex(32).encode(), dev=True, origin="(in memory, this process only)")
    path = Path(state_path).parent / DEV_KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32) + "\n")
    value = path.read_text(encoding="utf-8").strip()
    if len(value) < MIN_KEY_CHARS:
        raise AuditConfigError(f"{path}: the dev audit key is damaged; delete the file to make a new one")
    return AuditKey(value.encode("utf-8"), dev=True, origin=str(path))
