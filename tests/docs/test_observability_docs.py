"""docs/observability.md and the alert sections of docs/runbook.md are generated from the definitions, are
current, and every runbook link anything hands to a responder resolves."""
from __future__ import annotations

import importlib.util
import re

import pytest

from monitoring.alerts import ALERTS, burn_rate_alerts
from tests.conftest import REPO_ROOT

spec = importlib.util.spec_from_file_location("observability_docs", REPO_ROOT / "scripts" / "observability_docs.py")
observability_docs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(observability_docs)

RUNBOOK = REPO_ROOT / "docs" / "runbook.md"


def anchors(markdown: str) -> set[str]:
    """Explicit `<a id>` anchors and GitHub's heading slugs."""
    explicit = set(re.findall(r'<a id="([^"]+)"></a>', markdown))
    headings = {
        re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        for heading in re.findall(r"^#+ (.+)$", markdown, flags=re.MULTILINE)
    }
    return explicit | headings


@pytest.mark.parametrize("path", sorted(observability_docs.render()), ids=lambda path: path.name)
def test_generated_observability_docs_are_current(path):
    assert path.read_text(encoding="utf-8") == observability_docs.render()[path], (
        "run `.venv/bin/python scripts/observability_docs.py`"
    )


def test_every_alert_and_burn_rate_runbook_anchor_exists():
    available = anchors(RUNBOOK.read_text(encoding="utf-8"))
    wanted = {alert.anchor for alert in ALERTS} | {alert.anchor for alert in burn_rate_alerts()}
    assert wanted - available == set()


def test_every_runbook_link_in_the_synthesized_policies_resolves(synthesized):
    available = anchors(RUNBOOK.read_text(encoding="utf-8"))
    links = set()
    for _, type_, _, body in synthesized.all_resources("observability"):
        if type_ == "google_monitoring_alert_policy":
            (link,) = re.findall(r"docs/runbook\.md#([a-z0-9-]+)", body["documentation"]["content"])
            links.add(link)
    assert links and links <= available


def test_every_runbook_link_in_observability_md_resolves():
    text = (REPO_ROOT / "docs" / "observability.md").read_text(encoding="utf-8")
    links = set(re.findall(r"\(runbook\.md#([a-z0-9-]+)\)", text))
    assert links and links <= anchors(RUNBOOK.read_text(encoding="utf-8"))


def test_every_alert_is_listed_with_its_condition_severity_and_channels():
    text = (REPO_ROOT / "docs" / "observability.md").read_text(encoding="utf-8")
    for alert in ALERTS:
        (row,) = [line for line in text.splitlines() if line.startswith(f"| [{alert.name}](")]
        assert f"| {alert.severity} |" in row and "email" in row, alert.name


@pytest.mark.parametrize(
    "runbook",
    ["# Runbook\nno markers\n", "<!-- generated:alerts:end -->\n<!-- generated:alerts:begin -->\n"],
    ids=["missing", "reversed"],
)
def test_a_runbook_without_its_markers_is_refused_with_the_fix(runbook):
    with pytest.raises(ValueError, match="expected the markers <!-- generated:alerts:begin --> and"):
        observability_docs.splice_runbook(runbook, "generated")


def test_only_the_part_between_the_markers_is_rewritten():
    before = "# Runbook\nmine\n<!-- generated:alerts:begin -->\nold\n<!-- generated:alerts:end -->\nalso mine\n"
    assert observability_docs.splice_runbook(before, "NEW") == "# Runbook\nmine\nNEW\nalso mine\n"
