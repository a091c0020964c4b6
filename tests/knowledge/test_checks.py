"""`kb check`'s honesty checks: each passes on the shipped data and fails on a bad fixture."""
from __future__ import annotations

from pathlib import Path
from typing import List

import pytest
import yaml

from bot.cli import main
from knowledge import KnowledgeBase, load_knowledge
from knowledge.checks import citation_problems, prerequisite_conflicts, untagged_treatment_problems
from knowledge.loader import LEXICON_PATH
from knowledge.seeds import load_seeds

SEED_000 = "000_711b1b95c9110b68"
SEED_001 = "001_f3f98e4436681444"
ESMO = {
    "id": "esmo-sentence",
    "text": (
        "The 2020 ESMO clinical practice guidelines for diagnosis, treatment, and follow-up of "
        "gastroenteropancreatic neuroendocrine neoplasms support the use of PRRT in SSTR-positive Pan-NETs, "
        "with consideration of earlier use in the treatment algorithm."
    ),
    "source": {"kind": "guideline", "title": "Recent guidelines cited as reference 1 of evidence brief 1", "seed": SEED_000},
    "citation": "Guidelines, evidence brief 1, ref. 1",
    "topics": ["next_steps"],
    "entities": ["prrt"],
    "mentions": ["ESMO clinical practice guidelines, 2020"],
}
LABEL = {
    "id": "label-sentence",
    "text": "The recommended dosage of Lanreotide Injection is 120 mg administered every 4 weeks by deep subcutaneous injection.",
    "source": {"kind": "drug_label", "title": "FDA drug label section of evidence brief 1", "seed": SEED_000},
    "citation": "FDA drug label, evidence brief 1",
    "topics": ["dosing"],
    "entities": ["lanreotide"],
}
RESEARCH = {
    "id": "research-sentence",
    "text": (
        "Liver-directed therapies, such as hepatic resection, radiofrequency ablation, chemoembolization, and "
        "transarterial embolization, can be considered for patients with unresectable liver metastases."
    ),
    "source": {"kind": "research", "title": "Research cited as references 4 and 5 of evidence brief 1", "seed": SEED_000},
    "citation": "Research, evidence brief 1, ref. 4, 5",
    "topics": ["next_steps"],
    "entities": ["resection", "rfa", "tace", "tae"],
    "conditions": {"resectability": "unresectable"},
}


def load(tmp_path: Path, records: List[dict], lexicon: Path = LEXICON_PATH) -> KnowledgeBase:
    directory = tmp_path / "statements"
    directory.mkdir(exist_ok=True)
    (directory / "fixture.yml").write_text(yaml.safe_dump({"statements": records}))
    return load_knowledge(directory, lexicon)


def problems(tmp_path: Path, *records: dict) -> List[str]:
    return citation_problems(load_seeds(), load(tmp_path, list(records)).statements)


def test_honest_fixture_passes(tmp_path: Path) -> None:
    assert problems(tmp_path, ESMO, LABEL, RESEARCH) == []


def test_a_guideline_the_sentence_names_is_not_its_source(tmp_path: Path) -> None:
    bad = {**ESMO, "source": {**ESMO["source"], "title": "ESMO Clinical Practice Guidelines for GEP-NENs, 2020"},
           "citation": "ESMO GEP-NEN guidelines, 2020"}
    found = problems(tmp_path, bad)
    assert any("source.title" in p and "'ESMO'" in p for p in found)
    assert any("citation" in p and "'ESMO'" in p for p in found)
    assert any("2020" in p and "reference marker(s) 1" in p for p in found)  # a year is no reference


def test_an_invented_label_title_is_caught(tmp_path: Path) -> None:
    bad = {**LABEL, "source": {**LABEL["source"], "title": "Lanreotide Injection, FDA prescribing information, evidence brief 1"}}
    (found,) = problems(tmp_path, bad)
    assert "label-sentence" in found and "'Lanreotide', 'Injection', 'prescribing', 'information'" in found


def test_reference_numbers_must_be_the_sentences_markers(tmp_path: Path) -> None:
    missing = {**RESEARCH, "citation": "Research, evidence brief 1, ref. 4"}
    invented = {**LABEL, "citation": "FDA drug label, evidence brief 1, ref. 2"}  # ref 2 marks another sentence
    found = problems(tmp_path, missing, invented)
    assert any(p.startswith("research-sentence: citation") and "marker(s) 4, 5" in p for p in found)
    assert any(p.startswith("label-sentence: citation") and "cites reference(s) 2" in p for p in found)


def test_the_evidence_brief_must_be_the_seeds(tmp_path: Path) -> None:
    bad = {**LABEL, "citation": "FDA drug label, evidence brief 2"}
    assert any("must name 'evidence brief 1'" in p for p in problems(tmp_path, bad))


def test_the_kind_must_be_the_section_the_sentence_sits_under(tmp_path: Path) -> None:
    bad = {**LABEL, "source": {**LABEL["source"], "kind": "research"}}
    found = problems(tmp_path, bad)
    assert any("source.kind is research" in p and "From the FDA Drug Label" in p for p in found)


def test_mentions_must_be_in_the_text_and_cover_its_years(tmp_path: Path) -> None:
    invented = {**ESMO, "mentions": ["ESMO 2021 consensus"]}
    forgotten = {**ESMO, "id": "esmo-forgotten", "mentions": []}
    found = problems(tmp_path, invented, forgotten)
    assert any(p.startswith("esmo-sentence: mentions") and "'2021', 'consensus'" in p for p in found)
    assert any(p.startswith("esmo-forgotten") and "2020 document" in p for p in found)


def test_untagged_treatment_is_caught(tmp_path: Path) -> None:
    untagged = {**RESEARCH, "entities": ["rfa", "tace", "tae"]}
    kb = load(tmp_path, [untagged])
    (found,) = untagged_treatment_problems(kb)
    assert found.startswith("research-sentence: text names 'hepatic resection'") and "'resection'" in found


def test_untagged_check_reads_prerequisites_from_the_lexicon(tmp_path: Path) -> None:
    lexicon = yaml.safe_load(LEXICON_PATH.read_text())
    tace = next(e for e in lexicon["entries"] if e["id"] == "tace")
    tace["requires"] = {"resectability": "unresectable"}
    path = tmp_path / "lexicon.yml"
    path.write_text(yaml.safe_dump(lexicon))
    kb = load(tmp_path, [{**RESEARCH, "entities": ["resection"]}], path)
    assert kb.lexicon.requires("tace") == {"resectability": ("unresectable",)}
    (found,) = untagged_treatment_problems(kb)
    assert "'chemoembolization'" in found and "lack 'tace'" in found


def test_conflicting_prerequisite_is_a_note(tmp_path: Path) -> None:
    (note,) = prerequisite_conflicts(load(tmp_path, [RESEARCH]))
    assert note.startswith("research-sentence: needs resectability unresectable; tagged 'resection'")


def test_kb_check_fails_on_a_dishonest_citation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    data = tmp_path / "data"
    (data / "statements").mkdir(parents=True)
    (data / "lexicon.yml").write_text(LEXICON_PATH.read_text())
    shipped = load_knowledge()
    records = [yaml.safe_load(s.json(exclude_defaults=True)) for s in shipped.statements]
    for record in records:
        if record["id"] == "acr-2022-transarterial-comparable":
            record["citation"] = "ACR Appropriateness Criteria, 2022 update"
        if record["id"] == "research-radiolabeled-ssa-promise":
            record["entities"] = ["prrt"]
    (data / "statements" / "all.yml").write_text(yaml.safe_dump({"statements": records}, sort_keys=False))
    monkeypatch.setenv("CAREBOT_KNOWLEDGE_DIR", str(data))
    assert main(["kb", "check"]) == 1
    err = capsys.readouterr().err
    assert "acr-2022-transarterial-comparable: citation 'ACR Appropriateness Criteria, 2022 update'" in err
    assert "research-radiolabeled-ssa-promise: text names 'Radiolabeled somatostatin analog therapy'" in err
