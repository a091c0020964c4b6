"""The shipped knowledge base: verbatim, complete, and queryable the way handlers need."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from knowledge import Applicability, EntityType, SourceKind, Topic, default_knowledge
from knowledge.seeds import SEEDS_DIR, coverage_problems, load_seeds

SHARED_SEEDS = Path(__file__).resolve().parents[2].parent / "shared" / "seeds"
kb = default_knowledge()


def ids(matches) -> list:
    return [m.statement.id for m in matches]


def test_every_clinical_sentence_is_a_verbatim_statement() -> None:
    assert coverage_problems(load_seeds(), kb.statements) == []
    assert len(kb) == sum(len(seed.clinical_sentences()) for seed in load_seeds().values())


@pytest.mark.skipif(not SHARED_SEEDS.is_dir(), reason="no shared/ checkout beside the repo")
def test_packaged_seeds_match_shared_seeds() -> None:
    for path in SHARED_SEEDS.glob("*.txt"):
        assert (SEEDS_DIR / path.name).read_bytes() == path.read_bytes()


def test_bullet_fragments_are_statements() -> None:
    texts = {s.text for s in kb.statements}
    assert "Dosage: 120 mg every 4 weeks" in texts
    assert "Liver-directed therapies: surgical resection, radiofrequency ablation, TAE, TACE, or PRRT" in texts


def test_reference_markers_are_removed() -> None:
    for s in kb.statements:
        assert not re.search(r"\s\d+(?:,\s*\d+)*\.$", s.text), s.id


def test_citations_are_consistent_per_source() -> None:
    seen: dict = {}
    for s in kb.statements:
        assert seen.setdefault((s.source.title, s.source.seed), s.citation) == s.citation


def test_named_guidelines_and_label_are_cited_specifically() -> None:
    titles = {s.source.title for s in kb.statements}
    assert "ACR Appropriateness Criteria: Management of Liver Cancer, 2022 update" in titles
    assert "ESMO Clinical Practice Guidelines for GEP-NENs, 2020" in titles
    assert "Lanreotide Injection, FDA prescribing information" in titles
    assert kb.get("lanreotide-label-dosage").source.kind is SourceKind.drug_label


def test_a_statement_that_states_a_dose_lists_the_drug() -> None:
    dose = re.compile(r"\b(\d+(?:\.\d+)?)\s*mg\b", re.IGNORECASE)
    drugs = kb.lexicon.ids_of_type(EntityType.drug)
    for s in kb.statements:
        if not dose.search(s.text):
            continue
        for drug in drugs:
            named = any(re.search(rf"\b{re.escape(f)}\b", s.text, re.I) for f in kb.lexicon.forms(drug))
            if named:
                assert drug in s.entities, (s.id, drug)
        assert any(e in drugs for e in s.entities), s.id


def test_lanreotide_dosing() -> None:
    found = ids(kb.query(Topic.dosing, ["lanreotide"]))
    assert "lanreotide-label-dosage" in found and "guidelines-initial-ssa-dosing" in found
    assert "guidelines-systemic-everolimus-sunitinib" not in found


def test_order_is_guidelines_then_label_then_research() -> None:
    order = [m.statement.source.kind for m in kb.query(None, ["lanreotide"])]
    assert order == sorted(order, key=list(SourceKind).index)
    assert order[0] is SourceKind.guideline and SourceKind.research in order


@pytest.mark.parametrize(
    "topic, entity, expected",
    [
        (Topic.dosing, "octreotide", "guidelines-initial-ssa-dosing"),
        (Topic.dosing, "everolimus", "guidelines-systemic-everolimus-sunitinib"),
        (Topic.procedure_explanation, "tace", "guidelines-tace-definition"),
        (Topic.procedure_explanation, "rfa", "research-rfa-symptomatic-response"),
        (Topic.next_steps, "prrt", "esmo-2020-prrt-sstr-positive"),
        (Topic.monitoring, "chromogranin-a", "guidelines-monitoring-cga-imaging"),
        (Topic.monitoring, "cross-sectional-imaging", "guidelines-monitoring-cga-imaging"),
        (Topic.next_steps, "somatostatin-analog", "research-ssa-commonly-used"),
    ],
)
def test_query_by_topic_and_entity(topic: Topic, entity: str, expected: str) -> None:
    found = ids(kb.query(topic, [entity]))
    assert expected in found
    assert all(topic in kb.get(sid).topics for sid in found)


def test_class_covers_members_but_member_does_not_pull_class_only_statements() -> None:
    assert "lanreotide-label-dosage" in ids(kb.query(Topic.dosing, ["somatostatin-analog"]))
    assert "research-ssa-efficacy-varies" not in ids(kb.query(None, ["lanreotide"]))


def test_case_facts_judge_conditions() -> None:
    def status(facts: dict) -> Applicability:
        (match,) = [m for m in kb.query(Topic.next_steps, ["prrt"], facts) if m.statement.id == "esmo-2020-prrt-sstr-positive"]
        return match.applicability

    assert status({}) is Applicability.depends
    assert status({"sstr_status": "positive"}) is Applicability.applies
    assert status({"sstr_status": "negative"}) is Applicability.contradicted
    (everolimus,) = kb.query(Topic.dosing, ["everolimus"], {"disease_status": "stable"})
    assert everolimus.applicability is Applicability.contradicted
    assert everolimus.unmet == {"disease_status": ("progressive",)}


def test_search_finds_synonyms() -> None:
    assert {s.id for s in kb.search("Somatuline")} == {s.id for s in kb.search("lanreotide")}
    assert "guidelines-tace-definition" in {s.id for s in kb.search("chemoembolization")}
    assert kb.search("metformin") == []


@pytest.mark.parametrize(
    "brand, canonical",
    [
        ("Somatuline Depot", "lanreotide"), ("Somatuline", "lanreotide"), ("Lanreotide Injection", "lanreotide"),
        ("Sandostatin LAR", "octreotide"), ("octreotide LAR", "octreotide"), ("Afinitor", "everolimus"),
        ("Sutent", "sunitinib"), ("Lutathera", "lutetium-177-dotatate"), ("177Lu-DOTATATE", "lutetium-177-dotatate"),
        ("Lu-177", "lutetium-177-dotatate"), ("chemoembolisation", "tace"), ("bland embolization", "tae"),
        ("Y-90", "tare"), ("SIRT", "tare"), ("radiofrequency ablation", "rfa"), ("hepatic resection", "resection"),
        ("surgery", "resection"), ("peptide receptor radionuclide therapy", "prrt"), ("CgA", "chromogranin-a"),
        ("MRI", "cross-sectional-imaging"), ("SSA", "somatostatin-analog"), ("mitomycin C", "mitomycin-c"),
        ("DEB-TACE", "deb-tace"), ("long-acting somatostatin analogs", "somatostatin-analog"),
    ],
)
def test_lexicon_resolves_brand_names(brand: str, canonical: str) -> None:
    entry = kb.lexicon.resolve(brand)
    assert entry is not None and entry.id == canonical
    assert kb.lexicon.resolve(brand.upper()).id == canonical  # type: ignore[union-attr]
