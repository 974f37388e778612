"""Every link in README.md and docs/ resolves, and every document the docs name exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
NAMED = re.compile(r"`([\w.-]+\.md)`")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_relative_link_resolves(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    missing = [
        target
        for target in LINK.findall(text)
        if not target.startswith(("http://", "https://", "mailto:")) and not (doc.parent / target).exists()
    ]
    assert not missing, f"{doc.name} links to files that do not exist: {missing}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_named_document_exists(doc: Path) -> None:
    names = set(NAMED.findall(doc.read_text(encoding="utf-8"))) - {"README.md", "CHANGELOG.md"}
    missing = sorted(n for n in names if not (ROOT / "docs" / n).exists() and not (ROOT / n).exists())
    assert not missing, f"{doc.name} names documents that are not in docs/: {missing}"
