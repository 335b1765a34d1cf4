"""Every relative link and every anchor in README.md and docs/ resolves: the file exists, and a `#fragment`
names a heading of the target (GitLab's anchor rules)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from scripts.docgen.synthesized import anchors, slug, strip_fences
from tests.conftest import REPO_ROOT

DOCUMENTS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
# [text](target) and ![alt](target); the target ends at whitespace or the closing parenthesis.
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def links(document: Path) -> list[tuple[int, str]]:
    text = strip_fences(document.read_text(encoding="utf-8"))
    text = re.sub(r"`[^`\n]*`", "", text)  # inline code is not a link
    return [(number, target) for number, line in enumerate(text.splitlines(), 1) for target in LINK.findall(line)
            if not re.match(r"^[a-z][a-z0-9+.-]*:", target)]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_every_relative_link_and_anchor_resolves(document):
    broken = []
    for number, target in links(document):
        path, _, fragment = target.partition("#")
        resolved = (document.parent / path).resolve() if path else document
        if not resolved.exists():
            broken.append(f"line {number}: {target} (no file {resolved.relative_to(REPO_ROOT) if resolved.is_relative_to(REPO_ROOT) else resolved})")
        elif fragment and resolved.suffix == ".md" and fragment not in anchors(resolved.read_text(encoding="utf-8")):
            broken.append(f"line {number}: {target} (no heading with anchor #{fragment} in {resolved.name})")
    assert not broken, f"{document.relative_to(REPO_ROOT)}:\n" + "\n".join(broken)


def test_the_checker_finds_links_and_anchors(tmp_path):
    """The checker itself: a fenced example is not a link; a repeated heading gets -1; a bad anchor is caught."""
    (tmp_path / "a.md").write_text("# Title: one\n## Step\n## Step\n```\n[x](missing.md)\n```\n[ok](#step-1) [bad](#nope)\n")
    assert anchors((tmp_path / "a.md").read_text()) == {"title-one", "step", "step-1"}
    assert [target for _, target in links(tmp_path / "a.md")] == ["#step-1", "#nope"]
    assert slug("prod: canary, verify, promote") == "prod-canary-verify-promote"
