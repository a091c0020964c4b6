"""Expectation semantics, checked against hand-made replies."""
from __future__ import annotations

from typing import Any, Dict, List

import pytest

from bot.replay.checks import check_reply, describe_expect
from bot.replay.schema import Expect
from dialogues.types import CitedStatement, Reply, SourceRef
from nlu.types import Entity, IntentScore

LABEL = CitedStatement(id="lanreotide-label-dosage", source=SourceRef(kind="drug_label", title="label"),
                       citation="Lanreotide Injection, FDA label",
                       text="The recommended dosage of Lanreotide Injection is 120 mg administered every 4 weeks by deep subcutaneous injection.")
GUIDE = CitedStatement(id="guidelines-initial-ssa-dosing", source=SourceRef(kind="guideline", title="g"), citation="g",
                       text="Initial management should include somatostatin analogs such as octreotide LAR 30mg intramuscularly every 4 weeks.")


def reply(**overrides: Any) -> Reply:
    fields: Dict[str, Any] = dict(
        kind="answer",
        intent=IntentScore(name="dosing", confidence=0.98),
        entities=[Entity(entity="drug", value="lanreotide", text="somatuline")],
        slots={"drug": "lanreotide", "sstr_status": None},
        statements=[GUIDE, LABEL],
        text="Lanreotide: dosing\n" + LABEL.text + "\n" + GUIDE.text,
        suggestions=["What monitoring is recommended?"],
    )
    fields.update(overrides)
    return Reply(**fields)


def failures(expect: Dict[str, Any], **overrides: Any) -> List[str]:
    return [f.check for f in check_reply(Expect.parse_obj(expect), reply(**overrides))]


def test_everything_met() -> None:
    assert failures({
        "kind": "answer", "intent": "dosing", "entities": {"drug": "lanreotide"},
        "slots": {"drug": "lanreotide", "sstr_status": None}, "reply_contains": ["120 MG", "deep subcutaneous"],
        "reply_not_contains": ["everolimus"], "reply_matches": ["every 4 weeks|q4w"],
        "cites": ["drug_label", "guidelines-initial-ssa-dosing"], "not_cites": ["research"],
        "suggestions_contain": ["monitoring"],
    }) == []


def test_an_empty_expectation_checks_nothing() -> None:
    assert failures({}, kind="fallback", statements=[], text="") == []


@pytest.mark.parametrize("expect, check", [
    ({"kind": "clarify"}, "kind"),
    ({"kind": ["clarify", "fallback"]}, "kind"),
    ({"intent": "monitoring"}, "intent"),
    ({"entities": {"drug": "octreotide"}}, "entities.drug"),
    ({"entities": {"drug": None}}, "entities.drug"),
    ({"entities": {"procedure": "tace"}}, "entities.procedure"),
    ({"slots": {"drug": "octreotide"}}, "slots.drug"),
    ({"slots": {"drug": None}}, "slots.drug"),
    ({"slots": {"sstr_status": "positive"}}, "slots.sstr_status"),
    ({"reply_contains": ["30 mg every two weeks"]}, "reply_contains"),
    ({"reply_not_contains": ["OCTREOTIDE"]}, "reply_not_contains"),
    ({"reply_matches": ["q2w"]}, "reply_matches"),
    ({"reply_equals": "Lanreotide: dosing"}, "reply_equals"),
    ({"cites": ["research"]}, "cites"),
    ({"cites": ["everolimus-dose"]}, "cites"),
    ({"cites": []}, "cites"),
    ({"not_cites": ["drug_label"]}, "not_cites"),
    ({"suggestions_contain": ["TACE"]}, "suggestions_contain"),
])
def test_each_key_fails_on_its_own(expect: Dict[str, Any], check: str) -> None:
    assert failures(expect) == [check]


def test_one_of_several_kinds() -> None:
    assert failures({"kind": ["fallback", "answer"]}) == []


def test_entities_compare_the_set_of_values_of_each_listed_type() -> None:
    two = [Entity(entity="test", value="chromogranin-a", text="CgA"),
           Entity(entity="test", value="cross-sectional-imaging", text="CT"),
           Entity(entity="test", value="chromogranin-a", text="chromogranin")]
    assert failures({"entities": {"test": ["cross-sectional-imaging", "chromogranin-a"]}}, entities=two) == []
    assert failures({"entities": {"test": "chromogranin-a"}}, entities=two) == ["entities.test"]
    assert failures({"entities": {"drug": None}}, entities=two) == []  # unlisted types are not checked


def test_slots_null_means_empty() -> None:
    assert failures({"slots": {"sstr_status": None, "procedure": None}}) == []
    assert failures({"slots": {"drug": None}}, slots={"drug": ""}) == []


def test_cites_empty_list_means_no_statement() -> None:
    assert failures({"cites": []}, statements=[]) == []


def test_failures_say_what_happened() -> None:
    [missing] = check_reply(Expect.parse_obj({"reply_contains": ["120 mg every four weeks"]}), reply())
    assert "120 mg every four weeks" in missing.summary() and "not in the reply" in missing.summary()
    assert "120 mg administered every 4 weeks" in (missing.detail or "")
    [echoed] = check_reply(Expect.parse_obj({"reply_not_contains": ["octreotide"]}), reply())
    assert "octreotide LAR 30mg" in echoed.summary()
    [kind] = check_reply(Expect.parse_obj({"kind": "clarify"}), reply())
    assert kind.summary() == "kind: expected clarify, got answer"
    [cites] = check_reply(Expect.parse_obj({"cites": ["drug_label", "research"]}), reply())
    assert "not cited: research" in (cites.detail or "")
    [equals] = check_reply(Expect.parse_obj({"reply_equals": reply().text.replace("120", "90")}), reply())
    assert "-The recommended dosage of Lanreotide Injection is 90 mg" in (equals.detail or "")
    assert "+The recommended dosage of Lanreotide Injection is 120 mg" in (equals.detail or "")


def test_no_intent_is_reported_as_such() -> None:
    [intent] = check_reply(Expect.parse_obj({"intent": "dosing"}), reply(intent=None))
    assert intent.actual == "no intent"


def test_describe_expect_reads_like_the_file() -> None:
    text = describe_expect(Expect.parse_obj({"kind": "answer", "entities": {"drug": "lanreotide"},
                                             "reply_contains": ["120 mg"], "slots": {"drug": None}}))
    assert text == 'kind: answer; entities: {drug: lanreotide}; slots: {drug: null}; reply_contains: ["120 mg"]'
    assert describe_expect(Expect()) == "(nothing checked)"
