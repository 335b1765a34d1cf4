"""docs/bootstrap.md names exactly the bootstrap outputs CI is configured from, and each is a real
Terraform output of every environment's bootstrap stack."""
from __future__ import annotations

import re

import pytest

from ci.identity import BOOTSTRAP_OUTPUTS
from tests.conftest import ENVIRONMENTS, REPO_ROOT


def documented_outputs() -> list[str]:
    """The outputs listed under 'Everything else' in docs/bootstrap.md: `name` at the start of each bullet."""
    text = (REPO_ROOT / "docs" / "bootstrap.md").read_text(encoding="utf-8")
    section = text.split("## 3. Everything else", 1)[1].split("\n## ", 1)[0]
    bullets = re.findall(r"^- (.+?): ", section, re.M)
    return [name for bullet in bullets for name in re.findall(r"`([a-z_]+)`", bullet)]


def test_the_bootstrap_doc_lists_exactly_the_outputs_ci_reads():
    assert sorted(documented_outputs()) == sorted(BOOTSTRAP_OUTPUTS)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_documented_output_is_a_terraform_output_of_the_bootstrap_stack(synthesized, env):
    outputs = synthesized.stack(env, "bootstrap")["output"]
    missing = [name for name in documented_outputs() if not outputs.get(name, {}).get("value")]
    assert not missing, f"{env}-bootstrap has no Terraform output {missing}"
