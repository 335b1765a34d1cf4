"""A Cloud Armor policy blocks every OWASP CRS 3.3 preconfigured rule set: each set appears in a `deny`
rule that is not in preview and has a sensitivity above 0 (level 0 enables no signature)."""
from __future__ import annotations

import re
from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.common.util.data_structures_utils import find_in_dict
from checkov.common.util.type_forcers import force_list
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

# Kept equal to constructs_lib/armor.py CRS_33_RULE_SETS by tests/policies/test_custom_checks.py.
CRS_33_RULE_SETS = (
    "sqli-v33-stable",
    "xss-v33-stable",
    "lfi-v33-stable",
    "rfi-v33-stable",
    "rce-v33-stable",
    "methodenforcement-v33-stable",
    "scannerdetection-v33-stable",
    "protocolattack-v33-stable",
    "sessionfixation-v33-stable",
)
_RULE_SET = re.compile(r"evaluatePreconfigured(?:Waf|Expr)\(\s*'([a-z0-9-]+)'")
_SENSITIVITY_ZERO = re.compile(r"'sensitivity'\s*:\s*0\b")


def blocked_rule_sets(rules: list[dict[str, Any]]) -> set[str]:
    blocked = set()
    for rule in rules:
        action = find_in_dict(rule, "action/[0]")
        if not isinstance(action, str) or not action.startswith("deny") or find_in_dict(rule, "preview/[0]") is True:
            continue
        expression = find_in_dict(rule, "match/[0]/expr/[0]/expression/[0]")
        if isinstance(expression, str) and not _SENSITIVITY_ZERO.search(expression):
            blocked.update(_RULE_SET.findall(expression))
    return blocked


class CloudArmorCrsRuleSets(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure the Cloud Armor policy blocks every OWASP CRS 3.3 rule set",
            id="CKV_PLATFORM_4",
            categories=(CheckCategories.APPLICATION_SECURITY,),
            supported_resources=("google_compute_security_policy",),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["rule"]
        rules = [rule for rule in force_list(conf.get("rule") or []) if isinstance(rule, dict)]
        missing = set(CRS_33_RULE_SETS) - blocked_rule_sets(rules)
        return CheckResult.FAILED if missing else CheckResult.PASSED


check = CloudArmorCrsRuleSets()
