"""The bench hook `carebot bench` calls: the audit's added cost per record, in ms."""
from __future__ import annotations

from audit.bench import audit_cost_breakdown, audit_cost_ms


async def test_audit_cost_is_measured_and_small() -> None:
    cost = await audit_cost_ms(100)
    assert 0 < cost < 5.0  # about 0.2 ms on a laptop; generous for a shared CI machine
    parts = await audit_cost_breakdown(100)
    assert set(parts) == {"on_turn_ms", "behind_turn_ms", "total_ms"}
    assert parts["on_turn_ms"] < parts["total_ms"]


def test_the_commands_fit_the_carebot_cli() -> None:
    """bot.cli adds each module's parser to its own subparsers: these must not clash with others'."""
    import argparse

    from bot import audit_commands, kb_commands

    parser = argparse.ArgumentParser(prog="carebot")
    sub = parser.add_subparsers(dest="command", required=True)
    kb_commands.add_parser(sub)
    audit_commands.add_parser(sub)
    args = parser.parse_args(["audit", "export", "--since", "2024-01-01", "--format", "csv"])
    assert args.handler is audit_commands.export_command and args.format == "csv"
    assert parser.parse_args(["feedback", "report"]).output == audit_commands.DEFAULT_CHART
