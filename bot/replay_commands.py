"""`carebot replay`: conversation tests replayed through the whole bot, with reports.

    carebot replay tests/conversations                 # every *.yml/*.yaml below, recursively
    carebot replay tests/conversations -k lanreotide   # conversations whose name contains it
    carebot replay tests/conversations --junit reports/replay.xml --json reports/replay.json
    carebot replay tests/conversations/dosing.yml --update   # accept today's behaviour, review the diff
    carebot replay --slack-export path/to/export         # did carebot answer then what it answers now?

Exit codes: 0 everything passed (or answered as before), 1 something failed or differs,
2 bad usage, an invalid replay file or export, or no core to replay through.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Dict, List, Optional, TextIO, Tuple

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_parser(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = subparsers.add_parser(
        "replay",
        help="replay conversation tests (or a Slack export) through carebot and report differences",
        description="Replay conversation files (YAML) or a Slack workspace export through carebot's core.",
        epilog="The replay-file format and what each expectation checks: tests/conversations/README.md.\n"
               "Exit codes: 0 all passed (or answered as before), 1 a failure or difference, "
               "2 bad usage or an invalid file or export.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                        help="replay files or folders (searched recursively for *.yml and *.yaml)")
    parser.add_argument("-k", dest="pattern", metavar="PATTERN",
                        help="only conversations whose name contains PATTERN (case-insensitive)")
    parser.add_argument("--junit", type=Path, metavar="FILE", help="write a JUnit XML report")
    parser.add_argument("--json", dest="json_path", type=Path, metavar="FILE", help="write a JSON report")
    parser.add_argument("--update", action="store_true",
                        help="rewrite kind/intent/entities/slots/cites expectations from what carebot does now")
    parser.add_argument("--slack-export", type=Path, metavar="DIR",
                        help="replay the threads and DMs of an unzipped Slack export in which carebot was addressed")
    parser.add_argument("--bot-user", metavar="USER_ID",
                        help="carebot's Slack user id in the export (default: the bot user named like carebot)")
    parser.add_argument("--compare", default="kind,cites,text", metavar="WHAT",
                        help="with --slack-export: what to compare, from kind,cites,text (default: all three)")
    parser.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                        help="longest wait for one reply (default 60)")
    parser.add_argument("--no-progress", action="store_true", help="no progress display on stderr")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only failures and the summary")
    parser.add_argument("-v", "--verbose", action="store_true", help="longer replies and tracebacks in failures")
    parser.set_defaults(handler=replay_command)


def replay_command(args: argparse.Namespace) -> int:
    return asyncio.run(run_replay(args))


async def run_replay(args: argparse.Namespace, engine: Any = None, out: Optional[TextIO] = None,
                     err: Optional[TextIO] = None) -> int:
    """The whole command; `engine` lets a test session pass the core it already loaded."""
    from bot.replay.engine import EngineUnavailable, create_engine
    from bot.replay.report import REPLAY_LABELS, SLACK_LABELS

    out = out or sys.stdout
    err = err or sys.stderr
    problem = _usage_problem(args)
    if problem:
        print(f"carebot replay: {problem}", file=err)
        return EXIT_USAGE

    if args.slack_export:
        loaded = _slack_cases(args, err)
        labels = SLACK_LABELS
    else:
        loaded = _file_cases(args, err)
        labels = REPLAY_LABELS
    if loaded is None:
        return EXIT_USAGE
    files, cases = loaded

    from bot.replay.runner import select

    selected = select(cases, args.pattern)
    if not selected:
        what = f"no conversation matches -k {args.pattern!r}" if args.pattern else "no conversation to replay"
        print(f"carebot replay: {what}", file=err)
        return EXIT_USAGE

    own_engine = engine is None
    if own_engine:
        try:
            engine = await create_engine()
        except EngineUnavailable as exc:
            print(f"carebot replay: {exc}", file=err)
            return EXIT_USAGE
    try:
        results, seconds = await _replay(engine, selected, args, out, err, labels, live=not args.update)
    finally:
        if own_engine and hasattr(engine, "close"):
            await engine.close()

    if args.update:
        _update(files, results, out)
        _print_lines(results, args, out, labels)
    _finish_reports(results, seconds, args, out, labels)
    return EXIT_OK if all(r.passed for r in results) else EXIT_FAILED


def _usage_problem(args: argparse.Namespace) -> Optional[str]:
    if args.slack_export and args.paths:
        return "give replay files or --slack-export, not both"
    if not args.slack_export and not args.paths:
        return "give at least one replay file or folder (or --slack-export DIR)"
    if args.update and args.slack_export:
        return "--update rewrites replay files; it does not apply to --slack-export"
    if args.bot_user and not args.slack_export:
        return "--bot-user only applies to --slack-export"
    if args.timeout <= 0:
        return "--timeout must be positive"
    from bot.replay.slack_export import COMPARABLE

    unknown = [c for c in _compare_set(args) if c not in COMPARABLE]
    if unknown:
        return f"--compare: unknown {', '.join(unknown)} (choose from {', '.join(COMPARABLE)})"
    return None


def _compare_set(args: argparse.Namespace) -> List[str]:
    return [c.strip() for c in (args.compare or "").split(",") if c.strip()]


def _file_cases(args: argparse.Namespace, err: TextIO) -> Optional[Tuple[List[Any], List[Any]]]:
    """Every replay file validated before anything runs: a broken file never yields a partial pass."""
    from bot.replay.runner import cases_from_file
    from bot.replay.schema import discover, load_all
    from knowledge import load_knowledge

    try:
        paths = discover(args.paths)
    except FileNotFoundError as exc:
        print(f"carebot replay: {exc}", file=err)
        return None
    if not paths:
        print(f"carebot replay: no *.yml or *.yaml file under {', '.join(map(str, args.paths))}", file=err)
        return None
    known_ids = [s.id for s in load_knowledge().statements]
    files, problems = load_all(paths, known_ids)
    if problems:
        print(f"carebot replay: {len(problems)} problem(s) in replay files; nothing was replayed:", file=err)
        for problem in problems:
            print(f"  {problem}", file=err)
        return None
    cases = [case for loaded in files for case in cases_from_file(loaded)]
    return files, cases


def _slack_cases(args: argparse.Namespace, err: TextIO) -> Optional[Tuple[List[Any], List[Any]]]:
    from bot.replay.slack_export import SlackExportError, cases_from_export, read_export

    try:
        export = read_export(args.slack_export, args.bot_user)
    except SlackExportError as exc:
        print(f"carebot replay: {exc}", file=err)
        return None
    return [], cases_from_export(export, _compare_set(args))


async def _replay(engine: Any, cases: List[Any], args: argparse.Namespace, out: TextIO, err: TextIO,
                  labels: Any, live: bool) -> Tuple[List[Any], float]:
    from bot.replay.progress import Progress
    from bot.replay.report import result_line
    from bot.replay.runner import run_cases

    progress = Progress(len(cases), err, enabled=False if args.no_progress else None)

    def started(index: int, total: int, case: Any) -> None:
        progress.start(index, case.name)

    def finished(index: int, total: int, result: Any) -> None:
        progress.clear()
        if live and not (args.quiet and result.passed):
            out.write(result_line(result, labels) + "\n")
            out.flush()
        progress.done(index)

    began = time.perf_counter()
    results = await run_cases(engine, cases, on_result=finished, on_start=started, timeout=args.timeout)
    progress.clear()
    return results, time.perf_counter() - began


def _update(files: List[Any], results: List[Any], out: TextIO) -> None:
    """Rewrite each file from its results, then judge the results against the rewritten files."""
    from bot.replay.checks import check_reply, describe_expect
    from bot.replay.schema import load_replay_file
    from bot.replay.update import update_file

    by_path: Dict[Path, List[Any]] = OrderedDict()
    for result in results:
        by_path.setdefault(result.case.origin.path, []).append(result)
    for loaded in files:
        mine = by_path.get(loaded.path)
        if not mine:
            continue
        report = update_file(loaded, mine)
        status = f"{report.changed_turns} turn(s) updated" if report.written else "unchanged"
        if report.not_updated:
            status += f"; not updated (the core failed): {', '.join(report.not_updated)}"
        out.write(f"updated {loaded.path}: {status}\n" if report.written else f"{loaded.path}: {status}\n")
        fresh = load_replay_file(loaded.path)
        for result in mine:
            if result.error is not None:
                continue
            conversation = fresh.conversations[result.case.origin.index].conversation
            for outcome, spec in zip(result.turns, conversation.turns):
                outcome.failures = check_reply(spec.expect, outcome.reply)
                outcome.expectation = describe_expect(spec.expect)
    out.write("\n")


def _print_lines(results: List[Any], args: argparse.Namespace, out: TextIO, labels: Any) -> None:
    from bot.replay.report import result_line

    for result in results:
        if not (args.quiet and result.passed):
            out.write(result_line(result, labels) + "\n")


def _finish_reports(results: List[Any], seconds: float, args: argparse.Namespace, out: TextIO, labels: Any) -> None:
    from bot.replay.junit import write_junit
    from bot.replay.report import write_json_report, write_text_report

    write_text_report(results, out, seconds, labels, verbose=args.verbose)
    suite = "carebot slack export replay" if args.slack_export else "carebot replay"
    if args.junit:
        write_junit(results, args.junit, suite, labels)
        out.write(f"JUnit report: {args.junit}\n")
    if args.json_path:
        write_json_report(results, args.json_path, seconds, labels)
        out.write(f"JSON report: {args.json_path}\n")
    out.flush()
