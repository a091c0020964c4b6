"""`carebot serve PLATFORM`: one subcommand per registered chat platform (`bot.edge.platforms`).

Only argument parsing lives here; each platform's own module adds its subcommand and does the
work, so importing this module (as `carebot --help` does) costs nothing.
"""
from __future__ import annotations

import argparse


def add_parser(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    from bot.edge.platforms import platforms

    serve = subparsers.add_parser("serve", help="run carebot as a chat app",
                                  description="Run carebot as a chat app on one platform.")
    choices = serve.add_subparsers(dest="platform", required=True, metavar="PLATFORM")
    for platform in platforms():
        platform.add_serve_parser(choices)
