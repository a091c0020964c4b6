"""`carebot teams package`: the manifest validates against the vendored Teams schema (no network)
and the icons have the sizes and colours Teams requires."""
from __future__ import annotations

import argparse
import io
import json
import zipfile
from pathlib import Path

import jsonschema
import pytest
from PIL import Image

from bot import teams_commands
from bot.teams.package import SCHEMA_PATH, PackageError, build_manifest, build_package, schema_errors
from mocks.teams import APP_ID


def test_vendored_schema_is_the_teams_manifest_schema_1_19() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["properties"]["manifestVersion"]["const"] == "1.19"
    assert "bots" in schema["properties"]


def test_package_holds_a_valid_manifest_and_icons_of_the_right_sizes(tmp_path: Path) -> None:
    path = build_package(APP_ID, tmp_path)
    assert path == tmp_path / "carebot-teams.zip"
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(archive.read("manifest.json"))
        color = Image.open(io.BytesIO(archive.read("color.png")))
        outline = Image.open(io.BytesIO(archive.read("outline.png")))
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker()).validate(manifest)
    assert manifest["manifestVersion"] == "1.19"
    assert manifest["id"] == APP_ID
    [bot] = manifest["bots"]
    assert bot["botId"] == APP_ID and sorted(bot["scopes"]) == ["groupChat", "personal", "team"]
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}
    assert color.format == "PNG" and color.size == (192, 192)
    assert outline.format == "PNG" and outline.size == (32, 32)
    # the outline icon is white on transparent, nothing else
    pixels = set(outline.convert("RGBA").getdata())
    assert pixels <= {(255, 255, 255, 255), (0, 0, 0, 0)} and len(pixels) == 2


def test_same_settings_give_the_same_bytes(tmp_path: Path) -> None:
    first = build_package(APP_ID, tmp_path / "a.zip").read_bytes()
    assert build_package(APP_ID, tmp_path / "b.zip").read_bytes() == first


def test_bad_app_id_or_urls_are_refused() -> None:
    with pytest.raises(PackageError):
        build_manifest("not-a-guid")
    manifest = build_manifest(APP_ID)
    manifest["developer"]["privacyUrl"] = "ftp://example.org"
    assert any("privacyUrl" in error for error in schema_errors(manifest))


def test_the_command_reads_the_app_id_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    parser = argparse.ArgumentParser()
    teams_commands.add_parser(parser.add_subparsers(dest="command"))
    monkeypatch.delenv("TEAMS_APP_ID", raising=False)
    args = parser.parse_args(["teams", "package"])
    assert args.handler(args) == 2  # no app id: told what to set
    monkeypatch.setenv("TEAMS_APP_ID", APP_ID)
    args = parser.parse_args(["teams", "package", "--website-url", "https://hospital.example/carebot"])
    assert args.handler(args) == 0
    with zipfile.ZipFile(tmp_path / "carebot-teams.zip") as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["id"] == APP_ID and manifest["developer"]["websiteUrl"] == "https://hospital.example/carebot"
