"""Bare Rasa, for the cold-start comparison: load a model, parse one message, print the intent.

Run as a script (`python benchmarks/bare_rasa.py MODEL TEXT`), so it imports nothing from carebot:
this is what a plain Rasa NLU deployment does before it can answer its first message.
"""
import asyncio
import sys


def main() -> int:
    from rasa.core.agent import Agent

    agent = Agent.load(sys.argv[1])
    result = asyncio.run(agent.parse_message(sys.argv[2]))
    sys.stdout.write("ANSWER " + str((result.get("intent") or {}).get("name")) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
