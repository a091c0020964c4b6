"""Core settings from the environment: where state lives and how long it is kept."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from pydantic import BaseSettings, Extra, Field

REPO_ROOT = Path(__file__).resolve().parent.parent


class CoreSettings(BaseSettings):
    """CAREBOT_* environment variables; every default is embedded (no services needed)."""

    state_path: Path = Field(REPO_ROOT / "var" / "carebot.db", description="SQLite state file")
    models_dir: Path = Field(REPO_ROOT / "models", description="trained NLU models")
    conversation_ttl_days: float = Field(7.0, gt=0, description="idle conversations expire after this")
    max_message_chars: int = Field(4000, gt=0, description="longer messages are cut before parsing")
    # The lease of a delivery's claim and of a conversation's turn lock (Redis): renewed while held;
    # how long a dead process's hold lasts, so the window for a duplicate answer and how long before
    # another process answers what it left.
    claim_lease_seconds: float = Field(30.0, gt=0, description="claim and turn-lock lease (the duplicate window)")
    # How long the text of a message not yet answered may stay at rest (the only text at rest).
    pending_text_ttl_seconds: float = Field(3600.0, gt=0, description="bound on unanswered message text")
    # Shared state for several replicas (redis://host:6379/0, rediss://... for TLS); unset: SQLite.
    redis_url: Optional[str] = Field(None, description="CAREBOT_REDIS_URL: Redis for state shared by replicas")

    class Config:
        env_prefix = "CAREBOT_"
        extra = Extra.ignore
