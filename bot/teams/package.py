"""`carebot teams package`: the Teams app package an admin uploads (sideloads) to install carebot.

A zip with three files at its root:

- `manifest.json`, manifest schema 1.19: one bot, scoped personal, team and groupChat, whose id and
  app id are the bot's Microsoft App ID (TEAMS_APP_ID), with one example command;
- `color.png`, 192x192, full colour;
- `outline.png`, 32x32, white on transparent (Teams draws it on its own backgrounds).

The icons are drawn here with Pillow (no binary files in the repository), and the zip is written
with fixed timestamps, so the same settings always give the same bytes. The manifest is checked
against the vendored schema (`bot/teams/schema/`) before anything is written.
"""
from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List

MANIFEST_VERSION = "1.19"
SCHEMA_URL = f"https://developer.microsoft.com/json-schemas/teams/v{MANIFEST_VERSION}/MicrosoftTeams.schema.json"
SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "MicrosoftTeams.schema.json"
PACKAGE_NAME = "carebot-teams.zip"
COLOR_ICON, OUTLINE_ICON = "color.png", "outline.png"
COLOR_SIZE, OUTLINE_SIZE = 192, 32
ACCENT = "#0B6A78"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


class PackageError(Exception):
    """The package cannot be built; the message names what to fix."""


@dataclass(frozen=True)
class Publisher:
    """Who publishes the app, as Teams shows it on the app's details page (https URLs)."""

    name: str = "carebot"
    website_url: str = "https://example.org/carebot"
    privacy_url: str = "https://example.org/carebot/privacy"
    terms_url: str = "https://example.org/carebot/terms"


def build_manifest(app_id: str, *, version: str = "1.0.0", publisher: Publisher = Publisher()) -> Dict[str, Any]:
    if not _GUID.match(app_id or ""):
        raise PackageError("TEAMS_APP_ID must be the bot's Microsoft App ID, a GUID.")
    scopes = ["personal", "team", "groupChat"]
    return {
        "$schema": SCHEMA_URL,
        "manifestVersion": MANIFEST_VERSION,
        "version": version,
        "id": app_id,
        "developer": {
            "name": publisher.name,
            "websiteUrl": publisher.website_url,
            "privacyUrl": publisher.privacy_url,
            "termsOfUseUrl": publisher.terms_url,
        },
        "name": {"short": "carebot", "full": "carebot: case questions answered from cited sources"},
        "description": {
            "short": "Answers the care team's questions about one case, quoting cited sources.",
            "full": (
                "carebot answers the care team's questions about one clinical case by quoting "
                "statements from a curated knowledge base, each with its citation. It is decision "
                "support only: check every statement against the current label and your local "
                "protocol. Ask it in a personal chat, or mention @carebot in a channel thread or a "
                "group chat."
            ),
        },
        "icons": {"color": COLOR_ICON, "outline": OUTLINE_ICON},
        "accentColor": ACCENT,
        "bots": [{
            "botId": app_id,
            "scopes": scopes,
            "supportsFiles": False,
            "isNotificationOnly": False,
            "commandLists": [{
                "scopes": scopes,
                "commands": [{"title": "what is the lanreotide dose?",
                              "description": "An example question: carebot quotes the cited statements."}],
            }],
        }],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": [],
    }


def schema_errors(manifest: Dict[str, Any]) -> List[str]:
    """Where `manifest` breaks the vendored schema (empty when it conforms)."""
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator = validator_class(schema, format_checker=jsonschema.FormatChecker())
    errors = [f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
              for error in validator.iter_errors(manifest)]
    if manifest.get("manifestVersion") != MANIFEST_VERSION:  # `const` is not a draft-04 keyword
        errors.append(f"manifestVersion: must be {MANIFEST_VERSION}")
    return errors


def color_icon() -> bytes:
    """192x192: a white cross in a speech bubble on the accent colour, inside the centre 96x96
    region Teams keeps clear of its own rounding."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (COLOR_SIZE, COLOR_SIZE), ACCENT)
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((48, 52, 144, 132), radius=18, fill="white")
    draw.polygon([(70, 130), (70, 150), (92, 130)], fill="white")
    draw.rectangle((88, 68, 104, 116), fill=ACCENT)
    draw.rectangle((72, 84, 120, 100), fill=ACCENT)
    return _png(image)


def outline_icon() -> bytes:
    """32x32: the same symbol in white on transparent; no other colours, as Teams requires."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (OUTLINE_SIZE, OUTLINE_SIZE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    white = (255, 255, 255, 255)
    draw.rectangle((4, 5, 27, 6), fill=white)
    draw.rectangle((4, 21, 27, 22), fill=white)
    draw.rectangle((4, 5, 5, 22), fill=white)
    draw.rectangle((26, 5, 27, 22), fill=white)
    draw.polygon([(8, 22), (8, 27), (13, 22)], fill=white)
    draw.rectangle((14, 9, 17, 18), fill=white)
    draw.rectangle((11, 12, 20, 15), fill=white)
    return _png(image)


def build_package(app_id: str, output: Path, *, version: str = "1.0.0", publisher: Publisher = Publisher()) -> Path:
    """Write the zip to `output` (a directory gets carebot-teams.zip inside); returns its path."""
    manifest = build_manifest(app_id, version=version, publisher=publisher)
    # the schema ships with the source tree (bot/teams/schema/); an install without it skips the check
    errors = schema_errors(manifest) if SCHEMA_PATH.is_file() else []
    if errors:
        raise PackageError("the manifest does not match the Teams schema: " + "; ".join(errors[:5]))
    try:
        icons = ((COLOR_ICON, color_icon()), (OUTLINE_ICON, outline_icon()))
    except ImportError:
        raise PackageError("drawing the icons needs Pillow: pip install pillow") from None
    path = output / PACKAGE_NAME if output.is_dir() else output
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in (("manifest.json", json.dumps(manifest, indent=2).encode("utf-8") + b"\n"), *icons):
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return path


def _png(image: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
