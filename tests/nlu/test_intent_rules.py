"""ClinicalScopeRule: out_of_scope gives way to the best clinical intent when a clinical cue is present."""
from __future__ import annotations

from typing import Any, Dict, List

import pytest

from nlu.intent_rules import ClinicalScopeRule, is_action_request, promote_clinical


def _ranking(*pairs: Any) -> List[Dict[str, Any]]:
    return [{"name": name, "confidence": confidence} for name, confidence in pairs]


RANKING = _ranking(("out_of_scope", 0.6), ("greet", 0.2), ("dosing", 0.15), ("monitoring", 0.05))
DRUG = {"entity": "drug", "value": "octreotide"}


def test_known_drug_turns_out_of_scope_into_best_clinical_intent() -> None:
    intent, ranking = promote_clinical(RANKING[0], RANKING, [DRUG], "remind me that one again")
    assert intent == {"name": "dosing", "confidence": 0.6}
    # confidences swapped, so the ranking is still a ranking and nothing else moved
    assert ranking == _ranking(("dosing", 0.6), ("greet", 0.2), ("out_of_scope", 0.15), ("monitoring", 0.05))


@pytest.mark.parametrize("entity", [
    {"entity": "procedure", "value": "tace"},
    {"entity": "test", "value": "chromogranin-a"},
    {"entity": "class", "value": "somatostatin-analog"},
    {"entity": "disease_status", "value": "progressive"},
    {"entity": "drug", "value": "unknown"},
    {"entity": "procedure", "value": "unknown"},
])
def test_every_clinical_cue_counts(entity: Dict[str, str]) -> None:
    assert promote_clinical(RANKING[0], RANKING, [entity], "x")[0]["name"] == "dosing"


def test_no_cue_or_other_intent_is_left_alone() -> None:
    assert promote_clinical(RANKING[0], RANKING, [], "what's the weather") is None
    assert promote_clinical(RANKING[0], RANKING, [{"entity": "population", "value": "pediatric"}], "x") is None
    greet = _ranking(("greet", 0.7), ("out_of_scope", 0.2), ("dosing", 0.1))
    assert promote_clinical(greet[0], greet, [DRUG], "hi") is None


def test_no_clinical_intent_in_ranking_is_left_alone() -> None:
    ranking = _ranking(("out_of_scope", 0.8), ("greet", 0.2))
    assert promote_clinical(ranking[0], ranking, [DRUG], "x") is None


@pytest.mark.parametrize("text", [
    "can you book the CT for friday?", "book the MRI for friday", "put in an order for chromogranin A",
    "<@U0123ABCD> pls schedule her TACE", "order a CT abd pelvis for her", "page IR about the TACE time",
    "start a prior auth for Somatuline",
])
def test_requests_to_act_stay_out_of_scope(text: str) -> None:
    assert is_action_request(text)
    assert promote_clinical(RANKING[0], RANKING, [DRUG], text) is None


@pytest.mark.parametrize("text", [
    "order of treatments, PRRT first?", "remind me the lanreotide dose", "should we book her for PRRT or TACE",
    "what's the schedule for CgA checks",
])
def test_questions_are_not_requests_to_act(text: str) -> None:
    assert not is_action_request(text)


def test_component_process_updates_the_message() -> None:
    from rasa.shared.nlu.training_data.message import Message

    message = Message(data={"text": "octreotide again?", "intent": dict(RANKING[0]),
                            "intent_ranking": [dict(r) for r in RANKING], "entities": [DRUG]})
    rule = ClinicalScopeRule.create({}, None, None, None)  # type: ignore[arg-type]
    rule.process([message])
    assert message.get("intent")["name"] == "dosing"
    assert [r["name"] for r in message.get("intent_ranking")][:3] == ["dosing", "greet", "out_of_scope"]


def test_component_respects_configured_cue_entities() -> None:
    from rasa.shared.nlu.training_data.message import Message

    message = Message(data={"text": "x", "intent": dict(RANKING[0]),
                            "intent_ranking": [dict(r) for r in RANKING], "entities": [DRUG]})
    ClinicalScopeRule.create({"cue_entities": ["test"]}, None, None, None).process([message])  # type: ignore[arg-type]
    assert message.get("intent")["name"] == "out_of_scope"


async def test_real_model_never_calls_a_named_drug_out_of_scope(parser) -> None:
    for text in ("lanreotide, remind me once more", "that everolimus thing from before", "PRRT??"):
        assert (await parser.parse(text)).intent.name != "out_of_scope"


def test_another_disease_is_not_a_clinical_cue() -> None:
    """'a1c goals for diabetics' stays out of scope; the dialogue names the disease either way."""
    assert promote_clinical(RANKING[0], RANKING, [{"entity": "condition", "value": "unknown"}], "a1c goals") is None
