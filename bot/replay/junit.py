"""JUnit XML for CI dashboards: one testsuite per replay file (or Slack channel), one testcase per
conversation, a <failure> for unmet expectations and an <error> when the core raised.

Messages under test include control characters on purpose (bad-input conversations); XML 1.0
cannot hold most of them even escaped, so they are written as visible escapes instead of making
the whole report unreadable to the dashboard.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import OrderedDict
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List

from bot.replay.report import REPLAY_LABELS, Labels, failure_details
from bot.replay.runner import ConversationResult

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml_safe(text: str) -> str:
    return _XML_INVALID.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def junit_tree(results: List[ConversationResult], suite_name: str = "carebot replay",
               labels: Labels = REPLAY_LABELS) -> ET.ElementTree:
    groups: Dict[str, List[ConversationResult]] = OrderedDict()
    for result in results:
        groups.setdefault(result.case.group, []).append(result)
    root = ET.Element("testsuites", name=suite_name)
    stamp = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    for group, members in groups.items():
        suite = ET.SubElement(root, "testsuite", name=xml_safe(group), timestamp=stamp)
        for result in members:
            suite.append(_testcase(result, group, labels))
        _counts(suite, members)
    _counts(root, results)
    return ET.ElementTree(root)


def write_junit(results: List[ConversationResult], path: Path, suite_name: str = "carebot replay",
                labels: Labels = REPLAY_LABELS) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tree = junit_tree(results, suite_name, labels)
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)


def _testcase(result: ConversationResult, group: str, labels: Labels) -> ET.Element:
    case = ET.Element("testcase", classname=xml_safe(_classname(group)), name=xml_safe(result.name),
                      time=f"{result.duration:.3f}")
    origin = result.case.origin
    if origin is not None:
        case.set("file", str(origin.path))
        if origin.line:
            case.set("line", str(origin.line))
    if result.passed:
        return case
    details = xml_safe(failure_details(result, labels, verbose=True))
    if result.error is not None:
        error = ET.SubElement(case, "error", message=xml_safe(result.error), type="ReplayError")
        error.text = details
        return case
    first = result.failed_turns[0]
    checks = ", ".join(f.check for f in first.failures)
    message = f"turn {first.number}: {first.failures[0].summary()}" if first.failures else f"turn {first.number}"
    if len(result.failed_turns) > 1 or len(first.failures) > 1:
        message += f" (and {sum(len(t.failures) for t in result.failed_turns) - 1} more; checks: {checks})"
    failure = ET.SubElement(case, "failure", message=xml_safe(message[:1000]), type="ExpectationFailed")
    failure.text = details
    return case


def _counts(element: ET.Element, results: List[ConversationResult]) -> None:
    errors = sum(1 for r in results if r.error is not None)
    failures = sum(1 for r in results if not r.passed and r.error is None)
    element.set("tests", str(len(results)))
    element.set("failures", str(failures))
    element.set("errors", str(errors))
    element.set("skipped", "0")
    element.set("time", f"{sum(r.duration for r in results):.3f}")


def _classname(group: str) -> str:
    """'tests/conversations/dosing.yml' -> 'tests.conversations.dosing' (dashboards group on dots)."""
    path = Path(group)
    stem = path.with_suffix("") if path.suffix in (".yml", ".yaml") else path
    return ".".join(part for part in stem.parts if part not in ("/", "")).replace(" ", "_") or "replay"
