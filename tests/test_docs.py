"""The docs match the code: the values reference is generated from the schema, and every
relative link in the README and docs/ points at a file that exists."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from support import REPO

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def test_values_reference_is_current() -> None:
    result = subprocess.run([sys.executable, "scripts/build_values_reference.py", "--check"],
                            cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_values_reference_lists_every_top_level_key() -> None:
    text = (REPO / "docs" / "values.md").read_text()
    for key in ("model.uri", "pod.accelerator.perNode", "routing.epp.replicas",
                "<role>.parallelism.tensor", "engine.image.tag"):
        assert f"| `{key}` |" in text, key


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_relative_links_resolve(doc) -> None:
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text()):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (doc.parent / target).exists(), f"{doc.name} links to missing {target}"
