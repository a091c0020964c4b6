"""Run the audit commands in-process, as `carebot audit ...` would (exit code, stdout, stderr)."""
from __future__ import annotations

from typing import List, Tuple

import pytest

from bot import audit_commands


def carebot(capsys: pytest.CaptureFixture, *argv: str) -> Tuple[int, str, str]:
    capsys.readouterr()
    try:
        code = audit_commands.main(list(argv))
    except SystemExit as exc:  # argparse: bad usage
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def environment(monkeypatch: pytest.MonkeyPatch, state_path, key: str = "test-audit-key-0123456789abcdef") -> None:
    monkeypatch.setenv("CAREBOT_STATE_PATH", str(state_path))
    monkeypatch.setenv("CAREBOT_AUDIT_KEY", key)
    for name in ("CAREBOT_REDIS_URL", "CAREBOT_AUDIT_LOG", "CAREBOT_AUDIT_RETENTION_DAYS", "CAREBOT_KNOWLEDGE_DIR"):
        monkeypatch.delenv(name, raising=False)


__all__: List[str] = ["carebot", "environment"]
