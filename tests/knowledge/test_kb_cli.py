"""`carebot kb ...` as a user runs it."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.cli import main
from knowledge.loader import DATA_DIR


def test_check_is_clean(capsys: pytest.CaptureFixture) -> None:
    assert main(["kb", "check"]) == 0
    out = capsys.readouterr().out
    assert "45 statements" in out and "guideline 21" in out and "word for word" in out
    assert "names only what its seed gives" in out and "is tagged with it" in out


def test_export_has_the_documented_shape(capsys: pytest.CaptureFixture) -> None:
    assert main(["kb", "export", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert len(records) == 45
    for record in records:
        assert {"id", "text", "source", "citation", "topics", "entities"} <= set(record)
        assert {"kind", "title"} <= set(record["source"])
        assert record["source"]["kind"] in {"guideline", "drug_label", "research"}
        assert record["text"] and record["citation"] and record["topics"]
        assert isinstance(record["mentions"], list)
    (acr,) = [r for r in records if r["id"] == "acr-2022-comparable-alternatives"]
    assert acr["mentions"] == ["ACR Appropriateness Criteria, 2022 update"]


def test_search_by_synonym(capsys: pytest.CaptureFixture) -> None:
    assert main(["kb", "search", "Sutent"]) == 0
    out = capsys.readouterr().out
    assert "sunitinib 37.5mg daily" in out and "(sunitinib)" in out


def test_search_nothing_found(capsys: pytest.CaptureFixture) -> None:
    assert main(["kb", "search", "metformin"]) == 1
    assert "No statement mentions 'metformin'" in capsys.readouterr().out


def test_invalid_knowledge_base_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    shutil.copytree(DATA_DIR, tmp_path / "data")
    bad = tmp_path / "data" / "statements" / "seed-000.yml"
    bad.write_text(bad.read_text().replace("kind: research", "kind: reserch", 1))
    monkeypatch.setenv("CAREBOT_KNOWLEDGE_DIR", str(tmp_path / "data"))
    assert main(["kb", "check"]) == 2
    err = capsys.readouterr().err
    assert "seed-000.yml" in err and "field 'source.kind'" in err and "record #" in err
