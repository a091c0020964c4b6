"""What runs when. No two measurements overlap, and nothing of ours loads while one runs: the
Slack and Teams server processes and the in-process engine load at the same time (loading is not
measured), turn and growth start once all are loaded and run while the servers wait idle, then the
Slack load, then the Teams load (one after the other, never together), then the servers stop
before the cold-start and training processes run on an otherwise quiet process tree.
"""
from __future__ import annotations

import datetime as _dt
import shlex
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from benchmarks import SCHEMA_VERSION, machine, report

NAMES = ("turn", "growth", "store", "audit", "slack", "teams", "memory", "cold-start", "training")


@dataclass
class Options:
    quick: bool = False
    only: Sequence[str] = ()
    out: Path = machine.REPO_ROOT / "benchmarks" / "results.json"
    rounds: Optional[int] = None  # turn rounds (growth uses half)
    runs: Optional[int] = None  # cold-start runs per side
    duration: Optional[float] = None  # seconds per Slack rate
    rates: Optional[Sequence[float]] = None
    full_train: Optional[bool] = None  # None: yes unless --quick
    profile: Optional[Path] = None
    redis: bool = False  # state on a real Redis; the Slack load on two replicas sharing it
    argv: List[str] = field(default_factory=list)

    def selected(self) -> List[str]:
        chosen = [n for n in NAMES if not self.only or n in self.only]
        if "memory" in chosen and "slack" not in chosen:
            chosen.append("slack")  # memory is measured on the server under the Slack load
        if "slack" in chosen and "memory" not in chosen:
            chosen.append("memory")
        return chosen

    @property
    def turn_rounds(self) -> int:
        return self.rounds or (2 if self.quick else 20)

    @property
    def growth_rounds(self) -> int:
        return max(1, self.turn_rounds // 2)

    @property
    def cold_runs(self) -> int:
        return self.runs or (1 if self.quick else 5)

    @property
    def slack_duration(self) -> float:
        return self.duration or (2.0 if self.quick else 30.0)

    @property
    def slack_rates(self) -> Sequence[float]:
        from benchmarks.slack import RATES

        return tuple(self.rates or RATES)

    @property
    def teams_duration(self) -> float:
        return self.duration or (2.0 if self.quick else 30.0)

    @property
    def teams_rates(self) -> Sequence[float]:
        from benchmarks.teams import RATES

        return tuple(self.rates or RATES)

    @property
    def train_full(self) -> bool:
        return (not self.quick) if self.full_train is None else self.full_train


def _stamp() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


async def run(options: Options, say: Callable[[str], None]) -> Dict[str, Any]:
    selected = options.selected()
    document: Dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "created": _stamp(),
        "command": "carebot bench" + ("" if not options.argv else " " + shlex.join(options.argv)),
        "quick": options.quick,
        "selected": selected,
        "machine": machine.describe(),
        "load_before": machine.load_average(),
        "model": None,
        "parameters": {
            "turn_rounds": options.turn_rounds, "growth_rounds": options.growth_rounds,
            "cold_start_runs": options.cold_runs, "slack_seconds_per_rate": options.slack_duration,
            "slack_rates": list(options.slack_rates), "full_training": options.train_full,
            "store": "redis" if options.redis else "sqlite",
            "slack_replicas": 2 if options.redis else 1,
            "teams_seconds_per_rate": options.teams_duration, "teams_rates": list(options.teams_rates),
        },
        "benchmarks": {},
        "timing": {},
        "errors": {},
        "warnings": [],
    }
    benchmarks = document["benchmarks"]

    def failed(name: str, exc: BaseException) -> None:
        document["errors"][name] = f"{type(exc).__name__}: {exc}"
        say(f"bench: {name} failed: {type(exc).__name__}: {exc}")
        say("".join(traceback.format_exception(type(exc), exc, exc.__traceback__))[-2000:])

    def timed(name: str, started: float, load_before: Optional[List[float]]) -> None:
        document["timing"][name] = {"seconds": round(time.perf_counter() - started, 1), "load_before": load_before,
                                    "load_after": machine.load_average()}

    from dialogues.settings import CoreSettings
    from nlu.model import ensure_model

    model: Optional[Path] = None
    if set(selected) & {"turn", "growth", "slack", "teams", "cold-start", "training"}:
        model = ensure_model(CoreSettings().models_dir, say=say)
        document["model"] = model.name

    redis_server = None
    redis_url: Optional[str] = None
    if options.redis:
        from mocks.redis_server import start_redis

        redis_server = start_redis()
        redis_url = redis_server.url_for(0)
        say(f"bench: state on redis-server at 127.0.0.1:{redis_server.port} (no persistence)")

    with tempfile.TemporaryDirectory(prefix="carebot-bench-") as scratch:
        workdir = Path(scratch)
        slack_bench = None
        if "slack" in selected:
            from benchmarks.slack import SlackBench

            (workdir / "slack").mkdir()
            profile_out = options.profile / "profile-slack-server.pstats" if options.profile else None
            slack_bench = SlackBench(workdir / "slack", say, profile_out, replicas=2 if redis_url else 1,
                                     env={"CAREBOT_REDIS_URL": redis_url} if redis_url else None)
            try:
                await slack_bench.start()  # loads in the background while the engine loads here
            except Exception as exc:  # noqa: BLE001 - reported, the other benchmarks still run
                failed("slack", exc)
                await slack_bench.stop()
                slack_bench = None
        teams_bench = None
        if "teams" in selected:
            from benchmarks.teams import TeamsBench

            teams_bench = TeamsBench(
                workdir / "teams", say, env={"CAREBOT_REDIS_URL": redis_url} if redis_url else None,
                profile_out=options.profile / "profile-teams-server.pstats" if options.profile else None)
            try:
                await teams_bench.start()  # loads in the background too; its load runs after Slack's
            except Exception as exc:  # noqa: BLE001 - reported, the other benchmarks still run
                failed("teams", exc)
                await teams_bench.stop()
                teams_bench = None
        try:
            if {"turn", "growth"} & set(selected):
                from benchmarks import core as core_bench

                say("bench: loading the engine (knowledge base, NLU model, state store) ...")
                core = await core_bench.load_core(workdir, say, redis_url=redis_url)
                document["engine_load_seconds"] = round(core.load_seconds, 3)
                if slack_bench is not None:
                    # the server's start-up must not share the CPU with the timed turns
                    say("bench: waiting for carebot serve slack to finish loading ...")
                    try:
                        await slack_bench.ready()
                    except Exception as exc:  # noqa: BLE001
                        failed("slack", exc)
                        await slack_bench.stop()
                        slack_bench = None
                if teams_bench is not None:
                    say("bench: waiting for carebot serve teams to finish loading ...")
                    try:
                        await teams_bench.ready()
                    except Exception as exc:  # noqa: BLE001
                        failed("teams", exc)
                        await teams_bench.stop()
                        teams_bench = None
                try:
                    if "turn" in selected:
                        say(f"bench: turn vs bare Rasa, {options.turn_rounds} rounds of 30 messages ...")
                        started, load = time.perf_counter(), machine.load_average()
                        try:
                            benchmarks["turn"] = await core_bench.turn_benchmark(core, options.turn_rounds)
                        except Exception as exc:  # noqa: BLE001
                            failed("turn", exc)
                        timed("turn", started, load)
                        if options.profile is not None:
                            say(f"bench: profiling turns into {options.profile} ...")
                            document["profiles"] = await core_bench.profile_turns(core, options.profile)
                    if "growth" in selected:
                        say(f"bench: growth, 10 vs 10,000 stored conversations, {options.growth_rounds} rounds ...")
                        started, load = time.perf_counter(), machine.load_average()
                        try:
                            benchmarks["growth"] = await core_bench.growth_benchmark(
                                core, workdir, options.growth_rounds, state_ops=200 if options.quick else 2000)
                        except Exception as exc:  # noqa: BLE001
                            failed("growth", exc)
                        timed("growth", started, load)
                finally:
                    await core.close()
            if "store" in selected:
                from benchmarks.stores import store_benchmark

                say("bench: the store's calls per turn" + (" on SQLite and on Redis ..." if redis_url else " ..."))
                started, load = time.perf_counter(), machine.load_average()
                try:
                    benchmarks["store"] = await store_benchmark(workdir, redis_url,
                                                                turns=200 if options.quick else 2000)
                except Exception as exc:  # noqa: BLE001
                    failed("store", exc)
                timed("store", started, load)
            if "audit" in selected:
                from audit.bench import audit_cost_breakdown

                say("bench: the audit record's cost per turn ...")
                started, load = time.perf_counter(), machine.load_average()
                try:
                    records = 200 if options.quick else 2000
                    costs = await audit_cost_breakdown(records)
                    benchmarks["audit"] = {"records": records, **{k: round(v, 4) for k, v in costs.items()}}
                except Exception as exc:  # noqa: BLE001
                    failed("audit", exc)
                timed("audit", started, load)
            if slack_bench is not None:
                from benchmarks.slack import slack_benchmark

                say("bench: waiting for carebot serve slack to be ready ...")
                started, load = time.perf_counter(), machine.load_average()
                parse_ms = (benchmarks.get("turn") or {}).get("bare_rasa_parse_ms", {}).get("median")
                try:
                    found = await slack_benchmark(slack_bench, options.slack_rates, options.slack_duration, parse_ms)
                    benchmarks.update(found)
                except Exception as exc:  # noqa: BLE001
                    failed("slack", exc)
                timed("slack", started, load)
            if teams_bench is not None:  # after Slack's load has drained: never both at once
                from benchmarks.teams import teams_benchmark

                say("bench: waiting for carebot serve teams to be ready ...")
                started, load = time.perf_counter(), machine.load_average()
                parse_ms = (benchmarks.get("turn") or {}).get("bare_rasa_parse_ms", {}).get("median")
                try:
                    benchmarks.update(await teams_benchmark(teams_bench, options.teams_rates,
                                                            options.teams_duration, parse_ms))
                except Exception as exc:  # noqa: BLE001
                    failed("teams", exc)
                timed("teams", started, load)
        finally:
            if slack_bench is not None:
                code = await slack_bench.stop()
                if "slack" in benchmarks:
                    benchmarks["slack"]["server_exit_code"] = code
            if teams_bench is not None:
                code = await teams_bench.stop()
                if "teams" in benchmarks:
                    benchmarks["teams"]["server_exit_code"] = code

        if "cold-start" in selected and model is not None:
            from benchmarks.coldstart import cold_start_benchmark

            started, load = time.perf_counter(), machine.load_average()
            try:
                benchmarks["cold_start"] = cold_start_benchmark(workdir, model, options.cold_runs,
                                                                warmup=not options.quick, say=say)
            except Exception as exc:  # noqa: BLE001
                failed("cold-start", exc)
            timed("cold_start", started, load)

        if "training" in selected:
            from benchmarks.training import training_benchmark

            started, load = time.perf_counter(), machine.load_average()
            try:
                benchmarks["training"] = training_benchmark(workdir / "training", model, options.train_full,
                                                            noop_runs=1 if options.quick else 3, say=say)
            except Exception as exc:  # noqa: BLE001
                failed("training", exc)
            timed("training", started, load)

    if redis_server is not None:
        redis_server.stop()
    document["load_after"] = machine.load_average()
    if model is not None:
        now = CoreSettings().models_dir / model.name
        from nlu.model import current_model

        latest = current_model(CoreSettings().models_dir)
        if latest is None or latest.name != model.name or not now.is_file():
            document["warnings"].append(
                f"the NLU inputs changed during the run (model {model.name} -> "
                f"{latest.name if latest else 'none yet'}): figures may mix two models; run again")
    document["goals"] = report.goals(benchmarks)
    return document


def correctness_failures(document: Dict[str, Any]) -> List[str]:
    """What is wrong, not slow: errors, dropped or duplicated replies, a no-op that retrained.
    These make `carebot bench` exit 1; missed timing goals never do."""
    found = [f"{name}: {message}" for name, message in document.get("errors", {}).items()]
    for rate in (document["benchmarks"].get("slack") or {}).get("rates", []):
        if rate["drops"] or rate["duplicates"] or rate.get("apologies"):
            found.append(f"slack at {rate['rate_per_s']:g}/s: {rate['drops']} drops, {rate['duplicates']} duplicates,"
                         f" {rate.get('apologies', 0)} apologies")
    for rate in (document["benchmarks"].get("teams") or {}).get("rates", []):
        if rate["drops"] or rate["duplicates"] or rate.get("apologies"):
            found.append(f"teams at {rate['rate_per_s']:g}/s: {rate['drops']} drops, {rate['duplicates']} duplicates,"
                         f" {rate.get('apologies', 0)} apologies")
    training = document["benchmarks"].get("training") or {}
    if (training.get("noop") or {}).get("retrained"):
        found.append("training: carebot train retrained with nothing changed")
    return found


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
