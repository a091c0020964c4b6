"""The dialogue policy without the model: hand-made ParseResults fed to the manager (as botbuilder's
TestAdapter feeds activities), so what carebot does with a negated, hypothetical, uncertain or
someone else's fact, a ruled-out treatment, a prior failure or an unknown thing is tested exactly,
whatever the trained model would have said. The replays in tests/conversations check the same
families through the trained model."""
from __future__ import annotations

import re
from typing import List, Optional, Tuple

import pytest

from dialogues.manager import DialogueManager
from dialogues.state import ConversationState
from dialogues.types import Reply
from knowledge import default_knowledge
from nlu.types import Assertion, Entity, IntentScore, ParseResult

# (entity, value, text-in-message, assertion, name)
Spec = Tuple[str, str, str, Assertion, Optional[str]]
A, NEG, HYP, UNC, OTHER = (Assertion.affirmed, Assertion.negated, Assertion.hypothetical, Assertion.uncertain,
                           Assertion.other_experiencer)


def parse(text: str, intent: str, *entities: Tuple) -> ParseResult:
    """A ParseResult whose entity offsets point at the given words of `text`."""
    made: List[Entity] = []
    cursor = 0
    for spec in entities:
        entity, value, words = spec[:3]
        assertion = spec[3] if len(spec) > 3 else A
        name = spec[4] if len(spec) > 4 else None
        start = text.lower().index(words.lower(), cursor)
        cursor = start + len(words)
        made.append(Entity(entity=entity, value=value, text=text[start:cursor], start=start, end=cursor,
                           assertion=assertion, name=name))
    return ParseResult(intent=IntentScore(name=intent, confidence=0.9),
                       ranking=[IntentScore(name=intent, confidence=0.9)], entities=made)


@pytest.fixture()
def talk():
    manager = DialogueManager(default_knowledge())
    state = ConversationState()

    def say(text: str, intent: str, *entities: Tuple) -> Reply:
        return manager.respond(text, parse(text, intent, *entities), state)

    say.state = state  # type: ignore[attr-defined]
    return say


def caveat_of(reply: Reply, statement_id: str) -> Optional[str]:
    """The statement's caveat, or the one said once for every statement quoted."""
    own = next(s.caveat for s in reply.statements if s.id == statement_id)
    shared = next((line for line in reply.lead if line.startswith("For every statement below:")), None)
    return own or shared


def test_a_caveat_shared_by_every_statement_is_said_once(talk) -> None:
    reply = talk("lanreotide dose?", "dosing", ("drug", "lanreotide", "lanreotide"))
    assert len(reply.statements) > 1 and all(s.caveat is None for s in reply.statements)
    assert reply.text.count("not yet known") == 1 and "For every statement below: Applies if" in reply.text


# --- assertion: what is stored ------------------------------------------------------------------

def test_negated_fact_stores_its_opposite(talk) -> None:
    reply = talk("fyi not SSTR positive", "case_update", ("sstr_status", "positive", "SSTR positive", NEG))
    assert talk.state.slots["sstr_status"] == "negative"
    assert "Noted: SSTR-negative." in reply.text and "SSTR-positive." not in reply.text


@pytest.mark.parametrize("text,slot,value,words,expected", [
    ("she isn't progressing", "disease_status", "progressive", "progressing", "stable"),
    ("no PD on last scan", "disease_status", "progressive", "PD", "stable"),
    ("she isn't resectable", "resectability", "resectable", "resectable", "unresectable"),
])
def test_negations_store_the_opposite(talk, text, slot, value, words, expected) -> None:
    talk(text, "case_update", (slot, value, words, NEG))
    assert talk.state.slots[slot] == expected


def test_negated_fact_without_one_opposite_stores_nothing_and_says_so(talk) -> None:
    reply = talk("not well differentiated", "case_update", ("differentiation", "well", "well differentiated", NEG))
    assert talk.state.slots["differentiation"] is None
    assert "Not noted as a case fact" in reply.text and "Noted:" not in reply.text


@pytest.mark.parametrize("status,line", [(UNC, "does not state it as certain"), (OTHER, "someone other than the patient")])
def test_uncertain_or_someone_elses_fact_is_not_stored(talk, status, line) -> None:
    reply = talk("might be progressing", "case_update", ("disease_status", "progressive", "progressing", status))
    assert talk.state.slots["disease_status"] is None
    assert line in reply.text and "Noted:" not in reply.text


def test_hypothetical_fact_answers_this_question_only(talk) -> None:
    reply = talk("if she progresses, what about everolimus?", "next_steps",
                 ("disease_status", "progressive", "progresses", HYP), ("drug", "everolimus", "everolimus"))
    assert "hypothetical" in reply.text
    assert "guidelines-systemic-everolimus-sunitinib" in reply.statement_ids
    assert caveat_of(reply, "guidelines-systemic-everolimus-sunitinib") is None  # answered as progressive
    assert talk.state.slots["disease_status"] is None
    later = talk("everolimus dose?", "dosing", ("drug", "everolimus", "everolimus"))
    assert "not yet known" in (caveat_of(later, "guidelines-systemic-everolimus-sunitinib") or "")


# --- prerequisites of treatments, inherited by every statement naming them ----------------------

def test_sstr_negative_rules_out_every_statement_for_prrt(talk) -> None:
    talk("SSTR negative", "case_update", ("sstr_status", "negative", "SSTR negative"))
    reply = talk("is PRRT an option?", "next_steps", ("procedure", "prrt", "PRRT"))
    for statement in reply.statements:
        assert statement.caveat and "Does not apply" in statement.caveat, statement.id
    assert "SSTR-negative" in reply.text


def test_overview_names_the_ruled_out_treatment_in_a_caveat(talk) -> None:
    talk("SSTR negative", "case_update", ("sstr_status", "negative", "SSTR negative"))
    reply = talk("what are the options?", "next_steps")
    assert "guidelines-prrt-high-sstr-expression" not in reply.statement_ids
    best = caveat_of(reply, "guidelines-best-approach-multidisciplinary")
    assert best and "PRRT" in best and "SSTR-negative" in best


def test_poorly_differentiated_caveats_lanreotide(talk) -> None:
    talk("poorly differentiated", "case_update", ("differentiation", "poorly", "poorly differentiated"))
    reply = talk("lanreotide dose?", "dosing", ("drug", "lanreotide", "lanreotide"))
    assert caveat_of(reply, "lanreotide-label-dosage") and "poorly differentiated" in reply.text


# --- exclusions after progression or failure -----------------------------------------------------

def test_failed_drug_stays_excluded_from_the_options(talk) -> None:
    talk("failed everolimus", "case_update", ("disease_status", "progressive", "failed"),
         ("drug", "everolimus", "everolimus"))
    reply = talk("next?", "next_steps")
    systemic = caveat_of(reply, "guidelines-systemic-everolimus-sunitinib")
    assert systemic and "everolimus" in systemic and "progressed on it" in systemic


def test_progression_on_a_procedure_excludes_it(talk) -> None:
    talk("progressed after TACE", "case_update", ("disease_status", "progressive", "progressed"),
         ("procedure", "tace", "TACE"))
    assert "tace" in talk.state.excluded
    reply = talk("next steps?", "next_steps")
    assert all("TACE" in (s.caveat or "TACE-free") or "tace" not in s.id for s in reply.statements)


def test_ssa_progression_leaves_out_the_ssa_lines(talk) -> None:
    talk("PD on octreotide LAR", "case_update", ("disease_status", "progressive", "PD"),
         ("drug", "octreotide", "octreotide LAR"))
    reply = talk("options?", "next_steps")
    assert "guidelines-option-ssa" not in reply.statement_ids
    assert re.search(r"excluded from the options: .*octreotide", reply.text, re.I)


def test_hypothetical_progression_on_a_drug_is_not_remembered(talk) -> None:
    talk("what if she progressed on lanreotide?", "next_steps", ("disease_status", "progressive", "progressed", HYP),
         ("drug", "lanreotide", "lanreotide", HYP))
    assert talk.state.excluded == [] and talk.state.slots["disease_status"] is None


# --- unknown things -----------------------------------------------------------------------------

def test_unknown_drug_follow_up_never_inherits_the_previous_drug(talk) -> None:
    talk("lanreotide dose?", "dosing", ("drug", "lanreotide", "lanreotide"))
    reply = talk("and lasix dose?", "dosing", ("drug", "unknown", "lasix", A, "furosemide"))
    assert reply.statements == [] and "furosemide" in reply.text and "lasix" not in reply.text.lower()
    after = talk("and the dose for that?", "dosing")
    assert "lanreotide-label-dosage" not in after.statement_ids


def test_unknown_word_without_a_name_is_never_echoed(talk) -> None:
    reply = talk("pt Abdulsalam Haddad, dose?", "dosing", ("drug", "unknown", "Abdulsalam", A, None))
    assert "Abdulsalam" not in reply.text and reply.statements == []


def test_comedication_is_named(talk) -> None:
    reply = talk("everolimus dose, pt on itraconazole", "dosing", ("drug", "everolimus", "everolimus"),
                 ("drug", "unknown", "itraconazole", A, "itraconazole"))
    assert "no statement covers everolimus with itraconazole" in reply.text
    assert "guidelines-systemic-everolimus-sunitinib" in reply.statement_ids


def test_short_acting_octreotide_is_not_answered_with_lar(talk) -> None:
    reply = talk("octreotide short-acting 100 mcg tid?", "dosing", ("drug", "octreotide", "octreotide"))
    assert reply.statements == [] and "short-acting octreotide" in reply.text


# --- qualifiers and premises --------------------------------------------------------------------

def test_population_gets_the_adults_note(talk) -> None:
    reply = talk("lanreotide dose for a 12 yo", "dosing", ("drug", "lanreotide", "lanreotide"),
                 ("population", "child", "12 yo", A, "a child"))
    assert "adults with GEP-NETs" in reply.text and "a child" in reply.text


def test_dose_change_is_refused(talk) -> None:
    reply = talk("can we double the lanreotide dose?", "dosing", ("dose_change", "increase", "double"),
                 ("drug", "lanreotide", "lanreotide"))
    assert reply.statements == [] and "no statement on adjusting" in reply.text


def test_wrong_dose_is_named_and_never_called_correct(talk) -> None:
    reply = talk("lanreotide 90 mg ok?", "dosing", ("drug", "lanreotide", "lanreotide"))
    assert "You wrote 90 mg" in reply.text and "120 mg" in reply.text
    assert not re.search(r"\bcorrect\b", reply.text, re.I)


def test_a_clarifying_question_still_says_the_treatment_is_ruled_out(talk) -> None:
    talk("poorly differentiated", "case_update", ("differentiation", "poorly", "poorly differentiated"))
    reply = talk("lanreotide hmm", "nlu_fallback", ("drug", "lanreotide", "lanreotide"))
    assert reply.kind.value == "clarify"
    assert "Does not apply to lanreotide in this case" in reply.text and "poorly differentiated" in reply.text


@pytest.mark.parametrize("text,words", [("increase the octreotide?", "octreotide"), ("hold lanreotide before TACE", "lanreotide")])
def test_a_change_verb_before_a_drug_is_a_dose_change(talk, text, words) -> None:
    reply = talk(text, "dosing", ("drug", words, words))
    assert reply.statements == [] and "no statement on adjusting" in reply.text


@pytest.mark.parametrize("status", [NEG, OTHER])
def test_a_population_not_about_the_patient_adds_no_note(talk, status) -> None:
    reply = talk("lanreotide dose, she's not pregnant", "dosing", ("drug", "lanreotide", "lanreotide"),
                 ("population", "pregnancy", "pregnant", status, "pregnancy"))
    assert "adults with GEP-NETs" not in reply.text and reply.statements


@pytest.mark.parametrize("text", ["octreotide 50mcg subcut tds ok?", "octreotide 100 mcg q8h", "IV octreotide infusion rate"])
def test_short_acting_figures_glued_or_not(talk, text) -> None:
    reply = talk(text, "dosing", ("drug", "octreotide", "octreotide"))
    assert reply.statements == [] and "short-acting octreotide" in reply.text


def test_octreotide_with_only_a_wrong_route_is_the_lar_question_with_the_route_named(talk) -> None:
    reply = talk("octreotide 30 mg subcut?", "dosing", ("drug", "octreotide", "octreotide"))
    assert "guidelines-initial-ssa-dosing" in reply.statement_ids
    assert "You wrote subcut; the cited statements give intramuscularly." in reply.text
