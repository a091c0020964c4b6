"""The goals of issue 7 checked against the figures, the printed table, and the JSON document."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional


def _get(data: Any, *path: Any) -> Any:
    for key in path:
        if data is None:
            return None
        data = data.get(key) if isinstance(data, dict) else (data[key] if isinstance(data, list) and
                                                            isinstance(key, int) and key < len(data) else None)
    return data


def _goal(goal_id: str, benchmark: str, what: str, value: Any, goal: str,
          ok: Callable[[Any], bool]) -> Dict[str, Any]:
    return {"id": goal_id, "benchmark": benchmark, "what": what, "value": value, "goal": goal,
            "met": None if value is None else bool(ok(value))}


def goals(benchmarks: Dict[str, Any]) -> List[Dict[str, Any]]:
    """One row per goal the issue sets; `met` is None when the figure was not measured."""
    rows: List[Dict[str, Any]] = []
    turn = benchmarks.get("turn")
    if turn:
        rows.append(_goal("turn.ratio", "turn", "whole turn / bare Rasa parse (medians)", turn.get("ratio_median"),
                          "<= 1.15", lambda v: v <= 1.15))
    slack = benchmarks.get("slack")
    if slack:
        for rate in slack.get("rates", []):
            r = f"{rate['rate_per_s']:g}/s"
            rows.append(_goal(f"slack.ack_p99@{r}", "slack", f"ack p99 ms at {r}", _get(rate, "ack_ms", "p99"),
                              "< 100", lambda v: v < 100))
            rows.append(_goal(f"slack.reply_over_parse@{r}", "slack", f"reply p50 - parse ms at {r}",
                              rate.get("reply_p50_minus_parse_ms"), "<= 50", lambda v: v <= 50))
            rows.append(_goal(f"slack.drops@{r}", "slack", f"drops / duplicates at {r}",
                              f"{rate['drops']} / {rate['duplicates']}", "0 / 0",
                              lambda v, rate=rate: rate["drops"] == 0 and rate["duplicates"] == 0))
    teams = benchmarks.get("teams")
    if teams:
        for rate in teams.get("rates", []):
            r = f"{rate['rate_per_s']:g}/s"
            rows.append(_goal(f"teams.ack_p99@{r}", "teams", f"200/201 p99 ms at {r}", _get(rate, "ack_ms", "p99"),
                              "< 100", lambda v: v < 100))
            rows.append(_goal(f"teams.drops@{r}", "teams", f"drops / duplicates at {r}",
                              f"{rate['drops']} / {rate['duplicates']}", "0 / 0",
                              lambda v, rate=rate: rate["drops"] == 0 and rate["duplicates"] == 0))
    memory = benchmarks.get("memory")
    if memory:
        rows.append(_goal("memory.peak", "memory", "peak RSS of carebot serve slack (MiB)",
                          memory.get("peak_rss_mib"), "<= 1 GB (953.7 MiB)",
                          lambda v: memory["peak_rss_bytes"] <= memory["goal"]["peak_rss_bytes_max"]))
    cold = benchmarks.get("cold_start")
    if cold:
        rows.append(_goal("cold_start.ratio", "cold_start", "carebot ask / bare Rasa, start to first answer",
                          cold.get("ratio_median"), "<= 1.1", lambda v: v <= 1.10))
    training = benchmarks.get("training")
    if training and training.get("noop"):
        noop = training["noop"]
        rows.append(_goal("training.noop_seconds", "training", "carebot train, nothing changed (s)",
                          _get(noop, "seconds", "median"), "< 2", lambda v: v < 2.0))
        rows.append(_goal("training.noop_retrains", "training", "no-op retrains the model", noop.get("retrained"),
                          "no", lambda v: v is False))
    growth = benchmarks.get("growth")
    if growth:
        rows.append(_goal("growth.ratio", "growth", "turn with 10,000 / with 10 stored conversations",
                          growth.get("ratio_median"), "<= 1.10 (same)", lambda v: v <= 1.10))
    return rows


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def figures(benchmarks: Dict[str, Any]) -> List[List[str]]:
    """The rows of the printed table: benchmark, figure, value."""
    rows: List[List[str]] = []
    turn = benchmarks.get("turn")
    if turn:
        c, b = turn["carebot_turn_ms"], turn["bare_rasa_parse_ms"]
        rows += [
            ["turn", "carebot turn ms median / p90", f"{_fmt(c['median'])} / {_fmt(c['p90'])}"],
            ["turn", "bare Rasa parse ms median / p90", f"{_fmt(b['median'])} / {_fmt(b['p90'])}"],
            ["turn", "carebot's own work ms median", _fmt(turn["carebot_own_work_ms"]["median"])],
            ["turn", "ratio (medians) / (p90)", f"{_fmt(turn['ratio_median'])} / {_fmt(turn['ratio_p90'])}"],
            ["turn", "ratio, median of message pairs", _fmt(turn.get("paired_ratio_median"))],
            ["turn", "audit written behind, ms median / ratio with it",
             f"{_fmt((turn.get('audit_behind_ms') or {}).get('median'))} / "
             f"{_fmt(turn.get('ratio_median_with_audit_behind'))}"],
        ]
    store = benchmarks.get("store")
    if store:
        rows.append(["store", "SQLite: a turn's store calls ms median / p99",
                     f"{_fmt(store['sqlite_ms']['median'])} / {_fmt(store['sqlite_ms']['p99'])}"])
        if store.get("redis_ms"):
            rows += [["store", "Redis: a turn's store calls ms median / p99",
                      f"{_fmt(store['redis_ms']['median'])} / {_fmt(store['redis_ms']['p99'])}"],
                     ["store", "Redis's added cost per turn ms (median)", _fmt(store.get("redis_added_ms_median"))]]
    audit = benchmarks.get("audit")
    if audit:
        rows += [["audit", "per turn ms: on the turn / written behind it",
                  f"{_fmt(audit['on_turn_ms'])} / {_fmt(audit['behind_turn_ms'])}"],
                 ["audit", "per turn ms: total (the added cost)", _fmt(audit["total_ms"])]]
    slack = benchmarks.get("slack")
    if slack:
        if slack.get("replicas", 1) > 1:
            rows.append(["slack", "replicas sharing one Redis", str(slack["replicas"])])
        for rate in slack["rates"]:
            r = f"{rate['rate_per_s']:g}/s"
            rows += [
                ["slack", f"{r}: ack ms p50 / p99", f"{_fmt(rate['ack_ms']['median'])} / {_fmt(rate['ack_ms']['p99'])}"],
                ["slack", f"{r}: reply ms p50 / p99",
                 f"{_fmt(rate['reply_ms']['median'])} / {_fmt(rate['reply_ms']['p99'])}"],
                ["slack", f"{r}: events / answered / drops / dups",
                 f"{rate['events']} / {rate['answered']} / {rate['drops']} / {rate['duplicates']}"],
                ["slack", f"{r}: answers per s", _fmt(rate.get("answer_rate_per_s"))],
            ]
    teams = benchmarks.get("teams")
    if teams:
        for rate in teams["rates"]:
            r = f"{rate['rate_per_s']:g}/s"
            rows += [
                ["teams", f"{r}: 200/201 ms p50 / p99",
                 f"{_fmt(rate['ack_ms']['median'])} / {_fmt(rate['ack_ms']['p99'])}"],
                ["teams", f"{r}: reply ms p50 / p99",
                 f"{_fmt(rate['reply_ms']['median'])} / {_fmt(rate['reply_ms']['p99'])}"],
                ["teams", f"{r}: activities / answered / drops / dups",
                 f"{rate['activities']} / {rate['answered']} / {rate['drops']} / {rate['duplicates']}"],
                ["teams", f"{r}: apologies / answers per s",
                 f"{rate.get('apologies', 0)} / {_fmt(rate.get('answer_rate_per_s'))}"],
            ]
    memory = benchmarks.get("memory")
    if memory:
        rows += [
            ["memory", "serve slack RSS idle MiB", _fmt(memory.get("rss_idle_mib"))],
            ["memory", "serve slack peak RSS at start-up MiB", _fmt(memory.get("peak_rss_at_startup_mib"))],
            ["memory", "serve slack peak RSS under load MiB", _fmt(memory.get("peak_rss_mib"))],
        ]
    cold = benchmarks.get("cold_start")
    if cold:
        rows += [
            ["cold_start", "carebot ask: first answer s (median)", _fmt(_get(cold, "carebot", "first_answer_s", "median"))],
            ["cold_start", "bare Rasa: first answer s (median)", _fmt(_get(cold, "bare_rasa", "first_answer_s", "median"))],
            ["cold_start", "ratio", _fmt(cold.get("ratio_median"))],
        ]
    training = benchmarks.get("training")
    if training:
        if training.get("full"):
            rows.append(["training", "train --force, empty Rasa cache s", _fmt(training["full"]["seconds"])])
        if training.get("force_warm_cache"):
            rows.append(["training", "train --force, warm Rasa cache s", _fmt(training["force_warm_cache"]["seconds"])])
        if training.get("noop"):
            rows.append(["training", "train, nothing changed s (median)", _fmt(_get(training, "noop", "seconds", "median"))])
    growth = benchmarks.get("growth")
    if growth:
        small, large = (str(s) for s in (min(growth["sizes"]), max(growth["sizes"])))
        rows += [
            ["growth", f"turn ms median, {small} / {large} stored",
             f"{_fmt(growth['turn_ms'][small]['median'])} / {_fmt(growth['turn_ms'][large]['median'])}"],
            ["growth", f"state load+save us median, {small} / {large}",
             f"{_fmt(growth['state_load_save_us'][small]['median'])} / "
             f"{_fmt(growth['state_load_save_us'][large]['median'])}"],
            ["growth", "ratio (turn medians)", _fmt(growth.get("ratio_median"))],
        ]
    return rows


def table(document: Dict[str, Any]) -> str:
    def render(header: List[str], rows: List[List[str]]) -> List[str]:
        widths = [max(len(str(x)) for x in column) for column in zip(header, *rows)] if rows else [len(h) for h in header]
        line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
        return [line(header), line(["-" * w for w in widths])] + [line(r) for r in rows]

    m = document["machine"]
    mem = m.get("memory_bytes")
    memory = f"{mem / 2**30:.1f} GiB" if mem else "? GiB"
    out = [f"carebot bench{' --quick' if document.get('quick') else ''}: {m.get('cores')} cores"
           f" ({m.get('cpu_model') or '?'}), {memory}, Python {m.get('python')}, {m.get('platform')}",
           f"load average (1, 5, 15 min) before {document.get('load_before')}, after {document.get('load_after')}", ""]
    out += render(["benchmark", "figure", "value"], figures(document["benchmarks"]))
    out.append("")
    goal_rows = [[g["id"], _fmt(g["value"]), g["goal"], {True: "met", False: "MISSED", None: "-"}[g["met"]]]
                 for g in document["goals"]]
    out += render(["goal", "value", "target", ""], goal_rows)
    for warning in document.get("warnings") or []:
        out += ["", f"warning: {warning}"]
    if document.get("errors"):
        out.append("")
        out += [f"error in {name}: {(message.splitlines() or ['?'])[0]} (details in the JSON)"
                for name, message in document["errors"].items()]
    return "\n".join(out)


def write(document: Dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
    tmp.replace(path)


def load(path: Path) -> Optional[Dict[str, Any]]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
