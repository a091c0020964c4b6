"""Chat platforms register themselves here; `carebot run` and `carebot serve` read the registry.

Each platform package (`bot/slack/`, `bot/teams/`) has a `platform.py` that calls `register` with
how to tell it is configured (its settings are present) and how to serve it from the environment.
`carebot run` serves the configured platform, or the terminal chat when none is: nothing here
names a platform.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
from dataclasses import dataclass
from typing import Callable, Dict, List

import bot

Subparsers = "argparse._SubParsersAction[argparse.ArgumentParser]"


@dataclass(frozen=True)
class Platform:
    name: str
    title: str  # "Slack", "Microsoft Teams"
    configured: Callable[[], bool]  # its settings are present (environment or ./.env)
    serve_from_env: Callable[[], int]  # what `carebot run` calls: serve until stopped, exit code
    add_serve_parser: Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


_REGISTRY: Dict[str, Platform] = {}


def register(platform: Platform) -> Platform:
    _REGISTRY[platform.name] = platform
    return platform


def platforms() -> List[Platform]:
    """Every platform package under bot/ that has a platform.py, imported once, by name."""
    for module in pkgutil.iter_modules(bot.__path__):
        if module.ispkg:
            try:
                importlib.import_module(f"bot.{module.name}.platform")
            except ModuleNotFoundError as exc:
                if exc.name != f"bot.{module.name}.platform":
                    raise
    return sorted(_REGISTRY.values(), key=lambda p: p.name)


def configured() -> List[Platform]:
    return [p for p in platforms() if p.configured()]


def port_number(value: str) -> int:
    """argparse type for --port."""
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"port out of range: {port}")
    return port
