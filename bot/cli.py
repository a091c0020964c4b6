"""The `carebot` command. Each subcommand lives in its own module; this file only dispatches.

Exit codes: 0 success, 1 the command ran and found a failure, 2 bad usage or invalid data.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Callable, List, Optional

from bot.logs import configure_logging


def build_parser() -> argparse.ArgumentParser:
    from bot import kb_commands

    parser = argparse.ArgumentParser(
        prog="carebot",
        description="Decision support for one NET case: answers quote cited knowledge statements.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in _registrars():
        register(sub)
    kb_commands.add_parser(sub)
    return parser


def _registrars() -> List[Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]]:
    """Subcommand modules, imported lazily so `carebot kb` never pays for TensorFlow."""
    registrars = []
    for module_name in ("bot.nlu_commands", "bot.chat_commands", "bot.serve_commands", "bot.teams_commands",
                        "bot.replay_commands", "bot.bench_commands", "bot.audit_commands"):
        try:
            module = __import__(module_name, fromlist=["add_parser"])
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        registrars.append(module.add_parser)
    return registrars


def main(argv: Optional[List[str]] = None) -> int:
    configure_logging()
    args = build_parser().parse_args(argv)
    from dialogues.store import StoreUnavailable
    from knowledge import KnowledgeError

    try:
        return int(args.handler(args) or 0)
    except StoreUnavailable as exc:
        # the shared store (CAREBOT_REDIS_URL) does not answer: refuse to start rather than serve
        # on state the other replicas cannot see; the message names the setting
        print(f"carebot: {exc}", file=sys.stderr)
        return 1
    except KnowledgeError as exc:
        print(f"carebot: invalid knowledge base: {exc}", file=sys.stderr)
        print("Fix the file named above, then run `carebot kb check`.", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader went away (`carebot kb export | head`): not an error worth a traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
