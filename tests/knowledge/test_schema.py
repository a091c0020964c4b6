"""A bad knowledge file is one clear error naming file, record and field; nothing half-loads."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from knowledge import KnowledgeError, load_knowledge
from knowledge.loader import LEXICON_PATH, STATEMENTS_DIR

GOOD = {
    "id": "test-statement",
    "text": "The recommended dosage of Lanreotide Injection is 120 mg administered every 4 weeks by deep subcutaneous injection.",
    "source": {"kind": "drug_label", "title": "Lanreotide Injection, FDA prescribing information", "seed": "000"},
    "citation": "Lanreotide Injection, FDA label",
    "topics": ["dosing"],
    "entities": ["lanreotide"],
}


def write_kb(tmp_path: Path, records: list, raw: str | None = None) -> Path:
    directory = tmp_path / "statements"
    directory.mkdir()
    path = directory / "bad.yml"
    path.write_text(raw if raw is not None else yaml.safe_dump({"statements": records}))
    return directory


def load_error(tmp_path: Path, records: list, raw: str | None = None) -> KnowledgeError:
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(write_kb(tmp_path, records, raw), LEXICON_PATH)
    return caught.value


def test_good_record_loads(tmp_path: Path) -> None:
    kb = load_knowledge(write_kb(tmp_path, [GOOD]), LEXICON_PATH)
    assert [s.id for s in kb.statements] == ["test-statement"]


def test_duplicate_id(tmp_path: Path) -> None:
    error = load_error(tmp_path, [GOOD, GOOD])
    assert error.path.name == "bad.yml" and error.field == "id"
    assert "duplicate id" in str(error) and "'test-statement'" in str(error)


def test_duplicate_id_across_files(tmp_path: Path) -> None:
    directory = write_kb(tmp_path, [GOOD])
    (directory / "other.yml").write_text(yaml.safe_dump({"statements": [GOOD]}))
    with pytest.raises(KnowledgeError, match="duplicate id"):
        load_knowledge(directory, LEXICON_PATH)


def test_unknown_source_kind(tmp_path: Path) -> None:
    error = load_error(tmp_path, [{**GOOD, "source": {**GOOD["source"], "kind": "blog"}}])
    assert error.record == "#1 'test-statement'" and error.field == "source.kind"
    assert "bad.yml" in str(error) and "source.kind" in str(error)


def test_unknown_topic(tmp_path: Path) -> None:
    error = load_error(tmp_path, [{**GOOD, "topics": ["dosing", "billing"]}])
    assert error.field == "topics.1"


def test_missing_citation(tmp_path: Path) -> None:
    record = {k: v for k, v in GOOD.items() if k != "citation"}
    error = load_error(tmp_path, [record])
    assert error.field == "citation" and "field required" in error.problem


def test_empty_citation(tmp_path: Path) -> None:
    assert load_error(tmp_path, [{**GOOD, "citation": "  "}]).field == "citation"


def test_empty_text(tmp_path: Path) -> None:
    assert load_error(tmp_path, [{**GOOD, "text": ""}]).field == "text"


def test_unknown_field_is_a_typo(tmp_path: Path) -> None:
    error = load_error(tmp_path, [{**GOOD, "topcis": ["dosing"]}])
    assert error.field == "topcis" and "extra fields not permitted" in error.problem


def test_unknown_entity_id(tmp_path: Path) -> None:
    error = load_error(tmp_path, [{**GOOD, "entities": ["lanreotid"]}])
    assert error.field == "entities" and "lanreotid" in error.problem


def test_condition_on_unknown_slot(tmp_path: Path) -> None:
    error = load_error(tmp_path, [{**GOOD, "conditions": {"blood_type": "O"}}])
    assert error.field == "conditions.__key__"


def test_condition_with_unknown_value(tmp_path: Path) -> None:
    error = load_error(tmp_path, [{**GOOD, "conditions": {"sstr_status": "maybe"}}])
    assert error.field == "conditions" and "maybe" in error.problem


def test_malformed_yaml(tmp_path: Path) -> None:
    error = load_error(tmp_path, [], raw="statements:\n  - id: x\n    text: [unclosed\n")
    assert error.path.name == "bad.yml" and "malformed YAML at line" in str(error)


def test_not_a_mapping(tmp_path: Path) -> None:
    assert "expected a mapping" in str(load_error(tmp_path, [], raw="- just\n- a list\n"))


def test_lexicon_surface_form_claimed_twice(tmp_path: Path) -> None:
    lexicon = yaml.safe_load(LEXICON_PATH.read_text())
    lexicon["entries"][1]["synonyms"].append("Somatuline")  # octreotide claims lanreotide's brand
    bad = tmp_path / "lexicon.yml"
    bad.write_text(yaml.safe_dump(lexicon))
    with pytest.raises(KnowledgeError, match="'Somatuline' already names 'lanreotide'"):
        load_knowledge(STATEMENTS_DIR, bad)


def test_all_or_nothing(tmp_path: Path) -> None:
    """One bad file among good ones: nothing loads."""
    directory = tmp_path / "statements"
    shutil.copytree(STATEMENTS_DIR, directory)
    (directory / "zz-bad.yml").write_text(yaml.safe_dump({"statements": [{**GOOD, "topics": []}]}))
    with pytest.raises(KnowledgeError):
        load_knowledge(directory, LEXICON_PATH)


def test_mentions_are_optional_strings(tmp_path: Path) -> None:
    kb = load_knowledge(write_kb(tmp_path, [{**GOOD, "mentions": ["ACR Appropriateness Criteria, 2022 update"]}]), LEXICON_PATH)
    assert kb.get("test-statement").mentions == ["ACR Appropriateness Criteria, 2022 update"]
    again = tmp_path / "again"
    again.mkdir()
    assert load_error(again, [{**GOOD, "mentions": {"ACR": 1}}]).field == "mentions"


def lexicon_error(tmp_path: Path, entry_id: str, requires: object) -> KnowledgeError:
    lexicon = yaml.safe_load(LEXICON_PATH.read_text())
    entry = next(e for e in lexicon["entries"] if e["id"] == entry_id)
    entry["requires"] = requires
    bad = tmp_path / "lexicon.yml"
    bad.write_text(yaml.safe_dump(lexicon))
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(STATEMENTS_DIR, bad)
    return caught.value


def test_requires_on_unknown_slot(tmp_path: Path) -> None:
    error = lexicon_error(tmp_path, "everolimus", {"blood_type": "O"})
    assert error.path.name == "lexicon.yml" and error.record is not None and "'everolimus'" in error.record
    assert error.field == "requires.__key__"


def test_requires_with_unknown_value(tmp_path: Path) -> None:
    error = lexicon_error(tmp_path, "prrt", {"sstr_status": ["positive", "weakly"]})
    assert "'prrt'" in str(error.record) and error.field == "requires" and "'weakly'" in error.problem


def test_requires_with_no_value(tmp_path: Path) -> None:
    error = lexicon_error(tmp_path, "prrt", {"sstr_status": []})
    assert error.field == "requires" and "no value" in error.problem
