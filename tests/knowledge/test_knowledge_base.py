"""The shipped knowledge base: verbatim, complete, and queryable the way handlers need."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from knowledge import Applicability, EntityType, SourceKind, Topic, default_knowledge
from knowledge.checks import citation_problems, untagged_treatment_problems
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


def test_citations_say_only_what_the_seeds_give() -> None:
    assert citation_problems(load_seeds(), kb.statements) == []
    acr = kb.get("acr-2022-comparable-alternatives")
    assert acr.citation == "Guidelines, evidence brief 1, ref. 1"
    assert acr.source.title == "Recent guidelines cited as reference 1 of evidence brief 1"
    assert acr.mentions == ["ACR Appropriateness Criteria, 2022 update"]
    assert kb.get("esmo-2020-prrt-sstr-positive").mentions == ["ESMO clinical practice guidelines, 2020"]
    assert kb.get("acr-2022-transarterial-comparable").citation == "Guidelines, evidence brief 2, ref. 1"
    for s in kb.statements:
        for claimed in ("ACR", "ESMO", "2020", "2022", "Lanreotide Injection", "prescribing"):
            assert claimed not in s.citation and claimed not in s.source.title, (s.id, claimed)


def test_the_label_is_cited_as_the_seed_names_it() -> None:
    dosage = kb.get("lanreotide-label-dosage")
    assert dosage.source.kind is SourceKind.drug_label
    assert dosage.citation == "FDA drug label, evidence brief 1"  # the sentence carries no marker
    assert kb.get("lanreotide-label-best-approach").citation == "FDA drug label, evidence brief 1, ref. 2"


def test_every_statement_naming_a_treatment_inherits_its_prerequisites() -> None:
    assert untagged_treatment_problems(kb) == []
    for sid in ("research-radiolabeled-ssa-promise", "research-radiolabeled-ssa-kidney-marrow"):
        assert "radiolabeled-ssa" in kb.get(sid).entities
    assert "resection" in kb.get("guidelines-tace-when-used").entities  # "surgical removal"


@pytest.mark.parametrize(
    "entity, requires",
    [
        ("prrt", {"sstr_status": ("positive",)}),
        ("lutetium-177-dotatate", {"sstr_status": ("positive",)}),
        ("radiolabeled-ssa", {"sstr_status": ("positive",)}),
        ("everolimus", {"disease_status": ("progressive",)}),
        ("sunitinib", {"disease_status": ("progressive",)}),
        ("lanreotide", {"differentiation": ("well", "moderately"), "resectability": ("unresectable",)}),
        ("resection", {"resectability": ("resectable",)}),
        ("octreotide", {}),
        ("somatostatin-analog", {}),  # a class inherits nothing from its members
        ("tace", {}),
        ("no-such-id", {}),
    ],
)
def test_treatment_prerequisites_are_data(entity: str, requires: dict) -> None:
    assert kb.lexicon.requires(entity) == requires


def test_short_acting_octreotide_is_another_product() -> None:
    for form in ("Sandostatin", "octreotide s.c.", "octreotide IV", "immediate-release octreotide", "octreotide injection"):
        assert kb.lexicon.resolve(form).id == "octreotide-short-acting", form  # type: ignore[union-attr]
    for form in ("Sandostatin LAR", "Sandostatin LAR Depot", "octreotide LAR", "octreotide"):
        assert kb.lexicon.resolve(form).id == "octreotide", form  # type: ignore[union-attr]
    assert kb.lexicon.label("octreotide-short-acting") == "short-acting octreotide"
    assert kb.query(None, ["octreotide-short-acting"]) == []


def test_radiolabeled_ssa_therapy_is_its_own_entry() -> None:
    assert kb.lexicon.resolve("177Lu-DOTA-EB-TATE").id == "radiolabeled-ssa"  # type: ignore[union-attr]
    assert kb.lexicon.resolve("radiolabeled somatostatin analog therapy").id == "radiolabeled-ssa"  # type: ignore[union-attr]
    assert "radiolabeled somatostatin analog therapy" not in kb.lexicon.forms("prrt")


@pytest.mark.parametrize(
    "topic, entities, expected",
    [
        (Topic.procedure_explanation, ["tace"], "research-tace-response-survival"),
        (Topic.monitoring, ["tace"], "research-tace-response-survival"),
        (Topic.procedure_explanation, ["rfa"], "research-rfa-symptomatic-response"),
        (Topic.monitoring, ["rfa"], "research-rfa-symptomatic-response"),
        (Topic.next_steps, ["resection"], "research-hepatic-resection-survival"),
        (Topic.procedure_explanation, ["resection"], "research-hepatic-resection-survival"),
        (Topic.next_steps, [], "research-nelm-prognostic-factors"),
        (Topic.monitoring, [], "research-nelm-prognostic-factors"),
        (Topic.next_steps, ["resection"], "research-primary-and-liver-resection"),
        (Topic.procedure_explanation, ["tae"], "acr-2022-transarterial-comparable"),
        (Topic.monitoring, ["radiolabeled-ssa"], "research-radiolabeled-ssa-kidney-marrow"),
        (Topic.monitoring, ["prrt"], "research-radiolabeled-ssa-kidney-marrow"),
    ],
)
def test_relevance_tags(topic: Topic, entities: list, expected: str) -> None:
    assert expected in ids(kb.query(topic, entities))


def test_general_monitoring_statement_names_no_treatment() -> None:
    """The handler adds it to monitoring after any treatment, so it must not be tied to one."""
    cga = kb.get("guidelines-monitoring-cga-imaging")
    assert Topic.monitoring in cga.topics
    types = {kb.lexicon.entries[e].type for e in cga.entities}
    assert types == {EntityType.test}


def test_resection_of_choice_needs_resectable_disease() -> None:
    statement = kb.get("research-primary-and-liver-resection")
    assert Topic.next_steps in statement.topics and "resection" in statement.entities
    assert {slot.value: v for slot, v in statement.conditions.items()} == {"resectability": ["resectable"]}


def test_tae_and_tace_both_explained() -> None:
    found = [kb.get(sid) for sid in ids(kb.query(Topic.procedure_explanation, ["tae", "tace"]))]
    assert any("tae" in s.entities for s in found) and any("tace" in s.entities and "tae" not in s.entities for s in found)


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
