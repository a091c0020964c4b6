"""What a record holds: ids, enum values, pseudonyms, catalogue text; never what anyone typed."""
from __future__ import annotations

import hashlib
import hmac

from audit.pseudonym import Pseudonymizer
from audit.record import RecordBuilder
from dialogues import compose
from dialogues.types import CitedStatement, ReplyKind, SourceRef, Turn
from knowledge import Topic
from nlu.types import IntentScore
from tests.audit.conftest import KEY, OTHER_KEY, answer, builder

TURN_FIELDS = {"v", "type", "id", "at", "platform", "conversation", "user", "key_id", "kind", "intent", "confidence",
               "statements", "caveats", "notes", "facts", "kb_version", "model", "carebot", "latency_ms"}


def test_a_turn_record_holds_exactly_the_documented_fields(kb) -> None:
    reply = answer(kb, Topic.dosing, "lanreotide")
    body = builder(kb).turn(Turn(text="Jane Roe lanreotide dose?", conversation_id="C1", user="U1",
                                 platform="slack"), reply, 4.23456, 1_700_000_000.5)
    assert set(body) == TURN_FIELDS
    assert body["platform"] == "slack" and body["kind"] == "answer" and body["intent"] == "dosing"
    assert body["statements"] == reply.statement_ids and body["latency_ms"] == 4.2
    assert body["at"] == "2023-11-14T22:13:20.500Z"
    assert body["facts"] == {"drug": "lanreotide"}
    # the shared caveat ("For every statement below: ...") is recorded under every statement it covers
    assert body["caveats"] and set(body["caveats"][0]["statements"]) == set(reply.statement_ids)
    assert "Jane" not in str(body) and "Roe" not in str(body)


def test_lead_text_and_entities_are_never_recorded(kb) -> None:
    """The lead can quote the user's figures ("You wrote 90 mg ..."); entities carry the user's words."""
    reply = answer(kb, Topic.dosing, "lanreotide")
    reply = reply.copy(update={"lead": ["You wrote 777 mg for Quillfeather."], "text": "Quillfeather 777 mg",
                               "suggestions": ["Quillfeather?"]})
    body = builder(kb).turn(Turn(text="Quillfeather 777 mg", conversation_id="C1"), reply, 1.0, 0.0)
    assert "Quillfeather" not in str(body) and "777" not in str(body)


def test_caveats_and_notes_that_are_not_catalogue_text_are_withheld(kb) -> None:
    reply = answer(kb, Topic.dosing, "lanreotide")
    strange = CitedStatement.construct(id="x", text="t", source=SourceRef.construct(kind="guideline", title="t"),
                                       citation="c", mentions=[], caveat="Applies to Quillfeather, MRN 12345678.")
    reply = reply.copy(update={"statements": [*reply.statements, strange],
                               "notes": ["Not shown: what applies only to Quillfeather.", *reply.notes]})
    body = builder(kb).turn(Turn(text="", conversation_id="C1"), reply, 1.0, 0.0)
    assert "Quillfeather" not in str(body) and "12345678" not in str(body)
    assert body["withheld"] == 2


def test_facts_keep_only_canonical_values(kb) -> None:
    make = builder(kb)
    assert make.facts({"drug": "lanreotide", "sstr_status": "positive", "procedure": None}) == \
        {"drug": "lanreotide", "sstr_status": "positive"}
    assert make.facts({"drug": "Jane Roe", "sstr_status": "1961-04-02", "mrn": "12345678"}) == {}


def test_unknown_intents_and_platforms_are_not_recorded_as_given(kb) -> None:
    reply = compose.build(ReplyKind.fallback, intent=IntentScore(name="Jane Roe", confidence=0.5), entities=[],
                          slots={}, lead=[])
    body = builder(kb).turn(Turn(text="", conversation_id="C1", platform="Jane Roe"), reply, 1.0, 0.0)
    assert body["intent"] == "other" and body["platform"] == "other"


def test_pseudonyms_are_stable_under_one_key_and_differ_under_another() -> None:
    one, again, other = Pseudonymizer(KEY.secret), Pseudonymizer(KEY.secret), Pseudonymizer(OTHER_KEY.secret)
    assert one("user", "U123") == again("user", "U123")
    assert one("conversation", "C9:1700.1") == again("conversation", "C9:1700.1")
    assert one("user", "U123") != other("user", "U123")
    assert one("user", "U123") != one("user", "U124")
    assert one("user", "U123") != one("conversation", "U123")  # kinds are kept apart
    assert one.key_id == again.key_id != other.key_id
    assert one("user", None) is None


def test_an_auditor_resolves_a_pseudonym_with_the_key_alone() -> None:
    """What docs/audit.md tells an auditor to compute: HMAC-SHA256(key, "<kind>:<id>")."""
    expected = hmac.new(KEY.secret, b"user:U123", hashlib.sha256).hexdigest()
    assert Pseudonymizer(KEY.secret)("user", "U123") == expected


def test_records_under_another_key_carry_its_key_id(kb) -> None:
    from audit.snapshot import kb_snapshot

    other = Pseudonymizer(OTHER_KEY.secret)
    make = RecordBuilder(kb, kb_snapshot(kb).version, "m", "0", other, other.key_id)
    body = make.turn(Turn(text="", conversation_id="C1", user="U1"), answer(kb, Topic.dosing, "lanreotide"), 1, 0)
    assert body["key_id"] == other.key_id != Pseudonymizer(KEY.secret).key_id
    assert body["conversation"] == other("conversation", "C1")
