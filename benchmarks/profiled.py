"""Run a carebot command under cProfile: `python -m benchmarks.profiled OUT.pstats serve slack ...`.

Used by `carebot bench --profile DIR` for the Slack server process. The profiler slows Python
code down, so figures measured against a profiled server are for finding causes, not for the table.
"""
from __future__ import annotations

import cProfile
import sys


def main() -> int:
    out, argv = sys.argv[1], sys.argv[2:]
    from bot.cli import main as carebot

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        return carebot(argv)
    finally:
        profiler.disable()
        profiler.dump_stats(out)


if __name__ == "__main__":
    sys.exit(main())
