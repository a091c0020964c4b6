"""`carebot bench`: benchmarks on the machine at hand; prints a table, writes benchmarks/results.json.

Only argument parsing lives here (imported by every `carebot` command, so it must stay cheap);
`benchmarks.runner` does the work. The benchmarks and the platform mocks they drive (`mocks/`)
live in the source tree, not in the installed package: `carebot bench` runs from a clone.
See docs/performance.md for what each figure means.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List

NAMES = ("turn", "growth", "store", "audit", "slack", "teams", "memory", "cold-start", "training")
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "benchmarks" / "results.json"


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    bench = sub.add_parser(
        "bench",
        help="benchmarks: turn cost vs bare Rasa, Slack, Teams, cold start, memory, training, growth",
        description=(
            "Run the benchmarks on this machine, print a table and write the figures with the machine "
            "description as JSON. Timings are figures, not pass/fail checks; the exit code is 1 only "
            "for errors, dropped or duplicated Slack or Teams replies, or a no-op training that retrained."
        ),
    )
    bench.add_argument("--quick", action="store_true",
                       help="a tiny load (seconds per part; no full training) to check the benchmarks run")
    bench.add_argument("--only", action="append", metavar="NAME", default=[],
                       help=f"run only these ({', '.join(NAMES)}); repeat or separate with commas")
    bench.add_argument("--out", type=Path, default=None, help="where to write the JSON (default: benchmarks/results.json in the repository)")
    bench.add_argument("--rounds", type=_positive_int, help="turn benchmark rounds of the 30 messages (default 20)")
    bench.add_argument("--runs", type=_positive_int, help="cold-start runs per side (default 5)")
    bench.add_argument("--duration", type=float, help="seconds of Slack (and of Teams) load per rate (default 30)")
    bench.add_argument("--rates",
                       help="Slack events (and Teams activities) per second, comma-separated (default 10,50,100)")
    bench.add_argument("--full-train", action=argparse.BooleanOptionalAction, default=None,
                       help="include a full `carebot train --force` (default: yes, except with --quick)")
    bench.add_argument("--redis", action="store_true",
                       help="state on a real Redis on loopback: the turn on Redis, Redis's added cost per turn, "
                            "and the Slack load on two replicas sharing it (default --out: benchmarks/results-redis.json)")
    bench.add_argument("--profile", type=Path, metavar="DIR",
                       help="also write cProfile reports of carebot turns and bare parses into DIR")
    bench.set_defaults(handler=bench_command)


def _source_tree() -> bool:
    """Put the clone's root on the path for `benchmarks` and `mocks` (not installed packages)."""
    if not (REPO_ROOT / "benchmarks" / "runner.py").exists() or not (REPO_ROOT / "mocks").is_dir():
        return False
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    return True


def bench_command(args: argparse.Namespace) -> int:
    import asyncio

    if not _source_tree():
        print("carebot bench: the benchmarks are in carebot's source tree (benchmarks/, mocks/), "
              "which this installation does not have. Run it from a clone: make bench.", file=sys.stderr)
        return 2
    from benchmarks import report
    from benchmarks.runner import Options, correctness_failures, run

    only: List[str] = [name.strip() for value in args.only for name in value.split(",") if name.strip()]
    unknown = [name for name in only if name not in NAMES]
    if unknown:
        print(f"carebot bench: unknown benchmark {', '.join(unknown)}; choose from {', '.join(NAMES)}", file=sys.stderr)
        return 2
    try:
        rates = [float(r) for r in args.rates.split(",") if r.strip()] if args.rates else None
    except ValueError:
        print(f"carebot bench: --rates takes numbers, e.g. 10,50,100 (got {args.rates!r})", file=sys.stderr)
        return 2
    if rates is not None and (not rates or any(r <= 0 for r in rates)):
        print("carebot bench: --rates must be positive", file=sys.stderr)
        return 2
    if args.out is None:
        args.out = DEFAULT_OUT.with_name("results-redis.json") if args.redis else DEFAULT_OUT
    options = Options(quick=args.quick, only=only, out=args.out, rounds=args.rounds, runs=args.runs,
                      duration=args.duration, rates=rates, full_train=args.full_train, profile=args.profile,
                      redis=args.redis,
                      argv=sys.argv[2:] if len(sys.argv) > 1 and sys.argv[1] == "bench" else [])
    document = asyncio.run(run(options, say=lambda m: print(m, file=sys.stderr, flush=True)))
    report.write(document, args.out)
    print(report.table(document))
    print(f"\nwrote {args.out}")
    problems = correctness_failures(document)
    for problem in problems:
        print(f"carebot bench: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number
