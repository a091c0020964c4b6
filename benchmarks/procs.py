"""Starting carebot (or bare Rasa) as a separate process, as an operator would."""
from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import Dict, List, Optional

BENCH_DIR = Path(__file__).resolve().parent


def carebot_command() -> List[str]:
    """The installed `carebot` next to this interpreter (what `make` runs), else `python -m bot.cli`."""
    script = Path(sys.executable).with_name("carebot")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "bot.cli"]


def bare_rasa_command(model: Path, text: str) -> List[str]:
    """A script that imports Rasa only: Agent.load(model) and one parse_message."""
    return [sys.executable, str(BENCH_DIR / "bare_rasa.py"), str(model), text]


def child_env(overrides: Optional[Dict[str, str]] = None, drop: tuple = ()) -> Dict[str, str]:
    """This environment, with TensorFlow's C++ banners off for every child alike (carebot turns
    them off itself; bare Rasa would print them), plus `overrides`."""
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    for name in drop:
        env.pop(name, None)
    env.update(overrides or {})
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
