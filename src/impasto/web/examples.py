"""The bundled pictures a job may name instead of uploading: a fixed catalogue, never a path."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from .. import image as im
from .errors import BadRequest

EXAMPLES: dict[str, dict[str, str]] = {
    "tubingen": {"file": "tubingen.jpg", "kind": "photo", "title": "Tübingen, Neckarfront",
                 "credit": "Photo: Andreas Praefcke / Wikimedia Commons, CC BY-SA 3.0"},
    "starry_night": {"file": "starry_night.jpg", "kind": "painting", "title": "The Starry Night",
                     "credit": "Vincent van Gogh, 1889"},
    "the_scream": {"file": "the_scream.jpg", "kind": "painting", "title": "The Scream",
                   "credit": "Edvard Munch, 1893"},
    "shipwreck_minotaur": {"file": "shipwreck_minotaur.jpg", "kind": "painting",
                           "title": "The Shipwreck of the Minotaur", "credit": "J. M. W. Turner, c. 1805–1810"},
    "composition_vii": {"file": "composition_vii.jpg", "kind": "painting", "title": "Composition VII",
                        "credit": "Wassily Kandinsky, 1913"},
}
EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"


def names(kind: str) -> list[str]:
    """The bundled pictures of one kind ("photo" or "painting")."""
    return [k for k, v in EXAMPLES.items() if v["kind"] == kind]


def catalogue() -> list[dict[str, Any]]:
    """What the page shows of each bundled picture (no file names)."""
    return [{"name": name, "url": f"/api/examples/{name}", **{k: v for k, v in entry.items() if k != "file"}}
            for name, entry in EXAMPLES.items()]


def example(name: str, kind: str) -> dict[str, str]:
    """A bundled picture by name, as a job input."""
    entry = EXAMPLES.get(name)
    if entry is None or entry["kind"] != kind:
        known = ", ".join(names(kind))
        raise BadRequest(422, f"unknown example {name[:40]!r}: the bundled {kind}s are {known}")
    return {"path": str(EXAMPLES_DIR / entry["file"]), "label": entry["title"]}


@functools.lru_cache(maxsize=len(EXAMPLES))
def _thumbnail(name: str) -> bytes:
    return im.thumbnail_jpeg(EXAMPLES_DIR / EXAMPLES[name]["file"])


def thumbnail(name: str) -> bytes:
    """A small JPEG of a bundled picture, made once per process."""
    if name not in EXAMPLES:
        raise BadRequest(404, f"no bundled picture named {name[:40]!r}")
    return _thumbnail(name)
