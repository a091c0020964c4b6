"""carebot's real Slack service (HTTP server, Bolt, responder, poster) on a core that needs no
model, as a process of its own: the connection-limit tests start it in a second, not a minute.

    python echo_server.py serve slack --http --host 127.0.0.1 --port 3000

Settings come from the environment, as for `carebot serve slack` (SLACK_*, CAREBOT_STATE_PATH).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys

from bot.logs import configure_logging
from bot.slack.service import start_service
from bot.slack.settings import Mode, load_settings
from dialogues.state import ConversationState
from dialogues.store import SQLiteStore
from dialogues.types import Reply, ReplyKind, Turn


class EchoCore:
    """A core that answers at once, without a model."""

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    async def handle(self, turn: Turn) -> Reply:
        async with self.store.ordered(turn.conversation_id):
            return await self.handle_ordered(turn)

    async def handle_ordered(self, turn: Turn) -> Reply:
        state = await self.store.load(turn.conversation_id) or ConversationState()
        state.turns += 1
        await self.store.save(turn.conversation_id, state)
        return Reply(kind=ReplyKind.smalltalk, text="Hello from carebot.", lead=["Hello from carebot."])


async def serve(host: str, port: int) -> int:
    store = SQLiteStore(os.environ["CAREBOT_STATE_PATH"], ttl_seconds=3600)
    service = await start_service(load_settings(Mode.http), EchoCore(store), Mode.http, host=host, port=port)
    print(f"serving {service.http.url if service.http else '?'}", file=sys.stderr, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await service.close()
    await store.close()
    return 0


def main(argv: list) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("words", nargs="*")  # "serve slack", as carebot's own command line
    parser.add_argument("--http", action="store_true")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    args = parser.parse_args(argv)
    configure_logging()
    return asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
