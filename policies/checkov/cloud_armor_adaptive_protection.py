"""A Cloud Armor policy has Layer-7 DDoS adaptive protection on: it learns the traffic baseline, alerts on
anomalies and proposes rules against them."""
from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.common.util.data_structures_utils import find_in_dict
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

KEY = "adaptive_protection_config/[0]/layer_7_ddos_defense_config/[0]/enable/[0]"


class CloudArmorAdaptiveProtection(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure Cloud Armor Layer-7 adaptive protection is enabled",
            id="CKV_PLATFORM_5",
            categories=(CheckCategories.APPLICATION_SECURITY,),
            supported_resources=("google_compute_security_policy",),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = [KEY.removesuffix("/[0]")]
        return CheckResult.PASSED if find_in_dict(conf, KEY) is True else CheckResult.FAILED


check = CloudArmorAdaptiveProtection()
